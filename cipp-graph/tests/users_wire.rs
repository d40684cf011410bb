//! Users over the real HTTP path (wiremock): method, path, query, headers and body sent,
//! and the documented response shapes read.

mod common;

use cipp_core::ApiErrorKind;
use cipp_graph::model::{AssignedLicense, DirectoryObjectId, Field, SkuId, UserPatch};
use cipp_graph::odata::Query;
use cipp_graph::password::PasswordStyle;
use cipp_graph::users::UserRef;
use common::*;

use cipp_graph::TenantGraph;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use wiremock::{MockServer, ResponseTemplate};

const ADELE: &str = "87d349ed-44d7-43e1-9a83-5f2406dee5bd";
const SKU: &str = "6fd2c87f-b296-42f0-b197-1e91e994b900";
const NO_USAGE_LOCATION: &str =
    "License assignment cannot be done for user with invalid usage location.";

#[tokio::test]
async fn list_users_with_advanced_query() {
    let (server, t) = contoso().await;
    on(&server, "GET /v1.0/users?$select=id,displayName,mail&$filter=endswith(mail,'@contoso.com')&$orderby=displayName&$count=true")
        .header("consistencylevel", "eventual")
        .reply(200, json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users(id,displayName,mail)",
            "@odata.count": 1,
            "value": [{"id": ADELE, "displayName": "Adele Vance", "mail": "AdeleV@contoso.com", "someNewProperty": {"x": 1}}]
        }))
        .await;
    let q = Query::new()
        .select(["id", "displayName", "mail"])
        .filter("endswith(mail,'@contoso.com')")
        .orderby("displayName");
    let users: Vec<_> = t.users().list().query(q).collect().await.unwrap();
    assert_eq!(users[0].display_name.as_deref(), Some("Adele Vance"));
    let extra = &users[0].extra["someNewProperty"];
    assert_eq!(extra, &json!({"x": 1}), "unknown fields kept");
}

#[tokio::test]
async fn get_guest_user_escapes_the_upn_and_reads_the_documented_user() {
    let (server, t) = contoso().await;
    on(&server, "GET /v1.0/users/john_fabrikam.com%23EXT%23%40contoso.onmicrosoft.com")
        .reply(200, json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users/$entity",
            "businessPhones": ["+1 425 555 0109"], "displayName": "John Guest", "givenName": "John",
            "jobTitle": null, "mail": "john@fabrikam.com", "mobilePhone": null, "officeLocation": null,
            "preferredLanguage": "en-US", "surname": "Guest",
            "userPrincipalName": "john_fabrikam.com#EXT#@contoso.onmicrosoft.com",
            "id": "48d31887-5fad-4d73-a9f5-3c356e68a038", "userType": "Guest",
            "onPremisesLastSyncDateTime": "", "createdDateTime": "2019-02-05T20:38:27Z"
        }))
        .await;
    let guest = UserRef::parse("john_fabrikam.com#EXT#@contoso.onmicrosoft.com").unwrap();
    let u = t.users().get(&guest).await.unwrap();
    assert!(u.is_guest());
    let last_sync = u.on_premises_last_sync_date_time;
    assert_eq!(last_sync, None, "empty-string timestamp read as absent");
    assert!(u.created_date_time.is_some());
}

#[tokio::test]
async fn get_missing_user_is_not_found_with_request_id() {
    let (server, t) = contoso().await;
    stub(&server, "GET /v1.0/users/nobody%40contoso.com")
        .fail(404, "Request_ResourceNotFound", "Resource 'nobody@contoso.com' does not exist or one of its queried reference-property objects are not present.")
        .await;
    let nobody = UserRef::parse("nobody@contoso.com").unwrap();
    let err = t.users().get(&nobody).await.unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(err.request_id(), Some("rid-1"));
}

