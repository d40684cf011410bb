//! The Entra (AAD) standards on the simulator: every standard on a fresh tenant (drifted
//! where Microsoft's default differs from the standard, compliant otherwise), remediated,
//! read again and compliant; all of them at once through one shared read (`$batch`);
//! inactive guests, members and stale devices in a seeded tenant; settings refused before
//! anything is sent; and `check` on hand-made snapshots.

use std::sync::Arc;

use cipp_core::{Clock, Error, ManualClock, TenantId};
use cipp_exchange::ExoClient;
use cipp_graph::settings::{GraphSetting, PASSWORD_RULE_SETTINGS};
use cipp_graph::GraphClient;
use cipp_sim::kit::{TenantSeed, UserSeed};
use cipp_sim::Simulator;
use cipp_templates::standards::catalogue::entra::lifecycle::{
    DisableGuests, DisableInactiveUsers, StaleEntraDevices,
};
use cipp_templates::standards::catalogue::entra::policies::PasswordExpireDisabled;
use cipp_templates::standards::compare::differences;
use cipp_templates::standards::read::{fetch, GraphListing};
use cipp_templates::standards::{Catalogue, Check, Read, Snapshot, Standard, TenantTarget};
use serde_json::{json, Value};

mod wire;
use wire::sim_pipeline;

const TENANT: &str = "contoso.onmicrosoft.com";
const NOW: &str = "2026-11-27T09:00:00Z";

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(NOW.parse().unwrap()))
}

fn target(sim: &Simulator) -> TenantTarget {
    let p = sim_pipeline(sim);
    let t = TenantId::parse(TENANT).unwrap();
    TenantTarget {
        graph: GraphClient::new(p.clone()).tenant(&t),
        exchange: ExoClient::new(p).tenant(&t),
    }
}

fn fresh() -> Simulator {
    Simulator::builder()
        .clock(clock())
        .tenant(TenantSeed::new(TENANT, "Contoso").domain("contoso.com"))
        .build()
}

fn standard(name: &str) -> Arc<dyn Standard> {
    Catalogue::builtin().require(name).unwrap().clone()
}

