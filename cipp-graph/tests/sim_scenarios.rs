//! Scenarios on the simulator: the SDK and cipp-sim agree, statefully, across tenants.

mod common;

use std::time::Duration;

use chrono::Utc;
use cipp_core::{Clock, ManualClock, Outcome};
use cipp_graph::audit::{AuditFilter, SignInFilter};
use cipp_graph::batch::{self, BatchOptions};
use cipp_graph::model::{
    AssignedLicense, DirectoryObjectId, Field, GroupId, NewGroup, NewTemporaryAccessPass, SkuId,
    UserPatch,
};
use cipp_graph::odata::Query;
use cipp_graph::users::{self, UserRef};
use cipp_graph::{GraphClient, TenantGraph};
use cipp_sim::scenario::{DEMO_COMPROMISED_UPN, SKU_EXCHANGE_STANDARD};
use cipp_sim::{FaultKind, FaultRule, FaultTrigger, Simulator};
use common::{demo, new_user, tid};

/// The demo simulator, a client through it, Contoso's Graph and the clock.
fn setup() -> (Simulator, GraphClient, TenantGraph, ManualClock) {
    let (sim, graph, clock) = demo();
    let contoso = graph.tenant(&tid("contoso.onmicrosoft.com"));
    (sim, graph, contoso, clock)
}

fn hire(upn: &str, usage: Option<&str>) -> cipp_graph::model::NewUser {
    new_user("New Hire", upn, "Str0ng-Passw0rd!", usage)
}

fn upn(s: &str) -> UserRef {
    UserRef::parse(s).unwrap()
}

fn tap(minutes: u32) -> NewTemporaryAccessPass {
    NewTemporaryAccessPass { lifetime_in_minutes: Some(minutes), ..Default::default() }
}

/// Adds `n` users named `{prefix} {i}` to Contoso in the simulator; returns their ids.
fn add_users(sim: &Simulator, prefix: &str, n: usize) -> Vec<String> {
    let mut st = sim.lock_state();
    let c = st.tenant_mut("contoso.com").unwrap();
    (0..n)
        .map(|i| {
            let mail = format!("{}{i}@contoso.com", prefix.to_lowercase());
            let user = cipp_sim::state::user_json(&format!("{prefix} {i}"), &mail, "", true);
            c.add_user(user)["id"].as_str().unwrap().to_owned()
        })
        .collect()
}

#[tokio::test]
async fn user_lifecycle_created_listed_deleted_restored() {
    let (_sim, graph, t, _) = setup();
    let users = t.users();
    let created = users.create(&hire("newhire@contoso.com", Some("GB"))).await.unwrap();
    let id = created.id.clone().unwrap();
    let by_upn = Query::new().filter("userPrincipalName eq 'newhire@contoso.com'");
    let listed: Vec<_> = users.list().query(by_upn).collect().await.unwrap();
    assert_eq!(listed.len(), 1);
    users.delete(&UserRef::Id(id.clone())).await.unwrap();
    let deleted: Vec<_> = users.list_deleted().query(Query::new()).collect().await.unwrap();
    assert!(deleted.iter().any(|u| u.id.as_ref() == Some(&id)));
    users.restore(&DirectoryObjectId::from(id.as_str())).await.unwrap();
    assert!(users.get(&UserRef::Id(id)).await.is_ok());
    // The other tenants are untouched.
    let fabrikam = graph.tenant(&tid("fabrikam.onmicrosoft.com")).users();
    let f: Vec<_> = fabrikam.list().query(Query::new()).collect().await.unwrap();
    let newhire = Some("newhire@contoso.com");
    assert!(f.iter().all(|u| u.user_principal_name.as_deref() != newhire));
}

#[tokio::test]
async fn change_upn_only_to_a_verified_domain() {
    let (_sim, _graph, t, _) = setup();
    let users = t.users();
    let moved = upn("adele.vance@contoso.onmicrosoft.com");
    let u = upn("adelev@contoso.com");
    users.change_upn(&u, "adele.vance@contoso.onmicrosoft.com").await.unwrap();
    assert!(users.get(&moved).await.is_ok());
    assert!(users.change_upn(&moved, "adele@fabrikam.com").await.is_err());
}

