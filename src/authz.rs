//! Access control and the audit trail: who may do what, in which tenants, and the record of
//! what was done.
//!
//! - [`Permission`]: CIPP's vocabulary, `<Area>.<Resource>.<Read|ReadWrite>`
//!   (`Identity.User.ReadWrite`); `ReadWrite` includes `Read`.
//! - [`Role`]: permissions allowed (patterns with `*` per segment), permissions blocked,
//!   and a [`TenantScope`] (all tenants or a list, tenant groups, blocked tenants and
//!   groups). [`Role::readonly`], [`Role::editor`], [`Role::admin`], [`Role::superadmin`]
//!   are CIPP's built-in roles; custom roles are built with [`Role::custom`].
//! - [`Principal`]: a technician, an API client or a scheduled task's owner, with roles.
//!   [`Principal::check`] says whether it may use a permission in a tenant, and why not.
//! - [`AuditEvent`] and [`AuditSink`]: every write and every refusal is recorded (who,
//!   what with its parameters, secrets removed, tenant, target, outcome, time).
//!
//! ```
//! use cipp::authz::{Permission, Principal, Role, TenantGroups, TenantScope};
//! let helpdesk = Role::custom("helpdesk")
//!     .allow("Identity.User.*")
//!     .allow("*.*.Read")
//!     .tenants(TenantScope::only(["contoso.onmicrosoft.com", "fabrikam.onmicrosoft.com"]));
//! let tech = Principal::technician("alex@msp.example").with_role(helpdesk);
//! let groups = TenantGroups::default();
//! let reset = Permission::parse("Identity.User.ReadWrite").unwrap();
//! assert!(tech.check(&reset, Some("contoso.onmicrosoft.com"), &groups).is_ok());
//! assert!(tech.check(&reset, Some("northwind.onmicrosoft.com"), &groups).is_err());
//! let gdap = Permission::parse("Tenant.Relationship.ReadWrite").unwrap();
//! assert!(tech.check(&gdap, Some("contoso.onmicrosoft.com"), &groups).is_err());
//! ```

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cipp_core::Error;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Read, or read and write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Level {
    /// Read only.
    Read,
    /// Read and write (includes `Read`).
    ReadWrite,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Read => "Read",
            Level::ReadWrite => "ReadWrite",
        }
    }
}

/// A permission: `<Area>.<Resource>.<Level>`, as CIPP names them.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Permission {
    area: Cow<'static, str>,
    resource: Cow<'static, str>,
    level: Level,
}

