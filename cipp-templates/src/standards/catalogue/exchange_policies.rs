//! Standards over named policies and configuration objects: `EXODisableAutoForwarding` and
//! `OutBoundSpamAlert` (the `Default` outbound spam policy), `SpoofWarn` (External in
//! Outlook), `DisableExternalCalendarSharing` (the default sharing policy),
//! `DisableAdditionalStorageProviders` (the default OWA policy), `DisableOutlookAddins` (the
//! default role assignment policy), `AddDKIM` (DKIM per accepted domain) and
//! `UserSubmissions` (the report submission policy and rule).

use std::sync::Arc;

use async_trait::async_trait;
use cipp_core::Error;
use serde::Deserialize;
use serde_json::{json, Value};

use super::super::entra::{de, invalid};
use super::{cmdlet, is_smtp, meta, one_of, rows, send_groups, sorted, text, texts, ExoStandard};
use crate::standards::model::{Check, Impact, Standard, StandardMeta, TenantTarget};
use crate::standards::read::{Read, Snapshot};
use crate::standards::setting::{typed, Field, SettingStandard, Write};
use crate::standards::NoSettings;

pub(super) fn standards() -> Vec<Arc<dyn Standard>> {
    vec![
        Arc::new(disable_auto_forwarding()),
        Arc::new(outbound_spam_alert()),
        Arc::new(spoof_warn()),
        Arc::new(disable_external_calendar_sharing()),
        Arc::new(disable_additional_storage_providers()),
        Arc::new(DisableOutlookAddins::new()),
        Arc::new(add_dkim()),
        Arc::new(user_submissions()),
    ]
}

fn outbound_policy() -> Read {
    Read::exchange_with(
        "Get-HostedOutboundSpamFilterPolicy",
        json!({"Identity": "Default"}),
    )
}

// ---- EXODisableAutoForwarding

fn disable_auto_forwarding() -> SettingStandard<NoSettings> {
    SettingStandard::<NoSettings>::new(
        meta(
            "EXODisableAutoForwarding",
            Impact::High,
            "Disable automatic forwarding to external recipients",
            "Disables the ability for users to automatically forward e-mails to external recipients.",
            &["CIS M365 5.0 (6.2.1)", "mdo_autoforwardingmode", "mdo_blockmailforward", "CISA (MS.EXO.4.1v1)", "NIST CSF 2.0 (PR.DS-02)"],
            "Get-HostedOutboundSpamFilterPolicy -Identity Default (AutoForwardingMode)",
            "Set-HostedOutboundSpamFilterPolicy -Identity Default -AutoForwardingMode Off",
        ),
        outbound_policy(),
        |_| vec![Field::new("/AutoForwardingMode", "Off")],
        |_, _| {
            Ok(Write::exchange(
                "Set-HostedOutboundSpamFilterPolicy",
                json!({"Identity": "Default", "AutoForwardingMode": "Off"}),
            ))
        },
    )
}

// ---- OutBoundSpamAlert

/// Settings of `OutBoundSpamAlert`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct OutboundSpamAlertSettings {
    /// Who is told when a user is blocked for sending spam: one or more e-mail addresses
    /// (separated by `,` or `;`); required.
    #[serde(
        rename = "OutboundSpamContact",
        default,
        deserialize_with = "de::opt_text"
    )]
    pub contact: Option<String>,
}

impl OutboundSpamAlertSettings {
    /// The addresses, lower case, sorted.
    fn contacts(&self) -> Vec<String> {
        sorted(
            self.contact
                .as_deref()
                .unwrap_or_default()
                .split([',', ';'])
                .map(|a| a.trim().to_ascii_lowercase())
                .filter(|a| !a.is_empty())
                .collect(),
        )
    }
}

