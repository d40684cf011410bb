//! A tenant's security and licensing posture: app registrations (with their secrets and
//! certificates), commercial subscriptions (`directory/subscriptions`), daily Secure
//! Scores (`security/secureScores`, newest first) and the organization's directory sync
//! status.
//!
//! State lives in the directory store under [`APPLICATIONS`], [`SUBSCRIPTIONS`] and
//! [`SECURE_SCORES`], and the sync status in the one item under [`ORGANIZATION`] (its
//! properties are added to the organization object). Defaults where nothing was seeded,
//! as a real tenant has them: one yearly subscription per licence renewing on the
//! anniversary of 2024-03-01, two days of the same Secure Score, and a cloud-only
//! organization (sync properties `null`).
//!
//! This table is routed before the directory's, so its `GET organization` is the one
//! answered.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use serde_json::{json, Map, Value};

use super::collection::{Hooks, Resource, Typing, NO_REPLACE_OPS};
use super::{error, list, list_with, routes, with_context, Answer, Ctx, Paging, Params, Route};
use crate::state::{synthetic_guid, Area, Collection, SimTenant};
use crate::Reply;

/// App registrations (`applications`), in the directory store.
pub(crate) const APPLICATIONS: &str = "applications";
/// Commercial subscriptions (`directory/subscriptions`), in the directory store.
pub(crate) const SUBSCRIPTIONS: &str = "directory/subscriptions";
/// Daily Secure Scores (`security/secureScores`), in the directory store.
pub(crate) const SECURE_SCORES: &str = "security/securescores";
/// Properties added to the organization object (zero or one item), in the directory
/// store.
pub(crate) const ORGANIZATION: &str = "organization";

/// When the default subscriptions were bought (they renew every year on this day).
const DEFAULT_PURCHASE: (i32, u32, u32) = (2024, 3, 1);

fn application_not_found(key: &str) -> Reply {
    error(
        404,
        "Request_ResourceNotFound",
        &format!("Resource '{key}' does not exist or one of its queried reference-property objects are not present."),
    )
}

pub(crate) const RESOURCES: &[Resource] = &[Resource {
    path: APPLICATIONS,
    entity: "applications",
    area: Area::Directory,
    noun: "Application",
    ops: NO_REPLACE_OPS,
    typing: Typing::Fixed("#microsoft.graph.application"),
    modified: None,
    required: &["displayName"],
    not_found: application_not_found,
    hooks: Hooks {
        before_create: Some(application_before_create),
        ..Hooks::NONE
    },
    ..Resource::STANDARD
}];

/// A new app registration gets an application id and empty credential lists.
fn application_before_create(
    ctx: &mut Ctx<'_, '_>,
    app: &mut Map<String, Value>,
) -> Result<(), Reply> {
    let app_id = ctx.new_id("appId");
    app.insert("appId".into(), json!(app_id));
    for k in ["passwordCredentials", "keyCredentials"] {
        app.entry(k).or_insert(json!([]));
    }
    Ok(())
}

pub(crate) const ROUTES: &[Route] = routes![
    GET "organization" => organization,
    GET "directory/subscriptions" => list_subscriptions,
    GET "directory/subscriptions/{id}" => get_subscription,
    GET "security/securescores" => list_secure_scores,
    GET "security/securescores/{id}" => get_secure_score,
];

fn now(ctx: &Ctx<'_, '_>) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(&ctx.req.now)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|_| Utc::now())
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The organization object with its directory sync status.
fn organization(ctx: &mut Ctx<'_, '_>, _: &Params) -> Answer {
    let mut org = ctx.t.organization();
    if let Value::Object(m) = &mut org {
        for k in [
            "onPremisesSyncEnabled",
            "onPremisesLastSyncDateTime",
            "onPremisesLastPasswordSyncDateTime",
        ] {
            m.insert(k.into(), Value::Null);
        }
        if let Some(Value::Object(extra)) = ctx.t.directory.store.get(ORGANIZATION).first() {
            for (k, v) in extra {
                if k != "id" {
                    m.insert(k.clone(), v.clone());
                }
            }
        }
    }
    Ok(list(ctx.req, vec![org], "organization", None))
}

