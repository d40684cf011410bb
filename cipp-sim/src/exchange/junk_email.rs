//! A mailbox's junk e-mail configuration: trusted (safe) and blocked senders and domains,
//! changed as full lists, `$null`, or `@{add=…; remove=…}` hashtables.

use serde_json::{json, Value};

use super::{bind_error, exo_error, ok, strings, warn, Cmdlet, ExoCtx};
use crate::Reply;

pub(crate) const CMDLETS: &[Cmdlet] = &[
    Cmdlet {
        name: "Get-MailboxJunkEmailConfiguration",
        params: &["Identity"],
        run: get_junk_email,
    },
    Cmdlet {
        name: "Set-MailboxJunkEmailConfiguration",
        params: &[
            "Identity",
            "TrustedSendersAndDomains",
            "BlockedSendersAndDomains",
            "TrustedRecipientsAndDomains",
            "Enabled",
            "ContactsTrusted",
            "TrustedListsOnly",
            "Confirm",
        ],
        run: set_junk_email,
    },
];

/// The multi-valued lists; Exchange keeps at most this many entries in each.
const LISTS: &[(&str, usize)] = &[
    ("TrustedSendersAndDomains", 1024),
    ("BlockedSendersAndDomains", 500),
    ("TrustedRecipientsAndDomains", 1024),
];

const FLAGS: &[&str] = &["Enabled", "ContactsTrusted", "TrustedListsOnly"];

/// A new mailbox's settings.
fn defaults(identity: &Value) -> Value {
    json!({"Identity": identity, "Enabled": true, "TrustedSendersAndDomains": [],
           "BlockedSendersAndDomains": [], "TrustedRecipientsAndDomains": [],
           "ContactsTrusted": true, "TrustedListsOnly": false, "IsValid": true})
}

/// The stored configuration of the mailbox `key` names (its defaults until changed).
fn current(ctx: &ExoCtx<'_>, key: &str) -> Result<(String, Value), Reply> {
    let i = ctx.mailbox(key)?;
    let upn = ctx.t.exchange.upn_of(i);
    let config = ctx
        .t
        .exchange
        .junk_email
        .get(&upn)
        .cloned()
        .unwrap_or_else(|| defaults(&ctx.t.exchange.mailboxes[i]["Identity"]));
    Ok((upn, config))
}

fn get_junk_email(ctx: &mut ExoCtx<'_>) -> Reply {
    match current(ctx, &ctx.identity()) {
        Ok((_, config)) => ok(vec![config]),
        Err(r) => r,
    }
}

/// An address (`a@b.c`) or a domain (`b.c`).
fn valid_entry(e: &str) -> bool {
    let domain_ok = |d: &str| {
        let labels: Vec<&str> = d.split('.').collect();
        labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_alphanumeric() || c == '-')
            })
    };
    match e.rsplit_once('@') {
        Some((local, d)) => {
            !local.is_empty() && !local.contains(char::is_whitespace) && domain_ok(d)
        }
        None => domain_ok(e),
    }
}

/// The list after `value`: a full list, `$null`, or `@{add; remove}`.
fn apply(field: &str, current: &Value, value: &Value) -> Result<Vec<String>, Reply> {
    let mut list = strings(Some(current));
    let (add, remove) = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Array(_) | Value::String(_) => {
            list.clear();
            (strings(Some(value)), Vec::new())
        }
        Value::Object(h) => {
            let key = |k: &str| {
                h.iter()
                    .find(|(x, _)| x.eq_ignore_ascii_case(k))
                    .map(|(_, v)| v)
            };
            (strings(key("add")), strings(key("remove")))
        }
        _ => return Err(bind_error(&format!("Cannot bind parameter '{field}'."))),
    };
    if let Some(bad) = add.iter().find(|e| !valid_entry(e)) {
        return Err(exo_error(
            400,
            "Microsoft.Exchange.Data.DataValidationException",
            &format!(
                "The value \"{bad}\" of property '{field}' isn't a valid SMTP address or domain."
            ),
        ));
    }
    for a in add {
        if !list.iter().any(|x| x.eq_ignore_ascii_case(&a)) {
            list.push(a);
        }
    }
    list.retain(|x| !remove.iter().any(|r| r.eq_ignore_ascii_case(x)));
    Ok(list)
}

fn set_junk_email(ctx: &mut ExoCtx<'_>) -> Reply {
    let id = ctx.identity();
    let (upn, before) = match current(ctx, &id) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mut after = before.clone();
    for (field, max) in LISTS {
        let Some(v) = ctx.param(field) else { continue };
        let list = match apply(field, &before[*field], v) {
            Ok(l) => l,
            Err(r) => return r,
        };
        if list.len() > *max {
            return exo_error(
                400,
                "Microsoft.Exchange.Data.DataValidationException",
                &format!("The '{field}' list can hold at most {max} entries."),
            );
        }
        after[*field] = json!(list);
    }
    for flag in FLAGS {
        match ctx.param(flag) {
            Some(Value::Bool(b)) => after[*flag] = json!(b),
            Some(other) => {
                return bind_error(&format!(
                    "Cannot process argument transformation on parameter '{flag}'. Cannot convert value \"{other}\" to type \"System.Boolean\"."
                ))
            }
            None => {}
        }
    }
    if after == before {
        return warn(&format!(
            "The command completed successfully but no settings of '{id}' have been modified."
        ));
    }
    ctx.t.exchange.junk_email.insert(upn, after);
    ok(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    #[test]
    fn hashtables_add_and_remove_case_insensitively() {
        let cur = json!(["a.com", "b@c.com"]);
        let h: Map<String, Value> =
            serde_json::from_value(json!({"@odata.type": "#Exchange.GenericHashTable", "Add": ["A.com", "d.org"], "remove": ["B@C.com"]}))
                .unwrap();
        let l = apply("f", &cur, &Value::Object(h)).ok().unwrap();
        assert_eq!(l, ["a.com", "d.org"]);
        assert!(apply("f", &cur, &Value::Null).ok().unwrap().is_empty());
        assert_eq!(apply("f", &cur, &json!(["x.io"])).ok().unwrap(), ["x.io"]);
        assert!(apply("f", &cur, &json!({"add": ["not a domain"]})).is_err());
    }
}
