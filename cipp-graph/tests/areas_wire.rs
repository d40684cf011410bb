//! Groups, authentication methods, audit, directory and mail over the real HTTP path.

mod common;

use chrono::{TimeZone, Utc};
use cipp_core::Outcome;
use cipp_graph::audit::{AuditFilter, SignInFilter};
use cipp_graph::auth_methods;
use cipp_graph::model::{
    AuthMethodKind, AutomaticRepliesSetting, AutomaticRepliesStatus, DateTimeTimeZone,
    ExternalAudience, NewGroup, NewTemporaryAccessPass, PerUserMfaState,
};
use cipp_graph::odata::Query;
use cipp_graph::users::UserRef;
use common::*;
use secrecy::ExposeSecret;
use serde_json::json;
use wiremock::matchers::{body_json, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

const G: &str = "02bd9fd6-8f93-4758-87c3-1fb73740a315";
const U: &str = "87d349ed-44d7-43e1-9a83-5f2406dee5bd";
const U2: &str = "48d31887-5fad-4d73-a9f5-3c356e68a038";

fn group_json(types: serde_json::Value, mail: bool, sec: bool) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "id": G, "displayName": "Sales", "groupTypes": types, "mailEnabled": mail, "securityEnabled": sec
    }))
}

#[tokio::test]
async fn create_security_m365_and_dynamic_groups() {
    let (server, graph) = client().await;
    Mock::given(method("POST"))
        .and(path("/v1.0/groups"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#groups/$entity",
            "id": G, "displayName": "Sales", "groupTypes": ["Unified"], "mailEnabled": true, "securityEnabled": false,
            "securityIdentifier": "S-1-12-1-1753967289-1089268234-832641959-555555555"})))
        .expect(3)
        .mount(&server)
        .await;
    let g = graph
        .tenant(&tenant())
        .groups()
        .create(&NewGroup::microsoft365("Sales", "sales"))
        .await
        .unwrap();
    assert_eq!(
        g.extra["securityIdentifier"],
        "S-1-12-1-1753967289-1089268234-832641959-555555555"
    );
    assert_eq!(
        received(&server, "POST", "/v1.0/groups").await,
        json!({"displayName": "Sales", "mailNickname": "sales", "mailEnabled": true, "securityEnabled": false, "groupTypes": ["Unified"]})
    );
    graph
        .tenant(&tenant())
        .groups()
        .create(&NewGroup::security("Admins", "admins").role_assignable())
        .await
        .unwrap();
    assert_eq!(
        received(&server, "POST", "/v1.0/groups").await["isAssignableToRole"],
        true
    );
    graph
        .tenant(&tenant())
        .groups()
        .create(
            &NewGroup::security("Sales dyn", "salesdyn").dynamic("(user.department -eq \"Sales\")"),
        )
        .await
        .unwrap();
    let sent = received(&server, "POST", "/v1.0/groups").await;
    assert_eq!(sent["groupTypes"], json!(["DynamicMembership"]));
    assert_eq!(sent["membershipRuleProcessingState"], "On");
    // Invalid ones never leave.
    assert!(graph
        .tenant(&tenant())
        .groups()
        .create(&NewGroup::security("x", "has space"))
        .await
        .is_err());
    assert!(graph
        .tenant(&tenant())
        .groups()
        .create(&NewGroup::microsoft365("x", "x").role_assignable())
        .await
        .is_err());
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn add_and_remove_members_with_ref() {
    let (server, graph) = client().await;
    Mock::given(method("GET"))
        .and(path(format!("/v1.0/groups/{G}")))
        .respond_with(group_json(json!([]), false, true))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v1.0/groups/{G}/members/$ref")))
        .and(body_json(
            json!({"@odata.id": format!("{}/v1.0/directoryObjects/{U}", server.uri())}),
        ))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("/v1.0/groups/{G}/members/{U}/$ref")))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    graph
        .tenant(&tenant())
        .groups()
        .add_member(
            &cipp_graph::model::GroupId::from(G),
            &cipp_graph::model::DirectoryObjectId::from(U),
        )
        .await
        .unwrap();
    graph
        .tenant(&tenant())
        .groups()
        .remove_member(
            &cipp_graph::model::GroupId::from(G),
            &cipp_graph::model::DirectoryObjectId::from(U),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn adding_an_existing_member_is_an_error() {
    let (server, graph) = client().await;
    Mock::given(method("GET"))
        .and(path(format!("/v1.0/groups/{G}")))
        .respond_with(group_json(json!([]), false, true))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(graph_error(400, "Request_BadRequest", "One or more added object references already exist for the following modified properties: 'members'."))
        .mount(&server)
        .await;
    let err = graph
        .tenant(&tenant())
        .groups()
        .add_member(
            &cipp_graph::model::GroupId::from(G),
            &cipp_graph::model::DirectoryObjectId::from(U),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("already exist"), "{err}");
}

#[tokio::test]
async fn distribution_lists_and_dynamic_groups_are_refused_before_writing() {
    for (types, mail, sec, why) in [
        (json!([]), true, false, "Exchange"),
        (json!([]), true, true, "Exchange"),
        (json!(["DynamicMembership"]), false, true, "dynamic"),
    ] {
        let (server, graph) = client().await;
        Mock::given(method("GET"))
            .and(path(format!("/v1.0/groups/{G}")))
            .respond_with(group_json(types, mail, sec))
            .mount(&server)
            .await;
        let err = graph
            .tenant(&tenant())
            .groups()
            .add_member(
                &cipp_graph::model::GroupId::from(G),
                &cipp_graph::model::DirectoryObjectId::from(U),
            )
            .await
            .unwrap_err();
        assert!(err.to_string().contains(why), "{err}");
        let writes = server
            .received_requests()
            .await
            .unwrap()
            .iter()
            .filter(|r| r.method.as_str() != "GET")
            .count();
        assert_eq!(writes, 0);
    }
}

#[tokio::test]
async fn bulk_add_in_chunks_of_twenty() {
    let (server, graph) = client().await;
    Mock::given(method("GET"))
        .and(path(format!("/v1.0/groups/{G}")))
        .respond_with(group_json(json!(["Unified"]), true, false))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(format!("/v1.0/groups/{G}")))
        .respond_with(ResponseTemplate::new(204))
        .expect(3)
        .mount(&server)
        .await;
    let members: Vec<String> = (0..45)
        .map(|i| format!("00000000-0000-4000-8000-{i:012}"))
        .collect();
    let report = graph
        .tenant(&tenant())
        .groups()
        .add_members_bulk(&cipp_graph::model::GroupId::from(G), &members)
        .await
        .unwrap();
    assert_eq!(report.steps.len(), 3);
    assert!(matches!(report.overall(), Outcome::Succeeded { .. }));
    let patches: Vec<serde_json::Value> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == "PATCH")
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    let sizes: Vec<usize> = patches
        .iter()
        .map(|p| p["members@odata.bind"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [20, 20, 5]);
}

