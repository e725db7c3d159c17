//! `cargo run --profile host -p opsflow-bench --bin analytics-bench`: what one
//! process analytics request costs on a long history.
//!
//! Starts the shipped app's process-analytics component on the local host with
//! its SQLite store and seeds, straight into the store (the same keys and stored
//! forms the components write, through `opsflow_store`), `BENCH_CAMPAIGNS`
//! campaigns (default 1,000) with eight weeks of history each: three stages
//! left, four content items reviewed in three stages, approved and scheduled
//! (every tenth campaign's first item reworked), a trigger fired and acted on for
//! every twentieth campaign; and the campaign index (every tenth campaign owned by
//! `max`). Then times each request `BENCH_REPEAT` times (default 20) and prints
//! its KV calls (process-analytics', counted by the host), median and slowest
//! time and answer size. Build the component first:
//! `cargo build --target wasm32-wasip2 --release -p process-analytics`.
#![forbid(unsafe_code)]

use anyhow::{Result, anyhow, bail};
use opsflow_bench::app::{HostKv, STORE, call_raw, campaign_ids, env_or, start_app};
use opsflow_domain::analytics::{Sample, StageSpec, TriggerOutcome};
use opsflow_store::Kv;
use opsflow_store::campaigns::{CampaignIndex, IndexEntry, owner_tag};
use opsflow_store::keys::campaigns as ckeys;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const H: i64 = 3_600;
const D: i64 = 86_400;
const STAGES: [(&str, &str); 3] = [
    ("brand", "brand_reviewer"),
    ("compliance", "compliance_reviewer"),
    ("operations", "operations"),
];
const REVIEWERS: [&str; 6] = ["bree", "bob", "cole", "cara", "olga", "omar"];

/// The history of campaign `i` (created `start`): its samples.
fn history(i: usize, id: &str, start: i64) -> Vec<Sample> {
    let mut out = Vec::new();
    let mut t = start;
    for (from, to, days) in [
        ("planning", "production", 2 + (i % 3) as i64),
        ("production", "distribution", 5),
        ("distribution", "monitoring", 7),
    ] {
        let left = t + days * D + (i % 11) as i64 * H;
        out.push(Sample::Stage {
            campaign: id.into(),
            from: from.into(),
            to: to.into(),
            entered: t,
            left,
        });
        t = left;
    }
    let stages: Vec<StageSpec> = STAGES
        .iter()
        .map(|(name, role)| StageSpec {
            name: name.to_string(),
            role: role.to_string(),
            needed: 1,
            parallel: false,
        })
        .collect();
    for k in 0..4 {
        let item = format!("{id}-item{k}");
        let channel = if k % 2 == 0 { "email" } else { "sms" };
        let opened = start + (3 + k as i64) * D;
        out.push(Sample::Opened {
            item: item.clone(),
            campaign: id.into(),
            channel: channel.into(),
            round: 1,
            at: opened,
            stages: stages.clone(),
        });
        let mut at = opened;
        for (s, (stage, role)) in STAGES.iter().enumerate() {
            at += (1 + ((i + k + s) % 9) as i64) * H;
            out.push(Sample::Decision {
                item: item.clone(),
                campaign: id.into(),
                channel: channel.into(),
                round: 1,
                stage: stage.to_string(),
                role: role.to_string(),
                reviewer: REVIEWERS[(i + s * 2) % REVIEWERS.len()].into(),
                approve: true,
                submitted: opened,
                at,
            });
        }
        let due = Some(opened + 10 * H);
        for sample in [
            Sample::Approved {
                item: item.clone(),
                campaign: id.into(),
                channel: channel.into(),
                round: 1,
                auto: false,
                due,
                at,
            },
            Sample::Scheduled {
                item: item.clone(),
                campaign: id.into(),
                channel: channel.into(),
                due,
                at: at + H,
            },
        ] {
            out.push(sample);
        }
        if k == 0 && i % 10 == 0 {
            out.push(Sample::Rework {
                item,
                campaign: id.into(),
                channel: channel.into(),
                round: 1,
                edit: true,
                at: at + 2 * H,
            });
        }
    }
    if i % 20 == 0 {
        for (outcome, at) in [
            (TriggerOutcome::Fired, t),
            (TriggerOutcome::Succeeded, t + 120),
        ] {
            out.push(Sample::Trigger {
                trigger: format!("{id}-t"),
                campaign: Some(id.into()),
                rule: "bounce".into(),
                metric: "Bounce rate".into(),
                outcome,
                fired: t,
                at,
                value: Some(0.08),
                scope: format!("campaign:{id}"),
            });
        }
    }
    out
}

