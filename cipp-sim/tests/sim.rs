//! The simulator answers like the real services, and the SDK works against it.

mod common;

use std::sync::Arc;
use std::time::Duration;

use cipp_core::{
    paging, ApiRequest, Audience, AuthErrorKind, Clock, Credentials, Error, ManualClock, Pipeline,
    RetryPolicy, SecretString, TenantId,
};
use cipp_sim::scenario::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_PARTNER};
use cipp_sim::state::user_json;
use cipp_sim::{FaultKind, FaultRule, FaultTrigger, SimTenant, Simulator};
use common::{eventual, get, get_err, graph_get, no_jitter, pipeline_with, t, Client};
use futures::{StreamExt, TryStreamExt};
use serde_json::Value;

fn pipeline(sim: &Simulator) -> Pipeline {
    pipeline_with(sim, sim.demo_credentials(), RetryPolicy::default())
}

/// The demo simulator on a manual clock at 2026-11-27 09:00.
fn demo_at_nine() -> (Simulator, ManualClock) {
    let clock = ManualClock::new("2026-11-27T09:00:00Z".parse().unwrap());
    let sim = Simulator::with_clock(Arc::new(clock.clone()));
    cipp_sim::scenario::demo(&mut sim.lock_state());
    (sim, clock)
}

/// A throttle fault (429 with this `Retry-After`).
fn throttle(retry_after: &str, trigger: FaultTrigger) -> FaultRule {
    FaultRule::new(
        FaultKind::Throttle {
            retry_after: retry_after.into(),
        },
        trigger,
    )
}

fn big_tenant(sim: &Simulator, users: usize) -> TenantId {
    let mut tenant = SimTenant::new(
        "11111111-2222-4333-8444-555555555555",
        "Big Co",
        "bigco.onmicrosoft.com",
    );
    for i in 0..users {
        tenant.add_user(user_json(
            &format!("User {i:04}"),
            &format!("user{i:04}@bigco.onmicrosoft.com"),
            "Staff",
            true,
        ));
    }
    sim.add_tenant(tenant);
    sim.lock_state()
        .apps
        .get_mut(DEMO_CLIENT_ID)
        .unwrap()
        .consented
        .push("11111111-2222-4333-8444-555555555555".into());
    t("bigco.onmicrosoft.com")
}

fn secret_credentials(secret: &str) -> Credentials {
    Credentials::ClientSecret {
        client_id: DEMO_CLIENT_ID.into(),
        secret: SecretString::from(secret),
    }
}

fn client_secret(sim: &Simulator, secret: &str) -> Pipeline {
    pipeline_with(sim, secret_credentials(secret), RetryPolicy::default())
}

#[tokio::test]
async fn users_page_with_top_and_skiptoken() {
    let sim = Simulator::demo();
    let tenant = big_tenant(&sim, 250);
    let p = client_secret(&sim, DEMO_CLIENT_SECRET);
    let req = ApiRequest::get(tenant, Audience::Graph, "/v1.0/users")
        .query("$select", "id,userPrincipalName");
    let pages: Vec<cipp_core::Page<Value>> = paging::pages(p, req).try_collect().await.unwrap();
    assert_eq!(
        pages.iter().map(|p| p.items.len()).collect::<Vec<_>>(),
        [100, 100, 50]
    );
    let link = pages[0].next_link.as_deref().unwrap();
    assert!(
        link.starts_with("https://graph.microsoft.com/v1.0/users?") && link.contains("$skiptoken="),
        "{link}"
    );
    assert!(
        link.contains("$select=id%2CuserPrincipalName"),
        "original options kept: {link}"
    );
    // $select is honoured: only the selected properties come back.
    let keys: Vec<&String> = pages[0].items[0].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["id", "userPrincipalName"]);
    let log = sim.request_log();
    assert_eq!(log.iter().filter(|l| l.path == "/v1.0/users").count(), 3);
}

#[tokio::test]
async fn top_out_of_range_and_count_without_eventual_are_refused() {
    let sim = Simulator::demo();
    let p = pipeline(&sim);
    let users = || graph_get("contoso.onmicrosoft.com", "/v1.0/users");
    let err = p.send(users().query("$top", "1000")).await.unwrap_err();
    assert_eq!(err.status().unwrap().as_u16(), 400);
    let err = p.send(users().query("$count", "true")).await.unwrap_err();
    assert_eq!(err.as_api().unwrap().code, "Request_UnsupportedQuery");
    let ok = eventual(
        users()
            .query("$count", "true")
            .query("$filter", "accountEnabled eq false"),
    );
    let page: Value = p.send_json(ok).await.unwrap();
    assert_eq!(page["@odata.count"], 1);
    assert_eq!(page["value"][0]["displayName"], "Former Employee");
}

