//! The real HTTP path (reqwest transport) against wiremock: token requests, the headers
//! every request carries, 401 handling, retries and paging.

mod common;

use std::sync::Arc;
use std::time::Duration;

use cipp_core::{
    paging, ApiRequest, Audience, AuthErrorKind, Credentials, Endpoints, Error, ManualClock,
    Pipeline, ReqwestTransport, SecretString,
};
use common::{
    bearer, burst, client_secret, empty_page, expect, fast_retry, first, json, on, received, serve,
    server_with_token, tenant_id, token_ok,
};
use futures::{StreamExt, TryStreamExt};
use serde::Deserialize;
use wiremock::matchers::{body_string, header, header_exists, method, query_param};
use wiremock::matchers::{body_string_contains, query_param_is_missing};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const TENANT: &str = "contoso.onmicrosoft.com";
const TOKEN_PATH: &str = "/contoso.onmicrosoft.com/oauth2/v2.0/token";

fn get(p: &str) -> ApiRequest {
    common::graph_get(TENANT, p)
}

fn client_secret_pipeline(server: &MockServer, clock: Option<ManualClock>) -> Pipeline {
    let mut b = Pipeline::builder()
        .transport(Arc::new(ReqwestTransport::new().unwrap()))
        .endpoints(Endpoints::single_base(&server.uri()))
        .retry(fast_retry())
        .credentials(client_secret());
    if let Some(c) = clock {
        b = b.clock(Arc::new(c));
    }
    b.build().unwrap()
}

/// A server whose token endpoint hands out `token`, and a client-secret pipeline to it.
async fn wire(token: &str) -> (MockServer, Pipeline) {
    let server = server_with_token(token).await;
    let p = client_secret_pipeline(&server, None);
    (server, p)
}

#[tokio::test]
async fn client_credentials_token_request_and_request_headers() {
    let server = MockServer::start().await;
    let form = "grant_type=client_credentials&client_id=app-id&client_secret=sup3r-secret&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default";
    let token_request = on("POST", TOKEN_PATH)
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string(form));
    expect(&server, token_request, token_ok("tok-1", 3599), 1).await;
    let users = on("GET", "/v1.0/users")
        .and(query_param("$select", "id,displayName"))
        .and(bearer("tok-1"))
        .and(header("consistencylevel", "eventual"))
        .and(header_exists("client-request-id"))
        .and(header("user-agent", cipp_core::USER_AGENT));
    expect(
        &server,
        users,
        json(200, serde_json::json!({"value": [{"id": "1"}]})),
        1,
    )
    .await;
    let p = client_secret_pipeline(&server, None);
    let req = get("/v1.0/users")
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
    let scope = body_string_contains("scope=https%3A%2F%2Foutlook.office365.com%2F.default");
    expect(
        &server,
        on("POST", TOKEN_PATH).and(scope),
        token_ok("exo-tok", 3599),
        1,
    )
    .await;
    let invoke = "/adminapi/beta/contoso.onmicrosoft.com/InvokeCommand";
    serve(
        &server,
        on("POST", invoke).and(bearer("exo-tok")),
        empty_page(),
    )
    .await;
    let p = client_secret_pipeline(&server, None);
    p.send(ApiRequest::post(
        tenant_id(TENANT),
        Audience::Exchange,
        invoke,
    ))
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_concurrent_calls_cause_one_token_request() {
    let server = MockServer::start().await;
    let slow = token_ok("tok", 3599).set_delay(Duration::from_millis(50));
    expect(&server, on("POST", TOKEN_PATH), slow, 1).await;
    serve(&server, on("GET", "/v1.0/organization"), empty_page()).await;
    let p = client_secret_pipeline(&server, None);
    let results = burst(&p, TENANT, 1000).await;
    assert!(results.iter().all(|r| r.is_ok()));
    assert_eq!(p.tokens().provider_requests(), 1);
}

#[tokio::test]
async fn token_refreshed_ahead_of_expiry_on_the_manual_clock() {
    let server = MockServer::start().await;
    expect(&server, on("POST", TOKEN_PATH), token_ok("tok", 3600), 2).await;
    serve(&server, on("GET", "/v1.0/organization"), empty_page()).await;
    let clock = ManualClock::new("2026-01-01T00:00:00Z".parse().unwrap());
    let p = client_secret_pipeline(&server, Some(clock.clone()));
    let org = || get("/v1.0/organization");
    p.send(org()).await.unwrap();
    clock.advance(Duration::from_secs(3299)); // 301 s left: still outside the 300 s skew
    p.send(org()).await.unwrap();
    assert_eq!(p.tokens().provider_requests(), 1);
    clock.advance(Duration::from_secs(2)); // 299 s left: refresh
    p.send(org()).await.unwrap();
    assert_eq!(p.tokens().provider_requests(), 2);
}

