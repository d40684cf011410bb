//! Entra ID policy objects on the simulator: a new tenant's documented defaults, `PATCH`
//! merging nested objects, `PUT` replacing whole, Graph's errors for unknown properties,
//! values out of range and unknown configurations, directory settings from templates,
//! domains, permission grant policies, devices, and all of it through `$batch`.

mod common;

use cipp_core::{ApiRequest, Audience, Error, Pipeline, RetryPolicy};
use cipp_sim::kit::TenantSeed;
use cipp_sim::Simulator;
use common::{pipeline_with, t};
use serde_json::{json, Value};

const T: &str = "northwind.onmicrosoft.com";
const METHODS: &str =
    "/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations";
const DEVICE: &str = "0d1e2f3a-0000-4000-8000-00000000dd01";

fn setup() -> (Simulator, Pipeline) {
    let sim = Simulator::builder()
        .tenant(TenantSeed::new(T, "Northwind").domain("northwind.com").directory(
            "devices",
            json!({"id": DEVICE, "deviceId": "d1", "displayName": "PC-1", "accountEnabled": true,
                   "approximateLastSignInDateTime": "2025-01-01T00:00:00Z", "operatingSystem": "Windows"}),
        ))
        .build();
    let p = pipeline_with(&sim, sim.client_credentials(), RetryPolicy::default());
    (sim, p)
}

async fn get(p: &Pipeline, path: &str) -> Value {
    p.send_json(ApiRequest::get(t(T), Audience::Graph, path))
        .await
        .unwrap()
}

fn write(method: &str, path: &str, body: Value) -> ApiRequest {
    let m = http::Method::from_bytes(method.as_bytes()).unwrap();
    ApiRequest::new(t(T), Audience::Graph, m, path)
        .json(&body)
        .unwrap()
}

async fn send(p: &Pipeline, method: &str, path: &str, body: Value) -> Result<u16, Error> {
    p.send(write(method, path, body))
        .await
        .map(|r| r.status.as_u16())
}

/// The status and message of the error a write answers.
async fn refused(p: &Pipeline, method: &str, path: &str, body: Value) -> (u16, String) {
    match send(p, method, path, body).await.unwrap_err() {
        Error::Api(a) => (a.status.as_u16(), a.message),
        other => panic!("not an API error: {other}"),
    }
}

