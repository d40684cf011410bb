//! Task management through the [`Engine`]: list tasks with a [`TaskFilter`], read one, read
//! its results, change it with a [`TaskUpdate`] and remove it — so callers never reach into
//! the [`crate::store::Store`] themselves.
//!
//! A change or a removal takes the task's lease first (the same claim a worker takes to run
//! it, [`crate::store::Store::claim`]), so it never races a run: a task that is running or
//! claimed by a worker is refused with [`SchedulerError::Invalid`] saying so, and no worker
//! can start it while it is being changed. The change is then one fenced write that
//! releases the lease.
//!
//! The start time of a task is its schedule's [`Schedule::first_run`] (give it when adding,
//! or change it with [`TaskUpdate::start_at`]).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), cipp_scheduler::SchedulerError> {
//! use std::sync::Arc;
//! use async_trait::async_trait;
//! use cipp_core::ManualClock;
//! use cipp_scheduler::command::{Command, CommandError, CommandOutput, Registry, RunContext};
//! use cipp_scheduler::engine::{Engine, StaticTenants};
//! use cipp_scheduler::manage::{TaskFilter, TaskUpdate};
//! use cipp_scheduler::recurrence::{Recurrence, Schedule};
//! use cipp_scheduler::store::MemoryStore;
//! use cipp_scheduler::task::NewTask;
//!
//! struct Hello;
//! #[async_trait]
//! impl Command for Hello {
//!     fn validate(&self, _: &serde_json::Value) -> Result<(), String> { Ok(()) }
//!     async fn run(&self, _: RunContext) -> Result<CommandOutput, CommandError> {
//!         Ok(CommandOutput::NoChange("nothing to do".into()))
//!     }
//! }
//! let clock = ManualClock::new("2026-01-01T09:00:00Z".parse().unwrap());
//! let mut registry = Registry::new();
//! registry.register("hello", Arc::new(Hello));
//! let engine = Engine::new(
//!     Arc::new(MemoryStore::new()), registry,
//!     Arc::new(StaticTenants::default()), Arc::new(clock.clone()),
//! );
//! let start = "2026-01-02T06:00:00Z".parse().unwrap();
//! let task = engine
//!     .add(NewTask::builder("Greet", "hello", Schedule::new(start, Recurrence::parse("1d")?)).build())
//!     .await?;
//! assert_eq!(task.next_run, Some(start));
//!
//! let later = "2026-01-03T06:00:00Z".parse().unwrap();
//! let changed = engine
//!     .update_task(&task.id, TaskUpdate::new().name("Greet everyone").start_at(later))
//!     .await?;
//! assert_eq!((changed.spec.name.as_str(), changed.next_run), ("Greet everyone", Some(later)));
//!
//! let found = engine.list_tasks(&TaskFilter::new().name_contains("everyone")).await?;
//! assert_eq!(found.len(), 1);
//! engine.remove_task(&task.id).await?;
//! assert!(engine.task(&task.id).await.is_err());
//! # Ok(()) }
//! ```

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::engine::Engine;
use crate::recurrence::{Recurrence, Schedule};
use crate::task::{NewTask, PostExecution, Target, Task, TaskState, TenantResult};
use crate::SchedulerError;

/// Which tasks [`Engine::list_tasks`] returns. Every criterion set must hold; the default
/// lists every visible task.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TaskFilter {
    /// Only tasks in one of these states (empty: any state).
    pub states: Vec<TaskState>,
    /// Only tasks running this command (ASCII case ignored, as the registry does).
    pub command: Option<String>,
    /// Only tasks whose name contains this text (case ignored).
    pub name_contains: Option<String>,
    /// Hidden tasks (alerts) too.
    pub include_hidden: bool,
}

impl TaskFilter {
    /// Every visible task.
    pub fn new() -> Self {
        TaskFilter::default()
    }

    /// Also tasks in `state` (call again for more states).
    pub fn state(mut self, state: TaskState) -> Self {
        if !self.states.contains(&state) {
            self.states.push(state);
        }
        self
    }

    /// Only tasks running `command`.
    pub fn command(mut self, command: impl Into<String>) -> Self {
        self.command = Some(command.into());
        self
    }

    /// Only tasks whose name contains `text` (case ignored).
    pub fn name_contains(mut self, text: impl Into<String>) -> Self {
        self.name_contains = Some(text.into());
        self
    }

