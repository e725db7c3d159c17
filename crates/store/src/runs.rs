//! The evaluation run history's index and its retention.
//!
//! The index of runs is an id set in shards ([`IdSet`], 2,000 ids a shard): a run
//! finishing adds its id with one compare-and-swap whatever the history's length,
//! and the list pages it newest first. Earlier builds kept it as one record
//! (`mon:idx:runs`) trimmed to the last 1,000 runs on every save, which read and
//! wrote the whole list each minute; the first use migrates it.
//!
//! **Retention** ([`prune`], the daily maintenance pass): runs older than
//! [`RETENTION_DAYS`] (a run id holds the wall-clock time its run was claimed) are
//! deleted — records first, then their index entries — at most `max_shards`
//! shards per call (`more` says whether to call again). At one tick a minute
//! that keeps ~10,000 runs, five shards.

use crate::id_set::IdSet;
use crate::keys::monitoring as keys;
use crate::kv::{Kv, StoreError};
use crate::retention::{expired, save_cursor};
use serde::Serialize;
use std::collections::BTreeSet;

/// Ids per shard of the run index.
pub const SHARD_CAPACITY: usize = 2_000;

/// Days a run record is kept.
pub const RETENTION_DAYS: i64 = 7;

/// The index of runs.
pub fn index<K: Kv>(kv: &K) -> IdSet<'_, K> {
    IdSet::with_capacity(kv, keys::run_index(), SHARD_CAPACITY)
}

/// What one [`prune`] call removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PruneReport {
    /// Runs deleted (record and index entry).
    pub deleted: usize,
    /// Whether older runs may be left (call again).
    pub more: bool,
}

/// Deletes the runs claimed more than [`RETENTION_DAYS`] before `now` (unix
/// seconds), from at most `max_shards` shards of the index.
pub async fn prune<K: Kv>(kv: &K, now: i64, max_shards: usize) -> Result<PruneReport, StoreError> {
    let index = index(kv);
    let cutoff_ms = (now - RETENTION_DAYS * 86_400).saturating_mul(1_000);
    let found = expired(kv, &index, &keys::run_prune_cursor(), cutoff_ms, max_shards).await?;
    let doomed: BTreeSet<String> = found.ids.into_iter().collect();
    let record_keys: Vec<String> = doomed
        .iter()
        .map(|id| keys::run(id).as_str().to_string())
        .collect();
    for chunk in record_keys.chunks(256) {
        kv.delete_many(chunk).await?;
    }
    index.remove_many(&doomed).await?;
    save_cursor(kv, &keys::run_prune_cursor(), &found.cursor).await?;
    Ok(PruneReport {
        deleted: doomed.len(),
        more: found.more,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retention::time_prefix;
    use crate::{MemoryKv, Records};
    use futures::executor::block_on;

    const NOW: i64 = 1_899_462_600;

    #[test]
    fn runs_older_than_the_retention_are_deleted_with_their_index_entries() {
        let kv = MemoryKv::default();
        let records = Records::new(&kv);
        block_on(async {
            let ids: Vec<String> = [10, 8, 6, 1]
                .iter()
                .map(|days| format!("{}{:016}", time_prefix((NOW - days * 86_400) * 1_000), days))
                .collect();
            // The index as earlier builds stored it: one record.
            let legacy: BTreeSet<String> = ids.iter().cloned().collect();
            assert!(
                records
                    .create(&keys::run_index(), &legacy)
                    .await
                    .expect("seed")
            );
            for id in &ids {
                assert!(
                    records
                        .create(&keys::run(id), &serde_json::json!({"id": id}))
                        .await
                        .expect("run")
                );
            }
            let report = prune(&kv, NOW, 4).await.expect("prune");
            assert_eq!(
                report,
                PruneReport {
                    deleted: 2,
                    more: false
                }
            );
            let (page, next) = index(&kv).newest_first(None, 10, 16).await.expect("page");
            assert_eq!(page, [ids[3].clone(), ids[2].clone()]);
            assert_eq!(next, None);
            for (id, kept) in ids.iter().zip([false, false, true, true]) {
                let found = records
                    .get::<serde_json::Value>(&keys::run(id))
                    .await
                    .expect("get");
                assert_eq!(found.is_some(), kept, "{id}");
            }
            assert_eq!(prune(&kv, NOW, 4).await.expect("again").deleted, 0);
        });
    }
}
