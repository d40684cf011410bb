//! Group operations as request values.

use cipp_core::request::encode_component;
use cipp_core::{ApiRequest, Error, TenantId};
use http::Method;
use serde_json::json;

use crate::model::{Group, NewGroup};
use crate::odata::Query;
use crate::op::{self, guid, json, request, unit, with_body, GraphOp};
use crate::users::directory_object_ref;

/// Most members Graph accepts in one `members@odata.bind` request.
pub const BIND_CHUNK: usize = 20;

fn group_path(id: &str) -> Result<String, Error> {
    let id = guid("group", id, "a group object id (GUID)")?;
    Ok(format!("/v1.0/groups/{}", encode_component(&id)))
}

fn member_id(id: &str) -> Result<String, Error> {
    guid("member", id, "an object id (GUID)")
}

/// Lists groups.
pub fn list(tenant: &TenantId, query: &Query) -> Result<ApiRequest, Error> {
    op::list(tenant, "/v1.0/groups", "list groups", query)
}

/// Gets a group.
pub fn get(tenant: &TenantId, id: &str, select: &[&str]) -> Result<GraphOp<Group>, Error> {
    let r = request(tenant, Method::GET, group_path(id)?, "get group");
    Ok(GraphOp::new(op::select(r, select), json))
}

/// Creates a group (201 + the group), after checking Graph's rules: display name ≤ 256,
/// mail nickname ≤ 64 ASCII characters without spaces or `@ () \ [] " ; : . <> ,`,
/// at most 20 initial members and owners, role-assignable only for security groups.
pub fn create(tenant: &TenantId, group: &NewGroup) -> Result<GraphOp<Group>, Error> {
    if group.display_name.trim().is_empty() || group.display_name.chars().count() > 256 {
        return Err(Error::invalid_input(
            "displayName",
            "must be 1–256 characters",
        ));
    }
    let bad = |c: char| !c.is_ascii() || c.is_ascii_control() || " @()\\[]\";:.<>,".contains(c);
    if group.mail_nickname.is_empty()
        || group.mail_nickname.len() > 64
        || group.mail_nickname.chars().any(bad)
    {
        return Err(Error::invalid_input(
            "mailNickname",
            "must be 1–64 ASCII characters without spaces or @ () \\ [] \" ; : . < > ,",
        ));
    }
    if group.members_bind.len() > BIND_CHUNK || group.owners_bind.len() > BIND_CHUNK {
        return Err(Error::invalid_input(
            "members",
            "at most 20 members and 20 owners at creation; add the rest afterwards",
        ));
    }
    if group.is_assignable_to_role == Some(true) && !group.security_enabled {
        return Err(Error::invalid_input(
            "isAssignableToRole",
            "only security-enabled groups can be role-assignable",
        ));
    }
    if group.membership_rule.is_some()
        && !group.group_types.iter().any(|t| t == "DynamicMembership")
    {
        return Err(Error::invalid_input(
            "membershipRule",
            "a rule needs the DynamicMembership group type",
        ));
    }
    with_body(
        tenant,
        Method::POST,
        "/v1.0/groups",
        "create group",
        group,
        json,
    )
}

/// Adds one member (`members/$ref`; Graph answers 400 if already a member).
pub fn add_member(
    tenant: &TenantId,
    group: &str,
    member: &str,
    graph_base: &str,
) -> Result<GraphOp<()>, Error> {
    let member = member_id(member)?;
    let path = format!("{}/members/$ref", group_path(group)?);
    let body = json!({"@odata.id": directory_object_ref(graph_base, &member)});
    with_body(tenant, Method::POST, path, "add group member", &body, unit)
}

/// Removes one member (`members/{id}/$ref`: the `$ref` matters — without it Graph deletes
/// the member object itself).
pub fn remove_member(tenant: &TenantId, group: &str, member: &str) -> Result<GraphOp<()>, Error> {
    let member = member_id(member)?;
    let path = format!("{}/members/{member}/$ref", group_path(group)?);
    Ok(op::delete(tenant, path, "remove group member"))
}

