//! OData collections as streams of pages and of items.
//!
//! Every page goes through the full [`Pipeline`] (token refresh, retry, throttling) with
//! the first request's headers (`ConsistencyLevel`, `Prefer`) and method and body (the
//! Exchange admin API re-POSTs its body to the next link). A next link on another host is
//! refused, a repeated next link ends the stream with an error, and the next page is
//! requested while the current one is decoded. A saved next link resumes a listing.

use std::collections::HashSet;

use futures::stream::{self, Stream, StreamExt, TryStreamExt};
use std::marker::PhantomData;

use serde::de::{DeserializeOwned, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::error::{DecodeError, Error};
use crate::pipeline::Pipeline;
use crate::request::ApiRequest;

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

/// A page task: aborted when the stream (or the page before it) is dropped.
struct AbortOnDrop<T>(JoinHandle<Fetched<T>>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<T> std::future::Future for AbortOnDrop<T> {
    type Output = Fetched<T>;
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0).poll(cx).map(|r| match r {
            Ok(fetched) => fetched,
            Err(e) => Fetched {
                page: Err(Error::protocol(
                    None,
                    "fetch next page",
                    format!("the page fetch task failed: {e}"),
                )),
                next: Next::Done,
            },
        })
    }
}

enum Next<T> {
    Fetch(AbortOnDrop<T>),
    Fail(Error),
    Done,
}

/// A page, decoded on the task that received it, and what comes after it.
struct Fetched<T> {
    page: Result<Page<T>, Error>,
    next: Next<T>,
}

/// What a page task needs to start the next one.
struct Chain {
    pipeline: Pipeline,
    template: ApiRequest,
    seen: HashSet<String>,
    /// Pages handed to the caller so far.
    delivered: watch::Receiver<usize>,
    /// This page's position in the listing (0 for the first).
    index: usize,
}

impl Chain {
    /// Starts the page at `link` after this one, unless it was seen before or points
    /// elsewhere than the audience's host.
    fn follow<T: DeserializeOwned + Send + 'static>(mut self, link: &str) -> Next<T> {
        if !self.seen.insert(link.to_owned()) {
            return Next::Fail(Error::Paging {
                tenant: self.template.tenant().clone(),
                message:
                    "the service returned the same next link twice; stopping instead of looping"
                        .into(),
            });
        }
        let request = self.template.clone().with_target(link);
        if let Err(e) = self.pipeline.resolve_url(&request) {
            return Next::Fail(e);
        }
        self.index += 1;
        spawn_page(self, request)
    }
}

fn spawn_page<T: DeserializeOwned + Send + 'static>(chain: Chain, request: ApiRequest) -> Next<T> {
    Next::Fetch(AbortOnDrop(tokio::spawn(fetch_page(chain, request))))
}

