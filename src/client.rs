//! The `Cipp` client: one client for the whole fleet.

use std::sync::Arc;
use std::time::Duration;

use cipp_core::{
    Clock, Credentials, Endpoints, Error, Fleet, Pipeline, PipelineBuilder, RetryPolicy, Tenant,
    TenantId, TenantResult, ThrottleSettings, Transport,
};
use cipp_exchange::{ExoClient, TenantExchange};
use cipp_graph::{GraphClient, TenantGraph};
use futures::TryStreamExt;

use crate::users::UserActions;

/// Where the fleet comes from.
#[derive(Clone, Debug)]
enum FleetSource {
    /// The partner tenant's GDAP customers.
    Gdap(TenantId),
    /// The customers of the partner's active GDAP relationships, as CIPP lists tenants.
    GdapRelationships(TenantId),
    /// A fixed list.
    List(Vec<Tenant>),
}

/// Builds a [`Cipp`] client.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), cipp::Error> {
/// use std::sync::Arc;
/// let sim = cipp::sim::Simulator::demo();
/// let cipp = cipp::Cipp::builder()
///     .transport(Arc::new(sim.clone()))
///     .credentials(sim.demo_credentials())
///     .partner_tenant(cipp::sim::scenario::DEMO_PARTNER)?
///     .build()?;
/// let tenants = cipp.tenants().await?;
/// assert_eq!(tenants.len(), 3);
/// # Ok(()) }
/// ```
#[derive(Debug, Default)]
pub struct CippBuilder {
    pipeline: PipelineBuilder,
    concurrency: Option<usize>,
    fleet: Option<FleetSource>,
    exclude: Vec<TenantId>,
}

impl CippBuilder {
    cipp_core::builder_methods! { via pipeline;
        /// The transport (default: reqwest; use `Arc::new(Simulator::demo())` offline).
        transport(Arc<dyn Transport>);
        /// Credentials: a partner refresh token, app credentials, or any token provider.
        credentials(Credentials);
        /// Endpoints (default: the global cloud).
        endpoints(Endpoints);
        /// Retry policy.
        retry(RetryPolicy);
        /// Client-side throttle caps.
        throttle(ThrottleSettings);
        /// The clock.
        clock(Arc<dyn Clock>);
    }
    /// Tenants worked on at once by fleet operations (default 10).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = Some(n.max(1));
        self
    }
    /// The partner tenant: the fleet is its GDAP customers.
    pub fn partner_tenant(mut self, partner: &str) -> Result<Self, Error> {
        self.fleet = Some(FleetSource::Gdap(TenantId::parse(partner)?));
        Ok(self)
    }
    /// The partner tenant, with the fleet taken from its **active GDAP relationships** (as
    /// CIPP does) rather than from `delegatedAdminCustomers`: customers whose relationships
    /// all expired or were terminated drop out. Default domains are read from each
    /// tenant's organization (left empty where that read fails).
    pub fn partner_tenant_relationships(mut self, partner: &str) -> Result<Self, Error> {
        self.fleet = Some(FleetSource::GdapRelationships(TenantId::parse(partner)?));
        Ok(self)
    }
    /// A fixed fleet instead of GDAP.
    pub fn tenants(mut self, tenants: Vec<Tenant>) -> Self {
        self.fleet = Some(FleetSource::List(tenants));
        self
    }
    /// Tenants left out of the fleet.
    pub fn exclude(mut self, tenants: Vec<TenantId>) -> Self {
        self.exclude = tenants;
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<Cipp, Error> {
        let pipeline = self.pipeline.build()?;
        Ok(Cipp {
            access: None,
            inner: Arc::new(Inner {
                graph: GraphClient::new(pipeline.clone()),
                exchange: ExoClient::new(pipeline.clone()),
                pipeline,
                concurrency: self.concurrency.unwrap_or(10),
                names: Arc::new(std::sync::Mutex::new(match &self.fleet {
                    Some(FleetSource::List(l)) => l.iter().map(known_names).collect(),
                    _ => std::collections::HashMap::new(),
                })),
                fleet: self.fleet,
                exclude: self.exclude,
            }),
        })
    }
}

