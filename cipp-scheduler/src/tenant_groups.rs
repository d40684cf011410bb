//! Tenant groups kept in the scheduler's key-value store, and how a task's target resolves
//! over them.
//!
//! A [`TenantGroup`] is **static** (a list of tenants, each written as its id or one of its
//! domains) or **dynamic** (a [`Rule`] over what is known of each tenant: the licences it
//! holds by SKU part number, its domains, custom properties), with optional exclusions.
//! Rules combine with [`Rule::All`] (and), [`Rule::Any`] (or) and [`Rule::Not`].
//!
//! Resolution is pure: [`resolve`] and [`resolve_target`] are given the groups and one
//! [`TenantFacts`] per tenant of the fleet (the caller reads them — the `cipp` facade's
//! `commands::FleetResolver` does, reading licences only when a rule asks for them). A
//! tenant is named by its id **or** any of its domains, case ignored, everywhere: static
//! members, group exclusions and a task's excluded tenants.
//!
//! What is not known about a tenant (its licences were not read, its domains could not be)
//! is never guessed: such a tenant is left out of a group whose rule depends on it, and
//! counts as **excluded** by an exclusion that may name it — when unsure, a task does not
//! run there ([`Membership::Unknown`]).
//!
//! [`TenantGroupStore`] keeps groups (namespace [`TenantGroupStore::NAMESPACE`]) and
//! tenants' custom properties ([`TenantGroupStore::PROPERTIES_NAMESPACE`]) in any
//! [`KvStore`] (memory, SQLite, PostgreSQL), each change a compare-and-swap so workers
//! changing the same group never lose each other's change.
//!
//! ```
//! use cipp_scheduler::tenant_groups::{resolve, Rule, TenantFacts, TenantGroup, TextMatch};
//! let fleet = vec![
//!     TenantFacts::new("11111111-1111-1111-1111-111111111111")
//!         .domains(["contoso.de", "contoso.onmicrosoft.com"])
//!         .skus(["SPE_E3"]),
//!     TenantFacts::new("22222222-2222-2222-2222-222222222222")
//!         .domains(["fabrikam.de"])
//!         .skus(["O365_BUSINESS_PREMIUM"]),
//!     TenantFacts::new("33333333-3333-3333-3333-333333333333")
//!         .domains(["northwind.com"])
//!         .skus(["SPE_E3"]),
//! ];
//! // German tenants with Microsoft 365 E3, except Contoso (named by its domain).
//! let group = TenantGroup::dynamic(
//!     "German E3",
//!     Rule::all([Rule::domain(TextMatch::EndsWith, ".de"), Rule::licence(["SPE_E3"])]),
//! )
//! .excluding(["CONTOSO.DE"]);
//! assert!(resolve(&group, &fleet).is_empty());
//! let group = TenantGroup::dynamic(
//!     "E3",
//!     Rule::licence(["spe_e3"]),
//! );
//! assert_eq!(resolve(&group, &fleet), [
//!     "11111111-1111-1111-1111-111111111111",
//!     "33333333-3333-3333-3333-333333333333",
//! ]);
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::kv::KvStore;
use crate::task::Target;
use crate::SchedulerError;

/// The deepest nesting of [`Rule::All`] / [`Rule::Any`] / [`Rule::Not`] accepted.
pub const MAX_RULE_DEPTH: usize = 16;

/// The most conditions (leaves) one rule may hold.
pub const MAX_RULE_CONDITIONS: usize = 256;

/// The longest group name accepted, in characters.
pub const MAX_GROUP_NAME: usize = 256;

/// What is known of one tenant when groups are resolved.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TenantFacts {
    /// The tenant's id as the fleet lists it (usually its GUID): what resolution returns.
    pub id: String,
    /// Its domains; `None` when they could not be read (unknown, not "none").
    pub domains: Option<Vec<String>>,
    /// The part numbers of the SKUs it holds (`SPE_E3`, `ENTERPRISEPACK`, …); `None` when
    /// they were not read.
    pub skus: Option<Vec<String>>,
    /// Custom properties (key → value).
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

impl TenantFacts {
    /// A tenant known by its id, with no domains, licences not read, no properties.
    pub fn new(id: impl Into<String>) -> Self {
        TenantFacts {
            id: id.into(),
            domains: Some(Vec::new()),
            skus: None,
            properties: BTreeMap::new(),
        }
    }

    /// Adds domains.
    pub fn domains<I, S>(mut self, domains: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.domains
            .get_or_insert_with(Vec::new)
            .extend(domains.into_iter().map(Into::into));
        self
    }

    /// Marks the domains as unknown (they could not be read).
    pub fn domains_unknown(mut self) -> Self {
        self.domains = None;
        self
    }

    /// Sets the SKU part numbers it holds (licences read).
    pub fn skus<I, S>(mut self, skus: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.skus = Some(skus.into_iter().map(Into::into).collect());
        self
    }

    /// Sets a custom property.
    pub fn property(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.insert(key.into(), value.into());
        self
    }

    /// Whether `name` (an id or a domain, case ignored) names this tenant: [`Membership::In`]
    /// when it is the id or one of the domains, [`Membership::Out`] when it is not (or it
    /// is another GUID), [`Membership::Unknown`] when the domains are unknown.
    pub fn is_named(&self, name: &str) -> Membership {
        let name = name.trim();
        if name.eq_ignore_ascii_case(self.id.trim()) {
            return Membership::In;
        }
        match &self.domains {
            Some(d) => Membership::from(d.iter().any(|d| d.trim().eq_ignore_ascii_case(name))),
            // A tenant has one id: another GUID is another tenant.
            None if is_guid(name) && is_guid(&self.id) => Membership::Out,
            None => Membership::Unknown,
        }
    }
}

