//! Delta queries on the wire: the exact first request, pages followed to the delta link,
//! the saved link used as sent, removals, `members@delta`, and the expired-link paths.
//!
//! Sources: "user: delta" and "group: delta" (v1.0, example responses), "Use delta query to
//! track changes in Microsoft Graph data" (synchronization reset), and Microsoft's note
//! on delta link lifetime (400 `syncStateNotFound` after seven days).

mod common;

use cipp_graph::delta::{DeltaSync, RemovalReason};
use common::{contoso, nothing_sent, on, sent};
use serde_json::json;

const ADELE: &str = "87d349ed-44d7-43e1-9a83-5f2406dee5bd";
const ALEX: &str = "693acd06-2877-4339-8ade-b704261fe7a0";
const GONE: &str = "49320844-be99-4164-8167-87ff5d047ace";
const GROUP: &str = "72052a9a-c466-4995-8210-95a1c1221995";

#[tokio::test]
async fn a_full_sync_follows_every_page_to_the_delta_link() {
    let (server, t) = contoso().await;
    let uri = server.uri();
    on(&server, "GET /v1.0/users/delta?$select=displayName,onPremisesSyncEnabled")
        .reply(
            200,
            json!({
                "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users(displayName,onPremisesSyncEnabled)",
                "@odata.nextLink": format!("{uri}/v1.0/users/delta?$skiptoken=pqwSUjGYvb3jQpbwVAwEL7yuI3dU1LecfkkfLPtnIjsXoYQp_dpA3cNJWc"),
                "value": [{"displayName": "Adele Vance", "onPremisesSyncEnabled": true, "id": ADELE}]
            }),
        )
        .await;
    // The next page is empty but still not the last (Graph may send empty pages).
    on(&server, "GET /v1.0/users/delta?$skiptoken=pqwSUjGYvb3jQpbwVAwEL7yuI3dU1LecfkkfLPtnIjsXoYQp_dpA3cNJWc")
        .reply(200, json!({
            "@odata.nextLink": format!("{uri}/v1.0/users/delta?$skiptoken=page3"),
            "value": []
        }))
        .await;
    on(&server, "GET /v1.0/users/delta?$skiptoken=page3")
        .reply(200, json!({
            "@odata.deltaLink": format!("{uri}/v1.0/users/delta?$deltatoken=mS5DuRZGjVL-abreviated"),
            "value": [{"displayName": "Alex Wilber", "onPremisesSyncEnabled": null, "id": ALEX}]
        }))
        .await;
    let d = t.delta().users(&["displayName", "onPremisesSyncEnabled"], None).await.unwrap();
    assert_eq!(d.sync, DeltaSync::Full);
    assert!(d.is_full());
    assert_eq!(d.changed.len(), 2);
    assert!(d.changed[0].is_synced());
    assert_eq!(d.changed[1].display_name.as_deref(), Some("Alex Wilber"));
    assert!(d.removed.is_empty());
    assert_eq!(d.delta_link, format!("{uri}/v1.0/users/delta?$deltatoken=mS5DuRZGjVL-abreviated"));
    assert_eq!(sent(&server).await, 3);
}

#[tokio::test]
async fn the_saved_link_returns_changes_and_removals() {
    let (server, t) = contoso().await;
    let uri = server.uri();
    let saved = format!("{uri}/v1.0/users/delta?$deltatoken=d1");
    on(&server, "GET /v1.0/users/delta?$deltatoken=d1")
        .reply(
            200,
            json!({
                "@odata.deltaLink": format!("{uri}/v1.0/users/delta?$deltatoken=d2"),
                "value": [
                    {"displayName": "Adele Vance", "onPremisesSyncEnabled": null, "id": ADELE},
                    {"id": ALEX, "@removed": {"reason": "changed"}},
                    {"id": GONE, "@removed": {"reason": "deleted"}}
                ]
            }),
        )
        .await;
    let d = t.delta().users(&["displayName", "onPremisesSyncEnabled"], Some(&saved)).await.unwrap();
    assert_eq!(d.sync, DeltaSync::Changes);
    assert!(!d.is_full());
    assert_eq!(d.changed.len(), 1);
    assert!(!d.changed[0].is_synced());
    assert_eq!(d.removed.len(), 2);
    assert_eq!((d.removed[0].id.as_str(), &d.removed[0].reason), (ALEX, &RemovalReason::Changed));
    assert_eq!(d.removed[1].reason, RemovalReason::Deleted);
    assert_eq!(d.delta_link, format!("{uri}/v1.0/users/delta?$deltatoken=d2"));
    // The saved link is sent as it was: no $select added (the token carries it).
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].url.query(), Some("$deltatoken=d1"));
}

