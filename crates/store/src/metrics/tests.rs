//! The write, read and cleanup paths together, with KV calls counted and a
//! failure injected at every call position.

use super::*;
use crate::MemoryKv;
use crate::kv::{Kv, StoreError};
use futures::executor::block_on;

const NOW: i64 = 1_700_000_000;

fn sample(id: &str, campaign: Option<&str>, kind: &str, at: i64) -> Sample {
    Sample {
        dedupe_id: Some(id.to_string()),
        target: match campaign {
            Some(c) => Target::Campaign(c.to_string()),
            None => Target::Unattributed,
        },
        kind: kind.to_string(),
        channel: Some("email".into()),
        content_id: None,
        at,
        amount: 1,
        detail: campaign.is_none().then(|| serde_json::json!({"id": id})),
    }
}

fn batch(samples: Vec<Sample>) -> Batch<'static> {
    Batch {
        scope: "sendgrid",
        platform: "sendgrid",
        samples,
        nonce: "n1",
    }
}

fn hundred() -> Vec<Sample> {
    (0..100)
        .map(|i| {
            let kind = ["delivered", "opened", "clicked"][i % 3];
            sample(&format!("e{i}"), Some("c1"), kind, NOW + i as i64)
        })
        .collect()
}

fn opened(kv: &MemoryKv) -> i64 {
    let t = block_on(campaign_totals(
        kv,
        "c1",
        NOW - DAY_SECS,
        NOW + DAY_SECS,
        HOUR_SECS,
        None,
    ))
    .unwrap();
    t.by_kind.values().sum()
}

#[test]
fn a_batch_is_counted_once_in_few_calls() {
    let kv = MemoryKv::default();
    let out = block_on(ingest(&kv, batch(hundred()), NOW)).unwrap();
    assert_eq!(out.accepted, 100);
    assert_eq!(opened(&kv), 100);
    let before = kv.calls();
    let mut second = hundred();
    for (i, s) in second.iter_mut().enumerate() {
        s.dedupe_id = Some(format!("f{i}"));
    }
    block_on(ingest(&kv, batch(second), NOW)).unwrap();
    // get_many, set_many, watch, swap.
    assert_eq!(kv.calls() - before, 4);
    assert_eq!(opened(&kv), 200);
    let again = block_on(ingest(&kv, batch(hundred()), NOW)).unwrap();
    assert_eq!((again.accepted, again.duplicates), (0, 100));
    assert_eq!(opened(&kv), 200);
}

#[test]
fn totals_bucket_by_hour_and_day() {
    let kv = MemoryKv::default();
    let hour = NOW - NOW.rem_euclid(HOUR_SECS);
    let samples = vec![
        sample("a", Some("c1"), "opened", hour),
        sample("b", Some("c1"), "opened", hour + HOUR_SECS),
        sample("c", Some("c1"), "clicked", hour + 2 * HOUR_SECS),
        sample("d", Some("c2"), "clicked", hour),
    ];
    block_on(ingest(&kv, batch(samples), NOW)).unwrap();
    let t = block_on(campaign_totals(
        &kv,
        "c1",
        hour,
        hour + 2 * HOUR_SECS,
        HOUR_SECS,
        None,
    ))
    .unwrap();
    assert_eq!(t.by_kind.get("opened"), Some(&2));
    assert_eq!(t.by_kind.get("clicked"), None);
    assert_eq!(t.series.len(), 2);
    assert_eq!(t.by_channel["email"]["opened"], 2);
    let day = day_of(hour) * DAY_SECS;
    let d = block_on(campaign_totals(
        &kv,
        "c1",
        day,
        day + DAY_SECS,
        DAY_SECS,
        None,
    ))
    .unwrap();
    assert_eq!(d.series.keys().copied().collect::<Vec<_>>(), vec![day]);
    let sms = block_on(campaign_totals(
        &kv,
        "c1",
        day,
        day + DAY_SECS,
        DAY_SECS,
        Some("sms"),
    ))
    .unwrap();
    assert!(sms.by_kind.is_empty() && sms.series.is_empty(), "{sms:?}");
    let email = block_on(campaign_totals(
        &kv,
        "c1",
        day,
        day + DAY_SECS,
        DAY_SECS,
        Some("email"),
    ))
    .unwrap();
    assert_eq!(email.series[&day]["opened"], 2);
}

