//! Distribution timing: which hour to send in.
//!
//! Every hour of the week (Monday 00:00 UTC = 0 … Sunday 23:00 = 167) has a score.
//! The history is the channel's: the caller passes the counters of the item's
//! channel only (never the campaign's channels added up, whose audiences engage
//! at different hours). Where it holds at least [`MIN_DELIVERED`] deliveries
//! for an hour of the week, its score is its engagement rate
//! ((opened + clicked) / delivered) divided by the best such rate; elsewhere the
//! [`default_curve`] applies. Candidate send hours are the hour starts inside the
//! campaign schedule (and inside the channel's send windows when its send plan has
//! any), not in the past, best score first and earliest first among equals. The
//! per-channel hourly cap is enforced by the store (atomic counters per slot).
//!
//! A timing change (a delivery problem on the channel) moves a scheduled send
//! later: [`delayed_candidates`] ranks the same way the hours from an hour after
//! `now` (and after the send's own hour) up to `max_delay_hours` after it.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, TimeZone, Timelike, Utc};
use serde::{Deserialize, Serialize};

/// Hours in a week.
pub const HOURS_PER_WEEK: usize = 168;
/// Deliveries an hour of the week needs before its own rate replaces the default.
pub const MIN_DELIVERED: i64 = 50;
/// Seconds per hour.
pub const HOUR: i64 = 3600;
/// Longest delay a timing change may give a send, in hours (one week).
pub const MAX_DELAY_HOURS: u32 = 168;

/// Hour of the week of `t` (Monday 00:00 UTC = 0).
pub fn hour_of_week(t: DateTime<Utc>) -> usize {
    t.weekday().num_days_from_monday() as usize * 24 + t.hour() as usize
}

/// Hour of the week of a unix timestamp.
pub fn hour_of_week_unix(secs: i64) -> usize {
    Utc.timestamp_opt(secs, 0).single().map_or(0, hour_of_week)
}

/// The default engagement curve (UTC): business hours peak at 10:00, a lunch dip,
/// an evening shoulder and quiet nights; Tuesday–Thursday ×1, Monday and Friday
/// ×0.9, weekends ×0.6.
pub fn default_curve() -> [f64; HOURS_PER_WEEK] {
    const DAY: [f64; 24] = [
        0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.2, 0.4, 0.7, 0.9, 1.0, 0.9, 0.75, 0.8, 0.8, 0.7, 0.6,
        0.55, 0.5, 0.5, 0.45, 0.3, 0.15, 0.1,
    ];
    const DAY_FACTOR: [f64; 7] = [0.9, 1.0, 1.0, 1.0, 0.9, 0.6, 0.6];
    let mut out = [0.0; HOURS_PER_WEEK];
    for (i, w) in out.iter_mut().enumerate() {
        *w = DAY[i % 24] * DAY_FACTOR[i / 24];
    }
    out
}

/// Where each hour's score came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoreSource {
    /// The campaign's own engagement history.
    History,
    /// The documented default curve.
    Default,
}

/// Scores per hour of the week.
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    /// Score per hour of the week, 0..=1.
    pub scores: [f64; HOURS_PER_WEEK],
    /// Source per hour of the week.
    pub sources: [ScoreSource; HOURS_PER_WEEK],
}

/// Builds the curve from hourly counter buckets (bucket start → metric → total).
pub fn curve_from_history(series: &BTreeMap<i64, BTreeMap<String, i64>>) -> Curve {
    let mut delivered = [0i64; HOURS_PER_WEEK];
    let mut engaged = [0i64; HOURS_PER_WEEK];
    for (start, kinds) in series {
        let h = hour_of_week_unix(*start);
        let get = |k: &str| kinds.get(k).copied().unwrap_or(0).max(0);
        delivered[h] = delivered[h].saturating_add(get("delivered"));
        engaged[h] = engaged[h]
            .saturating_add(get("opened"))
            .saturating_add(get("clicked"));
    }
    let rate = |h: usize| engaged[h] as f64 / delivered[h] as f64;
    let best = (0..HOURS_PER_WEEK)
        .filter(|h| delivered[*h] >= MIN_DELIVERED)
        .map(rate)
        .fold(0.0_f64, f64::max);
    let mut scores = default_curve();
    let mut sources = [ScoreSource::Default; HOURS_PER_WEEK];
    if best > 0.0 {
        for h in 0..HOURS_PER_WEEK {
            if delivered[h] >= MIN_DELIVERED {
                scores[h] = (rate(h) / best).min(1.0);
                sources[h] = ScoreSource::History;
            }
        }
    }
    Curve { scores, sources }
}

