//! Evaluation runs, in chunks: take the hold on the run ([`Schedule::hold`]: claim
//! a new one, or continue the one in progress) → evaluate the next chunk of
//! campaigns in id order ([`evaluate`]) → step alert states ([`alerts`]) and write
//! triggers ([`triggers`]) → commit the cursor with compare-and-swap; when the last
//! chunk is done, record the run ([`history`]) and finish it.
//!
//! Bounded work per request: a chunk is at most `evaluation_chunk_campaigns`
//! campaigns (default [`CHUNK_CAMPAIGNS`]), and a request starts another chunk only
//! while it has spent less than `evaluation_request_budget_ms` (default
//! [`REQUEST_BUDGET_MS`]). The count bounds what a crash redoes and what one chunk
//! costs; the time adapts the request to the store (a local SQLite file does many
//! chunks in the time a hosted store's round trips allow a few). A run that is not
//! done answers 202 and the caller calls again with the same body; a small store is
//! one chunk, one request, 200 with the run record, as before.
//!
//! A crash between chunks resumes from the last committed cursor; a crash inside a
//! chunk redoes the chunk, and each alert record's run mark keeps a campaign from
//! being stepped twice ([`alerts`]).

mod alerts;
mod evaluate;
mod history;
mod triggers;

use std::collections::BTreeSet;

use opsflow_api::{ApiResponse, Problem, ids};
use opsflow_domain::monitoring::{Claim, ClaimRefusal, HoldRequest, Progress, Rule, Schedule};
use opsflow_edge::Ctx;
use opsflow_store::keys::monitoring as keys;
use opsflow_store::spin::SpinKv;
use opsflow_store::{Records, StoreError, UpdateError, Versioned};
use serde::{Deserialize, Serialize};

use evaluate::Tally;
use history::RunRecord;

/// Campaigns per batch: one `get_many` of campaigns, the metric reads of all of
/// them together (one `get_many` of rollups: `ROLLUP_CHUNK` is 512), one
/// `get_many` and one `set_many` of alert records. About 2 MB of values in
/// memory at a time (campaign ~0.7 KB, rollup 2–10 KB, alert record ~1.3 KB),
/// plus the chunk's alert records, which are stepped together: what fires in a
/// chunk is written and indexed once.
pub(super) const BATCH: usize = 500;

/// Campaigns per chunk unless `evaluation_chunk_campaigns` says otherwise: four
/// batches between two commits of the cursor.
pub(super) const CHUNK_CAMPAIGNS: usize = 2_000;

/// A request's time budget unless `evaluation_request_budget_ms` says otherwise:
/// no chunk starts after it is spent (0: one chunk per request).
pub(super) const REQUEST_BUDGET_MS: i64 = 2_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RunInput {
    now: serde_json::Value,
}

/// What one request may do.
struct Budget {
    /// Campaigns per chunk.
    chunk: usize,
    /// Milliseconds after which no chunk starts.
    ms: i64,
    /// When the request began (wall-clock milliseconds).
    started_ms: i64,
}

impl Budget {
    async fn load() -> Self {
        Self {
            chunk: setting("evaluation_chunk_campaigns", 1)
                .await
                .and_then(|n| usize::try_from(n).ok())
                .unwrap_or(CHUNK_CAMPAIGNS),
            ms: setting("evaluation_request_budget_ms", 0)
                .await
                .unwrap_or(REQUEST_BUDGET_MS),
            started_ms: wall_ms(),
        }
    }

    fn spent(&self) -> bool {
        wall_ms() - self.started_ms >= self.ms
    }
}

/// A numeric Spin variable at least `min`; unset or invalid is `None` (the
/// default), said on stderr when invalid.
async fn setting(name: &str, min: i64) -> Option<i64> {
    let raw = opsflow_edge::variable(name).await?;
    match raw.trim().parse::<i64>() {
        Ok(n) if n >= min => Some(n),
        _ => {
            eprintln!(
                "threshold-check: {name}={raw:?} is not an integer >= {min}; using the default"
            );
            None
        }
    }
}

