//! `$batch` over the real HTTP path.

mod common;

use std::time::Duration;

use cipp_core::ApiErrorKind;
use cipp_graph::batch::{self, Batch, BatchOptions};
use cipp_graph::model::{Field, UserPatch};
use cipp_graph::users::{self, UserRef};
use common::*;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, Request, ResponseTemplate};

fn uid(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

fn ok_all(req: &Request) -> ResponseTemplate {
    let body: Value = serde_json::from_slice(&req.body).unwrap();
    let responses: Vec<Value> = body["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| json!({"id": r["id"], "status": 204, "headers": {}, "body": null}))
        .collect();
    ResponseTemplate::new(200).set_body_json(json!({ "responses": responses }))
}

#[tokio::test]
async fn forty_five_patches_in_three_batches_with_documented_item_shape() {
    let (server, graph) = client().await;
    Mock::given(method("POST"))
        .and(path("/v1.0/$batch"))
        .respond_with(ok_all)
        .expect(3)
        .mount(&server)
        .await;
    let t = tenant();
    let ops: Vec<_> = (0..45)
        .map(|i| {
            let patch =
                UserPatch { job_title: Field::Set(format!("Title {i}")), ..Default::default() };
            users::update(&t, &UserRef::parse(&uid(i)).unwrap(), &patch).unwrap()
        })
        .collect();
    let results = batch::run(graph.pipeline(), &t, ops, &BatchOptions::default()).await.unwrap();
    assert_eq!(results.len(), 45);
    assert!(results.iter().all(|r| r.is_ok()));
    let reqs = server.received_requests().await.unwrap();
    let mut sizes: Vec<usize> = reqs
        .iter()
        .map(|r| {
            serde_json::from_slice::<Value>(&r.body).unwrap()["requests"].as_array().unwrap().len()
        })
        .collect();
    sizes.sort();
    assert_eq!(sizes, [5, 20, 20]);
    let first: Value = serde_json::from_slice(&reqs[0].body).unwrap();
    let item = &first["requests"][0];
    assert_eq!(item["method"], "PATCH");
    assert!(
        item["url"].as_str().unwrap().starts_with("/users/"),
        "url relative to the version: {item}"
    );
    assert_eq!(item["headers"]["content-type"], "application/json");
    assert!(item["body"]["jobTitle"].as_str().unwrap().starts_with("Title "));
}

// Real time on purpose: paused Tokio time and real sockets do not mix (the clock would
// jump to the transport's timeout while waiting for the mock server). The waits are short.
#[tokio::test]
async fn throttled_items_are_resent_alone_after_the_largest_retry_after() {
    let (server, graph) = client().await;
    let round = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let r2 = round.clone();
    Mock::given(method("POST"))
        .and(path("/v1.0/$batch"))
        .respond_with(move |req: &Request| {
            let n = r2.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let body: Value = serde_json::from_slice(&req.body).unwrap();
            let responses: Vec<Value> = body["requests"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    let id = r["id"].as_str().unwrap();
                    if n == 0 && (id == "2" || id == "3") {
                        let ra = if id == "2" { "0.03" } else { "0.07" };
                        json!({"id": id, "status": 429, "headers": {"Retry-After": ra},
                               "body": {"error": {"code": "TooManyRequests", "message": "Please retry again later."}}})
                    } else {
                        json!({"id": id, "status": 200, "headers": {"Content-Type": "application/json"},
                               "body": {"id": id, "displayName": format!("User {id}")}})
                    }
                })
                .collect();
            ResponseTemplate::new(200).set_body_json(json!({ "responses": responses }))
        })
        .mount(&server)
        .await;
    let t = tenant();
    let ops: Vec<_> =
        (0..4).map(|i| users::get(&t, &UserRef::parse(&uid(i)).unwrap(), &[])).collect();
    let start = tokio::time::Instant::now();
    let results = batch::run(graph.pipeline(), &t, ops, &BatchOptions::default()).await.unwrap();
    assert!(start.elapsed() >= Duration::from_millis(70), "waited the largest Retry-After");
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 4);
    assert_eq!(results[1].as_ref().unwrap().display_name.as_deref(), Some("User 2"));
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 2);
    let second: Value = serde_json::from_slice(&reqs[1].body).unwrap();
    let ids: Vec<&str> =
        second["requests"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["2", "3"], "only the throttled items are re-sent");
}

#[tokio::test]
async fn failed_dependency_is_its_own_error_and_out_of_order_answers_are_matched() {
    let (server, graph) = client().await;
    Mock::given(method("POST"))
        .and(path("/v1.0/$batch"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"responses": [
            {"id": "2", "status": 424, "body": {"error": {"code": "", "message": ""}}},
            {"id": "1", "status": 403, "headers": {"Content-Type": "application/json"},
             "body": {"error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges to complete the operation."}}}
        ]})))
        .expect(1)
        .mount(&server)
        .await;
    let t = tenant();
    let u = UserRef::parse(&uid(1)).unwrap();
    let mut b = Batch::new(t.clone());
    let first = b.add(users::set_sign_in_enabled(&t, &u, false).unwrap().into_parts().0).unwrap();
    let second =
        b.add_after(users::revoke_sign_in_sessions(&t, &u).into_parts().0, &[&first]).unwrap();
    let results = b.send(graph.pipeline(), &BatchOptions::default()).await.unwrap();
    let e1 = results[&first].as_ref().unwrap_err();
    assert_eq!(e1.as_api().unwrap().kind, ApiErrorKind::MissingPermission);
    let e2 = results[&second].as_ref().unwrap_err();
    assert_eq!(e2.as_api().unwrap().kind, ApiErrorKind::FailedDependency);
    let sent: Value =
        serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap();
    assert_eq!(sent["requests"][1]["dependsOn"], json!(["1"]));
}