#[tokio::test]
async fn members_owners_list_and_delete() {
    let (server, graph) = client().await;
    for rel in ["members", "owners"] {
        Mock::given(method("GET"))
            .and(path(format!("/v1.0/groups/{G}/{rel}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({"value": [{"@odata.type": "#microsoft.graph.user", "id": U}]}),
            ))
            .mount(&server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path("/v1.0/groups"))
        .and(query_param("$filter", "groupTypes/any(c:c eq 'Unified')"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"value": [{"id": G, "groupTypes": ["Unified"]}]})),
        )
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("/v1.0/groups/{G}")))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(
        graph
            .tenant(&tenant())
            .groups()
            .members(&cipp_graph::model::GroupId::from(G))
            .collect()
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        graph
            .tenant(&tenant())
            .groups()
            .owners(&cipp_graph::model::GroupId::from(G))
            .collect()
            .await
            .unwrap()
            .len(),
        1
    );
    let gs: Vec<_> = graph
        .tenant(&tenant())
        .groups()
        .list()
        .query(Query::new().filter("groupTypes/any(c:c eq 'Unified')"))
        .collect()
        .await
        .unwrap();
    assert_eq!(gs[0].kind(), cipp_graph::model::GroupKind::Microsoft365);
    graph
        .tenant(&tenant())
        .groups()
        .delete(&cipp_graph::model::GroupId::from(G))
        .await
        .unwrap();
}

