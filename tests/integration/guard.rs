//! The privileged-admin guard on the simulator: roles held through nested and
//! role-assignable groups and eligible (PIM) roles are protected, for every guarded action.

use crate::common;

use cipp::graph::model::NewTemporaryAccessPass;
use cipp::sim::state::paths;
use cipp::sim::Simulator;
use cipp::users::{Guard, UserActions};
use cipp::TenantId;
use serde_json::json;

const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";
const PRIVILEGED_ROLE_ADMIN: &str = "e8611ab8-c189-46e8-94e1-60213ab1f814";
const TIER0: &str = "0a0a0a0a-0000-4000-8000-00000000a001";
const OUTER: &str = "0a0a0a0a-0000-4000-8000-00000000a002";
const PIM: &str = "0a0a0a0a-0000-4000-8000-00000000a003";

fn id_of(sim: &Simulator, upn: &str) -> String {
    sim.lock_state()
        .tenant("contoso.com")
        .unwrap()
        .users()
        .iter()
        .find(|u| u["userPrincipalName"] == json!(upn))
        .and_then(|u| u["id"].as_str())
        .unwrap()
        .to_owned()
}

/// Adele: Global Administrator through Tier0 (role-assignable) nested in Outer.
/// Megan: eligible for Privileged Role Administrator herself. Grady: eligible through the
/// role-assignable group PIM.
fn seed(sim: &Simulator) {
    let (adele, megan, grady) = (
        id_of(sim, "adelev@contoso.com"),
        id_of(sim, "meganb@contoso.com"),
        id_of(sim, "gradya@contoso.com"),
    );
    let mut st = sim.lock_state();
    let t = st.tenant_mut("contoso.com").unwrap();
    for (id, name) in [(TIER0, "Tier0"), (OUTER, "Outer"), (PIM, "PIM admins")] {
        t.add_group(
            json!({"id": id, "displayName": name, "mailNickname": name.replace(' ', ""),
            "groupTypes": [], "mailEnabled": false, "securityEnabled": true,
            "isAssignableToRole": id != OUTER}),
        );
    }
    t.directory.members.insert(OUTER.into(), vec![adele]);
    t.directory.members.insert(TIER0.into(), vec![OUTER.into()]);
    t.directory.members.insert(PIM.into(), vec![grady]);
    t.directory
        .roles
        .entry(GLOBAL_ADMIN.into())
        .or_default()
        .push(TIER0.into());
    let eligible = t.directory.store.get_mut(paths::ROLE_ELIGIBILITIES);
    for (n, principal) in [(1, megan), (2, PIM.to_owned())] {
        eligible.insert(json!({"id": format!("elig-{n}"), "principalId": principal,
            "roleDefinitionId": PRIVILEGED_ROLE_ADMIN, "directoryScopeId": "/",
            "memberType": "Direct", "startDateTime": "2026-01-01T00:00:00Z", "endDateTime": null}));
    }
}

async fn refused(what: &str, r: Result<impl std::fmt::Debug, cipp::Error>, role: &str) {
    let err = r.expect_err(what).to_string();
    assert!(
        err.contains(role) && err.contains("AllowPrivileged"),
        "{what}: {err}"
    );
}

#[tokio::test(start_paused = true)]
async fn nested_role_assignable_and_eligible_admins_are_protected() {
    let (sim, cipp) = common::demo(None, common::Fleet::Partner);
    seed(&sim);
    let h = cipp
        .tenant(&TenantId::parse("contoso.onmicrosoft.com").unwrap())
        .unwrap();
    let user = |upn: &str| -> UserActions { h.user(upn).unwrap() };

    assert_eq!(
        user("adelev@contoso.com").privileged_roles().await.unwrap(),
        ["Global Administrator"]
    );
    assert_eq!(
        user("meganb@contoso.com").privileged_roles().await.unwrap(),
        ["Privileged Role Administrator (eligible)"]
    );
    assert_eq!(
        user("gradya@contoso.com").privileged_roles().await.unwrap(),
        ["Privileged Role Administrator (eligible)"]
    );

    let ga = "Global Administrator";
    let pra = "Privileged Role Administrator (eligible)";
    let adele = user("adelev@contoso.com");
    refused(
        "block",
        adele.set_sign_in(false, Guard::RefusePrivileged).await,
        ga,
    )
    .await;
    refused("delete", adele.delete(Guard::RefusePrivileged).await, ga).await;
    refused(
        "upn",
        adele
            .change_upn("adele.v@contoso.com", Guard::RefusePrivileged)
            .await,
        ga,
    )
    .await;
    let megan = user("meganb@contoso.com");
    refused(
        "push",
        megan.send_mfa_push(Guard::RefusePrivileged).await,
        pra,
    )
    .await;
    refused(
        "tap",
        megan
            .create_temporary_access_pass(
                &NewTemporaryAccessPass::default(),
                Guard::RefusePrivileged,
            )
            .await,
        pra,
    )
    .await;
    let grady = user("gradya@contoso.com");
    refused(
        "mfa",
        grady.rerequire_mfa(Guard::RefusePrivileged).await,
        pra,
    )
    .await;

    // Nothing changed; with the explicit allowance the action goes through.
    assert!(sim
        .lock_state()
        .tenant("contoso.com")
        .unwrap()
        .directory
        .user("adelev@contoso.com")
        .is_some());
    grady.delete(Guard::AllowPrivileged).await.unwrap();
    assert!(sim
        .lock_state()
        .tenant("contoso.com")
        .unwrap()
        .directory
        .user("gradya@contoso.com")
        .is_none());
}
