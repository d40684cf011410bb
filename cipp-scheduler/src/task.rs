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
    /// Done, but something needs attention.
    Warning {
        /// Output.
        output: Value,
        /// Whether the output was cut to the size limit.
        truncated: bool,
        /// What needs attention.
        message: String,
    },
    /// Done for good: the command said the task need not run for this tenant again
    /// ([`crate::command::CommandOutput::Finished`]).
    Finished {
        /// Output.
        output: Value,
        /// Whether the output was cut to the size limit.
        truncated: bool,
        /// What was finished.
        message: String,
    },
    /// Failed.
    Failed {
        /// The error: its message (with what to do), and the service's status, code and
        /// request id when a service answered. Results stored by earlier versions (a plain
        /// message) are read as a summary with that message.
        #[serde(deserialize_with = "error_summary_or_text")]
        error: cipp_core::ErrorSummary,
    },
    /// Throttled: retried for this tenant after the delay.
    Throttled {
        /// When to retry.
        retry_at: DateTime<Utc>,
    },
}

fn error_summary_or_text<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<cipp_core::ErrorSummary, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Summary(cipp_core::ErrorSummary),
        Text(String),
    }
    Ok(match Either::deserialize(d)? {
        Either::Summary(s) => s,
        Either::Text(t) => cipp_core::ErrorSummary::from_message(t),
    })
}

impl TenantOutcome {
    /// How many findings the outcome reports (`%resultcount%`): the length of an array
    /// output, nothing for an empty output (`null`, `[]`, `{}`, `""`), one for any other
    /// output; one at least for a warning; none for no change, a failure or throttling.
    pub fn findings(&self) -> usize {
        fn count(v: &Value) -> usize {
            match v {
                Value::Null => 0,
                Value::Array(a) => a.len(),
                Value::Object(o) => usize::from(!o.is_empty()),
                Value::String(s) => usize::from(!s.is_empty()),
                _ => 1,
            }
        }
        match self {
            TenantOutcome::Succeeded { output, .. } | TenantOutcome::Finished { output, .. } => {
                count(output)
            }
            TenantOutcome::Warning { output, .. } => count(output).max(1),
            _ => 0,
        }
    }

    /// Whether it succeeded (with or without changes, warnings included).
    pub fn is_ok(&self) -> bool {
        matches!(
            self,
            TenantOutcome::Succeeded { .. }
                | TenantOutcome::NoChange { .. }
                | TenantOutcome::Warning { .. }
                | TenantOutcome::Finished { .. }
        )
    }

    /// Whether the command finished its work in this tenant for good.
    pub fn is_finished(&self) -> bool {
        matches!(self, TenantOutcome::Finished { .. })
    }
}

/// Whether a run's results end its task: at least one result, and every tenant answered
/// [`TenantOutcome::Finished`]. The task then gets no next run, recurring or not.
pub fn run_finishes_task(results: &[TenantResult]) -> bool {
    !results.is_empty() && results.iter().all(|r| r.outcome.is_finished())
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

/// Post-execution notifications: which channels a task's events go to, how they are
/// grouped, when they are sent, and the alert subject and comment.
///
/// The subject and comment may use the variables `%tenantname%`, `%tenantid%`,
/// `%resultcount%` and `%taskname%` ([`crate::notify::template`]); an unknown variable is
/// refused when the task is added.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostExecution {
    /// Send to the webhook notifiers ([`crate::notify::Channel::Webhook`]).
    #[serde(default)]
    pub webhook: bool,
    /// Send e-mail ([`crate::notify::Channel::Email`]).
    #[serde(default)]
    pub email: bool,
    /// Create a PSA ticket ([`crate::notify::Channel::Psa`]).
    #[serde(default)]
    pub psa: bool,
    /// Notify only when the run found something ([`TenantOutcome::findings`] above zero)
    /// or a tenant failed: a run that found nothing stays silent.
    #[serde(default)]
    pub only_with_findings: bool,
    /// One event per tenant or per run; `None` takes the default of the task's kind
    /// ([`PostExecution::grouping`]: per tenant for alerts, per run otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per: Option<NotifyPer>,
    /// A custom subject (the event's title), with variables.
    #[serde(default)]
    pub subject: Option<String>,
    /// An alert comment carried in every event, with variables.
    #[serde(default)]
    pub comment: Option<String>,
}

/// How a multi-tenant run is reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum NotifyPer {
    /// One event per tenant, as CIPP sends its alerts.
    Tenant,
    /// One event for the whole run.
    Run,
}

impl PostExecution {
    /// Whether any notification is asked for.
    pub fn any(&self) -> bool {
        self.webhook || self.email || self.psa
    }

    /// Whether events go to `channel`.
    pub fn wants(&self, channel: crate::notify::Channel) -> bool {
        use crate::notify::Channel;
        match channel {
            Channel::Webhook => self.webhook,
            Channel::Email => self.email,
            Channel::Psa => self.psa,
        }
    }

