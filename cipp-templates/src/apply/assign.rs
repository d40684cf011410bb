//! Intune assignment at deploy time: who gets each applied Intune object.
//!
//! Group names (with `*` and `?` wildcards) are resolved in the tenant by display name, the
//! assignment filter by name (among the tenant's filters, including those this apply just
//! created). The current assignments are read first (`GET …/{id}/assignments`): when they
//! already are what the choice asks for nothing is sent, so a second apply is a no-op;
//! otherwise one `POST …/{id}/assign` with the documented body. With
//! [`IntuneAssignment::append`] the current assignments are kept and the new targets
//! added; by default the assignment is replaced.

use cipp_graph::intune::{
    assignments_body, AssignTarget, FilterMode as GraphFilterMode, IntuneKind,
};
use cipp_graph::TenantGraph;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::resolve::{id_of, wildcard, Directory};

/// How an assignment filter applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum FilterMode {
    /// Only devices the filter matches.
    Include,
    /// Every device but those the filter matches.
    Exclude,
}

/// An assignment filter by display name and how it applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterChoice {
    /// The filter's display name in the tenant.
    pub name: String,
    /// Include or exclude what it matches.
    pub mode: FilterMode,
}

/// Who applied Intune objects are assigned to (CIPP's `AssignTo`, `customGroup`,
/// `excludeGroup`, `assignmentFilter`, `assignmentFilterType`, and append or replace).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct IntuneAssignment {
    /// All licensed users.
    #[serde(default)]
    pub all_users: bool,
    /// All devices.
    #[serde(default)]
    pub all_devices: bool,
    /// Groups by display name; `*` and `?` are wildcards. Each must match a group.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Groups excluded, by display name (wildcards too).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_groups: Vec<String>,
    /// An assignment filter for the include targets (never for exclusions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<FilterChoice>,
    /// Keep the current assignments and add these (default: replace them).
    #[serde(default)]
    pub append: bool,
}

impl IntuneAssignment {
    /// All licensed users.
    pub fn all_users() -> IntuneAssignment {
        IntuneAssignment {
            all_users: true,
            ..IntuneAssignment::default()
        }
    }

    /// All devices.
    pub fn all_devices() -> IntuneAssignment {
        IntuneAssignment {
            all_devices: true,
            ..IntuneAssignment::default()
        }
    }

    /// All licensed users and all devices.
    pub fn all_users_and_devices() -> IntuneAssignment {
        IntuneAssignment {
            all_users: true,
            all_devices: true,
            ..IntuneAssignment::default()
        }
    }

    /// Groups by display name (wildcards allowed).
    pub fn groups<I, S>(names: I) -> IntuneAssignment
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        IntuneAssignment {
            groups: names.into_iter().map(Into::into).collect(),
            ..IntuneAssignment::default()
        }
    }

    /// The same assignment excluding these groups (wildcards allowed).
    pub fn exclude<I, S>(mut self, names: I) -> IntuneAssignment
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.exclude_groups
            .extend(names.into_iter().map(Into::into));
        self
    }

    /// The same assignment with an assignment filter (by display name).
    pub fn filter(mut self, name: impl Into<String>, mode: FilterMode) -> IntuneAssignment {
        self.filter = Some(FilterChoice {
            name: name.into(),
            mode,
        });
        self
    }

    /// The same assignment added to the current ones instead of replacing them.
    pub fn append(mut self) -> IntuneAssignment {
        self.append = true;
        self
    }

    /// Whether it names any target.
    pub fn is_empty(&self) -> bool {
        !self.all_users
            && !self.all_devices
            && self.groups.is_empty()
            && self.exclude_groups.is_empty()
    }

    /// Whether resolving it needs the tenant's groups.
    pub(super) fn names_groups(&self) -> bool {
        !self.groups.is_empty() || !self.exclude_groups.is_empty()
    }
}

