//! Inbox rules and automatic replies through Graph (Graph does not show hidden rules; the
//! Exchange crate covers those).

use cipp_core::request::encode_component;
use cipp_core::{ApiRequest, Audience, Error, TenantId};
use serde_json::json;

use crate::model::{AutomaticRepliesSetting, AutomaticRepliesStatus, MailboxSettings, MessageRule};
use crate::op::{json, unit, GraphOp};
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
    ApiRequest::get(
        tenant.clone(),
        Audience::Graph,
        format!("/v1.0{}/mailFolders/inbox/messageRules", user.path()),
    )
    .operation("list inbox rules")
}

/// Enables or disables a rule (200 + the updated rule).
pub fn set_inbox_rule_enabled(
    tenant: &TenantId,
    user: &UserRef,
    rule_id: &str,
    enabled: bool,
) -> Result<GraphOp<MessageRule>, Error> {
    let r = ApiRequest::patch(tenant.clone(), Audience::Graph, rule_path(user, rule_id)?)
        .operation(if enabled {
            "enable inbox rule"
        } else {
            "disable inbox rule"
        })
        .json(&json!({"isEnabled": enabled}))?
        .idempotent(true);
    Ok(GraphOp::new(r, json))
}

/// Deletes a rule.
pub fn delete_inbox_rule(
    tenant: &TenantId,
    user: &UserRef,
    rule_id: &str,
) -> Result<GraphOp<()>, Error> {
    Ok(GraphOp::new(
        ApiRequest::delete(tenant.clone(), Audience::Graph, rule_path(user, rule_id)?)
            .operation("delete inbox rule"),
        unit,
    ))
}

/// Reads mailbox settings (automatic replies among them).
pub fn mailbox_settings(tenant: &TenantId, user: &UserRef) -> GraphOp<MailboxSettings> {
    GraphOp::new(
        ApiRequest::get(
            tenant.clone(),
            Audience::Graph,
            format!("/v1.0{}/mailboxSettings", user.path()),
        )
        .operation("get mailbox settings"),
        json,
    )
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
    let r = ApiRequest::patch(
        tenant.clone(),
        Audience::Graph,
        format!("/v1.0{}/mailboxSettings", user.path()),
    )
    .operation("set automatic replies")
    .json(&json!({"automaticRepliesSetting": setting}))?
    .idempotent(true);
    Ok(GraphOp::new(r, unit))
}
