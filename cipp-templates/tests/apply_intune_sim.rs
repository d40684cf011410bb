//! Intune templates end to end on the simulator: capture from Contoso (and CIPP-shaped
//! templates for the kinds capture does not read), plan for Fabrikam, apply with
//! assignment, verify by reading back, and a second plan/apply that is all no-op.

use cipp_core::Outcome;
use cipp_graph::intune::IntuneKind;
use cipp_graph::GraphClient;
use cipp_sim::kit::{GroupSeed, TenantSeed};
use cipp_sim::Simulator;
use cipp_templates::apply::{apply, fetch_state, ApplyOptions, FilterMode, IntuneAssignment};
use cipp_templates::capture::capture_intune;
use cipp_templates::plan::{plan, Action, DependencyKind, PlanOptions};
use cipp_templates::template::{Attachments, Template, TemplateKind};
use serde_json::{json, Value};

mod wire;
use wire::*;

const SRC: &str = "contoso.onmicrosoft.com";
const DST: &str = "fabrikam.onmicrosoft.com";
const SRC_DEVICE: &str = "7a7a7a7a-0000-4000-8000-00000000d001";
const SRC_COMPLIANCE: &str = "7a7a7a7a-0000-4000-8000-00000000d002";
const SRC_CATALOG: &str = "7a7a7a7a-0000-4000-8000-00000000d003";
const SRC_FEATURE: &str = "7a7a7a7a-0000-4000-8000-00000000d004";
const SRC_FILTER: &str = "7a7a7a7a-0000-4000-8000-00000000d005";
const SRC_HELPDESK: &str = "7a7a7a7a-0000-4000-8000-0000000b0002";
const SRC_WIP: &str = "7a7a7a7a-0000-4000-8000-00000000d006";
const SRC_WIP_MAM: &str = "7a7a7a7a-0000-4000-8000-00000000d007";
const SRC_OMA: &str = "7a7a7a7a-0000-4000-8000-00000000d008";
const SMARTSCREEN: &str =
    "device_vendor_msft_policy_config_microsoft_edge~policy~microsoft_edge_smartscreenenabled";
const DEF: &str = "8e0b0e8a-0000-4000-8000-0000000000a1";
const PRES: &str = "8e0b0e8a-0000-4000-8000-0000000000b1";

fn choice(definition: &str, value: &str) -> Value {
    json!({"settingInstance": {
        "@odata.type": "#microsoft.graph.deviceManagementConfigurationChoiceSettingInstance",
        "settingDefinitionId": definition,
        "settingInstanceTemplateReference": null,
        "choiceSettingValue": {"settingValueTemplateReference": null, "value": value, "children": []}
    }})
}

