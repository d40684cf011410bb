//! The spam and connection filters and the ATP policy for Office 365: `SpamFilterPolicy`,
//! `EmptyFilterIPAllowList`, `AntiSpamSafeList` and `AtpPolicyForO365`.

use std::sync::Arc;

use cipp_core::Error;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::super::entra::{de, invalid};
use super::super::exchange::{cmdlet, one_of, rows, sorted, text, texts, ExoStandard};
use super::{domain_names, has_mdo, meta, no_mdo};
use crate::standards::compare::differences;
use crate::standards::model::{Check, Impact, Standard};
use crate::standards::read::{GraphListing, Read, Snapshot};
use crate::standards::setting::{Field, SettingStandard, Write};

pub(super) fn standards() -> Vec<Arc<dyn Standard>> {
    vec![
        Arc::new(spam_filter()),
        Arc::new(empty_ip_allow_list()),
        Arc::new(anti_spam_safe_list()),
        Arc::new(atp_policy()),
    ]
}

fn connection_filter() -> Read {
    Read::exchange_with(
        "Get-HostedConnectionFilterPolicy",
        json!({"Identity": "Default"}),
    )
}

// ---- SpamFilterPolicy

const SPAM: &str = "SpamFilterPolicy";
/// The name CIPP gives the policy it creates.
pub const SPAM_DEFAULT_NAME: &str = "CIPP Default Spam Filter Policy";
/// Names that mean the built-in inbound policy (`Default`), adopted rather than created.
pub const BUILT_IN_SPAM_NAMES: &[&str] = &[
    SPAM_DEFAULT_NAME,
    "Default Spam Filter Policy",
    "Default",
    "Anti-spam inbound policy",
];
/// What the spam filter may do with spam, high-confidence spam, bulk and phishing mail.
pub const SPAM_ACTIONS: &[&str] = &["Quarantine", "MoveToJmf"];

/// Settings of `SpamFilterPolicy` (CIPP's form: the actions and quarantine tags are
/// required; the Advanced Spam Filter switches default to off).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SpamFilterSettings {
    /// The policy name (default `CIPP Default Spam Filter Policy`; a name of the built-in
    /// policy adopts it).
    #[serde(rename = "name", default, deserialize_with = "de::opt_text")]
    pub name: Option<String>,
    /// Bulk complaint level threshold, 1 to 9 (default 7).
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub bulk_threshold: Option<i64>,
    /// `Quarantine` or `MoveToJmf`.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub spam_action: Option<String>,
    /// Quarantine policy for spam.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub spam_quarantine_tag: Option<String>,
    /// `Quarantine` or `MoveToJmf`.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub high_confidence_spam_action: Option<String>,
    /// Quarantine policy for high-confidence spam.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub high_confidence_spam_quarantine_tag: Option<String>,
    /// `Quarantine` or `MoveToJmf`.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub bulk_spam_action: Option<String>,
    /// Quarantine policy for bulk mail.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub bulk_quarantine_tag: Option<String>,
    /// `Quarantine` or `MoveToJmf`.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub phish_spam_action: Option<String>,
    /// Quarantine policy for phishing.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub phish_quarantine_tag: Option<String>,
    /// Quarantine policy for high-confidence phishing.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub high_confidence_phish_quarantine_tag: Option<String>,
    /// ASF: image links to remote sites.
    #[serde(default, deserialize_with = "de::opt_bool")]
    pub increase_score_with_image_links: Option<bool>,
    /// ASF: links to .biz or .info domains.
    #[serde(default, deserialize_with = "de::opt_bool")]
    pub increase_score_with_biz_or_info_urls: Option<bool>,
    /// ASF: HTML frames.
    #[serde(default, deserialize_with = "de::opt_bool")]
    pub mark_as_spam_frames_in_html: Option<bool>,
    /// ASF: HTML object tags.
    #[serde(default, deserialize_with = "de::opt_bool")]
    pub mark_as_spam_object_tags_in_html: Option<bool>,
    /// ASF: HTML embed tags.
    #[serde(default, deserialize_with = "de::opt_bool")]
    pub mark_as_spam_embed_tags_in_html: Option<bool>,
    /// ASF: HTML form tags.
    #[serde(default, deserialize_with = "de::opt_bool")]
    pub mark_as_spam_form_tags_in_html: Option<bool>,
    /// ASF: web bugs.
    #[serde(default, deserialize_with = "de::opt_bool")]
    pub mark_as_spam_web_bugs_in_html: Option<bool>,
    /// ASF: sensitive words.
    #[serde(default, deserialize_with = "de::opt_bool")]
    pub mark_as_spam_sensitive_word_list: Option<bool>,
    /// Block mail in the languages of `LanguageBlockList`.
    #[serde(default, deserialize_with = "de::opt_bool")]
    pub enable_language_block_list: Option<bool>,
    /// ISO 639-1 language codes (`ru`, `zh`).
    #[serde(default, deserialize_with = "de::opt_texts")]
    pub language_block_list: Vec<String>,
    /// Block mail from the countries of `RegionBlockList`.
    #[serde(default, deserialize_with = "de::opt_bool")]
    pub enable_region_block_list: Option<bool>,
    /// ISO 3166-1 country codes (`RU`, `CN`).
    #[serde(default, deserialize_with = "de::opt_texts")]
    pub region_block_list: Vec<String>,
    /// Sender domains always allowed.
    #[serde(default, deserialize_with = "de::opt_texts")]
    pub allowed_sender_domains: Vec<String>,
}

