//! The template model: one JSON-serialisable [`Template`] for every kind of policy.
//!
//! A template has a stable [`Template::id`], a [`Template::version`] counted by the store
//! it lives in, and a [`Template::content_hash`]: SHA-256 of the canonical JSON
//! ([`crate::canonical`]) of its *content* — kind, name, description, body and attachments.
//! Id, version, source and timestamps are not content, so saving unchanged content again
//! keeps the version, and any change to the content bumps it.
//!
//! The body is the object as the service takes it (a Graph policy, an Exchange cmdlet's
//! parameter set, CIPP's group template…), kept as raw JSON so that properties this crate
//! does not know survive a round trip. What a kind needs beside the body — the named
//! locations a Conditional Access policy uses, the reusable settings a settings-catalog
//! policy references — travels in [`Attachments`].
//!
//! References between objects are **names**, not ids, wherever the kind allows it: a group,
//! a named location or a user differs in id in every tenant. Capture turns ids into names;
//! deploy resolves names per tenant.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::canonical;

/// What a template deploys. The name ([`TemplateKind::as_str`]) is what files and stores
/// record; [`TemplateKind::cipp_partition_key`] and [`TemplateKind::cipp_intune_type`] map
/// to how CIPP stores the same template (its `templates` table's PartitionKey, and the
/// `Type` inside an `IntuneTemplate`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum TemplateKind {
    /// Intune device configuration profile (`deviceManagement/deviceConfigurations`; CIPP
    /// `Type` `Device`).
    IntuneDeviceConfiguration,
    /// Intune settings catalog policy (`deviceManagement/configurationPolicies` with its
    /// `settings`; CIPP `Type` `Catalog`). Reusable settings it references travel in
    /// [`Attachments::reusable_settings`].
    IntuneSettingsCatalog,
    /// Intune compliance policy with its scheduled actions
    /// (`deviceManagement/deviceCompliancePolicies`; CIPP `Type` `deviceCompliancePolicies`).
    IntuneCompliance,
    /// Intune administrative template (ADMX, `groupPolicyConfigurations`), stored as an
    /// `updateDefinitionValues` payload (CIPP `Type` `Admin`).
    IntuneAdministrativeTemplate,
    /// Intune app protection policy (`deviceAppManagement/*ManagedAppProtections`,
    /// `mdmWindowsInformationProtectionPolicies`, `targetedManagedAppConfigurations`; CIPP
    /// `Type` `AppProtection`).
    IntuneAppProtection,
    /// Intune app configuration policy (`deviceAppManagement/mobileAppConfigurations`; CIPP
    /// `Type` `AppConfiguration`).
    IntuneAppConfiguration,
    /// Windows driver update profile (`deviceManagement/windowsDriverUpdateProfiles`).
    WindowsDriverUpdateProfile,
    /// Windows feature update profile (`deviceManagement/windowsFeatureUpdateProfiles`).
    WindowsFeatureUpdateProfile,
    /// Windows quality update policy (`deviceManagement/windowsQualityUpdatePolicies`).
    WindowsQualityUpdatePolicy,
    /// Windows quality update profile (`deviceManagement/windowsQualityUpdateProfiles`).
    WindowsQualityUpdateProfile,
    /// Intune reusable policy setting (`deviceManagement/reusablePolicySettings`; CIPP
    /// `IntuneReusableSettingTemplate`).
    IntuneReusableSetting,
    /// Conditional Access policy (`identity/conditionalAccess/policies`; CIPP `CATemplate`).
    /// Users, groups and named locations are referenced by display name; the named
    /// locations, authentication strengths and contexts it uses travel in [`Attachments`].
    ConditionalAccess,
    /// A group (CIPP `GroupTemplate`): security, Microsoft 365, mail-enabled security,
    /// distribution, dynamic, dynamic distribution or role-assignable — see [`GroupType`].
    Group,
    /// Exchange transport rule, as its `New-TransportRule` parameter set (CIPP
    /// `TransportTemplate`).
    TransportRule,
    /// Exchange anti-spam (hosted content filter) policy and rule (CIPP `SpamfilterTemplate`).
    SpamFilter,
    /// Exchange connection filter policy (CIPP `ConnectionfilterTemplate`).
    ConnectionFilter,
    /// Exchange inbound or outbound connector (CIPP `ExConnectorTemplate`).
    ExchangeConnector,
    /// Defender for Office 365 Safe Links policy and rule (CIPP `SafeLinksTemplate`).
    SafeLinks,
    /// Intune assignment filter (`deviceManagement/assignmentFilters`; CIPP
    /// `AssignmentFilterTemplate`).
    AssignmentFilter,
    /// Defaults for new users (CIPP `UserDefaultTemplate`).
    UserDefaults,
    /// Anything else, by name (for example CIPP's `TenantAllowBlockListTemplate`, or a
    /// Graph object type this crate does not model yet); the body is kept as given.
    /// Build it with [`TemplateKind::from_name`] so that a known name gets its own variant.
    Other(String),
}

