//! Mailbox (FullAccess), recipient (SendAs) and folder permissions.

use serde_json::{json, Value};

use super::{exo_error, not_found, ok, strings, warn, Cmdlet, ExoCtx};
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

/// A folder identity (`mailbox:\Calendar`), lower case, when its mailbox exists.
fn folder(ctx: &ExoCtx<'_>) -> Result<String, Reply> {
    let id = ctx.identity().to_ascii_lowercase();
    let (mbx, _) = id.split_once(":\\").unwrap_or((&id, ""));
    if ctx.t.exchange.find_mailbox(mbx).is_none() {
        return Err(not_found(&id));
    }
    Ok(id)
}

fn get_folder_permissions(ctx: &mut ExoCtx<'_>) -> Reply {
    let id = match folder(ctx) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let mut rows =
        vec![json!({"Identity": id, "User": "Default", "AccessRights": ["AvailabilityOnly"]})];
    rows.extend(
        ctx.t
            .exchange
            .folder_permissions
            .iter()
            .filter(|p| is(p, "Identity", &id))
            .cloned(),
    );
    ok(rows)
}

fn change_folder_permission(ctx: &mut ExoCtx<'_>) -> Reply {
    let id = match folder(ctx) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let user = ctx.str("User").unwrap_or("").to_ascii_lowercase();
    let rights = strings(ctx.param("AccessRights"));
    let name = ctx.name.clone();
    let list = &mut ctx.t.exchange.folder_permissions;
    let pos = list
        .iter()
        .position(|p| is(p, "Identity", &id) && is(p, "User", &user));
    match (name.as_str(), pos) {
        ("add-mailboxfolderpermission", Some(_)) => exo_error(
            400,
            "Microsoft.Exchange.Management.StoreTasks.UserAlreadyExistsInPermissionEntryException",
            &format!("An existing permission entry was found for user: {user}."),
        ),
        ("add-mailboxfolderpermission", None) => {
            list.push(json!({"Identity": id, "User": user, "AccessRights": rights}));
            ok(Vec::new())
        }
        ("set-mailboxfolderpermission", Some(p)) => {
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
