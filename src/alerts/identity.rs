//! Users, admins, MFA, roles and sign-in activity, as CIPP alerts on them:
//!
//! - `MFAAdmins`, `MFAAlertUsers`: admins / other members with no MFA method registered
//!   (the MFA registration report); `NewMFADevice`: security info registered in the last
//!   hour (directory audits).
//! - `AdminPassword`: a Global Administrator's password changed in the last day;
//!   `LicensedUsersWithRoles`: licensed users holding a directory role;
//!   `GlobalAdminAllowList`: Global Administrators outside an approved list;
//!   `GlobalAdminNoAltEmail`: Global Administrators without an alternate e-mail;
//!   `RoleEscalableGroups`: groups holding a role, or nested in one, that are not
//!   role-assignable (their owners can grant the role).
//! - `InactiveUsers`, `InactiveGuestUsers`, `InactiveLicensedUsers`: no sign-in for a
//!   number of days (`signInActivity`, Entra ID P1).
//! - `NewRiskyUsers`: users Identity Protection flags at risk (Entra ID P2).
//! - `GroupMembershipChange`: members added to or removed from watched groups in the last
//!   three hours (directory audits).
//!
//! As in CIPP, a tenant without the licence or feature a read needs (403, 400, 404) has
//! nothing to find. Event alerts (`NewMFADevice`, `GroupMembershipChange`) have one
//! finding per audit record, so each event notifies once.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use cipp_core::Error;
use cipp_graph::audit::AuditFilter;
use cipp_graph::model::{
    parse_timestamp, DirectoryObject, GroupId, PerUserMfaState, User, UserRegistrationDetails,
};
use cipp_graph::role_management::GLOBAL_ADMINISTRATOR;
use cipp_graph::users::UserRef;
use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};

use super::{Alert, AlertContext, AlertMeta, Finding};

/// Every identity alert.
pub fn alerts() -> Vec<Arc<dyn Alert>> {
    vec![
        Arc::new(MfaAdmins),
        Arc::new(MfaAlertUsers),
        Arc::new(NewMfaDevice),
        Arc::new(AdminPassword),
        Arc::new(LicensedUsersWithRoles),
        Arc::new(GlobalAdminAllowList),
        Arc::new(GlobalAdminNoAltEmail),
        Arc::new(RoleEscalableGroups),
        Arc::new(InactiveUsers),
        Arc::new(InactiveGuestUsers),
        Arc::new(InactiveLicensedUsers),
        Arc::new(NewRiskyUsers),
        Arc::new(GroupMembershipChange),
    ]
}

/// The Entra Connect sync account, which has no MFA and is no person.
const SYNC_ACCOUNT: &str = "On-Premises Directory Synchronization Service Account";

/// Not found, not licensed or not available: nothing to find.
fn absent(e: &Error) -> bool {
    e.is_not_found()
        || e.status()
            .is_some_and(|s| s.as_u16() == 400 || s.as_u16() == 403)
}

