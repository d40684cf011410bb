//! Tasks, targets, states and per-tenant results.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::recurrence::Schedule;

/// Whom a task runs for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
#[non_exhaustive]
pub enum Target {
    /// One tenant.
    Tenant {
        /// The tenant id.
        id: String,
    },
    /// A tenant group, resolved when the task runs.
    Group {
        /// The group name.
        name: String,
    },
    /// Every tenant, minus exclusions.
    AllTenants {
        /// Tenants left out.
        #[serde(default)]
        exclude_tenants: Vec<String>,
        /// Groups left out.
        #[serde(default)]
        exclude_groups: Vec<String>,
    },
}

/// A task's state. [`TaskState::cipp_name`] gives CIPP's word for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum TaskState {
    /// Waiting for its due time.
    Planned,
    /// Claimed, about to run.
    Pending,
    /// Running.
    Running,
    /// Every tenant succeeded (one-off task, or the last run of a recurring one).
    Completed,
    /// Some tenants failed.
    CompletedWithErrors,
    /// Every tenant failed.
    Failed,
    /// The last run failed, and the task will run again.
    FailedRecurring,
}

impl TaskState {
    /// CIPP's state names.
    pub fn cipp_name(self) -> &'static str {
        match self {
            TaskState::Planned => "Planned",
            TaskState::Pending => "Pending",
            TaskState::Running => "Running",
            TaskState::Completed => "Completed",
            TaskState::CompletedWithErrors => "Completed with errors",
            TaskState::Failed => "Failed",
            TaskState::FailedRecurring => "Failed - Planned",
        }
    }

    /// Whether the task is waiting to run again.
    pub fn is_planned(self) -> bool {
        matches!(
            self,
            TaskState::Planned | TaskState::FailedRecurring | TaskState::CompletedWithErrors
        )
    }

    /// A run's state from its per-tenant results: never success when a tenant failed or
    /// nothing was done. The one place a run's outcome becomes a state (every store and the
    /// engine use it).
    pub fn from_results(results: &[TenantResult]) -> TaskState {
        let ok = results.iter().filter(|r| r.outcome.is_ok()).count();
        if results.is_empty() || ok == 0 {
            TaskState::Failed
        } else if ok == results.len() {
            TaskState::Completed
        } else {
            TaskState::CompletedWithErrors
        }
    }

    /// The state a task keeps after a run with this outcome: a recurring task (`recurring`)
    /// waits as planned (or failed-recurring) and shows its last outcome; a one-off task
    /// keeps the run's state.
    pub fn after_run(run: TaskState, recurring: bool) -> TaskState {
        match (run, recurring) {
            (TaskState::Completed, true) => TaskState::Planned,
            (TaskState::Failed, true) => TaskState::FailedRecurring,
            (s, _) => s,
        }
    }
}

/// How one tenant's part of a run ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "camelCase")]
#[non_exhaustive]
pub enum TenantOutcome {
    /// Done, with the command's output (possibly truncated).
    Succeeded {
        /// Output.
        output: Value,
        /// Whether the output was cut to the size limit.
        truncated: bool,
    },
    /// The command found nothing to do.
    NoChange {
        /// Why.
        message: String,
    },
    /// Failed.
    Failed {
        /// The error, as the user should read it.
        error: String,
    },
    /// Throttled: retried for this tenant after the delay.
    Throttled {
        /// When to retry.
        retry_at: DateTime<Utc>,
    },
}

impl TenantOutcome {
    /// Whether it succeeded (with or without changes).
    pub fn is_ok(&self) -> bool {
        matches!(
            self,
            TenantOutcome::Succeeded { .. } | TenantOutcome::NoChange { .. }
        )
    }
}

/// One tenant's result of one run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantResult {
    /// The run.
    pub run_id: String,
    /// The tenant.
    pub tenant: String,
    /// When it finished.
    pub finished_at: DateTime<Utc>,
    /// How it ended.
    pub outcome: TenantOutcome,
    /// The task's reference (a PSA ticket id, say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// Post-execution notifications.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostExecution {
    /// Send to the webhook sinks.
    #[serde(default)]
    pub webhook: bool,
    /// Send e-mail.
    #[serde(default)]
    pub email: bool,
    /// Create a PSA ticket.
    #[serde(default)]
    pub psa: bool,
}

impl PostExecution {
    /// Whether any notification is asked for.
    pub fn any(&self) -> bool {
        self.webhook || self.email || self.psa
    }
}

/// A new task, before it is accepted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewTask {
    /// Display name.
    pub name: String,
    /// The command (must be registered).
    pub command: String,
    /// The command's parameters (validated by the command).
    pub parameters: Value,
    /// Whom it runs for.
    pub target: Target,
    /// When it runs.
    pub schedule: Schedule,
    /// Notifications after each run.
    #[serde(default)]
    pub post_execution: PostExecution,
    /// The caller's reference, carried into every result and notification.
    #[serde(default)]
    pub reference: Option<String>,
    /// Hidden from listings (alerts).
    #[serde(default)]
    pub hidden: bool,
    /// When set, no other task may have this name.
    #[serde(default)]
    pub unique_name: bool,
}

/// A stored task.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    /// Id.
    pub id: String,
    /// The definition.
    #[serde(flatten)]
    pub spec: NewTask,
    /// State.
    pub state: TaskState,
    /// Runs so far.
    pub attempts: u32,
    /// When the last run started.
    pub last_run: Option<DateTime<Utc>>,
    /// When it is due next (`None` once a one-off task ran).
    pub next_run: Option<DateTime<Utc>>,
    /// Who holds it and until when (several workers).
    #[serde(default)]
    pub lease: Option<Lease>,
    /// The run in progress, stored when it starts: a worker that takes the task over after
    /// the previous holder died resumes this run with the same id (the commands'
    /// idempotency key). `None` between runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_run: Option<String>,
}

/// A claim on a task (or work item) by one worker, until it expires.
///
/// The store gives every claim a fresh `token`; each later write of the claimed row must
/// present it (fencing), so a worker whose lease expired and was taken over gets
/// [`crate::SchedulerError::LeaseLost`] instead of overwriting the new holder's state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Lease {
    /// The worker.
    pub worker: String,
    /// Until when.
    pub until: DateTime<Utc>,
    /// The claim's fencing token (empty in a request; set by the store when it claims).
    #[serde(default)]
    pub token: String,
}

impl Lease {
    /// A lease request for `worker` until `until` (the store sets the token).
    pub fn new(worker: impl Into<String>, until: DateTime<Utc>) -> Self {
        Lease {
            worker: worker.into(),
            until,
            token: String::new(),
        }
    }
}
