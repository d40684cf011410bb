//! Distribution-list membership (the same `members` map Graph serves) and mobile devices.

use serde_json::{json, Value};

use super::{exo_error, not_found, ok, Cmdlet, ExoCtx};
use crate::state::SimTenant;
use crate::Reply;

pub(crate) const CMDLETS: &[Cmdlet] = &[
    Cmdlet {
        name: "Add-DistributionGroupMember",
        params: DL_MEMBER,
        run: change_member,
    },
    Cmdlet {
        name: "Remove-DistributionGroupMember",
        params: DL_MEMBER,
        run: change_member,
    },
    Cmdlet {
        name: "Get-DistributionGroupMember",
        params: &["Identity", "ResultSize"],
        run: get_members,
    },
    Cmdlet {
        name: "Get-MobileDevice",
        params: &["Mailbox", "Identity"],
        run: get_devices,
    },
    Cmdlet {
        name: "Remove-MobileDevice",
        params: &["Identity", "Confirm"],
        run: remove_device,
    },
];

const DL_MEMBER: &[&str] = &[
    "Identity",
    "Member",
    "BypassSecurityGroupManagerCheck",
    "Confirm",
];

/// The mail-enabled group any of whose names is `identity`.
fn find_dl(t: &SimTenant, identity: &str) -> Option<String> {
    t.groups()
        .iter()
        .filter(|g| g["mailEnabled"] == json!(true))
        .find(|g| {
            ["id", "displayName", "mail", "mailNickname"]
                .iter()
                .any(|k| {
                    g[*k]
                        .as_str()
                        .is_some_and(|v| v.eq_ignore_ascii_case(identity))
                })
        })
        .and_then(|g| g["id"].as_str().map(str::to_owned))
}

fn change_member(ctx: &mut ExoCtx<'_>) -> Reply {
    let id = ctx.identity();
    let Some(gid) = find_dl(ctx.t, &id) else {
        return not_found(&id);
    };
    let member = ctx.str("Member").unwrap_or("").to_owned();
    let Some(uid) = ctx.t.directory.user_id(&member) else {
        return not_found(&member);
    };
    let adding = ctx.name == "add-distributiongroupmember";
    let list = ctx.t.directory.members.entry(gid).or_default();
    let pos = list.iter().position(|m| *m == uid);
    match (adding, pos) {
        (true, Some(_)) => exo_error(
            400,
            "Microsoft.Exchange.Management.Tasks.MemberAlreadyExistsException",
            &format!("The recipient \"{member}\" is already a member of the group \"{id}\"."),
        ),
        (true, None) => {
            list.push(uid);
            ok(Vec::new())
        }
        (false, Some(p)) => {
            list.remove(p);
            ok(Vec::new())
        }
        (false, None) => exo_error(
            400,
            "Microsoft.Exchange.Management.Tasks.MemberNotFoundException",
            &format!("The recipient \"{member}\" isn't a member of the group \"{id}\"."),
        ),
    }
}

fn get_members(ctx: &mut ExoCtx<'_>) -> Reply {
    let id = ctx.identity();
    let Some(gid) = find_dl(ctx.t, &id) else {
        return not_found(&id);
    };
    let t = &*ctx.t;
    let rows: Vec<Value> = t
        .directory
        .members
        .get(&gid)
        .into_iter()
        .flatten()
        .filter_map(|m| t.directory.user(m))
        .map(|u| json!({"Identity": u["displayName"], "PrimarySmtpAddress": u["userPrincipalName"], "RecipientType": "UserMailbox"}))
        .collect();
    ok(rows)
}

fn get_devices(ctx: &mut ExoCtx<'_>) -> Reply {
    let Some(mbx) = ctx.str("Mailbox").map(str::to_owned) else {
        return not_found("");
    };
    match ctx.mailbox(&mbx) {
        Ok(i) => ok(ctx
            .t
            .exchange
            .mobile_devices
            .get(&ctx.t.exchange.upn_of(i))
            .cloned()
            .unwrap_or_default()),
        Err(r) => r,
    }
}

fn remove_device(ctx: &mut ExoCtx<'_>) -> Reply {
    let id = ctx.identity();
    let found = ctx.t.exchange.mobile_devices.values_mut().find_map(|ds| {
        ds.iter()
            .position(|d| {
                d["Identity"]
                    .as_str()
                    .is_some_and(|x| x.eq_ignore_ascii_case(&id))
            })
            .map(|p| (ds, p))
    });
    match found {
        Some((ds, p)) => {
            ds.remove(p);
            ok(Vec::new())
        }
        None => not_found(&id),
    }
}
