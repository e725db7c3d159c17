//! Sorted id sets stored beside the records they index, in shards (see
//! [`crate::sharded`]) so a set can grow with the data.
//!
//! Ids sort by creation time, so the set is also the listing order. A set that was
//! one record at its key before sharding is migrated on first use.

use crate::keys::Key;
use crate::kv::{Kv, StoreError};
use crate::sharded::{Scan, Sharded};
use std::collections::{BTreeMap, BTreeSet};

/// Ids per shard: ~70 KiB of JSON per shard at 26-byte ids.
const SHARD_CAPACITY: usize = 2_000;

/// One index: the sorted id set under its key.
pub struct Index<'a, K: Kv> {
    shards: Sharded<'a, K, ()>,
}

fn legacy(value: serde_json::Value) -> Option<BTreeMap<String, ()>> {
    serde_json::from_value::<BTreeSet<String>>(value)
        .ok()
        .map(|ids| {
            let mut index = BTreeMap::new();
            index.extend(ids.into_iter().map(|id| (id, ())));
            index
        })
}

impl<'a, K: Kv> Index<'a, K> {
    /// The index at `key`.
    pub fn new(kv: &'a K, key: Key) -> Self {
        Self {
            shards: Sharded::new(kv, key.clone(), SHARD_CAPACITY).with_legacy(key, legacy),
        }
    }

    /// Every id, sorted.
    pub async fn ids(&self) -> Result<Vec<String>, StoreError> {
        Ok(self.shards.all().await?.into_keys().collect())
    }

    /// Every id, or `None` when the index was never written.
    pub async fn stored_ids(&self) -> Result<Option<Vec<String>>, StoreError> {
        Ok(self
            .shards
            .stored_all()
            .await?
            .map(|m| m.into_keys().collect()))
    }

    /// Writes `ids` (up to 2,000) as the whole index if it was never written;
    /// `false` when another writer got there first.
    pub async fn create(&self, ids: &BTreeSet<String>) -> Result<bool, StoreError> {
        let entries = ids.iter().map(|id| (id.clone(), ())).collect();
        self.shards.create(&entries).await
    }

    /// Ids after `after`, from at most `max_shards` shards (see [`Sharded::scan`]).
    pub async fn ids_after(
        &self,
        after: Option<&str>,
        max_shards: usize,
    ) -> Result<(Vec<String>, Option<String>), StoreError> {
        let Scan { entries, next } = self.shards.scan(after, max_shards).await?;
        Ok((entries.into_iter().map(|(id, _)| id).collect(), next))
    }

    /// Adds an id (one compare-and-swap on its shard, retried on a lost race).
    pub async fn add(&self, id: &str) -> Result<(), StoreError> {
        self.shards
            .update(id, |current| current.is_none().then_some(()))
            .await
    }

    /// Removes an id (missing is fine).
    pub async fn remove(&self, id: &str) -> Result<(), StoreError> {
        self.shards.remove(id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MemoryKv, Records};
    use futures::executor::block_on;

    #[test]
    fn a_set_stored_as_one_record_is_migrated_and_grows_in_shards() {
        let kv = MemoryKv::default();
        let key = crate::keys::content::item_index();
        block_on(async {
            let old: BTreeSet<String> = (0..5).map(|i| format!("a{i}")).collect();
            assert!(Records::new(&kv).create(&key, &old).await.expect("ok"));
            let index = Index::new(&kv, key.clone());
            assert_eq!(index.ids().await.expect("ok").len(), 5);
            assert!(
                Records::new(&kv)
                    .get::<serde_json::Value>(&key)
                    .await
                    .expect("ok")
                    .is_none(),
                "the legacy record is gone"
            );
            for i in 0..(SHARD_CAPACITY + 10) {
                index.add(&format!("b{i:06}")).await.expect("ok");
            }
            index.remove("a3").await.expect("ok");
            index.remove("a3").await.expect("ok");
            let ids = index.ids().await.expect("ok");
            assert_eq!(ids.len(), SHARD_CAPACITY + 14);
            assert!(ids.windows(2).all(|w| w[0] < w[1]));
            let mut seen = Vec::new();
            let mut after: Option<String> = None;
            loop {
                let (page, next) = index.ids_after(after.as_deref(), 1).await.expect("ok");
                seen.extend(page);
                match next {
                    Some(n) => after = Some(n),
                    None => break,
                }
            }
            assert_eq!(seen, ids, "paging by shard visits every id once");
        });
    }
}
