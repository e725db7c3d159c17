//! `cargo run --profile host -p opsflow-bench --bin eval-bench`: one evaluation run
//! over N campaigns.
//!
//! Starts the shipped app (spin.toml; campaign-intake and threshold-check only, so
//! the cron scheduler stays out) on the local host with its SQLite store. Build the
//! components first:
//! `cargo build --target wasm32-wasip2 --release -p campaign-intake -p content-approval
//! -p threshold-check -p trigger-dispatch -p scheduler`.
//!
//! For each N it creates one campaign over HTTP, then seeds N copies of it in the
//! distribution stage, the campaign index and `BENCH_METRIC_HOURS` hours of counters
//! per campaign directly into the app's store (same keys and records as the
//! components write; the counters as `opsflow_store::metrics::seed_campaign` builds
//! what ingest leaves: a rollup per campaign and the hour records of closed
//! hours), and times `POST /api/evaluations/run` twice: the first run
//! (every category due) and the next minute's tick (the steady state). KV calls are
//! threshold-check's, counted by the host.
//!
//! Environment: `BENCH_SIZES` (default `1000,10000`), `BENCH_AGE_DAYS` (days the
//! campaigns have been running at the run's `now`, default 7), `BENCH_METRIC_HOURS`
//! (hours of counters seeded per campaign before `now`, default 24), `BENCH_ROOT`
//! (the directory holding spin.toml and target/, default this checkout; e.g. a copy
//! with unstripped components for `perf record`). With `OPSFLOW_HOST_FUEL=1` the host
//! meters the guests and the table shows the wasm instructions threshold-check
//! executed, a figure the machine's load does not move.
#![forbid(unsafe_code)]

use anyhow::{Context, Result, anyhow, bail};
use opsflow_bench::app::{HostKv, STORE, call, campaign_ids, env_or, rfc3339, start_app};
use opsflow_host::kv::Backend;
use opsflow_store::Kv;
use opsflow_store::campaigns::{CampaignIndex, IndexEntry};
use opsflow_store::keys::campaigns as ckeys;
use opsflow_store::metrics::{Cell, HOUR_SECS, seed_campaign};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The run's `now`: 2030-03-11T12:30:00Z.
const NOW: i64 = 1_899_462_600;
/// Pairs per `set_many` while seeding (one SQLite transaction each).
const SEED_CHUNK: usize = 2_000;
/// Every this-many-th campaign bounces 10% of its sends (the distribution rule fires).
const BOUNCY_EVERY: usize = 100;

struct Seeded {
    /// Counter records written.
    records: usize,
    took: Duration,
}

/// Creates the template over HTTP, then writes `n` campaigns, the index and their
/// counter records straight into the store.
async fn seed(
    addr: SocketAddr,
    kv: &HostKv,
    n: usize,
    age_days: i64,
    metric_hours: i64,
) -> Result<Seeded> {
    let t0 = Instant::now();
    let start = NOW - NOW.rem_euclid(86_400) - age_days * 86_400;
    let template = create_template(addr, kv, start).await?;
    let ids = campaign_ids(start, n)?;

    // The index first (as the app writes it: an entry before its record), in
    // shards of 1,000 campaigns.
    let index = campaign_index(&ids, &template);
    opsflow_store::campaigns::load(kv, &index)
        .await
        .map_err(|e| anyhow!("index: {e}"))?;

    let records = write_campaigns(kv, &ids, &template.doc, start, metric_hours).await?;
    Ok(Seeded {
        records,
        took: t0.elapsed(),
    })
}

/// The campaign every seeded one copies, as stored.
struct Template {
    /// Its id (it stays in planning and in the index).
    id: String,
    /// The stored record, moved to the distribution stage.
    doc: Value,
    /// The record's stored version, given to every index entry.
    version: u64,
}

/// Creates the template campaign over HTTP (running `age_days` before `NOW`) and
/// reads back what the app stored for it.
async fn create_template(addr: SocketAddr, kv: &HostKv, start: i64) -> Result<Template> {
    let body = json!({
        "name": "Bench campaign", "marketing_owner": "mia", "operations_owner": "olga",
        "objectives": [{"kpi": "conversions", "target": 500, "deadline": rfc3339(start + 27 * 86_400)}],
        "channels": [{"channel": "email", "budget_minor": 100_000,
                      "send_plan": {"sends_per_day": 2_000}}],
        "schedule": {"start": rfc3339(start), "end": rfc3339(start + 28 * 86_400)},
    });
    let (status, created) = call(addr, "POST", "/api/campaigns", &body).await?;
    if status != 201 && status != 200 {
        bail!("creating the template campaign: HTTP {status}: {created}");
    }
    let id = created["id"]
        .as_str()
        .ok_or_else(|| anyhow!("no id in {created}"))?
        .to_string();
    let stored = kv
        .get(ckeys::campaign(&id).as_str())
        .await?
        .context("template campaign not stored")?;
    let mut doc: Value = serde_json::from_slice(&stored)?;
    let version = doc["version"].as_u64().unwrap_or(1);
    doc["value"]["stage"] = json!("distribution");
    Ok(Template { id, doc, version })
}