#[test]
fn many_campaigns_are_totalled_in_few_calls() {
    let kv = MemoryKv::default();
    let hour = NOW - NOW.rem_euclid(HOUR_SECS);
    let ids: Vec<String> = (0..300).map(|i| format!("c{i:03}")).collect();
    let samples: Vec<Sample> = ids
        .iter()
        .enumerate()
        .flat_map(|(i, id)| {
            [
                sample(&format!("a{i}"), Some(id), "sent", hour),
                sample(&format!("b{i}"), Some(id), "opened", hour - HOUR_SECS),
            ]
        })
        .collect();
    block_on(ingest(&kv, batch(samples), NOW)).unwrap();
    // One hour of 300 campaigns: 300 hour keys and 300 rollups, three chunks.
    let before = kv.calls();
    let one = block_on(campaigns_totals(&kv, &ids, hour, NOW + 1, HOUR_SECS)).unwrap();
    assert_eq!(kv.calls() - before, 3);
    assert_eq!(one.len(), 300);
    assert!(one.values().all(|t| t.by_kind.get("sent") == Some(&1)));
    assert!(one.values().all(|t| !t.by_kind.contains_key("opened")));
    // Overlapping ranges of one campaign share their records, and each
    // answer equals the single-campaign read.
    let queries: Vec<TotalsQuery<'_>> = ids
        .iter()
        .flat_map(|id| {
            [
                TotalsQuery {
                    campaign_id: id,
                    from: hour,
                    to: NOW + 1,
                    bucket_secs: HOUR_SECS,
                    channel: None,
                },
                TotalsQuery {
                    campaign_id: id,
                    from: day_of(hour) * DAY_SECS,
                    to: NOW + 1,
                    bucket_secs: DAY_SECS,
                    channel: None,
                },
            ]
        })
        .collect();
    let before = kv.calls();
    let many = block_on(totals_many(&kv, &queries)).unwrap();
    // The day-bucket range reads the 24 hours of its day bucket; the hour
    // range's record is one of them; and one rollup per campaign.
    let distinct: usize = 300 * 24 + 300;
    assert_eq!(
        kv.calls() - before,
        distinct.div_ceil(READ_CHUNK) as u64,
        "{distinct} keys"
    );
    assert_eq!(many[1].by_kind.get("opened"), Some(&1));
    assert_eq!(many[1].by_kind.get("sent"), Some(&1));
    for (q, t) in queries.iter().zip(&many) {
        let single = block_on(campaign_totals(
            &kv,
            q.campaign_id,
            q.from,
            q.to,
            q.bucket_secs,
            q.channel,
        ))
        .unwrap();
        assert_eq!(&single, t);
    }
    // The monitoring read: one rollup per campaign, the same kind and channel
    // totals.
    let before = kv.calls();
    let windows = block_on(window_totals_many(&kv, &queries)).unwrap();
    assert_eq!(kv.calls() - before, 1, "300 rollups, one get_many");
    for (w, t) in windows.iter().zip(&many) {
        assert_eq!((&w.by_kind, &w.by_channel), (&t.by_kind, &t.by_channel));
    }
}

/// Every window the monitoring engine may ask, read from the rollups and from the
/// hour records, for events on time, late by hours and days, and ahead.
fn assert_windows_agree(kv: &MemoryKv, campaign: &str, now: i64) {
    let hour = now - now.rem_euclid(HOUR_SECS);
    let mut queries = Vec::new();
    for lookback_hours in [1, 2, 3, 24, 48, 192, 216] {
        for channel in [None, Some("email"), Some("sms")] {
            queries.push(TotalsQuery {
                campaign_id: campaign,
                from: hour + HOUR_SECS - lookback_hours * HOUR_SECS,
                to: now + 1,
                bucket_secs: HOUR_SECS,
                channel,
            });
        }
    }
    for days in [0, 1, 7, 30, 60, 120] {
        let start = day_of(now) * DAY_SECS - days * DAY_SECS;
        queries.push(TotalsQuery {
            campaign_id: campaign,
            from: start + 1_234,
            to: now + 1,
            bucket_secs: DAY_SECS,
            channel: None,
        });
    }
    let slow = block_on(totals_many(kv, &queries)).unwrap();
    let fast = block_on(window_totals_many(kv, &queries)).unwrap();
    for ((q, s), f) in queries.iter().zip(&slow).zip(&fast) {
        assert_eq!(
            (&f.by_kind, &f.by_channel),
            (&s.by_kind, &s.by_channel),
            "{q:?}"
        );
    }
}

