//! Users over the real HTTP path (wiremock): method, path, query, headers and body sent,
//! and the documented response shapes read.

mod common;

use cipp_core::ApiErrorKind;
use cipp_graph::model::{AssignedLicense, Field, NewUser, PasswordProfile, SkuId, UserPatch};
use cipp_graph::odata::Query;
use cipp_graph::password::PasswordStyle;
use cipp_graph::users::UserRef;
use common::*;

use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

const ADELE: &str = "87d349ed-44d7-43e1-9a83-5f2406dee5bd";

#[tokio::test]
async fn list_users_with_advanced_query() {
    let (server, graph) = client().await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users"))
        .and(query_param("$select", "id,displayName,mail"))
        .and(query_param("$filter", "endswith(mail,'@contoso.com')"))
        .and(query_param("$orderby", "displayName"))
        .and(query_param("$count", "true"))
        .and(header("consistencylevel", "eventual"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users(id,displayName,mail)",
            "@odata.count": 1,
            "value": [{"id": ADELE, "displayName": "Adele Vance", "mail": "AdeleV@contoso.com", "someNewProperty": {"x": 1}}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let q = Query::new()
        .select(["id", "displayName", "mail"])
        .filter("endswith(mail,'@contoso.com')")
        .orderby("displayName");
    let users: Vec<_> = graph
        .tenant(&tenant())
        .users()
        .list()
        .query(q.clone())
        .collect()
        .await
        .unwrap();
    assert_eq!(users[0].display_name.as_deref(), Some("Adele Vance"));
    assert_eq!(
        users[0].extra["someNewProperty"],
        json!({"x": 1}),
        "unknown fields kept"
    );
}

#[tokio::test]
async fn get_guest_user_escapes_the_upn_and_reads_the_documented_user() {
    let (server, graph) = client().await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users/john_fabrikam.com%23EXT%23%40contoso.onmicrosoft.com"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users/$entity",
            "businessPhones": ["+1 425 555 0109"], "displayName": "John Guest", "givenName": "John",
            "jobTitle": null, "mail": "john@fabrikam.com", "mobilePhone": null, "officeLocation": null,
            "preferredLanguage": "en-US", "surname": "Guest",
            "userPrincipalName": "john_fabrikam.com#EXT#@contoso.onmicrosoft.com",
            "id": "48d31887-5fad-4d73-a9f5-3c356e68a038", "userType": "Guest",
            "onPremisesLastSyncDateTime": "", "createdDateTime": "2019-02-05T20:38:27Z"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let u = graph
        .tenant(&tenant())
        .users()
        .get(&UserRef::parse("john_fabrikam.com#EXT#@contoso.onmicrosoft.com").unwrap())
        .await
        .unwrap();
    assert!(u.is_guest());
    assert_eq!(
        u.on_premises_last_sync_date_time, None,
        "empty-string timestamp read as absent"
    );
    assert!(u.created_date_time.is_some());
}

#[tokio::test]
async fn get_missing_user_is_not_found_with_request_id() {
    let (server, graph) = client().await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users/nobody%40contoso.com"))
        .respond_with(graph_error(404, "Request_ResourceNotFound", "Resource 'nobody@contoso.com' does not exist or one of its queried reference-property objects are not present."))
        .mount(&server)
        .await;
    let err = graph
        .tenant(&tenant())
        .users()
        .get(&UserRef::parse("nobody@contoso.com").unwrap())
        .await
        .unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(err.request_id(), Some("rid-1"));
}

#[tokio::test]
async fn create_user_sends_the_documented_body() {
    let (server, graph) = client().await;
    Mock::given(method("POST"))
        .and(path("/v1.0/users"))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "accountEnabled": true, "displayName": "Adele Vance", "mailNickname": "AdeleV",
            "userPrincipalName": "AdeleV@contoso.com", "usageLocation": "GB",
            "passwordProfile": {"forceChangePasswordNextSignIn": true, "password": "xWwvJ]6NMw+bWH-d"}
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users/$entity",
            "id": ADELE, "businessPhones": [], "displayName": "Adele Vance", "userPrincipalName": "AdeleV@contoso.com"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let new = NewUser {
        account_enabled: true,
        display_name: "Adele Vance".into(),
        mail_nickname: "AdeleV".into(),
        user_principal_name: "AdeleV@contoso.com".into(),
        password_profile: PasswordProfile {
            force_change_password_next_sign_in: true,
            password: SecretString::from("xWwvJ]6NMw+bWH-d"),
        },
        usage_location: Some("GB".into()),
        given_name: None,
        surname: None,
        job_title: None,
        department: None,
        extra: Default::default(),
    };
    let u = graph.tenant(&tenant()).users().create(&new).await.unwrap();
    assert_eq!(u.id.unwrap().as_str(), ADELE);
}

#[tokio::test]
async fn invalid_input_sends_nothing() {
    let (server, graph) = client().await;
    let mut bad = NewUser {
        account_enabled: true,
        display_name: "X".into(),
        mail_nickname: "x".into(),
        user_principal_name: "no-at-sign".into(),
        password_profile: PasswordProfile {
            force_change_password_next_sign_in: true,
            password: SecretString::from("p"),
        },
        usage_location: None,
        given_name: None,
        surname: None,
        job_title: None,
        department: None,
        extra: Default::default(),
    };
    assert!(graph.tenant(&tenant()).users().create(&bad).await.is_err());
    bad.user_principal_name = "x@contoso.com".into();
    bad.usage_location = Some("GBR".into());
    assert!(graph.tenant(&tenant()).users().create(&bad).await.is_err());
    assert!(UserRef::parse("no-at-sign").is_err());
    let u = UserRef::parse("x@contoso.com").unwrap();
    assert!(graph
        .tenant(&tenant())
        .users()
        .update(&u, &UserPatch::default())
        .await
        .is_err());
    assert!(graph
        .tenant(&tenant())
        .users()
        .delete_permanently(&cipp_graph::model::DirectoryObjectId::from("not-a-guid"))
        .await
        .is_err());
    assert!(graph
        .tenant(&tenant())
        .users()
        .assign_licenses(&u, &[], &[], None)
        .await
        .is_err());
    assert!(
        server.received_requests().await.unwrap().is_empty(),
        "nothing was sent"
    );
}

#[tokio::test]
async fn update_sets_and_clears_fields() {
    let (server, graph) = client().await;
    Mock::given(method("PATCH"))
        .and(path(format!("/v1.0/users/{ADELE}")))
        .and(body_json(
            json!({"jobTitle": "Engineer", "department": null, "businessPhones": []}),
        ))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let patch = UserPatch {
        job_title: Field::Set("Engineer".into()),
        department: Field::Clear,
        business_phones: Field::Set(vec![]),
        ..Default::default()
    };
    graph
        .tenant(&tenant())
        .users()
        .update(&UserRef::parse(ADELE).unwrap(), &patch)
        .await
        .unwrap();
}

#[tokio::test]
async fn delete_restore_and_purge() {
    let (server, graph) = client().await;
    let u = UserRef::parse(ADELE).unwrap();
    Mock::given(method("DELETE"))
        .and(path(format!("/v1.0/users/{ADELE}")))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/directory/deletedItems/microsoft.graph.user"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [
            {"id": ADELE, "displayName": "Adele Vance", "deletedDateTime": "2026-11-20T10:00:00Z"}]})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!(
            "/v1.0/directory/deletedItems/{ADELE}/restore"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#directoryObjects/$entity",
            "@odata.type": "#microsoft.graph.user", "id": ADELE, "displayName": "Adele Vance"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("/v1.0/directory/deletedItems/{ADELE}")))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    graph.tenant(&tenant()).users().delete(&u).await.unwrap();
    let deleted: Vec<_> = graph
        .tenant(&tenant())
        .users()
        .list_deleted()
        .query(Query::new())
        .collect()
        .await
        .unwrap();
    assert!(deleted[0].deleted_date_time.is_some());
    let restored = graph
        .tenant(&tenant())
        .users()
        .restore(&cipp_graph::model::DirectoryObjectId::from(ADELE))
        .await
        .unwrap();
    assert_eq!(
        restored.odata_type.as_deref(),
        Some("#microsoft.graph.user")
    );
    graph
        .tenant(&tenant())
        .users()
        .delete_permanently(&cipp_graph::model::DirectoryObjectId::from(ADELE))
        .await
        .unwrap();
}

