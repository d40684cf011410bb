//! `$batch` over the real HTTP path.

mod common;

use std::time::Duration;

use cipp_core::ApiErrorKind;
use cipp_graph::batch::{self, Batch, BatchOptions};
use cipp_graph::model::{Field, UserPatch};
use cipp_graph::users::{self, UserRef};
use common::*;
use serde_json::{json, Value};
use wiremock::{Request, ResponseTemplate};

const BATCH: &str = "POST /v1.0/$batch";

fn uid(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

fn user(i: usize) -> UserRef {
    UserRef::parse(&uid(i)).unwrap()
}

/// The JSON body of a request.
fn json_of(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap()
}

/// A `$batch` answer: `item(round, id)` answers each request of the batch, `round`
/// counting the batches received so far.
fn batch_answer(
    item: impl Fn(usize, &str) -> Value + Send + Sync + 'static,
) -> impl Fn(&Request) -> ResponseTemplate + Send + Sync + 'static {
    let round = std::sync::atomic::AtomicUsize::new(0);
    move |req: &Request| {
        let n = round.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let responses: Vec<Value> =
            ids(&json_of(&req.body)["requests"]).into_iter().map(|id| item(n, id)).collect();
        ResponseTemplate::new(200).set_body_json(json!({ "responses": responses }))
    }
}

/// The ids of the items in the `i`th `$batch` the server received.
async fn batch_ids(server: &wiremock::MockServer, i: usize) -> Vec<String> {
    let reqs = server.received_requests().await.unwrap();
    let body = json_of(&reqs[i].body);
    ids(&body["requests"]).into_iter().map(str::to_owned).collect()
}

#[tokio::test]
async fn forty_five_patches_in_three_batches_with_documented_item_shape() {
    let (server, graph) = client().await;
    let no_content = |_, id: &str| json!({"id": id, "status": 204, "headers": {}, "body": null});
    on(&server, BATCH).times(3).respond(batch_answer(no_content)).await;
    let t = tenant();
    let ops: Vec<_> = (0..45)
        .map(|i| {
            let patch =
                UserPatch { job_title: Field::Set(format!("Title {i}")), ..Default::default() };
            users::update(&t, &user(i), &patch).unwrap()
        })
        .collect();
    let results = batch::run(graph.pipeline(), &t, ops, &BatchOptions::default()).await.unwrap();
    assert_eq!(results.len(), 45);
    assert!(results.iter().all(|r| r.is_ok()));
    let batches = bodies(&server, "POST").await;
    let mut sizes: Vec<usize> =
        batches.iter().map(|b| b["requests"].as_array().unwrap().len()).collect();
    sizes.sort();
    assert_eq!(sizes, [5, 20, 20]);
    let item = &batches[0]["requests"][0];
    assert_eq!(item["method"], "PATCH");
    let url = item["url"].as_str().unwrap();
    assert!(url.starts_with("/users/"), "url relative to the version: {item}");
    assert_eq!(item["headers"]["content-type"], "application/json");
    assert!(item["body"]["jobTitle"].as_str().unwrap().starts_with("Title "));
}

// Real time on purpose: paused Tokio time and real sockets do not mix (the clock would
// jump to the transport's timeout while waiting for the mock server). The waits are short.
#[tokio::test]
async fn throttled_items_are_resent_alone_after_the_largest_retry_after() {
    let (server, graph) = client().await;
    let answer = batch_answer(|n, id| {
        if n == 0 && (id == "2" || id == "3") {
            let ra = if id == "2" { "0.03" } else { "0.07" };
            json!({"id": id, "status": 429, "headers": {"Retry-After": ra},
                   "body": {"error": {"code": "TooManyRequests", "message": "Please retry again later."}}})
        } else {
            json!({"id": id, "status": 200, "headers": {"Content-Type": "application/json"},
                   "body": {"id": id, "displayName": format!("User {id}")}})
        }
    });
    stub(&server, BATCH).respond(answer).await;
    let t = tenant();
    let ops: Vec<_> = (0..4).map(|i| users::get(&t, &user(i), &[])).collect();
    let start = tokio::time::Instant::now();
    let results = batch::run(graph.pipeline(), &t, ops, &BatchOptions::default()).await.unwrap();
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(70), "waited the largest Retry-After");
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 4);
    let second_user = results[1].as_ref().unwrap();
    assert_eq!(second_user.display_name.as_deref(), Some("User 2"));
    assert_eq!(sent(&server).await, 2);
    assert_eq!(batch_ids(&server, 1).await, ["2", "3"], "only the throttled items are re-sent");
}

