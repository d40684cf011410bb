//! Tenant-wide policy objects (`settings`) and devices: the exact request of every get and
//! update, the documented answers, Graph's error read into the error, and input refused
//! before anything is sent.
//!
//! Sources: "Get/Update authorizationPolicy", "Get/Update authenticationMethodsPolicy",
//! "Update smsAuthenticationMethodConfiguration", "Update hardwareOathAuthenticationMethodConfiguration"
//! (beta), "Create/Update adminConsentRequestPolicy", "Update crossTenantAccessPolicyConfigurationDefault",
//! "Update tenantAppManagementPolicy", "Update deviceRegistrationPolicy" (beta), "Update
//! externalIdentitiesPolicy" (beta), "Create/Update groupSetting", "Update domain", "Create
//! permissionGrantPolicy", "Create permissionGrantConditionSet in includes", "Update device",
//! "Get/Update insightsSettings" (beta, `organization/{id}/settings/peopleInsights`).

mod common;

use cipp_graph::settings::{
    directory_setting, directory_setting_change, explain_error, GraphSetting,
    GROUP_UNIFIED_SETTINGS, PASSWORD_RULE_SETTINGS,
};
use common::{contoso, ids, nothing_sent, on};
use serde_json::{json, Value};

const SETTING_ID: &str = "0c4cb2fa-4ab5-4c1f-a4c9-1ac59c2d5b12";
const DEVICE_ID: &str = "6a59ea83-02bd-468f-a40b-f2c3d1821983";
const ORG_ID: &str = "84841066-274d-4ec0-a5c1-276be684bdd3";

