//! Example settings for every built-in standard that needs some: what an MSP would
//! typically choose, valid by each standard's own checks. The benchmark, the catalogue
//! tests and integrators' tests use them; they are not defaults — a standard's settings
//! are always the template's.

use std::collections::BTreeMap;

use serde_json::{json, Value};

/// Example settings of the built-in standard `name` (`SecurityDefaults` or
/// `standards.SecurityDefaults`): `{}` for standards that take none.
pub fn example_settings(name: &str) -> Value {
    let name = name.strip_prefix("standards.").unwrap_or(name);
    table().remove(name).unwrap_or_else(|| json!({}))
}

fn table() -> BTreeMap<&'static str, Value> {
    BTreeMap::from([
        (
            "SpamFilterPolicy",
            json!({"name": "CIPP Default Spam Filter Policy", "BulkThreshold": 6,
                "SpamAction": {"value": "Quarantine"}, "SpamQuarantineTag": {"value": "AdminOnlyAccessPolicy"},
                "HighConfidenceSpamAction": {"value": "Quarantine"}, "HighConfidenceSpamQuarantineTag": {"value": "AdminOnlyAccessPolicy"},
                "BulkSpamAction": {"value": "MoveToJmf"}, "BulkQuarantineTag": {"value": "DefaultFullAccessPolicy"},
                "PhishSpamAction": {"value": "Quarantine"}, "PhishQuarantineTag": {"value": "AdminOnlyAccessPolicy"},
                "HighConfidencePhishQuarantineTag": {"value": "AdminOnlyAccessPolicy"},
                "MarkAsSpamWebBugsInHtml": true, "EnableLanguageBlockList": false,
                "EnableRegionBlockList": false}),
        ),
        (
            "GuestInvite",
            json!({"allowInvitesFrom": {"value": "adminsAndGuestInviters"}}),
        ),
        (
            "BitLockerKeysForOwnedDevice",
            json!({"state": {"value": "restrict"}}),
        ),
        (
            "OauthConsent",
            json!({"AllowedApps": "d3590ed6-52b3-4102-aeff-aad2292ab01c"}),
        ),
        (
            "TAP",
            json!({"config": {"value": "true"}, "MinimumLifetime": "60", "MaximumLifetime": 480}),
        ),
        (
            "PWcompanionAppAllowedState",
            json!({"state": {"value": "enabled"}}),
        ),
        (
            "NudgeMFA",
            json!({"state": {"value": "enabled"}, "snoozeDurationInDays": 3}),
        ),
        (
            "AuthMethodsSettings",
            json!({"ReportSuspiciousActivity": {"value": "enabled"}, "SystemCredential": "enabled"}),
        ),
        ("ExternalMFATrusted", json!({"state": {"value": "true"}})),
        (
            "AppManagementPolicy",
            json!({"passwordCredentialsPasswordAddition": {"value": "enabled"},
            "passwordCredentialsCustomPasswordAddition": {"value": "enabled"},
            "passwordCredentialsMaxLifetime": 180, "keyCredentialsMaxLifetime": "365"}),
        ),
        (
            "intuneDeviceRegLocalAdmins",
            json!({"disableRegisteringUsers": true, "enableGlobalAdmins": true}),
        ),
        (
            "CustomBannedPasswordList",
            json!({"BannedWords": "contoso, northwind"}),
        ),
        (
            "SmartLockout",
            json!({"LockoutDurationInSeconds": 120, "LockoutThreshold": "5",
            "EnableBannedPasswordCheckOnPremises": false, "BannedPasswordCheckOnPremisesMode": {"value": "Enforced"}}),
        ),
        ("DisableGuests", json!({"days": 90})),
        ("DisableInactiveUsers", json!({"days": "180"})),
        ("StaleEntraDevices", json!({"deviceAgeThreshold": 90})),
        ("SpoofWarn", json!({"state": {"value": "enabled"}})),
        (
            "EnableMailTips",
            json!({"MailTipsLargeAudienceThreshold": "30"}),
        ),
        (
            "OutBoundSpamAlert",
            json!({"OutboundSpamContact": "alerts@example.com"}),
        ),
        ("FocusedInbox", json!({"state": {"value": "disabled"}})),
        (
            "calDefault",
            json!({"permissionLevel": {"value": "LimitedDetails"}}),
        ),
        ("SendFromAlias", json!({"state": {"value": "true"}})),
        (
            "UserSubmissions",
            json!({"state": {"value": "enable"}, "email": "phish@example.com"}),
        ),
        ("CloudMessageRecall", json!({"state": {"value": "true"}})),
        ("Bookings", json!({"state": {"value": "false"}})),
        ("TeamsMeetingsByDefault", json!({"state": "true"})),
        ("EXODirectSend", json!({"state": {"value": "disabled"}})),
        ("DelegateSentItems", json!({"IncludeUserMailboxes": false})),
        ("EnableLitigationHold", json!({"days": "365"})),
        (
            "ShortenMeetings",
            json!({"ShortenEventScopeDefault": {"value": "EndEarly"},
            "DefaultMinutesToReduceShortEventsBy": 5, "DefaultMinutesToReduceLongEventsBy": "15"}),
        ),
        (
            "SafeLinksPolicy",
            json!({"name": "CIPP Default SafeLinks Policy", "AllowClickThrough": false,
            "DisableUrlRewrite": false, "EnableOrganizationBranding": true}),
        ),
        (
            "AntiPhishPolicy",
            json!({"name": "CIPP Default Anti-Phishing Policy", "PhishThresholdLevel": 2,
            "EnableFirstContactSafetyTips": true, "EnableSimilarUsersSafetyTips": false,
            "AuthenticationFailAction": {"value": "Quarantine"}, "SpoofQuarantineTag": {"value": "AdminOnlyAccessPolicy"},
            "TargetedUserProtectionAction": {"value": "Quarantine"}, "TargetedDomainProtectionAction": {"value": "MoveToJmf"},
            "MailboxIntelligenceProtectionAction": {"value": "MoveToJmf"}}),
        ),
        (
            "SafeAttachmentPolicy",
            json!({"SafeAttachmentAction": {"value": "DynamicDelivery"},
            "QuarantineTag": {"value": "AdminOnlyAccessPolicy"}, "Redirect": false}),
        ),
        (
            "MalwareFilterPolicy",
            json!({"FileTypeAction": {"value": "Reject"}, "OptionalFileTypes": "xlsm",
            "QuarantineTag": {"value": "AdminOnlyAccessPolicy"}, "EnableInternalSenderAdminNotifications": false}),
        ),
        ("AtpPolicyForO365", json!({"AllowSafeDocsOpen": false})),
        ("AntiSpamSafeList", json!({"EnableSafeList": true})),
    ])
}