fn outbound_spam_alert() -> ExoStandard<OutboundSpamAlertSettings> {
    ExoStandard::<OutboundSpamAlertSettings>::new(
        meta(
            "OutBoundSpamAlert",
            Impact::Low,
            "Set Outbound Spam Alert e-mail",
            "Set the Outbound Spam Alert e-mail address",
            &["CIS M365 5.0 (2.1.6)"],
            "Get-HostedOutboundSpamFilterPolicy -Identity Default (NotifyOutboundSpam, NotifyOutboundSpamRecipients)",
            "Set-HostedOutboundSpamFilterPolicy -Identity Default -NotifyOutboundSpam $true -NotifyOutboundSpamRecipients <contact>",
        ),
        |_| vec![outbound_policy()],
        |s, snap| {
            let p = snap.first_row(&outbound_policy())?;
            let current: Vec<String> = sorted(
                texts(&p["NotifyOutboundSpamRecipients"])
                    .iter()
                    .map(|a| a.to_ascii_lowercase())
                    .collect(),
            );
            Ok(Check::evaluated(
                json!({"NotifyOutboundSpam": p["NotifyOutboundSpam"] == json!(true),
                       "NotifyOutboundSpamRecipients": current}),
                json!({"NotifyOutboundSpam": true, "NotifyOutboundSpamRecipients": s.contacts()}),
            ))
        },
        |s, _| {
            Ok(vec![vec![cmdlet(
                "Set-HostedOutboundSpamFilterPolicy",
                json!({"Identity": "Default", "NotifyOutboundSpam": true,
                       "NotifyOutboundSpamRecipients": s.contacts()}),
            )]])
        },
    )
    .validated(|s| {
        let all = s.contacts();
        if all.is_empty() {
            return Err(invalid(
                "OutBoundSpamAlert",
                "OutboundSpamContact",
                "required: the e-mail address that receives outbound spam alerts",
            ));
        }
        if let Some(bad) = all.iter().find(|a| !is_smtp(a)) {
            return Err(invalid(
                "OutBoundSpamAlert",
                "OutboundSpamContact",
                format!("`{bad}` is not an e-mail address"),
            ));
        }
        Ok(())
    })
}

// ---- SpoofWarn

/// Settings of `SpoofWarn`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct SpoofWarnSettings {
    /// `enabled` or `disabled` (required).
    #[serde(default, deserialize_with = "de::opt_text")]
    pub state: Option<String>,
    /// Senders never marked external: `domain.com`, `*.domain.com` or `user@domain.com`.
    /// They are added to the allow list; entries already there are kept.
    #[serde(rename = "AllowListAdd", default, deserialize_with = "de::opt_texts")]
    pub allow_list_add: Vec<String>,
}

fn spoof_enabled(s: &SpoofWarnSettings) -> Result<bool, Error> {
    Ok(one_of(
        "SpoofWarn",
        "state",
        s.state.as_deref(),
        &["enabled", "disabled"],
    )? == "enabled")
}

/// Whether `entry` is a domain, a `*.` wildcard domain or an address.
fn allow_entry_ok(entry: &str) -> bool {
    let domain = entry
        .strip_prefix("*.")
        .or_else(|| {
            entry
                .split_once('@')
                .map(|(l, d)| if l.is_empty() { "" } else { d })
        })
        .unwrap_or(entry);
    !domain.is_empty()
        && domain.contains('.')
        && domain
            .split('.')
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
}

fn external_in_outlook() -> Read {
    Read::exchange("Get-ExternalInOutlook")
}

/// The wanted allow-list entries missing from the current list.
fn missing_allow(s: &SpoofWarnSettings, current: &Value) -> Vec<String> {
    let have = texts(&current["AllowList"]);
    sorted(
        s.allow_list_add
            .iter()
            .filter(|e| !have.iter().any(|h| h.eq_ignore_ascii_case(e)))
            .cloned()
            .collect(),
    )
}

