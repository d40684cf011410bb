//! Authentication methods and Temporary Access Passes.

use serde::{Deserialize, Serialize};

use super::common::{model, model_with_nulls, Extra};

model! {
    /// One registered authentication method. The kind comes from `@odata.type`; kinds this
    /// version does not know are kept as [`AuthMethodKind::Unknown`] with all their fields.
    #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
    #[serde(remote = "Self", rename_all = "camelCase")]
    pub struct AuthMethod {
        /// `@odata.type`, for example `#microsoft.graph.phoneAuthenticationMethod`.
        #[serde(rename = "@odata.type", default)]
        odata_type: String,
        /// Method id.
        #[serde(default)]
        id: String,
        /// Registration time, when the service reports it (`createdDateTime`, or
        /// `creationDateTime` as FIDO2 security keys name it).
        #[serde(alias = "creationDateTime")]
        created_date_time: Timestamp,
        /// Every other field (phone number, device name, …).
        #[serde(flatten, skip_deserializing)]
        extra: Extra,
    }
}
cipp_core::keep_unknown_fields!(AuthMethod, extra);

/// The kinds of authentication methods.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthMethodKind {
    /// Password.
    Password,
    /// Phone (SMS / voice).
    Phone,
    /// Microsoft Authenticator.
    MicrosoftAuthenticator,
    /// FIDO2 security key.
    Fido2,
    /// Windows Hello for Business.
    WindowsHelloForBusiness,
    /// E-mail (SSPR only).
    Email,
    /// Software OATH token.
    SoftwareOath,
    /// Temporary Access Pass.
    TemporaryAccessPass,
    /// Platform credential (macOS).
    PlatformCredential,
    /// QR code PIN (beta).
    QrCodePin,
    /// A kind this version does not know (the `@odata.type` without namespace).
    Unknown(String),
}

impl AuthMethod {
    /// The method's kind.
    pub fn kind(&self) -> AuthMethodKind {
        let t = self
            .odata_type
            .trim_start_matches('#')
            .trim_start_matches("microsoft.graph.");
        match t {
            "passwordAuthenticationMethod" => AuthMethodKind::Password,
            "phoneAuthenticationMethod" => AuthMethodKind::Phone,
            "microsoftAuthenticatorAuthenticationMethod" => AuthMethodKind::MicrosoftAuthenticator,
            "fido2AuthenticationMethod" => AuthMethodKind::Fido2,
            "windowsHelloForBusinessAuthenticationMethod" => {
                AuthMethodKind::WindowsHelloForBusiness
            }
            "emailAuthenticationMethod" => AuthMethodKind::Email,
            "softwareOathAuthenticationMethod" => AuthMethodKind::SoftwareOath,
            "temporaryAccessPassAuthenticationMethod" => AuthMethodKind::TemporaryAccessPass,
            "platformCredentialAuthenticationMethod" => AuthMethodKind::PlatformCredential,
            "qrCodePinAuthenticationMethod" => AuthMethodKind::QrCodePin,
            other => AuthMethodKind::Unknown(other.to_owned()),
        }
    }

    /// The collection segment used to delete it (`phoneMethods`, `fido2Methods`, …):
    /// the type without namespace and `Authentication`, pluralised, as CIPP derives it.
    pub fn collection(&self) -> Option<String> {
        let t = self
            .odata_type
            .trim_start_matches('#')
            .trim_start_matches("microsoft.graph.");
        let base = t.strip_suffix("AuthenticationMethod")?;
        Some(format!("{base}Methods"))
    }
}

model_with_nulls! {
    /// A Temporary Access Pass as created (the pass itself is returned only once).
    #[derive(Clone, Debug, Deserialize)]
    #[serde(remote = "Self", rename_all = "camelCase")]
    pub struct TemporaryAccessPass {
        /// Method id.
        #[serde(default)]
        id: String,
        /// The pass (a secret: shown once).
        #[serde(default, deserialize_with = "secret_opt")]
        temporary_access_pass: Option<secrecy::SecretString>,
        /// Creation time.
        created_date_time: Timestamp,
        /// When it becomes usable.
        start_date_time: Timestamp,
        /// Lifetime in minutes.
        #[serde(default)]
        lifetime_in_minutes: Option<u32>,
        /// Whether it can be used only once.
        #[serde(default)]
        is_usable_once: Option<bool>,
        /// Whether it can be used now.
        #[serde(default)]
        is_usable: Option<bool>,
        /// Why not, for example `NotYetValid`.
        #[serde(default)]
        method_usability_reason: Option<String>,
        /// Everything else the service sent.
        #[serde(flatten, skip_deserializing)]
        extra: Extra,
    }
}
cipp_core::keep_unknown_fields!(TemporaryAccessPass, extra, deserialize);

fn secret_opt<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<secrecy::SecretString>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.map(secrecy::SecretString::from))
}

model! {
    /// A request for a Temporary Access Pass.
    #[derive(Clone, Debug, Default, PartialEq, Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct NewTemporaryAccessPass {
        /// When it becomes usable (now when absent).
        start_date_time: Timestamp,
        /// Lifetime, 10–43200 minutes (the policy's default when absent).
        lifetime_in_minutes: Option<u32>,
        /// One-time use.
        is_usable_once: Option<bool>,
    }
}

model_with_nulls! {
    /// The tenant's Temporary Access Pass policy
    /// (`policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass`).
    #[derive(Clone, Debug, Default, PartialEq, Deserialize)]
    #[serde(remote = "Self", rename_all = "camelCase", default)]
    pub struct TemporaryAccessPassPolicy {
        /// `enabled` or `disabled`.
        state: Option<String>,
        /// Default lifetime.
        default_lifetime_in_minutes: Option<u32>,
        /// Minimum lifetime.
        minimum_lifetime_in_minutes: Option<u32>,
        /// Maximum lifetime.
        maximum_lifetime_in_minutes: Option<u32>,
        /// Whether every pass must be one-time.
        is_usable_once: Option<bool>,
        /// Everything else.
        #[serde(flatten, skip_deserializing)]
        extra: Extra,
    }
}
cipp_core::keep_unknown_fields!(TemporaryAccessPassPolicy, extra, deserialize);

model_with_nulls! {
    /// A user's row in the MFA registration report (`userRegistrationDetails`).
    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(remote = "Self", rename_all = "camelCase", default)]
    pub struct UserRegistrationDetails {
        /// User id.
        id: String,
        /// UPN.
        user_principal_name: Option<String>,
        /// Display name.
        user_display_name: Option<String>,
        /// Whether the user holds an admin role.
        is_admin: Option<bool>,
        /// Whether an MFA method is registered.
        is_mfa_registered: Option<bool>,
        /// Whether the user can do MFA.
        is_mfa_capable: Option<bool>,
        /// Whether SSPR is registered.
        is_sspr_registered: Option<bool>,
        /// Registered methods.
        methods_registered: Vec<String>,
        /// The preferred secondary method (may be `""`).
        user_preferred_method_for_secondary_authentication: Option<String>,
        /// `member` or `guest`.
        user_type: Option<String>,
        /// Last update.
        last_updated_date_time: Timestamp,
        /// Everything else.
        #[serde(flatten, skip_deserializing)]
        extra: Extra,
    }
}
cipp_core::keep_unknown_fields!(UserRegistrationDetails, extra);

super::common::string_enum!(
    /// Legacy per-user MFA state.
    PerUserMfaState { Disabled = "disabled", Enabled = "enabled", Enforced = "enforced" }
);

/// A user's per-user MFA state (beta `authentication/requirements`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticationRequirements {
    /// The state.
    pub per_user_mfa_state: PerUserMfaState,
}
