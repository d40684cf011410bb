//! Applying a [`Plan`] to a tenant, and proving the result: Conditional Access, group and
//! Intune templates.
//!
//! 1. [`fetch_state`] reads what [`crate::plan::plan`] needs for the templates' kinds, one
//!    listing each (policies, groups with `$select`, named locations, authentication
//!    strengths, authentication contexts, reusable settings, each Intune collection with
//!    what its objects carry — compliance scheduled actions, settings catalog settings,
//!    administrative template definition values —; users only when an existing policy
//!    names one). **Batched:** the first pages of the independent listings go out as one
//!    Graph `$batch` per API version (`v1.0`, `beta`; 20 per envelope), a listing with
//!    `@odata.nextLink` is completed with ordinary paged requests, and each item's own
//!    status is handled as the request alone would be (429 and 503/504 re-sent after their
//!    `Retry-After`, bounded; 403 and the rest the read's error with tenant, status, code
//!    and request id). Conditional Access is paced at one request per second per tenant,
//!    so a batch carries at most one Conditional Access listing (its envelope is paced as
//!    one) and any other (named locations, authentication contexts) is its own request; a
//!    version with one listing is an ordinary request. Reads that depend on others stay
//!    sequential after: the users (only when a policy names one) and each administrative
//!    template's definition values. [`apply`] reads the directory it maps names with the
//!    same way, in one `$batch`.
//!    Existing objects are given in *name space*: group, user, location, strength and
//!    reusable-setting ids become display names as [`crate::capture`] writes them, so an
//!    object deployed from a template compares equal to it. Existing groups are given in
//!    CIPP's group template shape.
//! 2. [`apply`] creates the plan's dependencies first (groups by name as security groups,
//!    named locations and reusable settings from the templates' attachments), then each
//!    item in order (groups and assignment filters first): group templates become groups,
//!    Conditional Access and Intune templates have their names mapped to this tenant's ids
//!    (users and groups by display name — users also by UPN —, named locations,
//!    authentication strengths and reusable settings by name; `All`, `None`,
//!    `GuestsOrExternalUsers`, `AllTrusted`, role template ids and ids of objects of this
//!    tenant are kept) and are created or updated (see [`intune`](self) for each Intune
//!    kind's requests). A name that cannot be mapped fails that item only, and nothing is
//!    sent for it. Every dependency and item gets its own [`Outcome`]; one failure never
//!    stops the rest.
//! 3. Intune objects are then assigned as [`ApplyOptions::intune_assignment`] says (see
//!    [`IntuneAssignment`]); when the current assignments already match nothing is sent.
//! 4. Verification (on by default, [`ApplyOptions::verify`]): each created or updated
//!    object is read back, its ids are named again and it is compared with what was sent
//!    ([`crate::plan::diff`]); a difference makes the item's outcome
//!    [`Outcome::Partial`] listing each property.
//!
//! The [`Binding`]s of the report name every object the templates now manage in the
//! tenant (created, updated, adopted, and no-op ones), so the next plan updates those
//! objects — and a second apply of the same templates is all no-op.
//!
//! Templates of an open kind ([`TemplateKind::Other`]) that carry a Graph target are
//! read, created, updated and verified in their target collection by [`graph_objects`].
//!
//! Group templates of Exchange groups (distribution lists, mail-enabled security and
//! dynamic distribution groups) are created and updated through Exchange by
//! [`exchange_groups`], which [`crate::deploy::apply_tenant`] routes them to; [`apply`]
//! alone (Graph only) refuses to create them.
//!
//! Not handled yet (each is reported, never sent half-done): Exchange template kinds (see
//! [`crate::exchange`]), changing a group in place beyond its description and membership
//! rule (CIPP changes only those; Exchange groups also their display name, `allowExternal`
//! and `hideFromGAL`), and assigning a group template's licences.

mod assign;
mod ca;
pub mod exchange_groups;
pub mod graph_objects;
mod groups;
pub(crate) mod intune;
mod reads;
mod resolve;

use cipp_core::{ErrorSummary, Outcome, Report};
use cipp_graph::intune::IntuneKind;
use cipp_graph::model::NamedLocation;
use cipp_graph::TenantGraph;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use assign::{FilterChoice, FilterMode, IntuneAssignment};

