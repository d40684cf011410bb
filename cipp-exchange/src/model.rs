//! Exchange objects as the admin API returns them (PascalCase properties; unknown ones kept).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Properties this version does not model, kept as sent.
pub type Extra = Map<String, Value>;

/// A mailbox (`Get-Mailbox`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase")]
pub struct Mailbox {
    /// Identity.
    #[serde(default)]
    pub identity: Option<String>,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// UPN.
    #[serde(default)]
    pub user_principal_name: Option<String>,
    /// Primary SMTP address.
    #[serde(default)]
    pub primary_smtp_address: Option<String>,
    /// All addresses (`SMTP:` primary, `smtp:` secondary, `X500:` …).
    #[serde(default)]
    pub email_addresses: Vec<String>,
    /// `UserMailbox`, `SharedMailbox`, `RoomMailbox`, `EquipmentMailbox`, …
    #[serde(default)]
    pub recipient_type_details: Option<String>,
    /// Internal forwarding recipient.
    #[serde(default)]
    pub forwarding_address: Option<String>,
    /// External forwarding address (`smtp:x@y`).
    #[serde(default, rename = "ForwardingSmtpAddress")]
    pub forwarding_smtp_address: Option<String>,
    /// Whether forwarded mail is also kept.
    #[serde(default)]
    pub deliver_to_mailbox_and_forward: Option<bool>,
    /// Hidden from the address book.
    #[serde(default)]
    pub hidden_from_address_lists_enabled: Option<bool>,
    /// `Active` or `None`.
    #[serde(default)]
    pub archive_status: Option<String>,
    /// Who may send on behalf.
    #[serde(default)]
    pub grant_send_on_behalf_to: Vec<String>,
    /// Everything else.
    #[serde(flatten, skip_deserializing)]
    pub extra: Extra,
}
cipp_core::keep_unknown_fields!(Mailbox, extra);

/// An inbox rule (`Get-InboxRule`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase")]
pub struct InboxRule {
    /// Identity (`mailbox\\ruleId`).
    #[serde(default)]
    pub identity: Option<String>,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Enabled.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Order.
    #[serde(default)]
    pub priority: Option<i64>,
    /// Forwards to.
    #[serde(default)]
    pub forward_to: Option<Vec<String>>,
    /// Forwards as attachment to.
    #[serde(default)]
    pub forward_as_attachment_to: Option<Vec<String>>,
    /// Redirects to.
    #[serde(default)]
    pub redirect_to: Option<Vec<String>>,
    /// Moves to this folder.
    #[serde(default)]
    pub move_to_folder: Option<String>,
    /// Deletes the message.
    #[serde(default)]
    pub delete_message: Option<bool>,
    /// Marks it read.
    #[serde(default)]
    pub mark_as_read: Option<bool>,
    /// Human description of the rule.
    #[serde(default)]
    pub description: Option<String>,
    /// Everything else.
    #[serde(flatten, skip_deserializing)]
    pub extra: Extra,
}
cipp_core::keep_unknown_fields!(InboxRule, extra);

impl InboxRule {
    /// Whether this is a system rule cipp-rs leaves alone ('Junk E-Mail Rule',
    /// `Microsoft.Exchange.OOF.*`).
    pub fn is_system(&self) -> bool {
        self.name
            .as_deref()
            .is_some_and(|n| n == "Junk E-Mail Rule" || n.starts_with("Microsoft.Exchange.OOF."))
    }
}

/// Automatic replies (`Get-MailboxAutoReplyConfiguration`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase")]
pub struct AutoReplyConfiguration {
    /// `Enabled`, `Disabled` or `Scheduled`.
    #[serde(default)]
    pub auto_reply_state: Option<String>,
    /// Internal message.
    #[serde(default)]
    pub internal_message: Option<String>,
    /// External message.
    #[serde(default)]
    pub external_message: Option<String>,
    /// `None`, `Known` or `All`.
    #[serde(default)]
    pub external_audience: Option<String>,
    /// Start (scheduled).
    #[serde(default)]
    pub start_time: Option<String>,
    /// End (scheduled).
    #[serde(default)]
    pub end_time: Option<String>,
    /// Everything else.
    #[serde(flatten, skip_deserializing)]
    pub extra: Extra,
}
cipp_core::keep_unknown_fields!(AutoReplyConfiguration, extra);

/// A mailbox permission (`Get-MailboxPermission`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase")]
pub struct MailboxPermission {
    /// The mailbox.
    #[serde(default)]
    pub identity: Option<String>,
    /// Who holds it.
    #[serde(default)]
    pub user: Option<String>,
    /// Rights (`FullAccess`, …).
    #[serde(default)]
    pub access_rights: Vec<String>,
    /// Inherited.
    #[serde(default)]
    pub is_inherited: Option<bool>,
    /// Deny entry.
    #[serde(default)]
    pub deny: Option<bool>,
    /// Everything else.
    #[serde(flatten, skip_deserializing)]
    pub extra: Extra,
}
cipp_core::keep_unknown_fields!(MailboxPermission, extra);

/// A recipient permission (`Get-RecipientPermission`, SendAs).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase")]
pub struct RecipientPermission {
    /// The mailbox.
    #[serde(default)]
    pub identity: Option<String>,
    /// Who holds it.
    #[serde(default)]
    pub trustee: Option<String>,
    /// Rights (`SendAs`).
    #[serde(default)]
    pub access_rights: Vec<String>,
    /// Everything else.
    #[serde(flatten, skip_deserializing)]
    pub extra: Extra,
}
cipp_core::keep_unknown_fields!(RecipientPermission, extra);

