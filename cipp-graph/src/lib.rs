//! Typed Microsoft Graph operations for cipp-rs.
//!
//! This crate will hold the identity side (users, groups, authentication methods, deleted
//! items, audit, reports, domains, `$batch`) and the management side (GDAP, Intune,
//! Conditional Access). Requests are built as values over [`cipp_core`]'s pipeline.
//! It is being filled by the Graph issues; today it only re-exports the core.

pub use cipp_core;