#[tokio::test]
async fn failed_dependency_is_its_own_error_and_out_of_order_answers_are_matched() {
    let (server, graph) = client().await;
    on(&server, BATCH)
        .reply(200, json!({"responses": [
            {"id": "2", "status": 424, "body": {"error": {"code": "", "message": ""}}},
            {"id": "1", "status": 403, "headers": {"Content-Type": "application/json"},
             "body": {"error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges to complete the operation."}}}
        ]}))
        .await;
    let t = tenant();
    let u = user(1);
    let mut b = Batch::new(t.clone());
    let block = users::set_sign_in_enabled(&t, &u, false).unwrap().into_parts().0;
    let first = b.add(block).unwrap();
    let revoke = users::revoke_sign_in_sessions(&t, &u).into_parts().0;
    let second = b.add_after(revoke, &[&first]).unwrap();
    let results = b.send(graph.pipeline(), &BatchOptions::default()).await.unwrap();
    let e1 = results[&first].as_ref().unwrap_err();
    assert_eq!(e1.as_api().unwrap().kind, ApiErrorKind::MissingPermission);
    let e2 = results[&second].as_ref().unwrap_err();
    assert_eq!(e2.as_api().unwrap().kind, ApiErrorKind::FailedDependency);
    let sent_batch = &bodies(&server, "POST").await[0];
    assert_eq!(sent_batch["requests"][1]["dependsOn"], json!(["1"]));
}

#[tokio::test]
async fn next_links_inside_a_batch_are_followed_when_asked() {
    let (server, graph) = client().await;
    let next = format!("{}/v1.0/groups/g/members?$skiptoken=2", server.uri());
    stub(&server, BATCH)
        .reply(
            200,
            json!({"responses": [
            {"id": "1", "status": 200, "headers": {"Content-Type": "application/json"},
             "body": {"@odata.nextLink": next, "value": [{"id": "a"}]}}]}),
        )
        .await;
    on(&server, "GET /v1.0/groups/g/members")
        .reply(200, json!({"value": [{"id": "b"}, {"id": "c"}]}))
        .await;
    let t = tenant();
    let mut b = Batch::new(t.clone());
    let members =
        cipp_core::ApiRequest::get(t, cipp_core::Audience::Graph, "/v1.0/groups/g/members");
    let id = b.add(members).unwrap();
    let opts = BatchOptions { follow_next_links: true, ..Default::default() };
    let results = b.send(graph.pipeline(), &opts).await.unwrap();
    let body: Value = results[&id].as_ref().unwrap().json().unwrap();
    assert_eq!(ids(&body["value"]), ["a", "b", "c"]);
    assert!(body.get("@odata.nextLink").is_none());
}

#[tokio::test]
async fn a_malformed_batch_answer_is_an_error() {
    let (server, graph) = client().await;
    let truncated =
        ResponseTemplate::new(200).set_body_string("{\"responses\": [{\"id\": \"1\", \"status\"");
    stub(&server, BATCH).respond(truncated).await;
    let t = tenant();
    let ops = vec![users::get(&t, &user(1), &[])];
    let err = batch::run(graph.pipeline(), &t, ops, &BatchOptions::default()).await.unwrap_err();
    assert!(matches!(err, cipp_core::Error::Decode(_)), "{err:?}");
}

