//! Standards over every mailbox or user: `EnableOnlineArchiving`, `calDefault`,
//! `DisableSharedMailbox`, `DisableExchangeOnlinePowerShell`, `DelegateSentItems`,
//! `DisableBasicAuthSMTP` and `EnableLitigationHold`. Each reports the offending objects (sorted) against none, and
//! remediates each of them, many cmdlets at a time through Exchange `$batch` (Graph
//! `$batch` for sign-in blocks).

use std::sync::Arc;

use async_trait::async_trait;
use cipp_core::Error;
use cipp_exchange::cmdlet::Cmdlet;
use cipp_graph::batch::BatchOptions;
use cipp_graph::users::UserRef;
use serde::Deserialize;
use serde_json::{json, Value};

use super::super::entra::de;
use super::{cmdlet, meta, one_of, rows, send_groups, sorted, text, ExoStandard};
use crate::standards::model::{
    Category, Check, Impact, Mode, Standard, StandardMeta, TenantTarget,
};
use crate::standards::read::{GraphListing, Read, Snapshot};
use crate::standards::setting::typed;
use crate::standards::NoSettings;

pub(super) fn standards() -> Vec<Arc<dyn Standard>> {
    vec![
        Arc::new(enable_online_archiving()),
        Arc::new(CalDefault::new()),
        Arc::new(DisableSharedMailbox::new()),
        Arc::new(DisableExchangeOnlinePowerShell::new()),
        Arc::new(delegate_sent_items()),
        Arc::new(disable_basic_auth_smtp()),
        Arc::new(enable_litigation_hold()),
    ]
}

fn all_mailboxes() -> Read {
    Read::exchange_with("Get-Mailbox", json!({"ResultSize": "Unlimited"}))
}

fn upns<'a>(rows: impl IntoIterator<Item = &'a Value>) -> Vec<String> {
    sorted(
        rows.into_iter()
            .map(|r| text(r, "UserPrincipalName").to_owned())
            .filter(|u| !u.is_empty())
            .collect(),
    )
}

// ---- EnableOnlineArchiving

/// The mailbox plans of licences that include an archive.
pub const ARCHIVE_PLANS: &[&str] = &["ExchangeOnline", "ExchangeOnlineEnterprise"];

/// User mailboxes without an archive (an all-zero `ArchiveGuid`).
pub const NO_ARCHIVE_FILTER: &str = "ArchiveGuid -Eq \"00000000-0000-0000-0000-000000000000\" -AND RecipientTypeDetails -Eq \"UserMailbox\"";

fn no_archive(plan: &str) -> Read {
    Read::exchange_with(
        "Get-Mailbox",
        json!({"MailboxPlan": plan, "Filter": NO_ARCHIVE_FILTER}),
    )
}

fn without_archive(snap: &Snapshot) -> Result<Vec<String>, Error> {
    let mut all = Vec::new();
    for plan in ARCHIVE_PLANS {
        all.extend(upns(rows(snap, &no_archive(plan))?));
    }
    Ok(sorted(all))
}

fn enable_online_archiving() -> ExoStandard<NoSettings> {
    ExoStandard::<NoSettings>::new(
        meta(
            "EnableOnlineArchiving",
            Impact::Low,
            "Enable Online Archive for all users",
            "Enables the In-Place Online Archive for all UserMailboxes with a valid license.",
            &["Essential 8 (1511)", "NIST CSF 2.0 (PR.DS-11)"],
            "Get-Mailbox -MailboxPlan ExchangeOnline|ExchangeOnlineEnterprise -Filter <no archive, user mailbox>",
            "Enable-Mailbox -Identity <upn> -Archive $true (each, through $batch)",
        ),
        |_| ARCHIVE_PLANS.iter().map(|p| no_archive(p)).collect(),
        |_, snap| {
            Ok(Check::evaluated(
                json!({"ArchiveNotEnabled": without_archive(snap)?}),
                json!({"ArchiveNotEnabled": []}),
            ))
        },
        |_, snap| {
            Ok(vec![without_archive(snap)?
                .iter()
                .map(|u| cmdlet("Enable-Mailbox", json!({"Identity": u, "Archive": true})))
                .collect()])
        },
    )
}

