//! The simulator's Intune routes that template deploys need, answering as Graph does:
//! compliance scheduled actions and settings-catalog settings only with `$expand`,
//! `scheduleActionsForRules`, administrative template definition values
//! (`updateDefinitionValues`), settings a tenant does not offer refused, the update,
//! reusable-setting and app collections (Windows Information Protection assigned through
//! `managedAppPolicies`), and encrypted OMA-URI settings with `getOmaSettingPlainTextValue`.

mod common;

use cipp_core::{ApiRequest, Audience, Error, Pipeline};
use cipp_sim::kit::TenantSeed;
use cipp_sim::Simulator;
use common::*;
use serde_json::{json, Value};

const T: &str = "contoso.onmicrosoft.com";

fn setup() -> (Simulator, Pipeline) {
    let sim = Simulator::builder()
        .tenant(TenantSeed::new(T, "Contoso").domain("contoso.com"))
        .build();
    let p = pipeline_with(&sim, sim.client_credentials(), no_jitter());
    (sim, p)
}

async fn send(p: &Pipeline, verb: &str, path: &str, body: Value) -> Result<Value, Error> {
    let r = match verb {
        "POST" => ApiRequest::post(t(T), Audience::Graph, path),
        "PATCH" => ApiRequest::patch(t(T), Audience::Graph, path),
        _ => ApiRequest::put(t(T), Audience::Graph, path),
    };
    let resp = p.send(r.json(&body).unwrap()).await?;
    Ok(serde_json::from_slice(&resp.body).unwrap_or(Value::Null))
}

const COMPLIANCE: &str = "/v1.0/deviceManagement/deviceCompliancePolicies";

#[tokio::test]
async fn compliance_actions_are_kept_shown_with_expand_and_rescheduled() {
    let (_sim, p) = setup();
    let c = Client { p: &p, tenant: T };
    let made = send(&p, "POST", COMPLIANCE, json!({
        "@odata.type": "#microsoft.graph.windows10CompliancePolicy", "displayName": "Baseline",
        "scheduledActionsForRule": [{"ruleName": "PasswordRequired", "scheduledActionConfigurations": [
            {"actionType": "block", "gracePeriodHours": 0}]}]
    }))
    .await
    .unwrap();
    let id = made["id"].as_str().unwrap();
    let plain = c.get(&format!("{COMPLIANCE}/{id}")).await;
    assert!(plain.get("scheduledActionsForRule").is_none(), "{plain}");
    let listed = c.get(COMPLIANCE).await;
    assert!(listed["value"][0].get("scheduledActionsForRule").is_none());
    let expand = "$expand=scheduledActionsForRule($expand=scheduledActionConfigurations)";
    let full = c.get(&format!("{COMPLIANCE}/{id}?{expand}")).await;
    let rule = &full["scheduledActionsForRule"][0];
    assert!(rule["id"].is_string() && rule["scheduledActionConfigurations"][0]["id"].is_string());

    send(&p, "POST", &format!("{COMPLIANCE}/{id}/scheduleActionsForRules"), json!({
        "deviceComplianceScheduledActionForRules": [{"ruleName": "PasswordRequired", "scheduledActionConfigurations": [
            {"actionType": "block", "gracePeriodHours": 48}]}]
    }))
    .await
    .unwrap();
    let full = c.get(&format!("{COMPLIANCE}?{expand}")).await;
    assert_eq!(
        full["value"][0]["scheduledActionsForRule"][0]["scheduledActionConfigurations"][0]
            ["gracePeriodHours"],
        json!(48)
    );
    // Without scheduled actions Graph refuses the policy.
    let err = send(
        &p,
        "POST",
        COMPLIANCE,
        json!({
            "@odata.type": "#microsoft.graph.windows10CompliancePolicy", "displayName": "No actions"
        }),
    )
    .await
    .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400));
}

const CATALOG: &str = "/beta/deviceManagement/configurationPolicies";

fn setting(definition: &str) -> Value {
    json!({"settingInstance": {"@odata.type": "#microsoft.graph.deviceManagementConfigurationChoiceSettingInstance",
        "settingDefinitionId": definition, "choiceSettingValue": {"value": format!("{definition}_1"), "children": []}}})
}

