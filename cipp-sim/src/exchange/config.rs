//! Exchange Online configuration served by cmdlets of their own: accepted domains (from the
//! tenant's domains), DKIM signing configurations per accepted domain, client access
//! settings of mailboxes (`Get-/Set-CASMailbox`), Exchange's view of users (`Get-/Set-User`,
//! `RemotePowerShellEnabled`), the management role assignments of role assignment policies,
//! and `Enable-OrganizationCustomization`.

use serde_json::{json, Map, Value};

use super::{bind_error, exo_error, not_found, ok, opath, warn, Cmdlet, ExoCtx};
use crate::state::{recipient_guid, synthetic_guid, SimTenant};
use crate::Reply;

pub(crate) const CMDLETS: &[Cmdlet] = &[
    Cmdlet {
        name: "Get-AcceptedDomain",
        params: &["Identity", "ResultSize"],
        run: get_accepted_domains,
    },
    Cmdlet {
        name: "Get-DkimSigningConfig",
        params: &["Identity"],
        run: get_dkim,
    },
    Cmdlet {
        name: "New-DkimSigningConfig",
        params: &[
            "DomainName",
            "Enabled",
            "KeySize",
            "BodyCanonicalization",
            "HeaderCanonicalization",
        ],
        run: new_dkim,
    },
    Cmdlet {
        name: "Set-DkimSigningConfig",
        params: &[
            "Identity",
            "Enabled",
            "BodyCanonicalization",
            "HeaderCanonicalization",
            "Confirm",
        ],
        run: set_dkim,
    },
    Cmdlet {
        name: "Get-CASMailbox",
        params: &["Identity", "ResultSize", "Filter"],
        run: get_cas,
    },
    Cmdlet {
        name: "Set-CASMailbox",
        params: &[
            "Identity",
            "SmtpClientAuthenticationDisabled",
            "ActiveSyncEnabled",
            "OWAEnabled",
            "PopEnabled",
            "ImapEnabled",
            "MAPIEnabled",
            "EwsEnabled",
            "OutlookMobileEnabled",
            "UniversalOutlookEnabled",
            "MacOutlookEnabled",
        ],
        run: set_cas,
    },
    Cmdlet {
        name: "Get-User",
        params: &["Identity", "ResultSize", "Filter", "RecipientTypeDetails"],
        run: get_user,
    },
    Cmdlet {
        name: "Set-User",
        params: &["Identity", "RemotePowerShellEnabled", "Confirm"],
        run: set_user,
    },
    Cmdlet {
        name: "Get-ManagementRoleAssignment",
        params: &["Identity", "Role", "RoleAssignee", "RoleAssigneeType"],
        run: get_role_assignments,
    },
    Cmdlet {
        name: "Remove-ManagementRoleAssignment",
        params: &["Identity", "Confirm"],
        run: remove_role_assignment,
    },
    Cmdlet {
        name: "Enable-OrganizationCustomization",
        params: &[],
        run: enable_customization,
    },
];

fn eq(v: &Value, s: &str) -> bool {
    v.as_str().is_some_and(|x| x.eq_ignore_ascii_case(s))
}

/// The tenant's accepted domains: its verified domains and the `*.mail.onmicrosoft.com`
/// coexistence domain of its initial domain.
pub(crate) fn accepted_domains(t: &SimTenant) -> Vec<Value> {
    let initial = t.initial_domain().to_owned();
    let mut names: Vec<String> = t.domains.clone();
    if let Some(prefix) = initial.strip_suffix(".onmicrosoft.com") {
        names.push(format!("{prefix}.mail.onmicrosoft.com"));
    }
    names
        .into_iter()
        .map(|d| {
            json!({
                "Identity": d, "Name": d, "DomainName": d, "Id": d,
                "Guid": synthetic_guid(&format!("accepted-domain-{d}")),
                "DomainType": "Authoritative", "Default": d == t.default_domain,
                "InitialDomain": d == initial, "MatchSubDomains": false,
                "SendingFromDomainDisabled": false, "IsValid": true
            })
        })
        .collect()
}

fn get_accepted_domains(ctx: &mut ExoCtx<'_>) -> Reply {
    let rows = accepted_domains(ctx.t);
    match ctx.str("Identity") {
        Some(id) => match rows.into_iter().find(|r| eq(&r["Name"], id)) {
            Some(r) => ok(vec![r]),
            None => not_found(id),
        },
        None => ok(rows),
    }
}