#[tokio::test]
async fn methods_are_polymorphic_and_unknown_kinds_kept() {
    let (server, graph) = client().await;
    Mock::given(method("GET"))
        .and(path(format!("/v1.0/users/{U}/authentication/methods")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [
            {"@odata.type": "#microsoft.graph.passwordAuthenticationMethod", "id": "28c10230-6103-485e-b985-444c60001490", "password": null, "createdDateTime": "2020-11-16T19:14:47Z"},
            {"@odata.type": "#microsoft.graph.phoneAuthenticationMethod", "id": "3179e48a-750b-4051-897c-87b9720928f7", "phoneNumber": "+1 2065555555", "phoneType": "mobile", "smsSignInState": "notAllowedByPolicy"},
            {"@odata.type": "#microsoft.graph.fido2AuthenticationMethod", "id": "-2_GRUg2-HYz6_1YG4YRAQ2", "displayName": "Red key", "model": "NFC Key"},
            {"@odata.type": "#microsoft.graph.hardwareOathAuthenticationMethod", "id": "h1", "serialNumber": "123"}]})))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!(
            "/v1.0/users/{U}/authentication/phoneMethods/3179e48a-750b-4051-897c-87b9720928f7"
        )))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!(
            "/v1.0/users/{U}/authentication/fido2Methods/-2_GRUg2-HYz6_1YG4YRAQ2"
        )))
        .respond_with(graph_error(403, "accessDenied", "Insufficient privileges"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!(
            "/v1.0/users/{U}/authentication/hardwareOathMethods/h1"
        )))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let u = UserRef::parse(U).unwrap();
    let methods = graph
        .tenant(&tenant())
        .auth_methods()
        .list(&u)
        .await
        .unwrap();
    assert_eq!(methods[0].kind(), AuthMethodKind::Password);
    assert_eq!(
        methods[3].kind(),
        AuthMethodKind::Unknown("hardwareOathAuthenticationMethod".into())
    );
    assert_eq!(methods[1].extra["phoneNumber"], "+1 2065555555");
    let report = graph
        .tenant(&tenant())
        .auth_methods()
        .remove_all_but_password(&u)
        .await
        .unwrap();
    assert_eq!(report.steps.len(), 4);
    assert!(matches!(report.steps[0].outcome, Outcome::Skipped { .. }));
    assert!(report.steps[1].outcome.is_ok() && report.steps[3].outcome.is_ok());
    assert!(
        matches!(report.steps[2].outcome, Outcome::Failed { .. }),
        "the failed step is reported, the rest still ran"
    );
    assert!(matches!(report.overall(), Outcome::Partial { .. }));
}

