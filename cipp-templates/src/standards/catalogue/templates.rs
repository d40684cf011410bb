//! Template standards: CIPP's standards that re-apply the *current* stored template to a
//! tenant each run (`IntuneTemplate`, `ConditionalAccessTemplate`, `GroupTemplate`,
//! `TransportRuleTemplate`, `ExchangeConnectorTemplate`, `SafeLinksTemplatePolicy`,
//! `AssignmentFilterTemplate`).
//!
//! They need the template store and the custom variables, so they are not in
//! [`Catalogue::builtin`](super::Catalogue::builtin): add them with [`register`].
//!
//! Each may appear several times in a standards template, one per deployed template (the
//! result's key carries the template id). Its settings name the template
//! (`{"TemplateList": {"value": "<id>"}}` as CIPP stores them, or `{"templateId": "<id>"}`).
//! Checking resolves the tenant's variables in the stored template, drops Conditional
//! Access applications the tenant lacks, and plans it against the tenant, matching
//! objects by name as CIPP does: compliant when the plan changes nothing, else the plan's
//! changes are the drift (the current and the template's values per property, or the
//! object missing). Remediating applies the plan (Conditional Access security defaults:
//! refused unless `DisableSD` is set); the engine's re-check then proves it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use cipp_core::{Error, Tenant, TenantId};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::apply::{ApplyError, ApplyOptions};
use crate::deploy::{apply_tenant, plan_tenant, PlanTenantError};
use crate::guardrails::{self, SecurityDefaults};
use crate::plan::{Action, CaState, Plan, PlanOptions};
use crate::standards::model::{
    Category, Check, Impact, Mode, Standard, StandardMeta, TenantTarget,
};
use crate::standards::read::{GraphListing, Read, Snapshot};
use crate::store::TemplateStore;
use crate::template::{Template, TemplateKind};
use crate::variables::{TenantContext, Variables};
use cipp_graph::model::Organization;

use super::Catalogue;

/// Settings of a template standard (CIPP's field names).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    /// `{"value": "<template id>", "label": "…"}`.
    #[serde(rename = "TemplateList", default)]
    template_list: Option<Value>,
    /// The template id, plainly.
    #[serde(rename = "templateId", default)]
    template_id: Option<String>,
    /// Conditional Access: the state policies are sent in (`enabled`, `disabled`,
    /// `enabledForReportingButNotEnforced`); absent: the template's.
    #[serde(default)]
    state: Option<String>,
    /// Conditional Access: disable security defaults when an enabled policy replaces them.
    #[serde(rename = "DisableSD", default)]
    disable_sd: bool,
    /// Overwrite an existing object of the same name (CIPP's transport rule option; default
    /// true): when false, only a missing object is drift and is created.
    #[serde(default)]
    overwrite: Option<bool>,
}

impl Settings {
    fn parse(meta: &StandardMeta, settings: &Value) -> Result<Settings, Error> {
        let s: Settings = match settings {
            Value::Null => Settings::default(),
            v => serde_json::from_value(v.clone()).map_err(|e| {
                Error::invalid_input(
                    meta.id(),
                    format!(
                        "{e}; give {{\"TemplateList\": {{\"value\": \"<template id>\"}}}} \
                         (or \"templateId\"), and for Conditional Access \"state\" and \
                         \"DisableSD\", for transport rules \"overwrite\""
                    ),
                )
            })?,
        };
        if s.template().is_none() {
            return Err(Error::invalid_input(
                meta.id(),
                "no template: give TemplateList.value (or templateId) with a stored template's id",
            ));
        }
        if let Some(state) = &s.state {
            if s.ca_state().is_none() {
                return Err(Error::invalid_input(
                    format!("{}.state", meta.id()),
                    format!(
                        "`{state}` is not a policy state; use enabled, disabled or \
                         enabledForReportingButNotEnforced"
                    ),
                ));
            }
        }
        Ok(s)
    }

    fn template(&self) -> Option<&str> {
        self.template_list
            .as_ref()
            .and_then(|v| {
                v.get("value")
                    .and_then(Value::as_str)
                    .or_else(|| v.as_str())
            })
            .or(self.template_id.as_deref())
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }

    fn ca_state(&self) -> Option<CaState> {
        match self.state.as_deref() {
            None => Some(CaState::DoNotChange),
            Some("enabled") => Some(CaState::Enabled),
            Some("disabled") => Some(CaState::Disabled),
            Some("enabledForReportingButNotEnforced") | Some("reportOnly") => {
                Some(CaState::ReportOnly)
            }
            Some(_) => None,
        }
    }
}