/// `Ok(None)` for a read the tenant cannot answer (see [`absent`]).
fn unless_absent<T>(r: Result<T, Error>) -> Result<Option<T>, Error> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if absent(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn no_input(meta: &AlertMeta, input: &Value) -> Result<(), Error> {
    match input {
        Value::Null => Ok(()),
        Value::Object(m) if m.is_empty() => Ok(()),
        _ => Err(Error::invalid_input(
            meta.command(),
            "this alert takes no input; leave it empty",
        )),
    }
}

// ---------------------------------------------------------------------------------------
// Inputs as CIPP sends them: switches as booleans or strings, numbers as numbers or strings.

/// A switch: `true`/`false`, `"true"`/`"false"` (any case), `1`/`0`; empty or `null` is
/// off.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Flag(bool);

impl Flag {
    fn from_value(v: &Value) -> Result<Flag, String> {
        match v {
            Value::Null => Ok(Flag(false)),
            Value::Bool(b) => Ok(Flag(*b)),
            Value::Number(n) if n.as_u64() == Some(0) => Ok(Flag(false)),
            Value::Number(n) if n.as_u64() == Some(1) => Ok(Flag(true)),
            Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "" | "false" | "0" | "no" => Ok(Flag(false)),
                "true" | "1" | "yes" => Ok(Flag(true)),
                _ => Err(format!("`{s}` is not true or false")),
            },
            other => Err(format!("{other} is not true or false")),
        }
    }
}

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Flag, D::Error> {
        Flag::from_value(&Value::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// A whole number of days from 1 to 36,500, as a number or a string; empty or `null`
/// means the alert's default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Days(Option<u32>);

impl Days {
    fn from_value(v: &Value) -> Result<Days, String> {
        let n = match v {
            Value::Null => return Ok(Days(None)),
            Value::String(s) if s.trim().is_empty() => return Ok(Days(None)),
            Value::String(s) => s
                .trim()
                .parse::<i64>()
                .map_err(|_| format!("`{s}` is not a whole number of days"))?,
            Value::Number(n) => n
                .as_i64()
                .ok_or_else(|| format!("{n} is not a whole number of days"))?,
            other => return Err(format!("{other} is not a number of days")),
        };
        if !(1..=36_500).contains(&n) {
            return Err(format!("{n} days is out of range: give 1 to 36500"));
        }
        Ok(Days(u32::try_from(n).ok()))
    }

    fn or(self, default: u32) -> u32 {
        self.0.unwrap_or(default)
    }
}

impl<'de> Deserialize<'de> for Days {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Days, D::Error> {
        Days::from_value(&Value::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// A list of names: a comma-separated string or an array of strings (CIPP's
/// autocomplete fields send `{value, label}` objects; their `value` is taken).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Names(Vec<String>);

impl Names {
    fn from_value(v: &Value) -> Result<Names, String> {
        let mut out = Vec::new();
        let mut push = |s: &str| {
            for part in s.split(',') {
                let part = part.trim();
                if !part.is_empty() && !out.iter().any(|o: &String| o.eq_ignore_ascii_case(part)) {
                    out.push(part.to_owned());
                }
            }
        };
        match v {
            Value::Null => {}
            Value::String(s) => push(s),
            Value::Array(items) => {
                for i in items {
                    match i {
                        Value::String(s) => push(s),
                        Value::Object(o) => match o.get("value").and_then(Value::as_str) {
                            Some(s) => push(s),
                            None => return Err("a list entry has no `value`".to_owned()),
                        },
                        other => return Err(format!("{other} is not a name")),
                    }
                }
            }
            other => return Err(format!("{other} is not a list of names")),
        }
        Ok(Names(out))
    }
}

impl<'de> Deserialize<'de> for Names {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Names, D::Error> {
        Names::from_value(&Value::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// An error on `meta`'s input naming the problem and the inputs.
fn bad_input(meta: &AlertMeta, message: impl std::fmt::Display) -> Error {
    Error::invalid_input(
        meta.command(),
        format!("{message}; inputs: {}", meta.inputs.join(", ")),
    )
}

// ---------------------------------------------------------------------------------------
// MFA

/// `MFAAdmins`: admins (the MFA registration report's `isAdmin`) with no MFA method
/// registered, and, as CIPP's second check, admins with a method registered whom nothing
/// makes use it: security defaults off, no enabled Conditional Access policy requiring
/// MFA that includes them (all users or by id, not excluded by id), and per-user MFA
/// neither enabled nor enforced. As CIPP: nothing is checked when a Conditional Access
/// policy uses Duo (`RequireDuoMfa`); member users only; the sync account left out;
/// disabled admins only with `IncludeDisabled`; the second check only when security
/// defaults can be read.
#[derive(Debug, Clone, Copy)]
pub struct MfaAdmins;

const MFA_ADMINS: AlertMeta = AlertMeta::new(
    "MFAAdmins",
    "Alert on admins without any form of MFA",
    "1d",
    "GET identity/conditionalAccess/policies; GET policies/identitySecurityDefaultsEnforcementPolicy; GET reports/authenticationMethods/userRegistrationDetails?$filter=isAdmin eq true and userType eq 'member'; GET users?$filter=accountEnabled eq false&$select=id (unless IncludeDisabled); GET beta/users/{id}/authentication/requirements (admins with MFA registered and no other enforcement)",
)
.inputs(&["IncludeDisabled"]);

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct MfaAdminsInput {
    #[serde(rename = "IncludeDisabled", alias = "InputValue", default)]
    include_disabled: Flag,
}

/// `IncludeDisabled` from `{"IncludeDisabled": …}` or CIPP's bare switch value.
fn mfa_admins_input(input: &Value) -> Result<bool, Error> {
    match input {
        Value::Bool(_) | Value::String(_) | Value::Number(_) => Flag::from_value(input)
            .map(|f| f.0)
            .map_err(|e| bad_input(&MFA_ADMINS, format!("IncludeDisabled: {e}"))),
        _ => super::input::<MfaAdminsInput>(&MFA_ADMINS, input).map(|i| i.include_disabled.0),
    }
}

/// Whether a Conditional Access policy grants access through Duo (CIPP then cannot judge
/// MFA from registration).
fn uses_duo(policies: &[cipp_graph::model::ConditionalAccessPolicy]) -> bool {
    policies.iter().any(|p| {
        p.grant_controls
            .as_ref()
            .is_some_and(|g| match &g["customAuthenticationFactors"] {
                Value::Array(a) => a.iter().any(|f| f.as_str() == Some("RequireDuoMfa")),
                Value::String(s) => s == "RequireDuoMfa",
                _ => false,
            })
    })
}

fn is_sync_account(display_name: Option<&str>) -> bool {
    display_name == Some(SYNC_ACCOUNT)
}

#[async_trait]
impl Alert for MfaAdmins {
    fn meta(&self) -> &AlertMeta {
        &MFA_ADMINS
    }

    fn validate(&self, input: &Value) -> Result<(), Error> {
        mfa_admins_input(input).map(|_| ())
    }

    async fn evaluate(&self, ctx: &AlertContext, input: &Value) -> Result<Vec<Finding>, Error> {
        let include_disabled = mfa_admins_input(input)?;
        let g = ctx.handle.graph();
        let policies = async {
            unless_absent(
                g.conditional_access()
                    .policies()
                    .select(["id", "displayName", "state", "conditions", "grantControls"])
                    .await,
            )
        };
        let security_defaults =
            async { unless_absent(g.conditional_access().security_defaults().await) };
        let report = async {
            unless_absent(
                g.auth_methods()
                    .registration_details()
                    .filter("isAdmin eq true and userType eq 'member'")
                    .await,
            )
        };
        let disabled = async {
            if include_disabled {
                return Ok(Some(Vec::new()));
            }
            unless_absent(
                g.users()
                    .list()
                    .filter("accountEnabled eq false")
                    .select(["id"])
                    .await,
            )
        };
        let (policies, security_defaults, report, disabled) =
            futures::try_join!(policies, security_defaults, report, disabled)?;
        if policies.as_deref().is_some_and(uses_duo) {
            return Ok(Vec::new());
        }
        let Some(report) = report else {
            return Ok(Vec::new());
        };
        let disabled: HashSet<String> = disabled
            .unwrap_or_default()
            .into_iter()
            .filter_map(|u: User| u.id.map(|id| id.as_str().to_ascii_lowercase()))
            .collect();
        let admins: Vec<UserRegistrationDetails> = report
            .into_iter()
            .filter(|r| r.is_admin == Some(true))
            .filter(|r| {
                r.user_type
                    .as_deref()
                    .is_none_or(|t| t.eq_ignore_ascii_case("member"))
            })
            .filter(|r| !is_sync_account(r.user_display_name.as_deref()))
            .filter(|r| !disabled.contains(&r.id.to_ascii_lowercase()))
            .collect();
        let finding = |r: &UserRegistrationDetails, why: &str| {
            let upn = r.user_principal_name.clone().unwrap_or_default();
            let name = r.user_display_name.clone().unwrap_or_default();
            Finding::new(
                r.id.clone(),
                format!("Admin user {name} ({upn}) {why}"),
                json!({"userPrincipalName": upn, "displayName": name, "id": r.id}),
            )
        };
        let mut out: Vec<Finding> = admins
            .iter()
            .filter(|r| r.is_mfa_registered == Some(false))
            .map(|r| finding(r, "does not have MFA registered."))
            .collect();
        // Registered but not enforced: only when security defaults are known to be off.
        if security_defaults.is_some_and(|sd| !sd.is_enabled) {
            let policies = policies.unwrap_or_default();
            let candidates: Vec<&UserRegistrationDetails> = admins
                .iter()
                .filter(|r| r.is_mfa_registered == Some(true))
                .filter(|r| !covered_by_conditional_access(&policies, &r.id))
                .collect();
            let per_user = candidates.iter().map(|r| async move {
                let user = UserRef::parse(&r.id)?;
                let state = unless_absent(g.auth_methods().per_user_mfa(&user).await)?;
                Ok::<_, Error>(state.is_some_and(|s| {
                    matches!(
                        s.per_user_mfa_state,
                        PerUserMfaState::Enabled | PerUserMfaState::Enforced
                    )
                }))
            });
            let enforced = futures::future::try_join_all(per_user).await?;
            out.extend(
                candidates
                    .into_iter()
                    .zip(enforced)
                    .filter(|(_, enforced)| !enforced)
                    .map(|(r, _)| {
                        finding(r, "has MFA registered but no enforcement method (Per-User MFA, Security Defaults, or Conditional Access) is active.")
                    }),
            );
        }
        Ok(out)
    }
}

/// Whether an enabled Conditional Access policy requiring MFA includes user `id` (all
/// users or by id) without excluding them by id, as CIPP's MFA report judges it (groups
/// and roles are not expanded).
fn covered_by_conditional_access(
    policies: &[cipp_graph::model::ConditionalAccessPolicy],
    id: &str,
) -> bool {
    let has = |v: &Value, what: &str| {
        v.as_array().is_some_and(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .any(|x| x.eq_ignore_ascii_case(what))
        })
    };
    policies.iter().any(|p| {
        let Some(g) = &p.grant_controls else {
            return false;
        };
        let requires_mfa = has(&g["builtInControls"], "mfa")
            || g["authenticationStrength"]["requirementsSatisfied"].as_str() == Some("mfa");
        let users = p
            .conditions
            .as_ref()
            .map(|c| &c["users"])
            .unwrap_or(&Value::Null);
        p.state == Some(cipp_graph::model::PolicyState::Enabled)
            && requires_mfa
            && (has(&users["includeUsers"], "All") || has(&users["includeUsers"], id))
            && !has(&users["excludeUsers"], id)
    })
}

/// `MFAAlertUsers`: member users who are not admins and have no MFA method registered
/// (the sync account and Microsoft's `package_…` accounts left out). `InputValue` (CIPP's
/// newer input, optional): a grace period in days for new accounts to register.
#[derive(Debug, Clone, Copy)]
pub struct MfaAlertUsers;

const MFA_USERS: AlertMeta = AlertMeta::new(
    "MFAAlertUsers",
    "Alert on users without any form of MFA",
    "1d",
    "GET reports/authenticationMethods/userRegistrationDetails?$filter=isAdmin eq false and isMfaRegistered eq false and userType eq 'member'; GET users?$select=id,createdDateTime (with a grace period)",
)
.inputs(&["InputValue"]);

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct MfaUsersInput {
    #[serde(rename = "InputValue", alias = "NewUserGraceDays", default)]
    grace_days: Days,
}

fn mfa_users_input(input: &Value) -> Result<Option<u32>, Error> {
    match input {
        Value::String(_) | Value::Number(_) => Days::from_value(input)
            .map(|d| d.0)
            .map_err(|e| bad_input(&MFA_USERS, format!("InputValue (grace days): {e}"))),
        _ => super::input::<MfaUsersInput>(&MFA_USERS, input).map(|i| i.grace_days.0),
    }
}

/// Microsoft's `package_<guid>@…` accounts (Microsoft 365 app packages), never people.
fn is_package_account(upn: &str) -> bool {
    if !upn
        .get(..8)
        .is_some_and(|p| p.eq_ignore_ascii_case("package_"))
    {
        return false;
    }
    upn.get(8..44).is_some_and(|g| {
        g.len() == 36
            && g.char_indices().all(|(i, c)| match i {
                8 | 13 | 18 | 23 => c == '-',
                _ => c.is_ascii_digit() || ('a'..='f').contains(&c),
            })
    }) && upn.as_bytes().get(44) == Some(&b'@')
}

#[async_trait]
impl Alert for MfaAlertUsers {
    fn meta(&self) -> &AlertMeta {
        &MFA_USERS
    }

    fn validate(&self, input: &Value) -> Result<(), Error> {
        mfa_users_input(input).map(|_| ())
    }

    async fn evaluate(&self, ctx: &AlertContext, input: &Value) -> Result<Vec<Finding>, Error> {
        let grace = mfa_users_input(input)?;
        let g = ctx.handle.graph();
        let report = async {
            unless_absent(
                g.auth_methods()
                    .registration_details()
                    .filter(
                        "isAdmin eq false and isMfaRegistered eq false and userType eq 'member'",
                    )
                    .await,
            )
        };
        let created = async {
            match grace {
                None => Ok(None),
                Some(_) => unless_absent(g.users().list().select(["id", "createdDateTime"]).await),
            }
        };
        let (report, created) = futures::try_join!(report, created)?;
        let Some(report) = report else {
            return Ok(Vec::new());
        };
        let recent: HashSet<String> = match (grace, created) {
            (Some(days), Some(users)) => {
                let cutoff = ctx.now - Duration::days(i64::from(days));
                users
                    .into_iter()
                    .filter(|u| u.created_date_time.is_some_and(|c| c >= cutoff))
                    .filter_map(|u| u.id.map(|id| id.as_str().to_ascii_lowercase()))
                    .collect()
            }
            _ => HashSet::new(),
        };
        Ok(report
            .into_iter()
            .filter(|r: &UserRegistrationDetails| {
                r.is_admin != Some(true) && r.is_mfa_registered == Some(false)
            })
            .filter(|r| {
                r.user_type
                    .as_deref()
                    .is_none_or(|t| t.eq_ignore_ascii_case("member"))
            })
            .filter(|r| !is_sync_account(r.user_display_name.as_deref()))
            .filter(|r| !is_package_account(r.user_principal_name.as_deref().unwrap_or("")))
            .filter(|r| !recent.contains(&r.id.to_ascii_lowercase()))
            .map(|r| {
                let upn = r.user_principal_name.clone().unwrap_or_default();
                let name = r.user_display_name.clone().unwrap_or_default();
                Finding::new(
                    r.id.clone(),
                    format!("User {name} ({upn}) does not have MFA registered."),
                    json!({"userPrincipalName": upn, "displayName": name}),
                )
            })
            .collect())
    }
}

/// `NewMFADevice`: security info (an MFA method) registered in the last hour, one finding
/// per audit record.
#[derive(Debug, Clone, Copy)]
pub struct NewMfaDevice;

const NEW_MFA: AlertMeta = AlertMeta::new(
    "NewMFADevice",
    "Alert when users register new MFA devices",
    "1h",
    "GET auditLogs/directoryAudits?$filter=activityDisplayName eq 'User registered security info' and activityDateTime ge <1 hour ago>",
);

/// The UPN of the user an audit record's `initiatedBy` names.
fn initiator(initiated_by: Option<&Value>) -> Option<String> {
    let by = initiated_by?;
    let some = |v: &Value| {
        v.as_str()
            .filter(|s| !s.trim().is_empty())
            .map(str::to_owned)
    };
    some(&by["user"]["userPrincipalName"])
        .or_else(|| some(&by["app"]["displayName"]))
        .or_else(|| some(&by["app"]["servicePrincipalName"]))
        .or_else(|| some(&by["app"]["appId"]))
}

#[async_trait]
impl Alert for NewMfaDevice {
    fn meta(&self) -> &AlertMeta {
        &NEW_MFA
    }

    fn validate(&self, input: &Value) -> Result<(), Error> {
        no_input(&NEW_MFA, input)
    }

    async fn evaluate(&self, ctx: &AlertContext, _input: &Value) -> Result<Vec<Finding>, Error> {
        let filter = AuditFilter {
            activities: vec!["User registered security info".to_owned()],
            since: Some(ctx.now - Duration::hours(1)),
            ..Default::default()
        };
        let Some(records) =
            unless_absent(ctx.handle.graph().audit().directory_audits(&filter).await)?
        else {
            return Ok(Vec::new());
        };
        Ok(records
            .into_iter()
            .filter(|r| r.activity_display_name.as_deref() == Some("User registered security info"))
            .map(|r| {
                let target = r.target_resources.first();
                let user = target
                    .and_then(|t| t.user_principal_name.clone())
                    .filter(|u| !u.is_empty())
                    .or_else(|| initiator(r.initiated_by.as_ref()))
                    .unwrap_or_default();
                let ip = r
                    .initiated_by
                    .as_ref()
                    .and_then(|b| b["user"]["ipAddress"].as_str())
                    .map(str::to_owned);
                Finding::new(
                    r.id.clone(),
                    format!("New MFA method registered: {user}"),
                    json!({"user": user, "displayName": target.and_then(|t| t.display_name.clone()),
                           "activity": r.activity_display_name, "activityTime": r.activity_date_time,
                           "ipAddress": ip}),
                )
            })
            .collect())
    }
}

// ---------------------------------------------------------------------------------------
// Roles

/// `AdminPassword`: a Global Administrator of the tenant changed password in the last
/// day (their role assignments, then each holder's `lastPasswordChangeDateTime`; holders
/// that are not users of the tenant are left out).
#[derive(Debug, Clone, Copy)]
pub struct AdminPassword;

const ADMIN_PASSWORD: AlertMeta = AlertMeta::new(
    "AdminPassword",
    "Alert on changed admin Passwords",
    "30m",
    "GET roleManagement/directory/roleAssignments?$filter=roleDefinitionId eq '62e90394-69f5-4237-9190-012177145e10'; GET users/{id}?$select=id,userPrincipalName,lastPasswordChangeDateTime (each holder)",
);

#[async_trait]
impl Alert for AdminPassword {
    fn meta(&self) -> &AlertMeta {
        &ADMIN_PASSWORD
    }

    fn validate(&self, input: &Value) -> Result<(), Error> {
        no_input(&ADMIN_PASSWORD, input)
    }

    async fn evaluate(&self, ctx: &AlertContext, _input: &Value) -> Result<Vec<Finding>, Error> {
        let g = ctx.handle.graph();
        let Some(assignments) = unless_absent(
            g.role_management()
                .assignments_of(GLOBAL_ADMINISTRATOR)
                .select(["principalId"])
                .await,
        )?
        else {
            return Ok(Vec::new());
        };
        let holders: BTreeSet<String> = assignments
            .into_iter()
            .filter_map(|a| a.principal_id)
            .filter_map(|id| UserRef::parse(&id).ok().map(|_| id.to_ascii_lowercase()))
            .collect();
        let reads = holders.iter().map(|id| async move {
            let user = UserRef::parse(id)?;
            unless_absent(
                g.users()
                    .get(&user)
                    .select(["id", "userPrincipalName", "lastPasswordChangeDateTime"])
                    .await,
            )
        });
        let users = futures::future::try_join_all(reads).await?;
        let since = ctx.now - Duration::days(1);
        let mut out: Vec<Finding> = users
            .into_iter()
            .flatten()
            .filter_map(|u| {
                let changed = u
                    .extra
                    .get("lastPasswordChangeDateTime")
                    .and_then(Value::as_str)
                    .and_then(parse_timestamp)?;
                if changed <= since {
                    return None;
                }
                let id = u.id.as_ref()?.as_str().to_owned();
                let upn = u.user_principal_name.clone().unwrap_or_default();
                Some(Finding::new(
                    id,
                    format!(
                        "The password of Global Administrator {upn} was changed at {}",
                        rfc3339(changed)
                    ),
                    json!({"userPrincipalName": upn, "lastPasswordChangeDateTime": rfc3339(changed)}),
                ))
            })
            .collect();
        out.sort_by(|a, b| a.subject.cmp(&b.subject));
        Ok(out)
    }
}

/// `LicensedUsersWithRoles`: users with a licence who hold a directory role (admins
/// should use separate, unlicensed accounts). The activated roles and their direct
/// members; the roles a user holds are in the finding, so a change of roles is a change.
#[derive(Debug, Clone, Copy)]
pub struct LicensedUsersWithRoles;

const LICENSED_ROLES: AlertMeta = AlertMeta::new(
    "LicensedUsersWithRoles",
    "Alert on licensed users with any administrator roles",
    "7d",
    "GET users?$select=id,userPrincipalName,displayName,assignedLicenses; GET directoryRoles?$expand=members",
);

#[async_trait]
impl Alert for LicensedUsersWithRoles {
    fn meta(&self) -> &AlertMeta {
        &LICENSED_ROLES
    }

    fn validate(&self, input: &Value) -> Result<(), Error> {
        no_input(&LICENSED_ROLES, input)
    }

    async fn evaluate(&self, ctx: &AlertContext, _input: &Value) -> Result<Vec<Finding>, Error> {
        let g = ctx.handle.graph();
        let users = async {
            unless_absent(
                g.users()
                    .list()
                    .select(["id", "userPrincipalName", "displayName", "assignedLicenses"])
                    .await,
            )
        };
        let roles = async {
            unless_absent(
                g.role_management()
                    .directory_roles()
                    .expand("members")
                    .await,
            )
        };
        let (users, roles) = futures::try_join!(users, roles)?;
        let (Some(users), Some(roles)) = (users, roles) else {
            return Ok(Vec::new());
        };
        let mut held: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for r in &roles {
            let name = r
                .display_name
                .clone()
                .or_else(|| r.role_template_id.clone())
                .unwrap_or_default();
            for m in &r.members {
                if let Some(id) = &m.id {
                    held.entry(id.to_ascii_lowercase())
                        .or_default()
                        .insert(name.clone());
                }
            }
        }
        Ok(users
            .into_iter()
            .filter(|u| u.assigned_licenses.as_ref().is_some_and(|l| !l.is_empty()))
            .filter_map(|u| {
                let id = u.id.as_ref()?.as_str().to_owned();
                let roles = held.get(&id.to_ascii_lowercase())?;
                let upn = u.user_principal_name.clone().unwrap_or_default();
                let mut skus: Vec<String> = u
                    .assigned_licenses
                    .iter()
                    .flatten()
                    .map(|l| l.sku_id.to_string())
                    .collect();
                skus.sort();
                let roles: Vec<&String> = roles.iter().collect();
                Some(Finding::new(
                    id,
                    format!(
                        "{upn} is licensed and holds the role(s) {}",
                        roles
                            .iter()
                            .map(|r| r.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    json!({"userPrincipalName": upn, "displayName": u.display_name,
                           "roles": roles, "assignedLicenses": skus}),
                ))
            })
            .collect())
    }
}

/// The Global Administrators that are users (not the sync account), read with `select`;
/// `None` when the role is not activated or cannot be read.
async fn global_admins(
    ctx: &AlertContext,
    select: &[&'static str],
) -> Result<Option<Vec<DirectoryObject>>, Error> {
    let members = unless_absent(
        ctx.handle
            .graph()
            .role_management()
            .role_members(GLOBAL_ADMINISTRATOR)
            .select(select.iter().copied())
            .await,
    )?;
    Ok(members.map(|m| {
        m.into_iter()
            .filter(|o| o.odata_type.as_deref() == Some("#microsoft.graph.user"))
            .filter(|o| !is_sync_account(o.display_name.as_deref()))
            .collect()
    }))
}

fn upn_of(o: &DirectoryObject) -> Option<&str> {
    o.extra
        .get("userPrincipalName")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
}

/// `GlobalAdminAllowList`: Global Administrators whose UPN prefix (the part before `@`)
/// is not in `ApprovedGlobalAdmins` (a comma-separated list or an array; an entry with
/// `@` is matched against the whole UPN). One finding for all of them, or one per admin
/// with `AlertEachAdmin`.
#[derive(Debug, Clone, Copy)]
pub struct GlobalAdminAllowList;

const GA_ALLOW: AlertMeta = AlertMeta::new(
    "GlobalAdminAllowList",
    "Alert on Global Admins outside approved list",
    "4h",
    "GET directoryRoles(roleTemplateId='62e90394-69f5-4237-9190-012177145e10')/members?$select=id,displayName,userPrincipalName",
)
.inputs(&["ApprovedGlobalAdmins", "AlertEachAdmin"]);

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct AllowListInput {
    #[serde(rename = "ApprovedGlobalAdmins", alias = "InputValue", default)]
    approved: Names,
    #[serde(rename = "AlertEachAdmin", default)]
    each: Flag,
}

/// The approved names (lower case) and whether to alert on each admin.
fn allow_list_input(input: &Value) -> Result<(Vec<String>, bool), Error> {
    let i = match input {
        Value::String(_) | Value::Array(_) => AllowListInput {
            approved: Names::from_value(input)
                .map_err(|e| bad_input(&GA_ALLOW, format!("ApprovedGlobalAdmins: {e}")))?,
            each: Flag(false),
        },
        _ => super::input::<AllowListInput>(&GA_ALLOW, input)?,
    };
    if i.approved.0.is_empty() {
        return Err(bad_input(
            &GA_ALLOW,
            "ApprovedGlobalAdmins is empty: give the approved Global Administrators' UPN prefixes (the part before @), comma-separated",
        ));
    }
    Ok((
        i.approved
            .0
            .iter()
            .map(|a| a.to_ascii_lowercase())
            .collect(),
        i.each.0,
    ))
}

#[async_trait]
impl Alert for GlobalAdminAllowList {
    fn meta(&self) -> &AlertMeta {
        &GA_ALLOW
    }

    fn validate(&self, input: &Value) -> Result<(), Error> {
        allow_list_input(input).map(|_| ())
    }

    async fn evaluate(&self, ctx: &AlertContext, input: &Value) -> Result<Vec<Finding>, Error> {
        let (approved, each) = allow_list_input(input)?;
        let Some(admins) = global_admins(ctx, &["id", "displayName", "userPrincipalName"]).await?
        else {
            return Ok(Vec::new());
        };
        let approved_list = approved.join(", ");
        let mut outside: Vec<(&DirectoryObject, String, String)> = admins
            .iter()
            .filter_map(|a| {
                let upn = upn_of(a)?.to_owned();
                let lower = upn.to_ascii_lowercase();
                let prefix = lower.split('@').next().unwrap_or_default().to_owned();
                let ok = approved.iter().any(|x| *x == prefix || *x == lower);
                (!ok).then_some((a, upn, prefix))
            })
            .collect();
        outside.sort_by_key(|a| a.1.to_ascii_lowercase());
        if outside.is_empty() {
            return Ok(Vec::new());
        }
        if each {
            return Ok(outside
                .into_iter()
                .map(|(a, upn, prefix)| {
                    Finding::new(
                        a.id.clone().unwrap_or_else(|| upn.clone()),
                        format!(
                            "{upn} has the Global Administrator role but is not in the approved allow list (prefix '{prefix}')."
                        ),
                        json!({"userPrincipalName": upn, "displayName": a.display_name,
                               "id": a.id, "allowedList": approved_list}),
                    )
                })
                .collect());
        }
        let upns: Vec<String> = outside.into_iter().map(|(_, upn, _)| upn).collect();
        Ok(vec![Finding::new(
            "global-admins-outside-allow-list",
            format!(
                "Found {} Global Administrator account(s) not in the approved allow list: {}",
                upns.len(),
                upns.join(", ")
            ),
            json!({"nonCompliantUsers": upns, "approvedPrefixes": approved_list}),
        )])
    }
}

/// `GlobalAdminNoAltEmail`: Global Administrators without an alternate e-mail address
/// (`otherMails`), which password recovery of key accounts needs.
#[derive(Debug, Clone, Copy)]
pub struct GlobalAdminNoAltEmail;

const GA_ALT_EMAIL: AlertMeta = AlertMeta::new(
    "GlobalAdminNoAltEmail",
    "Alert on Global Admin accounts without alternate email address",
    "7d",
    "GET directoryRoles(roleTemplateId='62e90394-69f5-4237-9190-012177145e10')/members?$select=id,displayName,userPrincipalName,otherMails",
);

#[async_trait]
impl Alert for GlobalAdminNoAltEmail {
    fn meta(&self) -> &AlertMeta {
        &GA_ALT_EMAIL
    }

    fn validate(&self, input: &Value) -> Result<(), Error> {
        no_input(&GA_ALT_EMAIL, input)
    }

    async fn evaluate(&self, ctx: &AlertContext, _input: &Value) -> Result<Vec<Finding>, Error> {
        let Some(admins) = global_admins(
            ctx,
            &["id", "displayName", "userPrincipalName", "otherMails"],
        )
        .await?
        else {
            return Ok(Vec::new());
        };
        Ok(admins
            .iter()
            .filter(|a| {
                a.extra
                    .get("otherMails")
                    .and_then(Value::as_array)
                    .is_none_or(|m| {
                        m.iter()
                            .all(|x| x.as_str().is_none_or(|s| s.trim().is_empty()))
                    })
            })
            .filter_map(|a| {
                let id = a.id.clone()?;
                let upn = upn_of(a).unwrap_or_default().to_owned();
                Some(Finding::new(
                    id.clone(),
                    format!("Global Administrator {upn} has no alternate email address."),
                    json!({"userPrincipalName": upn, "displayName": a.display_name, "id": id}),
                ))
            })
            .collect())
    }
}

/// `RoleEscalableGroups`: groups holding a directory role that are not role-assignable,
/// and groups nested (at any depth) in a group holding a role that are not
/// role-assignable: their owners and group administrators can add members who then hold
/// the role.
#[derive(Debug, Clone, Copy)]
pub struct RoleEscalableGroups;

const ESCALABLE: AlertMeta = AlertMeta::new(
    "RoleEscalableGroups",
    "Alert on groups or nested groups assigned to a role that could be used for privilege escalation",
    "1d",
    "GET groups?$select=id,displayName,isAssignableToRole; GET roleManagement/directory/roleDefinitions?$select=id,displayName; GET roleManagement/directory/roleAssignments?$select=id,principalId,roleDefinitionId,directoryScopeId,appScopeId; GET groups/{id}/transitiveMembers/microsoft.graph.group?$select=id (each group holding a role)",
);

#[async_trait]
impl Alert for RoleEscalableGroups {
    fn meta(&self) -> &AlertMeta {
        &ESCALABLE
    }

    fn validate(&self, input: &Value) -> Result<(), Error> {
        no_input(&ESCALABLE, input)
    }

    async fn evaluate(&self, ctx: &AlertContext, _input: &Value) -> Result<Vec<Finding>, Error> {
        let g = ctx.handle.graph();
        let rm = g.role_management();
        let groups = async {
            unless_absent(
                g.groups()
                    .list()
                    .select(["id", "displayName", "isAssignableToRole"])
                    .await,
            )
        };
        let definitions =
            async { unless_absent(rm.definitions().select(["id", "displayName"]).await) };
        let assignments = async {
            unless_absent(
                rm.assignments()
                    .select([
                        "id",
                        "principalId",
                        "roleDefinitionId",
                        "directoryScopeId",
                        "appScopeId",
                    ])
                    .await,
            )
        };
        let (groups, definitions, assignments) =
            futures::try_join!(groups, definitions, assignments)?;
        let (Some(groups), Some(assignments)) = (groups, assignments) else {
            return Ok(Vec::new());
        };
        let by_id: BTreeMap<String, &cipp_graph::model::Group> = groups
            .iter()
            .filter_map(|g| {
                g.id.as_ref()
                    .map(|id| (id.as_str().to_ascii_lowercase(), g))
            })
            .collect();
        let role_names: BTreeMap<String, String> = definitions
            .unwrap_or_default()
            .into_iter()
            .filter_map(|d| Some((d.id?.to_ascii_lowercase(), d.display_name?)))
            .collect();
        let role_name = |id: &str| -> String {
            role_names
                .get(&id.to_ascii_lowercase())
                .cloned()
                .or_else(|| cipp_graph::gdap::roles::role_name(id).map(str::to_owned))
                .unwrap_or_else(|| "Unknown role".to_owned())
        };
        // The groups holding a role, and the groups nested under each (read together).
        let roots: BTreeSet<String> = assignments
            .iter()
            .filter_map(|a| a.principal_id.as_deref())
            .map(str::to_ascii_lowercase)
            .filter(|id| by_id.contains_key(id))
            .collect();
        let rm = &rm;
        let nested_reads = roots.iter().map(|root| async move {
            let nested = unless_absent(
                rm.nested_groups(&GroupId::from(root.as_str()))
                    .select(["id"])
                    .await,
            )?;
            Ok::<_, Error>((root.clone(), nested.unwrap_or_default()))
        });
        let nested: BTreeMap<String, Vec<DirectoryObject>> =
            futures::future::try_join_all(nested_reads)
                .await?
                .into_iter()
                .collect();
        let assignable = |g: &cipp_graph::model::Group| g.is_assignable_to_role == Some(true);
        let name_of = |g: &cipp_graph::model::Group| g.display_name.clone().unwrap_or_default();
        let mut out: BTreeMap<String, Finding> = BTreeMap::new();
        for a in &assignments {
            let Some(pid) = a.principal_id.as_deref().map(str::to_ascii_lowercase) else {
                continue;
            };
            let Some(root) = by_id.get(&pid) else {
                continue;
            };
            let role_id = a.role_definition_id.clone().unwrap_or_default();
            let role = role_name(&role_id);
            let scope = a
                .directory_scope_id
                .clone()
                .or_else(|| a.app_scope_id.clone())
                .unwrap_or_else(|| "/".to_owned());
            if !assignable(root) {
                let subject = format!("direct:{pid}:{}:{scope}", role_id.to_ascii_lowercase());
                out.entry(subject.clone()).or_insert_with(|| {
                    Finding::new(
                        subject,
                        format!(
                            "Group {} holds the role {role} but is not role-assignable: its owners can grant the role.",
                            name_of(root)
                        ),
                        json!({"pathType": "Direct", "roleAssignedGroupId": pid,
                               "roleAssignedGroupDisplayName": name_of(root), "groupId": pid,
                               "groupDisplayName": name_of(root), "isAssignableToRole": root.is_assignable_to_role,
                               "roleName": role, "scope": scope}),
                    )
                });
            }
            for n in nested.get(&pid).into_iter().flatten() {
                let Some(nid) = n.id.as_deref().map(str::to_ascii_lowercase) else {
                    continue;
                };
                let Some(group) = by_id.get(&nid).filter(|g| !assignable(g) && nid != pid) else {
                    continue;
                };
                let subject = format!(
                    "nested:{nid}:{pid}:{}:{scope}",
                    role_id.to_ascii_lowercase()
                );
                out.entry(subject.clone()).or_insert_with(|| {
                    Finding::new(
                        subject,
                        format!(
                            "Group {} is nested in {}, which holds the role {role}, and is not role-assignable: its owners can add members who inherit the role.",
                            name_of(group),
                            name_of(root)
                        ),
                        json!({"pathType": "Nested", "roleAssignedGroupId": pid,
                               "roleAssignedGroupDisplayName": name_of(root), "groupId": nid,
                               "groupDisplayName": name_of(group), "isAssignableToRole": group.is_assignable_to_role,
                               "roleName": role, "scope": scope}),
                    )
                });
            }
        }
        Ok(out.into_values().collect())
    }
}

// ---------------------------------------------------------------------------------------
// Sign-in activity

/// Which users an inactivity alert looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Population {
    /// Members (`userType` Member).
    Members,
    /// Guests.
    Guests,
    /// Users with a licence, of any type.
    Licensed,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct InactiveInput {
    #[serde(rename = "DaysSinceLastLogin", default)]
    days: Days,
    #[serde(rename = "ExcludeDisabled", default)]
    exclude_disabled: Flag,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct InactiveLicensedInput {
    #[serde(rename = "DaysSinceLastLogin", default)]
    days: Days,
    #[serde(rename = "ExcludeDisabled", default)]
    exclude_disabled: Flag,
    #[serde(rename = "IncludeNeverSignedIn", default)]
    include_never: Flag,
}

/// What an inactivity alert was asked: days (default 90), exclude disabled, include users
/// who never signed in.
#[derive(Clone, Copy, Debug)]
struct Inactivity {
    days: u32,
    exclude_disabled: bool,
    include_never: bool,
}

fn inactivity_input(meta: &AlertMeta, who: Population, input: &Value) -> Result<Inactivity, Error> {
    if who == Population::Licensed {
        // CIPP's older single switch meant "exclude disabled users".
        if let Value::Bool(_) | Value::String(_) = input {
            let f = Flag::from_value(input)
                .map_err(|e| bad_input(meta, format!("ExcludeDisabled: {e}")))?;
            return Ok(Inactivity {
                days: 90,
                exclude_disabled: f.0,
                include_never: false,
            });
        }
        let i = super::input::<InactiveLicensedInput>(meta, input)?;
        return Ok(Inactivity {
            days: i.days.or(90),
            exclude_disabled: i.exclude_disabled.0,
            include_never: i.include_never.0,
        });
    }
    let i = super::input::<InactiveInput>(meta, input)?;
    Ok(Inactivity {
        days: i.days.or(90),
        exclude_disabled: i.exclude_disabled.0,
        include_never: false,
    })
}

/// The later of a user's last interactive and non-interactive sign-ins.
fn last_sign_in(u: &User) -> Option<DateTime<Utc>> {
    let a = u.extra.get("signInActivity")?;
    let at = |k: &str| a.get(k).and_then(Value::as_str).and_then(parse_timestamp);
    match (
        at("lastSignInDateTime"),
        at("lastNonInteractiveSignInDateTime"),
    ) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, y) => x.or(y),
    }
}

async fn inactive(
    ctx: &AlertContext,
    meta: &AlertMeta,
    who: Population,
    input: &Value,
) -> Result<Vec<Finding>, Error> {
    let asked = inactivity_input(meta, who, input)?;
    let mut list = ctx.handle.graph().users().list().select([
        "id",
        "userPrincipalName",
        "signInActivity",
        "mail",
        "userType",
        "accountEnabled",
        "assignedLicenses",
    ]);
    if asked.exclude_disabled {
        list = list.filter("accountEnabled eq true");
    }
    // signInActivity needs Entra ID P1: without it Graph refuses, and there is nothing to
    // judge.
    let Some(users) = unless_absent(list.await)? else {
        return Ok(Vec::new());
    };
    let cutoff = ctx.now - Duration::days(i64::from(asked.days));
    Ok(users
        .into_iter()
        .filter(|u| match who {
            Population::Members => u
                .user_type
                .as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case("member")),
            Population::Guests => u
                .user_type
                .as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case("guest")),
            Population::Licensed => u.assigned_licenses.as_ref().is_some_and(|l| !l.is_empty()),
        })
        .filter(|u| !asked.exclude_disabled || u.account_enabled != Some(false))
        .filter_map(|u| {
            let id = u.id.as_ref()?.as_str().to_owned();
            let upn = u.user_principal_name.clone().unwrap_or_default();
            let last = last_sign_in(&u);
            let who_text = if who == Population::Guests {
                "Guest user"
            } else {
                "User"
            };
            let licence = if who == Population::Licensed {
                " but still has a license assigned"
            } else {
                ""
            };
            let message = match last {
                None if asked.include_never => {
                    format!("{who_text} {upn} has never signed in{licence}.")
                }
                None => return None,
                Some(t) if t <= cutoff => format!(
                    "{who_text} {upn} has not signed in for {} days{licence}. Last sign-in: {}",
                    asked.days,
                    rfc3339(t)
                ),
                Some(_) => return None,
            };
            Some(Finding::new(
                id.clone(),
                message,
                json!({"userPrincipalName": upn, "id": id, "lastSignIn": last.map(rfc3339),
                       "accountEnabled": u.account_enabled}),
            ))
        })
        .collect())
}

/// `InactiveUsers`: members who have not signed in (interactively or not) for
/// `DaysSinceLastLogin` days (default 90); `ExcludeDisabled` leaves disabled accounts
/// out. Users who never signed in are left out, as CIPP does.
#[derive(Debug, Clone, Copy)]
pub struct InactiveUsers;

const INACTIVE_USERS: AlertMeta = AlertMeta::new(
    "InactiveUsers",
    "Alert on users that have not logged in for X days",
    "1d",
    "GET users?$select=id,userPrincipalName,signInActivity,mail,userType,accountEnabled,assignedLicenses (&$filter=accountEnabled eq true with ExcludeDisabled)",
)
.inputs(&["DaysSinceLastLogin", "ExcludeDisabled"]);

#[async_trait]
impl Alert for InactiveUsers {
    fn meta(&self) -> &AlertMeta {
        &INACTIVE_USERS
    }

    fn validate(&self, input: &Value) -> Result<(), Error> {
        inactivity_input(&INACTIVE_USERS, Population::Members, input).map(|_| ())
    }

    async fn evaluate(&self, ctx: &AlertContext, input: &Value) -> Result<Vec<Finding>, Error> {
        inactive(ctx, &INACTIVE_USERS, Population::Members, input).await
    }
}

/// `InactiveGuestUsers`: guests who have not signed in for `DaysSinceLastLogin` days
/// (default 90); `ExcludeDisabled` leaves disabled accounts out.
#[derive(Debug, Clone, Copy)]
pub struct InactiveGuestUsers;

const INACTIVE_GUESTS: AlertMeta = AlertMeta::new(
    "InactiveGuestUsers",
    "Alert on guest users that have not logged in for X days",
    "1d",
    "GET users?$select=id,userPrincipalName,signInActivity,mail,userType,accountEnabled,assignedLicenses (&$filter=accountEnabled eq true with ExcludeDisabled)",
)
.inputs(&["DaysSinceLastLogin", "ExcludeDisabled"]);

#[async_trait]
impl Alert for InactiveGuestUsers {
    fn meta(&self) -> &AlertMeta {
        &INACTIVE_GUESTS
    }

    fn validate(&self, input: &Value) -> Result<(), Error> {
        inactivity_input(&INACTIVE_GUESTS, Population::Guests, input).map(|_| ())
    }

    async fn evaluate(&self, ctx: &AlertContext, input: &Value) -> Result<Vec<Finding>, Error> {
        inactive(ctx, &INACTIVE_GUESTS, Population::Guests, input).await
    }
}

/// `InactiveLicensedUsers`: users holding a licence who have not signed in for
/// `DaysSinceLastLogin` days (default 90); `ExcludeDisabled` leaves disabled accounts
/// out; `IncludeNeverSignedIn` also reports licensed users who never signed in.
#[derive(Debug, Clone, Copy)]
pub struct InactiveLicensedUsers;

const INACTIVE_LICENSED: AlertMeta = AlertMeta::new(
    "InactiveLicensedUsers",
    "Alert on licensed users that have not logged in for X days",
    "1d",
    "GET users?$select=id,userPrincipalName,signInActivity,mail,userType,accountEnabled,assignedLicenses (&$filter=accountEnabled eq true with ExcludeDisabled)",
)
.inputs(&["DaysSinceLastLogin", "ExcludeDisabled", "IncludeNeverSignedIn"]);

#[async_trait]
impl Alert for InactiveLicensedUsers {
    fn meta(&self) -> &AlertMeta {
        &INACTIVE_LICENSED
    }

    fn validate(&self, input: &Value) -> Result<(), Error> {
        inactivity_input(&INACTIVE_LICENSED, Population::Licensed, input).map(|_| ())
    }

    async fn evaluate(&self, ctx: &AlertContext, input: &Value) -> Result<Vec<Finding>, Error> {
        inactive(ctx, &INACTIVE_LICENSED, Population::Licensed, input).await
    }
}

// ---------------------------------------------------------------------------------------
// Risk and group changes

/// `NewRiskyUsers`: users Microsoft Entra ID Protection holds at risk (`atRisk` or
/// `confirmedCompromised`), one finding per user: raised when a user becomes risky,
/// changed when the risk level or state changes, resolved when remediated or dismissed.
/// Needs Entra ID P2 (`AAD_PREMIUM_P2`); a tenant without it has nothing to find.
#[derive(Debug, Clone, Copy)]
pub struct NewRiskyUsers;

const RISKY: AlertMeta = AlertMeta::new(
    "NewRiskyUsers",
    "Alert on new risky users (P2 License Required)",
    "30m",
    "GET subscribedSkus (AAD_PREMIUM_P2); GET identityProtection/riskyUsers?$top=500",
);

/// Whether a (not suspended) SKU carries a service plan named `plan`.
fn has_plan(skus: &[cipp_graph::model::SubscribedSku], plan: &str) -> bool {
    skus.iter()
        .filter(|s| s.capability_status.as_deref() != Some("Suspended"))
        .filter_map(|s| s.extra.get("servicePlans").and_then(Value::as_array))
        .flatten()
        .any(|p| {
            p["servicePlanName"].as_str() == Some(plan)
                && p["provisioningStatus"].as_str() != Some("Disabled")
        })
}

#[async_trait]
impl Alert for NewRiskyUsers {
    fn meta(&self) -> &AlertMeta {
        &RISKY
    }

    fn validate(&self, input: &Value) -> Result<(), Error> {
        no_input(&RISKY, input)
    }

    async fn evaluate(&self, ctx: &AlertContext, _input: &Value) -> Result<Vec<Finding>, Error> {
        let g = ctx.handle.graph();
        let Some(skus) = unless_absent(g.directory().subscribed_skus().await)? else {
            return Ok(Vec::new());
        };
        if !has_plan(&skus, "AAD_PREMIUM_P2") {
            return Ok(Vec::new());
        }
        let Some(risky) = unless_absent(g.identity_protection().risky_users().top(500).await)?
        else {
            return Ok(Vec::new());
        };
        Ok(risky
            .into_iter()
            .filter(|r| r.is_at_risk() && r.is_deleted != Some(true))
            .map(|r| {
                let upn = r.user_principal_name.clone().unwrap_or_else(|| r.id.clone());
                let level = r.risk_level.clone().unwrap_or_default();
                let severity = match level.as_str() {
                    "high" => "Critical",
                    "medium" => "Warning",
                    _ => "Info",
                };
                Finding::new(
                    r.id.clone(),
                    format!("Risky user detected: {upn} ({level} risk)"),
                    json!({"userPrincipalName": upn, "userDisplayName": r.user_display_name,
                           "riskLevel": level, "riskState": r.risk_state, "riskDetail": r.risk_detail,
                           "severity": severity}),
                )
            })
            .collect())
    }
}

/// `GroupMembershipChange`: members added to or removed from a watched group in the last
/// three hours (directory audits), one finding per record. `InputValue`: the group
/// names, comma-separated (or an array); `*` and `?` are wildcards, case is ignored.
#[derive(Debug, Clone, Copy)]
pub struct GroupMembershipChange;

const GROUP_CHANGE: AlertMeta = AlertMeta::new(
    "GroupMembershipChange",
    "Alert on group membership changes for monitored groups",
    "1h",
    "GET auditLogs/directoryAudits?$filter=(activityDisplayName eq 'Add member to group' or activityDisplayName eq 'Remove member from group') and activityDateTime ge <3 hours ago>",
)
.inputs(&["InputValue"]);

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct GroupChangeInput {
    #[serde(rename = "InputValue", default)]
    groups: Names,
}

fn group_change_input(input: &Value) -> Result<Vec<String>, Error> {
    let names = match input {
        Value::String(_) | Value::Array(_) => Names::from_value(input)
            .map_err(|e| bad_input(&GROUP_CHANGE, format!("InputValue: {e}")))?,
        _ => super::input::<GroupChangeInput>(&GROUP_CHANGE, input)?.groups,
    };
    if names.0.is_empty() {
        return Err(bad_input(
            &GROUP_CHANGE,
            "InputValue is empty: give the names of the groups to watch, comma-separated (* and ? are wildcards)",
        ));
    }
    Ok(names.0)
}

/// PowerShell's `-like` for `*` and `?`, ignoring case.
fn like(text: &str, pattern: &str) -> bool {
    let t: Vec<char> = text.to_lowercase().chars().collect();
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let (mut ti, mut pi) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            ti += 1;
            pi += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// The member and the group name of an `Add member to group` / `Remove member from
/// group` record: the member is the first target that is a user, service principal or
/// group; the group's name is its `Group.DisplayName` property (new value, else old), or
/// the name of the other target that is a group.
fn membership_change(r: &cipp_graph::model::DirectoryAudit) -> Option<(String, String)> {
    let is_member_type = |k: &str| {
        ["User", "ServicePrincipal", "Group"]
            .iter()
            .any(|t| t.eq_ignore_ascii_case(k))
    };
    let member_at = r
        .target_resources
        .iter()
        .position(|t| t.kind.as_deref().is_some_and(is_member_type))?;
    let member = &r.target_resources[member_at];
    let unquote = |s: &str| s.trim().trim_matches('"').to_owned();
    let from_property = std::iter::once(member)
        .chain(r.target_resources.iter())
        .flat_map(|t| t.modified_properties.iter())
        .find(|p| p.display_name.as_deref() == Some("Group.DisplayName"))
        .and_then(|p| {
            p.new_value
                .as_deref()
                .map(unquote)
                .filter(|s| !s.is_empty())
                .or_else(|| p.old_value.as_deref().map(unquote))
        })
        .filter(|s| !s.is_empty());
    let group = from_property.or_else(|| {
        r.target_resources
            .iter()
            .enumerate()
            .find(|(i, t)| {
                *i != member_at
                    && t.kind
                        .as_deref()
                        .is_some_and(|k| k.eq_ignore_ascii_case("Group"))
            })
            .and_then(|(_, t)| t.display_name.clone())
    })?;
    let member_name = member
        .user_principal_name
        .clone()
        .filter(|s| !s.is_empty())
        .or_else(|| member.display_name.clone())
        .or_else(|| member.id.clone())
        .unwrap_or_default();
    Some((member_name, group))
}

#[async_trait]
impl Alert for GroupMembershipChange {
    fn meta(&self) -> &AlertMeta {
        &GROUP_CHANGE
    }

    fn validate(&self, input: &Value) -> Result<(), Error> {
        group_change_input(input).map(|_| ())
    }

    async fn evaluate(&self, ctx: &AlertContext, input: &Value) -> Result<Vec<Finding>, Error> {
        let watched = group_change_input(input)?;
        let filter = AuditFilter {
            activities: vec![
                "Add member to group".to_owned(),
                "Remove member from group".to_owned(),
            ],
            since: Some(ctx.now - Duration::hours(3)),
            ..Default::default()
        };
        let Some(records) =
            unless_absent(ctx.handle.graph().audit().directory_audits(&filter).await)?
        else {
            return Ok(Vec::new());
        };
        Ok(records
            .into_iter()
            .filter_map(|r| {
                let (member, group) = membership_change(&r)?;
                if !watched.iter().any(|w| like(&group, w)) {
                    return None;
                }
                let added = r.activity_display_name.as_deref() == Some("Add member to group");
                let by = initiator(r.initiated_by.as_ref()).unwrap_or_default();
                Some(Finding::new(
                    r.id.clone(),
                    format!(
                        "{member} was {} group '{group}' by {by}",
                        if added { "added to" } else { "removed from" }
                    ),
                    json!({"groupName": group, "memberName": member, "action": r.activity_display_name,
                           "initiatedBy": by, "activityTime": r.activity_date_time}),
                ))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_matches_as_powershell() {
        assert!(like("Domain Admins", "domain admins"));
        assert!(like("Domain Admins", "Domain*"));
        assert!(like("Sales Team", "*team"));
        assert!(like("Sales Team", "S?les*"));
        assert!(!like("Sales Team", "Sales"));
        assert!(like("", "*"));
        assert!(!like("abc", "a?"));
    }

    #[test]
    fn package_accounts_are_recognised() {
        assert!(is_package_account(
            "package_1b2c3d4e-0000-4a4a-8b8b-0123456789ab@contoso.com"
        ));
        assert!(!is_package_account("package_x@contoso.com"));
        assert!(!is_package_account("adelev@contoso.com"));
        assert!(!is_package_account("pack"));
    }

    #[test]
    fn inputs_accept_numbers_as_strings_and_refuse_absurd_values() {
        assert_eq!(Days::from_value(&json!("30")), Ok(Days(Some(30))));
        assert_eq!(Days::from_value(&json!(30)), Ok(Days(Some(30))));
        assert_eq!(Days::from_value(&json!("")), Ok(Days(None)));
        assert!(Days::from_value(&json!(-1)).is_err());
        assert!(Days::from_value(&json!("0")).is_err());
        assert!(Days::from_value(&json!(36_501)).is_err());
        assert!(Days::from_value(&json!("ninety")).is_err());
        assert_eq!(Flag::from_value(&json!("True")), Ok(Flag(true)));
        assert!(Flag::from_value(&json!("maybe")).is_err());
        assert_eq!(
            Names::from_value(&json!("alice, bob,,ALICE")),
            Ok(Names(vec!["alice".into(), "bob".into()]))
        );
    }
}