/// Every kind with its own variant, in declaration order.
pub const KNOWN_KINDS: &[TemplateKind] = &[
    TemplateKind::IntuneDeviceConfiguration,
    TemplateKind::IntuneSettingsCatalog,
    TemplateKind::IntuneCompliance,
    TemplateKind::IntuneAdministrativeTemplate,
    TemplateKind::IntuneAppProtection,
    TemplateKind::IntuneAppConfiguration,
    TemplateKind::WindowsDriverUpdateProfile,
    TemplateKind::WindowsFeatureUpdateProfile,
    TemplateKind::WindowsQualityUpdatePolicy,
    TemplateKind::WindowsQualityUpdateProfile,
    TemplateKind::IntuneReusableSetting,
    TemplateKind::ConditionalAccess,
    TemplateKind::Group,
    TemplateKind::TransportRule,
    TemplateKind::SpamFilter,
    TemplateKind::ConnectionFilter,
    TemplateKind::ExchangeConnector,
    TemplateKind::SafeLinks,
    TemplateKind::AssignmentFilter,
    TemplateKind::UserDefaults,
];

impl TemplateKind {
    /// The stable name recorded in files and stores (`intuneSettingsCatalog`,
    /// `conditionalAccess`, …; an [`TemplateKind::Other`] kind's own name).
    pub fn as_str(&self) -> &str {
        match self {
            TemplateKind::IntuneDeviceConfiguration => "intuneDeviceConfiguration",
            TemplateKind::IntuneSettingsCatalog => "intuneSettingsCatalog",
            TemplateKind::IntuneCompliance => "intuneCompliance",
            TemplateKind::IntuneAdministrativeTemplate => "intuneAdministrativeTemplate",
            TemplateKind::IntuneAppProtection => "intuneAppProtection",
            TemplateKind::IntuneAppConfiguration => "intuneAppConfiguration",
            TemplateKind::WindowsDriverUpdateProfile => "windowsDriverUpdateProfile",
            TemplateKind::WindowsFeatureUpdateProfile => "windowsFeatureUpdateProfile",
            TemplateKind::WindowsQualityUpdatePolicy => "windowsQualityUpdatePolicy",
            TemplateKind::WindowsQualityUpdateProfile => "windowsQualityUpdateProfile",
            TemplateKind::IntuneReusableSetting => "intuneReusableSetting",
            TemplateKind::ConditionalAccess => "conditionalAccess",
            TemplateKind::Group => "group",
            TemplateKind::TransportRule => "transportRule",
            TemplateKind::SpamFilter => "spamFilter",
            TemplateKind::ConnectionFilter => "connectionFilter",
            TemplateKind::ExchangeConnector => "exchangeConnector",
            TemplateKind::SafeLinks => "safeLinks",
            TemplateKind::AssignmentFilter => "assignmentFilter",
            TemplateKind::UserDefaults => "userDefaults",
            TemplateKind::Other(name) => name,
        }
    }

    /// The kind named `name` ([`TemplateKind::as_str`]); any other name is
    /// [`TemplateKind::Other`].
    pub fn from_name(name: &str) -> TemplateKind {
        KNOWN_KINDS
            .iter()
            .find(|k| k.as_str() == name)
            .cloned()
            .unwrap_or_else(|| TemplateKind::Other(name.to_owned()))
    }

    /// Whether this is one of the Intune kinds (stored by CIPP as `IntuneTemplate`, except
    /// reusable settings and assignment filters, which have tables of their own).
    pub fn is_intune(&self) -> bool {
        self.cipp_intune_type().is_some()
    }

