//! Running one async operation over many tenants with bounded concurrency.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use futures::stream::{self, Stream, StreamExt};

use crate::error::Error;
use crate::tenant::Tenant;

/// Progress of a fleet run, for a progress bar or a log.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum FleetEvent {
    /// Work on a tenant started.
    Started {
        /// The tenant.
        tenant: Tenant,
        /// Tenants now in flight.
        in_flight: usize,
    },
    /// Work on a tenant succeeded.
    Finished {
        /// The tenant.
        tenant: Tenant,
        /// The running counts.
        counts: FleetCounts,
    },
    /// Work on a tenant failed.
    Failed {
        /// The tenant.
        tenant: Tenant,
        /// The error, as text.
        error: String,
        /// The running counts.
        counts: FleetCounts,
    },
}

/// Running counts of a fleet run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FleetCounts {
    /// Tenants in the run.
    pub total: usize,
    /// Tenants that succeeded so far.
    pub succeeded: usize,
    /// Tenants that failed so far.
    pub failed: usize,
}

/// The result of the operation for one tenant.
#[derive(Debug)]
pub struct TenantResult<T> {
    /// The tenant.
    pub tenant: Tenant,
    /// What the operation returned.
    pub result: Result<T, Error>,
}

type Progress = Arc<dyn Fn(&FleetEvent) + Send + Sync>;

/// Runs an operation over many tenants, at most `concurrency` at a time, yielding each
/// tenant's result as it finishes. One failing tenant never stops the others.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use cipp_core::{Fleet, Tenant, TenantId};
/// use futures::StreamExt;
/// let tenants: Vec<Tenant> = ["a.com", "b.com"].iter()
///     .map(|d| Tenant::new(TenantId::parse(d).unwrap())).collect();
/// let results: Vec<_> = Fleet::new(10)
///     .run(tenants, |t| async move { Ok::<_, cipp_core::Error>(t.id.to_string().len()) })
///     .collect().await;
/// assert_eq!(results.len(), 2);
/// # }
/// ```
#[derive(Clone)]
pub struct Fleet {
    concurrency: usize,
    progress: Option<Progress>,
}

impl std::fmt::Debug for Fleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fleet")
            .field("concurrency", &self.concurrency)
            .finish_non_exhaustive()
    }
}

impl Fleet {
    /// A fleet runner with at most `concurrency` tenants in flight (at least 1).
    pub fn new(concurrency: usize) -> Self {
        Fleet {
            concurrency: concurrency.max(1),
            progress: None,
        }
    }

    /// Calls `f` with every progress event.
    pub fn on_progress(mut self, f: impl Fn(&FleetEvent) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }

    /// Runs `op` for every tenant and streams the results as they finish.
    pub fn run<T, F, Fut>(
        &self,
        tenants: Vec<Tenant>,
        op: F,
    ) -> impl Stream<Item = TenantResult<T>> + Send + 'static
    where
        T: Send + 'static,
        F: Fn(Tenant) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, Error>> + Send + 'static,
    {
        let total = tenants.len();
        let in_flight = Arc::new(AtomicUsize::new(0));
        let succeeded = Arc::new(AtomicUsize::new(0));
        let failed = Arc::new(AtomicUsize::new(0));
        let progress = self.progress.clone();
        let op = Arc::new(op);
        stream::iter(tenants)
            .map(move |tenant| {
                let op = op.clone();
                let progress = progress.clone();
                let in_flight = in_flight.clone();
                let succeeded = succeeded.clone();
                let failed = failed.clone();
                async move {
                    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    if let Some(p) = &progress {
                        p(&FleetEvent::Started {
                            tenant: tenant.clone(),
                            in_flight: now,
                        });
                    }
                    let result = op(tenant.clone()).await;
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                    let (s, f) = match &result {
                        Ok(_) => (
                            succeeded.fetch_add(1, Ordering::SeqCst) + 1,
                            failed.load(Ordering::SeqCst),
                        ),
                        Err(_) => (
                            succeeded.load(Ordering::SeqCst),
                            failed.fetch_add(1, Ordering::SeqCst) + 1,
                        ),
                    };
                    if let Some(p) = &progress {
                        let counts = FleetCounts {
                            total,
                            succeeded: s,
                            failed: f,
                        };
                        p(&match &result {
                            Ok(_) => FleetEvent::Finished {
                                tenant: tenant.clone(),
                                counts,
                            },
                            Err(e) => FleetEvent::Failed {
                                tenant: tenant.clone(),
                                error: e.to_string(),
                                counts,
                            },
                        });
                    }
                    TenantResult { tenant, result }
                }
            })
            .buffer_unordered(self.concurrency)
    }
}
