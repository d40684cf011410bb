//! JSON batching (`$batch`): many request values in few round trips.
//!
//! Requests are grouped by API version and sent 20 per batch; an item that depends on
//! another (`dependsOn`) travels in the same batch. Every item gets its own result. Items
//! answered 429/503/504 are re-sent alone after the largest `Retry-After` among them,
//! within a retry budget; an item whose dependency failed (424) gets
//! [`ApiErrorKind::FailedDependency`](cipp_core::ApiErrorKind::FailedDependency). List
//! responses inside a batch can have their next links followed.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use bytes::Bytes;
use cipp_core::pipeline::{resend_decision, Resend};
use cipp_core::{paging, ApiError, ApiRequest, ApiResponse, Audience, Error, Pipeline, TenantId};
use futures::TryStreamExt;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::op::GraphOp;

/// Each item's result, by item id.
pub type ItemResults = BTreeMap<String, Result<ApiResponse, Error>>;

/// Most requests Graph accepts in one batch.
pub const MAX_BATCH: usize = 20;

/// How batches are retried and completed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchOptions {
    /// Rounds of re-sending throttled items (0 disables).
    pub max_retry_rounds: u32,
    /// Most time spent waiting for throttled items.
    pub max_total_wait: Duration,
    /// Follow `@odata.nextLink` of list responses and merge their `value` arrays.
    pub follow_next_links: bool,
    /// Batches sent at the same time.
    pub concurrency: usize,
}

impl Default for BatchOptions {
    fn default() -> Self {
        BatchOptions {
            max_retry_rounds: 3,
            max_total_wait: Duration::from_secs(180),
            follow_next_links: false,
            concurrency: 4,
        }
    }
}

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

/// A set of requests for one tenant, sent with as few round trips as Graph allows.
///
/// ```
/// use cipp_core::TenantId;
/// use cipp_graph::{batch::Batch, users::{self, UserRef}};
/// let t = TenantId::parse("contoso.com")?;
/// let mut b = Batch::new(t.clone());
/// let u = UserRef::parse("adelev@contoso.com")?;
/// let first = b.add(users::set_sign_in_enabled(&t, &u, false)?.into_parts().0)?;
/// b.add_after(users::revoke_sign_in_sessions(&t, &u).into_parts().0, &[first.as_str()])?;
/// assert_eq!(b.len(), 2);
/// # Ok::<(), cipp_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Batch {
    tenant: TenantId,
    items: Vec<BatchItem>,
}

impl Batch {
    /// An empty batch for `tenant`.
    pub fn new(tenant: TenantId) -> Self {
        Batch {
            tenant,
            items: Vec::new(),
        }
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Adds a request and returns its id.
    pub fn add(&mut self, request: ApiRequest) -> Result<String, Error> {
        self.add_after(request, &[])
    }

    /// Adds a request that runs after `depends_on` succeeded.
    pub fn add_after(&mut self, request: ApiRequest, depends_on: &[&str]) -> Result<String, Error> {
        if request.tenant() != &self.tenant {
            return Err(Error::invalid_input(
                "batch",
                format!(
                    "request for tenant {} in a batch for {}",
                    request.tenant(),
                    self.tenant
                ),
            ));
        }
        if request.audience() != &Audience::Graph {
            return Err(Error::invalid_input(
                "batch",
                "only Graph requests can be batched",
            ));
        }
        version_of(&request)?;
        for d in depends_on {
            if !self.items.iter().any(|i| i.id.eq_ignore_ascii_case(d)) {
                return Err(Error::invalid_input(
                    "dependsOn",
                    format!("no earlier item `{d}`"),
                ));
            }
        }
        let id = (self.items.len() + 1).to_string();
        self.items.push(BatchItem {
            id: id.clone(),
            request,
            depends_on: depends_on.iter().map(|d| d.to_string()).collect(),
        });
        Ok(id)
    }

    /// Sends everything and returns each item's result by id.
    pub async fn send(
        self,
        pipeline: &Pipeline,
        options: &BatchOptions,
    ) -> Result<ItemResults, Error> {
        send_items(pipeline, &self.tenant, self.items, options).await
    }
}

fn version_of(request: &ApiRequest) -> Result<(&'static str, String), Error> {
    let target = request.target();
    for v in ["/v1.0", "/beta"] {
        if let Some(rest) = target.strip_prefix(v) {
            if rest.starts_with('/') {
                return Ok((if v == "/v1.0" { "v1.0" } else { "beta" }, rest.to_owned()));
            }
        }
    }
    Err(Error::invalid_input(
        "batch",
        format!("`{}` is not a relative /v1.0 or /beta path", request.path()),
    ))
}

/// Runs typed operations of one kind through batches and decodes each result.
pub async fn run<T>(
    pipeline: &Pipeline,
    tenant: &TenantId,
    ops: Vec<GraphOp<T>>,
    options: &BatchOptions,
) -> Result<Vec<Result<T, Error>>, Error> {
    let mut batch = Batch::new(tenant.clone());
    let mut decoders = Vec::with_capacity(ops.len());
    for op in ops {
        let (request, decode) = op.into_parts();
        let id = batch.add(request)?;
        decoders.push((id, decode));
    }
    let mut results = batch.send(pipeline, options).await?;
    Ok(decoders
        .into_iter()
        .map(|(id, decode)| match results.remove(&id) {
            Some(Ok(r)) => decode(&r),
            Some(Err(e)) => Err(e),
            None => Err(Error::protocol(
                Some(tenant.clone()),
                "$batch",
                format!("the batch returned no answer for item {id}"),
            )),
        })
        .collect())
}

/// Groups items into chunks of at most 20, keeping dependency chains together.
fn chunk(items: Vec<BatchItem>) -> Result<Vec<Vec<BatchItem>>, Error> {
    // Union items with their dependencies.
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
        if group.len() > MAX_BATCH {
            return Err(Error::invalid_input(
                "dependsOn",
                format!(
                    "a dependency chain of {} requests does not fit one batch of {MAX_BATCH}",
                    group.len()
                ),
            ));
        }
        match chunks.last_mut() {
            Some(last) if last.len() + group.len() <= MAX_BATCH => last.extend(group),
            _ => chunks.push(group),
        }
    }
    Ok(chunks)
}

