//! The facade on the simulator: user actions, research, remediation and offboarding change
//! the simulator's state as they say they do.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use cipp::core::{Outcome, TenantId};
use cipp::exchange::addresses::AliasChange;
use cipp::graph::model::{NewTemporaryAccessPass, PerUserMfaState};
use cipp::graph::password::PasswordStyle;
use cipp::offboarding::{offboard, run_follow_up, FollowUp, LicenseRemoval, OffboardingOptions};
use cipp::remediation::{remediate, RemediationOptions};
use cipp::research::{research, ResearchOptions, Severity, Verdict};
use cipp::sim::scenario::{DEMO_COMPROMISED_UPN, DEMO_PARTNER};
use cipp::sim::{FaultKind, FaultRule, FaultTrigger, Simulator};
use cipp::users::Guard;
use cipp::Cipp;
use serde_json::Value;

fn setup() -> (Simulator, Cipp) {
    common::demo(Some(&common::demo_clock()), common::Fleet::Partner)
}

/// Research of the demo's compromised account in Contoso.
async fn research_compromised(cipp: &Cipp) -> cipp::research::ResearchReport {
    let h = cipp.tenant(&contoso()).unwrap();
    let options = ResearchOptions::default();
    research(&h, DEMO_COMPROMISED_UPN, &options).await.unwrap()
}

/// Every request whose path starts with `path` answered 500.
fn server_errors(path: &str) -> FaultRule {
    FaultRule::new(FaultKind::ServerError(500), FaultTrigger::Always).on_path(path)
}

fn contoso() -> TenantId {
    TenantId::parse("contoso.onmicrosoft.com").unwrap()
}

