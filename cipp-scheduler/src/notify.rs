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
                        "the webhook refused the event with {}: {}",
                        r.status(),
                        cipp_core::redact::body_excerpt(r.body())
                    )));
                }
                Ok(r) => last = format!("status {}", r.status()),
                Err(e) => last = e.to_string(),
            }
            if attempt < self.max_attempts {
                // 0.5 s, 1 s, 2 s, … capped at one minute (no overflow for any attempt count).
                let backoff = 2u64
                    .checked_pow(attempt.saturating_sub(1))
                    .and_then(|f| f.checked_mul(500))
                    .unwrap_or(u64::MAX)
                    .min(60_000);
                tokio::time::sleep(Duration::from_millis(backoff)).await;
            }
        }
        Err(SchedulerError::Notify(format!(
            "the webhook failed after {} attempts: {last}",
            self.max_attempts
        )))
    }
}

/// Sends e-mail (the facade provides one over Graph `sendMail`).
#[async_trait]
pub trait EmailSender: Send + Sync + 'static {
    /// Sends one HTML message.
    async fn send(&self, to: &[String], subject: &str, html: &str) -> Result<(), SchedulerError>;
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Renders an event as a small self-contained HTML page.
pub fn event_html(e: &Event) -> String {
    let rows: String = e.payload["results"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .map(|r| {
                    format!(
                        "<tr><td>{}</td><td>{}</td></tr>",
                        html_escape(r["tenant"].as_str().unwrap_or("")),
                        html_escape(r["outcome"]["status"].as_str().unwrap_or(""))
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    format!(
        "<html><body><h2>{}</h2><p>{} result(s){}</p><table border=\"1\" cellpadding=\"4\"><tr><th>Tenant</th><th>Outcome</th></tr>{rows}</table><p><small>fingerprint {}</small></p></body></html>",
        html_escape(&e.title),
        e.count,
        e.reference.as_deref().map(|r| format!(" · reference {}", html_escape(r))).unwrap_or_default(),
        e.fingerprint
    )
}

/// E-mails events to fixed recipients through an [`EmailSender`].
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
    fn name(&self) -> &str {
        "email"
    }
    async fn notify(&self, event: &Event) -> Result<(), SchedulerError> {
        self.sender
            .send(&self.to, &event.title, &event_html(event))
            .await
    }
}

/// How events become PSA tickets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TicketStrategy {
    /// One ticket per event.
    Consolidated,
    /// One ticket per affected item (tenant result), as CIPP's "split" option does.
    Split,
}

/// Creates HaloPSA tickets (OAuth client credentials at `{base}/auth/token`, tickets at
/// `{base}/api/Tickets`).
pub struct HaloPsaNotifier {
    transport: Arc<dyn Transport>,
    base: String,
    client_id: String,
    secret: cipp_core::SecretString,
    ticket_type_id: i64,
    /// Halo client id per tenant; events for unmapped tenants use `default_client_id`.
    client_map: std::collections::BTreeMap<String, i64>,
    default_client_id: i64,
    strategy: TicketStrategy,
}

impl std::fmt::Debug for HaloPsaNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HaloPsaNotifier")
            .field("base", &self.base)
            .field("client_id", &self.client_id)
            .field("secret", &"[REDACTED]")
            .finish_non_exhaustive()
    }
}

impl HaloPsaNotifier {
    /// A HaloPSA instance at `base` (for example `https://msp.halopsa.com`).
    pub fn new(
        transport: Arc<dyn Transport>,
        base: &str,
        client_id: &str,
        secret: cipp_core::SecretString,
        ticket_type_id: i64,
        default_client_id: i64,
        strategy: TicketStrategy,
    ) -> Result<Self, SchedulerError> {
        if !base.starts_with("https://") && !base.starts_with("http://") {
            return Err(SchedulerError::Invalid(format!(
                "`{base}` is not an http(s) URL"
            )));
        }
        Ok(HaloPsaNotifier {
            transport,
            base: base.trim_end_matches('/').to_owned(),
            client_id: client_id.to_owned(),
            secret,
            ticket_type_id,
            client_map: Default::default(),
            default_client_id,
            strategy,
        })
    }

