//! Several workers on one PostgreSQL database. Runs against 127.0.0.1:5432 (database
//! `test`, trust authentication; `CIPP_PG` overrides). In CI (`CI=true`) an unreachable
//! server fails the tests; elsewhere they say plainly that they were skipped.
#![cfg(feature = "postgres")]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cipp_core::{Clock, ManualClock};
use cipp_scheduler::command::{Command, CommandError, CommandOutput, Registry, RunContext};
use cipp_scheduler::engine::{Engine, StaticTenants};
use cipp_scheduler::postgres::PgStore;
use cipp_scheduler::recurrence::{Recurrence, Schedule};
use cipp_scheduler::store::{Store, WorkQueue};
use cipp_scheduler::task::{Lease, NewTask, Target, TaskState};
use cipp_scheduler::SchedulerError;
use serde_json::{json, Value};

mod stores;
use stores::{config, drop_schema, schema};

/// Counts runs per task and catches two runs of one task at the same time.
#[derive(Default)]
struct Counter {
    runs: Mutex<BTreeMap<String, u32>>,
    in_flight: Mutex<BTreeMap<String, u32>>,
    overlap: Mutex<bool>,
}

#[async_trait]
impl Command for Counter {
    async fn run(&self, ctx: RunContext) -> Result<CommandOutput, CommandError> {
        {
            let mut f = self.in_flight.lock().unwrap();
            let n = f.entry(ctx.task_id.clone()).or_default();
            *n += 1;
            if *n > 1 {
                *self.overlap.lock().unwrap() = true;
            }
        }
        tokio::task::yield_now().await;
        *self
            .runs
            .lock()
            .unwrap()
            .entry(ctx.task_id.clone())
            .or_default() += 1;
        *self
            .in_flight
            .lock()
            .unwrap()
            .entry(ctx.task_id)
            .or_default() -= 1;
        Ok(CommandOutput::Done(json!({})))
    }
    fn validate(&self, _: &Value) -> Result<(), String> {
        Ok(())
    }
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

async fn engine(schema: &str, counter: &Arc<Counter>, clock: &ManualClock, worker: &str) -> Engine {
    let store = Arc::new(PgStore::connect(&config(), schema).await.unwrap());
    let mut reg = Registry::new();
    reg.register("count", counter.clone());
    let tenants = StaticTenants {
        all: vec!["a.com".into()],
        ..Default::default()
    };
    Engine::new(store, reg, Arc::new(tenants), Arc::new(clock.clone())).with_settings(
        cipp_scheduler::engine::EngineSettings {
            worker: worker.into(),
            ..Default::default()
        },
    )
}

fn one_off(i: usize, at: DateTime<Utc>) -> NewTask {
    NewTask {
        name: format!("task {i}"),
        command: "count".into(),
        parameters: json!({}),
        target: Target::Tenant { id: "a.com".into() },
        schedule: Schedule::new(at, Recurrence::Once),
        post_execution: Default::default(),
        reference: None,
        hidden: false,
        unique_name: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_run_a_thousand_tasks_each_exactly_once() {
    let Some(schema) = schema().await else { return };
    let clock = ManualClock::new(at("2026-11-27T09:00:00Z"));
    let counter = Arc::new(Counter::default());
    let workers = [
        Arc::new(engine(&schema, &counter, &clock, "w1").await),
        Arc::new(engine(&schema, &counter, &clock, "w2").await),
        Arc::new(engine(&schema, &counter, &clock, "w3").await),
    ];
    for i in 0..1000 {
        workers[i % 3].add(one_off(i, clock.now())).await.unwrap();
    }
    let handles: Vec<_> = workers
        .iter()
        .map(|w| {
            let w = w.clone();
            tokio::spawn(async move {
                let mut n = 0;
                loop {
                    let runs = w.tick().await.unwrap();
                    if runs.is_empty() {
                        break n;
                    }
                    n += runs.len();
                }
            })
        })
        .collect();
    let mut per_worker = Vec::new();
    for h in handles {
        per_worker.push(h.await.unwrap());
    }
    let runs = counter.runs.lock().unwrap().clone();
    assert_eq!(runs.len(), 1000, "every task ran");
    assert!(runs.values().all(|n| *n == 1), "no task ran twice");
    assert!(!*counter.overlap.lock().unwrap());
    assert_eq!(per_worker.iter().sum::<usize>(), 1000);
    let all = workers[0].store().list(true).await.unwrap();
    assert!(all.iter().all(|t| t.state == TaskState::Completed));
    drop_schema(&schema).await;
}

#[tokio::test]
async fn a_dead_workers_task_is_taken_again_after_its_lease() {
    let Some(schema) = schema().await else { return };
    let clock = ManualClock::new(at("2026-11-27T09:00:00Z"));
    let counter = Arc::new(Counter::default());
    let w1 = engine(&schema, &counter, &clock, "w1").await;
    let t = w1.add(one_off(0, clock.now())).await.unwrap();
    // Worker 1 claims it and dies before running it.
    let store = PgStore::connect(&config(), &schema).await.unwrap();
    let lease = Lease::new("w1", clock.now() + chrono::Duration::minutes(15));
    assert_eq!(
        store
            .claim_due(clock.now(), &lease, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    let w2 = engine(&schema, &counter, &clock, "w2").await;
    assert!(
        w2.tick().await.unwrap().is_empty(),
        "held by the live lease"
    );
    clock.advance(std::time::Duration::from_secs(16 * 60));
    let runs = w2.tick().await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(counter.runs.lock().unwrap()[&t.id], 1);
    let done = store.get(&t.id).await.unwrap().unwrap();
    assert_eq!(done.state, TaskState::Completed);
    assert!(done.lease.is_none());
    drop_schema(&schema).await;
}

#[tokio::test]
async fn results_and_unique_names_survive_reconnects() {
    let Some(schema) = schema().await else { return };
    let clock = ManualClock::new(at("2026-11-27T09:00:00Z"));
    let counter = Arc::new(Counter::default());
    let id = {
        let w = engine(&schema, &counter, &clock, "w1").await;
        let mut t = one_off(0, clock.now());
        t.unique_name = true;
        let t = w.add(t).await.unwrap();
        w.tick().await.unwrap();
        t.id
    };
    let store = PgStore::connect(&config(), &schema).await.unwrap();
    assert_eq!(store.results(&id).await.unwrap().len(), 1);
    let w = engine(&schema, &counter, &clock, "w2").await;
    let mut dup = one_off(0, clock.now());
    dup.unique_name = true;
    assert!(w.add(dup).await.is_err());
    drop_schema(&schema).await;
}

/// Records which worker ran which tenant; optionally holds its runs until another worker
/// has done enough, or throttles a tenant once.
struct Probe {
    worker: &'static str,
    log: Arc<Mutex<Vec<(String, String)>>>,
    done: tokio::sync::watch::Sender<usize>,
    hold_until_other_did: Option<(tokio::sync::watch::Receiver<usize>, usize)>,
    started: Arc<tokio::sync::Notify>,
    hang: bool,
    throttle_once: Option<String>,
}

#[async_trait]
impl Command for Probe {
    async fn run(&self, ctx: RunContext) -> Result<CommandOutput, CommandError> {
        self.started.notify_one();
        if self.hang {
            futures::future::pending::<()>().await;
        }
        if let Some((rx, n)) = &self.hold_until_other_did {
            let mut rx = rx.clone();
            let need = *n;
            // A generous bound that only trips when the fan-out is not shared at all.
            tokio::time::timeout(
                std::time::Duration::from_secs(60),
                rx.wait_for(|done| *done >= need),
            )
            .await
            .expect("the other worker never got a share of the fan-out")
            .unwrap();
        }
        if self.throttle_once.as_deref() == Some(ctx.tenant.as_str()) {
            let seen = self
                .log
                .lock()
                .unwrap()
                .iter()
                .any(|(_, t)| *t == ctx.tenant);
            if !seen {
                self.log
                    .lock()
                    .unwrap()
                    .push(("throttled".into(), ctx.tenant.clone()));
                return Err(CommandError::Throttled {
                    retry_after: std::time::Duration::from_secs(30),
                });
            }
        }
        self.log
            .lock()
            .unwrap()
            .push((self.worker.into(), ctx.tenant.clone()));
        self.done.send_modify(|n| *n += 1);
        Ok(CommandOutput::Done(json!({"tenant": ctx.tenant})))
    }
    fn validate(&self, _: &Value) -> Result<(), String> {
        Ok(())
    }
}

fn probe(worker: &'static str, log: &Arc<Mutex<Vec<(String, String)>>>) -> Probe {
    Probe {
        worker,
        log: log.clone(),
        done: tokio::sync::watch::channel(0).0,
        hold_until_other_did: None,
        started: Arc::new(tokio::sync::Notify::new()),
        hang: false,
        throttle_once: None,
    }
}

fn tenants(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("t{i}.onmicrosoft.com")).collect()
}

async fn probe_engine(schema: &str, probe: Probe, clock: &ManualClock, n: usize) -> Engine {
    let store = Arc::new(PgStore::connect(&config(), schema).await.unwrap());
    let worker = probe.worker.to_owned();
    let mut reg = Registry::new();
    reg.register("probe", Arc::new(probe));
    let all = StaticTenants {
        all: tenants(n),
        ..Default::default()
    };
    Engine::new(store, reg, Arc::new(all), Arc::new(clock.clone())).with_settings(
        cipp_scheduler::engine::EngineSettings {
            worker,
            ..Default::default()
        },
    )
}

fn fleet_task(at: DateTime<Utc>) -> NewTask {
    NewTask {
        name: "fleet".into(),
        command: "probe".into(),
        parameters: json!({}),
        target: Target::AllTenants {
            exclude_tenants: vec![],
            exclude_groups: vec![],
        },
        schedule: Schedule::new(at, Recurrence::Once),
        post_execution: Default::default(),
        reference: Some("T-42".into()),
        hidden: false,
        unique_name: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_task_over_200_tenants_is_shared_by_two_workers() {
    let Some(schema) = schema().await else { return };
    let clock = ManualClock::new(at("2026-11-27T09:00:00Z"));
    let log = Arc::new(Mutex::new(Vec::new()));
    // Worker A claims the task, then holds its first items until B has run 50 tenants, so
    // both workers demonstrably share the fan-out whatever the timing.
    let b = probe("B", &log);
    let b_done = b.done.subscribe();
    let mut a = probe("A", &log);
    a.hold_until_other_did = Some((b_done, 50));
    let a_started = a.started.clone();
    let wa = Arc::new(probe_engine(&schema, a, &clock, 200).await);
    let wb = probe_engine(&schema, b, &clock, 200).await;
    let task = wa.add(fleet_task(clock.now())).await.unwrap();
    let ha = {
        let wa = wa.clone();
        tokio::spawn(async move { wa.tick().await.unwrap() })
    };
    a_started.notified().await;
    let from_b = wb.tick().await.unwrap();
    let from_a = ha.await.unwrap();

    let log = log.lock().unwrap().clone();
    assert_eq!(log.len(), 200, "every tenant ran once: {log:?}");
    let distinct: std::collections::BTreeSet<_> = log.iter().map(|(_, t)| t.clone()).collect();
    assert_eq!(distinct.len(), 200);
    let by_a = log.iter().filter(|(w, _)| w == "A").count();
    let by_b = log.iter().filter(|(w, _)| w == "B").count();
    assert!(by_a >= 10 && by_b >= 50, "A ran {by_a}, B ran {by_b}");
    // Exactly one worker closed the run and reported it.
    let summaries: Vec<_> = from_a.iter().chain(from_b.iter()).collect();
    assert_eq!(summaries.len(), 1);
    assert_eq!(summaries[0].results.len(), 200);
    assert_eq!(summaries[0].state, TaskState::Completed);
    assert!(summaries[0]
        .results
        .iter()
        .all(|r| r.reference.as_deref() == Some("T-42")));
    let stored = wb.store().get(&task.id).await.unwrap().unwrap();
    assert_eq!(stored.state, TaskState::Completed);
    assert_eq!(stored.next_run, None);
    assert_eq!(wb.store().results(&task.id).await.unwrap().len(), 200);
    drop_schema(&schema).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_workers_tenants_are_finished_by_another_after_the_lease() {
    let Some(schema) = schema().await else { return };
    let clock = ManualClock::new(at("2026-11-27T09:00:00Z"));
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut a = probe("A", &log);
    a.hang = true;
    let a_started = a.started.clone();
    let wa = Arc::new(probe_engine(&schema, a, &clock, 50).await);
    let wb = probe_engine(&schema, probe("B", &log), &clock, 50).await;
    let task = wa.add(fleet_task(clock.now())).await.unwrap();
    let ha = {
        let wa = wa.clone();
        tokio::spawn(async move { wa.tick().await })
    };
    a_started.notified().await;
    // Worker A dies holding its first ten tenants.
    ha.abort();
    let _ = ha.await;
    assert!(
        wb.tick().await.unwrap().is_empty(),
        "the run cannot close while A's lease holds"
    );
    assert_eq!(log.lock().unwrap().len(), 40);
    clock.advance(std::time::Duration::from_secs(16 * 60));
    let runs = wb.tick().await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].results.len(), 50);
    assert_eq!(runs[0].state, TaskState::Completed);
    let log = log.lock().unwrap().clone();
    assert_eq!(log.len(), 50);
    assert!(log.iter().all(|(w, _)| w == "B"));
    let stored = wb.store().get(&task.id).await.unwrap().unwrap();
    assert_eq!(stored.state, TaskState::Completed);
    drop_schema(&schema).await;
}

#[tokio::test]
async fn a_throttled_tenant_of_a_shared_run_waits_without_holding_the_others() {
    let Some(schema) = schema().await else { return };
    let clock = ManualClock::new(at("2026-11-27T09:00:00Z"));
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut a = probe("A", &log);
    a.throttle_once = Some("t3.onmicrosoft.com".into());
    let w = probe_engine(&schema, a, &clock, 20).await;
    let task = w.add(fleet_task(clock.now())).await.unwrap();
    assert!(w.tick().await.unwrap().is_empty(), "t3 is still waiting");
    assert_eq!(log.lock().unwrap().len(), 20, "19 done and one throttled");
    let stored = w.store().get(&task.id).await.unwrap().unwrap();
    assert_eq!(stored.state, TaskState::Running);
    // The runner would sleep until the throttled tenant's retry time, not longer.
    let due = w.store().earliest_due().await.unwrap().unwrap();
    assert_eq!(due, clock.now() + chrono::Duration::seconds(30));
    clock.advance(std::time::Duration::from_secs(29));
    assert!(w.tick().await.unwrap().is_empty());
    clock.advance(std::time::Duration::from_secs(1));
    let runs = w.tick().await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].results.len(), 20);
    assert_eq!(runs[0].state, TaskState::Completed);
    assert_eq!(
        w.store().get(&task.id).await.unwrap().unwrap().state,
        TaskState::Completed
    );
    drop_schema(&schema).await;
}

#[tokio::test]
async fn closing_the_last_item_sets_the_task_state_in_the_same_transaction() {
    use cipp_scheduler::task::{TenantOutcome, TenantResult};
    let Some(schema) = schema().await else { return };
    let clock = ManualClock::new(at("2026-11-27T09:00:00Z"));
    let store = PgStore::connect(&config(), &schema).await.unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let w = probe_engine(&schema, probe("A", &log), &clock, 2).await;
    let task = w.add(fleet_task(clock.now())).await.unwrap();
    let lease = Lease::new("w", clock.now() + chrono::Duration::minutes(15));
    let mut task = store
        .claim(&task.id, clock.now(), &lease)
        .await
        .unwrap()
        .unwrap();
    let token = task.lease.take().unwrap().token;
    task.state = TaskState::Running;
    task.next_run = None;
    task.current_run = Some("run-1".into());
    let tenants = vec!["a.com".to_owned(), "b.com".to_owned()];
    store
        .enqueue_run(&task, &token, "run-1", &tenants, clock.now())
        .await
        .unwrap();
    let items = store.claim_items(clock.now(), &lease, 10).await.unwrap();
    assert_eq!(items.len(), 2);
    let result = |i: &cipp_scheduler::store::WorkItem, ok: bool| TenantResult {
        run_id: i.run_id.clone(),
        tenant: i.tenant.clone(),
        finished_at: clock.now(),
        outcome: if ok {
            TenantOutcome::NoChange {
                message: "fine".into(),
            }
        } else {
            TenantOutcome::Failed {
                error: cipp_core::ErrorSummary::from_message("denied"),
            }
        },
        reference: None,
    };
    let first = store
        .finish_items(&[(items[0].clone(), result(&items[0], true))])
        .await
        .unwrap();
    assert!(first.runs.is_empty(), "one item still open");
    assert_eq!(
        store.get(&task.id).await.unwrap().unwrap().state,
        TaskState::Running
    );
    // The worker closing the last item "dies" before finalising: the state is right anyway.
    let last = store
        .finish_items(&[(items[1].clone(), result(&items[1], false))])
        .await
        .unwrap();
    assert_eq!(last.runs, ["run-1".to_owned()]);
    let stored = store.get(&task.id).await.unwrap().unwrap();
    assert_eq!(stored.state, TaskState::CompletedWithErrors);
    assert_eq!(stored.current_run, None, "the run is over");
    // Closing an item twice keeps the first result and reports nothing.
    let again = store
        .finish_items(&[(items[1].clone(), result(&items[1], true))])
        .await
        .unwrap();
    assert!(again.runs.is_empty());
    assert_eq!(again.lost.len(), 1, "not written: the item was closed");
    assert_eq!(store.run_results(&task.id, "run-1").await.unwrap().len(), 2);
    drop_schema(&schema).await;
}

/// When one run started and (once it did) ended.
type Span = (std::time::Instant, Option<std::time::Instant>);

/// Records each run's start and end per task; optionally sleeps, or holds a task's first
/// run until released.
#[derive(Default)]
struct Timed {
    sleep: std::time::Duration,
    hold_first: bool,
    release: tokio::sync::Notify,
    started: tokio::sync::Notify,
    spans: Mutex<BTreeMap<String, Vec<Span>>>,
    run_ids: Mutex<Vec<String>>,
}

#[async_trait]
impl Command for Timed {
    async fn run(&self, ctx: RunContext) -> Result<CommandOutput, CommandError> {
        let first = {
            let mut spans = self.spans.lock().unwrap();
            let e = spans.entry(ctx.task_id.clone()).or_default();
            e.push((std::time::Instant::now(), None));
            e.len() == 1
        };
        self.run_ids.lock().unwrap().push(ctx.run_id.clone());
        self.started.notify_one();
        if self.hold_first && first {
            self.release.notified().await;
        }
        tokio::time::sleep(self.sleep).await;
        if let Some(s) = self
            .spans
            .lock()
            .unwrap()
            .get_mut(&ctx.task_id)
            .and_then(|v| v.iter_mut().find(|s| s.1.is_none()))
        {
            s.1 = Some(std::time::Instant::now());
        }
        Ok(CommandOutput::Done(json!({"run": ctx.run_id})))
    }
    fn validate(&self, _: &Value) -> Result<(), String> {
        Ok(())
    }
}

async fn timed_engine(
    schema: &str,
    timed: &Arc<Timed>,
    clock: Arc<dyn Clock>,
    worker: &str,
    settings: cipp_scheduler::engine::EngineSettings,
) -> Engine {
    let store = Arc::new(PgStore::connect(&config(), schema).await.unwrap());
    let mut reg = Registry::new();
    reg.register("count", timed.clone());
    let tenants = StaticTenants {
        all: vec!["a.com".into()],
        ..Default::default()
    };
    Engine::new(store, reg, Arc::new(tenants), clock).with_settings(
        cipp_scheduler::engine::EngineSettings {
            worker: worker.into(),
            ..settings
        },
    )
}

/// Commands outlive their leases: 200 tasks of 2 s on two workers with 1 s leases and 20
/// slots each. The claim limit keeps queued tasks unclaimed, the heartbeat keeps running
/// ones held: each task starts exactly once, and no two runs of a task overlap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_run_200_tasks_longer_than_their_lease_exactly_once() {
    let Some(schema) = schema().await else { return };
    let timed = Arc::new(Timed {
        sleep: std::time::Duration::from_secs(2),
        ..Default::default()
    });
    let settings = cipp_scheduler::engine::EngineSettings {
        lease: std::time::Duration::from_secs(1),
        task_slots: 20,
        ..Default::default()
    };
    let clock: Arc<dyn Clock> = Arc::new(cipp_core::SystemClock);
    let workers = [
        Arc::new(timed_engine(&schema, &timed, clock.clone(), "w1", settings.clone()).await),
        Arc::new(timed_engine(&schema, &timed, clock.clone(), "w2", settings).await),
    ];
    let now = clock.now();
    for i in 0..200 {
        workers[i % 2].add(one_off(i, now)).await.unwrap();
    }
    let started = std::time::Instant::now();
    let handles: Vec<_> = workers
        .iter()
        .map(|w| {
            let w = w.clone();
            tokio::spawn(async move {
                let mut ran = 0;
                loop {
                    ran += w.tick().await.unwrap().len();
                    let open = w
                        .store()
                        .list(true)
                        .await
                        .unwrap()
                        .iter()
                        .filter(|t| t.state != TaskState::Completed)
                        .count();
                    if open == 0 {
                        break ran;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            })
        })
        .collect();
    let mut per_worker = Vec::new();
    for h in handles {
        per_worker.push(h.await.unwrap());
    }
    let spans = timed.spans.lock().unwrap().clone();
    assert_eq!(spans.len(), 200, "every task ran");
    let twice: Vec<_> = spans.iter().filter(|(_, s)| s.len() != 1).collect();
    assert!(twice.is_empty(), "started more than once: {twice:?}");
    for (task, runs) in &spans {
        let mut runs = runs.clone();
        runs.sort();
        for w in runs.windows(2) {
            assert!(
                w[0].1.is_some_and(|end| end <= w[1].0),
                "task {task}: runs overlap"
            );
        }
    }
    assert_eq!(per_worker.iter().sum::<usize>(), 200, "{per_worker:?}");
    assert!(
        per_worker.iter().all(|n| *n >= 40),
        "both workers took a share: {per_worker:?}"
    );
    // 200 tasks × 2 s over 40 slots: about 10 s.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(40),
        "{:?}",
        started.elapsed()
    );
    let all = workers[0].store().list(true).await.unwrap();
    assert!(all
        .iter()
        .all(|t| t.state == TaskState::Completed && t.lease.is_none()));
    drop_schema(&schema).await;
}

#[tokio::test]
async fn a_claim_takes_no_more_than_the_free_slots() {
    let Some(schema) = schema().await else { return };
    let clock = ManualClock::new(at("2026-11-27T09:00:00Z"));
    let counter = Arc::new(Counter::default());
    let w = engine(&schema, &counter, &clock, "w1").await;
    for i in 0..10 {
        w.add(one_off(i, clock.now())).await.unwrap();
    }
    let store = PgStore::connect(&config(), &schema).await.unwrap();
    let lease = Lease::new("w", clock.now() + chrono::Duration::minutes(15));
    assert_eq!(
        store.claim_due(clock.now(), &lease, 3).await.unwrap().len(),
        3
    );
    assert_eq!(
        store.claim_due(clock.now(), &lease, 0).await.unwrap().len(),
        0
    );
    assert_eq!(
        store
            .claim_due(clock.now(), &lease, 100)
            .await
            .unwrap()
            .len(),
        7
    );
    drop_schema(&schema).await;
}

/// Workers `a` and `b` on one schema; `a` claimed a one-off task and its command holds
/// until `timed.release`.
type Stalled = (
    ManualClock,
    Arc<Timed>,
    Arc<Engine>,
    Engine,
    cipp_scheduler::task::Task,
    tokio::task::JoinHandle<Result<Vec<cipp_scheduler::engine::RunSummary>, SchedulerError>>,
);

async fn stalled(schema: &str) -> Stalled {
    let clock = ManualClock::new(at("2026-11-27T09:00:00Z"));
    let timed = Arc::new(Timed {
        hold_first: true,
        ..Default::default()
    });
    let settings = cipp_scheduler::engine::EngineSettings::default();
    let engine = |name: &'static str| {
        timed_engine(
            schema,
            &timed,
            Arc::new(clock.clone()),
            name,
            settings.clone(),
        )
    };
    let a = Arc::new(engine("a").await);
    let b = engine("b").await;
    let task = a.add(one_off(0, clock.now())).await.unwrap();
    let ha = {
        let a = a.clone();
        tokio::spawn(async move { a.tick().await })
    };
    timed.started.notified().await;
    (clock, timed, a, b, task, ha)
}

/// A worker stalled past its lease (its command hangs, its heartbeat has not run yet) is
/// taken over; when it wakes up its writes are refused and the new holder's state stands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_paused_past_its_lease_cannot_overwrite_the_new_holder() {
    let Some(schema) = schema().await else { return };
    let (clock, timed, a, b, task, ha) = stalled(&schema).await;
    let held = a.store().get(&task.id).await.unwrap().unwrap();
    let token_a = held.lease.clone().unwrap().token;
    clock.advance(std::time::Duration::from_secs(16 * 60));
    let from_b = b.tick().await.unwrap();
    assert_eq!(from_b.len(), 1);
    assert_eq!(from_b[0].state, TaskState::Completed);
    // Directly: a's token no longer writes anything.
    let mut stale = held.clone();
    stale.state = TaskState::Failed;
    let err = a.store().update(&stale, &token_a, &[]).await.unwrap_err();
    assert!(matches!(err, SchedulerError::LeaseLost { .. }), "{err}");
    assert!(matches!(
        a.store().renew(&task.id, &token_a, clock.now()).await,
        Err(SchedulerError::LeaseLost { .. })
    ));
    // And through the engine: a wakes up, its run is dropped without a write.
    timed.release.notify_one();
    assert!(ha.await.unwrap().unwrap().is_empty());
    let stored = b.store().get(&task.id).await.unwrap().unwrap();
    assert_eq!(stored.state, TaskState::Completed);
    assert!(stored.lease.is_none());
    assert_eq!(b.store().results(&task.id).await.unwrap().len(), 1);
    drop_schema(&schema).await;
}

/// A worker killed mid-run (lease expired, never finished): another worker resumes the run
/// with the same run id, the commands' idempotency key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_workers_run_resumes_elsewhere_with_the_same_run_id() {
    let Some(schema) = schema().await else { return };
    let (clock, timed, _a, b, task, ha) = stalled(&schema).await;
    ha.abort();
    let _ = ha.await;
    let run_a = timed.run_ids.lock().unwrap()[0].clone();
    let stored = b.store().get(&task.id).await.unwrap().unwrap();
    assert_eq!(stored.current_run.as_deref(), Some(run_a.as_str()));
    assert!(b.tick().await.unwrap().is_empty(), "a's lease still holds");
    clock.advance(std::time::Duration::from_secs(16 * 60));
    let runs = b.tick().await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].run_id, run_a);
    assert_eq!(
        *timed.run_ids.lock().unwrap(),
        [run_a.clone(), run_a.clone()]
    );
    let results = b.store().results(&task.id).await.unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].run_id, run_a);
    let stored = b.store().get(&task.id).await.unwrap().unwrap();
    assert_eq!(stored.state, TaskState::Completed);
    assert_eq!(stored.current_run, None);
    drop_schema(&schema).await;
}

