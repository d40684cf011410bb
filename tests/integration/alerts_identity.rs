//! Identity alerts on the simulator (the demo's Contoso: Diego Siciliani is the Global
//! Administrator, Adele and Megan have MFA methods, every enabled user holds Business
//! Premium): per alert a finding, none, a changed finding; resolved (reported only when
//! asked) and snoozed once with `MFAAdmins`; input refused before anything is sent.

use crate::common;

use std::sync::Arc;

use cipp::alerts::{run_alert, AlertCatalogue, AlertService};
use cipp::core::{Clock, ManualClock};
use cipp::scheduler::alert_state::{AlertStateStore, Change, MemoryAlertState, Snooze};
use cipp::sim::state::synthetic_guid;
use cipp::sim::{SimTenant, Simulator};
use cipp::{Cipp, TenantId};
use serde_json::{json, Value};

const GA: &str = "62e90394-69f5-4237-9190-012177145e10";
const EXCHANGE_ADMIN: &str = "29232cdf-9323-42fd-ade2-1d097af3e4de";
const HELPDESK_ADMIN: &str = "729827e3-9c14-49f7-bb1b-9608f156bbb8";

/// A Contoso user's object id.
fn id(alias: &str) -> String {
    synthetic_guid(&format!("{alias}@contoso.com"))
}

