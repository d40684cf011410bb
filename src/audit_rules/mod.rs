//! CIPP's audit-log alert rules as pure logic: what a rule is, how CIPP stores it, and which
//! audit records it matches. No I/O: fetching records (Graph audit-log queries) and running
//! the actions (mail, PSA, webhook, disable user, BEC remediation) are the caller's.
//!
//! A [`Rule`] says for which tenants and log ([`LogType`]) it holds, which [`Condition`]s
//! every matching record meets (all of them: AND), and which [`RuleAction`]s follow. Rules
//! come from our own JSON shape (serde, camelCase) or from a row of CIPP's `WebhookRules`
//! table ([`Rule::from_cipp`]); CIPP's 21 templates are in [`presets`].
//!
//! [`evaluate`] first adds CIPP's derived properties to each record ([`enrich`]: parameters,
//! modified properties, forwarding targets, and the client IP's country / proxy / hosting
//! flags from the caller's [`IpInfo`]), then returns one [`Match`] per matching record, at
//! most one per record `Id`.
//!
//! ```
//! use cipp::audit_rules::{evaluate, presets, IpDetails, StaticIpInfo};
//! use serde_json::json;
//!
//! let rule = presets::get("New-InboxRuleForward").expect("a CIPP preset").rule;
//! let record = json!({
//!     "CreationTime": "2024-05-02T09:14:22", "Id": "6f1c2a4e-0b7d-4c55-9a39-1d2b3c4d5e6f",
//!     "Operation": "New-InboxRule", "Workload": "Exchange", "UserId": "meganb@contoso.com",
//!     "ClientIP": "203.0.113.7:51234",
//!     "Parameters": [{"Name": "Name", "Value": "."}, {"Name": "ForwardTo", "Value": "eve@evil.example"}]
//! });
//! let ip = StaticIpInfo::new().with("203.0.113.7".parse().unwrap(), IpDetails::new("NL"));
//! let matches = evaluate(&rule, &[record], &ip);
//! assert_eq!(matches.len(), 1);
//! assert_eq!(matches[0].user.as_deref(), Some("meganb@contoso.com"));
//! assert_eq!(matches[0].record["CIPPForwardingAddress"][0], "eve@evil.example");
//! ```

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub mod conditions;
mod enrich;
pub mod presets;
mod stored;

pub use conditions::{wildcard_match, Condition, Operator, PropertyPath};
pub use enrich::{
    enrich, IpDetails, IpInfo, NoIpInfo, StaticIpInfo, IGNORED_EXTENDED_PROPERTY_VALUES,
};

use conditions::get_key;

/// An audit-log alert rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Rule {
    /// Identifier (CIPP's `RowKey`, or a preset's key).
    pub id: String,
    /// A name for people (a preset's name; for rules read from CIPP, its clause text).
    #[serde(default)]
    pub name: String,
    /// The tenants the rule is for.
    #[serde(default)]
    pub tenants: RuleTenants,
    /// The log the rule reads.
    pub log_type: LogType,
    /// Conditions that must all hold. A rule without conditions matches nothing (CIPP
    /// skips it rather than alert on every record).
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// What to do with each matching record.
    #[serde(default)]
    pub actions: Vec<RuleAction>,
    /// CIPP's `AlertComment`, shown with the alert.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// CIPP's `CustomSubject` for the alert's title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

