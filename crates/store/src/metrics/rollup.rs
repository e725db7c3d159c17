//! Campaign rollups: the one record per campaign a batch's compare-and-swap writes
//! (step 6 of the write path), and what the monitoring engine reads instead of
//! hour records ([`window_totals_many`]).
//!
//! A rollup (`met:r:<campaign>`) holds
//! - **open hours**: the full cells (kind × channel × content) of the hours still
//!   receiving events, with the batches applied to each. An hour closes once it is
//!   [`OPEN_HOURS`] behind the writer's current hour (or more than a day ahead of
//!   it): a later write of the rollup first merges the hour's cells and `applied`
//!   entries into its hour record (`met:c:<campaign>:<hour>`, compare-and-swap,
//!   admitted once by the part's id), then drops it from the rollup. Readers of
//!   hour records add the open hours whose id the hour record has not admitted.
//! - **running totals by kind and channel**: one vector per hour for the last
//!   [`KEEP_HOURS`] hours and one per day for the last [`KEEP_DAYS`] days (older
//!   days summed in `earlier`), indexed by a slot table of (kind, channel). Every
//!   event counted in the rollup is in them, late ones too (its own hour and day).
//!
//! So a steady-state batch still makes one compare-and-swap (the rollup instead of
//! the hour record), and an evaluation reads one key per campaign for every
//! window that lies within the kept hours and days. A window the rollup cannot
//! answer exactly (older than it keeps, as a replay with an old `now` asks) is
//! read from the hour records as before, with the same result.

use super::applied::Applied;
use super::read::{CampaignTotals, TotalsQuery, totals_many};
use super::stored::{
    BatchDoc, Cell, CounterDoc, GroupDelta, add_cells, decode, encode, get_map, live_batches,
};
use super::{DAY_SECS, HOUR_SECS, MAX_CAS_ATTEMPTS, MAX_RANGE_HOURS, day_of, hour_of};
use crate::keys::metrics as keys;
use crate::kv::{Kv, StoreError};
use opsflow_domain::monitoring::metric::{Totals, Window};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Hours of running totals a rollup keeps (behind the latest write's hour): the
/// longest hourly window answered from the rollup (the shipped content-engagement
/// rule reads 192 hours).
pub const KEEP_HOURS: i64 = 9 * 24;
/// Days of running totals a rollup keeps; older days are summed in one vector,
/// which still answers a window starting at or before its first event's day
/// (a campaign's KPI window since its start).
pub const KEEP_DAYS: i64 = 35;
/// An hour's full cells stay in the rollup until the hour is this many hours
/// behind the current one (events arrive late by minutes; closing costs a
/// compare-and-swap of the hour record, once per hour).
pub const OPEN_HOURS: i64 = 2;
/// Future hours kept open at most this far ahead (samples may be dated ahead).
const OPEN_AHEAD_SECS: i64 = DAY_SECS;
/// Open hours a rollup holds at most (each with its cells and applied batches).
const MAX_OPEN: usize = 8;
/// (kind, channel) slots per rollup; events of further channels count in their
/// kind's channel-less slot (campaign-wide totals stay exact).
const MAX_SLOTS: usize = 200;
/// Hour and day vectors kept beyond the windows above (future-dated events);
/// past this, the latest are dropped and windows reaching them are read from
/// the hour records.
const MAX_AHEAD_ENTRIES: usize = 48;
/// Rollup keys per `get_many` in [`window_totals_many`] (a rollup is ~1–5 KiB).
pub const ROLLUP_CHUNK: usize = 512;

/// Running totals: one value per slot, `None` where no event was counted.
type Vector = Vec<Option<i64>>;

/// A campaign's rollup (see the module documentation). `O` is how the open
/// hours are held: their cells for a writer, nothing for a reader of totals
/// ([`TotalsView`]), which then neither allocates nor keeps them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct Rollup<O = BTreeMap<i64, OpenHour>> {
    /// The campaign (the hour records of closing hours are derived from it).
    #[serde(default)]
    campaign: String,
    /// The (kind, channel) of each vector position.
    #[serde(default)]
    slots: Vec<(String, Option<String>)>,
    /// `hours` holds every event of the hours from this one on.
    #[serde(default)]
    hours_from: i64,
    /// Hours from here on may be missing from `hours` (future-dated overflow).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hours_to: Option<i64>,
    /// Hour start → totals.
    #[serde(default)]
    hours: BTreeMap<i64, Vector>,
    /// `days` holds every event of the days from this one on; `earlier` the rest.
    #[serde(default)]
    days_from: i64,
    /// Days from here on may be missing from `days` (future-dated overflow).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    days_to: Option<i64>,
    /// UTC day number → totals.
    #[serde(default)]
    days: BTreeMap<i64, Vector>,
    /// Totals of the days before `days_from`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    earlier: Vector,
    /// The first day with an event in `earlier`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    earlier_from: Option<i64>,
    /// Hour start → the full cells not yet in its hour record.
    #[serde(default)]
    open: O,
}

