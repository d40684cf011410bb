//! Standards over the other tenant-wide policies: admin consent requests, cross-tenant
//! MFA trust, app credential restrictions, device registration (LAPS, local
//! administrators), domain password expiry, and self-service licences. Directory settings
//! are in [`super::directory`].

use std::sync::Arc;

use async_trait::async_trait;
use cipp_core::Error;
use cipp_graph::settings::GraphSetting;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{de, invalid, without_annotations, FreshWrite};
use crate::standards::model::{
    Category, Check, Impact, Mode, Standard, StandardMeta, TenantTarget,
};
use crate::standards::read::{GraphListing, Read, Snapshot};
use crate::standards::setting::{typed, Field, SettingStandard, Write};
use crate::standards::NoSettings;

/// The Global Administrator role template id (the default consent request reviewer).
pub const GLOBAL_ADMINISTRATOR: &str = "62e90394-69f5-4237-9190-012177145e10";

/// `passwordValidityPeriodInDays` meaning passwords never expire.
pub const NEVER_EXPIRES: i64 = 2_147_483_647;

pub(super) const ENTRA_P1: &[&str] = &["AAD_PREMIUM", "AAD_PREMIUM_P2"];

pub(super) fn standards() -> Vec<Arc<dyn Standard>> {
    vec![
        Arc::new(EnableAppConsentRequests::new()),
        Arc::new(external_mfa_trusted()),
        Arc::new(app_management_policy()),
        Arc::new(laps()),
        Arc::new(device_reg_local_admins()),
        Arc::new(PasswordExpireDisabled::new()),
        Arc::new(DisableSelfServiceLicenses::new()),
    ]
}

#[allow(clippy::too_many_arguments)]
pub(super) fn meta(
    name: &'static str,
    impact: Impact,
    label: &'static str,
    help: &'static str,
    tags: &'static [&'static str],
    capabilities: &'static [&'static str],
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
        capabilities,
        modes: Mode::ALL,
        multiple: false,
        reads_doc,
        writes_doc,
    }
}

fn named(name: &str, pointer: &str, expected: impl Into<Value>) -> Field {
    Field {
        name: name.to_owned(),
        pointer: pointer.to_owned(),
        expected: expected.into(),
    }
}

fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, l)| p.len() == l && p.chars().all(|c| c.is_ascii_hexdigit()))
}

// ---- EnableAppConsentRequests

/// Settings of `EnableAppConsentRequests`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct AppConsentRequestSettings {
    /// Directory role template ids whose members review requests (default: Global
    /// Administrator).
    #[serde(rename = "ReviewerRoles", default, deserialize_with = "de::opt_texts")]
    pub reviewer_roles: Vec<String>,
}

impl AppConsentRequestSettings {
    /// The reviewer roles, lower case and sorted; Global Administrator when none is given.
    pub fn roles(&self) -> Vec<String> {
        let mut r: Vec<String> = self
            .reviewer_roles
            .iter()
            .map(|s| s.to_ascii_lowercase())
            .collect();
        if r.is_empty() {
            r.push(GLOBAL_ADMINISTRATOR.to_owned());
        }
        r.sort();
        r.dedup();
        r
    }
}

/// The role template id a consent request reviewer's query names
/// (`/beta/roleManagement/directory/roleAssignments?$filter=roleDefinitionId eq '…'`).
fn reviewer_role(reviewer: &Value) -> Option<String> {
    let q = reviewer["query"].as_str()?;
    let (_, rest) = q.split_once("roleDefinitionId eq '")?;
    let id = rest.get(..36)?;
    is_guid(id).then(|| id.to_ascii_lowercase())
}

/// `EnableAppConsentRequests`: users may ask an administrator to consent for them; the
/// chosen roles review the requests (existing reviewers are kept). Reads and replaces the
/// admin consent request policy (`PUT`).
pub struct EnableAppConsentRequests {
    meta: StandardMeta,
}

impl Default for EnableAppConsentRequests {
    fn default() -> Self {
        EnableAppConsentRequests::new()
    }
}