/// The next anniversary of `purchase` strictly after `now`.
fn next_anniversary(purchase: DateTime<Utc>, now: DateTime<Utc>) -> DateTime<Utc> {
    let mut year = now.year();
    loop {
        let date = NaiveDate::from_ymd_opt(year, purchase.month(), purchase.day())
            .or_else(|| NaiveDate::from_ymd_opt(year, purchase.month(), 28));
        if let Some(at) = date
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| Utc.from_utc_datetime(&d))
            .filter(|at| *at > now)
        {
            return at;
        }
        year += 1;
    }
}

/// The stored subscriptions, or one yearly subscription per licence.
fn subscriptions(t: &SimTenant, now: DateTime<Utc>) -> Vec<Value> {
    let stored = t.directory.store.get(SUBSCRIPTIONS);
    if !stored.is_empty() {
        return stored.items().to_vec();
    }
    let (y, m, d) = DEFAULT_PURCHASE;
    let purchase = Utc
        .with_ymd_and_hms(y, m, d, 0, 0, 0)
        .single()
        .unwrap_or(now);
    t.directory
        .skus()
        .iter()
        .map(|sku| {
            let sku_id = sku["skuId"].as_str().unwrap_or_default();
            json!({
                "id": synthetic_guid(&format!("{}-subscription-{sku_id}", t.id)),
                "commerceSubscriptionId": synthetic_guid(&format!("{}-commerce-{sku_id}", t.id)),
                "skuId": sku_id,
                "skuPartNumber": sku["skuPartNumber"],
                "status": sku["capabilityStatus"].as_str().unwrap_or("Enabled"),
                "totalLicenses": sku["prepaidUnits"]["enabled"],
                "isTrial": false,
                "createdDateTime": ts(purchase),
                "nextLifecycleDateTime": ts(next_anniversary(purchase, now)),
                "ownerType": null,
                "serviceStatus": sku["servicePlans"].as_array().map(|plans| plans.iter().map(|p| json!({
                    "servicePlanId": p["servicePlanId"], "servicePlanName": p["servicePlanName"],
                    "provisioningStatus": p["provisioningStatus"], "appliesTo": p["appliesTo"]
                })).collect::<Vec<_>>()).unwrap_or_default(),
            })
        })
        .collect()
}

fn list_subscriptions(ctx: &mut Ctx<'_, '_>, _: &Params) -> Answer {
    let items = subscriptions(ctx.t, now(ctx));
    Ok(list(ctx.req, items, "directory/subscriptions", None))
}

fn get_subscription(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let id = p.get(0);
    let item = subscriptions(ctx.t, now(ctx))
        .into_iter()
        .find(|s| s["id"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(id)))
        .ok_or_else(|| {
            error(
                404,
                "Request_ResourceNotFound",
                &format!("Resource '{id}' does not exist."),
            )
        })?;
    let item = super::project(&item, ctx.req.q("$select"), None);
    Ok(Reply::json(
        200,
        with_context(item, ctx.req.version, "directory/subscriptions/$entity"),
    ))
}

/// The stored scores newest first, or the same score for today and yesterday.
fn secure_scores(t: &SimTenant, now: DateTime<Utc>) -> Vec<Value> {
    let stored = t.directory.store.get(SECURE_SCORES);
    let mut items = if stored.is_empty() {
        let today = now.date_naive();
        (0..2)
            .filter_map(|d| today.checked_sub_signed(Duration::days(d)))
            .filter_map(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| {
                let day = Utc.from_utc_datetime(&d);
                json!({
                    "id": format!("{}_{}", t.id, day.format("%Y-%m-%d")),
                    "azureTenantId": t.id,
                    "createdDateTime": ts(day),
                    "currentScore": 42.0,
                    "maxScore": 80.0,
                    "licensedUserCount": t.users().iter().filter(|u| u["assignedLicenses"].as_array().is_some_and(|a| !a.is_empty())).count(),
                    "activeUserCount": 0,
                    "enabledServices": ["HasExchange", "HasSharePoint", "HasOD4B"],
                    "averageComparativeScores": [],
                    "controlScores": [],
                    "vendorInformation": {"provider": "SecureScore", "providerVersion": null, "subProvider": null, "vendor": "Microsoft"}
                })
            })
            .collect()
    } else {
        stored.items().to_vec()
    };
    items.sort_by(|a, b| {
        b["createdDateTime"]
            .as_str()
            .cmp(&a["createdDateTime"].as_str())
    });
    items
}

