//! Tenant groups in the key-value store (create, read, list, change with compare-and-swap,
//! members, delete; tenants' custom properties) and targets resolved over them — the same
//! in memory, on SQLite (a temp file, surviving reopening) and on PostgreSQL
//! (127.0.0.1:5432, database `test`, trust authentication; `CIPP_PG` overrides). In CI
//! (`CI=true`) an unreachable PostgreSQL fails the tests; elsewhere they say plainly that
//! they were skipped.
#![cfg(all(feature = "sqlite", feature = "postgres"))]

use std::sync::Arc;

use cipp_scheduler::kv::{KvStore, MemoryKv};
use cipp_scheduler::postgres::PgStore;
use cipp_scheduler::sqlite::SqliteStore;
use cipp_scheduler::task::Target;
use cipp_scheduler::tenant_groups::{
    apply_properties, resolve, resolve_target, Members, Rule, TenantFacts, TenantGroup,
    TenantGroupStore, TextMatch,
};
use cipp_scheduler::SchedulerError;
use serde_json::json;

mod stores;
use stores::*;

const CONTOSO: &str = "11111111-1111-1111-1111-111111111111";
const FABRIKAM: &str = "22222222-2222-2222-2222-222222222222";
const NORTHWIND: &str = "33333333-3333-3333-3333-333333333333";

fn fleet() -> Vec<TenantFacts> {
    vec![
        TenantFacts::new(CONTOSO)
            .domains(["contoso.com", "contoso.onmicrosoft.com"])
            .skus(["SPE_E3", "EMS"]),
        TenantFacts::new(FABRIKAM)
            .domains(["fabrikam.de", "fabrikam.onmicrosoft.com"])
            .skus(["SPE_E3"]),
        TenantFacts::new(NORTHWIND)
            .domains(["northwind.de"])
            .skus(["O365_BUSINESS_PREMIUM"]),
    ]
}

/// Create, read (case ignored), list, refuse a duplicate or invalid group, replace,
/// members of static groups, delete.
async fn crud(kv: Arc<dyn KvStore>) {
    let groups = TenantGroupStore::new(kv.clone());
    let german = TenantGroup::dynamic(
        "German E3",
        Rule::all([
            Rule::domain(TextMatch::EndsWith, ".de"),
            Rule::licence(["SPE_E3"]),
        ]),
    )
    .described("Tenants in Germany with Microsoft 365 E3");
    groups.create(&german).await.expect("create");
    let vip = TenantGroup::fixed("VIP", ["contoso.com", NORTHWIND]);
    groups.create(&vip).await.expect("create");

    assert_eq!(
        groups.get("german e3").await.expect("get"),
        Some(german.clone())
    );
    assert_eq!(groups.get("nope").await.expect("get"), None);
    assert_eq!(groups.get("").await.expect("get"), None);
    assert_eq!(
        groups.list().await.expect("list"),
        [german.clone(), vip.clone()]
    );
    // Stored as JSON under the lower-cased name.
    let raw = kv
        .get(TenantGroupStore::NAMESPACE, "german e3")
        .await
        .expect("raw")
        .expect("stored");
    assert_eq!(raw.value["members"]["kind"], json!("dynamic"));
    assert_eq!(raw.value["members"]["rule"]["type"], json!("all"));

    let dup = groups
        .create(&TenantGroup::fixed("vip", ["x.com"]))
        .await
        .expect_err("duplicate");
    assert!(dup.to_string().contains("already exists"), "{dup}");
    let bad = groups
        .create(&TenantGroup::dynamic("Empty", Rule::any([])))
        .await
        .expect_err("invalid");
    assert!(matches!(bad, SchedulerError::Invalid(_)), "{bad:?}");
    assert_eq!(groups.get("Empty").await.expect("get"), None);

    // Members of a static group, case ignored; a dynamic group has none to add.
    let vip2 = groups
        .add_members("VIP", &["FABRIKAM.DE".into(), "contoso.COM".into()])
        .await
        .expect("add");
    assert_eq!(
        vip2.members,
        Members::Static {
            tenants: vec!["contoso.com".into(), NORTHWIND.into(), "FABRIKAM.DE".into()]
        }
    );
    let vip3 = groups
        .remove_members("vip", &["fabrikam.de".into(), NORTHWIND.into()])
        .await
        .expect("remove");
    assert_eq!(
        vip3.members,
        Members::Static {
            tenants: vec!["contoso.com".into()]
        }
    );
    let err = groups
        .add_members("German E3", &["x.com".into()])
        .await
        .expect_err("dynamic");
    assert!(err.to_string().contains("is dynamic"), "{err}");

    // Replace: exclusions added; renaming in place is refused; a missing group not found.
    let excluded = german.clone().excluding(["fabrikam.de"]);
    groups.replace(&excluded).await.expect("replace");
    assert_eq!(groups.get("German E3").await.expect("get"), Some(excluded));
    let err = groups
        .update("German E3", |g| {
            g.name = "Other".into();
            Ok(())
        })
        .await
        .expect_err("rename");
    assert!(err.to_string().contains("cannot be renamed"), "{err}");
    let err = groups
        .replace(&TenantGroup::fixed("Missing", ["a.com"]))
        .await
        .expect_err("missing");
    assert!(matches!(err, SchedulerError::NotFound(_)), "{err:?}");

    groups.delete("vip").await.expect("delete");
    assert_eq!(groups.get("VIP").await.expect("get"), None);
    assert!(matches!(
        groups.delete("vip").await,
        Err(SchedulerError::NotFound(_))
    ));
}

