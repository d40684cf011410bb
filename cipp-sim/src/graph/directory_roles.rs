//! Directory roles as the holders in [`Directory::roles`](crate::state::Directory) make
//! them: the activated roles (`directoryRoles`, `$expand=members`), one role's members
//! (`directoryRoles(roleTemplateId='…')/members`, 404 when nobody holds it), the role
//! definitions (`roleManagement/directory/roleDefinitions`: the built-in roles plus any
//! other role a holder has), and the groups and users nested under a group at any depth
//! (`groups/{id}/transitiveMembers`, with the `microsoft.graph.group` cast).

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::users::directory_object;
use super::{list, not_found, routes, Answer, Ctx, Params, Route};
use crate::state::{synthetic_guid, SimTenant};

pub(crate) const ROUTES: &[Route] = routes![
    GET "directoryroles" => directory_roles,
    GET "directoryroles/{role}/members" => role_members,
    GET "rolemanagement/directory/roledefinitions" => role_definitions,
    GET "groups/{id}/transitivemembers" => transitive_members,
];

/// Built-in roles the simulator names (template id, display name).
const BUILT_IN: &[(&str, &str)] = &[
    (
        "62e90394-69f5-4237-9190-012177145e10",
        "Global Administrator",
    ),
    ("f2ef992c-3afb-46b9-b7cf-a126ee74c451", "Global Reader"),
    (
        "e8611ab8-c189-46e8-94e1-60213ab1f814",
        "Privileged Role Administrator",
    ),
    (
        "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
        "Privileged Authentication Administrator",
    ),
    (
        "c4e39bd9-1100-46d3-8c65-fb160da0071f",
        "Authentication Administrator",
    ),
    ("fe930be7-5e62-47db-91af-98c3a49a38b1", "User Administrator"),
    (
        "729827e3-9c14-49f7-bb1b-9608f156bbb8",
        "Helpdesk Administrator",
    ),
    (
        "fdd7a751-b60b-444a-984c-02652fe8fa1c",
        "Groups Administrator",
    ),
    (
        "29232cdf-9323-42fd-ade2-1d097af3e4de",
        "Exchange Administrator",
    ),
    (
        "f28a1f50-f6e7-4571-818b-6a12f2af6b6c",
        "SharePoint Administrator",
    ),
    (
        "69091246-20e8-4a56-aa4d-066075b2a7a8",
        "Teams Administrator",
    ),
    (
        "194ae4cb-b126-40b2-bd5b-6091b380977d",
        "Security Administrator",
    ),
    ("5d6b6bb7-de71-4623-b4af-96380a352509", "Security Reader"),
    (
        "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9",
        "Conditional Access Administrator",
    ),
    (
        "3a2c62db-5318-420d-8d74-23affee5d9d5",
        "Intune Administrator",
    ),
    (
        "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
        "Application Administrator",
    ),
    (
        "158c047a-c907-4556-b7ef-446551a6b5f7",
        "Cloud Application Administrator",
    ),
    (
        "4d6ac14f-3453-41d0-bef9-a3e0c569773a",
        "License Administrator",
    ),
    (
        "b0f54661-2d74-4c50-afa3-1ec803f12efe",
        "Billing Administrator",
    ),
    ("4a5d8f65-41da-4de4-8968-e035b65339cf", "Reports Reader"),
    ("88d8e3e3-8f55-4a1e-953a-9b9898b8876b", "Directory Readers"),
    ("9360feb5-f418-4baa-8175-e2a00bac4301", "Directory Writers"),
];

/// A role's display name (`Directory Role` for one the simulator does not name).
fn role_display_name(template: &str) -> &'static str {
    BUILT_IN
        .iter()
        .find(|(id, _)| id.eq_ignore_ascii_case(template))
        .map_or("Directory Role", |(_, n)| n)
}

/// The role template id a `directoryRoles/{role}` segment names: `roleTemplateId=…`, or
/// the role's object id in this tenant.
fn template_of(t: &SimTenant, segment: &str) -> String {
    if let Some((k, v)) = segment.split_once('=') {
        if k.eq_ignore_ascii_case("roleTemplateId") {
            return v.to_ascii_lowercase();
        }
    }
    t.directory
        .roles
        .keys()
        .find(|template| role_object_id(t, template).eq_ignore_ascii_case(segment))
        .cloned()
        .unwrap_or_else(|| segment.to_ascii_lowercase())
}

/// The object id of the activated role `template` in tenant `t`.
fn role_object_id(t: &SimTenant, template: &str) -> String {
    synthetic_guid(&format!("{}-directoryrole-{template}", t.id))
}

