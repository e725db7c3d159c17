//! `cargo run --profile host -p opsflow-bench --bin webhook-bench`: signed SendGrid
//! batches through the real app.
//!
//! Starts the shipped spin.toml (platform-webhooks, and campaign-metrics for the
//! metrics API, so the scheduler's cron adds no noise) on the local host with a P-256 verification key generated here, posts
//! `BENCH_BATCHES` (default 200) signed batches of 100 distinct SendGrid events over
//! 1 and 4 keep-alive connections, on SQLite (group commit) and in-memory KV, and
//! prints events/s, batch latency, KV calls per batch and whether the metrics API
//! reports exactly the posted totals. Build the components first:
//! `cargo build --target wasm32-wasip2 --release -p campaign-metrics -p platform-webhooks -p content-approval
//! -p threshold-check -p trigger-dispatch -p scheduler`.
//!
//! Every request is signed before the clock starts, so the load generator spends
//! its share of the two cores on HTTP only. A `503` is retried (as SendGrid would)
//! and counted as an error; any other non-2xx is counted and not retried.
#![forbid(unsafe_code)]

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use opsflow_bench::sendgrid::{Batch, CAMPAIGNS, EVENTS_PER_BATCH, Expected, now, prepare};
use opsflow_host::{KvMode, UpOptions};
use p256::ecdsa::SigningKey;
use p256::pkcs8::EncodePublicKey;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Batches sent before the clock starts (to their own campaign).
const WARMUP_BATCHES: usize = 5;
const VIEWER_TOKEN: &str = "bench-viewer-token";

/// What one run measured.
struct RunResult {
    elapsed: Duration,
    latencies: Vec<Duration>,
    errors: u64,
}

/// Posts every batch once (503s retried) over `connections` keep-alive connections.
async fn post_all(
    addr: SocketAddr,
    batches: Arc<Vec<Batch>>,
    connections: usize,
) -> Result<RunResult> {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let batches = batches.clone();
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            let (mut sender, conn) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(conn);
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(batch) = batches.get(i) else { break };
                for attempt in 0.. {
                    let req = hyper::Request::builder()
                        .method("POST")
                        .uri("/webhooks/sendgrid")
                        .header("host", "localhost")
                        .header("content-type", "application/json")
                        .header("X-Twilio-Email-Event-Webhook-Signature", &batch.signature)
                        .header("X-Twilio-Email-Event-Webhook-Timestamp", &batch.timestamp)
                        .body(Full::new(batch.body.clone()))?;
                    let t = Instant::now();
                    // See opsflow_bench::load: a kept-alive connection must be ready first.
                    sender.ready().await?;
                    let resp = sender.send_request(req).await?;
                    let status = resp.status();
                    resp.into_body().collect().await?;
                    latencies.push(t.elapsed());
                    if status.is_success() {
                        break;
                    }
                    errors += 1;
                    if status != hyper::StatusCode::SERVICE_UNAVAILABLE || attempt >= 5 {
                        break;
                    }
                }
            }
            anyhow::Ok((latencies, errors))
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.context("load task")??;
        latencies.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed();
    latencies.sort();
    Ok(RunResult {
        elapsed,
        latencies,
        errors,
    })
}

/// `GET path` with the viewer token, as JSON.
async fn get_json(addr: SocketAddr, path: &str) -> Result<Value> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let req = hyper::Request::builder()
        .uri(path)
        .header("host", "localhost")
        .header("authorization", format!("Bearer {VIEWER_TOKEN}"))
        .body(Full::new(Bytes::new()))?;
    let resp = sender.send_request(req).await?;
    let status = resp.status();
    let body = resp.into_body().collect().await?.to_bytes();
    if !status.is_success() {
        bail!("GET {path}: {status} {}", String::from_utf8_lossy(&body));
    }
    serde_json::from_slice(&body).with_context(|| format!("GET {path}: not JSON"))
}

/// Whether the metrics API reports exactly `expected` for every campaign.
async fn exact(addr: SocketAddr, expected: &Expected) -> Result<bool> {
    let (from, to) = (now() - 2 * 86_400, now() + 86_400);
    let mut all = true;
    for (campaign, want) in expected {
        let got = get_json(
            addr,
            &format!("/api/campaigns/{campaign}/metrics?from={from}&to={to}&granularity=hour"),
        )
        .await?;
        let got: BTreeMap<String, i64> =
            serde_json::from_value(got["totals"].clone()).context("totals")?;
        let got: BTreeMap<String, i64> = got.into_iter().filter(|(_, v)| *v != 0).collect();
        if &got != want {
            eprintln!("{campaign}: expected {want:?}, got {got:?}");
            all = false;
        }
    }
    Ok(all)
}

