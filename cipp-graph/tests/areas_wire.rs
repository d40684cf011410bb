//! Groups, authentication methods, audit, directory and mail over the real HTTP path.

mod common;

use chrono::{TimeZone, Utc};
use cipp_core::Outcome;
use cipp_graph::audit::{AuditFilter, SignInFilter};
use cipp_graph::auth_methods;
use cipp_graph::model::{
    AuthMethodKind, AutomaticRepliesSetting, AutomaticRepliesStatus, DateTimeTimeZone,
    DirectoryObjectId, ExternalAudience, GroupId, GroupKind, NewGroup, NewTemporaryAccessPass,
    PerUserMfaState,
};
use cipp_graph::odata::Query;
use cipp_graph::users::UserRef;
use cipp_graph::TenantGraph;
use common::*;
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use wiremock::MockServer;

const G: &str = "02bd9fd6-8f93-4758-87c3-1fb73740a315";
const U: &str = "87d349ed-44d7-43e1-9a83-5f2406dee5bd";
const U2: &str = "48d31887-5fad-4d73-a9f5-3c356e68a038";

fn group_json(types: Value, mail: bool, sec: bool) -> Value {
    json!({
        "id": G, "displayName": "Sales", "groupTypes": types, "mailEnabled": mail, "securityEnabled": sec
    })
}

/// A mock server whose group `G` has these types and flags, and Contoso's Graph.
async fn with_group(types: Value, mail: bool, sec: bool) -> (MockServer, TenantGraph) {
    let (server, t) = contoso().await;
    let group = format!("GET /v1.0/groups/{G}");
    stub(&server, &group).reply(200, group_json(types, mail, sec)).await;
    (server, t)
}

fn gid() -> GroupId {
    GroupId::from(G)
}

fn uid() -> DirectoryObjectId {
    DirectoryObjectId::from(U)
}

fn tap(minutes: u32, once: Option<bool>) -> NewTemporaryAccessPass {
    NewTemporaryAccessPass {
        lifetime_in_minutes: Some(minutes),
        is_usable_once: once,
        ..Default::default()
    }
}

#[tokio::test]
async fn create_security_m365_and_dynamic_groups() {
    let (server, t) = contoso().await;
    on(&server, "POST /v1.0/groups")
        .times(3)
        .reply(201, json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#groups/$entity",
            "id": G, "displayName": "Sales", "groupTypes": ["Unified"], "mailEnabled": true, "securityEnabled": false,
            "securityIdentifier": "S-1-12-1-1753967289-1089268234-832641959-555555555"}))
        .await;
    let groups = t.groups();
    let g = groups.create(&NewGroup::microsoft365("Sales", "sales")).await.unwrap();
    let sid = &g.extra["securityIdentifier"];
    assert_eq!(sid, "S-1-12-1-1753967289-1089268234-832641959-555555555");
    let last = || received(&server, "POST", "/v1.0/groups");
    assert_eq!(
        last().await,
        json!({"displayName": "Sales", "mailNickname": "sales", "mailEnabled": true, "securityEnabled": false, "groupTypes": ["Unified"]})
    );
    let admins = NewGroup::security("Admins", "admins").role_assignable();
    groups.create(&admins).await.unwrap();
    assert_eq!(last().await["isAssignableToRole"], true);
    let dynamic =
        NewGroup::security("Sales dyn", "salesdyn").dynamic("(user.department -eq \"Sales\")");
    groups.create(&dynamic).await.unwrap();
    let sent_body = last().await;
    assert_eq!(sent_body["groupTypes"], json!(["DynamicMembership"]));
    assert_eq!(sent_body["membershipRuleProcessingState"], "On");
    // Invalid ones never leave.
    let spaced = NewGroup::security("x", "has space");
    assert!(groups.create(&spaced).await.is_err());
    let m365_role = NewGroup::microsoft365("x", "x").role_assignable();
    assert!(groups.create(&m365_role).await.is_err());
    assert_eq!(sent(&server).await, 3);
}

