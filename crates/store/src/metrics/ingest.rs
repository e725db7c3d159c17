//! The write path: [`ingest`] counts a batch exactly once, in the six steps the
//! module documentation of [`metrics`](super) lists (and with the KV-call budget it
//! states); [`complete`] finishes an earlier batch a retry found half applied.

use super::rollup::apply_campaign;
use super::stored::{
    BatchDoc, Cell, CounterDoc, GroupDelta, add_cells, decode, encode, flatten, get_map,
    live_batches,
};
use super::{MAX_CAS_ATTEMPTS, SAMPLES_KEPT, day_of, hour_of};
use crate::keys::Key;
use crate::keys::metrics as keys;
use crate::kv::{Kv, StoreError};
use crate::records::{Records, Versioned};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Where a sample is counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A campaign's counters, in the hour bucket of [`Sample::at`].
    Campaign(String),
    /// The platform's unattributed counts for the day of receipt (kept for inspection).
    Unattributed,
    /// The platform's unknown-kind counts for the day of receipt.
    Unknown,
}

/// One event or sample to count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    /// The sender's identity for the event; `None` when it has none (never deduped).
    pub dedupe_id: Option<String>,
    /// Where it is counted.
    pub target: Target,
    /// The counter kind (`sent`, …), or the sender's kind name for unknown events.
    pub kind: String,
    /// The channel, when known.
    pub channel: Option<String>,
    /// The content item, when known.
    pub content_id: Option<String>,
    /// When it happened, unix seconds.
    pub at: i64,
    /// The increment (1 per occurrence; minor units for spend).
    pub amount: i64,
    /// The event as received, kept for unattributed events.
    pub detail: Option<Value>,
}

/// A batch to count.
#[derive(Debug, Clone)]
pub struct Batch<'a> {
    /// Dedupe scope: the platform, or `manual:<campaign>` for the metrics API.
    pub scope: &'a str,
    /// The platform whose unattributed/unknown records receive those samples.
    pub platform: &'a str,
    /// The samples, in order.
    pub samples: Vec<Sample>,
    /// A fresh unique id, used only when some sample has no dedupe id.
    pub nonce: &'a str,
}

/// What [`ingest`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Ingested {
    /// Samples counted by this call.
    pub accepted: usize,
    /// Samples already counted (earlier delivery or repeated in the batch).
    pub duplicates: usize,
    /// Of the accepted, how many were of unknown kinds.
    pub unknown: usize,
    /// Of the accepted, how many map to no campaign.
    pub unattributed: usize,
}

/// Counts a batch exactly once (see the module documentation of
/// [`metrics`](super) for the write order). `now` is unix seconds. On `Err`
/// nothing reported as stored is lost: the caller answers 503 and the sender's
/// retry completes the batch.
pub async fn ingest<K: Kv>(kv: &K, batch: Batch<'_>, now: i64) -> Result<Ingested, StoreError> {
    let day = day_of(now);
    let mut outcome = Ingested::default();

    // 1. Markers of the batch and today's registry, in one read.
    let seen = look_up(kv, &batch, day).await?;

    // 2. Duplicates, and the earlier batches that counted them.
    let (fresh, earlier) =
        split_duplicates(&batch.samples, seen.marker_of, &seen.found, &mut outcome);
    if !earlier.is_empty() {
        complete(kv, &earlier, now).await?;
    }
    if fresh.is_empty() {
        return Ok(outcome);
    }

    // 3. Deltas per counter record, and the batch key they make.
    let deltas = fold(&batch, &fresh, day, &mut outcome);
    outcome.accepted = fresh.len();
    let batch_key = batch_key(&batch, &deltas, day);

    // 4. Register the counter records the cleanup pass must visit.
    register_missing(kv, day, &seen.registry, &deltas.groups).await?;

    // 5. Markers and batch record, in one write.
    let doc = store_batch(kv, &batch, now, day, deltas, &batch_key).await?;

    // 6. Apply the deltas, each counter record once. The first batch of a day
    // (which registered the day: 4 calls) leaves due hours open for the next
    // write, so no batch pays both and every batch stays within 10 calls.
    let close = !seen.registry.is_empty();
    apply_groups(kv, batch_key.as_str(), day, &doc.groups, now, close).await?;
    Ok(outcome)
}

