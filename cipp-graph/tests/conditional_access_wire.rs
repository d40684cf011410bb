//! Conditional Access over the real HTTP path: exact requests and documented shapes.

mod common;

use cipp_core::ApiErrorKind;
use cipp_graph::model::{ConditionalAccessPolicy, NamedLocation, NamedLocationKind, PolicyState};
use cipp_graph::odata::Query;
use common::*;
use serde_json::json;
use wiremock::matchers::{body_json, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

const P: &str = "7359d0e0-d8a9-4afa-8a93-e23e099d7be8";
const L: &str = "0854951d-5fc0-4eb1-b392-9b2c9d7949c2";
const G: &str = "6ba3b8c5-4f72-4b4e-8f2e-3e0a0a2a1b11";

fn policy_json() -> serde_json::Value {
    json!({
        "id": P,
        "templateId": null,
        "displayName": "Require MFA for admins",
        "createdDateTime": "2019-10-14T19:52:00.050958Z",
        "modifiedDateTime": null,
        "state": "enabledForReportingButNotEnforced",
        "partialEnablementStrategy": null,
        "conditions": {
            "userRiskLevels": [], "signInRiskLevels": [], "clientAppTypes": ["all"],
            "applications": {"includeApplications": ["All"], "excludeApplications": [], "includeUserActions": []},
            "users": {"includeUsers": [], "excludeUsers": [], "includeGroups": [G], "excludeGroups": [],
                      "includeRoles": ["62e90394-69f5-4237-9190-012177145e10"], "excludeRoles": []},
            "locations": {"includeLocations": ["All"], "excludeLocations": [L, "AllTrusted"]}
        },
        "grantControls": {"operator": "OR", "builtInControls": ["mfa"], "customAuthenticationFactors": [], "termsOfUse": []},
        "sessionControls": null
    })
}

#[tokio::test]
async fn policies_list_read_the_documented_shape() {
    let (server, graph) = client().await;
    Mock::given(method("GET"))
        .and(path("/v1.0/identity/conditionalAccess/policies"))
        .and(query_param("$filter", "state eq 'enabled'"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#identity/conditionalAccess/policies",
            "value": [policy_json()]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let t = tenant();
    let all: Vec<_> = graph
        .tenant(&t)
        .conditional_access()
        .policies()
        .query(Query::new().filter("state eq 'enabled'"))
        .collect()
        .await
        .unwrap();
    let p = &all[0];
    assert_eq!(p.state, Some(PolicyState::ReportOnly));
    assert_eq!(p.built_in_controls(), ["mfa"]);
    assert_eq!(p.referenced_ids(), [G.to_owned(), L.to_owned()]);
    assert_eq!(p.modified_date_time, None);
    assert!(p.extra.contains_key("partialEnablementStrategy"));
}

#[tokio::test]
async fn a_captured_policy_is_created_without_read_only_fields() {
    let (server, graph) = client().await;
    let captured: ConditionalAccessPolicy = serde_json::from_value(policy_json()).unwrap();
    let mut expected = policy_json();
    for k in ["id", "templateId", "createdDateTime", "modifiedDateTime"] {
        expected.as_object_mut().unwrap().remove(k);
    }
    expected.as_object_mut().unwrap().remove("sessionControls");
    Mock::given(method("POST"))
        .and(path("/v1.0/identity/conditionalAccess/policies"))
        .and(body_json(expected.clone()))
        .respond_with(ResponseTemplate::new(201).set_body_json(policy_json()))
        .expect(1)
        .mount(&server)
        .await;
    let created =
        graph.tenant(&tenant()).conditional_access().create_policy(&captured).await.unwrap();
    assert_eq!(created.id, P);
    Mock::given(method("PATCH"))
        .and(path(format!("/v1.0/identity/conditionalAccess/policies/{P}")))
        .and(body_json(expected))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    graph.tenant(&tenant()).conditional_access().update_policy(P, &captured).await.unwrap();
    // Refused before sending: no name, no state, no conditions, no controls, bad id.
    let mut bad = captured.clone();
    bad.state = None;
    assert!(graph.tenant(&tenant()).conditional_access().create_policy(&bad).await.is_err());
    let mut bad = captured.clone();
    bad.grant_controls = None;
    assert!(graph.tenant(&tenant()).conditional_access().create_policy(&bad).await.is_err());
    assert!(graph
        .tenant(&tenant())
        .conditional_access()
        .update_policy("policy-1", &captured)
        .await
        .is_err());
}

#[tokio::test]
async fn state_change_delete_and_errors() {
    let (server, graph) = client().await;
    Mock::given(method("PATCH"))
        .and(path(format!("/v1.0/identity/conditionalAccess/policies/{P}")))
        .and(body_json(json!({"state": "disabled"})))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("/v1.0/identity/conditionalAccess/policies/{P}")))
        .respond_with(graph_error(
            403,
            "AccessDenied",
            "Insufficient privileges to complete the operation.",
        ))
        .mount(&server)
        .await;
    graph
        .tenant(&tenant())
        .conditional_access()
        .set_policy_state(P, &PolicyState::Disabled)
        .await
        .unwrap();
    let err = graph.tenant(&tenant()).conditional_access().delete_policy(P).await.unwrap_err();
    assert_eq!(err.as_api().unwrap().kind, ApiErrorKind::MissingPermission);
}

#[tokio::test]
async fn named_locations_ip_and_country() {
    let (server, graph) = client().await;
    Mock::given(method("GET"))
        .and(path("/v1.0/identity/conditionalAccess/namedLocations"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [
            {"@odata.type": "#microsoft.graph.ipNamedLocation", "id": L, "displayName": "Office",
             "modifiedDateTime": "2021-01-01T00:00:00Z", "createdDateTime": "2021-01-01T00:00:00Z",
             "isTrusted": true, "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "12.34.221.11/22"}]},
            {"@odata.type": "#microsoft.graph.countryNamedLocation", "id": G, "displayName": "Blocked",
             "countriesAndRegions": ["RU", "KP"], "includeUnknownCountriesAndRegions": false},
            {"@odata.type": "#microsoft.graph.compliantNetworkNamedLocation", "id": P, "displayName": "Global Secure Access"}
        ]})))
        .mount(&server)
        .await;
    let locs: Vec<_> = graph
        .tenant(&tenant())
        .conditional_access()
        .named_locations()
        .query(Query::new())
        .collect()
        .await
        .unwrap();
    assert_eq!(locs[0].kind(), NamedLocationKind::Ip);
    assert_eq!(locs[1].kind(), NamedLocationKind::Country);
    assert!(matches!(locs[2].kind(), NamedLocationKind::Unknown(_)));

    Mock::given(method("POST"))
        .and(path("/v1.0/identity/conditionalAccess/namedLocations"))
        .and(body_json(json!({
            "@odata.type": "#microsoft.graph.ipNamedLocation",
            "displayName": "HQ",
            "isTrusted": true,
            "ipRanges": [
                {"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "203.0.113.0/24"},
                {"@odata.type": "#microsoft.graph.iPv6CidrRange", "cidrAddress": "2001:db8::/32"}
            ]
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "@odata.type": "#microsoft.graph.ipNamedLocation", "id": L, "displayName": "HQ", "isTrusted": true,
            "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "203.0.113.0/24"}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let hq = NamedLocation::ip("HQ", true, &["203.0.113.0/24", "2001:db8::/32"]);
    assert_eq!(
        graph.tenant(&tenant()).conditional_access().create_named_location(&hq).await.unwrap().id,
        L
    );
    Mock::given(method("PATCH"))
        .and(path(format!("/v1.0/identity/conditionalAccess/namedLocations/{G}")))
        .and(body_json(json!({
            "@odata.type": "#microsoft.graph.countryNamedLocation",
            "displayName": "Blocked",
            "countriesAndRegions": ["RU", "KP", "IR"],
            "includeUnknownCountriesAndRegions": true
        })))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let blocked = NamedLocation::countries("Blocked", &["ru", "kp", "ir"], true);
    graph.tenant(&tenant()).conditional_access().update_named_location(G, &blocked).await.unwrap();
    for bad in [
        NamedLocation::ip("x", true, &["10.0.0.1"]),
        NamedLocation::ip("x", true, &["10.0.0.0/33"]),
        NamedLocation::ip("x", true, &[]),
        NamedLocation::countries("x", &["USA"], false),
        NamedLocation::countries("", &["US"], false),
    ] {
        assert!(graph
            .tenant(&tenant())
            .conditional_access()
            .create_named_location(&bad)
            .await
            .is_err());
    }
}

#[tokio::test]
async fn strengths_and_security_defaults() {
    let (server, graph) = client().await;
    Mock::given(method("GET"))
        .and(path("/v1.0/policies/authenticationStrengthPolicies"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [{
            "id": "00000000-0000-0000-0000-000000000002", "displayName": "Multifactor authentication",
            "policyType": "builtIn", "requirementsSatisfied": "mfa",
            "allowedCombinations": ["windowsHelloForBusiness", "fido2", "password,microsoftAuthenticatorPush"]
        }]})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/policies/identitySecurityDefaultsEnforcementPolicy"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#policies/identitySecurityDefaultsEnforcementPolicy/$entity",
            "id": "00000000-0000-0000-0000-000000000005",
            "displayName": "Security Defaults",
            "description": "Security defaults is a set of basic identity security mechanisms recommended by Microsoft.",
            "isEnabled": true
        })))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/v1.0/policies/identitySecurityDefaultsEnforcementPolicy"))
        .and(body_json(json!({"isEnabled": false})))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let s: Vec<_> = graph
        .tenant(&tenant())
        .conditional_access()
        .authentication_strengths()
        .collect()
        .await
        .unwrap();
    assert_eq!(s[0].allowed_combinations.len(), 3);
    assert_eq!(s[0].policy_type.as_deref(), Some("builtIn"));
    assert!(
        graph.tenant(&tenant()).conditional_access().security_defaults().await.unwrap().is_enabled
    );
    graph.tenant(&tenant()).conditional_access().disable_security_defaults().await.unwrap();
}
