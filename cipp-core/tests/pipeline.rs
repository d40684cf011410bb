//! Pipeline behaviour on the in-memory transport, with paused Tokio time.

mod common;

use std::sync::Arc;
use std::time::Duration;

use cipp_core::test_util::{FakeTokenProvider, MockResponse};
use cipp_core::{
    ApiErrorKind, ApiRequest, Audience, Credentials, Error, Pipeline, RequestSent, RetryPolicy,
    TenantId, TransportErrorKind,
};
use common::{graph_get, mock_pipeline as pipeline, no_jitter, scripted};
use tokio::time::Instant;

const USERS: &str = "/v1.0/users";

fn tenant(s: &str) -> TenantId {
    common::tenant_id(s)
}

fn throttled(retry_after: &str) -> MockResponse {
    MockResponse::json(
        429,
        &serde_json::json!({"error":{"code":"TooManyRequests","message":"Please retry again later.",
            "innerError":{"code":"429","date":"2020-08-18T12:51:51","message":"Please retry after","request-id":"94fb3b52","status":"429"}}}),
    )
    .with_header("retry-after", retry_after)
}

fn ok() -> MockResponse {
    common::empty_list()
}

fn get_users() -> ApiRequest {
    graph_get("contoso.com", USERS)
}

#[tokio::test(start_paused = true)]
async fn retry_after_two_seconds_then_ok() {
    let mock = scripted([("GET", USERS, throttled("2")), ("GET", USERS, ok())]);
    let p = pipeline(&mock, RetryPolicy::default());
    let start = Instant::now();
    p.send(get_users()).await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(2));
    let reqs = mock.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].header("retry-attempt"), None);
    assert_eq!(reqs[1].header("retry-attempt"), Some("1"));
    // One client-request-id per logical request, kept across retries.
    assert_eq!(
        reqs[0].header("client-request-id"),
        reqs[1].header("client-request-id")
    );
    assert!(reqs[0]
        .header("user-agent")
        .unwrap()
        .starts_with("cipp-rs/"));
}

/// How long a GET throttled once with `retry_after` waits before its retry succeeds, with
/// backoff from `base` (no jitter) and, when given, `clock` as the pipeline's clock.
async fn wait_before_retry(
    retry_after: &str,
    base: Duration,
    clock: Option<cipp_core::ManualClock>,
) -> Duration {
    let mock = scripted([("GET", USERS, throttled(retry_after)), ("GET", USERS, ok())]);
    let mut b = Pipeline::builder()
        .transport(mock.clone())
        .credentials(Credentials::Provider(Arc::new(FakeTokenProvider::new())))
        .throttle(cipp_core::ThrottleSettings::none())
        .retry(no_jitter(base));
    if let Some(clock) = clock {
        b = b.clock(Arc::new(clock));
    }
    let start = Instant::now();
    b.build().unwrap().send(get_users()).await.unwrap();
    assert_eq!(mock.requests().len(), 2);
    start.elapsed()
}

/// Decimal and HTTP-date `Retry-After` values are honoured (the date against the
/// pipeline's clock), and backoff wins when it is longer than the service asked for.
#[tokio::test(start_paused = true)]
async fn retry_after_and_backoff_set_the_wait() {
    let date_clock = cipp_core::ManualClock::new("2015-10-21T07:28:00Z".parse().unwrap());
    let ms = Duration::from_millis;
    let cases = [
        (
            "decimal retry-after honoured",
            "2.128",
            ms(100),
            None,
            ms(2128),
        ),
        (
            "HTTP-date retry-after uses the clock",
            "Wed, 21 Oct 2015 07:28:07 GMT",
            ms(100),
            Some(date_clock),
            Duration::from_secs(7),
        ),
        (
            "backoff used when it exceeds retry-after",
            "0",
            ms(3000),
            None,
            ms(3000),
        ),
    ];
    for (name, retry_after, base, clock, expected) in cases {
        let waited = wait_before_retry(retry_after, base, clock).await;
        assert_eq!(waited, expected, "{name}");
    }
}

#[tokio::test(start_paused = true)]
async fn service_unavailable_and_gateway_timeout_retried() {
    for status in [503u16, 504] {
        let mock = scripted([
            ("GET", USERS, MockResponse::status(status)),
            ("GET", USERS, ok()),
        ]);
        let p = pipeline(&mock, RetryPolicy::default());
        p.send(get_users()).await.unwrap();
        assert_eq!(mock.requests().len(), 2, "status {status}");
    }
}

#[tokio::test(start_paused = true)]
async fn client_errors_not_retried() {
    for status in [400u16, 403, 404] {
        let refusal = serde_json::json!({"error":{"code":"x","message":"no"}});
        let mock = scripted([("GET", USERS, MockResponse::json(status, &refusal))]);
        let p = pipeline(&mock, RetryPolicy::default());
        let err = p.send(get_users()).await.unwrap_err();
        assert_eq!(err.status().map(|s| s.as_u16()), Some(status));
        assert_eq!(mock.requests().len(), 1, "status {status}");
    }
}

#[tokio::test(start_paused = true)]
async fn attempts_are_capped() {
    let mock = scripted([("GET", USERS, throttled("1"))]);
    let p = pipeline(&mock, no_jitter(Duration::from_millis(10)));
    let err = p.send(get_users()).await.unwrap_err();
    assert_eq!(mock.requests().len(), 4, "1 attempt + 3 retries");
    assert_eq!(err.as_api().unwrap().kind, ApiErrorKind::Throttled);
    assert_eq!(err.request_id(), Some("94fb3b52"));
}

