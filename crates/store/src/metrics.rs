//! Metric counters: how webhook events and manual samples are stored, exactly
//! once, and read back. (Owned by the webhooks/metrics work; other areas call
//! [`campaign_totals`], or [`totals_many`] / [`campaigns_totals`] to read many
//! campaigns in few `get_many` calls.)
//!
//! # Write path ([`ingest`]), per batch
//!
//! 1. **One `get_many`** of the dedupe markers of every event in the batch (plus
//!    today's registry record). A marker's value names the batch record that
//!    counted the event.
//! 2. Events whose marker exists are duplicates. If their batch record exists,
//!    was received less than [`APPLY_WINDOW_SECS`] ago and is not yet applied to
//!    every counter record it touches, it is applied now (a retry after a
//!    failure completes the earlier attempt; one extra `get_many` of those batch
//!    records and counter records, only when duplicates arrive).
//! 3. The new events are folded into per-record deltas: one counter record per
//!    (campaign, hour) holding every channel × content × kind cell, one per
//!    (platform, day) for unattributed and unknown-kind events.
//! 4. Only when today's registry lacks one of those counter records: one
//!    compare-and-swap adds them (and, on the first batch of a day, the day to
//!    the list of registered days). The cleanup pass walks these registries.
//! 5. **One `set_many`** writes the new markers and the batch record (its deltas
//!    and marker keys) together: one transaction on Spin's SQLite backend, one
//!    `MSET` on Redis. After this the batch is durable: every later delivery of
//!    its events is a known duplicate.
//! 6. **One compare-and-swap per counter record** (usually one) adds the deltas
//!    and records the batch key in the record's `applied` map in the same write,
//!    so applying a batch twice is a no-op.
//!
//! A steady-state 100-event batch to one campaign and hour costs 5 KV calls
//! (open, `get_many`, `set_many`, CAS read, CAS write) and 2 write commits.
//!
//! # Failure and retry
//!
//! A failure before step 5 leaves nothing the retry can trip on (a registry entry
//! at most). A failure after step 5 answers 503; the sender's retry finds the
//! markers, and step 2 finishes applying the batch: every event is counted
//! exactly once, whatever the sender re-batches. Concurrent deliveries of the
//! same batch derive the same batch key (a hash of the new events' marker keys),
//! so the `applied` map admits its deltas once. Counters are never
//! read-modified-written without compare-and-swap.
//!
//! # Retention ([`cleanup`])
//!
//! There is no TTL. Markers and batch records received on day `d` are deleted by
//! the cleanup pass once `d + RETENTION_DAYS <= today` (so they live at least
//! three full days, the longest sender retry window), found through the day's
//! registry → counter records → `applied` entries of day `d` → batch records →
//! marker keys; never by listing keys. A batch older than
//! [`APPLY_WINDOW_SECS`] is never re-applied, so pruning `applied` entries then
//! is safe. Counter records are kept.

use crate::keys::metrics as keys;
use crate::kv::{Kv, StoreError};
use crate::records::{Records, UpdateError, Versioned};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Seconds in an hour bucket.
pub const HOUR_SECS: i64 = 3_600;
/// Seconds in a day.
pub const DAY_SECS: i64 = 86_400;
/// Markers and batch records received on day `d` are removed once
/// `d + RETENTION_DAYS <= today`: at least three full days after receipt.
pub const RETENTION_DAYS: i64 = 4;
/// A stored batch is (re)applied to its counters only this long after receipt.
pub const APPLY_WINDOW_SECS: i64 = 3 * DAY_SECS;
/// The widest range [`campaign_totals`] reads, in hour records (100 days).
pub const MAX_RANGE_HOURS: i64 = 2_400;
/// Unattributed events kept for inspection per platform and day.
pub const SAMPLES_KEPT: usize = 100;
/// Compare-and-swap attempts on one counter record before giving up (503).
const MAX_CAS_ATTEMPTS: usize = 48;
/// Keys per `get_many` / `delete_many` call.
const CHUNK: usize = 1_000;

