//! Standards over many objects, judged against a clock: inactive guests
//! (`DisableGuests`), inactive members (`DisableInactiveUsers`) and stale devices
//! (`StaleEntraDevices`). Each reports the offending objects (sorted) as its current state
//! and none as expected; remediation disables each one (users: sign-in blocked; devices:
//! `accountEnabled` false), never deletes.
//!
//! The clock is the standard's own (`with_clock`; the catalogue's use the system clock), so
//! a check is reproducible in tests. Accounts an administrator enabled again in the last
//! seven days (`Enable account` in the directory audit log) are left alone, as in CIPP.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use cipp_core::{Clock, Error, SystemClock};
use cipp_graph::users::UserRef;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{de, invalid, timestamp};
use crate::standards::model::{
    Category, Check, Impact, Mode, Standard, StandardMeta, TenantTarget,
};
use crate::standards::read::{GraphListing, Read, Snapshot};
use crate::standards::setting::typed;

pub(super) fn standards() -> Vec<Arc<dyn Standard>> {
    vec![
        Arc::new(DisableGuests::new()),
        Arc::new(DisableInactiveUsers::new()),
        Arc::new(StaleEntraDevices::new()),
    ]
}

const ENTRA_P1: &[&str] = &["AAD_PREMIUM", "AAD_PREMIUM_P2"];

fn users() -> Read {
    Read::GraphList(GraphListing::EnabledUsers)
}

fn audits() -> Read {
    Read::GraphList(GraphListing::EnabledAccountAudits)
}

fn devices() -> Read {
    Read::GraphList(GraphListing::Devices)
}

/// Ids of the accounts enabled again since `since` (`Enable account` audit records).
fn recently_enabled(audits: &Value, since: DateTime<Utc>) -> Vec<String> {
    audits
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["activityDisplayName"] == json!("Enable account"))
        .filter(|a| timestamp(&a["activityDateTime"]).is_some_and(|t| t >= since))
        .filter_map(|a| a["targetResources"][0]["id"].as_str())
        .map(str::to_ascii_lowercase)
        .collect()
}

/// The cut-off `days` before now (saturating: an absurd count never panics).
fn cutoff(clock: &dyn Clock, days: i64) -> DateTime<Utc> {
    let now = clock.now();
    Duration::try_days(days)
        .and_then(|d| now.checked_sub_signed(d))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

fn eq_ci(v: &Value, s: &str) -> bool {
    v.as_str().is_some_and(|x| x.eq_ignore_ascii_case(s))
}

/// A user as an offending object: id, UPN, display name, created, last successful sign-in.
fn user_row(u: &Value) -> Value {
    json!({"id": u["id"], "userPrincipalName": u["userPrincipalName"], "displayName": u["displayName"],
        "createdDateTime": u["createdDateTime"],
        "lastSuccessfulSignInDateTime": u["signInActivity"]["lastSuccessfulSignInDateTime"]})
}

fn sorted_by(mut rows: Vec<Value>, key: &str) -> Vec<Value> {
    rows.sort_by_key(|r| r[key].as_str().unwrap_or_default().to_ascii_lowercase());
    rows
}

async fn block_sign_in(target: &TenantTarget, rows: &[Value]) -> Result<(), Error> {
    for r in rows {
        let id = r["id"].as_str().unwrap_or_default();
        target
            .graph
            .users()
            .set_sign_in(&UserRef::parse(id)?, false)
            .await?;
    }
    Ok(())
}

// ---- DisableGuests

/// Settings of `DisableGuests`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct GuestSettings {
    /// Days without a successful sign-in (default 90; 1–3650).
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub days: Option<i64>,
}

/// `DisableGuests`: blocks sign-in for enabled guests created and last signed in more than
/// `days` ago (guests that never signed in are left alone, as in CIPP).
pub struct DisableGuests {
    meta: StandardMeta,
    clock: Arc<dyn Clock>,
}

impl Default for DisableGuests {
    fn default() -> Self {
        DisableGuests::new()
    }
}

impl DisableGuests {
    /// The standard on the system clock.
    pub fn new() -> Self {
        DisableGuests::with_clock(Arc::new(SystemClock))
    }