#[tokio::test]
async fn unauthorized_forces_one_refresh_and_one_retry() {
    let server = MockServer::start().await;
    let n = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let n2 = n.clone();
    Mock::given(method("POST"))
        .and(wiremock::matchers::path(TOKEN_PATH))
        .respond_with(move |_: &Request| {
            let i = n2.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            token_ok(&format!("tok-{i}"), 3600)
        })
        .mount(&server)
        .await;
    let invalid = json(
        401,
        serde_json::json!({"error":{"code":"InvalidAuthenticationToken","message":"Access token has expired or is not yet valid."}}),
    );
    expect(
        &server,
        on("GET", "/v1.0/me").and(bearer("tok-0")),
        invalid.clone(),
        1,
    )
    .await;
    let me = json(200, serde_json::json!({"id":"x"}));
    expect(&server, on("GET", "/v1.0/me").and(bearer("tok-1")), me, 1).await;
    let p = client_secret_pipeline(&server, None);
    p.send(get("/v1.0/me")).await.unwrap();
    assert_eq!(n.load(std::sync::atomic::Ordering::SeqCst), 2);

    // A second 401 after the refresh is an error, not a loop.
    let (server, p) = wire("t").await;
    expect(&server, on("GET", "/v1.0/me"), invalid, 2).await;
    let err = p.send(get("/v1.0/me")).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(401));
}

#[tokio::test]
async fn partner_refresh_token_is_redeemed_per_tenant_and_rotated() {
    let server = MockServer::start().await;
    let form = "grant_type=refresh_token&client_id=partner-app&client_secret=s3cret&refresh_token=rt-0&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default";
    let token = json(
        200,
        serde_json::json!({
        "token_type":"Bearer","scope":"https://graph.microsoft.com/.default","expires_in":"3599","access_token":"cust-tok","refresh_token":"rt-1"}),
    );
    let redeem = on("POST", "/customer.onmicrosoft.com/oauth2/v2.0/token").and(body_string(form));
    expect(&server, redeem, token, 1).await;
    let org = on("GET", "/v1.0/organization").and(bearer("cust-tok"));
    serve(&server, org, empty_page()).await;
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
    p.send(common::graph_get(
        "customer.onmicrosoft.com",
        "/v1.0/organization",
    ))
    .await
    .unwrap();
    use cipp_core::ExposeSecret;
    assert_eq!(provider.current_refresh_token().expose_secret(), "rt-1");
}

#[tokio::test]
async fn aadsts_errors_become_actionable_auth_errors() {
    use AuthErrorKind::*;
    let cases = [
        (400, "invalid_grant", 700082, RefreshTokenExpired),
        (400, "invalid_grant", 65001, ConsentMissing),
        (400, "interaction_required", 50076, MfaRequired),
        (401, "invalid_client", 7000215, InvalidClientSecret),
        (400, "invalid_request", 90002, UnknownTenant),
    ];
    for (status, error, code, kind) in cases {
        let server = MockServer::start().await;
        let refusal = json(
            status,
            serde_json::json!({
                "error": error,
                "error_description": format!("AADSTS{code}: Something happened.\r\nTrace ID: tr\r\nCorrelation ID: co\r\nTimestamp: 2016-01-09 02:02:12Z"),
                "error_codes": [code], "timestamp": "2016-01-09 02:02:12Z", "trace_id": "trace-1", "correlation_id": "corr-1",
                "error_uri": format!("https://login.microsoftonline.com/error?code={code}")
            }),
        );
        serve(&server, Mock::given(method("POST")), refusal).await;
        let p = client_secret_pipeline(&server, None);
        let err = p.send(get("/v1.0/me")).await.unwrap_err();
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
        assert_eq!(received(&server).await, 1);
    }
}