fn wall_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The answer for a finished run: its record.
#[derive(Serialize)]
struct Finished<'a> {
    /// Always `true`: the requested tick is done.
    complete: bool,
    #[serde(flatten)]
    record: &'a RunRecord,
}

/// The answer while the requested tick is not done: call again with the same body.
#[derive(Serialize)]
struct Continuing {
    complete: bool,
    /// The run this request advanced (an earlier tick's, finished first, or this one's).
    run_id: String,
    /// Its `now`.
    now: i64,
    /// The last campaign it fully evaluated; `null` before the first or once its
    /// campaigns are done.
    next_cursor: Option<String>,
    /// Campaigns it evaluated so far.
    campaigns: usize,
    /// Chunks it took so far.
    chunks: u32,
    detail: String,
}

/// Where a request left the run it held.
enum Outcome {
    Finished(Box<RunRecord>),
    Paused(Continuing),
}

pub async fn run(ctx: &Ctx) -> Result<ApiResponse, Problem> {
    let (req, kv, who) = (&ctx.req, &ctx.kv, &ctx.who);
    let input: RunInput = req.json()?;
    let now = opsflow_api::time::unix_seconds(&input.now, "now")?;
    let budget = Budget::load().await;
    loop {
        let holder = ids::new_id()?;
        let claim = match hold(kv, &holder, now, &who.sub).await? {
            Ok(c) => c,
            Err(refusal) => return Err(refused(refusal)),
        };
        let outcome = match advance(kv, &claim, &who.sub, &budget).await {
            Ok(o) => o,
            Err(e) => {
                let _ = update(kv, |s| Ok(s.release(&holder))).await;
                return Err(e);
            }
        };
        match outcome {
            Outcome::Finished(record) if record.now == now => {
                let done = Finished {
                    complete: true,
                    record: &record,
                };
                return Ok(ApiResponse::json(200, &done));
            }
            // An earlier tick was finished first; this one is claimed next.
            Outcome::Finished(_) if !budget.spent() => continue,
            Outcome::Finished(record) => {
                let c = Continuing {
                    complete: false,
                    detail: format!(
                        "run {} of the earlier tick now={} is finished; call again to run now={now}",
                        record.id, record.now
                    ),
                    run_id: record.id,
                    now: record.now,
                    next_cursor: None,
                    campaigns: record.counts.campaigns,
                    chunks: record.chunks,
                };
                return Ok(ApiResponse::json(202, &c));
            }
            Outcome::Paused(c) => return Ok(ApiResponse::json(202, &c)),
        }
    }
}

/// Evaluates chunks of the held run until it is done or the budget is spent.
async fn advance(
    kv: &SpinKv,
    claim: &Claim,
    caller: &str,
    budget: &Budget,
) -> Result<Outcome, Problem> {
    let rules: Vec<Rule> = opsflow_store::monitoring::load_rules(kv, claim.now)
        .await?
        .into_iter()
        .map(|v| v.value)
        .collect();
    // A run claimed before runs recorded their claimant is continued in the caller's name.
    let requested_by = if claim.requested_by.is_empty() {
        caller
    } else {
        &claim.requested_by
    };
    let mut tally = Tally {
        kv,
        run_id: &claim.run_id,
        requested_by,
        now: claim.now,
        record: RunRecord {
            id: claim.run_id.clone(),
            now: claim.now,
            requested_by: requested_by.to_string(),
            categories: claim.categories.clone(),
            counts: claim.counts.clone(),
            took_over: claim.took_over.clone(),
            chunks: claim.chunks,
            ..RunRecord::default()
        },
        rule_ids: BTreeSet::new(),
    };
    tally.rule_ids.extend(rules.iter().map(|r| r.id.clone()));
    let mut cursor = claim.cursor.clone();
    loop {
        let step = evaluate::evaluate(
            &mut tally,
            &rules,
            &claim.categories,
            cursor.as_deref(),
            budget.chunk,
        )
        .await?;
        tally.record.chunks = tally.record.chunks.saturating_add(1);
        cursor = step.cursor;
        if step.done {
            let mut record = tally.record;
            finish(kv, claim, &mut record).await?;
            return Ok(Outcome::Finished(Box::new(record)));
        }
        let keep = !budget.spent();
        let progress = Progress {
            cursor: cursor.clone(),
            chunks: tally.record.chunks,
            counts: tally.record.counts.clone(),
        };
        let wall = crate::wall_secs();
        update(kv, |s| {
            s.commit(&claim.holder, progress.clone(), keep, wall)
        })
        .await?;
        if !keep {
            let r = &tally.record;
            return Ok(Outcome::Paused(Continuing {
                complete: false,
                detail: format!(
                    "run {} (now={}) continues after campaign {}; call again with the same body",
                    r.id,
                    r.now,
                    cursor.as_deref().unwrap_or("-")
                ),
                run_id: r.id.clone(),
                now: r.now,
                next_cursor: cursor,
                campaigns: r.counts.campaigns,
                chunks: r.chunks,
            }));
        }
    }
}

