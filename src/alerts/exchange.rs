//! Mail, devices and the fleet's own reports: `QuotaUsed`, `SoftDeletedMailboxes`,
//! `RestrictedUsers`, `MXRecordChanged`; `DeviceCompliance`, `StaleEntraDevices`
//! ([`DeviceCompliance`], [`StaleEntraDevices`]); `TenantAccess`, `LowTenantAlignment`
//! ([`TenantAccessAlert`], [`LowTenantAlignment`]). Each follows CIPP's
//! `Get-CIPPAlert<Name>`: what it reads and when it fires.
//!
//! Two alerts need something only the embedder has, and say so when it is missing:
//! `MXRecordChanged` needs a DNS resolver ([`MxResolver`]; register
//! [`MXRecordChanged::with_resolver`] in place of the built-in one) and `LowTenantAlignment`
//! the standards results ([`super::AlertService::standards`]). `TenantAccess` checks Graph
//! and Exchange access in every tenant; with the partner tenant
//! ([`TenantAccessAlert::with_partner`]) it also checks the GDAP roles.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), cipp::Error> {
//! use std::sync::Arc;
//! use cipp::alerts::exchange::{MXRecordChanged, StaticMxResolver};
//! use cipp::alerts::AlertCatalogue;
//!
//! // Your resolver (here a fixed table; in production one that asks DNS).
//! let dns = Arc::new(StaticMxResolver::new());
//! dns.set("contoso.com", ["contoso-com.mail.protection.outlook.com"]);
//! let mut catalogue = AlertCatalogue::builtin();
//! catalogue.register(Arc::new(MXRecordChanged::with_resolver(dns)));
//! assert!(catalogue.get("MXRecordChanged").is_some());
//! # Ok(()) }
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use cipp_core::{ApiErrorKind, Error};
use cipp_graph::mailbox_usage::ReportPeriod;
use futures::{StreamExt, TryStreamExt};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};

use super::{Alert, AlertContext, AlertMeta, Finding};

#[path = "devices.rs"]
mod devices;
#[path = "fleet.rs"]
mod fleet;

pub use devices::{DeviceCompliance, StaleEntraDevices};
pub use fleet::{LowTenantAlignment, TenantAccessAlert};

/// Every alert of this module. `MXRecordChanged` has no resolver here (it says so when
/// run); `TenantAccess` checks Graph and Exchange access only.
pub fn alerts() -> Vec<Arc<dyn Alert>> {
    vec![
        Arc::new(QuotaUsed),
        Arc::new(SoftDeletedMailboxes),
        Arc::new(RestrictedUsers),
        Arc::new(MXRecordChanged::new()),
        Arc::new(DeviceCompliance),
        Arc::new(StaleEntraDevices),
        Arc::new(TenantAccessAlert::new()),
        Arc::new(LowTenantAlignment),
    ]
}

// ---- shared input and error handling ------------------------------------------------

/// Refuses any input but none.
fn no_input(meta: &AlertMeta, input: &Value) -> Result<(), Error> {
    match input {
        Value::Null => Ok(()),
        Value::Object(m) if m.is_empty() => Ok(()),
        _ => Err(Error::invalid_input(
            meta.command(),
            "this alert takes no input; leave it empty",
        )),
    }
}

/// CIPP sends a single input bare (`80`, `"80"`, `true`): as the object `{field: value}`.
fn named(input: &Value, field: &str) -> Value {
    match input {
        Value::Number(_) | Value::String(_) | Value::Bool(_) => json!({ field: input }),
        other => other.clone(),
    }
}

/// A whole number sent as a number or as text (`""` and `null`: not given).
fn whole<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
            .map(Some)
            .ok_or_else(|| D::Error::custom(format!("`{n}` is not a whole number"))),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => s
            .trim()
            .parse::<i64>()
            .map(Some)
            .map_err(|_| D::Error::custom(format!("`{s}` is not a whole number"))),
        other => Err(D::Error::custom(format!(
            "expected a whole number, got {other}"
        ))),
    }
}

