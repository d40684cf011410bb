//! Devices: `DeviceCompliance` (Intune devices marked noncompliant) and
//! `StaleEntraDevices` (Entra ID devices without a sign-in for a number of days). Part of
//! [`super`] (`cipp::alerts::exchange`).

use async_trait::async_trait;
use chrono::Duration;
use cipp_core::Error;
use serde::Deserialize;
use serde_json::{json, Value};

use super::super::{Alert, AlertContext, AlertMeta, Finding};
use super::{bad_input, flag, named, no_input, whole};

/// Not found or not licensed (a tenant without Intune answers 400 or 403): nothing to
/// find, as CIPP.
fn no_intune(e: &Error) -> bool {
    e.is_not_found()
        || e.status()
            .is_some_and(|s| s.as_u16() == 400 || s.as_u16() == 403)
}

// ---- DeviceCompliance -------------------------------------------------------------------

/// `DeviceCompliance`: Intune managed devices whose compliance state is `noncompliant`
/// (`GET deviceManagement/managedDevices?$filter=complianceState eq 'noncompliant'`). One
/// finding per device; the last sync time is left out of the finding so that a device
/// that keeps syncing while noncompliant stays silent. A tenant without Intune has
/// nothing to find.
#[derive(Debug, Clone, Copy)]
pub struct DeviceCompliance;

const COMPLIANCE: AlertMeta = AlertMeta::new(
    "DeviceCompliance",
    "Alert on device compliance issues",
    "4h",
    "GET deviceManagement/managedDevices?$filter=complianceState eq 'noncompliant'",
);

#[async_trait]
impl Alert for DeviceCompliance {
    fn meta(&self) -> &AlertMeta {
        &COMPLIANCE
    }

    fn validate(&self, input: &Value) -> Result<(), Error> {
        no_input(&COMPLIANCE, input)
    }

    async fn evaluate(&self, ctx: &AlertContext, _input: &Value) -> Result<Vec<Finding>, Error> {
        let fields = [
            "id",
            "deviceName",
            "managedDeviceOwnerType",
            "complianceState",
            "userPrincipalName",
            "operatingSystem",
        ];
        let devices = match ctx
            .handle
            .graph()
            .managed_devices()
            .noncompliant(&fields)
            .await
        {
            Ok(d) => d,
            Err(e) if no_intune(&e) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut out: Vec<Finding> = devices
            .into_iter()
            .filter(|d| !d.id.is_empty())
            .map(|d| {
                let name = d.device_name.clone().unwrap_or_else(|| d.id.clone());
                let owner = d.extra.get("managedDeviceOwnerType").cloned();
                Finding::new(
                    d.id.to_ascii_lowercase(),
                    match d.user_principal_name.as_deref().filter(|u| !u.is_empty()) {
                        Some(u) => format!("Device {name} of {u} is not compliant"),
                        None => format!("Device {name} is not compliant"),
                    },
                    json!({
                        "id": d.id,
                        "deviceName": d.device_name,
                        "managedDeviceOwnerType": owner,
                        "complianceState": d.compliance_state,
                        "userPrincipalName": d.user_principal_name,
                        "operatingSystem": d.operating_system,
                    }),
                )
            })
            .collect();
        out.sort_by(|a, b| a.subject.cmp(&b.subject));
        Ok(out)
    }
}

// ---- StaleEntraDevices ---------------------------------------------------------------

/// `StaleEntraDevices`: Entra ID devices that have not signed in for
/// `DaysSinceLastActivity` days (default 90), optionally only enabled ones
/// (`ExcludeDisabled`, filtered by Graph). A device that never signed in is stale too,
/// unless it was registered within the window (CIPP flags it at once; a device registered
/// yesterday is not stale). A bare `true` means `ExcludeDisabled` (older CIPP).
///
/// The finding names the last sign-in date, not a day count, so an unchanged device stays
/// silent.
#[derive(Debug, Clone, Copy)]
pub struct StaleEntraDevices;

const STALE: AlertMeta = AlertMeta::new(
    "StaleEntraDevices",
    "Alert on stale Entra devices that have not been active for X days",
    "1d",
    "GET devices (approximateLastSignInDateTime)",
)
.inputs(&["DaysSinceLastActivity", "ExcludeDisabled"]);

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct StaleInput {
    #[serde(rename = "DaysSinceLastActivity", default, deserialize_with = "whole")]
    days: Option<i64>,
    #[serde(rename = "ExcludeDisabled", default, deserialize_with = "flag")]
    exclude_disabled: Option<bool>,
}

impl StaleEntraDevices {
    fn input(input: &Value) -> Result<(i64, bool), Error> {
        let i: StaleInput = super::super::input(&STALE, &named(input, "ExcludeDisabled"))?;
        let days = i.days.unwrap_or(90);
        if !(1..=36500).contains(&days) {
            return Err(bad_input(
                &STALE,
                format!("DaysSinceLastActivity `{days}` is out of range: give 1 to 36500 days (default 90)"),
            ));
        }
        Ok((days, i.exclude_disabled.unwrap_or(false)))
    }
}

#[async_trait]
impl Alert for StaleEntraDevices {
    fn meta(&self) -> &AlertMeta {
        &STALE
    }

