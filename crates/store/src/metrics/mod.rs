//! Metric counters: how webhook events and manual samples are stored, exactly
//! once, and read back. (Owned by the webhooks/metrics work; other areas call
//! [`campaign_totals`], or [`totals_many`] / [`campaigns_totals`] to read many
//! campaigns in few `get_many` calls.)
//!
//! # Write path ([`ingest`](fn@ingest)), per batch
//!
//! 1. **One `get_many`** of the dedupe markers of every event in the batch (plus
//!    today's registry record). A marker's value names the batch record that
//!    counted the event.
//! 2. Events whose marker exists are duplicates. If their batch record exists,
//!    was received less than [`APPLY_WINDOW_SECS`] ago and is not yet applied to
//!    every counter record it touches, it is applied now (a retry after a
//!    failure completes the earlier attempt; one extra `get_many` of those batch
//!    records and counter records, only when duplicates arrive).
//! 3. The new events are folded into per-record deltas: per (campaign, hour) the
//!    channel × content × kind cells, per (platform, day) the unattributed and
//!    unknown-kind events.
//! 4. Only when today's registry lacks one of the records they touch (the hour
//!    records and the campaigns' rollups): one compare-and-swap adds them (and,
//!    on the first batch of a day, the day to the list of registered days). The
//!    cleanup pass walks these registries.
//! 5. **One `set_many`** writes the new markers and the batch record (its deltas
//!    and marker keys) together: one transaction on Spin's SQLite backend, one
//!    `MSET` on Redis. After this the batch is durable: every later delivery of
//!    its events is a known duplicate.
//! 6. **One compare-and-swap per campaign** (usually one) adds the deltas to the
//!    campaign's **rollup** (`met:r:<campaign>`, see the `rollup` module) and
//!    records the batch key with each hour it touched, in the same write, so
//!    applying a batch twice is a no-op. Platform-day records get one
//!    compare-and-swap each, as before.
//!
//! The rollup is the campaign's counter record for its *open* hours (full cells,
//! the batches applied to them) and its running totals by kind and channel: one
//! vector per hour of the last [`KEEP_HOURS`] and per day of the last
//! [`KEEP_DAYS`] (older days summed). An hour closes when it is [`OPEN_HOURS`]
//! behind the writer's clock: the next write of the rollup first merges the
//! hour's cells and `applied` entries into its hour record (`met:c:<c>:<hour>`,
//! compare-and-swap, admitted once by the part's id), then drops it.
//! An hour the write adds to stays open while within a day behind (late
//! streams do not reopen and close it every batch), at most 8 open hours. Late events
//! reopen their hour in the rollup and are added to its hour and day totals, so
//! every window counts them.
//!
//! A steady-state 100-event batch to one campaign costs 5 KV calls (open,
//! `get_many`, `set_many`, CAS read, CAS write) and 2 write commits, as before
//! rollups. The first batch after an hour boundary also closes the hour before
//! the previous one: 2 calls (hour record read and swap) and 1 commit more.
//! A batch with events more than an hour late reads their hour records once
//! (were they applied before the hour closed?): 1 call more.
//!
//! # Reading
//!
//! [`campaign_totals`] / [`totals_many`] (the metrics API, reports) read the hour
//! records of a range plus each campaign's rollup, adding the open hours'
//! cells the hour record has not admitted. [`window_totals_many`] (the
//! monitoring engine) reads only the rollups, one key per campaign, and answers
//! every window within the kept hours and days by kind and channel; a window
//! older than that (a replay with an old `now`) is read from the hour records.
//!
//! # Failure and retry
//!
//! A failure before step 5 leaves nothing the retry can trip on (a registry entry
//! at most). A failure between closing an hour into its hour record and the
//! rollup's swap leaves the hour in both; the hour record has admitted the
//! part's id, so readers count it once and the next close merges nothing. A failure after step 5 answers 503; the sender's retry finds the
//! markers, and step 2 finishes applying the batch: every event is counted
//! exactly once, whatever the sender re-batches. Concurrent deliveries of the
//! same batch derive the same batch key (a hash of the new events' marker keys),
//! so the `applied` map admits its deltas once. Counters are never
//! read-modified-written without compare-and-swap.
//!
//! # Retention ([`cleanup`](fn@cleanup))
//!
//! There is no TTL. Markers and batch records received on day `d` are deleted by
//! the cleanup pass once `d + RETENTION_DAYS <= today`, found through the day's
//! registry → rollups (whose stale open hours it closes first) and hour records →
//! `applied` entries of day `d` → batch records → marker keys; never by listing
//! keys. A batch older than
//! [`APPLY_WINDOW_SECS`] is never re-applied, so pruning `applied` entries then
//! is safe. Counter records are kept.
//!
//! Both derive from the one setting
//! [`DEDUPE_RETENTION_SECS`](opsflow_domain::webhooks::DEDUPE_RETENTION_SECS):
//! a marker received at the last second of day `d` is deleted at the earliest at
//! the start of day `d + RETENTION_DAYS`, so every marker lives more than
//! `(RETENTION_DAYS - 1)` days = the retention. The webhook verifiers derive
//! their replay window from the same setting (the retention minus a margin,
//! [`REPLAY_WINDOW_SECS`](opsflow_domain::webhooks::REPLAY_WINDOW_SECS)), so no
//! admitted replay outlives its marker.
//!
//! # Layout
//!
//! One file per seam above: `ingest.rs` (the write path), `rollup.rs` (campaign
//! rollups: applying, closing hours, the monitoring read), `read.rs` (totals and
//! platform days), `cleanup.rs` (retention), and `stored.rs` (the counter and
//! batch records they share).

