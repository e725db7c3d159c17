//! Hourly send capacity: one atomic counter per (channel, hour) under
//! [`keys::content::slot`](crate::keys::content::slot), checked against the
//! channel's cap.
//!
//! A claim increments the counter and keeps the slot when the result is within the
//! cap, otherwise gives the increment back. Concurrent claims can therefore never
//! overrun the cap (at worst a claim racing a release is refused). Counters are
//! decoded with [`decode_counter`]: a corrupt counter is an error, never a silent 0
//! that would let a full hour look empty.
//!
//! **Retention** ([`prune_slots`], the daily maintenance pass). Nothing reads an
//! hour's counter a week after the hour, and the store cannot list keys, so the
//! pass keeps a register (`cnt:slot-channels`): each channel that may have counters,
//! with the lowest hour that may still have one. Channels are found in the content
//! items (a counter is only claimed for an item's channel, at or after the item was
//! created), read from the item index after the register's cursor, at most
//! [`DISCOVER_SHARDS`] index shards per call — nothing on the claim path. Each
//! channel's counters are then deleted from its mark up to [`RETENTION_DAYS`]
//! before `now`, at most [`PRUNE_HOURS`] hours per channel and call, and the mark
//! moves on. An item moved to a channel after the pass read it is not seen; its
//! counters stay until another item of that channel is found.

use crate::IdSet;
use crate::keys::content::{item_index, slot, slot_channels};
use crate::kv::{Kv, StoreError, decode_counter};
use crate::records::{Records, UpdateError, Versioned};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Days an hour's counter is kept after the hour (a send withdrawn late still
/// gives its slot back to a counter that exists).
pub const RETENTION_DAYS: i64 = 7;

/// Hours per channel one [`prune_slots`] call clears (a month).
pub const PRUNE_HOURS: i64 = 31 * 24;

/// Shards of the content item index (2,000 ids each) one call reads for channels.
pub const DISCOVER_SHARDS: usize = 2;

const HOUR: i64 = 3_600;

/// The pass's register of channels with counters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Register {
    /// The last content item whose channel is registered.
    after: Option<String>,
    /// Channel → the lowest hour that may still have a counter.
    marks: BTreeMap<String, i64>,
}

/// The part of a content item the pass reads.
#[derive(Deserialize)]
struct ItemChannel {
    id: String,
    channel: String,
}

/// What one [`prune_slots`] call cleared.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SlotPruneReport {
    /// Channels registered.
    pub channels: usize,
    /// Channel hours whose counters were deleted (whether or not one existed).
    pub hours: usize,
    /// Whether items or hours are left for another call.
    pub more: bool,
}

/// Prunes the send-slot counters of hours more than [`RETENTION_DAYS`] before
/// `now` (unix seconds): see the module docs.
pub async fn prune_slots<K: Kv>(kv: &K, now: i64) -> Result<SlotPruneReport, StoreError> {
    let records = Records::new(kv);
    let mut register: Register = records
        .get::<Register>(&slot_channels())
        .await?
        .map(|v| v.value)
        .unwrap_or_default();
    let before = register.clone();
    let (ids, next) = IdSet::new(kv, item_index())
        .scan(register.after.as_deref(), DISCOVER_SHARDS)
        .await?;
    let keys: Vec<_> = ids
        .iter()
        .map(|id| crate::keys::content::item(id))
        .collect();
    for item in records.get_many::<ItemChannel>(&keys).await? {
        let created = crate::retention::time_of(&item.value.id).unwrap_or_default() / 1_000;
        let hour = created.div_euclid(HOUR) * HOUR;
        let mark = register.marks.entry(item.value.channel).or_insert(hour);
        *mark = (*mark).min(hour);
    }
    let mut report = SlotPruneReport {
        more: next.is_some(),
        ..SlotPruneReport::default()
    };
    register.after = next.or_else(|| ids.last().cloned()).or(register.after);
    let cutoff = (now - RETENTION_DAYS * 86_400).div_euclid(HOUR) * HOUR;
    for (channel, mark) in register.marks.iter_mut() {
        if *mark >= cutoff {
            continue;
        }
        let end = cutoff.min(*mark + PRUNE_HOURS * HOUR);
        let keys: Vec<String> = (*mark..end)
            .step_by(HOUR as usize)
            .map(|h| slot(channel, h).as_str().to_string())
            .collect();
        for chunk in keys.chunks(256) {
            kv.delete_many(chunk).await?;
        }
        report.hours += keys.len();
        report.more |= end < cutoff;
        *mark = end;
    }
    report.channels = register.marks.len();
    if register != before {
        let result = records
            .upsert(&slot_channels(), |_: Versioned<Register>| {
                Ok::<_, std::convert::Infallible>(register.clone())
            })
            .await;
        match result {
            Ok(_) | Err(UpdateError::NotFound) => {}
            Err(UpdateError::Store(e)) => return Err(e),
            Err(UpdateError::Refused(never)) => match never {},
        }
    }
    Ok(report)
}

/// The send slots of one channel.
pub struct Slots<'a, K: Kv> {
    kv: &'a K,
    channel: &'a str,
}

impl<'a, K: Kv> Slots<'a, K> {
    /// The slots of `channel` in `kv`.
    pub fn new(kv: &'a K, channel: &'a str) -> Self {
        Self { kv, channel }
    }