fn simulator() -> Simulator {
    let mut smartscreen = choice(SMARTSCREEN, &format!("{SMARTSCREEN}_1"));
    smartscreen["id"] = json!("0");
    Simulator::builder()
        .tenant(
            TenantSeed::new(SRC, "Contoso")
                .domain("contoso.com")
                .group(GroupSeed::security("Helpdesk").property("id", json!(SRC_HELPDESK)))
                .intune(
                    "deviceManagement/deviceConfigurations",
                    json!({"@odata.type": "#microsoft.graph.windows10GeneralConfiguration",
                           "id": SRC_DEVICE, "displayName": "Windows restrictions", "version": 2,
                           "roleScopeTagIds": ["0"], "cameraBlocked": true, "passwordMinimumLength": 8}),
                )
                .intune(
                    "deviceManagement/deviceCompliancePolicies",
                    json!({"@odata.type": "#microsoft.graph.windows10CompliancePolicy",
                           "id": SRC_COMPLIANCE, "displayName": "Windows baseline", "passwordRequired": true,
                           "scheduledActionsForRule": [{"id": "7a7a7a7a-0000-4000-8000-00000000e0a1", "ruleName": "PasswordRequired",
                               "scheduledActionConfigurations": [
                                   {"id": "7a7a7a7a-0000-4000-8000-00000000e0b1", "actionType": "block", "gracePeriodHours": 0,
                                    "notificationTemplateId": "", "notificationMessageCCList": []},
                                   {"id": "7a7a7a7a-0000-4000-8000-00000000e0b2", "actionType": "notification", "gracePeriodHours": 24,
                                    "notificationTemplateId": "", "notificationMessageCCList": [SRC_HELPDESK]}]}]}),
                )
                .intune(
                    "deviceManagement/configurationPolicies",
                    json!({"id": SRC_CATALOG, "name": "Edge baseline", "description": "SmartScreen on",
                           "platforms": "windows10", "technologies": "mdm", "roleScopeTagIds": ["0"],
                           "settingCount": 1, "settings": [smartscreen]}),
                )
                .intune(
                    "deviceManagement/windowsFeatureUpdateProfiles",
                    json!({"id": SRC_FEATURE, "displayName": "Windows 11 23H2", "featureUpdateVersion": "Windows 11, version 23H2",
                           "rolloutSettings": {"offerStartDateTimeInUTC": null}}),
                )
                .intune(
                    "deviceAppManagement/mdmWindowsInformationProtectionPolicies",
                    json!({"id": SRC_WIP, "displayName": "WIP (enrolled)", "description": "Corporate data",
                           "version": "3", "isAssigned": true, "createdDateTime": "2024-01-01T00:00:00Z",
                           "enforcementLevel": "encryptAndAuditOnly", "enterpriseDomain": "contoso.com",
                           "enterpriseProtectedDomainNames": [{"displayName": "Corp", "resources": ["contoso.com"]}],
                           "protectedApps": [{"@odata.type": "#microsoft.graph.windowsInformationProtectionStoreApp",
                                              "displayName": "Edge", "productName": "Microsoft.MicrosoftEdge",
                                              "publisherName": "O=MICROSOFT CORPORATION, L=REDMOND, S=WASHINGTON, C=US",
                                              "denied": false}],
                           "iconsVisible": true}),
                )
                .intune(
                    "deviceAppManagement/windowsInformationProtectionPolicies",
                    json!({"id": SRC_WIP_MAM, "displayName": "WIP (MAM)", "description": "",
                           "version": "1", "isAssigned": false, "enforcementLevel": "encryptAuditAndBlock",
                           "enterpriseDomain": "contoso.com", "pinMinimumLength": 6,
                           "windowsHelloForBusinessBlocked": false}),
                )
                .intune(
                    "deviceManagement/deviceConfigurations",
                    json!({"@odata.type": "#microsoft.graph.windows10CustomConfiguration",
                           "id": SRC_OMA, "displayName": "Wi-Fi", "description": "", "version": 1,
                           "omaSettings": [
                               {"@odata.type": "#microsoft.graph.omaSettingString", "displayName": "Key",
                                "omaUri": "./Device/Vendor/MSFT/Secret", "isEncrypted": false, "value": "wifi-psk-1"},
                               {"@odata.type": "#microsoft.graph.omaSettingStringXml", "displayName": "Profile",
                                "omaUri": "./Device/Vendor/MSFT/WiFi/Profile/Corp/WlanXml", "fileName": "corp.xml",
                                "isEncrypted": false, "value": "PFdMQU5Qcm9maWxlLz4="},
                               {"@odata.type": "#microsoft.graph.omaSettingInteger", "displayName": "Camera",
                                "omaUri": "./Vendor/MSFT/Policy/Config/Camera/AllowCamera", "isEncrypted": false, "value": 0}
                           ]}),
                )
                .intune(
                    "deviceManagement/assignmentFilters",
                    json!({"id": SRC_FILTER, "displayName": "Windows devices", "platform": "windows10AndLater",
                           "rule": "(device.osVersion -startsWith \"10.0\")"}),
                ),
        )
        .tenant(
            TenantSeed::new(DST, "Fabrikam")
                .domain("fabrikam.com")
                .group(GroupSeed::security("Helpdesk"))
                .group(GroupSeed::security("Sales Devices"))
                .group(GroupSeed::security("Sales Users"))
                .group(GroupSeed::security("Contractors"))
                .group(GroupSeed::security("Marketing")),
        )
        .build()
}

