//! Shared helpers for the wiremock and simulator tests.
//!
//! [`on`] mounts one exact expectation in a line:
//! `on(&server, "PATCH /v1.0/users/u1?$select=id").body(json!(..)).reply(204, Value::Null)`
//! matches the method, the path and every query parameter named, plus the headers and
//! JSON body added, and verifies when the server drops that it was called once ([`stub`]:
//! any number of times).
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use cipp_core::{
    Credentials, Endpoints, ManualClock, Pipeline, ReqwestTransport, RetryPolicy, SecretString,
    TenantId,
};
use cipp_graph::model::{NewUser, PasswordProfile};
use cipp_graph::users::UserRef;
use cipp_graph::{GraphClient, TenantGraph};
use cipp_sim::Simulator;
use serde_json::Value;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Match, Mock, MockBuilder, MockServer, Respond, ResponseTemplate};

pub fn tenant() -> TenantId {
    tid("contoso.onmicrosoft.com")
}

/// A tenant id from its name (tests only: the name is known to be valid).
pub fn tid(name: &str) -> TenantId {
    TenantId::parse(name).unwrap()
}

pub fn client_for(server: &MockServer) -> GraphClient {
    let quick = RetryPolicy {
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        ..RetryPolicy::default()
    };
    let token = Credentials::StaticToken(SecretString::from("test-token"));
    let builder = Pipeline::builder().endpoints(Endpoints::single_base(&server.uri()));
    let builder = builder.transport(Arc::new(ReqwestTransport::new().unwrap()));
    GraphClient::new(builder.credentials(token).retry(quick).build().unwrap())
}

pub async fn client() -> (MockServer, GraphClient) {
    let server = MockServer::start().await;
    let c = client_for(&server);
    (server, c)
}

/// A mock server and the client scoped to [`tenant`] (Contoso).
pub async fn contoso() -> (MockServer, TenantGraph) {
    let (server, graph) = client().await;
    (server, graph.tenant(&tenant()))
}

pub fn graph_error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(serde_json::json!({"error": {
        "code": code, "message": message,
        "innerError": {"date": "2026-11-27T10:00:00", "request-id": "rid-1", "client-request-id": "crid-1"}
    }}))
}

/// `status` with `body` as JSON; `Value::Null` means no body at all.
pub fn answer(status: u16, body: Value) -> ResponseTemplate {
    match body {
        Value::Null => ResponseTemplate::new(status),
        body => ResponseTemplate::new(status).set_body_json(body),
    }
}

/// One expectation on `server`: `route` is `"METHOD /path"` with an optional
/// `?name=value&name=value` query, each parameter matched exactly.
pub fn on<'a>(server: &'a MockServer, route: &str) -> Expect<'a> {
    let (verb, target) =
        route.split_once(' ').unwrap_or_else(|| panic!("route {route:?} is not `METHOD /path`"));
    let (p, query) = target.split_once('?').unwrap_or((target, ""));
    let mut mock = Mock::given(method(verb)).and(path(p));
    for pair in query.split('&').filter(|s| !s.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        mock = mock.and(query_param(k, v));
    }
    Expect { server, mock, times: Some(1), limit: None }
}

/// A stub on `server` (as [`on`]) answering any number of calls, verifying none: for
/// reads the operation under test may repeat.
pub fn stub<'a>(server: &'a MockServer, route: &str) -> Expect<'a> {
    Expect { times: None, ..on(server, route) }
}

/// The JSON body Graph takes to add a directory object by reference (`$ref`).
pub fn object_ref(server: &MockServer, id: &str) -> Value {
    serde_json::json!({ "@odata.id": format!("{}/v1.0/directoryObjects/{id}", server.uri()) })
}

/// A user by id or UPN.
pub fn user(id_or_upn: &str) -> UserRef {
    UserRef::parse(id_or_upn).unwrap()
}

/// An expectation being built by [`on`]; an answer method mounts it.
pub struct Expect<'a> {
    server: &'a MockServer,
    mock: MockBuilder,
    times: Option<u64>,
    limit: Option<u64>,
}

