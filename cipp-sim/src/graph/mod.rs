//! The Microsoft Graph router.

use http::HeaderMap;
use serde_json::{json, Map, Value};

mod batch;
mod conditional_access;
pub(crate) mod gdap;
mod intune;
mod resources;

use crate::odata::{encode, parse_query, percent_decode, Filter};
use crate::{Reply, Sim};

/// Properties Graph returns for a user when no `$select` is given.
const USER_DEFAULT_PROPS: &[&str] = &[
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

/// A Graph error reply with the documented body.
pub(crate) fn error(status: u16, code: &str, message: &str) -> Reply {
    let rid = crate::state::synthetic_guid(&format!("{status}{code}{message}"));
    Reply::json(
        status,
        json!({"error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": "2026-01-01T00:00:00",
                "request-id": rid,
                "client-request-id": rid,
            }
        }}),
    )
}

pub(crate) struct GraphRequest<'a> {
    pub tenant: String,
    pub method: &'a http::Method,
    pub version: &'a str,
    pub segments: Vec<String>,
    pub query: Vec<(String, String)>,
    pub headers: &'a HeaderMap,
    pub origin: String,
    pub raw_path: String,
    /// `initiatedBy` for the audit records of this request's writes.
    pub caller: Value,
    /// An OData type cast ending the path (`…/memberOf/microsoft.graph.group`), as
    /// `#microsoft.graph.group`: collections answer only items of that type.
    pub cast: Option<String>,
    pub body: &'a [u8],
    pub now: String,
}

impl GraphRequest<'_> {
    pub(crate) fn q(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| {
                k.eq_ignore_ascii_case(name) || k.eq_ignore_ascii_case(name.trim_start_matches('$'))
            })
            .map(|(_, v)| v.as_str())
    }

    fn eventual(&self) -> bool {
        self.headers
            .get("consistencylevel")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("eventual"))
    }
}

/// Splits a Graph path after the version into decoded segments, accepting
/// `users('upn')` and the short type-cast form `graph.user`.
pub(crate) fn segments(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    for raw in path.split('/').filter(|s| !s.is_empty()) {
        let seg = percent_decode(raw);
        if let Some(open) = seg.find("('") {
            if seg.ends_with("')") {
                out.push(seg[..open].to_owned());
                out.push(seg[open + 2..seg.len() - 2].replace("''", "'"));
                continue;
            }
        }
        let lower = seg.to_ascii_lowercase();
        if lower.starts_with("graph.") {
            out.push(format!("microsoft.{seg}"));
        } else {
            out.push(seg);
        }
    }
    out
}

