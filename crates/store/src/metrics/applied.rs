//! The batches applied to a counter record or to an open hour of a rollup
//! (batch key → day of receipt), in a stored form that costs a few bytes per
//! batch.
//!
//! A campaign's open hour holds every batch that counted an event in it, and
//! the hour record keeps them until the cleanup pass prunes their day, so the
//! set grows with a campaign's batches and every compare-and-swap of the record
//! decodes and re-encodes it. Stored as one JSON entry per batch
//! (`"wh:b:<day>:<digest>": <day>`) that was most of a webhook batch's rollup
//! write. Batch keys are `wh:b:<day>:<32 hex digits>` with the day of receipt, so
//! here they are kept per day as their digests, concatenated in one string:
//!
//! ```json
//! {"20423": "<digest><digest>…", "wh:b:20423:…@1764500400": 20423}
//! ```
//!
//! Anything else (an open hour's id `<batch>@<hour>`) keeps the old entry form,
//! and records written in the old form are read as they are. An earlier release
//! reading the new form fails to decode the record (`Corrupt`, a 503 the sender
//! retries) rather than miscounting.

use crate::keys::metrics as keys;
use serde::de::{self, MapAccess, Visitor};
use serde::ser::{self, SerializeMap};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use std::collections::{BTreeMap, HashSet};
use std::fmt;

/// Hex digits of a batch key's digest.
const DIGEST_LEN: usize = 32;

/// Batch keys (and hour ids) with the day each was received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Applied {
    /// Day of receipt → digests of the batch keys received that day, concatenated.
    by_day: BTreeMap<i64, String>,
    /// Every other entry: key → day.
    other: BTreeMap<String, i64>,
}

/// The digest of `key` when it is the batch key `wh:b:<day>:<digest>`.
fn digest_of(key: &str, day: i64) -> Option<&str> {
    let digest = key.get(key.len().checked_sub(DIGEST_LEN)?..)?;
    let is_digest = digest
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    (is_digest && keys::batch(day, digest).as_str() == key).then_some(digest)
}

fn digests(joined: &str) -> impl Iterator<Item = &str> {
    // Checked on decode: ASCII, a whole number of digests.
    joined
        .as_bytes()
        .chunks(DIGEST_LEN)
        .filter_map(|c| std::str::from_utf8(c).ok())
}

impl Applied {
    pub(super) fn contains(&self, key: &str) -> bool {
        if self.other.contains_key(key) {
            return true;
        }
        self.by_day.iter().any(|(day, joined)| {
            digest_of(key, *day).is_some_and(|d| digests(joined).any(|have| have == d))
        })
    }

    /// Records `key`, received on `day` (no change when already there).
    pub(super) fn insert(&mut self, key: &str, day: i64) {
        if self.contains(key) {
            return;
        }
        match digest_of(key, day) {
            Some(digest) => self.by_day.entry(day).or_default().push_str(digest),
            None => {
                self.other.insert(key.to_string(), day);
            }
        }
    }

    /// Adds every entry of `from`.
    pub(super) fn extend(&mut self, from: &Applied) {
        for (day, joined) in &from.by_day {
            let have = self.by_day.entry(*day).or_default();
            let known: HashSet<&str> = digests(have).collect();
            let new: String = digests(joined).filter(|d| !known.contains(d)).collect();
            have.push_str(&new);
        }
        for (key, day) in &from.other {
            self.other.entry(key.clone()).or_insert(*day);
        }
    }

    /// The entries received on or before `day`.
    pub(super) fn through(&self, day: i64) -> impl Iterator<Item = String> + '_ {
        let batches = self.by_day.range(..=day).flat_map(|(d, joined)| {
            digests(joined).map(move |digest| keys::batch(*d, digest).as_str().to_string())
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
        let batches: usize = self.by_day.values().map(|j| j.len() / DIGEST_LEN).sum();
        batches + self.other.len()
    }
}

impl Serialize for Applied {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.by_day.len() + self.other.len()))?;
        for (day, joined) in &self.by_day {
            // Hex digits need no escaping: written as they are, not scanned per
            // byte by the JSON string escaper (most of a rollup write's cost).
            let raw = RawValue::from_string(format!("\"{joined}\"")).map_err(ser::Error::custom)?;
            map.serialize_entry(&day.to_string(), &raw)?;
        }
        for (key, day) in &self.other {
            map.serialize_entry(key, day)?;
        }
        map.end()
    }
}

fn is_digests(text: &str) -> bool {
    text.len().is_multiple_of(DIGEST_LEN)
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
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
                    // A day (an entry) or a day's digests, told apart by the text.
                    let raw: Box<RawValue> = entries.next_value()?;
                    let text = raw.get();
                    if let Some(joined) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
                        let day: i64 = key.parse().map_err(|_| {
                            de::Error::custom(format!("applied: {key:?} is not a day"))
                        })?;
                        if !is_digests(joined) {
                            return Err(de::Error::custom(format!(
                                "applied: day {day} holds no whole digests"
                            )));
                        }
                        out.by_day.entry(day).or_default().push_str(joined);
                    } else {
                        let day: i64 = text.parse().map_err(|_| {
                            de::Error::custom(format!("applied: {key:?} has no day"))
                        })?;
                        out.insert(&key, day);
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
        assert!(
            json.contains(&format!("\"20000\":\"{:032x}{:032x}\"", 1, 2)),
            "{json}"
        );
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
