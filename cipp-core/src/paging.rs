//! OData collections as streams of pages and of items.
//!
//! Every page goes through the full [`Pipeline`] (token refresh, retry, throttling) with
//! the first request's headers (`ConsistencyLevel`, `Prefer`) and method and body (the
//! Exchange admin API re-POSTs its body to the next link). A next link on another host is
//! refused, a repeated next link ends the stream with an error, and the next page is
//! requested while the current one is decoded. A saved next link resumes a listing.

use std::collections::HashSet;

use futures::stream::{self, Stream, TryStreamExt};
use std::marker::PhantomData;

use serde::de::{DeserializeOwned, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
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

/// Decodes a page in one pass, calling `on_next` as soon as `@odata.nextLink` is read.
/// Graph sends the next link before `value`, so the next request starts before the items
/// are decoded.
struct PageSeed<'f, T> {
    on_next: &'f mut dyn FnMut(&str),
    _items: PhantomData<T>,
}

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for PageSeed<'_, T> {
    type Value = Page<T>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Page<T>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for PageSeed<'_, T> {
    type Value = Page<T>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an OData collection object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Page<T>, A::Error> {
        let mut page = Page {
            items: Vec::new(),
            next_link: None,
            count: None,
            delta_link: None,
            warnings: Vec::new(),
        };
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "@odata.nextLink" => {
                    page.next_link = map.next_value()?;
                    if let Some(link) = &page.next_link {
                        (self.on_next)(link);
                    }
                }
                "@odata.count" => page.count = map.next_value()?,
                "@odata.deltaLink" => page.delta_link = map.next_value()?,
                "@adminapi.warnings" => {
                    page.warnings = map.next_value::<Option<Vec<String>>>()?.unwrap_or_default()
                }
                "value" => page.items = map.next_value::<Option<Vec<T>>>()?.unwrap_or_default(),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(page)
    }
}

/// Used only to name the JSON path when a page fails to decode.
#[derive(Deserialize)]
#[allow(dead_code)]
struct PathProbe<T> {
    value: Option<Vec<T>>,
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
            Err(e) => Err(Error::protocol(
                None,
                "fetch next page",
                format!("the page fetch task failed: {e}"),
            )),
        })
    }
}

fn decode_page<T: DeserializeOwned>(
    state: &mut State,
    response: &ApiResponse,
) -> Result<Page<T>, Error> {
    let State {
        pipeline,
        template,
        next,
        seen,
    } = state;
    let mut on_next = |link: &str| {
        *next = if !seen.insert(link.to_owned()) {
            Next::Fail(Error::Paging {
                tenant: template.tenant().clone(),
                message:
                    "the service returned the same next link twice; stopping instead of looping"
                        .into(),
            })
        } else {
            let request = template.clone().with_target(link);
            match pipeline.resolve_url(&request) {
                Ok(_) => spawn_fetch(pipeline, request),
                Err(e) => Next::Fail(e),
            }
        };
    };
    let seed = PageSeed::<T> {
        on_next: &mut on_next,
        _items: PhantomData,
    };
    let mut de = serde_json::Deserializer::from_slice(&response.body);
    let decoded = seed
        .deserialize(&mut de)
        .and_then(|page| de.end().map(|()| page));
    match decoded {
        Ok(page) => Ok(page),
        Err(_) => {
            // Stop here: the caller must not silently skip a page it could not read.
            *next = Next::Done;
            let operation = template.operation_name();
            let tenant = template.tenant();
            Err(
                match DecodeError::decode::<PathProbe<T>>(Some(tenant), &operation, &response.body)
                {
                    Err(e) => e.into(),
                    Ok(_) => DecodeError {
                        tenant: Some(tenant.clone()),
                        operation,
                        path: ".".into(),
                        message: "the page is not a JSON object with a `value` array".into(),
                    }
                    .into(),
                },
            )
        }
    }
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