    /// Hidden tasks (alerts) too.
    pub fn include_hidden(mut self) -> Self {
        self.include_hidden = true;
        self
    }

    /// Whether `task` passes the filter.
    pub fn matches(&self, task: &Task) -> bool {
        (self.include_hidden || !task.spec.hidden)
            && (self.states.is_empty() || self.states.contains(&task.state))
            && self
                .command
                .as_deref()
                .is_none_or(|c| c.eq_ignore_ascii_case(&task.spec.command))
            && self
                .name_contains
                .as_deref()
                .is_none_or(|n| task.spec.name.to_lowercase().contains(&n.to_lowercase()))
    }
}

/// A change to a task's definition ([`Engine::update_task`]): each field set replaces that
/// part; fields left `None` keep theirs. The command itself cannot change (remove the task
/// and add another).
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct TaskUpdate {
    /// A new display name.
    pub name: Option<String>,
    /// New parameters, checked by the task's command as when a task is added.
    pub parameters: Option<Value>,
    /// A new target.
    pub target: Option<Target>,
    /// A new schedule (start time, recurrence, time zone, catch-up policy).
    pub schedule: Option<Schedule>,
    /// A new recurrence, keeping the rest of the schedule (applied after `schedule`).
    pub recurrence: Option<Recurrence>,
    /// A new start time ([`Schedule::first_run`]), keeping the rest of the schedule
    /// (applied after `schedule` and `recurrence`).
    pub start_at: Option<DateTime<Utc>>,
    /// New notification settings (channels, grouping, alert subject and comment).
    pub post_execution: Option<PostExecution>,
    /// A new reference: `Some(None)` clears it.
    pub reference: Option<Option<String>>,
}

impl TaskUpdate {
    /// No change yet.
    pub fn new() -> Self {
        TaskUpdate::default()
    }

    /// Renames the task.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Replaces the parameters.
    pub fn parameters(mut self, parameters: Value) -> Self {
        self.parameters = Some(parameters);
        self
    }

    /// Replaces the target.
    pub fn target(mut self, target: Target) -> Self {
        self.target = Some(target);
        self
    }

    /// Replaces the schedule.
    pub fn schedule(mut self, schedule: Schedule) -> Self {
        self.schedule = Some(schedule);
        self
    }

    /// Replaces the recurrence only.
    pub fn recurrence(mut self, recurrence: Recurrence) -> Self {
        self.recurrence = Some(recurrence);
        self
    }

    /// Moves the start time ([`Schedule::first_run`]).
    pub fn start_at(mut self, at: DateTime<Utc>) -> Self {
        self.start_at = Some(at);
        self
    }

    /// Replaces the notification settings.
    pub fn post_execution(mut self, post: PostExecution) -> Self {
        self.post_execution = Some(post);
        self
    }

    /// Sets the reference.
    pub fn reference(mut self, reference: impl Into<String>) -> Self {
        self.reference = Some(Some(reference.into()));
        self
    }

    /// Clears the reference.
    pub fn clear_reference(mut self) -> Self {
        self.reference = Some(None);
        self
    }

    /// Whether the update touches the schedule.
    fn touches_schedule(&self) -> bool {
        self.schedule.is_some() || self.recurrence.is_some() || self.start_at.is_some()
    }

    /// The definition `spec` with this change applied.
    fn apply(&self, spec: &NewTask) -> NewTask {
        let mut out = spec.clone();
        if let Some(n) = &self.name {
            out.name = n.clone();
        }
        if let Some(p) = &self.parameters {
            out.parameters = p.clone();
        }
        if let Some(t) = &self.target {
            out.target = t.clone();
        }
        if let Some(s) = &self.schedule {
            out.schedule = s.clone();
        }
        if let Some(r) = &self.recurrence {
            out.schedule.recurrence = r.clone();
        }
        if let Some(at) = self.start_at {
            out.schedule.first_run = at;
        }
        if let Some(p) = &self.post_execution {
            out.post_execution = p.clone();
        }
        if let Some(r) = &self.reference {
            out.reference = r.clone();
        }
        out
    }
}

/// Why `task` cannot be changed or removed now, if it cannot: a run in progress (or
/// interrupted and waiting to be resumed), or a live claim by a worker.
fn busy(task: &Task, now: DateTime<Utc>) -> Option<String> {
    if let Some(run) = &task.current_run {
        return Some(format!("running (run {run})"));
    }
    if task.state == TaskState::Running {
        return Some("running".into());
    }
    match &task.lease {
        Some(l) if l.until > now => {
            Some(format!("claimed by worker {} until {}", l.worker, l.until))
        }
        _ => None,
    }
}