fn on_off(b: Option<bool>) -> &'static str {
    if b == Some(true) {
        "On"
    } else {
        "Off"
    }
}

/// Two-letter codes split on commas, in `upper` or lower case; an error names the bad one.
fn codes(field: &str, items: &[String], upper: bool) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    for c in items
        .iter()
        .flat_map(|i| i.split(','))
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        if c.len() != 2 || !c.chars().all(|x| x.is_ascii_alphabetic()) {
            return Err(invalid(
                SPAM,
                field,
                format!("`{c}` is not a two-letter code"),
            ));
        }
        out.push(if upper {
            c.to_ascii_uppercase()
        } else {
            c.to_ascii_lowercase()
        });
    }
    Ok(sorted(out))
}

impl SpamFilterSettings {
    fn action(field: &str, v: &Option<String>) -> Result<String, Error> {
        one_of(SPAM, field, v.as_deref(), SPAM_ACTIONS)
    }

    fn tag(field: &str, v: &Option<String>) -> Result<String, Error> {
        match v.as_deref().map(str::trim) {
            Some(t) if !t.is_empty() && !t.contains(['\\', '/', '"']) => {
                Ok(super::QUARANTINE_POLICIES
                    .iter()
                    .find(|q| q.eq_ignore_ascii_case(t))
                    .map_or_else(|| t.to_owned(), |q| (*q).to_owned()))
            }
            Some(t) => Err(invalid(
                SPAM,
                field,
                format!("`{t}` is not a quarantine policy name"),
            )),
            None => Err(invalid(SPAM, field, "required: a quarantine policy name")),
        }
    }

