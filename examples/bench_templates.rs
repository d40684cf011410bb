//! Benchmark of a fleet template deploy on the simulator with injected latency (figures,
//! not tests): 10 templates (5 security groups and 5 Conditional Access policies, each
//! policy including one of those groups by name) deployed to 1,000 new tenants, 50 ms per
//! request, concurrency 200, with read-back verification.
//!
//! The bound is ⌈tenants / concurrency⌉ × the time one tenant takes alone: its dependent
//! round trips at 50 ms, and the pacing Graph imposes on Conditional Access (1 request per
//! second per tenant, no `Retry-After`: the SDK spaces those requests itself, so a tenant
//! with 15 Conditional Access requests cannot finish in under 14 s). Each fleet run starts
//! from fresh tenants; the median of the runs is reported, with the requests each tenant
//! cost (on the wire, of them Conditional Access, and the items carried in `$batch`).
//!
//! ```sh
//! cargo run --release --example bench_templates                # 1,000 tenants, 3 runs
//! cargo run --release --example bench_templates -- 200 5 50    # 200 tenants, 5 runs, concurrency 50
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use cipp::graph::model::ConditionalAccessPolicy;
use cipp::sim::state::{synthetic_guid, user_json};
use cipp::sim::{SimApp, SimTenant, Simulator};
use cipp::templates::capture::{capture_conditional_access, capture_group};
use cipp::templates::template::Template;
use cipp::templates::{deploy, DeployOptions};
use cipp::{Cipp, Credentials, SecretString, Tenant, TenantId};
use serde_json::json;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const LATENCY: Duration = Duration::from_millis(50);
const APP: &str = "bench-app";

/// A simulator with a source tenant (index 0) and `targets` new tenants, security
/// defaults off everywhere (Graph refuses enabled policies while they are on).
fn fleet(targets: usize, concurrency: usize) -> (Simulator, Cipp, Vec<Tenant>) {
    let sim = Simulator::new();
    let mut ids = Vec::new();
    for i in 0..=targets {
        let domain = format!("tenant{i:04}.onmicrosoft.com");
        let id = synthetic_guid(&domain);
        let mut tenant = SimTenant::new(&id, &format!("Tenant {i}"), &domain);
        tenant.conditional_access.security_defaults_disabled = true;
        tenant.add_user(user_json("Admin", &format!("admin@{domain}"), "IT", true));
        if i == 0 {
            for g in 0..5 {
                tenant.add_group(json!({
                    "displayName": format!("Bench Group {g}"), "mailNickname": format!("benchgroup{g}"),
                    "groupTypes": [], "mailEnabled": false, "securityEnabled": true,
                    "description": "Members get the matching policy"
                }));
            }
        }
        sim.add_tenant(tenant);
        ids.push((id, domain));
    }
    sim.add_app(SimApp {
        client_id: APP.into(),
        secret: "s".into(),
        home_tenant: ids[0].0.clone(),
        consented: ids.iter().map(|(id, _)| id.clone()).collect(),
    });
    let tenants: Vec<Tenant> = ids
        .iter()
        .filter_map(|(id, domain)| {
            let mut t = Tenant::new(TenantId::parse(id).ok()?);
            t.default_domain = Some(domain.clone());
            t.initial_domain = Some(domain.clone());
            Some(t)
        })
        .collect();
    let cipp = Cipp::builder()
        .transport(Arc::new(sim.clone()))
        .credentials(Credentials::ClientSecret {
            client_id: APP.into(),
            secret: SecretString::from("s"),
        })
        .tenants(tenants.clone())
        .concurrency(concurrency)
        .build()
        .unwrap_or_else(|e| panic!("bench setup: {e}"));
    (sim, cipp, tenants)
}

