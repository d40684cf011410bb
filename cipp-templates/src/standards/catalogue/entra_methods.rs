//! Standards over the authentication methods policy, each method's configuration
//! (`policies/authenticationMethodsPolicy/authenticationMethodConfigurations/{id}`; a
//! change names the method's `@odata.type`), and security defaults.

use std::sync::Arc;

use cipp_core::Error;
use cipp_graph::settings::{auth_method_type, GraphSetting};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{de, invalid};
use crate::standards::model::{Category, Impact, Mode, Standard, StandardMeta};
use crate::standards::read::Read;
use crate::standards::setting::{Field, SettingStandard, Write};
use crate::standards::NoSettings;

pub(super) fn standards() -> Vec<Arc<dyn Standard>> {
    vec![
        Arc::new(security_defaults()),
        Arc::new(disable_sms()),
        Arc::new(disable_voice()),
        Arc::new(disable_email()),
        Arc::new(enable_fido2()),
        Arc::new(enable_hardware_oauth()),
        Arc::new(allow_oauth_tokens()),
        Arc::new(disable_x509_certificate()),
        Arc::new(disable_qr_code_pin()),
        Arc::new(tap()),
        Arc::new(allow_otp_tokens()),
        Arc::new(pw_display_app_information()),
        Arc::new(pw_companion_app()),
        Arc::new(nudge_mfa()),
        Arc::new(auth_methods_settings()),
    ]
}

fn method(id: &str) -> GraphSetting {
    GraphSetting::AuthenticationMethod(id.to_owned())
}

/// A change to method `id`: `props` with the method's `@odata.type`.
fn method_write(id: &str, mut props: Value) -> Result<Write, Error> {
    props["@odata.type"] = json!(auth_method_type(id).unwrap_or_default());
    Ok(Write::Graph {
        setting: method(id),
        body: props,
    })
}

/// A field with a name of its own (several compared properties are named `state`).
fn named(name: &str, pointer: &str, expected: impl Into<Value>) -> Field {
    Field {
        name: name.to_owned(),
        pointer: pointer.to_owned(),
        expected: expected.into(),
    }
}

fn meta(
    name: &'static str,
    impact: Impact,
    label: &'static str,
    help: &'static str,
    tags: &'static [&'static str],
    reads_doc: &'static str,
    writes_doc: &'static str,
) -> StandardMeta {
    StandardMeta {
        name,
        category: Category::Entra,
        impact,
        label,
        help,
        tags,
        capabilities: &[],
        modes: Mode::ALL,
        multiple: false,
        reads_doc,
        writes_doc,
    }
}

/// A standard setting one method configuration's `state` (the fn pointers of a
/// [`SettingStandard`] capture nothing, so each is written out by this macro).
macro_rules! method_state {
    ($fn_name:ident, $id:literal, $state:literal, $extra:tt, $meta:expr) => {
        fn $fn_name() -> SettingStandard<NoSettings> {
            SettingStandard::<NoSettings>::new(
                $meta,
                Read::Graph(method($id)),
                |_| vec![Field::new("/state", $state)],
                |_, _| {
                    let mut body = json!($extra);
                    body["state"] = json!($state);
                    method_write($id, body)
                },
            )
        }
    };
}

method_state!(disable_sms, "Sms", "disabled", {}, meta(
    "DisableSMS", Impact::High, "Disables SMS as an MFA method",
    "This blocks users from using SMS as an MFA method. If a user only has SMS as a MFA method, they will be unable to log in.",
    &["CIS M365 5.0 (2.3.5)", "EIDSCA.AS04", "NIST CSF 2.0 (PR.AA-03)", "EIDSCAAS04"],
    "GET policies/authenticationMethodsPolicy/authenticationMethodConfigurations/Sms",
    "PATCH …/authenticationMethodConfigurations/Sms {state: disabled}",
));

method_state!(disable_voice, "Voice", "disabled", {}, meta(
    "DisableVoice", Impact::High, "Disables Voice call as an MFA method",
    "This blocks users from using Voice call as an MFA method. If a user only has Voice as a MFA method, they will be unable to log in.",
    &["CIS M365 5.0 (2.3.5)", "EIDSCA.AV01", "NIST CSF 2.0 (PR.AA-03)", "EIDSCAAV01"],
    "GET policies/authenticationMethodsPolicy/authenticationMethodConfigurations/Voice",
    "PATCH …/authenticationMethodConfigurations/Voice {state: disabled}",
));

