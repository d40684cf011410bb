//! Protection cmdlets over the real HTTP path (wiremock): the exact InvokeCommand bodies of
//! every family, the rows they return, and Exchange's errors.

use std::sync::Arc;
use std::time::Duration;

use cipp_core::{
    ApiErrorKind, Credentials, Endpoints, Error, Pipeline, ReqwestTransport, RetryPolicy,
    SecretString, TenantId,
};
use cipp_exchange::cmdlet::Cmdlet;
use cipp_exchange::protection::{self, ProtectionKind, ALL_KINDS};
use cipp_exchange::ExoClient;
use serde_json::{json, Map, Value};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TENANT: &str = "8b9c6a5e-1111-4a2b-9c3d-0123456789ab";
const INVOKE: &str = "/adminapi/beta/8b9c6a5e-1111-4a2b-9c3d-0123456789ab/InvokeCommand";
const SYSTEM: &str =
    "APP:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@8b9c6a5e-1111-4a2b-9c3d-0123456789ab";

fn tenant() -> TenantId {
    TenantId::parse(TENANT).unwrap()
}

async fn client() -> (MockServer, ExoClient) {
    let server = MockServer::start().await;
    let p = Pipeline::builder()
        .transport(Arc::new(ReqwestTransport::new().unwrap()))
        .endpoints(Endpoints::single_base(&server.uri()))
        .credentials(Credentials::StaticToken(SecretString::from("exo-token")))
        .retry(RetryPolicy {
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            ..RetryPolicy::default()
        })
        .build()
        .unwrap();
    (server, ExoClient::new(p))
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

/// Mounts a mock answering exactly `name` with `params` (and the headers every cmdlet
/// sends), once.
async fn expect(server: &MockServer, name: &str, params: Value, answer: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path(INVOKE))
        .and(header("authorization", "Bearer exo-token"))
        .and(header("x-anchormailbox", SYSTEM))
        .and(header("prefer", "odata.maxpagesize=1000"))
        .and(header("content-type", "application/json; charset=utf-8"))
        .and(body_json(
            json!({"CmdletInput": {"CmdletName": name, "Parameters": params}}),
        ))
        .respond_with(answer)
        .expect(1)
        .named(name)
        .mount(server)
        .await;
}

fn map(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

/// A row as `Get-HostedContentFilterPolicy` returns it (trimmed), with the server-owned
/// properties and one the model does not know.
fn spam_policy_row() -> Value {
    json!({
        "Identity": "Strict", "Name": "Strict", "Guid": "5a1c4e1b-8c1a-4a56-9d2a-1b2c3d4e5f60",
        "IsDefault": false, "BulkThreshold": 4, "SpamAction": "Quarantine",
        "AllowedSenderDomains": [], "DistinguishedName": "CN=Strict,CN=Hosted Content Filter,CN=Transport Settings,CN=Configuration,CN=contoso.onmicrosoft.com",
        "ExchangeVersion": "0.20 (15.0.0.0)", "WhenChanged": "2026-11-20T10:00:00+00:00",
        "WhenCreatedUTC": "2026-11-20T10:00:00Z", "ObjectState": "Unchanged", "IsValid": true
    })
}

#[tokio::test]
async fn every_family_sends_its_documented_bodies() {
    let (server, exo) = client().await;
    let t = tenant();
    // (cmdlet built, expected name, expected parameters)
    let mut cases: Vec<(Cmdlet, String, Value)> = Vec::new();
    let set_params = map(json!({"Comments": "changed"}));
    for kind in ALL_KINDS.iter().copied() {
        let noun = kind.noun();
        let get_name = format!("Get-{noun}");
        cases.push((protection::get(kind, None).untyped(), get_name, json!({})));
        let set_name = format!("Set-{noun}");
        cases.push((
            protection::set(kind, "Strict", &set_params).unwrap(),
            set_name,
            json!({"Identity": "Strict", "Comments": "changed"}),
        ));
        if kind.can_create() {
            let mut params = map(json!({"Comments": "made by cipp-rs"}));
            if let Some(p) = kind.policy_parameter() {
                params.insert(p.to_owned(), json!("Strict"));
            }
            let mut expected = params.clone();
            expected.insert("Name".to_owned(), json!("Strict"));
            let new_name = format!("New-{noun}");
            cases.push((
                protection::new_object(kind, "Strict", &params)
                    .unwrap()
                    .untyped(),
                new_name,
                Value::Object(expected),
            ));
            let remove_name = format!("Remove-{noun}");
            cases.push((
                protection::remove(kind, "Strict").unwrap(),
                remove_name,
                json!({"Identity": "Strict", "Confirm": false}),
            ));
        }
        if kind.is_rule() {
            let on = format!("Enable-{noun}");
            let off = format!("Disable-{noun}");
            cases.push((
                protection::set_enabled(kind, "Strict", true).unwrap(),
                on,
                json!({"Identity": "Strict"}),
            ));
            cases.push((
                protection::set_enabled(kind, "Strict", false).unwrap(),
                off,
                json!({"Identity": "Strict", "Confirm": false}),
            ));
        }
    }
    assert_eq!(
        cases.len(),
        8 * 2 + 7 * 2 + 3 * 2,
        "every cmdlet of every family"
    );
    for (cmdlet, name, params) in &cases {
        assert_eq!(cmdlet.name, *name);
        expect(&server, name, params.clone(), rows(json!([]))).await;
        exo.invoke(&t, cmdlet).await.unwrap();
    }
}

#[tokio::test]
async fn rows_are_read_with_unknown_properties_kept() {
    let (server, exo) = client().await;
    let t = exo.tenant(&tenant());
    expect(
        &server,
        "Get-HostedContentFilterPolicy",
        json!({}),
        rows(json!([spam_policy_row(), {"Identity": "Default", "Name": "Default", "IsDefault": true}])),
    )
    .await;
    let all = t
        .protection_objects(ProtectionKind::HostedContentFilterPolicy)
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].name.as_deref(), Some("Strict"));
    assert_eq!(all[0].extra["BulkThreshold"], 4);
    assert_eq!(all[1].is_default, Some(true));
    // Written back, nothing is lost.
    assert_eq!(serde_json::to_value(&all[0]).unwrap(), spam_policy_row());

    expect(
        &server,
        "Get-SafeLinksRule",
        json!({"Identity": "Links"}),
        rows(
            json!([{"Identity": "Links", "Name": "Links", "SafeLinksPolicy": "Links policy",
                     "State": "Disabled", "Priority": 2, "RecipientDomainIs": ["contoso.com"]}]),
        ),
    )
    .await;
    let rule = t
        .protection_object(ProtectionKind::SafeLinksRule, "Links")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        rule.policy(ProtectionKind::SafeLinksRule),
        Some("Links policy")
    );
    assert_eq!(rule.is_enabled(), Some(false));
    assert_eq!(rule.priority, Some(2));
}

