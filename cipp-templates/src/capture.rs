//! Capture: read one object from a tenant and turn it into a [`Template`] that any tenant
//! can take.
//!
//! | function | reads | template |
//! |---|---|---|
//! | [`capture_conditional_access`] | the policy; the users and groups it names; the named locations and authentication strengths (only when referenced) | [`TemplateKind::ConditionalAccess`], locations and custom strengths in [`Attachments`] |
//! | [`capture_group`] | the group (`$select` of the portable attributes) | [`TemplateKind::Group`], CIPP's group template shape |
//! | [`capture_user_defaults`] | the user (`$select`) and its direct `memberOf` | [`TemplateKind::UserDefaults`] |
//! | [`capture_intune`] | the policy (compliance: `$expand` of its scheduled actions; settings catalog: its `settings` and the reusable settings they reference; administrative templates: their definition values; custom device configurations: the plain text of each encrypted OMA-URI setting) | the Intune kind asked for (every one) |
//! | [`capture_transport_rule`] | `Get-TransportRule -Identity` | [`TemplateKind::TransportRule`], a `New-TransportRule` parameter set |
//!
//! What every capture does:
//!
//! - **Server-owned fields are stripped**: [`crate::canonical::SERVER_OWNED_FIELDS`] (ids,
//!   timestamps, `version`, …), response annotations at any depth (`@odata.context`,
//!   `…@odata.navigationLink`, …; `@odata.type` and `…@odata.bind` are content), scope tags
//!   other than the default one, and each kind's read-only properties. **Unknown fields are
//!   kept**, so capture → store → deploy → capture again gives the same content hash.
//! - **References become names.** Conditional Access users and groups become display names
//!   (`All`, `None`, `GuestsOrExternalUsers` and role template ids — the same in every
//!   tenant — stay as they are), named locations become their display names with the
//!   location objects attached, the authentication strength becomes `{"displayName": …}`
//!   with a custom strength's object attached. Compliance notification CC groups become
//!   group names; settings-catalog references to reusable settings become their display
//!   names, with the reusable setting objects attached. User defaults name their groups. Application ids (the same in every
//!   tenant for Microsoft's and multi-tenant apps; deployment drops apps a tenant lacks),
//!   external tenant ids of guest conditions, SKU ids and Microsoft template ids are kept:
//!   they are not objects of the source tenant.
//! - **No object id of the source tenant is left in the template**, not even in
//!   [`Template::source`]: the source says which tenant, and the captured object's id is
//!   returned beside the template in [`Capture::object_id`].
//!
//! # References that cannot be named
//!
//! A reference that cannot be resolved — a deleted group still excluded from a policy, a
//! service principal or terms-of-use agreement (not mapped yet), a compliance notification
//! template — is an **error** by default: [`CaptureError::Unresolved`] lists every such
//! reference with where it is. Leaving one out silently could widen a policy (a lost
//! exclusion) or narrow it. [`CaptureOptions::drop_unresolved`] captures anyway, leaving the
//! references out and reporting each one in [`Capture::warnings`].
//!
//! # Gaps (the handlers of cipp-graph do not expose these yet)
//!
//! - Authentication contexts: policy references (`c1` … `c99`) are kept as they are (they
//!   are not object ids) and a warning says the context's name and definition are not
//!   attached.
//! - Intune assignments are not captured (assignment is chosen at deploy time).
//! - Exchange-only group settings (`allowExternal`, `hideFromGAL`) and dynamic distribution
//!   groups (not Graph objects).
//!
//! ```no_run
//! # async fn demo(graph: &cipp_graph::TenantGraph) -> Result<(), cipp_templates::capture::CaptureError> {
//! use cipp_templates::capture::{capture_conditional_access, capture_conditional_access_with, CaptureOptions};
//!
//! let captured = capture_conditional_access(graph, "7359d0e0-d8a9-4afa-8a93-e23e099d7be8").await?;
//! for w in &captured.warnings {
//!     println!("warning: {w}");
//! }
//! // Capture even when a referenced group was deleted (the reference is left out, with a warning).
//! let lenient = capture_conditional_access_with(
//!     graph,
//!     "7359d0e0-d8a9-4afa-8a93-e23e099d7be8",
//!     &CaptureOptions::new().drop_unresolved(),
//! ).await?;
//! # let _ = lenient; Ok(()) }
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use cipp_exchange::TenantExchange;
use cipp_graph::intune::IntuneKind;
use cipp_graph::model::{GroupId, UserId};
use cipp_graph::users::UserRef;
use cipp_graph::TenantGraph;
use serde_json::{Map, Value};

use crate::canonical::{strip_fields, strip_fields_recursive, strip_nulls, strip_server_owned};
use crate::template::{Attachments, GroupType, Template, TemplateKind, TemplateSource};

/// Why a capture failed. Each message says what to do.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureError {
    /// Reading from the tenant failed (permissions, throttling, a missing object…); the
    /// service's error says what to do.
    #[error("capture failed while reading from the tenant: {0}")]
    Service(#[from] cipp_core::Error),
    /// The object references other objects that could not be named (see the module docs).
    #[error(
        "{object} references {n} object(s) that cannot be named, so the template would hold \
         ids of the source tenant: {list}. Restore or remove them in the tenant, or capture with \
         CaptureOptions::drop_unresolved() to leave them out (each is reported as a warning)",
        n = references.len(),
        list = join(references)
    )]
    Unresolved {
        /// The object being captured (`Conditional Access policy "Block legacy auth"`).
        object: String,
        /// Every reference that could not be named.
        references: Vec<UnresolvedReference>,
    },
    /// This object (or something in it) cannot be captured yet.
    #[error("{what} cannot be captured: {reason}")]
    Unsupported {
        /// What was being captured.
        what: String,
        /// Why, and what to do instead.
        reason: String,
    },
    /// The object does not exist in the tenant.
    #[error("{what} `{id}` was not found in tenant {tenant}; check the id or name")]
    NotFound {
        /// What was looked for.
        what: String,
        /// The id or name asked for.
        id: String,
        /// The tenant.
        tenant: String,
    },
    /// The object read cannot make a template (no name, an unknown kind of group…).
    #[error("{what} cannot become a template: {message}")]
    Invalid {
        /// What was captured.
        what: String,
        /// What is wrong with it.
        message: String,
    },
}

