//! The Defender policies CIPP creates when missing, each with a rule for every accepted
//! domain at priority 0: `SafeLinksPolicy`, `AntiPhishPolicy`, `SafeAttachmentPolicy` and
//! `MalwareFilterPolicy`.

use std::sync::Arc;

use cipp_core::Error;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::super::entra::{de, invalid};
use super::super::exchange::{is_smtp, one_of, sorted};
use super::{meta, Family, PolicySettings, PolicyWithRule, QUARANTINE_POLICIES};
use crate::standards::model::{Impact, Standard};

pub(super) fn standards() -> Vec<Arc<dyn Standard>> {
    vec![
        Arc::new(safe_links()),
        Arc::new(anti_phish()),
        Arc::new(safe_attachments()),
        Arc::new(malware_filter()),
    ]
}

fn map(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// A policy name given in the settings: trimmed, not empty, at most 64 characters (the
/// limit of Exchange object names).
fn check_name(standard: &str, name: Option<&str>) -> Result<(), Error> {
    match name {
        Some(n) if n.chars().count() > 64 => Err(invalid(
            standard,
            "name",
            format!("`{n}` is longer than 64 characters"),
        )),
        Some(n) if n.contains(['\\', '/', '"']) => Err(invalid(
            standard,
            "name",
            format!("`{n}` holds a character Exchange does not accept in names"),
        )),
        _ => Ok(()),
    }
}

/// A quarantine policy name: one of [`QUARANTINE_POLICIES`] in its spelling, or a custom
/// policy's name as given.
fn quarantine_tag(
    standard: &str,
    field: &str,
    v: Option<&str>,
    default: &str,
) -> Result<String, Error> {
    let v = v.unwrap_or(default).trim();
    if v.is_empty() || v.contains(['\\', '/', '"']) {
        return Err(invalid(
            standard,
            field,
            format!("`{v}` is not a quarantine policy name"),
        ));
    }
    Ok(QUARANTINE_POLICIES
        .iter()
        .find(|q| q.eq_ignore_ascii_case(v))
        .map_or_else(|| v.to_owned(), |q| (*q).to_owned()))
}

// ---- SafeLinksPolicy

/// Settings of `SafeLinksPolicy`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct SafeLinksSettings {
    /// The policy name (default `CIPP Default SafeLinks Policy`).
    #[serde(default, deserialize_with = "de::opt_text")]
    pub name: Option<String>,
    /// Let users click through to the original URL.
    #[serde(
        rename = "AllowClickThrough",
        default,
        deserialize_with = "de::opt_bool"
    )]
    pub allow_click_through: Option<bool>,
    /// Do not rewrite URLs in e-mail.
    #[serde(
        rename = "DisableUrlRewrite",
        default,
        deserialize_with = "de::opt_bool"
    )]
    pub disable_url_rewrite: Option<bool>,
    /// Show the organisation's branding on warning pages.
    #[serde(
        rename = "EnableOrganizationBranding",
        default,
        deserialize_with = "de::opt_bool"
    )]
    pub enable_organization_branding: Option<bool>,
    /// URLs never rewritten.
    #[serde(
        rename = "DoNotRewriteUrls",
        default,
        deserialize_with = "de::opt_texts"
    )]
    pub do_not_rewrite_urls: Vec<String>,
}

impl PolicySettings for SafeLinksSettings {
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    fn wanted(&self, _mdo: bool) -> Map<String, Value> {
        map(json!({
            "EnableSafeLinksForEmail": true, "EnableSafeLinksForTeams": true,
            "EnableSafeLinksForOffice": true, "TrackClicks": true, "ScanUrls": true,
            "EnableForInternalSenders": true, "DeliverMessageAfterScan": true,
            "AllowClickThrough": self.allow_click_through.unwrap_or(false),
            "DisableUrlRewrite": self.disable_url_rewrite.unwrap_or(false),
            "EnableOrganizationBranding": self.enable_organization_branding.unwrap_or(false),
            "DoNotRewriteUrls": sorted(self.do_not_rewrite_urls.clone())
        }))
    }