/// Adds many members through `members@odata.bind`, one PATCH per 20 (each all-or-nothing).
pub fn add_members_bulk(
    tenant: &TenantId,
    group: &str,
    members: &[String],
    graph_base: &str,
) -> Result<Vec<GraphOp<()>>, Error> {
    if members.is_empty() {
        return Err(Error::invalid_input("members", "no members to add"));
    }
    let path = group_path(group)?;
    let ids: Vec<String> = members
        .iter()
        .map(|m| member_id(m))
        .collect::<Result<_, _>>()?;
    ids.chunks(BIND_CHUNK)
        .map(|chunk| {
            let binds: Vec<String> = chunk
                .iter()
                .map(|id| directory_object_ref(graph_base, id))
                .collect();
            // Not idempotent: a member already added makes the repeat fail.
            let r = request(tenant, Method::PATCH, path.clone(), "add group members")
                .json(&json!({"members@odata.bind": binds}))?;
            Ok(GraphOp::new(r, unit))
        })
        .collect()
}

/// Lists direct members.
pub fn members(tenant: &TenantId, group: &str, query: &Query) -> Result<ApiRequest, Error> {
    let path = format!("{}/members", group_path(group)?);
    op::list(tenant, path, "list group members", query)
}

/// Lists owners.
pub fn owners(tenant: &TenantId, group: &str, query: &Query) -> Result<ApiRequest, Error> {
    let path = format!("{}/owners", group_path(group)?);
    op::list(tenant, path, "list group owners", query)
}

/// Deletes a group (Microsoft 365 groups go to the recycle bin; security groups do not).
pub fn delete(tenant: &TenantId, group: &str) -> Result<GraphOp<()>, Error> {
    Ok(op::delete(tenant, group_path(group)?, "delete group"))
}

/// What a group template may change on an existing group (CIPP's `GroupTemplate` patches
/// only these): the description and the dynamic membership rule.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct GroupPatch {
    /// New description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// New dynamic membership rule (only for a dynamic group).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub membership_rule: Option<String>,
}

impl GroupPatch {
    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        self.description.is_none() && self.membership_rule.is_none()
    }
}

/// Updates a group's description and membership rule (`PATCH /groups/{id}`, 204); an
/// empty patch, a description over 1,024 characters or an empty rule is refused before
/// sending.
pub fn update(tenant: &TenantId, group: &str, patch: &GroupPatch) -> Result<GraphOp<()>, Error> {
    if patch.is_empty() {
        return Err(Error::invalid_input(
            "group",
            "nothing to change: give a description or a membership rule",
        ));
    }
    if patch
        .description
        .as_ref()
        .is_some_and(|d| d.chars().count() > 1024)
    {
        return Err(Error::invalid_input(
            "description",
            "must be at most 1,024 characters",
        ));
    }
    if patch
        .membership_rule
        .as_ref()
        .is_some_and(|r| r.trim().is_empty())
    {
        return Err(Error::invalid_input(
            "membershipRule",
            "must not be empty; a group without a rule is not dynamic",
        ));
    }
    op::patch(tenant, group_path(group)?, "update group", patch)
}

/// Group operations in one tenant (`graph.tenant(&t).groups()`).
#[derive(Clone, Debug)]
pub struct Groups(pub(crate) crate::TenantGraph);

