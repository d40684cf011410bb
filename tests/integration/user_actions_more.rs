//! The remaining flyout and Exchange-tab actions on the simulator: contacts (and calendar)
//! folder permissions, trusted and blocked senders, sponsors and the typed inbox-rule
//! update — each checked against the simulator's state, refused before sending when the
//! input or the permission is wrong, audited, and run as scheduler commands.

use crate::common;

use std::sync::Arc;

use cipp::authz::{AccessControl, AuditOutcome, MemoryAuditLog, Principal, Role, TenantScope};
use cipp::commands::register_builtin;
use cipp::core::Outcome;
use cipp::exchange::folder_permissions::MailboxFolder;
use cipp::exchange::inbox_rules::InboxRuleUpdate;
use cipp::exchange::junk_email::JunkEmailChange;
use cipp::graph::model::DirectoryObjectId;
use cipp::graph::sponsors::Sponsor;
use cipp::scheduler::command::{CommandOutput, Registry, RunContext};
use cipp::sim::Simulator;
use cipp::users::UserActions;
use cipp::{Cipp, TenantId};
use serde_json::{json, Value};

const ADELE: &str = "adelev@contoso.com";
const MEGAN: &str = "meganb@contoso.com";
const CONTOSO: &str = "contoso.onmicrosoft.com";

fn setup() -> (Simulator, Cipp) {
    common::demo(None, common::Fleet::Partner)
}

fn actions(cipp: &Cipp, upn: &str) -> UserActions {
    cipp.tenant(&TenantId::parse(CONTOSO).unwrap())
        .unwrap()
        .user(upn)
        .unwrap()
}

fn user_id(sim: &Simulator, upn: &str) -> String {
    sim.lock_state()
        .tenant("contoso.com")
        .unwrap()
        .users()
        .iter()
        .find(|u| u["userPrincipalName"] == json!(upn))
        .and_then(|u| u["id"].as_str())
        .unwrap()
        .to_owned()
}

fn megan_rules(sim: &Simulator) -> Vec<Value> {
    sim.lock_state()
        .tenant("contoso.com")
        .unwrap()
        .exchange
        .inbox_rules
        .get(MEGAN)
        .cloned()
        .unwrap_or_default()
}

#[tokio::test(start_paused = true)]
async fn contacts_are_shared_changed_and_unshared() {
    let (sim, cipp) = setup();
    let a = actions(&cipp, ADELE);
    let contacts = MailboxFolder::Contacts;
    let entry = |rows: &[cipp::exchange::model::FolderPermission], who: &str| {
        rows.iter()
            .find(|r| {
                r.user
                    .as_deref()
                    .is_some_and(|u| u.eq_ignore_ascii_case(who))
            })
            .map(|r| r.access_rights.clone())
    };

    let before = a.folder_permissions(contacts).await.unwrap();
    assert_eq!(entry(&before, "Default"), Some(vec!["None".to_owned()]));
    a.grant_folder_permission(contacts, MEGAN, "reviewer")
        .await
        .unwrap();
    let rows = a.folder_permissions(contacts).await.unwrap();
    assert_eq!(entry(&rows, MEGAN), Some(vec!["Reviewer".to_owned()]));
    assert_eq!(rows[0].extra["FolderName"], "Contacts");
    // A second grant is Exchange's "existing permission entry" error.
    let again = a
        .grant_folder_permission(contacts, MEGAN, "Editor")
        .await
        .unwrap_err();
    assert!(
        again.to_string().contains("existing permission entry"),
        "{again}"
    );

    a.change_folder_permission(contacts, MEGAN, "Editor")
        .await
        .unwrap();
    a.change_folder_permission(contacts, "Default", "Reviewer")
        .await
        .unwrap();
    let rows = a.folder_permissions(contacts).await.unwrap();
    assert_eq!(entry(&rows, MEGAN), Some(vec!["Editor".to_owned()]));
    assert_eq!(entry(&rows, "Default"), Some(vec!["Reviewer".to_owned()]));
    // The calendar is a folder of its own.
    let calendar = a.folder_permissions(MailboxFolder::Calendar).await.unwrap();
    assert_eq!(entry(&calendar, MEGAN), None);
    assert_eq!(
        entry(&calendar, "Default"),
        Some(vec!["AvailabilityOnly".to_owned()])
    );

    a.remove_folder_permission(contacts, MEGAN).await.unwrap();
    let rows = a.folder_permissions(contacts).await.unwrap();
    assert_eq!(entry(&rows, MEGAN), None);

    // Calendar-only levels on contacts, and unknown levels: refused, nothing sent.
    sim.clear_log();
    for rights in ["AvailabilityOnly", "Boss"] {
        assert!(a
            .grant_folder_permission(contacts, MEGAN, rights)
            .await
            .is_err());
    }
    assert!(sim.request_log().is_empty(), "{:?}", sim.request_log());
}

