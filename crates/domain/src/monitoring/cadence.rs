//! Which categories a run evaluates, and the claim that keeps runs from overlapping
//! and lets one run continue over many requests.
//!
//! A category with cadence `c` is due at `now` when `now` lies in a later
//! `c`-aligned period than its last evaluation (hourly: a new UTC hour; daily: a
//! new UTC day). However many periods were missed, one run catches up once.
//!
//! The [`Schedule`] record is changed only with compare-and-swap. A run (one tick,
//! one `now`) covers the watched campaigns in id order, in chunks, possibly over
//! several requests; the record holds the run in progress ([`Running`]): its
//! cursor (the last campaign fully evaluated, its alerts and triggers written), what
//! it counted so far, and the *hold* — the request working on it now, with a lease.
//!
//! - [`Schedule::hold`]: a request takes the hold. A run in progress whose hold is
//!   free (between requests) or whose lease expired (its holder died) is continued
//!   by whichever request comes, for its `now` or a later one: an unfinished tick is
//!   finished before the next is claimed, so no campaign is skipped. Otherwise a new
//!   run is claimed at `now` (refused when a run with this or a later `now` was
//!   claimed already). A live hold refuses everyone else.
//! - [`Schedule::commit`]: a chunk is done; the cursor and counts advance, and the
//!   hold is kept (more chunks in this request) or released.
//! - [`Schedule::finish`]: the last chunk is done; the categories are recorded as
//!   evaluated at the run's `now` and the run leaves the record.
//! - [`Schedule::release`]: a request failed; it lets go of the hold and keeps the
//!   cursor, so the next request resumes where the last commit left off.
//!
//! Every change after `hold` names the holder, and is refused ([`ClaimRefusal::HoldLost`])
//! when the hold moved on (the lease expired and another request took over).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::rule::Category;

/// How long a request's hold on a run lasts before another request may take over
/// (wall-clock seconds). Renewed at every chunk; a request works for seconds (its
/// time budget plus one chunk), so only a dead holder's hold expires.
pub const CLAIM_LEASE_SECS: i64 = 300;

/// The run schedule: what was evaluated when, and the run in progress.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// The `now` of the latest claimed run.
    pub last_now: Option<i64>,
    /// Per category, the `now` of its latest finished evaluation.
    pub last_by_category: BTreeMap<Category, i64>,
    /// The run in progress, if any.
    pub running: Option<Running>,
}

/// What a run counted: the run record's counters, carried from chunk to chunk.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunCounts {
    /// Campaigns evaluated.
    pub campaigns: usize,
    /// (rule, scope) alerts stepped.
    pub scopes: usize,
    /// Episodes that started firing.
    pub fired: usize,
    /// Repeat notifications of firing episodes.
    pub repeated: usize,
    /// Episodes resolved.
    pub resolved: usize,
    /// Alerts left in `no_data`.
    pub no_data: usize,
    /// Alerts left pending.
    pub pending: usize,
    /// Alerts left firing.
    pub firing: usize,
    /// Ids of the triggers the run wrote.
    pub triggers: Vec<String>,
}

impl RunCounts {
    /// Adds `other` to these counts.
    pub fn add(&mut self, other: &RunCounts) {
        self.campaigns += other.campaigns;
        self.scopes += other.scopes;
        self.fired += other.fired;
        self.repeated += other.repeated;
        self.resolved += other.resolved;
        self.no_data += other.no_data;
        self.pending += other.pending;
        self.firing += other.firing;
        self.triggers.extend(other.triggers.iter().cloned());
    }
}

/// A claimed, unfinished run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Running {
    /// The id of the run.
    pub run_id: String,
    /// Its `now`.
    pub now: i64,
    /// Categories it evaluates.
    pub categories: Vec<Category>,
    /// Wall-clock second after which another request may take the hold over (0:
    /// nobody holds it).
    pub lease_until: i64,
    /// The request working on the run, if any (`None` between requests).
    #[serde(default)]
    pub holder: Option<String>,
    /// The last campaign id fully evaluated (alerts and triggers written); `None`
    /// before the first.
    #[serde(default)]
    pub cursor: Option<String>,
    /// Chunks committed so far.
    #[serde(default)]
    pub chunks: u32,
    /// What the committed chunks counted.
    #[serde(default)]
    pub counts: RunCounts,
    /// Who claimed the run.
    #[serde(default)]
    pub requested_by: String,
    /// Wall-clock milliseconds when the run was claimed.
    #[serde(default)]
    pub started_ms: i64,
    /// The last holder whose expired hold another request took over, if any.
    #[serde(default)]
    pub took_over: Option<String>,
}