#[tokio::test]
async fn memberships_change_and_graph_refuses_what_graph_refuses() {
    let (_sim, _graph, t, _) = setup();
    let groups = t.groups();
    let group = groups.create(&NewGroup::security("Project X", "projectx")).await.unwrap();
    let gid = group.id.unwrap().0;
    let group = GroupId::from(&*gid);
    let alex = t.users().get(&upn("alexw@contoso.com")).await.unwrap().id.unwrap();
    let member = DirectoryObjectId::from(alex.as_str());
    groups.add_member(&group, &member).await.unwrap();
    let err = groups.add_member(&group, &member).await.unwrap_err();
    let status = err.status().unwrap().as_u16();
    assert_eq!(status, 400, "adding an existing member is a 400, as in Graph");
    let of = t.users().member_of(&UserRef::Id(alex.clone()), false);
    let of: Vec<_> = of.collect().await.unwrap();
    assert!(of.iter().any(|g| g.id.as_deref() == Some(gid.as_str())));
    groups.remove_member(&group, &member).await.unwrap();
    let members: Vec<_> = groups.members(&group).collect().await.unwrap();
    assert!(members.is_empty());
    // The distribution list is Exchange's.
    let everyone = Query::new().filter("displayName eq 'Everyone DL'");
    let dls: Vec<_> = groups.list().query(everyone).collect().await.unwrap();
    let dl = GroupId::from(dls[0].id.as_ref().unwrap().as_str());
    let err = groups.add_member(&dl, &member).await.unwrap_err();
    assert!(err.to_string().contains("Exchange"), "{err}");
}

#[tokio::test]
async fn bulk_membership_through_binds() {
    let (sim, _graph, t, _) = setup();
    let ids = add_users(&sim, "Bulk", 25);
    let groups = t.groups();
    let g = groups.create(&NewGroup::microsoft365("Bulk", "bulk")).await.unwrap();
    let group = GroupId::from(g.id.as_ref().unwrap().as_str());
    let report = groups.add_members_bulk(&group, &ids).await.unwrap();
    assert!(matches!(report.overall(), Outcome::Succeeded { .. }));
    let members: Vec<_> = groups.members(&group).collect().await.unwrap();
    assert_eq!(members.len(), 25);
}

#[tokio::test]
async fn one_usable_tap_per_user_and_the_policy_is_enforced() {
    let (_sim, _graph, t, _) = setup();
    let am = t.auth_methods();
    let u = upn("adelev@contoso.com");
    let first = am.create_temporary_access_pass(&u, &tap(60), true).await.unwrap();
    let second = am.create_temporary_access_pass(&u, &tap(60), true).await.unwrap();
    assert_ne!(first.id, second.id);
    let methods = am.list(&u).await.unwrap();
    let taps = methods.iter().filter(|m| m.odata_type.contains("temporaryAccessPass")).count();
    assert_eq!(taps, 1, "a new pass replaces the old one");
    // The demo policy allows 60–480 minutes.
    assert!(am.create_temporary_access_pass(&u, &tap(600), true).await.is_err());
    // Without the client-side policy check, the simulator refuses it the same way.
    let err = am.create_temporary_access_pass(&u, &tap(600), false).await.unwrap_err();
    assert_eq!(err.status().unwrap().as_u16(), 400);
}

#[tokio::test]
async fn re_require_mfa_registration_keeps_only_the_password() {
    let (_sim, _graph, t, _) = setup();
    let am = t.auth_methods();
    let u = upn(DEMO_COMPROMISED_UPN);
    let report = am.remove_all_but_password(&u).await.unwrap();
    assert!(matches!(report.overall(), Outcome::Succeeded { .. }), "{report:?}");
    let left = am.list(&u).await.unwrap();
    assert_eq!(left.len(), 1);
    assert!(left[0].odata_type.contains("password"));
    let again = am.remove_all_but_password(&u).await.unwrap();
    assert!(matches!(again.overall(), Outcome::NoChange { .. }), "{again:?}");
}

