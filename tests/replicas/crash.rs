//! A replica killed with SIGKILL mid-load: every event any replica acknowledged is
//! counted once the load is redelivered, and none twice.

use crate::cluster::{Cluster, totals};
use crate::sendgrid;
use crate::support::now_secs;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

const BATCHES: usize = 60;
const PER_BATCH: usize = 60;

#[tokio::test(flavor = "multi_thread")]
async fn a_replica_killed_mid_load_loses_no_acknowledged_event_and_counts_none_twice() {
    let Some(mut cluster) = Cluster::start("rep-crash", 2).await else {
        return;
    };
    let bodies: Vec<Vec<u8>> = (0..BATCHES)
        .map(|b| sendgrid::batch(&format!("k{b}"), "c-crash", PER_BATCH))
        .collect();
    let acked = Arc::new(AtomicUsize::new(0));
    // Every batch goes to replica 1 first; a failed or unanswered delivery is
    // retried on the other replica, as a platform retries a failed webhook.
    let load = {
        let (targets, acked) = (cluster.clients(), acked.clone());
        tokio::spawn(async move {
            let mut handles = Vec::new();
            for (i, body) in bodies.into_iter().enumerate() {
                let (targets, acked) = (targets.clone(), acked.clone());
                handles.push(tokio::spawn(async move {
                    tokio::time::sleep(std::time::Duration::from_millis(20 * i as u64)).await;
                    let mut attempt = 0;
                    loop {
                        let target = &targets[(1 + attempt) % targets.len()];
                        match target.post_sendgrid(body.clone()).await {
                            Some(200) => break,
                            _ => attempt += 1,
                        }
                        assert!(attempt < 50, "batch {i} never stored");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    }
                    acked.fetch_add(1, Ordering::SeqCst);
                }));
            }
            for h in handles {
                h.await.expect("sender");
            }
        })
    };
    // Kill replica 1 while batches are arriving on it.
    while acked.load(Ordering::SeqCst) < BATCHES / 4 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    cluster.kill(1);
    let at_kill = acked.load(Ordering::SeqCst);
    println!("replica 1 killed with {at_kill} of {BATCHES} batches acknowledged");
    assert!(at_kill < BATCHES, "the kill came mid-load");
    load.await.expect("load");
    cluster.restart(1).await;

    let per_kind = |n: usize| (BATCHES * n) as i64;
    let expected = json!({
        "delivered": per_kind(PER_BATCH.div_ceil(3)),
        "opened": per_kind(PER_BATCH / 3),
        "clicked": per_kind(PER_BATCH / 3),
    });
    for replica in cluster.replicas() {
        assert_eq!(totals(replica, "c-crash", now_secs()).await, expected);
    }
}
