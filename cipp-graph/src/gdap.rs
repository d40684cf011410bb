//! GDAP as request values, all sent to the **partner** tenant: delegated admin
//! relationships (create, get, list, update with `If-Match`, lock for approval,
//! terminate), access assignments, operations, the Entra role catalogue, CIPP's default
//! roles, the customer invite URL and the customer list derived from active relationships.
//!
//! ```
//! use cipp_core::TenantId;
//! use cipp_graph::gdap::{self, roles, AutoExtend, NewRelationship};
//!
//! let partner = TenantId::parse("partner.onmicrosoft.com")?;
//! let new = NewRelationship {
//!     display_name: "CIPP_contoso".into(),
//!     duration: "P730D".into(),
//!     roles: roles::CIPP_DEFAULT_ROLES.iter().map(|(_, id)| id.to_string()).collect(),
//!     customer: None,
//!     auto_extend: AutoExtend::SixMonths,
//! };
//! let op = gdap::create(&partner, &new)?;
//! assert_eq!(op.request().path(), "/v1.0/tenantRelationships/delegatedAdminRelationships");
//! // Global Administrator cannot auto-extend: refused before anything is sent.
//! let ga = NewRelationship { roles: vec![roles::GLOBAL_ADMINISTRATOR.into()], ..new };
//! assert!(gdap::create(&partner, &ga).is_err());
//! # Ok::<(), cipp_core::Error>(())
//! ```

use chrono::{DateTime, Utc};
use cipp_core::request::encode_component;
use cipp_core::{ApiRequest, Audience, Error, TenantId};
use http::{HeaderName, HeaderValue};
use serde::Serialize;
use serde_json::json;

use crate::model::{
    AccessAssignment, AccessDetails, DelegatedAdminRelationship, RelationshipCustomer,
    RelationshipOperation, RelationshipRequest, RelationshipStatus,
};
use crate::odata::Query;
use crate::op::{json, unit, GraphOp};
use crate::users::is_guid;

pub mod roles;
pub mod workflow;

const BASE: &str = "/v1.0/tenantRelationships/delegatedAdminRelationships";

/// Largest `$top` the relationships list accepts.
pub const MAX_TOP: u32 = 300;

/// The longest relationship Microsoft allows (two years), in days.
pub const MAX_DURATION_DAYS: u32 = 730;

/// Whether and how a relationship extends itself at its end date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AutoExtend {
    /// No auto-extend (`PT0S`).
    Off,
    /// Extend by six months at each end date (`P180D`).
    SixMonths,
}

impl AutoExtend {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            AutoExtend::Off => "PT0S",
            AutoExtend::SixMonths => "P180D",
        }
    }
}

/// A relationship to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRelationship {
    /// Name: 1–50 characters, unique across all the partner's relationships.
    pub display_name: String,
    /// ISO 8601 duration between `P1D` and `P2Y` (`P730D`).
    pub duration: String,
    /// Role template ids (see [`roles`]).
    pub roles: Vec<String>,
    /// The customer, when known (otherwise whoever approves the invite).
    pub customer: Option<RelationshipCustomer>,
    /// Auto-extend; refused with Global Administrator.
    pub auto_extend: AutoExtend,
}

/// The length in days of an ISO 8601 date duration (`P730D`, `P2Y`, `P1Y6M`, `P4W`;
/// a year counts 365 days, a month 30). `None` when it is not one.
///
/// ```
/// use cipp_graph::gdap::duration_days;
/// assert_eq!(duration_days("P730D"), Some(730));
/// assert_eq!(duration_days("P2Y"), Some(730));
/// assert_eq!(duration_days("PT0S"), None);
/// ```
pub fn duration_days(s: &str) -> Option<u32> {
    let rest = s.strip_prefix('P').or_else(|| s.strip_prefix('p'))?;
    if rest.is_empty() {
        return None;
    }
    let mut days: u32 = 0;
    let mut number = String::new();
    for c in rest.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: u32 = number.parse().ok()?;
        number.clear();
        let unit = match c.to_ascii_uppercase() {
            'Y' => 365,
            'M' => 30,
            'W' => 7,
            'D' => 1,
            _ => return None,
        };
        days = days.checked_add(n.checked_mul(unit)?)?;
    }
    number.is_empty().then_some(days)
}

