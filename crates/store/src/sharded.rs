//! Indexes that grow with the data: id → entry maps split into shards of ids in
//! creation order, so no record grows without bound (DESIGN.md §4).
//!
//! **Layout.** Under a base key `B`: a directory `B:dir` (the shards, each with the
//! lowest id it takes) and the shards `B:s:<n>`, each a versioned `id → entry`
//! map. An index of one shard — most per-campaign indexes — has no directory: it
//! is written when the second shard opens. Ids sort by creation time, so shard `n` takes the ids from its `first` up to
//! the next shard's, and new ids land in the last shard. When the last shard holds
//! `capacity` entries a new id opens a new shard (one directory compare-and-swap per
//! `capacity` creations). An id older than the newest boundary — two creations
//! racing within a millisecond — still goes where its order puts it, so a shard can
//! exceed its capacity by the number of concurrent creators, never more.
//!
//! **Costs.** Changing one entry: a directory read and one compare-and-swap on its
//! shard (watch + swap), so a campaign transition is still one CAS on the index.
//! Reading everything: the directory and one `get_many` per 256 shards. A page: the
//! directory and one `get_many` of the shards from the cursor on.
//!
//! **Migration.** An index that used to be one record (`legacy`) is split into
//! shards the first time the directory is missing: every shard is created only if
//! absent and the directory last, so two instances migrating at once write the
//! same shards and one directory, and no write made after the directory exists
//! is overwritten. The legacy record is deleted once its directory stands.

use crate::keys::Key;
use crate::kv::{Kv, StoreError};
use crate::records::{Records, UpdateError, decode_record};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use std::collections::BTreeMap;

/// Converts a legacy single-record index (its stored `value`) into entries.
pub type LegacyEntries<V> = fn(serde_json::Value) -> Option<BTreeMap<String, V>>;

/// The shards of one index, in id order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Directory {
    /// Shard number and the lowest id it takes; the first shard takes every id.
    pub shards: Vec<ShardRef>,
}

/// One shard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardRef {
    /// Its number (`B:s:<n>`).
    pub n: u32,
    /// The lowest id it takes (empty for the first shard).
    pub first: String,
}

impl Directory {
    /// One shard that takes every id.
    fn empty() -> Self {
        Self {
            shards: vec![ShardRef {
                n: 0,
                first: String::new(),
            }],
        }
    }

    /// The position of the shard that takes `id`.
    fn position(&self, id: &str) -> usize {
        self.shards
            .partition_point(|s| s.first.as_str() <= id)
            .saturating_sub(1)
    }
}

/// Entries read from consecutive shards.
#[derive(Debug, Clone, PartialEq)]
pub struct Scan<V> {
    /// Entries with ids after the cursor, in id order.
    pub entries: Vec<(String, V)>,
    /// Continue after this id: the highest id the read shards could hold entries
    /// up to (`None` when no shard is left).
    pub next: Option<String>,
}

/// A sharded index of `V` entries under `base`.
pub struct Sharded<'a, K: Kv, V> {
    kv: &'a K,
    base: Key,
    capacity: usize,
    legacy: Option<(Key, LegacyEntries<V>)>,
}

/// Why a shard update did not write.
enum Skip {
    /// The change leaves the entry as it is.
    Unchanged,
    /// The last shard is full and the id is the newest: open a new shard.
    Full,
}

/// What one read of an index's head found.
struct Head<V> {
    directory: Directory,
    /// Whether the directory is stored (an index never written has none).
    stored: bool,
    /// The first shard, when it was read with the directory.
    first: Option<BTreeMap<String, V>>,
}

/// Shards per `get_many` when everything is read.
const READ_CHUNK: usize = 256;

