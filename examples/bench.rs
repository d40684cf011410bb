//! Benchmarks of paging and of the request pipeline against plain reqwest, every client a
//! whole process of its own against one loopback server (figures, not timed tests):
//!
//! ```sh
//! cargo run --release --example bench            # 10 paired runs, 100,000 users
//! cargo run --release --example bench -- quick   # 3 paired runs, 20,000 users, 4,000 GETs
//! cargo run --release --example bench -- runs=20 # more runs
//! ```
//!
//! 1. **Paging**: 100,000 users in pages of 999 (101 responses, about 420 bytes per user,
//!    `@odata.nextLink` before `value` as Graph sends it), at 0 ms and at 20 ms per response
//!    (latency floor 101 × 20 ms), the caller either keeping every user (`collect`) or
//!    reading them one by one (`stream`). Clients:
//!    - baseline: a sequential plain reqwest + serde_json loop decoding the same fields as
//!      `cipp::graph::model::User` into a plain derived struct (no map of unknown keys);
//!    - what users run: a [`cipp::Cipp`] client pointed at the server (`Endpoints`), its
//!      tenant's `graph().users().list().top(999)` with the SDK's own `User` model;
//!    - the peer: graph-rs-sdk 3.0.1 (`benches/peer`, its own Cargo project, decoding into
//!      the same plain struct as the baseline), when its binary is built (path in
//!      `CIPP_BENCH_PEER`, default `benches/peer/target/release/cipp-bench-peer`;
//!      `cd benches/peer && cargo build --release`);
//!    - `cipp::core::paging::items` into a caller-supplied slim 15-field struct, against
//!      the plain loop into the same slim struct (this is not what `list_users` returns).
//!    - at 20 ms, a floor probe: the same sequential GETs with nothing decoded (the next
//!      link cut from each body's first bytes), i.e. the floor this server and timer
//!      actually allow (tokio's sleep and connection setup add to the nominal 20 ms).
//! 2. **Pipeline overhead**: 20,000 GETs of a small user at concurrency 16, the full
//!    pipeline (`Pipeline::send`) against plain reqwest with the same settings.
//!
//! Paired runs: in each run every client is run right next to its baseline, the order
//! alternating between runs (baseline first in even runs, second in odd ones). Figures are
//! medians with [min–max] over the runs; a ratio is the median of the per-run ratios
//! client / baseline of the same run. CPU is the client process's own CPU clock
//! (`clock_gettime(CLOCK_PROCESS_CPUTIME_ID)` through the `cpu-time` crate: every thread,
//! nanosecond resolution, not 10 ms ticks), from before the client is built to after the
//! last user is read (before the kept users are dropped); wall the same span; peak memory
//! the process's `VmHWM` (peak resident set) at that point.

use std::convert::Infallible;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use cipp::core::{
    paging, ApiRequest, Audience, Credentials, Endpoints, Pipeline, ReqwestTransport, TenantId,
};
use cipp::Cipp;
use futures::{StreamExt, TryStreamExt};
use serde::de::DeserializeOwned;
use serde::Deserialize;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Res<T> = Result<T, BoxError>;

const CONCURRENCY: usize = 16;
const PAGE: usize = 999;
const TOKEN: &str = "bench-token";

/// The 15-field struct a caller may pass to `paging::items` (not the SDK's model).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct SlimUser {
    id: String,
    display_name: Option<String>,
    given_name: Option<String>,
    surname: Option<String>,
    user_principal_name: Option<String>,
    mail: Option<String>,
    job_title: Option<String>,
    office_location: Option<String>,
    mobile_phone: Option<String>,
    business_phones: Vec<String>,
    preferred_language: Option<String>,
    account_enabled: Option<bool>,
    created_date_time: Option<String>,
    usage_location: Option<String>,
    department: Option<String>,
}

/// The fields of `cipp::graph::model::User` with the same types, as a plain derived struct
/// (no `#[serde(flatten)]` map of unknown keys): what a hand-written client would decode.
#[derive(Deserialize)]
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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct PlainLicense {
    sku_id: String,
    #[serde(default)]
    disabled_plans: Vec<String>,
}

