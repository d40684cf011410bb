//! Planning a deploy: what applying templates to one tenant would do, as a value.
//!
//! Planning is pure: it compares each template (its variables already substituted, see
//! [`crate::variables`]) with the objects of its kind that already exist in the target
//! tenant, which the caller fetched and passes in ([`TenantState`]). The result is a
//! [`Plan`]: per template a [`PlanItem`] whose [`Action`] is create, update (with a
//! field-level diff), adopt, no-op or conflict, plus the [`Dependency`]s the deploy has to
//! create first. Plans serialise (serde) and print ([`fmt::Display`]): print, approve, then
//! apply.
//!
//! # Matching an existing object
//!
//! 1. A [`Binding`] — the object this template managed in this tenant last time — wins, by
//!    object id, even when the template (or the object) was renamed since: the result is an
//!    update that renames the object, never a second object beside an orphaned one.
//! 2. Otherwise, and only with [`PlanOptions::adopt_by_name`], an object whose display name
//!    (see [`name_key`]) equals the template's, ignoring case. Equal content is
//!    [`Action::Adopt`]; different content an [`Action::Update`] with
//!    [`MatchedBy::Name`], so adoption is always visible in the plan.
//! 3. Otherwise [`Action::Create`] — unless an object with that name exists, which is an
//!    [`Action::Conflict`] (CIPP would silently overwrite or duplicate it). Two objects with
//!    the name are a conflict too.
//!
//! # Comparing
//!
//! Both sides are normalised first: server-owned fields removed
//! ([`canonical::strip_server_owned`]), `null` properties removed
//! ([`canonical::strip_nulls`]), numbers canonical ([`canonical::canonicalize`]), so key
//! order, `1.0` vs `1`, ids and timestamps never make a difference. Arrays are compared in
//! order, except the lists in [`SET_LIKE_CA_ARRAYS`] for Conditional Access, whose order
//! carries no meaning (include/exclude users, groups, roles, applications, locations,
//! platforms, client app types, risk levels, built-in grant controls): those compare as
//! sets. A property the template does not set (at any object level) is not a change: an
//! update sends the template's body, and a PATCH leaves unnamed properties as they are.
//! A dynamic distribution group's filter compares by meaning
//! (`cipp_exchange::distribution_groups::canonical_recipient_filter`): Exchange returns it
//! re-parenthesised with its system exclusions appended.
//!
//! # Conditional Access state
//!
//! [`PlanOptions::ca_state`] decides the `state` of Conditional Access policies. With
//! [`CaState::ReportOnly`] the planned body's `state` is `enabledForReportingButNotEnforced`
//! whatever the template says, so a policy asked for in report-only is never sent enabled.
//! With [`CaState::DoNotChange`] a new policy gets the template's state and an existing one
//! keeps its own (`state` is left out of the comparison and of the update body).
//!
//! # Open kinds
//!
//! A [`TemplateKind::Other`] template is planned only when it carries a
//! [`GraphTarget`] (see [`crate::graph_target`]): it is matched by binding, then by the
//! target's name property, against the objects of its kind in [`TenantState::existing`]
//! (the objects of the target collection, as [`crate::apply::fetch_state`] reads them), and
//! the target is recorded in [`Plan::targets`] for apply. Without a usable target the item
//! is an [`Action::Conflict`] whose reason says it is not deployable and why.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::canonical;
use crate::graph_target::GraphTarget;
use crate::template::{Template, TemplateKind};

/// The Conditional Access `state` of report-only policies.
pub const REPORT_ONLY_STATE: &str = "enabledForReportingButNotEnforced";

/// Conditional Access arrays (JSON pointers) whose order carries no meaning: compared as
/// sets when planning.
pub const SET_LIKE_CA_ARRAYS: &[&str] = &[
    "/conditions/users/includeUsers",
    "/conditions/users/excludeUsers",
    "/conditions/users/includeGroups",
    "/conditions/users/excludeGroups",
    "/conditions/users/includeRoles",
    "/conditions/users/excludeRoles",
    "/conditions/applications/includeApplications",
    "/conditions/applications/excludeApplications",
    "/conditions/applications/includeUserActions",
    "/conditions/applications/includeAuthenticationContextClassReferences",
    "/conditions/locations/includeLocations",
    "/conditions/locations/excludeLocations",
    "/conditions/platforms/includePlatforms",
    "/conditions/platforms/excludePlatforms",
    "/conditions/clientAppTypes",
    "/conditions/signInRiskLevels",
    "/conditions/userRiskLevels",
    "/conditions/servicePrincipalRiskLevels",
    "/grantControls/builtInControls",
    "/grantControls/customAuthenticationFactors",
    "/grantControls/termsOfUse",
];