fn setup() -> (Simulator, GraphClient) {
    let sim = simulator();
    let graph = sim_graph(&sim);
    (sim, graph)
}

/// Templates as CIPP stores them for the kinds capture does not read.
fn cipp_shaped() -> Vec<Template> {
    let reusable = json!({"displayName": "Proxy exceptions", "description": "",
        "settingDefinitionId": "vendor_msft_firewall_mdmstore_firewallrules_{firewallrulename}_remoteaddressdynamickeywords",
        "settingInstance": {"@odata.type": "#microsoft.graph.deviceManagementConfigurationSimpleSettingCollectionInstance",
            "settingDefinitionId": "vendor_msft_firewall_mdmstore_dynamickeywords_addresses_{id}_addresses",
            "simpleSettingCollectionValue": [{"@odata.type": "#microsoft.graph.deviceManagementConfigurationStringSettingValue", "value": "10.0.0.1"}]}});
    let catalog_with_reference = json!({
        "name": "Firewall rules", "description": "", "platforms": "windows10", "technologies": "mdm",
        "settings": [{"settingInstance": {
            "@odata.type": "#microsoft.graph.deviceManagementConfigurationSimpleSettingInstance",
            "settingDefinitionId": "vendor_msft_firewall_mdmstore_firewallrules_{firewallrulename}_remoteaddressdynamickeywords",
            "simpleSettingValue": {"@odata.type": "#microsoft.graph.deviceManagementConfigurationReferenceSettingValue",
                                   "value": "Proxy exceptions", "note": ""}}}]
    });
    vec![
        Template::new(
            TemplateKind::IntuneAdministrativeTemplate,
            "Edge ADMX",
            json!({"added": [{
                "definition@odata.bind": format!("https://graph.microsoft.com/beta/deviceManagement/groupPolicyDefinitions('{DEF}')"),
                "enabled": true,
                "presentationValues": [{"@odata.type": "#microsoft.graph.groupPolicyPresentationValueText", "value": "https://intranet",
                    "presentation@odata.bind": format!("https://graph.microsoft.com/beta/deviceManagement/groupPolicyDefinitions('{DEF}')/presentations('{PRES}')")}]
            }], "updated": [], "deletedIds": []}),
        )
        .with_id("admx"),
        Template::new(
            TemplateKind::IntuneAppProtection,
            "iOS MAM",
            json!({"@odata.type": "#microsoft.graph.iosManagedAppProtection", "displayName": "iOS MAM",
                   "pinRequired": true, "minimumPinLength": 6}),
        )
        .with_id("mam-ios"),
        Template::new(
            TemplateKind::IntuneAppConfiguration,
            "Outlook config",
            json!({"@odata.type": "#microsoft.graph.iosMobileAppConfiguration", "displayName": "Outlook config",
                   "targetedMobileApps": [], "settings": [{"appConfigKey": "Mail", "appConfigKeyType": "stringType", "appConfigKeyValue": "on"}]}),
        )
        .with_id("appconfig"),
        Template::new(
            TemplateKind::WindowsDriverUpdateProfile,
            "Drivers",
            json!({"displayName": "Drivers", "approvalType": "manual"}),
        )
        .with_id("drivers"),
        Template::new(
            TemplateKind::WindowsQualityUpdateProfile,
            "Expedite",
            json!({"displayName": "Expedite", "expeditedUpdateSettings": {"qualityUpdateRelease": "2024-01-09T00:00:00Z", "daysUntilForcedReboot": 1}}),
        )
        .with_id("quality-profile"),
        Template::new(
            TemplateKind::WindowsQualityUpdatePolicy,
            "Hotpatch",
            json!({"displayName": "Hotpatch", "hotpatchEnabled": true}),
        )
        .with_id("quality-policy"),
        Template::new(
            TemplateKind::IntuneSettingsCatalog,
            "Firewall rules",
            catalog_with_reference,
        )
        .with_attachments({
            let mut a = Attachments::default();
            a.reusable_settings = vec![reusable];
            a
        })
        .with_id("firewall"),
    ]
}