#[derive(Deserialize)]
struct PlainPage<T> {
    #[serde(rename = "@odata.nextLink")]
    next_link: Option<String>,
    value: Vec<T>,
}

fn user_json(i: usize) -> String {
    format!(
        r#"{{"id":"{:08x}-1234-4abc-8def-{:012x}","displayName":"Bench User {i:06}","givenName":"Bench","surname":"User {i:06}","userPrincipalName":"bench.user{i:06}@contoso.onmicrosoft.com","mail":"bench.user{i:06}@contoso.com","jobTitle":"Senior Benchmark Engineer","officeLocation":"Building 42, Floor 3","mobilePhone":"+1 425 555 {:04}","businessPhones":["+1 425 555 0100"],"preferredLanguage":"en-US","accountEnabled":true,"createdDateTime":"2024-03-01T09:00:00Z","usageLocation":"US","department":"Performance"}}"#,
        i,
        i,
        i % 10_000
    )
}

/// The process's CPU time (every thread, live or exited), in seconds.
fn cpu_seconds() -> Res<f64> {
    let t = cpu_time::ProcessTime::try_now()?;
    Ok(t.as_duration().as_secs_f64())
}

/// The process's peak resident set (`VmHWM`), in MiB.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

// ---------------------------------------------------------------- server

async fn server(users: usize, latency_ms: u64) -> Res<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let base = format!("http://127.0.0.1:{port}");
    let pages_n = users.div_ceil(PAGE);
    let mut pages = Vec::with_capacity(pages_n);
    for p in 0..pages_n {
        let mut body = String::from(
            r#"{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#users","#,
        );
        if p + 1 < pages_n {
            body.push_str(&format!(
                r#""@odata.nextLink":"{base}/v1.0/users?$top=999&$skiptoken=X{}","#,
                p + 1
            ));
        }
        body.push_str(r#""value":["#);
        let end = ((p + 1) * PAGE).min(users);
        for i in p * PAGE..end {
            if i > p * PAGE {
                body.push(',');
            }
            body.push_str(&user_json(i));
        }
        body.push_str("]}");
        pages.push(Bytes::from(body));
    }
    let pages = Arc::new(pages);
    println!("{port}");
    std::io::stdout().flush()?;
    let small = Bytes::from_static(
        br#"{"id":"48d31887-5fad-4d73-a9f5-3c356e68a038","displayName":"Megan Bowen"}"#,
    );
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let pages = pages.clone();
        let small = small.clone();
        tokio::spawn(async move {
            let svc =
                hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let pages = pages.clone();
                    let small = small.clone();
                    async move {
                        if latency_ms > 0 {
                            tokio::time::sleep(Duration::from_millis(latency_ms)).await;
                        }
                        let body = if req.uri().path() == "/v1.0/users" {
                            let n = req
                                .uri()
                                .query()
                                .and_then(|q| q.split("$skiptoken=X").nth(1))
                                .and_then(|n| n.parse::<usize>().ok())
                                .unwrap_or(0);
                            pages.get(n).cloned().unwrap_or_default()
                        } else {
                            small
                        };
                        let mut r = hyper::Response::new(http_body_util::Full::new(body));
                        r.headers_mut().insert(
                            "content-type",
                            http::HeaderValue::from_static("application/json"),
                        );
                        Ok::<_, Infallible>(r)
                    }
                });
            let _ =
                hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new())
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .await;
        });
    }
}

// ---------------------------------------------------------------- clients