struct Inner {
    pipeline: Pipeline,
    graph: GraphClient,
    exchange: ExoClient,
    concurrency: usize,
    fleet: Option<FleetSource>,
    exclude: Vec<TenantId>,
    /// The names (id, domains) of the tenants seen in the fleet, by lower-cased id, so that
    /// tenant scopes naming a domain match a handle made from a GUID.
    names: Arc<std::sync::Mutex<std::collections::HashMap<String, Vec<String>>>>,
}

/// A tenant record's names for [`Inner::names`]: (lower-cased id, [id, domains]).
fn known_names(t: &Tenant) -> (String, Vec<String>) {
    let mut n = vec![t.id.as_str().to_owned()];
    n.extend(t.default_domain.clone());
    n.extend(t.initial_domain.clone());
    (t.id.as_str().to_ascii_lowercase(), n)
}

/// One client for every tenant of the fleet. Cheap to clone.
#[derive(Clone)]
pub struct Cipp {
    inner: Arc<Inner>,
    /// Who acts, and where their actions are recorded (`None`: unrestricted, unaudited).
    access: Option<Arc<crate::authz::AccessControl>>,
}

impl std::fmt::Debug for Cipp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cipp")
            .field("pipeline", &self.inner.pipeline)
            .finish_non_exhaustive()
    }
}

impl Cipp {
    /// Starts building a client.
    pub fn builder() -> CippBuilder {
        CippBuilder::default()
    }

    /// The same client acting under `access`: every facade operation checks the
    /// principal's permission and tenant scope before it sends anything, and records its
    /// writes and refusals in the audit sink (see [`crate::authz`]).
    pub fn with_access_control(&self, access: crate::authz::AccessControl) -> Cipp {
        Cipp {
            inner: self.inner.clone(),
            access: Some(Arc::new(access)),
        }
    }

    /// The access control this client acts under, if any.
    pub fn access_control(&self) -> Option<&crate::authz::AccessControl> {
        self.access.as_deref()
    }

    /// Whether `tenant` is excluded from the fleet.
    pub fn is_excluded(&self, tenant: &TenantId) -> bool {
        self.inner.exclude.contains(tenant)
    }

    /// The request pipeline (the escape hatch for anything not modelled).
    pub fn pipeline(&self) -> &Pipeline {
        &self.inner.pipeline
    }

    /// The Graph client.
    pub fn graph(&self) -> &GraphClient {
        &self.inner.graph
    }

    /// The Exchange client.
    pub fn exchange(&self) -> &ExoClient {
        &self.inner.exchange
    }

    /// The fleet: the partner's GDAP customers (or the given list), minus exclusions.
    pub async fn tenants(&self) -> Result<Vec<Tenant>, Error> {
        let all = match &self.inner.fleet {
            None => {
                return Err(Error::Config(
                    "no fleet: set a partner tenant (GDAP) or a tenant list".into(),
                ))
            }
            Some(FleetSource::List(l)) => l.clone(),
            Some(FleetSource::Gdap(partner)) => {
                let customers = self
                    .inner
                    .graph
                    .tenant(partner)
                    .gdap()
                    .delegated_customers()
                    .await?;
                let mut out = Vec::new();
                for c in customers {
                    let mut t = Tenant::new(TenantId::parse(&c.tenant_id)?);
                    t.display_name = c.display_name;
                    out.push(t);
                }
                out
            }
            Some(FleetSource::GdapRelationships(partner)) => {
                use futures::StreamExt;
                let customers = self.inner.graph.tenant(partner).gdap().customers().await?;
                let graph = &self.inner.graph;
                futures::stream::iter(customers)
                    .map(|c| async move {
                        let id = TenantId::parse(&c.tenant_id)?;
                        let mut t = Tenant::new(id.clone());
                        t.display_name = c.display_name;
                        if let Ok(org) = graph.tenant(&id).directory().organization().await {
                            t.default_domain = org.default_domain().map(str::to_owned);
                            t.initial_domain = org.initial_domain().map(str::to_owned);
                        }
                        Ok::<_, Error>(t)
                    })
                    .buffered(self.inner.concurrency.max(1))
                    .try_collect()
                    .await?
            }
        };
        if let Ok(mut names) = self.inner.names.lock() {
            names.extend(all.iter().map(known_names));
        }
        Ok(all
            .into_iter()
            .filter(|t| !self.inner.exclude.contains(&t.id))
            .collect())
    }

