//! Which categories a run evaluates, and the claim that keeps runs from overlapping.
//!
//! A category with cadence `c` is due at `now` when `now` lies in a later
//! `c`-aligned period than its last evaluation (hourly: a new UTC hour; daily: a
//! new UTC day). However many periods were missed, one run catches up once.
//!
//! The [`Schedule`] record is changed only with compare-and-swap: a run claims it
//! (refused when a run with this or a later `now` was already claimed, or while
//! another run holds an unexpired lease), evaluates, then finishes it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::rule::Category;

/// How long a claim holds before another run may take over (wall-clock seconds).
pub const CLAIM_LEASE_SECS: i64 = 300;

/// The run schedule: what was evaluated when, and the run in progress.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// The `now` of the latest claimed run.
    pub last_now: Option<i64>,
    /// Per category, the `now` of its latest finished evaluation.
    pub last_by_category: BTreeMap<Category, i64>,
    /// The run holding the claim, if any.
    pub running: Option<Running>,
}

/// A claimed, unfinished run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Running {
    /// The id of the run holding the claim.
    pub run_id: String,
    /// Its `now`.
    pub now: i64,
    /// Categories it evaluates.
    pub categories: Vec<Category>,
    /// Wall-clock second after which another run may take over.
    pub lease_until: i64,
}

/// A granted claim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claim {
    /// The id of the run this claim is for.
    pub run_id: String,
    /// The run's `now`.
    pub now: i64,
    /// The categories this run evaluates (see [`due_categories`]).
    pub categories: Vec<Category>,
    /// The run whose expired lease this claim took over, if any.
    pub took_over: Option<String>,
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
    /// Another run holds the claim.
    #[error("run {run_id} is in progress (lease until {lease_until})")]
    InProgress {
        /// The run holding the lease.
        run_id: String,
        /// Its lease end (wall clock).
        lease_until: i64,
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

impl Schedule {
    /// Claims a run at `now` (`wall` is the wall clock, for the lease).
    pub fn claim(
        &self,
        run_id: &str,
        now: i64,
        wall: i64,
    ) -> Result<(Schedule, Claim), ClaimRefusal> {
        let mut took_over = None;
        if let Some(r) = &self.running {
            if r.lease_until > wall {
                return Err(ClaimRefusal::InProgress {
                    run_id: r.run_id.clone(),
                    lease_until: r.lease_until,
                });
            }
            took_over = Some(r.run_id.clone());
        }
        if let Some(last) = self.last_now
            && now <= last
        {
            return Err(ClaimRefusal::AlreadyClaimed {
                now,
                last_now: last,
            });
        }
        let categories = due_categories(&self.last_by_category, now);
        let next = Schedule {
            last_now: Some(now),
            last_by_category: self.last_by_category.clone(),
            running: Some(Running {
                run_id: run_id.to_string(),
                now,
                categories: categories.clone(),
                lease_until: wall + CLAIM_LEASE_SECS,
            }),
        };
        Ok((
            next,
            Claim {
                run_id: run_id.to_string(),
                now,
                categories,
                took_over,
            },
        ))
    }

    /// Records a finished run: its categories were evaluated at its `now`. A run
    /// that lost its claim (taken over) changes nothing.
    pub fn finish(&self, claim: &Claim) -> Schedule {
        let mut next = self.clone();
        if self
            .running
            .as_ref()
            .is_some_and(|r| r.run_id == claim.run_id)
        {
            next.running = None;
            for c in &claim.categories {
                let slot = next.last_by_category.entry(*c).or_insert(claim.now);
                *slot = (*slot).max(claim.now);
            }
        }
        next
    }

    /// Releases a failed run's claim without recording its categories, so the next
    /// run evaluates them.
    pub fn release(&self, claim: &Claim) -> Schedule {
        let mut next = self.clone();
        if self
            .running
            .as_ref()
            .is_some_and(|r| r.run_id == claim.run_id)
        {
            next.running = None;
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600;
    const D: i64 = 86_400;

    fn run(s: &Schedule, id: &str, now: i64) -> (Schedule, Vec<Category>) {
        let (claimed, c) = s.claim(id, now, 0).expect("claim");
        (claimed.finish(&c), c.categories)
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
        let (claimed, c) = s.claim("a", 1_000, 50).expect("first");
        assert!(matches!(
            claimed.claim("b", 1_000, 60),
            Err(ClaimRefusal::InProgress { .. })
        ));
        assert!(matches!(
            claimed.claim("b", 2_000, 60),
            Err(ClaimRefusal::InProgress { .. })
        ));
        let done = claimed.finish(&c);
        assert!(matches!(
            done.claim("b", 1_000, 60),
            Err(ClaimRefusal::AlreadyClaimed { .. })
        ));
        // An expired lease is taken over.
        let (_, c2) = claimed
            .claim("c", 2_000, 50 + CLAIM_LEASE_SECS)
            .expect("take over");
        assert_eq!(c2.took_over.as_deref(), Some("a"));
    }

    #[test]
    fn a_released_run_leaves_its_categories_due() {
        let (claimed, c) = Schedule::default().claim("a", 10 * D, 0).expect("claim");
        let released = claimed.release(&c);
        assert!(released.running.is_none());
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
