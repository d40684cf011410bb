//! The Purview audit log query API (`security/auditLog/queries`), answered from the
//! tenant's unified audit log (the records `Search-UnifiedAuditLog` serves, which every
//! simulated write adds to): a query is `notStarted` when created, `running` when first
//! read, `succeeded` after; its records are the unified records in its window that match
//! its filters, as `auditLogRecord`s, paged.

use serde_json::{json, Map, Value};

use super::{error, list_with, routes, Answer, Ctx, Paging, Params, Route};
use crate::state::synthetic_guid;
use crate::Reply;

pub(crate) const ROUTES: &[Route] = routes![
    POST "security/auditlog/queries" => create,
    GET "security/auditlog/queries/{id}" => get,
    GET "security/auditlog/queries/{id}/records" => records,
];

fn query_not_found(id: &str) -> Reply {
    error(
        404,
        "NotFound",
        &format!("The audit log query '{id}' was not found."),
    )
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_ascii_lowercase)
                .collect()
        })
        .unwrap_or_default()
}

fn create(ctx: &mut Ctx<'_, '_>, _: &Params) -> Answer {
    let body: Map<String, Value> = ctx.req.object()?;
    let time = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
    };
    let (Some(start), Some(end)) = (time("filterStartDateTime"), time("filterEndDateTime")) else {
        return Err(error(
            400,
            "BadRequest",
            "filterStartDateTime and filterEndDateTime are required.",
        ));
    };
    if end <= start {
        return Err(error(
            400,
            "BadRequest",
            "filterEndDateTime must be after filterStartDateTime.",
        ));
    }
    let id = synthetic_guid(&format!("{}-auditquery-{}", ctx.t.id, ctx.sim.next_n()));
    let mut q = body.clone();
    q.insert("id".into(), json!(id));
    q.insert("status".into(), json!("notStarted"));
    q.insert("reads".into(), json!(0));
    ctx.t.logs.audit_queries.push(Value::Object(q.clone()));
    q.remove("reads");
    q.insert(
        "@odata.context".into(),
        json!("https://graph.microsoft.com/beta/$metadata#security/auditLog/queries/$entity"),
    );
    Ok(Reply::json(201, Value::Object(q)))
}

fn get(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let id = p.get(0);
    let q = ctx
        .t
        .logs
        .audit_queries
        .iter_mut()
        .find(|q| q["id"].as_str() == Some(id))
        .ok_or_else(|| query_not_found(id))?;
    let reads = q["reads"].as_u64().unwrap_or(0) + 1;
    q["reads"] = json!(reads);
    q["status"] = json!(if reads == 1 { "running" } else { "succeeded" });
    let mut out = q.clone();
    if let Some(m) = out.as_object_mut() {
        m.remove("reads");
    }
    Ok(Reply::json(200, out))
}

/// `ExchangeAdmin` → `exchangeAdmin`.
fn lower_camel(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_ascii_lowercase().to_string() + c.as_str(),
        None => String::new(),
    }
}

fn records(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let id = p.get(0);
    let q = ctx
        .t
        .logs
        .audit_queries
        .iter()
        .find(|q| q["id"].as_str() == Some(id))
        .cloned()
        .ok_or_else(|| query_not_found(id))?;
    if q["status"] != "succeeded" {
        return Err(error(
            400,
            "BadRequest",
            "The audit log query has not completed yet; read its status until it has succeeded.",
        ));
    }
    let time = |v: &Value| {
        v.as_str()
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
    };
    let (start, end) = (
        time(&q["filterStartDateTime"]),
        time(&q["filterEndDateTime"]),
    );
    let types = strings(q.get("recordTypeFilters"));
    let ops = strings(q.get("operationFilters"));
    let users = strings(q.get("userPrincipalNameFilters"));
    let items: Vec<Value> = ctx
        .t
        .exchange
        .audit_records
        .iter()
        .filter(|r| {
            let at = time(&r["CreationDate"]);
            start.is_some_and(|s| at.is_some_and(|a| a >= s))
                && end.is_some_and(|e| at.is_some_and(|a| a < e))
        })
        .filter(|r| {
            types.is_empty()
                || r["RecordType"]
                    .as_str()
                    .is_some_and(|t| types.contains(&t.to_ascii_lowercase()))
        })
        .filter(|r| {
            ops.is_empty()
                || r["Operations"]
                    .as_str()
                    .is_some_and(|o| ops.contains(&o.to_ascii_lowercase()))
        })
        .filter(|r| {
            users.is_empty()
                || r["UserIds"]
                    .as_str()
                    .is_some_and(|u| users.contains(&u.to_ascii_lowercase()))
        })
        .map(|r| {
            let data: Value = r["AuditData"]
                .as_str()
                .and_then(|s| serde_json::from_str(s).ok())
                .unwrap_or_else(|| json!({}));
            json!({
                "@odata.type": "#microsoft.graph.security.auditLogRecord",
                "id": data["Id"].as_str().or(r["Identity"].as_str()).unwrap_or_default(),
                "createdDateTime": r["CreationDate"],
                "auditLogRecordType": lower_camel(r["RecordType"].as_str().unwrap_or_default()),
                "operation": r["Operations"],
                "organizationId": data["OrganizationId"],
                "userType": "regular",
                "userId": r["UserIds"],
                "service": data["Workload"],
                "objectId": data["ObjectId"],
                "userPrincipalName": r["UserIds"],
                "clientIp": data["ClientIP"],
                "administrativeUnits": [],
                "auditData": data,
            })
        })
        .collect();
    Ok(list_with(
        ctx.req,
        items,
        "security/auditLog/queries/records",
        None,
        Paging::LOGS,
    ))
}
