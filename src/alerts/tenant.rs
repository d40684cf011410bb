//! Tenant-wide alerts: app registration credentials (`AppSecretExpiry`,
//! `AppCertificateExpiry`, `LongLivedAppCredentials`), licences (`ExpiringLicenses`,
//! `UnusedLicenses`, `OverusedLicenses`, `LicenseAssignmentErrors`), Conditional Access and
//! security defaults (`NoCAConfig`, `SecDefaultsDisabled`, `ReportOnlyCA`), directory sync
//! (`EntraConnectSyncStatus`) and Secure Score (`SecureScore`).
//!
//! Each follows CIPP's `Get-CIPPAlert<Name>`: the same reads, the same conditions. Where
//! CIPP logs an error and reports nothing, the run fails with the service's error instead,
//! so a missing permission is seen. Findings name a stable subject (an application and key
//! id, a subscription, a SKU, a user and SKU, a policy) and carry dates rather than
//! countdowns, so an unchanged finding stays silent from one run to the next.
//!
//! Licence alerts leave out CIPP's default excluded licences (free and viral trial SKUs
//! such as Power Automate Free, Teams Exploratory, Microsoft Stream); licences are named by
//! their part number.

use std::future::IntoFuture;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use cipp_core::Error;
use cipp_graph::model::{ConditionalAccessPolicy, PolicyState, SubscribedSku};
use cipp_graph::posture::{self, AppCredential, AppRegistration, Posture};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::{json, Map, Value};

use super::{Alert, AlertContext, AlertMeta, Finding};

/// Every tenant alert.
pub fn alerts() -> Vec<Arc<dyn Alert>> {
    vec![
        Arc::new(AppSecretExpiry),
        Arc::new(AppCertificateExpiry),
        Arc::new(LongLivedAppCredentials),
        Arc::new(ExpiringLicenses),
        Arc::new(UnusedLicenses),
        Arc::new(OverusedLicenses),
        Arc::new(LicenseAssignmentErrors),
        Arc::new(NoCAConfig),
        Arc::new(SecDefaultsDisabled),
        Arc::new(ReportOnlyCA),
        Arc::new(EntraConnectSyncStatus),
        Arc::new(SecureScore),
    ]
}

// ---- shared ---------------------------------------------------------------------------

/// The most days (100 years) any day count may be.
const MAX_DAYS: f64 = 36_500.0;

/// CIPP's default excluded licences (`Config/ExcludeSkuList.JSON`): free, viral and trial
/// SKUs that would otherwise always look unused.
const EXCLUDED_SKUS: &[&str] = &[
    "90d8b3f8-712e-4f7b-aa1e-62e7ae6cbe96", // Business Apps (free)
    "f30db892-07e9-47e9-837c-80727f46fd3d", // Power Automate Free
    "16ddbbfc-09ea-4de2-b1d7-312db6112d70", // Teams (Free)
    "a403ebcc-fae0-4ca2-8c8c-7a907fd6c235", // Fabric (Free)
    "61e6bd70-fbdb-4deb-82ea-912842f39431", // Dynamics 365 Customer Service Insights Trial
    "bc946dac-7877-4271-b2f7-99d2db13cd2c", // Dynamics 365 Customer Voice Trial
    "338148b6-1b11-4102-afb9-f92b6cdc0f8d", // Dynamics 365 P1 Trial for Information Workers
    "fcecd1f9-a91e-488d-a918-a96cdb6ce2b0", // Dynamics AX7 User Trial
    "dcb1a3ae-b33f-4487-846a-a640262fadf4", // Power Apps Plan 2 Trial
    "74fbf1bb-47c6-4796-9623-77dc7371723b", // Teams Trial
    "606b54a9-78d8-4298-ad8b-df6ef4481c80", // Copilot Studio Viral Trial
    "1f2f344a-700d-42c9-9427-5cea1d5d7ba6", // Microsoft Stream
    "6470687e-a428-4b7a-bef2-8a291ad947c9", // Windows Store for Business
    "710779e8-3d4a-4c88-adb9-386c958d1fdf", // Teams Exploratory
    "8c4ce438-32a7-4ac5-91a6-e22ae08d9c8b", // Rights Management Adhoc
    "5b631642-bd26-49fe-bd20-1daaa972ef80", // Power Apps for Developer
    "6a4a1628-9b9a-424d-bed5-4118f0ede3fd", // Dynamics 365 Business Central for IWs
    "6ec92958-3cc1-49db-95bd-bc6b3798df71", // Dynamics 365 Sales Premium Viral Trial
    "3f9f06f5-3c31-472c-985f-62d9c10ec167", // Power Pages vTrial for Makers
    "9c7bff7a-3715-4da7-88d3-07f57f8d0fb6", // Dynamics 365 Sales Professional Trial
    "8f0c5670-4e56-4892-b06d-91c085d7004f", // App Connect IW
    "87bbbc60-4754-4998-8c88-227dca264858", // Power Apps and Logic Flows
    "e5788282-6381-469f-84f0-3d7d4021d34d", // Office 365 Extra File Storage for GCC
    "99049c9c-6011-4908-bf17-15f496e6519d", // Office 365 Extra File Storage
    "47794cd0-f0e5-45c5-9033-2eb6b5fc84e0", // Communications Credits
];

/// The licence properties the licence alerts read.
const SKU_FIELDS: &[&str] = &["skuId", "skuPartNumber", "consumedUnits", "prepaidUnits"];

/// Service plans that bring Conditional Access (Entra ID P1, P2).
const CA_PLANS: &[&str] = &["AAD_PREMIUM", "AAD_PREMIUM_P2"];

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