/// A flag sent as a boolean or as text (`"true"`, `"false"`; `""` and `null`: not given).
fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(b)),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) if s.trim().eq_ignore_ascii_case("true") => Ok(Some(true)),
        Value::String(s) if s.trim().eq_ignore_ascii_case("false") => Ok(Some(false)),
        other => Err(D::Error::custom(format!(
            "expected true or false, got {other}"
        ))),
    }
}

/// A list of names as CIPP's form sends one: comma-separated text, an array of texts, or
/// the picker's `{label, value}` objects (alone, in an array, or as `{value: [...]}`).
fn text_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    fn collect(v: &Value, out: &mut Vec<String>) -> Result<(), String> {
        match v {
            Value::Null => Ok(()),
            Value::String(s) => {
                out.extend(
                    s.split(',')
                        .map(str::trim)
                        .filter(|x| !x.is_empty())
                        .map(str::to_owned),
                );
                Ok(())
            }
            Value::Array(a) => a.iter().try_for_each(|x| collect(x, out)),
            Value::Object(m) => match m.get("value").or_else(|| m.get("label")) {
                Some(inner) => collect(inner, out),
                None => Err("an object in the list needs a `value`".to_owned()),
            },
            other => Err(format!("expected names, got {other}")),
        }
    }
    let v = Value::deserialize(d)?;
    let mut out = Vec::new();
    collect(&v, &mut out).map_err(D::Error::custom)?;
    Ok(out)
}

/// An input error naming the alert and saying what to give.
fn bad_input(meta: &AlertMeta, message: impl Into<String>) -> Error {
    Error::invalid_input(meta.command(), message)
}

/// The feature is not there (404, or a licence the tenant lacks): nothing to find, as
/// CIPP.
fn unlicensed(e: &Error) -> bool {
    e.is_not_found()
        || e.as_api()
            .is_some_and(|a| a.kind == ApiErrorKind::MissingLicense)
}

/// A short reason for an error that stays the same from one run to the next (no request
/// ids, trace ids or timestamps), for finding data.
fn stable_reason(e: &Error) -> String {
    if let Some(a) = e.as_api() {
        let mut s = format!("{}", a.status.as_u16());
        if !a.code.is_empty() {
            s.push(' ');
            s.push_str(&a.code);
        }
        let msg = a.detail.as_deref().unwrap_or(&a.message);
        if !msg.is_empty() {
            s.push_str(": ");
            s.push_str(msg);
        }
        return s;
    }
    if let Some(a) = e.as_auth() {
        let code = a
            .codes
            .first()
            .map(|c| format!("AADSTS{c}"))
            .unwrap_or_else(|| a.error.clone());
        return format!("token refused ({code}): {}", a.description);
    }
    e.to_string()
}

// ---- QuotaUsed --------------------------------------------------------------------------

/// `QuotaUsed`: mailboxes more than `QuotaUsedQuota` percent full (default 90), from the
/// mailbox usage report (storage used out of the send/receive quota). Mailboxes the report
/// marks deleted, those listed in `QuotaUsedExcludedMailboxes` (UPNs, comma-separated) and,
/// when `QuotaUsedMailboxTypes` names any (`User`, `Shared`, `Room`, `Equipment`), those of
/// other types are left out. A bare number is taken as the percentage (older CIPP).
///
/// The report lags by a day or two; a finding changes when the whole percentage changes.
#[derive(Debug, Clone, Copy)]
pub struct QuotaUsed;

const QUOTA: AlertMeta = AlertMeta::new(
    "QuotaUsed",
    "Alert on % mailbox quota used",
    "1d",
    "GET beta/reports/getMailboxUsageDetail(period='D7')?$format=application/json",
)
.inputs(&[
    "QuotaUsedQuota",
    "QuotaUsedExcludedMailboxes",
    "QuotaUsedMailboxTypes",
]);

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct QuotaInput {
    #[serde(rename = "QuotaUsedQuota", default, deserialize_with = "whole")]
    quota: Option<i64>,
    #[serde(
        rename = "QuotaUsedExcludedMailboxes",
        default,
        deserialize_with = "text_list"
    )]
    excluded: Vec<String>,
    #[serde(
        rename = "QuotaUsedMailboxTypes",
        default,
        deserialize_with = "text_list"
    )]
    types: Vec<String>,
}