use crate::plan::{
    diff, Action, Binding, Dependency, DependencyKind, Existing, FieldChange, Plan, PlanItem,
    TenantState,
};
use crate::template::{Template, TemplateKind};
use reads::Reads;
use resolve::{
    group_entry, groups_listing, is_guid, list_users, location_entries, same, special,
    strength_entries, strings_at, user_entries, users_listing, Directory, Entry,
};

/// An item's object id (when bound to one) and its outcome.
type Done = (Option<String>, Outcome);

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
    /// Who Intune objects are assigned to (default: their assignments are left alone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intune_assignment: Option<IntuneAssignment>,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            verify: true,
            intune_assignment: None,
        }
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

    /// The same options assigning every applied Intune object as `assignment` says.
    pub fn assign_intune(mut self, assignment: IntuneAssignment) -> ApplyOptions {
        self.intune_assignment = Some(assignment);
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
// Shared helpers

fn failed(message: impl Into<String>) -> Outcome {
    Outcome::Failed {
        error: ErrorSummary::from_message(message),
    }
}

fn to_json<T: Serialize>(what: &str, v: &T) -> Result<Value, String> {
    serde_json::to_value(v).map_err(|e| format!("{what} could not be written as JSON: {e}"))
}

fn str_field<'a>(body: &'a Value, key: &str) -> Option<&'a str> {
    body.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// `name` among `entries`, as the outcome of a dependency that exists already.
fn exists_already(entries: &[Entry], name: &str, what: &str) -> Option<Done> {
    entries.iter().find(|e| same(&e.name, name)).map(|e| {
        (
            Some(e.id.clone()),
            Outcome::no_change(format!("the {what} exists already")),
        )
    })
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

// ---------------------------------------------------------------------------------------
// Fetching the state

/// Reads what [`crate::plan::plan`] needs to plan `templates` in the tenant of `graph`:
/// Conditional Access policies, groups (`$select` of the portable properties), named
/// locations, authentication strengths, reusable settings and each Intune kind's
/// collection, their first pages in one `$batch` per API version (see the module docs),
/// and the users (`$select`) only when an existing policy names one, after. Objects are returned in name space (see the module docs),
/// groups in CIPP's group shape. Kinds apply does not handle are left out of
/// [`TenantState::existing`].
pub async fn fetch_state(
    graph: &TenantGraph,
    templates: &[Template],
) -> Result<TenantState, ApplyError> {
    let has = |k: TemplateKind| templates.iter().any(|t| t.kind == k);
    let ca = has(TemplateKind::ConditionalAccess);
    let mut intune_kinds: Vec<&TemplateKind> = templates
        .iter()
        .map(|t| &t.kind)
        .filter(|k| !intune::collections(k).is_empty())
        .collect();
    intune_kinds.sort();
    intune_kinds.dedup();
    let (intune_groups, reusable) = intune_kinds
        .iter()
        .map(|k| intune::needs(k))
        .fold((false, false), |a, b| (a.0 || b.0, a.1 || b.1));
    let groups_wanted = ca || has(TemplateKind::Group) || intune_groups;
    // Authentication contexts are read only when a template brings one.
    let contexts_wanted = templates
        .iter()
        .any(|t| !t.attachments.authentication_contexts.is_empty());

    // Every independent listing's first page in one `$batch` (see `reads`); Intune
    // collections too, since naming their references needs the directory only afterwards.
    let mut reads = Reads::new(graph);
    let policies = reads.add_if(ca, || graph.conditional_access().policies());
    let groups = reads.add_if(groups_wanted, || groups_listing(graph));
    let locations = reads.add_if(ca, || graph.conditional_access().named_locations());
    let strengths = reads.add_if(ca, || graph.conditional_access().authentication_strengths());
    let reusable = reads.add_if(reusable, || {
        intune::entries_listing(graph, IntuneKind::ReusableSetting)
    });
    let contexts = reads.add_if(contexts_wanted, || {
        graph.conditional_access().authentication_contexts()
    });
    let intune_reads: Vec<_> = intune_kinds
        .iter()
        .map(|kind| {
            let slots: Vec<_> = intune::collections(kind)
                .iter()
                .map(|ik| (*ik, reads.add(intune::state_listing(graph, *ik))))
                .collect();
            (*kind, slots)
        })
        .collect();
    let mut answers = reads.send().await;
    let policies = answers.take(policies)?;
    let groups = answers.take(groups)?;
    let locations = location_entries(answers.take(locations)?);
    let strengths = strength_entries(answers.take(strengths)?);
    let reusable = intune::entries(answers.take(reusable)?);
    let contexts = answers.take(contexts)?;
    let mut intune_lists = Vec::with_capacity(intune_reads.len());
    for (kind, slots) in intune_reads {
        let mut listed = Vec::with_capacity(slots.len());
        for (ik, slot) in slots {
            listed.push((ik, answers.take(Some(slot))?));
        }
        intune_lists.push((kind, listed));
    }

    let mut policy_bodies = Vec::with_capacity(policies.len());
    for p in &policies {
        let v = to_json("Conditional Access policy", p).map_err(|message| ApplyError::Invalid {
            what: format!("Conditional Access policy {}", p.id),
            message,
        })?;
        policy_bodies.push((p.id.clone(), v));
    }
    let names_users = policy_bodies.iter().any(|(_, b)| {
        ca::USER_LISTS
            .iter()
            .any(|p| strings_at(b, p).any(|s| !special(s, ca::SPECIAL_USERS) && is_guid(s)))
    });
    let dir = Directory {
        users: if names_users {
            list_users(graph).await?
        } else {
            Vec::new()
        },
        groups: groups.iter().filter_map(group_entry).collect(),
        locations,
        strengths,
        filters: Vec::new(),
        reusable,
    };

    let mut state = TenantState::new(graph.id().to_string());
    state.group_names = dir.groups.iter().map(|g| g.name.clone()).collect();
    state.named_locations = dir.locations.iter().map(|l| l.name.clone()).collect();
    state.authentication_strengths = dir.strengths.iter().map(|s| s.name.clone()).collect();
    state.authentication_contexts = contexts
        .iter()
        .flat_map(|c| [Some(c.id.clone()), c.display_name.clone()])
        .flatten()
        .collect();
    state.reusable_settings = dir.reusable.iter().map(|s| s.name.clone()).collect();
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
            .filter_map(|g| {
                Some(Existing::new(
                    g.id.as_ref()?.as_str(),
                    groups::group_shape(g),
                ))
            })
            .collect();
        state.existing.insert(TemplateKind::Group, existing);
    }
    for (kind, listed) in intune_lists {
        let existing = intune::existing(graph, kind, listed, &dir).await?;
        state.existing.insert(kind.clone(), existing);
    }
    // Open kinds with a Graph target: their target collections.
    graph_objects::fill_state(graph, templates, &mut state).await?;
    Ok(state)
}

