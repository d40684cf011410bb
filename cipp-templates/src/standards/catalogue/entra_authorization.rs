//! Standards over the authorization policy (`policies/authorizationPolicy`): tenant and
//! security group creation, guest invites and guest directory access, BitLocker keys, and
//! user consent to applications (with CIPP's `cipp-consent-policy` permission grant
//! policy).

use std::sync::Arc;

use async_trait::async_trait;
use cipp_core::Error;
use cipp_graph::settings::GraphSetting;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{de, invalid};
use crate::standards::model::{
    Category, Check, Impact, Mode, Standard, StandardMeta, TenantTarget,
};
use crate::standards::read::{Read, Snapshot};
use crate::standards::setting::{typed, Field, SettingStandard, Write};
use crate::standards::NoSettings;

/// The restricted guest role: guests see only their own profile.
pub const RESTRICTED_GUEST_ROLE: &str = "2af84b1e-32c8-42b7-82bc-daa82404023b";

/// CIPP's permission grant policy for user consent.
pub const CIPP_CONSENT_POLICY: &str = "cipp-consent-policy";

/// "Office 365 Management", the app CIPP's consent policy always lets users consent to.
pub const OFFICE_365_MANAGEMENT_APP: &str = "00b41c95-dab0-4487-9791-b9d2c32c80f2";

/// The values of `allowInvitesFrom`.
pub const INVITE_SETTINGS: &[&str] = &[
    "everyone",
    "adminsGuestInvitersAndAllMembers",
    "adminsAndGuestInviters",
    "none",
];

pub(super) fn standards() -> Vec<Arc<dyn Standard>> {
    vec![
        Arc::new(disable_tenant_creation()),
        Arc::new(disable_security_group_users()),
        Arc::new(guest_invite()),
        Arc::new(disable_guest_directory()),
        Arc::new(bitlocker_keys()),
        Arc::new(OauthConsent::new()),
    ]
}

fn authz() -> Read {
    Read::Graph(GraphSetting::AuthorizationPolicy)
}

fn patch(body: Value) -> Result<Write, Error> {
    Ok(Write::Graph {
        setting: GraphSetting::AuthorizationPolicy,
        body,
    })
}

fn disable_tenant_creation() -> SettingStandard<NoSettings> {
    SettingStandard::<NoSettings>::new(
        StandardMeta {
            name: "DisableTenantCreation",
            category: Category::Entra,
            impact: Impact::Low,
            label: "Disable M365 Tenant creation by users",
            help: "Restricts creation of M365 tenants to the Global Administrator or Tenant Creator roles.",
            tags: &["CIS M365 5.0 (1.2.3)", "CISA (MS.AAD.6.1v1)", "ZTNA21772", "ZTNA21787"],
            capabilities: &[],
            modes: Mode::ALL,
            multiple: false,
            reads_doc: "GET policies/authorizationPolicy",
            writes_doc: "PATCH policies/authorizationPolicy {defaultUserRolePermissions.allowedToCreateTenants: false}",
        },
        authz(),
        |_| vec![Field::new("/defaultUserRolePermissions/allowedToCreateTenants", false)],
        |_, _| patch(json!({"defaultUserRolePermissions": {"allowedToCreateTenants": false}})),
    )
}

fn disable_security_group_users() -> SettingStandard<NoSettings> {
    SettingStandard::<NoSettings>::new(
        StandardMeta {
            name: "DisableSecurityGroupUsers",
            category: Category::Entra,
            impact: Impact::Medium,
            label: "Disable Security Group creation by users",
            help: "Completely disables the creation of security groups by users. This also breaks the ability to manage groups themselves, or create Teams",
            tags: &["CISA (MS.AAD.20.1v1)", "NIST CSF 2.0 (PR.AA-05)", "ZTNA21868"],
            capabilities: &[],
            modes: Mode::ALL,
            multiple: false,
            reads_doc: "GET policies/authorizationPolicy",
            writes_doc: "PATCH policies/authorizationPolicy {defaultUserRolePermissions.allowedToCreateSecurityGroups: false}",
        },
        authz(),
        |_| vec![Field::new("/defaultUserRolePermissions/allowedToCreateSecurityGroups", false)],
        |_, _| patch(json!({"defaultUserRolePermissions": {"allowedToCreateSecurityGroups": false}})),
    )
}

