//! Intune per tenant: policies of every kind the SDK handles, kept as sent (polymorphic
//! by `@odata.type`), with assignments, settings-catalog settings, compliance scheduled
//! actions (shown only with `$expand`, as Graph does; replaced by
//! `scheduleActionsForRules`), administrative template definition values
//! (`updateDefinitionValues`, read with `$expand`) and the Apple tokens. Settings-catalog
//! policies using a setting the tenant does not offer are refused naming it.

use serde_json::{json, Map, Value};

use super::collection::{Hooks, Op, Resource, Typing, ALL_OPS, READ_OPS};
use super::{error, list, with_context, Ctx, Params, Route};
use crate::state::{paths, synthetic_guid, Area};
use crate::Reply;

fn intune_not_found(_: &str) -> Reply {
    error(404, "ResourceNotFound", "The Intune object was not found.")
}

const HOOKS: Hooks = Hooks {
    before_create: Some(before_create),
    ..Hooks::NONE
};

/// An Intune policy collection: every operation, kept as sent.
const fn policies(path: &'static str, entity: &'static str, typing: Typing) -> Resource {
    Resource {
        path,
        entity,
        area: Area::Intune,
        noun: "Intune object",
        ops: ALL_OPS,
        typing,
        not_found: intune_not_found,
        hooks: HOOKS,
        ..Resource::STANDARD
    }
}

/// A read-only Intune collection.
const fn read_only(path: &'static str, entity: &'static str) -> Resource {
    Resource {
        path,
        entity,
        area: Area::Intune,
        noun: "Intune object",
        ops: READ_OPS,
        not_found: intune_not_found,
        ..Resource::STANDARD
    }
}

pub(crate) const RESOURCES: &[Resource] = &[
    policies(
        "devicemanagement/deviceconfigurations",
        "deviceManagement/deviceConfigurations",
        Typing::Polymorphic,
    ),
    policies(
        "devicemanagement/configurationpolicies",
        "deviceManagement/configurationPolicies",
        Typing::Any,
    ),
    policies(
        "devicemanagement/devicecompliancepolicies",
        "deviceManagement/deviceCompliancePolicies",
        Typing::Polymorphic,
    ),
    policies(
        "devicemanagement/grouppolicyconfigurations",
        "deviceManagement/groupPolicyConfigurations",
        Typing::Any,
    ),
    policies(
        "deviceappmanagement/iosmanagedappprotections",
        "deviceAppManagement/iosManagedAppProtections",
        Typing::Any,
    ),
    policies(
        "deviceappmanagement/androidmanagedappprotections",
        "deviceAppManagement/androidManagedAppProtections",
        Typing::Any,
    ),
    policies(
        "deviceappmanagement/mobileappconfigurations",
        "deviceAppManagement/mobileAppConfigurations",
        Typing::Polymorphic,
    ),
    policies(
        "devicemanagement/windowsfeatureupdateprofiles",
        "deviceManagement/windowsFeatureUpdateProfiles",
        Typing::Any,
    ),
    policies(
        "devicemanagement/assignmentfilters",
        "deviceManagement/assignmentFilters",
        Typing::Any,
    ),
    policies(
        "devicemanagement/windowsdriverupdateprofiles",
        "deviceManagement/windowsDriverUpdateProfiles",
        Typing::Any,
    ),
    policies(
        "devicemanagement/windowsqualityupdateprofiles",
        "deviceManagement/windowsQualityUpdateProfiles",
        Typing::Any,
    ),
    policies(
        "devicemanagement/windowsqualityupdatepolicies",
        "deviceManagement/windowsQualityUpdatePolicies",
        Typing::Any,
    ),
    policies(
        "devicemanagement/reusablepolicysettings",
        "deviceManagement/reusablePolicySettings",
        Typing::Any,
    ),
    policies(
        "deviceappmanagement/windowsmanagedappprotections",
        "deviceAppManagement/windowsManagedAppProtections",
        Typing::Any,
    ),
    policies(
        "deviceappmanagement/targetedmanagedappconfigurations",
        "deviceAppManagement/targetedManagedAppConfigurations",
        Typing::Any,
    ),
    read_only(paths::VPP_TOKENS, "deviceAppManagement/vppTokens"),
    read_only(
        paths::DEP_SETTINGS,
        "deviceManagement/depOnboardingSettings",
    ),
];