/// A rollup read for its running totals only (the monitoring engine's windows).
pub(super) type TotalsView = Rollup<serde::de::IgnoredAny>;

/// The cells of one open hour.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct OpenHour {
    /// Admitted once by the hour record when the hour closes (`<batch>@<hour>`).
    id: String,
    /// Every (kind, channel, content) cell counted in this hour since it opened.
    cells: Vec<Cell>,
    /// Batch key → receipt day of every batch applied to this hour since it opened.
    applied: Applied,
}

fn bump(v: &mut Vector, slot: usize, value: i64) {
    if v.len() <= slot {
        v.resize(slot + 1, None);
    }
    let cell = &mut v[slot];
    *cell = Some(cell.unwrap_or(0).saturating_add(value));
}

fn merge(into: &mut Vector, from: &Vector) {
    for (slot, value) in from.iter().enumerate() {
        if let Some(value) = value {
            bump(into, slot, *value);
        }
    }
}

impl<O> Rollup<O> {
    /// The totals of buckets starting in `[q.from, q.to)` as [`totals_many`]
    /// counts them (by kind and channel; no content or series), or `None` when
    /// the rollup does not keep all of them.
    fn answer(&self, q: &TotalsQuery<'_>) -> Option<CampaignTotals> {
        let bucket = q.bucket_secs.max(HOUR_SECS);
        let first = q.from + (bucket - q.from.rem_euclid(bucket)) % bucket;
        let mut sum: Vector = Vec::new();
        if q.to <= first {
            return Some(CampaignTotals::default());
        }
        if bucket == HOUR_SECS {
            // The hour records `totals_many` reads: at most MAX_RANGE_HOURS.
            let last = (q.to - 1).min(first + (MAX_RANGE_HOURS - 1) * HOUR_SECS);
            if first < self.hours_from || self.hours_to.is_some_and(|t| last >= t) {
                return None;
            }
            for v in self.hours.range(first..=last).map(|(_, v)| v) {
                merge(&mut sum, v);
            }
        } else if bucket == DAY_SECS {
            let first_day = day_of(first);
            let last_day = day_of(q.to - 1).min(first_day + MAX_RANGE_HOURS / 24 - 1);
            if self.days_to.is_some_and(|t| last_day >= t) {
                return None;
            }
            if first_day < self.days_from {
                // `earlier` counts only if all of it lies in the range.
                let inside = self.earlier_from.is_none_or(|d| d >= first_day);
                if !inside || last_day < self.days_from - 1 {
                    return None;
                }
                merge(&mut sum, &self.earlier);
            }
            for v in self.days.range(first_day..=last_day).map(|(_, v)| v) {
                merge(&mut sum, v);
            }
        } else {
            return None;
        }
        Some(self.totals(&sum, q.channel))
    }

    fn totals(&self, sum: &Vector, only_channel: Option<&str>) -> CampaignTotals {
        let mut t = CampaignTotals::default();
        for ((kind, channel), value) in self.slots.iter().zip(sum) {
            let Some(value) = value else { continue };
            if only_channel.is_some_and(|c| channel.as_deref() != Some(c)) {
                continue;
            }
            let add = |map: &mut BTreeMap<String, i64>| {
                let v = map.entry(kind.clone()).or_default();
                *v = v.saturating_add(*value);
            };
            add(&mut t.by_kind);
            if let Some(channel) = channel {
                add(t.by_channel.entry(channel.clone()).or_default());
            }
        }
        t
    }
}

impl Rollup {
    fn new(campaign: &str, now: i64) -> Self {
        Self {
            campaign: campaign.to_string(),
            hours_from: hour_of(now) - KEEP_HOURS * HOUR_SECS,
            days_from: day_of(now) - KEEP_DAYS,
            ..Self::default()
        }
    }