/// Totals for one campaign over a time range.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CampaignTotals {
    /// Metric kind (`sent`, `delivered`, …, `spend`) → total.
    pub by_kind: BTreeMap<String, i64>,
    /// Channel → kind → total.
    pub by_channel: BTreeMap<String, BTreeMap<String, i64>>,
    /// Content id → kind → total.
    pub by_content: BTreeMap<String, BTreeMap<String, i64>>,
    /// Bucket start (unix seconds) → kind → total, ascending.
    pub series: BTreeMap<i64, BTreeMap<String, i64>>,
}

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

fn add_cells(cells: &mut Vec<Cell>, delta: &Cell) {
    match cells.iter_mut().find(|c| c.same_slot(delta)) {
        Some(c) => c.value = c.value.saturating_add(delta.value),
        None => cells.push(delta.clone()),
    }
}

/// A counter record: cells plus the batches already applied to it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct CounterDoc {
    #[serde(default)]
    cells: Vec<Cell>,
    /// Batch key → day it was received.
    #[serde(default)]
    applied: BTreeMap<String, i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    samples: Vec<Value>,
}

/// The deltas of one batch for one counter record.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct GroupDelta {
    key: String,
    cells: Vec<Cell>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    samples: Vec<Value>,
}

/// A stored batch.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct BatchDoc {
    scope: String,
    received_at: i64,
    day: i64,
    groups: Vec<GroupDelta>,
    markers: Vec<String>,
}

fn corrupt(key: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{key}: {e}"))
}

fn decode<T: serde::de::DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| corrupt(key, e))
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

async fn get_map<K: Kv>(kv: &K, keys: &[String]) -> Result<HashMap<String, Vec<u8>>, StoreError> {
    let mut found = HashMap::new();
    for chunk in keys.chunks(CHUNK) {
        found.extend(kv.get_many(chunk).await?);
    }
    Ok(found)
}

fn flatten(e: UpdateError<std::convert::Infallible>) -> StoreError {
    match e {
        UpdateError::Store(s) => s,
        UpdateError::NotFound => StoreError::Corrupt("registry vanished".into()),
        UpdateError::Refused(never) => match never {},
    }
}

/// The UTC day number of a unix time.
pub fn day_of(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(DAY_SECS)
}

fn hour_of(unix_seconds: i64) -> i64 {
    unix_seconds - unix_seconds.rem_euclid(HOUR_SECS)
}

