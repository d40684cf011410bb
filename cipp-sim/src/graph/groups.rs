//! Groups: the collection (Microsoft 365 groups soft-deleted, security groups deleted for
//! good), membership through `$ref` and `members@odata.bind` (Exchange-managed and dynamic
//! groups refused), owners, and directory role membership.

use serde_json::{json, Map, Value};

use super::collection::{Audited, Deletion, Hooks, Resource, Typing};
use super::users::{directory_object, ref_body, ref_id, role_name};
use super::{error, id_of, list, not_found, routes, Answer, Ctx, Params, Route};
use crate::state::{paths, Area, SimTenant};
use crate::Reply;

fn is_unified(g: &Value) -> bool {
    g["groupTypes"].as_array().is_some_and(|a| {
        a.iter().any(|x| {
            x.as_str()
                .is_some_and(|s| s.eq_ignore_ascii_case("Unified"))
        })
    })
}

fn group_target(t: &SimTenant, g: &Value) -> Value {
    let mut target = t.group_target(&id_of(g));
    if target["displayName"].is_null() {
        target["displayName"] = g["displayName"].clone();
    }
    target
}

pub(crate) const RESOURCES: &[Resource] = &[Resource {
    path: paths::GROUPS,
    entity: "groups",
    area: Area::Directory,
    noun: "Group",
    typing: Typing::Fixed("#microsoft.graph.group"),
    deletion: Deletion::SoftIf(is_unified),
    modified: None,
    required: &[
        "displayName",
        "mailNickname",
        "mailEnabled",
        "securityEnabled",
    ],
    not_found,
    audit: Some(Audited {
        category: "GroupManagement",
        add: "Add group",
        update: "Update group",
        delete: "Delete group",
        restore: "Restore group",
        purge: "Hard Delete group",
        target: group_target,
    }),
    hooks: Hooks {
        before_create: Some(before_create),
        after_create: Some(after_create),
        before_update: Some(before_update),
        after_delete: Some(after_delete),
        ..Hooks::NONE
    },
    ..super::collection::Resource::STANDARD
}];

fn binds(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(ref_id).collect())
        .unwrap_or_default()
}

fn before_create(_: &mut Ctx<'_, '_>, g: &mut Map<String, Value>) -> Result<(), Reply> {
    let unified = is_unified(&Value::Object(g.clone()));
    if g.get("mailEnabled") == Some(&json!(true)) && !unified {
        return Err(error(400, "Request_BadRequest", "Only Microsoft 365 groups and security groups can be created through Graph; mail-enabled security groups and distribution lists are created in Exchange."));
    }
    if binds(g.get("members@odata.bind")).len() > 20 || binds(g.get("owners@odata.bind")).len() > 20
    {
        return Err(error(
            400,
            "Request_BadRequest",
            "A maximum of 20 members and 20 owners can be added when the group is created.",
        ));
    }
    g.entry("groupTypes").or_insert(json!([]));
    Ok(())
}

/// Members and owners bound at creation become relationships.
fn after_create(ctx: &mut Ctx<'_, '_>, g: &Value) -> Vec<(&'static str, String)> {
    let id = id_of(g);
    let members = binds(g.get("members@odata.bind"));
    let owners = binds(g.get("owners@odata.bind"));
    ctx.t.directory.members.insert(id.clone(), members);
    ctx.t.directory.owners.insert(id.clone(), owners);
    if let Some(Value::Object(stored)) = ctx.t.directory.groups_mut().get_mut(&id) {
        stored.retain(|k, _| !k.contains('@'));
    }
    Vec::new()
}

/// Why a group's membership cannot change through Graph.
fn membership_refused(g: &Value) -> Option<&'static str> {
    let types: Vec<&str> = g["groupTypes"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if types
        .iter()
        .any(|t| t.eq_ignore_ascii_case("DynamicMembership"))
    {
        return Some("Insufficient privileges to complete the operation. Members of dynamic groups are managed by the membership rule.");
    }
    if !is_unified(g) && g["mailEnabled"] == json!(true) {
        return Some("Cannot Update a mail-enabled security groups and or distribution list.");
    }
    None
}

fn object_exists(t: &SimTenant, id: &str) -> bool {
    t.directory.user(id).is_some() || t.directory.group(id).is_some()
}

const ALREADY: &str =
    "One or more added object references already exist for the following modified properties: 'members'.";

fn member_added(ctx: &mut Ctx<'_, '_>, gid: &str, member: &str) {
    let targets = vec![
        ctx.t.user_target(member, Vec::new()),
        ctx.t.group_target(gid),
    ];
    ctx.audit("Add member to group", "GroupManagement", "Assign", targets);
}

