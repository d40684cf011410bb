//! The real HTTP path (reqwest transport) against wiremock: token requests, the headers
//! every request carries, 401 handling, retries and paging.

use std::sync::Arc;
use std::time::Duration;

use cipp_core::{
    paging, ApiRequest, Audience, AuthErrorKind, Credentials, Endpoints, Error, ManualClock,
    Pipeline, ReqwestTransport, RetryPolicy, SecretString, TenantId,
};
use futures::{StreamExt, TryStreamExt};
use serde::Deserialize;
use wiremock::matchers::{
    body_string, header, header_exists, method, path, query_param, query_param_is_missing,
};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

fn tenant() -> TenantId {
    TenantId::parse("contoso.onmicrosoft.com").unwrap()
}

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        ..RetryPolicy::default()
    }
}

fn client_secret_pipeline(server: &MockServer, clock: Option<ManualClock>) -> Pipeline {
    let mut b = Pipeline::builder()
        .transport(Arc::new(ReqwestTransport::new().unwrap()))
        .endpoints(Endpoints::single_base(&server.uri()))
        .retry(fast_retry())
        .credentials(Credentials::ClientSecret {
            client_id: "app-id".into(),
            secret: SecretString::from("sup3r-secret"),
        });
    if let Some(c) = clock {
        b = b.clock(Arc::new(c));
    }
    b.build().unwrap()
}

fn token_ok(token: &str, expires_in: u64) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(serde_json::json!({
        "token_type": "Bearer", "expires_in": expires_in, "ext_expires_in": expires_in, "access_token": token
    }))
}

#[tokio::test]
async fn client_credentials_token_request_and_request_headers() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/contoso.onmicrosoft.com/oauth2/v2.0/token"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string(
            "grant_type=client_credentials&client_id=app-id&client_secret=sup3r-secret&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default",
        ))
        .respond_with(token_ok("tok-1", 3599))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users"))
        .and(query_param("$select", "id,displayName"))
        .and(header("authorization", "Bearer tok-1"))
        .and(header("consistencylevel", "eventual"))
        .and(header_exists("client-request-id"))
        .and(header("user-agent", cipp_core::USER_AGENT))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"value": [{"id": "1"}]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let p = client_secret_pipeline(&server, None);
    let req = ApiRequest::get(tenant(), Audience::Graph, "/v1.0/users")
        .query("$select", "id,displayName")
        .header(
            http::HeaderName::from_static("consistencylevel"),
            http::HeaderValue::from_static("eventual"),
        );
    let v: serde_json::Value = p.send_json(req).await.unwrap();
    assert_eq!(v["value"][0]["id"], "1");
}

#[tokio::test]
async fn exchange_audience_uses_the_exchange_scope() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/contoso.onmicrosoft.com/oauth2/v2.0/token"))
        .and(wiremock::matchers::body_string_contains(
            "scope=https%3A%2F%2Foutlook.office365.com%2F.default",
        ))
        .respond_with(token_ok("exo-tok", 3599))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/adminapi/beta/contoso.onmicrosoft.com/InvokeCommand"))
        .and(header("authorization", "Bearer exo-tok"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"value": []})))
        .mount(&server)
        .await;
    let p = client_secret_pipeline(&server, None);
    let req = ApiRequest::post(
        tenant(),
        Audience::Exchange,
        "/adminapi/beta/contoso.onmicrosoft.com/InvokeCommand",
    );
    p.send(req).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_concurrent_calls_cause_one_token_request() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/contoso.onmicrosoft.com/oauth2/v2.0/token"))
        .respond_with(token_ok("tok", 3599).set_delay(Duration::from_millis(50)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/organization"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"value": []})))
        .mount(&server)
        .await;
    let p = client_secret_pipeline(&server, None);
    let results = futures::stream::iter(0..1000)
        .map(|_| {
            let p = p.clone();
            async move {
                p.send(ApiRequest::get(
                    tenant(),
                    Audience::Graph,
                    "/v1.0/organization",
                ))
                .await
            }
        })
        .buffer_unordered(1000)
        .collect::<Vec<_>>()
        .await;
    assert!(results.iter().all(|r| r.is_ok()));
    assert_eq!(p.tokens().provider_requests(), 1);
}

#[tokio::test]
async fn token_refreshed_ahead_of_expiry_on_the_manual_clock() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/contoso.onmicrosoft.com/oauth2/v2.0/token"))
        .respond_with(token_ok("tok", 3600))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/organization"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"value": []})))
        .mount(&server)
        .await;
    let clock = ManualClock::new("2026-01-01T00:00:00Z".parse().unwrap());
    let p = client_secret_pipeline(&server, Some(clock.clone()));
    let get = || ApiRequest::get(tenant(), Audience::Graph, "/v1.0/organization");
    p.send(get()).await.unwrap();
    clock.advance(Duration::from_secs(3299)); // 301 s left: still outside the 300 s skew
    p.send(get()).await.unwrap();
    assert_eq!(p.tokens().provider_requests(), 1);
    clock.advance(Duration::from_secs(2)); // 299 s left: refresh
    p.send(get()).await.unwrap();
    assert_eq!(p.tokens().provider_requests(), 2);
}