/// Change detection (CIPP does it for Intune templates): per tenant and deployed
/// template, the fingerprint of the last run that found the tenant compliant — the
/// resolved template's content hash, the settings, and the policy type's objects in the
/// tenant (ids, modified times, count). A run that finds the same fingerprint is compliant
/// without planning; any change (the template, the settings, a policy of that type added,
/// removed or modified) plans again. A result that was not compliant is never remembered,
/// so a remediate run after drift always plans and remediates. Kept in memory per process:
/// another worker, or a restart, simply plans once more.
#[derive(Debug, Default)]
pub struct ChangeTracker {
    compliant: Mutex<HashMap<(String, String), String>>,
}

impl ChangeTracker {
    fn get(&self, key: &(String, String)) -> Option<String> {
        self.compliant.lock().ok().and_then(|m| m.get(key).cloned())
    }

    fn set(&self, key: (String, String), fingerprint: Option<String>) {
        if let Ok(mut m) = self.compliant.lock() {
            match fingerprint {
                Some(f) => {
                    m.insert(key, f);
                }
                None => {
                    m.remove(&key);
                }
            }
        }
    }
}

/// One template standard.
pub struct TemplateStandard {
    meta: StandardMeta,
    kinds: fn(&TemplateKind) -> bool,
    store: Arc<dyn TemplateStore>,
    variables: Variables,
    tracker: Arc<ChangeTracker>,
}

impl std::fmt::Debug for TemplateStandard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TemplateStandard")
            .field("name", &self.meta.name)
            .finish_non_exhaustive()
    }
}

fn meta(
    name: &'static str,
    label: &'static str,
    help: &'static str,
    caps: &'static [&'static str],
    reads: &'static str,
    writes: &'static str,
) -> StandardMeta {
    StandardMeta {
        name,
        category: Category::Templates,
        impact: Impact::High,
        label,
        help,
        tags: &[],
        capabilities: caps,
        modes: Mode::ALL,
        multiple: true,
        reads_doc: reads,
        writes_doc: writes,
    }
}

const INTUNE: &[&str] = &["INTUNE_A", "MDM_SERVICES", "EMS", "INTUNE_O365"];
const AAD_P1: &[&str] = &["AAD_PREMIUM", "AAD_PREMIUM_P2"];
const EXCHANGE: &[&str] = &[
    "EXCHANGE_S_STANDARD",
    "EXCHANGE_S_ENTERPRISE",
    "EXCHANGE_S_STANDARD_GOV",
    "EXCHANGE_S_ENTERPRISE_GOV",
    "EXCHANGE_LITE",
];
const DEFENDER: &[&str] = &[
    "ATP_ENTERPRISE",
    "ATP_ENTERPRISE_GOV",
    "THREAT_INTELLIGENCE",
];

fn is_intune(k: &TemplateKind) -> bool {
    matches!(
        k,
        TemplateKind::IntuneDeviceConfiguration
            | TemplateKind::IntuneSettingsCatalog
            | TemplateKind::IntuneCompliance
            | TemplateKind::IntuneAdministrativeTemplate
            | TemplateKind::IntuneAppProtection
            | TemplateKind::IntuneAppConfiguration
            | TemplateKind::WindowsDriverUpdateProfile
            | TemplateKind::WindowsFeatureUpdateProfile
            | TemplateKind::WindowsQualityUpdatePolicy
            | TemplateKind::WindowsQualityUpdateProfile
            | TemplateKind::IntuneReusableSetting
    )
}