macro_rules! permissions {
    ($($(#[$m:meta])* $name:ident = $area:literal . $resource:literal . $level:ident;)+) => {
        impl Permission {
            $($(#[$m])* pub const $name: Permission = Permission {
                area: Cow::Borrowed($area),
                resource: Cow::Borrowed($resource),
                level: Level::$level,
            };)+
            /// Every permission the SDK's operations declare.
            pub const ALL: &'static [Permission] = &[$(Permission::$name),+];
        }
    };
}

permissions! {
    /// Read users.
    IDENTITY_USER_READ = "Identity"."User".Read;
    /// Change users (properties, passwords, sessions, sign-in, licences, MFA, deletion).
    IDENTITY_USER_READWRITE = "Identity"."User".ReadWrite;
    /// Read groups.
    IDENTITY_GROUP_READ = "Identity"."Group".Read;
    /// Change groups and their members.
    IDENTITY_GROUP_READWRITE = "Identity"."Group".ReadWrite;
    /// Read mailboxes (rules, permissions, forwarding, audit searches).
    EXCHANGE_MAILBOX_READ = "Exchange"."Mailbox".Read;
    /// Change mailboxes.
    EXCHANGE_MAILBOX_READWRITE = "Exchange"."Mailbox".ReadWrite;
    /// Read Intune.
    ENDPOINT_MEM_READ = "Endpoint"."MEM".Read;
    /// Change Intune policies and devices.
    ENDPOINT_MEM_READWRITE = "Endpoint"."MEM".ReadWrite;
    /// Read Conditional Access.
    TENANT_CONDITIONAL_ACCESS_READ = "Tenant"."ConditionalAccess".Read;
    /// Change Conditional Access.
    TENANT_CONDITIONAL_ACCESS_READWRITE = "Tenant"."ConditionalAccess".ReadWrite;
    /// Read standards and their results.
    TENANT_STANDARDS_READ = "Tenant"."Standards".Read;
    /// Deploy templates and remediate standards.
    TENANT_STANDARDS_READWRITE = "Tenant"."Standards".ReadWrite;
    /// Read alerts.
    TENANT_ALERT_READ = "Tenant"."Alert".Read;
    /// Change alerts.
    TENANT_ALERT_READWRITE = "Tenant"."Alert".ReadWrite;
    /// Read GDAP relationships and access.
    TENANT_RELATIONSHIP_READ = "Tenant"."Relationship".Read;
    /// Change GDAP relationships, invites and access assignments.
    TENANT_RELATIONSHIP_READWRITE = "Tenant"."Relationship".ReadWrite;
    /// Read SharePoint and OneDrive settings.
    SHAREPOINT_SITE_READ = "Sharepoint"."Site".Read;
    /// Change SharePoint and OneDrive (provisioning, sharing, shortcuts).
    SHAREPOINT_SITE_READWRITE = "Sharepoint"."Site".ReadWrite;
    /// Read scheduled tasks.
    CIPP_SCHEDULER_READ = "CIPP"."Scheduler".Read;
    /// Add, change and remove scheduled tasks.
    CIPP_SCHEDULER_READWRITE = "CIPP"."Scheduler".ReadWrite;
    /// Read the SDK's own settings.
    CIPP_APP_SETTINGS_READ = "CIPP"."AppSettings".Read;
    /// Change the SDK's own settings (roles, credentials).
    CIPP_APP_SETTINGS_READWRITE = "CIPP"."AppSettings".ReadWrite;
    /// Super-administration (role definitions, audit settings).
    CIPP_SUPER_ADMIN_READWRITE = "CIPP"."SuperAdmin".ReadWrite;
}

impl Permission {
    /// Parses `Area.Resource.Read` or `Area.Resource.ReadWrite`.
    pub fn parse(s: &str) -> Result<Permission, Error> {
        let parts: Vec<&str> = s.split('.').collect();
        let valid = |p: &str| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric());
        match parts.as_slice() {
            [area, resource, level] if valid(area) && valid(resource) => {
                let level = match *level {
                    "Read" => Level::Read,
                    "ReadWrite" => Level::ReadWrite,
                    other => {
                        return Err(Error::invalid_input(
                            "permission",
                            format!("`{s}`: the level `{other}` is not Read or ReadWrite"),
                        ))
                    }
                };
                Ok(Permission {
                    area: Cow::Owned((*area).to_owned()),
                    resource: Cow::Owned((*resource).to_owned()),
                    level,
                })
            }
            _ => Err(Error::invalid_input(
                "permission",
                format!("`{s}` is not <Area>.<Resource>.<Read|ReadWrite>"),
            )),
        }
    }

    /// The level.
    pub fn level(&self) -> Level {
        self.level
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.area, self.resource, self.level.as_str())
    }
}

/// A permission pattern of a role: three segments, each a name or `*`
/// (`Identity.*.ReadWrite`, `*.*.Read`, `Exchange.Mailbox.*`). A pattern at `ReadWrite`
/// also grants `Read`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PermissionPattern(String);

impl TryFrom<String> for PermissionPattern {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let parts: Vec<&str> = s.split('.').collect();
        let ok = parts.len() == 3
            && parts[..2].iter().all(|p| {
                *p == "*" || (!p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric()))
            })
            && ["*", "Read", "ReadWrite"].contains(&parts[2]);
        if ok {
            Ok(PermissionPattern(s))
        } else {
            Err(format!(
                "`{s}` is not a permission pattern <Area|*>.<Resource|*>.<Read|ReadWrite|*>"
            ))
        }
    }
}

impl From<PermissionPattern> for String {
    fn from(p: PermissionPattern) -> String {
        p.0
    }
}

impl PermissionPattern {
    /// Whether the pattern grants `p`.
    pub fn grants(&self, p: &Permission) -> bool {
        let mut parts = self.0.split('.');
        let (Some(a), Some(r), Some(l)) = (parts.next(), parts.next(), parts.next()) else {
            return false;
        };
        let seg = |pat: &str, v: &str| pat == "*" || pat.eq_ignore_ascii_case(v);
        let level = match l {
            "*" | "ReadWrite" => true,
            _ => p.level == Level::Read,
        };
        seg(a, &p.area) && seg(r, &p.resource) && level
    }

