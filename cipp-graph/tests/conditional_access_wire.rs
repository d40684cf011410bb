//! Conditional Access over the real HTTP path: exact requests and documented shapes.

mod common;

use cipp_core::ApiErrorKind;
use cipp_graph::model::{ConditionalAccessPolicy, NamedLocation, NamedLocationKind, PolicyState};
use cipp_graph::odata::Query;
use common::*;
use serde_json::{json, Value};

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

const POLICIES: &str = "/v1.0/identity/conditionalAccess/policies";
const LOCATIONS: &str = "/v1.0/identity/conditionalAccess/namedLocations";

#[tokio::test]
async fn policies_list_read_the_documented_shape() {
    let (server, t) = contoso().await;
    on(&server, &format!("GET {POLICIES}?$filter=state eq 'enabled'"))
        .reply(200, json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#identity/conditionalAccess/policies",
            "value": [policy_json()]
        }))
        .await;
    let enabled = Query::new().filter("state eq 'enabled'");
    let all: Vec<_> = t.conditional_access().policies().query(enabled).collect().await.unwrap();
    let p = &all[0];
    assert_eq!(p.state, Some(PolicyState::ReportOnly));
    assert_eq!(p.built_in_controls(), ["mfa"]);
    assert_eq!(p.referenced_ids(), [G.to_owned(), L.to_owned()]);
    assert_eq!(p.modified_date_time, None);
    assert!(p.extra.contains_key("partialEnablementStrategy"));
}

#[tokio::test]
async fn a_captured_policy_is_created_without_read_only_fields() {
    let (server, t) = contoso().await;
    let captured: ConditionalAccessPolicy = serde_json::from_value(policy_json()).unwrap();
    let mut expected = policy_json();
    let fields = expected.as_object_mut().unwrap();
    for k in ["id", "templateId", "createdDateTime", "modifiedDateTime", "sessionControls"] {
        fields.remove(k);
    }
    on(&server, &format!("POST {POLICIES}")).body(expected.clone()).reply(201, policy_json()).await;
    let ca = t.conditional_access();
    let created = ca.create_policy(&captured).await.unwrap();
    assert_eq!(created.id, P);
    on(&server, &format!("PATCH {POLICIES}/{P}")).body(expected).reply(204, Value::Null).await;
    ca.update_policy(P, &captured).await.unwrap();
    // Refused before sending: no state, no controls, bad id.
    let mut no_state = captured.clone();
    no_state.state = None;
    let mut no_controls = captured.clone();
    no_controls.grant_controls = None;
    for (name, bad) in [("no state", no_state), ("no grant controls", no_controls)] {
        assert!(ca.create_policy(&bad).await.is_err(), "{name}");
    }
    assert!(ca.update_policy("policy-1", &captured).await.is_err());
}

#[tokio::test]
async fn state_change_delete_and_errors() {
    let (server, t) = contoso().await;
    let one = format!("{POLICIES}/{P}");
    on(&server, &format!("PATCH {one}"))
        .body(json!({"state": "disabled"}))
        .reply(204, Value::Null)
        .await;
    stub(&server, &format!("DELETE {one}"))
        .fail(403, "AccessDenied", "Insufficient privileges to complete the operation.")
        .await;
    let ca = t.conditional_access();
    ca.set_policy_state(P, &PolicyState::Disabled).await.unwrap();
    let err = ca.delete_policy(P).await.unwrap_err();
    assert_eq!(err.as_api().unwrap().kind, ApiErrorKind::MissingPermission);
}

