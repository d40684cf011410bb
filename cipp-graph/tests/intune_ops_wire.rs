//! Intune operations templates need: the update profile and policy collections, reusable
//! settings, Windows Information Protection (assigned through `managedAppPolicies`),
//! `updateDefinitionValues`, `scheduleActionsForRules`, the compliance PATCH and the plain
//! text of encrypted OMA-URI settings, over the real HTTP path (exact requests, documented
//! responses and errors).

mod common;

use cipp_graph::intune::{self, AssignTarget, IntuneKind};
use cipp_graph::model::IntunePolicy;
use common::*;
use secrecy::ExposeSecret;
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
        (
            IntuneKind::MdmWindowsInformationProtection,
            "/v1.0/deviceAppManagement/mdmWindowsInformationProtectionPolicies",
        ),
        (
            IntuneKind::WindowsInformationProtection,
            "/v1.0/deviceAppManagement/windowsInformationProtectionPolicies",
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

const GROUP: &str = "0be2b0e8-8f6a-4b38-9e5c-3c9e6b1a2f11";

#[tokio::test]
async fn wip_policies_are_read_and_updated_at_their_collections() {
    let (server, graph) = contoso().await;
    let wip = "/v1.0/deviceAppManagement/mdmWindowsInformationProtectionPolicies";
    // The documented answer of a get: the object without `@odata.type` on a typed URL.
    on(&server, &format!("GET {wip}/{ID}"))
        .reply(
            200,
            json!({
                "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#deviceAppManagement/mdmWindowsInformationProtectionPolicies/$entity",
                "id": ID, "displayName": "WIP", "description": "", "version": "1",
                "createdDateTime": "2024-01-01T00:00:00Z", "lastModifiedDateTime": "2024-01-02T00:00:00Z",
                "enforcementLevel": "encryptAndAuditOnly", "enterpriseDomain": "contoso.com",
                "enterpriseProtectedDomainNames": [{"displayName": "d", "resources": ["contoso.com"]}],
                "isAssigned": false
            }),
        )
        .await;
    // PATCH sends values only: no `@odata.type`, no read-only fields.
    on(&server, &format!("PATCH {wip}/{ID}"))
        .body(json!({"displayName": "WIP", "enforcementLevel": "encryptAuditAndBlock"}))
        .reply(204, serde_json::Value::Null)
        .await;
    let intune = graph.intune();
    let got = intune.get(IntuneKind::MdmWindowsInformationProtection, ID).await.unwrap();
    assert_eq!(got.title(), "WIP");
    let policy: IntunePolicy = serde_json::from_value(json!({
        "@odata.type": "#microsoft.graph.mdmWindowsInformationProtectionPolicy",
        "displayName": "WIP", "enforcementLevel": "encryptAuditAndBlock", "isAssigned": true
    }))
    .unwrap();
    intune.update(IntuneKind::MdmWindowsInformationProtection, ID, &policy).await.unwrap();
    // A missing policy is Graph's 404.
    on(
        &server,
        &format!("GET /v1.0/deviceAppManagement/windowsInformationProtectionPolicies/{DEF}"),
    )
    .fail(404, "ResourceNotFound", "The Intune object was not found.")
    .await;
    let err = intune.get(IntuneKind::WindowsInformationProtection, DEF).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

#[tokio::test]
async fn wip_policies_are_assigned_through_managed_app_policies() {
    let (server, graph) = contoso().await;
    for (kind, collection) in [
        (IntuneKind::MdmWindowsInformationProtection, "mdmWindowsInformationProtectionPolicies"),
        (IntuneKind::WindowsInformationProtection, "windowsInformationProtectionPolicies"),
    ] {
        // Appending reads the current assignments from the policy's own collection.
        on(&server, &format!("GET /v1.0/deviceAppManagement/{collection}/{ID}/assignments"))
            .reply(
                200,
                json!({"value": [{"id": "a1", "source": "direct", "sourceId": ID, "target": {
                    "@odata.type": "#microsoft.graph.exclusionGroupAssignmentTarget",
                    "groupId": DEF}}]}),
            )
            .await;
        let op = intune::assign(&tenant(), kind, ID, &json!({"assignments": []})).unwrap();
        assert_eq!(
            op.request().path(),
            format!("/v1.0/deviceAppManagement/managedAppPolicies/{ID}/assign")
        );
    }
    let assign_body = json!({"assignments": [
        {"@odata.type": "#microsoft.graph.targetedManagedAppPolicyAssignment", "target": {
            "@odata.type": "#microsoft.graph.exclusionGroupAssignmentTarget", "groupId": DEF}},
        {"@odata.type": "#microsoft.graph.targetedManagedAppPolicyAssignment", "target": {
            "@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": GROUP}}
    ]});
    on(&server, &format!("POST /v1.0/deviceAppManagement/managedAppPolicies/{ID}/assign"))
        .body(assign_body)
        .times(2)
        .reply(204, serde_json::Value::Null)
        .await;
    let intune = graph.intune();
    let targets = [AssignTarget::Group(GROUP.to_owned())];
    for kind in
        [IntuneKind::MdmWindowsInformationProtection, IntuneKind::WindowsInformationProtection]
    {
        intune.assign(kind, ID, &targets, None, true).await.unwrap();
    }
    // An id that is not one is refused before anything is sent.
    let err =
        intune::assign(&tenant(), IntuneKind::WindowsInformationProtection, "a/b", &json!({}))
            .unwrap_err();
    assert!(err.to_string().contains("not an Intune object id"), "{err}");
}

const SID: &str = "7a7a7a7a-0000-4000-8000-00000000d0ff";

fn plain_text_route() -> String {
    format!(
        "GET /v1.0/deviceManagement/deviceConfigurations/{ID}/getOmaSettingPlainTextValue(secretReferenceValueId='{SID}')"
    )
}

#[tokio::test]
async fn oma_plain_text_is_read_as_a_secret() {
    let (server, graph) = contoso().await;
    on(&server, &plain_text_route())
        .header("authorization", "Bearer test-token")
        .reply(
            200,
            json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Edm.String",
                   "value": "s3cret-wifi-key"}),
        )
        .await;
    let secret = graph.intune().oma_setting_plain_text_value(ID, SID).await.unwrap();
    assert_eq!(secret.expose_secret(), "s3cret-wifi-key");
    assert!(!format!("{secret:?}").contains("s3cret"));
    // The request value names the documented function.
    let op = intune::oma_setting_plain_text_value(&tenant(), ID, SID).unwrap();
    assert!(op
        .request()
        .path()
        .ends_with(&format!("/getOmaSettingPlainTextValue(secretReferenceValueId='{SID}')")));
    assert!(!format!("{op:?}").contains("s3cret"));
}

