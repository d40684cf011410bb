//! Commands: what tasks run, registered by name.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

use crate::SchedulerError;

/// What a command gets for one tenant.
#[derive(Clone, Debug)]
pub struct RunContext {
    /// The task.
    pub task_id: String,
    /// The run (use it as an idempotency key: a retried run keeps its id).
    pub run_id: String,
    /// The tenant.
    pub tenant: String,
    /// The task's parameters.
    pub parameters: Value,
    /// The task's reference.
    pub reference: Option<String>,
}

/// How a command failed for one tenant.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum CommandError {
    /// It failed; the summary says why and what to do, with the service's status, code
    /// and request id when a service answered.
    Failed(cipp_core::ErrorSummary),
    /// The service throttled it; retry this tenant after the delay.
    Throttled {
        /// How long to wait (the engine clamps it to [`MAX_RETRY_AFTER`]).
        retry_after: Duration,
    },
}

impl CommandError {
    /// A failure described by a message (bad parameters, a refused precondition).
    pub fn failed(message: impl Into<String>) -> Self {
        CommandError::Failed(cipp_core::ErrorSummary::from_message(message))
    }
}

impl From<&cipp_core::Error> for CommandError {
    /// A service's throttling becomes [`CommandError::Throttled`]; anything else a failure
    /// that keeps the status, code and request id.
    fn from(e: &cipp_core::Error) -> Self {
        match e {
            cipp_core::Error::Throttled { retry_after, .. } => CommandError::Throttled {
                retry_after: *retry_after,
            },
            other => CommandError::Failed(cipp_core::ErrorSummary::from(other)),
        }
    }
}

impl From<cipp_core::Error> for CommandError {
    fn from(e: cipp_core::Error) -> Self {
        CommandError::from(&e)
    }
}

/// The longest throttling delay the engine honours: 24 hours. A command's `retry_after`
/// comes from a service's answer, so a larger one (or an absurd one) is clamped to this.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3_600);

/// A command's throttling delay clamped to [`MAX_RETRY_AFTER`].
pub fn clamp_retry_after(retry_after: Duration) -> Duration {
    retry_after.min(MAX_RETRY_AFTER)
}

/// When to retry after a throttling delay: `now` + the delay clamped to
/// [`MAX_RETRY_AFTER`] (never an overflow, whatever `now` and the delay are).
pub fn retry_at(
    now: chrono::DateTime<chrono::Utc>,
    retry_after: Duration,
) -> chrono::DateTime<chrono::Utc> {
    let delay = chrono::TimeDelta::from_std(clamp_retry_after(retry_after))
        .unwrap_or(chrono::TimeDelta::zero());
    now.checked_add_signed(delay)
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC)
}

/// What a command returns for one tenant.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum CommandOutput {
    /// Work done, with data for the results.
    Done(Value),
    /// Nothing needed doing.
    NoChange(String),
    /// Work done, but something needs the user's attention (a synced user changed in the
    /// cloud only, a mailbox over the shared-mailbox limit).
    Warning {
        /// Data for the results.
        output: Value,
        /// What needs attention.
        message: String,
    },
    /// Work done for good in this tenant: the task need not run here again (a one-shot
    /// trigger that fired). When every tenant of a run answers this, the task ends
    /// ([`crate::task::TaskState::Completed`], no next run), recurring or not.
    Finished {
        /// Data for the results.
        output: Value,
        /// What was finished, in words.
        message: String,
    },
}

/// A command tasks can run.
#[async_trait]
pub trait Command: Send + Sync + 'static {
    /// Checks parameters when a task is added (not when it runs).
    fn validate(&self, parameters: &Value) -> Result<(), String>;
    /// Runs for one tenant.
    async fn run(&self, ctx: RunContext) -> Result<CommandOutput, CommandError>;
}

/// Commands by name.
#[derive(Clone, Default)]
pub struct Registry {
    commands: BTreeMap<String, Arc<dyn Command>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.commands.keys()).finish()
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Registry::default()
    }

    /// Registers a command under `name` (names are case-insensitive).
    pub fn register(&mut self, name: &str, command: Arc<dyn Command>) -> &mut Self {
        self.commands.insert(name.to_ascii_lowercase(), command);
        self
    }

    /// The command called `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn Command>> {
        self.commands.get(&name.to_ascii_lowercase())
    }

    /// The registered names.
    pub fn names(&self) -> Vec<&str> {
        self.commands.keys().map(String::as_str).collect()
    }

    /// Refuses an unknown command or bad parameters.
    pub fn validate(&self, name: &str, parameters: &Value) -> Result<(), SchedulerError> {
        let c = self.get(name).ok_or_else(|| {
            SchedulerError::Invalid(format!(
                "unknown command `{name}` (registered: {})",
                self.names().join(", ")
            ))
        })?;
        c.validate(parameters)
            .map_err(|e| SchedulerError::Invalid(format!("parameters of `{name}`: {e}")))
    }
}