async fn templates(graph: &GraphClient) -> Vec<Template> {
    let a = tenant_graph(graph, SRC);
    let mut out = Vec::new();
    for (kind, id, tid) in [
        (
            TemplateKind::IntuneDeviceConfiguration,
            SRC_DEVICE,
            "device",
        ),
        (TemplateKind::IntuneCompliance, SRC_COMPLIANCE, "compliance"),
        (TemplateKind::IntuneSettingsCatalog, SRC_CATALOG, "catalog"),
        (
            TemplateKind::WindowsFeatureUpdateProfile,
            SRC_FEATURE,
            "feature",
        ),
        (TemplateKind::AssignmentFilter, SRC_FILTER, "filter"),
    ] {
        let c = capture_intune(&a, &kind, id).await.unwrap();
        out.push(c.into_template().with_id(tid));
    }
    out.extend(cipp_shaped());
    out
}

fn assignment() -> IntuneAssignment {
    IntuneAssignment::groups(["Sales*"])
        .exclude(["Contractors"])
        .filter("Windows devices", FilterMode::Include)
}

#[tokio::test]
async fn intune_round_trip_capture_apply_verify_assign_then_no_op() {
    let (sim, graph) = setup();
    let templates = templates(&graph).await;
    assert_eq!(
        templates[1].body["scheduledActionsForRule"][0]["scheduledActionConfigurations"][1]
            ["notificationMessageCCList"],
        json!(["Helpdesk"])
    );
    let b = tenant_graph(&graph, DST);
    let state = fetch_state(&b, &templates).await.unwrap();
    let p = plan(&templates, &state, &[], &PlanOptions::default()).unwrap();
    assert!(p
        .items
        .iter()
        .all(|i| matches!(i.action, Action::Create { .. })));
    assert_eq!(p.dependencies.len(), 1);
    assert_eq!(p.dependencies[0].kind, DependencyKind::ReusableSetting);

    let options = ApplyOptions::new().assign_intune(assignment());
    let report = apply(&b, &p, &options).await;
    for d in &report.dependencies {
        assert!(matches!(d.outcome, Outcome::Succeeded { .. }), "{d:?}");
    }
    for i in &report.items {
        assert!(
            matches!(&i.outcome, Outcome::Succeeded { message } if message.contains("verified")),
            "{}: {:?}",
            i.template_id,
            i.outcome
        );
    }
    assert_eq!(report.bindings.len(), templates.len());

    // The compliance policy's CC group is Fabrikam's Helpdesk.
    let helpdesk = b
        .groups()
        .list()
        .await
        .unwrap()
        .into_iter()
        .find(|g| g.display_name.as_deref() == Some("Helpdesk"))
        .and_then(|g| g.id)
        .unwrap();
    let compliance = report
        .item("compliance")
        .unwrap()
        .object_id
        .clone()
        .unwrap();
    let read = b
        .intune()
        .get(IntuneKind::CompliancePolicy, &compliance)
        .map_request(|r| r.query("$expand", cipp_templates::capture::COMPLIANCE_EXPAND))
        .await
        .unwrap();
    assert_eq!(
        read.extra["scheduledActionsForRule"][0]["scheduledActionConfigurations"][1]
            ["notificationMessageCCList"],
        json!([helpdesk.as_str()])
    );
    // Assigned to both Sales groups with the filter, Contractors excluded without it.
    let assigned = b
        .intune()
        .assignments(IntuneKind::CompliancePolicy, &compliance)
        .await
        .unwrap();
    assert_eq!(assigned.len(), 3, "{assigned:?}");
    let filter = report.item("filter").unwrap().object_id.clone().unwrap();
    let with_filter = assigned
        .iter()
        .filter(|a| a["target"]["deviceAndAppManagementAssignmentFilterId"] == json!(filter))
        .count();
    assert_eq!(with_filter, 2);
    // The settings catalog reference points at Fabrikam's new reusable setting.
    let reusable = report.dependencies[0].object_id.clone().unwrap();
    let firewall = report.item("firewall").unwrap().object_id.clone().unwrap();
    let settings = b.intune().settings(&firewall).await.unwrap();
    assert_eq!(
        settings[0]["settingInstance"]["simpleSettingValue"]["value"],
        json!(reusable)
    );

    // Second run: all no-op, nothing written.
    sim.clear_log();
    let again = replan(&b, &templates, &report.bindings).await;
    for i in &again.items {
        assert!(
            matches!(i.action, Action::NoOp { .. }),
            "{}: {:?}",
            i.template_id,
            i.action
        );
    }
    assert!(again.dependencies.is_empty(), "{:?}", again.dependencies);
    let second = apply(&b, &again, &options).await;
    for i in &second.items {
        assert!(
            matches!(i.outcome, Outcome::NoChange { .. }),
            "{}: {:?}",
            i.template_id,
            i.outcome
        );
    }
    // Reads only: the state and the directory are read in `$batch` (POSTs of GET items),
    // so the writes are counted item by item.
    let log = sim.log();
    let writes: Vec<String> = log
        .writes()
        .into_iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
}

