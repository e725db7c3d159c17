//! The alert state machine of one (rule, scope).
//!
//! ```text
//!            breach (for > 1)          `for` breaches in a row
//! inactive ───────────────► pending ───────────────────────► firing ──┐
//!    ▲  ▲                      │ no breach                    │   ▲   │ breach: stays
//!    │  └──────────────────────┘                              │   └───┘ (repeat → notify)
//!    │                                   past clear threshold │
//!    │               breach (for ≤ 1)     and keep_firing_for │
//!    ├── resolved ◄───────────────────────────────────────────┘ over
//!    │
//! no_data: any state without a value (a firing alert first holds for keep_firing_for).
//! ```
//!
//! Between the fire and the clear threshold a firing alert keeps firing and a quiet
//! one stays quiet: values hovering there cannot make it flap. Each transition into
//! firing starts a new episode, which yields exactly one [`AlertEvent::Fired`].

use serde::{Deserialize, Serialize};

use super::rule::Rule;

/// Where an alert stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// Not breaching.
    #[default]
    Inactive,
    /// Breaching, fewer than `for` evaluations in a row so far.
    Pending,
    /// Fired; the episode is open.
    Firing,
    /// The last episode ended; not breaching.
    Resolved,
    /// The last evaluation had no value to judge.
    NoData,
}

/// The persisted state of one (rule, scope).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Alert {
    /// The id of the rule this alert belongs to.
    pub rule_id: String,
    /// The scope key (see [`super::metric::scope_key`]).
    pub scope: String,
    /// Current state.
    pub state: AlertState,
    /// When the current state was entered.
    pub since: i64,
    /// Consecutive breaching evaluations.
    pub breaches: u32,
    /// Episodes fired so far (the current one while firing).
    pub episode: u64,
    /// When the current (or last) episode fired.
    pub fired_at: Option<i64>,
    /// When it last resolved.
    pub resolved_at: Option<i64>,
    /// Last breaching evaluation.
    pub last_breach_at: Option<i64>,
    /// Last notification of the current episode (fire or repeat).
    pub last_notified_at: Option<i64>,
    /// Repeats sent in the current episode.
    pub repeats: u32,
    /// When it was last evaluated (unix seconds).
    pub evaluated_at: i64,
    /// Value seen at the last evaluation (`None` = no data).
    pub value: Option<f64>,
}

/// What a step means for the outside world.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AlertEvent {
    /// A new firing episode: emit its trigger.
    Fired {
        /// Which firing episode of this alert.
        episode: u64,
    },
    /// Still firing after the repeat interval: notify again.
    Repeated {
        /// Which firing episode of this alert.
        episode: u64,
        /// Repeat number within the episode (1-based).
        repeat: u32,
    },
    /// The episode ended (value past the clear threshold, or no data).
    Resolved {
        /// Which firing episode of this alert.
        episode: u64,
        /// Whether it ended for lack of data.
        no_data: bool,
    },
}

fn enter(mut a: Alert, state: AlertState, now: i64) -> Alert {
    if a.state != state {
        a.state = state;
        a.since = now;
    }
    a
}

fn fire(mut a: Alert, now: i64) -> (Alert, Option<AlertEvent>) {
    a.episode += 1;
    a.fired_at = Some(now);
    a.last_notified_at = Some(now);
    a.repeats = 0;
    let episode = a.episode;
    (
        enter(a, AlertState::Firing, now),
        Some(AlertEvent::Fired { episode }),
    )
}

fn resolve(mut a: Alert, now: i64, no_data: bool) -> (Alert, Option<AlertEvent>) {
    a.resolved_at = Some(now);
    a.breaches = 0;
    let episode = a.episode;
    let next = if no_data {
        AlertState::NoData
    } else {
        AlertState::Resolved
    };
    (
        enter(a, next, now),
        Some(AlertEvent::Resolved { episode, no_data }),
    )
}