    fn slot(&mut self, kind: &str, channel: Option<&str>) -> usize {
        let find = |slots: &[(String, Option<String>)], channel: Option<&str>| {
            slots
                .iter()
                .position(|(k, c)| k == kind && c.as_deref() == channel)
        };
        if let Some(i) = find(&self.slots, channel) {
            return i;
        }
        let channel = if self.slots.len() >= MAX_SLOTS {
            None
        } else {
            channel
        };
        if let Some(i) = find(&self.slots, channel) {
            return i;
        }
        self.slots
            .push((kind.to_string(), channel.map(str::to_string)));
        self.slots.len() - 1
    }

    /// The batches received on or before `day` applied to hours still open.
    pub(super) fn applied_through(&self, day: i64) -> impl Iterator<Item = String> + '_ {
        self.open.values().flat_map(move |o| o.applied.through(day))
    }

    /// Whether `batch_key` was applied to one of `hours` while it was open here.
    fn has_applied(&self, batch_key: &str, hours: &[i64]) -> bool {
        hours.iter().any(|h| {
            self.open
                .get(h)
                .is_some_and(|o| o.applied.contains(batch_key))
        })
    }

    /// Counts `cells` of `hour`, applied by `batch_key` received on `received_day`.
    fn add(&mut self, batch_key: &str, received_day: i64, hour: i64, cells: &[Cell]) {
        let part = self.open.entry(hour).or_insert_with(|| OpenHour {
            id: format!("{batch_key}@{hour}"),
            ..OpenHour::default()
        });
        for c in cells {
            add_cells(&mut part.cells, c);
        }
        part.applied.insert(batch_key, received_day);
        let day = day_of(hour);
        for c in cells {
            let slot = self.slot(&c.kind, c.channel.as_deref());
            if hour >= self.hours_from {
                bump(self.hours.entry(hour).or_default(), slot, c.value);
            }
            if day >= self.days_from {
                bump(self.days.entry(day).or_default(), slot, c.value);
            } else {
                bump(&mut self.earlier, slot, c.value);
                self.earlier_from = Some(self.earlier_from.map_or(day, |d| d.min(day)));
            }
        }
    }

    /// Drops the hours and days older than kept at `now` (old days into
    /// `earlier`), and the future-most beyond [`MAX_AHEAD_ENTRIES`].
    fn trim(&mut self, now: i64) {
        let hours_from = hour_of(now) - KEEP_HOURS * HOUR_SECS;
        if hours_from > self.hours_from {
            self.hours_from = hours_from;
            self.hours = self.hours.split_off(&hours_from);
        }
        let days_from = day_of(now) - KEEP_DAYS;
        if days_from > self.days_from {
            let kept = self.days.split_off(&days_from);
            for (day, v) in std::mem::replace(&mut self.days, kept) {
                merge(&mut self.earlier, &v);
                self.earlier_from = Some(self.earlier_from.map_or(day, |d| d.min(day)));
            }
            self.days_from = days_from;
        }
        let max_hours = (KEEP_HOURS as usize) + MAX_AHEAD_ENTRIES;
        while self.hours.len() > max_hours {
            if let Some((h, _)) = self.hours.pop_last() {
                self.hours_to = Some(self.hours_to.map_or(h, |t| t.min(h)));
            }
        }
        let max_days = (KEEP_DAYS as usize) + MAX_AHEAD_ENTRIES;
        while self.days.len() > max_days {
            if let Some((d, _)) = self.days.pop_last() {
                self.days_to = Some(self.days_to.map_or(d, |t| t.min(d)));
            }
        }
    }

    /// The open hours a write at `now` closes: those [`OPEN_HOURS`] behind or a
    /// day ahead, except the ones this write adds to (`touched`) within a day
    /// behind (a stream of events hours late keeps its hour open instead of
    /// reopening and closing it every batch); and the oldest beyond
    /// [`MAX_OPEN`] in any case.
    fn closing(&self, now: i64, touched: &[i64]) -> Vec<i64> {
        let current = hour_of(now);
        let due = |h: i64| h < current - OPEN_HOURS * HOUR_SECS || h > current + OPEN_AHEAD_SECS;
        let kept = |h: i64| {
            touched.contains(&h) && h >= current - DAY_SECS && h <= current + OPEN_AHEAD_SECS
        };
        let mut closing: Vec<i64> = self
            .open
            .keys()
            .copied()
            .filter(|h| due(*h) && !kept(*h))
            .collect();
        let mut left = self.open.len() - closing.len();
        for h in self.open.keys() {
            if left <= MAX_OPEN {
                break;
            }
            if !closing.contains(h) {
                closing.push(*h);
                left -= 1;
            }
        }
        closing
    }

    /// The cells of `hour` not yet in its hour record `record`.
    pub(super) fn open_cells(&self, hour: i64, record: Option<&CounterDoc>) -> &[Cell] {
        match self.open.get(&hour) {
            Some(part) if !record.is_some_and(|r| r.applied.contains(&part.id)) => &part.cells,
            _ => &[],
        }
    }
}