/// The template standards on `store`, with `variables` for every tenant.
pub fn standards(store: Arc<dyn TemplateStore>, variables: Variables) -> Vec<Arc<dyn Standard>> {
    let tracker = Arc::new(ChangeTracker::default());
    let make = |meta: StandardMeta, kinds: fn(&TemplateKind) -> bool| -> Arc<dyn Standard> {
        Arc::new(TemplateStandard {
            meta,
            kinds,
            store: store.clone(),
            variables: variables.clone(),
            tracker: tracker.clone(),
        })
    };
    vec![
        make(
            meta("IntuneTemplate", "Intune Template", "Deploys the stored Intune template (configuration, settings catalog, compliance, administrative template, app protection/configuration, Windows update profiles) and keeps it as stored, matching the policy by name.", INTUNE, "the Intune collection of the template's kind, groups, assignment filters, reusable settings", "POST/PATCH the Intune policy (settings catalog: PUT of its settings) and its assignments"),
            is_intune,
        ),
        make(
            meta("ConditionalAccessTemplate", "Conditional Access Template", "Deploys the stored Conditional Access policy with the named locations, authentication strengths and contexts it uses, matching the policy by name; `state` overrides its state, `DisableSD` allows turning security defaults off when an enabled policy replaces them.", AAD_P1, "identity/conditionalAccess/policies, namedLocations, authenticationStrength/policies, groups, service principals", "POST/PATCH identity/conditionalAccess/policies (and missing named locations, strengths, contexts, groups)"),
            |k| *k == TemplateKind::ConditionalAccess,
        ),
        make(
            meta("GroupTemplate", "Group Template", "Creates the stored group (security, Microsoft 365, distribution, dynamic, role-assignable) when missing and keeps its description and membership rule, matching by name.", &[], "groups (portable properties)", "POST groups / New-DistributionGroup; PATCH description and membership rule"),
            |k| *k == TemplateKind::Group,
        ),
        make(
            meta("TransportRuleTemplate", "Transport Rule Template", "Creates the stored transport rule when missing and overwrites a rule of the same name (names compared case-insensitively).", EXCHANGE, "Get-TransportRule", "New-TransportRule / Set-TransportRule"),
            |k| *k == TemplateKind::TransportRule,
        ),
        make(
            meta("ExchangeConnectorTemplate", "Exchange Connector Template", "Creates or updates the stored inbound or outbound connector, matching by name.", EXCHANGE, "Get-InboundConnector, Get-OutboundConnector", "New-/Set-InboundConnector, New-/Set-OutboundConnector"),
            |k| *k == TemplateKind::ExchangeConnector,
        ),
        make(
            meta("SafeLinksTemplatePolicy", "Safe Links Policy Template", "Creates or updates the stored Safe Links policy and its rule, matching by name.", DEFENDER, "Get-SafeLinksPolicy, Get-SafeLinksRule", "New-/Set-SafeLinksPolicy, New-/Set-SafeLinksRule"),
            |k| *k == TemplateKind::SafeLinks,
        ),
        make(
            meta("AssignmentFilterTemplate", "Assignment Filter Template", "Creates or updates the stored Intune assignment filter, matching by name.", INTUNE, "deviceManagement/assignmentFilters", "POST/PATCH deviceManagement/assignmentFilters"),
            |k| *k == TemplateKind::AssignmentFilter,
        ),
    ]
}

/// Adds the template standards on `store` (with `variables`) to `catalogue`.
pub fn register(catalogue: &mut Catalogue, store: Arc<dyn TemplateStore>, variables: Variables) {
    for s in standards(store, variables) {
        catalogue.register(s);
    }
}

/// The tenant's organization, read once per tenant for every template standard.
const ORGANIZATION: Read = Read::GraphList(GraphListing::Organization);

/// The tenant's organization from the run's shared reads, or read now when the snapshot
/// does not hold it (a standard called outside the engine). A failed shared read is that
/// error, not read again.
async fn organization(snapshot: &Snapshot, target: &TenantTarget) -> Result<Organization, Error> {
    if !snapshot.contains(&ORGANIZATION) {
        return target.graph.directory().organization().await;
    }
    let org = snapshot
        .get(&ORGANIZATION)?
        .get(0)
        .cloned()
        .ok_or_else(|| {
            Error::protocol(
                Some(target.graph.id().clone()),
                "get organization",
                "Graph returned no organization object",
            )
        })?;
    serde_json::from_value(org).map_err(|e| {
        Error::protocol(
            Some(target.graph.id().clone()),
            "get organization",
            format!("the organization object does not read: {e}"),
        )
    })
}

fn plan_error(e: PlanTenantError) -> Error {
    match e {
        PlanTenantError::State(ApplyError::Service(e)) => e,
        other => Error::invalid_input("template", other.to_string()),
    }
}

