//! Spans hold what they should: paths without personal data by default, and a token
//! request's span only around its own work (not around other tasks' events while it
//! waits). Alone in its test binary, like `tracing_hygiene`: tracing's callsite interest
//! cache is process-wide.

mod common;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use cipp_core::test_util::{FakeTokenProvider, MockResponse, MockTransport};
use cipp_core::{
    Credentials, Endpoints, HttpRequest, HttpResponse, Pipeline, SecretString, Transport,
    TransportError,
};
use common::{graph_get, traced};

#[test]
fn paths_hold_placeholders_unless_personal_data_is_allowed() {
    let run = |personal: bool| {
        traced(|rt| {
            rt.block_on(async {
                let mock = Arc::new(MockTransport::new());
                mock.on(
                    "GET",
                    "/v1.0/users/adele.vance@contoso.com/memberOf",
                    MockResponse::json(200, &serde_json::json!({"value": []})),
                );
                let p = Pipeline::builder()
                    .transport(mock)
                    .credentials(Credentials::Provider(Arc::new(FakeTokenProvider::new())))
                    .log_personal_data(personal)
                    .build()
                    .unwrap();
                p.send(graph_get(
                    "contoso.com",
                    "/v1.0/users/adele.vance@contoso.com/memberOf",
                ))
                .await
                .unwrap();
            })
        })
    };
    let default = run(false);
    assert!(default.contains("/v1.0/users/{upn}/memberOf"), "{default}");
    assert!(!default.contains("adele.vance"), "{default}");
    let allowed = run(true);
    assert!(allowed.contains("adele.vance@contoso.com"), "{allowed}");
}

/// A token endpoint that takes a while to answer.
struct SlowTokens;

#[async_trait]
impl Transport for SlowTokens {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let body = if request.uri().path().ends_with("/token") {
            serde_json::json!({"access_token": "t", "expires_in": 3599}).to_string()
        } else {
            serde_json::json!({"value": []}).to_string()
        };
        Ok(http::Response::builder()
            .status(200)
            .body(bytes::Bytes::from(body))
            .unwrap())
    }
}

#[test]
fn other_tasks_events_do_not_land_in_a_pending_token_request_span() {
    let out = traced(|rt| {
        rt.block_on(async {
            let p = Pipeline::builder()
                .transport(Arc::new(SlowTokens))
                .endpoints(Endpoints::single_base("https://mock.test"))
                .credentials(Credentials::ClientSecret {
                    client_id: "app".into(),
                    secret: SecretString::from("s"),
                })
                .build()
                .unwrap();
            let call = p.send(graph_get("tenant-a.com", "/v1.0/organization"));
            let other = async {
                tokio::time::sleep(Duration::from_millis(5)).await;
                tracing::info!("event-of-another-task");
            };
            let (r, ()) = tokio::join!(call, other);
            r.unwrap();
        })
    });
    let line = out
        .lines()
        .find(|l| l.contains("event-of-another-task"))
        .unwrap_or_else(|| panic!("event missing: {out}"));
    assert!(!line.contains("token_request"), "{line}");
    assert!(out.contains("token_request"), "token span missing: {out}");
}
