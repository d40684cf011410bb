//! Research a compromised account, write the HTML report, remediate, research again.
//!
//! ```sh
//! cargo run --example compromised_account            # offline, on the simulator
//! CIPP_USER=someone@customer.com CIPP_TENANT=customer.onmicrosoft.com ... cargo run --example compromised_account
//! ```

#[path = "support/mod.rs"]
mod support;

use cipp::remediation::{remediate, RemediationOptions};
use cipp::research::{research, ResearchOptions};

#[tokio::main]
async fn main() -> Result<(), cipp::Error> {
    let (cipp, _sim) = support::client()?;
    let (tenant, user) = support::target(cipp::sim::scenario::DEMO_COMPROMISED_UPN)?;
    let handle = cipp.tenant(&tenant)?;

    let report = research(&handle, &user, &ResearchOptions::default()).await?;
    println!(
        "research on {user}: {:?}, score {}",
        report.verdict, report.score
    );
    for i in &report.indicators {
        println!("  [{:?}] {} — {}", i.severity, i.title, i.evidence);
    }
    let path = std::env::temp_dir().join("cipp-compromised-account.html");
    std::fs::write(&path, report.to_html())
        .map_err(|e| cipp::Error::Config(format!("cannot write {}: {e}", path.display())))?;
    println!("HTML report written to {}", path.display());

    // Remediation is only run against the simulator unless asked for explicitly.
    if _sim.is_none() && std::env::var("CIPP_REMEDIATE").as_deref() != Ok("yes") {
        println!("set CIPP_REMEDIATE=yes to remediate a real account");
        return Ok(());
    }
    let result = remediate(&handle, &user, &RemediationOptions::default()).await?;
    support::print_report("remediation", &result.report);
    if result.password.is_some() {
        println!("  (a new password was set; hand it over through a secure channel)");
    }

    let after = research(&handle, &user, &ResearchOptions::default()).await?;
    let active: Vec<_> = after.active_indicators().collect();
    println!(
        "research again: {} active indicator(s) left; {} historical one(s) remain in the logs",
        active.len(),
        after.indicators.len() - active.len()
    );
    Ok(())
}
