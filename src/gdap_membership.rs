//! Which GDAP roles a partner account (CIPP's service account, a technician) really has in
//! each customer tenant: a role works only when the account is a member of a partner
//! security group holding it through an **active** access assignment — directly or
//! through nested groups (Microsoft honours nesting for GDAP). A membership the account
//! is only **eligible** for through PIM for Groups (not activated) is reported apart: the
//! role works after activation, not now.
//!
//! Requests, all in the partner tenant: the active relationships and their access
//! assignments (through [`GdapActions`], so `Tenant.Relationship.Read` is checked), then
//! for the account one `transitiveMemberOf` listing (every group at any depth — fewer
//! requests than one `transitiveMembers` listing per mapped group), one `memberOf`
//! listing (to tell direct from nested), one PIM for Groups eligibility listing of the
//! account, and the groups above each eligible group in one `$batch` (activating a
//! membership in a group nested in a mapped group grants the mapped group's roles).
//! Customers outside the principal's scope or excluded from the fleet are left out.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), cipp::Error> {
//! let sim = cipp::sim::Simulator::demo();
//! let cipp = cipp::Cipp::builder()
//!     .transport(std::sync::Arc::new(sim.clone()))
//!     .credentials(sim.demo_credentials())
//!     .partner_tenant(cipp::sim::scenario::DEMO_PARTNER)?
//!     .build()?;
//! let partner = cipp.tenant(&cipp::TenantId::parse(cipp::sim::scenario::DEMO_PARTNER)?)?;
//! let gdap = cipp::gdap::GdapActions::new(&partner);
//! let report = cipp::gdap_membership::account_access(&gdap, "sam@msp.example").await?;
//! // The demo's relationships have no access assignments: every role is missing.
//! assert_eq!(report.customers.len(), 3);
//! assert!(report.customers.iter().all(|c| c.active.is_empty() && !c.missing.is_empty()));
//! # Ok(()) }
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::future::IntoFuture;

use cipp_core::{Error, TenantId};
use cipp_graph::gdap::{self, roles};
use cipp_graph::group_membership::EligibilityOf;
use cipp_graph::model::{AssignmentStatus, DirectoryObject};
use cipp_graph::users::UserRef;
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;

use crate::gdap::GdapActions;

/// How the account stands towards one group holding a role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum Membership {
    /// A direct member.
    Direct,
    /// A member through nested groups.
    Nested,
    /// Eligible through PIM for Groups, not activated.
    Eligible,
    /// Not a member.
    NotMember,
}

/// A partner group holding a role through an active access assignment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupGrant {
    /// The group's object id.
    pub group_id: String,
    /// Its name, when the account's memberships named it.
    pub group_name: Option<String>,
    /// The account's membership.
    pub membership: Membership,
}

/// One role of a customer and the groups that hold it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleGrant {
    /// The role's name (its id when not a known built-in role).
    pub name: String,
    /// The role's template id.
    pub role_definition_id: String,
    /// The groups holding it through active assignments (empty: the role is not mapped).
    pub groups: Vec<GroupGrant>,
}

/// What the account has in one customer tenant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CustomerRoles {
    /// The customer's tenant id.
    pub tenant_id: String,
    /// The customer's name.
    pub display_name: Option<String>,
    /// Its active relationships.
    pub relationships: Vec<String>,
    /// Roles the account has now (a member, directly or nested, of a group holding them).
    pub active: Vec<RoleGrant>,
    /// Roles the account can activate through PIM for Groups, not held now.
    pub eligible: Vec<RoleGrant>,
    /// Roles granted by a relationship that the account does not get (not mapped to a
    /// group, or mapped to groups it is not in).
    pub missing: Vec<RoleGrant>,
}

/// The account's GDAP roles in every customer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct MembershipReport {
    /// The account as given.
    pub account: String,
    /// Its object id in the partner tenant.
    pub account_id: String,
    /// One entry per customer with an active relationship, by name.
    pub customers: Vec<CustomerRoles>,
}

/// The account's groups: direct ones, every one (nested included), eligible ones (and the
/// groups above them), with names.
struct Groups {
    direct: BTreeSet<String>,
    all: BTreeSet<String>,
    eligible: BTreeSet<String>,
    names: BTreeMap<String, String>,
}

fn ids(objects: &[DirectoryObject], names: &mut BTreeMap<String, String>) -> BTreeSet<String> {
    objects
        .iter()
        .filter(|o| {
            o.odata_type
                .as_deref()
                .is_none_or(|t| t.eq_ignore_ascii_case("#microsoft.graph.group"))
        })
        .filter_map(|o| {
            let id = o.id.as_deref()?.to_ascii_lowercase();
            if let Some(n) = &o.display_name {
                names.insert(id.clone(), n.clone());
            }
            Some(id)
        })
        .collect()
}