fn bad_input(meta: &AlertMeta, message: impl Into<String>) -> Error {
    Error::invalid_input(meta.command(), message)
}

/// A number as CIPP sends one: a JSON number, a numeric string, an empty string (none) or
/// a picker option `{"value": …, "label": …}`.
fn number(v: &Value) -> Result<Option<f64>, String> {
    let n = match v {
        Value::Null => return Ok(None),
        Value::Number(n) => n.as_f64(),
        Value::String(s) if s.trim().is_empty() => return Ok(None),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        Value::Object(m) if m.contains_key("value") => return number(&m["value"]),
        _ => None,
    };
    match n {
        Some(n) if n.is_finite() => Ok(Some(n)),
        _ => Err(format!("`{v}` is not a number")),
    }
}

fn de_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    number(&Value::deserialize(d)?).map_err(D::Error::custom)
}

/// A switch: `true`/`false`, as a string too, or a picker option.
fn de_flag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    fn flag(v: &Value) -> Result<Option<bool>, String> {
        match v {
            Value::Null => Ok(None),
            Value::Bool(b) => Ok(Some(*b)),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Value::String(s) if s.eq_ignore_ascii_case("false") || s.is_empty() => Ok(Some(false)),
            Value::Object(m) if m.contains_key("value") => flag(&m["value"]),
            _ => Err(format!("`{v}` is not true or false")),
        }
    }
    flag(&Value::deserialize(d)?).map_err(D::Error::custom)
}

/// A choice: a string or a picker option `{"value": "percent", "label": …}`.
fn de_choice<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        Value::Object(m) => match m.get("value") {
            Some(Value::String(s)) => Ok(Some(s.clone())),
            _ => Err(D::Error::custom("a choice needs a string `value`")),
        },
        v => Err(D::Error::custom(format!("`{v}` is not a choice"))),
    }
}

/// The input as an object: a bare value (or a picker option) becomes `{name: value}`, as
/// CIPP's single-input alerts send it.
fn named(input: &Value, name: &str) -> Value {
    let bare = match input {
        Value::Number(_) | Value::String(_) | Value::Bool(_) => true,
        Value::Object(m) => m.contains_key("value") && m.contains_key("label"),
        _ => false,
    };
    if bare {
        let mut m = Map::new();
        m.insert(name.to_owned(), input.clone());
        Value::Object(m)
    } else {
        input.clone()
    }
}

/// `n` as a whole number within `range`, or an error naming `field`.
fn whole(
    meta: &AlertMeta,
    field: &str,
    n: f64,
    min: f64,
    max: f64,
    what: &str,
) -> Result<i64, Error> {
    if n.fract() != 0.0 || n < min || n > max {
        return Err(bad_input(
            meta,
            format!("{field}: `{n}` is not a whole number of {what} from {min} to {max}"),
        ));
    }
    // In range and whole, so the conversion is exact.
    Ok(n as i64)
}

/// Within 30 days ahead and not more than 7 days past, as CIPP's expiry alerts check.
fn expiring(now: DateTime<Utc>, when: DateTime<Utc>) -> bool {
    when < now + Duration::days(30) && when > now - Duration::days(7)
}

