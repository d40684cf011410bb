//! Alert state: what each alert found in each tenant, so that an alert notifies once per
//! new or changed finding (and, when asked, once when it is resolved), and snoozes.
//!
//! An alert run reports rows, each with a subject (a stable key of what it is about: a
//! user, a certificate, a licence) and its content. [`AlertStateStore::observe`] compares
//! them with the state of that (tenant, alert) and returns the [`Change`]s: `Raised` for a
//! subject seen for the first time (or again after it was resolved), `Changed` when its
//! content differs, `Resolved` for a subject no longer reported. Unchanged rows give
//! nothing, so a recurring alert is silent until something changes. A snoozed subject
//! ([`AlertStateStore::snooze`], for some days or for ever) gives no change while snoozed,
//! but its state is kept up to date. Every store applies the one rule [`next_state`], so
//! several workers on one PostgreSQL database agree.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::SchedulerError;

/// One row an alert found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Observation {
    /// What the row is about, stable across runs (a user id, a certificate id, …).
    pub subject: String,
    /// The row.
    pub row: Value,
}

/// The state of one (tenant, alert, subject).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertRecord {
    /// Tenant.
    pub tenant: String,
    /// Alert name (`ApnCertExpiry`).
    pub alert: String,
    /// Subject.
    pub subject: String,
    /// SHA-256 of the row's canonical JSON.
    pub hash: String,
    /// The last row seen.
    pub row: Value,
    /// When first seen (this time round: a resolved subject seen again starts anew).
    pub first_seen: DateTime<Utc>,
    /// When last seen.
    pub last_seen: DateTime<Utc>,
    /// When it stopped being reported (`None`: still reported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<DateTime<Utc>>,
    /// Snoozed until (`DateTime::<Utc>::MAX_UTC`: for ever).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snoozed_until: Option<DateTime<Utc>>,
}

impl AlertRecord {
    /// A stable fingerprint of the subject: tenant, alert and subject.
    pub fn fingerprint(&self) -> String {
        crate::notify::fingerprint(&[&self.tenant, &self.alert, &self.subject])
    }

    /// Whether it is snoozed at `now`.
    pub fn snoozed(&self, now: DateTime<Utc>) -> bool {
        self.snoozed_until.is_some_and(|u| u > now)
    }
}

/// What changed for one subject.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "camelCase")]
#[non_exhaustive]
pub enum Change {
    /// First seen (or seen again after being resolved).
    Raised(AlertRecord),
    /// Seen before, with other content.
    Changed(AlertRecord),
    /// No longer reported.
    Resolved(AlertRecord),
}

impl Change {
    /// The record.
    pub fn record(&self) -> &AlertRecord {
        match self {
            Change::Raised(r) | Change::Changed(r) | Change::Resolved(r) => r,
        }
    }

    /// `raised`, `changed` or `resolved`.
    pub fn label(&self) -> &'static str {
        match self {
            Change::Raised(_) => "raised",
            Change::Changed(_) => "changed",
            Change::Resolved(_) => "resolved",
        }
    }
}

/// SHA-256 (hex) of a row's canonical JSON (object keys sorted).
pub fn row_hash(row: &Value) -> String {
    fn canonical(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let sorted: BTreeMap<&String, Value> =
                    m.iter().map(|(k, v)| (k, canonical(v))).collect();
                serde_json::to_value(sorted).unwrap_or(Value::Null)
            }
            Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
            other => other.clone(),
        }
    }
    let text = canonical(row).to_string();
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The one rule every store applies: from the previous records of a (tenant, alert) and a
/// run's observations at `now`, the records to keep and the changes to report (snoozed
/// subjects' changes left out). Observations with the same subject: the last one counts.
pub fn next_state(
    tenant: &str,
    alert: &str,
    previous: &[AlertRecord],
    observations: &[Observation],
    now: DateTime<Utc>,
) -> (Vec<AlertRecord>, Vec<Change>) {
    let mut seen: BTreeMap<&str, &Observation> = BTreeMap::new();
    for o in observations {
        seen.insert(o.subject.as_str(), o);
    }
    let prev: BTreeMap<&str, &AlertRecord> =
        previous.iter().map(|r| (r.subject.as_str(), r)).collect();
    let mut records = Vec::new();
    let mut changes = Vec::new();
    for (subject, o) in &seen {
        let hash = row_hash(&o.row);
        let old = prev.get(subject);
        let mut rec = AlertRecord {
            tenant: tenant.to_owned(),
            alert: alert.to_owned(),
            subject: (*subject).to_owned(),
            hash: hash.clone(),
            row: o.row.clone(),
            first_seen: now,
            last_seen: now,
            resolved_at: None,
            snoozed_until: old.and_then(|r| r.snoozed_until),
        };
        let change = match old {
            Some(r) if r.resolved_at.is_none() => {
                rec.first_seen = r.first_seen;
                (r.hash != hash).then(|| Change::Changed(rec.clone()))
            }
            _ => Some(Change::Raised(rec.clone())),
        };
        if let Some(c) = change {
            if !rec.snoozed(now) {
                changes.push(c);
            }
        }
        records.push(rec);
    }
    for (subject, r) in &prev {
        if seen.contains_key(subject) {
            continue;
        }
        let mut rec = (*r).clone();
        if rec.resolved_at.is_none() {
            rec.resolved_at = Some(now);
            if !rec.snoozed(now) {
                changes.push(Change::Resolved(rec.clone()));
            }
        }
        records.push(rec);
    }
    records.sort_by(|a, b| a.subject.cmp(&b.subject));
    (records, changes)
}

