//! SharePoint and OneDrive through Graph: the root site, a user's drive, and items
//! (shortcuts) added to the root of a OneDrive.

use serde_json::json;

use super::{error, routes, Answer, Ctx, Params, Route};
use crate::state::synthetic_guid;
use crate::Reply;

pub(crate) const ROUTES: &[Route] = routes![
    GET "sites/root" => root_site,
    GET "users/{id}/drive" => drive,
    POST "users/{id}/drive/root/children" => add_child,
];

fn prefix(ctx: &Ctx<'_, '_>) -> String {
    ctx.t
        .initial_domain()
        .split('.')
        .next()
        .unwrap_or("")
        .to_owned()
}

fn root_site(ctx: &mut Ctx<'_, '_>, _: &Params) -> Answer {
    let prefix = prefix(ctx);
    Ok(Reply::json(
        200,
        json!({"id": format!("{prefix}.sharepoint.com,{},{}", synthetic_guid(&format!("{prefix}-site")), synthetic_guid(&format!("{prefix}-web"))),
        "webUrl": format!("https://{prefix}.sharepoint.com"), "displayName": "Communication site"}),
    ))
}

fn drive(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let upn = ctx.user_upn(p.get(0))?;
    let url = crate::sharepoint::onedrive_url(&prefix(ctx), &upn);
    Ok(Reply::json(
        200,
        json!({"id": synthetic_guid(&url), "driveType": "business", "webUrl": format!("{url}/Documents")}),
    ))
}

fn add_child(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let uid = ctx.user_id(p.get(0))?;
    let mut item = ctx.req.json()?;
    if item["name"].as_str().is_none_or(str::is_empty) {
        return Err(error(
            400,
            "invalidRequest",
            "The name of the item is required.",
        ));
    }
    item["id"] = json!(synthetic_guid(&format!("item-{uid}-{}", ctx.sim.next_n())));
    ctx.t
        .sharepoint
        .drive_items
        .entry(uid)
        .or_default()
        .push(item.clone());
    Ok(Reply::json(201, item))
}
