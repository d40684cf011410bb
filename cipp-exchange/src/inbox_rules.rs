//! Changing one inbox rule: `Set-InboxRule -Identity` with a typed [`InboxRuleUpdate`] —
//! only the properties it sets are sent.
//!
//! ```
//! use cipp_exchange::inbox_rules::{self, InboxRuleUpdate};
//! let update = InboxRuleUpdate {
//!     subject_contains: Some(vec!["invoice".into()]),
//!     move_to_folder: Some(Some("Invoices".into())),
//!     stop_processing_rules: Some(true),
//!     ..Default::default()
//! };
//! let c = inbox_rules::set("adelev@contoso.com", "adelev\\1234567890", &update)?;
//! assert_eq!(c.parameters["MoveToFolder"], "adelev@contoso.com:\\Invoices");
//! assert_eq!(c.parameters.len(), 4); // Identity and the three properties set
//! # Ok::<(), cipp_core::Error>(())
//! ```

use cipp_core::Error;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{json, Value};

use crate::cmdlet::{validate_smtp, Anchor, Cmdlet};

/// Longest rule name Exchange accepts.
pub const MAX_NAME_LEN: usize = 512;
/// Longest words condition (all its words together) Exchange accepts.
pub const MAX_WORDS_LEN: usize = 255;

/// `Some(x)` for a value present (`null` too: `Some(None)`), `None` when absent.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// What to change in an inbox rule. `None` leaves a property as it is. A list set to an
/// empty one clears that condition or action (sent as `null`); `move_to_folder:
/// Some(None)` clears the move; a flag set to `false` turns that condition or action off.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InboxRuleUpdate {
    /// New name (at most 512 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Order of processing: a lower number runs first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u32>,
    /// Condition: the sender is one of these (addresses or names).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Vec<String>>,
    /// Condition: the subject holds one of these words or phrases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_contains: Option<Vec<String>>,
    /// Condition: the body holds one of these words or phrases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_contains: Option<Vec<String>>,
    /// Condition: the subject or the body holds one of these words or phrases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_or_body_contains: Option<Vec<String>>,
    /// Condition: the message was sent to one of these recipients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_to: Option<Vec<String>>,
    /// Condition: the message has an attachment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_attachment: Option<bool>,
    /// Action: move to this folder of the mailbox (`Archive`, `Inbox\Reports`, or a full
    /// `mailbox:\Folder`); `Some(None)` clears it.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub move_to_folder: Option<Option<String>>,
    /// Action: forward to these recipients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward_to: Option<Vec<String>>,
    /// Action: forward as an attachment to these recipients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward_as_attachment_to: Option<Vec<String>>,
    /// Action: redirect to these recipients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_to: Option<Vec<String>>,
    /// Action: move to Deleted Items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_message: Option<bool>,
    /// Action: mark as read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mark_as_read: Option<bool>,
    /// Action: stop processing more rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_processing_rules: Option<bool>,
}

impl InboxRuleUpdate {
    /// Whether the update changes nothing.
    pub fn is_empty(&self) -> bool {
        self == &InboxRuleUpdate::default()
    }
}

fn no_control(field: &str, v: &str) -> Result<(), Error> {
    if v.chars().any(char::is_control) {
        Err(Error::invalid_input(
            field,
            format!("`{}` holds control characters", v.escape_debug()),
        ))
    } else {
        Ok(())
    }
}

/// A words condition: each word non-empty, without spaces around it, all together at
/// most [`MAX_WORDS_LEN`] characters; empty clears.
fn words(field: &str, list: &[String]) -> Result<Value, Error> {
    if list.is_empty() {
        return Ok(Value::Null);
    }
    for w in list {
        no_control(field, w)?;
        if w.is_empty() || w.trim() != w {
            return Err(Error::invalid_input(
                field,
                format!("`{w}` is empty or has spaces around it"),
            ));
        }
    }
    let total = list.iter().map(|w| w.chars().count()).sum::<usize>() + list.len() - 1;
    if total > MAX_WORDS_LEN {
        return Err(Error::invalid_input(
            field,
            format!("{total} characters: Exchange takes at most {MAX_WORDS_LEN}"),
        ));
    }
    Ok(json!(list))
}