    /// CIPP's `templates` table PartitionKey for this kind; `None` for
    /// [`TemplateKind::Other`].
    pub fn cipp_partition_key(&self) -> Option<&'static str> {
        Some(match self {
            TemplateKind::IntuneDeviceConfiguration
            | TemplateKind::IntuneSettingsCatalog
            | TemplateKind::IntuneCompliance
            | TemplateKind::IntuneAdministrativeTemplate
            | TemplateKind::IntuneAppProtection
            | TemplateKind::IntuneAppConfiguration
            | TemplateKind::WindowsDriverUpdateProfile
            | TemplateKind::WindowsFeatureUpdateProfile
            | TemplateKind::WindowsQualityUpdatePolicy
            | TemplateKind::WindowsQualityUpdateProfile => "IntuneTemplate",
            TemplateKind::IntuneReusableSetting => "IntuneReusableSettingTemplate",
            TemplateKind::ConditionalAccess => "CATemplate",
            TemplateKind::Group => "GroupTemplate",
            TemplateKind::TransportRule => "TransportTemplate",
            TemplateKind::SpamFilter => "SpamfilterTemplate",
            TemplateKind::ConnectionFilter => "ConnectionfilterTemplate",
            TemplateKind::ExchangeConnector => "ExConnectorTemplate",
            TemplateKind::SafeLinks => "SafeLinksTemplate",
            TemplateKind::AssignmentFilter => "AssignmentFilterTemplate",
            TemplateKind::UserDefaults => "UserDefaultTemplate",
            TemplateKind::Other(_) => return None,
        })
    }

    /// The `Type` CIPP records inside an `IntuneTemplate` (`Device`, `Catalog`,
    /// `deviceCompliancePolicies`, `Admin`, `AppProtection`, `AppConfiguration`,
    /// `windows…UpdateProfiles`/`Policies`); `None` for every other kind.
    pub fn cipp_intune_type(&self) -> Option<&'static str> {
        Some(match self {
            TemplateKind::IntuneDeviceConfiguration => "Device",
            TemplateKind::IntuneSettingsCatalog => "Catalog",
            TemplateKind::IntuneCompliance => "deviceCompliancePolicies",
            TemplateKind::IntuneAdministrativeTemplate => "Admin",
            TemplateKind::IntuneAppProtection => "AppProtection",
            TemplateKind::IntuneAppConfiguration => "AppConfiguration",
            TemplateKind::WindowsDriverUpdateProfile => "windowsDriverUpdateProfiles",
            TemplateKind::WindowsFeatureUpdateProfile => "windowsFeatureUpdateProfiles",
            TemplateKind::WindowsQualityUpdatePolicy => "windowsQualityUpdatePolicies",
            TemplateKind::WindowsQualityUpdateProfile => "windowsQualityUpdateProfiles",
            _ => return None,
        })
    }

    /// The kind CIPP stores under `partition_key` (and, for `IntuneTemplate`, under the
    /// template's `Type`, matched case-insensitively). `None` when CIPP's names do not say:
    /// an `IntuneTemplate` without a known `Type`, or a PartitionKey this crate has no
    /// variant for (the caller may use [`TemplateKind::Other`] with it).
    pub fn from_cipp(partition_key: &str, intune_type: Option<&str>) -> Option<TemplateKind> {
        if partition_key.eq_ignore_ascii_case("IntuneTemplate") {
            return intune_type.and_then(TemplateKind::from_cipp_intune_type);
        }
        KNOWN_KINDS
            .iter()
            .filter(|k| !k.is_intune())
            .find(|k| {
                k.cipp_partition_key()
                    .is_some_and(|p| p.eq_ignore_ascii_case(partition_key))
            })
            .cloned()
    }

    /// The Intune kind for CIPP's `Type` (case-insensitive; `DeviceCompliancePolicies`, the
    /// spelling CIPP's community import writes, included).
    pub fn from_cipp_intune_type(intune_type: &str) -> Option<TemplateKind> {
        KNOWN_KINDS
            .iter()
            .find(|k| {
                k.cipp_intune_type()
                    .is_some_and(|t| t.eq_ignore_ascii_case(intune_type))
            })
            .cloned()
    }

    /// The Graph collection (relative to the beta or v1.0 root) that holds objects of this
    /// kind, where there is exactly one. App protection policies live in one collection per
    /// platform (their `@odata.type` says which), and the Exchange kinds are not Graph
    /// objects: `None` for those.
    pub fn graph_collection(&self) -> Option<&'static str> {
        Some(match self {
            TemplateKind::IntuneDeviceConfiguration => "deviceManagement/deviceConfigurations",
            TemplateKind::IntuneSettingsCatalog => "deviceManagement/configurationPolicies",
            TemplateKind::IntuneCompliance => "deviceManagement/deviceCompliancePolicies",
            TemplateKind::IntuneAdministrativeTemplate => {
                "deviceManagement/groupPolicyConfigurations"
            }
            TemplateKind::IntuneAppConfiguration => "deviceAppManagement/mobileAppConfigurations",
            TemplateKind::WindowsDriverUpdateProfile => {
                "deviceManagement/windowsDriverUpdateProfiles"
            }
            TemplateKind::WindowsFeatureUpdateProfile => {
                "deviceManagement/windowsFeatureUpdateProfiles"
            }
            TemplateKind::WindowsQualityUpdatePolicy => {
                "deviceManagement/windowsQualityUpdatePolicies"
            }
            TemplateKind::WindowsQualityUpdateProfile => {
                "deviceManagement/windowsQualityUpdateProfiles"
            }
            TemplateKind::IntuneReusableSetting => "deviceManagement/reusablePolicySettings",
            TemplateKind::ConditionalAccess => "identity/conditionalAccess/policies",
            TemplateKind::Group => "groups",
            TemplateKind::AssignmentFilter => "deviceManagement/assignmentFilters",
            _ => return None,
        })
    }
}

