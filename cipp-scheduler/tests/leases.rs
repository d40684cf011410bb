//! Claim limits, lease fencing, heartbeats and run-id recovery on the single-machine stores
//! (memory and SQLite), on a manual clock or paused Tokio time.

mod common;
use common::TokioClock;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cipp_core::{Clock, ManualClock};
use cipp_scheduler::command::{
    Command, CommandError, CommandOutput, Registry, RunContext, MAX_RETRY_AFTER,
};
use cipp_scheduler::engine::{Engine, EngineSettings, RunSummary, StaticTenants};
use cipp_scheduler::recurrence::{Recurrence, Schedule, ScheduleError};
use cipp_scheduler::store::{MemoryStore, SqliteStore, Store};
use cipp_scheduler::task::{Lease, NewTask, Target, Task, TaskState, TenantOutcome, TenantResult};
use cipp_scheduler::SchedulerError;
use serde_json::{json, Value};

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn stores() -> Vec<(&'static str, Arc<dyn Store>)> {
    vec![
        ("memory", Arc::new(MemoryStore::new())),
        ("sqlite", Arc::new(SqliteStore::open_in_memory().unwrap())),
    ]
}

/// A planned task, claimed by worker `a` at `now` for `minutes`; with its lease token.
async fn planned_and_claimed(
    store: &Arc<dyn Store>,
    now: DateTime<Utc>,
    minutes: i64,
) -> (Task, String) {
    store.insert(&planned(0, now)).await.unwrap();
    let t = claim_one(store, "a", now, minutes).await.unwrap();
    let token = t.lease.clone().unwrap().token;
    (t, token)
}

/// How many tasks hold a lease.
async fn leased(store: &Arc<dyn Store>) -> usize {
    let tasks = store.list(true).await.unwrap();
    tasks.iter().filter(|t| t.lease.is_some()).count()
}

/// The task `worker` claims at `now` with a lease of `minutes`, if any.
async fn claim_one(
    store: &Arc<dyn Store>,
    worker: &str,
    now: DateTime<Utc>,
    minutes: i64,
) -> Option<Task> {
    let lease = Lease::new(worker, now + chrono::Duration::minutes(minutes));
    store.claim_due(now, &lease, 1).await.unwrap().pop()
}

fn spec(i: usize, first: DateTime<Utc>, rec: &str) -> NewTask {
    NewTask {
        name: format!("task {i}"),
        command: "probe".into(),
        parameters: json!({}),
        target: Target::Tenant { id: "a.com".into() },
        schedule: Schedule::new(first, Recurrence::parse(rec).unwrap()),
        post_execution: Default::default(),
        reference: None,
        hidden: false,
        unique_name: false,
    }
}

fn planned(i: usize, due: DateTime<Utc>) -> Task {
    Task {
        id: format!("t{i:03}"),
        spec: spec(i, due, "0"),
        state: TaskState::Planned,
        attempts: 0,
        last_run: None,
        next_run: Some(due),
        lease: None,
        current_run: None,
        owner: None,
    }
}

fn result(run: &str) -> TenantResult {
    TenantResult {
        run_id: run.into(),
        tenant: "a.com".into(),
        finished_at: at("2026-11-27T09:00:00Z"),
        outcome: TenantOutcome::NoChange {
            message: "ok".into(),
        },
        reference: None,
    }
}

#[tokio::test]
async fn a_claim_takes_no_more_than_asked_earliest_first() {
    let now = at("2026-11-27T09:00:00Z");
    for (name, store) in stores() {
        for i in 0..10 {
            let due = now - chrono::Duration::minutes(10 - i as i64);
            store.insert(&planned(i, due)).await.unwrap();
        }
        let lease = Lease::new("w", now + chrono::Duration::minutes(15));
        let first = store.claim_due(now, &lease, 3).await.unwrap();
        let ids: Vec<&str> = first.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["t000", "t001", "t002"], "{name}: earliest first");
        assert!(first.iter().all(|t| t.state == TaskState::Pending));
        assert_eq!(store.claim_due(now, &lease, 0).await.unwrap().len(), 0);
        assert_eq!(store.claim_due(now, &lease, 4).await.unwrap().len(), 4);
        assert_eq!(store.claim_due(now, &lease, 100).await.unwrap().len(), 3);
        assert!(store.claim_due(now, &lease, 100).await.unwrap().is_empty());
        assert_eq!(leased(&store).await, 10, "{name}");
        // Every claim has its own token.
        let tokens: std::collections::BTreeSet<String> = store
            .list(true)
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.lease.unwrap().token)
            .collect();
        assert_eq!(tokens.len(), 10, "{name}");
    }
}

