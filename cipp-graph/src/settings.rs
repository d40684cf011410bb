//! Tenant-wide policy objects that standards read and set: the authorization policy, the
//! authentication methods policy and each method's configuration, security defaults, the
//! admin consent request policy, the cross-tenant access default, the default app
//! management policy, the device registration policy and directory settings.
//!
//! Each is a [`GraphSetting`]: where it lives (`path`), how it is changed (`PATCH`, or
//! `PUT` for the policies Graph documents as replaced whole), and the operation name used in
//! errors and logs. The objects are read and written as JSON values, since standards compare
//! and set a few of their properties and keep the rest as Graph sent them.
//!
//! ```
//! use cipp_core::TenantId;
//! use cipp_graph::settings::{self, GraphSetting};
//! let t = TenantId::parse("contoso.onmicrosoft.com").unwrap();
//! let op = settings::get(&t, &GraphSetting::AuthorizationPolicy).unwrap();
//! assert_eq!(op.request().path(), "/v1.0/policies/authorizationPolicy");
//! ```

use std::fmt;

use cipp_core::{Error, TenantId};
use http::Method;
use serde_json::Value;

use crate::op::{get as get_op, unit, with_body};
use crate::GraphOp;

/// The authentication method configurations Graph knows
/// (`authenticationMethodConfigurations/{id}`), by their documented ids.
pub const AUTH_METHOD_IDS: &[&str] = &[
    "Fido2",
    "MicrosoftAuthenticator",
    "Sms",
    "Voice",
    "Email",
    "TemporaryAccessPass",
    "SoftwareOath",
    "HardwareOath",
    "X509Certificate",
    "QRCodePin",
];

/// A tenant-wide policy object.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum GraphSetting {
    /// `policies/authorizationPolicy`: default user role permissions, guest invites,
    /// guest user role, self-service sign-up, email-verified join.
    AuthorizationPolicy,
    /// `policies/authenticationMethodsPolicy`: registration campaign (nudge), report
    /// suspicious activity, system-preferred MFA, migration state.
    AuthenticationMethodsPolicy,
    /// One method's configuration
    /// (`policies/authenticationMethodsPolicy/authenticationMethodConfigurations/{id}`), id
    /// from [`AUTH_METHOD_IDS`].
    AuthenticationMethod(String),
    /// `policies/identitySecurityDefaultsEnforcementPolicy`.
    SecurityDefaults,
    /// `policies/adminConsentRequestPolicy` (replaced whole with `PUT`).
    AdminConsentRequestPolicy,
    /// `policies/crossTenantAccessPolicy/default`: inbound trust (external MFA, compliant
    /// devices) and B2B defaults.
    CrossTenantAccessDefault,
    /// `policies/defaultAppManagementPolicy`: credential restrictions for apps and
    /// service principals.
    DefaultAppManagementPolicy,
    /// `policies/deviceRegistrationPolicy` (beta; replaced whole with `PUT`): who may
    /// register and join devices, local administrators, LAPS.
    DeviceRegistrationPolicy,
    /// `policies/externalIdentitiesPolicy` (beta): whether external users may leave.
    ExternalIdentitiesPolicy,
}

impl GraphSetting {
    /// The path after the host, with the version.
    pub fn path(&self) -> String {
        match self {
            GraphSetting::AuthorizationPolicy => "/v1.0/policies/authorizationPolicy".into(),
            GraphSetting::AuthenticationMethodsPolicy => {
                "/v1.0/policies/authenticationMethodsPolicy".into()
            }
            GraphSetting::AuthenticationMethod(id) => format!(
                "/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/{id}"
            ),
            GraphSetting::SecurityDefaults => {
                "/v1.0/policies/identitySecurityDefaultsEnforcementPolicy".into()
            }
            GraphSetting::AdminConsentRequestPolicy => {
                "/v1.0/policies/adminConsentRequestPolicy".into()
            }
            GraphSetting::CrossTenantAccessDefault => {
                "/v1.0/policies/crossTenantAccessPolicy/default".into()
            }
            GraphSetting::DefaultAppManagementPolicy => {
                "/v1.0/policies/defaultAppManagementPolicy".into()
            }
            GraphSetting::DeviceRegistrationPolicy => {
                "/beta/policies/deviceRegistrationPolicy".into()
            }
            GraphSetting::ExternalIdentitiesPolicy => {
                "/beta/policies/externalIdentitiesPolicy".into()
            }
        }
    }

    /// How the object is changed: `PUT` for the policies Graph replaces whole, else
    /// `PATCH`.
    pub fn update_method(&self) -> Method {
        match self {
            GraphSetting::AdminConsentRequestPolicy | GraphSetting::DeviceRegistrationPolicy => {
                Method::PUT
            }
            _ => Method::PATCH,
        }
    }

    /// A short name for errors and logs (`authorizationPolicy`, `authenticationMethod Sms`).
    pub fn name(&self) -> String {
        match self {
            GraphSetting::AuthenticationMethod(id) => format!("authentication method {id}"),
            other => other
                .path()
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned(),
        }
    }

    fn check(&self) -> Result<(), Error> {
        if let GraphSetting::AuthenticationMethod(id) = self {
            if !AUTH_METHOD_IDS.contains(&id.as_str()) {
                return Err(Error::invalid_input(
                    "authentication method",
                    format!(
                        "`{id}` is not an authentication method configuration; use one of {}",
                        AUTH_METHOD_IDS.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }
}

impl fmt::Display for GraphSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// Reads `setting` as Graph sends it.
pub fn get(tenant: &TenantId, setting: &GraphSetting) -> Result<GraphOp<Value>, Error> {
    setting.check()?;
    Ok(get_op(
        tenant,
        setting.path(),
        format!("get {}", setting.name()),
    ))
}

/// Changes `setting`: `body` holds the properties to set (`PATCH`), or the whole object
/// (`PUT`, see [`GraphSetting::update_method`]). Idempotent: it sets fixed values. The body
/// must be a JSON object.
pub fn update(
    tenant: &TenantId,
    setting: &GraphSetting,
    body: &Value,
) -> Result<GraphOp<()>, Error> {
    setting.check()?;
    if !body.is_object() {
        return Err(Error::invalid_input(
            "body",
            format!("the change to {} must be a JSON object", setting.name()),
        ));
    }
    let method = setting.update_method();
    let op = with_body(
        tenant,
        method,
        setting.path(),
        format!("update {}", setting.name()),
        body,
        unit,
    )?;
    Ok(op.map_request(|r| r.idempotent(true)))
}

/// Tenant-wide policy objects in one tenant (`graph.tenant(&t).settings()`).
#[derive(Clone, Debug)]
pub struct Settings(pub(crate) crate::TenantGraph);

impl Settings {
    /// Reads `setting`.
    pub fn get(&self, setting: &GraphSetting) -> crate::Call<Value> {
        self.0.call(get(self.0.id(), setting))
    }

    /// Changes `setting` (see [`update`]).
    pub fn update(&self, setting: &GraphSetting, body: &Value) -> crate::Call<()> {
        self.0.call(update(self.0.id(), setting, body))
    }
}
