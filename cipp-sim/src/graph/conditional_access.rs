//! Conditional Access per tenant: policies, named locations, authentication strengths and
//! security defaults, with Graph's rules (no enforced policy while security defaults are
//! on; referenced groups and locations must exist) and, when switched on, its throttling
//! of one request per second per tenant answered with 429 and no `Retry-After`.

use serde_json::{json, Value};

use super::{error, list, with_context, GraphRequest};
use crate::state::{synthetic_guid, SimTenant};
use crate::{Reply, Sim};

fn body(req: &GraphRequest<'_>) -> Result<Value, Reply> {
    serde_json::from_slice(req.body).map_err(|e| {
        error(
            400,
            "BadRequest",
            &format!("Unable to read JSON request payload. ({e})"),
        )
    })
}

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

fn find(items: &[Value], id: &str) -> Option<usize> {
    items
        .iter()
        .position(|p| p["id"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(id)))
}

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
    if state == "enabled" && !t.security_defaults_disabled {
        return bad("Security Defaults is enabled in the tenant. Need to disable Security Defaults to enable Conditional Access policy.");
    }
    for k in ["includeGroups", "excludeGroups"] {
        for g in p["conditions"]["users"][k].as_array().into_iter().flatten() {
            let g = g.as_str().unwrap_or("");
            if !t
                .groups
                .iter()
                .any(|x| x["id"].as_str().is_some_and(|i| i.eq_ignore_ascii_case(g)))
            {
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
            if !matches!(l, "All" | "AllTrusted") && find(&t.named_locations, l).is_none() {
                return bad(&format!(
                    "Invalid location id '{l}' in conditions.locations.{k}."
                ));
            }
        }
    }
    Ok(())
}