impl fmt::Display for TemplateKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for TemplateKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for TemplateKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Ok(TemplateKind::from_name(&name))
    }
}

/// The kinds of group a [`TemplateKind::Group`] template can create, with CIPP's names for
/// them (`groupType` in its group templates).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum GroupType {
    /// A security group (CIPP `generic`).
    Security,
    /// A Microsoft 365 (unified) group (CIPP `m365`).
    Microsoft365,
    /// A mail-enabled security group, created through Exchange (CIPP `security`, later
    /// `mailenabledsecurity`).
    MailEnabledSecurity,
    /// A distribution list, created through Exchange (CIPP `distribution`).
    Distribution,
    /// A security group with dynamic membership (CIPP `dynamic`).
    Dynamic,
    /// An Exchange dynamic distribution group (CIPP `dynamicDistribution`).
    DynamicDistribution,
    /// A security group that can be assigned Entra roles (CIPP `azureRole`).
    RoleAssignable,
}

impl GroupType {
    /// CIPP's `groupType` value for this kind of group.
    pub fn cipp_name(self) -> &'static str {
        match self {
            GroupType::Security => "generic",
            GroupType::Microsoft365 => "m365",
            GroupType::MailEnabledSecurity => "security",
            GroupType::Distribution => "distribution",
            GroupType::Dynamic => "dynamic",
            GroupType::DynamicDistribution => "dynamicDistribution",
            GroupType::RoleAssignable => "azureRole",
        }
    }

    /// Reads CIPP's `groupType` (case-insensitive; every spelling CIPP versions have written:
    /// `generic`, `security`, `mailenabledsecurity`, `m365`, `unified`, `distribution`,
    /// `dynamic`, `dynamicDistribution`, `azureRole`).
    pub fn from_cipp(name: &str) -> Option<GroupType> {
        Some(match name.to_ascii_lowercase().as_str() {
            "generic" => GroupType::Security,
            "security" | "mailenabledsecurity" => GroupType::MailEnabledSecurity,
            "m365" | "unified" | "microsoft365" => GroupType::Microsoft365,
            "distribution" | "distributionlist" => GroupType::Distribution,
            "dynamic" => GroupType::Dynamic,
            "dynamicdistribution" => GroupType::DynamicDistribution,
            "azurerole" => GroupType::RoleAssignable,
            _ => return None,
        })
    }

    /// The kind of group a template body describes: CIPP's shape (`groupType`), a Graph
    /// group object (`groupTypes`, `mailEnabled`, `securityEnabled`, `isAssignableToRole`,
    /// `membershipRule`), or an Exchange dynamic distribution group (`RecipientFilter`).
    pub fn detect(body: &Value) -> Option<GroupType> {
        let obj = body.as_object()?;
        if let Some(name) = get_ci(obj, "groupType").and_then(Value::as_str) {
            return GroupType::from_cipp(name);
        }
        if get_ci(obj, "RecipientFilter").is_some() || get_ci(obj, "IncludedRecipients").is_some() {
            return Some(GroupType::DynamicDistribution);
        }
        let flag = |k: &str| obj.get(k).and_then(Value::as_bool).unwrap_or(false);
        let types: Vec<&str> = obj
            .get("groupTypes")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let has_type = |t: &str| types.iter().any(|x| x.eq_ignore_ascii_case(t));
        if flag("isAssignableToRole") {
            Some(GroupType::RoleAssignable)
        } else if has_type("DynamicMembership") {
            Some(GroupType::Dynamic)
        } else if has_type("Unified") {
            Some(GroupType::Microsoft365)
        } else if flag("mailEnabled") && flag("securityEnabled") {
            Some(GroupType::MailEnabledSecurity)
        } else if flag("mailEnabled") {
            Some(GroupType::Distribution)
        } else if flag("securityEnabled") {
            Some(GroupType::Security)
        } else {
            None
        }
    }
}