/// Settings of `GuestInvite`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct GuestInviteSettings {
    /// Who may invite guests: `everyone`, `adminsGuestInvitersAndAllMembers`,
    /// `adminsAndGuestInviters` or `none` (required).
    #[serde(
        rename = "allowInvitesFrom",
        default,
        deserialize_with = "de::opt_text"
    )]
    pub allow_invites_from: Option<String>,
}

fn guest_invite() -> SettingStandard<GuestInviteSettings> {
    SettingStandard::<GuestInviteSettings>::new(
        StandardMeta {
            name: "GuestInvite",
            category: Category::Entra,
            impact: Impact::Medium,
            label: "Guest Invite setting",
            help: "This setting controls who can invite guests to your directory to collaborate on resources secured by your company, such as SharePoint sites or Azure resources.",
            tags: &["CISA (MS.AAD.18.1v1)", "EIDSCA.AP04", "EIDSCA.AP07", "EIDSCAAP04"],
            capabilities: &[],
            modes: Mode::ALL,
            multiple: false,
            reads_doc: "GET policies/authorizationPolicy",
            writes_doc: "PATCH policies/authorizationPolicy {allowInvitesFrom}",
        },
        authz(),
        |s| vec![Field::new("/allowInvitesFrom", json!(s.allow_invites_from))],
        |s, _| patch(json!({"allowInvitesFrom": s.allow_invites_from})),
    )
    .validated(|s| match s.allow_invites_from.as_deref() {
        Some(v) if INVITE_SETTINGS.contains(&v) => Ok(()),
        other => Err(invalid(
            "GuestInvite",
            "allowInvitesFrom",
            format!(
                "`{}` is not an invite setting; use one of {}",
                other.unwrap_or(""),
                INVITE_SETTINGS.join(", ")
            ),
        )),
    })
}

fn disable_guest_directory() -> SettingStandard<NoSettings> {
    SettingStandard::<NoSettings>::new(
        StandardMeta {
            name: "DisableGuestDirectory",
            category: Category::Global,
            impact: Impact::Low,
            label: "Restrict guest user access to directory objects",
            help: "Disables Guest access to enumerate directory objects. This prevents guest users from seeing other users or guests in the directory.",
            tags: &["CIS M365 5.0 (5.1.6.2)", "CISA (MS.AAD.5.1v1)", "EIDSCA.AP14", "EIDSCA.ST08", "EIDSCA.ST09", "NIST CSF 2.0 (PR.AA-05)", "EIDSCAAP07", "EIDSCAST08", "EIDSCAST09"],
            capabilities: &[],
            modes: Mode::ALL,
            multiple: false,
            reads_doc: "GET policies/authorizationPolicy",
            writes_doc: "PATCH policies/authorizationPolicy {guestUserRoleId: 2af84b1e-32c8-42b7-82bc-daa82404023b}",
        },
        authz(),
        |_| vec![Field::new("/guestUserRoleId", RESTRICTED_GUEST_ROLE)],
        |_, _| patch(json!({"guestUserRoleId": RESTRICTED_GUEST_ROLE})),
    )
}

/// Settings of `BitLockerKeysForOwnedDevice`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct BitLockerSettings {
    /// `restrict` (users may not read the keys of their devices) or `allow` (required).
    #[serde(default, deserialize_with = "de::opt_text")]
    pub state: Option<String>,
}

impl BitLockerSettings {
    fn allowed(&self) -> Option<bool> {
        match self
            .state
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("restrict") => Some(false),
            Some("allow") => Some(true),
            _ => None,
        }
    }
}

fn bitlocker_keys() -> SettingStandard<BitLockerSettings> {
    SettingStandard::<BitLockerSettings>::new(
        StandardMeta {
            name: "BitLockerKeysForOwnedDevice",
            category: Category::Entra,
            impact: Impact::Low,
            label: "Control BitLocker key recovery for owned devices",
            help: "Controls whether standard users can recover BitLocker keys for devices they own.",
            tags: &["ZTNA21954"],
            capabilities: &[],
            modes: Mode::ALL,
            multiple: false,
            reads_doc: "GET policies/authorizationPolicy",
            writes_doc: "PATCH policies/authorizationPolicy {defaultUserRolePermissions.allowedToReadBitlockerKeysForOwnedDevice}",
        },
        authz(),
        |s| {
            vec![Field::new(
                "/defaultUserRolePermissions/allowedToReadBitlockerKeysForOwnedDevice",
                json!(s.allowed()),
            )]
        },
        |s, _| {
            patch(json!({"defaultUserRolePermissions": {"allowedToReadBitlockerKeysForOwnedDevice": s.allowed()}}))
        },
    )
    .validated(|s| match s.allowed() {
        Some(_) => Ok(()),
        None => Err(invalid(
            "BitLockerKeysForOwnedDevice",
            "state",
            format!("`{}` is not a state; use restrict or allow", s.state.as_deref().unwrap_or("")),
        )),
    })
}

