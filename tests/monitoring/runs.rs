//! Evaluation runs: each category on its cadence, catch-up once, one evaluation per
//! `now`, no data is not fine, and alert state across a restart.

use crate::builders::{
    SECRET, bounce_rule, campaign, create_rule, disable_defaults, half_bounced, run, start,
};
use crate::support::{App, Reply, SCHEDULER_TOKEN, now_secs, state_dir};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread")]
async fn runs_follow_each_category_cadence_and_catch_up_once() {
    let app = start("mon-cadence").await;
    let t0 = 1_800_000_000 - 1_800_000_000 % 86_400 + 600; // 00:10 UTC
    let cats = |r: &Reply| -> Vec<String> {
        r.json()["categories"]
            .as_array()
            .expect("categories")
            .iter()
            .map(|c| c.as_str().unwrap_or_default().to_string())
            .collect()
    };
    let first = run(&app, SCHEDULER_TOKEN, t0).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(
        cats(&first).len(),
        4,
        "the first run evaluates every category"
    );
    assert_eq!(first.json()["requested_by"], json!("system:scheduler"));

    let minute = run(&app, "operations-token", t0 + 60).await;
    assert_eq!(
        cats(&minute),
        ["campaign_performance", "distribution_success"]
    );
    let hour = run(&app, "operations-token", t0 + 3_600).await;
    assert!(cats(&hour).contains(&"content_engagement".to_string()));
    assert!(!cats(&hour).contains(&"resource_utilization".to_string()));

    // Two days and five hours missed: one run catches every category up once.
    let late = run(&app, "operations-token", t0 + 2 * 86_400 + 5 * 3_600).await;
    assert_eq!(cats(&late).len(), 4);
    let next = run(&app, "operations-token", t0 + 2 * 86_400 + 5 * 3_600 + 60).await;
    assert_eq!(cats(&next).len(), 2);

    // Replaying a `now` already run is refused, and changes nothing.
    let again = run(&app, "operations-token", t0 + 60).await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(
        again.json()["type"]
            .as_str()
            .unwrap_or_default()
            .ends_with("run-already-claimed")
    );

    assert_eq!(run(&app, "marketing-token", t0 + 999_999).await.status, 403);
    let bad = app
        .post(
            "/api/evaluations/run",
            "operations-token",
            json!({"now": "yesterday"}),
        )
        .await;
    assert_eq!(bad.status, 422);

    let runs = app.get("/api/evaluations/runs", "viewer-token").await;
    assert_eq!(runs.status, 200);
    let items = runs.json()["items"].as_array().expect("items").clone();
    assert_eq!(items.len(), 5, "every run recorded once");
    assert_eq!(
        items[0]["now"],
        json!(t0 + 2 * 86_400 + 5 * 3_600 + 60),
        "newest first"
    );
    let one = app
        .get(
            &format!(
                "/api/evaluations/runs/{}",
                items[0]["id"].as_str().expect("id")
            ),
            "viewer-token",
        )
        .await;
    assert_eq!(one.status, 200);
    assert!(one.json()["duration_ms"].as_i64().is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn overlapping_runs_for_the_same_now_evaluate_once() {
    let app = start("mon-overlap").await;
    let now = now_secs();
    let (a, b) = tokio::join!(
        run(&app, SCHEDULER_TOKEN, now),
        run(&app, "operations-token", now)
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "{} / {}", a.body, b.body);
    let runs = app
        .get("/api/evaluations/runs", "viewer-token")
        .await
        .json();
    assert_eq!(runs["items"].as_array().expect("items").len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_campaign_without_metrics_is_no_data_not_fine() {
    let app = start("mon-nodata").await;
    disable_defaults(&app).await;
    let c = campaign(&app).await;
    create_rule(
        &app,
        bounce_rule(
            &c,
            json!({"kind": "notify", "url": "https://hooks.example.com/x"}),
            json!({}),
        ),
    )
    .await;
    let r = run(&app, "operations-token", now_secs()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["no_data"], json!(1));
    assert_eq!(r.json()["fired"], json!(0));
    let alerts = app
        .get(
            &format!("/api/evaluations/alerts?campaign_id={c}"),
            "viewer-token",
        )
        .await;
    assert_eq!(alerts.status, 200, "{}", alerts.body);
    let items = alerts.json()["items"].as_array().expect("items").clone();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["state"], json!("no_data"));
    assert_eq!(items[0]["value"], Value::Null);
}

#[tokio::test(flavor = "multi_thread")]
async fn alert_state_survives_a_restart_between_runs() {
    let state = state_dir("mon-restart");
    let vars = [("notify_signing_secret", SECRET)];
    let app = App::start_in(&state, &vars).await;
    disable_defaults(&app).await;
    let c = campaign(&app).await;
    create_rule(
        &app,
        bounce_rule(
            &c,
            json!({"kind": "notify", "url": "https://hooks.example.com/x"}),
            json!({"for": 2}),
        ),
    )
    .await;
    let now = now_secs();
    half_bounced(&app, &c, now).await;
    let first = run(&app, "operations-token", now).await;
    assert_eq!(first.json()["pending"], json!(1), "{}", first.body);
    // Stopped here: shadowing `app` would keep this one running to the end of the
    // test, and the restart below opens the same state directory.
    app.stop().await;

    let app = App::start_in(&state, &vars).await;
    let again = run(&app, "operations-token", now).await;
    assert_eq!(again.status, 409, "the claim survives too");
    let second = run(&app, "operations-token", now + 60).await;
    assert_eq!(second.json()["fired"], json!(1), "{}", second.body);
    let alerts = app
        .get(
            &format!("/api/evaluations/alerts?campaign_id={c}"),
            "viewer-token",
        )
        .await
        .json();
    assert_eq!(alerts["items"][0]["state"], json!("firing"));
    assert_eq!(alerts["items"][0]["breaches"], json!(2));
}
