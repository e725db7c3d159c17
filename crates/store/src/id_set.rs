//! Sorted id sets stored beside the records they index, in the sharded layout
//! of [`crate::sharded`], so a set grows with the data: every index of the app
//! (campaigns' content, rules, resources, items; the trigger outbox and the run
//! history, whose writers change many ids at once and whose readers page newest
//! first).
//!
//! Ids sort by creation time, so the set is also the listing order. A set that
//! was one record at its key before sharding is migrated on first use.
//!
//! **One id at a time.** [`IdSet::add`] and [`IdSet::remove`] change one id with
//! one compare-and-swap on its shard (retried on a lost race).
//!
//! **Many ids, one write per shard.** [`IdSet::add_many`] and
//! [`IdSet::remove_many`] group the ids by the shard that takes them and change
//! each shard with one compare-and-swap, so an evaluation batch that fires 30
//! triggers indexes them in one CAS (new ids are the newest: they all land in the
//! last shard). Only an id that would overfill the last shard goes through
//! [`Sharded::update`], which opens the next shard (once per `capacity` ids).
//!
//! **Reading the directory with something else.** [`IdSet::head_keys`] are the
//! keys a caller adds to a `get_many` it makes anyway, and
//! [`IdSet::directory_in`] reads the directory from its answer, so indexing a
//! batch costs no read of its own.
//!
//! **Newest first.** [`IdSet::newest_first`] reads the directory (with the first
//! shard, so a one-shard set is one call) and the shards from the cursor down:
//! a page costs the same at a thousand ids as at ten million.
//!
//! **Pruned shards stay.** A shard emptied by pruning keeps its directory entry
//! (a shard's number and first id, ~30 bytes per `capacity` ids ever added): the
//! shard layout's first shard is read by number, so shards are never renumbered.

use crate::keys::Key;
use crate::kv::{Kv, StoreError};
use crate::records::{Records, UpdateError, Versioned, decode_record};
use crate::sharded::{Directory, Scan, ShardRef, Sharded};
use std::collections::{BTreeMap, BTreeSet};

/// How many shards [`IdSet::newest_first`] reads per `get_many` after the head.
const PAGE_SHARDS: usize = 2;

/// Ids per shard unless a set says otherwise: ~70 KiB of JSON per shard at
/// 26-byte ids.
pub const SHARD_CAPACITY: usize = 2_000;

/// A set of ids (sorted by creation time) stored in shards under one base key.
pub struct IdSet<'a, K: Kv> {
    kv: &'a K,
    base: Key,
    capacity: usize,
    shards: Sharded<'a, K, ()>,
}

/// An id set stored as one record (`BTreeSet<String>`) by earlier builds.
fn legacy(value: serde_json::Value) -> Option<BTreeMap<String, ()>> {
    serde_json::from_value::<BTreeSet<String>>(value)
        .ok()
        .map(|ids| ids.into_iter().map(|id| (id, ())).collect())
}

/// The position of the shard that takes `id` (as `Sharded` places it).
fn position(directory: &Directory, id: &str) -> usize {
    directory
        .shards
        .partition_point(|s| s.first.as_str() <= id)
        .saturating_sub(1)
}

fn one_shard() -> Directory {
    Directory {
        shards: vec![ShardRef {
            n: 0,
            first: String::new(),
        }],
    }
}

type Shard = BTreeMap<String, ()>;

impl<'a, K: Kv> IdSet<'a, K> {
    /// The set under `base`, [`SHARD_CAPACITY`] ids a shard (a set stored as
    /// one record at `base` by an earlier build is migrated on first use).
    pub fn new(kv: &'a K, base: Key) -> Self {
        Self::with_capacity(kv, base, SHARD_CAPACITY)
    }

    /// Like [`IdSet::new`], opening a shard every `capacity` ids.
    pub fn with_capacity(kv: &'a K, base: Key, capacity: usize) -> Self {
        Self {
            kv,
            shards: Sharded::new(kv, base.clone(), capacity).with_legacy(base.clone(), legacy),
            base,
            capacity: capacity.max(1),
        }
    }