impl EnableAppConsentRequests {
    /// The standard.
    pub fn new() -> Self {
        EnableAppConsentRequests {
            meta: meta(
                "EnableAppConsentRequests",
                Impact::Low,
                "Enable App consent admin requests",
                "Enables App consent admin requests for the tenant via the GA role. Does not overwrite existing reviewer settings",
                &["CIS M365 5.0 (1.5.2)", "CISA (MS.AAD.9.1v1)", "EIDSCA.CP04", "EIDSCA.CR01", "EIDSCA.CR02", "EIDSCA.CR03", "EIDSCA.CR04",
                  "Essential 8 (1507)", "NIST CSF 2.0 (PR.AA-05)", "ZTNA21869", "EIDSCACR01", "EIDSCACR02", "EIDSCACR03", "EIDSCACR04"],
                &[],
                "GET policies/adminConsentRequestPolicy",
                "PUT policies/adminConsentRequestPolicy {isEnabled: true, notifyReviewers: true, remindersEnabled: true, requestDurationInDays: 30, reviewers: existing + roles}",
            ),
        }
    }

    fn read() -> Read {
        Read::Graph(GraphSetting::AdminConsentRequestPolicy)
    }
}

#[async_trait]
impl Standard for EnableAppConsentRequests {
    fn meta(&self) -> &StandardMeta {
        &self.meta
    }

    fn validate(&self, settings: &Value) -> Result<(), Error> {
        let s: AppConsentRequestSettings = typed(&self.meta, settings)?;
        match s.roles().into_iter().find(|r| !is_guid(r)) {
            Some(bad) => Err(invalid(
                self.meta.name,
                "ReviewerRoles",
                format!("`{bad}` is not a directory role template id (GUID)"),
            )),
            None => Ok(()),
        }
    }

    fn reads(&self, _: &Value) -> Vec<Read> {
        vec![Self::read()]
    }

    fn check(&self, settings: &Value, snapshot: &Snapshot) -> Result<Check, Error> {
        let s: AppConsentRequestSettings = typed(&self.meta, settings)?;
        let policy = snapshot.get(&Self::read())?;
        let wanted = s.roles();
        let mut present: Vec<String> = policy["reviewers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(reviewer_role)
            .filter(|r| wanted.contains(r))
            .collect();
        present.sort();
        present.dedup();
        Ok(Check::evaluated(
            json!({"EnableAppConsentRequests": policy["isEnabled"].as_bool().unwrap_or(false), "ReviewerRoles": present}),
            json!({"EnableAppConsentRequests": true, "ReviewerRoles": wanted}),
        ))
    }

    async fn remediate(
        &self,
        settings: &Value,
        snapshot: &Snapshot,
        target: &TenantTarget,
    ) -> Result<(), Error> {
        let s: AppConsentRequestSettings = typed(&self.meta, settings)?;
        let policy = snapshot.get(&Self::read())?;
        let wanted = s.roles();
        let mut reviewers: Vec<Value> = policy["reviewers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| !reviewer_role(r).is_some_and(|role| wanted.contains(&role)))
            .cloned()
            .collect();
        for role in &wanted {
            reviewers.push(json!({
                "query": format!("/beta/roleManagement/directory/roleAssignments?$filter=roleDefinitionId eq '{role}'"),
                "queryType": "MicrosoftGraph",
                "queryRoot": null
            }));
        }
        let body = json!({"isEnabled": true, "notifyReviewers": true, "remindersEnabled": true,
            "requestDurationInDays": 30, "reviewers": reviewers});
        target
            .graph
            .settings()
            .update(&GraphSetting::AdminConsentRequestPolicy, &body)
            .await
    }
}

// ---- ExternalMFATrusted

/// Settings of `ExternalMFATrusted`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ExternalMfaSettings {
    /// Whether MFA done in the guest's home tenant is trusted (`"true"`/`"false"`;
    /// required).
    #[serde(default, deserialize_with = "de::opt_bool")]
    pub state: Option<bool>,
}

fn external_mfa_trusted() -> SettingStandard<ExternalMfaSettings> {
    SettingStandard::<ExternalMfaSettings>::new(
        meta(
            "ExternalMFATrusted",
            Impact::Low,
            "Sets the Cross-tenant access setting to trust external MFA",
            "Sets the state of the Cross-tenant access setting to trust external MFA. This allows guest users to use their home tenant MFA to access your tenant.",
            &["ZTNA21803", "ZTNA21804"],
            ENTRA_P1,
            "GET policies/crossTenantAccessPolicy/default",
            "PATCH policies/crossTenantAccessPolicy/default {inboundTrust.isMfaAccepted}",
        ),
        Read::Graph(GraphSetting::CrossTenantAccessDefault),
        |s| vec![Field::new("/inboundTrust/isMfaAccepted", json!(s.state))],
        |s, _| {
            Ok(Write::Graph {
                setting: GraphSetting::CrossTenantAccessDefault,
                body: json!({"inboundTrust": {"isMfaAccepted": s.state}}),
            })
        },
    )
    .validated(|s| match s.state {
        Some(_) => Ok(()),
        None => Err(invalid("ExternalMFATrusted", "state", "choose true (trust) or false")),
    })
}

// ---- AppManagementPolicy

/// Settings of `AppManagementPolicy` (at least one).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct AppManagementSettings {
    /// The `passwordAddition` (and `symmetricKeyAddition`) restriction: `enabled` blocks
    /// new secrets, `disabled` allows them.
    #[serde(
        rename = "passwordCredentialsPasswordAddition",
        default,
        deserialize_with = "de::opt_text"
    )]
    pub password_addition: Option<String>,
    /// The `customPasswordAddition` restriction: `enabled` or `disabled`.
    #[serde(
        rename = "passwordCredentialsCustomPasswordAddition",
        default,
        deserialize_with = "de::opt_text"
    )]
    pub custom_password_addition: Option<String>,
    /// The longest lifetime of a secret, in days.
    #[serde(
        rename = "passwordCredentialsMaxLifetime",
        default,
        deserialize_with = "de::opt_i64"
    )]
    pub password_max_lifetime: Option<i64>,
    /// The longest lifetime of a key (symmetric and certificate), in days.
    #[serde(
        rename = "keyCredentialsMaxLifetime",
        default,
        deserialize_with = "de::opt_i64"
    )]
    pub key_max_lifetime: Option<i64>,
}

