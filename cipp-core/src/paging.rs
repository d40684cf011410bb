//! OData collections as streams of pages and of items.
//!
//! Every page goes through the full [`Pipeline`] (token refresh, retry, throttling) with
//! the first request's headers (`ConsistencyLevel`, `Prefer`) and method and body (the
//! Exchange admin API re-POSTs its body to the next link). A next link on another host is
//! refused, a repeated next link ends the stream with an error, and the next page is
//! requested while the current one is decoded. A saved next link resumes a listing.

use std::collections::HashSet;

use futures::stream::{self, Stream, TryStreamExt};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::task::JoinHandle;

use crate::error::{DecodeError, Error};
use crate::pipeline::Pipeline;
use crate::request::{ApiRequest, ApiResponse};

/// One page of an OData collection.
#[derive(Clone, Debug)]
pub struct Page<T> {
    /// The items of this page (possibly none: Graph can send empty pages).
    pub items: Vec<T>,
    /// `@odata.nextLink`: save it to resume the listing later with [`resume_pages`].
    pub next_link: Option<String>,
    /// `@odata.count` (Graph sends it on the first page only).
    pub count: Option<u64>,
    /// `@odata.deltaLink` on the last page of a delta query.
    pub delta_link: Option<String>,
    /// `@adminapi.warnings` (Exchange admin API), when present.
    pub warnings: Vec<String>,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "@odata.nextLink", default)]
    next_link: Option<String>,
    #[serde(rename = "@odata.count", default)]
    count: Option<u64>,
    #[serde(rename = "@odata.deltaLink", default)]
    delta_link: Option<String>,
    #[serde(rename = "@adminapi.warnings", default)]
    warnings: Option<Vec<String>>,
    #[serde(borrow, default)]
    value: Option<&'a RawValue>,
}

struct AbortOnDrop(JoinHandle<Result<ApiResponse, Error>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

enum Next {
    Fetch(AbortOnDrop),
    Fail(Error),
    Done,
}

struct State {
    pipeline: Pipeline,
    template: ApiRequest,
    next: Next,
    seen: HashSet<String>,
}

fn spawn_fetch(pipeline: &Pipeline, request: ApiRequest) -> Next {
    let p = pipeline.clone();
    Next::Fetch(AbortOnDrop(tokio::spawn(
        async move { p.send(request).await },
    )))
}

/// Streams the pages of the collection that `first` lists.
///
/// The stream owns a pipeline handle, so it is `'static + Send` and can be spawned.
/// It must be polled inside a Tokio runtime (the next page is fetched on a task).
pub fn pages<T>(
    pipeline: Pipeline,
    first: ApiRequest,
) -> impl Stream<Item = Result<Page<T>, Error>> + Send + 'static
where
    T: DeserializeOwned + Send + 'static,
{
    let mut seen = HashSet::new();
    seen.insert(first.target().to_owned());
    let next = spawn_fetch(&pipeline, first.clone());
    let state = State {
        pipeline,
        template: first,
        next,
        seen,
    };
    stream::unfold(state, |mut state| async move {
        let fetch = match std::mem::replace(&mut state.next, Next::Done) {
            Next::Done => return None,
            Next::Fail(e) => return Some((Err(e), state)),
            Next::Fetch(f) => f,
        };
        let response = match fetch.await {
            Ok(r) => r,
            Err(e) => return Some((Err(e), state)),
        };
        let page = decode_page::<T>(&mut state, &response);
        Some((page, state))
    })
}

impl std::future::Future for AbortOnDrop {
    type Output = Result<ApiResponse, Error>;
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0).poll(cx).map(|r| match r {
            Ok(r) => r,
            Err(e) => Err(Error::Config(format!("the page fetch task failed: {e}"))),
        })
    }
}

fn decode_page<T: DeserializeOwned>(
    state: &mut State,
    response: &ApiResponse,
) -> Result<Page<T>, Error> {
    let tenant = state.template.tenant().clone();
    let operation = state.template.operation_name();
    let env: Envelope<'_> =
        DecodeError::decode_borrowed(Some(&tenant), &operation, &response.body)?;
    // Start the next request before decoding the items.
    if let Some(link) = &env.next_link {
        if !state.seen.insert(link.clone()) {
            state.next = Next::Fail(Error::Paging {
                tenant: tenant.clone(),
                message:
                    "the service returned the same next link twice; stopping instead of looping"
                        .into(),
            });
        } else {
            let request = state.template.clone().with_target(link.clone());
            state.next = match state.pipeline.resolve_url(&request) {
                Ok(_) => spawn_fetch(&state.pipeline, request),
                Err(e) => Next::Fail(e),
            };
        }
    }
    let items: Vec<T> = match env.value {
        Some(raw) => DecodeError::decode(Some(&tenant), &operation, raw.get().as_bytes()).map_err(
            |mut e| {
                e.path = if e.path.starts_with('[') {
                    format!("value{}", e.path)
                } else {
                    format!("value.{}", e.path)
                };
                e
            },
        )?,
        None => Vec::new(),
    };
    Ok(Page {
        items,
        next_link: env.next_link,
        count: env.count,
        delta_link: env.delta_link,
        warnings: env.warnings.unwrap_or_default(),
    })
}

/// Streams the items of the collection that `first` lists, page after page.
pub fn items<T>(
    pipeline: Pipeline,
    first: ApiRequest,
) -> impl Stream<Item = Result<T, Error>> + Send + 'static
where
    T: DeserializeOwned + Send + 'static,
{
    pages::<T>(pipeline, first)
        .map_ok(|page| stream::iter(page.items.into_iter().map(Ok)))
        .try_flatten()
}

/// Resumes a listing from a saved next link. `template` gives the method, headers and
/// body of the original request; its target is replaced by `next_link`.
pub fn resume_pages<T>(
    pipeline: Pipeline,
    template: ApiRequest,
    next_link: &str,
) -> impl Stream<Item = Result<Page<T>, Error>> + Send + 'static
where
    T: DeserializeOwned + Send + 'static,
{
    pages(pipeline, template.with_target(next_link))
}
