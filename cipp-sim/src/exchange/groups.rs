//! Exchange groups: distribution lists and mail-enabled security groups (directory objects,
//! so Graph lists them with `mailEnabled: true`, `groupTypes: []`) and dynamic distribution
//! groups (Exchange only; Graph never lists them).

use serde_json::{json, Value};

use super::{bind_error, exo_error, not_found, ok, warn, Cmdlet, ExoCtx};
use crate::state::{synthetic_guid, SimTenant};
use crate::Reply;

pub(crate) const CMDLETS: &[Cmdlet] = &[
    Cmdlet {
        name: "New-DistributionGroup",
        params: &[
            "Name",
            "DisplayName",
            "Alias",
            "PrimarySmtpAddress",
            "Type",
            "Description",
            "RequireSenderAuthenticationEnabled",
            "ManagedBy",
            "Members",
        ],
        run: new_dl,
    },
    Cmdlet {
        name: "Set-DistributionGroup",
        params: &[
            "Identity",
            "DisplayName",
            "Description",
            "RequireSenderAuthenticationEnabled",
            "HiddenFromAddressListsEnabled",
        ],
        run: set_dl,
    },
    Cmdlet {
        name: "Get-DistributionGroup",
        params: &["Identity", "ResultSize", "Filter"],
        run: get_dl,
    },
    Cmdlet {
        name: "New-DynamicDistributionGroup",
        params: &[
            "Name",
            "DisplayName",
            "Alias",
            "PrimarySmtpAddress",
            "RecipientFilter",
            "IncludedRecipients",
        ],
        run: new_ddg,
    },
    Cmdlet {
        name: "Set-DynamicDistributionGroup",
        params: &[
            "Identity",
            "DisplayName",
            "RecipientFilter",
            "RequireSenderAuthenticationEnabled",
            "HiddenFromAddressListsEnabled",
        ],
        run: set_ddg,
    },
    Cmdlet {
        name: "Get-DynamicDistributionGroup",
        params: &["Identity", "ResultSize", "Filter"],
        run: get_ddg,
    },
];

fn missing(name: &str) -> Reply {
    bind_error(&format!(
        "Cannot process command because of one or more missing mandatory parameters: {name}."
    ))
}

/// An alias Exchange derives from a name.
fn alias_of(name: &str) -> String {
    let a: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .take(64)
        .collect();
    if a.is_empty() {
        "group".to_owned()
    } else {
        a
    }
}

fn is_dl(g: &Value) -> bool {
    g["mailEnabled"] == json!(true)
        && !g["groupTypes"]
            .as_array()
            .is_some_and(|a| a.iter().any(|t| t == "Unified"))
}

fn eq(v: &Value, s: &str) -> bool {
    v.as_str().is_some_and(|x| x.eq_ignore_ascii_case(s))
}

/// The id of the distribution list or mail-enabled security group `identity` names.
fn find_dl(t: &SimTenant, identity: &str) -> Option<String> {
    t.groups()
        .iter()
        .filter(|g| is_dl(g))
        .find(|g| {
            ["id", "displayName", "mail", "mailNickname"]
                .iter()
                .any(|k| eq(&g[*k], identity))
        })
        .and_then(|g| g["id"].as_str().map(str::to_owned))
}

fn find_ddg(t: &SimTenant, identity: &str) -> Option<usize> {
    t.exchange.dynamic_groups.iter().position(|g| {
        [
            "Identity",
            "Name",
            "DisplayName",
            "Alias",
            "PrimarySmtpAddress",
            "Guid",
        ]
        .iter()
        .any(|k| eq(&g[*k], identity))
    })
}

