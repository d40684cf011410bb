//! Intune: every typed operation in `cipp_graph::intune` decodes the response example of
//! its Microsoft Graph documentation page, verbatim. Intune's generated samples carry their
//! own quirks: `-08:00` offsets, nested `@odata.type`s without `#`, placeholders in every
//! string, and single entities wrapped in `"value"`.

mod common;
mod fixtures;

use cipp_graph::intune::{self, AssignTarget, IntuneKind};
use cipp_graph::model::{ApplePushCertificate, DepOnboardingSetting, IntunePolicy, VppToken};
use cipp_graph::odata::Query;
use fixtures::*;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

const CONFIG: &str = "34977265-7265-3497-6572-973465729734";

/// <https://learn.microsoft.com/en-us/graph/api/intune-deviceconfig-deviceconfiguration-list?view=graph-rest-1.0>
#[tokio::test]
async fn list_policies() {
    let call = intune::list(&tenant(), IntuneKind::DeviceConfiguration, &Query::new()).unwrap();
    let page: Page<IntunePolicy> =
        doc_page(call, "intune-deviceconfig-deviceconfiguration-list").await;
    let p = &page.items[0];
    assert_eq!(p.odata_type.as_deref(), Some("#microsoft.graph.deviceConfiguration"));
    assert_eq!(p.display_name.as_deref(), Some("Display Name value"));
    assert_eq!(p.created_date_time.unwrap().to_rfc3339(), "2017-01-01T08:02:43.577596500+00:00");
    assert_eq!(p.extra["version"], 7);
}

/// <https://learn.microsoft.com/en-us/graph/api/intune-deviceconfig-deviceconfiguration-get?view=graph-rest-1.0>
/// documents a single policy wrapped in `"value"`, as it does the APNs certificate; Graph
/// itself sends it at the top level. `get` reads both shapes (it read the wrapped sample as an
/// empty policy before).
#[tokio::test]
async fn get_policy_as_documented() {
    let body = include_str!("fixtures/intune-deviceconfig-deviceconfiguration-get.json");
    let p: IntunePolicy =
        decode(intune::get(&tenant(), IntuneKind::DeviceConfiguration, CONFIG).unwrap(), 200, body)
            .await;
    assert_eq!(p.id, CONFIG);
    assert_eq!(p.description.as_deref(), Some("Description value"));
    assert!(p.extra.get("value").is_none());
    // The top-level shape the service sends reads the same.
    let top = serde_json::from_str::<Value>(body).unwrap()["value"].to_string();
    let p: IntunePolicy =
        decode(intune::get(&tenant(), IntuneKind::DeviceConfiguration, CONFIG).unwrap(), 200, &top)
            .await;
    assert_eq!(p.id, CONFIG);
}

/// <https://learn.microsoft.com/en-us/graph/api/intune-deviceconfig-editionupgradeconfiguration-create?view=graph-rest-1.0>;
/// updating answers `200` with the object
/// (<https://learn.microsoft.com/en-us/graph/api/intune-deviceconfig-editionupgradeconfiguration-update?view=graph-rest-1.0>)
/// and deleting `204`
/// (<https://learn.microsoft.com/en-us/graph/api/intune-deviceconfig-editionupgradeconfiguration-delete?view=graph-rest-1.0>).
#[tokio::test]
async fn create_update_delete() {
    let sent: IntunePolicy = serde_json::from_value(json!({
        "@odata.type": "#microsoft.graph.editionUpgradeConfiguration",
        "description": "Description value", "displayName": "Display Name value", "version": 7,
        "licenseType": "licenseFile", "targetEdition": "windows10EnterpriseN",
        "license": "License value", "productKey": "Product Key value"
    }))
    .unwrap();
    let body = include_str!("fixtures/intune-deviceconfig-editionupgradeconfiguration-create.json");
    let call = intune::create(&tenant(), IntuneKind::DeviceConfiguration, &sent).unwrap();
    let created: IntunePolicy = decode(call, 201, body).await;
    assert_eq!(created.id, "f39fc471-c471-f39f-71c4-9ff371c49ff3");
    assert_eq!(created.extra["targetEdition"], "windows10EnterpriseN");
    decode(
        intune::update(&tenant(), IntuneKind::DeviceConfiguration, &created.id, &created).unwrap(),
        200,
        body,
    )
    .await;
    no_content(intune::delete(&tenant(), IntuneKind::DeviceConfiguration, &created.id).unwrap())
        .await;
}

