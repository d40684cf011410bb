//! GDAP in the partner tenant: relationships with their status lifecycle, ETags that
//! change on every write (412 on a stale `If-Match`), requests, access assignments and
//! operations. The customer's approval is a test hook ([`crate::Simulator::approve_relationship`]).

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Map, Value};

use super::collection::{Hooks, Resource, UpdateReply};
use super::{error, id_of, list, Ctx, Params, Route};
use crate::state::{paths, synthetic_guid, Area};
use crate::{Reply, Sim};

const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";
const ENTITY: &str = "tenantRelationships/delegatedAdminRelationships";

/// Days in an ISO 8601 date duration (`P730D`, `P2Y`).
pub(crate) fn days(d: &str) -> Option<i64> {
    let rest = d.strip_prefix('P')?;
    let (mut total, mut n) = (0i64, String::new());
    for c in rest.chars() {
        if c.is_ascii_digit() {
            n.push(c);
            continue;
        }
        let v: i64 = n.parse().ok()?;
        n.clear();
        total = total.checked_add(v.checked_mul(match c {
            'Y' => 365,
            'M' => 30,
            'W' => 7,
            'D' => 1,
            _ => return None,
        })?)?;
    }
    (n.is_empty() && !rest.is_empty()).then_some(total)
}

fn roles_of(v: &Value) -> Vec<String> {
    v["accessDetails"]["unifiedRoles"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| r["roleDefinitionId"].as_str())
                .map(str::to_ascii_lowercase)
                .collect()
        })
        .unwrap_or_default()
}

fn etag(sim: &Sim) -> String {
    format!("W/\"JyI{:016x}Iic=\"", sim.next_n())
}

fn check_etag(ctx: &Ctx<'_, '_>, current: &Value) -> Result<(), Reply> {
    let given = ctx
        .req
        .headers
        .get(http::header::IF_MATCH)
        .and_then(|v| v.to_str().ok());
    match given {
        None => Err(error(
            400,
            "BadRequest",
            "The If-Match header is required for this request.",
        )),
        Some(m) if m == "*" || Some(m) == current["@odata.etag"].as_str() => Ok(()),
        Some(_) => Err(error(
            412,
            "PreconditionFailed",
            "The resource has been modified since it was last retrieved. Get the latest version and retry.",
        )),
    }
}

fn not_found(id: &str) -> Reply {
    error(
        404,
        "ResourceNotFound",
        &format!("The delegated admin relationship '{id}' was not found."),
    )
}

/// Relationships: the generic store with ETags (`If-Match` on every `PATCH`), `$top` ≤ 300,
/// no `DELETE` (relationships end by a `terminate` request).
pub(crate) const RESOURCES: &[Resource] = &[Resource {
    path: paths::GDAP_RELATIONSHIPS,
    entity: ENTITY,
    area: Area::Gdap,
    noun: "delegatedAdminRelationship",
    ops: &[
        super::collection::Op::List,
        super::collection::Op::Get,
        super::collection::Op::Create,
        super::collection::Op::Update,
    ],
    etag: true,
    paging: super::Paging {
        default_top: 100,
        max_top: 300,
    },
    update_reply: UpdateReply::Object,
    not_found,
    hooks: Hooks {
        before_create: Some(before_create),
        after_create: Some(after_create),
        before_update: Some(before_update),
        ..Hooks::NONE
    },
    ..Resource::STANDARD
}];

fn before_create(ctx: &mut Ctx<'_, '_>, b: &mut Map<String, Value>) -> Result<(), Reply> {
    let body = Value::Object(b.clone());
    let name = body["displayName"].as_str().unwrap_or("");
    if name.is_empty() || name.chars().count() > 50 {
        return Err(error(
            400,
            "BadRequest",
            "The displayName must be between 1 and 50 characters.",
        ));
    }
    if ctx
        .t
        .gdap
        .relationships()
        .iter()
        .any(|r| r["displayName"].as_str() == Some(name))
    {
        return Err(error(
            409,
            "Conflict",
            &format!("A delegated admin relationship with display name '{name}' already exists."),
        ));
    }
    let duration = body["duration"].as_str().unwrap_or("");
    if !days(duration).is_some_and(|d| (1..=730).contains(&d)) {
        return Err(error(
            400,
            "BadRequest",
            "The duration must be between P1D and P2Y.",
        ));
    }
    let roles = roles_of(&body);
    if roles.is_empty() {
        return Err(error(
            400,
            "BadRequest",
            "At least one role is required in accessDetails.",
        ));
    }
    let auto = body["autoExtendDuration"]
        .as_str()
        .unwrap_or("PT0S")
        .to_owned();
    if roles.iter().any(|r| r == GLOBAL_ADMIN) && auto != "PT0S" && auto != "P0D" {
        return Err(error(
            400,
            "BadRequest",
            "Relationships that include the Global Administrator role cannot be auto-extended.",
        ));
    }
    let id = synthetic_guid(&format!("gdap{}{}", ctx.t.id, ctx.sim.next_n()));
    let rel = json!({
        "@odata.type": "#microsoft.graph.delegatedAdminRelationship",
        "id": id,
        "displayName": name,
        "duration": duration,
        "customer": body.get("customer").cloned().unwrap_or(Value::Null),
        "accessDetails": body["accessDetails"],
        "status": "created",
        "autoExtendDuration": auto,
        "activatedDateTime": "",
        "endDateTime": ""
    });
    if let Value::Object(m) = rel {
        *b = m;
    }
    Ok(())
}

