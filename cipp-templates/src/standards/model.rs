//! What a standard is: its metadata in CIPP's vocabulary, the modes it is used in, and the
//! [`Standard`] trait every built-in or custom standard implements.

use std::fmt;

use async_trait::async_trait;
use cipp_core::Error;
use cipp_exchange::TenantExchange;
use cipp_graph::TenantGraph;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::read::{Read, Snapshot};

/// The area a standard belongs to (CIPP's `cat`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Category {
    /// "Global Standards".
    Global,
    /// "Entra (AAD) Standards".
    Entra,
    /// "Exchange Standards".
    Exchange,
    /// "Defender Standards".
    Defender,
    /// "Intune Standards".
    Intune,
    /// "SharePoint Standards".
    SharePoint,
    /// "Teams Standards".
    Teams,
    /// "Templates": standards that deploy stored templates.
    Templates,
}

impl Category {
    /// CIPP's label.
    pub fn label(self) -> &'static str {
        match self {
            Category::Global => "Global Standards",
            Category::Entra => "Entra (AAD) Standards",
            Category::Exchange => "Exchange Standards",
            Category::Defender => "Defender Standards",
            Category::Intune => "Intune Standards",
            Category::SharePoint => "SharePoint Standards",
            Category::Teams => "Teams Standards",
            Category::Templates => "Templates",
        }
    }
}

/// How disruptive a standard's remediation is (CIPP's `impact`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Impact {
    /// "Low Impact".
    Low,
    /// "Medium Impact".
    Medium,
    /// "High Impact".
    High,
}

impl Impact {
    /// CIPP's label.
    pub fn label(self) -> &'static str {
        match self {
            Impact::Low => "Low Impact",
            Impact::Medium => "Medium Impact",
            Impact::High => "High Impact",
        }
    }
}

/// The modes a standard is used in. Remediate implies report. Taking a mode away (or the
/// standard) only stops enforcing: nothing already set in a tenant is reverted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Mode {
    /// Record current vs expected.
    #[serde(default)]
    pub report: bool,
    /// Raise an alert on new drift.
    #[serde(default)]
    pub alert: bool,
    /// Change the tenant to the expected state, then read it again to prove it.
    #[serde(default)]
    pub remediate: bool,
}

impl Mode {
    /// Report only.
    pub const REPORT: Mode = Mode {
        report: true,
        alert: false,
        remediate: false,
    };
    /// Report and alert.
    pub const ALERT: Mode = Mode {
        report: true,
        alert: true,
        remediate: false,
    };
    /// Report and remediate.
    pub const REMEDIATE: Mode = Mode {
        report: true,
        alert: false,
        remediate: true,
    };
    /// Every mode.
    pub const ALL: Mode = Mode {
        report: true,
        alert: true,
        remediate: true,
    };

    /// This mode with remediate implying report.
    pub fn normalised(self) -> Mode {
        Mode {
            report: self.report || self.remediate,
            ..self
        }
    }

    /// Whether the mode does anything.
    pub fn is_empty(self) -> bool {
        !(self.report || self.alert || self.remediate)
    }

    /// Whether every mode of `self` is in `supported`.
    pub fn within(self, supported: Mode) -> bool {
        (!self.report || supported.report)
            && (!self.alert || supported.alert)
            && (!self.remediate || supported.remediate)
    }

    /// The mode from CIPP's `action` list (`[{"label": "Remediate", "value": "Remediate"},
    /// {"value": "warn"}, …]`, or plain strings): `Report`, `warn` (alert), `Remediate`.
    pub fn from_cipp_actions(actions: &Value) -> Result<Mode, Error> {
        let mut mode = Mode::default();
        let items = match actions {
            Value::Array(a) => a.as_slice(),
            Value::Null => &[],
            other => std::slice::from_ref(other),
        };
        for item in items {
            let v = item
                .get("value")
                .and_then(Value::as_str)
                .or_else(|| item.as_str())
                .unwrap_or_default();
            match v.to_ascii_lowercase().as_str() {
                "report" => mode.report = true,
                "warn" | "alert" => mode.alert = true,
                "remediate" => mode.remediate = true,
                _ => {
                    return Err(Error::invalid_input(
                        "action",
                        format!("`{v}` is not a standards action; use Report, warn or Remediate"),
                    ))
                }
            }
        }
        Ok(mode.normalised())
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if self.report {
            parts.push("report");
        }
        if self.alert {
            parts.push("alert");
        }
        if self.remediate {
            parts.push("remediate");
        }
        if parts.is_empty() {
            f.write_str("none")
        } else {
            f.write_str(&parts.join("+"))
        }
    }
}