#[tokio::test]
async fn temporary_access_pass_checked_against_the_policy() {
    let (server, graph) = client().await;
    Mock::given(method("GET"))
        .and(path("/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration", "id": "TemporaryAccessPass",
            "state": "enabled", "defaultLifetimeInMinutes": 60, "defaultLength": 8, "minimumLifetimeInMinutes": 60,
            "maximumLifetimeInMinutes": 480, "isUsableOnce": true, "includeTargets": []})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v1.0/users/{U}/authentication/temporaryAccessPassMethods")))
        .and(body_json(json!({"lifetimeInMinutes": 60, "isUsableOnce": true})))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users('x')/authentication/temporaryAccessPassMethods/$entity",
            "id": "6f1bf1f4-a3c1-4b1d-a1f1-0b2b8e6c3d4e", "isUsable": false, "methodUsabilityReason": "NotYetValid",
            "temporaryAccessPass": "TAPRocks!", "createdDateTime": "2022-06-02T16:21:09.5893903Z",
            "startDateTime": "2022-06-05T00:00:00Z", "lifetimeInMinutes": 60, "isUsableOnce": true})))
        .expect(1)
        .mount(&server)
        .await;
    let u = UserRef::parse(U).unwrap();
    let req = NewTemporaryAccessPass {
        lifetime_in_minutes: Some(60),
        ..Default::default()
    };
    let tap = graph
        .tenant(&tenant())
        .auth_methods()
        .create_temporary_access_pass(&u, &req, true)
        .await
        .unwrap();
    assert_eq!(
        tap.temporary_access_pass.as_ref().unwrap().expose_secret(),
        "TAPRocks!"
    );
    assert_eq!(tap.method_usability_reason.as_deref(), Some("NotYetValid"));
    assert!(!format!("{tap:?}").contains("TAPRocks"));
    // Outside the policy (60–480) or multi-use when the policy forces one-time: refused,
    // after the policy read but before any POST.
    for bad in [
        NewTemporaryAccessPass {
            lifetime_in_minutes: Some(500),
            ..Default::default()
        },
        NewTemporaryAccessPass {
            lifetime_in_minutes: Some(60),
            is_usable_once: Some(false),
            ..Default::default()
        },
    ] {
        assert!(graph
            .tenant(&tenant())
            .auth_methods()
            .create_temporary_access_pass(&u, &bad, true)
            .await
            .is_err());
    }
    // Outside Graph's own range: refused with nothing sent.
    let before = server.received_requests().await.unwrap().len();
    for minutes in [9, 43_201] {
        let r = NewTemporaryAccessPass {
            lifetime_in_minutes: Some(minutes),
            ..Default::default()
        };
        assert!(graph
            .tenant(&tenant())
            .auth_methods()
            .create_temporary_access_pass(&u, &r, true)
            .await
            .is_err());
    }
    assert_eq!(server.received_requests().await.unwrap().len(), before);
    let posts = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .count();
    assert_eq!(posts, 1);
}

#[tokio::test]
async fn per_user_mfa_and_registration_report() {
    let (server, graph) = client().await;
    let u = UserRef::parse(U).unwrap();
    Mock::given(method("GET"))
        .and(path(format!("/beta/users/{U}/authentication/requirements")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"perUserMfaState": "Enforced"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(format!("/beta/users/{U}/authentication/requirements")))
        .and(body_json(json!({"perUserMfaState": "disabled"})))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/reports/authenticationMethods/userRegistrationDetails"))
        .and(query_param("$filter", "isMfaRegistered eq false"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [{
            "id": U, "userPrincipalName": "AlexW@contoso.com", "userDisplayName": "Alex Wilber", "isAdmin": false,
            "isSsprRegistered": false, "isMfaRegistered": false, "isMfaCapable": false, "methodsRegistered": [],
            "userPreferredMethodForSecondaryAuthentication": "", "userType": "member", "lastUpdatedDateTime": "2022-06-01T07:00:00.0000000Z"}]})))
        .mount(&server)
        .await;
    let state = auth_methods::per_user_mfa(&tenant(), &u)
        .send(graph.pipeline())
        .await
        .unwrap();
    assert_eq!(state.per_user_mfa_state, PerUserMfaState::Enforced);
    auth_methods::set_per_user_mfa(&tenant(), &u, PerUserMfaState::Disabled)
        .unwrap()
        .send(graph.pipeline())
        .await
        .unwrap();
    let rows: Vec<_> = graph
        .tenant(&tenant())
        .auth_methods()
        .registration_details()
        .query(Query::new().filter("isMfaRegistered eq false"))
        .collect()
        .await
        .unwrap();
    assert_eq!(rows[0].is_mfa_registered, Some(false));
    assert!(auth_methods::registration_details(&tenant(), &Query::new().top(5)).is_err());
}

