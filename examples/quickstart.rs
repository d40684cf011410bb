//! Quick start: a fleet overview on the simulated Microsoft 365 — the partner's GDAP
//! customers, each tenant's users streamed page by page, licences and MFA registration —
//! printed as tables. With credentials in the environment it runs on a real fleet (see
//! `examples/support/mod.rs` and the README).
//!
//! ```sh
//! cargo run --example quickstart
//! ```

#[path = "support/mod.rs"]
mod support;

use cipp::graph::odata::Query;
use futures::StreamExt;

struct TenantRow {
    name: String,
    users: Vec<[String; 4]>,
    enabled: usize,
    seats: String,
    mfa: String,
}

fn table(header: &[&str], rows: &[Vec<String>]) {
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
    };
    println!(
        "{}",
        line(&header.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    );
    for r in rows {
        println!("{}", line(r));
    }
}

#[tokio::main]
async fn main() -> Result<(), cipp::Error> {
    let (cipp, sim) = support::client()?;
    let tenants = cipp.tenants().await?;
    println!("{} customer tenants\n", tenants.len());

    let c = cipp.clone();
    let mut results = cipp.fleet().run(tenants, move |t| {
        let c = c.clone();
        async move {
            let g = c.graph().tenant(&t.id);
            let q = Query::new()
                .select([
                    "id",
                    "displayName",
                    "userPrincipalName",
                    "jobTitle",
                    "accountEnabled",
                ])
                .top(5);
            let users = g.users().list().query(q).await?;
            let skus = g.directory().subscribed_skus().await.unwrap_or_default();
            let seats = skus
                .iter()
                .map(|s| {
                    format!(
                        "{} {}/{}",
                        s.sku_part_number.clone().unwrap_or_default(),
                        s.consumed_units.unwrap_or(0),
                        s.prepaid_units
                            .as_ref()
                            .and_then(|p| p.enabled)
                            .unwrap_or(0)
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            let mfa = match g.auth_methods().registration_details().await {
                Ok(rows) if !rows.is_empty() => {
                    let n = rows
                        .iter()
                        .filter(|r| r.is_mfa_registered == Some(true))
                        .count();
                    format!("{n}/{}", rows.len())
                }
                Ok(_) => "-".into(),
                Err(e) => format!(
                    "unavailable ({})",
                    e.as_api().map(|a| a.code.clone()).unwrap_or_default()
                ),
            };
            Ok(TenantRow {
                name: t.label().to_owned(),
                enabled: users
                    .iter()
                    .filter(|u| u.account_enabled == Some(true))
                    .count(),
                users: users
                    .into_iter()
                    .map(|u| {
                        [
                            u.display_name.unwrap_or_default(),
                            u.user_principal_name.unwrap_or_default(),
                            u.job_title.unwrap_or_default(),
                            if u.account_enabled == Some(true) {
                                "yes".into()
                            } else {
                                "no".into()
                            },
                        ]
                    })
                    .collect(),
                seats,
                mfa,
            })
        }
    });
    let mut rows = Vec::new();
    let mut overview = Vec::new();
    while let Some(r) = results.next().await {
        match r.result {
            Ok(t) => {
                overview.push(vec![
                    t.name.clone(),
                    t.users.len().to_string(),
                    t.enabled.to_string(),
                    t.mfa.clone(),
                    t.seats.clone(),
                ]);
                for u in t.users {
                    let [a, b, c, d] = u;
                    rows.push(vec![t.name.clone(), a, b, c, d]);
                }
            }
            Err(e) => eprintln!("{}: {e}", r.tenant.label()),
        }
    }
    overview.sort();
    rows.sort();
    table(
        &[
            "TENANT",
            "USERS",
            "ENABLED",
            "MFA REGISTERED",
            "LICENCES (used/bought)",
        ],
        &overview,
    );
    println!();
    table(
        &["TENANT", "DISPLAY NAME", "UPN", "JOB TITLE", "ENABLED"],
        &rows,
    );
    if let Some(sim) = sim {
        let log = sim.request_log();
        let tokens = log
            .iter()
            .filter(|l| l.path.ends_with("/oauth2/v2.0/token"))
            .count();
        println!("\n{} users; {} requests to the simulator ({tokens} token requests: one per tenant and audience)", rows.len(), log.len());
    }
    Ok(())
}