impl Rule {
    /// A rule for all tenants, without actions, comment or subject.
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        log_type: LogType,
        conditions: Vec<Condition>,
    ) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            tenants: RuleTenants::default(),
            log_type,
            conditions,
            actions: Vec::new(),
            comment: None,
            subject: None,
        }
    }

    /// Sets the tenants.
    pub fn with_tenants(mut self, tenants: RuleTenants) -> Self {
        self.tenants = tenants;
        self
    }

    /// Sets the actions.
    pub fn with_actions(mut self, actions: Vec<RuleAction>) -> Self {
        self.actions = actions;
        self
    }

    /// Sets the alert comment.
    pub fn with_comment(mut self, comment: impl Into<String>) -> Self {
        self.comment = Some(comment.into());
        self
    }

    /// Sets the alert subject.
    pub fn with_subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// Reads a row of CIPP's `WebhookRules` table (as the table API or an export returns
    /// it): `RowKey`, `Tenants` and `excludedTenants` (JSON text of `[{value, label, type}]`),
    /// `Conditions` (JSON text of `[{Property{label}, Operator{value}, Input{value}}]`),
    /// `Actions` (JSON text of `[{value, label}]`), `type` (`Audit.Exchange`, …),
    /// `AlertComment`, `CustomSubject`. The JSON fields may also be given parsed.
    ///
    /// As in CIPP, conditions whose input is empty are left out, and a tenant entry
    /// `AllTenants` means all tenants. Unknown operators, actions and log types, invalid
    /// property names and invalid regular expressions are errors that name them.
    pub fn from_cipp(row: &Value) -> Result<Self, RuleError> {
        stored::from_cipp(row)
    }

    /// Whether the rule matches one enriched record (see [`enrich`]): the record is of the
    /// rule's log, has location data when a condition reads `CIPPGeoLocation` (as in CIPP),
    /// and meets every condition.
    pub fn matches(&self, enriched: &Value) -> bool {
        if self.conditions.is_empty() {
            return false;
        }
        if let Some(workload) = enriched
            .as_object()
            .and_then(|o| get_key(o, "Workload"))
            .and_then(Value::as_str)
        {
            if !self.log_type.accepts_workload(workload) {
                return false;
            }
        }
        let needs_location = self.conditions.iter().any(|c| {
            c.property()
                .as_str()
                .eq_ignore_ascii_case("CIPPGeoLocation")
        });
        if needs_location {
            let has = enriched
                .as_object()
                .and_then(|o| get_key(o, "HasLocationData"))
                .and_then(Value::as_bool)
                .unwrap_or(false);
            if !has {
                return false;
            }
        }
        self.conditions.iter().all(|c| c.holds(enriched))
    }

    /// The conditions as one line: `Operation eq New-InboxRule and ForwardTo like *@*`.
    pub fn clause(&self) -> String {
        self.conditions
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" and ")
    }
}

/// The tenants a rule is for: some or all, minus exclusions.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RuleTenants {
    /// The tenants included.
    #[serde(default)]
    pub include: TenantSelection,
    /// Tenants (or tenant groups) left out, even when included.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<TenantRef>,
}

impl RuleTenants {
    /// All tenants.
    pub fn all() -> Self {
        Self::default()
    }

    /// The listed tenants or groups.
    pub fn listed(tenants: Vec<TenantRef>) -> Self {
        Self {
            include: TenantSelection::Listed(tenants),
            exclude: Vec::new(),
        }
    }

    /// Leaves these tenants or groups out.
    pub fn excluding(mut self, exclude: Vec<TenantRef>) -> Self {
        self.exclude = exclude;
        self
    }

    /// Whether the rule is for `tenant` (compared ignoring case with the tenant names of
    /// the rule; CIPP stores default domain names), which belongs to the tenant groups with
    /// the ids `tenant_groups`.
    pub fn applies_to(&self, tenant: &str, tenant_groups: &[&str]) -> bool {
        let hit = |r: &TenantRef| match r {
            TenantRef::Tenant(t) => t.eq_ignore_ascii_case(tenant),
            TenantRef::Group(g) => tenant_groups.iter().any(|x| x.eq_ignore_ascii_case(g)),
        };
        if self.exclude.iter().any(hit) {
            return false;
        }
        match &self.include {
            TenantSelection::All => true,
            TenantSelection::Listed(list) => list.iter().any(hit),
        }
    }
}

/// Which tenants are included.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum TenantSelection {
    /// Every tenant (CIPP's `AllTenants`).
    #[default]
    All,
    /// Only these.
    Listed(Vec<TenantRef>),
}

/// A tenant, or a CIPP tenant group.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum TenantRef {
    /// A tenant by default domain name (or id).
    Tenant(String),
    /// A tenant group by id.
    Group(String),
}

