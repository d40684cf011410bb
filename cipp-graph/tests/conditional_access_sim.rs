//! Conditional Access on the simulator: a policy captured in one tenant deploys to
//! another once its prerequisites exist; throttling at one request per second is absorbed.

use std::sync::Arc;

use cipp_core::{ManualClock, Pipeline, TenantId};
use cipp_graph::model::{ConditionalAccessPolicy, NamedLocation, PolicyState};
use cipp_graph::odata::Query;
use cipp_graph::GraphClient;
use cipp_sim::Simulator;
use serde_json::json;

fn setup() -> (Simulator, GraphClient) {
    let clock = ManualClock::new("2026-11-27T09:00:00Z".parse().unwrap());
    let sim = Simulator::demo_with_clock(Arc::new(clock));
    let pipeline = Pipeline::builder()
        .transport(Arc::new(sim.clone()))
        .credentials(sim.demo_credentials())
        .build()
        .unwrap();
    (sim, GraphClient::new(pipeline))
}

fn t(name: &str) -> TenantId {
    TenantId::parse(name).unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_policy_captured_in_one_tenant_deploys_to_another() {
    let (_sim, graph) = setup();
    let contoso = t("contoso.onmicrosoft.com");
    let fabrikam = t("fabrikam.onmicrosoft.com");
    graph.tenant(&contoso).conditional_access().disable_security_defaults().await.unwrap();
    let office = graph
        .tenant(&contoso)
        .conditional_access()
        .create_named_location(&NamedLocation::ip("Office", true, &["203.0.113.0/24"]))
        .await
        .unwrap();
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
    graph.tenant(&contoso).conditional_access().create_policy(&policy).await.unwrap();
    let captured: Vec<_> = graph
        .tenant(&contoso)
        .conditional_access()
        .policies()
        .query(Query::new())
        .collect()
        .await
        .unwrap();
    assert_eq!(captured.len(), 1);
    assert!(captured[0].created_date_time.is_some());

    // Fabrikam: security defaults still on and the location does not exist there.
    let mut copy = captured[0].clone();
    let err = graph.tenant(&fabrikam).conditional_access().create_policy(&copy).await.unwrap_err();
    assert!(err.to_string().contains("Security Defaults"), "{err}");
    assert!(
        graph.tenant(&fabrikam).conditional_access().security_defaults().await.unwrap().is_enabled
    );
    graph.tenant(&fabrikam).conditional_access().disable_security_defaults().await.unwrap();
    let err = graph.tenant(&fabrikam).conditional_access().create_policy(&copy).await.unwrap_err();
    assert!(err.to_string().contains("location"), "{err}");
    let there = graph
        .tenant(&fabrikam)
        .conditional_access()
        .create_named_location(&NamedLocation::ip("Office", true, &["203.0.113.0/24"]))
        .await
        .unwrap();
    let refs = copy.referenced_ids();
    let conditions = copy.conditions.as_mut().unwrap();
    conditions["locations"]["excludeLocations"] = json!([there.id]);
    assert_eq!(refs, std::slice::from_ref(&office.id));
    let deployed = graph.tenant(&fabrikam).conditional_access().create_policy(&copy).await.unwrap();
    assert_ne!(deployed.id, captured[0].id);
    graph
        .tenant(&fabrikam)
        .conditional_access()
        .set_policy_state(&deployed.id, &PolicyState::ReportOnly)
        .await
        .unwrap();
    let read = graph.tenant(&fabrikam).conditional_access().policy(&deployed.id).await.unwrap();
    assert_eq!(read.state, Some(PolicyState::ReportOnly));
    assert_eq!(read.built_in_controls(), ["block"]);
    graph.tenant(&fabrikam).conditional_access().delete_policy(&deployed.id).await.unwrap();
    assert!(graph.tenant(&fabrikam).conditional_access().policy(&deployed.id).await.is_err());
}

#[tokio::test(start_paused = true)]
async fn throttling_without_retry_after_is_avoided_by_pacing() {
    let (sim, graph) = setup();
    let contoso = t("contoso.onmicrosoft.com");
    sim.set_ca_throttling("contoso.onmicrosoft.com", true);
    for _ in 0..5 {
        let p: Vec<_> = graph
            .tenant(&contoso)
            .conditional_access()
            .named_locations()
            .query(Query::new())
            .collect()
            .await
            .unwrap();
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
    let (sim, _graph) = setup();
    sim.set_ca_throttling("contoso.onmicrosoft.com", true);
    // Straight to the simulator, bypassing the pipeline's pacing.
    let pipeline = Pipeline::builder()
        .transport(Arc::new(sim.clone()))
        .credentials(sim.demo_credentials())
        .build()
        .unwrap();
    let req = || {
        ApiRequest::get(
            t("contoso.onmicrosoft.com"),
            Audience::Graph,
            "/v1.0/identity/conditionalAccess/namedLocations",
        )
    };
    // The first request through the pipeline obtains a token and is served.
    pipeline.send(req()).await.unwrap();
    let token =
        pipeline.tokens().token(&t("contoso.onmicrosoft.com"), &Audience::Graph).await.unwrap();
    let raw = http::Request::builder()
        .uri("https://graph.microsoft.com/v1.0/identity/conditionalAccess/namedLocations")
        .header("authorization", token.authorization_header().clone())
        .body(bytes::Bytes::new())
        .unwrap();
    let resp = Transport::send(&sim, raw).await.unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    assert!(resp.headers().get("retry-after").is_none());
}
