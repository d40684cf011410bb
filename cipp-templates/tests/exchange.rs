//! Exchange templates: capture from Contoso → plan and apply to Fabrikam → verify → a
//! second apply is all no-op (simulator, per kind), renames through bindings, and the exact
//! cmdlets an update and a create send (wiremock).

use std::sync::Arc;
use std::time::Duration;

use cipp_core::{
    Credentials, Endpoints, Outcome, Pipeline, ReqwestTransport, RetryPolicy, SecretString,
    TenantId, ThrottleSettings,
};
use cipp_exchange::cmdlet::Cmdlet;
use cipp_exchange::{ExoClient, TenantExchange};
use cipp_sim::kit::TenantSeed;
use cipp_sim::Simulator;
use cipp_templates::apply::ApplyOptions;
use cipp_templates::exchange::{self, apply, capture, fetch_existing, fetch_state, plan_options};
use cipp_templates::plan::{plan, Action, FieldChange, MatchedBy, PlanItem, PlanOptions};
use cipp_templates::template::{Template, TemplateKind};
use serde_json::{json, Value};
use wiremock::matchers::{body_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SRC: &str = "contoso.onmicrosoft.com";
const DST: &str = "fabrikam.onmicrosoft.com";

fn setup() -> (Simulator, ExoClient) {
    let sim = Simulator::builder()
        .tenant(TenantSeed::new(SRC, "Contoso"))
        .tenant(TenantSeed::new(DST, "Fabrikam"))
        .build();
    let p = Pipeline::builder()
        .transport(Arc::new(sim.clone()))
        .credentials(sim.client_credentials())
        .throttle(ThrottleSettings::none())
        .build()
        .unwrap();
    (sim, ExoClient::new(p))
}

fn tenant(exo: &ExoClient, t: &str) -> TenantExchange {
    exo.tenant(&TenantId::parse(t).unwrap())
}

async fn run(exo: &TenantExchange, name: &str, params: Value) -> Value {
    let mut c = Cmdlet::new(name);
    for (k, v) in params.as_object().unwrap() {
        c = c.param(k, v.clone());
    }
    let out = exo.invoke(&c).await.unwrap();
    json!(out.value)
}

/// One kind: what to create in Contoso, and the object to capture.
struct Case {
    kind: TemplateKind,
    setup: Vec<(&'static str, Value)>,
    identity: &'static str,
    expected: Value,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            kind: TemplateKind::TransportRule,
            setup: vec![(
                "New-TransportRule",
                json!({"Name": "External banner", "FromScope": "NotInOrganization",
                       "PrependSubject": "[EXT] ", "Enabled": false}),
            )],
            identity: "External banner",
            expected: json!({"Name": "External banner", "FromScope": "NotInOrganization",
                             "PrependSubject": "[EXT] ", "Enabled": false, "Mode": "Enforce"}),
        },
        Case {
            kind: TemplateKind::SpamFilter,
            setup: vec![
                (
                    "New-HostedContentFilterPolicy",
                    json!({"Name": "Strict spam", "BulkThreshold": 4, "SpamAction": "Quarantine",
                           "FutureSetting": "kept"}),
                ),
                (
                    "New-HostedContentFilterRule",
                    json!({"Name": "Strict spam", "HostedContentFilterPolicy": "Strict spam",
                           "RecipientDomainIs": ["%defaultdomain%"]}),
                ),
            ],
            identity: "Strict spam",
            expected: json!({"Name": "Strict spam", "BulkThreshold": 4, "SpamAction": "Quarantine",
                             "FutureSetting": "kept", "RecipientDomainIs": ["%defaultdomain%"],
                             "Enabled": true}),
        },
        Case {
            kind: TemplateKind::SafeLinks,
            setup: vec![
                (
                    "New-SafeLinksPolicy",
                    json!({"Name": "Links", "EnableSafeLinksForEmail": true, "ScanUrls": true,
                           "DoNotRewriteUrls": ["intranet.contoso.com"]}),
                ),
                (
                    "New-SafeLinksRule",
                    json!({"Name": "Links rule", "SafeLinksPolicy": "Links", "SentToMemberOf": ["All staff"],
                           "Enabled": false, "Comments": "pilot"}),
                ),
            ],
            identity: "Links",
            expected: json!({"Name": "Links", "EnableSafeLinksForEmail": true, "ScanUrls": true,
                             "DoNotRewriteUrls": ["intranet.contoso.com"], "RuleName": "Links rule",
                             "SentToMemberOf": ["All staff"], "Enabled": false, "Comments": "pilot"}),
        },
        Case {
            kind: TemplateKind::ConnectionFilter,
            setup: vec![(
                "Set-HostedConnectionFilterPolicy",
                json!({"Identity": "Default", "IPAllowList": ["192.0.2.10"], "EnableSafeList": true}),
            )],
            identity: "Default",
            expected: json!({"Name": "Default", "IPAllowList": ["192.0.2.10"], "EnableSafeList": true,
                             "DirectoryBasedEdgeBlockMode": "Default"}),
        },
        Case {
            kind: TemplateKind::ExchangeConnector,
            setup: vec![(
                "New-OutboundConnector",
                json!({"Name": "Smart host", "UseMXRecord": false, "SmartHosts": ["relay.example.net"],
                       "RecipientDomains": ["*"]}),
            )],
            identity: "Smart host",
            expected: json!({"Name": "Smart host", "cippConnectorType": "Outbound", "UseMXRecord": false,
                             "SmartHosts": ["relay.example.net"], "RecipientDomains": ["*"]}),
        },
    ]
}