/// A mailbox type without its `Mailbox` suffix, lower case (`SharedMailbox` and `Shared`
/// are both `shared`).
fn mailbox_kind(t: &str) -> String {
    let t = t.trim().to_ascii_lowercase();
    t.strip_suffix("mailbox")
        .filter(|s| !s.is_empty())
        .unwrap_or(&t)
        .to_owned()
}

impl QuotaUsed {
    fn input(input: &Value) -> Result<(i64, QuotaInput), Error> {
        let i: QuotaInput = super::input(&QUOTA, &named(input, "QuotaUsedQuota"))?;
        let quota = i.quota.unwrap_or(90);
        if !(1..=100).contains(&quota) {
            return Err(bad_input(
                &QUOTA,
                format!("QuotaUsedQuota `{quota}` is not a percentage: give 1 to 100 (default 90)"),
            ));
        }
        Ok((quota, i))
    }
}

#[async_trait]
impl Alert for QuotaUsed {
    fn meta(&self) -> &AlertMeta {
        &QUOTA
    }

    fn validate(&self, input: &Value) -> Result<(), Error> {
        QuotaUsed::input(input).map(drop)
    }

    async fn evaluate(&self, ctx: &AlertContext, input: &Value) -> Result<Vec<Finding>, Error> {
        let (threshold, i) = QuotaUsed::input(input)?;
        let excluded: BTreeSet<String> = i.excluded.iter().map(|u| u.to_lowercase()).collect();
        let kinds: BTreeSet<String> = i.types.iter().map(|t| mailbox_kind(t)).collect();
        let rows = match ctx
            .handle
            .graph()
            .mailbox_usage()
            .detail(ReportPeriod::D7)
            .top(999)
            .await
        {
            Ok(r) => r,
            Err(e) if unlicensed(&e) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut out = Vec::new();
        for r in rows {
            if r.is_deleted == Some(true) {
                continue;
            }
            let Some(upn) = r.user_principal_name.as_deref().filter(|u| !u.is_empty()) else {
                continue;
            };
            if excluded.contains(&upn.to_lowercase()) {
                continue;
            }
            if !kinds.is_empty()
                && !r
                    .recipient_type
                    .as_deref()
                    .is_some_and(|t| kinds.contains(&mailbox_kind(t)))
            {
                continue;
            }
            let Some(percent) = r.usage_percent() else {
                continue;
            };
            if percent <= threshold {
                continue;
            }
            out.push(Finding::new(
                upn.to_lowercase(),
                format!("{upn}: mailbox is {percent}% full (more than {threshold}%)"),
                json!({
                    "owner": upn,
                    "recipientType": r.recipient_type,
                    "usagePercent": percent,
                    "prohibitSendReceiveQuotaInBytes": r.prohibit_send_receive_quota_in_bytes,
                    "threshold": threshold,
                }),
            ));
        }
        out.sort_by(|a, b| a.subject.cmp(&b.subject));
        Ok(out)
    }
}

// ---- SoftDeletedMailboxes -----------------------------------------------------------------

/// `SoftDeletedMailboxes`: mailboxes soft-deleted with their user (recoverable for 30
/// days), from `Get-Mailbox -SoftDeletedMailbox`; inactive mailboxes (kept by a hold) are
/// left out, as CIPP does. One finding per mailbox (its Exchange GUID).
#[derive(Debug, Clone, Copy)]
pub struct SoftDeletedMailboxes;

const SOFT_DELETED: AlertMeta = AlertMeta::new(
    "SoftDeletedMailboxes",
    "Alert on soft deleted mailboxes",
    "1d",
    "Exchange Get-Mailbox -SoftDeletedMailbox",
);

#[async_trait]
impl Alert for SoftDeletedMailboxes {
    fn meta(&self) -> &AlertMeta {
        &SOFT_DELETED
    }

    fn validate(&self, input: &Value) -> Result<(), Error> {
        no_input(&SOFT_DELETED, input)
    }

