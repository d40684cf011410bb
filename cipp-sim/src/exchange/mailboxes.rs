//! Mailboxes: reading (paged), addresses, forwarding, conversion, archives, statistics,
//! automatic replies and calendar clean-up.

use serde_json::{json, Value};

use super::{bind_error, exo_error, not_found, ok, strings, time_of, warn, Cmdlet, ExoCtx};
use crate::Reply;

pub(crate) const CMDLETS: &[Cmdlet] = &[
    Cmdlet {
        name: "Get-Mailbox",
        params: &[
            "Identity",
            "ResultSize",
            "Filter",
            "RecipientTypeDetails",
            "MailboxPlan",
        ],
        run: get_mailbox,
    },
    Cmdlet {
        name: "Set-Mailbox",
        params: &[
            "Identity",
            "EmailAddresses",
            "ForwardingAddress",
            "ForwardingSMTPAddress",
            "DeliverToMailboxAndForward",
            "HiddenFromAddressListsEnabled",
            "Type",
            "GrantSendOnBehalfTo",
            "AuditEnabled",
            "MessageCopyForSentAsEnabled",
            "MessageCopyForSendOnBehalfEnabled",
            "LitigationHoldEnabled",
            "LitigationHoldDuration",
            "RetainDeletedItemsFor",
        ],
        run: set_mailbox,
    },
    Cmdlet {
        name: "Get-MailboxStatistics",
        params: &["Identity"],
        run: statistics,
    },
    Cmdlet {
        name: "Enable-Mailbox",
        params: &["Identity", "Archive", "AutoExpandingArchive"],
        run: enable_archive,
    },
    Cmdlet {
        name: "Get-MailboxAutoReplyConfiguration",
        params: &["Identity"],
        run: get_auto_reply,
    },
    Cmdlet {
        name: "Set-MailboxAutoReplyConfiguration",
        params: &[
            "Identity",
            "AutoReplyState",
            "InternalMessage",
            "ExternalMessage",
            "ExternalAudience",
            "StartTime",
            "EndTime",
        ],
        run: set_auto_reply,
    },
    Cmdlet {
        name: "Remove-CalendarEvents",
        params: &[
            "Identity",
            "QueryWindowInDays",
            "CancelOrganizedMeetings",
            "Confirm",
        ],
        run: remove_calendar_events,
    },
];

/// The page size of `Get-*` cmdlets (`Prefer: odata.maxpagesize=1000`).
const PAGE: usize = 1000;

fn get_mailbox(ctx: &mut ExoCtx<'_>) -> Reply {
    let rows: Vec<Value> = match ctx.str("Identity") {
        Some(id) => match ctx.mailbox(id) {
            Ok(i) => vec![ctx.t.exchange.mailboxes[i].clone()],
            Err(r) => return r,
        },
        None => {
            let filter = match ctx.str("Filter") {
                Some(f) => match super::opath::parse(f) {
                    Some(parsed) => Some(parsed),
                    None => return bind_error(&super::opath::syntax_error(f)),
                },
                None => None,
            };
            let types = strings(ctx.param("RecipientTypeDetails"))
                .iter()
                .flat_map(|t| t.split(',').map(|x| x.trim().to_ascii_lowercase()))
                .filter(|t| !t.is_empty())
                .collect::<Vec<_>>();
            let plan = ctx.str("MailboxPlan").map(str::to_ascii_lowercase);
            ctx.t
                .exchange
                .mailboxes
                .iter()
                .filter(|m| filter.as_ref().is_none_or(|f| super::opath::matches(f, m)))
                .filter(|m| {
                    types.is_empty()
                        || m["RecipientTypeDetails"]
                            .as_str()
                            .is_some_and(|r| types.contains(&r.to_ascii_lowercase()))
                })
                .filter(|m| {
                    // A plan is named by its display name (`ExchangeOnlineEnterprise`) or
                    // its full identity (`ExchangeOnlineEnterprise-<guid>`).
                    plan.as_deref().is_none_or(|p| {
                        m["MailboxPlan"].as_str().is_some_and(|mp| {
                            let mp = mp.to_ascii_lowercase();
                            mp == p || mp.strip_prefix(p).is_some_and(|r| r.starts_with('-'))
                        })
                    })
                })
                .cloned()
                .collect()
        }
    };
    let total = rows.len();
    let skip = ctx.skip;
    let slice: Vec<Value> = rows.into_iter().skip(skip).take(PAGE).collect();
    let mut out = json!({ "value": slice });
    if skip.saturating_add(PAGE) < total {
        out["@odata.nextLink"] = json!(format!(
            "{}/adminapi/beta/{}/InvokeCommand?$skiptoken={}",
            ctx.origin,
            ctx.t.id,
            skip + PAGE
        ));
    }
    Reply::json(200, out)
}

