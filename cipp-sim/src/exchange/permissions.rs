//! Mailbox (FullAccess), recipient (SendAs) and folder permissions.

use serde_json::{json, Value};

use super::{bind_error, exo_error, not_found, ok, strings, warn, Cmdlet, ExoCtx};
use crate::Reply;

pub(crate) const CMDLETS: &[Cmdlet] = &[
    Cmdlet {
        name: "Get-MailboxPermission",
        params: &["Identity", "User"],
        run: get_mailbox_permissions,
    },
    Cmdlet {
        name: "Add-MailboxPermission",
        params: MAILBOX_PERMISSION,
        run: change_mailbox_permission,
    },
    Cmdlet {
        name: "Remove-MailboxPermission",
        params: MAILBOX_PERMISSION,
        run: change_mailbox_permission,
    },
    Cmdlet {
        name: "Get-RecipientPermission",
        params: &["Identity", "Trustee"],
        run: get_recipient_permissions,
    },
    Cmdlet {
        name: "Add-RecipientPermission",
        params: RECIPIENT_PERMISSION,
        run: change_recipient_permission,
    },
    Cmdlet {
        name: "Remove-RecipientPermission",
        params: RECIPIENT_PERMISSION,
        run: change_recipient_permission,
    },
    Cmdlet {
        name: "Get-MailboxFolderPermission",
        params: &["Identity", "User"],
        run: get_folder_permissions,
    },
    Cmdlet {
        name: "Add-MailboxFolderPermission",
        params: FOLDER_PERMISSION,
        run: change_folder_permission,
    },
    Cmdlet {
        name: "Set-MailboxFolderPermission",
        params: FOLDER_PERMISSION,
        run: change_folder_permission,
    },
    Cmdlet {
        name: "Remove-MailboxFolderPermission",
        params: FOLDER_PERMISSION,
        run: change_folder_permission,
    },
];

const MAILBOX_PERMISSION: &[&str] = &[
    "Identity",
    "User",
    "AccessRights",
    "AutoMapping",
    "InheritanceType",
    "Confirm",
];
const RECIPIENT_PERMISSION: &[&str] = &["Identity", "Trustee", "AccessRights", "Confirm"];
const FOLDER_PERMISSION: &[&str] = &["Identity", "User", "AccessRights", "Confirm"];

fn is(p: &Value, key: &str, v: &str) -> bool {
    p[key].as_str() == Some(v)
}

fn get_mailbox_permissions(ctx: &mut ExoCtx<'_>) -> Reply {
    let i = match ctx.mailbox(&ctx.identity()) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let upn = ctx.t.exchange.upn_of(i);
    let mut rows = vec![
        json!({"Identity": upn, "User": "NT AUTHORITY\\SELF", "AccessRights": ["FullAccess", "ReadPermission"], "IsInherited": false, "Deny": false}),
    ];
    rows.extend(
        ctx.t
            .exchange
            .mailbox_permissions
            .iter()
            .filter(|p| is(p, "Identity", &upn))
            .cloned(),
    );
    ok(rows)
}

fn change_mailbox_permission(ctx: &mut ExoCtx<'_>) -> Reply {
    let i = match ctx.mailbox(&ctx.identity()) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let user = ctx.str("User").unwrap_or("").to_ascii_lowercase();
    if ctx.t.exchange.find_mailbox(&user).is_none() {
        return not_found(&user);
    }
    let upn = ctx.t.exchange.upn_of(i);
    let rights = strings(ctx.param("AccessRights"));
    let auto_mapping = ctx.param("AutoMapping").cloned().unwrap_or(json!(true));
    let adding = ctx.name == "add-mailboxpermission";
    let list = &mut ctx.t.exchange.mailbox_permissions;
    let pos = list
        .iter()
        .position(|p| is(p, "Identity", &upn) && is(p, "User", &user));
    match (adding, pos) {
        (true, Some(_)) => warn(&format!("The appropriate access control entry is already present on object \"{upn}\" for account \"{user}\".")),
        (true, None) => {
            let row = json!({"Identity": upn, "User": user, "AccessRights": rights, "IsInherited": false, "Deny": false,
                             "AutoMapping": auto_mapping});
            list.push(row.clone());
            ok(vec![row])
        }
        (false, Some(p)) => {
            list.remove(p);
            ok(Vec::new())
        }
        (false, None) => warn(&format!("Can't remove the access control entry on the object \"{upn}\" for account \"{user}\" because the ACE doesn't exist on the object.")),
    }
}

