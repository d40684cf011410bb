//! Entra ID policy objects per tenant (state in [`crate::state::policies`]): the
//! authorization policy, the authentication methods policy and each method's
//! configuration, the admin consent request policy (`PUT`), the cross-tenant access
//! default, the default app management policy, the beta device registration (`PUT`) and
//! external identities policies, directory settings (`groupSettings`, beta `settings`) and
//! their templates, permission grant policies and their includes, and each domain's
//! password policy (`domains/{id}`), and the organization's people insights settings
//! (`organization/{id}/settings/peopleInsights`, for the tenant's own organization id
//! only).
//!
//! A `PATCH` merges nested objects as Graph does (`{"defaultUserRolePermissions":
//! {"allowedToCreateApps": false}}` keeps the other permissions) and replaces arrays; a
//! property the type does not have is refused with OData's 400, as is a value outside the
//! documented range (guest role ids, invite settings, states, lifetimes, banned password
//! words, password validity days). A method configuration's `PATCH` must name its
//! `@odata.type`; an unknown configuration id is a 404. The beta-only policies answer 400
//! on v1.0. Security defaults are served by `conditional_access`.

use serde_json::{json, Map, Value};

use super::{error, list, not_found, routes, with_context, Answer, Ctx, Params, Route};
use crate::state::policies::{
    builtin_permission_grant_policies, setting_templates, GUEST_ROLES, METHOD_IDS,
};
use crate::Reply;

pub(crate) const ROUTES: &[Route] = routes![
    GET "policies/authorizationpolicy" => get_authorization,
    PATCH "policies/authorizationpolicy" => patch_authorization,
    GET "policies/authorizationpolicy/{id}" => get_authorization_by_id,
    PATCH "policies/authorizationpolicy/{id}" => patch_authorization_by_id,
    GET "policies/authenticationmethodspolicy" => get_methods_policy,
    PATCH "policies/authenticationmethodspolicy" => patch_methods_policy,
    GET "policies/authenticationmethodspolicy/authenticationmethodconfigurations" => list_methods,
    GET "policies/authenticationmethodspolicy/authenticationmethodconfigurations/{id}" => get_method,
    PATCH "policies/authenticationmethodspolicy/authenticationmethodconfigurations/{id}" => patch_method,
    GET "policies/adminconsentrequestpolicy" => get_consent_requests,
    PUT "policies/adminconsentrequestpolicy" => put_consent_requests,
    GET "policies/crosstenantaccesspolicy/default" => get_cross_tenant,
    PATCH "policies/crosstenantaccesspolicy/default" => patch_cross_tenant,
    GET "policies/defaultappmanagementpolicy" => get_app_management,
    PATCH "policies/defaultappmanagementpolicy" => patch_app_management,
    GET "policies/deviceregistrationpolicy" => get_device_registration,
    PUT "policies/deviceregistrationpolicy" => put_device_registration,
    GET "policies/externalidentitiespolicy" => get_external_identities,
    PATCH "policies/externalidentitiespolicy" => patch_external_identities,
    GET "groupsettings" => list_settings,
    POST "groupsettings" => create_setting,
    GET "groupsettings/{id}" => get_setting,
    PATCH "groupsettings/{id}" => patch_setting,
    DELETE "groupsettings/{id}" => delete_setting,
    GET "settings" => list_settings,
    POST "settings" => create_setting,
    GET "settings/{id}" => get_setting,
    PATCH "settings/{id}" => patch_setting,
    DELETE "settings/{id}" => delete_setting,
    GET "groupsettingtemplates" => list_templates,
    GET "groupsettingtemplates/{id}" => get_template,
    GET "directorysettingtemplates" => list_templates,
    GET "directorysettingtemplates/{id}" => get_template,
    GET "domains/{id}" => get_domain,
    PATCH "domains/{id}" => patch_domain,
    GET "policies/permissiongrantpolicies" => list_grant_policies,
    POST "policies/permissiongrantpolicies" => create_grant_policy,
    GET "policies/permissiongrantpolicies/{id}" => get_grant_policy,
    DELETE "policies/permissiongrantpolicies/{id}" => delete_grant_policy,
    GET "policies/permissiongrantpolicies/{id}/includes" => list_includes,
    POST "policies/permissiongrantpolicies/{id}/includes" => add_include,
    DELETE "policies/permissiongrantpolicies/{id}/includes/{include}" => delete_include,
    GET "organization/{id}/settings/peopleinsights" => get_people_insights,
    PATCH "organization/{id}/settings/peopleinsights" => patch_people_insights,
];

// ---- shared rules

fn bad(message: &str) -> Reply {
    error(400, "BadRequest", message)
}

fn unknown_property(name: &str, ty: &str) -> Reply {
    bad(&format!(
        "The property '{name}' does not exist on type 'microsoft.graph.{ty}'. Make sure to only use property names that are defined by the type."
    ))
}

fn invalid_value(name: &str, ty: &str) -> Reply {
    bad(&format!(
        "Invalid value specified for property '{name}' of resource '{ty}'."
    ))
}

/// `v` as a single entity of `entity` set (`policies/authorizationPolicy`).
fn entity(ctx: &Ctx<'_, '_>, entity: &str, v: Value) -> Reply {
    Reply::json(
        200,
        with_context(v, ctx.req.version, &format!("{entity}/$entity")),
    )
}

/// Merges `changes` into `current` as a Graph `PATCH` does: nested objects merged, arrays
/// and values replaced; a property `current` does not have is unknown to the type (keys
/// with `@` are annotations and skipped; `open` names objects whose keys are free).
fn merge(
    current: &mut Value,
    changes: &Map<String, Value>,
    ty: &str,
    open: &[&str],
) -> Result<(), Reply> {
    for (k, v) in changes {
        if k.contains('@') {
            continue;
        }
        let Some(slot) = current.get_mut(k.as_str()) else {
            return Err(unknown_property(k, ty));
        };
        match (slot, v) {
            (slot @ Value::Object(_), Value::Object(inner)) if !open.contains(&k.as_str()) => {
                merge(slot, inner, ty, open)?;
            }
            (slot, v) => *slot = v.clone(),
        }
    }
    Ok(())
}