#[tokio::test]
async fn unauthorized_forces_one_refresh_and_one_retry() {
    let server = MockServer::start().await;
    let n = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let n2 = n.clone();
    Mock::given(method("POST"))
        .and(path("/contoso.onmicrosoft.com/oauth2/v2.0/token"))
        .respond_with(move |_: &Request| {
            let i = n2.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            token_ok(&format!("tok-{i}"), 3600)
        })
        .mount(&server)
        .await;
    let invalid = ResponseTemplate::new(401).set_body_json(serde_json::json!({"error":{"code":"InvalidAuthenticationToken","message":"Access token has expired or is not yet valid."}}));
    Mock::given(method("GET"))
        .and(path("/v1.0/me"))
        .and(header("authorization", "Bearer tok-0"))
        .respond_with(invalid.clone())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/me"))
        .and(header("authorization", "Bearer tok-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"id":"x"})))
        .expect(1)
        .mount(&server)
        .await;
    let p = client_secret_pipeline(&server, None);
    p.send(ApiRequest::get(tenant(), Audience::Graph, "/v1.0/me"))
        .await
        .unwrap();
    assert_eq!(n.load(std::sync::atomic::Ordering::SeqCst), 2);

    // A second 401 after the refresh is an error, not a loop.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(token_ok("t", 3600))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/me"))
        .respond_with(invalid)
        .expect(2)
        .mount(&server)
        .await;
    let p = client_secret_pipeline(&server, None);
    let err = p
        .send(ApiRequest::get(tenant(), Audience::Graph, "/v1.0/me"))
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(401));
}

#[tokio::test]
async fn partner_refresh_token_is_redeemed_per_tenant_and_rotated() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/customer.onmicrosoft.com/oauth2/v2.0/token"))
        .and(body_string(
            "grant_type=refresh_token&client_id=partner-app&client_secret=s3cret&refresh_token=rt-0&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "token_type":"Bearer","scope":"https://graph.microsoft.com/.default","expires_in":"3599","access_token":"cust-tok","refresh_token":"rt-1"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/organization"))
        .and(header("authorization", "Bearer cust-tok"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"value": []})))
        .mount(&server)
        .await;
    let transport: Arc<dyn cipp_core::Transport> = Arc::new(ReqwestTransport::new().unwrap());
    let clock: Arc<dyn cipp_core::Clock> = Arc::new(cipp_core::SystemClock);
    let endpoint = cipp_core::auth::TokenEndpoint::new(
        transport.clone(),
        Endpoints::single_base(&server.uri()),
        clock,
    );
    let provider = Arc::new(cipp_core::auth::PartnerRefreshToken::new(
        endpoint,
        "partner-app",
        SecretString::from("s3cret"),
        SecretString::from("rt-0"),
    ));
    let p = Pipeline::builder()
        .transport(transport)
        .endpoints(Endpoints::single_base(&server.uri()))
        .credentials(Credentials::Provider(provider.clone()))
        .build()
        .unwrap();
    let customer = TenantId::parse("customer.onmicrosoft.com").unwrap();
    p.send(ApiRequest::get(
        customer,
        Audience::Graph,
        "/v1.0/organization",
    ))
    .await
    .unwrap();
    use cipp_core::ExposeSecret;
    assert_eq!(provider.current_refresh_token().expose_secret(), "rt-1");
}