#[test]
fn rollups_close_hours_into_hour_records_and_count_late_events_once() {
    let kv = MemoryKv::default();
    let hour = NOW - NOW.rem_euclid(HOUR_SECS);
    let mut n = 0;
    let mut one = |at: i64, kind: &str, channel: &str| {
        n += 1;
        let mut s = sample(&format!("x{n}"), Some("c1"), kind, at);
        s.channel = Some(channel.to_string());
        s.content_id = Some(format!("k{}", n % 3));
        s
    };
    let mut expected = 0;
    // Ten hours of events, each batch with some late ones (an hour, a day and
    // ten days back) and one a few minutes ahead; each delivered twice.
    for h in 0..10 {
        let now = hour + h * HOUR_SECS + 600;
        let samples = vec![
            one(now, "sent", "email"),
            one(now - 60, "delivered", "email"),
            one(now - HOUR_SECS, "opened", "sms"),
            one(now - 26 * HOUR_SECS, "clicked", "email"),
            one(now - 10 * DAY_SECS, "sent", "sms"),
            one(now + 120, "sent", "email"),
        ];
        expected += samples.len() as i64;
        let b = batch(samples);
        block_on(ingest(&kv, b.clone(), now)).unwrap();
        let again = block_on(ingest(&kv, b, now + 5)).unwrap();
        assert_eq!(again.accepted, 0);
        assert_windows_agree(&kv, "c1", now);
    }
    let later = hour + 12 * HOUR_SECS;
    let t = block_on(campaign_totals(
        &kv,
        "c1",
        later - 20 * DAY_SECS,
        later + DAY_SECS,
        HOUR_SECS,
        None,
    ))
    .unwrap();
    assert_eq!(t.by_kind.values().sum::<i64>(), expected);
    assert_eq!(
        t.by_content.values().flat_map(|m| m.values()).sum::<i64>(),
        expected
    );
    // Closed hours are in their hour records, the open ones in the rollup.
    assert!(kv.keys().iter().any(|k| k == &format!("met:c:c1:{hour}")));
    assert!(kv.keys().iter().any(|k| k == "met:r:c1"));
    // The cleanup pass closes what is left and forgets every batch.
    let report = block_on(cleanup(&kv, later + 5 * DAY_SECS, 10)).unwrap();
    assert!(report.batches > 0);
    assert!(
        kv.keys().iter().all(|k| !k.starts_with("wh:b:")),
        "{:?}",
        kv.keys()
    );
    let after = block_on(campaign_totals(
        &kv,
        "c1",
        later - 20 * DAY_SECS,
        later + DAY_SECS,
        HOUR_SECS,
        None,
    ))
    .unwrap();
    assert_eq!(after, t);
    assert_windows_agree(&kv, "c1", later + 5 * DAY_SECS);
}

#[test]
fn a_retry_after_the_hour_closed_and_reopened_counts_nothing_twice() {
    let kv = MemoryKv::default();
    let hour = NOW - NOW.rem_euclid(HOUR_SECS);
    let first = batch(vec![sample("a", Some("c1"), "opened", hour + 10)]);
    block_on(ingest(&kv, first.clone(), hour + 20)).unwrap();
    // Three hours later the hour closes; a late event reopens it.
    let late = batch(vec![sample("b", Some("c1"), "opened", hour + 30)]);
    block_on(ingest(&kv, late, hour + 3 * HOUR_SECS)).unwrap();
    let reopen = batch(vec![sample("c", Some("c1"), "opened", hour + 40)]);
    block_on(ingest(&kv, reopen, hour + 3 * HOUR_SECS + 60)).unwrap();
    // The first batch, delivered again (with a new event), counts only the new one.
    let mut retry = first.samples.clone();
    retry.push(sample("d", Some("c1"), "opened", hour + 50));
    block_on(ingest(&kv, batch(retry), hour + 3 * HOUR_SECS + 120)).unwrap();
    let t = block_on(campaign_totals(
        &kv,
        "c1",
        hour,
        hour + HOUR_SECS,
        HOUR_SECS,
        None,
    ))
    .unwrap();
    assert_eq!(t.by_kind["opened"], 4);
    assert_windows_agree(&kv, "c1", hour + 3 * HOUR_SECS + 120);
}

