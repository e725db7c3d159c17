//! The scheduler: on each cron tick, asks threshold-check to evaluate and
//! trigger-dispatch to dispatch, through Spin local service chaining; once a day
//! (the 03:00 UTC tick) it also asks campaign-intake to expire old webhook dedupe
//! records (the store has no TTL).
//!
//! It is the only component with a cron trigger, so runtimes without the cron
//! plugin (SpinKube) run the other components with `--component-id` and an external
//! scheduler calls the same authenticated routes.
// No `unsafe` lint here: the generated cron bindings need export_name (see DESIGN notes).

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
const TARGETS: [&str; 2] = [
    "http://threshold-check.spin.internal/api/evaluations/run",
    "http://trigger-dispatch.spin.internal/api/triggers/dispatch",
];

/// The daily maintenance pass.
const CLEANUP: &str = "http://campaign-intake.spin.internal/api/campaigns/metrics/cleanup";
struct Scheduler;

impl Guest for Scheduler {
    async fn handle_cron_event(metadata: Metadata) -> Result<(), Error> {
        let Ok(token) = spin_sdk::variables::get("scheduler_token").await else {
            eprintln!("scheduler: scheduler_token is not set; nothing to do");
            return Ok(());
        };
        let body = serde_json::json!({ "now": metadata.timestamp }).to_string();
        let mut failures = Vec::new();
        let daily = opsflow_domain::monitoring::cadence::is_maintenance_tick(metadata.timestamp)
            .then_some(CLEANUP);
        for target in TARGETS.into_iter().chain(daily) {
            match post(target, &token, &body).await {
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
