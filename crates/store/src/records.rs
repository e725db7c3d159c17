//! Versioned JSON records, written only with compare-and-swap.

use crate::keys::Key;
use crate::kv::{Kv, StoreError};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

/// How many times an update re-reads and retries after losing a race.
const MAX_ATTEMPTS: usize = 16;

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

/// Typed access to records.
pub struct Records<'a, K: Kv> {
    kv: &'a K,
}

fn decode<T: DeserializeOwned>(key: &Key, bytes: &[u8]) -> Result<Versioned<T>, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(format!("{key}: {e}")))
}

fn encode<T: Serialize>(v: &Versioned<T>) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(v).map_err(|e| StoreError::Corrupt(e.to_string()))
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
        let bytes = encode(&Versioned { version: 1, value })?;
        self.kv.swap(cas, &bytes).await
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
            let current: Versioned<T> = decode(key, &bytes)?;
            let version = current.version + 1;
            let value = f(current).map_err(UpdateError::Refused)?;
            let next = Versioned { version, value };
            if self.kv.swap(cas, &encode(&next)?).await? {
                return Ok(next);
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
            let current: Versioned<T> = match current {
                Some(bytes) => decode(key, &bytes)?,
                None => Versioned {
                    version: 0,
                    value: T::default(),
                },
            };
            let version = current.version + 1;
            let value = f(current).map_err(UpdateError::Refused)?;
            let next = Versioned { version, value };
            if self.kv.swap(cas, &encode(&next)?).await? {
                return Ok(next);
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
}