#[tokio::test]
async fn settings_show_with_expand_and_settings_not_offered_are_refused_by_name() {
    let (sim, p) = setup();
    let c = Client { p: &p, tenant: T };
    {
        let mut st = sim.lock_state();
        let tenant = st.tenants.values_mut().next().unwrap();
        tenant
            .intune
            .unavailable_settings
            .push("vendor_gone".into());
    }
    let err = send(
        &p,
        "POST",
        CATALOG,
        json!({"name": "Edge", "settings": [setting("vendor_ok"), setting("vendor_gone")]}),
    )
    .await
    .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400));
    assert!(err.to_string().contains("vendor_gone"), "{err}");
    assert!(!err.to_string().contains("vendor_ok"), "{err}");

    let made = send(
        &p,
        "POST",
        CATALOG,
        json!({"name": "Edge", "settings": [setting("vendor_ok")]}),
    )
    .await
    .unwrap();
    let id = made["id"].as_str().unwrap();
    assert!(c
        .get(&format!("{CATALOG}/{id}"))
        .await
        .get("settings")
        .is_none());
    let full = c.get(&format!("{CATALOG}/{id}?$expand=settings")).await;
    assert_eq!(
        full["settings"][0]["settingInstance"]["settingDefinitionId"],
        json!("vendor_ok")
    );
    // PUT replaces the whole policy with its settings.
    send(
        &p,
        "PUT",
        &format!("{CATALOG}/{id}"),
        json!({"name": "Edge", "settings": [setting("vendor_new")]}),
    )
    .await
    .unwrap();
    let settings = c.get(&format!("{CATALOG}/{id}/settings")).await;
    assert_eq!(
        settings["value"][0]["settingInstance"]["settingDefinitionId"],
        json!("vendor_new")
    );
}

const ADMX: &str = "/beta/deviceManagement/groupPolicyConfigurations";
const DEF: &str = "8e0b0e8a-0000-4000-8000-0000000000a1";
const PRES: &str = "8e0b0e8a-0000-4000-8000-0000000000b1";

#[tokio::test]
async fn definition_values_are_added_and_deleted_with_update_definition_values() {
    let (_sim, p) = setup();
    let c = Client { p: &p, tenant: T };
    let made = send(
        &p,
        "POST",
        ADMX,
        json!({"displayName": "Edge ADMX", "roleScopeTagIds": ["0"]}),
    )
    .await
    .unwrap();
    let id = made["id"].as_str().unwrap();
    let bind = format!(
        "https://graph.microsoft.com/beta/deviceManagement/groupPolicyDefinitions('{DEF}')"
    );
    send(&p, "POST", &format!("{ADMX}/{id}/updateDefinitionValues"), json!({
        "added": [{"definition@odata.bind": bind, "enabled": true, "presentationValues": [
            {"@odata.type": "#microsoft.graph.groupPolicyPresentationValueText", "value": "https://intranet",
             "presentation@odata.bind": format!("{bind}/presentations('{PRES}')")}]}],
        "updated": [], "deletedIds": []
    }))
    .await
    .unwrap();
    let values = c
        .get(&format!("{ADMX}/{id}/definitionValues?$expand=definition,presentationValues($expand=presentation)"))
        .await;
    let v = &values["value"][0];
    assert_eq!(v["definition"]["id"], json!(DEF));
    assert_eq!(
        v["presentationValues"][0]["presentation"]["id"],
        json!(PRES)
    );
    assert_eq!(
        v["presentationValues"][0]["value"],
        json!("https://intranet")
    );
    let dv = v["id"].as_str().unwrap();
    send(
        &p,
        "POST",
        &format!("{ADMX}/{id}/updateDefinitionValues"),
        json!({"added": [], "updated": [], "deletedIds": [dv]}),
    )
    .await
    .unwrap();
    let values = c.get(&format!("{ADMX}/{id}/definitionValues")).await;
    assert_eq!(values["value"], json!([]));
    // An added value must bind its definition.
    let err = send(
        &p,
        "POST",
        &format!("{ADMX}/{id}/updateDefinitionValues"),
        json!({"added": [{"enabled": true}]}),
    )
    .await
    .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400));
}