// ---- calDefault

/// The name of the `calDefault` standard.
pub const CAL_DEFAULT: &str = "calDefault";

/// The sharing levels `calDefault` accepts (Exchange's folder permission roles).
pub const CALENDAR_LEVELS: &[&str] = &[
    "Owner",
    "PublishingEditor",
    "Editor",
    "PublishingAuthor",
    "Author",
    "NonEditingAuthor",
    "Reviewer",
    "Contributor",
    "AvailabilityOnly",
    "LimitedDetails",
    "None",
];

/// Settings of `calDefault`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct CalDefaultSettings {
    /// The `Default` user's permission on every calendar (required; one of
    /// [`CALENDAR_LEVELS`]).
    #[serde(rename = "permissionLevel", default, deserialize_with = "de::opt_text")]
    pub permission_level: Option<String>,
}

/// `calDefault`: the `Default` user's permission on every mailbox's calendar. The calendars
/// are read per mailbox ([`CalDefault::calendar_reads`], its follow-up reads: a second
/// round after `Get-Mailbox`); a mailbox whose calendar was not read is reported unchecked, as CIPP
/// grades missing coverage. CIPP offers this standard in remediate mode only.
pub struct CalDefault {
    meta: StandardMeta,
}

impl Default for CalDefault {
    fn default() -> Self {
        CalDefault::new()
    }
}

impl CalDefault {
    /// The standard.
    pub fn new() -> Self {
        let mut m = meta(
            CAL_DEFAULT,
            Impact::Low,
            "Set Sharing Level for Default calendar",
            "Sets the default sharing level for the default calendar, for all users",
            &[],
            "Get-Mailbox; Get-MailboxFolderPermission -Identity <upn>:\\Calendar -User Default (each mailbox)",
            "Set-MailboxFolderPermission -Identity <upn>:\\Calendar -User Default -AccessRights <level> (each, through $batch)",
        );
        m.modes = Mode::REMEDIATE;
        CalDefault { meta: m }
    }

    fn level(settings: &CalDefaultSettings) -> Result<String, Error> {
        one_of(
            CAL_DEFAULT,
            "permissionLevel",
            settings.permission_level.as_deref(),
            CALENDAR_LEVELS,
        )
    }

    /// The calendar folder of a mailbox.
    pub fn calendar(upn: &str) -> String {
        format!("{upn}:\\Calendar")
    }

    /// The read of one mailbox's `Default` calendar permission.
    pub fn calendar_read(upn: &str) -> Read {
        Read::exchange_with(
            "Get-MailboxFolderPermission",
            json!({"Identity": Self::calendar(upn), "User": "Default"}),
        )
    }

    /// The reads of every mailbox's calendar, from the `Get-Mailbox` answer in `snapshot`
    /// (none when it is not there).
    pub fn calendar_reads(_settings: &Value, snapshot: &Snapshot) -> Vec<Read> {
        snapshot
            .get(&all_mailboxes())
            .ok()
            .and_then(Value::as_array)
            .map(|rows| upns(rows).iter().map(|u| Self::calendar_read(u)).collect())
            .unwrap_or_default()
    }

    /// The calendars whose `Default` permission is not `level` (with what it is), and the
    /// mailboxes whose calendar was not read.
    fn survey(level: &str, snapshot: &Snapshot) -> Result<(Vec<Value>, Vec<String>), Error> {
        Ok(Self::survey_of(
            level,
            &upns(rows(snapshot, &all_mailboxes())?),
            snapshot,
        ))
    }