    /// Whether the pattern matches `p` at exactly its level (used for blocks: blocking
    /// `X.ReadWrite` leaves `X.Read` allowed).
    fn blocks(&self, p: &Permission) -> bool {
        let l = self.0.rsplit('.').next().unwrap_or("");
        self.grants(p) && (l == "*" || l == p.level.as_str())
    }
}

/// Which tenants a role covers. Entries match a tenant's id or domain, case-insensitively;
/// groups are names in the [`TenantGroups`] given to the check.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TenantScope {
    /// `None`: every tenant; `Some`: only these (plus `allowed_groups`).
    pub allowed: Option<Vec<String>>,
    /// Tenant groups whose tenants are allowed.
    pub allowed_groups: Vec<String>,
    /// Tenants refused even when allowed otherwise.
    pub blocked: Vec<String>,
    /// Tenant groups whose tenants are refused.
    pub blocked_groups: Vec<String>,
}

impl TenantScope {
    /// Every tenant.
    pub fn all() -> TenantScope {
        TenantScope::default()
    }

    /// Only these tenants (ids or domains).
    pub fn only<I: IntoIterator<Item = S>, S: Into<String>>(tenants: I) -> TenantScope {
        TenantScope {
            allowed: Some(tenants.into_iter().map(Into::into).collect()),
            ..TenantScope::default()
        }
    }

    /// Only the tenants of these groups.
    pub fn groups<I: IntoIterator<Item = S>, S: Into<String>>(groups: I) -> TenantScope {
        TenantScope {
            allowed: Some(Vec::new()),
            allowed_groups: groups.into_iter().map(Into::into).collect(),
            ..TenantScope::default()
        }
    }

    /// Also allows the tenants of these groups.
    pub fn and_groups<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        groups: I,
    ) -> TenantScope {
        self.allowed.get_or_insert_with(Vec::new);
        self.allowed_groups
            .extend(groups.into_iter().map(Into::into));
        self
    }

    /// Also refuses these tenants.
    pub fn block<I: IntoIterator<Item = S>, S: Into<String>>(mut self, tenants: I) -> TenantScope {
        self.blocked.extend(tenants.into_iter().map(Into::into));
        self
    }

    /// Also refuses the tenants of these groups.
    pub fn block_groups<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        groups: I,
    ) -> TenantScope {
        self.blocked_groups
            .extend(groups.into_iter().map(Into::into));
        self
    }

    /// Whether `tenant` (its id and domains) is covered; `Err` says why not.
    /// Whether the scope is every tenant, with nothing blocked.
    pub fn is_every_tenant(&self) -> bool {
        self.allowed.is_none() && self.blocked.is_empty() && self.blocked_groups.is_empty()
    }

    fn covers(&self, tenant: &[&str], groups: &TenantGroups) -> Result<(), String> {
        let hit = |list: &[String]| {
            list.iter()
                .any(|e| tenant.iter().any(|t| t.eq_ignore_ascii_case(e)))
        };
        let in_group =
            |names: &[String]| names.iter().find(|g| groups.contains(g, tenant)).cloned();
        if hit(&self.blocked) {
            return Err("the tenant is blocked".to_owned());
        }
        if let Some(g) = in_group(&self.blocked_groups) {
            return Err(format!("the tenant is in the blocked group `{g}`"));
        }
        match &self.allowed {
            None => Ok(()),
            Some(list) if hit(list) || in_group(&self.allowed_groups).is_some() => Ok(()),
            Some(_) => Err("the tenant is not among the allowed tenants".to_owned()),
        }
    }
}

/// Named sets of tenants (ids or domains), for tenant scopes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantGroups(pub BTreeMap<String, BTreeSet<String>>);

impl TenantGroups {
    /// Adds a group.
    pub fn with<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        name: impl Into<String>,
        tenants: I,
    ) -> TenantGroups {
        self.0.insert(
            name.into(),
            tenants
                .into_iter()
                .map(|t| t.into().to_ascii_lowercase())
                .collect(),
        );
        self
    }

    /// The groups a tenant known by `names` (its id, its domains) belongs to.
    pub fn groups_of(&self, names: &[&str]) -> Vec<&str> {
        self.0
            .keys()
            .filter(|g| self.contains(g, names))
            .map(String::as_str)
            .collect()
    }

    fn contains(&self, group: &str, tenant: &[&str]) -> bool {
        self.0
            .get(group)
            .is_some_and(|set| tenant.iter().any(|t| set.contains(&t.to_ascii_lowercase())))
    }
}

