//! Multi-tenant authentication: token providers and the single-flight token cache.
//!
//! A [`TokenProvider`] turns (tenant, audience) into an access token. The providers here
//! are a static token, app-only client credentials (client secret), and the partner refresh
//! token of the Secure Application Model. Their token requests go through the
//! [`Transport`], so a mock server or the simulator can answer them.
//! [`TokenCache`] keeps one token per (provider, tenant, audience), refreshes it ahead of
//! expiry, and makes concurrent callers share one token request.
//!
//! Secrets and tokens are [`secrecy`] types: their `Debug` shows `[REDACTED]`.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use tracing::Instrument;

use crate::clock::Clock;
use crate::cloud::{Audience, Endpoints};
use crate::error::{AuthError, Error, TransportErrorKind};
use crate::retry::RetryPolicy;
use crate::tenant::TenantId;
use crate::transport::Transport;

/// An access token and when it expires. `Debug` never shows the token.
#[derive(Clone)]
pub struct AccessToken {
    secret: Arc<SecretString>,
    header: http::HeaderValue,
    expires_at: DateTime<Utc>,
}

impl AccessToken {
    /// A token valid until `expires_at`.
    pub fn new(token: impl Into<String>, expires_at: DateTime<Utc>) -> Self {
        Self::from_secret(SecretString::from(token.into()), expires_at)
    }

    fn from_secret(secret: SecretString, expires_at: DateTime<Utc>) -> Self {
        // Built once per token, not once per request; marked sensitive so that `http`
        // never prints it. A token with bytes not allowed in a header yields an empty
        // header, which the service refuses with 401.
        let mut header = http::HeaderValue::try_from(format!("Bearer {}", secret.expose_secret()))
            .unwrap_or_else(|_| http::HeaderValue::from_static(""));
        header.set_sensitive(true);
        AccessToken {
            secret: Arc::new(secret),
            header,
            expires_at,
        }
    }

    /// The token itself, to put in an `Authorization` header.
    pub fn secret(&self) -> &SecretString {
        &self.secret
    }

    /// The ready `Authorization: Bearer …` header value (marked sensitive).
    pub fn authorization_header(&self) -> &http::HeaderValue {
        &self.header
    }

    /// When the token expires.
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at
    }

    fn same_as(&self, other: &AccessToken) -> bool {
        self.secret.expose_secret() == other.secret.expose_secret()
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &"[REDACTED]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Gives access tokens for a tenant and an audience.
#[async_trait]
pub trait TokenProvider: Send + Sync + 'static {
    /// Obtains a fresh token (callers go through [`TokenCache`], which caches it).
    async fn token(&self, tenant: &TenantId, audience: &Audience) -> Result<AccessToken, Error>;

    /// A name that distinguishes this provider's tokens in a shared cache.
    fn name(&self) -> &str {
        "custom"
    }
}

/// A fixed token for every tenant and audience (for tests and short scripts).
pub struct StaticToken {
    token: AccessToken,
}

impl StaticToken {
    /// A provider that always returns `token`, valid for a year.
    pub fn new(token: SecretString) -> Self {
        StaticToken {
            token: AccessToken::from_secret(token, DateTime::<Utc>::MAX_UTC),
        }
    }
}

impl fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticToken").finish_non_exhaustive()
    }
}

#[async_trait]
impl TokenProvider for StaticToken {
    async fn token(&self, _: &TenantId, _: &Audience) -> Result<AccessToken, Error> {
        Ok(self.token.clone())
    }
    fn name(&self) -> &str {
        "static"
    }
}

/// The longest token lifetime believed: an `expires_in` above it (or an absurd one such as
/// `99999999999999`) is read as this.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// What the token providers need to reach the token endpoint.
///
/// Token requests are safe to resend, so a 429, a 5xx or a broken connection is retried
/// with the [`RetryPolicy`] (default: the pipeline's).
#[derive(Clone)]
pub struct TokenEndpoint {
    transport: Arc<dyn Transport>,
    endpoints: Endpoints,
    clock: Arc<dyn Clock>,
    retry: RetryPolicy,
}

impl fmt::Debug for TokenEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenEndpoint")
            .field("login", &self.endpoints.login)
            .finish_non_exhaustive()
    }
}

