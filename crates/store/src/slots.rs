//! Hourly send capacity: one atomic counter per (channel, hour) under
//! [`keys::content::slot`](crate::keys::content::slot), checked against the
//! channel's cap.
//!
//! A claim increments the counter and keeps the slot when the result is within the
//! cap, otherwise gives the increment back. Concurrent claims can therefore never
//! overrun the cap (at worst a claim racing a release is refused). Counters are
//! decoded with [`decode_counter`]: a corrupt counter is an error, never a silent 0
//! that would let a full hour look empty.

use crate::keys::content::slot;
use crate::kv::{Kv, StoreError, decode_counter};
use std::collections::BTreeMap;

/// The send slots of one channel.
pub struct Slots<'a, K: Kv> {
    kv: &'a K,
    channel: &'a str,
}

impl<'a, K: Kv> Slots<'a, K> {
    /// The slots of `channel` in `kv`.
    pub fn new(kv: &'a K, channel: &'a str) -> Self {
        Self { kv, channel }
    }

    /// Takes one send in the hour starting at `hour` if fewer than `cap` are taken:
    /// one increment, plus one to give it back when the hour is full.
    pub async fn claim(&self, hour: i64, cap: u32) -> Result<bool, StoreError> {
        let key = slot(self.channel, hour);
        let n = self.kv.increment(key.as_str(), 1).await?;
        if n <= i64::from(cap) {
            return Ok(true);
        }
        self.kv.increment(key.as_str(), -1).await?;
        Ok(false)
    }

    /// Gives back a send taken in the hour starting at `hour` (one increment).
    pub async fn release(&self, hour: i64) -> Result<(), StoreError> {
        self.kv
            .increment(slot(self.channel, hour).as_str(), -1)
            .await
            .map(drop)
    }

    /// Sends taken in each of `hours`, in one `get_many`; an hour never claimed
    /// has taken 0.
    pub async fn taken(&self, hours: &[i64]) -> Result<BTreeMap<i64, i64>, StoreError> {
        let keys: Vec<String> = hours
            .iter()
            .map(|h| slot(self.channel, *h).as_str().to_string())
            .collect();
        let mut found: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        found.extend(self.kv.get_many(&keys).await?);
        hours
            .iter()
            .zip(&keys)
            .map(|(hour, key)| {
                let n = match found.get(key) {
                    Some(bytes) => decode_counter(bytes)?,
                    None => 0,
                };
                Ok((*hour, n))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryKv;
    use futures::executor::block_on;

    const HOUR: i64 = 1_700_000_000 - 1_700_000_000 % 3_600;

    #[test]
    fn claims_stop_at_the_cap_and_a_refused_claim_takes_nothing() {
        let kv = MemoryKv::default();
        let email = Slots::new(&kv, "email");
        block_on(async {
            assert!(email.claim(HOUR, 2).await.expect("ok"));
            assert!(email.claim(HOUR, 2).await.expect("ok"));
            let before = kv.calls();
            assert!(!email.claim(HOUR, 2).await.expect("ok"));
            assert_eq!(kv.calls() - before, 2, "increment, then give it back");
            assert_eq!(email.taken(&[HOUR]).await.expect("ok")[&HOUR], 2);
            email.release(HOUR).await.expect("ok");
            assert!(email.claim(HOUR, 2).await.expect("ok"));
        });
    }

    #[test]
    fn taken_reads_every_hour_in_one_call_per_channel() {
        let kv = MemoryKv::default();
        block_on(async {
            Slots::new(&kv, "email").claim(HOUR, 5).await.expect("ok");
            Slots::new(&kv, "sms").claim(HOUR, 5).await.expect("ok");
            let before = kv.calls();
            let taken = Slots::new(&kv, "email")
                .taken(&[HOUR, HOUR + 3_600])
                .await
                .expect("ok");
            assert_eq!(kv.calls() - before, 1);
            assert_eq!(taken, BTreeMap::from([(HOUR, 1), (HOUR + 3_600, 0)]));
        });
    }

    #[test]
    fn a_corrupt_counter_is_an_error_not_an_empty_hour() {
        let kv = MemoryKv::default();
        block_on(async {
            kv.set(slot("email", HOUR).as_str(), b"full")
                .await
                .expect("ok");
            let err = Slots::new(&kv, "email").taken(&[HOUR]).await.unwrap_err();
            assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
        });
    }
}
