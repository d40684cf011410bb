//! Intune policies (polymorphic by `@odata.type`, kept whole) and the Apple
//! certificates and tokens whose expiry MSPs watch.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::common::{timestamp, Extra};

/// Any Intune policy or profile. The common fields are typed; everything else (the
/// settings themselves) is kept in `extra`, so a captured policy deploys as read.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "camelCase")]
pub struct IntunePolicy {
    /// The concrete type (`#microsoft.graph.windows10GeneralConfiguration`…).
    #[serde(
        rename = "@odata.type",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub odata_type: Option<String>,
    /// Id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// Name (most kinds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Name (settings catalog policies use `name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Created.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "timestamp")]
    pub created_date_time: Option<DateTime<Utc>>,
    /// Last changed.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "timestamp")]
    pub last_modified_date_time: Option<DateTime<Utc>>,
    /// Everything else.
    #[serde(flatten, skip_deserializing)]
    pub extra: Extra,
}
cipp_core::keep_unknown_fields!(IntunePolicy, extra);

impl IntunePolicy {
    /// The policy's name, whichever field holds it.
    pub fn title(&self) -> &str {
        self.display_name
            .as_deref()
            .or(self.name.as_deref())
            .unwrap_or("")
    }
}

/// Reads a singleton that the service sends either at the top level or wrapped in
/// `"value"` (the documented APNs sample does the latter).
pub fn singleton<T: serde::de::DeserializeOwned>(
    v: serde_json::Value,
) -> Result<T, serde_json::Error> {
    match v {
        serde_json::Value::Object(mut o) if o.get("value").is_some_and(|x| x.is_object()) => {
            let inner = o.remove("value").unwrap_or_default();
            serde_json::from_value(inner)
        }
        other => serde_json::from_value(other),
    }
}

/// The Apple push notification certificate (MDM for iOS/macOS).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "camelCase")]
pub struct ApplePushCertificate {
    /// The Apple ID that created it.
    #[serde(default)]
    pub apple_identifier: Option<String>,
    /// Topic.
    #[serde(default)]
    pub topic_identifier: Option<String>,
    /// When it expires.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "timestamp")]
    pub expiration_date_time: Option<DateTime<Utc>>,
    /// Upload status.
    #[serde(default)]
    pub certificate_upload_status: Option<String>,
    /// Everything else.
    #[serde(flatten, skip_deserializing)]
    pub extra: Extra,
}
cipp_core::keep_unknown_fields!(ApplePushCertificate, extra);

/// An Apple Volume Purchase Program token.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "camelCase")]
pub struct VppToken {
    /// Id.
    #[serde(default)]
    pub id: String,
    /// Organisation.
    #[serde(default)]
    pub organization_name: Option<String>,
    /// Apple ID.
    #[serde(default)]
    pub apple_id: Option<String>,
    /// When it expires.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "timestamp")]
    pub expiration_date_time: Option<DateTime<Utc>>,
    /// `valid`, `expired`, `invalid`, `assignedToExternalMDM`…
    #[serde(default)]
    pub state: Option<String>,
    /// Everything else.
    #[serde(flatten, skip_deserializing)]
    pub extra: Extra,
}
cipp_core::keep_unknown_fields!(VppToken, extra);

/// Apple Automated Device Enrollment (DEP) settings (beta).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "camelCase")]
pub struct DepOnboardingSetting {
    /// Id.
    #[serde(default)]
    pub id: String,
    /// Apple ID.
    #[serde(default)]
    pub apple_identifier: Option<String>,
    /// Token name.
    #[serde(default)]
    pub token_name: Option<String>,
    /// When the token expires.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "timestamp")]
    pub token_expiration_date_time: Option<DateTime<Utc>>,
    /// Everything else.
    #[serde(flatten, skip_deserializing)]
    pub extra: Extra,
}
cipp_core::keep_unknown_fields!(DepOnboardingSetting, extra);
