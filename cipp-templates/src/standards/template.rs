//! Standards templates: which standards, with which settings and modes, apply to which
//! tenants ([`StandardsTemplate`]), and the merge of every template that applies to one
//! tenant into its [`Assignment`]s ([`resolve`]).
//!
//! Precedence follows CIPP (`Get-CIPPStandards`): a template targeting all tenants is
//! overridden by one targeting a tenant group the tenant is in, which is overridden by one
//! naming the tenant. A standard that may appear once takes the settings of the most
//! specific template (at equal specificity, the template listed first); a standard that may
//! appear several times (one per deployed template, `multiple`) keeps every instance,
//! de-duplicated by the template it deploys (the most specific wins). An excluded tenant
//! gets nothing from that template.

use std::collections::BTreeMap;
use std::sync::Arc;

use cipp_core::Error;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::catalogue::Catalogue;
use super::engine::Assignment;
use super::model::{Mode, Standard};
use crate::canonical::canonical_string;

/// Who a standards template applies to.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
#[non_exhaustive]
pub enum TemplateTarget {
    /// Every tenant of the fleet.
    AllTenants,
    /// The tenants of a tenant group.
    Group {
        /// The group's name.
        name: String,
    },
    /// One tenant, by id or default domain.
    Tenant {
        /// Tenant id (GUID) or domain.
        id: String,
    },
}

impl TemplateTarget {
    /// How specific the target is: all tenants 0, a group 1, a tenant 2.
    pub fn tier(&self) -> u8 {
        match self {
            TemplateTarget::AllTenants => 0,
            TemplateTarget::Group { .. } => 1,
            TemplateTarget::Tenant { .. } => 2,
        }
    }
}

/// One use of a standard in a template: its modes and settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StandardEntry {
    /// Report, alert, remediate.
    pub mode: Mode,
    /// The standard's settings (its typed settings as JSON; `{}` for none).
    #[serde(default = "empty_object")]
    pub settings: Value,
}

fn empty_object() -> Value {
    Value::Object(Map::new())
}

impl StandardEntry {
    /// `settings` in `mode`.
    pub fn new(mode: Mode, settings: Value) -> StandardEntry {
        StandardEntry {
            mode: mode.normalised(),
            settings,
        }
    }
}

/// A standards template: standards with settings and modes, and the tenants they apply to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StandardsTemplate {
    /// Stable id (CIPP's `GUID`).
    pub id: String,
    /// Name.
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Who it applies to.
    pub targets: Vec<TemplateTarget>,
    /// Tenants (ids or domains) it never applies to.
    #[serde(default)]
    pub excluded_tenants: Vec<String>,
    /// Standards by name (`SecurityDefaults`, no prefix); a `multiple` standard may have
    /// several entries.
    pub standards: BTreeMap<String, Vec<StandardEntry>>,
    /// Only run on demand, never on the timer (CIPP's `runManually`).
    #[serde(default)]
    pub run_manually: bool,
}

impl StandardsTemplate {
    /// An empty template with `id` and `name` that applies to nobody yet.
    pub fn new(id: &str, name: &str) -> StandardsTemplate {
        StandardsTemplate {
            id: id.to_owned(),
            name: name.to_owned(),
            description: String::new(),
            targets: Vec::new(),
            excluded_tenants: Vec::new(),
            standards: BTreeMap::new(),
            run_manually: false,
        }
    }

    /// Adds a target.
    pub fn target(mut self, target: TemplateTarget) -> StandardsTemplate {
        self.targets.push(target);
        self
    }

    /// Excludes a tenant (id or domain).
    pub fn exclude(mut self, tenant: &str) -> StandardsTemplate {
        self.excluded_tenants.push(tenant.to_owned());
        self
    }

    /// Adds a use of standard `name` (another entry when it is there already).
    pub fn standard(mut self, name: &str, mode: Mode, settings: Value) -> StandardsTemplate {
        let key = name.strip_prefix("standards.").unwrap_or(name).to_owned();
        self.standards
            .entry(key)
            .or_default()
            .push(StandardEntry::new(mode, settings));
        self
    }

