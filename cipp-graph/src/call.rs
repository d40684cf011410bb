//! What handler methods return: a [`Call`] (one operation, awaited to send it) and a
//! [`List`] (a paged collection with optional OData arguments, streamed or collected).
//!
//! Both keep the request value inspectable and batchable: [`Call::op`] hands out the
//! [`GraphOp`] for a [`crate::batch::Batch`], [`List::request`] the first page's request.

use std::future::IntoFuture;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use cipp_core::{paging, ApiRequest, Error, Page, Pipeline};
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt, Stream, StreamExt, TryStreamExt};
use serde::de::DeserializeOwned;

use crate::odata::Query;
use crate::op::GraphOp;

/// One operation bound to a tenant and a pipeline. Nothing is sent until it is awaited;
/// invalid input is reported then, before any request.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), cipp_core::Error> {
/// # let sim = cipp_sim::Simulator::demo();
/// # let graph = cipp_graph::GraphClient::new(cipp_core::Pipeline::builder().transport(std::sync::Arc::new(sim.clone())).credentials(sim.demo_credentials()).build()?);
/// use cipp_graph::users::UserRef;
/// let contoso = graph.tenant(&cipp_core::TenantId::parse("contoso.onmicrosoft.com")?);
/// let adele = UserRef::parse("adelev@contoso.com")?;
/// // Await to send …
/// let user = contoso.users().get(&adele).select(["id", "displayName"]).await?;
/// assert_eq!(user.display_name.as_deref(), Some("Adele Vance"));
/// // … or take the request value (for a `$batch`, or to inspect it).
/// let op = contoso.users().get(&adele).op()?;
/// assert_eq!(op.request().path(), "/v1.0/users/adelev%40contoso.com");
/// # Ok(()) }
/// ```
#[must_use = "a call does nothing until it is awaited"]
pub struct Call<T> {
    pipeline: Pipeline,
    op: Result<GraphOp<T>, Error>,
}

impl<T> std::fmt::Debug for Call<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.op {
            Ok(op) => f.debug_tuple("Call").field(op).finish(),
            Err(e) => f
                .debug_tuple("Call")
                .field(&format_args!("invalid: {e}"))
                .finish(),
        }
    }
}

impl<T: Send + 'static> Call<T> {
    /// A call of `op` through `pipeline` (an invalid op is reported when awaited).
    pub fn new(pipeline: &Pipeline, op: Result<GraphOp<T>, Error>) -> Self {
        Call {
            pipeline: pipeline.clone(),
            op,
        }
    }

    /// The operation as a value (request and decoder), for a batch or a test.
    pub fn op(self) -> Result<GraphOp<T>, Error> {
        self.op
    }

    /// The request that would be sent (`None` when the input was invalid).
    pub fn request(&self) -> Option<&ApiRequest> {
        self.op.as_ref().ok().map(GraphOp::request)
    }

    /// Asks only for these properties (`$select`).
    pub fn select<I, S>(self, fields: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let fields: Vec<String> = fields.into_iter().map(|s| s.as_ref().to_owned()).collect();
        self.map_request(|r| {
            if fields.is_empty() {
                r
            } else {
                r.query("$select", &fields.join(","))
            }
        })
    }

    /// Changes the request before it is sent (a header, a deadline, …).
    pub fn map_request(mut self, f: impl FnOnce(ApiRequest) -> ApiRequest) -> Self {
        self.op = self.op.map(|op| op.map_request(f));
        self
    }

    /// Sends the request and reads the answer.
    pub async fn send(self) -> Result<T, Error> {
        self.op?.send(&self.pipeline).await
    }
}

impl<T: Send + 'static> IntoFuture for Call<T> {
    type Output = Result<T, Error>;
    type IntoFuture = BoxFuture<'static, Result<T, Error>>;

    fn into_future(self) -> Self::IntoFuture {
        self.send().boxed()
    }
}

type Builder = Box<dyn FnOnce(&Query) -> Result<ApiRequest, Error> + Send>;

/// A paged collection in one tenant, with optional OData arguments. Await it to collect
/// every item, or [`stream`](List::stream) the items as pages arrive.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), cipp_core::Error> {
/// # let sim = cipp_sim::Simulator::demo();
/// # let graph = cipp_graph::GraphClient::new(cipp_core::Pipeline::builder().transport(std::sync::Arc::new(sim.clone())).credentials(sim.demo_credentials()).build()?);
/// let contoso = graph.tenant(&cipp_core::TenantId::parse("contoso.onmicrosoft.com")?);
/// let enabled = contoso.users().list().filter("accountEnabled eq true").select(["id", "userPrincipalName"]).await?;
/// assert!(!enabled.is_empty());
/// let mut users = contoso.users().list().top(2).stream();
/// while let Some(user) = users.next().await {
///     println!("{:?}", user?.user_principal_name);
/// }
/// # Ok(()) }
/// ```
#[must_use = "a listing does nothing until it is awaited or streamed"]
pub struct List<T> {
    pipeline: Pipeline,
    query: Query,
    build: Builder,
    _item: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for List<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("List")
            .field("query", &self.query)
            .finish_non_exhaustive()
    }
}