/// The standards, with settings, and whether a new tenant is drifted from each.
fn cases() -> Vec<(Arc<dyn Standard>, Value, bool)> {
    let c: Arc<dyn Clock> = clock();
    let s = standard;
    vec![
        (s("DisableAppCreation"), json!({}), true),
        (s("DisableTenantCreation"), json!({}), true),
        (s("DisableSecurityGroupUsers"), json!({}), true),
        (
            s("GuestInvite"),
            json!({"allowInvitesFrom": {"label": "Admins and Guest inviters", "value": "adminsAndGuestInviters"}}),
            true,
        ),
        (s("DisableGuestDirectory"), json!({}), true),
        (
            s("BitLockerKeysForOwnedDevice"),
            json!({"state": {"label": "Restrict", "value": "restrict"}}),
            true,
        ),
        (
            s("OauthConsent"),
            json!({"AllowedApps": "d3590ed6-52b3-4102-aeff-aad2292ab01c, 1fec8e78-bce4-4aaf-ab1b-5451cc387264"}),
            true,
        ),
        (s("SecurityDefaults"), json!({}), false),
        (s("DisableSMS"), json!({}), true),
        (s("DisableVoice"), json!({}), true),
        (s("DisableEmail"), json!({}), true),
        (s("EnableFIDO2"), json!({}), true),
        (s("EnableHardwareOAuth"), json!({}), true),
        (s("allowOAuthTokens"), json!({}), true),
        (s("Disablex509Certificate"), json!({}), false),
        (s("DisableQRCodePin"), json!({}), false),
        (
            s("TAP"),
            json!({"config": {"label": "Only Once", "value": "true"}, "MinimumLifetime": "60", "MaximumLifetime": 480}),
            true,
        ),
        (s("allowOTPTokens"), json!({}), true),
        (s("PWdisplayAppInformationRequiredState"), json!({}), true),
        (
            s("PWcompanionAppAllowedState"),
            json!({"state": {"value": "enabled"}}),
            true,
        ),
        (
            s("NudgeMFA"),
            json!({"state": {"value": "enabled"}, "snoozeDurationInDays": 3}),
            true,
        ),
        (
            s("AuthMethodsSettings"),
            json!({"ReportSuspiciousActivity": {"value": "enabled"}, "SystemCredential": "enabled"}),
            true,
        ),
        (s("EnableAppConsentRequests"), json!({}), true),
        (
            s("ExternalMFATrusted"),
            json!({"state": {"label": "Enabled", "value": "true"}}),
            true,
        ),
        (
            s("AppManagementPolicy"),
            json!({"passwordCredentialsPasswordAddition": {"value": "enabled"},
            "passwordCredentialsCustomPasswordAddition": {"value": "enabled"},
            "passwordCredentialsMaxLifetime": 180, "keyCredentialsMaxLifetime": "365"}),
            true,
        ),
        (s("laps"), json!({}), true),
        (
            s("intuneDeviceRegLocalAdmins"),
            json!({"disableRegisteringUsers": true, "enableGlobalAdmins": true}),
            true,
        ),
        (
            s("CustomBannedPasswordList"),
            json!({"BannedWords": "contoso, northwind;fabrikam\nWoodgrove"}),
            true,
        ),
        (
            s("SmartLockout"),
            json!({"LockoutDurationInSeconds": 120, "LockoutThreshold": "5",
            "EnableBannedPasswordCheckOnPremises": false, "BannedPasswordCheckOnPremisesMode": {"value": "Enforced"}}),
            true,
        ),
        (s("DisableM365GroupUsers"), json!({}), true),
        (s("PasswordExpireDisabled"), json!({}), true),
        (
            Arc::new(DisableGuests::with_clock(c.clone())),
            json!({"days": 90}),
            false,
        ),
        (
            Arc::new(DisableInactiveUsers::with_clock(c.clone())),
            json!({"days": "180"}),
            false,
        ),
        (
            Arc::new(StaleEntraDevices::with_clock(c)),
            json!({"deviceAgeThreshold": 90}),
            false,
        ),
    ]
}

/// Current vs expected of one standard from `snapshot`; the differences.
fn evaluate(s: &dyn Standard, settings: &Value, snapshot: &Snapshot) -> (Value, Value, usize) {
    match s
        .check(settings, snapshot)
        .unwrap_or_else(|e| panic!("{}: {e}", s.id()))
    {
        Check::Evaluated { current, expected } => {
            let n = differences(&current, &expected, true).len();
            (current, expected, n)
        }
        other => panic!("{}: {other:?}", s.id()),
    }
}

/// Fresh check (drifted as `drifted` says), remediation, a new read, compliant.
async fn round_trip(t: &TenantTarget, s: &dyn Standard, settings: &Value, drifted: bool) {
    s.validate(settings)
        .unwrap_or_else(|e| panic!("{}: {e}", s.id()));
    let snapshot = fetch(t, &s.reads(settings)).await;
    let (current, expected, n) = evaluate(s, settings, &snapshot);
    assert_eq!(
        n > 0,
        drifted,
        "{} on a new tenant: {current} vs {expected}",
        s.id()
    );
    if !drifted {
        return;
    }
    s.remediate(settings, &snapshot, t)
        .await
        .unwrap_or_else(|e| panic!("{} remediate: {e}", s.id()));
    let again = fetch(t, &s.reads(settings)).await;
    let (current, expected, n) = evaluate(s, settings, &again);
    assert_eq!(
        n,
        0,
        "{} after remediation: {current} vs {expected}",
        s.id()
    );
}

#[tokio::test]
async fn every_standard_on_a_fresh_tenant_remediates_to_compliant() {
    let cases = cases();
    assert!(cases.len() >= 27);
    for (s, settings, drifted) in &cases {
        // Each standard on a tenant of its own: what one does never helps another.
        let sim = fresh();
        round_trip(&target(&sim), &**s, settings, *drifted).await;
    }
    // Every Entra standard of the catalogue is covered (one is not applicable, below).
    let covered: Vec<&str> = cases.iter().map(|(s, _, _)| s.meta().name).collect();
    for s in cipp_templates::standards::catalogue::entra::standards() {
        let name = s.meta().name;
        assert!(
            covered.contains(&name) || name == "DisableSelfServiceLicenses",
            "{name} untested"
        );
    }
}

