//! CIPP's audit-log alert templates (front end `src/data/AuditLogTemplates.json`), as
//! [`Rule`]s with CIPP's keys, names and conditions.
//!
//! 19 come from CIPP's file as published (new and edited inbox rules with their RSS,
//! forward and redirect variants; added to / removed from a role; sessions revoked; MFA
//! disabled; password reset; sign-in from a location not in a list, through a VPN / proxy /
//! anonymiser, or from a hosting provider; service principal created / removed; Temporary
//! Access Pass created). Two more complete the list of 21 that CIPP documents: external
//! forwarding set on a mailbox and the Exchange Administrator role granted; the copies of
//! CIPP's file we could read do not have them, so they are marked `from_cipp: false`.
//!
//! A preset is for all tenants and has no actions: set them with [`Rule::with_tenants`] and
//! [`Rule::with_actions`]. `UserLoggedInFromUnknownLocation` needs the allowed countries:
//! use [`unknown_location`] (its copy in [`all`] has an empty list, which — as in CIPP, where
//! an empty input drops the condition — alerts on every sign-in with a known location).

use serde_json::{json, Value};

use super::conditions::{Condition, Operator};
use super::{LogType, Rule};

/// One template.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Preset {
    /// CIPP's key (`New-InboxRule`, `badRepIP`, …); also the rule's id.
    pub key: &'static str,
    /// CIPP's name, as its alert wizard shows it; also the rule's name.
    pub name: &'static str,
    /// Whether the template is in CIPP's `AuditLogTemplates.json` (false for the two that
    /// complete CIPP's documented list).
    pub from_cipp: bool,
    /// The rule.
    pub rule: Rule,
}

/// The Exchange Administrator role's template id.
const EXCHANGE_ADMINISTRATOR_ROLE: &str = "29232cdf-9323-42fd-ade2-1d097af3e4de";

fn operation(op: &'static str) -> Condition {
    Condition::preset("Operation", Operator::Eq, json!(op))
}

fn cond(property: &'static str, operator: Operator, input: Value) -> Condition {
    Condition::preset(property, operator, input)
}

fn preset(
    key: &'static str,
    name: &'static str,
    log_type: LogType,
    conditions: Vec<Condition>,
) -> Preset {
    Preset {
        key,
        name,
        from_cipp: true,
        rule: Rule::new(key, name, log_type, conditions),
    }
}

fn inbox(
    key: &'static str,
    name: &'static str,
    op: &'static str,
    extra: Option<(&'static str, &'static str)>,
) -> Preset {
    let mut conditions = vec![operation(op)];
    if let Some((property, pattern)) = extra {
        conditions.push(cond(property, Operator::Like, json!(pattern)));
    }
    preset(key, name, LogType::Exchange, conditions)
}

fn directory(key: &'static str, name: &'static str, op: &'static str) -> Preset {
    preset(
        key,
        name,
        LogType::AzureActiveDirectory,
        vec![operation(op)],
    )
}

fn login(key: &'static str, name: &'static str, property: &'static str) -> Preset {
    preset(
        key,
        name,
        LogType::AzureActiveDirectory,
        vec![
            operation("UserLoggedIn"),
            cond(property, Operator::Eq, json!("true")),
        ],
    )
}

/// `UserLoggedInFromUnknownLocation` with its allowed countries (CIPP's country codes,
/// e.g. `["NL", "BE"]`): alerts on sign-ins whose client IP is in another country. Sign-ins
/// without location data (trusted or redacted IPs, IPs the [`super::IpInfo`] does not
/// know) do not alert; private addresses count as country `Unknown`, as in CIPP.
pub fn unknown_location(allowed_countries: &[&str]) -> Rule {
    Rule::new(
        "UserLoggedInFromUnknownLocation",
        "A user has logged in from a location not in the input list",
        LogType::AzureActiveDirectory,
        vec![
            operation("UserLoggedIn"),
            cond(
                "CIPPGeoLocation",
                Operator::NotIn,
                Value::Array(
                    allowed_countries
                        .iter()
                        .map(|c| Value::String((*c).to_owned()))
                        .collect(),
                ),
            ),
        ],
    )
}

