//! The engine on a manual clock (and paused Tokio time where commands wait).

mod common;
use common::TokioClock;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cipp_core::{Clock, ManualClock};
use cipp_scheduler::command::{Command, CommandError, CommandOutput, Registry, RunContext};
use cipp_scheduler::engine::{Engine, EngineSettings, RunSummary, StaticTenants};
use cipp_scheduler::notify::{Channel, Event, Notifier};
use cipp_scheduler::recurrence::{CatchUp, Recurrence, Schedule};
use cipp_scheduler::store::{MemoryStore, SqliteStore, Store};
use cipp_scheduler::task::{Lease, NewTask, PostExecution, Target, Task, TaskState, TenantOutcome};
use cipp_scheduler::SchedulerError;
use serde_json::{json, Value};

/// Fails for tenants listed in `fail`, throttles `throttle` once, records every call.
#[derive(Default)]
struct Probe {
    fail: Vec<String>,
    throttle_once: Vec<String>,
    calls: Mutex<Vec<(String, String, Option<String>)>>,
    throttled: Mutex<Vec<String>>,
    big: bool,
    /// Tenants whose run answers "finished for good".
    finish: Vec<String>,
}

impl Probe {
    /// A probe failing for `tenants`.
    fn failing(tenants: &[&str]) -> Self {
        Probe {
            fail: tenants.iter().map(|t| t.to_string()).collect(),
            ..Default::default()
        }
    }
}

#[async_trait]
impl Command for Probe {
    fn validate(&self, p: &Value) -> Result<(), String> {
        if p.get("bad").is_some() {
            Err("`bad` is not a parameter of probe".into())
        } else {
            Ok(())
        }
    }
    async fn run(&self, ctx: RunContext) -> Result<CommandOutput, CommandError> {
        self.calls.lock().unwrap().push((
            ctx.tenant.clone(),
            ctx.run_id.clone(),
            ctx.reference.clone(),
        ));
        if self.throttle_once.contains(&ctx.tenant) {
            let mut t = self.throttled.lock().unwrap();
            if !t.contains(&ctx.tenant) {
                t.push(ctx.tenant.clone());
                return Err(CommandError::Throttled {
                    retry_after: Duration::from_secs(2),
                });
            }
        }
        if self.fail.contains(&ctx.tenant) {
            return Err(CommandError::failed(format!("{} refused", ctx.tenant)));
        }
        if self.big {
            return Ok(CommandOutput::Done(json!({"blob": "x".repeat(200_000)})));
        }
        if self.finish.contains(&ctx.tenant) {
            return Ok(CommandOutput::Finished {
                output: json!({"tenant": ctx.tenant}),
                message: "fired".into(),
            });
        }
        Ok(CommandOutput::Done(json!({"tenant": ctx.tenant})))
    }
}

#[derive(Default)]
struct Collect(Mutex<Vec<Event>>);

