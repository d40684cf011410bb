//! GDAP in the partner tenant: relationships with their status lifecycle, ETags that
//! change on every write (412 on a stale `If-Match`), requests, access assignments and
//! operations. The customer's approval is a test hook ([`crate::Simulator::approve_relationship`]).

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Map, Value};

use super::collection::{check_etag, etag, Hooks, Op, Resource, UpdateReply};
use super::{error, id_of, list, routes, Answer, Ctx, Params, Route};
use crate::state::{paths, synthetic_guid, Area};
use crate::{Reply, Sim};

const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";
const ENTITY: &str = "tenantRelationships/delegatedAdminRelationships";

/// Days in an ISO 8601 date duration (`P730D`, `P2Y`).
pub(crate) fn days(d: &str) -> Option<i64> {
    /// Days per unit (a year is 365 days and a month 30, as GDAP counts them).
    fn unit_days(unit: char) -> Option<i64> {
        [('Y', 365), ('M', 30), ('W', 7), ('D', 1)]
            .into_iter()
            .find_map(|(u, days)| (u == unit).then_some(days))
    }
    let rest = d.strip_prefix('P')?;
    let mut total = 0i64;
    let mut left = rest;
    // Each part is a number and its unit; trailing digits without a unit refuse the value.
    while !left.is_empty() {
        let (number, tail) = left.split_at(left.find(|c: char| !c.is_ascii_digit())?);
        let mut tail = tail.chars();
        let unit = tail.next()?;
        let v: i64 = number.parse().ok()?;
        total = total.checked_add(v.checked_mul(unit_days(unit)?)?)?;
        left = tail.as_str();
    }
    (!rest.is_empty()).then_some(total)
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
    ops: &[Op::List, Op::Get, Op::Create, Op::Update],
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
        let refused =
            "Relationships that include the Global Administrator role cannot be auto-extended.";
        return Err(error(400, "BadRequest", refused));
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
        let refused =
            "Relationships that include the Global Administrator role cannot be auto-extended.";
        return Err(error(400, "BadRequest", refused));
    }
    Ok(())
}

pub(crate) const ROUTES: &[Route] = routes![
    POST "tenantrelationships/delegatedadminrelationships/{id}/requests" => request,
    GET "tenantrelationships/delegatedadminrelationships/{id}/accessassignments" => list_assignments,
    POST "tenantrelationships/delegatedadminrelationships/{id}/accessassignments" => create_assignment,
    GET "tenantrelationships/delegatedadminrelationships/{id}/accessassignments/{a}" => get_assignment,
    PATCH "tenantrelationships/delegatedadminrelationships/{id}/accessassignments/{a}" => change_assignment,
    DELETE "tenantrelationships/delegatedadminrelationships/{id}/accessassignments/{a}" => change_assignment,
    GET "tenantrelationships/delegatedadminrelationships/{id}/operations" => list_operations,
];

/// The relationship `id` names, or its 404.
fn relationship<'a>(ctx: &'a mut Ctx<'_, '_>, id: &str) -> Result<&'a mut Value, Reply> {
    ctx.t
        .gdap
        .store
        .get_mut(paths::GDAP_RELATIONSHIPS)
        .get_mut(id)
        .ok_or_else(|| not_found(id))
}

fn assignment_not_found() -> Reply {
    error(
        404,
        "ResourceNotFound",
        "The access assignment was not found.",
    )
}

/// The roles an assignment body asks for, a non-empty subset of `granted`, or a 400.
fn check_roles(b: &Value, granted: &[String]) -> Result<(), Reply> {
    let wanted = roles_of(b);
    if wanted.is_empty() || wanted.iter().any(|r| !granted.contains(r)) {
        return Err(error(
            400,
            "BadRequest",
            "The roles of an access assignment must be a subset of the relationship's roles.",
        ));
    }
    Ok(())
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

fn request(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let b = ctx.req.json()?;
    let (now, tag) = (ctx.req.now.clone(), etag(ctx.sim));
    let rid = synthetic_guid(&format!("req{}", ctx.sim.next_n()));
    let rel = relationship(ctx, p.get(0))?;
    let action = b["action"].as_str().unwrap_or("").to_owned();
    let status = rel["status"].as_str().unwrap_or("").to_owned();
    let next = match (action.as_str(), status.as_str()) {
        ("lockForApproval", "created") => "approvalPending",
        ("terminate", "active" | "approvalPending") => "terminated",
        _ => {
            return Err(error(
                400,
                "BadRequest",
                &format!(
                    "The action '{action}' is not allowed while the relationship is '{status}'."
                ),
            ))
        }
    };
    rel["status"] = json!(next);
    rel["@odata.etag"] = json!(tag);
    rel["lastModifiedDateTime"] = json!(now);
    if next == "terminated" {
        rel["endDateTime"] = json!(now);
    }
    Ok(Reply::json(
        201,
        json!({"id": rid, "action": action, "status": "created", "createdDateTime": now, "lastModifiedDateTime": now}),
    ))
}

fn list_assignments(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    relationship(ctx, p.get(0))?;
    let items = settle(ctx, p.get(0));
    Ok(list(ctx.req, items, "accessAssignments", None))
}

fn get_assignment(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let items = settle(ctx, p.get(0));
    let a = items
        .into_iter()
        .find(|a| {
            a["id"]
                .as_str()
                .is_some_and(|x| x.eq_ignore_ascii_case(p.get(1)))
        })
        .ok_or_else(assignment_not_found)?;
    Ok(Reply::json(200, a))
}

fn create_assignment(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let id = p.get(0);
    let rel = relationship(ctx, id)?.clone();
    let b = ctx.req.json()?;
    if rel["status"] != "active" {
        return Err(error(
            400,
            "BadRequest",
            "Access assignments can only be created on active relationships.",
        ));
    }
    let group = b["accessContainer"]["accessContainerId"]
        .as_str()
        .unwrap_or("")
        .to_ascii_lowercase();
    if ctx.t.directory.group(&group).is_none() {
        return Err(error(
            400,
            "BadRequest",
            &format!("The security group '{group}' was not found in the partner tenant."),
        ));
    }
    check_roles(&b, &roles_of(&rel))?;
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
        return Err(error(
            409,
            "Conflict",
            "An access assignment for this security group already exists.",
        ));
    }
    list.push(a.clone());
    Ok(Reply::json(201, a))
}

fn change_assignment(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let (rel, aid) = (p.get(0), p.get(1));
    let granted = roles_of(relationship(ctx, rel)?);
    let key = rel.to_ascii_lowercase();
    let j = ctx
        .t
        .gdap
        .assignments
        .get(&key)
        .and_then(|l| {
            l.iter().position(|a| {
                a["id"]
                    .as_str()
                    .is_some_and(|x| x.eq_ignore_ascii_case(aid))
            })
        })
        .ok_or_else(assignment_not_found)?;
    let current = ctx.t.gdap.assignments[&key][j].clone();
    check_etag(ctx, &current)?;
    let now = ctx.req.now.clone();
    if ctx.req.method == http::Method::DELETE {
        if let Some(l) = ctx.t.gdap.assignments.get_mut(&key) {
            l.remove(j);
        }
        return Ok(Reply::empty(204));
    }
    let b = ctx.req.json()?;
    check_roles(&b, &granted)?;
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
    Ok(Reply::json(200, a))
}

fn list_operations(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    relationship(ctx, p.get(0))?;
    let id = p.get(0).to_ascii_lowercase();
    let items = ctx.t.gdap.operations.get(&id).cloned().unwrap_or_default();
    Ok(list(ctx.req, items, "operations", None))
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