/// <https://learn.microsoft.com/en-us/graph/api/intune-deviceconfig-deviceconfiguration-assign?view=graph-rest-1.0>
/// and <https://learn.microsoft.com/en-us/graph/api/intune-deviceconfig-deviceconfigurationassignment-list?view=graph-rest-1.0>
/// (a target type without `#`).
#[tokio::test]
async fn assignments() {
    let body = intune::assignments_body(
        IntuneKind::DeviceConfiguration,
        &[AssignTarget::AllDevices],
        None,
        &[],
    )
    .unwrap();
    ok(
        intune::assign(&tenant(), IntuneKind::DeviceConfiguration, CONFIG, &body).unwrap(),
        "intune-deviceconfig-deviceconfiguration-assign",
    )
    .await;
    let call =
        intune::list_assignments(&tenant(), IntuneKind::DeviceConfiguration, CONFIG).unwrap();
    let page: Page<Value> =
        doc_page(call, "intune-deviceconfig-deviceconfigurationassignment-list").await;
    assert_eq!(
        page.items[0]["target"]["@odata.type"],
        "microsoft.graph.configurationManagerCollectionAssignmentTarget"
    );
}

/// Administrative templates (beta):
/// <https://learn.microsoft.com/en-us/graph/api/intune-grouppolicy-grouppolicydefinitionvalue-list?view=graph-rest-beta>,
/// <https://learn.microsoft.com/en-us/graph/api/intune-grouppolicy-grouppolicydefinitionvalue-create?view=graph-rest-beta>.
#[tokio::test]
async fn definition_values() {
    let id = "50428918-8918-5042-1889-425018894250";
    let call = intune::list_definition_values(&tenant(), id).unwrap();
    let page: Page<Value> =
        doc_page(call, "intune-grouppolicy-grouppolicydefinitionvalue-list").await;
    assert_eq!(page.items[0]["configurationType"], "preference");
    let value = json!({"enabled": true, "definition@odata.bind": "https://graph.microsoft.com/beta/deviceManagement/groupPolicyDefinitions('x')"});
    let call = intune::add_definition_value(&tenant(), id, &value).unwrap();
    let created = created(call, "intune-grouppolicy-grouppolicydefinitionvalue-create").await;
    assert_eq!(created["id"], id);
}

/// <https://learn.microsoft.com/en-us/graph/api/intune-devices-applepushnotificationcertificate-get?view=graph-rest-1.0>
/// (wrapped in `"value"`; the operation reads both shapes).
#[tokio::test]
async fn apple_push_certificate() {
    let call = intune::apple_push_certificate(&tenant());
    let c: ApplePushCertificate =
        ok(call, "intune-devices-applepushnotificationcertificate-get").await;
    assert_eq!(c.apple_identifier.as_deref(), Some("Apple Identifier value"));
    assert_eq!(c.expiration_date_time.unwrap().to_rfc3339(), "2017-01-01T07:57:57.248123400+00:00");
    assert_eq!(c.extra["certificateSerialNumber"], "Certificate Serial Number value");
}