/// Where alert state lives.
#[async_trait]
pub trait AlertStateStore: Send + Sync + 'static {
    /// Records a run's observations of `alert` in `tenant` at `now` and returns what
    /// changed ([`next_state`]).
    async fn observe(
        &self,
        tenant: &str,
        alert: &str,
        observations: &[Observation],
        now: DateTime<Utc>,
    ) -> Result<Vec<Change>, SchedulerError>;

    /// Snoozes a subject until `until` (`None`: for ever); a subject never seen is an
    /// error naming it.
    async fn snooze(
        &self,
        tenant: &str,
        alert: &str,
        subject: &str,
        until: Option<DateTime<Utc>>,
    ) -> Result<(), SchedulerError>;

    /// The records of `tenant` (every alert), by alert then subject.
    async fn records(&self, tenant: &str) -> Result<Vec<AlertRecord>, SchedulerError>;
}

/// Snooze durations CIPP offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum Snooze {
    /// 7 days.
    Days7,
    /// 14 days.
    Days14,
    /// 30 days.
    Days30,
    /// For ever.
    Forever,
}

impl Snooze {
    /// Until when, from `now` (`None`: for ever).
    pub fn until(self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let days = match self {
            Snooze::Days7 => 7,
            Snooze::Days14 => 14,
            Snooze::Days30 => 30,
            Snooze::Forever => return None,
        };
        now.checked_add_signed(chrono::Duration::days(days))
    }
}

/// The stored value of "snoozed for ever".
pub(crate) fn forever() -> DateTime<Utc> {
    DateTime::<Utc>::MAX_UTC
}

/// How stores key a tenant (tenant ids and domains are case-insensitive).
pub(crate) fn tenant_key(tenant: &str) -> String {
    tenant.to_ascii_lowercase()
}

/// The error for snoozing a subject never seen.
pub(crate) fn not_found(tenant: &str, alert: &str, subject: &str) -> SchedulerError {
    SchedulerError::NotFound(format!(
        "alert {alert} has no subject `{subject}` in tenant {tenant}"
    ))
}

/// A stored record that does not read back: an error naming it, so it can be fixed or
/// deleted by hand.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) fn corrupt(
    tenant: &str,
    alert: &str,
    subject: &str,
    e: impl std::fmt::Display,
) -> SchedulerError {
    SchedulerError::Store(format!(
        "the stored alert state of tenant {tenant}, alert {alert}, subject `{subject}` is not \
         valid ({e}); delete that row of the alert_state table and the subject will be raised \
         again at the next run"
    ))
}

/// Alert state in memory (tests, one process).
#[derive(Debug, Default)]
pub struct MemoryAlertState {
    inner: Mutex<BTreeMap<(String, String), Vec<AlertRecord>>>,
}