#[tokio::test]
async fn changed_templates_update_each_kind_and_verify() {
    let (_sim, graph) = setup();
    let mut templates = templates(&graph).await;
    let b = tenant_graph(&graph, DST);
    let (_, first) = deploy(&b, &templates, &[], &ApplyOptions::new()).await;
    assert!(first.is_ok(), "{:?}", first.report());

    for t in &mut templates {
        match t.kind {
            TemplateKind::IntuneAdministrativeTemplate => {
                t.body["added"][0]["presentationValues"][0]["value"] = json!("https://portal");
            }
            TemplateKind::IntuneCompliance => {
                t.body["scheduledActionsForRule"][0]["scheduledActionConfigurations"][1]
                    ["gracePeriodHours"] = json!(48);
                t.body["passwordRequired"] = json!(false);
            }
            TemplateKind::IntuneSettingsCatalog if t.id == "catalog" => {
                t.body["settings"][0] = choice(SMARTSCREEN, &format!("{SMARTSCREEN}_0"));
            }
            _ => {
                t.body["description"] = json!("changed");
            }
        }
    }
    let p = replan(&b, &templates, &first.bindings).await;
    for i in &p.items {
        assert!(
            matches!(i.action, Action::Update { .. }),
            "{}: {:?}",
            i.template_id,
            i.action
        );
    }
    let second = apply(&b, &p, &ApplyOptions::new()).await;
    for i in &second.items {
        assert!(
            matches!(&i.outcome, Outcome::Succeeded { message } if message.contains("verified")),
            "{}: {:?}",
            i.template_id,
            i.outcome
        );
    }
    let third = replan(&b, &templates, &second.bindings).await;
    assert!(third.is_empty(), "{third}");
}