fn join(refs: &[UnresolvedReference]) -> String {
    refs.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// What kind of object a reference names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReferenceKind {
    /// A user (Conditional Access `includeUsers` / `excludeUsers`).
    User,
    /// A group (Conditional Access groups, compliance notification CC lists).
    Group,
    /// A named location.
    NamedLocation,
    /// An authentication strength.
    AuthenticationStrength,
    /// A service principal (workload identity policies); not mapped to names yet.
    ServicePrincipal,
    /// A terms-of-use agreement; not captured yet.
    TermsOfUse,
    /// An Intune notification message template; not captured yet.
    NotificationTemplate,
    /// A reusable policy setting a settings-catalog policy references.
    ReusableSetting,
}

impl fmt::Display for ReferenceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReferenceKind::User => "user",
            ReferenceKind::Group => "group",
            ReferenceKind::NamedLocation => "named location",
            ReferenceKind::AuthenticationStrength => "authentication strength",
            ReferenceKind::ServicePrincipal => "service principal",
            ReferenceKind::TermsOfUse => "terms-of-use agreement",
            ReferenceKind::NotificationTemplate => "notification message template",
            ReferenceKind::ReusableSetting => "reusable policy setting",
        })
    }
}

/// A reference that could not be turned into a name.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnresolvedReference {
    /// What it names.
    pub kind: ReferenceKind,
    /// The id in the source tenant.
    pub id: String,
    /// Where in the object (`conditions.users.excludeGroups`).
    pub at: String,
    /// Why it could not be named.
    pub reason: String,
}

impl fmt::Display for UnresolvedReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} at {} ({})",
            self.kind, self.id, self.at, self.reason
        )
    }
}

/// What to do with references that cannot be named.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OnUnresolved {
    /// Fail with [`CaptureError::Unresolved`] (the default).
    #[default]
    Fail,
    /// Leave them out of the template and report each in [`Capture::warnings`].
    Drop,
}

/// How to capture.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CaptureOptions {
    /// What to do with references that cannot be named.
    pub on_unresolved: OnUnresolved,
}

impl CaptureOptions {
    /// The defaults: unresolved references fail the capture.
    pub fn new() -> CaptureOptions {
        CaptureOptions::default()
    }

    /// Leave unresolved references out (with a warning each) instead of failing.
    pub fn drop_unresolved(mut self) -> CaptureOptions {
        self.on_unresolved = OnUnresolved::Drop;
        self
    }
}

/// A captured template, with what the caller should know about it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Capture {
    /// The template (source: the tenant, without the object's id).
    pub template: Template,
    /// Things worth a look: gaps, dropped references, properties that need care.
    pub warnings: Vec<String>,
    /// The captured object's id (or Exchange identity) in its tenant, to capture it again.
    /// Kept out of the template, which holds no id of its source tenant.
    pub object_id: String,
}

impl Capture {
    /// The template alone.
    pub fn into_template(self) -> Template {
        self.template
    }
}

// ---------------------------------------------------------------------------------------
// Shared helpers

/// Whether `s` is a GUID (`8-4-4-4-12` hex digits).
fn is_guid(s: &str) -> bool {
    s.len() == 36 && uuid::Uuid::parse_str(s).is_ok()
}

/// The nil GUID: the "MFA trusted IPs" named location, and "no template" in Intune; the
/// same in every tenant.
const NIL_GUID: &str = "00000000-0000-0000-0000-000000000000";

/// Response annotations (`@odata.X` or `property@odata.X`) removed at any depth.
const RESPONSE_ANNOTATIONS: &[&str] = &[
    "context",
    "id",
    "editLink",
    "readLink",
    "etag",
    "nextLink",
    "deltaLink",
    "count",
    "navigationLink",
    "associationLink",
    "mediaEditLink",
    "mediaReadLink",
    "mediaContentType",
    "mediaEtag",
];

fn is_response_annotation(key: &str) -> bool {
    key.rsplit_once("@odata.")
        .is_some_and(|(_, what)| RESPONSE_ANNOTATIONS.contains(&what))
}

/// Removes response annotations from every object in `value`.
pub(crate) fn strip_annotations(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|k, _| !is_response_annotation(k));
            for v in map.values_mut() {
                strip_annotations(v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strip_annotations),
        _ => {}
    }
}

fn to_value<T: serde::Serialize>(what: &str, v: &T) -> Result<Value, CaptureError> {
    serde_json::to_value(v).map_err(|e| CaptureError::Invalid {
        what: what.to_owned(),
        message: format!("cannot be written as JSON: {e}"),
    })
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn source(graph_tenant: &cipp_core::TenantId) -> TemplateSource {
    TemplateSource::Tenant {
        tenant: graph_tenant.to_string(),
        object_id: None,
    }
}

fn build(
    kind: TemplateKind,
    name: String,
    description: String,
    body: Value,
    attachments: Attachments,
    tenant: &cipp_core::TenantId,
) -> Template {
    Template::new(kind, name, body)
        .with_description(description)
        .with_attachments(attachments)
        .with_source(source(tenant))
}

/// Names objects of one tenant by id, asking each once.
struct Resolver<'a> {
    graph: &'a TenantGraph,
    users: BTreeMap<String, Option<String>>,
    groups: BTreeMap<String, Option<String>>,
    locations: Option<Vec<Value>>,
    strengths: Option<Vec<Value>>,
}

/// `Ok(None)` when the service says the object does not exist.
fn found<T>(r: Result<T, cipp_core::Error>) -> Result<Option<T>, CaptureError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