/// Fetches one page: requests it once the caller is at most one page behind, reads the
/// body as it arrives, starts the next page as soon as its link has arrived (Graph sends
/// `@odata.nextLink` before `value`), then decodes the page here.
async fn fetch_page<T: DeserializeOwned + Send + 'static>(
    mut chain: Chain,
    request: ApiRequest,
) -> Fetched<T> {
    let fail = |e| Fetched {
        page: Err(e),
        next: Next::Done,
    };
    let index = chain.index;
    if chain
        .delivered
        .wait_for(|delivered| delivered + 1 >= index)
        .await
        .is_err()
    {
        // The stream is gone: nobody will read this page.
        return fail(Error::protocol(
            Some(request.tenant().clone()),
            "fetch next page",
            "the listing was dropped",
        ));
    }
    let pipeline = chain.pipeline.clone();
    let streamed = match pipeline.send_streamed(request.clone()).await {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let mut chunks = streamed.chunks;
    let mut body = Vec::with_capacity(
        content_length(&streamed.head.headers)
            .unwrap_or(0)
            .min(MAX_PREALLOCATION),
    );
    let mut chain = Some(chain);
    let mut next: Option<(String, Next<T>)> = None;
    let mut scanning = true;
    let mut broken = None;
    while let Some(chunk) = chunks.next().await {
        match chunk {
            Ok(chunk) => body.extend_from_slice(&chunk),
            Err(e) => {
                broken = Some(e);
                break;
            }
        }
        if scanning {
            match scan_next_link(&body) {
                Scan::More => {}
                Scan::Absent => scanning = false,
                Scan::Found(link) => {
                    scanning = false;
                    if let Some(chain) = chain.take() {
                        let follow = chain.follow(&link);
                        next = Some((link, follow));
                    }
                }
            }
        }
    }
    if let Some(e) = broken {
        // The connection failed mid-page: read the page again, whole, with the pipeline's
        // retries (a listing is a read).
        tracing::debug!(error = %e, "page body interrupted, reading it again");
        match pipeline.send(request.clone()).await {
            Ok(r) => body = r.body.to_vec(),
            Err(e) => return fail(e),
        }
    }
    decode_page::<T>(chain, next, &request, &body)
}

fn decode_page<T: DeserializeOwned + Send + 'static>(
    mut chain: Option<Chain>,
    mut next: Option<(String, Next<T>)>,
    request: &ApiRequest,
    body: &[u8],
) -> Fetched<T> {
    let mut mismatch = false;
    let mut on_next = |link: &str| match (&next, chain.take()) {
        (Some((early, _)), _) => mismatch |= early != link,
        (None, Some(c)) => next = Some((link.to_owned(), c.follow(link))),
        (None, None) => mismatch = true,
    };
    let seed = PageSeed::<T> {
        on_next: &mut on_next,
        _items: PhantomData,
    };
    let mut de = serde_json::Deserializer::from_slice(body);
    let decoded = seed
        .deserialize(&mut de)
        .and_then(|page| de.end().map(|()| page));
    match decoded {
        Ok(_) if mismatch => Fetched {
            page: Err(Error::protocol(
                Some(request.tenant().clone()),
                request.operation_name(),
                "the page named two different next links",
            )),
            next: Next::Done,
        },
        Ok(page) => Fetched {
            page: Ok(page),
            next: next.map_or(Next::Done, |(_, n)| n),
        },
        // Stop here (dropping a started next page): the caller must not silently skip a
        // page it could not read.
        Err(_) => {
            let operation = request.operation_name();
            let tenant = request.tenant();
            let error = match DecodeError::decode::<PathProbe<T>>(Some(tenant), &operation, body) {
                Err(e) => e.into(),
                Ok(_) => DecodeError {
                    tenant: Some(tenant.clone()),
                    operation,
                    path: ".".into(),
                    message: "the page is not a JSON object with a `value` array".into(),
                }
                .into(),
            };
            Fetched {
                page: Err(error),
                next: Next::Done,
            }
        }
    }
}

/// What [`scan_next_link`] found in the start of a page.
#[derive(Debug, PartialEq, Eq)]
enum Scan {
    /// `@odata.nextLink`, read before `value`.
    Found(String),
    /// No next link before `value` (or before the end of the object, or the start is not
    /// an OData object): the decoder has the last word.
    Absent,
    /// The start read so far is incomplete.
    More,
}

/// The most of a page's start read looking for the next link.
const SCAN_LIMIT: usize = 1 << 20;

/// Looks for a top-level `@odata.nextLink` ahead of `value` in the start of a page.
fn scan_next_link(buf: &[u8]) -> Scan {
    let scan = scan_prefix(buf);
    if scan == Scan::More && buf.len() > SCAN_LIMIT {
        return Scan::Absent;
    }
    scan
}

