//! Intune per tenant: policies of every kind the SDK handles, kept as sent (polymorphic
//! by `@odata.type`), with assignments, settings-catalog settings and the Apple tokens.

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
    let compliance = ctx
        .req
        .segments
        .get(1)
        .is_some_and(|s| s.eq_ignore_ascii_case("deviceCompliancePolicies"));
    if compliance {
        if !p
            .get("scheduledActionsForRule")
            .is_some_and(Value::is_array)
        {
            return Err(error(
                400,
                "BadRequest",
                "ScheduledActionsForRule is required for compliance policies.",
            ));
        }
        p.remove("scheduledActionsForRule");
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

pub(crate) const ROUTES: &[Route] = &[
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
