//! The monitoring reads over the real HTTP path (wiremock): restricted senders,
//! soft-deleted mailboxes, the organisation configuration — exact bodies, `$select`, the
//! system-mailbox anchor, decoding, errors.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use cipp_core::{
    Credentials, Endpoints, ManualClock, Pipeline, ReqwestTransport, RetryPolicy, SecretString,
    TenantId,
};
use cipp_exchange::ExoClient;
use serde_json::{json, Value};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockBuilder, MockServer, ResponseTemplate};

const TENANT: &str = "8b9c6a5e-1111-4a2b-9c3d-0123456789ab";
const INVOKE: &str = "/adminapi/beta/8b9c6a5e-1111-4a2b-9c3d-0123456789ab/InvokeCommand";
const SYSTEM: &str =
    "APP:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@8b9c6a5e-1111-4a2b-9c3d-0123456789ab";

async fn client() -> (MockServer, ExoClient) {
    let server = MockServer::start().await;
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 27, 9, 0, 0).unwrap());
    let p = Pipeline::builder()
        .transport(Arc::new(ReqwestTransport::new().unwrap()))
        .endpoints(Endpoints::single_base(&server.uri()))
        .credentials(Credentials::StaticToken(SecretString::from("exo-token")))
        .clock(Arc::new(clock))
        .retry(RetryPolicy {
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            ..RetryPolicy::default()
        })
        .build()
        .unwrap();
    (server, ExoClient::new(p))
}

fn tenant() -> TenantId {
    TenantId::parse(TENANT).unwrap()
}

/// The InvokeCommand request running `name` with `params`, anchored on the system mailbox.
fn cmdlet(name: &str, params: Value) -> MockBuilder {
    Mock::given(method("POST"))
        .and(path(INVOKE))
        .and(header("x-anchormailbox", SYSTEM))
        .and(body_json(
            json!({"CmdletInput": {"CmdletName": name, "Parameters": params}}),
        ))
}

fn rows(v: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "@odata.context": "https://outlook.office365.com/adminapi/beta/$metadata#Collection(Exchange.GenericHashTable)",
        "value": v}))
}

#[tokio::test]
async fn blocked_senders_with_their_reasons() {
    let (server, exo) = client().await;
    cmdlet("Get-BlockedSenderAddress", json!({}))
        .respond_with(rows(json!([{
            "SenderAddress": "meganb@contoso.com",
            "Reason": "ExceedingLimitType=External;InternalRecipientCountToday=0;ExternalRecipientCountToday=501",
            "CreatedDatetime": "2026-11-27T08:15:00Z",
            "ChangedDatetime": "2026-11-27T08:15:00Z",
            "TemporaryBlock": "False",
            "RequestId": "f3c0…"
        }])))
        .expect(1)
        .mount(&server)
        .await;
    let blocked = exo.tenant(&tenant()).blocked_senders().await.unwrap();
    assert_eq!(blocked.len(), 1);
    let b = &blocked[0];
    assert_eq!(b.sender_address.as_deref(), Some("meganb@contoso.com"));
    assert_eq!(b.reason_part("ExceedingLimitType"), Some("External"));
    assert_eq!(b.reason_part("externalrecipientcounttoday"), Some("501"));
    assert_eq!(b.reason_part("Missing"), None);
    assert_eq!(b.temporary_block, Some(false));
    assert_eq!(b.created_datetime.as_deref(), Some("2026-11-27T08:15:00Z"));
    assert!(b.extra.contains_key("RequestId"), "unknown properties kept");
}

#[tokio::test]
async fn soft_deleted_mailboxes_select_what_the_alert_reads() {
    let (server, exo) = client().await;
    cmdlet(
        "Get-Mailbox",
        json!({"SoftDeletedMailbox": true, "ResultSize": "Unlimited"}),
    )
    .and(query_param(
        "$select",
        "ExchangeGuid,ArchiveGuid,WhenSoftDeleted,UserPrincipalName,IsInactiveMailbox",
    ))
    .respond_with(rows(json!([
        {"ExchangeGuid": "0b5d2c10-0000-4000-8000-000000000001", "ArchiveGuid": "00000000-0000-0000-0000-000000000000",
         "WhenSoftDeleted": "2026-11-20T10:00:00Z", "UserPrincipalName": "adelev@contoso.com", "IsInactiveMailbox": false},
        {"ExchangeGuid": "0b5d2c10-0000-4000-8000-000000000002", "UserPrincipalName": "held@contoso.com",
         "IsInactiveMailbox": true}
    ])))
    .expect(1)
    .mount(&server)
    .await;
    let m = exo
        .tenant(&tenant())
        .soft_deleted_mailboxes()
        .await
        .unwrap();
    assert_eq!(m.len(), 2);
    assert_eq!(
        m[0].user_principal_name.as_deref(),
        Some("adelev@contoso.com")
    );
    assert_eq!(
        m[0].when_soft_deleted.as_deref(),
        Some("2026-11-20T10:00:00Z")
    );
    assert_eq!(m[0].is_inactive_mailbox, Some(false));
    assert_eq!(m[1].is_inactive_mailbox, Some(true));
    assert_eq!(m[1].archive_guid, None);
}

#[tokio::test]
async fn organization_config_and_its_errors() {
    let (server, exo) = client().await;
    cmdlet("Get-OrganizationConfig", json!({}))
        .respond_with(rows(
            json!([{"Name": "contoso.onmicrosoft.com", "AuditDisabled": false}]),
        ))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let org = exo.tenant(&tenant()).organization_config().await.unwrap();
    assert_eq!(org["Name"], "contoso.onmicrosoft.com");
    // Refused: the cmdlet's own message comes through.
    cmdlet("Get-OrganizationConfig", json!({}))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"error": {
            "code": "InternalServerError", "message": "Error executing cmdlet",
            "details": [{"code": "Context", "target": "", "message": "Ex6F9304|Microsoft.Exchange.Configuration.Tasks.AccessDeniedException|The user isn't assigned to any management roles."}],
            "innererror": {"message": "Error executing cmdlet", "type": "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
                           "internalException": {"message": "The user isn't assigned to any management roles.", "type": "AccessDeniedException"}}}})))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let err = exo
        .tenant(&tenant())
        .organization_config()
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(403));
    assert!(err.to_string().contains("management roles"), "{err}");
    // No row at all: a protocol error, not an empty configuration.
    cmdlet("Get-OrganizationConfig", json!({}))
        .respond_with(rows(json!([])))
        .mount(&server)
        .await;
    let err = exo
        .tenant(&tenant())
        .organization_config()
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("no organisation configuration"),
        "{err}"
    );
}
