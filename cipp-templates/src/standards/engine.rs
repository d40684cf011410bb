//! One tenant's standards run: validate every assignment (nothing is sent for an invalid
//! one), read what they need once (shared, Graph reads in `$batch`), gate on licences,
//! check, and in remediate mode change the tenant and read it again to prove it.
//!
//! A failing standard never stops the others: its result says why.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use cipp_core::{Error, ErrorSummary, TenantId};
use futures::StreamExt;
use serde_json::Value;

use super::compare::differences;
use super::model::{Check, Mode, Standard, TenantTarget};
use super::read::{fetch_for, GraphListing, Read, Snapshot};
use super::results::{ResultKey, StandardResult, Status};

/// One use of a standard in a tenant: the standard, its settings, its modes, and where it
/// came from.
#[derive(Clone)]
pub struct Assignment {
    /// The standard.
    pub standard: Arc<dyn Standard>,
    /// Its settings (JSON of its typed settings).
    pub settings: Value,
    /// The modes it runs in (remediate implies report).
    pub mode: Mode,
    /// For standards that appear once per deployed template: that template's id (part of
    /// the result's key).
    pub template: Option<String>,
    /// The standards template that asked for it.
    pub source: Option<String>,
}

impl std::fmt::Debug for Assignment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Assignment")
            .field("standard", &self.standard.id())
            .field("settings", &self.settings)
            .field("mode", &self.mode)
            .field("template", &self.template)
            .field("source", &self.source)
            .finish()
    }
}

impl Assignment {
    /// `standard` with `settings` in `mode`.
    pub fn new(standard: Arc<dyn Standard>, settings: Value, mode: Mode) -> Self {
        Assignment {
            standard,
            settings,
            mode: mode.normalised(),
            template: None,
            source: None,
        }
    }

    /// Checks the mode and the settings; nothing is sent.
    pub fn validate(&self) -> Result<(), Error> {
        let meta = self.standard.meta();
        if self.mode.is_empty() {
            return Err(Error::invalid_input(
                meta.id(),
                "no mode: choose report, alert or remediate",
            ));
        }
        if !self.mode.within(meta.modes) {
            return Err(Error::invalid_input(
                meta.id(),
                format!(
                    "mode {} is not supported; this standard supports {}",
                    self.mode, meta.modes
                ),
            ));
        }
        self.standard.validate(&self.settings)
    }
}

/// How many remediations of one tenant run at once.
pub const REMEDIATION_CONCURRENCY: usize = 4;

/// Runs `assignments` in one tenant; one result per assignment, in order.
pub async fn run_tenant(
    target: &TenantTarget,
    assignments: &[Assignment],
    now: DateTime<Utc>,
) -> Vec<StandardResult> {
    let tenant = target.graph.id().clone();
    let valid: Vec<Result<(), Error>> = assignments.iter().map(Assignment::validate).collect();
    let needs_licences = assignments
        .iter()
        .zip(&valid)
        .any(|(a, v)| v.is_ok() && !a.standard.meta().capabilities.is_empty());
    // Two rounds, shared by every valid assignment: their reads (and the licences), then
    // the follow-up reads those answers call for.
    let standards: Vec<(&dyn Standard, &Value)> = assignments
        .iter()
        .zip(&valid)
        .filter(|(_, v)| v.is_ok())
        .map(|(a, _)| (&*a.standard, &a.settings))
        .collect();
    let extra: &[Read] = if needs_licences {
        &[Read::GraphList(GraphListing::SubscribedSkus)]
    } else {
        &[]
    };
    let snapshot = fetch_for(target, &standards, extra).await;

    // Collected first: a lazy iterator of closures held across the await makes the
    // future's `Send` unprovable for callers that spawn it.
    let work: Vec<_> = assignments
        .iter()
        .zip(valid)
        .map(|(a, v)| {
            let snapshot = &snapshot;
            let tenant = tenant.clone();
            async move {
                let mut result = base_result(&tenant, a, now);
                if let Err(e) = v {
                    return failed(result, &e);
                }
                evaluate(target, a, snapshot, &mut result).await;
                result
            }
        })
        .collect();
    futures::stream::iter(work)
        .buffered(REMEDIATION_CONCURRENCY)
        .collect()
        .await
}