#[tokio::test]
async fn update_patches_only_the_description_and_rule() {
    let (server, t) = contoso().await;
    on(&server, &format!("PATCH /v1.0/groups/{G}")).times(1).reply(204, Value::Null).await;
    let mut patch = cipp_graph::groups::GroupPatch::default();
    patch.description = Some("Service desk".into());
    t.groups().update(&gid(), &patch).await.unwrap();
    assert_eq!(
        received(&server, "PATCH", &format!("/v1.0/groups/{G}")).await,
        json!({"description": "Service desk"})
    );
    // Nothing to change, an empty rule, an overlong description: refused before sending.
    let empty = cipp_graph::groups::GroupPatch::default();
    assert!(t.groups().update(&gid(), &empty).await.is_err());
    let mut rule = cipp_graph::groups::GroupPatch::default();
    rule.membership_rule = Some(" ".into());
    assert!(t.groups().update(&gid(), &rule).await.is_err());
    let mut long = cipp_graph::groups::GroupPatch::default();
    long.description = Some("x".repeat(1025));
    assert!(t.groups().update(&gid(), &long).await.is_err());
    assert_eq!(sent(&server).await, 1);
    // Graph's refusal comes back with its code.
    let (server, t) = contoso().await;
    wiremock::Mock::given(wiremock::matchers::method("PATCH"))
        .respond_with(graph_error(
            400,
            "Request_BadRequest",
            "Invalid value specified for property 'membershipRule' of resource 'Group'.",
        ))
        .mount(&server)
        .await;
    let mut bad = cipp_graph::groups::GroupPatch::default();
    bad.membership_rule = Some("(user.department -eq".into());
    let err = t.groups().update(&gid(), &bad).await.unwrap_err();
    assert!(err.to_string().contains("membershipRule"), "{err}");
}

#[tokio::test]
async fn add_and_remove_members_with_ref() {
    let (server, t) = with_group(json!([]), false, true).await;
    on(&server, &format!("POST /v1.0/groups/{G}/members/$ref"))
        .body(object_ref(&server, U))
        .reply(204, Value::Null)
        .await;
    on(&server, &format!("DELETE /v1.0/groups/{G}/members/{U}/$ref")).reply(204, Value::Null).await;
    t.groups().add_member(&gid(), &uid()).await.unwrap();
    t.groups().remove_member(&gid(), &uid()).await.unwrap();
}

#[tokio::test]
async fn adding_an_existing_member_is_an_error() {
    let (server, t) = with_group(json!([]), false, true).await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(graph_error(400, "Request_BadRequest", "One or more added object references already exist for the following modified properties: 'members'."))
        .mount(&server)
        .await;
    let err = t.groups().add_member(&gid(), &uid()).await.unwrap_err();
    assert!(err.to_string().contains("already exist"), "{err}");
}

#[tokio::test]
async fn distribution_lists_and_dynamic_groups_are_refused_before_writing() {
    for (name, types, mail, sec, why) in [
        ("distribution list", json!([]), true, false, "Exchange"),
        ("mail-enabled security", json!([]), true, true, "Exchange"),
        ("dynamic", json!(["DynamicMembership"]), false, true, "dynamic"),
    ] {
        let (server, t) = with_group(types, mail, sec).await;
        let err = t.groups().add_member(&gid(), &uid()).await.unwrap_err();
        assert!(err.to_string().contains(why), "{name}: {err}");
        let gets = bodies(&server, "GET").await.len();
        assert_eq!(sent(&server).await - gets, 0, "{name}: no write");
    }
}

