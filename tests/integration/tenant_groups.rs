//! Tenant groups from the scheduler's store resolved over the demo fleet on the simulator:
//! a fleet keyed by GUIDs (the partner's `delegatedAdminCustomers`, which gives no
//! domains), a dynamic group by domain, a licence group, and exclusions written as
//! domains.

use crate::common;

use std::collections::BTreeMap;
use std::sync::Arc;

use cipp::commands::{register_builtin, FleetResolver};
use cipp::core::Clock;
use cipp::scheduler::command::Registry;
use cipp::scheduler::engine::{Engine, TenantResolver};
use cipp::scheduler::kv::MemoryKv;
use cipp::scheduler::recurrence::{Recurrence, Schedule};
use cipp::scheduler::store::MemoryStore;
use cipp::scheduler::task::{NewTask, Target, TenantOutcome};
use cipp::scheduler::tenant_groups::{Rule, TenantGroup, TenantGroupStore, TextMatch};
use cipp::sim::Simulator;
use cipp::Cipp;

/// The demo tenants' GUIDs: Contoso, Fabrikam, Northwind.
fn guids(sim: &Simulator) -> [String; 3] {
    let state = sim.lock_state();
    ["contoso.com", "fabrikam.com", "northwindtraders.com"]
        .map(|d| state.tenant(d).expect("demo tenant").id.clone())
}

fn group(name: &str) -> Target {
    Target::Group { name: name.into() }
}

fn all_but(tenants: &[&str], groups: &[&str]) -> Target {
    Target::AllTenants {
        exclude_tenants: tenants.iter().map(|t| t.to_string()).collect(),
        exclude_groups: groups.iter().map(|g| g.to_string()).collect(),
    }
}

/// A client whose fleet is the partner's contracts (GUIDs only) and a group store.
async fn setup(groups: &[TenantGroup]) -> (Simulator, Cipp, TenantGroupStore) {
    let (sim, cipp) = common::demo(None, common::Fleet::Partner);
    let store = TenantGroupStore::new(Arc::new(MemoryKv::new()));
    for g in groups {
        store.create(g).await.expect("create group");
    }
    (sim, cipp, store)
}

#[tokio::test]
async fn a_dynamic_group_by_domain_resolves_to_the_fleets_guids_and_runs_there() {
    let dot_com = TenantGroup::dynamic(
        "Contoso and Northwind",
        Rule::any([
            Rule::domain(TextMatch::Equals, "CONTOSO.COM"),
            Rule::domain(TextMatch::EndsWith, "traders.com"),
        ]),
    );
    let (sim, cipp, store) = setup(&[dot_com]).await;
    let [contoso, _fabrikam, northwind] = guids(&sim);
    let resolver = FleetResolver::with_group_store(cipp.clone(), store);

    let tenants = resolver
        .resolve(&group("contoso and northwind"))
        .await
        .expect("resolve");
    assert_eq!(tenants, [contoso.clone(), northwind.clone()]);
    // The fleet lists GUIDs only: the domains were read from each organization; no rule
    // asked for licences, so none were read.
    let log = sim.log();
    assert_eq!(log.count("GET", "/v1.0/organization"), 3);
    assert_eq!(log.count("GET", "/v1.0/subscribedSkus"), 0);

    // A task on the group runs on those two tenants only.
    let mut registry = Registry::new();
    register_builtin(&mut registry, &cipp);
    let clock = cipp::core::ManualClock::new("2026-11-27T09:00:00Z".parse().expect("time"));
    let engine = Engine::new(
        Arc::new(MemoryStore::new()),
        registry,
        Arc::new(resolver),
        Arc::new(clock.clone()),
    );
    engine
        .add(
            NewTask::builder(
                "MFA report",
                "tenant.mfa_registration",
                Schedule::new(clock.now(), Recurrence::Once),
            )
            .group("Contoso and Northwind")
            .build(),
        )
        .await
        .expect("add");
    let run = engine.tick().await.expect("tick").pop().expect("one run");
    let mut ran: Vec<String> = run.results.iter().map(|r| r.tenant.clone()).collect();
    ran.sort();
    let mut expected = vec![contoso, northwind];
    expected.sort();
    assert_eq!(ran, expected);
    assert!(
        run.results
            .iter()
            .all(|r| matches!(r.outcome, TenantOutcome::Succeeded { .. })),
        "{:?}",
        run.results
    );
}