/// Whether a recipient already holds `name` or `address` (the errors Exchange gives).
fn taken(t: &SimTenant, name: &str, address: &str) -> Option<Reply> {
    let name_used = t.groups().iter().any(|g| eq(&g["displayName"], name))
        || t.exchange
            .dynamic_groups
            .iter()
            .any(|g| eq(&g["Name"], name));
    if name_used {
        return Some(exo_error(
            400,
            "Microsoft.Exchange.Data.Directory.ADObjectAlreadyExistsException",
            &format!("The name \"{name}\" is already being used. Please try another name."),
        ));
    }
    let addr_used = t.groups().iter().any(|g| eq(&g["mail"], address))
        || t.users()
            .iter()
            .any(|u| eq(&u["userPrincipalName"], address))
        || t.exchange
            .dynamic_groups
            .iter()
            .any(|g| eq(&g["PrimarySmtpAddress"], address));
    addr_used.then(|| {
        exo_error(
            400,
            "Microsoft.Exchange.Data.DataValidationException",
            &format!("The proxy address \"SMTP:{address}\" is already being used by the proxy addresses or LegacyExchangeDN. Please choose another proxy address."),
        )
    })
}

/// Name, display name, alias and primary address of a new group.
fn naming(ctx: &ExoCtx<'_>) -> Result<(String, String, String, String), Reply> {
    let name = ctx
        .str("Name")
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| missing("Name"))?
        .to_owned();
    let display = ctx.str("DisplayName").unwrap_or(&name).to_owned();
    let alias = ctx
        .str("Alias")
        .map_or_else(|| alias_of(&name), str::to_owned);
    let address = match ctx.str("PrimarySmtpAddress") {
        Some(a) => a.to_owned(),
        None => format!("{alias}@{}", ctx.t.default_domain),
    };
    if !address.contains('@') {
        return Err(exo_error(
            400,
            "Microsoft.Exchange.Data.DataValidationException",
            &format!("\"{address}\" isn't a valid SMTP address."),
        ));
    }
    if let Some(r) = taken(ctx.t, &name, &address) {
        return Err(r);
    }
    Ok((name, display, alias, address))
}

/// A distribution list or mail-enabled security group as `Get-DistributionGroup` shows it.
fn dl_row(t: &SimTenant, g: &Value) -> Value {
    let id = g["id"].as_str().unwrap_or_default();
    let security = g["securityEnabled"] == json!(true);
    let settings = t.exchange.group_settings.get(id);
    let setting = |k: &str, default: bool| settings.and_then(|s| s[k].as_bool()).unwrap_or(default);
    let description: Vec<Value> = g["description"]
        .as_str()
        .filter(|d| !d.is_empty())
        .map(|d| vec![json!(d)])
        .unwrap_or_default();
    json!({
        "Identity": g["displayName"], "Name": g["displayName"], "DisplayName": g["displayName"],
        "Alias": g["mailNickname"], "PrimarySmtpAddress": g["mail"],
        "EmailAddresses": [format!("SMTP:{}", g["mail"].as_str().unwrap_or_default())],
        "Description": description,
        "GroupType": if security { "Universal, SecurityEnabled" } else { "Universal" },
        "RecipientType": if security { "MailUniversalSecurityGroup" } else { "MailUniversalDistributionGroup" },
        "RecipientTypeDetails": if security { "MailUniversalSecurityGroup" } else { "MailUniversalDistributionGroup" },
        "ExternalDirectoryObjectId": id,
        "Guid": synthetic_guid(&format!("exo-group-{id}")),
        "RequireSenderAuthenticationEnabled": setting("RequireSenderAuthenticationEnabled", true),
        "HiddenFromAddressListsEnabled": setting("HiddenFromAddressListsEnabled", false),
        "WhenCreated": g["createdDateTime"],
    })
}