fn before_create(ctx: &mut Ctx<'_, '_>, p: &mut Map<String, Value>) -> Result<(), Reply> {
    let named = p
        .get("displayName")
        .or(p.get("name"))
        .and_then(Value::as_str)
        .is_some_and(|n| !n.is_empty());
    if !named {
        return Err(error(
            400,
            "BadRequest",
            "The name of the policy is required.",
        ));
    }
    let collection = ctx.req.segments.get(1).map(|s| s.to_ascii_lowercase());
    match collection.as_deref() {
        Some("devicecompliancepolicies") => {
            let Some(rules) = p
                .get("scheduledActionsForRule")
                .and_then(Value::as_array)
                .cloned()
            else {
                return Err(error(
                    400,
                    "BadRequest",
                    "ScheduledActionsForRule is required for compliance policies.",
                ));
            };
            p.insert(
                "scheduledActionsForRule".into(),
                Value::Array(with_action_ids(ctx, rules)),
            );
        }
        Some("configurationpolicies") => offered(ctx, p.get("settings"))?,
        _ => {}
    }
    p.insert(
        "id".into(),
        json!(synthetic_guid(&format!("intune{}", ctx.sim.next_n()))),
    );
    Ok(())
}

/// The policy collection `{root}/{collection}` names, when it is one.
fn policy_collection(root: &str, coll: &str) -> Option<&'static Resource> {
    let path = format!("{root}/{coll}").to_ascii_lowercase();
    RESOURCES
        .iter()
        .find(|r| r.path == path && r.ops.contains(&Op::Create))
}

/// Scheduled actions as stored: each rule and action configuration with a server id.
fn with_action_ids(ctx: &mut Ctx<'_, '_>, rules: Vec<Value>) -> Vec<Value> {
    rules
        .into_iter()
        .map(|mut rule| {
            rule["id"] = json!(synthetic_guid(&format!("rule{}", ctx.sim.next_n())));
            if let Some(configs) = rule
                .get_mut("scheduledActionConfigurations")
                .and_then(Value::as_array_mut)
            {
                for c in configs {
                    c["id"] = json!(synthetic_guid(&format!("act{}", ctx.sim.next_n())));
                }
            }
            rule
        })
        .collect()
}

/// Refuses settings whose definition the tenant does not offer.
fn offered(ctx: &Ctx<'_, '_>, settings: Option<&Value>) -> Result<(), Reply> {
    let missing: Vec<&str> = settings
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| s.pointer("/settingInstance/settingDefinitionId")?.as_str())
        .filter(|d| {
            ctx.t
                .intune
                .unavailable_settings
                .iter()
                .any(|u| u.eq_ignore_ascii_case(d))
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(error(
        400,
        "BadRequest",
        &format!(
            "Setting definition(s) not found or not applicable: {}",
            missing.join(", ")
        ),
    ))
}

/// Navigation properties kept inline in the store but shown only when `$expand` names
/// them: (collection, property).
const EXPANDED: &[(&str, &str)] = &[
    ("devicecompliancepolicies", "scheduledActionsForRule"),
    ("configurationpolicies", "settings"),
];

/// A read of a collection with navigation properties: the standard answer, with each
/// property `$expand` does not name removed.
fn read_expanded(ctx: &mut Ctx<'_, '_>, _: &Params) -> Reply {
    let collection = ctx.req.segments.get(1).cloned().unwrap_or_default();
    let Some((_, nav)) = EXPANDED
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(&collection))
    else {
        return intune_not_found(&collection);
    };
    let expand = ctx
        .req
        .q("$expand")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let shown = expand
        .split(',')
        .any(|e| e.trim().split('(').next() == Some(nav.to_ascii_lowercase().as_str()));
    let lower: Vec<String> = ctx
        .req
        .segments
        .iter()
        .map(|s| s.to_ascii_lowercase())
        .collect();
    let Some(res) = policy_collection("devicemanagement", &collection) else {
        return intune_not_found(&collection);
    };
    let reply = match super::collection::serve(ctx, res, &lower) {
        super::collection::Served::Reply(r) => r,
        _ => return intune_not_found(&collection),
    };
    if shown || reply.status != 200 {
        return reply;
    }
    let Ok(mut body) = serde_json::from_slice::<Value>(&reply.body) else {
        return reply;
    };
    match body.get_mut("value").and_then(Value::as_array_mut) {
        Some(items) => items.iter_mut().for_each(|i| {
            if let Some(o) = i.as_object_mut() {
                o.remove(*nav);
            }
        }),
        None => {
            if let Some(o) = body.as_object_mut() {
                o.remove(*nav);
            }
        }
    }
    let mut out = Reply::json(200, body);
    out.headers.extend(reply.headers);
    out
}

