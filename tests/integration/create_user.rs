//! Create user: the exact requests (wiremock), the checks made before anything is written,
//! and the whole flow on the simulator.

use crate::common;

use cipp::core::{Outcome, SecretString, TenantId};
use cipp::graph::model::NewTemporaryAccessPass;
use cipp::sim::scenario::SKU_BUSINESS_PREMIUM;
use cipp::sim::Simulator;
use cipp::templates::template::TemplateKind;
use cipp::users::create::CreateUser;
use cipp::Cipp;
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use wiremock::matchers::{body_json, body_string_contains, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const NEW_ID: &str = "87d349ed-44d7-43e1-9a83-5f2406dee5bd";
const SALES: &str = "45b7d2e7-b882-4a80-ba97-10b7a63b8fa4";
const SKU: &str = "c7df2760-2c81-4ef7-b578-5b5392b571df";

async fn setup() -> (MockServer, Cipp, TenantId) {
    common::wire().await
}

async fn get(server: &MockServer, p: &str, body: Value) {
    Mock::given(method("GET"))
        .and(path(p))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(server)
        .await;
}

/// The reads every create makes: domains (List domains, documented example shape),
/// subscribed SKUs and the group looked up by name.
async fn mount_reads(server: &MockServer) {
    get(
        server,
        "/v1.0/domains",
        json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#domains", "value": [
            {"authenticationType": "Managed", "id": "contoso.onmicrosoft.com", "isDefault": false,
             "isInitial": true, "isVerified": true, "supportedServices": ["Email", "OfficeCommunicationsOnline"]},
            {"authenticationType": "Managed", "id": "contoso.com", "isDefault": true,
             "isInitial": false, "isVerified": true, "supportedServices": ["Email"]},
            {"authenticationType": "Managed", "id": "pending.contoso.com", "isDefault": false,
             "isInitial": false, "isVerified": false, "supportedServices": []}
        ]}),
    )
    .await;
    get(
        server,
        "/v1.0/subscribedSkus",
        json!({"value": [{"capabilityStatus": "Enabled", "consumedUnits": 14, "id": format!("48a80680-7326-48cd-9935-b556b81d3a4e_{SKU}"),
            "prepaidUnits": {"enabled": 25, "suspended": 0, "warning": 0}, "skuId": SKU, "skuPartNumber": "EMS", "appliesTo": "User"}]}),
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/groups"))
        .and(query_param("$filter", "displayName eq 'Sales'"))
        .and(query_param("$select", "id,displayName"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"value": [{"id": SALES, "displayName": "Sales"}]})),
        )
        .mount(server)
        .await;
}

fn megan() -> CreateUser {
    CreateUser::new("Megan Bowen", "meganb")
        .names("Megan", "Bowen")
        .usage_location("US")
        .license(SKU)
        .group("Sales")
        .password(SecretString::from("xWwvJ]6NMw+bWH-d"))
}

async fn posts(server: &MockServer) -> usize {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.method.as_str() != "GET")
        .count()
}