fn base(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

fn pipeline(port: u16) -> Res<Pipeline> {
    Ok(Pipeline::builder()
        .transport(Arc::new(ReqwestTransport::new()?))
        .endpoints(Endpoints::single_base(&base(port)))
        .credentials(Credentials::StaticToken(TOKEN.into()))
        .build()?)
}

/// The plain client gets the same settings as `ReqwestTransport` (timeouts, pool, no
/// redirects), so the comparison measures the SDK, not reqwest's configuration.
fn plain_client() -> Res<reqwest::Client> {
    let s = cipp::core::ReqwestSettings::default();
    Ok(reqwest::Client::builder()
        .connect_timeout(s.connect_timeout)
        .timeout(s.request_timeout)
        .pool_max_idle_per_host(s.pool_max_idle_per_host)
        .redirect(reqwest::redirect::Policy::none())
        .build()?)
}

fn tenant() -> Res<TenantId> {
    Ok(TenantId::parse("contoso.onmicrosoft.com")?)
}

/// Starts the clocks when a client starts; `finish` prints the figures while the client
/// still holds what it kept.
struct Meter {
    cpu0: f64,
    t0: Instant,
}

impl Meter {
    fn start() -> Res<Meter> {
        Ok(Meter {
            cpu0: cpu_seconds()?,
            t0: Instant::now(),
        })
    }

    fn finish(&self, count: usize) -> Res<String> {
        let wall = self.t0.elapsed().as_secs_f64();
        let cpu = cpu_seconds()? - self.cpu0;
        Ok(format!("{count} {wall:.6} {cpu:.6} {:.2}", peak_rss_mib()))
    }
}

/// A sequential plain loop: GET, buffer the body, decode the page, follow the next link.
async fn plain_pages<T: DeserializeOwned>(
    port: u16,
    keep: bool,
    has_id: fn(&T) -> bool,
) -> Res<String> {
    let m = Meter::start()?;
    let c = plain_client()?;
    let mut url = Some(format!("{}/v1.0/users?$top=999", base(port)));
    let mut kept: Vec<T> = Vec::new();
    let mut k = 0;
    while let Some(u) = url.take() {
        let body = c
            .get(&u)
            .bearer_auth(TOKEN)
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        let page: PlainPage<T> = serde_json::from_slice(&body)?;
        url = page.next_link;
        if keep {
            kept.extend(page.value);
        } else {
            for user in page.value {
                k += usize::from(has_id(&user));
            }
        }
    }
    if keep {
        k = kept.iter().filter(|u| has_id(u)).count();
    }
    m.finish(std::hint::black_box(k))
}

async fn client(mode: &str, port: u16, n: usize) -> Res<String> {
    match mode {
        "get-pipeline" => {
            let m = Meter::start()?;
            let p = pipeline(port)?;
            let tenant = tenant()?;
            let ok = futures::stream::iter(0..n)
                .map(|_| {
                    let p = p.clone();
                    let tenant = tenant.clone();
                    async move {
                        let r = p
                            .send(ApiRequest::get(
                                tenant,
                                Audience::Graph,
                                "/v1.0/users/48d31887",
                            ))
                            .await;
                        usize::from(r.is_ok())
                    }
                })
                .buffer_unordered(CONCURRENCY)
                .fold(0, |a, b| async move { a + b })
                .await;
            m.finish(ok)
        }
        "get-plain" => {
            let m = Meter::start()?;
            let c = plain_client()?;
            let url = format!("{}/v1.0/users/48d31887", base(port));
            let ok = futures::stream::iter(0..n)
                .map(|_| {
                    let c = c.clone();
                    let url = url.clone();
                    async move {
                        let r = c.get(&url).bearer_auth(TOKEN).send().await;
                        match r {
                            Ok(r) => usize::from(r.bytes().await.is_ok()),
                            Err(_) => 0,
                        }
                    }
                })
                .buffer_unordered(CONCURRENCY)
                .fold(0, |a, b| async move { a + b })
                .await;
            m.finish(ok)
        }
        "plain-stream" | "plain-collect" => {
            plain_pages::<PlainUser>(port, mode.ends_with("collect"), |u| u.id.is_some()).await
        }
        "slim-plain-stream" | "slim-plain-collect" => {
            plain_pages::<SlimUser>(port, mode.ends_with("collect"), |u| !u.id.is_empty()).await
        }
        "sdk-stream" | "sdk-collect" => {
            let m = Meter::start()?;
            let cipp = Cipp::builder()
                .endpoints(Endpoints::single_base(&base(port)))
                .credentials(Credentials::StaticToken(TOKEN.into()))
                .build()?;
            let contoso = cipp.tenant(&tenant()?)?;
            let list = contoso.graph().users().list().top(999);
            if mode == "sdk-collect" {
                let users = list.await?;
                let k = users.iter().filter(|u| u.id.is_some()).count();
                m.finish(std::hint::black_box(k))
            } else {
                let mut users = list.stream();
                let mut k = 0;
                while let Some(u) = users.next().await {
                    k += usize::from(u?.id.is_some());
                }
                m.finish(std::hint::black_box(k))
            }
        }
        "probe" => {
            // The practical floor: the same sequential requests, each body read whole and
            // its next link taken from its first bytes, nothing decoded.
            let m = Meter::start()?;
            let c = plain_client()?;
            let mut url = Some(format!("{}/v1.0/users?$top=999", base(port)));
            let mut k = 0;
            while let Some(u) = url.take() {
                let body = c
                    .get(&u)
                    .bearer_auth(TOKEN)
                    .send()
                    .await?
                    .error_for_status()?
                    .bytes()
                    .await?;
                let text = std::str::from_utf8(&body)?;
                let head = &text[..text.len().min(512)];
                url = head
                    .split(r#""@odata.nextLink":""#)
                    .nth(1)
                    .and_then(|rest| rest.split('"').next().map(str::to_owned));
                k += text.matches(r#""id":""#).count();
            }
            m.finish(k)
        }
        "slim-items-stream" | "slim-items-collect" => {
            let m = Meter::start()?;
            let p = pipeline(port)?;
            let req =
                ApiRequest::get(tenant()?, Audience::Graph, "/v1.0/users").query("$top", "999");
            let items = paging::items::<SlimUser>(p, req);
            if mode.ends_with("collect") {
                let users: Vec<SlimUser> = items.try_collect().await?;
                let k = users.iter().filter(|u| !u.id.is_empty()).count();
                m.finish(std::hint::black_box(k))
            } else {
                let mut s = Box::pin(items);
                let mut k = 0;
                while let Some(u) = s.try_next().await? {
                    k += usize::from(!u.id.is_empty());
                }
                m.finish(std::hint::black_box(k))
            }
        }
        other => Err(format!("unknown client mode {other}").into()),
    }
}

// ---------------------------------------------------------------- orchestration

struct Server(Child, u16);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_server(users: usize, latency_ms: u64) -> Res<Server> {
    let exe = std::env::current_exe()?;
    let mut child = Command::new(exe)
        .args(["server", &users.to_string(), &latency_ms.to_string()])
        .stdout(Stdio::piped())
        .spawn()?;
    let out = child.stdout.take().ok_or("server without stdout")?;
    let mut line = String::new();
    BufReader::new(out).read_line(&mut line)?;
    let port = line
        .trim()
        .parse()
        .map_err(|_| format!("the server printed `{}`, not a port", line.trim()))?;
    Ok(Server(child, port))
}

/// One client process's figures.
#[derive(Clone, Copy)]
struct Sample {
    count: usize,
    wall: f64,
    cpu: f64,
    peak: f64,
}

/// A client: a mode of this example, or the peer binary.
#[derive(Clone)]
enum Client {
    Own(String),
    Peer(PathBuf, &'static str),
}

fn run_client(client: &Client, port: u16, n: usize) -> Res<Sample> {
    let out = match client {
        Client::Own(mode) => Command::new(std::env::current_exe()?)
            .args(["client", mode, &port.to_string(), &n.to_string()])
            .output()?,
        Client::Peer(path, keep) => Command::new(path)
            .arg(keep)
            .arg(port.to_string())
            .output()?,
    };
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "client {} failed ({}): {}{}",
            client.name(),
            out.status,
            text.trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        )
        .into());
    }
    let f: Vec<f64> = text
        .split_whitespace()
        .map(|s| s.parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("client {} printed `{}`: {e}", client.name(), text.trim()))?;
    let [count, wall, cpu, peak] = f[..] else {
        return Err(format!("client {} printed `{}`", client.name(), text.trim()).into());
    };
    let count = count as usize;
    if count != n {
        return Err(format!("client {} read {count} items, expected {n}", client.name()).into());
    }
    Ok(Sample {
        count,
        wall,
        cpu,
        peak,
    })
}

impl Client {
    fn name(&self) -> String {
        match self {
            Client::Own(m) => m.clone(),
            Client::Peer(p, keep) => format!("{} {keep}", p.display()),
        }
    }
}

/// A client and its baseline, run back to back in each run.
struct Pair {
    label: String,
    baseline_label: String,
    baseline: Client,
    client: Client,
    base_samples: Vec<Sample>,
    samples: Vec<Sample>,
}

impl Pair {
    fn new(baseline_label: &str, baseline: Client, label: &str, client: Client) -> Pair {
        Pair {
            label: label.into(),
            baseline_label: baseline_label.into(),
            baseline,
            client,
            base_samples: Vec::new(),
            samples: Vec::new(),
        }
    }

    /// Run `run` of the pair: baseline first in even runs, second in odd ones.
    fn run(&mut self, run: usize, port: u16, n: usize) -> Res<()> {
        if run % 2 == 0 {
            self.base_samples.push(run_client(&self.baseline, port, n)?);
            self.samples.push(run_client(&self.client, port, n)?);
        } else {
            self.samples.push(run_client(&self.client, port, n)?);
            self.base_samples.push(run_client(&self.baseline, port, n)?);
        }
        Ok(())
    }

    fn ratios(&self, f: fn(&Sample) -> f64) -> Vec<f64> {
        self.samples
            .iter()
            .zip(&self.base_samples)
            .map(|(c, b)| f(c) / f(b))
            .collect()
    }
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// `median [min–max]` with `prec` decimals.
fn stat(v: &[f64], prec: usize) -> String {
    let min = v.iter().copied().fold(f64::INFINITY, f64::min);
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!(
        "{:.prec$} [{:.prec$}–{:.prec$}]",
        median(v),
        min,
        max,
        prec = prec
    )
}

fn col(s: &[Sample], f: fn(&Sample) -> f64) -> Vec<f64> {
    s.iter().map(f).collect()
}

/// Prints one scenario's table: each baseline (its samples pooled over the pairs that share
/// it) followed by the clients compared with it.
fn print_paging_table(pairs: &[Pair], floor: Option<f64>) {
    let floor_h = if floor.is_some() {
        " wall / floor |"
    } else {
        ""
    };
    println!(
        "| client (what it decodes) | users | CPU s | wall s | peak MiB (VmHWM) | CPU × baseline | peak × baseline | wall × baseline |{floor_h}"
    );
    println!(
        "|---|---|---|---|---|---|---|---|{}",
        if floor.is_some() { "---|" } else { "" }
    );
    let mut shown: Vec<&str> = Vec::new();
    for p in pairs {
        if !shown.contains(&p.baseline_label.as_str()) {
            shown.push(&p.baseline_label);
            let pooled: Vec<Sample> = pairs
                .iter()
                .filter(|q| q.baseline_label == p.baseline_label)
                .flat_map(|q| q.base_samples.iter().copied())
                .collect();
            print_row(&p.baseline_label, &pooled, None, floor);
        }
        print_row(&p.label, &p.samples, Some(p), floor);
    }
}

fn print_row(label: &str, s: &[Sample], pair: Option<&Pair>, floor: Option<f64>) {
    let ratio =
        |f: fn(&Sample) -> f64| pair.map_or("1 (baseline)".into(), |p| stat(&p.ratios(f), 3));
    let floor_c = floor.map_or(String::new(), |fl| {
        let w: Vec<f64> = s.iter().map(|x| x.wall / fl).collect();
        format!(" {} |", stat(&w, 3))
    });
    println!(
        "| {label} | {} | {} | {} | {} | {} | {} | {} |{floor_c}",
        s.first().map_or(0, |x| x.count),
        stat(&col(s, |x| x.cpu), 3),
        stat(&col(s, |x| x.wall), 3),
        stat(&col(s, |x| x.peak), 1),
        ratio(|x| x.cpu),
        ratio(|x| x.peak),
        ratio(|x| x.wall),
    );
}

fn peer_path() -> PathBuf {
    std::env::var_os("CIPP_BENCH_PEER").map_or_else(
        || {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("benches/peer/target/release/cipp-bench-peer")
        },
        PathBuf::from,
    )
}

fn shell(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or("unknown".into(), |s| s.trim().to_owned())
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    let rt = || {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
    };
    let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or_default();
    match arg(1) {
        "server" => {
            let users = arg(2).parse()?;
            let latency = arg(3).parse()?;
            return rt()?.block_on(server(users, latency));
        }
        "client" => {
            let port = arg(3).parse()?;
            let n = arg(4).parse()?;
            println!("{}", rt()?.block_on(client(arg(2), port, n))?);
            return Ok(());
        }
        _ => {}
    }
    let quick = args.iter().any(|a| a == "quick");
    let gets = if quick { 4_000 } else { 20_000 };
    let users: usize = if quick { 20_000 } else { 100_000 };
    let runs = args
        .iter()
        .find_map(|a| a.strip_prefix("runs=").and_then(|n| n.parse().ok()))
        .unwrap_or(if quick { 3 } else { 10 });
    let pages = users.div_ceil(PAGE);

    println!("# cipp-rs bench");
    println!();
    println!(
        "- {} UTC, commit {}{}; {} cores ({}); {}",
        Utc::now().format("%Y-%m-%d %H:%M"),
        shell("git", &["rev-parse", "--short", "HEAD"]),
        if shell("git", &["status", "--porcelain"]).is_empty() {
            ""
        } else {
            " (with uncommitted changes)"
        },
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model(),
        shell("uname", &["-sr"]),
    );
    println!(
        "- every client is its own process; server in another process on 127.0.0.1 (HTTP/1.1)"
    );
    println!(
        "- CPU: the client process's CPU clock (cpu-time crate, clock_gettime(CLOCK_PROCESS_CPUTIME_ID), all threads, ns), \
         from before the client is built to after the last item is read; wall: same span; \
         peak: VmHWM of the client process"
    );
    println!(
        "- {runs} paired runs: each client right next to its baseline, order alternating; \
         figures are median [min–max]; ratios are the median [min–max] of per-run client / baseline"
    );

    // 1. Paging.
    let peer = peer_path();
    let have_peer = peer.is_file();
    let full = "plain loop: reqwest + serde_json, sequential → plain struct with `User`'s 31 fields (baseline)";
    let slim = "plain loop: reqwest + serde_json, sequential → slim 15-field struct (baseline of the next row)";
    let mut scenarios = Vec::new();
    for latency in [0u64, 20] {
        for keep in ["collect", "stream"] {
            let mut pairs = vec![Pair::new(
                full,
                Client::Own(format!("plain-{keep}")),
                &format!(
                    "cipp `Cipp` → `tenant.graph().users().list().top(999)` {} → `cipp::graph::model::User`",
                    if keep == "collect" { "`.await` (collect)" } else { "`.stream()`" }
                ),
                Client::Own(format!("sdk-{keep}")),
            )];
            if have_peer {
                pairs.push(Pair::new(
                    full,
                    Client::Own(format!("plain-{keep}")),
                    "graph-rs-sdk 3.0.1 `users().list_user().top(\"999\").paging().stream()` → same plain 31-field struct",
                    Client::Peer(peer.clone(), keep),
                ));
            }
            pairs.push(Pair::new(
                slim,
                Client::Own(format!("slim-plain-{keep}")),
                "cipp `paging::items` (core, pipeline only) → caller's slim 15-field struct, NOT `list_users`' model",
                Client::Own(format!("slim-items-{keep}")),
            ));
            if latency > 0 && keep == "stream" {
                pairs.push(Pair::new(
                    full,
                    Client::Own("plain-stream".into()),
                    "floor probe: the same sequential GETs, bodies read whole, next link cut from the first bytes, nothing decoded",
                    Client::Own("probe".into()),
                ));
            }
            scenarios.push((latency, keep, pairs));
        }
    }
    for latency in [0u64, 20] {
        let s = start_server(users, latency)?;
        // One unrecorded warm-up of the baseline (page cache, server connections).
        run_client(&Client::Own("plain-stream".into()), s.1, users)?;
        for run in 0..runs {
            eprintln!("paging, {latency} ms per response: run {}/{runs}", run + 1);
            for (l, _, pairs) in scenarios.iter_mut() {
                if *l != latency {
                    continue;
                }
                for p in pairs.iter_mut() {
                    p.run(run, s.1, users)?;
                }
            }
        }
    }
    println!();
    println!(
        "## 1. Paging: {users} users in pages of {PAGE} ({pages} responses, ~420 bytes per user, `@odata.nextLink` before `value`)"
    );
    for (latency, keep, pairs) in &scenarios {
        println!();
        let what = if *keep == "collect" {
            "the caller keeps every user (collect)"
        } else {
            "the caller reads users one by one and drops them (stream)"
        };
        let floor = (*latency > 0).then(|| pages as f64 * *latency as f64 / 1000.0);
        match floor {
            Some(f) => println!(
                "### {latency} ms per response, {what}; latency floor {pages} × {latency} ms = {f:.2} s"
            ),
            None => println!("### {latency} ms per response, {what}"),
        }
        println!();
        print_paging_table(pairs, floor);
    }
    if !have_peer {
        println!();
        println!(
            "(graph-rs-sdk row skipped: no peer binary at {}; build it with \
             `cd benches/peer && cargo build --release`, or set CIPP_BENCH_PEER to its path)",
            peer.display()
        );
    }

    // Flat memory when streaming: 11 pages against all of them.
    let small_users = PAGE * 11;
    let s_small = start_server(small_users, 0)?;
    let small = run_client(&Client::Own("sdk-stream".into()), s_small.1, small_users)?;
    drop(s_small);
    let s_big = start_server(users, 0)?;
    let big = run_client(&Client::Own("sdk-stream".into()), s_big.1, users)?;
    drop(s_big);
    println!();
    println!(
        "Peak memory of `list_users().stream()` read one by one (one run each): {} pages {:.1} MiB, {pages} pages {:.1} MiB",
        small_users.div_ceil(PAGE),
        small.peak,
        big.peak
    );

    // 2. Pipeline overhead.
    let s = start_server(users, 0)?;
    let mut pair = Pair::new(
        "plain reqwest (same settings as `ReqwestTransport`)",
        Client::Own("get-plain".into()),
        "cipp full pipeline (`Pipeline::send`: token, throttle, retry, error mapping)",
        Client::Own("get-pipeline".into()),
    );
    run_client(&pair.baseline, s.1, gets)?;
    for run in 0..runs {
        eprintln!("pipeline: run {}/{runs}", run + 1);
        pair.run(run, s.1, gets)?;
    }
    drop(s);
    println!();
    println!(
        "## 2. Pipeline overhead: {gets} GETs of one small user at concurrency {CONCURRENCY}, 0 ms"
    );
    println!();
    println!("| client | requests | CPU s | µs CPU per request | requests/s (wall) | peak MiB | CPU × plain |");
    println!("|---|---|---|---|---|---|---|");
    for (label, samples, ratio) in [
        (
            &pair.baseline_label,
            &pair.base_samples,
            "1 (baseline)".to_owned(),
        ),
        (&pair.label, &pair.samples, stat(&pair.ratios(|x| x.cpu), 3)),
    ] {
        println!(
            "| {label} | {gets} | {} | {} | {} | {} | {ratio} |",
            stat(&col(samples, |x| x.cpu), 3),
            stat(&col(samples, |x| x.cpu / x.count as f64 * 1e6), 1),
            stat(&col(samples, |x| x.count as f64 / x.wall), 0),
            stat(&col(samples, |x| x.peak), 1),
        );
    }
    Ok(())
}
