//! Access health on the simulator, computed from the tenants themselves.

use crate::common;

use cipp::access::{access_health, Check};
use cipp::core::TenantId;
use cipp::graph::gdap::workflow;
use cipp::sim::scenario::DEMO_PARTNER;
use cipp::sim::{SimTenant, Simulator};
use cipp::Cipp;
use serde_json::json;

const ADATUM: &str = "6d1f4c2a-0000-4000-8000-00000000ada7";

fn setup() -> (Simulator, Cipp) {
    common::demo(Some(&common::demo_clock()), common::Fleet::Partner)
}

#[tokio::test]
async fn access_health_says_why_operations_would_fail() {
    let (sim, cipp) = setup();
    let partner = TenantId::parse(DEMO_PARTNER).unwrap();
    // Adatum: an active relationship (Global Reader only, no auto-extend, ends in 10
    // days) but the partner's token is not valid there (no consent).
    sim.add_tenant(SimTenant::new(ADATUM, "Adatum", "adatum.onmicrosoft.com"));
    {
        let mut st = sim.lock_state();
        let p = st.tenant_mut(DEMO_PARTNER).unwrap();
        p.gdap.relationships_mut().insert(json!({
            "@odata.etag": "W/\"x\"", "id": format!("{ADATUM}-00000000-0000-0000-0000-000000000001"),
            "displayName": "CIPP_adatum", "duration": "P730D", "status": "active",
            "customer": {"tenantId": ADATUM, "displayName": "Adatum"},
            "accessDetails": {"unifiedRoles": [{"roleDefinitionId": "f2ef992c-3afb-46b9-b7cf-a126ee74c451"}]},
            "autoExtendDuration": "PT0S",
            "activatedDateTime": "2024-12-07T09:00:00Z", "endDateTime": "2026-12-07T09:00:00Z"
        }));
    }
    // Map Contoso's Exchange Administrator role to a partner group.
    let exo = cipp::graph::gdap::roles::role_id("Exchange Administrator")
        .unwrap()
        .to_owned();
    let (mappings, _) = workflow::ensure_role_groups(
        &cipp.graph().tenant(&partner),
        std::slice::from_ref(&exo),
        None,
    )
    .await
    .unwrap();
    let graph = cipp.graph();
    let gdap = graph.tenant(&partner).gdap();
    let active = gdap
        .relationships()
        .query(cipp::graph::gdap::active_query());
    let rels = active.await.unwrap();
    let contoso = rels
        .iter()
        .find(|r| r.customer.as_ref().unwrap().display_name.as_deref() == Some("Contoso Ltd"))
        .unwrap();
    workflow::apply_mappings(
        &cipp.graph().tenant(&partner),
        &contoso.id,
        &mappings,
        false,
    )
    .await
    .unwrap();

    let report = access_health(&cipp, &partner).await.unwrap();
    assert_eq!(report.len(), 4);
    let by_name = |n: &str| {
        report
            .iter()
            .find(|t| t.display_name.as_deref() == Some(n))
            .unwrap()
    };
    let c = by_name("Contoso Ltd");
    assert!(c.graph.is_ok() && c.exchange.is_ok());
    assert_eq!(c.licences.intune, Some(true));
    assert_eq!(c.licences.entra_p1, Some(true));
    assert_eq!(c.licences.entra_p2, Some(false));
    assert!(c.missing_default_roles.is_empty());
    let exo_role = c
        .roles
        .iter()
        .find(|r| r.name == "Exchange Administrator")
        .unwrap();
    assert!(exo_role.mapped);
    assert!(c.roles.iter().filter(|r| !r.mapped).count() == 14);
    assert!(c.problems.iter().any(
        |p| p.starts_with("14 granted role(s) not mapped") && p.contains("User Administrator")
    ));

    let f = by_name("Fabrikam Inc");
    assert_eq!(f.licences.intune, Some(false));
    assert!(f.problems.iter().any(|p| p.contains("no Intune licence")));

    let a = by_name("Adatum");
    assert!(matches!(&a.graph, Check::Failed { reason } if !reason.is_empty()));
    assert_eq!(a.licences.intune, None, "unreadable without a token");
    assert_eq!(a.missing_default_roles.len(), 14);
    assert!(
        a.problems.iter().any(|p| p.contains("ends in 10 days")),
        "{:?}",
        a.problems
    );
    assert!(a.problems.iter().any(|p| p.starts_with("no Graph token")));
}

#[tokio::test]
async fn the_fleet_can_come_from_active_relationships() {
    let clock = common::demo_clock();
    let (_sim, cipp) = common::demo(Some(&clock), common::Fleet::Relationships);
    let fleet = cipp.tenants().await.unwrap();
    assert_eq!(fleet.len(), 3);
    let contoso = fleet
        .iter()
        .find(|t| t.display_name.as_deref() == Some("Contoso Ltd"))
        .unwrap();
    assert_eq!(contoso.default_domain.as_deref(), Some("contoso.com"));
    assert_eq!(
        contoso.initial_domain.as_deref(),
        Some("contoso.onmicrosoft.com")
    );
    // Terminating Fabrikam's relationship takes it out of the fleet.
    let partner = TenantId::parse(DEMO_PARTNER).unwrap();
    let graph = cipp.graph();
    let gdap = graph.tenant(&partner).gdap();
    let rels = gdap.relationships().await.unwrap();
    let fabrikam = rels
        .iter()
        .find(|r| r.customer.as_ref().unwrap().display_name.as_deref() == Some("Fabrikam Inc"))
        .unwrap();
    gdap.terminate(&fabrikam.id).await.unwrap();
    let fleet = cipp.tenants().await.unwrap();
    assert_eq!(fleet.len(), 2);
    assert!(fleet
        .iter()
        .all(|t| t.display_name.as_deref() != Some("Fabrikam Inc")));
}