    /// Maps a tenant to a Halo client id.
    pub fn map_tenant(mut self, tenant: &str, halo_client_id: i64) -> Self {
        self.client_map
            .insert(tenant.to_ascii_lowercase(), halo_client_id);
        self
    }

    async fn token(&self) -> Result<cipp_core::SecretString, SchedulerError> {
        use cipp_core::ExposeSecret;
        let form = format!(
            "grant_type=client_credentials&client_id={}&client_secret={}&scope=all",
            cipp_core::request::encode_component(&self.client_id),
            cipp_core::request::encode_component(self.secret.expose_secret())
        );
        let req = http::Request::builder()
            .method(http::Method::POST)
            .uri(format!("{}/auth/token", self.base))
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(Bytes::from(form))
            .map_err(|e| SchedulerError::Invalid(e.to_string()))?;
        let r = self
            .transport
            .send(req)
            .await
            .map_err(|e| SchedulerError::Notify(format!("HaloPSA token: {e}")))?;
        if !r.status().is_success() {
            return Err(SchedulerError::Notify(format!(
                "HaloPSA refused the credentials ({}): {}. What to do: check the HaloPSA API application's client id and secret",
                r.status(),
                cipp_core::redact::body_excerpt(r.body())
            )));
        }
        let v: Value = serde_json::from_slice(r.body()).map_err(|e| {
            SchedulerError::Notify(format!(
                "HaloPSA token answer is not JSON: {}",
                cipp_core::redact::clean_text(&e.to_string())
            ))
        })?;
        v["access_token"]
            .as_str()
            .map(|t| cipp_core::SecretString::from(t.to_owned()))
            .ok_or_else(|| {
                SchedulerError::Notify("HaloPSA answered without an access_token".into())
            })
    }

    fn ticket(&self, summary: &str, html: &str, tenant: &str) -> Value {
        serde_json::json!({
            "summary": summary,
            "details_html": html,
            "client_id": self.client_map.get(&tenant.to_ascii_lowercase()).copied().unwrap_or(self.default_client_id),
            "tickettype_id": self.ticket_type_id,
        })
    }
}

#[async_trait]
impl Notifier for HaloPsaNotifier {
    fn name(&self) -> &str {
        "halopsa"
    }
    async fn notify(&self, event: &Event) -> Result<(), SchedulerError> {
        let tickets: Vec<Value> = match self.strategy {
            TicketStrategy::Consolidated => vec![self.ticket(
                &event.title,
                &event_html(event),
                event.tenants.first().map_or("", String::as_str),
            )],
            TicketStrategy::Split => event.payload["results"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|r| {
                    let tenant = r["tenant"].as_str().unwrap_or("");
                    let summary = format!("{} — {tenant}", event.title);
                    let html = format!(
                        "<pre>{}</pre>",
                        html_escape(&serde_json::to_string_pretty(r).unwrap_or_default())
                    );
                    self.ticket(&summary, &html, tenant)
                })
                .collect(),
        };
        if tickets.is_empty() {
            return Ok(());
        }
        let token = self.token().await?;
        let mut auth = {
            use cipp_core::ExposeSecret;
            http::HeaderValue::try_from(format!("Bearer {}", token.expose_secret())).map_err(
                |_| SchedulerError::Notify("HaloPSA's access token is not a valid header".into()),
            )?
        };
        auth.set_sensitive(true);
        let req = http::Request::builder()
            .method(http::Method::POST)
            .uri(format!("{}/api/Tickets", self.base))
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::AUTHORIZATION, auth)
            .body(Bytes::from(
                serde_json::to_vec(&tickets).map_err(|e| SchedulerError::Notify(e.to_string()))?,
            ))
            .map_err(|e| SchedulerError::Invalid(e.to_string()))?;
        let r = self
            .transport
            .send(req)
            .await
            .map_err(|e| SchedulerError::Notify(format!("HaloPSA tickets: {e}")))?;
        if r.status().is_success() {
            Ok(())
        } else {
            Err(SchedulerError::Notify(format!(
                "HaloPSA refused the tickets ({}): {}",
                r.status(),
                cipp_core::redact::body_excerpt(r.body())
            )))
        }
    }
}
