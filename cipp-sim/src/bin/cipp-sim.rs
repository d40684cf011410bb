//! Serves the simulator's demo scenario over HTTP on loopback.
//!
//! ```sh
//! cargo run -p cipp-sim --features http --bin cipp-sim -- --port 8080
//! ```

use std::net::SocketAddr;

use cipp_sim::scenario::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_PARTNER, DEMO_REFRESH_TOKEN};
use cipp_sim::Simulator;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut port: u16 = 8080;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--port" | "-p" => {
                let v = args.next().unwrap_or_default();
                port = match v.parse() {
                    Ok(p) => p,
                    Err(_) => {
                        eprintln!("--port needs a number, got `{v}`");
                        std::process::exit(2);
                    }
                };
            }
            "--help" | "-h" => {
                println!("usage: cipp-sim [--port PORT]   (default 8080; 0 picks a free port)");
                return Ok(());
            }
            other => {
                eprintln!("unknown argument `{other}`; try --help");
                std::process::exit(2);
            }
        }
    }
    let sim = Simulator::demo();
    let (addr, task) =
        cipp_sim::http_server::start(sim, SocketAddr::from(([127, 0, 0, 1], port))).await?;
    println!("cipp-sim serving the demo scenario on http://{addr}");
    println!("  token:  POST http://{addr}/{DEMO_PARTNER}/oauth2/v2.0/token");
    println!("  graph:  http://{addr}/v1.0/...");
    println!("  client_id={DEMO_CLIENT_ID} client_secret={DEMO_CLIENT_SECRET} refresh_token={DEMO_REFRESH_TOKEN}");
    let _ = task.await;
    Ok(())
}