fn one_of(v: &Value, allowed: &[&str]) -> bool {
    v.as_str().is_some_and(|s| allowed.contains(&s))
}

fn is_bool_or_absent(v: &Value) -> bool {
    v.is_null() || v.is_boolean()
}

fn in_range(v: &Value, min: i64, max: i64) -> bool {
    v.as_i64().is_some_and(|n| (min..=max).contains(&n))
}

/// Beta-only resources answer v1.0 as an unknown segment.
fn beta_only(ctx: &Ctx<'_, '_>, segment: &str) -> Result<(), Reply> {
    if ctx.req.version == "beta" {
        Ok(())
    } else {
        Err(bad(&format!(
            "Resource not found for the segment '{segment}'."
        )))
    }
}

fn policy_target(id: &str, name: &str, modified: Vec<Value>) -> Value {
    json!({"id": id, "displayName": name, "type": "Policy", "modifiedProperties": modified})
}

// ---- organization/{id}/settings/peopleInsights

/// The tenant's own organization (its id is the tenant GUID), or Graph's 404.
fn own_organization(ctx: &Ctx<'_, '_>, id: &str) -> Result<(), Reply> {
    if id.eq_ignore_ascii_case(&ctx.t.id) {
        Ok(())
    } else {
        Err(not_found(id))
    }
}

fn get_people_insights(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    own_organization(ctx, p.get(0))?;
    let v = ctx.t.policies.people_insights.clone();
    let context = format!("organization('{}')/settings/peopleInsights", ctx.t.id);
    Ok(entity(ctx, &context, v))
}

fn patch_people_insights(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    own_organization(ctx, p.get(0))?;
    let ty = "insightsSettings";
    let changes = ctx.req.object()?;
    let mut next = ctx.t.policies.people_insights.clone();
    merge(&mut next, &changes, ty, &[])?;
    if !next["isEnabledInOrganization"].is_boolean() {
        return Err(invalid_value("isEnabledInOrganization", ty));
    }
    if !(next["disabledForGroup"].is_null() || next["disabledForGroup"].is_string()) {
        return Err(invalid_value("disabledForGroup", ty));
    }
    ctx.t.policies.people_insights = next;
    Ok(Reply::empty(204))
}

// ---- authorizationPolicy

fn get_authorization(ctx: &mut Ctx<'_, '_>, _: &Params) -> Answer {
    let v = ctx.t.policies.authorization.clone();
    Ok(entity(ctx, "policies/authorizationPolicy", v))
}

fn patch_authorization(ctx: &mut Ctx<'_, '_>, _: &Params) -> Answer {
    let changes = ctx.req.object()?;
    if changes.contains_key("id") {
        return Err(bad("Property 'id' is read-only and cannot be set."));
    }
    let mut next = ctx.t.policies.authorization.clone();
    merge(&mut next, &changes, "authorizationPolicy", &[])?;
    check_authorization(ctx, &next)?;
    let modified = crate::state::modified_properties(&ctx.t.policies.authorization, &changes);
    ctx.t.policies.authorization = next;
    let target = policy_target("authorizationPolicy", "Authorization Policy", modified);
    ctx.audit(
        "Update authorization policy",
        "Policy",
        "Update",
        vec![target],
    );
    Ok(Reply::empty(204))
}

/// Beta's `policies/authorizationPolicy/authorizationPolicy`.
fn get_authorization_by_id(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    if !p.get(0).eq_ignore_ascii_case("authorizationPolicy") {
        return Err(not_found(p.get(0)));
    }
    get_authorization(ctx, p)
}

fn patch_authorization_by_id(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    if !p.get(0).eq_ignore_ascii_case("authorizationPolicy") {
        return Err(not_found(p.get(0)));
    }
    patch_authorization(ctx, p)
}

fn check_authorization(ctx: &Ctx<'_, '_>, p: &Value) -> Result<(), Reply> {
    let ty = "authorizationPolicy";
    let invites = [
        "none",
        "adminsAndGuestInviters",
        "adminsGuestInvitersAndAllMembers",
        "everyone",
    ];
    if !one_of(&p["allowInvitesFrom"], &invites) {
        return Err(invalid_value("allowInvitesFrom", ty));
    }
    if !p["guestUserRoleId"]
        .as_str()
        .is_some_and(|g| GUEST_ROLES.iter().any(|r| r.eq_ignore_ascii_case(g)))
    {
        return Err(invalid_value("guestUserRoleId", ty));
    }
    for k in [
        "allowedToSignUpEmailBasedSubscriptions",
        "allowedToUseSSPR",
        "allowEmailVerifiedUsersToJoinOrganization",
        "allowUserConsentForRiskyApps",
        "blockMsolPowerShell",
    ] {
        if !is_bool_or_absent(&p[k]) {
            return Err(invalid_value(k, ty));
        }
    }
    let perms = &p["defaultUserRolePermissions"];
    for (k, v) in perms.as_object().into_iter().flatten() {
        if k != "permissionGrantPoliciesAssigned" && !v.is_boolean() {
            return Err(invalid_value(k, ty));
        }
    }
    for a in perms["permissionGrantPoliciesAssigned"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let known = a
            .as_str()
            .and_then(|s| s.split_once('.'))
            .is_some_and(|(kind, id)| {
                matches!(
                    kind,
                    "ManagePermissionGrantsForSelf" | "ManagePermissionGrantsForOwnedResource"
                ) && (id.starts_with("microsoft-") || grant_policy(ctx, id).is_some())
            });
        if !known {
            return Err(bad(&format!(
                "Permission grant policy '{}' does not exist.",
                a.as_str().unwrap_or_default()
            )));
        }
    }
    Ok(())
}

