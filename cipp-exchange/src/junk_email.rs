//! A mailbox's trusted (safe) and blocked senders: `Get-MailboxJunkEmailConfiguration` and
//! `Set-MailboxJunkEmailConfiguration` with `@{add=…; remove=…}` on
//! `TrustedSendersAndDomains` / `BlockedSendersAndDomains`, so entries not named are kept.
//!
//! ```
//! use cipp_exchange::junk_email::{self, JunkEmailChange};
//! let change = JunkEmailChange::default().trust("fabrikam.com").block("spam@tailspin.example");
//! let c = junk_email::set("adelev@contoso.com", &change)?;
//! assert_eq!(c.parameters["TrustedSendersAndDomains"]["add"][0], "fabrikam.com");
//! assert_eq!(c.parameters["BlockedSendersAndDomains"]["@odata.type"], "#Exchange.GenericHashTable");
//! // Anything that is neither an address nor a domain is refused before sending.
//! assert!(junk_email::set("adelev@contoso.com", &JunkEmailChange::default().trust("not a domain")).is_err());
//! # Ok::<(), cipp_core::Error>(())
//! ```

use cipp_core::{ApiError, Error, Outcome};
use serde::{Deserialize, Deserializer, Serialize};

use crate::cmdlet::{hashtable, validate_smtp, Anchor, Cmdlet};
use crate::model::Extra;

/// Most entries Exchange keeps in a mailbox's trusted senders and domains.
pub const MAX_TRUSTED: usize = 1024;
/// Most entries Exchange keeps in a mailbox's blocked senders and domains.
pub const MAX_BLOCKED: usize = 500;

fn null_as_empty<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

/// A mailbox's junk e-mail settings (`Get-MailboxJunkEmailConfiguration`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase")]
pub struct JunkEmailConfiguration {
    /// The mailbox.
    #[serde(default)]
    pub identity: Option<String>,
    /// Whether the junk e-mail rule is on.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Safe senders: addresses and domains whose mail is never junk.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub trusted_senders_and_domains: Vec<String>,
    /// Blocked senders: addresses and domains whose mail always goes to Junk.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub blocked_senders_and_domains: Vec<String>,
    /// Safe recipients.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub trusted_recipients_and_domains: Vec<String>,
    /// Whether the mailbox's contacts are trusted.
    #[serde(default)]
    pub contacts_trusted: Option<bool>,
    /// Whether only the trusted lists are trusted.
    #[serde(default)]
    pub trusted_lists_only: Option<bool>,
    /// Everything else.
    #[serde(flatten, skip_deserializing)]
    pub extra: Extra,
}
cipp_core::keep_unknown_fields!(JunkEmailConfiguration, extra);

/// Entries to add to or remove from the trusted and blocked lists; entries not named stay.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JunkEmailChange {
    /// Addresses or domains to add to the trusted senders.
    #[serde(default)]
    pub trusted_add: Vec<String>,
    /// Addresses or domains to remove from the trusted senders.
    #[serde(default)]
    pub trusted_remove: Vec<String>,
    /// Addresses or domains to add to the blocked senders.
    #[serde(default)]
    pub blocked_add: Vec<String>,
    /// Addresses or domains to remove from the blocked senders.
    #[serde(default)]
    pub blocked_remove: Vec<String>,
}

impl JunkEmailChange {
    /// Adds `entry` to the trusted senders.
    pub fn trust(mut self, entry: impl Into<String>) -> Self {
        self.trusted_add.push(entry.into());
        self
    }

    /// Removes `entry` from the trusted senders.
    pub fn untrust(mut self, entry: impl Into<String>) -> Self {
        self.trusted_remove.push(entry.into());
        self
    }

    /// Adds `entry` to the blocked senders.
    pub fn block(mut self, entry: impl Into<String>) -> Self {
        self.blocked_add.push(entry.into());
        self
    }

    /// Removes `entry` from the blocked senders.
    pub fn unblock(mut self, entry: impl Into<String>) -> Self {
        self.blocked_remove.push(entry.into());
        self
    }

