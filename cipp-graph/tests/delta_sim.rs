//! Delta queries on the simulator: real change tracking between delta links — users
//! created, changed, deleted; group members added and removed; pages; expired links.

mod common;

use cipp_graph::delta::{DeltaSync, RemovalReason};
use cipp_graph::model::{DirectoryObjectId, GroupId};
use cipp_graph::users::UserRef;
use common::{demo, new_user, tid};
use serde_json::json;

const SELECT: &[&str] = &["displayName", "onPremisesSyncEnabled", "createdDateTime"];

#[tokio::test]
async fn users_created_changed_and_deleted_come_back_once() {
    let (sim, graph, _clock) = demo();
    let t = graph.tenant(&tid("contoso.onmicrosoft.com"));
    let full = t.delta().users(SELECT, None).await.unwrap();
    assert_eq!(full.sync, DeltaSync::Full);
    let live = sim.lock_state().tenant("contoso.com").unwrap().users().len();
    assert_eq!(full.changed.len(), live);
    assert!(full.removed.is_empty());
    // Nothing changed: nothing comes back, and the link stays usable.
    let quiet = t.delta().users(SELECT, Some(&full.delta_link)).await.unwrap();
    assert_eq!(quiet.sync, DeltaSync::Changes);
    assert!(quiet.changed.is_empty() && quiet.removed.is_empty(), "{quiet:?}");

    // A user created through Graph, one changed behind Graph's back (AD Connect turned
    // off for them), one deleted to the recycle bin.
    let hire = new_user("New Hire", "new.hire@contoso.com", "Str0ng-Passw0rd!", None);
    let created = t.users().create(&hire).await.unwrap();
    let (adele, alex) = {
        let mut st = sim.lock_state();
        let c = st.tenant_mut("contoso.com").unwrap();
        let adele = c.directory.user_id("adelev@contoso.com").unwrap();
        let i = c.user_index(&adele).unwrap();
        c.directory.users_mut()[i]["onPremisesSyncEnabled"] = json!(false);
        (adele, c.directory.user_id("alexw@contoso.com").unwrap())
    };
    t.users().delete(&UserRef::parse(&alex).unwrap()).await.unwrap();
    let d = t.delta().users(SELECT, Some(&quiet.delta_link)).await.unwrap();
    let ids: Vec<&str> =
        d.changed.iter().filter_map(|u| u.id.as_ref().map(|i| i.as_str())).collect();
    assert_eq!(d.changed.len(), 2, "{ids:?}");
    assert!(ids.contains(&created.id.as_ref().unwrap().as_str()));
    let a = d
        .changed
        .iter()
        .find(|u| u.id.as_ref().map(|i| i.as_str()) == Some(adele.as_str()))
        .unwrap();
    assert_eq!(a.on_premises_sync_enabled, Some(false));
    assert_eq!(d.removed.len(), 1);
    assert_eq!(d.removed[0].id, alex);
    assert_eq!(d.removed[0].reason, RemovalReason::Changed, "in the recycle bin");

    // Deleted for good: `deleted`.
    t.users().delete_permanently(&DirectoryObjectId::from(alex.as_str())).await.unwrap();
    let purged = t.delta().users(SELECT, Some(&quiet.delta_link)).await.unwrap();
    let alex_now = purged.removed.iter().find(|r| r.id == alex).unwrap();
    assert_eq!(alex_now.reason, RemovalReason::Deleted);
}

#[tokio::test]
async fn many_users_come_in_pages_ending_with_the_delta_link() {
    let (sim, graph, _clock) = demo();
    {
        let mut st = sim.lock_state();
        let c = st.tenant_mut("contoso.com").unwrap();
        for i in 0..150 {
            c.add_user(cipp_sim::state::user_json(
                &format!("Bulk {i}"),
                &format!("bulk{i}@contoso.com"),
                "Staff",
                true,
            ));
        }
    }
    let t = graph.tenant(&tid("contoso.onmicrosoft.com"));
    let full = t.delta().users(&["displayName"], None).await.unwrap();
    let live = sim.lock_state().tenant("contoso.com").unwrap().users().len();
    assert!(live > 100);
    assert_eq!(full.changed.len(), live);
    let log = sim.log();
    assert!(log.count("GET", "/v1.0/users/delta") >= 2, "paged");
}