#[tokio::test]
async fn bulk_add_in_chunks_of_twenty() {
    let (server, t) = with_group(json!(["Unified"]), true, false).await;
    on(&server, &format!("PATCH /v1.0/groups/{G}")).times(3).reply(204, Value::Null).await;
    let members: Vec<String> =
        (0..45).map(|i| format!("00000000-0000-4000-8000-{i:012}")).collect();
    let report = t.groups().add_members_bulk(&gid(), &members).await.unwrap();
    assert_eq!(report.steps.len(), 3);
    assert!(matches!(report.overall(), Outcome::Succeeded { .. }));
    let sizes: Vec<usize> = bodies(&server, "PATCH")
        .await
        .iter()
        .map(|p| p["members@odata.bind"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [20, 20, 5]);
}

#[tokio::test]
async fn members_owners_list_and_delete() {
    let (server, t) = contoso().await;
    for rel in ["members", "owners"] {
        stub(&server, &format!("GET /v1.0/groups/{G}/{rel}"))
            .reply(200, json!({"value": [{"@odata.type": "#microsoft.graph.user", "id": U}]}))
            .await;
    }
    stub(&server, "GET /v1.0/groups?$filter=groupTypes/any(c:c eq 'Unified')")
        .reply(200, json!({"value": [{"id": G, "groupTypes": ["Unified"]}]}))
        .await;
    on(&server, &format!("DELETE /v1.0/groups/{G}")).reply(204, Value::Null).await;
    let groups = t.groups();
    assert_eq!(groups.members(&gid()).collect().await.unwrap().len(), 1);
    assert_eq!(groups.owners(&gid()).collect().await.unwrap().len(), 1);
    let unified = Query::new().filter("groupTypes/any(c:c eq 'Unified')");
    let gs: Vec<_> = groups.list().query(unified).collect().await.unwrap();
    assert_eq!(gs[0].kind(), GroupKind::Microsoft365);
    groups.delete(&gid()).await.unwrap();
}

#[tokio::test]
async fn methods_are_polymorphic_and_unknown_kinds_kept() {
    let (server, t) = contoso().await;
    let base = format!("/v1.0/users/{U}/authentication");
    stub(&server, &format!("GET {base}/methods"))
        .reply(200, json!({"value": [
            {"@odata.type": "#microsoft.graph.passwordAuthenticationMethod", "id": "28c10230-6103-485e-b985-444c60001490", "password": null, "createdDateTime": "2020-11-16T19:14:47Z"},
            {"@odata.type": "#microsoft.graph.phoneAuthenticationMethod", "id": "3179e48a-750b-4051-897c-87b9720928f7", "phoneNumber": "+1 2065555555", "phoneType": "mobile", "smsSignInState": "notAllowedByPolicy"},
            {"@odata.type": "#microsoft.graph.fido2AuthenticationMethod", "id": "-2_GRUg2-HYz6_1YG4YRAQ2", "displayName": "Red key", "model": "NFC Key"},
            {"@odata.type": "#microsoft.graph.hardwareOathAuthenticationMethod", "id": "h1", "serialNumber": "123"}]}))
        .await;
    on(&server, &format!("DELETE {base}/phoneMethods/3179e48a-750b-4051-897c-87b9720928f7"))
        .reply(204, Value::Null)
        .await;
    on(&server, &format!("DELETE {base}/fido2Methods/-2_GRUg2-HYz6_1YG4YRAQ2"))
        .fail(403, "accessDenied", "Insufficient privileges")
        .await;
    on(&server, &format!("DELETE {base}/hardwareOathMethods/h1")).reply(204, Value::Null).await;
    let u = UserRef::parse(U).unwrap();
    let methods = t.auth_methods().list(&u).await.unwrap();
    assert_eq!(methods[0].kind(), AuthMethodKind::Password);
    let unknown = AuthMethodKind::Unknown("hardwareOathAuthenticationMethod".into());
    assert_eq!(methods[3].kind(), unknown);
    assert_eq!(methods[1].extra["phoneNumber"], "+1 2065555555");
    let report = t.auth_methods().remove_all_but_password(&u).await.unwrap();
    let steps = &report.steps;
    assert_eq!(steps.len(), 4);
    assert!(matches!(steps[0].outcome, Outcome::Skipped { .. }));
    assert!(steps[1].outcome.is_ok() && steps[3].outcome.is_ok());
    let failed = matches!(steps[2].outcome, Outcome::Failed { .. });
    assert!(failed, "the failed step is reported, the rest still ran");
    assert!(matches!(report.overall(), Outcome::Partial { .. }));
}

#[tokio::test]
async fn temporary_access_pass_checked_against_the_policy() {
    let (server, t) = contoso().await;
    stub(&server, "GET /v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass")
        .reply(200, json!({
            "@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration", "id": "TemporaryAccessPass",
            "state": "enabled", "defaultLifetimeInMinutes": 60, "defaultLength": 8, "minimumLifetimeInMinutes": 60,
            "maximumLifetimeInMinutes": 480, "isUsableOnce": true, "includeTargets": []}))
        .await;
    on(&server, &format!("POST /v1.0/users/{U}/authentication/temporaryAccessPassMethods"))
        .body(json!({"lifetimeInMinutes": 60, "isUsableOnce": true}))
        .reply(201, json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users('x')/authentication/temporaryAccessPassMethods/$entity",
            "id": "6f1bf1f4-a3c1-4b1d-a1f1-0b2b8e6c3d4e", "isUsable": false, "methodUsabilityReason": "NotYetValid",
            "temporaryAccessPass": "TAPRocks!", "createdDateTime": "2022-06-02T16:21:09.5893903Z",
            "startDateTime": "2022-06-05T00:00:00Z", "lifetimeInMinutes": 60, "isUsableOnce": true}))
        .await;
    let u = UserRef::parse(U).unwrap();
    let am = t.auth_methods();
    let pass = am.create_temporary_access_pass(&u, &tap(60, None), true).await;
    let pass = pass.unwrap();
    let secret = pass.temporary_access_pass.as_ref().unwrap();
    assert_eq!(secret.expose_secret(), "TAPRocks!");
    assert_eq!(pass.method_usability_reason.as_deref(), Some("NotYetValid"));
    assert!(!format!("{pass:?}").contains("TAPRocks"));
    // Outside the policy (60–480) or multi-use when the policy forces one-time: refused,
    // after the policy read but before any POST.
    for (name, bad) in [("too long", tap(500, None)), ("multi-use", tap(60, Some(false)))] {
        let r = am.create_temporary_access_pass(&u, &bad, true).await;
        assert!(r.is_err(), "{name}");
    }
    // Outside Graph's own range: refused with nothing sent.
    let before = sent(&server).await;
    for minutes in [9, 43_201] {
        let r = am.create_temporary_access_pass(&u, &tap(minutes, None), true).await;
        assert!(r.is_err(), "{minutes} minutes");
    }
    assert_eq!(sent(&server).await, before);
    assert_eq!(bodies(&server, "POST").await.len(), 1);
}