fn after_create(_: &mut Ctx<'_, '_>, rel: &Value) -> Vec<(&'static str, String)> {
    vec![(
        "location",
        format!(
            "https://graph.microsoft.com/v1.0/tenantRelationships/delegatedAdminRelationships/{}",
            id_of(rel)
        ),
    )]
}

/// Only `created` relationships change freely; an `active` one only auto-extends or
/// drops Global Administrator.
fn before_update(
    _: &mut Ctx<'_, '_>,
    rel: &Value,
    changes: &mut Map<String, Value>,
) -> Result<(), Reply> {
    let status = rel["status"].as_str().unwrap_or("").to_owned();
    for (k, v) in changes.iter() {
        let allowed = match (status.as_str(), k.as_str()) {
            ("created", _) => true,
            ("active", "autoExtendDuration") => true,
            ("active", "accessDetails") => {
                let old = roles_of(rel);
                let new = roles_of(&json!({ "accessDetails": v }));
                old.contains(&GLOBAL_ADMIN.to_owned())
                    && !new.contains(&GLOBAL_ADMIN.to_owned())
                    && new.iter().all(|r| old.contains(r))
                    && new.len() + 1 == old.len()
            }
            _ => false,
        };
        if !allowed {
            return Err(error(
                400,
                "BadRequest",
                &format!(
                    "The property '{k}' cannot be updated while the relationship is '{status}'."
                ),
            ));
        }
    }
    let mut merged = rel.clone();
    for (k, v) in changes.iter() {
        merged[k.as_str()] = v.clone();
    }
    if roles_of(&merged).iter().any(|r| r == GLOBAL_ADMIN)
        && merged["autoExtendDuration"] == "P180D"
    {
        return Err(error(
            400,
            "BadRequest",
            "Relationships that include the Global Administrator role cannot be auto-extended.",
        ));
    }
    Ok(())
}

pub(crate) const ROUTES: &[Route] = &[
    Route {
        method: "POST",
        path: "tenantrelationships/delegatedadminrelationships/{id}/requests",
        handler: request,
    },
    Route {
        method: "GET",
        path: "tenantrelationships/delegatedadminrelationships/{id}/accessassignments",
        handler: list_assignments,
    },
    Route {
        method: "POST",
        path: "tenantrelationships/delegatedadminrelationships/{id}/accessassignments",
        handler: create_assignment,
    },
    Route {
        method: "GET",
        path: "tenantrelationships/delegatedadminrelationships/{id}/accessassignments/{a}",
        handler: get_assignment,
    },
    Route {
        method: "PATCH",
        path: "tenantrelationships/delegatedadminrelationships/{id}/accessassignments/{a}",
        handler: change_assignment,
    },
    Route {
        method: "DELETE",
        path: "tenantrelationships/delegatedadminrelationships/{id}/accessassignments/{a}",
        handler: change_assignment,
    },
    Route {
        method: "GET",
        path: "tenantrelationships/delegatedadminrelationships/{id}/operations",
        handler: list_operations,
    },
];

fn relationship<'a>(ctx: &'a mut Ctx<'_, '_>, id: &str) -> Option<&'a mut Value> {
    ctx.t
        .gdap
        .store
        .get_mut(paths::GDAP_RELATIONSHIPS)
        .get_mut(id)
}

/// Assignments are provisioned asynchronously: `pending` when created, `active` when
/// next read.
fn settle(ctx: &mut Ctx<'_, '_>, rel: &str) -> Vec<Value> {
    let list = ctx
        .t
        .gdap
        .assignments
        .entry(rel.to_ascii_lowercase())
        .or_default();
    for a in list.iter_mut() {
        if a["status"] == "pending" {
            a["status"] = json!("active");
        }
    }
    list.clone()
}