#[async_trait]
impl Notifier for Collect {
    async fn notify(&self, e: &Event) -> Result<(), SchedulerError> {
        self.0.lock().unwrap().push(e.clone());
        Ok(())
    }
    fn channel(&self) -> Channel {
        Channel::Webhook
    }
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn tenants() -> StaticTenants {
    let mut s = StaticTenants {
        all: vec!["a.com".into(), "b.com".into(), "c.com".into()],
        ..Default::default()
    };
    s.groups
        .insert("gold".into(), vec!["a.com".into(), "b.com".into()]);
    s
}

struct Rig {
    engine: Engine,
    clock: ManualClock,
    probe: Arc<Probe>,
    events: Arc<Collect>,
}

fn rig_with(store: Arc<dyn Store>, probe: Probe) -> Rig {
    let clock = ManualClock::new(at("2026-11-27T09:00:00Z"));
    let probe = Arc::new(probe);
    let mut reg = Registry::new();
    reg.register("probe", probe.clone());
    let events = Arc::new(Collect::default());
    let engine = Engine::new(store, reg, Arc::new(tenants()), Arc::new(clock.clone()))
        .with_notifier(events.clone())
        .with_settings(EngineSettings {
            max_result_bytes: 1024,
            ..Default::default()
        });
    Rig {
        engine,
        clock,
        probe,
        events,
    }
}

fn rig(probe: Probe) -> Rig {
    rig_with(Arc::new(MemoryStore::new()), probe)
}

fn task(name: &str, first: DateTime<Utc>, rec: &str, target: Target) -> NewTask {
    NewTask {
        name: name.into(),
        command: "probe".into(),
        parameters: json!({}),
        target,
        schedule: Schedule::new(first, Recurrence::parse(rec).unwrap()),
        post_execution: PostExecution {
            webhook: true,
            ..Default::default()
        },
        reference: Some("TICKET-42".into()),
        hidden: false,
        unique_name: true,
    }
}

/// Adds `t` and runs one tick: the task and its run.
async fn run_one(r: &Rig, t: NewTask) -> (Task, RunSummary) {
    let t = r.engine.add(t).await.unwrap();
    let run = r.engine.tick().await.unwrap().pop().unwrap();
    (t, run)
}

fn a_com() -> Target {
    Target::Tenant { id: "a.com".into() }
}

fn all() -> Target {
    Target::AllTenants {
        exclude_tenants: vec![],
        exclude_groups: vec![],
    }
}

#[tokio::test]
async fn unknown_commands_bad_parameters_and_duplicate_names_are_refused_up_front() {
    let r = rig(Probe::default());
    type Edit = fn(&mut NewTask);
    let refusals: [(Edit, &str); 2] = [
        (|t| t.command = "nope".into(), "unknown command"),
        (|t| t.parameters = json!({"bad": 1}), "`bad`"),
    ];
    for (edit, says) in refusals {
        let mut t = task("t", r.clock.now(), "0", all());
        edit(&mut t);
        let err = r.engine.add(t).await.unwrap_err().to_string();
        assert!(err.contains(says), "{err}");
    }
    let mut t = task("t", r.clock.now(), "0", all());
    t.schedule = t.schedule.in_time_zone("Nowhere/Special");
    assert!(r.engine.add(t).await.is_err());
    r.engine
        .add(task("dup", r.clock.now(), "0", all()))
        .await
        .unwrap();
    assert!(r
        .engine
        .add(task("DUP", r.clock.now(), "0", all()))
        .await
        .is_err());
}

#[tokio::test]
async fn due_and_not_yet_due() {
    let r = rig(Probe::default());
    let t = r
        .engine
        .add(task("later", at("2026-11-27T10:00:00Z"), "1d", a_com()))
        .await
        .unwrap();
    assert!(r.engine.tick().await.unwrap().is_empty());
    r.clock.set(at("2026-11-27T10:00:00Z"));
    let runs = r.engine.tick().await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].state, TaskState::Completed);
    let stored = r.engine.store().get(&t.id).await.unwrap().unwrap();
    assert_eq!(stored.state, TaskState::Planned, "recurring: planned again");
    assert_eq!(stored.next_run, Some(at("2026-11-28T10:00:00Z")));
    assert_eq!(stored.attempts, 1);
    assert!(r.engine.tick().await.unwrap().is_empty(), "not twice");
    assert_eq!(
        r.engine.next_runs(&t.id, 3).await.unwrap(),
        [
            at("2026-11-28T10:00:00Z"),
            at("2026-11-29T10:00:00Z"),
            at("2026-11-30T10:00:00Z")
        ]
    );
}

#[tokio::test]
async fn a_new_task_runs_at_the_next_tick_and_run_now_runs_at_once() {
    let r = rig(Probe::default());
    let t = r
        .engine
        .add(task("now", r.clock.now(), "0", all()))
        .await
        .unwrap();
    let runs = r.engine.tick().await.unwrap();
    assert_eq!(runs[0].results.len(), 3);
    let done = r.engine.store().get(&t.id).await.unwrap().unwrap();
    assert_eq!(
        (done.state, done.next_run),
        (TaskState::Completed, None),
        "a one-off task is done"
    );
    let later = r
        .engine
        .add(task(
            "weekly",
            at("2026-12-01T00:00:00Z"),
            "7d",
            Target::Group {
                name: "gold".into(),
            },
        ))
        .await
        .unwrap();
    let s = r.engine.run_now(&later.id).await.unwrap();
    assert_eq!(s.results.len(), 2);
    let kept = r.engine.store().get(&later.id).await.unwrap().unwrap();
    assert_eq!(
        kept.next_run,
        Some(at("2026-12-01T00:00:00Z")),
        "run now keeps the schedule"
    );
}