/// An object of a template's kind that already exists in the target tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Existing {
    /// Its id in the tenant.
    pub id: String,
    /// The object as read (server-owned fields may be present; they are ignored).
    pub body: Value,
}

impl Existing {
    /// An existing object with id `id` and body `body`.
    pub fn new(id: impl Into<String>, body: Value) -> Existing {
        Existing {
            id: id.into(),
            body,
        }
    }
}

/// The object a template managed in a tenant after its last deploy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Binding {
    /// The template's id.
    pub template_id: String,
    /// The tenant (id or default domain, as the caller keys tenants).
    pub tenant: String,
    /// The object's id in that tenant.
    pub object_id: String,
}

impl Binding {
    /// Template `template_id` manages object `object_id` in tenant `tenant`.
    pub fn new(
        template_id: impl Into<String>,
        tenant: impl Into<String>,
        object_id: impl Into<String>,
    ) -> Binding {
        Binding {
            template_id: template_id.into(),
            tenant: tenant.into(),
            object_id: object_id.into(),
        }
    }
}

/// What the target tenant already holds, as the caller fetched it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TenantState {
    /// The tenant, as [`Binding::tenant`] names it.
    pub tenant: String,
    /// Existing objects per template kind.
    pub existing: BTreeMap<TemplateKind, Vec<Existing>>,
    /// Display names of the tenant's groups.
    pub group_names: Vec<String>,
    /// Display names of the tenant's named locations.
    pub named_locations: Vec<String>,
    /// Display names of the tenant's authentication strengths (built-in and custom).
    pub authentication_strengths: Vec<String>,
    /// Ids (`c1`…`c99`) or display names of the tenant's authentication contexts.
    pub authentication_contexts: Vec<String>,
    /// Display names of the tenant's reusable policy settings.
    pub reusable_settings: Vec<String>,
}

impl TenantState {
    /// An empty state for tenant `tenant`.
    pub fn new(tenant: impl Into<String>) -> TenantState {
        TenantState {
            tenant: tenant.into(),
            ..TenantState::default()
        }
    }

    /// The existing objects of kind `kind` (none when not given).
    pub fn existing_of(&self, kind: &TemplateKind) -> &[Existing] {
        self.existing.get(kind).map_or(&[], Vec::as_slice)
    }
}

/// The `state` to give Conditional Access policies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum CaState {
    /// The template's state for new policies; existing policies keep theirs.
    #[default]
    DoNotChange,
    /// `enabled`.
    Enabled,
    /// `disabled`.
    Disabled,
    /// `enabledForReportingButNotEnforced`, whatever the template says.
    ReportOnly,
}

impl CaState {
    /// The Graph `state` value this forces, if any.
    pub fn graph_state(self) -> Option<&'static str> {
        match self {
            CaState::DoNotChange => None,
            CaState::Enabled => Some("enabled"),
            CaState::Disabled => Some("disabled"),
            CaState::ReportOnly => Some(REPORT_ONLY_STATE),
        }
    }
}

/// How to plan.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PlanOptions {
    /// Whether an object found by display name (with no binding) may be taken over.
    pub adopt_by_name: bool,
    /// The state of Conditional Access policies.
    pub ca_state: CaState,
}

impl PlanOptions {
    /// The same options with adoption by name on or off.
    pub fn adopt_by_name(mut self, adopt: bool) -> PlanOptions {
        self.adopt_by_name = adopt;
        self
    }

    /// The same options with Conditional Access state `state`.
    pub fn ca_state(mut self, state: CaState) -> PlanOptions {
        self.ca_state = state;
        self
    }
}

