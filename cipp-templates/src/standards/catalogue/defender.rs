//! Defender for Office 365 standards (Exchange Online Protection and Defender policies),
//! with CIPP's names, labels, help, tags, licence capabilities and settings.
//!
//! - [`policies`]: the policies CIPP creates with a rule for every accepted domain
//!   (`SafeLinksPolicy`, `AntiPhishPolicy`, `SafeAttachmentPolicy`, `MalwareFilterPolicy`).
//! - [`filters`]: the spam and connection filters and the ATP policy for Office 365
//!   (`SpamFilterPolicy`, `EmptyFilterIPAllowList`, `AntiSpamSafeList`, `AtpPolicyForO365`).
//!
//! Safe Links, Safe Attachments and the ATP policy need Microsoft Defender for Office 365
//! (service plan `ATP_ENTERPRISE`, read from `subscribedSkus`): without it they are not
//! applicable. The anti-phishing policy compares the impersonation settings only where
//! Defender for Office 365 is licensed, as CIPP does.

use std::sync::Arc;

use async_trait::async_trait;
use cipp_core::Error;
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};

use super::exchange::{cmdlet, rows, send_groups, sorted, text, texts, EXCHANGE_CAPABILITIES};
use crate::standards::compare::differences;
use crate::standards::model::{
    Category, Check, Impact, Mode, Standard, StandardMeta, TenantTarget,
};
use crate::standards::read::{GraphListing, Read, Snapshot};
use crate::standards::setting::typed;

#[path = "defender_filters.rs"]
pub mod filters;
#[path = "defender_policies.rs"]
pub mod policies;

/// Service plans of Microsoft Defender for Office 365 (Plan 1 and Plan 2).
pub const MDO_PLANS: &[&str] = &["ATP_ENTERPRISE", "THREAT_INTELLIGENCE"];

/// The quarantine policies every tenant has (CIPP's choices; a custom one may be named).
pub const QUARANTINE_POLICIES: &[&str] = &[
    "AdminOnlyAccessPolicy",
    "DefaultFullAccessPolicy",
    "DefaultFullAccessWithNotificationPolicy",
];

/// Every Defender standard of the catalogue.
pub fn standards() -> Vec<Arc<dyn Standard>> {
    let mut all: Vec<Arc<dyn Standard>> = Vec::new();
    all.extend(policies::standards());
    all.extend(filters::standards());
    all
}

/// Metadata of a Defender standard with CIPP's Exchange licence preset and every mode.
pub(crate) fn meta(
    name: &'static str,
    impact: Impact,
    label: &'static str,
    help: &'static str,
    tags: &'static [&'static str],
    reads_doc: &'static str,
    writes_doc: &'static str,
) -> StandardMeta {
    StandardMeta {
        name,
        category: Category::Defender,
        impact,
        label,
        help,
        tags,
        capabilities: EXCHANGE_CAPABILITIES,
        modes: Mode::ALL,
        multiple: false,
        reads_doc,
        writes_doc,
    }
}

fn skus() -> Read {
    Read::GraphList(GraphListing::SubscribedSkus)
}

/// Whether the tenant has Defender for Office 365: an enabled (or warning) SKU with one of
/// [`MDO_PLANS`].
pub fn has_mdo(snapshot: &Snapshot) -> Result<bool, Error> {
    Ok(rows(snapshot, &skus())?.iter().any(|sku| {
        let status = sku["capabilityStatus"].as_str().unwrap_or("Enabled");
        (status.eq_ignore_ascii_case("Enabled") || status.eq_ignore_ascii_case("Warning"))
            && sku["servicePlans"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|p| {
                    MDO_PLANS
                        .iter()
                        .any(|m| text(p, "servicePlanName").eq_ignore_ascii_case(m))
                })
    }))
}

/// Why a standard that needs Defender for Office 365 does not apply.
pub(crate) fn no_mdo() -> Check {
    Check::NotApplicable(
        "the tenant has no Microsoft Defender for Office 365 licence (service plan ATP_ENTERPRISE)"
            .into(),
    )
}

fn accepted_domains() -> Read {
    Read::exchange("Get-AcceptedDomain")
}

/// The accepted domains' names, sorted (what CIPP's rules apply to).
pub(crate) fn domain_names(snapshot: &Snapshot) -> Result<Vec<String>, Error> {
    Ok(sorted(
        rows(snapshot, &accepted_domains())?
            .iter()
            .map(|d| text(d, "Name").to_owned())
            .filter(|d| !d.is_empty())
            .collect(),
    ))
}

