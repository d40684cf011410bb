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
                domain_ids: Arc::default(),
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
    /// Domains looked up through the partner (lower-cased): the tenant id each resolved
    /// to, `None` when the lookup failed.
    domain_ids: Arc<std::sync::Mutex<std::collections::HashMap<String, Option<String>>>>,
}

/// A tenant record's names for [`Inner::names`]: (lower-cased id, [id, domains]).
fn known_names(t: &Tenant) -> (String, Vec<String>) {
    let mut n = vec![t.id.as_str().to_owned()];
    n.extend(t.default_domain.clone());
    n.extend(t.initial_domain.clone());
    (t.id.as_str().to_ascii_lowercase(), n)
}

/// The refusal of a tenant excluded from the fleet.
pub(crate) fn excluded(tenant: &str, permission: &str) -> Error {
    Error::forbidden_with_advice(
        permission,
        Some(tenant.to_owned()),
        "the tenant is excluded from the fleet",
        "remove it from the client's exclusions (CippBuilder::exclude) to work on it",
    )
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

    /// Whether the client excludes any tenant from the fleet.
    pub fn has_exclusions(&self) -> bool {
        !self.inner.exclude.is_empty()
    }

    /// Whether deciding if `tenant` is excluded needs its other names: the client knows
    /// it by one name only and some exclusion is of the other kind (a domain for a GUID
    /// handle, a GUID for a domain handle).
    pub(crate) fn exclusion_needs_names(&self, tenant: &TenantId) -> bool {
        self.names_of(tenant).len() == 1
            && self
                .inner
                .exclude
                .iter()
                .any(|e| e.is_guid() != tenant.is_guid())
    }

    /// Whether `tenant` is excluded from the fleet: an exclusion matches the tenant's id
    /// or any domain the client knows for it (from the fleet listing or
    /// [`Cipp::resolve_tenant`]), case-insensitively.
    pub fn is_excluded(&self, tenant: &TenantId) -> bool {
        if self.inner.exclude.is_empty() {
            return false;
        }
        let names = self.names_of(tenant);
        self.inner
            .exclude
            .iter()
            .any(|e| names.iter().any(|n| n.eq_ignore_ascii_case(e.as_str())))
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
            .filter(|t| !self.is_excluded(&t.id))
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

    /// A handle on one tenant, or [`Error::Forbidden`] before anything is sent (nor
    /// recorded: nothing was attempted yet; [`Cipp::resolve_tenant`] records) when the
    /// tenant is excluded from the fleet ([`CippBuilder::exclude`], matched by id or by a
    /// domain the client knows for it) or, with access control
    /// ([`Cipp::with_access_control`]), outside the tenant scope of every role of the
    /// principal. Each operation on the handle checks its own permission again.
    ///
    /// The check uses the names the client knows for the tenant: the id or domain given,
    /// and the domains a fleet listing ([`Cipp::tenants`]) or [`Cipp::resolve_tenant`]
    /// returned. A scope that names a tenant by domain therefore refuses a handle made
    /// from its GUID until the client has learnt the domain; use
    /// [`Cipp::resolve_tenant`] to look it up.
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
    /// let err = cipp.tenant(&northwind).unwrap_err();
    /// assert!(err.is_forbidden() && err.to_string().contains("excluded"));
    /// assert!(cipp.tenant(&cipp::TenantId::parse("contoso.onmicrosoft.com")?).is_ok());
    /// # Ok(()) }
    /// ```
    pub fn tenant(&self, id: &TenantId) -> Result<TenantHandle, Error> {
        self.admit(id)?;
        Ok(self.handle(id))
    }

    /// Like [`Cipp::tenant`], but when the tenant would be refused and the client knows no
    /// other name for it, first asks Entra for its names through the partner tenant
    /// (`findTenantInformationByTenantId` / `ByDomainName`, one request, remembered), so a
    /// scope or an exclusion written as a domain matches a handle made from the GUID and
    /// the other way round.
    ///
    /// Unlike [`Cipp::tenant`] (which sends and records nothing), a refusal here is
    /// recorded in the audit trail as `tenant.open`.
    pub async fn resolve_tenant(&self, id: &TenantId) -> Result<TenantHandle, Error> {
        if self.admit(id).is_err() {
            self.learn_names(id).await;
        }
        match self.tenant(id) {
            Ok(h) => Ok(h),
            Err(e) => {
                self.record_refused_open(id, &e).await;
                Err(e)
            }
        }
    }

    /// Records the refusal of a handle on `id` (`tenant.open`) in the audit sink, if any.
    async fn record_refused_open(&self, id: &TenantId, e: &Error) {
        let Some(access) = self.access_control() else {
            return;
        };
        let Some(sink) = &access.audit else {
            return;
        };
        let reason = match e {
            Error::Forbidden { reason, .. } => reason.clone(),
            other => other.to_string(),
        };
        sink.record(crate::authz::AuditEvent {
            at: self.pipeline().clock().now(),
            principal: access.principal.name.clone(),
            operation: "tenant.open".to_owned(),
            permission: "any operation".to_owned(),
            tenant: Some(id.as_str().to_owned()),
            target: None,
            parameters: serde_json::Value::Null,
            outcome: crate::authz::AuditOutcome::Refused { reason },
        })
        .await;
    }

    /// An unchecked handle (the facade's own plumbing: operations check their permission).
    pub(crate) fn handle(&self, id: &TenantId) -> TenantHandle {
        TenantHandle {
            graph: self.inner.graph.tenant(id),
            exchange: self.inner.exchange.tenant(id),
            cipp: self.clone(),
            tenant: id.clone(),
        }
    }

    /// Whether a handle on `id` may exist: not excluded, and inside some role's scope.
    fn admit(&self, id: &TenantId) -> Result<(), Error> {
        if self.is_excluded(id) {
            return Err(excluded(id.as_str(), "any operation"));
        }
        let Some(access) = self.access_control() else {
            return Ok(());
        };
        let names = self.names_of(id);
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        access.principal.reaches(&names, &access.groups)
    }

    /// Learns other names of `id` from Entra, through the partner tenant, so checks match
    /// it by id and by domain: a domain handle is looked up
    /// (`findTenantInformationByDomainName`) for its GUID; for a GUID handle, every domain
    /// named by the exclusions, the principal's tenant scopes and the tenant groups is
    /// looked up once (remembered for the client's lifetime) and those resolving to this
    /// tenant become its names. Failures are ignored: the check then refuses as before.
    pub(crate) async fn learn_names(&self, id: &TenantId) {
        use futures::StreamExt;
        let via = match &self.inner.fleet {
            Some(FleetSource::Gdap(p)) | Some(FleetSource::GdapRelationships(p)) => p.clone(),
            _ => return,
        };
        // Only a name of the other kind can change a decision: domains for a GUID handle,
        // the GUID for a domain handle (when some entry is a GUID).
        let mut wanted: Vec<String> = if id.is_guid() {
            self.named_domains()
        } else if self.names_a_guid() {
            vec![id.as_str().to_ascii_lowercase()]
        } else {
            Vec::new()
        };
        if wanted.is_empty() {
            return;
        }
        if let Ok(seen) = self.inner.domain_ids.lock() {
            wanted.retain(|d| !seen.contains_key(d));
        }
        let gdap = self.inner.graph.tenant(&via).gdap();
        let found: Vec<(String, Option<String>)> = futures::stream::iter(wanted)
            .map(|domain| {
                let gdap = gdap.clone();
                async move {
                    let id = gdap
                        .find_tenant_by_domain(&domain)
                        .await
                        .ok()
                        .map(|i| i.tenant_id.to_ascii_lowercase())
                        .filter(|t| !t.is_empty());
                    (domain, id)
                }
            })
            .buffer_unordered(self.inner.concurrency.clamp(1, 8))
            .collect()
            .await;
        let Ok(mut seen) = self.inner.domain_ids.lock() else {
            return;
        };
        seen.extend(found);
        let key = id.as_str().to_ascii_lowercase();
        let mut names = vec![id.as_str().to_owned()];
        if id.is_guid() {
            names.extend(
                seen.iter()
                    .filter(|(_, t)| t.as_deref() == Some(key.as_str()))
                    .map(|(d, _)| d.clone()),
            );
        } else if let Some(Some(guid)) = seen.get(&key) {
            names.push(guid.clone());
        }
        drop(seen);
        if let Ok(mut cache) = self.inner.names.lock() {
            let entry = cache.entry(key).or_insert_with(Vec::new);
            for n in names {
                if !entry.iter().any(|e| e.eq_ignore_ascii_case(&n)) {
                    entry.push(n);
                }
            }
        }
    }

    /// Whether an exclusion, a tenant scope or a tenant group names a tenant by GUID.
    fn names_a_guid(&self) -> bool {
        self.named_entries()
            .iter()
            .any(|n| TenantId::parse(n).is_ok_and(|t| t.is_guid()))
    }

    /// The domains (not GUIDs) that exclusions, tenant scopes and tenant groups name.
    fn named_domains(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .named_entries()
            .into_iter()
            .filter(|n| n.contains('.'))
            .map(|n| n.to_ascii_lowercase())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Every tenant name that exclusions, tenant scopes and tenant groups hold.
    fn named_entries(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .inner
            .exclude
            .iter()
            .map(|e| e.as_str().to_owned())
            .collect();
        if let Some(a) = self.access_control() {
            for r in &a.principal.roles {
                let scope = &r.tenants;
                out.extend(scope.allowed.iter().flatten().cloned());
                out.extend(scope.blocked.iter().cloned());
            }
            for members in a.groups.0.values() {
                out.extend(members.iter().cloned());
            }
        }
        out
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
        FleetRun(
            fleet
                .run(tenants, move |t| match cipp.tenant(&t.id) {
                    Ok(handle) => futures::future::Either::Left(op(handle)),
                    Err(e) => futures::future::Either::Right(futures::future::ready(Err(e))),
                })
                .boxed(),
        )
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
                domain_ids: self.inner.domain_ids.clone(),
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
