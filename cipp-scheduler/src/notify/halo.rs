//! HaloPSA tickets ([`Channel::Psa`]), as CIPP files them: each tenant maps to its Halo
//! client; a consolidated event opens one ticket per client, a split one per tenant
//! result; and an event whose condition (fingerprint) already has a ticket that is still
//! open adds a private note to it instead of opening another.
//!
//! Requests: OAuth client credentials at `POST {base}/auth/token`; `GET
//! {base}/api/Tickets/{id}` (is it open: `hasbeenclosed`); `POST {base}/api/Actions`
//! (`[{ticket_id, outcome: "Private Note", outcome_id: 7, hiddenfromuser: true,
//! note_html}]`); `POST {base}/api/Tickets` (`[{summary, details_html, client_id,
//! tickettype_id, …}]`, answered with the ticket and its `id`).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use cipp_core::{ExposeSecret, Transport};
use serde_json::{json, Value};

use super::{event_html, html_escape, refused, Channel, Event, Notifier};
use crate::SchedulerError;

/// How events become PSA tickets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TicketStrategy {
    /// One ticket per PSA client an event concerns (its tenants grouped by client).
    Consolidated,
    /// One ticket per affected item (tenant result), as CIPP's "split" option does.
    Split,
}

/// The book of tickets opened per condition: `key` (client and event fingerprint) → the
/// PSA's ticket id, so a repeated condition adds a note to its open ticket.
///
/// [`MemoryTicketBook`] keeps it in memory (one process); a durable book (a table next to
/// the scheduler's tasks) implements this trait.
#[async_trait]
pub trait TicketBook: Send + Sync + 'static {
    /// The ticket last opened for `key`.
    async fn ticket(&self, key: &str) -> Result<Option<i64>, SchedulerError>;
    /// Records the ticket opened for `key`.
    async fn record(&self, key: &str, ticket: i64) -> Result<(), SchedulerError>;
    /// Forgets `key` (its ticket was closed or deleted).
    async fn forget(&self, key: &str) -> Result<(), SchedulerError>;
}

/// A [`TicketBook`] in memory.
#[derive(Debug, Default)]
pub struct MemoryTicketBook(Mutex<HashMap<String, i64>>);

impl MemoryTicketBook {
    /// An empty book.
    pub fn new() -> Self {
        Self::default()
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, i64>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl TicketBook for MemoryTicketBook {
    async fn ticket(&self, key: &str) -> Result<Option<i64>, SchedulerError> {
        Ok(self.map().get(key).copied())
    }
    async fn record(&self, key: &str, ticket: i64) -> Result<(), SchedulerError> {
        self.map().insert(key.to_owned(), ticket);
        Ok(())
    }
    async fn forget(&self, key: &str) -> Result<(), SchedulerError> {
        self.map().remove(key);
        Ok(())
    }
}

/// One ticket to file: its book key, client, summary and HTML.
struct Draft {
    key: String,
    client: i64,
    summary: String,
    html: String,
}

/// Creates HaloPSA tickets (see the module documentation for the requests).
pub struct HaloPsaNotifier {
    transport: Arc<dyn Transport>,
    base: String,
    client_id: String,
    secret: cipp_core::SecretString,
    ticket_type_id: i64,
    /// Halo client id per tenant (lower case); unmapped tenants use `default_client_id`.
    client_map: BTreeMap<String, i64>,
    default_client_id: i64,
    strategy: TicketStrategy,
    book: Arc<dyn TicketBook>,
}

impl std::fmt::Debug for HaloPsaNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HaloPsaNotifier")
            .field("base", &self.base)
            .field("client_id", &self.client_id)
            .field("secret", &"[REDACTED]")
            .field("strategy", &self.strategy)
            .finish_non_exhaustive()
    }
}