/// A policy noun and its rule noun, the name CIPP gives a new policy and the names earlier
/// CIPP versions used (adopted when found).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Family {
    /// The policy noun (`SafeLinksPolicy`).
    pub policy: &'static str,
    /// The rule noun (`SafeLinksRule`); its parameter naming the policy is `policy`.
    pub rule: &'static str,
    /// The name of a new policy when the settings name none.
    pub default_name: &'static str,
    /// Policy names of earlier CIPP versions, adopted when found.
    pub legacy_names: &'static [&'static str],
    /// Rule names of earlier CIPP versions, adopted when found.
    pub legacy_rules: &'static [&'static str],
    /// Whether the policy needs Defender for Office 365 at all.
    pub needs_mdo: bool,
}

impl Family {
    fn policies(&self) -> Read {
        Read::exchange(&format!("Get-{}", self.policy))
    }

    fn rules(&self) -> Read {
        Read::exchange(&format!("Get-{}", self.rule))
    }
}

/// The settings of a policy-and-rule standard: its policy name and the policy's wanted
/// parameters.
pub(crate) trait PolicySettings: DeserializeOwned + Send + Sync + 'static {
    /// The policy name the settings ask for, if any.
    fn name(&self) -> Option<&str>;
    /// The policy's wanted parameters (only those compared and sent), given whether the
    /// tenant has Defender for Office 365.
    fn wanted(&self, mdo: bool) -> Map<String, Value>;
    /// Checks the settings.
    fn validate(&self) -> Result<(), Error>;
}

/// A policy CIPP creates when missing, with a rule applying it to every accepted domain at
/// priority 0: policy `New-`/`Set-`, then rule `New-`/`Set-`.
pub(crate) struct PolicyWithRule<S> {
    meta: StandardMeta,
    family: Family,
    _settings: std::marker::PhantomData<fn() -> S>,
}

/// What a policy-and-rule standard found: the names it manages, the policy and rule rows.
struct Found<'a> {
    policy_name: String,
    rule_name: String,
    policy: Option<&'a Value>,
    rule: Option<&'a Value>,
}

impl<S: PolicySettings> PolicyWithRule<S> {
    pub(crate) fn new(meta: StandardMeta, family: Family) -> Self {
        PolicyWithRule {
            meta,
            family,
            _settings: std::marker::PhantomData,
        }
    }

    fn find<'a>(&self, s: &S, snap: &'a Snapshot) -> Result<Found<'a>, Error> {
        let f = &self.family;
        let configured = s.name().unwrap_or(f.default_name).to_owned();
        let mut names = vec![configured.as_str(), f.default_name];
        names.extend(f.legacy_names);
        let policies = rows(snap, &f.policies())?;
        let policy = policies.iter().find(|p| {
            names
                .iter()
                .any(|n| text(p, "Name").eq_ignore_ascii_case(n))
        });
        let policy_name = policy.map_or(configured.clone(), |p| text(p, "Name").to_owned());
        let desired_rule = format!("{policy_name} Rule");
        let mut rule_names = vec![desired_rule.as_str()];
        rule_names.extend(f.legacy_rules);
        let rules = rows(snap, &f.rules())?;
        let rule = rules.iter().find(|r| {
            rule_names
                .iter()
                .any(|n| text(r, "Name").eq_ignore_ascii_case(n))
        });
        let rule_name = rule.map_or(desired_rule.clone(), |r| text(r, "Name").to_owned());
        Ok(Found {
            policy_name,
            rule_name,
            policy,
            rule,
        })
    }

    /// Current and expected: the policy's compared properties and its rule.
    fn states(&self, s: &S, snap: &Snapshot, mdo: bool) -> Result<(Value, Value), Error> {
        let found = self.find(s, snap)?;
        let wanted = s.wanted(mdo);
        let mut current = Map::new();
        let mut expected = Map::new();
        current.insert(
            "Name".into(),
            found.policy.map_or(Value::Null, |p| p["Name"].clone()),
        );
        expected.insert("Name".into(), json!(found.policy_name));
        for (k, v) in &wanted {
            let c = found.policy.map_or(Value::Null, |p| p[k.as_str()].clone());
            // Exchange answers `[""]` for an empty list at times.
            let c = if v.is_array() { json!(texts(&c)) } else { c };
            current.insert(k.clone(), c);
            expected.insert(k.clone(), v.clone());
        }
        let domains = domain_names(snap)?;
        current.insert(
            "Rule".into(),
            found.rule.map_or(Value::Null, |r| {
                json!({"Name": r["Name"], "Policy": r[self.family.policy], "Priority": r["Priority"],
                       "RecipientDomainIs": sorted(texts(&r["RecipientDomainIs"]))})
            }),
        );
        expected.insert(
            "Rule".into(),
            json!({"Name": found.rule_name, "Policy": found.policy_name, "Priority": 0,
                   "RecipientDomainIs": domains}),
        );
        Ok((Value::Object(current), Value::Object(expected)))
    }
}

