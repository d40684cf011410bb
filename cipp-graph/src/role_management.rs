//! Who holds which directory role: role assignments and role definitions
//! (`roleManagement/directory`), the activated directory roles with their members
//! (`directoryRoles`), and the groups nested under a group that holds a role
//! (`groups/{id}/transitiveMembers/microsoft.graph.group`).
//!
//! `graph.tenant(&t).role_management().assignments()`, `.definitions()`,
//! `.directory_roles()`, `.role_members(GLOBAL_ADMINISTRATOR)`, `.nested_groups(&group)`.
//! Every id put into a path or a filter is checked to be a GUID before anything is sent.

use cipp_core::{ApiRequest, Error, TenantId};
use serde::{Deserialize, Serialize};

use crate::model::{DirectoryObject, Extra};
use crate::odata::Query;
use crate::op;

/// The Global Administrator role's template id (also its role definition id).
pub const GLOBAL_ADMINISTRATOR: &str = "62e90394-69f5-4237-9190-012177145e10";

/// One role assignment (`unifiedRoleAssignment`): a principal holds a role at a scope.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "camelCase", default)]
pub struct UnifiedRoleAssignment {
    /// Id.
    pub id: Option<String>,
    /// The holder's object id (a user, a role-assignable group or a service principal).
    pub principal_id: Option<String>,
    /// The role (for built-in roles, the role template id).
    pub role_definition_id: Option<String>,
    /// The directory scope (`/` for the whole tenant, `/administrativeUnits/{id}`, …).
    pub directory_scope_id: Option<String>,
    /// The application scope, when the assignment is scoped to an application.
    pub app_scope_id: Option<String>,
    /// The holder, when asked for with `$expand=principal`.
    pub principal: Option<DirectoryObject>,
    /// Everything else the service sent.
    #[serde(flatten, skip_deserializing)]
    pub extra: Extra,
}
cipp_core::keep_unknown_fields!(UnifiedRoleAssignment, extra);

/// A role definition (`unifiedRoleDefinition`), built-in or custom.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "camelCase", default)]
pub struct UnifiedRoleDefinition {
    /// Id (for built-in roles, the role template id).
    pub id: Option<String>,
    /// Name (`Global Administrator`).
    pub display_name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// The template id.
    pub template_id: Option<String>,
    /// Whether Microsoft defines it.
    pub is_built_in: Option<bool>,
    /// Whether it can be assigned.
    pub is_enabled: Option<bool>,
    /// Everything else the service sent.
    #[serde(flatten, skip_deserializing)]
    pub extra: Extra,
}
cipp_core::keep_unknown_fields!(UnifiedRoleDefinition, extra);

/// An activated directory role (`directoryRole`) and, with `$expand=members`, its members.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "camelCase", default)]
pub struct DirectoryRole {
    /// The role's object id in this tenant.
    pub id: Option<String>,
    /// Name (`Global Administrator`).
    pub display_name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// The role template id.
    pub role_template_id: Option<String>,
    /// Members (users, groups, service principals), when expanded.
    pub members: Vec<DirectoryObject>,
    /// Everything else the service sent.
    #[serde(flatten, skip_deserializing)]
    pub extra: Extra,
}
cipp_core::keep_unknown_fields!(DirectoryRole, extra);

/// Lists role assignments (`GET /roleManagement/directory/roleAssignments`).
pub fn role_assignments(tenant: &TenantId, query: &Query) -> Result<ApiRequest, Error> {
    op::list(
        tenant,
        "/v1.0/roleManagement/directory/roleAssignments",
        "list role assignments",
        query,
    )
}

/// Lists the assignments of one role (`$filter=roleDefinitionId eq '…'`); the id must
/// be a GUID.
pub fn role_assignments_of(
    tenant: &TenantId,
    role_definition_id: &str,
    query: &Query,
) -> Result<ApiRequest, Error> {
    let id = op::guid(
        "roleDefinitionId",
        role_definition_id,
        "a role definition id (GUID)",
    )?;
    if query.filter_expr().is_some() {
        return Err(Error::invalid_input(
            "$filter",
            "the assignments of one role are already filtered by role; list all assignments to filter otherwise",
        ));
    }
    let q = query.clone().filter(format!("roleDefinitionId eq '{id}'"));
    role_assignments(tenant, &q)
}