    fn validate(&self) -> Result<(), Error> {
        check_name("SafeLinksPolicy", self.name())?;
        if let Some(bad) = self
            .do_not_rewrite_urls
            .iter()
            .find(|u| u.chars().any(char::is_whitespace))
        {
            return Err(invalid(
                "SafeLinksPolicy",
                "DoNotRewriteUrls",
                format!("`{bad}` is not a URL entry (no spaces allowed)"),
            ));
        }
        Ok(())
    }
}

fn safe_links() -> PolicyWithRule<SafeLinksSettings> {
    PolicyWithRule::new(
        meta(
            "SafeLinksPolicy",
            Impact::Low,
            "Default Safe Links Policy",
            "This creates a Safe Links policy that automatically scans, tracks, and and enables safe links for Email, Office, and Teams for both external and internal senders",
            &["CIS M365 5.0 (2.1.1)", "mdo_safelinksforemail", "mdo_safelinksforOfficeApps", "NIST CSF 2.0 (DE.CM-09)", "ORCA105", "ORCA106", "ORCA107", "ORCA112", "ORCA113", "ORCA114", "ORCA116", "ORCA119", "ORCA156", "ORCA179", "ORCA226", "ORCA236", "ORCA237", "ORCA238", "CISAMSEXO151", "CISAMSEXO152", "CISAMSEXO153"],
            "Get-SafeLinksPolicy; Get-SafeLinksRule; Get-AcceptedDomain; GET subscribedSkus (Defender for Office 365)",
            "New-/Set-SafeLinksPolicy; New-/Set-SafeLinksRule -Priority 0 -RecipientDomainIs <accepted domains>",
        ),
        Family {
            policy: "SafeLinksPolicy",
            rule: "SafeLinksRule",
            default_name: "CIPP Default SafeLinks Policy",
            legacy_names: &["Default SafeLinks Policy"],
            legacy_rules: &["CIPP Default SafeLinks Rule", "CIPP Default SafeLinks Policy"],
            needs_mdo: true,
        },
    )
}

// ---- AntiPhishPolicy

/// What may happen to a message detected as impersonation.
pub const IMPERSONATION_ACTIONS: &[&str] = &["MoveToJmf", "Delete", "Quarantine"];
/// What may happen to a spoofed message.
pub const SPOOF_ACTIONS: &[&str] = &["Quarantine", "MoveToJmf"];

/// Settings of `AntiPhishPolicy`. Actions default to those of Microsoft's Standard preset
/// policy, safety tips to on (CIPP's form defaults).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AntiPhishSettings {
    /// The policy name (default `CIPP Default Anti-Phishing Policy`).
    #[serde(rename = "name", default, deserialize_with = "de::opt_text")]
    pub name: Option<String>,
    /// Phishing email threshold, 1 (standard) to 4 (most aggressive); default 1.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub phish_threshold_level: Option<i64>,
    /// First contact safety tip (default on).
    #[serde(default, deserialize_with = "de::opt_bool")]
    pub enable_first_contact_safety_tips: Option<bool>,
    /// User impersonation safety tip (default on).
    #[serde(default, deserialize_with = "de::opt_bool")]
    pub enable_similar_users_safety_tips: Option<bool>,
    /// Domain impersonation safety tip (default on).
    #[serde(default, deserialize_with = "de::opt_bool")]
    pub enable_similar_domains_safety_tips: Option<bool>,
    /// Unusual characters safety tip (default on).
    #[serde(default, deserialize_with = "de::opt_bool")]
    pub enable_unusual_characters_safety_tips: Option<bool>,
    /// Spoofed messages: `Quarantine` (default) or `MoveToJmf`.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub authentication_fail_action: Option<String>,
    /// Quarantine policy for spoofed messages.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub spoof_quarantine_tag: Option<String>,
    /// User impersonation: `MoveToJmf`, `Delete` or `Quarantine` (default).
    #[serde(default, deserialize_with = "de::opt_text")]
    pub targeted_user_protection_action: Option<String>,
    /// Quarantine policy for user impersonation.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub targeted_user_quarantine_tag: Option<String>,
    /// Domain impersonation: `MoveToJmf`, `Delete` or `Quarantine` (default).
    #[serde(default, deserialize_with = "de::opt_text")]
    pub targeted_domain_protection_action: Option<String>,
    /// Quarantine policy for domain impersonation.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub targeted_domain_quarantine_tag: Option<String>,
    /// Mailbox intelligence impersonation: `MoveToJmf` (default), `Delete` or `Quarantine`.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub mailbox_intelligence_protection_action: Option<String>,
    /// Quarantine policy for mailbox intelligence.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub mailbox_intelligence_quarantine_tag: Option<String>,
}

