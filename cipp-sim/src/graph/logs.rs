//! Logs (sign-ins and directory audits, newest first), consent grants, service principals,
//! licences (subscribed SKUs) and Intune managed devices.

use serde_json::{json, Map, Value};

use super::collection::{Audited, Hooks, Resource, Typing, NO_REPLACE_OPS, READ_OPS};
use super::{error, list_with, not_found, routes, Answer, Ctx, Paging, Params, Route};
use crate::state::{paths, synthetic_guid, Area, SimApp, SimTenant};
use crate::Reply;

/// The Azure MFA client application (the legacy MFA connector).
const MFA_APP: &str = "981f26a1-7f43-403b-a875-f8b09b8cd720";

fn grant_target(_: &SimTenant, g: &Value) -> Value {
    json!({"id": g["clientId"], "displayName": null, "type": "ServicePrincipal",
        "modifiedProperties": [{"displayName": "DelegatedPermissionGrant.Scope", "oldValue": null,
            "newValue": format!("\"{}\"", g["scope"].as_str().unwrap_or_default())}]})
}

fn sp_target(_: &SimTenant, sp: &Value) -> Value {
    json!({"id": sp["id"], "displayName": sp["displayName"], "type": "ServicePrincipal", "modifiedProperties": []})
}

pub(crate) const RESOURCES: &[Resource] = &[
    Resource {
        path: paths::GRANTS,
        entity: "oauth2PermissionGrants",
        area: Area::Directory,
        noun: "OAuth2PermissionGrant",
        ops: NO_REPLACE_OPS,
        typing: Typing::Fixed("#microsoft.graph.oAuth2PermissionGrant"),
        created: None,
        modified: None,
        required: &["clientId", "consentType", "resourceId"],
        not_found,
        audit: Some(Audited {
            category: "ApplicationManagement",
            add: "Add delegated permission grant",
            update: "Update delegated permission grant",
            delete: "Remove delegated permission grant",
            restore: "Restore delegated permission grant",
            purge: "Remove delegated permission grant",
            target: grant_target,
        }),
        ..Resource::STANDARD
    },
    Resource {
        path: paths::SERVICE_PRINCIPALS,
        entity: "servicePrincipals",
        area: Area::Directory,
        noun: "ServicePrincipal",
        typing: Typing::Fixed("#microsoft.graph.servicePrincipal"),
        modified: None,
        required: &["appId"],
        not_found,
        audit: Some(Audited {
            category: "ApplicationManagement",
            add: "Add service principal",
            update: "Update service principal",
            delete: "Remove service principal",
            restore: "Restore service principal",
            purge: "Hard delete service principal",
            target: sp_target,
        }),
        hooks: Hooks {
            before_create: Some(sp_before_create),
            ..Hooks::NONE
        },
        ..Resource::STANDARD
    },
    // Eligible (PIM) role assignments: read-only here (Graph creates them through
    // roleEligibilityScheduleRequests); seed them into the store.
    Resource {
        path: paths::ROLE_ELIGIBILITIES,
        entity: "roleManagement/directory/roleEligibilityScheduleInstances",
        area: Area::Directory,
        noun: "UnifiedRoleEligibilityScheduleInstance",
        ops: READ_OPS,
        typing: Typing::Fixed("#microsoft.graph.unifiedRoleEligibilityScheduleInstance"),
        created: None,
        modified: None,
        not_found,
        ..Resource::STANDARD
    },
    Resource {
        path: paths::SKUS,
        entity: "subscribedSkus",
        area: Area::Directory,
        noun: "SubscribedSku",
        ops: READ_OPS,
        ..Resource::STANDARD
    },
    Resource {
        path: paths::MANAGED_DEVICES,
        entity: "deviceManagement/managedDevices",
        area: Area::Intune,
        noun: "ManagedDevice",
        ops: READ_OPS,
        ..Resource::STANDARD
    },
];

fn sp_before_create(ctx: &mut Ctx<'_, '_>, sp: &mut Map<String, Value>) -> Result<(), Reply> {
    let app_id = sp
        .get("appId")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if ctx
        .t
        .directory
        .service_principals()
        .iter()
        .any(|s| s["appId"].as_str() == Some(app_id.as_str()))
    {
        return Err(error(
            409,
            "Request_MultipleObjectsWithSameKeyValue",
            "The service principal already exists.",
        ));
    }
    let name = if app_id == MFA_APP {
        "Azure Multi-Factor Auth Client"
    } else {
        "Application"
    };
    sp.entry("displayName").or_insert(json!(name));
    sp.insert(
        "id".into(),
        json!(synthetic_guid(&format!("{}-sp-{app_id}", ctx.t.id))),
    );
    Ok(())
}

pub(crate) const ROUTES: &[Route] = routes![
    GET "auditlogs/signins" => sign_ins,
    GET "auditlogs/directoryaudits" => directory_audits,
    POST "serviceprincipals/{id}/addpassword" => add_password,
];

/// A log, newest first by `key`, paged as logs are.
fn log(ctx: &Ctx<'_, '_>, mut items: Vec<Value>, key: &str, entity: &str) -> Answer {
    items.sort_by(|a, b| b[key].as_str().cmp(&a[key].as_str()));
    Ok(list_with(ctx.req, items, entity, None, Paging::LOGS))
}

fn sign_ins(ctx: &mut Ctx<'_, '_>, _: &Params) -> Answer {
    let items = ctx.t.logs.sign_ins.clone();
    log(ctx, items, "createdDateTime", "auditLogs/signIns")
}

fn directory_audits(ctx: &mut Ctx<'_, '_>, _: &Params) -> Answer {
    let items = ctx.t.logs.directory_audits.clone();
    log(ctx, items, "activityDateTime", "auditLogs/directoryAudits")
}

/// A client secret on a service principal: registers the app with the token endpoint.
fn add_password(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let id = p.get(0);
    let sp = ctx
        .t
        .directory
        .service_principals()
        .get(id)
        .cloned()
        .ok_or_else(|| not_found(id))?;
    let secret = format!(
        "sim~{}",
        synthetic_guid(&format!("secret-{id}-{}", ctx.sim.next_n()))
    );
    let app_id = sp["appId"].as_str().unwrap_or_default().to_owned();
    ctx.others.apps.insert(
        app_id.clone(),
        SimApp {
            client_id: app_id,
            secret: secret.clone(),
            home_tenant: ctx.t.id.clone(),
            consented: vec![],
        },
    );
    Ok(Reply::json(
        200,
        json!({"keyId": synthetic_guid(&secret), "secretText": secret, "displayName": "temporary"}),
    ))
}
