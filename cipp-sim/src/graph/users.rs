//! Users: the collection (UPN rules, passwords never returned, soft delete and restore),
//! their relationships (memberOf, manager), sessions and licences.

use serde_json::{json, Map, Value};

use super::collection::{Audited, Deletion, Hooks, Resource, Typing};
use super::{error, id_of, list, not_found, routes, with_context, Answer, Ctx, Params, Route};
use crate::state::{paths, synthetic_guid, user_matches, Area, SimTenant};
use crate::Reply;

/// Properties Graph returns for a user when no `$select` is given.
pub(crate) const USER_DEFAULT_PROPS: &[&str] = &[
    "businessPhones",
    "displayName",
    "givenName",
    "id",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
];

fn user_target(t: &SimTenant, u: &Value) -> Value {
    t.user_target(&id_of(u), Vec::new())
}

pub(crate) const RESOURCES: &[Resource] = &[Resource {
    path: paths::USERS,
    entity: "users",
    area: Area::Directory,
    noun: "User",
    typing: Typing::Fixed("#microsoft.graph.user"),
    deletion: Deletion::Soft,
    modified: None,
    defaults: Some(USER_DEFAULT_PROPS),
    required: &[
        "accountEnabled",
        "displayName",
        "mailNickname",
        "userPrincipalName",
    ],
    key: user_matches,
    not_found,
    audit: Some(Audited {
        category: "UserManagement",
        add: "Add user",
        update: "Update user",
        delete: "Delete user",
        restore: "Restore user",
        purge: "Hard Delete user",
        target: user_target,
    }),
    hooks: Hooks {
        before_create: Some(before_create),
        before_update: Some(before_update),
        before_restore: Some(before_restore),
        ..Hooks::NONE
    },
    ..Resource::STANDARD
}];

/// The UPN must be on a verified domain and not taken by another live user.
fn check_upn(t: &SimTenant, upn: &str, own_id: Option<&str>) -> Result<(), Reply> {
    let Some((_, domain)) = upn.rsplit_once('@') else {
        return Err(error(
            400,
            "Request_BadRequest",
            "Invalid value specified for property 'userPrincipalName' of resource 'User'.",
        ));
    };
    if !t.domains.iter().any(|d| d.eq_ignore_ascii_case(domain)) {
        return Err(error(
            400,
            "Request_BadRequest",
            "The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.",
        ));
    }
    let taken = t.users().iter().any(|u| {
        u["userPrincipalName"]
            .as_str()
            .is_some_and(|x| x.eq_ignore_ascii_case(upn))
            && u["id"].as_str() != own_id
    });
    if taken {
        return Err(error(
            400,
            "Request_BadRequest",
            "Another object with the same value for property userPrincipalName already exists.",
        ));
    }
    Ok(())
}

fn before_create(ctx: &mut Ctx<'_, '_>, user: &mut Map<String, Value>) -> Result<(), Reply> {
    if user
        .get("passwordProfile")
        .and_then(|p| p.get("password"))
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err(error(
            400,
            "Request_BadRequest",
            "Invalid value specified for property 'passwordProfile' of resource 'User'.",
        ));
    }
    let upn = user
        .get("userPrincipalName")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    check_upn(ctx.t, &upn, None)?;
    user.remove("passwordProfile");
    user.entry("userType").or_insert(json!("Member"));
    user.entry("businessPhones").or_insert(json!([]));
    Ok(())
}

fn before_update(
    ctx: &mut Ctx<'_, '_>,
    current: &Value,
    changes: &mut Map<String, Value>,
) -> Result<(), Reply> {
    if let Some(upn) = changes.get("userPrincipalName").and_then(Value::as_str) {
        check_upn(ctx.t, upn, current["id"].as_str())?;
    }
    // A password set through passwordProfile is a reset: audited as one, never stored.
    if let Some(profile) = changes.remove("passwordProfile") {
        if profile.get("password").is_some_and(|p| !p.is_null()) {
            ctx.audit_user("Reset user password", "Update", &id_of(current));
        }
    }
    Ok(())
}

/// A restore over a UPN that a live user took since is refused, as Graph refuses it; a new
/// UPN (beta `newUserPrincipalName`) must also be on a verified domain.
fn before_restore(ctx: &mut Ctx<'_, '_>, user: &Value) -> Result<(), Reply> {
    let upn = user["userPrincipalName"].as_str().unwrap_or_default();
    check_upn(ctx.t, upn, None)
}