#[tokio::test]
async fn throttled_over_http_then_ok_sends_retry_attempt() {
    let (server, p) = wire("t").await;
    let throttled = json(
        429,
        serde_json::json!({"error":{"code":"TooManyRequests","message":"Please retry again later."}}),
    )
    .insert_header("retry-after", "0");
    first(&server, on("GET", "/v1.0/users"), throttled, 1).await;
    let retried = on("GET", "/v1.0/users").and(header("retry-attempt", "1"));
    expect(&server, retried, empty_page(), 1).await;
    p.send(get("/v1.0/users")).await.unwrap();
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

/// Three pages of users (5 in all), each page expecting the eventual-consistency header.
async fn mount_three_pages(server: &MockServer) {
    let uri = server.uri();
    let page = |skiptoken: Option<&str>, body: serde_json::Value| {
        let m = on("GET", "/v1.0/users").and(header("consistencylevel", "eventual"));
        let m = match skiptoken {
            None => m.and(query_param_is_missing("$skiptoken")),
            Some(t) => m.and(query_param("$skiptoken", t)),
        };
        m.respond_with(json(200, body))
    };
    let next = |t: &str| format!("{uri}/v1.0/users?$count=true&$skiptoken={t}");
    let pages = [
        page(
            None,
            serde_json::json!({"@odata.count": 5, "@odata.nextLink": next("p2"), "value": [{"id":"1"},{"id":"2"}]}),
        ),
        page(
            Some("p2"),
            serde_json::json!({"@odata.nextLink": next("p3"), "value": [{"id":"3"},{"id":"4"}]}),
        ),
        page(Some("p3"), serde_json::json!({"value": [{"id":"5"}]})),
    ];
    for p in pages {
        p.mount(server).await;
    }
}

fn users_request() -> ApiRequest {
    get("/v1.0/users").query("$count", "true").header(
        http::HeaderName::from_static("consistencylevel"),
        http::HeaderValue::from_static("eventual"),
    )
}

fn ids(users: &[User]) -> Vec<&str> {
    users.iter().map(|u| u.id.as_str()).collect()
}

#[tokio::test]
async fn three_pages_collected_with_headers_on_every_page() {
    let (server, p) = wire("t").await;
    mount_three_pages(&server).await;
    let pages: Vec<cipp_core::Page<User>> = paging::pages(p.clone(), users_request())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.len(), 3);
    assert_eq!(pages[0].count, Some(5));
    let next = pages[0].next_link.as_deref().unwrap();
    assert!(next.ends_with("$skiptoken=p2"));
    let users: Vec<User> = paging::items(p, users_request())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids(&users), ["1", "2", "3", "4", "5"]);
}

#[tokio::test]
async fn listing_resumes_from_a_saved_next_link() {
    let (server, p) = wire("t").await;
    mount_three_pages(&server).await;
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
    assert_eq!(ids(&rest), ["3", "4", "5"]);
}

/// Every user the listing yields, errors included.
async fn list_users(p: Pipeline) -> Vec<Result<User, Error>> {
    paging::items(p, users_request()).collect().await
}

#[tokio::test]
async fn foreign_host_next_link_refused() {
    let (server, p) = wire("t").await;
    let page = serde_json::json!({
        "@odata.nextLink": "https://attacker.example.net/v1.0/users?$skiptoken=x",
        "value": [{"id":"1"}]});
    expect(&server, on("GET", "/v1.0/users"), json(200, page), 1).await;
    let got = list_users(p).await;
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].as_ref().unwrap().id, "1");
    let err = got[1].as_ref().unwrap_err();
    assert!(err.to_string().contains("another host"), "{err}");
}

#[tokio::test]
async fn repeated_next_link_ends_with_an_error() {
    let (server, p) = wire("t").await;
    let uri = server.uri();
    let page = serde_json::json!({
        "@odata.nextLink": format!("{uri}/v1.0/users?$skiptoken=same"),
        "value": [{"id":"1"}]});
    serve(&server, on("GET", "/v1.0/users"), json(200, page)).await;
    let got = list_users(p).await;
    assert_eq!(got.len(), 3, "two pages, then the error");
    assert!(matches!(got[2], Err(Error::Paging { .. })));
    assert_eq!(received(&server).await, 3, "token + 2 pages");
}

#[tokio::test]
async fn truncated_page_is_a_decode_error_naming_the_path() {
    let (server, p) = wire("t").await;
    let wrong_type =
        ResponseTemplate::new(200).set_body_string(r#"{"value":[{"id":"1"},{"id":2}]}"#);
    serve(&server, on("GET", "/v1.0/users"), wrong_type).await;
    let got = list_users(p).await;
    match &got[0] {
        Err(Error::Decode(d)) => assert_eq!(d.path, "value[1].id"),
        other => panic!("{other:?}"),
    }
    let (server2, p) = wire("t").await;
    let cut = ResponseTemplate::new(200).set_body_string(r#"{"value":[{"id":"1"},{"id""#);
    serve(&server2, Mock::given(method("GET")), cut).await;
    let got = list_users(p).await;
    assert!(matches!(got[0], Err(Error::Decode(_))), "{got:?}");
}