fn new_dl(ctx: &mut ExoCtx<'_>) -> Reply {
    let security = match ctx.str("Type").unwrap_or("Distribution") {
        t if t.eq_ignore_ascii_case("Distribution") => false,
        t if t.eq_ignore_ascii_case("Security") => true,
        other => {
            return bind_error(&format!(
                "Cannot bind parameter 'Type'. Cannot convert value \"{other}\" to type \"Microsoft.Exchange.Data.Directory.Recipient.GroupType\". Valid values: Distribution, Security."
            ))
        }
    };
    let (_, display, alias, address) = match naming(ctx) {
        Ok(n) => n,
        Err(r) => return r,
    };
    let mut group = json!({
        "displayName": display, "mailEnabled": true, "securityEnabled": security,
        "groupTypes": [], "mailNickname": alias, "mail": address,
        "proxyAddresses": [format!("SMTP:{address}")], "createdDateTime": ctx.now,
        "description": null,
    });
    if let Some(d) = ctx.str("Description").filter(|d| !d.is_empty()) {
        group["description"] = json!(d);
    }
    let require = ctx
        .param("RequireSenderAuthenticationEnabled")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let id = ctx.t.add_group(group);
    ctx.t.directory.members.insert(id.clone(), Vec::new());
    ctx.t.directory.owners.insert(id.clone(), Vec::new());
    ctx.t.exchange.group_settings.insert(
        id.clone(),
        json!({"RequireSenderAuthenticationEnabled": require}),
    );
    let Some(g) = ctx.t.directory.group(&id).cloned() else {
        return not_found(&id);
    };
    ok(vec![dl_row(ctx.t, &g)])
}

fn set_dl(ctx: &mut ExoCtx<'_>) -> Reply {
    let identity = ctx.identity();
    let Some(id) = find_dl(ctx.t, &identity) else {
        return not_found(&identity);
    };
    let Some(before) = ctx.t.directory.group(&id).cloned() else {
        return not_found(&identity);
    };
    let before_settings = ctx.t.exchange.group_settings.get(&id).cloned();
    let mut after = before.clone();
    if let Some(d) = ctx.str("DisplayName") {
        after["displayName"] = json!(d);
    }
    if let Some(d) = ctx.param("Description") {
        let text = match d {
            Value::Array(a) => a
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("\n"),
            other => other.as_str().unwrap_or_default().to_owned(),
        };
        after["description"] = if text.is_empty() {
            Value::Null
        } else {
            json!(text)
        };
    }
    let mut settings = before_settings.clone().unwrap_or_else(|| json!({}));
    for k in [
        "RequireSenderAuthenticationEnabled",
        "HiddenFromAddressListsEnabled",
    ] {
        if let Some(v) = ctx.param(k).and_then(Value::as_bool) {
            settings[k] = json!(v);
        }
    }
    let same_settings = settings == before_settings.clone().unwrap_or_else(|| json!({}));
    if after == before && same_settings {
        return warn(&format!(
            "The command completed successfully but no settings of '{identity}' have been modified."
        ));
    }
    if let Some(Value::Object(stored)) = ctx.t.directory.groups_mut().get_mut(&id) {
        if let Value::Object(a) = after {
            *stored = a;
        }
    }
    ctx.t.exchange.group_settings.insert(id, settings);
    ok(Vec::new())
}

fn get_dl(ctx: &mut ExoCtx<'_>) -> Reply {
    let t = &*ctx.t;
    if let Some(identity) = ctx.str("Identity") {
        return match find_dl(t, identity).and_then(|id| t.directory.group(&id)) {
            Some(g) => ok(vec![dl_row(t, g)]),
            None => not_found(identity),
        };
    }
    ok(t.groups()
        .iter()
        .filter(|g| is_dl(g))
        .map(|g| dl_row(t, g))
        .collect())
}

/// The clauses Exchange Online appends to every dynamic distribution group's
/// `RecipientFilter` (system, discovery, public folder, arbitration and audit mailboxes).
const SYSTEM_EXCLUSIONS: &str =
    "(-not(Name -like 'SystemMailbox{*')) -and (-not(Name -like 'CAS_{*')) \
    -and (-not(RecipientTypeDetailsValue -eq 'MailboxPlan')) \
    -and (-not(RecipientTypeDetailsValue -eq 'DiscoveryMailbox')) \
    -and (-not(RecipientTypeDetailsValue -eq 'PublicFolderMailbox')) \
    -and (-not(RecipientTypeDetailsValue -eq 'ArbitrationMailbox')) \
    -and (-not(RecipientTypeDetailsValue -eq 'AuditLogMailbox')) \
    -and (-not(RecipientTypeDetailsValue -eq 'AuxAuditLogMailbox')) \
    -and (-not(RecipientTypeDetailsValue -eq 'SupervisoryReviewPolicyMailbox'))";

