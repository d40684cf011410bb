//! A tenant's independent listings read together: the first page of each goes out in one
//! Graph JSON `$batch` per API version (at most 20 requests per envelope), and a listing
//! whose first page carries `@odata.nextLink` is completed with ordinary paged requests.
//!
//! Each item is treated as its own request would be ([`cipp_core::batch`]): an item Graph
//! did not act on (429, with its `Retry-After`, or 503/504) is re-sent after the longest
//! wait among them, within the pipeline's retry budget and a bounded number of rounds; any
//! other failure (403, 404, …) is that listing's error, naming the tenant, the status, the
//! service's code and the request id.
//!
//! Graph serves one Conditional Access request per second per tenant. At most one
//! Conditional Access listing travels in a batch, and that envelope declares the
//! Conditional Access workload, so the pipeline spaces it like the request it carries; any
//! further Conditional Access listing goes as an ordinary request, which the pipeline
//! spaces too. A version with a single listing sends it as an ordinary request (a batch of
//! one costs the same round trip and says less).

use std::marker::PhantomData;

use cipp_core::batch::{BatchFormat, BatchItem, BatchOptions};
use cipp_core::error::DecodeError;
use cipp_core::{paging, ApiRequest, Audience, Error, Page, Pipeline, TenantId, Workload};
use cipp_graph::{List, TenantGraph};
use futures::TryStreamExt;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

/// A listing added to [`Reads`]: [`Answers::take`] gives its items.
pub(super) struct Slot<T> {
    index: usize,
    _item: PhantomData<fn() -> T>,
}

/// Listings of one tenant to read together.
pub(super) struct Reads {
    tenant: TenantId,
    pipeline: Pipeline,
    requests: Vec<Result<ApiRequest, Error>>,
}

/// Every listing's items (all pages), or its error.
pub(super) struct Answers {
    tenant: TenantId,
    results: Vec<Option<Listed>>,
}

/// One listing's operation name (for decoding errors) and items.
type Listed = (String, Result<Vec<Value>, Error>);

impl Reads {
    /// No listings yet, for the tenant of `graph`.
    pub(super) fn new(graph: &TenantGraph) -> Reads {
        Reads {
            tenant: graph.id().clone(),
            pipeline: graph.pipeline().clone(),
            requests: Vec::new(),
        }
    }

    /// Adds `list` (its first page's request; invalid arguments are its error).
    pub(super) fn add<T: DeserializeOwned + Send + 'static>(&mut self, list: List<T>) -> Slot<T> {
        self.requests.push(list.request());
        Slot {
            index: self.requests.len() - 1,
            _item: PhantomData,
        }
    }

    /// Adds the listing `list` makes when `wanted` (`None`: not read, no items).
    pub(super) fn add_if<T: DeserializeOwned + Send + 'static>(
        &mut self,
        wanted: bool,
        list: impl FnOnce() -> List<T>,
    ) -> Option<Slot<T>> {
        wanted.then(|| self.add(list()))
    }

    /// Reads every listing: the first pages in `$batch` (see the module docs), then the
    /// further pages of each listing that has more.
    pub(super) async fn send(self) -> Answers {
        let Reads {
            tenant,
            pipeline,
            requests,
        } = self;
        let mut results: Vec<Option<Listed>> = Vec::with_capacity(requests.len());
        let mut batched: Vec<(&'static str, usize, ApiRequest)> = Vec::new();
        let mut plain: Vec<(usize, ApiRequest)> = Vec::new();
        let mut ca_batched = false;
        for (index, r) in requests.into_iter().enumerate() {
            match r {
                Err(e) => results.push(Some((String::new(), Err(e)))),
                Ok(request) => {
                    results.push(None);
                    let ca = is_conditional_access(&request);
                    match version_of(&request) {
                        Some(v) if !(ca && ca_batched) => {
                            ca_batched |= ca;
                            batched.push((v, index, request));
                        }
                        _ => plain.push((index, request)),
                    }
                }
            }
        }
        // A version with one listing: an ordinary request.
        let mut groups: Vec<(&'static str, Vec<(usize, ApiRequest)>)> = Vec::new();
        for (v, index, request) in batched {
            match groups.iter_mut().find(|(g, _)| *g == v) {
                Some((_, items)) => items.push((index, request)),
                None => groups.push((v, vec![(index, request)])),
            }
        }
        let mut batches = Vec::new();
        for (version, items) in groups {
            if items.len() == 1 {
                plain.extend(items);
            } else {
                batches.push((version, items));
            }
        }

        let batch_reads = futures::future::join_all(
            batches
                .into_iter()
                .map(|(version, items)| read_batch(&pipeline, &tenant, version, items)),
        );
        let plain_reads = futures::future::join_all(plain.into_iter().map(|(index, request)| {
            let pipeline = pipeline.clone();
            async move {
                let operation = request.operation_name();
                let items = read_pages(pipeline, request).await;
                (index, (operation, items))
            }
        }));
        let (batch_answers, plain_answers) = futures::join!(batch_reads, plain_reads);
        for (index, listed) in batch_answers.into_iter().flatten().chain(plain_answers) {
            if let Some(slot) = results.get_mut(index) {
                *slot = Some(listed);
            }
        }
        Answers { tenant, results }
    }
}

impl Answers {
    /// The items of the listing at `slot` (`None`: not read, so none), or its error.
    pub(super) fn take<T: DeserializeOwned>(
        &mut self,
        slot: Option<Slot<T>>,
    ) -> Result<Vec<T>, Error> {
        let Some(slot) = slot else {
            return Ok(Vec::new());
        };
        let Some((operation, items)) = self.results.get_mut(slot.index).and_then(Option::take)
        else {
            return Err(Error::protocol(
                Some(self.tenant.clone()),
                "read the tenant's state",
                "a listing was read twice or never sent",
            ));
        };
        let items = items?;
        #[derive(Deserialize)]
        struct Values<T> {
            value: Vec<T>,
        }
        // Decoded as a page, so a misfit names its place (`value[3].displayName`).
        let body = serde_json::to_vec(&json!({ "value": items })).map_err(|e| {
            Error::protocol(Some(self.tenant.clone()), operation.as_str(), e.to_string())
        })?;
        let page: Values<T> =
            DecodeError::decode(Some(&self.tenant), &operation, &body).map_err(Error::from)?;
        Ok(page.value)
    }
}

/// Whether `request` is paced as Conditional Access.
fn is_conditional_access(request: &ApiRequest) -> bool {
    Workload::of(request).0 == Workload::GraphConditionalAccess
}

/// The API version of a relative `/v1.0/…` or `/beta/…` request (`None`: not batchable).
fn version_of(request: &ApiRequest) -> Option<&'static str> {
    let target = request.target();
    [("v1.0", "/v1.0/"), ("beta", "/beta/")]
        .into_iter()
        .find(|(_, prefix)| target.starts_with(prefix))
        .map(|(v, _)| v)
}

