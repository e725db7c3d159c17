//! The wasmtime side: one engine, components compiled once, a fresh instance per
//! request or cron tick from a pre-instantiated component.

mod bindings;
mod compile;
mod durability;
mod kv_host;
mod outbound_http;

use crate::faults::Faults;
use crate::kv::Backend;
use crate::manifest::App;
use crate::outbound::AllowList;
use crate::stats::Stats;
use crate::variables::Resolved;
use anyhow::{Context, Result, anyhow};
use bytes::Bytes;
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context as TaskContext, Poll};
use tokio::sync::oneshot;
use wasmtime::component::{Component, HasData, Linker, ResourceTable};
use wasmtime::{Cache, Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::WasiHttpCtx;
use wasmtime_wasi_http::p3::bindings::ServicePre;
use wasmtime_wasi_http::p3::bindings::http::types::ErrorCode;
use wasmtime_wasi_http::p3::{WasiHttpCtxView, WasiHttpView};

pub use compile::CompileReport;
pub use outbound_http::OutboundHooks;

/// The body type flowing between hyper, components and chained calls.
pub type HostBody = UnsyncBoxBody<Bytes, ErrorCode>;

/// State shared by every instance of the app.
pub struct Shared {
    /// Key-value backends by store label.
    pub stores: HashMap<String, Arc<dyn Backend>>,
    /// Resolved component variables.
    pub variables: Resolved,
    /// Requests, instantiations and KV calls, read through [`crate::Snapshot`].
    pub stats: Stats,
    /// Fault injection switches.
    pub faults: Arc<Faults>,
}

/// Per-instance state for the Spin interfaces.
pub struct SpinCtx {
    component: Arc<str>,
    allowed_stores: Arc<HashSet<String>>,
    shared: Arc<Shared>,
    table: ResourceTable,
    /// What this instance has read and written, for holding its outside effects.
    durability: Arc<durability::Durability>,
}

/// The `HasData` marker under which the Spin interfaces are linked.
pub struct SpinHost;

impl HasData for SpinHost {
    type Data<'a> = &'a mut SpinCtx;
}

/// Everything one store holds.
pub struct Ctx {
    table: ResourceTable,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    hooks: OutboundHooks,
    spin: SpinCtx,
}

impl WasiView for Ctx {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for Ctx {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            hooks: &mut self.hooks,
            table: &mut self.table,
            ctx: &mut self.http,
        }
    }
}

struct Loaded {
    id: Arc<str>,
    /// The engine the component was compiled for (every store is made on it).
    engine: Engine,
    http: Option<ServicePre<Ctx>>,
    cron: Option<bindings::cron::SpinCronPre<Ctx>>,
    allowed_stores: Arc<HashSet<String>>,
    outbound: Arc<AllowList>,
    env: Vec<(String, String)>,
}

/// A loaded application ready to instantiate its components.
pub struct Runtime {
    components: HashMap<String, Loaded>,
    shared: Arc<Shared>,
    /// Where the components' compiled code came from at start-up.
    pub(crate) compile_report: CompileReport,
    /// Routes for `http://self` requests (the app's own public routes).
    pub(crate) router: crate::routes::Router,
}

/// How the runtime is made.
pub struct RuntimeOptions<'a> {
    /// The checked manifest: components, their triggers and settings.
    pub app: &'a App,
    /// Components to load (all when empty).
    pub selected: &'a [String],
    /// Key-value backends by label.
    pub stores: HashMap<String, Arc<dyn Backend>>,
    /// Component variables with their values; also renders templated outbound hosts.
    pub variables: Resolved,
    /// Extra guest environment (`--env`).
    pub env: &'a BTreeMap<String, String>,
    /// Fault switches, shared with the [`crate::RunningApp`] that lets tests flip them.
    pub faults: Arc<Faults>,
    /// Where compiled code is cached between runs.
    pub cache_dir: Option<&'a Path>,
    /// Routes of the app, for `http://self`.
    pub router: crate::routes::Router,
}