impl<'a> Resolver<'a> {
    fn new(graph: &'a TenantGraph) -> Resolver<'a> {
        Resolver {
            graph,
            users: BTreeMap::new(),
            groups: BTreeMap::new(),
            locations: None,
            strengths: None,
        }
    }

    async fn user(&mut self, id: &str) -> Result<Option<String>, CaptureError> {
        let key = id.to_ascii_lowercase();
        if let Some(n) = self.users.get(&key) {
            return Ok(n.clone());
        }
        let r = self
            .graph
            .users()
            .get(&UserRef::Id(UserId(key.clone())))
            .select(["id", "displayName", "userPrincipalName"])
            .await;
        let name = found(r)?.and_then(|u| {
            u.display_name
                .filter(|n| !n.is_empty())
                .or(u.user_principal_name)
        });
        self.users.insert(key, name.clone());
        Ok(name)
    }

    async fn group(&mut self, id: &str) -> Result<Option<String>, CaptureError> {
        let key = id.to_ascii_lowercase();
        if let Some(n) = self.groups.get(&key) {
            return Ok(n.clone());
        }
        let r = self
            .graph
            .groups()
            .get(&GroupId::from(key.as_str()))
            .select(["id", "displayName"])
            .await;
        let name = found(r)?
            .and_then(|g| g.display_name)
            .filter(|n| !n.is_empty());
        self.groups.insert(key, name.clone());
        Ok(name)
    }

    async fn location(&mut self, id: &str) -> Result<Option<Value>, CaptureError> {
        if self.locations.is_none() {
            let all = self.graph.conditional_access().named_locations().await?;
            self.locations = Some(values_of("named location", &all)?);
        }
        Ok(by_id(self.locations.as_deref(), id))
    }

    async fn strength(&mut self, id: &str) -> Result<Option<Value>, CaptureError> {
        if self.strengths.is_none() {
            let all = self
                .graph
                .conditional_access()
                .authentication_strengths()
                .await?;
            self.strengths = Some(values_of("authentication strength", &all)?);
        }
        Ok(by_id(self.strengths.as_deref(), id))
    }
}

/// Each object as JSON.
fn values_of<T: serde::Serialize>(what: &str, all: &[T]) -> Result<Vec<Value>, CaptureError> {
    all.iter().map(|x| to_value(what, x)).collect()
}

/// The object whose `id` is `id` (ignoring case) among `all`.
fn by_id(all: Option<&[Value]>, id: &str) -> Option<Value> {
    all?.iter()
        .find(|v| str_at(v, "id").is_some_and(|x| x.eq_ignore_ascii_case(id)))
        .cloned()
}

/// Collects unresolved references and applies the [`OnUnresolved`] choice.
struct Unresolved {
    policy: OnUnresolved,
    refs: Vec<UnresolvedReference>,
}

impl Unresolved {
    fn new(options: &CaptureOptions) -> Unresolved {
        Unresolved {
            policy: options.on_unresolved,
            refs: Vec::new(),
        }
    }

    fn add(&mut self, kind: ReferenceKind, id: &str, at: &str, reason: &str) {
        self.refs.push(UnresolvedReference {
            kind,
            id: id.to_owned(),
            at: at.to_owned(),
            reason: reason.to_owned(),
        });
    }

    /// Fails (with every reference) or turns them into warnings.
    fn finish(self, object: String, warnings: &mut Vec<String>) -> Result<(), CaptureError> {
        if self.refs.is_empty() {
            return Ok(());
        }
        match self.policy {
            OnUnresolved::Fail => Err(CaptureError::Unresolved {
                object,
                references: self.refs,
            }),
            OnUnresolved::Drop => {
                for r in self.refs {
                    warnings.push(format!("left out {r}"));
                }
                Ok(())
            }
        }
    }
}

/// The array at `path` (object keys) inside `value`, taken out (empty when missing).
fn take_array(value: &mut Value, path: &[&str]) -> Option<Vec<Value>> {
    let mut cur = value;
    for k in path {
        cur = cur.get_mut(*k)?;
    }
    match cur {
        Value::Array(items) => Some(std::mem::take(items)),
        _ => None,
    }
}

fn put_array(value: &mut Value, path: &[&str], items: Vec<Value>) {
    let mut cur = value;
    for k in path {
        match cur.get_mut(*k) {
            Some(next) => cur = next,
            None => return,
        }
    }
    *cur = Value::Array(items);
}

// ---------------------------------------------------------------------------------------
// Conditional Access

/// User list values that are not object ids.
const CA_SPECIAL_USERS: &[&str] = &["All", "None", "GuestsOrExternalUsers"];
/// Location list values that are not named locations of the tenant.
const CA_SPECIAL_LOCATIONS: &[&str] = &["All", "AllTrusted", NIL_GUID];
/// Service principal list values that are not object ids.
const CA_SPECIAL_SERVICE_PRINCIPALS: &[&str] = &["All", "None", "ServicePrincipalsInMyTenant"];

fn special(value: &str, specials: &[&str]) -> bool {
    specials.iter().any(|s| s.eq_ignore_ascii_case(value))
}

/// Captures a Conditional Access policy (see the module docs) with the default
/// [`CaptureOptions`]: a reference that cannot be named fails the capture.
pub async fn capture_conditional_access(
    graph: &TenantGraph,
    policy_id: &str,
) -> Result<Capture, CaptureError> {
    capture_conditional_access_with(graph, policy_id, &CaptureOptions::default()).await
}

/// Captures a Conditional Access policy: `GET identity/conditionalAccess/policies/{id}`,
/// then only what it references — each user and group (`$select=id,displayName…`), the
/// named locations, the authentication strengths and (when the policy targets any) the
/// authentication contexts (one listing each). Nulls are dropped
/// (as CIPP does: Graph refuses some on create).
pub async fn capture_conditional_access_with(
    graph: &TenantGraph,
    policy_id: &str,
    options: &CaptureOptions,
) -> Result<Capture, CaptureError> {
    let policy = graph.conditional_access().policy(policy_id).await?;
    let mut body = to_value("Conditional Access policy", &policy)?;
    strip_nulls(&mut body);
    strip_annotations(&mut body);
    strip_server_owned(&mut body);
    let name = str_at(&body, "displayName")
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| CaptureError::Invalid {
            what: format!("Conditional Access policy {policy_id}"),
            message: "it has no displayName (deployment matches policies by name)".to_owned(),
        })?
        .to_owned();
    let description = str_at(&body, "description").unwrap_or_default().to_owned();
    let mut warnings = Vec::new();
    let mut unresolved = Unresolved::new(options);
    let mut resolver = Resolver::new(graph);
    let mut attachments = Attachments::default();

