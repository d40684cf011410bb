//! Inbox rules (hidden system rules included on request) and transport rules.

use serde_json::{json, Value};

use super::{exo_error, not_found, ok, Cmdlet, ExoCtx};
use crate::state::synthetic_guid;
use crate::Reply;

pub(crate) const CMDLETS: &[Cmdlet] = &[
    Cmdlet {
        name: "Get-InboxRule",
        params: &["Mailbox", "IncludeHidden", "Identity"],
        run: get_inbox_rules,
    },
    Cmdlet {
        name: "Disable-InboxRule",
        params: &["Identity", "Confirm", "Mailbox"],
        run: change_inbox_rule,
    },
    Cmdlet {
        name: "Enable-InboxRule",
        params: &["Identity", "Confirm", "Mailbox"],
        run: change_inbox_rule,
    },
    Cmdlet {
        name: "Remove-InboxRule",
        params: &["Identity", "Confirm", "Mailbox"],
        run: change_inbox_rule,
    },
    Cmdlet {
        name: "Set-InboxRule",
        params: SET_INBOX_RULE,
        run: set_inbox_rule,
    },
    Cmdlet {
        name: "Get-TransportRule",
        params: &["Identity"],
        run: get_transport_rules,
    },
    Cmdlet {
        name: "New-TransportRule",
        params: &["*"],
        run: new_transport_rule,
    },
    Cmdlet {
        name: "Set-TransportRule",
        params: &["*"],
        run: change_transport_rule,
    },
    Cmdlet {
        name: "Remove-TransportRule",
        params: &["*"],
        run: change_transport_rule,
    },
    Cmdlet {
        name: "Enable-TransportRule",
        params: &["*"],
        run: change_transport_rule,
    },
    Cmdlet {
        name: "Disable-TransportRule",
        params: &["*"],
        run: change_transport_rule,
    },
];

fn get_inbox_rules(ctx: &mut ExoCtx<'_>) -> Reply {
    let Some(mbx) = ctx.str("Mailbox").map(str::to_owned) else {
        return not_found("");
    };
    let i = match ctx.mailbox(&mbx) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let hidden = ctx.param("IncludeHidden") == Some(&json!(true));
    let rules: Vec<Value> = ctx
        .t
        .exchange
        .inbox_rules
        .get(&ctx.t.exchange.upn_of(i))
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|r| hidden || r["IsHidden"] != json!(true))
        .collect();
    ok(rules)
}

fn change_inbox_rule(ctx: &mut ExoCtx<'_>) -> Reply {
    let id = ctx.identity();
    let name = ctx.name.clone();
    let found = ctx.t.exchange.inbox_rules.values_mut().find_map(|rules| {
        rules
            .iter()
            .position(|r| {
                r["Identity"]
                    .as_str()
                    .is_some_and(|x| x.eq_ignore_ascii_case(&id))
            })
            .map(|p| (rules, p))
    });
    let Some((rules, p)) = found else {
        return not_found(&id);
    };
    match name.as_str() {
        "remove-inboxrule" => {
            rules.remove(p);
        }
        _ => rules[p]["Enabled"] = json!(name == "enable-inboxrule"),
    }
    ok(Vec::new())
}

/// The `Set-InboxRule` parameters the simulator binds.
const SET_INBOX_RULE: &[&str] = &[
    "Identity",
    "Mailbox",
    "Confirm",
    "Force",
    "AlwaysDeleteOutlookRulesBlob",
    "Name",
    "Priority",
    "From",
    "FromAddressContainsWords",
    "SubjectContainsWords",
    "BodyContainsWords",
    "SubjectOrBodyContainsWords",
    "SentTo",
    "HasAttachment",
    "MoveToFolder",
    "CopyToFolder",
    "ForwardTo",
    "ForwardAsAttachmentTo",
    "RedirectTo",
    "DeleteMessage",
    "MarkAsRead",
    "MarkImportance",
    "StopProcessingRules",
];

/// A recipient as `Get-InboxRule` shows it: `"a@b.c" [SMTP:a@b.c]` for an address.
fn shown_recipient(r: &Value) -> Value {
    match r.as_str() {
        Some(a) if a.contains('@') => json!(format!("\"{a}\" [SMTP:{a}]")),
        _ => r.clone(),
    }
}