/// Recipients: names, aliases or addresses (anything with `@` must be an address);
/// empty clears.
fn recipients(field: &str, list: &[String]) -> Result<Value, Error> {
    if list.is_empty() {
        return Ok(Value::Null);
    }
    for r in list {
        no_control(field, r)?;
        if r.trim().is_empty() || r.trim() != r {
            return Err(Error::invalid_input(
                field,
                format!("`{r}` is empty or has spaces around it"),
            ));
        }
        if r.contains('@') {
            validate_smtp(field, r)?;
        }
    }
    Ok(json!(list))
}

/// The folder as Exchange takes it: `mailbox:\Folder` (the rule's mailbox unless given).
fn folder(mailbox: &str, f: &str) -> Result<String, Error> {
    no_control("MoveToFolder", f)?;
    if f.contains(":\\") {
        let (m, path) = f.split_once(":\\").unwrap_or((f, ""));
        if m.trim().is_empty() || path.trim_matches('\\').trim().is_empty() {
            return Err(Error::invalid_input(
                "MoveToFolder",
                format!("`{f}` names no folder"),
            ));
        }
        return Ok(f.to_owned());
    }
    let path = f.trim().trim_matches('\\');
    if path.is_empty() {
        return Err(Error::invalid_input("MoveToFolder", "empty folder"));
    }
    Ok(format!("{mailbox}:\\{path}"))
}

/// `Set-InboxRule -Identity <rule>` with the properties `update` sets, anchored on
/// `mailbox`. Refused before sending: an update that changes nothing, an empty or
/// over-long name, a priority above `i32::MAX`, words with spaces around them or over
/// 255 characters, a malformed address, an empty folder.
pub fn set(mailbox: &str, rule_identity: &str, update: &InboxRuleUpdate) -> Result<Cmdlet, Error> {
    validate_smtp("Mailbox", mailbox)?;
    if rule_identity.trim().is_empty() {
        return Err(Error::invalid_input("Identity", "empty rule identity"));
    }
    if update.is_empty() {
        return Err(Error::invalid_input(
            "InboxRuleUpdate",
            "the update changes nothing",
        ));
    }
    let mut c = Cmdlet::new("Set-InboxRule")
        .param("Identity", rule_identity)
        .anchor(Anchor::Mailbox(mailbox.to_owned()));
    if let Some(n) = &update.name {
        no_control("Name", n)?;
        if n.trim().is_empty() || n.chars().count() > MAX_NAME_LEN {
            return Err(Error::invalid_input(
                "Name",
                format!("a rule name has 1 to {MAX_NAME_LEN} characters"),
            ));
        }
        c = c.param("Name", n.as_str());
    }
    if let Some(p) = update.priority {
        let p = i32::try_from(p)
            .map_err(|_| Error::invalid_input("Priority", format!("{p} is too large")))?;
        c = c.param("Priority", p);
    }
    let word_lists = [
        ("SubjectContainsWords", &update.subject_contains),
        ("BodyContainsWords", &update.body_contains),
        (
            "SubjectOrBodyContainsWords",
            &update.subject_or_body_contains,
        ),
    ];
    for (field, list) in word_lists {
        if let Some(l) = list {
            c = c.param(field, words(field, l)?);
        }
    }
    let recipient_lists = [
        ("From", &update.from),
        ("SentTo", &update.sent_to),
        ("ForwardTo", &update.forward_to),
        ("ForwardAsAttachmentTo", &update.forward_as_attachment_to),
        ("RedirectTo", &update.redirect_to),
    ];
    for (field, list) in recipient_lists {
        if let Some(l) = list {
            c = c.param(field, recipients(field, l)?);
        }
    }
    match &update.move_to_folder {
        Some(Some(f)) => c = c.param("MoveToFolder", folder(mailbox, f)?),
        Some(None) => c = c.param("MoveToFolder", Value::Null),
        None => {}
    }
    let flags = [
        ("HasAttachment", update.has_attachment),
        ("DeleteMessage", update.delete_message),
        ("MarkAsRead", update.mark_as_read),
        ("StopProcessingRules", update.stop_processing_rules),
    ];
    for (field, flag) in flags {
        if let Some(b) = flag {
            c = c.param(field, b);
        }
    }
    Ok(c)
}

