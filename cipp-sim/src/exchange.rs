//! The Exchange Online admin API (`InvokeCommand` and its `$batch`), statefully per tenant.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::state::{synthetic_guid, SimTenant};
use crate::{Reply, Sim};

/// A tenant's Exchange objects, as Exchange returns them (PascalCase JSON).
#[derive(Clone, Debug, Default)]
pub struct ExoState {
    /// Mailboxes.
    pub mailboxes: Vec<Value>,
    /// Mailbox UPN (lower case) → inbox rules, hidden system rules included.
    pub inbox_rules: BTreeMap<String, Vec<Value>>,
    /// Mailbox UPN → automatic reply configuration.
    pub auto_replies: BTreeMap<String, Value>,
    /// Mailbox permissions.
    pub mailbox_permissions: Vec<Value>,
    /// Recipient (SendAs) permissions.
    pub recipient_permissions: Vec<Value>,
    /// Folder permissions.
    pub folder_permissions: Vec<Value>,
    /// Mailbox UPN → mobile devices.
    pub mobile_devices: BTreeMap<String, Vec<Value>>,
    /// Transport rules.
    pub transport_rules: Vec<Value>,
    /// Whether the unified audit log is on (`None` until first read: on).
    pub unified_audit_log: Option<bool>,
    /// Unified audit log records.
    pub audit_records: Vec<Value>,
    /// Message trace rows.
    pub message_traces: Vec<Value>,
    /// The outbound spam filter policy.
    pub outbound_spam: Option<Value>,
    /// Search-UnifiedAuditLog sessions: id → records already returned.
    pub sessions: BTreeMap<String, usize>,
}

/// An Exchange-shaped cmdlet error.
pub(crate) fn exo_error(status: u16, exception: &str, message: &str) -> Reply {
    let code = format!("Ex{:06X}", message.len() * 7919 % 0xFFFFFF);
    Reply::json(
        status,
        json!({"error": {
            "code": "InternalServerError",
            "message": "Error executing cmdlet",
            "details": [{"code": "Context", "target": "", "message": format!("{code}|{exception}|{message}")}],
            "innererror": {
                "message": "Error executing cmdlet",
                "type": "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
                "internalException": {"message": message, "type": exception}
            }
        }}),
    )
}

fn not_found(identity: &str) -> Reply {
    exo_error(
        404,
        "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
        &format!("The operation couldn't be performed because object '{identity}' couldn't be found on 'SIMPR01A001DC01.SIMPR01A001.prod.outlook.com'."),
    )
}

/// Builds a tenant's mailboxes from its users (licensed, enabled users get one).
pub fn seed_from_users(t: &mut SimTenant) {
    let mut mailboxes = Vec::new();
    for u in &t.users {
        let Some(upn) = u["userPrincipalName"].as_str() else {
            continue;
        };
        let alias = upn.split('@').next().unwrap_or(upn);
        mailboxes.push(json!({
            "Identity": u["displayName"], "Name": alias, "Alias": alias, "DisplayName": u["displayName"],
            "UserPrincipalName": upn, "PrimarySmtpAddress": upn, "ExternalDirectoryObjectId": u["id"],
            "EmailAddresses": [format!("SMTP:{upn}"), format!("smtp:{alias}@{}", t.initial_domain())],
            "RecipientTypeDetails": "UserMailbox", "ForwardingAddress": null, "ForwardingSmtpAddress": null,
            "DeliverToMailboxAndForward": false, "HiddenFromAddressListsEnabled": false, "ArchiveStatus": "None",
            "GrantSendOnBehalfTo": [], "TotalItemSize": "1.2 GB (1,288,490,188 bytes)"
        }));
    }
    for m in &mailboxes {
        let upn = m["UserPrincipalName"]
            .as_str()
            .unwrap_or_default()
            .to_ascii_lowercase();
        t.exchange.inbox_rules.entry(upn.clone()).or_default().push(json!({
            "Identity": format!("{upn}\\{}", synthetic_guid(&format!("junk-{upn}"))), "Name": "Junk E-Mail Rule",
            "Enabled": true, "Priority": 0, "Description": "Junk e-mail rule (hidden)", "IsHidden": true
        }));
    }
    t.exchange.mailboxes = mailboxes;
}

fn find_mailbox(t: &SimTenant, identity: &str) -> Option<usize> {
    let id = identity.to_ascii_lowercase();
    t.exchange.mailboxes.iter().position(|m| {
        [
            "Identity",
            "Name",
            "Alias",
            "UserPrincipalName",
            "PrimarySmtpAddress",
            "ExternalDirectoryObjectId",
            "DisplayName",
        ]
        .iter()
        .any(|k| m[*k].as_str().is_some_and(|v| v.to_ascii_lowercase() == id))
            || m["EmailAddresses"].as_array().is_some_and(|a| {
                a.iter().filter_map(Value::as_str).any(|e| {
                    e.split_once(':')
                        .is_some_and(|(_, x)| x.to_ascii_lowercase() == id)
                })
            })
    })
}

