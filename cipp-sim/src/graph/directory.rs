//! The organization, its domains and (in a partner tenant) its GDAP customers.

use serde_json::{json, Value};

use super::{list, Ctx, Params, Route};
use crate::Reply;

pub(crate) const ROUTES: &[Route] = &[
    Route {
        method: "GET",
        path: "organization",
        handler: organization,
    },
    Route {
        method: "GET",
        path: "domains",
        handler: domains,
    },
    Route {
        method: "GET",
        path: "tenantrelationships/delegatedadmincustomers",
        handler: customers,
    },
];

fn organization(ctx: &mut Ctx<'_, '_>, _: &Params) -> Reply {
    let items = vec![ctx.t.organization()];
    list(ctx.req, items, "organization", None)
}

fn domains(ctx: &mut Ctx<'_, '_>, _: &Params) -> Reply {
    let items = ctx.t.domain_objects();
    list(ctx.req, items, "domains", None)
}

fn customers(ctx: &mut Ctx<'_, '_>, _: &Params) -> Reply {
    let items: Vec<Value> = ctx
        .t
        .gdap
        .customers
        .iter()
        .filter_map(|id| ctx.others.tenants.get(id))
        .map(|c| json!({"id": c.id, "tenantId": c.id, "displayName": c.display_name}))
        .collect();
    list(
        ctx.req,
        items,
        "tenantRelationships/delegatedAdminCustomers",
        None,
    )
}
