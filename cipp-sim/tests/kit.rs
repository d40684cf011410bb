//! The test kit: seeding from code and JSON, faults and latency per route, cmdlet and
//! tenant, request-log assertions, and the generic collection store's OData behaviour.

mod common;

use std::sync::Arc;
use std::time::Duration;

use cipp_core::{ApiRequest, Audience, Clock, ManualClock, Pipeline, RetryPolicy};
use cipp_sim::kit::{GroupSeed, Licence, TenantSeed, UserSeed};
use cipp_sim::{FaultKind, FaultRule, FaultTrigger, LatencyRule, RequestMatch, Simulator};
use common::{
    eventual, exo, get, get_err, graph_get, no_jitter, pipeline_with, strings, t, Client,
};
use serde_json::{json, Value};

const E3: &str = "6fd2c87f-b296-42f0-b197-1e91e994b900";
const GA: &str = "62e90394-69f5-4237-9190-012177145e10";

fn pipeline(sim: &Simulator) -> Pipeline {
    pipeline_with(sim, sim.client_credentials(), no_jitter())
}

fn contoso() -> TenantSeed {
    TenantSeed::new("contoso.onmicrosoft.com", "Contoso")
        .domain("contoso.com")
        .licence(Licence::new(E3, "ENTERPRISEPACK", 2).plan("c1ec4a95-1f05-45b3-a911-aa3fa01094f5", "INTUNE_A"))
        .user(UserSeed::new("adele@contoso.com", "Adele Vance").licence(E3).role(GA))
        .user(UserSeed::new("ben@contoso.com", "Ben Walters").disabled().property("department", json!("Sales")))
        .group(GroupSeed::security("Sales").member("ben@contoso.com").owner("adele@contoso.com"))
        .group(GroupSeed::distribution("Everyone", "everyone@contoso.com").member("adele@contoso.com"))
        .mailbox(json!({"UserPrincipalName": "info@contoso.com", "DisplayName": "Info", "RecipientTypeDetails": "SharedMailbox"}))
        .user_mailboxes(true)
        .ca_policy(json!({"displayName": "Require MFA", "state": "enabled", "conditions": {}}))
        .audit_event(json!({"id": "a1", "activityDisplayName": "Consent to application", "activityDateTime": "2026-11-01T00:00:00Z"}))
        .intune("deviceManagement/managedDevices", json!({"deviceName": "ADELE-PC", "userPrincipalName": "adele@contoso.com"}))
}

#[tokio::test]
async fn a_tenant_seeded_from_code_answers_graph_and_exchange() {
    let sim = Simulator::builder()
        .tenant(contoso())
        .tenant(TenantSeed::new("fabrikam.onmicrosoft.com", "Fabrikam"))
        .build();
    let p = pipeline(&sim);
    let contoso = Client::new(&p, "contoso.com");
    let users = contoso
        .get("/v1.0/users?$select=userPrincipalName,accountEnabled")
        .await;
    assert_eq!(users["value"].as_array().unwrap().len(), 2);
    let skus = contoso.get("/v1.0/subscribedSkus").await;
    assert_eq!(skus["value"][0]["consumedUnits"], 1, "Adele's seat");
    assert_eq!(
        skus["value"][0]["servicePlans"][0]["servicePlanName"],
        "INTUNE_A"
    );
    let roles = contoso
        .get("/v1.0/users/adele@contoso.com/memberOf/microsoft.graph.directoryRole")
        .await;
    assert_eq!(roles["value"][0]["displayName"], "Global Administrator");
    let owners = contoso
        .get("/v1.0/groups?$filter=displayName%20eq%20'Sales'")
        .await;
    let sales = owners["value"][0]["id"].as_str().unwrap().to_owned();
    let o = contoso.get(&format!("/v1.0/groups/{sales}/owners")).await;
    assert_eq!(o["value"][0]["userPrincipalName"], "adele@contoso.com");
    contoso
        .assert_first_items(&[
            (
                "/v1.0/identity/conditionalAccess/policies",
                "displayName",
                "Require MFA",
            ),
            (
                "/v1.0/auditLogs/directoryAudits",
                "activityDisplayName",
                "Consent to application",
            ),
        ])
        .await;
    let devices = contoso.get("/v1.0/deviceManagement/managedDevices").await;
    assert_eq!(devices["value"][0]["deviceName"], "ADELE-PC");
    assert!(devices["value"][0]["id"].is_string(), "an id is generated");

    // Exchange: the seeded shared mailbox and the users' own; the DL shares membership.
    let mbx = contoso
        .cmdlet("Get-Mailbox", json!({"Identity": "info@contoso.com"}))
        .await;
    assert_eq!(mbx["value"][0]["RecipientTypeDetails"], "SharedMailbox");
    assert_eq!(mbx["value"][0]["PrimarySmtpAddress"], "info@contoso.com");
    let all = contoso.cmdlet("Get-Mailbox", json!({})).await;
    assert_eq!(all["value"].as_array().unwrap().len(), 3);
    let dl = contoso
        .cmdlet(
            "Get-DistributionGroupMember",
            json!({"Identity": "Everyone"}),
        )
        .await;
    assert_eq!(dl["value"][0]["PrimarySmtpAddress"], "adele@contoso.com");

    // The other tenant is empty, and reachable with the same credentials.
    let fab = get(&p, "fabrikam.onmicrosoft.com", "/v1.0/users").await;
    assert!(fab["value"].as_array().unwrap().is_empty());
}