/// A role: what it allows, what it blocks, where.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Role {
    /// The role's name.
    pub name: String,
    /// Permission patterns granted.
    pub allow: Vec<PermissionPattern>,
    /// Permission patterns refused even when granted.
    pub block: Vec<PermissionPattern>,
    /// Where the role applies.
    pub tenants: TenantScope,
}

fn pattern(p: &str) -> PermissionPattern {
    // Only called with the literal patterns of the built-in roles below.
    PermissionPattern(p.to_owned())
}

impl Role {
    /// A custom role that allows nothing yet.
    pub fn custom(name: impl Into<String>) -> Role {
        Role {
            name: name.into(),
            allow: Vec::new(),
            block: Vec::new(),
            tenants: TenantScope::all(),
        }
    }

    /// CIPP's `readonly`: every `Read`.
    pub fn readonly() -> Role {
        Role {
            allow: vec![pattern("*.*.Read")],
            ..Role::custom("readonly")
        }
    }

    /// CIPP's `editor`: everything in tenants, but not GDAP relationships or the SDK's own
    /// settings.
    pub fn editor() -> Role {
        Role {
            allow: vec![pattern("*.*.*")],
            block: vec![
                pattern("Tenant.Relationship.ReadWrite"),
                pattern("CIPP.AppSettings.ReadWrite"),
                pattern("CIPP.SuperAdmin.*"),
            ],
            ..Role::custom("editor")
        }
    }

    /// CIPP's `admin`: everything but super-administration.
    pub fn admin() -> Role {
        Role {
            allow: vec![pattern("*.*.*")],
            block: vec![pattern("CIPP.SuperAdmin.*")],
            ..Role::custom("admin")
        }
    }

    /// CIPP's `superadmin`: everything.
    pub fn superadmin() -> Role {
        Role {
            allow: vec![pattern("*.*.*")],
            ..Role::custom("superadmin")
        }
    }

    /// Allows a permission pattern. A malformed pattern is ignored here: build roles from
    /// configuration with `serde` (which refuses it) or check with
    /// [`PermissionPattern::try_from`].
    pub fn allow(mut self, p: &str) -> Role {
        if let Ok(p) = PermissionPattern::try_from(p.to_owned()) {
            self.allow.push(p);
        }
        self
    }

    /// Blocks a permission pattern (same rule as [`Role::allow`]).
    pub fn block(mut self, p: &str) -> Role {
        if let Ok(p) = PermissionPattern::try_from(p.to_owned()) {
            self.block.push(p);
        }
        self
    }

    /// Sets the tenant scope.
    pub fn tenants(mut self, scope: TenantScope) -> Role {
        self.tenants = scope;
        self
    }

    fn grants(&self, p: &Permission) -> bool {
        self.allow.iter().any(|a| a.grants(p)) && !self.block.iter().any(|b| b.blocks(p))
    }
}

/// Who acts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum PrincipalKind {
    /// A person.
    Technician,
    /// A program with its own credentials.
    ApiClient,
    /// The owner on whose behalf a scheduled task runs.
    TaskOwner,
}

/// A caller identity with its roles.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Principal {
    /// Name (UPN, client id, task owner).
    pub name: String,
    /// What it is.
    pub kind: PrincipalKind,
    /// Its roles (any role that grants a permission in a tenant allows it).
    pub roles: Vec<Role>,
}

/// Why a principal may not do something.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The permission asked for.
    pub permission: Permission,
    /// The tenant, when the operation is in one.
    pub tenant: Option<String>,
    /// Why.
    pub reason: String,
    /// What the caller can do about it.
    pub advice: &'static str,
}

/// The advice for a tenant outside every granting role's scope.
const SCOPE_ADVICE: &str = "ask for a role whose tenant scope includes this tenant (or a \
     tenant group holding it); a scope naming the tenant by domain matches a handle made from \
     its id once the client knows the domain (Cipp::tenants lists the fleet, \
     Cipp::resolve_tenant looks one tenant up)";

impl Principal {
    /// A technician without roles yet.
    pub fn technician(name: impl Into<String>) -> Principal {
        Principal {
            name: name.into(),
            kind: PrincipalKind::Technician,
            roles: Vec::new(),
        }
    }