fn user_json(sim: &Simulator, upn: &str) -> Value {
    let st = sim.lock_state();
    let t = st.tenant("contoso.com").unwrap();
    t.users()
        .iter()
        .find(|u| {
            u["userPrincipalName"]
                .as_str()
                .unwrap()
                .eq_ignore_ascii_case(upn)
        })
        .cloned()
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn the_fleet_comes_from_gdap_minus_exclusions() {
    let (sim, _) = setup();
    let cipp = Cipp::builder()
        .transport(Arc::new(sim.clone()))
        .credentials(sim.demo_credentials())
        .partner_tenant(DEMO_PARTNER)
        .unwrap()
        .exclude(vec![TenantId::parse(
            &sim.lock_state().tenant("fabrikam.com").unwrap().id,
        )
        .unwrap()])
        .build()
        .unwrap();
    let tenants = cipp.tenants().await.unwrap();
    let names: Vec<&str> = tenants.iter().map(|t| t.label()).collect();
    assert_eq!(names.len(), 2);
    assert!(!names.contains(&"Fabrikam Inc"));
}

#[tokio::test]
async fn research_finds_and_explains_every_planted_indicator() {
    let (_sim, cipp) = setup();
    let r = research_compromised(&cipp).await;
    assert_eq!(r.verdict, Verdict::LikelyCompromised);
    let titles: Vec<&str> = r.indicators.iter().map(|i| i.title.as_str()).collect();
    for expected in [
        "Inbox rule sends mail outside the organisation",
        "Inbox rule moves mail to a rarely read folder",
        "Inbox rule deletes mail",
        "Inbox rule created or changed in the window",
        "Mailbox forwards to an external address",
        "Sign-in from a country the user does not use",
        "Legacy authentication sign-in",
        "Impossible travel",
        "MFA method added in the window",
        "Consent to an app with high-privilege scopes",
        "Mailbox permission granted to someone else",
    ] {
        assert!(
            titles.contains(&expected),
            "missing `{expected}` in {titles:?}"
        );
    }
    assert_eq!(r.indicators[0].severity, Severity::High, "worst first");
    assert!(r
        .inbox_rules
        .data
        .as_ref()
        .unwrap()
        .iter()
        .any(|f| f.recently_changed));
    assert_eq!(r.sent_messages.data.as_ref().unwrap().len(), 5);
    assert!(r.tenant_sign_ins.data.as_ref().unwrap().len() <= 50);
    let html = r.to_html();
    assert!(
        html.starts_with("<!DOCTYPE html>")
            && html.contains("Impossible travel")
            && !html.contains("<script")
    );
    let md = r.to_markdown();
    assert!(md.contains("| High |"));
    let json: Value = serde_json::from_str(&r.to_json().unwrap()).unwrap();
    assert_eq!(json["verdict"], "likelyCompromised");
    // A clean user has no indicators.
    let clean = research(
        &cipp.tenant(&contoso()).unwrap(),
        "gradya@contoso.com",
        &ResearchOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        clean.verdict,
        Verdict::NoIndicators,
        "{:?}",
        clean.indicators
    );
}

#[tokio::test]
async fn research_sections_fail_soft() {
    let (sim, cipp) = setup();
    sim.add_fault(server_errors("/v1.0/auditlogs/"));
    let r = research_compromised(&cipp).await;
    assert!(r.user_sign_ins.error.is_some() && r.user_sign_ins.data.is_none());
    assert!(r.tenant_sign_ins.error.is_some());
    assert!(
        r.inbox_rules.data.is_some() && r.mailbox.data.is_some() && r.mfa_methods.data.is_some()
    );
    assert!(r.to_markdown().contains("not read"));
}

#[tokio::test(start_paused = true)]
async fn research_sends_its_independent_requests_concurrently() {
    let (sim, cipp) = setup();
    sim.set_latency(Duration::from_millis(50));
    let start = tokio::time::Instant::now();
    research_compromised(&cipp).await;
    let wall = start.elapsed();
    let requests = sim.request_log().len() as u32;
    // Longest dependent chain: Graph token → user → (Exchange token → cmdlet), 4 round trips.
    assert!(requests >= 15, "{requests} requests");
    assert!(
        wall <= Duration::from_millis(4 * 50 + 10),
        "wall {wall:?} for {requests} requests"
    );
    assert!(wall < Duration::from_millis(50) * requests / 3);
}

#[tokio::test]
async fn remediation_dry_run_changes_nothing_and_the_real_run_cleans_the_account() {
    let (sim, cipp) = setup();
    let h = cipp.tenant(&contoso()).unwrap();
    let upn = DEMO_COMPROMISED_UPN;
    let before = user_json(&sim, upn);
    let dry_run = RemediationOptions {
        dry_run: true,
        ..Default::default()
    };
    let dry = remediate(&h, upn, &dry_run).await.unwrap();
    assert!(dry.password.is_none());
    assert!(dry
        .report
        .steps
        .iter()
        .all(|s| matches!(s.outcome, Outcome::Skipped { .. })));
    assert_eq!(user_json(&sim, DEMO_COMPROMISED_UPN), before);

    let done = remediate(&h, DEMO_COMPROMISED_UPN, &RemediationOptions::default())
        .await
        .unwrap();
    assert!(done.password.is_some());
    let names: Vec<&str> = done.report.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "reset password",
            "block sign-in",
            "revoke sessions",
            "remove MFA methods",
            "disable inbox rules",
            "disable OneDrive external sharing",
            "remove forwarding",
            "revoke risky consents"
        ]
    );
    assert!(
        done.report
            .steps
            .iter()
            .filter(|s| s.name != "disable OneDrive external sharing")
            .all(|s| s.outcome.is_ok()),
        "{:?}",
        done.report
    );
    let u = user_json(&sim, DEMO_COMPROMISED_UPN);
    assert_eq!(u["accountEnabled"], false);
    assert!(u["signInSessionsValidFromDateTime"].is_string());
    let after = research(&h, DEMO_COMPROMISED_UPN, &ResearchOptions::default())
        .await
        .unwrap();
    let active: Vec<&str> = after
        .active_indicators()
        .map(|i| i.title.as_str())
        .collect();
    assert!(active.is_empty(), "still active: {active:?}");
    // Running it again changes nothing.
    let keep_password = RemediationOptions {
        reset_password: false,
        ..Default::default()
    };
    let again = remediate(&h, upn, &keep_password).await.unwrap();
    // Revoking sessions and setting OneDrive sharing are re-applied each time (the services do
    // not say whether anything changed); every other step reports that nothing was needed.
    for s in
        again.report.steps.iter().filter(|s| {
            s.name != "revoke sessions" && s.name != "disable OneDrive external sharing"
        })
    {
        assert!(
            matches!(
                s.outcome,
                Outcome::NoChange { .. } | Outcome::Skipped { .. }
            ),
            "{}: {:?}",
            s.name,
            s.outcome
        );
    }
}

