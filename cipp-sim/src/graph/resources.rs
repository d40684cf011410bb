//! Groups, memberships, managers, licences, authentication methods, logs, consent grants,
//! devices and mail settings.

use serde_json::{json, Value};

use super::{audit, error, list, not_found, with_context, GraphRequest};
use crate::state::{synthetic_guid, SimTenant};
use crate::{Reply, Sim};

const PASSWORD_METHOD_ID: &str = "28c10230-6103-485e-b985-444c60001490";

fn body(req: &GraphRequest<'_>) -> Result<Value, Reply> {
    if req.body.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(req.body).map_err(|e| {
        error(
            400,
            "BadRequest",
            &format!("Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format. ({e})"),
        )
    })
}

fn ref_id(v: &Value) -> Option<String> {
    v.as_str().and_then(|s| s.rsplit('/').next()).map(|s| {
        s.trim_end_matches("')")
            .trim_start_matches("('")
            .to_ascii_lowercase()
    })
}

fn object_exists(t: &SimTenant, id: &str) -> bool {
    t.user_index(id).is_some()
        || t.groups
            .iter()
            .any(|g| g["id"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(id)))
}

fn group_index(t: &SimTenant, id: &str) -> Option<usize> {
    t.groups
        .iter()
        .position(|g| g["id"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(id)))
}

fn user_id(t: &SimTenant, key: &str) -> Option<String> {
    t.user_index(key)
        .and_then(|i| t.users[i]["id"].as_str().map(str::to_owned))
}

fn directory_object(t: &SimTenant, id: &str) -> Option<Value> {
    if let Some(i) = t.user_index(id) {
        let mut u = super::project(
            &t.users[i],
            None,
            Some(&["id", "displayName", "userPrincipalName", "mail"]),
        );
        u["@odata.type"] = json!("#microsoft.graph.user");
        return Some(u);
    }
    group_index(t, id).map(|i| {
        let mut g = t.groups[i].clone();
        g["@odata.type"] = json!("#microsoft.graph.group");
        g
    })
}

fn is_dynamic_or_exchange(g: &Value) -> Option<&'static str> {
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
    let unified = types.iter().any(|t| t.eq_ignore_ascii_case("Unified"));
    if !unified && g["mailEnabled"] == json!(true) {
        return Some("Cannot Update a mail-enabled security groups and or distribution list.");
    }
    None
}