impl TokenEndpoint {
    /// Token requests sent through `transport` to the login host of `endpoints`.
    pub fn new(transport: Arc<dyn Transport>, endpoints: Endpoints, clock: Arc<dyn Clock>) -> Self {
        TokenEndpoint {
            transport,
            endpoints,
            clock,
            retry: RetryPolicy::default(),
        }
    }

    /// The same endpoint with another retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// A v1 (`/oauth2/token`) client-credentials token for `resource`, with an app's
    /// client id and secret — the legacy connectors (the MFA push connector) take only
    /// these. Sent, retried and redacted like every other token request.
    pub async fn client_credentials_v1(
        &self,
        tenant: &TenantId,
        client_id: &str,
        secret: &SecretString,
        resource: &str,
    ) -> Result<AccessToken, Error> {
        let url = format!(
            "{}/{}/oauth2/token",
            self.endpoints.login.trim_end_matches('/'),
            tenant
        );
        let form = [
            ("resource", resource),
            ("client_id", client_id),
            ("client_secret", secret.expose_secret()),
            ("grant_type", "client_credentials"),
            ("scope", "openid"),
        ];
        Ok(self
            .request_at(tenant, &url, "POST /oauth2/token", &form)
            .await?
            .access)
    }

    async fn request(
        &self,
        tenant: &TenantId,
        form: &[(&str, &str)],
    ) -> Result<TokenResponse, Error> {
        let url = self.endpoints.token_url(tenant);
        self.request_at(tenant, &url, "POST /oauth2/v2.0/token", form)
            .await
    }

    async fn request_at(
        &self,
        tenant: &TenantId,
        url: &str,
        operation: &str,
        form: &[(&str, &str)],
    ) -> Result<TokenResponse, Error> {
        let body = Bytes::from(
            serde_urlencoded::to_string(form)
                .map_err(|e| Error::Config(format!("cannot encode the token request: {e}")))?,
        );
        let span = tracing::debug_span!("token_request", tenant = %tenant, status = tracing::field::Empty, attempts = tracing::field::Empty);
        self.send_with_retries(tenant, url, operation, body)
            .instrument(span)
            .await
    }

    async fn send_with_retries(
        &self,
        tenant: &TenantId,
        url: &str,
        operation: &str,
        body: Bytes,
    ) -> Result<TokenResponse, Error> {
        let mut backoff = self.retry.backoff();
        let mut waited = Duration::ZERO;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let request = http::Request::builder()
                .method(http::Method::POST)
                .uri(url)
                .header(
                    http::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .header(http::header::ACCEPT, "application/json")
                .header(http::header::USER_AGENT, crate::transport::USER_AGENT)
                .body(body.clone())
                .map_err(|_| {
                    Error::Config(format!(
                        "invalid token URL for tenant {tenant}: check the login endpoint"
                    ))
                })?;
            let started = self.clock.now();
            let span = tracing::Span::current();
            span.record("attempts", attempt);
            let (error, retry_after) = match self.transport.send(request).await {
                Err(mut e) => {
                    e.tenant = Some(tenant.clone());
                    e.operation = Some(operation.to_owned());
                    let retry = e.kind != TransportErrorKind::InvalidRequest;
                    if !retry {
                        return Err(e.into());
                    }
                    (Error::from(e), None)
                }
                Ok(response) => {
                    let status = response.status();
                    span.record("status", status.as_u16());
                    if status.is_success() {
                        return decode_token(tenant, operation, response.body(), started);
                    }
                    let error: Error =
                        AuthError::from_response(tenant.clone(), status, response.body()).into();
                    if !matches!(status.as_u16(), 429 | 500 | 502 | 503 | 504) {
                        return Err(error);
                    }
                    let now: std::time::SystemTime = self.clock.now().into();
                    let retry_after = response
                        .headers()
                        .get(http::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| crate::retry::parse_retry_after(v, now));
                    (error, retry_after)
                }
            };
            let Some(backoff_delay) = backoff.next() else {
                return Err(error);
            };
            let delay = retry_after.map_or(backoff_delay, |ra| ra.max(backoff_delay));
            if waited.saturating_add(delay) > self.retry.max_total_wait {
                return Err(error);
            }
            tracing::debug!(error = %error, delay_ms = delay.as_millis() as u64, "token request failed, retrying");
            waited = waited.saturating_add(delay);
            tokio::time::sleep(delay).await;
        }
    }
}

