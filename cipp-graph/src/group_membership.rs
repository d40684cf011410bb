//! Which groups a user (or a group) is in, through nesting, and which groups it may join
//! through PIM for Groups: the reads behind GDAP's "is the service account really in the
//! mapped groups" check, made in the **partner** tenant.
//!
//! - `GET /users/{id}/transitiveMemberOf/microsoft.graph.group` — every group the user is
//!   in, directly or through nested groups (one paged request for all groups, rather than
//!   one `transitiveMembers` listing per group);
//! - `GET /groups/{id}/transitiveMemberOf/microsoft.graph.group` — the groups above a
//!   group (sent in `$batch` for several groups by [`GroupMembership::groups_above`]);
//! - `GET /identityGovernance/privilegedAccess/group/eligibilityScheduleInstances` with a
//!   `$filter` on `principalId` or `groupId` (Graph requires one of them): memberships a
//!   principal is eligible for but has not activated.
//!
//! ```
//! use cipp_core::TenantId;
//! use cipp_graph::group_membership::{self, EligibilityOf};
//! let t = TenantId::parse("partner.onmicrosoft.com")?;
//! let r = group_membership::eligibility_instances(
//!     &t,
//!     &EligibilityOf::Principal("0be2b0e8-8f6a-4b38-9e5c-3c9e6b1a2f11".into()),
//! )?;
//! assert!(r.target().contains("principalId%20eq%20%270be2b0e8"));
//! assert!(group_membership::eligibility_instances(&t, &EligibilityOf::Group("x".into())).is_err());
//! # Ok::<(), cipp_core::Error>(())
//! ```

use std::collections::BTreeMap;

use cipp_core::{ApiRequest, ApiResponse, Error, TenantId};
use serde::{Deserialize, Serialize};

use crate::batch::BatchOptions;
use crate::model::{DirectoryObject, Extra};
use crate::odata::{quote, Query};
use crate::op::{self, GraphOp};
use crate::users::UserRef;

const ELIGIBILITY: &str =
    "/v1.0/identityGovernance/privilegedAccess/group/eligibilityScheduleInstances";

/// Lists the groups `user` is in, directly or through nested groups
/// (`GET /users/{id}/transitiveMemberOf/microsoft.graph.group`), paged.
pub fn user_groups(tenant: &TenantId, user: &UserRef, query: &Query) -> Result<ApiRequest, Error> {
    op::list(
        tenant,
        format!(
            "/v1.0{}/transitiveMemberOf/microsoft.graph.group",
            user.path()
        ),
        "list transitive group memberships",
        query,
    )
}

/// Lists the groups `group` is in, directly or through nesting
/// (`GET /groups/{id}/transitiveMemberOf/microsoft.graph.group`), paged. Refused locally
/// unless `group` is a GUID.
pub fn group_groups(tenant: &TenantId, group: &str, query: &Query) -> Result<ApiRequest, Error> {
    let id = op::guid("group", group, "a group object id (GUID)")?;
    op::list(
        tenant,
        format!("/v1.0/groups/{id}/transitiveMemberOf/microsoft.graph.group"),
        "list groups above a group",
        query,
    )
}

/// Whose PIM for Groups eligibilities to list: Graph requires a filter on one of them.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EligibilityOf {
    /// The eligibilities of one principal (a user or a group), by object id.
    Principal(String),
    /// The eligibilities into one group, by object id.
    Group(String),
}

/// Lists PIM for Groups eligibility instances (`privilegedAccessGroupEligibilityScheduleInstance`)
/// of a principal or into a group, paged. Refused locally unless the id is a GUID.
pub fn eligibility_instances(tenant: &TenantId, of: &EligibilityOf) -> Result<ApiRequest, Error> {
    let filter = match of {
        EligibilityOf::Principal(p) => {
            let p = op::guid("principalId", p, "a principal object id (GUID)")?;
            format!("principalId eq {}", quote(&p))
        }
        EligibilityOf::Group(g) => {
            let g = op::guid("groupId", g, "a group object id (GUID)")?;
            format!("groupId eq {}", quote(&g))
        }
    };
    Ok(op::request(
        tenant,
        http::Method::GET,
        ELIGIBILITY,
        "list PIM group eligibility instances",
    )
    .query("$filter", &filter))
}