    /// An API client without roles yet.
    pub fn api_client(name: impl Into<String>) -> Principal {
        Principal {
            kind: PrincipalKind::ApiClient,
            ..Principal::technician(name)
        }
    }

    /// A scheduled task's owner without roles yet.
    pub fn task_owner(name: impl Into<String>) -> Principal {
        Principal {
            kind: PrincipalKind::TaskOwner,
            ..Principal::technician(name)
        }
    }

    /// Adds a role.
    pub fn with_role(mut self, role: Role) -> Principal {
        self.roles.push(role);
        self
    }

    /// Whether the principal may use `permission` in `tenant` (`None`: not tenant-bound).
    /// The tenant is matched by each name given (id, domains), case-insensitively.
    pub fn check(
        &self,
        permission: &Permission,
        tenant: Option<&str>,
        groups: &TenantGroups,
    ) -> Result<(), Refusal> {
        self.check_names(permission, tenant.map(|t| vec![t]).as_deref(), groups)
    }

    pub(crate) fn check_names(
        &self,
        permission: &Permission,
        tenant: Option<&[&str]>,
        groups: &TenantGroups,
    ) -> Result<(), Refusal> {
        let refuse = |reason: String, advice: &'static str| Refusal {
            permission: permission.clone(),
            tenant: tenant.and_then(|t| t.first()).map(|t| (*t).to_owned()),
            reason,
            advice,
        };
        let granting: Vec<&Role> = self.roles.iter().filter(|r| r.grants(permission)).collect();
        if granting.is_empty() {
            return Err(refuse(
                format!("no role of {} grants {permission}", self.name),
                "ask an administrator for a role that grants this permission",
            ));
        }
        let Some(tenant) = tenant else {
            return Ok(());
        };
        let mut why = Vec::new();
        for r in granting {
            match r.tenants.covers(tenant, groups) {
                Ok(()) => return Ok(()),
                Err(e) => why.push(format!("role `{}`: {e}", r.name)),
            }
        }
        Err(refuse(why.join("; "), SCOPE_ADVICE))
    }

    /// Whether some role granting `permission` covers every tenant (no allow list, no
    /// blocks).
    pub fn covers_every_tenant(&self, permission: &Permission) -> bool {
        self.roles
            .iter()
            .any(|r| r.grants(permission) && r.tenants.is_every_tenant())
    }

    /// Whether any role of the principal covers the tenant known by `names` (id and
    /// domains), whatever the permission: what a tenant handle needs to exist. A refusal
    /// is [`Error::Forbidden`] for "any operation".
    pub fn reaches(&self, names: &[&str], groups: &TenantGroups) -> Result<(), Error> {
        let refuse = |reason: String, advice: &str| {
            Error::forbidden_with_advice(
                "any operation",
                names.first().map(|t| (*t).to_owned()),
                reason,
                advice,
            )
        };
        if self.roles.is_empty() {
            return Err(refuse(
                format!("{} has no role", self.name),
                "ask an administrator for a role",
            ));
        }
        let mut why = Vec::new();
        for r in &self.roles {
            match r.tenants.covers(names, groups) {
                Ok(()) => return Ok(()),
                Err(e) => why.push(format!("role `{}`: {e}", r.name)),
            }
        }
        Err(refuse(why.join("; "), SCOPE_ADVICE))
    }
}

impl From<Refusal> for Error {
    fn from(r: Refusal) -> Error {
        Error::forbidden_with_advice(r.permission.to_string(), r.tenant, r.reason, r.advice)
    }
}

// ---------------------------------------------------------------------------------------
// The audit trail

/// How an audited call ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "camelCase")]
#[non_exhaustive]
pub enum AuditOutcome {
    /// Done.
    Succeeded,
    /// Done in part (a report with failed steps).
    Partial {
        /// What failed.
        message: String,
    },
    /// Failed.
    Failed {
        /// The error (secrets removed by the error type).
        error: String,
        /// The service's request id, when the service answered.
        request_id: Option<String>,
    },
    /// Refused before anything was sent.
    Refused {
        /// Why.
        reason: String,
    },
}