#[tokio::test]
async fn per_user_mfa_and_registration_report() {
    let (server, t) = contoso().await;
    let u = UserRef::parse(U).unwrap();
    let requirements = format!("/beta/users/{U}/authentication/requirements");
    stub(&server, &format!("GET {requirements}"))
        .reply(200, json!({"perUserMfaState": "Enforced"}))
        .await;
    on(&server, &format!("PATCH {requirements}"))
        .body(json!({"perUserMfaState": "disabled"}))
        .reply(204, Value::Null)
        .await;
    stub(&server, "GET /v1.0/reports/authenticationMethods/userRegistrationDetails?$filter=isMfaRegistered eq false")
        .reply(200, json!({"value": [{
            "id": U, "userPrincipalName": "AlexW@contoso.com", "userDisplayName": "Alex Wilber", "isAdmin": false,
            "isSsprRegistered": false, "isMfaRegistered": false, "isMfaCapable": false, "methodsRegistered": [],
            "userPreferredMethodForSecondaryAuthentication": "", "userType": "member", "lastUpdatedDateTime": "2022-06-01T07:00:00.0000000Z"}]}))
        .await;
    let p = t.pipeline();
    let state = auth_methods::per_user_mfa(&tenant(), &u).send(p).await.unwrap();
    assert_eq!(state.per_user_mfa_state, PerUserMfaState::Enforced);
    let off = auth_methods::set_per_user_mfa(&tenant(), &u, PerUserMfaState::Disabled);
    off.unwrap().send(p).await.unwrap();
    let unregistered = Query::new().filter("isMfaRegistered eq false");
    let details = t.auth_methods().registration_details().query(unregistered);
    let rows: Vec<_> = details.collect().await.unwrap();
    assert_eq!(rows[0].is_mfa_registered, Some(false));
    assert!(auth_methods::registration_details(&tenant(), &Query::new().top(5)).is_err());
}

