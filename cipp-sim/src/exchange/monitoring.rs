//! What mail monitoring reads: soft-deleted mailboxes (`Get-Mailbox -SoftDeletedMailbox`)
//! and users restricted from sending (`Get-/Remove-BlockedSenderAddress`).
//!
//! A soft-deleted mailbox is the mailbox of a user in the directory's deleted items (as
//! Exchange Online soft-deletes the mailbox with its user): `WhenSoftDeleted` is the user's
//! `deletedDateTime`, and a mailbox under litigation hold is kept as an inactive mailbox.
//! This table comes before the mailboxes table, so it answers `Get-Mailbox` only with
//! `-SoftDeletedMailbox`; any other `Get-Mailbox` goes on to that table's cmdlet, with its
//! parameters checked as there.
//!
//! Restricted senders are held in the tenant's directory store under
//! [`BLOCKED_SENDERS`] (Exchange has no generic store), as `Get-BlockedSenderAddress`
//! returns them: `SenderAddress`, `Reason` (`ExceedingLimitType=External;…`),
//! `CreatedDatetime`, `ChangedDatetime`, `TemporaryBlock`, `ExpireDatetime`.

use serde_json::{json, Value};

use super::{bind_error, exo_error, ok, Cmdlet, ExoCtx};
use crate::state::synthetic_guid;
use crate::Reply;

/// The directory store path holding the restricted senders (rows as
/// `Get-BlockedSenderAddress` returns them).
pub const BLOCKED_SENDERS: &str = "exchange/blockedsenderaddresses";

pub(crate) const CMDLETS: &[Cmdlet] = &[
    Cmdlet {
        name: "Get-Mailbox",
        params: &["*"],
        run: get_mailbox,
    },
    Cmdlet {
        name: "Get-BlockedSenderAddress",
        params: &["SenderAddress", "StartDate", "EndDate"],
        run: get_blocked,
    },
    Cmdlet {
        name: "Remove-BlockedSenderAddress",
        params: &["SenderAddress", "Reason"],
        run: remove_blocked,
    },
];

/// Whether a switch parameter is on (`true`, or PowerShell's text for it).
fn switch_on(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true") || s == "$true",
        _ => false,
    }
}

fn get_mailbox(ctx: &mut ExoCtx<'_>) -> Reply {
    if !switch_on(ctx.param("SoftDeletedMailbox")) {
        // Not ours: the mailboxes table's Get-Mailbox, with its own parameter check.
        let Some(inner) = super::mailboxes::CMDLETS
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case("Get-Mailbox"))
        else {
            return exo_error(
                500,
                "System.InvalidOperationException",
                "Get-Mailbox missing",
            );
        };
        if let Some(bad) = ctx.params.keys().find(|k| {
            !k.eq_ignore_ascii_case("SoftDeletedMailbox")
                && !inner.params.iter().any(|a| a.eq_ignore_ascii_case(k))
        }) {
            return bind_error(&format!(
                "A parameter cannot be found that matches parameter name '{bad}'."
            ));
        }
        return (inner.run)(ctx);
    }
    if let Some(bad) = ctx.params.keys().find(|k| {
        !["SoftDeletedMailbox", "ResultSize", "Identity"]
            .iter()
            .any(|a| a.eq_ignore_ascii_case(k))
    }) {
        return bind_error(&format!(
            "A parameter cannot be found that matches parameter name '{bad}'."
        ));
    }
    let identity = ctx.str("Identity").map(str::to_ascii_lowercase);
    let deleted: Vec<(String, String)> = ctx
        .t
        .directory
        .users()
        .deleted()
        .iter()
        .filter_map(|u| {
            Some((
                u["id"].as_str()?.to_ascii_lowercase(),
                u["deletedDateTime"].as_str().unwrap_or_default().to_owned(),
            ))
        })
        .collect();
    let rows: Vec<Value> = ctx
        .t
        .exchange
        .mailboxes
        .iter()
        .filter_map(|m| {
            let owner = m["ExternalDirectoryObjectId"]
                .as_str()?
                .to_ascii_lowercase();
            let (_, when) = deleted.iter().find(|(id, _)| *id == owner)?;
            let upn = m["UserPrincipalName"].as_str().unwrap_or_default();
            let mut row = m.clone();
            row["ExchangeGuid"] = m
                .get("ExchangeGuid")
                .cloned()
                .unwrap_or_else(|| json!(synthetic_guid(&format!("exchange-guid-{upn}"))));
            row["WhenSoftDeleted"] = json!(when);
            row["IsSoftDeletedByRemove"] = json!(true);
            row["IsInactiveMailbox"] = json!(m["LitigationHoldEnabled"] == json!(true));
            Some(row)
        })
        .filter(|row| {
            identity.as_deref().is_none_or(|id| {
                ["UserPrincipalName", "ExchangeGuid", "Alias", "Guid"]
                    .iter()
                    .any(|k| row[*k].as_str().is_some_and(|v| v.eq_ignore_ascii_case(id)))
            })
        })
        .collect();
    ok(rows)
}

fn get_blocked(ctx: &mut ExoCtx<'_>) -> Reply {
    let only = ctx.str("SenderAddress").map(str::to_ascii_lowercase);
    let rows: Vec<Value> = ctx
        .t
        .directory
        .store
        .get(BLOCKED_SENDERS)
        .iter()
        .filter(|r| {
            only.as_deref().is_none_or(|a| {
                r["SenderAddress"]
                    .as_str()
                    .is_some_and(|s| s.eq_ignore_ascii_case(a))
            })
        })
        .cloned()
        .collect();
    ok(rows)
}

fn remove_blocked(ctx: &mut ExoCtx<'_>) -> Reply {
    let Some(address) = ctx.str("SenderAddress").map(str::to_owned) else {
        return bind_error("Cannot process command because of one or more missing mandatory parameters: SenderAddress.");
    };
    let rows = ctx.t.directory.store.get_mut(BLOCKED_SENDERS).items_mut();
    let before = rows.len();
    rows.retain(|r| {
        !r["SenderAddress"]
            .as_str()
            .is_some_and(|s| s.eq_ignore_ascii_case(&address))
    });
    if rows.len() == before {
        return exo_error(
            400,
            "Microsoft.Exchange.Management.Tasks.RecipientTaskException",
            &format!("The sender address {address} is not blocked."),
        );
    }
    ok(Vec::new())
}