    /// A template from CIPP's stored shape (`StandardsTemplateV2`): `GUID`, `templateName`,
    /// `description`, `tenantFilter` (`[{value, type: "Tenant" | "Group"}]`, the value
    /// `AllTenants` for all), `excludedTenants`, `standards` (`{Name: {action, …settings}}`
    /// or an array of those for multiple standards), `runManually`.
    pub fn from_cipp(value: &Value) -> Result<StandardsTemplate, Error> {
        let field = |name: &str| value.get(name).and_then(Value::as_str);
        let id = field("GUID")
            .or_else(|| field("guid"))
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| {
                Error::invalid_input("GUID", "a standards template needs its GUID (a stable id)")
            })?;
        let name = field("templateName").unwrap_or(id);
        let mut t = StandardsTemplate::new(id, name);
        t.description = field("description").unwrap_or_default().to_owned();
        t.run_manually = value
            .get("runManually")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        for f in value
            .get("tenantFilter")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let v = label_value(f);
            if v.is_empty() {
                return Err(Error::invalid_input(
                    "tenantFilter",
                    "an entry has no value; give a tenant's domain or id, a group's name, or AllTenants",
                ));
            }
            let kind = f.get("type").and_then(Value::as_str).unwrap_or("Tenant");
            t.targets.push(if v.eq_ignore_ascii_case("AllTenants") {
                TemplateTarget::AllTenants
            } else if kind.eq_ignore_ascii_case("Group") {
                TemplateTarget::Group { name: v }
            } else {
                TemplateTarget::Tenant { id: v }
            });
        }
        for e in value
            .get("excludedTenants")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let v = label_value(e);
            if !v.is_empty() {
                t.excluded_tenants.push(v);
            }
        }
        let standards = match value.get("standards") {
            Some(Value::Object(m)) => m,
            None | Some(Value::Null) => return Ok(t),
            Some(_) => {
                return Err(Error::invalid_input(
                    "standards",
                    "must be an object of standard name to settings",
                ))
            }
        };
        for (name, entry) in standards {
            let items = match entry {
                Value::Array(a) => a.clone(),
                other => vec![other.clone()],
            };
            for item in items {
                let Value::Object(mut settings) = item else {
                    return Err(Error::invalid_input(
                        format!("standards.{name}"),
                        "must be an object with `action` and the standard's settings",
                    ));
                };
                let action = settings.remove("action").unwrap_or(Value::Null);
                let mut mode = Mode::from_cipp_actions(&action).map_err(|e| {
                    Error::invalid_input(format!("standards.{name}.action"), e.to_string())
                })?;
                if settings.remove("autoRemediate").and_then(|v| v.as_bool()) == Some(true) {
                    mode.remediate = true;
                }
                t = t.standard(name, mode, Value::Object(settings));
            }
        }
        Ok(t)
    }

    /// How specifically this template applies to a tenant known by `names` (its id, its
    /// domains) that belongs to `groups`: `None` when it does not apply (no target matches,
    /// or the tenant is excluded), else the highest [`TemplateTarget::tier`] that matches.
    pub fn applies_to(&self, names: &[&str], groups: &[&str]) -> Option<u8> {
        let named = |v: &str| names.iter().any(|n| n.eq_ignore_ascii_case(v));
        if self.excluded_tenants.iter().any(|e| named(e)) {
            return None;
        }
        self.targets
            .iter()
            .filter(|t| match t {
                TemplateTarget::AllTenants => true,
                TemplateTarget::Group { name } => {
                    groups.iter().any(|g| g.eq_ignore_ascii_case(name))
                }
                TemplateTarget::Tenant { id } => named(id),
            })
            .map(TemplateTarget::tier)
            .max()
    }

    /// Checks every entry against `catalogue` (known standard, supported modes, valid
    /// settings, one entry unless the standard is `multiple`); every problem, named.
    pub fn validate(&self, catalogue: &Catalogue) -> Vec<Error> {
        let mut errors = Vec::new();
        for (name, entries) in &self.standards {
            let standard = match catalogue.require(name) {
                Ok(s) => s,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            if entries.len() > 1 && !standard.meta().multiple {
                errors.push(Error::invalid_input(
                    standard.id(),
                    format!(
                        "template {}: appears {} times; only template standards may appear \
                         more than once",
                        self.id,
                        entries.len()
                    ),
                ));
            }
            for e in entries {
                if let Err(err) =
                    Assignment::new(standard.clone(), e.settings.clone(), e.mode).validate()
                {
                    errors.push(err);
                }
            }
        }
        errors
    }
}

