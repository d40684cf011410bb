//! What the simulator's integration tests share: tenants by name, pipelines over the
//! simulator and Graph requests in one call.

#![allow(dead_code)]

use std::sync::Arc;

use cipp_core::{ApiRequest, Audience, Credentials, Error, Pipeline, RetryPolicy, TenantId};
use cipp_sim::Simulator;
use serde_json::Value;

pub fn t(s: &str) -> TenantId {
    TenantId::parse(s).unwrap()
}

/// A pipeline over `sim` with these credentials and retry policy.
pub fn pipeline_with(sim: &Simulator, credentials: Credentials, retry: RetryPolicy) -> Pipeline {
    Pipeline::builder()
        .transport(Arc::new(sim.clone()))
        .credentials(credentials)
        .retry(retry)
        .build()
        .unwrap()
}

/// Retries without jitter, so that paused-time tests know their delays.
pub fn no_jitter() -> RetryPolicy {
    RetryPolicy {
        jitter: false,
        ..RetryPolicy::default()
    }
}

/// A Graph `GET` on `tenant`.
pub fn graph_get(tenant: &str, path: impl Into<String>) -> ApiRequest {
    ApiRequest::get(t(tenant), Audience::Graph, path)
}

/// The JSON a Graph `GET` answers.
pub async fn get(p: &Pipeline, tenant: &str, path: &str) -> Value {
    p.send_json(graph_get(tenant, path)).await.unwrap()
}

/// The error a Graph `GET` answers.
pub async fn get_err(p: &Pipeline, tenant: &str, path: &str) -> Error {
    p.send(graph_get(tenant, path)).await.unwrap_err()
}

/// The request with `ConsistencyLevel: eventual` (advanced directory queries).
pub fn eventual(r: ApiRequest) -> ApiRequest {
    r.header(
        http::HeaderName::from_static("consistencylevel"),
        http::HeaderValue::from_static("eventual"),
    )
}

/// Graph and Exchange requests for one tenant through one pipeline.
pub struct Client<'a> {
    pub p: &'a Pipeline,
    pub tenant: &'a str,
}

impl<'a> Client<'a> {
    /// Requests for `tenant` through `p`.
    pub fn new(p: &'a Pipeline, tenant: &'a str) -> Self {
        Client { p, tenant }
    }

    /// The JSON a `GET` answers.
    pub async fn get(&self, path: &str) -> Value {
        get(self.p, self.tenant, path).await
    }

    /// The error a `GET` answers.
    pub async fn get_err(&self, path: &str) -> Error {
        get_err(self.p, self.tenant, path).await
    }

    /// Checks the first item of listings: each row is `(path, field, expected value)`.
    pub async fn assert_first_items(&self, rows: &[(&str, &str, &str)]) {
        for (path, field, expected) in rows {
            let page = self.get(path).await;
            assert_eq!(page["value"][0][*field], *expected, "{path}");
        }
    }

    /// The JSON an Exchange cmdlet answers.
    pub async fn cmdlet(&self, name: &str, params: Value) -> Value {
        self.p
            .send_json(exo(self.tenant, name, params))
            .await
            .unwrap()
    }
}

/// The text of `field` in every object of the JSON array `items`.
pub fn strings<'v>(items: &'v Value, field: &str) -> Vec<&'v str> {
    let items = items.as_array().unwrap();
    items.iter().map(|o| o[field].as_str().unwrap()).collect()
}

/// An Exchange admin API cmdlet call on `tenant`.
pub fn exo(tenant: &str, cmdlet: &str, params: Value) -> ApiRequest {
    ApiRequest::post(
        t(tenant),
        Audience::Exchange,
        format!("/adminapi/beta/{tenant}/InvokeCommand"),
    )
    .json(&serde_json::json!({"CmdletInput": {"CmdletName": cmdlet, "Parameters": params}}))
    .unwrap()
}