fn ts(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The demo on a manual clock, the catalogue, and one alert state.
struct Harness {
    sim: Simulator,
    cipp: Cipp,
    clock: ManualClock,
    service: AlertService,
    state: Arc<MemoryAlertState>,
}

impl Harness {
    fn new() -> Harness {
        let clock = common::demo_clock();
        let (sim, cipp) = common::demo(Some(&clock), common::Fleet::Partner);
        let state = Arc::new(MemoryAlertState::new());
        let service = AlertService {
            catalogue: Arc::new(AlertCatalogue::builtin()),
            state: state.clone(),
            standards: None,
        };
        Harness {
            sim,
            cipp,
            clock,
            service,
            state,
        }
    }

    /// The same catalogue with a new, empty alert state (another task's view).
    fn fresh(&self) -> AlertService {
        AlertService {
            state: Arc::new(MemoryAlertState::new()),
            ..self.service.clone()
        }
    }

    /// Runs `alert` in `tenant` with `input` (resolved changes reported).
    async fn run_in(
        &self,
        service: &AlertService,
        tenant: &str,
        alert: &str,
        input: Value,
    ) -> Vec<Change> {
        let a = service
            .catalogue
            .get(alert)
            .expect("alert in catalogue")
            .clone();
        let t = self
            .cipp
            .tenant(&TenantId::parse(tenant).expect("tenant"))
            .unwrap();
        run_alert(&t, a.as_ref(), service, &input, true)
            .await
            .expect("alert runs")
    }

    async fn run(&self, alert: &str, input: Value) -> Vec<Change> {
        self.run_in(&self.service, "contoso.com", alert, input)
            .await
    }

    /// Runs with the input and expects a refusal, with nothing sent.
    async fn refused(&self, alert: &str, input: Value) -> String {
        let before = self.sim.log().entries().len();
        let a = self.service.catalogue.get(alert).expect("alert").clone();
        assert!(a.validate(&input).is_err(), "{alert} accepted {input}");
        let t = self
            .cipp
            .tenant(&TenantId::parse("contoso.com").expect("tenant"))
            .unwrap();
        let e = run_alert(&t, a.as_ref(), &self.service, &input, true)
            .await
            .expect_err("bad input refused");
        assert_eq!(
            self.sim.log().entries().len(),
            before,
            "nothing sent for {input}"
        );
        e.to_string()
    }

    fn contoso<R>(&self, f: impl FnOnce(&mut SimTenant) -> R) -> R {
        let mut st = self.sim.lock_state();
        f(st.tenant_mut("contoso.com").expect("contoso"))
    }

    fn user<R>(&self, alias: &str, f: impl FnOnce(&mut Value) -> R) -> R {
        let uid = id(alias);
        self.contoso(|t| {
            let u = t.directory.users_mut().get_mut(&uid).expect("user");
            f(u)
        })
    }

    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    fn advance_hours(&self, h: u64) {
        self.clock.advance(std::time::Duration::from_secs(h * 3600));
    }
}

/// `(label, subject)` of each change, sorted.
fn kinds(changes: &[Change]) -> Vec<(&'static str, String)> {
    let mut v: Vec<_> = changes
        .iter()
        .map(|c| (c.label(), c.record().subject.clone()))
        .collect();
    v.sort();
    v
}

fn message(c: &Change) -> String {
    c.record().row["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn every_identity_alert_is_catalogued_with_cipp_metadata() {
    let c = AlertCatalogue::builtin();
    let expect: [(&str, &str, &[&str]); 13] = [
        ("MFAAdmins", "1d", &["IncludeDisabled"]),
        ("MFAAlertUsers", "1d", &["InputValue"]),
        ("NewMFADevice", "1h", &[]),
        ("AdminPassword", "30m", &[]),
        ("LicensedUsersWithRoles", "7d", &[]),
        (
            "GlobalAdminAllowList",
            "4h",
            &["ApprovedGlobalAdmins", "AlertEachAdmin"],
        ),
        ("GlobalAdminNoAltEmail", "7d", &[]),
        ("RoleEscalableGroups", "1d", &[]),
        (
            "InactiveUsers",
            "1d",
            &["DaysSinceLastLogin", "ExcludeDisabled"],
        ),
        (
            "InactiveGuestUsers",
            "1d",
            &["DaysSinceLastLogin", "ExcludeDisabled"],
        ),
        (
            "InactiveLicensedUsers",
            "1d",
            &[
                "DaysSinceLastLogin",
                "ExcludeDisabled",
                "IncludeNeverSignedIn",
            ],
        ),
        ("NewRiskyUsers", "30m", &[]),
        ("GroupMembershipChange", "1h", &["InputValue"]),
    ];
    for (name, interval, inputs) in expect {
        let a = c
            .get(&format!("Get-CIPPAlert{name}"))
            .unwrap_or_else(|| panic!("{name} missing"));
        let m = a.meta();
        assert_eq!(m.name, name);
        assert_eq!(m.interval, interval, "{name}");
        assert_eq!(m.inputs, inputs, "{name}");
        assert!(m.label.starts_with("Alert "), "{name}: {}", m.label);
        assert!(!m.reads.is_empty(), "{name}");
    }
    assert_eq!(
        c.get("NewRiskyUsers").unwrap().meta().label,
        "Alert on new risky users (P2 License Required)"
    );
}

#[tokio::test(start_paused = true)]
async fn mfa_admins_raise_change_resolve_and_snooze() {
    let h = Harness::new();
    // Diego holds Global Administrator and has no MFA method.
    let c = h.run("MFAAdmins", Value::Null).await;
    assert_eq!(kinds(&c), [("raised", id("diegos"))]);
    assert!(message(&c[0]).contains("diegos@contoso.com"), "{c:?}");
    // Unchanged: silent. Fabrikam has no admins: nothing.
    assert!(h.run("MFAAdmins", Value::Null).await.is_empty());
    assert!(h
        .run_in(&h.service, "fabrikam.com", "MFAAdmins", Value::Null)
        .await
        .is_empty());
    // Renamed: changed.
    h.user("diegos", |u| u["displayName"] = json!("Diego S."));
    let c = h.run("MFAAdmins", json!({})).await;
    assert_eq!(kinds(&c), [("changed", id("diegos"))]);
    assert!(message(&c[0]).contains("Diego S."), "{c:?}");
    // A disabled admin counts only with IncludeDisabled (CIPP's switch, as text too).
    h.contoso(|t| t.directory.roles.get_mut(GA).unwrap().push(id("former")));
    assert!(h.run("MFAAdmins", Value::Null).await.is_empty());
    let fresh = h.fresh();
    let c = h
        .run_in(
            &fresh,
            "contoso.com",
            "MFAAdmins",
            json!({"IncludeDisabled": "true"}),
        )
        .await;
    assert_eq!(kinds(&c).len(), 2, "{c:?}");
    assert!(kinds(&c).contains(&("raised", id("former"))));
    // Diego registers an authenticator: resolved, reported only when asked.
    h.contoso(|t| {
        t.auth.methods.insert(
            id("diegos"),
            vec![
                json!({"@odata.type": "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod",
            "id": synthetic_guid("diego-auth"), "displayName": "Pixel 8"}),
            ],
        );
    });
    let a = h.service.catalogue.get("MFAAdmins").unwrap().clone();
    let contoso = h
        .cipp
        .tenant(&TenantId::parse("contoso.com").unwrap())
        .unwrap();
    let quiet = run_alert(&contoso, a.as_ref(), &h.service, &Value::Null, false)
        .await
        .unwrap();
    assert!(
        quiet.is_empty(),
        "resolved is reported only when asked: {quiet:?}"
    );
    // Another admin without MFA: raised; snoozed, a change stays silent.
    h.contoso(|t| t.directory.roles.get_mut(GA).unwrap().push(id("alexw")));
    let c = h.run("MFAAdmins", Value::Null).await;
    assert_eq!(kinds(&c), [("raised", id("alexw"))]);
    h.state
        .snooze(
            contoso.id().as_str(),
            "MFAAdmins",
            &id("alexw"),
            Snooze::Days7.until(h.now()),
        )
        .await
        .unwrap();
    h.user("alexw", |u| u["displayName"] = json!("Alex W."));
    assert!(h.run("MFAAdmins", Value::Null).await.is_empty(), "snoozed");
    // Duo through Conditional Access: CIPP cannot judge, nothing is reported.
    h.contoso(|t| {
        t.conditional_access.store.get_mut("identity/conditionalaccess/policies").insert(json!({
            "id": synthetic_guid("duo-policy"), "displayName": "Duo", "state": "enabled",
            "grantControls": {"operator": "OR", "builtInControls": [], "customAuthenticationFactors": ["RequireDuoMfa"]}}));
    });
    let c = h.run("MFAAdmins", Value::Null).await;
    assert!(c.iter().all(|c| c.label() == "resolved"), "{c:?}");
    // Input is checked before anything is sent.
    h.refused("MFAAdmins", json!({"IncludeDisabled": "perhaps"}))
        .await;
    h.refused("MFAAdmins", json!({"Days": 3})).await;
}

#[tokio::test(start_paused = true)]
async fn mfa_admins_with_mfa_registered_but_nothing_enforcing_it() {
    let h = Harness::new();
    let no_enforcement = "has MFA registered but no enforcement method";
    // Adele (MFA registered) becomes Global Administrator; security defaults are on.
    h.contoso(|t| t.directory.roles.get_mut(GA).unwrap().push(id("adelev")));
    assert_eq!(
        kinds(&h.run("MFAAdmins", Value::Null).await),
        [("raised", id("diegos"))]
    );
    // Security defaults off: nothing makes Adele use MFA.
    h.contoso(|t| t.conditional_access.security_defaults_disabled = true);
    let c = h.run("MFAAdmins", Value::Null).await;
    assert_eq!(kinds(&c), [("raised", id("adelev"))]);
    assert!(message(&c[0]).contains(no_enforcement), "{c:?}");
    // Diego registers a method: his finding changes from unregistered to unenforced.
    h.contoso(|t| {
        t.auth.methods.insert(
            id("diegos"),
            vec![
                json!({"@odata.type": "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod",
            "id": synthetic_guid("diego-auth"), "displayName": "Pixel 8"}),
            ],
        );
    });
    let c = h.run("MFAAdmins", Value::Null).await;
    assert_eq!(kinds(&c), [("changed", id("diegos"))]);
    assert!(message(&c[0]).contains(no_enforcement), "{c:?}");
    // Per-user MFA enforced for Adele: resolved.
    h.contoso(|t| t.auth.per_user_mfa.insert(id("adelev"), "enforced".into()));
    assert_eq!(
        kinds(&h.run("MFAAdmins", Value::Null).await),
        [("resolved", id("adelev"))]
    );
    // A Conditional Access policy requiring MFA for everyone but Diego: Diego stays.
    let policy = |exclude: Vec<String>| {
        json!({"id": synthetic_guid("mfa-all"), "displayName": "Require MFA", "state": "enabled",
            "conditions": {"users": {"includeUsers": ["All"], "excludeUsers": exclude},
                           "applications": {"includeApplications": ["All"]}},
            "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}})
    };
    let ca = "identity/conditionalaccess/policies";
    h.contoso(|t| {
        t.conditional_access
            .store
            .get_mut(ca)
            .replace_all(vec![policy(vec![id("diegos")])])
    });
    assert!(h.run("MFAAdmins", Value::Null).await.is_empty());
    // Report-only does not enforce; enabled without the exclusion does.
    h.contoso(|t| {
        let mut p = policy(vec![]);
        p["state"] = json!("enabledForReportingButNotEnforced");
        t.conditional_access.store.get_mut(ca).replace_all(vec![p]);
    });
    assert!(h.run("MFAAdmins", Value::Null).await.is_empty());
    h.contoso(|t| {
        t.conditional_access
            .store
            .get_mut(ca)
            .replace_all(vec![policy(vec![])])
    });
    assert_eq!(
        kinds(&h.run("MFAAdmins", Value::Null).await),
        [("resolved", id("diegos"))]
    );
}

#[tokio::test(start_paused = true)]
async fn mfa_alert_users_are_members_without_mfa_who_are_not_admins() {
    let h = Harness::new();
    let c = h.run("MFAAlertUsers", Value::Null).await;
    let expected: Vec<(&str, String)> = {
        let mut v: Vec<_> = ["alexw", "former", "gradya", "isaiahl"]
            .iter()
            .map(|a| ("raised", id(a)))
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        kinds(&c),
        expected,
        "not Adele or Megan (MFA), not Diego (admin)"
    );
    assert!(h.run("MFAAlertUsers", Value::Null).await.is_empty());
    // Renamed: changed. Registered: resolved.
    h.user("gradya", |u| u["displayName"] = json!("Grady A."));
    h.contoso(|t| {
        t.auth.methods.insert(id("alexw"), vec![json!({"@odata.type": "#microsoft.graph.phoneAuthenticationMethod",
            "id": "3179e48a-750b-4051-897c-87b9720928f7", "phoneNumber": "+1 4255550103", "phoneType": "mobile"})]);
    });
    let c = h.run("MFAAlertUsers", Value::Null).await;
    assert_eq!(
        kinds(&c),
        [("changed", id("gradya")), ("resolved", id("alexw"))]
    );
    // A grace period for new accounts (CIPP's InputValue, as text).
    h.user("isaiahl", |u| {
        u["createdDateTime"] = json!(ts(h.now() - chrono::Duration::days(2)))
    });
    let c = h
        .run_in(
            &h.fresh(),
            "contoso.com",
            "MFAAlertUsers",
            json!({"InputValue": "7"}),
        )
        .await;
    assert!(!kinds(&c).iter().any(|(_, s)| *s == id("isaiahl")), "{c:?}");
    assert!(kinds(&c).iter().any(|(_, s)| *s == id("gradya")), "{c:?}");
    h.refused("MFAAlertUsers", json!({"InputValue": -3})).await;
}

/// A directory audit record as Entra writes it, `minutes` ago.
fn audit(h: &Harness, key: &str, activity: &str, minutes: i64, targets: Value, by: &str) -> Value {
    json!({"id": format!("Directory_{}", synthetic_guid(key)), "category": "UserManagement",
        "correlationId": synthetic_guid(key), "result": "success", "activityDisplayName": activity,
        "activityDateTime": ts(h.now() - chrono::Duration::minutes(minutes)), "loggedByService": "Core Directory",
        "operationType": "Add", "initiatedBy": {"user": {"id": id(by), "userPrincipalName": format!("{by}@contoso.com"),
        "ipAddress": "203.0.113.20"}}, "targetResources": targets, "additionalDetails": []})
}

#[tokio::test(start_paused = true)]
async fn new_mfa_devices_registered_in_the_last_hour() {
    let h = Harness::new();
    // The demo's registration (Megan's, 20 hours ago) is outside the hour.
    assert!(h.run("NewMFADevice", Value::Null).await.is_empty());
    let target = json!([{"id": id("adelev"), "displayName": "Adele Vance", "type": "User",
        "userPrincipalName": "adelev@contoso.com", "modifiedProperties": []}]);
    let added = audit(
        &h,
        "adele-mfa",
        "User registered security info",
        10,
        target.clone(),
        "adelev",
    );
    let deleted = audit(
        &h,
        "adele-del",
        "User deleted security info",
        5,
        target,
        "adelev",
    );
    let subject = added["id"].as_str().unwrap().to_owned();
    h.contoso(|t| t.logs.directory_audits.extend([added, deleted]));
    let c = h.run("NewMFADevice", Value::Null).await;
    assert_eq!(
        kinds(&c),
        [("raised", subject.clone())],
        "a deletion is no new device"
    );
    assert_eq!(
        message(&c[0]),
        "New MFA method registered: adelev@contoso.com"
    );
    assert_eq!(c[0].record().row["data"]["ipAddress"], "203.0.113.20");
    assert!(
        h.run("NewMFADevice", Value::Null).await.is_empty(),
        "one notification per record"
    );
    // The record's details change: changed.
    h.contoso(|t| {
        let r = t
            .logs
            .directory_audits
            .iter_mut()
            .find(|r| r["id"] == json!(subject))
            .unwrap();
        r["targetResources"][0]["displayName"] = json!("Adele V.");
    });
    assert_eq!(
        kinds(&h.run("NewMFADevice", Value::Null).await),
        [("changed", subject.clone())]
    );
    // An hour on, the record is out of the window: resolved.
    h.advance_hours(1);
    assert_eq!(
        kinds(&h.run("NewMFADevice", Value::Null).await),
        [("resolved", subject)]
    );
    h.refused("NewMFADevice", json!({"InputValue": 1})).await;
}

#[tokio::test(start_paused = true)]
async fn admin_password_changed_in_the_last_day() {
    let h = Harness::new();
    // Every password was changed 120 days ago.
    assert!(h.run("AdminPassword", Value::Null).await.is_empty());
    // A user who is no admin changes theirs: nothing.
    h.user("adelev", |u| {
        u["lastPasswordChangeDateTime"] = json!(ts(h.now()))
    });
    assert!(h.run("AdminPassword", Value::Null).await.is_empty());
    // The Global Administrator's: raised, then changed again: changed.
    h.user("diegos", |u| {
        u["lastPasswordChangeDateTime"] = json!(ts(h.now() - chrono::Duration::hours(2)))
    });
    let c = h.run("AdminPassword", Value::Null).await;
    assert_eq!(kinds(&c), [("raised", id("diegos"))]);
    assert!(message(&c[0]).contains("diegos@contoso.com"), "{c:?}");
    assert!(h.run("AdminPassword", Value::Null).await.is_empty());
    h.user("diegos", |u| {
        u["lastPasswordChangeDateTime"] = json!(ts(h.now() - chrono::Duration::hours(1)))
    });
    assert_eq!(
        kinds(&h.run("AdminPassword", Value::Null).await),
        [("changed", id("diegos"))]
    );
    // A role-assignable group holding the role is no user: left out, no error.
    h.contoso(|t| {
        let g = t.add_group(
            json!({"displayName": "Tier 0", "mailNickname": "tier0", "securityEnabled": true,
            "mailEnabled": false, "groupTypes": [], "isAssignableToRole": true}),
        );
        t.directory.roles.get_mut(GA).unwrap().push(g);
    });
    assert!(h.run("AdminPassword", Value::Null).await.is_empty());
    // A day later: resolved.
    h.advance_hours(24);
    assert_eq!(
        kinds(&h.run("AdminPassword", Value::Null).await),
        [("resolved", id("diegos"))]
    );
}

#[tokio::test(start_paused = true)]
async fn licensed_users_with_roles() {
    let h = Harness::new();
    let c = h.run("LicensedUsersWithRoles", Value::Null).await;
    assert_eq!(kinds(&c), [("raised", id("diegos"))]);
    assert_eq!(
        c[0].record().row["data"]["roles"],
        json!(["Global Administrator"])
    );
    assert!(h
        .run("LicensedUsersWithRoles", Value::Null)
        .await
        .is_empty());
    // Fabrikam: no roles held, nothing.
    assert!(h
        .run_in(
            &h.service,
            "fabrikam.com",
            "LicensedUsersWithRoles",
            Value::Null
        )
        .await
        .is_empty());
    // Diego gets a second role: changed.
    h.contoso(|t| {
        t.directory
            .roles
            .insert(EXCHANGE_ADMIN.into(), vec![id("diegos")]);
    });
    let c = h.run("LicensedUsersWithRoles", Value::Null).await;
    assert_eq!(kinds(&c), [("changed", id("diegos"))]);
    assert_eq!(
        c[0].record().row["data"]["roles"],
        json!(["Exchange Administrator", "Global Administrator"])
    );
    // His licence removed (a separate admin account): resolved.
    h.user("diegos", |u| u["assignedLicenses"] = json!([]));
    assert_eq!(
        kinds(&h.run("LicensedUsersWithRoles", Value::Null).await),
        [("resolved", id("diegos"))]
    );
}

#[tokio::test(start_paused = true)]
async fn global_admins_outside_the_allow_list() {
    let h = Harness::new();
    let input = json!({"ApprovedGlobalAdmins": "diegos, pat", "AlertEachAdmin": false});
    assert!(
        h.run("GlobalAdminAllowList", input.clone())
            .await
            .is_empty(),
        "Diego is approved"
    );
    // Adele becomes Global Administrator: one finding naming her.
    h.contoso(|t| t.directory.roles.get_mut(GA).unwrap().push(id("adelev")));
    let c = h.run("GlobalAdminAllowList", input.clone()).await;
    assert_eq!(
        kinds(&c),
        [("raised", "global-admins-outside-allow-list".to_owned())]
    );
    assert_eq!(
        c[0].record().row["data"]["nonCompliantUsers"],
        json!(["adelev@contoso.com"])
    );
    assert!(h
        .run("GlobalAdminAllowList", input.clone())
        .await
        .is_empty());
    // And Alex: the same finding, changed.
    h.contoso(|t| t.directory.roles.get_mut(GA).unwrap().push(id("alexw")));
    let c = h.run("GlobalAdminAllowList", input.clone()).await;
    assert_eq!(
        kinds(&c),
        [("changed", "global-admins-outside-allow-list".to_owned())]
    );
    assert_eq!(
        c[0].record().row["data"]["nonCompliantUsers"],
        json!(["adelev@contoso.com", "alexw@contoso.com"])
    );
    // One finding per admin, the list as an array and the switch as text; a full UPN
    // approves that account.
    let each =
        json!({"ApprovedGlobalAdmins": ["diegos", "alexw@contoso.com"], "AlertEachAdmin": "true"});
    let c = h
        .run_in(&h.fresh(), "contoso.com", "GlobalAdminAllowList", each)
        .await;
    assert_eq!(kinds(&c), [("raised", id("adelev"))]);
    assert!(message(&c[0]).contains("prefix 'adelev'"), "{c:?}");
    // Adele leaves the role (the last outsider approved): resolved.
    h.contoso(|t| {
        t.directory
            .roles
            .get_mut(GA)
            .unwrap()
            .retain(|m| *m != id("adelev"))
    });
    let approve_alex = json!({"ApprovedGlobalAdmins": "diegos,alexw"});
    let c = h.run("GlobalAdminAllowList", approve_alex).await;
    assert_eq!(
        kinds(&c),
        [("resolved", "global-admins-outside-allow-list".to_owned())]
    );
    // No list: refused (the alert could never fire).
    let e = h
        .refused(
            "GlobalAdminAllowList",
            json!({"ApprovedGlobalAdmins": " , "}),
        )
        .await;
    assert!(e.contains("ApprovedGlobalAdmins"), "{e}");
    h.refused("GlobalAdminAllowList", Value::Null).await;
}

#[tokio::test(start_paused = true)]
async fn global_admins_without_an_alternate_email() {
    let h = Harness::new();
    let c = h.run("GlobalAdminNoAltEmail", Value::Null).await;
    assert_eq!(kinds(&c), [("raised", id("diegos"))]);
    assert!(message(&c[0]).contains("diegos@contoso.com"));
    assert!(h.run("GlobalAdminNoAltEmail", Value::Null).await.is_empty());
    // Fabrikam has no Global Administrator role activated: nothing.
    assert!(h
        .run_in(
            &h.service,
            "fabrikam.com",
            "GlobalAdminNoAltEmail",
            Value::Null
        )
        .await
        .is_empty());
    h.user("diegos", |u| u["displayName"] = json!("Diego S."));
    assert_eq!(
        kinds(&h.run("GlobalAdminNoAltEmail", Value::Null).await),
        [("changed", id("diegos"))]
    );
    h.user("diegos", |u| u["otherMails"] = json!(["diego@example.org"]));
    assert_eq!(
        kinds(&h.run("GlobalAdminNoAltEmail", Value::Null).await),
        [("resolved", id("diegos"))]
    );
}

#[tokio::test(start_paused = true)]
async fn role_escalable_groups_direct_and_nested() {
    let h = Harness::new();
    // Only Diego (a user) holds a role: nothing.
    assert!(h.run("RoleEscalableGroups", Value::Null).await.is_empty());
    // A role-assignable group holding a role, nothing nested: nothing.
    let (tier0, helpdesk, sales) = h.contoso(|t| {
        let tier0 = t.add_group(
            json!({"displayName": "Tier 0", "mailNickname": "tier0", "securityEnabled": true,
            "mailEnabled": false, "groupTypes": [], "isAssignableToRole": true}),
        );
        t.directory
            .roles
            .insert(EXCHANGE_ADMIN.into(), vec![tier0.clone()]);
        let helpdesk = t.add_group(
            json!({"displayName": "Helpdesk", "mailNickname": "helpdesk", "securityEnabled": true,
            "mailEnabled": false, "groupTypes": []}),
        );
        let sales = synthetic_guid(&format!("{}-sales", t.id));
        (tier0, helpdesk, sales)
    });
    assert!(h.run("RoleEscalableGroups", Value::Null).await.is_empty());
    // A group that is not role-assignable holds a role (direct), and the Sales Team is
    // nested in the role-assignable one (nested).
    h.contoso(|t| {
        t.directory
            .roles
            .insert(HELPDESK_ADMIN.into(), vec![helpdesk.clone()]);
        t.directory
            .members
            .insert(tier0.clone(), vec![sales.clone(), id("adelev")]);
    });
    let c = h.run("RoleEscalableGroups", Value::Null).await;
    let direct = format!("direct:{helpdesk}:{HELPDESK_ADMIN}:/");
    let nested = format!("nested:{sales}:{tier0}:{EXCHANGE_ADMIN}:/");
    let mut want = vec![("raised", direct.clone()), ("raised", nested.clone())];
    want.sort();
    assert_eq!(kinds(&c), want);
    let nested_row = &c
        .iter()
        .find(|c| c.record().subject == nested)
        .unwrap()
        .record()
        .row;
    assert_eq!(nested_row["data"]["roleName"], "Exchange Administrator");
    assert_eq!(nested_row["data"]["groupDisplayName"], "Sales Team");
    assert!(h.run("RoleEscalableGroups", Value::Null).await.is_empty());
    // The nested group renamed: changed.
    h.contoso(|t| {
        t.directory.groups_mut().get_mut(&sales).unwrap()["displayName"] = json!("Sales")
    });
    assert_eq!(
        kinds(&h.run("RoleEscalableGroups", Value::Null).await),
        [("changed", nested.clone())]
    );
    // Sales taken out of Tier 0, and the helpdesk group's role removed: resolved.
    h.contoso(|t| {
        t.directory
            .members
            .insert(tier0.clone(), vec![id("adelev")]);
        t.directory.roles.remove(HELPDESK_ADMIN);
    });
    let mut want = vec![("resolved", direct), ("resolved", nested)];
    want.sort();
    assert_eq!(
        kinds(&h.run("RoleEscalableGroups", Value::Null).await),
        want
    );
}

/// Sets a user's sign-in activity: interactive and non-interactive, days ago.
fn signed_in(h: &Harness, alias: &str, interactive: Option<i64>, non_interactive: Option<i64>) {
    let now = h.now();
    let at = |d: Option<i64>| d.map(|d| ts(now - chrono::Duration::days(d)));
    h.user(alias, |u| {
        u["signInActivity"] = json!({"lastSignInDateTime": at(interactive),
            "lastNonInteractiveSignInDateTime": at(non_interactive), "lastSuccessfulSignInDateTime": null});
    });
}

#[tokio::test(start_paused = true)]
async fn inactive_members_by_their_latest_sign_in() {
    let h = Harness::new();
    // Nobody has sign-in activity: never signed in is left out (as CIPP).
    assert!(h.run("InactiveUsers", Value::Null).await.is_empty());
    signed_in(&h, "adelev", Some(100), Some(95));
    signed_in(&h, "alexw", Some(120), Some(10));
    signed_in(&h, "former", Some(200), None);
    let c = h.run("InactiveUsers", Value::Null).await;
    let mut want = vec![("raised", id("adelev")), ("raised", id("former"))];
    want.sort();
    assert_eq!(
        kinds(&c),
        want,
        "Alex signed in non-interactively 10 days ago"
    );
    let adele = c
        .iter()
        .find(|c| c.record().subject == id("adelev"))
        .unwrap();
    assert_eq!(
        adele.record().row["data"]["lastSignIn"],
        json!(ts(h.now() - chrono::Duration::days(95)))
    );
    assert!(h.run("InactiveUsers", Value::Null).await.is_empty());
    // A later (still old) sign-in: changed; a sign-in today: resolved.
    signed_in(&h, "adelev", Some(100), Some(91));
    assert_eq!(
        kinds(&h.run("InactiveUsers", Value::Null).await),
        [("changed", id("adelev"))]
    );
    signed_in(&h, "adelev", Some(0), Some(91));
    assert_eq!(
        kinds(&h.run("InactiveUsers", Value::Null).await),
        [("resolved", id("adelev"))]
    );
    // More days asked (as text), disabled accounts left out.
    let c = h
        .run_in(
            &h.fresh(),
            "contoso.com",
            "InactiveUsers",
            json!({"DaysSinceLastLogin": "150", "ExcludeDisabled": false}),
        )
        .await;
    assert_eq!(kinds(&c), [("raised", id("former"))]);
    let c = h
        .run_in(
            &h.fresh(),
            "contoso.com",
            "InactiveUsers",
            json!({"DaysSinceLastLogin": 30, "ExcludeDisabled": true}),
        )
        .await;
    assert!(c.is_empty(), "Former Employee is disabled: {c:?}");
    // Absurd values and unknown inputs are refused.
    h.refused("InactiveUsers", json!({"DaysSinceLastLogin": -5}))
        .await;
    h.refused("InactiveUsers", json!({"DaysSinceLastLogin": 40000}))
        .await;
    h.refused("InactiveUsers", json!({"IncludeNeverSignedIn": true}))
        .await;
}

#[tokio::test(start_paused = true)]
async fn inactive_guests() {
    let h = Harness::new();
    h.contoso(|t| {
        let mut g = cipp::sim::state::user_json(
            "Ext Partner",
            "partner_fabrikam.com#EXT#@contoso.onmicrosoft.com",
            "",
            true,
        );
        g["id"] = json!(synthetic_guid("guest-partner"));
        g["userType"] = json!("Guest");
        t.add_user(g);
    });
    let guest = synthetic_guid("guest-partner");
    h.contoso(|t| {
        t.directory.users_mut().get_mut(&guest).unwrap()["signInActivity"] =
            json!({"lastSignInDateTime": "2026-01-01T00:00:00Z", "lastNonInteractiveSignInDateTime": null});
    });
    signed_in(&h, "adelev", Some(300), None);
    let c = h.run("InactiveGuestUsers", Value::Null).await;
    assert_eq!(
        kinds(&c),
        [("raised", guest.clone())],
        "members are not guests"
    );
    assert!(message(&c[0]).starts_with("Guest user"), "{c:?}");
    h.contoso(|t| {
        t.directory.users_mut().get_mut(&guest).unwrap()["signInActivity"]["lastSignInDateTime"] =
            json!("2026-02-01T00:00:00Z");
    });
    assert_eq!(
        kinds(&h.run("InactiveGuestUsers", Value::Null).await),
        [("changed", guest.clone())]
    );
    let now = ts(h.now());
    h.contoso(|t| {
        t.directory.users_mut().get_mut(&guest).unwrap()["signInActivity"]["lastSignInDateTime"] =
            json!(now);
    });
    assert_eq!(
        kinds(&h.run("InactiveGuestUsers", Value::Null).await),
        [("resolved", guest)]
    );
    h.refused("InactiveGuestUsers", json!({"DaysSinceLastLogin": "soon"}))
        .await;
}

#[tokio::test(start_paused = true)]
async fn inactive_licensed_users() {
    let h = Harness::new();
    // Former Employee is disabled and holds no licence: never a finding here.
    signed_in(&h, "former", Some(400), None);
    signed_in(&h, "gradya", Some(180), Some(170));
    let c = h.run("InactiveLicensedUsers", Value::Null).await;
    assert_eq!(kinds(&c), [("raised", id("gradya"))]);
    assert!(message(&c[0]).contains("license assigned"), "{c:?}");
    signed_in(&h, "gradya", Some(180), Some(160));
    assert_eq!(
        kinds(&h.run("InactiveLicensedUsers", Value::Null).await),
        [("changed", id("gradya"))]
    );
    h.user("gradya", |u| u["assignedLicenses"] = json!([]));
    assert_eq!(
        kinds(&h.run("InactiveLicensedUsers", Value::Null).await),
        [("resolved", id("gradya"))]
    );
    // IncludeNeverSignedIn: the licensed users with no sign-in at all too.
    let c = h
        .run_in(
            &h.fresh(),
            "contoso.com",
            "InactiveLicensedUsers",
            json!({"IncludeNeverSignedIn": true, "DaysSinceLastLogin": ""}),
        )
        .await;
    let subjects: Vec<String> = kinds(&c).into_iter().map(|(_, s)| s).collect();
    assert!(
        subjects.contains(&id("adelev")) && subjects.contains(&id("diegos")),
        "{subjects:?}"
    );
    assert!(
        !subjects.contains(&id("former")) && !subjects.contains(&id("gradya")),
        "{subjects:?}"
    );
    // CIPP's legacy single switch (exclude disabled) is accepted.
    assert!(h
        .service
        .catalogue
        .get("InactiveLicensedUsers")
        .unwrap()
        .validate(&json!(true))
        .is_ok());
    h.refused("InactiveLicensedUsers", json!({"DaysSinceLastLogin": 0}))
        .await;
}

#[tokio::test(start_paused = true)]
async fn new_risky_users_need_entra_p2() {
    let h = Harness::new();
    h.contoso(|t| {
        t.directory.store.get_mut("identityprotection/riskyusers").replace_all(vec![
            json!({"id": id("meganb"), "userPrincipalName": "meganb@contoso.com", "userDisplayName": "Megan Bowen",
                   "riskLevel": "medium", "riskState": "atRisk", "riskDetail": "none",
                   "riskLastUpdatedDateTime": "2026-11-27T08:00:00Z", "isDeleted": false, "isProcessing": false}),
            json!({"id": id("adelev"), "userPrincipalName": "adelev@contoso.com", "riskLevel": "none",
                   "riskState": "remediated", "riskDetail": "userPerformedSecuredPasswordChange", "isDeleted": false}),
        ]);
    });
    // Contoso has Entra ID P1 only: nothing, and risky users are not even asked for.
    assert!(h.run("NewRiskyUsers", Value::Null).await.is_empty());
    assert!(!h
        .sim
        .log()
        .entries()
        .iter()
        .any(|e| e.path.to_ascii_lowercase().contains("riskyusers")));
    // With P2: Megan (at risk) raised, Adele (remediated) not.
    h.contoso(|t| {
        t.directory.store.get_mut("subscribedskus").insert(json!({
            "id": format!("{}_p2", t.id), "skuId": "84a661c4-e949-4bd2-a560-ed7766fcaf2b", "skuPartNumber": "AAD_PREMIUM_P2",
            "capabilityStatus": "Enabled", "consumedUnits": 1, "prepaidUnits": {"enabled": 5, "suspended": 0, "warning": 0},
            "servicePlans": [{"servicePlanId": "eec0eb4f-6444-4f95-aba0-50c24d67f998", "servicePlanName": "AAD_PREMIUM_P2",
                              "provisioningStatus": "Success", "appliesTo": "User"}]}));
    });
    let c = h.run("NewRiskyUsers", Value::Null).await;
    assert_eq!(kinds(&c), [("raised", id("meganb"))]);
    assert_eq!(
        message(&c[0]),
        "Risky user detected: meganb@contoso.com (medium risk)"
    );
    assert!(h.run("NewRiskyUsers", Value::Null).await.is_empty());
    // Confirmed compromised, high: changed.
    h.contoso(|t| {
        let r = &mut t
            .directory
            .store
            .get_mut("identityprotection/riskyusers")
            .items_mut()[0];
        r["riskLevel"] = json!("high");
        r["riskState"] = json!("confirmedCompromised");
    });
    let c = h.run("NewRiskyUsers", Value::Null).await;
    assert_eq!(kinds(&c), [("changed", id("meganb"))]);
    assert_eq!(c[0].record().row["data"]["severity"], "Critical");
    // Remediated: resolved.
    h.contoso(|t| {
        let r = &mut t
            .directory
            .store
            .get_mut("identityprotection/riskyusers")
            .items_mut()[0];
        r["riskLevel"] = json!("none");
        r["riskState"] = json!("remediated");
    });
    assert_eq!(
        kinds(&h.run("NewRiskyUsers", Value::Null).await),
        [("resolved", id("meganb"))]
    );
}

#[tokio::test(start_paused = true)]
async fn group_membership_changes_of_watched_groups() {
    let h = Harness::new();
    let input = json!({"InputValue": "Sales*, Tier 0"});
    assert!(h
        .run("GroupMembershipChange", input.clone())
        .await
        .is_empty());
    // Alex added to the Sales Team through Graph (the simulator audits it), and Isaiah
    // to All Staff (not watched).
    let contoso = h
        .cipp
        .tenant(&TenantId::parse("contoso.com").unwrap())
        .unwrap();
    let group_id = |nick: &str| h.contoso(|t| synthetic_guid(&format!("{}-{nick}", t.id)));
    let sales = cipp::graph::model::GroupId::from(group_id("sales").as_str());
    let all_staff = cipp::graph::model::GroupId::from(group_id("allstaff").as_str());
    let groups = contoso.graph().groups();
    groups
        .add_member(
            &sales,
            &cipp::graph::model::DirectoryObjectId::from(id("alexw").as_str()),
        )
        .await
        .unwrap();
    groups
        .add_member(
            &all_staff,
            &cipp::graph::model::DirectoryObjectId::from(id("isaiahl").as_str()),
        )
        .await
        .unwrap();
    // And a removal as Entra records it: the member first, the group's name among its
    // modified properties (old value).
    let removal = audit(
        &h,
        "tier0-removal",
        "Remove member from group",
        30,
        json!([
        {"id": id("gradya"), "displayName": null, "type": "User", "userPrincipalName": "gradya@contoso.com",
         "modifiedProperties": [{"displayName": "Group.ObjectID", "oldValue": "\"11111111-1111-4111-8111-111111111111\"", "newValue": null},
                                {"displayName": "Group.DisplayName", "oldValue": "\"Tier 0\"", "newValue": null}]},
        {"id": "11111111-1111-4111-8111-111111111111", "displayName": null, "type": "Group", "modifiedProperties": []}]),
        "diegos",
    );
    let removal_id = removal["id"].as_str().unwrap().to_owned();
    h.contoso(|t| t.logs.directory_audits.push(removal));
    let c = h.run("GroupMembershipChange", input.clone()).await;
    assert_eq!(c.len(), 2, "{c:?}");
    let messages: Vec<String> = c.iter().map(message).collect();
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("alexw@contoso.com was added to group 'Sales Team' by ")),
        "{messages:?}"
    );
    assert!(
        messages.contains(
            &"gradya@contoso.com was removed from group 'Tier 0' by diegos@contoso.com".to_owned()
        ),
        "{messages:?}"
    );
    assert!(h
        .run("GroupMembershipChange", input.clone())
        .await
        .is_empty());
    // The record's initiator corrected: changed.
    h.contoso(|t| {
        let r = t
            .logs
            .directory_audits
            .iter_mut()
            .find(|r| r["id"] == json!(removal_id))
            .unwrap();
        r["initiatedBy"]["user"]["userPrincipalName"] = json!("pat@msp.example");
    });
    assert_eq!(
        kinds(&h.run("GroupMembershipChange", input.clone()).await),
        [("changed", removal_id)]
    );
    // Later than three hours on, out of the window: resolved.
    h.advance_hours(4);
    let c = h.run("GroupMembershipChange", input.clone()).await;
    assert!(
        c.len() == 2 && c.iter().all(|c| c.label() == "resolved"),
        "{c:?}"
    );
    // A bare string works as CIPP's InputValue; no groups is refused.
    assert!(h
        .service
        .catalogue
        .get("GroupMembershipChange")
        .unwrap()
        .validate(&json!("Sales Team"))
        .is_ok());
    let e = h
        .refused("GroupMembershipChange", json!({"InputValue": ""}))
        .await;
    assert!(e.contains("InputValue"), "{e}");
}

#[tokio::test(start_paused = true)]
async fn an_outage_resolves_nothing_and_a_missing_licence_finds_nothing() {
    use cipp::sim::{FaultKind, FaultRule, FaultTrigger};
    let h = Harness::new();
    assert_eq!(h.run("MFAAlertUsers", Value::Null).await.len(), 4);
    // The report fails: the run fails, and the findings stand.
    h.sim.add_fault(
        FaultRule::new(FaultKind::ServerError(503), FaultTrigger::Always).on_path("/v1.0/reports"),
    );
    let a = h.service.catalogue.get("MFAAlertUsers").unwrap().clone();
    let contoso = h
        .cipp
        .tenant(&TenantId::parse("contoso.com").unwrap())
        .unwrap();
    assert!(
        run_alert(&contoso, a.as_ref(), &h.service, &Value::Null, true)
            .await
            .is_err()
    );
    h.sim.clear_faults();
    assert!(
        h.run("MFAAlertUsers", Value::Null).await.is_empty(),
        "nothing resolved by the outage"
    );
    // Without the licence the report needs (403), there is nothing to find (as CIPP).
    h.sim.add_fault(
        FaultRule::new(
            FaultKind::Error {
                status: 403,
                code: "Authentication_RequestFromNonPremiumTenantOrB2CTenant".into(),
                message: "Neither tenant is B2C or tenant doesn't have premium license".into(),
            },
            FaultTrigger::Always,
        )
        .on_path("/v1.0/reports"),
    );
    let c = h.run("MFAAlertUsers", Value::Null).await;
    assert!(
        c.len() == 4 && c.iter().all(|c| c.label() == "resolved"),
        "{c:?}"
    );
}
