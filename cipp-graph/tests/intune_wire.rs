//! Intune over the real HTTP path: exact requests and documented shapes.

mod common;

use cipp_graph::intune::{self, AssignTarget, FilterMode, IntuneKind};
use cipp_graph::model::IntunePolicy;
use cipp_graph::odata::Query;
use common::*;
use futures::TryStreamExt;
use serde_json::json;
use wiremock::matchers::{body_json, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

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

#[tokio::test]
async fn list_and_get_keep_the_concrete_type_and_settings() {
    let (server, graph) = client().await;
    Mock::given(method("GET"))
        .and(path("/v1.0/deviceManagement/deviceCompliancePolicies"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [compliance()]})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/beta/deviceManagement/configurationPolicies"))
        .and(query_param("$expand", "settings"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [{
            "id": ID, "name": "Edge baseline", "platforms": "windows10", "technologies": "mdm",
            "settingCount": 1, "isAssigned": false, "templateReference": {"templateId": "", "templateFamily": "none"},
            "settings": [{"id": "0", "settingInstance": {"@odata.type": "#microsoft.graph.deviceManagementConfigurationChoiceSettingInstance", "settingDefinitionId": "x"}}]
        }]})))
        .mount(&server)
        .await;
    let t = tenant();
    let c: Vec<_> = graph
        .tenant(&t)
        .intune()
        .list(IntuneKind::CompliancePolicy)
        .query(Query::new())
        .collect()
        .await
        .unwrap();
    assert_eq!(c[0].odata_type.as_deref(), Some("#microsoft.graph.windows10CompliancePolicy"));
    assert_eq!(c[0].title(), "Windows baseline");
    assert_eq!(c[0].extra["osMinimumVersion"], "10.0.19045");
    let s: Vec<_> = graph
        .tenant(&t)
        .intune()
        .list(IntuneKind::SettingsCatalog)
        .query(Query::new().expand("settings"))
        .collect()
        .await
        .unwrap();
    assert_eq!(s[0].title(), "Edge baseline");
    assert!(s[0].extra["settings"].is_array());
}