    /// [`CalDefault::survey`] of the mailboxes `upns`.
    fn survey_of(level: &str, upns: &[String], snapshot: &Snapshot) -> (Vec<Value>, Vec<String>) {
        let mut wrong = Vec::new();
        let mut unchecked = Vec::new();
        for upn in upns {
            let upn = upn.clone();
            let Ok(perms) = snapshot.get(&Self::calendar_read(&upn)) else {
                unchecked.push(upn);
                continue;
            };
            let rights: Vec<String> = perms
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| text(p, "User").eq_ignore_ascii_case("Default"))
                .flat_map(|p| super::texts(&p["AccessRights"]))
                .collect();
            let current = rights.join(",");
            if !current.eq_ignore_ascii_case(level) {
                wrong.push(json!({"Identity": Self::calendar(&upn), "AccessRights": current}));
            }
        }
        (wrong, unchecked)
    }
}

#[async_trait]
impl Standard for CalDefault {
    fn meta(&self) -> &StandardMeta {
        &self.meta
    }

    fn validate(&self, settings: &Value) -> Result<(), Error> {
        let s: CalDefaultSettings = typed(&self.meta, settings)?;
        Self::level(&s).map(drop)
    }

    fn reads(&self, _: &Value) -> Vec<Read> {
        vec![all_mailboxes()]
    }

    fn follow_up_reads(&self, settings: &Value, snapshot: &Snapshot) -> Vec<Read> {
        Self::calendar_reads(settings, snapshot)
    }

    fn check(&self, settings: &Value, snapshot: &Snapshot) -> Result<Check, Error> {
        let s: CalDefaultSettings = typed(&self.meta, settings)?;
        let (wrong, unchecked) = Self::survey(&Self::level(&s)?, snapshot)?;
        Ok(Check::evaluated(
            json!({"NonCompliantCalendars": wrong, "UncheckedMailboxes": unchecked}),
            json!({"NonCompliantCalendars": [], "UncheckedMailboxes": []}),
        ))
    }

    async fn remediate(
        &self,
        settings: &Value,
        snapshot: &Snapshot,
        target: &TenantTarget,
    ) -> Result<(), Error> {
        let s: CalDefaultSettings = typed(&self.meta, settings)?;
        let level = Self::level(&s)?;
        let (wrong, unchecked) = Self::survey(&level, snapshot)?;
        let mut to_set: Vec<String> = wrong
            .iter()
            .map(|w| text(w, "Identity").to_owned())
            .collect();
        // Calendars not read yet are read now; only those that differ are changed.
        let mut unreadable = None;
        if !unchecked.is_empty() {
            let reads: Vec<Read> = unchecked.iter().map(|u| Self::calendar_read(u)).collect();
            let fresh = crate::standards::read::fetch(target, &reads).await;
            let (more, still) = Self::survey_of(&level, &unchecked, &fresh);
            to_set.extend(more.iter().map(|w| text(w, "Identity").to_owned()));
            unreadable = still
                .first()
                .and_then(|u| fresh.get(&Self::calendar_read(u)).err());
        }
        let sets: Vec<Cmdlet> = to_set
            .iter()
            .map(|id| {
                cmdlet(
                    "Set-MailboxFolderPermission",
                    json!({"Identity": id, "User": "Default", "AccessRights": level}),
                )
            })
            .collect();
        send_groups(target, vec![sets]).await?;
        unreadable.map_or(Ok(()), Err)
    }
}

// ---- DisableSharedMailbox

/// `DisableSharedMailbox`: blocks sign-in of the Entra accounts of shared (and scheduling)
/// mailboxes that are enabled and cloud-only.
pub struct DisableSharedMailbox {
    meta: StandardMeta,
}

impl Default for DisableSharedMailbox {
    fn default() -> Self {
        DisableSharedMailbox::new()
    }
}

fn shared_mailboxes() -> Read {
    Read::exchange_with(
        "Get-Mailbox",
        json!({"RecipientTypeDetails": ["SharedMailbox", "SchedulingMailbox"], "ResultSize": "Unlimited"}),
    )
}