#[tokio::test]
async fn a_failing_step_does_not_stop_the_others() {
    let (sim, cipp) = setup();
    sim.add_fault(server_errors("/v1.0/users/").for_tenant("contoso.com"));
    // Graph user calls fail; Exchange steps still run.
    let h = cipp.tenant(&contoso()).unwrap();
    let allow_privileged = RemediationOptions {
        guard: Guard::AllowPrivileged,
        ..Default::default()
    };
    let r = remediate(&h, DEMO_COMPROMISED_UPN, &allow_privileged).await;
    let r = r.unwrap();
    let get = |n: &str| &r.report.steps.iter().find(|s| s.name == n).unwrap().outcome;
    assert!(matches!(get("block sign-in"), Outcome::Failed { .. }));
    assert!(get("disable inbox rules").is_ok());
    assert!(get("remove forwarding").is_ok());
    assert!(matches!(r.report.overall(), Outcome::Partial { .. }));
}

#[tokio::test]
async fn privileged_admins_are_protected_unless_allowed() {
    let (sim, cipp) = setup();
    let h = cipp.tenant(&contoso()).unwrap();
    let diego = h.user("diegos@contoso.com").unwrap();
    let style = PasswordStyle::default();
    let refused = diego.reset_password(None, &style, true, Guard::RefusePrivileged);
    let err = refused.await.unwrap_err();
    assert!(err.to_string().contains("Global Administrator"), "{err}");
    assert!(diego
        .set_sign_in(false, Guard::RefusePrivileged)
        .await
        .is_err());
    assert!(diego.rerequire_mfa(Guard::RefusePrivileged).await.is_err());
    assert!(
        remediate(&h, "diegos@contoso.com", &RemediationOptions::default())
            .await
            .is_err()
    );
    assert_eq!(
        user_json(&sim, "diegos@contoso.com")["accountEnabled"],
        true
    );
    let o = diego
        .set_sign_in(false, Guard::AllowPrivileged)
        .await
        .unwrap();
    assert!(matches!(o, Outcome::Succeeded { .. }));
    assert_eq!(
        user_json(&sim, "diegos@contoso.com")["accountEnabled"],
        false
    );
}