#[test]
fn seeded_records_read_as_ingested_ones() {
    let hour = NOW - NOW.rem_euclid(HOUR_SECS);
    let cells = |v: i64| {
        vec![Cell {
            kind: "sent".into(),
            channel: Some("email".into()),
            content_id: None,
            value: v,
        }]
    };
    let hours: Vec<(i64, Vec<Cell>)> = (0..30).map(|h| (hour - h * HOUR_SECS, cells(h))).collect();
    let kv = MemoryKv::default();
    block_on(kv.set_many(&seed_campaign("c1", &hours, NOW).unwrap())).unwrap();
    assert_windows_agree(&kv, "c1", NOW);
    let t = block_on(campaign_totals(
        &kv,
        "c1",
        hour - 2 * DAY_SECS,
        NOW,
        HOUR_SECS,
        None,
    ))
    .unwrap();
    assert_eq!(t.by_kind["sent"], (0..30).sum::<i64>());
}

#[test]
fn unattributed_events_are_kept_per_platform() {
    let kv = MemoryKv::default();
    let samples = vec![
        sample("a", None, "opened", NOW),
        Sample {
            target: Target::Unknown,
            kind: "group_resubscribe".into(),
            detail: None,
            ..sample("b", None, "x", NOW)
        },
    ];
    let out = block_on(ingest(&kv, batch(samples), NOW)).unwrap();
    assert_eq!((out.unattributed, out.unknown), (1, 1));
    let p = block_on(platform_day(&kv, "sendgrid", day_of(NOW))).unwrap();
    assert_eq!(p.unattributed["opened"], 1);
    assert_eq!(p.unknown["group_resubscribe"], 1);
    assert_eq!(p.samples.len(), 1);
}

/// A Kv that fails one call: every failure point, then a retry, counts exactly once.
struct Flaky {
    inner: MemoryKv,
    fail_at: u64,
    calls: std::sync::Mutex<u64>,
}

impl Flaky {
    fn tick(&self) -> Result<(), StoreError> {
        let mut c = self.calls.lock().unwrap();
        *c += 1;
        if *c == self.fail_at {
            Err(StoreError::Unavailable("injected".into()))
        } else {
            Ok(())
        }
    }
}

impl Kv for Flaky {
    type Cas = <MemoryKv as Kv>::Cas;
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.tick()?;
        self.inner.get(key).await
    }
    async fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.tick()?;
        self.inner.set(key, value).await
    }
    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.tick()?;
        self.inner.delete(key).await
    }
    async fn get_many(&self, keys: &[String]) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.tick()?;
        self.inner.get_many(keys).await
    }
    async fn set_many(&self, pairs: &[(String, Vec<u8>)]) -> Result<(), StoreError> {
        self.tick()?;
        self.inner.set_many(pairs).await
    }
    async fn delete_many(&self, keys: &[String]) -> Result<(), StoreError> {
        self.tick()?;
        self.inner.delete_many(keys).await
    }
    async fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        self.tick()?;
        self.inner.increment(key, delta).await
    }
    async fn watch(&self, key: &str) -> Result<(Option<Vec<u8>>, Self::Cas), StoreError> {
        self.tick()?;
        self.inner.watch(key).await
    }
    async fn swap(&self, cas: Self::Cas, value: &[u8]) -> Result<bool, StoreError> {
        self.tick()?;
        self.inner.swap(cas, value).await
    }
}

