//! Drift: a tenant's deviations from its standards templates, each with the decision an
//! MSP took about it (CIPP's `tenantDrift`).
//!
//! Deviations are the tenant's standards that are not compliant (drifted, or remediation
//! failed; licence-missing results are not drift) and — for drift templates — the
//! Conditional Access and Intune policies present in the tenant but deployed by no
//! template ([`ExtraPolicy`]). Each has a stable id; a [`DriftDecision`] gives it a
//! [`DriftStatus`]: accepted, denied, customer-specific, denied-remediate (remediate it) or
//! denied-delete (delete the extra policy). Without a decision a deviation is new. Decisions
//! are kept in a [`DriftBook`].

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cipp_core::TenantId;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::results::ResultRecord;
use crate::store::{lock, StoreError};

/// What an MSP decided about a deviation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum DriftStatus {
    /// Not looked at yet.
    New,
    /// Accepted: the tenant may differ.
    Accepted,
    /// Denied: the tenant should not differ (nothing is changed automatically).
    Denied,
    /// Accepted as this customer's own requirement.
    CustomerSpecific,
    /// Denied, and the standard is to be remediated.
    DeniedRemediate,
    /// Denied, and the extra policy is to be deleted.
    DeniedDelete,
}

impl DriftStatus {
    /// CIPP's name (`New`, `Accepted`, `Denied`, `CustomerSpecific`, `DeniedRemediate`,
    /// `DeniedDelete`).
    pub fn cipp_name(self) -> &'static str {
        match self {
            DriftStatus::New => "New",
            DriftStatus::Accepted => "Accepted",
            DriftStatus::Denied => "Denied",
            DriftStatus::CustomerSpecific => "CustomerSpecific",
            DriftStatus::DeniedRemediate => "DeniedRemediate",
            DriftStatus::DeniedDelete => "DeniedDelete",
        }
    }

    /// Whether the deviation still counts against the tenant (new or denied in any way):
    /// accepted and customer-specific ones do not.
    pub fn counts(self) -> bool {
        !matches!(self, DriftStatus::Accepted | DriftStatus::CustomerSpecific)
    }
}

/// A kind of policy drift looks for beyond the templates.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
#[non_exhaustive]
pub enum PolicyKind {
    /// A Conditional Access policy.
    ConditionalAccess,
    /// An Intune policy of a collection (`deviceConfigurations`, `configurationPolicies`,
    /// `deviceCompliancePolicies`, `groupPolicyConfigurations`).
    Intune {
        /// The Graph collection.
        collection: String,
    },
}

/// A policy in the tenant that no template of the tenant deploys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExtraPolicy {
    /// What kind.
    pub kind: PolicyKind,
    /// Its id in the tenant.
    pub id: String,
    /// Its name.
    pub name: String,
    /// When it last changed, as the service says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<DateTime<Utc>>,
}

impl ExtraPolicy {
    /// The deviation id: `policy:<kind>:<id>`.
    pub fn deviation_id(&self) -> String {
        match &self.kind {
            PolicyKind::ConditionalAccess => format!("policy:conditionalAccess:{}", self.id),
            PolicyKind::Intune { collection } => format!("policy:{collection}:{}", self.id),
        }
    }
}

/// What deviates.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
#[non_exhaustive]
pub enum Subject {
    /// A standard that is not compliant.
    Standard {
        /// `standards.<Name>`.
        standard: String,
        /// The deployed template, for template standards.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        template: Option<String>,
    },
    /// A policy in no template.
    ExtraPolicy(ExtraPolicy),
}

/// One deviation of a tenant, with its status.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deviation {
    /// The tenant.
    pub tenant: TenantId,
    /// Stable id: `standards.<Name>[.<template>]` or `policy:<kind>:<id>`.
    pub id: String,
    /// What deviates.
    pub subject: Subject,
    /// The decision's status, or `New`.
    pub status: DriftStatus,
    /// The tenant's values (standards).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<Value>,
    /// The expected values (standards).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<Value>,
    /// When the drift was first seen (standards).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
    /// The decision, when one was taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<DriftDecision>,
}