/// What step 1 read.
struct Lookup {
    /// Per sample, in order: its dedupe marker key (`None`: it is never deduped).
    marker_of: Vec<Option<String>>,
    /// Marker key → the key of the batch that counted it (existing markers only).
    found: HashMap<String, Vec<u8>>,
    /// The counter records already in today's registry.
    registry: BTreeSet<String>,
}

/// Step 1: one `get_many` of every marker of the batch plus today's registry.
async fn look_up<K: Kv>(kv: &K, batch: &Batch<'_>, day: i64) -> Result<Lookup, StoreError> {
    let marker_of: Vec<Option<String>> = batch
        .samples
        .iter()
        .map(|sample| {
            sample
                .dedupe_id
                .as_deref()
                .map(|id| keys::marker(batch.scope, id).as_str().to_string())
        })
        .collect();
    let registry_key = keys::day_registry(day);
    let mut read: Vec<String> = marker_of.iter().flatten().cloned().collect();
    opsflow_domain::sort::sort(&mut read);
    read.dedup();
    read.push(registry_key.as_str().to_string());
    let found = get_map(kv, &read).await?;
    let registry: BTreeSet<String> = match found.get(registry_key.as_str()) {
        Some(bytes) => decode::<Versioned<BTreeSet<String>>>(registry_key.as_str(), bytes)?.value,
        None => BTreeSet::new(),
    };
    Ok(Lookup {
        marker_of,
        found,
        registry,
    })
}

/// A sample not counted before, with its marker key.
type Fresh<'b> = (&'b Sample, Option<String>);

/// Step 2: the samples not counted before (first occurrence of each id, no marker
/// stored), and the keys of the earlier batches that counted the others.
fn split_duplicates<'b>(
    samples: &'b [Sample],
    marker_of: Vec<Option<String>>,
    found: &HashMap<String, Vec<u8>>,
    outcome: &mut Ingested,
) -> (Vec<Fresh<'b>>, BTreeSet<String>) {
    let mut seen = BTreeSet::new();
    let mut earlier = BTreeSet::new();
    let mut fresh = Vec::new();
    for (sample, marker) in samples.iter().zip(marker_of) {
        match marker {
            Some(m) if !seen.insert(m.clone()) => outcome.duplicates += 1,
            Some(m) => match found.get(&m) {
                Some(batch_key) => {
                    outcome.duplicates += 1;
                    earlier.insert(String::from_utf8_lossy(batch_key).into_owned());
                }
                None => fresh.push((sample, Some(m))),
            },
            None => fresh.push((sample, None)),
        }
    }
    (fresh, earlier)
}

/// The new events of a batch, folded per counter record.
struct Deltas {
    /// Counter record key → what to add to it.
    groups: BTreeMap<String, GroupDelta>,
    /// The marker keys of the new events.
    markers: Vec<String>,
    /// Whether some new event has no dedupe id (the batch key then takes the nonce).
    needs_nonce: bool,
}

/// Step 3: folds the new events into per-record deltas.
fn fold(batch: &Batch<'_>, fresh: &[Fresh<'_>], day: i64, outcome: &mut Ingested) -> Deltas {
    let mut deltas = Deltas {
        groups: BTreeMap::new(),
        markers: Vec::new(),
        needs_nonce: false,
    };
    for (sample, marker) in fresh {
        let (key, kind) = counted_as(sample, batch.platform, day, outcome);
        let (campaign, hour) = match &sample.target {
            Target::Campaign(id) => (Some(id.clone()), Some(hour_of(sample.at))),
            _ => (None, None),
        };
        let group = deltas
            .groups
            .entry(key.as_str().to_string())
            .or_insert_with(|| GroupDelta {
                key: key.as_str().to_string(),
                campaign,
                hour,
                cells: Vec::new(),
                samples: Vec::new(),
            });
        add_cells(
            &mut group.cells,
            &Cell {
                kind,
                channel: sample.channel.clone(),
                content_id: sample.content_id.clone(),
                value: sample.amount,
            },
        );
        if let Some(detail) = &sample.detail
            && group.samples.len() < SAMPLES_KEPT
        {
            group.samples.push(detail.clone());
        }
        match marker {
            Some(m) => deltas.markers.push(m.clone()),
            None => deltas.needs_nonce = true,
        }
    }
    deltas
}

