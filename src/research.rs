//! Research Compromised Account (formerly BEC): gather the evidence concurrently, score the
//! indicators and explain each one, and render the report as JSON, HTML or Markdown.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use cipp_core::{Error, ErrorSummary, TenantId};
use cipp_exchange::model::{InboxRule, Mailbox, MessageTrace, MobileDevice, UnifiedAuditRecord};
use cipp_graph::audit::SignInFilter;
use cipp_graph::model::{
    AuthMethod, AuthMethodKind, ManagedDevice, OAuth2PermissionGrant, ServicePrincipal, SignIn,
    User,
};
use cipp_graph::odata::Query;
use cipp_graph::users::UserRef;

use futures::{StreamExt, TryStreamExt};
use serde::Serialize;

use crate::client::TenantHandle;

/// Scopes that let an app read or send mail, or control files or the directory.
pub const HIGH_PRIVILEGE_SCOPES: &[&str] = &[
    "Mail.Read",
    "Mail.ReadWrite",
    "Mail.Send",
    "MailboxSettings.ReadWrite",
    "full_access_as_user",
    "EWS.AccessAsUser.All",
    "Files.ReadWrite.All",
    "Sites.ReadWrite.All",
    "Directory.ReadWrite.All",
    "User.ReadWrite.All",
    "Contacts.ReadWrite",
];

/// Clients that use legacy (basic) authentication.
pub const LEGACY_CLIENTS: &[&str] = &[
    "IMAP4",
    "POP3",
    "Authenticated SMTP",
    "SMTP",
    "Exchange ActiveSync",
    "Other clients",
    "Exchange Web Services",
    "MAPI Over HTTP",
    "Offline Address Book",
    "AutoDiscover",
    "Outlook Anywhere (RPC over HTTP)",
    "Exchange Online PowerShell",
];

/// Folders where forwarded or hidden mail is rarely looked at.
pub const RARELY_READ_FOLDERS: &[&str] = &[
    "RSS",
    "Archive",
    "Conversation History",
    "Notes",
    "Junk",
    "Deleted Items",
    "Outbox",
    "Sync Issues",
];

/// The longest research window, in days (the unified audit log keeps at most 180 days).
pub const MAX_WINDOW_DAYS: i64 = 180;

/// Options of a research run.
#[derive(Clone, Debug)]
pub struct ResearchOptions {
    /// How far back to look (CIPP: 7 days).
    pub window: Duration,
    /// How many of the tenant's latest sign-ins to include.
    pub tenant_sign_ins: usize,
    /// Most unified audit log records read per search.
    pub max_audit_records: usize,
}

impl Default for ResearchOptions {
    fn default() -> Self {
        ResearchOptions {
            window: Duration::days(7),
            tenant_sign_ins: 50,
            max_audit_records: 50_000,
        }
    }
}

/// One section of the evidence: its data, or why it could not be read.
#[derive(Clone, Debug, Serialize)]
pub struct Section<T> {
    /// The data, when it was read.
    pub data: Option<T>,
    /// The error, when it was not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorSummary>,
}

impl<T> Section<T> {
    fn from(r: Result<T, Error>) -> Self {
        match r {
            Ok(d) => Section {
                data: Some(d),
                error: None,
            },
            Err(e) => Section {
                data: None,
                error: Some(ErrorSummary::from(&e)),
            },
        }
    }
}

/// An inbox rule with whether the audit log shows it created or changed in the window.
#[derive(Clone, Debug, Serialize)]
pub struct RuleFinding {
    /// The rule.
    pub rule: InboxRule,
    /// Created or changed in the window.
    pub recently_changed: bool,
}

/// How bad an indicator is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Severity {
    /// Worth a look.
    Low,
    /// Suspicious.
    Medium,
    /// Typical of a compromise.
    High,
}