/// One object: where it is read, how it is changed and with which body.
struct Case {
    setting: GraphSetting,
    get: &'static str,
    answer: Value,
    update: &'static str,
    body: Value,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            setting: GraphSetting::AuthorizationPolicy,
            get: "GET /v1.0/policies/authorizationPolicy",
            answer: json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#policies/authorizationPolicy/$entity",
                "id": "authorizationPolicy", "allowInvitesFrom": "everyone",
                "defaultUserRolePermissions": {"allowedToCreateApps": true, "allowedToCreateTenants": true}}),
            update: "PATCH /v1.0/policies/authorizationPolicy",
            body: json!({"defaultUserRolePermissions": {"allowedToCreateTenants": false}}),
        },
        Case {
            setting: GraphSetting::AuthenticationMethodsPolicy,
            get: "GET /v1.0/policies/authenticationMethodsPolicy",
            answer: json!({"id": "authenticationMethodsPolicy", "registrationEnforcement": {
                "authenticationMethodsRegistrationCampaign": {"state": "default", "snoozeDurationInDays": 1}}}),
            update: "PATCH /v1.0/policies/authenticationMethodsPolicy",
            body: json!({"registrationEnforcement": {"authenticationMethodsRegistrationCampaign": {"state": "enabled"}}}),
        },
        Case {
            setting: GraphSetting::AuthenticationMethod("Sms".into()),
            get: "GET /v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/Sms",
            answer: json!({"@odata.type": "#microsoft.graph.smsAuthenticationMethodConfiguration", "id": "Sms", "state": "enabled"}),
            update: "PATCH /v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/Sms",
            body: json!({"@odata.type": "#microsoft.graph.smsAuthenticationMethodConfiguration", "state": "disabled"}),
        },
        Case {
            setting: GraphSetting::AuthenticationMethod("HardwareOath".into()),
            get: "GET /beta/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/HardwareOath",
            answer: json!({"@odata.type": "#microsoft.graph.hardwareOathAuthenticationMethodConfiguration", "id": "HardwareOath", "state": "disabled"}),
            update: "PATCH /beta/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/HardwareOath",
            body: json!({"@odata.type": "#microsoft.graph.hardwareOathAuthenticationMethodConfiguration", "state": "enabled"}),
        },
        Case {
            setting: GraphSetting::SecurityDefaults,
            get: "GET /v1.0/policies/identitySecurityDefaultsEnforcementPolicy",
            answer: json!({"id": "00000000-0000-0000-0000-000000000005", "isEnabled": false}),
            update: "PATCH /v1.0/policies/identitySecurityDefaultsEnforcementPolicy",
            body: json!({"isEnabled": true}),
        },
        Case {
            setting: GraphSetting::AdminConsentRequestPolicy,
            get: "GET /v1.0/policies/adminConsentRequestPolicy",
            answer: json!({"id": "adminConsentRequestPolicy", "isEnabled": false, "reviewers": [], "version": 0}),
            update: "PUT /v1.0/policies/adminConsentRequestPolicy",
            body: json!({"isEnabled": true, "notifyReviewers": true, "remindersEnabled": true, "requestDurationInDays": 30,
                "reviewers": [{"query": "/beta/roleManagement/directory/roleAssignments?$filter=roleDefinitionId eq '62e90394-69f5-4237-9190-012177145e10'",
                               "queryType": "MicrosoftGraph", "queryRoot": null}]}),
        },
        Case {
            setting: GraphSetting::CrossTenantAccessDefault,
            get: "GET /v1.0/policies/crossTenantAccessPolicy/default",
            answer: json!({"isServiceDefault": true, "inboundTrust": {"isMfaAccepted": false}}),
            update: "PATCH /v1.0/policies/crossTenantAccessPolicy/default",
            body: json!({"inboundTrust": {"isMfaAccepted": true}}),
        },
        Case {
            setting: GraphSetting::DefaultAppManagementPolicy,
            get: "GET /v1.0/policies/defaultAppManagementPolicy",
            answer: json!({"id": "00000000-0000-0000-0000-000000000000", "isEnabled": false}),
            update: "PATCH /v1.0/policies/defaultAppManagementPolicy",
            body: json!({"isEnabled": true, "applicationRestrictions": {"passwordCredentials": [
                {"restrictionType": "passwordLifetime", "state": "enabled", "maxLifetime": "P90D", "restrictForAppsCreatedAfterDateTime": "0001-01-01T00:00:00Z"}],
                "keyCredentials": []}}),
        },
        Case {
            setting: GraphSetting::DeviceRegistrationPolicy,
            get: "GET /beta/policies/deviceRegistrationPolicy",
            answer: json!({"id": "deviceRegistrationPolicy", "localAdminPassword": {"isEnabled": false}}),
            update: "PUT /beta/policies/deviceRegistrationPolicy",
            body: json!({"id": "deviceRegistrationPolicy", "userDeviceQuota": 50, "localAdminPassword": {"isEnabled": true}}),
        },
        Case {
            setting: GraphSetting::ExternalIdentitiesPolicy,
            get: "GET /beta/policies/externalIdentitiesPolicy",
            answer: json!({"allowExternalIdentitiesToLeave": true, "allowDeletedIdentitiesDataRemoval": false}),
            update: "PATCH /beta/policies/externalIdentitiesPolicy",
            body: json!({"allowExternalIdentitiesToLeave": false}),
        },
        Case {
            setting: GraphSetting::Domain("Contoso.com".into()),
            get: "GET /v1.0/domains/contoso.com",
            answer: json!({"id": "contoso.com", "isVerified": true, "passwordValidityPeriodInDays": null}),
            update: "PATCH /v1.0/domains/contoso.com",
            body: json!({"passwordValidityPeriodInDays": 2147483647, "passwordNotificationWindowInDays": 14}),
        },
    ]
}

#[tokio::test]
async fn every_object_is_read_and_changed_with_its_own_request() {
    for case in cases() {
        let (server, t) = contoso().await;
        let name = case.setting.name();
        on(&server, case.get).reply(200, case.answer.clone()).await;
        on(&server, case.update).body(case.body.clone()).reply(204, Value::Null).await;
        let read = t.settings().get(&case.setting).await.unwrap();
        assert_eq!(read, case.answer, "{name}: the object as Graph sent it");
        t.settings().update(&case.setting, &case.body).await.unwrap();
        assert_eq!(common::sent(&server).await, 2, "{name}");
    }
}