#[tokio::test]
async fn update_reusable_and_app_collections_are_served() {
    let (_sim, p) = setup();
    let c = Client { p: &p, tenant: T };
    for collection in [
        "/beta/deviceManagement/windowsDriverUpdateProfiles",
        "/beta/deviceManagement/windowsQualityUpdateProfiles",
        "/beta/deviceManagement/windowsQualityUpdatePolicies",
        "/beta/deviceManagement/reusablePolicySettings",
        "/beta/deviceAppManagement/windowsManagedAppProtections",
        "/v1.0/deviceAppManagement/targetedManagedAppConfigurations",
        "/v1.0/deviceAppManagement/mdmWindowsInformationProtectionPolicies",
        "/v1.0/deviceAppManagement/windowsInformationProtectionPolicies",
    ] {
        let made = send(&p, "POST", collection, json!({"displayName": "Made"}))
            .await
            .unwrap();
        let id = made["id"].as_str().unwrap();
        assert_eq!(
            c.get(&format!("{collection}/{id}")).await["displayName"],
            json!("Made"),
            "{collection}"
        );
        assert_eq!(
            c.get(collection).await["value"].as_array().unwrap().len(),
            1,
            "{collection}"
        );
    }
    let err = send(
        &p,
        "POST",
        "/beta/deviceManagement/reusablePolicySettings",
        json!({"description": "no name"}),
    )
    .await
    .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400));
}

const ENROLLMENT: &str = "/beta/deviceManagement/deviceEnrollmentConfigurations";

#[tokio::test]
async fn enrollment_configurations_are_served_as_a_polymorphic_collection() {
    let (_sim, p) = setup();
    let c = Client { p: &p, tenant: T };
    // Abstract entity: the type must be named; a display name is required.
    for body in [
        json!({"displayName": "Limit"}),
        json!({"@odata.type": "#microsoft.graph.deviceEnrollmentLimitConfiguration", "limit": 5}),
    ] {
        let err = send(&p, "POST", ENROLLMENT, body).await.unwrap_err();
        assert_eq!(err.status().map(|s| s.as_u16()), Some(400), "{err}");
    }
    let made = send(
        &p,
        "POST",
        ENROLLMENT,
        json!({"@odata.type": "#microsoft.graph.deviceEnrollmentLimitConfiguration",
               "displayName": "Limit 5", "limit": 5}),
    )
    .await
    .unwrap();
    let id = made["id"].as_str().unwrap().to_owned();
    assert_eq!(made["version"], json!(1));
    assert_eq!(made["roleScopeTagIds"], json!(["0"]));
    assert!(made["createdDateTime"].is_string());

    // PATCH changes what it names and bumps the version; the type cannot change.
    let patch = |body: Value| {
        ApiRequest::patch(t(T), Audience::Graph, format!("{ENROLLMENT}/{id}"))
            .json(&body)
            .unwrap()
    };
    let r = p
        .send(patch(json!({"@odata.type": "#microsoft.graph.deviceEnrollmentLimitConfiguration", "limit": 7})))
        .await
        .unwrap();
    assert_eq!(r.status.as_u16(), 204);
    let back = c.get(&format!("{ENROLLMENT}/{id}")).await;
    assert_eq!(
        (back["limit"].clone(), back["version"].clone()),
        (json!(7), json!(2))
    );
    let err = p
        .send(patch(json!({"@odata.type": "#microsoft.graph.windows10EnrollmentCompletionPageConfiguration"})))
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400));

    // Listed on both versions; an unknown id is Intune's 404.
    for version in ["beta", "v1.0"] {
        let listed = c
            .get(&format!(
                "/{version}/deviceManagement/deviceEnrollmentConfigurations"
            ))
            .await;
        assert_eq!(listed["value"][0]["displayName"], json!("Limit 5"));
    }
    let missing = c.get_err(&format!("{ENROLLMENT}/nope")).await;
    assert_eq!(missing.status().map(|s| s.as_u16()), Some(404));
}