    // Users and groups.
    for (list, kind) in [
        ("includeUsers", ReferenceKind::User),
        ("excludeUsers", ReferenceKind::User),
        ("includeGroups", ReferenceKind::Group),
        ("excludeGroups", ReferenceKind::Group),
    ] {
        let path = ["conditions", "users", list];
        let Some(items) = take_array(&mut body, &path) else {
            continue;
        };
        let at = path.join(".");
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let Some(id) = item.as_str().map(str::to_owned) else {
                out.push(item);
                continue;
            };
            if (kind == ReferenceKind::User && special(&id, CA_SPECIAL_USERS)) || !is_guid(&id) {
                out.push(item);
                continue;
            }
            let name = match kind {
                ReferenceKind::User => resolver.user(&id).await?,
                _ => resolver.group(&id).await?,
            };
            match name {
                Some(n) => out.push(Value::String(n)),
                None => unresolved.add(kind, &id, &at, "not found in the tenant: deleted?"),
            }
        }
        put_array(&mut body, &path, out);
    }

    // Named locations.
    let mut attached_locations = BTreeSet::new();
    for list in ["includeLocations", "excludeLocations"] {
        let path = ["conditions", "locations", list];
        let Some(items) = take_array(&mut body, &path) else {
            continue;
        };
        let at = path.join(".");
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let Some(id) = item.as_str().map(str::to_owned) else {
                out.push(item);
                continue;
            };
            if special(&id, CA_SPECIAL_LOCATIONS) || !is_guid(&id) {
                out.push(item);
                continue;
            }
            match resolver.location(&id).await? {
                Some(mut location) => {
                    let lname = str_at(&location, "displayName")
                        .unwrap_or_default()
                        .to_owned();
                    if lname.is_empty() {
                        unresolved.add(
                            ReferenceKind::NamedLocation,
                            &id,
                            &at,
                            "the location has no displayName",
                        );
                        continue;
                    }
                    if attached_locations.insert(lname.clone()) {
                        strip_annotations(&mut location);
                        strip_server_owned(&mut location);
                        attachments.named_locations.push(location);
                    }
                    out.push(Value::String(lname));
                }
                None => unresolved.add(
                    ReferenceKind::NamedLocation,
                    &id,
                    &at,
                    "not among the tenant's named locations: deleted?",
                ),
            }
        }
        put_array(&mut body, &path, out);
    }

    // Service principals (workload identities): not mapped to names yet.
    for list in ["includeServicePrincipals", "excludeServicePrincipals"] {
        let path = ["conditions", "clientApplications", list];
        let Some(items) = take_array(&mut body, &path) else {
            continue;
        };
        let at = path.join(".");
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            match item.as_str() {
                Some(id) if is_guid(id) && !special(id, CA_SPECIAL_SERVICE_PRINCIPALS) => {
                    unresolved.add(
                        ReferenceKind::ServicePrincipal,
                        id,
                        &at,
                        "service principal object ids are not mapped to portable names yet",
                    );
                }
                _ => out.push(item),
            }
        }
        put_array(&mut body, &path, out);
    }

    // Terms of use: not captured yet.
    if let Some(items) = take_array(&mut body, &["grantControls", "termsOfUse"]) {
        for item in &items {
            if let Some(id) = item.as_str() {
                unresolved.add(
                    ReferenceKind::TermsOfUse,
                    id,
                    "grantControls.termsOfUse",
                    "terms-of-use agreements are not captured yet",
                );
            }
        }
        let kept: Vec<Value> = items.into_iter().filter(|i| !i.is_string()).collect();
        put_array(&mut body, &["grantControls", "termsOfUse"], kept);
    }

    // Authentication strength.
    name_authentication_strength(&mut body, &mut resolver, &mut attachments, &mut unresolved)
        .await?;

    // Authentication contexts: kept by id (see the module docs).
    let contexts: Vec<String> = body
        .pointer("/conditions/applications/includeAuthenticationContextClassReferences")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if !contexts.is_empty() {
        // Kept by id (policies name contexts by id); each context's definition is
        // attached, so a tenant without it gets it created under the same id.
        let known = graph
            .conditional_access()
            .authentication_contexts()
            .await
            .map_err(CaptureError::from)?;
        let mut missing = Vec::new();
        for id in &contexts {
            match known.iter().find(|c| c.id.eq_ignore_ascii_case(id)) {
                Some(c) => {
                    let attached = serde_json::json!({
                        "id": c.id,
                        "displayName": c.display_name,
                        "description": c.description,
                        "isAvailable": c.is_available,
                    });
                    if !attachments
                        .authentication_contexts
                        .iter()
                        .any(|a| str_at(a, "id") == Some(c.id.as_str()))
                    {
                        attachments.authentication_contexts.push(attached);
                    }
                }
                None => missing.push(id.as_str()),
            }
        }
        if !missing.is_empty() {
            warnings.push(format!(
                "authentication context(s) {} are not defined in the source tenant: kept by id \
                 without a definition; make sure each id means the same in the target tenant",
                missing.join(", ")
            ));
        }
    }

    unresolved.finish(format!("Conditional Access policy {name:?}"), &mut warnings)?;
    let template = build(
        TemplateKind::ConditionalAccess,
        name,
        description,
        body,
        attachments,
        graph.id(),
    );
    Ok(Capture {
        template,
        warnings,
        object_id: policy_id.to_owned(),
    })
}