const PHISH: &str = "AntiPhishPolicy";
const NOTIFY: &str = "DefaultFullAccessWithNotificationPolicy";

impl AntiPhishSettings {
    fn action(
        field: &str,
        v: &Option<String>,
        allowed: &[&str],
        default: &str,
    ) -> Result<String, Error> {
        one_of(PHISH, field, Some(v.as_deref().unwrap_or(default)), allowed)
    }

    /// Every wanted value, validated.
    fn values(&self) -> Result<Map<String, Value>, Error> {
        let level = self.phish_threshold_level.unwrap_or(1);
        if !(1..=4).contains(&level) {
            return Err(invalid(
                PHISH,
                "PhishThresholdLevel",
                format!("{level} is not a threshold from 1 to 4"),
            ));
        }
        let tip = |b: Option<bool>| b.unwrap_or(true);
        Ok(map(json!({
            "Enabled": true, "PhishThresholdLevel": level,
            "EnableMailboxIntelligence": true, "EnableMailboxIntelligenceProtection": true,
            "EnableSpoofIntelligence": true,
            "EnableFirstContactSafetyTips": tip(self.enable_first_contact_safety_tips),
            "EnableSimilarUsersSafetyTips": tip(self.enable_similar_users_safety_tips),
            "EnableSimilarDomainsSafetyTips": tip(self.enable_similar_domains_safety_tips),
            "EnableUnusualCharactersSafetyTips": tip(self.enable_unusual_characters_safety_tips),
            "EnableUnauthenticatedSender": true, "EnableViaTag": true,
            "AuthenticationFailAction": Self::action("AuthenticationFailAction", &self.authentication_fail_action, SPOOF_ACTIONS, "Quarantine")?,
            "SpoofQuarantineTag": quarantine_tag(PHISH, "SpoofQuarantineTag", self.spoof_quarantine_tag.as_deref(), NOTIFY)?,
            "MailboxIntelligenceProtectionAction": Self::action("MailboxIntelligenceProtectionAction", &self.mailbox_intelligence_protection_action, IMPERSONATION_ACTIONS, "MoveToJmf")?,
            "MailboxIntelligenceQuarantineTag": quarantine_tag(PHISH, "MailboxIntelligenceQuarantineTag", self.mailbox_intelligence_quarantine_tag.as_deref(), "DefaultFullAccessPolicy")?,
            "TargetedUserProtectionAction": Self::action("TargetedUserProtectionAction", &self.targeted_user_protection_action, IMPERSONATION_ACTIONS, "Quarantine")?,
            "TargetedUserQuarantineTag": quarantine_tag(PHISH, "TargetedUserQuarantineTag", self.targeted_user_quarantine_tag.as_deref(), NOTIFY)?,
            "TargetedDomainProtectionAction": Self::action("TargetedDomainProtectionAction", &self.targeted_domain_protection_action, IMPERSONATION_ACTIONS, "Quarantine")?,
            "TargetedDomainQuarantineTag": quarantine_tag(PHISH, "TargetedDomainQuarantineTag", self.targeted_domain_quarantine_tag.as_deref(), NOTIFY)?,
            "EnableTargetedDomainsProtection": true, "EnableTargetedUserProtection": true,
            "EnableOrganizationDomainsProtection": true
        })))
    }
}

/// The anti-phishing settings that need Defender for Office 365 (impersonation and
/// mailbox intelligence); without it CIPP sets and compares only the others.
const MDO_ONLY: &[&str] = &[
    "PhishThresholdLevel",
    "EnableMailboxIntelligence",
    "EnableMailboxIntelligenceProtection",
    "EnableSimilarUsersSafetyTips",
    "EnableSimilarDomainsSafetyTips",
    "EnableUnusualCharactersSafetyTips",
    "MailboxIntelligenceProtectionAction",
    "MailboxIntelligenceQuarantineTag",
    "TargetedUserProtectionAction",
    "TargetedUserQuarantineTag",
    "TargetedDomainProtectionAction",
    "TargetedDomainQuarantineTag",
    "EnableTargetedDomainsProtection",
    "EnableTargetedUserProtection",
    "EnableOrganizationDomainsProtection",
];

