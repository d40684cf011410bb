//! The fleet deploy's Conditional Access guardrails on the simulator: a tenant with
//! security defaults on gets nothing unless disabling them is allowed, and then only
//! because an enabled policy replaces them.

use crate::common;

use cipp::graph::model::ConditionalAccessPolicy;
use cipp::sim::Simulator;
use cipp::templates::capture::capture_conditional_access;
use cipp::templates::guardrails::SecurityDefaults;
use cipp::templates::plan::{CaState, PlanOptions};
use cipp::templates::{deploy, DeployError, DeployOptions};
use cipp::{Cipp, Tenant};
use serde_json::json;

async fn setup() -> (
    Simulator,
    Cipp,
    Tenant,
    Vec<cipp::templates::template::Template>,
) {
    let (sim, cipp) = common::demo(None, common::Fleet::Relationships);
    let all = cipp.tenants().await.unwrap();
    let find = |name: &str| {
        all.iter()
            .find(|t| t.label().starts_with(name))
            .cloned()
            .unwrap()
    };
    let (contoso, fabrikam) = (find("Contoso"), find("Fabrikam"));
    let a = cipp.tenant(&contoso.id).unwrap();
    a.graph()
        .conditional_access()
        .disable_security_defaults()
        .await
        .unwrap();
    let policy: ConditionalAccessPolicy = serde_json::from_value(json!({
        "displayName": "Require MFA for everyone", "state": "enabled",
        "conditions": {"clientAppTypes": ["all"], "applications": {"includeApplications": ["All"]},
                       "users": {"includeUsers": ["All"]}},
        "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}
    }))
    .unwrap();
    let created = a
        .graph()
        .conditional_access()
        .create_policy(&policy)
        .await
        .unwrap();
    let template = capture_conditional_access(a.graph(), &created.id)
        .await
        .unwrap()
        .into_template();
    (sim, cipp, fabrikam, vec![template])
}

fn security_defaults_on(sim: &Simulator, domain: &str) -> bool {
    !sim.lock_state()
        .tenant(domain)
        .unwrap()
        .conditional_access
        .security_defaults_disabled
}

fn ca_writes(sim: &Simulator) -> usize {
    sim.request_log()
        .iter()
        .filter(|r| r.method != "GET" && r.path.contains("conditionalAccess"))
        .count()
}

// Paused time: Conditional Access requests are paced at 1/s per tenant.
#[tokio::test(start_paused = true)]
async fn security_defaults_stop_the_tenant_unless_allowed_and_replaced() {
    let (sim, cipp, fabrikam, templates) = setup().await;
    assert!(security_defaults_on(&sim, "fabrikam.com"));
    sim.clear_log();

    // Refused by default: nothing sent, the error says what to do.
    let report = deploy(
        &cipp,
        &templates,
        vec![fabrikam.clone()],
        &DeployOptions::new(),
        cipp.fleet(),
    )
    .await;
    let t = &report.tenants[0];
    assert!(
        matches!(t.error, Some(DeployError::Guardrail(_))),
        "{:?}",
        t.error
    );
    let message = t.error.as_ref().unwrap().to_string();
    assert!(message.contains("report-only") && message.contains("DisableWhenReplaced"));
    assert_eq!(ca_writes(&sim), 0, "nothing written to Conditional Access");
    assert!(security_defaults_on(&sim, "fabrikam.com"));

    // Report-only needs no replacement: security defaults stay on, the policy is created.
    let report_only = DeployOptions::new()
        .plan(PlanOptions::default().ca_state(CaState::ReportOnly))
        .security_defaults(SecurityDefaults::DisableWhenReplaced);
    let report = deploy(
        &cipp,
        &templates,
        vec![fabrikam.clone()],
        &report_only,
        cipp.fleet(),
    )
    .await;
    assert!(report.is_ok(), "{:#?}", report.to_json());
    assert!(report.tenants[0].warnings.is_empty());
    assert!(security_defaults_on(&sim, "fabrikam.com"));

    // Allowed: disabled because the enabled policy replaces them, and said so.
    let allowed = DeployOptions::new()
        .plan(
            PlanOptions::default()
                .ca_state(CaState::Enabled)
                .adopt_by_name(true),
        )
        .security_defaults(SecurityDefaults::DisableWhenReplaced);
    let report = deploy(&cipp, &templates, vec![fabrikam], &allowed, cipp.fleet()).await;
    assert!(report.is_ok(), "{:#?}", report.to_json());
    assert!(
        report.tenants[0]
            .warnings
            .iter()
            .any(|w| w.contains("security defaults disabled")),
        "{:?}",
        report.tenants[0].warnings
    );
    assert!(!security_defaults_on(&sim, "fabrikam.com"));
}
