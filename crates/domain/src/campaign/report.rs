//! Success measurement: actual vs objective per KPI, pace, channel breakdown.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::record::{Campaign, Objective};
use super::stage::Stage;

/// How far (as a fraction of the target) achievement may stray from the expected
/// fraction and still be `on_track`.
pub const PACE_TOLERANCE: f64 = 0.05;

/// The name of the per-channel counter holding spend, in currency minor units.
pub const SPEND_METRIC: &str = "spend";

/// What the store holds for a campaign, as totals. Missing counters are simply
/// absent; non-finite values are ignored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportInputs {
    /// Campaign-wide totals by metric name (`conversions` → 412).
    #[serde(default)]
    pub kpi_totals: BTreeMap<String, f64>,
    /// Totals by channel, then metric name.
    #[serde(default)]
    pub channel_totals: BTreeMap<String, BTreeMap<String, f64>>,
    /// Monitoring triggers fired for the campaign.
    #[serde(default)]
    pub triggers_fired: u64,
    /// Optimization actions taken for the campaign.
    #[serde(default)]
    pub actions_taken: u64,
}

/// Where achievement stands against the time elapsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaceStatus {
    /// Achieved more than the elapsed time calls for.
    Ahead,
    /// Within [`PACE_TOLERANCE`] of the elapsed fraction.
    OnTrack,
    /// Achieved less than the elapsed time calls for.
    Behind,
    /// No counter for the KPI yet.
    NoData,
}

/// Pace of one KPI: the fraction of the target reached vs the fraction of the
/// time from schedule start to deadline elapsed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pace {
    /// Fraction of the start→deadline interval elapsed at report time, 0..=1.
    pub expected_fraction: f64,
    /// `actual / target` (may exceed 1), when there is data.
    pub achieved_fraction: Option<f64>,
    /// Ahead, on track or behind: the two fractions compared within [`PACE_TOLERANCE`].
    pub status: PaceStatus,
}

/// One objective's progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KpiProgress {
    /// The KPI.
    pub kpi: String,
    /// The objective's target total.
    pub target: f64,
    /// The counter's total, when it exists.
    pub actual: Option<f64>,
    /// `100 * actual / target`, when there is data.
    pub percent_achieved: Option<f64>,
    /// The objective's deadline.
    pub deadline: DateTime<Utc>,
    /// True once the report time is past the deadline.
    pub deadline_passed: bool,
    /// True when `actual >= target`.
    pub met: bool,
    /// Pace against the deadline.
    pub pace: Pace,
}

/// One channel's totals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelBreakdown {
    /// The channel.
    pub channel: String,
    /// False for channels with counters but not in the channel strategy.
    pub planned: bool,
    /// The channel's budget, when planned.
    pub budget_minor: Option<i64>,
    /// `100 * spend / budget`, when both exist and the budget is not 0.
    pub budget_used_percent: Option<f64>,
    /// Every counter of the channel.
    pub metrics: BTreeMap<String, f64>,
}

/// `GET /api/campaigns/{id}/report`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuccessReport {
    /// The campaign's id.
    pub campaign_id: String,
    /// Its stage at report time.
    pub stage: Stage,
    /// When the report was made (`now`).
    pub generated_at: DateTime<Utc>,
    /// False when no counter exists for the campaign at all.
    pub has_data: bool,
    /// Notes for the reader: no data yet, KPIs without counters.
    pub notes: Vec<String>,
    /// One entry per objective, in campaign order.
    pub kpis: Vec<KpiProgress>,
    /// Planned channels in campaign order, then unplanned ones by name.
    pub channels: Vec<ChannelBreakdown>,
    /// Monitoring triggers fired.
    pub triggers_fired: u64,
    /// Optimization actions taken.
    pub actions_taken: u64,
}