fn spoof_warn() -> ExoStandard<SpoofWarnSettings> {
    ExoStandard::<SpoofWarnSettings>::new(
        meta(
            "SpoofWarn",
            Impact::Low,
            "Enable or disable 'external' warning in Outlook",
            "Adds or removes indicators to e-mail messages received from external senders in Outlook. Works on all Outlook clients/OWA",
            &["CIS M365 5.0 (6.2.3)", "ORCA111", "ORCA240", "CISAMSEXO71"],
            "Get-ExternalInOutlook (Enabled, AllowList)",
            "Set-ExternalInOutlook -Enabled <state> -AllowList @{Add=<missing entries>}",
        ),
        |_| vec![external_in_outlook()],
        |s, snap| {
            let cur = snap.first_row(&external_in_outlook())?;
            Ok(Check::evaluated(
                json!({"Enabled": cur["Enabled"] == json!(true), "AllowListMissing": missing_allow(s, cur)}),
                json!({"Enabled": spoof_enabled(s)?, "AllowListMissing": []}),
            ))
        },
        |s, snap| {
            let cur = snap.first_row(&external_in_outlook())?;
            let want = spoof_enabled(s)?;
            let mut params = serde_json::Map::new();
            if cur["Enabled"] != json!(want) {
                params.insert("Enabled".into(), json!(want));
            }
            let missing = missing_allow(s, cur);
            if !missing.is_empty() {
                params.insert(
                    "AllowList".into(),
                    json!({"@odata.type": "#Exchange.GenericHashTable", "Add": missing}),
                );
            }
            Ok(vec![vec![cmdlet("Set-ExternalInOutlook", Value::Object(params))]])
        },
    )
    .validated(|s| {
        spoof_enabled(s)?;
        if let Some(bad) = s.allow_list_add.iter().find(|e| !allow_entry_ok(e)) {
            return Err(invalid(
                "SpoofWarn",
                "AllowListAdd",
                format!("`{bad}` is not domain.com, *.domain.com or user@domain.com"),
            ));
        }
        Ok(())
    })
}

// ---- DisableExternalCalendarSharing

fn sharing_policies() -> Read {
    Read::exchange("Get-SharingPolicy")
}

fn disable_external_calendar_sharing() -> ExoStandard<NoSettings> {
    fn enabled_defaults(snap: &Snapshot) -> Result<Vec<String>, Error> {
        Ok(rows(snap, &sharing_policies())?
            .iter()
            .filter(|p| p["Default"] == json!(true) && p["Enabled"] == json!(true))
            .map(|p| text(p, "Name").to_owned())
            .collect())
    }
    ExoStandard::<NoSettings>::new(
        meta(
            "DisableExternalCalendarSharing",
            Impact::Low,
            "Disable external calendar sharing",
            "Disables the ability for users to share their calendar with external users. Only for the default policy, so exclusions can be made if needed.",
            &["CIS M365 5.0 (1.3.3)", "exo_individualsharing", "ZTNA21803", "CISAMSEXO62"],
            "Get-SharingPolicy (the default policy's Enabled)",
            "Set-SharingPolicy -Identity <default policy> -Enabled $false",
        ),
        |_| vec![sharing_policies()],
        |_, snap| {
            Ok(Check::evaluated(
                json!({"ExternalCalendarSharingDisabled": enabled_defaults(snap)?.is_empty()}),
                json!({"ExternalCalendarSharingDisabled": true}),
            ))
        },
        |_, snap| {
            Ok(vec![enabled_defaults(snap)?
                .into_iter()
                .map(|name| cmdlet("Set-SharingPolicy", json!({"Identity": name, "Enabled": false})))
                .collect()])
        },
    )
}

// ---- DisableAdditionalStorageProviders