fn check_duration(d: &str) -> Result<(), Error> {
    if duration_days(d).is_some_and(|d| (1..=MAX_DURATION_DAYS).contains(&d)) {
        Ok(())
    } else {
        Err(Error::invalid_input(
            "duration",
            format!("`{d}` is not an ISO 8601 duration between P1D and P2Y (for example P730D)"),
        ))
    }
}

fn check_name(n: &str) -> Result<(), Error> {
    if n.trim().is_empty() || n.trim().chars().count() > 50 {
        Err(Error::invalid_input(
            "displayName",
            "must be 1–50 characters (and unique across the partner's relationships)",
        ))
    } else {
        Ok(())
    }
}

fn relationship_path(id: &str) -> Result<String, Error> {
    let ok =
        !id.is_empty() && id.len() <= 100 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    if ok {
        Ok(format!("{BASE}/{}", encode_component(id)))
    } else {
        Err(Error::invalid_input(
            "relationship",
            format!("`{id}` is not a delegated admin relationship id"),
        ))
    }
}

fn check_roles<'a>(roles: impl IntoIterator<Item = &'a str>) -> Result<(), Error> {
    let mut any = false;
    for r in roles {
        any = true;
        if !is_guid(r) {
            return Err(Error::invalid_input(
                "roles",
                format!("`{r}` is not a role template id (GUID); see gdap::roles"),
            ));
        }
    }
    if any {
        Ok(())
    } else {
        Err(Error::invalid_input("roles", "at least one role is needed"))
    }
}

fn if_match(etag: Option<&str>, what: &str) -> Result<(HeaderName, HeaderValue), Error> {
    let etag = etag.filter(|e| !e.is_empty()).ok_or_else(|| {
        Error::invalid_input(
            "If-Match",
            format!("the {what} has no @odata.etag: read it again before changing it"),
        )
    })?;
    let value = HeaderValue::from_str(etag)
        .map_err(|_| Error::invalid_input("If-Match", "the ETag is not a valid header value"))?;
    Ok((http::header::IF_MATCH, value))
}

/// Creates a relationship (201 + the relationship, status `created`), after checking
/// Microsoft's rules: name 1–50 characters, duration `P1D`–`P2Y`, at least one role, and
/// no auto-extend when Global Administrator is included.
pub fn create(
    tenant: &TenantId,
    new: &NewRelationship,
) -> Result<GraphOp<DelegatedAdminRelationship>, Error> {
    check_name(&new.display_name)?;
    check_duration(&new.duration)?;
    check_roles(new.roles.iter().map(String::as_str))?;
    let ga = new
        .roles
        .iter()
        .any(|r| r.eq_ignore_ascii_case(roles::GLOBAL_ADMINISTRATOR));
    if ga && new.auto_extend != AutoExtend::Off {
        return Err(Error::invalid_input(
            "autoExtendDuration",
            "a relationship with Global Administrator cannot auto-extend: use AutoExtend::Off",
        ));
    }
    let mut body = json!({
        "displayName": new.display_name.trim(),
        "duration": new.duration,
        "accessDetails": AccessDetails::of(new.roles.iter().map(|r| r.to_ascii_lowercase())),
        "autoExtendDuration": new.auto_extend.as_str(),
    });
    if let Some(c) = &new.customer {
        body["customer"] = json!({"tenantId": c.tenant_id, "displayName": c.display_name});
    }
    Ok(GraphOp::new(
        ApiRequest::post(tenant.clone(), Audience::Graph, BASE)
            .operation("create GDAP relationship")
            .json(&body)?,
        json,
    ))
}

/// Gets a relationship (with its ETag).
pub fn get(tenant: &TenantId, id: &str) -> Result<GraphOp<DelegatedAdminRelationship>, Error> {
    Ok(GraphOp::new(
        ApiRequest::get(tenant.clone(), Audience::Graph, relationship_path(id)?)
            .operation("get GDAP relationship"),
        json,
    ))
}