#[tokio::test]
async fn wip_policies_are_assigned_through_managed_app_policies() {
    let (_sim, p) = setup();
    let c = Client { p: &p, tenant: T };
    let wip = "/v1.0/deviceAppManagement/mdmWindowsInformationProtectionPolicies";
    let made = send(
        &p,
        "POST",
        wip,
        json!({"displayName": "WIP", "enforcementLevel": "encryptAndAuditOnly"}),
    )
    .await
    .unwrap();
    let id = made["id"].as_str().unwrap();
    let body = json!({"assignments": [{"@odata.type": "#microsoft.graph.targetedManagedAppPolicyAssignment",
        "target": {"@odata.type": "#microsoft.graph.allLicensedUsersAssignmentTarget"}}]});
    send(
        &p,
        "POST",
        &format!("/v1.0/deviceAppManagement/managedAppPolicies/{id}/assign"),
        body,
    )
    .await
    .unwrap();
    // Read from the policy's own collection.
    let assigned = c.get(&format!("{wip}/{id}/assignments")).await;
    assert_eq!(
        assigned["value"][0]["target"]["@odata.type"],
        json!("#microsoft.graph.allLicensedUsersAssignmentTarget")
    );
    // An id no app policy has is Graph's 404.
    let err = send(
        &p,
        "POST",
        "/v1.0/deviceAppManagement/managedAppPolicies/00000000-0000-4000-8000-000000000000/assign",
        json!({"assignments": []}),
    )
    .await
    .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(404));
}

const CONFIGS: &str = "/v1.0/deviceManagement/deviceConfigurations";

#[tokio::test]
async fn oma_settings_read_encrypted_and_their_plain_text_is_served() {
    let (_sim, p) = setup();
    let c = Client { p: &p, tenant: T };
    let made = send(&p, "POST", CONFIGS, json!({
        "@odata.type": "#microsoft.graph.windows10CustomConfiguration", "displayName": "Wi-Fi",
        "omaSettings": [
            {"@odata.type": "#microsoft.graph.omaSettingString", "omaUri": "./A", "isEncrypted": false, "value": "psk"},
            {"@odata.type": "#microsoft.graph.omaSettingStringXml", "omaUri": "./B", "value": "PGEvPg=="},
            {"@odata.type": "#microsoft.graph.omaSettingInteger", "omaUri": "./C", "value": 1}
        ]
    }))
    .await
    .unwrap();
    let id = made["id"].as_str().unwrap();
    for read in [
        c.get(&format!("{CONFIGS}/{id}")).await,
        c.get(CONFIGS).await["value"][0].clone(),
    ] {
        let s = &read["omaSettings"];
        assert_eq!(s[0]["isEncrypted"], json!(true), "{read}");
        assert_eq!(s[0]["value"], json!("****"));
        assert_eq!(s[1]["value"], json!("PGEvPg=="));
        assert!(s[1]["secretReferenceValueId"].is_string());
        assert_eq!(s[2]["value"], json!(1));
        assert!(s[2].get("secretReferenceValueId").is_none());
    }
    let read = c.get(&format!("{CONFIGS}/{id}")).await;
    let sid = |i: usize| {
        read["omaSettings"][i]["secretReferenceValueId"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let plain = |sid: String| {
        format!("{CONFIGS}/{id}/getOmaSettingPlainTextValue(secretReferenceValueId='{sid}')")
    };
    let text = c.get(&plain(sid(0))).await;
    assert_eq!(text["value"], json!("psk"));
    assert!(text["@odata.context"]
        .as_str()
        .unwrap()
        .ends_with("$metadata#Edm.String"));
    // An XML setting's plain text is the XML, not its base64.
    assert_eq!(c.get(&plain(sid(1))).await["value"], json!("<a/>"));
    let err = c
        .get_err(&plain("5e5e5e5e-0000-4000-8000-000000000000".into()))
        .await;
    assert_eq!(err.status().map(|s| s.as_u16()), Some(404));

    // Sending a setting back as read keeps its value; a new value replaces it.
    let mut settings = read["omaSettings"].clone();
    settings[1]["value"] = json!("PGIvPg==");
    settings[1]["isEncrypted"] = json!(false);
    send(
        &p,
        "PATCH",
        &format!("{CONFIGS}/{id}"),
        json!({
            "@odata.type": "#microsoft.graph.windows10CustomConfiguration", "omaSettings": settings
        }),
    )
    .await
    .unwrap();
    assert_eq!(c.get(&plain(sid(0))).await["value"], json!("psk"));
    assert_eq!(c.get(&plain(sid(1))).await["value"], json!("<b/>"));
}
