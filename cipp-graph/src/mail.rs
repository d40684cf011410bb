//! Inbox rules and automatic replies through Graph (Graph does not show hidden rules; the
//! Exchange crate covers those).

use cipp_core::request::encode_component;
use cipp_core::{ApiRequest, Audience, Error, TenantId};
use http::Method;
use serde_json::json;

use crate::model::{AutomaticRepliesSetting, AutomaticRepliesStatus, MailboxSettings, MessageRule};
use crate::op::{self, json, unit, GraphOp};
use crate::users::UserRef;

fn rule_path(user: &UserRef, rule_id: &str) -> Result<String, Error> {
    if rule_id.is_empty() {
        return Err(Error::invalid_input("rule", "empty rule id"));
    }
    Ok(format!(
        "/v1.0{}/mailFolders/inbox/messageRules/{}",
        user.path(),
        encode_component(rule_id)
    ))
}

/// Lists the inbox rules visible to clients.
pub fn inbox_rules(tenant: &TenantId, user: &UserRef) -> ApiRequest {
    let path = format!("/v1.0{}/mailFolders/inbox/messageRules", user.path());
    op::request(tenant, Method::GET, path, "list inbox rules")
}

/// Enables or disables a rule (200 + the updated rule).
pub fn set_inbox_rule_enabled(
    tenant: &TenantId,
    user: &UserRef,
    rule_id: &str,
    enabled: bool,
) -> Result<GraphOp<MessageRule>, Error> {
    let operation = if enabled {
        "enable inbox rule"
    } else {
        "disable inbox rule"
    };
    let body = json!({"isEnabled": enabled});
    op::with_body(
        tenant,
        Method::PATCH,
        rule_path(user, rule_id)?,
        operation,
        &body,
        json,
    )
}

/// Deletes a rule.
pub fn delete_inbox_rule(
    tenant: &TenantId,
    user: &UserRef,
    rule_id: &str,
) -> Result<GraphOp<()>, Error> {
    Ok(op::delete(
        tenant,
        rule_path(user, rule_id)?,
        "delete inbox rule",
    ))
}

/// Reads mailbox settings (automatic replies among them).
pub fn mailbox_settings(tenant: &TenantId, user: &UserRef) -> GraphOp<MailboxSettings> {
    let path = format!("/v1.0{}/mailboxSettings", user.path());
    op::get(tenant, path, "get mailbox settings")
}

/// Sets automatic replies. A scheduled reply needs both start and end.
pub fn set_automatic_replies(
    tenant: &TenantId,
    user: &UserRef,
    setting: &AutomaticRepliesSetting,
) -> Result<GraphOp<()>, Error> {
    if setting.status == AutomaticRepliesStatus::Scheduled
        && (setting.scheduled_start_date_time.is_none()
            || setting.scheduled_end_date_time.is_none())
    {
        return Err(Error::invalid_input(
            "automaticRepliesSetting",
            "a scheduled reply needs a start and an end",
        ));
    }
    let path = format!("/v1.0{}/mailboxSettings", user.path());
    let body = json!({"automaticRepliesSetting": setting});
    op::patch(tenant, path, "set automatic replies", &body)
}

/// An HTML message to send with [`send_mail`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MailMessage {
    /// Recipients' addresses.
    pub to: Vec<String>,
    /// The subject.
    pub subject: String,
    /// The body, as HTML.
    pub html: String,
    /// Whether to keep a copy in the sender's Sent Items.
    pub save_to_sent_items: bool,
}

/// Sends a message as `from` (`POST /users/{id}/sendMail`; 202). Not idempotent: a
/// failure after sending is reported, never resent.
pub fn send_mail(
    tenant: &TenantId,
    from: &UserRef,
    message: &MailMessage,
) -> Result<GraphOp<()>, Error> {
    if message.to.is_empty() {
        return Err(Error::invalid_input(
            "to",
            "a message needs at least one recipient",
        ));
    }
    for a in &message.to {
        crate::users::validate_upn(a)
            .map_err(|_| Error::invalid_input("to", format!("`{a}` is not an e-mail address")))?;
    }
    let recipients: Vec<serde_json::Value> = message
        .to
        .iter()
        .map(|a| json!({"emailAddress": {"address": a}}))
        .collect();
    let body = json!({
        "message": {
            "subject": message.subject,
            "body": {"contentType": "HTML", "content": message.html},
            "toRecipients": recipients
        },
        "saveToSentItems": message.save_to_sent_items
    });
    let r = ApiRequest::post(
        tenant.clone(),
        Audience::Graph,
        format!("/v1.0{}/sendMail", from.path()),
    )
    .operation("send mail")
    .json(&body)?;
    Ok(GraphOp::new(r, unit))
}

/// Mail operations in one tenant (`graph.tenant(&t).mail()`).
#[derive(Clone, Debug)]
pub struct Mail(pub(crate) crate::TenantGraph);

impl Mail {
    /// A user's inbox rules.
    pub fn inbox_rules(&self, user: &UserRef) -> crate::List<MessageRule> {
        self.0.list_of(Ok(inbox_rules(self.0.id(), user)))
    }
    /// Enables or disables one inbox rule.
    pub fn set_inbox_rule_enabled(
        &self,
        user: &UserRef,
        rule_id: &str,
        enabled: bool,
    ) -> crate::Call<MessageRule> {
        self.0
            .call(set_inbox_rule_enabled(self.0.id(), user, rule_id, enabled))
    }
    /// Deletes one inbox rule.
    pub fn delete_inbox_rule(&self, user: &UserRef, rule_id: &str) -> crate::Call<()> {
        self.0.call(delete_inbox_rule(self.0.id(), user, rule_id))
    }
    /// A user's mailbox settings.
    pub fn mailbox_settings(&self, user: &UserRef) -> crate::Call<MailboxSettings> {
        self.0.call(Ok(mailbox_settings(self.0.id(), user)))
    }
    /// A user's automatic replies (from the mailbox settings).
    pub async fn automatic_replies(
        &self,
        user: &UserRef,
    ) -> Result<Option<AutomaticRepliesSetting>, Error> {
        Ok(self.mailbox_settings(user).await?.automatic_replies_setting)
    }
    /// Sets a user's automatic replies.
    pub fn set_automatic_replies(
        &self,
        user: &UserRef,
        setting: &AutomaticRepliesSetting,
    ) -> crate::Call<()> {
        self.0
            .call(set_automatic_replies(self.0.id(), user, setting))
    }
    /// Sends a message as `from`.
    pub fn send_mail(&self, from: &UserRef, message: &MailMessage) -> crate::Call<()> {
        self.0.call(send_mail(self.0.id(), from, message))
    }
}
