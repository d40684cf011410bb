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

#[tokio::test]
async fn halopsa_tickets_consolidated_and_split() {
    use cipp_scheduler::notify::{HaloPsaNotifier, TicketStrategy};
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/auth/token"))
        .and(wiremock::matchers::body_string_contains(
            "grant_type=client_credentials",
        ))
        .and(wiremock::matchers::body_string_contains(
            "client_id=halo-app",
        ))
        .and(wiremock::matchers::body_string_contains("scope=all"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": "halo-token", "token_type": "Bearer", "expires_in": 3600}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/Tickets"))
        .and(header("authorization", "Bearer halo-token"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!([{"id": 1}])))
        .mount(&server)
        .await;
    let mut e = event();
    e.payload = json!({"results": [
        {"tenant": "contoso.com", "outcome": {"status": "failed", "error": "x"}},
        {"tenant": "fabrikam.com", "outcome": {"status": "failed", "error": "y"}}]});
    let make = |strategy| {
        HaloPsaNotifier::new(
            Arc::new(ReqwestTransport::new().unwrap()),
            &server.uri(),
            "halo-app",
            SecretString::from("halo-secret"),
            21,
            1,
            strategy,
        )
        .unwrap()
        .map_tenant("contoso.com", 42)
    };
    make(TicketStrategy::Consolidated).notify(&e).await.unwrap();
    make(TicketStrategy::Split).notify(&e).await.unwrap();
    let tickets: Vec<serde_json::Value> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/api/Tickets")
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(
        tickets[0].as_array().unwrap().len(),
        1,
        "consolidated: one ticket"
    );
    assert_eq!(tickets[0][0]["client_id"], 42);
    assert_eq!(tickets[0][0]["tickettype_id"], 21);
    assert_eq!(
        tickets[1].as_array().unwrap().len(),
        2,
        "split: one per affected item"
    );
    assert_eq!(
        tickets[1][1]["client_id"], 1,
        "unmapped tenant → default client"
    );
    assert!(!tickets[1][0]["summary"].as_str().unwrap().contains("2026"));
}