/// Whether `s` is written as a GUID (`8-4-4-4-12` hexadecimal digits).
fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.trim().split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Whether a tenant belongs to a group or matches a rule, in three values: what is not
/// known is not guessed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Membership {
    /// It does.
    In,
    /// It does not.
    Out,
    /// It cannot be told: a fact the rule needs is unknown.
    Unknown,
}

impl From<bool> for Membership {
    fn from(b: bool) -> Self {
        if b {
            Membership::In
        } else {
            Membership::Out
        }
    }
}

impl Membership {
    /// And (Kleene): out if either is out, else unknown if either is unknown.
    pub fn and(self, other: Membership) -> Membership {
        use Membership::*;
        match (self, other) {
            (Out, _) | (_, Out) => Out,
            (Unknown, _) | (_, Unknown) => Unknown,
            (In, In) => In,
        }
    }

    /// Or (Kleene): in if either is in, else unknown if either is unknown.
    pub fn or(self, other: Membership) -> Membership {
        use Membership::*;
        match (self, other) {
            (In, _) | (_, In) => In,
            (Unknown, _) | (_, Unknown) => Unknown,
            (Out, Out) => Out,
        }
    }
}

impl std::ops::Not for Membership {
    type Output = Membership;

    /// Not: unknown stays unknown.
    fn not(self) -> Membership {
        match self {
            Membership::In => Membership::Out,
            Membership::Out => Membership::In,
            Membership::Unknown => Membership::Unknown,
        }
    }
}

/// How a text is compared (case ignored).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum TextMatch {
    /// The whole text.
    Equals,
    /// Its beginning.
    StartsWith,
    /// Its end (a domain ending with `.de`; write `.contoso.com` for subdomains only).
    EndsWith,
    /// Anywhere in it.
    Contains,
}

impl TextMatch {
    /// Whether `text` matches `value` this way, case ignored.
    pub fn matches(self, text: &str, value: &str) -> bool {
        let (text, value) = (text.to_lowercase(), value.to_lowercase());
        match self {
            TextMatch::Equals => text == value,
            TextMatch::StartsWith => text.starts_with(&value),
            TextMatch::EndsWith => text.ends_with(&value),
            TextMatch::Contains => text.contains(&value),
        }
    }
}

/// A dynamic group's rule over a tenant's [`TenantFacts`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
#[non_exhaustive]
pub enum Rule {
    /// The tenant holds at least one of these SKUs (part numbers, case ignored).
    Licence {
        /// SKU part numbers (`SPE_E3`, `ENTERPRISEPACK`, …).
        #[serde(rename = "anyOf")]
        any_of: Vec<String>,
    },
    /// One of the tenant's domains matches.
    Domain {
        /// How.
        #[serde(rename = "match")]
        matching: TextMatch,
        /// The text to match.
        value: String,
    },
    /// The tenant's custom property `key` (case ignored) matches; a tenant without the
    /// property does not.
    Property {
        /// The property.
        key: String,
        /// How.
        #[serde(rename = "match")]
        matching: TextMatch,
        /// The text to match.
        value: String,
    },
    /// Every rule holds (and).
    All {
        /// The rules.
        rules: Vec<Rule>,
    },
    /// At least one rule holds (or).
    Any {
        /// The rules.
        rules: Vec<Rule>,
    },
    /// The rule does not hold.
    Not {
        /// The rule.
        rule: Box<Rule>,
    },
}