/// Captures the 10 templates from the source tenant (before any latency is set).
async fn templates(cipp: &Cipp, source: &Tenant) -> Result<Vec<Template>, BoxError> {
    let h = cipp.tenant(&source.id)?;
    let mut out = Vec::new();
    let groups = h.graph().groups().list().await?;
    for g in &groups {
        let id = g.id.as_ref().ok_or("group without id")?;
        out.push(capture_group(h.graph(), id.as_str()).await?.into_template());
        let policy: ConditionalAccessPolicy = serde_json::from_value(json!({
            "displayName": format!("MFA for {}", g.display_name.as_deref().unwrap_or("?")),
            "state": "enabledForReportingButNotEnforced",
            "conditions": {"clientAppTypes": ["all"], "applications": {"includeApplications": ["All"]},
                           "users": {"includeGroups": [id.as_str()]}},
            "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}
        }))?;
        let created = h
            .graph()
            .conditional_access()
            .create_policy(&policy)
            .await?;
        out.push(
            capture_conditional_access(h.graph(), &created.id)
                .await?
                .into_template(),
        );
    }
    Ok(out)
}

struct Run {
    wall: Duration,
    ok: usize,
    wire_per_tenant: f64,
    batch_items_per_tenant: f64,
    ca_per_tenant: f64,
}

/// One deploy to `targets` fresh tenants at `LATENCY` per request.
async fn run(targets: usize, concurrency: usize) -> Result<Run, BoxError> {
    let (sim, cipp, tenants) = fleet(targets, concurrency);
    let templates = templates(&cipp, &tenants[0]).await?;
    if templates.len() != 10 {
        return Err(format!("captured {} templates, expected 10", templates.len()).into());
    }
    let targets: Vec<Tenant> = tenants[1..].to_vec();
    let n = targets.len();
    sim.clear_log();
    sim.set_latency(LATENCY);
    let start = Instant::now();
    let report = deploy(
        &cipp,
        &templates,
        targets,
        &DeployOptions::new(),
        cipp.fleet(),
    )
    .await;
    let wall = start.elapsed();
    let ok = report.tenants.iter().filter(|t| t.is_ok()).count();
    if ok != n {
        let first = report.tenants.iter().find(|t| !t.is_ok());
        return Err(format!("{} of {n} tenants failed; first: {first:?}", n - ok).into());
    }
    let log = sim.log();
    let wire = sim.request_log();
    let ca = wire
        .iter()
        .filter(|r| r.path.contains("/identity/conditionalAccess/"))
        .count();
    let wire = wire.len();
    let items = log.entries().iter().filter(|e| e.in_batch).count();
    Ok(Run {
        wall,
        ok,
        wire_per_tenant: wire as f64 / n as f64,
        batch_items_per_tenant: items as f64 / n as f64,
        ca_per_tenant: ca as f64 / n as f64,
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
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

    // One tenant alone: its dependent round trips and its Conditional Access pacing.
    let one = run(1, 1).await?;
    println!(
        "one tenant alone: {:.3} s; {:.0} requests on the wire ({:.0} Conditional Access, paced 1/s), {:.0} items inside $batch",
        one.wall.as_secs_f64(),
        one.wire_per_tenant,
        one.ca_per_tenant,
        one.batch_items_per_tenant
    );

    let waves = tenants.div_ceil(concurrency) as f64;
    let bound = waves * one.wall.as_secs_f64();
    println!(
        "fleet: 10 templates → {tenants} tenants, concurrency {concurrency}, {} ms per request; bound ⌈{tenants}/{concurrency}⌉ × {:.3} s = {bound:.3} s",
        LATENCY.as_millis(),
        one.wall.as_secs_f64()
    );
    let mut ratios = Vec::new();
    for i in 0..runs {
        let r = run(tenants, concurrency).await?;
        let ratio = r.wall.as_secs_f64() / bound;
        println!(
            "  run {}: {} tenants ok, wall {:.3} s = {ratio:.3}× the bound; per tenant {:.1} requests on the wire, {:.1} inside $batch",
            i + 1,
            r.ok,
            r.wall.as_secs_f64(),
            r.wire_per_tenant,
            r.batch_items_per_tenant
        );
        ratios.push(ratio);
    }
    println!(
        "median over {runs} runs: {:.3}× the bound (target ≤ 1.2×)",
        median(ratios)
    );
    Ok(())
}