pub(crate) const ROUTES: &[Route] = &[
    Route {
        method: "GET",
        path: "devicemanagement/devicecompliancepolicies",
        handler: read_expanded,
    },
    Route {
        method: "GET",
        path: "devicemanagement/devicecompliancepolicies/{id}",
        handler: read_expanded,
    },
    Route {
        method: "GET",
        path: "devicemanagement/configurationpolicies",
        handler: read_expanded,
    },
    Route {
        method: "GET",
        path: "devicemanagement/configurationpolicies/{id}",
        handler: read_expanded,
    },
    Route {
        method: "POST",
        path: "devicemanagement/devicecompliancepolicies/{id}/scheduleactionsforrules",
        handler: schedule_actions,
    },
    Route {
        method: "POST",
        path: "devicemanagement/grouppolicyconfigurations/{id}/updatedefinitionvalues",
        handler: update_definition_values,
    },
    Route {
        method: "GET",
        path: "devicemanagement/grouppolicyconfigurations/{id}/definitionvalues",
        handler: definition_values,
    },
    Route {
        method: "GET",
        path: "devicemanagement/applepushnotificationcertificate",
        handler: apns,
    },
    Route {
        method: "POST",
        path: "{root}/{collection}/{id}/assign",
        handler: assign,
    },
    Route {
        method: "GET",
        path: "{root}/{collection}/{id}/assignments",
        handler: assignments,
    },
    Route {
        method: "GET",
        path: "devicemanagement/configurationpolicies/{id}/settings",
        handler: settings,
    },
];

/// A singleton is the top-level object (the documented sample's `value` wrapper is a
/// documentation artefact: Microsoft's SDKs read it as an empty entity).
fn apns(ctx: &mut Ctx<'_, '_>, _: &Params) -> Reply {
    match ctx.t.intune.store.get(paths::APNS).first() {
        Some(c) => Reply::json(
            200,
            with_context(
                c.clone(),
                ctx.req.version,
                "deviceManagement/applePushNotificationCertificate/$entity",
            ),
        ),
        None => error(
            404,
            "ResourceNotFound",
            "No Apple push notification certificate is configured.",
        ),
    }
}

/// The policy a `{root}/{collection}/{id}/…` route names, or the reply refusing it.
fn policy<'a>(ctx: &'a Ctx<'_, '_>, p: &Params) -> Result<(&'static Resource, &'a Value), Reply> {
    let Some(res) = policy_collection(p.get(0), p.get(1)) else {
        return Err(error(
            400,
            "BadRequest",
            &format!("Resource not found for the segment '{}'.", p.get(1)),
        ));
    };
    ctx.t
        .intune
        .store
        .get(res.path)
        .get(p.get(2))
        .map(|v| (res, v))
        .ok_or_else(|| intune_not_found(p.get(2)))
}

