//! Folding a batch of events into counter deltas, so a 100-event batch becomes a
//! handful of increments.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::event::{MetricKind, NormalizedEvent};

/// The width of a metric time bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    /// One-hour buckets (the stored counters).
    Hour,
    /// One-day buckets (UTC days).
    Day,
}

impl Granularity {
    /// The bucket width in seconds.
    pub fn seconds(self) -> i64 {
        match self {
            Granularity::Hour => 3_600,
            Granularity::Day => 86_400,
        }
    }

    /// The start of the bucket holding `unix_seconds` (floored, also before 1970).
    pub fn bucket_start(self, unix_seconds: i64) -> i64 {
        let width = self.seconds();
        unix_seconds - unix_seconds.rem_euclid(width)
    }
}

/// One counter: a metric kind for a campaign, channel and content item in a time bucket.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MetricKey {
    /// The campaign; `None` for unattributed events.
    pub campaign_id: Option<String>,
    /// The channel, when known.
    pub channel: Option<String>,
    /// The content item, when known.
    pub content_id: Option<String>,
    /// Start of the time bucket, unix seconds.
    pub bucket_start: i64,
    /// What is counted.
    pub kind: MetricKind,
}

impl MetricKey {
    /// The counter `event` increments at `granularity`.
    pub fn of(event: &NormalizedEvent, granularity: Granularity) -> Self {
        Self {
            campaign_id: event.campaign_id.clone(),
            channel: event.channel.clone(),
            content_id: event.content_id.clone(),
            bucket_start: granularity.bucket_start(event.occurred_at),
            kind: event.kind,
        }
    }
}

/// Sum the events' amounts per counter. Sums saturate instead of overflowing;
/// counters whose deltas cancel out (spend and its credit) are left out.
pub fn aggregate<'e>(
    events: impl IntoIterator<Item = &'e NormalizedEvent>,
    granularity: Granularity,
) -> BTreeMap<MetricKey, i64> {
    let mut deltas: BTreeMap<MetricKey, i64> = BTreeMap::new();
    for event in events {
        let delta = deltas.entry(MetricKey::of(event, granularity)).or_default();
        *delta = delta.saturating_add(event.amount);
    }
    deltas.retain(|_, delta| *delta != 0);
    deltas
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhooks::event::Platform;
    use proptest::prelude::*;

    const HOUR: i64 = 1_700_000_000 - 1_700_000_000 % 3_600;

    fn event(
        id: usize,
        kind: MetricKind,
        campaign: Option<&str>,
        at: i64,
        amount: i64,
    ) -> NormalizedEvent {
        NormalizedEvent {
            dedupe_id: format!("e{id}"),
            platform: Platform::Sendgrid,
            kind,
            campaign_id: campaign.map(str::to_owned),
            channel: Some("email".to_owned()),
            content_id: None,
            occurred_at: at,
            amount,
            message: None,
        }
    }

    #[test]
    fn a_hundred_events_become_a_handful_of_deltas() {
        let events: Vec<NormalizedEvent> = (0..100)
            .map(|i| {
                let kind = [
                    MetricKind::Delivered,
                    MetricKind::Opened,
                    MetricKind::Clicked,
                ][i % 3];
                let campaign = if i % 10 == 0 { None } else { Some("c1") };
                // Spread over two hours.
                event(i, kind, campaign, HOUR + (i as i64) * 60, 1)
            })
            .collect();
        let deltas = aggregate(&events, Granularity::Hour);
        assert!(deltas.len() <= 12, "{} deltas", deltas.len());
        assert_eq!(deltas.values().sum::<i64>(), 100);
        let key = MetricKey {
            campaign_id: Some("c1".to_owned()),
            channel: Some("email".to_owned()),
            content_id: None,
            bucket_start: HOUR,
            kind: MetricKind::Delivered,
        };
        // Minutes 0..59 of the first hour: i in 0..60, i % 3 == 0 and i % 10 != 0.
        let expected = (0..60).filter(|i| i % 3 == 0 && i % 10 != 0).count() as i64;
        assert_eq!(deltas[&key], expected);
    }

    #[test]
    fn spend_sums_minor_units_and_cancelled_deltas_vanish() {
        let events = [
            event(1, MetricKind::Spend, Some("c"), HOUR, 1_250),
            event(2, MetricKind::Spend, Some("c"), HOUR + 10, 750),
            event(3, MetricKind::Spend, Some("d"), HOUR, 500),
            event(4, MetricKind::Spend, Some("d"), HOUR, -500),
        ];
        let deltas = aggregate(&events, Granularity::Hour);
        assert_eq!(deltas.len(), 1);
        assert_eq!(deltas.values().next(), Some(&2_000));
    }

    #[test]
    fn buckets_floor_to_the_hour_and_day() {
        assert_eq!(Granularity::Hour.bucket_start(HOUR + 3_599), HOUR);
        assert_eq!(Granularity::Hour.bucket_start(HOUR + 3_600), HOUR + 3_600);
        assert_eq!(Granularity::Day.bucket_start(86_400 * 3 + 5), 86_400 * 3);
        assert_eq!(Granularity::Hour.bucket_start(-1), -3_600);
    }

    #[test]
    fn sums_saturate() {
        let events = [
            event(1, MetricKind::Spend, None, HOUR, i64::MAX),
            event(2, MetricKind::Spend, None, HOUR, 1),
        ];
        assert_eq!(
            aggregate(&events, Granularity::Hour).values().next(),
            Some(&i64::MAX)
        );
    }

    proptest! {
        #[test]
        fn aggregation_preserves_totals_per_kind(
            raw in prop::collection::vec((0usize..11, 0u8..3, 0i64..200_000, 1i64..1_000), 0..200)
        ) {
            let events: Vec<NormalizedEvent> = raw
                .iter()
                .enumerate()
                .map(|(i, (k, c, at, amount))| {
                    let campaign = ["a", "b", "c"][usize::from(*c)];
                    event(i, MetricKind::ALL[*k], Some(campaign), *at, *amount)
                })
                .collect();
            let deltas = aggregate(&events, Granularity::Hour);
            for kind in MetricKind::ALL {
                let direct: i64 = events.iter().filter(|e| e.kind == kind).map(|e| e.amount).sum();
                let folded: i64 = deltas.iter().filter(|(k, _)| k.kind == kind).map(|(_, v)| v).sum();
                prop_assert_eq!(direct, folded);
            }
            prop_assert!(deltas.keys().all(|k| k.bucket_start % 3_600 == 0));
        }
    }
}
