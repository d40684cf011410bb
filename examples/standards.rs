//! Standards, offline on the simulated Microsoft 365: one standards template (Entra and
//! Exchange standards for every tenant, Contoso stricter), a fleet brought in line, then an
//! administrator changes two settings in Contoso. A report run finds the drift and raises
//! one alert; the compliance matrix (HTML, CSV) shows it; a remediate run fixes it and
//! proves it by reading Contoso again; the matrix shows every tenant aligned; a third run
//! raises nothing.
//!
//! ```sh
//! cargo run --example standards
//! ```

use std::sync::{Arc, Mutex};

use cipp::scheduler::notify::{Channel, Event, Notifier};
use cipp::scheduler::SchedulerError;
use cipp::sim::scenario::DEMO_PARTNER;
use cipp::sim::Simulator;
use cipp::standards::{
    run, Matrix, Mode, RunOptions, StandardsReport, StandardsTemplate, TemplateTarget,
};
use cipp::{Cipp, Tenant};
use serde_json::json;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Prints alerts as they would go to a webhook.
#[derive(Clone, Default)]
struct Console(Arc<Mutex<usize>>);

#[async_trait::async_trait]
impl Notifier for Console {
    async fn notify(&self, event: &Event) -> Result<(), SchedulerError> {
        if let Ok(mut n) = self.0.lock() {
            *n += 1;
        }
        println!(
            "  ALERT {} — {} new drift(s), fingerprint {}",
            event.title,
            event.count,
            &event.fingerprint[..12]
        );
        Ok(())
    }
    fn channel(&self) -> Channel {
        Channel::Webhook
    }
}

fn baseline() -> StandardsTemplate {
    let alert = Mode::ALERT;
    StandardsTemplate::new("msp-baseline", "MSP baseline")
        .target(TemplateTarget::AllTenants)
        .standard("DisableTenantCreation", alert, json!({}))
        .standard("DisableAppCreation", alert, json!({}))
        .standard("DisableSecurityGroupUsers", alert, json!({}))
        .standard("DisableGuestDirectory", alert, json!({}))
        .standard("AuditLog", alert, json!({}))
        .standard(
            "EnableMailTips",
            alert,
            json!({"MailTipsLargeAudienceThreshold": "30"}),
        )
        .standard("MessageExpiration", alert, json!({}))
        .standard("DisableTNEF", alert, json!({}))
}

fn contoso_strict() -> StandardsTemplate {
    StandardsTemplate::new("contoso-strict", "Contoso: stricter")
        .target(TemplateTarget::Tenant {
            id: "contoso.com".into(),
        })
        .standard("DisableExternalCalendarSharing", Mode::ALERT, json!({}))
}

/// The same templates, every standard also remediating.
fn remediating(templates: &[StandardsTemplate]) -> Vec<StandardsTemplate> {
    let mut out = templates.to_vec();
    for t in &mut out {
        for entries in t.standards.values_mut() {
            for e in entries {
                e.mode.remediate = true;
                e.mode.report = true;
            }
        }
    }
    out
}

