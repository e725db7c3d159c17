//! The effect of an automated action (`GET /api/analytics/effects`, served by
//! monitoring-api): the value its rule saw when it fired, and the same rule's
//! measurement 24 hours after the action, from counters placed around it; and
//! the trigger funnel the process figures count from the same events.

use crate::builders::{
    bounce_rule, campaign, create_rule, disable_defaults, dispatch, half_bounced, notify, run,
    samples, start,
};
use crate::receiver::Receiver;
use crate::support::{now_secs, read_csv, rfc3339};
use serde_json::json;

const VIEWER: &str = "viewer-token";

#[tokio::test(flavor = "multi_thread")]
async fn an_actions_effect_is_its_rules_measure_a_day_later() {
    let app = start("mon-effects").await;
    disable_defaults(&app).await;
    let hook = Receiver::spawn().await;
    let c = campaign(&app).await;
    create_rule(&app, bounce_rule(&c, notify(&hook), json!({}))).await;
    // Half past an hour, two days ago: 5 of 10 emails bounce, the rule fires
    // and its notification goes out a second later.
    let now = now_secs();
    let t = now - now.rem_euclid(3_600) - 2 * 86_400 + 1_800;
    half_bounced(&app, &c, t).await;
    let fired = run(&app, "operations-token", t).await;
    assert_eq!(fired.status, 200, "{}", fired.body);
    let tid = fired.json()["triggers"][0]
        .as_str()
        .expect("a trigger")
        .to_string();
    let d = dispatch(&app, t + 1).await;
    assert_eq!(d.json()["attempted"], json!(1), "{}", d.body);
    // Before the day is over, 2 of 100 bounce: inside the rule's two-hour
    // window that ends 24 hours after the action (and the first batch is not).
    samples(
        &app,
        &c,
        json!([
            {"id": "later-sent", "kind": "sent", "value": 100, "at": t + 86_400 - 600},
            {"id": "later-bounced", "kind": "bounced", "value": 2, "at": t + 86_400 - 600}
        ]),
    )
    .await;

    let r = app.get("/api/analytics/effects", VIEWER).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let items = r.json()["items"].clone();
    assert_eq!(items.as_array().map(Vec::len), Some(1), "{items}");
    let e = &items[0];
    assert_eq!(e["trigger_id"], json!(tid));
    assert_eq!(e["campaign_id"], json!(c));
    assert_eq!(e["before"], json!(0.5), "{e}");
    assert_eq!(e["after"], json!(0.02), "{e}");
    assert_eq!(e["acted_at"], json!(rfc3339(t + 1)), "{e}");

    let csv = app.get("/api/analytics/effects?format=csv", VIEWER).await;
    let (header, rows) = read_csv(&csv);
    assert_eq!(
        header,
        [
            "trigger_id",
            "campaign_id",
            "rule_id",
            "metric",
            "before",
            "after",
            "acted_at"
        ]
    );
    assert_eq!((&rows[0][4], &rows[0][5]), ("0.5", "0.02"));
    let marketing = app
        .get("/api/analytics/effects?team=marketing", VIEWER)
        .await;
    assert_eq!(marketing.json()["items"], json!([]), "{}", marketing.body);
    let bad = app.get("/api/analytics/effects?to=yesterday", VIEWER).await;
    assert_eq!(bad.status, 422, "{}", bad.body);

    // The process figures count the same trigger through the funnel.
    let f = app.get("/api/analytics/process", VIEWER).await.json();
    let funnel = &f["automation"]["triggers"];
    assert_eq!(funnel["fired"], json!(1), "{f}");
    assert_eq!(funnel["executed"], json!(1), "{f}");
    assert_eq!(funnel["succeeded"], json!(1), "{f}");
    assert_eq!(funnel["dead_lettered"], json!(0), "{f}");
    let to_action = &f["automation"]["firing_to_action"];
    assert_eq!(to_action["count"], json!(1), "{f}");
    assert_eq!(to_action["median_seconds"], json!(1), "{f}");
}