mod applied;
mod cleanup;
mod ingest;
mod read;
mod rollup;
mod stored;
#[cfg(test)]
mod tests;

pub use cleanup::{CleanupReport, cleanup};
pub use ingest::{Batch, Ingested, Sample, Target, ingest};
pub use read::{
    CampaignTotals, PlatformDay, READ_CHUNK, TotalsQuery, campaign_totals, campaigns_totals,
    platform_day, totals_many,
};
pub use rollup::{
    KEEP_DAYS, KEEP_HOURS, OPEN_HOURS, ROLLUP_CHUNK, campaign_windows, seed_campaign,
    window_totals_many,
};
pub use stored::{Cell, encode_counter_record};

use opsflow_domain::webhooks::DEDUPE_RETENTION_SECS;

/// Seconds in an hour bucket.
pub const HOUR_SECS: i64 = 3_600;
/// Seconds in a day.
pub const DAY_SECS: i64 = 86_400;
/// Markers and batch records received on day `d` are removed once
/// `d + RETENTION_DAYS <= today`: more than
/// [`DEDUPE_RETENTION_SECS`](opsflow_domain::webhooks::DEDUPE_RETENTION_SECS)
/// (three full days) after receipt.
pub const RETENTION_DAYS: i64 = DEDUPE_RETENTION_SECS / DAY_SECS + 1;
/// A stored batch is (re)applied to its counters only this long after receipt
/// (never once the cleanup pass may have deleted it).
pub const APPLY_WINDOW_SECS: i64 = DEDUPE_RETENTION_SECS;

const _: () = assert!(DEDUPE_RETENTION_SECS % DAY_SECS == 0);
/// The least time a marker survives: received at the last second of a day,
/// deleted at the start of the day `RETENTION_DAYS` later.
const _: () = assert!((RETENTION_DAYS - 1) * DAY_SECS + 1 > DEDUPE_RETENTION_SECS);
/// The widest range [`campaign_totals`] reads, in hour records (100 days).
pub const MAX_RANGE_HOURS: i64 = 2_400;
/// Unattributed events kept for inspection per platform and day.
pub const SAMPLES_KEPT: usize = 100;
/// Compare-and-swap attempts on one counter record before giving up (503).
const MAX_CAS_ATTEMPTS: usize = 48;
/// Keys per `get_many` / `delete_many` call.
const CHUNK: usize = 1_000;

/// The UTC day number of a unix time.
pub fn day_of(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(DAY_SECS)
}

fn hour_of(unix_seconds: i64) -> i64 {
    unix_seconds - unix_seconds.rem_euclid(HOUR_SECS)
}