fn print_matrix(report: &StandardsReport, tenants: &[Tenant]) -> Matrix {
    let matrix = report.matrix();
    for a in &matrix.alignment {
        let label = tenants
            .iter()
            .find(|t| t.id.as_str().eq_ignore_ascii_case(&a.tenant))
            .map(Tenant::label)
            .unwrap_or(&a.tenant);
        println!(
            "  {label:<20} alignment {:>5.1}%  compliant {:>2}  drifted {}  failed {}  licence missing {}",
            a.alignment_score, a.compliant, a.drifted, a.failed, a.licence_missing
        );
    }
    matrix
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let sim = Simulator::demo();
    let cipp = Cipp::builder()
        .transport(Arc::new(sim.clone()))
        .credentials(sim.demo_credentials())
        // Reads each customer's organization: templates name tenants by domain.
        .partner_tenant_relationships(DEMO_PARTNER)?
        .build()?;
    let tenants = cipp.tenants().await?;
    let templates = vec![baseline(), contoso_strict()];
    let console = Console::default();
    // One options value across runs: its result store remembers drift, so each drift
    // alerts once.
    let options = RunOptions::new().notifier(Arc::new(console.clone()));

    // 0. Bring the fleet in line once (quietly, in its own store).
    let quiet = RunOptions::new();
    let first = run(
        &cipp,
        &remediating(&templates),
        tenants.clone(),
        &quiet,
        cipp.fleet(),
    )
    .await;
    let fixed = first
        .results()
        .filter(|r| r.status == cipp::standards::Status::Remediated)
        .count();
    println!(
        "Fleet of {} tenants brought in line: {fixed} settings remediated.",
        tenants.len()
    );
    let baseline_run = run(&cipp, &templates, tenants.clone(), &options, cipp.fleet()).await;
    println!("Baseline report run (no alerts expected):");
    print_matrix(&baseline_run, &tenants);

    // 1. An administrator in Contoso lets users create apps and turns TNEF back on.
    let drifting = tenants
        .iter()
        .find(|t| t.label().starts_with("Contoso"))
        .ok_or("the demo fleet lacks Contoso")?;
    let f = cipp.tenant(&drifting.id)?;
    f.graph()
        .settings()
        .update(
            &cipp::graph::settings::GraphSetting::AuthorizationPolicy,
            &json!({"defaultUserRolePermissions": {"allowedToCreateApps": true}}),
        )
        .await?;
    f.exchange()
        .invoke(
            &cipp::exchange::cmdlet::Cmdlet::new("Set-RemoteDomain")
                .param("Identity", "Default")
                .param("TNEFEnabled", true),
        )
        .await?;
    println!("\nSomeone changed two settings in {}.", drifting.label());

    // 2. The next report run finds the drift and alerts once.
    println!("Report run:");
    let drifted = run(&cipp, &templates, tenants.clone(), &options, cipp.fleet()).await;
    let matrix = print_matrix(&drifted, &tenants);
    for r in matrix.drift_report(drifting.id.as_str()) {
        for d in &r.differences {
            println!(
                "    {} {}: current {} expected {}",
                r.key.standard, d.field, d.current, d.expected
            );
        }
    }
    let html = std::env::temp_dir().join(format!("cipp-standards-{}.html", std::process::id()));
    std::fs::write(&html, matrix.to_html("Standards — before remediation"))?;
    println!("  matrix written to {}", html.display());

    // 3. Remediate, proved by a re-read.
    println!("\nRemediate run:");
    let fixed = run(
        &cipp,
        &remediating(&templates),
        tenants.clone(),
        &options,
        cipp.fleet(),
    )
    .await;
    for r in fixed
        .results()
        .filter(|r| r.status == cipp::standards::Status::Remediated)
    {
        let label = tenants
            .iter()
            .find(|t| t.id == r.key.tenant)
            .map(Tenant::label)
            .unwrap_or(r.key.tenant.as_str());
        println!("  remediated {} in {label}", r.key.standard);
    }
    let after = print_matrix(&fixed, &tenants);
    std::fs::write(&html, after.to_html("Standards — after remediation"))?;
    println!(
        "  matrix rewritten: every tenant aligned: {}",
        fixed.is_aligned()
    );

    // 4. Nothing new: no alert.
    let quiet_run = run(&cipp, &templates, tenants.clone(), &options, cipp.fleet()).await;
    let alerts = console.0.lock().map(|n| *n).unwrap_or_default();
    println!(
        "\nA third run raised {} alert(s); {} alert(s) in all.",
        quiet_run.alerts.len(),
        alerts
    );
    if !fixed.is_aligned() || alerts != 1 || !quiet_run.alerts.is_empty() {
        return Err("the fleet did not end aligned with exactly one alert".into());
    }
    Ok(())
}