// ---- authenticationMethodsPolicy and method configurations

/// The canonical id of a method configuration (case-insensitive), or `None`.
fn method_id(key: &str) -> Option<&'static str> {
    METHOD_IDS
        .iter()
        .copied()
        .find(|id| id.eq_ignore_ascii_case(key))
}

fn method(ctx: &Ctx<'_, '_>, id: &str) -> Option<Value> {
    if id == "TemporaryAccessPass" {
        let mut tap = ctx.t.auth.tap_policy.clone();
        if tap.get("excludeTargets").is_none() {
            tap["excludeTargets"] = json!([]);
        }
        return Some(tap);
    }
    ctx.t.policies.method_configurations.get(id).cloned()
}

fn method_not_found(key: &str) -> Reply {
    error(
        404,
        "NotFound",
        &format!(
            "Authentication method configuration '{key}' was not found. Use one of {}.",
            METHOD_IDS.join(", ")
        ),
    )
}

fn all_methods(ctx: &Ctx<'_, '_>) -> Vec<Value> {
    METHOD_IDS.iter().filter_map(|id| method(ctx, id)).collect()
}

fn get_methods_policy(ctx: &mut Ctx<'_, '_>, _: &Params) -> Answer {
    let mut v = ctx.t.policies.authentication_methods.clone();
    v["authenticationMethodConfigurations"] = Value::Array(all_methods(ctx));
    Ok(entity(ctx, "policies/authenticationMethodsPolicy", v))
}

fn patch_methods_policy(ctx: &mut Ctx<'_, '_>, _: &Params) -> Answer {
    let ty = "authenticationMethodsPolicy";
    let changes = ctx.req.object()?;
    for k in [
        "id",
        "authenticationMethodConfigurations",
        "lastModifiedDateTime",
    ] {
        if changes.contains_key(k) {
            return Err(bad(&format!(
                "Property '{k}' is read-only and cannot be set."
            )));
        }
    }
    let mut next = ctx.t.policies.authentication_methods.clone();
    merge(&mut next, &changes, ty, &[])?;
    let campaign = &next["registrationEnforcement"]["authenticationMethodsRegistrationCampaign"];
    let states = ["default", "enabled", "disabled"];
    if !one_of(&campaign["state"], &states) {
        return Err(invalid_value(
            "state",
            "authenticationMethodsRegistrationCampaign",
        ));
    }
    if !in_range(&campaign["snoozeDurationInDays"], 0, 14) {
        return Err(bad("snoozeDurationInDays must be between 0 and 14."));
    }
    if !is_bool_or_absent(&campaign["enforceRegistrationAfterAllowedSnoozes"]) {
        return Err(invalid_value(
            "enforceRegistrationAfterAllowedSnoozes",
            "authenticationMethodsRegistrationCampaign",
        ));
    }
    for k in [
        "reportSuspiciousActivitySettings",
        "systemCredentialPreferences",
    ] {
        if !one_of(&next[k]["state"], &states) {
            return Err(invalid_value("state", k));
        }
    }
    let migration = ["preMigration", "migrationInProgress", "migrationComplete"];
    if !one_of(&next["policyMigrationState"], &migration) {
        return Err(invalid_value("policyMigrationState", ty));
    }
    next["lastModifiedDateTime"] = json!(ctx.req.now);
    ctx.t.policies.authentication_methods = next;
    let target = policy_target(ty, "Authentication Methods Policy", Vec::new());
    ctx.audit(
        "Authentication Methods Policy Update",
        "Policy",
        "Update",
        vec![target],
    );
    Ok(Reply::empty(204))
}

fn list_methods(ctx: &mut Ctx<'_, '_>, _: &Params) -> Answer {
    let items = all_methods(ctx);
    Ok(list(
        ctx.req,
        items,
        "policies/authenticationMethodsPolicy/authenticationMethodConfigurations",
        None,
    ))
}

fn get_method(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let id = method_id(p.get(0)).ok_or_else(|| method_not_found(p.get(0)))?;
    let v = method(ctx, id).ok_or_else(|| method_not_found(p.get(0)))?;
    Ok(entity(
        ctx,
        "policies/authenticationMethodsPolicy/authenticationMethodConfigurations",
        v,
    ))
}