/// `grantControls.authenticationStrength` (an object with the strength's `id`) becomes
/// `{"displayName": name}`; a custom strength's object is attached.
async fn name_authentication_strength(
    body: &mut Value,
    resolver: &mut Resolver<'_>,
    attachments: &mut Attachments,
    unresolved: &mut Unresolved,
) -> Result<(), CaptureError> {
    let at = "grantControls.authenticationStrength";
    let Some(current) = body
        .pointer("/grantControls/authenticationStrength")
        .cloned()
    else {
        return Ok(());
    };
    let id = str_at(&current, "id").map(str::to_owned);
    let read = match &id {
        Some(id) => resolver.strength(id).await?,
        None => None,
    };
    // The policy's own expanded copy serves when the listing does not have it.
    let strength = read.or_else(|| {
        str_at(&current, "displayName")
            .filter(|n| !n.is_empty())
            .map(|_| current.clone())
    });
    let grant = body.get_mut("grantControls").and_then(Value::as_object_mut);
    let Some(grant) = grant else {
        return Ok(());
    };
    match strength {
        Some(mut s) => {
            let name = str_at(&s, "displayName").unwrap_or_default().to_owned();
            let built_in =
                str_at(&s, "policyType").is_some_and(|t| t.eq_ignore_ascii_case("builtIn"));
            if !built_in
                && !attachments
                    .authentication_strengths
                    .iter()
                    .any(|a| str_at(a, "displayName") == Some(name.as_str()))
            {
                strip_annotations(&mut s);
                strip_fields_recursive(&mut s, &["id", "createdDateTime", "modifiedDateTime"]);
                strip_nulls(&mut s);
                attachments.authentication_strengths.push(s);
            }
            let mut named = Map::new();
            named.insert("displayName".to_owned(), Value::String(name));
            grant.insert("authenticationStrength".to_owned(), Value::Object(named));
        }
        None => {
            unresolved.add(
                ReferenceKind::AuthenticationStrength,
                id.as_deref().unwrap_or("(no id)"),
                at,
                "not among the tenant's authentication strengths",
            );
            grant.remove("authenticationStrength");
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Groups

/// The group properties a capture reads.
pub(crate) const GROUP_SELECT: &[&str] = &[
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

/// A group in CIPP's portable group template shape: `displayName`, `description`,
/// `groupType` (given, or detected), `username`, `membershipRules`, `licenses` (sorted,
/// lower-case SKU ids). Capture and apply's state reads build the same shape from here.
pub(crate) fn group_template_body(
    g: &cipp_graph::model::Group,
    name: &str,
    group_type: Option<GroupType>,
) -> Map<String, Value> {
    let mut body = Map::new();
    body.insert("displayName".to_owned(), Value::String(name.to_owned()));
    if let Some(d) = g.description.clone().filter(|d| !d.is_empty()) {
        body.insert("description".to_owned(), Value::String(d));
    }
    let group_type = group_type.or_else(|| {
        serde_json::to_value(g)
            .ok()
            .and_then(|v| GroupType::detect(&v))
    });
    if let Some(t) = group_type {
        body.insert(
            "groupType".to_owned(),
            Value::String(t.cipp_name().to_owned()),
        );
    }
    if let Some(nick) = g.mail_nickname.clone().filter(|n| !n.is_empty()) {
        body.insert("username".to_owned(), Value::String(nick));
    }
    if let Some(rule) = g.membership_rule.clone().filter(|r| !r.is_empty()) {
        body.insert("membershipRules".to_owned(), Value::String(rule));
    }
    let mut licences: Vec<String> = g
        .extra
        .get("assignedLicenses")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|l| str_at(l, "skuId"))
                .map(str::to_ascii_lowercase)
                .collect()
        })
        .unwrap_or_default();
    licences.sort();
    licences.dedup();
    if !licences.is_empty() {
        body.insert(
            "licenses".to_owned(),
            Value::Array(licences.into_iter().map(Value::String).collect()),
        );
    }
    body
}

/// Captures a group as CIPP's group template (§3.5): `displayName`, `description`,
/// `groupType` (CIPP's name: `generic`, `m365`, `security`, `distribution`, `dynamic`,
/// `azureRole`), `username` (the mail nickname), `membershipRules` for dynamic groups and
/// `licenses` (SKU ids, the same in every tenant) for group-based licensing. No id, no
/// members, no owners, no mail address (it holds the source tenant's domain).
pub async fn capture_group(graph: &TenantGraph, group_id: &str) -> Result<Capture, CaptureError> {
    let g = graph
        .groups()
        .get(&GroupId::from(group_id))
        .select(GROUP_SELECT)
        .await?;
    let what = format!("group {group_id}");
    let name = g
        .display_name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| CaptureError::Invalid {
            what: what.clone(),
            message: "it has no displayName (deployment matches groups by name)".to_owned(),
        })?;
    let shape = to_value(&what, &g)?;
    let group_type = GroupType::detect(&shape).ok_or_else(|| CaptureError::Invalid {
        what: what.clone(),
        message: "neither security- nor mail-enabled, and not a Microsoft 365 group: the kind \
                  of group cannot be told"
            .to_owned(),
    })?;
    let mut warnings = Vec::new();
    let body = group_template_body(&g, &name, Some(group_type));
    let description = g.description.clone().unwrap_or_default();
    let unified = g
        .group_types
        .as_ref()
        .is_some_and(|t| t.iter().any(|x| x.eq_ignore_ascii_case("Unified")));
    if group_type == GroupType::Dynamic && unified {
        warnings.push(
            "a dynamic Microsoft 365 group is captured as a dynamic security group: CIPP's group \
             templates have no dynamic Microsoft 365 kind"
                .to_owned(),
        );
    }
    if g.on_premises_sync_enabled == Some(true) {
        warnings.push(
            "the group is synchronised from on-premises AD; the template creates a cloud group"
                .to_owned(),
        );
    }
    if matches!(
        group_type,
        GroupType::Distribution | GroupType::MailEnabledSecurity | GroupType::Microsoft365
    ) {
        warnings.push(
            "Exchange settings of the group (allowExternal, hideFromGAL, aliases) are not read \
             by this capture; set them in the template if needed"
                .to_owned(),
        );
    }
    let template = build(
        TemplateKind::Group,
        name,
        description,
        Value::Object(body),
        Attachments::default(),
        graph.id(),
    );
    Ok(Capture {
        template,
        warnings,
        object_id: group_id.to_owned(),
    })
}

// ---------------------------------------------------------------------------------------
// User defaults

/// Captures the defaults a new user would copy from `user` (UPN or object id) — CIPP's
/// "Create template from user": `templateName`, `jobTitle`, `department`, `companyName`,
/// `streetAddress`, `city`, `state`, `postalCode`, `country`, `usageLocation` (each only
/// when set), `licenses` (SKU ids, sorted) and `groups` (display names of the groups the
/// user is a direct member of, sorted). The user's own name, UPN and domain are not
/// captured.
pub async fn capture_user_defaults(
    graph: &TenantGraph,
    user: &str,
    template_name: &str,
) -> Result<Capture, CaptureError> {
    if template_name.trim().is_empty() {
        return Err(CaptureError::Invalid {
            what: format!("user defaults from {user}"),
            message: "give the template a name".to_owned(),
        });
    }
    let user_ref = UserRef::parse(user)?;
    let u = graph
        .users()
        .get(&user_ref)
        .select([
            "id",
            "jobTitle",
            "department",
            "companyName",
            "streetAddress",
            "city",
            "state",
            "postalCode",
            "country",
            "usageLocation",
            "assignedLicenses",
        ])
        .await?;
    let memberships = graph.users().member_of(&user_ref, false).await?;
    let mut body = Map::new();
    body.insert(
        "templateName".to_owned(),
        Value::String(template_name.to_owned()),
    );
    for (key, value) in [
        ("jobTitle", &u.job_title),
        ("department", &u.department),
        ("companyName", &u.company_name),
        ("streetAddress", &u.street_address),
        ("city", &u.city),
        ("state", &u.state),
        ("postalCode", &u.postal_code),
        ("country", &u.country),
        ("usageLocation", &u.usage_location),
    ] {
        if let Some(v) = value.as_ref().filter(|v| !v.is_empty()) {
            body.insert(key.to_owned(), Value::String(v.clone()));
        }
    }
    let mut licences: Vec<String> = u
        .assigned_licenses
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|l| l.sku_id.0.to_ascii_lowercase())
        .collect();
    licences.sort();
    licences.dedup();
    let mut groups: Vec<String> = memberships
        .into_iter()
        .filter(|g| g.odata_type.as_deref() == Some("#microsoft.graph.group"))
        .filter_map(|g| g.display_name)
        .filter(|n| !n.is_empty())
        .collect();
    groups.sort();
    groups.dedup();
    body.insert(
        "licenses".to_owned(),
        Value::Array(licences.into_iter().map(Value::String).collect()),
    );
    body.insert(
        "groups".to_owned(),
        Value::Array(groups.into_iter().map(Value::String).collect()),
    );
    let object_id = u.id.map(|i| i.0).unwrap_or_else(|| user.to_owned());
    let template = build(
        TemplateKind::UserDefaults,
        template_name.to_owned(),
        String::new(),
        Value::Object(body),
        Attachments::default(),
        graph.id(),
    );
    Ok(Capture {
        template,
        warnings: Vec::new(),
        object_id,
    })
}

