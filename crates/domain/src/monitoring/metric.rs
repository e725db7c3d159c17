//! Metric expressions evaluated over counter totals, per scope.
//!
//! The component reads the counter windows [`required_windows`] names (one read
//! per window per campaign, batched across campaigns where the store allows) and
//! passes them in; a value of `None` is *no data* (no counter, zero denominator,
//! nothing to compare against), which the alert machine treats as its own state.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::rule::{Metric, Rule, Scope};
use crate::campaign::{Allocation, Campaign, DateRange, Resource, Stage, utilization};

/// Size of an hourly counter bucket, in seconds.
pub const HOUR: i64 = 3_600;
/// Size of a daily counter bucket, in seconds.
pub const DAY: i64 = 86_400;

/// Counter totals of one campaign over one window (mirrors the store's read API).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Kind → total.
    pub by_kind: BTreeMap<String, i64>,
    /// Channel → kind → total.
    pub by_channel: BTreeMap<String, BTreeMap<String, i64>>,
}

/// Which counters a window covers: buckets starting in `[from, to)`, of `bucket_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Window {
    /// First bucket start included (unix seconds).
    pub from: i64,
    /// End (exclusive).
    pub to: i64,
    /// Bucket size: [`HOUR`] or [`DAY`].
    pub bucket_secs: i64,
}

/// One evaluated (rule, scope).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// `campaign:<id>`, `campaign:<id>:channel:<ch>` or `resources`.
    pub scope_key: String,
    /// The campaign, for campaign scopes.
    pub campaign_id: Option<String>,
    /// The channel, for channel scopes.
    pub channel: Option<String>,
    /// The value seen; `None` is no data.
    pub value: Option<f64>,
    /// What the action needs to know (channel scores, overallocated range, ...).
    pub context: serde_json::Value,
}

/// The scope key of a campaign (and channel).
pub fn scope_key(campaign_id: &str, channel: Option<&str>) -> String {
    match channel {
        Some(c) => format!("campaign:{campaign_id}:channel:{c}"),
        None => format!("campaign:{campaign_id}"),
    }
}

/// Whether `rule` evaluates `campaign` at all: campaign-wide and channel rules watch
/// live campaigns (distribution, monitoring, optimization); a rule naming one
/// campaign watches it in every stage but completed and cancelled.
pub fn watches(rule: &Rule, campaign: &Campaign) -> bool {
    if !rule.scope.covers_campaign(campaign.id()) {
        return false;
    }
    match rule.scope {
        Scope::Campaign { .. } => !matches!(campaign.stage(), Stage::Completed | Stage::Cancelled),
        _ => matches!(
            campaign.stage(),
            Stage::Distribution | Stage::Monitoring | Stage::Optimization
        ),
    }
}

/// The counter windows `rule` needs for `campaign` at `now`.
pub fn required_windows(rule: &Rule, campaign: &Campaign, now: i64) -> Vec<Window> {
    let to = now + 1;
    match &rule.metric {
        Metric::KpiPace { .. } => {
            let start = campaign.schedule().start().timestamp();
            vec![Window {
                from: start - start.rem_euclid(DAY),
                to,
                bucket_secs: DAY,
            }]
        }
        Metric::Ratio { window_secs, .. } => vec![hourly(*window_secs, now)],
        Metric::BaselineChange {
            window_secs,
            baseline_secs,
            ..
        } => vec![
            hourly(*window_secs, now),
            hourly(window_secs + baseline_secs, now),
        ],
        Metric::Utilization { .. } => Vec::new(),
    }
}

/// The current (partial) hour bucket and the whole hours before it, `lookback`
/// seconds in all.
fn hourly(lookback: i64, now: i64) -> Window {
    Window {
        from: now - now.rem_euclid(HOUR) + HOUR - lookback,
        to: now + 1,
        bucket_secs: HOUR,
    }
}

fn sum(kinds: &[String], m: Option<&BTreeMap<String, i64>>) -> (i64, bool) {
    let Some(m) = m else { return (0, false) };
    let mut any = false;
    let mut total = 0i64;
    for k in kinds {
        if let Some(v) = m.get(k) {
            any = true;
            total = total.saturating_add(*v);
        }
    }
    (total, any)
}

