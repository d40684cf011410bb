//! Group memberships seen from below and PIM for Groups eligibility: the groups a group is
//! in at any depth (`groups/{id}/transitiveMemberOf`, with the `microsoft.graph.group`
//! cast), and the eligible memberships and ownerships
//! (`identityGovernance/privilegedAccess/group/eligibilityScheduleInstances`), seeded into
//! the directory store at [`crate::state::paths::PIM_GROUP_ELIGIBILITIES`] (read only
//! here; Graph creates them through
//! eligibility schedule requests). Graph requires a `$filter` on `principalId` or
//! `groupId` for that listing and answers 400 without one.

use serde_json::{json, Value};

use super::users::directory_object;
use super::{error, list, not_found, routes, Answer, Ctx, Params, Route};
use crate::state::SimTenant;

use crate::state::paths::PIM_GROUP_ELIGIBILITIES;

pub(crate) const ROUTES: &[Route] = routes![
    GET "groups/{id}/transitivememberof" => group_transitive_member_of,
    GET "identitygovernance/privilegedaccess/group/eligibilityscheduleinstances" => eligibilities,
];

/// Every group `object` is in, at any depth (each once; cycles stop).
pub(crate) fn groups_above(t: &SimTenant, object: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut queue = vec![object.to_ascii_lowercase()];
    while let Some(current) = queue.pop() {
        for (parent, members) in &t.directory.members {
            let holds = members.iter().any(|m| m.eq_ignore_ascii_case(&current));
            if holds
                && !parent.eq_ignore_ascii_case(object)
                && !found.iter().any(|f| f.eq_ignore_ascii_case(parent))
            {
                found.push(parent.clone());
                queue.push(parent.to_ascii_lowercase());
            }
        }
    }
    found
}

fn group_transitive_member_of(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    let t = &*ctx.t;
    let gid = p.get(0);
    if t.directory.group(gid).is_none() {
        return Err(not_found(gid));
    }
    let items: Vec<Value> = groups_above(t, gid)
        .iter()
        .filter_map(|g| directory_object(t, g))
        .collect();
    Ok(list(ctx.req, items, "directoryObjects", None))
}

fn eligibilities(ctx: &mut Ctx<'_, '_>, _: &Params) -> Answer {
    let filter = ctx
        .req
        .q("$filter")
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !(filter.contains("principalid") || filter.contains("groupid")) {
        return Err(error(
            400,
            "BadRequest",
            "The request must filter on principalId or groupId.",
        ));
    }
    let items: Vec<Value> = ctx
        .t
        .directory
        .store
        .get(PIM_GROUP_ELIGIBILITIES)
        .items()
        .iter()
        .map(|i| {
            let mut i = i.clone();
            i["@odata.type"] =
                json!("#microsoft.graph.privilegedAccessGroupEligibilityScheduleInstance");
            i
        })
        .collect();
    Ok(list(
        ctx.req,
        items,
        "identityGovernance/privilegedAccess/group/eligibilityScheduleInstances",
        None,
    ))
}