fn day(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

/// CIPP skips Entra Connect's own provisioning app.
fn is_connect_sync(app: &AppRegistration) -> bool {
    app.display_name
        .as_deref()
        .is_some_and(|n| n.to_ascii_lowercase().contains("connectsyncprovisioning"))
}

fn app_name(app: &AppRegistration) -> String {
    app.display_name.clone().unwrap_or_else(|| app.id.clone())
}

fn app_key(app: &AppRegistration) -> &str {
    app.app_id.as_deref().unwrap_or(&app.id)
}

fn credential_key(c: &AppCredential) -> &str {
    c.key_id.as_deref().unwrap_or("")
}

fn licence_name(sku: &SubscribedSku) -> String {
    sku.sku_part_number
        .clone()
        .unwrap_or_else(|| sku.sku_id.to_string())
}

fn excluded(sku: &SubscribedSku) -> bool {
    EXCLUDED_SKUS
        .iter()
        .any(|x| x.eq_ignore_ascii_case(sku.sku_id.as_str()))
}

fn enabled_units(sku: &SubscribedSku) -> i64 {
    sku.prepaid_units
        .as_ref()
        .and_then(|p| p.enabled)
        .unwrap_or(0)
}

/// The tenant's licences, CIPP's excluded ones left out.
async fn licences(ctx: &AlertContext) -> Result<Vec<SubscribedSku>, Error> {
    let skus = ctx
        .handle
        .graph()
        .directory()
        .subscribed_skus()
        .select(SKU_FIELDS.iter().copied())
        .await?;
    Ok(skus.into_iter().filter(|s| !excluded(s)).collect())
}

/// The licences (part numbers, sorted) with enabled seats that bring Conditional Access
/// (Entra ID P1 or P2); empty when the tenant is not licensed for it.
async fn conditional_access_licences(ctx: &AlertContext) -> Result<Vec<String>, Error> {
    let skus = ctx
        .handle
        .graph()
        .directory()
        .subscribed_skus()
        .select(["skuId", "skuPartNumber", "prepaidUnits", "servicePlans"])
        .await?;
    let mut names: Vec<String> = skus
        .iter()
        .filter(|s| enabled_units(s) > 0)
        .filter(|s| {
            posture::service_plans(s).iter().any(|p| {
                p.service_plan_name
                    .as_deref()
                    .is_some_and(|n| CA_PLANS.iter().any(|c| c.eq_ignore_ascii_case(n)))
            })
        })
        .map(licence_name)
        .collect();
    names.sort();
    names.dedup();
    Ok(names)
}

async fn ca_policies(
    ctx: &AlertContext,
    fields: &[&str],
) -> Result<Vec<ConditionalAccessPolicy>, Error> {
    ctx.handle
        .graph()
        .conditional_access()
        .policies()
        .select(fields.iter().copied())
        .await
}

/// A refusal because the tenant lacks the licence for the feature.
fn not_licensed(e: &Error) -> bool {
    e.status()
        .is_some_and(|s| s.as_u16() == 400 || s.as_u16() == 403)
        && e.to_string().to_ascii_lowercase().contains("licen")
}

// ---- application credentials ----------------------------------------------------------

/// `AppSecretExpiry`: a client secret of an app registration expires within 30 days (or
/// expired in the last 7). Entra Connect's provisioning app is left out.
#[derive(Debug, Clone, Copy)]
pub struct AppSecretExpiry;

const SECRETS: AlertMeta = AlertMeta::new(
    "AppSecretExpiry",
    "Alert on expiring application secrets",
    "1d",
    "GET applications?$select=id,appId,displayName,passwordCredentials,keyCredentials",
);

#[async_trait]
impl Alert for AppSecretExpiry {
    fn meta(&self) -> &AlertMeta {
        &SECRETS
    }

    fn validate(&self, input: &Value) -> Result<(), Error> {
        no_input(&SECRETS, input)
    }

    async fn evaluate(&self, ctx: &AlertContext, _input: &Value) -> Result<Vec<Finding>, Error> {
        let apps = Posture::new(ctx.handle.graph()).app_credentials().await?;
        let mut out = Vec::new();
        for app in apps.iter().filter(|a| !is_connect_sync(a)) {
            for c in &app.password_credentials {
                let Some(end) = c.end_date_time.filter(|e| expiring(ctx.now, *e)) else {
                    continue;
                };
                let name = app_name(app);
                let secret = c.display_name.clone().unwrap_or_default();
                out.push(Finding::new(
                    format!("{}:{}", app_key(app), credential_key(c)),
                    format!(
                        "The secret {} of application {name} expires on {}",
                        if secret.is_empty() {
                            credential_key(c)
                        } else {
                            &secret
                        },
                        day(end)
                    ),
                    json!({"appName": name, "appId": app.app_id, "expires": end,
                           "secretName": c.display_name, "secretId": c.key_id}),
                ));
            }
        }
        Ok(out)
    }
}

/// `AppCertificateExpiry`: a certificate of an app registration, or the SAML signing
/// certificate of an enterprise application, expires within 30 days (or expired in the
/// last 7).
#[derive(Debug, Clone, Copy)]
pub struct AppCertificateExpiry;

const CERTIFICATES: AlertMeta = AlertMeta::new(
    "AppCertificateExpiry",
    "Alert on expiring application certificates",
    "1d",
    "GET applications (keyCredentials); GET servicePrincipals?$select=id,appId,displayName,preferredTokenSigningKeyEndDateTime",
);

#[async_trait]
impl Alert for AppCertificateExpiry {
    fn meta(&self) -> &AlertMeta {
        &CERTIFICATES
    }

    fn validate(&self, input: &Value) -> Result<(), Error> {
        no_input(&CERTIFICATES, input)
    }

    async fn evaluate(&self, ctx: &AlertContext, _input: &Value) -> Result<Vec<Finding>, Error> {
        let p = Posture::new(ctx.handle.graph());
        let (apps, sps) = futures::try_join!(
            p.app_credentials().into_future(),
            p.signing_keys().into_future()
        )?;
        let mut out = Vec::new();
        for app in apps.iter().filter(|a| !is_connect_sync(a)) {
            for c in &app.key_credentials {
                let Some(end) = c.end_date_time.filter(|e| expiring(ctx.now, *e)) else {
                    continue;
                };
                let name = app_name(app);
                out.push(Finding::new(
                    format!("app:{}:{}", app_key(app), credential_key(c)),
                    format!(
                        "A certificate of application {name} expires on {}",
                        day(end)
                    ),
                    json!({"displayName": name, "appId": app.app_id, "expires": end,
                           "certificateName": c.display_name, "keyId": c.key_id,
                           "type": "Application"}),
                ));
            }
        }
        for sp in sps {
            let name = sp.display_name.as_deref().unwrap_or(&sp.id);
            if name
                .to_ascii_lowercase()
                .contains("connectsyncprovisioning")
            {
                continue;
            }
            let Some(end) = sp
                .preferred_token_signing_key_end_date_time
                .filter(|e| expiring(ctx.now, *e))
            else {
                continue;
            };
            out.push(Finding::new(
                format!("saml:{}", sp.id),
                format!(
                    "The SAML signing certificate of enterprise application {name} expires on {}",
                    day(end)
                ),
                json!({"displayName": name, "appId": sp.app_id, "servicePrincipalId": sp.id,
                       "expires": end, "type": "SamlServicePrincipal"}),
            ));
        }
        Ok(out)
    }
}

/// `LongLivedAppCredentials`: an app registration secret or certificate, not yet expired,
/// is valid for longer than `InputValue` months (of 30.4375 days) from its start.
#[derive(Debug, Clone, Copy)]
pub struct LongLivedAppCredentials;

const LONG_LIVED: AlertMeta = AlertMeta::new(
    "LongLivedAppCredentials",
    "Alert on long-lived app registration secrets or certificates",
    "1d",
    "GET applications?$select=id,appId,displayName,passwordCredentials,keyCredentials",
)
.inputs(&["InputValue"]);

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct MonthsInput {
    #[serde(rename = "InputValue", default, deserialize_with = "de_number")]
    months: Option<f64>,
}

/// The longest validity allowed, in months.
fn max_months(input: &Value) -> Result<f64, Error> {
    let i: MonthsInput = super::input(&LONG_LIVED, &named(input, "InputValue"))?;
    match i.months {
        None => Err(bad_input(
            &LONG_LIVED,
            "InputValue: give the longest validity allowed, in months (for example 12)",
        )),
        Some(m) if m <= 0.0 || m > 1200.0 => Err(bad_input(
            &LONG_LIVED,
            format!("InputValue: `{m}` is not a number of months above 0 and at most 1200"),
        )),
        Some(m) => Ok(m),
    }
}

#[async_trait]
impl Alert for LongLivedAppCredentials {
    fn meta(&self) -> &AlertMeta {
        &LONG_LIVED
    }

    fn validate(&self, input: &Value) -> Result<(), Error> {
        max_months(input).map(drop)
    }

    async fn evaluate(&self, ctx: &AlertContext, input: &Value) -> Result<Vec<Finding>, Error> {
        let max = max_months(input)?;
        let apps = Posture::new(ctx.handle.graph()).app_credentials().await?;
        let mut out = Vec::new();
        for app in &apps {
            let kinds = [
                ("Secret", &app.password_credentials),
                ("Certificate", &app.key_credentials),
            ];
            for (kind, creds) in kinds {
                for c in creds {
                    let (Some(start), Some(end)) = (c.start_date_time, c.end_date_time) else {
                        continue;
                    };
                    if end <= start || end <= ctx.now {
                        continue;
                    }
                    let days = (end - start).num_seconds() as f64 / 86_400.0;
                    let months = days / 30.4375;
                    if months <= max {
                        continue;
                    }
                    let months = (months * 100.0).round() / 100.0;
                    let name = app_name(app);
                    out.push(Finding::new(
                        format!("{}:{}:{}", app_key(app), kind, credential_key(c)),
                        format!(
                            "The {} {} of application {name} is valid for {months} months ({} to {}), more than {max}",
                            kind.to_ascii_lowercase(),
                            c.display_name.as_deref().unwrap_or(credential_key(c)),
                            day(start),
                            day(end)
                        ),
                        json!({"appDisplayName": name, "appId": app.app_id, "credentialType": kind,
                               "credentialName": c.display_name, "keyId": c.key_id,
                               "startDateTime": start, "endDateTime": end,
                               "validityMonths": months, "maxMonthsAllowed": max}),
                    ));
                }
            }
        }
        Ok(out)
    }
}

// ---- licences ---------------------------------------------------------------------------

/// `ExpiringLicenses`: a subscription of a licence reaches its next lifecycle date
/// (renewal or expiry, `directory/subscriptions` `nextLifecycleDateTime`) in fewer than
/// `ExpiringLicensesDays` days (default 30) and at least `ExpiringLicensesMinDays` (default
/// 0); with `ExpiringLicensesUnassignedOnly`, only licences with unassigned seats.
#[derive(Debug, Clone, Copy)]
pub struct ExpiringLicenses;

const EXPIRING: AlertMeta = AlertMeta::new(
    "ExpiringLicenses",
    "Alert on licenses expiring in X days",
    "7d",
    "GET subscribedSkus; GET directory/subscriptions",
)
.inputs(&[
    "ExpiringLicensesDays",
    "ExpiringLicensesUnassignedOnly",
    "ExpiringLicensesMinDays",
]);

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ExpiringInput {
    #[serde(
        rename = "ExpiringLicensesDays",
        alias = "InputValue",
        default,
        deserialize_with = "de_number"
    )]
    days: Option<f64>,
    #[serde(
        rename = "ExpiringLicensesMinDays",
        default,
        deserialize_with = "de_number"
    )]
    min_days: Option<f64>,
    #[serde(
        rename = "ExpiringLicensesUnassignedOnly",
        default,
        deserialize_with = "de_flag"
    )]
    unassigned_only: Option<bool>,
}