impl AppManagementSettings {
    /// The password and key credential restrictions wanted (as CIPP builds them), sorted by
    /// restriction type.
    pub fn restrictions(&self) -> (Vec<Value>, Vec<Value>) {
        let r = |kind: &str, state: &str, life: Option<String>| {
            json!({"restrictionType": kind, "state": state, "maxLifetime": life,
                   "restrictForAppsCreatedAfterDateTime": "0001-01-01T00:00:00Z"})
        };
        let mut password = Vec::new();
        if let Some(s) = &self.password_addition {
            password.push(r("passwordAddition", s, None));
            password.push(r("symmetricKeyAddition", s, None));
        }
        if let Some(s) = &self.custom_password_addition {
            password.push(r("customPasswordAddition", s, None));
        }
        if let Some(d) = self.password_max_lifetime {
            password.push(r("passwordLifetime", "enabled", Some(format!("P{d}D"))));
        }
        let mut key = Vec::new();
        if let Some(d) = self.key_max_lifetime {
            password.push(r("symmetricKeyLifetime", "enabled", Some(format!("P{d}D"))));
            key.push(r(
                "asymmetricKeyLifetime",
                "enabled",
                Some(format!("P{d}D")),
            ));
        }
        let by_type = |a: &Value, b: &Value| {
            a["restrictionType"]
                .as_str()
                .cmp(&b["restrictionType"].as_str())
        };
        password.sort_by(by_type);
        key.sort_by(by_type);
        (password, key)
    }
}