/// One scored indicator of compromise, with its explanation and evidence.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Indicator {
    /// Severity.
    pub severity: Severity,
    /// Points added to the score.
    pub score: u32,
    /// Short title.
    pub title: String,
    /// Why it matters.
    pub explanation: String,
    /// The evidence (rule name, sign-in, address…).
    pub evidence: String,
    /// Whether it is current state (a rule, forwarding, a method, a consent) that
    /// remediation can undo, rather than history (sign-ins, audit events).
    pub active: bool,
}

/// The overall verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Verdict {
    /// Nothing found.
    NoIndicators,
    /// Some indicators: review them.
    Suspicious,
    /// Strong indicators: remediate.
    LikelyCompromised,
}

/// Everything gathered about one user, with the scored indicators.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResearchReport {
    /// Report format version.
    pub schema_version: u32,
    /// The tenant.
    pub tenant: TenantId,
    /// The user.
    pub user_principal_name: String,
    /// The user id.
    pub user_id: String,
    /// Window start.
    pub window_start: DateTime<Utc>,
    /// Window end (when the research ran).
    pub window_end: DateTime<Utc>,
    /// Whether the unified audit log is on (audit sections are empty when off).
    pub audit_log_enabled: Section<bool>,
    /// Mailbox permission changes in the tenant.
    pub mailbox_permission_changes: Section<Vec<UnifiedAuditRecord>>,
    /// The user's inbox rule changes.
    pub inbox_rule_changes: Section<Vec<UnifiedAuditRecord>>,
    /// Current inbox rules (hidden included, system rules excluded).
    pub inbox_rules: Section<Vec<RuleFinding>>,
    /// The mailbox (forwarding settings).
    pub mailbox: Section<Mailbox>,
    /// Messages the user sent.
    pub sent_messages: Section<Vec<MessageTrace>>,
    /// The user's sign-ins in the window.
    pub user_sign_ins: Section<Vec<SignIn>>,
    /// The tenant's latest sign-ins.
    pub tenant_sign_ins: Section<Vec<SignIn>>,
    /// Mobile devices of the mailbox.
    pub mobile_devices: Section<Vec<MobileDevice>>,
    /// Users created in the window.
    pub new_users: Section<Vec<User>>,
    /// Users whose password changed in the window.
    pub password_changes: Section<Vec<User>>,
    /// MFA methods (password excluded).
    pub mfa_methods: Section<Vec<AuthMethod>>,
    /// Service principals added in the window.
    pub new_service_principals: Section<Vec<ServicePrincipal>>,
    /// The user's delegated consents (and tenant-wide ones).
    pub consent_grants: Section<Vec<OAuth2PermissionGrant>>,
    /// Intune devices.
    pub intune_devices: Section<Vec<ManagedDevice>>,
    /// Scored indicators, worst first.
    pub indicators: Vec<Indicator>,
    /// Total score.
    pub score: u32,
    /// Verdict.
    pub verdict: Verdict,
}

fn in_window(t: Option<DateTime<Utc>>, start: DateTime<Utc>) -> bool {
    t.is_some_and(|t| t >= start)
}

fn ts(v: &serde_json::Value) -> Option<DateTime<Utc>> {
    v.as_str().and_then(cipp_graph::model::parse_timestamp)
}