fn patch_method(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let id = method_id(p.get(0)).ok_or_else(|| method_not_found(p.get(0)))?;
    let current = method(ctx, id).ok_or_else(|| method_not_found(p.get(0)))?;
    let changes = ctx.req.object()?;
    let ty = current["@odata.type"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    match changes.get("@odata.type").and_then(Value::as_str) {
        None => {
            return Err(bad(&format!(
                "The request body must name the configuration's type: \"@odata.type\": \"{ty}\"."
            )))
        }
        Some(t) if !t.eq_ignore_ascii_case(&ty) => {
            return Err(bad(&format!(
                "The type '{t}' does not match the configuration '{id}' ({ty})."
            )))
        }
        Some(_) => {}
    }
    if changes.get("id").is_some_and(|v| v.as_str() != Some(id)) {
        return Err(bad("Property 'id' is read-only and cannot be set."));
    }
    let type_name = ty.trim_start_matches("#microsoft.graph.").to_owned();
    let mut next = current.clone();
    for k in ["excludeTargets", "includeTargets"] {
        if next.get(k).is_none() {
            next[k] = json!([]);
        }
    }
    let mut changes = changes;
    changes.remove("id");
    merge(&mut next, &changes, &type_name, &[])?;
    check_method(id, &next, &type_name)?;
    if id == "TemporaryAccessPass" {
        ctx.t.auth.tap_policy = next;
    } else {
        ctx.t
            .policies
            .method_configurations
            .insert(id.to_owned(), next);
    }
    let target = policy_target(id, id, Vec::new());
    ctx.audit(
        "Authentication Methods Policy Update",
        "Policy",
        "Update",
        vec![target],
    );
    Ok(Reply::empty(204))
}

fn check_method(id: &str, m: &Value, ty: &str) -> Result<(), Reply> {
    if !one_of(&m["state"], &["enabled", "disabled"]) {
        return Err(invalid_value("state", ty));
    }
    for k in ["includeTargets", "excludeTargets"] {
        let ok = m[k].as_array().is_some_and(|ts| {
            ts.iter().all(|t| {
                t["id"].as_str().is_some_and(|s| !s.is_empty())
                    && one_of(&t["targetType"], &["group", "user"])
            })
        });
        if !ok {
            return Err(invalid_value(k, ty));
        }
    }
    match id {
        "MicrosoftAuthenticator" => {
            if !is_bool_or_absent(&m["isSoftwareOathEnabled"]) {
                return Err(invalid_value("isSoftwareOathEnabled", ty));
            }
            for (k, f) in m["featureSettings"].as_object().into_iter().flatten() {
                if !one_of(&f["state"], &["default", "enabled", "disabled"]) {
                    return Err(invalid_value(k, "microsoftAuthenticatorFeatureSettings"));
                }
            }
        }
        "TemporaryAccessPass" => {
            let min = m["minimumLifetimeInMinutes"].as_i64().unwrap_or(-1);
            let max = m["maximumLifetimeInMinutes"].as_i64().unwrap_or(-1);
            let default = m["defaultLifetimeInMinutes"].as_i64().unwrap_or(-1);
            if !(10..=43200).contains(&min) || !(10..=43200).contains(&max) || min > max {
                return Err(bad("The minimum and maximum lifetimes must be between 10 and 43200 minutes, minimum first."));
            }
            if !(min..=max).contains(&default) {
                return Err(bad(
                    "defaultLifetimeInMinutes must be between the minimum and maximum lifetimes.",
                ));
            }
            if !in_range(&m["defaultLength"], 8, 48) {
                return Err(bad("defaultLength must be between 8 and 48."));
            }
            if !m["isUsableOnce"].is_boolean() {
                return Err(invalid_value("isUsableOnce", ty));
            }
        }
        "QRCodePin" => {
            if !in_range(&m["pinLength"], 8, 20) {
                return Err(bad("pinLength must be between 8 and 20."));
            }
            if !in_range(&m["standardQRCodeLifetimeInDays"], 1, 395) {
                return Err(bad(
                    "standardQRCodeLifetimeInDays must be between 1 and 395.",
                ));
            }
        }
        "Fido2"
            if !one_of(
                &m["keyRestrictions"]["enforcementType"],
                &["allow", "block"],
            ) =>
        {
            return Err(invalid_value("keyRestrictions", ty));
        }
        _ => {}
    }
    Ok(())
}

// ---- adminConsentRequestPolicy (PUT)

fn get_consent_requests(ctx: &mut Ctx<'_, '_>, _: &Params) -> Answer {
    let v = ctx.t.policies.admin_consent_request.clone();
    Ok(entity(ctx, "policies/adminConsentRequestPolicy", v))
}

fn put_consent_requests(ctx: &mut Ctx<'_, '_>, _: &Params) -> Answer {
    let ty = "adminConsentRequestPolicy";
    let body = ctx.req.object()?;
    let known = [
        "id",
        "isEnabled",
        "notifyReviewers",
        "remindersEnabled",
        "requestDurationInDays",
        "reviewers",
        "version",
    ];
    for k in body.keys().filter(|k| !k.contains('@')) {
        if !known.contains(&k.as_str()) {
            return Err(unknown_property(k, ty));
        }
    }
    let Some(enabled) = body.get("isEnabled").and_then(Value::as_bool) else {
        return Err(bad("The property 'isEnabled' is required."));
    };
    for k in ["notifyReviewers", "remindersEnabled"] {
        if !body.get(k).is_none_or(Value::is_boolean) {
            return Err(invalid_value(k, ty));
        }
    }
    let reviewers = match body.get("reviewers") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(r)) => r.clone(),
        Some(_) => return Err(invalid_value("reviewers", ty)),
    };
    for r in &reviewers {
        if r["query"].as_str().is_none_or(str::is_empty) {
            return Err(bad("Each reviewer needs a query."));
        }
    }
    let days = body
        .get("requestDurationInDays")
        .cloned()
        .unwrap_or(json!(0));
    if enabled {
        if reviewers.is_empty() {
            return Err(bad(
                "At least one reviewer is required when admin consent requests are enabled.",
            ));
        }
        if !in_range(&days, 1, 30) {
            return Err(bad("requestDurationInDays must be between 1 and 30."));
        }
    }
    let version = ctx.t.policies.admin_consent_request["version"]
        .as_i64()
        .unwrap_or(0)
        + 1;
    ctx.t.policies.admin_consent_request = json!({
        "id": "adminConsentRequestPolicy",
        "isEnabled": enabled,
        "notifyReviewers": body.get("notifyReviewers").and_then(Value::as_bool).unwrap_or(false),
        "remindersEnabled": body.get("remindersEnabled").and_then(Value::as_bool).unwrap_or(false),
        "requestDurationInDays": days,
        "version": version,
        "reviewers": reviewers,
    });
    Ok(Reply::empty(204))
}

// ---- crossTenantAccessPolicy/default, defaultAppManagementPolicy, externalIdentitiesPolicy

fn get_cross_tenant(ctx: &mut Ctx<'_, '_>, _: &Params) -> Answer {
    let v = ctx.t.policies.cross_tenant_default.clone();
    Ok(entity(ctx, "policies/crossTenantAccessPolicy/default", v))
}