struct ExpiringRule {
    days: i64,
    min_days: i64,
    unassigned_only: bool,
}

fn expiring_rule(input: &Value) -> Result<ExpiringRule, Error> {
    let i: ExpiringInput = super::input(&EXPIRING, &named(input, "ExpiringLicensesDays"))?;
    // CIPP reads 0 or nothing as its default of 30 days.
    let days = match i.days {
        None | Some(0.0) => 30,
        Some(d) => whole(&EXPIRING, "ExpiringLicensesDays", d, 1.0, MAX_DAYS, "days")?,
    };
    let min_days = match i.min_days {
        None => 0,
        Some(d) => whole(
            &EXPIRING,
            "ExpiringLicensesMinDays",
            d,
            0.0,
            MAX_DAYS,
            "days",
        )?,
    };
    if min_days >= days {
        return Err(bad_input(
            &EXPIRING,
            format!(
                "ExpiringLicensesMinDays ({min_days}) must be below ExpiringLicensesDays ({days})"
            ),
        ));
    }
    Ok(ExpiringRule {
        days,
        min_days,
        unassigned_only: i.unassigned_only.unwrap_or(false),
    })
}

/// CIPP's estimate of a subscription's term from its created and next lifecycle dates.
fn term(created: Option<DateTime<Utc>>, next: DateTime<Utc>) -> &'static str {
    let Some(created) = created else {
        return "Term unknown or non-NCE license";
    };
    match (next - created).num_days() {
        360..=1089 => "Yearly",
        1090..=1100 => "3 Year",
        25..=35 => "Monthly",
        _ => "Term unknown or non-NCE license",
    }
}