fn enabled_users() -> Read {
    Read::GraphList(GraphListing::EnabledUsers)
}

impl DisableSharedMailbox {
    /// The standard.
    pub fn new() -> Self {
        let mut m = meta(
            "DisableSharedMailbox",
            Impact::Medium,
            "Disable Shared Mailbox Entra accounts",
            "Blocks login for all accounts that are marked as a shared mailbox. This is Microsoft best practice to prevent direct logons to shared mailboxes.",
            &["CIS M365 5.0 (1.2.2)", "CISA (MS.AAD.10.1v1)", "NIST CSF 2.0 (PR.AA-01)"],
            "Get-Mailbox -RecipientTypeDetails SharedMailbox,SchedulingMailbox; GET users?$filter=accountEnabled eq true",
            "PATCH users/{id} {accountEnabled: false} (each, through Graph $batch)",
        );
        m.capabilities = &[];
        DisableSharedMailbox { meta: m }
    }

    /// The enabled cloud-only accounts of shared mailboxes: (UPN, Graph id), sorted.
    fn offending(snapshot: &Snapshot) -> Result<Vec<(String, String)>, Error> {
        let users = rows(snapshot, &enabled_users())?;
        let mut out: Vec<(String, String)> = rows(snapshot, &shared_mailboxes())?
            .iter()
            .filter_map(|m| {
                let upn = text(m, "UserPrincipalName");
                users
                    .iter()
                    .find(|u| {
                        text(u, "userPrincipalName").eq_ignore_ascii_case(upn)
                            && u["accountEnabled"] != json!(false)
                            && u["onPremisesSyncEnabled"] != json!(true)
                    })
                    .map(|u| (upn.to_owned(), text(u, "id").to_owned()))
            })
            .collect();
        out.sort_by_key(|(u, _)| u.to_ascii_lowercase());
        out.dedup_by(|a, b| a.0.eq_ignore_ascii_case(&b.0));
        Ok(out)
    }
}

#[async_trait]
impl Standard for DisableSharedMailbox {
    fn meta(&self) -> &StandardMeta {
        &self.meta
    }

    fn validate(&self, settings: &Value) -> Result<(), Error> {
        typed::<NoSettings>(&self.meta, settings).map(drop)
    }

    fn reads(&self, _: &Value) -> Vec<Read> {
        vec![shared_mailboxes(), enabled_users()]
    }

    fn check(&self, _: &Value, snapshot: &Snapshot) -> Result<Check, Error> {
        let upns: Vec<String> = Self::offending(snapshot)?
            .into_iter()
            .map(|(u, _)| u)
            .collect();
        Ok(Check::evaluated(
            json!({"DisableSharedMailbox": upns}),
            json!({"DisableSharedMailbox": []}),
        ))
    }

    async fn remediate(
        &self,
        _: &Value,
        snapshot: &Snapshot,
        target: &TenantTarget,
    ) -> Result<(), Error> {
        let tenant = target.graph.id().clone();
        let mut ops = Vec::new();
        for (_, id) in Self::offending(snapshot)? {
            ops.push(cipp_graph::users::set_sign_in_enabled(
                &tenant,
                &UserRef::parse(&id)?,
                false,
            )?);
        }
        if ops.is_empty() {
            return Ok(());
        }
        let answers = cipp_graph::batch::run(
            target.graph.pipeline(),
            &tenant,
            ops,
            &BatchOptions::default(),
        )
        .await?;
        answers
            .into_iter()
            .find_map(Result::err)
            .map_or(Ok(()), Err)
    }
}

// ---- DisableExchangeOnlinePowerShell

fn all_users() -> Read {
    Read::exchange_with("Get-User", json!({"ResultSize": "Unlimited"}))
}

