//! Spam filter policies and rules, the connection filter policy, connectors and Safe Links
//! policies and rules, with Exchange Online's rules: names are unique per noun, a rule's
//! policy must exist, a policy used by a rule or the default policy cannot be removed, the
//! connection filter policy has no `New-`/`Remove-`, and rules change state only through
//! `Enable-`/`Disable-`.

use serde_json::{json, Map, Value};

use super::{bind_error, exo_error, not_found, ok, warn, Cmdlet, ExoCtx};
use crate::state::protection::{defaults, stamp};
use crate::Reply;

macro_rules! family {
    ($($noun:literal: [$($verb:literal),*]);* $(;)?) => {
        &[$($(Cmdlet { name: concat!($verb, "-", $noun), params: &["*"], run },)*)*]
    };
}

pub(crate) const CMDLETS: &[Cmdlet] = family! {
    "HostedContentFilterPolicy": ["Get", "New", "Set", "Remove"];
    "HostedContentFilterRule": ["Get", "New", "Set", "Remove", "Enable", "Disable"];
    "HostedConnectionFilterPolicy": ["Get", "Set"];
    "InboundConnector": ["Get", "New", "Set", "Remove"];
    "OutboundConnector": ["Get", "New", "Set", "Remove"];
    "SafeLinksPolicy": ["Get", "New", "Set", "Remove"];
    "SafeLinksRule": ["Get", "New", "Set", "Remove", "Enable", "Disable"];
};

/// For a rule noun: the parameter naming its policy, and the policy's noun.
fn policy_of(noun: &str) -> Option<&'static str> {
    match noun.to_ascii_lowercase().as_str() {
        "hostedcontentfilterrule" => Some("HostedContentFilterPolicy"),
        "safelinksrule" => Some("SafeLinksPolicy"),
        _ => None,
    }
}

/// The rule noun bound to a policy noun.
fn rule_of(noun: &str) -> Option<&'static str> {
    match noun.to_ascii_lowercase().as_str() {
        "hostedcontentfilterpolicy" => Some("HostedContentFilterRule"),
        "safelinkspolicy" => Some("SafeLinksRule"),
        _ => None,
    }
}

fn matches(row: &Value, id: &str) -> bool {
    ["Identity", "Name", "Guid", "DistinguishedName"]
        .iter()
        .any(|k| row[*k].as_str().is_some_and(|v| v.eq_ignore_ascii_case(id)))
}

fn find(ctx: &ExoCtx<'_>, noun: &str, id: &str) -> Option<usize> {
    ctx.t
        .protection
        .rows(noun)
        .iter()
        .position(|r| matches(r, id))
}

fn already_exists(name: &str) -> Reply {
    exo_error(
        400,
        "Microsoft.Exchange.Configuration.Tasks.ManagementObjectAlreadyExistsException",
        &format!("An object with the identity \"{name}\" already exists."),
    )
}

fn argument_error(message: &str) -> Reply {
    exo_error(
        400,
        "Microsoft.Exchange.Management.Tasks.ArgumentException",
        message,
    )
}

fn run(ctx: &mut ExoCtx<'_>) -> Reply {
    let name = ctx.name.clone();
    let Some((verb, noun)) = name.split_once('-') else {
        return bind_error("not a Verb-Noun cmdlet");
    };
    let Some(noun) = crate::state::protection::PROTECTION_NOUNS
        .iter()
        .find(|n| n.eq_ignore_ascii_case(noun))
    else {
        return not_found(noun);
    };
    match verb {
        "get" => get(ctx, noun),
        "new" => create(ctx, noun),
        "set" => change(ctx, noun),
        "remove" => remove(ctx, noun),
        _ => enable(ctx, noun, verb == "enable"),
    }
}

fn get(ctx: &mut ExoCtx<'_>, noun: &str) -> Reply {
    match ctx.str("Identity").map(str::to_owned) {
        Some(id) => match find(ctx, noun, &id) {
            Some(i) => ok(vec![ctx.t.protection.rows(noun)[i].clone()]),
            None => not_found(&id),
        },
        None => ok(ctx.t.protection.rows(noun).to_vec()),
    }
}

/// Checks a rule's policy parameter: it names an existing policy. `Ok(None)` when the
/// parameter is not given.
fn check_policy(ctx: &ExoCtx<'_>, noun: &str) -> Result<Option<String>, Reply> {
    let Some(policy_noun) = policy_of(noun) else {
        return Ok(None);
    };
    let Some(policy) = ctx.str(policy_noun).map(str::to_owned) else {
        return Ok(None);
    };
    match find(ctx, policy_noun, &policy) {
        Some(i) => Ok(ctx.t.protection.rows(policy_noun)[i]["Name"]
            .as_str()
            .map(str::to_owned)),
        None => Err(not_found(&policy)),
    }
}

fn apply_params(row: &mut Value, params: &Map<String, Value>) {
    for (k, v) in params {
        if ["Identity", "Name", "Confirm", "Enabled"]
            .iter()
            .any(|s| s.eq_ignore_ascii_case(k))
        {
            continue;
        }
        // Keep the row's own spelling of a known property.
        let key = row
            .as_object()
            .and_then(|m| m.keys().find(|x| x.eq_ignore_ascii_case(k)).cloned())
            .unwrap_or_else(|| k.clone());
        row[key.as_str()] = v.clone();
    }
}

