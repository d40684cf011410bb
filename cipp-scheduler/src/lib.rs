//! A durable, multi-tenant task scheduler for cipp-rs.
//!
//! It is being filled by the scheduler issue; today it only re-exports the core.

pub use cipp_core;
