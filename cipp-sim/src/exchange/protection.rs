//! Spam filter policies and rules, the connection filter policy, connectors and Safe Links
//! policies and rules, with Exchange Online's rules: names are unique per noun, a rule's
//! policy must exist, a policy used by a rule or the default policy cannot be removed, the
//! connection filter policy has no `New-`/`Remove-`, and rules change state only through
//! `Enable-`/`Disable-`.
//!
//! The same family serves the configuration nouns of
//! [`crate::state::protection::exo_config`] (organisation and transport configuration,
//! External in Outlook, the ATP policy for Office 365, remote domains, OWA, sharing and role
//! assignment policies, anti-phishing, malware, Safe Attachments, outbound spam and report
//! submission policies and rules). Those bind only their own parameters (anything else is
//! PowerShell's binding error), check values against Exchange's enumerations and ranges,
//! and the singletons (`Set-OrganizationConfig`, …) take no `-Identity`.

use serde_json::{json, Map, Value};

use super::{bind_error, exo_error, not_found, ok, warn, Cmdlet, ExoCtx};
use crate::state::protection::exo_config::{self, Shape};
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
    "OrganizationConfig": ["Get", "Set"];
    "TransportConfig": ["Get", "Set"];
    "ExternalInOutlook": ["Get", "Set"];
    "AtpPolicyForO365": ["Get", "Set"];
    "ReportSubmissionPolicy": ["Get", "New", "Set", "Remove"];
    "ReportSubmissionRule": ["Get", "New", "Set", "Remove", "Enable", "Disable"];
    "RemoteDomain": ["Get", "New", "Set", "Remove"];
    "OwaMailboxPolicy": ["Get", "New", "Set", "Remove"];
    "SharingPolicy": ["Get", "New", "Set", "Remove"];
    "RoleAssignmentPolicy": ["Get"];
    "AntiPhishPolicy": ["Get", "New", "Set", "Remove"];
    "AntiPhishRule": ["Get", "New", "Set", "Remove", "Enable", "Disable"];
    "MalwareFilterPolicy": ["Get", "New", "Set", "Remove"];
    "MalwareFilterRule": ["Get", "New", "Set", "Remove", "Enable", "Disable"];
    "SafeAttachmentPolicy": ["Get", "New", "Set", "Remove"];
    "SafeAttachmentRule": ["Get", "New", "Set", "Remove", "Enable", "Disable"];
    "HostedOutboundSpamFilterPolicy": ["Get", "New", "Set", "Remove"];
};

/// For a rule noun: the parameter naming its policy, and the policy's noun.
fn policy_of(noun: &str) -> Option<&'static str> {
    match noun.to_ascii_lowercase().as_str() {
        "hostedcontentfilterrule" => Some("HostedContentFilterPolicy"),
        "safelinksrule" => Some("SafeLinksPolicy"),
        "antiphishrule" => Some("AntiPhishPolicy"),
        "malwarefilterrule" => Some("MalwareFilterPolicy"),
        "safeattachmentrule" => Some("SafeAttachmentPolicy"),
        "reportsubmissionrule" => Some("ReportSubmissionPolicy"),
        _ => None,
    }
}

/// The rule noun bound to a policy noun.
fn rule_of(noun: &str) -> Option<&'static str> {
    match noun.to_ascii_lowercase().as_str() {
        "hostedcontentfilterpolicy" => Some("HostedContentFilterRule"),
        "safelinkspolicy" => Some("SafeLinksRule"),
        "antiphishpolicy" => Some("AntiPhishRule"),
        "malwarefilterpolicy" => Some("MalwareFilterRule"),
        "safeattachmentpolicy" => Some("SafeAttachmentRule"),
        "reportsubmissionpolicy" => Some("ReportSubmissionRule"),
        _ => None,
    }
}

/// The fixed name of a singleton noun.
fn fixed_name(noun: &str) -> Option<&'static str> {
    match exo_config::spec(noun)?.shape {
        Shape::Fixed(name) => Some(name),
        Shape::Named => None,
    }
}

/// For a configuration noun: the first parameter the cmdlet does not bind.
fn unbound_param<'a>(verb: &str, noun: &str, params: &'a Map<String, Value>) -> Option<&'a str> {
    exo_config::spec(noun)?;
    let fixed = fixed_name(noun).is_some();
    let props = defaults(noun);
    let rule = policy_of(noun);
    params
        .keys()
        .find(|k| {
            let k = k.as_str();
            let is = |n: &str| k.eq_ignore_ascii_case(n);
            let settable = !exo_config::SERVER_OWNED.iter().any(|s| is(s))
                && props.as_object().is_some_and(|m| m.keys().any(|p| is(p)));
            let ok = match verb {
                "get" => is("Identity"),
                "remove" | "enable" | "disable" => is("Identity") || is("Confirm"),
                "new" => {
                    settable
                        || (is("Name") && !fixed)
                        || (rule.is_some() && (is("Priority") || is("Enabled")))
                        || rule.is_some_and(&is)
                }
                _ => {
                    settable
                        || is("Identity")
                        || (rule.is_some() && is("Priority"))
                        || rule.is_some_and(&is)
                        || (noun == "OrganizationConfig" && is("AutoExpandingArchive"))
                }
            };
            !ok
        })
        .map(String::as_str)
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
    if let Some(bad) = unbound_param(verb, noun, ctx.params) {
        return bind_error(&format!(
            "A parameter cannot be found that matches parameter name '{bad}'."
        ));
    }
    if let Err(r) = check_values(ctx, noun) {
        return r;
    }
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

