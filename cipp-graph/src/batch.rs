//! JSON batching (`$batch`): many request values in few round trips.
//!
//! Requests are grouped by API version and sent 20 per batch through core's one `$batch`
//! engine ([`cipp_core::batch`]); an item that depends on another (`dependsOn`) travels in
//! the same batch. Every item gets its own result. Items the service did not act on are
//! re-sent alone after the largest `Retry-After` among them, within a retry budget (a write
//! answered 5xx is not resent: its outcome is unknown); an item whose dependency failed (424) gets
//! [`ApiErrorKind::FailedDependency`](cipp_core::ApiErrorKind::FailedDependency). List
//! responses inside a batch can have their next links followed.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use bytes::Bytes;
use cipp_core::batch::BatchFormat;
use cipp_core::{paging, ApiRequest, ApiResponse, Audience, Error, Pipeline, TenantId};
use futures::TryStreamExt;
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

pub use cipp_core::batch::BatchItem;

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

/// Graph's `$batch` envelope: 20 requests with relative URLs, `dependsOn`, headers and
/// JSON bodies, for one API version.
struct GraphFormat {
    version: &'static str,
}

impl BatchFormat for GraphFormat {
    fn max_items(&self) -> usize {
        MAX_BATCH
    }

    fn envelope(&self, tenant: &TenantId, items: &[BatchItem]) -> Result<ApiRequest, Error> {
        let mut requests = Vec::with_capacity(items.len());
        for it in items {
            let (_, url) = version_of(&it.request)?;
            let mut entry =
                json!({"id": it.id, "method": it.request.method().as_str(), "url": url});
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
        let all_idempotent = items.iter().all(|i| i.request.is_idempotent());
        Ok(ApiRequest::post(
            tenant.clone(),
            Audience::Graph,
            format!("/{}/$batch", self.version),
        )
        .operation("$batch")
        .json(&json!({ "requests": requests }))?
        .idempotent(all_idempotent))
    }
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
    let core_options = cipp_core::batch::BatchOptions {
        max_retry_rounds: options.max_retry_rounds,
        max_total_wait: Some(options.max_total_wait),
        concurrency: options.concurrency,
    };
    let mut out = ItemResults::new();
    for (version, items) in by_version {
        let requests: HashMap<String, ApiRequest> = if options.follow_next_links {
            items
                .iter()
                .map(|i| (i.id.clone(), i.request.clone()))
                .collect()
        } else {
            HashMap::new()
        };
        let results = cipp_core::batch::send(
            pipeline,
            tenant,
            items,
            &GraphFormat { version },
            &core_options,
        )
        .await?;
        for (id, r) in results {
            let r = match (r, requests.get(&id)) {
                (Ok(response), Some(request)) => {
                    follow_next_links(pipeline, request, response).await
                }
                (other, _) => other,
            };
            out.insert(id, r);
        }
    }
    Ok(out)
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
