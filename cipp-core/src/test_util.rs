//! Test helpers for integrators: a scriptable in-memory transport and a fake token
//! provider (feature `test-util`).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), cipp_core::Error> {
//! use std::sync::Arc;
//! use cipp_core::test_util::{MockResponse, MockTransport, FakeTokenProvider};
//! use cipp_core::{ApiRequest, Audience, Credentials, Pipeline, TenantId};
//! let mock = Arc::new(MockTransport::new());
//! mock.on("GET", "/v1.0/users/u1", MockResponse::json(200, &serde_json::json!({"id": "u1"})));
//! let pipeline = Pipeline::builder()
//!     .transport(mock.clone())
//!     .credentials(Credentials::Provider(Arc::new(FakeTokenProvider::new())))
//!     .build()?;
//! let t = TenantId::parse("contoso.com")?;
//! let user: serde_json::Value = pipeline.send_json(ApiRequest::get(t, Audience::Graph, "/v1.0/users/u1")).await?;
//! assert_eq!(user["id"], "u1");
//! assert_eq!(mock.requests().len(), 1);
//! # Ok(()) }
//! ```

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{Duration as ChronoDuration, Utc};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};

use crate::auth::{AccessToken, TokenProvider};
use crate::cloud::Audience;
use crate::error::{Error, RequestSent, TransportError, TransportErrorKind};
use crate::tenant::TenantId;
use crate::transport::{HttpRequest, HttpResponse, Transport};

/// A scripted answer.
#[derive(Clone, Debug)]
pub enum MockResponse {
    /// An HTTP response.
    Http {
        /// Status.
        status: StatusCode,
        /// Headers.
        headers: HeaderMap,
        /// Body.
        body: Bytes,
    },
    /// A transport failure.
    Fail {
        /// What failed.
        kind: TransportErrorKind,
        /// Whether the request may have been sent.
        sent: RequestSent,
    },
}

impl MockResponse {
    /// A JSON response.
    pub fn json(status: u16, body: &serde_json::Value) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        MockResponse::Http {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            headers,
            body: Bytes::from(body.to_string()),
        }
    }

    /// An empty response with a status.
    pub fn status(status: u16) -> Self {
        MockResponse::Http {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            headers: HeaderMap::new(),
            body: Bytes::new(),
        }
    }

    /// A raw body with a status.
    pub fn raw(status: u16, body: impl Into<Bytes>) -> Self {
        MockResponse::Http {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            headers: HeaderMap::new(),
            body: body.into(),
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &'static str, value: &str) -> Self {
        if let MockResponse::Http { headers, .. } = &mut self {
            if let Ok(v) = HeaderValue::from_str(value) {
                headers.insert(HeaderName::from_static(name), v);
            }
        }
        self
    }

    /// A transport failure.
    pub fn fail(kind: TransportErrorKind, sent: RequestSent) -> Self {
        MockResponse::Fail { kind, sent }
    }

    /// The answer as a transport would give it.
    pub fn into_http(self) -> Result<HttpResponse, TransportError> {
        match self {
            MockResponse::Http {
                status,
                headers,
                body,
            } => {
                let mut r = http::Response::new(body);
                *r.status_mut() = status;
                *r.headers_mut() = headers;
                Ok(r)
            }
            MockResponse::Fail { kind, sent } => {
                Err(TransportError::new(kind, sent, "scripted failure"))
            }
        }
    }
}

/// A request the mock received.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    /// Method.
    pub method: Method,
    /// Full URI.
    pub uri: String,
    /// Path without query.
    pub path: String,
    /// Query string, if any.
    pub query: Option<String>,
    /// Headers (including `Authorization`: keep recordings out of logs).
    pub headers: HeaderMap,
    /// Body.
    pub body: Bytes,
}

impl RecordedRequest {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// An in-memory transport: routes (method + path) answer from queues of scripted
/// responses, the last one repeating; every request is recorded. An unmatched route is
/// answered with a loud Graph-shaped 404 that names it.
#[derive(Debug, Default)]
pub struct MockTransport {
    routes: Mutex<HashMap<(Method, String), VecDeque<MockResponse>>>,
    requests: Mutex<Vec<RecordedRequest>>,
}

impl MockTransport {
    /// An empty mock.
    pub fn new() -> Self {
        MockTransport::default()
    }

    /// Queues `response` for `method` and `path` (path without query string).
    pub fn on(&self, method: &str, path: &str, response: MockResponse) -> &Self {
        let method = Method::from_bytes(method.as_bytes()).unwrap_or(Method::GET);
        self.routes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry((method, path.to_owned()))
            .or_default()
            .push_back(response);
        self
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Requests received for a path.
    pub fn requests_to(&self, path: &str) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }
}

#[async_trait]
impl Transport for MockTransport {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let (parts, body) = request.into_parts();
        let path = parts.uri.path().to_owned();
        self.requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(RecordedRequest {
                method: parts.method.clone(),
                uri: parts.uri.to_string(),
                path: path.clone(),
                query: parts.uri.query().map(str::to_owned),
                headers: parts.headers.clone(),
                body,
            });
        let scripted = {
            let mut routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
            routes
                .get_mut(&(parts.method.clone(), path.clone()))
                .and_then(|q| {
                    if q.len() > 1 {
                        q.pop_front()
                    } else {
                        q.front().cloned()
                    }
                })
        };
        let response = scripted.unwrap_or_else(|| {
            MockResponse::json(
                404,
                &serde_json::json!({"error": {
                    "code": "MockRouteNotFound",
                    "message": format!("MockTransport: no route scripted for {} {}", parts.method, path),
                }}),
            )
        });
        response.into_http()
    }
}

