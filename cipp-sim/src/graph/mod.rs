//! Microsoft Graph: a route table per area, and a generic collection store
//! ([`collection::Resource`]) for resources with standard semantics.
//!
//! A request is matched first against the explicit routes ([`Route`]: method + path
//! pattern → handler), then against the resource table (`GET`/`POST` on a collection's
//! path, `GET`/`PATCH`/`PUT`/`DELETE` on an item). A path that some route knows with
//! another method answers 405; an unknown path answers Graph's 400.

use http::HeaderMap;
use serde_json::{json, Map, Value};

mod app_consent;
mod audit_queries;
mod auth;
mod batch;
pub(crate) mod collection;
mod conditional_access;
mod delta;
mod devices;
mod directory;
mod directory_roles;
mod enrollment;
pub(crate) mod gdap;
mod groups;
mod identity_protection;
mod intune;
mod logs;
mod mail;
mod mail_reports;
mod pim_groups;
mod policies;
mod posture;
mod role_management;
mod sites;
mod sponsors;
mod users;

use crate::odata::{encode, parse_query, percent_decode, Filter};
use crate::state::{SimState, SimTenant};
use crate::{Reply, Sim};
use collection::Resource;

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

/// One Graph request, parsed.
pub(crate) struct GraphRequest<'a> {
    /// The tenant GUID the token was issued for.
    pub tenant: String,
    pub method: &'a http::Method,
    /// `v1.0` or `beta`.
    pub version: &'a str,
    /// Decoded path segments after the version.
    pub segments: Vec<String>,
    pub query: Vec<(String, String)>,
    pub headers: &'a HeaderMap,
    /// Scheme and authority next links point back to.
    pub origin: String,
    pub raw_path: String,
    pub body: &'a [u8],
    /// The simulator clock's now (RFC 3339, seconds).
    pub now: String,
    /// `initiatedBy` for the audit records of this request's writes.
    pub caller: Value,
    /// An OData type cast ending the path (`…/memberOf/microsoft.graph.group`), as
    /// `#microsoft.graph.group`: collections answer only items of that type.
    pub cast: Option<String>,
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

    /// The JSON body (`Null` when empty), or Graph's 400 for malformed JSON.
    pub(crate) fn json(&self) -> Result<Value, Reply> {
        if self.body.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(self.body).map_err(|e| {
            error(
                400,
                "BadRequest",
                &format!("Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format. ({e})"),
            )
        })
    }

    /// The JSON object body, or a 400.
    pub(crate) fn object(&self) -> Result<Map<String, Value>, Reply> {
        match self.json()? {
            Value::Object(m) => Ok(m),
            _ => Err(error(
                400,
                "BadRequest",
                "Empty Payload. JSON content expected.",
            )),
        }
    }
}

/// What a handler works on: the request, the tenant it is for (taken out of the state
/// while the handler runs) and the rest of the state.
pub(crate) struct Ctx<'a, 'r> {
    pub sim: &'a Sim,
    pub req: &'a GraphRequest<'r>,
    pub t: &'a mut SimTenant,
    pub others: &'a mut SimState,
}

impl Ctx<'_, '_> {
    /// Records a directory audit event for a write made by this request's caller.
    pub(crate) fn audit(
        &mut self,
        activity: &str,
        category: &str,
        operation: &str,
        targets: Vec<Value>,
    ) {
        self.t.record_audit(crate::state::AuditEvent {
            activity,
            category,
            operation,
            initiated_by: self.req.caller.clone(),
            targets,
            at: &self.req.now,
        });
    }

    /// A new id, never handed out before.
    pub(crate) fn new_id(&self, kind: &str) -> String {
        crate::state::synthetic_guid(&format!("{}-{kind}-{}", self.t.id, self.sim.next_n()))
    }

    /// The user `key` (id or UPN) names, or Graph's 404.
    pub(crate) fn user(&self, key: &str) -> Result<&Value, Reply> {
        self.t.directory.user(key).ok_or_else(|| not_found(key))
    }

    /// The id of the user `key` names, or Graph's 404.
    pub(crate) fn user_id(&self, key: &str) -> Result<String, Reply> {
        self.t.directory.user_id(key).ok_or_else(|| not_found(key))
    }

    /// The UPN of the user `key` names, or Graph's 404.
    pub(crate) fn user_upn(&self, key: &str) -> Result<String, Reply> {
        self.user(key)?["userPrincipalName"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| not_found(key))
    }