/// A half-open interval of unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// Start (inclusive).
    pub start: i64,
    /// End (exclusive).
    pub end: i64,
}

/// Where sends may go: the campaign schedule and, when non-empty, the channel's
/// send windows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendRules {
    /// The campaign schedule.
    pub schedule: Span,
    /// Send windows (empty = the whole schedule).
    pub windows: Vec<Span>,
}

impl SendRules {
    fn allows(&self, t: i64) -> bool {
        t >= self.schedule.start
            && t < self.schedule.end
            && (self.windows.is_empty() || self.windows.iter().any(|w| t >= w.start && t < w.end))
    }
}

/// A candidate send hour.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    /// Hour start (unix seconds).
    pub hour: i64,
    /// Its score.
    pub score: f64,
}

/// Candidate hours, best first (see the module docs).
pub fn candidates(rules: &SendRules, now: i64, curve: &Curve) -> Vec<Candidate> {
    let from = rules.schedule.start.max(now);
    let first = from.div_euclid(HOUR) * HOUR + if from.rem_euclid(HOUR) == 0 { 0 } else { HOUR };
    let mut out: Vec<Candidate> = (0..)
        .map(|i: i64| first + i * HOUR)
        .take_while(|h| *h < rules.schedule.end)
        .filter(|h| rules.allows(*h))
        .map(|hour| Candidate {
            hour,
            score: curve.scores[hour_of_week_unix(hour)],
        })
        .collect();
    crate::sort::sort_by(&mut out, |a, b| {
        b.score.total_cmp(&a.score).then(a.hour.cmp(&b.hour))
    });
    out
}

/// Hours a timing change may move a send held in the hour starting `slot` to,
/// best first: not before the hour starting an hour after `now`, after `slot`,
/// at most `max_delay_hours` after it, inside the schedule and the windows.
pub fn delayed_candidates(
    rules: &SendRules,
    now: i64,
    slot: i64,
    max_delay_hours: u32,
    curve: &Curve,
) -> Vec<Candidate> {
    let earliest = now.saturating_add(HOUR).max(slot.saturating_add(HOUR));
    let latest = slot.saturating_add(i64::from(max_delay_hours.min(MAX_DELAY_HOURS)) * HOUR);
    let bounded = SendRules {
        schedule: Span {
            start: rules.schedule.start,
            end: rules.schedule.end.min(latest.saturating_add(1)),
        },
        windows: rules.windows.clone(),
    };
    candidates(&bounded, earliest, curve)
}