    /// The policy's wanted parameters, validated.
    fn wanted(&self) -> Result<Map<String, Value>, Error> {
        let threshold = self.bulk_threshold.unwrap_or(7);
        if !(1..=9).contains(&threshold) {
            return Err(invalid(
                SPAM,
                "BulkThreshold",
                format!("{threshold} is not a threshold from 1 to 9"),
            ));
        }
        let domains = sorted(
            self.allowed_sender_domains
                .iter()
                .flat_map(|d| d.split(','))
                .map(|d| d.trim().to_ascii_lowercase())
                .filter(|d| !d.is_empty())
                .collect(),
        );
        if let Some(bad) = domains
            .iter()
            .find(|d| !d.contains('.') || d.contains(['@', ' ', '/']))
        {
            return Err(invalid(
                SPAM,
                "AllowedSenderDomains",
                format!("`{bad}` is not a domain"),
            ));
        }
        let mut m: Map<String, Value> = match json!({
            "SpamAction": Self::action("SpamAction", &self.spam_action)?,
            "SpamQuarantineTag": Self::tag("SpamQuarantineTag", &self.spam_quarantine_tag)?,
            "HighConfidenceSpamAction": Self::action("HighConfidenceSpamAction", &self.high_confidence_spam_action)?,
            "HighConfidenceSpamQuarantineTag": Self::tag("HighConfidenceSpamQuarantineTag", &self.high_confidence_spam_quarantine_tag)?,
            "BulkSpamAction": Self::action("BulkSpamAction", &self.bulk_spam_action)?,
            "BulkQuarantineTag": Self::tag("BulkQuarantineTag", &self.bulk_quarantine_tag)?,
            "PhishSpamAction": Self::action("PhishSpamAction", &self.phish_spam_action)?,
            "PhishQuarantineTag": Self::tag("PhishQuarantineTag", &self.phish_quarantine_tag)?,
            "HighConfidencePhishAction": "Quarantine",
            "HighConfidencePhishQuarantineTag": Self::tag("HighConfidencePhishQuarantineTag", &self.high_confidence_phish_quarantine_tag)?,
            "BulkThreshold": threshold, "QuarantineRetentionPeriod": 30,
            "IncreaseScoreWithImageLinks": on_off(self.increase_score_with_image_links),
            "IncreaseScoreWithNumericIps": "Off", "IncreaseScoreWithRedirectToOtherPort": "Off",
            "IncreaseScoreWithBizOrInfoUrls": on_off(self.increase_score_with_biz_or_info_urls),
            "MarkAsSpamEmptyMessages": "Off", "MarkAsSpamJavaScriptInHtml": "Off",
            "MarkAsSpamFramesInHtml": on_off(self.mark_as_spam_frames_in_html),
            "MarkAsSpamObjectTagsInHtml": on_off(self.mark_as_spam_object_tags_in_html),
            "MarkAsSpamEmbedTagsInHtml": on_off(self.mark_as_spam_embed_tags_in_html),
            "MarkAsSpamFormTagsInHtml": on_off(self.mark_as_spam_form_tags_in_html),
            "MarkAsSpamWebBugsInHtml": on_off(self.mark_as_spam_web_bugs_in_html),
            "MarkAsSpamSensitiveWordList": on_off(self.mark_as_spam_sensitive_word_list),
            "MarkAsSpamSpfRecordHardFail": "Off", "MarkAsSpamFromAddressAuthFail": "Off",
            "MarkAsSpamNdrBackscatter": "Off", "MarkAsSpamBulkMail": "On",
            "InlineSafetyTipsEnabled": true, "PhishZapEnabled": true, "SpamZapEnabled": true,
            "AllowedSenderDomains": domains
        }) {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        let languages = codes("LanguageBlockList", &self.language_block_list, false)?;
        let regions = codes("RegionBlockList", &self.region_block_list, true)?;
        let lang_on = self.enable_language_block_list == Some(true) && !languages.is_empty();
        let region_on = self.enable_region_block_list == Some(true) && !regions.is_empty();
        m.insert("EnableLanguageBlockList".into(), json!(lang_on));
        if lang_on {
            m.insert("LanguageBlockList".into(), json!(languages));
        }
        m.insert("EnableRegionBlockList".into(), json!(region_on));
        if region_on {
            m.insert("RegionBlockList".into(), json!(regions));
        }
        Ok(m)
    }
}

fn spam_policies() -> Read {
    Read::exchange("Get-HostedContentFilterPolicy")
}

fn spam_rules() -> Read {
    Read::exchange("Get-HostedContentFilterRule")
}

fn accepted_domains() -> Read {
    Read::exchange("Get-AcceptedDomain")
}

/// The policy the standard manages and its rule.
struct SpamTarget<'a> {
    /// The policy's name (an existing policy's own spelling).
    name: String,
    /// The policy, when it exists.
    policy: Option<&'a Value>,
    /// Whether it is the built-in policy, which can have no rule.
    is_default: bool,
    /// Its rule, when it exists.
    rule: Option<&'a Value>,
}

