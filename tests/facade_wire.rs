//! The requests the facade sends itself, on the real HTTP path (wiremock).

use std::sync::Arc;
use std::time::Duration;

use cipp::core::{
    Credentials, Endpoints, ReqwestTransport, RetryPolicy, SecretString, Tenant, TenantId,
};
use cipp::graph::model::{Field, UserPatch};
use cipp::users::{MfaPushResult, UserActions};
use cipp::Cipp;
use serde_json::{json, Value};
use wiremock::matchers::{body_json, body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const U: &str = "87d349ed-44d7-43e1-9a83-5f2406dee5bd";

async fn setup() -> (MockServer, Cipp, TenantId) {
    let server = MockServer::start().await;
    let t = TenantId::parse("contoso.onmicrosoft.com").unwrap();
    let cipp = Cipp::builder()
        .transport(Arc::new(ReqwestTransport::new().unwrap()))
        .endpoints(Endpoints::single_base(&server.uri()))
        .credentials(Credentials::StaticToken(SecretString::from("tok")))
        .retry(RetryPolicy {
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
            ..Default::default()
        })
        .tenants(vec![Tenant::new(t.clone())])
        .build()
        .unwrap();
    (server, cipp, t)
}

#[tokio::test]
async fn small_user_patches_and_role_removal() {
    let (server, cipp, t) = setup().await;
    let u = cipp.tenant(&t).user("adelev@contoso.com").unwrap();
    Mock::given(method("PATCH"))
        .and(path("/v1.0/users/adelev%40contoso.com"))
        .and(body_json(
            json!({"passwordProfile": {"forceChangePasswordNextSignIn": true}}),
        ))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(
            "/beta/users/adelev%40contoso.com/onPremisesSyncBehavior",
        ))
        .and(body_json(json!({"isCloudManaged": true})))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(
            "/beta/users/adelev%40contoso.com/authentication/signInPreferences",
        ))
        .and(body_json(
            json!({"userPreferredMethodForSecondaryAuthentication": "push"}),
        ))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users/adelev%40contoso.com"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": U, "userPrincipalName": "adelev@contoso.com"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("/v1.0/directoryRoles(roleTemplateId='62e90394-69f5-4237-9190-012177145e10')/members/{U}/$ref")))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    u.require_password_change().await.unwrap();
    u.set_cloud_managed(true).await.unwrap();
    u.set_default_mfa_method("push").await.unwrap();
    assert!(u.set_default_mfa_method("carrier-pigeon").await.is_err());
    u.remove_admin_role("62e90394-69f5-4237-9190-012177145e10")
        .await
        .unwrap();
}

#[tokio::test]
async fn bulk_edit_goes_through_batch_with_one_outcome_per_user() {
    let (server, cipp, t) = setup().await;
    Mock::given(method("POST"))
        .and(path("/v1.0/$batch"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"responses": [
            {"id": "1", "status": 204, "body": null},
            {"id": "2", "status": 404, "body": {"error": {"code": "Request_ResourceNotFound", "message": "Resource 'x' does not exist."}}}]})))
        .expect(1)
        .mount(&server)
        .await;
    let patch = UserPatch {
        department: Field::Set("Sales".into()),
        ..Default::default()
    };
    let edits = vec![
        ("adelev@contoso.com".to_string(), patch.clone()),
        ("ghost@contoso.com".to_string(), patch.clone()),
        ("not-a-user".to_string(), patch),
    ];
    let report = UserActions::bulk_edit(&cipp.tenant(&t), &edits)
        .await
        .unwrap();
    assert_eq!(report.steps.len(), 3);
    assert!(
        report.steps[0].outcome.is_failure(),
        "invalid input reported first, without a request"
    );
    assert!(report.steps[1].outcome.is_ok());
    assert!(report.steps[2].outcome.is_failure());
    let sent: Value =
        serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap();
    assert_eq!(sent["requests"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn sharepoint_csom_requests() {
    let (server, cipp, t) = setup().await;
    Mock::given(method("GET"))
        .and(path("/v1.0/sites/root"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "contoso.sharepoint.com,2C712604-1370-44E7-A1F5-426573FDA80A,2D2244C3-251A-49EA-93A8-39E1C3A060FE"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users/adelev%40contoso.com/drive"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"webUrl": "https://contoso-my.sharepoint.com/personal/adelev_contoso_com/Documents"})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/_vti_bin/client.svc/ProcessQuery"))
        .and(header("content-type", "text/xml"))
        .and(header("authorization", "Bearer tok"))
        .and(body_string_contains("Name=\"RequestPersonalSites\""))
        .and(body_string_contains("<Object Type=\"String\">adelev@contoso.com</Object>"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"SchemaVersion": "15.0.0.0", "ErrorInfo": null}, 4, {"IsNull": false}, 6, {"IsNull": false}, 7, {"IsComplete": true}])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/_vti_bin/client.svc/ProcessQuery"))
        .and(body_string_contains("<Parameter Type=\"String\">https://contoso-my.sharepoint.com/personal/adelev_contoso_com</Parameter>"))
        .and(body_string_contains("<Parameter Type=\"Enum\">0</Parameter>"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"SchemaVersion": "15.0.0.0", "ErrorInfo": {
            "ErrorMessage": "Cannot get site https://contoso-my.sharepoint.com/personal/adelev_contoso_com.", "ErrorCode": -1,
            "ErrorTypeName": "Microsoft.Online.SharePoint.Common.SpoNoSiteException", "TraceCorrelationId": "tc-1"}}])))
        .expect(1)
        .mount(&server)
        .await;
    let u = cipp.tenant(&t).user("adelev@contoso.com").unwrap();
    u.provision_onedrive().await.unwrap();
    let err = u
        .set_onedrive_sharing(cipp::sharepoint::SharingCapability::Disabled)
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(err.to_string().contains("Cannot get site"));
    assert_eq!(err.request_id(), Some("tc-1"));
}

