//! The key-value seam.

/// A store failure, as far as the application cares.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The store could not be reached or refused the call; retrying may work.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A stored value could not be decoded.
    #[error("corrupt value: {0}")]
    Corrupt(String),
    /// Compare-and-swap lost too many times in a row.
    #[error("record contended")]
    Contended,
}

/// The operations opsflow uses. All are single round trips to the store.
#[allow(async_fn_in_trait)]
pub trait Kv {
    /// A compare-and-swap handle: the value seen when it was taken.
    type Cas;

    /// Reads a value.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Writes a value.
    async fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError>;
    /// Deletes a key (missing is fine).
    async fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// Reads many values; missing keys are left out.
    async fn get_many(&self, keys: &[String]) -> Result<Vec<(String, Vec<u8>)>, StoreError>;
    /// Writes many values in one call (one transaction on Spin's SQLite backend).
    async fn set_many(&self, pairs: &[(String, Vec<u8>)]) -> Result<(), StoreError>;
    /// Deletes many keys in one call.
    async fn delete_many(&self, keys: &[String]) -> Result<(), StoreError>;
    /// Atomically adds to an 8-byte little-endian counter.
    async fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError>;
    /// Reads a value and takes a compare-and-swap handle on it.
    async fn watch(&self, key: &str) -> Result<(Option<Vec<u8>>, Self::Cas), StoreError>;
    /// Writes only if the value is unchanged since `watch`; `false` if it changed.
    async fn swap(&self, cas: Self::Cas, value: &[u8]) -> Result<bool, StoreError>;
}

/// Decodes a counter value as Spin stores it.
pub fn decode_counter(bytes: &[u8]) -> Result<i64, StoreError> {
    <[u8; 8]>::try_from(bytes)
        .map(i64::from_le_bytes)
        .map_err(|_| StoreError::Corrupt(format!("counter of {} bytes", bytes.len())))
}
