//! The campaign index (owned by the campaigns work; other areas may read it):
//! every campaign id with its current stage, in one versioned record.
//!
//! One record rather than one set per stage, so a transition moves an id between
//! stages with a single compare-and-swap and no reader ever sees it in two stages
//! or in none. Each entry carries the campaign record version it reflects, and a
//! write older than the entry is ignored: the campaign record is the truth, and a
//! late or repeated index write can never move an entry backwards.

use crate::keys::campaigns::campaign_index;
use crate::kv::{Kv, StoreError};
use crate::records::{Records, UpdateError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where one campaign is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexEntry {
    /// The stage name (`planning`, ..., `completed`, `cancelled`).
    pub stage: String,
    /// The campaign record version this entry reflects.
    pub version: u64,
}

/// Campaign id → entry; ids sort by creation time.
pub type CampaignIndex = BTreeMap<String, IndexEntry>;

/// The whole index (one read).
pub async fn index<K: Kv>(kv: &K) -> Result<CampaignIndex, StoreError> {
    Ok(Records::new(kv)
        .get::<CampaignIndex>(&campaign_index())
        .await?
        .map(|v| v.value)
        .unwrap_or_default())
}

/// Ids of the campaigns in `stage` (every campaign when `None`), oldest first.
pub async fn ids_in_stage<K: Kv>(kv: &K, stage: Option<&str>) -> Result<Vec<String>, StoreError> {
    Ok(index(kv)
        .await?
        .into_iter()
        .filter(|(_, e)| stage.is_none_or(|s| e.stage == s))
        .map(|(id, _)| id)
        .collect())
}

enum Unchanged {
    Already,
}

/// Records that campaign `id` is in `stage` as of its record `version`. A write
/// for a version older than the entry's, or one that changes nothing, is skipped.
pub async fn set_stage<K: Kv>(
    kv: &K,
    id: &str,
    stage: &str,
    version: u64,
) -> Result<(), StoreError> {
    let result = Records::new(kv)
        .upsert(
            &campaign_index(),
            |mut v: crate::Versioned<CampaignIndex>| {
                match v.value.get(id) {
                    Some(e)
                        if e.version > version || (e.version == version && e.stage == stage) =>
                    {
                        return Err(Unchanged::Already);
                    }
                    _ => {}
                }
                v.value.insert(
                    id.to_string(),
                    IndexEntry {
                        stage: stage.to_string(),
                        version,
                    },
                );
                Ok(v.value)
            },
        )
        .await;
    match result {
        Ok(_) | Err(UpdateError::Refused(Unchanged::Already)) => Ok(()),
        Err(UpdateError::Store(e)) => Err(e),
        Err(UpdateError::NotFound) => Err(StoreError::Corrupt("index vanished".into())),
    }
}

/// Removes `id` (undoing the index entry of a create whose record write failed).
pub async fn remove<K: Kv>(kv: &K, id: &str) -> Result<(), StoreError> {
    let result = Records::new(kv)
        .update(
            &campaign_index(),
            |mut v: crate::Versioned<CampaignIndex>| match v.value.remove(id) {
                Some(_) => Ok(v.value),
                None => Err(Unchanged::Already),
            },
        )
        .await;
    match result {
        Ok(_) | Err(UpdateError::Refused(Unchanged::Already)) | Err(UpdateError::NotFound) => {
            Ok(())
        }
        Err(UpdateError::Store(e)) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryKv;
    use futures::executor::block_on;

    const STAGES: [&str; 4] = ["planning", "production", "distribution", "cancelled"];

    #[test]
    fn a_transition_moves_the_id_and_old_news_is_ignored() {
        let kv = MemoryKv::default();
        block_on(async {
            set_stage(&kv, "c1", "planning", 1).await.expect("ok");
            set_stage(&kv, "c2", "planning", 1).await.expect("ok");
            set_stage(&kv, "c1", "production", 3).await.expect("ok");
            // A late write of an older version does not move it back.
            set_stage(&kv, "c1", "planning", 2).await.expect("ok");
            assert_eq!(
                ids_in_stage(&kv, Some("planning")).await.expect("ok"),
                ["c2"]
            );
            assert_eq!(
                ids_in_stage(&kv, Some("production")).await.expect("ok"),
                ["c1"]
            );
            assert_eq!(ids_in_stage(&kv, None).await.expect("ok"), ["c1", "c2"]);
            let calls = kv.calls();
            set_stage(&kv, "c1", "production", 3).await.expect("ok");
            assert_eq!(kv.calls() - calls, 1, "an unchanged entry is not rewritten");
            remove(&kv, "c2").await.expect("ok");
            remove(&kv, "c2").await.expect("ok");
            assert_eq!(ids_in_stage(&kv, None).await.expect("ok"), ["c1"]);
        });
    }

    #[test]
    fn random_operation_sequences_keep_the_index_equal_to_the_records() {
        // A small deterministic generator: no extra dependencies, same run every time.
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for _ in 0..20 {
            let kv = MemoryKv::default();
            // The "records": id → (stage, version), written first as the component does.
            let mut records: BTreeMap<String, (String, u64)> = BTreeMap::new();
            block_on(async {
                for _ in 0..60 {
                    let id = format!("c{}", next(6));
                    let stage = STAGES[next(STAGES.len() as u64) as usize];
                    let version = records.get(&id).map_or(1, |(_, v)| v + 1);
                    records.insert(id.clone(), (stage.to_string(), version));
                    set_stage(&kv, &id, stage, version).await.expect("ok");
                    // Replays of older writes (retries, slow instances) change nothing.
                    if version > 1 && next(2) == 0 {
                        set_stage(&kv, &id, "planning", version - 1)
                            .await
                            .expect("ok");
                    }
                }
                let index = index(&kv).await.expect("ok");
                let from_index: BTreeMap<String, (String, u64)> = index
                    .into_iter()
                    .map(|(id, e)| (id, (e.stage, e.version)))
                    .collect();
                assert_eq!(from_index, records);
            });
        }
    }
}