/// A property of `obj` by name, ignoring ASCII case (an exact match wins).
pub(crate) fn get_ci<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// What a template carries beside its body, as its kind needs. Each list holds the objects
/// as captured (for example a named location with its `displayName`, `@odata.type` and
/// ranges), referenced from the body by name. Empty lists are left out of the JSON (and of
/// the hash), so a new attachment kind does not change existing templates' hashes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Attachments {
    /// Named locations a Conditional Access policy uses (CIPP `LocationInfo`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub named_locations: Vec<Value>,
    /// Custom authentication strengths a Conditional Access policy requires.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authentication_strengths: Vec<Value>,
    /// Authentication contexts a Conditional Access policy targets (CIPP `AuthContextInfo`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authentication_contexts: Vec<Value>,
    /// Reusable policy settings a settings-catalog policy references (CIPP
    /// `ReusableSettings`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reusable_settings: Vec<Value>,
    /// Anything else a kind needs later, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, Value>,
}

impl Attachments {
    /// Whether there is nothing attached.
    pub fn is_empty(&self) -> bool {
        self.named_locations.is_empty()
            && self.authentication_strengths.is_empty()
            && self.authentication_contexts.is_empty()
            && self.reusable_settings.is_empty()
            && self.extra.is_empty()
    }

    /// The attachments as JSON, as serialised (empty lists left out).
    pub fn to_value(&self) -> Value {
        let mut map = Map::new();
        let mut list = |name: &str, items: &Vec<Value>| {
            if !items.is_empty() {
                map.insert(name.to_owned(), Value::Array(items.clone()));
            }
        };
        list("namedLocations", &self.named_locations);
        list("authenticationStrengths", &self.authentication_strengths);
        list("authenticationContexts", &self.authentication_contexts);
        list("reusableSettings", &self.reusable_settings);
        if !self.extra.is_empty() {
            let extra: Map<String, Value> = self
                .extra
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            map.insert("extra".to_owned(), Value::Object(extra));
        }
        Value::Object(map)
    }
}

/// How a file read by [`crate::import`] was shaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum SourceFormat {
    /// A template written by this crate.
    CippRs,
    /// A CIPP template (`Displayname`/`RAWJson`/`Type`/`GUID`, or CIPP's CA, group and
    /// transport shapes).
    Cipp,
    /// A row of CIPP's `templates` table (`PartitionKey`, `RowKey`, `JSON`), as community
    /// repositories synced by CIPP hold them.
    CippTableRow,
    /// A raw Graph object.
    Graph,
    /// An Exchange cmdlet's parameter set (or a `Get-*` row).
    Exchange,
    /// A format written by a later version of this crate.
    #[serde(other)]
    Unknown,
}