fn assign(ctx: &mut Ctx<'_, '_>, p: &Params) -> Reply {
    let res = match policy(ctx, p) {
        Ok((res, _)) => res,
        Err(r) => return r,
    };
    if res.path == "devicemanagement/assignmentfilters" {
        return error(400, "BadRequest", "Assignment filters cannot be assigned.");
    }
    let b = match ctx.req.json() {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(list) = b["assignments"].as_array() else {
        return error(400, "BadRequest", "The assignments are required.");
    };
    let stored: Vec<Value> = list
        .iter()
        .map(|a| {
            let mut a = a.clone();
            a["id"] = json!(synthetic_guid(&format!("asg{}", ctx.sim.next_n())));
            a
        })
        .collect();
    ctx.t
        .intune
        .assignments
        .insert(p.get(2).to_ascii_lowercase(), stored.clone());
    Reply::json(200, json!({ "value": stored }))
}

fn assignments(ctx: &mut Ctx<'_, '_>, p: &Params) -> Reply {
    if let Err(r) = policy(ctx, p) {
        return r;
    }
    let items = ctx
        .t
        .intune
        .assignments
        .get(&p.get(2).to_ascii_lowercase())
        .cloned()
        .unwrap_or_default();
    list(ctx.req, items, "assignments", None)
}

fn settings(ctx: &mut Ctx<'_, '_>, p: &Params) -> Reply {
    let Some(item) = ctx
        .t
        .intune
        .store
        .get("devicemanagement/configurationpolicies")
        .get(p.get(0))
    else {
        return intune_not_found(p.get(0));
    };
    let items = item["settings"].as_array().cloned().unwrap_or_default();
    list(ctx.req, items, "settings", None)
}

fn schedule_actions(ctx: &mut Ctx<'_, '_>, p: &Params) -> Reply {
    let b = match ctx.req.json() {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(rules) = b["deviceComplianceScheduledActionForRules"]
        .as_array()
        .cloned()
    else {
        return error(
            400,
            "BadRequest",
            "deviceComplianceScheduledActionForRules is required.",
        );
    };
    let rules = with_action_ids(ctx, rules);
    let path = "devicemanagement/devicecompliancepolicies";
    match ctx.t.intune.store.get_mut(path).get_mut(p.get(0)) {
        Some(policy) => {
            policy["scheduledActionsForRule"] = Value::Array(rules);
            Reply::empty(204)
        }
        None => intune_not_found(p.get(0)),
    }
}

/// The id inside `…name('id')` of a binding URL.
fn bound_id<'a>(bind: &'a str, name: &str) -> Option<&'a str> {
    let lower = bind.to_ascii_lowercase();
    let start = lower.find(&format!("{}('", name.to_ascii_lowercase()))? + name.len() + 2;
    let len = bind[start..].find('\'')?;
    Some(&bind[start..start + len])
}

/// The administrative template `{id}` names (its id in lower case), or the 404.
fn admx_config(ctx: &Ctx<'_, '_>, p: &Params) -> Result<String, Reply> {
    let id = p.get(0).to_ascii_lowercase();
    ctx.t
        .intune
        .store
        .get("devicemanagement/grouppolicyconfigurations")
        .get(&id)
        .map(|_| id.clone())
        .ok_or_else(|| intune_not_found(&id))
}

fn update_definition_values(ctx: &mut Ctx<'_, '_>, p: &Params) -> Reply {
    let id = match admx_config(ctx, p) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let b = match ctx.req.json() {
        Ok(b) => b,
        Err(r) => return r,
    };
    let mut values = ctx
        .t
        .intune
        .definition_values
        .get(&id)
        .cloned()
        .unwrap_or_default();
    let deleted: Vec<&str> = b["deletedIds"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    values.retain(|v| !deleted.iter().any(|d| v["id"].as_str() == Some(*d)));
    for added in b["added"].as_array().into_iter().flatten() {
        let Some(def) = added["definition@odata.bind"]
            .as_str()
            .and_then(|s| bound_id(s, "groupPolicyDefinitions"))
        else {
            return error(
                400,
                "BadRequest",
                "definition@odata.bind is required for each added definition value.",
            );
        };
        let mut presentations = Vec::new();
        for pv in added["presentationValues"].as_array().into_iter().flatten() {
            let mut v = pv.clone();
            let pid = pv["presentation@odata.bind"]
                .as_str()
                .and_then(|s| bound_id(s, "presentations"))
                .unwrap_or_default()
                .to_owned();
            if let Some(o) = v.as_object_mut() {
                o.remove("presentation@odata.bind");
                o.insert(
                    "id".into(),
                    json!(synthetic_guid(&format!("pv{}", ctx.sim.next_n()))),
                );
                o.insert("presentation".into(), json!({ "id": pid }));
            }
            presentations.push(v);
        }
        values.push(json!({
            "id": synthetic_guid(&format!("dv{}", ctx.sim.next_n())),
            "enabled": added["enabled"].clone(),
            "configurationType": "policy",
            "definition": { "id": def },
            "presentationValues": presentations,
        }));
    }
    ctx.t.intune.definition_values.insert(id, values);
    Reply::empty(204)
}

fn definition_values(ctx: &mut Ctx<'_, '_>, p: &Params) -> Reply {
    let id = match admx_config(ctx, p) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let items = ctx
        .t
        .intune
        .definition_values
        .get(&id)
        .cloned()
        .unwrap_or_default();
    list(ctx.req, items, "definitionValues", None)
}
