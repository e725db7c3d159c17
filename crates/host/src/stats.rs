//! Counters the benchmarks and tests read: requests, instantiations, KV calls.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counters shared by every instance of an app; [`Stats::snapshot`] copies them.
#[derive(Default)]
pub struct Stats {
    requests: AtomicU64,
    instantiations: AtomicU64,
    instantiate_nanos: AtomicU64,
    kv_nanos: AtomicU64,
    fuel: AtomicU64,
    /// Calls by component, then operation: a call to a component already seen
    /// allocates nothing.
    kv_calls: Mutex<BTreeMap<String, BTreeMap<&'static str, u64>>>,
}

/// A point-in-time copy of [`Stats`].
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Snapshot {
    /// HTTP requests dispatched to components (well-known routes excluded).
    pub requests: u64,
    /// Component instances created (HTTP, cron, chained).
    pub instantiations: u64,
    /// Total time spent instantiating HTTP handlers, in nanoseconds.
    pub instantiate_nanos: u64,
    /// Total time KV calls took, as the guest waits for them (every component), in
    /// nanoseconds: with the request wall time it splits a request's time between
    /// the store and the guest's own work.
    pub kv_nanos: u64,
    /// Wasm instructions the guests executed (wasmtime fuel), when the host runs
    /// with `OPSFLOW_HOST_FUEL=1`; 0 otherwise. Unlike wall time it does not
    /// move with the machine's load, so benchmarks compare guest work with it.
    pub fuel: u64,
    /// KV calls by `component/operation`.
    pub kv_calls: BTreeMap<String, u64>,
}

impl Snapshot {
    /// Total KV calls of one component.
    pub fn kv_total(&self, component: &str) -> u64 {
        let prefix = format!("{component}/");
        self.kv_calls
            .iter()
            .filter(|(k, _)| k.starts_with(&prefix))
            .map(|(_, v)| v)
            .sum()
    }
}

impl Stats {
    /// Counts a dispatched request.
    pub fn request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an instantiation.
    pub fn instantiation(&self) {
        self.instantiations.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds the time one instantiation took.
    pub fn instantiate_time(&self, nanos: u64) {
        self.instantiate_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// Adds the time one KV call took.
    pub fn kv_time(&self, nanos: u64) {
        self.kv_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// Adds the fuel one instance consumed.
    pub fn fuel_used(&self, fuel: u64) {
        self.fuel.fetch_add(fuel, Ordering::Relaxed);
    }

    /// Counts a KV call.
    pub fn kv_call(&self, component: &str, op: &'static str) {
        if let Ok(mut map) = self.kv_calls.lock() {
            if !map.contains_key(component) {
                map.insert(component.to_string(), BTreeMap::new());
            }
            if let Some(ops) = map.get_mut(component) {
                *ops.entry(op).or_default() += 1;
            }
        }
    }

    /// Copies the counters.
    pub fn snapshot(&self) -> Snapshot {
        let kv_calls = self
            .kv_calls
            .lock()
            .map(|m| {
                m.iter()
                    .flat_map(|(c, ops)| ops.iter().map(move |(op, n)| (format!("{c}/{op}"), *n)))
                    .collect()
            })
            .unwrap_or_default();
        Snapshot {
            requests: self.requests.load(Ordering::Relaxed),
            instantiations: self.instantiations.load(Ordering::Relaxed),
            instantiate_nanos: self.instantiate_nanos.load(Ordering::Relaxed),
            kv_nanos: self.kv_nanos.load(Ordering::Relaxed),
            fuel: self.fuel.load(Ordering::Relaxed),
            kv_calls,
        }
    }
}