#[tokio::test]
async fn aadsts_errors_become_actionable_auth_errors() {
    let cases = [
        (
            400,
            "invalid_grant",
            700082,
            AuthErrorKind::RefreshTokenExpired,
        ),
        (400, "invalid_grant", 65001, AuthErrorKind::ConsentMissing),
        (
            400,
            "interaction_required",
            50076,
            AuthErrorKind::MfaRequired,
        ),
        (
            401,
            "invalid_client",
            7000215,
            AuthErrorKind::InvalidClientSecret,
        ),
        (400, "invalid_request", 90002, AuthErrorKind::UnknownTenant),
    ];
    for (status, error, code, kind) in cases {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(status).set_body_json(serde_json::json!({
                "error": error,
                "error_description": format!("AADSTS{code}: Something happened.\r\nTrace ID: tr\r\nCorrelation ID: co\r\nTimestamp: 2016-01-09 02:02:12Z"),
                "error_codes": [code], "timestamp": "2016-01-09 02:02:12Z", "trace_id": "trace-1", "correlation_id": "corr-1",
                "error_uri": format!("https://login.microsoftonline.com/error?code={code}")
            })))
            .mount(&server)
            .await;
        let p = client_secret_pipeline(&server, None);
        let err = p
            .send(ApiRequest::get(tenant(), Audience::Graph, "/v1.0/me"))
            .await
            .unwrap_err();
        let auth = err.as_auth().unwrap_or_else(|| panic!("{err:?}"));
        assert_eq!(auth.kind, kind, "AADSTS{code}");
        assert_eq!(err.request_id(), Some("trace-1"));
        let text = err.to_string();
        assert!(
            text.contains(&format!("AADSTS{code}")) && text.contains("What to do"),
            "{text}"
        );
        assert!(!text.contains("sup3r-secret"), "{text}");
        // Only the token endpoint was called.
        assert_eq!(server.received_requests().await.unwrap().len(), 1);
    }
}

#[tokio::test]
async fn throttled_over_http_then_ok_sends_retry_attempt() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(token_ok("t", 3600))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0").set_body_json(serde_json::json!({"error":{"code":"TooManyRequests","message":"Please retry again later."}})))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users"))
        .and(header("retry-attempt", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"value":[]})))
        .expect(1)
        .mount(&server)
        .await;
    let p = client_secret_pipeline(&server, None);
    p.send(ApiRequest::get(tenant(), Audience::Graph, "/v1.0/users"))
        .await
        .unwrap();
}

#[tokio::test]
async fn connection_refused_is_a_transport_error_that_was_not_sent() {
    let t = ReqwestTransport::new().unwrap();
    let req = http::Request::builder()
        .uri("http://127.0.0.1:9/x?secret=1")
        .body(bytes::Bytes::new())
        .unwrap();
    let err = cipp_core::Transport::send(&t, req).await.unwrap_err();
    assert_eq!(err.sent, cipp_core::RequestSent::No);
    assert!(!err.to_string().contains("secret=1"));
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
struct User {
    id: String,
}

async fn mount_three_pages(server: &MockServer) {
    Mock::given(method("POST"))
        .respond_with(token_ok("t", 3600))
        .mount(server)
        .await;
    let uri = server.uri();
    Mock::given(method("GET"))
        .and(path("/v1.0/users"))
        .and(query_param_is_missing("$skiptoken"))
        .and(header("consistencylevel", "eventual"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "@odata.count": 5,
            "@odata.nextLink": format!("{uri}/v1.0/users?$count=true&$skiptoken=p2"),
            "value": [{"id":"1"},{"id":"2"}]})))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users"))
        .and(query_param("$skiptoken", "p2"))
        .and(header("consistencylevel", "eventual"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "@odata.nextLink": format!("{uri}/v1.0/users?$count=true&$skiptoken=p3"),
            "value": [{"id":"3"},{"id":"4"}]})))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users"))
        .and(query_param("$skiptoken", "p3"))
        .and(header("consistencylevel", "eventual"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"value": [{"id":"5"}]})),
        )
        .mount(server)
        .await;
}