/// A standard's metadata, as CIPP's `standards.json` gives it.
#[derive(Clone, Debug, Serialize)]
pub struct StandardMeta {
    /// CIPP's name without the prefix (`SecurityDefaults`).
    pub name: &'static str,
    /// Category.
    pub category: Category,
    /// Impact.
    pub impact: Impact,
    /// Short label (CIPP's `label`).
    pub label: &'static str,
    /// What it does and why (CIPP's `helpText`).
    pub help: &'static str,
    /// Framework tags (CIS, CISA SCuBA, NIST ids) where CIPP gives them.
    pub tags: &'static [&'static str],
    /// Service-plan names of which the tenant needs at least one (empty: none needed).
    pub capabilities: &'static [&'static str],
    /// The modes it supports.
    pub modes: Mode,
    /// Whether it may appear several times in one template (one per deployed template).
    pub multiple: bool,
    /// What it reads, for the docs (`GET policies/authorizationPolicy`).
    pub reads_doc: &'static str,
    /// What it writes, for the docs (`PATCH policies/authorizationPolicy`).
    pub writes_doc: &'static str,
}

impl StandardMeta {
    /// The id in CIPP's naming: `standards.<Name>`.
    pub fn id(&self) -> String {
        format!("standards.{}", self.name)
    }
}

/// What a standard found: the current and the expected state, as JSON. The engine compares
/// them canonically (sorted keys, arrays sorted where the standard says order carries no
/// meaning, see [`super::compare`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Check {
    /// Evaluated: current vs expected.
    Evaluated {
        /// What the tenant has (only the compared properties).
        current: Value,
        /// What the standard wants.
        expected: Value,
    },
    /// The standard does not apply to this tenant (no Exchange mailboxes, a hybrid
    /// setting, …), and why.
    NotApplicable(String),
}

impl Check {
    /// Current vs expected.
    pub fn evaluated(current: Value, expected: Value) -> Check {
        Check::Evaluated { current, expected }
    }
}

/// What a standard reaches in a tenant when it remediates.
#[derive(Clone, Debug)]
pub struct TenantTarget {
    /// Graph for the tenant.
    pub graph: TenantGraph,
    /// Exchange for the tenant.
    pub exchange: TenantExchange,
}

/// A standard: desired state of one aspect of a tenant.
///
/// A standard declares what it reads ([`Standard::reads`]); the engine reads each object
/// once per tenant for every standard that needs it (Graph reads in `$batch`), then calls
/// [`Standard::check`] on the shared [`Snapshot`]. In remediate mode the engine calls
/// [`Standard::remediate`] for a drifted tenant, reads the standard's objects again and
/// checks once more: a remediation is only reported done when the re-read is compliant.
#[async_trait]
pub trait Standard: Send + Sync + 'static {
    /// Metadata.
    fn meta(&self) -> &StandardMeta;

    /// Checks `settings` (the standard's typed settings as JSON) before anything is sent;
    /// an error names the field and says what to write.
    fn validate(&self, settings: &Value) -> Result<(), Error>;

    /// What it reads in a tenant with these settings.
    fn reads(&self, settings: &Value) -> Vec<Read>;

    /// The reads it needs after its first ones, named from what they returned (one per
    /// mailbox for `calDefault`, …). The engine reads them in a second round, shared by
    /// every standard of the tenant, before [`Standard::check`], and again when it re-reads
    /// after a remediation. `snapshot` holds at least the answers to
    /// [`Standard::reads`]. The default is none: most standards read everything up front.
    fn follow_up_reads(&self, settings: &Value, snapshot: &Snapshot) -> Vec<Read> {
        let _ = (settings, snapshot);
        Vec::new()
    }

    /// Current vs expected from the shared reads.
    fn check(&self, settings: &Value, snapshot: &Snapshot) -> Result<Check, Error>;

    /// Current vs expected, with the tenant at hand: what the engine calls. The default is
    /// [`Standard::check`] on the shared reads; a standard whose state is not one shared
    /// object (template standards plan the stored template against the tenant) reads what
    /// it needs here.
    async fn check_in_tenant(
        &self,
        settings: &Value,
        snapshot: &Snapshot,
        target: &TenantTarget,
    ) -> Result<Check, Error> {
        let _ = target;
        self.check(settings, snapshot)
    }

    /// Brings the tenant to the expected state. `snapshot` is what `check` saw.
    async fn remediate(
        &self,
        settings: &Value,
        snapshot: &Snapshot,
        target: &TenantTarget,
    ) -> Result<(), Error>;

    /// The id, `standards.<Name>`.
    fn id(&self) -> String {
        self.meta().id()
    }
}
