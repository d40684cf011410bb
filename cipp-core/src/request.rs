//! Requests as values, and buffered responses.
//!
//! Upper crates build an [`ApiRequest`] (a value that can be inspected in a unit test,
//! sent through the [`Pipeline`](crate::Pipeline), or put into a `$batch`) and read an
//! [`ApiResponse`].

use std::borrow::Cow;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::cloud::Audience;
use crate::error::{DecodeError, Error};
use crate::tenant::TenantId;

/// One request to a Microsoft service for one tenant, before authentication.
///
/// ```
/// use cipp_core::{ApiRequest, Audience, TenantId};
/// let t = TenantId::parse("contoso.onmicrosoft.com")?;
/// let r = ApiRequest::get(t, Audience::Graph, "/v1.0/users")
///     .query("$select", "id,displayName")
///     .query("$filter", "startswith(displayName,'A')");
/// assert_eq!(r.target(), "/v1.0/users?$select=id%2CdisplayName&$filter=startswith%28displayName%2C%27A%27%29");
/// assert_eq!(r.path(), "/v1.0/users");
/// # Ok::<(), cipp_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct ApiRequest {
    tenant: TenantId,
    audience: Audience,
    method: Method,
    target: String,
    headers: HeaderMap,
    body: Bytes,
    idempotent: bool,
    retry_not_found: bool,
    operation: Option<Cow<'static, str>>,
    deadline: Option<std::time::Duration>,
    bearer: Option<crate::auth::AccessToken>,
    workload: Option<(crate::throttle::Workload, Option<String>)>,
    error_reader: Option<ErrorReader>,
}

/// Refines an [`ApiError`](crate::ApiError) from the raw error body, for services whose
/// errors carry more than Graph's shape (the Exchange admin API's exception types).
pub type ErrorReader = fn(&mut crate::ApiError, &[u8]);

impl ApiRequest {
    /// A request for `target`: a path and query relative to the audience's base URL
    /// (`/v1.0/users?$top=5`), or an absolute URL on that host (a next link).
    pub fn new(
        tenant: TenantId,
        audience: Audience,
        method: Method,
        target: impl Into<String>,
    ) -> Self {
        let idempotent = !matches!(method, Method::POST | Method::PATCH);
        ApiRequest {
            tenant,
            audience,
            method,
            target: target.into(),
            headers: HeaderMap::new(),
            body: Bytes::new(),
            idempotent,
            retry_not_found: false,
            operation: None,
            deadline: None,
            bearer: None,
            workload: None,
            error_reader: None,
        }
    }

    /// A `GET`.
    pub fn get(tenant: TenantId, audience: Audience, target: impl Into<String>) -> Self {
        Self::new(tenant, audience, Method::GET, target)
    }

    /// A `POST`.
    pub fn post(tenant: TenantId, audience: Audience, target: impl Into<String>) -> Self {
        Self::new(tenant, audience, Method::POST, target)
    }

    /// A `PATCH`.
    pub fn patch(tenant: TenantId, audience: Audience, target: impl Into<String>) -> Self {
        Self::new(tenant, audience, Method::PATCH, target)
    }

    /// A `PUT`.
    pub fn put(tenant: TenantId, audience: Audience, target: impl Into<String>) -> Self {
        Self::new(tenant, audience, Method::PUT, target)
    }

    /// A `DELETE`.
    pub fn delete(tenant: TenantId, audience: Audience, target: impl Into<String>) -> Self {
        Self::new(tenant, audience, Method::DELETE, target)
    }

    /// Appends a query parameter; the value is percent-encoded, `$` in the name is kept.
    pub fn query(mut self, name: &str, value: &str) -> Self {
        let sep = if self.target.contains('?') { '&' } else { '?' };
        self.target.push(sep);
        self.target.push_str(&encode_component(name));
        self.target.push('=');
        self.target.push_str(&encode_component(value));
        self
    }

