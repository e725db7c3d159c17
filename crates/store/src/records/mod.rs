//! Versioned JSON records, written only with compare-and-swap.
//!
//! **Checked writes.** Every write carries a [`token`](token::WriteToken); when the
//! store reports a swap as failed, or fails after the write may have been sent, the
//! record is read back to tell whether this write landed before anything is
//! retried or refused (see the `token` module).
//!
//! **Forward compatible.** Each record is stored as
//! `{"version", "schema", "writers", "value"}`.
//! A record may have been written by a newer build (a deploy rolled back, or replicas
//! mid-rollout): its `value` may hold fields this build does not know. Reading
//! tolerates them (stored types do not deny unknown fields; the API's own input
//! parsing does, see `opsflow_api::ApiRequest::json`), and an update writes them back
//! where they were, so the newer build finds its data intact. `schema` is the
//! [`SCHEMA`] of the build that last wrote the record: a newer build reading an
//! older number knows fields it added may not have been maintained by that write.
//!
//! Unknown fields are kept at their JSON path: objects are followed by key, array
//! elements by their `id` (an element without one keeps nothing, since arrays are
//! trimmed, reordered and replaced). A nested object that still exists under the same
//! key is taken to be the same object. Fields inside internally tagged or untagged
//! enums are buffered by serde and not seen, so such enums keep rejecting unknown
//! fields.

mod envelope;
mod token;

pub use envelope::encode;

use crate::keys::Key;
use crate::kv::{Kv, StoreError};
use envelope::{Trail, decode, decode_tracking, encode_next};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use token::{Settled, WriteToken, settle};

/// Keys per `get_many` call: a full page of records (the API's pages hold up to
/// 200) or the shards of a 256,000-campaign index in one round trip.
pub const GET_MANY_CHUNK: usize = 256;

/// How many times an update re-reads and retries after losing a race.
const MAX_ATTEMPTS: usize = 16;

/// The record schema this build writes. Bump it when a stored shape changes in a
/// way an older reader must know about.
pub const SCHEMA: u32 = 1;

/// A record and its version (the ETag).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Versioned<T> {
    /// Starts at 1; +1 on every write.
    pub version: u64,
    /// The record.
    pub value: T,
}

/// Why an update did not happen.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UpdateError<E> {
    /// No record at the key.
    #[error("not found")]
    NotFound,
    /// The closure refused the change.
    #[error("refused")]
    Refused(E),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Decodes a record read with a raw `get_many` (reads that mix record types).
pub(crate) fn decode_record<T: DeserializeOwned>(
    key: &Key,
    bytes: &[u8],
) -> Result<Versioned<T>, StoreError> {
    decode(key, bytes)
}

/// Typed access to records.
pub struct Records<'a, K: Kv> {
    kv: &'a K,
}

impl<'a, K: Kv> Records<'a, K> {
    /// Records in `kv`.
    pub fn new(kv: &'a K) -> Self {
        Self { kv }
    }

    /// Reads a record.
    pub async fn get<T: DeserializeOwned>(
        &self,
        key: &Key,
    ) -> Result<Option<Versioned<T>>, StoreError> {
        match self.kv.get(key.as_str()).await? {
            Some(bytes) => decode(key, &bytes).map(Some),
            None => Ok(None),
        }
    }

    /// Reads many records in one round trip; missing ones are left out.
    pub async fn get_many<T: DeserializeOwned>(
        &self,
        keys: &[Key],
    ) -> Result<Vec<Versioned<T>>, StoreError> {
        let raw: Vec<String> = keys.iter().map(|k| k.as_str().to_string()).collect();
        let mut found = std::collections::HashMap::new();
        for chunk in raw.chunks(GET_MANY_CHUNK) {
            for (k, v) in self.kv.get_many(chunk).await? {
                found.insert(k, v);
            }
        }
        keys.iter()
            .filter_map(|k| found.get(k.as_str()).map(|v| decode(k, v)))
            .collect()
    }