#[tokio::test]
async fn all_standards_share_one_read_and_remediate_together() {
    let sim = fresh();
    let t = target(&sim);
    let cases = cases();
    let reads: Vec<Read> = cases.iter().flat_map(|(s, v, _)| s.reads(v)).collect();
    let snapshot = fetch(&t, &reads).await;
    sim.clear_log();
    for (s, settings, drifted) in &cases {
        let (_, _, n) = evaluate(&**s, settings, &snapshot);
        assert_eq!(n > 0, *drifted, "{}", s.id());
        if n > 0 {
            s.remediate(settings, &snapshot, &t)
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", s.id()));
        }
    }
    let log = sim.log();
    let writes = log.writes().len();
    assert!(writes >= 27, "{writes} writes");
    let again = fetch(&t, &reads).await;
    for (s, settings, _) in &cases {
        let (current, expected, n) = evaluate(&**s, settings, &again);
        assert_eq!(n, 0, "{}: {current} vs {expected}", s.id());
    }
    // The policy objects were read in $batch, not one request each.
    let batched = sim.log().entries().iter().filter(|r| r.in_batch).count();
    assert!(batched >= 10, "{batched} reads in $batch");
}

#[tokio::test]
async fn self_service_licences_are_not_applicable_and_read_nothing() {
    let sim = fresh();
    let t = target(&sim);
    let s = standard("DisableSelfServiceLicenses");
    let settings = json!({"Exclusions": "a;b", "DisableTrials": true});
    s.validate(&settings).unwrap();
    assert!(s.reads(&settings).is_empty());
    let snapshot = fetch(&t, &[]).await;
    let Check::NotApplicable(why) = s.check(&settings, &snapshot).unwrap() else {
        panic!("applicable")
    };
    assert!(why.contains("licensing"), "{why}");
    assert!(s.remediate(&settings, &snapshot, &t).await.is_err());
    assert_eq!(sim.request_log().len(), 0, "nothing sent");
}

fn user(upn: &str, kind: &str, created: &str, last: Option<Value>) -> UserSeed {
    let mut u = UserSeed::new(upn, upn.split('@').next().unwrap())
        .property("userType", json!(kind))
        .property("createdDateTime", json!(created));
    if let Some(last) = last {
        u = u.property(
            "signInActivity",
            json!({"lastSuccessfulSignInDateTime": last}),
        );
    }
    u
}

fn device(id: &str, name: &str, last: Value, enabled: bool) -> Value {
    json!({"id": id, "deviceId": format!("dev-{name}"), "displayName": name, "accountEnabled": enabled,
           "approximateLastSignInDateTime": last, "operatingSystem": "Windows", "trustType": "AzureAd"})
}

const REENABLED: &str = "back_fabrikam.com#EXT#@contoso.onmicrosoft.com";

