//! **cipp** — manage hundreds of Microsoft 365 customer tenants the way CIPP does, from Rust.
//!
//! This facade re-exports the crate family, so `cargo add cipp` is enough:
//! [`core`] (transport, pipeline, auth, paging, errors, fleets, outcomes),
//! [`graph`], [`exchange`], [`templates`], [`scheduler`] and the simulator [`sim`].
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub use cipp_core as core;
pub use cipp_exchange as exchange;
pub use cipp_graph as graph;
pub use cipp_scheduler as scheduler;
pub use cipp_sim as sim;
pub use cipp_templates as templates;

pub use cipp_core::{
    Audience, Cloud, Credentials, Endpoints, Error, Fleet, FleetEvent, Outcome, Pipeline, Report,
    Result, Tenant, TenantId,
};
