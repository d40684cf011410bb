//! The engine: accepts tasks, claims what is due, fans out over tenants, records honest
//! results, schedules the next run and notifies.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cipp_core::Clock;
use futures::StreamExt;
use serde_json::{json, Value};
use tokio::sync::Notify;

use crate::command::{CommandError, CommandOutput, Registry, RunContext};
use crate::notify::{fingerprint, Event, Notifier, SCHEMA_VERSION};
use crate::store::{Store, WorkItem};
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
    /// How long a claim holds before another worker may take the task.
    pub lease: Duration,
    /// Tenants run at once per task.
    pub concurrency: usize,
    /// Largest stored output per tenant (bytes of JSON); larger ones are truncated.
    pub max_result_bytes: usize,
    /// Retries of a throttled tenant within one run.
    pub throttle_retries: u32,
    /// The longest throttle wait honoured within a run; longer ones are recorded as
    /// `Throttled` with the retry time.
    pub max_throttle_wait: Duration,
    /// Tasks with at least this many tenants are split into per-tenant work items that
    /// every worker can claim, when the store shares fan-out (PostgreSQL); smaller ones,
    /// and every task on a single-machine store, run on the worker that claimed them.
    pub share_fan_out_from: usize,
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            worker: format!("worker-{}", uuid::Uuid::new_v4()),
            lease: Duration::from_secs(15 * 60),
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
    clock: Arc<dyn Clock>,
    settings: EngineSettings,
    wake: Arc<Notify>,
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

/// A run's state from its per-tenant outcomes: never success when a tenant failed or
/// nothing was done.
fn run_state(results: &[TenantResult]) -> TaskState {
    let ok = results.iter().filter(|r| r.outcome.is_ok()).count();
    if results.is_empty() || ok == 0 {
        TaskState::Failed
    } else if ok == results.len() {
        TaskState::Completed
    } else {
        TaskState::CompletedWithErrors
    }
}

/// A recurring task keeps its last outcome visible while it waits for the next run.
fn waiting_state(s: TaskState) -> TaskState {
    match s {
        TaskState::Completed => TaskState::Planned,
        TaskState::Failed => TaskState::FailedRecurring,
        s => s,
    }
}

/// What one attempt at a tenant came to.
enum Attempt {
    Done(TenantOutcome),
    /// Throttled: hand the work item back until the delay has passed.
    Requeue(Duration),
}

