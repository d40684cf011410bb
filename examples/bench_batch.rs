//! Benchmark: update 1,000 users with `$batch` against one request each, on the simulator
//! with 20 ms latency per response. Prints round trips and wall time.
//!
//! **Simulator-only figures.** The simulator charges a `$batch` of 20 like one request (one
//! 20 ms latency for the whole batch). Real Graph is slower per batch (it runs the 20 items
//! server-side, often one after another) and throttles per item, not per batch, so the
//! speed-up printed here is an upper bound: what `$batch` saves on the wire is the round
//! trips, not Graph's own time or its throttling budget.
//!
//! ```sh
//! cargo run --release --example bench_batch
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use cipp::core::{Pipeline, TenantId};
use cipp::graph::batch::{self, BatchOptions};
use cipp::graph::model::{Field, UserPatch};
use cipp::graph::users::{self, UserRef};
use cipp::sim::Simulator;
use futures::StreamExt;

#[tokio::main]
async fn main() -> Result<(), cipp::Error> {
    let sim = Simulator::demo();
    let ids: Vec<String> = {
        let mut st = sim.lock_state();
        let c = st
            .tenant_mut("contoso.com")
            .ok_or_else(|| cipp::Error::Config("no contoso".into()))?;
        (0..1000)
            .map(|i| {
                let u = cipp::sim::state::user_json(
                    &format!("Bench {i}"),
                    &format!("bench{i}@contoso.com"),
                    "",
                    true,
                );
                c.add_user(u)["id"].as_str().unwrap_or_default().to_owned()
            })
            .collect()
    };
    let pipeline = Pipeline::builder()
        .transport(Arc::new(sim.clone()))
        .credentials(sim.demo_credentials())
        .build()?;
    let t = TenantId::parse("contoso.onmicrosoft.com")?;
    // Warm the token cache, then add the latency.
    users::get(&t, &UserRef::parse(&ids[0])?, &["id"])
        .send(&pipeline)
        .await?;
    sim.set_latency(Duration::from_millis(20));
    let ops = |dept: &str| -> Result<Vec<_>, cipp::Error> {
        ids.iter()
            .map(|id| {
                let patch = UserPatch {
                    department: Field::Set(dept.to_owned()),
                    ..Default::default()
                };
                users::update(&t, &UserRef::parse(id)?, &patch)
            })
            .collect()
    };
    println!("updating 1,000 users on the simulator, 20 ms per response");
    println!(
        "  SIMULATOR-ONLY figures: the simulator charges a $batch of 20 like one request; real \
         Graph is slower per batch and throttles per item, so the batch speed-up is an upper bound"
    );
    for concurrency in [1usize, 4] {
        sim.clear_log();
        let start = Instant::now();
        let p = pipeline.clone();
        let ok = futures::stream::iter(ops("One by one")?)
            .map(|op| {
                let p = p.clone();
                async move { op.send(&p).await.is_ok() }
            })
            .buffer_unordered(concurrency)
            .filter(|ok| futures::future::ready(*ok))
            .count()
            .await;
        println!(
            "  one request each, concurrency {concurrency}: {ok} ok, {:>4} round trips, {:>7.3} s",
            sim.request_log().len(),
            start.elapsed().as_secs_f64()
        );
    }
    for concurrency in [1usize, 4] {
        sim.clear_log();
        let start = Instant::now();
        let opts = BatchOptions {
            concurrency,
            ..Default::default()
        };
        let results = batch::run(&pipeline, &t, ops("Batched")?, &opts).await?;
        println!(
            "  $batch of 20, concurrency {concurrency}:      {} ok, {:>4} round trips, {:>7.3} s",
            results.iter().filter(|r| r.is_ok()).count(),
            sim.request_log()
                .iter()
                .filter(|l| l.path.ends_with("$batch"))
                .count(),
            start.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
