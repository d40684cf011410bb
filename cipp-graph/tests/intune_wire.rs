//! Intune over the real HTTP path: exact requests and documented shapes.

mod common;

use cipp_graph::intune::{self, AssignTarget, FilterMode, IntuneKind};
use cipp_graph::model::IntunePolicy;
use cipp_graph::odata::Query;
use common::*;
use futures::TryStreamExt;
use serde_json::{json, Value};

const ID: &str = "3eb1b0c8-9b7c-4c8a-a2d5-4f1c6a7e9b10";
const G: &str = "0be2b0e8-8f6a-4b38-9e5c-3c9e6b1a2f11";
const F: &str = "7b0b0e8a-0000-4000-8000-000000000001";

fn compliance() -> serde_json::Value {
    json!({
        "@odata.type": "#microsoft.graph.windows10CompliancePolicy",
        "id": ID,
        "createdDateTime": "2017-01-01T00:02:43.5775965-08:00",
        "description": "Baseline",
        "lastModifiedDateTime": "2017-01-01T00:00:35.1329464-08:00",
        "displayName": "Windows baseline",
        "version": 7,
        "passwordRequired": true,
        "osMinimumVersion": "10.0.19045"
    })
}

const COMPLIANCE: &str = "/v1.0/deviceManagement/deviceCompliancePolicies";
const CATALOG: &str = "/beta/deviceManagement/configurationPolicies";
const CONFIGURATIONS: &str = "/v1.0/deviceManagement/deviceConfigurations";
const ADMX: &str = "/beta/deviceManagement/groupPolicyConfigurations";

fn assignment(odata_type: &str, target: Value) -> Value {
    json!({"@odata.type": format!("#microsoft.graph.{odata_type}"), "target": target})
}

#[tokio::test]
async fn list_and_get_keep_the_concrete_type_and_settings() {
    let (server, t) = contoso().await;
    stub(&server, &format!("GET {COMPLIANCE}")).reply(200, json!({"value": [compliance()]})).await;
    stub(&server, &format!("GET {CATALOG}?$expand=settings"))
        .reply(200, json!({"value": [{
            "id": ID, "name": "Edge baseline", "platforms": "windows10", "technologies": "mdm",
            "settingCount": 1, "isAssigned": false, "templateReference": {"templateId": "", "templateFamily": "none"},
            "settings": [{"id": "0", "settingInstance": {"@odata.type": "#microsoft.graph.deviceManagementConfigurationChoiceSettingInstance", "settingDefinitionId": "x"}}]
        }]}))
        .await;
    let intune = t.intune();
    let compliance = intune.list(IntuneKind::CompliancePolicy).query(Query::new());
    let c: Vec<_> = compliance.collect().await.unwrap();
    assert_eq!(c[0].odata_type.as_deref(), Some("#microsoft.graph.windows10CompliancePolicy"));
    assert_eq!(c[0].title(), "Windows baseline");
    assert_eq!(c[0].extra["osMinimumVersion"], "10.0.19045");
    let catalog = intune.list(IntuneKind::SettingsCatalog).query(Query::new().expand("settings"));
    let s: Vec<_> = catalog.collect().await.unwrap();
    assert_eq!(s[0].title(), "Edge baseline");
    assert!(s[0].extra["settings"].is_array());
}

#[tokio::test]
async fn a_captured_compliance_policy_is_created_with_scheduled_actions_and_without_read_only_fields(
) {
    let (server, t) = contoso().await;
    on(&server, &format!("POST {COMPLIANCE}"))
        .body(json!({
            "@odata.type": "#microsoft.graph.windows10CompliancePolicy",
            "description": "Baseline",
            "displayName": "Windows baseline",
            "passwordRequired": true,
            "osMinimumVersion": "10.0.19045",
            "scheduledActionsForRule": [{"ruleName": "PasswordRequired", "scheduledActionConfigurations": [
                {"actionType": "block", "gracePeriodHours": 0, "notificationTemplateId": "", "notificationMessageCCList": []}
            ]}]
        }))
        .reply(201, compliance())
        .await;
    let captured: IntunePolicy = serde_json::from_value(compliance()).unwrap();
    let intune = t.intune();
    let created = intune.create(IntuneKind::CompliancePolicy, &captured).await.unwrap();
    assert_eq!(created.id, ID);
    // Refused before sending: no concrete type on a polymorphic kind, no name.
    let mut untyped = captured.clone();
    untyped.odata_type = None;
    let mut nameless = captured.clone();
    nameless.display_name = None;
    for (name, kind, bad) in [
        ("untyped compliance policy", IntuneKind::CompliancePolicy, untyped),
        ("nameless configuration", IntuneKind::DeviceConfiguration, nameless),
    ] {
        assert!(intune.create(kind, &bad).await.is_err(), "{name}");
    }
}