/// A recipient filter as Exchange Online stores and returns it: the user's filter in
/// parentheses, the system exclusions appended.
fn stored_filter(user: &str) -> String {
    format!("(({}) -and {SYSTEM_EXCLUSIONS})", user.trim())
}

fn new_ddg(ctx: &mut ExoCtx<'_>) -> Reply {
    let filter = ctx.str("RecipientFilter").map(stored_filter);
    let included = ctx.str("IncludedRecipients").map(str::to_owned);
    if filter.is_none() && included.is_none() {
        return missing("RecipientFilter");
    }
    if filter.is_some() && included.is_some() {
        return bind_error(
            "Parameter set cannot be resolved using the specified named parameters.",
        );
    }
    let (name, display, alias, address) = match naming(ctx) {
        Ok(n) => n,
        Err(r) => return r,
    };
    let n = ctx.t.next_seq();
    let guid = synthetic_guid(&format!("{}-ddg-{n}", ctx.t.id));
    let row = json!({
        "Identity": name, "Name": name, "DisplayName": display, "Alias": alias,
        "PrimarySmtpAddress": address, "EmailAddresses": [format!("SMTP:{address}")],
        "RecipientFilter": filter, "IncludedRecipients": included,
        "RecipientType": "DynamicDistributionGroup", "RecipientTypeDetails": "DynamicDistributionGroup",
        "Guid": guid, "ExternalDirectoryObjectId": "", "RequireSenderAuthenticationEnabled": true,
        "HiddenFromAddressListsEnabled": false, "WhenCreated": ctx.now, "WhenChanged": ctx.now,
    });
    ctx.t.exchange.dynamic_groups.push(row.clone());
    ok(vec![row])
}

fn set_ddg(ctx: &mut ExoCtx<'_>) -> Reply {
    let identity = ctx.identity();
    let Some(i) = find_ddg(ctx.t, &identity) else {
        return not_found(&identity);
    };
    let now = ctx.now.clone();
    let mut row = ctx.t.exchange.dynamic_groups[i].clone();
    let before = row.clone();
    if let Some(d) = ctx.str("DisplayName") {
        row["DisplayName"] = json!(d);
    }
    if let Some(f) = ctx.str("RecipientFilter") {
        if f.trim().is_empty() {
            return bind_error("Cannot validate argument on parameter 'RecipientFilter'. The argument is null or empty.");
        }
        row["RecipientFilter"] = json!(stored_filter(f));
        row["IncludedRecipients"] = Value::Null;
    }
    for k in [
        "RequireSenderAuthenticationEnabled",
        "HiddenFromAddressListsEnabled",
    ] {
        if let Some(v) = ctx.param(k).and_then(Value::as_bool) {
            row[k] = json!(v);
        }
    }
    if row == before {
        return warn(&format!(
            "The command completed successfully but no settings of '{identity}' have been modified."
        ));
    }
    row["WhenChanged"] = json!(now);
    ctx.t.exchange.dynamic_groups[i] = row;
    ok(Vec::new())
}

fn get_ddg(ctx: &mut ExoCtx<'_>) -> Reply {
    let t = &*ctx.t;
    if let Some(identity) = ctx.str("Identity") {
        return match find_ddg(t, identity) {
            Some(i) => ok(vec![t.exchange.dynamic_groups[i].clone()]),
            None => not_found(identity),
        };
    }
    ok(t.exchange.dynamic_groups.clone())
}