/// `DisableExchangeOnlinePowerShell`: turns Exchange Online PowerShell off
/// (`RemotePowerShellEnabled`) for every user who holds no directory role.
///
/// As CIPP does, the holders of directory roles are read from the role assignments with
/// their principals (`roleManagement/directory/roleAssignments?$expand=principal`, one
/// listing for the tenant); a role held by a role-assignable group counts for its members,
/// read as follow-up reads. Administrators are left out of the check and never changed.
pub struct DisableExchangeOnlinePowerShell {
    meta: StandardMeta,
}

impl Default for DisableExchangeOnlinePowerShell {
    fn default() -> Self {
        DisableExchangeOnlinePowerShell::new()
    }
}

fn role_assignments() -> Read {
    Read::GraphList(GraphListing::RoleAssignments)
}

/// Whether a role assignment's principal is a group.
fn group_principal(assignment: &Value) -> Option<&str> {
    let principal = &assignment["principal"];
    principal["@odata.type"]
        .as_str()
        .is_some_and(|t| t.eq_ignore_ascii_case("#microsoft.graph.group"))
        .then(|| text(assignment, "principalId"))
        .filter(|id| !id.is_empty())
}

/// Who holds a directory role: object ids and UPNs (lower case).
#[derive(Debug, Default)]
struct Admins {
    ids: Vec<String>,
    upns: Vec<String>,
}

impl Admins {
    fn add(&mut self, id: &str, upn: &str) {
        if !id.is_empty() {
            self.ids.push(id.to_ascii_lowercase());
        }
        if !upn.is_empty() {
            self.upns.push(upn.to_ascii_lowercase());
        }
    }

    /// Whether the `Get-User` row is one of them.
    fn holds(&self, user: &Value) -> bool {
        let id = text(user, "ExternalDirectoryObjectId").to_ascii_lowercase();
        let upn = text(user, "UserPrincipalName").to_ascii_lowercase();
        (!id.is_empty() && self.ids.contains(&id)) || (!upn.is_empty() && self.upns.contains(&upn))
    }
}

impl DisableExchangeOnlinePowerShell {
    /// The standard.
    pub fn new() -> Self {
        DisableExchangeOnlinePowerShell {
            meta: meta(
                "DisableExchangeOnlinePowerShell",
                Impact::Medium,
                "Disable Exchange Online PowerShell for non-admin users",
                "Disables Exchange Online PowerShell access for non-admin users by setting the RemotePowerShellEnabled property to false for each user. This helps prevent attackers from using PowerShell to run malicious commands, access file systems, registry, and distribute ransomware throughout networks. Users with admin roles are automatically excluded.",
                &["CIS M365 5.0 (6.1.1)", "Security", "NIST CSF 2.0 (PR.AA-05)"],
                "Get-User -ResultSize Unlimited (RemotePowerShellEnabled); GET roleManagement/directory/roleAssignments?$expand=principal (admins); GET groups/{id}/members (each role-assignable group holding a role)",
                "Set-User -Identity <guid> -RemotePowerShellEnabled $false (each non-admin, through $batch)",
            ),
        }
    }

    /// The holders of directory roles, from the role assignments and the members of the
    /// groups among them.
    fn admins(snapshot: &Snapshot) -> Result<Admins, Error> {
        let mut admins = Admins::default();
        for a in rows(snapshot, &role_assignments())? {
            if let Some(group) = group_principal(a) {
                let members = rows(
                    snapshot,
                    &Read::GraphList(GraphListing::GroupMembers(group.to_owned())),
                )?;
                for m in members {
                    admins.add(text(m, "id"), text(m, "userPrincipalName"));
                }
            } else {
                admins.add(
                    text(a, "principalId"),
                    text(&a["principal"], "userPrincipalName"),
                );
            }
        }
        Ok(admins)
    }

    /// Users without a directory role with PowerShell enabled: (UPN, Exchange GUID),
    /// sorted.
    fn offending(snapshot: &Snapshot) -> Result<Vec<(String, String)>, Error> {
        let admins = Self::admins(snapshot)?;
        let mut out: Vec<(String, String)> = rows(snapshot, &all_users())?
            .iter()
            .filter(|u| u["RemotePowerShellEnabled"] == json!(true) && !admins.holds(u))
            .map(|u| {
                (
                    text(u, "UserPrincipalName").to_owned(),
                    text(u, "Guid").to_owned(),
                )
            })
            .collect();
        out.sort_by_key(|(u, _)| u.to_ascii_lowercase());
        Ok(out)
    }
}

