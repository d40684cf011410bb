//! The Exchange Online admin REST client (`InvokeCommand`) and typed cmdlets for cipp-rs.
//!
//! It is being filled by the Exchange issue; today it only re-exports the core.

pub use cipp_core;