/// The counter record a sample is counted in and its cell kind; counts the
/// unattributed and unknown-kind samples in `outcome`.
fn counted_as(sample: &Sample, platform: &str, day: i64, outcome: &mut Ingested) -> (Key, String) {
    match &sample.target {
        Target::Campaign(id) => (
            keys::campaign_hour(id, hour_of(sample.at)),
            sample.kind.clone(),
        ),
        Target::Unattributed => {
            outcome.unattributed += 1;
            (
                keys::platform_day(platform, day),
                format!("unattributed:{}", sample.kind),
            )
        }
        Target::Unknown => {
            outcome.unknown += 1;
            (
                keys::platform_day(platform, day),
                format!("unknown:{}", sample.kind),
            )
        }
    }
}

/// The batch key: the same new events make the same key, so concurrent
/// deliveries of one batch are admitted once by the counters' `applied` maps.
fn batch_key(batch: &Batch<'_>, deltas: &Deltas, day: i64) -> Key {
    let mut hasher = Sha256::new();
    hasher.update(batch.scope.as_bytes());
    for m in &deltas.markers {
        hasher.update(b"\n");
        hasher.update(m.as_bytes());
    }
    if deltas.needs_nonce {
        hasher.update(b"\nnonce:");
        hasher.update(batch.nonce.as_bytes());
    }
    let digest: String = hasher
        .finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    keys::batch(day, &digest)
}

/// Step 4: registers the counter records today's registry lacks (no call when
/// it has them all).
async fn register_missing<K: Kv>(
    kv: &K,
    day: i64,
    registry: &BTreeSet<String>,
    groups: &BTreeMap<String, GroupDelta>,
) -> Result<(), StoreError> {
    // The hour records (the cells of closed hours and the batches applied to
    // them end up there) and the campaigns' rollups (the cleanup pass closes
    // their stale hours).
    let rollups = groups.values().filter_map(|g| {
        g.campaign
            .as_deref()
            .map(|c| keys::campaign_rollup(c).as_str().to_string())
    });
    let missing: Vec<String> = opsflow_domain::sort::sorted_unique(
        groups
            .keys()
            .cloned()
            .chain(rollups)
            .filter(|k| !registry.contains(k)),
    );
    if missing.is_empty() {
        return Ok(());
    }
    register(kv, day, &missing, registry.is_empty()).await
}

/// Step 5: one `set_many` of the new markers (each naming the batch) and the batch
/// record. After it the batch is durable.
async fn store_batch<K: Kv>(
    kv: &K,
    batch: &Batch<'_>,
    now: i64,
    day: i64,
    deltas: Deltas,
    batch_key: &Key,
) -> Result<BatchDoc, StoreError> {
    let doc = BatchDoc {
        scope: batch.scope.to_string(),
        received_at: now,
        day,
        groups: deltas.groups.into_values().collect(),
        markers: deltas.markers,
    };
    let mut pairs: Vec<(String, Vec<u8>)> = doc
        .markers
        .iter()
        .map(|m| (m.clone(), batch_key.as_str().as_bytes().to_vec()))
        .collect();
    pairs.push((batch_key.as_str().to_string(), encode(&doc)?));
    kv.set_many(&pairs).await?;
    Ok(doc)
}

/// Adds `groups` to day `day`'s registry (and the day to the registered days).
async fn register<K: Kv>(
    kv: &K,
    day: i64,
    groups: &[String],
    maybe_new_day: bool,
) -> Result<(), StoreError> {
    let records = Records::new(kv);
    if maybe_new_day {
        let day_text = day.to_string();
        records
            .upsert(
                &keys::registered_days(),
                |v: Versioned<BTreeSet<String>>| {
                    let mut set = v.value;
                    set.insert(day_text.clone());
                    Ok(set)
                },
            )
            .await
            .map_err(flatten)?;
    }
    records
        .upsert(
            &keys::day_registry(day),
            |v: Versioned<BTreeSet<String>>| {
                let mut set = v.value;
                set.extend(groups.iter().cloned());
                Ok(set)
            },
        )
        .await
        .map_err(flatten)?;
    Ok(())
}