/// A folder permission (`Get-MailboxFolderPermission`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase")]
pub struct FolderPermission {
    /// Folder identity (`user:\\Calendar`).
    #[serde(default)]
    pub identity: Option<String>,
    /// Who.
    #[serde(default)]
    pub user: Option<String>,
    /// Rights (`Editor`, `Reviewer`, …).
    #[serde(default)]
    pub access_rights: Vec<String>,
    /// Everything else.
    #[serde(flatten, skip_deserializing)]
    pub extra: Extra,
}
cipp_core::keep_unknown_fields!(FolderPermission, extra);

/// A mobile device partnership (`Get-MobileDevice`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase")]
pub struct MobileDevice {
    /// Identity.
    #[serde(default)]
    pub identity: Option<String>,
    /// Friendly name.
    #[serde(default)]
    pub friendly_name: Option<String>,
    /// Model.
    #[serde(default)]
    pub device_model: Option<String>,
    /// OS.
    #[serde(default)]
    pub device_os: Option<String>,
    /// Access state.
    #[serde(default)]
    pub device_access_state: Option<String>,
    /// First sync.
    #[serde(default)]
    pub first_sync_time: Option<String>,
    /// Everything else.
    #[serde(flatten, skip_deserializing)]
    pub extra: Extra,
}
cipp_core::keep_unknown_fields!(MobileDevice, extra);

/// A transport (mail flow) rule.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase")]
pub struct TransportRule {
    /// Identity.
    #[serde(default)]
    pub identity: Option<String>,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// `Enabled` or `Disabled`.
    #[serde(default)]
    pub state: Option<String>,
    /// `Enforce`, `Audit`, …
    #[serde(default)]
    pub mode: Option<String>,
    /// Priority.
    #[serde(default)]
    pub priority: Option<i64>,
    /// Everything else (conditions and actions).
    #[serde(flatten, skip_deserializing)]
    pub extra: Extra,
}
cipp_core::keep_unknown_fields!(TransportRule, extra);

/// The tenant's admin audit log settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase")]
pub struct AdminAuditLogConfig {
    /// Whether the unified audit log is on.
    #[serde(default)]
    pub unified_audit_log_ingestion_enabled: Option<bool>,
    /// Everything else.
    #[serde(flatten, skip_deserializing)]
    pub extra: Extra,
}
cipp_core::keep_unknown_fields!(AdminAuditLogConfig, extra);

/// One unified audit log record; `AuditData` arrives as a JSON string and is parsed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase")]
pub struct UnifiedAuditRecord {
    /// Record type.
    #[serde(default)]
    pub record_type: Option<String>,
    /// When.
    #[serde(default)]
    pub creation_date: Option<String>,
    /// Who.
    #[serde(default)]
    pub user_ids: Option<String>,
    /// What.
    #[serde(default)]
    pub operations: Option<String>,
    /// The event details (JSON text as sent).
    #[serde(default)]
    pub audit_data: Option<String>,
    /// Index in the result set.
    #[serde(default)]
    pub result_index: Option<i64>,
    /// Size of the result set.
    #[serde(default)]
    pub result_count: Option<i64>,
    /// Everything else.
    #[serde(flatten, skip_deserializing)]
    pub extra: Extra,
}
cipp_core::keep_unknown_fields!(UnifiedAuditRecord, extra);

impl UnifiedAuditRecord {
    /// `AuditData` parsed (it is a JSON string on the wire).
    pub fn audit_data_json(&self) -> Option<Value> {
        self.audit_data
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok())
    }
}

/// One message trace row (`Get-MessageTraceV2`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase")]
pub struct MessageTrace {
    /// Id.
    #[serde(default)]
    pub message_trace_id: Option<String>,
    /// Received.
    #[serde(default)]
    pub received: Option<String>,
    /// Sender.
    #[serde(default)]
    pub sender_address: Option<String>,
    /// Recipient.
    #[serde(default)]
    pub recipient_address: Option<String>,
    /// Subject.
    #[serde(default)]
    pub subject: Option<String>,
    /// Delivery status.
    #[serde(default)]
    pub status: Option<String>,
    /// Sending IP.
    #[serde(default, rename = "FromIP")]
    pub from_ip: Option<String>,
    /// Everything else.
    #[serde(flatten, skip_deserializing)]
    pub extra: Extra,
}
cipp_core::keep_unknown_fields!(MessageTrace, extra);

/// The outbound spam filter policy (auto-forwarding control).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase")]
pub struct OutboundSpamPolicy {
    /// Identity (`Default`).
    #[serde(default)]
    pub identity: Option<String>,
    /// `Automatic`, `On` or `Off`.
    #[serde(default)]
    pub auto_forwarding_mode: Option<String>,
    /// Everything else.
    #[serde(flatten, skip_deserializing)]
    pub extra: Extra,
}
cipp_core::keep_unknown_fields!(OutboundSpamPolicy, extra);

/// A distribution group member.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase")]
pub struct GroupMember {
    /// Identity.
    #[serde(default)]
    pub identity: Option<String>,
    /// Primary SMTP address.
    #[serde(default)]
    pub primary_smtp_address: Option<String>,
    /// Everything else.
    #[serde(flatten, skip_deserializing)]
    pub extra: Extra,
}
cipp_core::keep_unknown_fields!(GroupMember, extra);
