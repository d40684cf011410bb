//! Sign-ins, directory audits, consent grants, service principals and managed devices.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::common::{timestamp, Extra};

/// The status of a sign-in.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignInStatus {
    /// 0 for success, otherwise the AADSTS code.
    #[serde(default)]
    pub error_code: Option<i64>,
    /// Why it failed.
    #[serde(default)]
    pub failure_reason: Option<String>,
    /// More detail.
    #[serde(default)]
    pub additional_details: Option<String>,
    /// Everything else the service sent.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Where a sign-in came from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignInLocation {
    /// City.
    #[serde(default)]
    pub city: Option<String>,
    /// State.
    #[serde(default)]
    pub state: Option<String>,
    /// Two-letter country code.
    #[serde(default)]
    pub country_or_region: Option<String>,
    /// Coordinates.
    #[serde(default)]
    pub geo_coordinates: Option<GeoCoordinates>,
    /// Everything else the service sent.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Latitude and longitude.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GeoCoordinates {
    /// Latitude.
    #[serde(default)]
    pub latitude: Option<f64>,
    /// Longitude.
    #[serde(default)]
    pub longitude: Option<f64>,
    /// Everything else the service sent.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One sign-in (`auditLogs/signIns`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignIn {
    /// Id.
    #[serde(default)]
    pub id: String,
    /// When.
    #[serde(default, with = "timestamp")]
    pub created_date_time: Option<DateTime<Utc>>,
    /// Who.
    #[serde(default)]
    pub user_principal_name: Option<String>,
    /// User id.
    #[serde(default)]
    pub user_id: Option<String>,
    /// Application.
    #[serde(default)]
    pub app_display_name: Option<String>,
    /// Application id.
    #[serde(default)]
    pub app_id: Option<String>,
    /// IP address.
    #[serde(default)]
    pub ip_address: Option<String>,
    /// Client (`Browser`, `Exchange ActiveSync`, `IMAP4`, …): legacy clients show here.
    #[serde(default)]
    pub client_app_used: Option<String>,
    /// Conditional Access outcome.
    #[serde(default)]
    pub conditional_access_status: Option<String>,
    /// Interactive or not.
    #[serde(default)]
    pub is_interactive: Option<bool>,
    /// Status.
    #[serde(default)]
    pub status: Option<SignInStatus>,
    /// Location.
    #[serde(default)]
    pub location: Option<SignInLocation>,
    /// Everything else (device details, risk, applied policies…).
    #[serde(flatten)]
    pub extra: Extra,
}

/// A resource an audited activity touched.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetResource {
    /// Id.
    #[serde(default)]
    pub id: Option<String>,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Type (`User`, `Group`, `ServicePrincipal`, …); documented both as `type` and
    /// `Type`.
    #[serde(default, rename = "type", alias = "Type")]
    pub kind: Option<String>,
    /// UPN for users.
    #[serde(default)]
    pub user_principal_name: Option<String>,
    /// Changed properties.
    #[serde(default)]
    pub modified_properties: Vec<ModifiedProperty>,
    /// Everything else the service sent.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A property an audited activity changed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModifiedProperty {
    /// Property.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Old value (JSON text).
    #[serde(default)]
    pub old_value: Option<String>,
    /// New value (JSON text).
    #[serde(default)]
    pub new_value: Option<String>,
    /// Everything else the service sent.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One directory audit record (`auditLogs/directoryAudits`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryAudit {
    /// Id.
    #[serde(default)]
    pub id: String,
    /// Category (`UserManagement`, `GroupManagement`, …).
    #[serde(default)]
    pub category: Option<String>,
    /// Activity (`Add user`, `Reset user password`, `Consent to application`, …).
    #[serde(default)]
    pub activity_display_name: Option<String>,
    /// When.
    #[serde(default, with = "timestamp")]
    pub activity_date_time: Option<DateTime<Utc>>,
    /// `success`, `failure`, `timeout`.
    #[serde(default)]
    pub result: Option<String>,
    /// Who did it (`user` or `app`), as sent.
    #[serde(default)]
    pub initiated_by: Option<serde_json::Value>,
    /// What it touched.
    #[serde(default)]
    pub target_resources: Vec<TargetResource>,
    /// Everything else.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A delegated permission grant (`oauth2PermissionGrants`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OAuth2PermissionGrant {
    /// Id.
    #[serde(default)]
    pub id: String,
    /// The client service principal's object id.
    #[serde(default)]
    pub client_id: Option<String>,
    /// `AllPrincipals` or `Principal`.
    #[serde(default)]
    pub consent_type: Option<String>,
    /// The user, for `Principal` grants.
    #[serde(default)]
    pub principal_id: Option<String>,
    /// The resource service principal's object id.
    #[serde(default)]
    pub resource_id: Option<String>,
    /// Space-separated scopes.
    #[serde(default)]
    pub scope: Option<String>,
    /// Everything else.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A service principal (enterprise application).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePrincipal {
    /// Object id.
    #[serde(default)]
    pub id: String,
    /// Application id.
    #[serde(default)]
    pub app_id: Option<String>,
    /// Name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Publisher.
    #[serde(default)]
    pub publisher_name: Option<String>,
    /// Created (via `additionalProperties` in some answers; kept when present).
    #[serde(default, with = "timestamp")]
    pub created_date_time: Option<DateTime<Utc>>,
    /// Everything else.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An Intune managed device.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedDevice {
    /// Id.
    #[serde(default)]
    pub id: String,
    /// Device name.
    #[serde(default)]
    pub device_name: Option<String>,
    /// OS.
    #[serde(default)]
    pub operating_system: Option<String>,
    /// Compliance.
    #[serde(default)]
    pub compliance_state: Option<String>,
    /// Owner UPN.
    #[serde(default)]
    pub user_principal_name: Option<String>,
    /// Enrolled.
    #[serde(default, with = "timestamp")]
    pub enrolled_date_time: Option<DateTime<Utc>>,
    /// Last sync.
    #[serde(default, with = "timestamp")]
    pub last_sync_date_time: Option<DateTime<Utc>>,
    /// Everything else.
    #[serde(flatten)]
    pub extra: Extra,
}