#[tokio::test]
async fn sign_ins_and_audits_filtered_by_window() {
    let (server, graph) = client().await;
    let since = Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap();
    Mock::given(method("GET"))
        .and(path("/v1.0/auditLogs/signIns"))
        .and(query_param("$filter", format!("userId eq '{U}' and createdDateTime ge 2026-11-20T00:00:00Z")))
        .and(query_param("$top", "100"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [{
            "id": "66ea54eb-6301-4ee5-be62-ff5a759b0100", "createdDateTime": "2026-11-21T10:15:02.6843152Z",
            "userPrincipalName": "adelev@contoso.com", "userId": U, "appDisplayName": "Office 365 Exchange Online",
            "ipAddress": "203.0.113.7", "clientAppUsed": "IMAP4", "isInteractive": false, "conditionalAccessStatus": "notApplied",
            "status": {"errorCode": 0, "failureReason": "Other.", "additionalDetails": null},
            "location": {"city": "Lagos", "state": "Lagos", "countryOrRegion": "NG", "geoCoordinates": {"latitude": 6.45, "longitude": 3.39}}}]})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/auditLogs/directoryAudits"))
        .and(query_param("$filter", format!("(activityDisplayName eq 'Reset user password' or activityDisplayName eq 'User registered security info') and targetResources/any(t:t/id eq '{U}') and activityDateTime ge 2026-11-20T00:00:00Z")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [{
            "id": "Directory_x", "category": "UserManagement", "correlationId": "c", "result": "success",
            "activityDisplayName": "Reset user password", "activityDateTime": "2026-11-21T10:00:00Z",
            "initiatedBy": {"user": {"id": U2, "userPrincipalName": "admin@contoso.com"}},
            "targetResources": [{"id": U, "displayName": null, "type": "User", "userPrincipalName": "adelev@contoso.com", "modifiedProperties": []}]}]})))
        .expect(1)
        .mount(&server)
        .await;
    let s: Vec<_> = graph
        .tenant(&tenant())
        .audit()
        .sign_ins(&SignInFilter {
            user_id: Some(U.into()),
            since: Some(since),
            top: Some(100),
            ..Default::default()
        })
        .collect()
        .await
        .unwrap();
    assert_eq!(s[0].client_app_used.as_deref(), Some("IMAP4"));
    assert_eq!(
        s[0].location.as_ref().unwrap().country_or_region.as_deref(),
        Some("NG")
    );
    let a: Vec<_> = graph
        .tenant(&tenant())
        .audit()
        .directory_audits(&AuditFilter {
            activities: vec![
                "Reset user password".into(),
                "User registered security info".into(),
            ],
            target_id: Some(U.into()),
            since: Some(since),
            ..Default::default()
        })
        .collect()
        .await
        .unwrap();
    assert_eq!(a[0].target_resources[0].kind.as_deref(), Some("User"));
}

#[tokio::test]
async fn sign_ins_without_premium_licence_say_so() {
    let (server, graph) = client().await;
    Mock::given(method("GET"))
        .and(path("/v1.0/auditLogs/signIns"))
        .respond_with(graph_error(
            403,
            "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
            "Neither tenant is B2C or tenant doesn't have premium license",
        ))
        .mount(&server)
        .await;
    let err = graph
        .tenant(&tenant())
        .audit()
        .sign_ins(&SignInFilter::default())
        .collect()
        .await
        .unwrap_err();
    assert_eq!(
        err.as_api().unwrap().kind,
        cipp_core::ApiErrorKind::MissingLicense
    );
    assert!(err.to_string().contains("P1/P2"));
}

