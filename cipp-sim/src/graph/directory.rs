//! The organization, its domains and (in a partner tenant) its GDAP customers.

use serde_json::{json, Value};

use super::{list, routes, Answer, Ctx, Params, Route};

pub(crate) const ROUTES: &[Route] = routes![
    GET "organization" => organization,
    GET "domains" => domains,
    GET "tenantrelationships/delegatedadmincustomers" => customers,
];

fn organization(ctx: &mut Ctx<'_, '_>, _: &Params) -> Answer {
    let items = vec![ctx.t.organization()];
    Ok(list(ctx.req, items, "organization", None))
}

fn domains(ctx: &mut Ctx<'_, '_>, _: &Params) -> Answer {
    let items = ctx.t.domain_objects();
    Ok(list(ctx.req, items, "domains", None))
}

fn customers(ctx: &mut Ctx<'_, '_>, _: &Params) -> Answer {
    let items: Vec<Value> = ctx
        .t
        .gdap
        .customers
        .iter()
        .filter_map(|id| ctx.others.tenants.get(id))
        .map(|c| json!({"id": c.id, "tenantId": c.id, "displayName": c.display_name}))
        .collect();
    Ok(list(
        ctx.req,
        items,
        "tenantRelationships/delegatedAdminCustomers",
        None,
    ))
}