#[tokio::test]
async fn create_user_sends_the_documented_body() {
    let (server, t) = contoso().await;
    on(&server, "POST /v1.0/users")
        .header("content-type", "application/json")
        .body(json!({
            "accountEnabled": true, "displayName": "Adele Vance", "mailNickname": "AdeleV",
            "userPrincipalName": "AdeleV@contoso.com", "usageLocation": "GB",
            "passwordProfile": {"forceChangePasswordNextSignIn": true, "password": "xWwvJ]6NMw+bWH-d"}
        }))
        .reply(201, json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users/$entity",
            "id": ADELE, "businessPhones": [], "displayName": "Adele Vance", "userPrincipalName": "AdeleV@contoso.com"
        }))
        .await;
    let new = new_user("Adele Vance", "AdeleV@contoso.com", "xWwvJ]6NMw+bWH-d", Some("GB"));
    let u = t.users().create(&new).await.unwrap();
    assert_eq!(u.id.unwrap().as_str(), ADELE);
}

#[tokio::test]
async fn invalid_input_sends_nothing() {
    let (server, t) = contoso().await;
    let users = t.users();
    let mut bad = new_user("X", "no-at-sign", "p", None);
    assert!(users.create(&bad).await.is_err());
    bad.user_principal_name = "x@contoso.com".into();
    bad.usage_location = Some("GBR".into());
    assert!(users.create(&bad).await.is_err());
    assert!(UserRef::parse("no-at-sign").is_err());
    let u = UserRef::parse("x@contoso.com").unwrap();
    assert!(users.update(&u, &UserPatch::default()).await.is_err());
    let not_a_guid = DirectoryObjectId::from("not-a-guid");
    assert!(users.delete_permanently(&not_a_guid).await.is_err());
    assert!(users.assign_licenses(&u, &[], &[], None).await.is_err());
    nothing_sent(&server).await;
}

#[tokio::test]
async fn update_sets_and_clears_fields() {
    let (server, t) = contoso().await;
    on(&server, &format!("PATCH /v1.0/users/{ADELE}"))
        .body(json!({"jobTitle": "Engineer", "department": null, "businessPhones": []}))
        .reply(204, Value::Null)
        .await;
    let patch = UserPatch {
        job_title: Field::Set("Engineer".into()),
        department: Field::Clear,
        business_phones: Field::Set(vec![]),
        ..Default::default()
    };
    t.users().update(&user(ADELE), &patch).await.unwrap();
}

#[tokio::test]
async fn delete_restore_and_purge() {
    let (server, t) = contoso().await;
    on(&server, &format!("DELETE /v1.0/users/{ADELE}")).reply(204, Value::Null).await;
    on(&server, "GET /v1.0/directory/deletedItems/microsoft.graph.user")
        .reply(200, json!({"value": [
            {"id": ADELE, "displayName": "Adele Vance", "deletedDateTime": "2026-11-20T10:00:00Z"}]}))
        .await;
    on(&server, &format!("POST /v1.0/directory/deletedItems/{ADELE}/restore"))
        .reply(
            200,
            json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#directoryObjects/$entity",
            "@odata.type": "#microsoft.graph.user", "id": ADELE, "displayName": "Adele Vance"}),
        )
        .await;
    on(&server, &format!("DELETE /v1.0/directory/deletedItems/{ADELE}"))
        .reply(204, Value::Null)
        .await;
    let users = t.users();
    users.delete(&user(ADELE)).await.unwrap();
    let deleted: Vec<_> = users.list_deleted().query(Query::new()).collect().await.unwrap();
    assert!(deleted[0].deleted_date_time.is_some());
    let id = DirectoryObjectId::from(ADELE);
    let restored = users.restore(&id).await.unwrap();
    let kind = restored.odata_type.as_deref();
    assert_eq!(kind, Some("#microsoft.graph.user"));
    users.delete_permanently(&id).await.unwrap();
}

