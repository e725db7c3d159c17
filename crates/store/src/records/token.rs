//! Write tokens: telling "my write landed" from "someone else's won" when the store
//! cannot say.
//!
//! A compare-and-swap reported as failed may have written (Spin 4.1's Redis store
//! reports every swap as failed), and an error after a write was sent (a timeout on
//! a hosted store) leaves the outcome unknown. Each record write therefore carries a
//! token, `<version>.<nonce>`, and a record keeps the tokens of its last [`HISTORY`]
//! writes. Reading the record back settles the question: the token is there (it
//! landed), or it is not and fewer than [`HISTORY`] writes came since (it did not),
//! or too many came since to tell.

use super::envelope::Stamp;
use crate::keys::Key;
use crate::kv::StoreError;
use serde::{Deserialize, Serialize};

/// How many writes a record remembers. A write is settled by one read right after
/// it, so more than this many other writes landing in between is what it would
/// take to leave an outcome undecided. Sixteen webhook batches racing for one
/// record on a busy 2-core machine got past 8; 32 costs ~0.7 KiB a record.
pub const HISTORY: usize = 32;

/// One write's identity: the version it writes and a random nonce.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WriteToken(String);

impl WriteToken {
    /// A token for writing `version`, or an error when the random source fails.
    pub fn new(version: u64) -> Result<Self, StoreError> {
        let mut nonce = [0u8; 8];
        getrandom::fill(&mut nonce)
            .map_err(|e| StoreError::Unavailable(format!("the random source failed: {e}")))?;
        Ok(Self(format!(
            "{version}.{:016x}",
            u64::from_le_bytes(nonce)
        )))
    }

    /// The version this token writes.
    pub fn version(&self) -> u64 {
        self.0
            .split_once('.')
            .and_then(|(v, _)| v.parse().ok())
            .unwrap_or(0)
    }
}

/// Whether a write whose outcome was not confirmed is in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// The record holds this write (possibly with later writes on top).
    Landed,
    /// The write is not there and never will be.
    Lost,
    /// Too many writes came since to tell.
    Unknown,
}

/// Settles `token` against the record now stored at `key` (`None`: absent).
pub fn settle(key: &Key, stored: Option<&[u8]>, token: &WriteToken) -> Result<Settled, StoreError> {
    let Some(bytes) = stored else {
        return Ok(Settled::Lost);
    };
    let stamp = Stamp::of(key, bytes)?;
    if stamp.writers.contains(token) {
        return Ok(Settled::Landed);
    }
    // Each later write pushed one token: had this one landed, it would still be
    // among the last HISTORY. A version below ours means the record was deleted
    // and made again since, without our write.
    let later = stamp.version.saturating_sub(token.version());
    Ok(if later < HISTORY as u64 {
        Settled::Lost
    } else {
        Settled::Unknown
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(version: u64, writers: &[&WriteToken]) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "version": version, "schema": 1, "writers": writers, "value": 0
        }))
        .expect("json")
    }

    #[test]
    fn tokens_are_unique_and_carry_their_version() {
        let a = WriteToken::new(7).expect("random");
        let b = WriteToken::new(7).expect("random");
        assert_ne!(a, b);
        assert_eq!(a.version(), 7);
    }

    #[test]
    fn a_write_is_landed_lost_or_unknown_by_what_the_record_remembers() {
        let key = crate::keys::campaigns::campaign("c");
        let mine = WriteToken::new(3).expect("random");
        let theirs = WriteToken::new(3).expect("random");
        let later = WriteToken::new(4).expect("random");
        let check = |bytes: Option<Vec<u8>>| settle(&key, bytes.as_deref(), &mine).expect("ok");
        assert_eq!(check(None), Settled::Lost, "absent");
        assert_eq!(check(Some(stored(3, &[&mine]))), Settled::Landed);
        assert_eq!(
            check(Some(stored(4, &[&later, &mine]))),
            Settled::Landed,
            "with a later write on top"
        );
        assert_eq!(check(Some(stored(3, &[&theirs]))), Settled::Lost);
        assert_eq!(check(Some(stored(2, &[]))), Settled::Lost, "not yet");
        assert_eq!(
            check(Some(stored(3 + HISTORY as u64, &[&later]))),
            Settled::Unknown,
            "too many writes since to tell"
        );
        assert!(settle(&key, Some(b"not json"), &mine).is_err());
    }
}
