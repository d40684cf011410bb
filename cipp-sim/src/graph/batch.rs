//! `$batch`: each item is routed like a request of its own (faults included), in order,
//! with `dependsOn` honoured (424 when a dependency failed).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{error, GraphRequest};
use crate::{Reply, Sim};

pub(crate) fn handle(sim: &Sim, req: &GraphRequest<'_>) -> Reply {
    let body: Value = match serde_json::from_slice(req.body) {
        Ok(v) => v,
        Err(e) => return error(400, "BadRequest", &format!("Invalid batch payload: {e}")),
    };
    let Some(items) = body["requests"].as_array() else {
        return error(400, "BadRequest", "Invalid batch payload format.");
    };
    if items.len() > 20 {
        let too_many = "The number of requests in the batch exceeds the limit of 20.";
        return error(400, "BadRequest", too_many);
    }
    let mut seen = Vec::new();
    for it in items {
        let Some(id) = it["id"].as_str() else {
            return error(400, "BadRequest", "Each request in a batch needs an id.");
        };
        if seen.contains(&id.to_ascii_lowercase()) {
            return error(
                400,
                "BadRequest",
                &format!("Batch request ids must be unique: `{id}` repeats."),
            );
        }
        seen.push(id.to_ascii_lowercase());
        if !it["body"].is_null()
            && !it["headers"]
                .as_object()
                .is_some_and(|h| h.keys().any(|k| k.eq_ignore_ascii_case("content-type")))
        {
            return error(
                400,
                "BadRequest",
                &format!("Request {id}: a body needs a Content-Type header."),
            );
        }
    }
    let auth = req.headers.get(http::header::AUTHORIZATION).cloned();
    let mut statuses: BTreeMap<String, u16> = BTreeMap::new();
    let mut responses = Vec::new();
    for it in items {
        let id = it["id"].as_str().unwrap_or_default().to_owned();
        let failed_dep = it["dependsOn"]
            .as_array()
            .map(|d| {
                d.iter().filter_map(Value::as_str).any(|d| {
                    statuses
                        .get(&d.to_ascii_lowercase())
                        .is_none_or(|s| *s >= 400)
                })
            })
            .unwrap_or(false);
        if failed_dep {
            statuses.insert(id.to_ascii_lowercase(), 424);
            responses.push(json!({"id": id, "status": 424, "headers": {},
                "body": {"error": {"code": "", "message": "Failed dependency."}}}));
            continue;
        }
        let url = it["url"].as_str().unwrap_or("/");
        let url = if url.starts_with('/') {
            url.to_owned()
        } else {
            format!("/{url}")
        };
        let mut builder = http::Request::builder()
            .method(it["method"].as_str().unwrap_or("GET"))
            .uri(format!("{}/{}{}", req.origin, req.version, url));
        if let Some(a) = &auth {
            builder = builder.header(http::header::AUTHORIZATION, a.clone());
        }
        if let Some(h) = it["headers"].as_object() {
            for (k, v) in h {
                if let Some(v) = v.as_str() {
                    builder = builder.header(k.as_str(), v);
                }
            }
        }
        let item_body = if it["body"].is_null() {
            bytes::Bytes::new()
        } else {
            bytes::Bytes::from(it["body"].to_string())
        };
        let Ok(item_req) = builder.body(item_body) else {
            statuses.insert(id.to_ascii_lowercase(), 400);
            responses.push(json!({"id": id, "status": 400, "body": {"error": {"code": "BadRequest", "message": "Invalid request in batch."}}}));
            continue;
        };
        let reply = sim.answer(&item_req, true);
        statuses.insert(id.to_ascii_lowercase(), reply.status);
        let headers: serde_json::Map<String, Value> = reply
            .headers
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        let body = if reply.body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&reply.body).unwrap_or(Value::Null)
        };
        responses.push(json!({"id": id, "status": reply.status, "headers": headers, "body": body}));
    }
    Reply::json(200, json!({ "responses": responses }))
}