pub(crate) fn handle(sim: &Sim, mut req: GraphRequest<'_>) -> Reply {
    // A type cast on a relationship (`users/{id}/memberOf/graph.group`): route the
    // relationship and keep only items of that type. `directory/deletedItems/graph.user`
    // is a collection of its own (the cast is required there).
    let n = req.segments.len();
    if n >= 3
        && req.segments[n - 1]
            .to_ascii_lowercase()
            .starts_with("microsoft.graph.")
        && !req.segments[n - 2].eq_ignore_ascii_case("deleteditems")
    {
        if let Some(cast) = req.segments.pop() {
            req.cast = Some(format!("#{cast}"));
        }
    }
    if req.method == http::Method::POST && req.segments.len() == 1 && req.segments[0] == "$batch" {
        return batch::handle(sim, &req);
    }
    if let Some(reply) = gdap::route(sim, &req) {
        return reply;
    }
    if let Some(reply) = conditional_access::route(sim, &req) {
        return reply;
    }
    if let Some(reply) = intune::route(sim, &req) {
        return reply;
    }
    if let Some(reply) = resources::route(sim, &req) {
        return reply;
    }
    if req.method != http::Method::GET {
        return write(sim, &req);
    }
    let segs: Vec<String> = req
        .segments
        .iter()
        .map(|s| s.to_ascii_lowercase())
        .collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let state = sim.lock_state();
    let Some(tenant) = state.tenant(&req.tenant) else {
        return error(
            401,
            "InvalidAuthenticationToken",
            "Access token validation failure.",
        );
    };
    let get = req.method == http::Method::GET;
    match (segs.as_slice(), get) {
        (["users"], true) => {
            let items = tenant.users.clone();
            drop(state);
            list(&req, items, "users", Some(USER_DEFAULT_PROPS))
        }
        (["users", _], true) => {
            let key = &req.segments[1];
            match find_user(&tenant.users, key) {
                Some(u) => Reply::json(
                    200,
                    with_context(
                        project(u, req.q("$select"), Some(USER_DEFAULT_PROPS)),
                        req.version,
                        "users/$entity",
                    ),
                ),
                None => not_found(key),
            }
        }
        (["organization"], true) => {
            let items = vec![tenant.organization()];
            drop(state);
            list(&req, items, "organization", None)
        }
        (["domains"], true) => {
            let items = tenant.domain_objects();
            drop(state);
            list(&req, items, "domains", None)
        }
        (["tenantrelationships", "delegatedadmincustomers"], true) => {
            let items: Vec<Value> = tenant
                .customers
                .iter()
                .filter_map(|id| state.tenants.get(id))
                .map(|c| {
                    json!({
                        "id": c.id,
                        "tenantId": c.id,
                        "displayName": c.display_name,
                    })
                })
                .collect();
            drop(state);
            list(
                &req,
                items,
                "tenantRelationships/delegatedAdminCustomers",
                None,
            )
        }
        (["directory", "deleteditems", "microsoft.graph.user"], true) => {
            let items = tenant.deleted_users.clone();
            drop(state);
            list(
                &req,
                items,
                "directory/deletedItems/microsoft.graph.user",
                Some(USER_DEFAULT_PROPS),
            )
        }
        (["directory", "deleteditems", "microsoft.graph.group"], true) => {
            let items = tenant.deleted_groups.clone();
            drop(state);
            list(
                &req,
                items,
                "directory/deletedItems/microsoft.graph.group",
                None,
            )
        }
        (["directory", "deleteditems", _], true) => {
            let key = &req.segments[2];
            match deleted_object(tenant, key) {
                Some(obj) => Reply::json(
                    200,
                    with_context(obj, req.version, "directory/deletedItems/$entity"),
                ),
                None => not_found(key),
            }
        }
        _ => error(
            400,
            "BadRequest",
            &format!(
                "Resource not found for the segment '{}'.",
                req.segments.last().map_or("", String::as_str)
            ),
        ),
    }
}

