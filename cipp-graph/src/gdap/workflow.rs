//! CIPP's GDAP role-mapping workflow over the partner tenant's handlers
//! (`graph.tenant(&partner)`):
//! create the `M365 GDAP <Role>` groups in the partner tenant (idempotent, found by
//! name), invite (create and lock a relationship), apply the mappings once the customer
//! approved (create the missing access assignments, report those still pending),
//! auto-extend, remove Global Administrator, and reset mappings. Each step is reported.

use std::collections::BTreeMap;

use cipp_core::{Error, Outcome, Report};

use super::{invite_url, roles, AutoExtend, NewRelationship, RelationshipPatch};
use crate::model::{AccessDetails, DelegatedAdminRelationship, NewGroup};
use crate::odata::Query;
use crate::TenantGraph;

/// Partner groups that may not receive a mapping.
pub const RESERVED_GROUPS: [&str; 4] =
    ["All Users", "AdminAgents", "HelpdeskAgents", "SalesAgents"];

/// A role granted through a partner security group (JSON: `roleName`,
/// `roleDefinitionId`, `groupId`, `groupName`, as CIPP stores its role templates).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleMapping {
    /// The role's name.
    pub role_name: String,
    /// The role's template id.
    pub role_definition_id: String,
    /// The partner group's object id.
    pub group_id: String,
    /// The partner group's name.
    pub group_name: String,
}

fn odata_quote(s: &str) -> String {
    s.replace('\'', "''")
}

/// Finds or creates the `M365 GDAP <Role>` security group for each role (by template id,
/// with CIPP's optional name suffix) in the partner tenant. Existing groups are reused,
/// so running it again changes nothing.
pub async fn ensure_role_groups(
    partner: &TenantGraph,
    role_ids: &[String],
    suffix: Option<&str>,
) -> Result<(Vec<RoleMapping>, Report), Error> {
    let mut mappings = Vec::new();
    let mut report = Report::new();
    for id in role_ids {
        let Some(role) = roles::role_name(id) else {
            return Err(Error::invalid_input(
                "roles",
                format!("`{id}` is not a built-in role template id"),
            ));
        };
        let name = roles::group_name(role, suffix);
        let found = partner
            .groups()
            .list()
            .query(
                Query::new()
                    .filter(format!("displayName eq '{}'", odata_quote(&name)))
                    .select(["id", "displayName"]),
            )
            .await?;
        let group_id = match found.into_iter().find_map(|g| g.id) {
            Some(g) => {
                report.push(
                    format!("group {name}"),
                    Outcome::no_change("already exists"),
                );
                g.0
            }
            None => {
                let nickname = roles::group_mail_nickname(role, suffix);
                match partner
                    .groups()
                    .create(&NewGroup::security(&name, &nickname))
                    .await
                {
                    Ok(g) => {
                        report.push(format!("group {name}"), Outcome::succeeded("created"));
                        g.id.map(|g| g.0).unwrap_or_default()
                    }
                    Err(e) => {
                        report.push(format!("group {name}"), Outcome::failed(&e));
                        continue;
                    }
                }
            }
        };
        mappings.push(RoleMapping {
            role_name: role.to_owned(),
            role_definition_id: id.to_ascii_lowercase(),
            group_id,
            group_name: name,
        });
    }
    Ok((mappings, report))
}

/// Checks that a group may receive a mapping (CIPP refuses the partner's built-in groups).
pub fn check_mappable(group_name: &str) -> Result<(), Error> {
    if RESERVED_GROUPS
        .iter()
        .any(|g| g.eq_ignore_ascii_case(group_name.trim()))
    {
        Err(Error::invalid_input(
            "group",
            format!("`{group_name}` is a reserved partner group and cannot be mapped to a role"),
        ))
    } else {
        Ok(())
    }
}

/// A relationship created and locked for the customer's approval.
#[derive(Clone, Debug, PartialEq)]
pub struct Invite {
    /// The relationship.
    pub relationship: DelegatedAdminRelationship,
    /// The URL to send the customer's Global Administrator.
    pub url: String,
}

