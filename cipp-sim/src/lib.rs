//! **cipp-sim** — a simulated Microsoft 365 for cipp-rs examples and for integrators' tests.
//!
//! The [`Simulator`] implements [`cipp_core::Transport`]: plug it into a pipeline instead
//! of the network and it answers like the real services — the token endpoint (client
//! credentials and refresh-token grants, with real AADSTS error bodies) and Microsoft Graph
//! (users with real paging, organization, domains, GDAP customers, deleted users) — for many
//! tenants at once. It keeps its state as JSON, independent of the SDK's models, so it checks
//! the SDK instead of mirroring it. Faults (latency, 429 with `Retry-After`, 5xx) can be
//! injected, and every request is logged.
//!
//! The simulator routes on the path only, so the real hosts (the default
//! [`cipp_core::Endpoints`]) work as they are.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), cipp_core::Error> {
//! use std::sync::Arc;
//! use cipp_core::{paging, ApiRequest, Audience, Pipeline, TenantId};
//! use cipp_sim::Simulator;
//! use futures::TryStreamExt;
//!
//! let sim = Simulator::demo();
//! let pipeline = Pipeline::builder()
//!     .transport(Arc::new(sim.clone()))
//!     .credentials(sim.demo_credentials())
//!     .build()?;
//! let contoso = TenantId::parse("contoso.onmicrosoft.com")?;
//! let users: Vec<serde_json::Value> =
//!     paging::items(pipeline, ApiRequest::get(contoso, Audience::Graph, "/v1.0/users"))
//!         .try_collect().await?;
//! assert!(users.len() > 3);
//! assert_eq!(sim.request_log().len(), 2); // the token request and one page
//! # Ok(()) }
//! ```
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod exchange;
mod graph;
#[cfg(feature = "http")]
pub mod http_server;
mod odata;
pub mod scenario;
mod sharepoint;
pub mod state;
mod token;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use cipp_core::{Clock, HttpRequest, HttpResponse, SystemClock, Transport, TransportError};
use http::{HeaderValue, StatusCode};
use serde_json::Value;

pub use state::{SimApp, SimState, SimTenant};

/// A simulated Microsoft 365. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct Simulator {
    inner: Arc<Sim>,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("tenants", &self.lock_state().tenants.len())
            .finish_non_exhaustive()
    }
}

pub(crate) struct Sim {
    state: Mutex<SimState>,
    tokens: Mutex<BTreeMap<String, IssuedToken>>,
    faults: Mutex<Vec<FaultRule>>,
    latency: Mutex<Duration>,
    log: Mutex<Vec<LoggedRequest>>,
    counter: Mutex<u64>,
    clock: Arc<dyn Clock>,
}

/// What a fault does.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum FaultKind {
    /// Answer 429 with this `Retry-After` (seconds; decimals allowed).
    Throttle {
        /// The `Retry-After` value sent.
        retry_after: String,
    },
    /// Answer with this 5xx status.
    ServerError(u16),
    /// Answer 200 with a body cut in half.
    TruncatedBody,
}

/// When a fault fires.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum FaultTrigger {
    /// On the Nth matching request only (1-based).
    Nth(u64),
    /// On every Nth matching request.
    EveryNth(u64),
    /// On this fraction of matching requests (deterministic pseudo-random sequence).
    Rate(f64),
    /// On every matching request.
    Always,
}

/// A fault injection rule.
#[derive(Clone, Debug)]
pub struct FaultRule {
    /// What to answer.
    pub kind: FaultKind,
    /// When.
    pub trigger: FaultTrigger,
    /// Only for paths starting with this (for example `/v1.0/users`).
    pub path_prefix: Option<String>,
    /// Only for this tenant (GUID or domain).
    pub tenant: Option<String>,
    seen: u64,
    rng: u64,
}

impl FaultRule {
    /// A rule for every service path and tenant.
    pub fn new(kind: FaultKind, trigger: FaultTrigger) -> Self {
        FaultRule {
            kind,
            trigger,
            path_prefix: None,
            tenant: None,
            seen: 0,
            rng: 0x9E3779B97F4A7C15,
        }
    }