/// The audit log a rule reads (CIPP's `type`, the Management Activity API's content type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
#[non_exhaustive]
pub enum LogType {
    /// `Audit.AzureActiveDirectory`: sign-ins and directory changes.
    AzureActiveDirectory,
    /// `Audit.Exchange`: mailbox and Exchange admin operations.
    Exchange,
    /// `Audit.SharePoint`: SharePoint and OneDrive.
    SharePoint,
    /// `Audit.General`: every other workload.
    General,
}

impl LogType {
    /// CIPP's name (`Audit.Exchange`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            LogType::AzureActiveDirectory => "Audit.AzureActiveDirectory",
            LogType::Exchange => "Audit.Exchange",
            LogType::SharePoint => "Audit.SharePoint",
            LogType::General => "Audit.General",
        }
    }

    /// Whether a record of `workload` (the record's `Workload`) is in this log. `General`
    /// takes every workload. (CIPP's current engine does not filter by log; records of
    /// another workload cannot match a rule here, so an Exchange rule on `UserId` does not
    /// fire on sign-ins.)
    pub fn accepts_workload(self, workload: &str) -> bool {
        match self {
            LogType::AzureActiveDirectory => workload.eq_ignore_ascii_case("AzureActiveDirectory"),
            LogType::Exchange => workload.eq_ignore_ascii_case("Exchange"),
            LogType::SharePoint => {
                workload.eq_ignore_ascii_case("SharePoint")
                    || workload.eq_ignore_ascii_case("OneDrive")
            }
            LogType::General => true,
        }
    }
}

impl FromStr for LogType {
    type Err = RuleError;
    /// Parses `Audit.Exchange` (or `Exchange`), ignoring case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let short = t
            .get(..6)
            .filter(|p| p.eq_ignore_ascii_case("audit."))
            .map_or(t, |_| &t[6..]);
        [
            LogType::AzureActiveDirectory,
            LogType::Exchange,
            LogType::SharePoint,
            LogType::General,
        ]
        .into_iter()
        .find(|l| l.as_str()[6..].eq_ignore_ascii_case(short))
        .ok_or_else(|| RuleError::UnknownLogType {
            log_type: s.to_owned(),
        })
    }
}

impl TryFrom<String> for LogType {
    type Error = RuleError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<LogType> for String {
    fn from(l: LogType) -> Self {
        l.as_str().to_owned()
    }
}

impl fmt::Display for LogType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What CIPP does with a matching record (`Invoke-CIPPWebhookProcessing`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum RuleAction {
    /// `generatemail`: e-mail the alert to the notification addresses.
    GenerateMail,
    /// `generatePSA`: open a PSA ticket.
    GeneratePsa,
    /// `generateWebhook`: post the alert to the notification webhook.
    GenerateWebhook,
    /// `disableuser`: block the record's user from signing in.
    DisableUser,
    /// `becremediate`: reset the password, block sign-in, revoke sessions and disable the
    /// user's inbox rules.
    BecRemediate,
}

impl RuleAction {
    /// Every action.
    pub const ALL: [RuleAction; 5] = [
        RuleAction::GenerateMail,
        RuleAction::GeneratePsa,
        RuleAction::GenerateWebhook,
        RuleAction::DisableUser,
        RuleAction::BecRemediate,
    ];

    /// CIPP's value (`generatemail`, `generatePSA`, `generateWebhook`, `disableUser`,
    /// `becremediate`).
    pub fn cipp_value(self) -> &'static str {
        match self {
            RuleAction::GenerateMail => "generatemail",
            RuleAction::GeneratePsa => "generatePSA",
            RuleAction::GenerateWebhook => "generateWebhook",
            RuleAction::DisableUser => "disableUser",
            RuleAction::BecRemediate => "becremediate",
        }
    }
}

impl FromStr for RuleAction {
    type Err = RuleError;
    /// Parses CIPP's value ignoring case (`generatemail`, `disableuser`, …).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        RuleAction::ALL
            .into_iter()
            .find(|a| a.cipp_value().eq_ignore_ascii_case(t))
            .ok_or_else(|| RuleError::UnknownAction {
                action: s.to_owned(),
            })
    }
}

