//! The requests the facade sends itself, on the real HTTP path (wiremock).

use crate::common;

use cipp::graph::model::{Field, UserPatch};
use cipp::users::{MfaPushResult, UserActions};
use common::{expect, json, on, posts, serve, wire};
use serde_json::{json, Value};
use wiremock::matchers::{body_json, body_string_contains, header, query_param};
use wiremock::ResponseTemplate;

const U: &str = "87d349ed-44d7-43e1-9a83-5f2406dee5bd";
const SP: &str = "5a1d5b8e-0c3a-4a57-9d4e-7f1b2c3d4e5f";
const MFA_APP: &str = "981f26a1-7f43-403b-a875-f8b09b8cd720";

#[tokio::test]
async fn small_user_patches_and_role_removal() {
    let (server, cipp, t) = wire().await;
    let u = cipp.tenant(&t).unwrap().user("adelev@contoso.com").unwrap();
    let role = "62e90394-69f5-4237-9190-012177145e10";
    let patches = [
        (
            "/v1.0/users/adelev%40contoso.com",
            json!({"passwordProfile": {"forceChangePasswordNextSignIn": true}}),
        ),
        (
            "/beta/users/adelev%40contoso.com/onPremisesSyncBehavior",
            json!({"isCloudManaged": true}),
        ),
        (
            "/beta/users/adelev%40contoso.com/authentication/signInPreferences",
            json!({"userPreferredMethodForSecondaryAuthentication": "push"}),
        ),
    ];
    for (p, body) in patches {
        let patch = on("PATCH", p).and(body_json(body));
        expect(&server, patch, ResponseTemplate::new(204), 1).await;
    }
    let user = json(
        200,
        json!({"id": U, "userPrincipalName": "adelev@contoso.com"}),
    );
    serve(&server, on("GET", "/v1.0/users/adelev%40contoso.com"), user).await;
    let member = format!("/v1.0/directoryRoles(roleTemplateId='{role}')/members/{U}/$ref");
    expect(
        &server,
        on("DELETE", &member),
        ResponseTemplate::new(204),
        1,
    )
    .await;
    u.require_password_change().await.unwrap();
    u.set_cloud_managed(true).await.unwrap();
    u.set_default_mfa_method("push").await.unwrap();
    assert!(u.set_default_mfa_method("carrier-pigeon").await.is_err());
    u.remove_admin_role(role).await.unwrap();
}

#[tokio::test]
async fn bulk_edit_goes_through_batch_with_one_outcome_per_user() {
    let (server, cipp, t) = wire().await;
    let answers = json(
        200,
        json!({"responses": [
        {"id": "1", "status": 204, "body": null},
        {"id": "2", "status": 404, "body": {"error": {"code": "Request_ResourceNotFound", "message": "Resource 'x' does not exist."}}}]}),
    );
    expect(&server, on("POST", "/v1.0/$batch"), answers, 1).await;
    let patch = UserPatch {
        department: Field::Set("Sales".into()),
        ..Default::default()
    };
    let edits = vec![
        ("adelev@contoso.com".to_string(), patch.clone()),
        ("ghost@contoso.com".to_string(), patch.clone()),
        ("not-a-user".to_string(), patch),
    ];
    let report = UserActions::bulk_edit(&cipp.tenant(&t).unwrap(), &edits)
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
    let (server, cipp, t) = wire().await;
    let root = json!({"id": "contoso.sharepoint.com,2C712604-1370-44E7-A1F5-426573FDA80A,2D2244C3-251A-49EA-93A8-39E1C3A060FE"});
    serve(&server, on("GET", "/v1.0/sites/root"), json(200, root)).await;
    let drive = json!({"webUrl": "https://contoso-my.sharepoint.com/personal/adelev_contoso_com/Documents"});
    let drive_path = "/v1.0/users/adelev%40contoso.com/drive";
    serve(&server, on("GET", drive_path), json(200, drive)).await;
    let query = "/_vti_bin/client.svc/ProcessQuery";
    let provision = on("POST", query)
        .and(header("content-type", "text/xml"))
        .and(header("authorization", "Bearer tok"))
        .and(body_string_contains("Name=\"RequestPersonalSites\""))
        .and(body_string_contains(
            "<Object Type=\"String\">adelev@contoso.com</Object>",
        ));
    let done = json!([{"SchemaVersion": "15.0.0.0", "ErrorInfo": null}, 4, {"IsNull": false}, 6, {"IsNull": false}, 7, {"IsComplete": true}]);
    expect(&server, provision, json(200, done), 1).await;
    let sharing = on("POST", query)
        .and(body_string_contains("<Parameter Type=\"String\">https://contoso-my.sharepoint.com/personal/adelev_contoso_com</Parameter>"))
        .and(body_string_contains("<Parameter Type=\"Enum\">0</Parameter>"));
    let no_site = json!([{"SchemaVersion": "15.0.0.0", "ErrorInfo": {
        "ErrorMessage": "Cannot get site https://contoso-my.sharepoint.com/personal/adelev_contoso_com.", "ErrorCode": -1,
        "ErrorTypeName": "Microsoft.Online.SharePoint.Common.SpoNoSiteException", "TraceCorrelationId": "tc-1"}}]);
    expect(&server, sharing, json(200, no_site), 1).await;
    let u = cipp.tenant(&t).unwrap().user("adelev@contoso.com").unwrap();
    u.provision_onedrive().await.unwrap();
    let err = u
        .set_onedrive_sharing(cipp::sharepoint::SharingCapability::Disabled)
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(err.to_string().contains("Cannot get site"));
    assert_eq!(err.request_id(), Some("tc-1"));
}