#[tokio::test]
async fn user_by_id_or_encoded_upn_and_guest_upn() {
    let sim = Simulator::demo();
    {
        let mut st = sim.lock_state();
        let c = st.tenant_mut("contoso.com").unwrap();
        c.add_user(user_json(
            "Guest Person",
            "guest_fabrikam.com#EXT#@contoso.onmicrosoft.com",
            "",
            true,
        ));
    }
    let p = pipeline(&sim);
    let contoso = Client::new(&p, "contoso.com");
    let u = contoso.get("/v1.0/users/AdeleV%40contoso.com").await;
    assert_eq!(u["displayName"], "Adele Vance");
    let id = u["id"].as_str().unwrap().to_owned();
    let by_id = contoso.get(&format!("/v1.0/users/{id}")).await;
    assert_eq!(by_id["userPrincipalName"], "adelev@contoso.com");
    let guest = contoso
        .get("/v1.0/users/guest_fabrikam.com%23EXT%23%40contoso.onmicrosoft.com")
        .await;
    assert_eq!(guest["displayName"], "Guest Person");
    let quoted = contoso.get("/v1.0/users('adelev@contoso.com')").await;
    assert_eq!(quoted["id"], id.as_str());
    let err = contoso.get_err("/v1.0/users/nobody%40contoso.com").await;
    assert!(err.is_not_found());
    assert_eq!(err.as_api().unwrap().code, "Request_ResourceNotFound");
}

#[tokio::test]
async fn deleted_items_cast_in_short_and_long_form() {
    let sim = Simulator::demo();
    {
        let mut st = sim.lock_state();
        let c = st.tenant_mut("contoso.com").unwrap();
        let mut u = user_json("Gone User", "gone@contoso.com", "", true);
        u["deletedDateTime"] = Value::String("2026-11-01T10:00:00Z".into());
        c.directory.users_mut().deleted_mut().push(u);
    }
    let p = pipeline(&sim);
    let contoso = Client::new(&p, "contoso.com");
    for path in [
        "/v1.0/directory/deletedItems/microsoft.graph.user",
        "/v1.0/directory/deletedItems/graph.user",
    ] {
        let page = contoso.get(path).await;
        assert_eq!(page["value"][0]["displayName"], "Gone User", "{path}");
    }
}

#[tokio::test]
async fn token_endpoint_answers_with_real_aadsts_errors() {
    let sim = Simulator::demo();
    let err = get_err(&client_secret(&sim, "wrong"), "contoso.com", "/v1.0/users").await;
    assert_eq!(
        err.as_auth().unwrap().kind,
        AuthErrorKind::InvalidClientSecret
    );
    assert_eq!(err.as_auth().unwrap().codes, [7000215]);

    let err = get_err(
        &pipeline(&sim),
        "nosuchtenant.onmicrosoft.com",
        "/v1.0/users",
    )
    .await;
    assert_eq!(err.as_auth().unwrap().kind, AuthErrorKind::UnknownTenant);

    let stale = pipeline_with(
        &sim,
        Credentials::PartnerRefreshToken {
            client_id: DEMO_CLIENT_ID.into(),
            secret: SecretString::from(DEMO_CLIENT_SECRET),
            refresh_token: SecretString::from("expired-token"),
        },
        RetryPolicy::default(),
    );
    let err = get_err(&stale, "contoso.com", "/v1.0/users").await;
    assert_eq!(
        err.as_auth().unwrap().kind,
        AuthErrorKind::RefreshTokenExpired
    );

    // A tenant that is not a GDAP customer of the partner: no consent.
    sim.add_tenant(SimTenant::new(
        "99999999-2222-4333-8444-555555555555",
        "Stranger",
        "stranger.onmicrosoft.com",
    ));
    let err = get_err(&pipeline(&sim), "stranger.onmicrosoft.com", "/v1.0/users").await;
    assert_eq!(err.as_auth().unwrap().kind, AuthErrorKind::ConsentMissing);
}

