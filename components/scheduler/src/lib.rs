//! The scheduler: on each cron tick, asks threshold-check to evaluate and
//! trigger-dispatch to dispatch; once a day (the 03:00 UTC tick) it also asks
//! campaign-metrics to expire old webhook dedupe records (the store has no TTL).
//!
//! It calls the app's own HTTP routes by ordinary outbound HTTP at `base_url` (the
//! `scheduler_base_url` variable), not by local service chaining: Spin's cron
//! trigger provides no chaining and refuses to start a cron component whose
//! `allowed_outbound_hosts` names a `*.spin.internal` host. The same variable
//! templates the component's `allowed_outbound_hosts`, so one setting decides
//! where the ticks go in each deployment.
//!
//! An evaluation run over many campaigns takes several requests: each does a
//! bounded chunk and answers 202 until the tick is done (docs/monitoring.md). The
//! scheduler calls again while it gets 202, at most [`MAX_CALLS`] times and for
//! [`MAX_SECS`] seconds per cron event, then goes on to dispatch; the next event's
//! first call continues the unfinished run before claiming its own tick.
//!
//! It is the only component with a cron trigger, so runtimes without the cron
//! plugin (SpinKube) run the other components with `--component-id` and an external
//! scheduler calls the same authenticated routes.
// No `unsafe` lint here: the generated cron bindings need export_name (see docs/decisions.md).

use spin_sdk::http::body::IncomingBodyExt;
use spin_sdk::http::{FullBody, Request};

#[allow(unsafe_code)]
mod bindings {
    spin_sdk::wit_bindgen::generate!({
        world: "spin-cron",
        path: "../../crates/host/wit/deps/spin-cron",
        runtime_path: "::spin_sdk::wit_bindgen::rt",
    });
}

use bindings::{Error, Guest, Metadata};

/// The routes each tick drives, in order.
const TARGETS: [&str; 2] = ["/api/evaluations/run", "/api/triggers/dispatch"];

/// Calls of one route per cron event while it answers 202 (more to do).
const MAX_CALLS: usize = 30;

/// Seconds of one cron event after which no further call starts: the next event
/// (a minute after this one) continues.
const MAX_SECS: u64 = 40;

/// The daily maintenance pass.
const CLEANUP: &str = "/api/campaigns/metrics/cleanup";

struct Scheduler;

/// The app's origin from `base_url`: `http(s)://host[:port]`, no path, no query
/// (the same value is an `allowed_outbound_hosts` entry, which may not have one).
fn origin(base_url: &str) -> Result<&str, String> {
    let trimmed = base_url.trim().trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("http://")
        .or_else(|| trimmed.strip_prefix("https://"))
        .ok_or_else(|| {
            format!("scheduler_base_url '{base_url}' must start with http:// or https://")
        })?;
    if rest.is_empty() || rest.contains(['/', '?', '#', '@']) {
        return Err(format!(
            "scheduler_base_url '{base_url}' must be an origin (scheme://host[:port]) without a path"
        ));
    }
    Ok(trimmed)
}

impl Guest for Scheduler {
    async fn handle_cron_event(metadata: Metadata) -> Result<(), Error> {
        let token = spin_sdk::variables::get("scheduler_token")
            .await
            .unwrap_or_default();
        if token.trim().is_empty() {
            // Unset (the manifest's default is empty): the routes would answer 401 to
            // an empty bearer, so skip the tick. Each tick is a fresh instance, so say
            // it on the first tick of each hour rather than every minute.
            if metadata.timestamp % 3_600 < 60 {
                eprintln!(
                    "scheduler: scheduler_token is not set, so evaluation and dispatch ticks are skipped; \
                     set SPIN_VARIABLE_SCHEDULER_TOKEN and map its hash to an operations principal in api_tokens"
                );
            }
            return Ok(());
        }
        let base_url = spin_sdk::variables::get("base_url")
            .await
            .map_err(|e| Error::Other(format!("scheduler_base_url: {e:?}")))?;
        let base = origin(&base_url).map_err(Error::Other)?;
        let body = serde_json::json!({ "now": metadata.timestamp }).to_string();
        let mut failures = Vec::new();
        let daily = opsflow_domain::monitoring::cadence::is_maintenance_tick(metadata.timestamp)
            .then_some(CLEANUP);
        let started = std::time::Instant::now();
        for path in TARGETS.into_iter().chain(daily) {
            let target = format!("{base}{path}");
            match drive(&target, &token, &body, started).await {
                Ok(status) if status < 300 => {}
                // Another replica (or an external cron) already ran this tick.
                Ok(409) => {}
                Ok(status) => failures.push(format!("{target}: HTTP {status}")),
                Err(e) => failures.push(format!("{target}: {e}")),
            }
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(Error::Other(failures.join("; ")))
        }
    }
}

/// POSTs `body` to `url`, again while it answers 202 (a chunk done, more to do),
/// within [`MAX_CALLS`] and [`MAX_SECS`]; the last status.
async fn drive(
    url: &str,
    token: &str,
    body: &str,
    started: std::time::Instant,
) -> Result<u16, String> {
    let mut status = post(url, token, body).await?;
    let mut calls = 1;
    while status == 202 && calls < MAX_CALLS && started.elapsed().as_secs() < MAX_SECS {
        status = post(url, token, body).await?;
        calls += 1;
    }
    Ok(status)
}

async fn post(url: &str, token: &str, body: &str) -> Result<u16, String> {
    let request = Request::post(url)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(FullBody::new(bytes::Bytes::from(body.to_string())))
        .map_err(|e| e.to_string())?;
    let response = spin_sdk::http::send(request)
        .await
        .map_err(|e| format!("{e:?}"))?;
    let status = response.status().as_u16();
    // Drain the body so the callee's instance can finish.
    let _ = response.into_body().bytes().await;
    Ok(status)
}

bindings::export!(Scheduler with_types_in bindings);
