//! Sign-ins, directory audits, consent grants, service principals and managed devices.

use serde::{Deserialize, Serialize};

use super::common::{model_with_nulls, Extra};

model_with_nulls! {
    /// The status of a sign-in.
    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(remote = "Self", rename_all = "camelCase", default)]
    pub struct SignInStatus {
        /// 0 for success, otherwise the AADSTS code.
        error_code: Option<i64>,
        /// Why it failed.
        failure_reason: Option<String>,
        /// More detail.
        additional_details: Option<String>,
        /// Everything else the service sent.
        #[serde(flatten, skip_deserializing)]
        extra: Extra,
    }
}
cipp_core::keep_unknown_fields!(SignInStatus, extra);

model_with_nulls! {
    /// Where a sign-in came from.
    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(remote = "Self", rename_all = "camelCase", default)]
    pub struct SignInLocation {
        /// City.
        city: Option<String>,
        /// State.
        state: Option<String>,
        /// Two-letter country code.
        country_or_region: Option<String>,
        /// Coordinates.
        geo_coordinates: Option<GeoCoordinates>,
        /// Everything else the service sent.
        #[serde(flatten, skip_deserializing)]
        extra: Extra,
    }
}
cipp_core::keep_unknown_fields!(SignInLocation, extra);

model_with_nulls! {
    /// Latitude and longitude.
    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(remote = "Self", rename_all = "camelCase", default)]
    pub struct GeoCoordinates {
        /// Latitude.
        latitude: Option<f64>,
        /// Longitude.
        longitude: Option<f64>,
        /// Everything else the service sent.
        #[serde(flatten, skip_deserializing)]
        extra: Extra,
    }
}
cipp_core::keep_unknown_fields!(GeoCoordinates, extra);

model_with_nulls! {
    /// One sign-in (`auditLogs/signIns`).
    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(remote = "Self", rename_all = "camelCase", default)]
    pub struct SignIn {
        /// Id.
        id: String,
        /// When.
        created_date_time: Timestamp,
        /// Who.
        user_principal_name: Option<String>,
        /// User id.
        user_id: Option<String>,
        /// Application.
        app_display_name: Option<String>,
        /// Application id.
        app_id: Option<String>,
        /// IP address.
        ip_address: Option<String>,
        /// Client (`Browser`, `Exchange ActiveSync`, `IMAP4`, …): legacy clients show here.
        client_app_used: Option<String>,
        /// Conditional Access outcome.
        conditional_access_status: Option<String>,
        /// Interactive or not.
        is_interactive: Option<bool>,
        /// Status.
        status: Option<SignInStatus>,
        /// Location.
        location: Option<SignInLocation>,
        /// Everything else (device details, risk, applied policies…).
        #[serde(flatten, skip_deserializing)]
        extra: Extra,
    }
}
cipp_core::keep_unknown_fields!(SignIn, extra);

model_with_nulls! {
    /// A resource an audited activity touched.
    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(remote = "Self", rename_all = "camelCase", default)]
    pub struct TargetResource {
        /// Id.
        id: Option<String>,
        /// Display name.
        display_name: Option<String>,
        /// Type (`User`, `Group`, `ServicePrincipal`, …); documented both as `type` and
        /// `Type`.
        #[serde(rename = "type", alias = "Type")]
        kind: Option<String>,
        /// UPN for users.
        user_principal_name: Option<String>,
        /// Changed properties.
        modified_properties: Vec<ModifiedProperty>,
        /// Everything else the service sent.
        #[serde(flatten, skip_deserializing)]
        extra: Extra,
    }
}
cipp_core::keep_unknown_fields!(TargetResource, extra);

model_with_nulls! {
    /// A property an audited activity changed.
    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(remote = "Self", rename_all = "camelCase", default)]
    pub struct ModifiedProperty {
        /// Property.
        display_name: Option<String>,
        /// Old value (JSON text).
        old_value: Option<String>,
        /// New value (JSON text).
        new_value: Option<String>,
        /// Everything else the service sent.
        #[serde(flatten, skip_deserializing)]
        extra: Extra,
    }
}
cipp_core::keep_unknown_fields!(ModifiedProperty, extra);

model_with_nulls! {
    /// One directory audit record (`auditLogs/directoryAudits`).
    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(remote = "Self", rename_all = "camelCase", default)]
    pub struct DirectoryAudit {
        /// Id.
        id: String,
        /// Category (`UserManagement`, `GroupManagement`, …).
        category: Option<String>,
        /// Activity (`Add user`, `Reset user password`, `Consent to application`, …).
        activity_display_name: Option<String>,
        /// When.
        activity_date_time: Timestamp,
        /// `success`, `failure`, `timeout`.
        result: Option<String>,
        /// Who did it (`user` or `app`), as sent.
        initiated_by: Option<serde_json::Value>,
        /// What it touched.
        target_resources: Vec<TargetResource>,
        /// Everything else.
        #[serde(flatten, skip_deserializing)]
        extra: Extra,
    }
}
cipp_core::keep_unknown_fields!(DirectoryAudit, extra);

model_with_nulls! {
    /// A delegated permission grant (`oauth2PermissionGrants`).
    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(remote = "Self", rename_all = "camelCase", default)]
    pub struct OAuth2PermissionGrant {
        /// Id.
        id: String,
        /// The client service principal's object id.
        client_id: Option<String>,
        /// `AllPrincipals` or `Principal`.
        consent_type: Option<String>,
        /// The user, for `Principal` grants.
        principal_id: Option<String>,
        /// The resource service principal's object id.
        resource_id: Option<String>,
        /// Space-separated scopes.
        scope: Option<String>,
        /// Everything else.
        #[serde(flatten, skip_deserializing)]
        extra: Extra,
    }
}
cipp_core::keep_unknown_fields!(OAuth2PermissionGrant, extra);

model_with_nulls! {
    /// A service principal (enterprise application).
    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(remote = "Self", rename_all = "camelCase", default)]
    pub struct ServicePrincipal {
        /// Object id.
        id: String,
        /// Application id.
        app_id: Option<String>,
        /// Name.
        display_name: Option<String>,
        /// Publisher.
        publisher_name: Option<String>,
        /// Created (via `additionalProperties` in some answers; kept when present).
        created_date_time: Timestamp,
        /// Everything else.
        #[serde(flatten, skip_deserializing)]
        extra: Extra,
    }
}
cipp_core::keep_unknown_fields!(ServicePrincipal, extra);

model_with_nulls! {
    /// An Intune managed device.
    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(remote = "Self", rename_all = "camelCase", default)]
    pub struct ManagedDevice {
        /// Id.
        id: String,
        /// Device name.
        device_name: Option<String>,
        /// OS.
        operating_system: Option<String>,
        /// Compliance.
        compliance_state: Option<String>,
        /// Owner UPN.
        user_principal_name: Option<String>,
        /// Enrolled.
        enrolled_date_time: Timestamp,
        /// Last sync.
        last_sync_date_time: Timestamp,
        /// Everything else.
        #[serde(flatten, skip_deserializing)]
        extra: Extra,
    }
}
cipp_core::keep_unknown_fields!(ManagedDevice, extra);