    /// Sets a header (replacing any previous value).
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.insert(name, value);
        self
    }

    /// Sets a JSON body and `Content-Type: application/json`.
    pub fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Result<Self, Error> {
        let bytes = serde_json::to_vec(body).map_err(|e| {
            Error::invalid_input("body", format!("cannot serialise the request body: {e}"))
        })?;
        self.body = Bytes::from(bytes);
        self.headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        Ok(self)
    }

    /// Sets a raw body (set the content type with [`ApiRequest::header`]).
    pub fn body(mut self, body: Bytes) -> Self {
        self.body = body;
        self
    }

    /// Declares whether sending the request twice is harmless. By default `GET`, `PUT`,
    /// `DELETE` and `HEAD` are, `POST` and `PATCH` are not; a PATCH that sets fixed values
    /// (`accountEnabled: false`) is idempotent by construction and may say so.
    ///
    /// A request that is not idempotent is resent only when the service said it did not
    /// act on it (429, 503 with `Retry-After`); after a 500/502/504 or a timeout after
    /// sending it is not resent, and the error says the outcome is unknown.
    pub fn idempotent(mut self, yes: bool) -> Self {
        self.idempotent = yes;
        self
    }

    /// Retries a 404 with backoff, for objects created moments ago that may not have
    /// replicated yet (Entra's eventual consistency).
    pub fn retry_not_found(mut self, yes: bool) -> Self {
        self.retry_not_found = yes;
        self
    }

    /// Sends the request with this token instead of one from the pipeline's credentials
    /// (a legacy connector's token obtained with its own secret). A 401 is then final:
    /// the pipeline cannot renew a token it did not issue.
    pub fn bearer(mut self, token: crate::auth::AccessToken) -> Self {
        self.bearer = Some(token);
        self
    }

    /// Declares the throttling family the request belongs to (and, for per-mailbox limits,
    /// the mailbox): the service crates declare it for their operations; undeclared
    /// requests are throttled by audience.
    pub fn workload(
        mut self,
        workload: crate::throttle::Workload,
        partition: Option<String>,
    ) -> Self {
        self.workload = Some((workload, partition));
        self
    }

    /// The declared workload, if any.
    pub fn declared_workload(&self) -> Option<&(crate::throttle::Workload, Option<String>)> {
        self.workload.as_ref()
    }

    /// Declares how to refine this request's error answers (see [`ErrorReader`]).
    pub fn error_reader(mut self, reader: ErrorReader) -> Self {
        self.error_reader = Some(reader);
        self
    }

    /// Builds the error for an error answer to this request: Graph's shape, refined by the
    /// request's [`ErrorReader`] when it declares one.
    pub fn read_error(
        &self,
        status: http::StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> crate::ApiError {
        let mut e = crate::ApiError::from_response(
            self.tenant.clone(),
            self.operation_name(),
            status,
            headers,
            body,
        );
        if let Some(read) = self.error_reader {
            read(&mut e, body);
        }
        e
    }

    /// The token set with [`ApiRequest::bearer`], if any.
    pub fn own_token(&self) -> Option<&crate::auth::AccessToken> {
        self.bearer.as_ref()
    }

    /// Bounds this call, retries and waits included (overrides the pipeline's deadline).
    pub fn deadline(mut self, deadline: std::time::Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// The deadline set with [`ApiRequest::deadline`], if any.
    pub fn deadline_override(&self) -> Option<std::time::Duration> {
        self.deadline
    }

    /// Names the logical operation for tracing (defaults to method and path).
    pub fn operation(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.operation = Some(name.into());
        self
    }

    /// The tenant.
    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }
    /// The audience.
    pub fn audience(&self) -> &Audience {
        &self.audience
    }
    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }
    /// The target as given (path and query, or absolute URL).
    pub fn target(&self) -> &str {
        &self.target
    }
    /// The path without the query string (safe to log).
    pub fn path(&self) -> &str {
        let t = self.target.as_str();
        let t = t.find('?').map_or(t, |q| &t[..q]);
        match t
            .strip_prefix("https://")
            .or_else(|| t.strip_prefix("http://"))
        {
            Some(rest) => rest.find('/').map_or("/", |j| &rest[j..]),
            None => t,
        }
    }
    /// The headers set on the request.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }
    /// The body.
    pub fn body_bytes(&self) -> &Bytes {
        &self.body
    }
    /// Whether the request may be retried when its outcome is unknown.
    pub fn is_idempotent(&self) -> bool {
        self.idempotent
    }
    /// Whether a 404 is retried (eventual consistency).
    pub fn retries_not_found(&self) -> bool {
        self.retry_not_found
    }
    /// The operation name for tracing and errors.
    pub fn operation_name(&self) -> String {
        match &self.operation {
            Some(o) => o.to_string(),
            None => format!("{} {}", self.method, self.path()),
        }
    }

    /// The same request aimed at another target (used to follow next links).
    pub fn with_target(mut self, target: impl Into<String>) -> Self {
        self.target = target.into();
        self
    }
}

