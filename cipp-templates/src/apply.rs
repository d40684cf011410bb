//! Applying a [`Plan`] to a tenant, and proving the result: Conditional Access and group
//! templates.
//!
//! 1. [`fetch_state`] reads what [`crate::plan::plan`] needs for the templates' kinds, one
//!    listing each (policies, groups with `$select`, named locations, authentication
//!    strengths; users only when an existing policy names one), independent listings
//!    concurrently. Existing policies are given in *name space*: group, user, location and
//!    strength ids become display names as [`crate::capture`] writes them, so a policy
//!    deployed from a template compares equal to it. Existing groups are given in CIPP's
//!    group template shape.
//! 2. [`apply`] creates the plan's dependencies first (groups by name as security groups,
//!    named locations from the templates' attachments), then each item in order: group
//!    templates become groups, Conditional Access templates have their names mapped to this
//!    tenant's ids (users and groups by display name — users also by UPN —, named
//!    locations and authentication strengths by name; `All`, `None`,
//!    `GuestsOrExternalUsers`, `AllTrusted`, role template ids and ids of objects of this
//!    tenant are kept) and are created or updated. A name that cannot be mapped fails that
//!    item only, and nothing is sent for it. Every dependency and item gets its own
//!    [`Outcome`]; one failure never stops the rest.
//! 3. Verification (on by default, [`ApplyOptions::verify`]): each created or updated
//!    object is read back, its ids are named again and it is compared with what was sent
//!    ([`crate::plan::diff`]); a difference makes the item's outcome
//!    [`Outcome::Partial`] listing each property.
//!
//! The [`Binding`]s of the report name every object the templates now manage in the
//! tenant (created, updated, adopted, and no-op ones), so the next plan updates those
//! objects — and a second apply of the same templates is all no-op.
//!
//! Not handled yet (each is reported, never sent half-done): other template kinds, group
//! templates for Exchange groups (distribution lists, mail-enabled security, dynamic
//! distribution), updating a group (cipp-graph has no group update), creating custom
//! authentication strengths, authentication contexts and reusable settings (no handlers),
//! and assigning a group template's licences.

use cipp_core::{ErrorSummary, Outcome, Report};
use cipp_graph::model::{ConditionalAccessPolicy, Group, GroupId, NamedLocation, NewGroup};
use cipp_graph::TenantGraph;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::plan::{
    diff, object_name, Action, Binding, Dependency, DependencyKind, Existing, Plan, PlanItem,
    TenantState,
};
use crate::template::{GroupType, Template, TemplateKind};

/// Why the tenant's state could not be read.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ApplyError {
    /// Reading from the tenant failed (permissions, throttling…); the service's error says
    /// what to do.
    #[error("reading the tenant's state failed: {0}")]
    Service(#[from] cipp_core::Error),
    /// An object read could not be turned into JSON.
    #[error("{what} could not be read as JSON: {message}")]
    Invalid {
        /// What was read.
        what: String,
        /// Why.
        message: String,
    },
}

/// How to apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ApplyOptions {
    /// Read every created or updated object back and compare it with the template
    /// (default: on).
    pub verify: bool,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions { verify: true }
    }
}

impl ApplyOptions {
    /// The default options (verification on).
    pub fn new() -> ApplyOptions {
        ApplyOptions::default()
    }

    /// The same options with verification on or off.
    pub fn verify(mut self, verify: bool) -> ApplyOptions {
        self.verify = verify;
        self
    }
}

/// How one dependency of the plan ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DependencyResult {
    /// What it is.
    pub kind: DependencyKind,
    /// Its name.
    pub name: String,
    /// Its id in the tenant, when it exists now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_id: Option<String>,
    /// How it ended.
    pub outcome: Outcome,
}

/// How one plan item ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemResult {
    /// The template's id.
    pub template_id: String,
    /// The object's name.
    pub name: String,
    /// The template's kind.
    pub kind: TemplateKind,
    /// The planned action ([`Action::label`]).
    pub action: String,
    /// The object's id in the tenant, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_id: Option<String>,
    /// How it ended (verification differences make it [`Outcome::Partial`]).
    pub outcome: Outcome,
}

