//! Benchmark of a fleet standards run on the simulator with injected latency (figures, not
//! tests): every built-in standard with its example settings (`catalogue::example_settings`),
//! in report and alert mode, over 1,000 licensed tenants, 50 ms per request, concurrency
//! 200, through `cipp::standards::run` (access checks, result store, drift alerts).
//!
//! Paired in each run against its baseline, the same standards checked one by one per
//! tenant (each standard's own reads, nothing shared between standards, Graph reads still
//! in `$batch` within one standard), to show what sharing and batching save.
//!
//! The bound is ⌈tenants / concurrency⌉ × the time one tenant takes alone with the shared
//! run. Each run starts from fresh tenants; medians of the runs are reported.
//!
//! ```sh
//! cargo run --release --example bench_standards                 # 1,000 tenants, 3 runs
//! cargo run --release --example bench_standards -- 200 5 50     # 200 tenants, 5 runs, concurrency 50
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cipp::sim::Simulator;
use cipp::standards::catalogue::example_settings;
use cipp::standards::{
    run, run_tenant, Assignment, Catalogue, Mode, RunOptions, StandardsTemplate, TemplateTarget,
    TenantTarget,
};

mod support;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Latency per request (`BENCH_LATENCY_MS` overrides; 0 measures the CPU floor).
fn latency() -> Duration {
    let ms = std::env::var("BENCH_LATENCY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    Duration::from_millis(ms)
}

/// The built-in standards whose settings validate, as one template for every tenant.
fn template() -> (StandardsTemplate, Vec<Assignment>) {
    let catalogue = Catalogue::builtin();
    let mut t = StandardsTemplate::new("bench", "Bench").target(TemplateTarget::AllTenants);
    let mut assignments = Vec::new();
    for s in catalogue.iter() {
        let name = s.meta().name;
        let settings = example_settings(name);
        let a = Assignment::new(s.clone(), settings.clone(), Mode::ALERT);
        if a.validate().is_ok() {
            t = t.standard(name, Mode::ALERT, settings);
            assignments.push(a);
        }
    }
    (t, assignments)
}

struct Figures {
    /// The requests on the wire, by method and path (tenant left out).
    breakdown: BTreeMap<String, usize>,
    wall: Duration,
    wire_per_tenant: f64,
    batch_items_per_tenant: f64,
    results: usize,
    failed: usize,
}

fn figures(sim: &Simulator, wall: Duration, n: usize, results: usize, failed: usize) -> Figures {
    let log = sim.log();
    let items = log.entries().iter().filter(|e| e.in_batch).count();
    drop(log);
    let mut breakdown = BTreeMap::new();
    for r in sim.request_log() {
        let path: Vec<&str> = r
            .path
            .split('/')
            .filter(|p| !p.contains(".onmicrosoft.com") && !p.contains('-'))
            .collect();
        *breakdown
            .entry(format!("{} {}", r.method, path.join("/")))
            .or_insert(0) += 1;
    }
    Figures {
        breakdown,
        wall,
        wire_per_tenant: sim.request_log().len() as f64 / n as f64,
        batch_items_per_tenant: items as f64 / n as f64,
        results,
        failed,
    }
}

/// The shared run over `n` fresh tenants.
async fn shared(
    n: usize,
    concurrency: usize,
    template: &StandardsTemplate,
    latency: Duration,
) -> Result<Figures, BoxError> {
    let (sim, cipp, tenants) = support::licensed_fleet(n, concurrency)?;
    sim.set_latency(latency);
    let start = Instant::now();
    let report = run(
        &cipp,
        std::slice::from_ref(template),
        tenants,
        &RunOptions::new(),
        cipp.fleet(),
    )
    .await;
    let wall = start.elapsed();
    let results = report.results().count();
    let failed = report
        .results()
        .filter(|r| r.status == cipp::standards::Status::Failed)
        .count();
    if let Some(t) = report.tenants.iter().find(|t| t.error.is_some()) {
        return Err(format!("tenant {} failed: {:?}", t.tenant.label(), t.error).into());
    }
    Ok(figures(&sim, wall, n, results, failed))
}

/// The baseline over `n` fresh tenants: per tenant, each standard on its own (its own
/// reads), all of a tenant's standards at once.
async fn one_by_one(
    n: usize,
    concurrency: usize,
    assignments: &[Assignment],
) -> Result<Figures, BoxError> {
    let (sim, cipp, tenants) = support::licensed_fleet(n, concurrency)?;
    sim.set_latency(latency());
    let assignments = Arc::new(assignments.to_vec());
    let now = cipp.clock().now();
    let start = Instant::now();
    let runs = cipp
        .for_each_tenant(tenants, move |h| {
            let assignments = assignments.clone();
            async move {
                let target = TenantTarget {
                    graph: h.graph().clone(),
                    exchange: h.exchange().clone(),
                };
                let each: Vec<_> = assignments
                    .iter()
                    .map(|a| {
                        futures::FutureExt::boxed(run_tenant(&target, std::slice::from_ref(a), now))
                    })
                    .collect();
                let done: Vec<Vec<cipp::standards::StandardResult>> =
                    futures::future::join_all(each).await;
                Ok(done.into_iter().flatten().collect::<Vec<_>>())
            }
        })
        .collect()
        .await;
    let wall = start.elapsed();
    let all: Vec<cipp::standards::StandardResult> = runs
        .into_iter()
        .filter_map(|r| r.result.ok())
        .flatten()
        .collect();
    let failed = all
        .iter()
        .filter(|r| r.status == cipp::standards::Status::Failed)
        .count();
    Ok(figures(&sim, wall, n, all.len(), failed))
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
    let (template, assignments) = template();
    println!(
        "{} standards (of {} built in) in report + alert mode",
        assignments.len(),
        Catalogue::builtin().len()
    );

    let one = shared(1, 1, &template, latency()).await?;
    println!(
        "one tenant alone: {:.3} s; {:.0} requests on the wire, {:.0} reads inside $batch; {} results, {} failed",
        one.wall.as_secs_f64(),
        one.wire_per_tenant,
        one.batch_items_per_tenant,
        one.results,
        one.failed
    );
    for (request, count) in &one.breakdown {
        println!("    {count:>3} × {request}");
    }
    let waves = tenants.div_ceil(concurrency) as f64;
    let bound = waves * one.wall.as_secs_f64();
    println!(
        "fleet: {tenants} tenants, concurrency {concurrency}, {} ms per request; bound ⌈{tenants}/{concurrency}⌉ × {:.3} s = {bound:.3} s",
        latency().as_millis(),
        one.wall.as_secs_f64()
    );
    let mut ratios = Vec::new();
    let mut floor_ratios = Vec::new();
    let mut base_ratios = Vec::new();
    let mut wire = Vec::new();
    let mut base_wire = Vec::new();
    for i in 0..runs {
        let s = shared(tenants, concurrency, &template, latency()).await?;
        let b = one_by_one(tenants, concurrency, &assignments).await?;
        // The same shared run without latency: the CPU the simulator and the engine need
        // on this machine, which no overlap of waiting can hide.
        let f = shared(tenants, concurrency, &template, Duration::ZERO).await?;
        let ratio = s.wall.as_secs_f64() / bound;
        let with_floor = s.wall.as_secs_f64() / (bound + f.wall.as_secs_f64());
        println!(
            "  run {}: shared {:.3} s = {ratio:.3}× the bound ({with_floor:.3}× bound + CPU floor {:.3} s), {:.1} requests per tenant ({:.1} in $batch), {} results ({} failed) | one by one {:.3} s, {:.1} requests per tenant ({:.1} in $batch), {} failed",
            i + 1,
            s.wall.as_secs_f64(),
            f.wall.as_secs_f64(),
            s.wire_per_tenant,
            s.batch_items_per_tenant,
            s.results,
            s.failed,
            b.wall.as_secs_f64(),
            b.wire_per_tenant,
            b.batch_items_per_tenant,
            b.failed
        );
        ratios.push(ratio);
        floor_ratios.push(with_floor);
        base_ratios.push(b.wall.as_secs_f64() / bound);
        wire.push(s.wire_per_tenant);
        base_wire.push(b.wire_per_tenant);
    }
    println!(
        "median over {runs} runs: shared {:.3}× the bound (target ≤ 1.2×), {:.3}× bound + CPU floor, {:.1} requests per tenant; one by one {:.3}× the bound, {:.1} requests per tenant",
        median(ratios),
        median(floor_ratios),
        median(wire),
        median(base_ratios),
        median(base_wire)
    );
    Ok(())
}