#[tokio::test]
async fn next_links_inside_a_batch_are_followed_when_asked() {
    let (server, graph) = client().await;
    let uri = server.uri();
    Mock::given(method("POST"))
        .and(path("/v1.0/$batch"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"responses": [
            {"id": "1", "status": 200, "headers": {"Content-Type": "application/json"},
             "body": {"@odata.nextLink": format!("{uri}/v1.0/groups/g/members?$skiptoken=2"), "value": [{"id": "a"}]}}]})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/groups/g/members"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"value": [{"id": "b"}, {"id": "c"}]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let t = tenant();
    let mut b = Batch::new(t.clone());
    let id = b
        .add(cipp_core::ApiRequest::get(t, cipp_core::Audience::Graph, "/v1.0/groups/g/members"))
        .unwrap();
    let opts = BatchOptions { follow_next_links: true, ..Default::default() };
    let results = b.send(graph.pipeline(), &opts).await.unwrap();
    let body: Value = results[&id].as_ref().unwrap().json().unwrap();
    let ids: Vec<&str> =
        body["value"].as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["a", "b", "c"]);
    assert!(body.get("@odata.nextLink").is_none());
}

#[tokio::test]
async fn a_malformed_batch_answer_is_an_error() {
    let (server, graph) = client().await;
    Mock::given(method("POST"))
        .and(path("/v1.0/$batch"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string("{\"responses\": [{\"id\": \"1\", \"status\""),
        )
        .mount(&server)
        .await;
    let t = tenant();
    let ops = vec![users::get(&t, &UserRef::parse(&uid(1)).unwrap(), &[])];
    let err = batch::run(graph.pipeline(), &t, ops, &BatchOptions::default()).await.unwrap_err();
    assert!(matches!(err, cipp_core::Error::Decode(_)), "{err:?}");
}

/// A batch item that is a write (POST, non-idempotent) answered 504 is not resent and its
/// error says the outcome is unknown; a GET item answered 504 and a write answered 429
/// are resent; a 503 write without Retry-After is not.
#[tokio::test]
async fn batch_items_follow_the_resend_rule_per_item() {
    let (server, graph) = client().await;
    let round = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let r2 = round.clone();
    Mock::given(method("POST"))
        .and(path("/v1.0/$batch"))
        .respond_with(move |req: &Request| {
            let n = r2.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let body: Value = serde_json::from_slice(&req.body).unwrap();
            let responses: Vec<Value> = body["requests"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    let id = r["id"].as_str().unwrap();
                    let status = match (n, id) {
                        (0, "1") => 504, // POST: not resent
                        (0, "2") => 504, // GET: resent
                        (0, "3") => 429, // POST: resent
                        (0, "4") => 503, // POST without Retry-After: not resent
                        _ => 201,
                    };
                    let headers = if status == 429 { json!({"Retry-After": "0.01"}) } else { json!({}) };
                    json!({"id": id, "status": status, "headers": headers,
                           "body": if status >= 400 { json!({"error": {"code": "UnknownError", "message": "gateway"}}) } else { json!({"id": id}) }})
                })
                .collect();
            ResponseTemplate::new(200).set_body_json(json!({ "responses": responses }))
        })
        .mount(&server)
        .await;
    let t = tenant();
    let post = |name: &str| {
        cipp_core::ApiRequest::post(t.clone(), cipp_core::Audience::Graph, "/v1.0/users")
            .json(&json!({"displayName": name}))
            .unwrap()
    };
    let mut b = Batch::new(t.clone());
    b.add(post("one")).unwrap();
    b.add(cipp_core::ApiRequest::get(
        t.clone(),
        cipp_core::Audience::Graph,
        format!("/v1.0/users/{}", uid(2)),
    ))
    .unwrap();
    b.add(post("three")).unwrap();
    b.add(post("four")).unwrap();
    let results = b.send(graph.pipeline(), &BatchOptions::default()).await.unwrap();
    let e1 = results["1"].as_ref().unwrap_err();
    assert!(e1.outcome_unknown(), "{e1}");
    assert!(e1.to_string().contains("not resent"), "{e1}");
    assert!(results["2"].is_ok());
    assert!(results["3"].is_ok());
    assert!(results["4"].as_ref().unwrap_err().outcome_unknown());
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 2);
    let second: Value = serde_json::from_slice(&reqs[1].body).unwrap();
    let ids: Vec<&str> =
        second["requests"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["2", "3"]);
}