/// What applying a plan did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplyReport {
    /// The tenant, as the plan names it.
    pub tenant: String,
    /// The dependencies, in the order they were handled.
    pub dependencies: Vec<DependencyResult>,
    /// The items, in the order they were applied.
    pub items: Vec<ItemResult>,
    /// The objects the templates manage in the tenant now (created, updated, adopted and
    /// no-op items): pass them to the next plan.
    pub bindings: Vec<Binding>,
}

impl ApplyReport {
    /// Every dependency and item as a named step.
    pub fn report(&self) -> Report {
        let mut r = Report::new();
        for d in &self.dependencies {
            r.push(
                format!("{} \"{}\"", d.kind.label(), d.name),
                d.outcome.clone(),
            );
        }
        for i in &self.items {
            r.push(
                format!("{} \"{}\" [{}]", i.kind, i.name, i.template_id),
                i.outcome.clone(),
            );
        }
        r
    }

    /// Whether every dependency and item is done (succeeded, warning or no change).
    pub fn is_ok(&self) -> bool {
        self.dependencies.iter().all(|d| d.outcome.is_ok())
            && self.items.iter().all(|i| i.outcome.is_ok())
    }

    /// The result for template `template_id`.
    pub fn item(&self, template_id: &str) -> Option<&ItemResult> {
        self.items.iter().find(|i| i.template_id == template_id)
    }
}

// ---------------------------------------------------------------------------------------
// The tenant's directory, as names and ids

/// Values of user lists that are not object ids.
const SPECIAL_USERS: &[&str] = &["All", "None", "GuestsOrExternalUsers"];
/// Values of location lists that are not named locations.
const SPECIAL_LOCATIONS: &[&str] = &["All", "AllTrusted", "00000000-0000-0000-0000-000000000000"];
const USER_LISTS: &[&str] = &[
    "/conditions/users/includeUsers",
    "/conditions/users/excludeUsers",
];
const GROUP_LISTS: &[&str] = &[
    "/conditions/users/includeGroups",
    "/conditions/users/excludeGroups",
];
const LOCATION_LISTS: &[&str] = &[
    "/conditions/locations/includeLocations",
    "/conditions/locations/excludeLocations",
];
const STRENGTH: &str = "/grantControls/authenticationStrength";

/// The group properties read (the portable ones, as [`crate::capture::capture_group`]).
const GROUP_SELECT: &[&str] = &[
    "id",
    "displayName",
    "description",
    "groupTypes",
    "mailEnabled",
    "securityEnabled",
    "mailNickname",
    "membershipRule",
    "isAssignableToRole",
    "assignedLicenses",
    "onPremisesSyncEnabled",
];

/// One object: id, display name and (users) UPN.
#[derive(Debug, Clone, Default)]
struct Entry {
    id: String,
    name: String,
    upn: String,
}

/// Names and ids of the tenant's users, groups, named locations and strengths.
#[derive(Debug, Clone, Default)]
struct Directory {
    users: Vec<Entry>,
    groups: Vec<Entry>,
    locations: Vec<Entry>,
    strengths: Vec<Entry>,
}

fn special(value: &str, specials: &[&str]) -> bool {
    specials.iter().any(|s| s.eq_ignore_ascii_case(value))
}

fn is_guid(s: &str) -> bool {
    s.len() == 36 && uuid::Uuid::parse_str(s).is_ok()
}