    async fn evaluate(&self, ctx: &AlertContext, _input: &Value) -> Result<Vec<Finding>, Error> {
        let mailboxes = ctx.handle.exchange().soft_deleted_mailboxes().await?;
        let mut out: Vec<Finding> = mailboxes
            .into_iter()
            .filter(|m| m.is_inactive_mailbox != Some(true))
            .filter_map(|m| {
                let upn = m.user_principal_name.clone().unwrap_or_default();
                let subject = m
                    .exchange_guid
                    .clone()
                    .filter(|g| !g.is_empty())
                    .or_else(|| Some(upn.clone()).filter(|u| !u.is_empty()))?
                    .to_ascii_lowercase();
                let when = m.when_soft_deleted.clone().unwrap_or_default();
                Some(Finding::new(
                    subject,
                    format!("The mailbox of {upn} was soft-deleted on {when}; it can be recovered for 30 days"),
                    json!({
                        "ExchangeGuid": m.exchange_guid,
                        "ArchiveGuid": m.archive_guid,
                        "WhenSoftDeleted": m.when_soft_deleted,
                        "UPN": upn,
                    }),
                ))
            })
            .collect();
        out.sort_by(|a, b| a.subject.cmp(&b.subject));
        Ok(out)
    }
}

// ---- RestrictedUsers ------------------------------------------------------------------

/// `RestrictedUsers`: users Exchange Online has restricted from sending (a sending limit or
/// the outbound spam policy), from `Get-BlockedSenderAddress`. One finding per address;
/// the limit exceeded and the recipient counts are read from the block's reason.
#[derive(Debug, Clone, Copy)]
pub struct RestrictedUsers;

const RESTRICTED: AlertMeta = AlertMeta::new(
    "RestrictedUsers",
    "Alert on users restricted from sending email",
    "30m",
    "Exchange Get-BlockedSenderAddress",
);

#[async_trait]
impl Alert for RestrictedUsers {
    fn meta(&self) -> &AlertMeta {
        &RESTRICTED
    }

    fn validate(&self, input: &Value) -> Result<(), Error> {
        no_input(&RESTRICTED, input)
    }

    async fn evaluate(&self, ctx: &AlertContext, _input: &Value) -> Result<Vec<Finding>, Error> {
        let blocked = ctx.handle.exchange().blocked_senders().await?;
        let mut out: Vec<Finding> = blocked
            .into_iter()
            .filter_map(|b| {
                let address = b.sender_address.clone().filter(|a| !a.is_empty())?;
                let limit = b.reason_part("ExceedingLimitType").map(str::to_owned);
                let created = b.created_datetime.clone().unwrap_or_default();
                let block_type = match &limit {
                    Some(l) => format!("{l} recipient limit exceeded"),
                    None => "Email sending limit exceeded".to_owned(),
                };
                Some(Finding::new(
                    address.to_lowercase(),
                    format!(
                        "User {address} is restricted from sending email. Block type: {}. Created: {created}",
                        limit.as_deref().unwrap_or("Unknown")
                    ),
                    json!({
                        "SenderAddress": address,
                        "BlockType": block_type,
                        "TemporaryBlock": b.temporary_block,
                        "InternalCount": b.reason_part("InternalRecipientCountToday"),
                        "ExternalCount": b.reason_part("ExternalRecipientCountToday"),
                        "CreatedDatetime": b.created_datetime,
                        "Reason": b.reason,
                    }),
                ))
            })
            .collect();
        out.sort_by(|a, b| a.subject.cmp(&b.subject));
        Ok(out)
    }
}

// ---- MXRecordChanged ------------------------------------------------------------------

/// Looks up the MX records of a domain in DNS.
///
/// Plug in your own for [`MXRecordChanged`]: a system resolver (for example the
/// `hickory-resolver` crate's `mx_lookup`) or DNS over HTTPS (a GET of
/// `https://cloudflare-dns.com/dns-query?name=<domain>&type=MX` with
/// `Accept: application/dns-json`, reading `Answer[].data` as `"<preference> <host>."`).
/// This crate ships none that reaches the network; [`StaticMxResolver`] answers from a
/// table (tests, or a cache you fill yourself).
#[async_trait]
pub trait MxResolver: Send + Sync + 'static {
    /// The mail hosts of `domain`'s MX records, any order and case, trailing dots allowed;
    /// empty when the domain has none (NXDOMAIN included). An error only when DNS could
    /// not be asked: the run then fails rather than reporting a change.
    async fn mx_hosts(&self, domain: &str) -> Result<Vec<String>, Error>;
}

