//! A tenant's mail-flow protection objects (spam and connection filters, connectors, Safe
//! Links) and its Exchange Online configuration objects ([`exo_config`]: organisation and
//! transport configuration, remote domains, OWA, sharing and role assignment policies,
//! Defender policies and rules, DKIM signing configurations), as their `Get-*` cmdlets
//! return them. Transport rules live in [`super::ExoState::transport_rules`].

use std::collections::BTreeMap;

use serde_json::{json, Value};

#[path = "exo_config.rs"]
pub mod exo_config;

/// The nouns held here, each with its rows.
pub const PROTECTION_NOUNS: &[&str] = &[
    "HostedContentFilterPolicy",
    "HostedContentFilterRule",
    "HostedConnectionFilterPolicy",
    "InboundConnector",
    "OutboundConnector",
    "SafeLinksPolicy",
    "SafeLinksRule",
    "OrganizationConfig",
    "TransportConfig",
    "ExternalInOutlook",
    "AtpPolicyForO365",
    "ReportSubmissionPolicy",
    "ReportSubmissionRule",
    "RemoteDomain",
    "OwaMailboxPolicy",
    "SharingPolicy",
    "RoleAssignmentPolicy",
    "AntiPhishPolicy",
    "AntiPhishRule",
    "MalwareFilterPolicy",
    "MalwareFilterRule",
    "SafeAttachmentPolicy",
    "SafeAttachmentRule",
    "HostedOutboundSpamFilterPolicy",
    "DkimSigningConfig",
    "ManagementRoleAssignment",
];

/// Rows per cmdlet noun. A new tenant has what every Exchange Online tenant has: the
/// `Default` spam filter policy and the `Default` connection filter policy, and the built-in
/// configuration objects of [`exo_config::CONFIG_NOUNS`] with their documented defaults.
#[derive(Clone, Debug)]
pub struct ProtectionState {
    rows: BTreeMap<&'static str, Vec<Value>>,
}

impl Default for ProtectionState {
    fn default() -> Self {
        let mut rows: BTreeMap<&'static str, Vec<Value>> =
            PROTECTION_NOUNS.iter().map(|n| (*n, Vec::new())).collect();
        for noun in ["HostedContentFilterPolicy", "HostedConnectionFilterPolicy"] {
            let mut row = defaults(noun);
            row["IsDefault"] = json!(true);
            stamp(noun, &mut row, "Default", "2020-01-01T00:00:00Z");
            rows.entry(noun).or_default().push(row);
        }
        for spec in exo_config::CONFIG_NOUNS {
            for name in spec.builtin {
                let mut row = defaults(spec.noun);
                if let (Value::Object(r), Value::Object(extra)) =
                    (&mut row, exo_config::builtin_extra(spec.noun, name))
                {
                    r.extend(extra);
                }
                stamp(spec.noun, &mut row, name, "2020-01-01T00:00:00Z");
                rows.entry(spec.noun).or_default().push(row);
            }
        }
        rows.entry("ManagementRoleAssignment")
            .or_default()
            .extend(exo_config::default_role_assignments());
        ProtectionState { rows }
    }
}

impl ProtectionState {
    /// The rows of `noun` (case-insensitive); empty for a noun not held here.
    pub fn rows(&self, noun: &str) -> &[Value] {
        self.rows
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(noun))
            .map_or(&[], |(_, v)| v.as_slice())
    }

    /// The rows of `noun`, to change; `None` for a noun not held here.
    pub fn rows_mut(&mut self, noun: &str) -> Option<&mut Vec<Value>> {
        self.rows
            .iter_mut()
            .find(|(k, _)| k.eq_ignore_ascii_case(noun))
            .map(|(_, v)| v)
    }
}