    /// Audits a `UserManagement` write on one user.
    pub(crate) fn audit_user(&mut self, activity: &str, operation: &str, uid: &str) {
        let target = self.t.user_target(uid, Vec::new());
        self.audit(activity, "UserManagement", operation, vec![target]);
    }
}

/// The values of a route's `{…}` segments, in order, as sent.
pub(crate) struct Params(Vec<String>);

impl Params {
    /// The `i`th parameter (empty when absent).
    pub(crate) fn get(&self, i: usize) -> &str {
        self.0.get(i).map_or("", String::as_str)
    }
}

pub(crate) type Handler = fn(&mut Ctx<'_, '_>, &Params) -> Reply;

/// What a handler written with `?` answers: its errors are replies too.
pub(crate) type Answer = Result<Reply, Reply>;

/// A route table, one `METHOD "pattern" => handler` a line; each handler answers an
/// [`Answer`].
macro_rules! routes {
    ($($method:ident $path:literal => $handler:path),* $(,)?) => {
        &[$($crate::graph::Route {
            method: stringify!($method),
            path: $path,
            handler: |ctx, p| $handler(ctx, p).unwrap_or_else(|r| r),
        }),*]
    };
}
pub(crate) use routes;

/// One explicit route: a method, a path pattern after the version (lower case; `{name}`
/// matches one segment) and its handler.
pub(crate) struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub handler: Handler,
}

/// Matches `segs` (lower case) against a pattern; the `{…}` values come from `orig`.
fn match_pattern(pattern: &str, segs: &[String], orig: &[String]) -> Option<Params> {
    let parts: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
    if parts.len() != segs.len() {
        return None;
    }
    let mut params = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        if p.starts_with('{') && p.ends_with('}') {
            params.push(orig.get(i).cloned().unwrap_or_default());
        } else if *p != segs[i] {
            return None;
        }
    }
    Some(Params(params))
}

/// Every area's explicit routes.
fn route_tables() -> [&'static [Route]; 22] {
    [
        app_consent::ROUTES,
        pim_groups::ROUTES,
        delta::ROUTES,
        audit_queries::ROUTES,
        mail_reports::ROUTES,
        posture::ROUTES,
        users::ROUTES,
        groups::ROUTES,
        directory::ROUTES,
        auth::ROUTES,
        logs::ROUTES,
        mail::ROUTES,
        sites::ROUTES,
        collection::ROUTES,
        gdap::ROUTES,
        conditional_access::ROUTES,
        intune::ROUTES,
        policies::ROUTES,
        role_management::ROUTES,
        directory_roles::ROUTES,
        identity_protection::ROUTES,
        sponsors::ROUTES,
    ]
}

/// Every area's resources with standard semantics.
pub(crate) fn resource_tables() -> [&'static [Resource]; 9] {
    [
        enrollment::RESOURCES,
        users::RESOURCES,
        posture::RESOURCES,
        groups::RESOURCES,
        logs::RESOURCES,
        conditional_access::RESOURCES,
        intune::RESOURCES,
        gdap::RESOURCES,
        devices::RESOURCES,
    ]
}