fn seeded() -> Simulator {
    let g = |n: &str| format!("{n}_fabrikam.com#EXT#@contoso.onmicrosoft.com");
    let reenabled_id = cipp_sim::state::synthetic_guid(&REENABLED.to_ascii_lowercase());
    Simulator::builder()
        .clock(clock())
        .tenant(
            TenantSeed::new(TENANT, "Contoso")
                .domain("contoso.com")
                .user(user(&g("stale"), "Guest", "2025-01-01T00:00:00Z", Some(json!("2025-06-01T00:00:00Z"))))
                .user(user(&g("active"), "Guest", "2025-01-01T00:00:00Z", Some(json!("2026-11-01T00:00:00Z"))))
                .user(user(&g("never"), "Guest", "2025-01-01T00:00:00Z", Some(Value::Null)))
                .user(user(REENABLED, "Guest", "2025-01-01T00:00:00Z", Some(json!("2025-06-01T00:00:00Z"))))
                .user(user("old@contoso.com", "Member", "2025-01-01T00:00:00Z", Some(json!("2026-03-01T00:00:00Z"))))
                .user(user("neverin@contoso.com", "Member", "2025-01-01T00:00:00Z", Some(Value::Null)))
                .user(user("synced@contoso.com", "Member", "2025-01-01T00:00:00Z", Some(json!("2025-01-02T00:00:00Z"))).synced())
                .user(user("nodata@contoso.com", "Member", "2025-01-01T00:00:00Z", None))
                .user(user("new@contoso.com", "Member", "2026-11-01T00:00:00Z", Some(Value::Null)))
                .user(user("gone@contoso.com", "Member", "2025-01-01T00:00:00Z", Some(json!("2025-01-02T00:00:00Z"))).disabled())
                .user(user("busy@contoso.com", "Member", "2025-01-01T00:00:00Z", Some(json!("2026-11-26T00:00:00Z"))))
                .audit_event(json!({"id": "Directory_a1", "category": "UserManagement", "activityDisplayName": "Enable account",
                    "activityDateTime": "2026-11-25T10:00:00Z", "result": "success", "loggedByService": "Core Directory",
                    "operationType": "Update", "initiatedBy": {"user": {"id": "x", "userPrincipalName": "admin@contoso.com"}},
                    "targetResources": [{"id": reenabled_id, "type": "User", "userPrincipalName": REENABLED}], "additionalDetails": []}))
                .directory("devices", device("0d000000-0000-4000-8000-000000000001", "PC-OLD", json!("2025-01-01T00:00:00Z"), true))
                .directory("devices", device("0d000000-0000-4000-8000-000000000002", "PC-OFF", json!("2025-01-01T00:00:00Z"), false))
                .directory("devices", device("0d000000-0000-4000-8000-000000000003", "PC-NEW", json!("2026-11-20T00:00:00Z"), true))
                .directory("devices", device("0d000000-0000-4000-8000-000000000004", "PC-UNUSED", Value::Null, true)),
        )
        .build()
}

fn names(rows: &Value, key: &str) -> Vec<String> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| r[key].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn inactive_guests_members_and_stale_devices_are_found_and_disabled() {
    let sim = seeded();
    let t = target(&sim);
    let c: Arc<dyn Clock> = clock();
    let guests = DisableGuests::with_clock(c.clone());
    let members = DisableInactiveUsers::with_clock(c.clone());
    let devices = StaleEntraDevices::with_clock(c);
    let gs = json!({"days": 90});
    let ms = json!({"days": 180});
    let ds = json!({"deviceAgeThreshold": "90"});
    let reads: Vec<Read> = [guests.reads(&gs), members.reads(&ms), devices.reads(&ds)].concat();
    let snapshot = fetch(&t, &reads).await;

    let (current, _, n) = evaluate(&guests, &gs, &snapshot);
    assert!(n > 0);
    assert_eq!(current["GuestsDisabledAccountCount"], 1, "{current}");
    assert_eq!(
        names(
            &current["GuestsDisabledAccountDetails"],
            "userPrincipalName"
        ),
        ["stale_fabrikam.com#EXT#@contoso.onmicrosoft.com"],
        "active, never signed in and re-enabled guests are left"
    );
    let (current, _, _) = evaluate(&members, &ms, &snapshot);
    assert_eq!(
        names(&current["UsersDisabledAccountDetails"], "userPrincipalName"),
        ["neverin@contoso.com", "old@contoso.com"],
        "sorted; synced, no data, new, disabled and busy members left"
    );
    assert_eq!(
        (
            current["UsersStaleSignInCount"].as_i64(),
            current["UsersNeverSignedInCount"].as_i64()
        ),
        (Some(1), Some(1))
    );
    let (current, _, _) = evaluate(&devices, &ds, &snapshot);
    assert_eq!(
        names(&current["StaleDevices"], "displayName"),
        ["PC-OLD"],
        "disabled, recent and never-seen devices left"
    );

    sim.clear_log();
    guests.remediate(&gs, &snapshot, &t).await.unwrap();
    members.remediate(&ms, &snapshot, &t).await.unwrap();
    devices.remediate(&ds, &snapshot, &t).await.unwrap();
    let log = sim.log();
    let writes = log.writes();
    assert_eq!(
        writes.len(),
        4,
        "one write per offending object: {writes:?}"
    );
    assert!(
        writes.iter().all(|w| w.method == "PATCH"),
        "disabled, never deleted"
    );

    let again = fetch(&t, &reads).await;
    for (s, v) in [
        (&guests as &dyn Standard, &gs),
        (&members, &ms),
        (&devices, &ds),
    ] {
        let (current, expected, n) = evaluate(s, v, &again);
        assert_eq!(n, 0, "{}: {current} vs {expected}", s.id());
    }
    let st = sim.lock_state();
    let ten = st.tenant(TENANT).unwrap();
    let enabled = |upn: &str| ten.directory.user(upn).unwrap()["accountEnabled"].clone();
    assert_eq!(enabled("old@contoso.com"), false);
    assert_eq!(enabled("busy@contoso.com"), true);
    assert_eq!(enabled(REENABLED), true);
}