#[tokio::test]
async fn a_token_for_one_tenant_does_not_read_another() {
    let sim = Simulator::demo();
    let p = pipeline(&sim);
    let org = get(&p, "fabrikam.com", "/v1.0/organization").await;
    assert_eq!(org["value"][0]["displayName"], "Fabrikam Inc");
    let customers: Vec<Value> = paging::items(
        p,
        graph_get(
            DEMO_PARTNER,
            "/v1.0/tenantRelationships/delegatedAdminCustomers",
        ),
    )
    .try_collect()
    .await
    .unwrap();
    assert_eq!(customers.len(), 3);
}

#[tokio::test(start_paused = true)]
async fn injected_throttle_is_retried_and_logged() {
    let (sim, clock) = demo_at_nine();
    sim.add_fault(throttle("2", FaultTrigger::Nth(1)).on_path("/v1.0/users"));
    let p = pipeline(&sim);
    let start = tokio::time::Instant::now();
    let users: Vec<Value> = paging::items(p, graph_get("contoso.com", "/v1.0/users"))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(users.len(), 7);
    assert_eq!(start.elapsed(), Duration::from_secs(2));
    let statuses: Vec<u16> = sim
        .request_log()
        .iter()
        .filter(|l| l.path == "/v1.0/users")
        .map(|l| l.status)
        .collect();
    assert_eq!(statuses, [429, 200]);
    assert!(sim.request_log().iter().all(|l| l.at == clock.now()));
}

#[tokio::test(start_paused = true)]
async fn server_errors_latency_and_truncated_bodies() {
    let sim = Simulator::demo();
    sim.add_fault(
        FaultRule::new(FaultKind::ServerError(503), FaultTrigger::EveryNth(2))
            .for_tenant("fabrikam.com"),
    );
    sim.set_latency(Duration::from_millis(20));
    let p = pipeline_with(&sim, sim.demo_credentials(), no_jitter());
    let contoso = Client::new(&p, "contoso.com");
    let start = tokio::time::Instant::now();
    for _ in 0..2 {
        get(&p, "fabrikam.com", "/v1.0/organization").await;
    }
    // token (20 ms) + ok (20 ms) + 503 (20 ms) + 1 s backoff + ok (20 ms)
    assert_eq!(start.elapsed(), Duration::from_millis(1080));
    contoso.get("/v1.0/organization").await;

    sim.clear_faults();
    sim.add_fault(
        FaultRule::new(FaultKind::TruncatedBody, FaultTrigger::Always).on_path("/v1.0/users"),
    );
    let got: Vec<Result<Value, Error>> = paging::items(p, graph_get("contoso.com", "/v1.0/users"))
        .collect()
        .await;
    assert!(matches!(got[0], Err(Error::Decode(_))), "{got:?}");
}

#[tokio::test]
async fn unknown_tokens_are_refused_with_401() {
    let sim = Simulator::demo();
    let p = pipeline_with(
        &sim,
        Credentials::StaticToken(SecretString::from("forged")),
        RetryPolicy::never(),
    );
    let contoso = Client::new(&p, "contoso.com");
    let err = contoso.get_err("/v1.0/users").await;
    assert_eq!(err.status().unwrap().as_u16(), 401);
    assert_eq!(err.as_api().unwrap().code, "InvalidAuthenticationToken");
}