#[tokio::test]
async fn mfa_push_sends_the_connector_xml_with_its_own_token() {
    let (server, cipp, t) = setup().await;
    Mock::given(method("GET"))
        .and(path("/v1.0/servicePrincipals"))
        .and(query_param(
            "$filter",
            "appId eq '981f26a1-7f43-403b-a875-f8b09b8cd720'",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1.0/servicePrincipals"))
        .and(body_json(
            json!({"appId": "981f26a1-7f43-403b-a875-f8b09b8cd720"}),
        ))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(
                json!({"id": "5a1d5b8e-0c3a-4a57-9d4e-7f1b2c3d4e5f", "appId": "981f26a1-7f43-403b-a875-f8b09b8cd720"}),
            ),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(
            "/v1.0/servicePrincipals/5a1d5b8e-0c3a-4a57-9d4e-7f1b2c3d4e5f/addPassword",
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"secretText": "tmp-secret", "keyId": "k"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/contoso.onmicrosoft.com/oauth2/token"))
        .and(body_string_contains("resource=https%3A%2F%2Fadnotifications.windowsazure.com%2FStrongAuthenticationService.svc%2FConnector"))
        .and(body_string_contains("client_id=981f26a1-7f43-403b-a875-f8b09b8cd720"))
        .and(body_string_contains("client_secret=tmp-secret"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"token_type": "Bearer", "expires_in": "3599", "access_token": "mfa-token"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/StrongAuthenticationService.svc/Connector/BeginTwoWayAuthentication"))
        .and(header("authorization", "Bearer mfa-token"))
        .and(header("content-type", "application/xml"))
        .and(body_string_contains("<UserPrincipalName>adelev@contoso.com</UserPrincipalName>"))
        .and(body_string_contains("<SyncCall>true</SyncCall>"))
        .respond_with(ResponseTemplate::new(200).set_body_string(
            "<BeginTwoWayAuthenticationResponse><Result><Value>Success</Value><Message/></Result><SessionId>s</SessionId><AuthenticationResult>false</AuthenticationResult></BeginTwoWayAuthenticationResponse>",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let r = cipp
        .tenant(&t)
        .user("adelev@contoso.com")
        .unwrap()
        .send_mfa_push()
        .await
        .unwrap();
    assert_eq!(
        r,
        MfaPushResult::NotApproved {
            reason: "Success".into()
        }
    );
}

/// A root site id naming a host outside the cloud's SharePoint suffix is refused before
/// any token or request goes to it.
#[tokio::test]
async fn a_made_up_sharepoint_host_gets_no_token() {
    let (server, cipp, t) = setup().await;
    for id in [
        "evil.example/x.sharepoint.com,2C712604-1370-44E7-A1F5-426573FDA80A,2D2244C3",
        "contoso.sharepoint.com.evil.example,2C712604,2D2244C3",
        "a.b.sharepoint.com,2C712604,2D2244C3",
        "contoso.sharepoint.us,2C712604,2D2244C3",
    ] {
        server.reset().await;
        Mock::given(method("GET"))
            .and(path("/v1.0/sites/root"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "id": id })))
            .mount(&server)
            .await;
        let err = cipp
            .tenant(&t)
            .graph()
            .sharepoint()
            .admin_url()
            .await
            .unwrap_err();
        assert!(err.to_string().contains("not a SharePoint host"), "{err}");
        let u = cipp.tenant(&t).user("adelev@contoso.com").unwrap();
        u.provision_onedrive().await.unwrap_err();
        let posts = server
            .received_requests()
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.method.as_str() == "POST")
            .count();
        assert_eq!(posts, 0, "{id}: a request was sent after the host check");
    }
}

/// The MFA push's own token request goes through core auth: a token endpoint that echoes
/// the form does not put the temporary connector secret into the error.
#[tokio::test]
async fn mfa_push_token_errors_do_not_echo_the_connector_secret() {
    let (server, cipp, t) = setup().await;
    Mock::given(method("GET"))
        .and(path("/v1.0/servicePrincipals"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"value": [{"id": "5a1d5b8e-0c3a-4a57-9d4e-7f1b2c3d4e5f"}]})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(
            "/v1.0/servicePrincipals/5a1d5b8e-0c3a-4a57-9d4e-7f1b2c3d4e5f/addPassword",
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"secretText": "Tmp~Connector.Secret", "keyId": "k"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/contoso.onmicrosoft.com/oauth2/token"))
        .respond_with(|req: &wiremock::Request| {
            ResponseTemplate::new(400).set_body_string(format!(
                "Blocked by policy. Request: {}",
                String::from_utf8_lossy(&req.body)
            ))
        })
        .mount(&server)
        .await;
    let err = cipp
        .tenant(&t)
        .user("adelev@contoso.com")
        .unwrap()
        .send_mfa_push()
        .await
        .unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(!text.contains("Tmp~Connector.Secret"), "{text}");
    assert!(text.contains("[REDACTED]"), "{text}");
}