/// The MFA connector's service principal: looked up by app id, or created when missing.
async fn mount_connector_principal(server: &wiremock::MockServer, secret: &str, created: bool) {
    let lookup = on("GET", "/v1.0/servicePrincipals");
    if created {
        let filter = format!("appId eq '{MFA_APP}'");
        let lookup = lookup.and(query_param("$filter", filter.as_str()));
        serve(server, lookup, json(200, json!({"value": []}))).await;
        let create =
            on("POST", "/v1.0/servicePrincipals").and(body_json(json!({"appId": MFA_APP})));
        expect(
            server,
            create,
            json(201, json!({"id": SP, "appId": MFA_APP})),
            1,
        )
        .await;
    } else {
        serve(server, lookup, json(200, json!({"value": [{"id": SP}]}))).await;
    }
    let add_password = format!("/v1.0/servicePrincipals/{SP}/addPassword");
    let password = json(200, json!({"secretText": secret, "keyId": "k"}));
    expect(server, on("POST", &add_password), password, 1).await;
}

#[tokio::test]
async fn mfa_push_sends_the_connector_xml_with_its_own_token() {
    let (server, cipp, t) = wire().await;
    mount_connector_principal(&server, "tmp-secret", true).await;
    let token_request = on("POST", "/contoso.onmicrosoft.com/oauth2/token")
        .and(body_string_contains("resource=https%3A%2F%2Fadnotifications.windowsazure.com%2FStrongAuthenticationService.svc%2FConnector"))
        .and(body_string_contains(format!("client_id={MFA_APP}")))
        .and(body_string_contains("client_secret=tmp-secret"));
    let token = json!({"token_type": "Bearer", "expires_in": "3599", "access_token": "mfa-token"});
    expect(&server, token_request, json(200, token), 1).await;
    let push = on(
        "POST",
        "/StrongAuthenticationService.svc/Connector/BeginTwoWayAuthentication",
    )
    .and(header("authorization", "Bearer mfa-token"))
    .and(header("content-type", "application/xml"))
    .and(body_string_contains(
        "<UserPrincipalName>adelev@contoso.com</UserPrincipalName>",
    ))
    .and(body_string_contains("<SyncCall>true</SyncCall>"));
    let answer = ResponseTemplate::new(200).set_body_string(
        "<BeginTwoWayAuthenticationResponse><Result><Value>Success</Value><Message/></Result><SessionId>s</SessionId><AuthenticationResult>false</AuthenticationResult></BeginTwoWayAuthenticationResponse>",
    );
    expect(&server, push, answer, 1).await;
    let user = cipp.tenant(&t).unwrap().user("adelev@contoso.com").unwrap();
    let r = user
        .send_mfa_push(cipp::users::Guard::AllowPrivileged)
        .await
        .unwrap();
    let reason = "Success".into();
    assert_eq!(r, MfaPushResult::NotApproved { reason });
}

/// A root site id naming a host outside the cloud's SharePoint suffix is refused before
/// any token or request goes to it.
#[tokio::test]
async fn a_made_up_sharepoint_host_gets_no_token() {
    let (server, cipp, t) = wire().await;
    for id in [
        "evil.example/x.sharepoint.com,2C712604-1370-44E7-A1F5-426573FDA80A,2D2244C3",
        "contoso.sharepoint.com.evil.example,2C712604,2D2244C3",
        "a.b.sharepoint.com,2C712604,2D2244C3",
        "contoso.sharepoint.us,2C712604,2D2244C3",
    ] {
        server.reset().await;
        serve(
            &server,
            on("GET", "/v1.0/sites/root"),
            json(200, json!({ "id": id })),
        )
        .await;
        let sharepoint = cipp.tenant(&t).unwrap().graph().sharepoint();
        let err = sharepoint.admin_url().await.unwrap_err();
        assert!(err.to_string().contains("not a SharePoint host"), "{err}");
        let u = cipp.tenant(&t).unwrap().user("adelev@contoso.com").unwrap();
        u.provision_onedrive().await.unwrap_err();
        let sent = posts(&server).await;
        assert_eq!(sent, 0, "{id}: a request was sent after the host check");
    }
}

/// The MFA push's own token request goes through core auth: a token endpoint that echoes
/// the form does not put the temporary connector secret into the error.
#[tokio::test]
async fn mfa_push_token_errors_do_not_echo_the_connector_secret() {
    let (server, cipp, t) = wire().await;
    mount_connector_principal(&server, "Tmp~Connector.Secret", false).await;
    let echo = |req: &wiremock::Request| {
        let form = String::from_utf8_lossy(&req.body);
        ResponseTemplate::new(400).set_body_string(format!("Blocked by policy. Request: {form}"))
    };
    serve(
        &server,
        on("POST", "/contoso.onmicrosoft.com/oauth2/token"),
        echo,
    )
    .await;
    let user = cipp.tenant(&t).unwrap().user("adelev@contoso.com").unwrap();
    let err = user
        .send_mfa_push(cipp::users::Guard::AllowPrivileged)
        .await
        .unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(!text.contains("Tmp~Connector.Secret"), "{text}");
    assert!(text.contains("[REDACTED]"), "{text}");
}