#[tokio::test]
async fn grants_service_principals_and_devices() {
    let (server, graph) = client().await;
    let sp = "ef969797-201d-4f6b-960c-e9ed5f31dab5";
    Mock::given(method("GET"))
        .and(path("/v1.0/oauth2PermissionGrants"))
        .and(query_param("$filter", format!("clientId eq '{sp}'")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [{
            "clientId": sp, "consentType": "Principal", "id": "l5aW7x0ga0-WDOntXzHateQDNpSH5-lPk9HjD3Sarjk",
            "principalId": U, "resourceId": "943603e4-e787-4fe9-93d1-e30f749aae39", "scope": " Mail.ReadWrite offline_access"}]})))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(
            "/v1.0/oauth2PermissionGrants/l5aW7x0ga0-WDOntXzHateQDNpSH5-lPk9HjD3Sarjk",
        ))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/servicePrincipals"))
        .and(query_param(
            "$filter",
            "createdDateTime ge 2026-11-20T00:00:00Z",
        ))
        .and(wiremock::matchers::header("consistencylevel", "eventual"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"value": [{"id": sp, "appId": "a", "displayName": "Shady Mail App"}]}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/deviceManagement/managedDevices"))
        .and(query_param("$filter", "userPrincipalName eq 'adelev@contoso.com'"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [{
            "id": "d1", "deviceName": "ADELE-PC", "operatingSystem": "Windows", "complianceState": "compliant",
            "enrolledDateTime": "2024-01-02T03:04:05Z", "lastSyncDateTime": "0001-01-01T00:00:00Z"}]})))
        .mount(&server)
        .await;
    let grants: Vec<_> = graph
        .tenant(&tenant())
        .audit()
        .oauth2_grants(Some(sp))
        .collect()
        .await
        .unwrap();
    assert!(grants[0]
        .scope
        .as_deref()
        .unwrap()
        .contains("Mail.ReadWrite"));
    graph
        .tenant(&tenant())
        .audit()
        .revoke_oauth2_grant(&grants[0].id)
        .await
        .unwrap();
    let since = Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap();
    let sps: Vec<_> = graph
        .tenant(&tenant())
        .audit()
        .service_principals_since(since)
        .collect()
        .await
        .unwrap();
    assert_eq!(sps[0].display_name.as_deref(), Some("Shady Mail App"));
    let devices: Vec<_> = graph
        .tenant(&tenant())
        .audit()
        .managed_devices_of("adelev@contoso.com")
        .collect()
        .await
        .unwrap();
    assert_eq!(devices[0].device_name.as_deref(), Some("ADELE-PC"));
}

#[tokio::test]
async fn organization_and_domains() {
    let (server, graph) = client().await;
    Mock::given(method("GET"))
        .and(path("/v1.0/organization"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [{
            "id": "84841066-274d-4ec0-a5c1-276be684bdd3", "displayName": "Contoso",
            "verifiedDomains": [
                {"capabilities": "Email, OfficeCommunicationsOnline", "isDefault": false, "isInitial": true, "name": "contoso.onmicrosoft.com", "type": "Managed"},
                {"capabilities": "Email", "isDefault": true, "isInitial": false, "name": "contoso.com", "type": "Managed"}]}]})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/domains"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"value": [{"id": "contoso.com", "isVerified": true, "isDefault": true}]}),
        ))
        .mount(&server)
        .await;
    let org = graph
        .tenant(&tenant())
        .directory()
        .organization()
        .await
        .unwrap();
    assert_eq!(org.default_domain(), Some("contoso.com"));
    assert_eq!(org.initial_domain(), Some("contoso.onmicrosoft.com"));
    assert_eq!(
        graph.tenant(&tenant()).directory().domains().await.unwrap()[0].id,
        "contoso.com"
    );
}

