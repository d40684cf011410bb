//! The test kit: seed a simulator with exactly the tenants, users, groups, licences,
//! mailboxes, policies and audit events a test needs — from code ([`SimBuilder`]) or from
//! a JSON file ([`SimBuilder::seed_json`]) — and get credentials that work on it.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use std::sync::Arc;
//! use cipp_core::{ApiRequest, Audience, Pipeline, TenantId};
//! use cipp_sim::kit::{GroupSeed, Licence, TenantSeed, UserSeed};
//! use cipp_sim::Simulator;
//!
//! const E3: &str = "6fd2c87f-b296-42f0-b197-1e91e994b900";
//! let sim = Simulator::builder()
//!     .tenant(
//!         TenantSeed::new("contoso.onmicrosoft.com", "Contoso")
//!             .domain("contoso.com")
//!             .licence(Licence::new(E3, "ENTERPRISEPACK", 5))
//!             .user(UserSeed::new("adele@contoso.com", "Adele Vance").licence(E3))
//!             .user(UserSeed::new("ben@contoso.com", "Ben Walters").disabled())
//!             .group(GroupSeed::security("Sales").member("adele@contoso.com")),
//!     )
//!     .build();
//! let p = Pipeline::builder().transport(Arc::new(sim.clone()))
//!     .credentials(sim.client_credentials()).build().unwrap();
//! let t = TenantId::parse("contoso.com").unwrap();
//! let page: serde_json::Value = p
//!     .send_json(ApiRequest::get(t, Audience::Graph, "/v1.0/users/adele@contoso.com/memberOf"))
//!     .await.unwrap();
//! assert_eq!(page["value"][0]["displayName"], "Sales");
//! # }
//! ```

use std::fmt;
use std::sync::Arc;

use cipp_core::{Clock, Credentials, SecretString, SystemClock};
use serde_json::{json, Map, Value};

use crate::faults::{FaultRule, LatencyRule};
use crate::state::{mailbox_for, paths, synthetic_guid, user_json, Area, SimApp, SimTenant};
use crate::Simulator;

/// The kit application's client id (consented in every seeded tenant).
pub const CLIENT_ID: &str = "c1a55e7d-5eed-4c1a-9d0e-000000000c1d";
/// The kit application's secret (only valid in the simulator).
pub const CLIENT_SECRET: &str = "kit-client-secret";
/// The kit partner's refresh token (valid when a partner tenant is seeded).
pub const REFRESH_TOKEN: &str = "kit-partner-refresh-token";

/// A seed that could not be read; says where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeedError {
    /// Where in the seed (`tenants[0].users[2].userPrincipalName`).
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for SeedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "seed {}: {}", self.path, self.message)
    }
}

impl std::error::Error for SeedError {}

fn seed_err(path: impl Into<String>, message: impl Into<String>) -> SeedError {
    SeedError {
        path: path.into(),
        message: message.into(),
    }
}