/// Checks an explicitly requested send time; returns its hour slot.
pub fn check_explicit(rules: &SendRules, now: i64, at: i64) -> Result<i64, String> {
    if at < now {
        return Err("the send time is in the past".into());
    }
    if at < rules.schedule.start || at >= rules.schedule.end {
        return Err("the send time is outside the campaign schedule".into());
    }
    if !rules.allows(at) {
        return Err("the send time is outside the channel's send windows".into());
    }
    Ok(at.div_euclid(HOUR) * HOUR)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.timestamp())
            .unwrap_or_default()
    }

    #[test]
    fn default_curve_peaks_midweek_mornings() {
        let c = default_curve();
        let top = c.iter().copied().fold(0.0, f64::max);
        assert_eq!(
            c.iter().position(|w| *w == top),
            Some(24 + 10),
            "Tuesday 10:00 UTC"
        );
        assert!(c[5 * 24 + 10] < c[10]);
    }

    #[test]
    fn candidates_stay_in_schedule_and_windows_best_first() {
        // Monday 2030-01-07 .. Wednesday 2030-01-09.
        let rules = SendRules {
            schedule: Span {
                start: ts("2030-01-07T08:30:00Z"),
                end: ts("2030-01-09T00:00:00Z"),
            },
            windows: vec![],
        };
        let curve = curve_from_history(&BTreeMap::new());
        let c = candidates(&rules, 0, &curve);
        assert_eq!(c.len(), 39);
        assert_eq!(c[0].hour, ts("2030-01-08T10:00:00Z"));
        assert!(c.iter().all(|x| x.hour >= ts("2030-01-07T09:00:00Z")));
        let windowed = SendRules {
            windows: vec![Span {
                start: ts("2030-01-07T18:00:00Z"),
                end: ts("2030-01-07T20:00:00Z"),
            }],
            ..rules.clone()
        };
        let c = candidates(&windowed, ts("2030-01-07T18:10:00Z"), &curve);
        assert_eq!(
            c.iter().map(|x| x.hour).collect::<Vec<_>>(),
            [ts("2030-01-07T19:00:00Z")]
        );
        assert!(check_explicit(&windowed, 0, ts("2030-01-07T18:15:00Z")).is_ok());
        assert!(check_explicit(&windowed, 0, ts("2030-01-07T21:00:00Z")).is_err());
        assert!(
            check_explicit(
                &rules,
                ts("2030-01-08T00:00:00Z"),
                ts("2030-01-07T21:00:00Z")
            )
            .is_err()
        );
    }

    #[test]
    fn a_delay_goes_later_within_the_guardrail_an_hour_past_now_best_first() {
        // Monday 2030-01-07 .. Friday 2030-01-11; the send held Tuesday 09:00.
        let rules = SendRules {
            schedule: Span {
                start: ts("2030-01-07T00:00:00Z"),
                end: ts("2030-01-11T00:00:00Z"),
            },
            windows: vec![],
        };
        let curve = curve_from_history(&BTreeMap::new());
        let slot = ts("2030-01-08T09:00:00Z");
        let now = ts("2030-01-08T08:30:00Z");
        let c = delayed_candidates(&rules, now, slot, 6, &curve);
        let hours: Vec<i64> = c.iter().map(|x| x.hour).collect();
        assert_eq!(hours.len(), 6, "10:00 through 15:00");
        assert_eq!(hours[0], ts("2030-01-08T10:00:00Z"), "the morning peak");
        assert!(hours.iter().all(|h| *h > slot && *h <= slot + 6 * HOUR));
        // Not before an hour after now, even for a send already due.
        let late = ts("2030-01-08T12:10:00Z");
        let c = delayed_candidates(&rules, late, slot, 6, &curve);
        assert!(c.iter().all(|x| x.hour >= late + HOUR), "{c:?}");
        assert_eq!(c.len(), 2, "14:00 and 15:00");
        // The schedule's end bounds it; a huge guardrail is capped at a week.
        let c = delayed_candidates(&rules, now, ts("2030-01-10T22:00:00Z"), 6, &curve);
        assert_eq!(c.len(), 1, "23:00 only");
        let c = delayed_candidates(&rules, 0, slot, u32::MAX, &curve);
        assert!(c.iter().all(|x| x.hour <= slot + 168 * HOUR));
        assert!(delayed_candidates(&rules, now, slot, 0, &curve).is_empty());
    }

    #[test]
    fn history_overrides_the_default_where_it_has_enough_deliveries() {
        let mut series = BTreeMap::new();
        // Monday 2030-01-07 03:00 UTC: a night hour with great engagement.
        series.insert(
            ts("2030-01-07T03:00:00Z"),
            BTreeMap::from([("delivered".to_string(), 100), ("opened".to_string(), 80)]),
        );
        series.insert(
            ts("2030-01-07T10:00:00Z"),
            BTreeMap::from([("delivered".to_string(), 100), ("opened".to_string(), 20)]),
        );
        series.insert(
            ts("2030-01-07T11:00:00Z"),
            BTreeMap::from([("delivered".to_string(), 10), ("opened".to_string(), 10)]),
        );
        let c = curve_from_history(&series);
        assert_eq!(c.scores[3], 1.0);
        assert_eq!(c.sources[3], ScoreSource::History);
        assert_eq!(c.scores[10], 0.25);
        assert_eq!(c.sources[11], ScoreSource::Default);
    }
}
