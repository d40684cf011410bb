//! App role assignments of a client service principal (application permissions):
//! `GET` and `POST servicePrincipals/{id}/appRoleAssignments`, kept in the directory
//! store at [`crate::state::paths::APP_ROLE_ASSIGNMENTS`]. A `POST` needs the principal
//! (the path's service
//! principal), the resource service principal and one of the resource's `appRoles`
//! (otherwise 400 / 404 as Graph answers), refuses a duplicate with 409 and is audited
//! as `Add app role assignment to service principal`.

use serde_json::{json, Value};

use super::{error, list, not_found, routes, Answer, Ctx, Params, Route};
use crate::Reply;

use crate::state::paths::APP_ROLE_ASSIGNMENTS;

pub(crate) const ROUTES: &[Route] = routes![
    GET "serviceprincipals/{id}/approleassignments" => list_assignments,
    POST "serviceprincipals/{id}/approleassignments" => assign,
];

fn service_principal(ctx: &Ctx<'_, '_>, id: &str) -> Result<Value, Reply> {
    ctx.t
        .directory
        .service_principals()
        .get(id)
        .cloned()
        .ok_or_else(|| not_found(id))
}

fn list_assignments(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let sp = service_principal(ctx, p.get(0))?;
    let id = sp["id"].as_str().unwrap_or_default().to_ascii_lowercase();
    let items: Vec<Value> = ctx
        .t
        .directory
        .store
        .get(APP_ROLE_ASSIGNMENTS)
        .items()
        .iter()
        .filter(|a| {
            a["principalId"]
                .as_str()
                .is_some_and(|p| p.eq_ignore_ascii_case(&id))
        })
        .cloned()
        .collect();
    Ok(list(
        ctx.req,
        items,
        &format!("servicePrincipals('{id}')/appRoleAssignments"),
        None,
    ))
}

fn assign(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let principal = service_principal(ctx, p.get(0))?;
    let body = ctx.req.object()?;
    let text = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_ascii_lowercase()
    };
    let (principal_id, resource_id, role_id) =
        (text("principalId"), text("resourceId"), text("appRoleId"));
    if !principal["id"]
        .as_str()
        .is_some_and(|i| i.eq_ignore_ascii_case(&principal_id))
    {
        return Err(error(
            400,
            "Request_BadRequest",
            "The principalId in the body must be the service principal of the request path.",
        ));
    }
    let resource = ctx
        .t
        .directory
        .service_principals()
        .get(&resource_id)
        .cloned()
        .ok_or_else(|| not_found(&resource_id))?;
    let offered = resource["appRoles"].as_array().is_some_and(|roles| {
        roles.iter().any(|r| {
            r["id"]
                .as_str()
                .is_some_and(|i| i.eq_ignore_ascii_case(&role_id))
        })
    });
    if !offered {
        return Err(error(
            400,
            "Request_BadRequest",
            "Permission being assigned was not found on application",
        ));
    }
    let store = ctx.t.directory.store.get_mut(APP_ROLE_ASSIGNMENTS);
    let exists = store.items().iter().any(|a| {
        a["principalId"].as_str() == Some(principal_id.as_str())
            && a["resourceId"].as_str() == Some(resource_id.as_str())
            && a["appRoleId"].as_str() == Some(role_id.as_str())
    });
    if exists {
        return Err(error(
            409,
            "Request_BadRequest",
            "Permission being assigned already exists on the object",
        ));
    }
    let assignment = json!({
        "id": ctx.new_id("approleassignment"),
        "deletedDateTime": null,
        "appRoleId": role_id,
        "createdDateTime": ctx.req.now,
        "principalDisplayName": principal["displayName"],
        "principalId": principal_id,
        "principalType": "ServicePrincipal",
        "resourceDisplayName": resource["displayName"],
        "resourceId": resource_id,
    });
    ctx.t
        .directory
        .store
        .get_mut(APP_ROLE_ASSIGNMENTS)
        .insert(assignment.clone());
    let target = json!({"id": principal_id, "displayName": principal["displayName"],
        "type": "ServicePrincipal", "modifiedProperties": [{"displayName": "AppRole.Id",
        "oldValue": null, "newValue": format!("\"{role_id}\"")}]});
    ctx.audit(
        "Add app role assignment to service principal",
        "ApplicationManagement",
        "Assign",
        vec![target],
    );
    Ok(Reply::json(201, assignment))
}