/// A record a rule matched.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Match {
    /// The rule's id.
    pub rule_id: String,
    /// The record's `Id` (the unified audit log's id), when it has one.
    pub record_id: Option<String>,
    /// The record's user (`UserId`, else the Graph record's `userPrincipalName`).
    pub user: Option<String>,
    /// The enriched record the rule matched.
    pub record: Value,
    /// The rule's actions.
    pub actions: Vec<RuleAction>,
}

/// Enriches each record (see [`enrich`]) and returns the ones `rule` matches, at most one
/// per record `Id` (the first), in input order. Records CIPP ignores (intermediate sign-in
/// steps, see [`IGNORED_EXTENDED_PROPERTY_VALUES`]) never match. The rule's tenants are not
/// checked here: see [`RuleTenants::applies_to`]. Across runs, skip the record ids already
/// handled (CIPP keeps them in its `AuditLogs` table).
pub fn evaluate(rule: &Rule, records: &[Value], ip: &dyn IpInfo) -> Vec<Match> {
    let enriched: Vec<Value> = records
        .iter()
        .filter(|r| !enrich::is_ignored(r))
        .map(|r| enrich(r, ip))
        .collect();
    evaluate_enriched(rule, &enriched)
}

/// [`evaluate`] on records already enriched (enrich once, evaluate many rules).
pub fn evaluate_enriched(rule: &Rule, enriched: &[Value]) -> Vec<Match> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for record in enriched {
        if enrich::is_ignored(record) || !rule.matches(record) {
            continue;
        }
        let obj = record.as_object();
        let record_id = obj
            .and_then(|o| get_key(o, "Id"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        if let Some(id) = &record_id {
            if !seen.insert(id.to_ascii_lowercase()) {
                continue;
            }
        }
        let user = obj
            .and_then(|o| get_key(o, "UserId"))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .or_else(|| {
                obj.and_then(|o| get_key(o, "AuditRecord"))
                    .and_then(Value::as_object)
                    .and_then(|o| get_key(o, "userPrincipalName"))
                    .and_then(Value::as_str)
            })
            .map(str::to_owned);
        out.push(Match {
            rule_id: rule.id.clone(),
            record_id,
            user,
            record: record.clone(),
            actions: rule.actions.clone(),
        });
    }
    out
}

/// Why a rule could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RuleError {
    /// An operator not in CIPP's list.
    UnknownOperator {
        /// The operator as given.
        operator: String,
        /// The condition's property, when known.
        property: Option<String>,
    },
    /// An action not in CIPP's list (or one cipp-rs does not run, such as `cippcommand`).
    UnknownAction {
        /// The action as given.
        action: String,
    },
    /// A log type other than `Audit.AzureActiveDirectory`, `Audit.Exchange`,
    /// `Audit.SharePoint` or `Audit.General`.
    UnknownLogType {
        /// The type as given.
        log_type: String,
    },
    /// A property path that is not `^[A-Za-z0-9_.]+$` with non-empty segments.
    InvalidProperty {
        /// The path as given.
        property: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An input the operator cannot use.
    InvalidInput {
        /// The condition's property.
        property: String,
        /// The operator.
        operator: String,
        /// What is wrong.
        reason: String,
    },
    /// A `match` pattern that does not compile (or compiles too large).
    InvalidRegex {
        /// The condition's property.
        property: String,
        /// The pattern.
        pattern: String,
        /// The compiler's message.
        reason: String,
    },
    /// A `match` pattern longer than [`conditions::MAX_PATTERN_LEN`].
    PatternTooLong {
        /// The condition's property.
        property: String,
        /// The pattern's length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A field of a stored CIPP rule that is missing or not what CIPP writes.
    InvalidStored {
        /// The field (`Conditions`, `Tenants`, …).
        field: String,
        /// What is wrong.
        reason: String,
    },
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleError::UnknownOperator { operator, property } => {
                write!(f, "unknown operator '{operator}'")?;
                if let Some(p) = property {
                    write!(f, " in the condition on property '{p}'")?;
                }
                write!(
                    f,
                    "; use one of eq, ne, like, notlike, match, notmatch, gt, lt, ge, le, in, notin, contains, notcontains"
                )
            }
            RuleError::UnknownAction { action } => write!(
                f,
                "unknown alert action '{action}'; use generatemail, generatePSA, generateWebhook, disableuser or becremediate (cippcommand is not supported)"
            ),
            RuleError::UnknownLogType { log_type } => write!(
                f,
                "unknown log type '{log_type}'; use Audit.AzureActiveDirectory, Audit.Exchange, Audit.SharePoint or Audit.General"
            ),
            RuleError::InvalidProperty { property, reason } => {
                write!(f, "invalid condition property '{property}': it {reason}")
            }
            RuleError::InvalidInput {
                property,
                operator,
                reason,
            } => write!(
                f,
                "invalid input in the condition on property '{property}': operator {operator} {reason}"
            ),
            RuleError::InvalidRegex {
                property,
                pattern,
                reason,
            } => write!(
                f,
                "the regular expression '{pattern}' in the condition on property '{property}' does not compile (look-around and back-references are not supported): {reason}"
            ),
            RuleError::PatternTooLong { property, len, max } => write!(
                f,
                "the regular expression in the condition on property '{property}' is {len} bytes long; shorten it to at most {max}"
            ),
            RuleError::InvalidStored { field, reason } => {
                write!(f, "the stored CIPP rule's field '{field}' {reason}")
            }
        }
    }
}

