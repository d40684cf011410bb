//! Templates (capture, store, variables, deploy) and standards (desired state per tenant,
//! report / alert / remediate, compliance matrix) for cipp-rs.
//!
//! It is being filled by the templates issue; today it only re-exports the core.

pub use cipp_core;
