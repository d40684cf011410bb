//! The audit log query API on the wire: create (exact body), status, records over two pages
//! with the documented record shape, the service's error, and input refused before sending.

mod common;

use chrono::{TimeZone, Utc};
use cipp_graph::audit_queries::NewAuditLogQuery;
use common::*;
use serde_json::json;

fn query() -> NewAuditLogQuery {
    NewAuditLogQuery {
        display_name: "cipp audit 2026-12-01T08".into(),
        filter_start_date_time: Utc.with_ymd_and_hms(2026, 12, 1, 4, 0, 0).unwrap(),
        filter_end_date_time: Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap(),
        record_type_filters: vec!["exchangeAdmin".into()],
        operation_filters: vec![],
        user_principal_name_filters: vec![],
    }
}

#[tokio::test]
async fn create_poll_and_read_records() {
    let (server, t) = contoso().await;
    on(&server, "POST /beta/security/auditLog/queries")
        .body(json!({"displayName": "cipp audit 2026-12-01T08",
                     "filterStartDateTime": "2026-12-01T04:00:00Z",
                     "filterEndDateTime": "2026-12-01T08:00:00Z",
                     "recordTypeFilters": ["exchangeAdmin"]}))
        .reply(201, json!({"@odata.context": "https://graph.microsoft.com/beta/$metadata#security/auditLog/queries/$entity",
                           "id": "168ec429-084b-a489-90d8-504a87846305", "displayName": "cipp audit 2026-12-01T08",
                           "status": "notStarted"}))
        .await;
    let q = t.audit_queries().create(&query()).await.unwrap();
    assert_eq!(q.id, "168ec429-084b-a489-90d8-504a87846305");
    assert!(!q.succeeded());

    on(&server, "GET /beta/security/auditLog/queries/168ec429-084b-a489-90d8-504a87846305")
        .reply(200, json!({"id": "168ec429-084b-a489-90d8-504a87846305", "status": "succeeded"}))
        .await;
    assert!(t.audit_queries().get(&q.id).await.unwrap().succeeded());

    let next = format!(
        "{}/beta/security/auditLog/queries/168ec429-084b-a489-90d8-504a87846305/records?$skiptoken=p2",
        server.uri()
    );
    on(&server, "GET /beta/security/auditLog/queries/168ec429-084b-a489-90d8-504a87846305/records?$skiptoken=p2")
        .reply(200, json!({"value": [{"id": "r2", "createdDateTime": "2026-12-01T05:10:00Z",
            "auditLogRecordType": "exchangeAdmin", "operation": "Set-Mailbox", "service": "Exchange",
            "userPrincipalName": "admin@contoso.com", "auditData": {"Operation": "Set-Mailbox"}}]}))
        .await;
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .and(wiremock::matchers::path("/beta/security/auditLog/queries/168ec429-084b-a489-90d8-504a87846305/records"))
        .and(|r: &wiremock::Request| !r.url.query().unwrap_or("").contains("skiptoken"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(json!({
            "@odata.nextLink": next,
            "value": [{"@odata.type": "#microsoft.graph.security.auditLogRecord",
                "id": "r1", "createdDateTime": "2026-12-01T05:00:00Z", "auditLogRecordType": "exchangeAdmin",
                "operation": "New-InboxRule", "organizationId": "x", "userType": "regular",
                "userId": "megan@contoso.com", "service": "Exchange", "objectId": "megan",
                "userPrincipalName": "megan@contoso.com", "clientIp": "203.0.113.9",
                "auditData": {"@odata.type": "#microsoft.graph.security.exchangeAdminAuditRecord",
                    "Operation": "New-InboxRule",
                    "Parameters": [{"Name": "ForwardTo", "Value": "x@evil.example"}]}}]})))
        .expect(1)
        .mount(&server)
        .await;
    let records = t.audit_queries().records(&q.id).await.unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].operation.as_deref(), Some("New-InboxRule"));
    assert_eq!(records[0].audit_data["Parameters"][0]["Value"], "x@evil.example");
    assert_eq!(records[1].id, "r2");
}

#[tokio::test]
async fn errors_and_bad_input() {
    let (server, t) = contoso().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(graph_error(
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        ))
        .mount(&server)
        .await;
    let err = t.audit_queries().create(&query()).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(403));
    let (server, t) = contoso().await;
    let mut q = query();
    q.filter_end_date_time = q.filter_start_date_time;
    assert!(t.audit_queries().create(&q).await.is_err());
    let mut q = query();
    q.filter_start_date_time = q.filter_end_date_time - chrono::Duration::days(200);
    assert!(t.audit_queries().create(&q).await.is_err());
    let mut q = query();
    q.display_name = " ".into();
    assert!(t.audit_queries().create(&q).await.is_err());
    assert!(t.audit_queries().get("../users").await.is_err());
    assert_eq!(sent(&server).await, 0);
}
