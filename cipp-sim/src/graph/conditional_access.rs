//! Conditional Access per tenant: policies, named locations, authentication strengths and
//! security defaults, with Graph's rules (no enforced policy while security defaults are
//! on; referenced groups and locations must exist) and, when switched on, its throttling
//! of one request per second per tenant answered with 429 and no `Retry-After`.

use serde_json::{json, Map, Value};

use super::collection::{Audited, Hooks, Resource, Typing, NO_REPLACE_OPS};
use super::{error, list, routes, Answer, Ctx, Params, Route};
use crate::state::{paths, Area, SimTenant};
use crate::Reply;

fn strengths() -> Vec<Value> {
    vec![
        json!({"id": "00000000-0000-0000-0000-000000000002", "displayName": "Multifactor authentication",
               "policyType": "builtIn", "requirementsSatisfied": "mfa",
               "allowedCombinations": ["windowsHelloForBusiness", "fido2", "x509CertificateMultiFactor",
                 "deviceBasedPush", "temporaryAccessPassOneTime", "temporaryAccessPassMultiUse",
                 "password,microsoftAuthenticatorPush", "password,softwareOath", "password,hardwareOath",
                 "password,sms", "password,voice", "federatedMultiFactor", "microsoftAuthenticatorPush,federatedSingleFactor",
                 "softwareOath,federatedSingleFactor", "hardwareOath,federatedSingleFactor", "sms,federatedSingleFactor",
                 "voice,federatedSingleFactor"]}),
        json!({"id": "00000000-0000-0000-0000-000000000003", "displayName": "Passwordless MFA",
               "policyType": "builtIn", "requirementsSatisfied": "mfa",
               "allowedCombinations": ["windowsHelloForBusiness", "fido2", "x509CertificateMultiFactor", "deviceBasedPush"]}),
        json!({"id": "00000000-0000-0000-0000-000000000004", "displayName": "Phishing-resistant MFA",
               "policyType": "builtIn", "requirementsSatisfied": "mfa",
               "allowedCombinations": ["windowsHelloForBusiness", "fido2", "x509CertificateMultiFactor"]}),
    ]
}

fn policy_not_found(_: &str) -> Reply {
    error(404, "ResourceNotFound", "The policy was not found.")
}

fn location_not_found(_: &str) -> Reply {
    error(404, "ResourceNotFound", "The named location was not found.")
}

fn policy_target(_: &SimTenant, p: &Value) -> Value {
    json!({"id": p["id"], "displayName": p["displayName"], "type": "Policy", "modifiedProperties": []})
}

pub(crate) const RESOURCES: &[Resource] = &[
    Resource {
        path: paths::CA_POLICIES,
        entity: "identity/conditionalAccess/policies",
        area: Area::ConditionalAccess,
        noun: "ConditionalAccessPolicy",
        ops: NO_REPLACE_OPS,
        typing: Typing::Any,
        modified: Some("modifiedDateTime"),
        not_found: policy_not_found,
        audit: Some(Audited {
            category: "Policy",
            add: "Add conditional access policy",
            update: "Update conditional access policy",
            delete: "Delete conditional access policy",
            restore: "Restore conditional access policy",
            purge: "Delete conditional access policy",
            target: policy_target,
        }),
        hooks: Hooks {
            before_create: Some(policy_before_create),
            after_create: Some(policy_after_create),
            before_update: Some(policy_before_update),
            ..Hooks::NONE
        },
        ..Resource::STANDARD
    },
    Resource {
        path: paths::NAMED_LOCATIONS,
        entity: "identity/conditionalAccess/namedLocations",
        area: Area::ConditionalAccess,
        noun: "named location",
        ops: NO_REPLACE_OPS,
        typing: Typing::Polymorphic,
        modified: Some("modifiedDateTime"),
        not_found: location_not_found,
        audit: Some(Audited {
            category: "Policy",
            add: "Add named location",
            update: "Update named location",
            delete: "Delete named location",
            restore: "Restore named location",
            purge: "Delete named location",
            target: policy_target,
        }),
        hooks: Hooks {
            before_create: Some(location_before_create),
            before_update: Some(location_before_update),
            before_delete: Some(location_before_delete),
            ..Hooks::NONE
        },
        ..Resource::STANDARD
    },
];

