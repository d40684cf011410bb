//! Exchange Online configuration objects held in the generic noun family of
//! [`super::ProtectionState`]: organisation-wide singletons (`OrganizationConfig`,
//! `TransportConfig`, `ExternalInOutlook`, `AtpPolicyForO365`), named configuration objects
//! (remote domains, OWA and sharing policies, role assignment policies), the Defender
//! policies and rules (anti-phishing, malware, Safe Attachments, outbound spam, report
//! submission) and the DKIM and role-assignment rows the dedicated cmdlets use. Each noun
//! has Exchange Online's documented defaults for a new tenant, the parameters its `Set-*`
//! binds, and the value checks Exchange applies to them.

use serde_json::{json, Value};

/// How a noun's objects are addressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Objects with names (`-Identity` on `Set-*`, `-Name` on `New-*`).
    Named,
    /// One object of a fixed name: `Set-*` takes no `-Identity`, `New-*` (where it exists)
    /// takes no `-Name` and fails when the object exists.
    Fixed(&'static str),
}

/// One noun of the family: its shape, whether unknown parameters are refused, and the
/// objects a new tenant has.
#[derive(Clone, Copy, Debug)]
pub struct NounSpec {
    /// The noun (`OrganizationConfig`).
    pub noun: &'static str,
    /// How its objects are addressed.
    pub shape: Shape,
    /// The objects every new tenant has (built in, `IsDefault` where the noun has it).
    pub builtin: &'static [&'static str],
}

/// The configuration nouns, with what a new tenant has.
pub const CONFIG_NOUNS: &[NounSpec] = &[
    NounSpec {
        noun: "OrganizationConfig",
        shape: Shape::Fixed("OrganizationConfig"),
        builtin: &["OrganizationConfig"],
    },
    NounSpec {
        noun: "TransportConfig",
        shape: Shape::Fixed("Transport Settings"),
        builtin: &["Transport Settings"],
    },
    NounSpec {
        noun: "ExternalInOutlook",
        shape: Shape::Fixed("ExternalInOutlook"),
        builtin: &["ExternalInOutlook"],
    },
    NounSpec {
        noun: "AtpPolicyForO365",
        shape: Shape::Fixed("Default"),
        builtin: &["Default"],
    },
    NounSpec {
        noun: "ReportSubmissionPolicy",
        shape: Shape::Fixed("DefaultReportSubmissionPolicy"),
        builtin: &["DefaultReportSubmissionPolicy"],
    },
    NounSpec {
        noun: "ReportSubmissionRule",
        shape: Shape::Named,
        builtin: &[],
    },
    NounSpec {
        noun: "RemoteDomain",
        shape: Shape::Named,
        builtin: &["Default"],
    },
    NounSpec {
        noun: "OwaMailboxPolicy",
        shape: Shape::Named,
        builtin: &["OwaMailboxPolicy-Default"],
    },
    NounSpec {
        noun: "SharingPolicy",
        shape: Shape::Named,
        builtin: &["Default Sharing Policy"],
    },
    NounSpec {
        noun: "RoleAssignmentPolicy",
        shape: Shape::Named,
        builtin: &["Default Role Assignment Policy"],
    },
    NounSpec {
        noun: "AntiPhishPolicy",
        shape: Shape::Named,
        builtin: &["Office365 AntiPhish Default"],
    },
    NounSpec {
        noun: "AntiPhishRule",
        shape: Shape::Named,
        builtin: &[],
    },
    NounSpec {
        noun: "MalwareFilterPolicy",
        shape: Shape::Named,
        builtin: &["Default"],
    },
    NounSpec {
        noun: "MalwareFilterRule",
        shape: Shape::Named,
        builtin: &[],
    },
    NounSpec {
        noun: "SafeAttachmentPolicy",
        shape: Shape::Named,
        builtin: &[],
    },
    NounSpec {
        noun: "SafeAttachmentRule",
        shape: Shape::Named,
        builtin: &[],
    },
    NounSpec {
        noun: "HostedOutboundSpamFilterPolicy",
        shape: Shape::Named,
        builtin: &["Default"],
    },
];