    fn validate(&self, input: &Value) -> Result<(), Error> {
        StaleEntraDevices::input(input).map(drop)
    }

    async fn evaluate(&self, ctx: &AlertContext, input: &Value) -> Result<Vec<Finding>, Error> {
        let (days, exclude_disabled) = StaleEntraDevices::input(input)?;
        let cutoff = ctx.now - Duration::days(days);
        let mut list = ctx.handle.graph().devices().list().select([
            "id",
            "displayName",
            "accountEnabled",
            "approximateLastSignInDateTime",
            "operatingSystem",
            "trustType",
            "isManaged",
            "registrationDateTime",
            "deviceOwnership",
            "enrollmentType",
        ]);
        if exclude_disabled {
            list = list.filter("accountEnabled eq true");
        }
        let devices = list.await?;
        let mut out = Vec::new();
        for d in devices {
            let Some(id) = d.id.clone().filter(|i| !i.is_empty()) else {
                continue;
            };
            let registered = d
                .extra
                .get("registrationDateTime")
                .and_then(Value::as_str)
                .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                .map(|t| t.with_timezone(&chrono::Utc));
            let last = d.approximate_last_sign_in_date_time;
            let stale = match last {
                Some(t) => t <= cutoff,
                None => registered.is_none_or(|r| r <= cutoff),
            };
            if !stale {
                continue;
            }
            let name = d.display_name.clone().unwrap_or_else(|| id.clone());
            let join_type = match d.trust_type.as_deref() {
                Some("Workplace") => Some("Entra registered"),
                Some("AzureAd") => Some("Entra joined"),
                Some("ServerAd") => Some("Entra hybrid joined"),
                _ => None,
            };
            let since = last.map(|t| t.format("%Y-%m-%d").to_string());
            out.push(Finding::new(
                id.to_ascii_lowercase(),
                match &since {
                    Some(s) => format!(
                        "Device {name} has not been active since {s} (more than {days} days)"
                    ),
                    None => format!("Device {name} has never signed in"),
                },
                json!({
                    "DeviceName": d.display_name,
                    "Id": id,
                    "deviceOwnership": d.extra.get("deviceOwnership"),
                    "operatingSystem": d.operating_system,
                    "enrollmentType": d.extra.get("enrollmentType"),
                    "Enabled": d.account_enabled,
                    "Managed": d.extra.get("isManaged"),
                    "JoinType": join_type,
                    "lastActivity": last,
                    "RegisteredDateTime": d.extra.get("registrationDateTime"),
                }),
            ));
        }
        out.sort_by(|a, b| a.subject.cmp(&b.subject));
        Ok(out)
    }
}
