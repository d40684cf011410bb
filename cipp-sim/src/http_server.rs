//! Serving the simulator over HTTP on loopback (feature `http`), so that any Graph client
//! in any language can talk to it.
//!
//! Point the client's Graph, login and Exchange hosts at the server's base URL
//! (`http://127.0.0.1:{port}`): the simulator routes on paths, and its next links point
//! back at the host the request named.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use cipp_core::Transport;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::Simulator;

/// Starts serving `sim` on `addr` (use port 0 for any free port) and returns the bound
/// address and the server task.
pub async fn start(
    sim: Simulator,
    addr: SocketAddr,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let sim = sim.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                    let sim = sim.clone();
                    async move { Ok::<_, Infallible>(answer(&sim, req).await) }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok((local, task))
}

async fn answer(sim: &Simulator, req: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
    let (mut parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => Bytes::new(),
    };
    // Requests arrive with a path-only URI: rebuild the absolute one from Host.
    let host = parts
        .headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_owned();
    let pq = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    if let Ok(uri) = format!("http://{host}{pq}").parse() {
        parts.uri = uri;
    }
    let response = match sim.send(http::Request::from_parts(parts, body)).await {
        Ok(r) => r,
        Err(e) => {
            let mut r = http::Response::new(Bytes::from(e.to_string()));
            *r.status_mut() = http::StatusCode::BAD_GATEWAY;
            r
        }
    };
    response.map(Full::new)
}
