//! Faults and hostile values: writes are not resent after an ambiguous failure, secrets
//! never reach an error, absurd numbers do not panic, waits obey the budget, and a dead
//! credential costs one token request.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use cipp_core::test_util::{FakeTokenProvider, MockResponse, MockTransport};
use cipp_core::{
    ApiRequest, Audience, Credentials, Error, HttpRequest, HttpResponse, Pipeline, RequestSent,
    SecretString, Transport, TransportError, TransportErrorKind,
};
use common::{
    burst, empty_list, empty_page, first, json, no_jitter, on, scripted, serve, wire_pipeline,
};
use tokio::time::Instant;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const TENANT: &str = "contoso.com";
const USERS: &str = "/v1.0/users";

fn tenant() -> cipp_core::TenantId {
    common::tenant_id(TENANT)
}

fn get(p: &str) -> ApiRequest {
    common::graph_get(TENANT, p)
}

fn pipeline(mock: &Arc<MockTransport>) -> Pipeline {
    common::mock_pipeline(mock, no_jitter(Duration::from_millis(100)))
}

fn create_user() -> ApiRequest {
    ApiRequest::post(tenant(), Audience::Graph, USERS)
        .operation("create user")
        .json(
            &serde_json::json!({"displayName": "Adele", "userPrincipalName": "adele@contoso.com"}),
        )
        .unwrap()
}

fn gateway(status: u16) -> MockResponse {
    MockResponse::json(
        status,
        &serde_json::json!({"error": {"code": "UnknownError", "message": "gateway"}}),
    )
}