#[tokio::test]
async fn sign_ins_and_audits_filtered_like_graph() {
    let (_sim, _graph, t, clock) = setup();
    let megan = t.users().get(&upn(DEMO_COMPROMISED_UPN)).await.unwrap().id.unwrap();
    let since = clock.now() - chrono::Duration::days(7);
    let week =
        SignInFilter { user_id: Some(megan.0.clone()), since: Some(since), ..Default::default() };
    let all: Vec<_> = t.audit().sign_ins(&week).collect().await.unwrap();
    assert_eq!(all.len(), 4);
    let newest_first = all.windows(2).all(|w| w[0].created_date_time >= w[1].created_date_time);
    assert!(newest_first, "newest first");
    let two_days = SignInFilter { since: Some(clock.now() - chrono::Duration::days(2)), ..week };
    let recent: Vec<_> = t.audit().sign_ins(&two_days).collect().await.unwrap();
    assert_eq!(recent.len(), 2);
    assert!(recent.iter().any(|s| s.client_app_used.as_deref() == Some("IMAP4")));
    // A TAP creation is audited, and the audit filter finds it.
    let megan_ref = UserRef::Id(megan.clone());
    t.auth_methods().create_temporary_access_pass(&megan_ref, &tap(60), false).await.unwrap();
    let registered = AuditFilter {
        activities: vec![
            "Admin registered security info".into(),
            "User registered security info".into(),
        ],
        target_id: Some(megan.0.clone()),
        since: Some(since),
        ..Default::default()
    };
    let audits: Vec<_> = t.audit().directory_audits(&registered).collect().await.unwrap();
    assert_eq!(audits.len(), 2);
}

#[tokio::test]
async fn licences_with_a_missing_usage_location() {
    let (_sim, _graph, t, _) = setup();
    let users = t.users();
    let created = users.create(&hire("nolocation@contoso.com", None)).await.unwrap();
    let u = UserRef::Id(created.id.unwrap());
    let add =
        [AssignedLicense { sku_id: SkuId(SKU_EXCHANGE_STANDARD.into()), disabled_plans: vec![] }];
    assert!(users.assign_licenses(&u, &add, &[], None).await.is_err());
    let user = users.assign_licenses(&u, &add, &[], Some("US")).await.unwrap();
    assert_eq!(user.usage_location.as_deref(), Some("US"));
    let skus: Vec<_> = t.directory().subscribed_skus().collect().await.unwrap();
    let exo = skus.iter().find(|s| s.sku_id.as_str() == SKU_EXCHANGE_STANDARD).unwrap();
    assert_eq!(exo.consumed_units, Some(1));
}

#[tokio::test]
async fn inbox_rules_of_the_compromised_account() {
    let (_sim, _graph, t, _) = setup();
    let u = upn(DEMO_COMPROMISED_UPN);
    let mail = t.mail();
    let rules = mail.inbox_rules(&u).await.unwrap();
    let bad = rules.iter().find(|r| r.display_name.as_deref() == Some("..")).unwrap();
    let forward = &bad.actions.as_ref().unwrap().forward_to[0];
    assert_eq!(forward.email_address.address.as_deref(), Some("collector@evil-mail.example"));
    mail.set_inbox_rule_enabled(&u, &bad.id, false).await.unwrap();
    let rules = mail.inbox_rules(&u).await.unwrap();
    let now = rules.iter().find(|r| r.id == bad.id).unwrap();
    assert_eq!(now.is_enabled, Some(false));
}

#[tokio::test]
async fn a_thousand_users_updated_through_batch() {
    let (sim, graph, t, _) = setup();
    let t = t.id().clone();
    let ids = add_users(&sim, "Batch", 1000);
    sim.clear_log();
    let patch = UserPatch { department: Field::Set("Batched".into()), ..Default::default() };
    let ops: Vec<_> = ids.iter().map(|id| users::update(&t, &upn(id), &patch).unwrap()).collect();
    let results = batch::run(graph.pipeline(), &t, ops, &BatchOptions::default()).await.unwrap();
    assert!(results.iter().all(|r| r.is_ok()));
    let batches = sim.request_log().iter().filter(|l| l.path == "/v1.0/$batch").count();
    assert_eq!(batches, 50);
    let st = sim.lock_state();
    let c = st.tenant("contoso.com").unwrap();
    assert_eq!(c.users().iter().filter(|u| u["department"] == "Batched").count(), 1000);
}