pub(crate) const ROUTES: &[Route] = routes![
    GET "users/{id}/memberof" => memberships::<false>,
    GET "users/{id}/transitivememberof" => memberships::<true>,
    GET "users/{id}/manager" => get_manager,
    PUT "users/{id}/manager/$ref" => set_manager,
    DELETE "users/{id}/manager/$ref" => remove_manager,
    POST "users/{id}/revokesigninsessions" => revoke_sessions,
    POST "users/{id}/assignlicense" => assign_license,
    POST "users/{id}/reprocesslicenseassignment" => reprocess_licenses,
];

/// A reference's object id (`…/directoryObjects/{id}`, `…/users('{id}')`).
pub(crate) fn ref_id(v: &Value) -> Option<String> {
    v.as_str().and_then(|s| s.rsplit('/').next()).map(|s| {
        s.trim_end_matches("')")
            .trim_start_matches("('")
            .to_ascii_lowercase()
    })
}

/// A user or group as `members`, `memberOf` and `manager` answer it.
pub(crate) fn directory_object(t: &SimTenant, id: &str) -> Option<Value> {
    if let Some(u) = t.directory.user(id) {
        let mut u = super::project(
            u,
            None,
            Some(&["id", "displayName", "userPrincipalName", "mail"]),
        );
        u["@odata.type"] = json!("#microsoft.graph.user");
        return Some(u);
    }
    t.directory.group(id).map(|g| {
        let mut g = g.clone();
        g["@odata.type"] = json!("#microsoft.graph.group");
        g
    })
}

pub(crate) fn role_name(template: &str) -> &'static str {
    match template {
        "62e90394-69f5-4237-9190-012177145e10" => "Global Administrator",
        "e8611ab8-c189-46e8-94e1-60213ab1f814" => "Privileged Role Administrator",
        "7be44c8a-adaf-4e2a-84d6-ab2649e08a13" => "Privileged Authentication Administrator",
        "fe930be7-5e62-47db-91af-98c3a49a38b1" => "User Administrator",
        "29232cdf-9323-42fd-ade2-1d097af3e4de" => "Exchange Administrator",
        _ => "Directory Role",
    }
}

/// The user's groups and directory roles (`TRANSITIVE`: through nested groups too).
fn memberships<const TRANSITIVE: bool>(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let uid = ctx.user_id(p.get(0))?;
    let t = &*ctx.t;
    let members = &t.directory.members;
    let mut found: Vec<String> = members
        .iter()
        .filter(|(_, m)| m.contains(&uid))
        .map(|(g, _)| g.clone())
        .collect();
    if TRANSITIVE {
        let mut i = 0;
        while i < found.len() {
            let g = found[i].clone();
            for (parent, m) in members {
                if m.contains(&g) && !found.contains(parent) {
                    found.push(parent.clone());
                }
            }
            i += 1;
        }
    }
    let mut items: Vec<Value> = found
        .iter()
        .filter_map(|g| directory_object(t, g))
        .collect();
    for (template, holders) in &t.directory.roles {
        // Transitively, a role held by a (role-assignable) group the user is in counts too.
        if holders.contains(&uid) || (TRANSITIVE && holders.iter().any(|h| found.contains(h))) {
            items.push(json!({"@odata.type": "#microsoft.graph.directoryRole",
                "id": synthetic_guid(&format!("{}-{template}", t.id)),
                "displayName": role_name(template), "roleTemplateId": template}));
        }
    }
    Ok(list(ctx.req, items, "directoryObjects", None))
}

fn get_manager(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let uid = ctx.user_id(p.get(0))?;
    let t = &*ctx.t;
    let manager = t.directory.managers.get(&uid);
    let m = manager.and_then(|m| directory_object(t, m));
    Ok(Reply::json(200, m.ok_or_else(|| not_found("manager"))?))
}

/// The object id an `@odata.id` reference body names, or a 400.
pub(crate) fn ref_body(ctx: &Ctx<'_, '_>) -> Result<String, Reply> {
    ref_id(&ctx.req.json()?["@odata.id"])
        .ok_or_else(|| error(400, "Request_BadRequest", "Invalid @odata.id reference."))
}