const SEED: &str = r##"{
  "tenants": [
    {"displayName": "MSP", "domains": ["msp.onmicrosoft.com"], "partner": true,
     "users": [{"userPrincipalName": "tech@msp.onmicrosoft.com", "displayName": "Tech"}]},
    {"displayName": "Contoso", "domains": ["contoso.onmicrosoft.com", "contoso.com"],
     "subscribedSkus": [{"skuId": "6fd2c87f-b296-42f0-b197-1e91e994b900", "skuPartNumber": "ENTERPRISEPACK", "prepaidUnits": {"enabled": 5}}],
     "users": [
       {"userPrincipalName": "adele@contoso.com", "displayName": "Adele Vance", "jobTitle": "CFO",
        "licences": ["6fd2c87f-b296-42f0-b197-1e91e994b900"],
        "authenticationMethods": [{"@odata.type": "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod", "id": "m1", "displayName": "iPhone"}]},
       {"userPrincipalName": "ben@contoso.com", "displayName": "Ben", "accountEnabled": false}],
     "groups": [{"displayName": "Finance", "members": ["adele@contoso.com"]}],
     "namedLocations": [{"@odata.type": "#microsoft.graph.ipNamedLocation", "displayName": "HQ", "ipRanges": []}],
     "signIns": [{"id": "s1", "userPrincipalName": "adele@contoso.com", "createdDateTime": "2026-11-02T00:00:00Z"}],
     "collections": {"deviceManagement/deviceConfigurations": [{"@odata.type": "#microsoft.graph.windows10GeneralConfiguration", "displayName": "Baseline"}]}}
  ]}"##;

#[tokio::test]
async fn a_json_seed_with_a_partner_and_its_customers() {
    let sim = Simulator::builder()
        .seed_json(SEED)
        .unwrap()
        .try_build()
        .unwrap();
    // Partner credentials reach the partner and its customers.
    let p = pipeline_with(&sim, sim.partner_credentials(), RetryPolicy::default());
    let contoso = Client::new(&p, "contoso.com");
    let customers = get(
        &p,
        "msp.onmicrosoft.com",
        "/v1.0/tenantRelationships/delegatedAdminCustomers",
    )
    .await;
    assert_eq!(customers["value"][0]["displayName"], "Contoso");
    let adele = contoso
        .get("/v1.0/users/adele@contoso.com?$select=jobTitle,assignedLicenses")
        .await;
    assert_eq!(adele["jobTitle"], "CFO");
    assert_eq!(adele["assignedLicenses"][0]["skuId"], E3);
    let methods = contoso
        .get("/v1.0/users/adele@contoso.com/authentication/methods")
        .await;
    assert_eq!(
        methods["value"].as_array().unwrap().len(),
        2,
        "password + authenticator"
    );
    let seeded = [
        (
            "/v1.0/users/adele@contoso.com/memberOf",
            "displayName",
            "Finance",
        ),
        (
            "/v1.0/identity/conditionalAccess/namedLocations",
            "displayName",
            "HQ",
        ),
        ("/v1.0/auditLogs/signIns", "id", "s1"),
        (
            "/v1.0/deviceManagement/deviceConfigurations",
            "displayName",
            "Baseline",
        ),
    ];
    contoso.assert_first_items(&seeded).await;
}

