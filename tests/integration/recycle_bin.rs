//! The recycle bin on the simulator: delete → listed with its count → a restore over a
//! taken UPN refused before anything is sent → restored under a new UPN; groups restored;
//! permanent deletion; the scheduler commands.

use crate::common;

use cipp::commands::register_builtin;
use cipp::scheduler::command::{Registry, RunContext};
use cipp::sim::Simulator;
use cipp::users::create::CreateUser;
use cipp::{Cipp, TenantId};
use futures::StreamExt;
use serde_json::json;

fn setup() -> (Simulator, Cipp, TenantId) {
    let (sim, cipp) = common::demo(None, common::Fleet::Partner);
    (
        sim,
        cipp,
        TenantId::parse("contoso.onmicrosoft.com").unwrap(),
    )
}

fn restores_sent(sim: &Simulator) -> usize {
    sim.request_log()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/restore"))
        .count()
}

#[tokio::test(start_paused = true)]
async fn users_are_restored_or_refused_with_the_reason() {
    let (sim, cipp, t) = setup();
    let h = cipp.tenant(&t).unwrap();
    let adele = h.user("adelev@contoso.com").unwrap();
    let id = adele.resolve().await.unwrap().id.unwrap();
    adele
        .delete(cipp::users::Guard::RefusePrivileged)
        .await
        .unwrap();

    let bin = h.recycle_bin();
    let page = bin
        .deleted_users()
        .count()
        .pages()
        .next()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(page.count, Some(1));
    assert_eq!(page.items[0].id.as_ref(), Some(&id));

    // Someone takes the UPN; a plain restore is refused before it is sent.
    h.create_user(&CreateUser::new("Adele Vance (new)", "adelev"))
        .await
        .unwrap();
    sim.clear_log();
    let err = bin.restore_user(id.as_str(), None).await.unwrap_err();
    assert!(
        err.to_string().contains("now belongs to a live user")
            && err.to_string().contains("new UPN"),
        "{err}"
    );
    assert_eq!(restores_sent(&sim), 0);

    // Under a new UPN it comes back, with its id.
    let restored = bin
        .restore_user(id.as_str(), Some("adele.vance@contoso.com"))
        .await
        .unwrap();
    assert_eq!(restored.id.as_deref(), Some(id.as_str()));
    let back = h.user(id.as_str()).unwrap().resolve().await.unwrap();
    assert_eq!(
        back.user_principal_name.as_deref(),
        Some("adele.vance@contoso.com")
    );
    assert!(bin.deleted_users().await.unwrap().is_empty());

    // Not a deleted user: a clear error.
    assert!(bin.restore_user(id.as_str(), None).await.is_err());
}

#[tokio::test(start_paused = true)]
async fn groups_and_permanent_deletion_and_commands() {
    let (sim, cipp, t) = setup();
    let h = cipp.tenant(&t).unwrap();
    let all_staff = h
        .graph()
        .groups()
        .list()
        .await
        .unwrap()
        .into_iter()
        .find(|g| g.display_name.as_deref() == Some("All Staff"))
        .unwrap()
        .id
        .unwrap();
    h.graph().groups().delete(&all_staff).await.unwrap();
    let bin = h.recycle_bin();
    let deleted = bin.deleted_groups().await.unwrap();
    assert_eq!(deleted.len(), 1);

    // Restored through the scheduler command, deleted again, then purged by command.
    let mut registry = Registry::new();
    register_builtin(&mut registry, &cipp);
    let run = |name: &str, params: serde_json::Value| {
        let ctx = RunContext {
            task_id: "t".into(),
            run_id: "r".into(),
            tenant: t.as_str().into(),
            parameters: params,
            reference: None,
        };
        let cmd = registry.get(name).unwrap().clone();
        async move { cmd.run(ctx).await }
    };
    run(
        "recycle_bin.restore_group",
        json!({"id": all_staff.as_str()}),
    )
    .await
    .unwrap();
    assert!(bin.deleted_groups().await.unwrap().is_empty());
    h.graph().groups().delete(&all_staff).await.unwrap();
    run(
        "recycle_bin.delete_permanently",
        json!({"id": all_staff.as_str()}),
    )
    .await
    .unwrap();
    assert!(bin.deleted_groups().await.unwrap().is_empty());
    assert!(
        bin.restore_group(all_staff.as_str()).await.is_err(),
        "gone for good"
    );
    assert!(registry
        .validate("recycle_bin.restore_user", &json!({"id": "x", "upn": "y"}))
        .is_err());
    let still = sim
        .lock_state()
        .tenant("contoso.com")
        .unwrap()
        .groups()
        .get(all_staff.as_str())
        .is_some();
    assert!(!still);
}