fn patch_cross_tenant(ctx: &mut Ctx<'_, '_>, _: &Params) -> Answer {
    let ty = "crossTenantAccessPolicyConfigurationDefault";
    let changes = ctx.req.object()?;
    if changes.contains_key("isServiceDefault") {
        return Err(bad(
            "Property 'isServiceDefault' is read-only and cannot be set.",
        ));
    }
    let mut next = ctx.t.policies.cross_tenant_default.clone();
    merge(&mut next, &changes, ty, &[])?;
    for (k, v) in next["inboundTrust"].as_object().into_iter().flatten() {
        if !v.is_boolean() {
            return Err(invalid_value(k, "crossTenantAccessPolicyInboundTrust"));
        }
    }
    next["isServiceDefault"] = json!(false);
    ctx.t.policies.cross_tenant_default = next;
    Ok(Reply::empty(204))
}

fn get_app_management(ctx: &mut Ctx<'_, '_>, _: &Params) -> Answer {
    let v = ctx.t.policies.app_management.clone();
    Ok(entity(ctx, "policies/defaultAppManagementPolicy", v))
}

fn patch_app_management(ctx: &mut Ctx<'_, '_>, _: &Params) -> Answer {
    let ty = "tenantAppManagementPolicy";
    let changes = ctx.req.object()?;
    if changes.contains_key("id") {
        return Err(bad("Property 'id' is read-only and cannot be set."));
    }
    let mut next = ctx.t.policies.app_management.clone();
    merge(&mut next, &changes, ty, &[])?;
    if !next["isEnabled"].is_boolean() {
        return Err(invalid_value("isEnabled", ty));
    }
    let password = [
        "passwordAddition",
        "passwordLifetime",
        "symmetricKeyAddition",
        "symmetricKeyLifetime",
        "customPasswordAddition",
    ];
    let key = ["asymmetricKeyLifetime", "trustedCertificateAuthority"];
    for side in ["applicationRestrictions", "servicePrincipalRestrictions"] {
        for (list_name, kinds) in [
            ("passwordCredentials", &password[..]),
            ("keyCredentials", &key[..]),
        ] {
            let items = &next[side][list_name];
            let Some(items) = items.as_array() else {
                return Err(invalid_value(list_name, "appManagementConfiguration"));
            };
            for r in items {
                let kind = r["restrictionType"].as_str().unwrap_or_default();
                if !kinds.contains(&kind) {
                    return Err(bad(&format!(
                        "Invalid restrictionType '{kind}' in {side}.{list_name}."
                    )));
                }
                if !r
                    .get("state")
                    .is_none_or(|s| one_of(s, &["enabled", "disabled"]))
                {
                    return Err(invalid_value("state", "passwordCredentialConfiguration"));
                }
                let lifetime = kind.ends_with("Lifetime");
                let ok = match &r["maxLifetime"] {
                    Value::Null => !lifetime,
                    Value::String(s) => lifetime && iso_days(s).is_some(),
                    _ => false,
                };
                if !ok {
                    return Err(bad(&format!(
                        "maxLifetime is an ISO 8601 duration (P90D) for {kind} and null otherwise."
                    )));
                }
            }
        }
    }
    ctx.t.policies.app_management = next;
    Ok(Reply::empty(204))
}

/// The days of an ISO 8601 duration of days (`P90D`).
fn iso_days(s: &str) -> Option<u32> {
    s.strip_prefix('P')?
        .strip_suffix('D')?
        .parse()
        .ok()
        .filter(|d| *d > 0)
}

fn get_external_identities(ctx: &mut Ctx<'_, '_>, _: &Params) -> Answer {
    beta_only(ctx, "externalIdentitiesPolicy")?;
    let v = ctx.t.policies.external_identities.clone();
    Ok(entity(ctx, "policies/externalIdentitiesPolicy", v))
}

fn patch_external_identities(ctx: &mut Ctx<'_, '_>, _: &Params) -> Answer {
    beta_only(ctx, "externalIdentitiesPolicy")?;
    let ty = "externalIdentitiesPolicy";
    let changes = ctx.req.object()?;
    let mut next = ctx.t.policies.external_identities.clone();
    merge(&mut next, &changes, ty, &[])?;
    for k in [
        "allowExternalIdentitiesToLeave",
        "allowDeletedIdentitiesDataRemoval",
    ] {
        if !next[k].is_boolean() {
            return Err(invalid_value(k, ty));
        }
    }
    ctx.t.policies.external_identities = next;
    Ok(Reply::empty(204))
}

// ---- deviceRegistrationPolicy (beta, PUT)

fn get_device_registration(ctx: &mut Ctx<'_, '_>, _: &Params) -> Answer {
    beta_only(ctx, "deviceRegistrationPolicy")?;
    let v = ctx.t.policies.device_registration.clone();
    Ok(entity(ctx, "policies/deviceRegistrationPolicy", v))
}

fn membership_ok(m: &Value) -> bool {
    match m["@odata.type"].as_str() {
        Some("#microsoft.graph.allDeviceRegistrationMembership")
        | Some("#microsoft.graph.noDeviceRegistrationMembership") => true,
        Some("#microsoft.graph.enumeratedDeviceRegistrationMembership") => {
            m["users"].is_array() || m["groups"].is_array()
        }
        _ => false,
    }
}

