//! Typed cmdlets as values: each function validates its input and returns a [`Cmdlet`].

use chrono::{DateTime, SecondsFormat, Utc};
use cipp_core::Error;
use serde_json::{json, Value};

use crate::cmdlet::{hashtable, validate_smtp, Anchor, Cmdlet};

pub use crate::distribution_groups::{
    new_distribution_group, new_dynamic_distribution_group, DistributionGroupType,
    NewDistributionGroup, NewDynamicDistributionGroup,
};

fn mailbox_cmdlet(name: &str, identity: &str) -> Result<Cmdlet, Error> {
    if identity.trim().is_empty() {
        return Err(Error::invalid_input("identity", "empty mailbox identity"));
    }
    let anchor = if identity.contains('@') {
        Anchor::Mailbox(identity.to_owned())
    } else {
        Anchor::System
    };
    Ok(Cmdlet::new(name).param("Identity", identity).anchor(anchor))
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `Get-Mailbox -Identity`.
pub fn get_mailbox(identity: &str) -> Result<Cmdlet<crate::model::Mailbox>, Error> {
    fn build(identity: &str) -> Result<Cmdlet, Error> {
        mailbox_cmdlet("Get-Mailbox", identity)
    }
    build(identity).map(Cmdlet::output)
}

/// `Get-Mailbox -ResultSize Unlimited` (optionally with an OPATH filter).
pub fn list_mailboxes(filter: Option<&str>) -> Cmdlet<crate::model::Mailbox> {
    fn build(filter: Option<&str>) -> Cmdlet {
        let c = Cmdlet::new("Get-Mailbox").param("ResultSize", "Unlimited");
        match filter {
            Some(f) => c.param("Filter", f),
            None => c,
        }
    }
    build(filter).output()
}

/// `Set-Mailbox -EmailAddresses <full list>`.
pub fn set_email_addresses(identity: &str, addresses: &[String]) -> Result<Cmdlet, Error> {
    if !addresses.iter().any(|a| a.starts_with("SMTP:")) {
        return Err(Error::invalid_input(
            "EmailAddresses",
            "the list needs exactly one SMTP: primary address",
        ));
    }
    Ok(mailbox_cmdlet("Set-Mailbox", identity)?.param("EmailAddresses", json!(addresses)))
}

/// Where mail is forwarded.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Forwarding {
    /// To a recipient in the organisation (`ForwardingAddress`).
    Internal {
        /// The recipient (UPN or address).
        recipient: String,
        /// Keep a copy in the mailbox.
        keep_copy: bool,
    },
    /// To any SMTP address (`ForwardingSMTPAddress`).
    External {
        /// The address.
        address: String,
        /// Keep a copy in the mailbox.
        keep_copy: bool,
    },
    /// No forwarding.
    Disabled,
}

/// `Set-Mailbox` forwarding parameters.
pub fn set_forwarding(identity: &str, forwarding: &Forwarding) -> Result<Cmdlet, Error> {
    let c = mailbox_cmdlet("Set-Mailbox", identity)?;
    Ok(match forwarding {
        Forwarding::Internal {
            recipient,
            keep_copy,
        } => {
            if recipient.trim().is_empty() {
                return Err(Error::invalid_input("ForwardingAddress", "empty recipient"));
            }
            c.param("ForwardingAddress", recipient.as_str())
                .param("ForwardingSMTPAddress", Value::Null)
                .param("DeliverToMailboxAndForward", *keep_copy)
        }
        Forwarding::External { address, keep_copy } => {
            validate_smtp("ForwardingSMTPAddress", address)?;
            c.param("ForwardingSMTPAddress", format!("smtp:{address}"))
                .param("ForwardingAddress", Value::Null)
                .param("DeliverToMailboxAndForward", *keep_copy)
        }
        Forwarding::Disabled => c
            .param("ForwardingSMTPAddress", Value::Null)
            .param("ForwardingAddress", Value::Null)
            .param("DeliverToMailboxAndForward", false),
    })
}

/// `Set-Mailbox -HiddenFromAddressListsEnabled`.
pub fn set_hidden_from_address_lists(identity: &str, hidden: bool) -> Result<Cmdlet, Error> {
    Ok(mailbox_cmdlet("Set-Mailbox", identity)?.param("HiddenFromAddressListsEnabled", hidden))
}

