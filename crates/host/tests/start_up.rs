//! Start-up: `opsflow-host up` compiles a component once, and every later start on
//! the same state directory loads it from the compile cache there.

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long a start may take to report, compiling the fixture on a cold cache
/// with a debug build included.
const REPORT_TIMEOUT: Duration = Duration::from_secs(300);

/// Runs `opsflow-host up -c probe --state-dir <state_dir>` in `cwd` until it
/// prints its compile report ("Loaded 1 component file(s) in … s: …"), then kills
/// it and returns the line.
fn start_and_read_compile_report(cwd: &Path, state_dir: &str) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_opsflow-host"))
        .current_dir(cwd)
        .args(["up", "-f"])
        .arg(support::manifest())
        .args(["--listen", "127.0.0.1:0", "--state-dir", state_dir])
        .args(["-c", "probe"])
        .env("SPIN_VARIABLE_SECRET_TOKEN", "t")
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn opsflow-host");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.starts_with("Loaded ") {
                let _ = tx.send(line);
            }
        }
    });
    let report = rx.recv_timeout(REPORT_TIMEOUT);
    let _ = child.kill();
    let _ = child.wait();
    report.expect("opsflow-host printed no compile report (did it start?)")
}

#[test]
fn a_second_start_on_a_relative_state_dir_loads_components_from_the_compile_cache() {
    support::build_fixture();
    let cwd = support::workspace()
        .join("target/test-state")
        .join(format!("start-up-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cwd);
    // `--state-dir state`, relative as typed by hand: wasmtime refuses a relative
    // cache directory, which once meant compiling on every start.
    support::share_compile_cache(&cwd.join("state"));

    let first = start_and_read_compile_report(&cwd, "state");
    let second = start_and_read_compile_report(&cwd, "state");

    assert!(
        second.ends_with(": 0 compiled, 1 from the compile cache, 0 already in memory"),
        "first start: {first}\nsecond start: {second}"
    );
    let _ = std::fs::remove_dir_all(&cwd);
}
