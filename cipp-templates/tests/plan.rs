//! Deploy planning: create / update / adopt / no-op / conflict, bindings, the CA state
//! guardrail, dependencies, and plans as values.

use cipp_templates::plan::{
    diff, plan, plan_template, Action, Binding, CaState, DependencyKind, Existing, MatchedBy, Plan,
    PlanError, PlanOptions, TenantState, REPORT_ONLY_STATE,
};
use cipp_templates::template::{Attachments, Template, TemplateKind};
use proptest::prelude::*;
use serde_json::{json, Value};

fn ca_body() -> Value {
    json!({
        "displayName": "Require MFA",
        "state": "enabled",
        "conditions": {
            "users": {"includeUsers": ["All"], "excludeGroups": ["Break Glass", "Service Accounts"]},
            "applications": {"includeApplications": ["All"]},
            "clientAppTypes": ["browser", "mobileAppsAndDesktopClients"]
        },
        "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}
    })
}

fn ca_template() -> Template {
    Template::new(TemplateKind::ConditionalAccess, "Require MFA", ca_body()).with_id("tpl-ca")
}

/// The body as Graph would return it: server fields, nulls, other key order.
fn as_read(body: &Value, id: &str) -> Value {
    let mut v = body.clone();
    let map = v.as_object_mut().unwrap();
    map.insert("id".into(), json!(id));
    map.insert("createdDateTime".into(), json!("2024-01-01T00:00:00Z"));
    map.insert("modifiedDateTime".into(), Value::Null);
    map.insert("sessionControls".into(), Value::Null);
    map.insert(
        "@odata.context".into(),
        json!("https://graph.microsoft.com/beta/$metadata#x"),
    );
    // Reverse the key order.
    let reversed: serde_json::Map<String, Value> = map
        .iter()
        .rev()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Value::Object(reversed)
}

fn adopt() -> PlanOptions {
    PlanOptions::default().adopt_by_name(true)
}

#[test]
fn create_when_nothing_matches() {
    let other = Existing::new("o1", json!({"displayName": "Something else"}));
    let item = plan_template(&ca_template(), &[other], None, &PlanOptions::default()).unwrap();
    assert_eq!(item.template_id, "tpl-ca");
    assert_eq!(item.name, "Require MFA");
    match item.action {
        Action::Create { body } => assert_eq!(body, ca_body()),
        other => panic!("expected create, got {other:?}"),
    }
}

#[test]
fn update_lists_exact_paths_including_state() {
    let mut current = ca_body();
    current["state"] = json!("disabled");
    current["grantControls"]["operator"] = json!("AND");
    current["conditions"]["users"]
        .as_object_mut()
        .unwrap()
        .remove("excludeGroups");
    let existing = Existing::new("p1", as_read(&current, "p1"));
    let opts = adopt().ca_state(CaState::Enabled);
    let item = plan_template(&ca_template(), &[existing], None, &opts).unwrap();
    let Action::Update {
        object_id,
        matched_by,
        changes,
        body,
    } = item.action
    else {
        panic!("expected update, got {:?}", item.action);
    };
    assert_eq!(object_id, "p1");
    assert_eq!(matched_by, MatchedBy::Name);
    let paths: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/conditions/users/excludeGroups",
            "/grantControls/operator",
            "/state"
        ]
    );
    assert_eq!(changes[0].from, None);
    assert_eq!(changes[1].from, Some(json!("AND")));
    assert_eq!(changes[1].to, Some(json!("OR")));
    assert_eq!(changes[2].from, Some(json!("disabled")));
    assert_eq!(changes[2].to, Some(json!("enabled")));
    assert_eq!(body["state"], "enabled");
}

#[test]
fn adopt_by_name_when_content_matches_case_insensitively() {
    let mut current = ca_body();
    current["displayName"] = json!("REQUIRE mfa");
    // Names differ in case only: still the displayName differs as content.
    let existing = Existing::new("p1", as_read(&ca_body(), "p1"));
    let item = plan_template(&ca_template(), &[existing], None, &adopt()).unwrap();
    assert_eq!(
        item.action,
        Action::Adopt {
            object_id: "p1".into()
        }
    );
    let renamed = Existing::new("p2", as_read(&current, "p2"));
    let item = plan_template(&ca_template(), &[renamed], None, &adopt()).unwrap();
    match item.action {
        Action::Update {
            object_id, changes, ..
        } => {
            assert_eq!(object_id, "p2");
            assert_eq!(changes.len(), 1);
            assert_eq!(changes[0].path, "/displayName");
        }
        other => panic!("expected update, got {other:?}"),
    }
}