fn put_device_registration(ctx: &mut Ctx<'_, '_>, _: &Params) -> Answer {
    beta_only(ctx, "deviceRegistrationPolicy")?;
    let ty = "deviceRegistrationPolicy";
    let body = ctx.req.object()?;
    let current = ctx.t.policies.device_registration.clone();
    for k in body.keys().filter(|k| !k.contains('@')) {
        if current.get(k.as_str()).is_none() {
            return Err(unknown_property(k, ty));
        }
    }
    for k in [
        "userDeviceQuota",
        "multiFactorAuthConfiguration",
        "azureADRegistration",
        "azureADJoin",
        "localAdminPassword",
    ] {
        if body.get(k).is_none_or(Value::is_null) {
            return Err(bad(&format!(
                "The property '{k}' is required: a PUT replaces the whole policy."
            )));
        }
    }
    let v = Value::Object(body.clone());
    if !in_range(&v["userDeviceQuota"], 0, 1000) {
        return Err(invalid_value("userDeviceQuota", ty));
    }
    if !one_of(
        &v["multiFactorAuthConfiguration"],
        &["notRequired", "required"],
    ) {
        return Err(invalid_value("multiFactorAuthConfiguration", ty));
    }
    let registration = &v["azureADRegistration"];
    if !membership_ok(&registration["allowedToRegister"]) {
        return Err(invalid_value("azureADRegistration", ty));
    }
    // Registration is all users unless an administrator may configure it.
    if registration["isAdminConfigurable"] == json!(false)
        && registration["allowedToRegister"] != current["azureADRegistration"]["allowedToRegister"]
    {
        return Err(bad("azureADRegistration.allowedToRegister cannot be changed while isAdminConfigurable is false."));
    }
    let join = &v["azureADJoin"];
    if !membership_ok(&join["allowedToJoin"])
        || !membership_ok(&join["localAdmins"]["registeringUsers"])
        || !join["localAdmins"]["enableGlobalAdmins"].is_boolean()
    {
        return Err(invalid_value("azureADJoin", ty));
    }
    if !v["localAdminPassword"]["isEnabled"].is_boolean() {
        return Err(invalid_value("localAdminPassword", ty));
    }
    let mut next = v;
    for k in ["id", "displayName", "description"] {
        next[k] = current[k].clone();
    }
    if let Value::Object(m) = &mut next {
        m.retain(|k, _| !k.starts_with("@odata.context"));
    }
    ctx.t.policies.device_registration = next.clone();
    let target = policy_target(
        "deviceRegistrationPolicy",
        "Device Registration Policy",
        Vec::new(),
    );
    ctx.audit(
        "Set device registration policies",
        "Policy",
        "Update",
        vec![target],
    );
    Ok(entity(ctx, "policies/deviceRegistrationPolicy", next))
}

// ---- directory settings (groupSettings, beta settings) and their templates

fn settings_entity(ctx: &Ctx<'_, '_>) -> &'static str {
    if ctx.req.version == "beta" {
        "settings"
    } else {
        "groupSettings"
    }
}

fn template(id: &str) -> Option<Value> {
    setting_templates()
        .into_iter()
        .find(|t| t["id"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(id)))
}

fn list_templates(ctx: &mut Ctx<'_, '_>, _: &Params) -> Answer {
    let entity_set = if ctx.req.version == "beta" {
        "directorySettingTemplates"
    } else {
        "groupSettingTemplates"
    };
    Ok(list(ctx.req, setting_templates(), entity_set, None))
}

fn get_template(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let t = template(p.get(0)).ok_or_else(|| not_found(p.get(0)))?;
    let entity_set = if ctx.req.version == "beta" {
        "directorySettingTemplates"
    } else {
        "groupSettingTemplates"
    };
    Ok(entity(ctx, entity_set, t))
}

fn list_settings(ctx: &mut Ctx<'_, '_>, _: &Params) -> Answer {
    let items = ctx.t.policies.group_settings.clone();
    let e = settings_entity(ctx);
    Ok(list(ctx.req, items, e, None))
}

fn setting_index(ctx: &Ctx<'_, '_>, id: &str) -> Result<usize, Reply> {
    ctx.t
        .policies
        .group_settings
        .iter()
        .position(|s| s["id"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(id)))
        .ok_or_else(|| not_found(id))
}

fn get_setting(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let i = setting_index(ctx, p.get(0))?;
    let v = ctx.t.policies.group_settings[i].clone();
    let e = settings_entity(ctx);
    Ok(entity(ctx, e, v))
}

