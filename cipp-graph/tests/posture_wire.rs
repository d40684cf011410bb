//! Posture reads (`cipp_graph::posture`): the exact request of each, the documented answer
//! read (irregularities included: `null` credential lists, seven fractional digits),
//! Graph's errors read into the error, and bad input refused before anything is sent.
//!
//! Sources: "List applications" (v1.0, `$select` of credentials), "application resource
//! type" (passwordCredential, keyCredential), "servicePrincipal resource type"
//! (`preferredTokenSigningKeyEndDateTime`), "List subscriptions" (`directory/subscriptions`,
//! companySubscription), "List secureScores" (v1.0), "organization resource type" (beta:
//! `onPremisesLastPasswordSyncDateTime`), "user resource type" (`licenseAssignmentStates`).

mod common;

use cipp_graph::model::SubscribedSku;
use cipp_graph::posture::{service_plans, Posture, SecureScore};
use common::{contoso, nothing_sent, on};
use serde_json::json;

#[tokio::test]
async fn app_credentials_are_listed_with_their_dates() {
    let (server, t) = contoso().await;
    on(&server, "GET /v1.0/applications?$select=id,appId,displayName,passwordCredentials,keyCredentials&$top=999")
        .reply(200, json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#applications(id,appId,displayName,passwordCredentials,keyCredentials)",
            "value": [
                {"id": "03ef14b0-ca33-4840-8f4f-d6e91916010e", "appId": "631a96bc-a705-4eda-9f99-fdaf9f54f6a2",
                 "displayName": "Payroll connector",
                 "passwordCredentials": [{"customKeyIdentifier": null, "displayName": "Password friendly name",
                     "endDateTime": "2027-09-06T17:16:21.9005914Z", "hint": "Q~3", "keyId": "f0b0b335-1d71-4883-8f98-567911bfdca6",
                     "secretText": null, "startDateTime": "2025-09-06T17:16:21.9005914Z"}],
                 "keyCredentials": [{"customKeyIdentifier": "52ED9B5038A47B9E2E2190715CC238359D4F8F73", "displayName": "CN=payroll",
                     "endDateTime": "2026-12-01T00:00:00Z", "key": null, "keyId": "b4f0e3e7-2a4c-4d6b-9c3b-7f5d2c1a0e9f",
                     "startDateTime": "2024-12-01T00:00:00Z", "type": "AsymmetricX509Cert", "usage": "Verify"}]},
                {"id": "1d1b8ad3-6a4e-4a2b-8f7e-2a0b0c9d8e7f", "appId": "9c1b2a3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d",
                 "displayName": "No credentials", "passwordCredentials": null, "keyCredentials": []}
            ]
        }))
        .await;
    let apps = Posture::new(&t).app_credentials().await.unwrap();
    assert_eq!(apps.len(), 2);
    let secret = &apps[0].password_credentials[0];
    assert_eq!(secret.key_id.as_deref(), Some("f0b0b335-1d71-4883-8f98-567911bfdca6"));
    assert_eq!(secret.end_date_time.unwrap().to_rfc3339(), "2027-09-06T17:16:21.900591400+00:00");
    assert_eq!(secret.extra["hint"], "Q~3", "unknown properties kept");
    let cert = &apps[0].key_credentials[0];
    assert_eq!(cert.display_name.as_deref(), Some("CN=payroll"));
    assert!(cert.start_date_time.is_some());
    assert!(apps[1].password_credentials.is_empty(), "null reads as none");
}

#[tokio::test]
async fn signing_keys_of_service_principals() {
    let (server, t) = contoso().await;
    on(&server, "GET /v1.0/servicePrincipals?$select=id,appId,displayName,preferredTokenSigningKeyEndDateTime&$top=999")
        .reply(200, json!({"value": [
            {"id": "59e617e5-e447-4adc-8b88-00af644d7c92", "appId": "b1d1e1f1-1111-4111-8111-111111111111",
             "displayName": "Salesforce", "preferredTokenSigningKeyEndDateTime": "2027-01-15T10:20:30Z"},
            {"id": "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d", "appId": "00000003-0000-0000-c000-000000000000",
             "displayName": "Microsoft Graph", "preferredTokenSigningKeyEndDateTime": null}
        ]}))
        .await;
    let keys = Posture::new(&t).signing_keys().await.unwrap();
    assert_eq!(
        keys[0].preferred_token_signing_key_end_date_time.unwrap().to_rfc3339(),
        "2027-01-15T10:20:30+00:00"
    );
    assert!(keys[1].preferred_token_signing_key_end_date_time.is_none());
}

