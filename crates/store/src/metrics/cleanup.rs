//! Retention: [`cleanup`] deletes the markers and batch records of expired
//! receipt days, found through the registries [`ingest`](fn@super::ingest) keeps
//! (never by listing keys), and forgets those batches in the counters' `applied`
//! maps. Counter records are kept.

use super::rollup::{Rollup, close_stale, prune_rollup};
use super::stored::{BatchDoc, CounterDoc, decode, encode, flatten, get_map};
use super::{CHUNK, MAX_CAS_ATTEMPTS, RETENTION_DAYS, day_of};
use crate::keys::metrics as keys;
use crate::kv::{Kv, StoreError};
use crate::records::{Records, Versioned};
use serde::Serialize;
use std::collections::BTreeSet;

/// What one [`cleanup`] call removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CleanupReport {
    /// Receipt days whose markers and batch records are gone.
    pub days: Vec<i64>,
    /// Batch records deleted.
    pub batches: usize,
    /// Dedupe markers deleted.
    pub markers: usize,
    /// Whether more expired days remain (call again).
    pub more: bool,
}

/// Deletes the markers and batch records of receipt days `d` with
/// `d + RETENTION_DAYS <= day_of(now)`, at most `max_days` days per call.
pub async fn cleanup<K: Kv>(
    kv: &K,
    now: i64,
    max_days: usize,
) -> Result<CleanupReport, StoreError> {
    let records = Records::new(kv);
    let cutoff = day_of(now) - RETENTION_DAYS;
    let days: BTreeSet<String> = records
        .get::<BTreeSet<String>>(&keys::registered_days())
        .await?
        .map(|v| v.value)
        .unwrap_or_default();
    let mut due: Vec<i64> = days
        .iter()
        .filter_map(|d| d.parse::<i64>().ok())
        .filter(|d| *d <= cutoff)
        .collect();
    opsflow_domain::sort::sort(&mut due);
    let mut report = CleanupReport {
        more: due.len() > max_days,
        ..CleanupReport::default()
    };
    for day in due.into_iter().take(max_days) {
        clean_day(kv, day, now, &mut report).await?;
        let text = day.to_string();
        records
            .upsert(
                &keys::registered_days(),
                |v: Versioned<BTreeSet<String>>| {
                    let mut set = v.value;
                    set.remove(&text);
                    Ok(set)
                },
            )
            .await
            .map_err(flatten)?;
        report.days.push(day);
    }
    Ok(report)
}

async fn clean_day<K: Kv>(
    kv: &K,
    day: i64,
    now: i64,
    report: &mut CleanupReport,
) -> Result<(), StoreError> {
    let records = Records::new(kv);
    let registry_key = keys::day_registry(day);
    let groups: Vec<String> = records
        .get::<BTreeSet<String>>(&registry_key)
        .await?
        .map(|v| v.value.into_iter().collect())
        .unwrap_or_default();
    // Rollups first: the hours their campaigns stopped writing to are closed,
    // so those batches are found in the hour records below.
    for key in groups.iter().filter(|k| keys::is_campaign_rollup(k)) {
        close_stale(kv, key, now).await?;
    }
    let counters = get_map(kv, &groups).await?;
    let mut batch_keys = BTreeSet::new();
    for (key, bytes) in &counters {
        if keys::is_campaign_rollup(key) {
            let doc: Rollup = decode(key, bytes)?;
            batch_keys.extend(doc.applied_through(day));
            continue;
        }
        let doc: CounterDoc = decode(key, bytes)?;
        batch_keys.extend(doc.applied.through(day));
    }
    let wanted: Vec<String> = batch_keys.iter().cloned().collect();
    let batches = get_map(kv, &wanted).await?;
    let mut doomed: Vec<String> = Vec::new();
    for (key, bytes) in &batches {
        let doc: BatchDoc = decode(key, bytes)?;
        report.markers += doc.markers.len();
        doomed.extend(doc.markers);
    }
    report.batches += batches.len();
    doomed.extend(batches.into_keys());
    for chunk in doomed.chunks(CHUNK) {
        kv.delete_many(chunk).await?;
    }
    // The batches are gone and too old to re-apply: forget them in the counters.
    for key in counters.keys() {
        if keys::is_campaign_rollup(key) {
            prune_rollup(kv, key, day).await?;
        } else {
            prune(kv, key, day).await?;
        }
    }
    kv.delete(registry_key.as_str()).await
}

async fn prune<K: Kv>(kv: &K, key: &str, day: i64) -> Result<(), StoreError> {
    for _ in 0..MAX_CAS_ATTEMPTS {
        let (current, cas) = kv.watch(key).await?;
        let Some(bytes) = current else {
            return Ok(());
        };
        let mut doc: CounterDoc = decode(key, &bytes)?;
        if !doc.applied.forget_through(day) {
            return Ok(());
        }
        if kv.swap(cas, &encode(&doc)?).await? {
            return Ok(());
        }
    }
    Err(StoreError::Contended)
}