#[tokio::test]
async fn people_insights_are_read_and_patched_at_the_organization_path() {
    let (server, t) = contoso().await;
    let path = format!("/beta/organization/{ORG_ID}/settings/peopleInsights");
    let answer = json!({
        "@odata.context": format!("https://graph.microsoft.com/beta/$metadata#organization('{ORG_ID}')/settings/peopleInsights/$entity"),
        "isEnabledInOrganization": true, "disabledForGroup": null});
    on(&server, &format!("GET {path}")).reply(200, answer.clone()).await;
    on(&server, &format!("PATCH {path}"))
        .header("content-type", "application/json")
        .body(json!({"isEnabledInOrganization": false}))
        .reply(204, Value::Null)
        .await;
    // The id is sent lower case, however it was given.
    let setting = GraphSetting::PeopleInsights(ORG_ID.to_uppercase());
    assert_eq!(setting.path(), path);
    assert_eq!(setting.update_method(), http::Method::PATCH);
    assert_eq!(setting.name(), "people insights settings");
    let read = t.settings().get(&setting).await.unwrap();
    assert_eq!(read, answer);
    t.settings().update(&setting, &json!({"isEnabledInOrganization": false})).await.unwrap();
    assert_eq!(common::sent(&server).await, 2);
    let sent = common::received(&server, "PATCH", &path).await;
    assert_eq!(sent, json!({"isEnabledInOrganization": false}), "exactly the one property");
}

#[tokio::test]
async fn people_insights_refused_without_global_admin_says_what_to_do() {
    let (server, t) = contoso().await;
    let path = format!("/beta/organization/{ORG_ID}/settings/peopleInsights");
    on(&server, &format!("GET {path}"))
        .fail(403, "UnknownError", "Tenant admin role is required")
        .await;
    let setting = GraphSetting::PeopleInsights(ORG_ID.into());
    let err = t.settings().get(&setting).await.unwrap_err();
    let cipp_core::Error::Api(api) = &err else { panic!("not an API error: {err:?}") };
    assert_eq!(api.status.as_u16(), 403);
    assert_eq!(api.code, "UnknownError");
    assert_eq!(err.request_id(), Some("rid-1"));
    assert!(api.message.contains("Tenant admin role is required"), "{}", api.message);

    // Explained: the same error (status, code, request id) saying which role to give.
    let explained = explain_error(&setting, err);
    let text = explained.to_string();
    assert!(text.contains("Global Administrator") && text.contains("CIPP-SAM"), "{text}");
    assert!(text.contains("Tenant admin role is required"), "{text}");
    assert_eq!(explained.status().map(|s| s.as_u16()), Some(403));
    assert_eq!(explained.request_id(), Some("rid-1"));
    // Other settings' errors, and other statuses, are left as they were.
    let other = cipp_core::Error::Config("x".into());
    assert_eq!(
        explain_error(&GraphSetting::AuthorizationPolicy, other).to_string(),
        "configuration: x"
    );
}

#[tokio::test]
async fn people_insights_need_the_organization_guid() {
    let (server, t) = contoso().await;
    for bad in ["contoso.onmicrosoft.com", "../users", "", "84841066-274d-4ec0-a5c1"] {
        let setting = GraphSetting::PeopleInsights(bad.into());
        let err = t.settings().get(&setting).await.unwrap_err();
        assert!(matches!(err, cipp_core::Error::InvalidInput { .. }), "{bad}: {err}");
        assert!(err.to_string().contains("organization id"), "{err}");
        let change = json!({"isEnabledInOrganization": false});
        assert!(t.settings().update(&setting, &change).await.is_err(), "{bad}");
    }
    nothing_sent(&server).await;
}

