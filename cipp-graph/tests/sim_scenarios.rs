//! Scenarios on the simulator: the SDK and cipp-sim agree, statefully, across tenants.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use cipp_core::{Clock, ManualClock, Outcome, Pipeline, TenantId};
use cipp_graph::audit::{AuditFilter, SignInFilter};
use cipp_graph::batch::{self, BatchOptions};
use cipp_graph::model::{
    AssignedLicense, Field, NewGroup, NewTemporaryAccessPass, NewUser, PasswordProfile, SkuId,
    UserPatch,
};
use cipp_graph::odata::Query;
use cipp_graph::users::{self, UserRef};
use cipp_graph::GraphClient;
use cipp_sim::scenario::{DEMO_COMPROMISED_UPN, SKU_EXCHANGE_STANDARD};
use cipp_sim::{FaultKind, FaultRule, FaultTrigger, Simulator};
use secrecy::SecretString;

fn setup() -> (Simulator, GraphClient, ManualClock) {
    let clock = ManualClock::new("2026-11-27T09:00:00Z".parse().unwrap());
    let sim = Simulator::demo_with_clock(Arc::new(clock.clone()));
    let pipeline = Pipeline::builder()
        .transport(Arc::new(sim.clone()))
        .credentials(sim.demo_credentials())
        .build()
        .unwrap();
    (sim, GraphClient::new(pipeline), clock)
}

fn contoso() -> TenantId {
    TenantId::parse("contoso.onmicrosoft.com").unwrap()
}

fn new_user(upn: &str, usage: Option<&str>) -> NewUser {
    NewUser {
        account_enabled: true,
        display_name: "New Hire".into(),
        mail_nickname: upn.split('@').next().unwrap().into(),
        user_principal_name: upn.into(),
        password_profile: PasswordProfile {
            force_change_password_next_sign_in: true,
            password: SecretString::from("Str0ng-Passw0rd!"),
        },
        usage_location: usage.map(str::to_owned),
        given_name: None,
        surname: None,
        job_title: None,
        department: None,
        extra: Default::default(),
    }
}

#[tokio::test]
async fn user_lifecycle_created_listed_deleted_restored() {
    let (_sim, graph, _) = setup();
    let t = contoso();
    let created = graph
        .tenant(&t)
        .users()
        .create(&new_user("newhire@contoso.com", Some("GB")))
        .await
        .unwrap();
    let id = created.id.clone().unwrap();
    let listed: Vec<_> = graph
        .tenant(&t)
        .users()
        .list()
        .query(Query::new().filter("userPrincipalName eq 'newhire@contoso.com'"))
        .collect()
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    graph.tenant(&t).users().delete(&UserRef::Id(id.clone())).await.unwrap();
    let deleted: Vec<_> =
        graph.tenant(&t).users().list_deleted().query(Query::new()).collect().await.unwrap();
    assert!(deleted.iter().any(|u| u.id.as_ref() == Some(&id)));
    graph
        .tenant(&t)
        .users()
        .restore(&cipp_graph::model::DirectoryObjectId::from(id.as_str()))
        .await
        .unwrap();
    assert!(graph.tenant(&t).users().get(&UserRef::Id(id)).await.is_ok());
    // The other tenants are untouched.
    let fabrikam = TenantId::parse("fabrikam.onmicrosoft.com").unwrap();
    let f: Vec<_> =
        graph.tenant(&fabrikam).users().list().query(Query::new()).collect().await.unwrap();
    assert!(f.iter().all(|u| u.user_principal_name.as_deref() != Some("newhire@contoso.com")));
}

#[tokio::test]
async fn change_upn_only_to_a_verified_domain() {
    let (_sim, graph, _) = setup();
    let t = contoso();
    let u = UserRef::parse("adelev@contoso.com").unwrap();
    graph.tenant(&t).users().change_upn(&u, "adele.vance@contoso.onmicrosoft.com").await.unwrap();
    assert!(graph
        .tenant(&t)
        .users()
        .get(&UserRef::parse("adele.vance@contoso.onmicrosoft.com").unwrap())
        .await
        .is_ok());
    let moved = UserRef::parse("adele.vance@contoso.onmicrosoft.com").unwrap();
    assert!(graph.tenant(&t).users().change_upn(&moved, "adele@fabrikam.com").await.is_err());
}