#[tokio::test(start_paused = true)]
async fn trusted_and_blocked_senders_are_added_and_removed() {
    let (sim, cipp) = setup();
    let a = actions(&cipp, ADELE);
    let start = a.junk_email_configuration().await.unwrap();
    assert!(start.trusted_senders_and_domains.is_empty());
    assert_eq!(start.enabled, Some(true));

    let change = JunkEmailChange::default()
        .trust("fabrikam.com")
        .trust("ceo@partner.example")
        .block("spam@tailspin.example");
    let o = a.change_junk_email(&change).await.unwrap();
    assert!(matches!(o, Outcome::Succeeded { .. }), "{o:?}");
    let now = a.junk_email_configuration().await.unwrap();
    assert_eq!(
        now.trusted_senders_and_domains,
        ["fabrikam.com", "ceo@partner.example"]
    );
    assert_eq!(now.blocked_senders_and_domains, ["spam@tailspin.example"]);

    // The same again changes nothing; removing keeps the rest.
    let o = a.change_junk_email(&change).await.unwrap();
    assert!(matches!(o, Outcome::NoChange { .. }), "{o:?}");
    a.change_junk_email(&JunkEmailChange::default().untrust("FABRIKAM.com"))
        .await
        .unwrap();
    let now = a.junk_email_configuration().await.unwrap();
    assert_eq!(now.trusted_senders_and_domains, ["ceo@partner.example"]);
    // Another mailbox is untouched.
    let megan = actions(&cipp, MEGAN)
        .junk_email_configuration()
        .await
        .unwrap();
    assert!(megan.trusted_senders_and_domains.is_empty());

    sim.clear_log();
    for bad in [
        JunkEmailChange::default().trust("not a domain"),
        JunkEmailChange::default()
            .block("a.example")
            .trust("A.example"),
        JunkEmailChange::default(),
    ] {
        assert!(a.change_junk_email(&bad).await.is_err(), "{bad:?}");
    }
    assert!(sim.request_log().is_empty());
}

#[tokio::test(start_paused = true)]
async fn sponsors_are_added_listed_and_removed() {
    let (sim, cipp) = setup();
    let m = actions(&cipp, MEGAN);
    let adele = user_id(&sim, ADELE);
    assert!(m.sponsors().await.unwrap().is_empty());
    m.add_sponsor(&Sponsor::user(adele.as_str())).await.unwrap();
    let list = m.sponsors().await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].display_name.as_deref(), Some("Adele Vance"));
    assert!(m.add_sponsor(&Sponsor::user(adele.as_str())).await.is_err());
    m.remove_sponsor(&DirectoryObjectId::from(adele.as_str()))
        .await
        .unwrap();
    assert!(m.sponsors().await.unwrap().is_empty());
    let megan_id = user_id(&sim, MEGAN);
    assert!(sim
        .lock_state()
        .tenant("contoso.com")
        .unwrap()
        .directory
        .sponsors
        .get(&megan_id)
        .is_none_or(Vec::is_empty));
}

