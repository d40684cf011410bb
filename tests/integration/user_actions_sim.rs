//! User actions that had no test, and the Exchange-tab permission actions, each checked
//! against the simulator's state after the call.

use crate::common;

use cipp::graph::model::{Field, UserPatch};
use cipp::sim::Simulator;
use cipp::users::{Guard, UserActions};
use cipp::{Cipp, TenantId};
use serde_json::{json, Value};

const ADELE: &str = "adelev@contoso.com";
const MEGAN: &str = "meganb@contoso.com";

fn setup() -> (Simulator, Cipp) {
    common::demo(None, common::Fleet::Partner)
}

fn actions(cipp: &Cipp, upn: &str) -> UserActions {
    cipp.tenant(&TenantId::parse("contoso.onmicrosoft.com").unwrap())
        .unwrap()
        .user(upn)
        .unwrap()
}

/// Rows of one Exchange permission table that mention both `a` and `b`.
fn permissions(sim: &Simulator, table: &str, a: &str, b: &str) -> usize {
    let st = sim.lock_state();
    let exo = &st.tenant("contoso.com").unwrap().exchange;
    let rows = match table {
        "mailbox" => &exo.mailbox_permissions,
        "recipient" => &exo.recipient_permissions,
        _ => &exo.folder_permissions,
    };
    rows.iter()
        .filter(|r| {
            let s = r.to_string().to_lowercase();
            s.contains(a) && s.contains(b)
        })
        .count()
}

fn mailbox(sim: &Simulator, upn: &str) -> Value {
    sim.lock_state()
        .tenant("contoso.com")
        .unwrap()
        .exchange
        .mailboxes
        .iter()
        .find(|m| m["UserPrincipalName"] == json!(upn))
        .cloned()
        .unwrap()
}

fn user(sim: &Simulator, id_or_upn: &str) -> Option<Value> {
    sim.lock_state()
        .tenant("contoso.com")
        .unwrap()
        .users()
        .iter()
        .find(|u| u["userPrincipalName"] == json!(id_or_upn) || u["id"] == json!(id_or_upn))
        .cloned()
}

#[tokio::test(start_paused = true)]
async fn mailbox_permissions_are_granted_and_removed() {
    let (sim, cipp) = setup();
    let a = actions(&cipp, ADELE);

    a.grant_send_as(MEGAN).await.unwrap();
    assert_eq!(permissions(&sim, "recipient", "adele", "megan"), 1);
    a.remove_send_as(MEGAN).await.unwrap();
    assert_eq!(permissions(&sim, "recipient", "adele", "megan"), 0);

    a.set_send_on_behalf(MEGAN, true).await.unwrap();
    let on_behalf = mailbox(&sim, ADELE)["GrantSendOnBehalfTo"].to_string();
    assert!(on_behalf.to_lowercase().contains("megan"), "{on_behalf}");
    a.set_send_on_behalf(MEGAN, false).await.unwrap();
    let on_behalf = mailbox(&sim, ADELE)["GrantSendOnBehalfTo"].to_string();
    assert!(!on_behalf.to_lowercase().contains("megan"), "{on_behalf}");

    a.grant_full_access(MEGAN, false).await.unwrap();
    assert_eq!(permissions(&sim, "mailbox", "adele", "megan"), 1);
    a.remove_full_access(MEGAN).await.unwrap();
    assert_eq!(permissions(&sim, "mailbox", "adele", "megan"), 0);

    a.grant_calendar(MEGAN, "Reviewer").await.unwrap();
    assert_eq!(permissions(&sim, "folder", "adele", "megan"), 1);
    a.remove_calendar(MEGAN).await.unwrap();
    assert_eq!(permissions(&sim, "folder", "adele", "megan"), 0);
    assert!(
        a.grant_calendar(MEGAN, "Boss").await.is_err(),
        "unknown rights refused"
    );

    a.enable_archive(false).await.unwrap();
    assert_eq!(mailbox(&sim, ADELE)["ArchiveStatus"], json!("Active"));
}

