//! The mail, device and fleet alerts on the simulator: `QuotaUsed`, `SoftDeletedMailboxes`,
//! `RestrictedUsers`, `MXRecordChanged`, `DeviceCompliance`, `StaleEntraDevices`,
//! `TenantAccess`, `LowTenantAlignment` — each raised, silent while unchanged, changed,
//! resolved, with its input checked; snoozing shown once.

use crate::common;

use std::sync::Arc;

use cipp::alerts::exchange::{MXRecordChanged, StaticMxResolver, TenantAccessAlert};
use cipp::alerts::{run_alert, Alert, AlertCatalogue, AlertService};
use cipp::core::{Clock, ManualClock};
use cipp::graph::gdap::{roles, workflow};
use cipp::scheduler::alert_state::{AlertStateStore, Change, MemoryAlertState, Snooze};
use cipp::sim::scenario::DEMO_PARTNER;
use cipp::sim::{FaultKind, FaultRule, FaultTrigger, Simulator};
use cipp::standards::{MemoryResultStore, ResultStore};
use cipp::{Cipp, TenantHandle, TenantId};
use serde_json::{json, Value};

struct Env {
    sim: Simulator,
    cipp: Cipp,
    clock: ManualClock,
    service: AlertService,
    state: Arc<MemoryAlertState>,
}

fn env() -> Env {
    let clock = common::demo_clock();
    let (sim, cipp) = common::demo(Some(&clock), common::Fleet::Partner);
    let state = Arc::new(MemoryAlertState::new());
    let service = AlertService {
        catalogue: Arc::new(AlertCatalogue::builtin()),
        state: state.clone(),
        standards: None,
    };
    Env {
        sim,
        cipp,
        clock,
        service,
        state,
    }
}

impl Env {
    fn tenant(&self, name: &str) -> TenantHandle {
        self.cipp.tenant(&TenantId::parse(name).unwrap()).unwrap()
    }

    fn alert(&self, name: &str) -> Arc<dyn Alert> {
        self.service.catalogue.get(name).unwrap().clone()
    }

    /// Runs `alert` in `tenant`, reporting resolved findings too.
    async fn run(&self, tenant: &str, alert: &dyn Alert, input: Value) -> Vec<Change> {
        run_alert(&self.tenant(tenant), alert, &self.service, &input, true)
            .await
            .unwrap()
    }

    fn tenant_state<R>(&self, name: &str, f: impl FnOnce(&mut cipp::sim::SimTenant) -> R) -> R {
        let mut st = self.sim.lock_state();
        f(st.tenant_mut(name).unwrap())
    }

    fn day(&self) {
        self.clock.advance(std::time::Duration::from_secs(86_400));
    }
}