#[tokio::test]
async fn subscriptions_with_their_next_lifecycle() {
    let (server, t) = contoso().await;
    on(&server, "GET /v1.0/directory/subscriptions?$select=id,skuId,skuPartNumber,status,totalLicenses,isTrial,createdDateTime,nextLifecycleDateTime")
        .reply(200, json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#directory/subscriptions",
            "value": [{
                "id": "d2d8a4d8-52a4-4c3a-9f4e-8f5a3c1b2d7e", "commerceSubscriptionId": "4f8a2b9c-7d1e-4a3b-9c5d-2e6f8a1b3c4d",
                "createdDateTime": "2025-12-20T00:00:00Z", "isTrial": false, "nextLifecycleDateTime": "2026-12-20T00:00:00Z",
                "ownerId": null, "ownerTenantId": null, "ownerType": null,
                "serviceStatus": [{"servicePlanId": "113feb6c-3fe4-4440-bddc-54d774bf0318", "servicePlanName": "EXCHANGE_S_FOUNDATION",
                                   "provisioningStatus": "Success", "appliesTo": "Company"}],
                "skuId": "6fd2c87f-b296-42f0-b197-1e91e994b900", "skuPartNumber": "ENTERPRISEPACK",
                "status": "Enabled", "totalLicenses": 25
            }]
        }))
        .await;
    let subs = Posture::new(&t).subscriptions().await.unwrap();
    assert_eq!(subs[0].sku_id.as_deref(), Some("6fd2c87f-b296-42f0-b197-1e91e994b900"));
    assert_eq!(subs[0].total_licenses, Some(25));
    assert_eq!(subs[0].is_trial, Some(false));
    assert_eq!(subs[0].next_lifecycle_date_time.unwrap().to_rfc3339(), "2026-12-20T00:00:00+00:00");
    assert!(subs[0].extra.contains_key("serviceStatus"));
}

#[tokio::test]
async fn secure_scores_read_one_page_only() {
    let (server, t) = contoso().await;
    on(&server, "GET /v1.0/security/secureScores?$top=2")
        .reply(200, json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#security/secureScores",
            "@odata.nextLink": format!("{}/v1.0/security/secureScores?$top=2&$skip=2", server.uri()),
            "value": [
                {"id": "00000001-0001-0001-0001-000000000001_2026-11-27", "azureTenantId": "00000001-0001-0001-0001-000000000001",
                 "activeUserCount": 0, "createdDateTime": "2026-11-27T15:41:55.6519919Z", "currentScore": 234.0, "maxScore": 427.0,
                 "enabledServices": ["HasExchange", "HasSharePoint", "HasOD4B", "HasCloudDiscovery"], "licensedUserCount": 0,
                 "averageComparativeScores": [{"basis": "AllTenants", "averageScore": 33.0}],
                 "controlScores": [{"controlCategory": "Identity", "controlName": "AdminMFA", "description": "...", "score": 10.0}],
                 "vendorInformation": {"provider": "SecureScore", "providerVersion": null, "subProvider": null, "vendor": "Microsoft"}},
                {"id": "00000001-0001-0001-0001-000000000001_2026-11-26", "createdDateTime": "2026-11-26T15:41:55Z",
                 "currentScore": 240, "maxScore": 427}
            ]
        }))
        .await;
    let scores = Posture::new(&t).secure_scores(2).await.unwrap();
    assert_eq!(scores.len(), 2, "the next link is not followed");
    assert_eq!(scores[0].current_score, Some(234.0));
    assert_eq!(scores[0].percentage(), Some(54.8));
    assert_eq!(scores[1].current_score, Some(240.0), "integers read as numbers of points");
    assert!(scores[0].extra.contains_key("controlScores"));
}

#[test]
fn a_score_with_nothing_attainable_has_no_percentage() {
    let s = SecureScore { current_score: Some(3.0), max_score: Some(0.0), ..Default::default() };
    assert_eq!(s.percentage(), None);
    let s = SecureScore { current_score: Some(1.0), max_score: Some(3.0), ..Default::default() };
    assert_eq!(s.percentage(), Some(33.33));
}

#[tokio::test]
async fn secure_scores_refused_days_send_nothing_and_errors_are_graphs() {
    let (server, t) = contoso().await;
    for days in [0, 91] {
        let err = Posture::new(&t).secure_scores(days).await.unwrap_err();
        assert!(err.to_string().contains("days"), "{err}");
    }
    nothing_sent(&server).await;
    on(&server, "GET /v1.0/security/secureScores?$top=1")
        .fail(403, "Forbidden", "Insufficient privileges to complete the operation.")
        .await;
    let err = Posture::new(&t).secure_scores(1).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(403));
    assert_eq!(err.request_id(), Some("rid-1"));
}

#[tokio::test]
async fn organization_sync_status_from_beta() {
    let (server, t) = contoso().await;
    on(&server, "GET /beta/organization?$select=id,onPremisesSyncEnabled,onPremisesLastSyncDateTime,onPremisesLastPasswordSyncDateTime")
        .reply(200, json!({"value": [{
            "id": "84841066-274d-4ec0-a5c1-276be684bdd3", "onPremisesSyncEnabled": true,
            "onPremisesLastSyncDateTime": "2026-11-27T08:31:12Z", "onPremisesLastPasswordSyncDateTime": null
        }]}))
        .await;
    let sync = Posture::new(&t).organization_sync().await.unwrap();
    assert_eq!(sync.on_premises_sync_enabled, Some(true));
    assert_eq!(
        sync.on_premises_last_sync_date_time.unwrap().to_rfc3339(),
        "2026-11-27T08:31:12+00:00"
    );
    assert!(sync.on_premises_last_password_sync_date_time.is_none());
}