fn base_result(tenant: &TenantId, a: &Assignment, now: DateTime<Utc>) -> StandardResult {
    StandardResult {
        key: ResultKey {
            tenant: tenant.clone(),
            standard: a.standard.id(),
            template: a.template.clone(),
        },
        source: a.source.clone(),
        mode: a.mode,
        status: Status::Failed,
        current: None,
        expected: None,
        differences: Vec::new(),
        message: None,
        error: None,
        checked_at: now,
    }
}

fn failed(mut r: StandardResult, e: &Error) -> StandardResult {
    r.status = Status::Failed;
    r.error = Some(ErrorSummary::from(e));
    r
}

/// Whether the tenant's licences (`subscribedSkus` as JSON) include an enabled service plan
/// named in `capabilities` (CIPP's `Test-CIPPStandardLicense`: SKUs whose capability status
/// is `Enabled` or `Warning`, their service plans by name). No capability needed: true.
pub fn licensed(skus: &Value, capabilities: &[&str]) -> bool {
    if capabilities.is_empty() {
        return true;
    }
    skus.as_array().into_iter().flatten().any(|sku| {
        let status = sku["capabilityStatus"].as_str().unwrap_or("Enabled");
        (status.eq_ignore_ascii_case("Enabled") || status.eq_ignore_ascii_case("Warning"))
            && sku["servicePlans"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|p| {
                    p["servicePlanName"]
                        .as_str()
                        .is_some_and(|n| capabilities.iter().any(|c| c.eq_ignore_ascii_case(n)))
                })
    })
}

async fn evaluate(
    target: &TenantTarget,
    a: &Assignment,
    snapshot: &Snapshot,
    result: &mut StandardResult,
) {
    let meta = a.standard.meta();
    if !meta.capabilities.is_empty() {
        match snapshot.get(&Read::GraphList(GraphListing::SubscribedSkus)) {
            Ok(skus) if !licensed(skus, meta.capabilities) => {
                result.status = Status::LicenceMissing;
                result.message = Some(format!(
                    "the tenant has no licence with any of these service plans: {}",
                    meta.capabilities.join(", ")
                ));
                return;
            }
            Ok(_) => {}
            Err(e) => {
                *result = failed(result.clone(), &e);
                return;
            }
        }
    }
    let (current, expected) = match a
        .standard
        .check_in_tenant(&a.settings, snapshot, target)
        .await
    {
        Ok(Check::Evaluated { current, expected }) => (current, expected),
        Ok(Check::NotApplicable(why)) => {
            result.status = Status::NotApplicable;
            result.message = Some(why);
            return;
        }
        Err(e) => {
            *result = failed(result.clone(), &e);
            return;
        }
    };
    let diffs = differences(&current, &expected, true);
    result.expected = Some(expected);
    result.current = Some(current);
    if diffs.is_empty() {
        result.status = Status::Compliant;
        return;
    }
    result.differences = diffs;
    if !a.mode.remediate {
        result.status = Status::Drifted;
        return;
    }
    if let Err(e) = a.standard.remediate(&a.settings, snapshot, target).await {
        result.status = Status::RemediationFailed;
        result.error = Some(ErrorSummary::from(&e));
        return;
    }
    // Proof: read this standard's objects again, follow-ups included (not the shared
    // snapshot), and check.
    let fresh = fetch_for(target, &[(&*a.standard, &a.settings)], &[]).await;
    match a
        .standard
        .check_in_tenant(&a.settings, &fresh, target)
        .await
    {
        Ok(Check::Evaluated { current, expected }) => {
            let left = differences(&current, &expected, true);
            result.current = Some(current);
            result.expected = Some(expected);
            if left.is_empty() {
                result.status = Status::Remediated;
            } else {
                result.status = Status::RemediationFailed;
                result.message = Some(format!(
                    "the change was sent but the tenant still differs in {}",
                    left.iter()
                        .map(|d| d.field.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        Ok(Check::NotApplicable(_)) => {
            result.status = Status::RemediationFailed;
            result.message = Some("the standard no longer applies after the change".into());
        }
        Err(e) => {
            result.status = Status::RemediationFailed;
            result.message = Some("the change was sent but reading it back failed".into());
            result.error = Some(ErrorSummary::from(&e));
        }
    }
}
