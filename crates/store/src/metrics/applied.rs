//! The batches applied to a counter record or to an open hour of a rollup
//! (batch key → day of receipt), in a stored form that is cheap to write.
//!
//! A campaign's open hour holds every batch that counted an event in it, and
//! the hour record keeps them until the cleanup pass prunes their day, so the
//! set grows with a campaign's batches and every compare-and-swap of the record
//! decodes and re-encodes it. Stored as one JSON entry per batch
//! (`"wh:b:<day>:<digest>": <day>`) that was most of a webhook batch's rollup
//! write. Batch keys are `wh:b:<day>:<32 hex digits>` with the day of receipt, so
//! here they are kept per day as their 128-bit digests, each written as two
//! 64-bit integers:
//!
//! ```json
//! {"20423": [<high>, <low>, <high>, <low>, …], "wh:b:20423:…@1764500400": 20423}
//! ```
//!
//! Integers, not hex text: the JSON writer checks every byte of a string for
//! escapes, which on the size-optimised components cost ~80 wasm instructions a
//! byte — more than the rest of the write. Anything else (an open hour's id
//! `<batch>@<hour>`) keeps the old entry form, and records written in the old
//! form read as they are. An earlier release reading the new form fails to
//! decode the record (`Corrupt`, a 503 the sender retries) rather than
//! miscounting.

use crate::keys::metrics as keys;
use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;

/// Hex digits of a batch key's digest.
const DIGEST_LEN: usize = 32;

/// Batch keys (and hour ids) with the day each was received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Applied {
    /// Day of receipt → digests of the batch keys received that day, in order.
    by_day: BTreeMap<i64, Vec<u128>>,
    /// Every other entry: key → day.
    other: BTreeMap<String, i64>,
}

/// The digest of `key` when it is the batch key `wh:b:<day>:<digest>`.
fn digest_of(key: &str, day: i64) -> Option<u128> {
    let hex = key.get(key.len().checked_sub(DIGEST_LEN)?..)?;
    let lower = hex
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !lower || keys::batch(day, hex).as_str() != key {
        return None;
    }
    u128::from_str_radix(hex, 16).ok()
}

impl Applied {
    pub(super) fn contains(&self, key: &str) -> bool {
        if self.other.contains_key(key) {
            return true;
        }
        keys::batch_day(key)
            .and_then(|day| Some((self.by_day.get(&day)?, digest_of(key, day)?)))
            .is_some_and(|(digests, digest)| digests.contains(&digest))
    }

    /// Records `key`, received on `day` (no change when already there).
    pub(super) fn insert(&mut self, key: &str, day: i64) {
        if self.contains(key) {
            return;
        }
        match digest_of(key, day) {
            Some(digest) => self.by_day.entry(day).or_default().push(digest),
            None => {
                self.other.insert(key.to_string(), day);
            }
        }
    }

    /// Adds every entry of `from`.
    pub(super) fn extend(&mut self, from: &Applied) {
        for (day, digests) in &from.by_day {
            let have = self.by_day.entry(*day).or_default();
            let known: std::collections::HashSet<u128> = have.iter().copied().collect();
            have.extend(digests.iter().filter(|d| !known.contains(d)));
        }
        for (key, day) in &from.other {
            self.other.entry(key.clone()).or_insert(*day);
        }
    }

    /// The entries received on or before `day`.
    pub(super) fn through(&self, day: i64) -> impl Iterator<Item = String> + '_ {
        let batches = self.by_day.range(..=day).flat_map(|(d, digests)| {
            digests.iter().map(move |digest| {
                keys::batch(*d, &format!("{digest:032x}"))
                    .as_str()
                    .to_string()
            })
        });
        let other = self
            .other
            .iter()
            .filter(move |(_, d)| **d <= day)
            .map(|(k, _)| k.clone());
        batches.chain(other)
    }

    /// Forgets the entries received on or before `day`; whether any was.
    pub(super) fn forget_through(&mut self, day: i64) -> bool {
        let before = (self.by_day.len(), self.other.len());
        self.by_day.retain(|d, _| *d > day);
        self.other.retain(|_, d| *d > day);
        before != (self.by_day.len(), self.other.len())
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.by_day.values().map(Vec::len).sum::<usize>() + self.other.len()
    }
}

/// A day's digests as the integers they are stored as (high, low halves).
struct Halves<'a>(&'a [u128]);

impl Serialize for Halves<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(Some(self.0.len() * 2))?;
        for digest in self.0 {
            seq.serialize_element(&((digest >> 64) as u64))?;
            seq.serialize_element(&(*digest as u64))?;
        }
        seq.end()
    }
}

impl Serialize for Applied {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.by_day.len() + self.other.len()))?;
        for (day, digests) in &self.by_day {
            map.serialize_entry(&day.to_string(), &Halves(digests))?;
        }
        for (key, day) in &self.other {
            map.serialize_entry(key, day)?;
        }
        map.end()
    }
}

/// A map value: a day (an entry) or a day's digests.
enum Stored {
    Day(i64),
    Digests(Vec<u64>),
}