impl Expect<'_> {
    fn and(mut self, m: impl Match + 'static) -> Self {
        self.mock = self.mock.and(m);
        self
    }

    /// Also match a query parameter (for values holding `&`).
    pub fn query(self, name: &str, value: &str) -> Self {
        self.and(query_param(name, value))
    }

    /// Also match a request header.
    pub fn header(self, name: &str, value: &str) -> Self {
        self.and(header(name, value))
    }

    /// Also match the JSON body exactly.
    pub fn body(self, json: Value) -> Self {
        self.and(body_json(json))
    }

    /// Expect exactly `n` calls (the default is one).
    pub fn times(self, n: u64) -> Self {
        Expect { times: Some(n), ..self }
    }

    /// Answer at most `n` calls, verifying none, then let the next mock answer.
    pub fn first(self, n: u64) -> Self {
        Expect { limit: Some(n), times: None, ..self }
    }

    /// Mount with `status` and a JSON body (`Value::Null`: none).
    pub async fn reply(self, status: u16, body: Value) {
        self.respond(answer(status, body)).await
    }

    /// Mount with a Graph error body.
    pub async fn fail(self, status: u16, code: &str, message: &str) {
        self.respond(graph_error(status, code, message)).await
    }

    /// Mount with any responder.
    pub async fn respond(self, r: impl Respond + 'static) {
        let mut m = self.mock.respond_with(r);
        if let Some(n) = self.limit {
            m = m.up_to_n_times(n);
        }
        if let Some(n) = self.times {
            m = m.expect(n);
        }
        m.mount(self.server).await
    }
}

/// The JSON body of the last request received for a method and path.
pub async fn received(server: &MockServer, method: &str, path: &str) -> Value {
    let reqs = server.received_requests().await.unwrap();
    let r = reqs
        .iter()
        .rev()
        .find(|r| r.method.as_str() == method && r.url.path() == path)
        .unwrap_or_else(|| panic!("no {method} {path}"));
    serde_json::from_slice(&r.body).unwrap_or(Value::Null)
}

/// The JSON bodies of every request received with `method`, in order.
pub async fn bodies(server: &MockServer, method: &str) -> Vec<Value> {
    let reqs = server.received_requests().await.unwrap();
    reqs.iter()
        .filter(|r| r.method.as_str() == method)
        .map(|r| serde_json::from_slice(&r.body).unwrap_or(Value::Null))
        .collect()
}

/// How many requests the server received.
pub async fn sent(server: &MockServer) -> usize {
    server.received_requests().await.unwrap().len()
}

/// Asserts the server received no request.
pub async fn nothing_sent(server: &MockServer) {
    assert_eq!(sent(server).await, 0, "nothing was sent");
}

/// The `id` strings of a JSON array (a `$batch` body's `requests`, a page's `value`).
pub fn ids(items: &Value) -> Vec<&str> {
    items.as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect()
}

/// A new, enabled user who must change `password` at first sign-in; the mail nickname is
/// the UPN's local part.
pub fn new_user(display: &str, upn: &str, password: &str, usage: Option<&str>) -> NewUser {
    NewUser {
        account_enabled: true,
        display_name: display.into(),
        mail_nickname: upn.split('@').next().unwrap_or(upn).into(),
        user_principal_name: upn.into(),
        password_profile: PasswordProfile {
            force_change_password_next_sign_in: true,
            password: SecretString::from(password),
        },
        usage_location: usage.map(str::to_owned),
        given_name: None,
        surname: None,
        job_title: None,
        department: None,
        extra: Default::default(),
    }
}

/// The demo simulator at 2026-11-27T09:00Z, a client through it, and its clock.
pub fn demo() -> (Simulator, GraphClient, ManualClock) {
    let clock = ManualClock::new("2026-11-27T09:00:00Z".parse().unwrap());
    let sim = Simulator::demo_with_clock(Arc::new(clock.clone()));
    let graph = GraphClient::new(sim_pipeline(&sim));
    (sim, graph, clock)
}

/// A pipeline straight to `sim` with its demo credentials.
pub fn sim_pipeline(sim: &Simulator) -> Pipeline {
    Pipeline::builder()
        .transport(Arc::new(sim.clone()))
        .credentials(sim.demo_credentials())
        .build()
        .unwrap()
}
