//! Versioned JSON records, written only with compare-and-swap.
//!
//! **Forward compatible.** Each record is stored as `{"version", "schema", "value"}`.
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

use crate::keys::Key;
use crate::kv::{Kv, StoreError};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::Value;

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

/// The stored form of a record.
#[derive(Serialize)]
struct Envelope<'a, T> {
    version: u64,
    schema: u32,
    value: &'a T,
}

/// The stored form as read; records written before schemas existed have none.
#[derive(Deserialize)]
struct StoredEnvelope<T> {
    version: u64,
    #[serde(default = "first_schema")]
    #[allow(dead_code)]
    schema: u32,
    value: T,
}

fn first_schema() -> u32 {
    1
}

/// One step of a JSON path.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

/// A record as read, with the paths of the fields this build did not know.
struct Read<T> {
    record: Versioned<T>,
    unknown: Vec<Vec<Step>>,
}

fn decode_tracking<T: DeserializeOwned>(key: &Key, bytes: &[u8]) -> Result<Read<T>, StoreError> {
    let mut unknown = Vec::new();
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let stored: StoredEnvelope<T> = serde_ignored::deserialize(&mut de, |path| {
        unknown.push(steps(&path));
    })
    .and_then(|stored| de.end().map(|()| stored))
    .map_err(|e| StoreError::Corrupt(format!("{key}: {e}")))?;
    Ok(Read {
        record: Versioned {
            version: stored.version,
            value: stored.value,
        },
        unknown,
    })
}

fn steps(path: &serde_ignored::Path<'_>) -> Vec<Step> {
    use serde_ignored::Path;
    let mut out = match path {
        Path::Root => return Vec::new(),
        Path::Seq { parent, .. }
        | Path::Map { parent, .. }
        | Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => steps(parent),
    };
    match path {
        Path::Seq { index, .. } => out.push(Step::Index(*index)),
        Path::Map { key, .. } => out.push(Step::Key(key.clone())),
        _ => {}
    }
    out
}

/// A record for reading only: unknown fields are skipped, not tracked.
fn decode<T: DeserializeOwned>(key: &Key, bytes: &[u8]) -> Result<Versioned<T>, StoreError> {
    let stored: StoredEnvelope<T> =
        serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(format!("{key}: {e}")))?;
    Ok(Versioned {
        version: stored.version,
        value: stored.value,
    })
}

/// The stored bytes of a record at `version`, written by this build.
pub fn encode<T: Serialize>(version: u64, value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(&Envelope {
        version,
        schema: SCHEMA,
        value,
    })
    .map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Like [`encode`], carrying over the fields at `unknown` from the record as it was
/// stored (`old`), so a field a newer build wrote survives this build's rewrite.
fn encode_preserving<T: Serialize>(
    version: u64,
    value: &T,
    old: &[u8],
    unknown: &[Vec<Step>],
) -> Result<Vec<u8>, StoreError> {
    if unknown.is_empty() {
        return encode(version, value);
    }
    let corrupt = |e: serde_json::Error| StoreError::Corrupt(e.to_string());
    let old: Value = serde_json::from_slice(old).map_err(corrupt)?;
    let mut new = serde_json::to_value(Envelope {
        version,
        schema: SCHEMA,
        value,
    })
    .map_err(corrupt)?;
    for path in unknown {
        carry_over(&old, &mut new, path);
    }
    serde_json::to_vec(&new).map_err(corrupt)
}

/// Copies the value at `path` in `old` into `new`, when the object that held it is
/// still there in `new` and nothing sits at `path` there yet. Objects are followed by
/// key. Array elements are followed by their `id`: the element of `new` with the
/// same `id` as the old one, never whatever now sits at the old index (arrays are
/// trimmed, reordered and replaced); an element without an `id` keeps nothing.
fn carry_over(old: &Value, new: &mut Value, path: &[Step]) {
    let Some((Step::Key(name), parents)) = path.split_last() else {
        return;
    };
    let mut from = old;
    let mut to = new;
    for step in parents {
        let Some((f, t)) = descend(from, to, step) else {
            return;
        };
        from = f;
        to = t;
    }
    let (Some(value), Some(object)) = (from.get(name), to.as_object_mut()) else {
        return;
    };
    object.entry(name.clone()).or_insert_with(|| value.clone());
}

/// One step down both trees: the same key, or the array element with the same `id`.
fn descend<'o, 'n>(
    old: &'o Value,
    new: &'n mut Value,
    step: &Step,
) -> Option<(&'o Value, &'n mut Value)> {
    match step {
        Step::Key(k) => Some((old.get(k)?, new.get_mut(k)?)),
        Step::Index(i) => {
            let element = old.get(i)?;
            let id = element.get("id")?;
            let twin = new
                .as_array_mut()?
                .iter_mut()
                .find(|e| e.get("id") == Some(id))?;
            Some((element, twin))
        }
    }
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
        for chunk in raw.chunks(100) {
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
        let (current, cas) = self.kv.watch(key.as_str()).await?;
        if current.is_some() {
            return Ok(false);
        }
        self.kv.swap(cas, &encode(1, value)?).await
    }

    /// Writes a new version computed from the current one, retrying when another
    /// writer got there first. `f` sees the current record and returns the new value
    /// (or refuses); the new version is the old one + 1.
    pub async fn update<T, E>(
        &self,
        key: &Key,
        mut f: impl FnMut(Versioned<T>) -> Result<T, E>,
    ) -> Result<Versioned<T>, UpdateError<E>>
    where
        T: Serialize + DeserializeOwned,
    {
        for _ in 0..MAX_ATTEMPTS {
            let (current, cas) = self.kv.watch(key.as_str()).await?;
            let Some(bytes) = current else {
                return Err(UpdateError::NotFound);
            };
            let read = decode_tracking::<T>(key, &bytes)?;
            let version = read.record.version + 1;
            let value = f(read.record).map_err(UpdateError::Refused)?;
            let encoded = encode_preserving(version, &value, &bytes, &read.unknown)?;
            if self.kv.swap(cas, &encoded).await? {
                return Ok(Versioned { version, value });
            }
        }
        Err(UpdateError::Store(StoreError::Contended))
    }

    /// Like [`Records::update`] but creates the record from `T::default()` when absent.
    pub async fn upsert<T, E>(
        &self,
        key: &Key,
        mut f: impl FnMut(Versioned<T>) -> Result<T, E>,
    ) -> Result<Versioned<T>, UpdateError<E>>
    where
        T: Serialize + DeserializeOwned + Default,
    {
        for _ in 0..MAX_ATTEMPTS {
            let (current, cas) = self.kv.watch(key.as_str()).await?;
            let (read, bytes) = match current {
                Some(bytes) => (decode_tracking::<T>(key, &bytes)?, bytes),
                None => (
                    Read {
                        record: Versioned {
                            version: 0,
                            value: T::default(),
                        },
                        unknown: Vec::new(),
                    },
                    Vec::new(),
                ),
            };
            let version = read.record.version + 1;
            let value = f(read.record).map_err(UpdateError::Refused)?;
            let encoded = encode_preserving(version, &value, &bytes, &read.unknown)?;
            if self.kv.swap(cas, &encoded).await? {
                return Ok(Versioned { version, value });
            }
        }
        Err(UpdateError::Store(StoreError::Contended))
    }
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
            let stored: serde_json::Value = serde_json::from_slice(&raw).expect("json");
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