    /// The names a tenant is known by: its id, and the domains the fleet listing gave for
    /// it (tenant scopes may name either).
    pub(crate) fn names_of(&self, id: &TenantId) -> Vec<String> {
        let key = id.as_str().to_ascii_lowercase();
        let mut out = vec![id.as_str().to_owned()];
        if let Ok(names) = self.inner.names.lock() {
            if let Some(n) = names.get(&key) {
                out.extend(n.iter().filter(|x| !x.eq_ignore_ascii_case(&key)).cloned());
            }
        }
        out
    }

    /// A handle on one tenant, whatever the tenant. For a tenant excluded from the fleet
    /// ([`CippBuilder::exclude`]) the handle is still returned, but every facade operation
    /// on it (user actions, workflows, template deploys, GDAP actions…) is refused with
    /// [`Error::Forbidden`] before anything is sent. The raw clients of the handle
    /// ([`TenantHandle::graph`], [`TenantHandle::exchange`]) are **not** checked: they send
    /// whatever they are asked to. Use [`Cipp::try_tenant`] to be refused up front.
    pub fn tenant(&self, id: &TenantId) -> TenantHandle {
        TenantHandle {
            graph: self.inner.graph.tenant(id),
            exchange: self.inner.exchange.tenant(id),
            cipp: self.clone(),
            tenant: id.clone(),
        }
    }

    /// A handle on one tenant, refused with [`Error::Forbidden`] when the tenant is
    /// excluded from the fleet ([`CippBuilder::exclude`]), so no raw Graph or Exchange call
    /// can be made on it through this handle either. The principal's permissions are still
    /// checked by each operation (they depend on the operation).
    ///
    /// ```
    /// # fn main() -> Result<(), cipp::Error> {
    /// let sim = cipp::sim::Simulator::demo();
    /// let northwind = cipp::TenantId::parse("northwind.onmicrosoft.com")?;
    /// let cipp = cipp::Cipp::builder()
    ///     .transport(std::sync::Arc::new(sim.clone()))
    ///     .credentials(sim.demo_credentials())
    ///     .partner_tenant(cipp::sim::scenario::DEMO_PARTNER)?
    ///     .exclude(vec![northwind.clone()])
    ///     .build()?;
    /// let err = cipp.try_tenant(&northwind).unwrap_err();
    /// assert!(err.is_forbidden() && err.to_string().contains("excluded"));
    /// assert!(cipp.try_tenant(&cipp::TenantId::parse("contoso.onmicrosoft.com")?).is_ok());
    /// # Ok(()) }
    /// ```
    pub fn try_tenant(&self, id: &TenantId) -> Result<TenantHandle, Error> {
        if self.is_excluded(id) {
            return Err(Error::forbidden(
                "any operation",
                Some(id.as_str().to_owned()),
                format!(
                    "the tenant {id} is excluded from the fleet; remove it from the client's \
                     exclusions (CippBuilder::exclude) to work on it"
                ),
            ));
        }
        Ok(self.tenant(id))
    }

    /// A fleet runner with the client's concurrency.
    pub fn fleet(&self) -> Fleet {
        Fleet::new(self.inner.concurrency)
    }