fn get_recipient_permissions(ctx: &mut ExoCtx<'_>) -> Reply {
    let i = match ctx.mailbox(&ctx.identity()) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let upn = ctx.t.exchange.upn_of(i);
    ok(ctx
        .t
        .exchange
        .recipient_permissions
        .iter()
        .filter(|p| is(p, "Identity", &upn))
        .cloned()
        .collect())
}

fn change_recipient_permission(ctx: &mut ExoCtx<'_>) -> Reply {
    let i = match ctx.mailbox(&ctx.identity()) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let trustee = ctx.str("Trustee").unwrap_or("").to_ascii_lowercase();
    if ctx.t.exchange.find_mailbox(&trustee).is_none() {
        return not_found(&trustee);
    }
    let upn = ctx.t.exchange.upn_of(i);
    let adding = ctx.name == "add-recipientpermission";
    let list = &mut ctx.t.exchange.recipient_permissions;
    let pos = list
        .iter()
        .position(|p| is(p, "Identity", &upn) && is(p, "Trustee", &trustee));
    match (adding, pos) {
        (true, None) => {
            let row = json!({"Identity": upn, "Trustee": trustee, "AccessControlType": "Allow", "AccessRights": ["SendAs"], "IsInherited": false});
            list.push(row.clone());
            ok(vec![row])
        }
        (true, Some(_)) => warn("The recipient permission already exists."),
        (false, Some(p)) => {
            list.remove(p);
            ok(Vec::new())
        }
        (false, None) => warn("The recipient permission doesn't exist."),
    }
}

/// A folder identity (`mailbox:\Calendar`), lower case, when its mailbox exists, and the
/// folder's name (`Calendar`, `Contacts`, or the path as given).
fn folder(ctx: &ExoCtx<'_>) -> Result<(String, String), Reply> {
    let given = ctx.identity();
    let id = given.to_ascii_lowercase();
    let (mbx, _) = id.split_once(":\\").unwrap_or((&id, ""));
    if ctx.t.exchange.find_mailbox(mbx).is_none() {
        return Err(not_found(&id));
    }
    let path = given.split_once(":\\").map_or("", |(_, p)| p);
    let name = match path.to_ascii_lowercase().as_str() {
        "calendar" => "Calendar".to_owned(),
        "contacts" => "Contacts".to_owned(),
        _ => path.to_owned(),
    };
    Ok((id, name))
}

/// The access levels only a calendar takes.
const CALENDAR_ONLY: &[&str] = &["AvailabilityOnly", "LimitedDetails"];

/// The folder permission roles and rights Exchange accepts in `-AccessRights`.
const FOLDER_ROLES: &[&str] = &[
    "None",
    "Owner",
    "PublishingEditor",
    "Editor",
    "PublishingAuthor",
    "Author",
    "NonEditingAuthor",
    "Reviewer",
    "Contributor",
    "AvailabilityOnly",
    "LimitedDetails",
    "ReadItems",
    "CreateItems",
    "EditOwnedItems",
    "DeleteOwnedItems",
    "EditAllItems",
    "DeleteAllItems",
    "CreateSubfolders",
    "FolderOwner",
    "FolderContact",
    "FolderVisible",
];

/// The rights of the `Default` entry every folder has until it is changed: free/busy on a
/// calendar, nothing elsewhere.
fn built_in_rights(folder: &str, user: &str) -> Option<Value> {
    match user {
        "default" if folder == "Calendar" => Some(json!(["AvailabilityOnly"])),
        "default" => Some(json!(["None"])),
        _ => None,
    }
}

/// The display form of a built-in user (`Default`, `Anonymous`), else `user` as given.
fn user_display(user: &str) -> String {
    match user {
        "default" => "Default".to_owned(),
        "anonymous" => "Anonymous".to_owned(),
        other => other.to_owned(),
    }
}

fn get_folder_permissions(ctx: &mut ExoCtx<'_>) -> Reply {
    let (id, folder_name) = match folder(ctx) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let only = ctx.str("User").map(str::to_ascii_lowercase);
    let stored: Vec<&Value> = ctx
        .t
        .exchange
        .folder_permissions
        .iter()
        .filter(|p| is(p, "Identity", &id))
        .collect();
    let mut rows = Vec::new();
    for user in ["default"] {
        if stored.iter().any(|p| is(p, "User", user)) {
            continue;
        }
        if let Some(rights) = built_in_rights(&folder_name, user) {
            rows.push(json!({"Identity": id, "FolderName": folder_name, "User": user_display(user), "AccessRights": rights}));
        }
    }
    rows.extend(stored.into_iter().map(|p| {
        let mut p = p.clone();
        let u = p["User"].as_str().unwrap_or_default().to_owned();
        p["User"] = json!(user_display(&u));
        p
    }));
    if let Some(user) = only {
        rows.retain(|r| {
            r["User"]
                .as_str()
                .is_some_and(|u| u.eq_ignore_ascii_case(&user))
        });
        if rows.is_empty() {
            return exo_error(
                404,
                "Microsoft.Exchange.Management.StoreTasks.UserNotFoundInPermissionEntryException",
                &format!("There is no existing permission entry found for user: {user}."),
            );
        }
    }
    ok(rows)
}

