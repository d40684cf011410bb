//! GDAP in the partner tenant: relationships with their status lifecycle, ETags that
//! change on every write (412 on a stale `If-Match`), requests, access assignments and
//! operations. The customer's approval is a test hook ([`crate::Simulator::approve_relationship`]).

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use super::{error, list, with_context, GraphRequest};
use crate::state::{synthetic_guid, SimTenant};
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

fn body(req: &GraphRequest<'_>) -> Result<Value, Reply> {
    serde_json::from_slice(req.body).map_err(|e| {
        error(
            400,
            "BadRequest",
            &format!("Unable to read JSON request payload. ({e})"),
        )
    })
}

fn if_match<'a>(req: &'a GraphRequest<'_>) -> Option<&'a str> {
    req.headers
        .get(http::header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
}

fn check_etag(req: &GraphRequest<'_>, current: &Value) -> Result<(), Reply> {
    match if_match(req) {
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

fn find(t: &SimTenant, id: &str) -> Option<usize> {
    t.gdap_relationships
        .iter()
        .position(|r| r["id"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(id)))
}

fn not_found(id: &str) -> Reply {
    error(
        404,
        "ResourceNotFound",
        &format!("The delegated admin relationship '{id}' was not found."),
    )
}

/// Routes `tenantRelationships/delegatedAdminRelationships…`; `None` for other paths.
pub(crate) fn route(sim: &Sim, req: &GraphRequest<'_>) -> Option<Reply> {
    let segs: Vec<String> = req
        .segments
        .iter()
        .map(|s| s.to_ascii_lowercase())
        .collect();
    if segs.len() < 2
        || segs[0] != "tenantrelationships"
        || segs[1] != "delegatedadminrelationships"
    {
        return None;
    }
    let rest: Vec<&str> = req.segments[2..].iter().map(String::as_str).collect();
    let lower: Vec<&str> = segs[2..].iter().map(String::as_str).collect();
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
    let reply = match (m, lower.as_slice()) {
        ("GET", []) => {
            if req
                .q("$top")
                .and_then(|n| n.parse::<u32>().ok())
                .is_some_and(|n| n > 300)
            {
                return Some(error(
                    400,
                    "BadRequest",
                    "The limit of '300' for Top query has been exceeded.",
                ));
            }
            let items = t.gdap_relationships.clone();
            drop(state);
            list(req, items, ENTITY, None)
        }
        ("POST", []) => create(sim, t, req, &now),
        ("GET", [_]) => match find(t, rest[0]) {
            Some(i) => Reply::json(
                200,
                with_context(
                    t.gdap_relationships[i].clone(),
                    "v1.0",
                    &format!("{ENTITY}/$entity"),
                ),
            ),
            None => not_found(rest[0]),
        },
        ("PATCH", [_]) => update(sim, t, req, rest[0]),
        ("POST", [_, "requests"]) => request(sim, t, req, rest[0], &now),
        ("GET", [_, "accessassignments"]) => {
            if find(t, rest[0]).is_none() {
                return Some(not_found(rest[0]));
            }
            let items = settle(t, rest[0]);
            drop(state);
            list(req, items, "accessAssignments", None)
        }
        ("POST", [_, "accessassignments"]) => create_assignment(sim, t, req, rest[0], &now),
        ("GET", [_, "accessassignments", _]) => {
            let items = settle(t, rest[0]);
            match items.into_iter().find(|a| {
                a["id"]
                    .as_str()
                    .is_some_and(|x| x.eq_ignore_ascii_case(rest[2]))
            }) {
                Some(a) => Reply::json(200, a),
                None => error(
                    404,
                    "ResourceNotFound",
                    "The access assignment was not found.",
                ),
            }
        }
        ("PATCH" | "DELETE", [_, "accessassignments", _]) => {
            change_assignment(sim, t, req, rest[0], rest[2], &now)
        }
        ("GET", [_, "operations"]) => {
            if find(t, rest[0]).is_none() {
                return Some(not_found(rest[0]));
            }
            let items = t
                .gdap_operations
                .get(&rest[0].to_ascii_lowercase())
                .cloned()
                .unwrap_or_default();
            drop(state);
            list(req, items, "operations", None)
        }
        _ => error(400, "BadRequest", "Resource not found for the segment."),
    };
    Some(reply)
}

/// Assignments are provisioned asynchronously: `pending` when created, `active` when
/// next read.
fn settle(t: &mut SimTenant, rel: &str) -> Vec<Value> {
    let list = t
        .gdap_assignments
        .entry(rel.to_ascii_lowercase())
        .or_default();
    for a in list.iter_mut() {
        if a["status"] == "pending" {
            a["status"] = json!("active");
        }
    }
    list.clone()
}

fn create(sim: &Sim, t: &mut SimTenant, req: &GraphRequest<'_>, now: &str) -> Reply {
    let b = match body(req) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let name = b["displayName"].as_str().unwrap_or("");
    if name.is_empty() || name.chars().count() > 50 {
        return error(
            400,
            "BadRequest",
            "The displayName must be between 1 and 50 characters.",
        );
    }
    if t.gdap_relationships
        .iter()
        .any(|r| r["displayName"].as_str() == Some(name))
    {
        return error(
            409,
            "Conflict",
            &format!("A delegated admin relationship with display name '{name}' already exists."),
        );
    }
    let duration = b["duration"].as_str().unwrap_or("");
    if !days(duration).is_some_and(|d| (1..=730).contains(&d)) {
        return error(
            400,
            "BadRequest",
            "The duration must be between P1D and P2Y.",
        );
    }
    let roles = roles_of(&b);
    if roles.is_empty() {
        return error(
            400,
            "BadRequest",
            "At least one role is required in accessDetails.",
        );
    }
    let auto = b["autoExtendDuration"]
        .as_str()
        .unwrap_or("PT0S")
        .to_owned();
    if roles.iter().any(|r| r == GLOBAL_ADMIN) && auto != "PT0S" && auto != "P0D" {
        return error(
            400,
            "BadRequest",
            "Relationships that include the Global Administrator role cannot be auto-extended.",
        );
    }
    let id = synthetic_guid(&format!("gdap{}{}", t.id, sim.next_n()));
    let rel = json!({
        "@odata.type": "#microsoft.graph.delegatedAdminRelationship",
        "@odata.etag": etag(sim),
        "id": id,
        "displayName": name,
        "duration": duration,
        "customer": b.get("customer").cloned().unwrap_or(Value::Null),
        "accessDetails": b["accessDetails"],
        "status": "created",
        "autoExtendDuration": auto,
        "createdDateTime": now,
        "lastModifiedDateTime": now,
        "activatedDateTime": "",
        "endDateTime": ""
    });
    t.gdap_relationships.push(rel.clone());
    let mut reply = Reply::json(201, with_context(rel, "v1.0", &format!("{ENTITY}/$entity")));
    reply.headers.push((
        "location",
        format!(
            "https://graph.microsoft.com/v1.0/tenantRelationships/delegatedAdminRelationships/{id}"
        ),
    ));
    reply
}

fn update(sim: &Sim, t: &mut SimTenant, req: &GraphRequest<'_>, id: &str) -> Reply {
    let Some(i) = find(t, id) else {
        return not_found(id);
    };
    if let Err(r) = check_etag(req, &t.gdap_relationships[i]) {
        return r;
    }
    let b = match body(req) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let rel = &mut t.gdap_relationships[i];
    let status = rel["status"].as_str().unwrap_or("").to_owned();
    let Some(obj) = b.as_object() else {
        return error(400, "BadRequest", "Empty Payload. JSON content expected.");
    };
    for (k, v) in obj {
        let allowed = match (status.as_str(), k.as_str()) {
            ("created", _) => true,
            ("active", "autoExtendDuration") => true,
            ("active", "accessDetails") => {
                let old = roles_of(rel);
                let new = roles_of(&json!({"accessDetails": v}));
                old.contains(&GLOBAL_ADMIN.to_owned())
                    && !new.contains(&GLOBAL_ADMIN.to_owned())
                    && new.iter().all(|r| old.contains(r))
                    && new.len() + 1 == old.len()
            }
            _ => false,
        };
        if !allowed {
            return error(
                400,
                "BadRequest",
                &format!(
                    "The property '{k}' cannot be updated while the relationship is '{status}'."
                ),
            );
        }
    }
    for (k, v) in obj {
        rel[k.as_str()] = v.clone();
    }
    if roles_of(rel).iter().any(|r| r == GLOBAL_ADMIN) && rel["autoExtendDuration"] == "P180D" {
        return error(
            400,
            "BadRequest",
            "Relationships that include the Global Administrator role cannot be auto-extended.",
        );
    }
    rel["@odata.etag"] = json!(etag(sim));
    rel["lastModifiedDateTime"] = json!(req.now);
    Reply::json(200, rel.clone())
}

fn request(sim: &Sim, t: &mut SimTenant, req: &GraphRequest<'_>, id: &str, now: &str) -> Reply {
    let Some(i) = find(t, id) else {
        return not_found(id);
    };
    let b = match body(req) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let action = b["action"].as_str().unwrap_or("").to_owned();
    let rel = &mut t.gdap_relationships[i];
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
    rel["@odata.etag"] = json!(etag(sim));
    rel["lastModifiedDateTime"] = json!(now);
    if next == "terminated" {
        rel["endDateTime"] = json!(now);
    }
    let rid = synthetic_guid(&format!("req{}", sim.next_n()));
    Reply::json(
        201,
        json!({"id": rid, "action": action, "status": "created", "createdDateTime": now, "lastModifiedDateTime": now}),
    )
}

fn create_assignment(
    sim: &Sim,
    t: &mut SimTenant,
    req: &GraphRequest<'_>,
    id: &str,
    now: &str,
) -> Reply {
    let Some(i) = find(t, id) else {
        return not_found(id);
    };
    let b = match body(req) {
        Ok(b) => b,
        Err(r) => return r,
    };
    if t.gdap_relationships[i]["status"] != "active" {
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
    if !t.groups.iter().any(|g| {
        g["id"]
            .as_str()
            .is_some_and(|x| x.eq_ignore_ascii_case(&group))
    }) {
        return error(
            400,
            "BadRequest",
            &format!("The security group '{group}' was not found in the partner tenant."),
        );
    }
    let granted = roles_of(&t.gdap_relationships[i]);
    let wanted = roles_of(&b);
    if wanted.is_empty() || wanted.iter().any(|r| !granted.contains(r)) {
        return error(
            400,
            "BadRequest",
            "The roles of an access assignment must be a subset of the relationship's roles.",
        );
    }
    let key = id.to_ascii_lowercase();
    let list = t.gdap_assignments.entry(key).or_default();
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
    let a = json!({
        "@odata.etag": etag(sim),
        "id": synthetic_guid(&format!("aa{}", sim.next_n())),
        "status": "pending",
        "accessContainer": {"accessContainerId": group, "accessContainerType": "securityGroup"},
        "accessDetails": b["accessDetails"],
        "createdDateTime": now,
        "lastModifiedDateTime": now
    });
    list.push(a.clone());
    Reply::json(201, a)
}

fn change_assignment(
    sim: &Sim,
    t: &mut SimTenant,
    req: &GraphRequest<'_>,
    rel: &str,
    aid: &str,
    now: &str,
) -> Reply {
    let Some(i) = find(t, rel) else {
        return not_found(rel);
    };
    let granted = roles_of(&t.gdap_relationships[i]);
    let key = rel.to_ascii_lowercase();
    let list = t.gdap_assignments.entry(key.clone()).or_default();
    let Some(j) = list.iter().position(|a| {
        a["id"]
            .as_str()
            .is_some_and(|x| x.eq_ignore_ascii_case(aid))
    }) else {
        return error(
            404,
            "ResourceNotFound",
            "The access assignment was not found.",
        );
    };
    if let Err(r) = check_etag(req, &list[j]) {
        return r;
    }
    if req.method == http::Method::DELETE {
        list.remove(j);
        return Reply::empty(204);
    }
    let b = match body(req) {
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
    list[j]["accessDetails"] = b["accessDetails"].clone();
    list[j]["@odata.etag"] = json!(etag(sim));
    list[j]["lastModifiedDateTime"] = json!(now);
    let a = list[j].clone();
    t.gdap_operations.entry(key).or_default().push(json!({
        "@odata.type": "#microsoft.graph.delegatedAdminRelationshipOperation",
        "@odata.etag": etag(sim),
        "id": synthetic_guid(&format!("op{}", sim.next_n())),
        "operationType": "delegatedAdminAccessAssignmentUpdate",
        "data": json!({"id": a["id"], "accessDetails": a["accessDetails"]}).to_string(),
        "status": "succeeded",
        "createdDateTime": now,
        "lastModifiedDateTime": now
    }));
    Reply::json(200, a)
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
    let i = find(t, id).ok_or_else(|| format!("no relationship `{id}`"))?;
    let tag = etag(sim);
    let rel = &mut t.gdap_relationships[i];
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
    if !t.customers.iter().any(|c| c == &customer_id) {
        t.customers.push(customer_id);
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
