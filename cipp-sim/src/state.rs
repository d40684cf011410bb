//! The simulator's state, kept as JSON the way the real services return it.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

/// One simulated tenant.
#[derive(Clone, Debug, Default)]
pub struct SimTenant {
    /// The tenant GUID.
    pub id: String,
    /// The organisation's display name.
    pub display_name: String,
    /// Verified domains; the first `*.onmicrosoft.com` one is the initial domain.
    pub domains: Vec<String>,
    /// The default domain.
    pub default_domain: String,
    /// Users as Graph JSON objects (every property the simulator knows).
    pub users: Vec<Value>,
    /// Soft-deleted users as Graph JSON objects with `deletedDateTime`.
    pub deleted_users: Vec<Value>,
    /// Soft-deleted Microsoft 365 groups (security groups are deleted permanently).
    pub deleted_groups: Vec<Value>,
    /// Customer tenants this (partner) tenant administers through GDAP: tenant GUIDs.
    pub customers: Vec<String>,
    /// Groups as Graph JSON objects.
    pub groups: Vec<Value>,
    /// Group id → member object ids.
    pub members: BTreeMap<String, Vec<String>>,
    /// Group id → owner object ids.
    pub owners: BTreeMap<String, Vec<String>>,
    /// User id → manager id.
    pub managers: BTreeMap<String, String>,
    /// User id → authentication methods (Graph JSON with `@odata.type`).
    pub auth_methods: BTreeMap<String, Vec<Value>>,
    /// User id → per-user MFA state.
    pub per_user_mfa: BTreeMap<String, String>,
    /// The Temporary Access Pass policy (Graph JSON).
    pub tap_policy: Value,
    /// Sign-in log records.
    pub sign_ins: Vec<Value>,
    /// Directory audit records.
    pub directory_audits: Vec<Value>,
    /// Delegated permission grants.
    pub grants: Vec<Value>,
    /// Service principals.
    pub service_principals: Vec<Value>,
    /// Intune managed devices.
    pub managed_devices: Vec<Value>,
    /// Subscribed SKUs.
    pub skus: Vec<Value>,
    /// User id → inbox rules.
    pub inbox_rules: BTreeMap<String, Vec<Value>>,
    /// User id → mailbox settings.
    pub mailbox_settings: BTreeMap<String, Value>,
    /// Directory role template id → member user ids.
    pub directory_roles: BTreeMap<String, Vec<String>>,
    /// Users (UPN, lower case) whose OneDrive was requested.
    pub onedrive_provisioned: Vec<String>,
    /// Site URL → SharePoint sharing capability (0–3).
    pub site_sharing: BTreeMap<String, i64>,
    /// User id → items added to the root of their OneDrive (shortcuts).
    pub drive_items: BTreeMap<String, Vec<Value>>,
    /// Messages sent with `sendMail`: (sender, message JSON).
    pub sent_mail: Vec<(String, Value)>,
    /// MFA pushes sent: (UPN, approved).
    pub mfa_pushes: Vec<(String, bool)>,
    /// Exchange Online objects (mailboxes are built from the users on first use).
    pub exchange: crate::exchange::ExoState,
    /// GDAP relationships this tenant holds as a partner (Graph JSON with `@odata.etag`).
    pub gdap_relationships: Vec<Value>,
    /// Relationship id → its access assignments.
    pub gdap_assignments: BTreeMap<String, Vec<Value>>,
    /// Relationship id → its long-running operations.
    pub gdap_operations: BTreeMap<String, Vec<Value>>,
    /// Conditional Access policies.
    pub ca_policies: Vec<Value>,
    /// Named locations.
    pub named_locations: Vec<Value>,
    /// Whether security defaults are off (they are on in a new tenant).
    pub security_defaults_disabled: bool,
    /// When switched on, Conditional Access answers 429 without `Retry-After` to a second
    /// request within one second for this tenant, as Graph does.
    pub ca_throttling: bool,
    /// Intune objects by collection (`deviceManagement/deviceConfigurations`…).
    pub intune: BTreeMap<String, Vec<Value>>,
    /// Intune object id → its assignments.
    pub intune_assignments: BTreeMap<String, Vec<Value>>,
    /// When the last Conditional Access request for this tenant was served.
    pub ca_last_request: Option<tokio::time::Instant>,
    /// Numbers handed out for generated ids (never reused).
    seq: u64,
}

