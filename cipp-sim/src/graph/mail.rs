//! Outlook through Graph: inbox rules, mailbox settings (automatic replies) and sendMail.

use serde_json::{json, Value};

use super::{error, list, not_found, Ctx, Params, Route};
use crate::Reply;

pub(crate) const ROUTES: &[Route] = &[
    Route {
        method: "GET",
        path: "users/{id}/mailfolders/inbox/messagerules",
        handler: list_rules,
    },
    Route {
        method: "PATCH",
        path: "users/{id}/mailfolders/inbox/messagerules/{rule}",
        handler: update_rule,
    },
    Route {
        method: "DELETE",
        path: "users/{id}/mailfolders/inbox/messagerules/{rule}",
        handler: delete_rule,
    },
    Route {
        method: "GET",
        path: "users/{id}/mailboxsettings",
        handler: get_settings,
    },
    Route {
        method: "PATCH",
        path: "users/{id}/mailboxsettings",
        handler: update_settings,
    },
    Route {
        method: "POST",
        path: "users/{id}/sendmail",
        handler: send_mail,
    },
];

fn default_mailbox_settings() -> Value {
    json!({"automaticRepliesSetting": {"status": "disabled", "externalAudience": "all",
        "internalReplyMessage": "", "externalReplyMessage": "",
        "scheduledStartDateTime": {"dateTime": "2026-01-01T00:00:00.0000000", "timeZone": "UTC"},
        "scheduledEndDateTime": {"dateTime": "2026-01-02T00:00:00.0000000", "timeZone": "UTC"}},
        "timeZone": "UTC", "language": {"locale": "en-US", "displayName": "English (United States)"}})
}

fn list_rules(ctx: &mut Ctx<'_, '_>, p: &Params) -> Reply {
    let Some(uid) = ctx.t.directory.user_id(p.get(0)) else {
        return not_found(p.get(0));
    };
    let items = ctx
        .t
        .mail
        .inbox_rules
        .get(&uid)
        .cloned()
        .unwrap_or_default();
    list(ctx.req, items, "users/mailFolders/messageRules", None)
}

fn rule_not_found() -> Reply {
    error(
        404,
        "ErrorItemNotFound",
        "The specified object was not found in the store.",
    )
}

fn update_rule(ctx: &mut Ctx<'_, '_>, p: &Params) -> Reply {
    let Some(uid) = ctx.t.directory.user_id(p.get(0)) else {
        return not_found(p.get(0));
    };
    let changes = match ctx.req.object() {
        Ok(b) => b,
        Err(r) => return r,
    };
    let rules = ctx.t.mail.inbox_rules.entry(uid).or_default();
    let Some(rule) = rules
        .iter_mut()
        .find(|r| r["id"].as_str() == Some(p.get(1)))
    else {
        return rule_not_found();
    };
    if let Value::Object(rule) = rule {
        rule.extend(changes);
    }
    Reply::json(200, rule.clone())
}

fn delete_rule(ctx: &mut Ctx<'_, '_>, p: &Params) -> Reply {
    let Some(uid) = ctx.t.directory.user_id(p.get(0)) else {
        return not_found(p.get(0));
    };
    let rules = ctx.t.mail.inbox_rules.entry(uid).or_default();
    match rules
        .iter()
        .position(|r| r["id"].as_str() == Some(p.get(1)))
    {
        Some(i) => {
            rules.remove(i);
            Reply::empty(204)
        }
        None => rule_not_found(),
    }
}

fn get_settings(ctx: &mut Ctx<'_, '_>, p: &Params) -> Reply {
    let Some(uid) = ctx.t.directory.user_id(p.get(0)) else {
        return not_found(p.get(0));
    };
    let s = ctx
        .t
        .mail
        .mailbox_settings
        .get(&uid)
        .cloned()
        .unwrap_or_else(default_mailbox_settings);
    Reply::json(200, s)
}

fn update_settings(ctx: &mut Ctx<'_, '_>, p: &Params) -> Reply {
    let Some(uid) = ctx.t.directory.user_id(p.get(0)) else {
        return not_found(p.get(0));
    };
    let changes = match ctx.req.object() {
        Ok(b) => b,
        Err(r) => return r,
    };
    let s = ctx
        .t
        .mail
        .mailbox_settings
        .entry(uid)
        .or_insert_with(default_mailbox_settings);
    if let Value::Object(cur) = s {
        cur.extend(changes.clone());
    }
    Reply::json(200, Value::Object(changes))
}

fn send_mail(ctx: &mut Ctx<'_, '_>, p: &Params) -> Reply {
    let Some(from) = ctx
        .t
        .directory
        .user(p.get(0))
        .and_then(|u| u["userPrincipalName"].as_str())
        .map(str::to_owned)
    else {
        return not_found(p.get(0));
    };
    let b = match ctx.req.json() {
        Ok(b) => b,
        Err(r) => return r,
    };
    if b["message"]["toRecipients"]
        .as_array()
        .is_none_or(|a| a.is_empty())
    {
        return error(
            400,
            "ErrorInvalidRecipients",
            "At least one recipient is not valid.",
        );
    }
    ctx.t.mail.sent_mail.push((from, b["message"].clone()));
    Reply::empty(202)
}
