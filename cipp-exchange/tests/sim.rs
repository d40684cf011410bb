//! Scenarios on the simulator.

use std::sync::Arc;

use chrono::Duration;
use cipp_core::{ApiErrorKind, Clock, ManualClock, Outcome, Pipeline, TenantId};
use cipp_exchange::addresses::AliasChange;
use cipp_exchange::cmdlet::Cmdlet;
use cipp_exchange::cmdlets::{self, AutoForwardingMode, Forwarding};
use cipp_exchange::model::{MailboxPermission, OutboundSpamPolicy};
use cipp_exchange::{CmdletOutput, ExoClient, TenantExchange};
use cipp_sim::scenario::DEMO_COMPROMISED_UPN as UPN;
use cipp_sim::Simulator;

/// The demo simulator, the Exchange admin API of its Contoso tenant, and its clock.
fn setup() -> (Simulator, TenantExchange, ManualClock) {
    let clock = ManualClock::new("2026-11-27T09:00:00Z".parse().unwrap());
    let sim = Simulator::demo_with_clock(Arc::new(clock.clone()));
    let builder = Pipeline::builder().transport(Arc::new(sim.clone()));
    let builder = builder.credentials(sim.demo_credentials());
    let p = builder.clock(Arc::new(clock.clone())).build().unwrap();
    (sim, ExoClient::new(p).tenant(&contoso()), clock)
}

/// Runs `cmdlet` (which must have been built) in `tenant` and returns its rows.
async fn run<T>(
    tenant: &TenantExchange,
    cmdlet: Result<Cmdlet<T>, cipp_core::Error>,
) -> CmdletOutput<serde_json::Value> {
    tenant.invoke(&cmdlet.unwrap()).await.unwrap()
}

fn contoso() -> TenantId {
    TenantId::parse("contoso.onmicrosoft.com").unwrap()
}

#[tokio::test]
async fn an_alias_added_is_visible_and_can_become_primary() {
    let (_s, mbx, _) = setup();
    let add = AliasChange {
        add: vec!["adele.vance@contoso.com".into()],
        ..Default::default()
    };
    assert!(matches!(
        mbx.change_aliases("adelev@contoso.com", &add)
            .await
            .unwrap(),
        Outcome::Succeeded { .. }
    ));
    let mb = mbx.get_mailbox("adelev@contoso.com").await.unwrap();
    assert!(mb
        .email_addresses
        .contains(&"smtp:adele.vance@contoso.com".to_string()));
    let primary = AliasChange {
        make_primary: Some("adele.vance@contoso.com".into()),
        ..Default::default()
    };
    mbx.change_aliases("adelev@contoso.com", &primary)
        .await
        .unwrap();
    let mb = mbx.get_mailbox("adele.vance@contoso.com").await.unwrap();
    assert_eq!(
        mb.primary_smtp_address.as_deref(),
        Some("adele.vance@contoso.com")
    );
    assert_eq!(mb.email_addresses[0], "SMTP:adele.vance@contoso.com");
}

#[tokio::test]
async fn hidden_rules_are_found_and_a_disabled_rule_stays_disabled() {
    let (_s, mbx, _) = setup();
    let rules = mbx.inbox_rules(UPN).await.unwrap();
    assert!(
        rules.iter().any(|r| r.name.as_deref() == Some(".")),
        "the hidden rule is listed"
    );
    assert!(!rules.iter().any(|r| r.is_system()));
    let report = mbx.disable_all_inbox_rules(UPN).await.unwrap();
    assert!(
        matches!(report.overall(), Outcome::Succeeded { .. }),
        "{report:?}"
    );
    let rules = mbx.inbox_rules(UPN).await.unwrap();
    assert!(rules.iter().all(|r| r.enabled == Some(false)));
    let again = mbx.disable_all_inbox_rules(UPN).await.unwrap();
    assert!(matches!(again.overall(), Outcome::NoChange { .. }));
}

#[tokio::test]
async fn a_forwarding_removed_is_gone() {
    let (_s, mbx, _) = setup();
    let mb = mbx.get_mailbox(UPN).await.unwrap();
    assert_eq!(
        mb.forwarding_smtp_address.as_deref(),
        Some("smtp:collector@evil-mail.example")
    );
    mbx.set_forwarding(UPN, &Forwarding::Disabled)
        .await
        .unwrap();
    let mb = mbx.get_mailbox(UPN).await.unwrap();
    assert_eq!(mb.forwarding_smtp_address, None);
    assert_eq!(mb.deliver_to_mailbox_and_forward, Some(false));
    // Doing it again changes nothing, and Exchange says so.
    let out = run(&mbx, cmdlets::set_forwarding(UPN, &Forwarding::Disabled)).await;
    assert!(out.nothing_modified());
}

#[tokio::test]
async fn unknown_identities_and_cmdlets_get_exchange_errors() {
    let (_s, mbx, _) = setup();
    let err = mbx.get_mailbox("ghost@contoso.com").await.unwrap_err();
    assert_eq!(err.as_api().unwrap().kind, ApiErrorKind::NotFound);
    assert!(err.to_string().contains("ghost@contoso.com"));
    let bogus = Cmdlet::new("Get-Mailbox").param("Bogus", 1);
    for (cmdlet, says) in [
        (Cmdlet::new("Get-Nonsense"), "not recognized"),
        (bogus, "'Bogus'"),
    ] {
        let err = mbx.invoke(&cmdlet).await.unwrap_err();
        assert!(err.to_string().contains(says), "{says}: {err}");
    }
}

