//! A tenant's state, one struct per area. Collections served by the route table live in
//! each area's [`Store`] under their path; relationships and settings are plain fields.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::store::{Collection, Store};

/// Collection paths (lower case, after the API version) of the resources the simulator
/// seeds. Any other path a resource table entry names works the same way.
pub mod paths {
    /// `users`
    pub const USERS: &str = "users";
    /// `groups`
    pub const GROUPS: &str = "groups";
    /// `servicePrincipals`
    pub const SERVICE_PRINCIPALS: &str = "serviceprincipals";
    /// `oauth2PermissionGrants`
    pub const GRANTS: &str = "oauth2permissiongrants";
    /// `subscribedSkus`
    pub const SKUS: &str = "subscribedskus";
    /// `deviceManagement/managedDevices`
    pub const MANAGED_DEVICES: &str = "devicemanagement/manageddevices";
    /// `deviceManagement/applePushNotificationCertificate` (a singleton: zero or one item)
    pub const APNS: &str = "devicemanagement/applepushnotificationcertificate";
    /// `deviceAppManagement/vppTokens`
    pub const VPP_TOKENS: &str = "deviceappmanagement/vpptokens";
    /// `deviceManagement/depOnboardingSettings`
    pub const DEP_SETTINGS: &str = "devicemanagement/deponboardingsettings";
    /// `identity/conditionalAccess/policies`
    pub const CA_POLICIES: &str = "identity/conditionalaccess/policies";
    /// `identity/conditionalAccess/namedLocations`
    pub const NAMED_LOCATIONS: &str = "identity/conditionalaccess/namedlocations";
    /// `roleManagement/directory/roleEligibilityScheduleInstances` (PIM eligibility)
    pub const ROLE_ELIGIBILITIES: &str =
        "rolemanagement/directory/roleeligibilityscheduleinstances";
    /// `identityGovernance/privilegedAccess/group/eligibilityScheduleInstances` (PIM for
    /// Groups eligibility; seed them here)
    pub const PIM_GROUP_ELIGIBILITIES: &str =
        "identitygovernance/privilegedaccess/group/eligibilityscheduleinstances";
    /// App role assignments of every service principal (`servicePrincipals/{id}/appRoleAssignments`)
    pub const APP_ROLE_ASSIGNMENTS: &str = "approleassignments";
    /// `tenantRelationships/delegatedAdminRelationships`
    pub const GDAP_RELATIONSHIPS: &str = "tenantrelationships/delegatedadminrelationships";
}

/// Which area of a tenant a resource belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Area {
    /// Entra ID objects: users, groups, applications, grants, licences.
    Directory,
    /// Intune.
    Intune,
    /// Conditional Access.
    ConditionalAccess,
    /// GDAP (partner tenants).
    Gdap,
}

/// Entra ID directory objects and their relationships.
#[derive(Clone, Debug, Default)]
pub struct Directory {
    /// Collections by path: `users`, `groups`, `servicePrincipals`,
    /// `oauth2PermissionGrants`, `subscribedSkus`, and any other directory resource.
    pub store: Store,
    /// Group id → member object ids.
    pub members: BTreeMap<String, Vec<String>>,
    /// Group id → owner object ids.
    pub owners: BTreeMap<String, Vec<String>>,
    /// User id → manager id.
    pub managers: BTreeMap<String, String>,
    /// User id → sponsor (user or group) ids.
    pub sponsors: BTreeMap<String, Vec<String>>,
    /// Directory role template id → member user ids.
    pub roles: BTreeMap<String, Vec<String>>,
}

impl Directory {
    /// Users (Graph JSON, every property the simulator knows); deleted ones on the side.
    pub fn users(&self) -> &Collection {
        self.store.get(paths::USERS)
    }

    /// Users, mutably.
    pub fn users_mut(&mut self) -> &mut Collection {
        self.store.get_mut(paths::USERS)
    }

    /// Groups; deleted Microsoft 365 groups on the side.
    pub fn groups(&self) -> &Collection {
        self.store.get(paths::GROUPS)
    }

    /// Groups, mutably.
    pub fn groups_mut(&mut self) -> &mut Collection {
        self.store.get_mut(paths::GROUPS)
    }

    /// Service principals.
    pub fn service_principals(&self) -> &Collection {
        self.store.get(paths::SERVICE_PRINCIPALS)
    }

    /// Delegated permission grants (consents).
    pub fn grants(&self) -> &Collection {
        self.store.get(paths::GRANTS)
    }

    /// Subscribed SKUs (licences with seat counts and service plans).
    pub fn skus(&self) -> &Collection {
        self.store.get(paths::SKUS)
    }

    /// The position of the user whose id or UPN is `key`.
    pub fn user_index(&self, key: &str) -> Option<usize> {
        self.users().iter().position(|u| user_matches(u, key))
    }

    /// The user whose id or UPN is `key`.
    pub fn user(&self, key: &str) -> Option<&Value> {
        self.users().iter().find(|u| user_matches(u, key))
    }

    /// The id of the user whose id or UPN is `key`.
    pub fn user_id(&self, key: &str) -> Option<String> {
        self.user(key)
            .and_then(|u| u["id"].as_str())
            .map(str::to_owned)
    }