#[tokio::test]
async fn a_worker_whose_lease_was_taken_over_cannot_write() {
    let now = at("2026-11-27T09:00:00Z");
    for (name, store) in stores() {
        let (a, token_a) = planned_and_claimed(&store, now, 15).await;
        // Worker a stalls past its lease; worker b takes the task over and writes.
        let later = now + chrono::Duration::minutes(16);
        let b = claim_one(&store, "b", later, 15)
            .await
            .expect("taken over once a's lease expired");
        let token_b = b.lease.clone().unwrap().token;
        assert_ne!(token_a, token_b);
        let mut done_b = b.clone();
        done_b.state = TaskState::Completed;
        done_b.lease = None;
        done_b.next_run = None;
        store
            .update(&done_b, &token_b, &[result("run-b")])
            .await
            .unwrap();
        // Worker a wakes up: every fenced write is refused and nothing changes.
        let mut stale = a.clone();
        stale.state = TaskState::Failed;
        let err = store
            .update(&stale, &token_a, &[result("run-a")])
            .await
            .unwrap_err();
        assert!(
            matches!(err, SchedulerError::LeaseLost { .. }),
            "{name}: {err}"
        );
        assert!(err.to_string().contains("lease lost"), "{err}");
        assert!(matches!(
            store.renew(&a.id, &token_a, later).await,
            Err(SchedulerError::LeaseLost { .. })
        ));
        let stored = store.get(&a.id).await.unwrap().unwrap();
        assert_eq!(
            stored.state,
            TaskState::Completed,
            "{name}: b's state stands"
        );
        let results = store.results(&a.id).await.unwrap();
        assert_eq!(results.len(), 1, "{name}");
        assert_eq!(results[0].run_id, "run-b");
        // A deleted task fences too.
        store.delete(&a.id).await.unwrap();
        assert!(matches!(
            store.update(&done_b, &token_b, &[]).await,
            Err(SchedulerError::LeaseLost { .. })
        ));
    }
}

#[tokio::test]
async fn a_renewed_lease_keeps_the_task_and_survives_the_holders_writes() {
    let now = at("2026-11-27T09:00:00Z");
    for (name, store) in stores() {
        let (t, token) = planned_and_claimed(&store, now, 1).await;
        store
            .renew(&t.id, &token, now + chrono::Duration::minutes(10))
            .await
            .unwrap();
        // The holder writes the copy it claimed (older expiry): the renewal is kept.
        let mut running = t.clone();
        running.state = TaskState::Running;
        store.update(&running, &token, &[]).await.unwrap();
        let later = now + chrono::Duration::minutes(5);
        assert!(
            store
                .claim_due(later, &Lease::new("b", later), 10)
                .await
                .unwrap()
                .is_empty(),
            "{name}: the renewed lease still holds"
        );
        assert_eq!(
            store.earliest_due().await.unwrap(),
            Some(now + chrono::Duration::minutes(10)),
            "{name}: claimable again when the renewed lease ends"
        );
    }
}

/// Blocks the first run of each task until released; records run ids and concurrency.
#[derive(Default)]
struct Gate {
    hold_first: bool,
    release: tokio::sync::Notify,
    started: tokio::sync::Notify,
    calls: Mutex<Vec<(String, String)>>,
    in_flight: Mutex<usize>,
    max_in_flight: Mutex<usize>,
    sleep: Option<Duration>,
}

impl Gate {
    /// A gate whose command sleeps `d` each run.
    fn sleeping(d: Duration) -> Arc<Gate> {
        Arc::new(Gate {
            sleep: Some(d),
            ..Default::default()
        })
    }
}

#[async_trait]
impl Command for Gate {
    async fn run(&self, ctx: RunContext) -> Result<CommandOutput, CommandError> {
        let first = {
            let mut calls = self.calls.lock().unwrap();
            let first = !calls.iter().any(|(t, _)| *t == ctx.task_id);
            calls.push((ctx.task_id.clone(), ctx.run_id.clone()));
            first
        };
        {
            let mut n = self.in_flight.lock().unwrap();
            *n += 1;
            let mut m = self.max_in_flight.lock().unwrap();
            *m = (*m).max(*n);
        }
        self.started.notify_one();
        if self.hold_first && first {
            self.release.notified().await;
        }
        if let Some(d) = self.sleep {
            tokio::time::sleep(d).await;
        }
        *self.in_flight.lock().unwrap() -= 1;
        Ok(CommandOutput::Done(json!({"run": ctx.run_id})))
    }
    fn validate(&self, _: &Value) -> Result<(), String> {
        Ok(())
    }
}