/// Counts a batch exactly once (see the module documentation for the write
/// order). `now` is unix seconds. On `Err` nothing reported as stored is lost:
/// the caller answers 503 and the sender's retry completes the batch.
pub async fn ingest<K: Kv>(kv: &K, batch: Batch<'_>, now: i64) -> Result<Ingested, StoreError> {
    let day = day_of(now);
    let mut outcome = Ingested::default();

    // 1. Markers of the batch (first occurrence of each id) and today's registry.
    let mut marker_of: Vec<Option<String>> = Vec::with_capacity(batch.samples.len());
    let mut seen = BTreeSet::new();
    for sample in &batch.samples {
        let marker = sample
            .dedupe_id
            .as_deref()
            .map(|id| keys::marker(batch.scope, id).as_str().to_string());
        marker_of.push(marker);
    }
    let registry_key = keys::day_registry(day);
    let mut read: Vec<String> = marker_of.iter().flatten().cloned().collect();
    read.sort();
    read.dedup();
    read.push(registry_key.as_str().to_string());
    let found = get_map(kv, &read).await?;
    let registry: BTreeSet<String> = match found.get(registry_key.as_str()) {
        Some(bytes) => decode::<Versioned<BTreeSet<String>>>(registry_key.as_str(), bytes)?.value,
        None => BTreeSet::new(),
    };

    // 2. Duplicates, and the earlier batches that counted them.
    let mut earlier = BTreeSet::new();
    let mut fresh: Vec<(&Sample, Option<String>)> = Vec::new();
    for (sample, marker) in batch.samples.iter().zip(marker_of) {
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
    if !earlier.is_empty() {
        complete(kv, &earlier, now).await?;
    }
    if fresh.is_empty() {
        return Ok(outcome);
    }

    // 3. Deltas per counter record.
    let mut groups: BTreeMap<String, GroupDelta> = BTreeMap::new();
    let mut markers = Vec::new();
    let mut needs_nonce = false;
    for (sample, marker) in &fresh {
        let (key, kind) = match &sample.target {
            Target::Campaign(id) => (
                keys::campaign_hour(id, hour_of(sample.at)),
                sample.kind.clone(),
            ),
            Target::Unattributed => {
                outcome.unattributed += 1;
                (
                    keys::platform_day(batch.platform, day),
                    format!("unattributed:{}", sample.kind),
                )
            }
            Target::Unknown => {
                outcome.unknown += 1;
                (
                    keys::platform_day(batch.platform, day),
                    format!("unknown:{}", sample.kind),
                )
            }
        };
        let group = groups
            .entry(key.as_str().to_string())
            .or_insert_with(|| GroupDelta {
                key: key.as_str().to_string(),
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
            Some(m) => markers.push(m.clone()),
            None => needs_nonce = true,
        }
    }
    outcome.accepted = fresh.len();

    // The batch key: the same new events make the same key, so concurrent
    // deliveries of one batch are admitted once by the counters' `applied` maps.
    let mut hasher = Sha256::new();
    hasher.update(batch.scope.as_bytes());
    for m in &markers {
        hasher.update(b"\n");
        hasher.update(m.as_bytes());
    }
    if needs_nonce {
        hasher.update(b"\nnonce:");
        hasher.update(batch.nonce.as_bytes());
    }
    let digest: String = hasher
        .finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    let batch_key = keys::batch(day, &digest);

    // 4. Register the counter records the cleanup pass must visit.
    let missing: Vec<String> = groups
        .keys()
        .filter(|k| !registry.contains(*k))
        .cloned()
        .collect();
    if !missing.is_empty() {
        register(kv, day, &missing, registry.is_empty()).await?;
    }

    // 5. Markers and batch record, in one write.
    let doc = BatchDoc {
        scope: batch.scope.to_string(),
        received_at: now,
        day,
        groups: groups.into_values().collect(),
        markers,
    };
    let mut pairs: Vec<(String, Vec<u8>)> = doc
        .markers
        .iter()
        .map(|m| (m.clone(), batch_key.as_str().as_bytes().to_vec()))
        .collect();
    pairs.push((batch_key.as_str().to_string(), encode(&doc)?));
    kv.set_many(&pairs).await?;

    // 6. Apply the deltas, each counter record once.
    for group in &doc.groups {
        apply(kv, batch_key.as_str(), day, group).await?;
    }
    Ok(outcome)
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
        if doc.applied.contains_key(batch_key) {
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
        doc.applied.insert(batch_key.to_string(), received_day);
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
    let found = get_map(kv, &wanted).await?;
    let mut docs = Vec::new();
    for (key, bytes) in &found {
        let doc: BatchDoc = decode(key, bytes)?;
        // Older batches are final: the cleanup pass may already be pruning them.
        if doc.received_at + APPLY_WINDOW_SECS > now {
            docs.push((key.clone(), doc));
        }
    }
    let group_keys: Vec<String> = docs
        .iter()
        .flat_map(|(_, d)| d.groups.iter().map(|g| g.key.clone()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let counters = get_map(kv, &group_keys).await?;
    for (batch_key, doc) in &docs {
        for group in &doc.groups {
            let applied = match counters.get(&group.key) {
                Some(bytes) => decode::<CounterDoc>(&group.key, bytes)?
                    .applied
                    .contains_key(batch_key),
                None => false,
            };
            if !applied {
                apply(kv, batch_key, doc.day, group).await?;
            }
        }
    }
    Ok(())
}

/// Counter totals of `campaign_id` for buckets starting in `[from, to)` (unix seconds),
/// bucketed by `bucket_secs` (3600 or 86400). Reads the hour records of those
/// buckets with `get_many` (one call per [`READ_CHUNK`] hours); at most
/// [`MAX_RANGE_HOURS`] hours are read.
pub async fn campaign_totals<K: Kv>(
    kv: &K,
    campaign_id: &str,
    from: i64,
    to: i64,
    bucket_secs: i64,
    channel: Option<&str>,
) -> Result<CampaignTotals, StoreError> {
    let query = TotalsQuery {
        campaign_id,
        from,
        to,
        bucket_secs,
        channel,
    };
    Ok(totals_many(kv, &[query]).await?.pop().unwrap_or_default())
}

/// Keys per `get_many` when reading counter records. Spin documents no limit for
/// its SQLite backend; a few hundred keys keep one call's values (a counter
/// record is ~1–10 KiB with its `applied` map) well under a few MiB.
pub const READ_CHUNK: usize = 256;

/// One range of one campaign's counters, as [`campaign_totals`] takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TotalsQuery<'a> {
    /// The campaign.
    pub campaign_id: &'a str,
    /// First bucket start included (unix seconds; rounded up to a bucket start).
    pub from: i64,
    /// End, exclusive.
    pub to: i64,
    /// Bucket size: 3600 or 86400.
    pub bucket_secs: i64,
    /// Count only the counters of this channel (`None`: every channel).
    pub channel: Option<&'a str>,
}

/// The hour records a query reads, and its bucket size.
fn hours_of(q: &TotalsQuery<'_>) -> (i64, Vec<i64>) {
    let bucket = q.bucket_secs.max(HOUR_SECS);
    let mut hours = Vec::new();
    if q.to <= q.from {
        return (bucket, hours);
    }
    // Buckets start at multiples of `bucket`; the first one at or after `from`.
    let first = q.from + (bucket - q.from.rem_euclid(bucket)) % bucket;
    let mut start = first;
    while start < q.to && (hours.len() as i64) < MAX_RANGE_HOURS {
        let mut hour = start;
        while hour < start + bucket && (hours.len() as i64) < MAX_RANGE_HOURS {
            hours.push(hour);
            hour += HOUR_SECS;
        }
        start += bucket;
    }
    (bucket, hours)
}

/// [`campaign_totals`] for many (campaign, range) queries at once, answered in
/// query order: every hour record any query needs is read once (ranges of one
/// campaign that overlap share their records), [`READ_CHUNK`] keys per `get_many`.
pub async fn totals_many<K: Kv>(
    kv: &K,
    queries: &[TotalsQuery<'_>],
) -> Result<Vec<CampaignTotals>, StoreError> {
    // Per query: bucket size, (hour, record key) pairs, channel filter.
    type Plan<'q> = (i64, Vec<(i64, String)>, Option<&'q str>);
    let plans: Vec<Plan<'_>> = queries
        .iter()
        .map(|q| {
            let (bucket, hours) = hours_of(q);
            let keyed = hours
                .into_iter()
                .map(|h| {
                    (
                        h,
                        keys::campaign_hour(q.campaign_id, h).as_str().to_string(),
                    )
                })
                .collect();
            (bucket, keyed, q.channel)
        })
        .collect();
    let wanted: Vec<String> = plans
        .iter()
        .flat_map(|(_, hours, _)| hours.iter().map(|(_, k)| k.clone()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut docs: HashMap<String, CounterDoc> = HashMap::new();
    for chunk in wanted.chunks(READ_CHUNK) {
        for (key, bytes) in kv.get_many(chunk).await? {
            let doc: CounterDoc = decode(&key, &bytes)?;
            docs.insert(key, doc);
        }
    }
    let mut out = Vec::with_capacity(plans.len());
    for (bucket, hours, only_channel) in &plans {
        let mut totals = CampaignTotals::default();
        for (hour, key) in hours {
            let Some(doc) = docs.get(key) else {
                continue;
            };
            let bucket_start = hour - hour.rem_euclid(*bucket);
            for cell in &doc.cells {
                if only_channel.is_some_and(|c| cell.channel.as_deref() != Some(c)) {
                    continue;
                }
                let add = |map: &mut BTreeMap<String, i64>| {
                    let v = map.entry(cell.kind.clone()).or_default();
                    *v = v.saturating_add(cell.value);
                };
                add(&mut totals.by_kind);
                add(totals.series.entry(bucket_start).or_default());
                if let Some(channel) = &cell.channel {
                    add(totals.by_channel.entry(channel.clone()).or_default());
                }
                if let Some(content) = &cell.content_id {
                    add(totals.by_content.entry(content.clone()).or_default());
                }
            }
        }
        out.push(totals);
    }
    Ok(out)
}

/// The totals of every campaign of `campaign_ids` over one range (see
/// [`totals_many`]), by campaign id.
pub async fn campaigns_totals<K: Kv>(
    kv: &K,
    campaign_ids: &[String],
    from: i64,
    to: i64,
    bucket_secs: i64,
) -> Result<BTreeMap<String, CampaignTotals>, StoreError> {
    let queries: Vec<TotalsQuery<'_>> = campaign_ids
        .iter()
        .map(|id| TotalsQuery {
            campaign_id: id,
            from,
            to,
            bucket_secs,
            channel: None,
        })
        .collect();
    let totals = totals_many(kv, &queries).await?;
    Ok(campaign_ids.iter().cloned().zip(totals).collect())
}

/// The stored form of a counter record holding `cells` and nothing applied yet:
/// what [`ingest`] would have written under [`keys::campaign_hour`] for events of
/// those cells. For seeding benchmarks and fixtures directly (`set_many`).
pub fn encode_counter_record(cells: Vec<Cell>) -> Result<Vec<u8>, StoreError> {
    encode(&CounterDoc {
        cells,
        ..CounterDoc::default()
    })
}

/// A platform's unattributed and unknown-kind events of one day.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PlatformDay {
    /// The UTC day number (`unix_seconds / 86400`).
    pub day: i64,
    /// Unattributed events by counter kind.
    pub unattributed: BTreeMap<String, i64>,
    /// Events of kinds we do not count, by the sender's kind name.
    pub unknown: BTreeMap<String, i64>,
    /// The latest unattributed events as normalised (at most [`SAMPLES_KEPT`]).
    pub samples: Vec<Value>,
}

/// The unattributed and unknown-kind counts of `platform` for `day`.
pub async fn platform_day<K: Kv>(
    kv: &K,
    platform: &str,
    day: i64,
) -> Result<PlatformDay, StoreError> {
    let key = keys::platform_day(platform, day);
    let mut out = PlatformDay {
        day,
        ..PlatformDay::default()
    };
    let Some(bytes) = kv
        .get_many(&[key.as_str().to_string()])
        .await?
        .pop()
        .map(|(_, v)| v)
    else {
        return Ok(out);
    };
    let doc: CounterDoc = decode(key.as_str(), &bytes)?;
    for cell in doc.cells {
        if let Some(kind) = cell.kind.strip_prefix("unattributed:") {
            *out.unattributed.entry(kind.to_string()).or_default() += cell.value;
        } else if let Some(kind) = cell.kind.strip_prefix("unknown:") {
            *out.unknown.entry(kind.to_string()).or_default() += cell.value;
        }
    }
    out.samples = doc.samples;
    Ok(out)
}

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
    due.sort_unstable();
    let mut report = CleanupReport {
        more: due.len() > max_days,
        ..CleanupReport::default()
    };
    for day in due.into_iter().take(max_days) {
        clean_day(kv, day, &mut report).await?;
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

async fn clean_day<K: Kv>(kv: &K, day: i64, report: &mut CleanupReport) -> Result<(), StoreError> {
    let records = Records::new(kv);
    let registry_key = keys::day_registry(day);
    let groups: Vec<String> = records
        .get::<BTreeSet<String>>(&registry_key)
        .await?
        .map(|v| v.value.into_iter().collect())
        .unwrap_or_default();
    let counters = get_map(kv, &groups).await?;
    let mut batch_keys = BTreeSet::new();
    for (key, bytes) in &counters {
        let doc: CounterDoc = decode(key, bytes)?;
        batch_keys.extend(
            doc.applied
                .iter()
                .filter(|(_, d)| **d <= day)
                .map(|(k, _)| k.clone()),
        );
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
        prune(kv, key, day).await?;
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
        let before = doc.applied.len();
        doc.applied.retain(|_, d| *d > day);
        if doc.applied.len() == before {
            return Ok(());
        }
        if kv.swap(cas, &encode(&doc)?).await? {
            return Ok(());
        }
    }
    Err(StoreError::Contended)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryKv;
    use futures::executor::block_on;

    const NOW: i64 = 1_700_000_000;

    fn sample(id: &str, campaign: Option<&str>, kind: &str, at: i64) -> Sample {
        Sample {
            dedupe_id: Some(id.to_string()),
            target: match campaign {
                Some(c) => Target::Campaign(c.to_string()),
                None => Target::Unattributed,
            },
            kind: kind.to_string(),
            channel: Some("email".into()),
            content_id: None,
            at,
            amount: 1,
            detail: campaign.is_none().then(|| serde_json::json!({"id": id})),
        }
    }

    fn batch(samples: Vec<Sample>) -> Batch<'static> {
        Batch {
            scope: "sendgrid",
            platform: "sendgrid",
            samples,
            nonce: "n1",
        }
    }

    fn hundred() -> Vec<Sample> {
        (0..100)
            .map(|i| {
                let kind = ["delivered", "opened", "clicked"][i % 3];
                sample(&format!("e{i}"), Some("c1"), kind, NOW + i as i64)
            })
            .collect()
    }

    fn opened(kv: &MemoryKv) -> i64 {
        let t = block_on(campaign_totals(
            kv,
            "c1",
            NOW - DAY_SECS,
            NOW + DAY_SECS,
            HOUR_SECS,
            None,
        ))
        .unwrap();
        t.by_kind.values().sum()
    }

    #[test]
    fn a_batch_is_counted_once_in_few_calls() {
        let kv = MemoryKv::default();
        let out = block_on(ingest(&kv, batch(hundred()), NOW)).unwrap();
        assert_eq!(out.accepted, 100);
        assert_eq!(opened(&kv), 100);
        let before = kv.calls();
        let mut second = hundred();
        for (i, s) in second.iter_mut().enumerate() {
            s.dedupe_id = Some(format!("f{i}"));
        }
        block_on(ingest(&kv, batch(second), NOW)).unwrap();
        // get_many, set_many, watch, swap.
        assert_eq!(kv.calls() - before, 4);
        assert_eq!(opened(&kv), 200);
        let again = block_on(ingest(&kv, batch(hundred()), NOW)).unwrap();
        assert_eq!((again.accepted, again.duplicates), (0, 100));
        assert_eq!(opened(&kv), 200);
    }

    #[test]
    fn totals_bucket_by_hour_and_day() {
        let kv = MemoryKv::default();
        let hour = NOW - NOW.rem_euclid(HOUR_SECS);
        let samples = vec![
            sample("a", Some("c1"), "opened", hour),
            sample("b", Some("c1"), "opened", hour + HOUR_SECS),
            sample("c", Some("c1"), "clicked", hour + 2 * HOUR_SECS),
            sample("d", Some("c2"), "clicked", hour),
        ];
        block_on(ingest(&kv, batch(samples), NOW)).unwrap();
        let t = block_on(campaign_totals(
            &kv,
            "c1",
            hour,
            hour + 2 * HOUR_SECS,
            HOUR_SECS,
            None,
        ))
        .unwrap();
        assert_eq!(t.by_kind.get("opened"), Some(&2));
        assert_eq!(t.by_kind.get("clicked"), None);
        assert_eq!(t.series.len(), 2);
        assert_eq!(t.by_channel["email"]["opened"], 2);
        let day = day_of(hour) * DAY_SECS;
        let d = block_on(campaign_totals(
            &kv,
            "c1",
            day,
            day + DAY_SECS,
            DAY_SECS,
            None,
        ))
        .unwrap();
        assert_eq!(d.series.keys().copied().collect::<Vec<_>>(), vec![day]);
        let sms = block_on(campaign_totals(
            &kv,
            "c1",
            day,
            day + DAY_SECS,
            DAY_SECS,
            Some("sms"),
        ))
        .unwrap();
        assert!(sms.by_kind.is_empty() && sms.series.is_empty(), "{sms:?}");
        let email = block_on(campaign_totals(
            &kv,
            "c1",
            day,
            day + DAY_SECS,
            DAY_SECS,
            Some("email"),
        ))
        .unwrap();
        assert_eq!(email.series[&day]["opened"], 2);
    }

    #[test]
    fn many_campaigns_are_totalled_in_few_calls() {
        let kv = MemoryKv::default();
        let hour = NOW - NOW.rem_euclid(HOUR_SECS);
        let ids: Vec<String> = (0..300).map(|i| format!("c{i:03}")).collect();
        let samples: Vec<Sample> = ids
            .iter()
            .enumerate()
            .flat_map(|(i, id)| {
                [
                    sample(&format!("a{i}"), Some(id), "sent", hour),
                    sample(&format!("b{i}"), Some(id), "opened", hour - HOUR_SECS),
                ]
            })
            .collect();
        block_on(ingest(&kv, batch(samples), NOW)).unwrap();
        // One hour of 300 campaigns: 300 keys, two chunks.
        let before = kv.calls();
        let one = block_on(campaigns_totals(&kv, &ids, hour, NOW + 1, HOUR_SECS)).unwrap();
        assert_eq!(kv.calls() - before, 2);
        assert_eq!(one.len(), 300);
        assert!(one.values().all(|t| t.by_kind.get("sent") == Some(&1)));
        assert!(one.values().all(|t| !t.by_kind.contains_key("opened")));
        // Overlapping ranges of one campaign share their records, and each
        // answer equals the single-campaign read.
        let queries: Vec<TotalsQuery<'_>> = ids
            .iter()
            .flat_map(|id| {
                [
                    TotalsQuery {
                        campaign_id: id,
                        from: hour,
                        to: NOW + 1,
                        bucket_secs: HOUR_SECS,
                        channel: None,
                    },
                    TotalsQuery {
                        campaign_id: id,
                        from: day_of(hour) * DAY_SECS,
                        to: NOW + 1,
                        bucket_secs: DAY_SECS,
                        channel: None,
                    },
                ]
            })
            .collect();
        let before = kv.calls();
        let many = block_on(totals_many(&kv, &queries)).unwrap();
        // The day-bucket range reads the 24 hours of its day bucket; the hour
        // range's record is one of them.
        let distinct: usize = 300 * 24;
        assert_eq!(
            kv.calls() - before,
            distinct.div_ceil(READ_CHUNK) as u64,
            "{distinct} keys"
        );
        assert_eq!(many[1].by_kind.get("opened"), Some(&1));
        assert_eq!(many[1].by_kind.get("sent"), Some(&1));
        for (q, t) in queries.iter().zip(&many) {
            let single = block_on(campaign_totals(
                &kv,
                q.campaign_id,
                q.from,
                q.to,
                q.bucket_secs,
                q.channel,
            ))
            .unwrap();
            assert_eq!(&single, t);
        }
    }

    #[test]
    fn unattributed_events_are_kept_per_platform() {
        let kv = MemoryKv::default();
        let samples = vec![
            sample("a", None, "opened", NOW),
            Sample {
                target: Target::Unknown,
                kind: "group_resubscribe".into(),
                detail: None,
                ..sample("b", None, "x", NOW)
            },
        ];
        let out = block_on(ingest(&kv, batch(samples), NOW)).unwrap();
        assert_eq!((out.unattributed, out.unknown), (1, 1));
        let p = block_on(platform_day(&kv, "sendgrid", day_of(NOW))).unwrap();
        assert_eq!(p.unattributed["opened"], 1);
        assert_eq!(p.unknown["group_resubscribe"], 1);
        assert_eq!(p.samples.len(), 1);
    }

    /// A Kv that fails one call: every failure point, then a retry, counts exactly once.
    struct Flaky {
        inner: MemoryKv,
        fail_at: u64,
        calls: std::sync::Mutex<u64>,
    }

    impl Flaky {
        fn tick(&self) -> Result<(), StoreError> {
            let mut c = self.calls.lock().unwrap();
            *c += 1;
            if *c == self.fail_at {
                Err(StoreError::Unavailable("injected".into()))
            } else {
                Ok(())
            }
        }
    }

    impl Kv for Flaky {
        type Cas = <MemoryKv as Kv>::Cas;
        async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
            self.tick()?;
            self.inner.get(key).await
        }
        async fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
            self.tick()?;
            self.inner.set(key, value).await
        }
        async fn delete(&self, key: &str) -> Result<(), StoreError> {
            self.tick()?;
            self.inner.delete(key).await
        }
        async fn get_many(&self, keys: &[String]) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
            self.tick()?;
            self.inner.get_many(keys).await
        }
        async fn set_many(&self, pairs: &[(String, Vec<u8>)]) -> Result<(), StoreError> {
            self.tick()?;
            self.inner.set_many(pairs).await
        }
        async fn delete_many(&self, keys: &[String]) -> Result<(), StoreError> {
            self.tick()?;
            self.inner.delete_many(keys).await
        }
        async fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
            self.tick()?;
            self.inner.increment(key, delta).await
        }
        async fn watch(&self, key: &str) -> Result<(Option<Vec<u8>>, Self::Cas), StoreError> {
            self.tick()?;
            self.inner.watch(key).await
        }
        async fn swap(&self, cas: Self::Cas, value: &[u8]) -> Result<bool, StoreError> {
            self.tick()?;
            self.inner.swap(cas, value).await
        }
    }

    #[test]
    fn a_failure_at_any_call_then_a_retry_counts_exactly_once() {
        for fail_at in 1..=8 {
            let kv = Flaky {
                inner: MemoryKv::default(),
                fail_at,
                calls: std::sync::Mutex::new(0),
            };
            let first = block_on(ingest(&kv, batch(hundred()), NOW));
            let retry = block_on(ingest(&kv, batch(hundred()), NOW + 5)).unwrap();
            let total = block_on(campaign_totals(
                &kv.inner,
                "c1",
                NOW - DAY_SECS,
                NOW + DAY_SECS,
                HOUR_SECS,
                None,
            ))
            .unwrap();
            assert_eq!(
                total.by_kind.values().sum::<i64>(),
                100,
                "fail at {fail_at}: {first:?} {retry:?}"
            );
            // A retry re-batched differently still counts nothing twice.
            let mixed: Vec<Sample> = hundred()
                .into_iter()
                .skip(50)
                .chain([sample("z", Some("c1"), "opened", NOW)])
                .collect();
            block_on(ingest(&kv, batch(mixed), NOW + 6)).unwrap();
            let total = block_on(campaign_totals(
                &kv.inner,
                "c1",
                NOW - DAY_SECS,
                NOW + DAY_SECS,
                HOUR_SECS,
                None,
            ))
            .unwrap();
            assert_eq!(
                total.by_kind.values().sum::<i64>(),
                101,
                "fail at {fail_at}"
            );
        }
    }

    #[test]
    fn cleanup_removes_expired_markers_and_keeps_counters() {
        let kv = MemoryKv::default();
        block_on(ingest(&kv, batch(hundred()), NOW)).unwrap();
        let early = block_on(cleanup(&kv, NOW + 3 * DAY_SECS, 10)).unwrap();
        assert!(early.days.is_empty());
        let later = NOW + 5 * DAY_SECS;
        let report = block_on(cleanup(&kv, later, 10)).unwrap();
        assert_eq!(
            (report.days.len(), report.batches, report.markers),
            (1, 1, 100)
        );
        assert!(
            kv.keys()
                .iter()
                .all(|k| !k.starts_with("wh:m:") && !k.starts_with("wh:b:")),
            "{:?}",
            kv.keys()
        );
        assert_eq!(opened(&kv), 100);
        let again = block_on(cleanup(&kv, later, 10)).unwrap();
        assert!(again.days.is_empty());
    }
}
