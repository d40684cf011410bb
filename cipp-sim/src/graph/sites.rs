//! SharePoint and OneDrive through Graph: the root site, a user's drive, and items
//! (shortcuts) added to the root of a OneDrive.

use serde_json::json;

use super::{error, not_found, Ctx, Params, Route};
use crate::state::synthetic_guid;
use crate::Reply;

pub(crate) const ROUTES: &[Route] = &[
    Route {
        method: "GET",
        path: "sites/root",
        handler: root_site,
    },
    Route {
        method: "GET",
        path: "users/{id}/drive",
        handler: drive,
    },
    Route {
        method: "POST",
        path: "users/{id}/drive/root/children",
        handler: add_child,
    },
];

fn prefix(ctx: &Ctx<'_, '_>) -> String {
    ctx.t
        .initial_domain()
        .split('.')
        .next()
        .unwrap_or("")
        .to_owned()
}

fn root_site(ctx: &mut Ctx<'_, '_>, _: &Params) -> Reply {
    let prefix = prefix(ctx);
    Reply::json(
        200,
        json!({"id": format!("{prefix}.sharepoint.com,{},{}", synthetic_guid(&format!("{prefix}-site")), synthetic_guid(&format!("{prefix}-web"))),
        "webUrl": format!("https://{prefix}.sharepoint.com"), "displayName": "Communication site"}),
    )
}

fn drive(ctx: &mut Ctx<'_, '_>, p: &Params) -> Reply {
    let Some(upn) = ctx
        .t
        .directory
        .user(p.get(0))
        .and_then(|u| u["userPrincipalName"].as_str())
        .map(str::to_owned)
    else {
        return not_found(p.get(0));
    };
    let url = crate::sharepoint::onedrive_url(&prefix(ctx), &upn);
    Reply::json(
        200,
        json!({"id": synthetic_guid(&url), "driveType": "business", "webUrl": format!("{url}/Documents")}),
    )
}

fn add_child(ctx: &mut Ctx<'_, '_>, p: &Params) -> Reply {
    let Some(uid) = ctx.t.directory.user_id(p.get(0)) else {
        return not_found(p.get(0));
    };
    let b = match ctx.req.json() {
        Ok(b) => b,
        Err(r) => return r,
    };
    if b["name"].as_str().is_none_or(str::is_empty) {
        return error(400, "invalidRequest", "The name of the item is required.");
    }
    let mut item = b.clone();
    item["id"] = json!(synthetic_guid(&format!("item-{uid}-{}", ctx.sim.next_n())));
    ctx.t
        .sharepoint
        .drive_items
        .entry(uid)
        .or_default()
        .push(item.clone());
    Reply::json(201, item)
}