#[tokio::test]
async fn honest_states_from_per_tenant_outcomes() {
    let r = rig(Probe::failing(&["b.com"]));
    let (t, run) = run_one(&r, task("some fail", r.clock.now(), "0", all())).await;
    assert_eq!(run.state, TaskState::CompletedWithErrors);
    assert_eq!(run.state.cipp_name(), "Completed with errors");
    let failed: Vec<_> = run
        .results
        .iter()
        .filter(|x| !x.outcome.is_ok())
        .map(|x| x.tenant.as_str())
        .collect();
    assert_eq!(failed, ["b.com"]);
    assert_eq!(r.engine.store().results(&t.id).await.unwrap().len(), 3);

    let r = rig(Probe::failing(&["a.com", "b.com", "c.com"]));
    let (t, run) = run_one(&r, task("all fail", r.clock.now(), "1d", all())).await;
    assert_eq!(run.state, TaskState::Failed);
    let stored = r.engine.store().get(&t.id).await.unwrap().unwrap();
    assert_eq!(stored.state, TaskState::FailedRecurring);
    assert_eq!(stored.state.cipp_name(), "Failed - Planned");
}

/// A recurring task ends (Completed, no next run) once every tenant of a run answers
/// "finished"; while one tenant still has work it keeps its schedule. The finished
/// outcome is stored with the results (SQLite) and counts as success.
#[tokio::test]
async fn a_run_where_every_tenant_finished_ends_a_recurring_task() {
    let probe = Probe {
        finish: vec!["a.com".into(), "b.com".into()],
        ..Default::default()
    };
    let store = Arc::new(SqliteStore::open_in_memory().unwrap());
    let r = rig_with(store, probe);
    // Two of three tenants finished: the task keeps its daily schedule.
    let (t, run) = run_one(&r, task("trigger", r.clock.now(), "1d", all())).await;
    assert_eq!(run.state, TaskState::Completed);
    let finished = run
        .results
        .iter()
        .filter(|x| x.outcome.is_finished())
        .count();
    assert_eq!(finished, 2);
    let kept = r.engine.store().get(&t.id).await.unwrap().unwrap();
    assert_eq!(kept.state, TaskState::Planned);
    assert!(kept.next_run.is_some());
    let stored = r.engine.store().results(&t.id).await.unwrap();
    assert!(stored.iter().any(|x| matches!(
        &x.outcome,
        TenantOutcome::Finished { message, .. } if message == "fired"
    )));

    // Every tenant finished: Completed, no next run, never run again.
    let probe = Probe {
        finish: vec!["a.com".into()],
        ..Default::default()
    };
    let r = rig(probe);
    let (t, run) = run_one(&r, task("one", r.clock.now(), "15m", a_com())).await;
    assert!(run.results[0].outcome.is_ok());
    let ended = r.engine.store().get(&t.id).await.unwrap().unwrap();
    assert_eq!(ended.state, TaskState::Completed, "{ended:?}");
    assert_eq!(ended.next_run, None);
    r.clock.advance(Duration::from_secs(3600));
    assert!(r.engine.tick().await.unwrap().is_empty());
    assert_eq!(r.probe.calls.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn run_ids_references_and_truncation() {
    let r = rig(Probe {
        big: true,
        ..Default::default()
    });
    r.engine
        .add(task("big", r.clock.now(), "0", all()))
        .await
        .unwrap();
    let run = r.engine.tick().await.unwrap().pop().unwrap();
    let calls = r.probe.calls.lock().unwrap().clone();
    assert!(calls
        .iter()
        .all(|(_, run_id, reference)| *run_id == run.run_id
            && reference.as_deref() == Some("TICKET-42")));
    match &run.results[0].outcome {
        TenantOutcome::Succeeded { output, truncated } => {
            assert!(*truncated);
            assert_eq!(output["truncated"], true);
            assert!(output.to_string().len() < 2048);
        }
        o => panic!("{o:?}"),
    }
    assert_eq!(run.results[0].reference.as_deref(), Some("TICKET-42"));
}

#[tokio::test]
async fn no_catch_up_storm_and_each_policy() {
    let r = rig(Probe::default());
    let mut t = task("every 15m", at("2026-11-27T09:00:00Z"), "15m", a_com());
    t.unique_name = false;
    let once = r.engine.add(t.clone()).await.unwrap();
    let mut skip = t.clone();
    skip.schedule = skip.schedule.with_catch_up(CatchUp::Skip);
    let skip = r.engine.add(skip).await.unwrap();
    let mut each = t;
    each.schedule = each.schedule.with_catch_up(CatchUp::RunEach { max: 3 });
    let each = r.engine.add(each).await.unwrap();
    // Down for three days.
    r.clock.set(at("2026-11-30T09:07:00Z"));
    let runs = r.engine.tick().await.unwrap();
    let count = |id: &str| runs.iter().filter(|s| s.task_id == id).count();
    assert_eq!(
        (count(&once.id), count(&skip.id), count(&each.id)),
        (1, 0, 4)
    );
    for id in [&once.id, &skip.id, &each.id] {
        let t = r.engine.store().get(id).await.unwrap().unwrap();
        assert_eq!(
            t.next_run,
            Some(at("2026-11-30T09:15:00Z")),
            "re-anchored, no storm"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_throttled_tenant_is_retried_after_its_delay_without_holding_up_the_others() {
    let r = rig(Probe {
        throttle_once: vec!["b.com".into()],
        ..Default::default()
    });
    r.engine
        .add(task("throttle", r.clock.now(), "0", all()))
        .await
        .unwrap();
    let start = tokio::time::Instant::now();
    let run = r.engine.tick().await.unwrap().pop().unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(2));
    assert_eq!(run.state, TaskState::Completed);
    let calls = r.probe.calls.lock().unwrap().clone();
    let order: Vec<&str> = calls.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(order.iter().filter(|t| **t == "b.com").count(), 2);
    assert_eq!(
        *order.last().unwrap(),
        "b.com",
        "the others finished while b.com waited"
    );
}

#[tokio::test]
async fn notifications_only_when_there_are_results_and_asked_for() {
    let r = rig(Probe::failing(&["c.com"]));
    let mut quiet = task("quiet", r.clock.now(), "0", all());
    quiet.post_execution = PostExecution::default();
    r.engine.add(quiet).await.unwrap();
    r.engine
        .add(task("loud", r.clock.now(), "0", all()))
        .await
        .unwrap();
    r.engine.tick().await.unwrap();
    let events = r.events.0.lock().unwrap().clone();
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(
        (e.kind.as_str(), e.schema_version, e.count),
        ("task.failed", 1, 3)
    );
    assert_eq!(e.reference.as_deref(), Some("TICKET-42"));
    assert!(
        !e.title.contains("2026"),
        "no timestamp in the title: {}",
        e.title
    );
    assert_eq!(e.fingerprint.len(), 32);
}

#[tokio::test]
async fn sqlite_keeps_everything_across_reopen_and_retakes_an_interrupted_run() {
    let dir = std::env::temp_dir().join(format!("cipp-sched-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("tasks.sqlite");
    let id = {
        let r = rig_with(
            Arc::new(SqliteStore::open(&path).unwrap()),
            Probe::default(),
        );
        let t = r
            .engine
            .add(task("durable", r.clock.now(), "1d", all()))
            .await
            .unwrap();
        r.engine.tick().await.unwrap();
        t.id
    };
    let store = Arc::new(SqliteStore::open(&path).unwrap());
    let t = store.get(&id).await.unwrap().unwrap();
    assert_eq!((t.state, t.attempts), (TaskState::Planned, 1));
    assert_eq!(store.results(&id).await.unwrap().len(), 3);
    // A worker claims it at the next due time and dies.
    let due = t.next_run.unwrap();
    let dead = Lease::new("dead", due + chrono::Duration::minutes(15));
    assert_eq!(store.claim_due(due, &dead, 10).await.unwrap().len(), 1);
    let alive = Lease::new("alive", due + chrono::Duration::minutes(30));
    assert!(
        store
            .claim_due(due + chrono::Duration::minutes(1), &alive, 10)
            .await
            .unwrap()
            .is_empty(),
        "held by the lease"
    );
    let retaken = store
        .claim_due(due + chrono::Duration::minutes(16), &alive, 10)
        .await
        .unwrap();
    assert_eq!(retaken.len(), 1, "taken again once the lease expired");
    assert_eq!(retaken[0].lease.as_ref().unwrap().worker, "alive");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(start_paused = true)]
async fn the_runner_sleeps_until_the_due_time_and_wakes_for_new_tasks() {
    let clock = Arc::new(TokioClock::starting_at(at("2026-11-27T09:00:00Z")));
    let probe = Arc::new(Probe::default());
    let mut reg = Registry::new();
    reg.register("probe", probe.clone());
    let engine = Arc::new(Engine::new(
        Arc::new(MemoryStore::new()),
        reg,
        Arc::new(tenants()),
        clock.clone(),
    ));
    let (tx, rx) = tokio::sync::watch::channel(false);
    let runner = tokio::spawn(engine.clone().run(rx));
    let t = engine
        .add(task("soon", at("2026-11-27T09:00:10Z"), "0", a_com()))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(11)).await;
    let stored = engine.store().get(&t.id).await.unwrap().unwrap();
    assert_eq!(stored.state, TaskState::Completed);
    let started = stored.last_run.unwrap();
    assert!(
        started - at("2026-11-27T09:00:10Z") < chrono::Duration::seconds(1),
        "started {started}"
    );
    tx.send(true).unwrap();
    runner.await.unwrap().unwrap();
}

/// Warns for every tenant: the warning must reach the stored results.
struct Warns;

#[async_trait]
impl Command for Warns {
    async fn run(&self, ctx: RunContext) -> Result<CommandOutput, CommandError> {
        if ctx.tenant == "c.com" {
            // A service error keeps its status, code and request id in the result.
            let e = cipp_core::Error::from(cipp_core::ApiError::from_response(
                cipp_core::TenantId::parse("c.com").unwrap(),
                "get user",
                http::StatusCode::FORBIDDEN,
                &http::HeaderMap::new(),
                br#"{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges","innerError":{"request-id":"rid-9"}}}"#,
            ));
            return Err(CommandError::from(&e));
        }
        Ok(CommandOutput::Warning {
            output: json!({"tenant": ctx.tenant}),
            message: "blocked in the cloud only: the user is synced".into(),
        })
    }
    fn validate(&self, _: &Value) -> Result<(), String> {
        Ok(())
    }
}

#[tokio::test]
async fn warnings_and_error_details_survive_into_the_stored_results() {
    let clock = ManualClock::new(at("2026-11-27T09:00:00Z"));
    let mut reg = Registry::new();
    reg.register("warns", Arc::new(Warns));
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let engine = Engine::new(
        store.clone(),
        reg,
        Arc::new(tenants()),
        Arc::new(clock.clone()),
    );
    let task = engine
        .add(
            NewTask::builder(
                "warn",
                "warns",
                Schedule::new(at("2026-11-27T09:00:00Z"), Recurrence::Once),
            )
            .build(),
        )
        .await
        .unwrap();
    engine.tick().await.unwrap();
    let results = store.results(&task.id).await.unwrap();
    assert_eq!(results.len(), 3);
    let warned: Vec<_> = results
        .iter()
        .filter(|r| matches!(&r.outcome, TenantOutcome::Warning { message, .. } if message.contains("synced")))
        .collect();
    assert_eq!(warned.len(), 2, "{results:?}");
    assert!(warned.iter().all(|r| r.outcome.is_ok()));
    let failed = results.iter().find(|r| r.tenant == "c.com").unwrap();
    match &failed.outcome {
        TenantOutcome::Failed { error } => {
            assert_eq!(error.status, Some(403));
            assert_eq!(error.code.as_deref(), Some("Authorization_RequestDenied"));
            assert_eq!(error.request_id.as_deref(), Some("rid-9"));
        }
        o => panic!("{o:?}"),
    }
}

#[test]
fn results_stored_by_earlier_versions_still_read() {
    let old: TenantOutcome =
        serde_json::from_value(json!({"status": "failed", "error": "denied"})).unwrap();
    match old {
        TenantOutcome::Failed { error } => assert_eq!(error.message, "denied"),
        o => panic!("{o:?}"),
    }
}