impl crate::TenantExchange {
    /// Changes one inbox rule of `mailbox` (see [`set`]).
    pub async fn update_inbox_rule(
        &self,
        mailbox: &str,
        rule_identity: &str,
        update: &InboxRuleUpdate,
    ) -> Result<(), Error> {
        self.invoke(&set(mailbox, rule_identity, update)?)
            .await
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: &str = "m@contoso.com";

    #[test]
    fn only_what_is_set_is_sent_and_empty_lists_clear() {
        let u = InboxRuleUpdate {
            name: Some("Invoices".into()),
            priority: Some(2),
            from: Some(vec!["billing@fabrikam.com".into()]),
            forward_to: Some(vec![]),
            move_to_folder: Some(None),
            mark_as_read: Some(false),
            ..Default::default()
        };
        let c = set(M, "m\\42", &u).unwrap();
        assert_eq!(
            Value::Object(c.parameters.clone()),
            json!({"Identity": "m\\42", "Name": "Invoices", "Priority": 2,
                   "From": ["billing@fabrikam.com"], "ForwardTo": null, "MoveToFolder": null,
                   "MarkAsRead": false})
        );
    }

    #[test]
    fn folders_are_qualified_with_the_mailbox() {
        for (given, sent) in [
            ("Archive", "m@contoso.com:\\Archive"),
            ("\\Inbox\\Reports", "m@contoso.com:\\Inbox\\Reports"),
            ("other@contoso.com:\\Shared", "other@contoso.com:\\Shared"),
        ] {
            let u = InboxRuleUpdate {
                move_to_folder: Some(Some(given.into())),
                ..Default::default()
            };
            assert_eq!(set(M, "r", &u).unwrap().parameters["MoveToFolder"], sent);
        }
        for bad in ["", "\\", "x@contoso.com:\\", "a\u{0}b"] {
            let u = InboxRuleUpdate {
                move_to_folder: Some(Some(bad.into())),
                ..Default::default()
            };
            assert!(set(M, "r", &u).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn bad_updates_are_refused() {
        let bad = [
            InboxRuleUpdate::default(),
            InboxRuleUpdate {
                name: Some(" ".into()),
                ..Default::default()
            },
            InboxRuleUpdate {
                name: Some("x".repeat(MAX_NAME_LEN + 1)),
                ..Default::default()
            },
            InboxRuleUpdate {
                priority: Some(u32::MAX),
                ..Default::default()
            },
            InboxRuleUpdate {
                subject_contains: Some(vec![" padded".into()]),
                ..Default::default()
            },
            InboxRuleUpdate {
                body_contains: Some(vec!["w".repeat(200), "v".repeat(60)]),
                ..Default::default()
            },
            InboxRuleUpdate {
                redirect_to: Some(vec!["not@an address".into()]),
                ..Default::default()
            },
        ];
        for u in bad {
            assert!(set(M, "r", &u).is_err(), "{u:?}");
        }
        let ok = InboxRuleUpdate {
            has_attachment: Some(true),
            ..Default::default()
        };
        assert!(set(M, " ", &ok).is_err(), "empty identity");
        assert!(set("nobody", "r", &ok).is_err(), "bad mailbox");
    }

    #[test]
    fn json_distinguishes_absent_from_null() {
        let u: InboxRuleUpdate =
            serde_json::from_value(json!({"moveToFolder": null, "forwardTo": []})).unwrap();
        assert_eq!(u.move_to_folder, Some(None));
        assert_eq!(u.forward_to, Some(vec![]));
        let u: InboxRuleUpdate = serde_json::from_value(json!({"markAsRead": true})).unwrap();
        assert_eq!(u.move_to_folder, None);
        assert!(serde_json::from_value::<InboxRuleUpdate>(json!({"colour": "red"})).is_err());
    }
}