fn same(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

/// The id of `name` among `entries` (by id, then display name, then UPN), or why not.
fn id_of(entries: &[Entry], name: &str, what: &str) -> Result<String, String> {
    if let Some(e) = entries.iter().find(|e| e.id.eq_ignore_ascii_case(name)) {
        return Ok(e.id.clone());
    }
    let mut ids: Vec<&str> = entries
        .iter()
        .filter(|e| same(&e.name, name))
        .map(|e| e.id.as_str())
        .collect();
    if ids.is_empty() {
        ids = entries
            .iter()
            .filter(|e| !e.upn.is_empty() && same(&e.upn, name))
            .map(|e| e.id.as_str())
            .collect();
    }
    match ids.as_slice() {
        [one] => Ok((*one).to_owned()),
        [] => Err(format!("no {what} named \"{name}\" in the tenant")),
        many => Err(format!(
            "{} {what}s are named \"{name}\" ({}); rename one",
            many.len(),
            many.join(", ")
        )),
    }
}

/// The display name of `id` among `entries` (users: the UPN when the name is empty).
fn name_of(entries: &[Entry], id: &str) -> Option<String> {
    entries
        .iter()
        .find(|e| e.id.eq_ignore_ascii_case(id))
        .map(|e| {
            if e.name.is_empty() {
                e.upn.clone()
            } else {
                e.name.clone()
            }
        })
        .filter(|n| !n.is_empty())
}

fn strings_at<'a>(body: &'a Value, pointer: &str) -> impl Iterator<Item = &'a str> {
    body.pointer(pointer)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

/// Rewrites each string of the array at `pointer` with `f` (`None`: kept).
fn map_strings(body: &mut Value, pointer: &str, mut f: impl FnMut(&str) -> Option<String>) {
    if let Some(items) = body.pointer_mut(pointer).and_then(Value::as_array_mut) {
        for item in items {
            if let Some(new) = item.as_str().and_then(&mut f) {
                *item = Value::String(new);
            }
        }
    }
}

impl Directory {
    /// A Conditional Access body with this tenant's ids named (unknown ids kept).
    fn to_names(&self, body: &Value) -> Value {
        let mut v = body.clone();
        for p in USER_LISTS {
            map_strings(&mut v, p, |s| {
                (!special(s, SPECIAL_USERS))
                    .then(|| name_of(&self.users, s))
                    .flatten()
            });
        }
        for p in GROUP_LISTS {
            map_strings(&mut v, p, |s| name_of(&self.groups, s));
        }
        for p in LOCATION_LISTS {
            map_strings(&mut v, p, |s| {
                (!special(s, SPECIAL_LOCATIONS))
                    .then(|| name_of(&self.locations, s))
                    .flatten()
            });
        }
        if let Some(strength) = v.pointer_mut(STRENGTH) {
            let name = strength
                .get("id")
                .and_then(Value::as_str)
                .and_then(|id| name_of(&self.strengths, id))
                .or_else(|| {
                    strength
                        .get("displayName")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                });
            if let Some(name) = name {
                let mut named = Map::new();
                named.insert("displayName".to_owned(), Value::String(name));
                *strength = Value::Object(named);
            }
        }
        v
    }

    /// A Conditional Access body with names mapped to this tenant's ids, or every name that
    /// could not be mapped.
    fn to_ids(&self, body: &Value) -> Result<Value, Vec<String>> {
        let mut v = body.clone();
        let mut errors = Vec::new();
        let mut map = |v: &mut Value, lists: &[&str], entries: &[Entry], specials, what| {
            for p in lists {
                map_strings(v, p, |s| {
                    if special(s, specials) {
                        return None;
                    }
                    match id_of(entries, s, what) {
                        Ok(id) => Some(id),
                        Err(e) => {
                            errors.push(format!("{}: {e}", &p[1..]));
                            None
                        }
                    }
                });
            }
        };
        map(&mut v, USER_LISTS, &self.users, SPECIAL_USERS, "user");
        map(&mut v, GROUP_LISTS, &self.groups, &[], "group");
        map(
            &mut v,
            LOCATION_LISTS,
            &self.locations,
            SPECIAL_LOCATIONS,
            "named location",
        );
        if let Some(strength) = v.pointer_mut(STRENGTH) {
            let name = strength
                .get("displayName")
                .and_then(Value::as_str)
                .map(str::to_owned);
            if let Some(name) = name {
                match id_of(&self.strengths, &name, "authentication strength") {
                    Ok(id) => {
                        let mut by_id = Map::new();
                        by_id.insert("id".to_owned(), Value::String(id));
                        *strength = Value::Object(by_id);
                    }
                    Err(e) => errors.push(format!("grantControls/authenticationStrength: {e}")),
                }
            }
        }
        if errors.is_empty() {
            Ok(v)
        } else {
            Err(errors)
        }
    }
}

