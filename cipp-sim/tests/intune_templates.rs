//! The simulator's Intune routes that template deploys need, answering as Graph does:
//! compliance scheduled actions and settings-catalog settings only with `$expand`,
//! `scheduleActionsForRules`, administrative template definition values
//! (`updateDefinitionValues`), settings a tenant does not offer refused, and the update,
//! reusable-setting and app collections.

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
