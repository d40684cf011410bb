//! Shared helpers for the wiremock tests.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use cipp_core::{
    Credentials, Endpoints, Pipeline, ReqwestTransport, RetryPolicy, SecretString, TenantId,
};
use cipp_graph::GraphClient;
use wiremock::{MockServer, ResponseTemplate};

pub fn tenant() -> TenantId {
    TenantId::parse("contoso.onmicrosoft.com").unwrap()
}

pub fn client_for(server: &MockServer) -> GraphClient {
    GraphClient::new(
        Pipeline::builder()
            .transport(Arc::new(ReqwestTransport::new().unwrap()))
            .endpoints(Endpoints::single_base(&server.uri()))
            .credentials(Credentials::StaticToken(SecretString::from("test-token")))
            .retry(RetryPolicy {
                base_delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(5),
                ..RetryPolicy::default()
            })
            .build()
            .unwrap(),
    )
}

pub async fn client() -> (MockServer, GraphClient) {
    let server = MockServer::start().await;
    let c = client_for(&server);
    (server, c)
}

pub fn graph_error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(serde_json::json!({"error": {
        "code": code, "message": message,
        "innerError": {"date": "2026-11-27T10:00:00", "request-id": "rid-1", "client-request-id": "crid-1"}
    }}))
}

/// The JSON body of the last request received for a method and path.
pub async fn received(server: &MockServer, method: &str, path: &str) -> serde_json::Value {
    let reqs = server.received_requests().await.unwrap();
    let r = reqs
        .iter()
        .rev()
        .find(|r| r.method.as_str() == method && r.url.path() == path)
        .unwrap_or_else(|| panic!("no {method} {path}"));
    serde_json::from_slice(&r.body).unwrap_or(serde_json::Value::Null)
}
