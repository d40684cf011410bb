//! Sign-ins, directory audits, consent grants, service principals and devices.

use chrono::{DateTime, SecondsFormat, Utc};
use cipp_core::{ApiRequest, Audience, Error, TenantId};

use crate::filter::Filter;
use crate::odata::{quote, Query};
use crate::op::{unit, GraphOp};
use crate::users::is_guid;

fn odata_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Adds a caller's typed filter to clauses joined by `" and "` (in parentheses when it is
/// an `or` and there are other clauses).
fn push_extra(clauses: &mut Vec<String>, extra: Option<&Filter>) {
    if let Some(extra) = extra {
        clauses.push(if clauses.is_empty() {
            extra.to_string()
        } else {
            extra.to_and_operand()
        });
    }
}

/// Which sign-ins to list.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SignInFilter {
    /// Only this user (object id).
    pub user_id: Option<String>,
    /// Only this user (UPN).
    pub user_principal_name: Option<String>,
    /// Not before.
    pub since: Option<DateTime<Utc>>,
    /// Not after.
    pub until: Option<DateTime<Utc>>,
    /// Only failures (`status/errorCode ne 0`).
    pub failures_only: bool,
    /// Page size (≤ 1000).
    pub top: Option<u32>,
    /// More conditions, ANDed with the ones above (for example
    /// `startsWith(appDisplayName,'Office')`); see [`crate::filter`].
    pub extra: Option<Filter>,
}

/// Lists sign-ins, newest first (the service's order), filtered by user and time window.
pub fn sign_ins(tenant: &TenantId, f: &SignInFilter) -> Result<ApiRequest, Error> {
    if let (Some(a), Some(b)) = (f.since, f.until) {
        if a > b {
            return Err(Error::invalid_input("window", "`since` is after `until`"));
        }
    }
    let mut clauses = Vec::new();
    if let Some(id) = &f.user_id {
        crate::op::guid("userId", id, "an object id")?;
        clauses.push(format!("userId eq {}", quote(id)));
    }
    if let Some(upn) = &f.user_principal_name {
        crate::users::validate_upn(upn)?;
        clauses.push(format!("userPrincipalName eq {}", quote(upn)));
    }
    if let Some(t) = f.since {
        clauses.push(format!("createdDateTime ge {}", odata_time(t)));
    }
    if let Some(t) = f.until {
        clauses.push(format!("createdDateTime le {}", odata_time(t)));
    }
    if f.failures_only {
        clauses.push("status/errorCode ne 0".into());
    }
    push_extra(&mut clauses, f.extra.as_ref());
    let mut r = ApiRequest::get(tenant.clone(), Audience::Graph, "/v1.0/auditLogs/signIns")
        .operation("list sign-ins");
    if !clauses.is_empty() {
        r = r.query("$filter", &clauses.join(" and "));
    }
    if let Some(top) = f.top {
        if top == 0 || top > 1000 {
            return Err(Error::invalid_input(
                "$top",
                format!("must be 1–1000, got {top}"),
            ));
        }
        r = r.query("$top", &top.to_string());
    }
    Ok(r)
}

/// Which directory audit records to list.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AuditFilter {
    /// Activities (`Add user`, `Reset user password`, …), any of them.
    pub activities: Vec<String>,
    /// Only records whose target is this object id.
    pub target_id: Option<String>,
    /// Only records initiated by this user id.
    pub initiated_by_user_id: Option<String>,
    /// Not before.
    pub since: Option<DateTime<Utc>>,
    /// Not after.
    pub until: Option<DateTime<Utc>>,
    /// More conditions, ANDed with the ones above (for example
    /// `targetResources/any(t:startsWith(t/displayName,'Sales'))`); see [`crate::filter`].
    pub extra: Option<Filter>,
}

/// Lists directory audit records by activity, target and time.
pub fn directory_audits(tenant: &TenantId, f: &AuditFilter) -> Result<ApiRequest, Error> {
    let mut clauses = Vec::new();
    if !f.activities.is_empty() {
        let any: Vec<String> = f
            .activities
            .iter()
            .map(|a| format!("activityDisplayName eq {}", quote(a)))
            .collect();
        clauses.push(if any.len() == 1 {
            any[0].clone()
        } else {
            format!("({})", any.join(" or "))
        });
    }
    if let Some(id) = &f.target_id {
        crate::op::guid("targetId", id, "an object id")?;
        clauses.push(format!("targetResources/any(t:t/id eq {})", quote(id)));
    }
    if let Some(id) = &f.initiated_by_user_id {
        crate::op::guid("initiatedBy", id, "an object id")?;
        clauses.push(format!("initiatedBy/user/id eq {}", quote(id)));
    }
    if let Some(t) = f.since {
        clauses.push(format!("activityDateTime ge {}", odata_time(t)));
    }
    if let Some(t) = f.until {
        clauses.push(format!("activityDateTime le {}", odata_time(t)));
    }
    push_extra(&mut clauses, f.extra.as_ref());
    let mut r = ApiRequest::get(
        tenant.clone(),
        Audience::Graph,
        "/v1.0/auditLogs/directoryAudits",
    )
    .operation("list directory audits");
    if !clauses.is_empty() {
        r = r.query("$filter", &clauses.join(" and "));
    }
    Ok(r)
}