/// Applies one batch's deltas for one campaign (`groups`, one per hour) to the
/// campaign's rollup in one compare-and-swap, unless already applied; closes the
/// hours that are due first (unless `close` is false: the next write closes
/// them). `now` is the writer's clock.
pub(super) async fn apply_campaign<K: Kv>(
    kv: &K,
    batch_key: &str,
    received_day: i64,
    campaign: &str,
    groups: &[&GroupDelta],
    now: i64,
    close: bool,
) -> Result<(), StoreError> {
    let key = keys::campaign_rollup(campaign);
    let hours: Vec<i64> = groups.iter().filter_map(|g| g.hour).collect();
    let mut checked_closed = false;
    for _ in 0..MAX_CAS_ATTEMPTS {
        let (current, cas) = kv.watch(key.as_str()).await?;
        let mut doc = match current {
            Some(bytes) => decode(key.as_str(), &bytes)?,
            None => Rollup::new(campaign, now),
        };
        if doc.has_applied(batch_key, &hours) {
            return Ok(());
        }
        // An hour that may have closed since this batch was applied to it (and
        // perhaps reopened for later events): its hour record holds the batch
        // key then. Hours close
        // OPEN_HOURS behind (or a day ahead of) a writer's clock; one hour of
        // margin for clocks.
        if !checked_closed {
            let current = hour_of(now);
            let may_have_closed = |h: i64| {
                h < current - (OPEN_HOURS - 1) * HOUR_SECS
                    || h > current + OPEN_AHEAD_SECS - HOUR_SECS
            };
            let closed: Vec<String> = groups
                .iter()
                .filter(|g| g.hour.is_some_and(may_have_closed))
                .map(|g| g.key.clone())
                .collect();
            if !closed.is_empty() && applied_in_records(kv, &closed, batch_key).await? {
                return Ok(());
            }
            checked_closed = true;
        }
        for g in groups {
            if let Some(hour) = g.hour {
                doc.add(batch_key, received_day, hour, &g.cells);
            }
        }
        if close {
            close_due(kv, &mut doc, now, &hours).await?;
        } else {
            doc.trim(now);
        }
        if kv.swap(cas, &encode(&doc)?).await? {
            return Ok(());
        }
    }
    Err(StoreError::Contended)
}

/// Trims `doc` and merges its hours that are due into their hour records,
/// dropping them from `doc` (the caller swaps it in).
async fn close_due<K: Kv>(
    kv: &K,
    doc: &mut Rollup,
    now: i64,
    touched: &[i64],
) -> Result<(), StoreError> {
    doc.trim(now);
    for hour in doc.closing(now, touched) {
        if let Some(part) = doc.open.remove(&hour) {
            let key = keys::campaign_hour(&doc.campaign, hour);
            close_hour(kv, key.as_str(), &part, now).await?;
        }
    }
    Ok(())
}

/// Closes the hours of the rollup at `key` that are due at `now` (the cleanup
/// pass: a campaign whose events stopped keeps its last hours open until then).
pub(super) async fn close_stale<K: Kv>(kv: &K, key: &str, now: i64) -> Result<(), StoreError> {
    for _ in 0..MAX_CAS_ATTEMPTS {
        let (current, cas) = kv.watch(key).await?;
        let Some(bytes) = current else {
            return Ok(());
        };
        let mut doc: Rollup = decode(key, &bytes)?;
        if doc.closing(now, &[]).is_empty() {
            return Ok(());
        }
        close_due(kv, &mut doc, now, &[]).await?;
        if kv.swap(cas, &encode(&doc)?).await? {
            return Ok(());
        }
    }
    Err(StoreError::Contended)
}