/// One audited call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AuditEvent {
    /// When.
    pub at: DateTime<Utc>,
    /// Who (the principal's name, or `unidentified` when the client has none).
    pub principal: String,
    /// The operation (`user.reset_password`, `templates.deploy`…).
    pub operation: String,
    /// The permission it needed.
    pub permission: String,
    /// The tenant.
    pub tenant: Option<String>,
    /// The object acted on (a UPN, an object id, a template…).
    pub target: Option<String>,
    /// The parameters, with secrets removed.
    pub parameters: Value,
    /// How it ended.
    pub outcome: AuditOutcome,
}

/// Where audit events go. Recording must not fail the operation: a sink that cannot write
/// reports it its own way.
#[async_trait]
pub trait AuditSink: Send + Sync + 'static {
    /// Records one event.
    async fn record(&self, event: AuditEvent);
}

/// Audit events kept in memory (tests, short-lived tools).
#[derive(Clone, Debug, Default)]
pub struct MemoryAuditLog(Arc<Mutex<Vec<AuditEvent>>>);

impl MemoryAuditLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// The events so far.
    pub fn events(&self) -> Vec<AuditEvent> {
        match self.0.lock() {
            Ok(v) => v.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

#[async_trait]
impl AuditSink for MemoryAuditLog {
    async fn record(&self, event: AuditEvent) {
        match self.0.lock() {
            Ok(mut v) => v.push(event),
            Err(poisoned) => poisoned.into_inner().push(event),
        }
    }
}

/// Parameter names whose values never enter an audit event.
const SECRET_KEYS: &[&str] = &[
    "password",
    "secret",
    "token",
    "temporaryaccesspass",
    "clientsecret",
    "refreshtoken",
];

/// `parameters` with every value under a secret-looking key replaced by `"[redacted]"`.
pub fn redact(parameters: &Value) -> Value {
    match parameters {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let lower = k.to_ascii_lowercase();
                    if SECRET_KEYS.iter().any(|s| lower.contains(s)) {
                        (k.clone(), Value::String("[redacted]".to_owned()))
                    } else {
                        (k.clone(), redact(v))
                    }
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
        other => other.clone(),
    }
}

// ---------------------------------------------------------------------------------------
// Enforcement

/// What a client acts under: the principal, the tenant groups its scopes name, and the
/// audit sink. Attach it with [`crate::Cipp::with_access_control`].
#[derive(Clone)]
#[non_exhaustive]
pub struct AccessControl {
    /// Who acts.
    pub principal: Principal,
    /// The tenant groups role scopes refer to.
    pub groups: TenantGroups,
    /// Where events go (`None`: checks only).
    pub audit: Option<Arc<dyn AuditSink>>,
}

impl fmt::Debug for AccessControl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessControl")
            .field("principal", &self.principal.name)
            .field("audited", &self.audit.is_some())
            .finish_non_exhaustive()
    }
}

impl AccessControl {
    /// Checks for `principal`, no tenant groups, no audit sink.
    pub fn new(principal: Principal) -> AccessControl {
        AccessControl {
            principal,
            groups: TenantGroups::default(),
            audit: None,
        }
    }

    /// The tenant groups scopes refer to.
    pub fn groups(mut self, groups: TenantGroups) -> AccessControl {
        self.groups = groups;
        self
    }

    /// Records events in `sink`.
    pub fn audit(mut self, sink: Arc<dyn AuditSink>) -> AccessControl {
        self.audit = Some(sink);
        self
    }
}

/// What an audited call is about.
pub(crate) struct Act<'a> {
    pub operation: &'a str,
    pub permission: &'a Permission,
    pub target: Option<&'a str>,
    pub parameters: Value,
}

impl crate::client::TenantHandle {
    /// Checks that the client's principal may use `permission` in this tenant (and that
    /// the tenant is not excluded from the fleet); a refusal is recorded in the audit trail
    /// and returned as [`Error::Forbidden`]. Without access control only the exclusion is
    /// checked.
    pub async fn authorize(&self, operation: &str, permission: &Permission) -> Result<(), Error> {
        self.authorize_act(&Act {
            operation,
            permission,
            target: None,
            parameters: Value::Null,
        })
        .await
    }

