//! The Exchange admin API over the real HTTP path (wiremock).

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use cipp_core::{
    ApiErrorKind, Credentials, Endpoints, ManualClock, Outcome, Pipeline, ReqwestTransport,
    RetryPolicy, SecretString, TenantId,
};
use cipp_exchange::addresses::AliasChange;
use cipp_exchange::cmdlet::{Anchor, Cmdlet};
use cipp_exchange::cmdlets::{self, AutoReply, Forwarding, MailboxType};
use cipp_exchange::ExoClient;
use serde_json::{json, Value};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockBuilder, MockServer, Request, Respond, ResponseTemplate};

const TENANT: &str = "8b9c6a5e-1111-4a2b-9c3d-0123456789ab";
const INVOKE: &str = "/adminapi/beta/8b9c6a5e-1111-4a2b-9c3d-0123456789ab/InvokeCommand";
const SYSTEM: &str =
    "APP:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@8b9c6a5e-1111-4a2b-9c3d-0123456789ab";

fn tenant() -> TenantId {
    TenantId::parse(TENANT).unwrap()
}

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

fn cmdlet_body(name: &str, params: Value) -> Value {
    json!({"CmdletInput": {"CmdletName": name, "Parameters": params}})
}

fn rows(v: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "@odata.context": "https://outlook.office365.com/adminapi/beta/$metadata#Collection(Exchange.GenericHashTable)",
        "value": v}))
}

fn exo_error(status: u16, exception: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({"error": {
        "code": "InternalServerError", "message": "Error executing cmdlet",
        "details": [{"code": "Context", "target": "", "message": format!("Ex6F9304|{exception}|{message}")}],
        "innererror": {"message": "Error executing cmdlet", "type": "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
                       "internalException": {"message": message, "type": exception}}}}))
}

/// Requests to `p` (a POST, as every Exchange admin API call is).
fn post(p: &str) -> MockBuilder {
    Mock::given(method("POST")).and(path(p))
}

/// The InvokeCommand request running `name` with `params`.
fn cmdlet(name: &str, params: Value) -> MockBuilder {
    post(INVOKE).and(body_json(cmdlet_body(name, params)))
}

/// Mounts `mock` answering `reply`, expected exactly `times` times.
async fn expect(server: &MockServer, mock: MockBuilder, reply: impl Respond + 'static, times: u64) {
    mock.respond_with(reply).expect(times).mount(server).await;
}

/// Mounts `mock` answering `reply` any number of times.
async fn serve(server: &MockServer, mock: MockBuilder, reply: impl Respond + 'static) {
    mock.respond_with(reply).mount(server).await;
}

/// Mounts `mock` answering `reply` for its first match only.
async fn once(server: &MockServer, mock: MockBuilder, reply: ResponseTemplate) {
    mock.respond_with(reply)
        .up_to_n_times(1)
        .mount(server)
        .await;
}

/// The JSON bodies `server` received, in order.
async fn bodies(server: &MockServer) -> Vec<Value> {
    let requests = server.received_requests().await.unwrap();
    requests
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

/// How many items each `$batch` request `server` received held.
async fn batch_sizes(server: &MockServer) -> Vec<usize> {
    let sent = bodies(server).await;
    sent.iter()
        .map(|b| b["requests"].as_array().unwrap().len())
        .collect()
}

/// The Exchange `$batch` path of the tenant.
const BATCH: &str = "/adminapi/beta/8b9c6a5e-1111-4a2b-9c3d-0123456789ab/$batch";

/// A `$batch` answer built item by item: `item(call, id, request item)` answers each item
/// of the `call`-th batch request (from 0).
fn batch_answer(
    item: impl Fn(usize, &str, &Value) -> Value + Send + Sync + 'static,
) -> impl Respond + 'static {
    let calls = std::sync::atomic::AtomicUsize::new(0);
    move |req: &Request| {
        let n = calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        let items = body["requests"].as_array().unwrap();
        let answers: Vec<Value> = items
            .iter()
            .map(|r| item(n, r["id"].as_str().unwrap(), r))
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({ "responses": answers }))
    }
}