fn decode_token(
    tenant: &TenantId,
    operation: &str,
    body: &[u8],
    started: DateTime<Utc>,
) -> Result<TokenResponse, Error> {
    let raw: RawTokenResponse = crate::error::DecodeError::decode(Some(tenant), operation, body)?;
    let lifetime = raw.expires_in.lifetime();
    let expires_at = chrono::Duration::from_std(lifetime)
        .ok()
        .and_then(|d| started.checked_add_signed(d))
        .unwrap_or(started);
    Ok(TokenResponse {
        access: AccessToken::new(raw.access_token, expires_at),
        refresh_token: raw.refresh_token.map(SecretString::from),
    })
}

struct TokenResponse {
    access: AccessToken,
    refresh_token: Option<SecretString>,
}

#[derive(Deserialize)]
struct RawTokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: ExpiresIn,
    #[serde(default)]
    refresh_token: Option<String>,
}

/// `expires_in` is a number in v2 answers and a string in some v1 answers.
#[derive(Deserialize, Default)]
#[serde(untagged)]
enum ExpiresIn {
    Number(u64),
    Float(f64),
    Text(String),
    #[default]
    Missing,
}

impl ExpiresIn {
    /// The token's lifetime: a missing or unreadable value is the usual hour, a negative
    /// one zero, and anything above [`MAX_TOKEN_LIFETIME`] is clamped to it.
    fn lifetime(&self) -> Duration {
        let secs = match self {
            ExpiresIn::Number(n) => Some(*n as f64),
            ExpiresIn::Float(f) => Some(*f),
            ExpiresIn::Text(s) => s.trim().parse::<f64>().ok(),
            ExpiresIn::Missing => None,
        };
        match secs {
            Some(s) if s.is_finite() => Duration::try_from_secs_f64(s.max(0.0))
                .unwrap_or(MAX_TOKEN_LIFETIME)
                .min(MAX_TOKEN_LIFETIME),
            Some(s) if s == f64::INFINITY => MAX_TOKEN_LIFETIME,
            _ => Duration::from_secs(3599),
        }
    }
}

/// The lifetime a token endpoint's `expires_in` value gives (for tests of odd values):
/// never panics; clamps to [`MAX_TOKEN_LIFETIME`].
#[doc(hidden)]
pub fn expires_in_lifetime(json_value: &str) -> Result<Duration, String> {
    #[derive(Deserialize)]
    struct W {
        #[serde(default)]
        expires_in: ExpiresIn,
    }
    let w: W = serde_json::from_str(&format!("{{\"expires_in\":{json_value}}}"))
        .map_err(|e| e.to_string())?;
    Ok(w.expires_in.lifetime())
}

/// App-only tokens from an app registration's client secret, in each tenant
/// (`grant_type=client_credentials`).
pub struct ClientSecretCredential {
    endpoint: TokenEndpoint,
    client_id: String,
    secret: SecretString,
}

impl ClientSecretCredential {
    /// Credentials of the app `client_id`.
    pub fn new(
        endpoint: TokenEndpoint,
        client_id: impl Into<String>,
        secret: SecretString,
    ) -> Self {
        ClientSecretCredential {
            endpoint,
            client_id: client_id.into(),
            secret,
        }
    }
}

impl fmt::Debug for ClientSecretCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::redact::debug_app_credential(
            f,
            "ClientSecretCredential",
            &self.client_id,
            &["secret"],
        )
    }
}

#[async_trait]
impl TokenProvider for ClientSecretCredential {
    async fn token(&self, tenant: &TenantId, audience: &Audience) -> Result<AccessToken, Error> {
        let scope = self.endpoint.endpoints.scope(audience);
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.secret.expose_secret()),
            ("scope", scope.as_str()),
        ];
        Ok(self.endpoint.request(tenant, &form).await?.access)
    }
    fn name(&self) -> &str {
        "client-secret"
    }
}