#[async_trait]
impl Alert for ExpiringLicenses {
    fn meta(&self) -> &AlertMeta {
        &EXPIRING
    }

    fn validate(&self, input: &Value) -> Result<(), Error> {
        expiring_rule(input).map(drop)
    }

    async fn evaluate(&self, ctx: &AlertContext, input: &Value) -> Result<Vec<Finding>, Error> {
        let rule = expiring_rule(input)?;
        let subscriptions = Posture::new(ctx.handle.graph()).subscriptions();
        let (skus, subscriptions) = futures::try_join!(licences(ctx), subscriptions.into_future())?;
        let mut out = Vec::new();
        for sku in &skus {
            let available = sku.available().unwrap_or(0);
            if rule.unassigned_only && available <= 0 {
                continue;
            }
            let name = licence_name(sku);
            for s in subscriptions.iter().filter(|s| {
                s.sku_id
                    .as_deref()
                    .is_some_and(|id| id.eq_ignore_ascii_case(sku.sku_id.as_str()))
            }) {
                let Some(next) = s.next_lifecycle_date_time else {
                    continue;
                };
                let days_left = (next - ctx.now).num_days();
                if !(days_left > 0 && days_left < rule.days && days_left >= rule.min_days) {
                    continue;
                }
                let term = term(s.created_date_time, next);
                let message = if rule.unassigned_only {
                    format!(
                        "{name} has {available} unassigned licence(s); its subscription expires or renews on {} (term: {term})",
                        day(next)
                    )
                } else {
                    format!("{name} expires or renews on {} (term: {term})", day(next))
                };
                let mut data = json!({"subscriptionId": s.id, "license": name, "skuId": sku.sku_id,
                    "term": term, "status": s.status, "totalLicenses": s.total_licenses,
                    "isTrial": s.is_trial, "nextLifecycleDateTime": next});
                if rule.unassigned_only {
                    data["countAvailable"] = json!(available);
                }
                out.push(Finding::new(s.id.clone(), message, data));
            }
        }
        Ok(out)
    }
}

/// What a licence's seat count is checked for.
#[derive(Clone, Copy)]
enum Seats {
    Unused,
    Overused,
}

async fn seat_findings(ctx: &AlertContext, seats: Seats) -> Result<Vec<Finding>, Error> {
    let mut out = Vec::new();
    for sku in licences(ctx).await? {
        let enabled = enabled_units(&sku);
        let consumed = sku.consumed_units.unwrap_or(0);
        let available = enabled - consumed;
        let (hit, what) = match seats {
            Seats::Unused => (available > 0, "unused"),
            Seats::Overused => (available < 0, "overused"),
        };
        if !hit {
            continue;
        }
        let name = licence_name(&sku);
        out.push(Finding::new(
            sku.sku_id.to_string(),
            format!("{name} has {what} licences: using {consumed} of {enabled}"),
            json!({"licenseName": name, "skuId": sku.sku_id, "skuPartNumber": sku.sku_part_number,
                   "consumedUnits": consumed, "enabledUnits": enabled}),
        ));
    }
    Ok(out)
}

/// `UnusedLicenses`: a licence has seats bought but not assigned.
#[derive(Debug, Clone, Copy)]
pub struct UnusedLicenses;

const UNUSED: AlertMeta = AlertMeta::new(
    "UnusedLicenses",
    "Alert on unused licenses",
    "1d",
    "GET subscribedSkus",
);

#[async_trait]
impl Alert for UnusedLicenses {
    fn meta(&self) -> &AlertMeta {
        &UNUSED
    }

    fn validate(&self, input: &Value) -> Result<(), Error> {
        no_input(&UNUSED, input)
    }

    async fn evaluate(&self, ctx: &AlertContext, _input: &Value) -> Result<Vec<Finding>, Error> {
        seat_findings(ctx, Seats::Unused).await
    }
}

/// `OverusedLicenses`: a licence has more seats assigned than bought.
#[derive(Debug, Clone, Copy)]
pub struct OverusedLicenses;

const OVERUSED: AlertMeta = AlertMeta::new(
    "OverusedLicenses",
    "Alert on overused licenses",
    "7d",
    "GET subscribedSkus",
);

#[async_trait]
impl Alert for OverusedLicenses {
    fn meta(&self) -> &AlertMeta {
        &OVERUSED
    }

    fn validate(&self, input: &Value) -> Result<(), Error> {
        no_input(&OVERUSED, input)
    }

    async fn evaluate(&self, ctx: &AlertContext, _input: &Value) -> Result<Vec<Finding>, Error> {
        seat_findings(ctx, Seats::Overused).await
    }
}

/// `LicenseAssignmentErrors`: a licence could not be assigned to a user (directly or
/// through a group): not enough seats, conflicting licences, not available in the user's
/// usage location, assigned twice, a missing prerequisite, or another error.
#[derive(Debug, Clone, Copy)]
pub struct LicenseAssignmentErrors;

const ASSIGNMENT_ERRORS: AlertMeta = AlertMeta::new(
    "LicenseAssignmentErrors",
    "Alert on license assignment errors",
    "1d",
    "GET users?$select=id,userPrincipalName,displayName,licenseAssignmentStates; GET subscribedSkus",
);