fn is_verified(o: &Outcome) -> bool {
    matches!(o, Outcome::Succeeded { message } if message.contains("verified"))
}

#[tokio::test]
async fn every_kind_round_trips_from_contoso_to_fabrikam() {
    let (_sim, exo) = setup();
    let (src, dst) = (tenant(&exo, SRC), tenant(&exo, DST));
    for case in cases() {
        let kind = &case.kind;
        for (name, params) in &case.setup {
            run(&src, name, params.clone()).await;
        }
        let captured = capture(&src, kind, case.identity).await.unwrap();
        let t = captured.template.clone();
        // Properties of the case are in the body; no server-owned one is.
        let body = t.body.as_object().unwrap();
        for (k, v) in case.expected.as_object().unwrap() {
            assert_eq!(body.get(k), Some(v), "{kind}: {k} in {body:?}");
        }
        for k in [
            "Guid",
            "Identity",
            "DistinguishedName",
            "WhenChanged",
            "ExchangeVersion",
            "IsValid",
            "ObjectState",
            "Id",
            "State",
            "Priority",
            "IsDefault",
        ] {
            assert!(!body.contains_key(k), "{kind}: {k} left in {body:?}");
        }
        assert!(!captured.object_id.is_empty());

        let templates = [t.clone()];
        let options = plan_options(kind, &PlanOptions::default());
        let state = fetch_state(&dst, DST, &templates).await.unwrap();
        let first = plan(&templates, &state, &[], &options).unwrap();
        let report = apply(&dst, &first, &ApplyOptions::default()).await;
        let item = &report.items[0];
        assert!(is_verified(&item.outcome), "{kind}: {:?}", item.outcome);
        assert_eq!(report.bindings.len(), 1);

        // Fabrikam now holds it as the template says.
        let again = capture(&dst, kind, case.identity).await.unwrap();
        assert_eq!(
            again.template.body, t.body,
            "{kind}: re-captured from Fabrikam"
        );

        // A second apply is all no-op.
        let state = fetch_state(&dst, DST, &templates).await.unwrap();
        let second = plan(&templates, &state, &report.bindings, &options).unwrap();
        assert!(second.is_empty(), "{kind}: {second}");
        let report2 = apply(&dst, &second, &ApplyOptions::default()).await;
        assert!(
            report2
                .items
                .iter()
                .all(|i| matches!(i.outcome, Outcome::NoChange { .. })),
            "{kind}: {report2:?}"
        );
        assert_eq!(report2.bindings, report.bindings);
    }
}