    /// Creates a record at version 1; `false` if one already exists.
    pub async fn create<T: Serialize>(&self, key: &Key, value: &T) -> Result<bool, StoreError> {
        let mut mine = Vec::new();
        for _ in 0..MAX_ATTEMPTS {
            let (current, cas) = self.kv.watch(key.as_str()).await?;
            if let Some(bytes) = &current {
                return landed_earlier(key, bytes, &mine);
            }
            let token = WriteToken::new(1)?;
            let bytes = encode_next(&Trail::default(), value, &token, &[])?;
            match self.swap_checked(key, cas, &bytes, &token).await? {
                Swap::Landed => return Ok(true),
                Swap::Lost => mine.push(token),
            }
        }
        Err(StoreError::Contended)
    }

    /// Writes a new version computed from the current one, retrying when another
    /// writer got there first. `f` sees the current record and returns the new value
    /// (or refuses); the new version is the old one + 1.
    pub async fn update<T, E>(
        &self,
        key: &Key,
        f: impl FnMut(Versioned<T>) -> Result<T, E>,
    ) -> Result<Versioned<T>, UpdateError<E>>
    where
        T: Serialize + DeserializeOwned,
    {
        self.rewrite(key, || None, f).await
    }

    /// Like [`Records::update`] but creates the record from `T::default()` when absent.
    pub async fn upsert<T, E>(
        &self,
        key: &Key,
        f: impl FnMut(Versioned<T>) -> Result<T, E>,
    ) -> Result<Versioned<T>, UpdateError<E>>
    where
        T: Serialize + DeserializeOwned + Default,
    {
        self.rewrite(key, || Some(T::default()), f).await
    }

    /// The update loop: `absent` gives the value to start from when there is no
    /// record (`None`: not found).
    async fn rewrite<T, E>(
        &self,
        key: &Key,
        absent: impl Fn() -> Option<T>,
        mut f: impl FnMut(Versioned<T>) -> Result<T, E>,
    ) -> Result<Versioned<T>, UpdateError<E>>
    where
        T: Serialize + DeserializeOwned,
    {
        let mut mine = Vec::new();
        for _ in 0..MAX_ATTEMPTS {
            let (current, cas) = self.kv.watch(key.as_str()).await?;
            let (record, trail) = match &current {
                Some(bytes) if landed_earlier(key, bytes, &mine)? => {
                    return Ok(decode(key, bytes)?);
                }
                Some(bytes) => decode_tracking::<T>(key, bytes)?,
                None => {
                    let value = absent().ok_or(UpdateError::NotFound)?;
                    (Versioned { version: 0, value }, Trail::default())
                }
            };
            let token = WriteToken::new(trail.version + 1)?;
            let value = f(record).map_err(UpdateError::Refused)?;
            let old = current.as_deref().unwrap_or_default();
            let bytes = encode_next(&trail, &value, &token, old)?;
            match self.swap_checked(key, cas, &bytes, &token).await? {
                Swap::Landed => {
                    return Ok(Versioned {
                        version: token.version(),
                        value,
                    });
                }
                Swap::Lost => mine.push(token),
            }
        }
        Err(UpdateError::Store(StoreError::Contended))
    }

    /// Swaps `bytes` (written by `token`) in, and when the store does not confirm
    /// the write — a swap reported as failed, or an error after the write may have
    /// been sent — reads the record back to settle whether it landed. An error
    /// whose write cannot be settled is returned as it came.
    async fn swap_checked(
        &self,
        key: &Key,
        cas: K::Cas,
        bytes: &[u8],
        token: &WriteToken,
    ) -> Result<Swap, StoreError> {
        let error = match self.kv.swap(cas, bytes).await {
            Ok(true) => return Ok(Swap::Landed),
            Ok(false) => None,
            Err(e) => Some(e),
        };
        let settled = match self.kv.get(key.as_str()).await {
            Ok(stored) => settle(key, stored.as_deref(), token),
            Err(e) => Err(e),
        };
        match (settled, error) {
            (Ok(Settled::Landed), _) => Ok(Swap::Landed),
            (Ok(Settled::Lost), _) => Ok(Swap::Lost),
            (_, Some(e)) => Err(e),
            (Ok(Settled::Unknown), None) => Err(StoreError::Unavailable(format!(
                "{key}: the outcome of a write is unknown (too many writes since)"
            ))),
            (Err(e), None) => Err(e),
        }
    }
}

