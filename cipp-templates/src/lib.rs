//! Templates (capture, store, variables, deploy) and standards (desired state per tenant,
//! report / alert / remediate, compliance matrix) for cipp-rs.
//!
//! Built so far: the [`variables`] engine every write goes through, the [`template`] model
//! with canonical JSON and content hashes ([`canonical`]), template [`store`]s with history
//! (memory, directory, SQLite, PostgreSQL), [`import`] of CIPP's stored templates and
//! community template folders, [`capture`] from a tenant with portable references
//! (Conditional Access, groups, user defaults, every Intune kind, and — in [`exchange`] —
//! transport rules, spam and connection filters, connectors and Safe Links), the pure
//! [`plan`] of a deploy (create / update with field diffs / adopt / no-op / conflict per
//! template, bindings that survive renames, missing dependencies in order), the Conditional
//! Access [`guardrails`] (report-only, security defaults, applications the tenant lacks),
//! and [`apply`] with verification for Conditional Access, group and Intune templates
//! (dependencies created first, portable names mapped to the tenant's ids, Intune
//! assignment at deploy time, every object read back and compared, bindings returned) and
//! [`exchange::apply`] for the Exchange kinds. The fleet deploy (variables → guardrails →
//! plan → apply per tenant, Graph and Exchange together, one report) is the facade's
//! `cipp::templates::deploy`. Standards follow.
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod apply;
pub mod canonical;
pub mod capture;
pub mod deploy;
pub mod exchange;
pub mod graph_target;
pub mod guardrails;
pub mod import;
pub mod plan;
mod secrets;
pub mod standards;
pub mod store;
pub mod template;
pub mod variables;

pub use cipp_core;
