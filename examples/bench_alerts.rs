//! Benchmark of the alert catalogue over a fleet on the simulator with injected latency
//! (figures, not tests): every built-in alert that runs with its default input, over
//! 1,000 licensed tenants, 50 ms per request, concurrency 200, each alert through
//! `run_alert` (access check, evaluate, alert state). Conditional Access reads are paced
//! at one per second per tenant (Graph's documented limit), so one tenant alone takes
//! about as many seconds as it has Conditional Access reads.
//!
//! The bound is ⌈tenants / concurrency⌉ × the time one tenant takes alone (all its alerts
//! at once); the CPU floor is the same run without latency. Each run starts from fresh
//! tenants; medians of the runs are reported, with the requests each tenant cost.
//!
//! ```sh
//! cargo run --release --example bench_alerts                 # 1,000 tenants, 3 runs
//! cargo run --release --example bench_alerts -- 200 5 50     # 200 tenants, 5 runs, concurrency 50
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use cipp::alerts::{run_alert, Alert, AlertCatalogue, AlertService};
use cipp::scheduler::alert_state::MemoryAlertState;
use serde_json::Value;

mod support;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The alerts that run with their default input (`MXRecordChanged` left out: it needs the
/// embedder's DNS resolver).
fn alerts() -> Vec<Arc<dyn Alert>> {
    AlertCatalogue::builtin()
        .iter()
        .filter(|a| a.validate(&Value::Null).is_ok() && a.meta().name != "MXRecordChanged")
        .cloned()
        .collect()
}

struct Figures {
    wall: Duration,
    wire_per_tenant: f64,
    findings: usize,
    failed: usize,
    first_error: Option<String>,
}

async fn run(
    n: usize,
    concurrency: usize,
    latency: Duration,
    alerts: &[Arc<dyn Alert>],
) -> Result<Figures, BoxError> {
    let (sim, cipp, tenants) = support::licensed_fleet(n, concurrency)?;
    let service = AlertService {
        catalogue: Arc::new(AlertCatalogue::builtin()),
        state: Arc::new(MemoryAlertState::new()),
        standards: Some(Arc::new(cipp::standards::MemoryResultStore::new())),
    };
    sim.set_latency(latency);
    let alerts = Arc::new(alerts.to_vec());
    let start = Instant::now();
    let results = cipp
        .for_each_tenant(tenants, move |h| {
            let alerts = alerts.clone();
            let service = service.clone();
            async move {
                let runs: Vec<_> = alerts
                    .iter()
                    .map(|a| {
                        let h = h.clone();
                        let service = service.clone();
                        let a = a.clone();
                        futures::FutureExt::boxed(async move {
                            run_alert(&h, a.as_ref(), &service, &Value::Null, false)
                                .await
                                .map(|c| c.len())
                                .map_err(|e| format!("{}: {e}", a.meta().name))
                        })
                    })
                    .collect();
                Ok(futures::future::join_all(runs).await)
            }
        })
        .collect()
        .await;
    let wall = start.elapsed();
    let mut findings = 0;
    let mut failed = 0;
    let mut first_error = None;
    for r in results {
        match r.result {
            Ok(per_alert) => {
                for x in per_alert {
                    match x {
                        Ok(c) => findings += c,
                        Err(e) => {
                            failed += 1;
                            first_error.get_or_insert(e);
                        }
                    }
                }
            }
            Err(e) => {
                failed += 1;
                first_error.get_or_insert(e.to_string());
            }
        }
    }
    Ok(Figures {
        wall,
        wire_per_tenant: sim.request_log().len() as f64 / n as f64,
        findings,
        failed,
        first_error,
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let mut args = std::env::args().skip(1);
    let mut arg = |default: usize| -> Result<usize, BoxError> {
        Ok(args
            .next()
            .map(|a| a.parse())
            .transpose()?
            .unwrap_or(default)
            .max(1))
    };
    let tenants = arg(1000)?;
    let runs = arg(3)?;
    let concurrency = arg(200)?;
    let latency = Duration::from_millis(50);
    let alerts = alerts();
    println!(
        "{} alerts (of {} built in) with their default input",
        alerts.len(),
        AlertCatalogue::builtin().len()
    );
    let one = run(1, 1, latency, &alerts).await?;
    println!(
        "one tenant alone: {:.3} s, {:.0} requests on the wire, {} findings, {} failed{}",
        one.wall.as_secs_f64(),
        one.wire_per_tenant,
        one.findings,
        one.failed,
        one.first_error
            .as_deref()
            .map(|e| format!(" (first: {e})"))
            .unwrap_or_default()
    );
    let bound = tenants.div_ceil(concurrency) as f64 * one.wall.as_secs_f64();
    println!(
        "fleet: {tenants} tenants, concurrency {concurrency}, 50 ms per request; bound {bound:.3} s"
    );
    let (mut ratios, mut floor_ratios, mut wire) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..runs {
        let r = run(tenants, concurrency, latency, &alerts).await?;
        let f = run(tenants, concurrency, Duration::ZERO, &alerts).await?;
        let ratio = r.wall.as_secs_f64() / bound;
        let with_floor = r.wall.as_secs_f64() / (bound + f.wall.as_secs_f64());
        println!(
            "  run {}: {:.3} s = {ratio:.3}× the bound ({with_floor:.3}× bound + CPU floor {:.3} s); {:.1} requests per tenant; {} findings, {} failed",
            i + 1,
            r.wall.as_secs_f64(),
            f.wall.as_secs_f64(),
            r.wire_per_tenant,
            r.findings,
            r.failed
        );
        ratios.push(ratio);
        floor_ratios.push(with_floor);
        wire.push(r.wire_per_tenant);
    }
    println!(
        "median over {runs} runs: {:.3}× the bound (target ≤ 1.2×), {:.3}× bound + CPU floor, {:.1} requests per tenant",
        median(ratios),
        median(floor_ratios),
        median(wire)
    );
    Ok(())
}