/// Applies one batch's deltas: a campaign's groups (one per hour) to its rollup
/// in one compare-and-swap, any other group (platform days, and campaign groups
/// of batches stored before rollups) to its own record.
async fn apply_groups<K: Kv>(
    kv: &K,
    batch_key: &str,
    received_day: i64,
    groups: &[GroupDelta],
    now: i64,
    close: bool,
) -> Result<(), StoreError> {
    let mut by_campaign: BTreeMap<&str, Vec<&GroupDelta>> = BTreeMap::new();
    for group in groups {
        match (&group.campaign, group.hour) {
            (Some(campaign), Some(_)) => by_campaign.entry(campaign).or_default().push(group),
            _ => apply(kv, batch_key, received_day, group).await?,
        }
    }
    for (campaign, groups) in by_campaign {
        apply_campaign(kv, batch_key, received_day, campaign, &groups, now, close).await?;
    }
    Ok(())
}

/// Applies one batch's deltas to one counter record, unless already applied.
async fn apply<K: Kv>(
    kv: &K,
    batch_key: &str,
    received_day: i64,
    group: &GroupDelta,
) -> Result<(), StoreError> {
    for _ in 0..MAX_CAS_ATTEMPTS {
        let (current, cas) = kv.watch(&group.key).await?;
        let mut doc: CounterDoc = match current {
            Some(bytes) => decode(&group.key, &bytes)?,
            None => CounterDoc::default(),
        };
        if doc.applied.contains(batch_key) {
            return Ok(());
        }
        for cell in &group.cells {
            add_cells(&mut doc.cells, cell);
        }
        if !group.samples.is_empty() {
            doc.samples.extend(group.samples.iter().cloned());
            let excess = doc.samples.len().saturating_sub(SAMPLES_KEPT);
            doc.samples.drain(..excess);
        }
        doc.applied.insert(batch_key, received_day);
        if kv.swap(cas, &encode(&doc)?).await? {
            return Ok(());
        }
    }
    Err(StoreError::Contended)
}

/// Finishes applying earlier batches whose events were delivered again.
async fn complete<K: Kv>(
    kv: &K,
    batch_keys: &BTreeSet<String>,
    now: i64,
) -> Result<(), StoreError> {
    let wanted: Vec<String> = batch_keys.iter().cloned().collect();
    let docs = live_batches(kv, &wanted, now).await?;
    // Campaign groups go to the rollup, which tells applied batches apart
    // itself (one read per campaign inside `apply_campaign`).
    let group_keys: Vec<String> =
        opsflow_domain::sort::sorted_unique(docs.iter().flat_map(|(_, d)| {
            d.groups
                .iter()
                .filter(|g| g.campaign.is_none() || g.hour.is_none())
                .map(|g| g.key.clone())
        }));
    let counters = get_map(kv, &group_keys).await?;
    for (batch_key, doc) in &docs {
        let (campaign_groups, others): (Vec<&GroupDelta>, Vec<&GroupDelta>) = doc
            .groups
            .iter()
            .partition(|g| g.campaign.is_some() && g.hour.is_some());
        let mut by_campaign: BTreeMap<&str, Vec<&GroupDelta>> = BTreeMap::new();
        for g in campaign_groups {
            if let Some(c) = g.campaign.as_deref() {
                by_campaign.entry(c).or_default().push(g);
            }
        }
        for (campaign, groups) in by_campaign {
            apply_campaign(kv, batch_key, doc.day, campaign, &groups, now, true).await?;
        }
        for group in others {
            let applied = match counters.get(&group.key) {
                Some(bytes) => decode::<CounterDoc>(&group.key, bytes)?
                    .applied
                    .contains(batch_key),
                None => false,
            };
            if !applied {
                apply(kv, batch_key, doc.day, group).await?;
            }
        }
    }
    Ok(())
}
