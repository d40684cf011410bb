//! Benchmarks of the facade on the simulator with injected latency (figures, not tests):
//!
//! 1. Research Compromised Account at 50 ms per request: wall time against the sum of its
//!    requests' latencies and against its longest dependent chain.
//! 2. List users over 1,000 tenants at 50 ms per request, concurrency 50: wall time against
//!    ceil(1000/50) × round trips per tenant × 50 ms.
//!
//! ```sh
//! cargo run --release --example bench_fleet
//! ```

#[path = "support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use cipp::research::{research, ResearchOptions};
use cipp::sim::state::{synthetic_guid, user_json};
use cipp::sim::{scenario, SimApp, SimTenant, Simulator};
use cipp::{Cipp, Credentials, SecretString, Tenant, TenantId};
use futures::StreamExt;

const LATENCY: Duration = Duration::from_millis(50);

#[tokio::main]
async fn main() -> Result<(), cipp::Error> {
    // 1. Research.
    let sim = Simulator::demo();
    let cipp = support::demo_client(&sim)?;
    sim.set_latency(LATENCY);
    let t = TenantId::parse("contoso.onmicrosoft.com")?;
    let start = Instant::now();
    let r = research(
        &cipp.tenant(&t)?,
        scenario::DEMO_COMPROMISED_UPN,
        &ResearchOptions::default(),
    )
    .await?;
    let wall = start.elapsed();
    let n = sim.request_log().len() as u32;
    let chain = LATENCY * 4; // Graph token → user → Exchange token → cmdlet
    println!(
        "1. research ({} indicators), {} ms per request:",
        r.indicators.len(),
        LATENCY.as_millis()
    );
    println!(
        "   {n} requests; sum of latencies {:.3} s; longest chain (4 round trips) {:.3} s",
        (LATENCY * n).as_secs_f64(),
        chain.as_secs_f64()
    );
    println!(
        "   wall {:.3} s = {:.2}× the longest chain, {:.2}× less than one-by-one",
        wall.as_secs_f64(),
        wall.as_secs_f64() / chain.as_secs_f64(),
        (LATENCY * n).as_secs_f64() / wall.as_secs_f64()
    );

    // 2. One operation over 1,000 tenants.
    let sim = Simulator::new();
    let app_id = "bench-app";
    let mut ids = Vec::new();
    for i in 0..1000 {
        let domain = format!("tenant{i:04}.onmicrosoft.com");
        let id = synthetic_guid(&domain);
        let mut tenant = SimTenant::new(&id, &format!("Tenant {i}"), &domain);
        for u in 0..5 {
            tenant.add_user(user_json(
                &format!("User {u}"),
                &format!("user{u}@{domain}"),
                "Staff",
                true,
            ));
        }
        sim.add_tenant(tenant);
        ids.push(id);
    }
    sim.add_app(SimApp {
        client_id: app_id.into(),
        secret: "s".into(),
        home_tenant: ids[0].clone(),
        consented: ids.clone(),
    });
    sim.set_latency(LATENCY);
    let tenants: Vec<Tenant> = ids
        .iter()
        .map(|id| TenantId::parse(id).map(Tenant::new))
        .collect::<Result<_, _>>()?;
    let cipp = Cipp::builder()
        .transport(Arc::new(sim.clone()))
        .credentials(Credentials::ClientSecret {
            client_id: app_id.into(),
            secret: SecretString::from("s"),
        })
        .tenants(tenants.clone())
        .concurrency(50)
        .build()?;
    let c = cipp.clone();
    let start = Instant::now();
    let ok = cipp
        .fleet()
        .run(tenants, move |t| {
            let c = c.clone();
            async move { c.graph().tenant(&t.id).users().list().select(["id"]).await }
        })
        .filter(|r| futures::future::ready(r.result.is_ok()))
        .count()
        .await;
    let wall = start.elapsed();
    let floor = LATENCY * 20 * 2; // ceil(1000/50) × (token + list) × 50 ms
    println!(
        "\n2. list users over 1,000 tenants, concurrency 50, {} ms per request:",
        LATENCY.as_millis()
    );
    println!(
        "   {ok} tenants ok, {} requests; floor {:.3} s; wall {:.3} s = {:.3}× the floor",
        sim.request_log().len(),
        floor.as_secs_f64(),
        wall.as_secs_f64(),
        wall.as_secs_f64() / floor.as_secs_f64()
    );
    Ok(())
}