#[derive(Deserialize)]
struct BatchEnvelope {
    #[serde(default)]
    responses: Vec<ItemAnswer>,
}

#[derive(Deserialize)]
struct ItemAnswer {
    id: String,
    status: u16,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    body: Option<Value>,
}

async fn send_items(
    pipeline: &Pipeline,
    tenant: &TenantId,
    items: Vec<BatchItem>,
    options: &BatchOptions,
) -> Result<ItemResults, Error> {
    let mut by_version: BTreeMap<&'static str, Vec<BatchItem>> = BTreeMap::new();
    for it in items {
        let (v, _) = version_of(&it.request)?;
        by_version.entry(v).or_default().push(it);
    }
    let mut chunks = Vec::new();
    for (v, items) in by_version {
        for c in chunk(items)? {
            chunks.push((v, c));
        }
    }
    let results: Vec<Result<ItemResults, Error>> = futures::stream::iter(chunks)
        .map(|(v, c)| send_chunk(pipeline, tenant, v, c, options))
        .buffer_unordered(options.concurrency.max(1))
        .collect()
        .await;
    let mut out = BTreeMap::new();
    for r in results {
        out.extend(r?);
    }
    Ok(out)
}

use futures::StreamExt;

async fn send_chunk(
    pipeline: &Pipeline,
    tenant: &TenantId,
    version: &'static str,
    items: Vec<BatchItem>,
    options: &BatchOptions,
) -> Result<ItemResults, Error> {
    let mut pending: Vec<BatchItem> = items;
    let mut done: BTreeMap<String, Result<ApiResponse, Error>> = BTreeMap::new();
    let mut waited = Duration::ZERO;
    let mut round = 0;
    loop {
        let answers = post_batch(pipeline, tenant, version, &pending).await?;
        let mut retry = Vec::new();
        let mut longest = Duration::ZERO;
        for item in pending {
            let Some(answer) = answers.iter().find(|a| a.id.eq_ignore_ascii_case(&item.id)) else {
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
            let now: std::time::SystemTime = pipeline.clock().now().into();
            let retry_after = answer
                .headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("retry-after"))
                .and_then(|(_, v)| cipp_core::parse_retry_after(v, now));
            let decision = resend_decision(
                answer.status,
                retry_after.is_some(),
                item.request.is_idempotent(),
                item.request.retries_not_found(),
            );
            if decision == Resend::Retry && round < options.max_retry_rounds {
                let ra = retry_after.unwrap_or(Duration::from_secs(1 << round.min(5)));
                longest = longest.max(ra);
                retry.push(item);
                continue;
            }
            let result = if (200..400).contains(&answer.status) {
                if options.follow_next_links {
                    follow_next_links(pipeline, &item.request, response).await
                } else {
                    Ok(response)
                }
            } else {
                let mut e = item_error(tenant, &item.request, &response);
                if decision == Resend::OutcomeUnknown {
                    if let Error::Api(api) = &mut e {
                        api.sent = Some(cipp_core::RequestSent::Maybe);
                    }
                }
                Err(e)
            };
            done.insert(item.id.clone(), result);
        }
        if retry.is_empty() {
            return Ok(done);
        }
        if waited.saturating_add(longest) > options.max_total_wait {
            for item in retry {
                let answer = answers.iter().find(|a| a.id.eq_ignore_ascii_case(&item.id));
                let err = match answer {
                    Some(a) => item_error(
                        tenant,
                        &item.request,
                        &to_response(tenant, &item.request, a),
                    ),
                    None => Error::protocol(
                        Some(tenant.clone()),
                        "$batch",
                        format!("the batch answer has no response for item {}", item.id),
                    ),
                };
                done.insert(item.id.clone(), Err(err));
            }
            return Ok(done);
        }
        // Items that depended on a throttled item are re-sent with it; the others stay done.
        tracing::debug!(tenant = %tenant, items = retry.len(), wait_ms = longest.as_millis() as u64, "re-sending throttled batch items");
        tokio::time::sleep(longest).await;
        waited = waited.saturating_add(longest);
        round += 1;
        let retry_ids: Vec<String> = retry.iter().map(|i| i.id.to_ascii_lowercase()).collect();
        pending = retry
            .into_iter()
            .map(|mut i| {
                i.depends_on
                    .retain(|d| retry_ids.contains(&d.to_ascii_lowercase()));
                i
            })
            .collect();
    }
}