/// Seeds `n` campaigns' index entries, minimal records (what analytics reads of
/// them: the name) and histories; returns the samples written.
async fn seed(kv: &HostKv, n: usize, now: i64) -> Result<usize> {
    let first = now - 55 * D;
    let ids = campaign_ids(first, n)?;
    let mut index = CampaignIndex::new();
    let mut records = Vec::new();
    let mut samples = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let owner = if i % 10 == 0 { "max" } else { "mia" };
        index.insert(
            id.clone(),
            IndexEntry {
                stage: "monitoring".into(),
                version: 1,
                owners: Some([owner_tag(owner), owner_tag("olga")]),
            },
        );
        records.push((
            ckeys::campaign(id).as_str().to_string(),
            serde_json::to_vec(
                &json!({"version": 1, "value": {"id": id, "name": format!("Campaign {i}")}}),
            )?,
        ));
        // Campaigns start over the first four weeks of the eight.
        let start = first + (i % 28) as i64 * D;
        samples.extend(history(i, id, start));
    }
    opsflow_store::campaigns::load(kv, &index)
        .await
        .map_err(|e| anyhow!("index: {e}"))?;
    for chunk in records.chunks(2_000) {
        kv.set_many(chunk).await?;
    }
    let written = opsflow_store::analytics::record(kv, samples)
        .await
        .map_err(|e| anyhow!("samples: {e}"))?;
    Ok(written)
}

fn day(t: i64) -> String {
    opsflow_bench::app::rfc3339(t)[..10].to_string()
}

#[tokio::main]
async fn main() -> Result<()> {
    let root = opsflow_bench::app_root();
    let n: usize = env_or("BENCH_CAMPAIGNS", 1_000);
    let repeat: usize = env_or("BENCH_REPEAT", 20);
    let state = root.join("target/bench-state/analytics");
    let _ = std::fs::remove_dir_all(&state);
    let app = start_app(&root, &state, &["process-analytics"]).await?;
    let kv = HostKv(
        app.kv_backend(STORE)
            .ok_or_else(|| anyhow!("the app has no '{STORE}' store"))?,
    );
    let now = chrono::Utc::now().timestamp();
    let t0 = Instant::now();
    let written = seed(&kv, n, now).await?;
    println!(
        "{n} campaigns, {written} samples over 8 weeks seeded in {:.1} s; SQLite store; {repeat} requests each\n",
        t0.elapsed().as_secs_f64()
    );
    let eight_weeks = format!("from={}&to={}", day(now - 48 * D), day(now));
    let one = campaign_ids(now - 55 * D, 1)?.remove(0);
    let requests = [
        ("default (last 28 days)", String::new()),
        ("8 weeks", eight_weeks.clone()),
        ("8 weeks, owner=max", format!("{eight_weeks}&owner=max")),
        (
            "8 weeks, one campaign",
            format!("{eight_weeks}&campaign_id={one}"),
        ),
        (
            "8 weeks, team=operations, channel=email",
            format!("{eight_weeks}&team=operations&channel=email"),
        ),
        (
            "8 weeks, CSV table=reviewers",
            format!("{eight_weeks}&format=csv&table=reviewers"),
        ),
    ];
    println!("| request | KV calls | median | slowest | answer |");
    println!("|---|---|---|---|---|");
    for (label, query) in requests {
        let path = format!("/api/analytics/process?{query}");
        let before = app.stats().kv_total("process-analytics");
        let mut times: Vec<Duration> = Vec::new();
        let mut size = 0;
        for _ in 0..repeat {
            let start = Instant::now();
            let (status, body) = call_raw(app.addr(), "GET", &path, &Value::Null).await?;
            times.push(start.elapsed());
            if status != 200 {
                bail!("{label}: HTTP {status}: {}", String::from_utf8_lossy(&body));
            }
            size = body.len();
        }
        let calls = (app.stats().kv_total("process-analytics") - before) as f64 / repeat as f64;
        times.sort();
        println!(
            "| {label} | {calls:.1} | {:.1} ms | {:.1} ms | {:.1} KB |",
            times[times.len() / 2].as_secs_f64() * 1e3,
            times[times.len() - 1].as_secs_f64() * 1e3,
            size as f64 / 1024.0
        );
    }
    app.stop().await;
    let _ = std::fs::remove_dir_all(&state);
    Ok(())
}
