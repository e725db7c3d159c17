//! The scheduler on the host's cron: a fast-ticking copy of the manifest, and the
//! shipped manifest unedited on its minute tick.

use crate::builders::{bounce_rule, campaign, create_rule, disable_defaults, email_bounces};
use crate::support::{App, now_secs, options_with_edits, shipped_options, state_dir};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread")]
async fn the_cron_scheduler_drives_evaluation_and_dispatch() {
    // The shipped manifest ticks every minute; a copy ticking every second (with
    // absolute sources) runs the same scheduler component through the host's cron.
    let state = state_dir("mon-cron");
    std::fs::create_dir_all(&state).expect("state dir");
    let opts = options_with_edits(
        &state,
        &[],
        &[(
            "cron_expression = \"0 * * * * *\"",
            "cron_expression = \"* * * * * *\"",
        )],
    );
    let app = App::up(opts).await;
    let mut seen = Value::Null;
    for _ in 0..40 {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        seen = app
            .get("/api/evaluations/runs", "viewer-token")
            .await
            .json();
        if seen["items"].as_array().is_some_and(|a| a.len() >= 2) {
            break;
        }
    }
    let items = seen["items"].as_array().expect("items");
    assert!(items.len() >= 2, "cron ticks ran evaluations: {seen}");
    assert_eq!(items[0]["requested_by"], json!("system:scheduler"));
    let now = items[0]["now"].as_i64().expect("now");
    assert!(
        (now - now_secs()).abs() < 30,
        "the tick's timestamp is the run's now"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_shipped_manifest_under_cron_evaluates_dispatches_and_audits_an_action() {
    // The shipped spin.toml, unedited, with all five components: the scheduler's
    // minute tick reaches the routes by ordinary HTTP at scheduler_base_url (the
    // cron trigger has no service chaining), and trigger-dispatch's action reaches
    // campaign-intake by chaining (the HTTP trigger has it).
    let state = state_dir("mon-shipped-cron");
    // Every component starts from the shipped manifest.
    let app = App::up(shipped_options(&state)).await;
    disable_defaults(&app).await;
    let c = campaign(&app).await;
    let rule = bounce_rule(
        &c,
        json!({"kind": "channel_failover", "max_shift_percent": 50}),
        json!({"scope": {"kind": "campaign", "campaign_id": c, "each_channel": true}}),
    );
    create_rule(&app, rule).await;
    email_bounces(&app, &c, now_secs(), 40).await;

    // The next tick comes at second 0 of a minute.
    let mut triggers = Value::Null;
    for _ in 0..90 {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        triggers = app
            .get(&format!("/api/triggers?campaign_id={c}"), "viewer-token")
            .await
            .json();
        if triggers["items"][0]["status"] == json!("succeeded") {
            break;
        }
    }
    let t = &triggers["items"][0];
    assert_eq!(t["status"], json!("succeeded"), "{triggers}");
    assert_eq!(t["action"]["kind"], json!("channel_failover"));
    let runs = app
        .get("/api/evaluations/runs", "viewer-token")
        .await
        .json();
    assert_eq!(runs["items"][0]["requested_by"], json!("system:scheduler"));
    let got = app
        .get(&format!("/api/campaigns/{c}"), "viewer-token")
        .await
        .json();
    assert!(
        got["channels"]
            .as_array()
            .expect("channels")
            .iter()
            .any(|x| x["channel"] == json!("sms")),
        "failover activated sms: {got}"
    );
    let audit = app
        .audit(&format!("/api/campaigns/{c}/audit"), "viewer-token")
        .await;
    assert!(
        audit
            .iter()
            .any(|(action, actor)| actor == "system:scheduler" && action == "campaign.updated"),
        "the automated change is audited: {audit:?}"
    );
}