    /// Takes one send in the hour starting at `hour` if fewer than `cap` are taken:
    /// one increment, plus one to give it back when the hour is full.
    pub async fn claim(&self, hour: i64, cap: u32) -> Result<bool, StoreError> {
        let key = slot(self.channel, hour);
        let n = self.kv.increment(key.as_str(), 1).await?;
        if n <= i64::from(cap) {
            return Ok(true);
        }
        self.kv.increment(key.as_str(), -1).await?;
        Ok(false)
    }

    /// Gives back a send taken in the hour starting at `hour` (one increment).
    pub async fn release(&self, hour: i64) -> Result<(), StoreError> {
        self.kv
            .increment(slot(self.channel, hour).as_str(), -1)
            .await
            .map(drop)
    }

    /// Sends taken in each of `hours`, in one `get_many`; an hour never claimed
    /// has taken 0.
    pub async fn taken(&self, hours: &[i64]) -> Result<BTreeMap<i64, i64>, StoreError> {
        let keys: Vec<String> = hours
            .iter()
            .map(|h| slot(self.channel, *h).as_str().to_string())
            .collect();
        let mut found: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        found.extend(self.kv.get_many(&keys).await?);
        hours
            .iter()
            .zip(&keys)
            .map(|(hour, key)| {
                let n = match found.get(key) {
                    Some(bytes) => decode_counter(bytes)?,
                    None => 0,
                };
                Ok((*hour, n))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryKv;
    use futures::executor::block_on;

    const HOUR: i64 = 1_700_000_000 - 1_700_000_000 % 3_600;

    #[test]
    fn claims_stop_at_the_cap_and_a_refused_claim_takes_nothing() {
        let kv = MemoryKv::default();
        let email = Slots::new(&kv, "email");
        block_on(async {
            assert!(email.claim(HOUR, 2).await.expect("ok"));
            assert!(email.claim(HOUR, 2).await.expect("ok"));
            let before = kv.calls();
            assert!(!email.claim(HOUR, 2).await.expect("ok"));
            assert_eq!(kv.calls() - before, 2, "increment, then give it back");
            assert_eq!(email.taken(&[HOUR]).await.expect("ok")[&HOUR], 2);
            email.release(HOUR).await.expect("ok");
            assert!(email.claim(HOUR, 2).await.expect("ok"));
        });
    }

    #[test]
    fn taken_reads_every_hour_in_one_call_per_channel() {
        let kv = MemoryKv::default();
        block_on(async {
            Slots::new(&kv, "email").claim(HOUR, 5).await.expect("ok");
            Slots::new(&kv, "sms").claim(HOUR, 5).await.expect("ok");
            let before = kv.calls();
            let taken = Slots::new(&kv, "email")
                .taken(&[HOUR, HOUR + 3_600])
                .await
                .expect("ok");
            assert_eq!(kv.calls() - before, 1);
            assert_eq!(taken, BTreeMap::from([(HOUR, 1), (HOUR + 3_600, 0)]));
        });
    }

    #[test]
    fn a_corrupt_counter_is_an_error_not_an_empty_hour() {
        let kv = MemoryKv::default();
        block_on(async {
            kv.set(slot("email", HOUR).as_str(), b"full")
                .await
                .expect("ok");
            let err = Slots::new(&kv, "email").taken(&[HOUR]).await.unwrap_err();
            assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
        });
    }

    #[test]
    fn counters_of_hours_a_week_past_are_pruned_for_the_channels_of_content_items() {
        use crate::retention::time_prefix;
        let kv = MemoryKv::default();
        let now = HOUR + 40 * 86_400;
        let records = Records::new(&kv);
        block_on(async {
            // One email item created at HOUR (the counters start there) and one sms
            // item created yesterday.
            let email_item = format!("{}{}", time_prefix(HOUR * 1_000), "0000000000000001");
            let sms_item = format!(
                "{}{}",
                time_prefix((now - 86_400) * 1_000),
                "0000000000000002"
            );
            for (id, channel) in [(&email_item, "email"), (&sms_item, "sms")] {
                let item = serde_json::json!({"id": id, "channel": channel, "title": "t"});
                assert!(
                    records
                        .create(&crate::keys::content::item(id), &item)
                        .await
                        .expect("item")
                );
                IdSet::new(&kv, item_index()).add(id).await.expect("index");
            }
            let email = Slots::new(&kv, "email");
            let sms = Slots::new(&kv, "sms");
            let hours = [HOUR, HOUR + 3_600, now - 86_400, now + 3_600];
            for h in hours {
                assert!(email.claim(h, 5).await.expect("claim"));
            }
            assert!(sms.claim(now + 3_600, 5).await.expect("claim"));
            let first = prune_slots(&kv, now).await.expect("prune");
            assert_eq!((first.channels, first.hours, first.more), (2, 744, true));
            let taken = email.taken(&hours).await.expect("taken");
            assert_eq!(taken.values().copied().collect::<Vec<_>>(), [0, 0, 1, 1]);
            assert_eq!(
                sms.taken(&[now + 3_600]).await.expect("taken")[&(now + 3_600)],
                1
            );
            // The email mark moved a month on; the rest of the past goes next time.
            let second = prune_slots(&kv, now).await.expect("prune");
            assert_eq!((second.hours, second.more), (48, false));
            assert_eq!(prune_slots(&kv, now).await.expect("again").hours, 0);
        });
    }
}