/// Lists relationships (`$filter`, `$select`, `$top` ≤ 300, `$orderby`), paged.
pub fn list(tenant: &TenantId, query: &Query) -> Result<ApiRequest, Error> {
    query.validate(MAX_TOP)?;
    Ok(query.apply(
        ApiRequest::get(tenant.clone(), Audience::Graph, BASE).operation("list GDAP relationships"),
    ))
}

/// The query CIPP's tenant list uses: active relationships only.
pub fn active_query() -> Query {
    Query::new().filter("status eq 'active'")
}

/// Changes to a relationship. Only set fields are sent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RelationshipPatch {
    /// New name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// New duration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// New roles.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_details: Option<AccessDetails>,
    /// New customer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer: Option<RelationshipCustomer>,
    /// New auto-extend (`PT0S` or `P180D`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_extend_duration: Option<String>,
}

fn check_active_patch(
    current: &DelegatedAdminRelationship,
    patch: &RelationshipPatch,
) -> Result<(), Error> {
    if patch.display_name.is_some() || patch.duration.is_some() || patch.customer.is_some() {
        return Err(Error::invalid_input(
            "relationship",
            "an active relationship can only change its auto-extend or drop Global Administrator",
        ));
    }
    if let Some(new) = &patch.access_details {
        let old = current.access_details.clone().unwrap_or_default();
        let removes_only_ga = old.contains(roles::GLOBAL_ADMINISTRATOR)
            && !new.contains(roles::GLOBAL_ADMINISTRATOR)
            && new
                .unified_roles
                .iter()
                .all(|r| old.contains(&r.role_definition_id))
            && new.unified_roles.len() + 1 == old.unified_roles.len();
        if !removes_only_ga {
            return Err(Error::invalid_input(
                "accessDetails",
                "the roles of an active relationship can only change to remove Global Administrator",
            ));
        }
    }
    Ok(())
}

/// Updates a relationship read moments ago (`current`, whose ETag goes in `If-Match`; a
/// stale one gets 412). Checked first against Microsoft's rules: anything may change
/// while `created`; while `active` only auto-extend may change, and the roles only to
/// remove Global Administrator; no auto-extend with Global Administrator.
pub fn update(
    tenant: &TenantId,
    current: &DelegatedAdminRelationship,
    patch: &RelationshipPatch,
) -> Result<GraphOp<DelegatedAdminRelationship>, Error> {
    let path = relationship_path(&current.id)?;
    if patch == &RelationshipPatch::default() {
        return Err(Error::invalid_input("patch", "nothing to change"));
    }
    match &current.status {
        Some(RelationshipStatus::Created) => {}
        Some(RelationshipStatus::Active) => check_active_patch(current, patch)?,
        other => {
            let status = other
                .as_ref()
                .map_or_else(|| "of unknown status".to_owned(), |s| s.to_string());
            return Err(Error::invalid_input(
                "relationship",
                format!(
                    "relationship {} is {status}: only created relationships (or active ones, for auto-extend and removing Global Administrator) can be changed",
                    current.id
                ),
            ));
        }
    }
    if let Some(d) = &patch.duration {
        check_duration(d)?;
    }
    if let Some(n) = &patch.display_name {
        check_name(n)?;
    }
    if let Some(a) = &patch.access_details {
        check_roles(
            a.unified_roles
                .iter()
                .map(|r| r.role_definition_id.as_str()),
        )?;
    }
    if let Some(a) = &patch.auto_extend_duration {
        if !["PT0S", "P180D", "P0D"].contains(&a.to_ascii_uppercase().as_str()) {
            return Err(Error::invalid_input(
                "autoExtendDuration",
                format!("`{a}` is not PT0S or P180D"),
            ));
        }
        let roles_after = patch
            .access_details
            .as_ref()
            .or(current.access_details.as_ref());
        if a.eq_ignore_ascii_case("P180D")
            && roles_after.is_some_and(|r| r.contains(roles::GLOBAL_ADMINISTRATOR))
        {
            return Err(Error::invalid_input(
                "autoExtendDuration",
                "a relationship with Global Administrator cannot auto-extend; remove the role first",
            ));
        }
    }
    let (h, v) = if_match(current.etag.as_deref(), "relationship")?;
    Ok(GraphOp::new(
        ApiRequest::patch(tenant.clone(), Audience::Graph, path)
            .operation("update GDAP relationship")
            .header(h, v)
            .json(patch)?,
        json,
    ))
}

