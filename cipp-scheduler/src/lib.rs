//! A durable, multi-tenant task scheduler for cipp-rs.
//!
//! Tasks ([`task::NewTask`]) name a registered [`command::Command`], a target (one tenant,
//! a group, all tenants minus exclusions) and a [`recurrence::Schedule`] (once, every N
//! minutes/hours/days, or a cron rule in an IANA time zone, with a catch-up policy). The
//! [`engine::Engine`] claims due tasks from a [`store::Store`] (in memory, SQLite or PostgreSQL), fans out
//! over the tenants with bounded concurrency, stores per-tenant results, derives an honest
//! state (never "completed" when a tenant failed), computes the next run without drift and
//! sends [`notify::Event`]s — per tenant or per run, only with findings when asked — to the
//! [`notify::Channel`]s each task asks for (webhook: JSON schema, Teams, Slack, Discord;
//! e-mail; HaloPSA tickets per client, merged into open ones). The engine knows nothing of
//! Microsoft 365: the `cipp` facade registers the built-in commands.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), cipp_scheduler::SchedulerError> {
//! use std::sync::Arc;
//! use async_trait::async_trait;
//! use cipp_core::ManualClock;
//! use cipp_scheduler::command::{Command, CommandError, CommandOutput, Registry, RunContext};
//! use cipp_scheduler::engine::{Engine, StaticTenants};
//! use cipp_scheduler::recurrence::{Recurrence, Schedule};
//! use cipp_scheduler::store::MemoryStore;
//! use cipp_scheduler::task::{NewTask, Target, TaskState};
//!
//! struct Hello;
//! #[async_trait]
//! impl Command for Hello {
//!     fn validate(&self, _: &serde_json::Value) -> Result<(), String> { Ok(()) }
//!     async fn run(&self, ctx: RunContext) -> Result<CommandOutput, CommandError> {
//!         Ok(CommandOutput::Done(serde_json::json!({"hello": ctx.tenant})))
//!     }
//! }
//! let clock = ManualClock::new("2026-01-01T09:00:00Z".parse().unwrap());
//! let mut registry = Registry::new();
//! registry.register("hello", Arc::new(Hello));
//! let tenants = StaticTenants { all: vec!["a.com".into(), "b.com".into()], ..Default::default() };
//! let engine = Engine::new(Arc::new(MemoryStore::new()), registry, Arc::new(tenants), Arc::new(clock.clone()));
//! let task = engine.add(NewTask {
//!     name: "greet".into(), command: "hello".into(), parameters: serde_json::json!({}),
//!     target: Target::AllTenants { exclude_tenants: vec![], exclude_groups: vec![] },
//!     schedule: Schedule::new(clock.now(), Recurrence::parse("1d")?),
//!     post_execution: Default::default(), reference: None, hidden: false, unique_name: false,
//! }).await?;
//! let runs = engine.tick().await?;
//! assert_eq!(runs[0].results.len(), 2);
//! assert_eq!(engine.next_runs(&task.id, 2).await?.len(), 2);
//! # use cipp_core::Clock;
//! # Ok(()) }
//! ```
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod alert_state;
pub mod command;
pub mod engine;
pub mod kv;
pub mod manage;
pub mod notify;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod recurrence;
#[cfg(feature = "sqlite")]
pub mod sqlite;
pub mod store;
pub mod task;
pub mod tenant_groups;

pub use cipp_core;

/// Scheduler errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SchedulerError {
    /// A task, schedule or parameter was refused.
    #[error("invalid: {0}")]
    Invalid(String),
    /// A recurrence, cron expression, time zone or time computation was refused.
    #[error("schedule: {0}")]
    Schedule(#[from] recurrence::ScheduleError),
    /// No such task (or other stored object: the message names it).
    #[error("not found: {0}")]
    NotFound(String),
    /// The store failed.
    #[error("store: {0}")]
    Store(String),
    /// This worker no longer holds the lease on a task or work item: it expired and another
    /// worker claimed it (or the task was deleted). Nothing was written; the worker stops
    /// that work and leaves it to the new holder.
    #[error(
        "lease lost on {what}: it expired and another worker took it over (or the task was \
         deleted); nothing was written — raise `EngineSettings::lease` if commands are slow \
         and this happens often"
    )]
    LeaseLost {
        /// The task id, or `run/tenant` of a work item.
        what: String,
    },
    /// A notification could not be delivered.
    #[error("notification: {0}")]
    Notify(String),
}