/// Handles the resources of this module; `None` when the path is not one of them.
pub(crate) fn route(sim: &Sim, req: &GraphRequest<'_>) -> Option<Reply> {
    let segs: Vec<String> = req
        .segments
        .iter()
        .map(|s| s.to_ascii_lowercase())
        .collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let m = req.method.as_str();
    let mut state = sim.lock_state();
    let Some(t) = state.tenant_mut(&req.tenant) else {
        return Some(error(
            401,
            "InvalidAuthenticationToken",
            "Access token validation failure.",
        ));
    };
    let now = req.now.clone();
    let reply = match (m, segs.as_slice()) {
        // ---- groups
        ("GET", ["groups"]) => {
            let items = t.groups.clone();
            drop(state);
            list(req, items, "groups", None)
        }
        ("POST", ["groups"]) => {
            let b = match body(req) {
                Ok(b) => b,
                Err(r) => return Some(r),
            };
            for p in [
                "displayName",
                "mailNickname",
                "mailEnabled",
                "securityEnabled",
            ] {
                if b.get(p).is_none_or(Value::is_null) {
                    return Some(error(
                        400,
                        "Request_BadRequest",
                        &format!("Invalid value specified for property '{p}' of resource 'Group'."),
                    ));
                }
            }
            let unified = b["groupTypes"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x == "Unified"));
            if b["mailEnabled"] == json!(true) && !unified {
                return Some(error(400, "Request_BadRequest", "Only Microsoft 365 groups and security groups can be created through Graph; mail-enabled security groups and distribution lists are created in Exchange."));
            }
            let binds: Vec<String> = b["members@odata.bind"]
                .as_array()
                .map(|a| a.iter().filter_map(ref_id).collect())
                .unwrap_or_default();
            let owners: Vec<String> = b["owners@odata.bind"]
                .as_array()
                .map(|a| a.iter().filter_map(ref_id).collect())
                .unwrap_or_default();
            if binds.len() > 20 || owners.len() > 20 {
                return Some(error(
                    400,
                    "Request_BadRequest",
                    "A maximum of 20 members and 20 owners can be added when the group is created.",
                ));
            }
            let mut g = b.clone();
            if let Value::Object(o) = &mut g {
                o.remove("members@odata.bind");
                o.remove("owners@odata.bind");
                o.remove("@odata.type");
                o.insert("createdDateTime".into(), json!(now));
                o.entry("groupTypes").or_insert(json!([]));
            }
            let id = t.add_group(g);
            t.members.insert(id.clone(), binds);
            t.owners.insert(id.clone(), owners);
            let created = t.groups[t.groups.len() - 1].clone();
            let target = t.group_target(&id);
            audit(t, req, "Add group", "GroupManagement", "Add", vec![target]);
            Reply::json(201, with_context(created, req.version, "groups/$entity"))
        }
        ("GET", ["groups", id]) => match group_index(t, id) {
            Some(i) => Reply::json(
                200,
                with_context(
                    super::project(&t.groups[i], req.q("$select"), None),
                    req.version,
                    "groups/$entity",
                ),
            ),
            None => not_found(id),
        },
        ("DELETE", ["groups", id]) => match group_index(t, id) {
            Some(i) => {
                let gid = t.groups[i]["id"].as_str().unwrap_or_default().to_owned();
                let target = t.group_target(&gid);
                let mut group = t.groups.remove(i);
                let unified = group["groupTypes"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|x| x == "Unified"));
                if unified {
                    // Microsoft 365 groups wait 30 days in deleted items, members and all.
                    group["deletedDateTime"] = json!(now);
                    t.deleted_groups.push(group);
                } else {
                    // Security groups are deleted permanently.
                    t.members.remove(&gid);
                    t.owners.remove(&gid);
                }
                audit(
                    t,
                    req,
                    "Delete group",
                    "GroupManagement",
                    "Delete",
                    vec![target],
                );
                Reply::empty(204)
            }
            None => not_found(id),
        },
        ("PATCH", ["groups", id]) => {
            let Some(i) = group_index(t, id) else {
                return Some(not_found(id));
            };
            let b = match body(req) {
                Ok(b) => b,
                Err(r) => return Some(r),
            };
            let gid = t.groups[i]["id"].as_str().unwrap_or_default().to_owned();
            if let Some(binds) = b.get("members@odata.bind").and_then(Value::as_array) {
                if binds.len() > 20 {
                    return Some(error(
                        400,
                        "Request_BadRequest",
                        "The maximum number of 20 members has been exceeded in a single request.",
                    ));
                }
                if let Some(why) = is_dynamic_or_exchange(&t.groups[i]) {
                    return Some(error(400, "Request_BadRequest", why));
                }
                let ids: Vec<String> = binds.iter().filter_map(ref_id).collect();
                let current = t.members.get(&gid).cloned().unwrap_or_default();
                for id in &ids {
                    if !object_exists(t, id) {
                        return Some(not_found(id));
                    }
                    if current.contains(id) {
                        return Some(error(400, "Request_BadRequest", "One or more added object references already exist for the following modified properties: 'members'."));
                    }
                }
                t.members
                    .entry(gid.clone())
                    .or_default()
                    .extend(ids.clone());
                for member in &ids {
                    let targets = vec![t.user_target(member, Vec::new()), t.group_target(&gid)];
                    audit(
                        t,
                        req,
                        "Add member to group",
                        "GroupManagement",
                        "Assign",
                        targets,
                    );
                }
            }
            if let (Value::Object(g), Value::Object(changes)) = (&mut t.groups[i], b) {
                for (k, v) in changes {
                    if !k.contains('@') {
                        g.insert(k, v);
                    }
                }
            }
            Reply::empty(204)
        }
        ("POST", ["groups", id, "members", "$ref"]) => {
            let Some(i) = group_index(t, id) else {
                return Some(not_found(id));
            };
            let b = match body(req) {
                Ok(b) => b,
                Err(r) => return Some(r),
            };
            let Some(member) = ref_id(&b["@odata.id"]) else {
                return Some(error(
                    400,
                    "Request_BadRequest",
                    "Invalid @odata.id reference.",
                ));
            };
            if let Some(why) = is_dynamic_or_exchange(&t.groups[i]) {
                return Some(error(400, "Request_BadRequest", why));
            }
            if !object_exists(t, &member) {
                return Some(not_found(&member));
            }
            let gid = t.groups[i]["id"].as_str().unwrap_or_default().to_owned();
            let list = t.members.entry(gid).or_default();
            if list.contains(&member) {
                return Some(error(400, "Request_BadRequest", "One or more added object references already exist for the following modified properties: 'members'."));
            }
            list.push(member.clone());
            let gid = t.groups[i]["id"].as_str().unwrap_or_default().to_owned();
            let targets = vec![t.user_target(&member, Vec::new()), t.group_target(&gid)];
            audit(
                t,
                req,
                "Add member to group",
                "GroupManagement",
                "Assign",
                targets,
            );
            Reply::empty(204)
        }
        ("DELETE", ["groups", id, "members", member, "$ref"]) => {
            let Some(i) = group_index(t, id) else {
                return Some(not_found(id));
            };
            if let Some(why) = is_dynamic_or_exchange(&t.groups[i]) {
                return Some(error(400, "Request_BadRequest", why));
            }
            let gid = t.groups[i]["id"].as_str().unwrap_or_default().to_owned();
            let list = t.members.entry(gid.clone()).or_default();
            match list.iter().position(|x| x == member) {
                Some(p) => {
                    let removed = list.remove(p);
                    let targets = vec![t.user_target(&removed, Vec::new()), t.group_target(&gid)];
                    audit(
                        t,
                        req,
                        "Remove member from group",
                        "GroupManagement",
                        "Unassign",
                        targets,
                    );
                    Reply::empty(204)
                }
                None => not_found(member),
            }
        }
        ("GET", ["groups", id, rel]) if *rel == "members" || *rel == "owners" => {
            let Some(i) = group_index(t, id) else {
                return Some(not_found(id));
            };
            let gid = t.groups[i]["id"].as_str().unwrap_or_default().to_owned();
            let ids = if *rel == "members" {
                t.members.get(&gid)
            } else {
                t.owners.get(&gid)
            }
            .cloned()
            .unwrap_or_default();
            let items: Vec<Value> = ids.iter().filter_map(|x| directory_object(t, x)).collect();
            drop(state);
            list(req, items, "directoryObjects", None)
        }
        // ---- user relationships
        ("GET", ["users", u, rel]) if *rel == "memberof" || *rel == "transitivememberof" => {
            let Some(uid) = user_id(t, u) else {
                return Some(not_found(u));
            };
            let mut found: Vec<String> = t
                .members
                .iter()
                .filter(|(_, m)| m.contains(&uid))
                .map(|(g, _)| g.clone())
                .collect();
            if *rel == "transitivememberof" {
                let mut i = 0;
                while i < found.len() {
                    let g = found[i].clone();
                    for (parent, m) in &t.members {
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
            for (template, members) in &t.directory_roles {
                if members.contains(&uid) {
                    items.push(json!({"@odata.type": "#microsoft.graph.directoryRole",
                        "id": synthetic_guid(&format!("{}-{template}", t.id)),
                        "displayName": role_name(template), "roleTemplateId": template}));
                }
            }
            drop(state);
            list(req, items, "directoryObjects", None)
        }
        ("GET", ["users", u, "manager"]) => {
            let Some(uid) = user_id(t, u) else {
                return Some(not_found(u));
            };
            match t.managers.get(&uid).and_then(|m| directory_object(t, m)) {
                Some(m) => Reply::json(200, m),
                None => not_found("manager"),
            }
        }
        ("PUT", ["users", u, "manager", "$ref"]) => {
            let Some(uid) = user_id(t, u) else {
                return Some(not_found(u));
            };
            let b = match body(req) {
                Ok(b) => b,
                Err(r) => return Some(r),
            };
            let Some(mgr) = ref_id(&b["@odata.id"]) else {
                return Some(error(
                    400,
                    "Request_BadRequest",
                    "Invalid @odata.id reference.",
                ));
            };
            if user_id(t, &mgr).is_none() {
                return Some(not_found(&mgr));
            }
            t.managers.insert(uid, mgr);
            Reply::empty(204)
        }
        ("DELETE", ["users", u, "manager", "$ref"]) => {
            let Some(uid) = user_id(t, u) else {
                return Some(not_found(u));
            };
            match t.managers.remove(&uid) {
                Some(_) => Reply::empty(204),
                None => not_found("manager"),
            }
        }
        ("POST", ["users", u, "revokesigninsessions"]) => {
            let Some(i) = t.user_index(u) else {
                return Some(not_found(u));
            };
            t.users[i]["signInSessionsValidFromDateTime"] = json!(now);
            Reply::json(
                200,
                json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Edm.Boolean", "value": true}),
            )
        }
        ("DELETE", [role, "members", member, "$ref"])
            if role.starts_with("directoryroles(roletemplateid=") =>
        {
            let template = role
                .trim_start_matches("directoryroles(roletemplateid=")
                .trim_matches(|c| c == '\'' || c == ')')
                .to_owned();
            let Some(members) = t.directory_roles.get_mut(&template) else {
                return Some(not_found(&template));
            };
            match members.iter().position(|m| m == member) {
                Some(p) => {
                    let removed = members.remove(p);
                    let mut target = t.user_target(&removed, Vec::new());
                    target["modifiedProperties"] = json!([
                        {"displayName": "Role.TemplateId", "oldValue": format!("\"{template}\""), "newValue": null},
                        {"displayName": "Role.DisplayName", "oldValue": format!("\"{}\"", role_name(&template)), "newValue": null}]);
                    audit(
                        t,
                        req,
                        "Remove member from role",
                        "RoleManagement",
                        "Unassign",
                        vec![target],
                    );
                    Reply::empty(204)
                }
                None => not_found(member),
            }
        }
        // ---- SharePoint / OneDrive (Graph side)
        ("GET", ["sites", "root"]) => {
            let prefix = t
                .initial_domain()
                .split('.')
                .next()
                .unwrap_or("")
                .to_owned();
            Reply::json(
                200,
                json!({"id": format!("{prefix}.sharepoint.com,{},{}", synthetic_guid(&format!("{prefix}-site")), synthetic_guid(&format!("{prefix}-web"))),
                "webUrl": format!("https://{prefix}.sharepoint.com"), "displayName": "Communication site"}),
            )
        }
        ("GET", ["users", u, "drive"]) => {
            let Some(i) = t.user_index(u) else {
                return Some(not_found(u));
            };
            let prefix = t
                .initial_domain()
                .split('.')
                .next()
                .unwrap_or("")
                .to_owned();
            let upn = t.users[i]["userPrincipalName"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let url = crate::sharepoint::onedrive_url(&prefix, &upn);
            Reply::json(
                200,
                json!({"id": synthetic_guid(&url), "driveType": "business", "webUrl": format!("{url}/Documents")}),
            )
        }
        ("POST", ["users", u, "drive", "root", "children"]) => {
            let Some(uid) = user_id(t, u) else {
                return Some(not_found(u));
            };
            let b = match body(req) {
                Ok(b) => b,
                Err(r) => return Some(r),
            };
            if b["name"].as_str().is_none_or(str::is_empty) {
                return Some(error(
                    400,
                    "invalidRequest",
                    "The name of the item is required.",
                ));
            }
            let mut item = b.clone();
            item["id"] = json!(synthetic_guid(&format!("item-{uid}-{}", sim.next_n())));
            t.drive_items.entry(uid).or_default().push(item.clone());
            Reply::json(201, item)
        }
        ("POST", ["serviceprincipals"]) => {
            let b = match body(req) {
                Ok(b) => b,
                Err(r) => return Some(r),
            };
            let Some(app_id) = b["appId"].as_str().map(str::to_owned) else {
                return Some(error(400, "Request_BadRequest", "appId is required."));
            };
            if t.service_principals
                .iter()
                .any(|sp| sp["appId"] == json!(app_id))
            {
                return Some(error(
                    409,
                    "Request_MultipleObjectsWithSameKeyValue",
                    "The service principal already exists.",
                ));
            }
            let sp = json!({"id": synthetic_guid(&format!("{}-sp-{app_id}", t.id)), "appId": app_id,
                "displayName": if app_id == "981f26a1-7f43-403b-a875-f8b09b8cd720" { "Azure Multi-Factor Auth Client" } else { "Application" },
                "createdDateTime": now});
            t.service_principals.push(sp.clone());
            Reply::json(201, sp)
        }
        ("POST", ["serviceprincipals", id, "addpassword"]) => {
            let Some(sp) = t
                .service_principals
                .iter()
                .find(|sp| {
                    sp["id"]
                        .as_str()
                        .is_some_and(|x| x.eq_ignore_ascii_case(id))
                })
                .cloned()
            else {
                return Some(not_found(id));
            };
            let secret = format!(
                "sim~{}",
                synthetic_guid(&format!("secret-{id}-{}", sim.next_n()))
            );
            let app_id = sp["appId"].as_str().unwrap_or_default().to_owned();
            let tenant_id = t.id.clone();
            drop(state);
            let mut st = sim.lock_state();
            st.apps.insert(
                app_id.clone(),
                crate::state::SimApp {
                    client_id: app_id,
                    secret: secret.clone(),
                    home_tenant: tenant_id,
                    consented: vec![],
                },
            );
            return Some(Reply::json(
                200,
                json!({"keyId": synthetic_guid(&secret), "secretText": secret, "displayName": "temporary"}),
            ));
        }
        ("POST", ["users", u, "sendmail"]) => {
            let Some(i) = t.user_index(u) else {
                return Some(not_found(u));
            };
            let b = match body(req) {
                Ok(b) => b,
                Err(r) => return Some(r),
            };
            if b["message"]["toRecipients"]
                .as_array()
                .is_none_or(|a| a.is_empty())
            {
                return Some(error(
                    400,
                    "ErrorInvalidRecipients",
                    "At least one recipient is not valid.",
                ));
            }
            let from = t.users[i]["userPrincipalName"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            t.sent_mail.push((from, b["message"].clone()));
            Reply::empty(202)
        }
        // ---- licences
        ("GET", ["subscribedskus"]) => {
            let items = t.skus.clone();
            drop(state);
            list(req, items, "subscribedSkus", None)
        }
        ("POST", ["users", u, "assignlicense"]) => {
            let Some(i) = t.user_index(u) else {
                return Some(not_found(u));
            };
            let b = match body(req) {
                Ok(b) => b,
                Err(r) => return Some(r),
            };
            if t.users[i]["usageLocation"]
                .as_str()
                .is_none_or(str::is_empty)
            {
                return Some(error(
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
                let Some(s) = t.skus.iter().find(|s| {
                    s["skuId"]
                        .as_str()
                        .is_some_and(|x| x.eq_ignore_ascii_case(&sku))
                }) else {
                    return Some(error(
                        400,
                        "Request_BadRequest",
                        &format!("License {sku} does not correspond to a valid company License."),
                    ));
                };
                let free = s["prepaidUnits"]["enabled"].as_i64().unwrap_or(0)
                    - s["consumedUnits"].as_i64().unwrap_or(0);
                if free <= 0 {
                    return Some(error(
                        400,
                        "Request_BadRequest",
                        &format!("Subscription {sku} does not have any available licenses."),
                    ));
                }
            }
            let mut assigned: Vec<Value> = t.users[i]["assignedLicenses"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            assigned.retain(|l| {
                !remove.contains(&l["skuId"].as_str().unwrap_or("").to_ascii_lowercase())
            });
            for l in add {
                let sku = l["skuId"].as_str().unwrap_or("").to_ascii_lowercase();
                if !assigned.iter().any(|a| {
                    a["skuId"]
                        .as_str()
                        .is_some_and(|x| x.eq_ignore_ascii_case(&sku))
                }) {
                    assigned
                        .push(json!({"skuId": sku, "disabledPlans": l["disabledPlans"].clone()}));
                    if let Some(s) = t.skus.iter_mut().find(|s| {
                        s["skuId"]
                            .as_str()
                            .is_some_and(|x| x.eq_ignore_ascii_case(&sku))
                    }) {
                        s["consumedUnits"] = json!(s["consumedUnits"].as_i64().unwrap_or(0) + 1);
                    }
                }
            }
            for sku in &remove {
                if let Some(s) = t.skus.iter_mut().find(|s| {
                    s["skuId"]
                        .as_str()
                        .is_some_and(|x| x.eq_ignore_ascii_case(sku))
                }) {
                    s["consumedUnits"] =
                        json!((s["consumedUnits"].as_i64().unwrap_or(0) - 1).max(0));
                }
            }
            let before = t.users[i].clone();
            let mut change = serde_json::Map::new();
            change.insert("assignedLicenses".into(), Value::Array(assigned.clone()));
            let modified = crate::state::modified_properties(&before, &change);
            t.users[i]["assignedLicenses"] = Value::Array(assigned);
            let uid = t.users[i]["id"].as_str().unwrap_or_default().to_owned();
            let target = t.user_target(&uid, modified);
            audit(
                t,
                req,
                "Change user license",
                "UserManagement",
                "Update",
                vec![target],
            );
            Reply::json(
                200,
                with_context(t.users[i].clone(), req.version, "users/$entity"),
            )
        }
        ("POST", ["users", u, "reprocesslicenseassignment"]) => match t.user_index(u) {
            Some(i) => Reply::json(
                200,
                with_context(t.users[i].clone(), req.version, "users/$entity"),
            ),
            None => not_found(u),
        },
        // ---- authentication methods
        ("GET", ["users", u, "authentication", "methods"]) => {
            let Some(uid) = user_id(t, u) else {
                return Some(not_found(u));
            };
            let mut items = vec![
                json!({"@odata.type": "#microsoft.graph.passwordAuthenticationMethod", "id": PASSWORD_METHOD_ID, "password": null}),
            ];
            items.extend(t.auth_methods.get(&uid).cloned().unwrap_or_default());
            drop(state);
            list(req, items, "users/authentication/methods", None)
        }
        ("POST", ["users", u, "authentication", "methods", id, "resetpassword"])
            if *id == PASSWORD_METHOD_ID =>
        {
            let Some(i) = t.user_index(u) else {
                return Some(not_found(u));
            };
            let b = match body(req) {
                Ok(b) => b,
                Err(r) => return Some(r),
            };
            if b["newPassword"].as_str().is_none_or(str::is_empty) {
                return Some(error(400, "badRequest", "newPassword is required."));
            }
            if t.users[i]["onPremisesSyncEnabled"] != json!(true) {
                return Some(error(400, "badRequest", "Password writeback is only for users synchronised from on-premises; reset cloud users through passwordProfile."));
            }
            let uid = t.users[i]["id"].as_str().unwrap_or_default().to_owned();
            let target = t.user_target(&uid, Vec::new());
            audit(
                t,
                req,
                "Reset user password",
                "UserManagement",
                "Update",
                vec![target],
            );
            let mut r = Reply::empty(202);
            r.headers.push((
                "location",
                format!(
                    "https://graph.microsoft.com/beta/users/{uid}/authentication/operations/{}",
                    synthetic_guid(&now)
                ),
            ));
            r
        }
        ("POST", ["users", u, "authentication", "temporaryaccesspassmethods"]) => {
            let Some(uid) = user_id(t, u) else {
                return Some(not_found(u));
            };
            let b = match body(req) {
                Ok(b) => b,
                Err(r) => return Some(r),
            };
            let p = t.tap_policy.clone();
            if p["state"] != json!("enabled") {
                return Some(error(400, "badRequest", "The Temporary Access Pass authentication method is disabled by policy for this user."));
            }
            let lifetime = b["lifetimeInMinutes"]
                .as_u64()
                .unwrap_or(p["defaultLifetimeInMinutes"].as_u64().unwrap_or(60));
            let (min, max) = (
                p["minimumLifetimeInMinutes"].as_u64().unwrap_or(10),
                p["maximumLifetimeInMinutes"].as_u64().unwrap_or(43200),
            );
            if !(10..=43200).contains(&lifetime) || lifetime < min || lifetime > max {
                return Some(error(
                    400,
                    "badRequest",
                    &format!("lifetimeInMinutes must be between {min} and {max}."),
                ));
            }
            let once = b["isUsableOnce"]
                .as_bool()
                .unwrap_or(p["isUsableOnce"].as_bool().unwrap_or(false));
            if p["isUsableOnce"] == json!(true) && !once {
                return Some(error(
                    400,
                    "badRequest",
                    "Policy requires Temporary Access Pass to be usable once.",
                ));
            }
            let methods = t.auth_methods.entry(uid.clone()).or_default();
            methods.retain(|m| {
                m["@odata.type"]
                    != json!("#microsoft.graph.temporaryAccessPassAuthenticationMethod")
            });
            let id = synthetic_guid(&format!("tap-{uid}-{now}-{}", sim.next_n()));
            let pass = format!("Sim{}", &synthetic_guid(&id)[..8]);
            let start = b["startDateTime"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or(now.clone());
            let stored = json!({"@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethod", "id": id,
                "createdDateTime": now, "startDateTime": start, "lifetimeInMinutes": lifetime, "isUsableOnce": once,
                "isUsable": true, "methodUsabilityReason": "EnabledByPolicy"});
            methods.push(stored.clone());
            let target = t.user_target(&uid, Vec::new());
            audit(
                t,
                req,
                "Admin registered security info",
                "UserManagement",
                "Add",
                vec![target],
            );
            let mut out = stored;
            out["temporaryAccessPass"] = json!(pass);
            Reply::json(201, out)
        }
        ("DELETE", ["users", u, "authentication", coll, id]) if coll.ends_with("methods") => {
            let Some(uid) = user_id(t, u) else {
                return Some(not_found(u));
            };
            let methods = t.auth_methods.entry(uid.clone()).or_default();
            let want = format!(
                "#microsoft.graph.{}AuthenticationMethod",
                coll.trim_end_matches("methods")
            );
            match methods.iter().position(|m| {
                m["id"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(id))
                    && m["@odata.type"]
                        .as_str()
                        .is_some_and(|x| x.eq_ignore_ascii_case(&want))
            }) {
                Some(p) => {
                    methods.remove(p);
                    let target = t.user_target(&uid, Vec::new());
                    audit(
                        t,
                        req,
                        "Admin deleted security info",
                        "UserManagement",
                        "Delete",
                        vec![target],
                    );
                    Reply::empty(204)
                }
                None => error(
                    404,
                    "itemNotFound",
                    &format!("The authentication method {id} was not found."),
                ),
            }
        }
        ("GET", ["users", u, "authentication", "requirements"]) => {
            let Some(uid) = user_id(t, u) else {
                return Some(not_found(u));
            };
            Reply::json(
                200,
                json!({"perUserMfaState": t.per_user_mfa.get(&uid).cloned().unwrap_or("disabled".into())}),
            )
        }
        ("PATCH", ["users", u, "authentication", "requirements"]) => {
            let Some(uid) = user_id(t, u) else {
                return Some(not_found(u));
            };
            let b = match body(req) {
                Ok(b) => b,
                Err(r) => return Some(r),
            };
            match b["perUserMfaState"].as_str().map(str::to_ascii_lowercase) {
                Some(s) if ["disabled", "enabled", "enforced"].contains(&s.as_str()) => {
                    t.per_user_mfa.insert(uid, s);
                    Reply::empty(204)
                }
                _ => error(
                    400,
                    "badRequest",
                    "perUserMfaState must be disabled, enabled or enforced.",
                ),
            }
        }
        (
            "GET",
            ["policies", "authenticationmethodspolicy", "authenticationmethodconfigurations", "temporaryaccesspass"],
        ) => Reply::json(200, t.tap_policy.clone()),
        ("GET", ["reports", "authenticationmethods", "userregistrationdetails"]) => {
            if req.q("$top").is_some() || req.q("$select").is_some() {
                return Some(error(
                    400,
                    "BadRequest",
                    "Only $filter and $orderby are supported on userRegistrationDetails.",
                ));
            }
            let items: Vec<Value> = t
                .users
                .iter()
                .map(|u| {
                    let uid = u["id"].as_str().unwrap_or_default();
                    let methods: Vec<String> = t
                        .auth_methods
                        .get(uid)
                        .map(|ms| {
                            ms.iter()
                                .filter_map(|m| m["@odata.type"].as_str())
                                .filter(|m| !m.contains("temporaryAccessPass"))
                                .map(|m| m.trim_start_matches("#microsoft.graph.").trim_end_matches("AuthenticationMethod").to_owned())
                                .collect()
                        })
                        .unwrap_or_default();
                    json!({"id": uid, "userPrincipalName": u["userPrincipalName"], "userDisplayName": u["displayName"],
                        "isAdmin": false, "isMfaRegistered": !methods.is_empty(), "isMfaCapable": !methods.is_empty(),
                        "isSsprRegistered": !methods.is_empty(), "methodsRegistered": methods,
                        "userPreferredMethodForSecondaryAuthentication": "", "userType": "member",
                        "lastUpdatedDateTime": now})
                })
                .collect();
            drop(state);
            list(
                req,
                items,
                "reports/authenticationMethods/userRegistrationDetails",
                None,
            )
        }
        // ---- logs, consent, devices
        ("GET", ["auditlogs", "signins"]) => {
            let mut items = t.sign_ins.clone();
            items.sort_by(|a, b| {
                b["createdDateTime"]
                    .as_str()
                    .cmp(&a["createdDateTime"].as_str())
            });
            drop(state);
            return Some(logs_list(req, items, "auditLogs/signIns", 1000));
        }
        ("GET", ["auditlogs", "directoryaudits"]) => {
            let mut items = t.directory_audits.clone();
            items.sort_by(|a, b| {
                b["activityDateTime"]
                    .as_str()
                    .cmp(&a["activityDateTime"].as_str())
            });
            drop(state);
            return Some(logs_list(req, items, "auditLogs/directoryAudits", 1000));
        }
        ("GET", ["oauth2permissiongrants"]) => {
            let items = t.grants.clone();
            drop(state);
            list(req, items, "oauth2PermissionGrants", None)
        }
        ("DELETE", ["oauth2permissiongrants", id]) => match t
            .grants
            .iter()
            .position(|g| g["id"].as_str() == Some(req.segments[1].as_str()))
        {
            Some(p) => {
                let grant = t.grants.remove(p);
                let target = json!({"id": grant["clientId"], "displayName": null, "type": "ServicePrincipal",
                    "modifiedProperties": [{"displayName": "DelegatedPermissionGrant.Scope", "oldValue": format!("\"{}\"", grant["scope"].as_str().unwrap_or_default()), "newValue": null}]});
                audit(
                    t,
                    req,
                    "Remove delegated permission grant",
                    "ApplicationManagement",
                    "Unassign",
                    vec![target],
                );
                Reply::empty(204)
            }
            None => not_found(id),
        },
        ("GET", ["serviceprincipals"]) => {
            let items = t.service_principals.clone();
            drop(state);
            list(req, items, "servicePrincipals", None)
        }
        ("GET", ["devicemanagement", "manageddevices"]) => {
            let items = t.managed_devices.clone();
            drop(state);
            list(req, items, "deviceManagement/managedDevices", None)
        }
        // ---- mail
        ("GET", ["users", u, "mailfolders", "inbox", "messagerules"]) => {
            let Some(uid) = user_id(t, u) else {
                return Some(not_found(u));
            };
            let items = t.inbox_rules.get(&uid).cloned().unwrap_or_default();
            drop(state);
            list(req, items, "users/mailFolders/messageRules", None)
        }
        (m2, ["users", u, "mailfolders", "inbox", "messagerules", _])
            if m2 == "PATCH" || m2 == "DELETE" =>
        {
            let Some(uid) = user_id(t, u) else {
                return Some(not_found(u));
            };
            let rid = req.segments[5].clone();
            let rules = t.inbox_rules.entry(uid).or_default();
            let Some(p) = rules
                .iter()
                .position(|r| r["id"].as_str() == Some(rid.as_str()))
            else {
                return Some(error(
                    404,
                    "ErrorItemNotFound",
                    "The specified object was not found in the store.",
                ));
            };
            if m2 == "DELETE" {
                rules.remove(p);
                Reply::empty(204)
            } else {
                let b = match body(req) {
                    Ok(b) => b,
                    Err(r) => return Some(r),
                };
                if let (Value::Object(rule), Value::Object(changes)) = (&mut rules[p], b) {
                    rule.extend(changes);
                }
                Reply::json(200, rules[p].clone())
            }
        }
        ("GET", ["users", u, "mailboxsettings"]) => {
            let Some(uid) = user_id(t, u) else {
                return Some(not_found(u));
            };
            let s = t
                .mailbox_settings
                .get(&uid)
                .cloned()
                .unwrap_or_else(default_mailbox_settings);
            Reply::json(200, s)
        }
        ("PATCH", ["users", u, "mailboxsettings"]) => {
            let Some(uid) = user_id(t, u) else {
                return Some(not_found(u));
            };
            let b = match body(req) {
                Ok(b) => b,
                Err(r) => return Some(r),
            };
            let s = t
                .mailbox_settings
                .entry(uid)
                .or_insert_with(default_mailbox_settings);
            if let (Value::Object(cur), Value::Object(changes)) = (s, b) {
                cur.extend(changes.clone());
                Reply::json(200, Value::Object(changes))
            } else {
                error(400, "BadRequest", "Empty Payload. JSON content expected.")
            }
        }
        _ => return None,
    };
    Some(reply)
}

fn default_mailbox_settings() -> Value {
    json!({"automaticRepliesSetting": {"status": "disabled", "externalAudience": "all",
        "internalReplyMessage": "", "externalReplyMessage": "",
        "scheduledStartDateTime": {"dateTime": "2026-01-01T00:00:00.0000000", "timeZone": "UTC"},
        "scheduledEndDateTime": {"dateTime": "2026-01-02T00:00:00.0000000", "timeZone": "UTC"}},
        "timeZone": "UTC", "language": {"locale": "en-US", "displayName": "English (United States)"}})
}

/// Log collections: `$top` up to 1000, no advanced-query rules.
fn logs_list(req: &GraphRequest<'_>, items: Vec<Value>, entity: &str, max: usize) -> Reply {
    if let Some(t) = req.q("$top") {
        if t.parse::<usize>().map_or(true, |n| n == 0 || n > max) {
            return error(
                400,
                "Request_UnsupportedQuery",
                &format!(
                    "Invalid page size specified: '{t}'. Must be between 1 and {max} inclusive."
                ),
            );
        }
    }
    list(req, items, entity, None)
}

fn role_name(template: &str) -> &'static str {
    match template {
        "62e90394-69f5-4237-9190-012177145e10" => "Global Administrator",
        "e8611ab8-c189-46e8-94e1-60213ab1f814" => "Privileged Role Administrator",
        "7be44c8a-adaf-4e2a-84d6-ab2649e08a13" => "Privileged Authentication Administrator",
        "fe930be7-5e62-47db-91af-98c3a49a38b1" => "User Administrator",
        "29232cdf-9323-42fd-ade2-1d097af3e4de" => "Exchange Administrator",
        _ => "Directory Role",
    }
}