#[tokio::test]
async fn an_expired_link_restarts_with_a_full_sync_and_says_so() {
    let (server, t) = contoso().await;
    let uri = server.uri();
    on(&server, "GET /v1.0/users/delta?$deltatoken=old")
        .fail(410, "resyncRequired", "The delta token is no longer valid; a resync is required.")
        .await;
    on(&server, "GET /v1.0/users/delta?$select=displayName")
        .reply(
            200,
            json!({
                "@odata.deltaLink": format!("{uri}/v1.0/users/delta?$deltatoken=fresh"),
                "value": [{"displayName": "Adele Vance", "id": ADELE}]
            }),
        )
        .await;
    let saved = format!("{uri}/v1.0/users/delta?$deltatoken=old");
    let d = t.delta().users(&["displayName"], Some(&saved)).await.unwrap();
    match &d.sync {
        DeltaSync::Restarted { reason } => assert!(reason.contains("410"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert!(d.is_full());
    assert_eq!(d.changed.len(), 1);
    assert!(d.delta_link.ends_with("$deltatoken=fresh"));
}

#[tokio::test]
async fn sync_state_not_found_after_seven_days_restarts_too() {
    let (server, t) = contoso().await;
    let uri = server.uri();
    on(&server, "GET /v1.0/groups/delta?$deltatoken=week-old")
        .fail(
            400,
            "syncStateNotFound",
            "The sync state generation is not found. The delta token is expired and data must be synchronized again.",
        )
        .await;
    on(&server, "GET /v1.0/groups/delta?$select=displayName,members")
        .query("$filter", &format!("id eq '{GROUP}'"))
        .reply(
            200,
            json!({
                "@odata.deltaLink": format!("{uri}/v1.0/groups/delta?$deltatoken=g2"),
                "value": [{"displayName": "All Company", "id": GROUP, "members@delta": []}]
            }),
        )
        .await;
    let saved = format!("{uri}/v1.0/groups/delta?$deltatoken=week-old");
    let d = t.delta().groups(&["displayName", "members"], &[GROUP], Some(&saved)).await.unwrap();
    assert!(
        matches!(&d.sync, DeltaSync::Restarted { reason } if reason.contains("syncStateNotFound"))
    );
}

#[tokio::test]
async fn other_errors_are_not_mistaken_for_an_expired_link() {
    let (server, t) = contoso().await;
    let uri = server.uri();
    on(&server, "GET /v1.0/users/delta?$deltatoken=d1")
        .fail(
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        )
        .await;
    let saved = format!("{uri}/v1.0/users/delta?$deltatoken=d1");
    let e = t.delta().users(&["displayName"], Some(&saved)).await.unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(403));
    assert_eq!(e.request_id(), Some("rid-1"));
    assert_eq!(
        e.tenant().map(|t| t.as_str().to_owned()).as_deref(),
        Some("contoso.onmicrosoft.com")
    );
    assert_eq!(sent(&server).await, 1, "no full sync after a refusal");
}

#[tokio::test]
async fn group_member_changes_merge_across_pages() {
    let (server, t) = contoso().await;
    let uri = server.uri();
    on(&server, "GET /v1.0/groups/delta?$deltatoken=g1")
        .reply(
            200,
            json!({
                "@odata.nextLink": format!("{uri}/v1.0/groups/delta?$skiptoken=g1p2"),
                "value": [{"displayName": "All Company", "id": GROUP, "members@delta": [
                    {"@odata.type": "#microsoft.graph.user", "id": ALEX}
                ]}]
            }),
        )
        .await;
    on(&server, "GET /v1.0/groups/delta?$skiptoken=g1p2")
        .reply(200, json!({
            "@odata.deltaLink": format!("{uri}/v1.0/groups/delta?$deltatoken=g2"),
            "value": [
                {"id": GROUP, "members@delta": [
                    {"@odata.type": "#microsoft.graph.user", "id": GONE, "@removed": {"reason": "deleted"}}
                ]},
                {"id": "0b8e6d33-1d09-4a9c-9a0a-6b5f1c9b1a11", "@removed": {"reason": "changed"}}
            ]
        }))
        .await;
    let saved = format!("{uri}/v1.0/groups/delta?$deltatoken=g1");
    let d = t.delta().groups(&["displayName", "members"], &[], Some(&saved)).await.unwrap();
    assert_eq!(d.changed.len(), 1, "one group, merged");
    let g = &d.changed[0];
    assert_eq!(g.display_name.as_deref(), Some("All Company"));
    assert_eq!(g.members.len(), 2);
    assert!(!g.members[0].removed && g.members[0].id == ALEX);
    assert!(g.members[1].removed && g.members[1].id == GONE);
    assert_eq!(g.members[1].odata_type.as_deref(), Some("#microsoft.graph.user"));
    assert_eq!(d.removed.len(), 1);
}

#[tokio::test]
async fn a_last_page_without_a_delta_link_is_a_protocol_error() {
    let (server, t) = contoso().await;
    on(&server, "GET /v1.0/users/delta?$select=displayName")
        .reply(200, json!({"value": [{"id": ADELE, "displayName": "Adele Vance"}]}))
        .await;
    let e = t.delta().users(&["displayName"], None).await.unwrap_err();
    assert!(e.to_string().contains("deltaLink"), "{e}");
}

#[tokio::test]
async fn invalid_input_sends_nothing() {
    let (server, t) = contoso().await;
    let uri = server.uri();
    let q = t.delta();
    assert!(q.users(&["display name"], None).await.is_err());
    assert!(q.groups(&["members"], &["not-a-guid"], None).await.is_err());
    let many: Vec<String> = (0..51).map(|i| format!("00000000-0000-0000-0000-{i:012}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    assert!(q.groups(&["members"], &many, None).await.is_err());
    // A saved link of another collection, or not a delta link at all.
    let groups_link = format!("{uri}/v1.0/groups/delta?$deltatoken=g1");
    assert!(q.users(&["displayName"], Some(&groups_link)).await.is_err());
    let users = format!("{uri}/v1.0/users?$skiptoken=x");
    assert!(q.users(&["displayName"], Some(&users)).await.is_err());
    nothing_sent(&server).await;
}