impl Rule {
    /// The tenant holds one of `skus` (part numbers).
    pub fn licence<I, S>(skus: I) -> Rule
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Rule::Licence {
            any_of: skus.into_iter().map(Into::into).collect(),
        }
    }

    /// One of the tenant's domains matches `value`.
    pub fn domain(matching: TextMatch, value: impl Into<String>) -> Rule {
        Rule::Domain {
            matching,
            value: value.into(),
        }
    }

    /// The tenant's property `key` matches `value`.
    pub fn property(key: impl Into<String>, matching: TextMatch, value: impl Into<String>) -> Rule {
        Rule::Property {
            key: key.into(),
            matching,
            value: value.into(),
        }
    }

    /// Every rule holds.
    pub fn all(rules: impl IntoIterator<Item = Rule>) -> Rule {
        Rule::All {
            rules: rules.into_iter().collect(),
        }
    }

    /// At least one rule holds.
    pub fn any(rules: impl IntoIterator<Item = Rule>) -> Rule {
        Rule::Any {
            rules: rules.into_iter().collect(),
        }
    }

    /// The rule does not hold.
    pub fn negate(rule: Rule) -> Rule {
        Rule::Not {
            rule: Box::new(rule),
        }
    }

    /// Whether `tenant` matches: unknown when a fact the answer depends on is unknown.
    pub fn evaluate(&self, tenant: &TenantFacts) -> Membership {
        match self {
            Rule::Licence { any_of } => match &tenant.skus {
                None => Membership::Unknown,
                Some(held) => Membership::from(
                    any_of
                        .iter()
                        .any(|s| held.iter().any(|h| h.trim().eq_ignore_ascii_case(s.trim()))),
                ),
            },
            Rule::Domain { matching, value } => match &tenant.domains {
                None => Membership::Unknown,
                Some(d) => Membership::from(d.iter().any(|d| matching.matches(d.trim(), value))),
            },
            Rule::Property {
                key,
                matching,
                value,
            } => Membership::from(
                tenant
                    .properties
                    .iter()
                    .any(|(k, v)| k.eq_ignore_ascii_case(key) && matching.matches(v, value)),
            ),
            Rule::All { rules } => rules
                .iter()
                .fold(Membership::In, |acc, r| acc.and(r.evaluate(tenant))),
            Rule::Any { rules } => rules
                .iter()
                .fold(Membership::Out, |acc, r| acc.or(r.evaluate(tenant))),
            Rule::Not { rule } => !rule.evaluate(tenant),
        }
    }

    /// Whether any condition looks at licences (so they must be read).
    pub fn uses_licences(&self) -> bool {
        self.any_leaf(&|r| matches!(r, Rule::Licence { .. }))
    }

    /// Whether any condition looks at domains.
    pub fn uses_domains(&self) -> bool {
        self.any_leaf(&|r| matches!(r, Rule::Domain { .. }))
    }

    /// Whether any condition looks at custom properties.
    pub fn uses_properties(&self) -> bool {
        self.any_leaf(&|r| matches!(r, Rule::Property { .. }))
    }

    fn any_leaf(&self, f: &dyn Fn(&Rule) -> bool) -> bool {
        match self {
            Rule::All { rules } | Rule::Any { rules } => rules.iter().any(|r| r.any_leaf(f)),
            Rule::Not { rule } => rule.any_leaf(f),
            leaf => f(leaf),
        }
    }

    /// Refuses a rule that could not mean what was meant: an empty value, SKU list,
    /// property key or combination, nesting deeper than [`MAX_RULE_DEPTH`], or more than
    /// [`MAX_RULE_CONDITIONS`] conditions.
    pub fn validate(&self) -> Result<(), SchedulerError> {
        let mut leaves = 0usize;
        self.check(1, &mut leaves)?;
        if leaves > MAX_RULE_CONDITIONS {
            return Err(SchedulerError::Invalid(format!(
                "the rule has {leaves} conditions, over the limit of {MAX_RULE_CONDITIONS}; \
                 use a static group for long lists of tenants"
            )));
        }
        Ok(())
    }

    fn check(&self, depth: usize, leaves: &mut usize) -> Result<(), SchedulerError> {
        let invalid = |m: &str| Err(SchedulerError::Invalid(m.to_owned()));
        if depth > MAX_RULE_DEPTH {
            return Err(SchedulerError::Invalid(format!(
                "the rule nests deeper than {MAX_RULE_DEPTH} levels; flatten it"
            )));
        }
        match self {
            Rule::Licence { any_of } => {
                *leaves += 1;
                if any_of.is_empty() || any_of.iter().any(|s| s.trim().is_empty()) {
                    return invalid(
                        "a licence condition needs SKU part numbers (for example SPE_E3), none empty",
                    );
                }
            }
            Rule::Domain { value, .. } => {
                *leaves += 1;
                if value.trim().is_empty() {
                    return invalid("a domain condition needs a value (for example `.de`)");
                }
            }
            Rule::Property { key, value, .. } => {
                *leaves += 1;
                if key.trim().is_empty() {
                    return invalid("a property condition needs a property name");
                }
                if value.is_empty() {
                    return invalid("a property condition needs a value to match");
                }
            }
            Rule::All { rules } | Rule::Any { rules } => {
                if rules.is_empty() {
                    return invalid(
                        "an `all` or `any` rule needs at least one rule (an empty one would \
                         match every tenant or none)",
                    );
                }
                for r in rules {
                    r.check(depth + 1, leaves)?;
                }
            }
            Rule::Not { rule } => rule.check(depth + 1, leaves)?,
        }
        Ok(())
    }
}

/// Who belongs to a group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
#[non_exhaustive]
pub enum Members {
    /// These tenants, each written as its id or one of its domains.
    Static {
        /// The tenants.
        tenants: Vec<String>,
    },
    /// The tenants matching a rule, evaluated when the group is resolved.
    Dynamic {
        /// The rule.
        rule: Rule,
    },
}

/// A named group of tenants.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TenantGroup {
    /// The name (unique, case ignored): what a task's [`Target::Group`] names.
    pub name: String,
    /// A description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Who belongs.
    pub members: Members,
    /// Tenants never in the group, each written as its id or one of its domains.
    #[serde(default)]
    pub exclude: Vec<String>,
}

impl TenantGroup {
    /// A static group of `tenants` (ids or domains).
    pub fn fixed<I, S>(name: impl Into<String>, tenants: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        TenantGroup {
            name: name.into(),
            description: None,
            members: Members::Static {
                tenants: tenants.into_iter().map(Into::into).collect(),
            },
            exclude: Vec::new(),
        }
    }

    /// A dynamic group of the tenants matching `rule`.
    pub fn dynamic(name: impl Into<String>, rule: Rule) -> Self {
        TenantGroup {
            name: name.into(),
            description: None,
            members: Members::Dynamic { rule },
            exclude: Vec::new(),
        }
    }

