//! Starting the app for a test: build the components once, run them with a fresh
//! state directory, and talk to it over HTTP.
//!
//! Two runtimes can be under test, chosen once per test binary (and printed once):
//!
//! - by default the in-process host (`opsflow_host::up`, crates/host as a library),
//!   whose KV counters and fault switches a test reaches through [`App::host`];
//! - with `OPSFLOW_TEST_RUNTIME=<binary>`, a separate process of any Spin-compatible
//!   runtime started as `<binary> up -f <manifest> --listen ... --state-dir ...
//!   --runtime-config-file ... -c ...` ([`external`]): `opsflow-host` itself in CI,
//!   or `spin` where Spin is installed. A test that needs the in-process host begins
//!   with `if support::needs_in_process_host("why") { return; }`, which skips it in
//!   this mode with a printed reason; reaching the counters or faults without that
//!   guard panics, so a forgotten guard fails, never passes silently.
#![allow(dead_code)]

pub mod external;

use opsflow_host::{Faults, RunningApp, Snapshot, UpOptions};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The components of spin.toml, built for wasm32-wasip2.
const COMPONENTS: [&str; 11] = [
    "campaign-intake",
    "campaign-metrics",
    "resource-planning",
    "platform-webhooks",
    "content-approval",
    "content-config",
    "threshold-check",
    "monitoring-api",
    "process-analytics",
    "trigger-dispatch",
    "scheduler",
];

/// Marketing: mia.
pub const MIA: &str = "marketing-token";
/// Marketing: max, a second marketing user.
pub const MAX: &str = "marketing2-token";
/// Operations: olga.
pub const OLGA: &str = "operations-token";
/// Operations: omar, the second operations approver.
pub const OMAR: &str = "operations2-token";
/// Brand reviewer: bree.
pub const BREE: &str = "brand-token";
/// Compliance reviewer: cole.
pub const COLE: &str = "compliance-token";
/// Admin: ada.
pub const ADA: &str = "admin-token";
/// Viewer: vic, who may read everything and change nothing.
pub const VIC: &str = "viewer-token";

/// Bearer tokens the tests use: `(token, sub, roles)`.
pub const TOKENS: [(&str, &str, &[&str]); 8] = [
    (MIA, "mia", &["marketing"]),
    (MAX, "max", &["marketing"]),
    (OLGA, "olga", &["operations"]),
    (OMAR, "omar", &["operations"]),
    (BREE, "bree", &["brand_reviewer"]),
    (COLE, "cole", &["compliance_reviewer"]),
    (ADA, "ada", &["admin"]),
    (VIC, "vic", &["viewer"]),
];

/// The token the scheduler uses.
pub const SCHEDULER_TOKEN: &str = "scheduler-token";

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The external runtime under test (`OPSFLOW_TEST_RUNTIME`), or `None` for the
/// in-process host. A bare name is looked up on `PATH` (`OPSFLOW_TEST_RUNTIME=spin`),
/// a relative path is taken from the workspace root (cargo runs tests in `tests/`);
/// one that names no file is refused. Says once per test binary which it is.
pub fn runtime() -> Option<&'static Path> {
    static RUNTIME: OnceLock<Option<PathBuf>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            let runtime = std::env::var_os("OPSFLOW_TEST_RUNTIME")
                .filter(|v| !v.is_empty())
                .map(|v| resolve_runtime(Path::new(&v)));
            let said = match &runtime {
                Some(binary) => format!(
                    "runtime under test: {} (OPSFLOW_TEST_RUNTIME), a separate process per app; \
                     tests that need the in-process host are skipped",
                    binary.display()
                ),
                None => "runtime under test: the in-process opsflow-host \
                         (OPSFLOW_TEST_RUNTIME=<binary> tests a separate process)"
                    .to_string(),
            };
            say(&said);
            runtime
        })
        .as_deref()
}

fn resolve_runtime(given: &Path) -> PathBuf {
    let found = if given.components().count() == 1 && !given.is_absolute() {
        std::env::var_os("PATH").and_then(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join(given))
                .find(|p| p.is_file())
        })
    } else {
        Some(workspace().join(given)).filter(|p| p.is_file())
    };
    let found = found.unwrap_or_else(|| {
        let root = workspace();
        panic!(
            "OPSFLOW_TEST_RUNTIME={}: no such file (a bare name is looked up on PATH, \
             a relative path from the workspace root {})",
            given.display(),
            root.canonicalize().unwrap_or(root).display()
        )
    });
    found.canonicalize().unwrap_or(found)
}

