//! The scheduler on the simulator: a SQLite-backed engine that schedules a daily report
//! across all tenants and a run-now offboarding, drives a few ticks with a manual clock and
//! prints the per-tenant results.
//!
//! ```sh
//! cargo run --example scheduler_demo
//! ```

use std::sync::Arc;

use cipp::commands::{register_builtin, FleetResolver};
use cipp::core::{Clock, ManualClock};
use cipp::scheduler::command::Registry;
use cipp::scheduler::engine::Engine;
use cipp::scheduler::recurrence::{Recurrence, Schedule};
use cipp::scheduler::store::SqliteStore;
use cipp::scheduler::task::{NewTask, Target, TenantOutcome};
use cipp::sim::{scenario, Simulator};
use cipp::Cipp;
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let clock = ManualClock::new("2026-11-27T08:00:00Z".parse()?);
    let sim = Simulator::demo_with_clock(Arc::new(clock.clone()));
    let cipp = Cipp::builder()
        .transport(Arc::new(sim.clone()))
        .credentials(sim.demo_credentials())
        .clock(Arc::new(clock.clone()))
        .partner_tenant(scenario::DEMO_PARTNER)?
        .build()?;
    let mut registry = Registry::new();
    register_builtin(&mut registry, &cipp);
    let db =
        std::env::temp_dir().join(format!("cipp-scheduler-demo-{}.sqlite", std::process::id()));
    let engine = Engine::new(
        Arc::new(SqliteStore::open(&db)?),
        registry,
        Arc::new(FleetResolver::new(cipp.clone(), Default::default())),
        Arc::new(clock.clone()),
    );
    let daily = engine
        .add(NewTask {
            name: "MFA registration report".into(),
            command: "tenant.mfa_registration".into(),
            parameters: json!({}),
            target: Target::AllTenants {
                exclude_tenants: vec![],
                exclude_groups: vec![],
            },
            schedule: Schedule::new(
                "2026-11-27T09:00:00Z".parse()?,
                Recurrence::parse("0 9 * * *")?,
            )
            .in_time_zone("Europe/London"),
            post_execution: Default::default(),
            reference: Some("PSA-1001".into()),
            hidden: false,
            unique_name: true,
        })
        .await?;
    println!(
        "daily report scheduled; next runs: {:?}",
        engine
            .next_runs(&daily.id, 3)
            .await?
            .iter()
            .map(|t| t.to_rfc3339())
            .collect::<Vec<_>>()
    );
    let contoso = cipp
        .tenants()
        .await?
        .into_iter()
        .find(|t| t.label() == "Contoso Ltd")
        .ok_or("no Contoso")?;
    let offboard = engine
        .add(NewTask {
            name: "Offboard Isaiah".into(),
            command: "user.offboard".into(),
            parameters: json!({"user": "isaiahl@contoso.com", "revokeSessions": true, "disableSignIn": true, "hideFromGal": true, "convertToShared": true, "removeLicenses": true}),
            target: Target::Tenant { id: contoso.id.to_string() },
            schedule: Schedule::new(clock.now(), Recurrence::Once),
            post_execution: Default::default(),
            reference: Some("PSA-1002".into()),
            hidden: false,
            unique_name: false,
        })
        .await?;
    let s = engine.run_now(&offboard.id).await?;
    println!(
        "\nrun now: {} → {}",
        offboard.spec.name,
        s.state.cipp_name()
    );
    print_results(&s.results);

    for _ in 0..2 {
        clock.set(engine.next_runs(&daily.id, 1).await?[0]);
        println!("\n[{}] tick", clock.now().to_rfc3339());
        for run in engine.tick().await? {
            println!("{} → {}", run.task_id, run.state.cipp_name());
            print_results(&run.results);
        }
    }
    std::fs::remove_file(&db).ok();
    Ok(())
}

fn print_results(results: &[cipp::scheduler::task::TenantResult]) {
    for r in results {
        let text = match &r.outcome {
            TenantOutcome::Succeeded { output, .. } => format!(
                "ok {}",
                output
                    .get("withoutMfa")
                    .map(|n| format!("({n} users without MFA)"))
                    .unwrap_or_default()
            ),
            TenantOutcome::NoChange { message } => format!("no change: {message}"),
            TenantOutcome::Failed { error } => format!("FAILED: {error}"),
            TenantOutcome::Throttled { retry_at } => format!("throttled until {retry_at}"),
            _ => "?".into(),
        };
        println!(
            "  {:<40} {text}  [ref {}]",
            r.tenant,
            r.reference.clone().unwrap_or_default()
        );
    }
}