/// Whether a Conditional Access body names users that are not special values.
fn names_users(body: &Value) -> bool {
    USER_LISTS
        .iter()
        .any(|p| strings_at(body, p).any(|s| !special(s, SPECIAL_USERS)))
}

fn to_json<T: Serialize>(what: &str, v: &T) -> Result<Value, String> {
    serde_json::to_value(v).map_err(|e| format!("{what} could not be written as JSON: {e}"))
}

fn group_entry(g: &Group) -> Option<Entry> {
    Some(Entry {
        id: g.id.as_ref()?.as_str().to_owned(),
        name: g.display_name.clone().unwrap_or_default(),
        upn: String::new(),
    })
}

async fn list_groups(graph: &TenantGraph) -> Result<Vec<Group>, cipp_core::Error> {
    graph
        .groups()
        .list()
        .select(GROUP_SELECT.iter().copied())
        .await
}

async fn list_users(graph: &TenantGraph) -> Result<Vec<Entry>, cipp_core::Error> {
    let users = graph
        .users()
        .list()
        .select(["id", "displayName", "userPrincipalName"])
        .await?;
    Ok(users
        .into_iter()
        .filter_map(|u| {
            Some(Entry {
                id: u.id?.0,
                name: u.display_name.unwrap_or_default(),
                upn: u.user_principal_name.unwrap_or_default(),
            })
        })
        .collect())
}

async fn list_locations(graph: &TenantGraph) -> Result<Vec<Entry>, cipp_core::Error> {
    let all = graph.conditional_access().named_locations().await?;
    Ok(all
        .into_iter()
        .map(|l| Entry {
            id: l.id,
            name: l.display_name,
            upn: String::new(),
        })
        .collect())
}

async fn list_strengths(graph: &TenantGraph) -> Result<Vec<Entry>, cipp_core::Error> {
    let all = graph
        .conditional_access()
        .authentication_strengths()
        .await?;
    Ok(all
        .into_iter()
        .map(|s| Entry {
            id: s.id,
            name: s.display_name,
            upn: String::new(),
        })
        .collect())
}

/// A group in CIPP's group template shape (as [`crate::capture::capture_group`] writes it).
fn group_shape(g: &Group) -> Value {
    Value::Object(crate::capture::group_template_body(
        g,
        g.display_name.as_deref().unwrap_or_default(),
        None,
    ))
}

// ---------------------------------------------------------------------------------------
// Fetching the state