/// Forgets the batches received on or before `day` in the rollup at `key` (the
/// cleanup pass, once their batch records are gone).
pub(super) async fn prune_rollup<K: Kv>(kv: &K, key: &str, day: i64) -> Result<(), StoreError> {
    for _ in 0..MAX_CAS_ATTEMPTS {
        let (current, cas) = kv.watch(key).await?;
        let Some(bytes) = current else {
            return Ok(());
        };
        let mut doc: Rollup = decode(key, &bytes)?;
        if doc.applied_through(day).next().is_none() {
            return Ok(());
        }
        for part in doc.open.values_mut() {
            part.applied.forget_through(day);
        }
        if kv.swap(cas, &encode(&doc)?).await? {
            return Ok(());
        }
    }
    Err(StoreError::Contended)
}

/// Merges an open hour into its hour record, once (the record admits the part's id).
///
/// A close whose rollup write then loses its race has merged the part while the
/// rollup still holds it open, and a concurrent batch may add to it before the
/// close is retried: that batch is in the part's `applied` but not the record's.
/// The retry finds the part admitted and merges just those batches, from their
/// batch records (written before any rollup sees a batch).
async fn close_hour<K: Kv>(kv: &K, key: &str, part: &OpenHour, now: i64) -> Result<(), StoreError> {
    let day = day_of(now);
    let mut late: BTreeMap<String, Option<Vec<Cell>>> = BTreeMap::new();
    for _ in 0..MAX_CAS_ATTEMPTS {
        let (current, cas) = kv.watch(key).await?;
        let mut doc: CounterDoc = match current {
            Some(bytes) => decode(key, &bytes)?,
            None => CounterDoc::default(),
        };
        if doc.applied.contains(&part.id) {
            let missing: Vec<String> = part
                .applied
                .through(i64::MAX)
                .filter(|b| !doc.applied.contains(b))
                .collect();
            read_cells(kv, key, &missing, now, &mut late).await?;
            let mut merged = false;
            for b in &missing {
                if let Some(Some(cells)) = late.get(b) {
                    for cell in cells {
                        add_cells(&mut doc.cells, cell);
                    }
                    doc.applied.insert(b, keys::batch_day(b).unwrap_or(day));
                    merged = true;
                }
            }
            if !merged {
                return Ok(());
            }
        } else {
            for cell in &part.cells {
                add_cells(&mut doc.cells, cell);
            }
            doc.applied.extend(&part.applied);
            doc.applied.insert(&part.id, day);
        }
        if kv.swap(cas, &encode(&doc)?).await? {
            return Ok(());
        }
    }
    Err(StoreError::Contended)
}

/// The cells each of `batches` adds to the hour record `key`, read from the batch
/// records not yet in `found`; `None` for a batch whose record is gone or past the
/// apply window (final: the cleanup pass is forgetting it).
async fn read_cells<K: Kv>(
    kv: &K,
    key: &str,
    batches: &[String],
    now: i64,
    found: &mut BTreeMap<String, Option<Vec<Cell>>>,
) -> Result<(), StoreError> {
    let unread: Vec<String> = batches
        .iter()
        .filter(|b| !found.contains_key(*b))
        .cloned()
        .collect();
    if unread.is_empty() {
        return Ok(());
    }
    let mut live: HashMap<String, BatchDoc> =
        live_batches(kv, &unread, now).await?.into_iter().collect();
    for b in unread {
        let cells = live.remove(&b).map(|doc| {
            doc.groups
                .into_iter()
                .filter(|g| g.key == key)
                .flat_map(|g| g.cells)
                .collect()
        });
        found.insert(b, cells);
    }
    Ok(())
}

