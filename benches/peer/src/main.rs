//! The peer client of `examples/bench.rs`: pages the benchmark's users through
//! graph-rs-sdk 3.0.1 against the bench's loopback server and prints the same figures as
//! the bench's own clients (`count wall_s cpu_s peak_mib`).
//!
//! ```sh
//! cd benches/peer && cargo build --release     # once; bench.rs then runs it by itself
//! ./target/release/cipp-bench-peer stream 40123  # by hand: <stream|collect> <port>
//! ```
//!
//! graph-rs-sdk has no typed models, so each page is decoded into the same plain struct as
//! the bench's baseline (the fields of `cipp::graph::model::User`), through graph-rs-sdk's
//! own paging (`paging().stream::<Page>()`, which reads each body into a
//! `serde_json::Value`, clones it and converts it). `collect` keeps every user in one
//! `Vec`, `stream` drops each page after reading its users. CPU is the process's CPU clock
//! (`cpu-time`, `CLOCK_PROCESS_CPUTIME_ID`), peak memory its `VmHWM`, both measured from
//! before the client is built to after the last user is read.

use std::time::Instant;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use graph_rs_sdk::{GraphClient, GraphClientConfiguration, ODataQuery};
use serde::Deserialize;

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The fields of `cipp::graph::model::User`, as in the bench's baseline.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct PlainUser {
    id: Option<String>,
    user_principal_name: Option<String>,
    display_name: Option<String>,
    given_name: Option<String>,
    surname: Option<String>,
    account_enabled: Option<bool>,
    mail: Option<String>,
    mail_nickname: Option<String>,
    job_title: Option<String>,
    department: Option<String>,
    company_name: Option<String>,
    office_location: Option<String>,
    mobile_phone: Option<String>,
    business_phones: Option<Vec<String>>,
    other_mails: Option<Vec<String>>,
    street_address: Option<String>,
    city: Option<String>,
    state: Option<String>,
    postal_code: Option<String>,
    country: Option<String>,
    usage_location: Option<String>,
    user_type: Option<String>,
    preferred_language: Option<String>,
    proxy_addresses: Option<Vec<String>>,
    assigned_licenses: Option<Vec<PlainLicense>>,
    password_policies: Option<String>,
    on_premises_sync_enabled: Option<bool>,
    on_premises_immutable_id: Option<String>,
    on_premises_last_sync_date_time: Option<DateTime<Utc>>,
    created_date_time: Option<DateTime<Utc>>,
    deleted_date_time: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct PlainLicense {
    sku_id: String,
    #[serde(default)]
    disabled_plans: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Page {
    value: Vec<PlainUser>,
}

fn cpu_seconds() -> Res<f64> {
    Ok(cpu_time::ProcessTime::try_now()?
        .as_duration()
        .as_secs_f64())
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

async fn run(keep: bool, port: u16) -> Res<String> {
    let cpu0 = cpu_seconds()?;
    let t0 = Instant::now();
    // graph-rs-sdk's defaults, except `https_only` (the loopback server speaks plain HTTP).
    let mut client = GraphClient::from(
        GraphClientConfiguration::new()
            .access_token("bench-token")
            .https_only(false),
    );
    client.use_test_endpoint(&url::Url::parse(&format!("http://127.0.0.1:{port}/v1.0"))?);
    let mut pages = client
        .users()
        .list_user()
        .top("999")
        .paging()
        .stream::<Page>()?;
    let mut kept: Vec<PlainUser> = Vec::new();
    let mut k = 0;
    while let Some(response) = pages.next().await {
        let page = response?
            .into_body()
            .map_err(|e| format!("error body: {e:?}"))?;
        if keep {
            kept.extend(page.value);
        } else {
            k += page.value.iter().filter(|u| u.id.is_some()).count();
        }
    }
    if keep {
        k = kept.iter().filter(|u| u.id.is_some()).count();
    }
    let wall = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds()? - cpu0;
    Ok(format!(
        "{} {wall:.6} {cpu:.6} {:.2}",
        std::hint::black_box(k),
        peak_rss_mib()
    ))
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    let keep = match args.get(1).map(String::as_str) {
        Some("collect") => true,
        Some("stream") => false,
        _ => return Err("usage: cipp-bench-peer <stream|collect> <port>".into()),
    };
    let port: u16 = args
        .get(2)
        .ok_or("usage: cipp-bench-peer <stream|collect> <port>")?
        .parse()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    println!("{}", rt.block_on(run(keep, port))?);
    Ok(())
}