#[tokio::test]
async fn memberships_change_and_graph_refuses_what_graph_refuses() {
    let (_sim, graph, _) = setup();
    let t = contoso();
    let group = graph
        .tenant(&t)
        .groups()
        .create(&NewGroup::security("Project X", "projectx"))
        .await
        .unwrap();
    let gid = group.id.unwrap().0;
    let alex = graph
        .tenant(&t)
        .users()
        .get(&UserRef::parse("alexw@contoso.com").unwrap())
        .await
        .unwrap()
        .id
        .unwrap();
    graph
        .tenant(&t)
        .groups()
        .add_member(
            &cipp_graph::model::GroupId::from(&*gid),
            &cipp_graph::model::DirectoryObjectId::from(alex.as_str()),
        )
        .await
        .unwrap();
    let err = graph
        .tenant(&t)
        .groups()
        .add_member(
            &cipp_graph::model::GroupId::from(&*gid),
            &cipp_graph::model::DirectoryObjectId::from(alex.as_str()),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.status().unwrap().as_u16(),
        400,
        "adding an existing member is a 400, as in Graph"
    );
    let of: Vec<_> = graph
        .tenant(&t)
        .users()
        .member_of(&UserRef::Id(alex.clone()), false)
        .collect()
        .await
        .unwrap();
    assert!(of.iter().any(|g| g.id.as_deref() == Some(gid.as_str())));
    graph
        .tenant(&t)
        .groups()
        .remove_member(
            &cipp_graph::model::GroupId::from(&*gid),
            &cipp_graph::model::DirectoryObjectId::from(alex.as_str()),
        )
        .await
        .unwrap();
    let members: Vec<_> = graph
        .tenant(&t)
        .groups()
        .members(&cipp_graph::model::GroupId::from(&*gid))
        .collect()
        .await
        .unwrap();
    assert!(members.is_empty());
    // The distribution list is Exchange's.
    let dls: Vec<_> = graph
        .tenant(&t)
        .groups()
        .list()
        .query(Query::new().filter("displayName eq 'Everyone DL'"))
        .collect()
        .await
        .unwrap();
    let err = graph
        .tenant(&t)
        .groups()
        .add_member(
            &cipp_graph::model::GroupId::from(dls[0].id.as_ref().unwrap().as_str()),
            &cipp_graph::model::DirectoryObjectId::from(alex.as_str()),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Exchange"), "{err}");
}

#[tokio::test]
async fn bulk_membership_through_binds() {
    let (sim, graph, _) = setup();
    let t = contoso();
    let ids: Vec<String> = {
        let mut st = sim.lock_state();
        let c = st.tenant_mut("contoso.com").unwrap();
        for i in 0..25 {
            c.add_user(cipp_sim::state::user_json(
                &format!("Bulk {i}"),
                &format!("bulk{i}@contoso.com"),
                "",
                true,
            ));
        }
        c.users()
            .iter()
            .filter(|u| u["displayName"].as_str().unwrap().starts_with("Bulk"))
            .map(|u| u["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let g =
        graph.tenant(&t).groups().create(&NewGroup::microsoft365("Bulk", "bulk")).await.unwrap();
    let report = graph
        .tenant(&t)
        .groups()
        .add_members_bulk(&cipp_graph::model::GroupId::from(g.id.as_ref().unwrap().as_str()), &ids)
        .await
        .unwrap();
    assert!(matches!(report.overall(), Outcome::Succeeded { .. }));
    let members: Vec<_> = graph
        .tenant(&t)
        .groups()
        .members(&cipp_graph::model::GroupId::from(g.id.as_ref().unwrap().as_str()))
        .collect()
        .await
        .unwrap();
    assert_eq!(members.len(), 25);
}

#[tokio::test]
async fn one_usable_tap_per_user_and_the_policy_is_enforced() {
    let (_sim, graph, _) = setup();
    let t = contoso();
    let u = UserRef::parse("adelev@contoso.com").unwrap();
    let req = NewTemporaryAccessPass { lifetime_in_minutes: Some(60), ..Default::default() };
    let first =
        graph.tenant(&t).auth_methods().create_temporary_access_pass(&u, &req, true).await.unwrap();
    let second =
        graph.tenant(&t).auth_methods().create_temporary_access_pass(&u, &req, true).await.unwrap();
    assert_ne!(first.id, second.id);
    let methods = graph.tenant(&t).auth_methods().list(&u).await.unwrap();
    let taps = methods.iter().filter(|m| m.odata_type.contains("temporaryAccessPass")).count();
    assert_eq!(taps, 1, "a new pass replaces the old one");
    // The demo policy allows 60–480 minutes.
    let long = NewTemporaryAccessPass { lifetime_in_minutes: Some(600), ..Default::default() };
    assert!(graph
        .tenant(&t)
        .auth_methods()
        .create_temporary_access_pass(&u, &long, true)
        .await
        .is_err());
    // Without the client-side policy check, the simulator refuses it the same way.
    let err = graph
        .tenant(&t)
        .auth_methods()
        .create_temporary_access_pass(&u, &long, false)
        .await
        .unwrap_err();
    assert_eq!(err.status().unwrap().as_u16(), 400);
}

#[tokio::test]
async fn re_require_mfa_registration_keeps_only_the_password() {
    let (_sim, graph, _) = setup();
    let t = contoso();
    let u = UserRef::parse(DEMO_COMPROMISED_UPN).unwrap();
    let report = graph.tenant(&t).auth_methods().remove_all_but_password(&u).await.unwrap();
    assert!(matches!(report.overall(), Outcome::Succeeded { .. }), "{report:?}");
    let left = graph.tenant(&t).auth_methods().list(&u).await.unwrap();
    assert_eq!(left.len(), 1);
    assert!(left[0].odata_type.contains("password"));
    let again = graph.tenant(&t).auth_methods().remove_all_but_password(&u).await.unwrap();
    assert!(matches!(again.overall(), Outcome::NoChange { .. }), "{again:?}");
}

#[tokio::test]
async fn sign_ins_and_audits_filtered_like_graph() {
    let (_sim, graph, clock) = setup();
    let t = contoso();
    let megan = graph
        .tenant(&t)
        .users()
        .get(&UserRef::parse(DEMO_COMPROMISED_UPN).unwrap())
        .await
        .unwrap()
        .id
        .unwrap();
    let since = clock.now() - chrono::Duration::days(7);
    let all: Vec<_> = graph
        .tenant(&t)
        .audit()
        .sign_ins(&SignInFilter {
            user_id: Some(megan.0.clone()),
            since: Some(since),
            ..Default::default()
        })
        .collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 4);
    assert!(
        all.windows(2).all(|w| w[0].created_date_time >= w[1].created_date_time),
        "newest first"
    );
    let recent: Vec<_> = graph
        .tenant(&t)
        .audit()
        .sign_ins(&SignInFilter {
            user_id: Some(megan.0.clone()),
            since: Some(clock.now() - chrono::Duration::days(2)),
            ..Default::default()
        })
        .collect()
        .await
        .unwrap();
    assert_eq!(recent.len(), 2);
    assert!(recent.iter().any(|s| s.client_app_used.as_deref() == Some("IMAP4")));
    // A TAP creation is audited, and the audit filter finds it.
    graph
        .tenant(&t)
        .auth_methods()
        .create_temporary_access_pass(
            &UserRef::Id(megan.clone()),
            &NewTemporaryAccessPass { lifetime_in_minutes: Some(60), ..Default::default() },
            false,
        )
        .await
        .unwrap();
    let audits: Vec<_> = graph
        .tenant(&t)
        .audit()
        .directory_audits(&AuditFilter {
            activities: vec![
                "Admin registered security info".into(),
                "User registered security info".into(),
            ],
            target_id: Some(megan.0.clone()),
            since: Some(since),
            ..Default::default()
        })
        .collect()
        .await
        .unwrap();
    assert_eq!(audits.len(), 2);
}

#[tokio::test]
async fn licences_with_a_missing_usage_location() {
    let (_sim, graph, _) = setup();
    let t = contoso();
    let created =
        graph.tenant(&t).users().create(&new_user("nolocation@contoso.com", None)).await.unwrap();
    let u = UserRef::Id(created.id.unwrap());
    let add =
        [AssignedLicense { sku_id: SkuId(SKU_EXCHANGE_STANDARD.into()), disabled_plans: vec![] }];
    assert!(graph.tenant(&t).users().assign_licenses(&u, &add, &[], None).await.is_err());
    let user = graph.tenant(&t).users().assign_licenses(&u, &add, &[], Some("US")).await.unwrap();
    assert_eq!(user.usage_location.as_deref(), Some("US"));
    let skus: Vec<_> = graph.tenant(&t).directory().subscribed_skus().collect().await.unwrap();
    let exo = skus.iter().find(|s| s.sku_id.as_str() == SKU_EXCHANGE_STANDARD).unwrap();
    assert_eq!(exo.consumed_units, Some(1));
}

#[tokio::test]
async fn inbox_rules_of_the_compromised_account() {
    let (_sim, graph, _) = setup();
    let t = contoso();
    let u = UserRef::parse(DEMO_COMPROMISED_UPN).unwrap();
    let rules = graph.tenant(&t).mail().inbox_rules(&u).await.unwrap();
    let bad = rules.iter().find(|r| r.display_name.as_deref() == Some("..")).unwrap();
    assert_eq!(
        bad.actions.as_ref().unwrap().forward_to[0].email_address.address.as_deref(),
        Some("collector@evil-mail.example")
    );
    graph.tenant(&t).mail().set_inbox_rule_enabled(&u, &bad.id, false).await.unwrap();
    let rules = graph.tenant(&t).mail().inbox_rules(&u).await.unwrap();
    assert_eq!(rules.iter().find(|r| r.id == bad.id).unwrap().is_enabled, Some(false));
}

#[tokio::test]
async fn a_thousand_users_updated_through_batch() {
    let (sim, graph, _) = setup();
    let t = contoso();
    let ids: Vec<String> = {
        let mut st = sim.lock_state();
        let c = st.tenant_mut("contoso.com").unwrap();
        (0..1000)
            .map(|i| {
                c.add_user(cipp_sim::state::user_json(
                    &format!("Batch {i}"),
                    &format!("batch{i}@contoso.com"),
                    "",
                    true,
                ))["id"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    sim.clear_log();
    let ops: Vec<_> = ids
        .iter()
        .map(|id| {
            let patch =
                UserPatch { department: Field::Set("Batched".into()), ..Default::default() };
            users::update(&t, &UserRef::parse(id).unwrap(), &patch).unwrap()
        })
        .collect();
    let results = batch::run(graph.pipeline(), &t, ops, &BatchOptions::default()).await.unwrap();
    assert!(results.iter().all(|r| r.is_ok()));
    assert_eq!(sim.request_log().iter().filter(|l| l.path == "/v1.0/$batch").count(), 50);
    let st = sim.lock_state();
    let c = st.tenant("contoso.com").unwrap();
    assert_eq!(c.users().iter().filter(|u| u["department"] == "Batched").count(), 1000);
}

#[tokio::test(start_paused = true)]
async fn throttling_per_tenant_and_workload_inside_batches_and_out() {
    let (sim, graph, _) = setup();
    let t = contoso();
    sim.add_fault(
        FaultRule::new(FaultKind::Throttle { retry_after: "5".into() }, FaultTrigger::Nth(1))
            .on_path("/v1.0/users/")
            .for_tenant("contoso.com"),
    );
    let ops: Vec<_> = ["adelev@contoso.com", "alexw@contoso.com"]
        .iter()
        .map(|u| users::get(&t, &UserRef::parse(u).unwrap(), &[]))
        .collect();
    let start = tokio::time::Instant::now();
    let results = batch::run(graph.pipeline(), &t, ops, &BatchOptions::default()).await.unwrap();
    assert!(results.iter().all(|r| r.is_ok()));
    assert_eq!(
        start.elapsed(),
        Duration::from_secs(5),
        "the throttled item waited its Retry-After"
    );
    // Another tenant's reads are not throttled.
    let fabrikam = TenantId::parse("fabrikam.onmicrosoft.com").unwrap();
    let before = tokio::time::Instant::now();
    graph
        .tenant(&fabrikam)
        .users()
        .get(&UserRef::parse("nestorw@fabrikam.com").unwrap())
        .await
        .unwrap();
    assert_eq!(before.elapsed(), Duration::ZERO);
    let _ = Utc::now();
}
