//! E-mail: events as small HTML pages, sent through an [`EmailSender`] (the facade
//! provides one over Graph `sendMail`).

use std::sync::Arc;

use async_trait::async_trait;

use super::{html_escape, Channel, Event, Notifier};
use crate::SchedulerError;

/// Sends e-mail (the facade provides one over Graph `sendMail`).
#[async_trait]
pub trait EmailSender: Send + Sync + 'static {
    /// Sends one HTML message.
    async fn send(&self, to: &[String], subject: &str, html: &str) -> Result<(), SchedulerError>;
}

/// Renders an event as a small self-contained HTML page: title, alert comment, a table
/// of tenant and outcome, reference and fingerprint.
pub fn event_html(e: &Event) -> String {
    let rows: String = e
        .result_rows()
        .iter()
        .map(|(tenant, status)| {
            format!(
                "<tr><td>{}</td><td>{}</td></tr>",
                html_escape(tenant),
                html_escape(status)
            )
        })
        .collect();
    let comment = e
        .comment
        .as_deref()
        .map(|c| format!("<p>{}</p>", html_escape(c)))
        .unwrap_or_default();
    format!(
        "<html><body><h2>{}</h2>{comment}<p>{} result(s){}</p><table border=\"1\" cellpadding=\"4\"><tr><th>Tenant</th><th>Outcome</th></tr>{rows}</table><p><small>fingerprint {}</small></p></body></html>",
        html_escape(&e.title),
        e.count,
        e.reference.as_deref().map(|r| format!(" · reference {}", html_escape(r))).unwrap_or_default(),
        e.fingerprint
    )
}

/// E-mails events to fixed recipients through an [`EmailSender`]
/// ([`Channel::Email`]).
pub struct EmailNotifier {
    sender: Arc<dyn EmailSender>,
    to: Vec<String>,
}

impl std::fmt::Debug for EmailNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailNotifier")
            .field("to", &self.to)
            .finish_non_exhaustive()
    }
}

impl EmailNotifier {
    /// E-mail to `to` (at least one address).
    pub fn new(sender: Arc<dyn EmailSender>, to: Vec<String>) -> Result<Self, SchedulerError> {
        if to.is_empty() || to.iter().any(|a| !a.contains('@')) {
            return Err(SchedulerError::Invalid(
                "give at least one e-mail address".into(),
            ));
        }
        Ok(EmailNotifier { sender, to })
    }
}

#[async_trait]
impl Notifier for EmailNotifier {
    async fn notify(&self, event: &Event) -> Result<(), SchedulerError> {
        self.sender
            .send(&self.to, &event.title, &event_html(event))
            .await
    }
    fn channel(&self) -> Channel {
        Channel::Email
    }
}
