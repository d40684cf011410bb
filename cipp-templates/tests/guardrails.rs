//! Conditional Access guardrails against the exact requests they send (wiremock).

use std::sync::Arc;

use cipp_core::{
    Credentials, Endpoints, Pipeline, ReqwestTransport, SecretString, TenantId, ThrottleSettings,
};
use cipp_graph::{GraphClient, TenantGraph};
use cipp_templates::guardrails::{
    drop_missing_applications, security_defaults, GuardrailError, SecurityDefaults,
};
use cipp_templates::plan::CaState;
use cipp_templates::template::{Template, TemplateKind};
use serde_json::{json, Value};
use wiremock::matchers::{body_json, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const EXO: &str = "00000002-0000-0ff1-ce00-000000000000";
const MISSING: &str = "1b8c3f2a-9d7e-4c51-8a6b-2f0e4d9c7a13";

async fn wire() -> (MockServer, TenantGraph) {
    let server = MockServer::start().await;
    let pipeline = Pipeline::builder()
        .transport(Arc::new(ReqwestTransport::new().unwrap()))
        .endpoints(Endpoints::single_base(&server.uri()))
        .credentials(Credentials::StaticToken(SecretString::from("t")))
        .throttle(ThrottleSettings::none())
        .build()
        .unwrap();
    let t = TenantId::parse("contoso.onmicrosoft.com").unwrap();
    (server, GraphClient::new(pipeline).tenant(&t))
}

/// `GET /servicePrincipals?$filter=appId eq '{id}'` answering the documented list shape.
async fn service_principals(server: &MockServer, app_id: &str, present: bool) {
    let value = if present {
        json!([{"id": "59e617e5-e447-4adc-8b88-00af644d7c92", "appId": app_id,
                "displayName": "Office 365 Exchange Online", "servicePrincipalType": "Application"}])
    } else {
        json!([])
    };
    Mock::given(method("GET"))
        .and(path("/v1.0/servicePrincipals"))
        .and(query_param("$filter", format!("appId eq '{app_id}'")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#servicePrincipals",
            "value": value
        })))
        .expect(1)
        .mount(server)
        .await;
}

fn ca(name: &str, state: &str, include: &[&str], exclude: &[&str]) -> Template {
    Template::new(
        TemplateKind::ConditionalAccess,
        name,
        json!({"displayName": name, "state": state, "conditions": {"applications": {
            "includeApplications": include, "excludeApplications": exclude}}}),
    )
}

fn apps(t: &Template, list: &str) -> Value {
    t.body["conditions"]["applications"][list].clone()
}

#[tokio::test]
async fn applications_without_a_service_principal_are_dropped_with_a_warning() {
    let (server, graph) = wire().await;
    service_principals(&server, EXO, true).await;
    service_principals(&server, MISSING, false).await;
    let mut templates = vec![
        ca("Exchange MFA", "enabled", &[EXO, MISSING], &[]),
        ca("All but one", "enabled", &["All"], &[MISSING]),
        ca("Untouched", "enabled", &["Office365"], &[]),
        Template::new(TemplateKind::Group, "Not CA", json!({"displayName": "x"})),
    ];
    let warnings = drop_missing_applications(&graph, &mut templates)
        .await
        .unwrap();
    assert_eq!(apps(&templates[0], "includeApplications"), json!([EXO]));
    assert_eq!(apps(&templates[1], "excludeApplications"), json!([]));
    assert_eq!(
        apps(&templates[2], "includeApplications"),
        json!(["Office365"])
    );
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings[0].contains("`Exchange MFA`") && warnings[0].contains(MISSING));

    // A policy left with nothing to include fails, naming the template and the app.
    let (server, graph) = wire().await;
    service_principals(&server, MISSING, false).await;
    let mut only_missing = vec![ca("Only missing", "enabled", &[MISSING], &[])];
    let err = drop_missing_applications(&graph, &mut only_missing)
        .await
        .unwrap_err();
    assert!(matches!(err, GuardrailError::NoApplicationsLeft { .. }));
    assert!(err.to_string().contains("Only missing") && err.to_string().contains(MISSING));
}

async fn defaults(server: &MockServer, on: bool) {
    Mock::given(method("GET"))
        .and(path("/v1.0/policies/identitySecurityDefaultsEnforcementPolicy"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#policies/identitySecurityDefaultsEnforcementPolicy/$entity",
            "id": "00000000-0000-0000-0000-000000000005", "displayName": "Security Defaults",
            "description": "Security defaults is a set of basic identity security mechanisms recommended by Microsoft.",
            "isEnabled": on
        })))
        .mount(server)
        .await;
}

async fn patches(server: &MockServer) -> usize {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.method.as_str() == "PATCH")
        .count()
}

#[tokio::test]
async fn security_defaults_are_disabled_only_when_asked_and_replaced() {
    let enabled = vec![ca("Require MFA", "enabled", &["All"], &[])];
    let report_only = vec![ca(
        "Require MFA",
        "enabledForReportingButNotEnforced",
        &["All"],
        &[],
    )];

    // On, an enabled policy, not allowed: refused, nothing written.
    let (server, graph) = wire().await;
    defaults(&server, true).await;
    let err = security_defaults(
        &graph,
        &enabled,
        CaState::DoNotChange,
        SecurityDefaults::Refuse,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, GuardrailError::SecurityDefaultsOn { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("Require MFA"));
    assert_eq!(patches(&server).await, 0);

    // Report-only (by the template or forced by the plan): nothing to replace, not even read.
    let (server, graph) = wire().await;
    for (templates, state) in [
        (&report_only, CaState::DoNotChange),
        (&enabled, CaState::ReportOnly),
    ] {
        let note = security_defaults(
            &graph,
            templates,
            state,
            SecurityDefaults::DisableWhenReplaced,
        )
        .await
        .unwrap();
        assert_eq!(note, None);
    }
    assert!(server.received_requests().await.unwrap().is_empty());

    // Allowed and replaced: one PATCH with the documented body.
    let (server, graph) = wire().await;
    defaults(&server, true).await;
    Mock::given(method("PATCH"))
        .and(path(
            "/v1.0/policies/identitySecurityDefaultsEnforcementPolicy",
        ))
        .and(body_json(json!({"isEnabled": false})))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let note = security_defaults(
        &graph,
        &enabled,
        CaState::DoNotChange,
        SecurityDefaults::DisableWhenReplaced,
    )
    .await
    .unwrap();
    assert!(note.unwrap().contains("replaced by Require MFA"));

    // Already off: nothing written.
    let (server, graph) = wire().await;
    defaults(&server, false).await;
    let note = security_defaults(
        &graph,
        &enabled,
        CaState::DoNotChange,
        SecurityDefaults::Refuse,
    )
    .await
    .unwrap();
    assert_eq!(note, None);
    assert_eq!(patches(&server).await, 0);
}
