//! The simulator's state, kept as JSON the way the real services return it.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

mod areas;
mod delta;
mod exchange;
pub mod policies;
pub mod protection;
mod store;

pub use areas::{
    paths, user_matches, Area, Auth, ConditionalAccess, Directory, Gdap, Intune, Logs, Mail,
    SharePoint,
};
pub use delta::{DeltaTracker, Snapshot as DeltaSnapshot};
pub use exchange::{mailbox_for, recipient_guid, ExoState, NO_ARCHIVE};
pub use store::{Collection, Store};

/// One simulated tenant, its state grouped by area.
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
    /// Users, groups, applications, grants, licences and their relationships.
    pub directory: Directory,
    /// Authentication methods, per-user MFA, the TAP policy and MFA pushes.
    pub auth: Auth,
    /// Sign-in and directory audit logs.
    pub logs: Logs,
    /// Inbox rules, mailbox settings and sent mail (Graph's side of Outlook).
    pub mail: Mail,
    /// Exchange Online objects (mailboxes are built from the users on first use).
    pub exchange: ExoState,
    /// Spam and connection filters, connectors and Safe Links (Exchange Online Protection).
    pub protection: protection::ProtectionState,
    /// Intune collections and assignments.
    pub intune: Intune,
    /// Conditional Access policies, named locations, security defaults, throttling.
    pub conditional_access: ConditionalAccess,
    /// GDAP relationships, assignments and customers (partner tenants).
    pub gdap: Gdap,
    /// OneDrive and SharePoint settings.
    pub sharepoint: SharePoint,
    /// Entra ID policy objects (authorization, authentication methods, consent, app
    /// management, device registration, directory settings, domain password policies).
    pub policies: policies::Policies,
    /// Snapshots of users and groups behind the delta links handed out (`users/delta`,
    /// `groups/delta`); `delta.expire()` makes every saved link answer `syncStateNotFound`.
    pub delta: DeltaTracker,
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
        self.id.eq_ignore_ascii_case(name)
            || self.domains.iter().any(|d| d.eq_ignore_ascii_case(name))
    }

    /// A number never handed out before in this tenant (for generated ids).
    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// The users (shortcut for `directory.users()`).
    pub fn users(&self) -> &Collection {
        self.directory.users()
    }

    /// The groups (shortcut for `directory.groups()`).
    pub fn groups(&self) -> &Collection {
        self.directory.groups()
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
        let users = self.directory.users_mut().items_mut();
        users.push(user);
        &users[users.len() - 1]
    }

    /// The position of the user whose id or UPN is `key`.
    pub fn user_index(&self, key: &str) -> Option<usize> {
        self.directory.user_index(key)
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
        self.directory.groups_mut().insert(group);
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

    /// Adds a record to the tenant's unified audit log (what `Search-UnifiedAuditLog` and
    /// the audit log query API serve): `record_type` (`ExchangeAdmin`,
    /// `AzureActiveDirectory`, …), the operation, who, when (RFC 3339), and the `AuditData`
    /// fields beyond the common ones (`Id`, `CreationTime`, `Operation`, `UserId`,
    /// `OrganizationId`, `RecordType`, which are filled in).
    pub fn record_unified(
        &mut self,
        record_type: &str,
        operation: &str,
        user: &str,
        at: &str,
        extra: Value,
    ) {
        let n = self.next_seq();
        let id = synthetic_guid(&format!("{}-ual-{n}", self.id));
        let mut data = json!({"Id": id, "CreationTime": at.trim_end_matches('Z'), "Operation": operation,
            "UserId": user, "OrganizationId": self.id, "RecordType": record_type});
        if let (Some(d), Value::Object(x)) = (data.as_object_mut(), extra) {
            d.extend(x);
        }
        self.exchange.audit_records.push(json!({
            "RecordType": record_type, "CreationDate": at, "UserIds": user,
            "Operations": operation, "AuditData": data.to_string(), "Identity": id,
        }));
    }

    /// Records a directory audit event the way Entra ID writes it (and in the unified
    /// audit log, as `AzureActiveDirectory` with Entra's `<activity>.` operation).
    pub fn record_audit(&mut self, event: AuditEvent<'_>) {
        let who = event.initiated_by["user"]["userPrincipalName"]
            .as_str()
            .or_else(|| event.initiated_by["app"]["displayName"].as_str())
            .unwrap_or(SIM_ADMIN_APP)
            .to_owned();
        let object = event
            .targets
            .first()
            .and_then(|t| t["userPrincipalName"].as_str().or(t["id"].as_str()))
            .unwrap_or_default()
            .to_owned();
        self.record_unified(
            "AzureActiveDirectory",
            &format!("{}.", event.activity),
            &who,
            event.at,
            json!({"Workload": "AzureActiveDirectory", "ObjectId": object,
                   "Target": event.targets, "ResultStatus": "Success"}),
        );
        let n = self.next_seq();
        let id = synthetic_guid(&format!("{}-audit-{n}", self.id));
        self.logs.directory_audits.push(json!({
            "id": format!("Directory_{id}"), "category": event.category, "correlationId": id,
            "result": "success", "resultReason": "", "activityDisplayName": event.activity,
            "activityDateTime": event.at, "loggedByService": "Core Directory",
            "operationType": event.operation, "initiatedBy": event.initiated_by,
            "targetResources": event.targets, "additionalDetails": []
        }));
    }

    /// A user as an audit record's target resource.
    pub fn user_target(&self, user_id: &str, modified: Vec<Value>) -> Value {
        let upn = self
            .directory
            .user(user_id)
            .and_then(|u| u["userPrincipalName"].as_str().map(str::to_owned));
        json!({"id": user_id, "displayName": null, "type": "User", "userPrincipalName": upn,
               "modifiedProperties": modified})
    }

    /// A group as an audit record's target resource.
    pub fn group_target(&self, group_id: &str) -> Value {
        let name = self
            .directory
            .group(group_id)
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
                    "supportedServices": ["Email", "OfficeCommunicationsOnline"],
                    "passwordValidityPeriodInDays": self.policies.domain_passwords.get(d)
                        .and_then(|p| p.get("passwordValidityPeriodInDays")).cloned(),
                    "passwordNotificationWindowInDays": self.policies.domain_passwords.get(d)
                        .and_then(|p| p.get("passwordNotificationWindowInDays")).cloned()
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

/// Who the unified audit log names for writes made through the simulator's API (an app).
pub const SIM_ADMIN_APP: &str = "CIPP-SAM";

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