impl HaloPsaNotifier {
    /// A HaloPSA instance at `base` (for example `https://msp.halopsa.com`), with an
    /// in-memory ticket book.
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
                "`{}` is not an http(s) URL; give the HaloPSA address, for example https://msp.halopsa.com",
                cipp_core::redact::echo(base)
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
            book: Arc::new(MemoryTicketBook::new()),
        })
    }

    /// Maps a tenant to a Halo client id.
    pub fn map_tenant(mut self, tenant: &str, halo_client_id: i64) -> Self {
        self.client_map
            .insert(tenant.to_ascii_lowercase(), halo_client_id);
        self
    }

    /// Keeps the open tickets in `book` (shared by several notifiers or durable).
    pub fn with_book(mut self, book: Arc<dyn TicketBook>) -> Self {
        self.book = book;
        self
    }

    /// The Halo client of `tenant`.
    pub fn client_of(&self, tenant: &str) -> i64 {
        self.client_map
            .get(&tenant.to_ascii_lowercase())
            .copied()
            .unwrap_or(self.default_client_id)
    }

    async fn token(&self) -> Result<cipp_core::SecretString, SchedulerError> {
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

    /// The tickets an event calls for.
    fn drafts(&self, event: &Event) -> Vec<Draft> {
        let results = event.payload["results"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        match self.strategy {
            TicketStrategy::Consolidated => {
                // The event's tenants grouped by client, in the event's order.
                let mut by_client: BTreeMap<i64, Vec<String>> = BTreeMap::new();
                for t in &event.tenants {
                    by_client
                        .entry(self.client_of(t))
                        .or_default()
                        .push(t.clone());
                }
                by_client
                    .into_iter()
                    .map(|(client, tenants)| {
                        let mut part = event.clone();
                        part.payload["results"] = Value::Array(
                            results
                                .iter()
                                .filter(|r| tenants.iter().any(|t| r["tenant"].as_str() == Some(t)))
                                .cloned()
                                .collect(),
                        );
                        part.count = part.payload["results"].as_array().map_or(0, Vec::len);
                        part.tenants = tenants;
                        Draft {
                            key: format!("{client}:{}", event.fingerprint),
                            client,
                            summary: event.title.clone(),
                            html: event_html(&part),
                        }
                    })
                    .collect()
            }
            TicketStrategy::Split => results
                .iter()
                .map(|r| {
                    let tenant = r["tenant"].as_str().unwrap_or("");
                    let client = self.client_of(tenant);
                    Draft {
                        key: format!("{client}:{}:{tenant}", event.fingerprint),
                        client,
                        summary: format!("{} — {tenant}", event.title),
                        html: format!(
                            "<pre>{}</pre>",
                            html_escape(&serde_json::to_string_pretty(r).unwrap_or_default())
                        ),
                    }
                })
                .collect(),
        }
    }

    async fn call(
        &self,
        auth: &http::HeaderValue,
        method: http::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<http::Response<Bytes>, SchedulerError> {
        let bytes = match body {
            Some(b) => Bytes::from(
                serde_json::to_vec(b).map_err(|e| SchedulerError::Notify(e.to_string()))?,
            ),
            None => Bytes::new(),
        };
        let mut req = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header(http::header::AUTHORIZATION, auth.clone());
        if body.is_some() {
            req = req.header(http::header::CONTENT_TYPE, "application/json");
        }
        let req = req
            .body(bytes)
            .map_err(|e| SchedulerError::Invalid(e.to_string()))?;
        self.transport
            .send(req)
            .await
            .map_err(|e| SchedulerError::Notify(format!("HaloPSA {path}: {e}")))
    }

    /// Whether ticket `id` is still open: `false` when Halo says `hasbeenclosed: true` or
    /// the ticket is gone (404); an answer without the flag counts as open, as CIPP reads
    /// it.
    async fn is_open(&self, auth: &http::HeaderValue, id: i64) -> Result<bool, SchedulerError> {
        let r = self
            .call(
                auth,
                http::Method::GET,
                &format!("/api/Tickets/{id}?includedetails=true"),
                None,
            )
            .await?;
        if r.status() == http::StatusCode::NOT_FOUND {
            return Ok(false);
        }
        if !r.status().is_success() {
            return Err(refused("HaloPSA (reading a ticket)", r.status(), r.body()));
        }
        let v: Value = serde_json::from_slice(r.body()).unwrap_or(Value::Null);
        Ok(v["hasbeenclosed"] != Value::Bool(true))
    }

    /// Adds the draft as a private note to an open ticket of its condition, or opens a
    /// ticket and books it.
    async fn file(&self, auth: &http::HeaderValue, d: Draft) -> Result<(), SchedulerError> {
        if let Some(id) = self.book.ticket(&d.key).await? {
            if self.is_open(auth, id).await? {
                let note = json!([{"ticket_id": id, "outcome": "Private Note", "outcome_id": 7, "hiddenfromuser": true, "note_html": d.html}]);
                let r = self
                    .call(auth, http::Method::POST, "/api/Actions", Some(&note))
                    .await?;
                return if r.status().is_success() {
                    Ok(())
                } else {
                    Err(refused("HaloPSA (adding a note)", r.status(), r.body()))
                };
            }
            self.book.forget(&d.key).await?;
        }
        let ticket = json!([{
            "summary": d.summary,
            "details_html": d.html,
            "client_id": d.client,
            "tickettype_id": self.ticket_type_id,
            "usertype": 1,
            "userlookup": {"id": -1, "lookupdisplay": "Enter Details Manually"},
            "_forcereassign": true,
            "site_id": null,
            "user_name": null,
            "reportedby": null,
            "donotapplytemplateintheapi": true,
            "attachments": []
        }]);
        let r = self
            .call(auth, http::Method::POST, "/api/Tickets", Some(&ticket))
            .await?;
        if !r.status().is_success() {
            return Err(refused("HaloPSA (opening a ticket)", r.status(), r.body()));
        }
        let v: Value = serde_json::from_slice(r.body()).unwrap_or(Value::Null);
        match v["id"].as_i64().or_else(|| v[0]["id"].as_i64()) {
            Some(id) => self.book.record(&d.key, id).await,
            None => {
                tracing::warn!("HaloPSA opened a ticket without answering its id; the next event for this condition opens another");
                Ok(())
            }
        }
    }
}

#[async_trait]
impl Notifier for HaloPsaNotifier {
    async fn notify(&self, event: &Event) -> Result<(), SchedulerError> {
        let drafts = self.drafts(event);
        if drafts.is_empty() {
            return Ok(());
        }
        let token = self.token().await?;
        let mut auth = http::HeaderValue::try_from(format!("Bearer {}", token.expose_secret()))
            .map_err(|_| {
                SchedulerError::Notify("HaloPSA's access token is not a valid header".into())
            })?;
        auth.set_sensitive(true);
        let mut first_err = None;
        for d in drafts {
            if let Err(e) = self.file(&auth, d).await {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }
    fn channel(&self) -> Channel {
        Channel::Psa
    }
    fn name(&self) -> &str {
        "halopsa"
    }
}