    /// The group with this id.
    pub fn group(&self, id: &str) -> Option<&Value> {
        self.groups().get(id)
    }
}

/// Whether `u`'s id or UPN is `key` (case-insensitive).
pub fn user_matches(u: &Value, key: &str) -> bool {
    ["id", "userPrincipalName"].iter().any(|k| {
        u.get(*k)
            .and_then(Value::as_str)
            .is_some_and(|x| x.eq_ignore_ascii_case(key))
    })
}

/// Authentication methods and policies.
#[derive(Clone, Debug)]
pub struct Auth {
    /// User id → authentication methods (Graph JSON with `@odata.type`).
    pub methods: BTreeMap<String, Vec<Value>>,
    /// User id → per-user MFA state.
    pub per_user_mfa: BTreeMap<String, String>,
    /// The Temporary Access Pass policy (Graph JSON).
    pub tap_policy: Value,
    /// MFA pushes sent through the legacy connector: (UPN, approved).
    pub mfa_pushes: Vec<(String, bool)>,
}

impl Default for Auth {
    fn default() -> Self {
        Auth {
            methods: BTreeMap::new(),
            per_user_mfa: BTreeMap::new(),
            tap_policy: json!({
                "@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration",
                "id": "TemporaryAccessPass", "state": "enabled", "defaultLifetimeInMinutes": 60,
                "defaultLength": 8, "minimumLifetimeInMinutes": 60, "maximumLifetimeInMinutes": 480,
                "isUsableOnce": false, "includeTargets": [{"targetType": "group", "id": "all_users", "isRegistrationRequired": false}]
            }),
            mfa_pushes: Vec::new(),
        }
    }
}

/// Sign-in and directory audit logs.
#[derive(Clone, Debug, Default)]
pub struct Logs {
    /// Sign-in records.
    pub sign_ins: Vec<Value>,
    /// Directory audit records (every directory write adds one).
    pub directory_audits: Vec<Value>,
    /// Purview audit log queries (`security/auditLog/queries`).
    pub audit_queries: Vec<Value>,
}

/// Outlook mail through Graph.
#[derive(Clone, Debug, Default)]
pub struct Mail {
    /// User id → inbox rules (Graph `messageRule`s).
    pub inbox_rules: BTreeMap<String, Vec<Value>>,
    /// User id → mailbox settings.
    pub mailbox_settings: BTreeMap<String, Value>,
    /// Messages sent with `sendMail`: (sender, message JSON).
    pub sent_mail: Vec<(String, Value)>,
}

/// Intune.
#[derive(Clone, Debug, Default)]
pub struct Intune {
    /// Collections by path (`deviceManagement/deviceConfigurations`, managed devices,
    /// the APNs certificate, VPP tokens…).
    pub store: Store,
    /// Object id → its assignments.
    pub assignments: BTreeMap<String, Vec<Value>>,
    /// Administrative template id → its definition values.
    pub definition_values: BTreeMap<String, Vec<Value>>,
    /// Settings-catalog setting definition ids this tenant's Intune does not offer
    /// (policies using one are refused with a 400 naming it).
    pub unavailable_settings: Vec<String>,
}

/// Conditional Access.
#[derive(Clone, Debug, Default)]
pub struct ConditionalAccess {
    /// Policies and named locations by path.
    pub store: Store,
    /// Whether security defaults are off (they are on in a new tenant).
    pub security_defaults_disabled: bool,
    /// When on, Conditional Access answers 429 without `Retry-After` to a second request
    /// within one second, as Graph does.
    pub throttling: bool,
    /// When the last Conditional Access request was served.
    pub last_request: Option<tokio::time::Instant>,
}

impl ConditionalAccess {
    /// The policies.
    pub fn policies(&self) -> &Collection {
        self.store.get(paths::CA_POLICIES)
    }

    /// The named locations.
    pub fn named_locations(&self) -> &Collection {
        self.store.get(paths::NAMED_LOCATIONS)
    }
}

/// GDAP, in a partner tenant.
#[derive(Clone, Debug, Default)]
pub struct Gdap {
    /// Relationships (with `@odata.etag`) under their path.
    pub store: Store,
    /// Relationship id → its access assignments.
    pub assignments: BTreeMap<String, Vec<Value>>,
    /// Relationship id → its long-running operations.
    pub operations: BTreeMap<String, Vec<Value>>,
    /// Customer tenants this partner administers: tenant GUIDs.
    pub customers: Vec<String>,
}

impl Gdap {
    /// The relationships.
    pub fn relationships(&self) -> &Collection {
        self.store.get(paths::GDAP_RELATIONSHIPS)
    }

    /// The relationships, mutably.
    pub fn relationships_mut(&mut self) -> &mut Collection {
        self.store.get_mut(paths::GDAP_RELATIONSHIPS)
    }
}

/// SharePoint and OneDrive.
#[derive(Clone, Debug, Default)]
pub struct SharePoint {
    /// Users (UPN, lower case) whose OneDrive was requested.
    pub onedrive_provisioned: Vec<String>,
    /// Site URL → sharing capability (0–3).
    pub site_sharing: BTreeMap<String, i64>,
    /// User id → items added to the root of their OneDrive (shortcuts).
    pub drive_items: BTreeMap<String, Vec<Value>>,
}