/// Told apart by the value's own type (`deserialize_any`), not by trying each
/// form on a buffered copy as `#[serde(untagged)]` would, per integer.
impl<'de> Deserialize<'de> for Stored {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct StoredVisitor;
        impl<'de> Visitor<'de> for StoredVisitor {
            type Value = Stored;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a day or a list of digest halves")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Stored, E> {
                Ok(Stored::Day(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Stored, E> {
                i64::try_from(v)
                    .map(Stored::Day)
                    .map_err(|_| E::custom("applied: day out of range"))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Stored, A::Error> {
                let mut halves = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(half) = seq.next_element::<u64>()? {
                    halves.push(half);
                }
                Ok(Stored::Digests(halves))
            }
        }
        d.deserialize_any(StoredVisitor)
    }
}

impl<'de> Deserialize<'de> for Applied {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct AppliedVisitor;
        impl<'de> Visitor<'de> for AppliedVisitor {
            type Value = Applied;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of applied batches")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<Applied, A::Error> {
                let mut out = Applied::default();
                while let Some(key) = entries.next_key::<String>()? {
                    match entries.next_value::<Stored>()? {
                        Stored::Day(day) => out.insert(&key, day),
                        Stored::Digests(halves) => {
                            let day: i64 = key.parse().map_err(|_| {
                                de::Error::custom(format!("applied: {key:?} is not a day"))
                            })?;
                            if halves.len() % 2 != 0 {
                                return Err(de::Error::custom(format!(
                                    "applied: day {day} holds half a digest"
                                )));
                            }
                            out.by_day.entry(day).or_default().extend(
                                halves
                                    .chunks_exact(2)
                                    .map(|h| (u128::from(h[0]) << 64) | u128::from(h[1])),
                            );
                        }
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_map(AppliedVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(day: i64, n: u8) -> String {
        keys::batch(day, &format!("{n:032x}")).as_str().to_string()
    }

    #[test]
    fn batch_keys_are_stored_as_digests_per_day_and_read_back() {
        let mut a = Applied::default();
        a.insert(&batch(20_000, 1), 20_000);
        a.insert(&batch(20_000, 2), 20_000);
        a.insert(&batch(20_001, 3), 20_001);
        a.insert(&format!("{}@3600", batch(20_000, 1)), 20_001);
        a.insert(&batch(20_000, 2), 20_000);
        assert_eq!(a.len(), 4);
        let json = serde_json::to_string(&a).unwrap();
        assert!(json.contains("\"20000\":[0,1,0,2]"), "{json}");
        let back: Applied = serde_json::from_str(&json).unwrap();
        assert_eq!(back, a);
        assert!(back.contains(&batch(20_000, 2)));
        assert!(
            !back.contains(&batch(20_001, 2)),
            "the day is part of the key"
        );
        assert!(back.contains(&format!("{}@3600", batch(20_000, 1))));
    }

    #[test]
    fn digests_with_the_high_bits_set_survive_the_integers() {
        let key = keys::batch(20_000, &"f".repeat(32)).as_str().to_string();
        let mut a = Applied::default();
        a.insert(&key, 20_000);
        let back: Applied = serde_json::from_slice(&serde_json::to_vec(&a).unwrap()).unwrap();
        assert!(back.contains(&key));
        assert_eq!(back.through(20_000).collect::<Vec<_>>(), vec![key]);
    }

    #[test]
    fn the_old_entry_form_reads_as_the_same_set() {
        let old = format!(
            "{{\"{}\":20000,\"{}\":20001,\"{}@7200\":20001}}",
            batch(20_000, 7),
            batch(20_001, 8),
            batch(20_000, 7)
        );
        let a: Applied = serde_json::from_str(&old).unwrap();
        assert!(a.contains(&batch(20_000, 7)) && a.contains(&batch(20_001, 8)));
        assert_eq!(a.len(), 3);
        let mut through: Vec<String> = a.through(20_000).collect();
        through.sort();
        assert_eq!(through, vec![batch(20_000, 7)]);
    }

    #[test]
    fn forgetting_a_day_and_merging_keep_each_batch_once() {
        let mut a = Applied::default();
        a.insert(&batch(20_000, 1), 20_000);
        let mut b = Applied::default();
        b.insert(&batch(20_000, 1), 20_000);
        b.insert(&batch(20_002, 5), 20_002);
        a.extend(&b);
        assert_eq!(a.len(), 2);
        assert!(a.forget_through(20_001));
        assert!(!a.forget_through(20_001));
        assert_eq!(
            a.through(i64::MAX).collect::<Vec<_>>(),
            vec![batch(20_002, 5)]
        );
    }

    #[test]
    fn malformed_digests_are_refused() {
        for bad in [
            r#"{"20000":"abc"}"#,
            r#"{"x":"00000000000000000000000000000000"}"#,
        ] {
            assert!(serde_json::from_str::<Applied>(bad).is_err(), "{bad}");
        }
    }
}