/// Lists role definitions (`GET /roleManagement/directory/roleDefinitions`).
pub fn role_definitions(tenant: &TenantId, query: &Query) -> Result<ApiRequest, Error> {
    op::list(
        tenant,
        "/v1.0/roleManagement/directory/roleDefinitions",
        "list role definitions",
        query,
    )
}

/// Lists the activated directory roles (`GET /directoryRoles`; add `$expand=members` for
/// their members). The collection does not page.
pub fn directory_roles(tenant: &TenantId, query: &Query) -> Result<ApiRequest, Error> {
    op::list(
        tenant,
        "/v1.0/directoryRoles",
        "list directory roles",
        query,
    )
}

/// Lists the members of one directory role, named by its role template id
/// (`GET /directoryRoles(roleTemplateId='…')/members`). A role nobody holds is not
/// activated: the service answers 404.
pub fn directory_role_members(
    tenant: &TenantId,
    role_template_id: &str,
    query: &Query,
) -> Result<ApiRequest, Error> {
    let role = op::guid(
        "role template id",
        role_template_id,
        "a role template id (GUID)",
    )?;
    op::list(
        tenant,
        format!("/v1.0/directoryRoles(roleTemplateId='{role}')/members"),
        "list directory role members",
        query,
    )
}

/// Lists the groups nested under a group at any depth
/// (`GET /groups/{id}/transitiveMembers/microsoft.graph.group`).
pub fn nested_groups(
    tenant: &TenantId,
    group_id: &str,
    query: &Query,
) -> Result<ApiRequest, Error> {
    let id = op::guid("group", group_id, "a group object id (GUID)")?;
    op::list(
        tenant,
        format!("/v1.0/groups/{id}/transitiveMembers/microsoft.graph.group"),
        "list nested groups",
        query,
    )
}

/// Role reads in one tenant (`graph.tenant(&t).role_management()`).
#[derive(Clone, Debug)]
pub struct RoleManagement(pub(crate) crate::TenantGraph);

impl crate::TenantGraph {
    /// Directory roles: assignments, definitions, activated roles and their members.
    pub fn role_management(&self) -> RoleManagement {
        RoleManagement(self.clone())
    }
}

impl RoleManagement {
    /// Every role assignment (`.expand("principal")` for the holders).
    pub fn assignments(&self) -> crate::List<UnifiedRoleAssignment> {
        self.0.list(role_assignments)
    }
    /// The assignments of one role (its definition id, a GUID).
    pub fn assignments_of(&self, role_definition_id: &str) -> crate::List<UnifiedRoleAssignment> {
        let role = role_definition_id.to_owned();
        self.0.list(move |t, q| role_assignments_of(t, &role, q))
    }
    /// Every role definition, built-in and custom.
    pub fn definitions(&self) -> crate::List<UnifiedRoleDefinition> {
        self.0.list(role_definitions)
    }
    /// The activated directory roles (`.expand("members")` for their members).
    pub fn directory_roles(&self) -> crate::List<DirectoryRole> {
        self.0.list(directory_roles)
    }
    /// The members of one directory role, by role template id (404 when the role is not
    /// activated in the tenant).
    pub fn role_members(&self, role_template_id: &str) -> crate::List<DirectoryObject> {
        let role = role_template_id.to_owned();
        self.0.list(move |t, q| directory_role_members(t, &role, q))
    }
    /// The groups nested under `group` at any depth.
    pub fn nested_groups(&self, group: &crate::model::GroupId) -> crate::List<DirectoryObject> {
        let group = group.clone();
        self.0.list(move |t, q| nested_groups(t, group.as_str(), q))
    }
}