#[tokio::test]
async fn invalid_settings_are_refused_naming_the_field() {
    let refusals: Vec<(&str, Value, &str)> = vec![
        ("GuestInvite", json!({}), "allowInvitesFrom"),
        (
            "GuestInvite",
            json!({"allowInvitesFrom": "anyone"}),
            "allowInvitesFrom",
        ),
        (
            "BitLockerKeysForOwnedDevice",
            json!({"state": "maybe"}),
            "state",
        ),
        (
            "OauthConsent",
            json!({"AllowedApps": "not-an-app"}),
            "AllowedApps",
        ),
        (
            "TAP",
            json!({"MinimumLifetime": 600, "MaximumLifetime": 60}),
            "MinimumLifetime",
        ),
        ("TAP", json!({"DefaultLifetime": 5}), "DefaultLifetime"),
        ("TAP", json!({"TAPLength": 4}), "TAPLength"),
        ("TAP", json!({"MinimumLifetime": "sixty"}), "TAP"),
        (
            "PWcompanionAppAllowedState",
            json!({"state": "on"}),
            "state",
        ),
        (
            "NudgeMFA",
            json!({"state": "enabled", "snoozeDurationInDays": 15}),
            "snoozeDurationInDays",
        ),
        ("NudgeMFA", json!({"snoozeDurationInDays": 1}), "state"),
        ("AuthMethodsSettings", json!({}), "ReportSuspiciousActivity"),
        (
            "AuthMethodsSettings",
            json!({"SystemCredential": "sometimes"}),
            "SystemCredential",
        ),
        (
            "EnableAppConsentRequests",
            json!({"ReviewerRoles": [{"label": "x", "value": "admins"}]}),
            "ReviewerRoles",
        ),
        ("ExternalMFATrusted", json!({}), "state"),
        (
            "ExternalMFATrusted",
            json!({"state": "perhaps"}),
            "ExternalMFATrusted",
        ),
        (
            "AppManagementPolicy",
            json!({}),
            "passwordCredentialsPasswordAddition",
        ),
        (
            "AppManagementPolicy",
            json!({"passwordCredentialsMaxLifetime": 0}),
            "passwordCredentialsMaxLifetime",
        ),
        ("CustomBannedPasswordList", json!({}), "BannedWords"),
        (
            "CustomBannedPasswordList",
            json!({"BannedWords": "ok-word, abc, waytoolongforthelist"}),
            "BannedWords",
        ),
        (
            "SmartLockout",
            json!({"LockoutThreshold": 0}),
            "LockoutThreshold",
        ),
        (
            "SmartLockout",
            json!({"BannedPasswordCheckOnPremisesMode": "Block"}),
            "BannedPasswordCheckOnPremisesMode",
        ),
        ("DisableGuests", json!({"days": 0}), "days"),
        ("DisableInactiveUsers", json!({"days": 29}), "days"),
        (
            "StaleEntraDevices",
            json!({"deviceAgeThreshold": 10}),
            "deviceAgeThreshold",
        ),
        ("StaleEntraDevices", json!({}), "deviceAgeThreshold"),
    ];
    let c = Catalogue::builtin();
    for (name, settings, field) in refusals {
        let err = c.require(name).unwrap().validate(&settings).unwrap_err();
        assert!(matches!(err, Error::InvalidInput { .. }), "{name}: {err}");
        assert!(err.to_string().contains(field), "{name} {settings}: {err}");
    }
    let many: Vec<String> = (0..1001).map(|i| format!("word{i:04}")).collect();
    let err = c
        .require("CustomBannedPasswordList")
        .unwrap()
        .validate(&json!({"BannedWords": many.join(",")}))
        .unwrap_err();
    assert!(err.to_string().contains("1001"), "{err}");
    let ok = [
        ("DisableInactiveUsers", json!({"days": 30})),
        ("GuestInvite", json!({"allowInvitesFrom": "none"})),
        ("SmartLockout", json!({})),
        ("TAP", json!({})),
    ];
    for (name, settings) in ok {
        c.require(name)
            .unwrap()
            .validate(&settings)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

fn snapshot(reads: Vec<(Read, Value)>) -> Snapshot {
    Snapshot::from_answers(reads.into_iter().map(|(r, v)| (r, Ok(v))))
}

#[test]
fn password_expiry_skips_subdomains_and_unverified_domains() {
    let domains = json!([
        {"id": "contoso.com", "isVerified": true, "passwordValidityPeriodInDays": 90},
        {"id": "eu.contoso.com", "isVerified": true, "passwordValidityPeriodInDays": 90},
        {"id": "contoso.onmicrosoft.com", "isVerified": true, "passwordValidityPeriodInDays": 2147483647},
        {"id": "pending.net", "isVerified": false, "passwordValidityPeriodInDays": null},
        {"id": "Adatum.com", "isVerified": true}
    ]);
    let s = PasswordExpireDisabled::new();
    let snap = snapshot(vec![(Read::GraphList(GraphListing::Domains), domains)]);
    let (current, _, n) = evaluate(&s, &json!({}), &snap);
    assert_eq!(n, 1);
    assert_eq!(
        current["DomainsWithoutPassExpire"],
        json!(["Adatum.com", "contoso.com"])
    );
}

#[test]
fn banned_password_list_and_smart_lockout_read_the_directory_setting() {
    let listing = |values: Value| {
        json!([{"id": "s1", "templateId": PASSWORD_RULE_SETTINGS, "displayName": "Password Rule Settings", "values": values},
               {"id": "s2", "templateId": "62375ab9-6b52-47ed-826b-58e47e0e304b", "values": [{"name": "EnableGroupCreation", "value": "FALSE"}]}])
    };
    let snap = snapshot(vec![(
        Read::Graph(GraphSetting::DirectorySettings),
        listing(json!([
        {"name": "EnableBannedPasswordCheck", "value": "true"},
        {"name": "BannedPasswordList", "value": "Contoso\tfabrikam"},
        {"name": "LockoutDurationInSeconds", "value": "60"}, {"name": "LockoutThreshold", "value": "10"},
        {"name": "EnableBannedPasswordCheckOnPremises", "value": "false"}, {"name": "BannedPasswordCheckOnPremisesMode", "value": "Audit"}])),
    )]);
    let banned = standard("CustomBannedPasswordList");
    let (current, _, n) = evaluate(
        &*banned,
        &json!({"BannedWords": "contoso,Woodgrove"}),
        &snap,
    );
    assert_eq!(n, 1, "{current}");
    assert_eq!(
        current["MissingInputWords"],
        json!(["Woodgrove"]),
        "words compared case-insensitively"
    );
    assert_eq!(current["Enabled"], true, "`true` read as True");
    let (_, _, n) = evaluate(&*banned, &json!({"BannedWords": "FABRIKAM"}), &snap);
    assert_eq!(n, 0);
    let lockout = standard("SmartLockout");
    let (_, _, n) = evaluate(&*lockout, &json!({}), &snap);
    assert_eq!(n, 0, "CIPP's defaults hold");
    let (current, expected, n) = evaluate(
        &*lockout,
        &json!({"BannedPasswordCheckOnPremisesMode": "Enforced"}),
        &snap,
    );
    assert_eq!(
        (n, expected["BannedPasswordCheckOnPremisesMode"].as_str()),
        (1, Some("Enforce")),
        "{current}"
    );
    let groups = standard("DisableM365GroupUsers");
    assert_eq!(
        evaluate(&*groups, &json!({}), &snap).2,
        0,
        "FALSE in any case"
    );
    let none = snapshot(vec![(
        Read::Graph(GraphSetting::DirectorySettings),
        json!([]),
    )]);
    let (current, _, _) = evaluate(&*lockout, &json!({}), &none);
    assert_eq!(current["LockoutThreshold"], "Not Configured");
    let (current, _, _) = evaluate(&*banned, &json!({"BannedWords": "beta, alpha"}), &none);
    assert_eq!(current["MissingInputWords"], json!(["alpha", "beta"]));
    assert_eq!(current["Status"], "Not Configured");
}

#[test]
fn consent_standards_compare_only_what_they_own() {
    let authz = json!({"defaultUserRolePermissions": {"permissionGrantPoliciesAssigned": [
        "ManagePermissionGrantsForOwnedResource.microsoft-dynamically-managed-permissions-for-team",
        "ManagePermissionGrantsForSelf.cipp-consent-policy"]}});
    let includes = json!([
        {"id": "1", "permissionType": "delegated", "permissionClassification": "all", "clientApplicationIds": ["00b41c95-dab0-4487-9791-b9d2c32c80f2"]},
        {"id": "2", "permissionType": "application", "permissionClassification": "all", "clientApplicationIds": ["11111111-1111-4111-8111-111111111111"]},
        {"id": "3", "permissionType": "delegated", "permissionClassification": "low", "clientApplicationIds": ["all"]}
    ]);
    let snap = snapshot(vec![
        (Read::Graph(GraphSetting::AuthorizationPolicy), authz),
        (
            Read::Graph(GraphSetting::PermissionGrantIncludes(
                "cipp-consent-policy".into(),
            )),
            includes,
        ),
    ]);
    let oauth = standard("OauthConsent");
    let (current, _, n) = evaluate(&*oauth, &json!({}), &snap);
    assert_eq!(
        n, 0,
        "other includes and resource-specific consent are not compared: {current}"
    );
    let (current, _, n) = evaluate(
        &*oauth,
        &json!({"AllowedApps": "11111111-1111-4111-8111-111111111111"}),
        &snap,
    );
    assert_eq!(n, 1);
    assert_eq!(
        current["includes"].as_array().unwrap().len(),
        2,
        "delegated consent to the app is missing"
    );

    let policy = json!({"isEnabled": true, "reviewers": [
        {"query": "/users/aaaa", "queryType": "MicrosoftGraph"},
        {"query": "/beta/roleManagement/directory/roleAssignments?$filter=roleDefinitionId eq '62E90394-69F5-4237-9190-012177145E10'", "queryType": "MicrosoftGraph"}]});
    let snap = snapshot(vec![(
        Read::Graph(GraphSetting::AdminConsentRequestPolicy),
        policy,
    )]);
    let requests = standard("EnableAppConsentRequests");
    assert_eq!(
        evaluate(&*requests, &json!({}), &snap).2,
        0,
        "Global Administrator by default, any case"
    );
    let (current, _, n) = evaluate(
        &*requests,
        &json!({"ReviewerRoles": [{"label": "Security Administrator", "value": "194ae4cb-b126-40b2-bd5b-6091b380977d"}]}),
        &snap,
    );
    assert_eq!((n, current["ReviewerRoles"].clone()), (1, json!([])));
}

#[test]
fn an_includes_read_failing_otherwise_than_404_fails_the_check() {
    let authz = json!({"defaultUserRolePermissions": {"permissionGrantPoliciesAssigned": []}});
    let includes = Read::Graph(GraphSetting::PermissionGrantIncludes(
        "cipp-consent-policy".into(),
    ));
    let not_found = Error::invalid_input("x", "y");
    let mut snap = snapshot(vec![(
        Read::Graph(GraphSetting::AuthorizationPolicy),
        authz,
    )]);
    snap.insert(includes.clone(), Err(not_found));
    assert!(
        standard("OauthConsent").check(&json!({}), &snap).is_err(),
        "an error that is not a 404 fails the check"
    );
}