#[tokio::test]
async fn oma_plain_text_errors_carry_graphs_answer_and_never_the_value() {
    let (server, graph) = contoso().await;
    on(&server, &plain_text_route())
        .fail(403, "Forbidden", "Application is not authorized to perform this operation.")
        .await;
    let intune = graph.intune();
    let err = intune.oma_setting_plain_text_value(ID, SID).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(403));
    assert_eq!(err.request_id(), Some("rid-1"));
    assert!(err.to_string().contains("not authorized"), "{err}");

    // An answer of another shape is a protocol error that does not quote the body.
    server.reset().await;
    on(&server, &plain_text_route()).reply(200, json!({"value": {"text": "s3cret-x"}})).await;
    let err = intune.oma_setting_plain_text_value(ID, SID).await.unwrap_err();
    assert!(err.to_string().contains("`value` is not a string"), "{err}");
    assert!(!err.to_string().contains("s3cret") && !format!("{err:?}").contains("s3cret"));
    server.reset().await;
    on(&server, &plain_text_route())
        .respond(wiremock::ResponseTemplate::new(200).set_body_string("s3cret-not-json"))
        .await;
    let err = intune.oma_setting_plain_text_value(ID, SID).await.unwrap_err();
    assert!(!err.to_string().contains("s3cret") && !format!("{err:?}").contains("s3cret"));

    // Ids that are not ones are refused before anything is sent.
    server.reset().await;
    for (config, sid) in [(ID, "x') or ('1"), (ID, ""), ("../x", SID)] {
        let err = intune.oma_setting_plain_text_value(config, sid).await.unwrap_err();
        assert!(err.status().is_none(), "{err}");
    }
    nothing_sent(&server).await;
}