/// CIPP's words for Graph's licence assignment errors.
fn assignment_error_text(code: &str) -> String {
    let known = [
        ("CountViolation", "Not enough licenses available - the organization has exceeded the number of available licenses for this SKU"),
        ("MutuallyExclusiveViolation", "Conflicting licenses assigned - this license cannot be assigned alongside another license the user already has"),
        ("ProhibitedInUsageLocationViolation", "License not available in user's location - this license cannot be assigned to users in the user's current usage location"),
        ("UniquenessViolation", "Duplicate license assignment - this license can only be assigned once per user"),
        ("DependencyViolation", "Missing prerequisite license - this license depends on a service plan the user does not have"),
        ("Unknown", "Unknown license assignment error - an unspecified error occurred during license assignment"),
    ];
    let lower = code.to_ascii_lowercase();
    known
        .iter()
        .find(|(c, _)| lower.contains(&c.to_ascii_lowercase()))
        .map(|(_, text)| (*text).to_owned())
        .unwrap_or_else(|| format!("Unknown license assignment error: {code}"))
}

#[async_trait]
impl Alert for LicenseAssignmentErrors {
    fn meta(&self) -> &AlertMeta {
        &ASSIGNMENT_ERRORS
    }

    fn validate(&self, input: &Value) -> Result<(), Error> {
        no_input(&ASSIGNMENT_ERRORS, input)
    }

    async fn evaluate(&self, ctx: &AlertContext, _input: &Value) -> Result<Vec<Finding>, Error> {
        let states = Posture::new(ctx.handle.graph()).license_assignment_states();
        let skus = ctx
            .handle
            .graph()
            .directory()
            .subscribed_skus()
            .select(["skuId", "skuPartNumber"]);
        let (users, skus) = futures::try_join!(states.into_future(), skus.into_future())?;
        let name_of = |sku_id: &str| {
            skus.iter()
                .find(|s| s.sku_id.as_str().eq_ignore_ascii_case(sku_id))
                .map(licence_name)
                .unwrap_or_else(|| sku_id.to_owned())
        };
        let mut out = Vec::new();
        for u in &users {
            let upn = u.user_principal_name.as_deref().unwrap_or(&u.id);
            for s in &u.license_assignment_states {
                let Some(code) = s.failure() else { continue };
                let sku_id = s.sku_id.as_deref().unwrap_or("");
                let licence = name_of(sku_id);
                let text = assignment_error_text(code);
                out.push(Finding::new(
                    format!(
                        "{}:{sku_id}:{}",
                        u.id,
                        s.assigned_by_group.as_deref().unwrap_or("direct")
                    ),
                    format!("{upn}: {text} (License: {licence})"),
                    json!({"userPrincipalName": upn, "displayName": u.display_name, "id": u.id,
                           "error": text, "errorCode": code, "licenseName": licence,
                           "skuId": s.sku_id, "assignedByGroup": s.assigned_by_group}),
                ));
            }
        }
        Ok(out)
    }
}

// ---- Conditional Access and security defaults -------------------------------------------

/// `NoCAConfig`: the tenant has Conditional Access licences (Entra ID P1 or P2 with enabled
/// seats) but no Conditional Access policy.
#[derive(Debug, Clone, Copy)]
pub struct NoCAConfig;

const NO_CA: AlertMeta = AlertMeta::new(
    "NoCAConfig",
    "Alert on tenants without a Conditional Access policy, while having Conditional Access licensing available.",
    "1d",
    "GET subscribedSkus?$select=skuId,skuPartNumber,prepaidUnits,servicePlans; then GET identity/conditionalAccess/policies?$select=id",
);

#[async_trait]
impl Alert for NoCAConfig {
    fn meta(&self) -> &AlertMeta {
        &NO_CA
    }

    fn validate(&self, input: &Value) -> Result<(), Error> {
        no_input(&NO_CA, input)
    }

    async fn evaluate(&self, ctx: &AlertContext, _input: &Value) -> Result<Vec<Finding>, Error> {
        // Conditional Access allows one request a second per tenant: read it only when
        // the tenant is licensed for it.
        let licences = conditional_access_licences(ctx).await?;
        if licences.is_empty() || !ca_policies(ctx, &["id"]).await?.is_empty() {
            return Ok(Vec::new());
        }
        Ok(vec![Finding::new(
            "conditional-access",
            "Conditional Access is available, but no policies could be found.",
            json!({"licenses": licences, "policies": 0}),
        )])
    }
}

/// `SecDefaultsDisabled`: security defaults are off and no Conditional Access policy
/// exists, so the tenant has no baseline protection.
#[derive(Debug, Clone, Copy)]
pub struct SecDefaultsDisabled;

const SEC_DEFAULTS: AlertMeta = AlertMeta::new(
    "SecDefaultsDisabled",
    "Alert when Security Defaults is disabled with no Conditional Access policies",
    "1d",
    "GET policies/identitySecurityDefaultsEnforcementPolicy; then GET identity/conditionalAccess/policies?$select=id",
);

#[async_trait]
impl Alert for SecDefaultsDisabled {
    fn meta(&self) -> &AlertMeta {
        &SEC_DEFAULTS
    }

    fn validate(&self, input: &Value) -> Result<(), Error> {
        no_input(&SEC_DEFAULTS, input)
    }

    async fn evaluate(&self, ctx: &AlertContext, _input: &Value) -> Result<Vec<Finding>, Error> {
        let defaults = ctx
            .handle
            .graph()
            .conditional_access()
            .security_defaults()
            .await?;
        if defaults.is_enabled {
            return Ok(Vec::new());
        }
        // Only now is Conditional Access read (one request a second per tenant). A tenant
        // not licensed for it has no policy.
        let policies = match ca_policies(ctx, &["id"]).await {
            Ok(p) => p.len(),
            Err(e) if not_licensed(&e) => 0,
            Err(e) => return Err(e),
        };
        if policies > 0 {
            return Ok(Vec::new());
        }
        Ok(vec![Finding::new(
            "security-defaults",
            "Security Defaults is disabled and no Conditional Access policies are configured. This tenant has no baseline security protection.",
            json!({"securityDefaultsEnabled": false, "policies": 0}),
        )])
    }
}