fn ratio(num: &[String], den: &[String], m: Option<&BTreeMap<String, i64>>) -> Option<(i64, i64)> {
    let (n, _) = sum(num, m);
    let (d, any) = sum(den, m);
    (any && d > 0).then_some((n, d))
}

fn elapsed_fraction(start: DateTime<Utc>, deadline: DateTime<Utc>, now: i64) -> Option<f64> {
    let span = (deadline - start).num_seconds();
    let done = now - start.timestamp();
    if span <= 0 || done <= 0 {
        return None;
    }
    Some((done as f64 / span as f64).min(1.0))
}

/// Evaluates `rule` on `campaign` at `now` with the windows it asked for
/// (`windows[w]` for each `w` of [`required_windows`]; a missing one is no data).
pub fn evaluate(
    rule: &Rule,
    campaign: &Campaign,
    windows: &BTreeMap<Window, Totals>,
    now: i64,
) -> Vec<Observation> {
    let wanted = required_windows(rule, campaign, now);
    let get = |i: usize| wanted.get(i).and_then(|w| windows.get(w));
    match &rule.metric {
        Metric::KpiPace { kpi } => vec![kpi_pace(campaign, kpi.as_deref(), get(0), now)],
        Metric::Ratio {
            numerator,
            denominator,
            ..
        } => {
            let ratio = RatioKinds {
                numerator,
                denominator,
            };
            if rule.scope.is_channel() {
                watched_channels(&rule.scope, campaign)
                    .iter()
                    .map(|c| ratio.per_channel(campaign.id(), c, get(0)))
                    .collect()
            } else {
                vec![ratio.campaign_wide(campaign.id(), get(0))]
            }
        }
        Metric::BaselineChange {
            numerator,
            denominator,
            ..
        } => {
            let ratio = RatioKinds {
                numerator,
                denominator,
            };
            vec![ratio.baseline_change(campaign.id(), get(0), get(1))]
        }
        Metric::Utilization { .. } => Vec::new(),
    }
}

/// The observation of one campaign, or of one of its channels.
fn observed(
    campaign_id: &str,
    channel: Option<&str>,
    value: Option<f64>,
    context: serde_json::Value,
) -> Observation {
    Observation {
        scope_key: scope_key(campaign_id, channel),
        campaign_id: Some(campaign_id.to_string()),
        channel: channel.map(str::to_string),
        value,
        context,
    }
}

/// The channels of `campaign` a channel scope watches (none for other scopes).
fn watched_channels(scope: &Scope, campaign: &Campaign) -> Vec<String> {
    match scope {
        Scope::Channel { channel } => campaign
            .channels()
            .iter()
            .filter(|p| p.channel.as_str() == channel)
            .map(|p| p.channel.to_string())
            .collect(),
        Scope::EachChannel
        | Scope::Campaign {
            each_channel: true, ..
        } => campaign
            .channels()
            .iter()
            .map(|p| p.channel.to_string())
            .collect(),
        _ => Vec::new(),
    }
}

/// The worst pace of the campaign's objectives (only the one measuring `kpi`,
/// when named), with the channel scores of that objective's KPI as context.
fn kpi_pace(
    campaign: &Campaign,
    kpi: Option<&str>,
    totals: Option<&Totals>,
    now: i64,
) -> Observation {
    let mut worst: Option<(f64, String)> = None;
    for o in campaign.objectives() {
        if kpi.is_some_and(|k| k != o.kpi.as_str()) {
            continue;
        }
        let actual = totals.and_then(|t| t.by_kind.get(o.kpi.as_str()).copied());
        let expected = elapsed_fraction(campaign.schedule().start(), o.deadline, now);
        if let (Some(a), Some(e)) = (actual, expected) {
            let pace = (a as f64 / o.target.value()) / e;
            if worst.as_ref().is_none_or(|(w, _)| pace < *w) {
                worst = Some((pace, o.kpi.to_string()));
            }
        }
    }
    let (value, kpi_name) = match worst {
        Some((v, k)) => (Some(v), Some(k)),
        None => (None, None),
    };
    let scores = kpi_name
        .as_deref()
        .map(|k| channel_scores(campaign, totals, k))
        .unwrap_or_default();
    observed(
        campaign.id(),
        None,
        value,
        serde_json::json!({ "kpi": kpi_name, "channel_scores": scores }),
    )
}