#[tokio::test]
async fn directory_settings_are_one_listing_patched_by_id_or_created_from_a_template() {
    let (server, t) = contoso().await;
    let listing = json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#groupSettings", "value": [
        {"id": SETTING_ID, "displayName": "Password Rule Settings", "templateId": PASSWORD_RULE_SETTINGS, "values": [
            {"name": "LockoutThreshold", "value": "10"}, {"name": "LockoutDurationInSeconds", "value": "60"}]}]});
    on(&server, "GET /v1.0/groupSettings").reply(200, listing).await;
    let patch = json!({"values": [{"name": "LockoutThreshold", "value": "5"}, {"name": "LockoutDurationInSeconds", "value": "60"}]});
    on(&server, &format!("PATCH /v1.0/groupSettings/{SETTING_ID}"))
        .body(patch)
        .reply(204, Value::Null)
        .await;
    let create = json!({"templateId": GROUP_UNIFIED_SETTINGS, "values": [{"name": "EnableGroupCreation", "value": "false"}]});
    on(&server, "POST /v1.0/groupSettings").body(create).reply(201, json!({"id": "x"})).await;

    let all = t.settings().get(&GraphSetting::DirectorySettings).await.unwrap();
    assert!(all.is_array(), "the listing's items: {all}");
    let rules = directory_setting(&all, PASSWORD_RULE_SETTINGS);
    let change = directory_setting_change(
        rules,
        PASSWORD_RULE_SETTINGS,
        &[("LockoutThreshold", "5".into())],
    );
    t.settings().update(&GraphSetting::DirectorySettings, &change).await.unwrap();
    let unified = directory_setting(&all, GROUP_UNIFIED_SETTINGS);
    assert!(unified.is_none());
    let change = directory_setting_change(
        unified,
        GROUP_UNIFIED_SETTINGS,
        &[("EnableGroupCreation", "false".into())],
    );
    t.settings().update(&GraphSetting::DirectorySettings, &change).await.unwrap();
}

#[tokio::test]
async fn permission_grant_policy_created_with_includes() {
    let (server, t) = contoso().await;
    let policy = GraphSetting::PermissionGrantIncludes("cipp-consent-policy".into());
    on(&server, "GET /v1.0/policies/permissionGrantPolicies/cipp-consent-policy/includes")
        .reply(200, json!({"value": [{"id": "i1", "permissionType": "delegated", "clientApplicationIds": ["all"]}]}))
        .await;
    on(&server, "POST /v1.0/policies/permissionGrantPolicies")
        .body(json!({"id": "cipp-consent-policy", "displayName": "Application Consent Policy", "description": "d"}))
        .reply(201, json!({"id": "cipp-consent-policy"}))
        .await;
    let include = json!({"permissionType": "delegated", "permissionClassification": "all",
        "clientApplicationIds": ["00b41c95-dab0-4487-9791-b9d2c32c80f2"]});
    on(&server, "POST /v1.0/policies/permissionGrantPolicies/cipp-consent-policy/includes")
        .body(include.clone())
        .reply(201, json!({"id": "i2"}))
        .await;
    let includes = t.settings().get(&policy).await.unwrap();
    assert_eq!(includes[0]["id"], "i1");
    let created = t
        .settings()
        .create_permission_grant_policy("cipp-consent-policy", "Application Consent Policy", "d")
        .await
        .unwrap();
    assert_eq!(created["id"], "cipp-consent-policy");
    let added =
        t.settings().add_permission_grant_include("cipp-consent-policy", &include).await.unwrap();
    assert_eq!(added["id"], "i2");
}