#[tokio::test]
async fn named_locations_ip_and_country() {
    let (server, t) = contoso().await;
    stub(&server, &format!("GET {LOCATIONS}"))
        .reply(200, json!({"value": [
            {"@odata.type": "#microsoft.graph.ipNamedLocation", "id": L, "displayName": "Office",
             "modifiedDateTime": "2021-01-01T00:00:00Z", "createdDateTime": "2021-01-01T00:00:00Z",
             "isTrusted": true, "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "12.34.221.11/22"}]},
            {"@odata.type": "#microsoft.graph.countryNamedLocation", "id": G, "displayName": "Blocked",
             "countriesAndRegions": ["RU", "KP"], "includeUnknownCountriesAndRegions": false},
            {"@odata.type": "#microsoft.graph.compliantNetworkNamedLocation", "id": P, "displayName": "Global Secure Access"}
        ]}))
        .await;
    let ca = t.conditional_access();
    let locs: Vec<_> = ca.named_locations().query(Query::new()).collect().await.unwrap();
    assert_eq!(locs[0].kind(), NamedLocationKind::Ip);
    assert_eq!(locs[1].kind(), NamedLocationKind::Country);
    assert!(matches!(locs[2].kind(), NamedLocationKind::Unknown(_)));

    on(&server, &format!("POST {LOCATIONS}"))
        .body(json!({
            "@odata.type": "#microsoft.graph.ipNamedLocation",
            "displayName": "HQ",
            "isTrusted": true,
            "ipRanges": [
                {"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "203.0.113.0/24"},
                {"@odata.type": "#microsoft.graph.iPv6CidrRange", "cidrAddress": "2001:db8::/32"}
            ]
        }))
        .reply(201, json!({
            "@odata.type": "#microsoft.graph.ipNamedLocation", "id": L, "displayName": "HQ", "isTrusted": true,
            "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "203.0.113.0/24"}]
        }))
        .await;
    let hq = NamedLocation::ip("HQ", true, &["203.0.113.0/24", "2001:db8::/32"]);
    assert_eq!(ca.create_named_location(&hq).await.unwrap().id, L);
    on(&server, &format!("PATCH {LOCATIONS}/{G}"))
        .body(json!({
            "@odata.type": "#microsoft.graph.countryNamedLocation",
            "displayName": "Blocked",
            "countriesAndRegions": ["RU", "KP", "IR"],
            "includeUnknownCountriesAndRegions": true
        }))
        .reply(204, Value::Null)
        .await;
    let blocked = NamedLocation::countries("Blocked", &["ru", "kp", "ir"], true);
    ca.update_named_location(G, &blocked).await.unwrap();
    for (name, bad) in [
        ("no prefix length", NamedLocation::ip("x", true, &["10.0.0.1"])),
        ("prefix too long", NamedLocation::ip("x", true, &["10.0.0.0/33"])),
        ("no ranges", NamedLocation::ip("x", true, &[])),
        ("three-letter country", NamedLocation::countries("x", &["USA"], false)),
        ("no name", NamedLocation::countries("", &["US"], false)),
    ] {
        assert!(ca.create_named_location(&bad).await.is_err(), "{name}");
    }
}

#[tokio::test]
async fn strengths_and_security_defaults() {
    let (server, t) = contoso().await;
    stub(&server, "GET /v1.0/policies/authenticationStrengthPolicies")
        .reply(200, json!({"value": [{
            "id": "00000000-0000-0000-0000-000000000002", "displayName": "Multifactor authentication",
            "policyType": "builtIn", "requirementsSatisfied": "mfa",
            "allowedCombinations": ["windowsHelloForBusiness", "fido2", "password,microsoftAuthenticatorPush"]
        }]}))
        .await;
    let defaults = "/v1.0/policies/identitySecurityDefaultsEnforcementPolicy";
    stub(&server, &format!("GET {defaults}"))
        .reply(200, json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#policies/identitySecurityDefaultsEnforcementPolicy/$entity",
            "id": "00000000-0000-0000-0000-000000000005",
            "displayName": "Security Defaults",
            "description": "Security defaults is a set of basic identity security mechanisms recommended by Microsoft.",
            "isEnabled": true
        }))
        .await;
    on(&server, &format!("PATCH {defaults}"))
        .body(json!({"isEnabled": false}))
        .reply(204, Value::Null)
        .await;
    let ca = t.conditional_access();
    let s: Vec<_> = ca.authentication_strengths().collect().await.unwrap();
    assert_eq!(s[0].allowed_combinations.len(), 3);
    assert_eq!(s[0].policy_type.as_deref(), Some("builtIn"));
    assert!(ca.security_defaults().await.unwrap().is_enabled);
    ca.disable_security_defaults().await.unwrap();
}