#[tokio::test]
async fn an_empty_organization_answer_is_a_protocol_error() {
    let (server, t) = contoso().await;
    on(&server, "GET /beta/organization").reply(200, json!({"value": []})).await;
    let err = Posture::new(&t).organization_sync().await.unwrap_err();
    assert!(err.to_string().contains("no organization"), "{err}");
}

#[tokio::test]
async fn license_assignment_states_with_errors() {
    let (server, t) = contoso().await;
    on(&server, "GET /v1.0/users?$select=id,userPrincipalName,displayName,licenseAssignmentStates&$top=999")
        .reply(200, json!({"value": [
            {"id": "8d9e6d1b-1c2a-4f3e-9a8b-7c6d5e4f3a2b", "userPrincipalName": "adelev@contoso.com", "displayName": "Adele Vance",
             "licenseAssignmentStates": [
                {"skuId": "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46", "disabledPlans": [], "assignedByGroup": null,
                 "state": "Active", "error": "None", "lastUpdatedDateTime": "2026-01-10T12:00:00Z"},
                {"skuId": "4b9405b0-7788-4568-add1-99614e613b69", "disabledPlans": [],
                 "assignedByGroup": "e61ff361-5baf-41f0-b2fd-380a6a5e406a", "state": "Error",
                 "error": "CountViolation", "lastUpdatedDateTime": "2026-11-20T12:00:00Z"}]},
            {"id": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d", "userPrincipalName": "new@contoso.com", "licenseAssignmentStates": null}
        ]}))
        .await;
    let users = Posture::new(&t).license_assignment_states().await.unwrap();
    let states = &users[0].license_assignment_states;
    assert_eq!(states[0].failure(), None, "`None` is no error");
    assert_eq!(states[1].failure(), Some("CountViolation"));
    assert_eq!(
        states[1].assigned_by_group.as_deref(),
        Some("e61ff361-5baf-41f0-b2fd-380a6a5e406a")
    );
    assert!(users[1].license_assignment_states.is_empty());
}

#[test]
fn service_plans_of_a_licence() {
    let sku: SubscribedSku = serde_json::from_value(json!({
        "skuId": "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46", "prepaidUnits": {"enabled": 10},
        "servicePlans": [{"servicePlanId": "41781fb2-bc02-4b7c-bd55-b576c07bb09d", "servicePlanName": "AAD_PREMIUM",
                          "provisioningStatus": "Success", "appliesTo": "User"}]
    }))
    .unwrap();
    let plans = service_plans(&sku);
    assert_eq!(plans[0].service_plan_name.as_deref(), Some("AAD_PREMIUM"));
    let bare: SubscribedSku = serde_json::from_value(json!({"skuId": "x"})).unwrap();
    assert!(service_plans(&bare).is_empty());
}

#[tokio::test]
async fn the_simulator_answers_every_read() {
    let (sim, graph, _clock) = common::demo();
    let contoso = graph.tenant(&common::tid("contoso.com"));
    let p = Posture::new(&contoso);
    // Defaults: one yearly subscription per licence, renewing on 1 March.
    let subs = p.subscriptions().await.unwrap();
    assert_eq!(subs.len(), 2);
    assert!(subs
        .iter()
        .all(|s| s.next_lifecycle_date_time.unwrap().to_rfc3339() == "2027-03-01T00:00:00+00:00"));
    let scores = p.secure_scores(1).await.unwrap();
    assert_eq!(scores.len(), 1);
    assert_eq!(scores[0].percentage(), Some(52.5));
    assert_eq!(p.organization_sync().await.unwrap().on_premises_sync_enabled, None);
    assert!(p.app_credentials().await.unwrap().is_empty());
    assert!(p.license_assignment_states().await.unwrap().len() > 3);
    // Seeded state is answered as seeded.
    {
        let mut st = sim.lock_state();
        let t = st.tenant_mut("contoso.com").unwrap();
        t.set_directory_sync(Some(true), Some("2026-11-20T00:00:00Z".parse().unwrap()), None);
        t.applications_mut().insert(json!({"id": "a1", "appId": "b1", "displayName": "App",
            "passwordCredentials": [{"keyId": "k1", "endDateTime": "2026-12-01T00:00:00Z"}], "keyCredentials": []}));
    }
    let sync = p.organization_sync().await.unwrap();
    assert_eq!(sync.on_premises_sync_enabled, Some(true));
    assert!(sync.on_premises_last_sync_date_time.is_some());
    let apps = p.app_credentials().await.unwrap();
    assert_eq!(apps[0].password_credentials[0].key_id.as_deref(), Some("k1"));
}