#[async_trait]
impl Standard for DisableExchangeOnlinePowerShell {
    fn meta(&self) -> &StandardMeta {
        &self.meta
    }

    fn validate(&self, settings: &Value) -> Result<(), Error> {
        typed::<NoSettings>(&self.meta, settings).map(drop)
    }

    fn reads(&self, _: &Value) -> Vec<Read> {
        vec![all_users(), role_assignments()]
    }

    fn follow_up_reads(&self, _: &Value, snapshot: &Snapshot) -> Vec<Read> {
        let Ok(assignments) = rows(snapshot, &role_assignments()) else {
            return Vec::new();
        };
        let mut groups: Vec<String> = assignments
            .iter()
            .filter_map(group_principal)
            .map(str::to_owned)
            .collect();
        groups.sort();
        groups.dedup();
        groups
            .into_iter()
            .map(|g| Read::GraphList(GraphListing::GroupMembers(g)))
            .collect()
    }

    fn check(&self, _: &Value, snapshot: &Snapshot) -> Result<Check, Error> {
        let upns: Vec<String> = Self::offending(snapshot)?
            .into_iter()
            .map(|(u, _)| u)
            .collect();
        Ok(Check::evaluated(
            json!({"UsersWithPowerShellEnabled": upns}),
            json!({"UsersWithPowerShellEnabled": []}),
        ))
    }

    async fn remediate(
        &self,
        _: &Value,
        snapshot: &Snapshot,
        target: &TenantTarget,
    ) -> Result<(), Error> {
        let sets: Vec<Cmdlet> = Self::offending(snapshot)?
            .iter()
            .map(|(upn, guid)| {
                let id = if guid.is_empty() { upn } else { guid };
                cmdlet(
                    "Set-User",
                    json!({"Identity": id, "RemotePowerShellEnabled": false}),
                )
            })
            .collect();
        send_groups(target, vec![sets]).await
    }
}

// ---- DelegateSentItems

/// Settings of `DelegateSentItems`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct DelegateSentItemsSettings {
    /// Include user mailboxes, not only shared ones (default true, as CIPP reads settings
    /// saved before 7.0.5).
    #[serde(
        rename = "IncludeUserMailboxes",
        default,
        deserialize_with = "de::opt_bool"
    )]
    pub include_user_mailboxes: Option<bool>,
}

fn without_sent_copies(
    s: &DelegateSentItemsSettings,
    snap: &Snapshot,
) -> Result<Vec<String>, Error> {
    let types: &[&str] = if s.include_user_mailboxes.unwrap_or(true) {
        &["UserMailbox", "SharedMailbox"]
    } else {
        &["SharedMailbox"]
    };
    Ok(upns(rows(snap, &all_mailboxes())?.iter().filter(|m| {
        types
            .iter()
            .any(|t| text(m, "RecipientTypeDetails").eq_ignore_ascii_case(t))
            && (m["MessageCopyForSendOnBehalfEnabled"] == json!(false)
                || m["MessageCopyForSentAsEnabled"] == json!(false))
    })))
}