fn disable_additional_storage_providers() -> SettingStandard<NoSettings> {
    SettingStandard::<NoSettings>::new(
        meta(
            "DisableAdditionalStorageProviders",
            Impact::Low,
            "Disable additional storage providers in OWA",
            "Disables the ability for users to open files in Outlook on the Web, from other providers such as Box, Dropbox, Facebook, Google Drive, OneDrive Personal, etc.",
            &["CIS M365 5.0 (6.5.3)", "exo_storageproviderrestricted", "ZTNA21817"],
            "Get-OwaMailboxPolicy -Identity OwaMailboxPolicy-Default (AdditionalStorageProvidersAvailable)",
            "Set-OwaMailboxPolicy -Identity OwaMailboxPolicy-Default -AdditionalStorageProvidersAvailable $false",
        ),
        Read::exchange_with(
            "Get-OwaMailboxPolicy",
            json!({"Identity": "OwaMailboxPolicy-Default"}),
        ),
        |_| vec![Field::new("/AdditionalStorageProvidersAvailable", false)],
        |_, _| {
            Ok(Write::exchange(
                "Set-OwaMailboxPolicy",
                json!({"Identity": "OwaMailboxPolicy-Default", "AdditionalStorageProvidersAvailable": false}),
            ))
        },
    )
}

// ---- DisableOutlookAddins

/// The end-user roles that let users install Outlook add-ins.
pub const ADDIN_ROLES: &[&str] = &[
    "My Custom Apps",
    "My Marketplace Apps",
    "My ReadWriteMailbox Apps",
];

fn role_policies() -> Read {
    Read::exchange("Get-RoleAssignmentPolicy")
}

/// `DisableOutlookAddins`: removes the add-in roles from the default role assignment policy
/// (each role's assignments are read, then removed).
pub struct DisableOutlookAddins {
    meta: StandardMeta,
}

impl Default for DisableOutlookAddins {
    fn default() -> Self {
        DisableOutlookAddins::new()
    }
}

impl DisableOutlookAddins {
    /// The standard.
    pub fn new() -> Self {
        DisableOutlookAddins {
            meta: meta(
                "DisableOutlookAddins",
                Impact::Medium,
                "Disable users from installing add-ins in Outlook",
                "Disables the ability for users to install add-ins in Outlook. This is to prevent users from installing malicious add-ins.",
                &["CIS M365 5.0 (6.3.1)", "exo_outlookaddins", "NIST CSF 2.0 (PR.AA-05)", "NIST CSF 2.0 (PR.PS-05)", "ZTNA21817"],
                "Get-RoleAssignmentPolicy (the default policy's AssignedRoles); Get-ManagementRoleAssignment -RoleAssignee -Role",
                "Remove-ManagementRoleAssignment -Identity <guid> (My Custom Apps, My Marketplace Apps, My ReadWriteMailbox Apps)",
            ),
        }
    }

    /// The default policy's name and the add-in roles it still has.
    fn assigned(snapshot: &Snapshot) -> Result<(String, Vec<String>), Error> {
        let Some(policy) = rows(snapshot, &role_policies())?
            .iter()
            .find(|p| p["IsDefault"] == json!(true))
        else {
            return Ok((String::new(), Vec::new()));
        };
        let roles = texts(&policy["AssignedRoles"]);
        Ok((
            text(policy, "Name").to_owned(),
            sorted(
                ADDIN_ROLES
                    .iter()
                    .filter(|r| roles.iter().any(|x| x.eq_ignore_ascii_case(r)))
                    .map(|r| (*r).to_owned())
                    .collect(),
            ),
        ))
    }
}

#[async_trait]
impl Standard for DisableOutlookAddins {
    fn meta(&self) -> &StandardMeta {
        &self.meta
    }

    fn validate(&self, settings: &Value) -> Result<(), Error> {
        typed::<NoSettings>(&self.meta, settings).map(drop)
    }

    fn reads(&self, _: &Value) -> Vec<Read> {
        vec![role_policies()]
    }

    fn check(&self, _: &Value, snapshot: &Snapshot) -> Result<Check, Error> {
        let (_, roles) = Self::assigned(snapshot)?;
        Ok(Check::evaluated(
            json!({"AddinRolesAssigned": roles}),
            json!({"AddinRolesAssigned": []}),
        ))
    }