#[test]
fn a_seed_that_names_nothing_is_refused_with_its_place() {
    let bad = SEED.replace(
        r#""members": ["adele@contoso.com"]"#,
        r#""members": ["nobody@contoso.com"]"#,
    );
    let err = Simulator::builder()
        .seed_json(&bad)
        .unwrap()
        .try_build()
        .unwrap_err();
    assert!(err.path.contains("Finance"), "{err}");
    assert!(err.to_string().contains("nobody@contoso.com"), "{err}");
    let err = Simulator::builder()
        .seed_json(r#"{"tenants": [{"displayName": "x"}]}"#)
        .unwrap_err();
    assert_eq!(err.path, "tenants[0].domains");
    assert!(Simulator::builder().seed_json("not json").is_err());
    // Lenient build: the bad reference is left out.
    let sim = Simulator::builder().seed_json(&bad).unwrap().build();
    let st = sim.lock_state();
    let c = st.tenant("contoso.com").unwrap();
    assert_eq!(c.users().len(), 2);
    assert!(c.directory.members.values().all(Vec::is_empty));
}

#[tokio::test(start_paused = true)]
async fn faults_per_route_cmdlet_and_tenant() {
    let sim = Simulator::builder()
        .tenant(contoso())
        .tenant(TenantSeed::new("fabrikam.onmicrosoft.com", "Fabrikam"))
        .fault(
            FaultRule::new(FaultKind::ServerError(503), FaultTrigger::Always)
                .on_route("GET", "/v1.0/users/{id}/memberOf"),
        )
        .fault(
            FaultRule::new(
                FaultKind::Error {
                    status: 403,
                    code: "Authorization_RequestDenied".into(),
                    message: "Insufficient privileges to complete the operation.".into(),
                },
                FaultTrigger::Always,
            )
            .on_operation("Get-InboxRule"),
        )
        .fault(
            FaultRule::new(FaultKind::ServerError(500), FaultTrigger::Always).matching(
                RequestMatch::path("/v1.0/organization").and_tenant("fabrikam.onmicrosoft.com"),
            ),
        )
        .build();
    let p = pipeline_with(&sim, sim.client_credentials(), RetryPolicy::never());
    let contoso = Client::new(&p, "contoso.com");
    let err = contoso
        .get_err("/v1.0/users/adele@contoso.com/memberOf")
        .await;
    assert_eq!(err.status().unwrap().as_u16(), 503);
    // The same user's other routes are fine.
    contoso.get("/v1.0/users/adele@contoso.com").await;
    contoso.cmdlet("Get-Mailbox", json!({})).await;
    let err = p
        .send(exo(
            "contoso.com",
            "Get-InboxRule",
            json!({"Mailbox": "adele@contoso.com"}),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.status().unwrap().as_u16(), 403);
    contoso.get("/v1.0/organization").await;
    let err = get_err(&p, "fabrikam.onmicrosoft.com", "/v1.0/organization").await;
    assert_eq!(err.status().unwrap().as_u16(), 500);

    let log = sim.log();
    log.expect_status("GET", "/v1.0/users/{id}/memberOf", 503)
        .unwrap();
    assert_eq!(log.cmdlets(), ["Get-Mailbox", "Get-InboxRule"]);
    assert_eq!(log.cmdlet_calls("get-inboxrule")[0].status, 403);
}

#[tokio::test(start_paused = true)]
async fn latency_per_route_and_cmdlet_in_tokio_time() {
    let sim = Simulator::builder()
        .tenant(contoso())
        .latency(LatencyRule::new(
            RequestMatch::route("GET", "/v1.0/auditLogs/*"),
            Duration::from_secs(3),
        ))
        .latency(LatencyRule::new(
            RequestMatch::operation("Search-UnifiedAuditLog"),
            Duration::from_secs(20),
        ))
        .build();
    let p = pipeline(&sim);
    let contoso = Client::new(&p, "contoso.com");
    contoso.get("/v1.0/users").await; // token + users: no latency
    let start = tokio::time::Instant::now();
    contoso.get("/v1.0/auditLogs/signIns").await;
    assert_eq!(start.elapsed(), Duration::from_secs(3));
    let start = tokio::time::Instant::now();
    p.send(exo(
        "contoso.com",
        "Search-UnifiedAuditLog",
        json!({"StartDate": "2026-01-01T00:00:00Z", "EndDate": "2026-01-02T00:00:00Z"}),
    ))
    .await
    .unwrap();
    // The Exchange token request is fast; the search is slow.
    assert_eq!(start.elapsed(), Duration::from_secs(20));
    sim.clear_latency();
    let start = tokio::time::Instant::now();
    contoso.get("/v1.0/auditLogs/signIns").await;
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[tokio::test]
async fn request_log_assertions_name_what_happened() {
    let clock = ManualClock::new("2026-11-27T09:00:00Z".parse().unwrap());
    let sim = Simulator::builder()
        .clock(Arc::new(clock.clone()))
        .tenant(contoso())
        .build();
    let p = pipeline(&sim);
    let contoso = Client::new(&p, "contoso.com");
    contoso.get("/v1.0/users/ben@contoso.com").await;
    p.send(
        ApiRequest::patch(
            t("contoso.com"),
            Audience::Graph,
            "/v1.0/users/ben@contoso.com",
        )
        .json(&json!({"accountEnabled": true}))
        .unwrap(),
    )
    .await
    .unwrap();
    // A $batch: its items are logged too, marked.
    let batch = json!({"requests": [
        {"id": "1", "method": "GET", "url": "/users/adele@contoso.com"},
        {"id": "2", "method": "GET", "url": "/groups"}]});
    p.send(
        ApiRequest::post(t("contoso.com"), Audience::Graph, "/v1.0/$batch")
            .json(&batch)
            .unwrap(),
    )
    .await
    .unwrap();
    let log = sim.log();
    log.expect_sequence(&[
        ("POST", "/{tenant}/oauth2/v2.0/token"),
        ("GET", "/v1.0/users/{id}"),
        ("PATCH", "/v1.0/users/{id}"),
        ("POST", "/v1.0/$batch"),
    ])
    .unwrap();
    log.expect_count("GET", "/v1.0/users/{id}", 2).unwrap();
    assert!(log.calls("GET", "/v1.0/groups")[0].in_batch);
    assert_eq!(sim.request_log().len(), 4, "the HTTP requests only");
    // The $batch envelope is not a write: its two GETs are logged on their own.
    assert_eq!(log.writes().len(), 1, "the PATCH only");
    assert!(log.entries().iter().all(|e| e.at == clock.now()));
    let err = log.expect_none("PATCH", "/v1.0/users/*").unwrap_err();
    let text = err.to_string();
    assert!(text.contains("no PATCH /v1.0/users/*, got 1"), "{text}");
    assert!(text.contains("PATCH /v1.0/users/ben@contoso.com"), "{text}");
    assert!(log
        .expect_sequence(&[
            ("PATCH", "/v1.0/users/{id}"),
            ("GET", "/v1.0/users/{id}/manager")
        ])
        .is_err());
    // The audit record the PATCH wrote.
    let audits = contoso
        .get("/v1.0/auditLogs/directoryAudits?$filter=activityDisplayName%20eq%20'Update%20user'")
        .await;
    assert_eq!(
        audits["value"][0]["targetResources"][0]["modifiedProperties"][0]["displayName"],
        "AccountEnabled"
    );
}

#[tokio::test]
async fn the_generic_store_sorts_counts_pages_and_refuses_unknown_methods() {
    let mut seed = TenantSeed::new("bigco.onmicrosoft.com", "BigCo");
    for i in 0..5 {
        seed = seed.group(GroupSeed::security(&format!("Group {}", 4 - i)));
    }
    let sim = Simulator::builder().tenant(seed).build();
    let p = pipeline(&sim);
    let groups = || graph_get("bigco.onmicrosoft.com", "/v1.0/groups");
    let page: Value = p
        .send_json(eventual(
            groups()
                .query("$orderby", "displayName desc")
                .query("$count", "true")
                .query("$top", "2")
                .query("$select", "displayName"),
        ))
        .await
        .unwrap();
    assert_eq!(page["@odata.count"], 5);
    let names: Vec<&str> = strings(&page["value"], "displayName");
    assert_eq!(names, ["Group 4", "Group 3"]);
    assert!(
        page["@odata.nextLink"]
            .as_str()
            .unwrap()
            .contains("%24orderby=displayName%20desc")
            || page["@odata.nextLink"]
                .as_str()
                .unwrap()
                .contains("$orderby=displayName%20desc")
    );
    // $orderby on a directory collection needs ConsistencyLevel: eventual.
    let err = p
        .send(groups().query("$orderby", "displayName"))
        .await
        .unwrap_err();
    assert_eq!(err.as_api().unwrap().code, "Request_UnsupportedQuery");
    // A known path with another method: 405; an unknown segment: Graph's 400.
    let err = p
        .send(
            ApiRequest::put(
                t("bigco.onmicrosoft.com"),
                Audience::Graph,
                "/v1.0/organization",
            )
            .json(&json!({}))
            .unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status().unwrap().as_u16(), 405);
    let err = get_err(&p, "bigco.onmicrosoft.com", "/v1.0/nothingHere").await;
    assert_eq!(err.status().unwrap().as_u16(), 400);
    assert!(err.to_string().contains("nothingHere"), "{err}");
}