method_state!(disable_email, "Email", "disabled", {}, meta(
    "DisableEmail", Impact::High, "Disables Email as an MFA method",
    "This blocks users from using email as an MFA method. This disables the email OTP option for guest users, and instead prompts them to create a Microsoft account.",
    &["CIS M365 5.0 (2.3.5)", "NIST CSF 2.0 (PR.AA-03)"],
    "GET policies/authenticationMethodsPolicy/authenticationMethodConfigurations/Email",
    "PATCH …/authenticationMethodConfigurations/Email {state: disabled}",
));

method_state!(enable_fido2, "Fido2", "enabled",
    {"isAttestationEnforced": true, "isSelfServiceRegistrationAllowed": true},
    meta(
    "EnableFIDO2", Impact::Low, "Enable FIDO2 capabilities",
    "Enables the FIDO2 authenticationMethod for the tenant",
    &["EIDSCA.AF01", "EIDSCA.AF02", "EIDSCA.AF03", "EIDSCA.AF04", "EIDSCA.AF05", "EIDSCA.AF06", "NIST CSF 2.0 (PR.AA-03)",
      "EIDSCAAF01", "EIDSCAAF02", "EIDSCAAF03", "EIDSCAAF04", "EIDSCAAF05", "EIDSCAAF06"],
    "GET policies/authenticationMethodsPolicy/authenticationMethodConfigurations/Fido2",
    "PATCH …/authenticationMethodConfigurations/Fido2 {state: enabled, isAttestationEnforced: true, isSelfServiceRegistrationAllowed: true}",
));

method_state!(enable_hardware_oauth, "HardwareOath", "enabled", {}, meta(
    "EnableHardwareOAuth", Impact::Low, "Enable Hardware OAuth tokens",
    "Enables the HardwareOath authenticationMethod for the tenant. This allows you to use hardware tokens for generating 6 digit MFA codes.",
    &[],
    "GET beta policies/authenticationMethodsPolicy/authenticationMethodConfigurations/HardwareOath",
    "PATCH beta …/authenticationMethodConfigurations/HardwareOath {state: enabled}",
));

method_state!(
    allow_oauth_tokens,
    "SoftwareOath",
    "enabled",
    {},
    meta(
        "allowOAuthTokens",
        Impact::Low,
        "Enable OTP Software OAuth tokens",
        "Allows you to use any software OAuth token generator",
        &["EIDSCA.AT01", "EIDSCA.AT02"],
        "GET policies/authenticationMethodsPolicy/authenticationMethodConfigurations/SoftwareOath",
        "PATCH …/authenticationMethodConfigurations/SoftwareOath {state: enabled}",
    )
);

method_state!(disable_x509_certificate, "X509Certificate", "disabled", {}, meta(
    "Disablex509Certificate", Impact::High, "Disables Certificates as an MFA method",
    "This blocks users from using Certificates as an MFA method.",
    &[],
    "GET policies/authenticationMethodsPolicy/authenticationMethodConfigurations/X509Certificate",
    "PATCH …/authenticationMethodConfigurations/X509Certificate {state: disabled}",
));

method_state!(disable_qr_code_pin, "QRCodePin", "disabled", {}, meta(
    "DisableQRCodePin", Impact::High, "Disables QR Code Pin as an MFA method",
    "This blocks users from using QR Code Pin as an MFA method. If a user only has QR Code Pin as a MFA method, they will be unable to log in.",
    &[],
    "GET policies/authenticationMethodsPolicy/authenticationMethodConfigurations/QRCodePin",
    "PATCH …/authenticationMethodConfigurations/QRCodePin {state: disabled}",
));

fn security_defaults() -> SettingStandard<NoSettings> {
    SettingStandard::<NoSettings>::new(
        meta(
            "SecurityDefaults",
            Impact::High,
            "Enable Security Defaults",
            "Enables security defaults for the tenant, for newer tenants this is enabled by default. Do not enable this feature if you use Conditional Access.",
            &["CISA (MS.AAD.11.1v1)", "ZTNA21843"],
            "GET policies/identitySecurityDefaultsEnforcementPolicy",
            "PATCH policies/identitySecurityDefaultsEnforcementPolicy {isEnabled: true}",
        ),
        Read::Graph(GraphSetting::SecurityDefaults),
        |_| vec![named("SecurityDefaultsEnabled", "/isEnabled", true)],
        |_, _| {
            Ok(Write::Graph {
                setting: GraphSetting::SecurityDefaults,
                body: json!({"isEnabled": true}),
            })
        },
    )
}

