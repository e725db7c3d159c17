//! A local runtime for Spin applications (manifest v2) on wasmtime.
//!
//! It runs the same `spin.toml` and the same `.wasm` files `spin up` runs, with
//! Spin's semantics for the features it implements: the HTTP trigger and its
//! routes, `spin:key-value`, `wasi:keyvalue`, `spin:variables`, outbound HTTP with
//! `allowed_outbound_hosts` and local service chaining, and the cron trigger. It
//! knows nothing of the application it runs.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod build;
pub mod cron;
pub mod faults;
pub mod host_requirements;
mod http_trigger;
pub mod kv;
pub mod manifest;
pub mod outbound;
pub mod routes;
pub mod runtime;
pub mod runtime_config;
pub mod stats;
#[doc(hidden)]
pub mod testing;
pub mod variables;

use anyhow::{Context, Result};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::watch;

pub use faults::Faults;
pub use runtime::CompileReport;
pub use stats::Snapshot;

/// Where key-value data lives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum KvMode {
    /// SQLite files in the state directory (Spin's default).
    #[default]
    Sqlite,
    /// In memory, gone when the host stops (tests).
    Memory,
    /// SQLite with one commit per write, as Spin commits (benchmarks compare).
    SqliteCommitPerWrite,
}

/// How to run an app.
#[derive(Debug, Clone)]
pub struct UpOptions {
    /// Path of the `spin.toml`; relative paths in it resolve against its directory.
    pub manifest: PathBuf,
    /// Address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// State directory (default `.spin` beside the manifest).
    pub state_dir: Option<PathBuf>,
    /// Runtime config file (`[key_value_store.<label>]`).
    pub runtime_config: Option<PathBuf>,
    /// Key-value backend choice.
    pub kv: KvMode,
    /// `--env K=V` for every component.
    pub env: BTreeMap<String, String>,
    /// `--variable NAME=VALUE`.
    pub variables: BTreeMap<String, String>,
    /// `--component-id` (empty: all components).
    pub component_ids: Vec<String>,
    /// Process environment lookups for `SPIN_VARIABLE_*` (tests pass their own).
    pub env_vars: Option<BTreeMap<String, String>>,
    /// Fault switches a test can flip while the app runs.
    pub faults: Arc<Faults>,
    /// Where compiled components are cached between runs, in `<dir>/wasmtime-cache`
    /// (default: the state directory). Only the first app a process starts sets it.
    pub compile_cache: Option<PathBuf>,
    /// Print the route table and warnings.
    pub verbose: bool,
}

impl UpOptions {
    /// Defaults as `spin up` has them.
    pub fn new(manifest: impl Into<PathBuf>) -> Self {
        Self {
            manifest: manifest.into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
            state_dir: None,
            runtime_config: None,
            kv: KvMode::Sqlite,
            env: BTreeMap::new(),
            variables: BTreeMap::new(),
            component_ids: Vec::new(),
            env_vars: None,
            faults: Arc::new(Faults::default()),
            compile_cache: None,
            verbose: false,
        }
    }
}

/// An app being served: its address, counters and fault switches, until
/// [`RunningApp::stop`].
pub struct RunningApp {
    addr: SocketAddr,
    runtime: Arc<runtime::Runtime>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl RunningApp {
    /// The address the listener bound (the real port when port 0 was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests, instantiations and KV calls counted since the app started.
    pub fn stats(&self) -> Snapshot {
        self.runtime.shared().stats.snapshot()
    }

    /// The key-value backend behind store `label`, for tools that seed or inspect
    /// the app's data directly (benchmarks); components reach it only through the
    /// Spin interfaces, and calls made here are not counted in [`RunningApp::stats`].
    pub fn kv_backend(&self, label: &str) -> Option<Arc<dyn kv::Backend>> {
        self.runtime.shared().stores.get(label).cloned()
    }

    /// The fault switches, to inject KV or outbound failures while the app runs.
    pub fn faults(&self) -> &Faults {
        &self.runtime.shared().faults
    }

    /// Where the components' compiled code came from at start-up (compiled, the
    /// compile cache, or this process's memory).
    pub fn compile_report(&self) -> CompileReport {
        self.runtime.compile_report
    }

    /// Stops serving and waits for the tasks to end.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for t in self.tasks {
            t.abort();
            let _ = t.await;
        }
    }

    /// Waits until the server task ends (it ends only on [`RunningApp::stop`] or an error).
    pub async fn wait(&mut self) {
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
    }
}

