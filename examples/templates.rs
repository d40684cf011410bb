//! Templates, offline on the simulated Microsoft 365: capture a Conditional Access policy,
//! an Intune device configuration profile and a group from Contoso into a template store on
//! disk, plan them for Fabrikam and
//! Northwind (their group is missing), deploy to both concurrently, and plan again with the
//! returned bindings: no-op.
//!
//! ```sh
//! cargo run --example templates
//! ```

use std::sync::Arc;

use cipp::graph::intune::IntuneKind;
use cipp::graph::model::ConditionalAccessPolicy;
use cipp::graph::model::IntunePolicy;
use cipp::sim::scenario::DEMO_PARTNER;
use cipp::sim::Simulator;
use cipp::templates::capture::{capture_conditional_access, capture_group, capture_intune};
use cipp::templates::plan::{Binding, PlanOptions};
use cipp::templates::store::{DirTemplateStore, TemplateStore};
use cipp::templates::template::{Template, TemplateKind};
use cipp::templates::{deploy, plan_tenant, DeployOptions};
use cipp::{Cipp, Tenant};
use serde_json::json;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

async fn print_plans(
    cipp: &Cipp,
    templates: &[Template],
    tenants: &[Tenant],
    bindings: &[Binding],
) -> Result<(), BoxError> {
    for t in tenants {
        let handle = cipp.tenant(&t.id)?;
        let p = plan_tenant(&handle, templates, bindings, &PlanOptions::default()).await?;
        println!(
            "  {} — {}",
            t.label(),
            if p.is_empty() { "no-op" } else { "changes" }
        );
        for item in &p.items {
            println!(
                "    {:<8} {} ({})",
                item.action.label(),
                item.name,
                item.kind
            );
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let sim = Simulator::demo();
    let cipp = Cipp::builder()
        .transport(Arc::new(sim.clone()))
        .credentials(sim.demo_credentials())
        // Reads each customer's organization: variables need the default domain.
        .partner_tenant_relationships(DEMO_PARTNER)?
        .build()?;
    let all = cipp.tenants().await?;
    let by_name = |name: &str| all.iter().find(|t| t.label().starts_with(name)).cloned();
    let (Some(contoso), Some(fabrikam), Some(northwind)) = (
        by_name("Contoso"),
        by_name("Fabrikam"),
        by_name("Northwind"),
    ) else {
        return Err("the demo fleet lacks a tenant".into());
    };
    let targets = vec![fabrikam, northwind];

    // Graph refuses enabled policies while security defaults are on.
    for t in std::iter::once(&contoso).chain(&targets) {
        cipp.tenant(&t.id)?
            .graph()
            .conditional_access()
            .disable_security_defaults()
            .await?;
    }

    // 1. Capture from Contoso into a store on disk.
    let a = cipp.tenant(&contoso.id)?;
    let policy: ConditionalAccessPolicy = serde_json::from_value(json!({
        "displayName": "Require MFA for admins", "state": "enabled",
        "conditions": {"clientAppTypes": ["all"], "applications": {"includeApplications": ["All"]},
                       "users": {"includeRoles": ["62e90394-69f5-4237-9190-012177145e10"]}},
        "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}
    }))?;
    let policy = a
        .graph()
        .conditional_access()
        .create_policy(&policy)
        .await?;
    let sales = a
        .graph()
        .groups()
        .list()
        .await?
        .into_iter()
        .find(|g| g.display_name.as_deref() == Some("Sales Team"))
        .and_then(|g| g.id)
        .ok_or("Contoso has no Sales Team group")?;
    let dir = std::env::temp_dir().join(format!("cipp-templates-example-{}", std::process::id()));
    let store = DirTemplateStore::open(&dir)?;
    // An Intune device configuration profile in Contoso.
    let intune: IntunePolicy = serde_json::from_value(json!({
        "@odata.type": "#microsoft.graph.windows10GeneralConfiguration",
        "displayName": "Windows baseline", "description": "Block the Store, require a PIN",
        "storeBlocked": true, "passwordRequired": true, "passwordMinimumLength": 8
    }))?;
    let intune = a
        .graph()
        .intune()
        .create(IntuneKind::DeviceConfiguration, &intune)
        .await?;
    let ca = capture_conditional_access(a.graph(), &policy.id).await?;
    let group = capture_group(a.graph(), sales.as_str()).await?;
    let device = capture_intune(
        a.graph(),
        &TemplateKind::IntuneDeviceConfiguration,
        &intune.id,
    )
    .await?;
    store
        .put(device.into_template().with_id("intune-windows-baseline"))
        .await?;
    store
        .put(ca.into_template().with_id("ca-admins-mfa"))
        .await?;
    store
        .put(group.into_template().with_id("group-sales"))
        .await?;
    let templates: Vec<Template> = store.list(None).await?.templates;
    println!("Captured from {} into {}:", contoso.label(), dir.display());
    for t in &templates {
        println!("  {} ({}, {})", t.name, t.kind, t.id);
    }

    // 2. Plan for both targets.
    println!("\nPlan:");
    print_plans(&cipp, &templates, &targets, &[]).await?;

    // 3. Deploy to both, concurrently.
    let report = deploy(
        &cipp,
        &templates,
        targets.clone(),
        &DeployOptions::new(),
        cipp.fleet(),
    )
    .await;
    println!("\nDeploy: {}", if report.is_ok() { "ok" } else { "FAILED" });
    for t in &report.tenants {
        println!("  {}", t.tenant.label());
        if let Some(e) = &t.error {
            println!("    error: {e}");
        }
        for i in t.report.iter().flat_map(|r| &r.items) {
            println!("    {:<8} {:<26} {}", i.action, i.name, i.outcome.message());
        }
    }

    // 4. Plan again with the bindings deploy returned.
    println!("\nPlan again:");
    print_plans(&cipp, &templates, &targets, &report.bindings()).await?;
    let html = dir.join("deploy.html");
    std::fs::write(&html, report.to_html())?;
    println!("\nHTML report: {}", html.display());
    Ok(())
}