/// Writes a line to the tests' stderr past libtest's output capture, so it shows
/// in a normal run.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Guard for a test that needs the in-process host (its KV counters, fault
/// injection, its start-up errors): under `OPSFLOW_TEST_RUNTIME` it prints
/// `skipped under OPSFLOW_TEST_RUNTIME: needs the in-process host (<why>)` and
/// returns `true`, and the test returns; otherwise `false`.
pub fn needs_in_process_host(why: &str) -> bool {
    if runtime().is_none() {
        return false;
    }
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("a test");
    say(&format!(
        "{test}: skipped under OPSFLOW_TEST_RUNTIME: needs the in-process host ({why})"
    ));
    true
}

/// Builds every component once per test binary. The dashboard is built by its
/// own spin.toml build command (front end, then the component), as `spin build`
/// runs it.
pub fn build_components() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let only = std::env::var("OPSFLOW_TEST_COMPONENTS").ok();
        if only
            .as_deref()
            .is_none_or(|o| o.split(',').any(|x| x.trim() == "dashboard"))
            && !dashboard_is_fresh()
        {
            let app = opsflow_host::manifest::load(&workspace().join("spin.toml"))
                .expect("spin.toml loads");
            opsflow_host::build::build(&app, &["dashboard".to_string()])
                .expect("the dashboard builds");
        }
        let mut cmd = std::process::Command::new(env!("CARGO"));
        cmd.current_dir(workspace())
            .args(["build", "--target", "wasm32-wasip2", "--release"]);
        // `OPSFLOW_TEST_COMPONENTS=a,b` builds only those and runs the others' last
        // build: one area can be tested while another is mid-edit in a shared tree.
        for c in COMPONENTS {
            if only
                .as_deref()
                .is_none_or(|o| o.split(',').any(|x| x.trim() == c))
            {
                cmd.args(["-p", c]);
            }
        }
        let status = cmd.status().expect("cargo runs");
        assert!(status.success(), "component build failed");
    });
}

/// The latest modification time of a file, or of any file under a directory
/// (skipping `node_modules` and build output, `dist`, which are not sources).
pub fn newest_modification(path: &Path) -> Option<std::time::SystemTime> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_dir() {
        return meta.modified().ok();
    }
    std::fs::read_dir(path)
        .ok()?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name() != "node_modules" && e.file_name() != "dist")
        .filter_map(|e| newest_modification(&e.path()))
        .max()
}

/// Whether the dashboard's `.wasm` is newer than everything it is built from (the
/// front end's sources, its lock file, the OpenAPI fragments its types come from,
/// the component and the assets crate), so each test binary does not rebuild it.
fn dashboard_is_fresh() -> bool {
    let root = workspace();
    let built = root.join("target/wasm32-wasip2/release/dashboard.wasm");
    let Some(built) = std::fs::metadata(built).and_then(|m| m.modified()).ok() else {
        return false;
    };
    let sources = [
        "components/dashboard/web/src",
        "components/dashboard/web/index.html",
        "components/dashboard/web/package-lock.json",
        "components/dashboard/web/vite.config.ts",
        "components/dashboard/src",
        "crates/assets/src",
        "crates/api/src",
        "docs/openapi",
    ];
    sources
        .iter()
        .all(|s| newest_modification(&root.join(s)).is_some_and(|t| t < built))
}

/// The `api_tokens` variable for [`TOKENS`] (and the scheduler).
pub fn api_tokens() -> String {
    let mut map = serde_json::Map::new();
    for (token, sub, roles) in TOKENS {
        map.insert(
            opsflow_api::auth::token_hash(token),
            serde_json::json!({ "sub": sub, "roles": roles }),
        );
    }
    map.insert(
        opsflow_api::auth::token_hash(SCHEDULER_TOKEN),
        serde_json::json!({ "sub": "system:scheduler", "roles": ["operations"] }),
    );
    serde_json::Value::Object(map).to_string()
}

