//! Intune on the simulator: a policy captured in one tenant is created and assigned in
//! another; Apple token expiry reads from the demo tenant.

mod common;

use cipp_graph::intune::{AssignTarget, FilterMode, IntuneKind};
use cipp_graph::model::{IntunePolicy, NewGroup};
use cipp_graph::odata::Query;
use cipp_graph::TenantGraph;
use common::{demo, tid};
use serde_json::json;

const COMPLIANCE: IntuneKind = IntuneKind::CompliancePolicy;

/// A new security group's id.
async fn security_group(t: &TenantGraph, name: &str, nickname: &str) -> String {
    let group = t.groups().create(&NewGroup::security(name, nickname)).await.unwrap();
    group.id.unwrap().0
}

#[tokio::test]
async fn a_policy_captured_in_one_tenant_is_created_and_assigned_in_another() {
    let (_sim, graph, _) = demo();
    let contoso = graph.tenant(&tid("contoso.onmicrosoft.com")).intune();
    let fabrikam_tenant = graph.tenant(&tid("fabrikam.onmicrosoft.com"));
    let fabrikam = fabrikam_tenant.intune();
    let policy: IntunePolicy = serde_json::from_value(json!({
        "@odata.type": "#microsoft.graph.windows10CompliancePolicy",
        "displayName": "Windows baseline",
        "passwordRequired": true,
        "bitLockerEnabled": true
    }))
    .unwrap();
    contoso.create(COMPLIANCE, &policy).await.unwrap();
    let captured: Vec<_> = contoso.list(COMPLIANCE).query(Query::new()).collect().await.unwrap();
    assert_eq!(captured.len(), 1);
    assert!(captured[0].created_date_time.is_some());
    // Deploy the captured copy (with its id and timestamps) to Fabrikam.
    let created = fabrikam.create(COMPLIANCE, &captured[0]).await.unwrap();
    assert_ne!(created.id, captured[0].id);
    assert_eq!(created.extra["bitLockerEnabled"], true);
    let devices = security_group(&fabrikam_tenant, "Intune devices", "intunedevices").await;
    let pilots = security_group(&fabrikam_tenant, "Pilot exclusions", "pilotexcl").await;
    let id = &created.id;
    let first = [AssignTarget::Group(devices.clone())];
    fabrikam.assign(COMPLIANCE, id, &first, None, false).await.unwrap();
    let more = [AssignTarget::ExcludeGroup(pilots), AssignTarget::AllDevices];
    let filter = Some(("7b0b0e8a-0000-4000-8000-000000000001", FilterMode::Include));
    fabrikam.assign(COMPLIANCE, id, &more, filter, true).await.unwrap();
    let assigned: Vec<_> = fabrikam.assignments(COMPLIANCE, id).collect().await.unwrap();
    assert_eq!(assigned.len(), 3, "appended to the first assignment: {assigned:?}");
    assert_eq!(assigned[0]["target"]["groupId"], devices.as_str());

    // A rename is a PATCH; the settings catalog is replaced with PUT.
    let rename = IntunePolicy {
        odata_type: Some("#microsoft.graph.windows10CompliancePolicy".into()),
        display_name: Some("Windows baseline v2".into()),
        ..Default::default()
    };
    fabrikam.update(COMPLIANCE, id, &rename).await.unwrap();
    let read = fabrikam.get(COMPLIANCE, id).await.unwrap();
    assert_eq!(read.title(), "Windows baseline v2");
    assert_eq!(read.extra["bitLockerEnabled"], true);
    fabrikam.delete(COMPLIANCE, id).await.unwrap();
    assert!(fabrikam.get(COMPLIANCE, id).await.is_err());
}

#[tokio::test]
async fn apple_token_expiry_is_readable() {
    let (_sim, graph, _) = demo();
    let contoso = graph.tenant(&tid("contoso.onmicrosoft.com")).intune();
    let apns = contoso.apple_push_certificate().await.unwrap();
    let now: chrono::DateTime<chrono::Utc> = "2026-11-27T09:00:00Z".parse().unwrap();
    let days = (apns.expiration_date_time.unwrap() - now).num_days();
    assert_eq!(days, 20);
    let vpp: Vec<_> = contoso.vpp_tokens().collect().await.unwrap();
    assert_eq!(vpp.len(), 1);
    // Fabrikam has no APNs certificate: 404, read as not found.
    let fabrikam = graph.tenant(&tid("fabrikam.onmicrosoft.com")).intune();
    let err = fabrikam.apple_push_certificate().await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
}