#[test]
fn a_failure_at_any_call_then_a_retry_counts_exactly_once() {
    for fail_at in 1..=8 {
        let kv = Flaky {
            inner: MemoryKv::default(),
            fail_at,
            calls: std::sync::Mutex::new(0),
        };
        let first = block_on(ingest(&kv, batch(hundred()), NOW));
        let retry = block_on(ingest(&kv, batch(hundred()), NOW + 5)).unwrap();
        let total = block_on(campaign_totals(
            &kv.inner,
            "c1",
            NOW - DAY_SECS,
            NOW + DAY_SECS,
            HOUR_SECS,
            None,
        ))
        .unwrap();
        assert_eq!(
            total.by_kind.values().sum::<i64>(),
            100,
            "fail at {fail_at}: {first:?} {retry:?}"
        );
        // A retry re-batched differently still counts nothing twice.
        let mixed: Vec<Sample> = hundred()
            .into_iter()
            .skip(50)
            .chain([sample("z", Some("c1"), "opened", NOW)])
            .collect();
        block_on(ingest(&kv, batch(mixed), NOW + 6)).unwrap();
        let total = block_on(campaign_totals(
            &kv.inner,
            "c1",
            NOW - DAY_SECS,
            NOW + DAY_SECS,
            HOUR_SECS,
            None,
        ))
        .unwrap();
        assert_eq!(
            total.by_kind.values().sum::<i64>(),
            101,
            "fail at {fail_at}"
        );
    }
}

#[test]
fn cleanup_removes_expired_markers_and_keeps_counters() {
    let kv = MemoryKv::default();
    block_on(ingest(&kv, batch(hundred()), NOW)).unwrap();
    let early = block_on(cleanup(&kv, NOW + 3 * DAY_SECS, 10)).unwrap();
    assert!(early.days.is_empty());
    let later = NOW + 5 * DAY_SECS;
    let report = block_on(cleanup(&kv, later, 10)).unwrap();
    assert_eq!(
        (report.days.len(), report.batches, report.markers),
        (1, 1, 100)
    );
    assert!(
        kv.keys()
            .iter()
            .all(|k| !k.starts_with("wh:m:") && !k.starts_with("wh:b:")),
        "{:?}",
        kv.keys()
    );
    assert_eq!(opened(&kv), 100);
    let again = block_on(cleanup(&kv, later, 10)).unwrap();
    assert!(again.days.is_empty());
}

/// What the webhook verifiers rely on: a delivery admitted within the replay
/// window is still a known duplicate, whenever in its day it was first received
/// and whenever the cleanup pass runs.
#[test]
fn markers_outlive_the_replay_window_whatever_the_time_of_receipt() {
    use opsflow_domain::webhooks::{DEDUPE_RETENTION_SECS, REPLAY_WINDOW_SECS};
    let day_start = NOW - NOW.rem_euclid(DAY_SECS);
    for received in [
        day_start,
        day_start + DAY_SECS / 2,
        day_start + DAY_SECS - 1,
    ] {
        let kv = MemoryKv::default();
        let one = || batch(vec![sample("e1", Some("c1"), "opened", NOW)]);
        assert_eq!(block_on(ingest(&kv, one(), received)).unwrap().accepted, 1);
        // The latest replay any platform admits (signed at receipt, plus the
        // clock skew it may have been signed ahead of us), after a cleanup then.
        let latest = received + REPLAY_WINDOW_SECS + 300;
        block_on(cleanup(&kv, latest, 10)).unwrap();
        let replay = block_on(ingest(&kv, one(), latest)).unwrap();
        assert_eq!((replay.accepted, replay.duplicates), (0, 1), "{received}");
        // The retention itself holds too.
        block_on(cleanup(&kv, received + DEDUPE_RETENTION_SECS, 10)).unwrap();
        let replay = block_on(ingest(&kv, one(), received + DEDUPE_RETENTION_SECS)).unwrap();
        assert_eq!(replay.duplicates, 1, "{received}");
        assert_eq!(opened(&kv), 1);
    }
    assert_eq!(RETENTION_DAYS, 4);
    assert_eq!(APPLY_WINDOW_SECS, DEDUPE_RETENTION_SECS);
}