/// Every item of the listing `first` starts, page after page.
async fn read_pages(pipeline: Pipeline, first: ApiRequest) -> Result<Vec<Value>, Error> {
    let pages: Vec<Page<Value>> = paging::pages(pipeline, first).try_collect().await?;
    Ok(pages.into_iter().flat_map(|p| p.items).collect())
}

/// The first page of each listing of `items` through `$batch`, then each one's next pages.
async fn read_batch(
    pipeline: &Pipeline,
    tenant: &TenantId,
    version: &'static str,
    items: Vec<(usize, ApiRequest)>,
) -> Vec<(usize, Listed)> {
    let batch: Vec<BatchItem> = items
        .iter()
        .map(|(index, request)| BatchItem {
            id: (index + 1).to_string(),
            request: request.clone(),
            depends_on: Vec::new(),
        })
        .collect();
    let answers = cipp_core::batch::send(
        pipeline,
        tenant,
        batch,
        &ReadFormat { version },
        &BatchOptions::default(),
    )
    .await;
    let mut answers = match answers {
        Ok(a) => a,
        Err(e) => {
            return items
                .into_iter()
                .map(|(index, request)| (index, (request.operation_name(), Err(e.clone()))))
                .collect();
        }
    };
    let reads = items.into_iter().map(|(index, request)| {
        let answer = answers.remove(&(index + 1).to_string());
        async move {
            let operation = request.operation_name();
            let items = match answer {
                Some(Ok(response)) => rest_of(pipeline, tenant, request, &response.body).await,
                Some(Err(e)) => Err(e),
                None => Err(Error::protocol(
                    Some(tenant.clone()),
                    "$batch",
                    format!("the batch answer has no response for {operation}"),
                )),
            };
            (index, (operation, items))
        }
    });
    futures::future::join_all(reads).await
}

/// A first page answered inside a batch, completed with the pages its next link leads to.
async fn rest_of(
    pipeline: &Pipeline,
    tenant: &TenantId,
    request: ApiRequest,
    body: &[u8],
) -> Result<Vec<Value>, Error> {
    #[derive(Deserialize)]
    struct First {
        #[serde(default)]
        value: Option<Vec<Value>>,
        #[serde(default, rename = "@odata.nextLink")]
        next_link: Option<String>,
    }
    let first: First =
        DecodeError::decode(Some(tenant), &request.operation_name(), body).map_err(Error::from)?;
    let mut items = first.value.unwrap_or_default();
    if let Some(next) = first.next_link {
        let pages: Vec<Page<Value>> = paging::resume_pages(pipeline.clone(), request, &next)
            .try_collect()
            .await?;
        items.extend(pages.into_iter().flat_map(|p| p.items));
    }
    Ok(items)
}

/// Graph's `$batch` envelope for reads of one API version: `{"requests": [{id, method,
/// url, headers?}]}` with URLs relative to the version; an envelope carrying a
/// Conditional Access read is paced as Conditional Access.
struct ReadFormat {
    version: &'static str,
}

impl BatchFormat for ReadFormat {
    fn max_items(&self) -> usize {
        cipp_graph::batch::MAX_BATCH
    }

    fn envelope(&self, tenant: &TenantId, items: &[BatchItem]) -> Result<ApiRequest, Error> {
        let prefix = format!("/{}", self.version);
        let mut requests = Vec::with_capacity(items.len());
        let mut ca = false;
        for it in items {
            let url = it
                .request
                .target()
                .strip_prefix(&prefix)
                .filter(|u| u.starts_with('/'))
                .ok_or_else(|| {
                    Error::invalid_input(
                        "batch",
                        format!("`{}` is not a {} path", it.request.path(), self.version),
                    )
                })?;
            let mut entry =
                json!({"id": it.id, "method": it.request.method().as_str(), "url": url});
            let headers: serde_json::Map<String, Value> = it
                .request
                .headers()
                .iter()
                .filter_map(|(k, v)| Some((k.as_str().to_owned(), json!(v.to_str().ok()?))))
                .collect();
            if !headers.is_empty() {
                entry["headers"] = Value::Object(headers);
            }
            ca |= is_conditional_access(&it.request);
            requests.push(entry);
        }
        let envelope =
            ApiRequest::post(tenant.clone(), Audience::Graph, format!("{prefix}/$batch"))
                .operation("$batch")
                .json(&json!({ "requests": requests }))?
                .idempotent(items.iter().all(|i| i.request.is_idempotent()));
        Ok(if ca {
            envelope.workload(Workload::GraphConditionalAccess, None)
        } else {
            envelope
        })
    }
}