impl Groups {
    /// Lists groups.
    pub fn list(&self) -> crate::List<Group> {
        self.0.list(list)
    }
    /// Gets a group.
    pub fn get(&self, group: &crate::model::GroupId) -> crate::Call<Group> {
        self.0.call(get(self.0.id(), group.as_str(), &[]))
    }
    /// Creates a group.
    pub fn create(&self, group: &NewGroup) -> crate::Call<Group> {
        self.0.call(create(self.0.id(), group))
    }
    /// Updates a group's description and membership rule.
    pub fn update(&self, group: &crate::model::GroupId, patch: &GroupPatch) -> crate::Call<()> {
        self.0.call(update(self.0.id(), group.as_str(), patch))
    }
    /// Deletes a group (into the recycle bin for Microsoft 365 groups).
    pub fn delete(&self, group: &crate::model::GroupId) -> crate::Call<()> {
        self.0.call(delete(self.0.id(), group.as_str()))
    }
    /// Direct members.
    pub fn members(
        &self,
        group: &crate::model::GroupId,
    ) -> crate::List<crate::model::DirectoryObject> {
        self.related(group, members)
    }
    /// Owners.
    pub fn owners(
        &self,
        group: &crate::model::GroupId,
    ) -> crate::List<crate::model::DirectoryObject> {
        self.related(group, owners)
    }
    /// A listing of the group's members or owners, built by `build`.
    fn related(
        &self,
        group: &crate::model::GroupId,
        build: fn(&TenantId, &str, &Query) -> Result<ApiRequest, Error>,
    ) -> crate::List<crate::model::DirectoryObject> {
        let group = group.clone();
        self.0.list(move |t, q| build(t, group.as_str(), q))
    }

    /// Reads a group and refuses one whose membership Graph cannot change: distribution
    /// lists and mail-enabled security groups (Exchange manages them), dynamic and
    /// directory-synced groups — naming the reason.
    pub async fn graph_managed(&self, group: &crate::model::GroupId) -> Result<Group, Error> {
        let g = self
            .0
            .call(get(
                self.0.id(),
                group.as_str(),
                &[
                    "id",
                    "displayName",
                    "groupTypes",
                    "mailEnabled",
                    "securityEnabled",
                    "onPremisesSyncEnabled",
                ],
            ))
            .await?;
        if !g.membership_managed_by_graph() {
            let name = g
                .display_name
                .clone()
                .unwrap_or_else(|| group.as_str().to_owned());
            let why = if g.is_dynamic() {
                "its membership is dynamic (rule-based)".to_owned()
            } else if g.on_premises_sync_enabled == Some(true) {
                "it is synchronised from on-premises AD; change it there".to_owned()
            } else {
                format!(
                    "it is a {:?} group whose membership Exchange manages; use the Exchange client",
                    g.kind()
                )
            };
            return Err(Error::invalid_input(
                "group",
                format!("cannot change members of `{name}` through Graph: {why}"),
            ));
        }
        Ok(g)
    }

    /// Adds a member, after [`Groups::graph_managed`] accepted the group.
    pub async fn add_member(
        &self,
        group: &crate::model::GroupId,
        member: &crate::model::DirectoryObjectId,
    ) -> Result<(), Error> {
        let op = add_member(self.0.id(), group.as_str(), member.as_str(), self.0.base())?;
        self.graph_managed(group).await?;
        self.0.call(Ok(op)).await
    }

    /// Removes a member, after [`Groups::graph_managed`] accepted the group.
    pub async fn remove_member(
        &self,
        group: &crate::model::GroupId,
        member: &crate::model::DirectoryObjectId,
    ) -> Result<(), Error> {
        let op = remove_member(self.0.id(), group.as_str(), member.as_str())?;
        self.graph_managed(group).await?;
        self.0.call(Ok(op)).await
    }

    /// Adds many members, [`BIND_CHUNK`] per request; one outcome per chunk.
    pub async fn add_members_bulk(
        &self,
        group: &crate::model::GroupId,
        members: &[String],
    ) -> Result<cipp_core::Report, Error> {
        let ops = add_members_bulk(self.0.id(), group.as_str(), members, self.0.base())?;
        self.graph_managed(group).await?;
        let mut report = cipp_core::Report::new();
        for (i, (op, chunk)) in ops.into_iter().zip(members.chunks(BIND_CHUNK)).enumerate() {
            let r = self.0.call(Ok(op)).await;
            report.push(
                format!(
                    "members {}–{}",
                    i * BIND_CHUNK + 1,
                    i * BIND_CHUNK + chunk.len()
                ),
                cipp_core::Outcome::from_result(&r, format!("added {} members", chunk.len())),
            );
        }
        Ok(report)
    }
}