impl MemoryAlertState {
    /// Empty.
    pub fn new() -> Self {
        MemoryAlertState::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<(String, String), Vec<AlertRecord>>> {
        match self.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }
}

fn key(tenant: &str, alert: &str) -> (String, String) {
    (tenant_key(tenant), alert.to_owned())
}

#[async_trait]
impl AlertStateStore for MemoryAlertState {
    async fn observe(
        &self,
        tenant: &str,
        alert: &str,
        observations: &[Observation],
        now: DateTime<Utc>,
    ) -> Result<Vec<Change>, SchedulerError> {
        let mut g = self.lock();
        let k = key(tenant, alert);
        let prev = g.get(&k).cloned().unwrap_or_default();
        let (records, changes) = next_state(tenant, alert, &prev, observations, now);
        g.insert(k, records);
        Ok(changes)
    }

    async fn snooze(
        &self,
        tenant: &str,
        alert: &str,
        subject: &str,
        until: Option<DateTime<Utc>>,
    ) -> Result<(), SchedulerError> {
        let mut g = self.lock();
        let rec = g
            .get_mut(&key(tenant, alert))
            .and_then(|v| v.iter_mut().find(|r| r.subject == subject))
            .ok_or_else(|| not_found(tenant, alert, subject))?;
        rec.snoozed_until = Some(until.unwrap_or_else(forever));
        Ok(())
    }

    async fn records(&self, tenant: &str) -> Result<Vec<AlertRecord>, SchedulerError> {
        let t = tenant_key(tenant);
        Ok(self
            .lock()
            .iter()
            .filter(|((tk, _), _)| *tk == t)
            .flat_map(|(_, v)| v.iter().cloned())
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(h: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(1_800_000_000 + h * 3600, 0).unwrap_or_default()
    }

    fn obs(subject: &str, days: i64) -> Observation {
        Observation {
            subject: subject.into(),
            row: json!({"subject": subject, "daysLeft": days}),
        }
    }

    #[tokio::test]
    async fn raised_once_changed_resolved_and_raised_again() {
        let s = MemoryAlertState::new();
        let c = s.observe("t", "A", &[obs("x", 20)], at(0)).await.unwrap();
        assert!(matches!(c.as_slice(), [Change::Raised(_)]));
        assert!(s
            .observe("t", "A", &[obs("x", 20)], at(1))
            .await
            .unwrap()
            .is_empty());
        let c = s.observe("t", "A", &[obs("x", 19)], at(2)).await.unwrap();
        assert!(matches!(c.as_slice(), [Change::Changed(r)] if r.first_seen == at(0)));
        let c = s.observe("t", "A", &[], at(3)).await.unwrap();
        assert!(matches!(c.as_slice(), [Change::Resolved(r)] if r.resolved_at == Some(at(3))));
        assert!(s.observe("t", "A", &[], at(4)).await.unwrap().is_empty());
        let c = s.observe("t", "A", &[obs("x", 5)], at(5)).await.unwrap();
        assert!(matches!(c.as_slice(), [Change::Raised(r)] if r.first_seen == at(5)));
    }

    #[tokio::test]
    async fn snoozed_subjects_are_silent_until_the_snooze_ends() {
        let s = MemoryAlertState::new();
        s.observe("t", "A", &[obs("x", 20), obs("y", 1)], at(0))
            .await
            .unwrap();
        s.snooze("t", "A", "x", Snooze::Days7.until(at(0)))
            .await
            .unwrap();
        s.snooze("t", "A", "y", Snooze::Forever.until(at(0)))
            .await
            .unwrap();
        assert!(s.snooze("t", "A", "nobody", None).await.is_err());
        let c = s
            .observe("t", "A", &[obs("x", 19), obs("y", 0)], at(24))
            .await
            .unwrap();
        assert!(c.is_empty(), "{c:?}");
        // After 7 days the next change of x notifies; y stays snoozed for ever.
        let c = s
            .observe("t", "A", &[obs("x", 3), obs("y", -5)], at(24 * 8))
            .await
            .unwrap();
        assert_eq!(c.len(), 1, "{c:?}");
        assert_eq!(c[0].record().subject, "x");
        // Tenants and alerts are separate.
        assert!(s.records("other").await.unwrap().is_empty());
        assert_eq!(s.records("T").await.unwrap().len(), 2);
    }

    #[test]
    fn row_hash_ignores_key_order() {
        assert_eq!(
            row_hash(&json!({"a": 1, "b": [1, {"c": 2, "d": 3}]})),
            row_hash(&json!({"b": [1, {"d": 3, "c": 2}], "a": 1}))
        );
        assert_ne!(row_hash(&json!({"a": 1})), row_hash(&json!({"a": 2})));
    }
}