    fn directory_key(&self) -> Key {
        self.base.join("dir")
    }

    fn shard_key(&self, n: u32) -> Key {
        self.base.join("s").join(&n.to_string())
    }

    /// The keys to add to a `get_many` whose answer [`IdSet::directory_in`] reads.
    pub fn head_keys(&self) -> Vec<String> {
        vec![
            self.directory_key().as_str().to_string(),
            self.base.as_str().to_string(),
        ]
    }

    /// The directory from the answer of a `get_many` that asked for
    /// [`IdSet::head_keys`]; a set still stored as one record is migrated first.
    pub async fn directory_in(
        &self,
        found: &BTreeMap<String, Vec<u8>>,
    ) -> Result<Directory, StoreError> {
        let dir_key = self.directory_key();
        if let Some(bytes) = found.get(dir_key.as_str()) {
            return Ok(decode_record::<Directory>(&dir_key, bytes)?.value);
        }
        if found.contains_key(self.base.as_str()) {
            return self.shards.directory().await;
        }
        Ok(one_shard())
    }

    /// The directory (one call; migrates a legacy record).
    pub async fn directory(&self) -> Result<Directory, StoreError> {
        self.shards.directory().await
    }

    /// Every id, sorted (the directory and one `get_many` per 256 shards).
    pub async fn ids(&self) -> Result<Vec<String>, StoreError> {
        Ok(self.shards.all().await?.into_keys().collect())
    }

    /// Every id, or `None` when the set was never written.
    pub async fn stored_ids(&self) -> Result<Option<Vec<String>>, StoreError> {
        Ok(self
            .shards
            .stored_all()
            .await?
            .map(|m| m.into_keys().collect()))
    }

    /// Writes `ids` (up to one shard's capacity) as the whole set if it was
    /// never written; `false` when another writer got there first.
    pub async fn create(&self, ids: &BTreeSet<String>) -> Result<bool, StoreError> {
        let entries = ids.iter().map(|id| (id.clone(), ())).collect();
        self.shards.create(&entries).await
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

    /// Ids after `after`, oldest first, from at most `max_shards` shards (see
    /// [`Sharded::scan`]).
    pub async fn scan(
        &self,
        after: Option<&str>,
        max_shards: usize,
    ) -> Result<(Vec<String>, Option<String>), StoreError> {
        let Scan { entries, next } = self.shards.scan(after, max_shards).await?;
        Ok((entries.into_iter().map(|(id, _)| id).collect(), next))
    }

    /// Adds `ids`: one compare-and-swap per shard they fall in (`directory`: as
    /// just read, or `None` to read it). Ids already present cost nothing more.
    pub async fn add_many(
        &self,
        directory: Option<Directory>,
        ids: &BTreeSet<String>,
    ) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut directory = match directory {
            Some(d) => d,
            None => self.directory().await?,
        };
        let mut todo: BTreeSet<String> = ids.clone();
        // Each round either indexes every id or opens one shard for the overflow.
        for _ in 0..8 {
            let mut overflow = BTreeSet::new();
            for (pos, group) in group_by_shard(&directory, &todo) {
                let last = pos + 1 == directory.shards.len();
                let spilled = self
                    .add_to_shard(directory.shards[pos].n, last, &group)
                    .await?;
                overflow.extend(spilled);
            }
            let Some(first) = overflow.pop_first() else {
                return Ok(());
            };
            // The last shard is full: the per-id path opens the next one.
            self.shards
                .update(&first, |current| current.is_none().then_some(()))
                .await?;
            if overflow.is_empty() {
                return Ok(());
            }
            directory = self.directory().await?;
            todo = overflow;
        }
        Err(StoreError::Contended)
    }

