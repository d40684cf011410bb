//! The reads the mail and device alerts make: the mailbox usage report, the noncompliant
//! managed devices and a domain's expected DNS records — exact requests, documented
//! answers, errors.
//!
//! Sources: "reportRoot: getMailboxUsageDetail" (beta, JSON example), "List managedDevices"
//! (v1.0), "List serviceConfigurationRecords" (v1.0, example response).

mod common;

use cipp_graph::mailbox_usage::ReportPeriod;
use common::{contoso, nothing_sent, on};
use serde_json::json;

#[tokio::test]
async fn mailbox_usage_detail_as_documented_and_paged() {
    let (server, t) = contoso().await;
    let next = format!(
        "{}/beta/reports/getMailboxUsageDetail(period='D7')?$format=application/json&$top=999&$skiptoken=p2",
        server.uri()
    );
    on(
        &server,
        "GET /beta/reports/getMailboxUsageDetail(period='D7')?$format=application/json&$top=999",
    )
    .first(1)
    .reply(
        200,
        json!({
            "@odata.nextLink": next,
            "value": [{
                "reportRefreshDate": "2017-09-01",
                "userPrincipalName": "userPrincipalName-value",
                "displayName": "displayName-value",
                "isDeleted": false,
                "deletedDate": null,
                "createdDate": "2016-03-30",
                "lastActivityDate": "2017-09-01",
                "itemCount": 138481,
                "storageUsedInBytes": 10414748704_i64,
                "deletedItemCount": 138481,
                "deletedItemSizeInBytes": 10414748704_i64,
                "deletedItemQuota": 107374182400_i64,
                "hasArchive": true,
                "issueWarningQuotaInBytes": 10522698752_i64,
                "prohibitSendQuotaInBytes": 10630040576_i64,
                "prohibitSendReceiveQuotaInBytes": 10737418240_i64,
                "reportPeriod": "7"
            }]
        }),
    )
    .await;
    // The second page as some tenants send it: the CSV's strings.
    on(&server, "GET /beta/reports/getMailboxUsageDetail(period='D7')?$skiptoken=p2")
        .reply(200, json!({"value": [{
            "userPrincipalName": "shared@contoso.com", "isDeleted": "False", "recipientType": "Shared",
            "storageUsedInBytes": "53687091200", "prohibitSendReceiveQuotaInBytes": "53687091200"
        }]}))
        .await;
    let rows = t.mailbox_usage().detail(ReportPeriod::D7).top(999).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].user_principal_name.as_deref(), Some("userPrincipalName-value"));
    assert_eq!(rows[0].is_deleted, Some(false));
    assert_eq!(rows[0].storage_used_in_bytes, Some(10_414_748_704));
    assert_eq!(rows[0].prohibit_send_receive_quota_in_bytes, Some(10_737_418_240));
    assert_eq!(rows[0].usage_percent(), Some(97));
    assert_eq!(rows[0].has_archive, Some(true));
    assert!(rows[0].extra.contains_key("deletedItemQuota"), "unknown properties kept");
    assert_eq!(rows[1].is_deleted, Some(false));
    assert_eq!(rows[1].recipient_type.as_deref(), Some("Shared"));
    assert_eq!(rows[1].usage_percent(), Some(100));
}

#[tokio::test]
async fn mailbox_usage_without_the_report_permission_is_an_error() {
    let (server, t) = contoso().await;
    on(&server, "GET /beta/reports/getMailboxUsageDetail(period='D30')?$format=application/json")
        .fail(403, "UnknownError", "Application is not authorized to perform this operation.")
        .await;
    let err = t.mailbox_usage().detail(ReportPeriod::D30).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(403));
    assert!(err.to_string().contains("not authorized"), "{err}");
}

#[tokio::test]
async fn noncompliant_managed_devices() {
    let (server, t) = contoso().await;
    on(&server, "GET /v1.0/deviceManagement/managedDevices?$filter=complianceState eq 'noncompliant'&$select=id,deviceName,complianceState&$top=999")
        .reply(200, json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#deviceManagement/managedDevices(id,deviceName,complianceState)",
            "value": [{
                "id": "705c034c-034c-705c-4c03-5c704c035c70",
                "deviceName": "Device Name value",
                "managedDeviceOwnerType": "company",
                "complianceState": "noncompliant",
                "lastSyncDateTime": "2016-12-31T23:59:43.797191-08:00"
            }]
        }))
        .await;
    let devices =
        t.managed_devices().noncompliant(&["id", "deviceName", "complianceState"]).await.unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].id, "705c034c-034c-705c-4c03-5c704c035c70");
    assert_eq!(devices[0].compliance_state.as_deref(), Some("noncompliant"));
    assert!(devices[0].last_sync_date_time.is_some(), "offset timestamps read");
    assert_eq!(devices[0].extra["managedDeviceOwnerType"], "company");
}

#[tokio::test]
async fn managed_devices_of_a_tenant_without_intune() {
    let (server, t) = contoso().await;
    on(&server, "GET /v1.0/deviceManagement/managedDevices?$top=5")
        .fail(403, "Forbidden", "Tenant is not licensed for Intune.")
        .await;
    let err = t.managed_devices().list().top(5).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(403));
}

#[tokio::test]
async fn expected_dns_records_of_a_domain() {
    let (server, t) = contoso().await;
    on(&server, "GET /v1.0/domains/contoso.com/serviceConfigurationRecords")
        .reply(200, json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#domains('contoso.com')/serviceConfigurationRecords",
            "value": [
                {
                    "@odata.type": "microsoft.graph.domainDnsMxRecord",
                    "isOptional": false, "label": "contoso.com", "recordType": "Mx",
                    "supportedService": "Email", "ttl": 3600,
                    "mailExchange": "contoso-com.mail.protection.outlook.com", "preference": 0
                },
                {
                    "@odata.type": "microsoft.graph.domainDnsTxtRecord",
                    "isOptional": false, "label": "contoso.com", "recordType": "Txt",
                    "supportedService": "Email", "ttl": 3600,
                    "text": "v=spf1 include: spf.protection.outlook.com ~all"
                }
            ]
        }))
        .await;
    let records = t.directory().service_configuration_records("Contoso.COM").await.unwrap();
    assert_eq!(records.len(), 2);
    assert!(records[0].is_mx() && !records[1].is_mx());
    assert_eq!(
        records[0].mail_exchange.as_deref(),
        Some("contoso-com.mail.protection.outlook.com")
    );
    assert_eq!(records[0].preference, Some(0));
    assert!(records[1].text.as_deref().unwrap().starts_with("v=spf1"));
}

#[tokio::test]
async fn dns_records_of_an_unknown_domain_and_a_bad_name() {
    let (server, t) = contoso().await;
    let err =
        t.directory().service_configuration_records("contoso.com/../users").await.unwrap_err();
    assert!(err.to_string().contains("not a domain name"), "{err}");
    nothing_sent(&server).await;
    on(&server, "GET /v1.0/domains/fabrikam.com/serviceConfigurationRecords")
        .fail(404, "Request_ResourceNotFound", "Resource 'fabrikam.com' does not exist or one of its queried reference-property objects are not present.")
        .await;
    let err = t.directory().service_configuration_records("fabrikam.com").await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
}