#[tokio::test]
async fn graph_errors_keep_status_code_and_request_id() {
    let (server, t) = contoso().await;
    on(&server, "PATCH /v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/Voice")
        .fail(400, "BadRequest", "The property 'nope' does not exist on type 'microsoft.graph.voiceAuthenticationMethodConfiguration'.")
        .await;
    let body = json!({"@odata.type": "#microsoft.graph.voiceAuthenticationMethodConfiguration", "nope": 1});
    let err = t
        .settings()
        .update(&GraphSetting::AuthenticationMethod("Voice".into()), &body)
        .await
        .unwrap_err();
    let cipp_core::Error::Api(api) = &err else { panic!("not an API error: {err:?}") };
    assert_eq!(api.status.as_u16(), 400);
    assert_eq!(api.code, "BadRequest");
    assert_eq!(err.request_id(), Some("rid-1"));
    assert!(api.message.contains("nope"), "{}", api.message);

    on(&server, "GET /v1.0/policies/permissionGrantPolicies/missing/includes")
        .fail(404, "ResourceNotFound", "Resource not found.")
        .await;
    let err = t
        .settings()
        .get(&GraphSetting::PermissionGrantIncludes("missing".into()))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

#[tokio::test]
async fn invalid_input_is_refused_before_sending() {
    let (server, t) = contoso().await;
    let err =
        t.settings().get(&GraphSetting::AuthenticationMethod("Sms2".into())).await.unwrap_err();
    assert!(err.to_string().contains("Sms2"), "{err}");
    let err = t
        .settings()
        .update(
            &GraphSetting::AuthenticationMethod("PhoneCall".into()),
            &json!({"state": "disabled"}),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("PhoneCall"), "{err}");
    // The method's type is required in a change, and must be its own.
    let wrong = json!({"@odata.type": "#microsoft.graph.voiceAuthenticationMethodConfiguration", "state": "disabled"});
    assert!(t
        .settings()
        .update(&GraphSetting::AuthenticationMethod("Sms".into()), &wrong)
        .await
        .is_err());
    assert!(t.settings().update(&GraphSetting::AuthorizationPolicy, &json!([1])).await.is_err());
    assert!(t.settings().get(&GraphSetting::Domain("contoso.com/../users".into())).await.is_err());
    let no_template = json!({"values": [{"name": "EnableGroupCreation", "value": "false"}]});
    assert!(t.settings().update(&GraphSetting::DirectorySettings, &no_template).await.is_err());
    let bad_id = json!({"id": "../x", "values": []});
    assert!(t.settings().update(&GraphSetting::DirectorySettings, &bad_id).await.is_err());
    let includes = GraphSetting::PermissionGrantIncludes("cipp-consent-policy".into());
    assert!(t.settings().update(&includes, &json!({})).await.is_err());
    assert!(t
        .settings()
        .add_permission_grant_include("cipp consent", &json!({"permissionType": "delegated"}))
        .await
        .is_err());
    assert!(t.devices().set_account_enabled("not-a-guid", false).await.is_err());
    assert!(t.devices().delete("../users/x").await.is_err());
    nothing_sent(&server).await;
}

#[tokio::test]
async fn devices_listed_disabled_and_deleted() {
    let (server, t) = contoso().await;
    on(
        &server,
        "GET /v1.0/devices?$select=id,displayName,accountEnabled,approximateLastSignInDateTime",
    )
    .reply(
        200,
        json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#devices", "value": [
            {"id": DEVICE_ID, "displayName": "PC-0042", "accountEnabled": true,
             "approximateLastSignInDateTime": "2024-01-02T03:04:05Z", "isCompliant": true}]}),
    )
    .await;
    on(&server, &format!("PATCH /v1.0/devices/{DEVICE_ID}"))
        .body(json!({"accountEnabled": false}))
        .reply(204, Value::Null)
        .await;
    on(&server, &format!("DELETE /v1.0/devices/{DEVICE_ID}")).reply(204, Value::Null).await;
    let devices = t
        .devices()
        .list()
        .select(["id", "displayName", "accountEnabled", "approximateLastSignInDateTime"])
        .await
        .unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].display_name.as_deref(), Some("PC-0042"));
    assert!(devices[0].approximate_last_sign_in_date_time.is_some());
    assert_eq!(devices[0].extra["isCompliant"], true, "unknown properties kept");
    t.devices().set_account_enabled(&DEVICE_ID.to_uppercase(), false).await.unwrap();
    t.devices().delete(DEVICE_ID).await.unwrap();
}