#[tokio::test]
async fn exclusions_written_as_domains_are_honoured_for_a_guid_keyed_fleet() {
    let german = TenantGroup::fixed("Fabrikam", ["FABRIKAM.onmicrosoft.com"]);
    let (sim, cipp, store) = setup(&[german]).await;
    let [contoso, fabrikam, northwind] = guids(&sim);
    let resolver = FleetResolver::with_group_store(cipp.clone(), store);

    // A task's excluded tenant named by its default domain.
    let tenants = resolver
        .resolve(&all_but(&["NorthwindTraders.com"], &[]))
        .await
        .expect("resolve");
    assert_eq!(tenants, [contoso.clone(), fabrikam.clone()]);
    // And an excluded group whose member is written as an initial domain.
    let tenants = resolver
        .resolve(&all_but(&["northwindtraders.com"], &["fabrikam"]))
        .await
        .expect("resolve");
    assert_eq!(tenants, std::slice::from_ref(&contoso));
    // Excluding by GUID needs no domains: nothing more is read than the fleet listing.
    let before = sim.log().count("GET", "/v1.0/organization");
    let tenants = resolver
        .resolve(&all_but(&[&northwind.to_uppercase()], &[]))
        .await
        .expect("resolve");
    assert_eq!(tenants, [contoso.clone(), fabrikam.clone()]);
    assert_eq!(sim.log().count("GET", "/v1.0/organization"), before);

    // A misspelt excluded group is refused rather than ignored.
    let err = resolver
        .resolve(&all_but(&[], &["Fabrikma"]))
        .await
        .expect_err("unknown group");
    assert!(
        err.to_string().contains("no tenant group `Fabrikma`"),
        "{err}"
    );

    // The map-based constructor matches by domain the same way.
    let mut fixed = BTreeMap::new();
    fixed.insert(
        "Northwind".to_owned(),
        vec!["northwind.onmicrosoft.com".to_owned()],
    );
    let resolver = FleetResolver::new(cipp, fixed);
    let tenants = resolver
        .resolve(&all_but(&["contoso.com"], &["Northwind"]))
        .await
        .expect("resolve");
    assert_eq!(tenants, [fabrikam]);
}

#[tokio::test]
async fn a_licence_group_reads_subscribed_skus_only_when_asked() {
    let premium = TenantGroup::dynamic("Business Premium", Rule::licence(["spb"]));
    let unlicensed = TenantGroup::dynamic("No Premium", Rule::negate(Rule::licence(["SPB"])))
        .excluding(["northwindtraders.com"]);
    let (sim, cipp, store) = setup(&[premium, unlicensed]).await;
    let [contoso, fabrikam, _northwind] = guids(&sim);
    let resolver = FleetResolver::with_group_store(cipp, store);

    assert_eq!(
        resolver
            .resolve(&group("business premium"))
            .await
            .expect("resolve"),
        [contoso]
    );
    let log = sim.log();
    assert_eq!(
        log.count("GET", "/v1.0/subscribedSkus"),
        3,
        "one read per tenant"
    );
    assert_eq!(
        log.count("GET", "/v1.0/organization"),
        0,
        "no domains needed"
    );
    assert_eq!(
        resolver
            .resolve(&group("No Premium"))
            .await
            .expect("resolve"),
        [fabrikam]
    );
    // A single tenant needs nothing read.
    let before = sim.request_log().len();
    let one = Target::Tenant {
        id: "contoso.com".into(),
    };
    assert_eq!(
        resolver.resolve(&one).await.expect("resolve"),
        ["contoso.com"]
    );
    assert_eq!(sim.request_log().len(), before);
}