fn delegate_sent_items() -> ExoStandard<DelegateSentItemsSettings> {
    ExoStandard::<DelegateSentItemsSettings>::new(
        meta(
            "DelegateSentItems",
            Impact::Medium,
            "Set mailbox Sent Items delegation (Sent items for shared mailboxes)",
            "Sets emails sent as and on behalf of shared mailboxes to also be stored in the shared mailbox sent items folder",
            &[],
            "Get-Mailbox -ResultSize Unlimited (MessageCopyForSentAsEnabled, MessageCopyForSendOnBehalfEnabled)",
            "Set-Mailbox -Identity <upn> -MessageCopyForSendOnBehalfEnabled $true -MessageCopyForSentAsEnabled $true (each, through $batch)",
        ),
        |_| vec![all_mailboxes()],
        |s, snap| {
            Ok(Check::evaluated(
                json!({"NonCompliantMailboxes": without_sent_copies(s, snap)?}),
                json!({"NonCompliantMailboxes": []}),
            ))
        },
        |s, snap| {
            Ok(vec![without_sent_copies(s, snap)?
                .iter()
                .map(|u| {
                    cmdlet(
                        "Set-Mailbox",
                        json!({"Identity": u, "MessageCopyForSendOnBehalfEnabled": true,
                               "MessageCopyForSentAsEnabled": true}),
                    )
                })
                .collect()])
        },
    )
}

// ---- DisableBasicAuthSMTP

fn transport() -> Read {
    Read::exchange("Get-TransportConfig")
}

fn cas_mailboxes() -> Read {
    Read::exchange_with("Get-CASMailbox", json!({"ResultSize": "Unlimited"}))
}

/// Mailboxes with SMTP AUTH explicitly enabled: (address, GUID), sorted.
fn smtp_users(snap: &Snapshot) -> Result<Vec<(String, String)>, Error> {
    let mut out: Vec<(String, String)> = rows(snap, &cas_mailboxes())?
        .iter()
        .filter(|c| c["SmtpClientAuthenticationDisabled"] == json!(false))
        .map(|c| {
            (
                text(c, "PrimarySmtpAddress").to_owned(),
                text(c, "Guid").to_owned(),
            )
        })
        .collect();
    out.sort_by_key(|(a, _)| a.to_ascii_lowercase());
    Ok(out)
}

fn disable_basic_auth_smtp() -> ExoStandard<NoSettings> {
    let mut m = meta(
        "DisableBasicAuthSMTP",
        Impact::Medium,
        "Disable SMTP Basic Authentication",
        "Disables SMTP AUTH organization-wide, impacting POP and IMAP clients that rely on SMTP for sending emails. Default for new tenants. For more information, see the [Microsoft documentation](https://learn.microsoft.com/en-us/exchange/clients-and-mobile-in-exchange-online/authenticated-client-smtp-submission)",
        &["CIS M365 5.0 (6.5.4)", "NIST CSF 2.0 (PR.IR-01)", "ZTNA21799", "CISAMSEXO51"],
        "Get-TransportConfig (SmtpClientAuthenticationDisabled); Get-CASMailbox -ResultSize Unlimited",
        "Set-TransportConfig -SmtpClientAuthenticationDisabled $true; Set-CASMailbox -Identity <guid> -SmtpClientAuthenticationDisabled $null (each user with it enabled, through $batch)",
    );
    m.category = Category::Global;
    ExoStandard::<NoSettings>::new(
        m,
        |_| vec![transport(), cas_mailboxes()],
        |_, snap| {
            let disabled =
                snap.first_row(&transport())?["SmtpClientAuthenticationDisabled"] == json!(true);
            let users: Vec<String> = smtp_users(snap)?.into_iter().map(|(a, _)| a).collect();
            Ok(Check::evaluated(
                json!({"SmtpClientAuthenticationDisabled": disabled, "UsersWithSmtpAuthEnabled": users}),
                json!({"SmtpClientAuthenticationDisabled": true, "UsersWithSmtpAuthEnabled": []}),
            ))
        },
        |_, snap| {
            let mut plan = Vec::new();
            if snap.first_row(&transport())?["SmtpClientAuthenticationDisabled"] != json!(true) {
                plan.push(vec![cmdlet(
                    "Set-TransportConfig",
                    json!({"SmtpClientAuthenticationDisabled": true}),
                )]);
            }
            plan.push(
                smtp_users(snap)?
                    .iter()
                    .map(|(address, guid)| {
                        let id = if guid.is_empty() { address } else { guid };
                        cmdlet(
                            "Set-CASMailbox",
                            json!({"Identity": id, "SmtpClientAuthenticationDisabled": null}),
                        )
                    })
                    .collect(),
            );
            Ok(plan)
        },
    )
}