impl PolicySettings for AntiPhishSettings {
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    fn wanted(&self, mdo: bool) -> Map<String, Value> {
        let mut all = self.values().unwrap_or_default();
        if !mdo {
            all.retain(|k, _| !MDO_ONLY.contains(&k.as_str()));
        }
        all
    }

    fn validate(&self) -> Result<(), Error> {
        check_name(PHISH, self.name())?;
        self.values().map(drop)
    }
}

fn anti_phish() -> PolicyWithRule<AntiPhishSettings> {
    PolicyWithRule::new(
        meta(
            "AntiPhishPolicy",
            Impact::Low,
            "Default Anti-Phishing Policy",
            "This creates a Anti-Phishing policy that automatically enables Mailbox Intelligence and spoofing, optional switches for Mail tips.",
            &["mdo_safeattachments", "mdo_highconfidencespamaction", "mdo_highconfidencephishaction", "mdo_phisspamacation", "mdo_spam_notifications_only_for_admins", "mdo_antiphishingpolicies", "mdo_phishthresholdlevel", "CIS M365 5.0 (2.1.7)", "NIST CSF 2.0 (DE.CM-09)", "ORCA104", "ORCA115", "ORCA180", "ORCA220", "ORCA221", "ORCA222", "ORCA223", "ORCA228", "ORCA229", "ORCA230", "ORCA233", "ORCA234", "ORCA235", "ORCA239", "ORCA242", "ORCA243", "ORCA244", "ZTNA21784", "ZTNA21817", "ZTNA21819", "CISAMSEXO111", "CISAMSEXO112", "CISAMSEXO113"],
            "Get-AntiPhishPolicy; Get-AntiPhishRule; Get-AcceptedDomain; GET subscribedSkus (impersonation settings need Defender for Office 365)",
            "New-/Set-AntiPhishPolicy; New-/Set-AntiPhishRule -Priority 0 -RecipientDomainIs <accepted domains>",
        ),
        Family {
            policy: "AntiPhishPolicy",
            rule: "AntiPhishRule",
            default_name: "CIPP Default Anti-Phishing Policy",
            legacy_names: &["Default Anti-Phishing Policy"],
            legacy_rules: &["CIPP Default Anti-Phishing Rule", "CIPP Default Anti-Phishing Policy"],
            needs_mdo: false,
        },
    )
}

// ---- SafeAttachmentPolicy

/// What Safe Attachments may do with a malicious attachment.
pub const SAFE_ATTACHMENT_ACTIONS: &[&str] = &["Allow", "Block", "DynamicDelivery"];

/// Settings of `SafeAttachmentPolicy`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct SafeAttachmentSettings {
    /// The policy name (default `CIPP Default Safe Attachment Policy`).
    #[serde(default, deserialize_with = "de::opt_text")]
    pub name: Option<String>,
    /// `Allow`, `Block` (default) or `DynamicDelivery`.
    #[serde(
        rename = "SafeAttachmentAction",
        default,
        deserialize_with = "de::opt_text"
    )]
    pub action: Option<String>,
    /// Quarantine policy (default `AdminOnlyAccessPolicy`).
    #[serde(rename = "QuarantineTag", default, deserialize_with = "de::opt_text")]
    pub quarantine_tag: Option<String>,
    /// Redirect detected attachments to an address.
    #[serde(rename = "Redirect", default, deserialize_with = "de::opt_bool")]
    pub redirect: Option<bool>,
    /// Where they are redirected (required with `Redirect`).
    #[serde(rename = "RedirectAddress", default, deserialize_with = "de::opt_text")]
    pub redirect_address: Option<String>,
}