    async fn remediate(
        &self,
        _: &Value,
        snapshot: &Snapshot,
        target: &TenantTarget,
    ) -> Result<(), Error> {
        let (policy, roles) = Self::assigned(snapshot)?;
        if roles.is_empty() {
            return Ok(());
        }
        let reads: Vec<_> = roles
            .iter()
            .map(|r| {
                cmdlet(
                    "Get-ManagementRoleAssignment",
                    json!({"RoleAssignee": policy, "Role": r}),
                )
            })
            .collect();
        let answers = if reads.len() == 1 {
            vec![target.exchange.invoke(&reads[0]).await]
        } else {
            target.exchange.batch(&reads).await?
        };
        let mut removals = Vec::new();
        for a in answers {
            for row in a?.value {
                let id = match text(&row, "Guid") {
                    "" => text(&row, "Name").to_owned(),
                    g => g.to_owned(),
                };
                removals.push(cmdlet(
                    "Remove-ManagementRoleAssignment",
                    json!({"Identity": id, "Confirm": false}),
                ));
            }
        }
        send_groups(target, vec![removals]).await
    }
}

// ---- AddDKIM

/// Domains never given DKIM by `AddDKIM` (signature and telephony services, the
/// `mail.onmicrosoft.com` coexistence domain), as CIPP's domain analyser skips them.
pub const DKIM_EXCLUDED: &[&str] = &[
    "*.microsoftonline.com",
    "*.mail.onmicrosoft.com",
    "*.exclaimer.cloud",
    "*.excl.cloud",
    "*.codetwo.online",
    "*.call2teams.com",
    "*.signature365.net",
    "*.myteamsconnect.io",
    "*.teams.dstny.com",
    "*.msteams.8x8.com",
    "*.ucconnect.co.uk",
    "*.teams-sbc.dk",
];

fn dkim_excluded(domain: &str) -> bool {
    let d = domain.to_ascii_lowercase();
    DKIM_EXCLUDED.iter().any(|p| {
        p.strip_prefix('*')
            .is_some_and(|suffix| d.ends_with(suffix))
    })
}

fn accepted_domains() -> Read {
    Read::exchange("Get-AcceptedDomain")
}

fn dkim_configs() -> Read {
    Read::exchange("Get-DkimSigningConfig")
}

/// Domains with no DKIM configuration, and domains whose configuration is disabled.
fn dkim_missing(snap: &Snapshot) -> Result<(Vec<String>, Vec<String>), Error> {
    let domains: Vec<String> = rows(snap, &accepted_domains())?
        .iter()
        .map(|d| text(d, "DomainName").to_ascii_lowercase())
        .filter(|d| !d.is_empty() && !dkim_excluded(d))
        .collect();
    let configs = rows(snap, &dkim_configs())?;
    let config = |d: &str| {
        configs
            .iter()
            .find(|c| text(c, "Domain").eq_ignore_ascii_case(d))
    };
    let new = sorted(
        domains
            .iter()
            .filter(|d| config(d).is_none())
            .cloned()
            .collect(),
    );
    let set = sorted(
        domains
            .iter()
            .filter(|d| config(d).is_some_and(|c| c["Enabled"] == json!(false)))
            .cloned()
            .collect(),
    );
    Ok((new, set))
}

fn add_dkim() -> ExoStandard<NoSettings> {
    ExoStandard::<NoSettings>::new(
        meta(
            "AddDKIM",
            Impact::Low,
            "Enables DKIM for all domains that currently support it",
            "Enables DKIM for all domains that currently support it",
            &["CIS M365 5.0 (2.1.9)", "ORCA108", "CISAMSEXO31"],
            "Get-AcceptedDomain; Get-DkimSigningConfig",
            "New-DkimSigningConfig -DomainName <d> -KeySize 2048 -Enabled $true (no configuration); Set-DkimSigningConfig -Identity <d> -Enabled $true (disabled)",
        ),
        |_| vec![accepted_domains(), dkim_configs()],
        |_, snap| {
            let (new, set) = dkim_missing(snap)?;
            Ok(Check::evaluated(
                json!({"MissingDKIM": sorted(new.into_iter().chain(set).collect())}),
                json!({"MissingDKIM": []}),
            ))
        },
        |_, snap| {
            let (new, set) = dkim_missing(snap)?;
            Ok(vec![
                new.iter()
                    .map(|d| {
                        cmdlet(
                            "New-DkimSigningConfig",
                            json!({"KeySize": 2048, "DomainName": d, "Enabled": true}),
                        )
                    })
                    .collect(),
                set.iter()
                    .map(|d| cmdlet("Set-DkimSigningConfig", json!({"Identity": d, "Enabled": true})))
                    .collect(),
            ])
        },
    )
}

