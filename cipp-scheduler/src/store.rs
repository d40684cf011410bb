//! Where tasks and results live.
//!
//! The contract is two traits. [`Store`] holds tasks and their results; every store has it
//! (in memory, SQLite, PostgreSQL). [`WorkQueue`] splits one run into per-tenant work items
//! that several workers share; only stores reached by several machines offer it
//! ([`Store::work_queue`]: PostgreSQL), and the engine fans out locally otherwise.
//!
//! Both obey the same rules, written once in [`rules`] and used by every store:
//!
//! - a claim takes at most the number of tasks (or items) asked for — the worker's free
//!   slots — earliest due first, and gives each claimed row a fresh lease token;
//! - a task is claimable when it is planned and due, or when the worker that held it let
//!   its lease expire (see [`rules::claimable_at`]);
//! - every write of a claimed row (state, results, lease renewal, a work item's release or
//!   result) presents the lease token; a worker whose lease was taken over gets
//!   [`SchedulerError::LeaseLost`] and nothing is written;
//! - the task's state comes from its runs' results in Rust ([`crate::task::TaskState::from_results`]).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::task::{Lease, Task, TenantResult};
use crate::SchedulerError;

/// Task storage. Claims are atomic: a task is held by one worker at a time, and a claim
/// whose lease expired can be taken again. Writes of a claimed task are fenced by the
/// claim's lease token.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Adds a task; refuses a duplicate unique name.
    async fn insert(&self, task: &Task) -> Result<(), SchedulerError>;
    /// One task.
    async fn get(&self, id: &str) -> Result<Option<Task>, SchedulerError>;
    /// Every task (hidden ones too when asked).
    async fn list(&self, include_hidden: bool) -> Result<Vec<Task>, SchedulerError>;
    /// Deletes a task and its results (a worker still running it loses its lease).
    async fn delete(&self, id: &str) -> Result<(), SchedulerError>;
    /// Claims at most `max` tasks claimable at `now` ([`rules::claimable_at`]), earliest
    /// first: a worker asks for no more than it can start at once. Each claimed task gets
    /// `lease` with a fresh token and the state [`crate::task::TaskState::Pending`].
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease: &Lease,
        max: usize,
    ) -> Result<Vec<Task>, SchedulerError>;
    /// Claims one task regardless of its due time (run now), unless another worker holds
    /// a live lease on it.
    async fn claim(
        &self,
        id: &str,
        now: DateTime<Utc>,
        lease: &Lease,
    ) -> Result<Option<Task>, SchedulerError>;
    /// Extends the lease of a claimed task to `until` (the engine's heartbeat), if `token`
    /// still holds it; [`SchedulerError::LeaseLost`] otherwise.
    async fn renew(
        &self,
        id: &str,
        token: &str,
        until: DateTime<Utc>,
    ) -> Result<(), SchedulerError>;
    /// Writes a claimed task and appends `results`, in one transaction, if `token` still
    /// holds its lease; [`SchedulerError::LeaseLost`] (and nothing written) otherwise. A
    /// lease renewed since the task was read keeps its later expiry.
    async fn update(
        &self,
        task: &Task,
        token: &str,
        results: &[TenantResult],
    ) -> Result<(), SchedulerError>;
    /// A task's results, oldest first.
    async fn results(&self, task_id: &str) -> Result<Vec<TenantResult>, SchedulerError>;
    /// The earliest time anything becomes claimable (a due task, an expired lease, a work
    /// item), for the runner's sleep.
    async fn earliest_due(&self) -> Result<Option<DateTime<Utc>>, SchedulerError>;
    /// Notified when another worker changes the tasks (PostgreSQL `LISTEN`), if the store
    /// can tell.
    fn changes(&self) -> Option<Arc<tokio::sync::Notify>> {
        None
    }
    /// The shared work queue, for stores several workers reach (PostgreSQL). Stores that
    /// answer `None` (memory, SQLite: one machine) have the engine run every tenant itself.
    fn work_queue(&self) -> Option<&dyn WorkQueue> {
        None
    }
}

