//! Quick start: a client on the simulated Microsoft 365 that lists the partner's customer
//! tenants (GDAP) and streams each tenant's users, printing them as a table.
//!
//! ```sh
//! cargo run --example quickstart
//! ```

use std::sync::Arc;

use cipp::core::{paging, ApiRequest, Audience, Fleet, Pipeline, Tenant, TenantId};
use cipp::sim::{scenario, Simulator};
use futures::{StreamExt, TryStreamExt};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Customer {
    tenant_id: String,
    display_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct User {
    display_name: Option<String>,
    user_principal_name: Option<String>,
    job_title: Option<String>,
    account_enabled: Option<bool>,
}

#[tokio::main]
async fn main() -> Result<(), cipp::Error> {
    let sim = Simulator::demo();
    let pipeline = Pipeline::builder()
        .transport(Arc::new(sim.clone()))
        .credentials(sim.demo_credentials())
        .build()?;

    // The fleet: the partner's GDAP customers.
    let partner = TenantId::parse(scenario::DEMO_PARTNER)?;
    let customers: Vec<Customer> = paging::items(
        pipeline.clone(),
        ApiRequest::get(
            partner,
            Audience::Graph,
            "/v1.0/tenantRelationships/delegatedAdminCustomers",
        ),
    )
    .try_collect()
    .await?;
    let mut tenants = Vec::new();
    for c in customers {
        let mut t = Tenant::new(TenantId::parse(&c.tenant_id)?);
        t.display_name = c.display_name;
        tenants.push(t);
    }
    println!("{} customer tenants\n", tenants.len());

    // Stream every tenant's users, 4 tenants at a time, in pages of 5.
    let p = pipeline.clone();
    let mut results = Fleet::new(4).run(tenants, move |t| {
        let p = p.clone();
        async move {
            let req = ApiRequest::get(t.id.clone(), Audience::Graph, "/v1.0/users")
                .query(
                    "$select",
                    "displayName,userPrincipalName,jobTitle,accountEnabled",
                )
                .query("$top", "5");
            paging::items::<User>(p, req).try_collect::<Vec<_>>().await
        }
    });
    let mut rows = Vec::new();
    while let Some(r) = results.next().await {
        match r.result {
            Ok(users) => {
                for u in users {
                    rows.push([
                        r.tenant.label().to_owned(),
                        u.display_name.unwrap_or_default(),
                        u.user_principal_name.unwrap_or_default(),
                        u.job_title.unwrap_or_default(),
                        if u.account_enabled.unwrap_or(false) {
                            "yes"
                        } else {
                            "no"
                        }
                        .to_owned(),
                    ]);
                }
            }
            Err(e) => eprintln!("{}: {e}", r.tenant.label()),
        }
    }
    rows.sort();
    let header = ["TENANT", "DISPLAY NAME", "UPN", "JOB TITLE", "ENABLED"];
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].len())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[&str]| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
    };
    println!("{}", line(&header));
    for r in &rows {
        println!(
            "{}",
            line(&r.iter().map(String::as_str).collect::<Vec<_>>())
        );
    }
    let log = sim.request_log();
    let token_requests = log
        .iter()
        .filter(|l| l.path.ends_with("/oauth2/v2.0/token"))
        .count();
    println!(
        "\n{} users; {} requests to the simulator ({} token requests, one per tenant)",
        rows.len(),
        log.len(),
        token_requests
    );
    Ok(())
}
