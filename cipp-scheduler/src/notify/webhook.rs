//! Webhooks: the versioned JSON schema, or the body Teams, Slack or Discord expect,
//! chosen by the URL's host as CIPP does ([`WebhookFormat::detect`]).
//!
//! A webhook URL is a secret (Teams, Slack and Discord put the token in its path or
//! query): no error and no `Debug` output quotes more than its scheme and host.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use cipp_core::{ExposeSecret, Transport};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use super::{clip, Channel, Event, Notifier};
use crate::SchedulerError;

/// How a webhook authenticates.
#[derive(Clone)]
#[non_exhaustive]
pub enum WebhookAuth {
    /// No authentication.
    None,
    /// `Authorization: Bearer …`.
    Bearer(cipp_core::SecretString),
    /// A custom header (an API key).
    Header {
        /// Header name.
        name: String,
        /// Header value.
        value: cipp_core::SecretString,
    },
}

impl std::fmt::Debug for WebhookAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WebhookAuth::None => f.write_str("None"),
            WebhookAuth::Bearer(_) => f.write_str("Bearer([REDACTED])"),
            WebhookAuth::Header { name, .. } => write!(f, "Header({name}: [REDACTED])"),
        }
    }
}

/// The body a webhook receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WebhookFormat {
    /// The versioned event schema ([`Event`] as JSON).
    Schema,
    /// A Microsoft Teams message with an Adaptive Card (incoming webhooks at
    /// `*.webhook.office.com`, Workflows at `*.logic.azure.com`).
    Teams,
    /// Slack Block Kit blocks (`hooks.slack.com`).
    Slack,
    /// A Discord message with an embed (`discord.com/api/webhooks`).
    Discord,
}

/// The host of an http(s) URL (lower case, without user info or port), if it has one.
fn host(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    let host = host.split(':').next().unwrap_or("");
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// `scheme://host/[REDACTED]`: a webhook URL as errors and `Debug` may show it.
pub fn redact_url(url: &str) -> String {
    match (host(url), url.split_once("://")) {
        (Some(h), Some((scheme, _))) => format!("{scheme}://{h}/[REDACTED]"),
        _ => "[REDACTED URL]".into(),
    }
}

impl WebhookFormat {
    /// The format CIPP would use for `url`, by its host: Teams for
    /// `webhook.office.com` and `logic.azure.com`, Slack for `hooks.slack.com`, Discord
    /// for `discord.com/api/webhooks` (and `discordapp.com`), the schema otherwise.
    pub fn detect(url: &str) -> WebhookFormat {
        let Some(h) = host(url) else {
            return WebhookFormat::Schema;
        };
        let under = |domain: &str| h == domain || h.ends_with(&format!(".{domain}"));
        let path = url.split_once("://").map_or("", |(_, r)| r);
        if under("webhook.office.com") || under("logic.azure.com") {
            WebhookFormat::Teams
        } else if h == "hooks.slack.com" {
            WebhookFormat::Slack
        } else if (under("discord.com") || under("discordapp.com"))
            && path.contains("/api/webhooks/")
        {
            WebhookFormat::Discord
        } else {
            WebhookFormat::Schema
        }
    }

    /// The JSON body for `event` in this format.
    pub fn body(self, event: &Event) -> Value {
        let rows: Vec<String> = event
            .result_rows()
            .iter()
            .map(|(t, s)| format!("{t}: {s}"))
            .collect();
        let mut facts = vec![
            ("Tenants", event.tenants.join(", ")),
            ("Results", event.count.to_string()),
            ("Findings", event.findings.to_string()),
        ];
        if let Some(r) = &event.reference {
            facts.push(("Reference", r.clone()));
        }
        let comment = event.comment.clone().unwrap_or_default();
        match self {
            WebhookFormat::Schema => serde_json::to_value(event).unwrap_or(Value::Null),
            WebhookFormat::Teams => {
                let mut body = vec![
                    json!({"type": "TextBlock", "size": "Large", "weight": "Bolder", "text": event.title, "wrap": true}),
                ];
                if !comment.is_empty() {
                    body.push(json!({"type": "TextBlock", "text": comment, "wrap": true}));
                }
                body.push(json!({"type": "FactSet", "facts": facts.iter().map(|(k, v)| json!({"title": k, "value": v})).collect::<Vec<_>>()}));
                body.push(json!({"type": "TextBlock", "text": rows.join("\n\n"), "wrap": true, "fontType": "Monospace"}));
                json!({"type": "message", "attachments": [{
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "contentUrl": null,
                    "content": {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard", "version": "1.4", "body": body}
                }]})
            }
            WebhookFormat::Slack => {
                let mut blocks = vec![
                    json!({"type": "header", "text": {"type": "plain_text", "text": clip(&event.title, 150)}}),
                ];
                if !comment.is_empty() {
                    blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": clip(&comment, 3000)}}));
                }
                blocks.push(json!({"type": "section", "fields": facts.iter().map(|(k, v)| json!({"type": "mrkdwn", "text": clip(&format!("*{k}*\n{v}"), 2000)})).collect::<Vec<_>>()}));
                blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("```{}```", clip(&rows.join("\n"), 2990))}}));
                json!({"text": clip(&event.title, 3000), "blocks": blocks})
            }
            WebhookFormat::Discord => {
                let content = if comment.is_empty() {
                    format!("**{}**", event.title)
                } else {
                    format!("**{}**\n{comment}", event.title)
                };
                json!({
                    "content": clip(&content, 2000),
                    "embeds": [{
                        "title": clip(&event.title, 256),
                        "description": format!("```\n{}\n```", clip(&rows.join("\n"), 4000)),
                        "timestamp": event.time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                        "fields": facts.iter().map(|(k, v)| json!({"name": k, "value": clip(v, 1024), "inline": true})).collect::<Vec<_>>(),
                        "footer": {"text": format!("fingerprint {}", event.fingerprint)}
                    }]
                })
            }
        }
    }
}