/// The ids of the groups `pattern` matches, or why none.
fn matching(dir: &Directory, pattern: &str) -> Result<Vec<String>, String> {
    let ids: Vec<String> = dir
        .groups
        .iter()
        .filter(|g| wildcard(pattern, &g.name))
        .map(|g| g.id.clone())
        .collect();
    if ids.is_empty() {
        Err(format!("no group in the tenant matches \"{pattern}\""))
    } else {
        Ok(ids)
    }
}

/// The targets of `a` in this tenant, or every name that could not be resolved.
fn targets(a: &IntuneAssignment, dir: &Directory) -> Result<Vec<AssignTarget>, Vec<String>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    if a.all_users {
        out.push(AssignTarget::AllUsers);
    }
    if a.all_devices {
        out.push(AssignTarget::AllDevices);
    }
    for (patterns, include) in [(&a.groups, true), (&a.exclude_groups, false)] {
        for p in patterns {
            match matching(dir, p) {
                Ok(ids) => out.extend(ids.into_iter().map(|id| {
                    if include {
                        AssignTarget::Group(id)
                    } else {
                        AssignTarget::ExcludeGroup(id)
                    }
                })),
                Err(e) => errors.push(e),
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// An assignment's target as compared: its type, group and filter (a filter of type
/// `none` is no filter).
fn target_key(assignment: &Value) -> String {
    let t = &assignment["target"];
    let filter_type = t["deviceAndAppManagementAssignmentFilterType"]
        .as_str()
        .filter(|f| !f.eq_ignore_ascii_case("none"));
    let filter_id = filter_type.and(t["deviceAndAppManagementAssignmentFilterId"].as_str());
    format!(
        "{}|{}|{}|{}",
        t["@odata.type"].as_str().unwrap_or_default(),
        t["groupId"].as_str().unwrap_or_default().to_lowercase(),
        filter_id.unwrap_or_default().to_lowercase(),
        filter_type.unwrap_or_default().to_lowercase(),
    )
}

fn keys(assignments: &[Value]) -> Vec<String> {
    let mut k: Vec<String> = assignments.iter().map(target_key).collect();
    k.sort();
    k.dedup();
    k
}

/// Assigns object `id` of `ik` as `a` says: `Ok(None)` when the assignments already are
/// as asked (nothing sent), `Ok(Some(what))` after an `assign`, or why it failed.
pub(super) async fn assign(
    graph: &TenantGraph,
    ik: IntuneKind,
    id: &str,
    a: &IntuneAssignment,
    dir: &Directory,
) -> Result<Option<String>, String> {
    let targets = targets(a, dir).map_err(|e| e.join("; "))?;
    let filter = match &a.filter {
        Some(f) => {
            let fid = id_of(&dir.filters, &f.name, "assignment filter")?;
            let mode = match f.mode {
                FilterMode::Include => GraphFilterMode::Include,
                FilterMode::Exclude => GraphFilterMode::Exclude,
            };
            Some((fid, mode))
        }
        None => None,
    };
    let filter_ref = filter.as_ref().map(|(i, m)| (i.as_str(), *m));
    let intune = graph.intune();
    let current = intune
        .assignments(ik, id)
        .await
        .map_err(|e| format!("reading the current assignments failed: {e}"))?;
    let existing = if a.append {
        current.clone()
    } else {
        Vec::new()
    };
    let body = assignments_body(ik, &targets, filter_ref, &existing).map_err(|e| e.to_string())?;
    let wanted = body["assignments"].as_array().cloned().unwrap_or_default();
    if keys(&wanted) == keys(&current) {
        return Ok(None);
    }
    intune
        .assign_body(ik, id, &body)
        .await
        .map_err(|e| format!("assigning failed: {e}"))?;
    Ok(Some(format!(
        "assigned to {} target{}",
        wanted.len(),
        if wanted.len() == 1 { "" } else { "s" }
    )))
}
