//! Organization and domains.

use cipp_core::{ApiRequest, Audience, TenantId};

/// The organization object (a one-item collection).
pub fn organization(tenant: &TenantId) -> ApiRequest {
    ApiRequest::get(tenant.clone(), Audience::Graph, "/v1.0/organization")
        .operation("get organization")
}

/// The tenant's domains.
pub fn domains(tenant: &TenantId) -> ApiRequest {
    ApiRequest::get(tenant.clone(), Audience::Graph, "/v1.0/domains").operation("list domains")
}