impl std::error::Error for RuleError {}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn login(id: &str, ip: &str, user: &str) -> Value {
        json!({
            "CreationTime": "2024-05-02T07:55:10", "Id": id, "Operation": "UserLoggedIn",
            "OrganizationId": "0f3b2c1d-8a7e-4d6f-b5c4-3a2b1c0d9e8f", "RecordType": 15,
            "ResultStatus": "Success", "UserKey": "10032002A1B2C3D4", "UserType": 0, "Version": 1,
            "Workload": "AzureActiveDirectory", "ClientIP": ip, "ObjectId": "00000003-0000-0ff1-ce00-000000000000",
            "UserId": user, "AzureActiveDirectoryEventType": 1,
            "ExtendedProperties": [{"Name": "ResultStatusDetail", "Value": "Success"}, {"Name": "RequestType", "Value": "OAuth2:Authorize"}]
        })
    }

    fn geo_rule() -> Rule {
        Rule::new(
            "r1",
            "not from NL",
            LogType::AzureActiveDirectory,
            vec![
                Condition::new(
                    PropertyPath::parse("Operation").expect("p"),
                    Operator::Eq,
                    json!("UserLoggedIn"),
                )
                .expect("c"),
                Condition::new(
                    PropertyPath::parse("CIPPGeoLocation").expect("p"),
                    Operator::NotIn,
                    json!(["NL", "BE"]),
                )
                .expect("c"),
            ],
        )
        .with_actions(vec![RuleAction::GenerateMail, RuleAction::DisableUser])
    }

    #[test]
    fn evaluate_dedupes_by_id_and_carries_actions() {
        let ip = StaticIpInfo::new()
            .with("198.51.100.7".parse().expect("ip"), IpDetails::new("RU"))
            .with("203.0.113.7".parse().expect("ip"), IpDetails::new("NL"));
        let records = [
            login("a", "198.51.100.7", "meganb@contoso.com"),
            login("a", "198.51.100.7", "meganb@contoso.com"),
            login("b", "203.0.113.7", "meganb@contoso.com"),
            login("c", "2001:db8::9", "adelev@contoso.com"),
        ];
        let m = evaluate(&geo_rule(), &records, &ip);
        assert_eq!(m.len(), 1, "{m:#?}");
        assert_eq!(m[0].record_id.as_deref(), Some("a"));
        assert_eq!(m[0].user.as_deref(), Some("meganb@contoso.com"));
        assert_eq!(m[0].rule_id, "r1");
        assert_eq!(
            m[0].actions,
            vec![RuleAction::GenerateMail, RuleAction::DisableUser]
        );
        assert_eq!(m[0].record["CIPPGeoLocation"], "RU");
    }

    #[test]
    fn other_workloads_and_empty_rules_do_not_match() {
        let ip =
            StaticIpInfo::new().with("198.51.100.7".parse().expect("ip"), IpDetails::new("RU"));
        let mut r = login("a", "198.51.100.7", "x@contoso.com");
        r["Workload"] = json!("Exchange");
        assert!(evaluate(&geo_rule(), &[r], &ip).is_empty());
        let empty = Rule::new("e", "empty", LogType::General, vec![]);
        assert!(evaluate(&empty, &[login("a", "198.51.100.7", "x")], &ip).is_empty());
    }

    #[test]
    fn intermediate_sign_in_steps_never_match() {
        let ip =
            StaticIpInfo::new().with("198.51.100.7".parse().expect("ip"), IpDetails::new("RU"));
        let mut r = login("a", "198.51.100.7", "x@contoso.com");
        r["ExtendedProperties"] = json!([{"Name": "RequestType", "Value": "SAS:EndAuth"}]);
        assert!(evaluate(&geo_rule(), &[r], &ip).is_empty());
    }

    #[test]
    fn rules_round_trip_in_our_shape() {
        let rule = geo_rule()
            .with_tenants(
                RuleTenants::listed(vec![
                    TenantRef::Tenant("contoso.onmicrosoft.com".into()),
                    TenantRef::Group("g1".into()),
                ])
                .excluding(vec![TenantRef::Tenant("fabrikam.onmicrosoft.com".into())]),
            )
            .with_comment("Check with the user")
            .with_subject("Sign-in abroad");
        let v = serde_json::to_value(&rule).expect("ser");
        assert_eq!(v["logType"], "Audit.AzureActiveDirectory");
        assert_eq!(v["actions"], json!(["generateMail", "disableUser"]));
        assert_eq!(v["tenants"]["include"]["listed"][1], json!({"group": "g1"}));
        assert_eq!(v["conditions"][1]["operator"], "notin");
        let back: Rule = serde_json::from_value(v).expect("de");
        assert_eq!(back, rule);
        let all: Rule = serde_json::from_value(
            json!({"id": "x", "logType": "Audit.Exchange", "tenants": {"include": "all"}}),
        )
        .expect("all");
        assert_eq!(all.tenants, RuleTenants::all());
    }

    #[test]
    fn deserializing_checks_conditions() {
        let err = serde_json::from_value::<Rule>(json!({
            "id": "x", "logType": "Audit.Exchange",
            "conditions": [{"property": "UserAgent", "operator": "match", "input": "(?<=x)y"}]
        }))
        .expect_err("look-behind");
        assert!(err.to_string().contains("does not compile"), "{err}");
        let err = serde_json::from_value::<Rule>(json!({"id": "x", "logType": "Audit.Teams"}))
            .expect_err("log");
        assert!(err.to_string().contains("Audit.Teams"), "{err}");
    }

    #[test]
    fn tenants_apply() {
        let t = RuleTenants::all().excluding(vec![TenantRef::Group("vip".into())]);
        assert!(t.applies_to("contoso.onmicrosoft.com", &[]));
        assert!(!t.applies_to("contoso.onmicrosoft.com", &["VIP"]));
        let l = RuleTenants::listed(vec![TenantRef::Tenant("Contoso.onmicrosoft.com".into())]);
        assert!(l.applies_to("contoso.onmicrosoft.com", &[]));
        assert!(!l.applies_to("fabrikam.onmicrosoft.com", &[]));
    }

    #[test]
    fn log_types_and_actions_parse() {
        assert_eq!(
            "audit.exchange".parse::<LogType>().expect("l"),
            LogType::Exchange
        );
        assert_eq!(
            "AzureActiveDirectory".parse::<LogType>().expect("l"),
            LogType::AzureActiveDirectory
        );
        assert_eq!(
            "disableuser".parse::<RuleAction>().expect("a"),
            RuleAction::DisableUser
        );
        assert_eq!(
            "GENERATEPSA".parse::<RuleAction>().expect("a"),
            RuleAction::GeneratePsa
        );
        let err = "cippcommand"
            .parse::<RuleAction>()
            .expect_err("unsupported");
        assert!(err.to_string().contains("'cippcommand'"), "{err}");
    }

    #[test]
    fn clause_reads_like_cipp() {
        assert_eq!(
            geo_rule().clause(),
            "Operation eq UserLoggedIn and CIPPGeoLocation notin [\"NL\",\"BE\"]"
        );
    }
}