#[test]
fn no_op_through_binding() {
    let existing = Existing::new("p1", as_read(&ca_body(), "p1"));
    let binding = Binding::new("tpl-ca", "contoso", "p1");
    let item = plan_template(
        &ca_template(),
        &[existing],
        Some(&binding),
        &PlanOptions::default(),
    )
    .unwrap();
    assert_eq!(
        item.action,
        Action::NoOp {
            object_id: "p1".into()
        }
    );
}

#[test]
fn conflicts_two_objects_with_the_name_and_name_match_without_adopt() {
    let a = Existing::new("a", as_read(&ca_body(), "a"));
    let b = Existing::new("b", as_read(&ca_body(), "b"));
    let item = plan_template(&ca_template(), &[a.clone(), b], None, &adopt()).unwrap();
    match item.action {
        Action::Conflict { reason } => {
            assert!(reason.contains("2 objects"), "{reason}");
            assert!(reason.contains("a, b"), "{reason}");
        }
        other => panic!("expected conflict, got {other:?}"),
    }
    let item = plan_template(&ca_template(), &[a], None, &PlanOptions::default()).unwrap();
    match item.action {
        Action::Conflict { reason } => assert!(reason.contains("adoption by name is off")),
        other => panic!("expected conflict, got {other:?}"),
    }
}

#[test]
fn binding_renames_instead_of_orphaning() {
    // The template was renamed since the last deploy; the bound object still has the old
    // name. The binding finds it anyway: an update renaming it, not a second policy.
    let mut old = ca_body();
    old["displayName"] = json!("MFA for everyone");
    let bound = Existing::new("p1", as_read(&old, "p1"));
    let binding = Binding::new("tpl-ca", "contoso", "p1");
    let item = plan_template(
        &ca_template(),
        &[bound],
        Some(&binding),
        &PlanOptions::default(),
    )
    .unwrap();
    match item.action {
        Action::Update {
            object_id,
            matched_by,
            changes,
            ..
        } => {
            assert_eq!(object_id, "p1");
            assert_eq!(matched_by, MatchedBy::Binding);
            assert_eq!(changes.len(), 1);
            assert_eq!(changes[0].path, "/displayName");
            assert_eq!(changes[0].from, Some(json!("MFA for everyone")));
            assert_eq!(changes[0].to, Some(json!("Require MFA")));
        }
        other => panic!("expected update, got {other:?}"),
    }
    // A binding of another template is refused.
    let wrong = Binding::new("other", "contoso", "p1");
    assert!(matches!(
        plan_template(&ca_template(), &[], Some(&wrong), &PlanOptions::default()),
        Err(PlanError::BindingMismatch { .. })
    ));
}

#[test]
fn deleted_bound_object_falls_back_to_create() {
    let binding = Binding::new("tpl-ca", "contoso", "gone");
    let item = plan_template(&ca_template(), &[], Some(&binding), &PlanOptions::default()).unwrap();
    assert!(matches!(item.action, Action::Create { .. }));
}

#[test]
fn key_order_server_fields_and_set_like_arrays_make_no_diff() {
    let mut shuffled = ca_body();
    shuffled["conditions"]["users"]["excludeGroups"] = json!(["Service Accounts", "Break Glass"]);
    shuffled["conditions"]["clientAppTypes"] = json!(["mobileAppsAndDesktopClients", "browser"]);
    let current = as_read(&shuffled, "p1");
    assert!(diff(&TemplateKind::ConditionalAccess, &ca_body(), &current).is_empty());
    // Order does matter for other kinds' arrays.
    let a = json!({"displayName": "x", "list": [1, 2]});
    let b = json!({"displayName": "x", "list": [2, 1], "id": "z"});
    assert_eq!(
        diff(&TemplateKind::IntuneDeviceConfiguration, &a, &b).len(),
        1
    );
    // 1.0 and 1 are the same.
    let c = json!({"n": 1.0});
    let d = json!({"n": 1});
    assert!(diff(&TemplateKind::IntuneCompliance, &c, &d).is_empty());
}