#[tokio::test]
async fn invoke_sends_the_documented_body_and_headers() {
    let (server, exo) = client().await;
    let filter = "(RecipientTypeDetails -eq 'UserMailbox')";
    let get = cmdlet(
        "Get-Mailbox",
        json!({"ResultSize": "Unlimited", "Filter": filter}),
    )
    .and(query_param("$select", "Identity,EmailAddresses"))
    .and(header("authorization", "Bearer exo-token"))
    .and(header("x-anchormailbox", SYSTEM))
    .and(header("prefer", "odata.maxpagesize=1000"))
    .and(header("content-type", "application/json; charset=utf-8"));
    let adele = json!([{"Identity": "Adele Vance", "EmailAddresses": ["SMTP:adelev@contoso.com"]}]);
    expect(&server, get, rows(adele), 1).await;
    let c = cmdlets::list_mailboxes(Some(filter)).select(["Identity", "EmailAddresses"]);
    let out = exo.invoke(&tenant(), &c).await.unwrap();
    assert_eq!(out.value[0]["Identity"], "Adele Vance");
}

#[tokio::test]
async fn paging_re_posts_the_same_body_to_the_next_link() {
    let (server, exo) = client().await;
    let uri = server.uri();
    let answer = move |req: &Request| {
        if req.url.query().unwrap_or("").contains("skiptoken") {
            rows(json!([{"Identity": "Two"}]))
        } else {
            ResponseTemplate::new(200).set_body_json(json!({
                "@odata.nextLink": format!("{uri}{INVOKE}?$skiptoken=1000"),
                "value": [{"Identity": "One"}]}))
        }
    };
    let get = cmdlet("Get-Mailbox", json!({"ResultSize": "Unlimited"}));
    expect(&server, get, answer, 2).await;
    let list = cmdlets::list_mailboxes(None);
    let out = exo.invoke(&tenant(), &list).await.unwrap();
    let ids: Vec<&str> = out
        .value
        .iter()
        .map(|v| v["Identity"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["One", "Two"]);
}

#[tokio::test]
async fn warnings_are_surfaced() {
    let (server, exo) = client().await;
    let warned = ResponseTemplate::new(200).set_body_json(json!({
        "@adminapi.warnings": ["The command completed successfully but no settings of 'Megan Bowen' have been modified."],
        "value": null}));
    serve(&server, post(INVOKE), warned).await;
    let hide = cmdlets::set_hidden_from_address_lists("meganb@contoso.com", true).unwrap();
    let out = exo.invoke(&tenant(), &hide).await.unwrap();
    assert!(out.nothing_modified());
}

#[tokio::test]
async fn errors_come_from_details_then_internal_exception() {
    let (server, exo) = client().await;
    let not_found = exo_error(404, "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
        "The operation couldn't be performed because object 'nobody@contoso.com' couldn't be found on 'AM0PR01A001DC01.EURPR01A001.prod.outlook.com'.");
    serve(&server, post(INVOKE), not_found).await;
    let t = tenant();
    let err = exo
        .tenant(&t)
        .get_mailbox("nobody@contoso.com")
        .await
        .unwrap_err();
    let api = err.as_api().unwrap();
    assert_eq!(api.kind, ApiErrorKind::NotFound);
    assert_eq!(api.operation, "Get-Mailbox");
    let detail = api.detail.as_deref().unwrap();
    assert!(detail.contains("'nobody@contoso.com' couldn't be found"));
    assert!(err.to_string().contains("nobody@contoso.com"), "{err}");
}

#[tokio::test]
async fn aliases_rewrite_the_full_list_anchored_on_the_mailbox() {
    let (server, exo) = client().await;
    let get = cmdlet("Get-Mailbox", json!({"Identity": "adelev@contoso.com"}))
        .and(header("x-anchormailbox", "adelev@contoso.com"));
    let adele = json!([{"Identity": "Adele Vance", "EmailAddresses": ["SMTP:adelev@contoso.com", "smtp:adele@contoso.onmicrosoft.com", "X500:/o=ExchangeLabs/cn=x"]}]);
    serve(&server, get, rows(adele)).await;
    let set = cmdlet(
        "Set-Mailbox",
        json!({"Identity": "adelev@contoso.com",
        "EmailAddresses": ["SMTP:adele.vance@contoso.com", "smtp:adelev@contoso.com", "smtp:adele@contoso.onmicrosoft.com", "X500:/o=ExchangeLabs/cn=x"]}),
    );
    expect(&server, set, rows(json!([])), 1).await;
    let t = tenant();
    let change = |add: &str, primary: bool| AliasChange {
        add: vec![add.into()],
        make_primary: primary.then(|| add.into()),
        ..Default::default()
    };
    let adele = exo.tenant(&t);
    let o = adele
        .change_aliases(
            "adelev@contoso.com",
            &change("adele.vance@contoso.com", true),
        )
        .await
        .unwrap();
    assert!(matches!(o, Outcome::Succeeded { .. }));
    // Adding what is there already changes nothing and sends no Set-Mailbox.
    let again = adele
        .change_aliases("adelev@contoso.com", &change("ADELEV@contoso.com", false))
        .await
        .unwrap();
    assert!(matches!(again, Outcome::NoChange { .. }));
    // Bad input never leaves.
    let before = server.received_requests().await.unwrap().len();
    let bad = adele
        .change_aliases("adelev@contoso.com", &change("not-an-address", false))
        .await;
    assert!(bad.is_err());
    assert_eq!(server.received_requests().await.unwrap().len(), before);
}

#[tokio::test]
async fn forwarding_bodies() {
    let (server, exo) = client().await;
    serve(&server, post(INVOKE), rows(json!([]))).await;
    let t = tenant();
    let external = Forwarding::External {
        address: "x@fabrikam.com".into(),
        keep_copy: true,
    };
    let internal = Forwarding::Internal {
        recipient: "alexw@contoso.com".into(),
        keep_copy: false,
    };
    for f in [&external, &internal, &Forwarding::Disabled] {
        exo.tenant(&t)
            .set_forwarding("meganb@contoso.com", f)
            .await
            .unwrap();
    }
    let set = |params: Value| cmdlet_body("Set-Mailbox", params);
    assert_eq!(
        bodies(&server).await,
        [
            set(
                json!({"Identity": "meganb@contoso.com", "ForwardingSMTPAddress": "smtp:x@fabrikam.com", "ForwardingAddress": null, "DeliverToMailboxAndForward": true})
            ),
            set(
                json!({"Identity": "meganb@contoso.com", "ForwardingAddress": "alexw@contoso.com", "ForwardingSMTPAddress": null, "DeliverToMailboxAndForward": false})
            ),
            set(
                json!({"Identity": "meganb@contoso.com", "ForwardingSMTPAddress": null, "ForwardingAddress": null, "DeliverToMailboxAndForward": false})
            ),
        ]
    );
    let bad = Forwarding::External {
        address: "nope".into(),
        keep_copy: true,
    };
    assert!(cmdlets::set_forwarding("m@contoso.com", &bad).is_err());
}

#[tokio::test]
async fn converting_a_large_mailbox_to_shared_warns() {
    let (server, exo) = client().await;
    let stats = cmdlet(
        "Get-MailboxStatistics",
        json!({"Identity": "meganb@contoso.com"}),
    );
    let large = json!([{"DisplayName": "Megan Bowen", "TotalItemSize": "52.3 GB (56,156,954,214 bytes)", "ItemCount": 81234}]);
    serve(&server, stats, rows(large)).await;
    let set = cmdlet(
        "Set-Mailbox",
        json!({"Identity": "meganb@contoso.com", "Type": "Shared"}),
    );
    expect(&server, set, rows(json!([])), 1).await;
    let t = tenant();
    let mailbox = exo.tenant(&t);
    let c = mailbox
        .convert_mailbox("meganb@contoso.com", MailboxType::Shared)
        .await
        .unwrap();
    assert_eq!(c.warnings.len(), 1);
    assert!(c.warnings[0].contains("50 GB"));
}

#[tokio::test]
async fn inbox_rules_skip_system_rules_and_are_disabled_one_by_one() {
    let (server, exo) = client().await;
    let get = cmdlet(
        "Get-InboxRule",
        json!({"Mailbox": "meganb@contoso.com", "IncludeHidden": true}),
    )
    .and(header("x-anchormailbox", "meganb@contoso.com"));
    let rules = rows(json!([
        {"Identity": "meganb@contoso.com\\1", "Name": "Junk E-Mail Rule", "Enabled": true},
        {"Identity": "meganb@contoso.com\\2", "Name": "Microsoft.Exchange.OOF.KnownSenders.Template", "Enabled": true},
        {"Identity": "meganb@contoso.com\\3", "Name": "..", "Enabled": true, "ForwardTo": ["collector@evil-mail.example"], "MoveToFolder": "RSS Feeds"},
        {"Identity": "meganb@contoso.com\\4", "Name": "Old", "Enabled": false}]));
    serve(&server, get, rules).await;
    let disable = json!({"Identity": "meganb@contoso.com\\3", "Confirm": false});
    expect(
        &server,
        cmdlet("Disable-InboxRule", disable),
        rows(json!([])),
        1,
    )
    .await;
    let t = tenant();
    let megan = exo.tenant(&t);
    let rules = megan.inbox_rules("meganb@contoso.com").await.unwrap();
    assert_eq!(rules.len(), 2);
    let report = megan
        .disable_all_inbox_rules("meganb@contoso.com")
        .await
        .unwrap();
    assert!(
        matches!(report.overall(), Outcome::Succeeded { .. }),
        "{report:?}"
    );
    assert!(matches!(report.steps[1].outcome, Outcome::NoChange { .. }));
}

#[tokio::test]
async fn scheduled_auto_reply_without_dates_runs_a_week_from_now() {
    let (server, exo) = client().await;
    let set = cmdlet(
        "Set-MailboxAutoReplyConfiguration",
        json!({"Identity": "adelev@contoso.com",
        "AutoReplyState": "Scheduled", "StartTime": "2026-11-27T09:00:00Z", "EndTime": "2026-12-04T09:00:00Z",
        "InternalMessage": "Away", "ExternalAudience": "None"}),
    );
    expect(&server, set, rows(json!([])), 1).await;
    let no_dates = AutoReply::Scheduled {
        start: None,
        end: None,
    };
    let t = tenant();
    let adele = exo.tenant(&t);
    adele
        .set_auto_reply("adelev@contoso.com", &no_dates, Some("Away"), None)
        .await
        .unwrap();
}

#[tokio::test]
async fn permission_and_group_cmdlet_shapes() {
    let send_on_behalf = cmdlets::send_on_behalf("m@contoso.com", "a@contoso.com", true).unwrap();
    assert_eq!(
        send_on_behalf.parameters["GrantSendOnBehalfTo"],
        json!({"@odata.type": "#Exchange.GenericHashTable", "add": ["a@contoso.com"]})
    );
    let full = cmdlets::add_full_access("m@contoso.com", "a@contoso.com", false).unwrap();
    assert_eq!(
        Value::Object(full.parameters),
        json!({"Identity": "m@contoso.com", "User": "a@contoso.com", "AccessRights": ["FullAccess"], "AutoMapping": false, "InheritanceType": "All"})
    );
    let cal = cmdlets::set_calendar_permission("m@contoso.com", "a@contoso.com", "Editor", false)
        .unwrap();
    assert_eq!(cal.parameters["Identity"], "m@contoso.com:\\Calendar");
    assert!(
        cmdlets::set_calendar_permission("m@contoso.com", "a@contoso.com", "God", false).is_err()
    );
    let dl =
        cmdlets::add_distribution_group_member("everyone@contoso.com", "a@contoso.com").unwrap();
    assert_eq!(dl.parameters["BypassSecurityGroupManagerCheck"], true);
    assert_eq!(dl.anchor, Anchor::System);
    let search = cmdlets::search_unified_audit_log(
        Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, 0).unwrap(),
        &["New-InboxRule"],
        &["m@contoso.com"],
        "sess",
    )
    .unwrap();
    assert_eq!(search.parameters["SessionCommand"], "ReturnLargeSet");
    assert_eq!(search.parameters["ResultSize"], 5000);
    assert!(Cmdlet::new("NotACmdlet").to_request(&tenant()).is_err());
}

