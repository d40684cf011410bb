//! The engine: accepts tasks, claims what is due, fans out over tenants, records honest
//! results, schedules the next run and notifies.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cipp_core::Clock;
use futures::stream::FuturesUnordered;
use futures::StreamExt;
use serde_json::{json, Value};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

use crate::command::{
    clamp_retry_after, retry_at, CommandError, CommandOutput, Registry, RunContext,
};
use crate::notify::{routing, template, Notifier};
use crate::store::{Store, WorkItem, WorkQueue};
use crate::task::{Lease, NewTask, Target, Task, TaskState, TenantOutcome, TenantResult};
use crate::SchedulerError;

/// Turns a target into tenant ids when a task runs.
#[async_trait]
pub trait TenantResolver: Send + Sync + 'static {
    /// The tenants of `target`.
    async fn resolve(&self, target: &Target) -> Result<Vec<String>, SchedulerError>;
}

/// A fixed list of tenants and named groups.
#[derive(Clone, Debug, Default)]
pub struct StaticTenants {
    /// Every tenant.
    pub all: Vec<String>,
    /// Groups by name.
    pub groups: BTreeMap<String, Vec<String>>,
}

#[async_trait]
impl TenantResolver for StaticTenants {
    async fn resolve(&self, target: &Target) -> Result<Vec<String>, SchedulerError> {
        match target {
            Target::Tenant { id } => Ok(vec![id.clone()]),
            Target::Group { name } => self
                .groups
                .get(name)
                .cloned()
                .ok_or_else(|| SchedulerError::Invalid(format!("no tenant group `{name}`"))),
            Target::AllTenants {
                exclude_tenants,
                exclude_groups,
            } => {
                let excluded_by_group: Vec<&String> = exclude_groups
                    .iter()
                    .filter_map(|g| self.groups.get(g))
                    .flatten()
                    .collect();
                Ok(self
                    .all
                    .iter()
                    .filter(|t| !exclude_tenants.iter().any(|x| x.eq_ignore_ascii_case(t)))
                    .filter(|t| !excluded_by_group.iter().any(|x| x.eq_ignore_ascii_case(t)))
                    .cloned()
                    .collect())
            }
        }
    }
}

/// Settings of an [`Engine`].
#[derive(Clone, Debug)]
pub struct EngineSettings {
    /// This worker's name (leases).
    pub worker: String,
    /// How long a claim holds before another worker may take the task. The engine renews
    /// the lease of everything it runs every third of this (a heartbeat), so only a worker
    /// that died or stalled for longer than the lease loses its work.
    pub lease: Duration,
    /// Tasks this worker runs at once. A tick claims at most the free slots, so no task
    /// waits in this worker's queue while its lease runs out.
    pub task_slots: usize,
    /// Tenants run at once per task, and shared work items run at once per worker (a
    /// worker claims at most that many items).
    pub concurrency: usize,
    /// Largest stored output per tenant (bytes of JSON); larger ones are truncated.
    pub max_result_bytes: usize,
    /// Retries of a throttled tenant within one run.
    pub throttle_retries: u32,
    /// The longest throttle wait honoured within a run; longer ones are recorded as
    /// `Throttled` with the retry time. A command's delay is clamped to
    /// [`crate::command::MAX_RETRY_AFTER`] first.
    pub max_throttle_wait: Duration,
    /// Tasks with at least this many tenants are split into per-tenant work items that
    /// every worker can claim, when the store has a [`crate::store::WorkQueue`]
    /// (PostgreSQL); smaller ones, and every task on a single-machine store, run on the
    /// worker that claimed them.
    pub share_fan_out_from: usize,
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            worker: format!("worker-{}", uuid::Uuid::new_v4()),
            lease: Duration::from_secs(15 * 60),
            task_slots: 4,
            concurrency: 10,
            max_result_bytes: 64 * 1024,
            throttle_retries: 3,
            max_throttle_wait: Duration::from_secs(300),
            share_fan_out_from: 2,
        }
    }
}

/// What one run did.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSummary {
    /// The task.
    pub task_id: String,
    /// The run id.
    pub run_id: String,
    /// The state after the run.
    pub state: TaskState,
    /// Per-tenant results.
    pub results: Vec<TenantResult>,
}