/// The pool replaces connections the server closed.
#[tokio::test]
async fn the_pool_reconnects_after_the_server_drops_its_connections() {
    let Some(schema) = schema().await else { return };
    let app = format!("cipp_pool_{}", uuid::Uuid::new_v4().simple());
    let cfg = format!("{} application_name={app}", config());
    let store = PgStore::connect_with_pool_size(&cfg, &schema, 2)
        .await
        .unwrap();
    assert_eq!(store.pool_size(), 2);
    let clock = ManualClock::new(at("2026-11-27T09:00:00Z"));
    let counter = Arc::new(Counter::default());
    let w = engine(&schema, &counter, &clock, "w").await;
    let t = w.add(one_off(0, clock.now())).await.unwrap();
    // Use both pooled connections at once, so both exist.
    let (x, y) = tokio::join!(store.get(&t.id), store.list(true));
    assert!(x.unwrap().is_some() && y.unwrap().len() == 1);
    let (admin, conn) = tokio_postgres::connect(&config(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let killed = admin
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
            &[&app],
        )
        .await
        .unwrap();
    assert!(killed.len() >= 2, "{}", killed.len());
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    for _ in 0..3 {
        assert_eq!(store.get(&t.id).await.unwrap().unwrap().id, t.id);
    }
    drop_schema(&schema).await;
}

/// Catch-up runs of a shared task each get their own run id and work items; the claim's
/// lease is released only with the last one.
#[tokio::test]
async fn catch_up_runs_of_a_shared_task_each_run_in_full() {
    use cipp_scheduler::recurrence::CatchUp;
    let Some(schema) = schema().await else { return };
    let clock = ManualClock::new(at("2026-11-27T09:00:00Z"));
    let log = Arc::new(Mutex::new(Vec::new()));
    let w = probe_engine(&schema, probe("A", &log), &clock, 4).await;
    let mut t = fleet_task(clock.now());
    t.schedule = Schedule::new(clock.now(), Recurrence::parse("15m").unwrap())
        .with_catch_up(CatchUp::RunEach { max: 2 });
    let task = w.add(t).await.unwrap();
    // Due at 09:00, run at 10:00: four slots missed, so 1 + 2 runs now.
    clock.advance(std::time::Duration::from_secs(3600));
    let runs = w.tick().await.unwrap();
    assert_eq!(runs.len(), 3, "{runs:?}");
    let ids: std::collections::BTreeSet<_> = runs.iter().map(|r| r.run_id.clone()).collect();
    assert_eq!(ids.len(), 3);
    assert!(runs.iter().all(|r| r.results.len() == 4));
    assert_eq!(log.lock().unwrap().len(), 12);
    let stored = w.store().get(&task.id).await.unwrap().unwrap();
    assert_eq!(stored.state, TaskState::Planned);
    assert_eq!(stored.next_run, Some(at("2026-11-27T10:15:00Z")));
    assert!(stored.lease.is_none() && stored.current_run.is_none());
    drop_schema(&schema).await;
}

/// The PSA ticket book in PostgreSQL: shared by every worker's store.
#[tokio::test]
async fn the_psa_ticket_book_is_shared_by_the_workers() {
    use cipp_scheduler::notify::TicketBook;
    let Some(schema) = schema().await else { return };
    let (a, b) = (
        PgStore::connect(&config(), &schema).await.unwrap(),
        PgStore::connect(&config(), &schema).await.unwrap(),
    );
    // Each worker writes in turn; the other reads what it wrote.
    for (writer, reader, ticket) in [(&a, &b, 314), (&b, &a, 315)] {
        writer.record("42:fp", ticket).await.unwrap();
        assert_eq!(reader.ticket("42:fp").await.unwrap(), Some(ticket));
    }
    a.forget("42:fp").await.unwrap();
    assert_eq!(b.ticket("42:fp").await.unwrap(), None);
}

/// Answers "finished for good" for every tenant.
struct Finisher;

#[async_trait]
impl Command for Finisher {
    async fn run(&self, ctx: RunContext) -> Result<CommandOutput, CommandError> {
        Ok(CommandOutput::Finished {
            output: json!({"tenant": ctx.tenant}),
            message: "fired".into(),
        })
    }
    fn validate(&self, _: &Value) -> Result<(), String> {
        Ok(())
    }
}

/// A shared (work-item) run of a recurring task in which every tenant finished ends the
/// task when its last item closes: Completed, no next run, nothing due later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_run_where_every_tenant_finished_ends_the_recurring_task() {
    let Some(schema) = schema().await else { return };
    let clock = ManualClock::new(at("2026-11-27T09:00:00Z"));
    let store = Arc::new(PgStore::connect(&config(), &schema).await.unwrap());
    let mut reg = Registry::new();
    reg.register("finish", Arc::new(Finisher));
    let all = StaticTenants {
        all: tenants(5),
        ..Default::default()
    };
    let engine = Engine::new(store, reg, Arc::new(all), Arc::new(clock.clone()));
    let mut t = fleet_task(clock.now());
    t.command = "finish".into();
    t.schedule = Schedule::new(clock.now(), Recurrence::parse("1d").unwrap());
    let task = engine.add(t).await.unwrap();
    let runs = engine.tick().await.unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].results.len(), 5);
    assert!(runs[0].results.iter().all(|r| r.outcome.is_finished()));
    let stored = engine.store().get(&task.id).await.unwrap().unwrap();
    assert_eq!(stored.state, TaskState::Completed, "{stored:?}");
    assert_eq!(stored.next_run, None);
    clock.advance(std::time::Duration::from_secs(2 * 86_400));
    assert!(engine.tick().await.unwrap().is_empty());
    drop_schema(&schema).await;
}
