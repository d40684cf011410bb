//! The Exchange and Defender standards on the simulator: every standard on a fresh tenant
//! (drifted where Exchange Online's default differs from the standard, compliant
//! otherwise), remediated, read again and compliant; drifted tenants for the standards a
//! new tenant already meets; per-mailbox standards over a seeded tenant; Defender
//! standards without a Defender for Office 365 licence; settings refused before anything
//! is sent; and the exact `InvokeCommand` body a remediation sends (wiremock).

use std::sync::Arc;

use cipp_core::TenantId;
use cipp_exchange::ExoClient;
use cipp_graph::GraphClient;
use cipp_sim::kit::{GroupSeed, Licence, TenantSeed, UserSeed};
use cipp_sim::Simulator;
use cipp_templates::standards::catalogue::exchange::mailboxes::CalDefault;
use cipp_templates::standards::catalogue::exchange::{fetch_with_follow_ups, follow_up_reads};
use cipp_templates::standards::compare::differences;
use cipp_templates::standards::read::fetch;
use cipp_templates::standards::{
    Catalogue, Check, GraphListing, Read, Snapshot, Standard, TenantTarget,
};
use serde_json::{json, Value};
use wiremock::matchers::{body_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

mod wire;
use wire::{sim_pipeline, wire_pipeline};

const TENANT: &str = "contoso.onmicrosoft.com";
const EXO_SKU: &str = "6fd2c87f-b296-42f0-b197-1e91e994b900";
const ADMIN_ROLE: &str = "62e90394-69f5-4237-9190-012177145e10";
const EXCHANGE_ADMIN_ROLE: &str = "29232cdf-9323-42fd-ade2-1d097af3e4de";

fn target(sim: &Simulator) -> TenantTarget {
    let p = sim_pipeline(sim);
    let t = TenantId::parse(TENANT).unwrap();
    TenantTarget {
        graph: GraphClient::new(p.clone()).tenant(&t),
        exchange: ExoClient::new(p).tenant(&t),
    }
}

/// An Office 365 E5-like licence: Exchange, SharePoint and Defender for Office 365.
fn e5() -> Licence {
    Licence::new(EXO_SKU, "ENTERPRISEPREMIUM", 25)
        .plan(
            "efb87545-963c-4e0d-99df-69c6916d9eb0",
            "EXCHANGE_S_ENTERPRISE",
        )
        .plan(
            "5dbe027f-2339-4123-9542-606e4d348a72",
            "SHAREPOINTENTERPRISE",
        )
        .plan("f20fedf3-f3c3-43c3-8267-2bfdd51c0939", "ATP_ENTERPRISE")
}

/// A new tenant with two users with mailboxes and a shared mailbox whose account is
/// enabled (as a shared mailbox's account is when created).
fn seed(licence: Option<Licence>) -> TenantSeed {
    let mut t = TenantSeed::new(TENANT, "Contoso")
        .domain("contoso.com")
        .user(UserSeed::new("adele@contoso.com", "Adele Vance"))
        .user(UserSeed::new("megan@contoso.com", "Megan Bowen"))
        .user(UserSeed::new("info@contoso.com", "Info"))
        .mailbox(json!({"UserPrincipalName": "adele@contoso.com", "DisplayName": "Adele Vance"}))
        .mailbox(json!({"UserPrincipalName": "megan@contoso.com", "DisplayName": "Megan Bowen"}))
        .mailbox(json!({"UserPrincipalName": "info@contoso.com", "DisplayName": "Info", "RecipientTypeDetails": "SharedMailbox"}));
    if let Some(l) = licence {
        t = t.licence(l);
    }
    t
}

fn fresh() -> Simulator {
    Simulator::builder().tenant(seed(Some(e5()))).build()
}

fn standard(name: &str) -> Arc<dyn Standard> {
    Catalogue::builtin().require(name).unwrap().clone()
}

fn spam_settings() -> Value {
    json!({"name": "CIPP Default Spam Filter Policy", "BulkThreshold": 6,
        "SpamAction": {"label": "Quarantine the message", "value": "Quarantine"}, "SpamQuarantineTag": {"value": "AdminOnlyAccessPolicy"},
        "HighConfidenceSpamAction": {"value": "Quarantine"}, "HighConfidenceSpamQuarantineTag": {"value": "AdminOnlyAccessPolicy"},
        "BulkSpamAction": {"value": "MoveToJmf"}, "BulkQuarantineTag": {"value": "DefaultFullAccessPolicy"},
        "PhishSpamAction": {"value": "Quarantine"}, "PhishQuarantineTag": {"value": "AdminOnlyAccessPolicy"},
        "HighConfidencePhishQuarantineTag": {"value": "AdminOnlyAccessPolicy"},
        "MarkAsSpamWebBugsInHtml": true, "EnableLanguageBlockList": true, "LanguageBlockList": [{"value": "RU"}, "zh"],
        "EnableRegionBlockList": false, "RegionBlockList": ["KP"], "AllowedSenderDomains": ["partner.example"]})
}

/// The standards, with settings, and whether a new tenant is drifted from each.
fn cases() -> Vec<(Arc<dyn Standard>, Value, bool)> {
    let s = standard;
    vec![
        (s("AuditLog"), json!({}), false),
        (s("EnableMailboxAuditing"), json!({}), false),
        (s("DisableBasicAuthSMTP"), json!({}), false),
        (s("EXODisableAutoForwarding"), json!({}), true),
        (
            s("SpoofWarn"),
            json!({"state": {"label": "Enabled", "value": "enabled"},
                   "AllowListAdd": [{"label": "fabrikam.com", "value": "fabrikam.com"}, "*.northwind.com"]}),
            true,
        ),
        (
            s("EnableMailTips"),
            json!({"MailTipsLargeAudienceThreshold": "30"}),
            true,
        ),
        (s("AutoExpandArchive"), json!({}), true),
        (s("EnableOnlineArchiving"), json!({}), true),
        (
            s("OutBoundSpamAlert"),
            json!({"OutboundSpamContact": "Alerts@contoso.com"}),
            true,
        ),
        (s("MessageExpiration"), json!({}), true),
        (s("DisableTNEF"), json!({}), true),
        (
            s("FocusedInbox"),
            json!({"state": {"label": "Disabled", "value": "disabled"}}),
            true,
        ),
        (
            s("calDefault"),
            json!({"permissionLevel": {"value": "LimitedDetails"}}),
            true,
        ),
        (s("DisableExternalCalendarSharing"), json!({}), true),
        (s("DisableOutlookAddins"), json!({}), true),
        (
            s("SendFromAlias"),
            json!({"state": {"label": "Enabled", "value": "true"}}),
            true,
        ),
        (s("DisableSharedMailbox"), json!({}), true),
        (s("AddDKIM"), json!({}), true),
        (s("DisableExchangeOnlinePowerShell"), json!({}), true),
        (
            s("UserSubmissions"),
            json!({"state": {"value": "enable"}, "email": "phish@contoso.com"}),
            true,
        ),
        (
            s("CloudMessageRecall"),
            json!({"state": {"value": "true"}}),
            true,
        ),
        (s("Bookings"), json!({"state": {"value": "false"}}), true),
        (s("TeamsMeetingsByDefault"), json!({"state": "true"}), true),
        (
            s("EXODirectSend"),
            json!({"state": {"value": "disabled"}}),
            true,
        ),
        (
            s("DelegateSentItems"),
            json!({"IncludeUserMailboxes": false}),
            true,
        ),
        (s("DisableAdditionalStorageProviders"), json!({}), true),
        (s("EnableLitigationHold"), json!({"days": "365"}), true),
        (
            s("ShortenMeetings"),
            json!({"ShortenEventScopeDefault": {"label": "End early", "value": "EndEarly"},
                   "DefaultMinutesToReduceShortEventsBy": 5, "DefaultMinutesToReduceLongEventsBy": "15"}),
            true,
        ),
        (
            s("SafeLinksPolicy"),
            json!({"name": "CIPP Default SafeLinks Policy", "AllowClickThrough": false, "DisableUrlRewrite": false,
                   "EnableOrganizationBranding": true, "DoNotRewriteUrls": ["https://intranet.contoso.com"]}),
            true,
        ),
        (
            s("AntiPhishPolicy"),
            json!({"name": "CIPP Default Anti-Phishing Policy", "PhishThresholdLevel": 2,
                   "EnableFirstContactSafetyTips": true, "EnableSimilarUsersSafetyTips": false,
                   "AuthenticationFailAction": {"value": "Quarantine"}, "SpoofQuarantineTag": {"value": "AdminOnlyAccessPolicy"},
                   "TargetedUserProtectionAction": {"value": "Quarantine"}, "TargetedDomainProtectionAction": {"value": "MoveToJmf"},
                   "MailboxIntelligenceProtectionAction": {"value": "MoveToJmf"}}),
            true,
        ),
        (
            s("SafeAttachmentPolicy"),
            json!({"SafeAttachmentAction": {"value": "DynamicDelivery"}, "QuarantineTag": {"value": "AdminOnlyAccessPolicy"},
                   "Redirect": true, "RedirectAddress": "soc@contoso.com"}),
            true,
        ),
        (
            s("MalwareFilterPolicy"),
            json!({"FileTypeAction": {"value": "Reject"}, "OptionalFileTypes": "xlsm, .one",
                   "QuarantineTag": {"value": "AdminOnlyAccessPolicy"},
                   "EnableInternalSenderAdminNotifications": true, "InternalSenderAdminAddress": "soc@contoso.com"}),
            true,
        ),
        (s("SpamFilterPolicy"), spam_settings(), true),
        (s("EmptyFilterIPAllowList"), json!({}), false),
        (
            s("AtpPolicyForO365"),
            json!({"AllowSafeDocsOpen": false}),
            true,
        ),
        (s("AntiSpamSafeList"), json!({"EnableSafeList": true}), true),
        (s("DisableViva"), json!({}), true),
    ]
}

/// Current vs expected of one standard; the differences.
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

/// A standard's reads, with its follow-up reads (`calDefault` reads each calendar).
async fn read(t: &TenantTarget, s: &dyn Standard, settings: &Value) -> Snapshot {
    let snapshot = fetch(t, &s.reads(settings)).await;
    if follow_up_reads(s, settings, &snapshot).is_empty() {
        snapshot
    } else {
        fetch_with_follow_ups(t, &[(s, settings)]).await
    }
}

/// Fresh check (drifted as `drifted` says), remediation, a new read, compliant.
async fn round_trip(t: &TenantTarget, s: &dyn Standard, settings: &Value, drifted: bool) {
    s.validate(settings)
        .unwrap_or_else(|e| panic!("{}: {e}", s.id()));
    let snapshot = read(t, s, settings).await;
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
    let again = read(t, s, settings).await;
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
    for (s, settings, drifted) in &cases {
        // Each standard on a tenant of its own: what one does never helps another.
        let sim = fresh();
        round_trip(&target(&sim), &**s, settings, *drifted).await;
    }
    // Every Exchange and Defender standard of the catalogue is covered.
    let covered: Vec<&str> = cases.iter().map(|(s, _, _)| s.meta().name).collect();
    let all = cipp_templates::standards::catalogue::exchange::standards()
        .into_iter()
        .chain(cipp_templates::standards::catalogue::defender::standards());
    let mut count = 0;
    for s in all {
        count += 1;
        assert!(
            covered.contains(&s.meta().name),
            "{} untested",
            s.meta().name
        );
    }
    assert!(count >= 26, "{count} standards");
}

#[tokio::test]
async fn all_standards_share_one_read_and_remediate_together() {
    let sim = fresh();
    let t = target(&sim);
    let cases = cases();
    let pairs: Vec<(&dyn Standard, &Value)> = cases.iter().map(|(s, v, _)| (&**s, v)).collect();
    let snapshot = fetch_with_follow_ups(&t, &pairs).await;
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
    assert!(
        sim.log().writes().len() >= 30,
        "{} writes",
        sim.log().writes().len()
    );
    let again = fetch_with_follow_ups(&t, &pairs).await;
    for (s, settings, _) in &cases {
        let (current, expected, n) = evaluate(&**s, settings, &again);
        assert_eq!(n, 0, "{}: {current} vs {expected}", s.id());
    }
    // The Exchange reads went out in Exchange $batch.
    let batched = sim.log().entries().iter().filter(|r| r.in_batch).count();
    assert!(batched >= 10, "{batched} reads in $batch");
}

async fn cmdlet(t: &TenantTarget, name: &str, params: Value) {
    let mut c = cipp_exchange::cmdlet::Cmdlet::new(name);
    if let Value::Object(m) = params {
        for (k, v) in m {
            c = c.param(&k, v);
        }
    }
    t.exchange.invoke(&c).await.unwrap();
}

#[tokio::test]
async fn standards_a_new_tenant_meets_remediate_a_drifted_one() {
    let sim = fresh();
    let t = target(&sim);
    // Drift what a new tenant has right.
    cmdlet(
        &t,
        "Set-AdminAuditLogConfig",
        json!({"UnifiedAuditLogIngestionEnabled": false}),
    )
    .await;
    cmdlet(&t, "Set-OrganizationConfig", json!({"AuditDisabled": true})).await;
    cmdlet(
        &t,
        "Set-TransportConfig",
        json!({"SmtpClientAuthenticationDisabled": false}),
    )
    .await;
    cmdlet(
        &t,
        "Set-CASMailbox",
        json!({"Identity": "megan@contoso.com", "SmtpClientAuthenticationDisabled": false}),
    )
    .await;
    cmdlet(
        &t,
        "Set-HostedConnectionFilterPolicy",
        json!({"Identity": "Default", "IPAllowList": ["192.0.2.10", "198.51.100.0/24"]}),
    )
    .await;
    for (name, settings) in [
        ("AuditLog", json!({})),
        ("EnableMailboxAuditing", json!({})),
        ("DisableBasicAuthSMTP", json!({})),
        ("EmptyFilterIPAllowList", json!({})),
    ] {
        round_trip(&t, &*standard(name), &settings, true).await;
    }
    // The per-user SMTP AUTH setting went back to inherited ($null), not $true.
    let cas = t
        .exchange
        .invoke(
            &cipp_exchange::cmdlet::Cmdlet::new("Get-CASMailbox")
                .param("Identity", "megan@contoso.com"),
        )
        .await
        .unwrap();
    assert_eq!(
        cas.value[0]["SmtpClientAuthenticationDisabled"],
        Value::Null
    );
}

#[tokio::test]
async fn per_mailbox_standards_report_the_offending_objects_and_change_only_them() {
    let sim = fresh();
    let t = target(&sim);
    // Adele already has an archive and a shared calendar level; Megan holds an admin role.
    cmdlet(
        &t,
        "Enable-Mailbox",
        json!({"Identity": "adele@contoso.com", "Archive": true}),
    )
    .await;
    cmdlet(
        &t,
        "Set-MailboxFolderPermission",
        json!({"Identity": "adele@contoso.com:\\Calendar", "User": "Default", "AccessRights": "LimitedDetails"}),
    )
    .await;
    let archiving = standard("EnableOnlineArchiving");
    let snap = fetch(&t, &archiving.reads(&json!({}))).await;
    let (current, _, _) = evaluate(&*archiving, &json!({}), &snap);
    assert_eq!(current, json!({"ArchiveNotEnabled": ["megan@contoso.com"]}));

    let cal = standard("calDefault");
    let settings = json!({"permissionLevel": "LimitedDetails"});
    // Without its second round of reads every mailbox is unchecked.
    let first = fetch(&t, &cal.reads(&settings)).await;
    let (current, _, _) = evaluate(&*cal, &settings, &first);
    assert_eq!(
        current["UncheckedMailboxes"],
        json!(["adele@contoso.com", "info@contoso.com", "megan@contoso.com"])
    );
    let snap = fetch_with_follow_ups(&t, &[(&*cal, &settings)]).await;
    let (current, _, _) = evaluate(&*cal, &settings, &snap);
    assert_eq!(
        current,
        json!({"NonCompliantCalendars": [
            {"Identity": "info@contoso.com:\\Calendar", "AccessRights": "AvailabilityOnly"},
            {"Identity": "megan@contoso.com:\\Calendar", "AccessRights": "AvailabilityOnly"}],
            "UncheckedMailboxes": []})
    );
    sim.clear_log();
    cal.remediate(&settings, &snap, &t).await.unwrap();
    let sets: Vec<String> = sim
        .log()
        .writes()
        .iter()
        .map(|w| w.operation.clone().unwrap_or_default())
        .collect();
    assert_eq!(
        sets.iter()
            .filter(|o| o.contains("Set-MailboxFolderPermission"))
            .count(),
        2,
        "{sets:?}"
    );
    // Remediating from the first round only (calendars unread) reads them first.
    let other = standard("calDefault");
    let settings = json!({"permissionLevel": {"value": "Reviewer"}});
    let first = fetch(&t, &other.reads(&settings)).await;
    other.remediate(&settings, &first, &t).await.unwrap();
    let snap = fetch_with_follow_ups(&t, &[(&*other, &settings)]).await;
    let (_, _, n) = evaluate(&*other, &settings, &snap);
    assert_eq!(n, 0);

    // Shared mailboxes: only the enabled account of the shared mailbox is blocked.
    let shared = standard("DisableSharedMailbox");
    let snap = fetch(&t, &shared.reads(&json!({}))).await;
    assert_eq!(
        evaluate(&*shared, &json!({}), &snap).0,
        json!({"DisableSharedMailbox": ["info@contoso.com"]})
    );
    shared.remediate(&json!({}), &snap, &t).await.unwrap();
    let users = t
        .graph
        .users()
        .list()
        .select(["userPrincipalName", "accountEnabled"])
        .await
        .unwrap();
    for u in users {
        let upn = u.user_principal_name.clone().unwrap_or_default();
        assert_eq!(u.account_enabled, Some(upn != "info@contoso.com"), "{upn}");
    }
}

#[tokio::test]
async fn powershell_stays_on_for_administrators() {
    // Admin holds Global Administrator; Megan is in a role-assignable group that holds
    // Exchange Administrator.
    let group = "7a1c0d2e-5b3f-4e61-9d2a-0c4b8e6f1a23";
    let sim = Simulator::builder()
        .tenant(
            seed(Some(e5()))
                .user(UserSeed::new("admin@contoso.com", "Admin").role(ADMIN_ROLE))
                .group(GroupSeed::from_json(json!({
                    "id": group, "displayName": "Exchange Admins", "securityEnabled": true,
                    "mailEnabled": false, "isAssignableToRole": true,
                    "members": ["megan@contoso.com"]}))),
        )
        .build();
    sim.lock_state()
        .tenant_mut(TENANT)
        .expect("tenant")
        .directory
        .roles
        .entry(EXCHANGE_ADMIN_ROLE.to_owned())
        .or_default()
        .push(group.to_owned());
    let t = target(&sim);
    let s = standard("DisableExchangeOnlinePowerShell");
    let settings = json!({});
    // The role assignments name the admin (a user) and the group; the group's members are
    // a follow-up read.
    let first = fetch(&t, &s.reads(&settings)).await;
    assert_eq!(
        s.follow_up_reads(&settings, &first),
        vec![Read::GraphList(GraphListing::GroupMembers(
            group.to_owned()
        ))]
    );
    let listing = sim
        .log()
        .entries()
        .iter()
        .find(|e| {
            e.path
                .ends_with("/roleManagement/directory/roleAssignments")
        })
        .map(|e| (e.status, e.query.clone().unwrap_or_default()));
    assert!(
        matches!(&listing, Some((200, q)) if q.contains("expand=principal")),
        "{listing:?}"
    );
    let snap = fetch_with_follow_ups(&t, &[(&*s, &settings)]).await;
    let (current, _, _) = evaluate(&*s, &settings, &snap);
    assert_eq!(
        current,
        json!({"UsersWithPowerShellEnabled": ["adele@contoso.com", "info@contoso.com"]})
    );
    sim.clear_log();
    s.remediate(&settings, &snap, &t).await.unwrap();
    let log = sim.log();
    let sets = log
        .entries()
        .iter()
        .filter(|e| e.operation.as_deref() == Some("Set-User"))
        .count();
    assert_eq!(sets, 2, "only the two non-admins are changed");
    // No per-user role lookups: the role assignments were read once, up front.
    assert!(log.entries().iter().all(|e| !e.path.contains("memberOf")));
    let again = fetch_with_follow_ups(&t, &[(&*s, &settings)]).await;
    assert_eq!(evaluate(&*s, &settings, &again).2, 0);
    let users = t
        .exchange
        .invoke(&cipp_exchange::cmdlet::Cmdlet::new("Get-User"))
        .await
        .unwrap();
    for u in &users.value {
        let upn = u["UserPrincipalName"].as_str().unwrap_or_default();
        let admin = upn == "admin@contoso.com" || upn == "megan@contoso.com";
        assert_eq!(u["RemotePowerShellEnabled"], json!(admin), "{upn}");
    }
    // Without the group's members the check refuses to guess.
    assert!(s.check(&settings, &first).is_err());
}

#[tokio::test]
async fn defender_standards_without_defender_for_office_365() {
    // Exchange Online only: Safe Links, Safe Attachments and the ATP policy do not apply;
    // the anti-phishing policy compares the settings Exchange Online Protection has.
    let exo_only = Licence::new(EXO_SKU, "EXCHANGEENTERPRISE", 10).plan(
        "efb87545-963c-4e0d-99df-69c6916d9eb0",
        "EXCHANGE_S_ENTERPRISE",
    );
    let sim = Simulator::builder().tenant(seed(Some(exo_only))).build();
    let t = target(&sim);
    for name in [
        "SafeLinksPolicy",
        "SafeAttachmentPolicy",
        "AtpPolicyForO365",
    ] {
        let s = standard(name);
        let snap = fetch(&t, &s.reads(&json!({}))).await;
        let Check::NotApplicable(why) = s.check(&json!({}), &snap).unwrap() else {
            panic!("{name} applies")
        };
        assert!(why.contains("Defender for Office 365"), "{why}");
        assert!(s.remediate(&json!({}), &snap, &t).await.is_err(), "{name}");
    }
    let phish = standard("AntiPhishPolicy");
    let snap = fetch(&t, &phish.reads(&json!({}))).await;
    let (current, _, _) = evaluate(&*phish, &json!({}), &snap);
    assert!(current.get("PhishThresholdLevel").is_none(), "{current}");
    assert!(
        current.get("EnableSpoofIntelligence").is_some(),
        "{current}"
    );
    round_trip(&t, &*phish, &json!({}), true).await;
}

#[tokio::test]
async fn the_built_in_spam_policy_is_adopted_without_a_rule() {
    let sim = fresh();
    let t = target(&sim);
    let s = standard("SpamFilterPolicy");
    let mut settings = spam_settings();
    settings["name"] = json!("Anti-spam inbound policy");
    round_trip(&t, &*s, &settings, true).await;
    let policies = t
        .exchange
        .invoke(&cipp_exchange::cmdlet::Cmdlet::new(
            "Get-HostedContentFilterPolicy",
        ))
        .await
        .unwrap();
    assert_eq!(policies.value.len(), 1, "no second policy");
    assert_eq!(policies.value[0]["BulkThreshold"], 6);
    assert_eq!(policies.value[0]["LanguageBlockList"], json!(["ru", "zh"]));
    let rules = t
        .exchange
        .invoke(&cipp_exchange::cmdlet::Cmdlet::new(
            "Get-HostedContentFilterRule",
        ))
        .await
        .unwrap();
    assert!(rules.value.is_empty());

    // Any other name is a policy of its own, with a rule for every accepted domain.
    settings["name"] = json!("Contoso Strict");
    round_trip(&t, &*s, &settings, true).await;
    let rules = t
        .exchange
        .invoke(&cipp_exchange::cmdlet::Cmdlet::new(
            "Get-HostedContentFilterRule",
        ))
        .await
        .unwrap();
    assert_eq!(rules.value.len(), 1);
    let r = &rules.value[0];
    assert_eq!(
        (
            &r["Name"],
            &r["HostedContentFilterPolicy"],
            &r["Priority"],
            &r["State"]
        ),
        (
            &json!("Contoso Strict"),
            &json!("Contoso Strict"),
            &json!(0),
            &json!("Enabled")
        )
    );
    assert_eq!(
        r["RecipientDomainIs"],
        json!([
            "contoso.com",
            "contoso.mail.onmicrosoft.com",
            "contoso.onmicrosoft.com"
        ])
    );
    // A disabled rule is enabled again.
    cmdlet(
        &t,
        "Disable-HostedContentFilterRule",
        json!({"Identity": "Contoso Strict"}),
    )
    .await;
    round_trip(&t, &*s, &settings, true).await;
}

#[tokio::test]
async fn legacy_policy_names_are_adopted_and_rules_rebound() {
    let sim = fresh();
    let t = target(&sim);
    cmdlet(
        &t,
        "New-MalwareFilterPolicy",
        json!({"Name": "Default Malware Policy", "ZapEnabled": false}),
    )
    .await;
    cmdlet(&t, "New-MalwareFilterPolicy", json!({"Name": "Other"})).await;
    cmdlet(
        &t,
        "New-MalwareFilterRule",
        json!({"Name": "CIPP Default Malware Rule", "MalwareFilterPolicy": "Other", "RecipientDomainIs": ["contoso.com"]}),
    )
    .await;
    let s = standard("MalwareFilterPolicy");
    round_trip(&t, &*s, &json!({}), true).await;
    let rule = t
        .exchange
        .invoke(
            &cipp_exchange::cmdlet::Cmdlet::new("Get-MalwareFilterRule")
                .param("Identity", "CIPP Default Malware Rule"),
        )
        .await
        .unwrap();
    assert_eq!(
        rule.value[0]["MalwareFilterPolicy"],
        "Default Malware Policy"
    );
    assert_eq!(rule.value[0]["Priority"], 0);
    let policies = t
        .exchange
        .invoke(&cipp_exchange::cmdlet::Cmdlet::new(
            "Get-MalwareFilterPolicy",
        ))
        .await
        .unwrap();
    assert_eq!(
        policies.value.len(),
        3,
        "the legacy policy was changed, none created"
    );
}

#[test]
fn settings_are_refused_before_anything_is_sent() {
    let refused = [
        ("OutBoundSpamAlert", json!({}), "OutboundSpamContact"),
        (
            "OutBoundSpamAlert",
            json!({"OutboundSpamContact": "alerts at contoso"}),
            "OutboundSpamContact",
        ),
        (
            "EnableMailTips",
            json!({"MailTipsLargeAudienceThreshold": 5000}),
            "MailTipsLargeAudienceThreshold",
        ),
        (
            "EnableMailTips",
            json!({"MailTipsLargeAudienceThreshold": "many"}),
            "not valid",
        ),
        ("MessageExpiration", json!({"hours": 6}), "hours"),
        ("EnableLitigationHold", json!({"days": 0}), "days"),
        ("EnableLitigationHold", json!({"days": 40000}), "days"),
        (
            "EnableLitigationHold",
            json!({"days": "forever"}),
            "not valid",
        ),
        ("MessageExpiration", json!({"hours": 48}), "hours"),
        ("calDefault", json!({}), "permissionLevel"),
        (
            "calDefault",
            json!({"permissionLevel": {"value": "Everything"}}),
            "permissionLevel",
        ),
        ("FocusedInbox", json!({"state": "on"}), "state"),
        ("SpoofWarn", json!({}), "state"),
        (
            "SpoofWarn",
            json!({"state": "enabled", "AllowListAdd": ["not a domain"]}),
            "AllowListAdd",
        ),
        (
            "UserSubmissions",
            json!({"state": "enable", "email": "nobody"}),
            "email",
        ),
        ("UserSubmissions", json!({"state": "maybe"}), "state"),
        ("EXODirectSend", json!({}), "state"),
        (
            "ShortenMeetings",
            json!({"ShortenEventScopeDefault": "Sometimes"}),
            "ShortenEventScopeDefault",
        ),
        (
            "ShortenMeetings",
            json!({"ShortenEventScopeDefault": "EndEarly", "DefaultMinutesToReduceShortEventsBy": 30}),
            "DefaultMinutesToReduceShortEventsBy",
        ),
        ("CloudMessageRecall", json!({"state": "yes"}), "state"),
        (
            "AntiPhishPolicy",
            json!({"PhishThresholdLevel": 5}),
            "PhishThresholdLevel",
        ),
        (
            "AntiPhishPolicy",
            json!({"AuthenticationFailAction": {"value": "Delete"}}),
            "AuthenticationFailAction",
        ),
        (
            "AntiPhishPolicy",
            json!({"TargetedUserProtectionAction": "Bounce"}),
            "TargetedUserProtectionAction",
        ),
        (
            "SafeAttachmentPolicy",
            json!({"SafeAttachmentAction": "Replace"}),
            "SafeAttachmentAction",
        ),
        (
            "SafeAttachmentPolicy",
            json!({"Redirect": true}),
            "RedirectAddress",
        ),
        (
            "MalwareFilterPolicy",
            json!({"FileTypeAction": "Delete"}),
            "FileTypeAction",
        ),
        (
            "MalwareFilterPolicy",
            json!({"EnableExternalSenderAdminNotifications": true}),
            "ExternalSenderAdminAddress",
        ),
        (
            "MalwareFilterPolicy",
            json!({"OptionalFileTypes": "exe, b@d"}),
            "OptionalFileTypes",
        ),
        ("SpamFilterPolicy", json!({}), "SpamAction"),
        (
            "SafeLinksPolicy",
            json!({"DoNotRewriteUrls": ["has space"]}),
            "DoNotRewriteUrls",
        ),
        (
            "SafeLinksPolicy",
            json!({"AllowClickThrough": "sometimes"}),
            "not valid",
        ),
    ];
    for (name, settings, field) in refused {
        let e = standard(name)
            .validate(&settings)
            .expect_err(&format!("{name} {settings}"));
        assert!(e.to_string().contains(field), "{name}: {e}");
    }
    let mut spam = spam_settings();
    spam["BulkThreshold"] = json!(10);
    assert!(standard("SpamFilterPolicy")
        .validate(&spam)
        .unwrap_err()
        .to_string()
        .contains("BulkThreshold"));
    spam = spam_settings();
    spam["LanguageBlockList"] = json!(["russian"]);
    assert!(standard("SpamFilterPolicy")
        .validate(&spam)
        .unwrap_err()
        .to_string()
        .contains("LanguageBlockList"));
    spam = spam_settings();
    spam["PhishSpamAction"] = json!({"value": "Delete"});
    assert!(standard("SpamFilterPolicy")
        .validate(&spam)
        .unwrap_err()
        .to_string()
        .contains("PhishSpamAction"));
    // calDefault is offered in remediate mode only, as in CIPP.
    let m = standard("calDefault").meta().modes;
    assert!(m.remediate && !m.alert);
}

#[tokio::test]
async fn a_remediation_sends_exactly_the_cmdlet_cipp_sends() {
    let server = MockServer::start().await;
    let p = wire_pipeline(&server);
    let t = TenantId::parse(TENANT).unwrap();
    let target = TenantTarget {
        graph: GraphClient::new(p.clone()).tenant(&t),
        exchange: ExoClient::new(p).tenant(&t),
    };
    Mock::given(method("POST"))
        .and(path(format!("/adminapi/beta/{TENANT}/InvokeCommand")))
        .and(body_json(json!({"CmdletInput": {
            "CmdletName": "Set-HostedOutboundSpamFilterPolicy",
            "Parameters": {"Identity": "Default", "NotifyOutboundSpam": true,
                           "NotifyOutboundSpamRecipients": ["alerts@contoso.com", "soc@contoso.com"]}}})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .expect(1)
        .mount(&server)
        .await;
    let s = standard("OutBoundSpamAlert");
    let settings = json!({"OutboundSpamContact": "SOC@contoso.com; alerts@contoso.com"});
    let read = Read::exchange_with(
        "Get-HostedOutboundSpamFilterPolicy",
        json!({"Identity": "Default"}),
    );
    let snapshot = Snapshot::from_answers([(
        read,
        Ok(
            json!([{"Identity": "Default", "NotifyOutboundSpam": false, "NotifyOutboundSpamRecipients": []}]),
        ),
    )]);
    let (_, _, n) = evaluate(&*s, &settings, &snapshot);
    assert_eq!(n, 2);
    s.remediate(&settings, &snapshot, &target).await.unwrap();
    // Only that request went out.
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn many_cmdlets_go_out_in_exchange_batches() {
    // Twelve mailboxes without an archive: two $batch requests (10 + 2), not twelve.
    let mut seed = TenantSeed::new(TENANT, "Contoso")
        .domain("contoso.com")
        .licence(e5());
    for i in 0..12 {
        let upn = format!("user{i:02}@contoso.com");
        seed = seed
            .user(UserSeed::new(&upn, &format!("User {i}")))
            .mailbox(json!({"UserPrincipalName": upn}));
    }
    let sim = Simulator::builder().tenant(seed).build();
    let t = target(&sim);
    let s = standard("EnableOnlineArchiving");
    let snap = fetch(&t, &s.reads(&json!({}))).await;
    assert_eq!(
        evaluate(&*s, &json!({}), &snap).0["ArchiveNotEnabled"]
            .as_array()
            .unwrap()
            .len(),
        12
    );
    sim.clear_log();
    s.remediate(&json!({}), &snap, &t).await.unwrap();
    let log = sim.log();
    let entries = log.entries();
    let enables = entries
        .iter()
        .filter(|e| e.in_batch && e.operation.as_deref() == Some("Enable-Mailbox"))
        .count();
    assert_eq!(enables, 12);
    let outer = entries
        .iter()
        .filter(|e| !e.in_batch && e.path.ends_with("$batch"))
        .count();
    assert_eq!(outer, 2, "two $batch requests");
    let again = fetch(&t, &s.reads(&json!({}))).await;
    assert_eq!(evaluate(&*s, &json!({}), &again).2, 0);
}

#[test]
fn follow_up_reads_come_from_the_first_answers() {
    let cal = standard("calDefault");
    let settings = json!({"permissionLevel": "Reviewer"});
    let reads = cal.reads(&settings);
    let snapshot = Snapshot::from_answers([(
        reads[0].clone(),
        Ok(json!([{"UserPrincipalName": "b@contoso.com"}, {"UserPrincipalName": "a@contoso.com"}])),
    )]);
    assert_eq!(
        follow_up_reads(&*cal, &settings, &snapshot),
        vec![
            CalDefault::calendar_read("a@contoso.com"),
            CalDefault::calendar_read("b@contoso.com")
        ]
    );
    assert!(follow_up_reads(&*standard("AddDKIM"), &json!({}), &snapshot).is_empty());
}

#[tokio::test]
async fn the_engine_runs_them_all_in_one_tenant() {
    use cipp_templates::standards::{run_tenant, Assignment, Mode, Status};
    let sim = fresh();
    let t = target(&sim);
    let now = "2026-11-27T09:00:00Z".parse().unwrap();
    let assignments: Vec<Assignment> = cases()
        .into_iter()
        .map(|(s, settings, _)| Assignment::new(s, settings, Mode::REMEDIATE))
        .collect();
    let results = run_tenant(&t, &assignments, now).await;
    for r in &results {
        assert!(
            r.status.is_compliant(),
            "{}: {:?} {:?}",
            r.key.standard,
            r.status,
            r.differences
        );
    }
    // calDefault's calendars were read in the engine's second round, changed, and read
    // again (follow-ups included) to prove it.
    let cal_result = results
        .iter()
        .find(|r| r.key.standard == "standards.calDefault")
        .expect("calDefault ran");
    assert_eq!(cal_result.status, Status::Remediated, "{cal_result:?}");
    assert_eq!(
        cal_result.current,
        Some(json!({"NonCompliantCalendars": [], "UncheckedMailboxes": []}))
    );
    let cal = standard("calDefault");
    let settings = json!({"permissionLevel": {"value": "LimitedDetails"}});
    let snap = fetch_with_follow_ups(&t, &[(&*cal, &settings)]).await;
    assert_eq!(
        evaluate(&*cal, &settings, &snap).2,
        0,
        "the calendars were set"
    );
    // A second run changes nothing and finds every standard compliant.
    sim.clear_log();
    let again = run_tenant(&t, &assignments, now).await;
    for r in &again {
        assert_eq!(r.status, Status::Compliant, "{}", r.key.standard);
    }
    let log = sim.log();
    let changes: Vec<&str> = log
        .entries()
        .iter()
        .filter_map(|e| e.operation.as_deref())
        .filter(|o| {
            ["Set-", "New-", "Enable-", "Remove-"]
                .iter()
                .any(|v| o.starts_with(v))
        })
        .collect();
    assert!(changes.is_empty(), "{changes:?}");
    assert!(log.entries().iter().all(|e| e.method != "PATCH"));
}

#[tokio::test]
async fn the_engine_reads_follow_ups_once_for_every_standard() {
    use cipp_templates::standards::{run_tenant, Assignment, Mode, Status};
    let sim = fresh();
    let t = target(&sim);
    let now = "2026-11-27T09:00:00Z".parse().unwrap();
    // A new tenant's calendars are AvailabilityOnly: one level is met, the other drifted.
    let assignments = vec![
        Assignment::new(
            standard("calDefault"),
            json!({"permissionLevel": "AvailabilityOnly"}),
            Mode::REPORT,
        ),
        Assignment::new(
            standard("calDefault"),
            json!({"permissionLevel": "Reviewer"}),
            Mode::REPORT,
        ),
    ];
    sim.clear_log();
    let results = run_tenant(&t, &assignments, now).await;
    assert_eq!(results[0].status, Status::Compliant, "{:?}", results[0]);
    assert_eq!(results[1].status, Status::Drifted, "{:?}", results[1]);
    assert_eq!(
        results[1]
            .current
            .as_ref()
            .map(|c| c["NonCompliantCalendars"].as_array().map(Vec::len)),
        Some(Some(3))
    );
    // One read per calendar for both standards, and one Get-Mailbox.
    let log = sim.log();
    let count = |op: &str| {
        log.entries()
            .iter()
            .filter(|e| e.operation.as_deref() == Some(op))
            .count()
    };
    assert_eq!(count("Get-MailboxFolderPermission"), 3);
    assert_eq!(count("Get-Mailbox"), 1);
    // Report mode: nothing is changed.
    assert!(
        log.entries()
            .iter()
            .filter_map(|e| e.operation.as_deref())
            .all(|o| o.starts_with("Get-") || o == "$batch"),
        "{:?}",
        log.entries()
    );
}

#[tokio::test]
async fn litigation_hold_only_for_mailboxes_whose_licence_allows_it() {
    // Adele is already on hold (unlimited); Kiosk has an Exchange Online Kiosk mailbox,
    // which cannot be held; Megan and the shared mailbox (licensed) are not on hold.
    let sim = Simulator::builder()
        .tenant(
            seed(Some(e5()))
                .user(UserSeed::new("kiosk@contoso.com", "Kiosk"))
                .mailbox(
                    json!({"UserPrincipalName": "kiosk@contoso.com", "DisplayName": "Kiosk",
                    "PersistedCapabilities": ["BPOS_S_Deskless"]}),
                ),
        )
        .build();
    let t = target(&sim);
    cmdlet(
        &t,
        "Set-Mailbox",
        json!({"Identity": "adele@contoso.com", "LitigationHoldEnabled": true}),
    )
    .await;
    let s = standard("EnableLitigationHold");
    let settings = json!({"days": 365});
    let snap = fetch(&t, &s.reads(&settings)).await;
    let (current, _, _) = evaluate(&*s, &settings, &snap);
    assert_eq!(
        current,
        json!({"EnableLitigationHold": ["info@contoso.com", "megan@contoso.com"]})
    );
    sim.clear_log();
    s.remediate(&settings, &snap, &t).await.unwrap();
    let sets = sim
        .log()
        .entries()
        .iter()
        .filter(|e| e.operation.as_deref() == Some("Set-Mailbox"))
        .count();
    assert_eq!(sets, 2);
    let again = fetch(&t, &s.reads(&settings)).await;
    assert_eq!(evaluate(&*s, &settings, &again).2, 0);
    let mailboxes = t
        .exchange
        .invoke(&cipp_exchange::cmdlet::Cmdlet::new("Get-Mailbox"))
        .await
        .unwrap();
    for m in &mailboxes.value {
        let upn = m["UserPrincipalName"].as_str().unwrap_or_default();
        let (held, duration) = match upn {
            "adele@contoso.com" => (true, "Unlimited"),
            "kiosk@contoso.com" => (false, "Unlimited"),
            _ => (true, "365.00:00:00"),
        };
        assert_eq!(
            (&m["LitigationHoldEnabled"], &m["LitigationHoldDuration"]),
            (&json!(held), &json!(duration)),
            "{upn}"
        );
    }
}

// ---- DisableViva: the organization's people insights settings (Graph, beta).

const PEOPLE_INSIGHTS: &str = "/beta/organization/{id}/settings/peopleInsights";

#[tokio::test]
async fn viva_reports_are_turned_off_once_and_then_left_alone() {
    use cipp_templates::standards::{run_tenant, Assignment, Mode, Status};
    let sim = fresh();
    let t = target(&sim);
    let now = "2026-11-27T09:00:00Z".parse().unwrap();
    let viva = standard("DisableViva");
    assert_eq!(viva.meta().category.label(), "Exchange Standards");
    assert_eq!(viva.meta().impact.label(), "Low Impact");
    assert_eq!(viva.meta().label, "Disable daily Insight/Viva reports");
    assert!(viva.meta().capabilities.is_empty(), "no licence gate");

    // Report: a new tenant has people insights on.
    let report = vec![Assignment::new(viva.clone(), json!({}), Mode::REPORT)];
    sim.clear_log();
    let results = run_tenant(&t, &report, now).await;
    assert_eq!(results[0].status, Status::Drifted, "{:?}", results[0]);
    assert_eq!(
        results[0].current,
        Some(json!({"isEnabledInOrganization": true}))
    );
    assert_eq!(
        results[0].expected,
        Some(json!({"isEnabledInOrganization": false}))
    );
    let log = sim.log();
    assert_eq!(log.count("GET", "/v1.0/organization"), 1);
    assert_eq!(log.count("GET", PEOPLE_INSIGHTS), 1);
    assert!(log.writes().is_empty(), "report changes nothing");

    // Remediate: one PATCH of the one property, at the organization's own id, then read
    // back compliant.
    let remediate = vec![Assignment::new(viva.clone(), json!({}), Mode::REMEDIATE)];
    sim.clear_log();
    let results = run_tenant(&t, &remediate, now).await;
    assert_eq!(results[0].status, Status::Remediated, "{:?}", results[0]);
    assert_eq!(
        results[0].current,
        Some(json!({"isEnabledInOrganization": false}))
    );
    let log = sim.log();
    let patches = log.calls("PATCH", PEOPLE_INSIGHTS);
    assert_eq!(patches.len(), 1, "{:?}", log.entries());
    assert_eq!(patches[0].status, 204);
    assert_eq!(log.writes().len(), 1, "{:?}", log.writes());
    let snap = fetch_with_follow_ups(&t, &[(&*viva, &json!({}))]).await;
    let org =
        cipp_templates::standards::catalogue::exchange::org::DisableViva::organization_id(&snap)
            .unwrap();
    assert_eq!(
        patches[0].path,
        format!("/beta/organization/{org}/settings/peopleInsights")
    );
    let setting = cipp_graph::settings::GraphSetting::PeopleInsights(org.clone());
    let now_set = t.graph.settings().get(&setting).await.unwrap();
    assert_eq!(now_set["isEnabledInOrganization"], false);
    assert_eq!(now_set["disabledForGroup"], Value::Null, "the rest is kept");
    assert!(now_set["@odata.context"]
        .as_str()
        .is_some_and(|c| c.contains("peopleInsights")));

    // Again: compliant, nothing written.
    sim.clear_log();
    let results = run_tenant(&t, &remediate, now).await;
    assert_eq!(results[0].status, Status::Compliant, "{:?}", results[0]);
    assert!(sim.log().writes().is_empty(), "{:?}", sim.log().writes());

    // Another organization's settings are not this tenant's: Graph's 404.
    let other = cipp_graph::settings::GraphSetting::PeopleInsights(
        "0b5c7d3e-1f2a-4b6c-8d9e-0f1a2b3c4d5e".into(),
    );
    let err = t.graph.settings().get(&other).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let err = t
        .graph
        .settings()
        .update(&other, &json!({"isEnabledInOrganization": false}))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    // The simulator refuses what insightsSettings does not have or hold.
    for bad in [
        json!({"isEnabledInOrganization": "no"}),
        json!({"nope": true}),
    ] {
        let err = t.graph.settings().update(&setting, &bad).await.unwrap_err();
        assert_eq!(err.status().map(|s| s.as_u16()), Some(400), "{bad}: {err}");
    }
}

#[tokio::test]
async fn viva_without_global_admin_says_which_role_to_give() {
    use cipp_sim::{FaultKind, FaultRule, FaultTrigger};
    use cipp_templates::standards::{run_tenant, Assignment, Mode, Status};
    let sim = fresh();
    let t = target(&sim);
    let now = "2026-11-27T09:00:00Z".parse().unwrap();
    sim.add_fault(
        FaultRule::new(
            FaultKind::Error {
                status: 403,
                code: "UnknownError".into(),
                message: "Tenant admin role is required".into(),
            },
            FaultTrigger::Always,
        )
        .on_route("*", PEOPLE_INSIGHTS),
    );
    let viva = standard("DisableViva");
    sim.clear_log();
    let results = run_tenant(
        &t,
        &[Assignment::new(viva.clone(), json!({}), Mode::REMEDIATE)],
        now,
    )
    .await;
    let r = &results[0];
    assert_eq!(r.status, Status::Failed, "{r:?}");
    let error = r.error.as_ref().expect("the error is kept");
    assert_eq!(error.status, Some(403), "{error:?}");
    assert!(
        error.message.contains("Tenant admin role is required"),
        "{}",
        error.message
    );
    assert!(
        error.message.contains("Global Administrator") && error.message.contains("CIPP-SAM"),
        "{}",
        error.message
    );
    assert!(
        sim.log().calls("PATCH", PEOPLE_INSIGHTS).is_empty(),
        "nothing is changed blind"
    );
}