fn request(
    tenant: &TenantId,
    id: &str,
    action: &'static str,
) -> Result<GraphOp<RelationshipRequest>, Error> {
    Ok(GraphOp::new(
        ApiRequest::post(
            tenant.clone(),
            Audience::Graph,
            format!("{}/requests", relationship_path(id)?),
        )
        .operation(format!("GDAP relationship {action}"))
        .json(&json!({ "action": action }))?,
        json,
    ))
}

/// Locks a created relationship for the customer's approval (then send the customer
/// [`invite_url`]).
pub fn lock_for_approval(
    tenant: &TenantId,
    id: &str,
) -> Result<GraphOp<RelationshipRequest>, Error> {
    request(tenant, id, "lockForApproval")
}

/// Asks to terminate a relationship.
pub fn terminate(tenant: &TenantId, id: &str) -> Result<GraphOp<RelationshipRequest>, Error> {
    request(tenant, id, "terminate")
}

/// The URL a customer's Global Administrator opens to approve a relationship.
pub fn invite_url(id: &str) -> String {
    format!(
        "https://admin.microsoft.com/AdminPortal/Home#/partners/invitation/granularAdminRelationships/{id}"
    )
}

/// Lists a relationship's access assignments, paged.
pub fn list_assignments(tenant: &TenantId, relationship: &str) -> Result<ApiRequest, Error> {
    Ok(ApiRequest::get(
        tenant.clone(),
        Audience::Graph,
        format!("{}/accessAssignments", relationship_path(relationship)?),
    )
    .operation("list GDAP access assignments"))
}

fn assignment_path(relationship: &str, id: &str) -> Result<String, Error> {
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(Error::invalid_input(
            "accessAssignment",
            format!("`{id}` is not an access assignment id"),
        ));
    }
    Ok(format!(
        "{}/accessAssignments/{}",
        relationship_path(relationship)?,
        encode_component(id)
    ))
}

/// Grants some of an **active** relationship's roles to a partner security group
/// (201, status `pending` then `active`). The roles must be a non-empty subset of the
/// relationship's.
pub fn create_assignment(
    tenant: &TenantId,
    relationship: &DelegatedAdminRelationship,
    group_id: &str,
    roles: &[String],
) -> Result<GraphOp<AccessAssignment>, Error> {
    if !relationship.is_active() {
        return Err(Error::invalid_input(
            "relationship",
            format!(
                "relationship {} is not active yet: access can be assigned once the customer approved it",
                relationship.id
            ),
        ));
    }
    if !is_guid(group_id) {
        return Err(Error::invalid_input(
            "group",
            format!("`{group_id}` is not a security group object id (GUID)"),
        ));
    }
    check_roles(roles.iter().map(String::as_str))?;
    let granted = relationship.access_details.clone().unwrap_or_default();
    if let Some(r) = roles.iter().find(|r| !granted.contains(r)) {
        return Err(Error::invalid_input(
            "roles",
            format!(
                "role {} ({r}) is not part of relationship {}",
                roles::role_name(r).unwrap_or("unknown role"),
                relationship.id
            ),
        ));
    }
    let body = json!({
        "accessContainer": {
            "accessContainerId": group_id.to_ascii_lowercase(),
            "accessContainerType": "securityGroup"
        },
        "accessDetails": AccessDetails::of(roles.iter().map(|r| r.to_ascii_lowercase())),
    });
    Ok(GraphOp::new(
        ApiRequest::post(
            tenant.clone(),
            Audience::Graph,
            format!("{}/accessAssignments", relationship_path(&relationship.id)?),
        )
        .operation("create GDAP access assignment")
        .json(&body)?,
        json,
    ))
}