impl TemplateStandard {
    /// The stored template, resolved for the tenant, with the applications the tenant lacks
    /// dropped, and the plan options.
    async fn prepare(
        &self,
        settings: &Settings,
        snapshot: &Snapshot,
        target: &TenantTarget,
    ) -> Result<(Vec<Template>, PlanOptions), Error> {
        let id = settings.template().unwrap_or_default();
        let template = self
            .store
            .get(id)
            .await
            .map_err(|e| Error::invalid_input(self.meta.id(), format!("template {id}: {e}")))?
            .ok_or_else(|| {
                Error::invalid_input(
                    self.meta.id(),
                    format!("template {id} is not in the template store; store it first or fix TemplateList"),
                )
            })?;
        if !(self.kinds)(&template.kind) {
            return Err(Error::invalid_input(
                self.meta.id(),
                format!(
                    "template {id} is a {} template, which {} does not deploy",
                    template.kind.as_str(),
                    self.meta.name
                ),
            ));
        }
        let org = organization(snapshot, target).await?;
        let tenant_id = TenantId::parse(&org.id).unwrap_or_else(|_| target.graph.id().clone());
        let mut tenant = Tenant::new(tenant_id);
        tenant.default_domain = org.default_domain().map(str::to_owned);
        tenant.initial_domain = org.initial_domain().map(str::to_owned);
        tenant.display_name = org.display_name.clone();
        let context = TenantContext::from_tenant(&tenant).ok_or_else(|| {
            Error::invalid_input(
                self.meta.id(),
                "the tenant's organization gives no GUID and default domain for variables",
            )
        })?;
        let body = self
            .variables
            .resolve_for(&context)
            .substitute_json(&template.body)
            .map_err(|e| Error::invalid_input(self.meta.id(), format!("template {id}: {e}")))?;
        let mut resolved = template.clone();
        resolved.body = body;
        resolved.refresh_hash();
        let mut templates = vec![resolved];
        guardrails::drop_missing_applications(&target.graph, &mut templates)
            .await
            .map_err(|e| Error::invalid_input(self.meta.id(), e.to_string()))?;
        let options = PlanOptions::default()
            .adopt_by_name(true)
            .ca_state(settings.ca_state().unwrap_or_default());
        Ok((templates, options))
    }

    /// The change-detection fingerprint of the tenant's objects of the template's policy
    /// type with this template and settings, or `None` for kinds without change detection
    /// (groups and the Exchange kinds: planning them is as cheap as the listing).
    async fn fingerprint(
        &self,
        template: &Template,
        settings: &Value,
        target: &TenantTarget,
    ) -> Result<Option<String>, Error> {
        let mut objects: Vec<(String, String)> = Vec::new();
        if template.kind == TemplateKind::ConditionalAccess {
            for p in target.graph.conditional_access().policies().await? {
                let modified = serde_json::to_string(&p.modified_date_time).unwrap_or_default();
                objects.push((p.id.clone(), modified));
            }
        } else {
            let kinds = crate::apply::intune::collections(&template.kind);
            if kinds.is_empty() {
                return Ok(None);
            }
            for k in kinds {
                for p in target.graph.intune().list(*k).await? {
                    let modified = p
                        .last_modified_date_time
                        .map(|t| t.to_rfc3339())
                        .unwrap_or_default();
                    objects.push((format!("{k:?}/{}", p.id), modified));
                }
            }
        }
        objects.sort();
        let text = format!(
            "{}\u{1f}{}\u{1f}{}\u{1f}{}",
            template.content_hash,
            crate::canonical::canonical_string(settings),
            objects.len(),
            objects
                .iter()
                .map(|(id, m)| format!("{id}@{m}"))
                .collect::<Vec<_>>()
                .join(",")
        );
        let digest = Sha256::digest(text.as_bytes());
        Ok(Some(digest.iter().map(|b| format!("{b:02x}")).collect()))
    }

    async fn plan(
        &self,
        settings: &Settings,
        snapshot: &Snapshot,
        target: &TenantTarget,
    ) -> Result<(Vec<Template>, PlanOptions, Plan), Error> {
        let (templates, options) = self.prepare(settings, snapshot, target).await?;
        let mut plan = plan_tenant(&target.graph, &target.exchange, &templates, &[], &options)
            .await
            .map_err(plan_error)?;
        if settings.overwrite == Some(false) {
            // CIPP: without overwrite an existing object is left alone; only a missing one
            // is made (and only a missing one is drift).
            plan.items
                .retain(|i| matches!(i.action, Action::Create { .. }));
        }
        Ok((templates, options, plan))
    }
}

