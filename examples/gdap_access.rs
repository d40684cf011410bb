//! GDAP access health for the whole fleet: for each customer of the partner's active
//! relationships, the roles granted and mapped, expiry and auto-extend, whether Graph and
//! Exchange tokens can be obtained, the licences features need, and what will break.
//! Offline it first maps Exchange Administrator for one customer through CIPP's
//! role-mapping workflow, so the report shows both mapped and unmapped roles.
//!
//! ```sh
//! cargo run --example gdap_access
//! ```

#[path = "support/mod.rs"]
mod support;

use cipp::access::{access_health, Check};
use cipp::graph::gdap::{roles, workflow};
use cipp::TenantId;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), cipp::Error> {
    let (cipp, sim) = support::client()?;
    let partner = match std::env::var("CIPP_PARTNER_TENANT") {
        Ok(p) if sim.is_none() => TenantId::parse(&p)?,
        _ => TenantId::parse(cipp::sim::scenario::DEMO_PARTNER)?,
    };
    if sim.is_some() {
        let exo = roles::role_id("Exchange Administrator")
            .unwrap_or_default()
            .to_owned();
        let (mappings, report) =
            workflow::ensure_role_groups(&cipp.graph().tenant(&partner), &[exo], None).await?;
        support::print_report("partner groups", &report);
        let first = cipp
            .graph()
            .tenant(&partner)
            .gdap()
            .relationships()
            .query(cipp::graph::gdap::active_query())
            .await?;
        if let Some(rel) = first.first() {
            let applied =
                workflow::apply_mappings(&cipp.graph().tenant(&partner), &rel.id, &mappings, false)
                    .await?;
            support::print_report(
                &format!(
                    "mappings on {}",
                    rel.display_name.as_deref().unwrap_or(&rel.id)
                ),
                &applied.report,
            );
        }
    }
    let report = access_health(&cipp, &partner).await?;
    for t in &report {
        let name = t.display_name.as_deref().unwrap_or(&t.tenant_id);
        let check = |c: &Check| if c.is_ok() { "ok" } else { "FAILED" };
        let mapped = t.roles.iter().filter(|r| r.mapped).count();
        println!(
            "\n{name}\n  relationships {} | roles {} ({} mapped) | ends {} | auto-extend {}",
            t.relationships.len(),
            t.roles.len(),
            mapped,
            t.ends
                .map_or("-".into(), |e| e.format("%Y-%m-%d").to_string()),
            t.auto_extends
        );
        println!(
            "  Graph token {} | Exchange token {} | Intune {:?} | Entra P1 {:?} | P2 {:?}",
            check(&t.graph),
            check(&t.exchange),
            t.licences.intune,
            t.licences.entra_p1,
            t.licences.entra_p2
        );
        for p in t.problems.iter().take(6) {
            println!("  - {p}");
        }
        if t.problems.len() > 6 {
            println!("  … and {} more", t.problems.len() - 6);
        }
    }
    Ok(())
}