/// Settings of `TAP` (CIPP's defaults: 60, 480, 60 minutes, 8 characters, usable once).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct TapSettings {
    /// The shortest lifetime an administrator may give, in minutes (10–43200).
    #[serde(rename = "MinimumLifetime", default, deserialize_with = "de::opt_i64")]
    pub minimum_lifetime: Option<i64>,
    /// The longest lifetime, in minutes (10–43200).
    #[serde(rename = "MaximumLifetime", default, deserialize_with = "de::opt_i64")]
    pub maximum_lifetime: Option<i64>,
    /// The default lifetime, between the two.
    #[serde(rename = "DefaultLifetime", default, deserialize_with = "de::opt_i64")]
    pub default_lifetime: Option<i64>,
    /// The pass length (8–48).
    #[serde(rename = "TAPLength", default, deserialize_with = "de::opt_i64")]
    pub length: Option<i64>,
    /// Usable once (`true`) or for several sign-ins (`false`).
    #[serde(rename = "config", default, deserialize_with = "de::opt_bool")]
    pub usable_once: Option<bool>,
}

impl TapSettings {
    fn values(&self) -> (i64, i64, i64, i64, bool) {
        (
            self.minimum_lifetime.unwrap_or(60),
            self.maximum_lifetime.unwrap_or(480),
            self.default_lifetime.unwrap_or(60),
            self.length.unwrap_or(8),
            self.usable_once.unwrap_or(true),
        )
    }
}

fn tap() -> SettingStandard<TapSettings> {
    SettingStandard::<TapSettings>::new(
        meta(
            "TAP",
            Impact::Low,
            "Enable Temporary Access Passes (TAP)",
            "Enable TAP with the specified configuration settings.",
            &[],
            "GET policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass",
            "PATCH …/authenticationMethodConfigurations/TemporaryAccessPass {state: enabled, lifetimes, defaultLength, isUsableOnce}",
        ),
        Read::Graph(method("TemporaryAccessPass")),
        |s| {
            let (min, max, default, length, once) = s.values();
            vec![
                Field::new("/state", "enabled"),
                Field::new("/minimumLifetimeInMinutes", min),
                Field::new("/maximumLifetimeInMinutes", max),
                Field::new("/defaultLifetimeInMinutes", default),
                Field::new("/defaultLength", length),
                Field::new("/isUsableOnce", once),
            ]
        },
        |s, _| {
            let (min, max, default, length, once) = s.values();
            method_write(
                "TemporaryAccessPass",
                json!({"state": "enabled", "minimumLifetimeInMinutes": min, "maximumLifetimeInMinutes": max,
                       "defaultLifetimeInMinutes": default, "defaultLength": length, "isUsableOnce": once}),
            )
        },
    )
    .validated(|s| {
        let (min, max, default, length, _) = s.values();
        if !(10..=43200).contains(&min) || !(10..=43200).contains(&max) {
            return Err(invalid("TAP", "MinimumLifetime", "lifetimes are between 10 and 43200 minutes"));
        }
        if min > max {
            return Err(invalid(
                "TAP",
                "MinimumLifetime",
                format!("the minimum lifetime ({min}) exceeds the maximum ({max})"),
            ));
        }
        if !(min..=max).contains(&default) {
            return Err(invalid(
                "TAP",
                "DefaultLifetime",
                format!("the default lifetime ({default}) must be between the minimum ({min}) and maximum ({max})"),
            ));
        }
        if !(8..=48).contains(&length) {
            return Err(invalid("TAP", "TAPLength", "the length is between 8 and 48 characters"));
        }
        Ok(())
    })
}

fn allow_otp_tokens() -> SettingStandard<NoSettings> {
    SettingStandard::<NoSettings>::new(
        meta(
            "allowOTPTokens",
            Impact::Low,
            "Enable OTP via Authenticator",
            "Allows you to use MS authenticator OTP token generator",
            &["EIDSCA.AM02", "EIDSCAAM02"],
            "GET policies/authenticationMethodsPolicy/authenticationMethodConfigurations/MicrosoftAuthenticator",
            "PATCH …/authenticationMethodConfigurations/MicrosoftAuthenticator {state: enabled, isSoftwareOathEnabled: true}",
        ),
        Read::Graph(method("MicrosoftAuthenticator")),
        |_| vec![Field::new("/isSoftwareOathEnabled", true)],
        |_, _| {
            method_write(
                "MicrosoftAuthenticator",
                json!({"state": "enabled", "isSoftwareOathEnabled": true}),
            )
        },
    )
}

/// A Microsoft Authenticator feature setting for all users.
fn feature(state: &str) -> Value {
    json!({"state": state,
        "includeTarget": {"targetType": "group", "id": "all_users"},
        "excludeTarget": {"targetType": "group", "id": "00000000-0000-0000-0000-000000000000"}})
}