fn create(ctx: &mut ExoCtx<'_>, noun: &str) -> Reply {
    let Some(obj_name) = ctx.str("Name").map(str::to_owned) else {
        return bind_error(
            "Cannot process command because of one or more missing mandatory parameters: Name.",
        );
    };
    if ctx.t.protection.rows(noun).iter().any(|r| {
        r["Name"]
            .as_str()
            .is_some_and(|n| n.eq_ignore_ascii_case(&obj_name))
    }) {
        return already_exists(&obj_name);
    }
    let policy = match check_policy(ctx, noun) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let rule = policy_of(noun);
    if let (Some(policy_noun), None) = (rule, &policy) {
        return bind_error(&format!(
            "Cannot process command because of one or more missing mandatory parameters: {policy_noun}."
        ));
    }
    let mut row = defaults(noun);
    apply_params(&mut row, ctx.params);
    if let Some(enabled) = ctx.param("Enabled").and_then(Value::as_bool) {
        if rule.is_some() {
            row["State"] = json!(if enabled { "Enabled" } else { "Disabled" });
        } else {
            row["Enabled"] = json!(enabled);
        }
    }
    if let (Some(policy_noun), Some(p)) = (rule, policy) {
        row[policy_noun] = json!(p);
        let count = ctx.t.protection.rows(noun).len();
        let priority = ctx
            .param("Priority")
            .and_then(Value::as_u64)
            .map_or(count, |p| usize::try_from(p).unwrap_or(count).min(count));
        row["Priority"] = json!(priority);
        if let Some(rows) = ctx.t.protection.rows_mut(noun) {
            for r in rows.iter_mut() {
                if r["Priority"]
                    .as_u64()
                    .is_some_and(|p| p as usize >= priority)
                {
                    r["Priority"] = json!(r["Priority"].as_u64().unwrap_or(0) + 1);
                }
            }
        }
    }
    let now = ctx.now.clone();
    stamp(noun, &mut row, &obj_name, &now);
    if let Some(rows) = ctx.t.protection.rows_mut(noun) {
        rows.push(row.clone());
    }
    ok(vec![row])
}

fn change(ctx: &mut ExoCtx<'_>, noun: &str) -> Reply {
    let id = ctx.identity();
    let Some(i) = find(ctx, noun, &id) else {
        return not_found(&id);
    };
    let rule = policy_of(noun).is_some();
    if rule {
        if let Some(bad) = ["Enabled", "State"].iter().find(|p| ctx.param(p).is_some()) {
            return bind_error(&format!(
                "A parameter cannot be found that matches parameter name '{bad}'."
            ));
        }
    }
    let policy = match check_policy(ctx, noun) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let before = ctx.t.protection.rows(noun)[i].clone();
    let old_name = before["Name"].as_str().unwrap_or_default().to_owned();
    let new_name = ctx.str("Name").map_or(old_name.clone(), str::to_owned);
    if !new_name.eq_ignore_ascii_case(&old_name) && find(ctx, noun, &new_name).is_some() {
        return already_exists(&new_name);
    }
    let mut row = before.clone();
    apply_params(&mut row, ctx.params);
    if let Some(enabled) = ctx.param("Enabled").and_then(Value::as_bool) {
        row["Enabled"] = json!(enabled);
    }
    if let (Some(policy_noun), Some(p)) = (policy_of(noun), policy) {
        row[policy_noun] = json!(p);
    }
    row["Name"] = json!(new_name);
    if row == before {
        return warn(&format!(
            "The command completed successfully but no settings of '{old_name}' have been modified."
        ));
    }
    let now = ctx.now.clone();
    stamp(noun, &mut row, &new_name, &now);
    if let Some(rows) = ctx.t.protection.rows_mut(noun) {
        rows[i] = row;
    }
    // Rules name their policy: a renamed policy is renamed in them.
    if let (Some(rule_noun), true) = (rule_of(noun), new_name != old_name) {
        let key = policy_of(rule_noun).unwrap_or_default();
        for r in ctx.t.protection.rows_mut(rule_noun).into_iter().flatten() {
            if r[key]
                .as_str()
                .is_some_and(|p| p.eq_ignore_ascii_case(&old_name))
            {
                r[key] = json!(new_name);
            }
        }
    }
    ok(Vec::new())
}

fn remove(ctx: &mut ExoCtx<'_>, noun: &str) -> Reply {
    let id = ctx.identity();
    let Some(i) = find(ctx, noun, &id) else {
        return not_found(&id);
    };
    let row = &ctx.t.protection.rows(noun)[i];
    if row["IsDefault"] == json!(true) {
        return argument_error(&format!("The default policy '{id}' can't be removed."));
    }
    if let Some(rule_noun) = rule_of(noun) {
        let name = row["Name"].as_str().unwrap_or_default().to_owned();
        let key = policy_of(rule_noun).unwrap_or_default();
        if let Some(r) = ctx.t.protection.rows(rule_noun).iter().find(|r| {
            r[key]
                .as_str()
                .is_some_and(|p| p.eq_ignore_ascii_case(&name))
        }) {
            return argument_error(&format!(
                "The policy '{name}' is used by rule '{}'. Remove the rule first.",
                r["Name"].as_str().unwrap_or_default()
            ));
        }
    }
    if let Some(rows) = ctx.t.protection.rows_mut(noun) {
        rows.remove(i);
    }
    ok(Vec::new())
}

fn enable(ctx: &mut ExoCtx<'_>, noun: &str, on: bool) -> Reply {
    let id = ctx.identity();
    let Some(i) = find(ctx, noun, &id) else {
        return not_found(&id);
    };
    if let Some(rows) = ctx.t.protection.rows_mut(noun) {
        rows[i]["State"] = json!(if on { "Enabled" } else { "Disabled" });
    }
    ok(Vec::new())
}