/// `ReportOnlyCA`: a Conditional Access policy is in report-only mode (in a tenant
/// licensed for Conditional Access).
#[derive(Debug, Clone, Copy)]
pub struct ReportOnlyCA;

const REPORT_ONLY: AlertMeta = AlertMeta::new(
    "ReportOnlyCA",
    "Alert on tenants with Conditional Access policies in report-only mode",
    "1d",
    "GET subscribedSkus?$select=skuId,skuPartNumber,prepaidUnits,servicePlans; then GET identity/conditionalAccess/policies?$select=id,displayName,state",
);

#[async_trait]
impl Alert for ReportOnlyCA {
    fn meta(&self) -> &AlertMeta {
        &REPORT_ONLY
    }

    fn validate(&self, input: &Value) -> Result<(), Error> {
        no_input(&REPORT_ONLY, input)
    }

    async fn evaluate(&self, ctx: &AlertContext, _input: &Value) -> Result<Vec<Finding>, Error> {
        if conditional_access_licences(ctx).await?.is_empty() {
            return Ok(Vec::new());
        }
        let policies = ca_policies(ctx, &["id", "displayName", "state"]).await?;
        Ok(policies
            .into_iter()
            .filter(|p| p.state == Some(PolicyState::ReportOnly))
            .map(|p| {
                Finding::new(
                    p.id.clone(),
                    format!(
                        "Conditional Access policy {} is in report-only mode",
                        p.display_name
                    ),
                    json!({"policyName": p.display_name, "state": PolicyState::ReportOnly.as_str()}),
                )
            })
            .collect())
    }
}

// ---- directory sync -----------------------------------------------------------------------

/// `EntraConnectSyncStatus`: directory sync is on and the last directory sync (or the last
/// password hash sync, when that is older) was more than `EntraConnectSyncStatusHours`
/// hours ago (default 72), or never happened.
#[derive(Debug, Clone, Copy)]
pub struct EntraConnectSyncStatus;

const CONNECT_SYNC: AlertMeta = AlertMeta::new(
    "EntraConnectSyncStatus",
    "Alert if Entra Connect sync is enabled and has not run in the last X hours",
    "1d",
    "GET beta/organization?$select=id,onPremisesSyncEnabled,onPremisesLastSyncDateTime,onPremisesLastPasswordSyncDateTime",
)
.inputs(&["EntraConnectSyncStatusHours"]);

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SyncInput {
    #[serde(
        rename = "EntraConnectSyncStatusHours",
        alias = "InputValue",
        default,
        deserialize_with = "de_number"
    )]
    hours: Option<f64>,
}

fn sync_hours(input: &Value) -> Result<i64, Error> {
    let i: SyncInput = super::input(&CONNECT_SYNC, &named(input, "EntraConnectSyncStatusHours"))?;
    match i.hours {
        // CIPP reads 0 or nothing as its default of 72 hours.
        None | Some(0.0) => Ok(72),
        Some(h) => whole(
            &CONNECT_SYNC,
            "EntraConnectSyncStatusHours",
            h,
            1.0,
            MAX_DAYS * 24.0,
            "hours",
        ),
    }
}

#[async_trait]
impl Alert for EntraConnectSyncStatus {
    fn meta(&self) -> &AlertMeta {
        &CONNECT_SYNC
    }

    fn validate(&self, input: &Value) -> Result<(), Error> {
        sync_hours(input).map(drop)
    }