/// Changes an assignment's roles (`If-Match` with the assignment's ETag).
/// What an access assignment update returned.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum AssignmentUpdate {
    /// The service applied it and returned the assignment.
    Updated(AccessAssignment),
    /// The service accepted it for asynchronous processing (`202 Accepted` with an empty
    /// body, as Graph documents): read the assignment again, or follow the operation.
    Accepted {
        /// The operation's URL (`Location`), when given.
        operation: Option<String>,
    },
}

fn read_assignment_update(r: &cipp_core::ApiResponse) -> Result<AssignmentUpdate, Error> {
    let empty = r.body.iter().all(u8::is_ascii_whitespace)
        || serde_json::from_slice::<serde_json::Value>(&r.body)
            .is_ok_and(|v| v.as_object().is_some_and(|o| o.is_empty()));
    if r.status == http::StatusCode::ACCEPTED || empty {
        return Ok(AssignmentUpdate::Accepted {
            operation: r
                .headers
                .get(http::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        });
    }
    json(r).map(AssignmentUpdate::Updated)
}

/// Changes an assignment's roles (`If-Match`). Graph documents `202 Accepted` with a
/// `Location` and an empty body; some answers carry the assignment.
pub fn update_assignment(
    tenant: &TenantId,
    relationship: &str,
    current: &AccessAssignment,
    roles: &[String],
) -> Result<GraphOp<AssignmentUpdate>, Error> {
    check_roles(roles.iter().map(String::as_str))?;
    let path = assignment_path(relationship, &current.id)?;
    let (h, v) = if_match(current.etag.as_deref(), "access assignment")?;
    let body =
        json!({"accessDetails": AccessDetails::of(roles.iter().map(|r| r.to_ascii_lowercase()))});
    Ok(GraphOp::new(
        ApiRequest::patch(tenant.clone(), Audience::Graph, path)
            .operation("update GDAP access assignment")
            .header(h, v)
            .json(&body)?,
        read_assignment_update,
    ))
}

/// Deletes an assignment (`If-Match`; 204).
pub fn delete_assignment(
    tenant: &TenantId,
    relationship: &str,
    current: &AccessAssignment,
) -> Result<GraphOp<()>, Error> {
    let path = assignment_path(relationship, &current.id)?;
    let (h, v) = if_match(current.etag.as_deref(), "access assignment")?;
    Ok(GraphOp::new(
        ApiRequest::delete(tenant.clone(), Audience::Graph, path)
            .operation("delete GDAP access assignment")
            .header(h, v),
        unit,
    ))
}

/// Lists a relationship's long-running operations, paged.
pub fn list_operations(tenant: &TenantId, relationship: &str) -> Result<ApiRequest, Error> {
    Ok(ApiRequest::get(
        tenant.clone(),
        Audience::Graph,
        format!("{}/operations", relationship_path(relationship)?),
    )
    .operation("list GDAP relationship operations"))
}

/// A customer tenant reachable through active relationships.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CustomerTenant {
    /// The customer's tenant id.
    pub tenant_id: String,
    /// The customer's name.
    pub display_name: Option<String>,
    /// The active relationships' ids.
    pub relationships: Vec<String>,
    /// The latest end date over those relationships.
    pub ends: Option<DateTime<Utc>>,
    /// Whether any of them auto-extends.
    pub auto_extends: bool,
    /// Whether every one of them is a Microsoft-led transition (`MLT_`, read-only roles).
    pub only_microsoft_led: bool,
}

