//! Intune managed devices of a tenant (`GET /deviceManagement/managedDevices`), and the
//! noncompliant ones as CIPP's `DeviceCompliance` alert reads them
//! (`$filter=complianceState eq 'noncompliant'`). A tenant without Intune answers 403 or
//! 400.
//!
//! ```
//! use cipp_core::TenantId;
//! use cipp_graph::managed_devices::noncompliant;
//!
//! let t = TenantId::parse("contoso.onmicrosoft.com")?;
//! let r = noncompliant(&t, &["id", "deviceName"]);
//! assert_eq!(r.path(), "/v1.0/deviceManagement/managedDevices");
//! # Ok::<(), cipp_core::Error>(())
//! ```

use cipp_core::{ApiRequest, Error, TenantId};

use crate::model::ManagedDevice;
use crate::odata::Query;
use crate::op;

const PATH: &str = "/v1.0/deviceManagement/managedDevices";

/// Lists the tenant's managed devices (page size up to 999).
pub fn list(tenant: &TenantId, query: &Query) -> Result<ApiRequest, Error> {
    op::list(tenant, PATH, "list managed devices", query)
}

/// The noncompliant managed devices (`complianceState eq 'noncompliant'`), 999 a page,
/// with `$select` of `fields` when any are named.
pub fn noncompliant(tenant: &TenantId, fields: &[&str]) -> ApiRequest {
    let r = op::request(
        tenant,
        http::Method::GET,
        PATH,
        "list noncompliant managed devices",
    )
    .query("$filter", "complianceState eq 'noncompliant'");
    op::select(r, fields).query("$top", "999")
}

/// Intune managed devices of one tenant (`graph.tenant(&t).managed_devices()`).
#[derive(Clone, Debug)]
pub struct ManagedDevices(pub(crate) crate::TenantGraph);

impl ManagedDevices {
    /// Every managed device (add `.select(..)`, `.filter(..)`).
    pub fn list(&self) -> crate::List<ManagedDevice> {
        self.0.list(list)
    }

    /// The noncompliant devices, with only `fields` when any are named.
    pub fn noncompliant(&self, fields: &[&str]) -> crate::List<ManagedDevice> {
        self.0.list_of(Ok(noncompliant(self.0.id(), fields)))
    }
}

impl crate::TenantGraph {
    /// Intune managed devices: list, the noncompliant ones.
    pub fn managed_devices(&self) -> ManagedDevices {
        ManagedDevices(self.clone())
    }
}