/// Loads, compiles and starts serving an app.
pub async fn up(opts: UpOptions) -> Result<RunningApp> {
    let app = manifest::load(&opts.manifest)?;
    check_component_ids(&app, &opts.component_ids)?;
    let selected = |c: &str| is_selected(&opts.component_ids, c);
    host_requirements::check(&app, &selected)?;
    let state_dir = create_state_dir(&opts, &app)?;

    let env_lookup = |k: &str| match &opts.env_vars {
        Some(map) => map.get(k).cloned(),
        None => std::env::var(k).ok(),
    };
    let variables = variables::Resolved::resolve(&app, &opts.variables, &env_lookup)?;
    let config = match &opts.runtime_config {
        Some(path) => runtime_config::load(path)?,
        None => runtime_config::RuntimeConfig::default(),
    };
    let stores: HashMap<String, Arc<dyn kv::Backend>> =
        config.open_stores(&state_dir, &opts.kv, &opts.faults)?;
    let router = build_router(&app, &selected)?;

    let runtime = Arc::new(runtime::Runtime::new(runtime::RuntimeOptions {
        app: &app,
        selected: &opts.component_ids,
        stores,
        variables,
        env: &opts.env,
        faults: opts.faults.clone(),
        cache_dir: Some(opts.compile_cache.as_deref().unwrap_or(&state_dir)),
        router,
    })?);

    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .with_context(|| format!("failed to listen on {}", opts.listen))?;
    let addr = listener.local_addr()?;
    let (shutdown, shutdown_rx) = watch::channel(false);
    let info = Arc::new(http_trigger::AppInfo {
        name: app.name.clone(),
        version: app.version.clone(),
    });

    if opts.verbose {
        print_compile_report(&runtime.compile_report);
        print_routes(addr, &runtime.router);
    }

    let mut tasks = Vec::new();
    let server_runtime = runtime.clone();
    tasks.push(tokio::spawn(async move {
        if let Err(e) = http_trigger::serve(listener, server_runtime, info, shutdown_rx).await {
            eprintln!("server failed: {e:?}");
        }
    }));
    spawn_cron_triggers(&app, &selected, &runtime, opts.verbose, &mut tasks)?;
    Ok(RunningApp {
        addr,
        runtime,
        shutdown,
        tasks,
    })
}

/// Refuses a `--component-id` the manifest does not declare.
fn check_component_ids(app: &manifest::App, component_ids: &[String]) -> Result<()> {
    for id in component_ids {
        if !app.components.contains_key(id) {
            anyhow::bail!("--component-id {id}: the application has no component '{id}'");
        }
    }
    Ok(())
}

/// Whether `--component-id` selects `component` (no ids selects every component).
fn is_selected(component_ids: &[String], component: &str) -> bool {
    component_ids.is_empty() || component_ids.iter().any(|s| s == component)
}

/// The state directory (default `.spin` beside the manifest), created if missing.
fn create_state_dir(opts: &UpOptions, app: &manifest::App) -> Result<PathBuf> {
    let state_dir = opts
        .state_dir
        .clone()
        .unwrap_or_else(|| app.base_dir.join(".spin"));
    std::fs::create_dir_all(&state_dir)
        .with_context(|| format!("failed to create state directory {}", state_dir.display()))?;
    Ok(state_dir)
}

/// The router over the selected components' public routes; warns about a route two
/// components claim and refuses routes under the reserved `/.well-known/spin` prefix.
fn build_router(app: &manifest::App, selected: &dyn Fn(&str) -> bool) -> Result<routes::Router> {
    let http_routes: Vec<(&str, &str)> = app
        .http_triggers
        .iter()
        .filter(|t| selected(&t.component))
        .filter_map(|t| t.route.as_deref().map(|r| (t.component.as_str(), r)))
        .collect();
    let (router, duplicates) = routes::Router::build(&app.http_base, http_routes)?;
    for d in &duplicates {
        eprintln!(
            "warning: route {} is used by components '{}' and '{}'; '{}' will handle it",
            d.route, d.replaced, d.effective, d.effective
        );
    }
    if router
        .routes()
        .iter()
        .any(|r| r.based.starts_with(routes::WELL_KNOWN_PREFIX))
    {
        anyhow::bail!("routes under {} are reserved", routes::WELL_KNOWN_PREFIX);
    }
    Ok(router)
}

/// Prints how the components' code was obtained: the line that tells a slow
/// start (compiled) from a warm one (the compile cache).
fn print_compile_report(r: &CompileReport) {
    println!(
        "Loaded {} component file(s) in {:.2} s: {} compiled, {} from the compile cache, {} already in memory",
        r.files,
        r.elapsed.as_secs_f64(),
        r.compiled,
        r.from_cache,
        r.from_memory
    );
}

/// Prints where the app serves and its route table, as `spin up` does.
fn print_routes(addr: SocketAddr, router: &routes::Router) {
    println!("Serving http://{addr}");
    println!("Available Routes:");
    for r in router.routes() {
        let shown = if r.is_wildcard() {
            format!("{}/...", r.based_prefix())
        } else {
            r.based.clone()
        };
        println!("  {}: http://{addr}{}", r.component, shown);
    }
}

/// Starts one task per cron trigger of a selected component.
fn spawn_cron_triggers(
    app: &manifest::App,
    selected: &dyn Fn(&str) -> bool,
    runtime: &Arc<runtime::Runtime>,
    verbose: bool,
    tasks: &mut Vec<tokio::task::JoinHandle<()>>,
) -> Result<()> {
    for trigger in app.cron_triggers.iter().filter(|t| selected(&t.component)) {
        let schedule = cron::parse_expression(&trigger.cron_expression)?;
        let runtime = runtime.clone();
        let component = trigger.component.clone();
        if verbose {
            println!("  {component}: cron \"{}\"", trigger.cron_expression);
        }
        tasks.push(tokio::spawn(async move {
            cron::run_schedule(schedule, component, runtime).await;
        }));
    }
    Ok(())
}