/// Per-tenant work items of a run, claimable by every worker of a shared store. Item
/// writes are fenced by the claim's lease token like task writes.
#[async_trait]
pub trait WorkQueue: Send + Sync {
    /// Records one run of `task` as claimable work items, one per tenant, and stores the
    /// task as given (state, next run, lease released) in the same transaction, so no
    /// worker can finish the run before the task says it started. `token` must hold the
    /// task's lease. Enqueuing a run id again (a re-claimed task resuming its run) adds
    /// only the missing items.
    async fn enqueue_run(
        &self,
        task: &Task,
        token: &str,
        run_id: &str,
        tenants: &[String],
        now: DateTime<Utc>,
    ) -> Result<(), SchedulerError>;
    /// Claims at most `max` open work items of any run that are due (not held by a live
    /// lease, not waiting for a throttling delay), each with a fresh lease token.
    async fn claim_items(
        &self,
        now: DateTime<Utc>,
        lease: &Lease,
        max: usize,
    ) -> Result<Vec<WorkItem>, SchedulerError>;
    /// Extends an item's lease to `until`; [`SchedulerError::LeaseLost`] if its token no
    /// longer holds it.
    async fn renew_item(&self, item: &WorkItem, until: DateTime<Utc>)
        -> Result<(), SchedulerError>;
    /// Hands an item back to be retried at `not_before` (a throttled tenant), counting the
    /// attempt; [`SchedulerError::LeaseLost`] if its token no longer holds it.
    async fn release_item(
        &self,
        item: &WorkItem,
        not_before: DateTime<Utc>,
    ) -> Result<(), SchedulerError>;
    /// Stores finished items' results and closes the items, in one transaction. Items
    /// whose token no longer holds them are not written and come back in
    /// [`FinishedItems::lost`]. The runs this call closed the last open item of are
    /// reported to exactly one caller, and their task's state is set in the same
    /// transaction (so a finaliser dying afterwards loses only the notification).
    async fn finish_items(
        &self,
        done: &[(WorkItem, TenantResult)],
    ) -> Result<FinishedItems, SchedulerError>;
    /// The results of one run.
    async fn run_results(
        &self,
        task_id: &str,
        run_id: &str,
    ) -> Result<Vec<TenantResult>, SchedulerError>;
}

/// What [`WorkQueue::finish_items`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FinishedItems {
    /// Runs whose last open item this call closed (the caller finalises them).
    pub runs: Vec<String>,
    /// Items not written: their lease was taken over by another worker (or they were
    /// closed already).
    pub lost: Vec<WorkItem>,
}

impl FinishedItems {
    /// A report (for store implementations).
    pub fn new(runs: Vec<String>, lost: Vec<WorkItem>) -> Self {
        FinishedItems { runs, lost }
    }
}

/// One tenant's share of a run, claimable by any worker of a store that shares fan-out.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkItem {
    /// The task.
    pub task_id: String,
    /// The run (the idempotency key passed to the command).
    pub run_id: String,
    /// The tenant.
    pub tenant: String,
    /// Throttled attempts so far.
    pub attempts: u32,
    /// The claim's fencing token.
    pub lease_token: String,
}

impl WorkItem {
    /// An item (for store implementations).
    pub fn new(
        task_id: String,
        run_id: String,
        tenant: String,
        attempts: u32,
        lease_token: String,
    ) -> Self {
        WorkItem {
            task_id,
            run_id,
            tenant,
            attempts,
            lease_token,
        }
    }
}

/// The rules every store applies, in one place: which task is claimable and from when,
/// what a claim does, fencing, lease renewal, unique names and a shared run's end.
pub mod rules {
    use chrono::{DateTime, Utc};

    use crate::task::{Lease, Task, TaskState, TenantResult};
    use crate::SchedulerError;

    /// From when [`super::Store::claim_due`] may take `task` (`None`: not by a due-time
    /// claim). A planned task with no lease is claimable from its next run; a planned,
    /// pending or running task whose worker holds a lease is claimable once both the next
    /// run and the lease's expiry have passed (the worker died or stalled). Running tasks
    /// without a lease (a shared run in progress) and finished one-off tasks are not.
    ///
    /// Stores keep this value in an indexed column, written on every write of the task, so
    /// their claim query is `claimable_at <= now ORDER BY claimable_at LIMIT max`.
    pub fn claimable_at(task: &Task) -> Option<DateTime<Utc>> {
        let next = task.next_run?;
        match &task.lease {
            None if task.state.is_planned() => Some(next),
            Some(l)
                if task.state.is_planned()
                    || matches!(task.state, TaskState::Pending | TaskState::Running) =>
            {
                Some(next.max(l.until))
            }
            _ => None,
        }
    }

