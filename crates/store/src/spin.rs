//! The Spin backend: `spin:key-value` for plain reads and writes, `wasi:keyvalue`
//! for counters, compare-and-swap and batches (docs/design.md §4). Both see the same store.

use crate::kv::{Kv, StoreError};
use spin_sdk::experimental::wasi::keyvalue::{atomics, batch, store as wasi};
use spin_sdk::key_value::Store;
use std::cell::{Cell, OnceCell};

/// The `default` store, opened lazily per interface.
pub struct SpinKv {
    label: String,
    store: OnceCell<Store>,
    bucket: OnceCell<wasi::Bucket>,
    batch_reads_fail: Cell<bool>,
}

fn unavailable(e: impl std::fmt::Debug) -> StoreError {
    StoreError::Unavailable(format!("{e:?}"))
}

impl SpinKv {
    /// The store with `label` (opened on first use).
    pub fn new(label: &str) -> Self {
        Self {
            label: label.to_string(),
            store: OnceCell::new(),
            bucket: OnceCell::new(),
            batch_reads_fail: Cell::new(false),
        }
    }

    /// The `default` store.
    pub fn default_store() -> Self {
        Self::new("default")
    }

    async fn store(&self) -> Result<&Store, StoreError> {
        if let Some(s) = self.store.get() {
            return Ok(s);
        }
        let s = Store::open(&self.label).await.map_err(unavailable)?;
        Ok(self.store.get_or_init(|| s))
    }

    fn bucket(&self) -> Result<&wasi::Bucket, StoreError> {
        if let Some(b) = self.bucket.get() {
            return Ok(b);
        }
        let b = wasi::open(&self.label).map_err(unavailable)?;
        Ok(self.bucket.get_or_init(|| b))
    }
}

impl Kv for SpinKv {
    type Cas = atomics::Cas;

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.store().await?.get(key).await.map_err(unavailable)
    }
    async fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.store()
            .await?
            .set(key, value)
            .await
            .map_err(unavailable)
    }
    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.store().await?.delete(key).await.map_err(unavailable)
    }
    async fn get_many(&self, keys: &[String]) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        if !self.batch_reads_fail.get() {
            match batch::get_many(self.bucket()?, keys) {
                Ok(found) => {
                    return Ok(found
                        .into_iter()
                        .filter_map(|(k, v)| v.map(|v| (k, v)))
                        .collect());
                }
                // Spin 4.1's Redis store sends a batch read as `KEYS <k1> <k2>…`,
                // which Redis refuses: read the keys one by one instead, for the
                // rest of this request. A store that is down fails those too.
                Err(_) => self.batch_reads_fail.set(true),
            }
        }
        let store = self.store().await?;
        let mut found = Vec::new();
        for key in keys {
            if let Some(value) = store.get(key).await.map_err(unavailable)? {
                found.push((key.clone(), value));
            }
        }
        Ok(found)
    }
    async fn set_many(&self, pairs: &[(String, Vec<u8>)]) -> Result<(), StoreError> {
        if pairs.is_empty() {
            return Ok(());
        }
        batch::set_many(self.bucket()?, pairs).map_err(unavailable)
    }
    async fn delete_many(&self, keys: &[String]) -> Result<(), StoreError> {
        if keys.is_empty() {
            return Ok(());
        }
        batch::delete_many(self.bucket()?, keys).map_err(unavailable)
    }
    async fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        atomics::increment(self.bucket()?, key, delta).map_err(unavailable)
    }
    async fn watch(&self, key: &str) -> Result<(Option<Vec<u8>>, atomics::Cas), StoreError> {
        let cas = atomics::Cas::new(self.bucket()?, key).map_err(unavailable)?;
        let current = cas.current().map_err(unavailable)?;
        Ok((current, cas))
    }
    async fn swap(&self, cas: atomics::Cas, value: &[u8]) -> Result<bool, StoreError> {
        match atomics::swap(cas, value) {
            Ok(()) => Ok(true),
            Err(atomics::CasError::CasFailed(_)) => Ok(false),
            Err(atomics::CasError::StoreError(e)) => Err(unavailable(e)),
        }
    }
}