/// The process's engine and its compile cache (see [`compile`]).
///
/// The first app a process starts fixes the engine, and so the cache directory, for
/// every later one: one engine per process shares compiled code between apps.
fn engine(cache_dir: Option<&Path>) -> Result<(Engine, Option<Cache>)> {
    static ENGINE: OnceLock<(Engine, Option<Cache>)> = OnceLock::new();
    if let Some(e) = ENGINE.get() {
        return Ok(e.clone());
    }
    let mut config = Config::new();
    config.wasm_component_model_async(true);
    // For `perf record` of a benchmark: guest functions appear under their names
    // in /tmp/perf-<pid>.map (BENCHMARKS.md, "Profiling the guest").
    if std::env::var_os("OPSFLOW_HOST_PERFMAP").is_some() {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    // For benchmarks on a loaded machine: count the guests' instructions
    // (Stats::fuel), which wall time cannot show reliably.
    if fuel_metering() {
        config.consume_fuel(true);
    }
    let cache = cache_dir.and_then(|dir| compile::open_cache(&dir.join("wasmtime-cache")));
    config.cache(cache.clone());
    let mut pooled = config.clone();
    pooled.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling()));
    // The pooling allocator reserves address space up front; where a machine
    // refuses that, fall back to on-demand allocation rather than not starting.
    let engine = match Engine::new(&pooled) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("warning: pooling allocator unavailable ({e}); using on-demand allocation");
            Engine::new(&config).map_err(|e| anyhow!("{e}"))?
        }
    };
    Ok(ENGINE.get_or_init(|| (engine, cache)).clone())
}

/// Whether guests run metered (`OPSFLOW_HOST_FUEL`): never out of fuel, counted.
fn fuel_metering() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("OPSFLOW_HOST_FUEL").is_some())
}

/// The instance pool.
///
/// An instance's memory and tables go back to the pool when its request ends and
/// must be reset. By default wasmtime does that with `madvise`, which costs a TLB
/// shootdown across cores when the store drops and page faults when the next
/// instance touches the memory again (together ~18% of the CPU of `host-bench`'s
/// trivial handler). Where Linux has `PAGEMAP_SCAN` (6.7+), the pool instead finds
/// the pages the instance dirtied and rewrites just those, keeping up to Spin's
/// keep-resident sizes (2 MiB of memory, 512 KiB of tables) resident; dirtier
/// instances have the rest `madvise`d. Without the scan the reset stays `madvise`:
/// Spin's `memset` of the whole 2 MiB window on every request was measured slower
/// here with 8 connections than the `madvise` it replaces.
fn pooling() -> PoolingAllocationConfig {
    const KEEP_RESIDENT_MEMORY: usize = 2 << 20;
    const KEEP_RESIDENT_TABLE: usize = 512 << 10;
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(1000)
        .total_core_instances(10_000)
        .total_memories(1000)
        .total_tables(10_000)
        .total_stacks(1000)
        .max_core_instances_per_component(64)
        .max_memories_per_component(8)
        .max_tables_per_component(64)
        .max_memory_size(256 << 20)
        .max_component_instance_size(1 << 20)
        .max_core_instance_size(1 << 20);
    if PoolingAllocationConfig::is_pagemap_scan_available() {
        pool.pagemap_scan(wasmtime::Enabled::Yes)
            .linear_memory_keep_resident(KEEP_RESIDENT_MEMORY)
            .table_keep_resident(KEEP_RESIDENT_TABLE);
    }
    pool
}

fn linker(engine: &Engine) -> Result<Linker<Ctx>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(|e| anyhow!("{e:?}"))?;
    wasmtime_wasi::p3::add_to_linker(&mut linker).map_err(|e| anyhow!("{e:?}"))?;
    wasmtime_wasi_http::p3::add_to_linker(&mut linker).map_err(|e| anyhow!("{e:?}"))?;
    bindings::SpinImports::add_to_linker::<Ctx, SpinHost>(&mut linker, |c: &mut Ctx| &mut c.spin)
        .map_err(|e| anyhow!("{e:?}"))?;
    Ok(linker)
}