fn spam_target<'a>(s: &SpamFilterSettings, snap: &'a Snapshot) -> Result<SpamTarget<'a>, Error> {
    let configured = s
        .name
        .clone()
        .unwrap_or_else(|| SPAM_DEFAULT_NAME.to_owned());
    let policies = rows(snap, &spam_policies())?;
    let mut existing = policies
        .iter()
        .find(|p| text(p, "Name").eq_ignore_ascii_case(&configured));
    if existing.is_none()
        && BUILT_IN_SPAM_NAMES
            .iter()
            .any(|n| n.eq_ignore_ascii_case(&configured))
    {
        existing = policies
            .iter()
            .find(|p| p["IsDefault"] == json!(true))
            .or_else(|| policies.iter().find(|p| text(p, "Name") == "Default"));
    }
    let name = existing.map_or(configured, |p| text(p, "Name").to_owned());
    let is_default = existing.is_some_and(|p| p["IsDefault"] == json!(true)) || name == "Default";
    let rule = rows(snap, &spam_rules())?
        .iter()
        .find(|r| text(r, "Name").eq_ignore_ascii_case(&name));
    Ok(SpamTarget {
        name,
        policy: existing,
        is_default,
        rule,
    })
}

fn spam_states(s: &SpamFilterSettings, snap: &Snapshot) -> Result<(Value, Value), Error> {
    let wanted = s.wanted()?;
    let SpamTarget {
        name,
        policy,
        is_default,
        rule,
    } = spam_target(s, snap)?;
    let mut current = Map::new();
    let mut expected = Map::new();
    current.insert(
        "Name".into(),
        policy.map_or(Value::Null, |p| p["Name"].clone()),
    );
    expected.insert("Name".into(), json!(name));
    for (k, v) in &wanted {
        let c = policy.map_or(Value::Null, |p| p[k.as_str()].clone());
        let c = if v.is_array() { json!(texts(&c)) } else { c };
        current.insert(k.clone(), c);
        expected.insert(k.clone(), v.clone());
    }
    if !is_default {
        current.insert(
            "Rule".into(),
            rule.map_or(Value::Null, |r| {
                json!({"Name": r["Name"], "Policy": r["HostedContentFilterPolicy"], "State": r["State"],
                       "Priority": r["Priority"], "RecipientDomainIs": sorted(texts(&r["RecipientDomainIs"]))})
            }),
        );
        expected.insert(
            "Rule".into(),
            json!({"Name": name, "Policy": name, "State": "Enabled", "Priority": 0,
                   "RecipientDomainIs": domain_names(snap)?}),
        );
    }
    Ok((Value::Object(current), Value::Object(expected)))
}

