//! Finding what a retention pass may prune in an [`IdSet`] whose ids sort by
//! creation time (48 bits of milliseconds first, in Crockford base32, as
//! `opsflow_api::ids` makes them): the ids older than a cutoff, read oldest first
//! from a cursor kept in its own record, a bounded number of shards per call.

use crate::id_set::IdSet;
use crate::keys::Key;
use crate::kv::{Kv, StoreError};
use crate::records::{Records, UpdateError, Versioned};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The first 10 characters of every id made at `millis` (its time part): an id
/// sorts below this exactly when it was made earlier.
pub(crate) fn time_prefix(millis: i64) -> String {
    let mut m = u64::try_from(millis.max(0)).unwrap_or_default() & 0xFFFF_FFFF_FFFF;
    let mut out = [b'0'; 10];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(m & 31) as usize];
        m >>= 5;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The time (unix milliseconds) an id was made at, from its first 10 characters.
pub(crate) fn time_of(id: &str) -> Option<i64> {
    id.get(..10)?.bytes().try_fold(0_i64, |m, c| {
        let digit = ALPHABET.iter().position(|a| *a == c)?;
        Some(m * 32 + i64::try_from(digit).ok()?)
    })
}

/// Where a retention pass left an index.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Cursor {
    /// Every id up to this one was pruned or kept (`kept`).
    pub after: Option<String>,
    /// Ids past the cutoff that were kept (still in use); checked again on
    /// every pass.
    #[serde(default)]
    pub kept: BTreeSet<String>,
}

/// The ids older than `cutoff_ms` after the cursor, from at most `max_shards`
/// shards: the ids, where the cursor goes once they are dealt with, and whether
/// older ids may be left.
pub(crate) struct Expired {
    pub ids: Vec<String>,
    pub cursor: Cursor,
    pub more: bool,
}

/// Reads the cursor at `cursor_key` and the expired ids after it.
pub(crate) async fn expired<K: Kv>(
    kv: &K,
    set: &IdSet<'_, K>,
    cursor_key: &Key,
    cutoff_ms: i64,
    max_shards: usize,
) -> Result<Expired, StoreError> {
    let mut cursor: Cursor = Records::new(kv)
        .get::<Cursor>(cursor_key)
        .await?
        .map(|v| v.value)
        .unwrap_or_default();
    let prefix = time_prefix(cutoff_ms);
    let (found, next) = set.scan(cursor.after.as_deref(), max_shards).await?;
    let young = found.iter().any(|id| id.as_str() >= prefix.as_str());
    let ids: Vec<String> = found
        .into_iter()
        .filter(|id| id.as_str() < prefix.as_str())
        .collect();
    if let Some(last) = ids.last() {
        cursor.after = Some(last.clone());
    }
    Ok(Expired {
        ids,
        cursor,
        more: !young && next.is_some(),
    })
}

/// Stores the cursor (absolute: a repeated pass writes the same).
pub(crate) async fn save_cursor<K: Kv>(
    kv: &K,
    cursor_key: &Key,
    cursor: &Cursor,
) -> Result<(), StoreError> {
    let result = Records::new(kv)
        .upsert(cursor_key, |v: Versioned<Cursor>| {
            if &v.value == cursor {
                Err(())
            } else {
                Ok(cursor.clone())
            }
        })
        .await;
    match result {
        Ok(_) | Err(UpdateError::Refused(())) | Err(UpdateError::NotFound) => Ok(()),
        Err(UpdateError::Store(e)) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_time_prefix_orders_like_the_time() {
        // 2030-03-11T12:30:00Z as opsflow_api::ids::id_from spells it.
        let t = 1_899_462_600_000_i64;
        assert!(time_prefix(t) < time_prefix(t + 1));
        assert!(time_prefix(t - 1) < time_prefix(t));
        assert_eq!(time_prefix(0), "0000000000");
        assert_eq!(time_prefix(t).len(), 10);
        let id = format!("{}{}", time_prefix(t), "ABCDEFGHJKMNPQRS");
        assert_eq!(time_of(&id), Some(t));
        assert_eq!(time_of("short"), None);
    }
}
