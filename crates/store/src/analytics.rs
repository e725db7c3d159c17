//! Process analytics samples ([`opsflow_domain::analytics`]), kept per ISO week in
//! [`SHARDS`] records chosen by campaign, so one campaign's samples share a record
//! and concurrent writers on different campaigns rarely meet. Writing is one
//! compare-and-swap per (week, shard) touched — one for a transition or a
//! decision — and a sample already stored is left as it is, so a retry or the
//! backfill writing it again changes nothing. Reading any period of up to
//! [`MAX_WEEKS`] weeks is one `get_many`.

use crate::keys::analytics::week_shard;
use crate::kv::{Kv, StoreError};
use crate::records::{Records, UpdateError, Versioned};
use opsflow_domain::analytics::{Sample, iso_week};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;

/// Records per week.
pub const SHARDS: u32 = 16;

/// Weeks one read covers at most: `SHARDS * MAX_WEEKS` keys, two `get_many`s at most.
pub const MAX_WEEKS: usize = 16;

/// Bytes a shard may hold: well under the store's 256 KiB per value. At about
/// 170 bytes a stored sample that is some 1,400 samples per shard and week,
/// ~23,000 a week in all; a sample that would go past it is refused (the write
/// that caused it stands; the backfill cannot add it either), and the error says so.
pub const MAX_SHARD_BYTES: usize = 240 * 1024;

/// The shard of a sample: by campaign, or by trigger for the resource pool's.
pub fn shard_of(s: &Sample) -> u32 {
    let subject = match (s.campaign(), s) {
        (Some(c), _) => c,
        (None, Sample::Trigger { trigger, .. }) => trigger.as_str(),
        (None, _) => "",
    };
    let d = Sha256::digest(subject.as_bytes());
    u32::from_be_bytes([d[0], d[1], d[2], d[3]]) % SHARDS
}

enum Skip {
    Nothing,
    Full,
}

/// The stored form of a sample: its JSON with its id beside it, so a writer
/// checks what is stored by id without decoding samples (which keeps the sample
/// decoder out of every component that only writes them).
fn stored_form(s: &Sample) -> Result<serde_json::Value, StoreError> {
    // Through bytes rather than `to_value`: the byte serializer is the one every
    // component already has, so this costs less `.wasm`.
    let mut v: serde_json::Value = serde_json::to_vec(s)
        .and_then(|b| serde_json::from_slice(&b))
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    if let serde_json::Value::Object(m) = &mut v {
        m.insert("id".into(), serde_json::Value::String(stored_id(s)));
    }
    Ok(v)
}

/// A sample's id as stored: 48 bits of its digest (a collision among the
/// ~1,400 samples of a shard has odds of about 1 in 10^8).
fn stored_id(s: &Sample) -> String {
    Sha256::digest(s.id().as_bytes())
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The samples of one (week, shard): each id with its stored form.
type Group = ((String, u32), Vec<(String, serde_json::Value)>);

/// Stores `samples` (one compare-and-swap per week and shard they fall in);
/// returns how many were new.
pub async fn record<K: Kv>(kv: &K, samples: Vec<Sample>) -> Result<usize, StoreError> {
    // A handful of samples at a time: a list, not a map (which would add a
    // B-tree instance to every writing component's `.wasm`).
    let mut groups: Vec<Group> = Vec::new();
    for s in &samples {
        let Some(week) = iso_week(s.at()) else {
            continue;
        };
        let place = (week, shard_of(s));
        let entry = (stored_id(s), stored_form(s)?);
        match groups.iter_mut().find(|g| g.0 == place) {
            Some(g) => g.1.push(entry),
            None => groups.push((place, vec![entry])),
        }
    }
    let mut added = 0;
    for ((week, shard), group) in groups {
        let mut new = 0;
        let result = Records::new(kv)
            .upsert(
                &week_shard(&week, shard),
                |v: Versioned<Vec<serde_json::Value>>| {
                    let mut stored = v.value;
                    let mut ids: BTreeSet<String> = BTreeSet::new();
                    ids.extend(
                        stored
                            .iter()
                            .filter_map(|s| Some(s.get("id")?.as_str()?.to_string())),
                    );
                    new = 0;
                    for (id, s) in &group {
                        if ids.insert(id.clone()) {
                            stored.push(s.clone());
                            new += 1;
                        }
                    }
                    if new == 0 {
                        return Err(Skip::Nothing);
                    }
                    let size = serde_json::to_vec(&stored).map_or(usize::MAX, |b| b.len());
                    if size > MAX_SHARD_BYTES {
                        return Err(Skip::Full);
                    }
                    Ok(stored)
                },
            )
            .await;
        match result {
            Ok(_) => added += new,
            Err(UpdateError::Refused(Skip::Nothing)) | Err(UpdateError::NotFound) => {}
            Err(UpdateError::Refused(Skip::Full)) => {
                return Err(StoreError::Corrupt(format!(
                    "analytics shard {week}:{shard} is full"
                )));
            }
            Err(UpdateError::Store(e)) => return Err(e),
        }
    }
    Ok(added)
}

/// Every sample of `weeks` (ISO week names; at most [`MAX_WEEKS`]), in one
/// `get_many`. A sample this build does not know is skipped.
pub async fn read<K: Kv>(kv: &K, weeks: &[String]) -> Result<Vec<Sample>, StoreError> {
    let keys: Vec<_> = weeks
        .iter()
        .take(MAX_WEEKS)
        .flat_map(|w| (0..SHARDS).map(move |s| week_shard(w, s)))
        .collect();
    Ok(Records::new(kv)
        .get_many::<Vec<serde_json::Value>>(&keys)
        .await?
        .into_iter()
        .flat_map(|v| v.value)
        .filter_map(|mut v| {
            if let serde_json::Value::Object(m) = &mut v {
                m.remove("id");
            }
            serde_json::from_value(v).ok()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryKv;
    use futures::executor::block_on;

    fn stage(campaign: &str, left: i64) -> Sample {
        Sample::Stage {
            campaign: campaign.into(),
            from: "planning".into(),
            to: "production".into(),
            entered: left - 100,
            left,
        }
    }

    #[test]
    fn samples_are_stored_once_per_id_and_read_back_by_week() {
        let kv = MemoryKv::default();
        block_on(async {
            // 2026-11-30 (Monday, W49) and 2026-11-23 (W48).
            let (w49, w48) = (1_796_000_000 + 601_600, 1_796_000_000);
            let added = record(&kv, vec![stage("C1", w49), stage("C2", w48)])
                .await
                .expect("stored");
            assert_eq!(added, 2);
            let again = record(&kv, vec![stage("C1", w49)]).await.expect("stored");
            assert_eq!(again, 0, "a sample already there is not added twice");
            let week = iso_week(w49).expect("week");
            let read = read(&kv, &[week]).await.expect("read");
            assert_eq!(read, vec![stage("C1", w49)]);
        });
    }
}