impl<'a, K: Kv, V> Sharded<'a, K, V>
where
    V: Serialize + DeserializeOwned + Clone,
{
    /// The index under `base`, opening a new shard every `capacity` entries.
    pub fn new(kv: &'a K, base: Key, capacity: usize) -> Self {
        Self {
            kv,
            base,
            capacity: capacity.max(1),
            legacy: None,
        }
    }

    /// Migrates the single record at `key` (see the module docs) when the index
    /// has no directory yet.
    pub fn with_legacy(mut self, key: Key, entries: LegacyEntries<V>) -> Self {
        self.legacy = Some((key, entries));
        self
    }

    fn directory_key(&self) -> Key {
        self.base.join("dir")
    }

    fn shard_key(&self, n: u32) -> Key {
        self.base.join("s").join(&n.to_string())
    }

    /// The directory. When none is stored: the legacy record's migration if there
    /// is one, otherwise the directory of an empty index, which is not written
    /// until the index is.
    pub async fn directory(&self) -> Result<Directory, StoreError> {
        Ok(self.read_head(false).await?.directory)
    }

    /// The directory, the first shard and the legacy record in one `get_many`,
    /// so an index of one shard — most of them — is read in one call, as when it
    /// was one record.
    async fn head(&self) -> Result<Head<V>, StoreError> {
        self.read_head(true).await
    }

    /// [`Sharded::head`], leaving out the first shard when `with_first` is false
    /// (writes need only the directory: a change to shard 7 of a large index
    /// should not carry shard 0's bytes). Without the first shard, `stored` is
    /// only known when a directory is.
    async fn read_head(&self, with_first: bool) -> Result<Head<V>, StoreError> {
        let (dir_key, first_key) = (self.directory_key(), self.shard_key(0));
        let mut keys = vec![dir_key.as_str().to_string()];
        if with_first {
            keys.push(first_key.as_str().to_string());
        }
        if let Some((legacy, _)) = &self.legacy {
            keys.push(legacy.as_str().to_string());
        }
        let mut found: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        found.extend(self.kv.get_many(&keys).await?);
        if let Some(bytes) = found.get(dir_key.as_str()) {
            let first = match found.get(first_key.as_str()) {
                Some(b) => Some(decode_record::<BTreeMap<String, V>>(&first_key, b)?.value),
                None => with_first.then(BTreeMap::new),
            };
            return Ok(Head {
                directory: decode_record::<Directory>(&dir_key, bytes)?.value,
                stored: true,
                first,
            });
        }
        if let Some(bytes) = found.get(first_key.as_str()) {
            // One shard and no directory: it is written when a second shard opens.
            return Ok(Head {
                directory: Directory::empty(),
                stored: true,
                first: Some(decode_record::<BTreeMap<String, V>>(&first_key, bytes)?.value),
            });
        }
        if let Some((key, convert)) = &self.legacy
            && let Some(bytes) = found.get(key.as_str())
        {
            let old = decode_record::<serde_json::Value>(key, bytes)?.value;
            let entries =
                convert(old).ok_or_else(|| StoreError::Corrupt(format!("{key}: not an index")))?;
            return Ok(Head {
                directory: self.migrate(&entries).await?,
                stored: true,
                first: None,
            });
        }
        Ok(Head {
            directory: Directory::empty(),
            stored: false,
            first: with_first.then(BTreeMap::new),
        })
    }

    /// The head of an index that was written (`None` for one never written).
    async fn written_head(
        &self,
    ) -> Result<Option<(Directory, Option<BTreeMap<String, V>>)>, StoreError> {
        let head = self.head().await?;
        Ok(head.stored.then_some((head.directory, head.first)))
    }

    /// Reads the shards at `positions` of `directory`, taking the first from
    /// `head` when it holds it.
    async fn read_shards(
        &self,
        directory: &Directory,
        positions: std::ops::Range<usize>,
        first: &mut Option<BTreeMap<String, V>>,
    ) -> Result<Vec<BTreeMap<String, V>>, StoreError> {
        let mut shards = Vec::new();
        let mut keys = Vec::new();
        for position in positions {
            match (position, first.take()) {
                (0, Some(shard)) => shards.push(shard),
                _ => keys.push(self.shard_key(directory.shards[position].n)),
            }
        }
        for chunk in keys.chunks(READ_CHUNK) {
            for shard in Records::new(self.kv)
                .get_many::<BTreeMap<String, V>>(chunk)
                .await?
            {
                shards.push(shard.value);
            }
        }
        Ok(shards)
    }

    async fn migrate(&self, entries: &BTreeMap<String, V>) -> Result<Directory, StoreError> {
        let records = Records::new(self.kv);
        let directory = self.split(entries);
        for (shard, n) in self
            .shards_of(entries)
            .zip(directory.shards.iter().map(|s| s.n))
        {
            records.create(&self.shard_key(n), &shard).await?;
        }
        if records.create(&self.directory_key(), &directory).await? {
            if let Some((key, _)) = &self.legacy {
                // Nothing reads it any more; a failed delete leaves only dead bytes.
                let _ = self.kv.delete(key.as_str()).await;
            }
            Ok(directory)
        } else {
            // Another instance migrated first: its directory is the one.
            records
                .get::<Directory>(&self.directory_key())
                .await?
                .map(|d| d.value)
                .ok_or_else(|| StoreError::Corrupt("index directory vanished".into()))
        }
    }

    /// The directory of `entries` split into shards of `capacity`.
    fn split(&self, entries: &BTreeMap<String, V>) -> Directory {
        let mut directory = Directory::empty();
        let ids: Vec<&String> = entries.keys().collect();
        for (n, chunk) in ids.chunks(self.capacity).enumerate().skip(1) {
            directory.shards.push(ShardRef {
                // Shard numbers past u32 would need 4 billion shards' worth of ids.
                n: u32::try_from(n).unwrap_or(u32::MAX),
                first: chunk[0].clone(),
            });
        }
        directory
    }

    /// The shards of `entries`, in order (none for an empty index).
    fn shards_of<'e>(
        &self,
        entries: &'e BTreeMap<String, V>,
    ) -> impl Iterator<Item = BTreeMap<&'e String, &'e V>> {
        let ids: Vec<(&'e String, &'e V)> = entries.iter().collect();
        ids.chunks(self.capacity)
            .map(|c| c.iter().copied().collect())
            .collect::<Vec<_>>()
            .into_iter()
    }

    /// Every entry, in id order: one call for an index of one shard, otherwise
    /// one more `get_many` per 256 shards.
    pub async fn all(&self) -> Result<BTreeMap<String, V>, StoreError> {
        Ok(self.stored_all().await?.unwrap_or_default())
    }

    /// Like [`Sharded::all`], but `None` for an index never written (which an
    /// empty index that was written is not).
    pub async fn stored_all(&self) -> Result<Option<BTreeMap<String, V>>, StoreError> {
        let Some((directory, mut first)) = self.written_head().await? else {
            return Ok(None);
        };
        let mut all = BTreeMap::new();
        for shard in self
            .read_shards(&directory, 0..directory.shards.len(), &mut first)
            .await?
        {
            all.extend(shard);
        }
        Ok(Some(all))
    }

    /// Writes `entries` (at most one shard's worth) as the whole index if it was
    /// never written: one compare-and-swap, so of two racing writers one wins and
    /// the other gets `false`.
    pub async fn create(&self, entries: &BTreeMap<String, V>) -> Result<bool, StoreError> {
        if entries.len() > self.capacity {
            return Err(StoreError::Corrupt(
                "more entries than one shard takes".into(),
            ));
        }
        if self.head().await?.stored {
            return Ok(false);
        }
        Records::new(self.kv)
            .create(&self.shard_key(0), entries)
            .await
    }

    /// Entries with ids after `after` (from the start when `None`), read from at
    /// most `max_shards` shards: the head and at most one more `get_many`. Empty
    /// shards are skipped at the cost of another read, so a scan always moves on.
    pub async fn scan(
        &self,
        after: Option<&str>,
        max_shards: usize,
    ) -> Result<Scan<V>, StoreError> {
        let Some((directory, mut first)) = self.written_head().await? else {
            return Ok(Scan {
                entries: Vec::new(),
                next: None,
            });
        };
        let mut at = after.map_or(0, |a| directory.position(a));
        let mut entries = Vec::new();
        loop {
            let end = (at + max_shards.max(1)).min(directory.shards.len());
            for shard in self.read_shards(&directory, at..end, &mut first).await? {
                entries.extend(
                    shard
                        .into_iter()
                        .filter(|(id, _)| after.is_none_or(|a| id.as_str() > a)),
                );
            }
            let more = end < directory.shards.len();
            if !entries.is_empty() || !more {
                opsflow_domain::sort::sort_by(&mut entries, |a, b| a.0.cmp(&b.0));
                // The read shards hold every id below the next shard's first one.
                let next = more.then(|| {
                    let last_entry = entries.last().map(|(id, _)| id.clone());
                    let last_first = directory.shards[end - 1].first.clone();
                    last_entry.map_or(last_first.clone(), |e| e.max(last_first))
                });
                return Ok(Scan { entries, next });
            }
            at = end;
        }
    }

    /// Sets the entry of `id` to what `change` makes of the current one
    /// (`None` from `change`: leave it as it is). One compare-and-swap on the
    /// shard that takes `id`, retried on a lost race.
    pub async fn update(
        &self,
        id: &str,
        mut change: impl FnMut(Option<&V>) -> Option<V>,
    ) -> Result<(), StoreError> {
        let records = Records::new(self.kv);
        let mut directory = self.directory().await?;
        // A full last shard opens a new one and the write goes again; a racing
        // creator may open it first, so allow a few rounds.
        for _ in 0..4 {
            let position = directory.position(id);
            let shard = directory.shards[position].clone();
            let last = position + 1 == directory.shards.len();
            let result = records
                .upsert(
                    &self.shard_key(shard.n),
                    |mut v: crate::Versioned<BTreeMap<String, V>>| {
                        let current = v.value.get(id);
                        let newest = v
                            .value
                            .keys()
                            .next_back()
                            .is_none_or(|max| id > max.as_str());
                        if current.is_none() && last && newest && v.value.len() >= self.capacity {
                            return Err(Skip::Full);
                        }
                        match change(current) {
                            Some(new) => {
                                v.value.insert(id.to_string(), new);
                                Ok(v.value)
                            }
                            None => Err(Skip::Unchanged),
                        }
                    },
                )
                .await;
            match result {
                Ok(_) | Err(UpdateError::Refused(Skip::Unchanged)) => return Ok(()),
                Err(UpdateError::Refused(Skip::Full)) => {
                    directory = self.open_shard(shard.n, id).await?;
                }
                Err(UpdateError::Store(e)) => return Err(e),
                Err(UpdateError::NotFound) => {
                    return Err(StoreError::Corrupt("index shard vanished".into()));
                }
            }
        }
        Err(StoreError::Contended)
    }

    /// Opens a shard after `full` starting at `first`, unless another writer
    /// already opened one after it; returns the directory as it now stands.
    async fn open_shard(&self, full: u32, first: &str) -> Result<Directory, StoreError> {
        // An index of one shard has no directory yet: this writes the first.
        let result = Records::new(self.kv)
            .upsert(
                &self.directory_key(),
                |mut v: crate::Versioned<Directory>| {
                    if v.version == 0 {
                        v.value = Directory::empty();
                    }
                    let last = v.value.shards.last().map(|s| s.n);
                    if last != Some(full) {
                        return Err(());
                    }
                    v.value.shards.push(ShardRef {
                        n: full + 1,
                        first: first.to_string(),
                    });
                    Ok(v.value)
                },
            )
            .await;
        match result {
            Ok(v) => Ok(v.value),
            Err(UpdateError::Refused(())) => self.directory().await,
            Err(UpdateError::Store(e)) => Err(e),
            Err(UpdateError::NotFound) => {
                Err(StoreError::Corrupt("index directory vanished".into()))
            }
        }
    }

    /// Removes `id` (missing is fine).
    pub async fn remove(&self, id: &str) -> Result<(), StoreError> {
        let directory = self.directory().await?;
        let shard = &directory.shards[directory.position(id)];
        let result = Records::new(self.kv)
            .update(
                &self.shard_key(shard.n),
                |mut v: crate::Versioned<BTreeMap<String, V>>| match v.value.remove(id) {
                    Some(_) => Ok(v.value),
                    None => Err(()),
                },
            )
            .await;
        match result {
            Ok(_) | Err(UpdateError::Refused(())) | Err(UpdateError::NotFound) => Ok(()),
            Err(UpdateError::Store(e)) => Err(e),
        }
    }

    /// Writes a whole index into an empty store in shards (bulk loads and
    /// benchmarks): refused when the index already has a directory.
    pub async fn load(&self, entries: &BTreeMap<String, V>) -> Result<Directory, StoreError> {
        let records = Records::new(self.kv);
        if records
            .get::<Directory>(&self.directory_key())
            .await?
            .is_some()
        {
            return Err(StoreError::Corrupt("index already exists".into()));
        }
        let directory = self.split(entries);
        let mut pairs = Vec::new();
        for (shard, n) in self
            .shards_of(entries)
            .zip(directory.shards.iter().map(|s| s.n))
        {
            pairs.push((
                self.shard_key(n).as_str().to_string(),
                crate::encode_record(1, &shard)?,
            ));
        }
        self.kv.set_many(&pairs).await?;
        if records.create(&self.directory_key(), &directory).await? {
            Ok(directory)
        } else {
            Err(StoreError::Contended)
        }
    }
}
