//! Scheduler throughput with a no-op command, per store; one task over 2,000 tenants shared
//! by one and by two PostgreSQL workers; and the delay from a task's due
//! time to its start with the runner loop (figures, not tests).
//!
//! ```sh
//! cargo run --release --example bench_scheduler
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use cipp::core::{Clock, SystemClock};
use cipp::scheduler::command::{Command, CommandError, CommandOutput, Registry, RunContext};
use cipp::scheduler::engine::{Engine, StaticTenants};
use cipp::scheduler::postgres::PgStore;
use cipp::scheduler::recurrence::{Recurrence, Schedule};
use cipp::scheduler::store::{MemoryStore, SqliteStore, Store};
use cipp::scheduler::task::{NewTask, Target, TaskState};
use serde_json::{json, Value};

struct Noop;

#[async_trait]
impl Command for Noop {
    fn validate(&self, parameters: &Value) -> Result<(), String> {
        match parameters.as_object() {
            Some(o) if o.is_empty() => Ok(()),
            _ => Err("noop takes no parameters".into()),
        }
    }
    async fn run(&self, _: RunContext) -> Result<CommandOutput, CommandError> {
        Ok(CommandOutput::Done(json!({})))
    }
}

/// Stands in for a tenant's Graph call: 5 ms of waiting. Counts its calls.
#[derive(Default)]
struct Call(std::sync::atomic::AtomicUsize);

#[async_trait]
impl Command for Call {
    fn validate(&self, _: &Value) -> Result<(), String> {
        Ok(())
    }
    async fn run(&self, _: RunContext) -> Result<CommandOutput, CommandError> {
        tokio::time::sleep(Duration::from_millis(5)).await;
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(CommandOutput::Done(json!({})))
    }
}

fn engine(store: Arc<dyn Store>) -> Engine {
    engine_over(store, vec!["a.com".into()], Arc::default())
}

fn engine_over(store: Arc<dyn Store>, all: Vec<String>, call: Arc<Call>) -> Engine {
    let mut reg = Registry::new();
    reg.register("noop", Arc::new(Noop));
    reg.register("call", call);
    Engine::new(
        store,
        reg,
        Arc::new(StaticTenants {
            all,
            ..Default::default()
        }),
        Arc::new(SystemClock),
    )
}

/// One task over `n` tenants (5 ms each, 10 at once per worker) shared by the workers.
async fn shared_fan_out(cfg: &str, workers: usize, n: usize) {
    let schema = format!("cipp_bench_{}", uuid::Uuid::new_v4().simple());
    let tenants: Vec<String> = (0..n).map(|i| format!("t{i}.com")).collect();
    let mut engines = Vec::new();
    let mut calls = Vec::new();
    for _ in 0..workers {
        match PgStore::connect(cfg, &schema).await {
            Ok(s) => {
                let call = Arc::new(Call::default());
                calls.push(call.clone());
                engines.push(Arc::new(engine_over(Arc::new(s), tenants.clone(), call)));
            }
            Err(e) => {
                println!("  postgres: skipped ({e})");
                return;
            }
        }
    }
    let mut t = task(0, SystemClock.now());
    t.command = "call".into();
    t.target = Target::AllTenants {
        exclude_tenants: vec![],
        exclude_groups: vec![],
    };
    engines[0].add(t).await.unwrap();
    let start = Instant::now();
    // The first worker claims the task and splits it; the others join in at once.
    let first = engines[0].tick();
    let others = futures::future::join_all(engines[1..].iter().map(|e| async move {
        let mut k = 0;
        while k == 0 && start.elapsed() < Duration::from_secs(60) {
            k += e.tick().await.unwrap().len();
            if k == 0 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            let done = e.store().list(true).await.unwrap().iter().all(|t| {
                !matches!(
                    t.state,
                    TaskState::Planned | TaskState::Pending | TaskState::Running
                )
            });
            if done {
                break;
            }
        }
    }));
    let (runs, _) = tokio::join!(first, others);
    let runs = runs.unwrap();
    // Whoever closed the last item reported the run; wait for it if that was not worker 0.
    let mut results = runs.first().map_or(0, |r| r.results.len());
    if results == 0 {
        let id = engines[0].store().list(true).await.unwrap()[0].id.clone();
        results = engines[0].store().results(&id).await.unwrap().len();
    }
    let secs = start.elapsed().as_secs_f64();
    let shares: Vec<String> = calls
        .iter()
        .map(|c| c.0.load(std::sync::atomic::Ordering::Relaxed).to_string())
        .collect();
    println!(
        "  {workers} worker(s): {results} tenants in {secs:>6.3} s = {:>6.0} tenants/s (per worker: {})",
        results as f64 / secs,
        shares.join(" + ")
    );
    if let Ok((c, conn)) = tokio_postgres::connect(cfg, tokio_postgres::NoTls).await {
        tokio::spawn(conn);
        let _ = c
            .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
            .await;
    }
}