// ---- EnableLitigationHold

/// The mailbox capabilities (`PersistedCapabilities`) that allow litigation hold: Exchange
/// Online Plan 2, the archiving and DLP add-ons. CIPP holds only these mailboxes.
pub const LITIGATION_HOLD_CAPABILITIES: &[&str] = &[
    "EXCHANGE_S_ARCHIVE_ADDON",
    "EXCHANGE_S_ENTERPRISE",
    "BPOS_S_DlpAddOn",
    "BPOS_S_Enterprise",
];

/// The longest hold `EnableLitigationHold` accepts, in days (100 years).
pub const MAX_LITIGATION_HOLD_DAYS: i64 = 36_500;

/// Settings of `EnableLitigationHold`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct EnableLitigationHoldSettings {
    /// Days items stay on hold (`LitigationHoldDuration`, 1 to
    /// [`MAX_LITIGATION_HOLD_DAYS`]); absent: unlimited. Applies to the mailboxes the
    /// standard puts on hold; mailboxes already on hold are left as they are.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub days: Option<i64>,
}

fn without_litigation_hold() -> Read {
    Read::exchange_with(
        "Get-Mailbox",
        json!({"Filter": "LitigationHoldEnabled -eq \"False\"", "ResultSize": "Unlimited"}),
    )
}

/// Mailboxes not on hold whose licence allows it, by UPN (sorted).
fn holdable_without_hold(snap: &Snapshot) -> Result<Vec<String>, Error> {
    Ok(upns(
        rows(snap, &without_litigation_hold())?
            .iter()
            .filter(|m| m["LitigationHoldEnabled"] != json!(true))
            .filter(|m| {
                super::texts(&m["PersistedCapabilities"]).iter().any(|c| {
                    LITIGATION_HOLD_CAPABILITIES
                        .iter()
                        .any(|h| h.eq_ignore_ascii_case(c))
                })
            }),
    ))
}

fn enable_litigation_hold() -> ExoStandard<EnableLitigationHoldSettings> {
    ExoStandard::<EnableLitigationHoldSettings>::new(
        meta(
            "EnableLitigationHold",
            Impact::Low,
            "Enable Litigation Hold for all users",
            "Enables litigation hold for all UserMailboxes with a valid license.",
            &[],
            "Get-Mailbox -Filter 'LitigationHoldEnabled -eq \"False\"' -ResultSize Unlimited (PersistedCapabilities: Exchange Online Plan 2 or the archiving/DLP add-on)",
            "Set-Mailbox -Identity <upn> -LitigationHoldEnabled $true [-LitigationHoldDuration <days>] (each, through $batch)",
        ),
        |_| vec![without_litigation_hold()],
        |_, snap| {
            Ok(Check::evaluated(
                json!({"EnableLitigationHold": holdable_without_hold(snap)?}),
                json!({"EnableLitigationHold": []}),
            ))
        },
        |s, snap| {
            Ok(vec![holdable_without_hold(snap)?
                .iter()
                .map(|u| {
                    let mut params = json!({"Identity": u, "LitigationHoldEnabled": true});
                    if let Some(days) = s.days {
                        params["LitigationHoldDuration"] = json!(days);
                    }
                    cmdlet("Set-Mailbox", params)
                })
                .collect()])
        },
    )
    .validated(|s| match s.days {
        Some(d) if !(1..=MAX_LITIGATION_HOLD_DAYS).contains(&d) => Err(super::super::entra::invalid(
            "EnableLitigationHold",
            "days",
            format!(
                "{d} is not a number of days from 1 to {MAX_LITIGATION_HOLD_DAYS}; leave it empty for an unlimited hold"
            ),
        )),
        _ => Ok(()),
    })
}
