//! The organization, domains, licences (SKUs) and directory roles.

use cipp_core::{ApiRequest, Audience, Error, TenantId};

use crate::model::{Domain, Organization, SubscribedSku};
use crate::op::{unit, GraphOp};
use crate::users::is_guid;

/// The organization object (a one-item collection).
pub fn organization(tenant: &TenantId) -> ApiRequest {
    ApiRequest::get(tenant.clone(), Audience::Graph, "/v1.0/organization")
        .operation("get organization")
}

/// The tenant's domains.
pub fn domains(tenant: &TenantId) -> ApiRequest {
    ApiRequest::get(tenant.clone(), Audience::Graph, "/v1.0/domains").operation("list domains")
}

/// Removes a member from a built-in directory role, named by its role template id
/// (`DELETE /directoryRoles(roleTemplateId='…')/members/{id}/$ref`). Both ids must be
/// GUIDs: nothing the caller passes is put into the URL unchecked.
pub fn remove_role_member(
    tenant: &TenantId,
    role_template_id: &str,
    member_id: &str,
) -> Result<GraphOp<()>, Error> {
    for (field, id) in [
        ("role template id", role_template_id),
        ("member", member_id),
    ] {
        if !is_guid(id) {
            return Err(Error::invalid_input(
                field,
                format!("`{id}` is not an object id (GUID)"),
            ));
        }
    }
    let r = ApiRequest::delete(
        tenant.clone(),
        Audience::Graph,
        format!(
            "/v1.0/directoryRoles(roleTemplateId='{}')/members/{}/$ref",
            role_template_id.to_ascii_lowercase(),
            member_id.to_ascii_lowercase()
        ),
    )
    .operation("remove directory role member");
    Ok(GraphOp::new(r, unit))
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