/// A fresh state directory under target/.
pub fn state_dir(name: &str) -> PathBuf {
    let dir = workspace()
        .join("target/test-state")
        .join(format!("app-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Options for the real spin.toml with the test variables.
pub fn options(state: &Path, extra_vars: &[(&str, &str)]) -> UpOptions {
    options_with_edits(state, extra_vars, &[])
}

/// The tests' copy of spin.toml: the shipped manifest with absolute component
/// sources, the tests' local webhook receivers allowed for trigger-dispatch (the
/// shipped manifest allows only https), and any further `(from, to)` edits.
pub fn test_manifest(state: &Path, edits: &[(&str, &str)]) -> PathBuf {
    let root = workspace();
    let shipped = std::fs::read_to_string(root.join("spin.toml")).expect("spin.toml");
    let target = root.join("target").canonicalize().expect("target dir");
    let dispatch_hosts = r#"allowed_outbound_hosts = ["https://*:443", "http://campaign-intake.spin.internal", "http://resource-planning.spin.internal", "http://content-approval.spin.internal"]"#;
    let mut all: Vec<(String, String)> = vec![
        (
            "source = \"target/".to_string(),
            format!("source = \"{}/", target.display()),
        ),
        (
            dispatch_hosts.to_string(),
            dispatch_hosts.replace("]", r#", "http://127.0.0.1:*"]"#),
        ),
    ];
    all.extend(edits.iter().map(|(a, b)| (a.to_string(), b.to_string())));
    let mut manifest = shipped;
    for (from, to) in &all {
        assert!(
            manifest.contains(from.as_str()),
            "spin.toml no longer contains {from}"
        );
        manifest = manifest.replace(from.as_str(), to);
    }
    std::fs::create_dir_all(state).expect("state dir");
    let path = state.join("spin.test.toml");
    std::fs::write(&path, manifest).expect("write test manifest");
    path
}

/// Options for the shipped spin.toml itself, unedited: its relative sources resolve
/// against the workspace, as on `spin up` from the project directory.
pub fn shipped_options(state: &Path) -> UpOptions {
    let mut opts = options_with_edits(state, &[], &[]);
    opts.manifest = workspace().join("spin.toml");
    opts
}

/// [`options`] over a [`test_manifest`] with `edits`.
pub fn options_with_edits(
    state: &Path,
    extra_vars: &[(&str, &str)],
    edits: &[(&str, &str)],
) -> UpOptions {
    build_components();
    let mut opts = UpOptions::new(test_manifest(state, edits));
    opts.listen = free_local_addr();
    opts.state_dir = Some(state.to_path_buf());
    // Compiled components are shared by every test process (target/wasmtime-cache).
    opts.compile_cache = Some(workspace().join("target"));
    let mut env = BTreeMap::from([
        ("SPIN_VARIABLE_API_TOKENS".to_string(), api_tokens()),
        (
            "SPIN_VARIABLE_SCHEDULER_TOKEN".to_string(),
            SCHEDULER_TOKEN.to_string(),
        ),
        // The scheduler's cron ticks reach this app, not whatever listens on :3000.
        (
            "SPIN_VARIABLE_SCHEDULER_BASE_URL".to_string(),
            format!("http://{}", opts.listen),
        ),
    ]);
    for (k, v) in extra_vars {
        env.insert(
            format!("SPIN_VARIABLE_{}", k.to_ascii_uppercase()),
            v.to_string(),
        );
    }
    opts.env_vars = Some(env);
    opts
}

/// A loopback address with a port free right now. The scheduler's base URL is a
/// variable resolved before the host binds, so the port is chosen first.
pub fn free_local_addr() -> std::net::SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
}

/// Starts the app with a fresh state directory.
pub async fn start(name: &str) -> App {
    let state = state_dir(name);
    App::start_in(&state, &[]).await
}

/// A running app and a client for it. Dropping it stops the app and waits for it
/// to end, so a test ends its app by ending (or failing an assertion); only a test
/// that restarts on the same state directory calls [`App::stop`] itself.
pub struct App {
    /// `Some` until the app is stopped.
    running: Option<Running>,
    /// `http://<addr>`, kept past a stop for messages.
    base: String,
    pub client: reqwest::Client,
}

/// What serves an [`App`].
enum Running {
    /// The host in this process: its counters and faults are reachable.
    InProcess(RunningApp),
    /// A runtime's process, reachable over HTTP only.
    External(external::Process),
}

impl From<RunningApp> for App {
    fn from(host: RunningApp) -> Self {
        Self {
            base: host.url(),
            running: Some(Running::InProcess(host)),
            client: reqwest::Client::new(),
        }
    }
}

impl From<external::Process> for App {
    fn from(process: external::Process) -> Self {
        Self {
            base: process.url(),
            running: Some(Running::External(process)),
            client: reqwest::Client::new(),
        }
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let host = match self.running.take() {
            // The process's own drop kills and reaps it.
            None | Some(Running::External(_)) => return,
            Some(Running::InProcess(host)) => host,
        };
        let multi_thread = tokio::runtime::RuntimeFlavor::MultiThread;
        match tokio::runtime::Handle::try_current() {
            // The tests' runtime: wait for the app's tasks to end, as `stop` does.
            Ok(rt) if rt.runtime_flavor() == multi_thread && !std::thread::panicking() => {
                tokio::task::block_in_place(|| rt.block_on(host.stop()));
            }
            // A failed test (whose runtime may be shutting down) or a single-threaded
            // runtime must not block here: stop without waiting.
            Ok(rt) => drop(rt.spawn(host.stop())),
            // Outside a runtime the app's tasks ended with it.
            Err(_) => drop(host),
        }
    }
}

/// The host behind an [`App`]: its address in every mode; its counters and fault
/// switches only in process (under `OPSFLOW_TEST_RUNTIME` they panic, naming the
/// guard the test forgot).
#[derive(Clone, Copy)]
pub struct Host<'a>(&'a App);

impl<'a> Host<'a> {
    /// `http://<addr>`.
    pub fn url(&self) -> String {
        self.0.base.clone()
    }

    /// Requests, instantiations and KV calls counted since the app started.
    pub fn stats(&self) -> Snapshot {
        self.in_process("KV counters").stats()
    }

    /// The fault switches, to inject KV or outbound failures while the app runs.
    pub fn faults(&self) -> &'a Faults {
        self.in_process("fault injection").faults()
    }

    /// The in-process host itself.
    pub fn in_process(&self, what: &str) -> &'a RunningApp {
        match &self.0.running {
            Some(Running::InProcess(host)) => host,
            Some(Running::External(_)) => panic!(
                "{what}: needs the in-process host, and this run tests a separate process \
                 (OPSFLOW_TEST_RUNTIME); begin the test with \
                 `if support::needs_in_process_host(\"{what}\") {{ return; }}`"
            ),
            None => panic!("the app is stopped"),
        }
    }
}