/// Runs the research on `user` (UPN).
pub async fn research(
    handle: &TenantHandle,
    user: &str,
    options: &ResearchOptions,
) -> Result<ResearchReport, Error> {
    let t = handle.id().clone();
    let graph = handle.graph();
    let exo = handle.exchange();
    let now = handle.cipp().clock().now();
    if options.window <= Duration::zero() || options.window > Duration::days(MAX_WINDOW_DAYS) {
        return Err(Error::invalid_input(
            "window",
            format!(
                "the research window must be between 1 second and {MAX_WINDOW_DAYS} days (the unified audit log keeps at most 180 days)"
            ),
        ));
    }
    let start = now.checked_sub_signed(options.window).ok_or_else(|| {
        Error::invalid_input("window", "the research window reaches before the year 0")
    })?;
    let uref = UserRef::parse(user)?;
    // The one dependency: the user's id and UPN.
    let u = graph
        .users()
        .get(&uref)
        .select(["id", "userPrincipalName", "usageLocation", "displayName"])
        .await?;
    let uid = u.id.clone().map(|i| i.0).unwrap_or_default();
    let upn = u
        .user_principal_name
        .clone()
        .unwrap_or_else(|| user.to_owned());
    let id_ref = UserRef::Id(cipp_graph::model::UserId(uid.clone()));

    let audit_enabled = async {
        exo.admin_audit_log_config()
            .await
            .map(|c| c.unified_audit_log_ingestion_enabled.unwrap_or(false))
    };
    let perm_changes = exo.search_unified_audit_log(
        start,
        now,
        &[
            "Remove-MailboxPermission",
            "Add-MailboxPermission",
            "UpdateCalendarDelegation",
            "AddFolderPermissions",
        ],
        &[],
        options.max_audit_records,
    );
    let user_ids = [upn.as_str()];
    let rule_changes = exo.search_unified_audit_log(
        start,
        now,
        &[
            "New-InboxRule",
            "Set-InboxRule",
            "Remove-InboxRule",
            "UpdateInboxRules",
        ],
        &user_ids,
        options.max_audit_records,
    );
    let rules = exo.inbox_rules(&upn);
    let mailbox = exo.get_mailbox(&upn);
    let sent = exo.message_trace(&upn, start, now);
    let user_sign_ins = graph
        .audit()
        .sign_ins(&SignInFilter {
            user_id: Some(uid.clone()),
            since: Some(start),
            ..Default::default()
        })
        .collect();
    let tenant_sign_ins = async {
        graph
            .audit()
            .sign_ins(&SignInFilter {
                // Graph pages sign-ins at most 1,000 at a time.
                top: Some(options.tenant_sign_ins.clamp(1, 1000) as u32),
                ..Default::default()
            })
            .stream()
            .into_inner()
            .take(options.tenant_sign_ins)
            .try_collect::<Vec<_>>()
            .await
    };
    let devices = exo.mobile_devices(&upn);
    let users_q = Query::new()
        .select([
            "id",
            "displayName",
            "userPrincipalName",
            "createdDateTime",
            "lastPasswordChangeDateTime",
        ])
        .top(999);
    let all_users = graph.users().list().query(users_q).collect();
    let methods = graph.auth_methods().list(&id_ref).collect();
    let sps = graph.audit().service_principals_since(start).collect();
    let grants = graph.audit().oauth2_grants(None).collect();
    let intune = graph.audit().managed_devices_of(&upn).collect();
    let domains = graph.directory().domains().collect();

    let (
        (audit_enabled, perm_changes, rule_changes, rules, mailbox),
        (sent, user_sign_ins, tenant_sign_ins, devices, all_users),
        (methods, sps, grants, intune, domains),
    ) = futures::join!(
        async { futures::join!(audit_enabled, perm_changes, rule_changes, rules, mailbox) },
        async { futures::join!(sent, user_sign_ins, tenant_sign_ins, devices, all_users) },
        async { futures::join!(methods, sps, grants, intune, domains) },
    );

    let audit_on = matches!(audit_enabled, Ok(true));
    let disabled = || {
        Error::Config(
            "the unified audit log is disabled in this tenant: audit-based sections are empty"
                .into(),
        )
    };
    let rule_changes = if audit_on {
        rule_changes
    } else {
        Err(disabled())
    };
    let perm_changes = if audit_on {
        perm_changes
    } else {
        Err(disabled())
    };
    let changed_rule_names: BTreeSet<String> = rule_changes
        .as_ref()
        .map(|rs| {
            rs.iter()
                .filter_map(|r| r.audit_data_json())
                .flat_map(|d| {
                    d["Parameters"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                        .into_iter()
                        .filter(|p| p["Name"] == "Name" || p["Name"] == "Identity")
                        .filter_map(|p| {
                            p["Value"]
                                .as_str()
                                .map(|v| v.rsplit('\\').next().unwrap_or(v).to_owned())
                        })
                })
                .collect()
        })
        .unwrap_or_default();
    let rules = rules.map(|rs| {
        rs.into_iter()
            .map(|r| {
                let recently_changed = r
                    .name
                    .as_ref()
                    .is_some_and(|n| changed_rule_names.contains(n));
                RuleFinding {
                    rule: r,
                    recently_changed,
                }
            })
            .collect::<Vec<_>>()
    });
    let (new_users, password_changes) = match all_users {
        Ok(us) => {
            let new: Vec<User> = us
                .iter()
                .filter(|u| in_window(u.created_date_time, start))
                .cloned()
                .collect();
            let pw: Vec<User> = us
                .iter()
                .filter(|u| {
                    in_window(
                        u.extra.get("lastPasswordChangeDateTime").and_then(ts),
                        start,
                    )
                })
                .cloned()
                .collect();
            (Ok(new), Ok(pw))
        }
        Err(e) => (Err(e.clone()), Err(e)),
    };
    let methods = methods.map(|ms| {
        ms.into_iter()
            .filter(|m| m.kind() != AuthMethodKind::Password)
            .collect::<Vec<_>>()
    });
    let grants = grants.map(|gs| {
        gs.into_iter()
            .filter(|g| {
                g.principal_id.as_deref() == Some(uid.as_str())
                    || g.consent_type.as_deref() == Some("AllPrincipals")
            })
            .collect::<Vec<_>>()
    });
    let tenant_domains: Vec<String> = domains
        .map(|ds| ds.into_iter().map(|d| d.id.to_ascii_lowercase()).collect())
        .unwrap_or_default();

    let mut report = ResearchReport {
        schema_version: 1,
        tenant: t,
        user_principal_name: upn,
        user_id: uid,
        window_start: start,
        window_end: now,
        audit_log_enabled: Section::from(audit_enabled),
        mailbox_permission_changes: Section::from(perm_changes),
        inbox_rule_changes: Section::from(rule_changes),
        inbox_rules: Section::from(rules),
        mailbox: Section::from(mailbox),
        sent_messages: Section::from(sent),
        user_sign_ins: Section::from(user_sign_ins),
        tenant_sign_ins: Section::from(tenant_sign_ins),
        mobile_devices: Section::from(devices),
        new_users: Section::from(new_users),
        password_changes: Section::from(password_changes),
        mfa_methods: Section::from(methods),
        new_service_principals: Section::from(sps),
        consent_grants: Section::from(grants),
        intune_devices: Section::from(intune),
        indicators: Vec::new(),
        score: 0,
        verdict: Verdict::NoIndicators,
    };
    score(&mut report, &tenant_domains, u.usage_location.as_deref());
    Ok(report)
}

const ACTIVE_TITLES: &[&str] = &[
    "Inbox rule sends mail outside the organisation",
    "Inbox rule deletes mail",
    "Inbox rule moves mail to a rarely read folder",
    "Inbox rule created or changed in the window",
    "Mailbox forwards to an external address",
    "MFA method added in the window",
    "Consent to an app with high-privilege scopes",
];

fn address_domain(a: &str) -> Option<String> {
    // Exchange writes recipients as "\"Name\" [SMTP:x@y]" or plain addresses.
    let a = a
        .rsplit("SMTP:")
        .next()
        .unwrap_or(a)
        .trim_end_matches(']')
        .trim()
        .trim_matches('"');
    a.rsplit_once('@').map(|(_, d)| {
        d.trim_end_matches(|c: char| !c.is_alphanumeric())
            .to_ascii_lowercase()
    })
}

fn is_external(address: &str, domains: &[String]) -> bool {
    match address_domain(address) {
        Some(d) => !domains.is_empty() && !domains.contains(&d),
        None => false,
    }
}

/// Great-circle distance in km.
fn haversine(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, lo1, la2, lo2) = (
        a.0.to_radians(),
        a.1.to_radians(),
        b.0.to_radians(),
        b.1.to_radians(),
    );
    let h = ((la2 - la1) / 2.0).sin().powi(2)
        + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    6371.0 * 2.0 * h.sqrt().asin()
}

