//! Tenant alerts on the simulator (demo scenario at 2026-11-27 09:00 UTC): for each alert
//! a finding raised, a tenant or state with none, a changed finding, and (shown with
//! several) resolved when fixed; a snoozed subject stays silent; an unchanged finding stays
//! silent on later days (no countdowns); inputs in CIPP's shapes accepted, absurd ones
//! refused before anything is sent.

use crate::common;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use cipp::alerts::{run_alert, AlertCatalogue, AlertService};
use cipp::core::{Clock, ManualClock};
use cipp::scheduler::alert_state::{AlertStateStore, Change, MemoryAlertState, Snooze};
use cipp::sim::state::paths;
use cipp::sim::{SimTenant, Simulator};
use cipp::{Cipp, TenantId};
use serde_json::{json, Value};

const SPB: &str = "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46";
const EXCHANGE_STANDARD: &str = "4b9405b0-7788-4568-add1-99614e613b69";
const POWER_AUTOMATE_FREE: &str = "f30db892-07e9-47e9-837c-80727f46fd3d";

struct Fx {
    sim: Simulator,
    cipp: Cipp,
    clock: ManualClock,
    service: AlertService,
    state: Arc<MemoryAlertState>,
}

impl Fx {
    fn new() -> Fx {
        let clock = common::demo_clock();
        let (sim, cipp) = common::demo(Some(&clock), common::Fleet::Partner);
        let state = Arc::new(MemoryAlertState::new());
        let service = AlertService {
            catalogue: Arc::new(AlertCatalogue::builtin()),
            state: state.clone(),
            standards: None,
        };
        Fx {
            sim,
            cipp,
            clock,
            service,
            state,
        }
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// `now` plus `days`, as Graph writes a timestamp.
    fn at(&self, days: i64) -> String {
        (self.now() + Duration::days(days)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    }

    fn seed(&self, tenant: &str, f: impl FnOnce(&mut SimTenant)) {
        let mut st = self.sim.lock_state();
        f(st.tenant_mut(tenant).expect("tenant"))
    }

    async fn try_run(
        &self,
        tenant: &str,
        alert: &str,
        input: Value,
    ) -> Result<Vec<Change>, cipp::core::Error> {
        let handle = self
            .cipp
            .tenant(&TenantId::parse(tenant).expect("tenant id"))
            .unwrap();
        let alert = self.service.catalogue.get(alert).expect("alert").clone();
        run_alert(&handle, alert.as_ref(), &self.service, &input, true).await
    }

    async fn run(&self, tenant: &str, alert: &str, input: Value) -> Vec<Change> {
        self.try_run(tenant, alert, input)
            .await
            .expect("alert runs")
    }

    /// Runs and asserts the input is refused with a message naming `field`, nothing sent.
    async fn refused(&self, alert: &str, input: Value, field: &str) {
        let before = self.sim.log().entries().len();
        let err = self
            .try_run("contoso.com", alert, input.clone())
            .await
            .unwrap_err();
        assert!(err.to_string().contains(field), "{input}: {err}");
        assert_eq!(
            self.sim.log().entries().len(),
            before,
            "{input}: nothing sent"
        );
    }

    fn set_sku(&self, sku_id: &str, f: impl FnOnce(&mut Value)) {
        self.seed("contoso.com", |t| {
            let skus = t.directory.store.get_mut(paths::SKUS);
            let sku = skus
                .items_mut()
                .iter_mut()
                .find(|s| s["skuId"] == json!(sku_id))
                .expect("sku");
            f(sku)
        })
    }

    fn tenant_id(&self, tenant: &str) -> String {
        self.cipp
            .tenant(&TenantId::parse(tenant).expect("tenant id"))
            .unwrap()
            .id()
            .as_str()
            .to_owned()
    }
}

fn kinds(c: &[Change]) -> Vec<(&'static str, String)> {
    c.iter()
        .map(|c| (c.label(), c.record().subject.clone()))
        .collect()
}

fn message(c: &Change) -> &str {
    c.record().row["message"].as_str().unwrap_or_default()
}

fn data(c: &Change) -> &Value {
    &c.record().row["data"]
}

fn day(f: &Fx, n: u64) {
    f.clock.advance(std::time::Duration::from_secs(n * 86_400));
}

#[test]
fn the_catalogue_has_every_tenant_alert_with_cipps_metadata() {
    let c = AlertCatalogue::builtin();
    let expect = [
        ("AppSecretExpiry", "1d", &[][..]),
        ("AppCertificateExpiry", "1d", &[]),
        ("LongLivedAppCredentials", "1d", &["InputValue"]),
        (
            "ExpiringLicenses",
            "7d",
            &["ExpiringLicensesDays", "ExpiringLicensesUnassignedOnly"],
        ),
        ("UnusedLicenses", "1d", &[]),
        ("OverusedLicenses", "7d", &[]),
        ("LicenseAssignmentErrors", "1d", &[]),
        ("NoCAConfig", "1d", &[]),
        ("SecDefaultsDisabled", "1d", &[]),
        ("ReportOnlyCA", "1d", &[]),
        (
            "EntraConnectSyncStatus",
            "1d",
            &["EntraConnectSyncStatusHours"],
        ),
        ("SecureScore", "1d", &["ThresholdType", "InputValue"]),
    ];
    for (name, interval, inputs) in expect {
        let a = c
            .get(&format!("Get-CIPPAlert{name}"))
            .unwrap_or_else(|| panic!("{name}"));
        assert_eq!(a.meta().interval, interval, "{name}");
        for i in inputs {
            assert!(a.meta().inputs.contains(i), "{name} takes {i}");
        }
        assert!(!a.meta().label.is_empty() && !a.meta().reads.is_empty());
    }
    assert_eq!(c.get("NoCAConfig").unwrap().meta().label, "Alert on tenants without a Conditional Access policy, while having Conditional Access licensing available.");
}

#[tokio::test]
async fn app_secret_expiry() {
    let f = Fx::new();
    let (soon, later, past) = (f.at(10), f.at(200), f.at(-30));
    f.seed("contoso.com", |t| {
        let apps = t.applications_mut();
        apps.insert(json!({"id": "a1", "appId": "11111111-1111-4111-8111-111111111111", "displayName": "Payroll",
            "passwordCredentials": [
                {"keyId": "k-soon", "displayName": "payroll-prod", "startDateTime": "2025-12-07T00:00:00Z", "endDateTime": soon},
                {"keyId": "k-later", "displayName": "payroll-dr", "endDateTime": later},
                {"keyId": "k-past", "displayName": "old", "endDateTime": past}],
            "keyCredentials": []}));
        apps.insert(json!({"id": "a2", "appId": "22222222-2222-4222-8222-222222222222",
            "displayName": "ConnectSyncProvisioning_contoso_1",
            "passwordCredentials": [{"keyId": "k-sync", "endDateTime": soon}], "keyCredentials": []}));
    });
    let c = f.run("contoso.com", "AppSecretExpiry", Value::Null).await;
    assert_eq!(
        kinds(&c),
        [(
            "raised",
            "11111111-1111-4111-8111-111111111111:k-soon".to_owned()
        )]
    );
    assert!(
        message(&c[0]).contains("payroll-prod") && message(&c[0]).contains(&soon[..10]),
        "{}",
        message(&c[0])
    );
    assert_eq!(data(&c[0])["appName"], "Payroll");
    // A day later nothing changed: silent (the message holds a date, not a countdown).
    day(&f, 1);
    assert!(f
        .run("contoso.com", "AppSecretExpiry", Value::Null)
        .await
        .is_empty());
    // No app registrations: nothing.
    assert!(f
        .run("fabrikam.com", "AppSecretExpiry", Value::Null)
        .await
        .is_empty());
    // The secret's date moves: changed.
    let moved = f.at(12);
    f.seed("contoso.com", |t| {
        t.applications_mut()[0]["passwordCredentials"][0]["endDateTime"] = json!(moved)
    });
    let c = f.run("contoso.com", "AppSecretExpiry", Value::Null).await;
    assert!(matches!(c.as_slice(), [Change::Changed(_)]), "{c:?}");
    // Renewed: resolved.
    let renewed = f.at(400);
    f.seed("contoso.com", |t| {
        t.applications_mut()[0]["passwordCredentials"][0]["endDateTime"] = json!(renewed)
    });
    let c = f.run("contoso.com", "AppSecretExpiry", Value::Null).await;
    assert!(matches!(c.as_slice(), [Change::Resolved(_)]), "{c:?}");
    f.refused("AppSecretExpiry", json!({"days": 3}), "no input")
        .await;
}

#[tokio::test]
async fn app_certificate_expiry_covers_app_and_saml_certificates() {
    let f = Fx::new();
    let (soon, later, saml) = (f.at(20), f.at(100), f.at(3));
    f.seed("contoso.com", |t| {
        t.applications_mut().insert(json!({"id": "a1", "appId": "33333333-3333-4333-8333-333333333333", "displayName": "Daemon",
            "passwordCredentials": [],
            "keyCredentials": [{"keyId": "c-soon", "displayName": "CN=daemon", "endDateTime": soon, "type": "AsymmetricX509Cert"},
                               {"keyId": "c-later", "displayName": "CN=daemon2", "endDateTime": later}]}));
        t.directory.store.get_mut(paths::SERVICE_PRINCIPALS).insert(json!({"id": "sp-saml", "appId": "44444444-4444-4444-8444-444444444444",
            "displayName": "Salesforce", "preferredTokenSigningKeyEndDateTime": saml}));
        t.directory.store.get_mut(paths::SERVICE_PRINCIPALS).insert(json!({"id": "sp-other", "appId": "55555555-5555-4555-8555-555555555555",
            "displayName": "Other", "preferredTokenSigningKeyEndDateTime": later}));
    });
    let mut c = kinds(
        &f.run("contoso.com", "AppCertificateExpiry", Value::Null)
            .await,
    );
    c.sort();
    assert_eq!(
        c,
        [
            (
                "raised",
                "app:33333333-3333-4333-8333-333333333333:c-soon".to_owned()
            ),
            ("raised", "saml:sp-saml".to_owned())
        ]
    );
    assert!(f
        .run("fabrikam.com", "AppCertificateExpiry", Value::Null)
        .await
        .is_empty());
    // The SAML certificate is replaced by one that also expires soon: changed.
    let replaced = f.at(6);
    f.seed("contoso.com", |t| {
        let sps = t.directory.store.get_mut(paths::SERVICE_PRINCIPALS);
        let sp = sps
            .items_mut()
            .iter_mut()
            .find(|s| s["id"] == "sp-saml")
            .expect("sp");
        sp["preferredTokenSigningKeyEndDateTime"] = json!(replaced);
    });
    let c = f
        .run("contoso.com", "AppCertificateExpiry", Value::Null)
        .await;
    assert_eq!(kinds(&c), [("changed", "saml:sp-saml".to_owned())]);
    assert!(message(&c[0]).contains("Salesforce") && message(&c[0]).contains(&replaced[..10]));
}

#[tokio::test]
async fn long_lived_app_credentials() {
    let f = Fx::new();
    let (start, two_years, six_months) = (f.at(-30), f.at(700), f.at(150));
    let (old_start, old_end) = (f.at(-900), f.at(-10));
    f.seed("contoso.com", |t| {
        t.applications_mut().insert(json!({"id": "a1", "appId": "66666666-6666-4666-8666-666666666666", "displayName": "Backup",
            "passwordCredentials": [{"keyId": "s-long", "displayName": "forever", "startDateTime": start, "endDateTime": two_years},
                                    {"keyId": "s-short", "startDateTime": start, "endDateTime": six_months},
                                    {"keyId": "s-expired", "startDateTime": old_start, "endDateTime": old_end}],
            "keyCredentials": [{"keyId": "c-long", "startDateTime": start, "endDateTime": two_years}]}));
    });
    // CIPP's shapes: a bare number, a string, a picker option, the named input.
    let mut c = kinds(
        &f.run("contoso.com", "LongLivedAppCredentials", json!("12"))
            .await,
    );
    c.sort();
    assert_eq!(
        c,
        [
            (
                "raised",
                "66666666-6666-4666-8666-666666666666:Certificate:c-long".to_owned()
            ),
            (
                "raised",
                "66666666-6666-4666-8666-666666666666:Secret:s-long".to_owned()
            )
        ]
    );
    for input in [
        json!(12),
        json!({"value": 12, "label": "12 months"}),
        json!({"InputValue": "12"}),
    ] {
        assert!(
            f.run("contoso.com", "LongLivedAppCredentials", input)
                .await
                .is_empty(),
            "same findings"
        );
    }
    // A longer limit: none.
    let c = f
        .run(
            "contoso.com",
            "LongLivedAppCredentials",
            json!({"InputValue": 36}),
        )
        .await;
    assert_eq!(c.iter().filter(|c| c.label() == "resolved").count(), 2);
    assert!(f
        .run("fabrikam.com", "LongLivedAppCredentials", json!(12))
        .await
        .is_empty());
    // Back to 12; the secret's end moves (still long-lived): changed.
    f.run("contoso.com", "LongLivedAppCredentials", json!(12))
        .await;
    let further = f.at(1000);
    f.seed("contoso.com", |t| {
        t.applications_mut()[0]["passwordCredentials"][0]["endDateTime"] = json!(further)
    });
    let c = f
        .run("contoso.com", "LongLivedAppCredentials", json!(12))
        .await;
    assert_eq!(
        kinds(&c),
        [(
            "changed",
            "66666666-6666-4666-8666-666666666666:Secret:s-long".to_owned()
        )]
    );
    assert!(data(&c[0])["validityMonths"].as_f64().unwrap() > 33.0);
    f.refused("LongLivedAppCredentials", Value::Null, "InputValue")
        .await;
    f.refused("LongLivedAppCredentials", json!(-1), "InputValue")
        .await;
    f.refused("LongLivedAppCredentials", json!("soon"), "not a number")
        .await;
    f.refused("LongLivedAppCredentials", json!({"Months": 12}), "Months")
        .await;
}

#[tokio::test]
async fn expiring_licenses_read_subscription_lifecycle_dates() {
    let f = Fx::new();
    let (created, renews, far) = (f.at(-345), f.at(20), f.at(200));
    f.seed("contoso.com", |t| {
        let subs = t.subscriptions_mut();
        subs.insert(json!({"id": "sub-spb", "skuId": SPB, "skuPartNumber": "SPB", "status": "Enabled", "totalLicenses": 10,
            "isTrial": false, "createdDateTime": created, "nextLifecycleDateTime": renews}));
        subs.insert(json!({"id": "sub-exo", "skuId": EXCHANGE_STANDARD, "skuPartNumber": "EXCHANGESTANDARD", "status": "Enabled",
            "totalLicenses": 5, "isTrial": false, "createdDateTime": created, "nextLifecycleDateTime": far}));
    });
    let c = f.run("contoso.com", "ExpiringLicenses", Value::Null).await;
    assert_eq!(kinds(&c), [("raised", "sub-spb".to_owned())]);
    assert!(
        message(&c[0]).contains("SPB") && message(&c[0]).contains(&renews[..10]),
        "{}",
        message(&c[0])
    );
    assert_eq!(data(&c[0])["term"], "Yearly");
    // A week later the renewal is closer; the finding is the same: silent.
    day(&f, 7);
    assert!(f
        .run("contoso.com", "ExpiringLicenses", Value::Null)
        .await
        .is_empty());
    // Only licences with unassigned seats: SPB has 4 of 10 free, so it stays, with the
    // count in its data (changed).
    let only = json!({"ExpiringLicensesDays": "30", "ExpiringLicensesUnassignedOnly": true});
    let c = f.run("contoso.com", "ExpiringLicenses", only.clone()).await;
    assert_eq!(kinds(&c), [("changed", "sub-spb".to_owned())]);
    assert_eq!(data(&c[0])["countAvailable"], 4);
    // Every seat assigned: nothing for "unassigned only" (resolved).
    f.set_sku(SPB, |s| s["consumedUnits"] = json!(10));
    let c = f.run("contoso.com", "ExpiringLicenses", only).await;
    assert_eq!(kinds(&c), [("resolved", "sub-spb".to_owned())]);
    // A shorter window or a minimum beyond the date: nothing.
    assert!(f
        .run("contoso.com", "ExpiringLicenses", json!(10))
        .await
        .is_empty());
    assert!(f
        .run(
            "contoso.com",
            "ExpiringLicenses",
            json!({"ExpiringLicensesMinDays": 20})
        )
        .await
        .is_empty());
    // Fabrikam has no licences; Northwind's default subscriptions renew on 1 March.
    assert!(f
        .run("fabrikam.com", "ExpiringLicenses", Value::Null)
        .await
        .is_empty());
    f.refused("ExpiringLicenses", json!(-3), "ExpiringLicensesDays")
        .await;
    f.refused(
        "ExpiringLicenses",
        json!({"ExpiringLicensesDays": 40000}),
        "ExpiringLicensesDays",
    )
    .await;
    f.refused(
        "ExpiringLicenses",
        json!({"ExpiringLicensesDays": 10, "ExpiringLicensesMinDays": 10}),
        "ExpiringLicensesMinDays",
    )
    .await;
    f.refused(
        "ExpiringLicenses",
        json!({"ExpiringLicensesUnassignedOnly": "maybe"}),
        "true or false",
    )
    .await;
    f.refused("ExpiringLicenses", json!({"Days": 3}), "Days")
        .await;
}

#[tokio::test]
async fn unused_licenses_snooze_and_exclusions() {
    let f = Fx::new();
    // CIPP's excluded free licences never count.
    f.seed("contoso.com", |t| {
        t.directory.store.get_mut(paths::SKUS).insert(
            json!({"id": "x", "skuId": POWER_AUTOMATE_FREE, "skuPartNumber": "FLOW_FREE",
            "capabilityStatus": "Enabled", "consumedUnits": 2, "prepaidUnits": {"enabled": 10000}}),
        );
    });
    let mut c = kinds(&f.run("contoso.com", "UnusedLicenses", Value::Null).await);
    c.sort();
    assert_eq!(
        c,
        [
            ("raised", EXCHANGE_STANDARD.to_owned()),
            ("raised", SPB.to_owned())
        ]
    );
    assert!(f
        .run("fabrikam.com", "UnusedLicenses", Value::Null)
        .await
        .is_empty());
    // One more seat used: changed.
    f.set_sku(SPB, |s| s["consumedUnits"] = json!(7));
    let c = f.run("contoso.com", "UnusedLicenses", Value::Null).await;
    assert_eq!(kinds(&c), [("changed", SPB.to_owned())]);
    assert!(
        message(&c[0]).contains("using 7 of 10"),
        "{}",
        message(&c[0])
    );
    // Snoozed for 7 days: a change to it is silent.
    let tenant = f.tenant_id("contoso.com");
    f.state
        .snooze(&tenant, "UnusedLicenses", SPB, Snooze::Days7.until(f.now()))
        .await
        .unwrap();
    f.set_sku(SPB, |s| s["consumedUnits"] = json!(8));
    assert!(f
        .run("contoso.com", "UnusedLicenses", Value::Null)
        .await
        .is_empty());
    // Every seat assigned: resolved (the snooze does not hide the fix).
    f.set_sku(EXCHANGE_STANDARD, |s| s["consumedUnits"] = json!(5));
    let c = f.run("contoso.com", "UnusedLicenses", Value::Null).await;
    assert_eq!(kinds(&c), [("resolved", EXCHANGE_STANDARD.to_owned())]);
}

#[tokio::test]
async fn overused_licenses() {
    let f = Fx::new();
    assert!(f
        .run("contoso.com", "OverusedLicenses", Value::Null)
        .await
        .is_empty());
    f.set_sku(SPB, |s| s["consumedUnits"] = json!(12));
    let c = f.run("contoso.com", "OverusedLicenses", Value::Null).await;
    assert_eq!(kinds(&c), [("raised", SPB.to_owned())]);
    assert_eq!(data(&c[0])["consumedUnits"], 12);
    f.set_sku(SPB, |s| s["consumedUnits"] = json!(13));
    assert_eq!(
        kinds(&f.run("contoso.com", "OverusedLicenses", Value::Null).await),
        [("changed", SPB.to_owned())]
    );
    f.set_sku(SPB, |s| s["consumedUnits"] = json!(10));
    assert_eq!(
        kinds(&f.run("contoso.com", "OverusedLicenses", Value::Null).await),
        [("resolved", SPB.to_owned())]
    );
}

#[tokio::test]
async fn license_assignment_errors() {
    let f = Fx::new();
    let group = "e61ff361-5baf-41f0-b2fd-380a6a5e406a";
    let set = |f: &Fx, error: &str| {
        f.seed("contoso.com", |t| {
            for u in t.directory.users_mut().items_mut() {
                let state = match u["mailNickname"].as_str() {
                    Some("adelev") => json!([{"skuId": SPB, "assignedByGroup": group, "state": "Error", "error": error,
                                              "disabledPlans": [], "lastUpdatedDateTime": "2026-11-20T10:00:00Z"},
                                             {"skuId": EXCHANGE_STANDARD, "assignedByGroup": null, "state": "Active", "error": "None"}]),
                    _ => json!([{"skuId": SPB, "assignedByGroup": null, "state": "Active", "error": "None"}]),
                };
                u["licenseAssignmentStates"] = state;
            }
        })
    };
    set(&f, "CountViolation");
    let c = f
        .run("contoso.com", "LicenseAssignmentErrors", Value::Null)
        .await;
    assert_eq!(c.len(), 1, "{c:?}");
    assert!(c[0].record().subject.ends_with(&format!(":{SPB}:{group}")));
    assert!(
        message(&c[0]).starts_with("adelev@contoso.com: Not enough licenses"),
        "{}",
        message(&c[0])
    );
    assert!(message(&c[0]).contains("(License: SPB)"));
    assert!(f
        .run("fabrikam.com", "LicenseAssignmentErrors", Value::Null)
        .await
        .is_empty());
    set(&f, "MutuallyExclusiveViolation");
    let c = f
        .run("contoso.com", "LicenseAssignmentErrors", Value::Null)
        .await;
    assert!(matches!(c.as_slice(), [Change::Changed(_)]), "{c:?}");
    assert_eq!(data(&c[0])["errorCode"], "MutuallyExclusiveViolation");
    set(&f, "None");
    let c = f
        .run("contoso.com", "LicenseAssignmentErrors", Value::Null)
        .await;
    assert!(matches!(c.as_slice(), [Change::Resolved(_)]), "{c:?}");
}

fn ca_policy(id: &str, name: &str, state: &str) -> Value {
    json!({"id": id, "displayName": name, "state": state,
           "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]}},
           "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}})
}

#[tokio::test]
async fn no_ca_config_needs_the_licence_and_no_policy() {
    let f = Fx::new();
    // Contoso has Entra ID P1 (in Business Premium) and no policy.
    let c = f.run("contoso.com", "NoCAConfig", Value::Null).await;
    assert_eq!(kinds(&c), [("raised", "conditional-access".to_owned())]);
    assert_eq!(
        message(&c[0]),
        "Conditional Access is available, but no policies could be found."
    );
    // Fabrikam has no licence: nothing, and Conditional Access is not even read.
    f.sim.clear_log();
    assert!(f
        .run("fabrikam.com", "NoCAConfig", Value::Null)
        .await
        .is_empty());
    assert_eq!(
        f.sim
            .log()
            .count("GET", "/v1.0/identity/conditionalAccess/policies"),
        0
    );
    assert_eq!(f.sim.log().count("GET", "/v1.0/subscribedSkus"), 1);
    // P2 arrives too: the licences behind it change.
    f.seed("contoso.com", |t| {
        t.directory.store.get_mut(paths::SKUS).insert(json!({"id": "e5", "skuId": "06ebc4ee-1bb5-47dd-8120-11324bc54e06",
            "skuPartNumber": "SPE_E5", "capabilityStatus": "Enabled", "consumedUnits": 0, "prepaidUnits": {"enabled": 5},
            "servicePlans": [{"servicePlanName": "AAD_PREMIUM_P2", "servicePlanId": "eec0eb4f-6444-4f95-aba0-50c24d67f998"}]}));
    });
    let c = f.run("contoso.com", "NoCAConfig", Value::Null).await;
    assert_eq!(kinds(&c), [("changed", "conditional-access".to_owned())]);
    assert_eq!(data(&c[0])["licenses"], json!(["SPB", "SPE_E5"]));
    // A policy is created: resolved.
    f.seed("contoso.com", |t| {
        t.conditional_access
            .store
            .get_mut(paths::CA_POLICIES)
            .insert(ca_policy("p1", "Require MFA", "enabled"));
    });
    let c = f.run("contoso.com", "NoCAConfig", Value::Null).await;
    assert_eq!(kinds(&c), [("resolved", "conditional-access".to_owned())]);
}

#[tokio::test]
async fn sec_defaults_disabled_without_policies() {
    let f = Fx::new();
    // Security defaults are on in the demo tenants: nothing.
    assert!(f
        .run("contoso.com", "SecDefaultsDisabled", Value::Null)
        .await
        .is_empty());
    f.seed("contoso.com", |t| {
        t.conditional_access.security_defaults_disabled = true
    });
    let c = f
        .run("contoso.com", "SecDefaultsDisabled", Value::Null)
        .await;
    assert_eq!(kinds(&c), [("raised", "security-defaults".to_owned())]);
    assert!(message(&c[0]).contains("no baseline security protection"));
    // Unchanged the next day: silent. (The finding has one state: it cannot change, only
    // go away.)
    day(&f, 1);
    assert!(f
        .run("contoso.com", "SecDefaultsDisabled", Value::Null)
        .await
        .is_empty());
    f.seed("contoso.com", |t| {
        t.conditional_access
            .store
            .get_mut(paths::CA_POLICIES)
            .insert(ca_policy("p1", "Require MFA", "enabled"));
    });
    let c = f
        .run("contoso.com", "SecDefaultsDisabled", Value::Null)
        .await;
    assert_eq!(kinds(&c), [("resolved", "security-defaults".to_owned())]);
}

#[tokio::test]
async fn report_only_ca_policies() {
    let f = Fx::new();
    f.seed("contoso.com", |t| {
        let p = t.conditional_access.store.get_mut(paths::CA_POLICIES);
        p.insert(ca_policy(
            "p-pilot",
            "Pilot: block legacy auth",
            "enabledForReportingButNotEnforced",
        ));
        p.insert(ca_policy("p-off", "Old policy", "disabled"));
    });
    let c = f.run("contoso.com", "ReportOnlyCA", Value::Null).await;
    assert_eq!(kinds(&c), [("raised", "p-pilot".to_owned())]);
    assert!(message(&c[0]).contains("Pilot: block legacy auth"));
    // Renamed: changed.
    f.seed("contoso.com", |t| {
        t.conditional_access
            .store
            .get_mut(paths::CA_POLICIES)
            .items_mut()[0]["displayName"] = json!("Pilot: legacy auth");
    });
    assert_eq!(
        kinds(&f.run("contoso.com", "ReportOnlyCA", Value::Null).await),
        [("changed", "p-pilot".to_owned())]
    );
    // Enforced: resolved.
    f.seed("contoso.com", |t| {
        t.conditional_access
            .store
            .get_mut(paths::CA_POLICIES)
            .items_mut()[0]["state"] = json!("enabled");
    });
    assert_eq!(
        kinds(&f.run("contoso.com", "ReportOnlyCA", Value::Null).await),
        [("resolved", "p-pilot".to_owned())]
    );
    // Fabrikam has a report-only policy but no Conditional Access licence: nothing.
    f.seed("fabrikam.com", |t| {
        t.conditional_access
            .store
            .get_mut(paths::CA_POLICIES)
            .insert(ca_policy(
                "f1",
                "Pilot",
                "enabledForReportingButNotEnforced",
            ));
    });
    assert!(f
        .run("fabrikam.com", "ReportOnlyCA", Value::Null)
        .await
        .is_empty());
}

#[tokio::test]
async fn entra_connect_sync_status() {
    let f = Fx::new();
    let now = f.now();
    // Cloud-only: nothing.
    assert!(f
        .run("contoso.com", "EntraConnectSyncStatus", Value::Null)
        .await
        .is_empty());
    // Synced, last run 100 hours ago (default threshold 72 hours).
    f.seed("contoso.com", |t| {
        t.set_directory_sync(Some(true), Some(now - Duration::hours(100)), None)
    });
    let c = f
        .run("contoso.com", "EntraConnectSyncStatus", Value::Null)
        .await;
    assert_eq!(kinds(&c), [("raised", "entra-connect-sync".to_owned())]);
    assert_eq!(data(&c[0])["cause"], "DirectorySync");
    assert!(
        message(&c[0]).contains("over 72 hours"),
        "{}",
        message(&c[0])
    );
    // The same a day later: silent.
    day(&f, 1);
    assert!(f
        .run("contoso.com", "EntraConnectSyncStatus", json!("72"))
        .await
        .is_empty());
    // A longer threshold in CIPP's shapes: nothing (resolved).
    let c = f
        .run(
            "contoso.com",
            "EntraConnectSyncStatus",
            json!({"EntraConnectSyncStatusHours": "200"}),
        )
        .await;
    assert_eq!(kinds(&c), [("resolved", "entra-connect-sync".to_owned())]);
    // A sync ran, but the password hash sync is older and stale: changed cause.
    f.run("contoso.com", "EntraConnectSyncStatus", json!(48))
        .await;
    f.seed("contoso.com", |t| {
        t.set_directory_sync(
            Some(true),
            Some(now - Duration::hours(1)),
            Some(now - Duration::hours(80)),
        )
    });
    let c = f
        .run("contoso.com", "EntraConnectSyncStatus", json!(48))
        .await;
    assert_eq!(kinds(&c), [("changed", "entra-connect-sync".to_owned())]);
    assert_eq!(data(&c[0])["cause"], "PasswordSync");
    // Never synced.
    f.seed("contoso.com", |t| {
        t.set_directory_sync(Some(true), None, None)
    });
    let c = f
        .run("contoso.com", "EntraConnectSyncStatus", json!(48))
        .await;
    assert!(message(&c[0]).contains("never run"), "{}", message(&c[0]));
    // Recovered: resolved.
    f.seed("contoso.com", |t| {
        t.set_directory_sync(Some(true), Some(f.now()), Some(f.now()))
    });
    assert_eq!(
        kinds(
            &f.run("contoso.com", "EntraConnectSyncStatus", json!(48))
                .await
        ),
        [("resolved", "entra-connect-sync".to_owned())]
    );
    f.refused(
        "EntraConnectSyncStatus",
        json!(-5),
        "EntraConnectSyncStatusHours",
    )
    .await;
    f.refused("EntraConnectSyncStatus", json!(1.5), "whole number")
        .await;
    f.refused("EntraConnectSyncStatus", json!({"Hours": 5}), "Hours")
        .await;
}

fn score(f: &Fx, days_ago: i64, current: f64) -> Value {
    let day = (f.now() - Duration::days(days_ago))
        .format("%Y-%m-%d")
        .to_string();
    json!({"id": format!("t_{day}"), "createdDateTime": format!("{day}T00:00:00Z"),
           "currentScore": current, "maxScore": 80.0, "controlScores": []})
}

#[tokio::test]
async fn secure_score_thresholds() {
    let f = Fx::new();
    let (today, yesterday) = (score(&f, 0, 30.0), score(&f, 1, 60.0));
    f.seed("contoso.com", |t| {
        t.secure_scores_mut().replace_all(vec![yesterday, today])
    });
    let percent =
        json!({"ThresholdType": {"value": "percent", "label": "Percentage"}, "InputValue": "50"});
    let c = f.run("contoso.com", "SecureScore", percent.clone()).await;
    assert_eq!(kinds(&c), [("raised", "secure-score".to_owned())]);
    assert_eq!(data(&c[0])["currentScorePercentage"], 37.5);
    // Fabrikam's score (the simulator's default, 42 of 80 = 52.5%) is above 50%.
    assert!(f
        .run("fabrikam.com", "SecureScore", percent.clone())
        .await
        .is_empty());
    // The score moves but stays low: changed.
    let better = score(&f, 0, 35.0);
    f.seed("contoso.com", |t| {
        t.secure_scores_mut().items_mut()[1] = better
    });
    let c = f.run("contoso.com", "SecureScore", percent.clone()).await;
    assert_eq!(kinds(&c), [("changed", "secure-score".to_owned())]);
    assert_eq!(data(&c[0])["currentScorePercentage"], 43.75);
    // Points and drops.
    let g = Fx::new();
    let (today, yesterday) = (score(&g, 0, 30.0), score(&g, 1, 60.0));
    g.seed("contoso.com", |t| {
        t.secure_scores_mut().replace_all(vec![today, yesterday])
    });
    assert!(g
        .run(
            "contoso.com",
            "SecureScore",
            json!({"ThresholdType": "absolute", "InputValue": 20})
        )
        .await
        .is_empty());
    let c = g
        .run(
            "contoso.com",
            "SecureScore",
            json!({"ThresholdType": "absolute", "InputValue": 40}),
        )
        .await;
    assert_eq!(kinds(&c), [("raised", "secure-score".to_owned())]);
    let c = g
        .run(
            "contoso.com",
            "SecureScore",
            json!({"ThresholdType": "drop", "InputValue": 25}),
        )
        .await;
    assert_eq!(kinds(&c), [("changed", "secure-score".to_owned())]);
    assert_eq!(data(&c[0])["dropPercentage"], 50.0);
    assert!(
        message(&c[0]).contains("from 60 to 30"),
        "{}",
        message(&c[0])
    );
    // Recovered: resolved.
    g.seed("contoso.com", |t| {
        t.secure_scores_mut().items_mut()[0]["currentScore"] = json!(58.0)
    });
    let c = g
        .run(
            "contoso.com",
            "SecureScore",
            json!({"ThresholdType": "drop", "InputValue": 25}),
        )
        .await;
    assert_eq!(kinds(&c), [("resolved", "secure-score".to_owned())]);
    f.refused("SecureScore", json!({"InputValue": 50}), "ThresholdType")
        .await;
    f.refused(
        "SecureScore",
        json!({"ThresholdType": "percent"}),
        "InputValue",
    )
    .await;
    f.refused(
        "SecureScore",
        json!({"ThresholdType": "percent", "InputValue": 150}),
        "percentage",
    )
    .await;
    f.refused(
        "SecureScore",
        json!({"ThresholdType": "median", "InputValue": 5}),
        "median",
    )
    .await;
    f.refused("SecureScore", json!(50), "ThresholdType").await;
}
