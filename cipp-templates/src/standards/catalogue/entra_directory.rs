//! Standards over directory settings (`groupSettings`, made from templates): the custom
//! banned password list and smart lockout ("Password Rule Settings") and Microsoft 365
//! group creation ("Group.Unified"). Each reads every setting once (shared), and writes the
//! setting as it is just before the write, since several of them change the same setting
//! from one snapshot.

use std::sync::Arc;

use async_trait::async_trait;
use cipp_core::Error;
use cipp_graph::settings::{
    directory_setting, directory_setting_change, directory_setting_value, GraphSetting,
    GROUP_UNIFIED_SETTINGS, PASSWORD_RULE_SETTINGS,
};
use serde::Deserialize;
use serde_json::{json, Value};

use super::policies::{meta, ENTRA_P1};
use super::{de, invalid};
use crate::standards::model::{Check, Impact, Standard, StandardMeta, TenantTarget};
use crate::standards::read::{Read, Snapshot};
use crate::standards::setting::typed;
use crate::standards::NoSettings;

pub(super) fn standards() -> Vec<Arc<dyn Standard>> {
    vec![
        Arc::new(CustomBannedPasswordList::new()),
        Arc::new(SmartLockout::new()),
        Arc::new(DisableM365GroupUsers::new()),
    ]
}

fn directory_settings() -> Read {
    Read::Graph(GraphSetting::DirectorySettings)
}

/// Whether `e` is Graph refusing to create an object that exists already.
fn is_conflict(e: &Error) -> bool {
    match e {
        Error::Api(a) => {
            a.status.as_u16() == 409
                || (a.status.as_u16() == 400
                    && a.message.to_ascii_lowercase().contains("conflicting"))
        }
        _ => false,
    }
}

/// Writes the directory setting from `template` as `change` makes it from the setting as
/// it is now: read again just before writing (several standards change the same setting
/// from one snapshot, and a `PATCH` carries every value), and when another writer created
/// it in between (Graph's conflict), read once more and change that one.
async fn change_directory_setting(
    target: &TenantTarget,
    template: &str,
    change: impl Fn(Option<&Value>) -> Value,
) -> Result<(), Error> {
    let api = target.graph.settings();
    let mut attempt = 0;
    loop {
        let all = api.get(&GraphSetting::DirectorySettings).await?;
        let existing = directory_setting(&all, template);
        let creating = existing.is_none();
        match api
            .update(&GraphSetting::DirectorySettings, &change(existing))
            .await
        {
            Err(e) if creating && attempt == 0 && is_conflict(&e) => attempt += 1,
            other => return other,
        }
    }
}

/// "True"/"False" as Entra ID writes them (any case read).
fn setting_bool(v: Option<&str>) -> Option<&'static str> {
    match v {
        Some(s) if s.eq_ignore_ascii_case("true") => Some("True"),
        Some(s) if s.eq_ignore_ascii_case("false") => Some("False"),
        _ => None,
    }
}

/// Settings of `CustomBannedPasswordList`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct BannedPasswordSettings {
    /// Words separated by commas, semicolons or new lines (required; at most 1,000 words
    /// of 4–16 characters).
    #[serde(rename = "BannedWords", default, deserialize_with = "de::opt_text")]
    pub banned_words: Option<String>,
}

impl BannedPasswordSettings {
    /// The words, trimmed, without duplicates (case-insensitive), in the order given.
    pub fn words(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for w in self
            .banned_words
            .as_deref()
            .unwrap_or("")
            .split([',', ';', '\r', '\n'])
            .map(str::trim)
            .filter(|w| !w.is_empty())
        {
            if !out.iter().any(|o| o.eq_ignore_ascii_case(w)) {
                out.push(w.to_owned());
            }
        }
        out
    }
}

/// `CustomBannedPasswordList`: the "Password Rule Settings" directory setting has the
/// banned password check on and holds every given word (words already there are kept).
/// Creates the setting from its template when the tenant has none (Entra ID P1).
pub struct CustomBannedPasswordList {
    meta: StandardMeta,
}

impl Default for CustomBannedPasswordList {
    fn default() -> Self {
        CustomBannedPasswordList::new()
    }
}