    /// Runs `op` on every tenant's handle, at most the client's concurrency at a time; one
    /// [`TenantResult`] per tenant, as each finishes. A failing tenant never stops the
    /// others.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), cipp::Error> {
    /// # let sim = cipp::sim::Simulator::demo();
    /// # let cipp = cipp::Cipp::builder().transport(std::sync::Arc::new(sim.clone())).credentials(sim.demo_credentials()).partner_tenant(cipp::sim::scenario::DEMO_PARTNER)?.build()?;
    /// let tenants = cipp.tenants().await?;
    /// let results = cipp
    ///     .for_each_tenant(tenants, |t| async move { t.graph().users().list().select(["id"]).await })
    ///     .collect()
    ///     .await;
    /// for r in &results {
    ///     println!("{}: {:?}", r.tenant.label(), r.result.as_ref().map(Vec::len));
    /// }
    /// # Ok(()) }
    /// ```
    pub fn for_each_tenant<T, F, Fut>(&self, tenants: Vec<Tenant>, op: F) -> FleetRun<T>
    where
        T: Send + 'static,
        F: Fn(TenantHandle) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<T, Error>> + Send + 'static,
    {
        self.for_each_tenant_with(self.fleet(), tenants, op)
    }

    /// Like [`Cipp::for_each_tenant`] with a fleet runner of your own (another
    /// concurrency, a progress callback: `cipp.fleet().on_progress(|e| …)`).
    pub fn for_each_tenant_with<T, F, Fut>(
        &self,
        fleet: Fleet,
        tenants: Vec<Tenant>,
        op: F,
    ) -> FleetRun<T>
    where
        T: Send + 'static,
        F: Fn(TenantHandle) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<T, Error>> + Send + 'static,
    {
        use futures::StreamExt;
        let cipp = self.clone();
        FleetRun(fleet.run(tenants, move |t| op(cipp.tenant(&t.id))).boxed())
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        self.inner.pipeline.clock()
    }

    /// The configured fleet concurrency.
    pub fn concurrency(&self) -> usize {
        self.inner.concurrency
    }

    /// A clone whose waits for throttling longer than `threshold` fail fast with
    /// [`Error::Throttled`] (for schedulers).
    pub fn background(&self, threshold: Duration) -> Cipp {
        let p = self.inner.pipeline.background(threshold);
        Cipp {
            access: self.access.clone(),
            inner: Arc::new(Inner {
                graph: GraphClient::new(p.clone()),
                exchange: ExoClient::new(p.clone()),
                pipeline: p,
                concurrency: self.inner.concurrency,
                fleet: self.inner.fleet.clone(),
                exclude: self.inner.exclude.clone(),
                names: self.inner.names.clone(),
            }),
        }
    }
}

/// The results of [`Cipp::for_each_tenant`], one per tenant as each finishes; read them
/// with [`FleetRun::next`] or [`FleetRun::collect`] (no `futures` import needed), or use it
/// as a `Stream`.
#[must_use = "streams do nothing unless polled"]
pub struct FleetRun<T>(futures::stream::BoxStream<'static, TenantResult<T>>);

impl<T> std::fmt::Debug for FleetRun<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FleetRun")
    }
}

impl<T: Send + 'static> FleetRun<T> {
    /// The next tenant's result, or `None` when every tenant is done.
    pub async fn next(&mut self) -> Option<TenantResult<T>> {
        use futures::StreamExt;
        self.0.next().await
    }

    /// Every tenant's result.
    pub async fn collect(self) -> Vec<TenantResult<T>> {
        use futures::StreamExt;
        self.0.collect().await
    }
}

impl<T> futures::Stream for FleetRun<T> {
    type Item = TenantResult<T>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.0.as_mut().poll_next(cx)
    }
}

/// The operations of one tenant.
#[derive(Clone, Debug)]
pub struct TenantHandle {
    cipp: Cipp,
    tenant: TenantId,
    graph: TenantGraph,
    exchange: TenantExchange,
}

impl TenantHandle {
    /// The tenant.
    pub fn id(&self) -> &TenantId {
        &self.tenant
    }
    /// The client.
    pub fn cipp(&self) -> &Cipp {
        &self.cipp
    }
    /// Microsoft Graph for this tenant: `handle.graph().users().list()`.
    pub fn graph(&self) -> &TenantGraph {
        &self.graph
    }
    /// The Exchange admin API for this tenant: `handle.exchange().get_mailbox(upn)`.
    pub fn exchange(&self) -> &TenantExchange {
        &self.exchange
    }
    /// The actions on one user (id or UPN).
    pub fn user(&self, user: &str) -> Result<UserActions, Error> {
        UserActions::new(self.clone(), user)
    }
}
