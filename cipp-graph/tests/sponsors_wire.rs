//! Sponsors over the real HTTP path (wiremock) and on the simulator.
//!
//! Sources: "List sponsors" (`GET /users/{id}/sponsors`, a collection of user and group
//! objects), "Add sponsor" (`POST /users/{id}/sponsors/$ref` with the read URL of the user
//! or group in `@odata.id`, 204), "Remove sponsor" (`DELETE /users/{id}/sponsors/{id}/$ref`,
//! 204) — all v1.0.

mod common;

use cipp_core::ApiErrorKind;
use cipp_graph::model::DirectoryObjectId;
use cipp_graph::sponsors::Sponsor;
use common::*;
use serde_json::{json, Value};

const GUEST: &str = "48d31887-5fad-4d73-a9f5-3c356e68a038";
const ADELE: &str = "87d349ed-44d7-43e1-9a83-5f2406dee5bd";
const GROUP: &str = "46cc6179-19d0-473e-97ad-6ff84347bbbb";

#[tokio::test]
async fn sponsors_are_listed_added_by_reference_and_removed_by_reference() {
    let (server, t) = contoso().await;
    on(&server, &format!("GET /v1.0/users/{GUEST}/sponsors"))
        .reply(200, json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#directoryObjects",
            "value": [
                {"@odata.type": "#microsoft.graph.user", "id": ADELE, "displayName": "Adele Vance",
                 "userPrincipalName": "adelev@contoso.com"},
                {"@odata.type": "#microsoft.graph.group", "id": GROUP, "displayName": "Guest sponsors"}]
        }))
        .await;
    on(&server, &format!("POST /v1.0/users/{GUEST}/sponsors/$ref"))
        .header("content-type", "application/json")
        .body(json!({"@odata.id": format!("{}/v1.0/users/{ADELE}", server.uri())}))
        .reply(204, Value::Null)
        .await;
    on(&server, &format!("POST /v1.0/users/{GUEST}/sponsors/$ref"))
        .body(json!({"@odata.id": format!("{}/v1.0/groups/{GROUP}", server.uri())}))
        .reply(204, Value::Null)
        .await;
    on(&server, &format!("DELETE /v1.0/users/{GUEST}/sponsors/{ADELE}/$ref"))
        .reply(204, Value::Null)
        .await;

    let users = t.users();
    let guest = user(GUEST);
    let list = users.sponsors(&guest).await.unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[1].odata_type.as_deref(), Some("#microsoft.graph.group"));
    users.add_sponsor(&guest, &Sponsor::user(ADELE)).await.unwrap();
    users.add_sponsor(&guest, &Sponsor::group(GROUP)).await.unwrap();
    users.remove_sponsor(&guest, &DirectoryObjectId::from(ADELE)).await.unwrap();
}

#[tokio::test]
async fn graph_errors_are_read_and_bad_ids_never_sent() {
    let (server, t) = contoso().await;
    on(&server, &format!("POST /v1.0/users/{GUEST}/sponsors/$ref"))
        .fail(
            400,
            "Request_BadRequest",
            "One or more added object references already exist for the following modified properties: 'sponsors'.",
        )
        .await;
    let e = t.users().add_sponsor(&user(GUEST), &Sponsor::user(ADELE)).await.unwrap_err();
    let api = e.as_api().unwrap();
    assert_eq!(api.kind, ApiErrorKind::BadRequest);
    assert_eq!(api.request_id.as_deref(), Some("rid-1"));
    assert!(e.to_string().contains("already exist"), "{e}");

    let (server2, t2) = contoso().await;
    let users = t2.users();
    assert!(users.add_sponsor(&user(GUEST), &Sponsor::user("adelev@contoso.com")).await.is_err());
    assert!(users
        .remove_sponsor(&user(GUEST), &DirectoryObjectId::from("not-a-guid"))
        .await
        .is_err());
    nothing_sent(&server2).await;
    drop(server);
}

#[tokio::test]
async fn the_simulator_keeps_sponsors_and_answers_like_graph() {
    let (_sim, graph, _clock) = demo();
    let t = graph.tenant(&tenant());
    let users = t.users();
    let megan = user("meganb@contoso.com");
    let adele = users.get(&user("adelev@contoso.com")).await.unwrap();
    let adele_id = adele.id.unwrap().0;
    assert!(users.sponsors(&megan).await.unwrap().is_empty());
    users.add_sponsor(&megan, &Sponsor::user(adele_id.as_str())).await.unwrap();
    let again = users.add_sponsor(&megan, &Sponsor::user(adele_id.as_str())).await.unwrap_err();
    assert_eq!(again.as_api().unwrap().kind, ApiErrorKind::BadRequest);
    // A user's id named as a group does not exist as a group.
    let wrong = users.add_sponsor(&megan, &Sponsor::group(adele_id.as_str())).await.unwrap_err();
    assert_eq!(wrong.as_api().unwrap().kind, ApiErrorKind::NotFound);
    let list = users.sponsors(&megan).await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].display_name.as_deref(), Some("Adele Vance"));
    let id = DirectoryObjectId::from(adele_id.as_str());
    users.remove_sponsor(&megan, &id).await.unwrap();
    let gone = users.remove_sponsor(&megan, &id).await.unwrap_err();
    assert_eq!(gone.as_api().unwrap().kind, ApiErrorKind::NotFound);
}
