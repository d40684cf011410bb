//! Exchange Online standards, with CIPP's names, labels, help, tags, licence capabilities
//! and settings.
//!
//! By what they touch:
//! - [`org`]: the organisation and transport configuration and the admin audit log
//!   (`Get-/Set-OrganizationConfig`, `Get-/Set-TransportConfig`, `Set-AdminAuditLogConfig`).
//! - [`policies`]: named policies and configuration objects (outbound spam policy, External
//!   in Outlook, sharing, OWA and role assignment policies, DKIM per domain, report
//!   submission policy and rule, the `Default` remote domain).
//! - [`mailboxes`]: standards over every mailbox or user (archives, calendars, shared
//!   mailboxes' accounts, PowerShell access, SMTP AUTH, sent items of delegates,
//!   litigation hold), each reporting the offending objects (sorted) against none and
//!   remediating each, many cmdlets at a time through Exchange `$batch`.
//!
//! Settings are read the way CIPP's forms send them (see [`super::entra::de`]). A standard
//! that reads objects per mailbox (`calDefault`) names them in its
//! [`Standard::follow_up_reads`]; the engine reads them in a second round, and so does
//! [`fetch_with_follow_ups`].

use std::sync::Arc;

use async_trait::async_trait;
use cipp_core::Error;
use cipp_exchange::cmdlet::Cmdlet;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use crate::standards::model::{
    Category, Check, Impact, Mode, Standard, StandardMeta, TenantTarget,
};
use crate::standards::read::{fetch_for, Read, Snapshot};
use crate::standards::setting::{typed, Field, SettingStandard, Write};
use crate::standards::NoSettings;

#[path = "exchange_mailboxes.rs"]
pub mod mailboxes;
#[path = "exchange_org.rs"]
pub mod org;
#[path = "exchange_policies.rs"]
pub mod policies;

/// The service plans of CIPP's "Exchange" licence preset: Exchange Online plans that allow
/// PowerShell (no Exchange Foundation).
pub const EXCHANGE_CAPABILITIES: &[&str] = &[
    "EXCHANGE_S_STANDARD",
    "EXCHANGE_S_ENTERPRISE",
    "EXCHANGE_S_STANDARD_GOV",
    "EXCHANGE_S_ENTERPRISE_GOV",
    "EXCHANGE_LITE",
];

/// Every Exchange standard of the catalogue.
pub fn standards() -> Vec<Arc<dyn Standard>> {
    let mut all: Vec<Arc<dyn Standard>> = vec![Arc::new(disable_tnef())];
    all.extend(org::standards());
    all.extend(policies::standards());
    all.extend(mailboxes::standards());
    all
}

/// The reads a standard needs after its first reads, from what they returned (one per
/// mailbox, …): [`Standard::follow_up_reads`]. The engine reads them before `check`;
/// [`fetch_with_follow_ups`] does both rounds.
pub fn follow_up_reads(
    standard: &dyn Standard,
    settings: &Value,
    snapshot: &Snapshot,
) -> Vec<Read> {
    standard.follow_up_reads(settings, snapshot)
}

/// Reads what `standards` (each with its settings) need: their reads in one round, then
/// their [`follow_up_reads`] in a second, into one snapshot (as the engine does, see
/// [`fetch_for`]).
pub async fn fetch_with_follow_ups(
    target: &TenantTarget,
    standards: &[(&dyn Standard, &Value)],
) -> Snapshot {
    fetch_for(target, standards, &[]).await
}

/// Metadata of an Exchange standard with CIPP's Exchange licence preset and every mode.
#[allow(clippy::too_many_arguments)]
pub(crate) fn meta(
    name: &'static str,
    impact: Impact,
    label: &'static str,
    help: &'static str,
    tags: &'static [&'static str],
    reads_doc: &'static str,
    writes_doc: &'static str,
) -> StandardMeta {
    StandardMeta {
        name,
        category: Category::Exchange,
        impact,
        label,
        help,
        tags,
        capabilities: EXCHANGE_CAPABILITIES,
        modes: Mode::ALL,
        multiple: false,
        reads_doc,
        writes_doc,
    }
}

/// A cmdlet with parameters from a JSON object.
pub(crate) fn cmdlet(name: &str, params: Value) -> Cmdlet {
    let mut c = Cmdlet::new(name);
    if let Value::Object(m) = params {
        for (k, v) in m {
            c = c.param(&k, v);
        }
    }
    c
}