/// A granted hold: the run to work on, as the record has it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claim {
    /// The id of the run.
    pub run_id: String,
    /// The run's `now`.
    pub now: i64,
    /// The categories this run evaluates (see [`due_categories`]).
    pub categories: Vec<Category>,
    /// The holder whose expired hold this one took over, if any.
    pub took_over: Option<String>,
    /// The request holding the run (the `holder` passed to [`Schedule::hold`]).
    pub holder: String,
    /// Where the run resumes: the last campaign fully evaluated.
    pub cursor: Option<String>,
    /// Chunks committed before this hold.
    pub chunks: u32,
    /// What the committed chunks counted.
    pub counts: RunCounts,
    /// Who claimed the run.
    pub requested_by: String,
    /// Wall-clock milliseconds when the run was claimed.
    pub started_ms: i64,
}

/// Why a run may not go ahead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum ClaimRefusal {
    /// A run for this `now` or a later one was claimed already.
    #[error("a run for now={last_now} was already claimed; now={now} is not later")]
    AlreadyClaimed {
        /// The requested `now`.
        now: i64,
        /// The latest claimed `now`.
        last_now: i64,
    },
    /// Another request holds the run.
    #[error("run {run_id} is in progress (lease until {lease_until})")]
    InProgress {
        /// The run being worked on.
        run_id: String,
        /// Its holder's lease end (wall clock).
        lease_until: i64,
    },
    /// This request's hold expired and another request took the run over.
    #[error("run {run_id} was taken over by another request after this one's lease expired")]
    HoldLost {
        /// The run.
        run_id: String,
    },
}

/// Categories due at `now` given when each was last evaluated.
pub fn due_categories(last: &BTreeMap<Category, i64>, now: i64) -> Vec<Category> {
    Category::ALL
        .into_iter()
        .filter(|c| {
            let every = c.cadence_secs();
            match last.get(c) {
                _ if every == 0 => true,
                None => true,
                Some(t) => now.div_euclid(every) > t.div_euclid(every),
            }
        })
        .collect()
}

/// Where a run stands after a chunk.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// The last campaign id fully evaluated.
    pub cursor: Option<String>,
    /// Chunks done, this one included.
    pub chunks: u32,
    /// What every chunk so far counted.
    pub counts: RunCounts,
}

/// Who asks for a hold, and when.
#[derive(Debug, Clone, Copy)]
pub struct HoldRequest<'a> {
    /// The request's id: the new run's id when it claims one.
    pub holder: &'a str,
    /// The tick it was asked to run.
    pub now: i64,
    /// The caller (`sub`).
    pub requested_by: &'a str,
    /// Wall-clock seconds, for the lease.
    pub wall: i64,
    /// Wall-clock milliseconds, recorded as a new run's start.
    pub wall_ms: i64,
}

impl Schedule {
    /// Takes the hold for `req`: continues the run in progress (its `now` may be
    /// earlier than `req.now`: a tick is finished before the next is claimed), or
    /// claims a new run at `req.now`.
    pub fn hold(&self, req: HoldRequest<'_>) -> Result<(Schedule, Claim), ClaimRefusal> {
        let Some(r) = &self.running else {
            return self.claim_new(req);
        };
        let mine = r.holder.as_deref() == Some(req.holder);
        if r.lease_until > req.wall && !mine {
            return Err(ClaimRefusal::InProgress {
                run_id: r.run_id.clone(),
                lease_until: r.lease_until,
            });
        }
        if req.now < r.now {
            return Err(ClaimRefusal::AlreadyClaimed {
                now: req.now,
                last_now: self.last_now.unwrap_or(r.now),
            });
        }
        let mut next = self.clone();
        let mut held = r.clone();
        if !mine && let Some(dead) = &r.holder {
            held.took_over = Some(dead.clone());
        }
        held.holder = Some(req.holder.to_string());
        held.lease_until = req.wall + CLAIM_LEASE_SECS;
        let claim = Claim {
            run_id: held.run_id.clone(),
            now: held.now,
            categories: held.categories.clone(),
            took_over: held.took_over.clone(),
            holder: req.holder.to_string(),
            cursor: held.cursor.clone(),
            chunks: held.chunks,
            counts: held.counts.clone(),
            requested_by: held.requested_by.clone(),
            started_ms: held.started_ms,
        };
        next.running = Some(held);
        Ok((next, claim))
    }