fn scan_prefix(buf: &[u8]) -> Scan {
    let mut at = skip_ws(buf, 0);
    match buf.get(at) {
        None => return Scan::More,
        Some(b'{') => at += 1,
        Some(_) => return Scan::Absent,
    }
    loop {
        at = skip_ws(buf, at);
        match buf.get(at) {
            None => return Scan::More,
            Some(b'"') => {}
            Some(_) => return Scan::Absent,
        }
        let Some(key_end) = string_end(buf, at) else {
            return Scan::More;
        };
        let key = &buf[at..key_end];
        at = skip_ws(buf, key_end);
        match buf.get(at) {
            None => return Scan::More,
            Some(b':') => at = skip_ws(buf, at + 1),
            Some(_) => return Scan::Absent,
        }
        if buf.get(at).is_none() {
            return Scan::More;
        }
        let key: std::borrow::Cow<'_, str> = match serde_json::from_slice(key) {
            Ok(k) => k,
            Err(_) => return Scan::Absent,
        };
        match key.as_ref() {
            "value" => return Scan::Absent,
            "@odata.nextLink" => {
                if buf[at] != b'"' {
                    return Scan::Absent;
                }
                return match string_end(buf, at) {
                    None => Scan::More,
                    Some(end) => match serde_json::from_slice::<String>(&buf[at..end]) {
                        Ok(link) => Scan::Found(link),
                        Err(_) => Scan::Absent,
                    },
                };
            }
            _ => match value_end(buf, at) {
                Step::At(end) => at = end,
                Step::More => return Scan::More,
                Step::Bad => return Scan::Absent,
            },
        }
        at = skip_ws(buf, at);
        match buf.get(at) {
            None => return Scan::More,
            Some(b',') => at += 1,
            Some(_) => return Scan::Absent,
        }
    }
}

enum Step {
    At(usize),
    More,
    Bad,
}

