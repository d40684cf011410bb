//! Drift on the simulator: non-compliant standards and policies in no template as
//! deviations, decisions (accepted, customer-specific, denied-remediate remediates,
//! denied-delete deletes), statuses that do not fit refused, access checked and every
//! decision audited.

use crate::common;

use std::sync::Arc;

use cipp::authz::{AccessControl, MemoryAuditLog, Principal, Role};
use cipp::graph::model::ConditionalAccessPolicy;
use cipp::standards::catalogue::templates;
use cipp::standards::{
    decide, drift, run, Catalogue, DriftAction, DriftBook, DriftOptions, DriftStatus,
    MemoryDriftBook, Mode, RunOptions, StandardsTemplate, Status, Subject, TemplateTarget,
};
use cipp::templates::store::{MemoryTemplateStore, TemplateStore};
use cipp::templates::template::{Template, TemplateKind};
use cipp::templates::variables::Variables;
use cipp::TenantId;
use serde_json::json;

fn baseline() -> StandardsTemplate {
    StandardsTemplate::new("baseline", "Baseline")
        .target(TemplateTarget::Tenant {
            id: "contoso.com".into(),
        })
        .standard("DisableTenantCreation", Mode::REPORT, json!({}))
        .standard("DisableAppCreation", Mode::REPORT, json!({}))
        .standard(
            "ConditionalAccessTemplate",
            Mode::REPORT,
            json!({"TemplateList": {"value": "ca-mfa"}}),
        )
}