/// What a checked swap found.
enum Swap {
    /// This write is in the store.
    Landed,
    /// It is not: another writer won, or the write never happened.
    Lost,
}

/// Whether the record `bytes` holds a write of this call judged lost before (a
/// write that reached the store after the read that settled it).
fn landed_earlier(key: &Key, bytes: &[u8], mine: &[WriteToken]) -> Result<bool, StoreError> {
    for token in mine {
        if settle(key, Some(bytes), token)? == Settled::Landed {
            return Ok(true);
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryKv;
    use futures::executor::block_on;

    #[test]
    fn create_get_update_and_refuse() {
        let kv = MemoryKv::default();
        let r = Records::new(&kv);
        let key = crate::keys::campaigns::campaign("c1");
        block_on(async {
            assert!(r.create(&key, &5u32).await.expect("ok"));
            assert!(
                !r.create(&key, &6u32).await.expect("ok"),
                "create never overwrites"
            );
            let v = r
                .update(&key, |c: Versioned<u32>| Ok::<_, ()>(c.value + 1))
                .await
                .expect("updated");
            assert_eq!((v.version, v.value), (2, 6));
            let refused = r
                .update(&key, |_: Versioned<u32>| Err::<u32, _>("no"))
                .await;
            assert_eq!(refused, Err(UpdateError::Refused("no")));
            let missing = crate::keys::campaigns::campaign("nope");
            assert_eq!(
                r.update(&missing, |c: Versioned<u32>| Ok::<_, ()>(c.value))
                    .await,
                Err(UpdateError::NotFound)
            );
            let got: Versioned<u32> = r.get(&key).await.expect("ok").expect("present");
            assert_eq!(got.version, 2);
        });
    }

    #[test]
    fn a_swap_reported_failed_that_wrote_counts_as_written_and_is_applied_once() {
        // Spin 4.1's Redis store reports every swap as failed, written or not.
        let kv = MemoryKv::default();
        kv.report_swaps_failed(true);
        let r = Records::new(&kv);
        let key = crate::keys::campaigns::campaign("c1");
        block_on(async {
            assert!(
                r.create(&key, &5u32).await.expect("ok"),
                "created, not a clash"
            );
            assert!(
                !r.create(&key, &6u32).await.expect("ok"),
                "a real clash still is one"
            );
            let mut runs = 0;
            let v = r
                .update(&key, |c: Versioned<u32>| {
                    runs += 1;
                    Ok::<_, ()>(c.value + 1)
                })
                .await
                .expect("updated");
            assert_eq!((v.version, v.value, runs), (2, 6, 1));
            let fresh = crate::keys::campaigns::campaign("c2");
            let v = r
                .upsert(&fresh, |c: Versioned<u32>| Ok::<_, ()>(c.value + 3))
                .await
                .expect("upserted");
            assert_eq!((v.version, v.value), (1, 3));
            let stored: Versioned<u32> = r.get(&key).await.expect("ok").expect("present");
            assert_eq!((stored.version, stored.value), (2, 6));
        });
    }

    #[test]
    fn an_error_after_the_write_landed_is_settled_as_written() {
        let kv = MemoryKv::default();
        let r = Records::new(&kv);
        let key = crate::keys::campaigns::campaign("c1");
        block_on(async {
            kv.fail_writes_after_writing(1);
            assert!(r.create(&key, &1u32).await.expect("created"));
            for expected in 2..5u64 {
                kv.fail_writes_after_writing(1);
                let mut runs = 0;
                let v = r
                    .update(&key, |c: Versioned<u32>| {
                        runs += 1;
                        Ok::<_, ()>(c.value * 10)
                    })
                    .await
                    .expect("updated");
                assert_eq!((v.version, runs), (expected, 1), "applied exactly once");
            }
            let stored: Versioned<u32> = r.get(&key).await.expect("ok").expect("present");
            assert_eq!((stored.version, stored.value), (4, 1000));
        });
    }

    /// A record as this build knows it.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Plan {
        name: String,
        owner: Owner,
        channels: Vec<Owner>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Owner {
        id: String,
    }

    #[test]
    fn a_record_from_a_newer_build_is_read_updated_and_written_back_without_loss() {
        let kv = MemoryKv::default();
        let key = crate::keys::campaigns::campaign("c1");
        // Written by a "newer" build: schema 2, a new top-level field, a new field in
        // a nested object and in an array element.
        let newer = serde_json::json!({
            "version": 4,
            "schema": 2,
            "value": {
                "name": "Spring",
                "owner": {"id": "mia", "team": "growth"},
                "channels": [{"id": "email", "weight": 3}, {"id": "social"}],
                "note": "keep",
                "priority_score": 0.8
            }
        });
        block_on(async {
            kv.set(key.as_str(), newer.to_string().as_bytes())
                .await
                .expect("seeded");
            let r = Records::new(&kv);
            let read: Versioned<Plan> = r.get(&key).await.expect("readable").expect("present");
            assert_eq!(read.value.name, "Spring");
            let updated = r
                .update(&key, |mut v: Versioned<Plan>| {
                    v.value.name = "Spring sale".into();
                    v.value.note = None;
                    Ok::<_, ()>(v.value)
                })
                .await
                .expect("updated");
            assert_eq!(updated.version, 5);
            let raw = kv.get(key.as_str()).await.expect("ok").expect("present");
            let mut stored: serde_json::Value = serde_json::from_slice(&raw).expect("json");
            let writers = stored
                .as_object_mut()
                .and_then(|o| o.remove("writers"))
                .expect("a write token");
            assert!(
                writers[0].as_str().is_some_and(|t| t.starts_with("5.")),
                "{writers}"
            );
            assert_eq!(
                stored,
                serde_json::json!({
                    "version": 5,
                    "schema": SCHEMA,
                    "value": {
                        "name": "Spring sale",
                        "owner": {"id": "mia", "team": "growth"},
                        "channels": [{"id": "email", "weight": 3}, {"id": "social"}],
                        "priority_score": 0.8
                    }
                }),
                "unknown fields survive; a known field this build cleared stays cleared"
            );
        });
    }

    #[test]
    fn unknown_fields_follow_array_elements_by_id_and_elements_without_one_keep_none() {
        let kv = MemoryKv::default();
        let key = crate::keys::campaigns::campaign("c2");
        let newer = serde_json::json!({
            "version": 1,
            "value": {
                "name": "Spring",
                "owner": {"id": "mia"},
                "channels": [{"id": "email", "weight": 3}, {"id": "social", "weight": 1}],
                "steps": [{"n": 1, "extra": true}]
            }
        });
        #[derive(Debug, Serialize, Deserialize)]
        struct WithSteps {
            name: String,
            owner: Owner,
            channels: Vec<Owner>,
            steps: Vec<Step>,
        }
        #[derive(Debug, Serialize, Deserialize)]
        struct Step {
            n: u32,
        }
        block_on(async {
            kv.set(key.as_str(), newer.to_string().as_bytes())
                .await
                .expect("seeded");
            Records::new(&kv)
                .update(&key, |mut v: Versioned<WithSteps>| {
                    // Drop the first channel: "social" moves to index 0.
                    v.value.channels.remove(0);
                    Ok::<_, ()>(v.value)
                })
                .await
                .expect("updated");
            let raw = kv.get(key.as_str()).await.expect("ok").expect("present");
            let stored: serde_json::Value = serde_json::from_slice(&raw).expect("json");
            assert_eq!(
                stored["value"]["channels"],
                serde_json::json!([{"id": "social", "weight": 1}]),
                "social keeps its own weight, not email's"
            );
            assert_eq!(stored["value"]["steps"], serde_json::json!([{"n": 1}]));
        });
    }

    #[test]
    fn records_written_before_schemas_existed_still_read() {
        let kv = MemoryKv::default();
        let key = crate::keys::campaigns::campaign("old");
        block_on(async {
            kv.set(key.as_str(), br#"{"version":2,"value":7}"#)
                .await
                .expect("seeded");
            let r = Records::new(&kv);
            let v: Versioned<u32> = r.get(&key).await.expect("ok").expect("present");
            assert_eq!((v.version, v.value), (2, 7));
        });
    }
}
