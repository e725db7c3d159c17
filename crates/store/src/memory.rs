//! An in-memory [`Kv`] with Spin's semantics, for native tests.

use crate::kv::{Kv, StoreError, decode_counter};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// A map behind a lock; `calls` counts round trips for tests that assert on cost.
#[derive(Default)]
pub struct MemoryKv {
    data: Mutex<BTreeMap<String, Vec<u8>>>,
    calls: Mutex<u64>,
    swaps_report_failure: AtomicBool,
    writes_to_fail_after_writing: AtomicU64,
}

/// A compare-and-swap handle: the key and the value seen when it was watched.
pub struct MemoryCas {
    key: String,
    seen: Option<Vec<u8>>,
}

impl MemoryKv {
    fn with<T>(
        &self,
        f: impl FnOnce(&mut BTreeMap<String, Vec<u8>>) -> T,
    ) -> Result<T, StoreError> {
        if let Ok(mut c) = self.calls.lock() {
            *c += 1;
        }
        let mut guard = self
            .data
            .lock()
            .map_err(|_| StoreError::Unavailable("lock poisoned".into()))?;
        Ok(f(&mut guard))
    }

    /// Round trips so far.
    pub fn calls(&self) -> u64 {
        self.calls.lock().map(|c| *c).unwrap_or_default()
    }

    /// From now on every swap that writes says it did not, as Spin 4.1's Redis
    /// store does.
    pub fn report_swaps_failed(&self, on: bool) {
        self.swaps_report_failure.store(on, Ordering::SeqCst);
    }

    /// The next `n` write calls write, then report a store error (a hosted store
    /// timing out after it applied the write).
    pub fn fail_writes_after_writing(&self, n: u64) {
        self.writes_to_fail_after_writing.store(n, Ordering::SeqCst);
    }

    /// Runs a write call, then fails it if told to.
    fn write<T>(
        &self,
        f: impl FnOnce(&mut BTreeMap<String, Vec<u8>>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let out = self.with(f)??;
        let fail = self
            .writes_to_fail_after_writing
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if fail {
            return Err(StoreError::Unavailable(
                "injected: wrote, then failed".into(),
            ));
        }
        Ok(out)
    }

    /// Every key (tests only).
    pub fn keys(&self) -> Vec<String> {
        self.data
            .lock()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }
}

impl Kv for MemoryKv {
    type Cas = MemoryCas;

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.with(|m| m.get(key).cloned())
    }
    async fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.write(|m| {
            m.insert(key.to_string(), value.to_vec());
            Ok(())
        })
    }
    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.write(|m| {
            m.remove(key);
            Ok(())
        })
    }
    async fn get_many(&self, keys: &[String]) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.with(|m| {
            keys.iter()
                .filter_map(|k| m.get(k).map(|v| (k.clone(), v.clone())))
                .collect()
        })
    }
    async fn set_many(&self, pairs: &[(String, Vec<u8>)]) -> Result<(), StoreError> {
        self.write(|m| {
            for (k, v) in pairs {
                m.insert(k.clone(), v.clone());
            }
            Ok(())
        })
    }
    async fn delete_many(&self, keys: &[String]) -> Result<(), StoreError> {
        self.write(|m| {
            for k in keys {
                m.remove(k);
            }
            Ok(())
        })
    }
    async fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        self.write(|m| {
            let current = match m.get(key) {
                Some(v) => decode_counter(v)?,
                None => 0,
            };
            let next = current
                .checked_add(delta)
                .ok_or_else(|| StoreError::Unavailable("counter overflow".into()))?;
            m.insert(key.to_string(), next.to_le_bytes().to_vec());
            Ok(next)
        })
    }
    async fn watch(&self, key: &str) -> Result<(Option<Vec<u8>>, MemoryCas), StoreError> {
        let seen = self.with(|m| m.get(key).cloned())?;
        Ok((
            seen.clone(),
            MemoryCas {
                key: key.to_string(),
                seen,
            },
        ))
    }
    async fn swap(&self, cas: MemoryCas, value: &[u8]) -> Result<bool, StoreError> {
        let swapped = self.write(|m| {
            if m.get(&cas.key) != cas.seen.as_ref() {
                return Ok(false);
            }
            m.insert(cas.key, value.to_vec());
            Ok(true)
        })?;
        Ok(swapped && !self.swaps_report_failure.load(Ordering::SeqCst))
    }
}