/// The customer tenants of a set of relationships: active ones only, one entry per
/// customer (several relationships merge), sorted by name. This is CIPP's tenant list.
pub fn customers(relationships: &[DelegatedAdminRelationship]) -> Vec<CustomerTenant> {
    let mut out: Vec<CustomerTenant> = Vec::new();
    for r in relationships.iter().filter(|r| r.is_active()) {
        let Some(c) = r.customer.as_ref().filter(|c| !c.tenant_id.is_empty()) else {
            continue;
        };
        let i = match out
            .iter()
            .position(|t| t.tenant_id.eq_ignore_ascii_case(&c.tenant_id))
        {
            Some(i) => i,
            None => {
                out.push(CustomerTenant {
                    tenant_id: c.tenant_id.to_ascii_lowercase(),
                    display_name: None,
                    relationships: Vec::new(),
                    ends: None,
                    auto_extends: false,
                    only_microsoft_led: true,
                });
                out.len() - 1
            }
        };
        let t = &mut out[i];
        if t.display_name.is_none() {
            t.display_name = c.display_name.clone();
        }
        t.relationships.push(r.id.clone());
        t.ends = t.ends.max(r.end_date_time);
        t.auto_extends |= r.auto_extends();
        t.only_microsoft_led &= r.is_microsoft_led_transition();
    }
    out.sort_by_key(|t| t.display_name.as_deref().unwrap_or("").to_lowercase());
    out
}

/// A customer of the partner (`tenantRelationships/delegatedAdminCustomers`).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize, Serialize)]
#[serde(remote = "Self", rename_all = "camelCase")]
#[non_exhaustive]
pub struct DelegatedAdminCustomer {
    /// The customer's tenant id.
    pub tenant_id: String,
    /// The customer's name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Properties this version does not model.
    #[serde(flatten, skip_deserializing)]
    pub extra: crate::model::Extra,
}
cipp_core::keep_unknown_fields!(DelegatedAdminCustomer, extra);

/// Lists the partner's customers with a GDAP relationship (`delegatedAdminCustomers`).
pub fn list_customers(tenant: &TenantId) -> ApiRequest {
    ApiRequest::get(
        tenant.clone(),
        Audience::Graph,
        "/v1.0/tenantRelationships/delegatedAdminCustomers",
    )
    .operation("list GDAP customers")
}

/// What Microsoft Entra tells any tenant about another
/// (`tenantRelationships/findTenantInformationBy…`): its id, names and default domain.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize, Serialize)]
#[serde(remote = "Self", rename_all = "camelCase")]
#[non_exhaustive]
pub struct TenantInformation {
    /// The tenant's id.
    pub tenant_id: String,
    /// Its display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Its primary (default) domain.
    #[serde(default)]
    pub default_domain_name: Option<String>,
    /// The name shown at sign-in.
    #[serde(default)]
    pub federation_brand_name: Option<String>,
    /// Properties this version does not model.
    #[serde(flatten, skip_deserializing)]
    pub extra: crate::model::Extra,
}
cipp_core::keep_unknown_fields!(TenantInformation, extra);

/// Looks a tenant up by its id
/// (`GET /tenantRelationships/findTenantInformationByTenantId(tenantId='…')`, permission
/// `CrossTenantInformation.ReadBasic.All`). Refused locally unless `id` is a GUID.
pub fn find_tenant_by_id(tenant: &TenantId, id: &str) -> Result<GraphOp<TenantInformation>, Error> {
    if !is_guid(id) {
        return Err(Error::invalid_input(
            "tenantId",
            format!(
                "`{id}` is not a tenant id (a GUID); look a domain up with find_tenant_by_domain"
            ),
        ));
    }
    Ok(GraphOp::new(
        ApiRequest::get(
            tenant.clone(),
            Audience::Graph,
            format!("/v1.0/tenantRelationships/findTenantInformationByTenantId(tenantId='{id}')"),
        )
        .operation("find tenant information by id"),
        json,
    ))
}

/// Looks a tenant up by one of its domains
/// (`GET /tenantRelationships/findTenantInformationByDomainName(domainName='…')`).
/// Refused locally unless `domain` looks like a domain name.
pub fn find_tenant_by_domain(
    tenant: &TenantId,
    domain: &str,
) -> Result<GraphOp<TenantInformation>, Error> {
    let valid = domain.contains('.')
        && domain.len() <= 253
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    if !valid {
        return Err(Error::invalid_input(
            "domainName",
            format!("`{domain}` is not a domain name"),
        ));
    }
    Ok(GraphOp::new(
        ApiRequest::get(
            tenant.clone(),
            Audience::Graph,
            format!(
                "/v1.0/tenantRelationships/findTenantInformationByDomainName(domainName='{}')",
                encode_component(domain)
            ),
        )
        .operation("find tenant information by domain"),
        json,
    ))
}