#[tokio::test]
async fn the_settings_catalog_is_replaced_with_put_others_patched() {
    let (server, t) = contoso().await;
    let policy: IntunePolicy = serde_json::from_value(json!({
        "id": ID, "name": "Edge baseline", "platforms": "windows10", "technologies": "mdm",
        "settingCount": 1, "settings": [{"id": "0", "settingInstance": {"settingDefinitionId": "x"}}]
    }))
    .unwrap();
    on(&server, &format!("PUT {CATALOG}/{ID}"))
        .body(json!({
            "name": "Edge baseline", "platforms": "windows10", "technologies": "mdm",
            "settings": [{"id": "0", "settingInstance": {"settingDefinitionId": "x"}}]
        }))
        .reply(204, Value::Null)
        .await;
    let intune = t.intune();
    intune.update(IntuneKind::SettingsCatalog, ID, &policy).await.unwrap();
    let mut no_settings = policy.clone();
    no_settings.extra.remove("settings");
    assert!(intune.update(IntuneKind::SettingsCatalog, ID, &no_settings).await.is_err());
    on(&server, &format!("PATCH {CONFIGURATIONS}/{ID}"))
        .body(json!({"@odata.type": "#microsoft.graph.windows10GeneralConfiguration", "displayName": "Renamed"}))
        .reply(204, Value::Null)
        .await;
    let p = IntunePolicy {
        odata_type: Some("#microsoft.graph.windows10GeneralConfiguration".into()),
        display_name: Some("Renamed".into()),
        ..Default::default()
    };
    intune.update(IntuneKind::DeviceConfiguration, ID, &p).await.unwrap();
    on(&server, &format!("DELETE {ADMX}/{ID}")).reply(204, Value::Null).await;
    intune.delete(IntuneKind::AdministrativeTemplate, ID).await.unwrap();
}

#[tokio::test]
async fn assign_replaces_or_appends_with_filters_and_exclusions() {
    let (server, t) = contoso().await;
    let config = "deviceConfigurationAssignment";
    on(&server, &format!("POST {CONFIGURATIONS}/{ID}/assign"))
        .body(json!({"assignments": [
            assignment(config, json!({
                "@odata.type": "#microsoft.graph.allDevicesAssignmentTarget",
                "deviceAndAppManagementAssignmentFilterId": F,
                "deviceAndAppManagementAssignmentFilterType": "exclude"})),
            assignment(config, json!({
                "@odata.type": "#microsoft.graph.exclusionGroupAssignmentTarget", "groupId": G}))
        ]}))
        .reply(200, json!({"value": []}))
        .await;
    let intune = t.intune();
    let targets = [AssignTarget::AllDevices, AssignTarget::ExcludeGroup(G.into())];
    let filter = Some((F, FilterMode::Exclude));
    intune.assign(IntuneKind::DeviceConfiguration, ID, &targets, filter, false).await.unwrap();

    let group = json!({"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": G});
    on(&server, &format!("GET {CATALOG}/{ID}/assignments"))
        .reply(
            200,
            json!({"value": [
                {"id": "a1", "source": "direct", "sourceId": ID, "target": group}
            ]}),
        )
        .await;
    let catalog = "deviceManagementConfigurationPolicyAssignment";
    let licensed = json!({"@odata.type": "#microsoft.graph.allLicensedUsersAssignmentTarget"});
    on(&server, &format!("POST {CATALOG}/{ID}/assign"))
        .body(json!({"assignments": [assignment(catalog, group), assignment(catalog, licensed)]}))
        .reply(204, Value::Null)
        .await;
    let all_users = [AssignTarget::AllUsers];
    intune.assign(IntuneKind::SettingsCatalog, ID, &all_users, None, true).await.unwrap();
    // Refused before sending.
    let sales = [AssignTarget::Group("sales".into())];
    for (name, kind, targets) in [
        ("a filter is not assignable", IntuneKind::AssignmentFilter, &all_users),
        ("a group that is not a GUID", IntuneKind::DeviceConfiguration, &sales),
    ] {
        assert!(intune.assign(kind, ID, targets, None, false).await.is_err(), "{name}");
    }
}