/// Creates, changes, deletes and restores users.
fn write(sim: &Sim, req: &GraphRequest<'_>) -> Reply {
    let segs: Vec<String> = req
        .segments
        .iter()
        .map(|s| s.to_ascii_lowercase())
        .collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let body: Option<Value> = if req.body.is_empty() {
        None
    } else {
        match serde_json::from_slice(req.body) {
            Ok(v) => Some(v),
            Err(e) => {
                return error(400, "BadRequest", &format!("Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format. ({e})"))
            }
        }
    };
    let mut state = sim.lock_state();
    let Some(tenant) = state.tenant_mut(&req.tenant) else {
        return error(
            401,
            "InvalidAuthenticationToken",
            "Access token validation failure.",
        );
    };
    let method = req.method.as_str();
    match (method, segs.as_slice()) {
        ("POST", ["users"]) => {
            let Some(Value::Object(mut user)) = body else {
                return error(400, "BadRequest", "Empty Payload. JSON content expected.");
            };
            for prop in [
                "accountEnabled",
                "displayName",
                "mailNickname",
                "userPrincipalName",
            ] {
                if user.get(prop).is_none_or(Value::is_null) {
                    return error(
                        400,
                        "Request_BadRequest",
                        &format!(
                            "Invalid value specified for property '{prop}' of resource 'User'."
                        ),
                    );
                }
            }
            if user
                .get("passwordProfile")
                .and_then(|p| p.get("password"))
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                return error(
                    400,
                    "Request_BadRequest",
                    "Invalid value specified for property 'passwordProfile' of resource 'User'.",
                );
            }
            let upn = user
                .get("userPrincipalName")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            if let Err(r) = check_upn(tenant, &upn, None) {
                return r;
            }
            user.remove("passwordProfile");
            user.remove("@odata.type");
            // Graph never hands out an object id twice.
            let id = crate::state::synthetic_guid(&format!("{}-{upn}-{}", tenant.id, sim.next_n()));
            user.insert("id".into(), Value::String(id));
            user.insert("createdDateTime".into(), Value::String(req.now.clone()));
            user.entry("userType").or_insert(json!("Member"));
            user.entry("businessPhones").or_insert(json!([]));
            let created = Value::Object(user);
            tenant.users.push(created.clone());
            let target = tenant.user_target(&id_of(&created), Vec::new());
            audit(
                tenant,
                req,
                "Add user",
                "UserManagement",
                "Add",
                vec![target],
            );
            Reply::json(201, with_context(created, req.version, "users/$entity"))
        }
        ("PATCH", ["users", _]) => {
            let Some(Value::Object(changes)) = body else {
                return error(400, "BadRequest", "Empty Payload. JSON content expected.");
            };
            let key = req.segments[1].clone();
            let Some(index) = tenant.users.iter().position(|u| user_matches(u, &key)) else {
                return not_found(&key);
            };
            if changes.contains_key("id") {
                return error(
                    400,
                    "Request_BadRequest",
                    "Property 'id' is read-only and cannot be set.",
                );
            }
            if let Some(upn) = changes.get("userPrincipalName").and_then(Value::as_str) {
                let own = tenant.users[index]
                    .get("id")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                if let Err(r) = check_upn(tenant, upn, own.as_deref()) {
                    return r;
                }
            }
            let before = tenant.users[index].clone();
            let uid = id_of(&before);
            let modified = crate::state::modified_properties(&before, &changes);
            let password = changes
                .get("passwordProfile")
                .and_then(|p| p.get("password"))
                .is_some_and(|p| !p.is_null());
            if let Value::Object(user) = &mut tenant.users[index] {
                for (k, v) in changes {
                    if k == "passwordProfile" || k.starts_with("@odata.") {
                        continue;
                    }
                    user.insert(k, v);
                }
            }
            if password {
                let target = tenant.user_target(&uid, Vec::new());
                audit(
                    tenant,
                    req,
                    "Reset user password",
                    "UserManagement",
                    "Update",
                    vec![target],
                );
            }
            if !modified.is_empty() {
                let target = tenant.user_target(&uid, modified);
                audit(
                    tenant,
                    req,
                    "Update user",
                    "UserManagement",
                    "Update",
                    vec![target],
                );
            }
            Reply::empty(204)
        }
        ("DELETE", ["users", _]) => {
            let key = req.segments[1].clone();
            let Some(index) = tenant.users.iter().position(|u| user_matches(u, &key)) else {
                return not_found(&key);
            };
            let target = tenant.user_target(&id_of(&tenant.users[index]), Vec::new());
            let mut user = tenant.users.remove(index);
            user["deletedDateTime"] = Value::String(req.now.clone());
            tenant.deleted_users.push(user);
            audit(
                tenant,
                req,
                "Delete user",
                "UserManagement",
                "Delete",
                vec![target],
            );
            Reply::empty(204)
        }
        ("POST", ["directory", "deleteditems", _, "restore"]) => {
            let key = req.segments[2].clone();
            if let Some(index) = tenant
                .deleted_groups
                .iter()
                .position(|g| id_matches(g, &key))
            {
                let mut group = tenant.deleted_groups.remove(index);
                if let Value::Object(m) = &mut group {
                    m.remove("deletedDateTime");
                }
                tenant.groups.push(group.clone());
                let target = tenant.group_target(&id_of(&group));
                audit(
                    tenant,
                    req,
                    "Restore group",
                    "GroupManagement",
                    "Restore",
                    vec![target],
                );
                let mut out = with_context(group, req.version, "directoryObjects/$entity");
                out["@odata.type"] = json!("#microsoft.graph.group");
                return Reply::json(200, out);
            }
            let Some(index) = tenant
                .deleted_users
                .iter()
                .position(|u| user_matches(u, &key))
            else {
                return not_found(&key);
            };
            let upn = tenant.deleted_users[index]["userPrincipalName"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if tenant.user_index(&upn).is_some() {
                return error(
                    400,
                    "Request_BadRequest",
                    "Another object with the same value for property userPrincipalName already exists.",
                );
            }
            let mut user = tenant.deleted_users.remove(index);
            if let Value::Object(m) = &mut user {
                m.remove("deletedDateTime");
            }
            tenant.users.push(user.clone());
            let target = tenant.user_target(&id_of(&user), Vec::new());
            audit(
                tenant,
                req,
                "Restore user",
                "UserManagement",
                "Restore",
                vec![target],
            );
            let mut out = with_context(user, req.version, "directoryObjects/$entity");
            out["@odata.type"] = json!("#microsoft.graph.user");
            Reply::json(200, out)
        }
        ("DELETE", ["directory", "deleteditems", _]) => {
            let key = req.segments[2].clone();
            if let Some(i) = tenant
                .deleted_users
                .iter()
                .position(|u| user_matches(u, &key))
            {
                let gone = tenant.deleted_users.remove(i);
                let target = json!({"id": id_of(&gone), "displayName": null, "type": "User",
                    "userPrincipalName": gone["userPrincipalName"], "modifiedProperties": []});
                audit(
                    tenant,
                    req,
                    "Hard Delete user",
                    "UserManagement",
                    "Delete",
                    vec![target],
                );
                return Reply::empty(204);
            }
            match tenant
                .deleted_groups
                .iter()
                .position(|g| id_matches(g, &key))
            {
                Some(i) => {
                    let gone = tenant.deleted_groups.remove(i);
                    let gid = id_of(&gone);
                    tenant.members.remove(&gid);
                    tenant.owners.remove(&gid);
                    let target = json!({"id": gid, "displayName": gone["displayName"], "type": "Group", "modifiedProperties": []});
                    audit(
                        tenant,
                        req,
                        "Hard Delete group",
                        "GroupManagement",
                        "Delete",
                        vec![target],
                    );
                    Reply::empty(204)
                }
                None => not_found(&key),
            }
        }
        _ => error(
            405,
            "Request_BadRequest",
            &format!(
                "The request method '{method}' is not supported for this resource in cipp-sim."
            ),
        ),
    }
}