#[tokio::test]
async fn inbox_rules_and_automatic_replies() {
    let (server, graph) = client().await;
    let u = UserRef::parse("adelev@contoso.com").unwrap();
    let base = "/v1.0/users/adelev%40contoso.com/mailFolders/inbox/messageRules";
    Mock::given(method("GET"))
        .and(path(base))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [{
            "id": "AQAAAJ5dZqA=", "displayName": "From partner", "sequence": 2, "isEnabled": true, "hasError": false, "isReadOnly": false,
            "conditions": {"senderContains": ["ADELE"]},
            "actions": {"forwardTo": [{"emailAddress": {"name": "Alex Wilber", "address": "attacker@evil.example"}}], "stopProcessingRules": true}}]})))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(format!("{base}/AQAAAJ5dZqA%3D")))
        .and(body_json(json!({"isEnabled": false})))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"id": "AQAAAJ5dZqA=", "displayName": "From partner", "isEnabled": false}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("{base}/AQAAAJ5dZqA%3D")))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users/adelev%40contoso.com/mailboxSettings"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Me/mailboxSettings",
            "automaticRepliesSetting": {"status": "Scheduled", "externalAudience": "All",
                "scheduledStartDateTime": {"dateTime": "2016-03-14T07:00:00.0000000", "timeZone": "UTC"},
                "scheduledEndDateTime": {"dateTime": "2016-03-28T07:00:00.0000000", "timeZone": "UTC"},
                "internalReplyMessage": "<html>\n<body>\n<p>I'm at our company's worldwide reunion and will respond to your message as soon as I return.<br>\n</p></body>\n</html>\n",
                "externalReplyMessage": "<html>\n<body>\n<p>I'm at the Contoso worldwide reunion and will respond to your message as soon as I return.<br>\n</p></body>\n</html>\n"},
            "timeZone": "UTC", "language": {"locale": "en-US", "displayName": "English (United States)"}})))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/v1.0/users/adelev%40contoso.com/mailboxSettings"))
        .and(body_json(json!({"automaticRepliesSetting": {"status": "alwaysEnabled", "externalAudience": "none", "internalReplyMessage": "Away"}})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    let rules = graph
        .tenant(&tenant())
        .mail()
        .inbox_rules(&u)
        .await
        .unwrap();
    assert_eq!(
        rules[0].actions.as_ref().unwrap().forward_to[0]
            .email_address
            .address
            .as_deref(),
        Some("attacker@evil.example")
    );
    let r = graph
        .tenant(&tenant())
        .mail()
        .set_inbox_rule_enabled(&u, &rules[0].id, false)
        .await
        .unwrap();
    assert_eq!(r.is_enabled, Some(false));
    graph
        .tenant(&tenant())
        .mail()
        .delete_inbox_rule(&u, &rules[0].id)
        .await
        .unwrap();
    let ar = graph
        .tenant(&tenant())
        .mail()
        .automatic_replies(&u)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        ar.status,
        AutomaticRepliesStatus::Scheduled,
        "capitalised value read"
    );
    assert_eq!(ar.external_audience, Some(ExternalAudience::All));
    let setting = AutomaticRepliesSetting {
        status: AutomaticRepliesStatus::AlwaysEnabled,
        external_audience: Some(ExternalAudience::None),
        scheduled_start_date_time: None,
        scheduled_end_date_time: None,
        internal_reply_message: Some("Away".into()),
        external_reply_message: None,
    };
    graph
        .tenant(&tenant())
        .mail()
        .set_automatic_replies(&u, &setting)
        .await
        .unwrap();
    let bad = AutomaticRepliesSetting {
        status: AutomaticRepliesStatus::Scheduled,
        scheduled_start_date_time: Some(DateTimeTimeZone {
            date_time: "2026-12-01T00:00:00".into(),
            time_zone: "UTC".into(),
        }),
        ..setting
    };
    assert!(graph
        .tenant(&tenant())
        .mail()
        .set_automatic_replies(&u, &bad)
        .await
        .is_err());
}
