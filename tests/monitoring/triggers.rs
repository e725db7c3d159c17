//! The trigger outbox: a breach fires one signed notification, failed deliveries back
//! off then dead-letter and replay, and an action waits for a second operations user.

use crate::builders::{
    SECRET, bounce_rule, campaign, create_rule, disable_defaults, dispatch, email_bounces,
    half_bounced, notify, run, samples, start, trigger,
};
use crate::receiver::Receiver;
use crate::support::now_secs;
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn a_breach_fires_one_signed_notification_delivered_once_then_resolves() {
    let app = start("mon-episode").await;
    disable_defaults(&app).await;
    let hook = Receiver::spawn().await;
    let c = campaign(&app).await;
    create_rule(&app, bounce_rule(&c, notify(&hook), json!({}))).await;
    let now = now_secs();
    email_bounces(&app, &c, now, 20).await;
    let fired = run(&app, "operations-token", now).await;
    assert_eq!(fired.status, 200, "{}", fired.body);
    assert_eq!(fired.json()["fired"], json!(1), "{}", fired.body);
    let tid = fired.json()["triggers"][0]
        .as_str()
        .expect("trigger")
        .to_string();

    // Still breaching: the same episode, no second trigger.
    let still = run(&app, "operations-token", now + 60).await;
    assert_eq!(still.json()["fired"], json!(0));
    assert_eq!(still.json()["firing"], json!(1));

    // Two dispatchers at once: the notification goes out exactly once.
    let (d1, d2) = tokio::join!(dispatch(&app, now + 61), dispatch(&app, now + 61));
    assert_eq!(
        (d1.status, d2.status),
        (200, 200),
        "{} / {}",
        d1.body,
        d2.body
    );
    assert_eq!(hook.count(), 1);
    let bodies = hook.verify_all();
    assert!(
        bodies[0]["text"]
            .as_str()
            .unwrap_or_default()
            .contains("bounce watch")
    );
    let t = trigger(&app, &tid).await;
    assert_eq!(t["status"], json!("succeeded"));
    assert_eq!(t["attempts"], json!(1));
    assert_eq!(
        dispatch(&app, now + 600).await.json()["attempted"],
        json!(0)
    );
    assert_eq!(hook.count(), 1);

    // Healthy again (20 / 1100 < 0.05): the episode resolves.
    samples(
        &app,
        &c,
        json!([{"id": "s3", "kind": "sent", "value": 1000, "at": now - 30, "channel": "email"}]),
    )
    .await;
    let resolved = run(&app, "operations-token", now + 120).await;
    assert_eq!(resolved.json()["resolved"], json!(1), "{}", resolved.body);
    let alerts = app
        .get(
            &format!("/api/evaluations/alerts?campaign_id={c}"),
            "viewer-token",
        )
        .await
        .json();
    assert_eq!(alerts["items"][0]["state"], json!("resolved"));
    assert_eq!(alerts["items"][0]["episode"], json!(1));

    // Fired, executed and resolved are in the campaign's audit log.
    let audit = app
        .get(&format!("/api/campaigns/{c}/audit"), "operations-token")
        .await;
    assert_eq!(audit.status, 200, "{}", audit.body);
    for a in ["alert.fired", "trigger.executed", "alert.resolved"] {
        assert!(audit.body.contains(a), "{a} audited: {}", audit.body);
    }
    // The fired entry of an automatic trigger is written once (two dispatchers
    // raced), with the first attempt's, dated when the alert fired.
    let entries = audit.json()["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let of = |action: &str| -> Vec<serde_json::Value> {
        entries
            .iter()
            .filter(|e| e["action"] == json!(action))
            .cloned()
            .collect()
    };
    let (fired_entries, executed) = (of("alert.fired"), of("trigger.executed"));
    assert_eq!(fired_entries.len(), 1, "{}", audit.body);
    let f = &fired_entries[0];
    assert_eq!(f["detail"]["trigger_id"], json!(tid), "{f}");
    assert_eq!(f["detail"]["episode"], json!(1), "{f}");
    assert!(
        f["actor"]
            .as_str()
            .unwrap_or_default()
            .starts_with("system:threshold-check"),
        "{f}"
    );
    let fired_at = chrono::DateTime::from_timestamp(now, 0).map(|d| d.to_rfc3339());
    assert_eq!(f["at"].as_str(), fired_at.as_deref(), "{f}");
    assert_eq!(
        f["seq"].as_u64().map(|s| s + 1),
        executed[0]["seq"].as_u64(),
        "{}",
        audit.body
    );
    // The campaign's success report counts them: one episode, one action.
    let report = app
        .get(&format!("/api/campaigns/{c}/report"), "viewer-token")
        .await
        .json();
    assert_eq!(report["triggers_fired"], json!(1), "{report}");
    assert_eq!(report["actions_taken"], json!(1), "{report}");
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_deliveries_back_off_then_dead_letter_and_replay_delivers_once() {
    if crate::support::needs_in_process_host("fault injection") {
        return;
    }
    let app = start("mon-retry").await;
    disable_defaults(&app).await;
    let hook = Receiver::spawn().await;
    let c = campaign(&app).await;
    create_rule(
        &app,
        bounce_rule(&c, notify(&hook), json!({"max_attempts": 3, "for": 1})),
    )
    .await;
    let now = now_secs();
    half_bounced(&app, &c, now).await;
    let r = run(&app, "operations-token", now).await;
    let tid = r.json()["triggers"][0]
        .as_str()
        .expect("trigger")
        .to_string();

    // Attempt 1: outbound refused by the host.
    app.host().faults().refuse_outbound(true);
    let d = dispatch(&app, now).await;
    assert_eq!(d.json()["attempted"], json!(1), "{}", d.body);
    app.host().faults().refuse_outbound(false);
    let t = trigger(&app, &tid).await;
    assert_eq!(t["status"], json!("pending"));
    let next = t["next_attempt_at"].as_i64().expect("next");
    assert!(
        (now + 15..=now + 30).contains(&next),
        "first backoff {next} - {now}"
    );
    assert_eq!(
        dispatch(&app, next - 1).await.json()["attempted"],
        json!(0),
        "not due yet"
    );

    // Attempts 2 and 3: the endpoint answers 500.
    hook.fail_next(&[500, 500]);
    assert_eq!(dispatch(&app, next).await.json()["attempted"], json!(1));
    let t = trigger(&app, &tid).await;
    let next2 = t["next_attempt_at"].as_i64().expect("next");
    assert!(
        (next + 30..=next + 60).contains(&next2),
        "second backoff grows"
    );
    assert_eq!(dispatch(&app, next2).await.json()["attempted"], json!(1));
    let t = trigger(&app, &tid).await;
    assert_eq!(t["status"], json!("dead_letter"), "{t}");
    assert_eq!(t["attempts"], json!(3));
    assert_eq!(hook.count(), 2);

    let dead = app
        .get("/api/triggers?status=dead_letter", "viewer-token")
        .await;
    assert_eq!(dead.json()["items"][0]["id"], json!(tid));
    assert_eq!(
        dispatch(&app, next2 + 100_000).await.json()["attempted"],
        json!(0)
    );

    // Replay: due at once, delivered once.
    let replay_path = format!("/api/triggers/{tid}/replay");
    assert_eq!(
        app.post(&replay_path, "marketing-token", json!({}))
            .await
            .status,
        403
    );
    let replayed = app.post(&replay_path, "operations-token", json!({})).await;
    assert_eq!(replayed.status, 200, "{}", replayed.body);
    let later = now_secs().max(next2) + 1;
    assert_eq!(dispatch(&app, later).await.json()["attempted"], json!(1));
    assert_eq!(trigger(&app, &tid).await["status"], json!("succeeded"));
    assert_eq!(hook.count(), 3);
    assert_eq!(hook.verify_all().len(), 3, "every attempt was signed");
    assert_eq!(
        app.post(&replay_path, "operations-token", json!({}))
            .await
            .status,
        409
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn approval_waits_for_an_operations_user_other_than_the_requester() {
    let app = start("mon-approval").await;
    disable_defaults(&app).await;
    let hook = Receiver::spawn().await;
    let c = campaign(&app).await;
    create_rule(
        &app,
        bounce_rule(&c, notify(&hook), json!({"approval": "requires_approval"})),
    )
    .await;
    let now = now_secs();
    half_bounced(&app, &c, now).await;
    let r = run(&app, "operations-token", now).await; // olga requests
    let tid = r.json()["triggers"][0]
        .as_str()
        .expect("trigger")
        .to_string();
    assert_eq!(
        trigger(&app, &tid).await["status"],
        json!("awaiting_approval")
    );
    assert_eq!(dispatch(&app, now + 10).await.json()["attempted"], json!(0));
    assert_eq!(hook.count(), 0);

    let approve = format!("/api/triggers/{tid}/approve");
    let own = app.post(&approve, "operations-token", json!({})).await;
    assert_eq!(
        own.status, 403,
        "the requester may not approve: {}",
        own.body
    );
    assert_eq!(
        app.post(&approve, "viewer-token", json!({})).await.status,
        403
    );
    assert_eq!(
        app.post(&approve, "marketing-token", json!({}))
            .await
            .status,
        403
    );
    let ok = app.post(&approve, "operations2-token", json!({})).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.json()["decided_by"], json!("omar"));
    assert_eq!(
        app.post(&approve, "operations2-token", json!({}))
            .await
            .status,
        409
    );

    assert_eq!(
        dispatch(&app, now_secs() + 1).await.json()["attempted"],
        json!(1)
    );
    assert_eq!(hook.count(), 1);
    assert_eq!(trigger(&app, &tid).await["status"], json!("succeeded"));
}

/// A run's KV calls do not grow with the campaigns that fire in it: their triggers
/// and audit entries are written together, and an automatic trigger's
/// `alert.fired` entry takes its audit number at dispatch, so no campaign costs
/// an increment of its own.
#[tokio::test(flavor = "multi_thread")]
async fn a_run_costs_the_same_kv_calls_however_many_of_its_campaigns_fire() {
    if crate::support::needs_in_process_host("KV counters") {
        return;
    }
    let hook = Receiver::spawn().await;
    let mut calls = Vec::new();
    for firing in [1, 4] {
        // No cron ticks: only this test's run touches threshold-check.
        let app = crate::support::App::start_in(
            &crate::support::state_dir(&format!("mon-fire-{firing}")),
            &[("notify_signing_secret", SECRET), ("scheduler_token", "")],
        )
        .await;
        disable_defaults(&app).await;
        let now = now_secs();
        for i in 0..4 {
            let c = campaign(&app).await;
            create_rule(&app, bounce_rule(&c, notify(&hook), json!({}))).await;
            email_bounces(&app, &c, now, if i < firing { 20 } else { 0 }).await;
        }
        let before = app.host().stats().kv_total("threshold-check");
        let r = run(&app, "operations-token", now).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["fired"], json!(firing), "{}", r.body);
        calls.push(app.host().stats().kv_total("threshold-check") - before);
    }
    assert_eq!(calls[0], calls[1], "KV calls with 1 and 4 campaigns firing");
}