fn set_manager(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let uid = ctx.user_id(p.get(0))?;
    let mgr = ref_body(ctx)?;
    ctx.user_id(&mgr)?;
    ctx.t.directory.managers.insert(uid.clone(), mgr);
    ctx.audit_user("Set user manager", "Update", &uid);
    Ok(Reply::empty(204))
}

fn remove_manager(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let uid = ctx.user_id(p.get(0))?;
    ctx.t
        .directory
        .managers
        .remove(&uid)
        .ok_or_else(|| not_found("manager"))?;
    ctx.audit_user("Remove user manager", "Update", &uid);
    Ok(Reply::empty(204))
}

fn revoke_sessions(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let now = ctx.req.now.clone();
    let u = ctx
        .t
        .directory
        .users_mut()
        .iter_mut()
        .find(|u| user_matches(u, p.get(0)))
        .ok_or_else(|| not_found(p.get(0)))?;
    u["signInSessionsValidFromDateTime"] = json!(now);
    Ok(Reply::json(
        200,
        json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Edm.Boolean", "value": true}),
    ))
}

fn sku_matches(s: &Value, sku: &str) -> bool {
    s["skuId"]
        .as_str()
        .is_some_and(|x| x.eq_ignore_ascii_case(sku))
}

fn assign_license(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let i = ctx
        .t
        .user_index(p.get(0))
        .ok_or_else(|| not_found(p.get(0)))?;
    let b = ctx.req.json()?;
    let user = ctx.t.users()[i].clone();
    if user["usageLocation"].as_str().is_none_or(str::is_empty) {
        return Err(error(
            400,
            "Request_BadRequest",
            "License assignment cannot be done for user with invalid usage location.",
        ));
    }
    let add: Vec<Value> = b["addLicenses"].as_array().cloned().unwrap_or_default();
    let remove: Vec<String> = b["removeLicenses"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_ascii_lowercase))
                .collect()
        })
        .unwrap_or_default();
    for l in &add {
        let sku = l["skuId"].as_str().unwrap_or("").to_ascii_lowercase();
        let Some(s) = ctx.t.directory.skus().iter().find(|s| sku_matches(s, &sku)) else {
            return Err(error(
                400,
                "Request_BadRequest",
                &format!("License {sku} does not correspond to a valid company License."),
            ));
        };
        let free = s["prepaidUnits"]["enabled"].as_i64().unwrap_or(0)
            - s["consumedUnits"].as_i64().unwrap_or(0);
        if free <= 0 {
            return Err(error(
                400,
                "Request_BadRequest",
                &format!("Subscription {sku} does not have any available licenses."),
            ));
        }
    }
    let mut assigned: Vec<Value> = user["assignedLicenses"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assigned.retain(|l| !remove.contains(&l["skuId"].as_str().unwrap_or("").to_ascii_lowercase()));
    let skus = ctx.t.directory.store.get_mut(paths::SKUS);
    for l in add {
        let sku = l["skuId"].as_str().unwrap_or("").to_ascii_lowercase();
        if !assigned.iter().any(|a| sku_matches(a, &sku)) {
            assigned.push(json!({"skuId": sku, "disabledPlans": l["disabledPlans"].clone()}));
            if let Some(s) = skus.iter_mut().find(|s| sku_matches(s, &sku)) {
                s["consumedUnits"] = json!(s["consumedUnits"].as_i64().unwrap_or(0) + 1);
            }
        }
    }
    for sku in &remove {
        if let Some(s) = skus.iter_mut().find(|s| sku_matches(s, sku)) {
            s["consumedUnits"] = json!((s["consumedUnits"].as_i64().unwrap_or(0) - 1).max(0));
        }
    }
    let mut change = Map::new();
    change.insert("assignedLicenses".into(), Value::Array(assigned.clone()));
    let modified = crate::state::modified_properties(&user, &change);
    let users = ctx.t.directory.users_mut();
    users[i]["assignedLicenses"] = Value::Array(assigned);
    let updated = users[i].clone();
    let target = ctx.t.user_target(&id_of(&updated), modified);
    ctx.audit(
        "Change user license",
        "UserManagement",
        "Update",
        vec![target],
    );
    Ok(Reply::json(
        200,
        with_context(updated, ctx.req.version, "users/$entity"),
    ))
}

fn reprocess_licenses(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let u = ctx.user(p.get(0))?.clone();
    Ok(Reply::json(
        200,
        with_context(u, ctx.req.version, "users/$entity"),
    ))
}
