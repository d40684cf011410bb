//! Secrets stay secret, logs stay clean, redirects are not followed, and the test
//! transport fails loudly.

use std::sync::Arc;

use cipp_core::test_util::{FakeTokenProvider, MockResponse, MockTransport};
use cipp_core::{paging, ApiRequest, Audience, Credentials, Pipeline, SecretString, TenantId};
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
    let mock = Arc::new(MockTransport::new());
    let p = Pipeline::builder()
        .transport(mock.clone())
        .credentials(Credentials::Provider(Arc::new(FakeTokenProvider::new())))
        .build()
        .unwrap();
    let t = TenantId::parse("contoso.com").unwrap();
    let err = p
        .send(ApiRequest::get(t, Audience::Graph, "/v1.0/groups"))
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
    let mock = Arc::new(MockTransport::new());
    mock.on(
        "GET",
        "/v1.0/users/delta",
        MockResponse::json(
            200,
            &serde_json::json!({
                "@odata.deltaLink": "https://graph.microsoft.com/v1.0/users/delta?$deltatoken=abc",
                "value": [{"id": "1", "@removed": {"reason": "deleted"}}]
            }),
        ),
    );
    mock.on(
        "POST",
        "/adminapi/beta/contoso.com/InvokeCommand",
        MockResponse::json(200, &serde_json::json!({
            "@adminapi.warnings": ["The command completed successfully but no settings have been modified."],
            "value": []
        })),
    );
    let p = Pipeline::builder()
        .transport(mock.clone())
        .credentials(Credentials::Provider(Arc::new(FakeTokenProvider::new())))
        .build()
        .unwrap();
    let t = TenantId::parse("contoso.com").unwrap();
    let pages: Vec<cipp_core::Page<serde_json::Value>> = paging::pages(
        p.clone(),
        ApiRequest::get(t.clone(), Audience::Graph, "/v1.0/users/delta"),
    )
    .try_collect()
    .await
    .unwrap();
    assert_eq!(
        pages[0].delta_link.as_deref(),
        Some("https://graph.microsoft.com/v1.0/users/delta?$deltatoken=abc")
    );
    assert_eq!(pages[0].items[0]["@removed"]["reason"], "deleted");
    let pages: Vec<cipp_core::Page<serde_json::Value>> = paging::pages(
        p,
        ApiRequest::post(
            t,
            Audience::Exchange,
            "/adminapi/beta/contoso.com/InvokeCommand",
        )
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
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users"))
        .respond_with(
            ResponseTemplate::new(302).insert_header("location", "https://evil.example.net/steal"),
        )
        .mount(&server)
        .await;
    let p = Pipeline::builder()
        .transport(Arc::new(cipp_core::ReqwestTransport::new().unwrap()))
        .endpoints(cipp_core::Endpoints::single_base(&server.uri()))
        .credentials(Credentials::StaticToken(SecretString::from("t")))
        .build()
        .unwrap();
    let t = TenantId::parse("contoso.com").unwrap();
    let r = p
        .send(ApiRequest::get(t, Audience::Graph, "/v1.0/users"))
        .await
        .unwrap();
    assert_eq!(r.status.as_u16(), 302);
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}
