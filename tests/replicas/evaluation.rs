//! The scheduler's work posted to every replica at once: one evaluation per tick,
//! one trigger per episode, one execution per action.

use crate::builders::{
    SECRET, bounce_rule, campaign, create_rule, disable_defaults, dispatch, email_bounces, notify,
    run, trigger,
};
use crate::cluster::{Cluster, on_every};
use crate::receiver::Receiver;
use crate::support::{SCHEDULER_TOKEN, now_secs};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn one_tick_on_every_replica_evaluates_once_and_every_action_runs_once() {
    let Some(cluster) =
        Cluster::start_with("rep-eval", 3, &[("notify_signing_secret", SECRET)]).await
    else {
        return;
    };
    let first = cluster.replica(0);
    disable_defaults(first).await;
    let hook = Receiver::spawn().await;
    let now = now_secs();
    // Three breaching campaigns, each set up through a different replica.
    for i in 0..3 {
        let app = cluster.replica(i);
        let c = campaign(app).await;
        create_rule(app, bounce_rule(&c, notify(&hook), json!({}))).await;
        email_bounces(app, &c, now, 20).await;
    }

    let ticks = on_every(&cluster, |app| run(app, SCHEDULER_TOKEN, now)).await;
    let ran: Vec<_> = ticks.iter().filter(|r| r.status == 200).collect();
    assert_eq!(ran.len(), 1, "one replica evaluates the tick: {ticks:?}");
    assert!(
        ticks.iter().all(|r| r.status == 200 || r.status == 409),
        "the others find it taken: {ticks:?}"
    );
    assert_eq!(ran[0].json()["fired"], json!(3), "{}", ran[0].body);
    let runs = first
        .get("/api/evaluations/runs", "viewer-token")
        .await
        .json();
    assert_eq!(runs["items"].as_array().map(Vec::len), Some(1), "{runs}");

    // The next tick, everywhere: still breaching, the same episodes, no new trigger.
    let next = on_every(&cluster, |app| run(app, SCHEDULER_TOKEN, now + 60)).await;
    let fired: i64 = next.iter().filter_map(|r| r.json()["fired"].as_i64()).sum();
    assert_eq!(fired, 0, "{next:?}");

    // Every replica dispatches at once, twice: each notification goes out once.
    for at in [now + 61, now + 62] {
        let sent = on_every(&cluster, |app| dispatch(app, at)).await;
        assert!(sent.iter().all(|r| r.status == 200), "{sent:?}");
    }
    assert_eq!(hook.count(), 3, "each action executed exactly once");
    let triggers = first
        .get("/api/triggers?status=succeeded", "viewer-token")
        .await
        .json();
    let items = triggers["items"].as_array().expect("items");
    assert_eq!(items.len(), 3, "{triggers}");
    for t in items {
        let t = trigger(cluster.replica(2), t["id"].as_str().expect("id")).await;
        assert_eq!(
            (t["status"].clone(), t["attempts"].clone()),
            (json!("succeeded"), json!(1))
        );
    }
}
