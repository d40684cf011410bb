//! Fan-out over tenants.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cipp_core::test_util::{FakeTokenProvider, MockResponse, MockTransport};
use cipp_core::{
    ApiRequest, Audience, Credentials, Error, Fleet, FleetEvent, Pipeline, RetryPolicy, Tenant,
    TenantId,
};
use futures::StreamExt;
use tokio::time::Instant;

fn tenants(n: usize) -> Vec<Tenant> {
    (0..n)
        .map(|i| Tenant::new(TenantId::parse(&format!("tenant{i}.onmicrosoft.com")).unwrap()))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn hundred_tenants_at_concurrency_ten() {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let events = Arc::new(Mutex::new(Vec::new()));
    let ev = events.clone();
    let (f, p) = (in_flight.clone(), peak.clone());
    let results: Vec<_> = Fleet::new(10)
        .on_progress(move |e| ev.lock().unwrap().push(e.clone()))
        .run(tenants(100), move |t| {
            let (f, p) = (f.clone(), p.clone());
            async move {
                let now = f.fetch_add(1, Ordering::SeqCst) + 1;
                p.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(10)).await;
                f.fetch_sub(1, Ordering::SeqCst);
                if t.id.as_str() == "tenant42.onmicrosoft.com" {
                    Err(Error::Config("tenant 42 is broken".into()))
                } else {
                    Ok(t.id.to_string())
                }
            }
        })
        .collect()
        .await;
    assert_eq!(results.len(), 100);
    assert_eq!(peak.load(Ordering::SeqCst), 10);
    let failed: Vec<_> = results.iter().filter(|r| r.result.is_err()).collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].tenant.id.as_str(), "tenant42.onmicrosoft.com");
    let events = events.lock().unwrap();
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, FleetEvent::Started { .. }))
            .count(),
        100
    );
    let last = events
        .iter()
        .rev()
        .find_map(|e| match e {
            FleetEvent::Finished { counts, .. } | FleetEvent::Failed { counts, .. } => {
                Some(*counts)
            }
            _ => None,
        })
        .unwrap();
    assert_eq!((last.total, last.succeeded, last.failed), (100, 99, 1));
}

#[tokio::test(start_paused = true)]
async fn a_throttled_tenant_slows_only_itself() {
    let mock = Arc::new(MockTransport::new());
    // Every tenant reads /v1.0/organization; the mock cannot tell tenants apart by path,
    // so the throttled tenant reads another path.
    mock.on(
        "GET",
        "/v1.0/organization",
        MockResponse::json(200, &serde_json::json!({"value": []})),
    );
    mock.on(
        "GET",
        "/v1.0/slow",
        MockResponse::json(
            429,
            &serde_json::json!({"error":{"code":"TooManyRequests","message":"later"}}),
        )
        .with_header("retry-after", "30"),
    )
    .on(
        "GET",
        "/v1.0/slow",
        MockResponse::json(200, &serde_json::json!({"value": []})),
    );
    let pipeline = Pipeline::builder()
        .transport(mock.clone())
        .credentials(Credentials::Provider(Arc::new(FakeTokenProvider::new())))
        .retry(RetryPolicy::default())
        .build()
        .unwrap();
    let start = Instant::now();
    let finished = Arc::new(Mutex::new(Vec::new()));
    let fin = finished.clone();
    let results: Vec<_> = Fleet::new(5)
        .run(tenants(20), move |t| {
            let p = pipeline.clone();
            let fin = fin.clone();
            async move {
                let path = if t.id.as_str() == "tenant0.onmicrosoft.com" {
                    "/v1.0/slow"
                } else {
                    "/v1.0/organization"
                };
                p.send(ApiRequest::get(t.id.clone(), Audience::Graph, path))
                    .await?;
                fin.lock()
                    .unwrap()
                    .push((t.id.to_string(), start.elapsed()));
                Ok(())
            }
        })
        .collect()
        .await;
    assert!(results.iter().all(|r| r.result.is_ok()));
    let finished = finished.lock().unwrap();
    for (id, at) in finished.iter() {
        if id == "tenant0.onmicrosoft.com" {
            assert_eq!(*at, Duration::from_secs(30));
        } else {
            assert_eq!(*at, Duration::ZERO, "{id} was held up");
        }
    }
}
