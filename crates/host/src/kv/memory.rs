//! An in-memory backend for tests: same semantics, nothing on disk.

use super::{Backend, KvError, KvResult, add_counter, decode_counter};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Every store in one map, guarded by one lock (operations are atomic).
#[derive(Default)]
pub struct MemoryBackend {
    data: Mutex<BTreeMap<(String, String), Vec<u8>>>,
}

impl MemoryBackend {
    fn with<T>(
        &self,
        f: impl FnOnce(&mut BTreeMap<(String, String), Vec<u8>>) -> KvResult<T>,
    ) -> KvResult<T> {
        let mut guard = self
            .data
            .lock()
            .map_err(|_| KvError::Other("store lock poisoned".to_string()))?;
        f(&mut guard)
    }
}

fn k(store: &str, key: &str) -> (String, String) {
    (store.to_string(), key.to_string())
}

impl Backend for MemoryBackend {
    fn reads_inline(&self) -> bool {
        true
    }

    fn get(&self, store: &str, key: &str) -> KvResult<Option<Vec<u8>>> {
        self.with(|m| Ok(m.get(&k(store, key)).cloned()))
    }
    fn set(&self, store: &str, key: &str, value: &[u8]) -> KvResult<()> {
        self.with(|m| {
            m.insert(k(store, key), value.to_vec());
            Ok(())
        })
    }
    fn delete(&self, store: &str, key: &str) -> KvResult<()> {
        self.with(|m| {
            m.remove(&k(store, key));
            Ok(())
        })
    }
    fn exists(&self, store: &str, key: &str) -> KvResult<bool> {
        self.with(|m| Ok(m.contains_key(&k(store, key))))
    }
    fn keys(&self, store: &str) -> KvResult<Vec<String>> {
        self.with(|m| {
            Ok(m.keys()
                .filter(|(s, _)| s == store)
                .map(|(_, key)| key.clone())
                .collect())
        })
    }
    fn get_many(&self, store: &str, keys: &[String]) -> KvResult<Vec<(String, Vec<u8>)>> {
        self.with(|m| {
            Ok(keys
                .iter()
                .filter_map(|key| m.get(&k(store, key)).map(|v| (key.clone(), v.clone())))
                .collect())
        })
    }
    fn set_many(&self, store: &str, pairs: &[(String, Vec<u8>)]) -> KvResult<()> {
        self.with(|m| {
            for (key, value) in pairs {
                m.insert(k(store, key), value.clone());
            }
            Ok(())
        })
    }
    fn delete_many(&self, store: &str, keys: &[String]) -> KvResult<()> {
        self.with(|m| {
            for key in keys {
                m.remove(&k(store, key));
            }
            Ok(())
        })
    }
    fn increment(&self, store: &str, key: &str, delta: i64) -> KvResult<i64> {
        self.with(|m| {
            let next = add_counter(
                decode_counter(m.get(&k(store, key)).map(Vec::as_slice))?,
                delta,
            )?;
            m.insert(k(store, key), next.to_le_bytes().to_vec());
            Ok(next)
        })
    }
    fn compare_and_swap(
        &self,
        store: &str,
        key: &str,
        expected: Option<&[u8]>,
        value: &[u8],
    ) -> KvResult<bool> {
        self.with(|m| {
            if m.get(&k(store, key)).map(Vec::as_slice) != expected {
                return Ok(false);
            }
            m.insert(k(store, key), value.to_vec());
            Ok(true)
        })
    }
}