#[cfg(feature = "http")]
#[tokio::test]
async fn served_over_http_with_next_links_back_to_the_server() {
    let sim = Simulator::demo();
    let tenant = big_tenant(&sim, 150);
    let (addr, task) = cipp_sim::http_server::start(sim.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let base = format!("http://{addr}");
    let p = Pipeline::builder()
        .transport(Arc::new(cipp_core::ReqwestTransport::new().unwrap()))
        .endpoints(cipp_core::Endpoints::single_base(&base))
        .credentials(secret_credentials(DEMO_CLIENT_SECRET))
        .build()
        .unwrap();
    let pages: Vec<cipp_core::Page<Value>> =
        paging::pages(p, ApiRequest::get(tenant, Audience::Graph, "/v1.0/users"))
            .try_collect()
            .await
            .unwrap();
    assert_eq!(pages.len(), 2);
    assert!(pages[0].next_link.as_deref().unwrap().starts_with(&base));
    assert_eq!(pages[0].items.len() + pages[1].items.len(), 150);
    task.abort();
}

#[tokio::test]
async fn users_are_created_changed_deleted_and_restored() {
    let (sim, _) = demo_at_nine();
    let p = pipeline(&sim);
    let contoso = Client::new(&p, "contoso.com");
    let contoso_id = t("contoso.com");
    let body = serde_json::json!({
        "@odata.type": "#microsoft.graph.user",
        "accountEnabled": true, "displayName": "New Hire", "mailNickname": "newhire",
        "userPrincipalName": "newhire@contoso.com", "usageLocation": "GB",
        "passwordProfile": {"forceChangePasswordNextSignIn": true, "password": "xWwvJ]6NMw+bWH-d"}
    });
    let create = |body: &Value| {
        ApiRequest::post(contoso_id.clone(), Audience::Graph, "/v1.0/users")
            .json(body)
            .unwrap()
    };
    let created: Value = p.send_json(create(&body)).await.unwrap();
    assert!(
        created.get("passwordProfile").is_none(),
        "the password is never returned"
    );
    assert_eq!(created["createdDateTime"], "2026-11-27T09:00:00Z");
    let id = created["id"].as_str().unwrap().to_owned();

    // Same UPN again, an unverified domain, a missing property: the real 400s.
    let err = p.send(create(&body)).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("Another object with the same value"),
        "{err}"
    );
    let mut other = body.clone();
    other["userPrincipalName"] = "x@unverified.example".into();
    let err = p.send(create(&other)).await.unwrap_err();
    assert!(err.to_string().contains("verified domain"), "{err}");
    let mut missing = body.clone();
    missing.as_object_mut().unwrap().remove("mailNickname");
    let err = p.send(create(&missing)).await.unwrap_err();
    assert!(err.to_string().contains("'mailNickname'"), "{err}");

    // PATCH by UPN (percent-encoded), then read back.
    let patch = ApiRequest::patch(
        contoso_id.clone(),
        Audience::Graph,
        "/v1.0/users/newhire%40contoso.com",
    )
    .json(&serde_json::json!({"jobTitle": "Engineer", "accountEnabled": false}))
    .unwrap();
    let r = p.send(patch).await.unwrap();
    assert_eq!(r.status.as_u16(), 204);
    let u: Value = p
        .send_json(
            graph_get("contoso.com", format!("/v1.0/users/{id}"))
                .query("$select", "jobTitle,accountEnabled"),
        )
        .await
        .unwrap();
    assert_eq!(
        (u["jobTitle"].as_str(), u["accountEnabled"].as_bool()),
        (Some("Engineer"), Some(false))
    );

    // DELETE, list deleted, restore.
    p.send(ApiRequest::delete(
        contoso_id.clone(),
        Audience::Graph,
        format!("/v1.0/users/{id}"),
    ))
    .await
    .unwrap();
    let deleted = contoso
        .get("/v1.0/directory/deletedItems/microsoft.graph.user")
        .await;
    assert_eq!(deleted["value"].as_array().unwrap().len(), 1);
    let restored: Value = p
        .send_json(ApiRequest::post(
            contoso_id.clone(),
            Audience::Graph,
            format!("/v1.0/directory/deletedItems/{id}/restore"),
        ))
        .await
        .unwrap();
    assert_eq!(restored["@odata.type"], "#microsoft.graph.user");
    contoso.get(&format!("/v1.0/users/{id}")).await;

    // Malformed JSON is refused like Graph refuses it.
    let bad = ApiRequest::post(contoso_id, Audience::Graph, "/v1.0/users")
        .body(bytes::Bytes::from_static(b"{\"displayName\":"))
        .header(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
    let err = p.send(bad).await.unwrap_err();
    assert!(err.to_string().contains("Unable to read JSON"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn throttling_at_a_rate_is_deterministic_and_survivable() {
    let run = || async {
        let sim = Simulator::demo();
        sim.add_fault(throttle("1", FaultTrigger::Rate(0.3)).on_path("/v1.0/organization"));
        let p = pipeline(&sim);
        let contoso = Client::new(&p, "contoso.com");
        for _ in 0..20 {
            contoso.get("/v1.0/organization").await;
        }
        sim.request_log().iter().filter(|l| l.status == 429).count()
    };
    let first = run().await;
    assert!(first > 0, "some requests were throttled");
    assert_eq!(first, run().await, "the same sequence every run");
}

#[tokio::test]
async fn percent_encoded_upn_in_a_filter() {
    let sim = Simulator::demo();
    let p = pipeline(&sim);
    let req = graph_get("contoso.com", "/v1.0/users")
        .query("$filter", "userPrincipalName eq 'MeganB@contoso.com'");
    assert!(req.target().contains("%40"), "{}", req.target());
    let page: Value = p.send_json(req).await.unwrap();
    assert_eq!(page["value"].as_array().unwrap().len(), 1);
    assert_eq!(page["value"][0]["displayName"], "Megan Bowen");
}