#[tokio::test]
async fn sign_ins_and_audits_filtered_by_window() {
    let (server, t) = contoso().await;
    let since = Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap();
    on(&server, "GET /v1.0/auditLogs/signIns?$top=100")
        .query("$filter", &format!("userId eq '{U}' and createdDateTime ge 2026-11-20T00:00:00Z"))
        .reply(200, json!({"value": [{
            "id": "66ea54eb-6301-4ee5-be62-ff5a759b0100", "createdDateTime": "2026-11-21T10:15:02.6843152Z",
            "userPrincipalName": "adelev@contoso.com", "userId": U, "appDisplayName": "Office 365 Exchange Online",
            "ipAddress": "203.0.113.7", "clientAppUsed": "IMAP4", "isInteractive": false, "conditionalAccessStatus": "notApplied",
            "status": {"errorCode": 0, "failureReason": "Other.", "additionalDetails": null},
            "location": {"city": "Lagos", "state": "Lagos", "countryOrRegion": "NG", "geoCoordinates": {"latitude": 6.45, "longitude": 3.39}}}]}))
        .await;
    on(&server, "GET /v1.0/auditLogs/directoryAudits")
        .query("$filter", &format!("(activityDisplayName eq 'Reset user password' or activityDisplayName eq 'User registered security info') and targetResources/any(t:t/id eq '{U}') and activityDateTime ge 2026-11-20T00:00:00Z"))
        .reply(200, json!({"value": [{
            "id": "Directory_x", "category": "UserManagement", "correlationId": "c", "result": "success",
            "activityDisplayName": "Reset user password", "activityDateTime": "2026-11-21T10:00:00Z",
            "initiatedBy": {"user": {"id": U2, "userPrincipalName": "admin@contoso.com"}},
            "targetResources": [{"id": U, "displayName": null, "type": "User", "userPrincipalName": "adelev@contoso.com", "modifiedProperties": []}]}]}))
        .await;
    let sign_ins = SignInFilter {
        user_id: Some(U.into()),
        since: Some(since),
        top: Some(100),
        ..Default::default()
    };
    let s: Vec<_> = t.audit().sign_ins(&sign_ins).collect().await.unwrap();
    assert_eq!(s[0].client_app_used.as_deref(), Some("IMAP4"));
    let country = s[0].location.as_ref().unwrap().country_or_region.as_deref();
    assert_eq!(country, Some("NG"));
    let audits = AuditFilter {
        activities: vec!["Reset user password".into(), "User registered security info".into()],
        target_id: Some(U.into()),
        since: Some(since),
        ..Default::default()
    };
    let a: Vec<_> = t.audit().directory_audits(&audits).collect().await.unwrap();
    assert_eq!(a[0].target_resources[0].kind.as_deref(), Some("User"));
}

#[tokio::test]
async fn sign_ins_without_premium_licence_say_so() {
    let (server, t) = contoso().await;
    stub(&server, "GET /v1.0/auditLogs/signIns")
        .fail(
            403,
            "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
            "Neither tenant is B2C or tenant doesn't have premium license",
        )
        .await;
    let all = SignInFilter::default();
    let err = t.audit().sign_ins(&all).collect().await.unwrap_err();
    let kind = &err.as_api().unwrap().kind;
    assert_eq!(kind, &cipp_core::ApiErrorKind::MissingLicense);
    assert!(err.to_string().contains("P1/P2"));
}