/// An [`MxResolver`] answering from a table (a domain missing from it has no MX records).
#[derive(Debug, Default)]
pub struct StaticMxResolver {
    records: Mutex<BTreeMap<String, Vec<String>>>,
}

impl StaticMxResolver {
    /// An empty table.
    pub fn new() -> Self {
        StaticMxResolver::default()
    }

    /// Sets `domain`'s MX hosts.
    pub fn set<I, S>(&self, domain: &str, hosts: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let hosts = hosts.into_iter().map(Into::into).collect();
        let mut g = self
            .records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        g.insert(domain.to_ascii_lowercase(), hosts);
    }
}

#[async_trait]
impl MxResolver for StaticMxResolver {
    async fn mx_hosts(&self, domain: &str) -> Result<Vec<String>, Error> {
        let g = self
            .records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(g.get(&domain.to_ascii_lowercase())
            .cloned()
            .unwrap_or_default())
    }
}

/// Host names as a sorted set: lower case, without the trailing dot.
fn host_set<'a>(hosts: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let set: BTreeSet<String> = hosts
        .into_iter()
        .map(|h| h.trim().trim_end_matches('.').to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect();
    set.into_iter().collect()
}

/// `MXRecordChanged`: a domain's MX records in DNS are not the ones Microsoft expects
/// (`domains/{id}/serviceConfigurationRecords`, the Exchange Online Protection host).
/// One finding per domain, carrying the records found, so that — through the alert state —
/// mail moved away from Exchange Online is raised, any further change of the records is a
/// changed finding, and mail routed back to Exchange Online resolves it.
///
/// CIPP compares each domain's MX records with those of its last run (a cache table). Here
/// the alert state is that memory, with Microsoft's record as the baseline: the difference
/// from CIPP is that a domain whose mail already goes through another gateway is reported
/// once, on the first run, with its records — after that only changes notify. Verified
/// domains are checked, `*.onmicrosoft.com` ones left out (Microsoft manages their DNS).
///
/// The DNS lookup is the embedder's ([`MxResolver`]); without one the alert fails with an
/// error saying how to give it.
#[derive(Clone, Default)]
pub struct MXRecordChanged {
    resolver: Option<Arc<dyn MxResolver>>,
}

impl std::fmt::Debug for MXRecordChanged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MXRecordChanged")
            .field("resolver", &self.resolver.is_some())
            .finish()
    }
}

const MX: AlertMeta = AlertMeta::new(
    "MXRecordChanged",
    "Alert on MX record changes",
    "1d",
    "GET domains; GET domains/{id}/serviceConfigurationRecords; DNS MX lookups (MxResolver)",
);

impl MXRecordChanged {
    /// Without a resolver: running it fails with an error saying how to give one.
    pub fn new() -> Self {
        MXRecordChanged { resolver: None }
    }

    /// With the resolver that looks up MX records.
    pub fn with_resolver(resolver: Arc<dyn MxResolver>) -> Self {
        MXRecordChanged {
            resolver: Some(resolver),
        }
    }
}

#[async_trait]
impl Alert for MXRecordChanged {
    fn meta(&self) -> &AlertMeta {
        &MX
    }

    fn validate(&self, input: &Value) -> Result<(), Error> {
        no_input(&MX, input)
    }

