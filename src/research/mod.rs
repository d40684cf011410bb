//! Research Compromised Account (formerly BEC): gather the evidence concurrently, score the
//! indicators and explain each one, and render the report as JSON, HTML or Markdown.

use chrono::{DateTime, Duration, Utc};
use cipp_core::{Error, ErrorSummary, TenantId};
use cipp_exchange::model::{InboxRule, Mailbox, MessageTrace, MobileDevice, UnifiedAuditRecord};
use cipp_graph::model::{
    AuthMethod, AuthMethodKind, ManagedDevice, OAuth2PermissionGrant, ServicePrincipal, SignIn,
    User,
};

use serde::Serialize;

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

mod collect;
mod evidence;
mod render;
mod score;

pub use collect::research;