/// Percent-encodes a query component, keeping unreserved characters and `$`.
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'$' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A buffered answer from a service.
#[derive(Clone, Debug)]
pub struct ApiResponse {
    /// The tenant the request was for.
    pub tenant: TenantId,
    /// The request's method.
    pub method: Method,
    /// The request's URI (its query may hold personal data: do not log it).
    pub uri: http::Uri,
    /// HTTP status.
    pub status: StatusCode,
    /// Response headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl ApiResponse {
    /// Decodes the body as JSON, naming the JSON path on failure.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        Ok(DecodeError::decode_lazy(
            Some(&self.tenant),
            || self.operation(),
            &self.body,
        )?)
    }

    /// The operation (method and path, no query), for messages.
    pub fn operation(&self) -> String {
        format!("{} {}", self.method, self.uri.path())
    }

    /// The `request-id` header.
    pub fn request_id(&self) -> Option<&str> {
        self.headers.get("request-id").and_then(|v| v.to_str().ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> TenantId {
        TenantId::parse("contoso.com").unwrap()
    }

    #[test]
    fn path_strips_query_and_host() {
        let r = ApiRequest::get(
            t(),
            Audience::Graph,
            "https://graph.microsoft.com/v1.0/users?$skiptoken=abc",
        );
        assert_eq!(r.path(), "/v1.0/users");
        let r = ApiRequest::get(t(), Audience::Graph, "/v1.0/users/a%40b.com?$select=id");
        assert_eq!(r.path(), "/v1.0/users/a%40b.com");
        assert_eq!(r.operation_name(), "GET /v1.0/users/a%40b.com");
    }

    #[test]
    fn idempotency_defaults_by_method() {
        assert!(ApiRequest::get(t(), Audience::Graph, "/x").is_idempotent());
        assert!(ApiRequest::delete(t(), Audience::Graph, "/x").is_idempotent());
        assert!(!ApiRequest::post(t(), Audience::Graph, "/x").is_idempotent());
        assert!(!ApiRequest::patch(t(), Audience::Graph, "/x").is_idempotent());
        assert!(ApiRequest::post(t(), Audience::Graph, "/x")
            .idempotent(true)
            .is_idempotent());
    }

    #[test]
    fn json_body_sets_content_type() {
        let r = ApiRequest::post(t(), Audience::Graph, "/v1.0/users")
            .json(&serde_json::json!({"a":1}))
            .unwrap();
        assert_eq!(r.body_bytes().as_ref(), br#"{"a":1}"#);
        assert_eq!(r.headers()["content-type"], "application/json");
    }

    #[test]
    fn query_encoding() {
        assert_eq!(encode_component("a b#c@d"), "a%20b%23c%40d");
    }
}