/// Where a template came from. Provenance only: not part of the content hash, never
/// deployed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
#[non_exhaustive]
pub enum TemplateSource {
    /// Captured from an object in a tenant.
    Tenant {
        /// The tenant (id or default domain).
        tenant: String,
        /// The captured object's id in that tenant, to capture it again later.
        #[serde(default, rename = "objectId", skip_serializing_if = "Option::is_none")]
        object_id: Option<String>,
    },
    /// Imported from a file.
    File {
        /// The file's path as given to the import (relative to the imported folder when
        /// imported with [`crate::import::import_dir`]).
        path: String,
        /// How the file was shaped.
        format: SourceFormat,
    },
    /// Synced from a template repository (as CIPP's community repositories are).
    Repository {
        /// The repository (`owner/name`).
        repository: String,
        /// The file in it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        path: Option<String>,
        /// The file's commit or blob SHA.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sha: Option<String>,
    },
    /// Written by hand or built in code.
    Manual,
    /// A source written by a later version of this crate.
    #[serde(other)]
    Unknown,
}

fn epoch() -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH
}

fn first_version() -> u32 {
    1
}

/// A template: one policy, group or rule, ready to be deployed to any tenant.
///
/// Serialised with camelCase keys. Only `id`, `kind`, `name` and `body` are required when
/// reading, so a hand-written file may leave out the rest (version 1, an empty description,
/// the hash computed on read by the stores).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Template {
    /// Stable id (CIPP's `GUID` for imported CIPP templates, a UUID otherwise). Letters,
    /// digits, `-`, `_` and `.` only, at most 128 characters, not starting with `.`: see
    /// [`is_valid_id`].
    pub id: String,
    /// Display name: the policy's `displayName` (or `name`), the key deployment matches
    /// existing objects by.
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// What it deploys.
    pub kind: TemplateKind,
    /// Version in its store: 1 when first stored, +1 at each stored change of content.
    #[serde(default = "first_version")]
    pub version: u32,
    /// SHA-256 (hex) of the canonical JSON of [`Template::content`].
    #[serde(default)]
    pub content_hash: String,
    /// The object as the service takes it, server-owned properties removed, unknown ones
    /// kept.
    pub body: Value,
    /// What the kind needs beside the body.
    #[serde(default, skip_serializing_if = "Attachments::is_empty")]
    pub attachments: Attachments,
    /// Where it came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<TemplateSource>,
    /// When its first version was stored.
    #[serde(default = "epoch")]
    pub created: DateTime<Utc>,
    /// When its current version was stored.
    #[serde(default = "epoch")]
    pub updated: DateTime<Utc>,
}

impl Template {
    /// A new template with a fresh UUID, version 1, no description, attachments or source,
    /// both timestamps now, and its hash computed.
    pub fn new(kind: TemplateKind, name: impl Into<String>, body: Value) -> Template {
        let now = Utc::now();
        let mut t = Template {
            id: uuid::Uuid::new_v4().to_string(),
            name: name.into(),
            description: String::new(),
            kind,
            version: 1,
            content_hash: String::new(),
            body,
            attachments: Attachments::default(),
            source: None,
            created: now,
            updated: now,
        };
        t.refresh_hash();
        t
    }

    /// The same template with id `id`.
    pub fn with_id(mut self, id: impl Into<String>) -> Template {
        self.id = id.into();
        self
    }

    /// The same template with description `description` (hash refreshed).
    pub fn with_description(mut self, description: impl Into<String>) -> Template {
        self.description = description.into();
        self.refresh_hash();
        self
    }

    /// The same template with `attachments` (hash refreshed).
    pub fn with_attachments(mut self, attachments: Attachments) -> Template {
        self.attachments = attachments;
        self.refresh_hash();
        self
    }

    /// The same template with source `source`.
    pub fn with_source(mut self, source: TemplateSource) -> Template {
        self.source = Some(source);
        self
    }

    /// The content the hash covers: `{attachments, body, description, kind, name}`
    /// (attachments as [`Attachments::to_value`]).
    pub fn content(&self) -> Value {
        let mut map = Map::new();
        map.insert(
            "kind".to_owned(),
            Value::String(self.kind.as_str().to_owned()),
        );
        map.insert("name".to_owned(), Value::String(self.name.clone()));
        map.insert(
            "description".to_owned(),
            Value::String(self.description.clone()),
        );
        map.insert("body".to_owned(), self.body.clone());
        map.insert("attachments".to_owned(), self.attachments.to_value());
        Value::Object(map)
    }

