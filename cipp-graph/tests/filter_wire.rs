//! Typed `$filter`s (`cipp_graph::filter`) over the real HTTP path: the exact `$filter`
//! each listing sends, its percent-encoding on the wire, and the simulator answering one.

mod common;

use chrono::{TimeZone, Utc};
use cipp_core::Clock;
use cipp_graph::audit::{AuditFilter, SignInFilter};
use cipp_graph::filter::{Filter, Prop};
use common::*;
use serde_json::json;
use uuid::Uuid;
use wiremock::MockServer;

const U: &str = "87d349ed-44d7-43e1-9a83-5f2406dee5bd";

fn prop(path: &str) -> Prop {
    Prop::new(path).unwrap()
}

/// The raw (still percent-encoded) query string of the last request to `path`.
async fn raw_query(server: &MockServer, path: &str) -> String {
    let reqs = server.received_requests().await.unwrap();
    let r = reqs.iter().rev().find(|r| r.url.path() == path).expect("a request to the path");
    r.url.query().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn sign_ins_with_starts_with_and_a_date_range() {
    let (server, t) = contoso().await;
    let since = Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap();
    let until = Utc.with_ymd_and_hms(2026, 11, 27, 12, 30, 0).unwrap();
    let expected =
        "createdDateTime ge 2026-11-20T00:00:00Z and createdDateTime le 2026-11-27T12:30:00Z \
        and (startsWith(appDisplayName,'Office 365') or appDisplayName eq 'Bob''s App')";
    on(&server, "GET /v1.0/auditLogs/signIns?$top=50")
        .query("$filter", expected)
        .reply(200, json!({"value": [{
            "id": "66ea54eb-6301-4ee5-be62-ff5a759b0100", "createdDateTime": "2026-11-21T10:15:02.6843152Z",
            "userPrincipalName": "adelev@contoso.com", "userId": U, "appDisplayName": "Office 365 Exchange Online",
            "ipAddress": "203.0.113.7", "clientAppUsed": "IMAP4", "isInteractive": false,
            "status": {"errorCode": 0, "failureReason": "Other.", "additionalDetails": null}}]}))
        .await;
    let app = prop("appDisplayName");
    let filter = SignInFilter {
        since: Some(since),
        until: Some(until),
        top: Some(50),
        extra: Some(app.starts_with("Office 365") | app.eq("Bob's App")),
        ..Default::default()
    };
    let rows: Vec<_> = t.audit().sign_ins(&filter).collect().await.unwrap();
    assert_eq!(rows[0].app_display_name.as_deref(), Some("Office 365 Exchange Online"));
    // On the wire: every reserved character percent-encoded, `$` and unreserved kept.
    assert_eq!(
        raw_query(&server, "/v1.0/auditLogs/signIns").await,
        "$filter=createdDateTime%20ge%202026-11-20T00%3A00%3A00Z%20and%20createdDateTime%20le%20\
         2026-11-27T12%3A30%3A00Z%20and%20%28startsWith%28appDisplayName%2C%27Office%20365%27%29%20\
         or%20appDisplayName%20eq%20%27Bob%27%27s%20App%27%29&$top=50"
    );
}

#[tokio::test]
async fn a_typed_filter_alone_is_not_parenthesised() {
    let (server, t) = contoso().await;
    on(&server, "GET /v1.0/auditLogs/signIns")
        .query("$filter", "startsWith(appDisplayName,'Azure') or status/errorCode eq 50126")
        .reply(200, json!({"value": []}))
        .await;
    let extra = prop("appDisplayName").starts_with("Azure") | prop("status/errorCode").eq(50126);
    let filter = SignInFilter { extra: Some(extra), ..Default::default() };
    assert!(t.audit().sign_ins(&filter).collect().await.unwrap().is_empty());
}

#[tokio::test]
async fn directory_audits_with_a_lambda_and_a_guid() {
    let (server, t) = contoso().await;
    let since = Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap();
    let correlation = Uuid::parse_str("da159bfb-54fa-4092-8a38-6e1fa7870e30").unwrap();
    let expected = "activityDisplayName eq 'Add member to group' and activityDateTime ge 2026-11-20T00:00:00Z \
        and targetResources/any(t:startsWith(t/displayName,'Sales')) \
        and (result eq 'failure' or correlationId eq da159bfb-54fa-4092-8a38-6e1fa7870e30)";
    on(&server, "GET /v1.0/auditLogs/directoryAudits")
        .query("$filter", expected)
        .reply(200, json!({"value": [{
            "id": "Directory_x", "category": "GroupManagement", "correlationId": correlation.to_string(), "result": "failure",
            "activityDisplayName": "Add member to group", "activityDateTime": "2026-11-21T10:00:00Z",
            "initiatedBy": {"user": {"id": U, "userPrincipalName": "admin@contoso.com"}},
            "targetResources": [{"id": "g1", "displayName": "Sales EMEA", "type": "Group", "modifiedProperties": []}]}]}))
        .await;
    let sales =
        prop("targetResources").any("t", |t| Ok(t.child("displayName")?.starts_with("Sales")));
    let extra =
        sales.unwrap() & (prop("result").eq("failure") | prop("correlationId").eq(correlation));
    let filter = AuditFilter {
        activities: vec!["Add member to group".into()],
        since: Some(since),
        extra: Some(extra),
        ..Default::default()
    };
    let rows: Vec<_> = t.audit().directory_audits(&filter).collect().await.unwrap();
    assert_eq!(rows[0].target_resources[0].display_name.as_deref(), Some("Sales EMEA"));
    assert_eq!(
        raw_query(&server, "/v1.0/auditLogs/directoryAudits").await,
        "$filter=activityDisplayName%20eq%20%27Add%20member%20to%20group%27%20and%20activityDateTime%20ge%20\
         2026-11-20T00%3A00%3A00Z%20and%20targetResources%2Fany%28t%3AstartsWith%28t%2FdisplayName%2C%27Sales%27%29%29\
         %20and%20%28result%20eq%20%27failure%27%20or%20correlationId%20eq%20da159bfb-54fa-4092-8a38-6e1fa7870e30%29"
    );
}

#[tokio::test]
async fn user_listings_take_in_lambdas_and_not_with_eventual_consistency() {
    let (server, t) = contoso().await;
    let sku = Uuid::parse_str("c7df2760-2c81-4ef7-b578-5b5392b571df").unwrap();
    on(&server, "GET /v1.0/users?$count=true")
        .query(
            "$filter",
            "userType in ('Guest','Member') and assignedLicenses/any(x:x/skuId eq c7df2760-2c81-4ef7-b578-5b5392b571df) \
             and not(proxyAddresses/any(p:startsWith(p,'smtp:'))) and manager eq null",
        )
        .header("consistencylevel", "eventual")
        .reply(200, json!({"value": [{"id": U, "displayName": "Adele Vance"}]}))
        .await;
    let licensed = prop("assignedLicenses").any("x", |x| Ok(x.child("skuId")?.eq(sku))).unwrap();
    let smtp = prop("proxyAddresses").any("p", |p| Ok(p.starts_with("smtp:"))).unwrap();
    let f = Filter::all_of([
        prop("userType").is_in(["Guest", "Member"]).unwrap(),
        licensed,
        !smtp,
        prop("manager").is_null(),
    ])
    .unwrap();
    let users = t.users().list().filter(&f).await.unwrap();
    assert_eq!(users[0].display_name.as_deref(), Some("Adele Vance"));
    let raw = raw_query(&server, "/v1.0/users").await;
    assert!(
        raw.starts_with("$filter=userType%20in%20%28%27Guest%27%2C%27Member%27%29%20and%20"),
        "{raw}"
    );
}

#[tokio::test]
async fn a_filter_graph_refuses_is_an_error_with_its_request_id() {
    let (server, t) = contoso().await;
    on(&server, "GET /v1.0/users")
        .query("$filter", "contains(displayName,'sales')")
        .fail(
            400,
            "Request_UnsupportedQuery",
            "Unsupported or invalid query filter clause specified for property 'displayName' of resource 'User'.",
        )
        .await;
    let f = prop("displayName").contains("sales");
    let err = t.users().list().filter(f).await.unwrap_err();
    let api = err.as_api().expect("an API error");
    assert_eq!(api.status, 400);
    assert_eq!(api.code, "Request_UnsupportedQuery");
    assert_eq!(api.request_id.as_deref(), Some("rid-1"));
    assert_eq!(api.tenant, tenant());
}

#[tokio::test]
async fn invalid_names_and_windows_send_nothing() {
    let (server, t) = contoso().await;
    // A name that would inject is refused before any filter exists.
    let injected = Prop::new("appDisplayName eq 'x' or userId");
    assert!(matches!(injected, Err(cipp_core::Error::InvalidInput { .. })));
    assert!(prop("userType").is_in(Vec::<&str>::new()).is_err());
    assert!(prop("tags").any("x:x", |x| Ok(x.eq(1))).is_err());
    // A bad window is refused with a typed filter too.
    let since = Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap();
    let backwards = SignInFilter {
        since: Some(since),
        until: Some(since - chrono::Duration::days(1)),
        extra: Some(prop("appDisplayName").starts_with("Office")),
        ..Default::default()
    };
    assert!(t.audit().sign_ins(&backwards).collect().await.is_err());
    nothing_sent(&server).await;
}

#[tokio::test]
async fn the_simulator_answers_typed_filters() {
    let (_sim, graph, clock) = demo();
    let t = graph.tenant(&tid("contoso.onmicrosoft.com"));
    let app = prop("appDisplayName");
    let week = SignInFilter {
        since: Some(clock.now() - chrono::Duration::days(7)),
        extra: Some(app.starts_with("Office 365")),
        ..Default::default()
    };
    let office: Vec<_> = t.audit().sign_ins(&week).collect().await.unwrap();
    assert_eq!(office.len(), 3);
    let all_office = office
        .iter()
        .all(|s| s.app_display_name.as_deref().is_some_and(|a| a.starts_with("Office 365")));
    assert!(all_office);
    let or_teams = SignInFilter {
        extra: Some(app.starts_with("Office 365") | app.eq("Microsoft Teams")),
        ..week.clone()
    };
    assert_eq!(t.audit().sign_ins(&or_teams).collect().await.unwrap().len(), 4);
    let not_office = SignInFilter { extra: Some(!app.starts_with("Office 365")), ..week };
    assert_eq!(t.audit().sign_ins(&not_office).collect().await.unwrap().len(), 3);
}