impl CustomBannedPasswordList {
    /// The standard.
    pub fn new() -> Self {
        CustomBannedPasswordList {
            meta: meta(
                "CustomBannedPasswordList",
                Impact::Medium,
                "Set Entra ID Custom Banned Password List",
                "**Requires Entra ID P1.** Updates and enables the Entra ID custom banned password list with the supplied words. Enter words separated by commas or semicolons. Each word must be 4-16 characters long. Maximum 1,000 words allowed.",
                &["CIS M365 5.0 (5.2.3.2)"],
                &[],
                "GET groupSettings (Password Rule Settings)",
                "PATCH groupSettings/{id} {EnableBannedPasswordCheck: True, BannedPasswordList}, or POST groupSettings from template 5cf42378-d67d-4f36-ba46-e8b86229381d",
            ),
        }
    }

    fn current_words(setting: &Value) -> Vec<String> {
        directory_setting_value(setting, "BannedPasswordList")
            .unwrap_or("")
            .split('\t')
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

#[async_trait]
impl Standard for CustomBannedPasswordList {
    fn meta(&self) -> &StandardMeta {
        &self.meta
    }

    fn validate(&self, settings: &Value) -> Result<(), Error> {
        let s: BannedPasswordSettings = typed(&self.meta, settings)?;
        let words = s.words();
        if words.is_empty() {
            return Err(invalid(
                self.meta.name,
                "BannedWords",
                "give at least one word",
            ));
        }
        if words.len() > 1000 {
            return Err(invalid(
                self.meta.name,
                "BannedWords",
                format!("{} words: the list holds at most 1000", words.len()),
            ));
        }
        let bad: Vec<&str> = words
            .iter()
            .filter(|w| !(4..=16).contains(&w.chars().count()))
            .map(String::as_str)
            .take(5)
            .collect();
        if !bad.is_empty() {
            return Err(invalid(
                self.meta.name,
                "BannedWords",
                format!("each word must be 4 to 16 characters: {}", bad.join(", ")),
            ));
        }
        Ok(())
    }

    fn reads(&self, _: &Value) -> Vec<Read> {
        vec![directory_settings()]
    }

    fn check(&self, settings: &Value, snapshot: &Snapshot) -> Result<Check, Error> {
        let s: BannedPasswordSettings = typed(&self.meta, settings)?;
        let all = snapshot.get(&directory_settings())?;
        let words = s.words();
        let current = match directory_setting(all, PASSWORD_RULE_SETTINGS) {
            None => {
                let mut missing = words.clone();
                missing.sort();
                json!({"Status": "Not Configured", "Enabled": false, "MissingInputWords": missing})
            }
            Some(setting) => {
                let have = Self::current_words(setting);
                let mut missing: Vec<&String> = words
                    .iter()
                    .filter(|w| !have.iter().any(|h| h.eq_ignore_ascii_case(w)))
                    .collect();
                missing.sort();
                let enabled = setting_bool(directory_setting_value(
                    setting,
                    "EnableBannedPasswordCheck",
                )) == Some("True");
                json!({"Status": "Configured", "Enabled": enabled, "MissingInputWords": missing})
            }
        };
        Ok(Check::evaluated(
            current,
            json!({"Status": "Configured", "Enabled": true, "MissingInputWords": []}),
        ))
    }

    async fn remediate(
        &self,
        settings: &Value,
        _: &Snapshot,
        target: &TenantTarget,
    ) -> Result<(), Error> {
        let s: BannedPasswordSettings = typed(&self.meta, settings)?;
        let words = s.words();
        change_directory_setting(target, PASSWORD_RULE_SETTINGS, |existing| match existing {
            None => directory_setting_change(
                None,
                PASSWORD_RULE_SETTINGS,
                &[
                    ("EnableBannedPasswordCheck", "True".into()),
                    ("BannedPasswordList", words.join("\t")),
                    ("LockoutDurationInSeconds", "60".into()),
                    ("LockoutThreshold", "10".into()),
                    ("EnableBannedPasswordCheckOnPremises", "False".into()),
                    ("BannedPasswordCheckOnPremisesMode", "Audit".into()),
                ],
            ),
            Some(setting) => {
                // New words first, so that none is cut when the list reaches 1,000.
                let mut merged: Vec<String> = Vec::new();
                for w in words.iter().cloned().chain(Self::current_words(setting)) {
                    if !merged.iter().any(|m| m.eq_ignore_ascii_case(&w)) {
                        merged.push(w);
                    }
                }
                merged.truncate(1000);
                directory_setting_change(
                    Some(setting),
                    PASSWORD_RULE_SETTINGS,
                    &[
                        ("EnableBannedPasswordCheck", "True".into()),
                        ("BannedPasswordList", merged.join("\t")),
                    ],
                )
            }
        })
        .await
    }
}

/// Settings of `SmartLockout` (CIPP's defaults: 60 seconds, 10 attempts, on-premises off,
/// Audit).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct SmartLockoutSettings {
    /// Seconds of the first lockout (at least 1).
    #[serde(
        rename = "LockoutDurationInSeconds",
        default,
        deserialize_with = "de::opt_i64"
    )]
    pub lockout_duration_in_seconds: Option<i64>,
    /// Failed sign-ins before the first lockout (at least 1).
    #[serde(rename = "LockoutThreshold", default, deserialize_with = "de::opt_i64")]
    pub lockout_threshold: Option<i64>,
    /// On-premises password protection on.
    #[serde(
        rename = "EnableBannedPasswordCheckOnPremises",
        default,
        deserialize_with = "de::opt_bool"
    )]
    pub enable_on_premises: Option<bool>,
    /// On-premises mode: `Audit` or `Enforce` (CIPP's old `Enforced` is read as `Enforce`).
    #[serde(
        rename = "BannedPasswordCheckOnPremisesMode",
        default,
        deserialize_with = "de::opt_text"
    )]
    pub on_premises_mode: Option<String>,
}

