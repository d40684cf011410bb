//! Apply and verify on the simulator: capture in one tenant, plan for another that lacks
//! the dependencies, apply (dependencies first, names mapped to the target's ids), verify,
//! and plan again to an all no-op plan through the returned bindings.

use cipp_core::Outcome;
use cipp_graph::{GraphClient, TenantGraph};
use cipp_sim::kit::{GroupSeed, TenantSeed, UserSeed};
use cipp_sim::Simulator;
use cipp_templates::apply::{apply, fetch_state, ApplyError, ApplyOptions};
use cipp_templates::capture::{capture_conditional_access, capture_group};
use cipp_templates::plan::{plan, Action, CaState, DependencyKind, PlanOptions};
use cipp_templates::template::{Template, TemplateKind};
use serde_json::{json, Value};
use wiremock::matchers::{body_json, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

mod wire;
use wire::*;

const SRC: &str = "contoso.onmicrosoft.com";
const DST: &str = "fabrikam.onmicrosoft.com";
const SRC_POLICY: &str = "7a7a7a7a-0000-4000-8000-00000000c001";
const SRC_LOCATION: &str = "7a7a7a7a-0000-4000-8000-00000000a001";
const SRC_EXCLUDED: &str = "7a7a7a7a-0000-4000-8000-0000000b0001";
const SRC_HELPDESK: &str = "7a7a7a7a-0000-4000-8000-0000000b0002";
const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";

fn user_id(upn: &str) -> String {
    cipp_sim::state::synthetic_guid(upn)
}

fn simulator() -> Simulator {
    let policy = json!({
        "id": SRC_POLICY,
        "displayName": "Require MFA outside the office",
        "state": "enabled",
        "conditions": {
            "clientAppTypes": ["all"],
            "applications": {"includeApplications": ["All"]},
            "users": {"includeUsers": ["All"], "excludeUsers": [user_id("breakglass@contoso.com")],
                      "excludeGroups": [SRC_EXCLUDED], "excludeRoles": [GLOBAL_ADMIN]},
            "locations": {"includeLocations": ["All"], "excludeLocations": [SRC_LOCATION, "AllTrusted"]}
        },
        "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}
    });
    Simulator::builder()
        .tenant(
            TenantSeed::new(SRC, "Contoso")
                .domain("contoso.com")
                .user(UserSeed::new("breakglass@contoso.com", "Break Glass"))
                .group(
                    GroupSeed::security("CA exclusions")
                        .property("id", json!(SRC_EXCLUDED))
                        .member("breakglass@contoso.com"),
                )
                .group(GroupSeed::security("Helpdesk").property("id", json!(SRC_HELPDESK)))
                .named_location(json!({
                    "@odata.type": "#microsoft.graph.ipNamedLocation", "id": SRC_LOCATION,
                    "displayName": "Head office", "isTrusted": true,
                    "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "203.0.113.0/24"}]
                }))
                .ca_policy(policy),
        )
        .tenant(
            TenantSeed::new(DST, "Fabrikam")
                .domain("fabrikam.com")
                .user(UserSeed::new("breakglass@fabrikam.com", "Break Glass")),
        )
        .build()
}

fn setup() -> (Simulator, GraphClient) {
    let sim = simulator();
    let graph = sim_graph(&sim);
    (sim, graph)
}

/// Fabrikam, with security defaults off (Graph refuses enabled policies otherwise).
async fn target(graph: &GraphClient) -> TenantGraph {
    let b = tenant_graph(graph, DST);
    b.conditional_access()
        .disable_security_defaults()
        .await
        .unwrap();
    b
}

/// The CA policy and the Helpdesk group captured from Contoso.
async fn templates(graph: &GraphClient) -> Vec<Template> {
    let a = tenant_graph(graph, SRC);
    let ca = capture_conditional_access(&a, SRC_POLICY)
        .await
        .unwrap()
        .into_template()
        .with_id("ca-mfa");
    let group = capture_group(&a, SRC_HELPDESK)
        .await
        .unwrap()
        .into_template()
        .with_id("group-helpdesk");
    vec![ca, group]
}

async fn group_id(g: &TenantGraph, name: &str) -> String {
    let all = g.groups().list().await.unwrap();
    let found: Vec<_> = all
        .iter()
        .filter(|x| x.display_name.as_deref() == Some(name))
        .collect();
    assert_eq!(found.len(), 1, "exactly one group {name}");
    found[0].id.as_ref().unwrap().as_str().to_owned()
}

fn assert_ok(o: &Outcome, what: &str) {
    assert!(matches!(o, Outcome::Succeeded { .. }), "{what}: {o:?}");
}

#[tokio::test]
async fn apply_creates_dependencies_first_maps_ids_verifies_and_reapply_is_no_op() {
    let (sim, graph) = setup();
    let templates = templates(&graph).await;
    assert_eq!(
        templates[0].body["conditions"]["users"]["excludeGroups"],
        json!(["CA exclusions"])
    );
    let b = target(&graph).await;

    let state = fetch_state(&b, &templates).await.unwrap();
    assert_eq!(state.tenant, DST);
    assert!(state
        .existing_of(&TemplateKind::ConditionalAccess)
        .is_empty());
    let p = plan(&templates, &state, &[], &PlanOptions::default()).unwrap();
    let deps = p.dependency_names();
    assert_eq!(
        deps,
        vec![
            (DependencyKind::Group, "CA exclusions"),
            (DependencyKind::NamedLocation, "Head office"),
        ]
    );
    assert_eq!(p.items[0].template_id, "group-helpdesk", "groups first");
    assert!(p
        .items
        .iter()
        .all(|i| matches!(i.action, Action::Create { .. })));

    let before = sim.request_log().len();
    let report = apply(&b, &p, &ApplyOptions::default()).await;
    assert!(report.is_ok(), "{report:#?}");
    // The directory (users, groups, named locations, authentication strengths) is read
    // first, in one `$batch`.
    let sent = &sim.request_log()[before..];
    assert_eq!(sent[0].path, "/v1.0/$batch", "{sent:?}");
    assert_eq!(
        sent.iter().filter(|r| r.path.ends_with("/$batch")).count(),
        1
    );
    // Dependencies and the group template first, the policy last.
    let posts: Vec<String> = sent
        .iter()
        .filter(|r| r.method == "POST" && !r.path.ends_with("/$batch"))
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(
        posts,
        vec![
            "/v1.0/groups",
            "/v1.0/identity/conditionalAccess/namedLocations",
            "/v1.0/groups",
            "/v1.0/identity/conditionalAccess/policies",
        ],
        "{posts:?}"
    );
    for d in &report.dependencies {
        assert_ok(&d.outcome, &d.name);
    }
    for i in &report.items {
        assert_ok(&i.outcome, &i.name);
        assert!(i.outcome.message().contains("verified"), "{:?}", i.outcome);
    }
    assert_eq!(report.bindings.len(), 2);

    // The policy was created with Fabrikam's ids.
    let excluded = group_id(&b, "CA exclusions").await;
    let helpdesk = group_id(&b, "Helpdesk").await;
    assert_eq!(
        report.item("group-helpdesk").unwrap().object_id.as_deref(),
        Some(helpdesk.as_str())
    );
    let locations = b.conditional_access().named_locations().await.unwrap();
    assert_eq!(locations.len(), 1);
    assert_eq!(locations[0].display_name, "Head office");
    assert_ne!(locations[0].id, SRC_LOCATION);
    let policy_id = report.item("ca-mfa").unwrap().object_id.clone().unwrap();
    let created = b.conditional_access().policy(&policy_id).await.unwrap();
    let c = created.conditions.unwrap();
    assert_eq!(c["users"]["excludeGroups"], json!([excluded]));
    assert_eq!(
        c["users"]["excludeUsers"],
        json!([user_id("breakglass@fabrikam.com")])
    );
    assert_eq!(c["users"]["excludeRoles"], json!([GLOBAL_ADMIN]));
    assert_eq!(c["users"]["includeUsers"], json!(["All"]));
    assert_eq!(
        c["locations"]["excludeLocations"],
        json!([locations[0].id.clone(), "AllTrusted"])
    );
    assert_eq!(created.state.unwrap().as_str().to_owned(), "enabled");

    // A second apply of the same templates is all no-op (through the bindings).
    let again = replan(&b, &templates, &report.bindings).await;
    assert!(again.is_empty(), "{again}");
    assert!(again
        .items
        .iter()
        .all(|i| matches!(i.action, Action::NoOp { .. })));
    let second = apply(&b, &again, &ApplyOptions::default()).await;
    assert!(second.is_ok());
    assert!(second
        .items
        .iter()
        .all(|i| matches!(i.outcome, Outcome::NoChange { .. })));
    assert_eq!(second.bindings, report.bindings);
    assert_eq!(
        b.groups().list().await.unwrap().len(),
        2,
        "nothing duplicated"
    );
    assert_eq!(b.conditional_access().policies().await.unwrap().len(), 1);
}

#[tokio::test]
async fn report_only_guardrail_creates_the_policy_in_report_only() {
    let (_sim, graph) = setup();
    let templates = templates(&graph).await;
    assert_eq!(templates[0].body["state"], json!("enabled"));
    let b = tenant_graph(&graph, DST);
    let state = fetch_state(&b, &templates).await.unwrap();
    let options = PlanOptions::default().ca_state(CaState::ReportOnly);
    let p = plan(&templates, &state, &[], &options).unwrap();
    let report = apply(&b, &p, &ApplyOptions::default()).await;
    assert!(report.is_ok(), "{report:#?}");
    let id = report.item("ca-mfa").unwrap().object_id.clone().unwrap();
    let created = b.conditional_access().policy(&id).await.unwrap();
    assert_eq!(
        created.state.unwrap().as_str().to_owned(),
        "enabledForReportingButNotEnforced"
    );
    // Planned again with the same guardrail: no change.
    let state = fetch_state(&b, &templates).await.unwrap();
    let again = plan(&templates, &state, &report.bindings, &options).unwrap();
    assert!(again.is_empty(), "{again}");
}

#[tokio::test]
async fn an_unknown_user_fails_that_item_only_and_nothing_is_sent_for_it() {
    let (sim, graph) = setup();
    let mut templates = templates(&graph).await;
    let mut other = templates[0].clone().with_id("ca-unknown");
    other.body["displayName"] = json!("Block Nobody");
    other.body["conditions"]["users"]["excludeUsers"] = json!(["Nobody Here"]);
    other.refresh_hash();
    templates.push(other);
    let b = target(&graph).await;
    let state = fetch_state(&b, &templates).await.unwrap();
    let p = plan(&templates, &state, &[], &PlanOptions::default()).unwrap();
    let before = sim.request_log().len();
    let report = apply(&b, &p, &ApplyOptions::default()).await;
    assert!(!report.is_ok());

    let failed = report.item("ca-unknown").unwrap();
    match &failed.outcome {
        Outcome::Failed { error } => {
            assert!(error.message.contains("Nobody Here"), "{}", error.message);
            assert!(
                error.message.contains("nothing was sent"),
                "{}",
                error.message
            );
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    assert_eq!(failed.object_id, None);
    assert_ok(&report.item("ca-mfa").unwrap().outcome, "ca-mfa");
    assert_ok(&report.item("group-helpdesk").unwrap().outcome, "group");
    assert_eq!(report.bindings.len(), 2);
    let policies = b.conditional_access().policies().await.unwrap();
    assert_eq!(policies.len(), 1);
    assert_eq!(policies[0].display_name, "Require MFA outside the office");
    let posts: Vec<Value> = sim.request_log()[before..]
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("conditionalAccess/policies"))
        .map(|r| json!(r.path))
        .collect();
    assert_eq!(posts.len(), 1, "one policy sent");
    assert!(matches!(report.report().overall(), Outcome::Partial { .. }));
}

#[tokio::test]
async fn fetch_state_reads_one_listing_each_and_names_existing_policies() {
    let (sim, graph) = setup();
    let templates = templates(&graph).await;
    let a = tenant_graph(&graph, SRC);
    sim.clear_log();
    let state = fetch_state(&a, &templates).await.unwrap();
    // On the wire: one `$batch` (policies, groups, authentication strengths), the named
    // locations alone (one Conditional Access read per batch: Graph paces them), then the
    // users, read only because the existing policy names one.
    let log = sim.request_log();
    let mut wire: Vec<(String, String)> = log
        .iter()
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect();
    wire.sort();
    assert_eq!(
        wire,
        [
            ("GET", "/v1.0/identity/conditionalAccess/namedLocations"),
            ("GET", "/v1.0/users"),
            ("POST", "/v1.0/$batch"),
        ]
        .map(|(m, p)| (m.to_owned(), p.to_owned())),
        "{log:?}"
    );
    assert_eq!(log.last().map(|r| r.path.as_str()), Some("/v1.0/users"));
    let all = sim.log();
    let items: Vec<&str> = all
        .entries()
        .iter()
        .filter(|e| e.in_batch)
        .map(|e| e.path.as_str())
        .collect();
    assert_eq!(
        items,
        [
            "/v1.0/identity/conditionalAccess/policies",
            "/v1.0/groups",
            "/v1.0/policies/authenticationStrengthPolicies",
        ]
    );
    let groups_query = all
        .entries()
        .iter()
        .find(|r| r.path == "/v1.0/groups")
        .and_then(|r| r.query.clone())
        .unwrap_or_default();
    assert!(
        groups_query.contains("$select=id,displayName"),
        "{groups_query}"
    );
    let users_query = log
        .iter()
        .find(|r| r.path == "/v1.0/users")
        .and_then(|r| r.query.clone())
        .unwrap_or_default();
    assert!(users_query.contains("$select="), "{users_query}");
    let existing = state.existing_of(&TemplateKind::ConditionalAccess);
    assert_eq!(existing.len(), 1);
    assert_eq!(existing[0].id, SRC_POLICY);
    assert_eq!(
        existing[0].body["conditions"]["users"]["excludeUsers"],
        json!(["Break Glass"])
    );
    assert_eq!(
        existing[0].body["conditions"]["locations"]["excludeLocations"],
        json!(["Head office", "AllTrusted"])
    );
    let groups = state.existing_of(&TemplateKind::Group);
    assert_eq!(groups.len(), 2);
    // The source tenant's own objects plan as no-op once bound.
    let bindings = vec![
        cipp_templates::plan::Binding {
            template_id: "ca-mfa".into(),
            tenant: SRC.into(),
            object_id: SRC_POLICY.into(),
        },
        cipp_templates::plan::Binding {
            template_id: "group-helpdesk".into(),
            tenant: SRC.into(),
            object_id: SRC_HELPDESK.into(),
        },
    ];
    let p = plan(&templates, &state, &bindings, &PlanOptions::default()).unwrap();
    assert!(p.is_empty(), "{p}");
}

#[tokio::test]
async fn verification_reports_what_differs_when_read_back() {
    let (_sim, graph) = setup();
    // Group licences are not assigned by apply: reading the group back shows none.
    let sku = "c7df2760-2c81-4ef7-b578-5b5392b571df";
    let t = Template::new(
        TemplateKind::Group,
        "Licensed",
        json!({"displayName": "Licensed", "groupType": "generic", "username": "licensed",
               "licenses": [sku]}),
    )
    .with_id("group-licensed");
    let b = tenant_graph(&graph, DST);
    let (_, report) = deploy(&b, std::slice::from_ref(&t), &[], &ApplyOptions::default()).await;
    let item = report.item("group-licensed").unwrap();
    match &item.outcome {
        Outcome::Partial { failures, .. } => {
            assert_eq!(failures.len(), 1, "{failures:?}");
            assert!(
                failures[0].starts_with("/licenses: expected"),
                "{failures:?}"
            );
        }
        other => panic!("expected a verification difference, got {other:?}"),
    }
    assert!(item.object_id.is_some(), "the group exists and stays bound");
    assert_eq!(report.bindings.len(), 1);

    // Without verification the same apply is a plain success.
    let t2 = Template::new(
        TemplateKind::Group,
        "Licensed 2",
        json!({"displayName": "Licensed 2", "groupType": "generic", "licenses": [sku]}),
    )
    .with_id("group-licensed-2");
    let state = fetch_state(&b, std::slice::from_ref(&t2)).await.unwrap();
    let p = plan(
        std::slice::from_ref(&t2),
        &state,
        &[],
        &PlanOptions::default(),
    )
    .unwrap();
    let report = apply(&b, &p, &ApplyOptions::new().verify(false)).await;
    assert_ok(
        &report.item("group-licensed-2").unwrap().outcome,
        "unverified",
    );
}

/// A policy that requires a custom authentication strength for an authentication context:
/// captured with both attached, planned as dependencies where the target lacks them,
/// created there (the strength under a new id, the context under the same `c` id), the
/// policy pointing at them, and a second deploy all no-op.
#[tokio::test]
async fn custom_strengths_and_contexts_are_created_as_dependencies() {
    let (_sim, graph) = setup();
    let a = tenant_graph(&graph, SRC);
    a.conditional_access()
        .disable_security_defaults()
        .await
        .unwrap();
    let strength: cipp_graph::model::AuthenticationStrengthPolicy = serde_json::from_value(json!({
        "displayName": "Phishing-resistant",
        "description": "FIDO2 only",
        "allowedCombinations": ["fido2"]
    }))
    .unwrap();
    let source_strength = a
        .conditional_access()
        .create_authentication_strength(&strength)
        .await
        .unwrap();
    a.conditional_access()
        .upsert_authentication_context(&cipp_graph::model::AuthenticationContext {
            id: "c3".into(),
            display_name: Some("Finance data".into()),
            description: Some("Step-up for finance".into()),
            is_available: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    let policy: cipp_graph::model::ConditionalAccessPolicy = serde_json::from_value(json!({
        "displayName": "Finance step-up",
        "state": "enabled",
        "conditions": {
            "clientAppTypes": ["all"],
            "applications": {"includeAuthenticationContextClassReferences": ["c3"]},
            "users": {"includeUsers": ["All"]}
        },
        "grantControls": {"operator": "OR", "authenticationStrength": {"id": source_strength.id}}
    }))
    .unwrap();
    let created = a.conditional_access().create_policy(&policy).await.unwrap();
    let capture = capture_conditional_access(&a, &created.id).await.unwrap();
    assert!(
        capture.warnings.iter().all(|w| !w.contains("context")),
        "{:?}",
        capture.warnings
    );
    let template = capture.into_template().with_id("ca-finance");
    assert_eq!(
        template.body["grantControls"]["authenticationStrength"],
        json!({"displayName": "Phishing-resistant"})
    );
    let templates = vec![template];

    let b = target(&graph).await;
    let state = fetch_state(&b, &templates).await.unwrap();
    let p = plan(&templates, &state, &[], &PlanOptions::default()).unwrap();
    assert_eq!(
        p.dependency_names(),
        vec![
            (DependencyKind::AuthenticationStrength, "Phishing-resistant"),
            (DependencyKind::AuthenticationContext, "Finance data"),
        ]
    );
    let report = apply(&b, &p, &ApplyOptions::default()).await;
    assert!(report.is_ok(), "{report:#?}");
    let strengths = b
        .conditional_access()
        .authentication_strengths()
        .await
        .unwrap();
    let made = strengths
        .iter()
        .find(|s| s.display_name == "Phishing-resistant")
        .expect("strength created in the target");
    assert_ne!(made.id, source_strength.id);
    assert_eq!(made.allowed_combinations, ["fido2"]);
    let contexts = b
        .conditional_access()
        .authentication_contexts()
        .await
        .unwrap();
    assert_eq!(contexts.len(), 1);
    assert_eq!(contexts[0].id, "c3");
    assert_eq!(contexts[0].display_name.as_deref(), Some("Finance data"));
    let policy_id = report
        .item("ca-finance")
        .unwrap()
        .object_id
        .clone()
        .unwrap();
    let deployed = b.conditional_access().policy(&policy_id).await.unwrap();
    assert_eq!(
        deployed.grant_controls.unwrap()["authenticationStrength"]["id"],
        json!(made.id)
    );
    assert_eq!(
        deployed.conditions.unwrap()["applications"]["includeAuthenticationContextClassReferences"],
        json!(["c3"])
    );

    let again = replan(&b, &templates, &report.bindings).await;
    assert!(again.is_empty(), "{again}");
    assert!(again.dependencies.is_empty());
}

/// Several Conditional Access policies are verified from one listing, not one GET each
/// (Graph serves one Conditional Access request per second per tenant).
#[tokio::test]
async fn several_policies_are_verified_from_one_listing() {
    let (sim, graph) = setup();
    let mut templates = templates(&graph).await;
    let mut second = templates[0].clone().with_id("ca-mfa-2");
    second.name = "Require MFA outside the office (copy)".into();
    second.body["displayName"] = json!(second.name);
    templates.push(second);
    let b = target(&graph).await;
    let state = fetch_state(&b, &templates).await.unwrap();
    let p = plan(&templates, &state, &[], &PlanOptions::default()).unwrap();
    let before = sim.request_log().len();
    let report = apply(&b, &p, &ApplyOptions::default()).await;
    assert!(report.is_ok(), "{report:#?}");
    for id in ["ca-mfa", "ca-mfa-2"] {
        let item = report.item(id).unwrap();
        assert!(item.outcome.message().contains("verified"), "{item:?}");
    }
    let policy_reads: Vec<String> = sim.request_log()[before..]
        .iter()
        .filter(|r| r.method == "GET" && r.path.contains("/conditionalAccess/policies"))
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(
        policy_reads,
        ["/v1.0/identity/conditionalAccess/policies"],
        "one listing, no GET per policy"
    );
}

// ---------------------------------------------------------------------------------------
// The state read over the wire: independent listings in one `$batch`.
//
// Real time on purpose: paused Tokio time and real sockets do not mix (the clock would jump
// to the transport's timeout while waiting for the mock server). The waits are short.

const WIRE_POLICY: &str = "5a1b2c3d-0000-4000-8000-0000000000c1";
const WIRE_LOCATION: &str = "5a1b2c3d-0000-4000-8000-0000000000a1";
const WIRE_HELPDESK: &str = "5a1b2c3d-0000-4000-8000-0000000000b1";
const WIRE_SALES: &str = "5a1b2c3d-0000-4000-8000-0000000000b2";

/// A Conditional Access template and a group template (their kinds decide what is read).
fn wire_templates() -> Vec<Template> {
    vec![
        Template::new(
            TemplateKind::ConditionalAccess,
            "Block outside the office",
            json!({"displayName": "Block outside the office", "state": "enabled",
                   "conditions": {"users": {"includeUsers": ["All"]},
                                  "locations": {"includeLocations": ["All"], "excludeLocations": ["Head office"]}},
                   "grantControls": {"operator": "OR", "builtInControls": ["block"]}}),
        )
        .with_id("ca"),
        Template::new(
            TemplateKind::Group,
            "Helpdesk",
            json!({"displayName": "Helpdesk", "groupType": "generic", "username": "helpdesk"}),
        )
        .with_id("group"),
    ]
}

/// The batch fetch_state sends for [`wire_templates`]: the policies (the one Conditional
/// Access read a batch carries), the groups with their portable properties, and the
/// authentication strengths, each URL relative to the version with its query.
fn state_batch(ids: &[&str]) -> Value {
    let all = [
        ("1", "/identity/conditionalAccess/policies"),
        (
            "2",
            "/groups?$select=id%2CdisplayName%2Cdescription%2CgroupTypes%2CmailEnabled%2CsecurityEnabled%2CmailNickname%2CmembershipRule%2CisAssignableToRole%2CassignedLicenses%2ConPremisesSyncEnabled",
        ),
        ("4", "/policies/authenticationStrengthPolicies"),
    ];
    let requests: Vec<Value> = all
        .iter()
        .filter(|(id, _)| ids.contains(id))
        .map(|(id, url)| json!({"id": id, "method": "GET", "url": url}))
        .collect();
    json!({ "requests": requests })
}

fn item(id: &str, status: u16, headers: Value, body: Value) -> Value {
    json!({"id": id, "status": status, "headers": headers, "body": body})
}

fn json_headers() -> Value {
    json!({"Content-Type": "application/json"})
}

fn group(id: &str, name: &str) -> Value {
    json!({"id": id, "displayName": name, "description": null, "groupTypes": [],
           "mailEnabled": false, "securityEnabled": true, "mailNickname": name.to_lowercase()})
}

async fn mount_batch(server: &wiremock::MockServer, expected: Value, responses: Vec<Value>) {
    Mock::given(method("POST"))
        .and(path("/v1.0/$batch"))
        .and(body_json(expected))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "responses": responses })))
        .expect(1)
        .mount(server)
        .await;
}