impl<T: DeserializeOwned + Send + 'static> List<T> {
    /// A listing whose first request `build` makes from the OData arguments (validating
    /// them).
    pub fn new(
        pipeline: &Pipeline,
        build: impl FnOnce(&Query) -> Result<ApiRequest, Error> + Send + 'static,
    ) -> Self {
        List {
            pipeline: pipeline.clone(),
            query: Query::new(),
            build: Box::new(build),
            _item: PhantomData,
        }
    }

    /// A listing of a fixed request; OData arguments are appended to it.
    pub fn of_request(pipeline: &Pipeline, request: Result<ApiRequest, Error>) -> Self {
        List::new(pipeline, move |q| request.map(|r| q.apply(r)))
    }

    /// `$select`.
    pub fn select<I, S>(mut self, fields: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.query = self.query.select(fields);
        self
    }
    cipp_core::builder_methods! { via query;
        /// `$filter` (quote literals with [`crate::odata::quote`]).
        filter(impl Into<String>);
        /// `$orderby`.
        orderby(impl Into<String>);
        /// `$top` (the page size).
        top(u32);
        /// `$search` (quotes included: `"displayName:sales"`).
        search(impl Into<String>);
        /// `$expand`.
        expand(impl Into<String>);
    }
    /// `$count=true` (read it from [`List::pages`]).
    pub fn count(mut self) -> Self {
        self.query = self.query.count();
        self
    }
    /// Replaces every OData argument at once.
    pub fn query(mut self, query: Query) -> Self {
        self.query = query;
        self
    }

    /// The first page's request (for a `$batch` or a test).
    pub fn request(self) -> Result<ApiRequest, Error> {
        (self.build)(&self.query)
    }

    /// The items, page after page (the next page is requested while the caller reads).
    pub fn stream(self) -> Items<T> {
        let pipeline = self.pipeline.clone();
        match self.request() {
            Ok(r) => Items(paging::items(pipeline, r).boxed()),
            Err(e) => Items(futures::stream::once(async move { Err(e) }).boxed()),
        }
    }

    /// The pages, with `@odata.count` and the next link of each.
    pub fn pages(self) -> BoxStream<'static, Result<Page<T>, Error>> {
        let pipeline = self.pipeline.clone();
        match self.request() {
            Ok(r) => paging::pages(pipeline, r).boxed(),
            Err(e) => futures::stream::once(async move { Err(e) }).boxed(),
        }
    }

    /// Every item. Pages are appended whole (the first page's vector is kept and grown),
    /// so items are not moved one by one through a stream.
    pub async fn collect(self) -> Result<Vec<T>, Error> {
        self.pages()
            .try_fold(Vec::new(), |mut all, page| async move {
                if all.is_empty() {
                    let mut items = page.items;
                    if let Some(count) = page.count {
                        // `@odata.count` is a hint from the service: never trust it far.
                        let more = usize::try_from(count)
                            .unwrap_or(0)
                            .saturating_sub(items.len())
                            .min(1 << 20);
                        items.reserve(more);
                    }
                    return Ok(items);
                }
                all.extend(page.items);
                Ok(all)
            })
            .await
    }
}

impl<T: DeserializeOwned + Send + 'static> IntoFuture for List<T> {
    type Output = Result<Vec<T>, Error>;
    type IntoFuture = BoxFuture<'static, Result<Vec<T>, Error>>;

    fn into_future(self) -> Self::IntoFuture {
        self.collect().boxed()
    }
}

/// A stream of items, one `Result` each; use [`Items::next`] or
/// [`Items::try_collect`] without importing `futures`.
#[must_use = "streams do nothing unless polled"]
pub struct Items<T>(BoxStream<'static, Result<T, Error>>);

impl<T> std::fmt::Debug for Items<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Items")
    }
}

impl<T: Send + 'static> Items<T> {
    /// The next item, or `None` at the end.
    pub async fn next(&mut self) -> Option<Result<T, Error>> {
        self.0.next().await
    }

    /// Every remaining item, or the first error.
    pub async fn try_collect(self) -> Result<Vec<T>, Error> {
        self.0.try_collect().await
    }

    /// The underlying boxed stream.
    pub fn into_inner(self) -> BoxStream<'static, Result<T, Error>> {
        self.0
    }
}

impl<T> Stream for Items<T> {
    type Item = Result<T, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.as_mut().poll_next(cx)
    }
}