#[tokio::test]
async fn a_changed_template_updates_only_what_differs_and_renames_through_its_binding() {
    let (sim, exo) = setup();
    let dst = tenant(&exo, DST);
    let t = Template::new(
        TemplateKind::SafeLinks,
        "Links",
        json!({"Name": "Links", "ScanUrls": true, "TrackClicks": true, "Priority": 0,
               "RecipientDomainIs": ["fabrikam.com"], "Enabled": true,
               "TemplateName": "CIPP bookkeeping, never sent"}),
    );
    let state = fetch_state(&dst, DST, std::slice::from_ref(&t))
        .await
        .unwrap();
    let first = plan(
        std::slice::from_ref(&t),
        &state,
        &[],
        &PlanOptions::default(),
    )
    .unwrap();
    let report = apply(&dst, &first, &ApplyOptions::default()).await;
    assert!(report.is_ok(), "{report:?}");
    let created = fetch_existing(&dst, &TemplateKind::SafeLinks)
        .await
        .unwrap();
    assert!(
        created[0].body.get("TemplateName").is_none(),
        "CIPP bookkeeping is not sent"
    );
    assert_eq!(created[0].body["Priority"], 0);

    let mut renamed = t.clone();
    renamed.body = json!({"Name": "Links v2", "ScanUrls": true, "TrackClicks": false, "Priority": 0,
                          "RecipientDomainIs": ["fabrikam.com"], "Enabled": false});
    let templates = [renamed];
    let state = fetch_state(&dst, DST, &templates).await.unwrap();
    let second = plan(
        &templates,
        &state,
        &report.bindings,
        &PlanOptions::default(),
    )
    .unwrap();
    let Action::Update {
        matched_by,
        changes,
        ..
    } = &second.items[0].action
    else {
        panic!("{second}")
    };
    assert_eq!(*matched_by, MatchedBy::Binding);
    let paths: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(paths, ["/Enabled", "/Name", "/TrackClicks"]);
    let before = sim.request_log().len();
    let report2 = apply(&dst, &second, &ApplyOptions::default()).await;
    assert!(is_verified(&report2.items[0].outcome), "{report2:?}");
    assert_eq!(report2.bindings, report.bindings, "same object, renamed");
    let sent: Vec<String> = sim.request_log()[before..]
        .iter()
        .filter_map(|r| r.operation.clone())
        .filter(|c| !c.starts_with("Get-"))
        .collect();
    assert_eq!(
        sent,
        [
            "Set-SafeLinksPolicy",
            "Set-SafeLinksRule",
            "Disable-SafeLinksRule"
        ]
    );
    let policies = fetch_existing(&dst, &TemplateKind::SafeLinks)
        .await
        .unwrap();
    let names: Vec<&Value> = policies.iter().map(|e| &e.body["Name"]).collect();
    assert_eq!(names, [&json!("Links v2")], "no orphan left behind");
    assert_eq!(policies[0].body["TrackClicks"], false);
    assert_eq!(policies[0].body["Enabled"], false);
}

#[tokio::test]
async fn a_rule_that_cannot_be_created_fails_the_item_and_says_the_policy_exists() {
    let (_sim, exo) = setup();
    let dst = tenant(&exo, DST);
    // A spam rule needs an existing recipient group; the simulator accepts any value, so
    // make the rule fail by creating a rule of that name first (bound to another policy).
    run(
        &dst,
        "New-HostedContentFilterPolicy",
        json!({"Name": "Other"}),
    )
    .await;
    run(
        &dst,
        "New-HostedContentFilterRule",
        json!({"Name": "Taken", "HostedContentFilterPolicy": "Other", "RecipientDomainIs": ["fabrikam.com"]}),
    )
    .await;
    let t = Template::new(
        TemplateKind::SpamFilter,
        "Strict",
        json!({"Name": "Strict", "RuleName": "Taken", "RecipientDomainIs": ["fabrikam.com"]}),
    );
    let state = fetch_state(&dst, DST, std::slice::from_ref(&t))
        .await
        .unwrap();
    let p = plan(
        std::slice::from_ref(&t),
        &state,
        &[],
        &PlanOptions::default(),
    )
    .unwrap();
    let report = apply(&dst, &p, &ApplyOptions::default()).await;
    let o = &report.items[0].outcome;
    let text = format!("{o:?}");
    assert!(!o.is_ok(), "{text}");
    assert!(
        text.contains("created policy \\\"Strict\\\"") && text.contains("already exists"),
        "{text}"
    );
}

// ---------------------------------------------------------------------------------------
// The exact cmdlets (wiremock)

const INVOKE: &str = "/adminapi/beta/contoso.onmicrosoft.com/InvokeCommand";

fn wire_exo(server: &MockServer) -> TenantExchange {
    let p = Pipeline::builder()
        .transport(Arc::new(ReqwestTransport::new().unwrap()))
        .endpoints(Endpoints::single_base(&server.uri()))
        .credentials(Credentials::StaticToken(SecretString::from("test-token")))
        .throttle(ThrottleSettings::none())
        .retry(RetryPolicy {
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            ..RetryPolicy::default()
        })
        .build()
        .unwrap();
    ExoClient::new(p).tenant(&TenantId::parse(SRC).unwrap())
}