    /// Sets the description.
    pub fn described(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Leaves these tenants (ids or domains) out.
    pub fn excluding<I, S>(mut self, tenants: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.exclude.extend(tenants.into_iter().map(Into::into));
        self
    }

    /// The rule of a dynamic group.
    pub fn rule(&self) -> Option<&Rule> {
        match &self.members {
            Members::Dynamic { rule } => Some(rule),
            Members::Static { .. } => None,
        }
    }

    /// Refuses an unusable group: an empty or over-long name, an empty tenant entry, an
    /// invalid rule ([`Rule::validate`]).
    pub fn validate(&self) -> Result<(), SchedulerError> {
        let name = self.name.trim();
        if name.is_empty() {
            return Err(SchedulerError::Invalid(
                "a tenant group needs a name".into(),
            ));
        }
        if name.chars().count() > MAX_GROUP_NAME || name.contains('\0') {
            return Err(SchedulerError::Invalid(format!(
                "the tenant group name must be at most {MAX_GROUP_NAME} characters, without NUL"
            )));
        }
        let statics: &[String] = match &self.members {
            Members::Static { tenants } => tenants,
            Members::Dynamic { rule } => {
                rule.validate()?;
                &[]
            }
        };
        if statics
            .iter()
            .chain(&self.exclude)
            .any(|t| t.trim().is_empty())
        {
            return Err(SchedulerError::Invalid(format!(
                "tenant group `{name}` has an empty tenant entry; write each tenant as its id \
                 or a domain"
            )));
        }
        Ok(())
    }

    /// Whether `tenant` is in the group: a static member or matching the rule, and not
    /// named by an exclusion.
    pub fn membership(&self, tenant: &TenantFacts) -> Membership {
        let base = match &self.members {
            Members::Static { tenants } => tenants
                .iter()
                .fold(Membership::Out, |acc, t| acc.or(tenant.is_named(t))),
            Members::Dynamic { rule } => rule.evaluate(tenant),
        };
        base.and(!excluded_by(&self.exclude, tenant))
    }

    /// Every name of the group's tenant entries (static members and exclusions) that is
    /// not written as a GUID: matching them needs the tenants' domains.
    fn names_domains(&self) -> bool {
        let statics: &[String] = match &self.members {
            Members::Static { tenants } => tenants,
            Members::Dynamic { .. } => &[],
        };
        statics.iter().chain(&self.exclude).any(|t| !is_guid(t))
    }
}

/// Whether one of `names` names `tenant`.
fn excluded_by(names: &[String], tenant: &TenantFacts) -> Membership {
    names
        .iter()
        .fold(Membership::Out, |acc, n| acc.or(tenant.is_named(n)))
}

/// The ids of the fleet's tenants in `group` (in `fleet`'s order). A static member that
/// names no tenant of `fleet` is kept as written (the task then runs on it and its result
/// says how that went) unless an exclusion names it; a tenant whose membership is unknown
/// is left out.
pub fn resolve(group: &TenantGroup, fleet: &[TenantFacts]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let push = |id: &str, out: &mut Vec<String>| {
        if !out.iter().any(|o| o.eq_ignore_ascii_case(id)) {
            out.push(id.to_owned());
        }
    };
    for t in fleet {
        if group.membership(t) == Membership::In {
            push(&t.id, &mut out);
        }
    }
    if let Members::Static { tenants } = &group.members {
        for name in tenants {
            let known = fleet.iter().any(|t| t.is_named(name) != Membership::Out);
            let excluded = group
                .exclude
                .iter()
                .any(|x| x.trim().eq_ignore_ascii_case(name.trim()));
            if !known && !excluded {
                push(name.trim(), &mut out);
            }
        }
    }
    out
}

/// The tenants a task's `target` runs for, over `fleet` and the named `groups`:
///
/// - one tenant: that tenant, as written;
/// - a group: [`resolve`] (an unknown group is [`SchedulerError::Invalid`]);
/// - every tenant: each tenant of `fleet` that no excluded tenant names (by id or domain)
///   and that no excluded group may hold — a tenant whose membership in an excluded group,
///   or whose match with an excluded name, is unknown is left out too. An unknown excluded
///   group is [`SchedulerError::Invalid`] (a typo must not run a task everywhere).
pub fn resolve_target(
    target: &Target,
    groups: &[TenantGroup],
    fleet: &[TenantFacts],
) -> Result<Vec<String>, SchedulerError> {
    match target {
        Target::Tenant { id } => Ok(vec![id.clone()]),
        Target::Group { name } => Ok(resolve(find(groups, name)?, fleet)),
        Target::AllTenants {
            exclude_tenants,
            exclude_groups,
        } => {
            let excluded: Vec<&TenantGroup> = exclude_groups
                .iter()
                .map(|g| find(groups, g))
                .collect::<Result<_, _>>()?;
            Ok(fleet
                .iter()
                .filter(|t| excluded_by(exclude_tenants, t) == Membership::Out)
                .filter(|t| excluded.iter().all(|g| g.membership(t) == Membership::Out))
                .map(|t| t.id.clone())
                .collect())
        }
    }
}

/// What resolving `target` over `groups` needs to know of each tenant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FactsNeeded {
    /// The fleet at all (a single tenant, or a static group without exclusions, needs
    /// nothing).
    pub fleet: bool,
    /// The tenants' domains: a rule looks at domains, or an entry names a tenant by domain.
    pub domains: bool,
    /// The tenants' licences (SKU part numbers).
    pub licences: bool,
    /// The tenants' custom properties.
    pub properties: bool,
}

/// What [`resolve_target`] needs to know to resolve `target` with these groups (the groups
/// it names must be among `groups`; unknown ones are ignored here and refused by
/// [`resolve_target`]).
pub fn facts_needed(target: &Target, groups: &[TenantGroup]) -> FactsNeeded {
    let mut need = FactsNeeded::default();
    let add_group = |g: &TenantGroup, need: &mut FactsNeeded| {
        need.fleet = true;
        need.domains |= g.names_domains();
        if let Some(rule) = g.rule() {
            need.domains |= rule.uses_domains();
            need.licences |= rule.uses_licences();
            need.properties |= rule.uses_properties();
        }
    };
    match target {
        Target::Tenant { .. } => {}
        Target::Group { name } => {
            if let Ok(g) = find(groups, name) {
                // A static group without exclusions is its list: nothing to read.
                if g.rule().is_some() || !g.exclude.is_empty() {
                    add_group(g, &mut need);
                }
            }
        }
        Target::AllTenants {
            exclude_tenants,
            exclude_groups,
        } => {
            need.fleet = true;
            need.domains |= exclude_tenants.iter().any(|t| !is_guid(t));
            for name in exclude_groups {
                if let Ok(g) = find(groups, name) {
                    add_group(g, &mut need);
                }
            }
        }
    }
    need
}

/// The names of the groups `target` refers to.
pub fn groups_named(target: &Target) -> Vec<String> {
    match target {
        Target::Tenant { .. } => Vec::new(),
        Target::Group { name } => vec![name.clone()],
        Target::AllTenants { exclude_groups, .. } => exclude_groups.clone(),
    }
}

fn find<'a>(groups: &'a [TenantGroup], name: &str) -> Result<&'a TenantGroup, SchedulerError> {
    groups
        .iter()
        .find(|g| g.name.trim().eq_ignore_ascii_case(name.trim()))
        .ok_or_else(|| {
            SchedulerError::Invalid(format!(
                "no tenant group `{name}`; create it or correct the task's target"
            ))
        })
}

