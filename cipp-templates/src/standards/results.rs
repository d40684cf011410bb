//! What a standard found in a tenant ([`StandardResult`], [`Status`]) and what happened since
//! the last run ([`Transition`]): results are kept in a [`ResultStore`](super::store::ResultStore)
//! with the time drift was first seen and when it was resolved.

use chrono::{DateTime, Utc};
use cipp_core::{ErrorSummary, TenantId};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::compare::FieldDiff;
use super::model::Mode;
use crate::canonical::canonical_string;

/// The state of one (tenant, standard[, template]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum Status {
    /// The tenant is as the standard wants it.
    Compliant,
    /// The tenant differs ([`StandardResult::differences`]); not remediated (report or alert
    /// mode).
    Drifted,
    /// The tenant differed, was changed, and a re-read proved it compliant.
    Remediated,
    /// The tenant differed, was changed, but the re-read still differs (or the change
    /// failed); [`StandardResult::error`] says why.
    RemediationFailed,
    /// The standard could not be checked ([`StandardResult::error`]: missing permission,
    /// GDAP role, throttling, invalid settings, …).
    Failed,
    /// The tenant has none of the licences the standard needs.
    LicenceMissing,
    /// The standard does not apply to this tenant ([`StandardResult::message`] says why).
    NotApplicable,
}

impl Status {
    /// Whether the tenant ended as the standard wants it (compliant or remediated).
    pub fn is_compliant(self) -> bool {
        matches!(self, Status::Compliant | Status::Remediated)
    }

    /// Whether the tenant differs from the standard (drifted or remediation failed).
    pub fn is_drift(self) -> bool {
        matches!(self, Status::Drifted | Status::RemediationFailed)
    }

    /// A short label for reports.
    pub fn label(self) -> &'static str {
        match self {
            Status::Compliant => "Compliant",
            Status::Drifted => "Drifted",
            Status::Remediated => "Remediated",
            Status::RemediationFailed => "Remediation failed",
            Status::Failed => "Failed",
            Status::LicenceMissing => "Licence missing",
            Status::NotApplicable => "Not applicable",
        }
    }
}

/// The key of a result: tenant, standard id (`standards.<Name>`) and, for standards that
/// appear several times, the template.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ResultKey {
    /// Tenant.
    pub tenant: TenantId,
    /// `standards.<Name>`.
    pub standard: String,
    /// The deployed template's id, for template standards; else `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
}

impl std::fmt::Display for ResultKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.template {
            Some(t) => write!(f, "{} {}.{}", self.tenant, self.standard, t),
            None => write!(f, "{} {}", self.tenant, self.standard),
        }
    }
}

/// What one standard found in one tenant in one run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StandardResult {
    /// Tenant, standard, template.
    #[serde(flatten)]
    pub key: ResultKey,
    /// The standards template that asked for it (its id), when it came from one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The modes it ran in.
    pub mode: Mode,
    /// The outcome.
    pub status: Status,
    /// The compared properties as the tenant has them (after remediation when remediated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<Value>,
    /// The compared properties as the standard wants them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<Value>,
    /// What differed (before remediation, for a remediated result).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub differences: Vec<FieldDiff>,
    /// Not-applicable reason, the licences needed, or what remediation left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The error that stopped the check or the remediation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorSummary>,
    /// When it was checked.
    pub checked_at: DateTime<Utc>,
}

impl StandardResult {
    /// A stable fingerprint of the drift (tenant, standard, template and the differing
    /// current values): the same drift seen again has the same fingerprint, a changed
    /// drift a new one. `None` when there is no drift.
    pub fn drift_fingerprint(&self) -> Option<String> {
        if !self.status.is_drift() {
            return None;
        }
        let diffs: Vec<Value> = self
            .differences
            .iter()
            .map(|d| serde_json::json!([d.field, d.current, d.expected]))
            .collect();
        let text = format!(
            "{}\u{1f}{}\u{1f}{}\u{1f}{}",
            self.key.tenant,
            self.key.standard,
            self.key.template.as_deref().unwrap_or(""),
            canonical_string(&Value::Array(diffs))
        );
        let digest = Sha256::digest(text.as_bytes());
        Some(digest.iter().map(|b| format!("{b:02x}")).collect())
    }
}

/// What a recorded result changed compared with the one before.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum Transition {
    /// First result for this key, not drifted.
    First,
    /// Drift seen for the first time (or again after it was resolved).
    NewDrift,
    /// Still drifted, but the drift changed (another fingerprint).
    DriftChanged,
    /// Drift gone (compliant or remediated now).
    Resolved,
    /// Same as before.
    Unchanged,
}

impl Transition {
    /// Whether an alert-mode standard notifies for it: new or changed drift.
    pub fn notifies(self) -> bool {
        matches!(self, Transition::NewDrift | Transition::DriftChanged)
    }
}

/// The latest result of a key with its drift history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultRecord {
    /// The latest result.
    pub result: StandardResult,
    /// When the current drift was first seen (`None` when not drifted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift_since: Option<DateTime<Utc>>,
    /// When the last drift was resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<DateTime<Utc>>,
    /// The current drift's fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

/// The one rule every store applies: the next record of a key from the previous one and a
/// new result, and the transition. A failed check says nothing about drift: the previous
/// drift (its start and fingerprint) is kept, so the same drift seen after a failed run does
/// not notify again.
pub fn next_record(
    prev: Option<&ResultRecord>,
    result: StandardResult,
) -> (ResultRecord, Transition) {
    let now = result.checked_at;
    let prev_fp = prev.and_then(|p| p.fingerprint.clone());
    let prev_since = prev.and_then(|p| p.drift_since);
    let prev_resolved = prev.and_then(|p| p.resolved_at);
    if result.status == Status::Failed {
        let t = if prev.is_none() {
            Transition::First
        } else {
            Transition::Unchanged
        };
        return (
            ResultRecord {
                result,
                drift_since: prev_since,
                resolved_at: prev_resolved,
                fingerprint: prev_fp,
            },
            t,
        );
    }
    let fingerprint = result.drift_fingerprint();
    let (transition, drift_since, resolved_at) = match (&prev_fp, &fingerprint) {
        (None, Some(_)) => (Transition::NewDrift, Some(now), prev_resolved),
        (Some(a), Some(b)) if a == b => (
            Transition::Unchanged,
            prev_since.or(Some(now)),
            prev_resolved,
        ),
        (Some(_), Some(_)) => (
            Transition::DriftChanged,
            prev_since.or(Some(now)),
            prev_resolved,
        ),
        (Some(_), None) => (Transition::Resolved, None, Some(now)),
        (None, None) if prev.is_none() => (Transition::First, None, None),
        (None, None) => (Transition::Unchanged, None, prev_resolved),
    };
    (
        ResultRecord {
            result,
            drift_since,
            resolved_at,
            fingerprint,
        },
        transition,
    )
}

/// A recorded result and what it changed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recorded {
    /// The record as stored now.
    pub record: ResultRecord,
    /// What changed.
    pub transition: Transition,
}