/// A mailbox type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MailboxType {
    /// A user mailbox.
    Regular,
    /// A shared mailbox.
    Shared,
    /// A room.
    Room,
    /// Equipment.
    Equipment,
}

impl MailboxType {
    /// The `-Type` value.
    pub fn as_str(self) -> &'static str {
        match self {
            MailboxType::Regular => "Regular",
            MailboxType::Shared => "Shared",
            MailboxType::Room => "Room",
            MailboxType::Equipment => "Equipment",
        }
    }
}

/// `Set-Mailbox -Type`.
pub fn convert_mailbox(identity: &str, to: MailboxType) -> Result<Cmdlet, Error> {
    Ok(mailbox_cmdlet("Set-Mailbox", identity)?.param("Type", to.as_str()))
}

/// `Get-MailboxStatistics` (for the size check before converting to shared).
pub fn mailbox_statistics(identity: &str) -> Result<Cmdlet, Error> {
    mailbox_cmdlet("Get-MailboxStatistics", identity)
}

/// `Enable-Mailbox -Archive` (or `-AutoExpandingArchive`).
pub fn enable_archive(identity: &str, auto_expanding: bool) -> Result<Cmdlet, Error> {
    let c = mailbox_cmdlet("Enable-Mailbox", identity)?;
    Ok(if auto_expanding {
        c.param("AutoExpandingArchive", true)
    } else {
        c.param("Archive", true)
    })
}

/// `Get-InboxRule -Mailbox -IncludeHidden`.
pub fn get_inbox_rules(mailbox: &str) -> Result<Cmdlet<crate::model::InboxRule>, Error> {
    fn build(mailbox: &str) -> Result<Cmdlet, Error> {
        validate_smtp("Mailbox", mailbox)?;
        Ok(Cmdlet::new("Get-InboxRule")
            .param("Mailbox", mailbox)
            .param("IncludeHidden", true)
            .anchor(Anchor::Mailbox(mailbox.to_owned())))
    }
    build(mailbox).map(Cmdlet::output)
}

/// `Disable-InboxRule -Identity -Confirm:$false`.
pub fn disable_inbox_rule(mailbox: &str, rule_identity: &str) -> Result<Cmdlet, Error> {
    validate_smtp("Mailbox", mailbox)?;
    if rule_identity.is_empty() {
        return Err(Error::invalid_input("Identity", "empty rule identity"));
    }
    Ok(Cmdlet::new("Disable-InboxRule")
        .param("Identity", rule_identity)
        .param("Confirm", false)
        .anchor(Anchor::Mailbox(mailbox.to_owned())))
}

/// `Remove-InboxRule -Identity -Confirm:$false`.
pub fn remove_inbox_rule(mailbox: &str, rule_identity: &str) -> Result<Cmdlet, Error> {
    let mut c = disable_inbox_rule(mailbox, rule_identity)?;
    c.name = "Remove-InboxRule".into();
    Ok(c)
}

/// `Get-MailboxAutoReplyConfiguration`.
pub fn get_auto_reply(
    identity: &str,
) -> Result<Cmdlet<crate::model::AutoReplyConfiguration>, Error> {
    fn build(identity: &str) -> Result<Cmdlet, Error> {
        mailbox_cmdlet("Get-MailboxAutoReplyConfiguration", identity)
    }
    build(identity).map(Cmdlet::output)
}

/// The automatic-reply state to set.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AutoReply {
    /// On until switched off.
    Enabled,
    /// Off.
    Disabled,
    /// On between two times (`None` → now until now + 7 days).
    Scheduled {
        /// Start.
        start: Option<DateTime<Utc>>,
        /// End.
        end: Option<DateTime<Utc>>,
    },
}