/// Builds the success report of `campaign` at `now` from the counters in `inputs`.
pub fn success_report(
    campaign: &Campaign,
    inputs: &ReportInputs,
    now: DateTime<Utc>,
) -> SuccessReport {
    let totals = finite(&inputs.kpi_totals);
    // `extend`, not `collect`: no sort compiled for it (crate::sort).
    let mut by_channel: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    by_channel.extend(
        inputs
            .channel_totals
            .iter()
            .map(|(c, m)| (c.clone(), finite(m)))
            .filter(|(_, m)| !m.is_empty()),
    );
    let has_data = !totals.is_empty() || !by_channel.is_empty();
    let mut notes = Vec::new();
    if !has_data {
        notes.push(
            "no metrics recorded for this campaign yet; actuals will appear once counters exist"
                .to_string(),
        );
    }
    let start = campaign.schedule().start();
    let mut kpis = Vec::with_capacity(campaign.objectives().len());
    for o in campaign.objectives() {
        let actual = totals.get(o.kpi.as_str()).copied();
        if has_data && actual.is_none() {
            notes.push(format!("no counter named {} yet", o.kpi));
        }
        kpis.push(kpi_progress(o, actual, start, now));
    }
    SuccessReport {
        campaign_id: campaign.id().to_string(),
        stage: campaign.stage(),
        generated_at: now,
        has_data,
        notes,
        kpis,
        channels: channel_breakdowns(campaign, &by_channel),
        triggers_fired: inputs.triggers_fired,
        actions_taken: inputs.actions_taken,
    }
}

/// The counters with a finite value.
fn finite(m: &BTreeMap<String, f64>) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    out.extend(
        m.iter()
            .filter(|(_, v)| v.is_finite())
            .map(|(k, v)| (k.clone(), *v)),
    );
    out
}

/// Progress of one objective, given its counter's total (`None`: no counter)
/// and the schedule start its pace is measured from.
fn kpi_progress(
    o: &Objective,
    actual: Option<f64>,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
) -> KpiProgress {
    let target = o.target.value();
    let expected_fraction = elapsed_fraction(start, o.deadline, now);
    let achieved_fraction = actual.map(|a| a / target);
    let status = match achieved_fraction {
        None => PaceStatus::NoData,
        Some(a) if a > expected_fraction + PACE_TOLERANCE => PaceStatus::Ahead,
        Some(a) if a < expected_fraction - PACE_TOLERANCE => PaceStatus::Behind,
        Some(_) => PaceStatus::OnTrack,
    };
    KpiProgress {
        kpi: o.kpi.to_string(),
        target,
        actual,
        percent_achieved: achieved_fraction.map(|a| a * 100.0),
        deadline: o.deadline,
        deadline_passed: now > o.deadline,
        met: actual.is_some_and(|a| a >= target),
        pace: Pace {
            expected_fraction,
            achieved_fraction,
            status,
        },
    }
}

/// Planned channels in campaign order (with budget use), then channels that
/// have counters but are not planned, by name.
fn channel_breakdowns(
    campaign: &Campaign,
    by_channel: &BTreeMap<String, BTreeMap<String, f64>>,
) -> Vec<ChannelBreakdown> {
    let empty = BTreeMap::new();
    let mut channels: Vec<ChannelBreakdown> = campaign
        .channels()
        .iter()
        .map(|p| {
            let metrics = by_channel.get(p.channel.as_str()).unwrap_or(&empty).clone();
            let budget = p.budget_minor.minor_units();
            let budget_used_percent = match metrics.get(SPEND_METRIC) {
                Some(spend) if budget > 0 => Some(spend / budget as f64 * 100.0),
                _ => None,
            };
            ChannelBreakdown {
                channel: p.channel.to_string(),
                planned: true,
                budget_minor: Some(budget),
                budget_used_percent,
                metrics,
            }
        })
        .collect();
    for (channel, metrics) in by_channel {
        if campaign.channel(channel).is_none() {
            channels.push(ChannelBreakdown {
                channel: channel.clone(),
                planned: false,
                budget_minor: None,
                budget_used_percent: None,
                metrics: metrics.clone(),
            });
        }
    }
    channels
}

