//! Conditional Access: policies between name space (templates) and id space (the tenant).

use cipp_core::Outcome;
use cipp_graph::model::ConditionalAccessPolicy;
use cipp_graph::TenantGraph;
use serde_json::{Map, Value};

use super::resolve::{id_of, map_strings, name_of, special, strings_at, Directory, Entry};
use super::{failed, to_json, verified, ApplyOptions, Done};
use crate::plan::PlanItem;

/// Values of user lists that are not object ids.
pub(super) const SPECIAL_USERS: &[&str] = &["All", "None", "GuestsOrExternalUsers"];
/// Values of location lists that are not named locations.
pub(super) const SPECIAL_LOCATIONS: &[&str] =
    &["All", "AllTrusted", "00000000-0000-0000-0000-000000000000"];
pub(super) const USER_LISTS: &[&str] = &[
    "/conditions/users/includeUsers",
    "/conditions/users/excludeUsers",
];
pub(super) const GROUP_LISTS: &[&str] = &[
    "/conditions/users/includeGroups",
    "/conditions/users/excludeGroups",
];
pub(super) const LOCATION_LISTS: &[&str] = &[
    "/conditions/locations/includeLocations",
    "/conditions/locations/excludeLocations",
];
pub(super) const STRENGTH: &str = "/grantControls/authenticationStrength";

impl Directory {
    /// A Conditional Access body with this tenant's ids named (unknown ids kept).
    pub(super) fn to_names(&self, body: &Value) -> Value {
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
    pub(super) fn to_ids(&self, body: &Value) -> Result<Value, Vec<String>> {
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
pub(super) fn names_users(body: &Value) -> bool {
    USER_LISTS
        .iter()
        .any(|p| strings_at(body, p).any(|s| !special(s, SPECIAL_USERS)))
}

pub(super) async fn apply_ca(
    graph: &TenantGraph,
    item: &PlanItem,
    object_id: Option<&String>,
    body: &Value,
    dir: &Directory,
    options: &ApplyOptions,
) -> Done {
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
