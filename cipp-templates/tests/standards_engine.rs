//! The standards engine on the simulator: invalid assignments refused before anything is
//! sent, licence gating, report → drifted, remediate → remediated and proved by a re-read,
//! a later report-only run does not revert anything, result-store transitions (new drift
//! once, resolved), SQLite store, and the matrix.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use cipp_core::{ManualClock, TenantId};
use cipp_exchange::ExoClient;
use cipp_graph::GraphClient;
use cipp_sim::kit::{Licence, TenantSeed};
use cipp_sim::Simulator;
use cipp_templates::standards::{
    run_tenant, Assignment, Catalogue, Matrix, MemoryResultStore, Mode, ResultStore, Status,
    TenantTarget, Transition,
};
use cipp_templates::store::SqliteTemplateStore;
use serde_json::json;

mod wire;
use wire::sim_pipeline;

const LICENSED: &str = "contoso.onmicrosoft.com";
const UNLICENSED: &str = "fabrikam.onmicrosoft.com";

fn sim() -> Simulator {
    Simulator::builder()
        .clock(Arc::new(ManualClock::new(
            "2026-11-27T09:00:00Z".parse().unwrap(),
        )))
        .tenant(
            TenantSeed::new(LICENSED, "Contoso").licence(
                Licence::new("11111111-1111-1111-1111-111111111111", "AAD_PREMIUM", 5)
                    .plan("41781fb2-bc02-4b7c-bd55-b576c07bb09d", "AAD_PREMIUM"),
            ),
        )
        .tenant(TenantSeed::new(UNLICENSED, "Fabrikam"))
        .build()
}

fn target(sim: &Simulator, tenant: &str) -> TenantTarget {
    let p = sim_pipeline(sim);
    let t = TenantId::parse(tenant).unwrap();
    TenantTarget {
        graph: GraphClient::new(p.clone()).tenant(&t),
        exchange: ExoClient::new(p).tenant(&t),
    }
}

fn assign(name: &str, settings: serde_json::Value, mode: Mode) -> Assignment {
    let c = Catalogue::builtin();
    Assignment::new(c.require(name).unwrap().clone(), settings, mode)
}

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 9, 0, 0).unwrap()
}

#[tokio::test]
async fn invalid_assignments_send_nothing() {
    let sim = sim();
    let t = target(&sim, LICENSED);
    let results = run_tenant(
        &t,
        &[
            assign("DisableInactiveUsers", json!({"days": 1}), Mode::REPORT),
            assign("DisableAppCreation", json!({}), Mode::default()),
        ],
        now(),
    )
    .await;
    assert!(results.iter().all(|r| r.status == Status::Failed));
    assert!(results[1]
        .error
        .as_ref()
        .unwrap()
        .message
        .contains("no mode"));
    assert!(sim.log().entries().is_empty(), "{:?}", sim.log().entries());
}

#[tokio::test]
async fn licence_gating_report_remediate_and_no_revert() {
    let sim = sim();
    let store = MemoryResultStore::new();
    // Unlicensed: ExternalMFATrusted needs Entra ID P1/P2.
    let r = run_tenant(
        &target(&sim, UNLICENSED),
        &[assign(
            "ExternalMFATrusted",
            json!({"state": "true"}),
            Mode::ALL,
        )],
        now(),
    )
    .await;
    assert_eq!(r[0].status, Status::LicenceMissing, "{r:?}");
    assert!(r[0].message.as_ref().unwrap().contains("AAD_PREMIUM"));

    let t = target(&sim, LICENSED);
    let report = [
        assign("DisableAppCreation", json!({}), Mode::ALERT),
        assign("DisableTenantCreation", json!({}), Mode::REPORT),
    ];
    let first = run_tenant(&t, &report, now()).await;
    assert!(
        first.iter().all(|r| r.status == Status::Drifted),
        "{first:?}"
    );
    assert_eq!(first[0].differences[0].field, "allowedToCreateApps");
    assert!(sim.log().writes().is_empty(), "report mode wrote");
    let rec = store.record(first).await.unwrap();
    assert!(rec.iter().all(|r| r.transition == Transition::NewDrift));
    // The same drift again: no new alert.
    let again = run_tenant(&t, &report, now()).await;
    let rec = store.record(again).await.unwrap();
    assert!(rec.iter().all(|r| r.transition == Transition::Unchanged));
    assert!(!rec[0].transition.notifies());

    let fixed = run_tenant(
        &t,
        &[
            assign("DisableAppCreation", json!({}), Mode::REMEDIATE),
            assign("DisableTenantCreation", json!({}), Mode::REMEDIATE),
        ],
        now(),
    )
    .await;
    assert!(
        fixed.iter().all(|r| r.status == Status::Remediated),
        "{fixed:?}"
    );
    let rec = store.record(fixed).await.unwrap();
    assert!(rec.iter().all(|r| r.transition == Transition::Resolved));
    assert!(rec[0].record.resolved_at.is_some());

    // Remediate taken away: the tenant stays as it was set (nothing reverts).
    let writes = sim.log().writes().len();
    let later = run_tenant(&t, &report, now()).await;
    assert!(later.iter().all(|r| r.status == Status::Compliant));
    assert_eq!(sim.log().writes().len(), writes);

    let m = Matrix::new(
        store
            .latest(None)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.result),
    );
    assert_eq!(m.alignment_of(LICENSED).unwrap().alignment_score, 100.0);
    assert!(m.to_html("Standards").contains("Remediated"));
}

#[tokio::test]
async fn sqlite_store_keeps_history_and_transitions() {
    let sim = sim();
    let t = target(&sim, LICENSED);
    let store = SqliteTemplateStore::open_in_memory().unwrap();
    let a = [assign("DisableAppCreation", json!({}), Mode::REPORT)];
    let r1 = store.record(run_tenant(&t, &a, now()).await).await.unwrap();
    assert_eq!(r1[0].transition, Transition::NewDrift);
    let fp = r1[0].record.fingerprint.clone();
    assert!(fp.is_some());
    let r2 = store.record(run_tenant(&t, &a, now()).await).await.unwrap();
    assert_eq!(r2[0].transition, Transition::Unchanged);
    assert_eq!(r2[0].record.fingerprint, fp);
    let key = r2[0].record.result.key.clone();
    assert_eq!(store.history(&key, 10).await.unwrap().len(), 2);
    assert_eq!(store.history(&key, 1).await.unwrap().len(), 1);
    let latest = store.latest(Some(&key.tenant)).await.unwrap();
    assert_eq!(latest.len(), 1);
    assert_eq!(latest[0].result.status, Status::Drifted);
}