#[tokio::test]
async fn group_member_changes_and_expired_links() {
    let (sim, graph, _clock) = demo();
    let t = graph.tenant(&tid("contoso.onmicrosoft.com"));
    let (sales, alex, adele) = {
        let st = sim.lock_state();
        let c = st.tenant("contoso.com").unwrap();
        let sales = c.groups().iter().find(|g| g["displayName"] == "Sales Team").unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        (
            sales,
            c.directory.user_id("alexw@contoso.com").unwrap(),
            c.directory.user_id("adelev@contoso.com").unwrap(),
        )
    };
    let full = t.delta().groups(&["displayName", "members"], &[&sales], None).await.unwrap();
    assert_eq!(full.changed.len(), 1);
    let before: Vec<String> = full.changed[0].members.iter().map(|m| m.id.clone()).collect();
    assert!(full.changed[0].members.iter().all(|m| !m.removed));
    let group = GroupId::from(sales.as_str());
    if !before.iter().any(|m| m.eq_ignore_ascii_case(&alex)) {
        t.groups().add_member(&group, &DirectoryObjectId::from(alex.as_str())).await.unwrap();
    }
    {
        let mut st = sim.lock_state();
        let c = st.tenant_mut("contoso.com").unwrap();
        let m = c.directory.members.entry(sales.clone()).or_default();
        if !m.iter().any(|x| x.eq_ignore_ascii_case(&adele)) {
            m.push(adele.clone());
        }
    }
    let mid = t
        .delta()
        .groups(&["displayName", "members"], &[&sales], Some(&full.delta_link))
        .await
        .unwrap();
    let added: Vec<&str> = mid
        .changed
        .iter()
        .flat_map(|g| &g.members)
        .filter(|m| !m.removed)
        .map(|m| m.id.as_str())
        .collect();
    assert!(!added.is_empty(), "{mid:?}");
    assert!(mid.changed[0]
        .members
        .iter()
        .all(|m| m.odata_type.as_deref() == Some("#microsoft.graph.user")));
    // A removal comes back as `@removed`.
    {
        let mut st = sim.lock_state();
        let c = st.tenant_mut("contoso.com").unwrap();
        c.directory.members.get_mut(&sales).unwrap().retain(|x| !x.eq_ignore_ascii_case(&adele));
    }
    let after = t
        .delta()
        .groups(&["displayName", "members"], &[&sales], Some(&mid.delta_link))
        .await
        .unwrap();
    let gone: Vec<&str> = after
        .changed
        .iter()
        .flat_map(|g| &g.members)
        .filter(|m| m.removed)
        .map(|m| m.id.as_str())
        .collect();
    assert_eq!(gone, [adele.to_ascii_lowercase().as_str()]);

    // The tenant forgets its snapshots (seven days passed): a full sync, said so.
    sim.lock_state().tenant_mut("contoso.com").unwrap().delta.expire();
    let again = t
        .delta()
        .groups(&["displayName", "members"], &[&sales], Some(&after.delta_link))
        .await
        .unwrap();
    assert!(
        matches!(&again.sync, DeltaSync::Restarted { reason } if reason.contains("syncStateNotFound")),
        "{:?}",
        again.sync
    );
    assert_eq!(again.changed.len(), 1);
    // A users token on groups/delta is refused.
    let users = t.delta().users(&["displayName"], None).await.unwrap();
    let wrong = users.delta_link.replace("/users/delta", "/groups/delta");
    let e = t.delta().groups(&["displayName"], &[], Some(&wrong)).await.unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(400));
}
