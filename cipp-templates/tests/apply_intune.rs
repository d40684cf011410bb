//! Intune apply over the wire: the exact requests each Intune kind sends (method, path,
//! query, body) and how apply reads Graph's documented answers, including refusals.

use cipp_core::Outcome;
use cipp_graph::TenantGraph;
use cipp_templates::apply::{apply, fetch_state, ApplyOptions, FilterMode, IntuneAssignment};
use cipp_templates::plan::{plan, Binding, Existing, PlanOptions, TenantState};
use cipp_templates::template::{Template, TemplateKind};
use serde_json::{json, Value};
use wiremock::matchers::{body_json, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

mod wire;
use wire::*;

const ID: &str = "5a1b2c3d-0000-4000-8000-000000000001";
const GROUP: &str = "0be2b0e8-8f6a-4b38-9e5c-3c9e6b1a2f11";
const FILTER: &str = "7b0b0e8a-0000-4000-8000-000000000001";
const DEF: &str = "8e0b0e8a-0000-4000-8000-0000000000a1";
const PRES: &str = "8e0b0e8a-0000-4000-8000-0000000000b1";

/// What Graph answers for a created or read object: the body with its server fields.
fn answered(body: &Value, id: &str) -> Value {
    let mut v = body.clone();
    v["id"] = json!(id);
    v["@odata.context"] = json!("https://graph.microsoft.com/beta/$metadata#entity");
    v["createdDateTime"] = json!("2024-05-01T10:00:00Z");
    v["lastModifiedDateTime"] = json!("2024-05-01T10:00:00Z");
    v["version"] = json!(1);
    v
}

async fn mount(
    server: &MockServer,
    verb: &str,
    p: &str,
    body: Option<&Value>,
    reply: ResponseTemplate,
) {
    let mut m = Mock::given(method(verb)).and(path(p));
    if let Some(b) = body {
        m = m.and(body_json(b));
    }
    m.respond_with(reply).expect(1).mount(server).await;
}

/// Mounts each `(method, path, expected body, reply)`, each expected once.
async fn mount_all(
    server: &MockServer,
    mocks: Vec<(&str, String, Option<Value>, ResponseTemplate)>,
) {
    for (verb, p, body, reply) in mocks {
        mount(server, verb, &p, body.as_ref(), reply).await;
    }
}

/// Answers `GET p?{key}={value}` with `reply`, expecting it `times` times.
async fn mount_query(
    server: &MockServer,
    p: &str,
    (key, value): (&str, &str),
    reply: ResponseTemplate,
    times: u64,
) {
    Mock::given(method("GET"))
        .and(path(p))
        .and(query_param(key, value))
        .respond_with(reply)
        .expect(times)
        .mount(server)
        .await;
}

/// Applies `t` to the object `ID` it is bound to, whose current state is `current`
/// (verification off: the mocks check the requests), and expects success.
async fn update_bound(graph: &TenantGraph, t: Template, current: Value) {
    let mut state = TenantState::new("contoso");
    state
        .existing
        .insert(t.kind.clone(), vec![Existing::new(ID, current)]);
    let binding = Binding::new(t.id.clone(), "contoso", ID);
    let out = run(
        graph,
        &[t],
        &state,
        &[binding],
        &ApplyOptions::new().verify(false),
    )
    .await;
    assert!(
        matches!(out[0].2, Outcome::Succeeded { .. }),
        "{:?}",
        out[0].2
    );
}

/// The tenant has no reusable settings (read when a settings catalog policy is applied).
async fn no_reusable_settings(server: &MockServer) {
    mount(
        server,
        "GET",
        "/beta/deviceManagement/reusablePolicySettings",
        None,
        list(vec![]),
    )
    .await;
}

/// Applies `t` to a tenant with no object of its kind.
async fn run_new(graph: &TenantGraph, t: Template) -> Vec<(String, Option<String>, Outcome)> {
    run(
        graph,
        &[t],
        &TenantState::new("contoso"),
        &[],
        &ApplyOptions::new(),
    )
    .await
}

/// Graph's `201 Created` with the object made from `body`.
fn created(body: &Value) -> ResponseTemplate {
    ResponseTemplate::new(201).set_body_json(answered(body, ID))
}

fn ok(v: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(v)
}

fn list(items: Vec<Value>) -> ResponseTemplate {
    ok(json!({ "value": items }))
}

/// Plans `templates` against `state` (no bindings unless given) and applies them.
async fn run(
    graph: &TenantGraph,
    templates: &[Template],
    state: &TenantState,
    bindings: &[Binding],
    options: &ApplyOptions,
) -> Vec<(String, Option<String>, Outcome)> {
    let p = plan(templates, state, bindings, &PlanOptions::default()).unwrap();
    let r = apply(graph, &p, options).await;
    r.items
        .into_iter()
        .map(|i| (i.template_id, i.object_id, i.outcome))
        .collect()
}

/// Applies `t` to a tenant with no object of its kind and expects it verified.
async fn applies_verified(graph: &TenantGraph, t: Template) {
    let id = t.id.clone();
    let out = run_new(graph, t).await;
    assert_verified(&out[0].2, &id);
}

fn assert_verified(o: &Outcome, what: &str) {
    assert!(
        matches!(o, Outcome::Succeeded { message } if message.contains("verified")),
        "{what}: {o:?}"
    );
}

#[tokio::test]
async fn each_plain_kind_is_posted_to_its_collection_and_read_back() {
    let (server, graph) = wire().await;
    let cases: Vec<(TemplateKind, &str, Value)> = vec![
        (
            TemplateKind::IntuneDeviceConfiguration,
            "/v1.0/deviceManagement/deviceConfigurations",
            json!({"@odata.type": "#microsoft.graph.windows10GeneralConfiguration", "displayName": "Restrictions", "cameraBlocked": true}),
        ),
        (
            TemplateKind::IntuneAppProtection,
            "/v1.0/deviceAppManagement/iosManagedAppProtections",
            json!({"@odata.type": "#microsoft.graph.iosManagedAppProtection", "displayName": "iOS MAM", "pinRequired": true}),
        ),
        (
            TemplateKind::IntuneAppProtection,
            "/v1.0/deviceAppManagement/androidManagedAppProtections",
            json!({"@odata.type": "#microsoft.graph.androidManagedAppProtection", "displayName": "Android MAM", "pinRequired": true}),
        ),
        (
            TemplateKind::IntuneAppProtection,
            "/v1.0/deviceAppManagement/mdmWindowsInformationProtectionPolicies",
            json!({"@odata.type": "#microsoft.graph.mdmWindowsInformationProtectionPolicy", "displayName": "WIP",
                   "enforcementLevel": "encryptAndAuditOnly", "enterpriseDomain": "contoso.com"}),
        ),
        (
            TemplateKind::IntuneAppProtection,
            "/v1.0/deviceAppManagement/windowsInformationProtectionPolicies",
            json!({"@odata.type": "#microsoft.graph.windowsInformationProtectionPolicy", "displayName": "WIP MAM",
                   "enforcementLevel": "encryptAuditAndBlock", "enterpriseDomain": "contoso.com", "pinMinimumLength": 6}),
        ),
        (
            TemplateKind::IntuneAppConfiguration,
            "/v1.0/deviceAppManagement/mobileAppConfigurations",
            json!({"@odata.type": "#microsoft.graph.iosMobileAppConfiguration", "displayName": "Outlook", "targetedMobileApps": []}),
        ),
        (
            TemplateKind::WindowsDriverUpdateProfile,
            "/beta/deviceManagement/windowsDriverUpdateProfiles",
            json!({"displayName": "Drivers", "approvalType": "manual"}),
        ),
        (
            TemplateKind::WindowsFeatureUpdateProfile,
            "/beta/deviceManagement/windowsFeatureUpdateProfiles",
            json!({"displayName": "23H2", "featureUpdateVersion": "Windows 11, version 23H2"}),
        ),
        (
            TemplateKind::WindowsQualityUpdateProfile,
            "/beta/deviceManagement/windowsQualityUpdateProfiles",
            json!({"displayName": "Expedite", "expeditedUpdateSettings": {"daysUntilForcedReboot": 1}}),
        ),
        (
            TemplateKind::WindowsQualityUpdatePolicy,
            "/beta/deviceManagement/windowsQualityUpdatePolicies",
            json!({"displayName": "Hotpatch", "hotpatchEnabled": true}),
        ),
        (
            TemplateKind::AssignmentFilter,
            "/beta/deviceManagement/assignmentFilters",
            json!({"displayName": "Windows", "platform": "windows10AndLater", "rule": "(device.osVersion -startsWith \"10.0\")"}),
        ),
        (
            TemplateKind::IntuneReusableSetting,
            "/beta/deviceManagement/reusablePolicySettings",
            json!({"displayName": "Proxy", "settingDefinitionId": "x", "settingInstance": {"settingDefinitionId": "x"}}),
        ),
    ];
    let mut templates = Vec::new();
    for (n, (kind, collection, body)) in cases.iter().enumerate() {
        let id = format!("5a1b2c3d-0000-4000-8000-0000000001{n:02}");
        mount(
            &server,
            "POST",
            collection,
            Some(body),
            ResponseTemplate::new(201).set_body_json(answered(body, &id)),
        )
        .await;
        // Graph leaves `@odata.type` out when the URL is typed: apply adds it back.
        let mut read = answered(body, &id);
        if *kind == TemplateKind::IntuneAppProtection {
            read.as_object_mut().unwrap().remove("@odata.type");
        }
        mount(
            &server,
            "GET",
            &format!("{collection}/{id}"),
            None,
            ok(read),
        )
        .await;
        templates.push(
            Template::new(
                kind.clone(),
                body["displayName"].as_str().unwrap(),
                body.clone(),
            )
            .with_id(format!("t{n}")),
        );
    }
    // Reusable settings are read (by name) since a settings catalog might reference them.
    no_reusable_settings(&server).await;
    let out = run(
        &graph,
        &templates,
        &TenantState::new("contoso"),
        &[],
        &ApplyOptions::new(),
    )
    .await;
    assert_eq!(out.len(), cases.len());
    for (t, id, o) in &out {
        assert_verified(o, t);
        assert!(id.is_some(), "{t}");
    }
}

fn smartscreen(value: &str) -> Value {
    json!({"settingInstance": {
        "@odata.type": "#microsoft.graph.deviceManagementConfigurationChoiceSettingInstance",
        "settingDefinitionId": "device_vendor_msft_policy_config_microsoft_edge~policy~microsoft_edge_smartscreenenabled",
        "choiceSettingValue": {"value": value, "children": []}}})
}

fn autofill() -> Value {
    json!({"settingInstance": {
        "@odata.type": "#microsoft.graph.deviceManagementConfigurationChoiceSettingInstance",
        "settingDefinitionId": "device_vendor_msft_policy_config_browser_allowautofill",
        "choiceSettingValue": {"value": "device_vendor_msft_policy_config_browser_allowautofill_0", "children": []}}})
}

fn catalog(settings: Vec<Value>) -> Value {
    json!({"name": "Edge", "description": "", "platforms": "windows10", "technologies": "mdm",
           "roleScopeTagIds": ["0"], "settings": settings})
}

/// A settings catalog policy as Graph reads it with `$expand=settings`: each setting with
/// its id.
fn catalog_read(body: &Value) -> Value {
    let mut v = answered(body, ID);
    for (i, s) in v["settings"].as_array_mut().unwrap().iter_mut().enumerate() {
        s["id"] = json!(i.to_string());
    }
    v["settingCount"] = json!(v["settings"].as_array().unwrap().len());
    v
}

const CATALOG: &str = "/beta/deviceManagement/configurationPolicies";

#[tokio::test]
async fn settings_catalog_is_created_with_settings_and_replaced_with_put() {
    let (server, graph) = wire().await;
    let body = catalog(vec![smartscreen("on")]);
    mount(&server, "POST", CATALOG, Some(&body), created(&body)).await;
    let changed = catalog(vec![smartscreen("off")]);
    mount(
        &server,
        "PUT",
        &format!("{CATALOG}/{ID}"),
        Some(&changed),
        ResponseTemplate::new(204),
    )
    .await;
    mount_query(
        &server,
        &format!("{CATALOG}/{ID}"),
        ("$expand", "settings"),
        ok(catalog_read(&body)),
        1,
    )
    .await;
    // Read once per apply (a settings catalog may reference reusable settings).
    Mock::given(method("GET"))
        .and(path("/beta/deviceManagement/reusablePolicySettings"))
        .respond_with(list(vec![]))
        .expect(2)
        .mount(&server)
        .await;
    let t =
        Template::new(TemplateKind::IntuneSettingsCatalog, "Edge", body.clone()).with_id("edge");
    let out = run_new(&graph, t).await;
    assert_verified(&out[0].2, "create");

    // An update is one PUT of the whole policy with its settings.
    let t =
        Template::new(TemplateKind::IntuneSettingsCatalog, "Edge", changed.clone()).with_id("edge");
    update_bound(&graph, t, body.clone()).await;
}

#[tokio::test]
async fn a_setting_graph_says_the_tenant_lacks_is_left_out_and_sent_again() {
    let (server, graph) = wire().await;
    let full = catalog(vec![smartscreen("on"), autofill()]);
    let offered = catalog(vec![autofill()]);
    mount(
        &server,
        "POST",
        CATALOG,
        Some(&full),
        graph_error(400, "BadRequest", "Setting definition(s) not found: device_vendor_msft_policy_config_microsoft_edge~policy~microsoft_edge_smartscreenenabled"),
    )
    .await;
    mount(&server, "POST", CATALOG, Some(&offered), created(&offered)).await;
    mount(
        &server,
        "GET",
        &format!("{CATALOG}/{ID}"),
        None,
        ok(catalog_read(&offered)),
    )
    .await;
    no_reusable_settings(&server).await;
    let t = Template::new(TemplateKind::IntuneSettingsCatalog, "Edge", full).with_id("edge");
    let out = run_new(&graph, t).await;
    assert_outcome(
        &out[0].2,
        "Warning",
        &[
            "does not offer the setting device_vendor_msft_policy_config_microsoft_edge",
            "verified",
        ],
    );
}

#[tokio::test]
async fn a_refusal_naming_no_setting_fails_the_item_with_graphs_error() {
    let (server, graph) = wire().await;
    let body = catalog(vec![smartscreen("on")]);
    let refused = graph_error(400, "BadRequest", "Invalid platform.");
    mount(&server, "POST", CATALOG, Some(&body), refused).await;
    no_reusable_settings(&server).await;
    let t = Template::new(TemplateKind::IntuneSettingsCatalog, "Edge", body).with_id("edge");
    let out = run_new(&graph, t).await;
    assert_outcome(&out[0].2, "Failed", &["Invalid platform"]);
}

fn compliance(grace: u32, cc: &str) -> Value {
    json!({"@odata.type": "#microsoft.graph.windows10CompliancePolicy", "displayName": "Baseline",
           "passwordRequired": true,
           "scheduledActionsForRule": [{"ruleName": "PasswordRequired", "scheduledActionConfigurations": [
               {"actionType": "block", "gracePeriodHours": grace, "notificationTemplateId": "", "notificationMessageCCList": [cc]}]}]})
}

const COMPLIANCE: &str = "/v1.0/deviceManagement/deviceCompliancePolicies";
const EXPAND: &str = "scheduledActionsForRule($expand=scheduledActionConfigurations)";

fn groups_answer() -> ResponseTemplate {
    list(vec![
        json!({"id": GROUP, "displayName": "Helpdesk", "securityEnabled": true, "mailEnabled": false, "groupTypes": []}),
        json!({"id": "0be2b0e8-8f6a-4b38-9e5c-3c9e6b1a2f12", "displayName": "Sales Devices", "securityEnabled": true, "mailEnabled": false, "groupTypes": []}),
    ])
}

#[tokio::test]
async fn compliance_is_created_with_scheduled_actions_and_cc_groups_as_ids() {
    let (server, graph) = wire().await;
    mount(&server, "GET", "/v1.0/groups", None, groups_answer()).await;
    let sent = compliance(0, GROUP);
    mount(&server, "POST", COMPLIANCE, Some(&sent), created(&sent)).await;
    let mut read = answered(&sent, ID);
    read["scheduledActionsForRule"][0]["id"] = json!("a1b2c3d4-0000-4000-8000-000000000009");
    mount_query(
        &server,
        &format!("{COMPLIANCE}/{ID}"),
        ("$expand", EXPAND),
        ok(read),
        1,
    )
    .await;
    applies_verified(
        &graph,
        Template::new(
            TemplateKind::IntuneCompliance,
            "Baseline",
            compliance(0, "Helpdesk"),
        )
        .with_id("c"),
    )
    .await;
}

#[tokio::test]
async fn compliance_update_patches_then_reschedules_changed_actions() {
    let (server, graph) = wire().await;
    mount(&server, "GET", "/v1.0/groups", None, groups_answer()).await;
    mount(
        &server,
        "PATCH",
        &format!("{COMPLIANCE}/{ID}"),
        Some(&json!({"@odata.type": "#microsoft.graph.windows10CompliancePolicy", "displayName": "Baseline", "passwordRequired": true})),
        ResponseTemplate::new(204),
    )
    .await;
    mount(
        &server,
        "POST",
        &format!("{COMPLIANCE}/{ID}/scheduleActionsForRules"),
        Some(&json!({"deviceComplianceScheduledActionForRules": compliance(24, GROUP)["scheduledActionsForRule"]})),
        ResponseTemplate::new(204),
    )
    .await;
    let t = Template::new(
        TemplateKind::IntuneCompliance,
        "Baseline",
        compliance(24, "Helpdesk"),
    )
    .with_id("c");
    update_bound(&graph, t, compliance(0, "Helpdesk")).await;
}

const ADMX: &str = "/beta/deviceManagement/groupPolicyConfigurations";

fn admx_values(value: &str) -> Value {
    json!({"added": [{
        "definition@odata.bind": format!("https://graph.microsoft.com/beta/deviceManagement/groupPolicyDefinitions('{DEF}')"),
        "enabled": true,
        "presentationValues": [{"@odata.type": "#microsoft.graph.groupPolicyPresentationValueText", "value": value,
            "presentation@odata.bind": format!("https://graph.microsoft.com/beta/deviceManagement/groupPolicyDefinitions('{DEF}')/presentations('{PRES}')")}]
    }], "updated": [], "deletedIds": []})
}

/// A definition value as Graph reads it with
/// `$expand=definition,presentationValues($expand=presentation)`.
fn definition_value(id: &str, value: &str) -> Value {
    json!({"id": id, "enabled": true, "configurationType": "policy", "createdDateTime": "2024-05-01T10:00:00Z",
           "definition": {"id": DEF, "displayName": "Configure the home page URL", "classType": "user"},
           "presentationValues": [{"@odata.type": "#microsoft.graph.groupPolicyPresentationValueText", "id": "pv1",
               "value": value, "createdDateTime": "2024-05-01T10:00:00Z",
               "presentation": {"@odata.type": "#microsoft.graph.groupPolicyPresentationTextBox", "id": PRES, "label": "Home page"}}]})
}

#[tokio::test]
async fn administrative_template_is_a_shell_then_its_definition_values() {
    let (server, graph) = wire().await;
    let shell = json!({"displayName": "Edge ADMX", "roleScopeTagIds": ["0"]});
    let values = admx_values("https://intranet");
    let created = created(&shell);
    mount_all(
        &server,
        vec![
            ("POST", ADMX.to_owned(), Some(shell.clone()), created),
            (
                "POST",
                format!("{ADMX}/{ID}/updateDefinitionValues"),
                Some(values.clone()),
                ResponseTemplate::new(204),
            ),
            (
                "GET",
                format!("{ADMX}/{ID}"),
                None,
                ok(answered(&shell, ID)),
            ),
        ],
    )
    .await;
    mount_query(
        &server,
        &format!("{ADMX}/{ID}/definitionValues"),
        (
            "$expand",
            "definition,presentationValues($expand=presentation)",
        ),
        list(vec![definition_value("dv1", "https://intranet")]),
        1,
    )
    .await;
    applies_verified(
        &graph,
        Template::new(
            TemplateKind::IntuneAdministrativeTemplate,
            "Edge ADMX",
            values,
        )
        .with_id("admx"),
    )
    .await;
}

#[tokio::test]
async fn administrative_template_update_deletes_every_value_then_adds_the_templates() {
    let (server, graph) = wire().await;
    let values = admx_values("https://portal");
    let current = list(vec![
        definition_value("dv1", "old"),
        definition_value("dv2", "old"),
    ]);
    let update = format!("{ADMX}/{ID}/updateDefinitionValues");
    mount_all(
        &server,
        vec![
            (
                "PATCH",
                format!("{ADMX}/{ID}"),
                Some(json!({"displayName": "Edge ADMX", "roleScopeTagIds": ["0"]})),
                ResponseTemplate::new(204),
            ),
            (
                "GET",
                format!("{ADMX}/{ID}/definitionValues"),
                None,
                current,
            ),
            (
                "POST",
                update.clone(),
                Some(json!({"added": [], "updated": [], "deletedIds": ["dv1", "dv2"]})),
                ResponseTemplate::new(204),
            ),
            (
                "POST",
                update,
                Some(values.clone()),
                ResponseTemplate::new(204),
            ),
        ],
    )
    .await;
    let t = Template::new(
        TemplateKind::IntuneAdministrativeTemplate,
        "Edge ADMX",
        values,
    )
    .with_id("admx");
    let mut current = admx_values("old");
    current["displayName"] = json!("Edge ADMX");
    update_bound(&graph, t, current).await;
}

#[tokio::test]
async fn assignment_resolves_groups_and_filter_by_name_and_posts_the_documented_body() {
    let (server, graph) = wire().await;
    let body = json!({"@odata.type": "#microsoft.graph.windows10GeneralConfiguration", "displayName": "Restrictions"});
    let collection = "/v1.0/deviceManagement/deviceConfigurations";
    mount(&server, "POST", collection, Some(&body), created(&body)).await;
    mount(&server, "GET", "/v1.0/groups", None, groups_answer()).await;
    Mock::given(method("GET"))
        .and(path("/beta/deviceManagement/assignmentFilters"))
        .and(query_param("$select", "id,displayName"))
        .respond_with(list(vec![
            json!({"id": FILTER, "displayName": "Windows devices"}),
        ]))
        .expect(1)
        .mount(&server)
        .await;
    mount(
        &server,
        "GET",
        &format!("{collection}/{ID}/assignments"),
        None,
        list(vec![]),
    )
    .await;
    let assign = json!({"assignments": [
        {"@odata.type": "#microsoft.graph.deviceConfigurationAssignment", "target": {
            "@odata.type": "#microsoft.graph.allLicensedUsersAssignmentTarget",
            "deviceAndAppManagementAssignmentFilterId": FILTER, "deviceAndAppManagementAssignmentFilterType": "exclude"}},
        {"@odata.type": "#microsoft.graph.deviceConfigurationAssignment", "target": {
            "@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": "0be2b0e8-8f6a-4b38-9e5c-3c9e6b1a2f12",
            "deviceAndAppManagementAssignmentFilterId": FILTER, "deviceAndAppManagementAssignmentFilterType": "exclude"}},
        {"@odata.type": "#microsoft.graph.deviceConfigurationAssignment", "target": {
            "@odata.type": "#microsoft.graph.exclusionGroupAssignmentTarget", "groupId": GROUP}}
    ]});
    mount(
        &server,
        "POST",
        &format!("{collection}/{ID}/assign"),
        Some(&assign),
        ok(json!({"value": []})),
    )
    .await;
    let t = Template::new(
        TemplateKind::IntuneDeviceConfiguration,
        "Restrictions",
        body,
    )
    .with_id("d");
    let mut a = IntuneAssignment::groups(["sales *"])
        .exclude(["Help?esk"])
        .filter("Windows devices", FilterMode::Exclude);
    a.all_users = true;
    let out = run(
        &graph,
        &[t],
        &TenantState::new("contoso"),
        &[],
        &ApplyOptions::new().verify(false).assign_intune(a),
    )
    .await;
    assert_outcome(&out[0].2, "Succeeded", &["assigned to 3 targets"]);
}

#[tokio::test]
async fn state_reads_each_collection_with_what_its_objects_carry() {
    let (server, graph) = wire().await;
    let body = catalog(vec![smartscreen("on")]);
    let page = |items: Vec<Value>| {
        json!({"status": 200, "headers": {"Content-Type": "application/json"},
               "body": {"value": items}})
    };
    let answer = |id: &str, mut page: Value| {
        page["id"] = json!(id);
        page
    };
    // The first pages of every collection in one `$batch` per version, each URL with what
    // its objects carry (`$expand`) or the names alone (`$select`).
    let groups = "/groups?$select=id%2CdisplayName%2Cdescription%2CgroupTypes%2CmailEnabled%2CsecurityEnabled%2CmailNickname%2CmembershipRule%2CisAssignableToRole%2CassignedLicenses%2ConPremisesSyncEnabled";
    mount(
        &server,
        "POST",
        "/v1.0/$batch",
        Some(&json!({"requests": [
            {"id": "1", "method": "GET", "url": groups},
            {"id": "4", "method": "GET", "url": "/deviceManagement/deviceCompliancePolicies?$expand=scheduledActionsForRule%28$expand%3DscheduledActionConfigurations%29"},
        ]})),
        ok(json!({"responses": [
            answer("1", page(vec![
                json!({"id": GROUP, "displayName": "Helpdesk", "securityEnabled": true,
                       "mailEnabled": false, "groupTypes": []}),
            ])),
            answer("4", page(vec![answered(&compliance(0, GROUP), ID)])),
        ]})),
    )
    .await;
    mount(
        &server,
        "POST",
        "/beta/$batch",
        Some(&json!({"requests": [
            {"id": "2", "method": "GET", "url": "/deviceManagement/reusablePolicySettings?$select=id%2CdisplayName"},
            {"id": "3", "method": "GET", "url": "/deviceManagement/configurationPolicies?$expand=settings"},
            {"id": "5", "method": "GET", "url": "/deviceManagement/groupPolicyConfigurations"},
        ]})),
        ok(json!({"responses": [
            answer("2", page(vec![])),
            answer("3", page(vec![catalog_read(&body)])),
            answer("5", page(vec![answered(
                &json!({"displayName": "Edge ADMX", "roleScopeTagIds": ["0"]}),
                ID,
            )])),
        ]})),
    )
    .await;
    // Definition values depend on the configurations listed: read after, one by one.
    mount(
        &server,
        "GET",
        &format!("{ADMX}/{ID}/definitionValues"),
        None,
        list(vec![definition_value("dv1", "https://intranet")]),
    )
    .await;
    let templates = vec![
        Template::new(TemplateKind::IntuneSettingsCatalog, "Edge", body.clone()).with_id("edge"),
        Template::new(
            TemplateKind::IntuneCompliance,
            "Baseline",
            compliance(0, "Helpdesk"),
        )
        .with_id("c"),
        Template::new(
            TemplateKind::IntuneAdministrativeTemplate,
            "Edge ADMX",
            admx_values("https://intranet"),
        )
        .with_id("admx"),
    ];
    let state = fetch_state(&graph, &templates).await.unwrap();
    // In name space and shaped as templates: everything adopts as-is.
    let p = plan(
        &templates,
        &state,
        &[],
        &PlanOptions::default().adopt_by_name(true),
    )
    .unwrap();
    for i in &p.items {
        assert!(
            matches!(i.action, cipp_templates::plan::Action::Adopt { .. }),
            "{}: {:?}",
            i.template_id,
            i.action
        );
    }
    assert_eq!(
        state.existing_of(&TemplateKind::IntuneCompliance)[0].body["scheduledActionsForRule"][0]
            ["scheduledActionConfigurations"][0]["notificationMessageCCList"],
        json!(["Helpdesk"])
    );
}

#[tokio::test]
async fn wip_is_assigned_through_managed_app_policies_with_the_documented_body() {
    let (server, graph) = wire().await;
    let body = json!({"@odata.type": "#microsoft.graph.mdmWindowsInformationProtectionPolicy",
                      "displayName": "WIP", "enforcementLevel": "encryptAndAuditOnly"});
    let collection = "/v1.0/deviceAppManagement/mdmWindowsInformationProtectionPolicies";
    mount(&server, "POST", collection, Some(&body), created(&body)).await;
    // The current assignments are read from the policy's own collection…
    mount(
        &server,
        "GET",
        &format!("{collection}/{ID}/assignments"),
        None,
        list(vec![]),
    )
    .await;
    // … and the assignment goes to the `assign` Graph documents for WIP policies.
    let assign = json!({"assignments": [
        {"@odata.type": "#microsoft.graph.targetedManagedAppPolicyAssignment", "target": {
            "@odata.type": "#microsoft.graph.allLicensedUsersAssignmentTarget"}}
    ]});
    mount(
        &server,
        "POST",
        &format!("/v1.0/deviceAppManagement/managedAppPolicies/{ID}/assign"),
        Some(&assign),
        ResponseTemplate::new(204),
    )
    .await;
    let t = Template::new(TemplateKind::IntuneAppProtection, "WIP", body).with_id("wip");
    let out = run(
        &graph,
        &[t],
        &TenantState::new("contoso"),
        &[],
        &ApplyOptions::new()
            .verify(false)
            .assign_intune(IntuneAssignment::all_users()),
    )
    .await;
    assert_outcome(&out[0].2, "Succeeded", &["created", "assigned to 1 target"]);
    assert_eq!(out[0].1.as_deref(), Some(ID));
}

const OMA_CONFIGS: &str = "/v1.0/deviceManagement/deviceConfigurations";
const SECRET_REF: &str = "5e5e5e5e-0000-4000-8000-00000000f001";

fn custom_configuration(value: &str) -> Value {
    json!({"@odata.type": "#microsoft.graph.windows10CustomConfiguration", "displayName": "Wi-Fi",
           "omaSettings": [{"@odata.type": "#microsoft.graph.omaSettingString", "displayName": "Key",
                            "omaUri": "./Device/Vendor/MSFT/Secret", "isEncrypted": false, "value": value}]})
}

/// The configuration as Graph reads it back: the string setting encrypted.
fn encrypted_read(body: &Value) -> Value {
    let mut read = answered(body, ID);
    let s = &mut read["omaSettings"][0];
    s["isEncrypted"] = json!(true);
    s["secretReferenceValueId"] = json!(SECRET_REF);
    s["value"] = json!("****");
    read
}

async fn mount_plain_text(server: &MockServer, value: &str) {
    mount(
        server,
        "GET",
        &format!(
            "{OMA_CONFIGS}/{ID}/getOmaSettingPlainTextValue(secretReferenceValueId='{SECRET_REF}')"
        ),
        None,
        ok(
            json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Edm.String",
                  "value": value}),
        ),
    )
    .await;
}

