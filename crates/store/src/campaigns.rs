//! The campaign index (owned by the campaigns work; other areas may read it):
//! every campaign id with its current stage and owners, sharded by creation order
//! ([`crate::sharded`]) so it holds any number of campaigns.
//!
//! One entry per campaign rather than one set per stage, so a transition moves an
//! id between stages with a single compare-and-swap (on the shard that holds it)
//! and no reader ever sees it in two stages or in none. Each entry carries the campaign record version it reflects, and a
//! write older than the entry is ignored: the campaign record is the truth, and a
//! late or repeated index write can never move an entry backwards.

use crate::keys::campaigns::{campaign_index, legacy_campaign_index};
use crate::kv::{Kv, StoreError};
use crate::sharded::{Scan, Sharded};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Campaigns per index shard: ~80 KiB of JSON (entries are fixed-size: owners are
/// stored as tags), so a shard stays far below the 256 KiB this store allows.
pub const SHARD_CAPACITY: usize = 1_000;

/// Shards one filtered page reads at most (with the directory and the page's
/// records, three KV calls): a filter that matches little returns a short page
/// and a cursor, and the next page reads on from there.
pub const SCAN_SHARDS: usize = 16;

/// Where one campaign is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexEntry {
    /// The stage name (`planning`, ..., `completed`, `cancelled`).
    #[serde(rename = "s")]
    pub stage: String,
    /// The campaign record version this entry reflects.
    #[serde(rename = "v")]
    pub version: u64,
    /// [`owner_tag`]s of the marketing and the operations owner; `None` for an
    /// entry carried over from the unsharded index (it matches every owner filter
    /// until the list repairs it from the record).
    #[serde(rename = "o", default, skip_serializing_if = "Option::is_none")]
    pub owners: Option<[String; 2]>,
}

/// Campaign id → entry; ids sort by creation time.
pub type CampaignIndex = BTreeMap<String, IndexEntry>;

/// A short digest of an owner id: entries stay the same size whatever the id's
/// length. Two owners may share a tag; lists check the record, so a shared tag only
/// costs a record read.
pub fn owner_tag(owner: &str) -> String {
    Sha256::digest(owner.as_bytes())
        .iter()
        .take(4)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The unsharded index's entries.
#[derive(Deserialize)]
struct LegacyEntry {
    stage: String,
    version: u64,
}

fn legacy(value: serde_json::Value) -> Option<CampaignIndex> {
    let old: BTreeMap<String, LegacyEntry> = serde_json::from_value(value).ok()?;
    Some(
        old.into_iter()
            .map(|(id, e)| {
                (
                    id,
                    IndexEntry {
                        stage: e.stage,
                        version: e.version,
                        owners: None,
                    },
                )
            })
            .collect(),
    )
}

fn shards<K: Kv>(kv: &K) -> Sharded<'_, K, IndexEntry> {
    Sharded::new(kv, campaign_index(), SHARD_CAPACITY).with_legacy(legacy_campaign_index(), legacy)
}

/// The whole index: the directory and one `get_many` per 256 shards.
pub async fn index<K: Kv>(kv: &K) -> Result<CampaignIndex, StoreError> {
    shards(kv).all().await
}

/// One page of campaign ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexPage {
    /// Ids whose entries match, oldest first.
    pub ids: Vec<String>,
    /// The cursor of the next page (`None`: nothing after this page).
    pub next: Option<String>,
}

/// Up to `limit` ids after `after` whose entries are in `stage` (any when `None`)
/// and have `owner` (any when `None`) as either owner: the directory and one
/// `get_many` of shards. The entries can lag their records: callers check the
/// records they read.
pub async fn page<K: Kv>(
    kv: &K,
    stage: Option<&str>,
    owner: Option<&str>,
    after: Option<&str>,
    limit: usize,
) -> Result<IndexPage, StoreError> {
    let max_shards = if stage.is_none() && owner.is_none() {
        limit.div_ceil(SHARD_CAPACITY) + 1
    } else {
        SCAN_SHARDS
    };
    let Scan { entries, mut next } = shards(kv).scan(after, max_shards).await?;
    let tag = owner.map(owner_tag);
    let mut ids: Vec<String> = Vec::new();
    for (id, e) in entries {
        if stage.is_some_and(|s| e.stage != s) {
            continue;
        }
        if let (Some(t), Some(owners)) = (&tag, &e.owners)
            && !owners.contains(t)
        {
            continue;
        }
        if ids.len() == limit {
            next = ids.last().cloned();
            break;
        }
        ids.push(id);
    }
    Ok(IndexPage { ids, next })
}

/// The entries after `after` (from the start when `None`) in at most
/// `max_shards` shards, in id order: the directory and one `get_many`. `next` is
/// the cursor to go on from (`None`: the index is read to its end).
pub async fn scan<K: Kv>(
    kv: &K,
    after: Option<&str>,
    max_shards: usize,
) -> Result<Scan<IndexEntry>, StoreError> {
    shards(kv).scan(after, max_shards).await
}

/// What the index records of one campaign.
#[derive(Debug, Clone, Copy)]
pub struct Placement<'a> {
    /// Campaign id.
    pub id: &'a str,
    /// Its stage.
    pub stage: &'a str,
    /// The campaign record version this reflects.
    pub version: u64,
    /// Marketing and operations owner.
    pub owners: [&'a str; 2],
}

