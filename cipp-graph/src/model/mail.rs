//! Inbox rules and automatic replies through Graph.

use serde::{Deserialize, Serialize};

use super::common::{string_enum, Extra};

/// An e-mail recipient.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recipient {
    /// The address.
    #[serde(default)]
    pub email_address: EmailAddress,
    /// Everything else the service sent.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A name and an address.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmailAddress {
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// SMTP address.
    #[serde(default)]
    pub address: Option<String>,
    /// Everything else the service sent.
    #[serde(flatten)]
    pub extra: Extra,
}

/// What an inbox rule does.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageRuleActions {
    /// Deletes the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete: Option<bool>,
    /// Deletes it permanently.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permanent_delete: Option<bool>,
    /// Marks it read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mark_as_read: Option<bool>,
    /// Moves it to this folder id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub move_to_folder: Option<String>,
    /// Forwards it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forward_to: Vec<Recipient>,
    /// Forwards it as an attachment.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forward_as_attachment_to: Vec<Recipient>,
    /// Redirects it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redirect_to: Vec<Recipient>,
    /// Stops later rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_processing_rules: Option<bool>,
    /// Everything else.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An inbox rule (`mailFolders/inbox/messageRules`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageRule {
    /// Id.
    #[serde(default)]
    pub id: String,
    /// Name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Order.
    #[serde(default)]
    pub sequence: Option<i64>,
    /// Whether it runs.
    #[serde(default)]
    pub is_enabled: Option<bool>,
    /// Whether it is in error.
    #[serde(default)]
    pub has_error: Option<bool>,
    /// Conditions, as sent.
    #[serde(default)]
    pub conditions: Option<serde_json::Value>,
    /// Actions.
    #[serde(default)]
    pub actions: Option<MessageRuleActions>,
    /// Everything else.
    #[serde(flatten)]
    pub extra: Extra,
}

string_enum!(
    /// Automatic reply status; the docs show both `"Scheduled"` and `"scheduled"`.
    AutomaticRepliesStatus { Disabled = "disabled", AlwaysEnabled = "alwaysEnabled", Scheduled = "scheduled" }
);

string_enum!(
    /// Who outside the organisation gets the external reply.
    ExternalAudience { None = "none", ContactsOnly = "contactsOnly", All = "all" }
);

/// A date and time in a named time zone (Outlook's shape).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DateTimeTimeZone {
    /// Local date and time, for example `2026-12-01T08:00:00.0000000`.
    pub date_time: String,
    /// Time zone name (`UTC`, `Pacific Standard Time`, …).
    pub time_zone: String,
}

/// Automatic replies (out of office).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AutomaticRepliesSetting {
    /// Status.
    pub status: AutomaticRepliesStatus,
    /// External audience.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_audience: Option<ExternalAudience>,
    /// Start, when scheduled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_start_date_time: Option<DateTimeTimeZone>,
    /// End, when scheduled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_end_date_time: Option<DateTimeTimeZone>,
    /// Reply to internal senders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internal_reply_message: Option<String>,
    /// Reply to external senders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_reply_message: Option<String>,
}

/// A user's mailbox settings (the parts cipp-rs reads; the rest kept).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MailboxSettings {
    /// Automatic replies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automatic_replies_setting: Option<AutomaticRepliesSetting>,
    /// Time zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// Everything else.
    #[serde(flatten)]
    pub extra: Extra,
}
