//! A user's sponsors: users and groups, listed, added by `$ref` and removed by `$ref`.

use serde_json::Value;

use super::users::{directory_object, ref_body};
use super::{error, list, not_found, routes, Answer, Ctx, Params, Route};
use crate::Reply;

pub(crate) const ROUTES: &[Route] = routes![
    GET "users/{id}/sponsors" => list_sponsors,
    POST "users/{id}/sponsors/$ref" => add_sponsor,
    DELETE "users/{id}/sponsors/{sponsor}/$ref" => remove_sponsor,
];

fn list_sponsors(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let uid = ctx.user_id(p.get(0))?;
    let t = &*ctx.t;
    let items: Vec<Value> = t
        .directory
        .sponsors
        .get(&uid)
        .into_iter()
        .flatten()
        .filter_map(|s| directory_object(t, s))
        .collect();
    Ok(list(ctx.req, items, "directoryObjects", None))
}

/// The sponsor a `$ref` body names: `…/users/{id}` must be a user, `…/groups/{id}` a
/// group, `…/directoryObjects/{id}` either.
fn sponsor_of(ctx: &Ctx<'_, '_>) -> Result<String, Reply> {
    let id = ref_body(ctx)?;
    let url = ctx.req.json()?["@odata.id"]
        .as_str()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let dir = &ctx.t.directory;
    let is_user = dir.user(&id).is_some();
    let is_group = dir.group(&id).is_some();
    let found = if url.contains("/users/") {
        is_user
    } else if url.contains("/groups/") {
        is_group
    } else {
        is_user || is_group
    };
    if found {
        Ok(id)
    } else {
        Err(not_found(&id))
    }
}

fn add_sponsor(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let uid = ctx.user_id(p.get(0))?;
    let sponsor = sponsor_of(ctx)?;
    let list = ctx.t.directory.sponsors.entry(uid.clone()).or_default();
    if list.iter().any(|s| s.eq_ignore_ascii_case(&sponsor)) {
        return Err(error(
            400,
            "Request_BadRequest",
            "One or more added object references already exist for the following modified properties: 'sponsors'.",
        ));
    }
    list.push(sponsor);
    ctx.audit_user("Update user", "Update", &uid);
    Ok(Reply::empty(204))
}

fn remove_sponsor(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let uid = ctx.user_id(p.get(0))?;
    let sponsor = p.get(1).to_ascii_lowercase();
    let list = ctx.t.directory.sponsors.entry(uid.clone()).or_default();
    let Some(i) = list.iter().position(|s| s.eq_ignore_ascii_case(&sponsor)) else {
        return Err(not_found(&sponsor));
    };
    list.remove(i);
    ctx.audit_user("Update user", "Update", &uid);
    Ok(Reply::empty(204))
}