// ---------------------------------------------------------------------------------------
// Intune

/// Read-only Intune properties removed beside [`crate::canonical::SERVER_OWNED_FIELDS`].
pub(crate) const INTUNE_READ_ONLY: &[&str] = &[
    "creationSource",
    "deployedAppCount",
    "deviceStatuses",
    "userStatuses",
    "deviceStatusOverview",
    "userStatusOverview",
    "deviceSettingStateSummaries",
    "priorityMetaData",
    "settingDefinitions",
];

/// The `$expand` CIPP uses to read a compliance policy with its scheduled actions.
pub const COMPLIANCE_EXPAND: &str =
    "scheduledActionsForRule($expand=scheduledActionConfigurations)";

/// The template kinds [`capture_intune`] supports: every Intune kind, in
/// [`crate::template::KNOWN_KINDS`] order.
pub fn intune_capture_kinds() -> impl Iterator<Item = &'static TemplateKind> {
    crate::template::KNOWN_KINDS
        .iter()
        .filter(|k| !crate::apply::intune::collections(k).is_empty())
}

/// Captures an Intune object with the default [`CaptureOptions`]; see
/// [`capture_intune_with`].
pub async fn capture_intune(
    graph: &TenantGraph,
    kind: &TemplateKind,
    id: &str,
) -> Result<Capture, CaptureError> {
    capture_intune_with(graph, kind, id, &CaptureOptions::default()).await
}