#[tokio::test]
async fn revoke_sessions_and_block_sign_in() {
    let (server, graph) = client().await;
    let u = UserRef::parse("adelev@contoso.com").unwrap();
    Mock::given(method("POST"))
        .and(path("/v1.0/users/adelev%40contoso.com/revokeSignInSessions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Edm.Boolean", "value": true})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/v1.0/users/adelev%40contoso.com"))
        .and(body_json(json!({"accountEnabled": false})))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    assert!(graph
        .tenant(&tenant())
        .users()
        .revoke_sessions(&u)
        .await
        .unwrap());
    graph
        .tenant(&tenant())
        .users()
        .set_sign_in(&u, false)
        .await
        .unwrap();
}

#[tokio::test]
async fn reset_password_cloud_user_uses_password_profile() {
    let (server, graph) = client().await;
    let u = UserRef::parse(ADELE).unwrap();
    Mock::given(method("GET"))
        .and(path(format!("/v1.0/users/{ADELE}")))
        .and(query_param("$select", "id,onPremisesSyncEnabled"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": ADELE, "onPremisesSyncEnabled": null})),
        )
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(format!("/v1.0/users/{ADELE}")))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let r = graph
        .tenant(&tenant())
        .users()
        .reset_password(&u, None, &PasswordStyle::default(), false)
        .await
        .unwrap();
    assert!(!r.via_writeback);
    let sent = received(&server, "PATCH", &format!("/v1.0/users/{ADELE}")).await;
    assert_eq!(
        sent["passwordProfile"]["forceChangePasswordNextSignIn"],
        false
    );
    assert_eq!(
        sent["passwordProfile"]["password"],
        r.password.expose_secret()
    );
    assert_eq!(r.password.expose_secret().len(), 14);
}