#[tokio::test]
async fn grants_service_principals_and_devices() {
    let (server, t) = contoso().await;
    let sp = "ef969797-201d-4f6b-960c-e9ed5f31dab5";
    stub(&server, &format!("GET /v1.0/oauth2PermissionGrants?$filter=clientId eq '{sp}'"))
        .reply(200, json!({"value": [{
            "clientId": sp, "consentType": "Principal", "id": "l5aW7x0ga0-WDOntXzHateQDNpSH5-lPk9HjD3Sarjk",
            "principalId": U, "resourceId": "943603e4-e787-4fe9-93d1-e30f749aae39", "scope": " Mail.ReadWrite offline_access"}]}))
        .await;
    on(&server, "DELETE /v1.0/oauth2PermissionGrants/l5aW7x0ga0-WDOntXzHateQDNpSH5-lPk9HjD3Sarjk")
        .reply(204, Value::Null)
        .await;
    stub(&server, "GET /v1.0/servicePrincipals?$filter=createdDateTime ge 2026-11-20T00:00:00Z")
        .header("consistencylevel", "eventual")
        .reply(200, json!({"value": [{"id": sp, "appId": "a", "displayName": "Shady Mail App"}]}))
        .await;
    stub(&server, "GET /v1.0/deviceManagement/managedDevices?$filter=userPrincipalName eq 'adelev@contoso.com'")
        .reply(200, json!({"value": [{
            "id": "d1", "deviceName": "ADELE-PC", "operatingSystem": "Windows", "complianceState": "compliant",
            "enrolledDateTime": "2024-01-02T03:04:05Z", "lastSyncDateTime": "0001-01-01T00:00:00Z"}]}))
        .await;
    let audit = t.audit();
    let grants: Vec<_> = audit.oauth2_grants(Some(sp)).collect().await.unwrap();
    let scope = grants[0].scope.as_deref().unwrap();
    assert!(scope.contains("Mail.ReadWrite"));
    audit.revoke_oauth2_grant(&grants[0].id).await.unwrap();
    let since = Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap();
    let sps: Vec<_> = audit.service_principals_since(since).collect().await.unwrap();
    assert_eq!(sps[0].display_name.as_deref(), Some("Shady Mail App"));
    let devices = audit.managed_devices_of("adelev@contoso.com");
    let devices: Vec<_> = devices.collect().await.unwrap();
    assert_eq!(devices[0].device_name.as_deref(), Some("ADELE-PC"));
}

#[tokio::test]
async fn organization_and_domains() {
    let (server, t) = contoso().await;
    stub(&server, "GET /v1.0/domains")
        .reply(
            200,
            json!({"value": [{"id": "contoso.com", "isVerified": true, "isDefault": true}]}),
        )
        .await;
    stub(&server, "GET /v1.0/organization")
        .reply(200, json!({"value": [{
            "id": "84841066-274d-4ec0-a5c1-276be684bdd3", "displayName": "Contoso",
            "verifiedDomains": [
                {"capabilities": "Email, OfficeCommunicationsOnline", "isDefault": false, "isInitial": true, "name": "contoso.onmicrosoft.com", "type": "Managed"},
                {"capabilities": "Email", "isDefault": true, "isInitial": false, "name": "contoso.com", "type": "Managed"}]}]}))
        .await;
    let org = t.directory().organization().await.unwrap();
    assert_eq!(org.default_domain(), Some("contoso.com"));
    assert_eq!(org.initial_domain(), Some("contoso.onmicrosoft.com"));
    let domains = t.directory().domains().await.unwrap();
    assert_eq!(domains[0].id, "contoso.com");
}