/// Settings of `OauthConsent`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct OauthConsentSettings {
    /// Application (client) ids users may still consent to, comma separated.
    #[serde(rename = "AllowedApps", default, deserialize_with = "de::opt_text")]
    pub allowed_apps: Option<String>,
}

impl OauthConsentSettings {
    /// The allowed application ids, lower case, sorted, without duplicates.
    pub fn app_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .allowed_apps
            .as_deref()
            .unwrap_or("")
            .split([',', ';'])
            .map(|s| s.trim().to_ascii_lowercase())
            .filter(|s| !s.is_empty())
            .collect();
        ids.sort();
        ids.dedup();
        ids
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

/// `OauthConsent`: users consent only through CIPP's permission grant policy
/// `cipp-consent-policy`, which includes delegated consent to Office 365 Management and
/// delegated and application consent to the allowed apps. Reads the authorization policy
/// and the policy's includes (a missing policy is no includes); remediation creates the
/// policy and the missing includes, then assigns it to the default user role (keeping the
/// role's resource-specific consent policies).
pub struct OauthConsent {
    meta: StandardMeta,
}

impl Default for OauthConsent {
    fn default() -> Self {
        OauthConsent::new()
    }
}

impl OauthConsent {
    /// The standard.
    pub fn new() -> Self {
        OauthConsent {
            meta: StandardMeta {
                name: "OauthConsent",
                category: Category::Entra,
                impact: Impact::Medium,
                label: "Require admin consent for applications (Prevent OAuth phishing)",
                help: "Disables users from being able to consent to applications, except for those specified in the field below",
                tags: &["CIS M365 5.0 (1.5.1)", "CISA (MS.AAD.4.2v1)", "EIDSCA.AP08", "EIDSCA.AP09", "Essential 8 (1175)", "NIST CSF 2.0 (PR.AA-05)", "ZTNA21772", "ZTNA21774", "ZTNA21807", "EIDSCAAP08", "EIDSCAAP09", "EIDSCACP01", "EIDSCACP03", "EIDSCACP04"],
                capabilities: &[],
                modes: Mode::ALL,
                multiple: false,
                reads_doc: "GET policies/authorizationPolicy; GET policies/permissionGrantPolicies/cipp-consent-policy/includes",
                writes_doc: "POST policies/permissionGrantPolicies (cipp-consent-policy); POST …/cipp-consent-policy/includes; PATCH policies/authorizationPolicy {defaultUserRolePermissions.permissionGrantPoliciesAssigned: [ManagePermissionGrantsForSelf.cipp-consent-policy]}",
            },
        }
    }

    fn includes_read() -> Read {
        Read::Graph(GraphSetting::PermissionGrantIncludes(
            CIPP_CONSENT_POLICY.into(),
        ))
    }

    /// The includes the policy must have, sorted.
    fn expected_includes(s: &OauthConsentSettings) -> Vec<Value> {
        let set = |ty: &str, app: &str| json!({"permissionType": ty, "permissionClassification": "all", "clientApplicationIds": [app]});
        let mut out = vec![set("delegated", OFFICE_365_MANAGEMENT_APP)];
        for app in s.app_ids() {
            out.push(set("delegated", &app));
            out.push(set("application", &app));
        }
        sort_includes(&mut out);
        out.dedup();
        out
    }