/// Which components some trigger runs: those must export the trigger's interface.
struct Triggered<'a> {
    /// Components named by an HTTP trigger.
    http: HashSet<&'a str>,
    /// Components named by a cron trigger.
    cron: HashSet<&'a str>,
}

impl<'a> Triggered<'a> {
    fn of(app: &'a App) -> Self {
        Self {
            http: app
                .http_triggers
                .iter()
                .map(|t| t.component.as_str())
                .collect(),
            cron: app
                .cron_triggers
                .iter()
                .map(|t| t.component.as_str())
                .collect(),
        }
    }
}

/// A selected component whose settings were checked, waiting for its code.
struct Checked<'a> {
    id: &'a str,
    component: &'a crate::manifest::Component,
    outbound: AllowList,
}

/// Checks one component against the runtime's stores and variables (before
/// anything is compiled, so a configuration error is reported at once).
fn check_component<'a>(
    opts: &RuntimeOptions<'_>,
    id: &'a str,
    c: &'a crate::manifest::Component,
) -> Result<Checked<'a>> {
    for label in &c.key_value_stores {
        if !opts.stores.contains_key(label) {
            anyhow::bail!(
                "unknown key_value_stores label \"{label}\" in component \"{id}\": define it in the runtime config"
            );
        }
    }
    let outbound = AllowList::resolve(&c.allowed_outbound_hosts, |t| {
        opts.variables.render_app_template(t)
    })
    .with_context(|| format!("component \"{id}\""))?;
    Ok(Checked {
        id,
        component: c,
        outbound,
    })
}

/// Pre-instantiates a checked component for each trigger that runs it.
fn pre_instantiate(
    linker: &Linker<Ctx>,
    triggered: &Triggered<'_>,
    extra_env: &BTreeMap<String, String>,
    checked: Checked<'_>,
    component: &Component,
) -> Result<Loaded> {
    let Checked {
        id,
        component: c,
        outbound,
    } = checked;
    let pre = linker
        .instantiate_pre(component)
        .map_err(|e| anyhow!("{e:?}"))
        .with_context(|| {
            format!("component \"{id}\" imports something this host does not provide")
        })?;
    let http = if triggered.http.contains(id) {
        Some(ServicePre::new(pre.clone()).map_err(|e| anyhow!("{e:?}")).with_context(|| {
            format!("component \"{id}\" has an HTTP trigger but does not export wasi:http/handler@0.3.0")
        })?)
    } else {
        None
    };
    let cron = if triggered.cron.contains(id) {
        Some(bindings::cron::SpinCronPre::new(pre.clone()).map_err(|e| anyhow!("{e:?}")).with_context(|| {
            format!("component \"{id}\" has a cron trigger but does not export handle-cron-event")
        })?)
    } else {
        None
    };
    let mut env: Vec<(String, String)> = c
        .environment
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    env.extend(extra_env.iter().map(|(k, v)| (k.clone(), v.clone())));
    Ok(Loaded {
        id: Arc::from(id),
        engine: component.engine().clone(),
        http,
        cron,
        allowed_stores: Arc::new(c.key_value_stores.iter().cloned().collect()),
        outbound: Arc::new(outbound),
        env,
    })
}