fn list_secure_scores(ctx: &mut Ctx<'_, '_>, _: &Params) -> Answer {
    let items = secure_scores(ctx.t, now(ctx));
    Ok(list_with(
        ctx.req,
        items,
        "security/secureScores",
        None,
        Paging {
            default_top: 100,
            max_top: 999,
        },
    ))
}

fn get_secure_score(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let id = p.get(0);
    let item = secure_scores(ctx.t, now(ctx))
        .into_iter()
        .find(|s| s["id"].as_str() == Some(id))
        .ok_or_else(|| {
            error(
                404,
                "ResourceNotFound",
                &format!("The secure score '{id}' was not found."),
            )
        })?;
    Ok(Reply::json(
        200,
        with_context(item, ctx.req.version, "security/secureScores/$entity"),
    ))
}

/// Seeding a tenant's posture (for scenarios and tests).
impl SimTenant {
    /// App registrations (Graph `application` JSON with `passwordCredentials` and
    /// `keyCredentials`).
    pub fn applications_mut(&mut self) -> &mut Collection {
        self.directory.store.get_mut(APPLICATIONS)
    }

    /// Commercial subscriptions (`companySubscription` JSON). While empty, one yearly
    /// subscription per licence is answered.
    pub fn subscriptions_mut(&mut self) -> &mut Collection {
        self.directory.store.get_mut(SUBSCRIPTIONS)
    }

    /// Daily Secure Scores (`secureScore` JSON, any order: answered newest first). While
    /// empty, the same score for today and yesterday is answered.
    pub fn secure_scores_mut(&mut self) -> &mut Collection {
        self.directory.store.get_mut(SECURE_SCORES)
    }

    /// Sets the directory sync status the organization object shows
    /// (`onPremisesSyncEnabled`, `onPremisesLastSyncDateTime`,
    /// `onPremisesLastPasswordSyncDateTime`; `None` is `null`).
    pub fn set_directory_sync(
        &mut self,
        enabled: Option<bool>,
        last_sync: Option<DateTime<Utc>>,
        last_password_sync: Option<DateTime<Utc>>,
    ) {
        let item = json!({
            "id": self.id,
            "onPremisesSyncEnabled": enabled,
            "onPremisesLastSyncDateTime": last_sync.map(ts),
            "onPremisesLastPasswordSyncDateTime": last_password_sync.map(ts),
        });
        self.directory
            .store
            .get_mut(ORGANIZATION)
            .replace_all(vec![item]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anniversaries_are_strictly_ahead() {
        let purchase = Utc.with_ymd_and_hms(2024, 3, 1, 0, 0, 0).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 11, 27, 9, 0, 0).unwrap();
        assert_eq!(
            next_anniversary(purchase, now),
            Utc.with_ymd_and_hms(2027, 3, 1, 0, 0, 0).unwrap()
        );
        let on_the_day = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
        assert_eq!(
            next_anniversary(purchase, on_the_day),
            Utc.with_ymd_and_hms(2027, 3, 1, 0, 0, 0).unwrap()
        );
        let leap = Utc.with_ymd_and_hms(2024, 2, 29, 0, 0, 0).unwrap();
        assert_eq!(
            next_anniversary(leap, now),
            Utc.with_ymd_and_hms(2027, 2, 28, 0, 0, 0).unwrap()
        );
    }
}
