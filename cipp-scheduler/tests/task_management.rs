//! Task management through the engine (list, read, change, remove; start times), the same
//! on every store: in memory, SQLite (a temp file) and PostgreSQL (127.0.0.1:5432,
//! database `test`, trust authentication; `CIPP_PG` overrides). In CI (`CI=true`) an
//! unreachable PostgreSQL fails the tests; elsewhere they say plainly that they were
//! skipped.
#![cfg(all(feature = "sqlite", feature = "postgres"))]

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use cipp_core::{Clock, ManualClock};
use cipp_scheduler::command::{Command, CommandError, CommandOutput, Registry, RunContext};
use cipp_scheduler::engine::{Engine, StaticTenants};
use cipp_scheduler::manage::{TaskFilter, TaskUpdate};
use cipp_scheduler::postgres::PgStore;
use cipp_scheduler::recurrence::{Recurrence, Schedule};
use cipp_scheduler::sqlite::SqliteStore;
use cipp_scheduler::store::{MemoryStore, Store};
use cipp_scheduler::task::{Lease, NewTask, PostExecution, Target, TaskState};
use cipp_scheduler::SchedulerError;
use serde_json::{json, Value};
use tokio::sync::Notify;

mod stores;
use stores::*;

/// Refuses `{"bad": …}`; when `gate` is set, waits for it before answering.
#[derive(Default)]
struct Probe {
    gate: Option<Arc<Notify>>,
    started: Arc<Notify>,
}

#[async_trait]
impl Command for Probe {
    fn validate(&self, p: &Value) -> Result<(), String> {
        match p.get("bad") {
            Some(_) => Err("`bad` is not a parameter of probe".into()),
            None => Ok(()),
        }
    }
    async fn run(&self, ctx: RunContext) -> Result<CommandOutput, CommandError> {
        if let Some(gate) = &self.gate {
            self.started.notify_one();
            gate.notified().await;
        }
        Ok(CommandOutput::Done(json!({"tenant": ctx.tenant})))
    }
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("time")
}

const NOW: &str = "2026-11-27T09:00:00Z";

fn engine(store: Arc<dyn Store>, probe: Probe) -> (Engine, ManualClock) {
    let clock = ManualClock::new(at(NOW));
    let mut reg = Registry::new();
    let probe = Arc::new(probe);
    reg.register("probe", probe.clone());
    reg.register("other", probe);
    let tenants = StaticTenants {
        all: vec!["a.com".into(), "b.com".into()],
        ..Default::default()
    };
    let engine = Engine::new(store, reg, Arc::new(tenants), Arc::new(clock.clone()));
    (engine, clock)
}

fn task(name: &str, command: &str, first: DateTime<Utc>, rec: &str) -> NewTask {
    NewTask::builder(
        name,
        command,
        Schedule::new(first, Recurrence::parse(rec).expect("recurrence")),
    )
    .tenant("a.com")
    .build()
}

fn names(tasks: &[cipp_scheduler::task::Task]) -> Vec<&str> {
    tasks.iter().map(|t| t.spec.name.as_str()).collect()
}