/// The spec of a configuration noun (case-insensitive).
pub fn spec(noun: &str) -> Option<&'static NounSpec> {
    CONFIG_NOUNS
        .iter()
        .find(|s| s.noun.eq_ignore_ascii_case(noun))
}

/// Properties the server owns: never bound by `New-*`/`Set-*`.
pub const SERVER_OWNED: &[&str] = &[
    "Identity",
    "Id",
    "Guid",
    "DistinguishedName",
    "ExchangeVersion",
    "ObjectState",
    "IsValid",
    "WhenCreated",
    "WhenCreatedUTC",
    "WhenChanged",
    "WhenChangedUTC",
    "IsDefault",
    "IsDehydrated",
    "IsBuiltInProtection",
    "AssignedRoles",
    "RoleAssignments",
    "State",
    "DisplayName",
    "OrganizationId",
];

/// The 53 file types of Exchange Online's default malware filter (the common attachments
/// filter).
pub const DEFAULT_MALWARE_FILE_TYPES: &[&str] = &[
    "ace", "ani", "apk", "app", "appx", "arj", "bat", "cab", "cmd", "com", "deb", "dex", "dll",
    "docm", "elf", "exe", "hta", "img", "iso", "jar", "jnlp", "kext", "lha", "lib", "library",
    "lnk", "lzh", "macho", "msc", "msi", "msix", "msp", "mst", "pif", "ppa", "ppam", "reg", "rev",
    "scf", "scr", "sct", "sys", "uif", "vb", "vbe", "vbs", "vxd", "wsc", "wsf", "wsh", "xll", "xz",
    "z",
];

/// The roles of the default role assignment policy of a new tenant.
pub const DEFAULT_USER_ROLES: &[&str] = &[
    "MyContactInformation",
    "MyProfileInformation",
    "MyDistributionGroupMembership",
    "MyRetentionPolicies",
    "My Marketplace Apps",
    "My Custom Apps",
    "My ReadWriteMailbox Apps",
    "MyTextMessaging",
    "MyVoiceMail",
    "MyBaseOptions",
    "MyMailSubscriptions",
    "MyDistributionGroups",
    "MyTeamMailboxes",
];

