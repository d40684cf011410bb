//! Multi-tenant authentication: token providers and the single-flight token cache.
//!
//! A [`TokenProvider`] turns (tenant, audience) into an access token. The providers here
//! are a static token, app-only client credentials (client secret), and the partner refresh
//! token of the Secure Application Model. Their token requests go through the
//! [`Transport`](crate::Transport), so a mock server or the simulator can answer them.
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

use crate::clock::Clock;
use crate::cloud::{Audience, Endpoints};
use crate::error::{AuthError, Error};
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

/// What the token providers need to reach the token endpoint.
#[derive(Clone)]
pub struct TokenEndpoint {
    transport: Arc<dyn Transport>,
    endpoints: Endpoints,
    clock: Arc<dyn Clock>,
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
        }
    }

    async fn request(
        &self,
        tenant: &TenantId,
        form: &[(&str, &str)],
    ) -> Result<TokenResponse, Error> {
        let body = serde_urlencoded::to_string(form)
            .map_err(|e| Error::Config(format!("cannot encode the token request: {e}")))?;
        let url = self.endpoints.token_url(tenant);
        let request = http::Request::builder()
            .method(http::Method::POST)
            .uri(&url)
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(http::header::ACCEPT, "application/json")
            .header(http::header::USER_AGENT, crate::USER_AGENT)
            .body(Bytes::from(body))
            .map_err(|e| Error::Config(format!("invalid token URL for tenant {tenant}: {e}")))?;
        let span =
            tracing::debug_span!("token_request", tenant = %tenant, status = tracing::field::Empty);
        let _enter = span.enter();
        let started = self.clock.now();
        let response = self.transport.send(request).await?;
        span.record("status", response.status().as_u16());
        if !response.status().is_success() {
            return Err(AuthError::from_response(
                tenant.clone(),
                response.status(),
                response.body(),
            )
            .into());
        }
        let raw: RawTokenResponse = crate::error::DecodeError::decode(
            Some(tenant),
            "POST /oauth2/v2.0/token",
            response.body(),
        )?;
        let expires_in = raw.expires_in.seconds().unwrap_or(3599);
        Ok(TokenResponse {
            access: AccessToken::new(
                raw.access_token,
                started + chrono::Duration::seconds(expires_in as i64),
            ),
            refresh_token: raw.refresh_token.map(SecretString::from),
        })
    }
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
    Text(String),
    #[default]
    Missing,
}

impl ExpiresIn {
    fn seconds(&self) -> Option<u64> {
        match self {
            ExpiresIn::Number(n) => Some(*n),
            ExpiresIn::Text(s) => s.trim().parse().ok(),
            ExpiresIn::Missing => None,
        }
    }
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
        f.debug_struct("ClientSecretCredential")
            .field("client_id", &self.client_id)
            .field("secret", &"[REDACTED]")
            .finish()
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
        f.debug_struct("PartnerRefreshToken")
            .field("client_id", &self.client_id)
            .field("secret", &"[REDACTED]")
            .field("refresh_token", &"[REDACTED]")
            .finish()
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
            slots: Mutex::new(HashMap::new()),
            requests: AtomicU64::new(0),
        }
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
        // Single flight: one caller refreshes, the others wait and then reuse its token.
        let _refreshing = slot.refresh.lock().await;
        if let Some(t) = self.usable(&slot, rejected) {
            return Ok(t);
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        let token = self.provider.token(tenant, audience).await?;
        *slot.current.lock().unwrap_or_else(|p| p.into_inner()) = Some(token.clone());
        Ok(token)
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