fn app_management_policy() -> SettingStandard<AppManagementSettings> {
    SettingStandard::<AppManagementSettings>::new(
        meta(
            "AppManagementPolicy",
            Impact::Medium,
            "Set Default App Management Policy",
            "Configures the default app management policy to control application and service principal credential restrictions such as password and key credential lifetimes.",
            &[],
            &[],
            "GET policies/defaultAppManagementPolicy",
            "PATCH policies/defaultAppManagementPolicy {isEnabled: true, applicationRestrictions, servicePrincipalRestrictions}",
        ),
        Read::Graph(GraphSetting::DefaultAppManagementPolicy),
        |s| {
            let (password, key) = s.restrictions();
            vec![
                Field::new("/isEnabled", true),
                named("applicationPasswordCredentials", "/applicationRestrictions/passwordCredentials", password.clone()),
                named("applicationKeyCredentials", "/applicationRestrictions/keyCredentials", key.clone()),
                named("servicePrincipalPasswordCredentials", "/servicePrincipalRestrictions/passwordCredentials", password),
                named("servicePrincipalKeyCredentials", "/servicePrincipalRestrictions/keyCredentials", key),
            ]
        },
        |s, _| {
            let (password, key) = s.restrictions();
            let side = json!({"passwordCredentials": password, "keyCredentials": key});
            Ok(Write::Graph {
                setting: GraphSetting::DefaultAppManagementPolicy,
                body: json!({"isEnabled": true, "applicationRestrictions": side, "servicePrincipalRestrictions": side}),
            })
        },
    )
    .validated(|s| {
        let name = "AppManagementPolicy";
        if s.password_addition.is_none()
            && s.custom_password_addition.is_none()
            && s.password_max_lifetime.is_none()
            && s.key_max_lifetime.is_none()
        {
            return Err(invalid(name, "passwordCredentialsPasswordAddition", "configure at least one restriction"));
        }
        for (field, v) in [
            ("passwordCredentialsPasswordAddition", &s.password_addition),
            ("passwordCredentialsCustomPasswordAddition", &s.custom_password_addition),
        ] {
            if let Some(v) = v {
                if !matches!(v.as_str(), "enabled" | "disabled") {
                    return Err(invalid(name, field, format!("`{v}`: use enabled or disabled")));
                }
            }
        }
        for (field, v) in [
            ("passwordCredentialsMaxLifetime", s.password_max_lifetime),
            ("keyCredentialsMaxLifetime", s.key_max_lifetime),
        ] {
            if let Some(d) = v {
                if !(1..=36500).contains(&d) {
                    return Err(invalid(name, field, format!("{d} days: give 1 to 36500")));
                }
            }
        }
        Ok(())
    })
}

// ---- device registration policy (beta, PUT): LAPS and local administrators

fn laps_write(_: &NoSettings, current: &Value) -> Result<Write, Error> {
    let mut body = without_annotations(current);
    body["localAdminPassword"] = json!({"isEnabled": true});
    Ok(Write::Graph {
        setting: GraphSetting::DeviceRegistrationPolicy,
        body,
    })
}

fn laps() -> FreshWrite<NoSettings> {
    let inner = SettingStandard::<NoSettings>::new(
        meta(
            "laps",
            Impact::Low,
            "Enable LAPS on the tenant",
            "Enables the tenant to use LAPS. You must still create a policy for LAPS to be active on all devices. Use the template standards to deploy this by default.",
            &["ZTNA21953", "ZTNA21955", "ZTNA24560"],
            &[],
            "GET beta policies/deviceRegistrationPolicy",
            "PUT beta policies/deviceRegistrationPolicy (as read, localAdminPassword.isEnabled: true)",
        ),
        Read::Graph(GraphSetting::DeviceRegistrationPolicy),
        |_| vec![named("laps", "/localAdminPassword/isEnabled", true)],
        laps_write,
    );
    FreshWrite::new(inner, GraphSetting::DeviceRegistrationPolicy, laps_write)
}

/// Settings of `intuneDeviceRegLocalAdmins` (a switch left out is off, as in CIPP).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct LocalAdminSettings {
    /// Users who join a device are not made its local administrators.
    #[serde(
        rename = "disableRegisteringUsers",
        default,
        deserialize_with = "de::opt_bool"
    )]
    pub disable_registering_users: Option<bool>,
    /// Global Administrators are local administrators of joined devices.
    #[serde(
        rename = "enableGlobalAdmins",
        default,
        deserialize_with = "de::opt_bool"
    )]
    pub enable_global_admins: Option<bool>,
}

impl LocalAdminSettings {
    fn registering_users_type(&self) -> &'static str {
        if self.disable_registering_users.unwrap_or(false) {
            "#microsoft.graph.noDeviceRegistrationMembership"
        } else {
            "#microsoft.graph.allDeviceRegistrationMembership"
        }
    }
}

