//! Benchmarks of the request pipeline and of paging, against a plain reqwest client on the
//! same loopback server. Figures, not timed tests:
//!
//! ```sh
//! cargo run --release --example bench            # everything
//! cargo run --release --example bench -- quick   # fewer requests and pages
//! ```
//!
//! Each client runs in its own process (the server in another), so CPU time and peak memory
//! (`/proc/self/stat`, `VmHWM`) are the client's alone.
//!
//! 1. Pipeline overhead: 20,000 GETs at concurrency 16, full pipeline vs plain reqwest.
//! 2. Paging: 100,000 typed users in pages of 999 (about 420 bytes per user, the next link
//!    before `value`) at 0 ms and 20 ms latency per response, `paging::items` vs a plain
//!    reqwest + serde_json loop; peak memory at 11 and 101 pages.

use std::convert::Infallible;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use cipp::core::{
    paging, ApiRequest, Audience, Credentials, Endpoints, Pipeline, ReqwestTransport, TenantId,
};
use futures::{StreamExt, TryStreamExt};
use serde::Deserialize;

const CONCURRENCY: usize = 16;
const PAGE: usize = 999;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct User {
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

#[derive(Deserialize)]
struct PlainPage {
    #[serde(rename = "@odata.nextLink")]
    next_link: Option<String>,
    value: Vec<User>,
}

fn user_json(i: usize) -> String {
    format!(
        r#"{{"id":"{:08x}-1234-4abc-8def-{:012x}","displayName":"Bench User {i:06}","givenName":"Bench","surname":"User {i:06}","userPrincipalName":"bench.user{i:06}@contoso.onmicrosoft.com","mail":"bench.user{i:06}@contoso.com","jobTitle":"Senior Benchmark Engineer","officeLocation":"Building 42, Floor 3","mobilePhone":"+1 425 555 {:04}","businessPhones":["+1 425 555 0100"],"preferredLanguage":"en-US","accountEnabled":true,"createdDateTime":"2024-03-01T09:00:00Z","usageLocation":"US","department":"Performance"}}"#,
        i,
        i,
        i % 10_000
    )
}

fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|s| s.parse().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|s| s.parse().ok()).unwrap_or(0.0);
    ticks / 100.0
}

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

async fn server(users: usize, latency_ms: u64) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
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
    use std::io::Write;
    let _ = std::io::stdout().flush();
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
                        r.headers_mut()
                            .insert("content-type", "application/json".parse().unwrap());
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

fn pipeline(port: u16) -> Pipeline {
    Pipeline::builder()
        .transport(Arc::new(ReqwestTransport::new().unwrap()))
        .endpoints(Endpoints::single_base(&format!("http://127.0.0.1:{port}")))
        .credentials(Credentials::StaticToken("bench-token".into()))
        .build()
        .unwrap()
}

/// The plain client gets the same settings as `ReqwestTransport` (timeouts, pool, no
/// redirects), so the comparison measures the pipeline, not reqwest's configuration.
fn plain_client() -> reqwest::Client {
    let s = cipp::core::ReqwestSettings::default();
    reqwest::Client::builder()
        .connect_timeout(s.connect_timeout)
        .timeout(s.request_timeout)
        .pool_max_idle_per_host(s.pool_max_idle_per_host)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn tenant() -> TenantId {
    TenantId::parse("contoso.onmicrosoft.com").unwrap()
}

async fn client(mode: &str, port: u16, n: usize) -> String {
    let cpu0 = cpu_seconds();
    let t0 = Instant::now();
    let count: usize = match mode {
        "get-pipeline" => {
            let p = pipeline(port);
            let tenant = tenant();
            futures::stream::iter(0..n)
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
                .await
        }
        "get-plain" => {
            let c = plain_client();
            let url = format!("http://127.0.0.1:{port}/v1.0/users/48d31887");
            futures::stream::iter(0..n)
                .map(|_| {
                    let c = c.clone();
                    let url = url.clone();
                    async move {
                        let r = c.get(&url).bearer_auth("bench-token").send().await;
                        match r {
                            Ok(r) => usize::from(r.bytes().await.is_ok()),
                            Err(_) => 0,
                        }
                    }
                })
                .buffer_unordered(CONCURRENCY)
                .fold(0, |a, b| async move { a + b })
                .await
        }
        "pages-pipeline" => {
            let p = pipeline(port);
            let req =
                ApiRequest::get(tenant(), Audience::Graph, "/v1.0/users").query("$top", "999");
            let mut s = Box::pin(paging::items::<User>(p, req));
            let mut k = 0;
            while let Some(u) = s.try_next().await.unwrap() {
                k += usize::from(!u.id.is_empty());
            }
            k
        }
        "pages-plain" => {
            let c = plain_client();
            let mut url = Some(format!("http://127.0.0.1:{port}/v1.0/users?$top=999"));
            let mut k = 0;
            while let Some(u) = url.take() {
                let body = c
                    .get(&u)
                    .bearer_auth("bench-token")
                    .send()
                    .await
                    .unwrap()
                    .bytes()
                    .await
                    .unwrap();
                let page: PlainPage = serde_json::from_slice(&body).unwrap();
                for user in page.value {
                    k += usize::from(!user.id.is_empty());
                }
                url = page.next_link;
            }
            k
        }
        other => panic!("unknown mode {other}"),
    };
    let wall = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    format!("{count} {wall:.4} {cpu:.4} {:.1}", peak_rss_mib())
}

// ---------------------------------------------------------------- orchestration

struct Server(Child, u16);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
    }
}