fn check_policy(t: &SimTenant, p: &Value) -> Result<(), Reply> {
    let bad = |m: &str| Err(error(400, "BadRequest", m));
    if p["displayName"].as_str().is_none_or(str::is_empty) {
        return bad("The displayName is required.");
    }
    let state = p["state"].as_str().unwrap_or("");
    if !["enabled", "disabled", "enabledForReportingButNotEnforced"].contains(&state) {
        return bad("The state must be enabled, disabled or enabledForReportingButNotEnforced.");
    }
    if !p["conditions"].is_object() {
        return bad("The conditions are required.");
    }
    if state == "enabled" && !t.conditional_access.security_defaults_disabled {
        return bad("Security Defaults is enabled in the tenant. Need to disable Security Defaults to enable Conditional Access policy.");
    }
    for k in ["includeGroups", "excludeGroups"] {
        for g in p["conditions"]["users"][k].as_array().into_iter().flatten() {
            let g = g.as_str().unwrap_or("");
            if t.directory.group(g).is_none() {
                return bad(&format!("Invalid group id '{g}' in conditions.users.{k}."));
            }
        }
    }
    for k in ["includeLocations", "excludeLocations"] {
        for l in p["conditions"]["locations"][k]
            .as_array()
            .into_iter()
            .flatten()
        {
            let l = l.as_str().unwrap_or("");
            if !matches!(l, "All" | "AllTrusted")
                && t.conditional_access.named_locations().get(l).is_none()
            {
                return bad(&format!(
                    "Invalid location id '{l}' in conditions.locations.{k}."
                ));
            }
        }
    }
    Ok(())
}

fn policy_before_create(ctx: &mut Ctx<'_, '_>, p: &mut Map<String, Value>) -> Result<(), Reply> {
    check_policy(ctx.t, &Value::Object(p.clone()))?;
    p.insert("templateId".into(), Value::Null);
    Ok(())
}

/// A new policy has not been modified yet.
fn policy_after_create(ctx: &mut Ctx<'_, '_>, p: &Value) -> Vec<(&'static str, String)> {
    let id = super::id_of(p);
    if let Some(stored) = ctx
        .t
        .conditional_access
        .store
        .get_mut(paths::CA_POLICIES)
        .get_mut(&id)
    {
        stored["modifiedDateTime"] = Value::Null;
    }
    Vec::new()
}

fn policy_before_update(
    ctx: &mut Ctx<'_, '_>,
    current: &Value,
    changes: &mut Map<String, Value>,
) -> Result<(), Reply> {
    let mut merged = current.clone();
    for (k, v) in changes.iter() {
        merged[k.as_str()] = v.clone();
    }
    check_policy(ctx.t, &merged)
}

fn location_before_create(_: &mut Ctx<'_, '_>, l: &mut Map<String, Value>) -> Result<(), Reply> {
    let kind = l.get("@odata.type").and_then(Value::as_str).unwrap_or("");
    if !matches!(
        kind,
        "#microsoft.graph.ipNamedLocation" | "#microsoft.graph.countryNamedLocation"
    ) {
        return Err(error(
            400,
            "BadRequest",
            "The @odata.type of a named location is required.",
        ));
    }
    if l.get("displayName")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err(error(400, "BadRequest", "The displayName is required."));
    }
    Ok(())
}

/// Graph wants the location's `@odata.type` in every `PATCH`.
fn location_before_update(
    _: &mut Ctx<'_, '_>,
    current: &Value,
    changes: &mut Map<String, Value>,
) -> Result<(), Reply> {
    if changes.get("@odata.type") != current.get("@odata.type") {
        return Err(error(
            400,
            "BadRequest",
            "The @odata.type of a named location cannot change.",
        ));
    }
    Ok(())
}

fn location_before_delete(ctx: &mut Ctx<'_, '_>, l: &Value) -> Result<(), Reply> {
    let id = super::id_of(l);
    if ctx
        .t
        .conditional_access
        .policies()
        .iter()
        .any(|p| p.to_string().contains(&id))
    {
        return Err(error(
            400,
            "BadRequest",
            "The named location is used by a Conditional Access policy.",
        ));
    }
    Ok(())
}

/// Conditional Access throttling, checked before any route.
pub(crate) fn guard(ctx: &mut Ctx<'_, '_>, lower: &[String]) -> Option<Reply> {
    if lower.len() < 2 || lower[0] != "identity" || lower[1] != "conditionalaccess" {
        return None;
    }
    let ca = &mut ctx.t.conditional_access;
    let now = tokio::time::Instant::now();
    let recent = ca
        .last_request
        .is_some_and(|last| now.duration_since(last) < std::time::Duration::from_secs(1));
    if ca.throttling && recent {
        // Graph's identity APIs send no Retry-After.
        return Some(error(429, "TooManyRequests", "Too many requests."));
    }
    ca.last_request = Some(now);
    None
}

pub(crate) const ROUTES: &[Route] = routes![
    GET "policies/authenticationstrengthpolicies" => list_strengths,
    POST "policies/authenticationstrengthpolicies" => create_strength,
    GET "identity/conditionalaccess/authenticationcontextclassreferences" => list_contexts,
    PATCH "identity/conditionalaccess/authenticationcontextclassreferences/{id}" => upsert_context,
    GET "policies/identitysecuritydefaultsenforcementpolicy" => get_security_defaults,
    PATCH "policies/identitysecuritydefaultsenforcementpolicy" => set_security_defaults,
];

