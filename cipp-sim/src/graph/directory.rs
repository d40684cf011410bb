//! The organization, its domains and (in a partner tenant) its GDAP customers.

use serde_json::{json, Value};

use super::{error, list, routes, Answer, Ctx, Params, Route};

pub(crate) const ROUTES: &[Route] = routes![
    GET "organization" => organization,
    GET "domains" => domains,
    GET "tenantrelationships/delegatedadmincustomers" => customers,
    GET "tenantrelationships/findtenantinformationbytenantid/{arg}" => find_tenant_by_id,
    GET "tenantrelationships/findtenantinformationbydomainname/{arg}" => find_tenant_by_domain,
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

/// `findTenantInformationByTenantId(tenantId='…')`: any simulated tenant by id.
fn find_tenant_by_id(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    find_tenant(ctx, p.get(0), "tenantid", true)
}

/// `findTenantInformationByDomainName(domainName='…')`: any simulated tenant by one of
/// its domains.
fn find_tenant_by_domain(ctx: &mut Ctx<'_, '_>, p: &Params) -> Answer {
    find_tenant(ctx, p.get(0), "domainname", false)
}

/// Entra's public `tenantInformation` of the tenant `arg` (`key=value`) names.
fn find_tenant(ctx: &mut Ctx<'_, '_>, arg: &str, key: &str, by_id: bool) -> Answer {
    let Some((_, name)) = arg
        .split_once('=')
        .filter(|(k, _)| k.eq_ignore_ascii_case(key))
    else {
        return Err(error(
            400,
            "BadRequest",
            &format!("The function parameter '{key}' is missing."),
        ));
    };
    let name = name.to_owned();
    let matches = |t: &crate::state::SimTenant| {
        if by_id {
            t.id.eq_ignore_ascii_case(&name)
        } else {
            t.domains.iter().any(|d| d.eq_ignore_ascii_case(&name))
        }
    };
    let found = std::iter::once(&*ctx.t)
        .chain(ctx.others.tenants.values())
        .find(|t| matches(t));
    match found {
        Some(t) => Ok(crate::Reply::json(
            200,
            json!({
                "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.tenantInformation",
                "tenantId": t.id,
                "federationBrandName": null,
                "displayName": t.display_name,
                "defaultDomainName": t.default_domain,
            }),
        )),
        None => Err(error(
            404,
            "Request_ResourceNotFound",
            &format!("Resource '{name}' does not exist or one of its queried reference-property objects are not present."),
        )),
    }
}
