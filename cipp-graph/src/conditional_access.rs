//! Conditional Access as request values: policies (list, get, create, update, delete),
//! named locations (list, create, update), authentication strengths (list, create),
//! authentication contexts (list, create or update), and the
//! security-defaults policy (read, disable). Graph allows one Conditional Access request
//! per second per tenant and sends no `Retry-After`; the pipeline's governor paces them.
//!
//! ```
//! use cipp_core::TenantId;
//! use cipp_graph::conditional_access as ca;
//! use cipp_graph::model::NamedLocation;
//!
//! let t = TenantId::parse("contoso.onmicrosoft.com")?;
//! let office = NamedLocation::ip("Head office", true, &["203.0.113.0/24"]);
//! assert_eq!(ca::create_named_location(&t, &office)?.request().path(),
//!            "/v1.0/identity/conditionalAccess/namedLocations");
//! assert!(ca::create_named_location(&t, &NamedLocation::ip("Bad", true, &["203.0.113.0/40"])).is_err());
//! # Ok::<(), cipp_core::Error>(())
//! ```

use std::net::IpAddr;

use cipp_core::request::encode_component;
use cipp_core::{ApiRequest, Error, TenantId};
use http::Method;
use serde_json::{json, Value};

use crate::model::{
    AuthenticationContext, AuthenticationStrengthPolicy, ConditionalAccessPolicy, NamedLocation,
    NamedLocationKind, SecurityDefaultsPolicy,
};
use crate::odata::Query;
use crate::op::{delete, get, guid, json, list, patch, request, with_body, GraphOp};

const POLICIES: &str = "/v1.0/identity/conditionalAccess/policies";
const LOCATIONS: &str = "/v1.0/identity/conditionalAccess/namedLocations";
const STRENGTHS: &str = "/v1.0/policies/authenticationStrengthPolicies";
const CONTEXTS: &str = "/v1.0/identity/conditionalAccess/authenticationContextClassReferences";
const SECURITY_DEFAULTS: &str = "/v1.0/policies/identitySecurityDefaultsEnforcementPolicy";

fn id_path(base: &str, what: &str, id: &str) -> Result<String, Error> {
    let id = guid(what, id, &format!("a {what} id (GUID)"))?;
    Ok(format!("{base}/{}", encode_component(&id)))
}

/// The policy as a request body: read-only fields (`id`, timestamps, `@odata.*`,
/// `templateId`) removed.
fn policy_body(p: &ConditionalAccessPolicy) -> Result<Value, Error> {
    if p.display_name.trim().is_empty() {
        return Err(Error::invalid_input("displayName", "a policy needs a name"));
    }
    if p.state.is_none() {
        return Err(Error::invalid_input(
            "state",
            "set enabled, disabled or report-only (enabledForReportingButNotEnforced)",
        ));
    }
    if p.conditions.as_ref().is_none_or(|c| !c.is_object()) {
        return Err(Error::invalid_input(
            "conditions",
            "a policy needs conditions (at least users and applications)",
        ));
    }
    if p.grant_controls.is_none() && p.session_controls.is_none() {
        return Err(Error::invalid_input(
            "grantControls",
            "a policy needs grant controls or session controls",
        ));
    }
    let mut v = serde_json::to_value(p)
        .map_err(|e| Error::invalid_input("policy", format!("cannot serialise: {e}")))?;
    if let Some(o) = v.as_object_mut() {
        o.retain(|k, _| {
            !k.starts_with("@odata.")
                && !matches!(
                    k.as_str(),
                    "id" | "createdDateTime" | "modifiedDateTime" | "templateId"
                )
        });
    }
    Ok(v)
}

/// PATCH `{base}/{id}` with `body` (204; idempotent). The id is checked first.
fn update(
    tenant: &TenantId,
    base: &str,
    what: &str,
    id: &str,
    body: Result<Value, Error>,
    operation: &'static str,
) -> Result<GraphOp<()>, Error> {
    let path = id_path(base, what, id)?;
    patch(tenant, path, operation, &body?)
}

/// Lists policies, paged.
pub fn list_policies(tenant: &TenantId, query: &Query) -> Result<ApiRequest, Error> {
    list(tenant, POLICIES, "list conditional access policies", query)
}