fn local_admins_write(s: &LocalAdminSettings, current: &Value) -> Result<Write, Error> {
    let mut body = without_annotations(current);
    body["azureADJoin"]["localAdmins"] = json!({
        "enableGlobalAdmins": s.enable_global_admins.unwrap_or(false),
        "registeringUsers": {"@odata.type": s.registering_users_type()}
    });
    Ok(Write::Graph {
        setting: GraphSetting::DeviceRegistrationPolicy,
        body,
    })
}

fn device_reg_local_admins() -> FreshWrite<LocalAdminSettings> {
    let inner = SettingStandard::<LocalAdminSettings>::new(
        meta(
            "intuneDeviceRegLocalAdmins",
            Impact::Medium,
            "Configure local administrator rights for users joining devices",
            "Controls whether users who register Microsoft Entra joined devices are granted local administrator rights on those devices and if Global Administrators are added as local admins.",
            &[],
            &[],
            "GET beta policies/deviceRegistrationPolicy",
            "PUT beta policies/deviceRegistrationPolicy (as read, azureADJoin.localAdmins: registeringUsers, enableGlobalAdmins)",
        ),
        Read::Graph(GraphSetting::DeviceRegistrationPolicy),
        |s| {
            vec![
                named(
                    "registeringUsers",
                    "/azureADJoin/localAdmins/registeringUsers/@odata.type",
                    s.registering_users_type(),
                ),
                named(
                    "enableGlobalAdmins",
                    "/azureADJoin/localAdmins/enableGlobalAdmins",
                    s.enable_global_admins.unwrap_or(false),
                ),
            ]
        },
        local_admins_write,
    );
    FreshWrite::new(
        inner,
        GraphSetting::DeviceRegistrationPolicy,
        local_admins_write,
    )
}

// ---- PasswordExpireDisabled (every verified root domain)

/// `PasswordExpireDisabled`: no verified domain (subdomains follow their parent) lets
/// passwords expire: `passwordValidityPeriodInDays` is 2147483647 on each. Remediation
/// patches each offending domain (with a 14-day notification window where none is set).
pub struct PasswordExpireDisabled {
    meta: StandardMeta,
}

impl Default for PasswordExpireDisabled {
    fn default() -> Self {
        PasswordExpireDisabled::new()
    }
}

impl PasswordExpireDisabled {
    /// The standard.
    pub fn new() -> Self {
        PasswordExpireDisabled {
            meta: meta(
                "PasswordExpireDisabled",
                Impact::Low,
                "Do not expire passwords",
                "Disables the expiration of passwords for the tenant by setting the password expiration policy to never expire for any user.",
                &["CIS M365 5.0 (1.3.1)", "PWAgePolicyNew"],
                &[],
                "GET domains",
                "PATCH domains/{id} {passwordValidityPeriodInDays: 2147483647} for each verified root domain that expires passwords",
            ),
        }
    }

    fn read() -> Read {
        Read::GraphList(GraphListing::Domains)
    }

    /// The verified root domains whose passwords expire, sorted.
    pub fn offending(domains: &Value) -> Vec<&Value> {
        let all: Vec<&Value> = domains.as_array().into_iter().flatten().collect();
        let ids: Vec<String> = all
            .iter()
            .filter_map(|d| d["id"].as_str())
            .map(str::to_ascii_lowercase)
            .collect();
        let mut out: Vec<&Value> = all
            .into_iter()
            .filter(|d| {
                let id = d["id"].as_str().unwrap_or_default().to_ascii_lowercase();
                let sub = ids
                    .iter()
                    .any(|p| *p != id && id.ends_with(&format!(".{p}")));
                d["isVerified"] == json!(true)
                    && d["passwordValidityPeriodInDays"].as_i64() != Some(NEVER_EXPIRES)
                    && !sub
            })
            .collect();
        out.sort_by_key(|d| d["id"].as_str().unwrap_or_default().to_ascii_lowercase());
        out
    }
}

#[async_trait]
impl Standard for PasswordExpireDisabled {
    fn meta(&self) -> &StandardMeta {
        &self.meta
    }