fn change_folder_permission(ctx: &mut ExoCtx<'_>) -> Reply {
    let (id, folder_name) = match folder(ctx) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let user = ctx.str("User").unwrap_or("").to_ascii_lowercase();
    let rights = strings(ctx.param("AccessRights"));
    let name = ctx.name.clone();
    if name != "remove-mailboxfolderpermission" {
        if let Some(bad) = rights
            .iter()
            .find(|r| !FOLDER_ROLES.iter().any(|x| x.eq_ignore_ascii_case(r)))
        {
            return bind_error(&format!(
                "Cannot bind parameter 'AccessRights'. Cannot convert value \"{bad}\" to type \"Microsoft.Exchange.Management.StoreTasks.MailboxFolderAccessRight\". Error: \"Unable to match the identifier name {bad} to a valid enumerator name. Specify one of the following enumerator names and try again: {}\"",
                FOLDER_ROLES.join(", ")
            ));
        }
        if folder_name != "Calendar" {
            if let Some(bad) = rights
                .iter()
                .find(|r| CALENDAR_ONLY.iter().any(|x| x.eq_ignore_ascii_case(r)))
            {
                return exo_error(
                    400,
                    "Microsoft.Exchange.Management.StoreTasks.InvalidMailboxFolderPermissionException",
                    &format!("The access right '{bad}' is only valid on calendar folders."),
                );
            }
        }
    }
    let rights: Vec<String> = rights
        .iter()
        .map(|r| {
            FOLDER_ROLES
                .iter()
                .find(|x| x.eq_ignore_ascii_case(r))
                .map_or_else(|| r.clone(), |x| (*x).to_owned())
        })
        .collect();
    let list = &mut ctx.t.exchange.folder_permissions;
    let mut pos = list
        .iter()
        .position(|p| is(p, "Identity", &id) && is(p, "User", &user));
    // The built-in entries exist from the start: changing one stores it.
    if pos.is_none() && name == "set-mailboxfolderpermission" {
        if let Some(rights) = built_in_rights(&folder_name, &user) {
            list.push(json!({"Identity": id, "FolderName": folder_name, "User": user, "AccessRights": rights}));
            pos = Some(list.len() - 1);
        }
    }
    match (name.as_str(), pos) {
        ("add-mailboxfolderpermission", Some(_)) => exo_error(
            400,
            "Microsoft.Exchange.Management.StoreTasks.UserAlreadyExistsInPermissionEntryException",
            &format!("An existing permission entry was found for user: {user}."),
        ),
        ("add-mailboxfolderpermission", None) if built_in_rights(&folder_name, &user).is_some() => exo_error(
            400,
            "Microsoft.Exchange.Management.StoreTasks.UserAlreadyExistsInPermissionEntryException",
            &format!(
                "An existing permission entry was found for user: {}.",
                user_display(&user)
            ),
        ),
        ("add-mailboxfolderpermission", None) => {
            list.push(json!({"Identity": id, "FolderName": folder_name, "User": user, "AccessRights": rights}));
            ok(Vec::new())
        }
        ("set-mailboxfolderpermission", Some(p)) => {
            let same = list[p]["AccessRights"].as_array().is_some_and(|a| {
                a.len() == rights.len()
                    && a.iter()
                        .zip(&rights)
                        .all(|(x, y)| x.as_str().is_some_and(|x| x.eq_ignore_ascii_case(y)))
            });
            if same {
                return warn(&format!(
                    "The command completed successfully but no settings of '{id}' have been modified."
                ));
            }
            list[p]["AccessRights"] = json!(rights);
            ok(Vec::new())
        }
        ("remove-mailboxfolderpermission", Some(p)) => {
            list.remove(p);
            ok(Vec::new())
        }
        _ => exo_error(
            404,
            "Microsoft.Exchange.Management.StoreTasks.UserNotFoundInPermissionEntryException",
            &format!("There is no existing permission entry found for user: {user}."),
        ),
    }
}
