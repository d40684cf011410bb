//! One JSON `$batch` engine for every service (Graph sends 20 requests per batch with
//! `dependsOn`, the Exchange admin API 10): chunks that keep dependency chains together,
//! bounded concurrency, and the pipeline's rules per item — an item is resent only when the
//! service said it did not act on it ([`resend_decision`]), after the largest `Retry-After`
//! among them read on the pipeline's clock, within the retry budget; a write item answered
//! 5xx is not resent and its error says the outcome is unknown.
//!
//! A service crate supplies a [`BatchFormat`] (how many items, and how to write the
//! envelope); the answers (`{"responses":[{"id","status","headers","body"}]}`) read the same
//! for both services.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use serde::Deserialize;
use serde_json::Value;

use crate::error::{ApiErrorKind, Error, RequestSent};
use crate::pipeline::Pipeline;
use crate::request::{ApiRequest, ApiResponse};
use crate::retry::{parse_retry_after, resend_decision, Resend};
use crate::tenant::TenantId;

/// One request in a batch.
#[derive(Clone, Debug)]
pub struct BatchItem {
    /// The item id (unique, case-insensitive).
    pub id: String,
    /// The request.
    pub request: ApiRequest,
    /// Items that must succeed first.
    pub depends_on: Vec<String>,
}

/// How one service writes a batch.
pub trait BatchFormat: Send + Sync {
    /// Most items in one envelope.
    fn max_items(&self) -> usize;
    /// The envelope request (a `POST` to the service's `$batch`) carrying `items`.
    fn envelope(&self, tenant: &TenantId, items: &[BatchItem]) -> Result<ApiRequest, Error>;
}

/// How batches are retried and sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchOptions {
    /// Rounds of re-sending items the service did not act on (0 disables).
    pub max_retry_rounds: u32,
    /// Most time spent waiting between rounds (default: the pipeline's retry budget).
    pub max_total_wait: Option<Duration>,
    /// Envelopes sent at the same time.
    pub concurrency: usize,
}

impl Default for BatchOptions {
    fn default() -> Self {
        BatchOptions {
            max_retry_rounds: 3,
            max_total_wait: None,
            concurrency: 4,
        }
    }
}

/// Each item's result, by item id.
pub type ItemResults = BTreeMap<String, Result<ApiResponse, Error>>;

/// One item's answer inside a batch answer.
#[derive(Clone, Debug, Deserialize)]
pub struct ItemAnswer {
    /// The item id.
    pub id: String,
    /// Its status.
    pub status: u16,
    /// Its headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Its body (JSON, a string, or absent).
    #[serde(default)]
    pub body: Option<Value>,
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    responses: Vec<ItemAnswer>,
}

/// Sends `items` in envelopes of `format`, and returns every item's result.
pub async fn send(
    pipeline: &Pipeline,
    tenant: &TenantId,
    items: Vec<BatchItem>,
    format: &dyn BatchFormat,
    options: &BatchOptions,
) -> Result<ItemResults, Error> {
    let chunks = chunk(items, format.max_items())?;
    let sender = Sender {
        pipeline,
        tenant,
        format,
        options,
    };
    let results: Vec<Result<ItemResults, Error>> = futures::stream::iter(chunks)
        .map(|c| sender.send_chunk(c))
        .buffer_unordered(options.concurrency.max(1))
        .collect()
        .await;
    let mut out = BTreeMap::new();
    for r in results {
        out.extend(r?);
    }
    Ok(out)
}

/// Groups items into chunks of at most `max`, keeping dependency chains together.
pub fn chunk(items: Vec<BatchItem>, max: usize) -> Result<Vec<Vec<BatchItem>>, Error> {
    let max = max.max(1);
    let index: HashMap<String, usize> = items
        .iter()
        .enumerate()
        .map(|(i, it)| (it.id.to_ascii_lowercase(), i))
        .collect();
    let mut root: Vec<usize> = (0..items.len()).collect();
    fn find(root: &mut [usize], i: usize) -> usize {
        let mut r = i;
        while root[r] != r {
            r = root[r];
        }
        root[i] = r;
        r
    }
    for (i, it) in items.iter().enumerate() {
        for d in &it.depends_on {
            if let Some(&j) = index.get(&d.to_ascii_lowercase()) {
                let (a, b) = (find(&mut root, i), find(&mut root, j));
                root[a] = b;
            }
        }
    }
    let mut groups: Vec<(usize, Vec<BatchItem>)> = Vec::new();
    for (i, it) in items.into_iter().enumerate() {
        let r = find(&mut root, i);
        match groups.iter_mut().find(|(g, _)| *g == r) {
            Some((_, v)) => v.push(it),
            None => groups.push((r, vec![it])),
        }
    }
    let mut chunks: Vec<Vec<BatchItem>> = Vec::new();
    for (_, group) in groups {
        if group.len() > max {
            return Err(Error::invalid_input(
                "dependsOn",
                format!(
                    "a dependency chain of {} requests does not fit one batch of {max}",
                    group.len()
                ),
            ));
        }
        match chunks.last_mut() {
            Some(last) if last.len() + group.len() <= max => last.extend(group),
            _ => chunks.push(group),
        }
    }
    Ok(chunks)
}

/// Where and how one batch's envelopes are sent.
#[derive(Clone, Copy)]
struct Sender<'a> {
    pipeline: &'a Pipeline,
    tenant: &'a TenantId,
    format: &'a dyn BatchFormat,
    options: &'a BatchOptions,
}