impl SmartLockoutSettings {
    /// The four values wanted, as the directory setting holds them.
    pub fn values(&self) -> [(&'static str, String); 4] {
        let mode = match self.on_premises_mode.as_deref() {
            None => "Audit".to_owned(),
            Some(m) if m.eq_ignore_ascii_case("enforced") || m.eq_ignore_ascii_case("enforce") => {
                "Enforce".to_owned()
            }
            Some(m) if m.eq_ignore_ascii_case("audit") => "Audit".to_owned(),
            Some(m) => m.to_owned(),
        };
        [
            (
                "LockoutDurationInSeconds",
                self.lockout_duration_in_seconds.unwrap_or(60).to_string(),
            ),
            (
                "LockoutThreshold",
                self.lockout_threshold.unwrap_or(10).to_string(),
            ),
            (
                "EnableBannedPasswordCheckOnPremises",
                if self.enable_on_premises.unwrap_or(false) {
                    "True"
                } else {
                    "False"
                }
                .to_owned(),
            ),
            ("BannedPasswordCheckOnPremisesMode", mode),
        ]
    }
}

/// `SmartLockout`: the lockout duration, threshold and on-premises password protection of
/// the "Password Rule Settings" directory setting (the banned password list is kept).
pub struct SmartLockout {
    meta: StandardMeta,
}

impl Default for SmartLockout {
    fn default() -> Self {
        SmartLockout::new()
    }
}

impl SmartLockout {
    /// The standard.
    pub fn new() -> Self {
        SmartLockout {
            meta: meta(
                "SmartLockout",
                Impact::Medium,
                "Configure Entra ID Smart Lockout",
                "**Requires Entra ID P1.** Configures the Entra ID Smart Lockout settings including lockout duration, lockout threshold, and on-premises integration mode.",
                &["EIDSCAPR05", "EIDSCAPR06"],
                ENTRA_P1,
                "GET groupSettings (Password Rule Settings)",
                "PATCH groupSettings/{id} {LockoutDurationInSeconds, LockoutThreshold, EnableBannedPasswordCheckOnPremises, BannedPasswordCheckOnPremisesMode}, or POST groupSettings from template 5cf42378-d67d-4f36-ba46-e8b86229381d",
            ),
        }
    }
}

#[async_trait]
impl Standard for SmartLockout {
    fn meta(&self) -> &StandardMeta {
        &self.meta
    }

    fn validate(&self, settings: &Value) -> Result<(), Error> {
        let s: SmartLockoutSettings = typed(&self.meta, settings)?;
        for (field, v) in [
            ("LockoutDurationInSeconds", s.lockout_duration_in_seconds),
            ("LockoutThreshold", s.lockout_threshold),
        ] {
            if let Some(n) = v {
                if !(1..=i64::from(i32::MAX)).contains(&n) {
                    return Err(invalid(
                        self.meta.name,
                        field,
                        format!("{n}: give a whole number of at least 1"),
                    ));
                }
            }
        }
        let mode = &s.values()[3].1;
        if !matches!(mode.as_str(), "Audit" | "Enforce") {
            return Err(invalid(
                self.meta.name,
                "BannedPasswordCheckOnPremisesMode",
                format!("`{mode}`: use Audit or Enforce"),
            ));
        }
        Ok(())
    }