impl SimTenant {
    /// A tenant with a GUID, a name and its initial `*.onmicrosoft.com` domain.
    pub fn new(id: &str, display_name: &str, initial_domain: &str) -> Self {
        SimTenant {
            id: id.to_ascii_lowercase(),
            display_name: display_name.to_owned(),
            domains: vec![initial_domain.to_ascii_lowercase()],
            default_domain: initial_domain.to_ascii_lowercase(),
            tap_policy: json!({
                "@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration",
                "id": "TemporaryAccessPass", "state": "enabled", "defaultLifetimeInMinutes": 60,
                "defaultLength": 8, "minimumLifetimeInMinutes": 60, "maximumLifetimeInMinutes": 480,
                "isUsableOnce": false, "includeTargets": [{"targetType": "group", "id": "all_users", "isRegistrationRequired": false}]
            }),
            ..SimTenant::default()
        }
    }

    /// Adds a verified custom domain and makes it the default.
    pub fn with_default_domain(mut self, domain: &str) -> Self {
        let d = domain.to_ascii_lowercase();
        if !self.domains.contains(&d) {
            self.domains.push(d.clone());
        }
        self.default_domain = d;
        self
    }

    /// The initial domain.
    pub fn initial_domain(&self) -> &str {
        self.domains
            .iter()
            .find(|d| d.ends_with(".onmicrosoft.com"))
            .or(self.domains.first())
            .map_or("", String::as_str)
    }

    /// Whether `name` (GUID or domain) names this tenant.
    pub fn answers_to(&self, name: &str) -> bool {
        let n = name.to_ascii_lowercase();
        self.id == n || self.domains.contains(&n)
    }

    /// Adds a user (a Graph user object; `id` is generated when missing).
    pub fn add_user(&mut self, mut user: Value) -> &Value {
        if let Value::Object(m) = &mut user {
            if !m.contains_key("id") {
                let n = self.next_seq();
                let id = synthetic_guid(&format!("{}-user-{n}", self.id));
                m.insert("id".into(), Value::String(id));
            }
        }
        self.users.push(user);
        &self.users[self.users.len() - 1]
    }

    /// A number never handed out before in this tenant (for generated ids).
    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// The user whose id or UPN is `key`.
    pub fn user_index(&self, key: &str) -> Option<usize> {
        self.users.iter().position(|u| {
            u.get("id")
                .and_then(Value::as_str)
                .is_some_and(|x| x.eq_ignore_ascii_case(key))
                || u.get("userPrincipalName")
                    .and_then(Value::as_str)
                    .is_some_and(|x| x.eq_ignore_ascii_case(key))
        })
    }

    /// Adds a group (a Graph group object; `id` generated when missing) and returns its id.
    pub fn add_group(&mut self, mut group: Value) -> String {
        let id = match group.get("id").and_then(Value::as_str) {
            Some(id) => id.to_owned(),
            None => {
                let n = self.next_seq();
                synthetic_guid(&format!("{}-group-{n}", self.id))
            }
        };
        group["id"] = Value::String(id.clone());
        self.groups.push(group);
        id
    }

    /// Records a directory audit event initiated by the simulator itself, on one user.
    pub fn audit(
        &mut self,
        activity: &str,
        category: &str,
        target_id: &str,
        target_upn: Option<&str>,
        at: &str,
    ) {
        let target = json!({"id": target_id, "displayName": null, "type": "User",
            "userPrincipalName": target_upn, "modifiedProperties": []});
        self.record_audit(AuditEvent {
            activity,
            category,
            operation: "Update",
            initiated_by: app_initiator("cipp-sim"),
            targets: vec![target],
            at,
        });
    }