fn engine_with(
    store: Arc<dyn Store>,
    gate: Arc<Gate>,
    clock: Arc<dyn Clock>,
    worker: &str,
    settings: EngineSettings,
) -> Engine {
    let mut reg = Registry::new();
    reg.register("probe", gate);
    let tenants = StaticTenants {
        all: vec!["a.com".into()],
        ..Default::default()
    };
    Engine::new(store, reg, Arc::new(tenants), clock).with_settings(EngineSettings {
        worker: worker.into(),
        ..settings
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tick_holds_no_more_tasks_than_it_has_slots() {
    for (name, store) in stores() {
        let clock = ManualClock::new(at("2026-11-27T09:00:00Z"));
        let gate = Gate::sleeping(Duration::from_millis(20));
        let engine = Arc::new(engine_with(
            store.clone(),
            gate.clone(),
            Arc::new(clock.clone()),
            "w",
            EngineSettings {
                task_slots: 3,
                ..Default::default()
            },
        ));
        for i in 0..12 {
            engine.add(spec(i, clock.now(), "0")).await.unwrap();
        }
        let tick = tokio::spawn({
            let e = engine.clone();
            async move { e.tick().await.unwrap() }
        });
        // While the tick runs, never more than three tasks are claimed at once.
        let mut most = 0;
        while !tick.is_finished() {
            most = most.max(leased(&store).await);
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let runs = tick.await.unwrap();
        assert_eq!(runs.len(), 12, "{name}: all ran in one tick");
        assert!(most <= 3, "{name}: {most} tasks held at once");
        assert!(*gate.max_in_flight.lock().unwrap() <= 3);
        assert!(
            *gate.max_in_flight.lock().unwrap() >= 2,
            "{name}: tasks run side by side"
        );
    }
}

/// Workers `a` and `b` on `store`; `a` claimed a task recurring every `every` and its
/// command holds until `gate.release`.
async fn stalled(
    store: &Arc<dyn Store>,
    every: &str,
) -> (
    ManualClock,
    Arc<Gate>,
    Arc<Engine>,
    Engine,
    Task,
    tokio::task::JoinHandle<Result<Vec<RunSummary>, SchedulerError>>,
) {
    let clock = ManualClock::new(at("2026-11-27T09:00:00Z"));
    let gate = Arc::new(Gate {
        hold_first: true,
        ..Default::default()
    });
    let engine = |name| {
        engine_with(
            store.clone(),
            gate.clone(),
            Arc::new(clock.clone()),
            name,
            EngineSettings::default(),
        )
    };
    let (a, b) = (Arc::new(engine("a")), engine("b"));
    let task = a.add(spec(0, clock.now(), every)).await.unwrap();
    let ha = tokio::spawn({
        let a = a.clone();
        async move { a.tick().await }
    });
    gate.started.notified().await;
    (clock, gate, a, b, task, ha)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_stalled_past_its_lease_stops_without_overwriting_the_new_holder() {
    for (name, store) in stores() {
        let (clock, gate, _a, b, task, ha) = stalled(&store, "0").await;
        // a's command hangs past its 15-minute lease (its heartbeat, every 5 minutes of
        // real time, has not run): b takes the task over and finishes it.
        clock.advance(Duration::from_secs(16 * 60));
        let from_b = b.tick().await.unwrap();
        assert_eq!(from_b.len(), 1, "{name}");
        // a wakes up: its run is dropped, nothing written.
        gate.release.notify_one();
        let from_a = ha.await.unwrap().unwrap();
        assert!(from_a.is_empty(), "{name}: a reports nothing");
        let results = store.results(&task.id).await.unwrap();
        assert_eq!(results.len(), 1, "{name}: only b's results");
        let stored = store.get(&task.id).await.unwrap().unwrap();
        assert_eq!(stored.state, TaskState::Completed, "{name}");
        assert_eq!((stored.lease, stored.next_run), (None, None), "{name}");
        // b resumed a's run: the same run id (the commands' idempotency key).
        let calls = gate.calls.lock().unwrap().clone();
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].1, calls[1].1, "{name}: same run id");
        assert_eq!(results[0].run_id, calls[0].1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_workers_run_resumes_with_the_same_run_id() {
    for (name, store) in stores() {
        let (clock, gate, _a, b, task, ha) = stalled(&store, "1d").await;
        ha.abort();
        let _ = ha.await;
        let stored = store.get(&task.id).await.unwrap().unwrap();
        let run_a = stored.current_run.clone().expect("the run id is stored");
        assert_eq!(stored.state, TaskState::Running);
        assert!(
            b.tick().await.unwrap().is_empty(),
            "{name}: a's lease holds"
        );
        clock.advance(Duration::from_secs(16 * 60));
        let runs = b.tick().await.unwrap();
        assert_eq!(runs.len(), 1, "{name}");
        assert_eq!(runs[0].run_id, run_a, "{name}: resumed with a's run id");
        let calls = gate.calls.lock().unwrap().clone();
        assert!(calls.iter().all(|(_, r)| *r == run_a));
        let stored = store.get(&task.id).await.unwrap().unwrap();
        assert_eq!(stored.current_run, None);
        assert_eq!(stored.state, TaskState::Planned);
        assert_eq!(stored.next_run, Some(at("2026-11-28T09:00:00Z")));
        // The next run gets a new id.
        clock.set(at("2026-11-28T09:00:00Z"));
        let next = b.tick().await.unwrap();
        assert_ne!(next[0].run_id, run_a);
    }
}

#[tokio::test(start_paused = true)]
async fn the_heartbeat_keeps_a_long_run_from_being_taken_over() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let clock: Arc<dyn Clock> = Arc::new(TokioClock::starting_at(at("2026-11-27T09:00:00Z")));
    // Lease 30 s; the command takes 100 s.
    let settings = EngineSettings {
        lease: Duration::from_secs(30),
        ..Default::default()
    };
    let gate = Gate::sleeping(Duration::from_secs(100));
    let a = Arc::new(engine_with(
        store.clone(),
        gate.clone(),
        clock.clone(),
        "a",
        settings.clone(),
    ));
    let b = engine_with(store.clone(), gate.clone(), clock.clone(), "b", settings);
    let task = a.add(spec(0, clock.now(), "0")).await.unwrap();
    let ha = tokio::spawn({
        let a = a.clone();
        async move { a.tick().await.unwrap() }
    });
    gate.started.notified().await;
    let mut checks = 0;
    while !ha.is_finished() {
        tokio::time::sleep(Duration::from_secs(7)).await;
        assert!(b.tick().await.unwrap().is_empty(), "taken over while alive");
        checks += 1;
    }
    assert!(checks >= 10, "{checks}");
    assert_eq!(ha.await.unwrap().len(), 1);
    assert_eq!(gate.calls.lock().unwrap().len(), 1, "ran once");
    let stored = store.get(&task.id).await.unwrap().unwrap();
    assert_eq!(stored.state, TaskState::Completed);
}

/// Throttles with a given delay every time.
struct Throttles(Duration);

#[async_trait]
impl Command for Throttles {
    async fn run(&self, _: RunContext) -> Result<CommandOutput, CommandError> {
        Err(CommandError::Throttled {
            retry_after: self.0,
        })
    }
    fn validate(&self, _: &Value) -> Result<(), String> {
        Ok(())
    }
}

#[tokio::test]
async fn an_absurd_throttle_delay_is_clamped_not_a_panic() {
    let clock = ManualClock::new(at("2026-11-27T09:00:00Z"));
    for delay in [
        Duration::from_secs(10_000_000_000_000),
        Duration::MAX,
        Duration::from_secs(25 * 3600),
    ] {
        let mut reg = Registry::new();
        reg.register("probe", Arc::new(Throttles(delay)));
        let engine = Engine::new(
            Arc::new(MemoryStore::new()),
            reg,
            Arc::new(StaticTenants::default()),
            Arc::new(clock.clone()),
        );
        engine.add(spec(0, clock.now(), "0")).await.unwrap();
        let run = engine.tick().await.unwrap().pop().unwrap();
        match &run.results[0].outcome {
            TenantOutcome::Throttled { retry_at } => assert_eq!(
                *retry_at,
                clock.now() + chrono::Duration::from_std(MAX_RETRY_AFTER).unwrap(),
                "clamped to 24 h"
            ),
            o => panic!("{o:?}"),
        }
        assert_eq!(run.state, TaskState::Failed);
    }
}

#[tokio::test]
async fn absurd_recurrences_and_every_second_cron_are_refused_with_clear_errors() {
    let err = Recurrence::parse("100000000d").unwrap_err();
    assert!(matches!(err, ScheduleError::TooLong { .. }), "{err}");
    assert!(err.to_string().contains("3650 days"), "{err}");
    let err = Recurrence::parse("* * * * * *").unwrap_err();
    assert!(matches!(err, ScheduleError::TooFrequent { .. }), "{err}");
    assert!(err.to_string().contains("once a minute"), "{err}");
    assert!(matches!(
        Recurrence::parse("*/10 * * * * *"),
        Err(ScheduleError::TooFrequent { .. })
    ));
    assert!(
        Recurrence::parse("30 * * * * *").is_ok(),
        "one fixed second"
    );
    assert!(Recurrence::parse("3650d").is_ok());
    assert!(Recurrence::parse("3651d").is_err());
    assert!(Recurrence::parse("99999999999999999999999m").is_err());
    // The engine refuses them when given as stored values too (no parser in the way).
    let clock = ManualClock::new(at("2026-11-27T09:00:00Z"));
    let mut reg = Registry::new();
    reg.register("probe", Arc::new(Gate::default()));
    let engine = Engine::new(
        Arc::new(MemoryStore::new()),
        reg,
        Arc::new(StaticTenants::default()),
        Arc::new(clock.clone()),
    );
    for recurrence in [
        Recurrence::Every {
            seconds: 100_000_000 * 86_400,
        },
        Recurrence::Every { seconds: 0 },
        Recurrence::Every { seconds: i64::MAX },
        Recurrence::Cron {
            expression: "* * * * * *".into(),
        },
    ] {
        let mut t = spec(0, clock.now(), "0");
        t.schedule.recurrence = recurrence.clone();
        let err = engine.add(t).await.unwrap_err();
        assert!(
            matches!(err, SchedulerError::Schedule(_)),
            "{recurrence:?}: {err}"
        );
    }
    assert!(engine.store().list(true).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_stored_schedule_that_cannot_advance_stops_the_task_without_a_panic() {
    // A task written by an older version (or by hand) with an interval out of bounds.
    let now = at("2026-11-27T09:00:00Z");
    for (name, store) in stores() {
        let mut t = planned(0, now);
        t.spec.schedule.recurrence = Recurrence::Every { seconds: i64::MAX };
        store.insert(&t).await.unwrap();
        let mut reg = Registry::new();
        reg.register("probe", Arc::new(Gate::default()));
        let clock = ManualClock::new(now);
        let engine = Engine::new(
            store.clone(),
            reg,
            Arc::new(StaticTenants::default()),
            Arc::new(clock),
        );
        let err = engine.tick().await.unwrap_err();
        assert!(matches!(err, SchedulerError::Schedule(_)), "{name}: {err}");
        let stored = store.get(&t.id).await.unwrap().unwrap();
        assert_eq!((stored.state, stored.next_run), (TaskState::Failed, None));
        assert!(engine.tick().await.unwrap().is_empty(), "not claimed again");
    }
}

#[tokio::test]
async fn a_sqlite_file_from_the_first_schema_is_upgraded_and_its_tasks_stay_claimable() {
    let dir = std::env::temp_dir().join(format!("cipp-sched-v1-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("tasks.sqlite");
    let now = at("2026-11-27T09:00:00Z");
    {
        // The version-1 schema, with a task as version 1 stored it (no token, no run id).
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(
            "CREATE TABLE tasks (id TEXT PRIMARY KEY, name TEXT NOT NULL,
               unique_name INTEGER NOT NULL, hidden INTEGER NOT NULL, state TEXT NOT NULL,
               next_run INTEGER, lease_until INTEGER, data TEXT NOT NULL);
             CREATE INDEX tasks_due ON tasks(next_run);
             CREATE TABLE results (seq INTEGER PRIMARY KEY AUTOINCREMENT,
               task_id TEXT NOT NULL, data TEXT NOT NULL);
             CREATE INDEX results_task ON results(task_id);
             PRAGMA user_version = 1;",
        )
        .unwrap();
        let mut data = serde_json::to_value(planned(0, now)).unwrap();
        data.as_object_mut().unwrap().remove("currentRun");
        c.execute(
            "INSERT INTO tasks VALUES ('t000', 'task 0', 0, 0, '\"planned\"', ?1, NULL, ?2)",
            rusqlite::params![now.timestamp(), data.to_string()],
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.earliest_due().await.unwrap(), Some(now));
    let claimed = store
        .claim_due(
            now,
            &Lease::new("w", now + chrono::Duration::minutes(15)),
            5,
        )
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert!(!claimed[0].lease.as_ref().unwrap().token.is_empty());
    std::fs::remove_dir_all(&dir).ok();
}
