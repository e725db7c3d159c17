//! Each rule category fires from posted metrics and its action runs through the
//! campaign workflow.

use crate::builders::{create_rule, disable_defaults, dispatch, run, samples, start};
use crate::support::{day, now_secs, rfc3339};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread")]
async fn each_category_fires_from_posted_metrics_and_its_action_runs_through_the_workflow() {
    if crate::support::needs_in_process_host("KV counters") {
        return;
    }
    let app = start("mon-actions").await;
    disable_defaults(&app).await;
    let now = now_secs();
    let c = {
        let r = app
            .post(
                "/api/campaigns",
                "marketing-token",
                json!({
                    "name": "Autumn", "marketing_owner": "mia", "operations_owner": "olga",
                    "objectives": [{"kpi": "conversions", "target": 1000.0, "deadline": rfc3339(now + 10 * 86_400)}],
                    "channels": [
                        {"channel": "email", "budget_minor": 100000, "fallback_channels": ["sms"]},
                        {"channel": "social", "budget_minor": 50000}
                    ],
                    "schedule": {"start": rfc3339(now - 86_400), "end": rfc3339(now + 20 * 86_400)}
                }),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.json()["id"].as_str().expect("id").to_string()
    };
    let scope = json!({"kind": "campaign", "campaign_id": c});
    let base = |category: &str,
                scope: Value,
                metric: Value,
                cmp: &str,
                fire: f64,
                clear: f64,
                action: Value| {
        json!({"name": format!("{category} test"), "category": category, "scope": scope, "metric": metric,
               "comparator": cmp, "fire_threshold": fire, "clear_threshold": clear, "action": action})
    };
    create_rule(
        &app,
        base(
            "campaign_performance",
            scope.clone(),
            json!({"kind": "kpi_pace"}),
            "lt",
            0.8,
            0.9,
            json!({"kind": "shift_budget", "max_shift_percent": 20}),
        ),
    )
    .await;
    create_rule(&app, base("distribution_success", json!({"kind": "campaign", "campaign_id": c, "each_channel": true}),
        json!({"kind": "ratio", "numerator": ["bounced", "dropped"], "denominator": ["sent"], "window_secs": 7200}),
        "gt", 0.1, 0.05, json!({"kind": "channel_failover", "max_shift_percent": 50}))).await;
    create_rule(&app, base("content_engagement", scope.clone(),
        json!({"kind": "baseline_change", "numerator": ["clicked"], "denominator": ["delivered"], "window_secs": 7200, "baseline_secs": 86400}),
        "lt", -0.3, -0.15, json!({"kind": "content_refresh"}))).await;
    create_rule(
        &app,
        base(
            "resource_utilization",
            json!({"kind": "resources"}),
            json!({"kind": "utilization", "horizon_days": 7}),
            "gt",
            1.0,
            0.95,
            json!({"kind": "rebalance_resources"}),
        ),
    )
    .await;

    // Metrics: slow conversions (mostly on email), email bouncing, clicks collapsing.
    samples(&app, &c, json!([
        {"id": "a1", "kind": "conversions", "value": 5, "at": now - 60, "channel": "email"},
        {"id": "a2", "kind": "conversions", "value": 50, "at": now - 60, "channel": "social"},
        {"id": "a3", "kind": "sent", "value": 100, "at": now - 60, "channel": "email"},
        {"id": "a4", "kind": "bounced", "value": 30, "at": now - 60, "channel": "email"},
        {"id": "a5", "kind": "delivered", "value": 1000, "at": now - 10 * 3_600, "channel": "social"},
        {"id": "a6", "kind": "clicked", "value": 100, "at": now - 10 * 3_600, "channel": "social"},
        {"id": "a7", "kind": "delivered", "value": 100, "at": now - 60, "channel": "social"},
        {"id": "a8", "kind": "clicked", "value": 2, "at": now - 60, "channel": "social"}
    ])).await;
    // Resources: one person booked 12 h/day against 8 h capacity, one free.
    let mut people = Vec::new();
    for name in ["Pat", "Sam"] {
        let r = app
            .post(
                "/api/resources",
                "operations-token",
                json!({"name": name, "kind": "person", "capacity_per_day": 8}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        people.push(r.json()["id"].as_str().expect("id").to_string());
    }
    let alloc = app
        .post("/api/resources/allocations", "operations-token",
            json!({"resource_id": people[0], "campaign_id": c, "from": day(now), "to": day(now + 2 * 86_400), "amount_per_day": 12}))
        .await;
    assert!(alloc.status < 300, "{}", alloc.body);

    let before = app.host().stats();
    let r = run(&app, "operations-token", now).await;
    let after_run = app.host().stats();
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["fired"], json!(4), "{}", r.body);

    let d = dispatch(&app, now + 1).await;
    let after_dispatch = app.host().stats();
    assert_eq!(d.json()["attempted"], json!(4), "{}", d.body);
    let run_calls = after_run.kv_total("threshold-check") - before.kv_total("threshold-check");
    let dispatch_calls =
        after_dispatch.kv_total("trigger-dispatch") - after_run.kv_total("trigger-dispatch");
    eprintln!(
        "KV calls: evaluation run (1 campaign, 4 rules, 4 fired) = {run_calls}; \
         dispatch of 4 triggers = {dispatch_calls} (+ campaign-intake's own for the chained calls)"
    );
    let quiet_before = app.host().stats().kv_total("threshold-check");
    let quiet = run(&app, "operations-token", now + 60).await;
    assert_eq!(quiet.json()["fired"], json!(0));
    let quiet_calls = app.host().stats().kv_total("threshold-check") - quiet_before;
    eprintln!(
        "KV calls: steady-state run (1 campaign, 2 due categories, nothing fired) = {quiet_calls}"
    );
    let list = app
        .get(&format!("/api/triggers?campaign_id={c}"), "viewer-token")
        .await
        .json();
    let mut by_kind = std::collections::BTreeMap::new();
    for t in list["items"].as_array().expect("items") {
        by_kind.insert(
            t["action"]["kind"].as_str().unwrap_or_default().to_string(),
            t.clone(),
        );
    }
    for k in ["shift_budget", "channel_failover", "content_refresh"] {
        assert_eq!(
            by_kind[k]["status"],
            json!("succeeded"),
            "{k}: {}",
            by_kind[k]
        );
    }
    assert_eq!(by_kind["shift_budget"]["result"]["from"], json!("email"));
    assert_eq!(by_kind["shift_budget"]["result"]["to"], json!("social"));
    let got = app
        .get(&format!("/api/campaigns/{c}"), "viewer-token")
        .await
        .json();
    let channels = got["channels"].as_array().expect("channels");
    let total: i64 = channels
        .iter()
        .map(|c| c["budget_minor"].as_i64().unwrap_or(0))
        .sum();
    assert_eq!(total, 150_000, "budget moved, never created: {channels:?}");
    assert!(
        channels.iter().any(|x| x["channel"] == json!("sms")),
        "failover activated sms"
    );

    let pool = app
        .get("/api/triggers?status=succeeded", "viewer-token")
        .await
        .json();
    let rebalance = pool["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|t| t["action"]["kind"] == json!("rebalance_resources"))
        .cloned()
        .expect("rebalance trigger");
    assert!(
        rebalance["result"]["proposal_id"].is_string(),
        "{rebalance}"
    );
    let proposals = app
        .get("/api/resources/rebalance-proposals", "operations-token")
        .await;
    assert!(
        proposals
            .body
            .contains(rebalance["result"]["proposal_id"].as_str().unwrap_or("?")),
        "{}",
        proposals.body
    );
}
