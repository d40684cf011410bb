//! Secrets stay secret, logs stay clean, redirects are not followed, and the test
//! transport fails loudly.

mod common;

use std::sync::Arc;

use cipp_core::test_util::{MockResponse, MockTransport};
use cipp_core::{paging, ApiRequest, Audience, Credentials, Pipeline, RetryPolicy, SecretString};
use common::{graph_get, mock_pipeline, on, scripted, serve, tenant_id, wire_pipeline};
use futures::TryStreamExt;

#[test]
fn debug_of_credentials_and_pipeline_shows_no_secret() {
    let creds = [
        Credentials::StaticToken(SecretString::from("tok-SECRET")),
        Credentials::ClientSecret {
            client_id: "app".into(),
            secret: SecretString::from("cs-SECRET"),
        },
        Credentials::PartnerRefreshToken {
            client_id: "app".into(),
            secret: SecretString::from("cs-SECRET"),
            refresh_token: SecretString::from("rt-SECRET"),
        },
    ];
    for c in creds {
        let d = format!("{c:?}");
        assert!(!d.contains("SECRET"), "{d}");
        let p = Pipeline::builder()
            .transport(Arc::new(MockTransport::new()))
            .credentials(c)
            .build()
            .unwrap();
        let d = format!("{p:?}");
        assert!(!d.contains("SECRET"), "{d}");
    }
}

#[tokio::test]
async fn unscripted_routes_fail_loudly_with_a_graph_shaped_404() {
    let mock = scripted([]);
    let p = mock_pipeline(&mock, RetryPolicy::default());
    let err = p
        .send(graph_get("contoso.com", "/v1.0/groups"))
        .await
        .unwrap_err();
    assert_eq!(err.as_api().unwrap().code, "MockRouteNotFound");
    assert!(
        err.to_string()
            .contains("no route scripted for GET /v1.0/groups"),
        "{err}"
    );
    assert_eq!(
        mock.requests()[0].header("authorization"),
        Some("Bearer fake-contoso.com-graph-1")
    );
}

#[tokio::test]
async fn delta_links_and_exchange_warnings_are_surfaced() {
    let delta = MockResponse::json(
        200,
        &serde_json::json!({
            "@odata.deltaLink": "https://graph.microsoft.com/v1.0/users/delta?$deltatoken=abc",
            "value": [{"id": "1", "@removed": {"reason": "deleted"}}]
        }),
    );
    let warned = MockResponse::json(
        200,
        &serde_json::json!({
            "@adminapi.warnings": ["The command completed successfully but no settings have been modified."],
            "value": []
        }),
    );
    let invoke = "/adminapi/beta/contoso.com/InvokeCommand";
    let mock = scripted([
        ("GET", "/v1.0/users/delta", delta),
        ("POST", invoke, warned),
    ]);
    let p = mock_pipeline(&mock, RetryPolicy::default());
    let delta = graph_get("contoso.com", "/v1.0/users/delta");
    let pages: Vec<cipp_core::Page<serde_json::Value>> =
        paging::pages(p.clone(), delta).try_collect().await.unwrap();
    assert_eq!(
        pages[0].delta_link.as_deref(),
        Some("https://graph.microsoft.com/v1.0/users/delta?$deltatoken=abc")
    );
    assert_eq!(pages[0].items[0]["@removed"]["reason"], "deleted");
    let pages: Vec<cipp_core::Page<serde_json::Value>> = paging::pages(
        p,
        ApiRequest::post(tenant_id("contoso.com"), Audience::Exchange, invoke)
            .json(&serde_json::json!({"CmdletInput": {"CmdletName": "Get-Mailbox"}}))
            .unwrap(),
    )
    .try_collect()
    .await
    .unwrap();
    assert_eq!(pages[0].warnings.len(), 1);
    assert_eq!(
        mock.requests()[1].json()["CmdletInput"]["CmdletName"],
        "Get-Mailbox"
    );
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let server = wiremock::MockServer::start().await;
    let redirect = wiremock::ResponseTemplate::new(302)
        .insert_header("location", "https://evil.example.net/steal");
    serve(&server, on("GET", "/v1.0/users"), redirect).await;
    let static_token = Credentials::StaticToken(SecretString::from("t"));
    let p = wire_pipeline(&server, static_token);
    let r = p
        .send(graph_get("contoso.com", "/v1.0/users"))
        .await
        .unwrap();
    assert_eq!(r.status.as_u16(), 302);
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}