/// The Secure Application Model: one partner refresh token redeemed at each customer
/// tenant's token endpoint (`grant_type=refresh_token`) for each scope.
///
/// The token endpoint returns a new refresh token with each answer; the newest one
/// replaces the stored one, and [`PartnerRefreshToken::current_refresh_token`] hands it to
/// the caller for safekeeping.
pub struct PartnerRefreshToken {
    endpoint: TokenEndpoint,
    client_id: String,
    secret: SecretString,
    refresh_token: Mutex<Arc<SecretString>>,
}

impl PartnerRefreshToken {
    /// The partner app `client_id` with its secret and a partner refresh token.
    pub fn new(
        endpoint: TokenEndpoint,
        client_id: impl Into<String>,
        secret: SecretString,
        refresh_token: SecretString,
    ) -> Self {
        PartnerRefreshToken {
            endpoint,
            client_id: client_id.into(),
            secret,
            refresh_token: Mutex::new(Arc::new(refresh_token)),
        }
    }

    /// The newest refresh token (store it: the old one may stop working).
    pub fn current_refresh_token(&self) -> Arc<SecretString> {
        self.refresh_token
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl fmt::Debug for PartnerRefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secrets = ["secret", "refresh_token"];
        crate::redact::debug_app_credential(f, "PartnerRefreshToken", &self.client_id, &secrets)
    }
}

#[async_trait]
impl TokenProvider for PartnerRefreshToken {
    async fn token(&self, tenant: &TenantId, audience: &Audience) -> Result<AccessToken, Error> {
        let scope = self.endpoint.endpoints.scope(audience);
        let refresh = self.current_refresh_token();
        let form = [
            ("grant_type", "refresh_token"),
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.secret.expose_secret()),
            ("refresh_token", refresh.expose_secret()),
            ("scope", scope.as_str()),
        ];
        let response = self.endpoint.request(tenant, &form).await?;
        if let Some(new) = response.refresh_token {
            *self.refresh_token.lock().unwrap_or_else(|p| p.into_inner()) = Arc::new(new);
        }
        Ok(response.access)
    }
    fn name(&self) -> &str {
        "partner-refresh-token"
    }
}

/// One cached token and the lock that makes its refresh single-flight.
#[derive(Default)]
struct Slot {
    current: Mutex<Option<AccessToken>>,
    refresh: tokio::sync::Mutex<()>,
    /// Counts finished provider requests, so a caller that waited on the lock can tell
    /// that a request completed meanwhile.
    generation: AtomicU64,
    /// The last provider failure and when it happened.
    failure: Mutex<Option<(Error, DateTime<Utc>)>>,
}

/// Caches tokens per (provider, tenant, audience), refreshes them `skew` before they
/// expire, and lets concurrent callers for one key share a single token request.
///
/// A cache belongs to one provider, so the provider is part of every key. Reading a fresh
/// token takes two short, uncontended lookups and no allocation.
pub struct TokenCache {
    provider: Arc<dyn TokenProvider>,
    clock: Arc<dyn Clock>,
    skew: chrono::Duration,
    failure_ttl: chrono::Duration,
    slots: Mutex<HashMap<TenantId, HashMap<Audience, Arc<Slot>>>>,
    requests: AtomicU64,
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache")
            .field("provider", &self.provider.name())
            .field("skew", &self.skew)
            .finish_non_exhaustive()
    }
}

impl TokenCache {
    /// A cache over `provider`, refreshing `skew` ahead of expiry.
    pub fn new(provider: Arc<dyn TokenProvider>, clock: Arc<dyn Clock>, skew: Duration) -> Self {
        TokenCache {
            provider,
            clock,
            skew: chrono::Duration::from_std(skew).unwrap_or(chrono::Duration::MAX),
            failure_ttl: chrono::Duration::zero(),
            slots: Mutex::new(HashMap::new()),
            requests: AtomicU64::new(0),
        }
    }

