//! Intune on the simulator: a policy captured in one tenant is created and assigned in
//! another; Apple token expiry reads from the demo tenant.

use std::sync::Arc;

use cipp_core::{ManualClock, Pipeline, TenantId};
use cipp_graph::intune::{AssignTarget, FilterMode, IntuneKind};
use cipp_graph::model::{IntunePolicy, NewGroup};
use cipp_graph::odata::Query;
use cipp_graph::GraphClient;
use cipp_sim::Simulator;
use serde_json::json;

fn setup() -> GraphClient {
    let clock = ManualClock::new("2026-11-27T09:00:00Z".parse().unwrap());
    let sim = Simulator::demo_with_clock(Arc::new(clock));
    let pipeline = Pipeline::builder()
        .transport(Arc::new(sim.clone()))
        .credentials(sim.demo_credentials())
        .build()
        .unwrap();
    GraphClient::new(pipeline)
}

#[tokio::test]
async fn a_policy_captured_in_one_tenant_is_created_and_assigned_in_another() {
    let graph = setup();
    let contoso = TenantId::parse("contoso.onmicrosoft.com").unwrap();
    let fabrikam = TenantId::parse("fabrikam.onmicrosoft.com").unwrap();
    let policy: IntunePolicy = serde_json::from_value(json!({
        "@odata.type": "#microsoft.graph.windows10CompliancePolicy",
        "displayName": "Windows baseline",
        "passwordRequired": true,
        "bitLockerEnabled": true
    }))
    .unwrap();
    graph.tenant(&contoso).intune().create(IntuneKind::CompliancePolicy, &policy).await.unwrap();
    let captured: Vec<_> = graph
        .tenant(&contoso)
        .intune()
        .list(IntuneKind::CompliancePolicy)
        .query(Query::new())
        .collect()
        .await
        .unwrap();
    assert_eq!(captured.len(), 1);
    assert!(captured[0].created_date_time.is_some());
    // Deploy the captured copy (with its id and timestamps) to Fabrikam.
    let created = graph
        .tenant(&fabrikam)
        .intune()
        .create(IntuneKind::CompliancePolicy, &captured[0])
        .await
        .unwrap();
    assert_ne!(created.id, captured[0].id);
    assert_eq!(created.extra["bitLockerEnabled"], true);
    let devices = graph
        .tenant(&fabrikam)
        .groups()
        .create(&NewGroup::security("Intune devices", "intunedevices"))
        .await
        .unwrap()
        .id
        .unwrap()
        .0;
    let pilots = graph
        .tenant(&fabrikam)
        .groups()
        .create(&NewGroup::security("Pilot exclusions", "pilotexcl"))
        .await
        .unwrap()
        .id
        .unwrap()
        .0;
    graph
        .tenant(&fabrikam)
        .intune()
        .assign(
            IntuneKind::CompliancePolicy,
            &created.id,
            &[AssignTarget::Group(devices.clone())],
            None,
            false,
        )
        .await
        .unwrap();
    graph
        .tenant(&fabrikam)
        .intune()
        .assign(
            IntuneKind::CompliancePolicy,
            &created.id,
            &[AssignTarget::ExcludeGroup(pilots), AssignTarget::AllDevices],
            Some(("7b0b0e8a-0000-4000-8000-000000000001", FilterMode::Include)),
            true,
        )
        .await
        .unwrap();
    let assigned: Vec<_> = graph
        .tenant(&fabrikam)
        .intune()
        .assignments(IntuneKind::CompliancePolicy, &created.id)
        .collect()
        .await
        .unwrap();
    assert_eq!(assigned.len(), 3, "appended to the first assignment: {assigned:?}");
    assert_eq!(assigned[0]["target"]["groupId"], devices.as_str());

    // A rename is a PATCH; the settings catalog is replaced with PUT.
    let rename = IntunePolicy {
        odata_type: Some("#microsoft.graph.windows10CompliancePolicy".into()),
        display_name: Some("Windows baseline v2".into()),
        ..Default::default()
    };
    graph
        .tenant(&fabrikam)
        .intune()
        .update(IntuneKind::CompliancePolicy, &created.id, &rename)
        .await
        .unwrap();
    let read = graph
        .tenant(&fabrikam)
        .intune()
        .get(IntuneKind::CompliancePolicy, &created.id)
        .await
        .unwrap();
    assert_eq!(read.title(), "Windows baseline v2");
    assert_eq!(read.extra["bitLockerEnabled"], true);
    graph
        .tenant(&fabrikam)
        .intune()
        .delete(IntuneKind::CompliancePolicy, &created.id)
        .await
        .unwrap();
    assert!(graph
        .tenant(&fabrikam)
        .intune()
        .get(IntuneKind::CompliancePolicy, &created.id)
        .await
        .is_err());
}

#[tokio::test]
async fn apple_token_expiry_is_readable() {
    let graph = setup();
    let contoso = TenantId::parse("contoso.onmicrosoft.com").unwrap();
    let apns = graph.tenant(&contoso).intune().apple_push_certificate().await.unwrap();
    let days = (apns.expiration_date_time.unwrap()
        - "2026-11-27T09:00:00Z".parse::<chrono::DateTime<chrono::Utc>>().unwrap())
    .num_days();
    assert_eq!(days, 20);
    let vpp: Vec<_> = graph.tenant(&contoso).intune().vpp_tokens().collect().await.unwrap();
    assert_eq!(vpp.len(), 1);
    // Fabrikam has no APNs certificate: 404, read as not found.
    let fabrikam = TenantId::parse("fabrikam.onmicrosoft.com").unwrap();
    let err = graph.tenant(&fabrikam).intune().apple_push_certificate().await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
}