fn dkim_row(domain: &str, initial: &str, enabled: bool, key_size: u64, now: &str) -> Value {
    let dashed = domain.replace('.', "-");
    json!({
        "Identity": domain, "Name": domain, "Domain": domain, "Id": domain,
        "Guid": synthetic_guid(&format!("dkim-{domain}")), "Enabled": enabled,
        "Status": if enabled { "Valid" } else { "Disabled" },
        "Selector1CNAME": format!("selector1-{dashed}._domainkey.{initial}"),
        "Selector2CNAME": format!("selector2-{dashed}._domainkey.{initial}"),
        "Selector1KeySize": key_size, "Selector2KeySize": key_size, "Algorithm": "RSA",
        "BodyCanonicalization": "Relaxed", "HeaderCanonicalization": "Relaxed",
        "KeyCreationTime": now, "LastChecked": now, "RotateOnDate": now,
        "IsDefault": domain == initial, "WhenChanged": now
    })
}

/// The DKIM rows, with the initial domain's (signed by default) added on first use.
fn dkim_rows<'a>(ctx: &'a mut ExoCtx<'_>) -> Result<&'a mut Vec<Value>, Reply> {
    let initial = ctx.t.initial_domain().to_owned();
    let rows = ctx
        .t
        .protection
        .rows_mut("DkimSigningConfig")
        .ok_or_else(|| not_found("DkimSigningConfig"))?;
    if !rows.iter().any(|r| eq(&r["Domain"], &initial)) {
        rows.insert(
            0,
            dkim_row(&initial, &initial, true, 2048, "2020-01-01T00:00:00Z"),
        );
    }
    Ok(rows)
}

fn get_dkim(ctx: &mut ExoCtx<'_>) -> Reply {
    let id = ctx.str("Identity").map(str::to_owned);
    let rows = match dkim_rows(ctx) {
        Ok(r) => r.clone(),
        Err(r) => return r,
    };
    match id {
        Some(id) => match rows.into_iter().find(|r| eq(&r["Domain"], &id)) {
            Some(r) => ok(vec![r]),
            None => not_found(&id),
        },
        None => ok(rows),
    }
}

fn key_size(ctx: &ExoCtx<'_>) -> Result<u64, Reply> {
    match ctx.param("KeySize") {
        None => Ok(2048),
        Some(v) => match v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok())) {
            Some(n @ (1024 | 2048)) => Ok(n),
            _ => Err(bind_error(&format!(
                "Cannot validate argument on parameter 'KeySize'. The argument \"{v}\" does not belong to the set \"1024,2048\" specified by the ValidateSet attribute. Supply an argument that is in the set and then try the command again."
            ))),
        },
    }
}

fn enabled_param(ctx: &ExoCtx<'_>) -> Result<Option<bool>, Reply> {
    match ctx.param("Enabled") {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(v) => Err(bind_error(&format!(
            "Cannot bind parameter 'Enabled'. Cannot convert value \"{v}\" to type \"System.Boolean\"."
        ))),
    }
}

fn new_dkim(ctx: &mut ExoCtx<'_>) -> Reply {
    let Some(domain) = ctx.str("DomainName").map(str::to_ascii_lowercase) else {
        return bind_error(
            "Cannot process command because of one or more missing mandatory parameters: DomainName.",
        );
    };
    let enabled = match enabled_param(ctx) {
        Ok(Some(e)) => e,
        Ok(None) => return bind_error(
            "Cannot process command because of one or more missing mandatory parameters: Enabled.",
        ),
        Err(r) => return r,
    };
    let size = match key_size(ctx) {
        Ok(s) => s,
        Err(r) => return r,
    };
    if !accepted_domains(ctx.t)
        .iter()
        .any(|d| eq(&d["DomainName"], &domain))
    {
        return exo_error(
            400,
            "Microsoft.Exchange.Management.Tasks.ValidationException",
            &format!("The domain {domain} isn't an accepted domain in your organization. You can only create DKIM signing configurations for accepted domains."),
        );
    }
    let now = ctx.now.clone();
    let initial = ctx.t.initial_domain().to_owned();
    let rows = match dkim_rows(ctx) {
        Ok(r) => r,
        Err(r) => return r,
    };
    if rows.iter().any(|r| eq(&r["Domain"], &domain)) {
        return exo_error(
            400,
            "Microsoft.Exchange.Configuration.Tasks.ManagementObjectAlreadyExistsException",
            &format!("A DKIM signing configuration already exists for the domain \"{domain}\"."),
        );
    }
    let row = dkim_row(&domain, &initial, enabled, size, &now);
    rows.push(row.clone());
    ok(vec![row])
}