    /// Records a directory audit event the way Entra ID writes it.
    pub fn record_audit(&mut self, event: AuditEvent<'_>) {
        let n = self.next_seq();
        let id = synthetic_guid(&format!("{}-audit-{n}", self.id));
        self.directory_audits.push(json!({
            "id": format!("Directory_{id}"), "category": event.category, "correlationId": id,
            "result": "success", "resultReason": "", "activityDisplayName": event.activity,
            "activityDateTime": event.at, "loggedByService": "Core Directory",
            "operationType": event.operation, "initiatedBy": event.initiated_by,
            "targetResources": event.targets, "additionalDetails": []
        }));
    }

    /// A user as an audit record's target resource.
    pub fn user_target(&self, user_id: &str, modified: Vec<Value>) -> Value {
        let upn = self.user_index(user_id).and_then(|i| {
            self.users[i]["userPrincipalName"]
                .as_str()
                .map(str::to_owned)
        });
        json!({"id": user_id, "displayName": null, "type": "User", "userPrincipalName": upn,
               "modifiedProperties": modified})
    }

    /// A group as an audit record's target resource.
    pub fn group_target(&self, group_id: &str) -> Value {
        let name = self
            .groups
            .iter()
            .find(|g| g["id"].as_str() == Some(group_id))
            .map(|g| g["displayName"].clone())
            .unwrap_or(Value::Null);
        json!({"id": group_id, "displayName": name, "type": "Group", "modifiedProperties": [
            {"displayName": "Group.ObjectID", "oldValue": null, "newValue": format!("\"{group_id}\"")},
            {"displayName": "Group.DisplayName", "oldValue": null, "newValue": format!("\"{}\"", name.as_str().unwrap_or_default())}
        ]})
    }

    /// The Graph `organization` object.
    pub fn organization(&self) -> Value {
        let verified: Vec<Value> = self
            .domains
            .iter()
            .map(|d| {
                json!({
                    "capabilities": "Email, OfficeCommunicationsOnline",
                    "isDefault": *d == self.default_domain,
                    "isInitial": d == self.initial_domain(),
                    "name": d,
                    "type": "Managed"
                })
            })
            .collect();
        json!({
            "id": self.id,
            "displayName": self.display_name,
            "tenantType": "AAD",
            "countryLetterCode": "US",
            "verifiedDomains": verified,
        })
    }

    /// The Graph `domain` objects.
    pub fn domain_objects(&self) -> Vec<Value> {
        self.domains
            .iter()
            .map(|d| {
                json!({
                    "id": d,
                    "authenticationType": "Managed",
                    "isDefault": *d == self.default_domain,
                    "isInitial": d == self.initial_domain(),
                    "isRoot": true,
                    "isVerified": true,
                    "supportedServices": ["Email", "OfficeCommunicationsOnline"]
                })
            })
            .collect()
    }
}

/// One directory audit event (see [`SimTenant::record_audit`]).
#[derive(Clone, Debug)]
pub struct AuditEvent<'a> {
    /// `activityDisplayName` (`Reset user password`, `Add member to group`…).
    pub activity: &'a str,
    /// `category` (`UserManagement`, `GroupManagement`, `RoleManagement`…).
    pub category: &'a str,
    /// `operationType` (`Add`, `Update`, `Delete`, `Assign`, `Unassign`…).
    pub operation: &'a str,
    /// `initiatedBy` (see [`app_initiator`]).
    pub initiated_by: Value,
    /// `targetResources`.
    pub targets: Vec<Value>,
    /// `activityDateTime`.
    pub at: &'a str,
}

/// The `initiatedBy` of a change made by application `app_id`.
pub fn app_initiator(app_id: &str) -> Value {
    json!({"app": {"appId": app_id, "displayName": null,
        "servicePrincipalId": synthetic_guid(&format!("sp-{app_id}")), "servicePrincipalName": null}})
}