    fn claim_new(&self, req: HoldRequest<'_>) -> Result<(Schedule, Claim), ClaimRefusal> {
        if let Some(last) = self.last_now
            && req.now <= last
        {
            return Err(ClaimRefusal::AlreadyClaimed {
                now: req.now,
                last_now: last,
            });
        }
        let categories = due_categories(&self.last_by_category, req.now);
        let running = Running {
            run_id: req.holder.to_string(),
            now: req.now,
            categories: categories.clone(),
            lease_until: req.wall + CLAIM_LEASE_SECS,
            holder: Some(req.holder.to_string()),
            cursor: None,
            chunks: 0,
            counts: RunCounts::default(),
            requested_by: req.requested_by.to_string(),
            started_ms: req.wall_ms,
            took_over: None,
        };
        let next = Schedule {
            last_now: Some(req.now),
            last_by_category: self.last_by_category.clone(),
            running: Some(running),
        };
        let claim = Claim {
            run_id: req.holder.to_string(),
            now: req.now,
            categories,
            took_over: None,
            holder: req.holder.to_string(),
            cursor: None,
            chunks: 0,
            counts: RunCounts::default(),
            requested_by: req.requested_by.to_string(),
            started_ms: req.wall_ms,
        };
        Ok((next, claim))
    }

    /// The run `holder` holds, or why it holds none.
    fn held(&self, holder: &str) -> Result<&Running, ClaimRefusal> {
        match &self.running {
            Some(r) if r.holder.as_deref() == Some(holder) => Ok(r),
            Some(r) => Err(ClaimRefusal::HoldLost {
                run_id: r.run_id.clone(),
            }),
            None => Err(ClaimRefusal::HoldLost {
                run_id: String::new(),
            }),
        }
    }

    /// Records a committed chunk: the run's progress becomes `progress` (absolute,
    /// so writing the same commit twice changes nothing). `keep` keeps the hold
    /// (renewing its lease from `wall`) for another chunk of this request; otherwise
    /// it is released.
    pub fn commit(
        &self,
        holder: &str,
        progress: Progress,
        keep: bool,
        wall: i64,
    ) -> Result<Schedule, ClaimRefusal> {
        let r = self.held(holder)?;
        let mut r = r.clone();
        r.cursor = progress.cursor;
        r.counts = progress.counts;
        r.chunks = progress.chunks;
        if keep {
            r.lease_until = wall + CLAIM_LEASE_SECS;
        } else {
            r.holder = None;
            r.lease_until = 0;
        }
        let mut next = self.clone();
        next.running = Some(r);
        Ok(next)
    }

    /// Records a finished run: its categories were evaluated at its `now`.
    pub fn finish(&self, holder: &str) -> Result<Schedule, ClaimRefusal> {
        let r = self.held(holder)?;
        let mut next = self.clone();
        for c in &r.categories {
            let slot = next.last_by_category.entry(*c).or_insert(r.now);
            *slot = (*slot).max(r.now);
        }
        next.running = None;
        Ok(next)
    }