    pub(crate) async fn authorize_act(&self, act: &Act<'_>) -> Result<(), Error> {
        let mut refusal = self.refusal(act);
        // The client may know the tenant by one name only while an exclusion or a scope
        // names it by another (a domain for a GUID handle): learn its names, then decide
        // again. Only when that could change the answer: an allowed call facing an
        // exclusion of the other kind, or a call refused for its tenant scope alone.
        let learn = self.cipp().names_of(self.id()).len() == 1
            && match &refusal {
                None => self.cipp().exclusion_needs_names(self.id()),
                Some(_) => {
                    !self.cipp().is_excluded(self.id())
                        && self.cipp().access_control().is_some_and(|a| {
                            a.principal.roles.iter().any(|r| r.grants(act.permission))
                        })
                }
            };
        if learn {
            self.cipp().learn_names(self.id()).await;
            refusal = self.refusal(act);
        }
        match refusal {
            None => Ok(()),
            Some(r) => {
                self.record(
                    act,
                    AuditOutcome::Refused {
                        reason: r.reason.clone(),
                    },
                )
                .await;
                Err(r.into())
            }
        }
    }

    /// Why `act` is refused here on what the client knows, if it is.
    fn refusal(&self, act: &Act<'_>) -> Option<Refusal> {
        let tenant = self.id().as_str();
        if self.cipp().is_excluded(self.id()) {
            return Some(Refusal {
                permission: act.permission.clone(),
                tenant: Some(tenant.to_owned()),
                reason: "the tenant is excluded from the fleet".to_owned(),
                advice: "remove it from the client's exclusions (CippBuilder::exclude) to \
                         work on it",
            });
        }
        self.cipp().access_control().and_then(|a| {
            let names = self.cipp().names_of(self.id());
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            a.principal
                .check_names(act.permission, Some(&names), &a.groups)
                .err()
        })
    }

    pub(crate) async fn record(&self, act: &Act<'_>, outcome: AuditOutcome) {
        let Some(access) = self.cipp().access_control() else {
            return;
        };
        let Some(sink) = &access.audit else {
            return;
        };
        sink.record(AuditEvent {
            at: self.cipp().pipeline().clock().now(),
            principal: access.principal.name.clone(),
            operation: act.operation.to_owned(),
            permission: act.permission.to_string(),
            tenant: Some(self.id().as_str().to_owned()),
            target: act.target.map(str::to_owned),
            parameters: redact(&act.parameters),
            outcome,
        })
        .await;
    }

    /// Authorizes, runs `work`, and records the outcome (`classify` turns a success into
    /// an outcome: a report with failed steps is `Partial`).
    pub(crate) async fn audited<T>(
        &self,
        act: Act<'_>,
        classify: impl FnOnce(&T) -> AuditOutcome,
        work: impl std::future::Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        self.authorize_act(&act).await?;
        let result = work.await;
        let outcome = match &result {
            Ok(v) => classify(v),
            Err(e) => AuditOutcome::Failed {
                error: e.to_string(),
                request_id: e.request_id().map(str::to_owned),
            },
        };
        self.record(&act, outcome).await;
        result
    }
}

/// A success is a success.
pub(crate) fn succeeded<T>(_: &T) -> AuditOutcome {
    AuditOutcome::Succeeded
}

/// A report (or an outcome) with failures is partial.
pub(crate) fn by_report(r: &cipp_core::Report) -> AuditOutcome {
    by_outcome(&r.overall())
}