/// Creates a two-year relationship with the mappings' roles — auto-extending unless it
/// includes Global Administrator, as CIPP does — and locks it for approval.
pub async fn invite(
    partner: &TenantGraph,
    display_name: &str,
    mappings: &[RoleMapping],
) -> Result<Invite, Error> {
    for m in mappings {
        check_mappable(&m.group_name)?;
    }
    let mut role_ids: Vec<String> = mappings
        .iter()
        .map(|m| m.role_definition_id.clone())
        .collect();
    role_ids.sort();
    role_ids.dedup();
    let ga = role_ids
        .iter()
        .any(|r| r.eq_ignore_ascii_case(roles::GLOBAL_ADMINISTRATOR));
    let relationship = partner
        .gdap()
        .create_relationship(&NewRelationship {
            display_name: display_name.to_owned(),
            duration: "P730D".into(),
            roles: role_ids,
            customer: None,
            auto_extend: if ga {
                AutoExtend::Off
            } else {
                AutoExtend::SixMonths
            },
        })
        .await?;
    partner.gdap().lock_for_approval(&relationship.id).await?;
    let url = invite_url(&relationship.id);
    Ok(Invite { relationship, url })
}

fn by_group(mappings: &[RoleMapping]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for m in mappings {
        let roles = out.entry(m.group_id.to_ascii_lowercase()).or_default();
        if !roles.contains(&m.role_definition_id) {
            roles.push(m.role_definition_id.to_ascii_lowercase());
        }
    }
    for roles in out.values_mut() {
        roles.sort();
    }
    out
}

fn roles_of(a: Option<&AccessDetails>) -> Vec<String> {
    let mut r: Vec<String> = a
        .map(|a| {
            a.unified_roles
                .iter()
                .map(|r| r.role_definition_id.to_ascii_lowercase())
                .collect()
        })
        .unwrap_or_default();
    r.sort();
    r
}

/// What applying mappings did.
#[derive(Clone, Debug, PartialEq)]
pub struct Applied {
    /// One step per group.
    pub report: Report,
    /// Groups whose assignment is not active yet ("pending, try later").
    pub pending: Vec<String>,
}

/// Once the customer approved (the relationship is `active`), creates the access
/// assignments the mappings need and that do not exist yet; with `reset`, also deletes
/// assignments of groups outside the mappings and corrects assignments whose roles
/// differ, until the relationship matches the mappings exactly. Reports assignments
/// still pending.
pub async fn apply_mappings(
    partner: &TenantGraph,
    relationship_id: &str,
    mappings: &[RoleMapping],
    reset: bool,
) -> Result<Applied, Error> {
    let gdap = partner.gdap();
    let rel = gdap.relationship(relationship_id).await?;
    let mut report = Report::new();
    let mut pending = Vec::new();
    if !rel.is_active() {
        let status = rel
            .status
            .as_ref()
            .map_or_else(|| "unknown".to_owned(), |s| s.to_string());
        report.push(
            "access assignments",
            Outcome::skipped(format!(
                "relationship {relationship_id} is {status}: waiting for the customer to approve it"
            )),
        );
        return Ok(Applied { report, pending });
    }
    let existing = gdap.access_assignments(relationship_id).await?;
    let wanted = by_group(mappings);
    let granted = rel.access_details.clone().unwrap_or_default();
    for (group, roles) in &wanted {
        let name = mappings
            .iter()
            .find(|m| m.group_id.eq_ignore_ascii_case(group))
            .map_or(group.as_str(), |m| m.group_name.as_str());
        let step = format!("assignment {name}");
        if let Some(missing) = roles.iter().find(|r| !granted.contains(r)) {
            report.push(
                step,
                Outcome::skipped(format!(
                    "the relationship does not include {} ({missing})",
                    roles::role_name(missing).unwrap_or("unknown role")
                )),
            );
            continue;
        }
        let current = existing
            .iter()
            .find(|a| a.group_id().is_some_and(|g| g.eq_ignore_ascii_case(group)));
        let outcome = match current {
            Some(a) if roles_of(a.access_details.as_ref()) == *roles => {
                if a.status != Some(crate::model::AssignmentStatus::Active) {
                    pending.push(name.to_owned());
                }
                Outcome::no_change("already assigned")
            }
            Some(a) if reset => {
                match gdap
                    .update_access_assignment(relationship_id, a, roles)
                    .await
                {
                    Ok(_) => Outcome::succeeded("roles corrected"),
                    Err(e) => Outcome::failed(&e),
                }
            }
            Some(_) => Outcome::no_change("assigned with other roles (reset to correct)"),
            None => match gdap
                .create_access_assignment(&rel, &crate::model::GroupId::from(group.as_str()), roles)
                .await
            {
                Ok(a) => {
                    if a.status != Some(crate::model::AssignmentStatus::Active) {
                        pending.push(name.to_owned());
                    }
                    Outcome::succeeded("assigned")
                }
                Err(e) => Outcome::failed(&e),
            },
        };
        report.push(step, outcome);
    }
    if reset {
        for a in &existing {
            let Some(g) = a.group_id() else { continue };
            if wanted.contains_key(&g.to_ascii_lowercase()) {
                continue;
            }
            let outcome = match gdap.delete_access_assignment(relationship_id, a).await {
                Ok(()) => Outcome::succeeded("removed (not in the mapping)"),
                Err(e) => Outcome::failed(&e),
            };
            report.push(format!("assignment {g}"), outcome);
        }
    }
    Ok(Applied { report, pending })
}