/// Posts events to a URL ([`Channel::Webhook`]) in a [`WebhookFormat`], optionally
/// signed with HMAC-SHA256 (`X-Cipp-Signature: sha256=<hex>` over the body), with
/// bounded retries.
pub struct WebhookNotifier {
    transport: Arc<dyn Transport>,
    url: String,
    auth: WebhookAuth,
    format: WebhookFormat,
    signing_secret: Option<cipp_core::SecretString>,
    max_attempts: u32,
    backoff: Duration,
}

impl std::fmt::Debug for WebhookNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "WebhookNotifier {{ url: {}, format: {:?}, auth: {:?}, .. }}",
            redact_url(&self.url),
            self.format,
            self.auth
        )
    }
}

impl WebhookNotifier {
    /// A webhook to `url` through `transport`, in the format its host calls for
    /// ([`WebhookFormat::detect`]).
    pub fn new(
        transport: Arc<dyn Transport>,
        url: &str,
        auth: WebhookAuth,
    ) -> Result<Self, SchedulerError> {
        if host(url).is_none() {
            return Err(SchedulerError::Invalid(
                "the webhook URL is not an http(s) URL with a host; give one starting with https://"
                    .into(),
            ));
        }
        Ok(WebhookNotifier {
            transport,
            url: url.to_owned(),
            auth,
            format: WebhookFormat::detect(url),
            signing_secret: None,
            max_attempts: 3,
            backoff: Duration::from_millis(500),
        })
    }

    /// Sends bodies in `format` whatever the host.
    pub fn with_format(mut self, format: WebhookFormat) -> Self {
        self.format = format;
        self
    }

    /// The format bodies are sent in.
    pub fn format(&self) -> WebhookFormat {
        self.format
    }

