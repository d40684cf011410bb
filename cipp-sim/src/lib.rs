//! **cipp-sim** — a simulated Microsoft 365 for cipp-rs examples and for integrators' tests.
//!
//! The [`Simulator`] implements [`cipp_core::Transport`]: plug it into a pipeline instead
//! of the network (or serve it over HTTP with the `http` feature) and it answers like the
//! real services — the token endpoint (client credentials and refresh-token grants, with
//! real AADSTS error bodies), Microsoft Graph (directory, authentication methods, logs,
//! mail, GDAP, Conditional Access, Intune, `$batch`) and the Exchange admin API — for many
//! tenants at once. It keeps its state as JSON, independent of the SDK's models, so it
//! checks the SDK instead of mirroring it.
//!
//! The simulator routes on the path only, so the real hosts (the default
//! [`cipp_core::Endpoints`]) work as they are.
//!
//! # Testing your own code against it
//!
//! Seed exactly what a test needs with [`Simulator::builder`] (or from a JSON file with
//! [`kit::SimBuilder::seed_json`]), inject faults and latency per route, Exchange cmdlet or
//! tenant, and assert over the request log:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use cipp_core::{ApiRequest, Audience, Pipeline, RetryPolicy, TenantId};
//! use cipp_sim::kit::{GroupSeed, TenantSeed, UserSeed};
//! use cipp_sim::{FaultKind, FaultRule, FaultTrigger, Simulator};
//!
//! // The code under test: how many groups is a user in?
//! async fn group_count(p: &Pipeline, t: &TenantId, upn: &str) -> Result<usize, cipp_core::Error> {
//!     let req = ApiRequest::get(t.clone(), Audience::Graph, format!("/v1.0/users/{upn}/memberOf/microsoft.graph.group"));
//!     let page: serde_json::Value = p.send_json(req).await?;
//!     Ok(page["value"].as_array().map_or(0, Vec::len))
//! }
//!
//! let sim = Simulator::builder()
//!     .tenant(
//!         TenantSeed::new("contoso.onmicrosoft.com", "Contoso")
//!             .domain("contoso.com")
//!             .user(UserSeed::new("adele@contoso.com", "Adele Vance"))
//!             .group(GroupSeed::security("Sales").member("adele@contoso.com"))
//!             .group(GroupSeed::microsoft365("All Staff").member("adele@contoso.com")),
//!     )
//!     // The first memberOf request is throttled; the code under test must retry.
//!     .fault(
//!         FaultRule::new(FaultKind::Throttle { retry_after: "0".into() }, FaultTrigger::Nth(1))
//!             .on_route("GET", "/v1.0/users/{id}/memberOf/*"),
//!     )
//!     .build();
//! let p = Pipeline::builder()
//!     .transport(Arc::new(sim.clone()))
//!     .credentials(sim.client_credentials())
//!     .retry(RetryPolicy { base_delay: std::time::Duration::from_millis(1), ..RetryPolicy::default() })
//!     .build()?;
//! let contoso = TenantId::parse("contoso.com")?;
//! assert_eq!(group_count(&p, &contoso, "adele@contoso.com").await?, 2);
//!
//! let log = sim.log();
//! log.expect_count("GET", "/v1.0/users/{id}/memberOf/*", 2)?; // throttled, then retried
//! log.expect_none("*", "/v1.0/groups/*")?;
//! assert!(sim.log().writes().is_empty(), "the code under test only reads");
//! # Ok(()) }
//! ```
//!
//! [`Simulator::demo`] is a ready-made partner with three customers and a compromised
//! account ([`scenario`]):
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

mod exchange;
mod faults;
mod graph;
#[cfg(feature = "http")]
pub mod http_server;
pub mod kit;
mod log;
mod odata;
mod reply;
pub mod scenario;
mod sharepoint;
mod sim;
pub mod state;
mod token;

use std::sync::{Arc, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use cipp_core::{Clock, HttpRequest, HttpResponse, SystemClock, Transport, TransportError};
use http::{HeaderValue, StatusCode};

pub use faults::{FaultKind, FaultRule, FaultTrigger, LatencyRule, RequestMatch};
pub use log::{LogMismatch, LoggedRequest, RequestLog};
pub(crate) use reply::Reply;
pub(crate) use sim::Sim;
pub use state::{ExoState, SimApp, SimState, SimTenant};

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

fn locked<T>(m: &std::sync::Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Simulator {
    /// An empty simulator on the system clock.
    pub fn new() -> Self {
        Simulator::with_clock(Arc::new(SystemClock))
    }

    /// An empty simulator whose request log uses `clock`.
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        Simulator {
            inner: Arc::new(Sim::new(clock)),
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
        *locked(&self.inner.latency) = latency;
    }

    /// Adds latency to the requests a rule matches (a route, an Exchange cmdlet, a
    /// tenant), on top of [`Simulator::set_latency`]; the first matching rule counts.
    pub fn add_latency(&self, rule: LatencyRule) {
        locked(&self.inner.latency_rules).push(rule);
    }

    /// Removes every latency rule and the global latency.
    pub fn clear_latency(&self) {
        locked(&self.inner.latency_rules).clear();
        *locked(&self.inner.latency) = Duration::ZERO;
    }

    /// Switches Graph's Conditional Access throttling on or off for a tenant: when on, a
    /// second request within one second gets 429 without `Retry-After`.
    pub fn set_ca_throttling(&self, tenant: &str, on: bool) {
        if let Some(t) = self.inner.lock_state().tenant_mut(tenant) {
            t.conditional_access.throttling = on;
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
        locked(&self.inner.faults).push(rule);
    }

    /// Removes all fault rules.
    pub fn clear_faults(&self) {
        locked(&self.inner.faults).clear();
    }

    /// Every HTTP request received so far (items inside a `$batch` are in [`Simulator::log`]).
    pub fn request_log(&self) -> Vec<LoggedRequest> {
        locked(&self.inner.log)
            .iter()
            .filter(|l| !l.in_batch)
            .cloned()
            .collect()
    }

    /// The request log with `$batch` items, for assertions (see [`RequestLog`]).
    pub fn log(&self) -> RequestLog {
        RequestLog::new(locked(&self.inner.log).clone())
    }

    /// Clears the request log.
    pub fn clear_log(&self) {
        locked(&self.inner.log).clear();
    }

    /// Answers one request (what [`Transport::send`] does, without the latency).
    pub fn handle(&self, request: &HttpRequest) -> HttpResponse {
        let reply = self.inner.answer(request, false);
        let n = self.inner.next_n();
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
        let latency = self.inner.latency_for(&request);
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        Ok(self.handle(&request))
    }
}
