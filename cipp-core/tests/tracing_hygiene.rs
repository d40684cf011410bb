//! Traces name the tenant, path and request id, never the query string or the token.
//! Alone in its test binary: tracing's per-callsite interest cache is process-wide, so
//! other tests running at the same time without a subscriber could hide these events.

mod common;

use std::sync::Arc;

use cipp_core::test_util::{MockResponse, MockTransport};
use cipp_core::{Credentials, Pipeline, SecretString};
use common::{graph_get, traced};

#[test]
fn traces_name_tenant_and_path_but_never_query_or_token() {
    let out = traced(|rt| {
        rt.block_on(async {
            let mock = Arc::new(MockTransport::new());
            mock.on(
                "GET",
                "/v1.0/users",
                MockResponse::json(200, &serde_json::json!({"value": []}))
                    .with_header("request-id", "rid-77"),
            );
            let p = Pipeline::builder()
                .transport(mock)
                .credentials(Credentials::StaticToken(SecretString::from(
                    "eyJ0eXAiOi.secret-token",
                )))
                .build()
                .unwrap();
            let req = graph_get("contoso.onmicrosoft.com", "/v1.0/users")
                .query("$filter", "displayName eq 'Jane Secretperson'");
            p.send(req).await.unwrap();
        })
    });
    assert!(out.contains("contoso.onmicrosoft.com"), "{out}");
    assert!(out.contains("/v1.0/users"), "{out}");
    assert!(out.contains("rid-77"), "request id recorded: {out}");
    assert!(
        !out.contains("Secretperson") && !out.contains("filter"),
        "query leaked: {out}"
    );
    assert!(
        !out.contains("secret-token") && !out.contains("eyJ"),
        "token leaked: {out}"
    );
}