/// `Set-InboxRule`: the parameters given replace the rule's (`$null` clears one); a new
/// priority moves the rule and renumbers the others from 1.
fn set_inbox_rule(ctx: &mut ExoCtx<'_>) -> Reply {
    let id = ctx.identity();
    let params = ctx.params;
    let Some((mailbox, p)) = ctx.t.exchange.inbox_rules.iter().find_map(|(m, rules)| {
        rules
            .iter()
            .position(|r| same(r, "Identity", &id))
            .map(|p| (m.clone(), p))
    }) else {
        return not_found(&id);
    };
    let priority = match params.iter().find(|(k, _)| k.eq_ignore_ascii_case("Priority")) {
        Some((_, v)) => match v.as_i64().filter(|p| (0..=i64::from(i32::MAX)).contains(p)) {
            Some(p) => Some(p),
            None => {
                return exo_error(
                    400,
                    "System.Management.Automation.ParameterBindingException",
                    &format!("Cannot bind parameter 'Priority'. Cannot convert value \"{v}\" to type \"System.Int32\"."),
                )
            }
        },
        None => None,
    };
    let Some(rules) = ctx.t.exchange.inbox_rules.get_mut(&mailbox) else {
        return not_found(&id);
    };
    let before = rules[p].clone();
    let skip = [
        "identity",
        "mailbox",
        "confirm",
        "force",
        "alwaysdeleteoutlookrulesblob",
        "priority",
    ];
    for (k, v) in params {
        if skip.contains(&k.to_ascii_lowercase().as_str()) {
            continue;
        }
        let value = match k.to_ascii_lowercase().as_str() {
            "movetofolder" | "copytofolder" => match v.as_str() {
                Some(f) => json!(f.split_once(":\\").map_or(f, |(_, path)| path)),
                None => v.clone(),
            },
            "forwardto" | "forwardasattachmentto" | "redirectto" => match v {
                Value::Array(a) => Value::Array(a.iter().map(shown_recipient).collect()),
                other => shown_recipient(other),
            },
            _ => v.clone(),
        };
        rules[p][k.as_str()] = value;
    }
    if let Some(wanted) = priority {
        let prio = |r: &Value| r["Priority"].as_i64().unwrap_or(0);
        let mut order: Vec<usize> = (0..rules.len())
            .filter(|&i| i != p && prio(&rules[i]) >= 1)
            .collect();
        order.sort_by_key(|&i| prio(&rules[i]));
        let at = usize::try_from(wanted.max(1) - 1)
            .unwrap_or(0)
            .min(order.len());
        order.insert(at, p);
        for (n, i) in order.into_iter().enumerate() {
            rules[i]["Priority"] = json!(n + 1);
        }
    }
    if rules[p] == before {
        return super::warn(&format!(
            "The command completed successfully but no settings of '{id}' have been modified."
        ));
    }
    ok(Vec::new())
}

fn same(r: &Value, key: &str, id: &str) -> bool {
    r[key].as_str().is_some_and(|x| x.eq_ignore_ascii_case(id))
}

fn get_transport_rules(ctx: &mut ExoCtx<'_>) -> Reply {
    let rules = &ctx.t.exchange.transport_rules;
    match ctx.str("Identity") {
        Some(id) => match rules.iter().find(|r| same(r, "Identity", id)) {
            Some(r) => ok(vec![r.clone()]),
            None => not_found(id),
        },
        None => ok(rules.clone()),
    }
}

fn new_transport_rule(ctx: &mut ExoCtx<'_>) -> Reply {
    let Some(rule_name) = ctx.str("Name").map(str::to_owned) else {
        return exo_error(
            400,
            "System.Management.Automation.ParameterBindingException",
            "Cannot process command because of one or more missing mandatory parameters: Name.",
        );
    };
    let rules = &mut ctx.t.exchange.transport_rules;
    if rules.iter().any(|r| same(r, "Name", &rule_name)) {
        return exo_error(
            400,
            "Microsoft.Exchange.Management.Tasks.ArgumentException",
            &format!("A transport rule with the name '{rule_name}' already exists."),
        );
    }
    let mut rule = Value::Object(ctx.params.clone());
    rule["Identity"] = json!(rule_name);
    rule["Guid"] = json!(synthetic_guid(&format!("rule-{rule_name}-{}", ctx.now)));
    rule["State"] = if rule.get("Enabled") == Some(&json!(false)) {
        json!("Disabled")
    } else {
        json!("Enabled")
    };
    rule["Mode"] = rule.get("Mode").cloned().unwrap_or(json!("Enforce"));
    rule["Priority"] = json!(rules.len());
    rules.push(rule.clone());
    ok(vec![rule])
}

fn change_transport_rule(ctx: &mut ExoCtx<'_>) -> Reply {
    let id = ctx.identity();
    let name = ctx.name.clone();
    let params = ctx.params;
    let rules = &mut ctx.t.exchange.transport_rules;
    let Some(p) = rules.iter().position(|r| same(r, "Identity", &id)) else {
        return not_found(&id);
    };
    match name.as_str() {
        "remove-transportrule" => {
            rules.remove(p);
        }
        "enable-transportrule" => rules[p]["State"] = json!("Enabled"),
        "disable-transportrule" => rules[p]["State"] = json!("Disabled"),
        _ => {
            for (k, v) in params {
                if !k.eq_ignore_ascii_case("Identity") {
                    rules[p][k.as_str()] = v.clone();
                }
            }
        }
    }
    ok(Vec::new())
}
