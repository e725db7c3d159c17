//! The read side: a campaign's totals over a range ([`campaign_totals`], or many
//! ranges and campaigns at once with [`totals_many`] / [`campaigns_totals`]) and a
//! platform's unattributed and unknown-kind events of a day ([`platform_day`]).
//! Reads are batched `get_many` calls, never one call per hour.

use super::rollup::Rollup;
use super::stored::{CounterDoc, decode};
use super::{HOUR_SECS, MAX_RANGE_HOURS};
use crate::keys::metrics as keys;
use crate::kv::{Kv, StoreError};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

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
    /// The campaign whose hour records are read.
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
    let wanted: Vec<String> = opsflow_domain::sort::sorted_unique(
        plans
            .iter()
            .flat_map(|(_, hours, _)| hours.iter().map(|(_, k)| k.clone())),
    );
    // The campaigns' rollups too: the cells of their open hours are not in the
    // hour records yet.
    let rollup_keys = opsflow_domain::sort::sorted_unique(
        queries
            .iter()
            .map(|q| keys::campaign_rollup(q.campaign_id).as_str().to_string()),
    );
    let wanted: Vec<String> = wanted.into_iter().chain(rollup_keys).collect();
    let mut docs: HashMap<String, CounterDoc> = HashMap::new();
    let mut rollups: HashMap<String, Rollup> = HashMap::new();
    for chunk in wanted.chunks(READ_CHUNK) {
        for (key, bytes) in kv.get_many(chunk).await? {
            if keys::is_campaign_rollup(&key) {
                rollups.insert(key.clone(), decode(&key, &bytes)?);
            } else {
                docs.insert(key.clone(), decode(&key, &bytes)?);
            }
        }
    }
    let mut out = Vec::with_capacity(plans.len());
    for ((bucket, hours, only_channel), q) in plans.iter().zip(queries) {
        let mut totals = CampaignTotals::default();
        let rollup = rollups.get(keys::campaign_rollup(q.campaign_id).as_str());
        for (hour, key) in hours {
            let doc = docs.get(key);
            let open = rollup.map_or(&[][..], |r| r.open_cells(*hour, doc));
            let closed = doc.map_or(&[][..], |d| &d.cells[..]);
            let bucket_start = hour - hour.rem_euclid(*bucket);
            for cell in closed.iter().chain(open) {
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

/// A platform's unattributed and unknown-kind events of one day.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PlatformDay {
    /// The UTC day number (`unix_seconds / 86400`).
    pub day: i64,
    /// Unattributed events by counter kind.
    pub unattributed: BTreeMap<String, i64>,
    /// Events of kinds we do not count, by the sender's kind name.
    pub unknown: BTreeMap<String, i64>,
    /// The latest unattributed events as normalised (at most
    /// [`SAMPLES_KEPT`](super::SAMPLES_KEPT)).
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