/// The properties of a new object of a configuration noun, before its parameters apply;
/// `None` for a noun not held here.
pub fn defaults(noun: &str) -> Option<Value> {
    Some(match noun {
        "OrganizationConfig" => json!({
            "AuditDisabled": false, "AutoExpandingArchiveEnabled": false, "BookingsEnabled": true,
            "FocusedInboxOn": true, "IsDehydrated": false,
            "MailTipsAllTipsEnabled": true, "MailTipsExternalRecipientsTipsEnabled": false,
            "MailTipsGroupMetricsEnabled": true, "MailTipsLargeAudienceThreshold": 25,
            "MailTipsMailboxSourcedTipsEnabled": true, "MessageRecallEnabled": null,
            "OnlineMeetingsByDefaultEnabled": null, "SendFromAliasEnabled": false,
            "RejectDirectSend": false, "ShortenEventScopeDefault": "None",
            "DefaultMinutesToReduceShortEventsBy": 5, "DefaultMinutesToReduceLongEventsBy": 10,
            "OAuth2ClientProfileEnabled": true, "EwsEnabled": null,
            "ActivityBasedAuthenticationTimeoutEnabled": true,
            "ActivityBasedAuthenticationTimeoutInterval": "06:00:00",
            "CustomerLockBoxEnabled": false, "ReadTrackingEnabled": false,
            "SmtpActionableMessagesEnabled": true, "ConnectorsEnabled": true,
            "PublicFoldersEnabled": "Local", "DirectReportsGroupAutoCreationEnabled": false
        }),
        "TransportConfig" => json!({
            "SmtpClientAuthenticationDisabled": true, "MessageExpiration": "1.00:00:00",
            "MaxSendSize": "35 MB (36,700,160 bytes)", "MaxReceiveSize": "36 MB (37,748,736 bytes)",
            "ExternalDelayDsnEnabled": true, "InternalDsnSendHtml": true,
            "AllowLegacyTLSClients": false, "ReplyAllStormProtectionEnabled": true,
            "ReplyAllStormDetectionMinimumRecipients": 2500, "ReplyAllStormDetectionMinimumReplies": 10,
            "ReplyAllStormBlockDurationHours": 6, "JournalingReportNdrTo": "",
            "TLSReceiveDomainSecureList": [], "TLSSendDomainSecureList": [],
            "ConvertDisclaimerWrapperToEml": false, "AddressBookPolicyRoutingEnabled": false,
            "ClearCategories": true, "Rfc2231EncodingEnabled": false,
            "HeaderPromotionModeSetting": "NoCreate", "VoicemailJournalingEnabled": true
        }),
        "ExternalInOutlook" => json!({"Enabled": false, "AllowList": []}),
        "AtpPolicyForO365" => json!({
            "EnableATPForSPOTeamsODB": false, "EnableSafeDocs": false, "AllowSafeDocsOpen": false
        }),
        "ReportSubmissionPolicy" => json!({
            "EnableReportToMicrosoft": true, "ReportJunkToCustomizedAddress": false,
            "ReportNotJunkToCustomizedAddress": false, "ReportPhishToCustomizedAddress": false,
            "ReportJunkAddresses": [], "ReportNotJunkAddresses": [], "ReportPhishAddresses": [],
            "ReportChatMessageEnabled": true, "ReportChatMessageToCustomizedAddressEnabled": false,
            "EnableThirdPartyAddress": false, "ThirdPartyReportAddresses": [],
            "DisableUserSubmissionOptions": false, "PreSubmitMessageEnabled": true,
            "PostSubmitMessageEnabled": true, "EnableUserEmailNotification": false
        }),
        "ReportSubmissionRule" => rule_defaults(json!({"SentTo": []})),
        "RemoteDomain" => json!({
            "DomainName": "*", "IsInternal": false, "TNEFEnabled": null, "AutoReplyEnabled": true,
            "AutoForwardEnabled": true, "DeliveryReportEnabled": true, "NDREnabled": true,
            "MeetingForwardNotificationEnabled": false, "ContentType": "MimeHtmlText",
            "CharacterSet": null, "AllowedOOFType": "External", "TrustedMailOutboundEnabled": false,
            "TrustedMailInboundEnabled": false, "UseSimpleDisplayName": false,
            "DisplaySenderName": true, "LineWrapSize": "Unlimited"
        }),
        "OwaMailboxPolicy" => json!({
            "AdditionalStorageProvidersAvailable": true, "ThirdPartyFileProvidersEnabled": false,
            "ActiveSyncIntegrationEnabled": true, "WacExternalServicesEnabled": true,
            "WacOMEXEnabled": false, "ConditionalAccessPolicy": "Off",
            "PersonalAccountCalendarsEnabled": true, "OutlookBetaToggleEnabled": true,
            "BookingsMailboxCreationEnabled": true, "ItemsToOtherAccountsEnabled": true,
            "DirectFileAccessOnPublicComputersEnabled": true,
            "DirectFileAccessOnPrivateComputersEnabled": true, "IsDefault": false
        }),
        "SharingPolicy" => json!({
            "Domains": ["Anonymous:CalendarSharingFreeBusyReviewer", "*:CalendarSharingFreeBusySimple"],
            "Enabled": true, "Default": false
        }),
        "RoleAssignmentPolicy" => json!({
            "Description": "", "IsDefault": false, "AssignedRoles": [], "RoleAssignments": []
        }),
        "AntiPhishPolicy" => json!({
            "AdminDisplayName": "", "Enabled": true, "PhishThresholdLevel": 1,
            "EnableMailboxIntelligence": true, "EnableMailboxIntelligenceProtection": false,
            "EnableSpoofIntelligence": true, "EnableFirstContactSafetyTips": false,
            "EnableSimilarUsersSafetyTips": false, "EnableSimilarDomainsSafetyTips": false,
            "EnableUnusualCharactersSafetyTips": false, "EnableUnauthenticatedSender": true,
            "EnableViaTag": true, "AuthenticationFailAction": "MoveToJmf",
            "SpoofQuarantineTag": "DefaultFullAccessPolicy",
            "MailboxIntelligenceProtectionAction": "NoAction",
            "MailboxIntelligenceQuarantineTag": "DefaultFullAccessPolicy",
            "TargetedUserProtectionAction": "NoAction",
            "TargetedUserQuarantineTag": "DefaultFullAccessPolicy",
            "TargetedDomainProtectionAction": "NoAction",
            "TargetedDomainQuarantineTag": "DefaultFullAccessPolicy",
            "EnableOrganizationDomainsProtection": false, "EnableTargetedDomainsProtection": false,
            "EnableTargetedUserProtection": false, "TargetedUsersToProtect": [],
            "TargetedDomainsToProtect": [], "ExcludedDomains": [], "ExcludedSenders": [],
            "HonorDmarcPolicy": true, "DmarcQuarantineAction": "Quarantine",
            "DmarcRejectAction": "Reject", "IsDefault": false
        }),
        "MalwareFilterPolicy" => json!({
            "AdminDisplayName": "", "EnableFileFilter": true, "FileTypeAction": "Reject",
            "FileTypes": DEFAULT_MALWARE_FILE_TYPES, "ZapEnabled": true,
            "QuarantineTag": "AdminOnlyAccessPolicy",
            "EnableInternalSenderAdminNotifications": false, "InternalSenderAdminAddress": null,
            "EnableExternalSenderAdminNotifications": false, "ExternalSenderAdminAddress": null,
            "CustomNotifications": false, "IsDefault": false
        }),
        "SafeAttachmentPolicy" => json!({
            "AdminDisplayName": "", "Enable": false, "Action": "Block",
            "QuarantineTag": "AdminOnlyAccessPolicy", "Redirect": false, "RedirectAddress": null,
            "ActionOnError": true, "IsBuiltInProtection": false
        }),
        "HostedOutboundSpamFilterPolicy" => json!({
            "AdminDisplayName": "", "AutoForwardingMode": "Automatic", "NotifyOutboundSpam": false,
            "NotifyOutboundSpamRecipients": [], "BccSuspiciousOutboundMail": false,
            "BccSuspiciousOutboundAdditionalRecipients": [], "RecipientLimitExternalPerHour": 0,
            "RecipientLimitInternalPerHour": 0, "RecipientLimitPerDay": 0,
            "ActionWhenThresholdReached": "BlockUserForToday", "IsDefault": false
        }),
        "AntiPhishRule" | "MalwareFilterRule" | "SafeAttachmentRule" => rule_defaults(json!({})),
        _ => return None,
    })
}