/// GDAP operations, called on the partner tenant (`graph.tenant(&partner).gdap()`).
#[derive(Clone, Debug)]
pub struct Gdap(pub(crate) crate::TenantGraph);

impl Gdap {
    /// Relationships (`delegatedAdminRelationships`).
    pub fn relationships(&self) -> crate::List<DelegatedAdminRelationship> {
        self.0.list(list)
    }
    /// One relationship.
    pub fn relationship(&self, id: &str) -> crate::Call<DelegatedAdminRelationship> {
        self.0.call(get(self.0.id(), id))
    }
    /// Creates a relationship (status `created`).
    pub fn create_relationship(
        &self,
        new: &NewRelationship,
    ) -> crate::Call<DelegatedAdminRelationship> {
        self.0.call(create(self.0.id(), new))
    }
    /// Changes a relationship (with its ETag).
    pub fn update_relationship(
        &self,
        current: &DelegatedAdminRelationship,
        patch: &RelationshipPatch,
    ) -> crate::Call<DelegatedAdminRelationship> {
        self.0.call(update(self.0.id(), current, patch))
    }
    /// Locks a relationship for customer approval.
    pub fn lock_for_approval(&self, id: &str) -> crate::Call<RelationshipRequest> {
        self.0.call(lock_for_approval(self.0.id(), id))
    }
    /// Terminates a relationship.
    pub fn terminate(&self, id: &str) -> crate::Call<RelationshipRequest> {
        self.0.call(terminate(self.0.id(), id))
    }
    /// A relationship's access assignments.
    pub fn access_assignments(&self, relationship: &str) -> crate::List<AccessAssignment> {
        self.0.list_of(list_assignments(self.0.id(), relationship))
    }
    /// Maps a security group to roles of a relationship.
    pub fn create_access_assignment(
        &self,
        relationship: &DelegatedAdminRelationship,
        group: &crate::model::GroupId,
        roles: &[String],
    ) -> crate::Call<AccessAssignment> {
        self.0.call(create_assignment(
            self.0.id(),
            relationship,
            group.as_str(),
            roles,
        ))
    }
    /// Changes an access assignment's roles (with its ETag).
    pub fn update_access_assignment(
        &self,
        relationship: &str,
        current: &AccessAssignment,
        roles: &[String],
    ) -> crate::Call<AssignmentUpdate> {
        self.0
            .call(update_assignment(self.0.id(), relationship, current, roles))
    }
    /// Deletes an access assignment (with its ETag).
    pub fn delete_access_assignment(
        &self,
        relationship: &str,
        current: &AccessAssignment,
    ) -> crate::Call<()> {
        self.0
            .call(delete_assignment(self.0.id(), relationship, current))
    }
    /// A relationship's long-running operations.
    pub fn operations(&self, relationship: &str) -> crate::List<RelationshipOperation> {
        self.0.list_of(list_operations(self.0.id(), relationship))
    }
    /// The partner's GDAP customers (`delegatedAdminCustomers`).
    pub fn delegated_customers(&self) -> crate::List<DelegatedAdminCustomer> {
        self.0.list_of(Ok(list_customers(self.0.id())))
    }
    /// What Entra tells about the tenant with id `id` (a GUID).
    pub fn find_tenant_by_id(&self, id: &str) -> crate::Call<TenantInformation> {
        self.0.call(find_tenant_by_id(self.0.id(), id))
    }
    /// What Entra tells about the tenant owning `domain`.
    pub fn find_tenant_by_domain(&self, domain: &str) -> crate::Call<TenantInformation> {
        self.0.call(find_tenant_by_domain(self.0.id(), domain))
    }
    /// The customers of the active relationships, one entry per customer tenant.
    pub async fn customers(&self) -> Result<Vec<CustomerTenant>, Error> {
        let active = self.relationships().query(active_query()).await?;
        Ok(customers(&active))
    }
}