/// Lists delegated permission grants, optionally of one client service principal.
pub fn oauth2_grants(tenant: &TenantId, client_id: Option<&str>) -> Result<ApiRequest, Error> {
    let mut r = ApiRequest::get(
        tenant.clone(),
        Audience::Graph,
        "/v1.0/oauth2PermissionGrants",
    )
    .operation("list OAuth2 permission grants");
    if let Some(c) = client_id {
        if !is_guid(c) {
            return Err(Error::invalid_input(
                "clientId",
                format!("`{c}` is not a service principal object id"),
            ));
        }
        r = r.query("$filter", &format!("clientId eq {}", quote(c)));
    }
    Ok(r)
}

/// Revokes a delegated permission grant.
pub fn revoke_oauth2_grant(tenant: &TenantId, grant_id: &str) -> Result<GraphOp<()>, Error> {
    if grant_id.is_empty() || grant_id.contains('/') {
        return Err(Error::invalid_input("grant", "not a grant id"));
    }
    Ok(GraphOp::new(
        ApiRequest::delete(
            tenant.clone(),
            Audience::Graph,
            format!(
                "/v1.0/oauth2PermissionGrants/{}",
                cipp_core::request::encode_component(grant_id)
            ),
        )
        .operation("revoke OAuth2 permission grant"),
        unit,
    ))
}

/// Lists service principals created since `since` (advanced query: eventual consistency).
pub fn service_principals_since(tenant: &TenantId, since: DateTime<Utc>) -> ApiRequest {
    Query::new()
        .filter(format!("createdDateTime ge {}", odata_time(since)))
        .count()
        .apply(
            ApiRequest::get(tenant.clone(), Audience::Graph, "/v1.0/servicePrincipals")
                .operation("list new service principals"),
        )
}

/// Lists a user's Intune managed devices.
pub fn managed_devices_of(
    tenant: &TenantId,
    user_principal_name: &str,
) -> Result<ApiRequest, Error> {
    crate::users::validate_upn(user_principal_name)?;
    Ok(ApiRequest::get(
        tenant.clone(),
        Audience::Graph,
        "/v1.0/deviceManagement/managedDevices",
    )
    .operation("list managed devices")
    .query(
        "$filter",
        &format!("userPrincipalName eq {}", quote(user_principal_name)),
    ))
}

/// Audit and security reads in one tenant (`graph.tenant(&t).audit()`).
#[derive(Clone, Debug)]
pub struct Audit(pub(crate) crate::TenantGraph);

impl Audit {
    /// Sign-ins, newest first.
    pub fn sign_ins(&self, filter: &SignInFilter) -> crate::List<crate::model::SignIn> {
        self.0.list_of(sign_ins(self.0.id(), filter))
    }
    /// Directory audit records.
    pub fn directory_audits(
        &self,
        filter: &AuditFilter,
    ) -> crate::List<crate::model::DirectoryAudit> {
        self.0.list_of(directory_audits(self.0.id(), filter))
    }
    /// Delegated permission grants (consents), optionally of one client service principal.
    pub fn oauth2_grants(
        &self,
        client_id: Option<&str>,
    ) -> crate::List<crate::model::OAuth2PermissionGrant> {
        self.0.list_of(oauth2_grants(self.0.id(), client_id))
    }
    /// Revokes a delegated permission grant.
    pub fn revoke_oauth2_grant(&self, grant_id: &str) -> crate::Call<()> {
        self.0.call(revoke_oauth2_grant(self.0.id(), grant_id))
    }
    /// Service principals created since `since`.
    pub fn service_principals_since(
        &self,
        since: DateTime<Utc>,
    ) -> crate::List<crate::model::ServicePrincipal> {
        self.0
            .list_of(Ok(service_principals_since(self.0.id(), since)))
    }
    /// Intune-managed devices of a user.
    pub fn managed_devices_of(
        &self,
        user_principal_name: &str,
    ) -> crate::List<crate::model::ManagedDevice> {
        self.0
            .list_of(managed_devices_of(self.0.id(), user_principal_name))
    }
}