/// A batch item that is a write (POST, non-idempotent) answered 504 is not resent and its
/// error says the outcome is unknown; a GET item answered 504 and a write answered 429
/// are resent; a 503 write without Retry-After is not.
#[tokio::test]
async fn batch_items_follow_the_resend_rule_per_item() {
    let (server, graph) = client().await;
    let answer = batch_answer(|n, id| {
        let status = match (n, id) {
            (0, "1") => 504, // POST: not resent
            (0, "2") => 504, // GET: resent
            (0, "3") => 429, // POST: resent
            (0, "4") => 503, // POST without Retry-After: not resent
            _ => 201,
        };
        let headers = if status == 429 { json!({"Retry-After": "0.01"}) } else { json!({}) };
        let body = if status >= 400 {
            json!({"error": {"code": "UnknownError", "message": "gateway"}})
        } else {
            json!({ "id": id })
        };
        json!({"id": id, "status": status, "headers": headers, "body": body})
    });
    stub(&server, BATCH).respond(answer).await;
    let t = tenant();
    let post = |name: &str| {
        cipp_core::ApiRequest::post(t.clone(), cipp_core::Audience::Graph, "/v1.0/users")
            .json(&json!({ "displayName": name }))
            .unwrap()
    };
    let get = cipp_core::ApiRequest::get(
        t.clone(),
        cipp_core::Audience::Graph,
        format!("/v1.0/users/{}", uid(2)),
    );
    let mut b = Batch::new(t.clone());
    for req in [post("one"), get, post("three"), post("four")] {
        b.add(req).unwrap();
    }
    let results = b.send(graph.pipeline(), &BatchOptions::default()).await.unwrap();
    let e1 = results["1"].as_ref().unwrap_err();
    assert!(e1.outcome_unknown(), "{e1}");
    assert!(e1.to_string().contains("not resent"), "{e1}");
    assert!(results["2"].is_ok());
    assert!(results["3"].is_ok());
    assert!(results["4"].as_ref().unwrap_err().outcome_unknown());
    assert_eq!(sent(&server).await, 2);
    assert_eq!(batch_ids(&server, 1).await, ["2", "3"]);
}

/// A 429 answered to one item throttles that item's tenant and workload for the whole
/// client, not just the batch: a request of the same workload sent right after waits
/// (here, on a background pipeline, is refused as throttled without being sent), and
/// another tenant is not held back.
#[tokio::test]
async fn a_throttled_item_throttles_its_workload_for_the_tenant() {
    let (server, graph) = client().await;
    let answer = batch_answer(|_, id| {
        json!({"id": id, "status": 429, "headers": {"Retry-After": "120"},
               "body": {"error": {"code": "TooManyRequests", "message": "Please retry again later."}}})
    });
    on(&server, BATCH).times(1).respond(answer).await;
    let other = format!("GET /v1.0/users/{}", uid(3));
    on(&server, &other).times(1).reply(200, json!({"id": uid(3)})).await;
    let t = tenant();
    let ops = vec![users::get(&t, &user(1), &[])];
    let no_resend = BatchOptions { max_retry_rounds: 0, ..Default::default() };
    let results = batch::run(graph.pipeline(), &t, ops, &no_resend).await.unwrap();
    let e = results[0].as_ref().unwrap_err();
    assert_eq!(e.as_api().unwrap().status.as_u16(), 429, "{e}");
    let background = graph.pipeline().background(Duration::from_secs(1));
    let same = users::get(&t, &user(2), &[]).into_parts().0;
    match background.send(same).await {
        Err(cipp_core::Error::Throttled { retry_after, .. }) => {
            assert!(retry_after > Duration::from_secs(100), "{retry_after:?}");
        }
        other => panic!("expected Throttled, got {:?}", other.map(|r| r.status)),
    }
    let other_tenant = users::get(&tid("fabrikam.onmicrosoft.com"), &user(3), &[]).into_parts().0;
    assert!(background.send(other_tenant).await.is_ok());
    assert_eq!(sent(&server).await, 2, "the throttled tenant's request was never sent");
}
