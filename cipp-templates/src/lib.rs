//! Templates (capture, store, variables, deploy) and standards (desired state per tenant,
//! report / alert / remediate, compliance matrix) for cipp-rs.
//!
//! Built so far: the [`variables`] engine every write goes through, the [`template`] model
//! with canonical JSON and content hashes ([`canonical`]), template [`store`]s with history,
//! and [`import`] of CIPP's stored templates and community template folders. Capture, plan,
//! apply and standards follow.
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod canonical;
pub mod capture;
pub mod import;
pub mod store;
pub mod template;
pub mod variables;

pub use cipp_core;