// ---------------------------------------------------------------------------------------
// Applying

/// Reads the directory `plan` needs, its listings' first pages in one `$batch` (see the
/// module docs): every listing that failed is named in the error.
async fn read_directory(
    graph: &TenantGraph,
    plan: &Plan,
    options: &ApplyOptions,
) -> Result<Directory, String> {
    let ca_items: Vec<&PlanItem> = plan
        .items
        .iter()
        .filter(|i| i.kind == TemplateKind::ConditionalAccess && writes(&i.action))
        .collect();
    let need_ca = !ca_items.is_empty();
    let need_users = ca_items
        .iter()
        .any(|i| body_of(&i.action).is_some_and(ca::names_users));
    let has_dep = |k: DependencyKind| plan.dependencies.iter().any(|d| d.kind == k);
    let intune_items: Vec<&PlanItem> = plan
        .items
        .iter()
        .filter(|i| !intune::collections(&i.kind).is_empty())
        .collect();
    let assignment = options
        .intune_assignment
        .as_ref()
        .filter(|_| !intune_items.is_empty());
    let need_groups = need_ca
        || plan.items.iter().any(|i| i.kind == TemplateKind::Group)
        || has_dep(DependencyKind::Group)
        || assignment.is_some_and(IntuneAssignment::names_groups)
        || intune_items
            .iter()
            .any(|i| i.kind == TemplateKind::IntuneCompliance && writes(&i.action));
    let need_locations = need_ca || has_dep(DependencyKind::NamedLocation);
    let need_filters = assignment.is_some_and(|a| a.filter.is_some());
    let need_reusable = has_dep(DependencyKind::ReusableSetting)
        || intune_items
            .iter()
            .any(|i| intune::needs(&i.kind).1 && writes(&i.action));

    let mut reads = Reads::new(graph);
    let users = reads.add_if(need_users, || users_listing(graph));
    let groups = reads.add_if(need_groups, || groups_listing(graph));
    let locations = reads.add_if(need_locations, || {
        graph.conditional_access().named_locations()
    });
    let strengths = reads.add_if(need_ca, || {
        graph.conditional_access().authentication_strengths()
    });
    let filters = reads.add_if(need_filters, || {
        intune::entries_listing(graph, IntuneKind::AssignmentFilter)
    });
    let reusable = reads.add_if(need_reusable, || {
        intune::entries_listing(graph, IntuneKind::ReusableSetting)
    });
    let mut answers = reads.send().await;
    let users = answers.take(users).map(user_entries);
    let groups = answers
        .take(groups)
        .map(|g| g.iter().filter_map(group_entry).collect::<Vec<_>>());
    let locations = answers.take(locations).map(location_entries);
    let strengths = answers.take(strengths).map(strength_entries);
    let filters = answers.take(filters).map(intune::entries);
    let reusable = answers.take(reusable).map(intune::entries);
    let mut read_errors = Vec::new();
    let mut take = |what: &str, r: Result<Vec<Entry>, cipp_core::Error>| match r {
        Ok(v) => v,
        Err(e) => {
            read_errors.push(format!("reading the tenant's {what} failed: {e}"));
            Vec::new()
        }
    };
    let dir = Directory {
        users: take("users", users),
        groups: take("groups", groups),
        locations: take("named locations", locations),
        strengths: take("authentication strengths", strengths),
        filters: take("assignment filters", filters),
        reusable: take("reusable settings", reusable),
    };
    if read_errors.is_empty() {
        Ok(dir)
    } else {
        Err(read_errors.join("; "))
    }
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
    let mut dir = match read_directory(graph, plan, options).await {
        Ok(d) => d,
        Err(message) => {
            // Without the directory nothing can be mapped safely: report every step as
            // failed.
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
    };

    for d in &plan.dependencies {
        let (object_id, outcome) = create_dependency(graph, d, &mut dir).await;
        report.dependencies.push(DependencyResult {
            kind: d.kind,
            name: d.name.clone(),
            object_id,
            outcome,
        });
    }

    // Conditional Access policies written by this plan are verified together from one
    // listing when there are several: Graph serves one Conditional Access request per
    // second per tenant, so a GET per policy costs a second each.
    let ca_writes = plan
        .items
        .iter()
        .filter(|i| i.kind == TemplateKind::ConditionalAccess && writes(&i.action))
        .count();
    let batch_ca = options.verify && ca_writes > 1;
    let mut unverified = options.clone();
    unverified.verify = false;
    let mut pending: Vec<(usize, &Value)> = Vec::new();
    for item in &plan.items {
        let ca_write = batch_ca && item.kind == TemplateKind::ConditionalAccess;
        let body = match &item.action {
            Action::Create { body } | Action::Update { body, .. } if ca_write => Some(body),
            _ => None,
        };
        let opts = if body.is_some() { &unverified } else { options };
        let (object_id, outcome) = if matches!(item.kind, TemplateKind::Other(_)) {
            let target = plan.targets.get(&item.template_id);
            graph_objects::apply_item(graph, item, target, options).await
        } else {
            apply_item(graph, item, &mut dir, opts).await
        };
        if let Some(id) = &object_id {
            report.bindings.push(Binding {
                template_id: item.template_id.clone(),
                tenant: plan.tenant.clone(),
                object_id: id.clone(),
            });
        }
        if let Some(body) = body.filter(|_| object_id.is_some() && outcome.is_ok()) {
            pending.push((report.items.len(), body));
        }
        report.items.push(item_result(item, object_id, outcome));
    }
    if !pending.is_empty() {
        verify_policies(graph, &dir, &mut report.items, &pending).await;
    }
    report
}

/// Verifies the Conditional Access items at `pending` (report index, template body) from
/// one listing of the tenant's policies.
async fn verify_policies(
    graph: &TenantGraph,
    dir: &Directory,
    items: &mut [ItemResult],
    pending: &[(usize, &Value)],
) {
    let listed = graph.conditional_access().policies().await;
    for (index, body) in pending {
        let Some(item) = items.get_mut(*index) else {
            continue;
        };
        let done = item.outcome.message();
        let id = item.object_id.clone().unwrap_or_default();
        item.outcome = match &listed {
            Err(e) => Outcome::warning(format!("{done}; could not verify it: {e}")),
            Ok(all) => match all.iter().find(|p| p.id == id) {
                None => Outcome::warning(format!(
                    "{done}; could not verify it: the policy is not in the tenant's listing"
                )),
                Some(back) => match to_json("Conditional Access policy", back) {
                    Ok(v) => verified(&item.kind, body, &dir.to_names(&v), done),
                    Err(e) => Outcome::warning(format!("{done}; could not verify it: {e}")),
                },
            },
        };
    }
}

async fn create_dependency(graph: &TenantGraph, d: &Dependency, dir: &mut Directory) -> Done {
    match d.kind {
        DependencyKind::Group => groups::ensure_group(graph, &d.name, dir).await,
        DependencyKind::NamedLocation => create_location(graph, d, dir).await,
        DependencyKind::ReusableSetting => {
            intune::create_reusable(graph, &d.name, d.body.as_ref(), dir).await
        }
        DependencyKind::AuthenticationStrength => create_strength(graph, d, dir).await,
        DependencyKind::AuthenticationContext => create_context(graph, d).await,
    }
}

/// Creates the custom authentication strength the template attached (its name,
/// description and allowed combinations), so the policy can name it.
async fn create_strength(graph: &TenantGraph, d: &Dependency, dir: &mut Directory) -> Done {
    if let Some(done) = exists_already(&dir.strengths, &d.name, "authentication strength") {
        return done;
    }
    let Some(body) = &d.body else {
        return (
            None,
            failed("the template does not carry the authentication strength's definition"),
        );
    };
    let strength: cipp_graph::model::AuthenticationStrengthPolicy =
        match serde_json::from_value(body.clone()) {
            Ok(s) => s,
            Err(e) => {
                return (
                    None,
                    failed(format!(
                        "the attached authentication strength cannot be read: {e}"
                    )),
                )
            }
        };
    match graph
        .conditional_access()
        .create_authentication_strength(&strength)
        .await
    {
        Ok(created) => {
            dir.strengths
                .push(Entry::named(created.id.clone(), created.display_name));
            (
                Some(created.id),
                Outcome::succeeded(format!("authentication strength \"{}\" created", d.name)),
            )
        }
        Err(e) => (None, Outcome::failed(&e)),
    }
}

/// Creates (or names) the authentication context the template attached, under the same
/// id (`c1` … `c99`): policies refer to contexts by id.
async fn create_context(graph: &TenantGraph, d: &Dependency) -> Done {
    let Some(body) = &d.body else {
        return (
            None,
            failed("the template does not carry the authentication context's definition"),
        );
    };
    let context: cipp_graph::model::AuthenticationContext =
        match serde_json::from_value(body.clone()) {
            Ok(c) => c,
            Err(e) => {
                return (
                    None,
                    failed(format!(
                        "the attached authentication context cannot be read: {e}"
                    )),
                )
            }
        };
    match graph
        .conditional_access()
        .upsert_authentication_context(&context)
        .await
    {
        Ok(()) => (
            Some(context.id.clone()),
            Outcome::succeeded(format!(
                "authentication context {} \"{}\" created",
                context.id, d.name
            )),
        ),
        Err(e) => (None, Outcome::failed(&e)),
    }
}

async fn create_location(graph: &TenantGraph, d: &Dependency, dir: &mut Directory) -> Done {
    if let Some(done) = exists_already(&dir.locations, &d.name, "named location") {
        return done;
    }
    let Some(body) = &d.body else {
        return (
            None,
            failed("the template does not carry the named location's definition"),
        );
    };
    let mut location: NamedLocation = match serde_json::from_value(body.clone()) {
        Ok(l) => l,
        Err(e) => {
            return (
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
            dir.locations
                .push(Entry::named(created.id.clone(), d.name.clone()));
            (
                Some(created.id),
                Outcome::succeeded(format!("created named location \"{}\"", d.name)),
            )
        }
        Err(e) => (None, Outcome::failed(&e)),
    }
}

/// Applies one item: its object id (when bound to one) and its outcome.
async fn apply_item(
    graph: &TenantGraph,
    item: &PlanItem,
    dir: &mut Directory,
    options: &ApplyOptions,
) -> Done {
    let is_intune = !intune::collections(&item.kind).is_empty();
    let (done, ik) = match &item.action {
        Action::NoOp { object_id } => (
            (
                Some(object_id.clone()),
                Outcome::no_change("already as the template says"),
            ),
            None,
        ),
        Action::Adopt { object_id } => (
            (
                Some(object_id.clone()),
                Outcome::no_change("adopted: the object found by name already matches"),
            ),
            None,
        ),
        Action::Conflict { reason } => return (None, failed(format!("not applied: {reason}"))),
        Action::Create { body } => {
            let w = Write {
                item,
                object_id: None,
                changes: &[],
                body,
            };
            write_item(graph, w, dir, options).await
        }
        Action::Update {
            object_id,
            body,
            changes,
            ..
        } => {
            let w = Write {
                item,
                object_id: Some(object_id),
                changes,
                body,
            };
            write_item(graph, w, dir, options).await
        }
    };
    match (&options.intune_assignment, &done) {
        (Some(a), (Some(id), outcome)) if is_intune && outcome.is_ok() && !a.is_empty() => {
            let assigned = assign_item(graph, item, ik, id, a, dir).await;
            (done.0.clone(), with_assignment(done.1, assigned))
        }
        _ => done,
    }
}

/// One object to write: the plan item, the object it updates (`None`: create), what
/// changes and the body to send.
struct Write<'a> {
    item: &'a PlanItem,
    object_id: Option<&'a String>,
    changes: &'a [FieldChange],
    body: &'a Value,
}

async fn write_item(
    graph: &TenantGraph,
    w: Write<'_>,
    dir: &mut Directory,
    options: &ApplyOptions,
) -> (Done, Option<IntuneKind>) {
    let (item, object_id, body) = (w.item, w.object_id, w.body);
    match (&item.kind, object_id) {
        (TemplateKind::ConditionalAccess, _) => (
            ca::apply_ca(graph, item, object_id, body, dir, options).await,
            None,
        ),
        (TemplateKind::Group, None) => (
            groups::create_group(graph, item, body, dir, options).await,
            None,
        ),
        (TemplateKind::Group, Some(id)) => (
            groups::update_group(graph, item, id, w.changes, body, options).await,
            None,
        ),
        (kind, _) if !intune::collections(kind).is_empty() => {
            intune::apply_intune(graph, &w, dir, options).await
        }
        (kind, _) => (
            (
                object_id.cloned(),
                failed(format!(
                    "applying {kind} templates is not supported yet (Conditional Access, \
                     groups and the Intune kinds are)"
                )),
            ),
            None,
        ),
    }
}

/// Assigns an applied Intune object (assignment filters and reusable settings are not
/// assignable: nothing to do).
async fn assign_item(
    graph: &TenantGraph,
    item: &PlanItem,
    ik: Option<IntuneKind>,
    id: &str,
    a: &IntuneAssignment,
    dir: &Directory,
) -> Result<Option<String>, String> {
    let ik = match ik {
        Some(k) => k,
        None => intune::locate(graph, &item.kind, id).await?,
    };
    if ik.assignment_type().is_none() {
        return Ok(None);
    }
    assign::assign(graph, ik, id, a, dir).await
}

/// An item's outcome with its assignment's.
fn with_assignment(outcome: Outcome, assigned: Result<Option<String>, String>) -> Outcome {
    match (outcome, assigned) {
        (o, Ok(None)) => o,
        (Outcome::NoChange { .. }, Ok(Some(what))) => Outcome::succeeded(what),
        (Outcome::Succeeded { message }, Ok(Some(what))) => {
            Outcome::succeeded(format!("{message}; {what}"))
        }
        (Outcome::Warning { message }, Ok(Some(what))) => {
            Outcome::warning(format!("{message}; {what}"))
        }
        (o, Ok(Some(_))) => o,
        (o, Err(e)) => Outcome::Partial {
            message: format!("{}, but the assignment failed", o.message()),
            failures: vec![e],
        },
    }
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
