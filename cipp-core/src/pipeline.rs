//! The request pipeline: authentication, request ids, retries, throttle isolation and
//! tracing over a [`Transport`].

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::{HeaderValue, StatusCode};
use secrecy::SecretString;
use tracing::Instrument;

use crate::auth::{
    AccessToken, ClientSecretCredential, PartnerRefreshToken, StaticToken, TokenCache,
    TokenEndpoint, TokenProvider,
};
use crate::clock::{Clock, SystemClock};
use crate::cloud::Endpoints;
use crate::error::TransportError;
use crate::error::{Error, RequestSent};
use crate::request::{ApiRequest, ApiResponse};
use crate::throttle::{ThrottleGovernor, ThrottleSettings, Workload};
use crate::transport::{BodyChunks, ParsedUrl, ReqwestTransport, Transport};

pub use crate::retry::{
    parse_retry_after, resend_decision, Resend, RetryPolicy, DEFAULT_DEADLINE, MAX_RETRY_AFTER,
};

/// Answers requests by what they are (their [operation](ApiRequest::operation_name)),
/// before the transport: the seam for operation-level mocks
/// (`test_util::OperationMock` with the `test-util` feature). An intercepted
/// answer goes through the same retries, error mapping and decoding as a real one.
pub trait Interceptor: Send + Sync + 'static {
    /// An answer for `request`, or `None` to send it through the transport.
    fn intercept(
        &self,
        request: &ApiRequest,
    ) -> Option<Result<crate::transport::HttpResponse, crate::error::TransportError>>;
}

/// Credentials the pipeline turns into a token provider.
#[non_exhaustive]
pub enum Credentials {
    /// One token for every tenant and audience.
    StaticToken(SecretString),
    /// App-only client credentials in each tenant.
    ClientSecret {
        /// The application (client) id.
        client_id: String,
        /// The client secret.
        secret: SecretString,
    },
    /// The partner refresh token of the Secure Application Model.
    PartnerRefreshToken {
        /// The partner application (client) id.
        client_id: String,
        /// The partner application's secret.
        secret: SecretString,
        /// The partner user's refresh token.
        refresh_token: SecretString,
    },
    /// Any provider.
    Provider(Arc<dyn TokenProvider>),
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::StaticToken(_) => f.write_str("Credentials::StaticToken([REDACTED])"),
            Credentials::ClientSecret { client_id, .. } => {
                let name = "Credentials::ClientSecret";
                crate::redact::debug_app_credential(f, name, client_id, &["secret"])
            }
            Credentials::PartnerRefreshToken { client_id, .. } => {
                let name = "Credentials::PartnerRefreshToken";
                let secrets = ["secret", "refresh_token"];
                crate::redact::debug_app_credential(f, name, client_id, &secrets)
            }
            Credentials::Provider(p) => write!(f, "Credentials::Provider({})", p.name()),
        }
    }
}

/// Builds a [`Pipeline`].
#[derive(Debug, Default)]
pub struct PipelineBuilder {
    transport: Option<Arc<dyn Transport>>,
    credentials: Option<Credentials>,
    endpoints: Option<Endpoints>,
    retry: Option<RetryPolicy>,
    throttle: Option<ThrottleSettings>,
    clock: Option<Arc<dyn Clock>>,
    token_skew: Option<Duration>,
    token_failure_ttl: Option<Duration>,
    deadline: Option<Duration>,
    log_personal_data: bool,
    interceptor: Option<Arc<dyn Interceptor>>,
}

impl fmt::Debug for dyn Interceptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("dyn Interceptor")
    }
}

impl fmt::Debug for dyn Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("dyn Transport")
    }
}