/// A ratio metric's counter kinds above and below the line.
struct RatioKinds<'a> {
    numerator: &'a [String],
    denominator: &'a [String],
}

impl RatioKinds<'_> {
    /// The ratio of one channel of the campaign.
    fn per_channel(
        &self,
        campaign_id: &str,
        channel: &str,
        totals: Option<&Totals>,
    ) -> Observation {
        let r = ratio(
            self.numerator,
            self.denominator,
            totals.and_then(|t| t.by_channel.get(channel)),
        );
        observed(
            campaign_id,
            Some(channel),
            r.map(|(n, d)| n as f64 / d as f64),
            ratio_context(r),
        )
    }

    /// The ratio of the campaign as a whole.
    fn campaign_wide(&self, campaign_id: &str, totals: Option<&Totals>) -> Observation {
        let r = ratio(self.numerator, self.denominator, totals.map(|t| &t.by_kind));
        observed(
            campaign_id,
            None,
            r.map(|(n, d)| n as f64 / d as f64),
            ratio_context(r),
        )
    }

    /// The ratio over the current window against the same ratio over the baseline
    /// before it (`long` covers both): `current / baseline - 1`.
    fn baseline_change(
        &self,
        campaign_id: &str,
        current: Option<&Totals>,
        long: Option<&Totals>,
    ) -> Observation {
        let current = current.map(|t| &t.by_kind);
        let long = long.map(|t| &t.by_kind);
        let value = match (ratio(self.numerator, self.denominator, current), long) {
            (Some((cn, cd)), Some(l)) => {
                let (ln, _) = sum(self.numerator, Some(l));
                let (ld, _) = sum(self.denominator, Some(l));
                let (bn, bd) = (ln - cn, ld - cd);
                if bd > 0 && bn > 0 {
                    let base = bn as f64 / bd as f64;
                    Some((cn as f64 / cd as f64) / base - 1.0)
                } else {
                    None
                }
            }
            _ => None,
        };
        observed(campaign_id, None, value, serde_json::json!({}))
    }
}

fn ratio_context(r: Option<(i64, i64)>) -> serde_json::Value {
    serde_json::json!({ "numerator": r.map(|x| x.0), "denominator": r.map(|x| x.1) })
}

/// KPI count per unit of budget, per planned channel (higher is better).
fn channel_scores(
    campaign: &Campaign,
    totals: Option<&Totals>,
    kpi: &str,
) -> BTreeMap<String, f64> {
    campaign
        .channels()
        .iter()
        .map(|p| {
            let count = totals
                .and_then(|t| t.by_channel.get(p.channel.as_str()))
                .and_then(|m| m.get(kpi))
                .copied()
                .unwrap_or(0);
            let budget = p.budget_minor.minor_units().max(1);
            (p.channel.to_string(), count as f64 / budget as f64)
        })
        .collect()
}