#[tokio::test]
async fn unknown_identities_are_none_and_duplicates_are_conflicts() {
    let (server, exo) = client().await;
    let t = exo.tenant(&tenant());
    expect(
        &server,
        "Get-InboundConnector",
        json!({"Identity": "Gone"}),
        exo_error(
            404,
            "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
            "The operation couldn't be performed because object 'Gone' couldn't be found on 'AM0PR01A001DC01.EURPR01A001.prod.outlook.com'.",
        ),
    )
    .await;
    let none = t
        .protection_object(ProtectionKind::InboundConnector, "Gone")
        .await
        .unwrap();
    assert_eq!(none, None);

    expect(
        &server,
        "New-SafeLinksPolicy",
        json!({"Name": "Links"}),
        exo_error(
            400,
            "Microsoft.Exchange.Configuration.Tasks.ManagementObjectAlreadyExistsException",
            "An object with the identity \"Links\" already exists.",
        ),
    )
    .await;
    let e = t
        .invoke(
            &protection::new_object(ProtectionKind::SafeLinksPolicy, "Links", &Map::new()).unwrap(),
        )
        .await
        .unwrap_err();
    let Error::Api(api) = &e else { panic!("{e}") };
    assert_eq!(api.kind, ApiErrorKind::Conflict);
    assert!(e.to_string().contains("already exists"), "{e}");
    // A write is not resent: exactly one request each (the mocks expect one).
}

#[test]
fn invalid_input_is_refused_before_any_request() {
    let empty = Map::new();
    let refusals: Vec<Result<Cmdlet, Error>> = vec![
        protection::new_object(ProtectionKind::HostedConnectionFilterPolicy, "X", &empty)
            .map(|c| c.untyped()),
        protection::remove(ProtectionKind::HostedConnectionFilterPolicy, "Default"),
        protection::new_object(ProtectionKind::HostedContentFilterRule, "R", &empty)
            .map(|c| c.untyped()),
        protection::new_object(ProtectionKind::SafeLinksPolicy, "", &empty).map(|c| c.untyped()),
        protection::new_object(ProtectionKind::SafeLinksPolicy, &"x".repeat(65), &empty)
            .map(|c| c.untyped()),
        protection::new_object(
            ProtectionKind::InboundConnector,
            "C",
            &map(json!({"Name": "other"})),
        )
        .map(|c| c.untyped()),
        protection::set(ProtectionKind::OutboundConnector, "C", &empty),
        protection::set(
            ProtectionKind::OutboundConnector,
            " ",
            &map(json!({"Enabled": true})),
        ),
        protection::set_enabled(ProtectionKind::SafeLinksPolicy, "P", true),
        protection::set_enabled(ProtectionKind::SafeLinksRule, "", true),
    ];
    for (i, r) in refusals.into_iter().enumerate() {
        let e = r.expect_err(&format!("case {i} must be refused"));
        assert!(matches!(e, Error::InvalidInput { .. }), "case {i}: {e}");
    }
    assert_eq!(
        ProtectionKind::from_noun("safelinksrule"),
        Some(ProtectionKind::SafeLinksRule)
    );
}