#[tokio::test]
async fn reset_password_synced_user_goes_through_writeback() {
    let (server, graph) = client().await;
    let u = UserRef::parse(ADELE).unwrap();
    Mock::given(method("GET"))
        .and(path(format!("/v1.0/users/{ADELE}")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": ADELE, "onPremisesSyncEnabled": true})),
        )
        .mount(&server)
        .await;
    let writeback = format!("/beta/users/{ADELE}/authentication/methods/28c10230-6103-485e-b985-444c60001490/resetPassword");
    Mock::given(method("POST"))
        .and(path(writeback.as_str()))
        .and(body_json(json!({"newPassword": "Given-Passw0rd!"})))
        .respond_with(ResponseTemplate::new(202).insert_header(
            "location",
            "https://graph.microsoft.com/beta/users/x/authentication/operations/y",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let r = graph
        .tenant(&tenant())
        .users()
        .reset_password(
            &u,
            Some(SecretString::from("Given-Passw0rd!")),
            &PasswordStyle::default(),
            false,
        )
        .await
        .unwrap();
    assert!(r.via_writeback && r.must_change);
}

#[tokio::test]
async fn change_upn_checks_the_domain_first() {
    let (server, graph) = client().await;
    let u = UserRef::parse(ADELE).unwrap();
    Mock::given(method("GET"))
        .and(path("/v1.0/domains"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [
            {"id": "contoso.onmicrosoft.com", "isVerified": true, "isDefault": false, "isInitial": true, "authenticationType": "Managed"},
            {"id": "contoso.com", "isVerified": true, "isDefault": true, "isInitial": false, "authenticationType": "Managed"},
            {"id": "pending.example", "isVerified": false}]})))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(format!("/v1.0/users/{ADELE}")))
        .and(body_json(
            json!({"userPrincipalName": "adele.vance@contoso.com"}),
        ))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    graph
        .tenant(&tenant())
        .users()
        .change_upn(&u, "adele.vance@contoso.com")
        .await
        .unwrap();
    for bad in ["adele@fabrikam.com", "adele@pending.example"] {
        let err = graph
            .tenant(&tenant())
            .users()
            .change_upn(&u, bad)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("not a verified domain"), "{err}");
    }
}

#[tokio::test]
async fn manager_set_and_removed() {
    let (server, graph) = client().await;
    let u = UserRef::parse(ADELE).unwrap();
    let mgr = "48d31887-5fad-4d73-a9f5-3c356e68a038";
    Mock::given(method("PUT"))
        .and(path(format!("/v1.0/users/{ADELE}/manager/$ref")))
        .and(body_json(
            json!({"@odata.id": format!("{}/v1.0/directoryObjects/{mgr}", server.uri())}),
        ))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("/v1.0/users/{ADELE}/manager/$ref")))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    graph
        .tenant(&tenant())
        .users()
        .set_manager(&u, &cipp_graph::model::DirectoryObjectId::from(mgr))
        .await
        .unwrap();
    graph
        .tenant(&tenant())
        .users()
        .remove_manager(&u)
        .await
        .unwrap();
}

#[tokio::test]
async fn memberships_polymorphic() {
    let (server, graph) = client().await;
    Mock::given(method("GET"))
        .and(path(format!("/v1.0/users/{ADELE}/transitiveMemberOf")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [
            {"@odata.type": "#microsoft.graph.group", "id": "g1", "displayName": "All Staff", "groupTypes": ["Unified"]},
            {"@odata.type": "#microsoft.graph.directoryRole", "id": "r1", "displayName": "Global Administrator", "roleTemplateId": "62e90394-69f5-4237-9190-012177145e10"}]})))
        .mount(&server)
        .await;
    let m: Vec<_> = graph
        .tenant(&tenant())
        .users()
        .member_of(&UserRef::parse(ADELE).unwrap(), true)
        .collect()
        .await
        .unwrap();
    assert_eq!(
        m[1].odata_type.as_deref(),
        Some("#microsoft.graph.directoryRole")
    );
    assert_eq!(
        m[1].extra["roleTemplateId"],
        "62e90394-69f5-4237-9190-012177145e10"
    );
}