fn skip_ws(buf: &[u8], mut at: usize) -> usize {
    while matches!(buf.get(at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        at += 1;
    }
    at
}

/// The index after the closing quote of the string starting at `at` (a `"`).
fn string_end(buf: &[u8], at: usize) -> Option<usize> {
    let mut i = at + 1;
    while i < buf.len() {
        match buf[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// The index after the JSON value starting at `at`.
fn value_end(buf: &[u8], at: usize) -> Step {
    match buf[at] {
        b'"' => string_end(buf, at).map_or(Step::More, Step::At),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = at;
            while i < buf.len() {
                match buf[i] {
                    b'"' => match string_end(buf, i) {
                        Some(end) => {
                            i = end;
                            continue;
                        }
                        None => return Step::More,
                    },
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Step::At(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            Step::More
        }
        b'-' | b'0'..=b'9' | b't' | b'f' | b'n' => {
            let mut i = at;
            while i < buf.len() {
                if matches!(buf[i], b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                    return Step::At(i);
                }
                i += 1;
            }
            Step::More
        }
        _ => Step::Bad,
    }
}

/// The most bytes reserved up front from a `Content-Length`.
const MAX_PREALLOCATION: usize = 16 << 20;

fn content_length(headers: &http::HeaderMap) -> Option<usize> {
    headers
        .get(http::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// Streams the pages of the collection that `first` lists.
///
/// Each page is fetched and decoded on a task of its own; the next page is requested as
/// soon as its link has arrived, while the current page is still arriving, and never more
/// than one page ahead of the caller, so memory stays flat when the caller streams.
/// The stream owns a pipeline handle, so it is `'static + Send` and can be spawned.
/// It must be polled inside a Tokio runtime.
pub fn pages<T>(
    pipeline: Pipeline,
    first: ApiRequest,
) -> impl Stream<Item = Result<Page<T>, Error>> + Send + 'static
where
    T: DeserializeOwned + Send + 'static,
{
    let mut seen = HashSet::new();
    seen.insert(first.target().to_owned());
    let (delivered, watcher) = watch::channel(0usize);
    let chain = Chain {
        pipeline,
        template: first.clone(),
        seen,
        delivered: watcher,
        index: 0,
    };
    let next = spawn_page::<T>(chain, first);
    stream::unfold((next, delivered), |(next, delivered)| async move {
        let fetch = match next {
            Next::Done => return None,
            Next::Fail(e) => return Some((Err(e), (Next::Done, delivered))),
            Next::Fetch(f) => f,
        };
        let Fetched { page, next } = fetch.await;
        if page.is_ok() {
            delivered.send_modify(|n| *n += 1);
        }
        Some((page, (next, delivered)))
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

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use async_trait::async_trait;
    use bytes::Bytes;
    use futures::StreamExt;
    use tokio::sync::Notify;

    use super::*;
    use crate::error::{RequestSent, TransportError, TransportErrorKind};
    use crate::test_util::FakeTokenProvider;
    use crate::transport::{BodyChunks, HttpRequest, HttpResponse, StreamedResponse, Transport};
    use crate::{Audience, Credentials, Endpoints, TenantId};

    const BASE: &str = "https://graph.test";

    /// One piece of a scripted body: an optional gate to wait for, then text or a break.
    type Piece = (Option<Arc<Notify>>, Result<&'static str, ()>);

    /// What a scripted page sends: body pieces, each after an optional gate.
    struct Script {
        pieces: Vec<Piece>,
    }

    /// A transport that answers each path from a script and records the paths asked for;
    /// `send` (buffered) answers with the script's pieces joined.
    #[derive(Default)]
    struct Scripted {
        scripts: Mutex<std::collections::HashMap<String, VecDeque<Script>>>,
        asked: Mutex<Vec<String>>,
        asked_signal: Arc<Notify>,
    }

    impl Scripted {
        fn on(&self, path: &str, script: Script) {
            self.scripts
                .lock()
                .unwrap()
                .entry(path.to_owned())
                .or_default()
                .push_back(script);
        }
        fn asked(&self) -> Vec<String> {
            self.asked.lock().unwrap().clone()
        }
        fn take(&self, request: &HttpRequest) -> Script {
            let path = request.uri().path_and_query().unwrap().to_string();
            self.asked.lock().unwrap().push(path.clone());
            self.asked_signal.notify_waiters();
            self.scripts
                .lock()
                .unwrap()
                .get_mut(&path)
                .and_then(VecDeque::pop_front)
                .unwrap_or_else(|| panic!("no script for {path}"))
        }
    }

    fn broken() -> TransportError {
        TransportError::new(
            TransportErrorKind::Io,
            RequestSent::Maybe,
            "connection reset",
        )
    }

    #[async_trait]
    impl Transport for Scripted {
        async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
            let script = self.take(&request);
            let mut body = String::new();
            for (_, piece) in script.pieces {
                body.push_str(piece.map_err(|()| broken())?);
            }
            Ok(http::Response::new(Bytes::from(body)))
        }

        async fn send_streamed(
            &self,
            request: HttpRequest,
        ) -> Result<StreamedResponse, TransportError> {
            let script = self.take(&request);
            let chunks = stream::iter(script.pieces).then(|(gate, piece)| async move {
                if let Some(gate) = gate {
                    gate.notified().await;
                }
                piece
                    .map(|p| Bytes::from_static(p.as_bytes()))
                    .map_err(|()| broken())
            });
            let body: BodyChunks = Box::pin(chunks);
            Ok(http::Response::new(body))
        }
    }

    fn pipeline(transport: Arc<Scripted>) -> Pipeline {
        Pipeline::builder()
            .transport(transport)
            .endpoints(Endpoints::single_base(BASE))
            .credentials(Credentials::Provider(Arc::new(FakeTokenProvider::new())))
            .build()
            .unwrap()
    }

    fn first(path: &str) -> ApiRequest {
        let tenant = TenantId::parse("contoso.onmicrosoft.com").unwrap();
        ApiRequest::get(tenant, Audience::Graph, path)
    }

    fn page_start(next: u32) -> &'static str {
        Box::leak(
            format!(r#"{{"@odata.context":"x","@odata.nextLink":"{BASE}/p{next}","value":["#)
                .into_boxed_str(),
        )
    }

    fn whole(items: &str, next: Option<u32>) -> Script {
        let body = match next {
            Some(n) => format!(r#"{}{items}]}}"#, page_start(n)),
            None => format!(r#"{{"value":[{items}]}}"#),
        };
        Script {
            pieces: vec![(None, Ok(Box::leak(body.into_boxed_str())))],
        }
    }

    #[tokio::test(start_paused = true)]
    async fn next_page_is_requested_while_the_current_page_is_still_arriving() {
        let t = Arc::new(Scripted::default());
        // Page 0's items arrive only once page 1 has been asked for: a client that waits
        // for the whole page before following its link never finishes.
        let gate = Arc::new(Notify::new());
        t.on(
            "/p0",
            Script {
                pieces: vec![
                    (None, Ok(page_start(1))),
                    (Some(gate.clone()), Ok(r#""a","b"]}"#)),
                ],
            },
        );
        t.on("/p1", whole(r#""c""#, None));
        let opener = {
            let t = t.clone();
            let gate = gate.clone();
            tokio::spawn(async move {
                loop {
                    let signal = t.asked_signal.notified();
                    if t.asked().iter().any(|p| p == "/p1") {
                        gate.notify_one();
                        return;
                    }
                    signal.await;
                }
            })
        };
        let items: Vec<String> = tokio::time::timeout(
            Duration::from_secs(30),
            items::<String>(pipeline(t.clone()), first("/p0")).try_collect(),
        )
        .await
        .expect("page 1 must be requested before page 0 has fully arrived")
        .unwrap();
        assert_eq!(items, ["a", "b", "c"]);
        assert_eq!(t.asked(), ["/p0", "/p1"]);
        opener.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_page_broken_mid_way_is_read_again_whole_and_nothing_is_lost_or_repeated() {
        let t = Arc::new(Scripted::default());
        t.on(
            "/p0",
            Script {
                pieces: vec![(None, Ok(page_start(1))), (None, Err(()))],
            },
        );
        t.on("/p0", whole(r#""a","b""#, Some(1)));
        t.on("/p1", whole(r#""c""#, None));
        let items: Vec<String> = items::<String>(pipeline(t.clone()), first("/p0"))
            .try_collect()
            .await
            .unwrap();
        assert_eq!(items, ["a", "b", "c"]);
        assert_eq!(t.asked(), ["/p0", "/p0", "/p1"], "page 1 is asked for once");
    }

    #[tokio::test(start_paused = true)]
    async fn a_re_read_page_naming_another_next_link_is_an_error() {
        let t = Arc::new(Scripted::default());
        t.on(
            "/p0",
            Script {
                pieces: vec![(None, Ok(page_start(1))), (None, Err(()))],
            },
        );
        t.on("/p0", whole(r#""a""#, Some(7)));
        t.on("/p1", whole(r#""c""#, None));
        let got: Vec<Result<Page<String>, Error>> =
            pages::<String>(pipeline(t.clone()), first("/p0"))
                .collect()
                .await;
        assert_eq!(got.len(), 1);
        let e = got[0].as_ref().unwrap_err().to_string();
        assert!(e.contains("two different next links"), "{e}");
    }

    #[tokio::test(start_paused = true)]
    async fn never_more_than_one_page_ahead_of_the_caller() {
        let t = Arc::new(Scripted::default());
        for i in 0..10 {
            t.on(&format!("/p{i}"), whole(r#""x""#, (i < 9).then_some(i + 1)));
        }
        let mut pages = Box::pin(pages::<String>(pipeline(t.clone()), first("/p0")));
        let page = pages.next().await.unwrap().unwrap();
        assert_eq!(page.items, ["x"]);
        tokio::time::sleep(Duration::from_secs(60)).await;
        // Page 0 delivered: page 1 is fetched and page 2 requested, no further.
        assert_eq!(t.asked(), ["/p0", "/p1", "/p2"]);
        let rest: Vec<_> = pages.collect().await;
        assert_eq!(rest.len(), 9);
        assert_eq!(t.asked().len(), 10);
    }

    #[tokio::test(start_paused = true)]
    async fn a_malformed_page_stops_the_listing_and_drops_the_started_next_page() {
        let t = Arc::new(Scripted::default());
        t.on(
            "/p0",
            Script {
                pieces: vec![(None, Ok(page_start(1))), (None, Ok(r#""a",}"#))],
            },
        );
        t.on("/p1", whole(r#""c""#, None));
        let got: Vec<Result<Page<String>, Error>> =
            pages::<String>(pipeline(t.clone()), first("/p0"))
                .collect()
                .await;
        assert_eq!(got.len(), 1);
        assert!(matches!(got[0], Err(Error::Decode(_))), "{:?}", got[0]);
    }

    #[test]
    fn scanner_reads_the_link_ahead_of_value() {
        let link = |s: &str| scan_next_link(s.as_bytes());
        assert_eq!(
            link(
                r#"{"@odata.context":"c","@odata.nextLink":"https://g/x?$skiptoken=a\u0026b","value":["#
            ),
            Scan::Found("https://g/x?$skiptoken=a&b".into())
        );
        assert_eq!(link(r#"{"@odata.nextLink":"https://g/x"#), Scan::More);
        assert_eq!(link(r#"{"value":[],"@odata.nextLink":"n"}"#), Scan::Absent);
        assert_eq!(
            link(r#"{"@odata.count":12,"a":{"b":["}"]},"@odata.nextLink":"n","#),
            Scan::Found("n".into())
        );
        assert_eq!(link(r#"{"@odata.nextLink":null,"value":[]}"#), Scan::Absent);
        assert_eq!(link(r#"  "#), Scan::More);
        assert_eq!(link(r#"[1,2]"#), Scan::Absent);
        assert_eq!(link(r#"{}"#), Scan::Absent);
    }

    proptest::proptest! {
        /// For any OData object and any cut, the scanner either asks for more or gives the
        /// answer the full decoder gives for links ahead of `value`; on the whole object it
        /// always answers.
        #[test]
        fn scanner_agrees_with_the_decoder_on_every_prefix(
            before in proptest::collection::vec(("[a-z@.]{1,8}", proptest::prelude::any::<Option<i32>>()), 0..4),
            link in proptest::option::of("[ -~é\\\\\"]{0,24}"),
            link_first in proptest::prelude::any::<bool>(),
            cut in 0usize..400,
        ) {
            let mut members: Vec<String> = before
                .iter()
                .filter(|(k, _)| k != "value" && k != "@odata.nextLink")
                .map(|(k, v)| format!("{}:{}", serde_json::to_string(k).unwrap(), serde_json::to_string(&serde_json::json!({"n": v, "s": "}]\""})).unwrap()))
                .collect();
            let value = r#""value":["a",{"b":"]"}]"#.to_owned();
            let next = link.as_ref().map(|l| format!(r#""@odata.nextLink":{}"#, serde_json::to_string(l).unwrap()));
            match (&next, link_first) {
                (Some(n), true) => { members.push(n.clone()); members.push(value); }
                (Some(n), false) => { members.push(value); members.push(n.clone()); }
                (None, _) => members.push(value),
            }
            let text = format!("{{{}}}", members.join(","));
            let expected = match (&link, link_first) {
                (Some(l), true) => Scan::Found(l.clone()),
                _ => Scan::Absent,
            };
            let bytes = text.as_bytes();
            let cut = cut.min(bytes.len());
            let partial = scan_next_link(&bytes[..cut]);
            proptest::prop_assert!(partial == Scan::More || partial == expected, "{text} cut at {cut}: {partial:?}");
            proptest::prop_assert_eq!(scan_next_link(bytes), expected);
        }
    }
}