/// Gets a policy.
pub fn get_policy(tenant: &TenantId, id: &str) -> Result<GraphOp<ConditionalAccessPolicy>, Error> {
    let path = id_path(POLICIES, "policy", id)?;
    Ok(get(tenant, path, "get conditional access policy"))
}

/// Creates a policy (201 + the policy). Read-only fields of a captured policy are
/// dropped; name, state, conditions and controls are required.
pub fn create_policy(
    tenant: &TenantId,
    policy: &ConditionalAccessPolicy,
) -> Result<GraphOp<ConditionalAccessPolicy>, Error> {
    let body = policy_body(policy)?;
    with_body(
        tenant,
        Method::POST,
        POLICIES,
        "create conditional access policy",
        &body,
        json,
    )
}

/// Replaces a policy's settings (PATCH with the whole policy; 204).
pub fn update_policy(
    tenant: &TenantId,
    id: &str,
    policy: &ConditionalAccessPolicy,
) -> Result<GraphOp<()>, Error> {
    update(
        tenant,
        POLICIES,
        "policy",
        id,
        policy_body(policy),
        "update conditional access policy",
    )
}

/// Changes only a policy's state (PATCH `{"state": …}`; 204).
pub fn set_policy_state(
    tenant: &TenantId,
    id: &str,
    state: &crate::model::PolicyState,
) -> Result<GraphOp<()>, Error> {
    let path = id_path(POLICIES, "policy", id)?;
    let body = json!({"state": state.as_str()});
    patch(tenant, path, "set conditional access policy state", &body)
}

/// Deletes a policy (204).
pub fn delete_policy(tenant: &TenantId, id: &str) -> Result<GraphOp<()>, Error> {
    let path = id_path(POLICIES, "policy", id)?;
    Ok(delete(tenant, path, "delete conditional access policy"))
}

/// Lists named locations, paged.
pub fn list_named_locations(tenant: &TenantId, query: &Query) -> Result<ApiRequest, Error> {
    list(tenant, LOCATIONS, "list named locations", query)
}

fn check_cidr(c: &str) -> bool {
    let Some((addr, prefix)) = c.split_once('/') else {
        return false;
    };
    let Ok(prefix) = prefix.parse::<u8>() else {
        return false;
    };
    match addr.parse::<IpAddr>() {
        Ok(IpAddr::V4(_)) => prefix <= 32,
        Ok(IpAddr::V6(_)) => prefix <= 128,
        Err(_) => false,
    }
}

fn location_body(l: &NamedLocation) -> Result<Value, Error> {
    if l.display_name.trim().is_empty() {
        return Err(Error::invalid_input(
            "displayName",
            "a location needs a name",
        ));
    }
    match l.kind() {
        NamedLocationKind::Ip => {
            let ranges = l.ip_ranges.as_deref().unwrap_or_default();
            if ranges.is_empty() {
                return Err(Error::invalid_input(
                    "ipRanges",
                    "at least one IP range is needed",
                ));
            }
            for r in ranges {
                let c = r["cidrAddress"].as_str().unwrap_or("");
                if !check_cidr(c) {
                    return Err(Error::invalid_input(
                        "ipRanges",
                        format!("`{c}` is not an IPv4 or IPv6 range in CIDR notation"),
                    ));
                }
            }
        }
        NamedLocationKind::Country => {
            let codes = l.countries_and_regions.as_deref().unwrap_or_default();
            if codes.is_empty() {
                return Err(Error::invalid_input(
                    "countriesAndRegions",
                    "at least one country is needed",
                ));
            }
            if let Some(bad) = codes
                .iter()
                .find(|c| c.len() != 2 || !c.chars().all(|x| x.is_ascii_alphabetic()))
            {
                return Err(Error::invalid_input(
                    "countriesAndRegions",
                    format!("`{bad}` is not an ISO 3166 two-letter country code"),
                ));
            }
        }
        NamedLocationKind::Unknown(t) => {
            return Err(Error::invalid_input(
                "@odata.type",
                format!("`{t}` is not an IP or country named location"),
            ))
        }
    }
    let mut v = serde_json::to_value(l)
        .map_err(|e| Error::invalid_input("location", format!("cannot serialise: {e}")))?;
    if let Some(o) = v.as_object_mut() {
        o.retain(|k, _| {
            !matches!(
                k.as_str(),
                "id" | "createdDateTime" | "modifiedDateTime" | "@odata.context"
            )
        });
    }
    Ok(v)
}