    /// Limits the rule to paths starting with `prefix`.
    pub fn on_path(mut self, prefix: &str) -> Self {
        self.path_prefix = Some(prefix.to_ascii_lowercase());
        self
    }

    /// Limits the rule to one tenant.
    pub fn for_tenant(mut self, tenant: &str) -> Self {
        self.tenant = Some(tenant.to_ascii_lowercase());
        self
    }

    fn fires(&mut self) -> bool {
        self.seen += 1;
        match self.trigger {
            FaultTrigger::Nth(n) => self.seen == n,
            FaultTrigger::EveryNth(n) => n > 0 && self.seen % n == 0,
            FaultTrigger::Always => true,
            FaultTrigger::Rate(r) => {
                // xorshift64*: deterministic, so tests repeat.
                self.rng ^= self.rng >> 12;
                self.rng ^= self.rng << 25;
                self.rng ^= self.rng >> 27;
                let x = self.rng.wrapping_mul(0x2545F4914F6CDD1D);
                ((x >> 11) as f64 / (1u64 << 53) as f64) < r
            }
        }
    }
}

/// One request the simulator received (no headers: they hold tokens).
#[derive(Clone, Debug, PartialEq)]
pub struct LoggedRequest {
    /// When it arrived (the simulator's clock).
    pub at: DateTime<Utc>,
    /// Method.
    pub method: String,
    /// Path without the query.
    pub path: String,
    /// The query string, decoded (for assertions; never logged by the SDK).
    pub query: Option<String>,
    /// The tenant the request was for, when known.
    pub tenant: Option<String>,
    /// The status answered.
    pub status: u16,
}

/// What the simulator remembers about an access token it issued.
#[derive(Clone, Debug)]
pub(crate) struct IssuedToken {
    tenant: String,
    audience: String,
    client_id: String,
}

pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: Bytes,
    pub(crate) headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub(crate) fn empty(status: u16) -> Reply {
        Reply {
            status,
            body: Bytes::new(),
            headers: Vec::new(),
        }
    }

    pub(crate) fn json(status: u16, body: Value) -> Reply {
        Reply {
            status,
            body: Bytes::from(body.to_string()),
            headers: vec![("content-type", "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8".into())],
        }
    }
}

impl Sim {
    pub(crate) fn lock_state(&self) -> MutexGuard<'_, SimState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A number never handed out before (for unique ids).
    pub(crate) fn next_n(&self) -> u64 {
        let mut c = self.counter.lock().unwrap_or_else(|p| p.into_inner());
        *c += 1;
        *c
    }