#[tokio::test]
async fn unified_audit_log_pages_of_5000_until_short() {
    let (server, exo) = client().await;
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let answer = move |req: &Request| {
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        assert_eq!(body["CmdletInput"]["CmdletName"], "Search-UnifiedAuditLog");
        let n = calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let count = if n == 0 { 5000 } else { 3 };
        let page: Vec<Value> = (0..count)
            .map(|i| json!({"RecordType": "ExchangeAdmin", "CreationDate": "2026-11-26T10:00:00Z", "UserIds": "m@contoso.com",
                            "Operations": "New-InboxRule", "AuditData": "{\"Operation\":\"New-InboxRule\"}", "ResultIndex": i + 1, "ResultCount": 5003}))
            .collect();
        rows(json!(page))
    };
    serve(&server, post(INVOKE), answer).await;
    let start = Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap();
    let end = Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, 0).unwrap();
    let t = tenant();
    let log = exo.tenant(&t);
    let records = log
        .search_unified_audit_log(start, end, &["New-InboxRule"], &[], 100_000)
        .await
        .unwrap();
    assert_eq!(records.len(), 5003);
    let first = records[0].audit_data_json().unwrap();
    assert_eq!(first["Operation"], "New-InboxRule");
    let sent = bodies(&server).await;
    let session = |i: usize| sent[i]["CmdletInput"]["Parameters"]["SessionId"].clone();
    assert_eq!(session(0), session(1), "one session");
}