fn message(c: &Change) -> String {
    c.record().row["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn one_raised(c: &[Change]) -> &Change {
    assert!(matches!(c, [Change::Raised(_)]), "{c:?}");
    &c[0]
}

/// Checks an input is refused before anything is sent.
async fn refused(e: &Env, alert: &dyn Alert, input: Value, mentions: &str) {
    let before = e.sim.log().entries().len();
    let err = run_alert(&e.tenant("contoso.com"), alert, &e.service, &input, false)
        .await
        .expect_err("refused");
    assert!(err.to_string().contains(mentions), "{err}");
    assert!(alert.validate(&input).is_err());
    assert_eq!(e.sim.log().entries().len(), before, "nothing sent");
}

// ---- QuotaUsed -------------------------------------------------------------------------

fn set_mailbox_size(e: &Env, upn: &str, gb: u64) {
    let bytes = gb * 1024 * 1024 * 1024;
    e.tenant_state("contoso.com", |t| {
        let mb = t
            .exchange
            .mailboxes
            .iter_mut()
            .find(|m| m["UserPrincipalName"] == json!(upn))
            .unwrap();
        mb["TotalItemSize"] = json!(format!("{gb} GB ({bytes} bytes)"));
    });
}

#[tokio::test]
async fn quota_used_reports_nearly_full_mailboxes() {
    let e = env();
    let alert = e.alert("QuotaUsed");
    // The demo's mailboxes hold 1.2 GB of 100 GB: nothing.
    assert!(e
        .run("contoso.com", alert.as_ref(), Value::Null)
        .await
        .is_empty());
    assert!(e
        .sim
        .log()
        .entries()
        .iter()
        .any(|r| r.path.contains("getMailboxUsageDetail")));

    // 95 GB: raised (more than the default 90 %).
    set_mailbox_size(&e, "adelev@contoso.com", 95);
    let c = e.run("contoso.com", alert.as_ref(), Value::Null).await;
    let r = one_raised(&c);
    assert_eq!(r.record().subject, "adelev@contoso.com");
    assert!(message(r).contains("95% full"), "{}", message(r));
    assert_eq!(r.record().row["data"]["recipientType"], "User");
    // Unchanged the next day: silent.
    e.day();
    assert!(e
        .run("contoso.com", alert.as_ref(), Value::Null)
        .await
        .is_empty());
    // Fuller: changed.
    set_mailbox_size(&e, "adelev@contoso.com", 97);
    let c = e.run("contoso.com", alert.as_ref(), Value::Null).await;
    assert!(matches!(c.as_slice(), [Change::Changed(_)]), "{c:?}");
    assert!(message(&c[0]).contains("97% full"));
    // Above a higher threshold only (as text, as CIPP's form sends it): still the same
    // mailbox, now with the threshold in its data — changed, not raised.
    let c = e
        .run(
            "contoso.com",
            alert.as_ref(),
            json!({"QuotaUsedQuota": "96"}),
        )
        .await;
    assert!(matches!(c.as_slice(), [Change::Changed(_)]), "{c:?}");
    // Excluded, or only shared mailboxes asked for: resolved.
    let c = e
        .run(
            "contoso.com",
            alert.as_ref(),
            json!({"QuotaUsedQuota": 96, "QuotaUsedExcludedMailboxes": "x@contoso.com, AdeleV@contoso.com"}),
        )
        .await;
    assert!(matches!(c.as_slice(), [Change::Resolved(_)]), "{c:?}");
    let c = e
        .run(
            "contoso.com",
            alert.as_ref(),
            json!({"QuotaUsedMailboxTypes": {"value": ["Shared"]}}),
        )
        .await;
    assert!(c.is_empty(), "{c:?}");
    let c = e
        .run(
            "contoso.com",
            alert.as_ref(),
            json!({"QuotaUsedMailboxTypes": [{"label": "User mailboxes", "value": "UserMailbox"}]}),
        )
        .await;
    assert!(matches!(c.as_slice(), [Change::Raised(_)]), "{c:?}");
    // Emptied: resolved. A bare number is the percentage (older CIPP).
    set_mailbox_size(&e, "adelev@contoso.com", 10);
    let c = e.run("contoso.com", alert.as_ref(), json!("85")).await;
    assert!(matches!(c.as_slice(), [Change::Resolved(_)]), "{c:?}");

    refused(
        &e,
        alert.as_ref(),
        json!({"QuotaUsedQuota": 101}),
        "1 to 100",
    )
    .await;
    refused(
        &e,
        alert.as_ref(),
        json!({"QuotaUsedQuota": "-5"}),
        "1 to 100",
    )
    .await;
    refused(
        &e,
        alert.as_ref(),
        json!({"QuotaUsedQuota": "lots"}),
        "whole number",
    )
    .await;
    refused(&e, alert.as_ref(), json!({"Quota": 80}), "QuotaUsedQuota").await;
}

// ---- SoftDeletedMailboxes --------------------------------------------------------------

#[tokio::test]
async fn soft_deleted_mailboxes_are_reported_until_restored() {
    let e = env();
    let alert = e.alert("SoftDeletedMailboxes");
    assert!(e
        .run("contoso.com", alert.as_ref(), Value::Null)
        .await
        .is_empty());
    // Adele is deleted: her mailbox is soft-deleted with her.
    let contoso = e.tenant("contoso.com");
    contoso
        .graph()
        .users()
        .delete(&cipp::graph::users::UserRef::parse("adelev@contoso.com").unwrap())
        .await
        .unwrap();
    let c = e.run("contoso.com", alert.as_ref(), Value::Null).await;
    let r = one_raised(&c);
    assert!(message(r).contains("adelev@contoso.com"), "{}", message(r));
    assert_eq!(r.record().row["data"]["UPN"], "adelev@contoso.com");
    assert!(e.sim.log().cmdlets().contains(&"Get-Mailbox"));
    e.day();
    assert!(e
        .run("contoso.com", alert.as_ref(), Value::Null)
        .await
        .is_empty());
    // Its archive changes while deleted: changed.
    e.tenant_state("contoso.com", |t| {
        let mb = t
            .exchange
            .mailboxes
            .iter_mut()
            .find(|m| m["UserPrincipalName"] == json!("adelev@contoso.com"))
            .unwrap();
        mb["ArchiveGuid"] = json!("5b1d0e3a-0000-4000-8000-0000000000a1");
    });
    let c = e.run("contoso.com", alert.as_ref(), Value::Null).await;
    assert!(matches!(c.as_slice(), [Change::Changed(_)]), "{c:?}");
    // Under a hold it is an inactive mailbox: left out, as CIPP does.
    e.tenant_state("contoso.com", |t| {
        let mb = t
            .exchange
            .mailboxes
            .iter_mut()
            .find(|m| m["UserPrincipalName"] == json!("adelev@contoso.com"))
            .unwrap();
        mb["LitigationHoldEnabled"] = json!(true);
    });
    let c = e.run("contoso.com", alert.as_ref(), Value::Null).await;
    assert!(matches!(c.as_slice(), [Change::Resolved(_)]), "{c:?}");
    refused(&e, alert.as_ref(), json!({"days": 3}), "no input").await;
}

// ---- RestrictedUsers (and snoozing) ------------------------------------------------------

fn block(e: &Env, address: &str, external: u32) {
    e.tenant_state("contoso.com", |t| {
        let rows = t
            .directory
            .store
            .get_mut("exchange/blockedsenderaddresses")
            .items_mut();
        rows.retain(|r| r["SenderAddress"] != json!(address));
        rows.push(json!({
            "SenderAddress": address,
            "Reason": format!("ExceedingLimitType=External;InternalRecipientCountToday=0;ExternalRecipientCountToday={external}"),
            "CreatedDatetime": "2026-11-27T08:15:00Z",
            "ChangedDatetime": "2026-11-27T08:15:00Z",
            "TemporaryBlock": false,
        }));
    });
}

#[tokio::test]
async fn restricted_users_raise_change_resolve_and_snooze() {
    let e = env();
    let alert = e.alert("RestrictedUsers");
    assert!(e
        .run("contoso.com", alert.as_ref(), Value::Null)
        .await
        .is_empty());
    block(&e, "meganb@contoso.com", 501);
    let c = e.run("contoso.com", alert.as_ref(), Value::Null).await;
    let r = one_raised(&c);
    assert_eq!(r.record().subject, "meganb@contoso.com");
    assert!(
        message(r).contains("Block type: External"),
        "{}",
        message(r)
    );
    assert_eq!(r.record().row["data"]["ExternalCount"], "501");
    assert!(e
        .run("contoso.com", alert.as_ref(), Value::Null)
        .await
        .is_empty());
    // Blocked again with other counts: changed.
    block(&e, "meganb@contoso.com", 777);
    let c = e.run("contoso.com", alert.as_ref(), Value::Null).await;
    assert!(matches!(c.as_slice(), [Change::Changed(_)]), "{c:?}");
    // Unblocked (Remove-BlockedSenderAddress): resolved.
    let unblock = cipp::exchange::cmdlet::Cmdlet::new("Remove-BlockedSenderAddress")
        .param("SenderAddress", "meganb@contoso.com");
    e.tenant("contoso.com")
        .exchange()
        .invoke(&unblock)
        .await
        .unwrap();
    let c = e.run("contoso.com", alert.as_ref(), Value::Null).await;
    assert!(matches!(c.as_slice(), [Change::Resolved(_)]), "{c:?}");
    // Restricted again, then snoozed for 14 days: a change stays silent.
    block(&e, "meganb@contoso.com", 600);
    let c = e.run("contoso.com", alert.as_ref(), Value::Null).await;
    one_raised(&c);
    let tenant = e.tenant("contoso.com").id().as_str().to_owned();
    e.state
        .snooze(
            &tenant,
            "RestrictedUsers",
            "meganb@contoso.com",
            Snooze::Days14.until(e.clock.now()),
        )
        .await
        .unwrap();
    block(&e, "meganb@contoso.com", 900);
    assert!(e
        .run("contoso.com", alert.as_ref(), Value::Null)
        .await
        .is_empty());
    refused(&e, alert.as_ref(), json!("yes"), "no input").await;
}

// ---- MXRecordChanged -------------------------------------------------------------------

#[tokio::test]
async fn mx_records_away_from_exchange_online_are_raised_and_changes_follow() {
    let e = env();
    // The built-in alert has no resolver: it says how to give one, before any lookup.
    let builtin = e.alert("MXRecordChanged");
    let err = run_alert(
        &e.tenant("contoso.com"),
        builtin.as_ref(),
        &e.service,
        &Value::Null,
        false,
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("with_resolver"), "{err}");

    let dns = Arc::new(StaticMxResolver::new());
    let alert = MXRecordChanged::with_resolver(dns.clone());
    // Mail goes to Exchange Online, as Microsoft expects: nothing.
    dns.set("contoso.com", ["Contoso-com.mail.protection.outlook.com."]);
    assert!(e.run("contoso.com", &alert, Value::Null).await.is_empty());
    let log = e.sim.log();
    assert!(log.entries().iter().any(|r| r
        .path
        .ends_with("/domains/contoso.com/serviceConfigurationRecords")));
    assert!(!log.entries().iter().any(|r| r
        .path
        .contains("onmicrosoft.com/serviceConfigurationRecords")));
    // Moved to a filtering gateway: raised.
    dns.set("contoso.com", ["mx1.gateway.example"]);
    let c = e.run("contoso.com", &alert, Value::Null).await;
    let r = one_raised(&c);
    assert_eq!(r.record().subject, "contoso.com");
    assert!(
        message(r).contains("[mx1.gateway.example]")
            && message(r).contains("contoso-com.mail.protection.outlook.com"),
        "{}",
        message(r)
    );
    e.day();
    assert!(e.run("contoso.com", &alert, Value::Null).await.is_empty());
    // Changed again: a changed finding (the previous records are in the state).
    dns.set(
        "contoso.com",
        ["mx2.gateway.example", "mx1.gateway.example"],
    );
    let c = e.run("contoso.com", &alert, Value::Null).await;
    assert!(matches!(c.as_slice(), [Change::Changed(_)]), "{c:?}");
    assert_eq!(
        c[0].record().row["data"]["actualMXRecords"],
        json!(["mx1.gateway.example", "mx2.gateway.example"])
    );
    // Back to Exchange Online: resolved.
    dns.set("contoso.com", ["contoso-com.mail.protection.outlook.com"]);
    let c = e.run("contoso.com", &alert, Value::Null).await;
    assert!(matches!(c.as_slice(), [Change::Resolved(_)]), "{c:?}");
    refused(&e, &alert, json!({"domain": "x"}), "no input").await;
}

// ---- DeviceCompliance ------------------------------------------------------------------

fn set_device(e: &Env, name: &str, field: &str, value: Value) {
    e.tenant_state("contoso.com", |t| {
        let devices = t
            .intune
            .store
            .get_mut(cipp::sim::state::paths::MANAGED_DEVICES);
        let d = devices
            .items_mut()
            .iter_mut()
            .find(|d| d["deviceName"] == json!(name))
            .unwrap();
        d[field] = value;
    });
}

#[tokio::test]
async fn noncompliant_devices_are_reported_not_their_syncs() {
    let e = env();
    let alert = e.alert("DeviceCompliance");
    assert!(e
        .run("contoso.com", alert.as_ref(), Value::Null)
        .await
        .is_empty());
    set_device(&e, "ADELE-LAPTOP", "complianceState", json!("noncompliant"));
    let c = e.run("contoso.com", alert.as_ref(), Value::Null).await;
    let r = one_raised(&c);
    assert!(
        message(r).contains("ADELE-LAPTOP") && message(r).contains("adelev@contoso.com"),
        "{}",
        message(r)
    );
    // It syncs again, still noncompliant: silent.
    set_device(
        &e,
        "ADELE-LAPTOP",
        "lastSyncDateTime",
        json!("2026-11-27T08:59:00Z"),
    );
    assert!(e
        .run("contoso.com", alert.as_ref(), Value::Null)
        .await
        .is_empty());
    // Renamed: changed.
    set_device(&e, "ADELE-LAPTOP", "deviceName", json!("ADELE-LAPTOP-2"));
    let c = e.run("contoso.com", alert.as_ref(), Value::Null).await;
    assert!(matches!(c.as_slice(), [Change::Changed(_)]), "{c:?}");
    // Compliant again: resolved.
    set_device(&e, "ADELE-LAPTOP-2", "complianceState", json!("compliant"));
    let c = e.run("contoso.com", alert.as_ref(), Value::Null).await;
    assert!(matches!(c.as_slice(), [Change::Resolved(_)]), "{c:?}");
    // A tenant without Intune (403): nothing to find, no error.
    e.sim.add_fault(
        FaultRule::new(
            FaultKind::Error {
                status: 403,
                code: "Forbidden".into(),
                message: "Tenant is not licensed for Intune.".into(),
            },
            FaultTrigger::Always,
        )
        .on_path("/v1.0/deviceManagement/managedDevices")
        .for_tenant("fabrikam.com"),
    );
    assert!(e
        .run("fabrikam.com", alert.as_ref(), Value::Null)
        .await
        .is_empty());
    refused(&e, alert.as_ref(), json!([1]), "no input").await;
}

// ---- StaleEntraDevices -------------------------------------------------------------------

fn add_devices(e: &Env) {
    let now = e.clock.now();
    let ago = |d: i64| (now - chrono::Duration::days(d)).to_rfc3339();
    e.tenant_state("contoso.com", |t| {
        let devices = t.directory.store.get_mut("devices");
        for (id, name, enabled, last, registered) in [
            (
                "d0000000-0000-4000-8000-000000000001",
                "OLD-PC",
                true,
                Some(ago(200)),
                ago(400),
            ),
            (
                "d0000000-0000-4000-8000-000000000002",
                "NEW-PC",
                true,
                Some(ago(10)),
                ago(400),
            ),
            (
                "d0000000-0000-4000-8000-000000000003",
                "FRESH-PC",
                true,
                None,
                ago(5),
            ),
            (
                "d0000000-0000-4000-8000-000000000004",
                "OFF-PC",
                false,
                Some(ago(300)),
                ago(400),
            ),
        ] {
            devices.insert(json!({
                "id": id, "deviceId": id, "displayName": name, "accountEnabled": enabled,
                "approximateLastSignInDateTime": last, "operatingSystem": "Windows",
                "operatingSystemVersion": "10.0.22631", "trustType": "AzureAd", "isManaged": true,
                "registrationDateTime": registered, "alternativeSecurityIds": [],
            }));
        }
    });
}

fn rename_device(e: &Env, id: &str, field: &str, value: Value) {
    e.tenant_state("contoso.com", |t| {
        let d = t.directory.store.get_mut("devices").get_mut(id).unwrap();
        d[field] = value;
    });
}

#[tokio::test]
async fn stale_entra_devices_by_days_and_enabled_state() {
    let e = env();
    let alert = e.alert("StaleEntraDevices");
    assert!(e
        .run("contoso.com", alert.as_ref(), Value::Null)
        .await
        .is_empty());
    add_devices(&e);
    // 90 days by default: the old one and the disabled one.
    let c = e.run("contoso.com", alert.as_ref(), Value::Null).await;
    let mut names: Vec<String> = c
        .iter()
        .map(|c| {
            assert!(matches!(c, Change::Raised(_)), "{c:?}");
            c.record().row["data"]["DeviceName"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    names.sort();
    assert_eq!(names, ["OFF-PC", "OLD-PC"]);
    let old = c
        .iter()
        .find(|c| c.record().row["data"]["DeviceName"] == "OLD-PC")
        .unwrap();
    assert!(
        message(old).contains("has not been active since"),
        "{}",
        message(old)
    );
    assert_eq!(old.record().row["data"]["JoinType"], "Entra joined");
    // A day later: the same devices, silent (no day counts in the findings).
    e.day();
    assert!(e
        .run("contoso.com", alert.as_ref(), Value::Null)
        .await
        .is_empty());
    // Renamed: changed. Enabled ones only (a bare `true`, as older CIPP sends it): the
    // disabled one resolves.
    rename_device(
        &e,
        "d0000000-0000-4000-8000-000000000001",
        "displayName",
        json!("OLD-PC-2"),
    );
    let c = e.run("contoso.com", alert.as_ref(), json!(true)).await;
    assert_eq!(c.len(), 2, "{c:?}");
    assert!(c.iter().any(|c| matches!(c, Change::Changed(_))), "{c:?}");
    assert!(
        c.iter()
            .any(|c| matches!(c, Change::Resolved(r) if r.row["data"]["DeviceName"] == "OFF-PC")),
        "{c:?}"
    );
    assert!(e
        .sim
        .log()
        .entries()
        .iter()
        .any(|r| r.path == "/v1.0/devices"
            && r.query
                .as_deref()
                .is_some_and(|q| q.contains("accountEnabled eq true"))));
    // Signed in again: resolved. Within 400 days: nothing stale at all.
    rename_device(
        &e,
        "d0000000-0000-4000-8000-000000000001",
        "approximateLastSignInDateTime",
        json!(e.clock.now().to_rfc3339()),
    );
    let c = e
        .run(
            "contoso.com",
            alert.as_ref(),
            json!({"DaysSinceLastActivity": "400", "ExcludeDisabled": "true"}),
        )
        .await;
    assert!(matches!(c.as_slice(), [Change::Resolved(_)]), "{c:?}");

    refused(
        &e,
        alert.as_ref(),
        json!({"DaysSinceLastActivity": -3}),
        "1 to 36500",
    )
    .await;
    refused(
        &e,
        alert.as_ref(),
        json!({"DaysSinceLastActivity": 40000}),
        "1 to 36500",
    )
    .await;
    refused(
        &e,
        alert.as_ref(),
        json!({"ExcludeDisabled": "maybe"}),
        "true or false",
    )
    .await;
    refused(
        &e,
        alert.as_ref(),
        json!({"Days": 30}),
        "DaysSinceLastActivity",
    )
    .await;
}

// ---- TenantAccess --------------------------------------------------------------------------

/// Maps CIPP's twelve required roles of Contoso's relationship to partner groups.
async fn map_required_roles(e: &Env) {
    let partner = TenantId::parse(DEMO_PARTNER).unwrap();
    let pg = e.cipp.graph().tenant(&partner);
    let ids: Vec<String> = roles::CIPP_DEFAULT_ROLES[..12]
        .iter()
        .map(|(_, id)| (*id).to_owned())
        .collect();
    let (mappings, _) = workflow::ensure_role_groups(&pg, &ids, None).await.unwrap();
    let rels = pg
        .gdap()
        .relationships()
        .query(cipp::graph::gdap::active_query())
        .await
        .unwrap();
    let contoso = rels
        .iter()
        .find(|r| r.customer.as_ref().unwrap().display_name.as_deref() == Some("Contoso Ltd"))
        .unwrap();
    workflow::apply_mappings(&pg, &contoso.id, &mappings, false)
        .await
        .unwrap();
}

#[tokio::test]
async fn tenant_access_follows_graph_exchange_and_gdap_roles() {
    let e = env();
    let builtin = e.alert("TenantAccess");
    // Graph and Exchange answer: nothing.
    assert!(e
        .run("contoso.com", builtin.as_ref(), Value::Null)
        .await
        .is_empty());
    assert!(e.sim.log().cmdlets().contains(&"Get-OrganizationConfig"));
    // Exchange refuses: raised.
    e.sim.add_fault(
        FaultRule::new(
            FaultKind::Error {
                status: 403,
                code: "Forbidden".into(),
                message: "The user is not an Exchange administrator.".into(),
            },
            FaultTrigger::Always,
        )
        .on_operation("Get-OrganizationConfig")
        .for_tenant("contoso.com"),
    );
    let c = e.run("contoso.com", builtin.as_ref(), Value::Null).await;
    let r = one_raised(&c);
    assert!(
        message(r).contains("lost Exchange Online access"),
        "{}",
        message(r)
    );
    assert_eq!(r.record().row["data"]["graphStatus"], true);
    assert_eq!(r.record().row["data"]["exchangeStatus"], false);
    // The same failure the next day: silent (no request ids in the finding).
    e.day();
    assert!(e
        .run("contoso.com", builtin.as_ref(), Value::Null)
        .await
        .is_empty());
    // With the partner, the GDAP roles are read too: none of the demo's roles is mapped
    // to a partner group, so the finding now lists twelve missing roles: changed.
    let partner = TenantId::parse(DEMO_PARTNER).unwrap();
    let with_roles = TenantAccessAlert::with_partner(partner);
    let c = e.run("contoso.com", &with_roles, Value::Null).await;
    assert!(matches!(c.as_slice(), [Change::Changed(_)]), "{c:?}");
    let missing = c[0].record().row["data"]["missingRoles"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(missing, 12);
    // Exchange answers again: the finding is the missing roles.
    e.sim.clear_faults();
    let c = e.run("contoso.com", &with_roles, Value::Null).await;
    assert!(matches!(c.as_slice(), [Change::Changed(_)]), "{c:?}");
    assert!(
        message(&c[0]).contains("missing required GDAP roles: Application Administrator"),
        "{}",
        message(&c[0])
    );
    assert!(
        !message(&c[0]).contains("Global Reader"),
        "optional roles are not required"
    );
    // Every required role mapped: resolved.
    map_required_roles(&e).await;
    let c = e.run("contoso.com", &with_roles, Value::Null).await;
    assert!(matches!(c.as_slice(), [Change::Resolved(_)]), "{c:?}");
    // Graph lost (and Exchange): both lost, in CIPP's words.
    e.sim.add_fault(
        FaultRule::new(
            FaultKind::Error {
                status: 401,
                code: "InvalidAuthenticationToken".into(),
                message: "Access token validation failure.".into(),
            },
            FaultTrigger::Always,
        )
        .for_tenant("contoso.com"),
    );
    let c = e.run("contoso.com", &with_roles, Value::Null).await;
    let r = one_raised(&c);
    assert!(message(r).contains("is inaccessible"), "{}", message(r));
    refused(&e, &with_roles, json!({"x": 1}), "no input").await;
}

// ---- LowTenantAlignment ------------------------------------------------------------------

fn result(
    standard: &str,
    template: &str,
    status: &str,
    at: &str,
) -> cipp::standards::StandardResult {
    serde_json::from_value(json!({
        "tenant": "contoso.com", "standard": format!("standards.{standard}"), "source": template,
        "mode": {"report": true}, "status": status, "checkedAt": at,
    }))
    .unwrap()
}

#[tokio::test]
async fn low_tenant_alignment_reads_the_standards_results() {
    let mut e = env();
    let alert = e.alert("LowTenantAlignment");
    // No results store: an error saying what to configure.
    let err = run_alert(
        &e.tenant("contoso.com"),
        alert.as_ref(),
        &e.service,
        &Value::Null,
        false,
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("AlertService.standards"), "{err}");

    let store = Arc::new(MemoryResultStore::new());
    e.service.standards = Some(store.clone());
    // No results for the tenant: nothing.
    assert!(e
        .run("contoso.com", alert.as_ref(), Value::Null)
        .await
        .is_empty());
    let at = "2026-11-27T08:00:00Z";
    store
        .record(vec![
            result("AuditLog", "tpl-baseline", "compliant", at),
            result("DisableBasicAuth", "tpl-baseline", "compliant", at),
            result("SpoofWarn", "tpl-baseline", "remediated", at),
            result("EnableMailTips", "tpl-baseline", "drifted", at),
            result("Branding", "tpl-other", "compliant", at),
        ])
        .await
        .unwrap();
    // 75 % aligned with the baseline, below the default 99 %: raised; the other template
    // is fully aligned.
    let c = e.run("contoso.com", alert.as_ref(), Value::Null).await;
    let r = one_raised(&c);
    assert_eq!(r.record().subject, "template:tpl-baseline");
    assert!(message(r).contains("75% (below 99%)"), "{}", message(r));
    // A new run of the same standards (new collection time, same score): silent.
    store
        .record(vec![result(
            "AuditLog",
            "tpl-baseline",
            "compliant",
            "2026-11-28T08:00:00Z",
        )])
        .await
        .unwrap();
    assert!(e
        .run("contoso.com", alert.as_ref(), Value::Null)
        .await
        .is_empty());
    // More drift: changed.
    store
        .record(vec![result(
            "AuditLog",
            "tpl-baseline",
            "drifted",
            "2026-11-28T09:00:00Z",
        )])
        .await
        .unwrap();
    let c = e.run("contoso.com", alert.as_ref(), json!("99")).await;
    assert!(matches!(c.as_slice(), [Change::Changed(_)]), "{c:?}");
    assert_eq!(c[0].record().row["data"]["alignmentScore"], 50.0);
    // A lower threshold: resolved.
    let c = e
        .run("contoso.com", alert.as_ref(), json!({"InputValue": 40}))
        .await;
    assert!(matches!(c.as_slice(), [Change::Resolved(_)]), "{c:?}");

    refused(&e, alert.as_ref(), json!({"InputValue": 101}), "0 to 100").await;
    refused(&e, alert.as_ref(), json!("ninety"), "whole number").await;
    refused(&e, alert.as_ref(), json!({"Threshold": 80}), "InputValue").await;
}
