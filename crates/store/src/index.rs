//! Sorted id sets stored beside the records they index, changed with compare-and-swap.
//!
//! One value per index keeps listing to one read; ids sort by creation time, so the
//! set is also the listing order. An index of 26-byte ids stays under Spin's 1 MiB
//! value limit up to ~35,000 entries.

use crate::keys::Key;
use crate::kv::{Kv, StoreError};
use crate::records::{Records, UpdateError};
use std::collections::BTreeSet;

/// One index: the sorted id set stored under its key.
pub struct Index<'a, K: Kv> {
    records: Records<'a, K>,
    key: Key,
}

fn flatten(e: UpdateError<std::convert::Infallible>) -> StoreError {
    match e {
        UpdateError::Store(s) => s,
        UpdateError::NotFound => StoreError::Corrupt("index vanished".into()),
        UpdateError::Refused(never) => match never {},
    }
}

impl<'a, K: Kv> Index<'a, K> {
    /// The index at `key`.
    pub fn new(kv: &'a K, key: Key) -> Self {
        Self {
            records: Records::new(kv),
            key,
        }
    }

    /// Every id, sorted.
    pub async fn ids(&self) -> Result<Vec<String>, StoreError> {
        Ok(self
            .records
            .get::<BTreeSet<String>>(&self.key)
            .await?
            .map(|v| v.value.into_iter().collect())
            .unwrap_or_default())
    }

    /// Adds an id (one compare-and-swap: watch, then swap; retried on a lost race).
    pub async fn add(&self, id: &str) -> Result<(), StoreError> {
        self.records
            .upsert(&self.key, |mut v: crate::Versioned<BTreeSet<String>>| {
                v.value.insert(id.to_string());
                Ok(v.value)
            })
            .await
            .map(|_| ())
            .map_err(flatten)
    }

    /// Removes an id (missing is fine), like [`Index::add`].
    pub async fn remove(&self, id: &str) -> Result<(), StoreError> {
        self.records
            .upsert(&self.key, |mut v: crate::Versioned<BTreeSet<String>>| {
                v.value.remove(id);
                Ok(v.value)
            })
            .await
            .map(|_| ())
            .map_err(flatten)
    }
}