/// Turns on auto-extend (`P180D`) for every active relationship that lacks it and does
/// not include Global Administrator (which cannot auto-extend: reported as skipped).
pub async fn enable_auto_extend(partner: &TenantGraph) -> Result<Report, Error> {
    let gdap = partner.gdap();
    let active = gdap.relationships().query(super::active_query()).await?;
    let mut report = Report::new();
    for r in active {
        let name = r.display_name.clone().unwrap_or_else(|| r.id.clone());
        let outcome = if r.auto_extends() {
            Outcome::no_change("already auto-extends")
        } else if r.includes_global_admin() {
            Outcome::skipped("includes Global Administrator, which cannot auto-extend")
        } else {
            let patch = RelationshipPatch {
                auto_extend_duration: Some(AutoExtend::SixMonths.as_str().into()),
                ..Default::default()
            };
            match gdap.update_relationship(&r, &patch).await {
                Ok(_) => Outcome::succeeded("auto-extends by 180 days"),
                Err(e) => Outcome::failed(&e),
            }
        };
        report.push(name, outcome);
    }
    Ok(report)
}

/// Removes Global Administrator from every active relationship that includes it.
pub async fn remove_global_admin(partner: &TenantGraph) -> Result<Report, Error> {
    let gdap = partner.gdap();
    let active = gdap.relationships().query(super::active_query()).await?;
    let mut report = Report::new();
    for r in active.iter().filter(|r| r.includes_global_admin()) {
        let name = r.display_name.clone().unwrap_or_else(|| r.id.clone());
        let rest: Vec<String> = roles_of(r.access_details.as_ref())
            .into_iter()
            .filter(|id| !id.eq_ignore_ascii_case(roles::GLOBAL_ADMINISTRATOR))
            .collect();
        let outcome = if rest.is_empty() {
            Outcome::skipped("Global Administrator is its only role: terminate it instead")
        } else {
            let patch = RelationshipPatch {
                access_details: Some(AccessDetails::of(rest)),
                ..Default::default()
            };
            match gdap.update_relationship(r, &patch).await {
                Ok(_) => Outcome::succeeded("Global Administrator removed"),
                Err(e) => Outcome::failed(&e),
            }
        };
        report.push(name, outcome);
    }
    if report.steps.is_empty() {
        report.push(
            "relationships",
            Outcome::no_change("no active relationship includes Global Administrator"),
        );
    }
    Ok(report)
}
