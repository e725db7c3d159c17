//! Webhook ingest spread over replicas: exact totals with redelivered duplicates.

use crate::cluster::{Cluster, post_until_stored};
use crate::sendgrid;
use crate::support::now_secs;
use serde_json::{Value, json};

/// Events per batch and batches: 10,000 events.
const PER_BATCH: usize = 100;
const BATCHES: usize = 100;
/// Campaigns the events are spread over.
const CAMPAIGNS: usize = 10;

#[tokio::test(flavor = "multi_thread")]
async fn ten_thousand_events_with_a_fifth_redelivered_count_exactly_across_replicas() {
    let Some(cluster) = Cluster::start("rep-ingest", 3).await else {
        return;
    };
    let originals: Vec<Vec<Value>> = (0..BATCHES)
        .map(|b| {
            sendgrid::events(
                &format!("ev{b}"),
                &format!("c-{}", b % CAMPAIGNS),
                PER_BATCH,
            )
        })
        .collect();
    // A fifth of the events delivered again, mixed across batches as a platform's
    // retries mix them: every fifth event of every batch.
    let again: Vec<Value> = originals
        .iter()
        .flat_map(|events| events.iter().step_by(5).cloned())
        .collect();
    let mut bodies: Vec<Vec<u8>> = originals
        .iter()
        .chain(
            again
                .chunks(PER_BATCH)
                .map(<[Value]>::to_vec)
                .collect::<Vec<_>>()
                .iter(),
        )
        .map(|events| serde_json::to_vec(events).expect("json"))
        .collect();
    // Redeliveries interleaved with first deliveries, not all at the end.
    bodies.rotate_left(BATCHES / 2);
    assert_eq!(again.len(), BATCHES * PER_BATCH / 5);

    let sent = bodies.len();
    let started = std::time::Instant::now();
    cluster.send_all(bodies, 8, post_until_stored).await;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{sent} batches ({} events) over 3 replicas on one Redis, 8 at a time: {secs:.2} s, {:.0} events/s",
        sent * PER_BATCH,
        (sent * PER_BATCH) as f64 / secs
    );

    // Per campaign: 10 batches of 100 cycling delivered/open/click (34/33/33).
    for c in 0..CAMPAIGNS {
        let campaign = format!("c-{c}");
        let per = (BATCHES / CAMPAIGNS) as i64;
        let expected = json!({"delivered": 34 * per, "opened": 33 * per, "clicked": 33 * per});
        for replica in cluster.replicas() {
            assert_eq!(
                crate::cluster::totals(replica, &campaign, now_secs()).await,
                expected,
                "{campaign}, read on {}",
                replica.url("")
            );
        }
    }
}