#[tokio::test(start_paused = true)]
async fn throttling_per_tenant_and_workload_inside_batches_and_out() {
    let (sim, graph, t, _) = setup();
    let t = t.id().clone();
    let throttle = FaultKind::Throttle { retry_after: "5".into() };
    let rule = FaultRule::new(throttle, FaultTrigger::Nth(1));
    sim.add_fault(rule.on_path("/v1.0/users/").for_tenant("contoso.com"));
    let ops: Vec<_> = ["adelev@contoso.com", "alexw@contoso.com"]
        .iter()
        .map(|u| users::get(&t, &upn(u), &[]))
        .collect();
    let start = tokio::time::Instant::now();
    let results = batch::run(graph.pipeline(), &t, ops, &BatchOptions::default()).await.unwrap();
    assert!(results.iter().all(|r| r.is_ok()));
    let waited = start.elapsed();
    assert_eq!(waited, Duration::from_secs(5), "the throttled item waited its Retry-After");
    // Another tenant's reads are not throttled.
    let fabrikam = graph.tenant(&tid("fabrikam.onmicrosoft.com")).users();
    let before = tokio::time::Instant::now();
    fabrikam.get(&upn("nestorw@fabrikam.com")).await.unwrap();
    assert_eq!(before.elapsed(), Duration::ZERO);
    let _ = Utc::now();
}

/// The typed `$filter` builder's `in`, lambdas over bare GUIDs and `all` are answered by
/// the simulator as Graph answers them.
#[tokio::test]
async fn typed_filters_with_in_guid_lambdas_and_all() {
    use cipp_graph::filter::{Prop, Value};
    let (_sim, _graph, t, _) = setup();
    let users = t.users();
    for upn in ["in.one@contoso.com", "in.two@contoso.com", "in.three@contoso.com"] {
        users.create(&hire(upn, Some("GB"))).await.unwrap();
    }
    let upn_prop = Prop::new("userPrincipalName").unwrap();
    let two = upn_prop.is_in(["in.one@contoso.com", "IN.TWO@contoso.com"]).unwrap();
    let listed: Vec<_> = users.list().query(Query::new().filter(two)).collect().await.unwrap();
    let mut upns: Vec<_> = listed.iter().filter_map(|u| u.user_principal_name.clone()).collect();
    upns.sort();
    assert_eq!(upns, ["in.one@contoso.com", "in.two@contoso.com"]);

    let sku = uuid::Uuid::parse_str(cipp_sim::scenario::SKU_BUSINESS_PREMIUM).unwrap();
    let licensed = Prop::new("assignedLicenses")
        .unwrap()
        .any("x", |x| Ok(x.child("skuId")?.eq(Value::Guid(sku))))
        .unwrap();
    let with_licences = Query::new().select(["id", "assignedLicenses"]);
    let all: Vec<_> = users.list().query(with_licences).collect().await.unwrap();
    let expected = all
        .iter()
        .filter(|u| {
            u.assigned_licenses
                .iter()
                .flatten()
                .any(|l| l.sku_id.as_str().eq_ignore_ascii_case(&sku.to_string()))
        })
        .count();
    assert!(expected > 0, "the demo tenant has licensed users");
    let with_sku: Vec<_> =
        users.list().query(Query::new().filter(licensed)).collect().await.unwrap();
    assert_eq!(with_sku.len(), expected);

    let unlicensed = Prop::new("assignedLicenses")
        .unwrap()
        .all("x", |x| Ok(x.child("skuId")?.ne(Value::Guid(sku))))
        .unwrap();
    let without: Vec<_> =
        users.list().query(Query::new().filter(unlicensed)).collect().await.unwrap();
    assert_eq!(without.len() + with_sku.len(), all.len());
}