fn spam_filter() -> ExoStandard<SpamFilterSettings> {
    ExoStandard::<SpamFilterSettings>::new(
        meta(
            "SpamFilterPolicy",
            Impact::Medium,
            "Default Spam Filter Policy",
            "This standard creates a Spam filter policy aligned with the Microsoft Strict preset.",
            &["ORCA100", "ORCA101", "ORCA102", "ORCA103", "ORCA104", "ORCA123", "ORCA139", "ORCA140", "ORCA141", "ORCA142", "ORCA143", "ORCA224", "ORCA231", "ORCA241", "CISAMSEXO141", "CISAMSEXO142", "CISAMSEXO143"],
            "Get-HostedContentFilterPolicy; Get-HostedContentFilterRule; Get-AcceptedDomain",
            "New-/Set-HostedContentFilterPolicy; New-/Set-HostedContentFilterRule -Priority 0 -RecipientDomainIs <accepted domains>, Enable-HostedContentFilterRule (not for the built-in policy)",
        ),
        |_| vec![spam_policies(), spam_rules(), accepted_domains()],
        |s, snap| {
            let (current, expected) = spam_states(s, snap)?;
            Ok(Check::evaluated(current, expected))
        },
        |s, snap| {
            let (current, expected) = spam_states(s, snap)?;
            let SpamTarget {
                name, policy, rule, ..
            } = spam_target(s, snap)?;
            let diffs = differences(&current, &expected, true);
            let mut plan = Vec::new();
            if diffs.iter().any(|d| d.field != "Rule") {
                let mut params = s.wanted()?;
                if policy.is_some() {
                    params.insert("Identity".into(), json!(name));
                    plan.push(vec![cmdlet("Set-HostedContentFilterPolicy", Value::Object(params))]);
                } else {
                    params.insert("Name".into(), json!(name));
                    plan.push(vec![cmdlet("New-HostedContentFilterPolicy", Value::Object(params))]);
                }
            }
            if diffs.iter().any(|d| d.field == "Rule") {
                let mut params = Map::new();
                params.insert("Priority".into(), json!(0));
                params.insert("RecipientDomainIs".into(), json!(domain_names(snap)?));
                if !rule.is_some_and(|r| text(r, "HostedContentFilterPolicy").eq_ignore_ascii_case(&name)) {
                    params.insert("HostedContentFilterPolicy".into(), json!(name));
                }
                match rule {
                    Some(r) => {
                        params.insert("Identity".into(), json!(name));
                        plan.push(vec![cmdlet("Set-HostedContentFilterRule", Value::Object(params))]);
                        if r["State"] == json!("Disabled") {
                            plan.push(vec![cmdlet("Enable-HostedContentFilterRule", json!({"Identity": name}))]);
                        }
                    }
                    None => {
                        params.insert("Name".into(), json!(name));
                        plan.push(vec![cmdlet("New-HostedContentFilterRule", Value::Object(params))]);
                    }
                }
            }
            Ok(plan)
        },
    )
    .validated(|s| s.wanted().map(drop))
}

// ---- EmptyFilterIPAllowList

fn empty_ip_allow_list() -> ExoStandard<crate::standards::NoSettings> {
    ExoStandard::new(
        meta(
            "EmptyFilterIPAllowList",
            Impact::Medium,
            "Ensure connection filter IP allow list is empty",
            "Ensures the connection filter IP allow list is not used. IPs on this list bypass spam, spoof, and authentication checks.",
            &["CIS M365 6.0.1 (2.1.12)"],
            "Get-HostedConnectionFilterPolicy -Identity Default (IPAllowList)",
            "Set-HostedConnectionFilterPolicy -Identity Default -IPAllowList @()",
        ),
        |_| vec![connection_filter()],
        |_, snap| {
            let list = texts(&snap.first_row(&connection_filter())?["IPAllowList"]);
            Ok(Check::evaluated(
                json!({"IPAllowListEmpty": list.is_empty(), "IPAllowList": list.join(", ")}),
                json!({"IPAllowListEmpty": true, "IPAllowList": ""}),
            ))
        },
        |_, _| {
            Ok(vec![vec![cmdlet(
                "Set-HostedConnectionFilterPolicy",
                json!({"Identity": "Default", "IPAllowList": []}),
            )]])
        },
    )
}

// ---- AntiSpamSafeList

/// Settings of `AntiSpamSafeList`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct AntiSpamSafeListSettings {
    /// Use Microsoft's safe list of senders (absent: off, as CIPP reads it).
    #[serde(rename = "EnableSafeList", default, deserialize_with = "de::opt_bool")]
    pub enable_safe_list: Option<bool>,
}