    fn validate(&self, settings: &Value) -> Result<(), Error> {
        typed::<NoSettings>(&self.meta, settings).map(|_| ())
    }

    fn reads(&self, _: &Value) -> Vec<Read> {
        vec![Self::read()]
    }

    fn check(&self, _: &Value, snapshot: &Snapshot) -> Result<Check, Error> {
        let ids: Vec<&Value> = Self::offending(snapshot.get(&Self::read())?)
            .into_iter()
            .map(|d| &d["id"])
            .collect();
        Ok(Check::evaluated(
            json!({"DomainsWithoutPassExpire": ids}),
            json!({"DomainsWithoutPassExpire": []}),
        ))
    }

    async fn remediate(
        &self,
        _: &Value,
        snapshot: &Snapshot,
        target: &TenantTarget,
    ) -> Result<(), Error> {
        for d in Self::offending(snapshot.get(&Self::read())?) {
            let id = d["id"].as_str().unwrap_or_default();
            let mut body = json!({"passwordValidityPeriodInDays": NEVER_EXPIRES});
            if d["passwordNotificationWindowInDays"].is_null() {
                body["passwordNotificationWindowInDays"] = json!(14);
            }
            target
                .graph
                .settings()
                .update(&GraphSetting::Domain(id.to_owned()), &body)
                .await?;
        }
        Ok(())
    }
}

// ---- DisableSelfServiceLicenses (not reachable through Graph)

/// Settings of `DisableSelfServiceLicenses` (accepted as CIPP sends them).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct SelfServiceLicenseSettings {
    /// Product ids left enabled, separated by commas or semicolons.
    #[serde(rename = "Exclusions", default, deserialize_with = "de::opt_text")]
    pub exclusions: Option<String>,
    /// Also stop users starting trials.
    #[serde(rename = "DisableTrials", default, deserialize_with = "de::opt_bool")]
    pub disable_trials: Option<bool>,
}

/// `DisableSelfServiceLicenses`, kept in the catalogue so CIPP templates that name it load,
/// but **not applicable**: self-service purchase policies live in the M365 licensing API
/// (`licensing.m365.microsoft.com/v1.0/policies/AllowSelfServicePurchase/products`, token
/// audience `aeb86249-8ea3-49e2-900b-54cc8e308f85`, Billing Administrator), not in
/// Microsoft Graph, and cipp-rs does not reach it. Every check answers
/// [`Check::NotApplicable`] saying so; nothing is read or written.
pub struct DisableSelfServiceLicenses {
    meta: StandardMeta,
}

impl Default for DisableSelfServiceLicenses {
    fn default() -> Self {
        DisableSelfServiceLicenses::new()
    }
}

impl DisableSelfServiceLicenses {
    /// The standard.
    pub fn new() -> Self {
        DisableSelfServiceLicenses {
            meta: meta(
                "DisableSelfServiceLicenses",
                Impact::Medium,
                "Disable Self Service Licensing",
                "**Requires 'Billing Administrator' GDAP role.** This standard disables all self service licenses and enables all exclusions",
                &[],
                &[],
                "nothing (the licensing API is not Microsoft Graph)",
                "nothing",
            ),
        }
    }

    /// Why it does not apply.
    pub const REASON: &'static str = "self-service purchase is set in the M365 licensing API (licensing.m365.microsoft.com, Billing Administrator role), which is not Microsoft Graph and which cipp-rs does not reach";
}

#[async_trait]
impl Standard for DisableSelfServiceLicenses {
    fn meta(&self) -> &StandardMeta {
        &self.meta
    }

    fn validate(&self, settings: &Value) -> Result<(), Error> {
        typed::<SelfServiceLicenseSettings>(&self.meta, settings).map(|_| ())
    }

    fn reads(&self, _: &Value) -> Vec<Read> {
        Vec::new()
    }

    fn check(&self, _: &Value, _: &Snapshot) -> Result<Check, Error> {
        Ok(Check::NotApplicable(Self::REASON.into()))
    }

    async fn remediate(&self, _: &Value, _: &Snapshot, _: &TenantTarget) -> Result<(), Error> {
        Err(Error::Config(format!(
            "standards.DisableSelfServiceLicenses cannot remediate: {}",
            Self::REASON
        )))
    }
}