// ---- UserSubmissions

/// The report submission policy's fixed name.
pub const REPORT_POLICY: &str = "DefaultReportSubmissionPolicy";
/// The report submission rule's name (as CIPP creates it).
pub const REPORT_RULE: &str = "DefaultReportSubmissionRule";

/// Settings of `UserSubmissions`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct UserSubmissionsSettings {
    /// `enable` or `disable` the Report button (required).
    #[serde(default, deserialize_with = "de::opt_text")]
    pub state: Option<String>,
    /// Where reported messages also go (optional; an e-mail address).
    #[serde(default, deserialize_with = "de::opt_text")]
    pub email: Option<String>,
}

impl UserSubmissionsSettings {
    fn enable(&self) -> Result<bool, Error> {
        Ok(one_of(
            "UserSubmissions",
            "state",
            self.state.as_deref(),
            &["enable", "disable"],
        )? == "enable")
    }

    /// The destination address, when the button is enabled with one.
    fn address(&self) -> Option<String> {
        self.email.as_ref().map(|e| e.to_ascii_lowercase())
    }
}

fn report_policy() -> Read {
    Read::exchange("Get-ReportSubmissionPolicy")
}

fn report_rule() -> Read {
    Read::exchange("Get-ReportSubmissionRule")
}

fn lower_texts(v: &Value) -> Vec<String> {
    sorted(texts(v).iter().map(|a| a.to_ascii_lowercase()).collect())
}