fn score(r: &mut ResearchReport, domains: &[String], usage_location: Option<&str>) {
    let mut out: Vec<Indicator> = Vec::new();
    let mut add =
        |severity: Severity, score: u32, title: &str, explanation: &str, evidence: String| {
            out.push(Indicator {
                severity,
                score,
                title: title.into(),
                explanation: explanation.into(),
                evidence,
                active: ACTIVE_TITLES.contains(&title),
            });
        };
    if let Some(rules) = &r.inbox_rules.data {
        for f in rules.iter().filter(|f| f.rule.enabled != Some(false)) {
            let rule = &f.rule;
            let name = rule.name.clone().unwrap_or_default();
            let targets: Vec<&String> = rule
                .forward_to
                .iter()
                .chain(rule.redirect_to.iter())
                .chain(rule.forward_as_attachment_to.iter())
                .flatten()
                .collect();
            let external: Vec<&&String> =
                targets.iter().filter(|a| is_external(a, domains)).collect();
            if !external.is_empty() {
                add(Severity::High, 40, "Inbox rule sends mail outside the organisation",
                    "Attackers forward or redirect a victim's mail (often invoices and payments) to an address they control.",
                    format!("rule '{name}' → {}", external.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")));
            }
            if rule.delete_message == Some(true) {
                add(
                    Severity::Medium,
                    20,
                    "Inbox rule deletes mail",
                    "Deleting rules hide security alerts and replies from the real owner.",
                    format!("rule '{name}'"),
                );
            }
            if let Some(folder) = &rule.move_to_folder {
                if let Some(f2) = RARELY_READ_FOLDERS.iter().find(|x| {
                    folder
                        .to_ascii_lowercase()
                        .contains(&x.to_ascii_lowercase())
                }) {
                    let high = f2.eq_ignore_ascii_case("RSS");
                    add(if high { Severity::High } else { Severity::Medium }, if high { 30 } else { 15 },
                        "Inbox rule moves mail to a rarely read folder",
                        "Moving mail to RSS Feeds, Archive and similar folders keeps the owner from seeing it; RSS is a classic BEC trick.",
                        format!("rule '{name}' → {folder}"));
                }
            }
            if f.recently_changed {
                add(
                    Severity::Medium,
                    10,
                    "Inbox rule created or changed in the window",
                    "The audit log shows this rule was created or changed recently.",
                    format!("rule '{name}'"),
                );
            }
        }
    }
    if let Some(mb) = &r.mailbox.data {
        if let Some(fwd) = &mb.forwarding_smtp_address {
            if is_external(fwd, domains) || domains.is_empty() {
                add(
                    Severity::High,
                    40,
                    "Mailbox forwards to an external address",
                    "Mailbox-level forwarding copies every message outside the organisation.",
                    fwd.clone(),
                );
            }
        }
    }
    if let Some(signins) = &r.user_sign_ins.data {
        let mut sorted: Vec<&SignIn> = signins.iter().collect();
        sorted.sort_by_key(|s| s.created_date_time);
        let mut countries: Vec<(String, usize)> = Vec::new();
        for s in &sorted {
            if let Some(c) = s
                .location
                .as_ref()
                .and_then(|l| l.country_or_region.clone())
            {
                match countries.iter_mut().find(|(x, _)| *x == c) {
                    Some((_, n)) => *n += 1,
                    None => countries.push((c, 1)),
                }
            }
        }
        let usual: Vec<String> = {
            let mut v: Vec<String> = usage_location
                .map(|u| vec![u.to_ascii_uppercase()])
                .unwrap_or_default();
            if let Some((c, _)) = countries.iter().max_by_key(|(_, n)| *n) {
                v.push(c.clone());
            }
            v
        };
        for (c, n) in &countries {
            if !usual.contains(c) {
                add(Severity::Medium, 20, "Sign-in from a country the user does not use",
                    "Sign-ins from an unusual country can mean someone else holds the password or a token.",
                    format!("{n} sign-in(s) from {c}"));
            }
        }
        for s in &sorted {
            if let Some(client) = &s.client_app_used {
                if LEGACY_CLIENTS
                    .iter()
                    .any(|l| l.eq_ignore_ascii_case(client))
                {
                    add(Severity::High, 25, "Legacy authentication sign-in",
                        "Legacy protocols skip MFA; attackers use them to read mail with a stolen password.",
                        format!("{client} from {} at {}", s.ip_address.clone().unwrap_or_default(), s.created_date_time.map(|t| t.to_rfc3339()).unwrap_or_default()));
                }
            }
        }
        for w in sorted.windows(2) {
            let (a, b) = (w[0], w[1]);
            let pos = |s: &SignIn| {
                s.location
                    .as_ref()
                    .and_then(|l| l.geo_coordinates.as_ref())
                    .and_then(|g| Some((g.latitude?, g.longitude?)))
            };
            if let (Some(pa), Some(pb), Some(ta), Some(tb)) =
                (pos(a), pos(b), a.created_date_time, b.created_date_time)
            {
                let km = haversine(pa, pb);
                let hours = ((tb - ta).num_seconds() as f64 / 3600.0).max(1.0 / 60.0);
                if km > 500.0 && km / hours > 900.0 {
                    add(Severity::High, 35, "Impossible travel",
                        "Two consecutive sign-ins too far apart to travel between in the time between them.",
                        format!("{:.0} km in {:.1} h ({} → {})", km, hours,
                            a.location.as_ref().and_then(|l| l.city.clone()).unwrap_or_default(),
                            b.location.as_ref().and_then(|l| l.city.clone()).unwrap_or_default()));
                }
            }
        }
    }
    if let Some(methods) = &r.mfa_methods.data {
        for m in methods {
            if in_window(m.created_date_time, r.window_start) {
                add(Severity::Medium, 20, "MFA method added in the window",
                    "Attackers register their own authenticator to keep access after a password reset.",
                    format!("{} ({})", m.odata_type.trim_start_matches("#microsoft.graph."), m.extra.get("displayName").and_then(|v| v.as_str()).unwrap_or("")));
            }
        }
    }
    if let Some(grants) = &r.consent_grants.data {
        for g in grants {
            let scopes: Vec<&str> = g
                .scope
                .as_deref()
                .unwrap_or("")
                .split_whitespace()
                .collect();
            let risky: Vec<&str> = scopes
                .iter()
                .copied()
                .filter(|s| {
                    HIGH_PRIVILEGE_SCOPES
                        .iter()
                        .any(|h| h.eq_ignore_ascii_case(s))
                })
                .collect();
            if !risky.is_empty() {
                let app = r
                    .new_service_principals
                    .data
                    .as_ref()
                    .and_then(|sps| {
                        sps.iter()
                            .find(|sp| Some(sp.id.as_str()) == g.client_id.as_deref())
                    })
                    .and_then(|sp| sp.display_name.clone())
                    .unwrap_or_else(|| g.client_id.clone().unwrap_or_default());
                add(Severity::High, 30, "Consent to an app with high-privilege scopes",
                    "An app holding mail or file scopes keeps reading data after the password changes (illicit consent grant).",
                    format!("{app}: {}", risky.join(" ")));
            }
        }
    }
    if let Some(changes) = &r.mailbox_permission_changes.data {
        for c in changes
            .iter()
            .filter(|c| c.operations.as_deref() == Some("Add-MailboxPermission"))
        {
            let d = c.audit_data_json().unwrap_or_default();
            // Only changes made by, or to the mailbox of, the user under research.
            let me = r.user_principal_name.to_ascii_lowercase();
            let by_user = c
                .user_ids
                .as_deref()
                .is_some_and(|u| u.eq_ignore_ascii_case(&me));
            let on_mailbox = d["ObjectId"]
                .as_str()
                .is_some_and(|o| o.to_ascii_lowercase().contains(&me));
            if !by_user && !on_mailbox {
                continue;
            }
            let param = |n: &str| {
                d["Parameters"]
                    .as_array()
                    .and_then(|ps| ps.iter().find(|p| p["Name"] == n))
                    .and_then(|p| p["Value"].as_str().map(str::to_owned))
                    .unwrap_or_default()
            };
            add(
                Severity::Medium,
                20,
                "Mailbox permission granted to someone else",
                "New full-access or delegate permissions let another account read the mailbox.",
                format!(
                    "{} granted {} {} on {}",
                    c.user_ids.clone().unwrap_or_default(),
                    param("User"),
                    param("AccessRights"),
                    d["ObjectId"].as_str().unwrap_or("")
                ),
            );
        }
    }
    out.sort_by(|a, b| b.severity.cmp(&a.severity).then(b.score.cmp(&a.score)));
    r.score = out.iter().map(|i| i.score).sum();
    r.verdict = if out.iter().any(|i| i.severity == Severity::High) || r.score >= 60 {
        Verdict::LikelyCompromised
    } else if r.score > 0 {
        Verdict::Suspicious
    } else {
        Verdict::NoIndicators
    };
    r.indicators = out;
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn md(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

impl ResearchReport {
    /// Indicators that are current state (what remediation can undo).
    pub fn active_indicators(&self) -> impl Iterator<Item = &Indicator> {
        self.indicators.iter().filter(|i| i.active)
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> Result<String, Error> {
        serde_json::to_string_pretty(self)
            .map_err(|e| Error::Config(format!("cannot serialise the report: {e}")))
    }

    fn section_status<T>(
        name: &str,
        s: &Section<T>,
        len: impl Fn(&T) -> usize,
    ) -> (String, String) {
        match (&s.data, &s.error) {
            (Some(d), _) => (name.to_owned(), format!("{} item(s)", len(d))),
            (None, Some(e)) => (name.to_owned(), format!("not read: {}", e.message)),
            _ => (name.to_owned(), "not read".to_owned()),
        }
    }

    fn sections(&self) -> Vec<(String, String)> {
        vec![
            Self::section_status("Audit log enabled", &self.audit_log_enabled, |b| {
                usize::from(*b)
            }),
            Self::section_status(
                "Mailbox permission changes",
                &self.mailbox_permission_changes,
                Vec::len,
            ),
            Self::section_status("Inbox rule changes", &self.inbox_rule_changes, Vec::len),
            Self::section_status("Inbox rules", &self.inbox_rules, Vec::len),
            Self::section_status("Mailbox", &self.mailbox, |_| 1),
            Self::section_status("Sent messages", &self.sent_messages, Vec::len),
            Self::section_status("User sign-ins", &self.user_sign_ins, Vec::len),
            Self::section_status("Tenant sign-ins", &self.tenant_sign_ins, Vec::len),
            Self::section_status("Mobile devices", &self.mobile_devices, Vec::len),
            Self::section_status("New users", &self.new_users, Vec::len),
            Self::section_status("Password changes", &self.password_changes, Vec::len),
            Self::section_status("MFA methods", &self.mfa_methods, Vec::len),
            Self::section_status(
                "New service principals",
                &self.new_service_principals,
                Vec::len,
            ),
            Self::section_status("Consent grants", &self.consent_grants, Vec::len),
            Self::section_status("Intune devices", &self.intune_devices, Vec::len),
        ]
    }

    /// The report as Markdown.
    pub fn to_markdown(&self) -> String {
        let mut s = format!(
            "# Compromised account research: {}\n\nTenant `{}` · window {} → {} · **verdict: {:?}** (score {})\n\n## Indicators\n\n",
            self.user_principal_name,
            self.tenant,
            self.window_start.format("%Y-%m-%d %H:%M UTC"),
            self.window_end.format("%Y-%m-%d %H:%M UTC"),
            self.verdict,
            self.score
        );
        if self.indicators.is_empty() {
            s.push_str("No indicators found.\n");
        } else {
            s.push_str("| Severity | Score | Indicator | Evidence | Current or history | Why it matters |\n|---|---|---|---|---|---|\n");
            for i in &self.indicators {
                s.push_str(&format!(
                    "| {:?} | {} | {} | {} | {} | {} |\n",
                    i.severity,
                    i.score,
                    md(&i.title),
                    md(&i.evidence),
                    if i.active { "current" } else { "history" },
                    md(&i.explanation)
                ));
            }
        }
        s.push_str("\n## Evidence gathered\n\n| Section | Status |\n|---|---|\n");
        for (n, st) in self.sections() {
            s.push_str(&format!("| {} | {} |\n", md(&n), md(&st)));
        }
        s
    }

    /// The report as a self-contained HTML page (inline CSS, no scripts, every value escaped).
    pub fn to_html(&self) -> String {
        let mut rows = String::new();
        for i in &self.indicators {
            rows.push_str(&format!(
                "<tr class=\"{sev}\"><td>{sev}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                i.score,
                esc(&i.title),
                esc(&i.evidence),
                esc(&i.explanation),
                sev = format!("{:?}", i.severity).to_lowercase()
            ));
        }
        if rows.is_empty() {
            rows.push_str("<tr><td colspan=\"5\">No indicators found.</td></tr>");
        }
        let mut sections = String::new();
        for (n, st) in self.sections() {
            sections.push_str(&format!(
                "<tr><td>{}</td><td>{}</td></tr>\n",
                esc(&n),
                esc(&st)
            ));
        }
        let verdict = format!("{:?}", self.verdict);
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Research: {upn}</title>\n<style>\
body{{font-family:system-ui,sans-serif;margin:2rem;color:#222}}table{{border-collapse:collapse;width:100%;margin:1rem 0}}\
td,th{{border:1px solid #ccc;padding:.4rem;text-align:left;vertical-align:top}}th{{background:#f0f0f0}}\
tr.high td:first-child{{color:#fff;background:#b00020}}tr.medium td:first-child{{background:#f5a623}}tr.low td:first-child{{background:#dde}}\
.verdict{{font-size:1.3rem;font-weight:bold}}</style></head>\n<body>\n<h1>Compromised account research: {upn}</h1>\n\
<p>Tenant <code>{tenant}</code> · window {start} → {end}</p>\n<p class=\"verdict\">Verdict: {verdict} (score {score})</p>\n\
<h2>Indicators</h2>\n<table><tr><th>Severity</th><th>Score</th><th>Indicator</th><th>Evidence</th><th>Why it matters</th></tr>\n{rows}</table>\n\
<h2>Evidence gathered</h2>\n<table><tr><th>Section</th><th>Status</th></tr>\n{sections}</table>\n</body></html>\n",
            upn = esc(&self.user_principal_name),
            tenant = esc(self.tenant.as_str()),
            start = self.window_start.format("%Y-%m-%d %H:%M UTC"),
            end = self.window_end.format("%Y-%m-%d %H:%M UTC"),
            score = self.score,
        )
    }
}