impl Runtime {
    /// Checks the selected components, compiles them (or loads them from the
    /// compile cache) and pre-instantiates them.
    pub fn new(opts: RuntimeOptions<'_>) -> Result<Self> {
        let (engine, cache) = engine(opts.cache_dir)?;
        let linker = linker(&engine)?;
        let triggered = Triggered::of(opts.app);
        let checked = opts
            .app
            .components
            .iter()
            .filter(|(id, _)| opts.selected.is_empty() || opts.selected.contains(id))
            .map(|(id, c)| check_component(&opts, id, c))
            .collect::<Result<Vec<_>>>()?;
        let sources: Vec<&Path> = checked
            .iter()
            .map(|c| c.component.source.as_path())
            .collect();
        let (compiled, compile_report) = compile::compile_all(&engine, cache.as_ref(), &sources)?;
        let mut components = HashMap::new();
        for checked in checked {
            let code = compiled.get(&checked.component.source).ok_or_else(|| {
                anyhow!("{} was not compiled", checked.component.source.display())
            })?;
            let id = checked.id.to_string();
            let loaded = pre_instantiate(&linker, &triggered, opts.env, checked, code)?;
            components.insert(id, loaded);
        }
        Ok(Self {
            components,
            compile_report,
            shared: Arc::new(Shared {
                stores: opts.stores,
                variables: opts.variables,
                stats: Stats::default(),
                faults: opts.faults,
            }),
            router: opts.router,
        })
    }

    /// Counters and fault switches.
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Whether a component was loaded (selective deployment drops the others).
    pub fn has_component(&self, id: &str) -> bool {
        self.components.contains_key(id)
    }

    fn store(self: &Arc<Self>, loaded: &Loaded) -> Store<Ctx> {
        let mut wasi = WasiCtxBuilder::new();
        wasi.inherit_stdout().inherit_stderr().envs(&loaded.env);
        let durability = Arc::new(durability::Durability::default());
        let ctx = Ctx {
            table: ResourceTable::new(),
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            hooks: OutboundHooks::new(
                loaded.id.clone(),
                loaded.outbound.clone(),
                self.clone(),
                durability.clone(),
            ),
            spin: SpinCtx {
                component: loaded.id.clone(),
                allowed_stores: loaded.allowed_stores.clone(),
                shared: self.shared.clone(),
                table: ResourceTable::new(),
                durability,
            },
        };
        self.shared.stats.instantiation();
        let mut store = Store::new(&loaded.engine, ctx);
        if fuel_metering() {
            // Metering on: a store starts with (practically) unlimited fuel.
            let _ = store.set_fuel(u64::MAX);
        }
        store
    }