    /// Whether [`super::Store::claim_due`] may take `task` at `now`.
    pub fn is_due(task: &Task, now: DateTime<Utc>) -> bool {
        claimable_at(task).is_some_and(|t| t <= now)
    }

    /// Whether [`super::Store::claim`] (run now) may take `task` at `now`: no live lease.
    pub fn is_free(task: &Task, now: DateTime<Utc>) -> bool {
        task.lease.as_ref().is_none_or(|l| l.until <= now)
    }

    /// A fresh lease token.
    pub fn new_token() -> String {
        uuid::Uuid::new_v4().to_string()
    }

    /// Claims `task`: the lease with a fresh token, and the state pending.
    pub fn claim(task: &mut Task, lease: &Lease) {
        task.lease = Some(Lease {
            token: new_token(),
            ..lease.clone()
        });
        task.state = TaskState::Pending;
    }

    /// Picks at most `max` claimable tasks at `now`, earliest first (ties by id).
    pub fn pick_due<'a>(
        tasks: impl IntoIterator<Item = &'a Task>,
        now: DateTime<Utc>,
        max: usize,
    ) -> Vec<&'a Task> {
        let mut due: Vec<(DateTime<Utc>, &Task)> = tasks
            .into_iter()
            .filter_map(|t| claimable_at(t).filter(|at| *at <= now).map(|at| (at, t)))
            .collect();
        due.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.id.cmp(&b.1.id)));
        due.into_iter().take(max).map(|(_, t)| t).collect()
    }

    fn lost(id: &str) -> SchedulerError {
        SchedulerError::LeaseLost {
            what: format!("task {id}"),
        }
    }

    /// Checks that `token` holds the lease of the stored task `id` (`stored` is `None`
    /// when the task was deleted).
    pub fn check_fence<'a>(
        stored: Option<&'a Task>,
        id: &str,
        token: &str,
    ) -> Result<&'a Task, SchedulerError> {
        match stored {
            Some(t) if !token.is_empty() && t.lease.as_ref().is_some_and(|l| l.token == token) => {
                Ok(t)
            }
            _ => Err(lost(id)),
        }
    }

    /// What a fenced write stores: `new` if `token` holds the stored task's lease, with a
    /// lease renewed meanwhile keeping its later expiry.
    pub fn fenced_write(
        stored: Option<&Task>,
        new: &Task,
        token: &str,
    ) -> Result<Task, SchedulerError> {
        let stored = check_fence(stored, &new.id, token)?;
        let mut out = new.clone();
        if let (Some(l), Some(s)) = (out.lease.as_mut(), stored.lease.as_ref()) {
            if l.token == s.token {
                l.until = l.until.max(s.until);
            }
        }
        Ok(out)
    }

    /// The stored task with its lease extended to `until`, if `token` holds it.
    pub fn renew(
        stored: Option<&Task>,
        id: &str,
        token: &str,
        until: DateTime<Utc>,
    ) -> Result<Task, SchedulerError> {
        let mut t = check_fence(stored, id, token)?.clone();
        if let Some(l) = t.lease.as_mut() {
            l.until = l.until.max(until);
        }
        Ok(t)
    }

    /// Refuses `new` when it asks for a unique name and one of `existing` (names of stored
    /// tasks; a store may pass a superset, such as the SQL `lower(name) = lower($1)`
    /// matches) has it, ignoring ASCII case.
    pub fn check_unique<'a>(
        new: &Task,
        existing: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), SchedulerError> {
        if new.spec.unique_name
            && existing
                .into_iter()
                .any(|n| n.eq_ignore_ascii_case(&new.spec.name))
        {
            return Err(SchedulerError::Invalid(format!(
                "a task named `{}` already exists; choose another name or delete that task",
                new.spec.name
            )));
        }
        Ok(())
    }

    /// Ends a shared run on its task: the state from the run's results (unless a worker
    /// holds the task right now: its own write sets the state), no next run when every
    /// tenant finished for good ([`crate::task::run_finishes_task`]), and the run no longer
    /// in progress. Returns the run's state.
    pub fn close_shared_run(task: &mut Task, run_id: &str, results: &[TenantResult]) -> TaskState {
        let run = TaskState::from_results(results);
        if task.lease.is_none() {
            if crate::task::run_finishes_task(results) {
                task.next_run = None;
            }
            task.state = TaskState::after_run(run, task.next_run.is_some());
        }
        if task.current_run.as_deref() == Some(run_id) {
            task.current_run = None;
        }
        run
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Tasks in memory (tests, short-lived tools).
#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<MemoryInner>,
}