    /// Adds ids made earlier back (a replayed trigger returning to the open set):
    /// each into the shard its order puts it in, one compare-and-swap per shard,
    /// never opening a shard — a full last shard takes them anyway (by as many as
    /// are returned at once). Only the writer of new ids opens shards, so a writer
    /// that read the directory for a batch of new ids (threshold-check) cannot
    /// find it changed by someone else.
    pub async fn add_back(&self, ids: &BTreeSet<String>) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let directory = self.directory().await?;
        for (pos, group) in group_by_shard(&directory, ids) {
            self.add_to_shard(directory.shards[pos].n, false, &group)
                .await?;
        }
        Ok(())
    }

    /// Adds `group` to shard `n` with one compare-and-swap; returns the ids that
    /// did not fit (the newest, when `n` is the last shard and full).
    async fn add_to_shard(
        &self,
        n: u32,
        last: bool,
        group: &[&String],
    ) -> Result<Vec<String>, StoreError> {
        let mut spilled = Vec::new();
        let result = Records::new(self.kv)
            .upsert(&self.shard_key(n), |mut v: Versioned<Shard>| {
                spilled.clear();
                let mut changed = false;
                for id in group {
                    if v.value.contains_key(id.as_str()) {
                        continue;
                    }
                    let newest = v
                        .value
                        .keys()
                        .next_back()
                        .is_none_or(|max| id.as_str() > max.as_str());
                    if last && newest && v.value.len() >= self.capacity {
                        spilled.push((*id).clone());
                        continue;
                    }
                    v.value.insert((*id).clone(), ());
                    changed = true;
                }
                if changed { Ok(v.value) } else { Err(()) }
            })
            .await;
        match result {
            Ok(_) | Err(UpdateError::Refused(())) => Ok(spilled),
            Err(UpdateError::Store(e)) => Err(e),
            Err(UpdateError::NotFound) => Err(StoreError::Corrupt("index shard vanished".into())),
        }
    }

    /// Removes `ids` (missing ones are fine): one compare-and-swap per shard that
    /// held any. Returns how many were removed.
    pub async fn remove_many(&self, ids: &BTreeSet<String>) -> Result<usize, StoreError> {
        if ids.is_empty() {
            return Ok(0);
        }
        let directory = self.directory().await?;
        let mut removed = 0;
        for (pos, group) in group_by_shard(&directory, ids) {
            let mut gone = 0;
            let result = Records::new(self.kv)
                .update(
                    &self.shard_key(directory.shards[pos].n),
                    |mut v: Versioned<Shard>| {
                        gone = group
                            .iter()
                            .filter(|id| v.value.remove(id.as_str()).is_some())
                            .count();
                        if gone > 0 { Ok(v.value) } else { Err(()) }
                    },
                )
                .await;
            match result {
                Ok(_) => removed += gone,
                Err(UpdateError::Refused(())) | Err(UpdateError::NotFound) => {}
                Err(UpdateError::Store(e)) => return Err(e),
            }
        }
        Ok(removed)
    }

    /// Up to `max` ids before `before` (from the newest when `None`), newest
    /// first, reading at most `max_shards` shards; with the cursor to pass as
    /// `before` for older ids (`None` when there are none).
    pub async fn newest_first(
        &self,
        before: Option<&str>,
        max: usize,
        max_shards: usize,
    ) -> Result<(Vec<String>, Option<String>), StoreError> {
        let mut keys = self.head_keys();
        let first_key = self.shard_key(0);
        keys.push(first_key.as_str().to_string());
        let mut found: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        found.extend(self.kv.get_many(&keys).await?);
        let directory = self.directory_in(&found).await?;
        let migrated = !found.contains_key(self.directory_key().as_str())
            && found.contains_key(self.base.as_str());
        let mut first: Option<Shard> = match found.get(first_key.as_str()) {
            Some(bytes) => Some(decode_record::<Shard>(&first_key, bytes)?.value),
            // Just migrated: the first shard is read with the others.
            None if migrated => None,
            None => Some(Shard::new()),
        };
        let keep = |id: &String| before.is_none_or(|b| id.as_str() < b);
        // The newest shard that can hold an id below `before`.
        let mut next = before.map_or(directory.shards.len() - 1, |b| {
            directory
                .shards
                .partition_point(|s| s.first.as_str() < b)
                .saturating_sub(1)
        });
        let mut out: Vec<String> = Vec::new();
        let mut budget = max_shards.max(1);
        loop {
            // Positions next, next-1, ... (at most PAGE_SHARDS and the budget).
            let take = PAGE_SHARDS.min(budget).min(next + 1);
            let lowest = next + 1 - take;
            budget -= take;
            let mut shards: Vec<Shard> = Vec::new();
            let mut wanted: Vec<Key> = Vec::new();
            for p in (lowest..=next).rev() {
                if p == 0
                    && let Some(shard) = first.take()
                {
                    shards.push(shard);
                } else {
                    wanted.push(self.shard_key(directory.shards[p].n));
                }
            }
            if !wanted.is_empty() {
                let raw: Vec<String> = wanted.iter().map(|k| k.as_str().to_string()).collect();
                let got: BTreeMap<String, Vec<u8>> =
                    self.kv.get_many(&raw).await?.into_iter().collect();
                let mut read = Vec::new();
                for k in &wanted {
                    if let Some(bytes) = got.get(k.as_str()) {
                        read.push(decode_record::<Shard>(k, bytes)?.value);
                    }
                }
                // Shard 0, when taken from the head, is the lowest: keep it last.
                read.extend(shards);
                shards = read;
            }
            for shard in shards {
                out.extend(shard.into_keys().rev().filter(keep));
            }
            if out.len() >= max {
                out.truncate(max);
                let cursor = out.last().cloned();
                return Ok((out, cursor));
            }
            if lowest == 0 {
                return Ok((out, None));
            }
            if budget == 0 {
                // Every id from this shard's first on was returned.
                return Ok((out, Some(directory.shards[lowest].first.clone())));
            }
            next = lowest - 1;
        }
    }
}

