//! The app as a separate process of a Spin-compatible runtime, started exactly as
//! an operator starts `spin up`:
//!
//! ```text
//! <binary> up -f <manifest> --listen 127.0.0.1:<port> --state-dir <dir>
//!          --runtime-config-file <file> [-c <component>]... [-e K=V]... [--variable K=V]...
//! ```
//!
//! with the [`UpOptions::env_vars`] the tests build (`SPIN_VARIABLE_*`) as the
//! child's environment in place of any inherited `SPIN_VARIABLE_*`. What must stay
//! true, and why:
//!
//! - Only what `spin up` can be told is passed. An option the CLI cannot express
//!   (an in-memory or commit-per-write KV mode, faults set before start) is refused
//!   with a panic, never dropped: a test that relies on it must not pass here by
//!   running without it. The compile cache is not behaviour: opsflow-host keeps
//!   compiled code in `<state-dir>/wasmtime-cache`, so that entry is made a link to
//!   [`UpOptions::compile_cache`]'s, which saves minutes per test; other runtimes
//!   ignore the extra directory.
//! - With no runtime config in the options, one is written into the state directory:
//!   the default store as type `"spin"` (SQLite) at `<state-dir>/sqlite_key_value.db`,
//!   an absolute path, so both opsflow-host and `spin up` put it where the in-process
//!   host does and a restart on the same state directory finds the data.
//! - The child's stdout and stderr go to `<state-dir>/runtime-<port>.{stdout,stderr}.log`
//!   (appended across restarts), never to a pipe nobody drains, which would block a
//!   chatty child; a start that fails quotes the stderr log.
//! - Ready means `GET /.well-known/spin/health` answers 200. A child that exits
//!   first fails the start at once; one that never answers is killed after
//!   [`READY_TIMEOUT`]. A debug build compiling every component with a cold cache
//!   takes about three minutes on an idle 2-core machine and several times that on
//!   a busy one, so the first start of each test binary runs alone: the tests
//!   started beside it wait for it, then find its compiled code in the cache instead
//!   of compiling the same components at the same time.
//! - [`Process::stop`] sends SIGINT (Ctrl+C, the shutdown that both opsflow-host and
//!   `spin up` handle; opsflow-host does not handle SIGTERM) and waits up to
//!   [`STOP_TIMEOUT`], then SIGKILLs. [`Process::kill`] and drop SIGKILL at once and
//!   reap the child. Either is safe for a restart on the same state directory: the
//!   SQLite store (WAL, `synchronous = FULL`) has every acknowledged write on disk.

use super::App;
use opsflow_host::{Faults, KvMode, UpOptions};
use std::fs::{File, OpenOptions};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

/// How long a started runtime may take to answer its health check.
pub const READY_TIMEOUT: Duration = Duration::from_secs(900);
/// How long [`Process::stop`] waits after SIGINT before it SIGKILLs.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Starts `opts` as a process of the runtime under test (`OPSFLOW_TEST_RUNTIME`, or
/// else this workspace's `opsflow-host` binary, see [`host_binary`]) and returns it
/// as an [`App`] once it answers its health check; panics, quoting the child's
/// stderr, when it does not start.
pub async fn spawn(opts: UpOptions) -> App {
    let binary = match super::runtime() {
        Some(runtime) => runtime.to_path_buf(),
        None => host_binary(),
    };
    spawn_with(&binary, opts).await
}

/// [`spawn`] with an explicit runtime binary.
pub async fn spawn_with(binary: &Path, opts: UpOptions) -> App {
    match start(binary, &opts).await {
        Ok(process) => App::from(process),
        Err(e) => panic!("{e}"),
    }
}

/// Starts `binary up ...` for `opts` and waits until it answers its health check.
/// `Err` says why it did not (its exit status and stderr), for tests that expect a
/// runtime to refuse an app. Port 0 is replaced by a free port before the start (a
/// `scheduler_base_url` chosen earlier will not know it); the same `opts` again, after
/// [`Process::stop`] or [`Process::kill`], restarts on the same port and state.
pub async fn start(binary: &Path, opts: &UpOptions) -> Result<Process, StartFailure> {
    let mut opts = opts.clone();
    if opts.listen.port() == 0 {
        opts.listen.set_port(super::free_local_addr().port());
    }
    let state = opts.state_dir.clone().expect(
        "an external runtime needs UpOptions::state_dir (its logs and runtime config live there)",
    );
    std::fs::create_dir_all(&state).expect("state dir");
    link_compile_cache(&opts, &state);
    let log = |stream: &str| state.join(format!("runtime-{}.{stream}.log", opts.listen.port()));
    let (stdout_log, stderr_log) = (log("stdout"), log("stderr"));
    let mut cmd = command(binary, &opts);
    cmd.stdin(Stdio::null())
        .stdout(append(&stdout_log))
        .stderr(append(&stderr_log));
    let _first = FirstStart::wait_turn().await;
    let started = std::fs::metadata(&stderr_log).map_or(0, |m| m.len());
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("`{} up` did not start: {e}", binary.display()));
    let mut process = Process {
        child,
        binary: binary.to_path_buf(),
        addr: opts.listen,
        stderr_log,
        stderr_from: started,
    };
    process.ready().await?;
    Ok(process)
}