fn user_submissions() -> ExoStandard<UserSubmissionsSettings> {
    ExoStandard::<UserSubmissionsSettings>::new(
        meta(
            "UserSubmissions",
            Impact::Medium,
            "Set the state of the built-in Report button in Outlook",
            "Set the state of the spam submission button in Outlook",
            &[],
            "Get-ReportSubmissionPolicy; Get-ReportSubmissionRule",
            "New-/Set-ReportSubmissionPolicy (EnableReportToMicrosoft, Report*ToCustomizedAddress, Report*Addresses); New-/Set-ReportSubmissionRule -SentTo <email>, or Remove-ReportSubmissionRule",
        ),
        |_| vec![report_policy(), report_rule()],
        |s, snap| {
            let policy = snap.first_row(&report_policy())?;
            let rule = snap.first_row(&report_rule())?;
            let custom = s.address().is_some();
            let to: Vec<String> = s.address().into_iter().collect();
            let flag = |k: &str| json!(policy[k] == json!(true));
            let current = json!({
                "EnableReportToMicrosoft": flag("EnableReportToMicrosoft"),
                "ReportJunkToCustomizedAddress": flag("ReportJunkToCustomizedAddress"),
                "ReportNotJunkToCustomizedAddress": flag("ReportNotJunkToCustomizedAddress"),
                "ReportPhishToCustomizedAddress": flag("ReportPhishToCustomizedAddress"),
                "ReportJunkAddresses": lower_texts(&policy["ReportJunkAddresses"]),
                "ReportNotJunkAddresses": lower_texts(&policy["ReportNotJunkAddresses"]),
                "ReportPhishAddresses": lower_texts(&policy["ReportPhishAddresses"]),
                "RuleState": if rule.is_null() {
                    json!({"State": "Disabled", "SentTo": []})
                } else {
                    json!({"State": rule["State"], "SentTo": lower_texts(&rule["SentTo"])})
                }
            });
            let enable = s.enable()?;
            let rule_on = enable && custom;
            let expected = json!({
                "EnableReportToMicrosoft": enable,
                "ReportJunkToCustomizedAddress": rule_on,
                "ReportNotJunkToCustomizedAddress": rule_on,
                "ReportPhishToCustomizedAddress": rule_on,
                "ReportJunkAddresses": if rule_on { to.clone() } else { Vec::new() },
                "ReportNotJunkAddresses": if rule_on { to.clone() } else { Vec::new() },
                "ReportPhishAddresses": if rule_on { to.clone() } else { Vec::new() },
                "RuleState": if rule_on {
                    json!({"State": "Enabled", "SentTo": to})
                } else {
                    json!({"State": "Disabled", "SentTo": []})
                }
            });
            // Without a rule, a disabled rule and an absent one are the same.
            let mut current = current;
            if !rule_on && current["RuleState"]["State"] == json!("Disabled") {
                current["RuleState"]["SentTo"] = json!([]);
            }
            Ok(Check::evaluated(current, expected))
        },
        |s, snap| {
            let enable = s.enable()?;
            let address = s.address().filter(|_| enable);
            let list = |a: &Option<String>| a.as_ref().map_or(Value::Null, |x| json!([x]));
            let custom = address.is_some();
            let mut params = json!({
                "EnableReportToMicrosoft": enable,
                "ReportJunkToCustomizedAddress": custom, "ReportJunkAddresses": list(&address),
                "ReportNotJunkToCustomizedAddress": custom, "ReportNotJunkAddresses": list(&address),
                "ReportPhishToCustomizedAddress": custom, "ReportPhishAddresses": list(&address)
            });
            let mut plan = Vec::new();
            if snap.first_row(&report_policy())?.is_null() {
                plan.push(vec![cmdlet("New-ReportSubmissionPolicy", params)]);
            } else {
                params["Identity"] = json!(REPORT_POLICY);
                plan.push(vec![cmdlet("Set-ReportSubmissionPolicy", params)]);
            }
            let rule = snap.first_row(&report_rule())?;
            match (&address, rule.is_null()) {
                (Some(a), true) => plan.push(vec![cmdlet(
                    "New-ReportSubmissionRule",
                    json!({"Name": REPORT_RULE, "ReportSubmissionPolicy": REPORT_POLICY, "SentTo": [a]}),
                )]),
                (Some(a), false) => {
                    let name = text(rule, "Name").to_owned();
                    plan.push(vec![cmdlet(
                        "Set-ReportSubmissionRule",
                        json!({"Identity": name, "SentTo": [a]}),
                    )]);
                    if rule["State"] != json!("Enabled") {
                        plan.push(vec![cmdlet(
                            "Enable-ReportSubmissionRule",
                            json!({"Identity": name}),
                        )]);
                    }
                }
                (None, false) if rule["State"] == json!("Enabled") => plan.push(vec![cmdlet(
                    "Remove-ReportSubmissionRule",
                    json!({"Identity": text(rule, "Name")}),
                )]),
                (None, _) => {}
            }
            Ok(plan)
        },
    )
    .validated(|s| {
        s.enable()?;
        if let Some(e) = &s.email {
            if !is_smtp(e) {
                return Err(invalid(
                    "UserSubmissions",
                    "email",
                    format!("`{e}` is not an e-mail address"),
                ));
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_list_entries_and_dkim_exclusions() {
        for ok in [
            "fabrikam.com",
            "*.fabrikam.com",
            "billing@fabrikam.com",
            "a-b.co.uk",
        ] {
            assert!(allow_entry_ok(ok), "{ok}");
        }
        for bad in [
            "fabrikam",
            "*.",
            "@fabrikam.com",
            "fab rikam.com",
            "http://x.com",
        ] {
            assert!(!allow_entry_ok(bad), "{bad}");
        }
        assert!(dkim_excluded("contoso.mail.onmicrosoft.com"));
        assert!(dkim_excluded("x.Exclaimer.Cloud"));
        assert!(!dkim_excluded("contoso.com"));
        assert!(!dkim_excluded("contoso.onmicrosoft.com"));
    }
}
