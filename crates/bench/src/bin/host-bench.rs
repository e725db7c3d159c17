//! `cargo run --profile host -p opsflow-bench --bin host-bench`: the local host under load.
//!
//! Runs the kv-probe fixture (build it first: `cargo build --target wasm32-wasip2
//! --release -p kv-probe`) and prints, per scenario, requests/s, latency, the
//! average per-request instantiation time and the CPU time per request of the
//! whole process (host and load generator). On a shared machine requests/s follow
//! the neighbours' load; CPU per request much less, so compare builds with it.
//!
//! `BENCH_SECS` sets the seconds per row (default 5); `BENCH_ROWS=hello` runs only
//! the rows whose scenario name contains the text.
#![forbid(unsafe_code)]

use anyhow::Result;
use opsflow_bench::load;
use opsflow_host::{KvMode, UpOptions};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// One row of the table: a request driven at the probe with a given store and concurrency.
struct Scenario {
    /// What the row is called.
    name: &'static str,
    /// HTTP method of every request.
    method: &'static str,
    /// Path of every request.
    path: &'static str,
    /// The key-value backend the app runs on.
    kv: KvMode,
    /// Concurrent connections.
    conns: usize,
}

/// The rows, in the order printed.
fn scenarios() -> [Scenario; 7] {
    let row = |name, method, path, kv, conns| Scenario {
        name,
        method,
        path,
        kv,
        conns,
    };
    let incr = "KV counter (increment)";
    [
        row("hello (no KV)", "GET", "/probe/hello", KvMode::Sqlite, 1),
        row("hello (no KV)", "GET", "/probe/hello", KvMode::Sqlite, 8),
        row(incr, "POST", "/probe/incr/hits", KvMode::Memory, 8),
        row(incr, "POST", "/probe/incr/hits", KvMode::Sqlite, 1),
        row(incr, "POST", "/probe/incr/hits", KvMode::Sqlite, 8),
        row(
            incr,
            "POST",
            "/probe/incr/hits",
            KvMode::SqliteCommitPerWrite,
            8,
        ),
        row(
            "KV read (get)",
            "GET",
            "/probe/counter/hits",
            KvMode::Sqlite,
            8,
        ),
    ]
}

#[tokio::main]
async fn main() -> Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let secs: u64 = std::env::var("BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let state = root.join("target/bench-state");
    let _ = std::fs::remove_dir_all(&state);
    let rows = std::env::var("BENCH_ROWS").unwrap_or_default();
    println!(
        "| scenario | store | connections | requests/s | p50 | p99 | errors | instantiation (avg) | CPU / request |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for scenario in scenarios().into_iter().filter(|s| s.name.contains(&rows)) {
        run_scenario(&root, &state, &scenario, Duration::from_secs(secs)).await?;
    }
    Ok(())
}

/// Starts the probe on the scenario's store, warms it up, loads it for `duration`
/// and prints the row.
async fn run_scenario(root: &Path, state: &Path, s: &Scenario, duration: Duration) -> Result<()> {
    let mut opts = UpOptions::new(root.join("tests/fixtures/kv-probe/spin.toml"));
    opts.listen = "127.0.0.1:0".parse()?;
    opts.state_dir = Some(state.to_path_buf());
    opts.kv = s.kv.clone();
    opts.env_vars = Some(BTreeMap::from([(
        "SPIN_VARIABLE_SECRET_TOKEN".to_string(),
        "bench".to_string(),
    )]));
    // Only the probe: the fixture's every-second cron would add noise.
    opts.component_ids = vec!["probe".to_string()];
    let app = opsflow_host::up(opts).await?;
    // Warm up connections, caches and the allocator pool.
    let warm_up = Duration::from_millis(500);
    let _ = load(app.addr(), s.method, s.path, "", s.conns, warm_up).await?;
    let before = app.stats();
    let cpu_before = process_cpu();
    let r = load(app.addr(), s.method, s.path, "", s.conns, duration).await?;
    let cpu = process_cpu()
        .zip(cpu_before)
        .map(|(a, b)| a.saturating_sub(b));
    let after = app.stats();
    let inst = (after.instantiate_nanos - before.instantiate_nanos) as f64
        / ((after.instantiations - before.instantiations).max(1)) as f64
        / 1000.0;
    let cpu_per_request = match cpu {
        Some(cpu) if r.requests > 0 => {
            format!("{:.0} µs", cpu.as_secs_f64() * 1e6 / r.requests as f64)
        }
        _ => "—".to_string(),
    };
    println!(
        "| {} | {} | {} | {:.0} | {:.2} ms | {:.2} ms | {} | {inst:.1} µs | {cpu_per_request} |",
        s.name,
        store_name(&s.kv),
        s.conns,
        r.rps,
        r.p50.as_secs_f64() * 1000.0,
        r.p99.as_secs_f64() * 1000.0,
        r.errors,
    );
    app.stop().await;
    Ok(())
}

/// CPU time (user + system) this process has used, all threads, from
/// `/proc/self/stat` (Linux; `None` elsewhere). Its unit is the clock tick (10 ms),
/// fine over a run of thousands of requests.
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is parenthesised and may hold spaces:
    // state is field 3, utime 14 and stime 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // The kernel's USER_HZ is 100 on every Linux ABI we run on.
    Some(Duration::from_millis(ticks * 10))
}

/// The store column of the table.
fn store_name(kv: &KvMode) -> &'static str {
    match kv {
        KvMode::Sqlite => "SQLite, group commit",
        KvMode::SqliteCommitPerWrite => "SQLite, commit per write",
        KvMode::Memory => "memory",
    }
}