/// One property that differs, as a JSON pointer into the body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldChange {
    /// JSON pointer (RFC 6901) of the property, for example `/conditions/users/includeGroups`.
    pub path: String,
    /// The existing value (`None`: not set).
    pub from: Option<Value>,
    /// The value the template sets.
    pub to: Option<Value>,
}

/// How an updated object was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum MatchedBy {
    /// Through the template's [`Binding`].
    Binding,
    /// By display name, adopting it ([`PlanOptions::adopt_by_name`]).
    Name,
}

/// What applying a template will do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "camelCase")]
#[non_exhaustive]
pub enum Action {
    /// Create a new object with `body`.
    Create {
        /// The body to send.
        body: Value,
    },
    /// Update an existing object.
    Update {
        /// The object's id.
        object_id: String,
        /// How it was found.
        matched_by: MatchedBy,
        /// What differs, in path order.
        changes: Vec<FieldChange>,
        /// The body to send.
        body: Value,
    },
    /// Take over an object found by name whose content already matches (nothing is sent;
    /// the binding is recorded).
    Adopt {
        /// The object's id.
        object_id: String,
    },
    /// The bound object already matches.
    NoOp {
        /// The object's id.
        object_id: String,
    },
    /// Nothing can be done safely without a decision.
    Conflict {
        /// Why.
        reason: String,
    },
}

impl Action {
    /// A short name: `create`, `update`, `adopt`, `no-op` or `conflict`.
    pub fn label(&self) -> &'static str {
        match self {
            Action::Create { .. } => "create",
            Action::Update { .. } => "update",
            Action::Adopt { .. } => "adopt",
            Action::NoOp { .. } => "no-op",
            Action::Conflict { .. } => "conflict",
        }
    }
}

/// The plan for one template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanItem {
    /// The template's id.
    pub template_id: String,
    /// The name the object will have.
    pub name: String,
    /// The template's kind.
    pub kind: TemplateKind,
    /// What will happen.
    pub action: Action,
}

/// What a dependency is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum DependencyKind {
    /// A group referenced by name (Conditional Access include/exclude) that no group
    /// template in the plan creates.
    Group,
    /// A named location attached to a Conditional Access template.
    NamedLocation,
    /// A custom authentication strength attached to a Conditional Access template.
    AuthenticationStrength,
    /// An authentication context attached to a Conditional Access template.
    AuthenticationContext,
    /// A reusable policy setting attached to a settings-catalog template.
    ReusableSetting,
}

impl DependencyKind {
    /// Human-readable name.
    pub fn label(self) -> &'static str {
        match self {
            DependencyKind::Group => "group",
            DependencyKind::NamedLocation => "named location",
            DependencyKind::AuthenticationStrength => "authentication strength",
            DependencyKind::AuthenticationContext => "authentication context",
            DependencyKind::ReusableSetting => "reusable setting",
        }
    }
}

/// Something missing from the tenant that a template needs, to be created before it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Dependency {
    /// What it is.
    pub kind: DependencyKind,
    /// Its display name (an authentication context: its id when it has no name).
    pub name: String,
    /// The object to create, when the template carries it (attachments); `None` for a
    /// group known only by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// Ids of the templates that need it.
    pub required_by: Vec<String>,
}

/// A deploy plan for one tenant: dependencies first, then one item per template, in the
/// order to apply them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// The tenant.
    pub tenant: String,
    /// What to create before the templates, in dependency order (groups, named locations,
    /// authentication strengths, authentication contexts, reusable settings).
    pub dependencies: Vec<Dependency>,
    /// One item per template; templates others depend on (groups, assignment filters,
    /// reusable settings) first, otherwise in the order given.
    pub items: Vec<PlanItem>,
    /// Where the objects of open-kind templates ([`TemplateKind::Other`] with a
    /// [`GraphTarget`]) live, by template id: apply writes them there.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub targets: BTreeMap<String, GraphTarget>,
}

impl Plan {
    /// Whether applying the plan would change nothing (every item no-op or adopt, no
    /// dependencies).
    pub fn is_empty(&self) -> bool {
        self.dependencies.is_empty()
            && self
                .items
                .iter()
                .all(|i| matches!(i.action, Action::NoOp { .. } | Action::Adopt { .. }))
    }

