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

/// Decodes a counter read back with `get` after `increment`, whichever Spin backend
/// wrote it: the SQLite store keeps an 8-byte little-endian integer, the Redis store
/// (`INCRBY`) decimal text such as `42` or `-3`. Text is recognised first: an 8-byte
/// integer whose bytes are all ASCII digits would be above 3.4 × 10^18, far beyond
/// any counter this app keeps.
pub fn decode_counter(bytes: &[u8]) -> Result<i64, StoreError> {
    if let Some(n) = decimal_counter(bytes) {
        return Ok(n);
    }
    <[u8; 8]>::try_from(bytes)
        .map(i64::from_le_bytes)
        .map_err(|_| StoreError::Corrupt(format!("counter of {} bytes", bytes.len())))
}

/// A counter as decimal text (`-`? digits), as Redis `INCRBY` leaves it.
fn decimal_counter(bytes: &[u8]) -> Option<i64> {
    let digits = bytes.strip_prefix(b"-").unwrap_or(bytes);
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_decode_as_either_spin_backend_wrote_them() {
        // Spin's SQLite store: `i64::to_le_bytes`.
        for n in [0_i64, 1, 42, -3, 255, 256, 12_345_678, i64::MAX, i64::MIN] {
            assert_eq!(decode_counter(&n.to_le_bytes()).ok(), Some(n), "LE {n}");
        }
        // Spin's Redis store: INCRBY's reply as Redis stores it, decimal text.
        for (text, n) in [
            ("0", 0_i64),
            ("42", 42),
            ("-3", -3),
            ("12345678", 12_345_678),
            ("9223372036854775807", i64::MAX),
            ("-9223372036854775808", i64::MIN),
        ] {
            assert_eq!(decode_counter(text.as_bytes()).ok(), Some(n), "text {text}");
        }
        for corrupt in [
            &b""[..],
            b"-",
            b"4 2",
            b"abc",
            b"\x01\x02",
            b"99999999999999999999",
        ] {
            assert!(decode_counter(corrupt).is_err(), "{corrupt:?}");
        }
    }
}