#[tokio::test]
async fn a_captured_compliance_policy_is_created_with_scheduled_actions_and_without_read_only_fields(
) {
    let (server, graph) = client().await;
    Mock::given(method("POST"))
        .and(path("/v1.0/deviceManagement/deviceCompliancePolicies"))
        .and(body_json(json!({
            "@odata.type": "#microsoft.graph.windows10CompliancePolicy",
            "description": "Baseline",
            "displayName": "Windows baseline",
            "passwordRequired": true,
            "osMinimumVersion": "10.0.19045",
            "scheduledActionsForRule": [{"ruleName": "PasswordRequired", "scheduledActionConfigurations": [
                {"actionType": "block", "gracePeriodHours": 0, "notificationTemplateId": "", "notificationMessageCCList": []}
            ]}]
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(compliance()))
        .expect(1)
        .mount(&server)
        .await;
    let captured: IntunePolicy = serde_json::from_value(compliance()).unwrap();
    let created = graph
        .tenant(&tenant())
        .intune()
        .create(IntuneKind::CompliancePolicy, &captured)
        .await
        .unwrap();
    assert_eq!(created.id, ID);
    // Refused before sending: no concrete type on a polymorphic kind, no name.
    let mut untyped = captured.clone();
    untyped.odata_type = None;
    assert!(graph
        .tenant(&tenant())
        .intune()
        .create(IntuneKind::CompliancePolicy, &untyped)
        .await
        .is_err());
    let mut nameless = captured.clone();
    nameless.display_name = None;
    assert!(graph
        .tenant(&tenant())
        .intune()
        .create(IntuneKind::DeviceConfiguration, &nameless)
        .await
        .is_err());
}

#[tokio::test]
async fn the_settings_catalog_is_replaced_with_put_others_patched() {
    let (server, graph) = client().await;
    let policy: IntunePolicy = serde_json::from_value(json!({
        "id": ID, "name": "Edge baseline", "platforms": "windows10", "technologies": "mdm",
        "settingCount": 1, "settings": [{"id": "0", "settingInstance": {"settingDefinitionId": "x"}}]
    }))
    .unwrap();
    Mock::given(method("PUT"))
        .and(path(format!("/beta/deviceManagement/configurationPolicies/{ID}")))
        .and(body_json(json!({
            "name": "Edge baseline", "platforms": "windows10", "technologies": "mdm",
            "settings": [{"id": "0", "settingInstance": {"settingDefinitionId": "x"}}]
        })))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    graph
        .tenant(&tenant())
        .intune()
        .update(IntuneKind::SettingsCatalog, ID, &policy)
        .await
        .unwrap();
    let mut no_settings = policy.clone();
    no_settings.extra.remove("settings");
    assert!(graph
        .tenant(&tenant())
        .intune()
        .update(IntuneKind::SettingsCatalog, ID, &no_settings)
        .await
        .is_err());
    Mock::given(method("PATCH"))
        .and(path(format!("/v1.0/deviceManagement/deviceConfigurations/{ID}")))
        .and(body_json(json!({"@odata.type": "#microsoft.graph.windows10GeneralConfiguration", "displayName": "Renamed"})))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let p = IntunePolicy {
        odata_type: Some("#microsoft.graph.windows10GeneralConfiguration".into()),
        display_name: Some("Renamed".into()),
        ..Default::default()
    };
    graph.tenant(&tenant()).intune().update(IntuneKind::DeviceConfiguration, ID, &p).await.unwrap();
    Mock::given(method("DELETE"))
        .and(path(format!("/beta/deviceManagement/groupPolicyConfigurations/{ID}")))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    graph.tenant(&tenant()).intune().delete(IntuneKind::AdministrativeTemplate, ID).await.unwrap();
}

#[tokio::test]
async fn assign_replaces_or_appends_with_filters_and_exclusions() {
    let (server, graph) = client().await;
    Mock::given(method("POST"))
        .and(path(format!("/v1.0/deviceManagement/deviceConfigurations/{ID}/assign")))
        .and(body_json(json!({"assignments": [
            {"@odata.type": "#microsoft.graph.deviceConfigurationAssignment", "target": {
                "@odata.type": "#microsoft.graph.allDevicesAssignmentTarget",
                "deviceAndAppManagementAssignmentFilterId": F,
                "deviceAndAppManagementAssignmentFilterType": "exclude"}},
            {"@odata.type": "#microsoft.graph.deviceConfigurationAssignment", "target": {
                "@odata.type": "#microsoft.graph.exclusionGroupAssignmentTarget", "groupId": G}}
        ]})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .expect(1)
        .mount(&server)
        .await;
    graph
        .tenant(&tenant())
        .intune()
        .assign(
            IntuneKind::DeviceConfiguration,
            ID,
            &[AssignTarget::AllDevices, AssignTarget::ExcludeGroup(G.into())],
            Some((F, FilterMode::Exclude)),
            false,
        )
        .await
        .unwrap();

    Mock::given(method("GET"))
        .and(path(format!("/beta/deviceManagement/configurationPolicies/{ID}/assignments")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [
            {"id": "a1", "source": "direct", "sourceId": ID, "target": {
                "@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": G}}
        ]})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/beta/deviceManagement/configurationPolicies/{ID}/assign")))
        .and(body_json(json!({"assignments": [
            {"@odata.type": "#microsoft.graph.deviceManagementConfigurationPolicyAssignment", "target": {
                "@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": G}},
            {"@odata.type": "#microsoft.graph.deviceManagementConfigurationPolicyAssignment", "target": {
                "@odata.type": "#microsoft.graph.allLicensedUsersAssignmentTarget"}}
        ]})))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    graph
        .tenant(&tenant())
        .intune()
        .assign(IntuneKind::SettingsCatalog, ID, &[AssignTarget::AllUsers], None, true)
        .await
        .unwrap();
    // Refused before sending.
    assert!(graph
        .tenant(&tenant())
        .intune()
        .assign(IntuneKind::AssignmentFilter, ID, &[AssignTarget::AllUsers], None, false)
        .await
        .is_err());
    assert!(graph
        .tenant(&tenant())
        .intune()
        .assign(
            IntuneKind::DeviceConfiguration,
            ID,
            &[AssignTarget::Group("sales".into())],
            None,
            false
        )
        .await
        .is_err());
}

#[tokio::test]
async fn administrative_template_values_are_read_expanded_and_added() {
    let (server, graph) = client().await;
    Mock::given(method("GET"))
        .and(path(format!(
            "/beta/deviceManagement/groupPolicyConfigurations/{ID}/definitionValues"
        )))
        .and(query_param("$expand", "definition,presentationValues($expand=presentation)"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"value": [{"id": "v1", "enabled": true}]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let req = intune::list_definition_values(&tenant(), ID).unwrap();
    let values: Vec<serde_json::Value> =
        cipp_core::paging::items(graph.pipeline().clone(), req).try_collect().await.unwrap();
    assert_eq!(values.len(), 1);
    let value = json!({"enabled": true, "definition@odata.bind": "https://graph.microsoft.com/beta/deviceManagement/groupPolicyDefinitions('d1')", "presentationValues": []});
    Mock::given(method("POST"))
        .and(path(format!(
            "/beta/deviceManagement/groupPolicyConfigurations/{ID}/definitionValues"
        )))
        .and(body_json(value.clone()))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({"id": "v2", "enabled": true})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let added = intune::add_definition_value(&tenant(), ID, &value)
        .unwrap()
        .send(graph.pipeline())
        .await
        .unwrap();
    assert_eq!(added["id"], "v2");
    assert!(intune::add_definition_value(&tenant(), ID, &json!({"enabled": true})).is_err());
}

#[tokio::test]
async fn apple_certificates_and_tokens_with_expiry() {
    let (server, graph) = client().await;
    Mock::given(method("GET"))
        .and(path("/v1.0/deviceManagement/applePushNotificationCertificate"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": {
            "@odata.type": "#microsoft.graph.applePushNotificationCertificate",
            "id": "4e7d1a1e-1a1e-4e7d-1a1e-4e7d1a1e4e7d",
            "appleIdentifier": "admin@contoso.com", "topicIdentifier": "com.apple.mgmt.External.x",
            "lastModifiedDateTime": "2017-01-01T00:00:35.1329464-08:00",
            "expirationDateTime": "2027-01-01T00:03:18.5958204-08:00",
            "certificateUploadStatus": "Upload Status value"
        }})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/deviceAppManagement/vppTokens"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [{
            "@odata.type": "#microsoft.graph.vppToken", "id": "v1", "organizationName": "Contoso",
            "vppTokenAccountType": "business", "appleId": "vpp@contoso.com",
            "expirationDateTime": "2026-12-20T00:00:00Z", "state": "valid"
        }]})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/beta/deviceManagement/depOnboardingSettings"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [{
            "id": "d1", "appleIdentifier": "dep@contoso.com", "tokenName": "DEP",
            "tokenExpirationDateTime": "2026-12-31T23:59:59Z", "tokenType": "dep"
        }]})))
        .mount(&server)
        .await;
    let t = tenant();
    let apns = graph.tenant(&t).intune().apple_push_certificate().await.unwrap();
    assert_eq!(
        apns.expiration_date_time.unwrap().to_rfc3339(),
        "2027-01-01T08:03:18.595820400+00:00"
    );
    let vpp: Vec<_> = graph.tenant(&t).intune().vpp_tokens().collect().await.unwrap();
    assert_eq!(vpp[0].state.as_deref(), Some("valid"));
    assert!(vpp[0].expiration_date_time.is_some());
    let dep: Vec<_> = graph.tenant(&t).intune().dep_onboarding().collect().await.unwrap();
    assert!(dep[0].token_expiration_date_time.is_some());
    // The same singleton at the top level reads too.
    let top: cipp_graph::model::ApplePushCertificate = cipp_graph::model::singleton(json!({
        "appleIdentifier": "a", "expirationDateTime": "2027-01-01T00:00:00Z"
    }))
    .unwrap();
    assert!(top.expiration_date_time.is_some());
}