fn upn_of(t: &SimTenant, i: usize) -> String {
    t.exchange.mailboxes[i]["UserPrincipalName"]
        .as_str()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

fn find_dl(t: &SimTenant, identity: &str) -> Option<String> {
    t.groups
        .iter()
        .filter(|g| g["mailEnabled"] == json!(true))
        .find(|g| {
            ["id", "displayName", "mail", "mailNickname"]
                .iter()
                .any(|k| {
                    g[*k]
                        .as_str()
                        .is_some_and(|v| v.eq_ignore_ascii_case(identity))
                })
        })
        .and_then(|g| g["id"].as_str().map(str::to_owned))
}

/// Known cmdlets and their parameters (anything else is refused like PowerShell would).
fn allowed(cmdlet: &str) -> Option<&'static [&'static str]> {
    Some(match cmdlet.to_ascii_lowercase().as_str() {
        "get-mailbox" => &["Identity", "ResultSize", "Filter", "RecipientTypeDetails"],
        "set-mailbox" => &[
            "Identity",
            "EmailAddresses",
            "ForwardingAddress",
            "ForwardingSMTPAddress",
            "DeliverToMailboxAndForward",
            "HiddenFromAddressListsEnabled",
            "Type",
            "GrantSendOnBehalfTo",
        ],
        "get-mailboxstatistics" => &["Identity"],
        "enable-mailbox" => &["Identity", "Archive", "AutoExpandingArchive"],
        "get-inboxrule" => &["Mailbox", "IncludeHidden", "Identity"],
        "disable-inboxrule" | "enable-inboxrule" | "remove-inboxrule" => {
            &["Identity", "Confirm", "Mailbox"]
        }
        "get-mailboxautoreplyconfiguration" => &["Identity"],
        "set-mailboxautoreplyconfiguration" => &[
            "Identity",
            "AutoReplyState",
            "InternalMessage",
            "ExternalMessage",
            "ExternalAudience",
            "StartTime",
            "EndTime",
        ],
        "get-mailboxpermission" => &["Identity", "User"],
        "add-mailboxpermission" | "remove-mailboxpermission" => &[
            "Identity",
            "User",
            "AccessRights",
            "AutoMapping",
            "InheritanceType",
            "Confirm",
        ],
        "get-recipientpermission" => &["Identity", "Trustee"],
        "add-recipientpermission" | "remove-recipientpermission" => {
            &["Identity", "Trustee", "AccessRights", "Confirm"]
        }
        "get-mailboxfolderpermission" => &["Identity", "User"],
        "add-mailboxfolderpermission"
        | "set-mailboxfolderpermission"
        | "remove-mailboxfolderpermission" => &["Identity", "User", "AccessRights", "Confirm"],
        "add-distributiongroupmember" | "remove-distributiongroupmember" => &[
            "Identity",
            "Member",
            "BypassSecurityGroupManagerCheck",
            "Confirm",
        ],
        "get-distributiongroupmember" => &["Identity", "ResultSize"],
        "get-mobiledevice" => &["Mailbox", "Identity"],
        "remove-mobiledevice" => &["Identity", "Confirm"],
        "get-transportrule" => &["Identity"],
        "new-transportrule"
        | "set-transportrule"
        | "remove-transportrule"
        | "enable-transportrule"
        | "disable-transportrule" => &["*"],
        "get-adminauditlogconfig" => &[],
        "set-adminauditlogconfig" => &["UnifiedAuditLogIngestionEnabled"],
        "search-unifiedauditlog" => &[
            "StartDate",
            "EndDate",
            "Operations",
            "UserIds",
            "SessionId",
            "SessionCommand",
            "ResultSize",
            "RecordType",
        ],
        "get-messagetracev2" => &["SenderAddress", "RecipientAddress", "StartDate", "EndDate"],
        "get-hostedoutboundspamfilterpolicy" => &["Identity"],
        "remove-calendarevents" => &[
            "Identity",
            "QueryWindowInDays",
            "CancelOrganizedMeetings",
            "Confirm",
        ],
        "set-hostedoutboundspamfilterpolicy" => &["Identity", "AutoForwardingMode"],
        _ => return None,
    })
}

fn str_param<'a>(p: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    p.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.as_str())
}

fn param<'a>(p: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    p.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

