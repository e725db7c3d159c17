//! The trigger outbox's indexes and their retention.
//!
//! **Indexes.** Two id sets in shards ([`IdSet`], 2,000 ids a shard, ~60 KiB):
//! [`all`] (every trigger still kept, oldest first; the list API pages it newest
//! first) and [`open`] (the triggers with work left; dispatch reads it whole, so it
//! must hold only open ones: dispatch drops the ones it closes, rejection drops
//! its own, and the retention pass drops any left behind). Both were one record
//! each in earlier builds (`trg:idx:all`, `trg:idx:open`): the first use migrates
//! them (see [`crate::sharded`]).
//!
//! **Write order** (threshold-check): trigger records, then the open index, then
//! the index of all. A trigger in neither index was written by a run that has not
//! finished its batch (its ids hold the run's `now`) and is redone by that run.
//!
//! **Retention** ([`prune`], the daily maintenance pass): a trigger created more
//! than [`RETENTION_DAYS`] ago and closed (succeeded, dead-lettered, rejected) is
//! deleted — its record, then its index entry; the campaign's audit log keeps what
//! it did. An old trigger still open is kept (and checked again on each pass).
//! Bounded work per call: at most `max_shards` shards of the index (2,000 ids each)
//! and one read of the open triggers; `more` says whether to call again.

use crate::id_set::IdSet;
use crate::keys::triggers as keys;
use crate::kv::{Kv, StoreError};
use crate::records::Records;
use crate::retention::{expired, save_cursor};
use opsflow_domain::monitoring::Trigger;
use serde::Serialize;
use std::collections::BTreeSet;

/// Ids per shard of the trigger indexes.
pub const SHARD_CAPACITY: usize = 2_000;

/// Days a closed trigger is kept (listed and readable by id).
pub const RETENTION_DAYS: i64 = 90;

/// Keys per `delete_many`.
const DELETE_CHUNK: usize = 256;

/// Every trigger kept, by id (creation order).
pub fn all<K: Kv>(kv: &K) -> IdSet<'_, K> {
    IdSet::with_capacity(kv, keys::trigger_index(), SHARD_CAPACITY)
}

/// The triggers with work left.
pub fn open<K: Kv>(kv: &K) -> IdSet<'_, K> {
    IdSet::with_capacity(kv, keys::open_index(), SHARD_CAPACITY)
}

/// What one [`prune`] call removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PruneReport {
    /// Closed triggers older than the retention deleted (record and index entry).
    pub deleted: usize,
    /// Ids of closed or missing triggers dropped from the open index.
    pub closed: usize,
    /// Old triggers kept because they are still open.
    pub kept_open: usize,
    /// Whether older triggers may be left (call again).
    pub more: bool,
}

/// The statuses of `ids` whose record exists: `true` when still open.
async fn open_ones<K: Kv>(kv: &K, ids: &BTreeSet<String>) -> Result<BTreeSet<String>, StoreError> {
    let keys: Vec<_> = ids.iter().map(|id| keys::trigger(id)).collect();
    Ok(Records::new(kv)
        .get_many::<Trigger>(&keys)
        .await?
        .into_iter()
        .filter(|t| t.value.status.is_open())
        .map(|t| t.value.id)
        .collect())
}