fn anti_spam_safe_list() -> SettingStandard<AntiSpamSafeListSettings> {
    SettingStandard::<AntiSpamSafeListSettings>::new(
        meta(
            "AntiSpamSafeList",
            Impact::Medium,
            "Set Anti-Spam Connection Filter Safe List",
            "Sets the anti-spam connection filter policy option 'safe list' in Defender.",
            &["CIS M365 5.0 (2.1.13)"],
            "Get-HostedConnectionFilterPolicy -Identity Default (EnableSafeList)",
            "Set-HostedConnectionFilterPolicy -Identity Default -EnableSafeList <state>",
        ),
        connection_filter(),
        |s| {
            vec![Field::new(
                "/EnableSafeList",
                s.enable_safe_list.unwrap_or(false),
            )]
        },
        |s, _| {
            Ok(Write::exchange(
                "Set-HostedConnectionFilterPolicy",
                json!({"Identity": "Default", "EnableSafeList": s.enable_safe_list.unwrap_or(false)}),
            ))
        },
    )
}

// ---- AtpPolicyForO365

/// Service plans of SharePoint and OneDrive (CIPP's "SharePoint" licence preset).
pub const SHAREPOINT_CAPABILITIES: &[&str] = &[
    "SHAREPOINTWAC",
    "SHAREPOINTSTANDARD",
    "SHAREPOINTENTERPRISE",
    "SHAREPOINTENTERPRISE_EDU",
    "SHAREPOINTENTERPRISE_GOV",
    "ONEDRIVE_BASIC",
    "ONEDRIVE_ENTERPRISE",
];

/// Settings of `AtpPolicyForO365`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct AtpPolicySettings {
    /// Let people click through Protected View for files Safe Documents found malicious
    /// (default off).
    #[serde(
        rename = "AllowSafeDocsOpen",
        default,
        deserialize_with = "de::opt_bool"
    )]
    pub allow_safe_docs_open: Option<bool>,
}

fn atp() -> Read {
    Read::exchange("Get-AtpPolicyForO365")
}

fn atp_policy() -> ExoStandard<AtpPolicySettings> {
    let mut m = meta(
        "AtpPolicyForO365",
        Impact::Low,
        "Default Atp Policy For O365",
        "This creates a Atp policy that enables Defender for Office 365 for SharePoint, OneDrive and Microsoft Teams.",
        &["CIS M365 5.0 (2.1.5)", "NIST CSF 2.0 (DE.CM-09)"],
        "Get-AtpPolicyForO365; GET subscribedSkus (Defender for Office 365)",
        "Set-AtpPolicyForO365 -EnableATPForSPOTeamsODB $true -EnableSafeDocs $true -AllowSafeDocsOpen <setting>",
    );
    m.capabilities = SHAREPOINT_CAPABILITIES;
    fn wanted(s: &AtpPolicySettings) -> Value {
        json!({"EnableATPForSPOTeamsODB": true, "EnableSafeDocs": true,
               "AllowSafeDocsOpen": s.allow_safe_docs_open.unwrap_or(false)})
    }
    ExoStandard::<AtpPolicySettings>::new(
        m,
        |_| vec![atp(), Read::GraphList(GraphListing::SubscribedSkus)],
        |s, snap| {
            if !has_mdo(snap)? {
                return Ok(no_mdo());
            }
            let p = snap.first_row(&atp())?;
            let current: Map<String, Value> = [
                "EnableATPForSPOTeamsODB",
                "EnableSafeDocs",
                "AllowSafeDocsOpen",
            ]
            .iter()
            .map(|k| ((*k).to_owned(), p[*k].clone()))
            .collect();
            Ok(Check::evaluated(Value::Object(current), wanted(s)))
        },
        |s, snap| {
            if !has_mdo(snap)? {
                return Err(invalid(
                    "AtpPolicyForO365",
                    "licence",
                    "the tenant has no Microsoft Defender for Office 365 licence",
                ));
            }
            Ok(vec![vec![cmdlet("Set-AtpPolicyForO365", wanted(s))]])
        },
    )
}