fn rule_defaults(mut extra: Value) -> Value {
    let base = json!({
        "State": "Enabled", "Comments": null, "SentTo": null, "SentToMemberOf": null,
        "RecipientDomainIs": null, "ExceptIfSentTo": null, "ExceptIfSentToMemberOf": null,
        "ExceptIfRecipientDomainIs": null
    });
    if let (Value::Object(b), Value::Object(e)) = (base, &mut extra) {
        for (k, v) in b {
            e.entry(k).or_insert(v);
        }
    }
    extra
}

/// What a built-in object has beyond its noun's defaults.
pub fn builtin_extra(noun: &str, name: &str) -> Value {
    match (noun, name) {
        ("SharingPolicy", _) => json!({"Default": true}),
        ("OwaMailboxPolicy", _) => json!({"IsDefault": true}),
        ("RoleAssignmentPolicy", _) => json!({
            "IsDefault": true,
            "Description": "This policy grants end users the permission to set their options in Outlook on the web and perform other self-administration tasks.",
            "AssignedRoles": DEFAULT_USER_ROLES,
            "RoleAssignments": DEFAULT_USER_ROLES.iter().map(|r| format!("{r}-Default Role Assignment Policy")).collect::<Vec<_>>()
        }),
        ("AntiPhishPolicy" | "MalwareFilterPolicy" | "HostedOutboundSpamFilterPolicy", _) => {
            json!({"IsDefault": true})
        }
        _ => json!({}),
    }
}