/// Creates a named location (201 + the location), after checking the ranges (CIDR) or
/// country codes.
pub fn create_named_location(
    tenant: &TenantId,
    location: &NamedLocation,
) -> Result<GraphOp<NamedLocation>, Error> {
    let body = location_body(location)?;
    with_body(
        tenant,
        Method::POST,
        LOCATIONS,
        "create named location",
        &body,
        json,
    )
}

/// Updates a named location (PATCH; 204). The `@odata.type` must stay the same.
pub fn update_named_location(
    tenant: &TenantId,
    id: &str,
    location: &NamedLocation,
) -> Result<GraphOp<()>, Error> {
    update(
        tenant,
        LOCATIONS,
        "named location",
        id,
        location_body(location),
        "update named location",
    )
}

/// Lists authentication strength policies, paged.
pub fn list_authentication_strengths(tenant: &TenantId) -> ApiRequest {
    request(
        tenant,
        Method::GET,
        STRENGTHS,
        "list authentication strengths",
    )
}

/// Creates a custom authentication strength
/// (`POST /policies/authenticationStrengthPolicies`; 201 + the policy). Only its name,
/// description and allowed combinations are sent; a name and at least one combination
/// (each `method,method…`, letters only) are required.
pub fn create_authentication_strength(
    tenant: &TenantId,
    strength: &AuthenticationStrengthPolicy,
) -> Result<GraphOp<AuthenticationStrengthPolicy>, Error> {
    let name = strength.display_name.trim();
    if name.is_empty() || name.len() > 30 {
        return Err(Error::invalid_input(
            "displayName",
            "an authentication strength needs a name of 1 to 30 characters",
        ));
    }
    if strength.allowed_combinations.is_empty() {
        return Err(Error::invalid_input(
            "allowedCombinations",
            "an authentication strength needs at least one allowed combination",
        ));
    }
    if let Some(bad) = strength.allowed_combinations.iter().find(|c| {
        c.is_empty()
            || !c
                .split(',')
                .all(|m| !m.is_empty() && m.chars().all(|ch| ch.is_ascii_alphanumeric()))
    }) {
        return Err(Error::invalid_input(
            "allowedCombinations",
            format!(
                "`{bad}` is not a combination of methods (`password,microsoftAuthenticatorPush`)"
            ),
        ));
    }
    let mut body = json!({
        "@odata.type": "#microsoft.graph.authenticationStrengthPolicy",
        "displayName": name,
        "allowedCombinations": strength.allowed_combinations,
    });
    if let Some(d) = strength.extra.get("description").filter(|d| !d.is_null()) {
        body["description"] = d.clone();
    }
    with_body(
        tenant,
        Method::POST,
        STRENGTHS,
        "create authentication strength",
        &body,
        json,
    )
}

/// Lists authentication contexts (`authenticationContextClassReferences`), paged.
pub fn list_authentication_contexts(tenant: &TenantId) -> ApiRequest {
    request(
        tenant,
        Method::GET,
        CONTEXTS,
        "list authentication contexts",
    )
}

/// Creates or updates authentication context `context.id` (`c1` … `c99`) with its name,
/// description and availability (`PATCH …/authenticationContextClassReferences/{id}`, v1.0's
/// create-or-update).
pub fn upsert_authentication_context(
    tenant: &TenantId,
    context: &AuthenticationContext,
) -> Result<GraphOp<()>, Error> {
    let valid_id = context
        .id
        .strip_prefix('c')
        .and_then(|n| n.parse::<u8>().ok())
        .is_some_and(|n| (1..=99).contains(&n))
        && !context.id.starts_with("c0");
    if !valid_id {
        return Err(Error::invalid_input(
            "id",
            format!(
                "`{}` is not an authentication context id (c1 … c99)",
                context.id
            ),
        ));
    }
    let name = context.display_name.as_deref().unwrap_or("").trim();
    if name.is_empty() {
        return Err(Error::invalid_input(
            "displayName",
            "an authentication context needs a name",
        ));
    }
    let body = json!({
        "displayName": name,
        "description": context.description,
        "isAvailable": context.is_available.unwrap_or(true),
    });
    patch(
        tenant,
        format!("{CONTEXTS}/{}", context.id),
        "create or update authentication context",
        &body,
    )
}