/// Captures an Intune object of one of [`intune_capture_kinds`]:
///
/// - device configuration: `GET deviceManagement/deviceConfigurations/{id}`; each encrypted
///   OMA-URI setting's plain text is read
///   (`GET …/{id}/getOmaSettingPlainTextValue(secretReferenceValueId='…')`, one request per
///   setting, a few at once) and stored unencrypted as CIPP does: the text as the value
///   (its base64 for an XML setting), `isEncrypted: false`, no `secretReferenceValueId`;
///   a warning says the template now holds secrets. An encrypted setting without a
///   secret reference cannot be read and is refused ([`CaptureError::Unsupported`]);
/// - compliance: `GET deviceManagement/deviceCompliancePolicies/{id}?$expand=`
///   [`COMPLIANCE_EXPAND`]; the scheduled actions are kept without their ids, notification
///   CC groups become group names, a notification message template is an unresolved
///   reference;
/// - settings catalog: `GET beta/deviceManagement/configurationPolicies/{id}` and every
///   page of its `/settings` (which become the body's `settings`, without their ids and
///   definitions); each referenced reusable setting is read
///   (`GET beta/deviceManagement/reusablePolicySettings/{id}`), named and attached (a
///   deleted one is an unresolved reference, left as it is with
///   [`CaptureOptions::drop_unresolved`]);
/// - administrative templates: the configuration and every page of its
///   `definitionValues?$expand=definition,presentationValues($expand=presentation)`, as
///   an `updateDefinitionValues` payload (`added` with `definition@odata.bind` and
///   `presentation@odata.bind`);
/// - app protection: the collection holding the id (iOS, Android, Windows, targeted app
///   configurations, Windows Information Protection with and without enrollment — probed
///   in that order), with the `@odata.type` Graph leaves out on typed URLs;
/// - app configuration, Windows driver / feature / quality update profiles and quality
///   update policies, reusable settings and assignment filters: the object as read.
///
/// Assignments are not captured.
pub async fn capture_intune_with(
    graph: &TenantGraph,
    kind: &TemplateKind,
    id: &str,
    options: &CaptureOptions,
) -> Result<Capture, CaptureError> {
    if crate::apply::intune::collections(kind).is_empty() {
        return Err(CaptureError::Unsupported {
            what: format!("an Intune object of kind {kind}"),
            reason: format!(
                "capture supports {}; import a CIPP template of this kind instead",
                intune_capture_kinds()
                    .map(TemplateKind::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    };
    let what = format!("{kind} {id}");
    let ik = crate::apply::intune::locate(graph, kind, id)
        .await
        .map_err(|message| CaptureError::Invalid {
            what: what.clone(),
            message,
        })?;
    let mut call = graph.intune().get(ik, id);
    if ik == IntuneKind::CompliancePolicy {
        call = call.map_request(|r| r.query("$expand", COMPLIANCE_EXPAND));
    }
    let policy = call.await?;
    let name = policy.title().trim().to_owned();
    if name.is_empty() {
        return Err(CaptureError::Invalid {
            what,
            message: "it has no displayName or name (deployment matches policies by name)"
                .to_owned(),
        });
    }
    let description = policy.description.clone().unwrap_or_default();
    // Administrative templates as their `updateDefinitionValues` payload.
    let mut body = crate::apply::intune::read_raw(graph, ik, &policy)
        .await
        .map_err(|message| CaptureError::Invalid {
            what: what.clone(),
            message,
        })?;
    if let (Some(t), Some(o)) = (crate::apply::intune::implied_type(ik), body.as_object_mut()) {
        o.entry("@odata.type")
            .or_insert_with(|| Value::String(t.to_owned()));
    }
    strip_annotations(&mut body);
    strip_server_owned(&mut body);
    strip_fields(&mut body, INTUNE_READ_ONLY);
    let mut warnings = Vec::new();
    let mut unresolved = Unresolved::new(options);
    let mut attachments = Attachments::default();
    match ik {
        IntuneKind::DeviceConfiguration => {
            body = reveal_oma_settings(graph, id, body, &what, &mut warnings).await?;
        }
        IntuneKind::CompliancePolicy => {
            let mut resolver = Resolver::new(graph);
            clean_scheduled_actions(&mut body, &mut resolver, &mut unresolved).await?;
        }
        IntuneKind::SettingsCatalog => {
            let mut settings = graph.intune().settings(id).await?;
            for s in &mut settings {
                strip_annotations(s);
                strip_fields(s, &["id", "settingDefinitions"]);
            }
            let mut settings = Value::Array(settings);
            attachments.reusable_settings =
                name_reusable_settings(graph, &mut settings, &mut unresolved).await?;
            if let Some(obj) = body.as_object_mut() {
                obj.insert("settings".to_owned(), settings);
            }
        }
        _ => {}
    }
    if let Some(tags) = body.get("roleScopeTagIds").and_then(Value::as_array) {
        if tags.is_empty() {
            warnings.push("roleScopeTagIds is empty; Intune uses the Default tag".to_owned());
        }
    }
    unresolved.finish(format!("{kind} {name:?}"), &mut warnings)?;
    let template = build(
        kind.clone(),
        name,
        description,
        body,
        attachments,
        graph.id(),
    );
    Ok(Capture {
        template,
        warnings,
        object_id: id.to_owned(),
    })
}

/// Encrypted OMA-URI settings with their plain text (as CIPP stores them), every
/// `secretReferenceValueId` removed; an encrypted setting without a reference is refused.
async fn reveal_oma_settings(
    graph: &TenantGraph,
    id: &str,
    body: Value,
    what: &str,
    warnings: &mut Vec<String>,
) -> Result<Value, CaptureError> {
    use crate::apply::intune::{decrypt_oma_settings, Secrets};

    let encrypted = body
        .get("omaSettings")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|s| s.get("isEncrypted").and_then(Value::as_bool) == Some(true))
        .count();
    let mut one = [(id.to_owned(), body)];
    let unreadable = decrypt_oma_settings(graph, &mut one, Secrets::Reveal).await?;
    if let Some(uri) = unreadable.first() {
        return Err(CaptureError::Unsupported {
            what: what.to_owned(),
            reason: format!(
                "the OMA-URI setting {uri} is encrypted and Graph gave no \
                 secretReferenceValueId to read its value with; set the value again in \
                 Intune, or write the template by hand"
            ),
        });
    }
    if encrypted > 0 {
        warnings.push(format!(
            "{encrypted} encrypted OMA-URI setting(s) are stored in the template in plain \
             text (as CIPP stores them); keep the template as you would a secret"
        ));
    }
    let [(_, body)] = one;
    Ok(body)
}

/// Scheduled actions without their ids; CC groups named; notification templates checked.
async fn clean_scheduled_actions(
    body: &mut Value,
    resolver: &mut Resolver<'_>,
    unresolved: &mut Unresolved,
) -> Result<(), CaptureError> {
    let Some(rules) = body
        .get_mut("scheduledActionsForRule")
        .and_then(Value::as_array_mut)
    else {
        return Ok(());
    };
    for (ri, rule) in rules.iter_mut().enumerate() {
        strip_fields(rule, &["id"]);
        let Some(configs) = rule
            .get_mut("scheduledActionConfigurations")
            .and_then(Value::as_array_mut)
        else {
            continue;
        };
        for (ci, config) in configs.iter_mut().enumerate() {
            strip_fields(config, &["id"]);
            let at = format!("scheduledActionsForRule[{ri}].scheduledActionConfigurations[{ci}]");
            let template = str_at(config, "notificationTemplateId").map(str::to_owned);
            if let Some(t) = template.filter(|t| !t.is_empty() && t != NIL_GUID) {
                unresolved.add(
                    ReferenceKind::NotificationTemplate,
                    &t,
                    &format!("{at}.notificationTemplateId"),
                    "notification message templates are not captured yet",
                );
                if let Some(o) = config.as_object_mut() {
                    o.insert(
                        "notificationTemplateId".to_owned(),
                        Value::String(String::new()),
                    );
                }
            }
            let Some(cc) = take_array(config, &["notificationMessageCCList"]) else {
                continue;
            };
            let mut named = Vec::with_capacity(cc.len());
            for item in cc {
                match item.as_str() {
                    Some(id) if is_guid(id) => match resolver.group(id).await? {
                        Some(n) => named.push(Value::String(n)),
                        None => unresolved.add(
                            ReferenceKind::Group,
                            id,
                            &format!("{at}.notificationMessageCCList"),
                            "not found in the tenant: deleted?",
                        ),
                    },
                    _ => named.push(item),
                }
            }
            put_array(config, &["notificationMessageCCList"], named);
        }
    }
    Ok(())
}

/// Calls `f` on the `value` of every reusable-setting reference
/// (`…ReferenceSettingValue`) inside settings-catalog settings.
pub(crate) fn each_reusable_reference(v: &mut Value, f: &mut dyn FnMut(&mut Value)) {
    match v {
        Value::Object(map) => {
            let reference = map
                .get("@odata.type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.ends_with("ReferenceSettingValue"));
            if reference {
                if let Some(value) = map.get_mut("value") {
                    f(value);
                }
            }
            map.values_mut().for_each(|x| each_reusable_reference(x, f));
        }
        Value::Array(items) => items.iter_mut().for_each(|x| each_reusable_reference(x, f)),
        _ => {}
    }
}

/// The reusable settings `settings` reference become their display names, each attached
/// (as read, without server fields); one that no longer exists is unresolved.
async fn name_reusable_settings(
    graph: &TenantGraph,
    settings: &mut Value,
    unresolved: &mut Unresolved,
) -> Result<Vec<Value>, CaptureError> {
    let mut ids = Vec::new();
    each_reusable_reference(settings, &mut |v| {
        if let Some(id) = v.as_str() {
            ids.push(id.to_owned());
        }
    });
    ids.sort();
    ids.dedup();
    let mut names = BTreeMap::new();
    let mut attached = Vec::new();
    for id in ids {
        match found(graph.intune().get(IntuneKind::ReusableSetting, &id).await)? {
            Some(p) => {
                let mut v = to_value("reusable policy setting", &p)?;
                strip_annotations(&mut v);
                strip_server_owned(&mut v);
                strip_fields(
                    &mut v,
                    &[
                        "referencingConfigurationPolicies",
                        "referencingConfigurationPolicyCount",
                    ],
                );
                names.insert(id, p.title().to_owned());
                attached.push(v);
            }
            None => unresolved.add(
                ReferenceKind::ReusableSetting,
                &id,
                "settings",
                "not found in the tenant: deleted?",
            ),
        }
    }
    each_reusable_reference(settings, &mut |v| {
        if let Some(n) = v.as_str().and_then(|id| names.get(id)) {
            *v = Value::String(n.clone());
        }
    });
    Ok(attached)
}

// ---------------------------------------------------------------------------------------
// Exchange transport rules

/// `Get-TransportRule` properties that are not `New-TransportRule` parameters: identity,
/// bookkeeping and the read-only summaries. `State` becomes `Enabled`; `Priority` is the
/// rule's position among the source tenant's rules (a target with fewer rules refuses it),
/// so deployment appends the rule instead.
pub const TRANSPORT_RULE_READ_ONLY: &[&str] = &[
    "Guid",
    "Identity",
    "Id",
    "DistinguishedName",
    "ImmutableId",
    "ExchangeObjectId",
    "OrganizationId",
    "OriginatingServer",
    "ExchangeVersion",
    "WhenChanged",
    "WhenChangedUTC",
    "WhenCreated",
    "WhenCreatedUTC",
    "ObjectState",
    "IsValid",
    "ObjectCategory",
    "ObjectClass",
    "PSComputerName",
    "PSShowComputerName",
    "RunspaceId",
    "RuleVersion",
    "RuleIdentity",
    "Description",
    "Conditions",
    "Exceptions",
    "Actions",
    "CreatedBy",
    "LastModifiedBy",
    "IsRuleConfigurationSupported",
    "ManuallyModified",
    "DlpPolicyId",
    "State",
    "Priority",
];

/// Captures a transport rule (`Get-TransportRule -Identity`) as its `New-TransportRule`
/// parameter set: [`TRANSPORT_RULE_READ_ONLY`] properties and Exchange's type annotations
/// removed, `State` turned into `Enabled`, nulls, empty strings and empty lists left out
/// (they are parameters not given), `Name` kept. Recipients the rule names (`SentTo`,
/// `From`, …) are addresses or names and must exist in the target tenant.
pub async fn capture_transport_rule(
    exo: &TenantExchange,
    identity: &str,
) -> Result<Capture, CaptureError> {
    if identity.trim().is_empty() {
        return Err(CaptureError::Invalid {
            what: "transport rule".to_owned(),
            message: "give the rule's name or identity".to_owned(),
        });
    }
    let rows = exo
        .invoke(&cipp_exchange::cmdlets::get_transport_rules(Some(identity)))
        .await?
        .value;
    let row = rows
        .iter()
        .find(|r| {
            ["Identity", "Name", "Guid"]
                .iter()
                .any(|k| str_at(r, k).is_some_and(|v| v.eq_ignore_ascii_case(identity)))
        })
        .or(rows.first())
        .cloned()
        .ok_or_else(|| CaptureError::NotFound {
            what: "transport rule".to_owned(),
            id: identity.to_owned(),
            tenant: exo.id().to_string(),
        })?;
    let Value::Object(mut obj) = row else {
        return Err(CaptureError::Invalid {
            what: format!("transport rule {identity}"),
            message: "Get-TransportRule returned a row that is not an object".to_owned(),
        });
    };
    let object_id = ["Guid", "Identity"]
        .iter()
        .find_map(|k| obj.get(*k).and_then(Value::as_str))
        .unwrap_or(identity)
        .to_owned();
    let enabled = obj
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("State"))
        .and_then(|(_, v)| v.as_str())
        .map(|s| !s.eq_ignore_ascii_case("Disabled"));
    obj.retain(|k, v| {
        let read_only = TRANSPORT_RULE_READ_ONLY
            .iter()
            .any(|r| r.eq_ignore_ascii_case(k));
        let annotation = k.contains('@');
        let empty = match v {
            Value::Null => true,
            Value::String(s) => s.is_empty(),
            Value::Array(a) => a.is_empty(),
            Value::Object(o) => o.is_empty(),
            _ => false,
        };
        !(read_only || annotation || empty)
    });
    if let Some(e) = enabled {
        obj.insert("Enabled".to_owned(), Value::Bool(e));
    }
    let name = obj
        .get("Name")
        .and_then(Value::as_str)
        .filter(|n| !n.trim().is_empty())
        .map(str::to_owned)
        .ok_or_else(|| CaptureError::Invalid {
            what: format!("transport rule {identity}"),
            message: "the row has no Name".to_owned(),
        })?;
    let description = obj
        .get("Comments")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let mut warnings = Vec::new();
    let recipients: Vec<&str> = [
        "From",
        "SentTo",
        "FromMemberOf",
        "SentToMemberOf",
        "ExceptIfFrom",
        "ExceptIfSentTo",
        "ExceptIfFromMemberOf",
        "ExceptIfSentToMemberOf",
        "RedirectMessageTo",
        "BlindCopyTo",
        "CopyTo",
        "AddToRecipients",
        "ModerateMessageByUser",
    ]
    .into_iter()
    .filter(|k| obj.contains_key(*k))
    .collect();
    if !recipients.is_empty() {
        warnings.push(format!(
            "{} name recipients of the source tenant; they must exist in the target tenant",
            recipients.join(", ")
        ));
    }
    let template = Template::new(TemplateKind::TransportRule, name, Value::Object(obj))
        .with_description(description)
        .with_source(TemplateSource::Tenant {
            tenant: exo.id().to_string(),
            object_id: None,
        });
    Ok(Capture {
        template,
        warnings,
        object_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn annotations_go_types_and_binds_stay() {
        let mut v = json!({
            "@odata.context": "x", "@odata.type": "#t", "a@odata.navigationLink": "y",
            "b@odata.bind": "z", "c": [{"@odata.etag": "e", "d": 1}], "settings@odata.context": "s"
        });
        strip_annotations(&mut v);
        assert_eq!(
            v,
            json!({"@odata.type": "#t", "b@odata.bind": "z", "c": [{"d": 1}]})
        );
    }

    #[test]
    fn reusable_references_are_found_at_any_depth() {
        let v = json!([{"settingInstance": {"simpleSettingCollectionValue": [
            {"@odata.type": "#microsoft.graph.deviceManagementConfigurationReferenceSettingValue",
             "value": "b1a7e2c4-0000-4000-8000-000000000001"}]}}]);
        let found = |mut v: Value| {
            let mut out = Vec::new();
            each_reusable_reference(&mut v, &mut |x| out.push(x.clone()));
            out
        };
        assert_eq!(found(v), [json!("b1a7e2c4-0000-4000-8000-000000000001")]);
        assert!(found(json!({"value": "x"})).is_empty());
    }

    #[test]
    fn unresolved_message_says_what_to_do() {
        let mut u = Unresolved::new(&CaptureOptions::new());
        u.add(
            ReferenceKind::Group,
            "g1",
            "conditions.users.excludeGroups",
            "deleted?",
        );
        let mut w = Vec::new();
        let e = u
            .finish("policy \"X\"".into(), &mut w)
            .err()
            .map(|e| e.to_string());
        let e = e.unwrap_or_default();
        assert!(
            e.contains("group g1 at conditions.users.excludeGroups"),
            "{e}"
        );
        assert!(e.contains("drop_unresolved"), "{e}");
        let mut u = Unresolved::new(&CaptureOptions::new().drop_unresolved());
        u.add(ReferenceKind::User, "u1", "x", "y");
        assert!(u.finish("p".into(), &mut w).is_ok());
        assert_eq!(w, ["left out user u1 at x (y)"]);
    }
}