/// A decision about one deviation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DriftDecision {
    /// The tenant.
    pub tenant: TenantId,
    /// The deviation's id.
    pub deviation: String,
    /// The status decided.
    pub status: DriftStatus,
    /// Who decided.
    pub by: String,
    /// When.
    pub at: DateTime<Utc>,
    /// Why, in the decider's words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The deviation id of a standard's result key: `standards.<Name>` or
/// `standards.<Name>.<template>`.
pub fn standard_deviation_id(standard: &str, template: Option<&str>) -> String {
    match template {
        Some(t) => format!("{standard}.{t}"),
        None => standard.to_owned(),
    }
}

/// A tenant's deviations: its latest non-compliant standard results (`records`, any
/// tenant's are skipped) and the extra policies, each with its decision (the latest per
/// deviation) or `New`. Standards first (by id), then policies (by id).
pub fn deviations(
    tenant: &TenantId,
    records: &[ResultRecord],
    extras: &[ExtraPolicy],
    decisions: &[DriftDecision],
) -> Vec<Deviation> {
    let mut latest: BTreeMap<&str, &DriftDecision> = BTreeMap::new();
    for d in decisions.iter().filter(|d| &d.tenant == tenant) {
        match latest.get(d.deviation.as_str()) {
            Some(old) if old.at > d.at => {}
            _ => {
                latest.insert(&d.deviation, d);
            }
        }
    }
    let decided = |id: &str| -> (DriftStatus, Option<DriftDecision>) {
        match latest.get(id) {
            Some(d) => (d.status, Some((*d).clone())),
            None => (DriftStatus::New, None),
        }
    };
    let mut out: Vec<Deviation> = records
        .iter()
        .filter(|r| &r.result.key.tenant == tenant && r.result.status.is_drift())
        .map(|r| {
            let key = &r.result.key;
            let id = standard_deviation_id(&key.standard, key.template.as_deref());
            let (status, decision) = decided(&id);
            Deviation {
                tenant: tenant.clone(),
                id,
                subject: Subject::Standard {
                    standard: key.standard.clone(),
                    template: key.template.clone(),
                },
                status,
                current: r.result.current.clone(),
                expected: r.result.expected.clone(),
                since: r.drift_since,
                decision,
            }
        })
        .collect();
    out.sort_by(|a, b| a.id.cmp(&b.id));
    let mut policies: Vec<Deviation> = extras
        .iter()
        .map(|p| {
            let id = p.deviation_id();
            let (status, decision) = decided(&id);
            Deviation {
                tenant: tenant.clone(),
                id,
                subject: Subject::ExtraPolicy(p.clone()),
                status,
                current: None,
                expected: None,
                since: None,
                decision,
            }
        })
        .collect();
    policies.sort_by(|a, b| a.id.cmp(&b.id));
    out.extend(policies);
    out
}

/// Where drift decisions are kept.
#[async_trait]
pub trait DriftBook: Send + Sync {
    /// Records a decision (a later one for the same deviation replaces it).
    async fn decide(&self, decision: DriftDecision) -> Result<(), StoreError>;
    /// The decisions of `tenant`, oldest first.
    async fn decisions(&self, tenant: &TenantId) -> Result<Vec<DriftDecision>, StoreError>;
}

/// Drift decisions in memory.
#[derive(Debug, Default)]
pub struct MemoryDriftBook {
    inner: Mutex<Vec<DriftDecision>>,
}

impl MemoryDriftBook {
    /// An empty book.
    pub fn new() -> Self {
        MemoryDriftBook::default()
    }
}

#[async_trait]
impl DriftBook for MemoryDriftBook {
    async fn decide(&self, decision: DriftDecision) -> Result<(), StoreError> {
        lock(&self.inner).push(decision);
        Ok(())
    }

    async fn decisions(&self, tenant: &TenantId) -> Result<Vec<DriftDecision>, StoreError> {
        Ok(lock(&self.inner)
            .iter()
            .filter(|d| &d.tenant == tenant)
            .cloned()
            .collect())
    }
}