/// `Set-MailboxAutoReplyConfiguration`. The external audience is `All` when an external
/// message is given, `None` otherwise (as CIPP does).
pub fn set_auto_reply(
    identity: &str,
    state: &AutoReply,
    internal_message: Option<&str>,
    external_message: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Cmdlet, Error> {
    let mut c = mailbox_cmdlet("Set-MailboxAutoReplyConfiguration", identity)?;
    c = match state {
        AutoReply::Enabled => c.param("AutoReplyState", "Enabled"),
        AutoReply::Disabled => c.param("AutoReplyState", "Disabled"),
        AutoReply::Scheduled { start, end } => {
            let s = start.unwrap_or(now);
            let e = match end {
                Some(e) => *e,
                None => s
                    .checked_add_signed(chrono::Duration::days(7))
                    .ok_or_else(|| {
                        Error::invalid_input("StartTime", "the start is too far in the future")
                    })?,
            };
            if e <= s {
                return Err(Error::invalid_input(
                    "EndTime",
                    "the end is not after the start",
                ));
            }
            c.param("AutoReplyState", "Scheduled")
                .param("StartTime", time(s))
                .param("EndTime", time(e))
        }
    };
    if let Some(m) = internal_message {
        c = c.param("InternalMessage", m);
    }
    if let Some(m) = external_message {
        c = c
            .param("ExternalMessage", m)
            .param("ExternalAudience", "All");
    } else if !matches!(state, AutoReply::Disabled) {
        c = c.param("ExternalAudience", "None");
    }
    Ok(c)
}

/// `Get-MailboxPermission`.
pub fn get_mailbox_permissions(
    identity: &str,
) -> Result<Cmdlet<crate::model::MailboxPermission>, Error> {
    fn build(identity: &str) -> Result<Cmdlet, Error> {
        mailbox_cmdlet("Get-MailboxPermission", identity)
    }
    build(identity).map(Cmdlet::output)
}

/// `Add-MailboxPermission -AccessRights FullAccess -AutoMapping -InheritanceType All`.
pub fn add_full_access(identity: &str, user: &str, auto_mapping: bool) -> Result<Cmdlet, Error> {
    validate_smtp("User", user)?;
    Ok(mailbox_cmdlet("Add-MailboxPermission", identity)?
        .param("User", user)
        .param("AccessRights", json!(["FullAccess"]))
        .param("AutoMapping", auto_mapping)
        .param("InheritanceType", "All"))
}

/// `Remove-MailboxPermission -AccessRights FullAccess`.
pub fn remove_full_access(identity: &str, user: &str) -> Result<Cmdlet, Error> {
    validate_smtp("User", user)?;
    Ok(mailbox_cmdlet("Remove-MailboxPermission", identity)?
        .param("User", user)
        .param("AccessRights", json!(["FullAccess"]))
        .param("InheritanceType", "All")
        .param("Confirm", false))
}

/// `Get-RecipientPermission`.
pub fn get_recipient_permissions(
    identity: &str,
) -> Result<Cmdlet<crate::model::RecipientPermission>, Error> {
    fn build(identity: &str) -> Result<Cmdlet, Error> {
        mailbox_cmdlet("Get-RecipientPermission", identity)
    }
    build(identity).map(Cmdlet::output)
}

/// `Add-RecipientPermission -AccessRights SendAs`.
pub fn add_send_as(identity: &str, trustee: &str) -> Result<Cmdlet, Error> {
    validate_smtp("Trustee", trustee)?;
    Ok(mailbox_cmdlet("Add-RecipientPermission", identity)?
        .param("Trustee", trustee)
        .param("AccessRights", json!(["SendAs"]))
        .param("Confirm", false))
}

/// `Remove-RecipientPermission -AccessRights SendAs`.
pub fn remove_send_as(identity: &str, trustee: &str) -> Result<Cmdlet, Error> {
    let mut c = add_send_as(identity, trustee)?;
    c.name = "Remove-RecipientPermission".into();
    Ok(c)
}

/// `Set-Mailbox -GrantSendOnBehalfTo @{add|remove}`.
pub fn send_on_behalf(identity: &str, user: &str, grant: bool) -> Result<Cmdlet, Error> {
    validate_smtp("GrantSendOnBehalfTo", user)?;
    let h = if grant {
        hashtable(&[user], &[])
    } else {
        hashtable(&[], &[user])
    };
    Ok(mailbox_cmdlet("Set-Mailbox", identity)?.param("GrantSendOnBehalfTo", h))
}

/// Calendar access levels.
pub use crate::folder_permissions::CALENDAR_RIGHTS;

/// `Get-MailboxFolderPermission -Identity user:\Calendar`.
pub fn get_calendar_permissions(
    mailbox: &str,
) -> Result<Cmdlet<crate::model::FolderPermission>, Error> {
    crate::folder_permissions::get(mailbox, crate::folder_permissions::MailboxFolder::Calendar)
}

/// `Add-MailboxFolderPermission` (or `Set-` when `replace`) on the calendar (see
/// [`crate::folder_permissions::grant`] for any folder).
pub fn set_calendar_permission(
    mailbox: &str,
    user: &str,
    rights: &str,
    replace: bool,
) -> Result<Cmdlet, Error> {
    use crate::folder_permissions::{grant, FolderGrant, MailboxFolder};
    let how = if replace {
        FolderGrant::Change
    } else {
        FolderGrant::Add
    };
    grant(mailbox, MailboxFolder::Calendar, user, rights, how)
}

/// `Remove-MailboxFolderPermission` on the calendar.
pub fn remove_calendar_permission(mailbox: &str, user: &str) -> Result<Cmdlet, Error> {
    crate::folder_permissions::remove(
        mailbox,
        crate::folder_permissions::MailboxFolder::Calendar,
        user,
    )
}

/// `Add-DistributionGroupMember -BypassSecurityGroupManagerCheck`.
pub fn add_distribution_group_member(group: &str, member: &str) -> Result<Cmdlet, Error> {
    if group.trim().is_empty() || member.trim().is_empty() {
        return Err(Error::invalid_input("group", "empty group or member"));
    }
    Ok(Cmdlet::new("Add-DistributionGroupMember")
        .param("Identity", group)
        .param("Member", member)
        .param("BypassSecurityGroupManagerCheck", true))
}

/// `Remove-DistributionGroupMember -BypassSecurityGroupManagerCheck -Confirm:$false`.
pub fn remove_distribution_group_member(group: &str, member: &str) -> Result<Cmdlet, Error> {
    let mut c = add_distribution_group_member(group, member)?.param("Confirm", false);
    c.name = "Remove-DistributionGroupMember".into();
    Ok(c)
}

/// `Get-DistributionGroupMember`.
pub fn get_distribution_group_members(
    group: &str,
) -> Result<Cmdlet<crate::model::GroupMember>, Error> {
    fn build(group: &str) -> Result<Cmdlet, Error> {
        if group.trim().is_empty() {
            return Err(Error::invalid_input("group", "empty group"));
        }
        Ok(Cmdlet::new("Get-DistributionGroupMember").param("Identity", group))
    }
    build(group).map(Cmdlet::output)
}

/// `Get-MobileDevice -Mailbox`.
pub fn get_mobile_devices(mailbox: &str) -> Result<Cmdlet<crate::model::MobileDevice>, Error> {
    fn build(mailbox: &str) -> Result<Cmdlet, Error> {
        validate_smtp("Mailbox", mailbox)?;
        Ok(Cmdlet::new("Get-MobileDevice")
            .param("Mailbox", mailbox)
            .anchor(Anchor::Mailbox(mailbox.to_owned())))
    }
    build(mailbox).map(Cmdlet::output)
}

/// `Remove-MobileDevice -Identity -Confirm:$false`.
pub fn remove_mobile_device(mailbox: &str, device_identity: &str) -> Result<Cmdlet, Error> {
    validate_smtp("Mailbox", mailbox)?;
    if device_identity.is_empty() {
        return Err(Error::invalid_input("Identity", "empty device identity"));
    }
    Ok(Cmdlet::new("Remove-MobileDevice")
        .param("Identity", device_identity)
        .param("Confirm", false)
        .anchor(Anchor::Mailbox(mailbox.to_owned())))
}

/// `Get-TransportRule` (one, or all).
pub fn get_transport_rules(identity: Option<&str>) -> Cmdlet<crate::model::TransportRule> {
    fn build(identity: Option<&str>) -> Cmdlet {
        let c = Cmdlet::new("Get-TransportRule");
        match identity {
            Some(i) => c.param("Identity", i),
            None => c,
        }
    }
    build(identity).output()
}

/// `New-TransportRule -Name` with its conditions and actions.
pub fn new_transport_rule(
    name: &str,
    params: &serde_json::Map<String, Value>,
) -> Result<Cmdlet, Error> {
    crate::protection::new_object(
        crate::protection::ProtectionKind::TransportRule,
        name,
        params,
    )
    .map(|c| c.untyped())
}

/// `Set-TransportRule -Identity`.
pub fn set_transport_rule(
    identity: &str,
    params: &serde_json::Map<String, Value>,
) -> Result<Cmdlet, Error> {
    crate::protection::set(
        crate::protection::ProtectionKind::TransportRule,
        identity,
        params,
    )
}

/// `Remove-TransportRule -Identity -Confirm:$false`.
pub fn remove_transport_rule(identity: &str) -> Result<Cmdlet, Error> {
    crate::protection::remove(crate::protection::ProtectionKind::TransportRule, identity)
}

/// `Get-AdminAuditLogConfig`.
pub fn get_admin_audit_log_config() -> Cmdlet<crate::model::AdminAuditLogConfig> {
    fn build() -> Cmdlet {
        Cmdlet::new("Get-AdminAuditLogConfig")
    }
    build().output()
}

/// `Set-AdminAuditLogConfig -UnifiedAuditLogIngestionEnabled`.
pub fn set_unified_audit_log(enabled: bool) -> Cmdlet {
    Cmdlet::new("Set-AdminAuditLogConfig").param("UnifiedAuditLogIngestionEnabled", enabled)
}

/// One page of `Search-UnifiedAuditLog` (5,000 records, `ReturnLargeSet` in a session).
pub fn search_unified_audit_log(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    operations: &[&str],
    user_ids: &[&str],
    session_id: &str,
) -> Result<Cmdlet<crate::model::UnifiedAuditRecord>, Error> {
    fn build(
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        operations: &[&str],
        user_ids: &[&str],
        session_id: &str,
    ) -> Result<Cmdlet, Error> {
        if end <= start {
            return Err(Error::invalid_input(
                "EndDate",
                "the end is not after the start",
            ));
        }
        if end - start > chrono::Duration::days(180) {
            return Err(Error::invalid_input(
                "StartDate",
                "the unified audit log keeps at most 180 days",
            ));
        }
        let mut c = Cmdlet::new("Search-UnifiedAuditLog")
            .param("StartDate", time(start))
            .param("EndDate", time(end))
            .param("SessionId", session_id)
            .param("SessionCommand", "ReturnLargeSet")
            .param("ResultSize", 5000);
        if !operations.is_empty() {
            c = c.param("Operations", json!(operations));
        }
        if !user_ids.is_empty() {
            c = c.param("UserIds", json!(user_ids));
        }
        Ok(c)
    }
    build(start, end, operations, user_ids, session_id).map(Cmdlet::output)
}

/// `Get-MessageTraceV2 -SenderAddress` in a window (at most 10 days back per query).
pub fn message_trace(
    sender: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Cmdlet<crate::model::MessageTrace>, Error> {
    fn build(sender: &str, start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Cmdlet, Error> {
        validate_smtp("SenderAddress", sender)?;
        if end <= start {
            return Err(Error::invalid_input(
                "EndDate",
                "the end is not after the start",
            ));
        }
        Ok(Cmdlet::new("Get-MessageTraceV2")
            .param("SenderAddress", sender)
            .param("StartDate", time(start))
            .param("EndDate", time(end)))
    }
    build(sender, start, end).map(Cmdlet::output)
}

/// `Get-HostedOutboundSpamFilterPolicy`.
pub fn get_outbound_spam_policy(identity: &str) -> Cmdlet<crate::model::OutboundSpamPolicy> {
    fn build(identity: &str) -> Cmdlet {
        Cmdlet::new("Get-HostedOutboundSpamFilterPolicy").param("Identity", identity)
    }
    build(identity).output()
}

/// Auto-forwarding control of the outbound spam policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AutoForwardingMode {
    /// System-controlled (blocked by default today).
    Automatic,
    /// Allowed.
    On,
    /// Blocked.
    Off,
}

/// `Set-HostedOutboundSpamFilterPolicy -AutoForwardingMode`.
pub fn set_auto_forwarding_mode(identity: &str, mode: AutoForwardingMode) -> Cmdlet {
    let m = match mode {
        AutoForwardingMode::Automatic => "Automatic",
        AutoForwardingMode::On => "On",
        AutoForwardingMode::Off => "Off",
    };
    Cmdlet::new("Set-HostedOutboundSpamFilterPolicy")
        .param("Identity", identity)
        .param("AutoForwardingMode", m)
}