/// `ids` grouped by the position of the shard that takes them, in id order.
fn group_by_shard<'i>(
    directory: &Directory,
    ids: &'i BTreeSet<String>,
) -> BTreeMap<usize, Vec<&'i String>> {
    let mut groups: BTreeMap<usize, Vec<&String>> = BTreeMap::new();
    for id in ids {
        groups.entry(position(directory, id)).or_default().push(id);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryKv;
    use futures::executor::block_on;

    fn ids(range: std::ops::Range<usize>) -> BTreeSet<String> {
        range.map(|i| format!("t{i:06}")).collect()
    }

    #[test]
    fn many_ids_are_added_with_one_swap_per_shard_and_overflow_opens_shards() {
        let kv = MemoryKv::default();
        let set = IdSet::with_capacity(&kv, crate::keys::triggers::trigger_index(), 10);
        block_on(async {
            let before = kv.calls();
            set.add_many(None, &ids(0..7)).await.expect("add");
            // The directory read, one watch and one swap.
            assert_eq!(kv.calls() - before, 3);
            set.add_many(None, &ids(5..26)).await.expect("add");
            let all = set.ids().await.expect("ids");
            assert_eq!(all, ids(0..26).into_iter().collect::<Vec<_>>());
            assert_eq!(set.directory().await.expect("dir").shards.len(), 3);
            let before = kv.calls();
            set.add_many(None, &ids(3..9)).await.expect("again");
            assert_eq!(kv.calls() - before, 2, "present ids: directory and a watch");
            let removed = set
                .remove_many(&["t000001", "t000015", "nope"].map(String::from).into())
                .await
                .expect("remove");
            assert_eq!(removed, 2);
            assert_eq!(set.ids().await.expect("ids").len(), 24);
        });
    }

    #[test]
    fn ids_added_back_never_open_a_shard() {
        let kv = MemoryKv::default();
        let set = IdSet::with_capacity(&kv, crate::keys::triggers::open_index(), 4);
        block_on(async {
            set.add_many(None, &ids(0..4)).await.expect("add");
            set.remove_many(&ids(3..4)).await.expect("remove");
            set.add_many(None, &ids(4..5)).await.expect("add");
            // The last shard is full; the id returned is its newest.
            set.add_back(&ids(3..4)).await.expect("back");
            set.add_back(&ids(9..10)).await.expect("back");
            assert_eq!(set.directory().await.expect("dir").shards.len(), 1);
            assert_eq!(set.ids().await.expect("ids").len(), 6);
        });
    }

    #[test]
    fn pages_newest_first_visit_every_id_once_whatever_the_shards() {
        let kv = MemoryKv::default();
        let set = IdSet::with_capacity(&kv, crate::keys::monitoring::run_index(), 4);
        block_on(async {
            for i in 0..23 {
                set.add_many(None, &ids(i..i + 1)).await.expect("add");
            }
            // Empty a middle shard as pruning would.
            set.remove_many(&ids(8..12)).await.expect("prune");
            let mut seen = Vec::new();
            let mut before: Option<String> = None;
            loop {
                let (page, next) = set
                    .newest_first(before.as_deref(), 3, 1)
                    .await
                    .expect("page");
                seen.extend(page.iter().cloned());
                match next {
                    Some(n) => before = Some(n),
                    None => break,
                }
            }
            let mut want: Vec<String> = ids(0..23)
                .into_iter()
                .filter(|id| !ids(8..12).contains(id))
                .collect();
            want.reverse();
            assert_eq!(seen, want);
        });
    }

    #[test]
    fn a_small_set_pages_in_one_call_and_a_legacy_record_is_migrated() {
        let kv = MemoryKv::default();
        let key = crate::keys::triggers::open_index();
        block_on(async {
            let old: BTreeSet<String> = ids(0..5);
            assert!(Records::new(&kv).create(&key, &old).await.expect("seed"));
            let set = IdSet::with_capacity(&kv, key.clone(), 2_000);
            let (page, next) = set.newest_first(None, 10, 16).await.expect("page");
            assert_eq!(page.len(), 5);
            assert_eq!(next, None);
            assert!(
                kv.get(key.as_str()).await.expect("get").is_none(),
                "migrated"
            );
            let before = kv.calls();
            let (page, _) = set.newest_first(None, 2, 16).await.expect("page");
            assert_eq!(page, ["t000004", "t000003"]);
            assert_eq!(kv.calls() - before, 1, "head and first shard together");
        });
    }

    #[test]
    fn a_set_stored_as_one_record_is_migrated_and_grows_in_shards() {
        let kv = MemoryKv::default();
        let key = crate::keys::content::item_index();
        block_on(async {
            let old: BTreeSet<String> = (0..5).map(|i| format!("a{i}")).collect();
            assert!(Records::new(&kv).create(&key, &old).await.expect("ok"));
            let index = IdSet::new(&kv, key.clone());
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
                let (page, next) = index.scan(after.as_deref(), 1).await.expect("ok");
                seen.extend(page);
                match next {
                    Some(n) => after = Some(n),
                    None => break,
                }
            }
            assert_eq!(seen, ids, "paging by shard visits every id once");
        });
    }

    #[test]
    fn a_scan_skips_runs_of_emptied_shards_longer_than_one_read() {
        let kv = MemoryKv::default();
        let set = IdSet::with_capacity(&kv, crate::keys::triggers::trigger_index(), 2);
        block_on(async {
            for start in (0..300).step_by(10) {
                set.add_many(None, &ids(start..start + 10))
                    .await
                    .expect("add");
            }
            assert_eq!(set.directory().await.expect("dir").shards.len(), 150);
            // 140 shards in a row emptied (and kept: shards are never renumbered),
            // then a gap of 5 more further on.
            set.remove_many(&ids(0..280)).await.expect("remove");
            set.remove_many(&ids(284..294)).await.expect("remove");
            let left: Vec<String> = ids(280..284).into_iter().chain(ids(294..300)).collect();
            for max_shards in [1, 8, 64] {
                let mut seen = Vec::new();
                let mut after: Option<String> = None;
                loop {
                    let (page, next) = set.scan(after.as_deref(), max_shards).await.expect("scan");
                    // A scan reads on past empty shards: never an empty page with more to come.
                    assert!(
                        next.is_none() || !page.is_empty(),
                        "{max_shards}: empty page"
                    );
                    seen.extend(page);
                    match next {
                        Some(n) => after = Some(n),
                        None => break,
                    }
                }
                assert_eq!(seen, left, "{max_shards} shards a read");
            }
        });
    }
}