#[tokio::test]
async fn batch_of_ten_with_one_failing_item() {
    let (server, exo) = client().await;
    let answer = batch_answer(|_, id, r| {
        assert_eq!(r["method"], "POST");
        assert!(r["url"].as_str().unwrap().ends_with("/InvokeCommand"));
        assert_eq!(
            r["headers"]["X-CmdletName"],
            r["body"]["CmdletInput"]["CmdletName"]
        );
        if id == "3" {
            json!({"id": id, "status": 404, "body": {"error": {"code": "NotFound", "message": "Error executing cmdlet",
                "details": [{"message": "Ex1|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|The operation couldn't be performed because object 'ghost@contoso.com' couldn't be found.", "target": ""}]}}})
        } else {
            json!({"id": id, "status": 200, "body": {"value": [{"Identity": format!("user{id}")}]}})
        }
    });
    expect(&server, post(BATCH), answer, 2).await;
    let list: Vec<Cmdlet<_>> = (0..12)
        .map(|i| cmdlets::get_mailbox(&format!("user{i}@contoso.com")).unwrap())
        .collect();
    let results = exo.batch(&tenant(), &list).await.unwrap();
    assert_eq!(results.len(), 12);
    assert!(results[3].as_ref().unwrap_err().is_not_found());
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 11);
    assert_eq!(results[5].as_ref().unwrap().value[0]["Identity"], "user5");
    assert_eq!(batch_sizes(&server).await, [10, 2]);
}

