//! The tenant's directory as names and ids: what apply maps portable names to, and what it
//! names ids with when it reads objects back.

use cipp_graph::model::{AuthenticationStrengthPolicy, Group, NamedLocation, User};
use cipp_graph::{List, TenantGraph};
use serde_json::Value;

/// The group properties read (the portable ones, as [`crate::capture::capture_group`]).
pub(super) use crate::capture::GROUP_SELECT;

/// One object: id, display name and (users) UPN.
#[derive(Debug, Clone, Default)]
pub(super) struct Entry {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) upn: String,
}

impl Entry {
    /// An object known by id and display name.
    pub(super) fn named(id: impl Into<String>, name: impl Into<String>) -> Entry {
        Entry {
            id: id.into(),
            name: name.into(),
            upn: String::new(),
        }
    }
}

/// Names and ids of the tenant's users, groups, named locations, authentication strengths,
/// assignment filters and reusable policy settings (each listed only when needed).
#[derive(Debug, Clone, Default)]
pub(super) struct Directory {
    pub(super) users: Vec<Entry>,
    pub(super) groups: Vec<Entry>,
    pub(super) locations: Vec<Entry>,
    pub(super) strengths: Vec<Entry>,
    pub(super) filters: Vec<Entry>,
    pub(super) reusable: Vec<Entry>,
}

pub(super) fn special(value: &str, specials: &[&str]) -> bool {
    specials.iter().any(|s| s.eq_ignore_ascii_case(value))
}

pub(super) fn is_guid(s: &str) -> bool {
    s.len() == 36 && uuid::Uuid::parse_str(s).is_ok()
}

pub(super) fn same(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

/// The id of `name` among `entries` (by id, then display name, then UPN), or why not.
pub(super) fn id_of(entries: &[Entry], name: &str, what: &str) -> Result<String, String> {
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
pub(super) fn name_of(entries: &[Entry], id: &str) -> Option<String> {
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

/// Whether `name` matches `pattern`, where `*` is any run of characters and `?` any one
/// character, ignoring case.
pub(super) fn wildcard(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let n: Vec<char> = name.to_lowercase().chars().collect();
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ni));
            pi += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

pub(super) fn strings_at<'a>(body: &'a Value, pointer: &str) -> impl Iterator<Item = &'a str> {
    body.pointer(pointer)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

/// Rewrites each string of the array at `pointer` with `f` (`None`: kept).
pub(super) fn map_strings(
    body: &mut Value,
    pointer: &str,
    mut f: impl FnMut(&str) -> Option<String>,
) {
    if let Some(items) = body.pointer_mut(pointer).and_then(Value::as_array_mut) {
        for item in items {
            if let Some(new) = item.as_str().and_then(&mut f) {
                *item = Value::String(new);
            }
        }
    }
}

pub(super) fn group_entry(g: &Group) -> Option<Entry> {
    Some(Entry::named(
        g.id.as_ref()?.as_str(),
        g.display_name.clone().unwrap_or_default(),
    ))
}

/// The tenant's groups with the portable properties (`$select`).
pub(super) fn groups_listing(graph: &TenantGraph) -> List<Group> {
    graph.groups().list().select(GROUP_SELECT.iter().copied())
}

/// The tenant's users with what names them (`$select` of id, display name and UPN).
pub(super) fn users_listing(graph: &TenantGraph) -> List<User> {
    graph
        .users()
        .list()
        .select(["id", "displayName", "userPrincipalName"])
}

/// Users as entries (by id, display name and UPN).
pub(super) fn user_entries(users: Vec<User>) -> Vec<Entry> {
    users
        .into_iter()
        .filter_map(|u| {
            Some(Entry {
                id: u.id?.0,
                name: u.display_name.unwrap_or_default(),
                upn: u.user_principal_name.unwrap_or_default(),
            })
        })
        .collect()
}

/// Every user of the tenant, as entries (an ordinary paged listing).
pub(super) async fn list_users(graph: &TenantGraph) -> Result<Vec<Entry>, cipp_core::Error> {
    Ok(user_entries(users_listing(graph).await?))
}

/// Named locations as entries.
pub(super) fn location_entries(all: Vec<NamedLocation>) -> Vec<Entry> {
    all.into_iter()
        .map(|l| Entry::named(l.id, l.display_name))
        .collect()
}

/// Authentication strengths as entries.
pub(super) fn strength_entries(all: Vec<AuthenticationStrengthPolicy>) -> Vec<Entry> {
    all.into_iter()
        .map(|s| Entry::named(s.id, s.display_name))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::wildcard;

    #[test]
    fn wildcards() {
        for (p, n, m) in [
            ("Sales*", "sales team", true),
            ("*team", "Sales Team", true),
            ("S?les", "Sales", true),
            ("Sales", "Sales Team", false),
            ("*", "", true),
            ("a*b*c", "aXXbYYc", true),
            ("a*b*c", "aXXbYY", false),
        ] {
            assert_eq!(wildcard(p, n), m, "{p} vs {n}");
        }
    }
}