/// Whether one of the hour records `keys` has applied `batch_key`.
async fn applied_in_records<K: Kv>(
    kv: &K,
    keys: &[String],
    batch_key: &str,
) -> Result<bool, StoreError> {
    for (key, bytes) in get_map(kv, keys).await? {
        if decode::<CounterDoc>(&key, &bytes)?
            .applied
            .contains(batch_key)
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The totals [`totals_many`] would answer for `queries`, by kind and channel
/// only (`by_content` and `series` stay empty): what the monitoring engine's
/// windows need. Reads one rollup per campaign ([`ROLLUP_CHUNK`] per
/// `get_many`); only a query a rollup cannot answer (a window older than it
/// keeps) is read from the hour records. A campaign without a rollup has
/// counted nothing (no data).
pub async fn window_totals_many<K: Kv>(
    kv: &K,
    queries: &[TotalsQuery<'_>],
) -> Result<Vec<CampaignTotals>, StoreError> {
    // Each query's rollup key, built once: for the read and for the answer.
    let query_keys: Vec<String> = queries
        .iter()
        .map(|q| keys::campaign_rollup(q.campaign_id).as_str().to_string())
        .collect();
    let mut wanted = query_keys.clone();
    opsflow_domain::sort::sort(&mut wanted);
    wanted.dedup();
    let mut rollups: HashMap<String, TotalsView> = HashMap::new();
    for chunk in wanted.chunks(ROLLUP_CHUNK) {
        for (key, bytes) in kv.get_many(chunk).await? {
            let doc: TotalsView = decode(&key, &bytes)?;
            rollups.insert(key, doc);
        }
    }
    let mut out = Vec::with_capacity(queries.len());
    let mut fallback: Vec<(usize, TotalsQuery<'_>)> = Vec::new();
    for (i, (q, key)) in queries.iter().zip(&query_keys).enumerate() {
        match rollups.get(key).map(|r| r.answer(q)) {
            None => out.push(CampaignTotals::default()),
            Some(Some(t)) => out.push(t),
            Some(None) => {
                out.push(CampaignTotals::default());
                fallback.push((i, *q));
            }
        }
    }
    if !fallback.is_empty() {
        let read: Vec<TotalsQuery<'_>> = fallback.iter().map(|(_, q)| *q).collect();
        for ((i, _), mut t) in fallback.iter().zip(totals_many(kv, &read).await?) {
            t.by_content.clear();
            t.series.clear();
            out[*i] = t;
        }
    }
    Ok(out)
}

/// The monitoring windows each campaign needs, read with one
/// [`window_totals_many`]: one map per campaign of `wanted` (campaign id, its
/// windows), in order.
pub async fn campaign_windows<K: Kv>(
    kv: &K,
    wanted: &[(&str, Vec<Window>)],
) -> Result<Vec<BTreeMap<Window, Totals>>, StoreError> {
    let queries: Vec<TotalsQuery<'_>> = wanted
        .iter()
        .flat_map(|(campaign_id, windows)| {
            windows.iter().map(|w| TotalsQuery {
                campaign_id,
                from: w.from,
                to: w.to,
                bucket_secs: w.bucket_secs,
                channel: None,
            })
        })
        .collect();
    let mut totals = window_totals_many(kv, &queries).await?.into_iter();
    Ok(wanted
        .iter()
        .map(|(_, windows)| {
            windows
                .iter()
                .zip(totals.by_ref())
                .map(|(w, t)| {
                    let t = Totals {
                        by_kind: t.by_kind,
                        by_channel: t.by_channel,
                    };
                    (*w, t)
                })
                .collect()
        })
        .collect())
}

/// The records [`ingest`](fn@super::ingest) leaves for a campaign whose events
/// of each hour of `hours` (hour start, cells) were each counted by one batch
/// received at `now`: its rollup and the hour records of the hours already
/// closed. For seeding benchmarks and fixtures with one `set_many`.
pub fn seed_campaign(
    campaign_id: &str,
    hours: &[(i64, Vec<Cell>)],
    now: i64,
) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
    let mut doc = Rollup::new(campaign_id, now);
    for (hour, cells) in hours {
        let batch_key = keys::batch(day_of(now), &format!("seed-{hour}"));
        doc.add(batch_key.as_str(), day_of(now), *hour, cells);
    }
    doc.trim(now);
    let mut pairs = Vec::new();
    for hour in doc.closing(now, &[]) {
        if let Some(part) = doc.open.remove(&hour) {
            let mut record = CounterDoc::default();
            for cell in &part.cells {
                add_cells(&mut record.cells, cell);
            }
            record.applied = part.applied;
            record.applied.insert(&part.id, day_of(now));
            pairs.push((
                keys::campaign_hour(campaign_id, hour).as_str().to_string(),
                encode(&record)?,
            ));
        }
    }
    pairs.push((
        keys::campaign_rollup(campaign_id).as_str().to_string(),
        encode(&doc)?,
    ));
    Ok(pairs)
}