/// The first start of this test binary, while it runs: later starts wait for it.
struct FirstStart;

/// 0: no start yet; 1: the first is starting; 2: it has ended (ready or not).
static FIRST_START: AtomicU8 = AtomicU8::new(0);

impl FirstStart {
    /// `Some` for the first start (others may proceed when it is dropped), `None`
    /// for any later one, once the first has ended.
    async fn wait_turn() -> Option<FirstStart> {
        loop {
            match FIRST_START.compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) => return Some(FirstStart),
                Err(1) => tokio::time::sleep(Duration::from_millis(100)).await,
                Err(_) => return None,
            }
        }
    }
}

impl Drop for FirstStart {
    fn drop(&mut self) {
        FIRST_START.store(2, Ordering::SeqCst);
    }
}

/// The command [`start`] runs for `opts`: the CLI above and the child's environment.
/// Panics on an option the CLI cannot express.
pub fn command(binary: &Path, opts: &UpOptions) -> Command {
    refuse_in_process_only(opts);
    let state = opts.state_dir.as_deref().expect("UpOptions::state_dir");
    let runtime_config = match &opts.runtime_config {
        Some(file) => file.clone(),
        None => default_runtime_config(state),
    };
    let mut cmd = Command::new(binary);
    cmd.arg("up")
        .arg("-f")
        .arg(&opts.manifest)
        .arg("--listen")
        .arg(opts.listen.to_string())
        .arg("--state-dir")
        .arg(state)
        .arg("--runtime-config-file")
        .arg(runtime_config);
    for id in &opts.component_ids {
        cmd.args(["-c", id]);
    }
    for (k, v) in &opts.env {
        cmd.arg("-e").arg(format!("{k}={v}"));
    }
    for (k, v) in &opts.variables {
        cmd.arg("--variable").arg(format!("{k}={v}"));
    }
    // The in-process host takes faults from `opts` only; a stray setting in the
    // tests' environment must not reach the child either (a test may still set
    // `OPSFLOW_HOST_FAULTS` in `env_vars` for an opsflow-host child on purpose).
    cmd.env_remove("OPSFLOW_HOST_FAULTS");
    if let Some(vars) = &opts.env_vars {
        // The in-process host reads variables from this map alone: so does the child.
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("SPIN_VARIABLE_") {
                cmd.env_remove(k);
            }
        }
        cmd.envs(vars);
    }
    cmd
}

/// Panics on the in-process host's options that `up`'s flags cannot carry.
fn refuse_in_process_only(opts: &UpOptions) {
    let hint = "the CLI cannot express it: guard the test with support::needs_in_process_host";
    assert!(
        opts.kv == KvMode::Sqlite,
        "UpOptions::kv = {:?} for an external runtime: {hint}",
        opts.kv
    );
    assert!(
        format!("{:?}", opts.faults) == format!("{:?}", Faults::default()),
        "UpOptions::faults set before start for an external runtime: {hint}"
    );
}

/// Writes the runtime config for a test that gives none: Spin's default store.
fn default_runtime_config(state: &Path) -> PathBuf {
    let db = state.join("sqlite_key_value.db");
    let path = toml::Value::String(db.to_string_lossy().into_owned());
    let text = format!(
        "# Written by tests/support for the runtime under test: the default store, SQLite.\n\
         [key_value_store.default]\ntype = \"spin\"\npath = {path}\n"
    );
    let file = state.join("runtime-config.toml");
    std::fs::write(&file, text).expect("write the runtime config");
    file
}

/// Points `<state>/wasmtime-cache` (opsflow-host's compile cache) at the shared one.
fn link_compile_cache(opts: &UpOptions, state: &Path) {
    let Some(shared) = &opts.compile_cache else {
        return;
    };
    let link = state.join("wasmtime-cache");
    if link.symlink_metadata().is_ok() {
        return;
    }
    let target = shared.join("wasmtime-cache");
    if std::fs::create_dir_all(&target).is_err() {
        return;
    }
    // Without the link the runtime compiles every component itself: slower, same result.
    #[cfg(unix)]
    let _ = std::os::unix::fs::symlink(&target, &link);
}