/// A directory object as a member listing returns it: every property the simulator
/// holds (`$select` narrows it), typed.
fn member_object(t: &SimTenant, id: &str) -> Option<Value> {
    if let Some(u) = t.directory.user(id) {
        let mut u = u.clone();
        u["@odata.type"] = json!("#microsoft.graph.user");
        return Some(u);
    }
    if let Some(g) = t.directory.group(id) {
        let mut g = g.clone();
        g["@odata.type"] = json!("#microsoft.graph.group");
        return Some(g);
    }
    t.directory.service_principals().get(id).map(|sp| {
        let mut sp = sp.clone();
        sp["@odata.type"] = json!("#microsoft.graph.servicePrincipal");
        sp
    })
}

/// Whether `expand` names `members`.
fn expands_members(expand: Option<&str>) -> bool {
    expand.is_some_and(|e| {
        e.split(',').any(|p| {
            let p = p.trim();
            let name = p.find('(').map_or(p, |i| &p[..i]);
            name.eq_ignore_ascii_case("members")
        })
    })
}

fn directory_roles(ctx: &mut Ctx<'_, '_>, _: &Params) -> Answer {
    let t = &*ctx.t;
    let expand = expands_members(ctx.req.q("$expand"));
    let items: Vec<Value> = t
        .directory
        .roles
        .iter()
        .filter(|(_, holders)| !holders.is_empty())
        .map(|(template, holders)| {
            let mut r = json!({
                "@odata.type": "#microsoft.graph.directoryRole",
                "id": role_object_id(t, template),
                "deletedDateTime": null,
                "description": format!("{} role.", role_display_name(template)),
                "displayName": role_display_name(template),
                "roleTemplateId": template,
            });
            if expand {
                r["members"] = Value::Array(
                    holders
                        .iter()
                        .filter_map(|h| directory_object(t, h))
                        .collect(),
                );
            }
            r
        })
        .collect();
    Ok(list(ctx.req, items, "directoryRoles", None))
}

fn role_members(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let t = &*ctx.t;
    let template = template_of(t, p.get(0));
    let holders = t
        .directory
        .roles
        .get(&template)
        .filter(|h| !h.is_empty())
        .ok_or_else(|| not_found(p.get(0)))?;
    let items: Vec<Value> = holders.iter().filter_map(|h| member_object(t, h)).collect();
    Ok(list(ctx.req, items, "directoryObjects", None))
}

fn role_definitions(ctx: &mut Ctx<'_, '_>, _: &Params) -> Answer {
    let t = &*ctx.t;
    let mut templates: BTreeSet<String> = BUILT_IN.iter().map(|(id, _)| (*id).to_owned()).collect();
    templates.extend(t.directory.roles.keys().cloned());
    let items: Vec<Value> = templates
        .iter()
        .map(|id| {
            json!({
                "@odata.type": "#microsoft.graph.unifiedRoleDefinition",
                "id": id,
                "displayName": role_display_name(id),
                "description": format!("{} role.", role_display_name(id)),
                "isBuiltIn": true,
                "isEnabled": true,
                "templateId": id,
                "version": "1",
            })
        })
        .collect();
    Ok(list(
        ctx.req,
        items,
        "roleManagement/directory/roleDefinitions",
        None,
    ))
}

/// Every object nested under `group` at any depth (each once; cycles stop).
fn nested(t: &SimTenant, group: &str) -> Vec<String> {
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut order = Vec::new();
    let mut queue = vec![group.to_owned()];
    while let Some(g) = queue.pop() {
        for m in t.directory.members.get(&g).into_iter().flatten() {
            if m.eq_ignore_ascii_case(group) || !seen.insert(m.to_ascii_lowercase()) {
                continue;
            }
            order.push(m.clone());
            if t.directory.group(m).is_some() {
                queue.push(m.clone());
            }
        }
    }
    order
}

fn transitive_members(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let t = &*ctx.t;
    let gid = p.get(0);
    if t.directory.group(gid).is_none() {
        return Err(not_found(gid));
    }
    let items: Vec<Value> = nested(t, gid)
        .iter()
        .filter_map(|m| member_object(t, m))
        .collect();
    Ok(list(ctx.req, items, "directoryObjects", None))
}

/// Whether user `uid` holds a directory role, directly or through a role-assignable
/// group (the registration report's `isAdmin`).
pub(crate) fn is_admin(t: &SimTenant, uid: &str) -> bool {
    t.directory.roles.values().flatten().any(|holder| {
        holder.eq_ignore_ascii_case(uid)
            || (t.directory.group(holder).is_some()
                && nested(t, holder)
                    .iter()
                    .any(|m| m.eq_ignore_ascii_case(uid)))
    })
}

#[cfg(test)]
mod tests {
    use super::expands_members;

    #[test]
    fn expand_names_the_members() {
        assert!(expands_members(Some("members")));
        assert!(expands_members(Some("Members($select=id)")));
        assert!(!expands_members(Some("memberOf")));
        assert!(!expands_members(None));
    }
}