/// The 21 templates, in CIPP's order (the two additions last).
pub fn all() -> Vec<Preset> {
    const NEW: &str = "New-InboxRule";
    const SET: &str = "Set-InboxRule";
    let mut out = vec![
        inbox(NEW, "A new Inbox rule is created", NEW, None),
        inbox(
            "New-InboxRuleRSS",
            "A new Inbox rule is created that forwards e-mails to the RSS feeds folder",
            NEW,
            Some(("MoveToFolder", "*RSS*")),
        ),
        inbox(
            "New-InboxRuleForward",
            "A new Inbox rule is created that forwards e-mails to a different email address",
            NEW,
            Some(("ForwardTo", "*@*")),
        ),
        inbox(
            "New-InboxRuleRedirect",
            "A new Inbox rule is created that redirects e-mails to a different email address",
            NEW,
            Some(("RedirectTo", "*@*")),
        ),
        inbox(SET, "A existing Inbox rule is edited", SET, None),
        inbox(
            "Set-InboxRuleRSS",
            "A existing Inbox rule is edited that forwards e-mails to the RSS feeds folder",
            SET,
            Some(("MoveToFolder", "*RSS*")),
        ),
        inbox(
            "Set-InboxRuleForward",
            "A existing Inbox rule is edited that forwards e-mails to a different email address",
            SET,
            Some(("ForwardTo", "*@*")),
        ),
        inbox(
            "Set-InboxRuleRedirect",
            "A existing Inbox rule is edited that redirects e-mails to a different email address",
            SET,
            Some(("RedirectTo", "*@*")),
        ),
        directory(
            "Add member to role.",
            "A user has been added to an admin role",
            "Add member to role.",
        ),
        directory(
            "Update StsRefreshTokenValidFrom Timestamp.",
            "A user sessions have been revoked",
            "Update StsRefreshTokenValidFrom Timestamp.",
        ),
        directory(
            "Disable Strong Authentication.",
            "A users MFA has been disabled",
            "Disable Strong Authentication.",
        ),
        directory(
            "Remove Member from a role.",
            "A user has been removed from a role",
            "Remove Member from a role.",
        ),
        directory(
            "Reset user password.",
            "A user password has been reset",
            "Reset user password.",
        ),
        Preset {
            key: "UserLoggedInFromUnknownLocation",
            name: "A user has logged in from a location not in the input list",
            from_cipp: true,
            rule: unknown_location(&[]),
        },
        directory(
            "Add service principal.",
            "A service principal has been created",
            "Add service principal.",
        ),
        directory(
            "Remove service principal.",
            "A service principal has been removed",
            "Remove service principal.",
        ),
        login(
            "badRepIP",
            "A user has logged in a using a known VPN, Proxy, Or anonymizer",
            "CIPPBadRepIP",
        ),
        login(
            "HostedIP",
            "A user has logged in a using a known hosting provider IP",
            "CIPPHostedIP",
        ),
        preset(
            "TAPCreated",
            "A Temporary Access Pass has been created for a user",
            LogType::AzureActiveDirectory,
            vec![
                operation("Update user."),
                cond("SecuredAccessPassData", Operator::Ne, json!("[]")),
                cond("SecuredAccessPassData", Operator::Like, json!("*PassId*")),
            ],
        ),
    ];
    let mut external = preset(
        "ExternalForwarding",
        "A mailbox has been set to forward e-mail to an external address",
        LogType::Exchange,
        vec![
            operation("Set-Mailbox"),
            cond("ForwardingSmtpAddress", Operator::Like, json!("*@*")),
        ],
    );
    external.from_cipp = false;
    let mut exchange_admin = preset(
        "ExchangeAdminGranted",
        "A user has been added to the Exchange Administrator role",
        LogType::AzureActiveDirectory,
        vec![
            operation("Add member to role."),
            cond(
                "Role.TemplateId",
                Operator::Like,
                json!(format!("*{EXCHANGE_ADMINISTRATOR_ROLE}*")),
            ),
        ],
    );
    exchange_admin.from_cipp = false;
    out.push(external);
    out.push(exchange_admin);
    out
}

