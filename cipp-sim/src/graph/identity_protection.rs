//! Microsoft Entra ID Protection's risky users (`identityProtection/riskyUsers`), seeded
//! into the directory store under [`RISKY_USERS`]. A tenant without an Entra ID P2
//! service plan (`AAD_PREMIUM_P2` in a subscribed SKU) is refused with 403, as Graph
//! refuses it.

use serde_json::Value;

use super::{error, list_with, routes, Answer, Ctx, Paging, Params, Route};
use crate::state::SimTenant;

/// Where risky users live in [`Directory::store`](crate::state::Directory): seed them
/// with `t.directory.store.get_mut(RISKY_USERS).replace_all(…)` (Graph's `riskyUser`
/// JSON).
pub(crate) const RISKY_USERS: &str = "identityprotection/riskyusers";

pub(crate) const ROUTES: &[Route] = routes![
    GET "identityprotection/riskyusers" => risky_users,
];

/// Whether a subscribed SKU of `t` carries the Entra ID P2 service plan.
pub(crate) fn has_entra_p2(t: &SimTenant) -> bool {
    t.directory.skus().iter().any(|sku| {
        sku["servicePlans"].as_array().is_some_and(|plans| {
            plans
                .iter()
                .any(|p| p["servicePlanName"].as_str() == Some("AAD_PREMIUM_P2"))
        })
    })
}

fn risky_users(ctx: &mut Ctx<'_, '_>, _: &Params) -> Answer {
    if !has_entra_p2(ctx.t) {
        return Err(error(
            403,
            "Forbidden",
            "Your tenant is not licensed for this feature.",
        ));
    }
    let items: Vec<Value> = ctx.t.directory.store.get(RISKY_USERS).items().to_vec();
    Ok(list_with(
        ctx.req,
        items,
        "identityProtection/riskyUsers",
        None,
        Paging {
            default_top: 100,
            max_top: 500,
        },
    ))
}