/// An outcome's audit outcome.
pub(crate) fn by_outcome(o: &cipp_core::Outcome) -> AuditOutcome {
    if o.is_failure() {
        AuditOutcome::Partial {
            message: o.message(),
        }
    } else {
        AuditOutcome::Succeeded
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(s: &str) -> Permission {
        Permission::parse(s).unwrap()
    }

    #[test]
    fn permissions_parse_and_print() {
        assert_eq!(
            p("Identity.User.ReadWrite"),
            Permission::IDENTITY_USER_READWRITE
        );
        assert_eq!(
            Permission::IDENTITY_USER_READ.to_string(),
            "Identity.User.Read"
        );
        for bad in [
            "Identity.User",
            "Identity.User.Write",
            "Identity..Read",
            "a.b.c.d",
            "Id entity.User.Read",
        ] {
            assert!(Permission::parse(bad).is_err(), "{bad}");
        }
        assert!(PermissionPattern::try_from("Identity.*".to_owned()).is_err());
    }

    #[test]
    fn built_in_roles_follow_cipp() {
        let g = TenantGroups::default();
        let check = |role: Role, perm: &Permission| {
            Principal::technician("t")
                .with_role(role)
                .check(perm, Some("x"), &g)
                .is_ok()
        };
        for perm in Permission::ALL {
            assert_eq!(
                check(Role::readonly(), perm),
                perm.level() == Level::Read,
                "readonly {perm}"
            );
            assert!(check(Role::superadmin(), perm), "superadmin {perm}");
        }
        assert!(!check(
            Role::editor(),
            &Permission::TENANT_RELATIONSHIP_READWRITE
        ));
        assert!(check(Role::editor(), &Permission::TENANT_RELATIONSHIP_READ));
        assert!(check(Role::editor(), &Permission::IDENTITY_USER_READWRITE));
        assert!(check(
            Role::admin(),
            &Permission::TENANT_RELATIONSHIP_READWRITE
        ));
        assert!(!check(
            Role::admin(),
            &Permission::CIPP_SUPER_ADMIN_READWRITE
        ));
    }

    #[test]
    fn tenant_scopes_groups_and_blocks() {
        let groups = TenantGroups::default().with("EU", ["fabrikam.com", "TAILSPIN.com"]);
        let role = |scope: TenantScope| {
            Principal::technician("t").with_role(Role::editor().tenants(scope))
        };
        let perm = &Permission::IDENTITY_USER_READWRITE;
        let only = role(TenantScope::only(["contoso.com"]));
        assert!(only.check(perm, Some("CONTOSO.com"), &groups).is_ok());
        let e = only.check(perm, Some("fabrikam.com"), &groups).unwrap_err();
        assert!(e.reason.contains("not among the allowed"), "{}", e.reason);
        let eu = role(TenantScope::groups(["EU"]));
        assert!(eu.check(perm, Some("tailspin.com"), &groups).is_ok());
        assert!(eu.check(perm, Some("contoso.com"), &groups).is_err());
        let not_eu = role(
            TenantScope::all()
                .block_groups(["EU"])
                .block(["northwind.com"]),
        );
        assert!(not_eu.check(perm, Some("contoso.com"), &groups).is_ok());
        assert!(not_eu
            .check(perm, Some("fabrikam.com"), &groups)
            .unwrap_err()
            .reason
            .contains("blocked group `EU`"));
        assert!(not_eu.check(perm, Some("northwind.com"), &groups).is_err());
        // A tenant named by id or by domain.
        let by_domain = role(TenantScope::only(["contoso.com"]));
        assert!(by_domain
            .check_names(
                perm,
                Some(&["1c6e1a3a-0000-4000-8000-000000000001", "contoso.com"]),
                &groups
            )
            .is_ok());
        // Two roles: the one that grants and covers wins.
        let two = Principal::technician("t")
            .with_role(Role::readonly())
            .with_role(Role::editor().tenants(TenantScope::only(["contoso.com"])));
        assert!(two.check(perm, Some("contoso.com"), &groups).is_ok());
        assert!(two.check(perm, Some("fabrikam.com"), &groups).is_err());
        assert!(two
            .check(
                &Permission::IDENTITY_USER_READ,
                Some("fabrikam.com"),
                &groups
            )
            .is_ok());
    }

    #[test]
    fn blocked_readwrite_leaves_read() {
        let role = Role::custom("r")
            .allow("*.*.*")
            .block("Identity.User.ReadWrite");
        let t = Principal::technician("t").with_role(role);
        let g = TenantGroups::default();
        assert!(t
            .check(&Permission::IDENTITY_USER_READWRITE, None, &g)
            .is_err());
        assert!(t.check(&Permission::IDENTITY_USER_READ, None, &g).is_ok());
    }

    #[test]
    fn secrets_are_redacted_at_any_depth() {
        let v = redact(
            &json!({"user": "a", "password": "p", "nested": [{"clientSecret": "s", "x": 1}]}),
        );
        assert_eq!(
            v,
            json!({"user": "a", "password": "[redacted]", "nested": [{"clientSecret": "[redacted]", "x": 1}]})
        );
    }

    #[test]
    fn roles_round_trip_through_json_and_refuse_bad_patterns() {
        let role = Role::editor().tenants(TenantScope::only(["contoso.com"]));
        let json = serde_json::to_value(&role).unwrap();
        assert_eq!(serde_json::from_value::<Role>(json).unwrap(), role);
        let bad = json!({"name": "x", "allow": ["Identity.User"], "block": [], "tenants": {"allowedGroups": [], "blocked": [], "blockedGroups": []}});
        assert!(serde_json::from_value::<Role>(bad).is_err());
    }
}