/// Records where a campaign is as of its record `version`: one compare-and-swap
/// on its shard. A write for a version older than the entry's, or one that
/// changes nothing, is skipped.
pub async fn set_stage<K: Kv>(kv: &K, p: Placement<'_>) -> Result<(), StoreError> {
    let wanted = IndexEntry {
        stage: p.stage.to_string(),
        version: p.version,
        owners: Some(p.owners.map(owner_tag)),
    };
    shards(kv)
        .update(p.id, |current| match current {
            Some(e) if e.version > p.version || *e == wanted => None,
            _ => Some(wanted.clone()),
        })
        .await
}

/// Removes `id` (undoing the index entry of a create whose record write failed).
pub async fn remove<K: Kv>(kv: &K, id: &str) -> Result<(), StoreError> {
    shards(kv).remove(id).await
}

/// Writes a whole index into a store that has none (bulk loads, benchmarks).
pub async fn load<K: Kv>(kv: &K, index: &CampaignIndex) -> Result<(), StoreError> {
    shards(kv).load(index).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryKv;
    use futures::executor::block_on;

    const STAGES: [&str; 4] = ["planning", "production", "distribution", "cancelled"];

    fn at<'a>(id: &'a str, stage: &'a str, version: u64) -> Placement<'a> {
        Placement {
            id,
            stage,
            version,
            owners: ["mia", "olga"],
        }
    }

    async fn ids_in_stage(kv: &MemoryKv, stage: Option<&str>) -> Result<Vec<String>, StoreError> {
        let mut ids = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let p = page(kv, stage, None, after.as_deref(), 200).await?;
            ids.extend(p.ids);
            match p.next {
                Some(n) => after = Some(n),
                None => return Ok(ids),
            }
        }
    }

    #[test]
    fn a_transition_moves_the_id_and_old_news_is_ignored() {
        let kv = MemoryKv::default();
        block_on(async {
            set_stage(&kv, at("c1", "planning", 1)).await.expect("ok");
            set_stage(&kv, at("c2", "planning", 1)).await.expect("ok");
            set_stage(&kv, at("c1", "production", 3)).await.expect("ok");
            // A late write of an older version does not move it back.
            set_stage(&kv, at("c1", "planning", 2)).await.expect("ok");
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
            set_stage(&kv, at("c1", "production", 3)).await.expect("ok");
            assert_eq!(
                kv.calls() - calls,
                2,
                "an unchanged entry is not rewritten (directory read, shard watch)"
            );
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
                    set_stage(&kv, at(&id, stage, version)).await.expect("ok");
                    // Replays of older writes (retries, slow instances) change nothing.
                    if version > 1 && next(2) == 0 {
                        set_stage(&kv, at(&id, "planning", version - 1))
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

    #[test]
    fn thousands_of_campaigns_page_in_three_calls_with_no_shard_near_the_limit() {
        let kv = MemoryKv::default();
        block_on(async {
            // An unsharded index of an earlier build, migrated on first use.
            let old: BTreeMap<String, serde_json::Value> = (0..1_200)
                .map(|i| {
                    (
                        format!("c{i:06}"),
                        serde_json::json!({"stage": "planning", "version": 1}),
                    )
                })
                .collect();
            let records = crate::Records::new(&kv);
            assert!(
                records
                    .create(&legacy_campaign_index(), &old)
                    .await
                    .expect("ok")
            );
            for i in 1_200..3_200 {
                let id = format!("c{i:06}");
                let stage = if i % 10 == 0 {
                    "distribution"
                } else {
                    "planning"
                };
                let owners = if i % 7 == 0 {
                    ["zoe", "olga"]
                } else {
                    ["mia", "olga"]
                };
                set_stage(
                    &kv,
                    Placement {
                        id: &id,
                        stage,
                        version: 1,
                        owners,
                    },
                )
                .await
                .expect("ok");
            }
            assert_eq!(index(&kv).await.expect("ok").len(), 3_200);
            let mut biggest = 0;
            for k in kv.keys() {
                let len = kv.get(&k).await.expect("ok").map_or(0, |v| v.len());
                biggest = biggest.max(len);
            }
            assert!(biggest < 128 * 1024, "largest record {biggest} bytes");

            for (stage, owner, expected) in [
                (Some("distribution"), None, 200),
                (
                    None,
                    Some("zoe"),
                    1_200 + (1_200..3_200).filter(|i| i % 7 == 0).count(),
                ),
                (Some("planning"), None, 3_000),
            ] {
                let mut seen = 0;
                let mut after: Option<String> = None;
                loop {
                    let before = kv.calls();
                    let p = page(&kv, stage, owner, after.as_deref(), 200)
                        .await
                        .expect("ok");
                    assert!(kv.calls() - before <= 2, "a page of the index is two calls");
                    assert!(p.ids.len() <= 200);
                    seen += p.ids.len();
                    match p.next {
                        Some(n) => after = Some(n),
                        None => break,
                    }
                }
                // Legacy entries have no owner tags: they match every owner filter
                // until a list repairs them from their records.
                assert_eq!(seen, expected, "{stage:?} {owner:?}");
            }
        });
    }
}