#[tokio::test(start_paused = true)]
async fn total_wait_is_capped() {
    let mock = scripted([("GET", USERS, throttled("100"))]);
    let p = pipeline(&mock, RetryPolicy::default());
    let start = Instant::now();
    let err = p.send(get_users()).await.unwrap_err();
    // 100 s waited once; a second 100 s wait would exceed the 180 s cap.
    assert_eq!(mock.requests().len(), 2);
    assert_eq!(start.elapsed(), Duration::from_secs(100));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(100)));
}

#[tokio::test(start_paused = true)]
async fn timed_out_post_not_retried_but_get_is() {
    let timeout = || MockResponse::fail(TransportErrorKind::Timeout, RequestSent::Maybe);
    let mock = scripted([("POST", USERS, timeout())]);
    let p = pipeline(&mock, RetryPolicy::default());
    let post = ApiRequest::post(tenant("contoso.com"), Audience::Graph, USERS)
        .json(&serde_json::json!({"displayName":"x"}))
        .unwrap();
    let err = p.send(post).await.unwrap_err();
    assert!(matches!(err, Error::Transport(ref t) if t.sent == RequestSent::Maybe));
    assert_eq!(mock.requests().len(), 1);

    let mock = scripted([("GET", USERS, timeout()), ("GET", USERS, ok())]);
    let p = pipeline(&mock, RetryPolicy::default());
    p.send(get_users()).await.unwrap();
    assert_eq!(mock.requests().len(), 2);

    // A POST that certainly was not sent (connection refused) is retried.
    let refused = MockResponse::fail(TransportErrorKind::Connect, RequestSent::No);
    let created = MockResponse::json(201, &serde_json::json!({"id":"1"}));
    let mock = scripted([("POST", USERS, refused), ("POST", USERS, created)]);
    let p = pipeline(&mock, RetryPolicy::default());
    let post = ApiRequest::post(tenant("contoso.com"), Audience::Graph, USERS);
    p.send(post).await.unwrap();
    assert_eq!(mock.requests().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn background_mode_returns_throttled_instead_of_sleeping() {
    let mock = scripted([("GET", USERS, throttled("30")), ("GET", USERS, ok())]);
    let p = pipeline(&mock, RetryPolicy::default()).background(Duration::from_secs(5));
    let start = Instant::now();
    let err = p.send(get_users()).await.unwrap_err();
    assert_eq!(start.elapsed(), Duration::ZERO);
    match err {
        Error::Throttled {
            retry_after,
            ref workload,
            ..
        } => {
            assert_eq!(retry_after, Duration::from_secs(30));
            // A raw request declares no workload: Graph requests are throttled together.
            assert_eq!(workload, "graph");
        }
        e => panic!("{e:?}"),
    }
    // The key stays throttled: the next request for it fails fast without being sent.
    let err = p.send(get_users()).await.unwrap_err();
    assert!(matches!(err, Error::Throttled { .. }));
    assert_eq!(mock.requests().len(), 1);
    // Another tenant is not held up.
    p.send(graph_get("fabrikam.com", USERS)).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn not_found_retried_only_when_asked_for_replication() {
    let nf = MockResponse::json(
        404,
        &serde_json::json!({"error":{"code":"Request_ResourceNotFound","message":"Resource 'x' does not exist"}}),
    );
    let group = "/v1.0/groups/g1";
    let mock = scripted([("GET", group, nf.clone()), ("GET", group, ok())]);
    let p = pipeline(&mock, RetryPolicy::default());
    let req = graph_get("contoso.com", group);
    p.send(req.clone().retry_not_found(true)).await.unwrap();
    assert_eq!(mock.requests().len(), 2);

    let mock = scripted([("GET", group, nf)]);
    let p = pipeline(&mock, RetryPolicy::default());
    let err = p.send(req.clone().retry_not_found(true)).await.unwrap_err();
    assert_eq!(err.as_api().unwrap().kind, ApiErrorKind::NotYetReplicated);
    assert_eq!(mock.requests().len(), 4);
    let err = p.send(req).await.unwrap_err();
    assert!(err.is_not_found());
}

#[tokio::test(start_paused = true)]
async fn foreign_absolute_url_refused_before_sending() {
    let mock = scripted([]);
    let p = pipeline(&mock, RetryPolicy::default());
    let foreign = graph_get("contoso.com", "https://evil.example.com/v1.0/users");
    let err = p.send(foreign).await.unwrap_err();
    assert!(err.to_string().contains("another host"), "{err}");
    assert!(mock.requests().is_empty());
}

#[tokio::test(start_paused = true)]
async fn errors_name_tenant_and_never_the_token() {
    let denied = MockResponse::json(
        403,
        &serde_json::json!({"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation.","innerError":{"request-id":"rid-1","date":"2024-01-01T00:00:00"}}}),
    );
    let mock = scripted([("PATCH", "/v1.0/users/u1", denied)]);
    let p = pipeline(&mock, RetryPolicy::default());
    let err = p
        .send(ApiRequest::patch(
            tenant("contoso.com"),
            Audience::Graph,
            "/v1.0/users/u1?$select=secret",
        ))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("contoso.com")
            && text.contains("Authorization_RequestDenied")
            && text.contains("rid-1")
    );
    assert!(
        !text.contains("fake-") && !text.contains("$select"),
        "{text}"
    );
    assert_eq!(err.as_api().unwrap().kind, ApiErrorKind::MissingPermission);
    assert!(err.as_api().unwrap().client_request_id.is_some());
}