async fn expect(server: &MockServer, name: &str, params: Value, rows: Value) {
    Mock::given(method("POST"))
        .and(path(INVOKE))
        .and(body_json(
            json!({"CmdletInput": {"CmdletName": name, "Parameters": params}}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": rows})))
        .expect(1)
        .named(name)
        .mount(server)
        .await;
}

fn item(kind: TemplateKind, action: Action) -> PlanItem {
    PlanItem {
        template_id: "t1".to_owned(),
        name: "Strict".to_owned(),
        kind,
        action,
    }
}

#[tokio::test]
async fn create_sends_each_kinds_cmdlets_policy_then_rule() {
    let guid = "6d7e8f90-0000-4000-8000-00000000a001";
    // (kind, template body, the cmdlets expected in order with their parameters)
    let cases = [
        (
            TemplateKind::SpamFilter,
            json!({"PolicyName": "Strict", "BulkThreshold": 4, "RecipientDomainIs": ["contoso.com"],
                   "State": "Enabled", "Priority": 0}),
            vec![
                (
                    "New-HostedContentFilterPolicy",
                    json!({"Name": "Strict", "BulkThreshold": 4}),
                ),
                (
                    "New-HostedContentFilterRule",
                    json!({"Name": "Strict", "HostedContentFilterPolicy": "Strict",
                   "RecipientDomainIs": ["contoso.com"], "Enabled": true, "Priority": 0}),
                ),
            ],
        ),
        (
            TemplateKind::SafeLinks,
            json!({"Name": "Strict", "ScanUrls": true, "RuleName": "Strict rule",
                   "SentToMemberOf": ["All staff"], "Enabled": false}),
            vec![
                (
                    "New-SafeLinksPolicy",
                    json!({"Name": "Strict", "ScanUrls": true}),
                ),
                (
                    "New-SafeLinksRule",
                    json!({"Name": "Strict rule", "SafeLinksPolicy": "Strict",
                   "SentToMemberOf": ["All staff"], "Enabled": false}),
                ),
            ],
        ),
        (
            TemplateKind::ExchangeConnector,
            json!({"Name": "Strict", "cippConnectorType": "Inbound", "SenderDomains": ["partner.com"],
                   "RequireTls": true}),
            vec![(
                "New-InboundConnector",
                json!({"Name": "Strict", "SenderDomains": ["partner.com"],
                   "RequireTls": true}),
            )],
        ),
        (
            TemplateKind::TransportRule,
            json!({"Name": "Strict", "FromScope": "NotInOrganization", "Enabled": false}),
            vec![(
                "New-TransportRule",
                json!({"Name": "Strict", "FromScope": "NotInOrganization",
                   "Enabled": false}),
            )],
        ),
    ];
    for (kind, body, cmdlets) in cases {
        let server = MockServer::start().await;
        let exo = wire_exo(&server);
        for (i, (name, params)) in cmdlets.iter().enumerate() {
            let rows = if i == 0 {
                json!([{"Identity": "Strict", "Name": "Strict", "Guid": guid}])
            } else {
                json!([])
            };
            expect(&server, name, params.clone(), rows).await;
        }
        let it = item(kind.clone(), Action::Create { body });
        let (id, outcome) =
            exchange::apply_item(&exo, &it, &ApplyOptions::new().verify(false)).await;
        assert_eq!(id.as_deref(), Some(guid), "{kind}");
        assert!(outcome.is_ok(), "{kind}: {outcome:?}");
        let sent = server.received_requests().await.unwrap();
        assert_eq!(sent.len(), cmdlets.len(), "{kind}: nothing else is sent");
    }
}

#[tokio::test]
async fn capture_reads_the_policy_and_its_rule_and_strips_what_the_server_owns() {
    let server = MockServer::start().await;
    let exo = wire_exo(&server);
    expect(
        &server,
        "Get-SafeLinksPolicy",
        json!({"Identity": "Strict links"}),
        json!([{
            "Identity": "Strict links", "Name": "Strict links", "Id": "Strict links",
            "Guid": "0b1c2d3e-0000-4000-8000-00000000b001", "Guid@data.type": "Guid",
            "DistinguishedName": "CN=Strict links,CN=SafeLinksPolicies,CN=Transport Settings,CN=Configuration,CN=contoso.onmicrosoft.com",
            "ExchangeVersion": "0.20 (15.0.0.0)", "ObjectState": "Unchanged", "IsValid": true,
            "WhenChanged": "2026-10-01T09:00:00+00:00", "WhenCreatedUTC": "2026-09-01T09:00:00Z",
            "OrganizationId": "EURPR01A001.prod.outlook.com/Microsoft Exchange Hosted Organizations/contoso.onmicrosoft.com",
            "IsBuiltInProtection": false, "AdminDisplayName": "Strict links for staff",
            "EnableSafeLinksForEmail": true, "ScanUrls": true, "TrackClicks": true,
            "DoNotRewriteUrls": [], "CustomNotificationText": "", "RecommendedPolicyType": "Custom",
            "NewFutureFlag": 3
        }]),
    )
    .await;
    expect(
        &server,
        "Get-SafeLinksRule",
        json!({}),
        json!([
            {"Identity": "Other", "Name": "Other", "SafeLinksPolicy": "Other policy", "State": "Enabled", "Priority": 0},
            {"Identity": "Strict links", "Name": "Strict links", "SafeLinksPolicy": "Strict links",
             "State": "Disabled", "Priority": 1, "Comments": null, "SentTo": null,
             "SentToMemberOf": ["All staff"], "RecipientDomainIs": null, "ExceptIfSentTo": null,
             "Guid": "0b1c2d3e-0000-4000-8000-00000000b002", "Description": "If the message: Is sent to a member of group: 'All staff'",
             "Conditions": ["Microsoft.Exchange.MessagingPolicies.Rules.Tasks.SentToMemberOfPredicate"],
             "WhenChanged": "2026-10-01T09:00:00+00:00", "IsValid": true}
        ]),
    )
    .await;
    let c = capture(&exo, &TemplateKind::SafeLinks, "Strict links")
        .await
        .unwrap();
    assert_eq!(
        c.template.body,
        json!({"Name": "Strict links", "AdminDisplayName": "Strict links for staff",
               "EnableSafeLinksForEmail": true, "ScanUrls": true, "TrackClicks": true,
               "RecommendedPolicyType": "Custom", "NewFutureFlag": 3,
               "SentToMemberOf": ["All staff"], "Enabled": false})
    );
    assert_eq!(c.template.name, "Strict links");
    assert_eq!(c.template.description, "Strict links for staff");
    assert_eq!(c.object_id, "0b1c2d3e-0000-4000-8000-00000000b001");
    assert!(
        !c.template.to_value().to_string().contains("0b1c2d3e"),
        "no source id in the template"
    );
    assert!(
        c.warnings.iter().any(|w| w.contains("SentToMemberOf")),
        "{:?}",
        c.warnings
    );
}

#[tokio::test]
async fn update_sends_only_the_changed_parameters_and_toggles_state_by_cmdlet() {
    let server = MockServer::start().await;
    let exo = wire_exo(&server);
    let guid = "6d7e8f90-0000-4000-8000-00000000a002";
    expect(
        &server,
        "Get-TransportRule",
        json!({}),
        json!([{"Identity": "Banner", "Name": "Banner", "Guid": guid, "State": "Enabled"}]),
    )
    .await;
    expect(
        &server,
        "Set-TransportRule",
        json!({"Identity": "Banner", "PrependSubject": "[EXTERNAL] "}),
        json!([]),
    )
    .await;
    expect(
        &server,
        "Disable-TransportRule",
        json!({"Identity": "Banner", "Confirm": false}),
        json!([]),
    )
    .await;
    let change = |p: &str, to: Value| FieldChange {
        path: p.to_owned(),
        from: None,
        to: Some(to),
    };
    let it = item(
        TemplateKind::TransportRule,
        Action::Update {
            object_id: guid.to_owned(),
            matched_by: MatchedBy::Binding,
            changes: vec![
                change("/Enabled", json!(false)),
                change("/PrependSubject", json!("[EXTERNAL] ")),
            ],
            body: json!({"Name": "Banner", "FromScope": "NotInOrganization",
                         "PrependSubject": "[EXTERNAL] ", "Enabled": false}),
        },
    );
    let (id, outcome) = exchange::apply_item(&exo, &it, &ApplyOptions::new().verify(false)).await;
    assert_eq!(id.as_deref(), Some(guid));
    assert!(outcome.is_ok(), "{outcome:?}");
}

#[tokio::test]
async fn the_connection_filter_is_set_on_the_default_policy_and_never_created() {
    let server = MockServer::start().await;
    let exo = wire_exo(&server);
    let guid = "6d7e8f90-0000-4000-8000-00000000a003";
    expect(
        &server,
        "Get-HostedConnectionFilterPolicy",
        json!({}),
        json!([{"Identity": "Default", "Name": "Default", "Guid": guid, "IsDefault": true}]),
    )
    .await;
    expect(
        &server,
        "Set-HostedConnectionFilterPolicy",
        json!({"Identity": "Default", "IPAllowList": [], "EnableSafeList": false}),
        json!([]),
    )
    .await;
    let it = item(
        TemplateKind::ConnectionFilter,
        Action::Create {
            body: json!({"Name": "Baseline", "IPAllowList": [], "EnableSafeList": false}),
        },
    );
    let (id, outcome) = exchange::apply_item(&exo, &it, &ApplyOptions::new().verify(false)).await;
    assert_eq!(id.as_deref(), Some(guid));
    assert!(outcome.is_ok(), "{outcome:?}");
    assert!(plan_options(&TemplateKind::ConnectionFilter, &PlanOptions::default()).adopt_by_name);
    assert!(!plan_options(&TemplateKind::SafeLinks, &PlanOptions::default()).adopt_by_name);
}

#[tokio::test]
async fn other_kinds_and_conflicts_send_nothing() {
    let server = MockServer::start().await;
    let exo = wire_exo(&server);
    let it = item(
        TemplateKind::ConditionalAccess,
        Action::Create {
            body: json!({"displayName": "x"}),
        },
    );
    let (_, o) = exchange::apply_item(&exo, &it, &ApplyOptions::new()).await;
    assert!(!o.is_ok());
    let it = item(
        TemplateKind::SafeLinks,
        Action::Conflict {
            reason: "two objects".to_owned(),
        },
    );
    let (_, o) = exchange::apply_item(&exo, &it, &ApplyOptions::new()).await;
    assert!(format!("{o:?}").contains("two objects"));
    assert!(server.received_requests().await.unwrap().is_empty());
    assert!(exchange::is_exchange_kind(&TemplateKind::ExchangeConnector));
}

#[tokio::test]
async fn the_default_spam_filter_policy_is_adopted_by_name_and_updated_without_a_rule() {
    let (_sim, exo) = setup();
    let (src, dst) = (tenant(&exo, SRC), tenant(&exo, DST));
    run(
        &src,
        "Set-HostedContentFilterPolicy",
        json!({"Identity": "Default", "BulkThreshold": 5, "HighConfidencePhishAction": "Quarantine",
               "SpamAction": "Quarantine"}),
    )
    .await;
    let captured = capture(&src, &TemplateKind::SpamFilter, "Default")
        .await
        .unwrap();
    assert!(
        captured.warnings.iter().any(|w| w.contains("has no rule")),
        "{:?}",
        captured.warnings
    );
    let templates = [captured.template];
    let state = fetch_state(&dst, DST, &templates).await.unwrap();
    let strict = plan(&templates, &state, &[], &PlanOptions::default()).unwrap();
    assert!(
        strict.has_conflicts(),
        "no adoption without asking: {strict}"
    );
    let options = PlanOptions::default().adopt_by_name(true);
    let p = plan(&templates, &state, &[], &options).unwrap();
    let Action::Update {
        matched_by,
        changes,
        ..
    } = &p.items[0].action
    else {
        panic!("{p}")
    };
    assert_eq!(*matched_by, MatchedBy::Name);
    let paths: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(paths, ["/BulkThreshold", "/SpamAction"]);
    let report = apply(&dst, &p, &ApplyOptions::default()).await;
    assert!(is_verified(&report.items[0].outcome), "{report:?}");
    let rules = fetch_existing(&dst, &TemplateKind::SpamFilter)
        .await
        .unwrap();
    assert_eq!(rules.len(), 1, "still the Default policy alone");
    assert!(rules[0].body.get("RecipientDomainIs").is_none());
    let state = fetch_state(&dst, DST, &templates).await.unwrap();
    assert!(plan(&templates, &state, &report.bindings, &options)
        .unwrap()
        .is_empty());
}

/// CIPP's stored Exchange templates carry `TemplateName`, `TemplateDescription` and
/// `GUID`, which are no cmdlet parameters: they are left out of what is compared, so a
/// deployed template plans as no-op (every kind).
#[tokio::test]
async fn cipp_bookkeeping_properties_never_show_as_a_change() {
    let (_sim, exo) = setup();
    let (src, dst) = (tenant(&exo, SRC), tenant(&exo, DST));
    for case in cases() {
        let kind = &case.kind;
        for (name, params) in &case.setup {
            run(&src, name, params.clone()).await;
        }
        let mut t = capture(&src, kind, case.identity).await.unwrap().template;
        let body = t.body.as_object_mut().unwrap();
        body.insert("TemplateName".into(), json!(format!("CIPP {kind}")));
        body.insert("TemplateDescription".into(), json!("Imported from CIPP"));
        body.insert("GUID".into(), json!("5b1f6f0e-8f7a-4c3e-9d2b-1a2b3c4d5e6f"));
        let templates = [t];
        let options = plan_options(kind, &PlanOptions::default());
        let state = fetch_state(&dst, DST, &templates).await.unwrap();
        let first = plan(&templates, &state, &[], &options).unwrap();
        let report = apply(&dst, &first, &ApplyOptions::default()).await;
        assert!(
            is_verified(&report.items[0].outcome),
            "{kind}: {:?}",
            report.items[0].outcome
        );
        let state = fetch_state(&dst, DST, &templates).await.unwrap();
        let second = plan(&templates, &state, &report.bindings, &options).unwrap();
        assert!(second.is_empty(), "{kind}: {second}");
    }
}

/// Connector domains, as CIPP deploys them (`Invoke-CIPPStandardExchangeConnectorTemplate`,
/// `Invoke-AddExConnector`): sent as the template holds them — CIPP rewrites no domain of
/// the source tenant. A `%variable%` in a domain (or anywhere in the body) is the tenant's
/// value after the variables engine; every other domain is sent as written.
#[tokio::test]
async fn connector_domains_are_sent_as_written_with_variables_resolved() {
    use cipp_templates::variables::{TenantContext, Variable, Variables};
    let server = MockServer::start().await;
    let exo = wire_exo(&server);
    expect(
        &server,
        "New-InboundConnector",
        json!({"Name": "Partner TLS", "SenderDomains": ["fabrikam.com", "partner.example"],
               "TlsSenderCertificateName": "mail.fabrikam.com", "RequireTls": true,
               "RestrictDomainsToCertificate": true, "Comment": "Fabrikam via relay-7"}),
        json!([{"Identity": "Partner TLS", "Name": "Partner TLS",
                "Guid": "6d7e8f90-0000-4000-8000-00000000c001"}]),
    )
    .await;
    let template = Template::new(
        TemplateKind::ExchangeConnector,
        "Partner TLS",
        json!({"Name": "Partner TLS", "cippConnectorType": "Inbound",
               "SenderDomains": ["%defaultdomain%", "partner.example"],
               "TlsSenderCertificateName": "mail.%defaultdomain%", "RequireTls": true,
               "RestrictDomainsToCertificate": true, "Comment": "%tenantname% via %relay%"}),
    );
    let mut vars = Variables::new();
    vars.set_global(Variable::new("relay", "relay-7")).unwrap();
    let ctx = TenantContext::new("fabrikam.onmicrosoft.com", "fabrikam.com")
        .with_display_name("Fabrikam");
    let mut t = template.clone();
    t.body = vars
        .resolve_for(&ctx)
        .substitute_json(&template.body)
        .unwrap();
    let p = plan(
        &[t],
        &cipp_templates::plan::TenantState::new(SRC),
        &[],
        &PlanOptions::default(),
    )
    .unwrap();
    let r = apply(&exo, &p, &ApplyOptions::new().verify(false)).await;
    assert!(r.is_ok(), "{:?}", r.items);
    assert_eq!(server.received_requests().await.unwrap().len(), 1);

    // An unresolved variable in a domain stops the template before anything is sent.
    let err = Variables::new()
        .resolve_for(&ctx)
        .substitute_json(&json!({"SenderDomains": ["%partnerdomain%"]}))
        .unwrap_err();
    assert!(err.to_string().contains("partnerdomain"), "{err}");
}