fn task(i: usize, at: chrono::DateTime<chrono::Utc>) -> NewTask {
    NewTask::builder(format!("t{i}"), "noop", Schedule::new(at, Recurrence::Once))
        .tenant("a.com")
        .build()
}

/// Ticks `engine` until a tick finds nothing due; how many runs it made.
async fn drain(engine: Arc<Engine>) -> usize {
    let mut total = 0;
    loop {
        match engine.tick().await.unwrap().len() {
            0 => return total,
            n => total += n,
        }
    }
}

async fn throughput(name: &str, engines: Vec<Arc<Engine>>, n: usize) {
    let now = SystemClock.now();
    for i in 0..n {
        engines[i % engines.len()].add(task(i, now)).await.unwrap();
    }
    let start = Instant::now();
    let handles: Vec<_> = engines
        .iter()
        .map(|e| tokio::spawn(drain(e.clone())))
        .collect();
    let mut total = 0;
    for h in handles {
        total += h.await.unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "  {name:<28} {total:>5} runs in {secs:>6.3} s = {:>7.0} runs/s, {:>7.1} µs per run",
        total as f64 / secs,
        secs * 1e6 / total as f64
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    println!("throughput, no-op command, one tenant per task:");
    throughput(
        "memory",
        vec![Arc::new(engine(Arc::new(MemoryStore::new())))],
        5000,
    )
    .await;
    let path = std::env::temp_dir().join(format!("cipp-bench-{}.sqlite", std::process::id()));
    throughput(
        "sqlite (file, WAL)",
        vec![Arc::new(engine(Arc::new(
            SqliteStore::open(&path).unwrap(),
        )))],
        2000,
    )
    .await;
    std::fs::remove_file(&path).ok();
    let cfg = std::env::var("CIPP_PG")
        .unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres dbname=test".into());
    for workers in [1usize, 2] {
        let schema = format!("cipp_bench_{}", uuid::Uuid::new_v4().simple());
        let mut engines = Vec::new();
        for _ in 0..workers {
            match PgStore::connect(&cfg, &schema).await {
                Ok(s) => engines.push(Arc::new(engine(Arc::new(s)))),
                Err(e) => {
                    println!("  postgres: skipped ({e})");
                    break;
                }
            }
        }
        if engines.len() == workers {
            throughput(&format!("postgres, {workers} worker(s)"), engines, 2000).await;
            if let Ok((c, conn)) = tokio_postgres::connect(&cfg, tokio_postgres::NoTls).await {
                tokio::spawn(conn);
                let _ = c
                    .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
                    .await;
            }
        }
    }

    println!("\none task over 2,000 tenants shared across PostgreSQL workers (5 ms per tenant):");
    for workers in [1usize, 2] {
        shared_fan_out(&cfg, workers, 2000).await;
    }

    println!("\ndelay from due time to start, runner loop (memory store):");
    let e = Arc::new(engine(Arc::new(MemoryStore::new())));
    let (tx, rx) = tokio::sync::watch::channel(false);
    let runner = tokio::spawn(e.clone().run(rx));
    let mut worst = Duration::ZERO;
    for i in 0..5 {
        let due = SystemClock.now() + chrono::Duration::milliseconds(300);
        let t = e.add(task(i, due)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let started = e
            .store()
            .get(&t.id)
            .await
            .unwrap()
            .unwrap()
            .last_run
            .unwrap();
        let delay = (started - due).to_std().unwrap_or_default();
        worst = worst.max(delay);
    }
    println!(
        "  worst of 5: {:.1} ms after the due time",
        worst.as_secs_f64() * 1e3
    );
    tx.send(true).unwrap();
    runner.await.unwrap().unwrap();
}
