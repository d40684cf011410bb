//! The recycle bin's exact requests and the documented answers (wiremock).
//!
//! Sources: "List deletedItems (directory objects)", "Get deleted item (directory object)",
//! "Restore deleted item (directory object)" (v1.0 and beta: `newUserPrincipalName`,
//! `autoReconcileProxyConflict`), "Permanently delete an item (directory object)".

mod common;

use cipp_graph::model::DirectoryObjectId;
use cipp_graph::recycle_bin::RestoreOptions;
use common::{contoso, nothing_sent, on};
use serde_json::{json, Value};

const ID: &str = "78bf875b-9343-4edc-9130-0d3958113563";

#[tokio::test]
async fn deleted_users_and_groups_are_listed_with_search_and_count() {
    let (server, t) = contoso().await;
    on(&server, "GET /v1.0/directory/deletedItems/microsoft.graph.user?$search=\"displayName:Sample\"&$count=true")
        .header("ConsistencyLevel", "eventual")
        .reply(200, json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users",
            "@odata.count": 1,
            "value": [{"id": ID, "displayName": "SampleUser", "userPrincipalName": "sampleuser@contoso.com",
                       "deletedDateTime": "2026-11-20T10:00:00Z", "businessPhones": []}]
        }))
        .await;
    on(&server, "GET /v1.0/directory/deletedItems/microsoft.graph.group")
        .reply(200, json!({"value": [{"id": "46cc6179-19d0-473e-97ad-6ff84347bbbb", "displayName": "SampleGroup",
            "groupTypes": ["Unified"], "mailEnabled": true, "securityEnabled": false}]}))
        .await;
    let bin = t.recycle_bin();
    let users = bin.deleted_users().search("\"displayName:Sample\"").count().await.unwrap();
    assert_eq!(users[0].user_principal_name.as_deref(), Some("sampleuser@contoso.com"));
    let groups = bin.deleted_groups().await.unwrap();
    assert_eq!(groups[0].display_name.as_deref(), Some("SampleGroup"));
}

#[tokio::test]
async fn restore_is_v1_without_a_body_and_beta_with_options() {
    let (server, t) = contoso().await;
    let restored = json!({"@odata.context": "https://graph.microsoft.com/beta/$metadata#directoryObjects/$entity",
        "@odata.type": "#microsoft.graph.user", "id": ID, "displayName": "SampleUser",
        "userPrincipalName": "johndoe@contoso.com"});
    on(&server, &format!("POST /v1.0/directory/deletedItems/{ID}/restore"))
        .reply(200, restored.clone())
        .await;
    on(&server, &format!("POST /beta/directory/deletedItems/{ID}/restore"))
        .body(json!({"newUserPrincipalName": "johndoe@contoso.com", "autoReconcileProxyConflict": true}))
        .reply(200, restored)
        .await;
    on(&server, &format!("GET /v1.0/directory/deletedItems/{ID}"))
        .reply(200, json!({"@odata.type": "#microsoft.graph.user", "id": ID, "displayName": "SampleUser",
                           "userPrincipalName": "sampleuser@contoso.com", "deletedDateTime": "2026-11-20T10:00:00Z"}))
        .await;
    on(&server, &format!("DELETE /v1.0/directory/deletedItems/{ID}")).reply(204, Value::Null).await;

    let bin = t.recycle_bin();
    let id = DirectoryObjectId::from(ID);
    let got = bin.get(&id).await.unwrap();
    assert_eq!(got.extra["userPrincipalName"], json!("sampleuser@contoso.com"));
    let plain = bin.restore(&id, &RestoreOptions::default()).await.unwrap();
    assert_eq!(plain.odata_type.as_deref(), Some("#microsoft.graph.user"));
    let options = RestoreOptions::default()
        .new_user_principal_name("johndoe@contoso.com")
        .auto_reconcile_proxy_conflict(true);
    let renamed = bin.restore(&id, &options).await.unwrap();
    assert_eq!(renamed.extra["userPrincipalName"], json!("johndoe@contoso.com"));
    bin.delete_permanently(&id).await.unwrap();
    let sent = server.received_requests().await.unwrap();
    let v1 = sent
        .iter()
        .find(|r| r.url.path().starts_with("/v1.0") && r.method.as_str() == "POST")
        .unwrap();
    assert!(v1.body.is_empty(), "v1.0 restore takes no body");
}

#[tokio::test]
async fn bad_ids_and_upns_are_refused_before_sending() {
    let (server, t) = contoso().await;
    let bin = t.recycle_bin();
    for (why, id, options) in [
        ("not a GUID", "adele@contoso.com", RestoreOptions::default()),
        (
            "not a GUID with options",
            "x",
            RestoreOptions::default().auto_reconcile_proxy_conflict(true),
        ),
        ("UPN without a domain", ID, RestoreOptions::default().new_user_principal_name("johndoe")),
    ] {
        let e = bin.restore(&DirectoryObjectId::from(id), &options).await;
        assert!(e.is_err(), "{why}");
    }
    assert!(bin.get(&DirectoryObjectId::from("nope")).await.is_err());
    nothing_sent(&server).await;
}