/// The index: every seeded campaign in distribution, the template in planning.
fn campaign_index(ids: &[String], template: &Template) -> CampaignIndex {
    let version = template.version;
    let owners = ["mia", "olga"].map(opsflow_store::campaigns::owner_tag);
    ids.iter()
        .map(|id| {
            (
                id.clone(),
                IndexEntry {
                    stage: "distribution".into(),
                    version,
                    owners: Some(owners.clone()),
                },
            )
        })
        .chain(std::iter::once((
            template.id.clone(),
            IndexEntry {
                stage: "planning".into(),
                version,
                owners: Some(owners.clone()),
            },
        )))
        .collect()
}

/// Writes a copy of `template` under each id, with up to `metric_hours` hours of
/// counters (none before `start`), in `SEED_CHUNK`-pair batches; returns the number
/// of counter records (rollups and hour records).
async fn write_campaigns(
    kv: &HostKv,
    ids: &[String],
    template: &Value,
    start: i64,
    metric_hours: i64,
) -> Result<usize> {
    let mut pairs: Vec<(String, Vec<u8>)> = Vec::with_capacity(SEED_CHUNK);
    let mut records = 0;
    let now_hour = NOW - NOW.rem_euclid(HOUR_SECS);
    for (i, id) in ids.iter().enumerate() {
        let mut doc = template.clone();
        doc["value"]["id"] = json!(id);
        pairs.push((
            ckeys::campaign(id).as_str().to_string(),
            serde_json::to_vec(&doc)?,
        ));
        let bounced = if i % BOUNCY_EVERY == 0 { 10 } else { 1 };
        // What ingest leaves for one batch per hour received at `NOW`: the
        // campaign's rollup (its open hours and running totals) and the hour
        // records of the hours already closed.
        let hours: Vec<(i64, Vec<Cell>)> = (0..metric_hours)
            .map(|h| now_hour - h * HOUR_SECS)
            .take_while(|hour| *hour >= start)
            .map(|hour| (hour, hour_cells(bounced)))
            .collect();
        let written = seed_campaign(id, &hours, NOW)?;
        records += written.len();
        pairs.extend(written);
        if pairs.len() >= SEED_CHUNK {
            kv.set_many(&pairs).await?;
            pairs.clear();
        }
    }
    if !pairs.is_empty() {
        kv.set_many(&pairs).await?;
    }
    Ok(records)
}

/// One hour of email counters: 100 sent, `bounced` of them bounced.
fn hour_cells(bounced: i64) -> Vec<Cell> {
    let cell = |kind: &str, value: i64| Cell {
        kind: kind.to_string(),
        channel: Some("email".into()),
        content_id: None,
        value,
    };
    vec![
        cell("sent", 100),
        cell("delivered", 100 - bounced),
        cell("bounced", bounced),
        cell("opened", 30),
        cell("clicked", 6),
        cell("conversions", 30),
    ]
}

struct RunResult {
    /// HTTP requests the run took (each a bounded chunk of work).
    requests: u32,
    wall: Duration,
    /// Of `wall`, the time the guest waited for KV calls.
    kv_time: Duration,
    /// Wasm instructions threshold-check executed (host fuel; 0 unless metered).
    fuel: u64,
    kv_calls: u64,
    by_op: BTreeMap<String, u64>,
    record: Value,
}

async fn run_once(app: &opsflow_host::RunningApp, now: i64) -> Result<RunResult> {
    let before = app.stats();
    let t = Instant::now();
    // A run over many campaigns answers 202 after each request's budget and is
    // continued with the same body (as the scheduler does) until it answers 200.
    let mut requests = 0;
    let record = loop {
        requests += 1;
        let (status, record) = call(
            app.addr(),
            "POST",
            "/api/evaluations/run",
            &json!({ "now": now }),
        )
        .await?;
        match status {
            200 => break record,
            202 if requests < 1_000 => continue,
            _ => bail!("evaluation run: HTTP {status}: {record}"),
        }
    };
    let wall = t.elapsed();
    let after = opsflow_bench::settled_stats(app).await;
    let prefix = "threshold-check/";
    let by_op = after
        .kv_calls
        .iter()
        .filter_map(|(k, v)| {
            let op = k.strip_prefix(prefix)?;
            let delta = v - before.kv_calls.get(k).copied().unwrap_or(0);
            (delta > 0).then(|| (op.to_string(), delta))
        })
        .collect();
    Ok(RunResult {
        requests,
        wall,
        kv_time: Duration::from_nanos(after.kv_nanos - before.kv_nanos),
        fuel: after.fuel - before.fuel,
        kv_calls: after.kv_total("threshold-check") - before.kv_total("threshold-check"),
        by_op,
        record,
    })
}