/// design.md §4: every batch within 10 KV calls (here without the store open),
/// across hour and day boundaries where hours close and registries grow.
#[test]
fn every_batch_stays_within_the_call_budget_across_hours_and_days() {
    let kv = MemoryKv::default();
    let day_start = NOW - NOW.rem_euclid(DAY_SECS);
    let mut costs = Vec::new();
    for h in 0..30 {
        for b in 0..2 {
            let now = day_start + 20 * HOUR_SECS + h * HOUR_SECS + 60 * b;
            let samples = (0..100)
                .map(|i| sample(&format!("h{h}b{b}e{i}"), Some("c1"), "opened", now + 30))
                .collect();
            let before = kv.calls();
            block_on(ingest(&kv, batch(samples), now)).unwrap();
            costs.push(kv.calls() - before);
        }
    }
    assert!(costs.iter().all(|c| *c <= 9), "{costs:?}");
    // The second batch of each hour is the steady state: get_many, set_many,
    // rollup CAS read and write (after a day's first batch, which leaves the due
    // hour open, it closes that hour: 2 more).
    let steady: Vec<u64> = costs.iter().skip(1).step_by(2).copied().collect();
    assert_eq!(steady.iter().filter(|c| **c == 4).count(), 28, "{costs:?}");
    assert_windows_agree(&kv, "c1", day_start + 50 * HOUR_SECS);
    let all = block_on(campaign_totals(
        &kv,
        "c1",
        day_start,
        day_start + 3 * DAY_SECS,
        HOUR_SECS,
        None,
    ))
    .unwrap();
    assert_eq!(all.by_kind["opened"], 6_000);
}

/// A store that lets another writer's whole ingest run just before the first
/// compare-and-swap of `key` lands: the interleaving two concurrent batches meet.
struct Interleaved<'a> {
    inner: &'a MemoryKv,
    key: &'static str,
    other: std::sync::Mutex<Option<(Batch<'static>, i64)>>,
}

impl Kv for Interleaved<'_> {
    type Cas = (String, <MemoryKv as Kv>::Cas);

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(key).await
    }
    async fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.inner.set(key, value).await
    }
    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.inner.delete(key).await
    }
    async fn get_many(&self, keys: &[String]) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.inner.get_many(keys).await
    }
    async fn set_many(&self, pairs: &[(String, Vec<u8>)]) -> Result<(), StoreError> {
        self.inner.set_many(pairs).await
    }
    async fn delete_many(&self, keys: &[String]) -> Result<(), StoreError> {
        self.inner.delete_many(keys).await
    }
    async fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        self.inner.increment(key, delta).await
    }
    async fn watch(&self, key: &str) -> Result<(Option<Vec<u8>>, Self::Cas), StoreError> {
        let (value, cas) = self.inner.watch(key).await?;
        Ok((value, (key.to_string(), cas)))
    }
    async fn swap(&self, (key, cas): Self::Cas, value: &[u8]) -> Result<bool, StoreError> {
        let other = match self.other.lock() {
            Ok(mut o) if key == self.key => o.take(),
            _ => None,
        };
        if let Some((batch, now)) = other {
            ingest(self.inner, batch, now).await?;
        }
        self.inner.swap(cas, value).await
    }
}

#[test]
fn a_batch_counted_in_an_hour_while_another_write_closes_it_is_kept() {
    let kv = MemoryKv::default();
    let hour = NOW - NOW.rem_euclid(HOUR_SECS);
    let one = |id: &str, at: i64| batch(vec![sample(id, Some("c1"), "opened", at)]);
    let opened = |kv: &MemoryKv| {
        block_on(campaign_totals(
            kv,
            "c1",
            hour,
            hour + 4 * HOUR_SECS,
            HOUR_SECS,
            None,
        ))
        .unwrap()
        .by_kind["opened"]
    };
    let later = hour + 3 * HOUR_SECS;
    block_on(ingest(&kv, one("a", hour + 10), hour + 20)).unwrap();
    // Three hours on, the first batch of the new hour registers it (and leaves
    // due hours for the next write)...
    block_on(ingest(&kv, one("first", later + 5), later + 10)).unwrap();
    // ... and the next one closes that hour: it merges the open hour into its
    // hour record, and just before its rollup write lands, a batch with a late
    // event of the same hour adds to the still open hour.
    let racing = Interleaved {
        inner: &kv,
        key: "met:r:c1",
        other: std::sync::Mutex::new(Some((one("late", hour + 30), later + 30))),
    };
    block_on(ingest(&racing, one("now", later + 50), later + 60)).unwrap();
    assert!(racing.other.lock().unwrap().is_none(), "the late batch ran");
    assert_eq!(opened(&kv), 4);
    assert_windows_agree(&kv, "c1", later + 120);
    // And once the cleanup pass has closed everything, still four.
    block_on(cleanup(&kv, hour + 5 * DAY_SECS, 10)).unwrap();
    assert_eq!(opened(&kv), 4);
}