    pub(crate) fn issue_token(&self, tenant: &str, audience: &str, client_id: &str) -> String {
        let n = {
            let mut c = self.counter.lock().unwrap_or_else(|p| p.into_inner());
            *c += 1;
            *c
        };
        let token = format!(
            "sim.{audience}.{n}.{}",
            state::synthetic_guid(&format!("{tenant}{audience}{n}"))
        );
        self.tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                token.clone(),
                IssuedToken {
                    tenant: tenant.to_owned(),
                    audience: audience.to_owned(),
                    client_id: client_id.to_owned(),
                },
            );
        token
    }

    fn token_for(&self, auth: Option<&str>, audience: &str) -> Option<IssuedToken> {
        let token = auth?.strip_prefix("Bearer ")?;
        let tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        tokens
            .get(token)
            .filter(|t| t.audience == audience)
            .cloned()
    }

    fn token_tenant(&self, auth: Option<&str>, audience: &str) -> Option<String> {
        self.token_for(auth, audience).map(|t| t.tenant)
    }

    fn fault_for(&self, path: &str, tenant: Option<&str>) -> Option<FaultKind> {
        let mut faults = self.faults.lock().unwrap_or_else(|p| p.into_inner());
        let lower = path.to_ascii_lowercase();
        let state = self.lock_state();
        for rule in faults.iter_mut() {
            if rule
                .path_prefix
                .as_ref()
                .is_some_and(|p| !lower.starts_with(p))
            {
                continue;
            }
            if let Some(want) = &rule.tenant {
                let matches = match (tenant, state.tenant(want)) {
                    (Some(t), Some(st)) => st.id == t,
                    _ => false,
                };
                if !matches {
                    continue;
                }
            }
            if rule.fires() {
                return Some(rule.kind.clone());
            }
        }
        None
    }

    fn route(&self, req: &HttpRequest) -> (Reply, Option<String>) {
        let path = req.uri().path().to_owned();
        let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let auth = req
            .headers()
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        // Token endpoint: /{tenant}/oauth2/v2.0/token
        let v2 = segs.len() == 4 && segs[1] == "oauth2" && segs[2] == "v2.0" && segs[3] == "token";
        let v1 = segs.len() == 3 && segs[1] == "oauth2" && segs[2] == "token";
        if v2 || v1 {
            if req.method() != http::Method::POST {
                return (graph::error(405, "MethodNotAllowed", "Use POST."), None);
            }
            let tenant = odata::percent_decode(segs[0]);
            let reply = token::handle(self, &tenant, req.body());
            let tid = self.lock_state().tenant(&tenant).map(|t| t.id.clone());
            return (reply, tid);
        }
        if let Some(version) = segs.first().filter(|v| **v == "v1.0" || **v == "beta") {
            let Some(issued) = self.token_for(auth, "graph") else {
                return (
                    graph::error(
                        401,
                        "InvalidAuthenticationToken",
                        "Access token is empty or invalid.",
                    ),
                    None,
                );
            };
            let tenant = issued.tenant.clone();
            if let Some(fault) = self.fault_for(&path, Some(&tenant)) {
                return (fault_reply(&fault), Some(tenant));
            }
            let origin = match (req.uri().scheme_str(), req.uri().authority()) {
                (Some(s), Some(a)) => format!("{s}://{a}"),
                _ => "https://graph.microsoft.com".to_owned(),
            };
            let rest = &path[version.len() + 1..];
            let graph_req = graph::GraphRequest {
                tenant: tenant.clone(),
                method: req.method(),
                version,
                segments: graph::segments(rest),
                query: graph::query(req.uri().query()),
                headers: req.headers(),
                origin,
                raw_path: path.clone(),
                caller: state::app_initiator(&issued.client_id),
                cast: None,
                body: req.body(),
                now: self
                    .clock
                    .now()
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            };
            return (graph::handle(self, graph_req), Some(tenant));
        }
        if segs.len() == 4 && segs[0] == "adminapi" && (segs[1] == "beta" || segs[1] == "v1.0") {
            return self.route_exchange(req, &path, &segs, auth);
        }
        if path.eq_ignore_ascii_case("/_vti_bin/client.svc/ProcessQuery") {
            let Some(tenant) = self.token_tenant(auth, "sharepoint") else {
                return (
                    graph::error(401, "Unauthorized", "Invalid audience for SharePoint."),
                    None,
                );
            };
            return (
                sharepoint::process_query(self, &tenant, req.body()),
                Some(tenant),
            );
        }
        if path.ends_with("/StrongAuthenticationService.svc/Connector/BeginTwoWayAuthentication") {
            let Some(tenant) = self.token_tenant(auth, "mfa") else {
                return (
                    graph::error(401, "Unauthorized", "Invalid token for the MFA connector."),
                    None,
                );
            };
            return (
                sharepoint::mfa_push(self, &tenant, req.body()),
                Some(tenant),
            );
        }
        (
            graph::error(
                404,
                "UnknownPath",
                &format!("cipp-sim does not serve {path}"),
            ),
            None,
        )
    }

    /// Exchange admin API: `/adminapi/{beta|v1.0}/{tenant}/InvokeCommand` or `/$batch`.
    fn route_exchange(
        &self,
        req: &HttpRequest,
        path: &str,
        segs: &[&str],
        auth: Option<&str>,
    ) -> (Reply, Option<String>) {
        let tenant_name = odata::percent_decode(segs[2]);
        let tenant_id = self.lock_state().tenant(&tenant_name).map(|t| t.id.clone());
        let Some(tenant_id) = tenant_id else {
            return (
                exchange::exo_error(
                    404,
                    "Microsoft.Exchange.Data.Directory.TenantNotFoundException",
                    &format!("Tenant '{tenant_name}' could not be found."),
                ),
                None,
            );
        };
        match self.token_tenant(auth, "exchange") {
            Some(t) if t == tenant_id => {}
            _ => {
                return (
                    graph::error(401, "InvalidAuthenticationToken", "The access token is missing, expired, for another tenant, or not for https://outlook.office365.com."),
                    Some(tenant_id),
                )
            }
        }
        if let Some(fault) = self.fault_for(path, Some(&tenant_id)) {
            return (fault_reply(&fault), Some(tenant_id));
        }
        if req.method() != http::Method::POST {
            return (
                exchange::exo_error(405, "MethodNotAllowed", "Use POST."),
                Some(tenant_id),
            );
        }
        let now = self
            .clock
            .now()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let reply = match segs[3] {
            "InvokeCommand" => {
                let origin = match (req.uri().scheme_str(), req.uri().authority()) {
                    (Some(s), Some(a)) => format!("{s}://{a}"),
                    _ => "https://outlook.office365.com".to_owned(),
                };
                let skip = graph::query(req.uri().query())
                    .iter()
                    .find(|(k, _)| k == "$skiptoken")
                    .and_then(|(_, v)| v.parse().ok())
                    .unwrap_or(0);
                exchange::invoke(self, &tenant_id, req.body(), &now, &origin, skip)
            }
            "$batch" => exchange::batch(
                self,
                req.body(),
                req.headers().get(http::header::AUTHORIZATION),
            ),
            other => exchange::exo_error(
                404,
                "ResourceNotFound",
                &format!("cipp-sim does not serve {other}"),
            ),
        };
        (reply, Some(tenant_id))
    }
}