#[tokio::test]
async fn licences_retry_after_setting_a_usage_location() {
    let (server, graph) = client().await;
    let u = UserRef::parse(ADELE).unwrap();
    let sku = "6fd2c87f-b296-42f0-b197-1e91e994b900";
    Mock::given(method("POST"))
        .and(path(format!("/v1.0/users/{ADELE}/assignLicense")))
        .respond_with(graph_error(
            400,
            "Request_BadRequest",
            "License assignment cannot be done for user with invalid usage location.",
        ))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(format!("/v1.0/users/{ADELE}")))
        .and(body_json(json!({"usageLocation": "US"})))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v1.0/users/{ADELE}/assignLicense")))
        .and(body_json(
            json!({"addLicenses": [{"skuId": sku, "disabledPlans": []}], "removeLicenses": []}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"id": ADELE, "assignedLicenses": [{"skuId": sku, "disabledPlans": []}]}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let add = [AssignedLicense {
        sku_id: SkuId(sku.into()),
        disabled_plans: vec![],
    }];
    let user = graph
        .tenant(&tenant())
        .users()
        .assign_licenses(&u, &add, &[], Some("US"))
        .await
        .unwrap();
    assert_eq!(user.assigned_licenses.unwrap()[0].sku_id.as_str(), sku);
}

#[tokio::test]
async fn licence_without_usage_location_fallback_reports_the_error() {
    let (server, graph) = client().await;
    Mock::given(method("POST"))
        .respond_with(graph_error(
            400,
            "Request_BadRequest",
            "License assignment cannot be done for user with invalid usage location.",
        ))
        .mount(&server)
        .await;
    let err = graph
        .tenant(&tenant())
        .users()
        .assign_licenses(
            &UserRef::parse(ADELE).unwrap(),
            &[],
            &[SkuId("6fd2c87f-b296-42f0-b197-1e91e994b900".into())],
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(err.as_api().unwrap().kind, ApiErrorKind::BadRequest);
}

#[tokio::test]
async fn subscribed_skus_and_small_patches() {
    let (server, graph) = client().await;
    let u = UserRef::parse(ADELE).unwrap();
    Mock::given(method("GET"))
        .and(path("/v1.0/subscribedSkus"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [{
            "capabilityStatus": "Enabled", "consumedUnits": 14, "id": "48a80680-7326-48cd-9935-b556b81d3a4e_c7df2760-2c81-4ef7-b578-5b5392b571df",
            "prepaidUnits": {"enabled": 25, "suspended": 0, "warning": 0}, "skuId": "c7df2760-2c81-4ef7-b578-5b5392b571df",
            "skuPartNumber": "ENTERPRISEPREMIUM", "servicePlans": []}]})))
        .mount(&server)
        .await;
    let skus: Vec<_> = graph
        .tenant(&tenant())
        .directory()
        .subscribed_skus()
        .collect()
        .await
        .unwrap();
    assert_eq!(skus[0].available(), Some(11));

    for (body, call) in [
        (json!({"passwordPolicies": "DisablePasswordExpiration"}), 0),
        (json!({"passwordPolicies": "None"}), 1),
        (json!({"onPremisesImmutableId": null}), 2),
    ] {
        let server2 = wiremock::MockServer::start().await;
        let g2 = client_for(&server2);
        Mock::given(method("PATCH"))
            .and(path(format!("/v1.0/users/{ADELE}")))
            .and(body_json(body))
            .respond_with(ResponseTemplate::new(204))
            .expect(1)
            .mount(&server2)
            .await;
        match call {
            0 => g2
                .tenant(&tenant())
                .users()
                .set_password_never_expires(&u, true)
                .await
                .unwrap(),
            1 => g2
                .tenant(&tenant())
                .users()
                .set_password_never_expires(&u, false)
                .await
                .unwrap(),
            _ => g2
                .tenant(&tenant())
                .users()
                .clear_immutable_id(&u)
                .await
                .unwrap(),
        }
    }
    Mock::given(method("POST"))
        .and(path(format!(
            "/v1.0/users/{ADELE}/reprocessLicenseAssignment"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": ADELE})))
        .expect(1)
        .mount(&server)
        .await;
    graph
        .tenant(&tenant())
        .users()
        .reprocess_licenses(&u)
        .await
        .unwrap();
}
