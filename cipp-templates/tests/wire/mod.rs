//! Helpers shared by the template test crates: a Graph client on a mock server, Graph's
//! error shape and the requests received (wiremock); a pipeline over the simulator and a
//! simulated tenant by name.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use cipp_core::{
    Credentials, Endpoints, Outcome, Pipeline, ReqwestTransport, RetryPolicy, SecretString,
    TenantId, ThrottleSettings,
};
use cipp_graph::{GraphClient, TenantGraph};
use cipp_sim::{SimTenant, Simulator};
use cipp_templates::apply::{apply, fetch_state, ApplyOptions, ApplyReport};
use cipp_templates::plan::{plan, Binding, Plan, PlanOptions};
use cipp_templates::template::Template;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

pub fn contoso() -> TenantId {
    TenantId::parse("contoso.onmicrosoft.com").unwrap()
}

pub fn wire_pipeline(server: &MockServer) -> Pipeline {
    Pipeline::builder()
        .transport(Arc::new(ReqwestTransport::new().unwrap()))
        .endpoints(Endpoints::single_base(&server.uri()))
        .credentials(Credentials::StaticToken(SecretString::from("test-token")))
        // No client-side pacing (Conditional Access is paced to 1 request/s by default).
        .throttle(ThrottleSettings::none())
        .retry(RetryPolicy {
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            ..RetryPolicy::default()
        })
        .build()
        .unwrap()
}

pub async fn wire() -> (MockServer, TenantGraph) {
    let server = MockServer::start().await;
    let graph = GraphClient::new(wire_pipeline(&server)).tenant(&contoso());
    (server, graph)
}

pub fn graph_error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({"error": {
        "code": code, "message": message,
        "innerError": {"date": "2026-11-27T10:00:00", "request-id": "rid-1", "client-request-id": "crid-1"}
    }}))
}

/// Every request the server received: method, path and decoded query pairs.
pub async fn requests(server: &MockServer) -> Vec<(String, String, Vec<(String, String)>)> {
    let reqs: Vec<Request> = server.received_requests().await.unwrap();
    reqs.iter()
        .map(|r| {
            (
                r.method.to_string(),
                r.url.path().to_owned(),
                r.url
                    .query_pairs()
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect(),
            )
        })
        .collect()
}

pub fn get(p: &str, query: &[(&str, &str)]) -> (String, String, Vec<(String, String)>) {
    (
        "GET".to_owned(),
        p.to_owned(),
        query
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    )
}

pub async fn mount_get(server: &MockServer, p: &str, body: Value) {
    mount_get_n(server, p, body, 1).await;
}

/// Answers `GET p` with `body`, expecting exactly `times` requests.
pub async fn mount_get_n(server: &MockServer, p: &str, body: Value, times: u64) {
    Mock::given(method("GET"))
        .and(path(p))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(times)
        .mount(server)
        .await;
}

/// A pipeline over the simulator, without client-side pacing.
pub fn sim_pipeline(sim: &Simulator) -> Pipeline {
    Pipeline::builder()
        .transport(Arc::new(sim.clone()))
        .credentials(sim.client_credentials())
        .throttle(ThrottleSettings::none())
        .build()
        .unwrap()
}

/// Runs `f` on the simulated tenant whose display name is `name`.
pub fn with_tenant<R>(sim: &Simulator, name: &str, f: impl FnOnce(&mut SimTenant) -> R) -> R {
    let mut st = sim.lock_state();
    let t = st
        .tenants
        .values_mut()
        .find(|t| t.display_name == name)
        .unwrap();
    f(t)
}

/// Reads the tenant's state and plans `templates` (with `bindings`).
pub async fn replan(graph: &TenantGraph, templates: &[Template], bindings: &[Binding]) -> Plan {
    let state = fetch_state(graph, templates).await.unwrap();
    plan(templates, &state, bindings, &PlanOptions::default()).unwrap()
}

/// Reads the tenant's state, plans `templates` (with `bindings`) and applies the plan.
pub async fn deploy(
    graph: &TenantGraph,
    templates: &[Template],
    bindings: &[Binding],
    options: &ApplyOptions,
) -> (Plan, ApplyReport) {
    let p = replan(graph, templates, bindings).await;
    let report = apply(graph, &p, options).await;
    (p, report)
}

/// Asserts that `o` is of variant `variant` (`Succeeded`, `Warning`, `Failed`, `Partial`…)
/// and that its message (with any failures) holds each of `parts`.
pub fn assert_outcome(o: &Outcome, variant: &str, parts: &[&str]) {
    let shown = format!("{o:?}");
    assert!(shown.starts_with(variant), "expected {variant}: {shown}");
    for p in parts {
        assert!(shown.contains(p), "{p:?} not in {shown}");
    }
}

/// A simulated tenant's Graph, by tenant id or domain.
pub fn tenant_graph(graph: &GraphClient, t: &str) -> TenantGraph {
    graph.tenant(&TenantId::parse(t).unwrap())
}

/// A Graph client over the simulator.
pub fn sim_graph(sim: &Simulator) -> GraphClient {
    GraphClient::new(sim_pipeline(sim))
}