fn pw_display_app_information() -> SettingStandard<NoSettings> {
    SettingStandard::<NoSettings>::new(
        meta(
            "PWdisplayAppInformationRequiredState",
            Impact::Low,
            "Enable Passwordless with Location information and Number Matching",
            "Enables the MS authenticator app to display information about the app that is requesting authentication. This displays the application name.",
            &["CIS M365 5.0 (2.3.1)", "EIDSCA.AM03", "EIDSCA.AM04", "EIDSCA.AM06", "EIDSCA.AM07", "EIDSCA.AM09", "EIDSCA.AM10",
              "NIST CSF 2.0 (PR.AA-03)", "EIDSCAAM01", "EIDSCAAM03", "EIDSCAAM04", "EIDSCAAM06", "EIDSCAAM07", "EIDSCAAM09", "EIDSCAAM10"],
            "GET policies/authenticationMethodsPolicy/authenticationMethodConfigurations/MicrosoftAuthenticator",
            "PATCH …/authenticationMethodConfigurations/MicrosoftAuthenticator {state: enabled, featureSettings.displayAppInformationRequiredState and displayLocationInformationRequiredState: enabled}",
        ),
        Read::Graph(method("MicrosoftAuthenticator")),
        |_| {
            vec![
                Field::new("/state", "enabled"),
                named(
                    "displayAppInformationRequiredState",
                    "/featureSettings/displayAppInformationRequiredState/state",
                    "enabled",
                ),
                named(
                    "displayLocationInformationRequiredState",
                    "/featureSettings/displayLocationInformationRequiredState/state",
                    "enabled",
                ),
            ]
        },
        |_, _| {
            method_write(
                "MicrosoftAuthenticator",
                json!({"state": "enabled", "featureSettings": {
                    "displayAppInformationRequiredState": feature("enabled"),
                    "displayLocationInformationRequiredState": feature("enabled")}}),
            )
        },
    )
}

/// Settings of `PWcompanionAppAllowedState`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct CompanionAppSettings {
    /// `enabled`, `disabled` or `default` (Microsoft managed); required.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub state: Option<String>,
}

const FEATURE_STATES: &[&str] = &["enabled", "disabled", "default"];

fn pw_companion_app() -> SettingStandard<CompanionAppSettings> {
    SettingStandard::<CompanionAppSettings>::new(
        meta(
            "PWcompanionAppAllowedState",
            Impact::Low,
            "Set Authenticator Lite state",
            "Sets the state of Authenticator Lite, Authenticator lite is a companion app for passwordless authentication.",
            &["EIDSCA.AM01"],
            "GET policies/authenticationMethodsPolicy/authenticationMethodConfigurations/MicrosoftAuthenticator",
            "PATCH …/authenticationMethodConfigurations/MicrosoftAuthenticator {featureSettings.companionAppAllowedState}",
        ),
        Read::Graph(method("MicrosoftAuthenticator")),
        |s| {
            vec![named(
                "companionAppAllowedState",
                "/featureSettings/companionAppAllowedState/state",
                json!(s.state),
            )]
        },
        |s, _| {
            method_write(
                "MicrosoftAuthenticator",
                json!({"featureSettings": {"companionAppAllowedState": feature(s.state.as_deref().unwrap_or_default())}}),
            )
        },
    )
    .validated(|s| match s.state.as_deref() {
        Some(v) if FEATURE_STATES.contains(&v) => Ok(()),
        other => Err(invalid(
            "PWcompanionAppAllowedState",
            "state",
            format!("`{}` is not a state; use enabled, disabled or default", other.unwrap_or("")),
        )),
    })
}

/// Settings of `NudgeMFA`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct NudgeSettings {
    /// `enabled` or `disabled` (required).
    #[serde(default, deserialize_with = "de::opt_text")]
    pub state: Option<String>,
    /// Days a user may skip registering the Authenticator (0–14, default 1).
    #[serde(
        rename = "snoozeDurationInDays",
        default,
        deserialize_with = "de::opt_i64"
    )]
    pub snooze_duration_in_days: Option<i64>,
}

const CAMPAIGN: &str = "/registrationEnforcement/authenticationMethodsRegistrationCampaign";

