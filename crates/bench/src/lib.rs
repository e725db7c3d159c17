//! Shared pieces of the benchmark programs: a keep-alive HTTP/1.1 load generator.
#![forbid(unsafe_code)]

pub mod app;
pub mod sendgrid;

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// The directory holding spin.toml and target/: `BENCH_ROOT` (another tree, e.g.
/// one with unstripped components for `perf record`), else this checkout.
pub fn app_root() -> std::path::PathBuf {
    std::env::var_os("BENCH_ROOT")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

/// The host's stats once the last response's instance has ended: an instance's
/// fuel (`OPSFLOW_HOST_FUEL`) is counted as its task ends, just after the response.
pub async fn settled_stats(app: &opsflow_host::RunningApp) -> opsflow_host::Snapshot {
    tokio::time::sleep(Duration::from_millis(50)).await;
    app.stats()
}

/// What one load run measured.
#[derive(Debug, Clone)]
pub struct LoadResult {
    /// Completed requests.
    pub requests: u64,
    /// Requests that did not answer 2xx.
    pub errors: u64,
    /// Requests per second over the run.
    pub rps: f64,
    /// Median latency.
    pub p50: Duration,
    /// 99th percentile latency.
    pub p99: Duration,
}

/// Drives `connections` keep-alive connections for `duration`, each sending
/// `method path` with `body` back to back.
pub async fn load(
    addr: SocketAddr,
    method: &'static str,
    path: &'static str,
    body: &'static str,
    connections: usize,
    duration: Duration,
) -> Result<LoadResult> {
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for _ in 0..connections {
        tasks.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            let (mut sender, conn) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(conn);
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            while Instant::now() < deadline {
                let req = hyper::Request::builder()
                    .method(method)
                    .uri(path)
                    .header("host", "localhost")
                    .body(Full::new(Bytes::from_static(body.as_bytes())))?;
                let t = Instant::now();
                // hyper answers "connection was not ready" to a request sent before
                // the previous response has fully released the connection.
                sender.ready().await?;
                let resp = sender.send_request(req).await?;
                let ok = resp.status().is_success();
                resp.into_body().collect().await?;
                latencies.push(t.elapsed());
                if !ok {
                    errors += 1;
                }
            }
            anyhow::Ok((latencies, errors))
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.context("load task")??;
        all.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed();
    all.sort();
    let pick = |q: f64| {
        all.get(((all.len() as f64 * q) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Ok(LoadResult {
        requests: all.len() as u64,
        errors,
        rps: all.len() as f64 / elapsed.as_secs_f64(),
        p50: pick(0.50),
        p99: pick(0.99),
    })
}