/// A token provider that hands out `fake-{tenant}-{audience}-{n}` tokens valid for an hour
/// (from the real clock) and counts its calls.
#[derive(Debug, Default)]
pub struct FakeTokenProvider {
    calls: AtomicU64,
    lifetime_secs: Option<i64>,
    clock: Option<std::sync::Arc<dyn crate::Clock>>,
}

impl FakeTokenProvider {
    /// A provider of one-hour tokens.
    pub fn new() -> Self {
        FakeTokenProvider::default()
    }

    /// Tokens valid for `secs` seconds after `clock`'s now.
    pub fn with_lifetime(clock: std::sync::Arc<dyn crate::Clock>, secs: i64) -> Self {
        FakeTokenProvider {
            calls: AtomicU64::new(0),
            lifetime_secs: Some(secs),
            clock: Some(clock),
        }
    }

    /// How many tokens were handed out.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl TokenProvider for FakeTokenProvider {
    async fn token(&self, tenant: &TenantId, audience: &Audience) -> Result<AccessToken, Error> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        // Yield so that concurrent callers really overlap.
        tokio::task::yield_now().await;
        let now = self.clock.as_ref().map_or_else(Utc::now, |c| c.now());
        Ok(AccessToken::new(
            format!("fake-{tenant}-{audience}-{n}"),
            now + ChronoDuration::seconds(self.lifetime_secs.unwrap_or(3600)),
        ))
    }
    fn name(&self) -> &str {
        "fake"
    }
}

/// An operation-level mock: answers requests by their operation name (`get user`,
/// `create conditional access policy`, `Set-Mailbox`, … — the name errors show, and
/// [`ApiRequest::operation_name`](crate::ApiRequest::operation_name) gives) instead of by
/// URL, and records the operations called. Plug it in with
/// [`PipelineBuilder::intercept`](crate::PipelineBuilder::intercept); answers still go
/// through retries, error mapping and the operation's own decoder.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), cipp_core::Error> {
/// use std::sync::Arc;
/// use cipp_core::test_util::{FakeTokenProvider, OperationMock};
/// use cipp_core::{ApiRequest, Audience, Credentials, Pipeline, TenantId};
/// let mock = Arc::new(OperationMock::new());
/// mock.then_output("get user", &serde_json::json!({"id": "u1", "displayName": "Adele"}));
/// let pipeline = Pipeline::builder()
///     .intercept(mock.clone())
///     .credentials(Credentials::Provider(Arc::new(FakeTokenProvider::new())))
///     .build()?;
/// let t = TenantId::parse("contoso.com")?;
/// let req = ApiRequest::get(t, Audience::Graph, "/v1.0/users/u1").operation("get user");
/// let user: serde_json::Value = pipeline.send_json(req).await?;
/// assert_eq!(user["displayName"], "Adele");
/// assert_eq!(mock.calls(), ["get user"]);
/// # Ok(()) }
/// ```
#[derive(Debug, Default)]
pub struct OperationMock {
    answers: Mutex<HashMap<String, VecDeque<MockResponse>>>,
    calls: Mutex<Vec<crate::ApiRequest>>,
    passthrough: bool,
}

impl OperationMock {
    /// A mock that answers unscripted operations with a Graph-shaped 404 naming them.
    pub fn new() -> Self {
        OperationMock::default()
    }

    /// A mock that sends unscripted operations on to the transport.
    pub fn passthrough() -> Self {
        OperationMock {
            passthrough: true,
            ..OperationMock::default()
        }
    }

    /// Queues `response` for `operation` (the last one repeats).
    pub fn on(&self, operation: &str, response: MockResponse) -> &Self {
        self.answers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(operation.to_owned())
            .or_default()
            .push_back(response);
        self
    }

    /// Answers `operation` with `output` as JSON (200).
    pub fn then_output<T: serde::Serialize>(&self, operation: &str, output: &T) -> &Self {
        let value = serde_json::to_value(output).unwrap_or(serde_json::Value::Null);
        self.on(operation, MockResponse::json(200, &value))
    }

    /// Answers `operation` with a Graph-shaped error.
    pub fn then_error(&self, operation: &str, status: u16, code: &str, message: &str) -> &Self {
        self.on(
            operation,
            MockResponse::json(
                status,
                &serde_json::json!({"error": {"code": code, "message": message}}),
            ),
        )
    }

    /// The operations called so far, in order.
    pub fn calls(&self) -> Vec<String> {
        self.calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(crate::ApiRequest::operation_name)
            .collect()
    }

    /// The requests of the operations called so far (to assert bodies and targets).
    pub fn requests(&self) -> Vec<crate::ApiRequest> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl crate::pipeline::Interceptor for OperationMock {
    fn intercept(
        &self,
        request: &crate::ApiRequest,
    ) -> Option<Result<HttpResponse, TransportError>> {
        let name = request.operation_name();
        let scripted = {
            let mut answers = self.answers.lock().unwrap_or_else(|p| p.into_inner());
            answers.get_mut(&name).and_then(|q| {
                if q.len() > 1 {
                    q.pop_front()
                } else {
                    q.front().cloned()
                }
            })
        };
        if scripted.is_none() && self.passthrough {
            return None;
        }
        self.calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(request.clone());
        let response = scripted.unwrap_or_else(|| {
            MockResponse::json(
                404,
                &serde_json::json!({"error": {
                    "code": "MockOperationNotFound",
                    "message": format!("OperationMock: no answer scripted for operation `{name}`"),
                }}),
            )
        });
        Some(response.into_http())
    }
}