fn time_of(v: Option<&str>) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(v?)
        .ok()
        .map(|d| d.with_timezone(&chrono::Utc))
}

fn ok(rows: Vec<Value>) -> Reply {
    Reply::json(
        200,
        json!({"@odata.context": "https://outlook.office365.com/adminapi/beta/$metadata#Collection(Exchange.GenericHashTable)", "value": rows}),
    )
}

fn warn(msg: &str) -> Reply {
    Reply::json(200, json!({"@adminapi.warnings": [msg], "value": []}))
}

/// Answers `POST /adminapi/beta/{tenant}/InvokeCommand`.
pub(crate) fn invoke(
    sim: &Sim,
    tenant: &str,
    body: &[u8],
    now: &str,
    origin: &str,
    skip: usize,
) -> Reply {
    let Ok(b) = serde_json::from_slice::<Value>(body) else {
        return exo_error(
            400,
            "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
            "The request body is not valid JSON.",
        );
    };
    let name = b["CmdletInput"]["CmdletName"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    let params = b["CmdletInput"]["Parameters"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let Some(allowed_params) = allowed(&name) else {
        return exo_error(
            400,
            "System.Management.Automation.CommandNotFoundException",
            &format!("The term '{name}' is not recognized as a name of a cmdlet, function, script file, or executable program."),
        );
    };
    if allowed_params != ["*"] {
        if let Some(bad) = params
            .keys()
            .find(|k| !allowed_params.iter().any(|a| a.eq_ignore_ascii_case(k)))
        {
            return exo_error(
                400,
                "System.Management.Automation.ParameterBindingException",
                &format!("A parameter cannot be found that matches parameter name '{bad}'."),
            );
        }
    }
    let mut state = sim.lock_state();
    let Some(t) = state.tenant_mut(tenant) else {
        return exo_error(401, "UnauthorizedAccessException", "The tenant is unknown.");
    };
    if t.exchange.mailboxes.is_empty() && !t.users.is_empty() {
        seed_from_users(t);
    }
    let identity = str_param(&params, "Identity").map(str::to_owned);
    let mailbox_of = |t: &SimTenant, key: &str| -> Result<usize, Reply> {
        find_mailbox(t, key).ok_or_else(|| not_found(key))
    };
    match name.to_ascii_lowercase().as_str() {
        "get-mailbox" => {
            let rows: Vec<Value> = match &identity {
                Some(id) => match mailbox_of(t, id) {
                    Ok(i) => vec![t.exchange.mailboxes[i].clone()],
                    Err(r) => return r,
                },
                None => {
                    let filter = str_param(&params, "Filter").unwrap_or("");
                    t.exchange
                        .mailboxes
                        .iter()
                        .filter(|m| {
                            filter.is_empty()
                                || m["RecipientTypeDetails"].as_str().is_some_and(|r| filter.contains(&format!("'{r}'")))
                        })
                        .cloned()
                        .collect()
                }
            };
            let page = 1000;
            let total = rows.len();
            let slice: Vec<Value> = rows.into_iter().skip(skip).take(page).collect();
            let mut out = json!({"value": slice});
            if skip + page < total {
                out["@odata.nextLink"] = json!(format!("{origin}/adminapi/beta/{tenant}/InvokeCommand?$skiptoken={}", skip + page));
            }
            Reply::json(200, out)
        }
        "set-mailbox" => {
            let Some(id) = identity else { return not_found("") };
            let i = match mailbox_of(t, &id) {
                Ok(i) => i,
                Err(r) => return r,
            };
            let mut changed = false;
            let mb = &mut t.exchange.mailboxes[i];
            if let Some(list) = param(&params, "EmailAddresses") {
                let new: Vec<String> = match list {
                    Value::Array(_) => strings(Some(list)),
                    Value::Object(h) => {
                        let mut cur = strings(mb.get("EmailAddresses"));
                        for a in strings(h.get("add").or(h.get("Add"))) {
                            let a = if a.contains(':') { a } else { format!("smtp:{a}") };
                            if !cur.iter().any(|c| c.eq_ignore_ascii_case(&a)) {
                                cur.push(a);
                            }
                        }
                        let rem = strings(h.get("remove").or(h.get("Remove")));
                        cur.retain(|c| !rem.iter().any(|r| c.split_once(':').is_some_and(|(_, x)| x.eq_ignore_ascii_case(r.split_once(':').map_or(r, |(_, y)| y)))));
                        cur
                    }
                    _ => return exo_error(400, "System.Management.Automation.ParameterBindingException", "Cannot bind EmailAddresses."),
                };
                let primaries: Vec<&String> = new.iter().filter(|a| a.starts_with("SMTP:")).collect();
                if primaries.len() != 1 {
                    return exo_error(400, "Microsoft.Exchange.Data.DataValidationException", "The proxy address list must contain exactly one primary SMTP address.");
                }
                let primary = primaries[0][5..].to_owned();
                changed |= mb["EmailAddresses"] != json!(new);
                mb["EmailAddresses"] = json!(new);
                mb["PrimarySmtpAddress"] = json!(primary);
            }
            for (k, field) in [("ForwardingAddress", "ForwardingAddress"), ("ForwardingSMTPAddress", "ForwardingSmtpAddress"), ("DeliverToMailboxAndForward", "DeliverToMailboxAndForward"), ("HiddenFromAddressListsEnabled", "HiddenFromAddressListsEnabled")] {
                if let Some(v) = param(&params, k) {
                    changed |= mb[field] != *v;
                    mb[field] = v.clone();
                }
            }
            if let Some(ty) = str_param(&params, "Type") {
                let details = match ty.to_ascii_lowercase().as_str() {
                    "regular" => "UserMailbox",
                    "shared" => "SharedMailbox",
                    "room" => "RoomMailbox",
                    "equipment" => "EquipmentMailbox",
                    _ => return exo_error(400, "System.Management.Automation.ParameterBindingException", &format!("Cannot convert value \"{ty}\" to type ConvertibleMailboxSubType.")),
                };
                changed |= mb["RecipientTypeDetails"] != json!(details);
                mb["RecipientTypeDetails"] = json!(details);
            }
            if let Some(Value::Object(h)) = param(&params, "GrantSendOnBehalfTo") {
                let mut cur = strings(mb.get("GrantSendOnBehalfTo"));
                for a in strings(h.get("add")) {
                    if !cur.iter().any(|c| c.eq_ignore_ascii_case(&a)) {
                        cur.push(a);
                        changed = true;
                    }
                }
                let rem = strings(h.get("remove"));
                let before = cur.len();
                cur.retain(|c| !rem.iter().any(|r| r.eq_ignore_ascii_case(c)));
                changed |= cur.len() != before;
                mb["GrantSendOnBehalfTo"] = json!(cur);
            }
            if changed {
                ok(Vec::new())
            } else {
                warn(&format!("The command completed successfully but no settings of '{id}' have been modified."))
            }
        }
        "get-mailboxstatistics" => match mailbox_of(t, identity.as_deref().unwrap_or("")) {
            Ok(i) => ok(vec![json!({"DisplayName": t.exchange.mailboxes[i]["DisplayName"], "TotalItemSize": t.exchange.mailboxes[i]["TotalItemSize"], "ItemCount": 1234})]),
            Err(r) => r,
        },
        "enable-mailbox" => match mailbox_of(t, identity.as_deref().unwrap_or("")) {
            Ok(i) => {
                let mb = &mut t.exchange.mailboxes[i];
                if mb["ArchiveStatus"] == json!("Active") && param(&params, "AutoExpandingArchive").is_none() {
                    return exo_error(400, "Microsoft.Exchange.Management.Tasks.RecipientTaskException", "The mailbox already has an archive.");
                }
                mb["ArchiveStatus"] = json!("Active");
                if param(&params, "AutoExpandingArchive") == Some(&json!(true)) {
                    mb["AutoExpandingArchiveEnabled"] = json!(true);
                }
                ok(vec![mb.clone()])
            }
            Err(r) => r,
        },
        "get-inboxrule" => {
            let Some(mbx) = str_param(&params, "Mailbox") else { return not_found("") };
            let i = match mailbox_of(t, mbx) {
                Ok(i) => i,
                Err(r) => return r,
            };
            let hidden = param(&params, "IncludeHidden") == Some(&json!(true));
            let rules: Vec<Value> = t
                .exchange
                .inbox_rules
                .get(&upn_of(t, i))
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter(|r| hidden || r["IsHidden"] != json!(true))
                .collect();
            ok(rules)
        }
        n @ ("disable-inboxrule" | "enable-inboxrule" | "remove-inboxrule") => {
            let id = identity.unwrap_or_default();
            let found = t.exchange.inbox_rules.iter_mut().find_map(|(_, rules)| {
                rules.iter().position(|r| r["Identity"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(&id))).map(|p| (rules, p))
            });
            match found {
                Some((rules, p)) => {
                    match n {
                        "remove-inboxrule" => {
                            rules.remove(p);
                        }
                        _ => rules[p]["Enabled"] = json!(n == "enable-inboxrule"),
                    }
                    ok(Vec::new())
                }
                None => not_found(&id),
            }
        }
        "get-mailboxautoreplyconfiguration" => match mailbox_of(t, identity.as_deref().unwrap_or("")) {
            Ok(i) => {
                let upn = upn_of(t, i);
                let cfg = t.exchange.auto_replies.get(&upn).cloned().unwrap_or(json!({
                    "Identity": upn, "AutoReplyState": "Disabled", "ExternalAudience": "All",
                    "InternalMessage": null, "ExternalMessage": null, "StartTime": null, "EndTime": null}));
                ok(vec![cfg])
            }
            Err(r) => r,
        },
        "set-mailboxautoreplyconfiguration" => match mailbox_of(t, identity.as_deref().unwrap_or("")) {
            Ok(i) => {
                let upn = upn_of(t, i);
                let state = str_param(&params, "AutoReplyState").unwrap_or("Disabled");
                if !["enabled", "disabled", "scheduled"].contains(&state.to_ascii_lowercase().as_str()) {
                    return exo_error(400, "System.Management.Automation.ParameterBindingException", &format!("Cannot convert value \"{state}\" to type OofState."));
                }
                if state.eq_ignore_ascii_case("scheduled") {
                    match (time_of(str_param(&params, "StartTime")), time_of(str_param(&params, "EndTime"))) {
                        (Some(s), Some(e)) if e > s => {}
                        _ => return exo_error(400, "Microsoft.Exchange.Data.DataValidationException", "The end time must be later than the start time."),
                    }
                }
                let mut cfg = t.exchange.auto_replies.get(&upn).cloned().unwrap_or(json!({"Identity": upn}));
                for k in ["AutoReplyState", "InternalMessage", "ExternalMessage", "ExternalAudience", "StartTime", "EndTime"] {
                    if let Some(v) = param(&params, k) {
                        cfg[k] = v.clone();
                    }
                }
                t.exchange.auto_replies.insert(upn, cfg);
                ok(Vec::new())
            }
            Err(r) => r,
        },
        "get-mailboxpermission" => match mailbox_of(t, identity.as_deref().unwrap_or("")) {
            Ok(i) => {
                let upn = upn_of(t, i);
                let mut rows = vec![json!({"Identity": upn, "User": "NT AUTHORITY\\SELF", "AccessRights": ["FullAccess", "ReadPermission"], "IsInherited": false, "Deny": false})];
                rows.extend(t.exchange.mailbox_permissions.iter().filter(|p| p["Identity"].as_str() == Some(upn.as_str())).cloned());
                ok(rows)
            }
            Err(r) => r,
        },
        n @ ("add-mailboxpermission" | "remove-mailboxpermission") => {
            let i = match mailbox_of(t, identity.as_deref().unwrap_or("")) {
                Ok(i) => i,
                Err(r) => return r,
            };
            let user = str_param(&params, "User").unwrap_or("").to_ascii_lowercase();
            if find_mailbox(t, &user).is_none() {
                return not_found(&user);
            }
            let upn = upn_of(t, i);
            let rights = strings(param(&params, "AccessRights"));
            let list = &mut t.exchange.mailbox_permissions;
            let pos = list.iter().position(|p| p["Identity"].as_str() == Some(upn.as_str()) && p["User"].as_str() == Some(user.as_str()));
            if n == "add-mailboxpermission" {
                if pos.is_some() {
                    return warn(&format!("The appropriate access control entry is already present on object \"{upn}\" for account \"{user}\"."));
                }
                list.push(json!({"Identity": upn, "User": user, "AccessRights": rights, "IsInherited": false, "Deny": false,
                                 "AutoMapping": param(&params, "AutoMapping").cloned().unwrap_or(json!(true))}));
                ok(vec![list[list.len() - 1].clone()])
            } else {
                match pos {
                    Some(p) => {
                        list.remove(p);
                        ok(Vec::new())
                    }
                    None => warn(&format!("Can't remove the access control entry on the object \"{upn}\" for account \"{user}\" because the ACE doesn't exist on the object.")),
                }
            }
        }
        "get-recipientpermission" => match mailbox_of(t, identity.as_deref().unwrap_or("")) {
            Ok(i) => {
                let upn = upn_of(t, i);
                ok(t.exchange.recipient_permissions.iter().filter(|p| p["Identity"].as_str() == Some(upn.as_str())).cloned().collect())
            }
            Err(r) => r,
        },
        n @ ("add-recipientpermission" | "remove-recipientpermission") => {
            let i = match mailbox_of(t, identity.as_deref().unwrap_or("")) {
                Ok(i) => i,
                Err(r) => return r,
            };
            let trustee = str_param(&params, "Trustee").unwrap_or("").to_ascii_lowercase();
            if find_mailbox(t, &trustee).is_none() {
                return not_found(&trustee);
            }
            let upn = upn_of(t, i);
            let list = &mut t.exchange.recipient_permissions;
            let pos = list.iter().position(|p| p["Identity"].as_str() == Some(upn.as_str()) && p["Trustee"].as_str() == Some(trustee.as_str()));
            match (n, pos) {
                ("add-recipientpermission", None) => {
                    list.push(json!({"Identity": upn, "Trustee": trustee, "AccessControlType": "Allow", "AccessRights": ["SendAs"], "IsInherited": false}));
                    ok(vec![list[list.len() - 1].clone()])
                }
                ("add-recipientpermission", Some(_)) => warn("The recipient permission already exists."),
                (_, Some(p)) => {
                    list.remove(p);
                    ok(Vec::new())
                }
                (_, None) => warn("The recipient permission doesn't exist."),
            }
        }
        "get-mailboxfolderpermission" => {
            let id = identity.unwrap_or_default().to_ascii_lowercase();
            let (mbx, _) = id.split_once(":\\").unwrap_or((&id, ""));
            if find_mailbox(t, mbx).is_none() {
                return not_found(&id);
            }
            let mut rows = vec![json!({"Identity": id, "User": "Default", "AccessRights": ["AvailabilityOnly"]})];
            rows.extend(t.exchange.folder_permissions.iter().filter(|p| p["Identity"].as_str() == Some(id.as_str())).cloned());
            ok(rows)
        }
        n @ ("add-mailboxfolderpermission" | "set-mailboxfolderpermission" | "remove-mailboxfolderpermission") => {
            let id = identity.unwrap_or_default().to_ascii_lowercase();
            let (mbx, _) = id.split_once(":\\").unwrap_or((&id, ""));
            if find_mailbox(t, mbx).is_none() {
                return not_found(&id);
            }
            let user = str_param(&params, "User").unwrap_or("").to_ascii_lowercase();
            let list = &mut t.exchange.folder_permissions;
            let pos = list.iter().position(|p| p["Identity"].as_str() == Some(id.as_str()) && p["User"].as_str() == Some(user.as_str()));
            match (n, pos) {
                ("add-mailboxfolderpermission", Some(_)) => exo_error(400, "Microsoft.Exchange.Management.StoreTasks.UserAlreadyExistsInPermissionEntryException", &format!("An existing permission entry was found for user: {user}.")),
                ("add-mailboxfolderpermission", None) => {
                    list.push(json!({"Identity": id, "User": user, "AccessRights": strings(param(&params, "AccessRights"))}));
                    ok(Vec::new())
                }
                ("set-mailboxfolderpermission", Some(p)) => {
                    list[p]["AccessRights"] = json!(strings(param(&params, "AccessRights")));
                    ok(Vec::new())
                }
                ("remove-mailboxfolderpermission", Some(p)) => {
                    list.remove(p);
                    ok(Vec::new())
                }
                _ => exo_error(404, "Microsoft.Exchange.Management.StoreTasks.UserNotFoundInPermissionEntryException", &format!("There is no existing permission entry found for user: {user}.")),
            }
        }
        n @ ("add-distributiongroupmember" | "remove-distributiongroupmember") => {
            let id = identity.unwrap_or_default();
            let Some(gid) = find_dl(t, &id) else { return not_found(&id) };
            let member = str_param(&params, "Member").unwrap_or("");
            let Some(uid) = t.user_index(member).and_then(|i| t.users[i]["id"].as_str().map(str::to_owned)) else {
                return not_found(member);
            };
            let list = t.members.entry(gid).or_default();
            let pos = list.iter().position(|m| *m == uid);
            match (n, pos) {
                ("add-distributiongroupmember", Some(_)) => exo_error(400, "Microsoft.Exchange.Management.Tasks.MemberAlreadyExistsException", &format!("The recipient \"{member}\" is already a member of the group \"{id}\".")),
                ("add-distributiongroupmember", None) => {
                    list.push(uid);
                    ok(Vec::new())
                }
                (_, Some(p)) => {
                    list.remove(p);
                    ok(Vec::new())
                }
                (_, None) => exo_error(400, "Microsoft.Exchange.Management.Tasks.MemberNotFoundException", &format!("The recipient \"{member}\" isn't a member of the group \"{id}\".")),
            }
        }
        "get-distributiongroupmember" => {
            let id = identity.unwrap_or_default();
            let Some(gid) = find_dl(t, &id) else { return not_found(&id) };
            let rows: Vec<Value> = t
                .members
                .get(&gid)
                .cloned()
                .unwrap_or_default()
                .iter()
                .filter_map(|m| t.user_index(m))
                .map(|i| json!({"Identity": t.users[i]["displayName"], "PrimarySmtpAddress": t.users[i]["userPrincipalName"], "RecipientType": "UserMailbox"}))
                .collect();
            ok(rows)
        }
        "get-mobiledevice" => {
            let Some(mbx) = str_param(&params, "Mailbox") else { return not_found("") };
            match mailbox_of(t, mbx) {
                Ok(i) => ok(t.exchange.mobile_devices.get(&upn_of(t, i)).cloned().unwrap_or_default()),
                Err(r) => r,
            }
        }
        "remove-mobiledevice" => {
            let id = identity.unwrap_or_default();
            let found = t.exchange.mobile_devices.values_mut().find_map(|ds| {
                ds.iter().position(|d| d["Identity"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(&id))).map(|p| (ds, p))
            });
            match found {
                Some((ds, p)) => {
                    ds.remove(p);
                    ok(Vec::new())
                }
                None => not_found(&id),
            }
        }
        "get-transportrule" => match &identity {
            Some(id) => match t.exchange.transport_rules.iter().find(|r| r["Identity"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(id))) {
                Some(r) => ok(vec![r.clone()]),
                None => not_found(id),
            },
            None => ok(t.exchange.transport_rules.clone()),
        },
        "new-transportrule" => {
            let Some(rule_name) = str_param(&params, "Name") else {
                return exo_error(400, "System.Management.Automation.ParameterBindingException", "Cannot process command because of one or more missing mandatory parameters: Name.");
            };
            if t.exchange.transport_rules.iter().any(|r| r["Name"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(rule_name))) {
                return exo_error(400, "Microsoft.Exchange.Management.Tasks.ArgumentException", &format!("A transport rule with the name '{rule_name}' already exists."));
            }
            let mut rule = Value::Object(params.clone());
            rule["Identity"] = json!(rule_name);
            rule["Guid"] = json!(synthetic_guid(&format!("rule-{rule_name}-{now}")));
            rule["State"] = rule.get("Enabled").map_or(json!("Enabled"), |e| if *e == json!(false) { json!("Disabled") } else { json!("Enabled") });
            rule["Mode"] = rule.get("Mode").cloned().unwrap_or(json!("Enforce"));
            rule["Priority"] = json!(t.exchange.transport_rules.len());
            t.exchange.transport_rules.push(rule.clone());
            ok(vec![rule])
        }
        n @ ("set-transportrule" | "remove-transportrule" | "enable-transportrule" | "disable-transportrule") => {
            let id = identity.unwrap_or_default();
            let Some(p) = t.exchange.transport_rules.iter().position(|r| r["Identity"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(&id))) else {
                return not_found(&id);
            };
            match n {
                "remove-transportrule" => {
                    t.exchange.transport_rules.remove(p);
                }
                "enable-transportrule" => t.exchange.transport_rules[p]["State"] = json!("Enabled"),
                "disable-transportrule" => t.exchange.transport_rules[p]["State"] = json!("Disabled"),
                _ => {
                    for (k, v) in &params {
                        if !k.eq_ignore_ascii_case("Identity") {
                            t.exchange.transport_rules[p][k.as_str()] = v.clone();
                        }
                    }
                }
            }
            ok(Vec::new())
        }
        "get-adminauditlogconfig" => ok(vec![json!({"Identity": "Admin Audit Log Settings", "AdminAuditLogEnabled": true,
            "UnifiedAuditLogIngestionEnabled": t.exchange.unified_audit_log.unwrap_or(true)})]),
        "set-adminauditlogconfig" => {
            let v = param(&params, "UnifiedAuditLogIngestionEnabled").and_then(Value::as_bool).unwrap_or(true);
            if t.exchange.unified_audit_log.unwrap_or(true) == v {
                return warn("The command completed successfully but no settings of 'Admin Audit Log Settings' have been modified.");
            }
            t.exchange.unified_audit_log = Some(v);
            ok(Vec::new())
        }
        "search-unifiedauditlog" => {
            if t.exchange.unified_audit_log == Some(false) {
                return ok(Vec::new());
            }
            let (Some(start), Some(end)) = (time_of(str_param(&params, "StartDate")), time_of(str_param(&params, "EndDate"))) else {
                return exo_error(400, "System.Management.Automation.ParameterBindingException", "StartDate and EndDate are required.");
            };
            let ops: Vec<String> = strings(param(&params, "Operations")).iter().map(|s| s.to_ascii_lowercase()).collect();
            let users: Vec<String> = strings(param(&params, "UserIds")).iter().map(|s| s.to_ascii_lowercase()).collect();
            let size = param(&params, "ResultSize").and_then(Value::as_u64).unwrap_or(100) as usize;
            let matching: Vec<Value> = t
                .exchange
                .audit_records
                .iter()
                .filter(|r| time_of(r["CreationDate"].as_str()).is_some_and(|d| d >= start && d <= end))
                .filter(|r| ops.is_empty() || r["Operations"].as_str().is_some_and(|o| ops.contains(&o.to_ascii_lowercase())))
                .filter(|r| users.is_empty() || r["UserIds"].as_str().is_some_and(|u| users.contains(&u.to_ascii_lowercase())))
                .cloned()
                .collect();
            let session = str_param(&params, "SessionId").unwrap_or("").to_owned();
            let offset = t.exchange.sessions.get(&session).copied().unwrap_or(0);
            let total = matching.len();
            let rows: Vec<Value> = matching
                .into_iter()
                .skip(offset)
                .take(size)
                .enumerate()
                .map(|(i, mut r)| {
                    r["ResultIndex"] = json!(offset + i + 1);
                    r["ResultCount"] = json!(total);
                    r
                })
                .collect();
            if !session.is_empty() {
                t.exchange.sessions.insert(session, offset + rows.len());
            }
            ok(rows)
        }
        "get-messagetracev2" => {
            let sender = str_param(&params, "SenderAddress").map(str::to_ascii_lowercase);
            let (start, end) = (time_of(str_param(&params, "StartDate")), time_of(str_param(&params, "EndDate")));
            ok(t.exchange
                .message_traces
                .iter()
                .filter(|m| sender.as_deref().is_none_or(|s| m["SenderAddress"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(s))))
                .filter(|m| {
                    let at = time_of(m["Received"].as_str());
                    start.is_none_or(|s| at.is_some_and(|a| a >= s)) && end.is_none_or(|e| at.is_some_and(|a| a <= e))
                })
                .cloned()
                .collect())
        }
        "remove-calendarevents" => match mailbox_of(t, identity.as_deref().unwrap_or("")) {
            Ok(_) => ok(Vec::new()),
            Err(r) => r,
        },
        "get-hostedoutboundspamfilterpolicy" => ok(vec![t.exchange.outbound_spam.clone().unwrap_or(json!({"Identity": "Default", "AutoForwardingMode": "Automatic", "IsDefault": true}))]),
        "set-hostedoutboundspamfilterpolicy" => {
            let mode = str_param(&params, "AutoForwardingMode").unwrap_or("Automatic");
            if !["automatic", "on", "off"].contains(&mode.to_ascii_lowercase().as_str()) {
                return exo_error(400, "System.Management.Automation.ParameterBindingException", &format!("Cannot convert value \"{mode}\" to type AutoForwardingMode."));
            }
            let mut p = t.exchange.outbound_spam.clone().unwrap_or(json!({"Identity": "Default", "IsDefault": true}));
            p["AutoForwardingMode"] = json!(mode);
            t.exchange.outbound_spam = Some(p);
            ok(Vec::new())
        }
        _ => exo_error(400, "System.Management.Automation.CommandNotFoundException", &format!("The term '{name}' is not recognized.")),
    }
}

/// Answers `POST /adminapi/beta/{tenant}/$batch` (at most 10 items).
pub(crate) fn batch(sim: &Sim, body: &[u8], auth: Option<&http::HeaderValue>) -> Reply {
    let Ok(b) = serde_json::from_slice::<Value>(body) else {
        return exo_error(
            400,
            "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
            "Invalid batch payload.",
        );
    };
    let items = b["requests"].as_array().cloned().unwrap_or_default();
    if items.len() > 10 {
        return exo_error(
            400,
            "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
            "A batch can hold at most 10 requests.",
        );
    }
    let mut responses = Vec::new();
    for it in items {
        let mut builder = http::Request::builder()
            .method("POST")
            .uri(it["url"].as_str().unwrap_or("/"));
        if let Some(a) = auth {
            builder = builder.header(http::header::AUTHORIZATION, a.clone());
        }
        let Ok(req) = builder.body(bytes::Bytes::from(it["body"].to_string())) else {
            responses.push(
                json!({"id": it["id"], "status": 400, "body": {"error": {"message": "bad item"}}}),
            );
            continue;
        };
        let (reply, _) = sim.route(&req);
        let headers: Map<String, Value> = reply
            .headers
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        let body: Value = serde_json::from_slice(&reply.body).unwrap_or(Value::Null);
        responses.push(
            json!({"id": it["id"], "status": reply.status, "headers": headers, "body": body}),
        );
    }
    Reply::json(200, json!({ "responses": responses }))
}