/// Records the finished run, then lets the schedule know: a crash in between
/// redoes the last chunk (every owner in it marked), whose record is there already.
async fn finish(kv: &SpinKv, claim: &Claim, record: &mut RunRecord) -> Result<(), Problem> {
    let finished = chrono::Utc::now();
    let started = chrono::DateTime::from_timestamp_millis(claim.started_ms)
        .filter(|_| claim.started_ms > 0)
        .unwrap_or(finished);
    record.started_at = started.to_rfc3339();
    record.finished_at = finished.to_rfc3339();
    record.duration_ms = (finished - started).num_milliseconds();
    history::save_run(kv, record).await?;
    update(kv, |s| s.finish(&claim.holder)).await?;
    Ok(())
}

fn refused(r: ClaimRefusal) -> Problem {
    let detail = r.to_string();
    let (slug, extra) = match &r {
        ClaimRefusal::AlreadyClaimed { now, last_now } => (
            "run-already-claimed",
            serde_json::json!({"now": now, "last_now": last_now}),
        ),
        ClaimRefusal::InProgress {
            run_id,
            lease_until,
        } => (
            "run-in-progress",
            serde_json::json!({"run_id": run_id, "lease_until": lease_until}),
        ),
        ClaimRefusal::HoldLost { run_id } => {
            ("run-hold-lost", serde_json::json!({"run_id": run_id}))
        }
    };
    let mut p = Problem::conflict(slug, detail);
    if let serde_json::Value::Object(m) = extra {
        for (k, v) in m {
            p = p.with(&k, v);
        }
    }
    p
}

/// Changes the schedule with compare-and-swap; a refusal is a 409.
async fn update(
    kv: &SpinKv,
    mut f: impl FnMut(&Schedule) -> Result<Schedule, ClaimRefusal>,
) -> Result<(), Problem> {
    let result = Records::new(kv)
        .upsert(&keys::schedule(), |v: Versioned<Schedule>| f(&v.value))
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(UpdateError::Refused(r)) => Err(refused(r)),
        Err(UpdateError::Store(e)) => Err(e.into()),
        Err(UpdateError::NotFound) => Err(StoreError::Corrupt("schedule vanished".into()).into()),
    }
}

/// Takes the hold on the run for `holder` with compare-and-swap on the schedule.
async fn hold(
    kv: &SpinKv,
    holder: &str,
    now: i64,
    requested_by: &str,
) -> Result<Result<Claim, ClaimRefusal>, Problem> {
    let wall_ms = wall_ms();
    let ask = HoldRequest {
        holder,
        now,
        requested_by,
        wall: wall_ms.div_euclid(1_000),
        wall_ms,
    };
    let mut granted = None;
    let result = Records::new(kv)
        .upsert(&keys::schedule(), |v: Versioned<Schedule>| {
            let (next, c) = v.value.hold(ask)?;
            granted = Some(c);
            Ok(next)
        })
        .await;
    match result {
        Ok(_) => granted
            .map(Ok)
            .ok_or_else(|| Problem::from(StoreError::Corrupt("claim lost".into()))),
        Err(UpdateError::Refused(r)) => Ok(Err(r)),
        Err(UpdateError::Store(e)) => Err(e.into()),
        Err(UpdateError::NotFound) => Err(StoreError::Corrupt("schedule vanished".into()).into()),
    }
}
