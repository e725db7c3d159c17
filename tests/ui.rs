//! The dashboard in a real browser: Debian's Chromium driven by Playwright
//! (`tests/ui`, an npm package) against the app on the local host. This test starts
//! the app, then runs the Playwright suite and fails if any browser test fails.
//!
//! Needs `chromium` (`apt-get install chromium`; `.ci/run` installs it) or
//! `CHROMIUM_PATH`; nothing is downloaded at run time. Screenshots of every view
//! land in `target/ui-screenshots/`.

mod support;

use std::path::PathBuf;
use std::process::Command;

/// The Standard Webhooks documentation's example secret (notifications are signed).
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn chromium() -> PathBuf {
    let path = std::env::var_os("CHROMIUM_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        path.is_file(),
        "the browser tests need Chromium at {} (apt-get install chromium, or set CHROMIUM_PATH)",
        path.display()
    );
    path
}

fn sh(dir: &std::path::Path, line: &str) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(line).current_dir(dir);
    cmd
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_works_for_every_role_in_chromium() {
    let browser = chromium();
    let ui = support::workspace().join("tests/ui");
    let status = sh(
        &ui,
        "[ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund",
    )
    .status()
    .expect("npm runs");
    assert!(status.success(), "npm ci in tests/ui failed");

    let state = support::state_dir("ui");
    let app = support::App::start_in(&state, &[("notify_signing_secret", SECRET)]).await;
    let shots = support::workspace().join("target/ui-screenshots");
    std::fs::create_dir_all(&shots).expect("screenshot dir");
    let url = app.host().url();
    let run = tokio::task::spawn_blocking(move || {
        sh(&ui, "npx --no-install playwright test")
            .env("OPSFLOW_URL", url)
            .env("OPSFLOW_SCREENSHOTS", shots)
            .env("CHROMIUM_PATH", browser)
            .env("CI", "true")
            .status()
    })
    .await
    .expect("runner joined")
    .expect("playwright runs");
    assert!(
        run.success(),
        "browser tests failed (see the Playwright output above)"
    );
}
