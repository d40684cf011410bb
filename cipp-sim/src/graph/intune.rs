//! Intune per tenant: policies of every kind the SDK handles, kept as sent (polymorphic
//! by `@odata.type`), with assignments, settings-catalog settings, compliance scheduled
//! actions (shown only with `$expand`, as Graph does; replaced by
//! `scheduleActionsForRules`), administrative template definition values
//! (`updateDefinitionValues`, read with `$expand`) and the Apple tokens. Settings-catalog
//! policies using a setting the tenant does not offer are refused naming it.
//!
//! Windows Information Protection policies (`mdmWindowsInformationProtectionPolicies`,
//! `windowsInformationProtectionPolicies`) are assigned, as Graph documents it, through
//! the `assign` they inherit from `managedAppPolicy`
//! (`deviceAppManagement/managedAppPolicies/{id}/assign`), which takes any app policy.
//!
//! OMA-URI settings of custom device configurations are kept in plain text and read back
//! as Intune shows them: string and XML settings encrypted (`isEncrypted: true`, a
//! `secretReferenceValueId`, the value masked as `****`, or `PGEvPg==` for XML), their
//! text given by `getOmaSettingPlainTextValue(secretReferenceValueId='…')` (the XML
//! itself, not its base64). A `PATCH` that sends an encrypted setting back as it was read
//! keeps its value.

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
    before_update: Some(before_update),
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
    policies(
        "deviceappmanagement/mdmwindowsinformationprotectionpolicies",
        "deviceAppManagement/mdmWindowsInformationProtectionPolicies",
        Typing::Any,
    ),
    policies(
        "deviceappmanagement/windowsinformationprotectionpolicies",
        "deviceAppManagement/windowsInformationProtectionPolicies",
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
    Route {
        method: "GET",
        path: "devicemanagement/deviceconfigurations",
        handler: read_device_configurations,
    },
    Route {
        method: "GET",
        path: "devicemanagement/deviceconfigurations/{id}",
        handler: read_device_configurations,
    },
    Route {
        method: "GET",
        path: "devicemanagement/deviceconfigurations/{id}/getomasettingplaintextvalue/{arg}",
        handler: oma_plain_text,
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

/// The app policy collections `deviceAppManagement/managedAppPolicies` spans.
const MANAGED_APP_POLICIES: &[&str] = &[
    "deviceappmanagement/iosmanagedappprotections",
    "deviceappmanagement/androidmanagedappprotections",
    "deviceappmanagement/windowsmanagedappprotections",
    "deviceappmanagement/targetedmanagedappconfigurations",
    "deviceappmanagement/mdmwindowsinformationprotectionpolicies",
    "deviceappmanagement/windowsinformationprotectionpolicies",
];

/// The policy a `{root}/{collection}/{id}/…` route names, or the reply refusing it.
fn policy<'a>(ctx: &'a Ctx<'_, '_>, p: &Params) -> Result<(&'static Resource, &'a Value), Reply> {
    if p.get(0).eq_ignore_ascii_case("deviceappmanagement")
        && p.get(1).eq_ignore_ascii_case("managedapppolicies")
    {
        return MANAGED_APP_POLICIES
            .iter()
            .filter_map(|path| RESOURCES.iter().find(|r| r.path == *path))
            .find_map(|res| {
                ctx.t
                    .intune
                    .store
                    .get(res.path)
                    .get(p.get(2))
                    .map(|v| (res, v))
            })
            .ok_or_else(|| intune_not_found(p.get(2)));
    }
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

// ---------------------------------------------------------------------------------------
// Encrypted OMA-URI settings

const DEVICE_CONFIGURATIONS: &str = "devicemanagement/deviceconfigurations";

/// The value Intune shows instead of an encrypted setting's (`None`: not encrypted).
fn masked(setting: &Value) -> Option<&'static str> {
    let t = setting["@odata.type"].as_str().unwrap_or_default();
    if t.eq_ignore_ascii_case("#microsoft.graph.omaSettingString") {
        Some("****")
    } else if t.eq_ignore_ascii_case("#microsoft.graph.omaSettingStringXml") {
        // base64 of `<a/>`
        Some("PGEvPg==")
    } else {
        None
    }
}

/// The secret reference of setting `index` of configuration `id`.
fn secret_reference(id: &str, index: usize) -> String {
    synthetic_guid(&format!("omasecret/{}/{index}", id.to_ascii_lowercase()))
}

/// A configuration as Intune reads it: string and XML OMA-URI settings encrypted.
fn encrypt_oma_settings(item: &mut Value) {
    let id = item["id"].as_str().unwrap_or_default().to_owned();
    let Some(settings) = item.get_mut("omaSettings").and_then(Value::as_array_mut) else {
        return;
    };
    for (i, s) in settings.iter_mut().enumerate() {
        let Some(mask) = masked(s) else { continue };
        if let Some(o) = s.as_object_mut() {
            o.insert("isEncrypted".into(), json!(true));
            o.insert(
                "secretReferenceValueId".into(),
                json!(secret_reference(&id, i)),
            );
            o.insert("value".into(), json!(mask));
        }
    }
}

/// A read of device configurations: the standard answer with OMA-URI secrets encrypted.
fn read_device_configurations(ctx: &mut Ctx<'_, '_>, _: &Params) -> Reply {
    let lower: Vec<String> = ctx
        .req
        .segments
        .iter()
        .map(|s| s.to_ascii_lowercase())
        .collect();
    let Some(res) = RESOURCES.iter().find(|r| r.path == DEVICE_CONFIGURATIONS) else {
        return intune_not_found(DEVICE_CONFIGURATIONS);
    };
    let reply = match super::collection::serve(ctx, res, &lower) {
        super::collection::Served::Reply(r) => r,
        _ => return intune_not_found(DEVICE_CONFIGURATIONS),
    };
    if reply.status != 200 {
        return reply;
    }
    let Ok(mut body) = serde_json::from_slice::<Value>(&reply.body) else {
        return reply;
    };
    match body.get_mut("value").and_then(Value::as_array_mut) {
        Some(items) => items.iter_mut().for_each(encrypt_oma_settings),
        None => encrypt_oma_settings(&mut body),
    }
    let mut out = Reply::json(200, body);
    out.headers.extend(reply.headers);
    out
}

/// `getOmaSettingPlainTextValue(secretReferenceValueId='…')`: the setting's text (an XML
/// setting's XML, not its base64).
fn oma_plain_text(ctx: &mut Ctx<'_, '_>, p: &Params) -> Reply {
    let Some((key, sid)) = p.get(1).split_once('=') else {
        return error(
            400,
            "BadRequest",
            "The parameter secretReferenceValueId is required.",
        );
    };
    if !key.eq_ignore_ascii_case("secretReferenceValueId") {
        return error(
            400,
            "BadRequest",
            "The parameter secretReferenceValueId is required.",
        );
    }
    let Some(config) = ctx.t.intune.store.get(DEVICE_CONFIGURATIONS).get(p.get(0)) else {
        return intune_not_found(p.get(0));
    };
    let id = config["id"].as_str().unwrap_or_default();
    let found = config["omaSettings"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .find(|(i, s)| masked(s).is_some() && secret_reference(id, *i).eq_ignore_ascii_case(sid));
    let Some((_, setting)) = found else {
        return error(
            404,
            "ResourceNotFound",
            "No encrypted OMA setting has this secret reference.",
        );
    };
    let stored = setting["value"].as_str().unwrap_or_default();
    let xml = setting["@odata.type"]
        .as_str()
        .is_some_and(|t| t.eq_ignore_ascii_case("#microsoft.graph.omaSettingStringXml"));
    let text = if xml {
        base64_decode(stored)
            .and_then(|b| String::from_utf8(b).ok())
            .unwrap_or_else(|| stored.to_owned())
    } else {
        stored.to_owned()
    };
    Reply::json(
        200,
        with_context(json!({ "value": text }), ctx.req.version, "Edm.String"),
    )
}

/// A `PATCH` of a device configuration that sends an encrypted setting back as read (its
/// `secretReferenceValueId`, the masked value) keeps the stored value.
fn before_update(
    ctx: &mut Ctx<'_, '_>,
    current: &Value,
    changes: &mut Map<String, Value>,
) -> Result<(), Reply> {
    let collection = ctx.req.segments.get(1).map(|s| s.to_ascii_lowercase());
    if collection.as_deref() != Some("deviceconfigurations") {
        return Ok(());
    }
    let id = current["id"].as_str().unwrap_or_default();
    let stored: Vec<(String, Value)> = current["omaSettings"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .filter(|(_, s)| masked(s).is_some())
        .map(|(i, s)| (secret_reference(id, i), s["value"].clone()))
        .collect();
    let Some(sent) = changes.get_mut("omaSettings").and_then(Value::as_array_mut) else {
        return Ok(());
    };
    for s in sent.iter_mut() {
        let encrypted = s["isEncrypted"].as_bool() == Some(true);
        let reference = s["secretReferenceValueId"].as_str().map(str::to_owned);
        let kept = reference.and_then(|r| {
            stored
                .iter()
                .find(|(sid, _)| sid.eq_ignore_ascii_case(&r))
                .map(|(_, v)| v.clone())
        });
        if let (true, Some(value), Some(o)) = (encrypted, kept, s.as_object_mut()) {
            o.insert("value".into(), value);
        }
    }
    Ok(())
}

/// Standard base64 (padding optional); `None` when `s` is not base64.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    fn sextet(c: u8) -> Option<u32> {
        Some(u32::from(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        }))
    }
    let digits: Vec<u8> = s.trim_end_matches('=').bytes().collect();
    if digits.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= sextet(*c)? << (18 - 6 * i);
        }
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decodes_with_and_without_padding() {
        assert_eq!(base64_decode("PGEvPg==").as_deref(), Some(&b"<a/>"[..]));
        assert_eq!(base64_decode("PGEvPg").as_deref(), Some(&b"<a/>"[..]));
        assert_eq!(base64_decode("TWFu").as_deref(), Some(&b"Man"[..]));
        assert_eq!(base64_decode("TWE=").as_deref(), Some(&b"Ma"[..]));
        assert_eq!(base64_decode("").as_deref(), Some(&b""[..]));
        assert!(base64_decode("T").is_none());
        assert!(base64_decode("not base64!").is_none());
    }
}