fn item_error(tenant: &TenantId, request: &ApiRequest, response: &ApiResponse) -> Error {
    let mut e = ApiError::from_response(
        tenant.clone(),
        request.operation_name(),
        response.status,
        &response.headers,
        &response.body,
    );
    if response.status.as_u16() == 424 {
        e.kind = cipp_core::ApiErrorKind::FailedDependency;
        if e.message.is_empty() {
            e.message = "a request this one depended on failed".into();
        }
    }
    e.into()
}

async fn post_batch(
    pipeline: &Pipeline,
    tenant: &TenantId,
    version: &str,
    items: &[BatchItem],
) -> Result<Vec<ItemAnswer>, Error> {
    let mut requests = Vec::with_capacity(items.len());
    for it in items {
        let (_, url) = version_of(&it.request)?;
        let mut entry = json!({"id": it.id, "method": it.request.method().as_str(), "url": url});
        let mut headers = serde_json::Map::new();
        for (k, v) in it.request.headers() {
            if let Ok(v) = v.to_str() {
                headers.insert(k.as_str().to_owned(), Value::String(v.to_owned()));
            }
        }
        if !it.request.body_bytes().is_empty() {
            let body: Value = serde_json::from_slice(it.request.body_bytes()).map_err(|e| {
                Error::invalid_input(
                    "batch",
                    format!("item {} has a body that is not JSON: {e}", it.id),
                )
            })?;
            entry["body"] = body;
            headers
                .entry("content-type")
                .or_insert(Value::String("application/json".into()));
        }
        if !headers.is_empty() {
            entry["headers"] = Value::Object(headers);
        }
        if !it.depends_on.is_empty() {
            entry["dependsOn"] = json!(it.depends_on);
        }
        requests.push(entry);
    }
    // The envelope may be resent after an ambiguous failure only when every item may.
    let all_reads = items.iter().all(|i| i.request.is_idempotent());
    let request = ApiRequest::post(
        tenant.clone(),
        Audience::Graph,
        format!("/{version}/$batch"),
    )
    .operation("$batch")
    .json(&json!({ "requests": requests }))?
    .idempotent(all_reads);
    let envelope: BatchEnvelope = pipeline.send_json(request).await?;
    Ok(envelope.responses)
}

fn to_response(tenant: &TenantId, request: &ApiRequest, answer: &ItemAnswer) -> ApiResponse {
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

async fn follow_next_links(
    pipeline: &Pipeline,
    request: &ApiRequest,
    response: ApiResponse,
) -> Result<ApiResponse, Error> {
    let mut body: Value = match serde_json::from_slice(&response.body) {
        Ok(v) => v,
        Err(_) => return Ok(response),
    };
    let Some(next) = body
        .get("@odata.nextLink")
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        return Ok(response);
    };
    let pages: Vec<cipp_core::Page<Value>> =
        paging::resume_pages(pipeline.clone(), request.clone(), &next)
            .try_collect()
            .await?;
    if let Some(Value::Array(values)) = body.get_mut("value") {
        for p in pages {
            values.extend(p.items);
        }
    }
    if let Value::Object(m) = &mut body {
        m.remove("@odata.nextLink");
    }
    Ok(ApiResponse {
        body: Bytes::from(body.to_string()),
        ..response
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> TenantId {
        TenantId::parse("contoso.com").unwrap()
    }

    fn get(p: &str) -> ApiRequest {
        ApiRequest::get(t(), Audience::Graph, p)
    }

    #[test]
    fn chunks_of_twenty_keep_dependencies_together() {
        let mut b = Batch::new(t());
        for i in 0..19 {
            b.add(get(&format!("/v1.0/users/{i}"))).unwrap();
        }
        let a = b.add(get("/v1.0/users/a")).unwrap();
        b.add_after(get("/v1.0/users/b"), &[&a]).unwrap();
        let chunks = chunk(b.items).unwrap();
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks[0].len(), 19);
        assert_eq!(chunks[1].len(), 2, "the pair travels together");
    }

    #[test]
    fn foreign_items_refused() {
        let mut b = Batch::new(t());
        let other = TenantId::parse("fabrikam.com").unwrap();
        assert!(b
            .add(ApiRequest::get(other, Audience::Graph, "/v1.0/users"))
            .is_err());
        assert!(b
            .add(ApiRequest::get(
                t(),
                Audience::Exchange,
                "/adminapi/beta/x/InvokeCommand"
            ))
            .is_err());
        assert!(b.add(get("/users")).is_err());
        assert!(b.add_after(get("/v1.0/users"), &["9"]).is_err());
    }
}