    /// SHA-256 (hex) of the canonical JSON of [`Template::content`]. Independent of key
    /// order, id, version, source and timestamps.
    pub fn compute_hash(&self) -> String {
        canonical::hash(&self.content())
    }

    /// Sets [`Template::content_hash`] from the current content, after editing fields.
    pub fn refresh_hash(&mut self) {
        self.content_hash = self.compute_hash();
    }

    /// Whether the content is the same as `other`'s (by hash of both, recomputed).
    pub fn same_content(&self, other: &Template) -> bool {
        self.compute_hash() == other.compute_hash()
    }

    /// The template as JSON with sorted keys.
    pub fn to_value(&self) -> Value {
        // Serialising this struct cannot fail (string keys, no custom errors); `Null` is
        // never reached in practice.
        canonical::canonicalize(&serde_json::to_value(self).unwrap_or(Value::Null))
    }

    /// The template as a file holds it: canonical pretty JSON, sorted keys, trailing
    /// newline.
    pub fn to_pretty_json(&self) -> String {
        canonical::canonical_pretty(&self.to_value())
    }

    /// The kind of group a [`TemplateKind::Group`] template creates (see
    /// [`GroupType::detect`]); `None` for other kinds or when the body does not say.
    pub fn group_type(&self) -> Option<GroupType> {
        if self.kind == TemplateKind::Group {
            GroupType::detect(&self.body)
        } else {
            None
        }
    }
}

/// Whether `id` can name a template in every store (it becomes a file name in
/// [`crate::store::DirTemplateStore`]): 1 to 128 ASCII letters, digits, `-`, `_` or `.`,
/// not starting with `.`.
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kind_names_round_trip() {
        for k in KNOWN_KINDS {
            assert_eq!(&TemplateKind::from_name(k.as_str()), k);
            let v = serde_json::to_value(k).unwrap_or(Value::Null);
            assert_eq!(v, json!(k.as_str()));
        }
        assert_eq!(
            TemplateKind::from_name("TenantAllowBlockListTemplate"),
            TemplateKind::Other("TenantAllowBlockListTemplate".into())
        );
    }

    #[test]
    fn cipp_names_map_both_ways() {
        for k in KNOWN_KINDS {
            let pk = k.cipp_partition_key().unwrap_or_default();
            assert_eq!(
                TemplateKind::from_cipp(pk, k.cipp_intune_type()).as_ref(),
                Some(k),
                "{k}"
            );
        }
        assert_eq!(
            TemplateKind::from_cipp("IntuneTemplate", Some("DeviceCompliancePolicies")),
            Some(TemplateKind::IntuneCompliance)
        );
        assert_eq!(TemplateKind::from_cipp("IntuneTemplate", None), None);
    }

    #[test]
    fn group_types() {
        assert_eq!(
            GroupType::detect(&json!({"groupType": "azureRole"})),
            Some(GroupType::RoleAssignable)
        );
        assert_eq!(
            GroupType::detect(&json!({"groupTypes": ["Unified"], "mailEnabled": true})),
            Some(GroupType::Microsoft365)
        );
        assert_eq!(
            GroupType::detect(&json!({"groupTypes": [], "securityEnabled": true})),
            Some(GroupType::Security)
        );
        for g in [
            GroupType::Security,
            GroupType::Microsoft365,
            GroupType::MailEnabledSecurity,
            GroupType::Distribution,
            GroupType::Dynamic,
            GroupType::DynamicDistribution,
            GroupType::RoleAssignable,
        ] {
            assert_eq!(GroupType::from_cipp(g.cipp_name()), Some(g));
        }
    }

    #[test]
    fn ids() {
        assert!(is_valid_id("5b6d8415-d0a5-f989-0000-000000000000"));
        assert!(is_valid_id("a.b_c"));
        assert!(!is_valid_id(""));
        assert!(!is_valid_id(".hidden"));
        assert!(!is_valid_id("a/b"));
        assert!(!is_valid_id("..\\x"));
    }
}