    /// The standard judging inactivity against `clock`.
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        DisableGuests {
            meta: StandardMeta {
                name: "DisableGuests",
                category: Category::Entra,
                impact: Impact::Medium,
                label: "Disable Guest accounts that have not logged on for a number of days",
                help: "Blocks login for guest users that have not logged in for a number of days",
                tags: &["ZTNA21858"],
                capabilities: ENTRA_P1,
                modes: Mode::ALL,
                multiple: false,
                reads_doc: "GET users?$filter=accountEnabled eq true&$select=…,signInActivity; GET auditLogs/directoryAudits (Enable account)",
                writes_doc: "PATCH users/{id} {accountEnabled: false} for each inactive guest",
            },
            clock,
        }
    }

    fn days(s: &GuestSettings) -> i64 {
        s.days.unwrap_or(90)
    }

    /// The inactive guests, sorted by UPN.
    pub fn offending(&self, days: i64, snapshot: &Snapshot) -> Result<Vec<Value>, Error> {
        let cut = cutoff(&*self.clock, days);
        let skip = recently_enabled(snapshot.get(&audits())?, cutoff(&*self.clock, 7));
        let rows = snapshot
            .get(&users())?
            .as_array()
            .into_iter()
            .flatten()
            .filter(|u| eq_ci(&u["userType"], "Guest") && u["accountEnabled"] == json!(true))
            .filter(|u| timestamp(&u["createdDateTime"]).is_some_and(|c| c <= cut))
            .filter(|u| {
                timestamp(&u["signInActivity"]["lastSuccessfulSignInDateTime"])
                    .is_some_and(|l| l <= cut)
            })
            .filter(|u| {
                !u["id"]
                    .as_str()
                    .is_some_and(|id| skip.contains(&id.to_ascii_lowercase()))
            })
            .map(user_row)
            .collect();
        Ok(sorted_by(rows, "userPrincipalName"))
    }
}

#[async_trait]
impl Standard for DisableGuests {
    fn meta(&self) -> &StandardMeta {
        &self.meta
    }

    fn validate(&self, settings: &Value) -> Result<(), Error> {
        let s: GuestSettings = typed(&self.meta, settings)?;
        let d = Self::days(&s);
        if !(1..=3650).contains(&d) {
            return Err(invalid(
                self.meta.name,
                "days",
                format!("{d} days: give 1 to 3650"),
            ));
        }
        Ok(())
    }

    fn reads(&self, _: &Value) -> Vec<Read> {
        vec![users(), audits()]
    }

    fn check(&self, settings: &Value, snapshot: &Snapshot) -> Result<Check, Error> {
        let s: GuestSettings = typed(&self.meta, settings)?;
        let days = Self::days(&s);
        let rows = self.offending(days, snapshot)?;
        Ok(Check::evaluated(
            json!({"GuestsDisabledAfterDays": days, "GuestsDisabledAccountCount": rows.len(),
                   "GuestsDisabledAccountDetails": rows}),
            json!({"GuestsDisabledAfterDays": days, "GuestsDisabledAccountCount": 0,
                   "GuestsDisabledAccountDetails": []}),
        ))
    }

    async fn remediate(
        &self,
        settings: &Value,
        snapshot: &Snapshot,
        target: &TenantTarget,
    ) -> Result<(), Error> {
        let s: GuestSettings = typed(&self.meta, settings)?;
        block_sign_in(target, &self.offending(Self::days(&s), snapshot)?).await
    }
}

// ---- DisableInactiveUsers

/// Settings of `DisableInactiveUsers`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct InactiveUserSettings {
    /// Days without a successful sign-in (default 180; at least 30, at most 3650).
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub days: Option<i64>,
}

/// `DisableInactiveUsers`: blocks sign-in for enabled cloud-only members created more than
/// `days` ago whose last successful sign-in is older than that, or who never signed in.
/// Synchronised users and users without sign-in activity data are skipped.
pub struct DisableInactiveUsers {
    meta: StandardMeta,
    clock: Arc<dyn Clock>,
}

impl Default for DisableInactiveUsers {
    fn default() -> Self {
        DisableInactiveUsers::new()
    }
}

impl DisableInactiveUsers {
    /// The standard on the system clock.
    pub fn new() -> Self {
        DisableInactiveUsers::with_clock(Arc::new(SystemClock))
    }