impl SafeAttachmentSettings {
    fn values(&self) -> Result<Map<String, Value>, Error> {
        const S: &str = "SafeAttachmentPolicy";
        let redirect = self.redirect.unwrap_or(false);
        if redirect && self.redirect_address.is_none() {
            return Err(invalid(
                S,
                "RedirectAddress",
                "required when Redirect is on",
            ));
        }
        if let Some(a) = self.redirect_address.as_deref().filter(|a| !is_smtp(a)) {
            return Err(invalid(
                S,
                "RedirectAddress",
                format!("`{a}` is not an e-mail address"),
            ));
        }
        let mut m = map(json!({
            "Enable": true,
            "Action": one_of(S, "SafeAttachmentAction", Some(self.action.as_deref().unwrap_or("Block")), SAFE_ATTACHMENT_ACTIONS)?,
            "QuarantineTag": quarantine_tag(S, "QuarantineTag", self.quarantine_tag.as_deref(), "AdminOnlyAccessPolicy")?,
            "Redirect": redirect
        }));
        if let Some(a) = &self.redirect_address {
            m.insert("RedirectAddress".into(), json!(a));
        }
        Ok(m)
    }
}

impl PolicySettings for SafeAttachmentSettings {
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    fn wanted(&self, _mdo: bool) -> Map<String, Value> {
        self.values().unwrap_or_default()
    }

    fn validate(&self) -> Result<(), Error> {
        check_name("SafeAttachmentPolicy", self.name())?;
        self.values().map(drop)
    }
}

fn safe_attachments() -> PolicyWithRule<SafeAttachmentSettings> {
    PolicyWithRule::new(
        meta(
            "SafeAttachmentPolicy",
            Impact::Low,
            "Default Safe Attachment Policy",
            "This creates a Safe Attachment policy",
            &["CIS M365 5.0 (2.1.4)", "mdo_safedocuments", "mdo_commonattachmentsfilter", "mdo_safeattachmentpolicy", "NIST CSF 2.0 (DE.CM-09)", "ORCA158", "ORCA227"],
            "Get-SafeAttachmentPolicy; Get-SafeAttachmentRule; Get-AcceptedDomain; GET subscribedSkus (Defender for Office 365)",
            "New-/Set-SafeAttachmentPolicy; New-/Set-SafeAttachmentRule -Priority 0 -RecipientDomainIs <accepted domains>",
        ),
        Family {
            policy: "SafeAttachmentPolicy",
            rule: "SafeAttachmentRule",
            default_name: "CIPP Default Safe Attachment Policy",
            legacy_names: &["Default Safe Attachment Policy"],
            legacy_rules: &["CIPP Default Safe Attachment Rule", "CIPP Default Safe Attachment Policy"],
            needs_mdo: true,
        },
    )
}

// ---- MalwareFilterPolicy

/// The file types of Exchange Online's common attachments filter.
pub const DEFAULT_FILE_TYPES: &[&str] = &[
    "ace", "ani", "apk", "app", "appx", "arj", "bat", "cab", "cmd", "com", "deb", "dex", "dll",
    "docm", "elf", "exe", "hta", "img", "iso", "jar", "jnlp", "kext", "lha", "lib", "library",
    "lnk", "lzh", "macho", "msc", "msi", "msix", "msp", "mst", "pif", "ppa", "ppam", "reg", "rev",
    "scf", "scr", "sct", "sys", "uif", "vb", "vbe", "vbs", "vxd", "wsc", "wsf", "wsh", "xll", "xz",
    "z",
];

/// Settings of `MalwareFilterPolicy`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MalwareFilterSettings {
    /// The policy name (default `CIPP Default Malware Policy`).
    #[serde(rename = "name", default, deserialize_with = "de::opt_text")]
    pub name: Option<String>,
    /// `Reject` or `Quarantine` (default) for blocked file types.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub file_type_action: Option<String>,
    /// More file types to block, comma separated (`xlsm, one`).
    #[serde(default, deserialize_with = "de::opt_text")]
    pub optional_file_types: Option<String>,
    /// Quarantine policy (default `AdminOnlyAccessPolicy`).
    #[serde(default, deserialize_with = "de::opt_text")]
    pub quarantine_tag: Option<String>,
    /// Notify an admin of malware from internal senders.
    #[serde(default, deserialize_with = "de::opt_bool")]
    pub enable_internal_sender_admin_notifications: Option<bool>,
    /// The admin notified of malware from internal senders.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub internal_sender_admin_address: Option<String>,
    /// Notify an admin of malware from external senders.
    #[serde(default, deserialize_with = "de::opt_bool")]
    pub enable_external_sender_admin_notifications: Option<bool>,
    /// The admin notified of malware from external senders.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub external_sender_admin_address: Option<String>,
}