fn fault_reply(kind: &FaultKind) -> Reply {
    match kind {
        FaultKind::Throttle { retry_after } => {
            let mut r = Reply::json(
                429,
                serde_json::json!({"error":{"code":"TooManyRequests","message":"Please retry again later.",
                    "innerError":{"code":"429","date":"2026-01-01T00:00:00","message":"Please retry after","request-id":"sim-throttle","status":"429"}}}),
            );
            r.headers.push(("retry-after", retry_after.clone()));
            r
        }
        FaultKind::ServerError(status) => graph::error(
            *status,
            "serviceNotAvailable",
            "The service is temporarily unavailable. Please retry later.",
        ),
        FaultKind::TruncatedBody => {
            let body = br#"{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#users","value":[{"id":"tr"#;
            Reply {
                status: 200,
                body: Bytes::from_static(body),
                headers: vec![("content-type", "application/json".into())],
            }
        }
    }
}

impl Simulator {
    /// An empty simulator on the system clock.
    pub fn new() -> Self {
        Simulator::with_clock(Arc::new(SystemClock))
    }

    /// An empty simulator whose request log uses `clock`.
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        Simulator {
            inner: Arc::new(Sim {
                state: Mutex::new(SimState::default()),
                tokens: Mutex::new(BTreeMap::new()),
                faults: Mutex::new(Vec::new()),
                latency: Mutex::new(Duration::ZERO),
                log: Mutex::new(Vec::new()),
                counter: Mutex::new(0),
                clock,
            }),
        }
    }

    /// The demo scenario: see [`scenario::demo`].
    pub fn demo() -> Self {
        Simulator::demo_with_clock(Arc::new(SystemClock))
    }

    /// The demo scenario with its log timestamps relative to `clock`'s now.
    pub fn demo_with_clock(clock: Arc<dyn Clock>) -> Self {
        let now = clock.now();
        let sim = Simulator::with_clock(clock);
        scenario::demo_at(&mut sim.lock_state(), now);
        sim
    }

    /// Credentials that work on the demo scenario (the partner app's refresh token).
    pub fn demo_credentials(&self) -> cipp_core::Credentials {
        scenario::demo_credentials()
    }

    /// Locks the state for reading or changing it.
    pub fn lock_state(&self) -> MutexGuard<'_, SimState> {
        self.inner.lock_state()
    }

    /// Adds a tenant.
    pub fn add_tenant(&self, tenant: SimTenant) {
        self.lock_state().tenants.insert(tenant.id.clone(), tenant);
    }

    /// Registers an application (client) with its secret, home tenant and consents.
    pub fn add_app(&self, app: SimApp) {
        self.lock_state().apps.insert(app.client_id.clone(), app);
    }

    /// Makes `refresh_token` a valid partner refresh token of `partner_tenant`.
    pub fn add_refresh_token(&self, refresh_token: &str, partner_tenant: &str) {
        let mut st = self.lock_state();
        let id = st
            .tenant(partner_tenant)
            .map(|t| t.id.clone())
            .unwrap_or_else(|| partner_tenant.to_owned());
        st.refresh_tokens.insert(refresh_token.to_owned(), id);
    }

    /// Adds latency to every answer (uses Tokio time, so paused-time tests stay instant).
    pub fn set_latency(&self, latency: Duration) {
        *self.inner.latency.lock().unwrap_or_else(|p| p.into_inner()) = latency;
    }

    /// Switches Graph's Conditional Access throttling on or off for a tenant: when on, a
    /// second request within one second gets 429 without `Retry-After`.
    pub fn set_ca_throttling(&self, tenant: &str, on: bool) {
        if let Some(t) = self.inner.lock_state().tenant_mut(tenant) {
            t.ca_throttling = on;
        }
    }

    /// Plays the customer's Global Administrator approving a GDAP relationship that the
    /// partner locked for approval: it becomes `active`, names `customer`, starts its
    /// duration, and the customer joins the partner's customer list.
    pub fn approve_relationship(
        &self,
        partner: &str,
        relationship_id: &str,
        customer: &str,
    ) -> Result<(), String> {
        graph::gdap::approve(
            &self.inner,
            partner,
            relationship_id,
            customer,
            self.inner.clock.now(),
        )
    }

    /// Adds a fault injection rule (rules are checked in order; the first that fires wins).
    pub fn add_fault(&self, rule: FaultRule) {
        self.inner
            .faults
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(rule);
    }

    /// Removes all fault rules.
    pub fn clear_faults(&self) {
        self.inner
            .faults
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// Every request received so far.
    pub fn request_log(&self) -> Vec<LoggedRequest> {
        self.inner
            .log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Clears the request log.
    pub fn clear_log(&self) {
        self.inner
            .log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// Answers one request (what [`Transport::send`] does, without the latency).
    pub fn handle(&self, request: &HttpRequest) -> HttpResponse {
        let (reply, tenant) = self.inner.route(request);
        let n = {
            let mut c = self.inner.counter.lock().unwrap_or_else(|p| p.into_inner());
            *c += 1;
            *c
        };
        self.inner
            .log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(LoggedRequest {
                at: self.inner.clock.now(),
                method: request.method().to_string(),
                path: request.uri().path().to_owned(),
                query: request.uri().query().map(odata::percent_decode),
                tenant,
                status: reply.status,
            });
        let mut response = http::Response::new(reply.body);
        *response.status_mut() =
            StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let h = response.headers_mut();
        for (k, v) in reply.headers {
            if let Ok(v) = HeaderValue::from_str(&v) {
                h.insert(k, v);
            }
        }
        if let Ok(v) = HeaderValue::from_str(&state::synthetic_guid(&format!("request-{n}"))) {
            h.insert("request-id", v);
        }
        if let Some(crid) = request.headers().get("client-request-id") {
            h.insert("client-request-id", crid.clone());
        }
        response
    }
}

impl Default for Simulator {
    fn default() -> Self {
        Simulator::new()
    }
}

#[async_trait]
impl Transport for Simulator {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let latency = *self.inner.latency.lock().unwrap_or_else(|p| p.into_inner());
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        Ok(self.handle(&request))
    }
}