/// <https://learn.microsoft.com/en-us/graph/api/intune-onboarding-vpptoken-list?view=graph-rest-1.0>
/// and <https://learn.microsoft.com/en-us/graph/api/intune-enrollment-deponboardingsetting-list?view=graph-rest-beta>.
#[tokio::test]
async fn apple_tokens() {
    let page =
        doc_page::<VppToken>(intune::list_vpp_tokens(&tenant()), "intune-onboarding-vpptoken-list")
            .await;
    let v = &page.items[0];
    assert_eq!(v.state.as_deref(), Some("valid"));
    assert_eq!(v.extra["vppTokenAccountType"], "education");
    assert!(v.expiration_date_time.is_some());
    let call = intune::list_dep_onboarding(&tenant());
    let page: Page<DepOnboardingSetting> =
        doc_page(call, "intune-enrollment-deponboardingsetting-list").await;
    let d = &page.items[0];
    assert_eq!(d.token_name.as_deref(), Some("Token Name value"));
    assert_eq!(
        d.token_expiration_date_time.unwrap().to_rfc3339(),
        "2017-01-01T07:59:54.059098900+00:00"
    );
    assert_eq!(d.extra["tokenType"], "dep");
}

/// Settings-catalog settings (beta):
/// <https://learn.microsoft.com/en-us/graph/api/intune-deviceconfigv2-devicemanagementconfigurationsetting-list?view=graph-rest-beta>
/// (served for `GET /deviceManagement/configurationPolicies/{id}/settings`, which the page
/// lists among its HTTP requests; its example asks the audit-policy path). The example nests
/// choice settings eleven deep, with `@odata.type`s without `#`, and ends in an instance of
/// nulls.
#[tokio::test]
async fn list_settings() {
    let id = "9acf977e-977e-9acf-7e97-cf9a7e97cf9a";
    let body = include_str!(
        "fixtures/intune-deviceconfigv2-devicemanagementconfigurationsetting-list.json"
    );
    let req = intune::list_settings(&tenant(), CONFIG).unwrap();
    assert_eq!(
        req.path(),
        format!("/beta/deviceManagement/configurationPolicies/{CONFIG}/settings")
    );
    let page: Page<Value> = first_page(req, body).await;
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0]["id"], id);

    // Through the tenant's Intune handler, against the exact method and path.
    let (server, graph) = common::client().await;
    Mock::given(method("GET"))
        .and(path(format!("/beta/deviceManagement/configurationPolicies/{CONFIG}/settings")))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(body.as_bytes().to_vec(), "application/json"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let t = tenant();
    let settings: Vec<Value> = graph.tenant(&t).intune().settings(CONFIG).collect().await.unwrap();
    assert_eq!(settings.len(), 1);
    let s = &settings[0];
    assert_eq!(s["@odata.type"], "#microsoft.graph.deviceManagementConfigurationSetting");
    assert_eq!(s["id"], id);
    let instance = &s["settingInstance"];
    assert_eq!(
        instance["@odata.type"],
        "microsoft.graph.deviceManagementConfigurationChoiceSettingInstance"
    );
    assert_eq!(instance["settingDefinitionId"], "Setting Definition Id value");
    assert_eq!(instance["choiceSettingValue"]["value"], "Value value");
    // Properties the SDK has no field for are kept, nested ones included.
    assert_eq!(instance["auditRuleInformation"]["auditRuleMetadata"]["metadataType"], "stig");
    assert_eq!(
        instance["settingInstanceTemplateReference"]["settingInstanceTemplateId"],
        "Setting Instance Template Id value"
    );
    // Down the children to the last, all-null instance: nothing is lost on the way.
    let mut depth = 0;
    let mut at = instance;
    while let Some(child) = at["choiceSettingValue"]["children"].get(0) {
        at = child;
        depth += 1;
    }
    assert_eq!(depth, 11);
    assert!(at["settingDefinitionId"].is_null());
    assert!(at.as_object().unwrap().contains_key("choiceSettingValue"));
    // What was read is what the page shows.
    assert_eq!(json!({ "value": settings }), serde_json::from_str::<Value>(body).unwrap());
}