#[tokio::test]
async fn revoke_sessions_and_block_sign_in() {
    let (server, t) = contoso().await;
    let u = UserRef::parse("adelev@contoso.com").unwrap();
    on(&server, "POST /v1.0/users/adelev%40contoso.com/revokeSignInSessions")
        .reply(200, json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Edm.Boolean", "value": true}))
        .await;
    on(&server, "PATCH /v1.0/users/adelev%40contoso.com")
        .body(json!({"accountEnabled": false}))
        .reply(204, Value::Null)
        .await;
    assert!(t.users().revoke_sessions(&u).await.unwrap());
    t.users().set_sign_in(&u, false).await.unwrap();
}

/// A mock server where Adele reads with `onPremisesSyncEnabled` = `synced` (what a
/// password reset checks first), and Contoso's Graph.
async fn adele_synced(synced: Value) -> (MockServer, TenantGraph) {
    let (server, t) = contoso().await;
    let read = format!("GET /v1.0/users/{ADELE}?$select=id,onPremisesSyncEnabled");
    stub(&server, &read).reply(200, json!({"id": ADELE, "onPremisesSyncEnabled": synced})).await;
    (server, t)
}

#[tokio::test]
async fn reset_password_cloud_user_uses_password_profile() {
    let (server, t) = adele_synced(Value::Null).await;
    on(&server, &format!("PATCH /v1.0/users/{ADELE}")).reply(204, Value::Null).await;
    let style = PasswordStyle::default();
    let r = t.users().reset_password(&user(ADELE), None, &style, false).await;
    let r = r.unwrap();
    assert!(!r.via_writeback);
    let sent = received(&server, "PATCH", &format!("/v1.0/users/{ADELE}")).await;
    let profile = &sent["passwordProfile"];
    assert_eq!(profile["forceChangePasswordNextSignIn"], false);
    assert_eq!(profile["password"], r.password.expose_secret());
    assert_eq!(r.password.expose_secret().len(), 14);
}

#[tokio::test]
async fn reset_password_synced_user_goes_through_writeback() {
    let (server, t) = adele_synced(json!(true)).await;
    let writeback = format!("POST /beta/users/{ADELE}/authentication/methods/28c10230-6103-485e-b985-444c60001490/resetPassword");
    let location = "https://graph.microsoft.com/beta/users/x/authentication/operations/y";
    on(&server, &writeback)
        .body(json!({"newPassword": "Given-Passw0rd!"}))
        .respond(ResponseTemplate::new(202).insert_header("location", location))
        .await;
    let given = Some(SecretString::from("Given-Passw0rd!"));
    let style = PasswordStyle::default();
    let r = t.users().reset_password(&user(ADELE), given, &style, false).await;
    let r = r.unwrap();
    assert!(r.via_writeback && r.must_change);
}

#[tokio::test]
async fn change_upn_checks_the_domain_first() {
    let (server, t) = contoso().await;
    stub(&server, "GET /v1.0/domains")
        .reply(200, json!({"value": [
            {"id": "contoso.onmicrosoft.com", "isVerified": true, "isDefault": false, "isInitial": true, "authenticationType": "Managed"},
            {"id": "contoso.com", "isVerified": true, "isDefault": true, "isInitial": false, "authenticationType": "Managed"},
            {"id": "pending.example", "isVerified": false}]}))
        .await;
    on(&server, &format!("PATCH /v1.0/users/{ADELE}"))
        .body(json!({"userPrincipalName": "adele.vance@contoso.com"}))
        .reply(204, Value::Null)
        .await;
    let users = t.users();
    users.change_upn(&user(ADELE), "adele.vance@contoso.com").await.unwrap();
    for bad in ["adele@fabrikam.com", "adele@pending.example"] {
        let err = users.change_upn(&user(ADELE), bad).await.unwrap_err();
        assert!(err.to_string().contains("not a verified domain"), "{err}");
    }
}

#[tokio::test]
async fn manager_set_and_removed() {
    let (server, t) = contoso().await;
    let mgr = "48d31887-5fad-4d73-a9f5-3c356e68a038";
    let manager_ref = format!("/v1.0/users/{ADELE}/manager/$ref");
    on(&server, &format!("PUT {manager_ref}"))
        .body(object_ref(&server, mgr))
        .reply(204, Value::Null)
        .await;
    on(&server, &format!("DELETE {manager_ref}")).reply(204, Value::Null).await;
    let users = t.users();
    let id = DirectoryObjectId::from(mgr);
    users.set_manager(&user(ADELE), &id).await.unwrap();
    users.remove_manager(&user(ADELE)).await.unwrap();
}

#[tokio::test]
async fn memberships_polymorphic() {
    let (server, t) = contoso().await;
    stub(&server, &format!("GET /v1.0/users/{ADELE}/transitiveMemberOf"))
        .reply(200, json!({"value": [
            {"@odata.type": "#microsoft.graph.group", "id": "g1", "displayName": "All Staff", "groupTypes": ["Unified"]},
            {"@odata.type": "#microsoft.graph.directoryRole", "id": "r1", "displayName": "Global Administrator", "roleTemplateId": "62e90394-69f5-4237-9190-012177145e10"}]}))
        .await;
    let m: Vec<_> = t.users().member_of(&user(ADELE), true).collect().await.unwrap();
    let role = &m[1];
    assert_eq!(role.odata_type.as_deref(), Some("#microsoft.graph.directoryRole"));
    assert_eq!(role.extra["roleTemplateId"], "62e90394-69f5-4237-9190-012177145e10");
}

#[tokio::test]
async fn licences_retry_after_setting_a_usage_location() {
    let (server, t) = contoso().await;
    let assign = format!("POST /v1.0/users/{ADELE}/assignLicense");
    on(&server, &assign).first(1).fail(400, "Request_BadRequest", NO_USAGE_LOCATION).await;
    on(&server, &format!("PATCH /v1.0/users/{ADELE}"))
        .body(json!({"usageLocation": "US"}))
        .reply(204, Value::Null)
        .await;
    let license = json!([{"skuId": SKU, "disabledPlans": []}]);
    on(&server, &assign)
        .body(json!({"addLicenses": license, "removeLicenses": []}))
        .reply(200, json!({"id": ADELE, "assignedLicenses": license}))
        .await;
    let add = [AssignedLicense { sku_id: SkuId(SKU.into()), disabled_plans: vec![] }];
    let users = t.users();
    let user = users.assign_licenses(&user(ADELE), &add, &[], Some("US")).await;
    let assigned = user.unwrap().assigned_licenses.unwrap();
    assert_eq!(assigned[0].sku_id.as_str(), SKU);
}

#[tokio::test]
async fn licence_without_usage_location_fallback_reports_the_error() {
    let (server, t) = contoso().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(graph_error(400, "Request_BadRequest", NO_USAGE_LOCATION))
        .mount(&server)
        .await;
    let remove = [SkuId(SKU.into())];
    let err = t.users().assign_licenses(&user(ADELE), &[], &remove, None).await;
    let err = err.unwrap_err();
    assert_eq!(err.as_api().unwrap().kind, ApiErrorKind::BadRequest);
}

#[tokio::test]
async fn subscribed_skus_and_small_patches() {
    let (server, t) = contoso().await;
    stub(&server, "GET /v1.0/subscribedSkus")
        .reply(200, json!({"value": [{
            "capabilityStatus": "Enabled", "consumedUnits": 14, "id": "48a80680-7326-48cd-9935-b556b81d3a4e_c7df2760-2c81-4ef7-b578-5b5392b571df",
            "prepaidUnits": {"enabled": 25, "suspended": 0, "warning": 0}, "skuId": "c7df2760-2c81-4ef7-b578-5b5392b571df",
            "skuPartNumber": "ENTERPRISEPREMIUM", "servicePlans": []}]}))
        .await;
    let skus: Vec<_> = t.directory().subscribed_skus().collect().await.unwrap();
    assert_eq!(skus[0].available(), Some(11));

    let u = user(ADELE);
    for (name, body, call) in [
        ("never expires", json!({"passwordPolicies": "DisablePasswordExpiration"}), 0),
        ("expires", json!({"passwordPolicies": "None"}), 1),
        ("clear immutable id", json!({"onPremisesImmutableId": null}), 2),
    ] {
        let (server2, t2) = contoso().await;
        on(&server2, &format!("PATCH /v1.0/users/{ADELE}"))
            .body(body)
            .reply(204, Value::Null)
            .await;
        let users = t2.users();
        let done = match call {
            0 => users.set_password_never_expires(&u, true).await,
            1 => users.set_password_never_expires(&u, false).await,
            _ => users.clear_immutable_id(&u).await,
        };
        done.unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    on(&server, &format!("POST /v1.0/users/{ADELE}/reprocessLicenseAssignment"))
        .reply(200, json!({"id": ADELE}))
        .await;
    t.users().reprocess_licenses(&u).await.unwrap();
}