/// Sends cmdlets in order, group by group: a group of one as a plain request, a larger one
/// through Exchange `$batch` (10 per request). Every cmdlet is sent even when one fails;
/// the first failure is returned.
pub(crate) async fn send_groups(
    target: &TenantTarget,
    groups: Vec<Vec<Cmdlet>>,
) -> Result<(), Error> {
    let mut first: Option<Error> = None;
    for group in groups {
        match group.len() {
            0 => {}
            1 => {
                if let Err(e) = target.exchange.invoke(&group[0]).await {
                    first.get_or_insert(e);
                }
            }
            _ => match target.exchange.batch(&group).await {
                Ok(answers) => {
                    for a in answers {
                        if let Err(e) = a {
                            first.get_or_insert(e);
                        }
                    }
                }
                Err(e) => {
                    first.get_or_insert(e);
                }
            },
        }
    }
    first.map_or(Ok(()), Err)
}

/// The function types of an [`ExoStandard`].
type ReadsFn<S> = fn(&S) -> Vec<Read>;
type CheckFn<S> = fn(&S, &Snapshot) -> Result<Check, Error>;
type PlanFn<S> = fn(&S, &Snapshot) -> Result<Vec<Vec<Cmdlet>>, Error>;
type ValidateFn<S> = fn(&S) -> Result<(), Error>;

/// A standard whose check is computed from its reads and whose remediation is a plan of
/// cmdlets made from what `check` saw (sent by [`send_groups`]): the shape of most
/// Exchange standards that do not fit [`SettingStandard`].
pub(crate) struct ExoStandard<S> {
    meta: StandardMeta,
    reads: ReadsFn<S>,
    check: CheckFn<S>,
    plan: PlanFn<S>,
    validate: ValidateFn<S>,
}

impl<S> ExoStandard<S> {
    /// A standard reading `reads`, checked by `check`, remediated by `plan`.
    pub(crate) fn new(
        meta: StandardMeta,
        reads: ReadsFn<S>,
        check: CheckFn<S>,
        plan: PlanFn<S>,
    ) -> Self {
        ExoStandard {
            meta,
            reads,
            check,
            plan,
            validate: |_| Ok(()),
        }
    }

    /// Checks the settings with `validate` before anything is sent.
    pub(crate) fn validated(mut self, validate: ValidateFn<S>) -> Self {
        self.validate = validate;
        self
    }
}

#[async_trait]
impl<S: DeserializeOwned + Send + Sync + 'static> Standard for ExoStandard<S> {
    fn meta(&self) -> &StandardMeta {
        &self.meta
    }

    fn validate(&self, settings: &Value) -> Result<(), Error> {
        let s: S = typed(&self.meta, settings)?;
        (self.validate)(&s)
    }

    fn reads(&self, settings: &Value) -> Vec<Read> {
        typed::<S>(&self.meta, settings)
            .map(|s| (self.reads)(&s))
            .unwrap_or_default()
    }

    fn check(&self, settings: &Value, snapshot: &Snapshot) -> Result<Check, Error> {
        let s: S = typed(&self.meta, settings)?;
        (self.check)(&s, snapshot)
    }

    async fn remediate(
        &self,
        settings: &Value,
        snapshot: &Snapshot,
        target: &TenantTarget,
    ) -> Result<(), Error> {
        let s: S = typed(&self.meta, settings)?;
        (self.validate)(&s)?;
        let plan = (self.plan)(&s, snapshot)?;
        send_groups(target, plan).await
    }
}

/// The rows of an Exchange read (an empty list for none).
pub(crate) fn rows<'a>(snapshot: &'a Snapshot, read: &Read) -> Result<&'a [Value], Error> {
    Ok(snapshot
        .get(read)?
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default())
}

/// A text property of a row, or "".
pub(crate) fn text<'a>(row: &'a Value, key: &str) -> &'a str {
    row[key].as_str().unwrap_or_default()
}

/// Texts sorted case-insensitively, duplicates removed.
pub(crate) fn sorted(mut items: Vec<String>) -> Vec<String> {
    items.sort_by_key(|s| s.to_ascii_lowercase());
    items.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    items
}