/// Routes Conditional Access paths; `None` for others.
pub(crate) fn route(sim: &Sim, req: &GraphRequest<'_>) -> Option<Reply> {
    let segs: Vec<String> = req
        .segments
        .iter()
        .map(|s| s.to_ascii_lowercase())
        .collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let ca = matches!(segs.as_slice(), ["identity", "conditionalaccess", ..]);
    let pol = matches!(
        segs.as_slice(),
        [
            "policies",
            "authenticationstrengthpolicies" | "identitysecuritydefaultsenforcementpolicy",
            ..
        ]
    );
    if !ca && !pol {
        return None;
    }
    let m = req.method.as_str();
    let mut state = sim.lock_state();
    let Some(t) = state.tenant_mut(&req.tenant) else {
        return Some(error(
            401,
            "InvalidAuthenticationToken",
            "Access token validation failure.",
        ));
    };
    if ca {
        let now = tokio::time::Instant::now();
        let recent = t
            .ca_last_request
            .is_some_and(|last| now.duration_since(last) < std::time::Duration::from_secs(1));
        if t.ca_throttling && recent {
            // Graph's identity APIs send no Retry-After.
            return Some(error(429, "TooManyRequests", "Too many requests."));
        }
        t.ca_last_request = Some(now);
    }
    let id_of = |i: usize| req.segments.get(i).cloned().unwrap_or_default();
    let reply = match (m, segs.as_slice()) {
        ("GET", ["identity", "conditionalaccess", "policies"]) => {
            let items = t.ca_policies.clone();
            drop(state);
            list(req, items, "identity/conditionalAccess/policies", None)
        }
        ("POST", ["identity", "conditionalaccess", "policies"]) => {
            let mut p = match body(req) {
                Ok(b) => b,
                Err(r) => return Some(r),
            };
            if let Err(r) = check_policy(t, &p) {
                return Some(r);
            }
            p["id"] = json!(synthetic_guid(&format!("ca{}", sim.next_n())));
            p["createdDateTime"] = json!(req.now);
            p["modifiedDateTime"] = Value::Null;
            p["templateId"] = Value::Null;
            t.ca_policies.push(p.clone());
            Reply::json(
                201,
                with_context(p, "v1.0", "identity/conditionalAccess/policies/$entity"),
            )
        }
        ("GET", ["identity", "conditionalaccess", "policies", _]) => {
            match find(&t.ca_policies, &id_of(3)) {
                Some(i) => Reply::json(200, t.ca_policies[i].clone()),
                None => error(404, "ResourceNotFound", "The policy was not found."),
            }
        }
        ("PATCH", ["identity", "conditionalaccess", "policies", _]) => {
            let Some(i) = find(&t.ca_policies, &id_of(3)) else {
                return Some(error(404, "ResourceNotFound", "The policy was not found."));
            };
            let b = match body(req) {
                Ok(b) => b,
                Err(r) => return Some(r),
            };
            let mut merged = t.ca_policies[i].clone();
            for (k, v) in b.as_object().into_iter().flatten() {
                merged[k.as_str()] = v.clone();
            }
            if let Err(r) = check_policy(t, &merged) {
                return Some(r);
            }
            merged["modifiedDateTime"] = json!(req.now);
            t.ca_policies[i] = merged;
            Reply::empty(204)
        }
        ("DELETE", ["identity", "conditionalaccess", "policies", _]) => {
            match find(&t.ca_policies, &id_of(3)) {
                Some(i) => {
                    t.ca_policies.remove(i);
                    Reply::empty(204)
                }
                None => error(404, "ResourceNotFound", "The policy was not found."),
            }
        }
        ("GET", ["identity", "conditionalaccess", "namedlocations"]) => {
            let items = t.named_locations.clone();
            drop(state);
            list(
                req,
                items,
                "identity/conditionalAccess/namedLocations",
                None,
            )
        }
        ("POST", ["identity", "conditionalaccess", "namedlocations"]) => {
            let mut l = match body(req) {
                Ok(b) => b,
                Err(r) => return Some(r),
            };
            let kind = l["@odata.type"].as_str().unwrap_or("");
            if !matches!(
                kind,
                "#microsoft.graph.ipNamedLocation" | "#microsoft.graph.countryNamedLocation"
            ) {
                return Some(error(
                    400,
                    "BadRequest",
                    "The @odata.type of a named location is required.",
                ));
            }
            if l["displayName"].as_str().is_none_or(str::is_empty) {
                return Some(error(400, "BadRequest", "The displayName is required."));
            }
            l["id"] = json!(synthetic_guid(&format!("nl{}", sim.next_n())));
            l["createdDateTime"] = json!(req.now);
            l["modifiedDateTime"] = json!(req.now);
            t.named_locations.push(l.clone());
            Reply::json(201, l)
        }
        ("GET", ["identity", "conditionalaccess", "namedlocations", _]) => {
            match find(&t.named_locations, &id_of(3)) {
                Some(i) => Reply::json(200, t.named_locations[i].clone()),
                None => error(404, "ResourceNotFound", "The named location was not found."),
            }
        }
        ("PATCH", ["identity", "conditionalaccess", "namedlocations", _]) => {
            let Some(i) = find(&t.named_locations, &id_of(3)) else {
                return Some(error(
                    404,
                    "ResourceNotFound",
                    "The named location was not found.",
                ));
            };
            let b = match body(req) {
                Ok(b) => b,
                Err(r) => return Some(r),
            };
            if b["@odata.type"] != t.named_locations[i]["@odata.type"] {
                return Some(error(
                    400,
                    "BadRequest",
                    "The @odata.type of a named location cannot change.",
                ));
            }
            for (k, v) in b.as_object().into_iter().flatten() {
                t.named_locations[i][k.as_str()] = v.clone();
            }
            t.named_locations[i]["modifiedDateTime"] = json!(req.now);
            Reply::empty(204)
        }
        ("DELETE", ["identity", "conditionalaccess", "namedlocations", _]) => {
            let id = id_of(3);
            let used = t.ca_policies.iter().any(|p| p.to_string().contains(&id));
            match find(&t.named_locations, &id) {
                Some(_) if used => error(
                    400,
                    "BadRequest",
                    "The named location is used by a Conditional Access policy.",
                ),
                Some(i) => {
                    t.named_locations.remove(i);
                    Reply::empty(204)
                }
                None => error(404, "ResourceNotFound", "The named location was not found."),
            }
        }
        ("GET", ["policies", "authenticationstrengthpolicies"]) => {
            drop(state);
            list(
                req,
                strengths(),
                "policies/authenticationStrengthPolicies",
                None,
            )
        }
        ("GET", ["policies", "identitysecuritydefaultsenforcementpolicy"]) => Reply::json(
            200,
            json!({
                "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#policies/identitySecurityDefaultsEnforcementPolicy/$entity",
                "id": "00000000-0000-0000-0000-000000000005",
                "displayName": "Security Defaults",
                "description": "Security defaults is a set of basic identity security mechanisms recommended by Microsoft. When enabled, these recommendations will be automatically enforced in your organization.",
                "isEnabled": !t.security_defaults_disabled
            }),
        ),
        ("PATCH", ["policies", "identitysecuritydefaultsenforcementpolicy"]) => {
            let b = match body(req) {
                Ok(b) => b,
                Err(r) => return Some(r),
            };
            match b["isEnabled"].as_bool() {
                Some(on) => {
                    t.security_defaults_disabled = !on;
                    Reply::empty(204)
                }
                None => error(400, "BadRequest", "isEnabled must be true or false."),
            }
        }
        _ => error(400, "BadRequest", "Resource not found for the segment."),
    };
    Some(reply)
}
