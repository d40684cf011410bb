//! Outlook through Graph: inbox rules, mailbox settings (automatic replies) and sendMail.

use serde_json::{json, Value};

use super::{error, list, routes, Answer, Ctx, Params, Route};
use crate::Reply;

pub(crate) const ROUTES: &[Route] = routes![
    GET "users/{id}/mailfolders/inbox/messagerules" => list_rules,
    PATCH "users/{id}/mailfolders/inbox/messagerules/{rule}" => update_rule,
    DELETE "users/{id}/mailfolders/inbox/messagerules/{rule}" => delete_rule,
    GET "users/{id}/mailboxsettings" => get_settings,
    PATCH "users/{id}/mailboxsettings" => update_settings,
    POST "users/{id}/sendmail" => send_mail,
];

fn default_mailbox_settings() -> Value {
    json!({"automaticRepliesSetting": {"status": "disabled", "externalAudience": "all",
        "internalReplyMessage": "", "externalReplyMessage": "",
        "scheduledStartDateTime": {"dateTime": "2026-01-01T00:00:00.0000000", "timeZone": "UTC"},
        "scheduledEndDateTime": {"dateTime": "2026-01-02T00:00:00.0000000", "timeZone": "UTC"}},
        "timeZone": "UTC", "language": {"locale": "en-US", "displayName": "English (United States)"}})
}

fn list_rules(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let uid = ctx.user_id(p.get(0))?;
    let items = ctx.t.mail.inbox_rules.get(&uid).cloned();
    let items = items.unwrap_or_default();
    Ok(list(ctx.req, items, "users/mailFolders/messageRules", None))
}

/// The user's inbox rules and the position of the rule `p` names, or Exchange's 404.
fn rule<'a>(ctx: &'a mut Ctx<'_, '_>, p: &Params) -> Result<(&'a mut Vec<Value>, usize), Reply> {
    let uid = ctx.user_id(p.get(0))?;
    let rules = ctx.t.mail.inbox_rules.entry(uid).or_default();
    let pos = rules
        .iter()
        .position(|r| r["id"].as_str() == Some(p.get(1)))
        .ok_or_else(|| {
            error(
                404,
                "ErrorItemNotFound",
                "The specified object was not found in the store.",
            )
        })?;
    Ok((rules, pos))
}

fn update_rule(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    ctx.user_id(p.get(0))?;
    let changes = ctx.req.object()?;
    let (rules, pos) = rule(ctx, p)?;
    if let Value::Object(rule) = &mut rules[pos] {
        rule.extend(changes);
    }
    Ok(Reply::json(200, rules[pos].clone()))
}

fn delete_rule(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let (rules, pos) = rule(ctx, p)?;
    rules.remove(pos);
    Ok(Reply::empty(204))
}

fn get_settings(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let uid = ctx.user_id(p.get(0))?;
    let stored = ctx.t.mail.mailbox_settings.get(&uid).cloned();
    let s = stored.unwrap_or_else(default_mailbox_settings);
    Ok(Reply::json(200, s))
}

fn update_settings(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let uid = ctx.user_id(p.get(0))?;
    let changes = ctx.req.object()?;
    let s = ctx
        .t
        .mail
        .mailbox_settings
        .entry(uid)
        .or_insert_with(default_mailbox_settings);
    if let Value::Object(cur) = s {
        cur.extend(changes.clone());
    }
    Ok(Reply::json(200, Value::Object(changes)))
}

fn send_mail(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let from = ctx.user_upn(p.get(0))?;
    let b = ctx.req.json()?;
    if b["message"]["toRecipients"]
        .as_array()
        .is_none_or(|a| a.is_empty())
    {
        return Err(error(
            400,
            "ErrorInvalidRecipients",
            "At least one recipient is not valid.",
        ));
    }
    ctx.t.mail.sent_mail.push((from, b["message"].clone()));
    Ok(Reply::empty(202))
}