/// `members@odata.bind` in a PATCH adds members (at most 20).
fn before_update(
    ctx: &mut Ctx<'_, '_>,
    current: &Value,
    changes: &mut Map<String, Value>,
) -> Result<(), Reply> {
    let Some(list) = changes.remove("members@odata.bind") else {
        return Ok(());
    };
    let refs = list.as_array().cloned().unwrap_or_default();
    if refs.len() > 20 {
        return Err(error(
            400,
            "Request_BadRequest",
            "The maximum number of 20 members has been exceeded in a single request.",
        ));
    }
    if let Some(why) = membership_refused(current) {
        return Err(error(400, "Request_BadRequest", why));
    }
    let gid = id_of(current);
    let ids: Vec<String> = refs.iter().filter_map(ref_id).collect();
    let existing = ctx
        .t
        .directory
        .members
        .get(&gid)
        .cloned()
        .unwrap_or_default();
    for id in &ids {
        if !object_exists(ctx.t, id) {
            return Err(not_found(id));
        }
        if existing.contains(id) {
            return Err(error(400, "Request_BadRequest", ALREADY));
        }
    }
    ctx.t
        .directory
        .members
        .entry(gid.clone())
        .or_default()
        .extend(ids.clone());
    for id in &ids {
        member_added(ctx, &gid, id);
    }
    Ok(())
}

/// A group gone for good takes its relationships with it; a soft-deleted Microsoft 365
/// group keeps them for its restore.
fn after_delete(ctx: &mut Ctx<'_, '_>, g: &Value, gone: bool) {
    if gone {
        let id = id_of(g);
        ctx.t.directory.members.remove(&id);
        ctx.t.directory.owners.remove(&id);
    }
}

pub(crate) const ROUTES: &[Route] = routes![
    GET "groups/{id}/members" => related::<false>,
    GET "groups/{id}/owners" => related::<true>,
    POST "groups/{id}/members/$ref" => add_member,
    DELETE "groups/{id}/members/{member}/$ref" => remove_member,
    DELETE "directoryroles/{role}/members/{member}/$ref" => remove_role_member,
];

/// The group `key` names, or Graph's 404.
fn group(ctx: &Ctx<'_, '_>, key: &str) -> Result<Value, Reply> {
    ctx.t
        .directory
        .group(key)
        .cloned()
        .ok_or_else(|| not_found(key))
}

/// The group `key` names if its membership can change through Graph.
fn open_group(ctx: &Ctx<'_, '_>, key: &str) -> Result<Value, Reply> {
    let g = group(ctx, key)?;
    match membership_refused(&g) {
        Some(why) => Err(error(400, "Request_BadRequest", why)),
        None => Ok(g),
    }
}

/// The group's members (or, with `OWNERS`, its owners).
fn related<const OWNERS: bool>(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let gid = id_of(&group(ctx, p.get(0))?);
    let t = &*ctx.t;
    let rel = if OWNERS {
        &t.directory.owners
    } else {
        &t.directory.members
    };
    let items: Vec<Value> = rel
        .get(&gid)
        .into_iter()
        .flatten()
        .filter_map(|x| directory_object(t, x))
        .collect();
    Ok(list(ctx.req, items, "directoryObjects", None))
}

fn add_member(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    group(ctx, p.get(0))?;
    let member = ref_body(ctx)?;
    let gid = id_of(&open_group(ctx, p.get(0))?);
    if !object_exists(ctx.t, &member) {
        return Err(not_found(&member));
    }
    let list = ctx.t.directory.members.entry(gid.clone()).or_default();
    if list.contains(&member) {
        return Err(error(400, "Request_BadRequest", ALREADY));
    }
    list.push(member.clone());
    member_added(ctx, &gid, &member);
    Ok(Reply::empty(204))
}

fn remove_member(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let gid = id_of(&open_group(ctx, p.get(0))?);
    let member = p.get(1);
    let list = ctx.t.directory.members.entry(gid.clone()).or_default();
    let pos = list
        .iter()
        .position(|x| x.eq_ignore_ascii_case(member))
        .ok_or_else(|| not_found(member))?;
    let removed = list.remove(pos);
    let targets = vec![
        ctx.t.user_target(&removed, Vec::new()),
        ctx.t.group_target(&gid),
    ];
    ctx.audit(
        "Remove member from group",
        "GroupManagement",
        "Unassign",
        targets,
    );
    Ok(Reply::empty(204))
}

/// `directoryRoles(roleTemplateId='…')/members/{id}/$ref`.
fn remove_role_member(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let role = p.get(0);
    let template = role
        .split_once('=')
        .map_or(role, |(k, v)| {
            if k.eq_ignore_ascii_case("roleTemplateId") {
                v
            } else {
                role
            }
        })
        .to_ascii_lowercase();
    let member = p.get(1);
    let holders = ctx
        .t
        .directory
        .roles
        .get_mut(&template)
        .ok_or_else(|| not_found(&template))?;
    let pos = holders
        .iter()
        .position(|m| m.eq_ignore_ascii_case(member))
        .ok_or_else(|| not_found(member))?;
    let removed = holders.remove(pos);
    let mut target = ctx.t.user_target(&removed, Vec::new());
    target["modifiedProperties"] = json!([
        {"displayName": "Role.TemplateId", "oldValue": format!("\"{template}\""), "newValue": null},
        {"displayName": "Role.DisplayName", "oldValue": format!("\"{}\"", role_name(&template)), "newValue": null}]);
    ctx.audit(
        "Remove member from role",
        "RoleManagement",
        "Unassign",
        vec![target],
    );
    Ok(Reply::empty(204))
}