impl Sender<'_> {
    /// Sends one chunk (one envelope, and again for the items worth re-sending).
    async fn send_chunk(self, items: Vec<BatchItem>) -> Result<ItemResults, Error> {
        let Sender {
            pipeline,
            tenant,
            format,
            options,
        } = self;
        let budget = options
            .max_total_wait
            .unwrap_or(pipeline.retry_policy().max_total_wait);
        let mut pending = items;
        let mut done = ItemResults::new();
        let mut waited = Duration::ZERO;
        let mut round = 0;
        loop {
            let envelope = format.envelope(tenant, &pending)?;
            let answers: Envelope = pipeline.send_json(envelope).await?;
            let now: std::time::SystemTime = pipeline.clock().now().into();
            let mut retry: Vec<(BatchItem, ApiResponse)> = Vec::new();
            let mut longest = Duration::ZERO;
            for item in pending {
                let Some(answer) = answers
                    .responses
                    .iter()
                    .find(|a| a.id.eq_ignore_ascii_case(&item.id))
                else {
                    done.insert(
                        item.id.clone(),
                        Err(Error::protocol(
                            Some(tenant.clone()),
                            "$batch",
                            format!("the batch answer has no response for item {}", item.id),
                        )),
                    );
                    continue;
                };
                let response = to_response(tenant, &item.request, answer);
                let retry_after = answer
                    .headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("retry-after"))
                    .and_then(|(_, v)| parse_retry_after(v, now));
                let decision = resend_decision(
                    answer.status,
                    retry_after.is_some(),
                    item.request.is_idempotent(),
                    item.request.retries_not_found(),
                );
                if answer.status == 429 {
                    // The item's own workload is throttled, not just this batch: the
                    // tenant's other requests of that workload wait too.
                    let wait = retry_after.unwrap_or(Duration::from_secs(1 << round.min(5)));
                    pipeline.record_throttle_of(&item.request, wait);
                }
                if decision == Resend::Retry && round < options.max_retry_rounds {
                    longest =
                        longest.max(retry_after.unwrap_or(Duration::from_secs(1 << round.min(5))));
                    retry.push((item, response));
                    continue;
                }
                let result = if response.status.is_success() || response.status.is_redirection() {
                    Ok(response)
                } else {
                    Err(item_error(&item.request, &response, decision))
                };
                done.insert(item.id.clone(), result);
            }
            if retry.is_empty() {
                return Ok(done);
            }
            if waited.saturating_add(longest) > budget {
                // Out of budget: each item keeps the answer it got.
                for (item, response) in retry {
                    let e = item_error(&item.request, &response, Resend::Final);
                    done.insert(item.id.clone(), Err(e));
                }
                return Ok(done);
            }
            tracing::debug!(tenant = %tenant, items = retry.len(), wait_ms = longest.as_millis() as u64, "re-sending batch items");
            tokio::time::sleep(longest).await;
            waited = waited.saturating_add(longest);
            round += 1;
            // Items that depended on a re-sent item travel with it; the others stay done.
            let ids: Vec<String> = retry
                .iter()
                .map(|(i, _)| i.id.to_ascii_lowercase())
                .collect();
            pending = retry
                .into_iter()
                .map(|(mut i, _)| {
                    i.depends_on
                        .retain(|d| ids.contains(&d.to_ascii_lowercase()));
                    i
                })
                .collect();
        }
    }
}

/// The error for an item's error answer: the request's own error reader, 424 as a failed
/// dependency, and an unknown outcome for a write the service may have done.
fn item_error(request: &ApiRequest, response: &ApiResponse, decision: Resend) -> Error {
    let mut e = request.read_error(response.status, &response.headers, &response.body);
    if response.status.as_u16() == 424 {
        e.kind = ApiErrorKind::FailedDependency;
        if e.message.is_empty() {
            e.message = "a request this one depended on failed".into();
        }
    }
    if decision == Resend::OutcomeUnknown {
        e.sent = Some(RequestSent::Maybe);
    }
    e.into()
}

/// An item's answer as a response to its own request.
pub fn to_response(tenant: &TenantId, request: &ApiRequest, answer: &ItemAnswer) -> ApiResponse {
    let mut headers = HeaderMap::new();
    for (k, v) in &answer.headers {
        if let (Ok(k), Ok(v)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            headers.insert(k, v);
        }
    }
    let body = match &answer.body {
        None | Some(Value::Null) => Bytes::new(),
        Some(Value::String(s)) => Bytes::from(s.clone()),
        Some(v) => Bytes::from(v.to_string()),
    };
    ApiResponse {
        tenant: tenant.clone(),
        method: request.method().clone(),
        uri: request.path().parse().unwrap_or_default(),
        status: StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        headers,
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::Audience;

    fn item(id: &str, deps: &[&str]) -> BatchItem {
        BatchItem {
            id: id.into(),
            request: ApiRequest::get(
                TenantId::parse("contoso.com").unwrap(),
                Audience::Graph,
                format!("/v1.0/users/{id}"),
            ),
            depends_on: deps.iter().map(|d| (*d).to_owned()).collect(),
        }
    }

    #[test]
    fn chunks_keep_dependency_chains_together() {
        let mut items: Vec<BatchItem> = (0..19).map(|i| item(&i.to_string(), &[])).collect();
        items.push(item("a", &[]));
        items.push(item("b", &["a"]));
        let chunks = chunk(items, 20).unwrap();
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks[0].len(), 19);
        assert_eq!(chunks[1].len(), 2, "the pair travels together");
        let chain: Vec<BatchItem> = (0..3)
            .map(|i| {
                let prev = if i > 0 {
                    vec![(i - 1).to_string()]
                } else {
                    vec![]
                };
                let p: Vec<&str> = prev.iter().map(String::as_str).collect();
                item(&i.to_string(), &p)
            })
            .collect();
        assert!(
            chunk(chain, 2).is_err(),
            "a chain longer than a batch is refused"
        );
    }
}