/// Reads what [`crate::plan::plan`] needs to plan `templates` (Conditional Access and group
/// templates) in the tenant of `graph`: one listing each of policies, groups (`$select` of
/// the portable properties), named locations and authentication strengths, concurrently,
/// and the users (`$select`) only when an existing policy names one. Policies are returned
/// in name space (see the module docs), groups in CIPP's group shape. Kinds other than
/// these two are left out of [`TenantState::existing`].
pub async fn fetch_state(
    graph: &TenantGraph,
    templates: &[Template],
) -> Result<TenantState, ApplyError> {
    let has = |k: TemplateKind| templates.iter().any(|t| t.kind == k);
    let ca = has(TemplateKind::ConditionalAccess);
    let groups_wanted = ca || has(TemplateKind::Group);

    let policies = async {
        if ca {
            graph.conditional_access().policies().await
        } else {
            Ok(Vec::new())
        }
    };
    let groups = async {
        if groups_wanted {
            list_groups(graph).await
        } else {
            Ok(Vec::new())
        }
    };
    let locations = async {
        if ca {
            list_locations(graph).await
        } else {
            Ok(Vec::new())
        }
    };
    let strengths = async {
        if ca {
            list_strengths(graph).await
        } else {
            Ok(Vec::new())
        }
    };
    let (policies, groups, locations, strengths) =
        futures::try_join!(policies, groups, locations, strengths)?;

    let mut policy_bodies = Vec::with_capacity(policies.len());
    for p in &policies {
        let v = to_json("Conditional Access policy", p).map_err(|message| ApplyError::Invalid {
            what: format!("Conditional Access policy {}", p.id),
            message,
        })?;
        policy_bodies.push((p.id.clone(), v));
    }
    let users = if policy_bodies.iter().any(|(_, b)| {
        USER_LISTS
            .iter()
            .any(|p| strings_at(b, p).any(|s| !special(s, SPECIAL_USERS) && is_guid(s)))
    }) {
        list_users(graph).await?
    } else {
        Vec::new()
    };
    let dir = Directory {
        users,
        groups: groups.iter().filter_map(group_entry).collect(),
        locations,
        strengths,
    };

    let mut state = TenantState::new(graph.id().to_string());
    state.group_names = dir.groups.iter().map(|g| g.name.clone()).collect();
    state.named_locations = dir.locations.iter().map(|l| l.name.clone()).collect();
    state.authentication_strengths = dir.strengths.iter().map(|s| s.name.clone()).collect();
    if ca {
        let existing = policy_bodies
            .into_iter()
            .map(|(id, body)| Existing::new(id, dir.to_names(&body)))
            .collect();
        state
            .existing
            .insert(TemplateKind::ConditionalAccess, existing);
    }
    if has(TemplateKind::Group) {
        let existing = groups
            .iter()
            .filter_map(|g| Some(Existing::new(g.id.as_ref()?.as_str(), group_shape(g))))
            .collect();
        state.existing.insert(TemplateKind::Group, existing);
    }
    Ok(state)
}

// ---------------------------------------------------------------------------------------
// Applying

fn failed(message: impl Into<String>) -> Outcome {
    Outcome::Failed {
        error: ErrorSummary::from_message(message),
    }
}

/// A mail nickname Graph accepts, from a display name.
fn nickname(name: &str) -> String {
    let nick: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .take(64)
        .collect();
    if nick.is_empty() {
        "group".to_owned()
    } else {
        nick
    }
}

fn str_field<'a>(body: &'a Value, key: &str) -> Option<&'a str> {
    body.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// The group to create for a group template body.
fn new_group(name: &str, body: &Value) -> Result<NewGroup, String> {
    let kind = GroupType::detect(body).ok_or_else(|| {
        "the template does not say what kind of group (groupType) it is".to_owned()
    })?;
    let nick = str_field(body, "username")
        .or_else(|| str_field(body, "mailNickname"))
        .map_or_else(|| nickname(name), str::to_owned);
    let mut g = match kind {
        GroupType::Security => NewGroup::security(name, &nick),
        GroupType::Microsoft365 => NewGroup::microsoft365(name, &nick),
        GroupType::RoleAssignable => NewGroup::security(name, &nick).role_assignable(),
        GroupType::Dynamic => {
            let rule = str_field(body, "membershipRules")
                .or_else(|| str_field(body, "membershipRule"))
                .ok_or_else(|| "a dynamic group template needs membershipRules".to_owned())?;
            NewGroup::security(name, &nick).dynamic(rule)
        }
        other => {
            return Err(format!(
                "{} groups are created through Exchange, which apply does not do yet",
                other.cipp_name()
            ))
        }
    };
    if let Some(d) = str_field(body, "description") {
        g = g.with_description(d);
    }
    Ok(g)
}

