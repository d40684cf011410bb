//! The organization, domains, licences (SKUs) and directory roles.

use cipp_core::{ApiRequest, Error, TenantId};
use http::Method;

use crate::model::{Domain, Organization, RoleEligibility, SubscribedSku};
use crate::op::{self, GraphOp};

/// The organization object (a one-item collection).
pub fn organization(tenant: &TenantId) -> ApiRequest {
    op::request(
        tenant,
        Method::GET,
        "/v1.0/organization",
        "get organization",
    )
}

/// The tenant's domains.
pub fn domains(tenant: &TenantId) -> ApiRequest {
    op::request(tenant, Method::GET, "/v1.0/domains", "list domains")
}

/// Removes a member from a built-in directory role, named by its role template id
/// (`DELETE /directoryRoles(roleTemplateId='…')/members/{id}/$ref`). Both ids must be
/// GUIDs: nothing the caller passes is put into the URL unchecked.
pub fn remove_role_member(
    tenant: &TenantId,
    role_template_id: &str,
    member_id: &str,
) -> Result<GraphOp<()>, Error> {
    let role = op::guid("role template id", role_template_id, "an object id (GUID)")?;
    let member = op::guid("member", member_id, "an object id (GUID)")?;
    let path = format!("/v1.0/directoryRoles(roleTemplateId='{role}')/members/{member}/$ref");
    Ok(op::delete(tenant, path, "remove directory role member"))
}

/// The eligible (PIM) role assignments of one principal (a user or a role-assignable
/// group), `GET /roleManagement/directory/roleEligibilityScheduleInstances?$filter=principalId eq '…'`.
pub fn role_eligibilities(tenant: &TenantId, principal_id: &str) -> Result<ApiRequest, Error> {
    let id = op::guid("principalId", principal_id, "an object id (GUID)")?;
    Ok(op::request(
        tenant,
        Method::GET,
        "/v1.0/roleManagement/directory/roleEligibilityScheduleInstances",
        "list role eligibilities",
    )
    .query("$filter", &format!("principalId eq '{id}'")))
}

/// Directory reads in one tenant (`graph.tenant(&t).directory()`).
#[derive(Clone, Debug)]
pub struct Directory(pub(crate) crate::TenantGraph);

impl Directory {
    /// The tenant's organization object.
    pub async fn organization(&self) -> Result<Organization, Error> {
        let mut orgs: Vec<Organization> = self.0.list_of(Ok(organization(self.0.id()))).await?;
        orgs.pop().ok_or_else(|| {
            Error::protocol(
                Some(self.0.id().clone()),
                "get organization",
                "Graph returned no organization object",
            )
        })
    }
    /// The tenant's domains.
    pub fn domains(&self) -> crate::List<Domain> {
        self.0.list_of(Ok(domains(self.0.id())))
    }
    /// The tenant's licences (`subscribedSkus`).
    pub fn subscribed_skus(&self) -> crate::List<SubscribedSku> {
        self.0
            .list_of(Ok(crate::users::subscribed_skus(self.0.id())))
    }
    /// The eligible (PIM) role assignments of a user or role-assignable group.
    pub fn role_eligibilities(&self, principal_id: &str) -> crate::List<RoleEligibility> {
        self.0
            .list_of(role_eligibilities(self.0.id(), principal_id))
    }
    /// Removes a member from a built-in directory role (by role template id).
    pub fn remove_role_member(
        &self,
        role_template_id: &str,
        member: &crate::model::DirectoryObjectId,
    ) -> crate::Call<()> {
        self.0.call(remove_role_member(
            self.0.id(),
            role_template_id,
            member.as_str(),
        ))
    }
}
