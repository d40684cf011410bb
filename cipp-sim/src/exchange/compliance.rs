//! Auditing and mail flow: the admin audit log configuration, unified audit log searches
//! (`ReturnLargeSet` sessions) and message traces. (The outbound spam policy is one of the
//! protection nouns, in [`super::protection`].)

use serde_json::{json, Value};

use super::{bind_error, ok, strings, time_of, warn, Cmdlet, ExoCtx};
use crate::Reply;

pub(crate) const CMDLETS: &[Cmdlet] = &[
    Cmdlet {
        name: "Get-AdminAuditLogConfig",
        params: &[],
        run: get_audit_config,
    },
    Cmdlet {
        name: "Set-AdminAuditLogConfig",
        params: &["UnifiedAuditLogIngestionEnabled"],
        run: set_audit_config,
    },
    Cmdlet {
        name: "Search-UnifiedAuditLog",
        params: &[
            "StartDate",
            "EndDate",
            "Operations",
            "UserIds",
            "SessionId",
            "SessionCommand",
            "ResultSize",
            "RecordType",
        ],
        run: search_audit_log,
    },
    Cmdlet {
        name: "Get-MessageTraceV2",
        params: &["SenderAddress", "RecipientAddress", "StartDate", "EndDate"],
        run: message_trace,
    },
];

fn get_audit_config(ctx: &mut ExoCtx<'_>) -> Reply {
    ok(vec![
        json!({"Identity": "Admin Audit Log Settings", "AdminAuditLogEnabled": true,
        "UnifiedAuditLogIngestionEnabled": ctx.t.exchange.unified_audit_log.unwrap_or(true)}),
    ])
}

fn set_audit_config(ctx: &mut ExoCtx<'_>) -> Reply {
    let v = ctx
        .param("UnifiedAuditLogIngestionEnabled")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    if ctx.t.exchange.unified_audit_log.unwrap_or(true) == v {
        return warn("The command completed successfully but no settings of 'Admin Audit Log Settings' have been modified.");
    }
    ctx.t.exchange.unified_audit_log = Some(v);
    ok(Vec::new())
}

fn lower(v: Option<&Value>) -> Vec<String> {
    strings(v).iter().map(|s| s.to_ascii_lowercase()).collect()
}

fn search_audit_log(ctx: &mut ExoCtx<'_>) -> Reply {
    if ctx.t.exchange.unified_audit_log == Some(false) {
        return ok(Vec::new());
    }
    let (Some(start), Some(end)) = (time_of(ctx.str("StartDate")), time_of(ctx.str("EndDate")))
    else {
        return bind_error("StartDate and EndDate are required.");
    };
    let ops = lower(ctx.param("Operations"));
    let users = lower(ctx.param("UserIds"));
    let size = ctx
        .param("ResultSize")
        .and_then(Value::as_u64)
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(100);
    let session = ctx.str("SessionId").unwrap_or("").to_owned();
    let exo = &mut ctx.t.exchange;
    let matching: Vec<Value> = exo
        .audit_records
        .iter()
        .filter(|r| time_of(r["CreationDate"].as_str()).is_some_and(|d| d >= start && d <= end))
        .filter(|r| {
            ops.is_empty()
                || r["Operations"]
                    .as_str()
                    .is_some_and(|o| ops.contains(&o.to_ascii_lowercase()))
        })
        .filter(|r| {
            users.is_empty()
                || r["UserIds"]
                    .as_str()
                    .is_some_and(|u| users.contains(&u.to_ascii_lowercase()))
        })
        .cloned()
        .collect();
    let offset = exo.sessions.get(&session).copied().unwrap_or(0);
    let total = matching.len();
    let rows: Vec<Value> = matching
        .into_iter()
        .skip(offset)
        .take(size)
        .enumerate()
        .map(|(i, mut r)| {
            r["ResultIndex"] = json!(offset + i + 1);
            r["ResultCount"] = json!(total);
            r
        })
        .collect();
    if !session.is_empty() {
        exo.sessions.insert(session, offset + rows.len());
    }
    ok(rows)
}

fn message_trace(ctx: &mut ExoCtx<'_>) -> Reply {
    let sender = ctx.str("SenderAddress").map(str::to_ascii_lowercase);
    let (start, end) = (time_of(ctx.str("StartDate")), time_of(ctx.str("EndDate")));
    ok(ctx
        .t
        .exchange
        .message_traces
        .iter()
        .filter(|m| {
            sender.as_deref().is_none_or(|s| {
                m["SenderAddress"]
                    .as_str()
                    .is_some_and(|x| x.eq_ignore_ascii_case(s))
            })
        })
        .filter(|m| {
            let at = time_of(m["Received"].as_str());
            start.is_none_or(|s| at.is_some_and(|a| a >= s))
                && end.is_none_or(|e| at.is_some_and(|a| a <= e))
        })
        .cloned()
        .collect())
}