    /// Whether the change names no entry.
    pub fn is_empty(&self) -> bool {
        self.trusted_add.is_empty()
            && self.trusted_remove.is_empty()
            && self.blocked_add.is_empty()
            && self.blocked_remove.is_empty()
    }
}

/// Whether `domain` is a DNS domain name: two or more labels of letters, digits and
/// hyphens (not at either end), at most 63 characters each and 253 in all, the last one
/// holding a letter.
pub fn is_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    domain.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|l| l.chars().any(char::is_alphabetic))
}

/// Checks one entry of a sender list: an SMTP address on a domain, or a domain.
pub fn validate_entry(field: &str, entry: &str) -> Result<(), Error> {
    let bad = |why: &str| Err(Error::invalid_input(field, format!("`{entry}` {why}")));
    if entry.trim() != entry || entry.is_empty() {
        return bad("is empty or has spaces around it");
    }
    if entry.len() > 320 {
        return bad("is longer than an address can be (320 characters)");
    }
    match entry.rsplit_once('@') {
        Some((_, domain)) => {
            validate_smtp(field, entry)?;
            if is_domain(domain) {
                Ok(())
            } else {
                bad("is not an address on a valid domain")
            }
        }
        None if is_domain(entry) => Ok(()),
        None => bad("is neither an e-mail address nor a domain"),
    }
}

/// The entries of `list`, checked, without repeats (case-insensitive, first kept).
fn entries(field: &str, list: &[String]) -> Result<Vec<String>, Error> {
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for e in list {
        validate_entry(field, e)?;
        if !out.iter().any(|x| x.eq_ignore_ascii_case(e)) {
            out.push(e.clone());
        }
    }
    Ok(out)
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn overlap<'a>(a: &'a [String], b: &[String]) -> Option<&'a String> {
    a.iter()
        .find(|x| b.iter().any(|y| y.eq_ignore_ascii_case(x)))
}

/// `Get-MailboxJunkEmailConfiguration -Identity`.
pub fn get(identity: &str) -> Result<Cmdlet<JunkEmailConfiguration>, Error> {
    fn build(identity: &str) -> Result<Cmdlet, Error> {
        validate_smtp("Identity", identity)?;
        Ok(Cmdlet::new("Get-MailboxJunkEmailConfiguration")
            .param("Identity", identity)
            .anchor(Anchor::Mailbox(identity.to_owned())))
    }
    build(identity).map(Cmdlet::output)
}

/// `Set-MailboxJunkEmailConfiguration -Identity` with `TrustedSendersAndDomains` and/or
/// `BlockedSendersAndDomains` as `@{add=…; remove=…}` (only the lists the change names).
/// Refused before sending: an empty change, an entry that is neither an address nor a
/// domain, an entry both added and removed, an entry added to both lists, more entries
/// than a list holds.
pub fn set(identity: &str, change: &JunkEmailChange) -> Result<Cmdlet, Error> {
    validate_smtp("Identity", identity)?;
    if change.is_empty() {
        return Err(Error::invalid_input(
            "JunkEmailConfiguration",
            "the change names no sender to add or remove",
        ));
    }
    let trusted_add = entries("TrustedSendersAndDomains", &change.trusted_add)?;
    let trusted_remove = entries("TrustedSendersAndDomains", &change.trusted_remove)?;
    let blocked_add = entries("BlockedSendersAndDomains", &change.blocked_add)?;
    let blocked_remove = entries("BlockedSendersAndDomains", &change.blocked_remove)?;
    for (field, add, remove) in [
        ("TrustedSendersAndDomains", &trusted_add, &trusted_remove),
        ("BlockedSendersAndDomains", &blocked_add, &blocked_remove),
    ] {
        if let Some(e) = overlap(add, remove) {
            return Err(Error::invalid_input(
                field,
                format!("`{e}` is both added and removed"),
            ));
        }
    }
    if let Some(e) = overlap(&trusted_add, &blocked_add) {
        return Err(Error::invalid_input(
            "BlockedSendersAndDomains",
            format!("`{e}` cannot be both trusted and blocked"),
        ));
    }
    if trusted_add.len() > MAX_TRUSTED {
        return Err(Error::invalid_input(
            "TrustedSendersAndDomains",
            format!("at most {MAX_TRUSTED} trusted senders and domains"),
        ));
    }
    if blocked_add.len() > MAX_BLOCKED {
        return Err(Error::invalid_input(
            "BlockedSendersAndDomains",
            format!("at most {MAX_BLOCKED} blocked senders and domains"),
        ));
    }
    let mut c = Cmdlet::new("Set-MailboxJunkEmailConfiguration")
        .param("Identity", identity)
        .anchor(Anchor::Mailbox(identity.to_owned()));
    if !trusted_add.is_empty() || !trusted_remove.is_empty() {
        c = c.param(
            "TrustedSendersAndDomains",
            hashtable(&refs(&trusted_add), &refs(&trusted_remove)),
        );
    }
    if !blocked_add.is_empty() || !blocked_remove.is_empty() {
        c = c.param(
            "BlockedSendersAndDomains",
            hashtable(&refs(&blocked_add), &refs(&blocked_remove)),
        );
    }
    Ok(c)
}

