//! The webhook sink over real HTTP (wiremock).

use std::sync::Arc;

use cipp_core::{ReqwestTransport, SecretString};
use cipp_scheduler::notify::{
    fingerprint, signature, Event, Notifier, WebhookAuth, WebhookNotifier,
};
use serde_json::json;
use wiremock::matchers::{header, header_exists, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

fn event() -> Event {
    Event {
        schema_version: 1,
        kind: "task.failed".into(),
        source: "cipp-scheduler".into(),
        title: "Offboard leavers: Completed with errors".into(),
        tenants: vec!["contoso.com".into()],
        time: "2026-11-27T09:00:00Z".parse().unwrap(),
        count: 1,
        findings: 0,
        comment: None,
        reference: Some("TICKET-42".into()),
        fingerprint: fingerprint(&["task.failed", "t1", "contoso.com"]),
        payload: json!({"results": []}),
    }
}

#[tokio::test]
async fn signed_authenticated_json_with_retries() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .and(header("authorization", "Bearer hook-token"))
        .and(header("content-type", "application/json"))
        .and(header("x-cipp-event", "task.failed"))
        .and(header_exists("x-cipp-signature"))
        .respond_with(|req: &Request| {
            let expected = signature("shared-secret", &req.body);
            let got = req
                .headers
                .get("x-cipp-signature")
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned();
            if got == expected {
                ResponseTemplate::new(204)
            } else {
                ResponseTemplate::new(401)
            }
        })
        .expect(1)
        .mount(&server)
        .await;
    let hook = WebhookNotifier::new(
        Arc::new(ReqwestTransport::new().unwrap()),
        &format!("{}/hook", server.uri()),
        WebhookAuth::Bearer(SecretString::from("hook-token")),
    )
    .unwrap()
    .signed(SecretString::from("shared-secret"));
    hook.notify(&event()).await.unwrap();
    let body: serde_json::Value =
        serde_json::from_slice(&server.received_requests().await.unwrap()[1].body).unwrap();
    assert_eq!(body["schemaVersion"], 1);
    assert_eq!(body["reference"], "TICKET-42");
    assert!(!format!("{hook:?}").contains("hook-token"));
}

#[tokio::test]
async fn a_refusal_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400))
        .expect(1)
        .mount(&server)
        .await;
    let hook = WebhookNotifier::new(
        Arc::new(ReqwestTransport::new().unwrap()),
        &server.uri(),
        WebhookAuth::None,
    )
    .unwrap();
    let err = hook.notify(&event()).await.unwrap_err();
    assert!(err.to_string().contains("400"));
    assert!(WebhookNotifier::new(
        Arc::new(ReqwestTransport::new().unwrap()),
        "ftp://x",
        WebhookAuth::None
    )
    .is_err());
}

/// HaloPSA (or a proxy in front of it) echoing the request in its error answers: neither
/// the client secret nor the access token reaches the error.
#[tokio::test]
async fn halopsa_errors_echoing_the_request_leak_no_secret() {
    use cipp_scheduler::notify::{HaloPsaNotifier, TicketStrategy};
    let echo = |req: &wiremock::Request| {
        let auth = req
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        ResponseTemplate::new(400).set_body_string(format!(
            "rejected. authorization: {auth}; body: {}",
            String::from_utf8_lossy(&req.body)
        ))
    };
    let make = |uri: &str| {
        HaloPsaNotifier::new(
            Arc::new(ReqwestTransport::new().unwrap()),
            uri,
            "halo-app",
            SecretString::from("Halo~Client.Secret"),
            21,
            1,
            TicketStrategy::Consolidated,
        )
        .unwrap()
    };
    let mut e = event();
    e.payload = json!({"results": [{"tenant": "contoso.com", "outcome": {"status": "failed", "error": "x"}}]});
    // The token endpoint refuses and echoes the form.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/auth/token"))
        .respond_with(echo)
        .mount(&server)
        .await;
    let err = make(&server.uri())
        .notify(&e)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        !err.contains("Halo~Client.Secret") && !err.contains("Halo%7EClient"),
        "{err}"
    );
    assert!(err.contains("[REDACTED]"), "{err}");
    // The ticket endpoint refuses and echoes the bearer token.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/auth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJoYWxvIn0.c2lnbmF0dXJl", "expires_in": 3600}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/Tickets"))
        .respond_with(echo)
        .mount(&server)
        .await;
    let err = make(&server.uri())
        .notify(&e)
        .await
        .unwrap_err()
        .to_string();
    assert!(!err.contains("eyJzdWIiOiJoYWxvIn0"), "{err}");
    assert!(err.contains("[REDACTED]"), "{err}");
}