/// `EmailAddresses` as a full list, or a `@{add=…; remove=…}` hashtable.
fn addresses(current: &Value, list: &Value) -> Result<Vec<String>, Reply> {
    Ok(match list {
        Value::Array(_) => strings(Some(list)),
        Value::Object(h) => {
            let mut cur = strings(current.get("EmailAddresses"));
            for a in strings(h.get("add").or(h.get("Add"))) {
                let a = if a.contains(':') {
                    a
                } else {
                    format!("smtp:{a}")
                };
                if !cur.iter().any(|c| c.eq_ignore_ascii_case(&a)) {
                    cur.push(a);
                }
            }
            let rem = strings(h.get("remove").or(h.get("Remove")));
            let bare = |r: &str| r.split_once(':').map_or(r, |(_, y)| y).to_owned();
            cur.retain(|c| {
                !rem.iter().any(|r| {
                    c.split_once(':')
                        .is_some_and(|(_, x)| x.eq_ignore_ascii_case(&bare(r)))
                })
            });
            cur
        }
        _ => return Err(bind_error("Cannot bind EmailAddresses.")),
    })
}

fn set_mailbox(ctx: &mut ExoCtx<'_>) -> Reply {
    let Some(id) = ctx.str("Identity").map(str::to_owned) else {
        return not_found("");
    };
    let i = match ctx.mailbox(&id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let params = ctx.params;
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    };
    let mut changed = false;
    let mb = &mut ctx.t.exchange.mailboxes[i];
    if let Some(list) = param("EmailAddresses") {
        let new = match addresses(mb, list) {
            Ok(n) => n,
            Err(r) => return r,
        };
        let primaries: Vec<&String> = new.iter().filter(|a| a.starts_with("SMTP:")).collect();
        let [primary] = primaries.as_slice() else {
            return exo_error(
                400,
                "Microsoft.Exchange.Data.DataValidationException",
                "The proxy address list must contain exactly one primary SMTP address.",
            );
        };
        let primary = primary.trim_start_matches("SMTP:").to_owned();
        changed |= mb["EmailAddresses"] != json!(new);
        mb["EmailAddresses"] = json!(new);
        mb["PrimarySmtpAddress"] = json!(primary);
    }
    for bool_param in [
        "DeliverToMailboxAndForward",
        "HiddenFromAddressListsEnabled",
        "AuditEnabled",
        "MessageCopyForSentAsEnabled",
        "MessageCopyForSendOnBehalfEnabled",
        "LitigationHoldEnabled",
    ] {
        if let Some(v) = param(bool_param).filter(|v| !v.is_boolean()) {
            return bind_error(&format!(
                "Cannot bind parameter '{bool_param}'. Cannot convert value \"{v}\" to type \"System.Boolean\"."
            ));
        }
    }
    for (k, field) in [
        ("ForwardingAddress", "ForwardingAddress"),
        ("ForwardingSMTPAddress", "ForwardingSmtpAddress"),
        ("DeliverToMailboxAndForward", "DeliverToMailboxAndForward"),
        (
            "HiddenFromAddressListsEnabled",
            "HiddenFromAddressListsEnabled",
        ),
        ("AuditEnabled", "AuditEnabled"),
        ("MessageCopyForSentAsEnabled", "MessageCopyForSentAsEnabled"),
        (
            "MessageCopyForSendOnBehalfEnabled",
            "MessageCopyForSendOnBehalfEnabled",
        ),
        ("LitigationHoldEnabled", "LitigationHoldEnabled"),
        ("RetainDeletedItemsFor", "RetainDeletedItemsFor"),
    ] {
        if let Some(v) = param(k) {
            changed |= mb[field] != *v;
            mb[field] = v.clone();
        }
    }
    if let Some(v) = param("LitigationHoldDuration") {
        // Days (a whole number, or its text) or `Unlimited`; shown as a time span.
        let days = match v {
            Value::Number(n) => n.as_u64(),
            Value::String(t) => t.trim().parse::<u64>().ok(),
            _ => None,
        };
        let shown = match (days, v.as_str()) {
            (Some(d), _) => json!(format!("{d}.00:00:00")),
            (None, Some(t)) if t.eq_ignore_ascii_case("unlimited") => json!("Unlimited"),
            _ => {
                return bind_error(&format!(
                    "Cannot bind parameter 'LitigationHoldDuration'. Cannot convert value \"{v}\" to type \"Microsoft.Exchange.Data.Unlimited`1[Microsoft.Exchange.Data.EnhancedTimeSpan]\"."
                ))
            }
        };
        changed |= mb["LitigationHoldDuration"] != shown;
        mb["LitigationHoldDuration"] = shown;
    }
    if let Some(ty) = param("Type").and_then(Value::as_str) {
        let details = match ty.to_ascii_lowercase().as_str() {
            "regular" => "UserMailbox",
            "shared" => "SharedMailbox",
            "room" => "RoomMailbox",
            "equipment" => "EquipmentMailbox",
            _ => {
                return bind_error(&format!(
                    "Cannot convert value \"{ty}\" to type ConvertibleMailboxSubType."
                ))
            }
        };
        changed |= mb["RecipientTypeDetails"] != json!(details);
        mb["RecipientTypeDetails"] = json!(details);
    }
    if let Some(Value::Object(h)) = param("GrantSendOnBehalfTo") {
        let mut cur = strings(mb.get("GrantSendOnBehalfTo"));
        for a in strings(h.get("add")) {
            if !cur.iter().any(|c| c.eq_ignore_ascii_case(&a)) {
                cur.push(a);
                changed = true;
            }
        }
        let rem = strings(h.get("remove"));
        let before = cur.len();
        cur.retain(|c| !rem.iter().any(|r| r.eq_ignore_ascii_case(c)));
        changed |= cur.len() != before;
        mb["GrantSendOnBehalfTo"] = json!(cur);
    }
    if changed {
        ok(Vec::new())
    } else {
        warn(&format!(
            "The command completed successfully but no settings of '{id}' have been modified."
        ))
    }
}

