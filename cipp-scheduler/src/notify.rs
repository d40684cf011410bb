//! Notifications: one versioned event schema and the sinks that deliver it.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use cipp_core::Transport;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::SchedulerError;

/// The event schema version.
pub const SCHEMA_VERSION: u32 = 1;

/// A notification event (schema version 1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// Schema version.
    pub schema_version: u32,
    /// `task.completed`, `task.failed` (later `alert.raised`, `standard.drift_detected`).
    pub kind: String,
    /// Who raised it (`cipp-scheduler`).
    pub source: String,
    /// A stable title (never a timestamp, so a PSA can merge tickets).
    pub title: String,
    /// The tenants concerned.
    pub tenants: Vec<String>,
    /// When.
    pub time: DateTime<Utc>,
    /// How many results the event covers.
    pub count: usize,
    /// The task's reference (a PSA ticket id, say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// A stable fingerprint of the condition (same condition → same fingerprint).
    pub fingerprint: String,
    /// The results.
    pub payload: Value,
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

/// Delivers events.
#[async_trait]
pub trait Notifier: Send + Sync + 'static {
    /// A name for logs.
    fn name(&self) -> &str;
    /// Delivers one event.
    async fn notify(&self, event: &Event) -> Result<(), SchedulerError>;
}

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

/// Posts events as JSON to a URL, optionally signed with HMAC-SHA256
/// (`X-Cipp-Signature: sha256=<hex>` over the body), with bounded retries.
pub struct WebhookNotifier {
    transport: Arc<dyn Transport>,
    url: String,
    auth: WebhookAuth,
    signing_secret: Option<cipp_core::SecretString>,
    max_attempts: u32,
}

impl std::fmt::Debug for WebhookNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookNotifier")
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

impl WebhookNotifier {
    /// A webhook to `url` through `transport`.
    pub fn new(
        transport: Arc<dyn Transport>,
        url: &str,
        auth: WebhookAuth,
    ) -> Result<Self, SchedulerError> {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(SchedulerError::Invalid(format!(
                "`{url}` is not an http(s) URL"
            )));
        }
        Ok(WebhookNotifier {
            transport,
            url: url.to_owned(),
            auth,
            signing_secret: None,
            max_attempts: 3,
        })
    }

    /// Signs each body with HMAC-SHA256 under `secret`.
    pub fn signed(mut self, secret: cipp_core::SecretString) -> Self {
        self.signing_secret = Some(secret);
        self
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
    fn name(&self) -> &str {
        "webhook"
    }

    async fn notify(&self, event: &Event) -> Result<(), SchedulerError> {
        use cipp_core::ExposeSecret;
        let body = serde_json::to_vec(event)
            .map_err(|e| SchedulerError::Notify(format!("cannot serialise the event: {e}")))?;
        let mut last = String::new();
        for attempt in 1..=self.max_attempts {
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
                b = b.header("x-cipp-signature", signature(s.expose_secret(), &body));
            }
            let req = b
                .body(Bytes::from(body.clone()))
                .map_err(|e| SchedulerError::Invalid(format!("webhook request: {e}")))?;
            match self.transport.send(req).await {
                Ok(r) if r.status().is_success() => return Ok(()),
                Ok(r) if r.status().is_client_error() && r.status().as_u16() != 429 => {
                    return Err(SchedulerError::Notify(format!(
                        "the webhook refused the event with {}",
                        r.status()
                    )));
                }
                Ok(r) => last = format!("status {}", r.status()),
                Err(e) => last = e.to_string(),
            }
            if attempt < self.max_attempts {
                tokio::time::sleep(Duration::from_millis(500 * 2u64.pow(attempt - 1))).await;
            }
        }
        Err(SchedulerError::Notify(format!(
            "the webhook failed after {} attempts: {last}",
            self.max_attempts
        )))
    }
}