/// Checks every parameter's value against Exchange's enumerations, ranges and types.
fn check_values(ctx: &ExoCtx<'_>, noun: &str) -> Result<(), Reply> {
    let props = defaults(noun);
    let strict = exo_config::spec(noun).is_some();
    for (k, v) in ctx.params {
        if let Err(message) = exo_config::check_value(noun, k, v) {
            return Err(bind_error(&message));
        }
        // A switch or Boolean property takes $true or $false.
        let current = props
            .as_object()
            .and_then(|m| m.iter().find(|(p, _)| p.eq_ignore_ascii_case(k)))
            .map(|(_, v)| v);
        if strict && matches!(current, Some(Value::Bool(_))) && !v.is_boolean() {
            return Err(bind_error(&format!(
                "Cannot bind parameter '{k}'. Cannot convert value \"{v}\" to type \"System.Boolean\". Boolean parameters accept only Boolean values and numbers, such as $True, $False, 1 or 0."
            )));
        }
    }
    Ok(())
}

/// A multi-valued property's new value: a list replaces it, one value is a list of one,
/// `$null` empties it, and a hashtable (`@{Add=…; Remove=…}`) adds and removes entries.
fn multi_value(current: &Value, given: &Value) -> Value {
    let items = |v: Option<&Value>| -> Vec<Value> {
        match v {
            Some(Value::Array(a)) => a.clone(),
            Some(Value::Null) | None => Vec::new(),
            Some(one) => vec![one.clone()],
        }
    };
    match given {
        Value::Array(_) => given.clone(),
        Value::Null => json!([]),
        Value::Object(h) => {
            let get = |name: &str| {
                h.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v)
            };
            let same = |a: &Value, b: &Value| match (a.as_str(), b.as_str()) {
                (Some(x), Some(y)) => x.eq_ignore_ascii_case(y),
                _ => a == b,
            };
            let mut out = items(Some(current));
            for a in items(get("Add")) {
                if !out.iter().any(|x| same(x, &a)) {
                    out.push(a);
                }
            }
            let remove = items(get("Remove"));
            out.retain(|x| !remove.iter().any(|r| same(x, r)));
            Value::Array(out)
        }
        one => json!([one]),
    }
}

fn apply_params(noun: &str, row: &mut Value, params: &Map<String, Value>) {
    for (k, v) in params {
        if ["Identity", "Name", "Confirm", "Enabled"]
            .iter()
            .any(|s| s.eq_ignore_ascii_case(k))
        {
            continue;
        }
        if noun == "OrganizationConfig" && k.eq_ignore_ascii_case("AutoExpandingArchive") {
            // A switch: once on, auto-expanding archiving stays on.
            if v.as_bool() != Some(false) {
                row["AutoExpandingArchiveEnabled"] = json!(true);
            }
            continue;
        }
        // Keep the row's own spelling of a known property.
        let key = row
            .as_object()
            .and_then(|m| m.keys().find(|x| x.eq_ignore_ascii_case(k)).cloned())
            .unwrap_or_else(|| k.clone());
        let value = exo_config::check_value(noun, k, v).unwrap_or_else(|_| v.clone());
        let value = match &row[key.as_str()] {
            current @ Value::Array(_) => multi_value(current, &value),
            Value::Null if value.is_object() => multi_value(&Value::Null, &value),
            _ => value,
        };
        row[key.as_str()] = value;
    }
}

/// Moves the rules of `noun` other than the one at `except` down from `priority` on, so
/// that priorities stay unique (Exchange renumbers them the same way).
fn make_room(ctx: &mut ExoCtx<'_>, noun: &str, priority: u64, except: Option<usize>) {
    let Some(rows) = ctx.t.protection.rows_mut(noun) else {
        return;
    };
    let taken = rows
        .iter()
        .enumerate()
        .any(|(i, r)| Some(i) != except && r["Priority"].as_u64() == Some(priority));
    if !taken {
        return;
    }
    for (i, r) in rows.iter_mut().enumerate() {
        if Some(i) == except {
            continue;
        }
        if let Some(p) = r["Priority"].as_u64().filter(|p| *p >= priority) {
            r["Priority"] = json!(p + 1);
        }
    }
}

fn create(ctx: &mut ExoCtx<'_>, noun: &str) -> Reply {
    let name = ctx
        .str("Name")
        .map(str::to_owned)
        .or_else(|| fixed_name(noun).map(str::to_owned));
    let Some(obj_name) = name else {
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
    apply_params(noun, &mut row, ctx.params);
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
    let id = match (ctx.str("Identity"), fixed_name(noun)) {
        (Some(id), _) => id.to_owned(),
        (None, Some(fixed)) => fixed.to_owned(),
        (None, None) => return bind_error(
            "Cannot process command because of one or more missing mandatory parameters: Identity.",
        ),
    };
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
    apply_params(noun, &mut row, ctx.params);
    if let Some(enabled) = ctx.param("Enabled").and_then(Value::as_bool) {
        row["Enabled"] = json!(enabled);
    }
    if noun == "OrganizationConfig"
        && ctx.param("AutoExpandingArchive").and_then(Value::as_bool) == Some(false)
        && before["AutoExpandingArchiveEnabled"] == json!(true)
    {
        return argument_error(
            "Auto-expanding archiving can't be turned off for the organization once it's enabled.",
        );
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
    if rule {
        if let Some(p) = ctx.param("Priority").and_then(Value::as_u64) {
            make_room(ctx, noun, p, Some(i));
        }
    }
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