/// Fraction of `start..deadline` elapsed at `now`, clamped to 0..=1.
fn elapsed_fraction(start: DateTime<Utc>, deadline: DateTime<Utc>, now: DateTime<Utc>) -> f64 {
    if now >= deadline {
        return 1.0;
    }
    if now <= start {
        return 0.0;
    }
    let total = (deadline - start).num_seconds() as f64;
    let elapsed = (now - start).num_seconds() as f64;
    if total > 0.0 {
        (elapsed / total).clamp(0.0, 1.0)
    } else {
        1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaign::input::ObjectiveInput;
    use crate::campaign::input::tests::{campaign_from, ts, valid_input};
    use proptest::prelude::*;

    /// Schedule 2030-03-01..31, objective conversions 1000 by 2030-03-31T00:00Z (30 days).
    fn campaign() -> Campaign {
        let mut input = valid_input();
        input.objectives.push(ObjectiveInput {
            kpi: Some("clicked".into()),
            target: Some(200.0),
            deadline: Some("2030-03-11T00:00:00Z".into()),
        });
        campaign_from(input)
    }

    #[test]
    fn no_counters_means_no_data_with_a_note() {
        let r = success_report(
            &campaign(),
            &ReportInputs::default(),
            ts("2030-03-16T00:00:00Z"),
        );
        assert!(!r.has_data);
        assert_eq!(r.notes.len(), 1);
        assert!(
            r.kpis
                .iter()
                .all(|k| k.actual.is_none() && k.pace.status == PaceStatus::NoData)
        );
        assert_eq!(r.channels.len(), 1);
        assert!(r.channels[0].metrics.is_empty());
    }

    #[test]
    fn actual_vs_target_pace_and_channels() {
        let inputs = ReportInputs {
            kpi_totals: BTreeMap::from([
                ("conversions".into(), 500.0),
                ("opened".into(), f64::NAN),
            ]),
            channel_totals: BTreeMap::from([
                (
                    "email".into(),
                    BTreeMap::from([("spend".into(), 125_000.0), ("sent".into(), 9000.0)]),
                ),
                ("sms".into(), BTreeMap::from([("sent".into(), 10.0)])),
            ]),
            triggers_fired: 2,
            actions_taken: 1,
        };
        // Half-way from start (03-01) to the conversions deadline (03-31).
        let r = success_report(&campaign(), &inputs, ts("2030-03-16T00:00:00Z"));
        assert!(r.has_data);
        let conv = &r.kpis[0];
        assert_eq!(
            (conv.actual, conv.percent_achieved),
            (Some(500.0), Some(50.0))
        );
        assert!((conv.pace.expected_fraction - 0.5).abs() < 1e-9);
        assert_eq!(conv.pace.status, PaceStatus::OnTrack);
        assert!(!conv.met && !conv.deadline_passed);
        let clicked = &r.kpis[1];
        assert_eq!(clicked.pace.status, PaceStatus::NoData);
        assert!(clicked.deadline_passed);
        assert_eq!(r.notes, ["no counter named clicked yet"]);
        assert_eq!(r.channels[0].budget_used_percent, Some(25.0));
        assert_eq!(
            (r.channels[1].channel.as_str(), r.channels[1].planned),
            ("sms", false)
        );
        assert_eq!((r.triggers_fired, r.actions_taken), (2, 1));
    }

    #[test]
    fn pace_is_behind_or_ahead_outside_the_tolerance() {
        let at = ts("2030-03-16T00:00:00Z");
        let status = |actual: f64| {
            let inputs = ReportInputs {
                kpi_totals: BTreeMap::from([("conversions".into(), actual)]),
                ..ReportInputs::default()
            };
            success_report(&campaign(), &inputs, at).kpis[0].pace.status
        };
        assert_eq!(status(300.0), PaceStatus::Behind);
        assert_eq!(status(540.0), PaceStatus::OnTrack);
        assert_eq!(status(700.0), PaceStatus::Ahead);
    }

    proptest! {
        #[test]
        fn expected_fraction_is_monotonic_and_bounded(a in 0i64..4_000_000, b in 0i64..4_000_000) {
            let start = ts("2030-03-01T00:00:00Z");
            let deadline = ts("2030-03-31T00:00:00Z");
            let (early, late) = (a.min(b), a.max(b));
            let f = |s: i64| elapsed_fraction(start, deadline, start + chrono::TimeDelta::seconds(s - 500_000));
            prop_assert!((0.0..=1.0).contains(&f(early)));
            prop_assert!(f(early) <= f(late));
        }
    }
}