fn request(ctx: &mut Ctx<'_, '_>, p: &Params) -> Reply {
    let b = match ctx.req.json() {
        Ok(b) => b,
        Err(r) => return r,
    };
    let (now, tag) = (ctx.req.now.clone(), etag(ctx.sim));
    let rid = synthetic_guid(&format!("req{}", ctx.sim.next_n()));
    let Some(rel) = relationship(ctx, p.get(0)) else {
        return not_found(p.get(0));
    };
    let action = b["action"].as_str().unwrap_or("").to_owned();
    let status = rel["status"].as_str().unwrap_or("").to_owned();
    let next = match (action.as_str(), status.as_str()) {
        ("lockForApproval", "created") => "approvalPending",
        ("terminate", "active" | "approvalPending") => "terminated",
        _ => {
            return error(
                400,
                "BadRequest",
                &format!(
                    "The action '{action}' is not allowed while the relationship is '{status}'."
                ),
            )
        }
    };
    rel["status"] = json!(next);
    rel["@odata.etag"] = json!(tag);
    rel["lastModifiedDateTime"] = json!(now);
    if next == "terminated" {
        rel["endDateTime"] = json!(now);
    }
    Reply::json(
        201,
        json!({"id": rid, "action": action, "status": "created", "createdDateTime": now, "lastModifiedDateTime": now}),
    )
}

fn list_assignments(ctx: &mut Ctx<'_, '_>, p: &Params) -> Reply {
    if relationship(ctx, p.get(0)).is_none() {
        return not_found(p.get(0));
    }
    let items = settle(ctx, p.get(0));
    list(ctx.req, items, "accessAssignments", None)
}

fn get_assignment(ctx: &mut Ctx<'_, '_>, p: &Params) -> Reply {
    let items = settle(ctx, p.get(0));
    match items.into_iter().find(|a| {
        a["id"]
            .as_str()
            .is_some_and(|x| x.eq_ignore_ascii_case(p.get(1)))
    }) {
        Some(a) => Reply::json(200, a),
        None => error(
            404,
            "ResourceNotFound",
            "The access assignment was not found.",
        ),
    }
}

fn create_assignment(ctx: &mut Ctx<'_, '_>, p: &Params) -> Reply {
    let id = p.get(0);
    let Some(rel) = relationship(ctx, id).map(|r| r.clone()) else {
        return not_found(id);
    };
    let b = match ctx.req.json() {
        Ok(b) => b,
        Err(r) => return r,
    };
    if rel["status"] != "active" {
        return error(
            400,
            "BadRequest",
            "Access assignments can only be created on active relationships.",
        );
    }
    let group = b["accessContainer"]["accessContainerId"]
        .as_str()
        .unwrap_or("")
        .to_ascii_lowercase();
    if ctx.t.directory.group(&group).is_none() {
        return error(
            400,
            "BadRequest",
            &format!("The security group '{group}' was not found in the partner tenant."),
        );
    }
    let granted = roles_of(&rel);
    let wanted = roles_of(&b);
    if wanted.is_empty() || wanted.iter().any(|r| !granted.contains(r)) {
        return error(
            400,
            "BadRequest",
            "The roles of an access assignment must be a subset of the relationship's roles.",
        );
    }
    let now = ctx.req.now.clone();
    let a = json!({
        "@odata.etag": etag(ctx.sim),
        "id": synthetic_guid(&format!("aa{}", ctx.sim.next_n())),
        "status": "pending",
        "accessContainer": {"accessContainerId": group, "accessContainerType": "securityGroup"},
        "accessDetails": b["accessDetails"],
        "createdDateTime": now,
        "lastModifiedDateTime": now
    });
    let list = ctx
        .t
        .gdap
        .assignments
        .entry(id.to_ascii_lowercase())
        .or_default();
    if list
        .iter()
        .any(|a| a["accessContainer"]["accessContainerId"].as_str() == Some(group.as_str()))
    {
        return error(
            409,
            "Conflict",
            "An access assignment for this security group already exists.",
        );
    }
    list.push(a.clone());
    Reply::json(201, a)
}