#[test]
fn report_only_is_never_sent_enabled() {
    let opts = PlanOptions::default().ca_state(CaState::ReportOnly);
    // Create: the template says enabled, the plan says report-only.
    let item = plan_template(&ca_template(), &[], None, &opts).unwrap();
    match item.action {
        Action::Create { body } => assert_eq!(body["state"], REPORT_ONLY_STATE),
        other => panic!("expected create, got {other:?}"),
    }
    // An existing report-only policy is not turned on.
    let mut current = ca_body();
    current["state"] = json!(REPORT_ONLY_STATE);
    let existing = Existing::new("p1", as_read(&current, "p1"));
    let opts = opts.adopt_by_name(true);
    let item = plan_template(&ca_template(), std::slice::from_ref(&existing), None, &opts).unwrap();
    assert_eq!(
        item.action,
        Action::Adopt {
            object_id: "p1".into()
        }
    );
    // With other changes the update body still says report-only.
    let mut changed = current.clone();
    changed["grantControls"]["operator"] = json!("AND");
    let existing = Existing::new("p1", as_read(&changed, "p1"));
    let item = plan_template(&ca_template(), &[existing], None, &opts).unwrap();
    match item.action {
        Action::Update { body, changes, .. } => {
            assert_eq!(body["state"], REPORT_ONLY_STATE);
            assert!(changes.iter().all(|c| c.path != "/state"));
        }
        other => panic!("expected update, got {other:?}"),
    }
    // An enabled policy asked for in report-only is turned to report-only.
    let enabled = Existing::new("p1", as_read(&ca_body(), "p1"));
    let item = plan_template(&ca_template(), &[enabled], None, &opts).unwrap();
    match item.action {
        Action::Update { body, changes, .. } => {
            assert_eq!(body["state"], REPORT_ONLY_STATE);
            assert_eq!(changes[0].path, "/state");
            assert_eq!(changes[0].to, Some(json!(REPORT_ONLY_STATE)));
        }
        other => panic!("expected update, got {other:?}"),
    }
    // DoNotChange: an existing report-only policy keeps its state (no state sent).
    let existing = Existing::new("p1", as_read(&changed, "p1"));
    let item = plan_template(&ca_template(), &[existing], None, &adopt()).unwrap();
    match item.action {
        Action::Update { body, changes, .. } => {
            assert!(body.get("state").is_none());
            assert!(changes.iter().all(|c| c.path != "/state"));
        }
        other => panic!("expected update, got {other:?}"),
    }
}

fn full_plan() -> Plan {
    let group = Template::new(
        TemplateKind::Group,
        "Service Accounts",
        json!({"displayName": "Service Accounts", "groupType": "generic"}),
    )
    .with_id("tpl-group");
    let mut attachments = Attachments::default();
    attachments.named_locations = vec![
        json!({"@odata.type": "#microsoft.graph.ipNamedLocation", "displayName": "Office"}),
        json!({"@odata.type": "#microsoft.graph.countryNamedLocation", "displayName": "Home countries"}),
    ];
    attachments.authentication_strengths = vec![json!({"displayName": "Phishing-resistant plus"})];
    let ca = ca_template().with_attachments(attachments);
    let mut tenant = TenantState::new("contoso");
    tenant.named_locations = vec!["office".into()];
    tenant.group_names = vec![];
    tenant.existing.insert(
        TemplateKind::IntuneCompliance,
        vec![Existing::new(
            "c1",
            json!({"displayName": "Windows", "passwordRequired": true, "id": "c1"}),
        )],
    );
    let compliance = Template::new(
        TemplateKind::IntuneCompliance,
        "Windows",
        json!({"displayName": "Windows", "passwordRequired": true}),
    )
    .with_id("tpl-comp");
    // The group template comes last on input; the plan orders it first.
    plan(&[ca, compliance, group], &tenant, &[], &adopt()).unwrap()
}

#[test]
fn dependencies_before_policies_and_only_missing_ones() {
    let p = full_plan();
    let deps = p.dependency_names();
    // "Break Glass" is missing; "Service Accounts" comes from the group template; "Office"
    // exists already.
    assert_eq!(
        deps,
        [
            (DependencyKind::Group, "Break Glass"),
            (DependencyKind::NamedLocation, "Home countries"),
            (
                DependencyKind::AuthenticationStrength,
                "Phishing-resistant plus"
            ),
        ]
    );
    assert!(p.dependencies.iter().all(|d| d.required_by == ["tpl-ca"]));
    assert!(p.dependencies[1].body.is_some());
    let order: Vec<&str> = p.items.iter().map(|i| i.template_id.as_str()).collect();
    assert_eq!(order, ["tpl-group", "tpl-ca", "tpl-comp"]);
    assert!(matches!(p.items[2].action, Action::Adopt { .. }));
    assert!(!p.has_conflicts());
    assert!(!p.is_empty());
}

#[test]
fn plan_serde_round_trip() {
    let p = full_plan();
    let text = serde_json::to_string_pretty(&p).unwrap();
    let back: Plan = serde_json::from_str(&text).unwrap();
    assert_eq!(back, p);
    assert!(text.contains("\"action\": \"create\""));
}

#[test]
fn display_mentions_every_item_and_dependency() {
    let p = full_plan();
    let text = p.to_string();
    for item in &p.items {
        assert!(text.contains(&item.name), "{text}");
        assert!(text.contains(&item.template_id), "{text}");
    }
    for d in &p.dependencies {
        assert!(text.contains(&d.name), "{text}");
    }
    assert!(text.contains("adopt"), "{text}");
}