fn start_server(users: usize, latency_ms: u64) -> Server {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args(["server", &users.to_string(), &latency_ms.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line.trim().parse().unwrap();
    Server(child, port)
}

struct Figures {
    count: usize,
    wall: f64,
    cpu: f64,
    peak_mib: f64,
}

fn run_client(mode: &str, port: u16, n: usize) -> Figures {
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .args(["client", mode, &port.to_string(), &n.to_string()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let f: Vec<&str> = text.split_whitespace().collect();
    Figures {
        count: f[0].parse().unwrap(),
        wall: f[1].parse().unwrap(),
        cpu: f[2].parse().unwrap(),
        peak_mib: f[3].parse().unwrap(),
    }
}

fn best_of(mode: &str, port: u16, n: usize, runs: usize) -> Figures {
    (0..runs)
        .map(|_| run_client(mode, port, n))
        .min_by(|a, b| a.cpu.partial_cmp(&b.cpu).unwrap())
        .unwrap()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rt = || {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap()
    };
    match args.get(1).map(String::as_str) {
        Some("server") => {
            let users = args[2].parse().unwrap();
            let latency = args[3].parse().unwrap();
            rt().block_on(server(users, latency));
            return;
        }
        Some("client") => {
            let port = args[3].parse().unwrap();
            let n = args[4].parse().unwrap();
            println!("{}", rt().block_on(client(&args[2], port, n)));
            return;
        }
        _ => {}
    }
    let quick = args.get(1).is_some_and(|a| a == "quick");
    let gets = if quick { 4_000 } else { 20_000 };
    let users = if quick { 20_000 } else { 100_000 };
    let runs = if quick { 1 } else { 3 };

    println!(
        "1. pipeline overhead: {gets} GETs at concurrency {CONCURRENCY} (best of {runs} by CPU)"
    );
    let s = start_server(users, 0);
    let plain = best_of("get-plain", s.1, gets, runs);
    let piped = best_of("get-pipeline", s.1, gets, runs);
    for (name, f) in [("plain reqwest", &plain), ("cipp pipeline", &piped)] {
        println!(
            "   {name:<14} {:>6} ok  {:>8.0} req/s  CPU {:>6.3} s  {:>6.1} µs CPU/req",
            f.count,
            f.count as f64 / f.wall,
            f.cpu,
            f.cpu / f.count as f64 * 1e6
        );
    }
    println!(
        "   CPU per request ratio (pipeline / plain): {:.3}",
        piped.cpu / plain.cpu
    );

    println!("\n2. paging: {users} users in pages of {PAGE}");
    let pages = users.div_ceil(PAGE);
    let mut page_runs = Vec::new();
    for latency in [0u64, 20] {
        page_runs.clear();
        let s = start_server(users, latency);
        let plain = best_of("pages-plain", s.1, 0, runs);
        let piped = best_of("pages-pipeline", s.1, 0, runs);
        println!("   latency {latency} ms per response:");
        for (name, f) in [("plain loop", &plain), ("paging::items", &piped)] {
            println!(
                "   {name:<14} {:>7} users  wall {:>7.3} s  CPU {:>6.3} s  peak RSS {:>6.1} MiB",
                f.count, f.wall, f.cpu, f.peak_mib
            );
        }
        println!("   CPU ratio (items / plain): {:.3}", piped.cpu / plain.cpu);
        if latency > 0 {
            let floor = pages as f64 * latency as f64 / 1000.0;
            println!(
                "   latency floor {pages} × {latency} ms = {floor:.3} s; wall / floor: plain {:.3}, items {:.3}",
                plain.wall / floor,
                piped.wall / floor
            );
        }
        page_runs.push(s);
    }
    drop(page_runs);
    let small_users = PAGE * 11;
    let s_small = start_server(small_users, 0);
    let small = run_client("pages-pipeline", s_small.1, 0);
    let s_big = start_server(users, 0);
    let big = run_client("pages-pipeline", s_big.1, 0);
    println!(
        "\n   peak RSS of paging::items consumed item by item: {} pages {:.1} MiB, {} pages {:.1} MiB",
        small_users.div_ceil(PAGE),
        small.peak_mib,
        pages,
        big.peak_mib
    );
}