#[tokio::test]
async fn custom_strengths_are_created_and_contexts_listed_and_upserted() {
    let (server, t) = contoso().await;
    let strengths = "/v1.0/policies/authenticationStrengthPolicies";
    on(&server, &format!("POST {strengths}"))
        .body(json!({
            "@odata.type": "#microsoft.graph.authenticationStrengthPolicy",
            "displayName": "Phishing-resistant admins",
            "description": "FIDO2 or Windows Hello",
            "allowedCombinations": ["fido2", "windowsHelloForBusiness"]
        }))
        .reply(201, json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#policies/authenticationStrengthPolicies/$entity",
            "id": "4a3a8b4b-9c7e-4cf3-a1d6-8b1b0d3b6f11",
            "createdDateTime": "2022-09-30T10:59:01Z",
            "modifiedDateTime": "2022-09-30T10:59:01Z",
            "displayName": "Phishing-resistant admins",
            "description": "FIDO2 or Windows Hello",
            "policyType": "custom",
            "requirementsSatisfied": "mfa",
            "allowedCombinations": ["fido2", "windowsHelloForBusiness"]
        }))
        .await;
    let contexts = "/v1.0/identity/conditionalAccess/authenticationContextClassReferences";
    on(&server, &format!("GET {contexts}"))
        .reply(200, json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#identity/conditionalAccess/authenticationContextClassReferences",
            "value": [{"id": "c1", "displayName": "Sensitive data", "description": "Step-up for finance", "isAvailable": true}]
        }))
        .await;
    on(&server, &format!("PATCH {contexts}/c2"))
        .body(json!({"displayName": "Admin portals", "description": null, "isAvailable": true}))
        .reply(204, Value::Null)
        .await;

    let ca = t.conditional_access();
    let mut new: cipp_graph::model::AuthenticationStrengthPolicy = serde_json::from_value(json!({
        "displayName": "Phishing-resistant admins",
        "description": "FIDO2 or Windows Hello",
        "allowedCombinations": ["fido2", "windowsHelloForBusiness"],
        "id": "ignored", "policyType": "custom"
    }))
    .unwrap();
    let created = ca.create_authentication_strength(&new).await.unwrap();
    assert_eq!(created.id, "4a3a8b4b-9c7e-4cf3-a1d6-8b1b0d3b6f11");
    assert_eq!(created.policy_type.as_deref(), Some("custom"));
    let listed: Vec<_> = ca.authentication_contexts().collect().await.unwrap();
    assert_eq!(listed[0].id, "c1");
    assert_eq!(listed[0].display_name.as_deref(), Some("Sensitive data"));
    let mut ctx = cipp_graph::model::AuthenticationContext {
        id: "c2".into(),
        display_name: Some("Admin portals".into()),
        ..Default::default()
    };
    ca.upsert_authentication_context(&ctx).await.unwrap();

    // Refused before sending.
    let before = sent(&server).await;
    new.allowed_combinations.clear();
    assert!(ca.create_authentication_strength(&new).await.is_err());
    new.allowed_combinations = vec!["password,".into()];
    assert!(ca.create_authentication_strength(&new).await.is_err());
    for bad in ["c0", "c100", "x1", "c01", ""] {
        ctx.id = bad.into();
        assert!(ca.upsert_authentication_context(&ctx).await.is_err(), "{bad}");
    }
    assert_eq!(sent(&server).await, before);
}