    async fn evaluate(&self, ctx: &AlertContext, _input: &Value) -> Result<Vec<Finding>, Error> {
        let Some(resolver) = self.resolver.clone() else {
            return Err(Error::Config(
                "alert.MXRecordChanged needs a DNS resolver: register \
                 MXRecordChanged::with_resolver(<your MxResolver>) in the alert catalogue"
                    .into(),
            ));
        };
        let graph = ctx.handle.graph();
        let domains: Vec<String> = graph
            .directory()
            .domains()
            .select(["id", "isVerified"])
            .await?
            .into_iter()
            .filter(|d| d.is_verified == Some(true))
            .map(|d| d.id.to_ascii_lowercase())
            .filter(|d| !d.ends_with(".onmicrosoft.com") && d != "onmicrosoft.com")
            .collect();
        let concurrency = ctx.handle.cipp().concurrency().max(1);
        let mut out: Vec<Finding> = futures::stream::iter(domains)
            .map(|domain| {
                let resolver = resolver.clone();
                async move {
                    let expected = async {
                        match graph
                            .directory()
                            .service_configuration_records(&domain)
                            .await
                        {
                            Ok(r) => Ok(r),
                            Err(e) if e.is_not_found() => Ok(Vec::new()),
                            Err(e) => Err(e),
                        }
                    };
                    let (records, actual) =
                        futures::try_join!(expected, resolver.mx_hosts(&domain))?;
                    let expected = host_set(
                        records
                            .iter()
                            .filter(|r| r.is_mx())
                            .filter_map(|r| r.mail_exchange.as_deref()),
                    );
                    let actual = host_set(actual.iter().map(String::as_str));
                    Ok::<_, Error>((domain, expected, actual))
                }
            })
            .buffer_unordered(concurrency)
            .try_filter_map(|(domain, expected, actual)| async move {
                if expected == actual {
                    return Ok(None);
                }
                let shown = |h: &[String]| {
                    if h.is_empty() {
                        "none".to_owned()
                    } else {
                        h.join(", ")
                    }
                };
                Ok(Some(Finding::new(
                    domain.clone(),
                    format!(
                        "{domain}: MX records are [{}], Exchange Online expects [{}]",
                        shown(&actual),
                        shown(&expected)
                    ),
                    json!({"domain": domain, "actualMXRecords": actual, "expectedMXRecords": expected}),
                )))
            })
            .try_collect()
            .await?;
        out.sort_by(|a, b| a.subject.cmp(&b.subject));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_come_in_every_shape_cipp_sends() {
        #[derive(Deserialize)]
        struct L {
            #[serde(deserialize_with = "text_list")]
            v: Vec<String>,
        }
        let read = |v: Value| serde_json::from_value::<L>(json!({ "v": v })).map(|l| l.v);
        assert_eq!(
            read(json!("a@x.com, b@x.com")).unwrap(),
            ["a@x.com", "b@x.com"]
        );
        assert_eq!(read(json!({"value": ["Shared"]})).unwrap(), ["Shared"]);
        assert_eq!(
            read(json!([{"label": "Shared", "value": "Shared"}, "User"])).unwrap(),
            ["Shared", "User"]
        );
        assert!(read(json!(3)).is_err());
        assert_eq!(mailbox_kind("SharedMailbox"), "shared");
        assert_eq!(mailbox_kind("Shared"), "shared");
        assert_eq!(mailbox_kind("Mailbox"), "mailbox");
    }

    #[test]
    fn reasons_leave_out_what_changes_per_request() {
        let body = |rid: &str| {
            json!({"error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges to complete the operation.",
                             "innerError": {"date": "2026-11-27T09:00:00", "request-id": rid, "client-request-id": rid}}})
            .to_string()
        };
        let err = |rid: &str| {
            Error::from(cipp_core::ApiError::from_response(
                cipp_core::TenantId::parse("contoso.com").expect("tenant"),
                "GET /v1.0/organization",
                http::StatusCode::FORBIDDEN,
                &http::HeaderMap::new(),
                body(rid).as_bytes(),
            ))
        };
        let (a, b) = (err("rid-1"), err("rid-2"));
        assert_ne!(
            a.to_string(),
            b.to_string(),
            "the full error names its request"
        );
        assert_eq!(stable_reason(&a), stable_reason(&b));
        assert_eq!(
            stable_reason(&a),
            "403 Authorization_RequestDenied: Insufficient privileges to complete the operation."
        );
    }

    #[test]
    fn host_sets_ignore_case_order_and_dots() {
        assert_eq!(
            host_set(["B.example.", "a.example", "b.example"]),
            ["a.example", "b.example"]
        );
    }
}
