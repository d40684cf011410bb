//! Intune operations templates need: the update profile and policy collections, reusable
//! settings, `updateDefinitionValues`, `scheduleActionsForRules` and the compliance PATCH,
//! over the real HTTP path (exact requests, documented responses and errors).

mod common;

use cipp_graph::intune::{self, IntuneKind};
use cipp_graph::model::IntunePolicy;
use common::*;
use serde_json::json;
use wiremock::matchers::{body_json, method, path};
use wiremock::{Mock, ResponseTemplate};

const ID: &str = "3eb1b0c8-9b7c-4c8a-a2d5-4f1c6a7e9b10";
const DEF: &str = "8e0b0e8a-0000-4000-8000-0000000000a1";

#[tokio::test]
async fn new_collections_create_at_their_documented_paths() {
    let (server, graph) = client().await;
    let cases = [
        (IntuneKind::WindowsDriverUpdate, "/beta/deviceManagement/windowsDriverUpdateProfiles"),
        (
            IntuneKind::WindowsQualityUpdateProfile,
            "/beta/deviceManagement/windowsQualityUpdateProfiles",
        ),
        (
            IntuneKind::WindowsQualityUpdatePolicy,
            "/beta/deviceManagement/windowsQualityUpdatePolicies",
        ),
        (IntuneKind::ReusableSetting, "/beta/deviceManagement/reusablePolicySettings"),
        (
            IntuneKind::WindowsAppProtection,
            "/beta/deviceAppManagement/windowsManagedAppProtections",
        ),
        (
            IntuneKind::TargetedAppConfiguration,
            "/v1.0/deviceAppManagement/targetedManagedAppConfigurations",
        ),
    ];
    for (kind, p) in cases {
        Mock::given(method("POST"))
            .and(path(p))
            .and(body_json(json!({"displayName": "Made", "description": "d"})))
            .respond_with(ResponseTemplate::new(201).set_body_json(json!({
                "@odata.context": "https://graph.microsoft.com/beta/$metadata#entity",
                "id": ID, "displayName": "Made", "description": "d",
                "createdDateTime": "2024-01-01T00:00:00Z"
            })))
            .expect(1)
            .mount(&server)
            .await;
        let policy: IntunePolicy =
            serde_json::from_value(json!({"displayName": "Made", "description": "d"})).unwrap();
        let made = graph.tenant(&tenant()).intune().create(kind, &policy).await.unwrap();
        assert_eq!(made.id, ID, "{kind:?}");
        assert_eq!(kind.assignment_type().is_none(), kind == IntuneKind::ReusableSetting);
    }
}

#[tokio::test]
async fn definition_values_are_replaced_with_update_definition_values() {
    let (server, graph) = client().await;
    let body = json!({
        "added": [{"definition@odata.bind": format!("https://graph.microsoft.com/beta/deviceManagement/groupPolicyDefinitions('{DEF}')"),
                   "enabled": true, "presentationValues": []}],
        "updated": [],
        "deletedIds": ["a1"]
    });
    Mock::given(method("POST"))
        .and(path(format!(
            "/beta/deviceManagement/groupPolicyConfigurations/{ID}/updateDefinitionValues"
        )))
        .and(body_json(&body))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let intune = graph.tenant(&tenant()).intune();
    intune.update_definition_values(ID, &body).await.unwrap();

    // An added value without its definition binding, or an empty payload, is refused
    // before anything is sent.
    let unbound = json!({"added": [{"enabled": true}]});
    let err = intune.update_definition_values(ID, &unbound).await.unwrap_err();
    assert!(err.to_string().contains("definition@odata.bind"), "{err}");
    let err = intune.update_definition_values(ID, &json!({})).await.unwrap_err();
    assert!(err.to_string().contains("deletedIds"), "{err}");
}

#[tokio::test]
async fn compliance_patch_leaves_scheduled_actions_to_schedule_actions_for_rules() {
    let (server, graph) = client().await;
    let rules = json!([{"id": "r1", "ruleName": "PasswordRequired", "scheduledActionConfigurations": [
        {"actionType": "block", "gracePeriodHours": 12, "notificationTemplateId": "", "notificationMessageCCList": []}]}]);
    Mock::given(method("PATCH"))
        .and(path(format!("/v1.0/deviceManagement/deviceCompliancePolicies/{ID}")))
        .and(body_json(json!({
            "@odata.type": "#microsoft.graph.windows10CompliancePolicy",
            "displayName": "Windows baseline", "passwordRequired": true
        })))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!(
            "/v1.0/deviceManagement/deviceCompliancePolicies/{ID}/scheduleActionsForRules"
        )))
        .and(body_json(json!({"deviceComplianceScheduledActionForRules": [
            {"ruleName": "PasswordRequired", "scheduledActionConfigurations": [
                {"actionType": "block", "gracePeriodHours": 12, "notificationTemplateId": "", "notificationMessageCCList": []}]}
        ]})))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let intune = graph.tenant(&tenant()).intune();
    let policy: IntunePolicy = serde_json::from_value(json!({
        "@odata.type": "#microsoft.graph.windows10CompliancePolicy",
        "displayName": "Windows baseline", "passwordRequired": true,
        "scheduledActionsForRule": rules.clone()
    }))
    .unwrap();
    intune.update(IntuneKind::CompliancePolicy, ID, &policy).await.unwrap();
    let rules = rules.as_array().unwrap();
    intune.schedule_actions_for_rules(ID, rules).await.unwrap();
    let err = intune.schedule_actions_for_rules(ID, &[]).await.unwrap_err();
    assert!(err.to_string().contains("scheduled action"), "{err}");
}

#[tokio::test]
async fn a_refused_action_reads_graphs_error() {
    let (server, graph) = client().await;
    Mock::given(method("POST"))
        .and(path(format!(
            "/beta/deviceManagement/groupPolicyConfigurations/{ID}/updateDefinitionValues"
        )))
        .respond_with(graph_error(400, "BadRequest", "The group policy definition was not found."))
        .mount(&server)
        .await;
    let body = json!({"added": [], "updated": [], "deletedIds": ["x"]});
    let err =
        graph.tenant(&tenant()).intune().update_definition_values(ID, &body).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400));
    assert!(err.to_string().contains("not found"), "{err}");
    // The request value names the documented path.
    let op = intune::update_definition_values(&tenant(), ID, &body).unwrap();
    assert!(op.request().path().ends_with("/updateDefinitionValues"));
}