/// The rows of the management role assignments of the default role assignment policy (the
/// end-user roles of a new tenant).
pub fn default_role_assignments() -> Vec<Value> {
    DEFAULT_USER_ROLES
        .iter()
        .map(|role| {
            let name = format!("{role}-Default Role Assignment Policy");
            json!({
                "Name": name, "Identity": name, "Role": role,
                "RoleAssignee": "Default Role Assignment Policy",
                "RoleAssigneeName": "Default Role Assignment Policy",
                "RoleAssigneeType": "RoleAssignmentPolicy", "AssignmentMethod": "Direct",
                "Enabled": true, "RecipientWriteScope": "Self", "ConfigWriteScope": "None",
                "Guid": crate::state::synthetic_guid(&format!("role-assignment-{role}"))
            })
        })
        .collect()
}

/// A check Exchange applies to a parameter's value.
#[derive(Clone, Copy, Debug)]
enum Allowed {
    /// One of these names (case-insensitive; stored in this spelling).
    Enum(&'static str, &'static [&'static str]),
    /// A whole number in this range.
    Range(i64, i64),
    /// An SMTP address, or a list of them.
    Smtp,
    /// A time span (`[d.]hh:mm:ss`) in this range, in seconds.
    TimeSpan(i64, i64),
}

const SPAM_ACTIONS: &[&str] = &[
    "MoveToJmf",
    "AddXHeader",
    "ModifySubject",
    "Redirect",
    "Delete",
    "Quarantine",
    "NoAction",
];
const IMPERSONATION_ACTIONS: &[&str] = &[
    "NoAction",
    "MoveToJmf",
    "Redirect",
    "Quarantine",
    "Delete",
    "BccMessage",
];

fn allowed(noun: &str, key: &str) -> Option<Allowed> {
    let k = key.to_ascii_lowercase();
    Some(match (noun, k.as_str()) {
        (
            "HostedContentFilterPolicy",
            "spamaction" | "highconfidencespamaction" | "bulkspamaction" | "phishspamaction",
        ) => Allowed::Enum("SpamFilteringAction", SPAM_ACTIONS),
        ("HostedContentFilterPolicy", "highconfidencephishaction") => Allowed::Enum(
            "PhishFilteringAction",
            &[
                "MoveToJmf",
                "AddXHeader",
                "ModifySubject",
                "Redirect",
                "Delete",
                "Quarantine",
            ],
        ),
        ("HostedContentFilterPolicy", "bulkthreshold") => Allowed::Range(1, 9),
        ("HostedContentFilterPolicy", "quarantineretentionperiod") => Allowed::Range(1, 30),
        ("HostedContentFilterPolicy", k)
            if k.starts_with("increasescorewith") || k.starts_with("markasspam") =>
        {
            Allowed::Enum("SpamFilteringOption", &["Off", "On", "Test"])
        }
        ("AntiPhishPolicy", "phishthresholdlevel") => Allowed::Range(1, 4),
        ("AntiPhishPolicy", "authenticationfailaction") => Allowed::Enum(
            "SpoofAuthenticationFailAction",
            &["MoveToJmf", "Quarantine"],
        ),
        (
            "AntiPhishPolicy",
            "mailboxintelligenceprotectionaction"
            | "targeteduserprotectionaction"
            | "targeteddomainprotectionaction",
        ) => Allowed::Enum("ImpersonationAction", IMPERSONATION_ACTIONS),
        ("MalwareFilterPolicy", "filetypeaction") => {
            Allowed::Enum("FileTypeFilteringAction", &["Reject", "Quarantine"])
        }
        ("MalwareFilterPolicy", "internalsenderadminaddress" | "externalsenderadminaddress") => {
            Allowed::Smtp
        }
        ("SafeAttachmentPolicy", "action") => Allowed::Enum(
            "SafeAttachmentAction",
            &["Allow", "Block", "DynamicDelivery"],
        ),
        ("SafeAttachmentPolicy", "redirectaddress") => Allowed::Smtp,
        ("HostedOutboundSpamFilterPolicy", "autoforwardingmode") => {
            Allowed::Enum("AutoForwardingMode", &["Automatic", "On", "Off"])
        }
        ("HostedOutboundSpamFilterPolicy", "notifyoutboundspamrecipients") => Allowed::Smtp,
        ("HostedOutboundSpamFilterPolicy", "actionwhenthresholdreached") => Allowed::Enum(
            "OutboundRecipientLimitsExceededAction",
            &["Alert", "BlockUserForToday", "BlockUser"],
        ),
        ("HostedOutboundSpamFilterPolicy", k) if k.starts_with("recipientlimit") => {
            Allowed::Range(0, 10000)
        }
        (
            "ReportSubmissionPolicy",
            "reportjunkaddresses" | "reportnotjunkaddresses" | "reportphishaddresses",
        ) => Allowed::Smtp,
        ("ReportSubmissionRule", "sentto") => Allowed::Smtp,
        ("TransportConfig", "messageexpiration") => Allowed::TimeSpan(12 * 3600, 24 * 3600),
        ("OrganizationConfig", "mailtipslargeaudiencethreshold") => Allowed::Range(0, 1000),
        ("OrganizationConfig", "shorteneventscopedefault") => {
            Allowed::Enum("ShortenEventScopeMode", &["None", "EndEarly", "StartLate"])
        }
        ("OrganizationConfig", "defaultminutestoreduceshorteventsby") => Allowed::Range(0, 29),
        ("OrganizationConfig", "defaultminutestoreducelongeventsby") => Allowed::Range(0, 59),
        _ => return None,
    })
}

fn is_smtp(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(|c| c.is_whitespace() || c == ',' || c == ';')
}

/// A time span `[d.]hh:mm:ss` in seconds.
pub fn parse_timespan(s: &str) -> Option<i64> {
    let (days, rest) = match s.split_once('.') {
        Some((d, r)) if !r.contains('.') => (d.parse::<i64>().ok()?, r),
        None => (0, s),
        _ => return None,
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let [h, m, sec] = parts.as_slice() else {
        return None;
    };
    let (h, m, sec) = (
        h.parse::<i64>().ok()?,
        m.parse::<i64>().ok()?,
        sec.parse::<i64>().ok()?,
    );
    if !(0..24).contains(&h) || !(0..60).contains(&m) || !(0..60).contains(&sec) || days < 0 {
        return None;
    }
    Some(days * 86400 + h * 3600 + m * 60 + sec)
}

/// A time span as Exchange prints it (`12:00:00`, `1.00:00:00`).
pub fn format_timespan(total: i64) -> String {
    let (d, rest) = (total / 86400, total % 86400);
    let hms = format!(
        "{:02}:{:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    );
    if d > 0 {
        format!("{d}.{hms}")
    } else {
        hms
    }
}

/// Checks (and normalises) the value of parameter `key` of `noun`; the error is the text of
/// Exchange's parameter binding or validation error.
pub fn check_value(noun: &str, key: &str, value: &Value) -> Result<Value, String> {
    let Some(rule) = allowed(noun, key) else {
        return Ok(value.clone());
    };
    match rule {
        Allowed::Enum(ty, names) => {
            let given = match value {
                Value::String(s) => s.as_str(),
                other => return Err(format!("Cannot bind parameter '{key}'. Cannot convert value \"{other}\" to type \"{ty}\".")),
            };
            names
                .iter()
                .find(|n| n.eq_ignore_ascii_case(given))
                .map(|n| json!(n))
                .ok_or_else(|| {
                    format!(
                        "Cannot bind parameter '{key}'. Cannot convert value \"{given}\" to type \"{ty}\". Error: \"Unable to match the identifier name {given} to a valid enumerator name. Specify one of the following enumerator names and try again: {}\"",
                        names.join(", ")
                    )
                })
        }
        Allowed::Range(lo, hi) => {
            let n = match value {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.trim().parse::<i64>().ok(),
                _ => None,
            }
            .ok_or_else(|| {
                format!("Cannot bind parameter '{key}'. Cannot convert value \"{value}\" to type \"System.Int32\".")
            })?;
            if n < lo {
                return Err(format!("Cannot validate argument on parameter '{key}'. The {n} argument is less than the minimum allowed range of {lo}. Supply an argument that is greater than or equal to {lo} and then try the command again."));
            }
            if n > hi {
                return Err(format!("Cannot validate argument on parameter '{key}'. The {n} argument is greater than the maximum allowed range of {hi}. Supply an argument that is less than or equal to {hi} and then try the command again."));
            }
            Ok(json!(n))
        }
        Allowed::Smtp => {
            let all: Vec<&str> = match value {
                Value::Null => return Ok(Value::Null),
                Value::String(s) => vec![s.as_str()],
                Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                // A hashtable of additions and removals is checked where it is applied.
                Value::Object(_) => return Ok(value.clone()),
                other => return Err(format!("Cannot bind parameter '{key}'. Cannot convert value \"{other}\" to type \"Microsoft.Exchange.Data.SmtpAddress\".")),
            };
            if let Some(bad) = all.iter().find(|a| !is_smtp(a)) {
                return Err(format!("Cannot bind parameter '{key}'. Cannot convert value \"{bad}\" to type \"Microsoft.Exchange.Data.SmtpAddress\". Error: \"The email address \"{bad}\" isn't correct. Please use this format: user name, the @ sign, followed by the domain name. For example, tonysmith@contoso.com or tony.smith@contoso.com.\""));
            }
            Ok(value.clone())
        }
        Allowed::TimeSpan(lo, hi) => {
            let s = value.as_str().unwrap_or_default();
            let secs = parse_timespan(s).ok_or_else(|| {
                format!("Cannot bind parameter '{key}'. Cannot convert value \"{value}\" to type \"Microsoft.Exchange.Data.EnhancedTimeSpan\".")
            })?;
            if secs < lo || secs > hi {
                return Err(format!(
                    "The value of {key} must be between {} and {}.",
                    format_timespan(lo),
                    format_timespan(hi)
                ));
            }
            Ok(json!(format_timespan(secs)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_spans_read_and_print_as_exchange_does() {
        assert_eq!(parse_timespan("12:00:00"), Some(43200));
        assert_eq!(parse_timespan("1.00:00:00"), Some(86400));
        assert_eq!(format_timespan(86400), "1.00:00:00");
        assert_eq!(format_timespan(43200), "12:00:00");
        assert_eq!(parse_timespan("25:00:00"), None);
        assert_eq!(parse_timespan("12h"), None);
        assert!(check_value("TransportConfig", "MessageExpiration", &json!("06:00:00")).is_err());
        assert_eq!(
            check_value("TransportConfig", "MessageExpiration", &json!("0.12:00:00")).unwrap(),
            json!("12:00:00")
        );
    }

    #[test]
    fn enumerations_ranges_and_addresses_are_checked() {
        assert_eq!(
            check_value(
                "HostedContentFilterPolicy",
                "SpamAction",
                &json!("quarantine")
            )
            .unwrap(),
            json!("Quarantine")
        );
        let e = check_value("HostedContentFilterPolicy", "SpamAction", &json!("Bin")).unwrap_err();
        assert!(e.contains("MoveToJmf"), "{e}");
        assert!(check_value("HostedContentFilterPolicy", "BulkThreshold", &json!(10)).is_err());
        assert!(check_value("AntiPhishPolicy", "PhishThresholdLevel", &json!("4")).is_ok());
        assert!(check_value(
            "HostedOutboundSpamFilterPolicy",
            "NotifyOutboundSpamRecipients",
            &json!(["not an address"])
        )
        .is_err());
        assert!(check_value("OrganizationConfig", "AuditDisabled", &json!(1)).is_ok());
    }
}