    async fn evaluate(&self, ctx: &AlertContext, input: &Value) -> Result<Vec<Finding>, Error> {
        let hours = sync_hours(input)?;
        let org = Posture::new(ctx.handle.graph()).organization_sync().await?;
        if org.on_premises_sync_enabled != Some(true) {
            return Ok(Vec::new());
        }
        let directory = org.on_premises_last_sync_date_time;
        let password = org.on_premises_last_password_sync_date_time;
        // The older of the two (password hash sync only when the tenant uses it).
        let (cause, last) = match (directory, password) {
            (Some(d), Some(p)) if p < d => ("PasswordSync", Some(p)),
            (d, _) => ("DirectorySync", d),
        };
        let what = match cause {
            "PasswordSync" => "password hash sync",
            _ => "directory sync",
        };
        let message = match last {
            Some(t) if t >= ctx.now - Duration::hours(hours) => return Ok(Vec::new()),
            Some(t) => format!(
                "Entra Connect {what} has not run for over {hours} hours: the last run was at {}",
                t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
            None => format!("Entra Connect sync is enabled but {what} has never run"),
        };
        Ok(vec![Finding::new(
            "entra-connect-sync",
            message,
            json!({"cause": cause, "lastSync": last, "thresholdHours": hours}),
        )])
    }
}

// ---- Secure Score ------------------------------------------------------------------------

/// `SecureScore`: the latest Secure Score is below a threshold: `ThresholdType` `percent`
/// (of the attainable score) or `absolute` (points), with the threshold in `InputValue`;
/// or, with `drop`, it fell by at least `InputValue` percent since the day before.
#[derive(Debug, Clone, Copy)]
pub struct SecureScore;

const SECURE_SCORE: AlertMeta = AlertMeta::new(
    "SecureScore",
    "Alert on a low Secure Score",
    "1d",
    "GET security/secureScores?$top=1 (2 for a drop)",
)
.inputs(&["ThresholdType", "InputValue"]);

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ScoreInput {
    #[serde(rename = "ThresholdType", default, deserialize_with = "de_choice")]
    threshold_type: Option<String>,
    #[serde(rename = "InputValue", default, deserialize_with = "de_number")]
    value: Option<f64>,
}

#[derive(Clone, Copy, PartialEq)]
enum ScoreRule {
    /// Below this percentage of the attainable score.
    Percent(f64),
    /// Below this many points.
    Absolute(f64),
    /// Fell by at least this percentage since the day before.
    Drop(f64),
}

fn score_rule(input: &Value) -> Result<ScoreRule, Error> {
    let i: ScoreInput = super::input(&SECURE_SCORE, input)?;
    let Some(kind) = i.threshold_type else {
        return Err(bad_input(
            &SECURE_SCORE,
            "ThresholdType: give `percent`, `absolute` or `drop`",
        ));
    };
    let Some(v) = i.value else {
        return Err(bad_input(
            &SECURE_SCORE,
            "InputValue: give the threshold (a percentage, or points for `absolute`)",
        ));
    };
    let percent = |v: f64| {
        if (0.0..=100.0).contains(&v) {
            Ok(v)
        } else {
            Err(bad_input(
                &SECURE_SCORE,
                format!("InputValue: `{v}` is not a percentage from 0 to 100"),
            ))
        }
    };
    match kind.to_ascii_lowercase().as_str() {
        "percent" => Ok(ScoreRule::Percent(percent(v)?)),
        "drop" => Ok(ScoreRule::Drop(percent(v)?)),
        "absolute" if (0.0..=100_000.0).contains(&v) => Ok(ScoreRule::Absolute(v)),
        "absolute" => Err(bad_input(
            &SECURE_SCORE,
            format!("InputValue: `{v}` is not a number of points from 0 to 100000"),
        )),
        other => Err(bad_input(
            &SECURE_SCORE,
            format!("ThresholdType: `{other}` is not `percent`, `absolute` or `drop`"),
        )),
    }
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

#[async_trait]
impl Alert for SecureScore {
    fn meta(&self) -> &AlertMeta {
        &SECURE_SCORE
    }

    fn validate(&self, input: &Value) -> Result<(), Error> {
        score_rule(input).map(drop)
    }

    async fn evaluate(&self, ctx: &AlertContext, input: &Value) -> Result<Vec<Finding>, Error> {
        let rule = score_rule(input)?;
        let days = if matches!(rule, ScoreRule::Drop(_)) {
            2
        } else {
            1
        };
        let scores = Posture::new(ctx.handle.graph()).secure_scores(days).await?;
        let Some(latest) = scores.first() else {
            return Ok(Vec::new());
        };
        let (Some(current), max) = (latest.current_score, latest.max_score) else {
            return Ok(Vec::new());
        };
        let finding = match rule {
            ScoreRule::Absolute(t) if current < t => Finding::new(
                "secure-score",
                format!("Secure Score is below acceptable threshold: {current} points, below {t}"),
                json!({"currentScore": current, "maxScore": max, "thresholdType": "absolute",
                       "threshold": t}),
            ),
            ScoreRule::Percent(t) => match latest.percentage() {
                Some(pct) if pct < t => Finding::new(
                    "secure-score",
                    format!(
                        "Secure Score is below acceptable threshold: {pct}% ({current} of {}), below {t}%",
                        max.unwrap_or_default()
                    ),
                    json!({"currentScore": current, "maxScore": max, "currentScorePercentage": pct,
                           "thresholdType": "percent", "scoreThresholdPercentage": t}),
                ),
                _ => return Ok(Vec::new()),
            },
            ScoreRule::Drop(t) => {
                let Some(previous) = scores
                    .get(1)
                    .and_then(|s| s.current_score)
                    .filter(|p| *p > 0.0)
                else {
                    return Ok(Vec::new());
                };
                let drop = round2((previous - current) / previous * 100.0);
                if drop < t {
                    return Ok(Vec::new());
                }
                Finding::new(
                    "secure-score",
                    format!("Secure Score dropped by {drop}% (from {previous} to {current})"),
                    json!({"currentScore": current, "previousScore": previous, "maxScore": max,
                           "dropPercentage": drop, "thresholdType": "drop", "dropThreshold": t}),
                )
            }
            ScoreRule::Absolute(_) => return Ok(Vec::new()),
        };
        Ok(vec![finding])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_come_as_cipp_sends_them() {
        assert_eq!(number(&json!(12)), Ok(Some(12.0)));
        assert_eq!(number(&json!(" 12 ")), Ok(Some(12.0)));
        assert_eq!(number(&json!("")), Ok(None));
        assert_eq!(
            number(&json!({"value": "24", "label": "24 months"})),
            Ok(Some(24.0))
        );
        assert!(number(&json!("twelve")).is_err());
        assert!(number(&json!("inf")).is_err());
        assert!(number(&json!([1])).is_err());
    }

    #[test]
    fn terms_as_cipp_estimates_them() {
        let next: DateTime<Utc> = "2026-12-01T00:00:00Z".parse().unwrap_or_default();
        assert_eq!(term(Some(next - Duration::days(365)), next), "Yearly");
        assert_eq!(term(Some(next - Duration::days(30)), next), "Monthly");
        assert_eq!(term(Some(next - Duration::days(1095)), next), "3 Year");
        assert_eq!(
            term(Some(next - Duration::days(100)), next),
            "Term unknown or non-NCE license"
        );
        assert_eq!(term(None, next), "Term unknown or non-NCE license");
    }

    #[test]
    fn assignment_errors_in_words() {
        assert!(assignment_error_text("CountViolation").starts_with("Not enough licenses"));
        assert!(assignment_error_text("Other").contains("Other"));
    }
}