    /// Each dependency's kind and name, in order.
    pub fn dependency_names(&self) -> Vec<(DependencyKind, &str)> {
        self.dependencies
            .iter()
            .map(|d| (d.kind, d.name.as_str()))
            .collect()
    }

    /// Whether any item is a conflict (the plan cannot be applied as it is).
    pub fn has_conflicts(&self) -> bool {
        self.items
            .iter()
            .any(|i| matches!(i.action, Action::Conflict { .. }))
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Plan for {}: {} dependencies, {} templates",
            self.tenant,
            self.dependencies.len(),
            self.items.len()
        )?;
        for d in &self.dependencies {
            writeln!(
                f,
                "  + create {} \"{}\" (needed by {})",
                d.kind.label(),
                d.name,
                d.required_by.join(", ")
            )?;
        }
        for item in &self.items {
            write!(
                f,
                "  {} {} \"{}\" [{}]",
                item.action.label(),
                item.kind,
                item.name,
                item.template_id
            )?;
            match &item.action {
                Action::Create { .. } => writeln!(f)?,
                Action::Update {
                    object_id,
                    matched_by,
                    changes,
                    ..
                } => {
                    let how = match matched_by {
                        MatchedBy::Binding => "bound",
                        MatchedBy::Name => "adopted by name",
                    };
                    writeln!(f, " object {object_id} ({how})")?;
                    for c in changes {
                        writeln!(
                            f,
                            "      {}: {} -> {}",
                            c.path,
                            show(c.from.as_ref()),
                            show(c.to.as_ref())
                        )?;
                    }
                }
                Action::Adopt { object_id } | Action::NoOp { object_id } => {
                    writeln!(f, " object {object_id}")?;
                }
                Action::Conflict { reason } => writeln!(f, ": {reason}")?,
            }
        }
        Ok(())
    }
}

fn show(v: Option<&Value>) -> String {
    v.map_or_else(|| "(unset)".to_owned(), canonical::canonical_string)
}

/// Why a template could not be planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// The template's body is not a JSON object.
    #[error("template {template_id}: the body is not a JSON object")]
    NotAnObject {
        /// The template's id.
        template_id: String,
    },
    /// The binding given belongs to another template.
    #[error("template {template_id}: the binding given is for template {binding_template_id}")]
    BindingMismatch {
        /// The template's id.
        template_id: String,
        /// The binding's template id.
        binding_template_id: String,
    },
}

/// The body property holding an object's display name for `kind`: `name` for settings
/// catalog policies, `Name` for the Exchange kinds, `displayName` otherwise. Looked up
/// ignoring case, with the other spellings as fallback.
pub fn name_key(kind: &TemplateKind) -> &'static str {
    match kind {
        TemplateKind::IntuneSettingsCatalog => "name",
        TemplateKind::TransportRule
        | TemplateKind::SpamFilter
        | TemplateKind::ConnectionFilter
        | TemplateKind::ExchangeConnector
        | TemplateKind::SafeLinks => "Name",
        _ => "displayName",
    }
}

/// The display name in `body` for `kind` (see [`name_key`]).
pub fn object_name<'a>(kind: &TemplateKind, body: &'a Value) -> Option<&'a str> {
    let obj = body.as_object()?;
    [name_key(kind), "displayName", "name"]
        .into_iter()
        .find_map(|k| get_ci(obj, k).and_then(Value::as_str))
}