/// Peak utilization over `today ..= today + horizon_days - 1`: the largest
/// allocated/capacity ratio of any resource-day, with the overallocated range.
/// `None` (no data) when there are no resources.
pub fn peak_utilization(
    resources: &[Resource],
    allocations: &[Allocation],
    today: NaiveDate,
    horizon_days: u32,
) -> Observation {
    let last = today + chrono::Days::new(u64::from(horizon_days.max(1)) - 1);
    let range = DateRange::parse(today, last).ok();
    let util = range
        .map(|r| utilization(resources, allocations, r))
        .unwrap_or_default();
    let mut peak: Option<f64> = None;
    let mut over: Vec<NaiveDate> = Vec::new();
    for u in &util {
        for d in &u.days {
            if peak.is_none_or(|p| d.ratio > p) {
                peak = Some(d.ratio);
            }
            if d.allocated > d.capacity {
                over.push(d.date);
            }
        }
    }
    crate::sort::sort(&mut over);
    Observation {
        scope_key: "resources".to_string(),
        campaign_id: None,
        channel: None,
        value: peak.filter(|p| p.is_finite()),
        context: serde_json::json!({
            "from": over.first().map(|d| d.to_string()),
            "to": over.last().map(|d| d.to_string()),
            "overallocated_days": over.len(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaign::{CampaignInput, UserId};
    use crate::monitoring::rule::default_rules;

    const T0: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z

    fn campaign() -> Campaign {
        let input: CampaignInput = serde_json::from_value(serde_json::json!({
            "name": "Spring", "marketing_owner": "mia", "operations_owner": "olga",
            "objectives": [{"kpi": "conversions", "target": 1000.0, "deadline": "2026-01-11T00:00:00Z"}],
            "channels": [
                {"channel": "email", "budget_minor": 10000, "fallback_channels": ["sms"]},
                {"channel": "social", "budget_minor": 10000}
            ],
            "schedule": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-31T00:00:00Z"}
        }))
        .expect("input");
        let new = input.parse().expect("valid");
        let by = UserId::parse("mia").expect("user");
        Campaign::create(
            "c1".into(),
            new,
            by,
            chrono::DateTime::from_timestamp(T0, 0).expect("t"),
        )
    }

    fn totals(kinds: &[(&str, i64)], channels: &[(&str, &str, i64)]) -> Totals {
        let mut t = Totals::default();
        for (k, v) in kinds {
            t.by_kind.insert(k.to_string(), *v);
        }
        for (c, k, v) in channels {
            t.by_channel
                .entry(c.to_string())
                .or_default()
                .insert(k.to_string(), *v);
        }
        t
    }

    #[test]
    fn pace_is_achieved_over_expected_and_missing_counters_are_no_data() {
        let c = campaign();
        let rule = &default_rules(0)[0];
        let now = T0 + 5 * DAY; // half way to the deadline
        let w = required_windows(rule, &c, now);
        assert_eq!(w.len(), 1);
        let data = BTreeMap::from([(
            w[0],
            totals(
                &[("conversions", 250)],
                &[("email", "conversions", 50), ("social", "conversions", 200)],
            ),
        )]);
        let obs = evaluate(rule, &c, &data, now);
        assert_eq!(obs.len(), 1);
        let v = obs[0].value.expect("value");
        assert!((v - 0.5).abs() < 1e-9, "{v}");
        assert!(
            obs[0].context["channel_scores"]["social"].as_f64()
                > obs[0].context["channel_scores"]["email"].as_f64()
        );
        let none = evaluate(rule, &c, &BTreeMap::new(), now);
        assert_eq!(none[0].value, None);
    }

    #[test]
    fn failure_rate_per_channel_and_baseline_change() {
        let c = campaign();
        let rules = default_rules(0);
        let now = T0 + 3 * DAY + 1_800;
        let dist = &rules[2];
        let w = required_windows(dist, &c, now);
        let data = BTreeMap::from([(
            w[0],
            totals(
                &[],
                &[
                    ("email", "sent", 100),
                    ("email", "bounced", 8),
                    ("email", "dropped", 2),
                ],
            ),
        )]);
        let obs = evaluate(dist, &c, &data, now);
        assert_eq!(obs.len(), 2, "one per channel");
        assert_eq!(obs[0].scope_key, "campaign:c1:channel:email");
        assert_eq!(obs[0].value, Some(0.1));
        assert_eq!(obs[1].value, None, "social sent nothing: no data");

        let eng = &rules[1];
        let w = required_windows(eng, &c, now);
        assert_eq!(w.len(), 2);
        let data = BTreeMap::from([
            (w[0], totals(&[("clicked", 5), ("delivered", 100)], &[])),
            (w[1], totals(&[("clicked", 75), ("delivered", 800)], &[])),
        ]);
        let v = evaluate(eng, &c, &data, now)[0].value.expect("value");
        // current 5%, baseline 70/700 = 10% → -50%.
        assert!((v + 0.5).abs() < 1e-9, "{v}");
    }

    #[test]
    fn channel_rules_watch_live_campaigns_only() {
        let c = campaign(); // planning
        let rules = default_rules(0);
        assert!(!watches(&rules[2], &c));
        let mut one = rules[2].clone();
        one.scope = Scope::Campaign {
            campaign_id: "c1".into(),
            each_channel: true,
        };
        assert!(watches(&one, &c));
    }
}