fn users_request() -> ApiRequest {
    ApiRequest::get(tenant(), Audience::Graph, "/v1.0/users")
        .query("$count", "true")
        .header(
            http::HeaderName::from_static("consistencylevel"),
            http::HeaderValue::from_static("eventual"),
        )
}

#[tokio::test]
async fn three_pages_collected_with_headers_on_every_page() {
    let server = MockServer::start().await;
    mount_three_pages(&server).await;
    let p = client_secret_pipeline(&server, None);
    let pages: Vec<cipp_core::Page<User>> = paging::pages(p.clone(), users_request())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.len(), 3);
    assert_eq!(pages[0].count, Some(5));
    assert!(pages[0]
        .next_link
        .as_deref()
        .unwrap()
        .ends_with("$skiptoken=p2"));
    let users: Vec<User> = paging::items(p, users_request())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        users.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(),
        ["1", "2", "3", "4", "5"]
    );
}

#[tokio::test]
async fn listing_resumes_from_a_saved_next_link() {
    let server = MockServer::start().await;
    mount_three_pages(&server).await;
    let p = client_secret_pipeline(&server, None);
    let mut s = Box::pin(paging::pages::<User>(p.clone(), users_request()));
    let first = s.next().await.unwrap().unwrap();
    drop(s);
    let saved = first.next_link.unwrap();
    let rest: Vec<User> = paging::resume_pages::<User>(p, users_request(), &saved)
        .map_ok(|pg| futures::stream::iter(pg.items.into_iter().map(Ok::<User, Error>)))
        .try_flatten()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        rest.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(),
        ["3", "4", "5"]
    );
}

#[tokio::test]
async fn foreign_host_next_link_refused() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(token_ok("t", 3600))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "@odata.nextLink": "https://attacker.example.net/v1.0/users?$skiptoken=x",
            "value": [{"id":"1"}]})))
        .expect(1)
        .mount(&server)
        .await;
    let p = client_secret_pipeline(&server, None);
    let got: Vec<Result<User, Error>> = paging::items(p, users_request()).collect().await;
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].as_ref().unwrap().id, "1");
    let err = got[1].as_ref().unwrap_err();
    assert!(err.to_string().contains("another host"), "{err}");
}

#[tokio::test]
async fn repeated_next_link_ends_with_an_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(token_ok("t", 3600))
        .mount(&server)
        .await;
    let uri = server.uri();
    Mock::given(method("GET"))
        .and(path("/v1.0/users"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "@odata.nextLink": format!("{uri}/v1.0/users?$skiptoken=same"),
            "value": [{"id":"1"}]})))
        .mount(&server)
        .await;
    let p = client_secret_pipeline(&server, None);
    let got: Vec<Result<User, Error>> = paging::items(p, users_request()).collect().await;
    assert_eq!(got.len(), 3, "two pages, then the error");
    assert!(matches!(got[2], Err(Error::Paging { .. })));
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        3,
        "token + 2 pages"
    );
}

#[tokio::test]
async fn truncated_page_is_a_decode_error_naming_the_path() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(token_ok("t", 3600))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string(r#"{"value":[{"id":"1"},{"id":2}]}"#),
        )
        .mount(&server)
        .await;
    let p = client_secret_pipeline(&server, None);
    let got: Vec<Result<User, Error>> = paging::items(p.clone(), users_request()).collect().await;
    match &got[0] {
        Err(Error::Decode(d)) => assert_eq!(d.path, "value[1].id"),
        other => panic!("{other:?}"),
    }
    let server2 = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(token_ok("t", 3600))
        .mount(&server2)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"value":[{"id":"1"},{"id""#))
        .mount(&server2)
        .await;
    let p = client_secret_pipeline(&server2, None);
    let got: Vec<Result<User, Error>> = paging::items(p, users_request()).collect().await;
    assert!(matches!(got[0], Err(Error::Decode(_))), "{got:?}");
}
