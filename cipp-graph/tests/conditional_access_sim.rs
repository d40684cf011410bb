//! Conditional Access on the simulator: a policy captured in one tenant deploys to
//! another once its prerequisites exist; throttling at one request per second is absorbed.

mod common;

use cipp_graph::model::{ConditionalAccessPolicy, NamedLocation, PolicyState};
use cipp_graph::odata::Query;
use common::{demo, sim_pipeline, tid};
use serde_json::json;

#[tokio::test(start_paused = true)]
async fn a_policy_captured_in_one_tenant_deploys_to_another() {
    let (_sim, graph, _) = demo();
    let contoso = graph.tenant(&tid("contoso.onmicrosoft.com")).conditional_access();
    let fabrikam = graph.tenant(&tid("fabrikam.onmicrosoft.com")).conditional_access();
    contoso.disable_security_defaults().await.unwrap();
    let office_range = NamedLocation::ip("Office", true, &["203.0.113.0/24"]);
    let office = contoso.create_named_location(&office_range).await.unwrap();
    let policy: ConditionalAccessPolicy = serde_json::from_value(json!({
        "displayName": "Block legacy authentication",
        "state": "enabled",
        "conditions": {
            "users": {"includeUsers": ["All"]},
            "applications": {"includeApplications": ["All"]},
            "clientAppTypes": ["exchangeActiveSync", "other"],
            "locations": {"includeLocations": ["All"], "excludeLocations": [office.id]}
        },
        "grantControls": {"operator": "OR", "builtInControls": ["block"]}
    }))
    .unwrap();
    contoso.create_policy(&policy).await.unwrap();
    let captured: Vec<_> = contoso.policies().query(Query::new()).collect().await.unwrap();
    assert_eq!(captured.len(), 1);
    assert!(captured[0].created_date_time.is_some());

    // Fabrikam: security defaults still on and the location does not exist there.
    let mut copy = captured[0].clone();
    let err = fabrikam.create_policy(&copy).await.unwrap_err();
    assert!(err.to_string().contains("Security Defaults"), "{err}");
    assert!(fabrikam.security_defaults().await.unwrap().is_enabled);
    fabrikam.disable_security_defaults().await.unwrap();
    let err = fabrikam.create_policy(&copy).await.unwrap_err();
    assert!(err.to_string().contains("location"), "{err}");
    let there = fabrikam.create_named_location(&office_range).await.unwrap();
    let refs = copy.referenced_ids();
    let conditions = copy.conditions.as_mut().unwrap();
    conditions["locations"]["excludeLocations"] = json!([there.id]);
    assert_eq!(refs, std::slice::from_ref(&office.id));
    let deployed = fabrikam.create_policy(&copy).await.unwrap();
    assert_ne!(deployed.id, captured[0].id);
    fabrikam.set_policy_state(&deployed.id, &PolicyState::ReportOnly).await.unwrap();
    let read = fabrikam.policy(&deployed.id).await.unwrap();
    assert_eq!(read.state, Some(PolicyState::ReportOnly));
    assert_eq!(read.built_in_controls(), ["block"]);
    fabrikam.delete_policy(&deployed.id).await.unwrap();
    assert!(fabrikam.policy(&deployed.id).await.is_err());
}

#[tokio::test(start_paused = true)]
async fn throttling_without_retry_after_is_avoided_by_pacing() {
    let (sim, graph, _) = demo();
    let contoso = graph.tenant(&tid("contoso.onmicrosoft.com")).conditional_access();
    sim.set_ca_throttling("contoso.onmicrosoft.com", true);
    for _ in 0..5 {
        let p: Vec<_> = contoso.named_locations().query(Query::new()).collect().await.unwrap();
        assert!(p.is_empty());
    }
    let log = sim.request_log();
    let served =
        log.iter().filter(|r| r.path.contains("namedLocations") && r.status == 200).count();
    let throttled = log.iter().filter(|r| r.status == 429).count();
    assert_eq!(served, 5);
    // The pipeline's governor paces Conditional Access to one request per second per
    // tenant, so the simulator never had to refuse one.
    assert_eq!(throttled, 0);
}

#[tokio::test(start_paused = true)]
async fn the_simulator_refuses_a_second_request_within_a_second_without_retry_after() {
    use cipp_core::{ApiRequest, Audience, Transport};
    let (sim, _graph, _) = demo();
    sim.set_ca_throttling("contoso.onmicrosoft.com", true);
    // Straight to the simulator, bypassing the pipeline's pacing.
    let pipeline = sim_pipeline(&sim);
    let contoso = tid("contoso.onmicrosoft.com");
    let locations = "/v1.0/identity/conditionalAccess/namedLocations";
    // The first request through the pipeline obtains a token and is served.
    pipeline.send(ApiRequest::get(contoso.clone(), Audience::Graph, locations)).await.unwrap();
    let token = pipeline.tokens().token(&contoso, &Audience::Graph).await.unwrap();
    let raw = http::Request::builder()
        .uri(format!("https://graph.microsoft.com{locations}"))
        .header("authorization", token.authorization_header().clone())
        .body(bytes::Bytes::new())
        .unwrap();
    let resp = Transport::send(&sim, raw).await.unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    assert!(resp.headers().get("retry-after").is_none());
}