#[tokio::test]
async fn a_new_tenant_has_the_documented_defaults() {
    let (_sim, p) = setup();
    let a = get(&p, "/v1.0/policies/authorizationPolicy").await;
    assert_eq!(
        a["@odata.context"],
        "https://graph.microsoft.com/v1.0/$metadata#policies/authorizationPolicy/$entity"
    );
    assert_eq!(a["allowInvitesFrom"], "everyone");
    assert_eq!(a["guestUserRoleId"], "10dae51f-b6af-4016-8d66-8c2a99b929b3");
    assert_eq!(a["defaultUserRolePermissions"]["allowedToCreateApps"], true);
    assert_eq!(
        a["defaultUserRolePermissions"]["allowedToCreateTenants"],
        true
    );
    let m = get(&p, "/v1.0/policies/authenticationMethodsPolicy").await;
    let campaign = &m["registrationEnforcement"]["authenticationMethodsRegistrationCampaign"];
    assert_eq!(campaign["state"], "default");
    let states: Vec<(String, String)> = m["authenticationMethodConfigurations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_owned(),
                c["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(states.len(), 10, "{states:?}");
    for (id, state) in [
        ("Sms", "enabled"),
        ("Fido2", "disabled"),
        ("QRCodePin", "disabled"),
    ] {
        assert!(
            states.contains(&(id.to_owned(), state.to_owned())),
            "{id}: {states:?}"
        );
    }
    let sms = get(&p, &format!("{METHODS}/sms")).await;
    assert_eq!(
        sms["@odata.type"],
        "#microsoft.graph.smsAuthenticationMethodConfiguration"
    );
    assert_eq!(
        get(&p, "/v1.0/policies/adminConsentRequestPolicy").await["isEnabled"],
        false
    );
    let ct = get(&p, "/v1.0/policies/crossTenantAccessPolicy/default").await;
    assert_eq!(ct["inboundTrust"]["isMfaAccepted"], false);
    assert_eq!(ct["isServiceDefault"], true);
    assert_eq!(
        get(&p, "/v1.0/policies/defaultAppManagementPolicy").await["isEnabled"],
        false
    );
    let drp = get(&p, "/beta/policies/deviceRegistrationPolicy").await;
    assert_eq!(drp["localAdminPassword"]["isEnabled"], false);
    assert_eq!(get(&p, "/v1.0/groupSettings").await["value"], json!([]));
    let templates = get(&p, "/v1.0/groupSettingTemplates").await;
    assert!(templates["value"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["displayName"] == "Password Rule Settings"));
    let d = get(&p, "/v1.0/domains/northwind.com").await;
    assert_eq!(d["passwordValidityPeriodInDays"], Value::Null);
    assert_eq!(
        get(
            &p,
            "/v1.0/policies/identitySecurityDefaultsEnforcementPolicy"
        )
        .await["isEnabled"],
        true
    );
}

#[tokio::test]
async fn patch_merges_nested_objects_and_refuses_unknown_properties_and_bad_values() {
    let (sim, p) = setup();
    let body = json!({"defaultUserRolePermissions": {"allowedToCreateApps": false}});
    assert_eq!(
        send(&p, "PATCH", "/v1.0/policies/authorizationPolicy", body)
            .await
            .unwrap(),
        204
    );
    let a = get(&p, "/beta/policies/authorizationPolicy/authorizationPolicy").await;
    assert_eq!(
        a["defaultUserRolePermissions"]["allowedToCreateApps"],
        false
    );
    assert_eq!(
        a["defaultUserRolePermissions"]["allowedToCreateTenants"], true,
        "kept"
    );
    let (status, msg) = refused(
        &p,
        "PATCH",
        "/v1.0/policies/authorizationPolicy",
        json!({"allowedToBeSilly": true}),
    )
    .await;
    assert_eq!(status, 400);
    assert!(msg.contains("'allowedToBeSilly' does not exist"), "{msg}");
    let nested = json!({"defaultUserRolePermissions": {"allowedToFly": false}});
    assert_eq!(
        refused(&p, "PATCH", "/v1.0/policies/authorizationPolicy", nested)
            .await
            .0,
        400
    );
    let (s, msg) = refused(
        &p,
        "PATCH",
        "/v1.0/policies/authorizationPolicy",
        json!({"allowInvitesFrom": "anyone"}),
    )
    .await;
    assert!(s == 400 && msg.contains("allowInvitesFrom"), "{msg}");
    let bad_role = json!({"guestUserRoleId": "00000000-0000-0000-0000-000000000000"});
    assert_eq!(
        refused(&p, "PATCH", "/v1.0/policies/authorizationPolicy", bad_role)
            .await
            .0,
        400
    );
    let grants = json!({"defaultUserRolePermissions": {"permissionGrantPoliciesAssigned": ["ManagePermissionGrantsForSelf.nope"]}});
    assert_eq!(
        refused(&p, "PATCH", "/v1.0/policies/authorizationPolicy", grants)
            .await
            .0,
        400
    );
    assert_eq!(
        get(&p, "/v1.0/policies/authorizationPolicy").await["allowInvitesFrom"],
        "everyone",
        "a refused change leaves the policy as it was"
    );
    let audits = sim
        .lock_state()
        .tenant(T)
        .unwrap()
        .logs
        .directory_audits
        .clone();
    assert!(audits
        .iter()
        .any(|a| a["activityDisplayName"] == "Update authorization policy"));

    let nudge = json!({"registrationEnforcement": {"authenticationMethodsRegistrationCampaign": {"state": "enabled", "snoozeDurationInDays": 3}}});
    send(
        &p,
        "PATCH",
        "/v1.0/policies/authenticationMethodsPolicy",
        nudge,
    )
    .await
    .unwrap();
    let c = get(&p, "/v1.0/policies/authenticationMethodsPolicy").await;
    let c = &c["registrationEnforcement"]["authenticationMethodsRegistrationCampaign"];
    assert_eq!(
        (c["state"].as_str(), c["snoozeDurationInDays"].as_i64()),
        (Some("enabled"), Some(3))
    );
    assert_eq!(c["includeTargets"][0]["id"], "all_users", "kept");
    let snooze = json!({"registrationEnforcement": {"authenticationMethodsRegistrationCampaign": {"snoozeDurationInDays": 15}}});
    assert_eq!(
        refused(
            &p,
            "PATCH",
            "/v1.0/policies/authenticationMethodsPolicy",
            snooze
        )
        .await
        .0,
        400
    );
}

#[tokio::test]
async fn method_configurations_need_their_type_and_unknown_ids_are_404() {
    let (sim, p) = setup();
    let (s, msg) = refused(
        &p,
        "PATCH",
        &format!("{METHODS}/Sms"),
        json!({"state": "disabled"}),
    )
    .await;
    assert!(s == 400 && msg.contains("@odata.type"), "{msg}");
    let wrong = json!({"@odata.type": "#microsoft.graph.voiceAuthenticationMethodConfiguration", "state": "disabled"});
    assert_eq!(
        refused(&p, "PATCH", &format!("{METHODS}/Sms"), wrong)
            .await
            .0,
        400
    );
    let ok = json!({"@odata.type": "#microsoft.graph.smsAuthenticationMethodConfiguration", "state": "disabled"});
    send(&p, "PATCH", &format!("{METHODS}/Sms"), ok)
        .await
        .unwrap();
    assert_eq!(
        get(&p, &format!("{METHODS}/Sms")).await["state"],
        "disabled"
    );
    let err = p
        .send(ApiRequest::get(
            t(T),
            Audience::Graph,
            format!("{METHODS}/Carrier-Pigeon"),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(404));
    let state = json!({"@odata.type": "#microsoft.graph.fido2AuthenticationMethodConfiguration", "state": "on"});
    assert_eq!(
        refused(&p, "PATCH", &format!("{METHODS}/Fido2"), state)
            .await
            .0,
        400
    );
    // Number matching is not a v1.0 feature setting.
    let nm = json!({"@odata.type": "#microsoft.graph.microsoftAuthenticatorAuthenticationMethodConfiguration",
        "featureSettings": {"numberMatchingRequiredState": {"state": "enabled"}}});
    assert_eq!(
        refused(
            &p,
            "PATCH",
            &format!("{METHODS}/MicrosoftAuthenticator"),
            nm
        )
        .await
        .0,
        400
    );
    let info = json!({"@odata.type": "#microsoft.graph.microsoftAuthenticatorAuthenticationMethodConfiguration",
        "featureSettings": {"displayAppInformationRequiredState": {"state": "enabled"}}});
    send(
        &p,
        "PATCH",
        &format!("{METHODS}/MicrosoftAuthenticator"),
        info,
    )
    .await
    .unwrap();
    let ma = get(&p, &format!("{METHODS}/MicrosoftAuthenticator")).await;
    assert_eq!(
        ma["featureSettings"]["displayAppInformationRequiredState"]["state"],
        "enabled"
    );
    assert_eq!(
        ma["featureSettings"]["displayAppInformationRequiredState"]["includeTarget"]["id"],
        "all_users"
    );
    assert_eq!(
        ma["featureSettings"]["companionAppAllowedState"]["state"],
        "default"
    );
    // The Temporary Access Pass configuration is the one TAP creation obeys.
    let tap = json!({"@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration",
        "isUsableOnce": true, "minimumLifetimeInMinutes": 60, "maximumLifetimeInMinutes": 480});
    send(&p, "PATCH", &format!("{METHODS}/TemporaryAccessPass"), tap)
        .await
        .unwrap();
    assert_eq!(
        sim.lock_state().tenant(T).unwrap().auth.tap_policy["isUsableOnce"],
        true
    );
    let bad = json!({"@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration",
        "minimumLifetimeInMinutes": 500});
    assert_eq!(
        refused(&p, "PATCH", &format!("{METHODS}/TemporaryAccessPass"), bad)
            .await
            .0,
        400
    );
}

#[tokio::test]
async fn put_policies_replace_whole_and_need_their_required_properties() {
    let (_sim, p) = setup();
    let path = "/v1.0/policies/adminConsentRequestPolicy";
    let (s, msg) = refused(&p, "PUT", path, json!({"notifyReviewers": true})).await;
    assert!(s == 400 && msg.contains("isEnabled"), "{msg}");
    let no_reviewers = json!({"isEnabled": true, "requestDurationInDays": 30, "reviewers": []});
    assert_eq!(refused(&p, "PUT", path, no_reviewers).await.0, 400);
    let body = json!({"isEnabled": true, "notifyReviewers": true, "remindersEnabled": true, "requestDurationInDays": 30,
        "reviewers": [{"query": "/beta/roleManagement/directory/roleAssignments?$filter=roleDefinitionId eq '62e90394-69f5-4237-9190-012177145e10'", "queryType": "MicrosoftGraph", "queryRoot": null}]});
    assert_eq!(send(&p, "PUT", path, body).await.unwrap(), 204);
    let now = get(&p, path).await;
    assert_eq!(
        (now["isEnabled"].as_bool(), now["version"].as_i64()),
        (Some(true), Some(1))
    );

    let drp = "/beta/policies/deviceRegistrationPolicy";
    let mut policy = get(&p, drp).await;
    policy["localAdminPassword"]["isEnabled"] = json!(true);
    assert_eq!(send(&p, "PUT", drp, policy.clone()).await.unwrap(), 200);
    assert_eq!(get(&p, drp).await["localAdminPassword"]["isEnabled"], true);
    let partial = json!({"localAdminPassword": {"isEnabled": false}});
    let (s, msg) = refused(&p, "PUT", drp, partial).await;
    assert!(s == 400 && msg.contains("required"), "{msg}");
    assert_eq!(
        refused(
            &p,
            "GET",
            "/v1.0/policies/deviceRegistrationPolicy",
            json!({})
        )
        .await
        .0,
        400,
        "beta only"
    );
}

#[tokio::test]
async fn directory_settings_come_from_templates() {
    let (_sim, p) = setup();
    let rules = "5cf42378-d67d-4f36-ba46-e8b86229381d";
    let create = json!({"templateId": rules, "values": [{"name": "BannedPasswordList", "value": "contoso\tnorthwind"},
        {"name": "LockoutThreshold", "value": "5"}]});
    assert_eq!(
        send(&p, "POST", "/v1.0/groupSettings", create.clone())
            .await
            .unwrap(),
        201
    );
    let all = get(&p, "/beta/settings").await;
    let s = &all["value"][0];
    assert_eq!(s["displayName"], "Password Rule Settings");
    let value = |n: &str| {
        s["values"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == n)
            .unwrap()["value"]
            .clone()
    };
    assert_eq!(value("LockoutThreshold"), "5");
    assert_eq!(
        value("LockoutDurationInSeconds"),
        "60",
        "the template's default"
    );
    let (s2, msg) = refused(&p, "POST", "/v1.0/groupSettings", create).await;
    assert!(s2 == 400 && msg.contains("conflicting"), "{msg}");
    let id = s["id"].as_str().unwrap().to_owned();
    let short = json!({"values": [{"name": "BannedPasswordList", "value": "abc"}]});
    let (s3, msg) = refused(&p, "PATCH", &format!("/v1.0/groupSettings/{id}"), short).await;
    assert!(s3 == 400 && msg.contains("between 4 and 16"), "{msg}");
    let many: Vec<String> = (0..1001).map(|i| format!("word{i:04}")).collect();
    let many = json!({"values": [{"name": "BannedPasswordList", "value": many.join("\t")}]});
    assert_eq!(
        refused(&p, "PATCH", &format!("/v1.0/groupSettings/{id}"), many)
            .await
            .0,
        400
    );
    let unknown = json!({"values": [{"name": "NoSuchValue", "value": "1"}]});
    assert_eq!(
        refused(&p, "PATCH", &format!("/v1.0/groupSettings/{id}"), unknown)
            .await
            .0,
        400
    );
    let patch = json!({"values": [{"name": "LockoutThreshold", "value": "7"}]});
    assert_eq!(
        send(&p, "PATCH", &format!("/v1.0/groupSettings/{id}"), patch)
            .await
            .unwrap(),
        204
    );
    let s = get(&p, &format!("/v1.0/groupSettings/{id}")).await;
    let value = |n: &str| {
        s["values"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == n)
            .unwrap()["value"]
            .clone()
    };
    assert_eq!(value("LockoutThreshold"), "7");
    assert_eq!(
        value("BannedPasswordList"),
        "",
        "a value left out goes back to its default"
    );
    let bad_template = json!({"templateId": "00000000-0000-0000-0000-000000000000", "values": []});
    assert_eq!(
        refused(&p, "POST", "/v1.0/groupSettings", bad_template)
            .await
            .0,
        400
    );
}

#[tokio::test]
async fn domains_permission_grant_policies_and_devices() {
    let (sim, p) = setup();
    let body =
        json!({"passwordValidityPeriodInDays": 2147483647, "passwordNotificationWindowInDays": 14});
    send(&p, "PATCH", "/v1.0/domains/northwind.com", body)
        .await
        .unwrap();
    let listed = get(&p, "/v1.0/domains").await;
    let d = listed["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == "northwind.com")
        .unwrap()
        .clone();
    assert_eq!(d["passwordValidityPeriodInDays"], 2147483647_i64);
    assert_eq!(
        refused(
            &p,
            "PATCH",
            "/v1.0/domains/northwind.com",
            json!({"passwordValidityPeriodInDays": 5})
        )
        .await
        .0,
        400
    );
    assert_eq!(
        refused(&p, "PATCH", "/v1.0/domains/nowhere.com", json!({}))
            .await
            .0,
        404
    );

    let includes = "/v1.0/policies/permissionGrantPolicies/cipp-consent-policy/includes";
    assert_eq!(refused(&p, "GET", includes, json!({})).await.0, 404);
    let policy = json!({"id": "cipp-consent-policy", "displayName": "Application Consent Policy", "description": "x"});
    assert_eq!(
        send(
            &p,
            "POST",
            "/v1.0/policies/permissionGrantPolicies",
            policy.clone()
        )
        .await
        .unwrap(),
        201
    );
    assert_eq!(
        refused(&p, "POST", "/v1.0/policies/permissionGrantPolicies", policy)
            .await
            .0,
        409
    );
    let include = json!({"permissionType": "delegated", "clientApplicationIds": ["00b41c95-dab0-4487-9791-b9d2c32c80f2"]});
    assert_eq!(send(&p, "POST", includes, include).await.unwrap(), 201);
    let got = get(&p, includes).await;
    assert_eq!(
        got["value"][0]["permissionClassification"], "all",
        "Graph's default"
    );
    assert_eq!(
        refused(&p, "POST", includes, json!({"permissionType": "sideways"}))
            .await
            .0,
        400
    );
    let assign = json!({"defaultUserRolePermissions": {"permissionGrantPoliciesAssigned": ["ManagePermissionGrantsForSelf.cipp-consent-policy"]}});
    send(&p, "PATCH", "/v1.0/policies/authorizationPolicy", assign)
        .await
        .unwrap();

    let path = format!("/v1.0/devices/{DEVICE}");
    send(&p, "PATCH", &path, json!({"accountEnabled": false}))
        .await
        .unwrap();
    assert_eq!(
        get(&p, "/v1.0/devices?$select=id,accountEnabled").await["value"][0]["accountEnabled"],
        false
    );
    let audits = sim
        .lock_state()
        .tenant(T)
        .unwrap()
        .logs
        .directory_audits
        .clone();
    assert!(audits
        .iter()
        .any(|a| a["activityDisplayName"] == "Update device"));
    send(&p, "DELETE", &path, json!({})).await.unwrap();
    assert_eq!(get(&p, "/v1.0/devices").await["value"], json!([]));
}

#[tokio::test]
async fn policies_are_reachable_through_batch() {
    let (_sim, p) = setup();
    let batch = json!({"requests": [
        {"id": "1", "method": "GET", "url": "/policies/authorizationPolicy"},
        {"id": "2", "method": "PATCH", "url": "/policies/crossTenantAccessPolicy/default",
         "headers": {"Content-Type": "application/json"}, "body": {"inboundTrust": {"isMfaAccepted": true}}},
        {"id": "3", "method": "GET", "url": "/policies/crossTenantAccessPolicy/default", "dependsOn": ["2"]},
        {"id": "4", "method": "GET", "url": "/groupSettings"}
    ]});
    let answer: Value = p
        .send_json(write("POST", "/v1.0/$batch", batch))
        .await
        .unwrap();
    let by_id = |id: &str| {
        answer["responses"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(by_id("1")["body"]["id"], "authorizationPolicy");
    assert_eq!(by_id("2")["status"], 204);
    assert_eq!(by_id("3")["body"]["inboundTrust"]["isMfaAccepted"], true);
    assert_eq!(by_id("3")["body"]["isServiceDefault"], false);
    assert_eq!(by_id("4")["body"]["value"], json!([]));
}