/// The named locations, read on their own (the second Conditional Access read).
async fn mount_locations(server: &wiremock::MockServer) {
    mount_get(
        server,
        "/v1.0/identity/conditionalAccess/namedLocations",
        json!({"value": [{"@odata.type": "#microsoft.graph.ipNamedLocation", "id": WIRE_LOCATION,
                          "displayName": "Head office", "isTrusted": true, "ipRanges": []}]}),
    )
    .await;
}

#[tokio::test]
async fn state_listings_go_in_one_batch_throttled_items_are_resent_and_next_links_followed() {
    let (server, graph) = wire().await;
    let next = format!(
        "{}/v1.0/groups?$select=id,displayName&$skiptoken=page2",
        server.uri()
    );
    let policy = json!({"id": WIRE_POLICY, "displayName": "Block outside the office", "state": "enabled",
        "conditions": {"users": {"includeUsers": ["All"]},
                       "locations": {"includeLocations": ["All"], "excludeLocations": [WIRE_LOCATION]}},
        "grantControls": {"operator": "OR", "builtInControls": ["block"]}});
    mount_batch(
        &server,
        state_batch(&["1", "2", "4"]),
        vec![
            // Out of order, as Graph may answer.
            item(
                "4",
                429,
                json!({"Retry-After": "0.02"}),
                json!({"error": {"code": "TooManyRequests", "message": "Please retry again later."}}),
            ),
            item(
                "2",
                200,
                json_headers(),
                json!({"@odata.nextLink": next, "value": [group(WIRE_HELPDESK, "Helpdesk")]}),
            ),
            item("1", 200, json_headers(), json!({"value": [policy]})),
        ],
    )
    .await;
    // Only the throttled item is sent again, after its Retry-After.
    mount_batch(
        &server,
        state_batch(&["4"]),
        vec![item(
            "4",
            200,
            json_headers(),
            json!({"value": [{"id": "00000000-0000-0000-0000-000000000002",
                              "displayName": "Multifactor authentication", "policyType": "builtIn"}]}),
        )],
    )
    .await;
    // The groups' second page: an ordinary request to the next link.
    Mock::given(method("GET"))
        .and(path("/v1.0/groups"))
        .and(query_param("$skiptoken", "page2"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"value": [group(WIRE_SALES, "Sales")]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    mount_locations(&server).await;

    let started = std::time::Instant::now();
    let state = fetch_state(&graph, &wire_templates()).await.unwrap();
    assert!(started.elapsed() >= std::time::Duration::from_millis(20));

    assert_eq!(state.group_names, ["Helpdesk", "Sales"]);
    assert_eq!(state.named_locations, ["Head office"]);
    assert_eq!(
        state.authentication_strengths,
        ["Multifactor authentication"]
    );
    let groups = state.existing_of(&TemplateKind::Group);
    assert_eq!(groups.len(), 2, "both pages");
    assert_eq!(groups[1].id, WIRE_SALES);
    let policies = state.existing_of(&TemplateKind::ConditionalAccess);
    assert_eq!(policies.len(), 1);
    assert_eq!(
        policies[0].body["conditions"]["locations"]["excludeLocations"],
        json!(["Head office"]),
        "ids named from the listings read"
    );
    // Two batches, the second page and the named locations: nothing else (no users: the
    // policy names none).
    let mut sent: Vec<(String, String)> = requests(&server)
        .await
        .into_iter()
        .map(|(m, p, _)| (m, p))
        .collect();
    sent.sort();
    assert_eq!(
        sent,
        [
            ("GET", "/v1.0/groups"),
            ("GET", "/v1.0/identity/conditionalAccess/namedLocations"),
            ("POST", "/v1.0/$batch"),
            ("POST", "/v1.0/$batch"),
        ]
        .map(|(m, p)| (m.to_owned(), p.to_owned()))
    );
}

#[tokio::test]
async fn a_refused_batch_item_fails_the_state_read_with_graphs_error_and_is_not_resent() {
    let (server, graph) = wire().await;
    mount_batch(
        &server,
        state_batch(&["1", "2", "4"]),
        vec![
            item("1", 200, json_headers(), json!({"value": []})),
            item(
                "2",
                403,
                json!({"Content-Type": "application/json", "request-id": "rid-batch-2"}),
                json!({"error": {"code": "Authorization_RequestDenied",
                                 "message": "Insufficient privileges to complete the operation.",
                                 "innerError": {"date": "2026-11-27T10:00:00", "request-id": "rid-batch-2",
                                                "client-request-id": "crid-2"}}}),
            ),
            // Unavailable with a Retry-After: resent, like the request alone would be.
            item(
                "4",
                503,
                json!({"Retry-After": "0.01"}),
                json!({"error": {"code": "serviceNotAvailable", "message": "Try again later."}}),
            ),
        ],
    )
    .await;
    mount_batch(
        &server,
        state_batch(&["4"]),
        vec![item("4", 200, json_headers(), json!({"value": []}))],
    )
    .await;
    mount_locations(&server).await;

    let err = fetch_state(&graph, &wire_templates()).await.unwrap_err();
    let ApplyError::Service(e) = &err else {
        panic!("{err:?}");
    };
    assert_eq!(e.status().map(|s| s.as_u16()), Some(403));
    assert_eq!(e.request_id(), Some("rid-batch-2"));
    assert_eq!(
        e.tenant().map(|t| t.to_string()).as_deref(),
        Some("contoso.onmicrosoft.com")
    );
    let shown = err.to_string();
    for part in [
        "contoso.onmicrosoft.com",
        "403",
        "Authorization_RequestDenied",
        "rid-batch-2",
    ] {
        assert!(shown.contains(part), "{part} not in {shown}");
    }
}

/// The batch carrying a Conditional Access read is admitted as a Conditional Access request:
/// with Graph's pacing (one request per second per tenant, 429 without `Retry-After`
/// beyond it) the named locations, read on their own, wait a second after it and nothing
/// is refused.
#[tokio::test(start_paused = true)]
async fn the_batch_carrying_a_conditional_access_read_is_paced_like_one() {
    let sim = simulator();
    let templates = templates(&sim_graph(&sim)).await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    sim.set_ca_throttling(SRC, true);
    let paced = cipp_core::Pipeline::builder()
        .transport(std::sync::Arc::new(sim.clone()))
        .credentials(sim.client_credentials())
        .throttle(cipp_core::ThrottleSettings::documented())
        .build()
        .unwrap();
    let a = tenant_graph(&GraphClient::new(paced), SRC);
    sim.clear_log();
    let start = tokio::time::Instant::now();
    let state = fetch_state(&a, &templates).await.unwrap();
    assert!(start.elapsed() >= std::time::Duration::from_secs(1));
    assert_eq!(state.named_locations, ["Head office"]);
    let log = sim.log();
    let refused: Vec<_> = log.entries().iter().filter(|e| e.status == 429).collect();
    assert!(refused.is_empty(), "{refused:?}");
    for (path, in_batch) in [
        ("/v1.0/identity/conditionalAccess/policies", true),
        ("/v1.0/identity/conditionalAccess/namedLocations", false),
    ] {
        let served: Vec<_> = log.entries().iter().filter(|e| e.path == path).collect();
        assert_eq!(served.len(), 1, "{path}: {served:?}");
        assert_eq!((served[0].status, served[0].in_batch), (200, in_batch));
    }
}

/// Templates of an open kind (`TemplateKind::Other`) deployed to the Graph collection
/// their target names: on the simulator (create, verify, no-op, update, adopt, not
/// deployable) and over the wire (the exact requests).
mod open_kinds {
    use cipp_core::Outcome;
    use cipp_sim::kit::TenantSeed;
    use cipp_sim::Simulator;
    use cipp_templates::apply::{apply, fetch_state, ApplyError, ApplyOptions};
    use cipp_templates::graph_target::GraphTarget;
    use cipp_templates::plan::{plan, Action, Binding, MatchedBy, PlanOptions};
    use cipp_templates::template::{Template, TemplateKind};
    use serde_json::{json, Value};
    use wiremock::matchers::{body_json, method, path};
    use wiremock::{Mock, ResponseTemplate};

    use crate::wire::*;

    const T: &str = "fabrikam.onmicrosoft.com";
    const COLLECTION: &str = "beta/deviceManagement/deviceEnrollmentConfigurations";
    const LIMIT: &str = "#microsoft.graph.deviceEnrollmentLimitConfiguration";

    fn kind() -> TemplateKind {
        TemplateKind::Other("enrollmentLimit".into())
    }

    fn limit(name: &str, n: u32) -> Template {
        Template::new(
            kind(),
            name,
            json!({"@odata.type": LIMIT, "displayName": name, "description": "Devices per user", "limit": n}),
        )
        .with_id("tpl-limit")
        .with_graph_target(GraphTarget::new(COLLECTION).unwrap())
    }

    fn without_target() -> Template {
        Template::new(
            TemplateKind::Other("TenantAllowBlockListTemplate".into()),
            "Block list",
            json!({"displayName": "Block list", "Entries": ["x.example"]}),
        )
        .with_id("tpl-none")
    }

    fn sim(seed: Option<Value>) -> Simulator {
        let mut t = TenantSeed::new(T, "Fabrikam").domain("fabrikam.com");
        if let Some(s) = seed {
            t = t.intune("deviceManagement/deviceEnrollmentConfigurations", s);
        }
        Simulator::builder().tenant(t).build()
    }

    /// The writes sent since log entry `from`, as `METHOD path`.
    fn writes(sim: &Simulator, from: usize) -> Vec<String> {
        sim.request_log()[from..]
            .iter()
            .filter(|r| r.method != "GET" && !r.path.contains("/token"))
            .map(|r| format!("{} {}", r.method, r.path))
            .collect()
    }

    #[tokio::test]
    async fn an_open_kind_deploys_to_its_target_verifies_and_replans_no_op() {
        let sim = sim(None);
        let g = tenant_graph(&sim_graph(&sim), T);
        let ts = vec![limit("Device limit", 5), without_target()];

        let p = replan(&g, &ts, &[]).await;
        assert_eq!(p.targets.len(), 1, "{p:?}");
        assert!(matches!(p.items[0].action, Action::Create { .. }), "{p}");
        let Action::Conflict { reason } = &p.items[1].action else {
            panic!("{p}")
        };
        assert!(
            reason.contains("not deployable") && reason.contains("TenantAllowBlockListTemplate"),
            "{reason}"
        );

        let report = apply(&g, &p, &ApplyOptions::default()).await;
        let made = report.item("tpl-limit").unwrap();
        assert_outcome(
            &made.outcome,
            "Succeeded",
            &["created", "Device limit", COLLECTION, "verified"],
        );
        assert_outcome(
            &report.item("tpl-none").unwrap().outcome,
            "Failed",
            &["not deployable"],
        );
        let id = made.object_id.clone().unwrap();
        assert_eq!(report.bindings, vec![Binding::new("tpl-limit", T, &id)]);
        // One POST, to the target collection; nothing for the template without a target.
        assert_eq!(writes(&sim, 0), vec![format!("POST /{COLLECTION}")]);

        // Bound: no-op, nothing sent.
        let again = replan(&g, &ts, &report.bindings).await;
        assert!(
            matches!(again.items[0].action, Action::NoOp { .. }),
            "{again}"
        );
        let before = sim.request_log().len();
        let second = apply(&g, &again, &ApplyOptions::default()).await;
        assert!(matches!(
            second.item("tpl-limit").unwrap().outcome,
            Outcome::NoChange { .. }
        ));
        assert!(writes(&sim, before).is_empty());

        // Renamed and changed: one PATCH of the bound object, verified.
        let changed = vec![limit("Device limit (5 → 7)", 7)];
        let p = replan(&g, &changed, &report.bindings).await;
        let Action::Update {
            object_id,
            matched_by,
            changes,
            ..
        } = &p.items[0].action
        else {
            panic!("{p}")
        };
        assert_eq!(
            (object_id.as_str(), *matched_by),
            (id.as_str(), MatchedBy::Binding)
        );
        let paths: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(paths, vec!["/displayName", "/limit"]);
        let before = sim.request_log().len();
        let r = apply(&g, &p, &ApplyOptions::default()).await;
        assert_outcome(
            &r.items[0].outcome,
            "Succeeded",
            &["updated", "displayName, limit", "verified"],
        );
        assert_eq!(
            writes(&sim, before),
            vec![format!("PATCH /{COLLECTION}/{id}")]
        );
        let third = replan(&g, &changed, &r.bindings).await;
        assert!(
            matches!(third.items[0].action, Action::NoOp { .. }),
            "{third}"
        );
    }

    #[tokio::test]
    async fn an_object_of_the_same_name_is_adopted_or_a_conflict() {
        let existing = json!({"@odata.type": LIMIT, "id": "e1_Limit", "displayName": "Device limit",
                              "description": "Devices per user", "limit": 5, "priority": 1});
        let sim = sim(Some(existing));
        let g = tenant_graph(&sim_graph(&sim), T);
        let ts = vec![limit("Device limit", 5)];
        let state = fetch_state(&g, &ts).await.unwrap();
        let conflict = plan(&ts, &state, &[], &PlanOptions::default()).unwrap();
        assert!(
            matches!(conflict.items[0].action, Action::Conflict { .. }),
            "{conflict}"
        );
        let adopt = plan(
            &ts,
            &state,
            &[],
            &PlanOptions::default().adopt_by_name(true),
        )
        .unwrap();
        assert!(
            matches!(&adopt.items[0].action, Action::Adopt { object_id } if object_id == "e1_Limit"),
            "{adopt}"
        );
        let r = apply(&g, &adopt, &ApplyOptions::default()).await;
        assert_eq!(r.bindings, vec![Binding::new("tpl-limit", T, "e1_Limit")]);
        assert!(writes(&sim, 0).is_empty());

        // Another value: an update of the adopted object, by name.
        let ts = vec![limit("Device limit", 9)];
        let p = plan(
            &ts,
            &state,
            &[],
            &PlanOptions::default().adopt_by_name(true),
        )
        .unwrap();
        assert!(
            matches!(
                &p.items[0].action,
                Action::Update {
                    matched_by: MatchedBy::Name,
                    ..
                }
            ),
            "{p}"
        );
    }

    #[tokio::test]
    async fn bad_targets_are_not_deployable_and_nothing_is_read_or_sent() {
        let sim = sim(None);
        let g = tenant_graph(&sim_graph(&sim), T);
        let mut bad = limit("Device limit", 5);
        bad.attachments.extra.insert(
            "graphTarget".into(),
            json!({"collection": "beta/deviceManagement/../users"}),
        );
        bad.refresh_hash();
        let mut host = without_target();
        host.attachments.extra.insert(
            "graphTarget".into(),
            json!({"collection": "https://evil.example/v1.0/users"}),
        );
        let before = sim.request_log().len();
        let p = replan(&g, &[bad, host], &[]).await;
        for (item, why) in p.items.iter().zip([".. segments", "relative"]) {
            let Action::Conflict { reason } = &item.action else {
                panic!("{p}")
            };
            assert!(
                reason.contains("not deployable") && reason.contains(why),
                "{reason}"
            );
        }
        assert!(p.targets.is_empty());
        let r = apply(&g, &p, &ApplyOptions::default()).await;
        assert!(r.items.iter().all(|i| !i.outcome.is_ok()));
        // No listing and no write: nothing reached the simulator's Graph.
        assert!(sim.request_log()[before..]
            .iter()
            .all(|r| r.path.contains("/token")));

        // One kind naming two collections is refused before anything is read.
        let a = limit("A", 1);
        let b = limit("B", 2).with_id("tpl-b").with_graph_target(
            GraphTarget::new("v1.0/deviceManagement/deviceEnrollmentConfigurations").unwrap(),
        );
        let err = fetch_state(&g, &[a, b]).await.unwrap_err();
        assert!(matches!(err, ApplyError::Invalid { .. }), "{err}");
        assert!(err.to_string().contains("own kind name"), "{err}");
    }

    #[tokio::test]
    async fn the_exact_requests_a_create_and_an_update_send() {
        let (server, g) = wire().await;
        let p_collection = format!("/{COLLECTION}");
        // State: the collection, every page.
        let next = format!("{}{p_collection}?$skiptoken=2", server.uri());
        Mock::given(method("GET"))
            .and(path(p_collection.as_str()))
            .and(wiremock::matchers::query_param_is_missing("$skiptoken"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "@odata.nextLink": next,
                "value": [{"@odata.type": LIMIT, "id": "e1", "displayName": "Other", "limit": 1}]})))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(p_collection.as_str()))
            .and(wiremock::matchers::query_param("$skiptoken", "2"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "value": [{"@odata.type": LIMIT, "id": "e2", "displayName": "Device limit",
                           "description": "Devices per user", "limit": 5, "priority": 2,
                           "createdDateTime": "2026-01-01T00:00:00Z", "version": 3}]})))
            .expect(1)
            .mount(&server)
            .await;
        // Update through the binding: only the changed top-level property, with the type.
        Mock::given(method("PATCH"))
            .and(path(format!("{p_collection}/e2")))
            .and(body_json(json!({"@odata.type": LIMIT, "limit": 8})))
            .respond_with(ResponseTemplate::new(204))
            .expect(1)
            .mount(&server)
            .await;
        // Verification reads it back; here Graph kept the old value.
        Mock::given(method("GET"))
            .and(path(format!("{p_collection}/e2")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "@odata.type": LIMIT, "id": "e2", "displayName": "Device limit",
                "description": "Devices per user", "limit": 5})))
            .expect(1)
            .mount(&server)
            .await;
        // Create: the body as the template gives it (no id, no server fields).
        Mock::given(method("POST"))
            .and(path(p_collection.as_str()))
            .and(body_json(json!({"@odata.type": LIMIT, "displayName": "New limit",
                                  "description": "Devices per user", "limit": 2})))
            .respond_with(ResponseTemplate::new(403).set_body_json(json!({"error": {
                "code": "Forbidden", "message": "Application is not authorized to perform this operation.",
                "innerError": {"request-id": "rid-403", "date": "2026-11-27T10:00:00"}}})))
            .expect(1)
            .mount(&server)
            .await;

        let mut new = limit("New limit", 2).with_id("tpl-new");
        new.body["id"] = json!("source-tenant-id");
        new.body["createdDateTime"] = json!("2020-01-01T00:00:00Z");
        new.refresh_hash();
        let ts = vec![limit("Device limit", 8), new];
        let bindings = [Binding::new("tpl-limit", "contoso.onmicrosoft.com", "e2")];
        let state = fetch_state(&g, &ts).await.unwrap();
        let p = plan(&ts, &state, &bindings, &PlanOptions::default()).unwrap();
        let r = apply(&g, &p, &ApplyOptions::default()).await;
        let updated = r.item("tpl-limit").unwrap();
        assert_outcome(
            &updated.outcome,
            "Partial",
            &["/limit: expected 8, found 5"],
        );
        let failed = r.item("tpl-new").unwrap();
        assert_outcome(&failed.outcome, "Failed", &["rid-403"]);
        assert_eq!(failed.object_id, None);
    }
}