/// Prunes the outbox as of `now` (unix seconds): see the module docs.
pub async fn prune<K: Kv>(kv: &K, now: i64, max_shards: usize) -> Result<PruneReport, StoreError> {
    let mut report = PruneReport::default();
    // The open index: only open triggers.
    let listed: BTreeSet<String> = open(kv).ids().await?.into_iter().collect();
    let still_open = open_ones(kv, &listed).await?;
    let closed: BTreeSet<String> = listed.difference(&still_open).cloned().collect();
    report.closed = open(kv).remove_many(&closed).await?;

    let cutoff_ms = (now - RETENTION_DAYS * 86_400).saturating_mul(1_000);
    let all = all(kv);
    let found = expired(kv, &all, &keys::prune_cursor(), cutoff_ms, max_shards).await?;
    let mut cursor = found.cursor;
    let candidates: BTreeSet<String> = found.ids.into_iter().chain(cursor.kept.clone()).collect();
    let keep = open_ones(kv, &candidates).await?;
    let doomed: BTreeSet<String> = candidates.difference(&keep).cloned().collect();
    // Records first: an index entry without its record is skipped by readers;
    // a record without an entry would never be found again.
    let record_keys: Vec<String> = doomed
        .iter()
        .map(|id| keys::trigger(id).as_str().to_string())
        .collect();
    for chunk in record_keys.chunks(DELETE_CHUNK) {
        kv.delete_many(chunk).await?;
    }
    all.remove_many(&doomed).await?;
    report.deleted = doomed.len();
    report.kept_open = keep.len();
    cursor.kept = keep;
    save_cursor(kv, &keys::prune_cursor(), &cursor).await?;
    report.more = found.more;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryKv;
    use crate::retention::time_prefix;
    use futures::executor::block_on;
    use opsflow_domain::monitoring::{Observation, TriggerStatus, default_rules};

    const NOW: i64 = 1_899_462_600;
    const DAY: i64 = 86_400;

    /// A trigger created `days_ago` with `status`, stored; its id.
    fn stored(kv: &MemoryKv, days_ago: i64, n: u8, status: TriggerStatus) -> String {
        let at = NOW - days_ago * DAY;
        let id = format!("{}{}", time_prefix(at * 1_000), "0000000000000000")
            .chars()
            .take(25)
            .chain(std::iter::once(char::from(b'A' + n)))
            .collect::<String>();
        let rule = default_rules(0).remove(0);
        let o = Observation {
            scope_key: "campaign:c1".into(),
            campaign_id: Some("c1".into()),
            channel: None,
            value: Some(1.0),
            context: serde_json::json!({}),
        };
        let mut t = Trigger::new(id.clone(), &rule, &o, 1, 0, "ops", "run", at);
        t.status = status;
        block_on(Records::new(kv).create(&keys::trigger(&id), &t)).expect("create");
        id
    }

    #[test]
    fn prune_deletes_old_closed_triggers_keeps_open_ones_and_cleans_the_open_index() {
        let kv = MemoryKv::default();
        let old_done = stored(&kv, 100, 0, TriggerStatus::Succeeded);
        let old_open = stored(&kv, 100, 1, TriggerStatus::AwaitingApproval);
        let old_dead = stored(&kv, 91, 2, TriggerStatus::DeadLetter);
        let young_done = stored(&kv, 10, 3, TriggerStatus::Succeeded);
        let young_open = stored(&kv, 1, 4, TriggerStatus::Pending);
        block_on(async {
            // The indexes as earlier builds stored them: one record each.
            let every: BTreeSet<String> =
                [&old_done, &old_open, &old_dead, &young_done, &young_open]
                    .map(String::clone)
                    .into();
            let listed_open: BTreeSet<String> = [&old_open, &young_done, &young_open]
                .map(String::clone)
                .into();
            let records = Records::new(&kv);
            assert!(
                records
                    .create(&keys::trigger_index(), &every)
                    .await
                    .expect("seed")
            );
            assert!(
                records
                    .create(&keys::open_index(), &listed_open)
                    .await
                    .expect("seed")
            );

            let report = prune(&kv, NOW, 4).await.expect("prune");
            assert_eq!(
                report,
                PruneReport {
                    deleted: 2,
                    closed: 1,
                    kept_open: 1,
                    more: false
                }
            );
            assert_eq!(
                all(&kv).ids().await.expect("ids"),
                [old_open.clone(), young_done.clone(), young_open.clone()]
            );
            assert_eq!(
                open(&kv).ids().await.expect("ids"),
                [old_open.clone(), young_open.clone()]
            );
            for (id, kept) in [
                (&old_done, false),
                (&old_dead, false),
                (&old_open, true),
                (&young_done, true),
            ] {
                let found = records
                    .get::<Trigger>(&keys::trigger(id))
                    .await
                    .expect("get");
                assert_eq!(found.is_some(), kept, "{id}");
            }
            assert!(
                kv.get(keys::trigger_index().as_str())
                    .await
                    .expect("get")
                    .is_none()
            );

            // Again: nothing more to do. Once the old one closes, it goes too.
            let again = prune(&kv, NOW, 4).await.expect("prune");
            assert_eq!(again.deleted, 0);
            records
                .update(
                    &keys::trigger(&old_open),
                    |mut v: crate::Versioned<Trigger>| {
                        v.value.status = TriggerStatus::Rejected;
                        Ok::<_, ()>(v.value)
                    },
                )
                .await
                .expect("close");
            let last = prune(&kv, NOW, 4).await.expect("prune");
            assert_eq!((last.deleted, last.closed, last.kept_open), (1, 1, 0));
            assert_eq!(
                all(&kv).ids().await.expect("ids"),
                [young_done, young_open.clone()]
            );
            assert_eq!(open(&kv).ids().await.expect("ids"), [young_open]);
        });
    }

    #[test]
    fn prune_works_through_a_long_history_a_few_shards_per_call() {
        let kv = MemoryKv::default();
        let young = stored(&kv, 1, 0, TriggerStatus::Pending);
        block_on(async {
            let prefix = time_prefix((NOW - 200 * DAY) * 1_000);
            let old: BTreeSet<String> = (0..(3 * SHARD_CAPACITY))
                .map(|i| format!("{prefix}{i:016}"))
                .collect();
            all(&kv).add_many(None, &old).await.expect("index");
            all(&kv)
                .add_many(None, &[young.clone()].into())
                .await
                .expect("index");
            let first = prune(&kv, NOW, 2).await.expect("prune");
            assert_eq!((first.deleted, first.more), (2 * SHARD_CAPACITY, true));
            let second = prune(&kv, NOW, 2).await.expect("prune");
            // Its shards held only old ids: more may be left until a young one is seen.
            assert_eq!((second.deleted, second.more), (SHARD_CAPACITY, true));
            let third = prune(&kv, NOW, 2).await.expect("prune");
            assert_eq!((third.deleted, third.more), (0, false));
            assert_eq!(all(&kv).ids().await.expect("ids"), [young]);
        });
    }
}