/// `modifiedProperties` entries for the properties `changes` sets on `before`, as Entra
/// ID writes them (PascalCase names, JSON arrays in strings, and the summary entry).
pub fn modified_properties(before: &Value, changes: &Map<String, Value>) -> Vec<Value> {
    let mut out = Vec::new();
    let mut names = Vec::new();
    for (k, v) in changes {
        if k.starts_with('@') || k.contains('@') || k == "passwordProfile" {
            continue;
        }
        let mut name: Vec<char> = k.chars().collect();
        if let Some(c) = name.first_mut() {
            *c = c.to_ascii_uppercase();
        }
        let name: String = name.into_iter().collect();
        let old = before.get(k).filter(|o| !o.is_null());
        out.push(json!({"displayName": name,
            "oldValue": old.map_or("[]".to_owned(), |o| format!("[{o}]")),
            "newValue": if v.is_null() { "[]".to_owned() } else { format!("[{v}]") }}));
        names.push(name);
    }
    if !names.is_empty() {
        out.push(
            json!({"displayName": "Included Updated Properties", "oldValue": null,
            "newValue": format!("\"{}\"", names.join(", "))}),
        );
    }
    out
}

/// A registered application (client) the token endpoint knows.
#[derive(Clone, Debug)]
pub struct SimApp {
    /// The application (client) id.
    pub client_id: String,
    /// Its valid client secret.
    pub secret: String,
    /// The home (partner) tenant GUID.
    pub home_tenant: String,
    /// Tenants where the app is consented (GUIDs). The home tenant always is.
    pub consented: Vec<String>,
}

/// All simulated state.
#[derive(Clone, Debug, Default)]
pub struct SimState {
    /// Tenants by GUID.
    pub tenants: BTreeMap<String, SimTenant>,
    /// Registered applications by client id.
    pub apps: BTreeMap<String, SimApp>,
    /// Valid partner refresh tokens → the partner tenant GUID.
    pub refresh_tokens: BTreeMap<String, String>,
}

impl SimState {
    /// Finds a tenant by GUID or domain.
    pub fn tenant(&self, name: &str) -> Option<&SimTenant> {
        let n = name.to_ascii_lowercase();
        self.tenants
            .get(&n)
            .or_else(|| self.tenants.values().find(|t| t.answers_to(&n)))
    }

    /// Finds a tenant by GUID or domain, mutably.
    pub fn tenant_mut(&mut self, name: &str) -> Option<&mut SimTenant> {
        let n = name.to_ascii_lowercase();
        let id = self.tenant(&n)?.id.clone();
        self.tenants.get_mut(&id)
    }
}

/// A stable GUID-shaped id derived from a seed (FNV-1a), so scenarios are reproducible.
pub fn synthetic_guid(seed: &str) -> String {
    let mut h1: u64 = 0xcbf29ce484222325;
    let mut h2: u64 = 0x84222325cbf29ce4;
    for b in seed.bytes() {
        h1 = (h1 ^ u64::from(b)).wrapping_mul(0x100000001b3);
        h2 = (h2 ^ u64::from(b))
            .wrapping_mul(0x100000001b3)
            .rotate_left(7);
    }
    let hex = format!("{h1:016x}{h2:016x}");
    format!(
        "{}-{}-4{}-8{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

/// A Graph user object with the properties the simulator fills in.
pub fn user_json(display_name: &str, upn: &str, job_title: &str, enabled: bool) -> Value {
    let mut names = display_name.splitn(2, ' ');
    let given = names.next().unwrap_or("");
    let surname = names.next().unwrap_or("");
    let mail_nickname = upn.split('@').next().unwrap_or(upn);
    let mut m = Map::new();
    m.insert("accountEnabled".into(), Value::Bool(enabled));
    m.insert("businessPhones".into(), json!([]));
    m.insert("displayName".into(), json!(display_name));
    m.insert("givenName".into(), json!(given));
    m.insert("surname".into(), json!(surname));
    m.insert("jobTitle".into(), json!(job_title));
    m.insert("mail".into(), json!(upn));
    m.insert("mailNickname".into(), json!(mail_nickname));
    m.insert("mobilePhone".into(), Value::Null);
    m.insert("officeLocation".into(), Value::Null);
    m.insert("preferredLanguage".into(), json!("en-US"));
    m.insert("userPrincipalName".into(), json!(upn));
    m.insert("usageLocation".into(), json!("US"));
    m.insert("userType".into(), json!("Member"));
    m.insert("onPremisesSyncEnabled".into(), Value::Null);
    m.insert("proxyAddresses".into(), json!([format!("SMTP:{upn}")]));
    m.insert("createdDateTime".into(), json!("2024-03-01T09:00:00Z"));
    Value::Object(m)
}