fn set_dkim(ctx: &mut ExoCtx<'_>) -> Reply {
    let id = ctx.identity();
    let enabled = match enabled_param(ctx) {
        Ok(e) => e,
        Err(r) => return r,
    };
    let body = ctx.str("BodyCanonicalization").map(str::to_owned);
    let header = ctx.str("HeaderCanonicalization").map(str::to_owned);
    for (name, v) in [
        ("BodyCanonicalization", &body),
        ("HeaderCanonicalization", &header),
    ] {
        if let Some(v) = v {
            if !["Simple", "Relaxed"]
                .iter()
                .any(|x| x.eq_ignore_ascii_case(v))
            {
                return bind_error(&format!(
                    "Cannot bind parameter '{name}'. Cannot convert value \"{v}\" to type \"Microsoft.Exchange.Data.CanonicalizationType\"."
                ));
            }
        }
    }
    let now = ctx.now.clone();
    let rows = match dkim_rows(ctx) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let Some(row) = rows.iter_mut().find(|r| eq(&r["Domain"], &id)) else {
        return not_found(&id);
    };
    let before = row.clone();
    if let Some(e) = enabled {
        row["Enabled"] = json!(e);
        row["Status"] = json!(if e { "Valid" } else { "Disabled" });
    }
    if let Some(b) = body {
        row["BodyCanonicalization"] = json!(b);
    }
    if let Some(h) = header {
        row["HeaderCanonicalization"] = json!(h);
    }
    if *row == before {
        return warn(&format!(
            "The command completed successfully but no settings of '{id}' have been modified."
        ));
    }
    row["WhenChanged"] = json!(now);
    ok(Vec::new())
}

/// A mailbox's client access settings: a new mailbox's defaults and what `Set-CASMailbox`
/// changed.
fn cas_row(t: &SimTenant, mailbox: &Value) -> Value {
    let upn = mailbox["UserPrincipalName"]
        .as_str()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let mut row = json!({
        "Identity": mailbox["Identity"], "Name": mailbox["Name"], "DisplayName": mailbox["DisplayName"],
        "PrimarySmtpAddress": mailbox["PrimarySmtpAddress"], "Guid": mailbox["Guid"],
        "ExternalDirectoryObjectId": mailbox["ExternalDirectoryObjectId"],
        "ActiveSyncEnabled": true, "OWAEnabled": true, "OWAforDevicesEnabled": true,
        "PopEnabled": true, "ImapEnabled": true, "MAPIEnabled": true, "EwsEnabled": true,
        "ECPEnabled": true, "OutlookMobileEnabled": true, "UniversalOutlookEnabled": true,
        "MacOutlookEnabled": true, "SmtpClientAuthenticationDisabled": null
    });
    if let (Value::Object(r), Some(Value::Object(o))) =
        (&mut row, t.exchange.cas_settings.get(&upn))
    {
        r.extend(o.clone());
    }
    row
}

fn filter_of(ctx: &ExoCtx<'_>) -> Result<Option<opath::Filter>, Reply> {
    match ctx.str("Filter") {
        Some(f) => opath::parse(f)
            .map(Some)
            .ok_or_else(|| bind_error(&opath::syntax_error(f))),
        None => Ok(None),
    }
}

fn get_cas(ctx: &mut ExoCtx<'_>) -> Reply {
    let filter = match filter_of(ctx) {
        Ok(f) => f,
        Err(r) => return r,
    };
    if let Some(id) = ctx.str("Identity") {
        return match ctx.mailbox(id) {
            Ok(i) => ok(vec![cas_row(ctx.t, &ctx.t.exchange.mailboxes[i])]),
            Err(r) => r,
        };
    }
    let t = &*ctx.t;
    ok(t.exchange
        .mailboxes
        .iter()
        .map(|m| cas_row(t, m))
        .filter(|r| filter.as_ref().is_none_or(|f| opath::matches(f, r)))
        .collect())
}