    /// The standard judging inactivity against `clock`.
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        DisableInactiveUsers {
            meta: StandardMeta {
                name: "DisableInactiveUsers",
                category: Category::Entra,
                impact: Impact::High,
                label: "Disable Member accounts that have not logged on for a number of days",
                help: "Blocks login for cloud-only member users that have not signed in for a configurable number of days (minimum 30). Includes accounts that have never signed in when the account is older than the threshold. Hybrid (on-premises synced) users are skipped. Users without sign-in activity data are not disabled.",
                tags: &["CMMC (IA.L2-3.5.6)", "NIST SP 800-171 (3.5.6)"],
                capabilities: ENTRA_P1,
                modes: Mode::ALL,
                multiple: false,
                reads_doc: "GET users?$filter=accountEnabled eq true&$select=…,signInActivity; GET auditLogs/directoryAudits (Enable account)",
                writes_doc: "PATCH users/{id} {accountEnabled: false} for each inactive member",
            },
            clock,
        }
    }

    fn days(s: &InactiveUserSettings) -> i64 {
        s.days.unwrap_or(180)
    }

    /// The inactive members, sorted by UPN, each with `NeverSignedIn`.
    pub fn offending(&self, days: i64, snapshot: &Snapshot) -> Result<Vec<Value>, Error> {
        let cut = cutoff(&*self.clock, days);
        let skip = recently_enabled(snapshot.get(&audits())?, cutoff(&*self.clock, 7));
        let rows = snapshot
            .get(&users())?
            .as_array()
            .into_iter()
            .flatten()
            .filter(|u| eq_ci(&u["userType"], "Member") && u["accountEnabled"] == json!(true))
            .filter(|u| u["onPremisesSyncEnabled"] != json!(true))
            .filter(|u| timestamp(&u["createdDateTime"]).is_some_and(|c| c <= cut))
            .filter(|u| u["signInActivity"].is_object())
            .filter_map(|u| {
                let last = &u["signInActivity"]["lastSuccessfulSignInDateTime"];
                let never = timestamp(last).is_none();
                let stale = never || timestamp(last).is_some_and(|l| l <= cut);
                stale.then(|| {
                    let mut row = user_row(u);
                    row["NeverSignedIn"] = json!(never);
                    row
                })
            })
            .filter(|r| {
                !r["id"]
                    .as_str()
                    .is_some_and(|id| skip.contains(&id.to_ascii_lowercase()))
            })
            .collect();
        Ok(sorted_by(rows, "userPrincipalName"))
    }
}

#[async_trait]
impl Standard for DisableInactiveUsers {
    fn meta(&self) -> &StandardMeta {
        &self.meta
    }

    fn validate(&self, settings: &Value) -> Result<(), Error> {
        let s: InactiveUserSettings = typed(&self.meta, settings)?;
        let d = Self::days(&s);
        if !(30..=3650).contains(&d) {
            return Err(invalid(
                self.meta.name,
                "days",
                format!("{d} days: the minimum is 30 (so that a mistake cannot disable everyone) and the maximum 3650"),
            ));
        }
        Ok(())
    }

    fn reads(&self, _: &Value) -> Vec<Read> {
        vec![users(), audits()]
    }

    fn check(&self, settings: &Value, snapshot: &Snapshot) -> Result<Check, Error> {
        let s: InactiveUserSettings = typed(&self.meta, settings)?;
        let days = Self::days(&s);
        let rows = self.offending(days, snapshot)?;
        let never = rows
            .iter()
            .filter(|r| r["NeverSignedIn"] == json!(true))
            .count();
        Ok(Check::evaluated(
            json!({"UsersDisabledAfterDays": days, "UsersDisabledAccountCount": rows.len(),
                   "UsersStaleSignInCount": rows.len() - never, "UsersNeverSignedInCount": never,
                   "UsersDisabledAccountDetails": rows}),
            json!({"UsersDisabledAfterDays": days, "UsersDisabledAccountCount": 0,
                   "UsersStaleSignInCount": 0, "UsersNeverSignedInCount": 0,
                   "UsersDisabledAccountDetails": []}),
        ))
    }

    async fn remediate(
        &self,
        settings: &Value,
        snapshot: &Snapshot,
        target: &TenantTarget,
    ) -> Result<(), Error> {
        let s: InactiveUserSettings = typed(&self.meta, settings)?;
        block_sign_in(target, &self.offending(Self::days(&s), snapshot)?).await
    }
}

// ---- StaleEntraDevices

/// Settings of `StaleEntraDevices`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct StaleDeviceSettings {
    /// Days since the device's last sign-in after which it is stale (required, at least
    /// 30).
    #[serde(
        rename = "deviceAgeThreshold",
        default,
        deserialize_with = "de::opt_i64"
    )]
    pub device_age_threshold: Option<i64>,
}