    fn assigned_self(authz: &Value) -> Vec<String> {
        let mut v: Vec<String> = authz["defaultUserRolePermissions"]
            ["permissionGrantPoliciesAssigned"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter(|s| s.starts_with("ManagePermissionGrantsForSelf."))
            .map(str::to_owned)
            .collect();
        v.sort();
        v
    }

    /// The policy's includes (none when the policy does not exist yet), and whether it
    /// exists.
    fn current_includes(snapshot: &Snapshot) -> Result<(Vec<Value>, bool), Error> {
        match snapshot.get(&Self::includes_read()) {
            Ok(v) => Ok((v.as_array().cloned().unwrap_or_default(), true)),
            Err(e) if e.is_not_found() => Ok((Vec::new(), false)),
            Err(e) => Err(e),
        }
    }

    /// The includes that concern the expected apps, in the compared shape.
    fn relevant(includes: &[Value], expected: &[Value]) -> Vec<Value> {
        let keys: Vec<(String, String)> = expected
            .iter()
            .map(|e| {
                (
                    e["permissionType"].as_str().unwrap_or_default().to_owned(),
                    e["clientApplicationIds"][0]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                )
            })
            .collect();
        let mut out: Vec<Value> = includes
            .iter()
            .filter_map(|i| {
                let ty = i["permissionType"].as_str()?.to_ascii_lowercase();
                let mut apps: Vec<String> = i["clientApplicationIds"]
                    .as_array()?
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_ascii_lowercase)
                    .collect();
                apps.sort();
                if !apps.iter().any(|a| keys.contains(&(ty.clone(), a.clone()))) {
                    return None;
                }
                Some(json!({"permissionType": ty, "permissionClassification": i["permissionClassification"],
                    "clientApplicationIds": apps}))
            })
            .collect();
        sort_includes(&mut out);
        out.dedup();
        out
    }
}

fn sort_includes(v: &mut [Value]) {
    v.sort_by_key(|i| {
        (
            i["permissionType"].as_str().unwrap_or_default().to_owned(),
            i["clientApplicationIds"].to_string(),
        )
    });
}

#[async_trait]
impl Standard for OauthConsent {
    fn meta(&self) -> &StandardMeta {
        &self.meta
    }

    fn validate(&self, settings: &Value) -> Result<(), Error> {
        let s: OauthConsentSettings = typed(&self.meta, settings)?;
        match s.app_ids().into_iter().find(|a| !is_guid(a)) {
            Some(bad) => Err(invalid(
                "OauthConsent",
                "AllowedApps",
                format!(
                    "`{bad}` is not an application (client) id; give GUIDs separated by commas"
                ),
            )),
            None => Ok(()),
        }
    }

    fn reads(&self, _: &Value) -> Vec<Read> {
        vec![authz(), Self::includes_read()]
    }

    fn check(&self, settings: &Value, snapshot: &Snapshot) -> Result<Check, Error> {
        let s: OauthConsentSettings = typed(&self.meta, settings)?;
        let authz = snapshot.get(&authz())?;
        let expected = Self::expected_includes(&s);
        let (includes, _) = Self::current_includes(snapshot)?;
        Ok(Check::evaluated(
            json!({"permissionGrantPoliciesAssigned": Self::assigned_self(authz),
                   "includes": Self::relevant(&includes, &expected)}),
            json!({"permissionGrantPoliciesAssigned": [format!("ManagePermissionGrantsForSelf.{CIPP_CONSENT_POLICY}")],
                   "includes": expected}),
        ))
    }

    async fn remediate(
        &self,
        settings: &Value,
        snapshot: &Snapshot,
        target: &TenantTarget,
    ) -> Result<(), Error> {
        let s: OauthConsentSettings = typed(&self.meta, settings)?;
        let settings_api = target.graph.settings();
        let (includes, exists) = Self::current_includes(snapshot)?;
        if !exists {
            settings_api
                .create_permission_grant_policy(
                    CIPP_CONSENT_POLICY,
                    "Application Consent Policy",
                    "This policy controls the current application consent policies.",
                )
                .await?;
        }
        let expected = Self::expected_includes(&s);
        let present = Self::relevant(&includes, &expected);
        for include in expected.iter().filter(|e| !present.contains(e)) {
            settings_api
                .add_permission_grant_include(CIPP_CONSENT_POLICY, include)
                .await?;
        }
        let authz = snapshot.get(&authz())?;
        let wanted = format!("ManagePermissionGrantsForSelf.{CIPP_CONSENT_POLICY}");
        if Self::assigned_self(authz) != [wanted.clone()] {
            let mut assigned: Vec<Value> = authz["defaultUserRolePermissions"]
                ["permissionGrantPoliciesAssigned"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| {
                    !p.as_str()
                        .is_some_and(|p| p.starts_with("ManagePermissionGrantsForSelf."))
                })
                .cloned()
                .collect();
            assigned.push(json!(wanted));
            let body = json!({"defaultUserRolePermissions": {"permissionGrantPoliciesAssigned": assigned}});
            settings_api
                .update(&GraphSetting::AuthorizationPolicy, &body)
                .await?;
        }
        Ok(())
    }
}