/// Splits a Graph path after the version into decoded segments, accepting
/// `users('upn')`, `directoryRoles(roleTemplateId='…')` and the short type-cast form
/// `graph.user`.
pub(crate) fn segments(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    for raw in path.split('/').filter(|s| !s.is_empty()) {
        let seg = percent_decode(raw);
        if let Some(open) = seg.find('(') {
            if seg.ends_with(')') {
                let inner = &seg[open + 1..seg.len() - 1];
                let key = match inner.split_once('=') {
                    Some((k, v)) => format!("{k}={}", v.trim_matches('\'').replace("''", "'")),
                    None => inner.trim_matches('\'').replace("''", "'"),
                };
                out.push(seg[..open].to_owned());
                out.push(key);
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

/// Routes one Graph request.
pub(crate) fn handle(sim: &Sim, mut req: GraphRequest<'_>) -> Reply {
    if req.method == http::Method::POST && req.segments.len() == 1 && req.segments[0] == "$batch" {
        return batch::handle(sim, &req);
    }
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
    let lower: Vec<String> = req
        .segments
        .iter()
        .map(|s| s.to_ascii_lowercase())
        .collect();
    let mut state = sim.lock_state();
    let Some(tenant_id) = state.tenant(&req.tenant).map(|t| t.id.clone()) else {
        return error(
            401,
            "InvalidAuthenticationToken",
            "Access token validation failure.",
        );
    };
    // The tenant is taken out while its handler runs, so that handlers hold it and the
    // rest of the state at once; it always goes back.
    let Some(mut tenant) = state.tenants.remove(&tenant_id) else {
        return error(
            401,
            "InvalidAuthenticationToken",
            "Access token validation failure.",
        );
    };
    let reply = {
        let mut ctx = Ctx {
            sim,
            req: &req,
            t: &mut tenant,
            others: &mut state,
        };
        dispatch(&mut ctx, &lower)
    };
    state.tenants.insert(tenant_id, tenant);
    reply
}

fn dispatch(ctx: &mut Ctx<'_, '_>, lower: &[String]) -> Reply {
    if let Some(r) = conditional_access::guard(ctx, lower) {
        return r;
    }
    let method = ctx.req.method.as_str();
    let mut known_path = false;
    for table in route_tables() {
        for route in table {
            if let Some(params) = match_pattern(route.path, lower, &ctx.req.segments) {
                if route.method == method {
                    return (route.handler)(ctx, &params);
                }
                known_path = true;
            }
        }
    }
    for table in resource_tables() {
        for res in table {
            match collection::serve(ctx, res, lower) {
                collection::Served::Reply(r) => return r,
                collection::Served::WrongMethod => known_path = true,
                collection::Served::NotMine => {}
            }
        }
    }
    if known_path {
        return error(
            405,
            "Request_BadRequest",
            &format!("The request method '{method}' is not supported for this resource."),
        );
    }
    error(
        400,
        "BadRequest",
        &format!(
            "Resource not found for the segment '{}'.",
            ctx.req.segments.last().map_or("", String::as_str)
        ),
    )
}

pub(crate) fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap_or_default().to_owned()
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
            for k in ["@odata.type", "@odata.etag"] {
                if let Some(t) = m.get(k) {
                    out.insert(k.into(), t.clone());
                }
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

/// Page-size rules of a collection.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Paging {
    /// Page size without `$top`.
    pub default_top: usize,
    /// Largest `$top`.
    pub max_top: usize,
}

impl Paging {
    /// Directory objects: 100 by default, up to 999.
    pub(crate) const DIRECTORY: Paging = Paging {
        default_top: 100,
        max_top: 999,
    };
    /// Logs and reports: 1,000 by default and at most.
    pub(crate) const LOGS: Paging = Paging {
        default_top: 1000,
        max_top: 1000,
    };
}

/// A paged collection answer with `$top`, `$skiptoken`, `$select`, `$filter`, `$orderby`
/// and `$count` (which, like `$search` and `$orderby`, needs `ConsistencyLevel: eventual`
/// on directory collections).
pub(crate) fn list(
    req: &GraphRequest<'_>,
    items: Vec<Value>,
    entity: &str,
    defaults: Option<&[&str]>,
) -> Reply {
    let paging = if entity.starts_with("auditLogs") {
        Paging::LOGS
    } else {
        Paging::DIRECTORY
    };
    list_with(req, items, entity, defaults, paging)
}

/// [`list`] with explicit page-size rules.
pub(crate) fn list_with(
    req: &GraphRequest<'_>,
    items: Vec<Value>,
    entity: &str,
    defaults: Option<&[&str]>,
    paging: Paging,
) -> Reply {
    let directory = directory_collection(entity);
    let count = req
        .q("$count")
        .is_some_and(|c| c.eq_ignore_ascii_case("true"));
    if directory
        && (count || req.q("$search").is_some() || req.q("$orderby").is_some())
        && !req.eventual()
    {
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
    let max_top = paging.max_top;
    let top = match req.q("$top") {
        None => paging.default_top,
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
    let mut filtered: Vec<Value> = match req.q("$filter") {
        Some(f) => match Filter::parse(f) {
            Ok(filter) if filter.is_advanced() && !req.eventual() && directory => {
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
    if let Some(spec) = req.q("$orderby") {
        if let Err(msg) = crate::odata::order_by(&mut filtered, spec) {
            return error(400, "Request_UnsupportedQuery", &msg);
        }
    }
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
    if offset.saturating_add(top) < total {
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
        "directoryobjects",
    ]
    .iter()
    .any(|p| e.starts_with(p))
}

/// Parses the query of a Graph request.
pub(crate) fn query(q: Option<&str>) -> Vec<(String, String)> {
    parse_query(q)
}