#[derive(Default)]
struct MemoryInner {
    tasks: BTreeMap<String, Task>,
    results: BTreeMap<String, Vec<TenantResult>>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore").finish_non_exhaustive()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore::default()
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn insert(&self, task: &Task) -> Result<(), SchedulerError> {
        let mut m = lock(&self.inner);
        rules::check_unique(task, m.tasks.values().map(|t| t.spec.name.as_str()))?;
        m.tasks.insert(task.id.clone(), task.clone());
        Ok(())
    }
    async fn get(&self, id: &str) -> Result<Option<Task>, SchedulerError> {
        Ok(lock(&self.inner).tasks.get(id).cloned())
    }
    async fn list(&self, include_hidden: bool) -> Result<Vec<Task>, SchedulerError> {
        Ok(lock(&self.inner)
            .tasks
            .values()
            .filter(|t| include_hidden || !t.spec.hidden)
            .cloned()
            .collect())
    }
    async fn delete(&self, id: &str) -> Result<(), SchedulerError> {
        let mut m = lock(&self.inner);
        m.tasks.remove(id);
        m.results.remove(id);
        Ok(())
    }
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease: &Lease,
        max: usize,
    ) -> Result<Vec<Task>, SchedulerError> {
        let mut m = lock(&self.inner);
        let ids: Vec<String> = rules::pick_due(m.tasks.values(), now, max)
            .into_iter()
            .map(|t| t.id.clone())
            .collect();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(t) = m.tasks.get_mut(&id) {
                rules::claim(t, lease);
                out.push(t.clone());
            }
        }
        Ok(out)
    }
    async fn claim(
        &self,
        id: &str,
        now: DateTime<Utc>,
        lease: &Lease,
    ) -> Result<Option<Task>, SchedulerError> {
        let mut m = lock(&self.inner);
        let Some(t) = m.tasks.get_mut(id) else {
            return Ok(None);
        };
        if !rules::is_free(t, now) {
            return Ok(None);
        }
        rules::claim(t, lease);
        Ok(Some(t.clone()))
    }
    async fn renew(
        &self,
        id: &str,
        token: &str,
        until: DateTime<Utc>,
    ) -> Result<(), SchedulerError> {
        let mut m = lock(&self.inner);
        let t = rules::renew(m.tasks.get(id), id, token, until)?;
        m.tasks.insert(t.id.clone(), t);
        Ok(())
    }
    async fn update(
        &self,
        task: &Task,
        token: &str,
        results: &[TenantResult],
    ) -> Result<(), SchedulerError> {
        let mut m = lock(&self.inner);
        let t = rules::fenced_write(m.tasks.get(&task.id), task, token)?;
        m.tasks.insert(t.id.clone(), t);
        if !results.is_empty() {
            m.results
                .entry(task.id.clone())
                .or_default()
                .extend(results.iter().cloned());
        }
        Ok(())
    }
    async fn results(&self, task_id: &str) -> Result<Vec<TenantResult>, SchedulerError> {
        Ok(lock(&self.inner)
            .results
            .get(task_id)
            .cloned()
            .unwrap_or_default())
    }
    async fn earliest_due(&self) -> Result<Option<DateTime<Utc>>, SchedulerError> {
        Ok(lock(&self.inner)
            .tasks
            .values()
            .filter_map(rules::claimable_at)
            .min())
    }
}

#[cfg(feature = "sqlite")]
pub use crate::sqlite::SqliteStore;