#[tokio::test(start_paused = true)]
async fn an_inbox_rule_is_updated_field_by_field() {
    let (sim, cipp) = setup();
    let m = actions(&cipp, MEGAN);
    let rules = megan_rules(&sim);
    let newsletters = rules.iter().find(|r| r["Name"] == "Newsletters").unwrap();
    let id = newsletters["Identity"].as_str().unwrap().to_owned();
    let update = InboxRuleUpdate {
        name: Some("Newsletters and digests".into()),
        priority: Some(1),
        subject_contains: Some(vec!["digest".into()]),
        move_to_folder: Some(Some("Reading".into())),
        mark_as_read: Some(true),
        stop_processing_rules: Some(true),
        ..Default::default()
    };
    m.update_inbox_rule(&id, &update).await.unwrap();
    let rules = megan_rules(&sim);
    let r = rules.iter().find(|r| r["Identity"] == json!(id)).unwrap();
    assert_eq!(r["Name"], "Newsletters and digests");
    assert_eq!(r["SubjectContainsWords"], json!(["digest"]));
    assert_eq!(r["MoveToFolder"], "Reading");
    assert_eq!(r["MarkAsRead"], true);
    assert_eq!(r["FromAddressContainsWords"], json!(["news@"]), "untouched");
    assert_eq!(r["Priority"], 1);
    // The others moved down, still numbered from 1 without gaps.
    let mut prios: Vec<i64> = rules
        .iter()
        .filter_map(|r| r["Priority"].as_i64())
        .filter(|p| *p >= 1)
        .collect();
    prios.sort_unstable();
    assert_eq!(prios, (1..=prios.len() as i64).collect::<Vec<_>>());

    // Clearing: the move goes, the rest stays.
    let clear = InboxRuleUpdate {
        move_to_folder: Some(None),
        ..Default::default()
    };
    m.update_inbox_rule(&id, &clear).await.unwrap();
    let rules = megan_rules(&sim);
    let r = rules.iter().find(|r| r["Identity"] == json!(id)).unwrap();
    assert!(r["MoveToFolder"].is_null());
    assert_eq!(r["MarkAsRead"], true);

    // An unknown rule is Exchange's not-found; a bad update is never sent.
    let missing = m
        .update_inbox_rule(&format!("{MEGAN}\\1"), &clear)
        .await
        .unwrap_err();
    assert!(
        missing.to_string().contains("couldn't be found"),
        "{missing}"
    );
    sim.clear_log();
    assert!(m
        .update_inbox_rule(&id, &InboxRuleUpdate::default())
        .await
        .is_err());
    assert!(sim.request_log().is_empty());

    // Removing one rule (the existing action) leaves the updated one.
    let other = rules
        .iter()
        .find(|r| r["Identity"] != json!(id) && r["Name"] != "Junk E-Mail Rule")
        .unwrap()["Identity"]
        .as_str()
        .unwrap()
        .to_owned();
    m.remove_inbox_rule(&other).await.unwrap();
    let after = megan_rules(&sim);
    assert_eq!(after.len(), rules.len() - 1);
    assert!(after.iter().any(|r| r["Identity"] == json!(id)));
}