/// Listing with filters, reading one task and its results, a missing task.
async fn listing(store: Arc<dyn Store>) {
    let (e, clock) = engine(store, Probe::default());
    let now = clock.now();
    let weekly = e
        .add(task("Weekly MFA report", "probe", now, "7d"))
        .await
        .expect("add");
    e.add(task(
        "daily sign-ins",
        "other",
        now + Duration::hours(1),
        "1d",
    ))
    .await
    .expect("add");
    let mut alert = task("Alert: MFA", "probe", now + Duration::hours(2), "1d");
    alert.hidden = true;
    e.add(alert).await.expect("add");

    let all = e.list_tasks(&TaskFilter::new()).await.expect("list");
    assert_eq!(
        names(&all),
        ["daily sign-ins", "Weekly MFA report"],
        "by name, hidden left out"
    );
    let with_hidden = e
        .list_tasks(&TaskFilter::new().include_hidden())
        .await
        .expect("list");
    assert_eq!(with_hidden.len(), 3);
    let mfa = e
        .list_tasks(&TaskFilter::new().name_contains("mfa").include_hidden())
        .await
        .expect("list");
    assert_eq!(names(&mfa), ["Alert: MFA", "Weekly MFA report"]);
    let probe = e
        .list_tasks(&TaskFilter::new().command("PROBE"))
        .await
        .expect("list");
    assert_eq!(names(&probe), ["Weekly MFA report"]);

    // Run the due one: it completes a run and waits as planned.
    assert_eq!(e.tick().await.expect("tick").len(), 1);
    let planned = e
        .list_tasks(&TaskFilter::new().state(TaskState::Planned))
        .await
        .expect("list");
    assert_eq!(planned.len(), 2);
    let failed = e
        .list_tasks(&TaskFilter::new().state(TaskState::Failed))
        .await
        .expect("list");
    assert!(failed.is_empty());

    let read = e.task(&weekly.id).await.expect("read");
    assert_eq!((read.attempts, read.state), (1, TaskState::Planned));
    assert_eq!(e.task_results(&weekly.id).await.expect("results").len(), 1);

    let missing = e.task("no-such-task").await.expect_err("missing");
    assert!(
        matches!(missing, SchedulerError::NotFound(_)),
        "{missing:?}"
    );
    assert!(missing.to_string().contains("no such task"), "{missing}");
    assert!(matches!(
        e.task_results("no-such-task").await,
        Err(SchedulerError::NotFound(_))
    ));
}