#[tokio::main]
async fn main() -> Result<()> {
    let root = opsflow_bench::app_root();
    let n: usize = std::env::var("BENCH_BATCHES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let state = root.join("target/bench-state/webhook");
    let _ = std::fs::remove_dir_all(&state);

    let key = SigningKey::random(&mut rand_core::OsRng);
    let public = p256::PublicKey::from(key.verifying_key())
        .to_public_key_der()
        .context("public key DER")?;
    let tokens = json!({
        opsflow_api::auth::token_hash(VIEWER_TOKEN): {"sub": "bench", "roles": ["viewer"]}
    });

    println!(
        "| batches | events | connections | store | events/s | batch p50 | batch p99 | KV calls / batch | KV wait / batch | guest instructions / batch | errors | exact |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    // `BENCH_SCENARIOS=sqlite:4,memory:4` runs only those (e.g. under `perf record`).
    let only = std::env::var("BENCH_SCENARIOS").ok();
    let scenarios = [
        (KvMode::Sqlite, 1, "sqlite:1"),
        (KvMode::Sqlite, 4, "sqlite:4"),
        (KvMode::Memory, 1, "memory:1"),
        (KvMode::Memory, 4, "memory:4"),
    ];
    for (run, (kv, conns, name)) in scenarios.into_iter().enumerate() {
        if only
            .as_deref()
            .is_some_and(|o| !o.split(',').any(|s| s.trim() == name))
        {
            continue;
        }
        let mut opts = UpOptions::new(root.join("spin.toml"));
        opts.listen = "127.0.0.1:0".parse()?;
        opts.state_dir = Some(state.join(format!("run{run}")));
        opts.compile_cache = Some(root.join("target"));
        opts.kv = kv.clone();
        opts.env_vars = Some(BTreeMap::from([
            ("SPIN_VARIABLE_API_TOKENS".to_string(), tokens.to_string()),
            (
                "SPIN_VARIABLE_SENDGRID_VERIFICATION_KEY".to_string(),
                B64.encode(public.as_bytes()),
            ),
        ]));
        // The webhook receiver and the metrics API that reads its counters back: the
        // scheduler's every-minute cron would add noise.
        opts.component_ids = vec![
            "platform-webhooks".to_string(),
            "campaign-metrics".to_string(),
        ];
        let app = opsflow_host::up(opts).await?;

        let (warm, _) = prepare(&key, &format!("warm{run}"), 1, WARMUP_BATCHES)?;
        let (batches, expected) = prepare(&key, &format!("r{run}"), CAMPAIGNS, n)?;
        let w = post_all(app.addr(), Arc::new(warm), conns).await?;
        if w.errors > 0 {
            bail!("warm-up: {} errors", w.errors);
        }
        let before = app.stats();
        let r = post_all(app.addr(), Arc::new(batches), conns).await?;
        let after_stats = opsflow_bench::settled_stats(&app).await;
        let fuel = (after_stats.fuel - before.fuel) / n.max(1) as u64;
        // Time the guests spent waiting on KV calls (summed over connections).
        let kv_wait_ms = (after_stats.kv_nanos - before.kv_nanos) as f64 / n.max(1) as f64 / 1e6;
        let (before, after) = (
            before.kv_total("platform-webhooks"),
            after_stats.kv_total("platform-webhooks"),
        );
        let exact = exact(app.addr(), &expected).await?;

        let pick = |q: f64| {
            let l = &r.latencies;
            l.get(((l.len() as f64 * q) as usize).min(l.len().saturating_sub(1)))
                .copied()
                .unwrap_or_default()
        };
        let events = n * EVENTS_PER_BATCH;
        println!(
            "| {n} | {events} | {conns} | {} | {:.0} | {:.2} ms | {:.2} ms | {:.1} | {kv_wait_ms:.2} ms | {} | {} | {} |",
            match kv {
                KvMode::Sqlite => "SQLite, group commit",
                KvMode::SqliteCommitPerWrite => "SQLite, commit per write",
                KvMode::Memory => "memory",
            },
            events as f64 / r.elapsed.as_secs_f64(),
            pick(0.50).as_secs_f64() * 1000.0,
            pick(0.99).as_secs_f64() * 1000.0,
            (after - before) as f64 / n.max(1) as f64,
            if fuel == 0 {
                "—".to_string()
            } else {
                format!("{:.2} M", fuel as f64 / 1e6)
            },
            r.errors,
            if exact { "yes" } else { "no" },
        );
        app.stop().await;
    }
    Ok(())
}