/// Runs a command for one tenant. With `wait`, a throttled tenant is retried here after
/// the delay (only this tenant waits); without, the caller re-queues it. `prior` counts
/// throttled attempts made before this call.
async fn execute(
    command: Arc<dyn crate::command::Command>,
    ctx: RunContext,
    settings: &EngineSettings,
    clock: &Arc<dyn Clock>,
    wait: bool,
    prior: u32,
) -> Attempt {
    let mut attempt = prior;
    loop {
        match command.run(ctx.clone()).await {
            Ok(CommandOutput::Done(v)) => {
                let (output, truncated) = truncate(v, settings.max_result_bytes);
                return Attempt::Done(TenantOutcome::Succeeded { output, truncated });
            }
            Ok(CommandOutput::NoChange(m)) => {
                return Attempt::Done(TenantOutcome::NoChange { message: m })
            }
            Err(CommandError::Failed(e)) => {
                return Attempt::Done(TenantOutcome::Failed { error: e })
            }
            Err(CommandError::Throttled { retry_after }) => {
                attempt += 1;
                if attempt > settings.throttle_retries || retry_after > settings.max_throttle_wait {
                    let retry_at =
                        clock.now() + chrono::Duration::from_std(retry_after).unwrap_or_default();
                    return Attempt::Done(TenantOutcome::Throttled { retry_at });
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
        Engine {
            store,
            registry,
            resolver,
            notifiers: Vec::new(),
            clock,
            settings: EngineSettings::default(),
            wake: Arc::new(Notify::new()),
        }
    }

    /// Sets the settings.
    pub fn with_settings(mut self, s: EngineSettings) -> Self {
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

    /// Accepts a task: an unknown command, bad parameters or a bad schedule are refused now,
    /// not when the task runs. The task is due at its first run (the next tick for "now").
    pub async fn add(&self, spec: NewTask) -> Result<Task, SchedulerError> {
        if spec.name.trim().is_empty() {
            return Err(SchedulerError::Invalid("a task needs a name".into()));
        }
        self.registry.validate(&spec.command, &spec.parameters)?;
        spec.schedule.validate()?;
        if let Target::Tenant { id } = &spec.target {
            if id.trim().is_empty() {
                return Err(SchedulerError::Invalid("empty tenant".into()));
            }
        }
        let next = spec.schedule.first_due()?;
        let task = Task {
            id: uuid::Uuid::new_v4().to_string(),
            spec,
            state: TaskState::Planned,
            attempts: 0,
            last_run: None,
            next_run: Some(next),
            lease: None,
        };
        self.store.insert(&task).await?;
        self.wake.notify_one();
        Ok(task)
    }

    /// The next `n` run times of a task.
    pub async fn next_runs(
        &self,
        id: &str,
        n: usize,
    ) -> Result<Vec<DateTime<Utc>>, SchedulerError> {
        let t = self
            .store
            .get(id)
            .await?
            .ok_or_else(|| SchedulerError::NotFound(id.to_owned()))?;
        let Some(from) = t.next_run else {
            return Ok(Vec::new());
        };
        t.spec.schedule.next_runs(from, n)
    }

    fn lease(&self, now: DateTime<Utc>) -> Lease {
        Lease {
            worker: self.settings.worker.clone(),
            until: now
                + chrono::Duration::from_std(self.settings.lease)
                    .unwrap_or(chrono::Duration::minutes(15)),
        }
    }

    /// Claims and runs every due task; returns what each run did.
    pub async fn tick(&self) -> Result<Vec<RunSummary>, SchedulerError> {
        let now = self.clock.now();
        let due = self.store.claim_due(now, &self.lease(now)).await?;
        let mut out = Vec::new();
        for task in due {
            out.extend(self.run_claimed(task, now, false).await?);
        }
        if self.store.shares_fan_out() {
            out.extend(self.work_items().await?);
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
                SchedulerError::Invalid(format!("task {id} is missing or running elsewhere"))
            })?;
        let mut runs = self.run_claimed(task, now, true).await?;
        runs.pop()
            .ok_or_else(|| SchedulerError::Store("the run produced no summary".into()))
    }

    async fn run_claimed(
        &self,
        mut task: Task,
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
            let adv = schedule.advance(scheduled, now)?;
            (schedule.catch_up.runs_now(adv.missed), adv.next)
        };
        let mut summaries = Vec::new();
        let mut shared = false;
        for _ in 0..runs {
            match self.run_once(&mut task, now, !manual, next).await? {
                Some(summary) => summaries.push(summary),
                None => shared = true,
            }
        }
        if shared {
            // The enqueue stored the task (next run, lease released); whoever closes the
            // last work item sets its state.
            return Ok(summaries);
        }
        task.next_run = next;
        task.lease = None;
        if runs == 0 {
            task.state = TaskState::Planned;
        } else if next.is_some() {
            // Recurring: keep the outcome visible while waiting for the next run.
            task.state = waiting_state(task.state);
        }
        self.store.update(&task).await?;
        Ok(summaries)
    }

    /// One run. Returns `None` when the run was split into work items for all workers.
    async fn run_once(
        &self,
        task: &mut Task,
        now: DateTime<Utc>,
        share: bool,
        next: Option<DateTime<Utc>>,
    ) -> Result<Option<RunSummary>, SchedulerError> {
        let run_id = uuid::Uuid::new_v4().to_string();
        task.state = TaskState::Running;
        task.attempts += 1;
        task.last_run = Some(now);
        self.store.update(task).await?;
        let tenants = match self.resolver.resolve(&task.spec.target).await {
            Ok(t) => t,
            Err(e) => {
                let r = TenantResult {
                    run_id: run_id.clone(),
                    tenant: "*".into(),
                    finished_at: self.clock.now(),
                    outcome: TenantOutcome::Failed {
                        error: format!("cannot resolve the target: {e}"),
                    },
                    reference: task.spec.reference.clone(),
                };
                self.store
                    .save_results(&task.id, std::slice::from_ref(&r))
                    .await?;
                task.state = TaskState::Failed;
                let summary = RunSummary {
                    task_id: task.id.clone(),
                    run_id,
                    state: task.state,
                    results: vec![r],
                };
                self.notify(task, &summary).await;
                return Ok(Some(summary));
            }
        };
        if share
            && self.store.shares_fan_out()
            && tenants.len() >= self.settings.share_fan_out_from.max(1)
        {
            task.next_run = next;
            task.lease = None;
            self.store.enqueue_run(task, &run_id, &tenants, now).await?;
            return Ok(None);
        }
        let Some(command) = self.registry.get(&task.spec.command).cloned() else {
            return Err(SchedulerError::Invalid(format!(
                "command `{}` is no longer registered",
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
                async move {
                    let reference = ctx.reference.clone();
                    let run_id = ctx.run_id.clone();
                    let outcome = match execute(command, ctx, settings, clock, true, 0).await {
                        Attempt::Done(o) => o,
                        // Unreachable with `wait`; recorded honestly all the same.
                        Attempt::Requeue(d) => TenantOutcome::Throttled {
                            retry_at: clock.now()
                                + chrono::Duration::from_std(d).unwrap_or_default(),
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
        self.store.save_results(&task.id, &results).await?;
        task.state = run_state(&results);
        let summary = RunSummary {
            task_id: task.id.clone(),
            run_id,
            state: task.state,
            results,
        };
        self.notify(task, &summary).await;
        Ok(Some(summary))
    }

    /// Claims and runs open work items of any run (this worker's or another's) until none
    /// is due; finalises each run whose last item this worker closed.
    async fn work_items(&self) -> Result<Vec<RunSummary>, SchedulerError> {
        let mut finished = Vec::new();
        let mut tasks: HashMap<String, Option<Task>> = HashMap::new();
        loop {
            let now = self.clock.now();
            let items = self
                .store
                .claim_items(now, &self.lease(now), self.settings.concurrency.max(1))
                .await?;
            if items.is_empty() {
                return Ok(finished);
            }
            for item in &items {
                if !tasks.contains_key(&item.task_id) {
                    let t = self.store.get(&item.task_id).await?;
                    tasks.insert(item.task_id.clone(), t);
                }
            }
            let done: Vec<(WorkItem, Attempt)> = futures::stream::iter(items)
                .map(|item| {
                    let task = tasks.get(&item.task_id).cloned().flatten();
                    self.execute_item(item, task)
                })
                .buffer_unordered(self.settings.concurrency.max(1))
                .collect()
                .await;
            let mut finished_items = Vec::new();
            for (item, attempt) in done {
                match attempt {
                    Attempt::Requeue(delay) => {
                        let at = self.clock.now()
                            + chrono::Duration::from_std(delay).unwrap_or_default();
                        self.store.release_item(&item, at).await?;
                    }
                    Attempt::Done(outcome) => {
                        let reference = tasks
                            .get(&item.task_id)
                            .and_then(|t| t.as_ref())
                            .and_then(|t| t.spec.reference.clone());
                        let result = TenantResult {
                            run_id: item.run_id.clone(),
                            tenant: item.tenant.clone(),
                            finished_at: self.clock.now(),
                            outcome,
                            reference,
                        };
                        finished_items.push((item, result));
                    }
                }
            }
            for run_id in self.store.finish_items(&finished_items).await? {
                let task_id = finished_items
                    .iter()
                    .find(|(i, _)| i.run_id == run_id)
                    .map(|(i, _)| i.task_id.clone())
                    .unwrap_or_default();
                finished.push(self.finalize(&task_id, &run_id).await?);
            }
        }
    }

    async fn execute_item(&self, item: WorkItem, task: Option<Task>) -> (WorkItem, Attempt) {
        let Some(task) = task else {
            let outcome = TenantOutcome::Failed {
                error: "the task was deleted while it ran".into(),
            };
            return (item, Attempt::Done(outcome));
        };
        let Some(command) = self.registry.get(&task.spec.command).cloned() else {
            let outcome = TenantOutcome::Failed {
                error: format!(
                    "command `{}` is not registered on worker {}",
                    task.spec.command, self.settings.worker
                ),
            };
            return (item, Attempt::Done(outcome));
        };
        let ctx = RunContext {
            task_id: task.id.clone(),
            run_id: item.run_id.clone(),
            tenant: item.tenant.clone(),
            parameters: task.spec.parameters.clone(),
            reference: task.spec.reference.clone(),
        };
        let attempt = execute(
            command,
            ctx,
            &self.settings,
            &self.clock,
            false,
            item.attempts,
        )
        .await;
        (item, attempt)
    }

    /// Sets the task's state from one shared run's results and notifies.
    async fn finalize(&self, task_id: &str, run_id: &str) -> Result<RunSummary, SchedulerError> {
        let results = self.store.run_results(task_id, run_id).await?;
        let state = run_state(&results);
        let summary = RunSummary {
            task_id: task_id.to_owned(),
            run_id: run_id.to_owned(),
            state,
            results,
        };
        if let Some(mut task) = self.store.get(task_id).await? {
            task.state = if task.next_run.is_some() {
                waiting_state(state)
            } else {
                state
            };
            self.store.update(&task).await?;
            task.state = state;
            self.notify(&task, &summary).await;
        }
        Ok(summary)
    }

    async fn notify(&self, task: &Task, run: &RunSummary) {
        if run.results.is_empty() || !task.spec.post_execution.any() || self.notifiers.is_empty() {
            return;
        }
        let failed: Vec<&str> = run
            .results
            .iter()
            .filter(|r| !r.outcome.is_ok())
            .map(|r| r.tenant.as_str())
            .collect();
        let kind = if failed.is_empty() {
            "task.completed"
        } else {
            "task.failed"
        };
        let mut parts = vec![kind, task.id.as_str()];
        parts.extend(failed.iter().copied());
        let event = Event {
            schema_version: SCHEMA_VERSION,
            kind: kind.into(),
            source: "cipp-scheduler".into(),
            title: format!("{}: {}", task.spec.name, task.state.cipp_name()),
            tenants: run.results.iter().map(|r| r.tenant.clone()).collect(),
            time: self.clock.now(),
            count: run.results.len(),
            reference: task.spec.reference.clone(),
            fingerprint: fingerprint(&parts),
            payload: json!({"taskId": task.id, "runId": run.run_id, "command": task.spec.command, "results": run.results}),
        };
        for n in &self.notifiers {
            if let Err(e) = n.notify(&event).await {
                tracing::warn!(notifier = n.name(), error = %e, "notification failed");
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
