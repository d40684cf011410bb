//! Mail reads the alerts need: the mailbox usage report
//! (`reports/getMailboxUsageDetail(period='D7')?$format=application/json`), built from the
//! tenant's Exchange mailboxes, and the DNS records Microsoft expects for a domain
//! (`domains/{id}/serviceConfigurationRecords`).
//!
//! The report's storage is a mailbox's `TotalItemSize` (the bytes in brackets), its quotas
//! the mailbox's `ProhibitSendReceiveQuota` / `ProhibitSendQuota` / `IssueWarningQuota` when
//! set, else Exchange Online's defaults (100 GB for a user mailbox, 50 GB for shared, room
//! and equipment mailboxes); the mailbox of a deleted user is `isDeleted`. Only the JSON
//! form is served.

use serde_json::{json, Value};

use super::{error, list_with, routes, Answer, Ctx, Paging, Params, Route};
use crate::state::{synthetic_guid, NO_ARCHIVE};

pub(crate) const ROUTES: &[Route] = routes![
    GET "reports/getmailboxusagedetail/{period}" => mailbox_usage_detail,
    GET "domains/{id}/serviceconfigurationrecords" => service_configuration_records,
];

const GB: i64 = 1024 * 1024 * 1024;

/// The bytes of an Exchange size (`1.2 GB (1,288,490,188 bytes)`), or of a plain number.
fn bytes_of(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => {
            let inner = match (s.rfind('('), s.rfind(" bytes")) {
                (Some(open), Some(end)) if open < end => &s[open + 1..end],
                _ => s.as_str(),
            };
            inner.replace(',', "").trim().parse().ok()
        }
        _ => None,
    }
}

/// The report's `recipientType` of a mailbox's `RecipientTypeDetails`.
fn recipient_type(details: &str) -> &'static str {
    match details.to_ascii_lowercase().as_str() {
        "usermailbox" => "User",
        "sharedmailbox" => "Shared",
        "roommailbox" => "Room",
        "equipmentmailbox" => "Equipment",
        _ => "Others",
    }
}

fn usage_row(m: &Value, deleted: bool, refreshed: &str) -> Value {
    let details = m["RecipientTypeDetails"].as_str().unwrap_or("UserMailbox");
    let kind = recipient_type(details);
    let default_quota = if kind == "User" { 100 * GB } else { 50 * GB };
    let quota = |key: &str, default: i64| bytes_of(&m[key]).unwrap_or(default);
    let upn = m["UserPrincipalName"].as_str().unwrap_or_default();
    let archive = m["ArchiveStatus"].as_str() == Some("Active")
        || m["ArchiveGuid"]
            .as_str()
            .is_some_and(|g| !g.is_empty() && g != NO_ARCHIVE);
    let item_count = m["ItemCount"]
        .as_i64()
        .unwrap_or_else(|| 1000 + i64::from(synthetic_guid(upn).as_bytes()[0]) * 37);
    json!({
        "reportRefreshDate": refreshed,
        "userPrincipalName": upn,
        "displayName": m["DisplayName"],
        "isDeleted": deleted,
        "deletedDate": null,
        "createdDate": "2024-01-15",
        "lastActivityDate": refreshed,
        "itemCount": item_count,
        "storageUsedInBytes": bytes_of(&m["TotalItemSize"]).unwrap_or(0),
        "deletedItemCount": 0,
        "deletedItemSizeInBytes": 0,
        "deletedItemQuotaInBytes": 30 * GB,
        "hasArchive": archive,
        "issueWarningQuotaInBytes": quota("IssueWarningQuota", default_quota - 2 * GB),
        "prohibitSendQuotaInBytes": quota("ProhibitSendQuota", default_quota - GB),
        "prohibitSendReceiveQuotaInBytes": quota("ProhibitSendReceiveQuota", default_quota),
        "recipientType": kind,
        "reportPeriod": "7",
    })
}

fn mailbox_usage_detail(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let period = p.get(0);
    let period = period
        .split_once('=')
        .filter(|(k, _)| k.eq_ignore_ascii_case("period"))
        .map_or(period, |(_, v)| v);
    if !["D7", "D30", "D90", "D180"].contains(&period) {
        return Err(error(
            400,
            "BadRequest",
            &format!(
                "Invalid value '{period}' for the period parameter: use D7, D30, D90 or D180."
            ),
        ));
    }
    if !ctx
        .req
        .q("$format")
        .is_some_and(|f| f.eq_ignore_ascii_case("application/json"))
    {
        return Err(error(
            400,
            "BadRequest",
            "The simulator serves this report as JSON only: add $format=application/json.",
        ));
    }
    let t = &mut *ctx.t;
    if t.exchange.mailboxes.is_empty() && !t.users().is_empty() {
        let users = t.users().to_vec();
        let domain = t.initial_domain().to_owned();
        t.exchange.seed_from_users(&users, &domain);
    }
    let deleted: Vec<String> = t
        .directory
        .users()
        .deleted()
        .iter()
        .filter_map(|u| u["id"].as_str().map(str::to_ascii_lowercase))
        .collect();
    let refreshed = ctx.req.now.get(..10).unwrap_or("2026-01-01").to_owned();
    let rows: Vec<Value> = t
        .exchange
        .mailboxes
        .iter()
        .map(|m| {
            let gone = m["ExternalDirectoryObjectId"]
                .as_str()
                .is_some_and(|id| deleted.contains(&id.to_ascii_lowercase()));
            usage_row(m, gone, &refreshed)
        })
        .collect();
    let paging = Paging {
        default_top: 200,
        max_top: 999,
    };
    Ok(list_with(
        ctx.req,
        rows,
        "reports/getMailboxUsageDetail",
        None,
        paging,
    ))
}

fn service_configuration_records(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let name = p.get(0).to_ascii_lowercase();
    if !ctx.t.domains.iter().any(|d| d.eq_ignore_ascii_case(&name)) {
        return Err(super::not_found(&name));
    }
    let record = |kind: &str| synthetic_guid(&format!("{}-dns-{kind}-{name}", ctx.t.id));
    let mx_host = format!("{}.mail.protection.outlook.com", name.replace('.', "-"));
    let items = vec![
        json!({"@odata.type": "#microsoft.graph.domainDnsMxRecord", "id": record("mx"),
               "isOptional": false, "label": name, "recordType": "Mx", "supportedService": "Email",
               "ttl": 3600, "mailExchange": mx_host, "preference": 0}),
        json!({"@odata.type": "#microsoft.graph.domainDnsTxtRecord", "id": record("spf"),
               "isOptional": false, "label": name, "recordType": "Txt", "supportedService": "Email",
               "ttl": 3600, "text": "v=spf1 include:spf.protection.outlook.com -all"}),
        json!({"@odata.type": "#microsoft.graph.domainDnsCnameRecord", "id": record("autodiscover"),
               "isOptional": false, "label": format!("autodiscover.{name}"), "recordType": "CName",
               "supportedService": "Email", "ttl": 3600, "canonicalName": "autodiscover.outlook.com"}),
    ];
    Ok(list_with(
        ctx.req,
        items,
        "domains/serviceConfigurationRecords",
        None,
        Paging::LOGS,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_exchange_writes_them() {
        assert_eq!(
            bytes_of(&json!("1.2 GB (1,288,490,188 bytes)")),
            Some(1_288_490_188)
        );
        assert_eq!(bytes_of(&json!(42)), Some(42));
        assert_eq!(bytes_of(&json!("Unlimited")), None);
        assert_eq!(recipient_type("SharedMailbox"), "Shared");
    }
}
