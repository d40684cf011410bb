//! Shared by the examples: a client on the simulator's demo scenario, or on a real fleet
//! when credentials are in the environment.
//!
//! | variable | meaning |
//! |---|---|
//! | `CIPP_CLIENT_ID`, `CIPP_CLIENT_SECRET` | the partner app (Secure Application Model) |
//! | `CIPP_REFRESH_TOKEN` | the partner refresh token (fleet = GDAP customers of `CIPP_PARTNER_TENANT`) |
//! | `CIPP_PARTNER_TENANT` | the partner tenant (GUID or domain) |
//! | `CIPP_TENANT` | the customer tenant an example works on (app-only when no refresh token) |
//! | `CIPP_USER` | the user an example works on |
#![allow(dead_code)]

use std::sync::Arc;

use cipp::sim::{scenario, Simulator};
use cipp::{Cipp, Credentials, Error, SecretString, Tenant, TenantId};

/// The client, and the simulator when running offline.
pub fn client() -> Result<(Cipp, Option<Simulator>), Error> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    match (var("CIPP_CLIENT_ID"), var("CIPP_CLIENT_SECRET")) {
        (Some(id), Some(secret)) => {
            let b = Cipp::builder();
            let b = match (
                var("CIPP_REFRESH_TOKEN"),
                var("CIPP_PARTNER_TENANT"),
                var("CIPP_TENANT"),
            ) {
                (Some(rt), Some(partner), _) => b
                    .credentials(Credentials::PartnerRefreshToken {
                        client_id: id,
                        secret: SecretString::from(secret),
                        refresh_token: SecretString::from(rt),
                    })
                    .partner_tenant(&partner)?,
                (_, _, Some(tenant)) => b
                    .credentials(Credentials::ClientSecret {
                        client_id: id,
                        secret: SecretString::from(secret),
                    })
                    .tenants(vec![Tenant::new(TenantId::parse(&tenant)?)]),
                _ => {
                    return Err(Error::Config(
                        "set CIPP_REFRESH_TOKEN and CIPP_PARTNER_TENANT, or CIPP_TENANT".into(),
                    ))
                }
            };
            eprintln!("(using the real Microsoft 365 services from the environment's credentials)");
            Ok((b.build()?, None))
        }
        _ => {
            let sim = Simulator::demo();
            let cipp = demo_client(&sim)?;
            eprintln!("(offline: the simulator's demo scenario; set CIPP_CLIENT_ID/CIPP_CLIENT_SECRET/... for a real fleet)");
            Ok((cipp, Some(sim)))
        }
    }
}

/// A client of `sim` with its demo credentials, whose fleet is the demo partner's
/// customers.
pub fn demo_client(sim: &Simulator) -> Result<Cipp, Error> {
    Cipp::builder()
        .transport(Arc::new(sim.clone()))
        .credentials(sim.demo_credentials())
        .partner_tenant(scenario::DEMO_PARTNER)?
        .build()
}

/// The tenant and user an example works on (`CIPP_TENANT`, `CIPP_USER`, or the demo's).
pub fn target(default_user: &str) -> Result<(TenantId, String), Error> {
    let tenant = std::env::var("CIPP_TENANT").unwrap_or_else(|_| "contoso.onmicrosoft.com".into());
    let user = std::env::var("CIPP_USER").unwrap_or_else(|_| default_user.into());
    Ok((TenantId::parse(&tenant)?, user))
}

/// Prints a report, one line per step.
pub fn print_report(title: &str, report: &cipp::Report) {
    println!("{title}: {:?}", report.overall());
    for s in &report.steps {
        println!("  - {:<34} {}", s.name, outcome_line(&s.outcome));
    }
}

/// One line for an outcome.
pub fn outcome_line(o: &cipp::Outcome) -> String {
    let kind = match o {
        cipp::Outcome::Succeeded { .. } => "ok",
        cipp::Outcome::Warning { .. } => "WARNING",
        cipp::Outcome::NoChange { .. } => "no change",
        cipp::Outcome::Partial { .. } => "PARTIAL",
        cipp::Outcome::Failed { .. } => "FAILED",
        cipp::Outcome::Skipped { .. } => "skipped",
        _ => "?",
    };
    format!("[{kind}] {}", o.message())
}

/// An E5-like licence for benchmark fleets: Entra ID P1 and P2, Exchange, Defender for
/// Office 365, Intune, SharePoint.
pub fn e5() -> cipp::sim::kit::Licence {
    cipp::sim::kit::Licence::new("06ebc4ee-1bb5-47dd-8120-11324bc54e06", "SPE_E5", 25)
        .plan("41781fb2-bc02-4b7c-bd55-b576c07bb09d", "AAD_PREMIUM")
        .plan("eec0eb4f-6444-4f95-aba0-50c24d67f998", "AAD_PREMIUM_P2")
        .plan(
            "efb87545-963c-4e0d-99df-69c6916d9eb0",
            "EXCHANGE_S_ENTERPRISE",
        )
        .plan("f20fedf3-f3c3-43c3-8267-2bfdd51c0939", "ATP_ENTERPRISE")
        .plan("c1ec4a95-1f05-45b3-a911-aa3fa01094f5", "INTUNE_A")
        .plan(
            "5dbe027f-2339-4123-9542-606e4d348a72",
            "SHAREPOINTENTERPRISE",
        )
}

/// A benchmark fleet: `n` new simulated tenants with the [`e5`] licence, and a client of
/// them (app credentials, the tenants given by GUID as a partner's fleet lists them, at
/// most `concurrency` at once).
pub fn licensed_fleet(
    n: usize,
    concurrency: usize,
) -> Result<(Simulator, Cipp, Vec<Tenant>), Box<dyn std::error::Error + Send + Sync>> {
    let mut b = Simulator::builder();
    let mut domains = Vec::new();
    for i in 0..n {
        let domain = format!("tenant{i:04}.onmicrosoft.com");
        b = b
            .tenant(cipp::sim::kit::TenantSeed::new(&domain, &format!("Tenant {i}")).licence(e5()));
        domains.push(domain);
    }
    let sim = b.try_build()?;
    let tenants: Vec<Tenant> = domains
        .iter()
        .map(|d| {
            let mut t = Tenant::new(TenantId::parse(&cipp::sim::state::synthetic_guid(d))?);
            t.default_domain = Some(d.clone());
            Ok(t)
        })
        .collect::<Result<_, Error>>()?;
    let cipp = Cipp::builder()
        .transport(Arc::new(sim.clone()))
        .credentials(sim.client_credentials())
        .tenants(tenants.clone())
        .concurrency(concurrency)
        .build()?;
    Ok((sim, cipp, tenants))
}