// Generic collections (`collections`): raw JSON objects in a collection named by path.

const ENROLLMENT: &str = "/beta/deviceManagement/deviceEnrollmentConfigurations";

fn enrollment() -> cipp_graph::collections::CollectionPath {
    cipp_graph::collections::CollectionPath::parse(
        "beta/deviceManagement/deviceEnrollmentConfigurations",
    )
    .unwrap()
}

#[tokio::test]
async fn collections_list_every_page_get_create_and_patch_exactly() {
    let (server, t) = contoso().await;
    let limit = json!({"@odata.type": "#microsoft.graph.deviceEnrollmentLimitConfiguration",
                       "id": "c1_Limit", "displayName": "Limit", "limit": 5, "priority": 1});
    let next = format!("{}{ENROLLMENT}?$skiptoken=p2", server.uri());
    on(&server, &format!("GET {ENROLLMENT}?$select=id,displayName"))
        .header("authorization", "Bearer test-token")
        .reply(200, json!({"@odata.context": "x", "@odata.nextLink": next, "value": [limit]}))
        .await;
    on(&server, &format!("GET {ENROLLMENT}?$skiptoken=p2"))
        .reply(200, json!({"value": [{"id": "c2", "displayName": "Second"}]}))
        .await;
    let all = t.collections().list(&enrollment()).select(["id", "displayName"]).await.unwrap();
    assert_eq!(ids(&Value::Array(all)), vec!["c1_Limit", "c2"]);

    on(&server, &format!("GET {ENROLLMENT}/c1_Limit")).reply(200, limit.clone()).await;
    assert_eq!(t.collections().get(&enrollment(), "c1_Limit").await.unwrap(), limit);

    let new = json!({"@odata.type": "#microsoft.graph.deviceEnrollmentLimitConfiguration",
                     "displayName": "Limit 3", "limit": 3});
    on(&server, &format!("POST {ENROLLMENT}"))
        .header("content-type", "application/json")
        .body(new.clone())
        .reply(201, json!({"id": "c3", "displayName": "Limit 3", "limit": 3}))
        .await;
    let made = t.collections().create(&enrollment(), &new).await.unwrap();
    assert_eq!(made["id"], "c3");

    let change =
        json!({"@odata.type": "#microsoft.graph.deviceEnrollmentLimitConfiguration", "limit": 4});
    on(&server, &format!("PATCH {ENROLLMENT}/c3"))
        .body(change.clone())
        .reply(204, Value::Null)
        .await;
    t.collections().update(&enrollment(), "c3", &change).await.unwrap();

    on(&server, &format!("GET {ENROLLMENT}/gone"))
        .fail(404, "ResourceNotFound", "The enrollment configuration was not found.")
        .await;
    let err = t.collections().get(&enrollment(), "gone").await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert_eq!(err.request_id(), Some("rid-1"));
}

#[tokio::test]
async fn collection_paths_ids_and_bodies_are_refused_before_sending() {
    let (server, t) = contoso().await;
    for bad in [
        "https://evil.example/beta/users",
        "beta/users/../groups",
        "beta/users?$top=1",
        "/beta/users",
    ] {
        let err = cipp_graph::collections::CollectionPath::parse(bad).unwrap_err();
        assert!(matches!(err, cipp_core::Error::InvalidInput { .. }), "{bad}: {err}");
    }
    let c = enrollment();
    assert!(t.collections().get(&c, "../users").await.is_err());
    assert!(t.collections().create(&c, &json!(["not an object"])).await.is_err());
    assert!(t.collections().update(&c, "c1", &json!({})).await.is_err());
    assert!(t.collections().update(&c, "a/b", &json!({"limit": 1})).await.is_err());
    nothing_sent(&server).await;
}
