//! **cipp** — manage hundreds of Microsoft 365 customer tenants the way CIPP does, from Rust.
//!
//! [`Cipp`] is one client for the whole fleet: `cipp.tenants()` lists it (from GDAP or a
//! given list), `cipp.tenant(&id)?` gives a [`TenantHandle`] (refused for a tenant out of
//! scope) with the Graph and Exchange clients and [`users::UserActions`] — every action of
//! CIPP's user flyout. [`research::research`] investigates a compromised account and scores what it finds;
//! [`remediation::remediate`] and [`offboarding::offboard`] run CIPP's steps with one outcome
//! each. The facade re-exports the crate family: [`core`], [`graph`], [`exchange`],
//! [`templates`], [`scheduler`] and (feature `sim`) the simulator `sim`.
//!
//! Features (none by default): `sim` (the simulated Microsoft 365, with `test-util`),
//! `test-util` (`core::test_util`: `MockTransport`, `OperationMock`, `FakeTokenProvider`),
//! `sqlite` and `postgres` (the scheduler's durable stores). With the defaults, neither the
//! simulator nor SQLite is built.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), cipp::Error> {
//! use std::sync::Arc;
//! let sim = cipp::sim::Simulator::demo();
//! let cipp = cipp::Cipp::builder()
//!     .transport(Arc::new(sim.clone()))
//!     .credentials(sim.demo_credentials())
//!     .partner_tenant(cipp::sim::scenario::DEMO_PARTNER)?
//!     .build()?;
//! let contoso = cipp::TenantId::parse("contoso.onmicrosoft.com")?;
//! let report = cipp::research::research(&cipp.tenant(&contoso)?, "meganb@contoso.com", &Default::default()).await?;
//! assert_eq!(report.verdict, cipp::research::Verdict::LikelyCompromised);
//! # Ok(()) }
//! ```
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod access;
pub mod alerts;
pub mod audit_log;
pub mod audit_rules;
pub mod audit_sinks;
pub mod authz;
mod client;
pub mod commands;
mod follow_ups;
pub mod gdap;
pub mod gdap_membership;
pub mod gdap_templates;
pub mod offboarding;
pub mod onboarding;
pub mod recycle_bin;
pub mod remediation;
pub mod research;
pub mod sharepoint;
pub mod standards;
pub mod templates;
pub mod triggers;
mod user_commands;
pub mod users;

pub use cipp_core as core;
pub use cipp_exchange as exchange;
pub use cipp_graph as graph;
pub use cipp_scheduler as scheduler;
#[cfg(feature = "sim")]
pub use cipp_sim as sim;

pub use cipp_core::{
    Audience, Cloud, Credentials, Endpoints, Error, Fleet, FleetEvent, Outcome, Pipeline, Report,
    Result, SecretString, Tenant, TenantId,
};
pub use client::{Cipp, CippBuilder, FleetRun, TenantHandle};

/// The README's code, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