async fn account_groups(gdap: &GdapActions, user: &UserRef) -> Result<(String, Groups), Error> {
    let graph = gdap.handle().graph();
    let account_id = match user {
        UserRef::Id(id) => id.as_str().to_ascii_lowercase(),
        UserRef::Upn(_) => graph
            .users()
            .get(user)
            .select(["id"])
            .await?
            .id
            .map(|i| i.as_str().to_ascii_lowercase())
            .ok_or_else(|| {
                Error::protocol(Some(graph.id().clone()), "get user", "the user has no id")
            })?,
    };
    let membership = graph.group_membership();
    let (all, direct, eligibilities) = futures::join!(
        membership
            .user_groups(user)
            .select(["id", "displayName"])
            .into_future(),
        graph
            .users()
            .member_of(user, false)
            .select(["id", "displayName"])
            .into_future(),
        membership
            .eligibilities(&EligibilityOf::Principal(account_id.clone()))
            .into_future(),
    );
    let mut names = BTreeMap::new();
    let all = ids(&all?, &mut names);
    let direct = ids(&direct?, &mut names);
    let now = gdap.handle().cipp().clock().now();
    let eligible_groups: Vec<String> = eligibilities?
        .iter()
        .filter(|e| e.is_member())
        .filter(|e| e.end_date_time.is_none_or(|end| end > now))
        .filter_map(|e| e.group_id.as_deref().map(str::to_ascii_lowercase))
        .filter(|g| !all.contains(g))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut eligible: BTreeSet<String> = eligible_groups.iter().cloned().collect();
    for above in membership.groups_above(&eligible_groups).await?.values() {
        eligible.extend(ids(above, &mut names));
    }
    eligible.retain(|g| !all.contains(g));
    Ok((
        account_id,
        Groups {
            direct,
            all,
            eligible,
            names,
        },
    ))
}

/// The GDAP roles `account` (a user id or UPN in the partner tenant) has in every
/// customer with an active relationship: active, eligible only (PIM for Groups), and
/// missing. Only active access assignments count.
pub async fn account_access(gdap: &GdapActions, account: &str) -> Result<MembershipReport, Error> {
    let user = UserRef::parse(account)?;
    let active = gdap.relationships_matching(gdap::active_query()).await?;
    let concurrency = gdap.handle().cipp().concurrency().max(1);
    // Group → roles, per relationship, from its active assignments.
    // Futures made first, so the stream holds no closure (the future stays `Send`).
    let reads: Vec<_> = active.iter().map(|r| assigned_groups(gdap, r)).collect();
    let assignments: BTreeMap<String, Vec<(String, Vec<String>)>> = futures::stream::iter(reads)
        .buffer_unordered(concurrency)
        .try_collect()
        .await?;
    let (account_id, groups) = account_groups(gdap, &user).await?;
    let cipp = gdap.handle().cipp();
    let mut customers = Vec::new();
    for c in gdap::customers(&active) {
        let visible = TenantId::parse(&c.tenant_id)
            .ok()
            .is_some_and(|t| cipp.tenant(&t).is_ok());
        if !visible {
            continue;
        }
        // Role → the groups holding it.
        let mut by_role: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for r in active.iter().filter(|r| c.relationships.contains(&r.id)) {
            for role in r.access_details.clone().unwrap_or_default().unified_roles {
                by_role
                    .entry(role.role_definition_id.to_ascii_lowercase())
                    .or_default();
            }
            for (g, roles) in assignments.get(&r.id).into_iter().flatten() {
                for role in roles {
                    by_role.entry(role.clone()).or_default().insert(g.clone());
                }
            }
        }
        let mut out = CustomerRoles {
            tenant_id: c.tenant_id.clone(),
            display_name: c.display_name.clone(),
            relationships: c.relationships.clone(),
            active: Vec::new(),
            eligible: Vec::new(),
            missing: Vec::new(),
        };
        for (role, holders) in by_role {
            let grants: Vec<GroupGrant> = holders
                .iter()
                .map(|g| GroupGrant {
                    group_id: g.clone(),
                    group_name: groups.names.get(g).cloned(),
                    membership: if groups.direct.contains(g) {
                        Membership::Direct
                    } else if groups.all.contains(g) {
                        Membership::Nested
                    } else if groups.eligible.contains(g) {
                        Membership::Eligible
                    } else {
                        Membership::NotMember
                    },
                })
                .collect();
            let held = |m: Membership| grants.iter().any(|g| g.membership == m);
            let grant = RoleGrant {
                name: roles::role_name(&role).unwrap_or(&role).to_owned(),
                role_definition_id: role.clone(),
                groups: grants.clone(),
            };
            if held(Membership::Direct) || held(Membership::Nested) {
                out.active.push(grant);
            } else if held(Membership::Eligible) {
                out.eligible.push(grant);
            } else {
                out.missing.push(grant);
            }
        }
        customers.push(out);
    }
    Ok(MembershipReport {
        account: account.to_owned(),
        account_id,
        customers,
    })
}

/// Group → roles of relationship `r`'s active assignments.
async fn assigned_groups(
    gdap: &GdapActions,
    r: &cipp_graph::model::DelegatedAdminRelationship,
) -> Result<(String, Vec<(String, Vec<String>)>), Error> {
    let list = gdap.access_assignments(&r.id).await?;
    let groups = list
        .iter()
        .filter(|a| a.status == Some(AssignmentStatus::Active))
        .filter_map(|a| {
            let g = a.group_id()?.to_ascii_lowercase();
            let roles = a
                .access_details
                .clone()
                .unwrap_or_default()
                .unified_roles
                .into_iter()
                .map(|r| r.role_definition_id.to_ascii_lowercase())
                .collect();
            Some((g, roles))
        })
        .collect();
    Ok((r.id.clone(), groups))
}
