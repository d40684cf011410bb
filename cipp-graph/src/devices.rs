//! Entra ID devices (`/devices`): list, disable or enable, delete. These are the
//! directory's device objects (registered and joined), not Intune's managed devices.

use cipp_core::{ApiRequest, Error, TenantId};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::model::Extra;
use crate::odata::Query;
use crate::op::{self, GraphOp};

/// An Entra ID device (the properties stale-device cleanup reads; every other one kept in
/// `extra`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "camelCase")]
pub struct Device {
    /// Object id (used in the path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The device id the device itself reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Whether the device may authenticate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_enabled: Option<bool>,
    /// The last sign-in, approximately (updated at most every 14 days).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::model::timestamp"
    )]
    pub approximate_last_sign_in_date_time: Option<chrono::DateTime<chrono::Utc>>,
    /// Operating system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operating_system: Option<String>,
    /// `RegisteredDevice`, `SecureVM`, `Printer`, `Shared`, `IoT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_type: Option<String>,
    /// `AzureAd` (joined), `ServerAd` (hybrid joined) or `Workplace` (registered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_type: Option<String>,
    /// The Autopilot or enrolment profile that enrolled it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enrollment_profile_name: Option<String>,
    /// Everything else the service sent.
    #[serde(flatten, skip_deserializing)]
    pub extra: Extra,
}
cipp_core::keep_unknown_fields!(Device, extra);

/// Lists the tenant's devices.
pub fn list(tenant: &TenantId, query: &Query) -> Result<ApiRequest, Error> {
    op::list(tenant, "/v1.0/devices", "list devices", query)
}

/// Enables or disables a device (`PATCH /devices/{id}` with `accountEnabled`); a disabled
/// device can no longer authenticate to Entra ID. `id` is the object id (a GUID).
pub fn set_account_enabled(
    tenant: &TenantId,
    id: &str,
    enabled: bool,
) -> Result<GraphOp<()>, Error> {
    let id = op::guid("device", id, "a device object id (GUID)")?;
    op::patch(
        tenant,
        format!("/v1.0/devices/{id}"),
        if enabled {
            "enable device"
        } else {
            "disable device"
        },
        &json!({ "accountEnabled": enabled }),
    )
}

/// Deletes a device for good (`DELETE /devices/{id}`; devices have no recycle bin).
pub fn delete(tenant: &TenantId, id: &str) -> Result<GraphOp<()>, Error> {
    let id = op::guid("device", id, "a device object id (GUID)")?;
    Ok(op::delete(
        tenant,
        format!("/v1.0/devices/{id}"),
        "delete device",
    ))
}

/// Entra ID devices in one tenant (`graph.tenant(&t).devices()`).
#[derive(Clone, Debug)]
pub struct Devices(pub(crate) crate::TenantGraph);

impl Devices {
    /// Every device (add `.select(..)`, `.filter(..)`).
    pub fn list(&self) -> crate::List<Device> {
        self.0.list(list)
    }

    /// Enables or disables a device (see [`set_account_enabled`]).
    pub fn set_account_enabled(&self, id: &str, enabled: bool) -> crate::Call<()> {
        self.0.call(set_account_enabled(self.0.id(), id, enabled))
    }

    /// Deletes a device (see [`delete`]).
    pub fn delete(&self, id: &str) -> crate::Call<()> {
        self.0.call(delete(self.0.id(), id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked() {
        let t = TenantId::parse("contoso.onmicrosoft.com").unwrap();
        assert!(set_account_enabled(&t, "../users", false).is_err());
        let op = set_account_enabled(&t, "7A7A7A7A-0000-4000-8000-000000000001", false).unwrap();
        assert_eq!(
            op.request().path(),
            "/v1.0/devices/7a7a7a7a-0000-4000-8000-000000000001"
        );
        assert!(delete(&t, "x").is_err());
    }
}