/// Applies `plan` (built from templates whose variables are already substituted) to the
/// tenant of `graph`: dependencies first, then each item; see the module docs. Never stops
/// at a failure: every dependency and item has its own outcome in the report.
pub async fn apply(graph: &TenantGraph, plan: &Plan, options: &ApplyOptions) -> ApplyReport {
    let mut report = ApplyReport {
        tenant: plan.tenant.clone(),
        dependencies: Vec::new(),
        items: Vec::new(),
        bindings: Vec::new(),
    };
    let ca_items: Vec<&PlanItem> = plan
        .items
        .iter()
        .filter(|i| i.kind == TemplateKind::ConditionalAccess && writes(&i.action))
        .collect();
    let need_ca = !ca_items.is_empty();
    let need_users = ca_items
        .iter()
        .any(|i| body_of(&i.action).is_some_and(names_users));
    let need_groups = need_ca
        || plan.items.iter().any(|i| i.kind == TemplateKind::Group)
        || plan
            .dependencies
            .iter()
            .any(|d| d.kind == DependencyKind::Group);
    let need_locations = need_ca
        || plan
            .dependencies
            .iter()
            .any(|d| d.kind == DependencyKind::NamedLocation);

    // The directory, read once, concurrently.
    let (users, groups, locations, strengths) = futures::join!(
        async {
            if need_users {
                list_users(graph).await
            } else {
                Ok(Vec::new())
            }
        },
        async {
            if need_groups {
                list_groups(graph)
                    .await
                    .map(|g| g.iter().filter_map(group_entry).collect::<Vec<_>>())
            } else {
                Ok(Vec::new())
            }
        },
        async {
            if need_locations {
                list_locations(graph).await
            } else {
                Ok(Vec::new())
            }
        },
        async {
            if need_ca {
                list_strengths(graph).await
            } else {
                Ok(Vec::new())
            }
        },
    );
    let mut read_errors = Vec::new();
    let mut take = |what: &str, r: Result<Vec<Entry>, cipp_core::Error>| match r {
        Ok(v) => v,
        Err(e) => {
            read_errors.push(format!("reading the tenant's {what} failed: {e}"));
            Vec::new()
        }
    };
    let mut dir = Directory {
        users: take("users", users),
        groups: take("groups", groups),
        locations: take("named locations", locations),
        strengths: take("authentication strengths", strengths),
    };
    if !read_errors.is_empty() {
        // Without the directory nothing can be mapped safely: report every step as failed.
        let message = read_errors.join("; ");
        for d in &plan.dependencies {
            report.dependencies.push(DependencyResult {
                kind: d.kind,
                name: d.name.clone(),
                object_id: None,
                outcome: failed(format!("not attempted: {message}")),
            });
        }
        for i in &plan.items {
            report.items.push(item_result(
                i,
                None,
                failed(format!("not applied: {message}")),
            ));
        }
        return report;
    }

    for d in &plan.dependencies {
        let result = create_dependency(graph, d, &mut dir).await;
        report.dependencies.push(result);
    }

    for item in &plan.items {
        let (object_id, outcome) = apply_item(graph, item, &mut dir, options).await;
        if let Some(id) = &object_id {
            report.bindings.push(Binding {
                template_id: item.template_id.clone(),
                tenant: plan.tenant.clone(),
                object_id: id.clone(),
            });
        }
        report.items.push(item_result(item, object_id, outcome));
    }
    report
}

fn writes(action: &Action) -> bool {
    matches!(action, Action::Create { .. } | Action::Update { .. })
}

fn body_of(action: &Action) -> Option<&Value> {
    match action {
        Action::Create { body } | Action::Update { body, .. } => Some(body),
        _ => None,
    }
}

fn item_result(item: &PlanItem, object_id: Option<String>, outcome: Outcome) -> ItemResult {
    ItemResult {
        template_id: item.template_id.clone(),
        name: item.name.clone(),
        kind: item.kind.clone(),
        action: item.action.label().to_owned(),
        object_id,
        outcome,
    }
}