/// Changing a task: each field, validation before anything is written, next run computed
/// again, a unique name kept unique, an empty change writing nothing.
async fn updating(store: Arc<dyn Store>) {
    let (e, clock) = engine(store.clone(), Probe::default());
    let now = clock.now();
    let start = now + Duration::days(1);
    let t = e
        .add(task("Report", "probe", start, "1d").clone())
        .await
        .expect("add");
    assert_eq!(t.next_run, Some(start), "the start time given when adding");

    // Rename, parameters, target, notifications, reference.
    let post = PostExecution {
        webhook: true,
        subject: Some("%taskname% for %tenantname%".into()),
        comment: Some("Found %resultcount%".into()),
        ..Default::default()
    };
    let changed = e
        .update_task(
            &t.id,
            TaskUpdate::new()
                .name("Daily report")
                .parameters(json!({"top": 5}))
                .target(Target::Tenant { id: "b.com".into() })
                .post_execution(post.clone())
                .reference("PSA-7"),
        )
        .await
        .expect("update");
    assert_eq!(changed.spec.name, "Daily report");
    assert_eq!(changed.spec.parameters, json!({"top": 5}));
    assert_eq!(changed.spec.target, Target::Tenant { id: "b.com".into() });
    assert_eq!(changed.spec.post_execution, post);
    assert_eq!(changed.spec.reference.as_deref(), Some("PSA-7"));
    assert_eq!(changed.next_run, Some(start), "schedule untouched");
    assert_eq!(
        (changed.state, changed.lease.clone()),
        (TaskState::Planned, None)
    );
    assert_eq!(e.task(&t.id).await.expect("read"), changed, "as stored");

    // Refusals write nothing.
    let refusals = [
        (TaskUpdate::new().parameters(json!({"bad": 1})), "`bad`"),
        (TaskUpdate::new().name("  "), "needs a name"),
        (
            TaskUpdate::new().post_execution(PostExecution {
                subject: Some("%nosuchvariable%".into()),
                ..Default::default()
            }),
            "nosuchvariable",
        ),
        (
            TaskUpdate::new().schedule(Schedule::new(now, Recurrence::Every { seconds: 5 })),
            "",
        ),
        (
            TaskUpdate::new().target(Target::Tenant { id: " ".into() }),
            "empty tenant",
        ),
    ];
    for (update, says) in refusals {
        let err = e.update_task(&t.id, update).await.expect_err("refused");
        assert!(
            matches!(
                err,
                SchedulerError::Invalid(_) | SchedulerError::Schedule(_)
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains(says), "{err}");
        assert_eq!(
            e.task(&t.id).await.expect("read"),
            changed,
            "nothing written"
        );
    }

    // Clearing the reference; an update that changes nothing writes nothing.
    let cleared = e
        .update_task(&t.id, TaskUpdate::new().clear_reference())
        .await
        .expect("update");
    assert_eq!(cleared.spec.reference, None);
    let same = e
        .update_task(&t.id, TaskUpdate::new())
        .await
        .expect("no-op");
    assert_eq!(same, cleared);

    // A new start time moves the next run (the task never ran).
    let later = now + Duration::days(3);
    let moved = e
        .update_task(&t.id, TaskUpdate::new().start_at(later))
        .await
        .expect("update");
    assert_eq!(moved.next_run, Some(later));
    assert!(
        e.tick().await.expect("tick").is_empty(),
        "not due before its start"
    );
    // Back to now: due at the next tick.
    e.update_task(&t.id, TaskUpdate::new().start_at(now))
        .await
        .expect("update");
    assert_eq!(e.tick().await.expect("tick").len(), 1);
    let ran = e.task(&t.id).await.expect("read");
    assert_eq!(
        (ran.attempts, ran.next_run),
        (1, Some(now + Duration::days(1)))
    );

    // After a run, a new recurrence anchored in the past skips to the next slot after now.
    clock.set(now + Duration::minutes(90));
    let hourly = e
        .update_task(
            &t.id,
            TaskUpdate::new().recurrence(Recurrence::parse("1h").expect("1h")),
        )
        .await
        .expect("update");
    assert_eq!(hourly.next_run, Some(now + Duration::hours(2)));
    assert_eq!(hourly.attempts, 1, "run count kept");
    assert_eq!(
        e.task_results(&t.id).await.expect("results").len(),
        1,
        "results kept"
    );

    // A finished one-off task given a new start time is planned again.
    let once = e
        .add(task("Once", "probe", clock.now(), "0"))
        .await
        .expect("add");
    e.tick().await.expect("tick");
    let done = e.task(&once.id).await.expect("read");
    assert_eq!((done.state, done.next_run), (TaskState::Completed, None));
    let again = clock.now() + Duration::hours(1);
    let replanned = e
        .update_task(&once.id, TaskUpdate::new().start_at(again))
        .await
        .expect("update");
    assert_eq!(
        (replanned.state, replanned.next_run),
        (TaskState::Planned, Some(again))
    );
    clock.set(again);
    assert_eq!(
        e.tick().await.expect("tick").len(),
        2,
        "the one-off and the hourly task"
    );

    // A unique name stays unique.
    let mut unique = task("Unique", "probe", clock.now() + Duration::days(9), "1d");
    unique.unique_name = true;
    let unique = e.add(unique).await.expect("add");
    let err = e
        .update_task(&unique.id, TaskUpdate::new().name("ONCE"))
        .await
        .expect_err("taken");
    assert!(err.to_string().contains("already exists"), "{err}");
    e.update_task(&unique.id, TaskUpdate::new().name("UNIQUE"))
        .await
        .expect("its own name in another case");

    let missing = e
        .update_task("no-such-task", TaskUpdate::new().name("x"))
        .await
        .expect_err("missing");
    assert!(
        matches!(missing, SchedulerError::NotFound(_)),
        "{missing:?}"
    );
}

/// A task claimed by a worker, or with a run in progress, is neither changed nor removed;
/// once the claim lapses without a run it can be.
async fn busy_tasks_are_refused(store: Arc<dyn Store>) {
    let (e, clock) = engine(store.clone(), Probe::default());
    let now = clock.now();
    let t = e.add(task("Busy", "probe", now, "1d")).await.expect("add");

    // Another worker holds it.
    let held = store
        .claim(
            &t.id,
            now,
            &Lease::new("worker-7", now + Duration::minutes(15)),
        )
        .await
        .expect("claim")
        .expect("claimed");
    for err in [
        e.update_task(&t.id, TaskUpdate::new().name("x"))
            .await
            .expect_err("update refused"),
        e.remove_task(&t.id).await.expect_err("remove refused"),
    ] {
        assert!(matches!(err, SchedulerError::Invalid(_)), "{err:?}");
        let text = err.to_string();
        assert!(text.contains("claimed by worker worker-7"), "{text}");
        assert!(text.contains("try again when the run has ended"), "{text}");
    }
    assert_eq!(e.task(&t.id).await.expect("read"), held, "untouched");

    // The worker died before running it: once its lease has lapsed, changes are allowed
    // and the task is planned again (claimable by the next tick).
    clock.set(now + Duration::minutes(16));
    let changed = e
        .update_task(&t.id, TaskUpdate::new().name("Renamed"))
        .await
        .expect("update");
    assert_eq!(
        (changed.state, changed.lease.clone()),
        (TaskState::Planned, None)
    );
    assert_eq!(e.tick().await.expect("tick").len(), 1);

    // A run in progress (interrupted, waiting to be resumed) is refused even without a
    // live lease.
    let t2 = e
        .add(task("Interrupted", "probe", clock.now(), "1d"))
        .await
        .expect("add");
    let mut claimed = store
        .claim(
            &t2.id,
            clock.now(),
            &Lease::new("worker-8", clock.now() + Duration::minutes(1)),
        )
        .await
        .expect("claim")
        .expect("claimed");
    let token = claimed.lease.as_ref().expect("lease").token.clone();
    claimed.state = TaskState::Running;
    claimed.current_run = Some("run-1".into());
    store.update(&claimed, &token, &[]).await.expect("running");
    clock.set(clock.now() + Duration::minutes(5));
    let err = e.remove_task(&t2.id).await.expect_err("running");
    assert!(err.to_string().contains("running (run run-1)"), "{err}");
    assert!(e.task(&t2.id).await.is_ok(), "still there");
}

/// A task whose command is running right now (a real run) is refused; once it ends the
/// change goes through.
async fn refused_during_a_real_run(store: Arc<dyn Store>) {
    let gate = Arc::new(Notify::new());
    let probe = Probe {
        gate: Some(gate.clone()),
        ..Default::default()
    };
    let started = probe.started.clone();
    let (e, clock) = engine(store, probe);
    let e = Arc::new(e);
    let t = e
        .add(task("Slow", "probe", clock.now(), "1d"))
        .await
        .expect("add");
    let runner = {
        let e = e.clone();
        tokio::spawn(async move { e.tick().await })
    };
    started.notified().await;
    let err = e
        .update_task(&t.id, TaskUpdate::new().name("x"))
        .await
        .expect_err("running");
    assert!(err.to_string().contains("running"), "{err}");
    let err = e.remove_task(&t.id).await.expect_err("running");
    assert!(err.to_string().contains("cannot be removed"), "{err}");
    gate.notify_one();
    assert_eq!(runner.await.expect("join").expect("tick").len(), 1);
    let renamed = e
        .update_task(&t.id, TaskUpdate::new().name("Fast"))
        .await
        .expect("update after the run");
    assert_eq!(renamed.spec.name, "Fast");
}

/// Removing a task removes its results; a missing task is not found.
async fn removing(store: Arc<dyn Store>) {
    let (e, clock) = engine(store.clone(), Probe::default());
    let t = e
        .add(task("Gone", "probe", clock.now(), "1d"))
        .await
        .expect("add");
    e.tick().await.expect("tick");
    assert_eq!(e.task_results(&t.id).await.expect("results").len(), 1);
    e.remove_task(&t.id).await.expect("remove");
    assert!(matches!(
        e.task(&t.id).await,
        Err(SchedulerError::NotFound(_))
    ));
    assert!(
        store.results(&t.id).await.expect("results").is_empty(),
        "results removed"
    );
    assert!(matches!(
        e.remove_task(&t.id).await,
        Err(SchedulerError::NotFound(_))
    ));
    assert!(e
        .list_tasks(&TaskFilter::new().include_hidden())
        .await
        .expect("list")
        .is_empty());
}

macro_rules! on_every_store {
    ($($name:ident),* $(,)?) => {
        mod memory {
            use super::*;
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(Arc::new(MemoryStore::new())).await;
                }
            )*
        }
        mod sqlite {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let dir = TempDir::new();
                    super::$name(Arc::new(SqliteStore::open(dir.db()).expect("open"))).await;
                }
            )*
        }
        mod postgres {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(schema) = schema().await else { return };
                    let store = PgStore::connect(&config(), &schema).await.expect("connect");
                    super::$name(Arc::new(store)).await;
                    drop_schema(&schema).await;
                }
            )*
        }
    };
}

on_every_store!(
    listing,
    updating,
    busy_tasks_are_refused,
    refused_during_a_real_run,
    removing,
);