fn check_upn(
    tenant: &crate::state::SimTenant,
    upn: &str,
    own_id: Option<&str>,
) -> Result<(), Reply> {
    let Some((_, domain)) = upn.rsplit_once('@') else {
        return Err(error(
            400,
            "Request_BadRequest",
            "Invalid value specified for property 'userPrincipalName' of resource 'User'.",
        ));
    };
    if !tenant
        .domains
        .iter()
        .any(|d| d.eq_ignore_ascii_case(domain))
    {
        return Err(error(
            400,
            "Request_BadRequest",
            "The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.",
        ));
    }
    let taken = tenant.users.iter().any(|u| {
        u.get("userPrincipalName")
            .and_then(Value::as_str)
            .is_some_and(|x| x.eq_ignore_ascii_case(upn))
            && u.get("id").and_then(Value::as_str) != own_id
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

pub(crate) fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap_or_default().to_owned()
}

/// Records a directory audit event for a write made by this request's caller.
pub(crate) fn audit(
    t: &mut crate::state::SimTenant,
    req: &GraphRequest<'_>,
    activity: &str,
    category: &str,
    operation: &str,
    targets: Vec<Value>,
) {
    t.record_audit(crate::state::AuditEvent {
        activity,
        category,
        operation,
        initiated_by: req.caller.clone(),
        targets,
        at: &req.now,
    });
}

fn id_matches(v: &Value, key: &str) -> bool {
    v.get("id")
        .and_then(Value::as_str)
        .is_some_and(|id| id.eq_ignore_ascii_case(key))
}

/// A soft-deleted user or group, typed as `directory/deletedItems/{id}` answers.
fn deleted_object(tenant: &crate::state::SimTenant, key: &str) -> Option<Value> {
    if let Some(u) = tenant.deleted_users.iter().find(|u| user_matches(u, key)) {
        let mut u = u.clone();
        u["@odata.type"] = json!("#microsoft.graph.user");
        return Some(u);
    }
    tenant
        .deleted_groups
        .iter()
        .find(|g| id_matches(g, key))
        .map(|g| {
            let mut g = g.clone();
            g["@odata.type"] = json!("#microsoft.graph.group");
            g
        })
}

pub(crate) fn user_matches(u: &Value, key: &str) -> bool {
    u.get("id")
        .and_then(Value::as_str)
        .is_some_and(|id| id.eq_ignore_ascii_case(key))
        || u.get("userPrincipalName")
            .and_then(Value::as_str)
            .is_some_and(|upn| upn.eq_ignore_ascii_case(key))
}

fn find_user<'a>(users: &'a [Value], key: &str) -> Option<&'a Value> {
    users.iter().find(|u| {
        u.get("id")
            .and_then(Value::as_str)
            .is_some_and(|id| id.eq_ignore_ascii_case(key))
            || u.get("userPrincipalName")
                .and_then(Value::as_str)
                .is_some_and(|upn| upn.eq_ignore_ascii_case(key))
    })
}