#[tokio::test]
async fn creates_then_licenses_groups_and_tap_with_the_exact_requests() {
    let (server, cipp, t) = setup().await;
    mount_reads(&server).await;
    // Create user: the documented request body; the documented 201 answer.
    Mock::given(method("POST"))
        .and(path("/v1.0/users"))
        .and(body_json(json!({
            "accountEnabled": true,
            "displayName": "Megan Bowen",
            "mailNickname": "meganb",
            "userPrincipalName": "meganb@contoso.com",
            "passwordProfile": {"forceChangePasswordNextSignIn": true, "password": "xWwvJ]6NMw+bWH-d"},
            "usageLocation": "US",
            "givenName": "Megan",
            "surname": "Bowen",
            "jobTitle": "Sales Rep",
            "city": "Seattle"
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users/$entity",
            "id": NEW_ID, "businessPhones": [], "displayName": "Megan Bowen", "givenName": "Megan",
            "jobTitle": "Sales Rep", "mail": null, "mobilePhone": null, "officeLocation": null,
            "preferredLanguage": null, "surname": "Bowen", "userPrincipalName": "meganb@contoso.com"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v1.0/users/{NEW_ID}/assignLicense")))
        .and(body_json(
            json!({"addLicenses": [{"skuId": SKU, "disabledPlans": []}], "removeLicenses": []}),
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": NEW_ID, "userPrincipalName": "meganb@contoso.com"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    get(
        &server,
        &format!("/v1.0/users/{NEW_ID}"),
        json!({"id": NEW_ID, "userPrincipalName": "meganb@contoso.com", "accountEnabled": true}),
    )
    .await;
    get(
        &server,
        &format!("/v1.0/groups/{SALES}"),
        json!({"id": SALES, "displayName": "Sales", "groupTypes": [], "mailEnabled": false, "securityEnabled": true}),
    )
    .await;
    Mock::given(method("POST"))
        .and(path(format!("/v1.0/groups/{SALES}/members/$ref")))
        .and(body_string_contains(format!("/directoryObjects/{NEW_ID}")))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    get(
        &server,
        "/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass",
        json!({"@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration",
               "id": "TemporaryAccessPass", "state": "enabled", "defaultLifetimeInMinutes": 60,
               "defaultLength": 8, "minimumLifetimeInMinutes": 60, "maximumLifetimeInMinutes": 480, "isUsableOnce": false}),
    )
    .await;
    Mock::given(method("POST"))
        .and(path(format!(
            "/v1.0/users/{NEW_ID}/authentication/temporaryAccessPassMethods"
        )))
        .and(body_json(json!({"lifetimeInMinutes": 60, "isUsableOnce": false})))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethod",
            "id": "6f1c4b0f-a7b9-4d31-8a3a-5a8f7f2a8e9b", "temporaryAccessPass": "TAPRocks!",
            "createdDateTime": "2022-06-02T16:21:09.5893903Z", "startDateTime": "2022-06-05T00:00:00.0000000Z",
            "lifetimeInMinutes": 60, "isUsableOnce": false, "isUsable": false, "methodUsabilityReason": "NotYetValid"
        })))
        .expect(1)
        .mount(&server)
        .await;

    let mut new = megan().temporary_access_pass(NewTemporaryAccessPass {
        lifetime_in_minutes: Some(60),
        is_usable_once: Some(false),
        ..Default::default()
    });
    new.job_title = Some("Sales Rep".into());
    new.city = Some("Seattle".into());
    let created = cipp.tenant(&t).unwrap().create_user(&new).await.unwrap();
    assert_eq!(created.user_principal_name, "meganb@contoso.com");
    assert_eq!(created.user.id.as_ref().unwrap().as_str(), NEW_ID);
    assert_eq!(created.password.expose_secret(), "xWwvJ]6NMw+bWH-d");
    let tap = created.temporary_access_pass.as_ref().unwrap();
    assert_eq!(
        tap.temporary_access_pass.as_ref().unwrap().expose_secret(),
        "TAPRocks!"
    );
    let steps: Vec<(&str, bool)> = created
        .report
        .steps
        .iter()
        .map(|s| (s.name.as_str(), s.outcome.is_ok()))
        .collect();
    assert_eq!(
        steps,
        [
            ("create user", true),
            ("assign licences", true),
            ("add to group Sales", true),
            ("temporary access pass", true)
        ]
    );
    // Secrets never reach Debug.
    let debug = format!("{created:?}");
    assert!(
        !debug.contains("xWwvJ") && !debug.contains("TAPRocks"),
        "{debug}"
    );
}

#[tokio::test]
async fn a_bad_domain_group_or_licence_is_refused_before_any_write() {
    let (server, cipp, t) = setup().await;
    mount_reads(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1.0/groups"))
        .and(query_param("$filter", "displayName eq 'Nobody''s'"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .mount(&server)
        .await;
    let h = cipp.tenant(&t).unwrap();
    let cases = [
        (
            "unverified domain",
            megan().domain("pending.contoso.com"),
            "not a verified domain",
        ),
        (
            "unknown domain",
            megan().domain("fabrikam.com"),
            "not a verified domain",
        ),
        (
            "missing group",
            megan().group("Nobody's"),
            "no group named `Nobody's`",
        ),
        (
            "licence the tenant lacks",
            megan().license("4b9405b0-7788-4568-add1-99614e613b69"),
            "no subscription",
        ),
        (
            "licence without usage location",
            CreateUser::new("M", "m").license(SKU),
            "usage location",
        ),
        (
            "TAP lifetime out of range",
            megan().temporary_access_pass(NewTemporaryAccessPass {
                lifetime_in_minutes: Some(5),
                ..Default::default()
            }),
            "10–43200",
        ),
    ];
    for (why, new, expect) in cases {
        let err = h.create_user(&new).await.unwrap_err();
        assert!(err.to_string().contains(expect), "{why}: {err}");
    }
    assert_eq!(
        posts(&server).await,
        0,
        "a refused create must send no write"
    );
}

#[tokio::test]
async fn a_failed_create_is_an_error_and_a_failed_licence_is_a_partial_report() {
    let (server, cipp, t) = setup().await;
    mount_reads(&server).await;
    let h = cipp.tenant(&t).unwrap();
    // Graph's answer when the UPN is taken.
    let taken = Mock::given(method("POST"))
        .and(path("/v1.0/users"))
        .respond_with(ResponseTemplate::new(400).insert_header("request-id", "r-1").set_body_json(json!({
            "error": {"code": "Request_BadRequest",
                      "message": "Another object with the same value for property userPrincipalName already exists.",
                      "details": [{"code": "ObjectConflict", "message": "Another object with the same value for property userPrincipalName already exists.", "target": "userPrincipalName"}],
                      "innerError": {"request-id": "r-1", "date": "2026-12-01T10:00:00"}}
        })))
        .expect(1)
        .mount_as_scoped(&server)
        .await;
    let err = h.create_user(&megan()).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400));
    assert!(err.to_string().contains("already exists"), "{err}");
    assert!(
        !err.to_string().contains("xWwvJ"),
        "password in error: {err}"
    );
    drop(taken);

    Mock::given(method("POST"))
        .and(path("/v1.0/users"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({"id": NEW_ID, "userPrincipalName": "meganb@contoso.com"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v1.0/users/{NEW_ID}/assignLicense")))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": {"code": "Request_BadRequest",
                      "message": "License assignment failed because service plans 0feaeb32-d00e-4d66-bd5a-43b5b83db82c,2347355b-4e81-41a4-9c22-55057a399791 are mutually exclusive.",
                      "innerError": {"request-id": "r-2"}}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let new = CreateUser::new("Megan Bowen", "meganb")
        .usage_location("US")
        .license(SKU);
    let created = h.create_user(&new).await.unwrap();
    assert_eq!(created.report.steps.len(), 2);
    assert!(matches!(
        created.report.steps[1].outcome,
        Outcome::Failed { .. }
    ));
    assert!(matches!(created.report.overall(), Outcome::Partial { .. }));
    // A generated password follows the default style.
    assert_eq!(created.password.expose_secret().chars().count(), 14);
}

fn sim_cipp() -> (Simulator, Cipp, TenantId) {
    let (sim, cipp) = common::demo(None, common::Fleet::Partner);
    (
        sim,
        cipp,
        TenantId::parse("contoso.onmicrosoft.com").unwrap(),
    )
}

#[tokio::test]
async fn from_a_captured_user_defaults_template_on_the_simulator() {
    let (sim, cipp, t) = sim_cipp();
    let h = cipp.tenant(&t).unwrap();
    // "Create template from user", then a new user from it.
    let captured =
        cipp::templates::capture::capture_user_defaults(h.graph(), "adelev@contoso.com", "Staff")
            .await
            .unwrap();
    assert_eq!(captured.template.kind, TemplateKind::UserDefaults);
    let new = CreateUser::new("Nestor Wilke", "nestorw")
        .usage_location("US")
        .with_template(&captured.template)
        .unwrap();
    assert!(new
        .licenses
        .iter()
        .any(|s| s.as_str() == SKU_BUSINESS_PREMIUM));
    assert!(new.groups.iter().any(|g| g == "Sales Team"));
    let created = h.create_user(&new).await.unwrap();
    assert!(
        created.report.steps.iter().all(|s| !s.outcome.is_failure()),
        "{:?}",
        created.report
    );
    let id = created.user.id.clone().unwrap();
    let st = sim.lock_state();
    let tenant = st.tenant("contoso.com").unwrap();
    let user = tenant
        .users()
        .iter()
        .find(|u| u["id"] == json!(id.as_str()))
        .cloned()
        .unwrap();
    assert_eq!(user["userPrincipalName"], json!("nestorw@contoso.com"));
    assert_eq!(user["usageLocation"], json!("US"));
    assert_eq!(
        user["assignedLicenses"][0]["skuId"],
        json!(SKU_BUSINESS_PREMIUM)
    );
    let sales = tenant
        .groups()
        .iter()
        .find(|g| g["displayName"] == json!("Sales Team"))
        .and_then(|g| g["id"].as_str())
        .unwrap()
        .to_owned();
    assert!(tenant.directory.members[&sales]
        .iter()
        .any(|m| m.as_str() == id.as_str()));

    // A template of another kind is refused by name.
    let mut other = captured.template.clone();
    other.kind = TemplateKind::Group;
    let err = CreateUser::new("X", "x").with_template(&other).unwrap_err();
    assert!(err.to_string().contains("not user defaults"), "{err}");
}