fn change_assignment(ctx: &mut Ctx<'_, '_>, p: &Params) -> Reply {
    let (rel, aid) = (p.get(0), p.get(1));
    let Some(granted) = relationship(ctx, rel).map(|r| roles_of(r)) else {
        return not_found(rel);
    };
    let key = rel.to_ascii_lowercase();
    let Some(j) = ctx.t.gdap.assignments.get(&key).and_then(|l| {
        l.iter().position(|a| {
            a["id"]
                .as_str()
                .is_some_and(|x| x.eq_ignore_ascii_case(aid))
        })
    }) else {
        return error(
            404,
            "ResourceNotFound",
            "The access assignment was not found.",
        );
    };
    let current = ctx.t.gdap.assignments[&key][j].clone();
    if let Err(r) = check_etag(ctx, &current) {
        return r;
    }
    let now = ctx.req.now.clone();
    if ctx.req.method == http::Method::DELETE {
        if let Some(l) = ctx.t.gdap.assignments.get_mut(&key) {
            l.remove(j);
        }
        return Reply::empty(204);
    }
    let b = match ctx.req.json() {
        Ok(b) => b,
        Err(r) => return r,
    };
    let wanted = roles_of(&b);
    if wanted.is_empty() || wanted.iter().any(|r| !granted.contains(r)) {
        return error(
            400,
            "BadRequest",
            "The roles of an access assignment must be a subset of the relationship's roles.",
        );
    }
    let mut a = current;
    a["accessDetails"] = b["accessDetails"].clone();
    a["@odata.etag"] = json!(etag(ctx.sim));
    a["lastModifiedDateTime"] = json!(now);
    if let Some(slot) = ctx
        .t
        .gdap
        .assignments
        .get_mut(&key)
        .and_then(|l| l.get_mut(j))
    {
        *slot = a.clone();
    }
    let op = json!({
        "@odata.type": "#microsoft.graph.delegatedAdminRelationshipOperation",
        "@odata.etag": etag(ctx.sim),
        "id": synthetic_guid(&format!("op{}", ctx.sim.next_n())),
        "operationType": "delegatedAdminAccessAssignmentUpdate",
        "data": json!({"id": a["id"], "accessDetails": a["accessDetails"]}).to_string(),
        "status": "succeeded",
        "createdDateTime": now,
        "lastModifiedDateTime": now
    });
    ctx.t.gdap.operations.entry(key).or_default().push(op);
    Reply::json(200, a)
}

fn list_operations(ctx: &mut Ctx<'_, '_>, p: &Params) -> Reply {
    if relationship(ctx, p.get(0)).is_none() {
        return not_found(p.get(0));
    }
    let items = ctx
        .t
        .gdap
        .operations
        .get(&p.get(0).to_ascii_lowercase())
        .cloned()
        .unwrap_or_default();
    list(ctx.req, items, "operations", None)
}

/// The customer approves a relationship that is `approvalPending`: it becomes `active`,
/// names the customer, starts its duration and adds the customer to the partner's list.
pub(crate) fn approve(
    sim: &Sim,
    partner: &str,
    id: &str,
    customer: &str,
    now: DateTime<Utc>,
) -> Result<(), String> {
    let mut state = sim.lock_state();
    let (customer_id, customer_name) = match state.tenant(customer) {
        Some(c) => (c.id.clone(), c.display_name.clone()),
        None => return Err(format!("no customer tenant `{customer}`")),
    };
    let Some(t) = state.tenant_mut(partner) else {
        return Err(format!("no partner tenant `{partner}`"));
    };
    let tag = etag(sim);
    let rel = t
        .gdap
        .relationships_mut()
        .get_mut(id)
        .ok_or_else(|| format!("no relationship `{id}`"))?;
    if rel["status"] != "approvalPending" {
        return Err(format!(
            "relationship `{id}` is {}, not approvalPending: lock it for approval first",
            rel["status"]
        ));
    }
    let d = rel["duration"].as_str().and_then(days).unwrap_or(730);
    let ts = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    rel["status"] = json!("active");
    rel["customer"] = json!({"tenantId": customer_id, "displayName": customer_name});
    rel["activatedDateTime"] = json!(ts(now));
    let end = Duration::try_days(d)
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(now);
    rel["endDateTime"] = json!(ts(end));
    rel["lastModifiedDateTime"] = json!(ts(now));
    rel["@odata.etag"] = json!(tag);
    if !t.gdap.customers.iter().any(|c| c == &customer_id) {
        t.gdap.customers.push(customer_id);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::days;

    #[test]
    fn durations_read_without_overflow() {
        assert_eq!(days("P730D"), Some(730));
        assert_eq!(days("P2Y"), Some(730));
        assert_eq!(days("P1Y2M3W4D"), Some(365 + 60 + 21 + 4));
        assert_eq!(days("P99999999999999999Y"), None);
        assert_eq!(days("P9223372036854775807D1D"), None);
        assert_eq!(days("P"), None);
        assert_eq!(days("730D"), None);
    }
}