#[tokio::test]
async fn settings_the_tenant_does_not_offer_are_left_out_with_a_warning() {
    let (sim, graph) = setup();
    with_tenant(&sim, "Fabrikam", |t| {
        t.intune.unavailable_settings.push(SMARTSCREEN.to_owned())
    });
    let offered = choice(
        "device_vendor_msft_policy_config_browser_allowautofill",
        "device_vendor_msft_policy_config_browser_allowautofill_0",
    );
    let t = Template::new(
        TemplateKind::IntuneSettingsCatalog,
        "Edge",
        json!({"name": "Edge", "platforms": "windows10", "technologies": "mdm",
               "settings": [choice(SMARTSCREEN, &format!("{SMARTSCREEN}_1")), offered]}),
    )
    .with_id("edge");
    let b = tenant_graph(&graph, DST);
    let (_, report) = deploy(&b, std::slice::from_ref(&t), &[], &ApplyOptions::new()).await;
    let item = report.item("edge").unwrap();
    assert_outcome(&item.outcome, "Warning", &[SMARTSCREEN, "verified"]);
    let settings = b
        .intune()
        .settings(item.object_id.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(settings.len(), 1);
}

#[tokio::test]
async fn assignment_choices_all_users_devices_append_and_unmatched_groups() {
    let (_sim, graph) = setup();
    let templates: Vec<Template> = templates(&graph)
        .await
        .into_iter()
        .filter(|t| t.id == "device")
        .collect();
    let b = tenant_graph(&graph, DST);
    let state = fetch_state(&b, &templates).await.unwrap();
    let p = plan(&templates, &state, &[], &PlanOptions::default()).unwrap();
    let both = ApplyOptions::new().assign_intune(IntuneAssignment::all_users_and_devices());
    let first = apply(&b, &p, &both).await;
    assert!(first.is_ok(), "{:?}", first.report());
    let id = first.item("device").unwrap().object_id.clone().unwrap();
    let kinds = |a: &[Value]| {
        let mut k: Vec<String> = a
            .iter()
            .map(|x| x["target"]["@odata.type"].as_str().unwrap().to_owned())
            .collect();
        k.sort();
        k
    };
    let now = b
        .intune()
        .assignments(IntuneKind::DeviceConfiguration, &id)
        .await
        .unwrap();
    assert_eq!(
        kinds(&now),
        [
            "#microsoft.graph.allDevicesAssignmentTarget",
            "#microsoft.graph.allLicensedUsersAssignmentTarget"
        ]
    );

    // Append Marketing: the earlier targets stay.
    let p = replan(&b, &templates, &first.bindings).await;
    let append =
        ApplyOptions::new().assign_intune(IntuneAssignment::groups(["marketing"]).append());
    let second = apply(&b, &p, &append).await;
    assert!(
        matches!(second.items[0].outcome, Outcome::Succeeded { .. }),
        "{:?}",
        second.items[0].outcome
    );
    let now = b
        .intune()
        .assignments(IntuneKind::DeviceConfiguration, &id)
        .await
        .unwrap();
    assert_eq!(now.len(), 3);
    // Appending again changes nothing.
    let third = apply(&b, &p, &append).await;
    assert!(matches!(third.items[0].outcome, Outcome::NoChange { .. }));

    // Replace with all devices only.
    let replace = ApplyOptions::new().assign_intune(IntuneAssignment::all_devices());
    apply(&b, &p, &replace).await;
    let now = b
        .intune()
        .assignments(IntuneKind::DeviceConfiguration, &id)
        .await
        .unwrap();
    assert_eq!(kinds(&now), ["#microsoft.graph.allDevicesAssignmentTarget"]);

    // A pattern matching no group fails the assignment, not the policy.
    let missing = ApplyOptions::new().assign_intune(IntuneAssignment::groups(["Finance*"]));
    let r = apply(&b, &p, &missing).await;
    assert_outcome(&r.items[0].outcome, "Partial", &["Finance*"]);
}

#[tokio::test]
async fn every_kind_deployed_captures_back_to_its_template() {
    let (_sim, graph) = setup();
    let templates = templates(&graph).await;
    let b = tenant_graph(&graph, DST);
    let (_, report) = deploy(&b, &templates, &[], &ApplyOptions::new()).await;
    assert!(report.is_ok(), "{:?}", report.report());
    for t in &templates {
        let id = report.item(&t.id).unwrap().object_id.clone().unwrap();
        let back = capture_intune(&b, &t.kind, &id).await.unwrap();
        let changes = cipp_templates::plan::diff(&t.kind, &t.body, &back.template.body);
        assert!(changes.is_empty(), "{}: {changes:?}", t.id);
        assert_eq!(
            back.template.attachments.reusable_settings.len(),
            t.attachments.reusable_settings.len(),
            "{}",
            t.id
        );
    }
}

/// Every write the simulator received since its log was cleared (a `$batch` is not one:
/// its items are logged each with its own method).
fn writes(sim: &Simulator) -> Vec<String> {
    sim.request_log()
        .into_iter()
        .filter(|r| r.method != "GET" && !r.path.ends_with("$batch"))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

#[tokio::test]
async fn wip_round_trip_capture_deploy_assign_then_no_op() {
    let (sim, graph) = setup();
    let a = tenant_graph(&graph, SRC);
    let mut templates = Vec::new();
    for (id, tid) in [(SRC_WIP, "wip"), (SRC_WIP_MAM, "wip-mam")] {
        let c = capture_intune(&a, &TemplateKind::IntuneAppProtection, id)
            .await
            .unwrap();
        templates.push(c.into_template().with_id(tid));
    }
    let wip = &templates[0].body;
    assert_eq!(
        wip["@odata.type"],
        json!("#microsoft.graph.mdmWindowsInformationProtectionPolicy")
    );
    for k in ["id", "version", "isAssigned", "createdDateTime"] {
        assert!(wip.get(k).is_none(), "{k}: {wip}");
    }
    assert_eq!(
        templates[1].body["@odata.type"],
        json!("#microsoft.graph.windowsInformationProtectionPolicy")
    );

    let b = tenant_graph(&graph, DST);
    let options = ApplyOptions::new().assign_intune(IntuneAssignment::groups(["Sales Users"]));
    let (p, report) = deploy(&b, &templates, &[], &options).await;
    assert!(
        p.items
            .iter()
            .all(|i| matches!(i.action, Action::Create { .. })),
        "{p}"
    );
    for i in &report.items {
        assert_outcome(
            &i.outcome,
            "Succeeded",
            &["verified", "assigned to 1 target"],
        );
    }
    // Each is in its own collection, assigned through `managedAppPolicies/{id}/assign`.
    for (tid, ik) in [
        ("wip", IntuneKind::MdmWindowsInformationProtection),
        ("wip-mam", IntuneKind::WindowsInformationProtection),
    ] {
        let id = report.item(tid).unwrap().object_id.clone().unwrap();
        let read = b.intune().get(ik, &id).await.unwrap();
        assert_eq!(read.extra["enterpriseDomain"], json!("contoso.com"));
        let assigned = b.intune().assignments(ik, &id).await.unwrap();
        assert_eq!(assigned.len(), 1, "{assigned:?}");
        assert_eq!(
            assigned[0]["@odata.type"],
            json!("#microsoft.graph.targetedManagedAppPolicyAssignment")
        );
    }
    assert!(
        sim.request_log()
            .iter()
            .any(|r| r.method == "POST"
                && r.path.contains("/deviceAppManagement/managedAppPolicies/"))
    );

    // Planned again: no-op, and applying it writes nothing.
    sim.clear_log();
    let again = replan(&b, &templates, &report.bindings).await;
    assert!(again.is_empty(), "{again}");
    let second = apply(&b, &again, &options).await;
    for i in &second.items {
        assert!(
            matches!(i.outcome, Outcome::NoChange { .. }),
            "{}: {:?}",
            i.template_id,
            i.outcome
        );
    }
    assert!(writes(&sim).is_empty(), "{:?}", writes(&sim));
    // Without bindings, by name: adopted as they are.
    let state = fetch_state(&b, &templates).await.unwrap();
    let adopt = plan(
        &templates,
        &state,
        &[],
        &PlanOptions::default().adopt_by_name(true),
    )
    .unwrap();
    assert!(
        adopt
            .items
            .iter()
            .all(|i| matches!(i.action, Action::Adopt { .. })),
        "{adopt}"
    );
}

#[tokio::test]
async fn encrypted_oma_settings_deploy_and_plan_without_false_changes() {
    let (sim, graph) = setup();
    let a = tenant_graph(&graph, SRC);
    let c = capture_intune(&a, &TemplateKind::IntuneDeviceConfiguration, SRC_OMA)
        .await
        .unwrap();
    let mut templates = vec![c.into_template().with_id("wifi")];
    assert_eq!(
        templates[0].body["omaSettings"][0]["value"],
        json!("wifi-psk-1")
    );

    let b = tenant_graph(&graph, DST);
    let (_, first) = deploy(&b, &templates, &[], &ApplyOptions::new()).await;
    assert_outcome(&first.items[0].outcome, "Succeeded", &["verified"]);
    let id = first.item("wifi").unwrap().object_id.clone().unwrap();
    // Fabrikam holds the settings encrypted…
    let read = b
        .intune()
        .get(IntuneKind::DeviceConfiguration, &id)
        .await
        .unwrap();
    assert_eq!(read.extra["omaSettings"][0]["isEncrypted"], json!(true));
    assert_eq!(read.extra["omaSettings"][0]["value"], json!("****"));
    // … and a plan against them is no change, bound or adopted by name.
    let again = replan(&b, &templates, &first.bindings).await;
    assert!(again.is_empty(), "{again}");
    let state = fetch_state(&b, &templates).await.unwrap();
    let shown = format!("{state:?}");
    assert!(
        !shown.contains("wifi-psk-1"),
        "the tenant's secret is in the state: {shown}"
    );
    let adopt = plan(
        &templates,
        &state,
        &[],
        &PlanOptions::default().adopt_by_name(true),
    )
    .unwrap();
    assert!(
        matches!(adopt.items[0].action, Action::Adopt { .. }),
        "{adopt}"
    );

    // A changed secret is an update that shows neither value, then verifies.
    templates[0].body["omaSettings"][0]["value"] = json!("wifi-psk-2");
    let changed = replan(&b, &templates, &first.bindings).await;
    let Action::Update { changes, .. } = &changed.items[0].action else {
        panic!("expected an update: {changed}");
    };
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0].path, "/omaSettings");
    let shown = format!("{changed}\n{changes:?}");
    assert!(
        !shown.contains("wifi-psk-1") && !shown.contains("wifi-psk-2"),
        "{shown}"
    );
    assert!(shown.contains("encrypted in the tenant"), "{shown}");
    sim.clear_log();
    let second = apply(&b, &changed, &ApplyOptions::new()).await;
    assert_outcome(
        &second.items[0].outcome,
        "Succeeded",
        &["updated", "verified"],
    );
    assert_eq!(
        writes(&sim),
        [format!(
            "PATCH /v1.0/deviceManagement/deviceConfigurations/{id}"
        )]
    );
    let sid = b
        .intune()
        .get(IntuneKind::DeviceConfiguration, &id)
        .await
        .unwrap()
        .extra["omaSettings"][0]["secretReferenceValueId"]
        .as_str()
        .unwrap()
        .to_owned();
    let plain = b
        .intune()
        .oma_setting_plain_text_value(&id, &sid)
        .await
        .unwrap();
    assert_eq!(secrecy::ExposeSecret::expose_secret(&plain), "wifi-psk-2");
    let third = replan(&b, &templates, &second.bindings).await;
    assert!(third.is_empty(), "{third}");
}