// Paused time: Conditional Access requests are paced at one per second per tenant.
#[tokio::test(start_paused = true)]
async fn deviations_decisions_and_actions() {
    let clock = common::demo_clock();
    let (sim, cipp) = common::demo(Some(&clock), common::Fleet::Partner);
    let log = MemoryAuditLog::new();
    let cipp = cipp.with_access_control(
        AccessControl::new(Principal::technician("eddie").with_role(Role::editor()))
            .audit(Arc::new(log.clone())),
    );
    let contoso = TenantId::parse("contoso.com").unwrap();
    let handle = cipp.tenant(&contoso).unwrap();

    // A Conditional Access template, and two policies already in Contoso: one with the
    // template's name, one that no template deploys.
    let store = Arc::new(MemoryTemplateStore::new());
    let ca_body = json!({"displayName": "Require MFA", "state": "disabled",
        "conditions": {"clientAppTypes": ["all"], "applications": {"includeApplications": ["All"]},
                       "users": {"includeUsers": ["All"]}},
        "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}});
    store
        .put(
            Template::new(
                TemplateKind::ConditionalAccess,
                "Require MFA",
                ca_body.clone(),
            )
            .with_id("ca-mfa"),
        )
        .await
        .unwrap();
    let mut catalogue = Catalogue::builtin();
    templates::register(&mut catalogue, store.clone(), Variables::new());
    let options = RunOptions::new().catalogue(Arc::new(catalogue));
    let ca = handle.graph().conditional_access();
    let named: ConditionalAccessPolicy = serde_json::from_value(ca_body).unwrap();
    ca.create_policy(&named).await.unwrap();
    let mut legacy = named.clone();
    legacy.display_name = "Legacy: allow all".into();
    let legacy = ca.create_policy(&legacy).await.unwrap();

    let tenants = vec![cipp::Tenant::new(contoso.clone())];
    let templates_ = [baseline()];
    let report = run(&cipp, &templates_, tenants, &options, cipp.fleet()).await;
    let contoso_run = &report.tenants[0];
    assert!(contoso_run.error.is_none(), "{:?}", contoso_run.error);

    let book = Arc::new(MemoryDriftBook::new());
    let drift_options =
        DriftOptions::new(book.clone()).extra_policies(store.clone(), Variables::new());
    let d = drift(&handle, &templates_, &options, &drift_options)
        .await
        .unwrap();
    let ids: Vec<&str> = d.deviations.iter().map(|x| x.id.as_str()).collect();
    let legacy_id = format!("policy:conditionalAccess:{}", legacy.id);
    assert!(ids.contains(&"standards.DisableTenantCreation"), "{ids:?}");
    assert!(ids.contains(&"standards.DisableAppCreation"), "{ids:?}");
    assert!(ids.contains(&legacy_id.as_str()), "{ids:?}");
    // The policy the template names is not extra; its template standard is compliant
    // (adopted by name) or drifted on content, never an extra policy.
    assert!(!d.deviations.iter().any(|x| matches!(&x.subject,
        Subject::ExtraPolicy(p) if p.name == "Require MFA")));
    assert!(d.deviations.iter().all(|x| x.status == DriftStatus::New));
    let open = d.open();

    // Accepted and customer-specific no longer count.
    let r = decide(
        &handle,
        &templates_,
        &options,
        &drift_options,
        "standards.DisableAppCreation",
        DriftStatus::Accepted,
        Some("dev tenant"),
    )
    .await
    .unwrap();
    assert!(matches!(r, DriftAction::Recorded));
    let d = drift(&handle, &templates_, &options, &drift_options)
        .await
        .unwrap();
    assert_eq!(d.open(), open - 1);
    let accepted = d
        .deviations
        .iter()
        .find(|x| x.id == "standards.DisableAppCreation")
        .unwrap();
    assert_eq!(accepted.status, DriftStatus::Accepted);
    assert_eq!(accepted.decision.as_ref().unwrap().by, "eddie");

    // Statuses that do not fit are refused, and nothing is recorded.
    let before = book.decisions(&contoso).await.unwrap().len();
    let e = decide(
        &handle,
        &templates_,
        &options,
        &drift_options,
        "standards.DisableTenantCreation",
        DriftStatus::DeniedDelete,
        None,
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("DeniedRemediate"), "{e}");
    let e = decide(
        &handle,
        &templates_,
        &options,
        &drift_options,
        &legacy_id,
        DriftStatus::DeniedRemediate,
        None,
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("DeniedDelete"), "{e}");
    assert!(decide(
        &handle,
        &templates_,
        &options,
        &drift_options,
        "standards.NoSuch",
        DriftStatus::Accepted,
        None
    )
    .await
    .is_err());
    assert_eq!(book.decisions(&contoso).await.unwrap().len(), before);

    // Denied-remediate remediates and proves it; the deviation is gone.
    let r = decide(
        &handle,
        &templates_,
        &options,
        &drift_options,
        "standards.DisableTenantCreation",
        DriftStatus::DeniedRemediate,
        None,
    )
    .await
    .unwrap();
    match r {
        DriftAction::Remediated(result) => assert_eq!(result.status, Status::Remediated),
        other => panic!("{other:?}"),
    }
    {
        let st = sim.lock_state();
        let t = st.tenant("contoso.com").unwrap();
        assert_eq!(
            t.policies.authorization["defaultUserRolePermissions"]["allowedToCreateTenants"],
            false
        );
    }
    // Denied-delete deletes the extra policy.
    let r = decide(
        &handle,
        &templates_,
        &options,
        &drift_options,
        &legacy_id,
        DriftStatus::DeniedDelete,
        None,
    )
    .await
    .unwrap();
    assert!(matches!(r, DriftAction::Deleted { .. }));
    let d = drift(&handle, &templates_, &options, &drift_options)
        .await
        .unwrap();
    let ids: Vec<&str> = d.deviations.iter().map(|x| x.id.as_str()).collect();
    assert!(!ids.contains(&"standards.DisableTenantCreation"), "{ids:?}");
    assert!(!ids.contains(&legacy_id.as_str()), "{ids:?}");
    assert!(ca
        .policies()
        .await
        .unwrap()
        .iter()
        .all(|p| p.id != legacy.id));

    // Every decision and action is audited.
    let ops: Vec<String> = log.events().iter().map(|e| e.operation.clone()).collect();
    for op in [
        "standards.drift_decide",
        "standards.remediate",
        "standards.drift_delete",
    ] {
        assert!(ops.iter().any(|o| o == op), "{op}: {ops:?}");
    }

    // A read-only technician sees drift but cannot decide.
    let ro = cipp.with_access_control(AccessControl::new(
        Principal::technician("rita").with_role(Role::readonly()),
    ));
    let h = ro.tenant(&contoso).unwrap();
    assert!(drift(&h, &templates_, &options, &drift_options)
        .await
        .is_ok());
    let e = decide(
        &h,
        &templates_,
        &options,
        &drift_options,
        "standards.DisableAppCreation",
        DriftStatus::Denied,
        None,
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("Tenant.Standards.ReadWrite"), "{e}");
}

/// Decisions kept in the scheduler's SQLite store survive a restart; a later decision for
/// the same deviation replaces the earlier one; tenants are apart.
#[tokio::test]
async fn drift_decisions_in_the_scheduler_store_survive_a_restart() {
    use cipp::standards::{DriftBook, DriftDecision, KvDriftBook};
    let dir = std::env::temp_dir().join(format!("cipp-drift-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("scheduler.db");
    let _ = std::fs::remove_file(&path);
    let contoso = TenantId::parse("contoso.com").unwrap();
    let decision = |status, by: &str| DriftDecision {
        tenant: contoso.clone(),
        deviation: "standards.DisableAppCreation".into(),
        status,
        by: by.into(),
        at: chrono::Utc::now(),
        reason: None,
    };
    {
        let store = Arc::new(cipp::scheduler::sqlite::SqliteStore::open(&path).unwrap());
        let book = KvDriftBook::new(store);
        book.decide(decision(DriftStatus::Accepted, "eddie"))
            .await
            .unwrap();
        book.decide(decision(DriftStatus::Denied, "rita"))
            .await
            .unwrap();
    }
    let store = Arc::new(cipp::scheduler::sqlite::SqliteStore::open(&path).unwrap());
    let book = KvDriftBook::new(store);
    let got = book.decisions(&contoso).await.unwrap();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(
        (got[0].status, got[0].by.as_str()),
        (DriftStatus::Denied, "rita")
    );
    let other = TenantId::parse("fabrikam.com").unwrap();
    assert!(book.decisions(&other).await.unwrap().is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}