/// A multi-valued property as texts (an absent or `null` one is empty; one text is a list
/// of one; empty texts are dropped, as Exchange sometimes answers `[""]`).
pub(crate) fn texts(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .map(str::to_owned)
            .collect(),
        Value::String(s) if !s.trim().is_empty() => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// Whether `s` is an SMTP address (what Exchange accepts in address parameters).
pub(crate) fn is_smtp(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !s
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, ',' | ';' | '<' | '>' | '"'))
}

/// A `state` setting that must be one of `allowed` (case-insensitive); the error names the
/// standard and the field.
pub(crate) fn one_of(
    name: &str,
    field: &str,
    value: Option<&str>,
    allowed: &[&str],
) -> Result<String, Error> {
    let v = value.ok_or_else(|| {
        super::entra::invalid(
            name,
            field,
            format!("required: one of {}", allowed.join(", ")),
        )
    })?;
    allowed
        .iter()
        .find(|a| a.eq_ignore_ascii_case(v))
        .map(|a| (*a).to_owned())
        .ok_or_else(|| {
            super::entra::invalid(
                name,
                field,
                format!("`{v}` is not one of {}", allowed.join(", ")),
            )
        })
}

fn disable_tnef() -> SettingStandard<NoSettings> {
    SettingStandard::new(
        meta(
            "DisableTNEF",
            Impact::Low,
            "Disable TNEF/winmail.dat",
            "Disables Transport Neutral Encapsulation Format (TNEF)/winmail.dat for the tenant. TNEF can cause issues if the recipient is not using a client supporting TNEF.",
            &[],
            "Get-RemoteDomain -Identity Default",
            "Set-RemoteDomain -Identity Default -TNEFEnabled $false",
        ),
        Read::exchange_with("Get-RemoteDomain", json!({"Identity": "Default"})),
        |_| vec![Field::new("/TNEFEnabled", false)],
        |_, _| {
            Ok(Write::exchange(
                "Set-RemoteDomain",
                json!({"Identity": "Default", "TNEFEnabled": false}),
            ))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::standards::catalogue::Catalogue;

    #[test]
    fn every_exchange_standard_has_complete_metadata() {
        let all = standards();
        assert!(all.len() >= 20, "{} standards", all.len());
        let mut names: Vec<&str> = all.iter().map(|s| s.meta().name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len(), "names are unique");
        for s in &all {
            let m = s.meta();
            assert!(
                matches!(m.category, Category::Exchange | Category::Global),
                "{}",
                m.name
            );
            for text in [m.label, m.help, m.reads_doc, m.writes_doc] {
                assert!(!text.trim().is_empty(), "{}", m.name);
            }
            assert!(m.modes.remediate, "{} remediates", m.name);
        }
        let c = Catalogue::builtin();
        for name in [
            "AuditLog",
            "EnableMailboxAuditing",
            "DisableBasicAuthSMTP",
            "EXODisableAutoForwarding",
            "SpoofWarn",
            "EnableMailTips",
            "AutoExpandArchive",
            "EnableOnlineArchiving",
            "OutBoundSpamAlert",
            "MessageExpiration",
            "DisableTNEF",
            "FocusedInbox",
            "calDefault",
            "DisableExternalCalendarSharing",
            "DisableOutlookAddins",
            "SendFromAlias",
            "DisableSharedMailbox",
            "AddDKIM",
            "DisableExchangeOnlinePowerShell",
            "UserSubmissions",
            "EnableLitigationHold",
        ] {
            assert!(c.get(name).is_some(), "{name}");
        }
    }

    #[test]
    fn addresses_and_choices_are_checked() {
        assert!(is_smtp("alerts@contoso.com"));
        for bad in [
            "alerts",
            "@contoso.com",
            "a@contoso",
            "a b@contoso.com",
            "a@.com",
            "a@x..com",
        ] {
            assert!(!is_smtp(bad), "{bad}");
        }
        assert_eq!(
            one_of("X", "state", Some("ENABLED"), &["enabled", "disabled"]).unwrap(),
            "enabled"
        );
        let e = one_of("X", "state", Some("maybe"), &["enabled", "disabled"]).unwrap_err();
        assert!(e.to_string().contains("standards.X.state"), "{e}");
        assert!(one_of("X", "state", None, &["enabled"]).is_err());
        assert_eq!(texts(&json!([""])), Vec::<String>::new());
        assert_eq!(
            sorted(vec!["b".into(), "A".into(), "a".into()]),
            vec!["A", "b"]
        );
    }
}