#[tokio::test(start_paused = true)]
async fn post_answered_5xx_is_sent_once_and_says_the_outcome_is_unknown() {
    for status in [500u16, 502, 503, 504] {
        let mock = scripted([("POST", USERS, gateway(status))]);
        let err = pipeline(&mock).send(create_user()).await.unwrap_err();
        assert_eq!(mock.requests().len(), 1, "{status} resent a POST");
        assert!(err.outcome_unknown(), "{status}: {err}");
        let api = err.as_api().unwrap();
        assert_eq!(api.sent, Some(RequestSent::Maybe));
        let text = err.to_string();
        for part in ["create user", "not resent", "read the object back"] {
            assert!(text.contains(part), "{status}: {part} missing from {text}");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn post_is_resent_when_the_service_said_it_did_not_act() {
    let mock = scripted([
        ("POST", USERS, gateway(429).with_header("retry-after", "1")),
        ("POST", USERS, gateway(503).with_header("retry-after", "2")),
        (
            "POST",
            USERS,
            MockResponse::json(201, &serde_json::json!({"id": "u1"})),
        ),
    ]);
    let start = Instant::now();
    let r = pipeline(&mock).send(create_user()).await.unwrap();
    assert_eq!(r.status.as_u16(), 201);
    assert_eq!(mock.requests().len(), 3);
    assert!(start.elapsed() >= Duration::from_secs(3));
}

#[tokio::test(start_paused = true)]
async fn a_write_declared_idempotent_keeps_its_retries() {
    let mock = scripted([
        ("PATCH", "/v1.0/users/u1", gateway(504)),
        ("PATCH", "/v1.0/users/u1", MockResponse::status(204)),
    ]);
    let req = ApiRequest::patch(tenant(), Audience::Graph, "/v1.0/users/u1")
        .json(&serde_json::json!({"accountEnabled": false}))
        .unwrap()
        .idempotent(true);
    pipeline(&mock).send(req).await.unwrap();
    assert_eq!(mock.requests().len(), 2);
    // A GET keeps retrying 504s as before.
    let mock = scripted([("GET", USERS, gateway(504)), ("GET", USERS, empty_list())]);
    pipeline(&mock).send(get(USERS)).await.unwrap();
    assert_eq!(mock.requests().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn timed_out_post_is_not_resent_and_says_what_to_check() {
    let timeout = MockResponse::fail(TransportErrorKind::Timeout, RequestSent::Maybe);
    let mock = scripted([("POST", USERS, timeout)]);
    let err = pipeline(&mock).send(create_user()).await.unwrap_err();
    assert_eq!(mock.requests().len(), 1);
    assert!(err.outcome_unknown());
    let text = err.to_string();
    assert!(
        text.contains("contoso.com") && text.contains("create user") && text.contains("not resent"),
        "{text}"
    );
}

/// A transport that never answers.
struct Hang(AtomicUsize);

#[async_trait]
impl Transport for Hang {
    async fn send(&self, _: HttpRequest) -> Result<HttpResponse, TransportError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        futures::future::pending().await
    }
}

#[tokio::test(start_paused = true)]
async fn a_hung_call_ends_at_its_deadline() {
    let hang = Arc::new(Hang(AtomicUsize::new(0)));
    let p = Pipeline::builder()
        .transport(hang.clone())
        .credentials(Credentials::Provider(Arc::new(FakeTokenProvider::new())))
        .deadline(Duration::from_secs(30))
        .build()
        .unwrap();
    let start = Instant::now();
    let err = p.send(get(USERS)).await.unwrap_err();
    assert_eq!(start.elapsed(), Duration::from_secs(30));
    assert!(
        matches!(&err, Error::Transport(e) if e.kind == TransportErrorKind::Timeout),
        "{err}"
    );
    assert!(err.to_string().contains("deadline"), "{err}");
    // The per-request override wins.
    let start = Instant::now();
    p.send(get(USERS).deadline(Duration::from_secs(2)))
        .await
        .unwrap_err();
    assert_eq!(start.elapsed(), Duration::from_secs(2));
}

#[tokio::test(start_paused = true)]
async fn one_long_retry_after_does_not_make_later_calls_sleep_past_their_budget() {
    let mock = scripted([(
        "GET",
        USERS,
        gateway(429).with_header("retry-after", "3600"),
    )]);
    let p = pipeline(&mock);
    let start = Instant::now();
    let first = p.send(get(USERS)).await.unwrap_err();
    assert_eq!(first.status().map(|s| s.as_u16()), Some(429));
    let err = p.send(get(USERS)).await.unwrap_err();
    assert!(matches!(err, Error::Throttled { .. }), "{err}");
    assert_eq!(
        start.elapsed(),
        Duration::ZERO,
        "a call slept inside the governor"
    );
    assert_eq!(mock.requests().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn absurd_retry_after_does_not_panic() {
    for value in [
        "1e19",
        "18446744073709551615",
        "1e308",
        "inf",
        "-5",
        "NaN",
        "99999999999999999999999",
    ] {
        let mock = scripted([("GET", USERS, gateway(429).with_header("retry-after", value))]);
        let err = pipeline(&mock).send(get(USERS)).await.unwrap_err();
        assert!(err.is_retryable(), "{value}: {err}");
    }
}

// ---- secrets ---------------------------------------------------------------------

fn partner() -> Credentials {
    Credentials::PartnerRefreshToken {
        client_id: "app-id".into(),
        secret: SecretString::from("Sup3rS3cret~value"),
        refresh_token: SecretString::from("0.AUoAvery-refresh-token"),
    }
}

#[tokio::test]
async fn a_token_endpoint_echoing_the_form_leaks_no_secret() {
    let server = MockServer::start().await;
    // A WAF answering 400 with the request it refused.
    let echo = |req: &wiremock::Request| {
        let form = String::from_utf8_lossy(&req.body);
        ResponseTemplate::new(400).set_body_string(format!("<html>Blocked. Body: {form}</html>"))
    };
    serve(&server, Mock::given(method("POST")), echo).await;
    let p = wire_pipeline(&server, partner());
    let err = p.send(get(USERS)).await.unwrap_err();
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(
            !text.contains("Sup3rS3cret") && !text.contains("very-refresh-token"),
            "{text}"
        );
        assert!(text.contains("[REDACTED]"), "{text}");
    }
}

#[tokio::test]
async fn a_graph_error_echoing_headers_leaks_no_token_and_is_capped() {
    let server = MockServer::start().await;
    let echo = |req: &wiremock::Request| {
        let auth = common::header_text(req, "authorization");
        let padding = "padding ".repeat(10_000);
        let body = format!("Bad gateway. Request headers: Authorization: {auth}\n{padding}");
        ResponseTemplate::new(502).set_body_string(body)
    };
    serve(&server, on("GET", "/v1.0/users"), echo).await;
    let p = wire_pipeline(
        &server,
        Credentials::StaticToken(SecretString::from(
            "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJncmFwaCJ9.c2lnbmF0dXJl",
        )),
    );
    let err = p.send(get(USERS).idempotent(false)).await.unwrap_err();
    let text = err.to_string();
    assert!(
        !text.contains("eyJ0eXAi") && !text.contains("c2lnbmF0dXJl"),
        "{text}"
    );
    assert!(text.contains("Bearer [REDACTED]"), "{text}");
    assert!(text.len() < 4096, "error of {} bytes", text.len());
    assert!(text.contains("truncated"), "{text}");
}

// ---- tokens ----------------------------------------------------------------------

#[tokio::test]
async fn a_dead_refresh_token_costs_one_token_request_for_a_thousand_calls() {
    let server = MockServer::start().await;
    let dead = json(
        400,
        serde_json::json!({
            "error": "invalid_grant",
            "error_description": "AADSTS700082: The refresh token has expired due to inactivity.",
            "error_codes": [700082]
        }),
    );
    let dead = dead.set_delay(Duration::from_millis(50));
    common::expect(&server, Mock::given(method("POST")), dead, 1).await;
    let p = wire_pipeline(&server, partner());
    let results = burst(&p, TENANT, 1000).await;
    assert!(results.iter().all(|r| matches!(r, Err(Error::Auth(_)))));
    assert_eq!(p.tokens().provider_requests(), 1);
    // The next burst, moments later, is answered from the short negative cache.
    let again = p.send(get("/v1.0/organization")).await;
    assert!(matches!(again, Err(Error::Auth(_))));
    assert_eq!(p.tokens().provider_requests(), 1);
}

#[tokio::test]
async fn the_token_endpoint_is_retried_on_throttling_and_server_errors() {
    let server = MockServer::start().await;
    let post = || Mock::given(method("POST"));
    let unavailable = ResponseTemplate::new(503).insert_header("retry-after", "0");
    first(&server, post(), unavailable, 1).await;
    first(&server, post(), ResponseTemplate::new(429), 1).await;
    let token = serde_json::json!({
        "token_type": "Bearer", "expires_in": 99999999999999u64, "access_token": "tok"
    });
    serve(&server, post(), json(200, token)).await;
    serve(&server, Mock::given(method("GET")), empty_page()).await;
    let p = wire_pipeline(&server, partner());
    for _ in 0..2 {
        p.send(get("/v1.0/organization")).await.unwrap();
    }
    // Three token attempts for the first call (503, 429, 200); an absurd expires_in is
    // clamped, not a panic, and the token is reused.
    let requests = server.received_requests().await.unwrap();
    let posts = requests.iter().filter(|r| r.method.as_str() == "POST");
    assert_eq!(posts.count(), 3);
    assert_eq!(p.tokens().provider_requests(), 1);
}

#[test]
fn odd_expires_in_values_are_read_without_panicking() {
    use cipp_core::auth::{expires_in_lifetime, MAX_TOKEN_LIFETIME};
    assert_eq!(
        expires_in_lifetime("3599").unwrap(),
        Duration::from_secs(3599)
    );
    assert_eq!(
        expires_in_lifetime("\"3599\"").unwrap(),
        Duration::from_secs(3599)
    );
    assert_eq!(
        expires_in_lifetime("99999999999999").unwrap(),
        MAX_TOKEN_LIFETIME
    );
    assert_eq!(expires_in_lifetime("1e300").unwrap(), MAX_TOKEN_LIFETIME);
    assert_eq!(expires_in_lifetime("-5").unwrap(), Duration::ZERO);
    assert_eq!(
        expires_in_lifetime("\"soon\"").unwrap(),
        Duration::from_secs(3599)
    );
}