    /// The grouping in effect: the one asked for, else per tenant for an alert (a hidden
    /// task, as CIPP's scripted alerts are) and per run for any other task.
    pub fn grouping(&self, alert: bool) -> NotifyPer {
        self.per.unwrap_or(if alert {
            NotifyPer::Tenant
        } else {
            NotifyPer::Run
        })
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
    /// Whose permissions the task runs with: the name of the principal that added it
    /// ([`crate::engine::Engine::add_owned`]). A runner that enforces access control (the
    /// `cipp` facade's `commands::OwnedCommands`) looks the owner's roles up each time the
    /// task runs, so a role changed after the task was added applies to its next run.
    /// `None` (tasks added with [`crate::engine::Engine::add`], and tasks stored before
    /// owners existed): the task has no owner; the engine itself never checks permissions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
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

impl NewTask {
    /// Starts a task that runs the registered `command` with `parameters` on `schedule`:
    /// for every tenant unless a target is given, without notifications.
    ///
    /// ```
    /// use cipp_scheduler::recurrence::{Recurrence, Schedule};
    /// use cipp_scheduler::notify::Channel;
    /// use cipp_scheduler::task::{NewTask, Target};
    /// let t = NewTask::builder(
    ///     "Weekly MFA report",
    ///     "tenant.mfa_registration",
    ///     Schedule::new("2026-12-07T09:00:00Z".parse()?, Recurrence::parse("7d")?),
    /// )
    /// .tenant("contoso.onmicrosoft.com")
    /// .reference("PSA-1001")
    /// .notify_on(Channel::Webhook)
    /// .build();
    /// assert_eq!(t.target, Target::Tenant { id: "contoso.onmicrosoft.com".into() });
    /// assert!(t.post_execution.webhook && !t.post_execution.email);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn builder(
        name: impl Into<String>,
        command: impl Into<String>,
        schedule: Schedule,
    ) -> NewTaskBuilder {
        NewTaskBuilder {
            task: NewTask {
                name: name.into(),
                command: command.into(),
                parameters: Value::Object(Default::default()),
                target: Target::AllTenants {
                    exclude_tenants: Vec::new(),
                    exclude_groups: Vec::new(),
                },
                schedule,
                post_execution: PostExecution::default(),
                reference: None,
                hidden: false,
                unique_name: false,
            },
        }
    }
}

/// Builds a [`NewTask`]; see [`NewTask::builder`].
#[derive(Clone, Debug)]
#[must_use = "call build() to get the task"]
pub struct NewTaskBuilder {
    task: NewTask,
}

impl NewTaskBuilder {
    /// The command's parameters, as JSON (checked by the command when the task is added).
    pub fn parameters(mut self, parameters: Value) -> Self {
        self.task.parameters = parameters;
        self
    }
    /// The command's parameters, from a typed value.
    pub fn parameters_from<T: Serialize>(
        mut self,
        parameters: &T,
    ) -> Result<Self, crate::SchedulerError> {
        self.task.parameters = serde_json::to_value(parameters).map_err(|e| {
            crate::SchedulerError::Invalid(format!("parameters cannot be serialised: {e}"))
        })?;
        Ok(self)
    }
    /// Runs for one tenant.
    pub fn tenant(mut self, id: impl Into<String>) -> Self {
        self.task.target = Target::Tenant { id: id.into() };
        self
    }
    /// Runs for a tenant group (resolved when the task runs).
    pub fn group(mut self, name: impl Into<String>) -> Self {
        self.task.target = Target::Group { name: name.into() };
        self
    }
    /// Runs for every tenant but these.
    pub fn all_tenants_except(mut self, tenants: Vec<String>, groups: Vec<String>) -> Self {
        self.task.target = Target::AllTenants {
            exclude_tenants: tenants,
            exclude_groups: groups,
        };
        self
    }
    /// Sends each run's events to the notifiers of `channel` (once per channel asked
    /// for; see [`PostExecution::wants`]).
    pub fn notify_on(mut self, channel: crate::notify::Channel) -> Self {
        use crate::notify::Channel;
        let p = &mut self.task.post_execution;
        match channel {
            Channel::Webhook => p.webhook = true,
            Channel::Email => p.email = true,
            Channel::Psa => p.psa = true,
        }
        self
    }
    /// Notifies only when the run found something or a tenant failed.
    pub fn notify_only_with_findings(mut self) -> Self {
        self.task.post_execution.only_with_findings = true;
        self
    }
    /// One event per tenant or per run (see [`PostExecution::grouping`]).
    pub fn notify_per(mut self, per: NotifyPer) -> Self {
        self.task.post_execution.per = Some(per);
        self
    }
    /// The events' subject, with variables (`%tenantname%`, `%resultcount%`, …).
    pub fn alert_subject(mut self, subject: impl Into<String>) -> Self {
        self.task.post_execution.subject = Some(subject.into());
        self
    }
    /// The caller's reference, carried into every result and notification.
    pub fn reference(mut self, reference: impl Into<String>) -> Self {
        self.task.reference = Some(reference.into());
        self
    }
    /// Hides the task from listings (alerts).
    pub fn hidden(mut self) -> Self {
        self.task.hidden = true;
        self
    }
    /// Refuses the task when another one has the same name.
    pub fn unique_name(mut self) -> Self {
        self.task.unique_name = true;
        self
    }
    /// The alert comment carried in every event, with variables.
    pub fn alert_comment(mut self, comment: impl Into<String>) -> Self {
        self.task.post_execution.comment = Some(comment.into());
        self
    }
    /// The task.
    pub fn build(self) -> NewTask {
        self.task
    }
}