/// The plan as current vs expected: per object (by name) and per changed property, what
/// the tenant has and what the template sets; a missing object is `"missing"` against
/// `"present"`; an overwrite that would not be done is a conflict.
fn plan_drift(plan: &Plan) -> (Value, Value) {
    let mut current = Map::new();
    let mut expected = Map::new();
    for d in &plan.dependencies {
        let key = format!("{}: {}", d.kind.label(), d.name);
        current.insert(key.clone(), json!("missing"));
        expected.insert(key, json!("present"));
    }
    for item in &plan.items {
        match &item.action {
            Action::Create { .. } => {
                current.insert(item.name.clone(), json!("missing"));
                expected.insert(item.name.clone(), json!("present"));
            }
            Action::Update { changes, .. } => {
                let mut cur = Map::new();
                let mut exp = Map::new();
                for c in changes {
                    cur.insert(c.path.clone(), c.from.clone().unwrap_or(Value::Null));
                    exp.insert(c.path.clone(), c.to.clone().unwrap_or(Value::Null));
                }
                current.insert(item.name.clone(), Value::Object(cur));
                expected.insert(item.name.clone(), Value::Object(exp));
            }
            Action::Conflict { reason } => {
                current.insert(item.name.clone(), json!({ "conflict": reason }));
                expected.insert(item.name.clone(), json!("present"));
            }
            _ => {
                current.insert(item.name.clone(), json!("present"));
                expected.insert(item.name.clone(), json!("present"));
            }
        }
    }
    (Value::Object(current), Value::Object(expected))
}

#[async_trait]
impl Standard for TemplateStandard {
    fn meta(&self) -> &StandardMeta {
        &self.meta
    }

    fn validate(&self, settings: &Value) -> Result<(), Error> {
        Settings::parse(&self.meta, settings).map(drop)
    }

    fn reads(&self, _settings: &Value) -> Vec<Read> {
        // Read once per tenant and shared by every template standard of the run.
        vec![ORGANIZATION]
    }

    fn check(&self, _settings: &Value, _snapshot: &Snapshot) -> Result<Check, Error> {
        Err(Error::invalid_input(
            self.meta.id(),
            "a template standard plans against the tenant: run it through the engine",
        ))
    }

    async fn check_in_tenant(
        &self,
        settings: &Value,
        snapshot: &Snapshot,
        target: &TenantTarget,
    ) -> Result<Check, Error> {
        let s = Settings::parse(&self.meta, settings)?;
        let (templates, _) = self.prepare(&s, snapshot, target).await?;
        let key = (
            target.graph.id().as_str().to_ascii_lowercase(),
            s.template().unwrap_or_default().to_owned(),
        );
        let fingerprint = match templates.first() {
            Some(t) => self.fingerprint(t, settings, target).await?,
            None => None,
        };
        if let (Some(f), Some(seen)) = (&fingerprint, self.tracker.get(&key)) {
            if *f == seen {
                // Nothing changed since the last compliant run: no plan.
                let name = templates
                    .first()
                    .map(|t| t.name.clone())
                    .unwrap_or_default();
                let same = json!({ name: "present" });
                return Ok(Check::evaluated(same.clone(), same));
            }
        }
        let (_, _, plan) = self.plan(&s, snapshot, target).await?;
        let (current, expected) = plan_drift(&plan);
        let compliant =
            crate::standards::compare::differences(&current, &expected, true).is_empty();
        self.tracker
            .set(key, if compliant { fingerprint } else { None });
        Ok(Check::evaluated(current, expected))
    }

    async fn remediate(
        &self,
        settings: &Value,
        snapshot: &Snapshot,
        target: &TenantTarget,
    ) -> Result<(), Error> {
        let s = Settings::parse(&self.meta, settings)?;
        let (templates, options, plan) = self.plan(&s, snapshot, target).await?;
        let choice = if s.disable_sd {
            SecurityDefaults::DisableWhenReplaced
        } else {
            SecurityDefaults::Refuse
        };
        guardrails::security_defaults(&target.graph, &templates, options.ca_state, choice)
            .await
            .map_err(|e| Error::invalid_input(self.meta.id(), e.to_string()))?;
        let report = apply_tenant(
            &target.graph,
            &target.exchange,
            &plan,
            &ApplyOptions::new().verify(false),
        )
        .await;
        if report.is_ok() {
            return Ok(());
        }
        let failures: Vec<String> = report
            .items
            .iter()
            .filter(|i| i.outcome.is_failure())
            .map(|i| format!("{}: {}", i.name, i.outcome.message()))
            .chain(
                report
                    .dependencies
                    .iter()
                    .filter(|d| d.outcome.is_failure())
                    .map(|d| format!("{}: {}", d.name, d.outcome.message())),
            )
            .collect();
        Err(Error::invalid_input(self.meta.id(), failures.join("; ")))
    }
}