#[tokio::test]
async fn verification_reads_an_encrypted_setting_back_with_its_plain_text() {
    let (server, graph) = wire().await;
    let body = custom_configuration("wifi-psk-1");
    mount(&server, "POST", OMA_CONFIGS, Some(&body), created(&body)).await;
    mount(
        &server,
        "GET",
        &format!("{OMA_CONFIGS}/{ID}"),
        None,
        ok(encrypted_read(&body)),
    )
    .await;
    mount_plain_text(&server, "wifi-psk-1").await;
    let t = Template::new(TemplateKind::IntuneDeviceConfiguration, "Wi-Fi", body).with_id("oma");
    applies_verified(&graph, t).await;
}

#[tokio::test]
async fn a_secret_that_reads_back_different_is_reported_without_either_value() {
    let (server, graph) = wire().await;
    let body = custom_configuration("wifi-psk-1");
    mount(&server, "POST", OMA_CONFIGS, Some(&body), created(&body)).await;
    mount(
        &server,
        "GET",
        &format!("{OMA_CONFIGS}/{ID}"),
        None,
        ok(encrypted_read(&body)),
    )
    .await;
    mount_plain_text(&server, "something-else").await;
    let t = Template::new(TemplateKind::IntuneDeviceConfiguration, "Wi-Fi", body).with_id("oma");
    let out = run_new(&graph, t).await;
    assert_outcome(
        &out[0].2,
        "Partial",
        &["/omaSettings", "encrypted in the tenant"],
    );
    let shown = format!("{:?}", out[0].2);
    assert!(
        !shown.contains("wifi-psk-1") && !shown.contains("something-else"),
        "{shown}"
    );
}
