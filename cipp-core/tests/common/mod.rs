//! Setup shared by cipp-core's test binaries: pipelines over the in-memory transport or
//! over reqwest against wiremock, one-line wiremock expectations, and a trace capture.
//! Each binary uses part of it.
#![allow(dead_code)]

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cipp_core::test_util::{FakeTokenProvider, MockResponse, MockTransport};
use cipp_core::{
    ApiRequest, ApiResponse, Audience, Credentials, Endpoints, Error, Pipeline, ReqwestTransport,
    RetryPolicy, SecretString, TenantId, ThrottleSettings,
};
use futures::StreamExt;
use serde_json::Value;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockBuilder, MockServer, Request, Respond, ResponseTemplate};

/// A tenant id from a literal.
pub fn tenant_id(s: &str) -> TenantId {
    TenantId::parse(s).unwrap()
}

/// A Graph GET for `tenant` and `p`.
pub fn graph_get(tenant: &str, p: &str) -> ApiRequest {
    ApiRequest::get(tenant_id(tenant), Audience::Graph, p)
}

/// `n` concurrent GETs of `tenant`'s organization over `p`.
pub async fn burst(p: &Pipeline, tenant: &str, n: usize) -> Vec<Result<ApiResponse, Error>> {
    futures::stream::iter(0..n)
        .map(|_| {
            let p = p.clone();
            let req = graph_get(tenant, "/v1.0/organization");
            async move { p.send(req).await }
        })
        .buffer_unordered(n)
        .collect()
        .await
}

/// A retry policy without jitter, starting at `base`.
pub fn no_jitter(base: Duration) -> RetryPolicy {
    RetryPolicy {
        jitter: false,
        base_delay: base,
        ..RetryPolicy::default()
    }
}

/// A retry policy whose waits are a few milliseconds (for real-time wiremock tests).
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        ..RetryPolicy::default()
    }
}

/// A pipeline over the in-memory transport with fake tokens and no throttling.
pub fn mock_pipeline(mock: &Arc<MockTransport>, retry: RetryPolicy) -> Pipeline {
    Pipeline::builder()
        .transport(mock.clone())
        .credentials(Credentials::Provider(Arc::new(FakeTokenProvider::new())))
        .retry(retry)
        .throttle(ThrottleSettings::none())
        .build()
        .unwrap()
}

/// An in-memory transport answering the routes, in order, with their responses.
pub fn scripted<'a>(
    routes: impl IntoIterator<Item = (&'a str, &'a str, MockResponse)>,
) -> Arc<MockTransport> {
    let mock = Arc::new(MockTransport::new());
    for (m, p, response) in routes {
        mock.on(m, p, response);
    }
    mock
}

/// A `{"value": []}` 200 answer of the in-memory transport.
pub fn empty_list() -> MockResponse {
    MockResponse::json(200, &serde_json::json!({"value": []}))
}

/// A pipeline over reqwest to `server` with `credentials` and [`fast_retry`].
pub fn wire_pipeline(server: &MockServer, credentials: Credentials) -> Pipeline {
    Pipeline::builder()
        .transport(Arc::new(ReqwestTransport::new().unwrap()))
        .endpoints(Endpoints::single_base(&server.uri()))
        .retry(fast_retry())
        .credentials(credentials)
        .build()
        .unwrap()
}

/// The app's client-secret credentials (secret `sup3r-secret`).
pub fn client_secret() -> Credentials {
    Credentials::ClientSecret {
        client_id: "app-id".into(),
        secret: SecretString::from("sup3r-secret"),
    }
}

/// The token endpoint's success answer.
pub fn token_ok(token: &str, expires_in: u64) -> ResponseTemplate {
    json(
        200,
        serde_json::json!({
            "token_type": "Bearer", "expires_in": expires_in, "ext_expires_in": expires_in,
            "access_token": token
        }),
    )
}

/// A JSON answer.
pub fn json(status: u16, body: Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(body)
}

/// A `{"value": []}` 200 answer.
pub fn empty_page() -> ResponseTemplate {
    json(200, serde_json::json!({"value": []}))
}

/// Requests with method `m` to path `p`.
pub fn on(m: &str, p: &str) -> MockBuilder {
    Mock::given(method(m)).and(path(p))
}

/// The `authorization` header carrying `token`.
pub fn bearer(token: &str) -> wiremock::matchers::HeaderExactMatcher {
    header("authorization", format!("Bearer {token}").as_str())
}

/// Mounts `mock` answering `reply`, expected exactly `times` times.
pub async fn expect(server: &MockServer, mock: MockBuilder, reply: ResponseTemplate, times: u64) {
    mock.respond_with(reply).expect(times).mount(server).await;
}

/// Mounts `mock` answering `reply` any number of times.
pub async fn serve(server: &MockServer, mock: MockBuilder, reply: impl Respond + 'static) {
    mock.respond_with(reply).mount(server).await;
}

/// Mounts `mock` answering `reply` for its first `n` matches only.
pub async fn first(server: &MockServer, mock: MockBuilder, reply: ResponseTemplate, n: u64) {
    mock.respond_with(reply)
        .up_to_n_times(n)
        .mount(server)
        .await;
}

/// A server whose token endpoint (any POST) hands out `token`.
pub async fn server_with_token(token: &str) -> MockServer {
    let server = MockServer::start().await;
    serve(&server, Mock::given(method("POST")), token_ok(token, 3600)).await;
    server
}

/// The text of `req`'s header `name` (empty when absent).
pub fn header_text(req: &Request, name: &str) -> String {
    let value = req.headers.get(name).and_then(|v| v.to_str().ok());
    value.unwrap_or_default().to_owned()
}

/// How many requests `server` received.
pub async fn received(server: &MockServer) -> usize {
    server.received_requests().await.unwrap().len()
}

/// A writer collecting what a tracing subscriber prints.
#[derive(Clone, Default)]
pub struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs `f` on a current-thread runtime under a TRACE subscriber and returns the trace
/// text (span closes included).
pub fn traced(f: impl FnOnce(&tokio::runtime::Runtime)) -> String {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        f(&rt);
    });
    let out = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    out
}