/// A response, read whole.
/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The header and records of a `200` CSV answer, read back by an independent
/// RFC 4180 parser (the `csv` crate), after checking its media type and CRLF
/// line ends.
pub fn read_csv(r: &Reply) -> (Vec<String>, Vec<csv::StringRecord>) {
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("text/csv; charset=utf-8"));
    assert!(r.body.ends_with("\r\n"), "CRLF line ends: {:?}", r.body);
    let mut reader = csv::Reader::from_reader(r.body.as_bytes());
    let header = reader
        .headers()
        .expect("a header row")
        .iter()
        .map(str::to_string)
        .collect();
    let rows = reader
        .records()
        .collect::<Result<_, _>>()
        .expect("CSV records");
    (header, rows)
}

impl App {
    /// Starts the app with `vars` on `state`, which may hold an earlier run's data.
    pub async fn start_in(state: &Path, vars: &[(&str, &str)]) -> Self {
        Self::up(options(state, vars)).await
    }

    /// Starts the app with `opts`: in process, or under `OPSFLOW_TEST_RUNTIME` as a
    /// separate process of that runtime ([`external`]).
    pub async fn up(opts: UpOptions) -> Self {
        if runtime().is_some() {
            return external::spawn(opts).await;
        }
        let host = opsflow_host::up(opts)
            .await
            .unwrap_or_else(|e| panic!("host starts: {e:#}"));
        Self::from(host)
    }

    /// The host serving the app: its URL, and in process its counters and faults.
    pub fn host(&self) -> Host<'_> {
        assert!(self.running.is_some(), "the app is stopped");
        Host(self)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a request; `token` is a bearer token, `body` JSON when present.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<serde_json::Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = self
            .client
            .request(method.parse().expect("method"), self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.expect("request sent");
        Reply {
            status: resp.status().as_u16(),
            headers: resp.headers().clone(),
            body: resp.text().await.expect("body"),
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.send("GET", path, Some(token), None, &[]).await
    }

    pub async fn post(&self, path: &str, token: &str, body: serde_json::Value) -> Reply {
        self.send("POST", path, Some(token), Some(body), &[]).await
    }

    /// `(action, actor)` of every entry of an audit log endpoint (first page).
    pub async fn audit(&self, path: &str, token: &str) -> Vec<(String, String)> {
        let r = self.get(path, token).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        r.json()["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|e| {
                let field = |k: &str| e[k].as_str().unwrap_or_default().to_string();
                (field("action"), field("actor"))
            })
            .collect()
    }

    /// Stops the app and waits for it to end, before a restart on the same state
    /// directory; any other test lets the handle stop the app on drop.
    pub async fn stop(mut self) {
        match self.running.take() {
            Some(Running::InProcess(host)) => host.stop().await,
            Some(Running::External(process)) => process.stop().await,
            None => {}
        }
    }

    /// Ends a separate process at once with SIGKILL (no shutdown: a crash) and reaps
    /// it; an in-process app has no process to kill.
    pub fn kill(mut self) {
        match self.running.take() {
            Some(Running::External(process)) => process.kill(),
            Some(Running::InProcess(_)) => {
                panic!("App::kill needs a separate process: start it with support::external::spawn")
            }
            None => {}
        }
    }
}

/// Seconds since the Unix epoch, now.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// RFC 3339 (UTC, whole seconds) for a Unix time.
pub fn rfc3339(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// The `YYYY-MM-DD` day of a Unix time.
pub fn day(secs: i64) -> String {
    rfc3339(secs)[..10].to_string()
}