    /// Lets go of a failed request's hold, keeping the cursor: the next request
    /// resumes after the last committed chunk. Changes nothing when the hold moved on.
    pub fn release(&self, holder: &str) -> Schedule {
        let mut next = self.clone();
        if let Some(r) = next.running.as_mut()
            && r.holder.as_deref() == Some(holder)
        {
            r.holder = None;
            r.lease_until = 0;
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600;
    const D: i64 = 86_400;

    fn ask(holder: &str, now: i64, wall: i64) -> HoldRequest<'_> {
        HoldRequest {
            holder,
            now,
            requested_by: "test",
            wall,
            wall_ms: wall * 1_000,
        }
    }

    fn run(s: &Schedule, id: &str, now: i64) -> (Schedule, Vec<Category>) {
        let (claimed, c) = s.hold(ask(id, now, 0)).expect("claim");
        (claimed.finish(id).expect("finish"), c.categories)
    }

    #[test]
    fn every_run_categories_always_and_others_when_their_period_turns() {
        let t0 = 100 * D + 10 * 60;
        let (s, c) = run(&Schedule::default(), "r1", t0);
        assert_eq!(c, Category::ALL, "first run evaluates everything");
        let (s, c) = run(&s, "r2", t0 + 60);
        assert_eq!(
            c,
            [Category::CampaignPerformance, Category::DistributionSuccess]
        );
        let (s, c) = run(&s, "r3", t0 + H);
        assert!(c.contains(&Category::ContentEngagement));
        assert!(!c.contains(&Category::ResourceUtilization));
        let (_, c) = run(&s, "r4", t0 + D);
        assert_eq!(c, Category::ALL);
    }

    #[test]
    fn missed_runs_catch_up_once() {
        let t0 = 100 * D;
        let (s, _) = run(&Schedule::default(), "r1", t0);
        // Five hours and two days missed: one run evaluates each category once.
        let (s, c) = run(&s, "r2", t0 + 2 * D + 5 * H);
        assert_eq!(c, Category::ALL);
        let (_, c) = run(&s, "r3", t0 + 2 * D + 5 * H + 60);
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn overlapping_and_repeated_claims_are_refused() {
        let s = Schedule::default();
        let (claimed, _) = s.hold(ask("a", 1_000, 50)).expect("first");
        assert!(matches!(
            claimed.hold(ask("b", 1_000, 60)),
            Err(ClaimRefusal::InProgress { .. })
        ));
        assert!(matches!(
            claimed.hold(ask("b", 2_000, 60)),
            Err(ClaimRefusal::InProgress { .. })
        ));
        let done = claimed.finish("a").expect("finish");
        assert!(matches!(
            done.hold(ask("b", 1_000, 60)),
            Err(ClaimRefusal::AlreadyClaimed { .. })
        ));
        // An expired hold is taken over: the same run continues under a new holder.
        let (taken, c2) = claimed
            .hold(ask("c", 2_000, 50 + CLAIM_LEASE_SECS))
            .expect("take over");
        assert_eq!(c2.took_over.as_deref(), Some("a"));
        assert_eq!((c2.run_id.as_str(), c2.now), ("a", 1_000));
        assert!(matches!(
            taken.commit("a", Progress::default(), false, 400),
            Err(ClaimRefusal::HoldLost { .. })
        ));
        assert!(matches!(
            taken.finish("a"),
            Err(ClaimRefusal::HoldLost { .. })
        ));
        assert_eq!(taken.release("a"), taken, "a lost hold releases nothing");
    }

    #[test]
    fn a_run_continues_from_its_cursor_across_requests_and_finishes_once() {
        let (s, c) = Schedule::default().hold(ask("a", 1_000, 0)).expect("claim");
        assert_eq!(c.cursor, None);
        let counts = RunCounts {
            campaigns: 3,
            fired: 1,
            ..RunCounts::default()
        };
        let progress = Progress {
            cursor: Some("c3".into()),
            chunks: 1,
            counts: counts.clone(),
        };
        let s = s.commit("a", progress.clone(), true, 1).expect("commit");
        // Committing the same chunk again (a retried write) changes nothing but
        // the lease.
        let s = s.commit("a", progress, false, 1).expect("commit again");
        let running = s.running.clone().expect("running");
        assert_eq!((running.holder, running.lease_until), (None, 0));
        // Between requests the hold is free: the next request continues the run,
        // even one for a later tick; an earlier tick is refused.
        assert!(matches!(
            s.hold(ask("x", 999, 2)),
            Err(ClaimRefusal::AlreadyClaimed { .. })
        ));
        let (s, c) = s.hold(ask("b", 1_060, 2)).expect("continue");
        assert_eq!((c.run_id.as_str(), c.now), ("a", 1_000));
        assert_eq!(c.cursor.as_deref(), Some("c3"));
        assert_eq!((c.chunks, c.counts), (1, counts));
        assert_eq!(c.took_over, None, "a released hold is not a takeover");
        let s = s.finish("b").expect("finish");
        assert_eq!(s.running, None);
        assert_eq!(s.last_by_category.get(&Category::ALL[0]), Some(&1_000));
        let (_, c) = s.hold(ask("b2", 1_060, 3)).expect("the later tick");
        assert_eq!((c.run_id.as_str(), c.now), ("b2", 1_060));
    }

    #[test]
    fn a_released_run_resumes_at_its_cursor_and_leaves_its_categories_due() {
        let (claimed, _) = Schedule::default()
            .hold(ask("a", 10 * D, 0))
            .expect("claim");
        let progress = Progress {
            cursor: Some("c9".into()),
            chunks: 1,
            counts: RunCounts::default(),
        };
        let committed = claimed.commit("a", progress, true, 1).expect("commit");
        let released = committed.release("a");
        let r = released.running.clone().expect("still running");
        assert_eq!((r.holder, r.cursor.as_deref()), (None, Some("c9")));
        assert_eq!(
            due_categories(&released.last_by_category, 10 * D + 1),
            Category::ALL
        );
    }
}

/// The minute of the day (UTC) the daily maintenance pass (dedupe expiry) runs in.
pub const MAINTENANCE_MINUTE: u64 = 3 * 60;

/// Whether a scheduler tick at `timestamp` (unix seconds) is the day's maintenance tick.
pub fn is_maintenance_tick(timestamp: u64) -> bool {
    (timestamp / 60) % (24 * 60) == MAINTENANCE_MINUTE
}

#[cfg(test)]
mod maintenance_tests {
    use super::is_maintenance_tick;

    #[test]
    fn maintenance_runs_once_a_day_at_three() {
        let day = 20_000 * 86_400;
        assert!(is_maintenance_tick(day + 3 * 3600));
        assert!(is_maintenance_tick(day + 3 * 3600 + 59));
        assert!(!is_maintenance_tick(day + 3 * 3600 + 60));
        assert!(!is_maintenance_tick(day));
    }
}