impl crate::TenantExchange {
    /// The mailbox's junk e-mail settings, trusted and blocked senders included.
    pub async fn junk_email_configuration(
        &self,
        identity: &str,
    ) -> Result<JunkEmailConfiguration, Error> {
        let mut out = self.invoke_as(&get(identity)?).await?;
        out.value.pop().ok_or_else(|| {
            Error::from(ApiError::from_response(
                self.id().clone(),
                "Get-MailboxJunkEmailConfiguration",
                http::StatusCode::NOT_FOUND,
                &http::HeaderMap::new(),
                format!(
                    "{{\"error\":{{\"code\":\"NotFound\",\"message\":\"no junk e-mail configuration for `{identity}`\"}}}}"
                )
                .as_bytes(),
            ))
        })
    }

    /// Adds and removes trusted and blocked senders; `NoChange` when Exchange says nothing
    /// was modified (every entry was already as asked).
    pub async fn change_junk_email(
        &self,
        identity: &str,
        change: &JunkEmailChange,
    ) -> Result<Outcome, Error> {
        let out = self.invoke(&set(identity, change)?).await?;
        Ok(if out.nothing_modified() {
            Outcome::no_change("the sender lists were already as asked")
        } else {
            Outcome::succeeded("sender lists changed")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn entries_are_addresses_or_domains() {
        for ok in [
            "contoso.com",
            "mail.contoso.co.uk",
            "a@contoso.com",
            "x-y.example",
            "bücher.de",
        ] {
            assert!(validate_entry("f", ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            " contoso.com",
            "contoso",
            "-contoso.com",
            "contoso-.com",
            "contoso..com",
            "10.0.0.1",
            "a@contoso",
            "@contoso.com",
            "a b@contoso.com",
            "*.contoso.com",
        ] {
            assert!(validate_entry("f", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn only_the_lists_named_are_sent_without_repeats() {
        let c = set(
            "m@contoso.com",
            &JunkEmailChange::default()
                .trust("fabrikam.com")
                .trust("FABRIKAM.com")
                .untrust("old@fabrikam.com"),
        )
        .unwrap();
        assert_eq!(
            serde_json::Value::Object(c.parameters.clone()),
            json!({"Identity": "m@contoso.com", "TrustedSendersAndDomains": {
                "@odata.type": "#Exchange.GenericHashTable", "add": ["fabrikam.com"], "remove": ["old@fabrikam.com"]}})
        );
        assert_eq!(c.anchor, Anchor::Mailbox("m@contoso.com".into()));
    }

    #[test]
    fn contradictions_and_empty_changes_are_refused() {
        let id = "m@contoso.com";
        assert!(set(id, &JunkEmailChange::default()).is_err());
        assert!(set(
            id,
            &JunkEmailChange::default().trust("a.com").untrust("A.com")
        )
        .is_err());
        assert!(set(
            id,
            &JunkEmailChange::default().trust("a.com").block("a.com")
        )
        .is_err());
        let many = (0..=MAX_BLOCKED).fold(JunkEmailChange::default(), |c, i| {
            c.block(format!("d{i}.example"))
        });
        assert!(set(id, &many).is_err());
        assert!(set("nobody", &JunkEmailChange::default().trust("a.com")).is_err());
    }
}
