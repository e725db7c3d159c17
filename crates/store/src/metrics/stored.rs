//! The stored forms the write, read and cleanup paths share: counter records
//! (cells plus the batches applied to them) and batch records (one batch's deltas
//! and marker keys), and the codec and batched read every path uses.

use super::CHUNK;
use super::applied::Applied;
use crate::kv::{Kv, StoreError};
use crate::records::UpdateError;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;

/// One counter cell of a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cell {
    /// Kind (`opened`…; `unattributed:<kind>` / `unknown:<name>` in platform records).
    pub kind: String,
    /// Channel, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Content item, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_id: Option<String>,
    /// The total.
    pub value: i64,
}

impl Cell {
    fn same_slot(&self, other: &Cell) -> bool {
        self.kind == other.kind
            && self.channel == other.channel
            && self.content_id == other.content_id
    }
}

pub(super) fn add_cells(cells: &mut Vec<Cell>, delta: &Cell) {
    match cells.iter_mut().find(|c| c.same_slot(delta)) {
        Some(c) => c.value = c.value.saturating_add(delta.value),
        None => cells.push(delta.clone()),
    }
}

/// A counter record: cells plus the batches already applied to it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct CounterDoc {
    /// The totals, one cell per (kind, channel, content).
    #[serde(default)]
    pub(super) cells: Vec<Cell>,
    /// Batch key → day it was received.
    #[serde(default)]
    pub(super) applied: Applied,
    /// The latest unattributed events (platform records only, at most
    /// [`SAMPLES_KEPT`](super::SAMPLES_KEPT)).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) samples: Vec<Value>,
}

/// The deltas of one batch for one counter record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct GroupDelta {
    /// The counter record's key (for campaign events, the hour record the cells
    /// end up in once their hour closes; registered for the cleanup pass).
    pub(super) key: String,
    /// For campaign events: the campaign, whose rollup the batch's compare-and-swap
    /// writes. `None` in platform-day groups and in batches stored before rollups,
    /// which are applied to `key` directly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) campaign: Option<String>,
    /// For campaign events: the hour bucket of the cells.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) hour: Option<i64>,
    /// What to add to its cells.
    pub(super) cells: Vec<Cell>,
    /// Unattributed events to keep with it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) samples: Vec<Value>,
}

/// A stored batch: what a retry needs to finish applying it, and what the cleanup
/// pass deletes with it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct BatchDoc {
    /// The dedupe scope its markers belong to.
    pub(super) scope: String,
    /// When it was stored (unix seconds); re-applied only within the apply window.
    pub(super) received_at: i64,
    /// The UTC day of receipt: which registry and cleanup pass it belongs to.
    pub(super) day: i64,
    /// Its deltas, one per counter record.
    pub(super) groups: Vec<GroupDelta>,
    /// Its dedupe marker keys, deleted with it.
    pub(super) markers: Vec<String>,
}

pub(super) fn corrupt(key: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{key}: {e}"))
}

pub(super) fn decode<T: serde::de::DeserializeOwned>(
    key: &str,
    bytes: &[u8],
) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| corrupt(key, e))
}

pub(super) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(super) async fn get_map<K: Kv>(
    kv: &K,
    keys: &[String],
) -> Result<HashMap<String, Vec<u8>>, StoreError> {
    let mut found = HashMap::new();
    for chunk in keys.chunks(CHUNK) {
        found.extend(kv.get_many(chunk).await?);
    }
    Ok(found)
}

/// The batch records among `keys` that may still be applied at `now`: those
/// received within the apply window (older ones are final: the cleanup pass may
/// already be forgetting them), decoded.
pub(super) async fn live_batches<K: Kv>(
    kv: &K,
    keys: &[String],
    now: i64,
) -> Result<Vec<(String, BatchDoc)>, StoreError> {
    let mut live = Vec::new();
    for (key, bytes) in get_map(kv, keys).await? {
        let doc: BatchDoc = decode(&key, &bytes)?;
        if doc.received_at + super::APPLY_WINDOW_SECS > now {
            live.push((key, doc));
        }
    }
    Ok(live)
}

/// The error of a registry upsert (which never refuses).
pub(super) fn flatten(e: UpdateError<std::convert::Infallible>) -> StoreError {
    match e {
        UpdateError::Store(s) => s,
        UpdateError::NotFound => StoreError::Corrupt("registry vanished".into()),
        UpdateError::Refused(never) => match never {},
    }
}

/// The stored form of a counter record holding `cells` and nothing applied yet:
/// what [`ingest`](fn@super::ingest) would have written under
/// [`campaign_hour`](crate::keys::metrics::campaign_hour) for events of those cells. For seeding benchmarks and fixtures directly (`set_many`).
pub fn encode_counter_record(cells: Vec<Cell>) -> Result<Vec<u8>, StoreError> {
    encode(&CounterDoc {
        cells,
        ..CounterDoc::default()
    })
}