async fn create_dependency(
    graph: &TenantGraph,
    d: &Dependency,
    dir: &mut Directory,
) -> DependencyResult {
    let result = |object_id: Option<String>, outcome: Outcome| DependencyResult {
        kind: d.kind,
        name: d.name.clone(),
        object_id,
        outcome,
    };
    let existing = |entries: &[Entry]| {
        entries
            .iter()
            .find(|e| same(&e.name, &d.name))
            .map(|e| e.id.clone())
    };
    match d.kind {
        DependencyKind::Group => {
            if let Some(id) = existing(&dir.groups) {
                return result(Some(id), Outcome::no_change("the group exists already"));
            }
            let g = NewGroup::security(&d.name, &nickname(&d.name));
            match graph.groups().create(&g).await {
                Ok(created) => {
                    let id = created
                        .id
                        .map(|i| i.as_str().to_owned())
                        .unwrap_or_default();
                    dir.groups.push(Entry {
                        id: id.clone(),
                        name: d.name.clone(),
                        upn: String::new(),
                    });
                    result(
                        Some(id),
                        Outcome::succeeded(format!("created security group \"{}\"", d.name)),
                    )
                }
                Err(e) => result(None, Outcome::failed(&e)),
            }
        }
        DependencyKind::NamedLocation => {
            if let Some(id) = existing(&dir.locations) {
                return result(
                    Some(id),
                    Outcome::no_change("the named location exists already"),
                );
            }
            let Some(body) = &d.body else {
                return result(
                    None,
                    failed("the template does not carry the named location's definition"),
                );
            };
            let mut location: NamedLocation = match serde_json::from_value(body.clone()) {
                Ok(l) => l,
                Err(e) => {
                    return result(
                        None,
                        failed(format!("the attached named location cannot be read: {e}")),
                    )
                }
            };
            location.id = String::new();
            match graph
                .conditional_access()
                .create_named_location(&location)
                .await
            {
                Ok(created) => {
                    dir.locations.push(Entry {
                        id: created.id.clone(),
                        name: d.name.clone(),
                        upn: String::new(),
                    });
                    result(
                        Some(created.id),
                        Outcome::succeeded(format!("created named location \"{}\"", d.name)),
                    )
                }
                Err(e) => result(None, Outcome::failed(&e)),
            }
        }
        DependencyKind::AuthenticationStrength => result(
            None,
            failed(format!(
                "creating the custom authentication strength \"{}\" is not supported yet \
                 (cipp-graph has no handler); create it in the tenant first",
                d.name
            )),
        ),
        other => result(
            None,
            failed(format!(
                "creating a {} is not supported yet; create \"{}\" in the tenant first",
                other.label(),
                d.name
            )),
        ),
    }
}

/// Applies one item: its object id (when bound to one) and its outcome.
async fn apply_item(
    graph: &TenantGraph,
    item: &PlanItem,
    dir: &mut Directory,
    options: &ApplyOptions,
) -> (Option<String>, Outcome) {
    match &item.action {
        Action::NoOp { object_id } => (
            Some(object_id.clone()),
            Outcome::no_change("already as the template says"),
        ),
        Action::Adopt { object_id } => (
            Some(object_id.clone()),
            Outcome::no_change("adopted: the object found by name already matches"),
        ),
        Action::Conflict { reason } => (None, failed(format!("not applied: {reason}"))),
        Action::Create { body } => match item.kind {
            TemplateKind::ConditionalAccess => {
                apply_ca(graph, item, None, body, dir, options).await
            }
            TemplateKind::Group => create_group(graph, item, body, dir, options).await,
            _ => (None, unsupported(&item.kind)),
        },
        Action::Update {
            object_id, body, ..
        } => match item.kind {
            TemplateKind::ConditionalAccess => {
                apply_ca(graph, item, Some(object_id), body, dir, options).await
            }
            TemplateKind::Group => (
                Some(object_id.clone()),
                failed(format!(
                    "updating a group is not supported yet (cipp-graph has no group update); \
                     change group {object_id} by hand"
                )),
            ),
            _ => (Some(object_id.clone()), unsupported(&item.kind)),
        },
    }
}

fn unsupported(kind: &TemplateKind) -> Outcome {
    failed(format!(
        "applying {kind} templates is not supported yet (Conditional Access and groups are)"
    ))
}