/// The full value list of a setting from `template`: the template's defaults, with
/// `given` (name, value) over them; every name must be the template's and every value a
/// string of the template's type.
fn setting_values(template: &Value, given: &Value) -> Result<Vec<Value>, Reply> {
    let ty = "DirectorySetting";
    let Some(given) = given.as_array() else {
        return Err(invalid_value("values", ty));
    };
    let defs = template["values"].as_array().cloned().unwrap_or_default();
    let mut out: Vec<Value> = defs
        .iter()
        .map(|d| json!({"name": d["name"], "value": d["defaultValue"]}))
        .collect();
    for g in given {
        let (Some(name), Some(value)) = (g["name"].as_str(), g["value"].as_str()) else {
            return Err(invalid_value("values", ty));
        };
        let Some(i) = defs.iter().position(|d| {
            d["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        }) else {
            return Err(bad(&format!(
                "'{name}' is not a value of the setting template '{}'.",
                template["displayName"].as_str().unwrap_or_default()
            )));
        };
        let ok = match defs[i]["type"].as_str().unwrap_or_default() {
            "System.Boolean" => {
                value.eq_ignore_ascii_case("true") || value.eq_ignore_ascii_case("false")
            }
            "System.Int32" => value.parse::<i32>().is_ok(),
            "System.Guid" => value.is_empty() || is_guid(value),
            _ => true,
        };
        if !ok {
            return Err(invalid_value(name, ty));
        }
        out[i]["value"] = json!(value);
    }
    if template["id"] == json!("5cf42378-d67d-4f36-ba46-e8b86229381d") {
        check_password_rules(&out)?;
    }
    Ok(out)
}

fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, l)| p.len() == l && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Password Rule Settings: at most 1,000 banned words of 4–16 characters (tab-delimited),
/// a lockout threshold and duration of at least 1, an on-premises mode of Audit or
/// Enforce.
fn check_password_rules(values: &[Value]) -> Result<(), Reply> {
    let get = |n: &str| {
        values
            .iter()
            .find(|v| v["name"] == json!(n))
            .and_then(|v| v["value"].as_str())
            .unwrap_or_default()
    };
    let words: Vec<&str> = get("BannedPasswordList")
        .split('\t')
        .filter(|w| !w.is_empty())
        .collect();
    if words.len() > 1000 {
        return Err(bad("The banned password list can hold at most 1000 words."));
    }
    if let Some(w) = words
        .iter()
        .find(|w| !(4..=16).contains(&w.chars().count()))
    {
        return Err(bad(&format!(
            "Banned password '{w}' must be between 4 and 16 characters."
        )));
    }
    for n in ["LockoutThreshold", "LockoutDurationInSeconds"] {
        if get(n).parse::<i32>().map_or(true, |v| v < 1) {
            return Err(invalid_value(n, "DirectorySetting"));
        }
    }
    if !["Audit", "Enforce"].contains(&get("BannedPasswordCheckOnPremisesMode")) {
        return Err(invalid_value(
            "BannedPasswordCheckOnPremisesMode",
            "DirectorySetting",
        ));
    }
    Ok(())
}

fn create_setting(ctx: &mut Ctx<'_, '_>, _: &Params) -> Answer {
    let body = ctx.req.object()?;
    for k in body.keys().filter(|k| !k.contains('@')) {
        if !["templateId", "values", "displayName"].contains(&k.as_str()) {
            return Err(unknown_property(k, "groupSetting"));
        }
    }
    let template_id = body
        .get("templateId")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let Some(template) = template(template_id) else {
        return Err(error(
            400,
            "Request_BadRequest",
            &format!("Invalid value specified for property 'templateId' of resource 'DirectorySetting': '{template_id}'."),
        ));
    };
    let tid = template["id"].clone();
    if ctx
        .t
        .policies
        .group_settings
        .iter()
        .any(|s| s["templateId"] == tid)
    {
        return Err(error(
            400,
            "Request_BadRequest",
            "A conflicting object with one or more of the specified property values is present in the directory.",
        ));
    }
    let values = setting_values(&template, body.get("values").unwrap_or(&json!([])))?;
    let id = ctx.new_id("setting");
    let setting = json!({"id": id, "displayName": template["displayName"], "templateId": tid, "values": values});
    ctx.t.policies.group_settings.push(setting.clone());
    let e = settings_entity(ctx);
    let mut r = entity(ctx, e, setting);
    r.status = 201;
    Ok(r)
}

fn patch_setting(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let i = setting_index(ctx, p.get(0))?;
    let body = ctx.req.object()?;
    for k in body.keys().filter(|k| !k.contains('@')) {
        match k.as_str() {
            "values" => {}
            "id" | "templateId" | "displayName" => {
                return Err(bad(&format!(
                    "Property '{k}' is read-only and cannot be set."
                )))
            }
            other => return Err(unknown_property(other, "groupSetting")),
        }
    }
    let current = ctx.t.policies.group_settings[i].clone();
    let template = template(current["templateId"].as_str().unwrap_or_default())
        .ok_or_else(|| not_found(p.get(0)))?;
    let values = setting_values(&template, body.get("values").unwrap_or(&json!([])))?;
    ctx.t.policies.group_settings[i]["values"] = Value::Array(values);
    Ok(Reply::empty(204))
}

fn delete_setting(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let i = setting_index(ctx, p.get(0))?;
    ctx.t.policies.group_settings.remove(i);
    Ok(Reply::empty(204))
}

// ---- domains/{id}: the password policy

fn domain(ctx: &Ctx<'_, '_>, key: &str) -> Result<Value, Reply> {
    ctx.t
        .domain_objects()
        .into_iter()
        .find(|d| {
            d["id"]
                .as_str()
                .is_some_and(|x| x.eq_ignore_ascii_case(key))
        })
        .ok_or_else(|| not_found(key))
}

fn get_domain(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let d = domain(ctx, p.get(0))?;
    Ok(entity(ctx, "domains", d))
}

fn patch_domain(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let d = domain(ctx, p.get(0))?;
    let name = d["id"].as_str().unwrap_or_default().to_owned();
    let body = ctx.req.object()?;
    let mut set = Map::new();
    for (k, v) in body.iter().filter(|(k, _)| !k.contains('@')) {
        match k.as_str() {
            "passwordValidityPeriodInDays" => {
                if !(in_range(v, 14, 730) || v.as_i64() == Some(2_147_483_647)) {
                    return Err(bad("passwordValidityPeriodInDays must be between 14 and 730, or 2147483647 (never expire)."));
                }
            }
            "passwordNotificationWindowInDays" => {
                if !in_range(v, 1, 30) {
                    return Err(bad(
                        "passwordNotificationWindowInDays must be between 1 and 30.",
                    ));
                }
            }
            other if d.get(other).is_some() => {
                return Err(bad(&format!("Property '{other}' cannot be changed here.")))
            }
            other => return Err(unknown_property(other, "domain")),
        }
        set.insert(k.clone(), v.clone());
    }
    let modified = crate::state::modified_properties(&d, &set);
    ctx.t
        .policies
        .domain_passwords
        .entry(name.clone())
        .or_default()
        .extend(set);
    let target =
        json!({"id": name, "displayName": name, "type": "Other", "modifiedProperties": modified});
    ctx.audit(
        "Update domain",
        "DirectoryManagement",
        "Update",
        vec![target],
    );
    Ok(Reply::empty(204))
}

// ---- permission grant policies

fn grant_policy(ctx: &Ctx<'_, '_>, id: &str) -> Option<Value> {
    builtin_permission_grant_policies()
        .into_iter()
        .chain(ctx.t.policies.permission_grant_policies.iter().cloned())
        .find(|p| p["id"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(id)))
}

fn grant_policy_not_found(id: &str) -> Reply {
    error(
        404,
        "Request_ResourceNotFound",
        &format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present."),
    )
}

fn list_grant_policies(ctx: &mut Ctx<'_, '_>, _: &Params) -> Answer {
    let items: Vec<Value> = builtin_permission_grant_policies()
        .into_iter()
        .chain(ctx.t.policies.permission_grant_policies.iter().cloned())
        .collect();
    Ok(list(
        ctx.req,
        items,
        "policies/permissionGrantPolicies",
        None,
    ))
}

fn create_grant_policy(ctx: &mut Ctx<'_, '_>, _: &Params) -> Answer {
    let body = ctx.req.object()?;
    for k in body.keys().filter(|k| !k.contains('@')) {
        if ![
            "id",
            "displayName",
            "description",
            "includeAllPreApprovedApplications",
            "resourceScopeType",
        ]
        .contains(&k.as_str())
        {
            return Err(unknown_property(k, "permissionGrantPolicy"));
        }
    }
    let id = body.get("id").and_then(Value::as_str).unwrap_or_default();
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(invalid_value("id", "permissionGrantPolicy"));
    }
    if id.to_ascii_lowercase().starts_with("microsoft-") {
        return Err(bad("Ids starting with 'microsoft-' are reserved."));
    }
    if body
        .get("displayName")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err(bad("The property 'displayName' is required."));
    }
    if grant_policy(ctx, id).is_some() {
        return Err(error(
            409,
            "Request_MultipleObjectsWithSameKeyValue",
            "Another object with the same value for property id already exists.",
        ));
    }
    let policy = json!({"id": id, "displayName": body["displayName"],
        "description": body.get("description").cloned().unwrap_or(json!("")),
        "includes": [], "excludes": []});
    ctx.t
        .policies
        .permission_grant_policies
        .push(policy.clone());
    let mut r = entity(
        ctx,
        "policies/permissionGrantPolicies",
        without_sets(&policy),
    );
    r.status = 201;
    Ok(r)
}