#[test]
fn only_bindings_for_this_tenant_are_used() {
    let bound = Existing::new("p1", as_read(&ca_body(), "p1"));
    let mut tenant = TenantState::new("contoso");
    tenant.group_names = vec!["break glass".into(), "Service Accounts".into()];
    tenant
        .existing
        .insert(TemplateKind::ConditionalAccess, vec![bound]);
    let other_tenant = Binding::new("tpl-ca", "fabrikam", "p1");
    let p = plan(
        &[ca_template()],
        &tenant,
        std::slice::from_ref(&other_tenant),
        &PlanOptions::default(),
    )
    .unwrap();
    assert!(matches!(p.items[0].action, Action::Conflict { .. }));
    let this_tenant = Binding {
        tenant: "contoso".into(),
        ..other_tenant
    };
    let p = plan(
        &[ca_template()],
        &tenant,
        &[this_tenant],
        &PlanOptions::default(),
    )
    .unwrap();
    assert!(matches!(p.items[0].action, Action::NoOp { .. }));
    assert!(p.is_empty());
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<bool>().prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
        "[a-z]{0,6}".prop_map(Value::from),
    ]
}

fn body() -> impl Strategy<Value = Value> {
    let value = leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,5}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    (
        "[A-Za-z ]{1,12}",
        prop::collection::btree_map("[a-z]{1,6}", value, 0..5),
    )
        .prop_map(|(name, fields)| {
            let mut map: serde_json::Map<String, Value> = fields.into_iter().collect();
            map.insert("displayName".into(), Value::String(name));
            Value::Object(map)
        })
}

proptest! {
    #[test]
    fn own_body_is_always_no_op_or_adopt(
        body in body(),
        ca in any::<bool>(),
        state in prop_oneof![Just(CaState::DoNotChange), Just(CaState::ReportOnly)],
    ) {
        let kind = if ca { TemplateKind::ConditionalAccess } else { TemplateKind::IntuneDeviceConfiguration };
        let t = Template::new(kind, "n", body.clone()).with_id("t");
        let mut current = as_read(&body, "x");
        if ca && state == CaState::ReportOnly {
            current["state"] = json!(REPORT_ONLY_STATE);
        }
        let existing = [Existing::new("x", current)];
        let opts = adopt().ca_state(state);
        let item = plan_template(&t, &existing, None, &opts).unwrap();
        prop_assert_eq!(item.action, Action::Adopt { object_id: "x".into() });
        let binding = Binding { template_id: "t".into(), tenant: "c".into(), object_id: "x".into() };
        let item = plan_template(&t, &existing, Some(&binding), &PlanOptions::default().ca_state(state)).unwrap();
        prop_assert_eq!(item.action, Action::NoOp { object_id: "x".into() });
    }
}

#[test]
fn open_kinds_match_by_their_targets_name_property_and_plans_carry_the_target() {
    use cipp_templates::graph_target::GraphTarget;
    let kind = TemplateKind::Other("scopeTag".into());
    let target = GraphTarget::new("beta/deviceManagement/roleScopeTags")
        .unwrap()
        .with_name_property("title")
        .unwrap();
    let t = Template::new(
        kind.clone(),
        "Tag",
        json!({"title": "Branch A", "description": "x"}),
    )
    .with_id("tpl-tag")
    .with_graph_target(target.clone());
    let mut state = TenantState::new("contoso");
    state.existing.insert(
        kind.clone(),
        vec![
            Existing::new(
                "1",
                json!({"id": "1", "displayName": "Branch A", "title": "Other"}),
            ),
            Existing::new(
                "2",
                json!({"id": "2", "title": "Branch A", "description": "x"}),
            ),
        ],
    );
    let p = plan(
        std::slice::from_ref(&t),
        &state,
        &[],
        &PlanOptions::default().adopt_by_name(true),
    )
    .unwrap();
    assert_eq!(p.items[0].name, "Branch A");
    assert!(
        matches!(&p.items[0].action, Action::Adopt { object_id } if object_id == "2"),
        "{p}"
    );
    assert_eq!(p.targets.get("tpl-tag"), Some(&target));
    // Plans serialise with their targets, and read back the same.
    let v = serde_json::to_value(&p).unwrap();
    assert_eq!(v["targets"]["tpl-tag"]["nameProperty"], "title");
    assert_eq!(serde_json::from_value::<Plan>(v).unwrap(), p);

    // Without a target: not deployable, whatever exists.
    let mut bare = t.clone();
    bare.attachments.extra.clear();
    let p = plan(
        &[bare],
        &state,
        &[],
        &PlanOptions::default().adopt_by_name(true),
    )
    .unwrap();
    assert!(
        matches!(&p.items[0].action, Action::Conflict { reason } if reason.contains("not deployable")),
        "{p}"
    );
    assert!(p.targets.is_empty() && p.has_conflicts());
}