/// Builder methods from a table, for the workspace's builders (not a supported API).
///
/// `set` arm: `name(field: Type);` makes `fn name(self, value: Type) -> Self` storing
/// `Some(value)` in `self.field`. `via` arm: `via inner; name(Type);` makes
/// `fn name(self, value: Type) -> Self` handing the value on to the `name` method of the
/// builder in `self.inner`. Doc comments written above an entry go on its method.
#[doc(hidden)]
#[macro_export]
macro_rules! builder_methods {
    (set $($(#[$doc:meta])* $name:ident($field:ident: $arg:ty);)*) => {$(
        $(#[$doc])*
        pub fn $name(mut self, value: $arg) -> Self {
            self.$field = Some(value);
            self
        }
    )*};
    (via $inner:ident; $($(#[$doc:meta])* $name:ident($arg:ty);)*) => {$(
        $(#[$doc])*
        pub fn $name(mut self, value: $arg) -> Self {
            self.$inner = self.$inner.$name(value);
            self
        }
    )*};
}

impl PipelineBuilder {
    crate::builder_methods! { set
        /// The transport (default: [`ReqwestTransport`]).
        transport(transport: Arc<dyn Transport>);
        /// The credentials (required).
        credentials(credentials: Credentials);
        /// The endpoints (default: the global cloud).
        endpoints(endpoints: Endpoints);
        /// The retry policy.
        retry(retry: RetryPolicy);
        /// Client-side throttle caps (default: [`ThrottleSettings::documented`]).
        throttle(throttle: ThrottleSettings);
        /// The clock used for token expiry (default: the system clock).
        clock(clock: Arc<dyn Clock>);
        /// How long before expiry a cached token is renewed (default 5 minutes).
        token_refresh_skew(token_skew: Duration);
        /// How long a failed token request is remembered (default 10 s): callers asking for
        /// the same tenant and audience meanwhile get the same error at once instead of
        /// sending the token endpoint a request each (a dead refresh token and a burst of
        /// 1,000 calls make one token request). `Duration::ZERO` remembers a failure only for
        /// the callers that were already waiting on it.
        token_failure_ttl(token_failure_ttl: Duration);
        /// The most time one call may take, its retries and their waits included (default
        /// [`DEFAULT_DEADLINE`]); [`ApiRequest::deadline`] overrides it for one request.
        deadline(deadline: Duration);
        /// Answers requests before the transport (an operation-level mock).
        intercept(interceptor: Arc<dyn Interceptor>);
    }

    /// Whether the `cipp.request` span logs request paths as they are. By default
    /// (`false`) object ids and user principal names in paths are replaced by `{id}` and
    /// `{upn}`, so logs hold no personal data.
    pub fn log_personal_data(mut self, yes: bool) -> Self {
        self.log_personal_data = yes;
        self
    }

    /// Builds the pipeline.
    pub fn build(self) -> Result<Pipeline, Error> {
        let transport: Arc<dyn Transport> = match self.transport {
            Some(t) => t,
            None => Arc::new(ReqwestTransport::new()?),
        };
        let endpoints = self.endpoints.unwrap_or_default();
        let clock: Arc<dyn Clock> = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let credentials = self.credentials.ok_or_else(|| {
            Error::Config(
                "no credentials: give a partner refresh token, app credentials or a token provider"
                    .into(),
            )
        })?;
        let retry = self.retry.unwrap_or_default();
        let endpoint = TokenEndpoint::new(transport.clone(), endpoints.clone(), clock.clone())
            .with_retry(retry.clone());
        let provider: Arc<dyn TokenProvider> = match credentials {
            Credentials::StaticToken(t) => Arc::new(StaticToken::new(t)),
            Credentials::ClientSecret { client_id, secret } => Arc::new(
                ClientSecretCredential::new(endpoint.clone(), client_id, secret),
            ),
            Credentials::PartnerRefreshToken {
                client_id,
                secret,
                refresh_token,
            } => Arc::new(PartnerRefreshToken::new(
                endpoint.clone(),
                client_id,
                secret,
                refresh_token,
            )),
            Credentials::Provider(p) => p,
        };
        let tokens = TokenCache::new(
            provider,
            clock.clone(),
            self.token_skew.unwrap_or(Duration::from_secs(300)),
        )
        .with_failure_ttl(self.token_failure_ttl.unwrap_or(Duration::from_secs(10)));
        Ok(Pipeline {
            inner: Arc::new(Inner {
                transport,
                tokens,
                token_endpoint: endpoint,
                endpoints,
                retry,
                clock,
                throttle: ThrottleGovernor::new(self.throttle.unwrap_or_default()),
                deadline: self.deadline.unwrap_or(DEFAULT_DEADLINE),
                log_personal_data: self.log_personal_data,
                interceptor: self.interceptor,
            }),
            background: None,
        })
    }
}

struct Inner {
    transport: Arc<dyn Transport>,
    tokens: TokenCache,
    token_endpoint: TokenEndpoint,
    endpoints: Endpoints,
    retry: RetryPolicy,
    clock: Arc<dyn Clock>,
    throttle: ThrottleGovernor,
    deadline: Duration,
    log_personal_data: bool,
    interceptor: Option<Arc<dyn Interceptor>>,
}

/// Sends [`ApiRequest`]s with authentication, request ids, retries and throttle isolation.
/// Cheap to clone; clones share the token cache and throttle state.
#[derive(Clone)]
pub struct Pipeline {
    inner: Arc<Inner>,
    background: Option<Duration>,
}

impl fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field("endpoints", &self.inner.endpoints)
            .field("retry", &self.inner.retry)
            .field("background", &self.background)
            .finish_non_exhaustive()
    }
}

pub use crate::transport::USER_AGENT;

impl Pipeline {
    /// Starts building a pipeline.
    pub fn builder() -> PipelineBuilder {
        PipelineBuilder::default()
    }

    /// The endpoints requests are sent to.
    pub fn endpoints(&self) -> &Endpoints {
        &self.inner.endpoints
    }

    /// The token endpoint (with the pipeline's transport, cloud, clock and retry policy),
    /// for the few tokens that are not the partner's: a connector token obtained with a
    /// temporary app secret, say.
    pub fn token_endpoint(&self) -> &TokenEndpoint {
        &self.inner.token_endpoint
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// Records that the service throttled what `request` targets for `delay` (a 429
    /// answered for one item of a `$batch`): later requests of that tenant and workload
    /// wait it out, as after a 429 answered to the request itself.
    pub(crate) fn record_throttle_of(&self, request: &ApiRequest, delay: Duration) {
        let (workload, partition) = Workload::of(request);
        self.inner.throttle.record_throttle(
            request.tenant(),
            workload,
            partition.as_deref(),
            delay,
        );
    }

    /// The token cache (for diagnostics such as [`TokenCache::provider_requests`]).
    pub fn tokens(&self) -> &TokenCache {
        &self.inner.tokens
    }

    /// A clone in background mode: a wait longer than `threshold` (for a 429 or a
    /// throttled key) returns [`Error::Throttled`] instead of sleeping, so a scheduler can
    /// serve other tenants meanwhile.
    pub fn background(&self, threshold: Duration) -> Pipeline {
        Pipeline {
            inner: self.inner.clone(),
            background: Some(threshold),
        }
    }

    /// Resolves a request's target to an absolute URL, refusing absolute URLs on another
    /// host than the audience's (a token is never sent elsewhere).
    pub fn resolve_url(&self, request: &ApiRequest) -> Result<String, Error> {
        let target = request.target();
        match self.inner.endpoints.base_url(request.audience()) {
            Some(base) => {
                if target.starts_with("https://") || target.starts_with("http://") {
                    if same_origin(base, target) {
                        Ok(target.to_owned())
                    } else {
                        Err(Error::Paging {
                            tenant: request.tenant().clone(),
                            message: format!(
                                "refused to send a {} token to another host than {base}",
                                request.audience()
                            ),
                        })
                    }
                } else if target.starts_with('/') {
                    Ok(format!("{}{}", base.trim_end_matches('/'), target))
                } else {
                    Err(Error::invalid_input(
                        "target",
                        "a request target must start with `/` or be an absolute URL",
                    ))
                }
            }
            None if target.starts_with("https://") || target.starts_with("http://") => {
                Ok(target.to_owned())
            }
            None => Err(Error::invalid_input(
                "target",
                format!(
                    "audience {} has no base URL: give an absolute URL",
                    request.audience()
                ),
            )),
        }
    }

    /// Sends a request and returns a successful (2xx/3xx) response, retrying as the policy
    /// allows. Any other status becomes [`Error::Api`].
    ///
    /// A write that is not idempotent (see [`ApiRequest::idempotent`]) is resent only when
    /// the service said it did not act on it: 429, and 503 with `Retry-After`. After a
    /// 500, 502 or 504, or a timeout after sending, it is not resent and the error says
    /// so ([`Error::outcome_unknown`]). The whole call, retries included, is bounded by
    /// the deadline ([`PipelineBuilder::deadline`], [`ApiRequest::deadline`]).
    pub async fn send(&self, request: ApiRequest) -> Result<ApiResponse, Error> {
        self.send_within_deadline(&request, false)
            .await
            .map(Answer::buffered)
    }

    /// Like [`Pipeline::send`], but returns a successful response as soon as its status
    /// and headers have arrived; its body is read from [`Streamed::chunks`] as it arrives
    /// (with [`Transport::send_streamed`]). Retries, token refresh and throttling are
    /// those of [`Pipeline::send`] up to the response head; an error status's body is
    /// read whole, as `send` does. The deadline covers the wait for the head; reading the
    /// body is bounded by the transport's own timeout.
    pub async fn send_streamed(&self, request: ApiRequest) -> Result<Streamed, Error> {
        self.send_within_deadline(&request, true)
            .await
            .map(Answer::streamed)
    }

    /// [`Pipeline::send_inner`] inside the request's span and within its deadline.
    async fn send_within_deadline(
        &self,
        request: &ApiRequest,
        stream: bool,
    ) -> Result<Answer, Error> {
        // Formatted only when a subscriber records the span: no cost otherwise.
        let path = crate::redact::PathDisplay {
            path: request.path(),
            personal_data: self.inner.log_personal_data,
        };
        let span = tracing::info_span!(
            "cipp.request",
            tenant = %request.tenant(),
            method = %request.method(),
            path = %path,
            status = tracing::field::Empty,
            attempts = tracing::field::Empty,
        );
        let deadline = request.deadline_override().unwrap_or(self.inner.deadline);
        let sent = self.send_inner(request, stream).instrument(span);
        match tokio::time::timeout(deadline, sent).await {
            Ok(answer) => answer,
            Err(_) => Err(deadline_error(request, deadline)),
        }
    }

    async fn send_inner(&self, request: &ApiRequest, stream: bool) -> Result<Answer, Error> {
        let url = self.resolve_url(request)?;
        let uri: http::Uri = url.parse().map_err(|_| {
            Error::invalid_input("target", format!("`{}` is not a valid URL", request.path()))
        })?;
        let parsed = url::Url::parse(&url).ok();
        let (workload, partition) = Workload::of(request);
        let policy = &self.inner.retry;
        let mut backoff = policy.backoff();
        let mut waited = Duration::ZERO;
        let mut attempt: u32 = 0;
        let mut refreshed = false;
        let mut stale_token: Option<AccessToken> = None;
        let client_request_id = new_client_request_id();
        let tenant = request.tenant().clone();
        loop {
            attempt += 1;
            let _admission = self
                .inner
                .throttle
                .admit(
                    &tenant,
                    workload,
                    partition.as_deref(),
                    self.background,
                    policy.max_total_wait.saturating_sub(waited),
                )
                .await?;
            let token = match (request.own_token(), stale_token.take()) {
                (Some(own), _) => own.clone(),
                (None, Some(rejected)) => {
                    self.inner
                        .tokens
                        .refresh_rejected(&tenant, request.audience(), &rejected)
                        .await?
                }
                (None, None) => self.inner.tokens.token(&tenant, request.audience()).await?,
            };
            let mut http_request = build_http(request, &uri, &token, &client_request_id, attempt)?;
            if let Some(parsed) = &parsed {
                // Spares the transport parsing the URL again on every attempt.
                http_request
                    .extensions_mut()
                    .insert(ParsedUrl(parsed.clone()));
            }
            let attempt_span = tracing::debug_span!(
                "cipp.attempt",
                attempt,
                status = tracing::field::Empty,
                request_id = tracing::field::Empty,
            );
            let intercepted = self
                .inner
                .interceptor
                .as_ref()
                .and_then(|i| i.intercept(request));
            let result = match intercepted {
                Some(answer) => answer.map(|r| r.map(Body::Whole)),
                None if stream => self
                    .inner
                    .transport
                    .send_streamed(http_request)
                    .instrument(attempt_span.clone())
                    .await
                    .map(|r| r.map(Body::Chunks)),
                None => self
                    .inner
                    .transport
                    .send(http_request)
                    .instrument(attempt_span.clone())
                    .await
                    .map(|r| r.map(Body::Whole)),
            };
            // Only a success is handed over as it arrives: an error's body is read whole.
            let result = match result {
                Ok(r) if !(r.status().is_success() || r.status().is_redirection()) => {
                    let (parts, body) = r.into_parts();
                    match body {
                        Body::Whole(b) => Ok(http::Response::from_parts(parts, b)),
                        Body::Chunks(c) => collect(c)
                            .await
                            .map(|b| http::Response::from_parts(parts, b)),
                    }
                    .map(|r| r.map(Body::Whole))
                }
                other => other,
            };
            let current = tracing::Span::current();
            current.record("attempts", attempt);
            let delay = match result {
                Err(mut e) => {
                    e.tenant = Some(tenant.clone());
                    e.operation = Some(request.operation_name());
                    let may_retry = e.sent == RequestSent::No || request.is_idempotent();
                    if !may_retry {
                        e.not_resent = true;
                        return Err(Error::Transport(e));
                    }
                    match backoff.next() {
                        Some(d) if waited.saturating_add(d) <= policy.max_total_wait => {
                            tracing::debug!(error = %e, "transport failure, retrying");
                            d
                        }
                        _ => return Err(Error::Transport(e)),
                    }
                }
                Ok(response) => {
                    let status = response.status();
                    attempt_span.record("status", status.as_u16());
                    current.record("status", status.as_u16());
                    if let Some(id) = response
                        .headers()
                        .get("request-id")
                        .and_then(|v| v.to_str().ok())
                    {
                        attempt_span.record("request_id", id);
                    }
                    if status.is_success() || status.is_redirection() {
                        let (parts, body) = response.into_parts();
                        return Ok(Answer {
                            head: ApiResponse {
                                tenant,
                                method: request.method().clone(),
                                uri,
                                status,
                                headers: parts.headers,
                                body: bytes::Bytes::new(),
                            },
                            body,
                        });
                    }
                    let response = response.map(|body| match body {
                        Body::Whole(b) => b,
                        Body::Chunks(_) => bytes::Bytes::new(),
                    });
                    if status == StatusCode::UNAUTHORIZED
                        && !refreshed
                        && request.own_token().is_none()
                    {
                        refreshed = true;
                        stale_token = Some(token);
                        attempt -= 1;
                        continue;
                    }
                    let retry_after = retry_after_of(&response, self.inner.clock.as_ref());
                    let decision = resend_decision(
                        status.as_u16(),
                        retry_after.is_some(),
                        request.is_idempotent(),
                        request.retries_not_found(),
                    );
                    let retryable = decision == Resend::Retry;
                    let outcome_unknown = decision == Resend::OutcomeUnknown;
                    let error = || {
                        let mut e = request.read_error(status, response.headers(), response.body());
                        e.retry_after = retry_after;
                        if outcome_unknown {
                            e.sent = Some(RequestSent::Maybe);
                        }
                        if status == StatusCode::NOT_FOUND && request.retries_not_found() {
                            e.kind = crate::error::ApiErrorKind::NotYetReplicated;
                        }
                        if e.client_request_id.is_none() {
                            e.client_request_id =
                                client_request_id.to_str().ok().map(str::to_owned);
                        }
                        Error::from(e)
                    };
                    if !retryable {
                        return Err(error());
                    }
                    let Some(backoff_delay) = backoff.next() else {
                        return Err(error());
                    };
                    let d = retry_after.map_or(backoff_delay, |ra| ra.max(backoff_delay));
                    if status == StatusCode::TOO_MANY_REQUESTS {
                        self.inner.throttle.record_throttle(
                            &tenant,
                            workload,
                            partition.as_deref(),
                            d,
                        );
                    }
                    if let Some(threshold) = self.background {
                        if d > threshold {
                            return Err(Error::Throttled {
                                tenant: tenant.clone(),
                                workload: workload.name().to_owned(),
                                retry_after: d,
                            });
                        }
                    }
                    if waited.saturating_add(d) > policy.max_total_wait {
                        return Err(error());
                    }
                    tracing::debug!(
                        status = status.as_u16(),
                        delay_ms = d.as_millis() as u64,
                        "retrying"
                    );
                    d
                }
            };
            waited = waited.saturating_add(delay);
            tokio::time::sleep(delay).await;
        }
    }

    /// Sends a request and decodes its JSON answer.
    pub async fn send_json<T: serde::de::DeserializeOwned>(
        &self,
        request: ApiRequest,
    ) -> Result<T, Error> {
        self.send(request).await?.json()
    }
}

const CLIENT_REQUEST_ID: http::HeaderName = http::HeaderName::from_static("client-request-id");

/// A fresh random (version 4) GUID for `client-request-id`, without a system call per
/// request: a per-process random seed mixed with a counter (splitmix64).
fn new_client_request_id() -> HeaderValue {
    static SEED: std::sync::OnceLock<(u64, u64)> = std::sync::OnceLock::new();
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let (a, b) = *SEED.get_or_init(|| uuid::Uuid::new_v4().as_u64_pair());
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mix = |mut z: u64| {
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
        z ^ (z >> 31)
    };
    let hi = mix(a ^ n.wrapping_mul(0x9e3779b97f4a7c15));
    let lo = mix(b.wrapping_add(n));
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&hi.to_be_bytes());
    bytes[8..].copy_from_slice(&lo.to_be_bytes());
    let id = uuid::Builder::from_random_bytes(bytes).into_uuid();
    let mut buf = [0u8; 36];
    let text = id.hyphenated().encode_lower(&mut buf);
    HeaderValue::from_str(text)
        .unwrap_or_else(|_| HeaderValue::from_static("00000000-0000-4000-8000-000000000000"))
}

fn retry_after_of(response: &http::Response<bytes::Bytes>, clock: &dyn Clock) -> Option<Duration> {
    let now: SystemTime = clock.now().into();
    response
        .headers()
        .get(http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, now))
}

fn same_origin(base: &str, target: &str) -> bool {
    match (url::Url::parse(base), url::Url::parse(target)) {
        (Ok(a), Ok(b)) => {
            a.scheme() == b.scheme()
                && a.host_str().map(str::to_ascii_lowercase)
                    == b.host_str().map(str::to_ascii_lowercase)
                && a.port_or_known_default() == b.port_or_known_default()
        }
        _ => false,
    }
}

fn build_http(
    request: &ApiRequest,
    uri: &http::Uri,
    token: &AccessToken,
    client_request_id: &HeaderValue,
    attempt: u32,
) -> Result<http::Request<bytes::Bytes>, Error> {
    let mut builder = http::Request::builder()
        .method(request.method().clone())
        .uri(uri.clone());
    let headers = builder
        .headers_mut()
        .ok_or_else(|| Error::invalid_input("request", "invalid method or URL"))?;
    if !request.headers().is_empty() {
        headers.extend(request.headers().clone());
    }
    headers.insert(
        http::header::AUTHORIZATION,
        token.authorization_header().clone(),
    );
    headers.insert(CLIENT_REQUEST_ID, client_request_id.clone());
    headers.insert(
        http::header::USER_AGENT,
        HeaderValue::from_static(USER_AGENT),
    );
    headers
        .entry(http::header::ACCEPT)
        .or_insert(HeaderValue::from_static("application/json"));
    if attempt > 1 {
        headers.insert("retry-attempt", HeaderValue::from(attempt - 1));
    }
    builder
        .body(request.body_bytes().clone())
        .map_err(|e| Error::invalid_input("request", e.to_string()))
}

/// The error of a call that got no answer within its deadline.
fn deadline_error(request: &ApiRequest, deadline: Duration) -> Error {
    let mut e = crate::error::TransportError::new(
        crate::error::TransportErrorKind::Timeout,
        RequestSent::Maybe,
        format!(
            "no answer within the call's deadline of {} s (retries included)",
            deadline.as_secs_f64()
        ),
    );
    e.tenant = Some(request.tenant().clone());
    e.operation = Some(request.operation_name());
    e.not_resent = !request.is_idempotent();
    Error::Transport(e)
}

/// A response body: whole, or as it arrives.
enum Body {
    Whole(bytes::Bytes),
    Chunks(BodyChunks),
}

/// A successful answer of [`Pipeline::send_inner`].
struct Answer {
    head: ApiResponse,
    body: Body,
}

impl Answer {
    fn buffered(self) -> ApiResponse {
        match self.body {
            Body::Whole(body) => ApiResponse { body, ..self.head },
            // `send_inner(_, false)` never streams.
            Body::Chunks(_) => self.head,
        }
    }

    fn streamed(self) -> Streamed {
        let chunks = match self.body {
            Body::Whole(body) => {
                let one: BodyChunks = Box::pin(futures::stream::iter([Ok(body)]));
                one
            }
            Body::Chunks(chunks) => chunks,
        };
        Streamed {
            head: self.head,
            chunks,
        }
    }
}

/// A successful response whose body is read as it arrives ([`Pipeline::send_streamed`]).
pub struct Streamed {
    /// The response, with an empty `body`.
    pub head: ApiResponse,
    /// The body, piece by piece; a failure mid-way is a [`crate::TransportError`] that
    /// says the request may have been acted on.
    pub chunks: BodyChunks,
}

impl fmt::Debug for Streamed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Streamed")
            .field("head", &self.head)
            .finish_non_exhaustive()
    }
}

/// Reads a whole body.
async fn collect(mut chunks: BodyChunks) -> Result<bytes::Bytes, TransportError> {
    use futures::StreamExt;
    let Some(first) = chunks.next().await.transpose()? else {
        return Ok(bytes::Bytes::new());
    };
    let Some(second) = chunks.next().await.transpose()? else {
        return Ok(first);
    };
    let mut all = bytes::BytesMut::with_capacity(first.len() + second.len());
    all.extend_from_slice(&first);
    all.extend_from_slice(&second);
    while let Some(chunk) = chunks.next().await.transpose()? {
        all.extend_from_slice(&chunk);
    }
    Ok(all.freeze())
}
