//! Standards: desired state per tenant, in report, alert or remediate mode.
//!
//! - [`model`]: the [`Standard`] trait, its [`StandardMeta`] (CIPP's name, category,
//!   impact, tags, licence capabilities, supported modes) and [`Mode`].
//! - [`read`]: what standards read, read once per tenant and shared ([`Snapshot`]).
//! - [`setting`]: the common shape (one object, a few properties, one write) as a table
//!   entry, [`SettingStandard`].
//! - [`compare`]: current vs expected, canonically.
//! - [`catalogue`]: the built-in standards with CIPP's names.
//! - [`engine`]: one tenant's run (reads, checks, remediation proved by a re-read, licence
//!   gating) giving a [`StandardResult`] per standard.
//! - [`results`]: results, their store and history (first seen, resolved).
//! - [`store`]: where results live (memory, SQLite, PostgreSQL).
//! - [`drift`]: deviations (non-compliant standards, policies in no template) with the
//!   decisions taken about them.
//! - [`matrix`]: the compliance matrix across tenants (JSON, CSV, HTML).
//! - [`template`]: standards templates (targets, exclusions, standards with settings and
//!   modes) and their merge per tenant by CIPP's precedence ([`resolve`]).
//!
//! Removing a standard or its remediate mode never reverts anything: a standard only acts
//! when it runs in remediate mode.

pub mod catalogue;
pub mod compare;
pub mod drift;
pub mod engine;
pub mod matrix;
pub mod model;
pub mod read;
pub mod results;
pub mod setting;
pub mod store;
pub mod template;

pub use catalogue::Catalogue;
pub use drift::{
    deviations, Deviation, DriftBook, DriftDecision, DriftStatus, ExtraPolicy, MemoryDriftBook,
    PolicyKind, Subject,
};
pub use engine::{run_tenant, Assignment};
pub use matrix::Matrix;
pub use model::{Category, Check, Impact, Mode, Standard, StandardMeta, TenantTarget};
pub use read::{GraphListing, Read, Snapshot};
pub use results::{Recorded, ResultKey, ResultRecord, StandardResult, Status, Transition};
pub use setting::{Field, SettingStandard, Write};
pub use store::{MemoryResultStore, ResultStore};
pub use template::{resolve, Resolution, StandardEntry, StandardsTemplate, TemplateTarget};

/// Settings of a standard that takes none (accepts `{}` and `null`).
#[derive(Clone, Copy, Debug, Default, serde::Deserialize)]
pub struct NoSettings {}