#[async_trait]
impl<S: PolicySettings> Standard for PolicyWithRule<S> {
    fn meta(&self) -> &StandardMeta {
        &self.meta
    }

    fn validate(&self, settings: &Value) -> Result<(), Error> {
        typed::<S>(&self.meta, settings)?.validate()
    }

    fn reads(&self, _: &Value) -> Vec<Read> {
        vec![
            self.family.policies(),
            self.family.rules(),
            accepted_domains(),
            skus(),
        ]
    }

    fn check(&self, settings: &Value, snapshot: &Snapshot) -> Result<Check, Error> {
        let s: S = typed(&self.meta, settings)?;
        let mdo = has_mdo(snapshot)?;
        if self.family.needs_mdo && !mdo {
            return Ok(no_mdo());
        }
        let (current, expected) = self.states(&s, snapshot, mdo)?;
        Ok(Check::evaluated(current, expected))
    }

    async fn remediate(
        &self,
        settings: &Value,
        snapshot: &Snapshot,
        target: &TenantTarget,
    ) -> Result<(), Error> {
        let s: S = typed(&self.meta, settings)?;
        s.validate()?;
        let mdo = has_mdo(snapshot)?;
        if self.family.needs_mdo && !mdo {
            return Err(Error::invalid_input(
                self.meta.id(),
                "the tenant has no Microsoft Defender for Office 365 licence",
            ));
        }
        let (current, expected) = self.states(&s, snapshot, mdo)?;
        let found = self.find(&s, snapshot)?;
        let f = &self.family;
        let diffs = differences(&current, &expected, true);
        let mut plan = Vec::new();
        if diffs.iter().any(|d| d.field != "Rule") {
            let mut params = s.wanted(mdo);
            if found.policy.is_some() {
                params.insert("Identity".into(), json!(found.policy_name));
                plan.push(vec![cmdlet(
                    &format!("Set-{}", f.policy),
                    Value::Object(params),
                )]);
            } else {
                params.insert("Name".into(), json!(found.policy_name));
                plan.push(vec![cmdlet(
                    &format!("New-{}", f.policy),
                    Value::Object(params),
                )]);
            }
        }
        if diffs.iter().any(|d| d.field == "Rule") {
            let mut params = Map::new();
            params.insert("Priority".into(), json!(0));
            params.insert("RecipientDomainIs".into(), json!(domain_names(snapshot)?));
            let bound = found
                .rule
                .is_some_and(|r| text(r, f.policy).eq_ignore_ascii_case(&found.policy_name));
            if !bound {
                params.insert(f.policy.into(), json!(found.policy_name));
            }
            if found.rule.is_some() {
                params.insert("Identity".into(), json!(found.rule_name));
                plan.push(vec![cmdlet(
                    &format!("Set-{}", f.rule),
                    Value::Object(params),
                )]);
            } else {
                params.insert("Name".into(), json!(found.rule_name));
                plan.push(vec![cmdlet(
                    &format!("New-{}", f.rule),
                    Value::Object(params),
                )]);
            }
        }
        send_groups(target, plan).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::standards::catalogue::Catalogue;

    #[test]
    fn every_defender_standard_has_complete_metadata() {
        let all = standards();
        assert!(all.len() >= 6, "{} standards", all.len());
        for s in &all {
            let m = s.meta();
            assert_eq!(m.category, Category::Defender, "{}", m.name);
            for t in [m.label, m.help, m.reads_doc, m.writes_doc] {
                assert!(!t.trim().is_empty(), "{}", m.name);
            }
        }
        let c = Catalogue::builtin();
        for name in [
            "SafeLinksPolicy",
            "AntiPhishPolicy",
            "SafeAttachmentPolicy",
            "MalwareFilterPolicy",
            "SpamFilterPolicy",
            "EmptyFilterIPAllowList",
            "AtpPolicyForO365",
            "AntiSpamSafeList",
        ] {
            assert!(c.get(name).is_some(), "{name}");
        }
    }

    #[test]
    fn defender_licences_are_read_from_service_plans() {
        let snap = |skus: Value| Snapshot::from_answers([(super::skus(), Ok(skus))]);
        let with = json!([{"capabilityStatus": "Enabled", "servicePlans": [{"servicePlanName": "EXCHANGE_S_ENTERPRISE"}, {"servicePlanName": "ATP_ENTERPRISE"}]}]);
        assert!(has_mdo(&snap(with)).unwrap());
        let suspended = json!([{"capabilityStatus": "Suspended", "servicePlans": [{"servicePlanName": "ATP_ENTERPRISE"}]}]);
        assert!(!has_mdo(&snap(suspended)).unwrap());
        assert!(!has_mdo(&snap(json!([]))).unwrap());
    }
}
