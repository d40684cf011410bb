//! Scenarios on the simulator.

use std::sync::Arc;

use chrono::Duration;
use cipp_core::{ApiErrorKind, Clock, ManualClock, Outcome, Pipeline, TenantId};
use cipp_exchange::addresses::AliasChange;
use cipp_exchange::cmdlet::Cmdlet;
use cipp_exchange::cmdlets::{self, AutoForwardingMode, Forwarding};
use cipp_exchange::model::{MailboxPermission, OutboundSpamPolicy};
use cipp_exchange::ExoClient;
use cipp_sim::scenario::DEMO_COMPROMISED_UPN;
use cipp_sim::Simulator;

fn setup() -> (Simulator, ExoClient, ManualClock) {
    let clock = ManualClock::new("2026-11-27T09:00:00Z".parse().unwrap());
    let sim = Simulator::demo_with_clock(Arc::new(clock.clone()));
    let p = Pipeline::builder()
        .transport(Arc::new(sim.clone()))
        .credentials(sim.demo_credentials())
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    (sim, ExoClient::new(p), clock)
}

fn contoso() -> TenantId {
    TenantId::parse("contoso.onmicrosoft.com").unwrap()
}

#[tokio::test]
async fn an_alias_added_is_visible_and_can_become_primary() {
    let (_s, exo, _) = setup();
    let t = contoso();
    let mailboxes = exo.tenant(&t);
    let add = AliasChange {
        add: vec!["adele.vance@contoso.com".into()],
        ..Default::default()
    };
    assert!(matches!(
        mailboxes
            .change_aliases("adelev@contoso.com", &add)
            .await
            .unwrap(),
        Outcome::Succeeded { .. }
    ));
    let mb = mailboxes.get_mailbox("adelev@contoso.com").await.unwrap();
    assert!(mb
        .email_addresses
        .contains(&"smtp:adele.vance@contoso.com".to_string()));
    let primary = AliasChange {
        make_primary: Some("adele.vance@contoso.com".into()),
        ..Default::default()
    };
    mailboxes
        .change_aliases("adelev@contoso.com", &primary)
        .await
        .unwrap();
    let mb = mailboxes
        .get_mailbox("adele.vance@contoso.com")
        .await
        .unwrap();
    assert_eq!(
        mb.primary_smtp_address.as_deref(),
        Some("adele.vance@contoso.com")
    );
    assert_eq!(mb.email_addresses[0], "SMTP:adele.vance@contoso.com");
}

#[tokio::test]
async fn hidden_rules_are_found_and_a_disabled_rule_stays_disabled() {
    let (_s, exo, _) = setup();
    let t = contoso();
    let mailboxes = exo.tenant(&t);
    let upn = DEMO_COMPROMISED_UPN;
    let rules = mailboxes.inbox_rules(upn).await.unwrap();
    assert!(
        rules.iter().any(|r| r.name.as_deref() == Some(".")),
        "the hidden rule is listed"
    );
    assert!(!rules.iter().any(|r| r.is_system()));
    let report = mailboxes.disable_all_inbox_rules(upn).await.unwrap();
    assert!(
        matches!(report.overall(), Outcome::Succeeded { .. }),
        "{report:?}"
    );
    let rules = mailboxes.inbox_rules(DEMO_COMPROMISED_UPN).await.unwrap();
    assert!(rules.iter().all(|r| r.enabled == Some(false)));
    let again = mailboxes.disable_all_inbox_rules(upn).await.unwrap();
    assert!(matches!(again.overall(), Outcome::NoChange { .. }));
}

#[tokio::test]
async fn a_forwarding_removed_is_gone() {
    let (_s, exo, _) = setup();
    let t = contoso();
    let mailboxes = exo.tenant(&t);
    let mb = mailboxes.get_mailbox(DEMO_COMPROMISED_UPN).await.unwrap();
    assert_eq!(
        mb.forwarding_smtp_address.as_deref(),
        Some("smtp:collector@evil-mail.example")
    );
    mailboxes
        .set_forwarding(DEMO_COMPROMISED_UPN, &Forwarding::Disabled)
        .await
        .unwrap();
    let mb = mailboxes.get_mailbox(DEMO_COMPROMISED_UPN).await.unwrap();
    assert_eq!(mb.forwarding_smtp_address, None);
    assert_eq!(mb.deliver_to_mailbox_and_forward, Some(false));
    // Doing it again changes nothing, and Exchange says so.
    let out = exo
        .invoke(
            &t,
            &cmdlets::set_forwarding(DEMO_COMPROMISED_UPN, &Forwarding::Disabled).unwrap(),
        )
        .await
        .unwrap();
    assert!(out.nothing_modified());
}