/// Two stores, twenty writers adding members at once: every addition survives
/// (compare-and-swap, retried with jittered pauses; none gives up).
async fn concurrent_changes(kv: Arc<dyn KvStore>) {
    let a = TenantGroupStore::new(kv.clone());
    let b = TenantGroupStore::new(kv);
    a.create(&TenantGroup::fixed("Shared", Vec::<String>::new()))
        .await
        .expect("create");
    let adds = (0..20).map(|i| {
        let s = if i % 2 == 0 { a.clone() } else { b.clone() };
        async move { s.add_members("Shared", &[format!("t{i}.com")]).await }
    });
    for r in futures::future::join_all(adds).await {
        r.expect("add");
    }
    let Some(g) = a.get("shared").await.expect("get") else {
        panic!("group gone")
    };
    let Members::Static { tenants } = g.members else {
        panic!("static")
    };
    assert_eq!(tenants.len(), 20, "{tenants:?}");
}

/// Custom properties: set, replaced case-insensitively, removed, merged into facts by id
/// and by domain, and used by a property rule.
async fn properties(kv: Arc<dyn KvStore>) {
    let groups = TenantGroupStore::new(kv);
    groups
        .set_property(CONTOSO, "Tier", "Gold")
        .await
        .expect("set");
    groups
        .set_property(CONTOSO, "tier", "Platinum")
        .await
        .expect("set");
    groups
        .set_property("NORTHWIND.DE", "region", "EU")
        .await
        .expect("set");
    groups
        .set_property("northwind.de", "old", "x")
        .await
        .expect("set");
    groups
        .remove_property("northwind.de", "OLD")
        .await
        .expect("remove");
    assert_eq!(
        groups
            .properties(CONTOSO)
            .await
            .expect("read")
            .into_iter()
            .collect::<Vec<_>>(),
        [("tier".to_owned(), "Platinum".to_owned())]
    );
    assert!(groups.set_property(CONTOSO, " ", "x").await.is_err());
    assert!(groups.set_property(" ", "k", "x").await.is_err());

    let stored = groups.all_properties().await.expect("all");
    let mut fleet = fleet();
    for f in &mut fleet {
        apply_properties(f, &stored);
    }
    assert_eq!(
        fleet[0].properties.get("tier").map(String::as_str),
        Some("Platinum")
    );
    assert_eq!(
        fleet[2].properties.get("region").map(String::as_str),
        Some("EU")
    );
    let eu = TenantGroup::dynamic("EU", Rule::property("Region", TextMatch::Equals, "eu"));
    assert_eq!(resolve(&eu, &fleet), [NORTHWIND]);
}

/// Targets resolved over stored groups: a dynamic group (domain and licence rules), a task
/// excluding tenants by domain and a group, an unknown group refused.
async fn targets(kv: Arc<dyn KvStore>) {
    let groups = TenantGroupStore::new(kv);
    groups
        .create(&TenantGroup::dynamic(
            "German E3",
            Rule::all([
                Rule::domain(TextMatch::EndsWith, ".de"),
                Rule::licence(["spe_e3"]),
            ]),
        ))
        .await
        .expect("create");
    groups
        .create(
            &TenantGroup::dynamic(
                "Not premium",
                Rule::negate(Rule::licence(["O365_BUSINESS_PREMIUM"])),
            )
            .excluding(["CONTOSO.ONMICROSOFT.COM"]),
        )
        .await
        .expect("create");
    let stored = groups.list().await.expect("list");
    let fleet = fleet();
    let group = |n: &str| Target::Group { name: n.into() };
    assert_eq!(
        resolve_target(&group("german e3"), &stored, &fleet).expect("resolve"),
        [FABRIKAM]
    );
    assert_eq!(
        resolve_target(&group("Not premium"), &stored, &fleet).expect("resolve"),
        [FABRIKAM]
    );
    let all_but = Target::AllTenants {
        exclude_tenants: vec!["Contoso.com".into()],
        exclude_groups: vec!["German E3".into()],
    };
    assert_eq!(
        resolve_target(&all_but, &stored, &fleet).expect("resolve"),
        [NORTHWIND]
    );
    let err = resolve_target(&group("Typo"), &stored, &fleet).expect_err("unknown");
    assert!(err.to_string().contains("no tenant group `Typo`"), "{err}");
}

macro_rules! on_every_store {
    ($($name:ident),* $(,)?) => {
        mod memory {
            use super::*;
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(Arc::new(MemoryKv::new())).await;
                }
            )*
        }
        mod sqlite {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let dir = TempDir::new();
                    super::$name(Arc::new(SqliteStore::open(dir.db()).expect("open"))).await;
                }
            )*
        }
        mod postgres {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(schema) = schema().await else { return };
                    let store = PgStore::connect(&config(), &schema).await.expect("connect");
                    super::$name(Arc::new(store)).await;
                    drop_schema(&schema).await;
                }
            )*
        }
    };
}

on_every_store!(crud, concurrent_changes, properties, targets);

#[tokio::test]
async fn sqlite_groups_survive_reopening() {
    let dir = TempDir::new();
    {
        let groups = TenantGroupStore::new(Arc::new(SqliteStore::open(dir.db()).expect("open")));
        groups
            .create(&TenantGroup::fixed("Kept", ["contoso.com"]))
            .await
            .expect("create");
    }
    let groups = TenantGroupStore::new(Arc::new(SqliteStore::open(dir.db()).expect("open")));
    assert!(groups.get("kept").await.expect("get").is_some());
}