fn without_sets(p: &Value) -> Value {
    let mut v = p.clone();
    if let Value::Object(m) = &mut v {
        m.remove("includes");
        m.remove("excludes");
    }
    v
}

fn get_grant_policy(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let policy = grant_policy(ctx, p.get(0)).ok_or_else(|| grant_policy_not_found(p.get(0)))?;
    Ok(entity(
        ctx,
        "policies/permissionGrantPolicies",
        without_sets(&policy),
    ))
}

fn custom_policy_index(ctx: &Ctx<'_, '_>, id: &str) -> Result<usize, Reply> {
    if grant_policy(ctx, id).is_some() && id.to_ascii_lowercase().starts_with("microsoft-") {
        return Err(error(
            403,
            "Authorization_RequestDenied",
            "Built-in permission grant policies cannot be changed.",
        ));
    }
    ctx.t
        .policies
        .permission_grant_policies
        .iter()
        .position(|p| p["id"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(id)))
        .ok_or_else(|| grant_policy_not_found(id))
}

fn delete_grant_policy(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let i = custom_policy_index(ctx, p.get(0))?;
    ctx.t.policies.permission_grant_policies.remove(i);
    Ok(Reply::empty(204))
}

fn list_includes(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let policy = grant_policy(ctx, p.get(0)).ok_or_else(|| grant_policy_not_found(p.get(0)))?;
    let items = policy["includes"].as_array().cloned().unwrap_or_default();
    let e = format!("policies/permissionGrantPolicies('{}')/includes", p.get(0));
    Ok(list(ctx.req, items, &e, None))
}

fn add_include(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let i = custom_policy_index(ctx, p.get(0))?;
    let body = ctx.req.object()?;
    let ty = "permissionGrantConditionSet";
    let mut set = json!({
        "permissionClassification": "all",
        "permissionType": null,
        "resourceApplication": "any",
        "permissions": ["all"],
        "clientApplicationIds": ["all"],
        "clientApplicationTenantIds": ["all"],
        "clientApplicationPublisherIds": ["all"],
        "clientApplicationsFromVerifiedPublisherOnly": false,
        "certifiedClientApplicationsOnly": false
    });
    for (k, v) in body.iter().filter(|(k, _)| !k.contains('@')) {
        if set.get(k.as_str()).is_none() {
            return Err(unknown_property(k, ty));
        }
        set[k.as_str()] = v.clone();
    }
    let kinds = ["delegated", "application", "delegatedUserConsentable"];
    let kind = set["permissionType"]
        .as_str()
        .and_then(|k| kinds.iter().find(|x| x.eq_ignore_ascii_case(k)));
    let Some(kind) = kind else {
        return Err(invalid_value("permissionType", ty));
    };
    set["permissionType"] = json!(kind);
    if !one_of(
        &set["permissionClassification"],
        &["low", "medium", "high", "all"],
    ) {
        return Err(invalid_value("permissionClassification", ty));
    }
    for k in [
        "permissions",
        "clientApplicationIds",
        "clientApplicationTenantIds",
        "clientApplicationPublisherIds",
    ] {
        let ok = set[k].as_array().is_some_and(|a| {
            !a.is_empty()
                && a.iter().all(|x| {
                    x.as_str().is_some_and(|s| {
                        s == "all"
                            || is_guid(s)
                            || k == "permissions"
                            || k == "clientApplicationPublisherIds"
                    })
                })
        });
        if !ok {
            return Err(invalid_value(k, ty));
        }
    }
    set["id"] = json!(ctx.new_id("include"));
    if let Some(includes) = ctx.t.policies.permission_grant_policies[i]["includes"].as_array_mut() {
        includes.push(set.clone());
    }
    let e = format!("policies/permissionGrantPolicies('{}')/includes", p.get(0));
    let mut r = entity(ctx, &e, set);
    r.status = 201;
    Ok(r)
}

fn delete_include(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let i = custom_policy_index(ctx, p.get(0))?;
    let include = p.get(1).to_owned();
    let includes = ctx.t.policies.permission_grant_policies[i]["includes"]
        .as_array_mut()
        .ok_or_else(|| not_found(&include))?;
    let pos = includes
        .iter()
        .position(|s| {
            s["id"]
                .as_str()
                .is_some_and(|x| x.eq_ignore_ascii_case(&include))
        })
        .ok_or_else(|| not_found(&include))?;
    includes.remove(pos);
    Ok(Reply::empty(204))
}