/// The properties a new object of `noun` has before its parameters are applied (what
/// Exchange Online gives a policy, rule or connector created without them).
pub fn defaults(noun: &str) -> Value {
    match noun {
        "HostedContentFilterPolicy" => json!({
            "AdminDisplayName": "", "SpamAction": "MoveToJmf", "HighConfidenceSpamAction": "MoveToJmf",
            "PhishSpamAction": "MoveToJmf", "HighConfidencePhishAction": "Quarantine",
            "BulkSpamAction": "MoveToJmf", "BulkThreshold": 7, "MarkAsSpamBulkMail": "On",
            "QuarantineRetentionPeriod": 15, "EnableEndUserSpamNotifications": false,
            "InlineSafetyTipsEnabled": true, "SpamZapEnabled": true, "PhishZapEnabled": true,
            "IncreaseScoreWithImageLinks": "Off", "IncreaseScoreWithNumericIps": "Off",
            "MarkAsSpamEmptyMessages": "Off", "MarkAsSpamSpfRecordHardFail": "Off",
            "AllowedSenders": [], "AllowedSenderDomains": [], "BlockedSenders": [],
            "BlockedSenderDomains": [], "EnableLanguageBlockList": false, "LanguageBlockList": [],
            "EnableRegionBlockList": false, "RegionBlockList": [], "IsDefault": false
        })
        .as_object()
        .cloned()
        .map(|mut m| {
            if let Value::Object(more) = spam_filter_more() {
                m.extend(more);
            }
            Value::Object(m)
        })
        .unwrap_or_default(),
        "HostedConnectionFilterPolicy" => json!({
            "AdminDisplayName": "", "EnableSafeList": false, "IPAllowList": [], "IPBlockList": [],
            "DirectoryBasedEdgeBlockMode": "Default", "IsDefault": false
        }),

        "InboundConnector" => json!({
            "Enabled": true, "ConnectorType": "Partner", "ConnectorSource": "Default", "Comment": "",
            "SenderDomains": [], "SenderIPAddresses": [], "RequireTls": false,
            "RestrictDomainsToIPAddresses": false, "RestrictDomainsToCertificate": false,
            "TlsSenderCertificateName": null, "CloudServicesMailEnabled": false
        }),
        "OutboundConnector" => json!({
            "Enabled": true, "ConnectorType": "Partner", "ConnectorSource": "Default", "Comment": "",
            "UseMXRecord": true, "SmartHosts": [], "RecipientDomains": [], "TlsSettings": null,
            "TlsDomain": null, "IsTransportRuleScoped": false, "RouteAllMessagesViaOnPremises": false,
            "AllAcceptedDomains": false, "CloudServicesMailEnabled": false
        }),
        "SafeLinksPolicy" => json!({
            "AdminDisplayName": "", "EnableSafeLinksForEmail": false, "EnableSafeLinksForTeams": false,
            "EnableSafeLinksForOffice": false, "TrackClicks": true, "AllowClickThrough": false,
            "ScanUrls": false, "EnableForInternalSenders": false, "DeliverMessageAfterScan": false,
            "DisableUrlRewrite": false, "DoNotRewriteUrls": [], "EnableOrganizationBranding": false,
            "CustomNotificationText": "", "UseTranslatedNotificationText": false, "IsBuiltInProtection": false
        }),
        "HostedContentFilterRule" | "SafeLinksRule" => json!({
            "State": "Enabled", "Comments": null, "SentTo": null, "SentToMemberOf": null,
            "RecipientDomainIs": null, "ExceptIfSentTo": null, "ExceptIfSentToMemberOf": null,
            "ExceptIfRecipientDomainIs": null
        }),
        other => exo_config::defaults(other).unwrap_or_else(|| json!({})),
    }
}

/// The quarantine tags and advanced spam filter options of a spam filter policy.
fn spam_filter_more() -> Value {
    json!({
        "SpamQuarantineTag": "DefaultFullAccessPolicy",
        "HighConfidenceSpamQuarantineTag": "DefaultFullAccessPolicy",
        "BulkQuarantineTag": "DefaultFullAccessPolicy", "PhishQuarantineTag": "DefaultFullAccessPolicy",
        "HighConfidencePhishQuarantineTag": "AdminOnlyAccessPolicy",
        "IncreaseScoreWithRedirectToOtherPort": "Off", "IncreaseScoreWithBizOrInfoUrls": "Off",
        "MarkAsSpamJavaScriptInHtml": "Off", "MarkAsSpamFramesInHtml": "Off",
        "MarkAsSpamObjectTagsInHtml": "Off", "MarkAsSpamEmbedTagsInHtml": "Off",
        "MarkAsSpamFormTagsInHtml": "Off", "MarkAsSpamWebBugsInHtml": "Off",
        "MarkAsSpamSensitiveWordList": "Off", "MarkAsSpamFromAddressAuthFail": "Off",
        "MarkAsSpamNdrBackscatter": "Off"
    })
}

/// Sets the server-owned properties of a row named `name` (identity, GUID, DN, version,
/// timestamps).
pub fn stamp(noun: &str, row: &mut Value, name: &str, now: &str) {
    let created = row
        .get("WhenCreated")
        .and_then(Value::as_str)
        .unwrap_or(now)
        .to_owned();
    let guid = row
        .get("Guid")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| super::synthetic_guid(&format!("{noun}-{name}-{now}")));
    let fields = json!({
        "Name": name, "Identity": name, "Id": name, "Guid": guid,
        "DistinguishedName": format!("CN={name},CN={noun},CN=Transport Settings,CN=Configuration,CN=sim.onmicrosoft.com,CN=ConfigurationUnits,DC=SIMPR01A001,DC=PROD,DC=OUTLOOK,DC=COM"),
        "ExchangeVersion": "0.20 (15.0.0.0)", "ObjectState": "Unchanged", "IsValid": true,
        "WhenCreated": created, "WhenCreatedUTC": created, "WhenChanged": now, "WhenChangedUTC": now
    });
    if let (Value::Object(r), Value::Object(f)) = (row, fields) {
        r.extend(f);
    }
}