/// Advances `alert` by one evaluation of `rule` at `now` that saw `value`.
pub fn step(
    alert: &Alert,
    rule: &Rule,
    value: Option<f64>,
    now: i64,
) -> (Alert, Option<AlertEvent>) {
    let mut a = alert.clone();
    a.evaluated_at = now;
    a.value = value;
    let held = |a: &Alert| {
        rule.keep_firing_for_secs > 0
            && a.last_breach_at
                .is_some_and(|t| now - t < rule.keep_firing_for_secs)
    };
    let Some(v) = value.filter(|v| v.is_finite()) else {
        a.value = None;
        return match a.state {
            AlertState::Firing if held(&a) => (a, None),
            AlertState::Firing => resolve(a, now, true),
            _ => {
                a.breaches = 0;
                (enter(a, AlertState::NoData, now), None)
            }
        };
    };
    let breach = rule.comparator.breaches(v, rule.fire_threshold);
    match a.state {
        AlertState::Firing => {
            if breach {
                a.last_breach_at = Some(now);
                a.breaches = a.breaches.saturating_add(1);
                if let (Some(every), Some(last)) = (rule.repeat_interval_secs, a.last_notified_at)
                    && now - last >= every
                {
                    a.repeats += 1;
                    a.last_notified_at = Some(now);
                    let (episode, repeat) = (a.episode, a.repeats);
                    return (a, Some(AlertEvent::Repeated { episode, repeat }));
                }
                (a, None)
            } else if rule.comparator.clears(v, rule.clear_threshold) && !held(&a) {
                resolve(a, now, false)
            } else {
                (a, None)
            }
        }
        AlertState::Inactive | AlertState::Pending | AlertState::Resolved | AlertState::NoData => {
            if breach {
                a.last_breach_at = Some(now);
                a.breaches = if a.state == AlertState::Pending {
                    a.breaches.saturating_add(1)
                } else {
                    1
                };
                if a.breaches >= rule.for_evaluations {
                    fire(a, now)
                } else {
                    (enter(a, AlertState::Pending, now), None)
                }
            } else {
                a.breaches = 0;
                let next = match a.state {
                    AlertState::Resolved => AlertState::Resolved,
                    _ => AlertState::Inactive,
                };
                (enter(a, next, now), None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitoring::rule::{Action, Comparator, default_rules};
    use proptest::prelude::*;

    fn rule(for_n: u32, keep: i64, repeat: Option<i64>) -> Rule {
        let mut r = default_rules(0).remove(2); // gt 0.05, clear 0.03
        r.for_evaluations = for_n;
        r.keep_firing_for_secs = keep;
        r.repeat_interval_secs = repeat;
        r.action = Action::Notify {
            url: "https://x.example".into(),
        };
        r
    }

    fn run(r: &Rule, values: &[Option<f64>]) -> (Alert, Vec<AlertEvent>) {
        let mut a = Alert::default();
        let mut events = Vec::new();
        for (i, v) in values.iter().enumerate() {
            let (next, e) = step(&a, r, *v, (i as i64 + 1) * 60);
            a = next;
            events.extend(e);
        }
        (a, events)
    }

    #[test]
    fn pending_becomes_firing_only_after_for_breaches() {
        let r = rule(3, 0, None);
        let (a, e) = run(&r, &[Some(0.1), Some(0.1)]);
        assert_eq!((a.state, e.len()), (AlertState::Pending, 0));
        let (a, e) = run(&r, &[Some(0.1), Some(0.1), Some(0.1)]);
        assert_eq!(a.state, AlertState::Firing);
        assert_eq!(e, vec![AlertEvent::Fired { episode: 1 }]);
        let (a, e) = run(&r, &[Some(0.1), Some(0.0), Some(0.1), Some(0.1)]);
        assert_eq!(
            (a.state, e.len()),
            (AlertState::Pending, 0),
            "a gap resets the count"
        );
    }

    #[test]
    fn values_between_thresholds_neither_fire_nor_clear() {
        let r = rule(1, 0, None);
        let (a, e) = run(&r, &[Some(0.1), Some(0.04), Some(0.04), Some(0.045)]);
        assert_eq!(a.state, AlertState::Firing);
        assert_eq!(e.len(), 1);
        let (a, e) = run(&r, &[Some(0.1), Some(0.02)]);
        assert_eq!(a.state, AlertState::Resolved);
        assert_eq!(
            e[1],
            AlertEvent::Resolved {
                episode: 1,
                no_data: false
            }
        );
        let (a, _) = run(&r, &[Some(0.04), Some(0.045)]);
        assert_eq!(a.state, AlertState::Inactive);
    }

    #[test]
    fn keep_firing_for_holds_after_the_last_breach() {
        let r = rule(1, 150, None);
        // breach at 60, clear values at 120, 180 (within 150 s of 60), 240 (past).
        let (a, e) = run(&r, &[Some(0.1), Some(0.0), Some(0.0)]);
        assert_eq!((a.state, e.len()), (AlertState::Firing, 1));
        let (a, e) = run(&r, &[Some(0.1), Some(0.0), Some(0.0), Some(0.0)]);
        assert_eq!((a.state, e.len()), (AlertState::Resolved, 2));
    }

    #[test]
    fn repeat_interval_re_notifies_within_one_episode() {
        let r = rule(1, 0, Some(120));
        let (a, e) = run(&r, &[Some(0.1); 6]);
        assert_eq!(a.state, AlertState::Firing);
        assert_eq!(
            e,
            vec![
                AlertEvent::Fired { episode: 1 },
                AlertEvent::Repeated {
                    episode: 1,
                    repeat: 1
                },
                AlertEvent::Repeated {
                    episode: 1,
                    repeat: 2
                },
            ]
        );
    }

    #[test]
    fn no_data_is_its_own_state_and_ends_an_episode() {
        let r = rule(1, 0, None);
        let (a, e) = run(&r, &[None]);
        assert_eq!((a.state, e.len()), (AlertState::NoData, 0));
        let (a, e) = run(&r, &[Some(0.1), None]);
        assert_eq!(a.state, AlertState::NoData);
        assert_eq!(
            e[1],
            AlertEvent::Resolved {
                episode: 1,
                no_data: true
            }
        );
        let (_, e) = run(&r, &[Some(0.1), None, Some(0.1)]);
        assert_eq!(e.last(), Some(&AlertEvent::Fired { episode: 2 }));
    }

    proptest! {
        /// Every Fired has a matching later Resolved or is the open episode; episodes
        /// count up by one; firing never happens without `for` breaches in a row.
        #[test]
        fn episodes_are_well_formed(
            values in proptest::collection::vec(proptest::option::weighted(0.9, 0.0f64..0.2), 1..80),
            for_n in 1u32..5,
            keep in prop_oneof![Just(0i64), Just(60), Just(300)],
        ) {
            let r = rule(for_n, keep, None);
            let mut a = Alert::default();
            let mut open = false;
            let mut episodes = 0u64;
            let mut run_len = 0u32;
            for (i, v) in values.iter().enumerate() {
                let now = (i as i64 + 1) * 60;
                run_len = match v { Some(x) if *x > 0.05 => run_len + 1, _ => 0 };
                let (next, e) = step(&a, &r, *v, now);
                match e {
                    Some(AlertEvent::Fired { episode }) => {
                        prop_assert!(!open);
                        prop_assert_eq!(episode, episodes + 1);
                        prop_assert!(run_len >= for_n);
                        episodes = episode;
                        open = true;
                    }
                    Some(AlertEvent::Resolved { episode, .. }) => {
                        prop_assert!(open);
                        prop_assert_eq!(episode, episodes);
                        open = false;
                    }
                    Some(AlertEvent::Repeated { .. }) => prop_assert!(false, "no repeat configured"),
                    None => {}
                }
                prop_assert_eq!(next.state == AlertState::Firing, open);
                a = next;
            }
        }

        /// Hovering between the two thresholds never changes a firing or a quiet alert.
        #[test]
        fn no_flapping_between_thresholds(
            start_firing in any::<bool>(),
            hover in proptest::collection::vec(0.031f64..0.05, 1..50),
        ) {
            let r = rule(1, 0, None);
            let mut a = Alert::default();
            if start_firing {
                a = step(&a, &r, Some(0.5), 0).0;
            }
            let before = a.state;
            for (i, v) in hover.iter().enumerate() {
                let (next, e) = step(&a, &r, Some(*v), (i as i64 + 1) * 60);
                prop_assert!(e.is_none());
                prop_assert_eq!(next.state, before);
                a = next;
            }
        }

        /// A comparator's breach and clear regions never overlap when the rule is valid.
        #[test]
        fn breach_and_clear_are_disjoint(v in -10.0f64..10.0, fire in -5.0f64..5.0, gap in 0.0f64..3.0) {
            for c in [Comparator::Gt, Comparator::Ge] {
                prop_assert!(!(c.breaches(v, fire) && c.clears(v, fire - gap)));
            }
            for c in [Comparator::Lt, Comparator::Le] {
                prop_assert!(!(c.breaches(v, fire) && c.clears(v, fire + gap)));
            }
        }
    }
}