pub(crate) fn not_found(key: &str) -> Reply {
    error(
        404,
        "Request_ResourceNotFound",
        &format!("Resource '{key}' does not exist or one of its queried reference-property objects are not present."),
    )
}

pub(crate) fn project(item: &Value, select: Option<&str>, defaults: Option<&[&str]>) -> Value {
    let Value::Object(m) = item else {
        return item.clone();
    };
    let keep: Option<Vec<String>> = match select {
        Some(s) => Some(
            s.split(',')
                .map(|p| p.trim().to_owned())
                .filter(|p| !p.is_empty())
                .collect(),
        ),
        None => defaults.map(|d| d.iter().map(|s| s.to_string()).collect()),
    };
    match keep {
        None => item.clone(),
        Some(keep) => {
            let mut out = Map::new();
            if let Some(t) = m.get("@odata.type") {
                out.insert("@odata.type".into(), t.clone());
            }
            for k in keep {
                if let Some((key, v)) = m.iter().find(|(key, _)| key.eq_ignore_ascii_case(&k)) {
                    out.insert(key.clone(), v.clone());
                } else {
                    out.insert(k, Value::Null);
                }
            }
            Value::Object(out)
        }
    }
}

pub(crate) fn with_context(mut v: Value, version: &str, entity: &str) -> Value {
    if let Value::Object(m) = &mut v {
        let mut out = Map::new();
        out.insert(
            "@odata.context".into(),
            Value::String(format!(
                "https://graph.microsoft.com/{version}/$metadata#{entity}"
            )),
        );
        out.extend(std::mem::take(m));
        *m = out;
    }
    v
}