    /// Runs one HTTP request through a component. The request must already carry
    /// Spin's headers and an absolute URI.
    pub async fn handle_http(
        self: &Arc<Self>,
        component: &str,
        req: http::Request<HostBody>,
    ) -> http::Response<HostBody> {
        self.shared.stats.request();
        let Some(loaded) = self.components.get(component) else {
            return plain(404, "Not Found");
        };
        let Some(pre) = loaded.http.clone() else {
            return plain(404, "Not Found");
        };
        let mut store = self.store(loaded);
        let durability = store.data().spin.durability.clone();
        let id = loaded.id.clone();
        let shared = self.shared.clone();
        let (resp_tx, resp_rx) = oneshot::channel::<Result<http::Response<HostBody>, String>>();
        tokio::spawn(async move {
            let run = async {
                let started = std::time::Instant::now();
                let service = pre.instantiate_async(&mut store).await?;
                shared.stats.instantiate_time(
                    u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX),
                );
                store
                    .run_concurrent(async move |accessor| -> wasmtime::Result<()> {
                        let (wreq, req_io) = wasmtime_wasi_http::p3::Request::from_http(req);
                        tokio::spawn(async move {
                            let _ = req_io.await;
                        });
                        let resp = match service.handle(accessor, wreq).await? {
                            Ok(resp) => resp,
                            Err(code) => {
                                let _ = resp_tx.send(Err(format!("{code:?}")));
                                return Ok(());
                            }
                        };
                        // Nothing leaves before the writes it reports are on disk.
                        if let Err(e) = durability.before_going_out().await {
                            let _ = resp_tx.send(Err(format!("store not durable: {e}")));
                            return Ok(());
                        }
                        let resp = accessor.with(|a| resp.into_http(a, async { Ok(()) }))?;
                        // The guest's body is produced by this store's event loop: keep it
                        // running until hyper has read (or dropped) the body.
                        let (done_tx, done_rx) = oneshot::channel();
                        let resp = resp.map(|body| {
                            NotifyOnDrop {
                                inner: body,
                                done: Some(done_tx),
                            }
                            .boxed_unsync()
                        });
                        if resp_tx.send(Ok(resp)).is_ok() {
                            let _ = done_rx.await;
                        }
                        Ok(())
                    })
                    .await??;
                wasmtime::Result::<()>::Ok(())
            };
            let result = run.await;
            count_fuel(&shared, &store);
            if let Err(e) = result {
                eprintln!("component \"{id}\" failed: {e:?}");
            }
        });
        match resp_rx.await {
            Ok(Ok(resp)) => resp,
            Ok(Err(code)) => {
                eprintln!("component \"{component}\" returned an error: {code}");
                plain(500, "Internal Server Error")
            }
            Err(_) => plain(500, "Internal Server Error"),
        }
    }

    /// Runs a component's `handle-cron-event` once.
    pub async fn handle_cron(self: &Arc<Self>, component: &str, timestamp: u64) -> Result<()> {
        let loaded = self
            .components
            .get(component)
            .ok_or_else(|| anyhow!("component \"{component}\" is not loaded"))?;
        let pre = loaded
            .cron
            .clone()
            .ok_or_else(|| anyhow!("component \"{component}\" has no cron trigger"))?;
        let mut store = self.store(loaded);
        let durability = store.data().spin.durability.clone();
        let instance = pre
            .instantiate_async(&mut store)
            .await
            .map_err(|e| anyhow!("{e:?}"))?;
        let outcome = store
            .run_concurrent(async move |accessor| {
                instance
                    .call_handle_cron_event(
                        accessor,
                        bindings::cron::spin::cron::cron_types::Metadata { timestamp },
                    )
                    .await
            })
            .await;
        count_fuel(&self.shared, &store);
        // A tick is done when what it wrote is durable.
        durability
            .before_going_out()
            .await
            .map_err(|e| anyhow!("component \"{component}\": store not durable: {e}"))?;
        let outcome = outcome
            .map_err(|e| anyhow!("{e:?}"))?
            .map_err(|e| anyhow!("{e:?}"))?;
        outcome.map_err(|bindings::cron::spin::cron::cron_types::Error::Other(m)| {
            anyhow!("component \"{component}\" cron handler failed: {m}")
        })
    }
}

/// Adds the fuel an instance's store consumed to the stats (metering off:
/// `get_fuel` refuses and nothing is counted).
fn count_fuel(shared: &Shared, store: &Store<Ctx>) {
    if let Ok(left) = store.get_fuel() {
        shared.stats.fuel_used(u64::MAX - left);
    }
}

/// A short plain-text response made by the host itself.
pub fn plain(status: u16, text: &'static str) -> http::Response<HostBody> {
    let mut resp = http::Response::new(full(Bytes::from_static(text.as_bytes())));
    *resp.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain"),
    );
    resp
}

/// A body holding all of `bytes` at once (nothing streamed).
pub fn full(bytes: Bytes) -> HostBody {
    http_body_util::Full::new(bytes)
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// Signals when hyper is done with a response body (read to the end or dropped).
struct NotifyOnDrop {
    inner: HostBody,
    done: Option<oneshot::Sender<()>>,
}

impl Drop for NotifyOnDrop {
    fn drop(&mut self) {
        if let Some(tx) = self.done.take() {
            let _ = tx.send(());
        }
    }
}

impl http_body::Body for NotifyOnDrop {
    type Data = Bytes;
    type Error = ErrorCode;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, ErrorCode>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(None) = polled
            && let Some(tx) = self.done.take()
        {
            let _ = tx.send(());
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
