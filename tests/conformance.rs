//! The OpenAPI document is the contract: schemathesis (PyPI) generates requests from
//! `/api/openapi.json` — valid ones, invalid ones, missing headers, undeclared
//! methods, and stateful sequences that follow the document's `links` — sends them
//! to the running app and checks every answer against the document (status codes,
//! problem types, headers, response schemas). The run must find nothing.
//!
//! The tool is installed once into a virtualenv under `target/schemathesis/`
//! (pinned version, `python3 -m venv` + pip from PyPI); nothing else is
//! downloaded. `tests/schemathesis.toml` says which answers the
//! checks must also accept, and why (each one a status the HTTP RFCs define for
//! the case, which the generic checks do not know).
//!
//! Every platform is configured, so no webhook answers 503 "not configured" (a
//! documented answer, but a server error to the checker); runs use a fixed seed so
//! a failure reproduces, and `OPSFLOW_CONFORMANCE_SEED` picks another.

#[path = "platforms/sendgrid.rs"]
mod sendgrid;
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The schemathesis release the checks were written against.
const SCHEMATHESIS: &str = "schemathesis==4.32.5";
/// The seed of the default run.
const SEED: &str = "20261130";

fn sh(line: &str) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(line);
    cmd
}

/// `target/schemathesis/venv/bin/st`, installed on first use.
fn schemathesis() -> PathBuf {
    let dir = support::workspace().join("target/schemathesis");
    let st = dir.join("venv/bin/st");
    let marker = dir.join(format!("{SCHEMATHESIS}.installed"));
    if st.is_file() && marker.is_file() {
        return st;
    }
    std::fs::create_dir_all(&dir).expect("target/schemathesis");
    let venv = dir.join("venv");
    let status = sh(&format!(
        "python3 -m venv --clear '{v}' && '{v}/bin/pip' install --quiet --disable-pip-version-check '{SCHEMATHESIS}'",
        v = venv.display()
    ))
    .status()
    .expect("sh runs");
    assert!(
        status.success(),
        "installing {SCHEMATHESIS} into {} failed: the conformance run needs python3 with venv \
         (apt-get install python3-venv) and PyPI",
        venv.display()
    );
    std::fs::write(&marker, "").expect("marker");
    st
}

fn configured_platforms() -> Vec<(&'static str, String)> {
    use base64::Engine;
    let generic = base64::engine::general_purpose::STANDARD.encode("conformance-generic-secret");
    vec![
        ("sendgrid_verification_key", sendgrid::key(1).1),
        ("mandrill_webhook_key", "conformance-mandrill-key".into()),
        ("hubspot_client_secret", "conformance-hubspot-secret".into()),
        ("generic_webhook_secret", format!("whsec_{generic}")),
    ]
}

fn run_schemathesis(st: &Path, base: &str, report: &Path) -> std::process::ExitStatus {
    let config = support::workspace().join("tests/schemathesis.toml");
    let seed = std::env::var("OPSFLOW_CONFORMANCE_SEED").unwrap_or_else(|_| SEED.into());
    Command::new(st)
        .current_dir(report)
        .arg("--config-file")
        .arg(&config)
        .arg("run")
        .arg(format!("{base}/api/openapi.json"))
        .args(["--url", base])
        .args(["--checks", "all"])
        .args(["--seed", &seed])
        // Per operation and phase; the coverage phase's cases come on top.
        .args(["--max-examples", "30"])
        // One worker: with two, CPython 3.11's `ast.parse` (reached through
        // hypothesis) failed here with "AST constructor recursion depth mismatch".
        .args(["--workers", "1"])
        .args(["-H", &format!("Authorization: Bearer {}", support::ADA)])
        .arg("--report")
        .arg("junit")
        .arg("--report-dir")
        .arg(report)
        .env("NO_COLOR", "1")
        .env(
            "SCHEMATHESIS_HOOKS",
            support::workspace().join("tests/schemathesis_hooks.py"),
        )
        .status()
        .expect("schemathesis runs")
}

#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_finds_nothing_against_the_openapi_document() {
    let st = tokio::task::spawn_blocking(schemathesis)
        .await
        .expect("installer joined");
    let vars = configured_platforms();
    let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let state = support::state_dir("conformance");
    let app = support::App::start_in(&state, &refs).await;
    let base = app.host().url();
    let report = state.join("schemathesis");
    std::fs::create_dir_all(&report).expect("report dir");
    let status = tokio::task::spawn_blocking(move || run_schemathesis(&st, &base, &report))
        .await
        .expect("runner joined");
    assert!(
        status.success(),
        "schemathesis found failures (see its report above)"
    );
}