fn append(path: &Path) -> File {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap_or_else(|e| panic!("open {}: {e}", path.display()))
}

/// This workspace's `opsflow-host` binary. After `cargo test` at the workspace root
/// `target/debug/opsflow-host` is already built; it is used when it is newer than
/// every source it is built from. Otherwise it is built once per test binary
/// (`cargo build -p opsflow-host`, the dev profile the tests are built in); that
/// build resolves features for one package, not the workspace, so it compiles a
/// second copy of some dependencies, which is why a fresh binary is preferred.
pub fn host_binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY
        .get_or_init(|| fresh_host_binary().unwrap_or_else(build_host_binary))
        .clone()
}

/// `target/debug/opsflow-host` when no file it is built from (the host crate, the
/// workspace manifest and lock) changed after it was linked.
fn fresh_host_binary() -> Option<PathBuf> {
    let root = super::workspace();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let binary = target.join("debug").join("opsflow-host");
    let built = std::fs::metadata(&binary).and_then(|m| m.modified()).ok()?;
    let sources = [
        root.join("crates/host"),
        root.join("Cargo.toml"),
        root.join("Cargo.lock"),
    ];
    let newest = sources
        .iter()
        .filter_map(|p| super::newest_modification(p))
        .max()?;
    (newest < built).then_some(binary)
}

fn build_host_binary() -> PathBuf {
    let out = Command::new(env!("CARGO"))
        .current_dir(super::workspace())
        .args(["build", "-p", "opsflow-host", "--bin", "opsflow-host"])
        .args(["--message-format", "json-render-diagnostics"])
        .stderr(Stdio::inherit())
        .output()
        .expect("cargo runs");
    assert!(out.status.success(), "cargo build -p opsflow-host failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact")
        .filter(|m| m["target"]["name"] == "opsflow-host")
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .expect("cargo reports the opsflow-host executable")
}

/// Why a runtime did not start.
#[derive(Debug)]
pub struct StartFailure {
    /// The runtime binary.
    pub binary: PathBuf,
    /// The child's exit status, or `None` when it was still running at the timeout.
    pub status: Option<ExitStatus>,
    /// What it wrote to stderr during this start.
    pub stderr: String,
    /// Where it should have answered.
    pub addr: SocketAddr,
}

impl std::fmt::Display for StartFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let binary = self.binary.display();
        match self.status {
            Some(status) => write!(f, "`{binary} up` exited ({status})")?,
            None => write!(
                f,
                "`{binary} up` did not answer http://{}/.well-known/spin/health within {}s",
                self.addr,
                READY_TIMEOUT.as_secs()
            )?,
        }
        write!(f, " before it served; its stderr:\n{}", self.stderr)
    }
}

/// A running runtime process. Dropping it SIGKILLs the child and reaps it.
pub struct Process {
    child: Child,
    binary: PathBuf,
    addr: SocketAddr,
    stderr_log: PathBuf,
    /// Where this start's output begins in the (appended) stderr log.
    stderr_from: u64,
}

impl Process {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the child has written to stderr since it started.
    pub fn stderr(&self) -> String {
        let all = std::fs::read(&self.stderr_log).unwrap_or_default();
        let from = usize::try_from(self.stderr_from)
            .unwrap_or(usize::MAX)
            .min(all.len());
        String::from_utf8_lossy(&all[from..]).into_owned()
    }

    /// Ends it gracefully: SIGINT, up to [`STOP_TIMEOUT`] to exit, then SIGKILL.
    pub async fn stop(mut self) {
        let interrupted = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if interrupted {
            let deadline = Instant::now() + STOP_TIMEOUT;
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        self.kill_now();
    }

    /// Ends it at once with SIGKILL (no shutdown, as a crashed pod) and reaps it.
    pub fn kill(mut self) {
        self.kill_now();
    }

    fn kill_now(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Polls the health check until it answers, the child exits or time runs out.
    async fn ready(&mut self) -> Result<(), StartFailure> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .expect("client");
        let health = format!("{}/.well-known/spin/health", self.url());
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(self.failure(Some(status)));
            }
            if let Ok(r) = client.get(&health).send().await
                && r.status().is_success()
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                self.kill_now();
                return Err(self.failure(None));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn failure(&self, status: Option<ExitStatus>) -> StartFailure {
        StartFailure {
            binary: self.binary.clone(),
            status,
            stderr: self.stderr(),
            addr: self.addr,
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.kill_now();
        }
    }
}