impl MalwareFilterSettings {
    fn file_types(&self) -> Result<Vec<String>, Error> {
        let mut all: Vec<String> = DEFAULT_FILE_TYPES.iter().map(|t| (*t).to_owned()).collect();
        for t in self
            .optional_file_types
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .map(|t| t.trim().trim_start_matches('.').to_ascii_lowercase())
            .filter(|t| !t.is_empty())
        {
            if !t
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(invalid(
                    "MalwareFilterPolicy",
                    "OptionalFileTypes",
                    format!("`{t}` is not a file extension"),
                ));
            }
            all.push(t);
        }
        Ok(sorted(all))
    }

    fn values(&self) -> Result<Map<String, Value>, Error> {
        const S: &str = "MalwareFilterPolicy";
        let internal = self
            .enable_internal_sender_admin_notifications
            .unwrap_or(false);
        let external = self
            .enable_external_sender_admin_notifications
            .unwrap_or(false);
        let mut m = map(json!({
            "EnableFileFilter": true, "FileTypes": self.file_types()?,
            "FileTypeAction": one_of(S, "FileTypeAction", Some(self.file_type_action.as_deref().unwrap_or("Quarantine")), &["Reject", "Quarantine"])?,
            "ZapEnabled": true,
            "QuarantineTag": quarantine_tag(S, "QuarantineTag", self.quarantine_tag.as_deref(), "AdminOnlyAccessPolicy")?,
            "EnableInternalSenderAdminNotifications": internal,
            "EnableExternalSenderAdminNotifications": external
        }));
        for (on, field, value) in [
            (
                internal,
                "InternalSenderAdminAddress",
                &self.internal_sender_admin_address,
            ),
            (
                external,
                "ExternalSenderAdminAddress",
                &self.external_sender_admin_address,
            ),
        ] {
            match value {
                Some(a) if !is_smtp(a) => {
                    return Err(invalid(S, field, format!("`{a}` is not an e-mail address")))
                }
                Some(a) => {
                    m.insert(field.into(), json!(a));
                }
                None if on => {
                    return Err(invalid(S, field, "required when its notifications are on"))
                }
                None => {}
            }
        }
        Ok(m)
    }
}

impl PolicySettings for MalwareFilterSettings {
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    fn wanted(&self, _mdo: bool) -> Map<String, Value> {
        self.values().unwrap_or_default()
    }

    fn validate(&self) -> Result<(), Error> {
        check_name("MalwareFilterPolicy", self.name())?;
        self.values().map(drop)
    }
}

fn malware_filter() -> PolicyWithRule<MalwareFilterSettings> {
    PolicyWithRule::new(
        meta(
            "MalwareFilterPolicy",
            Impact::Low,
            "Default Malware Filter Policy",
            "This creates a Malware filter policy that enables the default File filter and Zero-hour auto purge for malware.",
            &["CIS M365 5.0 (2.1.2)", "CIS M365 5.0 (2.1.3)", "mdo_zapspam", "mdo_zapphish", "mdo_zapmalware", "NIST CSF 2.0 (DE.CM-09)", "ORCA121", "ORCA124", "ORCA232", "ZTNA21817", "ZTNA21819", "CISAMSEXO95", "CISAMSEXO101", "CISAMSEXO102", "CISAMSEXO103"],
            "Get-MalwareFilterPolicy; Get-MalwareFilterRule; Get-AcceptedDomain",
            "New-/Set-MalwareFilterPolicy; New-/Set-MalwareFilterRule -Priority 0 -RecipientDomainIs <accepted domains>",
        ),
        Family {
            policy: "MalwareFilterPolicy",
            rule: "MalwareFilterRule",
            default_name: "CIPP Default Malware Policy",
            legacy_names: &["Default Malware Policy"],
            legacy_rules: &["CIPP Default Malware Rule", "CIPP Default Malware Policy"],
            needs_mdo: false,
        },
    )
}