fn refused(task: &Task, why: &str, what: &str) -> SchedulerError {
    SchedulerError::Invalid(format!(
        "task {} (`{}`) is {why}: it cannot be {what} now; try again when the run has ended",
        task.id, task.spec.name
    ))
}

fn not_found(id: &str) -> SchedulerError {
    SchedulerError::NotFound(format!(
        "task {id}: there is no such task (it may have been removed); list the tasks to find it"
    ))
}

/// Whether nothing but the claim (lease and state) differs between `a` and `b`: no run
/// and no other change happened in between.
fn same_but_claim(a: &Task, b: &Task) -> bool {
    a.spec == b.spec
        && a.attempts == b.attempts
        && a.last_run == b.last_run
        && a.next_run == b.next_run
        && a.current_run == b.current_run
        && a.owner == b.owner
}

/// The state a task waits in once released: a claim that never started a run (pending,
/// or running without a run in progress) counts as not having happened.
fn settled(state: TaskState) -> TaskState {
    match state {
        TaskState::Pending | TaskState::Running => TaskState::Planned,
        s => s,
    }
}

impl Engine {
    /// The tasks passing `filter`, by name (case ignored), then id.
    pub async fn list_tasks(&self, filter: &TaskFilter) -> Result<Vec<Task>, SchedulerError> {
        let mut tasks: Vec<Task> = self
            .store()
            .list(filter.include_hidden)
            .await?
            .into_iter()
            .filter(|t| filter.matches(t))
            .collect();
        tasks.sort_by(|a, b| {
            a.spec
                .name
                .to_lowercase()
                .cmp(&b.spec.name.to_lowercase())
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(tasks)
    }

    /// One task, hidden or not; [`SchedulerError::NotFound`] when there is none.
    pub async fn task(&self, id: &str) -> Result<Task, SchedulerError> {
        self.store().get(id).await?.ok_or_else(|| not_found(id))
    }

    /// A task's per-tenant results, oldest first; [`SchedulerError::NotFound`] when there
    /// is no such task.
    pub async fn task_results(&self, id: &str) -> Result<Vec<TenantResult>, SchedulerError> {
        self.task(id).await?;
        self.store().results(id).await
    }

    /// Changes a task's definition and returns the task as stored.
    ///
    /// The changed definition is checked as [`Engine::add`] checks a new one (the command
    /// validates the parameters, the subject and comment variables, the schedule, the
    /// target; a unique name stays unique) before anything is written. A task that is
    /// running, claimed by a worker, or whose interrupted run waits to be resumed is
    /// refused ([`SchedulerError::Invalid`]); a missing task is
    /// [`SchedulerError::NotFound`]. Results and run counts are kept.
    ///
    /// When the schedule changes, the next run is computed again: the first due time of
    /// the new schedule for a task that never ran or a one-off schedule (a start time in
    /// the past runs at the next tick); otherwise that time, or when it has passed the
    /// next occurrence after now (missed occurrences are not caught up). A finished task
    /// given a new schedule is planned again. An update that changes nothing writes
    /// nothing.
    pub async fn update_task(&self, id: &str, update: TaskUpdate) -> Result<Task, SchedulerError> {
        let now = self.clock.now();
        let snapshot = self.task(id).await?;
        if let Some(why) = busy(&snapshot, now) {
            return Err(refused(&snapshot, &why, "changed"));
        }
        let spec = update.apply(&snapshot.spec);
        if spec == snapshot.spec {
            return Ok(snapshot);
        }
        self.validate_spec(&spec)?;
        if spec.unique_name && !spec.name.eq_ignore_ascii_case(&snapshot.spec.name) {
            let taken = self
                .store()
                .list(true)
                .await?
                .iter()
                .any(|t| t.id != snapshot.id && t.spec.name.eq_ignore_ascii_case(&spec.name));
            if taken {
                return Err(SchedulerError::Invalid(format!(
                    "a task named `{}` already exists and this task's name must be unique; \
                     choose another name",
                    spec.name
                )));
            }
        }
        let next = if update.touches_schedule() {
            Some(self.next_due(&spec.schedule, &snapshot, now)?)
        } else {
            None
        };
        let (claimed, token) = self.claim_for_change(&snapshot, now, "changed").await?;
        if !same_but_claim(&snapshot, &claimed) {
            self.release(&claimed, &token, None).await;
            return Err(SchedulerError::Invalid(format!(
                "task {id} ran or was changed while this change was being made; read it \
                 again and retry"
            )));
        }
        let mut task = claimed;
        task.spec = spec;
        task.lease = None;
        task.state = settled(snapshot.state);
        if let Some(next) = next {
            task.next_run = next;
            if next.is_some() && !task.state.is_planned() {
                task.state = TaskState::Planned;
            }
        }
        self.store().update(&task, &token, &[]).await?;
        self.wake.notify_one();
        Ok(task)
    }

    /// Removes a task **and its results** (read them first with [`Engine::task_results`]
    /// to keep them). A task that is running, claimed by a worker, or whose interrupted
    /// run waits to be resumed is refused ([`SchedulerError::Invalid`]): remove it once
    /// the run has ended. A missing task is [`SchedulerError::NotFound`].
    pub async fn remove_task(&self, id: &str) -> Result<(), SchedulerError> {
        let now = self.clock.now();
        let snapshot = self.task(id).await?;
        if let Some(why) = busy(&snapshot, now) {
            return Err(refused(&snapshot, &why, "removed"));
        }
        // Held, no worker can start it between the check and the deletion.
        let _claim = self.claim_for_change(&snapshot, now, "removed").await?;
        self.store().delete(id).await
    }

    /// The next due time of `schedule` for a task that was `task` (see
    /// [`Engine::update_task`]).
    fn next_due(
        &self,
        schedule: &Schedule,
        task: &Task,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, SchedulerError> {
        let due = schedule.first_due()?;
        if task.attempts == 0 || schedule.recurrence == Recurrence::Once || due > now {
            return Ok(Some(due));
        }
        Ok(schedule.advance(due, now)?.next)
    }

    /// Takes the task's lease for a change. Refused when a worker holds it, or when a run
    /// started in between (the claim is then handed back as it was).
    async fn claim_for_change(
        &self,
        snapshot: &Task,
        now: DateTime<Utc>,
        what: &str,
    ) -> Result<(Task, String), SchedulerError> {
        let id = &snapshot.id;
        let Some(claimed) = self.store().claim(id, now, &self.lease(now)).await? else {
            return Err(match self.store().get(id).await? {
                None => not_found(id),
                Some(t) => refused(
                    &t,
                    &busy(&t, now).unwrap_or_else(|| "claimed by a worker".into()),
                    what,
                ),
            });
        };
        let Some(token) = claimed.lease.as_ref().map(|l| l.token.clone()) else {
            return Err(SchedulerError::Store(format!(
                "task {id} was claimed without a lease"
            )));
        };
        if claimed.current_run.is_some() {
            // A run was shared out between the check and the claim: hand it back.
            self.release(&claimed, &token, Some(TaskState::Running))
                .await;
            return Err(refused(&claimed, "running", what));
        }
        Ok((claimed, token))
    }

    /// Hands back a claim taken for a change that is not made: the lease released and the
    /// state the task had (`Running` for a run in progress; otherwise from its last run's
    /// results, since the claim overwrote it). Failures are logged: the lease then
    /// expires on its own.
    async fn release(&self, claimed: &Task, token: &str, running: Option<TaskState>) {
        let result = async {
            let Some(mut task) = self.store().get(&claimed.id).await? else {
                return Ok(());
            };
            task.lease = None;
            task.state = match (running, &task.current_run) {
                (Some(s), Some(_)) => s,
                _ => {
                    task.current_run = None;
                    self.state_from_last_run(&task).await?
                }
            };
            self.store().update(&task, token, &[]).await
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(task = %claimed.id, error = %e, "could not hand back a claim; it will expire");
        }
    }

    /// The state a task rests in after its last run, from that run's results (planned
    /// when it never ran).
    async fn state_from_last_run(&self, task: &Task) -> Result<TaskState, SchedulerError> {
        let results = self.store().results(&task.id).await?;
        let Some(last) = results.last().map(|r| r.run_id.clone()) else {
            return Ok(TaskState::Planned);
        };
        let run: Vec<TenantResult> = results.into_iter().filter(|r| r.run_id == last).collect();
        Ok(TaskState::after_run(
            TaskState::from_results(&run),
            task.next_run.is_some(),
        ))
    }
}