#[tokio::test]
async fn administrative_template_values_are_read_expanded_and_added() {
    let (server, t) = contoso().await;
    let values_path = format!("{ADMX}/{ID}/definitionValues");
    on(&server, &format!("GET {values_path}"))
        .query("$expand", "definition,presentationValues($expand=presentation)")
        .reply(200, json!({"value": [{"id": "v1", "enabled": true}]}))
        .await;
    let req = intune::list_definition_values(&tenant(), ID).unwrap();
    let values = cipp_core::paging::items(t.pipeline().clone(), req);
    let values: Vec<Value> = values.try_collect().await.unwrap();
    assert_eq!(values.len(), 1);
    let value = json!({"enabled": true, "definition@odata.bind": "https://graph.microsoft.com/beta/deviceManagement/groupPolicyDefinitions('d1')", "presentationValues": []});
    on(&server, &format!("POST {values_path}"))
        .body(value.clone())
        .reply(201, json!({"id": "v2", "enabled": true}))
        .await;
    let add = intune::add_definition_value(&tenant(), ID, &value).unwrap();
    let added = add.send(t.pipeline()).await.unwrap();
    assert_eq!(added["id"], "v2");
    assert!(intune::add_definition_value(&tenant(), ID, &json!({"enabled": true})).is_err());
}

#[tokio::test]
async fn apple_certificates_and_tokens_with_expiry() {
    let (server, t) = contoso().await;
    stub(&server, "GET /v1.0/deviceManagement/applePushNotificationCertificate")
        .reply(200, json!({"value": {
            "@odata.type": "#microsoft.graph.applePushNotificationCertificate",
            "id": "4e7d1a1e-1a1e-4e7d-1a1e-4e7d1a1e4e7d",
            "appleIdentifier": "admin@contoso.com", "topicIdentifier": "com.apple.mgmt.External.x",
            "lastModifiedDateTime": "2017-01-01T00:00:35.1329464-08:00",
            "expirationDateTime": "2027-01-01T00:03:18.5958204-08:00",
            "certificateUploadStatus": "Upload Status value"
        }}))
        .await;
    stub(&server, "GET /v1.0/deviceAppManagement/vppTokens")
        .reply(200, json!({"value": [{
            "@odata.type": "#microsoft.graph.vppToken", "id": "v1", "organizationName": "Contoso",
            "vppTokenAccountType": "business", "appleId": "vpp@contoso.com",
            "expirationDateTime": "2026-12-20T00:00:00Z", "state": "valid"
        }]}))
        .await;
    stub(&server, "GET /beta/deviceManagement/depOnboardingSettings")
        .reply(
            200,
            json!({"value": [{
                "id": "d1", "appleIdentifier": "dep@contoso.com", "tokenName": "DEP",
                "tokenExpirationDateTime": "2026-12-31T23:59:59Z", "tokenType": "dep"
            }]}),
        )
        .await;
    let intune = t.intune();
    let apns = intune.apple_push_certificate().await.unwrap();
    let expires = apns.expiration_date_time.unwrap().to_rfc3339();
    assert_eq!(expires, "2027-01-01T08:03:18.595820400+00:00");
    let vpp: Vec<_> = intune.vpp_tokens().collect().await.unwrap();
    assert_eq!(vpp[0].state.as_deref(), Some("valid"));
    assert!(vpp[0].expiration_date_time.is_some());
    let dep: Vec<_> = intune.dep_onboarding().collect().await.unwrap();
    assert!(dep[0].token_expiration_date_time.is_some());
    // The same singleton at the top level reads too.
    let top: cipp_graph::model::ApplePushCertificate = cipp_graph::model::singleton(json!({
        "appleIdentifier": "a", "expirationDateTime": "2027-01-01T00:00:00Z"
    }))
    .unwrap();
    assert!(top.expiration_date_time.is_some());
}
