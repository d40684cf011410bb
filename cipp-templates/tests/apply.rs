//! Apply and verify on the simulator: capture in one tenant, plan for another that lacks
//! the dependencies, apply (dependencies first, names mapped to the target's ids), verify,
//! and plan again to an all no-op plan through the returned bindings.

use cipp_core::Outcome;
use cipp_graph::{GraphClient, TenantGraph};
use cipp_sim::kit::{GroupSeed, TenantSeed, UserSeed};
use cipp_sim::Simulator;
use cipp_templates::apply::{apply, fetch_state, ApplyOptions};
use cipp_templates::capture::{capture_conditional_access, capture_group};
use cipp_templates::plan::{plan, Action, CaState, DependencyKind, PlanOptions};
use cipp_templates::template::{Template, TemplateKind};
use serde_json::{json, Value};

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
    // Dependencies and the group template first, the policy last.
    let posts: Vec<String> = sim.request_log()[before..]
        .iter()
        .filter(|r| r.method == "POST")
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
    let before = sim.request_log().len();
    let state = fetch_state(&a, &templates).await.unwrap();
    let log = sim.request_log()[before..].to_vec();
    let paths: Vec<String> = log.iter().map(|r| r.path.clone()).collect();
    assert_eq!(log.len(), 5, "{paths:?}");
    let groups_query = log
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