#[tokio::test(start_paused = true)]
async fn each_action_declares_its_permission_and_is_audited() {
    let sim = Simulator::demo();
    let log = MemoryAuditLog::new();
    // Users read/write and every read, but no mailbox writes.
    let role = Role::custom("helpdesk")
        .allow("Identity.User.*")
        .allow("*.*.Read")
        .tenants(TenantScope::only([CONTOSO]));
    let access = AccessControl::new(Principal::technician("alex@msp.example").with_role(role))
        .audit(Arc::new(log.clone()));
    let cipp = Cipp::builder()
        .transport(Arc::new(sim.clone()))
        .credentials(sim.demo_credentials())
        .partner_tenant(cipp::sim::scenario::DEMO_PARTNER)
        .unwrap()
        .build()
        .unwrap()
        .with_access_control(access);
    let a = actions(&cipp, ADELE);
    let m = actions(&cipp, MEGAN);

    sim.clear_log();
    let refused = [
        a.grant_folder_permission(MailboxFolder::Contacts, MEGAN, "Reviewer")
            .await
            .unwrap_err(),
        a.change_folder_permission(MailboxFolder::Contacts, MEGAN, "Editor")
            .await
            .unwrap_err(),
        a.remove_folder_permission(MailboxFolder::Contacts, MEGAN)
            .await
            .unwrap_err(),
        a.change_junk_email(&JunkEmailChange::default().trust("fabrikam.com"))
            .await
            .unwrap_err(),
        m.update_inbox_rule(
            &format!("{MEGAN}\\11794723498573471747"),
            &InboxRuleUpdate {
                mark_as_read: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap_err(),
    ];
    for e in &refused {
        assert!(e.is_forbidden(), "{e}");
        assert!(e.to_string().contains("Exchange.Mailbox.ReadWrite"), "{e}");
    }
    assert!(sim.request_log().is_empty(), "{:?}", sim.request_log());

    // Sponsors need Identity.User.ReadWrite, which the role has; reads need only reads.
    let adele = user_id(&sim, ADELE);
    m.add_sponsor(&Sponsor::user(adele.as_str())).await.unwrap();
    assert!(a.junk_email_configuration().await.is_ok());
    assert!(a.folder_permissions(MailboxFolder::Contacts).await.is_ok());

    let events = log.events();
    let added = events
        .iter()
        .find(|e| e.operation == "user.add_sponsor")
        .unwrap();
    assert_eq!(added.permission, "Identity.User.ReadWrite");
    assert_eq!(added.target.as_deref(), Some(MEGAN));
    assert_eq!(added.outcome, AuditOutcome::Succeeded);
    assert_eq!(added.parameters["sponsor"], json!(adele));
    for op in [
        "user.grant_folder_permission",
        "user.change_folder_permission",
        "user.remove_folder_permission",
        "user.change_junk_email",
        "user.update_inbox_rule",
    ] {
        let e = events.iter().find(|e| e.operation == op).unwrap();
        assert_eq!(e.permission, "Exchange.Mailbox.ReadWrite", "{op}");
        assert!(
            !matches!(e.outcome, AuditOutcome::Succeeded),
            "{op} recorded as refused"
        );
    }
}

async fn run(registry: &Registry, name: &str, parameters: Value) -> CommandOutput {
    let ctx = RunContext {
        task_id: "t1".into(),
        run_id: "r1".into(),
        tenant: CONTOSO.into(),
        parameters,
        reference: None,
    };
    registry
        .get(name)
        .unwrap()
        .run(ctx)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e:?}"))
}

#[tokio::test(start_paused = true)]
async fn the_actions_run_as_scheduler_commands_with_parameters_checked_up_front() {
    let (sim, cipp) = setup();
    let mut registry = Registry::new();
    register_builtin(&mut registry, &cipp);

    let refused = [
        (
            "user.grant_folder_permission",
            json!({"user": ADELE, "folder": "contacts", "to": MEGAN, "rights": "AvailabilityOnly"}),
            "Contacts",
        ),
        (
            "user.grant_folder_permission",
            json!({"user": ADELE, "folder": "inbox", "to": MEGAN, "rights": "Reviewer"}),
            "unknown variant",
        ),
        (
            "user.change_junk_email",
            json!({"user": ADELE, "trustedAdd": ["not a domain"]}),
            "neither",
        ),
        (
            "user.change_junk_email",
            json!({"user": ADELE, "allowAll": true}),
            "unknown field",
        ),
        (
            "user.update_inbox_rule",
            json!({"user": MEGAN, "rule": "r", "update": {}}),
            "changes nothing",
        ),
        (
            "user.update_inbox_rule",
            json!({"user": MEGAN, "rule": "r", "update": {"colour": "red"}}),
            "unknown field",
        ),
        (
            "user.add_sponsor",
            json!({"user": MEGAN, "sponsor": "x", "kind": "team"}),
            "unknown variant",
        ),
    ];
    for (name, params, expect) in refused {
        let err = registry.validate(name, &params).unwrap_err().to_string();
        assert!(err.contains(expect), "{name} {params}: {err}");
    }

    run(
        &registry,
        "user.grant_folder_permission",
        json!({"user": ADELE, "folder": "contacts", "to": MEGAN, "rights": "reviewer"}),
    )
    .await;
    run(
        &registry,
        "user.change_folder_permission",
        json!({"user": ADELE, "folder": "contacts", "to": MEGAN, "rights": "Owner"}),
    )
    .await;
    let owner = sim
        .lock_state()
        .tenant("contoso.com")
        .unwrap()
        .exchange
        .folder_permissions
        .iter()
        .any(|p| {
            p["Identity"] == json!("adelev@contoso.com:\\contacts")
                && p["AccessRights"] == json!(["Owner"])
        });
    assert!(owner);
    run(
        &registry,
        "user.remove_folder_permission",
        json!({"user": ADELE, "folder": "contacts", "to": MEGAN}),
    )
    .await;

    let out = run(
        &registry,
        "user.change_junk_email",
        json!({"user": ADELE, "trustedAdd": ["fabrikam.com"], "blockedAdd": ["spam@tailspin.example"]}),
    )
    .await;
    assert!(matches!(out, CommandOutput::Done(_)), "{out:?}");
    let junk = sim
        .lock_state()
        .tenant("contoso.com")
        .unwrap()
        .exchange
        .junk_email[ADELE]
        .clone();
    assert_eq!(junk["TrustedSendersAndDomains"], json!(["fabrikam.com"]));

    let rule = megan_rules(&sim)
        .iter()
        .find(|r| r["Name"] == "Newsletters")
        .unwrap()["Identity"]
        .as_str()
        .unwrap()
        .to_owned();
    run(
        &registry,
        "user.update_inbox_rule",
        json!({"user": MEGAN, "rule": rule, "update": {"deleteMessage": true, "moveToFolder": null}}),
    )
    .await;
    let r = megan_rules(&sim)
        .into_iter()
        .find(|r| r["Identity"] == json!(rule))
        .unwrap();
    assert_eq!(r["DeleteMessage"], true);
    assert!(r["MoveToFolder"].is_null());

    let adele = user_id(&sim, ADELE);
    run(
        &registry,
        "user.add_sponsor",
        json!({"user": MEGAN, "sponsor": adele}),
    )
    .await;
    assert_eq!(actions(&cipp, MEGAN).sponsors().await.unwrap().len(), 1);
    run(
        &registry,
        "user.remove_sponsor",
        json!({"user": MEGAN, "sponsor": adele}),
    )
    .await;
    assert!(actions(&cipp, MEGAN).sponsors().await.unwrap().is_empty());
}