#[tokio::test]
async fn throttled_batch_items_are_resent_after_their_retry_after() {
    let (server, exo) = client().await;
    let answer = batch_answer(|n, id, _| {
        if n == 0 && id == "1" {
            json!({"id": id, "status": 429, "headers": {"Retry-After": "0.02"}, "body": {"error": {"message": "throttled"}}})
        } else {
            json!({"id": id, "status": 200, "body": {"value": [{"Identity": id}]}})
        }
    });
    serve(&server, post(BATCH), answer).await;
    let list: Vec<Cmdlet<_>> = (0..3)
        .map(|i| cmdlets::get_mailbox(&format!("u{i}@contoso.com")).unwrap())
        .collect();
    let results = exo.batch(&tenant(), &list).await.unwrap();
    assert!(results.iter().all(|r| r.is_ok()));
    let sizes = batch_sizes(&server).await;
    assert_eq!(sizes, [3, 1], "only the throttled item is re-sent");
}

/// A write cmdlet (`Set-Mailbox`) answered 504 is sent once: the error says its outcome is
/// unknown and how to check. A read cmdlet answered 504 is retried.
#[tokio::test]
async fn a_write_cmdlet_answered_504_is_not_resent() {
    let (server, exo) = client().await;
    let timeout = ResponseTemplate::new(504).set_body_string("Gateway Timeout");
    once(&server, post(INVOKE), timeout).await;
    serve(&server, post(INVOKE), rows(json!([]))).await;
    let set = cmdlets::set_hidden_from_address_lists("adele@contoso.com", true).unwrap();
    let err = exo.invoke(&tenant(), &set).await.unwrap_err();
    assert!(err.outcome_unknown(), "{err}");
    let text = err.to_string();
    for part in ["Set-Mailbox", "not resent"] {
        assert!(text.contains(part), "{part} missing from {text}");
    }
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    // A read is safe to repeat.
    server.reset().await;
    once(&server, post(INVOKE), ResponseTemplate::new(504)).await;
    serve(&server, post(INVOKE), rows(json!([{"Identity": "adele"}]))).await;
    let get = cmdlets::get_mailbox("adele@contoso.com").unwrap();
    exo.invoke(&tenant(), &get).await.unwrap();
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

/// In an Exchange `$batch`, a write item answered 504 is not resent (outcome unknown); a
/// write item answered 429 is.
#[tokio::test]
async fn batch_write_items_follow_the_resend_rule() {
    let (server, exo) = client().await;
    let answer = batch_answer(|n, id, _| match (n, id) {
        (0, "0") => {
            json!({"id": id, "status": 504, "body": {"error": {"code": "GatewayTimeout", "message": "timeout"}}})
        }
        (0, "1") => {
            json!({"id": id, "status": 429, "headers": {"Retry-After": "0.01"}, "body": {"error": {"message": "throttled"}}})
        }
        _ => json!({"id": id, "status": 200, "body": {"value": []}}),
    });
    serve(&server, post(BATCH), answer).await;
    let list = vec![
        cmdlets::set_hidden_from_address_lists("a@contoso.com", true).unwrap(),
        cmdlets::set_hidden_from_address_lists("b@contoso.com", true).unwrap(),
    ];
    let results = exo.batch(&tenant(), &list).await.unwrap();
    assert!(results[0].as_ref().unwrap_err().outcome_unknown());
    assert!(results[1].is_ok());
    assert_eq!(batch_sizes(&server).await, [2, 1]);
    let second = &bodies(&server).await[1];
    assert_eq!(second["requests"][0]["id"], "1");
}