/// `{label, value}` or a plain string: the value.
fn label_value(v: &Value) -> String {
    v.get("value")
        .and_then(Value::as_str)
        .or_else(|| v.as_str())
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// The instance of a `multiple` standard an entry stands for: the template it deploys
/// (`TemplateList.value`, `templateId`), else `settings-` and a hash of its settings.
pub fn instance_key(settings: &Value) -> String {
    match settings
        .pointer("/TemplateList/value")
        .or_else(|| settings.get("templateId"))
        .and_then(Value::as_str)
    {
        Some(id) => id.to_owned(),
        None => {
            let digest = Sha256::digest(canonical_string(settings).as_bytes());
            let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
            format!("settings-{hex}")
        }
    }
}

/// What [`resolve`] gives for one tenant.
#[derive(Clone, Debug, Default)]
pub struct Resolution {
    /// The standards to run, one per (standard[, instance]), ordered by standard name.
    pub assignments: Vec<Assignment>,
    /// Entries that could not be used (unknown standard), with the template they came from.
    pub errors: Vec<(String, Error)>,
}

/// Merges every template that applies to a tenant (known by `names`, in `groups`) into the
/// standards it runs, by CIPP's precedence (see the module docs). An entry naming an
/// unknown standard is reported in [`Resolution::errors`]; the others still run. Invalid
/// settings are left to the engine, which reports them per standard without sending
/// anything.
pub fn resolve(
    templates: &[StandardsTemplate],
    names: &[&str],
    groups: &[&str],
    catalogue: &Catalogue,
) -> Resolution {
    type Winner = (u8, usize, Arc<dyn Standard>, StandardEntry, String);
    let mut single: BTreeMap<String, Winner> = BTreeMap::new();
    let mut multi: BTreeMap<(String, String), Winner> = BTreeMap::new();
    let mut out = Resolution::default();
    for (order, t) in templates.iter().enumerate() {
        let Some(tier) = t.applies_to(names, groups) else {
            continue;
        };
        for (name, entries) in &t.standards {
            let standard = match catalogue.require(name) {
                Ok(s) => s.clone(),
                Err(e) => {
                    out.errors.push((t.id.clone(), e));
                    continue;
                }
            };
            let key = standard.meta().name.to_owned();
            for e in entries {
                let candidate: Winner = (tier, order, standard.clone(), e.clone(), t.id.clone());
                let beats = |old: &Winner| tier > old.0;
                if standard.meta().multiple {
                    let k = (key.clone(), instance_key(&e.settings));
                    match multi.get(&k) {
                        Some(old) if !beats(old) => {}
                        _ => {
                            multi.insert(k, candidate);
                        }
                    }
                } else {
                    match single.get(&key) {
                        Some(old) if !beats(old) => {}
                        _ => {
                            single.insert(key.clone(), candidate);
                        }
                    }
                }
            }
        }
    }
    let mut all: Vec<(String, Option<String>, Assignment)> = Vec::new();
    for (key, (_, _, standard, entry, source)) in single {
        let mut a = Assignment::new(standard, entry.settings, entry.mode);
        a.source = Some(source);
        all.push((key, None, a));
    }
    for ((key, instance), (_, _, standard, entry, source)) in multi {
        let mut a = Assignment::new(standard, entry.settings, entry.mode);
        a.template = Some(instance);
        a.source = Some(source);
        all.push((key, a.template.clone(), a));
    }
    all.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    out.assignments = all.into_iter().map(|(_, _, a)| a).collect();
    out
}