/// The scheduler engine.
pub struct Engine {
    store: Arc<dyn Store>,
    registry: Registry,
    resolver: Arc<dyn TenantResolver>,
    notifiers: Vec<Arc<dyn Notifier>>,
    pub(crate) clock: Arc<dyn Clock>,
    settings: EngineSettings,
    pub(crate) wake: Arc<Notify>,
    task_slots: Arc<Semaphore>,
    item_slots: Arc<Semaphore>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("registry", &self.registry)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

fn truncate(v: Value, max: usize) -> (Value, bool) {
    let text = v.to_string();
    if text.len() <= max {
        return (v, false);
    }
    let mut cut = max.min(text.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    (
        json!({"truncated": true, "originalBytes": text.len(), "preview": &text[..cut]}),
        true,
    )
}

/// `now + d`, saturating at the end of time instead of overflowing.
fn after(now: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    chrono::TimeDelta::from_std(d)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Takes every free slot of `slots` at this moment.
fn free_slots(slots: &Arc<Semaphore>) -> Vec<OwnedSemaphorePermit> {
    let mut permits = Vec::new();
    while let Ok(p) = slots.clone().try_acquire_owned() {
        permits.push(p);
    }
    permits
}

/// What [`Engine::run_once`] did.
enum Outcome {
    /// Ran here; the results are in the summary, not yet stored.
    Ran(RunSummary),
    /// Split into work items for every worker.
    Shared,
}

/// After the last run of a claim: the next due time, the lease released, and the state a
/// recurring task waits in.
fn end_claim(task: &mut Task, next: Option<DateTime<Utc>>) {
    task.next_run = next;
    task.lease = None;
    task.current_run = None;
    if next.is_some() {
        task.state = TaskState::after_run(task.state, true);
    }
}

/// What one attempt at a tenant came to.
enum Attempt {
    Done(TenantOutcome),
    /// Throttled: hand the work item back until the delay has passed.
    Requeue(Duration),
}

tokio::task_local! {
    /// The owner of the task whose command is running (see [`current_task_owner`]).
    static TASK_OWNER: Option<String>;
}

/// The owner ([`Task::owner`]) of the task whose command is running, read from inside
/// [`crate::command::Command::run`]: `None` when the task has no owner, and outside a run
/// (a command called directly). Commands that act for the owner (with the owner's
/// permissions) read it at the start of `run`.
pub fn current_task_owner() -> Option<String> {
    TASK_OWNER.try_with(Clone::clone).ok().flatten()
}

/// Runs a command for one tenant. With `wait`, a throttled tenant is retried here after
/// the delay (only this tenant waits); without, the caller re-queues it. `prior` counts
/// throttled attempts made before this call. A delay is clamped to
/// [`crate::command::MAX_RETRY_AFTER`].
async fn execute(
    command: Arc<dyn crate::command::Command>,
    ctx: RunContext,
    owner: Option<String>,
    settings: &EngineSettings,
    clock: &Arc<dyn Clock>,
    wait: bool,
    prior: u32,
) -> Attempt {
    let mut attempt = prior;
    loop {
        match TASK_OWNER
            .scope(owner.clone(), command.run(ctx.clone()))
            .await
        {
            Ok(CommandOutput::Done(v)) => {
                let (output, truncated) = truncate(v, settings.max_result_bytes);
                return Attempt::Done(TenantOutcome::Succeeded { output, truncated });
            }
            Ok(CommandOutput::NoChange(m)) => {
                return Attempt::Done(TenantOutcome::NoChange { message: m })
            }
            Ok(CommandOutput::Warning { output, message }) => {
                let (output, truncated) = truncate(output, settings.max_result_bytes);
                return Attempt::Done(TenantOutcome::Warning {
                    output,
                    truncated,
                    message,
                });
            }
            Ok(CommandOutput::Finished { output, message }) => {
                let (output, truncated) = truncate(output, settings.max_result_bytes);
                return Attempt::Done(TenantOutcome::Finished {
                    output,
                    truncated,
                    message,
                });
            }
            Err(CommandError::Failed(e)) => {
                return Attempt::Done(TenantOutcome::Failed { error: e })
            }
            Err(CommandError::Throttled { retry_after }) => {
                let retry_after = clamp_retry_after(retry_after);
                attempt = attempt.saturating_add(1);
                if attempt > settings.throttle_retries || retry_after > settings.max_throttle_wait {
                    return Attempt::Done(TenantOutcome::Throttled {
                        retry_at: retry_at(clock.now(), retry_after),
                    });
                }
                if !wait {
                    return Attempt::Requeue(retry_after);
                }
                tokio::time::sleep(retry_after).await;
            }
        }
    }
}

impl Engine {
    /// An engine over a store, commands, a tenant resolver and a clock.
    pub fn new(
        store: Arc<dyn Store>,
        registry: Registry,
        resolver: Arc<dyn TenantResolver>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let settings = EngineSettings::default();
        Engine {
            store,
            registry,
            resolver,
            notifiers: Vec::new(),
            clock,
            task_slots: Arc::new(Semaphore::new(settings.task_slots.max(1))),
            item_slots: Arc::new(Semaphore::new(settings.concurrency.max(1))),
            settings,
            wake: Arc::new(Notify::new()),
        }
    }

    /// Sets the settings.
    pub fn with_settings(mut self, s: EngineSettings) -> Self {
        self.task_slots = Arc::new(Semaphore::new(s.task_slots.max(1)));
        self.item_slots = Arc::new(Semaphore::new(s.concurrency.max(1)));
        self.settings = s;
        self
    }

    /// Adds a notification sink.
    pub fn with_notifier(mut self, n: Arc<dyn Notifier>) -> Self {
        self.notifiers.push(n);
        self
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The settings.
    pub fn settings(&self) -> &EngineSettings {
        &self.settings
    }

    /// The tenant resolver (to see which tenants a target names now).
    pub fn resolver(&self) -> &Arc<dyn TenantResolver> {
        &self.resolver
    }

    /// Accepts a task: an unknown command, bad parameters or a bad schedule are refused now,
    /// not when the task runs. The task is due at its first run (the next tick for "now").
    /// It has no owner ([`Task::owner`]); see [`Engine::add_owned`].
    pub async fn add(&self, spec: NewTask) -> Result<Task, SchedulerError> {
        self.add_owned(spec, None).await
    }

    /// Like [`Engine::add`], for `owner` (a principal's name): the task's commands see it
    /// through [`current_task_owner`] each time they run. The engine records the owner and
    /// hands it over; checking the owner's permissions is the commands' part (the `cipp`
    /// facade's `commands::OwnedCommands` does it when the task is added and when it runs).
    pub async fn add_owned(
        &self,
        spec: NewTask,
        owner: Option<String>,
    ) -> Result<Task, SchedulerError> {
        if owner.as_deref().is_some_and(|o| o.trim().is_empty()) {
            return Err(SchedulerError::Invalid(
                "a task's owner needs a name (or no owner at all)".into(),
            ));
        }
        self.validate_spec(&spec)?;
        let next = spec.schedule.first_due()?;
        let task = Task {
            id: uuid::Uuid::new_v4().to_string(),
            spec,
            state: TaskState::Planned,
            attempts: 0,
            last_run: None,
            next_run: Some(next),
            lease: None,
            current_run: None,
            owner,
        };
        self.store.insert(&task).await?;
        self.wake.notify_one();
        Ok(task)
    }

    /// Checks a task's definition as [`Engine::add`] does (and [`Engine::update_task`]
    /// after applying a change): a name, a registered command accepting the parameters,
    /// known variables in the alert subject and comment, a valid schedule, a non-empty
    /// tenant.
    pub(crate) fn validate_spec(&self, spec: &NewTask) -> Result<(), SchedulerError> {
        if spec.name.trim().is_empty() {
            return Err(SchedulerError::Invalid("a task needs a name".into()));
        }
        self.registry.validate(&spec.command, &spec.parameters)?;
        for t in [&spec.post_execution.subject, &spec.post_execution.comment]
            .into_iter()
            .flatten()
        {
            template::validate(t)?;
        }
        spec.schedule.validate()?;
        if let Target::Tenant { id } = &spec.target {
            if id.trim().is_empty() {
                return Err(SchedulerError::Invalid("empty tenant".into()));
            }
        }
        Ok(())
    }

    /// The next `n` run times of a task (at most
    /// [`crate::recurrence::MAX_NEXT_RUNS`]).
    pub async fn next_runs(
        &self,
        id: &str,
        n: usize,
    ) -> Result<Vec<DateTime<Utc>>, SchedulerError> {
        let t = self
            .store
            .get(id)
            .await?
            .ok_or_else(|| SchedulerError::NotFound(format!("task {id}")))?;
        let Some(from) = t.next_run else {
            return Ok(Vec::new());
        };
        Ok(t.spec.schedule.next_runs(from, n)?)
    }

    fn lease_until(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        after(now, self.settings.lease)
    }

    pub(crate) fn lease(&self, now: DateTime<Utc>) -> Lease {
        Lease::new(self.settings.worker.clone(), self.lease_until(now))
    }

    /// How often running work renews its lease: a third of the lease (at least 10 ms).
    fn heartbeat_every(&self) -> Duration {
        (self.settings.lease / 3).max(Duration::from_millis(10))
    }

    /// Renews a lease with `renew` every [`Engine::heartbeat_every`] until it is lost
    /// (then returns the error). Other store errors are logged and retried at the next beat:
    /// the lease may still be held.
    ///
    /// Once the work sets `writing` (its last, fenced write releases the lease), the
    /// heartbeat stops: that write itself tells whether the lease still held.
    async fn heartbeat<F, Fut>(&self, what: &str, writing: &AtomicBool, renew: F) -> SchedulerError
    where
        F: Fn(DateTime<Utc>) -> Fut,
        Fut: std::future::Future<Output = Result<(), SchedulerError>>,
    {
        let every = self.heartbeat_every();
        loop {
            tokio::time::sleep(every).await;
            if writing.load(Ordering::SeqCst) {
                return futures::future::pending().await;
            }
            match renew(self.lease_until(self.clock.now())).await {
                Ok(()) => {}
                Err(_) if writing.load(Ordering::SeqCst) => {
                    return futures::future::pending().await
                }
                Err(e @ SchedulerError::LeaseLost { .. }) => return e,
                Err(e) => tracing::warn!(what, error = %e, "lease renewal failed; retrying"),
            }
        }
    }

    /// Claims due tasks — at most as many as this worker has free slots
    /// ([`EngineSettings::task_slots`]), claiming again as slots free up — and runs them,
    /// then runs shared work items; returns what each run did. A run whose lease was taken
    /// over by another worker is stopped and left out (see
    /// [`SchedulerError::LeaseLost`]).
    pub async fn tick(&self) -> Result<Vec<RunSummary>, SchedulerError> {
        let mut out = self
            .claim_and_run(
                &self.task_slots,
                |n| async move {
                    let now = self.clock.now();
                    let claimed = self.store.claim_due(now, &self.lease(now), n).await?;
                    Ok(claimed.into_iter().map(|t| (t, now)).collect())
                },
                |(task, now)| self.run_guarded(task, now, false),
                "lease lost; run stopped",
            )
            .await?;
        if let Some(queue) = self.store.work_queue() {
            out.extend(self.work_items(queue).await?);
        }
        Ok(out)
    }

    /// Runs a task at once (its schedule is kept).
    pub async fn run_now(&self, id: &str) -> Result<RunSummary, SchedulerError> {
        let now = self.clock.now();
        let task = self
            .store
            .claim(id, now, &self.lease(now))
            .await?
            .ok_or_else(|| {
                SchedulerError::Invalid(format!(
                    "task {id} is missing or running on another worker; try again when that run ends"
                ))
            })?;
        let mut runs = self.run_guarded(task, now, true).await?;
        runs.pop()
            .ok_or_else(|| SchedulerError::Store("the run produced no summary".into()))
    }

    /// Runs a claimed task while a heartbeat renews its lease; stops the run (dropping it
    /// where it is) when the lease is lost.
    async fn run_guarded(
        &self,
        task: Task,
        now: DateTime<Utc>,
        manual: bool,
    ) -> Result<Vec<RunSummary>, SchedulerError> {
        let Some(token) = task.lease.as_ref().map(|l| l.token.clone()) else {
            return Err(SchedulerError::Store(format!(
                "task {} was claimed without a lease",
                task.id
            )));
        };
        let id = task.id.clone();
        let writing = AtomicBool::new(false);
        let work = self.run_claimed(task, &token, &writing, now, manual);
        let beat = self.heartbeat(&id, &writing, |until| self.store.renew(&id, &token, until));
        tokio::select! {
            biased;
            r = work => r,
            lost = beat => Err(lost),
        }
    }

    async fn run_claimed(
        &self,
        mut task: Task,
        token: &str,
        writing: &AtomicBool,
        now: DateTime<Utc>,
        manual: bool,
    ) -> Result<Vec<RunSummary>, SchedulerError> {
        let scheduled = task.next_run.unwrap_or(now);
        let schedule = task.spec.schedule.clone();
        let (runs, next) = if manual {
            // Running a one-off task now uses it up; a recurring task keeps its schedule.
            let next = if schedule.recurrence == crate::recurrence::Recurrence::Once {
                None
            } else {
                task.next_run
            };
            (1, next)
        } else {
            match schedule.advance(scheduled, now) {
                Ok(adv) => (schedule.catch_up.runs_now(adv.missed), adv.next),
                Err(e) => {
                    // A stored schedule that can no longer be computed: stop the task
                    // rather than claim it forever.
                    tracing::warn!(task = %task.id, error = %e, "schedule cannot advance; task stopped");
                    task.state = TaskState::Failed;
                    task.next_run = None;
                    task.lease = None;
                    task.current_run = None;
                    writing.store(true, Ordering::SeqCst);
                    self.store.update(&task, token, &[]).await?;
                    return Err(e.into());
                }
            }
        };
        // A run interrupted by a dead worker is resumed, whatever the catch-up policy says.
        let runs = if task.current_run.is_some() {
            runs.max(1)
        } else {
            runs
        };
        let mut summaries = Vec::new();
        for i in 0..runs {
            let last = i + 1 == runs;
            match self
                .run_once(&mut task, (token, writing), now, !manual, next, last)
                .await?
            {
                Outcome::Shared => {
                    // The enqueue stored the task (after the last run: next run set, lease
                    // released); whoever closes the last work item sets its state.
                    if last {
                        return Ok(summaries);
                    }
                    task.current_run = None;
                }
                Outcome::Ran(summary) => {
                    task.current_run = None;
                    if last {
                        // Every tenant finished for good: no next run.
                        let next = if crate::task::run_finishes_task(&summary.results) {
                            None
                        } else {
                            next
                        };
                        end_claim(&mut task, next);
                        writing.store(true, Ordering::SeqCst);
                    } else {
                        // More runs follow under this claim: stay running (and so
                        // claimable again should this worker die).
                        task.state = TaskState::Running;
                    }
                    // The results and the task's state in one fenced write.
                    self.store.update(&task, token, &summary.results).await?;
                    self.notify(&task, &summary).await;
                    summaries.push(summary);
                    if last {
                        return Ok(summaries);
                    }
                }
            }
        }
        // No run (skipped catch-up).
        task.next_run = next;
        task.lease = None;
        task.current_run = None;
        task.state = TaskState::Planned;
        writing.store(true, Ordering::SeqCst);
        self.store.update(&task, token, &[]).await?;
        Ok(summaries)
    }

    /// One run. Returns [`Outcome::Shared`] when the run was split into work items for all
    /// workers; otherwise the run's summary, its results not yet stored (the caller writes
    /// them with the task). The run id is stored before any command runs, and a task taken
    /// over from a dead worker resumes its run id.
    async fn run_once(
        &self,
        task: &mut Task,
        (token, writing): (&str, &AtomicBool),
        now: DateTime<Utc>,
        share: bool,
        next: Option<DateTime<Utc>>,
        last: bool,
    ) -> Result<Outcome, SchedulerError> {
        let run_id = task
            .current_run
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        task.current_run = Some(run_id.clone());
        task.state = TaskState::Running;
        task.attempts = task.attempts.saturating_add(1);
        task.last_run = Some(now);
        self.store.update(task, token, &[]).await?;
        let tenants = match self.resolver.resolve(&task.spec.target).await {
            Ok(t) => t,
            Err(e) => {
                let r = TenantResult {
                    run_id: run_id.clone(),
                    tenant: "*".into(),
                    finished_at: self.clock.now(),
                    outcome: TenantOutcome::Failed {
                        error: cipp_core::ErrorSummary::from_message(format!(
                            "cannot resolve the target: {e}"
                        )),
                    },
                    reference: task.spec.reference.clone(),
                };
                task.state = TaskState::Failed;
                return Ok(Outcome::Ran(RunSummary {
                    task_id: task.id.clone(),
                    run_id,
                    state: task.state,
                    results: vec![r],
                }));
            }
        };
        if let Some(queue) = self.store.work_queue() {
            if share && tenants.len() >= self.settings.share_fan_out_from.max(1) {
                if last {
                    // The claim ends with this write; more runs under this claim keep the
                    // lease until their own enqueue.
                    task.next_run = next;
                    task.lease = None;
                    writing.store(true, Ordering::SeqCst);
                }
                queue
                    .enqueue_run(task, token, &run_id, &tenants, now)
                    .await?;
                return Ok(Outcome::Shared);
            }
        }
        let Some(command) = self.registry.get(&task.spec.command).cloned() else {
            return Err(SchedulerError::Invalid(format!(
                "command `{}` is no longer registered; register it or delete the task",
                task.spec.command
            )));
        };
        let settings = &self.settings;
        let clock = &self.clock;
        let results: Vec<TenantResult> = futures::stream::iter(tenants)
            .map(|tenant| {
                let ctx = RunContext {
                    task_id: task.id.clone(),
                    run_id: run_id.clone(),
                    tenant: tenant.clone(),
                    parameters: task.spec.parameters.clone(),
                    reference: task.spec.reference.clone(),
                };
                let command = command.clone();
                let owner = task.owner.clone();
                async move {
                    let reference = ctx.reference.clone();
                    let run_id = ctx.run_id.clone();
                    let outcome = match execute(command, ctx, owner, settings, clock, true, 0).await
                    {
                        Attempt::Done(o) => o,
                        // Unreachable with `wait`; recorded honestly all the same.
                        Attempt::Requeue(d) => TenantOutcome::Throttled {
                            retry_at: retry_at(clock.now(), d),
                        },
                    };
                    TenantResult {
                        run_id,
                        tenant,
                        finished_at: clock.now(),
                        outcome,
                        reference,
                    }
                }
            })
            .buffer_unordered(self.settings.concurrency.max(1))
            .collect()
            .await;
        task.state = TaskState::from_results(&results);
        Ok(Outcome::Ran(RunSummary {
            task_id: task.id.clone(),
            run_id,
            state: task.state,
            results,
        }))
    }

    /// Claims and runs open work items of any run (this worker's or another's) until none
    /// is due — at most as many at once as [`EngineSettings::concurrency`], claiming again
    /// as slots free up — and finalises each run whose last item this worker closed.
    async fn work_items(&self, queue: &dyn WorkQueue) -> Result<Vec<RunSummary>, SchedulerError> {
        let tasks: Mutex<HashMap<String, Option<Task>>> = Mutex::new(HashMap::new());
        let tasks = &tasks;
        self.claim_and_run(
            &self.item_slots,
            |n| async move {
                let now = self.clock.now();
                queue.claim_items(now, &self.lease(now), n).await
            },
            |item| async move {
                let summary = self.run_item_guarded(queue, item, tasks).await?;
                Ok(summary.into_iter().collect())
            },
            "work item taken over; result dropped",
        )
        .await
    }

    /// Claims with `claim` (given the number of free `slots`) and runs each claimed thing
    /// with `run` in its slot, claiming again as slots free up — only when slots were
    /// freed or the last claim filled every slot — until nothing is claimed or running.
    /// Claims and runs are polled together: a run may hold a pooled connection that a
    /// claim waits for. A run whose lease was lost is logged with `lost` and left out; the
    /// first other error stops further claims and is returned once the runs end.
    async fn claim_and_run<'a, C, CF, CFut, RF, RFut>(
        &'a self,
        slots: &Arc<Semaphore>,
        claim: CF,
        run: RF,
        lost: &'static str,
    ) -> Result<Vec<RunSummary>, SchedulerError>
    where
        C: Send + 'a,
        CF: Fn(usize) -> CFut,
        CFut: std::future::Future<Output = Result<Vec<C>, SchedulerError>> + Send + 'a,
        RF: Fn(C) -> RFut,
        RFut: std::future::Future<Output = Result<Vec<RunSummary>, SchedulerError>> + Send + 'a,
    {
        /// One finished step: a claim, or a run.
        enum Step<C> {
            Claimed(Result<Vec<C>, SchedulerError>, Vec<OwnedSemaphorePermit>),
            Ran(Result<Vec<RunSummary>, SchedulerError>),
        }
        let mut out = Vec::new();
        let mut first_err: Option<SchedulerError> = None;
        let mut steps: FuturesUnordered<
            std::pin::Pin<Box<dyn std::future::Future<Output = Step<C>> + Send + 'a>>,
        > = FuturesUnordered::new();
        let mut claiming = false;
        let mut claim_again = true;
        loop {
            if !claiming && claim_again && first_err.is_none() {
                let permits = free_slots(slots);
                if !permits.is_empty() {
                    claiming = true;
                    claim_again = false;
                    let claimed = claim(permits.len());
                    steps.push(Box::pin(
                        async move { Step::Claimed(claimed.await, permits) },
                    ));
                }
            }
            match steps.next().await {
                None => break,
                Some(Step::Claimed(Ok(claimed), permits)) => {
                    claiming = false;
                    claim_again = !claimed.is_empty() && claimed.len() == permits.len();
                    for (c, permit) in claimed.into_iter().zip(permits) {
                        let ran = run(c);
                        steps.push(Box::pin(async move {
                            let _slot = permit;
                            Step::Ran(ran.await)
                        }));
                    }
                }
                Some(Step::Claimed(Err(e), _)) => {
                    claiming = false;
                    first_err.get_or_insert(e);
                }
                Some(Step::Ran(Ok(runs))) => {
                    claim_again = true;
                    out.extend(runs);
                }
                Some(Step::Ran(Err(SchedulerError::LeaseLost { what }))) => {
                    claim_again = true;
                    tracing::warn!(%what, worker = %self.settings.worker, "{lost}");
                }
                Some(Step::Ran(Err(e))) => {
                    claim_again = true;
                    first_err.get_or_insert(e);
                }
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    /// Runs one work item while a heartbeat renews its lease, then hands it back
    /// (throttled) or closes it with its result (fenced writes); finalises the run when
    /// this was its last open item.
    async fn run_item_guarded(
        &self,
        queue: &dyn WorkQueue,
        item: WorkItem,
        tasks: &Mutex<HashMap<String, Option<Task>>>,
    ) -> Result<Option<RunSummary>, SchedulerError> {
        let writing = AtomicBool::new(false);
        let work = async {
            let cached = tasks
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&item.task_id)
                .cloned();
            let task = match cached {
                Some(t) => t,
                None => {
                    let t = self.store.get(&item.task_id).await?;
                    tasks
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(item.task_id.clone(), t.clone());
                    t
                }
            };
            let reference = task.as_ref().and_then(|t| t.spec.reference.clone());
            let attempt = self.execute_item(&item, task).await;
            writing.store(true, Ordering::SeqCst);
            match attempt {
                Attempt::Requeue(delay) => {
                    queue
                        .release_item(&item, retry_at(self.clock.now(), delay))
                        .await?;
                    Ok(None)
                }
                Attempt::Done(outcome) => {
                    let result = TenantResult {
                        run_id: item.run_id.clone(),
                        tenant: item.tenant.clone(),
                        finished_at: self.clock.now(),
                        outcome,
                        reference,
                    };
                    let report = queue.finish_items(&[(item.clone(), result)]).await?;
                    if !report.lost.is_empty() {
                        return Err(SchedulerError::LeaseLost {
                            what: format!("work item {}/{}", item.run_id, item.tenant),
                        });
                    }
                    match report.runs.first() {
                        Some(run) => Ok(Some(self.finalize(queue, &item.task_id, run).await?)),
                        None => Ok(None),
                    }
                }
            }
        };
        let beat = self.heartbeat(&item.tenant, &writing, |until| {
            queue.renew_item(&item, until)
        });
        tokio::select! {
            biased;
            r = work => r,
            lost = beat => Err(lost),
        }
    }

    async fn execute_item(&self, item: &WorkItem, task: Option<Task>) -> Attempt {
        let Some(task) = task else {
            return Attempt::Done(TenantOutcome::Failed {
                error: cipp_core::ErrorSummary::from_message("the task was deleted while it ran"),
            });
        };
        let Some(command) = self.registry.get(&task.spec.command).cloned() else {
            return Attempt::Done(TenantOutcome::Failed {
                error: cipp_core::ErrorSummary::from_message(format!(
                    "command `{}` is not registered on worker {}",
                    task.spec.command, self.settings.worker
                )),
            });
        };
        let ctx = RunContext {
            task_id: task.id.clone(),
            run_id: item.run_id.clone(),
            tenant: item.tenant.clone(),
            parameters: task.spec.parameters.clone(),
            reference: task.spec.reference.clone(),
        };
        execute(
            command,
            ctx,
            task.owner.clone(),
            &self.settings,
            &self.clock,
            false,
            item.attempts,
        )
        .await
    }

    /// Reports one shared run (the store already set the task's state when the last item
    /// closed) and notifies.
    async fn finalize(
        &self,
        queue: &dyn WorkQueue,
        task_id: &str,
        run_id: &str,
    ) -> Result<RunSummary, SchedulerError> {
        let results = queue.run_results(task_id, run_id).await?;
        let state = TaskState::from_results(&results);
        let summary = RunSummary {
            task_id: task_id.to_owned(),
            run_id: run_id.to_owned(),
            state,
            results,
        };
        if let Some(mut task) = self.store.get(task_id).await? {
            task.state = state;
            self.notify(&task, &summary).await;
        }
        Ok(summary)
    }

    /// Sends the run's events ([`crate::notify::routing::events`]) to the notifiers of
    /// the channels the task asks for, and to no other.
    async fn notify(&self, task: &Task, run: &RunSummary) {
        let wanted: Vec<&Arc<dyn Notifier>> = self
            .notifiers
            .iter()
            .filter(|n| task.spec.post_execution.wants(n.channel()))
            .collect();
        if wanted.is_empty() {
            return;
        }
        for event in routing::events(task, &run.run_id, &run.results, self.clock.now()) {
            for n in &wanted {
                if let Err(e) = n.notify(&event).await {
                    tracing::warn!(notifier = n.name(), error = %e, "notification failed");
                }
            }
        }
    }

    /// Runs until `shutdown` turns true: ticks, then sleeps until the earliest due time or
    /// until a task is added (instead of polling on a fixed interval). On shutdown it stops
    /// claiming; the run in progress finishes first.
    pub async fn run(
        self: Arc<Self>,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Result<(), SchedulerError> {
        loop {
            if *shutdown.borrow() {
                return Ok(());
            }
            if let Err(e) = self.tick().await {
                tracing::warn!(error = %e, "tick failed");
            }
            let now = self.clock.now();
            let wait = match self.store.earliest_due().await? {
                Some(t) if t > now => (t - now).to_std().unwrap_or(Duration::from_secs(60)),
                Some(_) => Duration::from_millis(0),
                None => Duration::from_secs(3600),
            };
            let other_workers = self.store.changes();
            let remote = async {
                match &other_workers {
                    Some(n) => n.notified().await,
                    None => futures::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait.min(Duration::from_secs(3600))) => {}
                _ = self.wake.notified() => {}
                _ = remote => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}