/// Reads the security-defaults policy.
pub fn get_security_defaults(tenant: &TenantId) -> GraphOp<SecurityDefaultsPolicy> {
    get(tenant, SECURITY_DEFAULTS, "get security defaults")
}

/// Turns security defaults off (PATCH `{"isEnabled": false}`; 204) — needed before
/// Conditional Access policies can be enforced.
pub fn disable_security_defaults(tenant: &TenantId) -> Result<GraphOp<()>, Error> {
    let body = json!({"isEnabled": false});
    patch(
        tenant,
        SECURITY_DEFAULTS,
        "disable security defaults",
        &body,
    )
}

/// Conditional Access in one tenant (`graph.tenant(&t).conditional_access()`).
#[derive(Clone, Debug)]
pub struct ConditionalAccess(pub(crate) crate::TenantGraph);

impl ConditionalAccess {
    /// Policies.
    pub fn policies(&self) -> crate::List<ConditionalAccessPolicy> {
        self.0.list(list_policies)
    }
    /// One policy.
    pub fn policy(&self, id: &str) -> crate::Call<ConditionalAccessPolicy> {
        self.0.call(get_policy(self.0.id(), id))
    }
    /// Creates a policy (read-only fields are left out).
    pub fn create_policy(
        &self,
        policy: &ConditionalAccessPolicy,
    ) -> crate::Call<ConditionalAccessPolicy> {
        self.0.call(create_policy(self.0.id(), policy))
    }
    /// Replaces a policy's settings.
    pub fn update_policy(&self, id: &str, policy: &ConditionalAccessPolicy) -> crate::Call<()> {
        self.0.call(update_policy(self.0.id(), id, policy))
    }
    /// Changes only a policy's state.
    pub fn set_policy_state(&self, id: &str, state: &crate::model::PolicyState) -> crate::Call<()> {
        self.0.call(set_policy_state(self.0.id(), id, state))
    }
    /// Deletes a policy.
    pub fn delete_policy(&self, id: &str) -> crate::Call<()> {
        self.0.call(delete_policy(self.0.id(), id))
    }
    /// Named locations.
    pub fn named_locations(&self) -> crate::List<NamedLocation> {
        self.0.list(list_named_locations)
    }
    /// Creates a named location.
    pub fn create_named_location(&self, location: &NamedLocation) -> crate::Call<NamedLocation> {
        self.0.call(create_named_location(self.0.id(), location))
    }
    /// Replaces a named location's settings.
    pub fn update_named_location(&self, id: &str, location: &NamedLocation) -> crate::Call<()> {
        self.0
            .call(update_named_location(self.0.id(), id, location))
    }
    /// Authentication strength policies.
    pub fn authentication_strengths(
        &self,
    ) -> crate::List<crate::model::AuthenticationStrengthPolicy> {
        self.0
            .list_of(Ok(list_authentication_strengths(self.0.id())))
    }
    /// Creates a custom authentication strength.
    pub fn create_authentication_strength(
        &self,
        strength: &AuthenticationStrengthPolicy,
    ) -> crate::Call<AuthenticationStrengthPolicy> {
        self.0
            .call(create_authentication_strength(self.0.id(), strength))
    }
    /// Authentication contexts.
    pub fn authentication_contexts(&self) -> crate::List<AuthenticationContext> {
        self.0
            .list_of(Ok(list_authentication_contexts(self.0.id())))
    }
    /// Creates or updates an authentication context.
    pub fn upsert_authentication_context(
        &self,
        context: &AuthenticationContext,
    ) -> crate::Call<()> {
        self.0
            .call(upsert_authentication_context(self.0.id(), context))
    }
    /// The security defaults policy.
    pub fn security_defaults(&self) -> crate::Call<crate::model::SecurityDefaultsPolicy> {
        self.0.call(Ok(get_security_defaults(self.0.id())))
    }
    /// Turns security defaults off.
    pub fn disable_security_defaults(&self) -> crate::Call<()> {
        self.0.call(disable_security_defaults(self.0.id()))
    }
}