/// Applies `Set-*` parameters (other than `Identity`, `Confirm`) to a settings map: each a
/// Boolean, or `$null` where `nullable` names the parameter.
fn set_flags(
    params: &Map<String, Value>,
    nullable: &[&str],
    into: &mut Map<String, Value>,
    current: &Value,
) -> Result<bool, Reply> {
    let mut changed = false;
    for (k, v) in params {
        if k.eq_ignore_ascii_case("Identity") || k.eq_ignore_ascii_case("Confirm") {
            continue;
        }
        let can_be_null = nullable.iter().any(|n| n.eq_ignore_ascii_case(k));
        if !(v.is_boolean() || (v.is_null() && can_be_null)) {
            return Err(bind_error(&format!(
                "Cannot bind parameter '{k}'. Cannot convert value \"{v}\" to type \"System.Boolean\"."
            )));
        }
        let key = current
            .as_object()
            .and_then(|m| m.keys().find(|x| x.eq_ignore_ascii_case(k)).cloned())
            .unwrap_or_else(|| k.clone());
        changed |= current[key.as_str()] != *v;
        into.insert(key, v.clone());
    }
    Ok(changed)
}

fn set_cas(ctx: &mut ExoCtx<'_>) -> Reply {
    let id = ctx.identity();
    let i = match ctx.mailbox(&id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let current = cas_row(ctx.t, &ctx.t.exchange.mailboxes[i]);
    let upn = ctx.t.exchange.upn_of(i);
    let mut settings = ctx
        .t
        .exchange
        .cas_settings
        .get(&upn)
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let changed = match set_flags(
        ctx.params,
        &["SmtpClientAuthenticationDisabled"],
        &mut settings,
        &current,
    ) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if !changed {
        return warn(&format!(
            "The command completed successfully but no settings of '{id}' have been modified."
        ));
    }
    ctx.t
        .exchange
        .cas_settings
        .insert(upn, Value::Object(settings));
    ok(Vec::new())
}

/// Exchange's view of every user: the directory's users and the mailboxes without one
/// (shared and resource mailboxes), with what `Set-User` changed.
fn user_rows(t: &SimTenant) -> Vec<Value> {
    let mut rows = Vec::new();
    let mailbox_of = |upn: &str| {
        t.exchange
            .mailboxes
            .iter()
            .find(|m| eq(&m["UserPrincipalName"], upn))
    };
    let mut seen: Vec<String> = Vec::new();
    for u in t.users().iter() {
        let Some(upn) = u["userPrincipalName"].as_str() else {
            continue;
        };
        let mbx = mailbox_of(upn);
        let details = mbx
            .and_then(|m| m["RecipientTypeDetails"].as_str())
            .map(str::to_owned)
            .unwrap_or_else(|| {
                if eq(&u["userType"], "Guest") {
                    "GuestMailUser".to_owned()
                } else {
                    "User".to_owned()
                }
            });
        seen.push(upn.to_ascii_lowercase());
        rows.push(json!({
            "Identity": u["displayName"], "Name": upn.split('@').next().unwrap_or(upn),
            "DisplayName": u["displayName"], "UserPrincipalName": upn, "WindowsLiveID": upn,
            "Guid": recipient_guid(upn), "ExternalDirectoryObjectId": u["id"],
            "RecipientType": if mbx.is_some() { "UserMailbox" } else { "User" },
            "RecipientTypeDetails": details,
            "AccountDisabled": u["accountEnabled"] == json!(false),
            "IsDirSynced": u["onPremisesSyncEnabled"] == json!(true),
            "RemotePowerShellEnabled": true
        }));
    }
    for m in &t.exchange.mailboxes {
        let upn = m["UserPrincipalName"].as_str().unwrap_or_default();
        if upn.is_empty() || seen.contains(&upn.to_ascii_lowercase()) {
            continue;
        }
        rows.push(json!({
            "Identity": m["Identity"], "Name": m["Name"], "DisplayName": m["DisplayName"],
            "UserPrincipalName": upn, "WindowsLiveID": upn, "Guid": m["Guid"],
            "ExternalDirectoryObjectId": m["ExternalDirectoryObjectId"],
            "RecipientType": "UserMailbox", "RecipientTypeDetails": m["RecipientTypeDetails"],
            "AccountDisabled": false, "IsDirSynced": false, "RemotePowerShellEnabled": true
        }));
    }
    for r in &mut rows {
        let upn = r["UserPrincipalName"]
            .as_str()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if let (Value::Object(row), Some(Value::Object(o))) =
            (&mut *r, t.exchange.user_settings.get(&upn))
        {
            row.extend(o.clone());
        }
    }
    rows
}

fn find_user(rows: &[Value], id: &str) -> Option<usize> {
    rows.iter().position(|r| {
        [
            "Identity",
            "Name",
            "UserPrincipalName",
            "Guid",
            "ExternalDirectoryObjectId",
            "DisplayName",
        ]
        .iter()
        .any(|k| eq(&r[*k], id))
    })
}

fn get_user(ctx: &mut ExoCtx<'_>) -> Reply {
    let filter = match filter_of(ctx) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let rows = user_rows(ctx.t);
    if let Some(id) = ctx.str("Identity") {
        return match find_user(&rows, id) {
            Some(i) => ok(vec![rows[i].clone()]),
            None => not_found(id),
        };
    }
    let types: Vec<String> = super::strings(ctx.param("RecipientTypeDetails"))
        .iter()
        .flat_map(|t| t.split(',').map(|x| x.trim().to_ascii_lowercase()))
        .filter(|t| !t.is_empty())
        .collect();
    ok(rows
        .into_iter()
        .filter(|r| filter.as_ref().is_none_or(|f| opath::matches(f, r)))
        .filter(|r| {
            types.is_empty()
                || r["RecipientTypeDetails"]
                    .as_str()
                    .is_some_and(|t| types.contains(&t.to_ascii_lowercase()))
        })
        .collect())
}

fn set_user(ctx: &mut ExoCtx<'_>) -> Reply {
    let id = ctx.identity();
    let rows = user_rows(ctx.t);
    let Some(i) = find_user(&rows, &id) else {
        return not_found(&id);
    };
    let upn = rows[i]["UserPrincipalName"]
        .as_str()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let mut settings = ctx
        .t
        .exchange
        .user_settings
        .get(&upn)
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let changed = match set_flags(ctx.params, &[], &mut settings, &rows[i]) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if !changed {
        return warn(&format!(
            "The command completed successfully but no settings of '{id}' have been modified."
        ));
    }
    ctx.t
        .exchange
        .user_settings
        .insert(upn, Value::Object(settings));
    ok(Vec::new())
}

fn get_role_assignments(ctx: &mut ExoCtx<'_>) -> Reply {
    let rows = ctx.t.protection.rows("ManagementRoleAssignment");
    let mut out: Vec<Value> = rows.to_vec();
    if let Some(id) = ctx.str("Identity") {
        out.retain(|r| eq(&r["Name"], id) || eq(&r["Guid"], id));
        if out.is_empty() {
            return not_found(id);
        }
    }
    for (param, field) in [
        ("Role", "Role"),
        ("RoleAssignee", "RoleAssignee"),
        ("RoleAssigneeType", "RoleAssigneeType"),
    ] {
        if let Some(v) = ctx.str(param).map(str::to_owned) {
            out.retain(|r| eq(&r[field], &v));
        }
    }
    ok(out)
}

fn remove_role_assignment(ctx: &mut ExoCtx<'_>) -> Reply {
    let id = ctx.identity();
    let Some(rows) = ctx.t.protection.rows_mut("ManagementRoleAssignment") else {
        return not_found(&id);
    };
    let Some(pos) = rows
        .iter()
        .position(|r| eq(&r["Name"], &id) || eq(&r["Guid"], &id))
    else {
        return not_found(&id);
    };
    let removed = rows.remove(pos);
    let assignee = removed["RoleAssignee"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let role = removed["Role"].as_str().unwrap_or_default().to_owned();
    let name = removed["Name"].as_str().unwrap_or_default().to_owned();
    // The policy lists its roles and assignments.
    let still_assigned = rows
        .iter()
        .any(|r| eq(&r["RoleAssignee"], &assignee) && eq(&r["Role"], &role));
    if let Some(policies) = ctx.t.protection.rows_mut("RoleAssignmentPolicy") {
        if let Some(p) = policies.iter_mut().find(|p| eq(&p["Name"], &assignee)) {
            if !still_assigned {
                if let Some(a) = p["AssignedRoles"].as_array_mut() {
                    a.retain(|r| !eq(r, &role));
                }
            }
            if let Some(a) = p["RoleAssignments"].as_array_mut() {
                a.retain(|r| !eq(r, &name));
            }
        }
    }
    ok(Vec::new())
}

fn enable_customization(ctx: &mut ExoCtx<'_>) -> Reply {
    let Some(org) = ctx
        .t
        .protection
        .rows_mut("OrganizationConfig")
        .and_then(|rows| rows.first_mut())
    else {
        return not_found("OrganizationConfig");
    };
    if org["IsDehydrated"] != json!(true) {
        return exo_error(
            400,
            "Microsoft.Exchange.Management.Tasks.InvalidOperationInDehydratedContextException",
            "This operation is not required. Organization is already enabled for customization.",
        );
    }
    org["IsDehydrated"] = json!(false);
    ok(Vec::new())
}