fn get_ci<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// Plans one template against the existing objects of its kind.
///
/// `template` has its variables substituted already. `binding`, when given, must be this
/// template's ([`PlanError::BindingMismatch`] otherwise); a binding whose object no longer
/// exists is ignored (the object was deleted: matching goes on by name).
pub fn plan_template(
    template: &Template,
    existing: &[Existing],
    binding: Option<&Binding>,
    options: &PlanOptions,
) -> Result<PlanItem, PlanError> {
    if !template.body.is_object() {
        return Err(PlanError::NotAnObject {
            template_id: template.id.clone(),
        });
    }
    if let Some(b) = binding {
        if b.template_id != template.id {
            return Err(PlanError::BindingMismatch {
                template_id: template.id.clone(),
                binding_template_id: b.template_id.clone(),
            });
        }
    }
    let kind = &template.kind;
    // An open kind is deployed only to the Graph target it carries; without a usable one
    // it is not deployable, and says why.
    let target = match template.deploy_target() {
        None => None,
        Some(Ok((t, _))) => Some(t),
        Some(Err(e)) => {
            return Ok(PlanItem {
                template_id: template.id.clone(),
                name: object_name(kind, &template.body)
                    .unwrap_or(&template.name)
                    .to_owned(),
                kind: kind.clone(),
                action: Action::Conflict {
                    reason: e.to_string(),
                },
            })
        }
    };
    let name_of = |body: &'_ Value| -> Option<String> {
        match &target {
            Some(t) => body
                .as_object()
                .and_then(|o| get_ci(o, &t.name_property))
                .and_then(Value::as_str)
                .map(str::to_owned),
            None => object_name(kind, body).map(str::to_owned),
        }
    };
    let name = name_of(&template.body).unwrap_or_else(|| template.name.clone());
    let is_ca = *kind == TemplateKind::ConditionalAccess;

    // The body to send on create.
    let mut create_body = template.body.clone();
    canonical::strip_server_owned(&mut create_body);
    canonical::strip_nulls(&mut create_body);
    if is_ca {
        if let (Some(state), Value::Object(map)) =
            (options.ca_state.graph_state(), &mut create_body)
        {
            map.insert("state".to_owned(), Value::String(state.to_owned()));
        }
    }
    // The body to send on update: with DoNotChange an existing policy keeps its state.
    let mut update_body = create_body.clone();
    if is_ca && options.ca_state == CaState::DoNotChange {
        if let Value::Object(map) = &mut update_body {
            map.remove("state");
        }
    }

    let item = |action: Action| PlanItem {
        template_id: template.id.clone(),
        name: name.clone(),
        kind: kind.clone(),
        action,
    };

    let bound = binding.and_then(|b| existing.iter().find(|e| e.id == b.object_id));
    if let Some(target) = bound {
        let changes = diff(kind, &update_body, &target.body);
        let action = if changes.is_empty() {
            Action::NoOp {
                object_id: target.id.clone(),
            }
        } else {
            Action::Update {
                object_id: target.id.clone(),
                matched_by: MatchedBy::Binding,
                changes,
                body: update_body,
            }
        };
        return Ok(item(action));
    }

    let same_name: Vec<&Existing> = existing
        .iter()
        .filter(|e| name_of(&e.body).is_some_and(|n| eq_ignore_case(&n, &name)))
        .collect();
    let action = match same_name.as_slice() {
        [] => Action::Create { body: create_body },
        [target] if options.adopt_by_name => {
            let changes = diff(kind, &update_body, &target.body);
            if changes.is_empty() {
                Action::Adopt {
                    object_id: target.id.clone(),
                }
            } else {
                Action::Update {
                    object_id: target.id.clone(),
                    matched_by: MatchedBy::Name,
                    changes,
                    body: update_body,
                }
            }
        }
        [target] => Action::Conflict {
            reason: format!(
                "an object named \"{name}\" already exists ({}) and adoption by name is off",
                target.id
            ),
        },
        many => Action::Conflict {
            reason: format!(
                "{} objects are named \"{name}\" ({})",
                many.len(),
                many.iter()
                    .map(|e| e.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
    };
    Ok(item(action))
}

fn eq_ignore_case(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

/// Plans every template against `tenant`. `bindings` may hold bindings of any templates and
/// tenants: only those of each template for `tenant.tenant` are used.
pub fn plan(
    templates: &[Template],
    tenant: &TenantState,
    bindings: &[Binding],
    options: &PlanOptions,
) -> Result<Plan, PlanError> {
    let mut ordered: Vec<&Template> = templates.iter().collect();
    ordered.sort_by_key(|t| kind_rank(&t.kind));

    let mut items = Vec::with_capacity(ordered.len());
    for t in &ordered {
        let binding = bindings
            .iter()
            .find(|b| b.template_id == t.id && b.tenant == tenant.tenant);
        items.push(plan_template(
            t,
            tenant.existing_of(&t.kind),
            binding,
            options,
        )?);
    }

    let dependencies = dependencies(&ordered, tenant);
    let targets = ordered
        .iter()
        .filter_map(|t| match t.deploy_target() {
            Some(Ok((target, _))) => Some((t.id.clone(), target)),
            _ => None,
        })
        .collect();
    Ok(Plan {
        tenant: tenant.tenant.clone(),
        dependencies,
        items,
        targets,
    })
}

/// Templates other templates depend on come first.
fn kind_rank(kind: &TemplateKind) -> u8 {
    match kind {
        TemplateKind::Group => 0,
        TemplateKind::AssignmentFilter | TemplateKind::IntuneReusableSetting => 1,
        _ => 2,
    }
}

fn dependencies(templates: &[&Template], tenant: &TenantState) -> Vec<Dependency> {
    let known =
        |names: &[String]| -> BTreeSet<String> { names.iter().map(|n| n.to_lowercase()).collect() };
    let mut groups = known(&tenant.group_names);
    // Groups the plan's own group templates create are not dependencies.
    for t in templates.iter().filter(|t| t.kind == TemplateKind::Group) {
        let n = object_name(&t.kind, &t.body).unwrap_or(&t.name);
        groups.insert(n.to_lowercase());
    }
    let locations = known(&tenant.named_locations);
    let strengths = known(&tenant.authentication_strengths);
    let contexts = known(&tenant.authentication_contexts);
    let reusable = known(&tenant.reusable_settings);

    // Keyed by (kind, lowercased name) so each is listed once, in dependency order.
    let mut found: BTreeMap<(DependencyKind, String), Dependency> = BTreeMap::new();
    let mut add = |kind: DependencyKind, name: &str, body: Option<&Value>, by: &str| {
        let entry = found
            .entry((kind, name.to_lowercase()))
            .or_insert_with(|| Dependency {
                kind,
                name: name.to_owned(),
                body: body.cloned(),
                required_by: Vec::new(),
            });
        if !entry.required_by.iter().any(|r| r == by) {
            entry.required_by.push(by.to_owned());
        }
    };

    for t in templates {
        if t.kind == TemplateKind::ConditionalAccess {
            for list in [
                "/conditions/users/includeGroups",
                "/conditions/users/excludeGroups",
            ] {
                let names = t.body.pointer(list).and_then(Value::as_array);
                for n in names.into_iter().flatten().filter_map(Value::as_str) {
                    if !groups.contains(&n.to_lowercase()) {
                        add(DependencyKind::Group, n, None, &t.id);
                    }
                }
            }
        }
        let attached = [
            (
                DependencyKind::NamedLocation,
                &t.attachments.named_locations,
                &locations,
            ),
            (
                DependencyKind::AuthenticationStrength,
                &t.attachments.authentication_strengths,
                &strengths,
            ),
            (
                DependencyKind::AuthenticationContext,
                &t.attachments.authentication_contexts,
                &contexts,
            ),
            (
                DependencyKind::ReusableSetting,
                &t.attachments.reusable_settings,
                &reusable,
            ),
        ];
        for (kind, objects, present) in attached {
            for obj in objects {
                let Some(map) = obj.as_object() else {
                    continue;
                };
                let name = get_ci(map, "displayName").and_then(Value::as_str);
                let id = get_ci(map, "id").and_then(Value::as_str);
                let exists = [
                    name,
                    if kind == DependencyKind::AuthenticationContext {
                        id
                    } else {
                        None
                    },
                ]
                .into_iter()
                .flatten()
                .any(|n| present.contains(&n.to_lowercase()));
                if exists {
                    continue;
                }
                if let Some(n) = name.or(id) {
                    add(kind, n, Some(obj), &t.id);
                }
            }
        }
    }
    found.into_values().collect()
}

/// `body` normalised for comparison: server-owned fields and nulls removed, numbers
/// canonical, and (for Conditional Access) the [`SET_LIKE_CA_ARRAYS`] sorted.
pub fn normalise(kind: &TemplateKind, body: &Value) -> Value {
    let mut v = body.clone();
    canonical::strip_server_owned(&mut v);
    canonical::strip_nulls(&mut v);
    let mut v = canonical::canonicalize(&v);
    if *kind == TemplateKind::ConditionalAccess {
        for path in SET_LIKE_CA_ARRAYS {
            if let Some(Value::Array(items)) = v.pointer_mut(path) {
                items.sort_by_cached_key(canonical::canonical_string);
                items.dedup();
            }
        }
    }
    if *kind == TemplateKind::IntuneAdministrativeTemplate {
        normalise_definition_values(&mut v);
    }
    if *kind == TemplateKind::Group
        && crate::template::GroupType::detect(&v)
            == Some(crate::template::GroupType::DynamicDistribution)
    {
        // Exchange returns a dynamic distribution group's filter re-parenthesised with
        // its system exclusions appended: compare filters by meaning.
        if let Value::Object(m) = &mut v {
            for (k, f) in m.iter_mut() {
                if k == "membershipRules" || k == "membershipRule" {
                    if let Value::String(text) = f {
                        *text =
                            cipp_exchange::distribution_groups::canonical_recipient_filter(text);
                    }
                }
            }
        }
    }
    if crate::exchange::is_exchange_kind(kind) {
        // CIPP's bookkeeping (`TemplateName`, `TemplateDescription`, `GUID`) is never sent,
        // so it never differs.
        if let Value::Object(m) = &mut v {
            m.retain(|k, _| {
                !crate::exchange::CIPP_BOOKKEEPING
                    .iter()
                    .any(|b| b.eq_ignore_ascii_case(k))
            });
        }
    }
    v
}

/// An administrative template's `updateDefinitionValues` payload compared as a set:
/// empty `updated` / `deletedIds` / `presentationValues` dropped, `…@odata.bind` URLs
/// reduced to their `groupPolicyDefinitions(…)` path in lower case (host and API version
/// carry no meaning), definition and presentation values sorted.
fn normalise_definition_values(v: &mut Value) {
    fn bind_path(s: &str) -> String {
        let lower = s.to_lowercase();
        lower
            .find("grouppolicydefinitions")
            .map_or(lower.clone(), |i| lower[i..].to_owned())
    }
    fn tidy(v: &mut Value) {
        let Value::Object(map) = v else { return };
        map.retain(|k, x| {
            !(matches!(k.as_str(), "updated" | "deletedIds" | "presentationValues")
                && x.as_array().is_some_and(Vec::is_empty))
        });
        for (k, x) in map.iter_mut() {
            if k.ends_with("@odata.bind") {
                if let Value::String(s) = x {
                    *s = bind_path(s);
                }
            }
        }
        for k in ["added", "updated", "presentationValues"] {
            if let Some(Value::Array(items)) = map.get_mut(k) {
                items.iter_mut().for_each(tidy);
                items.sort_by_cached_key(canonical::canonical_string);
            }
        }
    }
    tidy(v);
}

/// The properties `desired` sets that differ in `current`, after [`normalise`]-ing both.
/// Properties only `current` has are not changes. Sorted by path.
///
/// Device configurations: an OMA-URI setting the tenant holds encrypted is given sealed in
/// `current` (a keyed digest of its plain text, see [`crate::apply::fetch_state`]); the
/// template's value of that setting is sealed the same way before comparing, so an
/// unchanged secret is no change and a change shows digests, never the secret.
pub fn diff(kind: &TemplateKind, desired: &Value, current: &Value) -> Vec<FieldChange> {
    let sealed;
    let desired = if *kind == TemplateKind::IntuneDeviceConfiguration {
        let mut d = desired.clone();
        crate::secrets::seal_like(&mut d, current);
        sealed = d;
        &sealed
    } else {
        desired
    };
    let desired = normalise(kind, desired);
    let current = normalise(kind, current);
    let mut out = Vec::new();
    diff_into(&desired, Some(&current), String::new(), &mut out);
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

fn diff_into(desired: &Value, current: Option<&Value>, path: String, out: &mut Vec<FieldChange>) {
    match (desired, current) {
        (Value::Object(want), Some(Value::Object(have))) => {
            for (k, v) in want {
                let child = format!("{path}/{}", escape_pointer(k));
                diff_into(v, have.get(k), child, out);
            }
        }
        (want, have) if have == Some(want) => {}
        (want, have) => out.push(FieldChange {
            path,
            from: have.cloned(),
            to: Some(want.clone()),
        }),
    }
}

fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}
