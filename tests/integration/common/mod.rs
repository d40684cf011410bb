//! Setup shared by the facade's test binaries: a client on the demo simulator, and a
//! client on the real HTTP path to wiremock with one-line expectations. Each binary uses
//! part of it.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use cipp::core::{
    Credentials, Endpoints, ManualClock, ReqwestTransport, RetryPolicy, SecretString, Tenant,
    TenantId,
};
use cipp::sim::scenario::DEMO_PARTNER;
use cipp::sim::Simulator;
use cipp::Cipp;
use serde_json::Value;
use wiremock::{Mock, MockBuilder, MockServer, Respond, ResponseTemplate};

/// The demo scenario's manual clock, at 2026-11-27 09:00 UTC.
pub fn demo_clock() -> ManualClock {
    ManualClock::new("2026-11-27T09:00:00Z".parse().unwrap())
}

/// Where the client's fleet comes from.
pub enum Fleet {
    /// The partner tenant's contracts.
    Partner,
    /// The partner tenant's active GDAP relationships.
    Relationships,
}

/// The demo simulator (on `clock` when given) and a client of it whose fleet is `fleet`.
pub fn demo(clock: Option<&ManualClock>, fleet: Fleet) -> (Simulator, Cipp) {
    let sim = match clock {
        Some(c) => Simulator::demo_with_clock(Arc::new(c.clone())),
        None => Simulator::demo(),
    };
    let mut b = Cipp::builder()
        .transport(Arc::new(sim.clone()))
        .credentials(sim.demo_credentials());
    if let Some(c) = clock {
        b = b.clock(Arc::new(c.clone()));
    }
    let b = match fleet {
        Fleet::Partner => b.partner_tenant(DEMO_PARTNER),
        Fleet::Relationships => b.partner_tenant_relationships(DEMO_PARTNER),
    };
    (sim.clone(), b.unwrap().build().unwrap())
}

/// A wiremock server, a client of it with the static token `tok` and millisecond retries,
/// and its one tenant (contoso.onmicrosoft.com).
pub async fn wire() -> (MockServer, Cipp, TenantId) {
    let server = MockServer::start().await;
    let t = TenantId::parse("contoso.onmicrosoft.com").unwrap();
    let retry = RetryPolicy {
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(2),
        ..Default::default()
    };
    let transport = Arc::new(ReqwestTransport::new().unwrap());
    let token = Credentials::StaticToken(SecretString::from("tok"));
    let b = Cipp::builder().transport(transport).credentials(token);
    let b = b
        .endpoints(Endpoints::single_base(&server.uri()))
        .retry(retry);
    let cipp = b.tenants(vec![Tenant::new(t.clone())]).build().unwrap();
    (server, cipp, t)
}

/// Requests with method `m` to path `p`.
pub fn on(m: &str, p: &str) -> MockBuilder {
    use wiremock::matchers::{method, path};
    Mock::given(method(m)).and(path(p))
}

/// A JSON answer.
pub fn json(status: u16, body: Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(body)
}

/// Mounts `mock` answering `reply`, expected exactly `times` times.
pub async fn expect(
    server: &MockServer,
    mock: MockBuilder,
    reply: impl Respond + 'static,
    times: u64,
) {
    mock.respond_with(reply).expect(times).mount(server).await;
}

/// Mounts `mock` answering `reply` any number of times.
pub async fn serve(server: &MockServer, mock: MockBuilder, reply: impl Respond + 'static) {
    mock.respond_with(reply).mount(server).await;
}

/// How many POSTs `server` received.
pub async fn posts(server: &MockServer) -> usize {
    let requests = server.received_requests().await.unwrap();
    requests
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .count()
}