#[tokio::test]
async fn unknown_identities_and_cmdlets_get_exchange_errors() {
    let (_s, exo, _) = setup();
    let t = contoso();
    let mailboxes = exo.tenant(&t);
    let err = mailboxes
        .get_mailbox("ghost@contoso.com")
        .await
        .unwrap_err();
    assert_eq!(err.as_api().unwrap().kind, ApiErrorKind::NotFound);
    assert!(err.to_string().contains("ghost@contoso.com"));
    let err = exo
        .invoke(&t, &Cmdlet::new("Get-Nonsense"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not recognized"), "{err}");
    let err = exo
        .invoke(&t, &Cmdlet::new("Get-Mailbox").param("Bogus", 1))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("'Bogus'"), "{err}");
}

#[tokio::test]
async fn distribution_list_membership_through_exchange_shows_in_graph_state() {
    let (sim, exo, _) = setup();
    let t = contoso();
    let add = cmdlets::add_distribution_group_member("everyone@contoso.com", "alexw@contoso.com")
        .unwrap();
    exo.invoke(&t, &add).await.unwrap();
    let err = exo.invoke(&t, &add).await.unwrap_err();
    assert!(err.to_string().contains("already a member"), "{err}");
    let members = exo
        .invoke(
            &t,
            &cmdlets::get_distribution_group_members("Everyone DL").unwrap(),
        )
        .await
        .unwrap();
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
    let (_s, exo, clock) = setup();
    let t = contoso();
    let mailboxes = exo.tenant(&t);
    let perms = exo
        .invoke_as::<MailboxPermission>(
            &t,
            &cmdlets::get_mailbox_permissions(DEMO_COMPROMISED_UPN).unwrap(),
        )
        .await
        .unwrap();
    assert!(perms
        .value
        .iter()
        .any(|p| p.user.as_deref() == Some("alexw@contoso.com")));
    exo.invoke(
        &t,
        &cmdlets::remove_full_access(DEMO_COMPROMISED_UPN, "alexw@contoso.com").unwrap(),
    )
    .await
    .unwrap();
    exo.invoke(
        &t,
        &cmdlets::add_send_as(DEMO_COMPROMISED_UPN, "adelev@contoso.com").unwrap(),
    )
    .await
    .unwrap();
    let sendas = exo
        .invoke(
            &t,
            &cmdlets::get_recipient_permissions(DEMO_COMPROMISED_UPN).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(sendas.value.len(), 1);
    exo.invoke(
        &t,
        &cmdlets::set_calendar_permission(
            "adelev@contoso.com",
            "alexw@contoso.com",
            "Reviewer",
            false,
        )
        .unwrap(),
    )
    .await
    .unwrap();
    let cal = exo
        .invoke(
            &t,
            &cmdlets::get_calendar_permissions("adelev@contoso.com").unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(cal.value.len(), 2);
    let devices = mailboxes
        .mobile_devices(DEMO_COMPROMISED_UPN)
        .await
        .unwrap();
    assert_eq!(devices.len(), 2);
    let id = devices[1].identity.clone().unwrap();
    exo.invoke(
        &t,
        &cmdlets::remove_mobile_device(DEMO_COMPROMISED_UPN, &id).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(
        mailboxes
            .mobile_devices(DEMO_COMPROMISED_UPN)
            .await
            .unwrap()
            .len(),
        1
    );

    assert_eq!(
        mailboxes
            .admin_audit_log_config()
            .await
            .unwrap()
            .unified_audit_log_ingestion_enabled,
        Some(true)
    );
    let now = clock.now();
    let records = mailboxes
        .search_unified_audit_log(
            now - Duration::days(7),
            now,
            &["New-InboxRule", "Set-InboxRule"],
            &[DEMO_COMPROMISED_UPN],
            10_000,
        )
        .await
        .unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(
        records[0].audit_data_json().unwrap()["Parameters"][0]["Value"],
        ".."
    );
    let traces = mailboxes
        .message_trace(DEMO_COMPROMISED_UPN, now - Duration::days(7), now)
        .await
        .unwrap();
    assert_eq!(traces.len(), 5);

    let spam = exo
        .invoke_as::<OutboundSpamPolicy>(&t, &cmdlets::get_outbound_spam_policy("Default"))
        .await
        .unwrap();
    assert_eq!(
        spam.value[0].auto_forwarding_mode.as_deref(),
        Some("Automatic")
    );
    exo.invoke(
        &t,
        &cmdlets::set_auto_forwarding_mode("Default", AutoForwardingMode::Off),
    )
    .await
    .unwrap();
    let spam = exo
        .invoke_as::<OutboundSpamPolicy>(&t, &cmdlets::get_outbound_spam_policy("Default"))
        .await
        .unwrap();
    assert_eq!(spam.value[0].auto_forwarding_mode.as_deref(), Some("Off"));
}

#[tokio::test]
async fn transport_rules_and_batches_on_the_simulator() {
    let (_s, exo, _) = setup();
    let t = contoso();
    let mut params = serde_json::Map::new();
    params.insert("SentToScope".into(), "NotInOrganization".into());
    params.insert(
        "RejectMessageReasonText".into(),
        "External forwarding is blocked".into(),
    );
    exo.invoke(
        &t,
        &cmdlets::new_transport_rule("Block external forwarding", &params).unwrap(),
    )
    .await
    .unwrap();
    assert!(exo
        .invoke(
            &t,
            &cmdlets::new_transport_rule("Block external forwarding", &params).unwrap()
        )
        .await
        .is_err());
    let rules = exo
        .invoke(&t, &cmdlets::get_transport_rules(None))
        .await
        .unwrap();
    assert_eq!(rules.value.len(), 1);
    exo.invoke(
        &t,
        &cmdlets::remove_transport_rule("Block external forwarding").unwrap(),
    )
    .await
    .unwrap();

    let list: Vec<Cmdlet> = ["adelev", "alexw", "ghost", "meganb"]
        .iter()
        .map(|u| {
            cmdlets::get_mailbox(&format!("{u}@contoso.com"))
                .unwrap()
                .untyped()
        })
        .collect();
    let results = exo.batch(&t, &list).await.unwrap();
    assert!(results[0].is_ok() && results[1].is_ok() && results[3].is_ok());
    assert!(results[2].as_ref().unwrap_err().is_not_found());
}