#[tokio::main]
async fn main() -> Result<()> {
    let root = opsflow_bench::app_root();
    let sizes: Vec<usize> = std::env::var("BENCH_SIZES")
        .unwrap_or_else(|_| "1000,10000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let age_days: i64 = env_or("BENCH_AGE_DAYS", 7);
    let metric_hours: i64 = env_or("BENCH_METRIC_HOURS", 24);
    println!(
        "campaigns running {age_days} days at `now`, {metric_hours} hours of counters each; \
         default rules; SQLite store (group commit)\n"
    );
    println!(
        "| N | run | categories | run wall time | of which KV | guest instructions | KV calls | calls / campaign | target N/50+5 | \
         triggers fired | calls by op | seeded |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for n in sizes {
        bench_size(&root, n, age_days, metric_hours).await?;
    }
    Ok(())
}

/// One table block: a fresh app and store seeded with `n` campaigns, then the first
/// run and the next minute's tick.
async fn bench_size(root: &Path, n: usize, age_days: i64, metric_hours: i64) -> Result<()> {
    let state = root.join(format!("target/bench-state/eval-{n}"));
    let _ = std::fs::remove_dir_all(&state);
    let app = start_app(root, &state, &["campaign-intake", "threshold-check"]).await?;
    let backend = app
        .kv_backend(STORE)
        .ok_or_else(|| anyhow!("the app has no '{STORE}' store"))?;
    let kv = HostKv(backend);
    let seeded = seed(app.addr(), &kv, n, age_days, metric_hours).await?;
    for (label, now) in [("first", NOW), ("next tick", NOW + 60)] {
        let r = run_once(&app, now).await?;
        print_run(n, label, &r, &seeded);
        if r.record["campaigns"].as_u64() != Some(n as u64) {
            eprintln!(
                "warning: the run evaluated {} campaigns, not {n}",
                r.record["campaigns"]
            );
        }
    }
    let (key, bytes, mean) = largest_record(&kv.0)?;
    println!("|  | largest record after the runs: `{key}`, {bytes} bytes |");
    println!("|  | records by kind (count × mean size): {mean} |");
    app.stop().await;
    let _ = std::fs::remove_dir_all(&state);
    Ok(())
}

/// The store's largest value and its key, and the mean size of each kind of record
/// (keys up to their second `:`), every key read 256 per call.
fn largest_record(backend: &Arc<dyn Backend>) -> Result<(String, usize, String)> {
    let keys = backend.keys(STORE).map_err(|e| anyhow!("{e}"))?;
    let mut largest = (String::new(), 0);
    let mut kinds: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for chunk in keys.chunks(256) {
        for (key, value) in backend.get_many(STORE, chunk).map_err(|e| anyhow!("{e}"))? {
            let kind: String = key.split(':').take(2).collect::<Vec<_>>().join(":");
            let k = kinds.entry(kind).or_default();
            k.0 += 1;
            k.1 += value.len();
            if value.len() > largest.1 {
                largest = (key, value.len());
            }
        }
    }
    let mean = kinds
        .iter()
        .map(|(kind, (n, bytes))| format!("`{kind}` {n} × {} B", bytes / n.max(&1)))
        .collect::<Vec<_>>()
        .join(", ");
    Ok((largest.0, largest.1, mean))
}

/// Prints one table row: the run, its KV calls against the N/50+5 target, and the seeding.
fn print_run(n: usize, label: &str, r: &RunResult, seeded: &Seeded) {
    let cats = r.record["categories"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(|s| s.split('_').next().unwrap_or(s).to_string())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    let ops = r
        .by_op
        .iter()
        .map(|(op, c)| format!("{op} {c}"))
        .collect::<Vec<_>>()
        .join(", ");
    println!(
        "| {n} | {label}, {} request(s) | {cats} | {:.3} s | {:.3} s | {} | {} | {:.3} | {} | {} | {ops} | {} \
         campaigns, {} counter records, {:.1} s |",
        r.requests,
        r.wall.as_secs_f64(),
        r.kv_time.as_secs_f64(),
        if r.fuel == 0 {
            "—".to_string()
        } else {
            format!("{:.1} M", r.fuel as f64 / 1e6)
        },
        r.kv_calls,
        r.kv_calls as f64 / n.max(1) as f64,
        n / 50 + 5,
        r.record["fired"],
        n,
        seeded.records,
        seeded.took.as_secs_f64(),
    );
}