/// `StaleEntraDevices`: no enabled device whose approximate last sign-in is older than the
/// threshold (devices that never signed in are not judged). Remediation disables each
/// stale device — the first step of Microsoft's stale-device cleanup; deleting is left to
/// an administrator. CIPP offers report and alert only for this standard; here remediate
/// is offered too and only disables.
pub struct StaleEntraDevices {
    meta: StandardMeta,
    clock: Arc<dyn Clock>,
}

impl Default for StaleEntraDevices {
    fn default() -> Self {
        StaleEntraDevices::new()
    }
}

impl StaleEntraDevices {
    /// The standard on the system clock.
    pub fn new() -> Self {
        StaleEntraDevices::with_clock(Arc::new(SystemClock))
    }

    /// The standard judging staleness against `clock`.
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        StaleEntraDevices {
            meta: StandardMeta {
                name: "StaleEntraDevices",
                category: Category::Entra,
                impact: Impact::High,
                label: "Cleanup stale Entra devices",
                help: "Cleans up Entra devices that have not connected/signed in for the specified number of days. Remediation disables the stale devices (it never deletes them).",
                tags: &["Essential 8 (1501)", "NIST CSF 2.0 (ID.AM-08)", "NIST CSF 2.0 (PR.PS-03)"],
                capabilities: &["INTUNE_A", "MDM_Services", "EMS", "SCCM", "MICROSOFTINTUNEPLAN1"],
                modes: Mode::ALL,
                multiple: false,
                reads_doc: "GET devices?$select=id,displayName,accountEnabled,approximateLastSignInDateTime,…",
                writes_doc: "PATCH devices/{id} {accountEnabled: false} for each stale device",
            },
            clock,
        }
    }

    fn threshold(s: &StaleDeviceSettings) -> i64 {
        s.device_age_threshold.unwrap_or(0)
    }

    /// The stale enabled devices, sorted by display name.
    pub fn offending(&self, threshold: i64, snapshot: &Snapshot) -> Result<Vec<Value>, Error> {
        let cut = cutoff(&*self.clock, threshold);
        let rows = snapshot
            .get(&devices())?
            .as_array()
            .into_iter()
            .flatten()
            .filter(|d| d["accountEnabled"] != json!(false))
            .filter(|d| timestamp(&d["approximateLastSignInDateTime"]).is_some_and(|t| t < cut))
            .map(|d| {
                json!({"id": d["id"], "displayName": d["displayName"],
                    "approximateLastSignInDateTime": d["approximateLastSignInDateTime"],
                    "operatingSystem": d["operatingSystem"], "trustType": d["trustType"]})
            })
            .collect();
        Ok(sorted_by(rows, "displayName"))
    }
}

#[async_trait]
impl Standard for StaleEntraDevices {
    fn meta(&self) -> &StandardMeta {
        &self.meta
    }

    fn validate(&self, settings: &Value) -> Result<(), Error> {
        let s: StaleDeviceSettings = typed(&self.meta, settings)?;
        match s.device_age_threshold {
            Some(d) if (30..=3650).contains(&d) => Ok(()),
            Some(d) => Err(invalid(
                self.meta.name,
                "deviceAgeThreshold",
                format!("{d} days: give 30 to 3650 (do not set below 30)"),
            )),
            None => Err(invalid(
                self.meta.name,
                "deviceAgeThreshold",
                "give the days before a device is stale (at least 30)",
            )),
        }
    }

    fn reads(&self, _: &Value) -> Vec<Read> {
        vec![devices()]
    }

    fn check(&self, settings: &Value, snapshot: &Snapshot) -> Result<Check, Error> {
        let s: StaleDeviceSettings = typed(&self.meta, settings)?;
        let threshold = Self::threshold(&s);
        let rows = self.offending(threshold, snapshot)?;
        Ok(Check::evaluated(
            json!({"StaleDevicesCount": rows.len(), "StaleDevices": rows, "DeviceAgeThreshold": threshold}),
            json!({"StaleDevicesCount": 0, "StaleDevices": [], "DeviceAgeThreshold": threshold}),
        ))
    }

    async fn remediate(
        &self,
        settings: &Value,
        snapshot: &Snapshot,
        target: &TenantTarget,
    ) -> Result<(), Error> {
        let s: StaleDeviceSettings = typed(&self.meta, settings)?;
        for d in self.offending(Self::threshold(&s), snapshot)? {
            let id = d["id"].as_str().unwrap_or_default();
            target
                .graph
                .devices()
                .set_account_enabled(id, false)
                .await?;
        }
        Ok(())
    }
}