async fn create_group(
    graph: &TenantGraph,
    item: &PlanItem,
    body: &Value,
    dir: &mut Directory,
    options: &ApplyOptions,
) -> (Option<String>, Outcome) {
    let name = object_name(&item.kind, body)
        .unwrap_or(&item.name)
        .to_owned();
    let g = match new_group(&name, body) {
        Ok(g) => g,
        Err(e) => return (None, failed(format!("not created: {e}"))),
    };
    let created = match graph.groups().create(&g).await {
        Ok(c) => c,
        Err(e) => return (None, Outcome::failed(&e)),
    };
    let Some(id) = created.id.map(|i| i.as_str().to_owned()) else {
        return (
            None,
            failed("the group was created but Graph returned no id"),
        );
    };
    dir.groups.push(Entry {
        id: id.clone(),
        name: name.clone(),
        upn: String::new(),
    });
    let done = format!("created group \"{name}\" ({id})");
    if !options.verify {
        return (Some(id), Outcome::succeeded(done));
    }
    let read = graph
        .groups()
        .get(&GroupId::from(id.as_str()))
        .select(GROUP_SELECT.iter().copied())
        .await;
    let outcome = match read {
        Ok(back) => verified(&item.kind, body, &group_shape(&back), done),
        Err(e) => Outcome::warning(format!("{done}; could not verify it: {e}")),
    };
    (Some(id), outcome)
}

async fn apply_ca(
    graph: &TenantGraph,
    item: &PlanItem,
    object_id: Option<&String>,
    body: &Value,
    dir: &Directory,
    options: &ApplyOptions,
) -> (Option<String>, Outcome) {
    let bound = object_id.cloned();
    let mapped = match dir.to_ids(body) {
        Ok(m) => m,
        Err(errors) => {
            return (
                bound,
                failed(format!(
                    "not applied, nothing was sent: {}",
                    errors.join("; ")
                )),
            )
        }
    };
    let mut policy: ConditionalAccessPolicy = match serde_json::from_value(mapped) {
        Ok(p) => p,
        Err(e) => {
            return (
                bound,
                failed(format!(
                    "the template is not a Conditional Access policy: {e}"
                )),
            )
        }
    };
    let ca = graph.conditional_access();
    let (id, done) = match object_id {
        None => match ca.create_policy(&policy).await {
            Ok(created) => {
                let id = created.id.clone();
                (
                    id.clone(),
                    format!("created policy \"{}\" ({id})", item.name),
                )
            }
            Err(e) => return (None, Outcome::failed(&e)),
        },
        Some(id) => {
            if policy.state.is_none() {
                // The policy keeps its state (CaState::DoNotChange): send the current one.
                match ca.policy(id).await {
                    Ok(current) => policy.state = current.state,
                    Err(e) => return (bound, Outcome::failed(&e)),
                }
            }
            match ca.update_policy(id, &policy).await {
                Ok(()) => (
                    id.clone(),
                    format!("updated policy \"{}\" ({id})", item.name),
                ),
                Err(e) => return (bound, Outcome::failed(&e)),
            }
        }
    };
    if id.is_empty() {
        return (
            None,
            failed("the policy was created but Graph returned no id"),
        );
    }
    if !options.verify {
        return (Some(id), Outcome::succeeded(done));
    }
    let outcome = match ca.policy(&id).await {
        Ok(back) => match to_json("Conditional Access policy", &back) {
            Ok(v) => verified(&item.kind, body, &dir.to_names(&v), done),
            Err(e) => Outcome::warning(format!("{done}; could not verify it: {e}")),
        },
        Err(e) => Outcome::warning(format!("{done}; could not verify it: {e}")),
    };
    (Some(id), outcome)
}

/// `Succeeded` when `read` (in name space) has every property of `sent`, else `Partial`
/// naming each difference.
fn verified(kind: &TemplateKind, sent: &Value, read: &Value, done: String) -> Outcome {
    let changes = diff(kind, sent, read);
    if changes.is_empty() {
        return Outcome::succeeded(format!("{done}; verified"));
    }
    let show = |v: &Option<Value>| {
        v.as_ref()
            .map_or_else(|| "(unset)".to_owned(), crate::canonical::canonical_string)
    };
    Outcome::Partial {
        message: format!(
            "{done}, but {} propert{} differ when read back",
            changes.len(),
            if changes.len() == 1 { "y" } else { "ies" }
        ),
        failures: changes
            .iter()
            .map(|c| {
                format!(
                    "{}: expected {}, found {}",
                    c.path,
                    show(&c.to),
                    show(&c.from)
                )
            })
            .collect(),
    }
}