    /// Tries each event at most `attempts` times (at least once; 3 by default), backing
    /// off `first_wait`, twice that, four times, … (capped at a minute) between tries
    /// (0.5 s first by default).
    pub fn with_retries(mut self, attempts: u32, first_wait: Duration) -> Self {
        self.max_attempts = attempts.max(1);
        self.backoff = first_wait;
        self
    }

    /// Signs each body with HMAC-SHA256 under `secret`.
    pub fn signed(mut self, secret: cipp_core::SecretString) -> Self {
        self.signing_secret = Some(secret);
        self
    }

    /// `text` with the URL, its path and its query replaced by the redacted URL.
    fn scrub(&self, text: &str) -> String {
        let mut out = text.replace(&self.url, &redact_url(&self.url));
        let after_host = self
            .url
            .split_once("://")
            .and_then(|(_, r)| r.find(['/', '?']).map(|i| &r[i..]))
            .unwrap_or("");
        for secret in [after_host, after_host.split('?').next().unwrap_or("")] {
            if secret.len() > 1 {
                out = out.replace(secret, "/[REDACTED]");
            }
        }
        out
    }

    fn request(&self, event: &Event, body: &[u8]) -> Result<http::Request<Bytes>, SchedulerError> {
        let mut b = http::Request::builder()
            .method(http::Method::POST)
            .uri(&self.url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header("x-cipp-event", event.kind.as_str())
            .header("x-cipp-fingerprint", event.fingerprint.as_str());
        match &self.auth {
            WebhookAuth::None => {}
            WebhookAuth::Bearer(t) => {
                b = b.header(
                    http::header::AUTHORIZATION,
                    format!("Bearer {}", t.expose_secret()),
                )
            }
            WebhookAuth::Header { name, value } => {
                b = b.header(name.as_str(), value.expose_secret())
            }
        }
        if let Some(s) = &self.signing_secret {
            b = b.header("x-cipp-signature", signature(s.expose_secret(), body));
        }
        b.body(Bytes::copy_from_slice(body)).map_err(|e| {
            SchedulerError::Invalid(format!(
                "the webhook request to {} cannot be built: {}",
                redact_url(&self.url),
                self.scrub(&e.to_string())
            ))
        })
    }
}

/// The signature header value for `body` under `secret`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    // HMAC takes keys of any length, so creating it cannot fail.
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    format!(
        "sha256={}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

#[async_trait]
impl Notifier for WebhookNotifier {
    async fn notify(&self, event: &Event) -> Result<(), SchedulerError> {
        let body = serde_json::to_vec(&self.format.body(event))
            .map_err(|e| SchedulerError::Notify(format!("cannot serialise the event: {e}")))?;
        let mut last = String::new();
        for attempt in 1..=self.max_attempts {
            match self.transport.send(self.request(event, &body)?).await {
                Ok(r) if r.status().is_success() => return Ok(()),
                Ok(r) if r.status().is_client_error() && r.status().as_u16() != 429 => {
                    return Err(SchedulerError::Notify(self.scrub(&format!(
                        "the webhook at {} refused the event with {}: {}",
                        redact_url(&self.url),
                        r.status(),
                        cipp_core::redact::body_excerpt(r.body())
                    ))));
                }
                Ok(r) => last = format!("status {}", r.status()),
                Err(e) => last = e.to_string(),
            }
            if attempt < self.max_attempts {
                // first_wait × 1, 2, 4, … capped at one minute (no overflow for any count).
                let factor = 2u32
                    .checked_pow(attempt.saturating_sub(1))
                    .unwrap_or(u32::MAX);
                let wait = self
                    .backoff
                    .checked_mul(factor)
                    .unwrap_or(Duration::MAX)
                    .min(Duration::from_secs(60));
                tokio::time::sleep(wait).await;
            }
        }
        Err(SchedulerError::Notify(self.scrub(&format!(
            "the webhook at {} failed after {} attempts: {last}",
            redact_url(&self.url),
            self.max_attempts
        ))))
    }
    fn channel(&self) -> Channel {
        Channel::Webhook
    }
}