fn statistics(ctx: &mut ExoCtx<'_>) -> Reply {
    match ctx.mailbox(&ctx.identity()) {
        Ok(i) => {
            let mb = &ctx.t.exchange.mailboxes[i];
            ok(vec![
                json!({"DisplayName": mb["DisplayName"], "TotalItemSize": mb["TotalItemSize"], "ItemCount": 1234}),
            ])
        }
        Err(r) => r,
    }
}

fn enable_archive(ctx: &mut ExoCtx<'_>) -> Reply {
    let i = match ctx.mailbox(&ctx.identity()) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let auto = ctx.param("AutoExpandingArchive").cloned();
    let mb = &mut ctx.t.exchange.mailboxes[i];
    if mb["ArchiveStatus"] == json!("Active") && auto.is_none() {
        return exo_error(
            400,
            "Microsoft.Exchange.Management.Tasks.RecipientTaskException",
            "The mailbox already has an archive.",
        );
    }
    mb["ArchiveStatus"] = json!("Active");
    if mb["ArchiveGuid"]
        .as_str()
        .is_none_or(|g| g == crate::state::NO_ARCHIVE)
    {
        let upn = mb["UserPrincipalName"].as_str().unwrap_or_default();
        mb["ArchiveGuid"] = json!(crate::state::synthetic_guid(&format!("archive-{upn}")));
    }
    if auto == Some(json!(true)) {
        mb["AutoExpandingArchiveEnabled"] = json!(true);
    }
    ok(vec![mb.clone()])
}

fn get_auto_reply(ctx: &mut ExoCtx<'_>) -> Reply {
    match ctx.mailbox(&ctx.identity()) {
        Ok(i) => {
            let upn = ctx.t.exchange.upn_of(i);
            let cfg = ctx.t.exchange.auto_replies.get(&upn).cloned().unwrap_or(json!({
                "Identity": upn, "AutoReplyState": "Disabled", "ExternalAudience": "All",
                "InternalMessage": null, "ExternalMessage": null, "StartTime": null, "EndTime": null}));
            ok(vec![cfg])
        }
        Err(r) => r,
    }
}

fn set_auto_reply(ctx: &mut ExoCtx<'_>) -> Reply {
    let i = match ctx.mailbox(&ctx.identity()) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let upn = ctx.t.exchange.upn_of(i);
    let state = ctx.str("AutoReplyState").unwrap_or("Disabled");
    if !["enabled", "disabled", "scheduled"].contains(&state.to_ascii_lowercase().as_str()) {
        return bind_error(&format!(
            "Cannot convert value \"{state}\" to type OofState."
        ));
    }
    if state.eq_ignore_ascii_case("scheduled") {
        match (time_of(ctx.str("StartTime")), time_of(ctx.str("EndTime"))) {
            (Some(s), Some(e)) if e > s => {}
            _ => {
                return exo_error(
                    400,
                    "Microsoft.Exchange.Data.DataValidationException",
                    "The end time must be later than the start time.",
                )
            }
        }
    }
    let mut cfg = ctx
        .t
        .exchange
        .auto_replies
        .get(&upn)
        .cloned()
        .unwrap_or(json!({ "Identity": upn }));
    for k in [
        "AutoReplyState",
        "InternalMessage",
        "ExternalMessage",
        "ExternalAudience",
        "StartTime",
        "EndTime",
    ] {
        if let Some(v) = ctx.param(k) {
            cfg[k] = v.clone();
        }
    }
    ctx.t.exchange.auto_replies.insert(upn, cfg);
    ok(Vec::new())
}

fn remove_calendar_events(ctx: &mut ExoCtx<'_>) -> Reply {
    match ctx.mailbox(&ctx.identity()) {
        Ok(_) => ok(Vec::new()),
        Err(r) => r,
    }
}
