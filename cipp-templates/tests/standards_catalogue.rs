//! The whole built-in catalogue through the engine on the simulator, in every mode: every
//! standard validates with its example settings; on a tenant without licences each one
//! that needs a licence is `LicenceMissing` and nothing is written; on a licensed new tenant
//! report and alert mode check without writing (each result compliant, drifted or not
//! applicable, never failed), remediate mode remediates every drift and proves it, and a
//! report run afterwards finds every standard compliant, with nothing sent.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use cipp_core::{ManualClock, TenantId};
use cipp_exchange::ExoClient;
use cipp_graph::GraphClient;
use cipp_sim::kit::{Licence, TenantSeed};
use cipp_sim::Simulator;
use cipp_templates::standards::catalogue::example_settings;
use cipp_templates::standards::{
    run_tenant, Assignment, Catalogue, Mode, StandardResult, Status, TenantTarget,
};

mod wire;
use wire::sim_pipeline;

const LICENSED: &str = "contoso.onmicrosoft.com";
const UNLICENSED: &str = "fabrikam.onmicrosoft.com";

/// An E5-like licence: Entra ID P1, Exchange, Defender for Office 365, Intune, SharePoint.
fn e5() -> Licence {
    Licence::new("06ebc4ee-1bb5-47dd-8120-11324bc54e06", "SPE_E5", 25)
        .plan("41781fb2-bc02-4b7c-bd55-b576c07bb09d", "AAD_PREMIUM")
        .plan(
            "efb87545-963c-4e0d-99df-69c6916d9eb0",
            "EXCHANGE_S_ENTERPRISE",
        )
        .plan("f20fedf3-f3c3-43c3-8267-2bfdd51c0939", "ATP_ENTERPRISE")
        .plan("c1ec4a95-1f05-45b3-a911-aa3fa01094f5", "INTUNE_A")
        .plan(
            "5dbe027f-2339-4123-9542-606e4d348a72",
            "SHAREPOINTENTERPRISE",
        )
}

fn sim() -> Simulator {
    Simulator::builder()
        .clock(Arc::new(ManualClock::new(
            "2026-11-27T09:00:00Z".parse().unwrap(),
        )))
        .tenant(TenantSeed::new(LICENSED, "Contoso").licence(e5()))
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

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 9, 0, 0).unwrap()
}

/// Every built-in standard in `mode`, as far as it supports it (CIPP leaves alert out of
/// some).
fn all(mode: Mode) -> Vec<Assignment> {
    Catalogue::builtin()
        .iter()
        .filter_map(|s| {
            let m = s.meta().modes;
            let mode = Mode {
                report: mode.report && m.report,
                alert: mode.alert && m.alert,
                remediate: mode.remediate && m.remediate,
            };
            (!mode.is_empty())
                .then(|| Assignment::new(s.clone(), example_settings(s.meta().name), mode))
        })
        .collect()
}

fn by_status(results: &[StandardResult], status: Status) -> Vec<String> {
    results
        .iter()
        .filter(|r| r.status == status)
        .map(|r| r.key.standard.clone())
        .collect()
}

#[test]
fn every_standard_validates_with_its_example_settings() {
    for a in all(Mode::ALL) {
        a.validate()
            .unwrap_or_else(|e| panic!("{}: {e}", a.standard.id()));
    }
}

#[tokio::test]
async fn without_licences_nothing_is_written() {
    let sim = sim();
    let t = target(&sim, UNLICENSED);
    // Every standard that needs a licence, in remediate mode, on a tenant with none.
    let licensed: Vec<Assignment> = all(Mode::REMEDIATE)
        .into_iter()
        .filter(|a| !a.standard.meta().capabilities.is_empty())
        .collect();
    assert!(licensed.len() > 30, "{}", licensed.len());
    let results = run_tenant(&t, &licensed, now()).await;
    for r in &results {
        assert_eq!(r.status, Status::LicenceMissing, "{r:?}");
        assert!(r.message.as_deref().unwrap_or("").contains("licence"));
    }
    let writes: Vec<String> = sim
        .log()
        .writes()
        .iter()
        .map(|w| format!("{} {} {:?}", w.method, w.path, w.operation))
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
}

#[tokio::test]
async fn report_alert_and_remediate_over_the_whole_catalogue() {
    let sim = sim();
    let t = target(&sim, LICENSED);

    for mode in [Mode::REPORT, Mode::ALERT] {
        let results = run_tenant(&t, &all(mode), now()).await;
        let failed: Vec<String> = results
            .iter()
            .filter(|r| matches!(r.status, Status::Failed | Status::LicenceMissing))
            .map(|r| format!("{}: {:?} {:?}", r.key.standard, r.status, r.error))
            .collect();
        assert!(failed.is_empty(), "{mode}: {failed:?}");
        assert!(sim.log().writes().is_empty(), "{mode} wrote");
        assert!(
            !by_status(&results, Status::Drifted).is_empty(),
            "a new tenant drifts from the baseline"
        );
    }

    let results = run_tenant(&t, &all(Mode::REMEDIATE), now()).await;
    let not_done: Vec<String> = results
        .iter()
        .filter(|r| !(r.status.is_compliant() || r.status == Status::NotApplicable))
        .map(|r| {
            format!(
                "{}: {:?} {:?} {:?}",
                r.key.standard, r.status, r.message, r.error
            )
        })
        .collect();
    assert!(not_done.is_empty(), "{not_done:?}");
    assert!(!by_status(&results, Status::Remediated).is_empty());

    let writes = sim.log().writes().len();
    let again = run_tenant(&t, &all(Mode::REPORT), now()).await;
    let drifted: Vec<String> = again
        .iter()
        .filter(|r| !(r.status == Status::Compliant || r.status == Status::NotApplicable))
        .map(|r| format!("{}: {:?} {:?}", r.key.standard, r.status, r.differences))
        .collect();
    assert!(drifted.is_empty(), "{drifted:?}");
    assert_eq!(sim.log().writes().len(), writes, "a report run wrote");
    // And a remediate run on an aligned tenant sends nothing.
    let quiet = run_tenant(&t, &all(Mode::REMEDIATE), now()).await;
    assert!(
        by_status(&quiet, Status::Remediated).is_empty(),
        "{quiet:?}"
    );
    assert_eq!(
        sim.log().writes().len(),
        writes,
        "an aligned remediate run wrote"
    );
}