#[tokio::test]
async fn distribution_list_membership_through_exchange_shows_in_graph_state() {
    let (sim, mbx, _) = setup();
    let add = cmdlets::add_distribution_group_member("everyone@contoso.com", "alexw@contoso.com")
        .unwrap();
    mbx.invoke(&add).await.unwrap();
    let err = mbx.invoke(&add).await.unwrap_err();
    assert!(err.to_string().contains("already a member"), "{err}");
    let members = run(&mbx, cmdlets::get_distribution_group_members("Everyone DL")).await;
    assert!(members
        .value
        .iter()
        .any(|m| m["PrimarySmtpAddress"] == "alexw@contoso.com"));
    let st = sim.lock_state();
    let c = st.tenant("contoso.com").unwrap();
    let everyone = c
        .groups()
        .iter()
        .find(|g| g["displayName"] == "Everyone DL");
    let gid = everyone.unwrap()["id"].as_str().unwrap();
    assert_eq!(c.directory.members[gid].len(), 3);
}

#[tokio::test]
async fn permissions_devices_audit_and_traces() {
    let (_s, mbx, clock) = setup();
    let perms = mbx
        .invoke_as::<MailboxPermission>(&cmdlets::get_mailbox_permissions(UPN).unwrap())
        .await
        .unwrap();
    assert!(perms
        .value
        .iter()
        .any(|p| p.user.as_deref() == Some("alexw@contoso.com")));
    run(&mbx, cmdlets::remove_full_access(UPN, "alexw@contoso.com")).await;
    run(&mbx, cmdlets::add_send_as(UPN, "adelev@contoso.com")).await;
    let sendas = run(&mbx, cmdlets::get_recipient_permissions(UPN)).await;
    assert_eq!(sendas.value.len(), 1);
    run(
        &mbx,
        cmdlets::set_calendar_permission(
            "adelev@contoso.com",
            "alexw@contoso.com",
            "Reviewer",
            false,
        ),
    )
    .await;
    let cal = run(
        &mbx,
        cmdlets::get_calendar_permissions("adelev@contoso.com"),
    )
    .await;
    assert_eq!(cal.value.len(), 2);
    let devices = mbx.mobile_devices(UPN).await.unwrap();
    assert_eq!(devices.len(), 2);
    let id = devices[1].identity.clone().unwrap();
    run(&mbx, cmdlets::remove_mobile_device(UPN, &id)).await;
    assert_eq!(mbx.mobile_devices(UPN).await.unwrap().len(), 1);

    assert_eq!(
        mbx.admin_audit_log_config()
            .await
            .unwrap()
            .unified_audit_log_ingestion_enabled,
        Some(true)
    );
    let now = clock.now();
    let records = mbx
        .search_unified_audit_log(
            now - Duration::days(7),
            now,
            &["New-InboxRule", "Set-InboxRule"],
            &[UPN],
            10_000,
        )
        .await
        .unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(
        records[0].audit_data_json().unwrap()["Parameters"][0]["Value"],
        ".."
    );
    let traces = mbx
        .message_trace(UPN, now - Duration::days(7), now)
        .await
        .unwrap();
    assert_eq!(traces.len(), 5);

    let policy = cmdlets::get_outbound_spam_policy("Default");
    let spam = mbx.invoke_as::<OutboundSpamPolicy>(&policy).await.unwrap();
    let mode = spam.value[0].auto_forwarding_mode.as_deref();
    assert_eq!(mode, Some("Automatic"));
    let off = cmdlets::set_auto_forwarding_mode("Default", AutoForwardingMode::Off);
    mbx.invoke(&off).await.unwrap();
    let spam = mbx.invoke_as::<OutboundSpamPolicy>(&policy).await.unwrap();
    assert_eq!(spam.value[0].auto_forwarding_mode.as_deref(), Some("Off"));
}

#[tokio::test]
async fn transport_rules_and_batches_on_the_simulator() {
    let (_s, mbx, _) = setup();
    let mut params = serde_json::Map::new();
    params.insert("SentToScope".into(), "NotInOrganization".into());
    params.insert(
        "RejectMessageReasonText".into(),
        "External forwarding is blocked".into(),
    );
    let block = "Block external forwarding";
    let new_rule = cmdlets::new_transport_rule(block, &params).unwrap();
    mbx.invoke(&new_rule).await.unwrap();
    assert!(
        mbx.invoke(&new_rule).await.is_err(),
        "a second rule of that name"
    );
    let rules = mbx.invoke(&cmdlets::get_transport_rules(None)).await;
    let rules = rules.unwrap();
    assert_eq!(rules.value.len(), 1);
    run(&mbx, cmdlets::remove_transport_rule(block)).await;

    let list: Vec<Cmdlet> = ["adelev", "alexw", "ghost", "meganb"]
        .iter()
        .map(|u| {
            cmdlets::get_mailbox(&format!("{u}@contoso.com"))
                .unwrap()
                .untyped()
        })
        .collect();
    let results = mbx.batch(&list).await.unwrap();
    assert!(results[0].is_ok() && results[1].is_ok() && results[3].is_ok());
    assert!(results[2].as_ref().unwrap_err().is_not_found());
}