/// Tenant groups and tenants' custom properties in a [`KvStore`], shared by every worker.
///
/// Groups are keyed by their lower-cased name (names are unique, case ignored); each
/// change reads the group, changes it and writes it back naming the version read
/// (compare-and-swap), retrying when another writer got there first.
#[derive(Clone)]
pub struct TenantGroupStore {
    kv: Arc<dyn KvStore>,
}

impl std::fmt::Debug for TenantGroupStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantGroupStore").finish_non_exhaustive()
    }
}

/// How often a compare-and-swap change is tried before giving up. Every lost try means
/// another writer's change landed, so with `n` writers at once a change lands within `n`
/// tries; the bound is for a group rewritten faster than it can be read.
const CAS_TRIES: u32 = 32;

/// The pause after losing compare-and-swap try `attempt` (0-based): exponential from
/// 1 ms, capped at 64 ms, with full jitter so writers that collided do not collide again
/// in lockstep.
fn cas_pause(attempt: u32) -> std::time::Duration {
    use std::hash::{BuildHasher, Hasher};
    let ceiling_us = 1_000u64 << attempt.min(6);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(attempt);
    std::time::Duration::from_micros(h.finish() % ceiling_us.max(1))
}

fn key_of(name: &str) -> String {
    name.trim().to_lowercase()
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> SchedulerError {
    SchedulerError::Store(format!(
        "the stored {what} does not read back ({e}); delete it and create it again"
    ))
}

impl TenantGroupStore {
    /// The key-value namespace of the groups.
    pub const NAMESPACE: &'static str = "tenant-groups";
    /// The key-value namespace of tenants' custom properties (key: the tenant's id or
    /// domain, lower-cased).
    pub const PROPERTIES_NAMESPACE: &'static str = "tenant-properties";

    /// Groups kept in `kv`.
    pub fn new(kv: Arc<dyn KvStore>) -> Self {
        TenantGroupStore { kv }
    }

    /// Adds a group; refused when one with that name (case ignored) exists, or when the
    /// group is invalid ([`TenantGroup::validate`]).
    pub async fn create(&self, group: &TenantGroup) -> Result<(), SchedulerError> {
        group.validate()?;
        let value = to_value(group)?;
        match self
            .kv
            .put(Self::NAMESPACE, &key_of(&group.name), &value, None)
            .await?
        {
            Ok(_) => Ok(()),
            Err(_) => Err(SchedulerError::Invalid(format!(
                "a tenant group named `{}` already exists; change it or choose another name",
                group.name.trim()
            ))),
        }
    }

    /// The group called `name` (case ignored), if any.
    pub async fn get(&self, name: &str) -> Result<Option<TenantGroup>, SchedulerError> {
        if name.trim().is_empty() {
            return Ok(None);
        }
        match self.kv.get(Self::NAMESPACE, &key_of(name)).await? {
            Some(v) => serde_json::from_value(v.value)
                .map(Some)
                .map_err(|e| corrupt(&format!("tenant group `{name}`"), e)),
            None => Ok(None),
        }
    }

    /// Every group, by name.
    pub async fn list(&self) -> Result<Vec<TenantGroup>, SchedulerError> {
        self.kv
            .list(Self::NAMESPACE)
            .await?
            .into_iter()
            .map(|(k, v)| {
                serde_json::from_value(v.value)
                    .map_err(|e| corrupt(&format!("tenant group `{k}`"), e))
            })
            .collect()
    }

    /// Changes the group called `name` with `change` (compare-and-swap, retried when
    /// another writer changed it meanwhile; `change` may then run again on the newer
    /// group) and returns it. The name cannot change. A missing group is
    /// [`SchedulerError::NotFound`]; the changed group is validated first.
    pub async fn update<F>(&self, name: &str, mut change: F) -> Result<TenantGroup, SchedulerError>
    where
        F: FnMut(&mut TenantGroup) -> Result<(), SchedulerError> + Send,
    {
        let key = key_of(name);
        for attempt in 0..CAS_TRIES {
            if attempt > 0 {
                tokio::time::sleep(cas_pause(attempt - 1)).await;
            }
            let Some(current) = (if key.is_empty() {
                None
            } else {
                self.kv.get(Self::NAMESPACE, &key).await?
            }) else {
                return Err(SchedulerError::NotFound(format!(
                    "tenant group `{name}`: there is no such group"
                )));
            };
            let mut group: TenantGroup = serde_json::from_value(current.value)
                .map_err(|e| corrupt(&format!("tenant group `{name}`"), e))?;
            let stored_name = group.name.clone();
            change(&mut group)?;
            if key_of(&group.name) != key {
                return Err(SchedulerError::Invalid(format!(
                    "a tenant group cannot be renamed in place (`{stored_name}` → `{}`); \
                     create the new group and delete the old one",
                    group.name
                )));
            }
            group.validate()?;
            let value = to_value(&group)?;
            if self
                .kv
                .put(Self::NAMESPACE, &key, &value, Some(current.version))
                .await?
                .is_ok()
            {
                return Ok(group);
            }
        }
        Err(SchedulerError::Store(format!(
            "tenant group `{name}` kept changing under this write; try again"
        )))
    }

    /// Replaces the group of the same name with `group`.
    pub async fn replace(&self, group: &TenantGroup) -> Result<(), SchedulerError> {
        let new = group.clone();
        self.update(&group.name, |g| {
            *g = new.clone();
            Ok(())
        })
        .await
        .map(drop)
    }

    /// Adds tenants (ids or domains) to a static group; already present ones (case
    /// ignored) are skipped. A dynamic group is refused.
    pub async fn add_members(
        &self,
        name: &str,
        tenants: &[String],
    ) -> Result<TenantGroup, SchedulerError> {
        self.update(name, |g| match &mut g.members {
            Members::Static { tenants: list } => {
                for t in tenants {
                    if !list.iter().any(|x| x.trim().eq_ignore_ascii_case(t.trim())) {
                        list.push(t.trim().to_owned());
                    }
                }
                Ok(())
            }
            Members::Dynamic { .. } => Err(static_only(name)),
        })
        .await
    }

    /// Removes tenants (case ignored) from a static group. A dynamic group is refused.
    pub async fn remove_members(
        &self,
        name: &str,
        tenants: &[String],
    ) -> Result<TenantGroup, SchedulerError> {
        self.update(name, |g| match &mut g.members {
            Members::Static { tenants: list } => {
                list.retain(|x| {
                    !tenants
                        .iter()
                        .any(|t| t.trim().eq_ignore_ascii_case(x.trim()))
                });
                Ok(())
            }
            Members::Dynamic { .. } => Err(static_only(name)),
        })
        .await
    }

    /// Deletes the group called `name`; [`SchedulerError::NotFound`] when there is none.
    /// Tasks that still name it fail to resolve their target (and say so) until it is
    /// created again.
    pub async fn delete(&self, name: &str) -> Result<(), SchedulerError> {
        if self.get(name).await?.is_none() {
            return Err(SchedulerError::NotFound(format!(
                "tenant group `{name}`: there is no such group"
            )));
        }
        self.kv.delete(Self::NAMESPACE, &key_of(name)).await
    }

    /// Sets a tenant's custom property (`tenant`: its id or a domain; case ignored) for
    /// [`Rule::Property`].
    pub async fn set_property(
        &self,
        tenant: &str,
        key: &str,
        value: &str,
    ) -> Result<(), SchedulerError> {
        if key.trim().is_empty() {
            return Err(SchedulerError::Invalid(
                "a tenant property needs a name".into(),
            ));
        }
        let (k, v) = (key.trim().to_owned(), value.to_owned());
        self.change_properties(tenant, move |p| {
            p.retain(|x, _| !x.eq_ignore_ascii_case(&k));
            p.insert(k.clone(), v.clone());
        })
        .await
    }

    /// Removes a tenant's custom property (nothing happens when it has none).
    pub async fn remove_property(&self, tenant: &str, key: &str) -> Result<(), SchedulerError> {
        let k = key.trim().to_owned();
        self.change_properties(tenant, move |p| {
            p.retain(|x, _| !x.eq_ignore_ascii_case(&k));
        })
        .await
    }

    /// The custom properties stored under `tenant` (its id or a domain, case ignored).
    pub async fn properties(
        &self,
        tenant: &str,
    ) -> Result<BTreeMap<String, String>, SchedulerError> {
        let key = tenant_key(tenant)?;
        match self.kv.get(Self::PROPERTIES_NAMESPACE, &key).await? {
            Some(v) => serde_json::from_value(v.value)
                .map_err(|e| corrupt(&format!("properties of tenant `{tenant}`"), e)),
            None => Ok(BTreeMap::new()),
        }
    }

    /// Every tenant's custom properties, by the name they were stored under (lower-cased
    /// id or domain).
    pub async fn all_properties(
        &self,
    ) -> Result<BTreeMap<String, BTreeMap<String, String>>, SchedulerError> {
        self.kv
            .list(Self::PROPERTIES_NAMESPACE)
            .await?
            .into_iter()
            .map(|(k, v)| {
                let p = serde_json::from_value(v.value)
                    .map_err(|e| corrupt(&format!("properties of tenant `{k}`"), e))?;
                Ok((k, p))
            })
            .collect()
    }

    async fn change_properties<F>(&self, tenant: &str, change: F) -> Result<(), SchedulerError>
    where
        F: Fn(&mut BTreeMap<String, String>) + Send,
    {
        let key = tenant_key(tenant)?;
        for attempt in 0..CAS_TRIES {
            if attempt > 0 {
                tokio::time::sleep(cas_pause(attempt - 1)).await;
            }
            let current = self.kv.get(Self::PROPERTIES_NAMESPACE, &key).await?;
            let (mut props, version): (BTreeMap<String, String>, Option<u64>) = match current {
                Some(v) => (
                    serde_json::from_value(v.value)
                        .map_err(|e| corrupt(&format!("properties of tenant `{tenant}`"), e))?,
                    Some(v.version),
                ),
                None => (BTreeMap::new(), None),
            };
            change(&mut props);
            let value =
                serde_json::to_value(&props).map_err(|e| SchedulerError::Invalid(e.to_string()))?;
            if self
                .kv
                .put(Self::PROPERTIES_NAMESPACE, &key, &value, version)
                .await?
                .is_ok()
            {
                return Ok(());
            }
        }
        Err(SchedulerError::Store(format!(
            "the properties of tenant `{tenant}` kept changing under this write; try again"
        )))
    }
}

/// Merges the custom properties stored under any of a tenant's names (its id, its
/// domains) into `facts`; an earlier name wins a key both hold.
pub fn apply_properties(
    facts: &mut TenantFacts,
    stored: &BTreeMap<String, BTreeMap<String, String>>,
) {
    let mut names = vec![facts.id.to_lowercase()];
    names.extend(
        facts
            .domains
            .iter()
            .flatten()
            .map(|d| d.trim().to_lowercase()),
    );
    for n in names {
        if let Some(p) = stored.get(&n) {
            for (k, v) in p {
                if !facts.properties.keys().any(|x| x.eq_ignore_ascii_case(k)) {
                    facts.properties.insert(k.clone(), v.clone());
                }
            }
        }
    }
}

fn tenant_key(tenant: &str) -> Result<String, SchedulerError> {
    let key = tenant.trim().to_lowercase();
    if key.is_empty() {
        return Err(SchedulerError::Invalid(
            "a tenant property needs a tenant (its id or a domain)".into(),
        ));
    }
    Ok(key)
}

fn static_only(name: &str) -> SchedulerError {
    SchedulerError::Invalid(format!(
        "tenant group `{name}` is dynamic: its members come from its rule; change the rule \
         or its exclusions instead"
    ))
}

fn to_value(group: &TenantGroup) -> Result<serde_json::Value, SchedulerError> {
    serde_json::to_value(group)
        .map_err(|e| SchedulerError::Invalid(format!("the tenant group does not serialize: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const A: &str = "11111111-1111-1111-1111-111111111111";
    const B: &str = "22222222-2222-2222-2222-222222222222";

    #[test]
    fn cas_pause_grows_and_is_capped() {
        for attempt in 0..40 {
            let cap = std::time::Duration::from_micros(1_000 << attempt.min(6));
            assert!(cas_pause(attempt) < cap, "attempt {attempt}");
        }
    }

    fn fleet() -> Vec<TenantFacts> {
        vec![
            TenantFacts::new(A)
                .domains(["contoso.com", "contoso.onmicrosoft.com"])
                .skus(["SPE_E3"])
                .property("tier", "Gold"),
            TenantFacts::new(B)
                .domains(["fabrikam.de"])
                .skus(["O365_BUSINESS_PREMIUM"]),
        ]
    }

    #[test]
    fn rules_match_licences_domains_and_properties_case_ignored() {
        let f = fleet();
        assert_eq!(Rule::licence(["spe_e3"]).evaluate(&f[0]), Membership::In);
        assert_eq!(Rule::licence(["spe_e3"]).evaluate(&f[1]), Membership::Out);
        let de = Rule::domain(TextMatch::EndsWith, ".DE");
        assert_eq!(de.evaluate(&f[1]), Membership::In);
        assert_eq!(de.evaluate(&f[0]), Membership::Out);
        let gold = Rule::property("TIER", TextMatch::Equals, "gold");
        assert_eq!(gold.evaluate(&f[0]), Membership::In);
        assert_eq!(gold.evaluate(&f[1]), Membership::Out, "no such property");
        let either = Rule::any([de.clone(), gold.clone()]);
        assert_eq!(either.evaluate(&f[0]), Membership::In);
        assert_eq!(either.evaluate(&f[1]), Membership::In);
        assert_eq!(Rule::all([de, gold]).evaluate(&f[0]), Membership::Out);
    }

    #[test]
    fn unknown_facts_are_not_guessed() {
        let t = TenantFacts::new(A).domains_unknown();
        assert_eq!(Rule::licence(["SPE_E3"]).evaluate(&t), Membership::Unknown);
        assert_eq!(
            Rule::negate(Rule::licence(["SPE_E3"])).evaluate(&t),
            Membership::Unknown
        );
        assert_eq!(
            Rule::domain(TextMatch::Equals, "contoso.com").evaluate(&t),
            Membership::Unknown
        );
        // Another GUID is another tenant, domains or not; the tenant's own id matches.
        assert_eq!(t.is_named(B), Membership::Out);
        assert_eq!(t.is_named(&A.to_uppercase()), Membership::In);
        assert_eq!(t.is_named("contoso.com"), Membership::Unknown);
        // Unknown facts keep a tenant out of a group and inside an exclusion.
        let g = TenantGroup::dynamic("E3", Rule::licence(["SPE_E3"]));
        assert!(resolve(&g, std::slice::from_ref(&t)).is_empty());
        let all = Target::AllTenants {
            exclude_tenants: vec!["contoso.com".into()],
            exclude_groups: vec![],
        };
        assert!(resolve_target(&all, &[], &[t]).expect("resolve").is_empty());
    }

    #[test]
    fn exclusions_match_by_id_or_domain() {
        let f = fleet();
        let g = TenantGroup::dynamic("All", Rule::domain(TextMatch::Contains, "."))
            .excluding(["FABRIKAM.DE"]);
        assert_eq!(resolve(&g, &f), [A]);
        let all = Target::AllTenants {
            exclude_tenants: vec!["contoso.onmicrosoft.com".into()],
            exclude_groups: vec![],
        };
        assert_eq!(resolve_target(&all, &[], &f).expect("resolve"), [B]);
        let by_group = Target::AllTenants {
            exclude_tenants: vec![],
            exclude_groups: vec!["german".into()],
        };
        let german = TenantGroup::fixed("German", ["fabrikam.de"]);
        assert_eq!(
            resolve_target(&by_group, std::slice::from_ref(&german), &f).expect("resolve"),
            [A]
        );
        let missing = resolve_target(&by_group, &[], &f).expect_err("unknown group");
        assert!(
            missing.to_string().contains("no tenant group `german`"),
            "{missing}"
        );
    }

    #[test]
    fn static_members_map_to_fleet_ids_and_unknown_ones_stay_as_written() {
        let f = fleet();
        let g = TenantGroup::fixed("G", ["contoso.com", A, "elsewhere.org", "gone.org"])
            .excluding(["gone.org"]);
        assert_eq!(resolve(&g, &f), [A, "elsewhere.org"]);
    }

    #[test]
    fn validation_refuses_empty_and_deep_rules() {
        assert!(Rule::all([]).validate().is_err());
        assert!(Rule::licence(Vec::<String>::new()).validate().is_err());
        assert!(Rule::domain(TextMatch::EndsWith, " ").validate().is_err());
        assert!(Rule::property("", TextMatch::Equals, "x")
            .validate()
            .is_err());
        let mut deep = Rule::licence(["X"]);
        for _ in 0..MAX_RULE_DEPTH {
            deep = Rule::negate(deep);
        }
        assert!(deep.validate().is_err());
        assert!(TenantGroup::fixed(" ", ["a.com"]).validate().is_err());
        assert!(TenantGroup::fixed("g", [""]).validate().is_err());
        assert!(TenantGroup::fixed("g", ["a.com"])
            .excluding([""])
            .validate()
            .is_err());
        assert!(TenantGroup::fixed("g", ["a.com"]).validate().is_ok());
    }

    #[test]
    fn rules_round_trip_as_json() {
        let r = Rule::all([
            Rule::licence(["SPE_E3"]),
            Rule::negate(Rule::domain(TextMatch::EndsWith, ".de")),
            Rule::property("tier", TextMatch::StartsWith, "g"),
        ]);
        let v = serde_json::to_value(&r).expect("json");
        assert_eq!(v["type"], "all");
        assert_eq!(v["rules"][0]["anyOf"][0], "SPE_E3");
        assert_eq!(v["rules"][1]["rule"]["match"], "endsWith");
        assert_eq!(serde_json::from_value::<Rule>(v).expect("read"), r);
    }

    #[test]
    fn facts_needed_reads_only_what_rules_ask_for() {
        let e3 = TenantGroup::dynamic("E3", Rule::licence(["SPE_E3"]));
        let list = TenantGroup::fixed("List", ["contoso.com"]);
        let groups = [e3, list];
        let group = |n: &str| Target::Group { name: n.into() };
        let n = facts_needed(&group("e3"), &groups);
        assert!(n.fleet && n.licences && !n.domains && !n.properties);
        assert_eq!(
            facts_needed(&group("list"), &groups),
            FactsNeeded::default()
        );
        let all = Target::AllTenants {
            exclude_tenants: vec![A.into()],
            exclude_groups: vec![],
        };
        let n = facts_needed(&all, &groups);
        assert!(n.fleet && !n.domains && !n.licences);
        let all = Target::AllTenants {
            exclude_tenants: vec!["contoso.com".into()],
            exclude_groups: vec!["E3".into()],
        };
        let n = facts_needed(&all, &groups);
        assert!(n.domains && n.licences);
    }

    fn arb_text() -> impl Strategy<Value = String> {
        prop::sample::select(vec!["a", "b", "c", ".de", "x.de", "A", "SPE_E3", "spe_e3"])
            .prop_map(str::to_owned)
    }

    fn arb_match() -> impl Strategy<Value = TextMatch> {
        prop::sample::select(vec![
            TextMatch::Equals,
            TextMatch::StartsWith,
            TextMatch::EndsWith,
            TextMatch::Contains,
        ])
    }

    fn arb_rule() -> impl Strategy<Value = Rule> {
        let leaf = prop_oneof![
            prop::collection::vec(arb_text(), 1..3).prop_map(Rule::licence),
            (arb_match(), arb_text()).prop_map(|(m, v)| Rule::domain(m, v)),
            (arb_text(), arb_match(), arb_text()).prop_map(|(k, m, v)| Rule::property(k, m, v)),
        ];
        leaf.prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 1..4).prop_map(Rule::all),
                prop::collection::vec(inner.clone(), 1..4).prop_map(Rule::any),
                inner.prop_map(Rule::negate),
            ]
        })
    }

    fn arb_facts() -> impl Strategy<Value = TenantFacts> {
        (
            prop::option::of(prop::collection::vec(arb_text(), 0..3)),
            prop::option::of(prop::collection::vec(arb_text(), 0..3)),
            prop::collection::btree_map(arb_text(), arb_text(), 0..3),
        )
            .prop_map(|(domains, skus, properties)| TenantFacts {
                id: A.into(),
                domains,
                skus,
                properties,
            })
    }

    /// Every way of filling in the unknown facts.
    fn completions(t: &TenantFacts) -> Vec<TenantFacts> {
        let fills = [vec![], vec!["x.de".to_owned(), "SPE_E3".to_owned()]];
        let mut out = Vec::new();
        for d in &fills {
            for s in &fills {
                let mut c = t.clone();
                c.domains.get_or_insert_with(|| d.clone());
                c.skus.get_or_insert_with(|| s.clone());
                out.push(c);
            }
        }
        out
    }

    proptest! {
        /// A known answer never changes when unknown facts become known (the evaluator
        /// never guesses), and with every fact known the answer is never unknown.
        #[test]
        fn unknown_is_honest(rule in arb_rule(), facts in arb_facts()) {
            let answer = rule.evaluate(&facts);
            for c in completions(&facts) {
                let known = rule.evaluate(&c);
                prop_assert_ne!(known, Membership::Unknown);
                if answer != Membership::Unknown {
                    prop_assert_eq!(known, answer);
                }
            }
        }

        /// `Not` is a complement, `All`/`Any` agree with De Morgan, and evaluation is
        /// case-insensitive.
        #[test]
        fn algebra(a in arb_rule(), b in arb_rule(), facts in arb_facts()) {
            prop_assert_eq!(Rule::negate(a.clone()).evaluate(&facts), !a.evaluate(&facts));
            let and = Rule::all([a.clone(), b.clone()]).evaluate(&facts);
            let nor = Rule::negate(Rule::any([Rule::negate(a.clone()), Rule::negate(b.clone())]));
            prop_assert_eq!(and, nor.evaluate(&facts));
            let mut upper = facts.clone();
            upper.domains = upper.domains.map(|d| d.iter().map(|x| x.to_uppercase()).collect());
            upper.skus = upper.skus.map(|d| d.iter().map(|x| x.to_uppercase()).collect());
            upper.properties = upper.properties.iter().map(|(k, v)| (k.clone(), v.to_uppercase())).collect();
            prop_assert_eq!(a.evaluate(&upper), a.evaluate(&facts));
        }

        /// JSON round trip of any rule.
        #[test]
        fn json_round_trip(rule in arb_rule()) {
            let v = serde_json::to_value(&rule).expect("json");
            prop_assert_eq!(serde_json::from_value::<Rule>(v).expect("read"), rule);
        }
    }
}
