//! Access control and the audit trail, offline on the simulated Microsoft 365: a helpdesk
//! role with user read/write in two tenants. Its allowed actions run; a template deploy
//! (`Tenant.Standards.ReadWrite`), a mailbox change (`Exchange.Mailbox.ReadWrite`), a GDAP
//! change (`Tenant.Relationship.ReadWrite`) and any action in a third tenant are refused
//! before anything is sent; the audit log shows all of it.
//!
//! ```sh
//! cargo run --example access_control
//! ```

use std::sync::Arc;

use cipp::authz::{AccessControl, AuditOutcome, MemoryAuditLog, Principal, Role, TenantScope};
use cipp::graph::password::PasswordStyle;
use cipp::sim::scenario::DEMO_PARTNER;
use cipp::sim::Simulator;
use cipp::templates::template::{Template, TemplateKind};
use cipp::templates::{deploy, DeployOptions};
use cipp::users::Guard;
use cipp::{Cipp, Tenant, TenantId};
use serde_json::json;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let sim = Simulator::demo();
    let cipp = Cipp::builder()
        .transport(Arc::new(sim.clone()))
        .credentials(sim.demo_credentials())
        .partner_tenant(DEMO_PARTNER)?
        .build()?;
    let (contoso, fabrikam, northwind) = (
        TenantId::parse("contoso.onmicrosoft.com")?,
        TenantId::parse("fabrikam.onmicrosoft.com")?,
        TenantId::parse("northwind.onmicrosoft.com")?,
    );

    // A helpdesk technician: users (read and write) and every read, in two tenants.
    let helpdesk = Role::custom("helpdesk")
        .allow("Identity.User.*")
        .allow("*.*.Read")
        .tenants(TenantScope::only([contoso.as_str(), fabrikam.as_str()]));
    let log = MemoryAuditLog::new();
    let tech = cipp.with_access_control(
        AccessControl::new(Principal::technician("alex@msp.example").with_role(helpdesk))
            .audit(Arc::new(log.clone())),
    );

    let adele = tech.tenant(&contoso)?.user("adelev@contoso.com")?;
    let reset = adele
        .reset_password(
            None,
            &PasswordStyle::default(),
            true,
            Guard::RefusePrivileged,
        )
        .await?;
    println!(
        "reset Adele's password in Contoso: {}",
        reset.report.overall().message()
    );
    adele.revoke_sessions().await?;
    println!("revoked Adele's sessions in Contoso");

    let before = sim.request_log().len();
    match adele.hide_from_address_lists(true).await {
        Ok(()) => println!("unexpected: the mailbox change ran"),
        Err(e) => println!("hide Adele from the address lists: {e}"),
    }
    // A third tenant: no handle at all, so nothing can be sent to it (`resolve_tenant`
    // records the refusal; `tenant` refuses the same, silently).
    match tech.resolve_tenant(&northwind).await {
        Ok(_) => println!("unexpected: Northwind is out of scope"),
        Err(e) => println!("work in Northwind: {e}"),
    }
    let group = Template::new(
        TemplateKind::Group,
        "Helpdesk",
        json!({"displayName": "Helpdesk", "groupType": "generic", "username": "helpdesk"}),
    );
    let report = deploy(
        &tech,
        &[group],
        vec![Tenant::new(fabrikam.clone())],
        &DeployOptions::new(),
        tech.fleet(),
    )
    .await;
    if let Some(e) = &report.tenants[0].error {
        println!("deploy a group template to Fabrikam: {e}");
    }
    // A GDAP change (Tenant.Relationship.ReadWrite, checked in the partner tenant and in
    // the customer's): GDAP lives in the partner tenant, outside the technician's scope.
    match tech.resolve_tenant(&TenantId::parse(DEMO_PARTNER)?).await {
        Ok(partner) => match cipp::gdap::GdapActions::new(&partner)
            .terminate("7f2a3b4c-0000-4000-8000-000000000001")
            .await
        {
            Ok(_) => println!("unexpected: the GDAP change ran"),
            Err(e) => println!("terminate a GDAP relationship: {e}"),
        },
        Err(e) => println!("terminate a GDAP relationship (partner tenant): {e}"),
    }
    println!(
        "requests sent by the refused calls: {}",
        sim.request_log().len() - before
    );

    println!("\nAudit log:");
    for e in log.events() {
        let outcome = match &e.outcome {
            AuditOutcome::Refused { reason } => format!("REFUSED ({reason})"),
            other => format!("{other:?}"),
        };
        println!(
            "  {} {:<26} {:<28} {:<22} {}",
            e.at.format("%H:%M:%S"),
            e.operation,
            e.tenant.as_deref().unwrap_or("-"),
            e.target.as_deref().unwrap_or("-"),
            outcome
        );
    }
    Ok(())
}