/// Where custom authentication strengths are kept (the built-in ones are constant).
const CUSTOM_STRENGTHS: &str = "policies/authenticationStrengthPolicies";
/// Where authentication contexts are kept.
const CONTEXTS: &str = "identity/conditionalAccess/authenticationContextClassReferences";

fn all_strengths(t: &SimTenant) -> Vec<Value> {
    let mut all = strengths();
    all.extend(
        t.conditional_access
            .store
            .get(CUSTOM_STRENGTHS)
            .items()
            .iter()
            .cloned(),
    );
    all
}

fn list_strengths(ctx: &mut Ctx<'_, '_>, _: &Params) -> Answer {
    let items = all_strengths(ctx.t);
    Ok(list(ctx.req, items, CUSTOM_STRENGTHS, None))
}

/// `POST /policies/authenticationStrengthPolicies`: a custom strength (a unique name, at
/// least one combination of known methods).
fn create_strength(ctx: &mut Ctx<'_, '_>, _: &Params) -> Answer {
    let body = ctx.req.object()?;
    let name = body
        .get("displayName")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| error(400, "BadRequest", "displayName is required."))?
        .to_owned();
    let combinations: Vec<String> = body
        .get("allowedCombinations")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if combinations.is_empty() {
        return Err(error(
            400,
            "BadRequest",
            "allowedCombinations must contain at least one combination.",
        ));
    }
    if all_strengths(ctx.t).iter().any(|s| {
        s["displayName"]
            .as_str()
            .is_some_and(|n| n.eq_ignore_ascii_case(&name))
    }) {
        return Err(error(
            400,
            "BadRequest",
            &format!("An authentication strength policy named '{name}' already exists."),
        ));
    }
    let n = ctx.t.next_seq();
    let id = crate::state::synthetic_guid(&format!("{}-strength-{n}", ctx.t.id));
    let created = json!({
        "id": id,
        "createdDateTime": ctx.req.now,
        "modifiedDateTime": ctx.req.now,
        "displayName": name,
        "description": body.get("description").cloned().unwrap_or(Value::Null),
        "policyType": "custom",
        "requirementsSatisfied": "mfa",
        "allowedCombinations": combinations,
    });
    ctx.t
        .conditional_access
        .store
        .get_mut(CUSTOM_STRENGTHS)
        .insert(created.clone());
    let mut reply = created;
    reply["@odata.context"] = json!(
        "https://graph.microsoft.com/v1.0/$metadata#policies/authenticationStrengthPolicies/$entity"
    );
    Ok(Reply::json(201, reply))
}

fn list_contexts(ctx: &mut Ctx<'_, '_>, _: &Params) -> Answer {
    let items = ctx
        .t
        .conditional_access
        .store
        .get(CONTEXTS)
        .items()
        .to_vec();
    Ok(list(ctx.req, items, CONTEXTS, None))
}

/// `PATCH …/authenticationContextClassReferences/{id}`: creates or updates `c1` … `c99`.
fn upsert_context(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let id = p.get(0).to_ascii_lowercase();
    let valid = id
        .strip_prefix('c')
        .filter(|n| !n.starts_with('0'))
        .and_then(|n| n.parse::<u8>().ok())
        .is_some_and(|n| (1..=99).contains(&n));
    if !valid {
        return Err(error(
            400,
            "BadRequest",
            &format!(
                "Invalid authentication context class reference id '{}'.",
                p.get(0)
            ),
        ));
    }
    let body = ctx.req.object()?;
    let contexts = ctx.t.conditional_access.store.get_mut(CONTEXTS);
    let mut item = contexts
        .get(&id)
        .cloned()
        .unwrap_or_else(|| json!({"id": id, "isAvailable": false}));
    for key in ["displayName", "description", "isAvailable"] {
        if let Some(v) = body.get(key) {
            item[key] = v.clone();
        }
    }
    if contexts.get_mut(&id).map(|c| *c = item.clone()).is_none() {
        contexts.insert(item);
    }
    Ok(Reply::empty(204))
}

fn get_security_defaults(ctx: &mut Ctx<'_, '_>, _: &Params) -> Answer {
    Ok(Reply::json(
        200,
        json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#policies/identitySecurityDefaultsEnforcementPolicy/$entity",
            "id": "00000000-0000-0000-0000-000000000005",
            "displayName": "Security Defaults",
            "description": "Security defaults is a set of basic identity security mechanisms recommended by Microsoft. When enabled, these recommendations will be automatically enforced in your organization.",
            "isEnabled": !ctx.t.conditional_access.security_defaults_disabled
        }),
    ))
}

fn set_security_defaults(ctx: &mut Ctx<'_, '_>, _: &Params) -> Answer {
    let on = ctx.req.json()?["isEnabled"]
        .as_bool()
        .ok_or_else(|| error(400, "BadRequest", "isEnabled must be true or false."))?;
    ctx.t.conditional_access.security_defaults_disabled = !on;
    Ok(Reply::empty(204))
}
