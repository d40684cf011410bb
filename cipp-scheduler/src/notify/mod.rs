//! Notifications: one versioned event schema, the channels events are routed to, and the
//! notifiers that deliver them.
//!
//! - [`routing`] turns a run into events (one per tenant or one per run, only with
//!   findings when asked, with the task's subject and comment rendered by [`template`]);
//! - each [`Notifier`] has a [`Channel`]; the engine sends an event only to the notifiers
//!   of the channels the task asks for ([`crate::task::PostExecution::wants`]);
//! - [`webhook`] posts the versioned JSON schema, or a Teams card, Slack blocks or a
//!   Discord message, by the URL's host as CIPP does; [`email`] sends HTML; [`halo`] files
//!   HaloPSA tickets per client and adds a note to a ticket still open for the same
//!   condition.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::SchedulerError;

pub mod email;
pub mod halo;
pub mod routing;
pub mod template;
pub mod webhook;

pub use email::{event_html, EmailNotifier, EmailSender};
pub use halo::{HaloPsaNotifier, MemoryTicketBook, TicketBook, TicketStrategy};
pub use webhook::{signature, WebhookAuth, WebhookFormat, WebhookNotifier};

/// The event schema version.
pub const SCHEMA_VERSION: u32 = 1;

/// A notification event (schema version 1; `findings` and `comment` are additions that
/// readers of earlier events see as absent).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// Schema version.
    pub schema_version: u32,
    /// `task.completed`, `task.failed`, `alert.raised` (an alert task found new or changed
    /// findings), `alert.resolved` (only resolved ones), `standard.drift_detected`.
    pub kind: String,
    /// Who raised it (`cipp-scheduler`).
    pub source: String,
    /// A stable title (never a timestamp, so a PSA can merge tickets): the task's custom
    /// subject when it has one.
    pub title: String,
    /// The tenants concerned.
    pub tenants: Vec<String>,
    /// When.
    pub time: DateTime<Utc>,
    /// How many results the event covers.
    pub count: usize,
    /// How many findings those results report (`%resultcount%`).
    #[serde(default)]
    pub findings: usize,
    /// The task's alert comment, rendered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The task's reference (a PSA ticket id, say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// A stable fingerprint of the condition (same condition → same fingerprint).
    pub fingerprint: String,
    /// The results.
    pub payload: Value,
}

impl Event {
    /// The per-tenant results the event carries (`payload.results`), as
    /// `(tenant, status)` pairs.
    pub fn result_rows(&self) -> Vec<(String, String)> {
        self.payload["results"]
            .as_array()
            .map(|rs| {
                rs.iter()
                    .map(|r| {
                        (
                            r["tenant"].as_str().unwrap_or("").to_owned(),
                            r["outcome"]["status"].as_str().unwrap_or("").to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A stable fingerprint: SHA-256 of the parts, hex, first 32 characters.
pub fn fingerprint(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    h.finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Where a notifier delivers: a task asks for channels, and gets events only from the
/// notifiers of those channels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum Channel {
    /// A webhook (JSON schema, Teams, Slack, Discord).
    Webhook,
    /// E-mail.
    Email,
    /// A PSA (tickets).
    Psa,
}

impl Channel {
    /// The channel's name: `webhook`, `email`, `psa`.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Webhook => "webhook",
            Channel::Email => "email",
            Channel::Psa => "psa",
        }
    }
}

/// Delivers events.
#[async_trait]
pub trait Notifier: Send + Sync + 'static {
    /// Delivers one event.
    async fn notify(&self, event: &Event) -> Result<(), SchedulerError>;
    /// The channel it delivers on: it gets only the events of tasks that ask for it.
    fn channel(&self) -> Channel;
    /// A name for logs (the channel's, unless the notifier says otherwise).
    fn name(&self) -> &str {
        self.channel().as_str()
    }
}

/// `s` with `&`, `<`, `>` and `"` escaped for HTML.
pub(crate) fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `text` cut to at most `max` characters (ending with `…` when cut), for services that
/// refuse longer fields.
pub(crate) fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// An HTTP error (status, transport) as a [`SchedulerError::Notify`] saying who refused.
pub(crate) fn refused(who: &str, status: http::StatusCode, body: &[u8]) -> SchedulerError {
    SchedulerError::Notify(format!(
        "{who} refused the request ({status}): {}",
        cipp_core::redact::body_excerpt(body)
    ))
}