    /// Remembers a failed token request for `ttl`: callers for the same tenant and
    /// audience get the same error meanwhile, without a request of their own. Callers
    /// already waiting on a request always share its failure.
    pub fn with_failure_ttl(mut self, ttl: Duration) -> Self {
        self.failure_ttl = chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX);
        self
    }

    fn recent_failure(&self, slot: &Slot) -> Option<Error> {
        let failure = slot.failure.lock().unwrap_or_else(|p| p.into_inner());
        let (error, at) = failure.as_ref()?;
        let until = at.checked_add_signed(self.failure_ttl)?;
        (self.clock.now() < until).then(|| error.clone())
    }

    /// How many tokens were requested from the provider so far.
    pub fn provider_requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    fn slot(&self, tenant: &TenantId, audience: &Audience) -> Arc<Slot> {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = slots.get(tenant).and_then(|m| m.get(audience)) {
            return slot.clone();
        }
        slots
            .entry(tenant.clone())
            .or_default()
            .entry(audience.clone())
            .or_default()
            .clone()
    }

    fn usable(&self, slot: &Slot, rejected: Option<&AccessToken>) -> Option<AccessToken> {
        let current = slot.current.lock().unwrap_or_else(|p| p.into_inner());
        let t = current.as_ref()?;
        let fresh = t
            .expires_at
            .checked_sub_signed(self.skew)
            .is_some_and(|refresh_at| self.clock.now() < refresh_at);
        let was_rejected = rejected.is_some_and(|r| r.same_as(t));
        (fresh && !was_rejected).then(|| t.clone())
    }

    /// A valid token for `tenant` and `audience`, from the cache when it is fresh enough.
    pub async fn token(
        &self,
        tenant: &TenantId,
        audience: &Audience,
    ) -> Result<AccessToken, Error> {
        self.get(tenant, audience, None).await
    }

    /// A new token after the service refused `rejected` (401): the cached token is dropped
    /// unless another caller already replaced it.
    pub async fn refresh_rejected(
        &self,
        tenant: &TenantId,
        audience: &Audience,
        rejected: &AccessToken,
    ) -> Result<AccessToken, Error> {
        self.get(tenant, audience, Some(rejected)).await
    }

    async fn get(
        &self,
        tenant: &TenantId,
        audience: &Audience,
        rejected: Option<&AccessToken>,
    ) -> Result<AccessToken, Error> {
        let slot = self.slot(tenant, audience);
        if let Some(t) = self.usable(&slot, rejected) {
            return Ok(t);
        }
        if let Some(e) = self.recent_failure(&slot) {
            return Err(e);
        }
        let seen = slot.generation.load(Ordering::Acquire);
        // Single flight: one caller refreshes, the others wait and then reuse its token —
        // or share its failure.
        let _refreshing = slot.refresh.lock().await;
        if let Some(t) = self.usable(&slot, rejected) {
            return Ok(t);
        }
        if slot.generation.load(Ordering::Acquire) != seen {
            let failure = slot.failure.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((e, _)) = failure.as_ref() {
                return Err(e.clone());
            }
        }
        if let Some(e) = self.recent_failure(&slot) {
            return Err(e);
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        let result = self.provider.token(tenant, audience).await;
        let mut failure = slot.failure.lock().unwrap_or_else(|p| p.into_inner());
        let out = match result {
            Ok(token) => {
                *failure = None;
                *slot.current.lock().unwrap_or_else(|p| p.into_inner()) = Some(token.clone());
                Ok(token)
            }
            Err(e) => {
                *failure = Some((e.clone(), self.clock.now()));
                Err(e)
            }
        };
        slot.generation.fetch_add(1, Ordering::Release);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn debug_never_shows_secrets() {
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(Utc::now()));
        let ep = TokenEndpoint::new(
            Arc::new(crate::test_util::MockTransport::new()),
            Endpoints::default(),
            clock,
        );
        let t = AccessToken::new("eyJ-very-secret", Utc::now());
        let c = ClientSecretCredential::new(ep.clone(), "app", SecretString::from("s3cr3t-value"));
        let p = PartnerRefreshToken::new(
            ep,
            "app",
            SecretString::from("s3cr3t-value"),
            SecretString::from("refresh-0.AAAA"),
        );
        let s = StaticToken::new(SecretString::from("eyJ-very-secret"));
        for d in [
            format!("{t:?}"),
            format!("{c:?}"),
            format!("{p:?}"),
            format!("{s:?}"),
            format!("{:?}", SecretString::from("s3cr3t-value")),
        ] {
            assert!(
                !d.contains("secret-value")
                    && !d.contains("s3cr3t")
                    && !d.contains("eyJ")
                    && !d.contains("AAAA"),
                "{d}"
            );
        }
    }
}
