//! Inbox rules and automatic replies through Graph.

use serde::{Deserialize, Serialize};

use super::common::{model, model_with_nulls, string_enum, Extra};

/// An e-mail recipient.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "camelCase")]
pub struct Recipient {
    /// The address.
    #[serde(default)]
    pub email_address: EmailAddress,
    /// Everything else the service sent.
    #[serde(flatten, skip_deserializing)]
    pub extra: Extra,
}
cipp_core::keep_unknown_fields!(Recipient, extra);

model_with_nulls! {
    /// A name and an address.
    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(remote = "Self", rename_all = "camelCase", default)]
    pub struct EmailAddress {
        /// Display name.
        name: Option<String>,
        /// SMTP address.
        address: Option<String>,
        /// Everything else the service sent.
        #[serde(flatten, skip_deserializing)]
        extra: Extra,
    }
}
cipp_core::keep_unknown_fields!(EmailAddress, extra);

model! {
    /// What an inbox rule does.
    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(remote = "Self", rename_all = "camelCase")]
    pub struct MessageRuleActions {
        /// Deletes the message.
        delete: Option<bool>,
        /// Deletes it permanently.
        permanent_delete: Option<bool>,
        /// Marks it read.
        mark_as_read: Option<bool>,
        /// Moves it to this folder id.
        move_to_folder: Option<String>,
        /// Forwards it.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        forward_to: Vec<Recipient>,
        /// Forwards it as an attachment.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        forward_as_attachment_to: Vec<Recipient>,
        /// Redirects it.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        redirect_to: Vec<Recipient>,
        /// Stops later rules.
        stop_processing_rules: Option<bool>,
        /// Everything else.
        #[serde(flatten, skip_deserializing)]
        extra: Extra,
    }
}
cipp_core::keep_unknown_fields!(MessageRuleActions, extra);

model_with_nulls! {
    /// An inbox rule (`mailFolders/inbox/messageRules`).
    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(remote = "Self", rename_all = "camelCase", default)]
    pub struct MessageRule {
        /// Id.
        id: String,
        /// Name.
        display_name: Option<String>,
        /// Order.
        sequence: Option<i64>,
        /// Whether it runs.
        is_enabled: Option<bool>,
        /// Whether it is in error.
        has_error: Option<bool>,
        /// Conditions, as sent.
        conditions: Option<serde_json::Value>,
        /// Actions.
        actions: Option<MessageRuleActions>,
        /// Everything else.
        #[serde(flatten, skip_deserializing)]
        extra: Extra,
    }
}
cipp_core::keep_unknown_fields!(MessageRule, extra);

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

model! {
    /// Automatic replies (out of office).
    #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct AutomaticRepliesSetting {
        /// Status.
        status: AutomaticRepliesStatus,
        /// External audience.
        external_audience: Option<ExternalAudience>,
        /// Start, when scheduled.
        scheduled_start_date_time: Option<DateTimeTimeZone>,
        /// End, when scheduled.
        scheduled_end_date_time: Option<DateTimeTimeZone>,
        /// Reply to internal senders.
        internal_reply_message: Option<String>,
        /// Reply to external senders.
        external_reply_message: Option<String>,
    }
}

model! {
    /// A user's mailbox settings (the parts cipp-rs reads; the rest kept).
    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(remote = "Self", rename_all = "camelCase")]
    pub struct MailboxSettings {
        /// Automatic replies.
        automatic_replies_setting: Option<AutomaticRepliesSetting>,
        /// Time zone.
        time_zone: Option<String>,
        /// Everything else.
        #[serde(flatten, skip_deserializing)]
        extra: Extra,
    }
}
cipp_core::keep_unknown_fields!(MailboxSettings, extra);