/// The template with CIPP's key `key` (ignoring case).
pub fn get(key: &str) -> Option<Preset> {
    all().into_iter().find(|p| p.key.eq_ignore_ascii_case(key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit_rules::{evaluate, IpDetails, RuleAction, RuleTenants, StaticIpInfo};
    use serde_json::json;

    const ORG: &str = "0f3b2c1d-8a7e-4d6f-b5c4-3a2b1c0d9e8f";

    /// An Exchange cmdlet record as the unified audit log delivers it.
    fn exchange(id: &str, op: &str, object: &str, params: Value) -> Value {
        json!({
            "CreationTime": "2024-05-02T09:14:22", "Id": id, "Operation": op,
            "OrganizationId": ORG, "RecordType": 1, "ResultStatus": "True",
            "UserKey": "10032002A1B2C3D4", "UserType": 0, "Version": 1, "Workload": "Exchange",
            "ClientIP": "203.0.113.7:51234", "ObjectId": object, "UserId": "meganb@contoso.com",
            "AppId": "00000002-0000-0ff1-ce00-000000000000", "ClientAppId": "", "ExternalAccess": false,
            "OrganizationName": "contoso.onmicrosoft.com", "OriginatingServer": "AM0PR01MB1234 (15.20.7452.028)",
            "Parameters": params, "SessionId": "8a1c6f0e-3b2d-4e5f-a6b7-c8d9e0f1a2b3"
        })
    }

    fn inbox_rule(op: &str, extra: Value) -> Value {
        let mut params = vec![
            json!({"Name": "AlwaysDeleteOutlookRulesBlob", "Value": "False"}),
            json!({"Name": "Force", "Value": "False"}),
            json!({"Name": "Name", "Value": "."}),
            json!({"Name": "SubjectOrBodyContainsWords", "Value": "invoice;payment;wire"}),
            json!({"Name": "StopProcessingRules", "Value": "True"}),
        ];
        if let Value::Array(more) = extra {
            params.extend(more);
        }
        exchange(
            "4c1e8a55-2d3b-4f6a-9e7c-0b1a2c3d4e5f",
            op,
            "meganb@contoso.com\\.",
            Value::Array(params),
        )
    }

    /// An Entra ID directory change.
    fn directory_change(op: &str, target: &str, modified: Value) -> Value {
        json!({
            "CreationTime": "2024-05-02T10:01:44", "Id": "9b2f4d6e-1a3c-4e5b-8d7f-6a5b4c3d2e1f", "Operation": op,
            "OrganizationId": ORG, "RecordType": 8, "ResultStatus": "Success", "UserKey": "Not Available",
            "UserType": 0, "Version": 1, "Workload": "AzureActiveDirectory", "ObjectId": target,
            "UserId": "admin@contoso.onmicrosoft.com", "AzureActiveDirectoryEventType": 1,
            "ExtendedProperties": [
                {"Name": "additionalDetails", "Value": "{}"},
                {"Name": "extendedAuditEventCategory", "Value": "User"}
            ],
            "ModifiedProperties": modified,
            "Actor": [{"ID": "admin@contoso.onmicrosoft.com", "Type": 5}],
            "ActorContextId": ORG, "InterSystemsId": "1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9",
            "IntraSystemId": "7e6d5c4b-3a29-4180-9f7e-6d5c4b3a2918", "SupportTicketId": "",
            "Target": [{"ID": "User_5d4c3b2a-1908-4f7e-8d6c-5b4a39281706", "Type": 2}, {"ID": target, "Type": 5}],
            "TargetContextId": ORG
        })
    }

    fn role_change(op: &str, role: &str, template: &str) -> Value {
        directory_change(
            op,
            "adelev@contoso.com",
            json!([
                {"Name": "Role.ObjectID", "NewValue": "c1a2b3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d", "OldValue": ""},
                {"Name": "Role.DisplayName", "NewValue": role, "OldValue": ""},
                {"Name": "Role.TemplateId", "NewValue": template, "OldValue": ""},
                {"Name": "Role.WellKnownObjectName", "NewValue": role.replace(' ', ""), "OldValue": ""}
            ]),
        )
    }

    fn plain_change(op: &str) -> Value {
        directory_change(
            op,
            "adelev@contoso.com",
            json!([{"Name": "Included Updated Properties", "NewValue": "", "OldValue": ""}]),
        )
    }

    /// A successful interactive sign-in.
    fn sign_in(ip: &str) -> Value {
        json!({
            "CreationTime": "2024-05-02T07:55:10", "Id": "3e5f7a9b-2c4d-4e6f-8a0b-1c2d3e4f5a6b", "Operation": "UserLoggedIn",
            "OrganizationId": ORG, "RecordType": 15, "ResultStatus": "Success", "UserKey": "10032002A1B2C3D4",
            "UserType": 0, "Version": 1, "Workload": "AzureActiveDirectory", "ClientIP": ip,
            "ObjectId": "00000003-0000-0ff1-ce00-000000000000", "UserId": "meganb@contoso.com",
            "AzureActiveDirectoryEventType": 1,
            "ExtendedProperties": [
                {"Name": "ResultStatusDetail", "Value": "Redirect"},
                {"Name": "UserAgent", "Value": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"},
                {"Name": "RequestType", "Value": "OAuth2:Authorize"}
            ],
            "ModifiedProperties": [],
            "Actor": [{"ID": "5d4c3b2a-1908-4f7e-8d6c-5b4a39281706", "Type": 0}, {"ID": "meganb@contoso.com", "Type": 5}],
            "ActorContextId": ORG, "ActorIpAddress": ip, "InterSystemsId": "2a3b4c5d-6e7f-4809-9a1b-2c3d4e5f6a7b",
            "IntraSystemId": "4b5c6d7e-8f90-4a1b-2c3d-4e5f6a7b8c9d", "SupportTicketId": "",
            "Target": [{"ID": "00000003-0000-0ff1-ce00-000000000000", "Type": 0}],
            "TargetContextId": ORG, "ApplicationId": "4765445b-32c6-49b0-83e6-1d93765276ca",
            "DeviceProperties": [{"Name": "OS", "Value": "Windows 10"}, {"Name": "BrowserType", "Value": "Chrome"}],
            "ErrorNumber": "0"
        })
    }

    fn ips() -> StaticIpInfo {
        StaticIpInfo::new()
            .with(
                "203.0.113.7".parse().expect("ip"),
                IpDetails::new("NL").with_isp("KPN"),
            )
            .with(
                "198.51.100.23".parse().expect("ip"),
                IpDetails::new("NL").with_proxy(true),
            )
            .with(
                "192.0.2.44".parse().expect("ip"),
                IpDetails::new("US")
                    .with_hosting(true)
                    .with_isp("DigitalOcean"),
            )
            .with("198.51.100.99".parse().expect("ip"), IpDetails::new("RU"))
    }

    fn rule(key: &str) -> Rule {
        get(key).expect("preset").rule
    }

    fn check(rule: &Rule, matching: Value, other: Value) {
        let ip = ips();
        let m = evaluate(rule, &[matching], &ip);
        assert_eq!(m.len(), 1, "{} should match", rule.id);
        assert!(m[0].record_id.is_some());
        assert!(
            evaluate(rule, &[other], &ip).is_empty(),
            "{} should not match",
            rule.id
        );
    }

    #[test]
    fn twenty_one_presets_with_unique_keys_and_valid_conditions() {
        let all = all();
        assert_eq!(all.len(), 21);
        assert_eq!(all.iter().filter(|p| p.from_cipp).count(), 19);
        let mut keys: Vec<_> = all.iter().map(|p| p.key.to_ascii_lowercase()).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), 21);
        for p in &all {
            assert_eq!(p.rule.id, p.key);
            assert_eq!(p.rule.name, p.name);
            assert!(!p.rule.conditions.is_empty());
            assert_eq!(p.rule.tenants, RuleTenants::all());
            // Every preset condition passes the checks of a loaded rule.
            let v = serde_json::to_value(&p.rule).expect("ser");
            let back: Rule = serde_json::from_value(v).expect("a preset loads as a rule");
            assert_eq!(back, p.rule);
        }
        let with_actions = rule("badRepIP").with_actions(vec![RuleAction::BecRemediate]);
        assert_eq!(with_actions.actions, vec![RuleAction::BecRemediate]);
        assert!(get("new-inboxrule").is_some());
        assert!(get("nope").is_none());
    }

    #[test]
    fn new_inbox_rule() {
        check(
            &rule("New-InboxRule"),
            inbox_rule("New-InboxRule", json!([])),
            inbox_rule("Remove-InboxRule", json!([])),
        );
    }

    #[test]
    fn new_inbox_rule_rss() {
        check(
            &rule("New-InboxRuleRSS"),
            inbox_rule(
                "New-InboxRule",
                json!([{"Name": "MoveToFolder", "Value": "RSS Feeds"}]),
            ),
            inbox_rule(
                "New-InboxRule",
                json!([{"Name": "MoveToFolder", "Value": "Archive"}]),
            ),
        );
    }

    #[test]
    fn new_inbox_rule_forward() {
        check(
            &rule("New-InboxRuleForward"),
            inbox_rule(
                "New-InboxRule",
                json!([{"Name": "ForwardTo", "Value": "\"Eve\" [SMTP:eve@evil.example]"}]),
            ),
            inbox_rule(
                "New-InboxRule",
                json!([{"Name": "RedirectTo", "Value": "eve@evil.example"}]),
            ),
        );
    }

    #[test]
    fn new_inbox_rule_redirect() {
        check(
            &rule("New-InboxRuleRedirect"),
            inbox_rule(
                "New-InboxRule",
                json!([{"Name": "RedirectTo", "Value": "eve@evil.example"}]),
            ),
            inbox_rule(
                "New-InboxRule",
                json!([{"Name": "ForwardTo", "Value": "eve@evil.example"}]),
            ),
        );
    }

    #[test]
    fn set_inbox_rule() {
        check(
            &rule("Set-InboxRule"),
            inbox_rule("Set-InboxRule", json!([])),
            inbox_rule("New-InboxRule", json!([])),
        );
    }

    #[test]
    fn set_inbox_rule_rss() {
        check(
            &rule("Set-InboxRuleRSS"),
            inbox_rule(
                "Set-InboxRule",
                json!([{"Name": "MoveToFolder", "Value": "RSS Subscriptions"}]),
            ),
            inbox_rule(
                "New-InboxRule",
                json!([{"Name": "MoveToFolder", "Value": "RSS Subscriptions"}]),
            ),
        );
    }

    #[test]
    fn set_inbox_rule_forward() {
        check(
            &rule("Set-InboxRuleForward"),
            inbox_rule(
                "Set-InboxRule",
                json!([{"Name": "ForwardTo", "Value": "eve@evil.example;mallory@evil.example"}]),
            ),
            inbox_rule(
                "Set-InboxRule",
                json!([{"Name": "ForwardTo", "Value": "Finance Team"}]),
            ),
        );
    }

    #[test]
    fn set_inbox_rule_redirect() {
        check(
            &rule("Set-InboxRuleRedirect"),
            inbox_rule(
                "Set-InboxRule",
                json!([{"Name": "RedirectTo", "Value": "eve@evil.example"}]),
            ),
            inbox_rule(
                "Set-InboxRule",
                json!([{"Name": "MoveToFolder", "Value": "Deleted Items"}]),
            ),
        );
    }

    #[test]
    fn added_to_admin_role() {
        check(
            &rule("Add member to role."),
            role_change(
                "Add member to role.",
                "Global Administrator",
                "62e90394-69f5-4237-9190-012177145e10",
            ),
            role_change(
                "Remove member from role.",
                "Global Administrator",
                "62e90394-69f5-4237-9190-012177145e10",
            ),
        );
    }

    #[test]
    fn sessions_revoked() {
        check(
            &rule("Update StsRefreshTokenValidFrom Timestamp."),
            directory_change(
                "Update StsRefreshTokenValidFrom Timestamp.",
                "meganb@contoso.com",
                json!([{"Name": "StsRefreshTokensValidFrom", "NewValue": "[\"2024-05-02T10:01:44Z\"]", "OldValue": "[\"2024-01-10T08:00:00Z\"]"}]),
            ),
            plain_change("Update user."),
        );
    }

    #[test]
    fn mfa_disabled() {
        check(
            &rule("Disable Strong Authentication."),
            plain_change("Disable Strong Authentication."),
            plain_change("Enable Strong Authentication."),
        );
    }

    #[test]
    fn removed_from_role() {
        check(
            &rule("Remove Member from a role."),
            role_change(
                "Remove Member from a role.",
                "User Administrator",
                "fe930be7-5e62-47db-91af-98c3a49a38b1",
            ),
            role_change(
                "Add member to role.",
                "User Administrator",
                "fe930be7-5e62-47db-91af-98c3a49a38b1",
            ),
        );
    }

    #[test]
    fn password_reset() {
        check(
            &rule("Reset user password."),
            plain_change("Reset user password."),
            plain_change("Change user password."),
        );
    }

    #[test]
    fn logged_in_from_unknown_location() {
        let rule = unknown_location(&["NL", "BE"]);
        check(
            &rule,
            sign_in("198.51.100.99"),
            sign_in("203.0.113.7:61000"),
        );
        // An IP nothing is known about has no location data: no alert.
        assert!(evaluate(&rule, &[sign_in("2001:db8::77")], &ips()).is_empty());
        // The preset's own copy has no countries yet.
        assert_eq!(
            rule.conditions.len(),
            get("UserLoggedInFromUnknownLocation")
                .expect("p")
                .rule
                .conditions
                .len()
        );
    }

    #[test]
    fn service_principal_created() {
        let mut sp = plain_change("Add service principal.");
        sp["ObjectId"] = json!("9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a");
        check(
            &rule("Add service principal."),
            sp,
            plain_change("Add service principal credentials."),
        );
    }

    #[test]
    fn service_principal_removed() {
        check(
            &rule("Remove service principal."),
            plain_change("Remove service principal."),
            plain_change("Add service principal."),
        );
    }

    #[test]
    fn logged_in_through_anonymiser() {
        check(
            &rule("badRepIP"),
            sign_in("198.51.100.23"),
            sign_in("203.0.113.7"),
        );
    }

    #[test]
    fn logged_in_from_hosting_provider() {
        check(
            &rule("HostedIP"),
            sign_in("192.0.2.44"),
            sign_in("198.51.100.23"),
        );
    }

    #[test]
    fn temporary_access_pass_created() {
        let tap = directory_change(
            "Update user.",
            "meganb@contoso.com",
            json!([
                {"Name": "SecuredAccessPassData", "NewValue": "[{\"PassId\":\"5f1e2d3c-4b5a-4697-8a9b-0c1d2e3f4a5b\",\"CreatedDateTime\":\"2024-05-02T10:01:44Z\",\"LifetimeInMinutes\":60,\"IsUsableOnce\":true}]", "OldValue": "[]"},
                {"Name": "Included Updated Properties", "NewValue": "SecuredAccessPassData", "OldValue": ""}
            ]),
        );
        let other = directory_change(
            "Update user.",
            "meganb@contoso.com",
            json!([{"Name": "DisplayName", "NewValue": "[\"Megan B.\"]", "OldValue": "[\"Megan Bowen\"]"}]),
        );
        check(&rule("TAPCreated"), tap, other);
    }

    #[test]
    fn external_forwarding() {
        let set = |value: &str| {
            exchange(
                "7d6c5b4a-3928-4170-8f6e-5d4c3b2a1908",
                "Set-Mailbox",
                "contoso.onmicrosoft.com/Users/meganb",
                json!([
                    {"Name": "Identity", "Value": "meganb@contoso.com"},
                    {"Name": "ForwardingSmtpAddress", "Value": value},
                    {"Name": "DeliverToMailboxAndForward", "Value": "True"}
                ]),
            )
        };
        check(
            &rule("ExternalForwarding"),
            set("smtp:exfil@evil.example"),
            set(""),
        );
    }

    #[test]
    fn exchange_admin_granted() {
        check(
            &rule("ExchangeAdminGranted"),
            role_change(
                "Add member to role.",
                "Exchange Administrator",
                EXCHANGE_ADMINISTRATOR_ROLE,
            ),
            role_change(
                "Add member to role.",
                "User Administrator",
                "fe930be7-5e62-47db-91af-98c3a49a38b1",
            ),
        );
    }
}