/// A paged collection answer with `$top` (default 100, max 999), `$skiptoken`, `$select`,
/// `$filter` and `$count` (which, like `$search` and `$orderby`, needs
/// `ConsistencyLevel: eventual`).
fn list(
    req: &GraphRequest<'_>,
    items: Vec<Value>,
    entity: &str,
    defaults: Option<&[&str]>,
) -> Reply {
    let count = req
        .q("$count")
        .is_some_and(|c| c.eq_ignore_ascii_case("true"));
    if (count || req.q("$search").is_some() || req.q("$orderby").is_some()) && !req.eventual() {
        return error(
            400,
            "Request_UnsupportedQuery",
            "Sorting, counting and searching need the ConsistencyLevel: eventual header and $count=true.",
        );
    }
    if req.q("$skip").is_some() {
        return error(
            400,
            "Request_BadRequest",
            "'$skip' is not supported by the service.",
        );
    }
    let max_top = if entity.starts_with("auditLogs") {
        1000
    } else {
        999
    };
    let top = match req.q("$top") {
        None => if max_top == 1000 { 1000 } else { 100 },
        Some(t) => match t.parse::<usize>() {
            Ok(n) if (1..=max_top).contains(&n) => n,
            _ => {
                return error(
                    400,
                    "Request_UnsupportedQuery",
                    &format!(
                        "Invalid page size specified: '{t}'. Must be between 1 and {max_top} inclusive."
                    ),
                )
            }
        },
    };
    let items: Vec<Value> = match &req.cast {
        Some(cast) => items
            .into_iter()
            .filter(|i| {
                i["@odata.type"]
                    .as_str()
                    .is_some_and(|t| t.eq_ignore_ascii_case(cast))
            })
            .collect(),
        None => items,
    };
    let filtered: Vec<Value> = match req.q("$filter") {
        Some(f) => match Filter::parse(f) {
            Ok(filter) if filter.is_advanced() && !req.eventual() && directory_collection(entity) => {
                return error(
                    400,
                    "Request_UnsupportedQuery",
                    "Operator 'endsWith', 'ne' or 'not' is an advanced query: send ConsistencyLevel: eventual and $count=true.",
                )
            }
            Ok(filter) => items.into_iter().filter(|i| filter.matches(i)).collect(),
            Err(msg) => return error(400, "Request_UnsupportedQuery", &msg),
        },
        None => items,
    };
    let offset = match req.q("$skiptoken") {
        None => 0,
        Some(tok) => match tok
            .strip_prefix("RFNwdAIAAQAAA")
            .and_then(|n| n.parse::<usize>().ok())
        {
            Some(n) => n,
            None => return error(400, "Request_BadRequest", "Invalid paging token."),
        },
    };
    let total = filtered.len();
    let page: Vec<Value> = filtered
        .iter()
        .skip(offset)
        .take(top)
        .map(|i| project(i, req.q("$select"), defaults))
        .collect();
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        Value::String(format!(
            "https://graph.microsoft.com/{}/$metadata#{entity}",
            req.version
        )),
    );
    if count && offset == 0 {
        body.insert("@odata.count".into(), json!(total));
    }
    if offset + top < total {
        let mut link = format!("{}{}?", req.origin, req.raw_path);
        for (k, v) in &req.query {
            if !k.eq_ignore_ascii_case("$skiptoken") {
                link.push_str(&format!("{}={}&", encode(k), encode(v)));
            }
        }
        link.push_str(&format!("$skiptoken=RFNwdAIAAQAAA{}", offset + top));
        body.insert("@odata.nextLink".into(), Value::String(link));
    }
    body.insert("value".into(), Value::Array(page));
    Reply::json(200, Value::Object(body))
}

/// Directory collections, where advanced query rules apply (logs and reports do not).
fn directory_collection(entity: &str) -> bool {
    let e = entity.to_ascii_lowercase();
    [
        "users",
        "groups",
        "serviceprincipals",
        "applications",
        "devices",
        "directory/",
    ]
    .iter()
    .any(|p| e.starts_with(p))
}

/// Parses the query of a Graph request.
pub(crate) fn query(q: Option<&str>) -> Vec<(String, String)> {
    parse_query(q)
}