/// One eligible membership or ownership of a group through PIM for Groups
/// (`privilegedAccessGroupEligibilityScheduleInstance`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct GroupEligibility {
    /// Id.
    pub id: Option<String>,
    /// `member` or `owner`.
    pub access_id: Option<String>,
    /// The group the principal may join.
    pub group_id: Option<String>,
    /// The eligible principal (a user or a group).
    pub principal_id: Option<String>,
    /// `direct`, or `group` when it comes from a group's eligibility.
    pub member_type: Option<String>,
    /// The schedule it comes from.
    pub eligibility_schedule_id: Option<String>,
    /// Since when.
    #[serde(
        with = "crate::model::timestamp",
        skip_serializing_if = "Option::is_none"
    )]
    pub start_date_time: Option<chrono::DateTime<chrono::Utc>>,
    /// Until when (absent: permanent).
    #[serde(
        with = "crate::model::timestamp",
        skip_serializing_if = "Option::is_none"
    )]
    pub end_date_time: Option<chrono::DateTime<chrono::Utc>>,
    /// Everything else the service sent.
    #[serde(flatten, skip_deserializing)]
    pub extra: Extra,
}
cipp_core::keep_unknown_fields!(GroupEligibility, extra);

impl GroupEligibility {
    /// Whether it is an eligible membership (not an ownership).
    pub fn is_member(&self) -> bool {
        self.access_id
            .as_deref()
            .is_none_or(|a| a.eq_ignore_ascii_case("member"))
    }
}

fn value_list(r: &ApiResponse) -> Result<Vec<DirectoryObject>, Error> {
    #[derive(Deserialize)]
    struct Page {
        #[serde(default)]
        value: Vec<DirectoryObject>,
    }
    op::json::<Page>(r).map(|p| p.value)
}

/// Group memberships through nesting and PIM eligibility in one tenant
/// (`graph.tenant(&partner).group_membership()`).
#[derive(Clone, Debug)]
pub struct GroupMembership(pub(crate) crate::TenantGraph);

impl crate::TenantGraph {
    /// Transitive group memberships and PIM for Groups eligibilities.
    pub fn group_membership(&self) -> GroupMembership {
        GroupMembership(self.clone())
    }
}

impl GroupMembership {
    /// Every group `user` is in, directly or through nesting.
    pub fn user_groups(&self, user: &UserRef) -> crate::List<DirectoryObject> {
        let user = user.clone();
        self.0.list(move |t, q| user_groups(t, &user, q))
    }
    /// Every group `group` is in, through nesting.
    pub fn group_groups(&self, group: &crate::model::GroupId) -> crate::List<DirectoryObject> {
        let group = group.clone();
        self.0.list(move |t, q| group_groups(t, group.as_str(), q))
    }
    /// PIM for Groups eligibility instances of a principal or into a group.
    pub fn eligibilities(&self, of: &EligibilityOf) -> crate::List<GroupEligibility> {
        self.0.list_of(eligibility_instances(self.0.id(), of))
    }
    /// The groups above each of `groups` (through nesting), read in `$batch` (20 per
    /// request, next links followed): group id → the groups it is in. An item's failure
    /// fails the whole read.
    pub async fn groups_above(
        &self,
        groups: &[String],
    ) -> Result<BTreeMap<String, Vec<DirectoryObject>>, Error> {
        let query = Query::new().select(["id", "displayName"]);
        let mut ops = Vec::with_capacity(groups.len());
        for g in groups {
            ops.push(GraphOp::new(
                group_groups(self.0.id(), g, &query)?,
                value_list,
            ));
        }
        if ops.is_empty() {
            return Ok(BTreeMap::new());
        }
        let options = BatchOptions {
            follow_next_links: true,
            ..BatchOptions::default()
        };
        let results = crate::batch::run(self.0.pipeline(), self.0.id(), ops, &options).await?;
        let mut out = BTreeMap::new();
        for (g, r) in groups.iter().zip(results) {
            out.insert(g.to_ascii_lowercase(), r?);
        }
        Ok(out)
    }
}
