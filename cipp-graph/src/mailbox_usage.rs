//! The mailbox usage report (`GET beta/reports/getMailboxUsageDetail(period='D7')`, as JSON):
//! per mailbox, the storage used and the quotas, as CIPP's `QuotaUsed` alert reads it.
//!
//! The report needs `Reports.Read.All`. Microsoft refreshes it about once a day, so it lags
//! the live `Get-MailboxStatistics` by up to two days; where the tenant conceals user names
//! in reports, `userPrincipalName` is a hash.
//!
//! ```
//! use cipp_core::TenantId;
//! use cipp_graph::mailbox_usage::{detail, ReportPeriod};
//!
//! let t = TenantId::parse("contoso.onmicrosoft.com")?;
//! let r = detail(&t, ReportPeriod::D7);
//! assert_eq!(r.path(), "/beta/reports/getMailboxUsageDetail(period='D7')");
//! # Ok::<(), cipp_core::Error>(())
//! ```

use cipp_core::{ApiRequest, TenantId};
use http::Method;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::model::Extra;
use crate::op;

/// The days a usage report aggregates over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReportPeriod {
    /// 7 days.
    D7,
    /// 30 days.
    D30,
    /// 90 days.
    D90,
    /// 180 days.
    D180,
}

impl ReportPeriod {
    /// The `period` value (`D7`).
    pub fn as_str(self) -> &'static str {
        match self {
            ReportPeriod::D7 => "D7",
            ReportPeriod::D30 => "D30",
            ReportPeriod::D90 => "D90",
            ReportPeriod::D180 => "D180",
        }
    }
}

/// One mailbox of the usage report. Numbers and flags are read whether the service sends
/// them as JSON numbers and booleans (the documented shape) or as strings (the CSV
/// columns, which some tenants' JSON echoes).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "camelCase")]
pub struct MailboxUsageDetail {
    /// The mailbox owner's UPN (a hash when the tenant conceals names in reports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_principal_name: Option<String>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Whether the mailbox was deleted during the period.
    #[serde(
        default,
        deserialize_with = "flag",
        skip_serializing_if = "Option::is_none"
    )]
    pub is_deleted: Option<bool>,
    /// `User`, `Shared`, `Room`, `Equipment`, … (newer reports only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient_type: Option<String>,
    /// Items in the mailbox.
    #[serde(
        default,
        deserialize_with = "number",
        skip_serializing_if = "Option::is_none"
    )]
    pub item_count: Option<i64>,
    /// Storage used, in bytes (the Recoverable Items folder and the archive not included).
    #[serde(
        default,
        deserialize_with = "number",
        skip_serializing_if = "Option::is_none"
    )]
    pub storage_used_in_bytes: Option<i64>,
    /// The size at which the owner is warned.
    #[serde(
        default,
        deserialize_with = "number",
        skip_serializing_if = "Option::is_none"
    )]
    pub issue_warning_quota_in_bytes: Option<i64>,
    /// The size at which the owner can no longer send.
    #[serde(
        default,
        deserialize_with = "number",
        skip_serializing_if = "Option::is_none"
    )]
    pub prohibit_send_quota_in_bytes: Option<i64>,
    /// The size at which the mailbox can no longer send or receive.
    #[serde(
        default,
        deserialize_with = "number",
        skip_serializing_if = "Option::is_none"
    )]
    pub prohibit_send_receive_quota_in_bytes: Option<i64>,
    /// Whether the mailbox has an archive.
    #[serde(
        default,
        deserialize_with = "flag",
        skip_serializing_if = "Option::is_none"
    )]
    pub has_archive: Option<bool>,
    /// The last activity (a date, `yyyy-mm-dd`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_activity_date: Option<String>,
    /// When the report was refreshed (a date).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_refresh_date: Option<String>,
    /// Everything else the service sent.
    #[serde(flatten, skip_deserializing)]
    pub extra: Extra,
}
cipp_core::keep_unknown_fields!(MailboxUsageDetail, extra);

impl MailboxUsageDetail {
    /// Storage used out of the send/receive quota, in percent rounded to a whole number;
    /// `None` when either is missing or zero.
    pub fn usage_percent(&self) -> Option<i64> {
        let used = self.storage_used_in_bytes.filter(|u| *u > 0)?;
        let quota = self
            .prohibit_send_receive_quota_in_bytes
            .filter(|q| *q > 0)?;
        Some((used as f64 * 100.0 / quota as f64).round() as i64)
    }
}

/// A number sent as a JSON number or a numeric string (`""` and `null` read as absent).
fn number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    })
}

/// A flag sent as a JSON boolean or as `"True"`/`"False"`.
fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Bool(b) => Some(b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    })
}

/// `GET beta/reports/getMailboxUsageDetail(period='…')?$format=application/json`: every
/// mailbox, paged (200 by default; add `$top` up to 999 on the listing).
pub fn detail(tenant: &TenantId, period: ReportPeriod) -> ApiRequest {
    op::request(
        tenant,
        Method::GET,
        format!(
            "/beta/reports/getMailboxUsageDetail(period='{}')",
            period.as_str()
        ),
        "get mailbox usage detail",
    )
    .query("$format", "application/json")
}

/// The mailbox usage report of one tenant (`graph.tenant(&t).mailbox_usage()`).
#[derive(Clone, Debug)]
pub struct MailboxUsage(pub(crate) crate::TenantGraph);

impl MailboxUsage {
    /// Every mailbox's usage over `period` (add `.top(999)` for fewer pages).
    pub fn detail(&self, period: ReportPeriod) -> crate::List<MailboxUsageDetail> {
        self.0.list_of(Ok(detail(self.0.id(), period)))
    }
}

impl crate::TenantGraph {
    /// The mailbox usage report.
    pub fn mailbox_usage(&self) -> MailboxUsage {
        MailboxUsage(self.clone())
    }
}