/// Builder methods that add their argument (converted by the method named in
/// parentheses, when there is one) to one of the builder's lists.
macro_rules! adders {
    ($($(#[$doc:meta])* $name:ident($arg:ident: $ty:ty) => $list:ident $(($conv:ident))?;)+) => {$(
        $(#[$doc])*
        pub fn $name(mut self, $arg: $ty) -> Self {
            self.$list.push($arg$(.$conv())?);
            self
        }
    )+};
}

/// A user to seed.
#[derive(Clone, Debug)]
pub struct UserSeed {
    user: Value,
    licences: Vec<String>,
    roles: Vec<String>,
    methods: Vec<Value>,
}

impl UserSeed {
    adders! {
        /// Assigns a licence (the SKU must be seeded in the tenant; it consumes a seat).
        licence(sku_id: &str) => licences(to_ascii_lowercase);
        /// Makes the user a member of a directory role (by role template id).
        role(template_id: &str) => roles(to_ascii_lowercase);
        /// Registers an authentication method (Graph JSON with `@odata.type`).
        auth_method(method: Value) => methods;
    }

    /// An enabled member user; the id is derived from the UPN.
    pub fn new(upn: &str, display_name: &str) -> Self {
        UserSeed::from_json(user_json(display_name, upn, "", true))
    }

    /// Any Graph user object (an `id` is derived from the UPN when missing).
    pub fn from_json(mut user: Value) -> Self {
        let upn = user["userPrincipalName"]
            .as_str()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if user.get("id").is_none() {
            user["id"] = json!(synthetic_guid(&upn));
        }
        UserSeed {
            user,
            licences: Vec::new(),
            roles: Vec::new(),
            methods: Vec::new(),
        }
    }

    /// Sign-in blocked.
    pub fn disabled(mut self) -> Self {
        self.user["accountEnabled"] = json!(false);
        self
    }

    /// Synchronised from on-premises (password resets go through writeback).
    pub fn synced(mut self) -> Self {
        self.user["onPremisesSyncEnabled"] = json!(true);
        self
    }

    /// Sets any property.
    pub fn property(mut self, name: &str, value: Value) -> Self {
        self.user[name] = value;
        self
    }

    fn id(&self) -> String {
        self.user["id"].as_str().unwrap_or_default().to_owned()
    }
}

/// A group to seed.
#[derive(Clone, Debug)]
pub struct GroupSeed {
    group: Value,
    members: Vec<String>,
    owners: Vec<String>,
}

impl GroupSeed {
    adders! {
        /// Adds a member (UPN or object id of a seeded user or group).
        member(who: &str) => members(to_owned);
        /// Adds an owner (UPN or object id).
        owner(who: &str) => owners(to_owned);
    }

    fn new(name: &str, types: Value, mail: bool, security: bool) -> Self {
        let nick: String = name
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_ascii_lowercase();
        GroupSeed {
            group: json!({"id": synthetic_guid(&format!("group-{name}")), "displayName": name,
                "mailNickname": nick, "groupTypes": types, "mailEnabled": mail,
                "securityEnabled": security, "createdDateTime": "2024-01-01T00:00:00Z"}),
            members: Vec::new(),
            owners: Vec::new(),
        }
    }

    /// A security group (membership through Graph).
    pub fn security(name: &str) -> Self {
        GroupSeed::new(name, json!([]), false, true)
    }

    /// A Microsoft 365 group.
    pub fn microsoft365(name: &str) -> Self {
        GroupSeed::new(name, json!(["Unified"]), true, false)
    }

    /// A distribution list (membership through Exchange; Graph refuses it).
    pub fn distribution(name: &str, mail: &str) -> Self {
        let mut g = GroupSeed::new(name, json!([]), true, false);
        g.group["mail"] = json!(mail);
        g
    }

    /// A dynamic security group with this membership rule.
    pub fn dynamic(name: &str, rule: &str) -> Self {
        let mut g = GroupSeed::new(name, json!(["DynamicMembership"]), false, true);
        g.group["membershipRule"] = json!(rule);
        g.group["membershipRuleProcessingState"] = json!("On");
        g
    }

    /// Any Graph group object (an `id` is derived from the name when missing); `members`
    /// and `owners` (UPNs or ids) become relationships.
    pub fn from_json(mut group: Value) -> Self {
        let members = strings(group.get("members"));
        let owners = strings(group.get("owners"));
        if let Value::Object(m) = &mut group {
            m.remove("members");
            m.remove("owners");
        }
        if group.get("id").is_none() {
            let name = group["displayName"].as_str().unwrap_or_default().to_owned();
            group["id"] = json!(synthetic_guid(&format!("group-{name}")));
        }
        GroupSeed {
            group,
            members,
            owners,
        }
    }

    /// Sets any property.
    pub fn property(mut self, name: &str, value: Value) -> Self {
        self.group[name] = value;
        self
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// A subscribed SKU to seed.
#[derive(Clone, Debug)]
pub struct Licence {
    sku: Value,
}

impl Licence {
    /// A SKU with this many seats and no service plans.
    pub fn new(sku_id: &str, part_number: &str, seats: i64) -> Self {
        Licence {
            sku: json!({"skuId": sku_id.to_ascii_lowercase(), "skuPartNumber": part_number,
                "capabilityStatus": "Enabled", "consumedUnits": 0, "appliesTo": "User",
                "prepaidUnits": {"enabled": seats, "suspended": 0, "warning": 0}, "servicePlans": []}),
        }
    }

    /// Adds a service plan (`INTUNE_A`, `AAD_PREMIUM`…).
    pub fn plan(mut self, id: &str, name: &str) -> Self {
        if let Some(plans) = self.sku["servicePlans"].as_array_mut() {
            plans.push(json!({"servicePlanId": id, "servicePlanName": name,
                "provisioningStatus": "Success", "appliesTo": "User"}));
        }
        self
    }

    /// Any `subscribedSku` object.
    pub fn from_json(sku: Value) -> Self {
        Licence { sku }
    }
}

/// A tenant to seed.
#[derive(Clone, Debug)]
pub struct TenantSeed {
    tenant: SimTenant,
    users: Vec<UserSeed>,
    groups: Vec<GroupSeed>,
    licences: Vec<Licence>,
    mailboxes: Vec<Value>,
    all_mailboxes: bool,
    collections: Vec<(Area, String, Value)>,
    audits: Vec<Value>,
    sign_ins: Vec<Value>,
    inbox_rules: Vec<(String, Value)>,
    security_defaults: bool,
}

impl TenantSeed {
    adders! {
        /// Adds a user.
        user(user: UserSeed) => users;
        /// Adds a group.
        group(group: GroupSeed) => groups;
        /// Adds a subscribed SKU.
        licence(licence: Licence) => licences;
        /// Adds a directory audit record (`auditLogs/directoryAudits` JSON).
        audit_event(event: Value) => audits;
        /// Adds a sign-in record (`auditLogs/signIns` JSON).
        sign_in(sign_in: Value) => sign_ins;
    }

    /// A tenant with its initial `*.onmicrosoft.com` domain; the id is derived from it.
    pub fn new(initial_domain: &str, display_name: &str) -> Self {
        let id = synthetic_guid(&initial_domain.to_ascii_lowercase());
        TenantSeed {
            tenant: SimTenant::new(&id, display_name, initial_domain),
            users: Vec::new(),
            groups: Vec::new(),
            licences: Vec::new(),
            mailboxes: Vec::new(),
            all_mailboxes: true,
            collections: Vec::new(),
            audits: Vec::new(),
            sign_ins: Vec::new(),
            inbox_rules: Vec::new(),
            security_defaults: true,
        }
    }

    /// Uses this tenant GUID.
    pub fn id(mut self, guid: &str) -> Self {
        self.tenant.id = guid.to_ascii_lowercase();
        self
    }

    /// Adds a verified custom domain and makes it the default.
    pub fn domain(mut self, domain: &str) -> Self {
        self.tenant = self.tenant.with_default_domain(domain);
        self
    }

    /// Adds a mailbox (`Get-Mailbox` JSON with at least `UserPrincipalName`; shared and
    /// room mailboxes through `RecipientTypeDetails`). When any mailbox is seeded, users
    /// get no mailbox of their own unless [`TenantSeed::user_mailboxes`] says so.
    pub fn mailbox(mut self, mailbox: Value) -> Self {
        self.mailboxes.push(mailbox);
        self.all_mailboxes = false;
        self
    }

    /// Whether every user gets a mailbox (the default).
    pub fn user_mailboxes(mut self, on: bool) -> Self {
        self.all_mailboxes = on;
        self
    }

    /// Adds an Exchange inbox rule (`Get-InboxRule` JSON) to a user's mailbox.
    pub fn inbox_rule(mut self, upn: &str, rule: Value) -> Self {
        self.inbox_rules.push((upn.to_ascii_lowercase(), rule));
        self
    }

    /// Adds an item to the collection at `path` (any case) of an area.
    fn collection(mut self, area: Area, path: &str, item: Value) -> Self {
        self.collections
            .push((area, path.to_ascii_lowercase(), item));
        self
    }

    /// Adds a Conditional Access policy (security defaults are switched off).
    pub fn ca_policy(mut self, policy: Value) -> Self {
        self.security_defaults = false;
        self.collection(Area::ConditionalAccess, paths::CA_POLICIES, policy)
    }

    /// Adds a named location.
    pub fn named_location(self, location: Value) -> Self {
        self.collection(Area::ConditionalAccess, paths::NAMED_LOCATIONS, location)
    }

    /// Adds an Intune object to a collection (`deviceManagement/deviceConfigurations`,
    /// `deviceManagement/managedDevices`…).
    pub fn intune(self, path: &str, item: Value) -> Self {
        self.collection(Area::Intune, path, item)
    }

    /// Adds an item to a directory collection (`servicePrincipals`,
    /// `oauth2PermissionGrants`…).
    pub fn directory(self, path: &str, item: Value) -> Self {
        self.collection(Area::Directory, path, item)
    }

    /// Builds the tenant; member, owner and licence references must name seeded objects.
    fn build(self, strict: bool) -> Result<SimTenant, SeedError> {
        let TenantSeed {
            mut tenant,
            users,
            groups,
            licences,
            mailboxes,
            all_mailboxes,
            collections,
            audits,
            sign_ins,
            inbox_rules,
            security_defaults,
        } = self;
        let name = tenant.display_name.clone();
        for l in licences {
            let mut sku = l.sku;
            if sku.get("id").is_none() {
                sku["id"] = json!(format!(
                    "{}_{}",
                    tenant.id,
                    sku["skuId"].as_str().unwrap_or_default()
                ));
            }
            tenant.directory.store.get_mut(paths::SKUS).insert(sku);
        }
        for u in &users {
            let id = u.id();
            let mut user = u.user.clone();
            let mut assigned = Vec::new();
            for sku in &u.licences {
                let skus = tenant.directory.store.get_mut(paths::SKUS);
                let Some(s) = skus.iter_mut().find(|s| {
                    s["skuId"]
                        .as_str()
                        .is_some_and(|x| x.eq_ignore_ascii_case(sku))
                }) else {
                    if strict {
                        return Err(seed_err(
                            format!("{name}.users[{id}].licences"),
                            format!("no SKU {sku} in the tenant"),
                        ));
                    }
                    continue;
                };
                s["consumedUnits"] = json!(s["consumedUnits"].as_i64().unwrap_or(0) + 1);
                assigned.push(json!({"skuId": sku, "disabledPlans": []}));
            }
            if !assigned.is_empty() {
                user["assignedLicenses"] = Value::Array(assigned);
            }
            for r in &u.roles {
                tenant
                    .directory
                    .roles
                    .entry(r.clone())
                    .or_default()
                    .push(id.clone());
            }
            if !u.methods.is_empty() {
                tenant
                    .auth
                    .methods
                    .entry(id.clone())
                    .or_default()
                    .extend(u.methods.iter().cloned());
            }
            tenant.add_user(user);
        }
        for g in &groups {
            let id = tenant.add_group(g.group.clone());
            let resolve = |who: &String, what: &str| -> Result<String, SeedError> {
                tenant
                    .directory
                    .user_id(who)
                    .or_else(|| {
                        groups
                            .iter()
                            .map(|x| &x.group)
                            .find(|x| {
                                x["id"].as_str() == Some(who.as_str())
                                    || x["displayName"].as_str() == Some(who.as_str())
                            })
                            .and_then(|x| x["id"].as_str().map(str::to_owned))
                    })
                    .ok_or_else(|| {
                        seed_err(
                            format!("{name}.groups[{}].{what}", g.group["displayName"]),
                            format!("no user or group `{who}`"),
                        )
                    })
            };
            let mut members = Vec::new();
            let mut owners = Vec::new();
            for (list, out, what) in [
                (&g.members, &mut members, "members"),
                (&g.owners, &mut owners, "owners"),
            ] {
                for who in list {
                    match resolve(who, what) {
                        Ok(id) => out.push(id),
                        Err(e) if strict => return Err(e),
                        Err(_) => {}
                    }
                }
            }
            tenant.directory.members.insert(id.clone(), members);
            tenant.directory.owners.insert(id, owners);
        }
        if all_mailboxes {
            let users = tenant.users().to_vec();
            let domain = tenant.initial_domain().to_owned();
            for u in &users {
                if let Some(m) = mailbox_for(u, &domain) {
                    tenant.exchange.add_mailbox(m);
                }
            }
        }
        for m in mailboxes {
            let upn = m["UserPrincipalName"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if upn.is_empty() {
                return Err(seed_err(
                    format!("{name}.mailboxes"),
                    "a mailbox needs UserPrincipalName",
                ));
            }
            // Start from the defaults of a mailbox, so that only differences are needed.
            let base = json!({"userPrincipalName": upn, "displayName": m["DisplayName"].as_str().unwrap_or(&upn), "id": synthetic_guid(&upn.to_ascii_lowercase())});
            let mut full = mailbox_for(&base, tenant.initial_domain()).unwrap_or(json!({}));
            if let (Value::Object(f), Value::Object(given)) = (&mut full, m) {
                f.extend(given);
            }
            tenant.exchange.add_mailbox(full);
        }
        for (upn, rule) in inbox_rules {
            tenant
                .exchange
                .inbox_rules
                .entry(upn)
                .or_default()
                .push(rule);
        }
        for (area, path, mut item) in collections {
            if item.get("id").is_none() {
                let n = tenant.next_seq();
                item["id"] = json!(synthetic_guid(&format!("{}-{path}-{n}", tenant.id)));
            }
            crate::graph::collection::store_mut(&mut tenant, area)
                .get_mut(&path)
                .insert(item);
        }
        tenant.conditional_access.security_defaults_disabled = !security_defaults;
        tenant.logs.directory_audits.extend(audits);
        tenant.logs.sign_ins.extend(sign_ins);
        Ok(tenant)
    }
}

/// Builds a [`Simulator`] from seeds. Every seeded tenant consents to the kit application
/// ([`Simulator::client_credentials`]); a partner tenant ([`SimBuilder::partner`]) holds
/// GDAP customers and a refresh token ([`Simulator::partner_credentials`]).
#[derive(Default)]
pub struct SimBuilder {
    clock: Option<Arc<dyn Clock>>,
    tenants: Vec<TenantSeed>,
    partner: Option<TenantSeed>,
    faults: Vec<FaultRule>,
    latency: Vec<LatencyRule>,
}

impl fmt::Debug for SimBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimBuilder")
            .field("tenants", &self.tenants.len())
            .field("partner", &self.partner.is_some())
            .finish_non_exhaustive()
    }
}

impl SimBuilder {
    adders! {
        /// Adds a customer tenant.
        tenant(tenant: TenantSeed) => tenants;
        /// Adds a fault rule (per route, cmdlet or tenant: see [`FaultRule`]).
        fault(rule: FaultRule) => faults;
        /// Adds latency for some requests (see [`LatencyRule`]).
        latency(rule: LatencyRule) => latency;
    }

    /// An empty builder.
    pub fn new() -> Self {
        SimBuilder::default()
    }

    /// Uses `clock` for the request log, timestamps and audit records.
    pub fn clock(self, clock: Arc<dyn Clock>) -> Self {
        let clock = Some(clock);
        SimBuilder { clock, ..self }
    }

    /// Sets the partner tenant: every other tenant becomes its GDAP customer, reachable
    /// with [`Simulator::partner_credentials`].
    pub fn partner(self, tenant: TenantSeed) -> Self {
        let partner = Some(tenant);
        SimBuilder { partner, ..self }
    }

    /// Adds the tenants of a JSON seed:
    ///
    /// ```json
    /// {"tenants": [{
    ///    "displayName": "Contoso", "domains": ["contoso.onmicrosoft.com", "contoso.com"],
    ///    "id": "optional GUID", "partner": false,
    ///    "subscribedSkus": [{"skuId": "…", "skuPartNumber": "ENTERPRISEPACK", "prepaidUnits": {"enabled": 5}}],
    ///    "users": [{"userPrincipalName": "adele@contoso.com", "displayName": "Adele",
    ///               "licences": ["skuId"], "roles": ["roleTemplateId"], "authenticationMethods": []}],
    ///    "groups": [{"displayName": "Sales", "securityEnabled": true, "members": ["adele@contoso.com"]}],
    ///    "mailboxes": [{"UserPrincipalName": "info@contoso.com", "RecipientTypeDetails": "SharedMailbox"}],
    ///    "conditionalAccessPolicies": [], "namedLocations": [],
    ///    "directoryAudits": [], "signIns": [],
    ///    "collections": {"deviceManagement/deviceConfigurations": []}
    /// }]}
    /// ```
    ///
    /// Errors say which entry is wrong; nothing is added then.
    pub fn seed_json(mut self, json: &str) -> Result<Self, SeedError> {
        let v: Value =
            serde_json::from_str(json).map_err(|e| seed_err("$", format!("not JSON: {e}")))?;
        let tenants = v["tenants"]
            .as_array()
            .ok_or_else(|| seed_err("tenants", "an array of tenants is required"))?;
        for (i, t) in tenants.iter().enumerate() {
            let seed = tenant_from_json(t, &format!("tenants[{i}]"))?;
            if t["partner"] == json!(true) {
                self.partner = Some(seed);
            } else {
                self.tenants.push(seed);
            }
        }
        Ok(self)
    }

    /// Builds the simulator, or says which seed reference is wrong.
    pub fn try_build(self) -> Result<Simulator, SeedError> {
        self.assemble(true)
    }

    /// Builds the simulator. A seed reference that names nothing (a member, a licence) is
    /// left out; use [`SimBuilder::try_build`] to be told instead.
    pub fn build(self) -> Simulator {
        // Not strict: references are skipped, so nothing fails.
        self.assemble(false).unwrap_or_default()
    }

    fn assemble(self, strict: bool) -> Result<Simulator, SeedError> {
        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let sim = Simulator::with_clock(clock);
        let mut tenants = Vec::new();
        for t in self.tenants {
            tenants.push(t.build(strict)?);
        }
        let partner = self.partner.map(|p| p.build(strict)).transpose()?;
        let mut st = sim.lock_state();
        let mut ids: Vec<String> = tenants.iter().map(|t| t.id.clone()).collect();
        if let Some(mut p) = partner {
            p.gdap.customers = ids.clone();
            st.refresh_tokens
                .insert(REFRESH_TOKEN.to_owned(), p.id.clone());
            ids.push(p.id.clone());
            st.tenants.insert(p.id.clone(), p);
        }
        let home = ids.first().cloned().unwrap_or_default();
        st.apps.insert(
            CLIENT_ID.to_owned(),
            SimApp {
                client_id: CLIENT_ID.to_owned(),
                secret: CLIENT_SECRET.to_owned(),
                home_tenant: home,
                consented: ids,
            },
        );
        for t in tenants {
            st.tenants.insert(t.id.clone(), t);
        }
        drop(st);
        for f in self.faults {
            sim.add_fault(f);
        }
        for l in self.latency {
            sim.add_latency(l);
        }
        Ok(sim)
    }
}

fn tenant_from_json(t: &Value, at: &str) -> Result<TenantSeed, SeedError> {
    let domains = strings(t.get("domains"));
    let Some(initial) = domains
        .iter()
        .find(|d| d.to_ascii_lowercase().ends_with(".onmicrosoft.com"))
        .or(domains.first())
    else {
        return Err(seed_err(
            format!("{at}.domains"),
            "at least one domain is required",
        ));
    };
    let name = t["displayName"].as_str().unwrap_or(initial);
    let mut seed = TenantSeed::new(initial, name);
    if let Some(id) = t["id"].as_str() {
        seed = seed.id(id);
    }
    for d in domains.iter().filter(|d| *d != initial) {
        seed = seed.domain(d);
    }
    if let Some(d) = t["defaultDomain"].as_str() {
        seed = seed.domain(d);
    }
    let list = |k: &str| t[k].as_array().cloned().unwrap_or_default();
    for s in list("subscribedSkus") {
        if s["skuId"].as_str().is_none() {
            return Err(seed_err(
                format!("{at}.subscribedSkus"),
                "skuId is required",
            ));
        }
        let mut sku = Licence::new(
            s["skuId"].as_str().unwrap_or_default(),
            s["skuPartNumber"].as_str().unwrap_or_default(),
            0,
        )
        .sku;
        if let (Value::Object(base), Value::Object(given)) = (&mut sku, s) {
            base.extend(given);
        }
        seed = seed.licence(Licence::from_json(sku));
    }
    for (i, u) in list("users").into_iter().enumerate() {
        let Some(upn) = u["userPrincipalName"].as_str().map(str::to_owned) else {
            return Err(seed_err(
                format!("{at}.users[{i}].userPrincipalName"),
                "required",
            ));
        };
        let display = u["displayName"].as_str().unwrap_or(&upn).to_owned();
        let mut user = UserSeed::new(&upn, &display);
        let mut extra: Map<String, Value> = u.as_object().cloned().unwrap_or_default();
        for l in strings(extra.get("licences")) {
            user = user.licence(&l);
        }
        for r in strings(extra.get("roles")) {
            user = user.role(&r);
        }
        for m in extra
            .get("authenticationMethods")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
        {
            user = user.auth_method(m);
        }
        for k in ["licences", "roles", "authenticationMethods"] {
            extra.remove(k);
        }
        if let Value::Object(base) = &mut user.user {
            base.extend(extra);
        }
        seed = seed.user(user);
    }
    for (i, g) in list("groups").into_iter().enumerate() {
        if g["displayName"].as_str().is_none() {
            return Err(seed_err(
                format!("{at}.groups[{i}].displayName"),
                "required",
            ));
        }
        let mut base = GroupSeed::security(g["displayName"].as_str().unwrap_or_default()).group;
        if let (Value::Object(b), Value::Object(given)) = (&mut base, g) {
            b.extend(given);
        }
        seed = seed.group(GroupSeed::from_json(base));
    }
    for m in list("mailboxes") {
        seed = seed.mailbox(m);
    }
    if t.get("mailboxes").is_some() && t["userMailboxes"] == json!(true) {
        seed = seed.user_mailboxes(true);
    }
    for p in list("conditionalAccessPolicies") {
        seed = seed.ca_policy(p);
    }
    for l in list("namedLocations") {
        seed = seed.named_location(l);
    }
    for a in list("directoryAudits") {
        seed = seed.audit_event(a);
    }
    for s in list("signIns") {
        seed = seed.sign_in(s);
    }
    if let Some(colls) = t["collections"].as_object() {
        for (path, items) in colls {
            let lower = path.to_ascii_lowercase();
            for item in items.as_array().cloned().unwrap_or_default() {
                seed = if lower.starts_with("devicemanagement/")
                    || lower.starts_with("deviceappmanagement/")
                {
                    seed.intune(&lower, item)
                } else if lower.starts_with("identity/conditionalaccess/") {
                    seed.collections
                        .push((Area::ConditionalAccess, lower.clone(), item));
                    seed
                } else {
                    seed.directory(&lower, item)
                };
            }
        }
    }
    Ok(seed)
}

impl Simulator {
    /// A builder for a simulator seeded from code or JSON (see [`crate::kit`]).
    pub fn builder() -> SimBuilder {
        SimBuilder::new()
    }

    /// Client credentials of the kit application, consented in every seeded tenant.
    pub fn client_credentials(&self) -> Credentials {
        Credentials::ClientSecret {
            client_id: CLIENT_ID.to_owned(),
            secret: SecretString::from(CLIENT_SECRET),
        }
    }

    /// The kit partner's refresh-token credentials (for the partner and its customers).
    pub fn partner_credentials(&self) -> Credentials {
        Credentials::PartnerRefreshToken {
            client_id: CLIENT_ID.to_owned(),
            secret: SecretString::from(CLIENT_SECRET),
            refresh_token: SecretString::from(REFRESH_TOKEN),
        }
    }
}
