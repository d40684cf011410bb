//! What an application is allowed in a tenant, and granting it: delegated permission
//! grants (`oauth2PermissionGrants`, admin consent for all users) and app role
//! assignments (application permissions) of a client service principal, plus the
//! resource's app roles by their value (`User.Read.All` → its id). This is what CIPP's
//! CPV refresh pushes into a customer tenant after the partner application is consented.
//!
//! Listing a client's delegated grants is [`crate::audit::oauth2_grants`]; the service
//! principal itself is [`crate::applications`].
//!
//! ```
//! use cipp_core::TenantId;
//! use cipp_graph::consent;
//! let t = TenantId::parse("contoso.onmicrosoft.com")?;
//! let client = "5b3f0f8e-5d2a-4a4e-9a3c-2f1c3d4e5f60";
//! let graph = "9028d19c-26a9-4809-8e3f-20ff73e2d75e";
//! let op = consent::create_grant(&t, client, graph, &["Directory.ReadWrite.All".into()])?;
//! assert_eq!(op.request().path(), "/v1.0/oauth2PermissionGrants");
//! // Nothing to grant is refused before anything is sent.
//! assert!(consent::create_grant(&t, client, graph, &[]).is_err());
//! # Ok::<(), cipp_core::Error>(())
//! ```

use cipp_core::request::encode_component;
use cipp_core::{ApiRequest, Error, TenantId};
use http::Method;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::model::{Extra, OAuth2PermissionGrant, ServicePrincipal};
use crate::odata::Query;
use crate::op::{self, GraphOp};

/// Microsoft Graph's application id (the resource of most grants).
pub const MICROSOFT_GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

fn check_scopes(scopes: &[String]) -> Result<String, Error> {
    if scopes.is_empty() {
        return Err(Error::invalid_input(
            "scope",
            "at least one scope is needed",
        ));
    }
    for s in scopes {
        let ok = !s.is_empty()
            && s.len() <= 200
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !ok {
            return Err(Error::invalid_input(
                "scope",
                format!("`{s}` is not a permission name (for example User.Read.All)"),
            ));
        }
    }
    Ok(scopes.join(" "))
}

/// Grants `scopes` of `resource` (a service principal's object id) to the client service
/// principal `client` for all users (`POST /oauth2PermissionGrants`, `consentType`
/// `AllPrincipals`; 201 + the grant). Ids must be GUIDs and scopes permission names.
pub fn create_grant(
    tenant: &TenantId,
    client: &str,
    resource: &str,
    scopes: &[String],
) -> Result<GraphOp<OAuth2PermissionGrant>, Error> {
    let client = op::guid("clientId", client, "a service principal object id (GUID)")?;
    let resource = op::guid(
        "resourceId",
        resource,
        "a service principal object id (GUID)",
    )?;
    let scope = check_scopes(scopes)?;
    op::with_body(
        tenant,
        Method::POST,
        "/v1.0/oauth2PermissionGrants",
        "create OAuth2 permission grant",
        &json!({
            "clientId": client,
            "consentType": "AllPrincipals",
            "resourceId": resource,
            "scope": scope,
        }),
        op::json,
    )
}

/// Replaces a grant's scopes (`PATCH /oauth2PermissionGrants/{id}` with `scope`; 204).
pub fn update_grant_scopes(
    tenant: &TenantId,
    grant_id: &str,
    scopes: &[String],
) -> Result<GraphOp<()>, Error> {
    if grant_id.is_empty() || grant_id.len() > 200 || grant_id.contains('/') {
        return Err(Error::invalid_input(
            "grant",
            format!("`{grant_id}` is not a grant id"),
        ));
    }
    let scope = check_scopes(scopes)?;
    op::patch(
        tenant,
        format!(
            "/v1.0/oauth2PermissionGrants/{}",
            encode_component(grant_id)
        ),
        "update OAuth2 permission grant",
        &json!({ "scope": scope }),
    )
}

/// An app role granted to a principal (`appRoleAssignment`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct AppRoleAssignment {
    /// Id.
    pub id: Option<String>,
    /// The app role's id (on the resource).
    pub app_role_id: Option<String>,
    /// Who holds it (here: the client service principal).
    pub principal_id: Option<String>,
    /// `ServicePrincipal`, `User` or `Group`.
    pub principal_type: Option<String>,
    /// The resource service principal's object id.
    pub resource_id: Option<String>,
    /// The resource's name.
    pub resource_display_name: Option<String>,
    /// Everything else the service sent.
    #[serde(flatten, skip_deserializing)]
    pub extra: Extra,
}
cipp_core::keep_unknown_fields!(AppRoleAssignment, extra);

/// An app role a resource offers (`appRole` of a service principal).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct AppRole {
    /// Its id.
    pub id: Option<String>,
    /// The permission name (`User.Read.All`).
    pub value: Option<String>,
    /// Who may hold it (`Application`, `User`).
    pub allowed_member_types: Vec<String>,
    /// Whether it can be assigned.
    pub is_enabled: Option<bool>,
    /// Everything else the service sent.
    #[serde(flatten, skip_deserializing)]
    pub extra: Extra,
}
cipp_core::keep_unknown_fields!(AppRole, extra);