    fn reads(&self, _: &Value) -> Vec<Read> {
        vec![directory_settings()]
    }

    fn check(&self, settings: &Value, snapshot: &Snapshot) -> Result<Check, Error> {
        let s: SmartLockoutSettings = typed(&self.meta, settings)?;
        let all = snapshot.get(&directory_settings())?;
        let setting = directory_setting(all, PASSWORD_RULE_SETTINGS);
        let mut current = serde_json::Map::new();
        let mut expected = serde_json::Map::new();
        for (name, want) in s.values() {
            let have = setting
                .and_then(|st| directory_setting_value(st, name))
                .map(|v| setting_bool(Some(v)).map_or_else(|| v.to_owned(), str::to_owned));
            current.insert(
                name.into(),
                json!(have.unwrap_or_else(|| "Not Configured".into())),
            );
            expected.insert(name.into(), json!(want));
        }
        Ok(Check::evaluated(
            Value::Object(current),
            Value::Object(expected),
        ))
    }

    async fn remediate(
        &self,
        settings: &Value,
        _: &Snapshot,
        target: &TenantTarget,
    ) -> Result<(), Error> {
        let s: SmartLockoutSettings = typed(&self.meta, settings)?;
        change_directory_setting(target, PASSWORD_RULE_SETTINGS, |existing| {
            let mut values: Vec<(&str, String)> = s.values().to_vec();
            if existing.is_none() {
                values.insert(0, ("BannedPasswordList", String::new()));
                values.insert(0, ("EnableBannedPasswordCheck", "False".into()));
            }
            directory_setting_change(existing, PASSWORD_RULE_SETTINGS, &values)
        })
        .await
    }
}

/// `DisableM365GroupUsers`: the "Group.Unified" directory setting turns group creation
/// off (`EnableGroupCreation: false`); created from its template when absent.
pub struct DisableM365GroupUsers {
    meta: StandardMeta,
}

impl Default for DisableM365GroupUsers {
    fn default() -> Self {
        DisableM365GroupUsers::new()
    }
}

impl DisableM365GroupUsers {
    /// The standard.
    pub fn new() -> Self {
        DisableM365GroupUsers {
            meta: meta(
                "DisableM365GroupUsers",
                Impact::Low,
                "Disable M365 Group creation by users",
                "Restricts M365 group creation to certain admin roles. This disables the ability to create Teams, SharePoint sites, Planner, etc",
                &["CISA (MS.AAD.21.1v1)", "ZTNA21868"],
                &["SHAREPOINTWAC", "SHAREPOINTSTANDARD", "SHAREPOINTENTERPRISE", "SHAREPOINTENTERPRISE_EDU", "SHAREPOINTENTERPRISE_GOV", "ONEDRIVE_BASIC", "ONEDRIVE_ENTERPRISE"],
                "GET groupSettings (Group.Unified)",
                "PATCH groupSettings/{id} {EnableGroupCreation: false}, or POST groupSettings from template 62375ab9-6b52-47ed-826b-58e47e0e304b",
            ),
        }
    }
}

#[async_trait]
impl Standard for DisableM365GroupUsers {
    fn meta(&self) -> &StandardMeta {
        &self.meta
    }

    fn validate(&self, settings: &Value) -> Result<(), Error> {
        typed::<NoSettings>(&self.meta, settings).map(|_| ())
    }

    fn reads(&self, _: &Value) -> Vec<Read> {
        vec![directory_settings()]
    }

    fn check(&self, _: &Value, snapshot: &Snapshot) -> Result<Check, Error> {
        let all = snapshot.get(&directory_settings())?;
        let disabled = directory_setting(all, GROUP_UNIFIED_SETTINGS)
            .and_then(|s| setting_bool(directory_setting_value(s, "EnableGroupCreation")))
            == Some("False");
        Ok(Check::evaluated(
            json!({"M365GroupUserCreationDisabled": disabled}),
            json!({"M365GroupUserCreationDisabled": true}),
        ))
    }

    async fn remediate(&self, _: &Value, _: &Snapshot, target: &TenantTarget) -> Result<(), Error> {
        change_directory_setting(target, GROUP_UNIFIED_SETTINGS, |existing| {
            directory_setting_change(
                existing,
                GROUP_UNIFIED_SETTINGS,
                &[("EnableGroupCreation", "false".into())],
            )
        })
        .await
    }
}