#[tokio::test]
async fn inbox_rules_and_automatic_replies() {
    let (server, t) = contoso().await;
    let u = UserRef::parse("adelev@contoso.com").unwrap();
    let base = "/v1.0/users/adelev%40contoso.com/mailFolders/inbox/messageRules";
    stub(&server, &format!("GET {base}"))
        .reply(200, json!({"value": [{
            "id": "AQAAAJ5dZqA=", "displayName": "From partner", "sequence": 2, "isEnabled": true, "hasError": false, "isReadOnly": false,
            "conditions": {"senderContains": ["ADELE"]},
            "actions": {"forwardTo": [{"emailAddress": {"name": "Alex Wilber", "address": "attacker@evil.example"}}], "stopProcessingRules": true}}]}))
        .await;
    on(&server, &format!("PATCH {base}/AQAAAJ5dZqA%3D"))
        .body(json!({"isEnabled": false}))
        .reply(
            200,
            json!({"id": "AQAAAJ5dZqA=", "displayName": "From partner", "isEnabled": false}),
        )
        .await;
    on(&server, &format!("DELETE {base}/AQAAAJ5dZqA%3D")).reply(204, Value::Null).await;
    let settings = "/v1.0/users/adelev%40contoso.com/mailboxSettings";
    stub(&server, &format!("GET {settings}"))
        .reply(200, json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Me/mailboxSettings",
            "automaticRepliesSetting": {"status": "Scheduled", "externalAudience": "All",
                "scheduledStartDateTime": {"dateTime": "2016-03-14T07:00:00.0000000", "timeZone": "UTC"},
                "scheduledEndDateTime": {"dateTime": "2016-03-28T07:00:00.0000000", "timeZone": "UTC"},
                "internalReplyMessage": "<html>\n<body>\n<p>I'm at our company's worldwide reunion and will respond to your message as soon as I return.<br>\n</p></body>\n</html>\n",
                "externalReplyMessage": "<html>\n<body>\n<p>I'm at the Contoso worldwide reunion and will respond to your message as soon as I return.<br>\n</p></body>\n</html>\n"},
            "timeZone": "UTC", "language": {"locale": "en-US", "displayName": "English (United States)"}}))
        .await;
    on(&server, &format!("PATCH {settings}"))
        .body(json!({"automaticRepliesSetting": {"status": "alwaysEnabled", "externalAudience": "none", "internalReplyMessage": "Away"}}))
        .reply(200, json!({}))
        .await;
    let mail = t.mail();
    let rules = mail.inbox_rules(&u).await.unwrap();
    let forward = &rules[0].actions.as_ref().unwrap().forward_to[0];
    let to = forward.email_address.address.as_deref();
    assert_eq!(to, Some("attacker@evil.example"));
    let r = mail.set_inbox_rule_enabled(&u, &rules[0].id, false).await.unwrap();
    assert_eq!(r.is_enabled, Some(false));
    mail.delete_inbox_rule(&u, &rules[0].id).await.unwrap();
    let ar = mail.automatic_replies(&u).await.unwrap().unwrap();
    assert_eq!(ar.status, AutomaticRepliesStatus::Scheduled, "capitalised value read");
    assert_eq!(ar.external_audience, Some(ExternalAudience::All));
    let setting = AutomaticRepliesSetting {
        status: AutomaticRepliesStatus::AlwaysEnabled,
        external_audience: Some(ExternalAudience::None),
        scheduled_start_date_time: None,
        scheduled_end_date_time: None,
        internal_reply_message: Some("Away".into()),
        external_reply_message: None,
    };
    mail.set_automatic_replies(&u, &setting).await.unwrap();
    let bad = AutomaticRepliesSetting {
        status: AutomaticRepliesStatus::Scheduled,
        scheduled_start_date_time: Some(DateTimeTimeZone {
            date_time: "2026-12-01T00:00:00".into(),
            time_zone: "UTC".into(),
        }),
        ..setting
    };
    assert!(mail.set_automatic_replies(&u, &bad).await.is_err());
}