/// The app roles a service principal (read with `appRoles`) offers; an absent or
/// unreadable list is empty.
pub fn app_roles(sp: &ServicePrincipal) -> Vec<AppRole> {
    sp.extra
        .get("appRoles")
        .cloned()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default()
}

/// The enabled application permission `value` of a resource, if it offers one.
pub fn app_role_id(sp: &ServicePrincipal, value: &str) -> Option<String> {
    app_roles(sp)
        .into_iter()
        .find(|r| {
            r.value
                .as_deref()
                .is_some_and(|v| v.eq_ignore_ascii_case(value))
                && r.is_enabled != Some(false)
                && (r.allowed_member_types.is_empty()
                    || r.allowed_member_types.iter().any(|m| m == "Application"))
        })
        .and_then(|r| r.id)
}

/// Lists the app roles a service principal holds
/// (`GET /servicePrincipals/{id}/appRoleAssignments`), paged.
pub fn app_role_assignments(
    tenant: &TenantId,
    service_principal: &str,
    query: &Query,
) -> Result<ApiRequest, Error> {
    let id = op::guid(
        "servicePrincipal",
        service_principal,
        "a service principal object id (GUID)",
    )?;
    op::list(
        tenant,
        format!("/v1.0/servicePrincipals/{id}/appRoleAssignments"),
        "list app role assignments",
        query,
    )
}

/// Grants the client service principal `client` the app role `app_role` of `resource`
/// (`POST /servicePrincipals/{client}/appRoleAssignments` with `principalId`,
/// `resourceId`, `appRoleId`; 201 + the assignment). Every id must be a GUID.
pub fn assign_app_role(
    tenant: &TenantId,
    client: &str,
    resource: &str,
    app_role: &str,
) -> Result<GraphOp<AppRoleAssignment>, Error> {
    let client = op::guid(
        "principalId",
        client,
        "a service principal object id (GUID)",
    )?;
    let resource = op::guid(
        "resourceId",
        resource,
        "a service principal object id (GUID)",
    )?;
    let role = op::guid("appRoleId", app_role, "an app role id (GUID)")?;
    op::with_body(
        tenant,
        Method::POST,
        format!("/v1.0/servicePrincipals/{client}/appRoleAssignments"),
        "assign app role",
        &json!({"principalId": client, "resourceId": resource, "appRoleId": role}),
        op::json,
    )
}

/// Consents in one tenant (`graph.tenant(&t).consent()`).
#[derive(Clone, Debug)]
pub struct Consent(pub(crate) crate::TenantGraph);

impl crate::TenantGraph {
    /// Delegated grants and app role assignments of client service principals.
    pub fn consent(&self) -> Consent {
        Consent(self.clone())
    }
}

impl Consent {
    /// The delegated grants of the client service principal `client`.
    pub fn grants(&self, client: &str) -> crate::List<OAuth2PermissionGrant> {
        self.0
            .list_of(crate::audit::oauth2_grants(self.0.id(), Some(client)))
    }
    /// Grants `scopes` of `resource` to `client` for all users.
    pub fn create_grant(
        &self,
        client: &str,
        resource: &str,
        scopes: &[String],
    ) -> crate::Call<OAuth2PermissionGrant> {
        self.0
            .call(create_grant(self.0.id(), client, resource, scopes))
    }
    /// Replaces a grant's scopes.
    pub fn update_grant_scopes(&self, grant_id: &str, scopes: &[String]) -> crate::Call<()> {
        self.0
            .call(update_grant_scopes(self.0.id(), grant_id, scopes))
    }
    /// The app roles `service_principal` holds.
    pub fn app_role_assignments(&self, service_principal: &str) -> crate::List<AppRoleAssignment> {
        let sp = service_principal.to_owned();
        self.0.list(move |t, q| app_role_assignments(t, &sp, q))
    }
    /// Grants `client` the app role `app_role` of `resource`.
    pub fn assign_app_role(
        &self,
        client: &str,
        resource: &str,
        app_role: &str,
    ) -> crate::Call<AppRoleAssignment> {
        self.0
            .call(assign_app_role(self.0.id(), client, resource, app_role))
    }
    /// The service principal of application `app_id` with its app roles
    /// (`$select=id,appId,displayName,appRoles`), if the tenant has one.
    pub async fn resource(&self, app_id: &str) -> Result<Option<ServicePrincipal>, Error> {
        let found: Vec<ServicePrincipal> = self
            .0
            .list_of(
                crate::applications::find_service_principal(self.0.id(), app_id)
                    .map(|r| r.query("$select", "id,appId,displayName,appRoles")),
            )
            .await?;
        Ok(found.into_iter().next())
    }
}