#[tokio::test(start_paused = true)]
async fn one_inbox_rule_is_removed_and_the_others_stay() {
    let (sim, cipp) = setup();
    let m = actions(&cipp, MEGAN);
    let rules = |sim: &Simulator| -> Vec<Value> {
        sim.lock_state()
            .tenant("contoso.com")
            .unwrap()
            .exchange
            .inbox_rules
            .get(MEGAN)
            .cloned()
            .unwrap_or_default()
    };
    let before = rules(&sim);
    let target = before[0]["Identity"].as_str().unwrap().to_owned();
    m.remove_inbox_rule(&target).await.unwrap();
    let after = rules(&sim);
    assert_eq!(after.len(), before.len() - 1);
    assert!(after.iter().all(|r| r["Identity"] != json!(target)));
}

#[tokio::test(start_paused = true)]
async fn edit_change_upn_delete_and_mfa_method_removal() {
    let (sim, cipp) = setup();
    let a = actions(&cipp, ADELE);
    let patch = UserPatch {
        job_title: Field::Set("Chief Financial Officer".into()),
        department: Field::Clear,
        ..Default::default()
    };
    a.edit(&patch).await.unwrap();
    let u = user(&sim, ADELE).unwrap();
    assert_eq!(u["jobTitle"], json!("Chief Financial Officer"));
    assert!(u["department"].is_null());
    assert!(
        a.edit(&UserPatch::default()).await.is_err(),
        "empty patch refused"
    );

    // One method removed, the other kept.
    let id = u["id"].as_str().unwrap().to_owned();
    let methods = |sim: &Simulator| {
        sim.lock_state()
            .tenant("contoso.com")
            .unwrap()
            .auth
            .methods
            .get(&id)
            .cloned()
            .unwrap_or_default()
    };
    let before = methods(&sim);
    let phone = before
        .iter()
        .find(|m| m["@odata.type"] == json!("#microsoft.graph.phoneAuthenticationMethod"))
        .cloned()
        .unwrap();
    let method = serde_json::from_value(phone.clone()).unwrap();
    a.remove_mfa_method(&method, Guard::RefusePrivileged)
        .await
        .unwrap();
    let after = methods(&sim);
    assert_eq!(after.len(), before.len() - 1);
    assert!(!after.contains(&phone));

    // Change UPN to a verified domain; an unverified one is refused.
    a.change_upn("adele.vance@contoso.com", Guard::RefusePrivileged)
        .await
        .unwrap();
    assert!(user(&sim, "adele.vance@contoso.com").is_some());
    let renamed = actions(&cipp, "adele.vance@contoso.com");
    assert!(renamed
        .change_upn("adele@not-ours.example", Guard::RefusePrivileged)
        .await
        .is_err());

    // Delete: gone from users, restorable from deleted items.
    renamed.delete(Guard::RefusePrivileged).await.unwrap();
    assert!(user(&sim, &id).is_none());
    let deleted = sim
        .lock_state()
        .tenant("contoso.com")
        .unwrap()
        .users()
        .deleted()
        .iter()
        .any(|u| u["id"] == json!(id));
    assert!(deleted, "in the recycle bin");
}

#[tokio::test(start_paused = true)]
async fn clear_immutable_id_for_cloud_synced_and_set_users() {
    let (sim, cipp) = setup();
    // A cloud user with a leftover immutable id, and a synced user.
    {
        let mut st = sim.lock_state();
        let t = st.tenant_mut("contoso.com").unwrap();
        for u in t.directory.users_mut().iter_mut() {
            if u["userPrincipalName"] == json!(ADELE) {
                u["onPremisesImmutableId"] = json!("dGVzdC1pbW11dGFibGU=");
            }
            if u["userPrincipalName"] == json!(MEGAN) {
                u["onPremisesSyncEnabled"] = json!(true);
                u["onPremisesImmutableId"] = json!("c3luY2Vk");
            }
        }
    }
    let r = actions(&cipp, ADELE).clear_immutable_id().await.unwrap();
    assert!(r.overall().is_ok(), "{r:?}");
    assert!(user(&sim, ADELE).unwrap()["onPremisesImmutableId"].is_null());
    // Again: nothing to clear.
    let r = actions(&cipp, ADELE).clear_immutable_id().await.unwrap();
    assert!(r.steps[0].outcome.message().contains("no immutable id"));
    // Synced: skipped with the reason, nothing changed.
    let r = actions(&cipp, MEGAN).clear_immutable_id().await.unwrap();
    assert!(r.steps[0].outcome.message().contains("still synchronised"));
    assert_eq!(
        user(&sim, MEGAN).unwrap()["onPremisesImmutableId"],
        json!("c3luY2Vk")
    );
}