#[tokio::test]
async fn user_actions_change_state() {
    let (sim, cipp) = setup();
    let h = cipp.tenant(&contoso()).unwrap();
    let alex = h.user("alexw@contoso.com").unwrap();
    let overview = alex.view().await.unwrap();
    assert_eq!(overview.user.display_name.as_deref(), Some("Alex Wilber"));
    assert!(overview.errors.is_empty(), "{:?}", overview.errors);
    // Groups: a distribution list goes through Exchange, a security group through Graph.
    let (dl, sec) = {
        let st = sim.lock_state();
        let c = st.tenant("contoso.com").unwrap();
        let id = |n: &str| {
            c.groups().iter().find(|g| g["displayName"] == n).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        (id("Everyone DL"), id("Sales Team"))
    };
    let r = alex
        .add_to_groups(&[dl.clone(), sec.clone()])
        .await
        .unwrap();
    assert!(matches!(r.overall(), Outcome::Succeeded { .. }), "{r:?}");
    let alex_id = user_json(&sim, "alexw@contoso.com")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    {
        let st = sim.lock_state();
        let c = st.tenant("contoso.com").unwrap();
        assert!(
            c.directory.members[&dl].contains(&alex_id)
                && c.directory.members[&sec].contains(&alex_id)
        );
    }
    let again = alex.add_to_groups(std::slice::from_ref(&dl)).await.unwrap();
    assert!(
        matches!(again.overall(), Outcome::NoChange { .. }),
        "{again:?}"
    );
    alex.remove_from_groups(&[dl, sec]).await.unwrap();
    // Sign-in on a synced user warns.
    {
        let mut st = sim.lock_state();
        let c = st.tenant_mut("contoso.com").unwrap();
        let i = c.user_index("isaiahl@contoso.com").unwrap();
        c.directory.users_mut()[i]["onPremisesSyncEnabled"] = true.into();
    }
    let o = h
        .user("isaiahl@contoso.com")
        .unwrap()
        .set_sign_in(false, Guard::RefusePrivileged)
        .await
        .unwrap();
    assert!(matches!(o, Outcome::Warning { .. }), "{o:?}");
    // TAP, per-user MFA, aliases, password policy.
    let one_hour = NewTemporaryAccessPass {
        lifetime_in_minutes: Some(60),
        ..Default::default()
    };
    let refuse = Guard::RefusePrivileged;
    let tap = alex.create_temporary_access_pass(&one_hour, refuse).await;
    let tap = tap.unwrap();
    assert!(tap.temporary_access_pass.is_some());
    alex.set_per_user_mfa(PerUserMfaState::Enforced)
        .await
        .unwrap();
    let add = AliasChange {
        add: vec!["alex.wilber@contoso.com".into()],
        ..Default::default()
    };
    assert!(matches!(
        alex.change_aliases(&add).await.unwrap(),
        Outcome::Succeeded { .. }
    ));
    alex.set_password_never_expires(true).await.unwrap();
    assert_eq!(
        user_json(&sim, "alexw@contoso.com")["passwordPolicies"],
        "DisablePasswordExpiration"
    );
    alex.revoke_sessions().await.unwrap();
    let defaults = alex.capture_defaults().await.unwrap();
    assert_eq!(defaults.job_title.as_deref(), Some("Marketing Assistant"));
    assert_eq!(defaults.domain.as_deref(), Some("contoso.com"));
}

#[tokio::test]
async fn offboarding_runs_in_order_and_defers_licences() {
    let (sim, cipp) = setup();
    let h = cipp.tenant(&contoso()).unwrap();
    // Every step but forwarding, OneDrive and deletion; each value beside the switch it
    // goes with.
    let options = OffboardingOptions {
        revoke_sessions: true,
        reset_password: true,
        disable_sign_in: true,
        licenses: LicenseRemoval::Deferred,
        hide_from_gal: true,
        remove_groups: true,
        remove_rules: true,
        out_of_office: Some("I have left Contoso.".into()),
        remove_mobile_devices: true,
        remove_calendar_invites: true,
        convert_to_shared: true,
        grant_full_access: vec![("adelev@contoso.com".into(), false)],
        remove_mfa_methods: true,
        ..Default::default()
    };
    let r = offboard(&h, DEMO_COMPROMISED_UPN, &options).await.unwrap();
    let failed: Vec<_> = r
        .report
        .steps
        .iter()
        .filter(|s| s.outcome.is_failure())
        .collect();
    assert!(failed.is_empty(), "{failed:?}");
    assert!(r.password.is_some());
    let exo = {
        let st = sim.lock_state();
        st.tenant("contoso.com").unwrap().exchange.clone()
    };
    let mb = exo
        .mailboxes
        .iter()
        .find(|m| m["UserPrincipalName"] == DEMO_COMPROMISED_UPN)
        .unwrap();
    assert_eq!(mb["HiddenFromAddressListsEnabled"], true);
    assert_eq!(mb["RecipientTypeDetails"], "SharedMailbox");
    assert!(exo.inbox_rules[DEMO_COMPROMISED_UPN]
        .iter()
        .all(|r| r["Name"] == "Junk E-Mail Rule"));
    assert!(exo.mobile_devices[DEMO_COMPROMISED_UPN].is_empty());
    // The mailbox is over 49 GiB: the conversion warns.
    let convert = r
        .report
        .steps
        .iter()
        .find(|s| s.name == "convert to shared")
        .unwrap();
    assert!(matches!(convert.outcome, Outcome::Warning { .. }));
    // Licences are left for the follow-up.
    assert_eq!(r.follow_ups.len(), 1);
    assert!(
        user_json(&sim, DEMO_COMPROMISED_UPN)["assignedLicenses"]
            .as_array()
            .unwrap()
            .len()
            == 1
    );
    let FollowUp::RemoveLicenses { not_before, .. } = &r.follow_ups[0] else {
        panic!()
    };
    assert_eq!(not_before.to_rfc3339(), "2026-11-27T09:05:00+00:00");
    run_follow_up(&cipp, &r.follow_ups[0]).await.unwrap();
    assert!(user_json(&sim, DEMO_COMPROMISED_UPN)["assignedLicenses"]
        .as_array()
        .unwrap()
        .is_empty());
    let megan_id = user_json(&sim, DEMO_COMPROMISED_UPN)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    {
        let st = sim.lock_state();
        let c = st.tenant("contoso.com").unwrap();
        for g in c.groups() {
            let dynamic = g["groupTypes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t == "DynamicMembership");
            let member = c
                .directory
                .members
                .get(g["id"].as_str().unwrap())
                .is_some_and(|m| m.contains(&megan_id));
            assert_eq!(
                member, dynamic,
                "{}: removed from every assigned group (Graph and Exchange), dynamic ones left",
                g["displayName"]
            );
        }
    }
    assert!(
        offboard(&h, DEMO_COMPROMISED_UPN, &OffboardingOptions::default())
            .await
            .is_err(),
        "no option → refused"
    );
}

#[tokio::test]
async fn mfa_push_and_onedrive_actions() {
    use cipp::users::MfaPushResult;
    let (sim, cipp) = setup();
    let h = cipp.tenant(&contoso()).unwrap();
    assert_eq!(
        h.user(DEMO_COMPROMISED_UPN)
            .unwrap()
            .send_mfa_push(Guard::RefusePrivileged)
            .await
            .unwrap(),
        MfaPushResult::Approved
    );
    let grady = h.user("gradya@contoso.com").unwrap();
    assert!(matches!(
        grady.send_mfa_push(Guard::RefusePrivileged).await.unwrap(),
        MfaPushResult::NotApproved { .. }
    ));
    {
        let st = sim.lock_state();
        let c = st.tenant("contoso.com").unwrap();
        assert_eq!(c.auth.mfa_pushes.len(), 2);
        assert_eq!(
            c.directory
                .service_principals()
                .iter()
                .filter(|s| s["appId"] == "981f26a1-7f43-403b-a875-f8b09b8cd720")
                .count(),
            1,
            "created once, reused"
        );
    }
    grady.provision_onedrive().await.unwrap();
    grady
        .set_onedrive_sharing(cipp::sharepoint::SharingCapability::ExistingExternalUserSharingOnly)
        .await
        .unwrap();
    let target = cipp::sharepoint::SharePointIds {
        site_id: "site-1".into(),
        web_id: "web-1".into(),
        list_id: "list-1".into(),
        list_item_unique_id: "root".into(),
        site_url: "https://contoso.sharepoint.com/sites/Sales".into(),
    };
    grady
        .add_onedrive_shortcut("Sales documents", &target)
        .await
        .unwrap();
    let st = sim.lock_state();
    let c = st.tenant("contoso.com").unwrap();
    assert!(c
        .sharepoint
        .onedrive_provisioned
        .contains(&"gradya@contoso.com".to_string()));
    assert_eq!(
        c.sharepoint.site_sharing["https://contoso-my.sharepoint.com/personal/gradya_contoso_com"],
        3
    );
    let items: Vec<&Value> = c.sharepoint.drive_items.values().flatten().collect();
    assert_eq!(items[0]["remoteItem"]["sharepointIds"]["listId"], "list-1");
}

/// Absurd research options are refused before anything is sent, instead of panicking in
/// date arithmetic (`window = Duration::MAX` used to overflow).
#[tokio::test]
async fn absurd_research_options_are_refused_without_a_panic() {
    let (sim, cipp) = setup();
    let before = sim.request_log().len();
    for window in [
        chrono::Duration::MAX,
        chrono::Duration::MIN,
        chrono::Duration::zero(),
        chrono::Duration::days(181),
    ] {
        let err = research(
            &cipp.tenant(&contoso()).unwrap(),
            DEMO_COMPROMISED_UPN,
            &ResearchOptions {
                window,
                ..ResearchOptions::default()
            },
        )
        .await
        .unwrap_err();
        assert!(
            matches!(err, cipp::core::Error::InvalidInput { ref field, .. } if field == "window"),
            "{err}"
        );
    }
    assert_eq!(sim.request_log().len(), before, "a request was sent");
    // A huge sign-in count is clamped to what Graph pages, not truncated to garbage.
    let r = research(
        &cipp.tenant(&contoso()).unwrap(),
        DEMO_COMPROMISED_UPN,
        &ResearchOptions {
            tenant_sign_ins: usize::MAX,
            ..ResearchOptions::default()
        },
    )
    .await
    .unwrap();
    assert!(
        r.tenant_sign_ins.data.is_some(),
        "{:?}",
        r.tenant_sign_ins.error
    );
}