fn nudge_mfa() -> SettingStandard<NudgeSettings> {
    SettingStandard::<NudgeSettings>::new(
        meta(
            "NudgeMFA",
            Impact::Low,
            "Sets the state for the request to setup Authenticator",
            "Sets the state of the registration campaign for the tenant",
            &["ZTNA21889"],
            "GET policies/authenticationMethodsPolicy",
            "PATCH policies/authenticationMethodsPolicy {registrationEnforcement.authenticationMethodsRegistrationCampaign: state, snoozeDurationInDays, enforceRegistrationAfterAllowedSnoozes: true}",
        ),
        Read::Graph(GraphSetting::AuthenticationMethodsPolicy),
        |s| {
            vec![
                Field::new(&format!("{CAMPAIGN}/state"), json!(s.state)),
                Field::new(
                    &format!("{CAMPAIGN}/snoozeDurationInDays"),
                    s.snooze_duration_in_days.unwrap_or(1),
                ),
                Field::new(&format!("{CAMPAIGN}/enforceRegistrationAfterAllowedSnoozes"), true),
            ]
        },
        |s, _| {
            Ok(Write::Graph {
                setting: GraphSetting::AuthenticationMethodsPolicy,
                body: json!({"registrationEnforcement": {"authenticationMethodsRegistrationCampaign": {
                    "state": s.state, "snoozeDurationInDays": s.snooze_duration_in_days.unwrap_or(1),
                    "enforceRegistrationAfterAllowedSnoozes": true}}}),
            })
        },
    )
    .validated(|s| {
        if !matches!(s.state.as_deref(), Some("enabled" | "disabled")) {
            return Err(invalid(
                "NudgeMFA",
                "state",
                format!("`{}` is not a state; use enabled or disabled", s.state.as_deref().unwrap_or("")),
            ));
        }
        match s.snooze_duration_in_days {
            Some(d) if !(0..=14).contains(&d) => Err(invalid(
                "NudgeMFA",
                "snoozeDurationInDays",
                format!("{d} days: users may skip registering for 0 to 14 days"),
            )),
            _ => Ok(()),
        }
    })
}

/// Settings of `AuthMethodsSettings` (at least one).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct AuthMethodsSettingsSettings {
    /// Report suspicious activity: `default`, `enabled` or `disabled`.
    #[serde(
        rename = "ReportSuspiciousActivity",
        default,
        deserialize_with = "de::opt_text"
    )]
    pub report_suspicious_activity: Option<String>,
    /// System-preferred MFA: `default`, `enabled` or `disabled`.
    #[serde(
        rename = "SystemCredential",
        default,
        deserialize_with = "de::opt_text"
    )]
    pub system_credential: Option<String>,
}

fn auth_methods_settings() -> SettingStandard<AuthMethodsSettingsSettings> {
    SettingStandard::<AuthMethodsSettingsSettings>::new(
        meta(
            "AuthMethodsSettings",
            Impact::Low,
            "Configure Authentication Methods Policy Settings",
            "Configures the report suspicious activity settings and system credential preferences in the authentication methods policy.",
            &["EIDSCA.AG01", "EIDSCA.AG02", "EIDSCA.AG03", "EIDSCAAG02", "EIDSCAAG03"],
            "GET policies/authenticationMethodsPolicy",
            "PATCH policies/authenticationMethodsPolicy {reportSuspiciousActivitySettings.state, systemCredentialPreferences.state}",
        ),
        Read::Graph(GraphSetting::AuthenticationMethodsPolicy),
        |s| {
            let mut f = Vec::new();
            if let Some(v) = &s.report_suspicious_activity {
                f.push(named("reportSuspiciousActivitySettings", "/reportSuspiciousActivitySettings/state", v.as_str()));
            }
            if let Some(v) = &s.system_credential {
                f.push(named("systemCredentialPreferences", "/systemCredentialPreferences/state", v.as_str()));
            }
            f
        },
        |s, _| {
            let mut body = json!({});
            if let Some(v) = &s.report_suspicious_activity {
                body["reportSuspiciousActivitySettings"] = json!({"state": v});
            }
            if let Some(v) = &s.system_credential {
                body["systemCredentialPreferences"] = json!({"state": v});
            }
            Ok(Write::Graph {
                setting: GraphSetting::AuthenticationMethodsPolicy,
                body,
            })
        },
    )
    .validated(|s| {
        if s.report_suspicious_activity.is_none() && s.system_credential.is_none() {
            return Err(invalid(
                "AuthMethodsSettings",
                "ReportSuspiciousActivity",
                "choose a state for ReportSuspiciousActivity, SystemCredential or both",
            ));
        }
        for (field, v) in [
            ("ReportSuspiciousActivity", &s.report_suspicious_activity),
            ("SystemCredential", &s.system_credential),
        ] {
            if let Some(v) = v {
                if !FEATURE_STATES.contains(&v.as_str()) {
                    return Err(invalid(
                        "AuthMethodsSettings",
                        field,
                        format!("`{v}` is not a state; use default, enabled or disabled"),
                    ));
                }
            }
        }
        Ok(())
    })
}
