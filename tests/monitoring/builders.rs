//! Builders and requests the monitoring tests share: the app with a signing secret,
//! a running campaign, metric samples, rules, runs and dispatches.

use crate::receiver::Receiver;
use crate::support::{self, App, Reply, now_secs, rfc3339};
use serde_json::{Value, json};

/// The Standard Webhooks documentation's example secret.
pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

pub async fn start(name: &str) -> App {
    App::start_in(
        &support::state_dir(name),
        &[("notify_signing_secret", SECRET)],
    )
    .await
}

pub async fn run(app: &App, token: &str, now: i64) -> Reply {
    app.post("/api/evaluations/run", token, json!({ "now": now }))
        .await
}

pub async fn dispatch(app: &App, now: i64) -> Reply {
    app.post(
        "/api/triggers/dispatch",
        support::SCHEDULER_TOKEN,
        json!({ "now": now }),
    )
    .await
}

/// A campaign running from yesterday for a month, on email (falling back to sms) and social.
pub async fn campaign(app: &App) -> String {
    let now = now_secs();
    let r = app
        .post(
            "/api/campaigns",
            "marketing-token",
            json!({
                "name": "Spring launch",
                "marketing_owner": "mia",
                "operations_owner": "olga",
                "channels": [
                    {"channel": "email", "budget_minor": 100000, "fallback_channels": ["sms"]},
                    {"channel": "social", "budget_minor": 50000}
                ],
                "schedule": {"start": rfc3339(now - 86_400), "end": rfc3339(now + 30 * 86_400)}
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()["id"].as_str().expect("id").to_string()
}

pub async fn samples(app: &App, campaign: &str, samples: Value) {
    let r = app
        .post(
            &format!("/api/campaigns/{campaign}/metrics"),
            "operations-token",
            json!({ "samples": samples }),
        )
        .await;
    assert!(r.status < 300, "metrics: {} {}", r.status, r.body);
}

/// 100 emails sent a minute before `now`, `bounced` of them bounced.
pub async fn email_bounces(app: &App, campaign: &str, now: i64, bounced: i64) {
    samples(
        app,
        campaign,
        json!([
            {"id": "s1", "kind": "sent", "value": 100, "at": now - 60, "channel": "email"},
            {"id": "s2", "kind": "bounced", "value": bounced, "at": now - 60, "channel": "email"}
        ]),
    )
    .await;
}

/// 10 sent a minute before `now` (on no channel), 5 of them bounced: a 50% bounce rate.
pub async fn half_bounced(app: &App, campaign: &str, now: i64) {
    samples(
        app,
        campaign,
        json!([
            {"id": "s1", "kind": "sent", "value": 10, "at": now - 60},
            {"id": "s2", "kind": "bounced", "value": 5, "at": now - 60}
        ]),
    )
    .await;
}

/// A bounce-rate rule on one campaign: (bounced)/(sent) over 2 hours > 0.1, clears < 0.05.
pub fn bounce_rule(campaign: &str, action: Value, extra: Value) -> Value {
    let mut rule = json!({
        "name": "bounce watch",
        "category": "distribution_success",
        "scope": {"kind": "campaign", "campaign_id": campaign},
        "metric": {"kind": "ratio", "numerator": ["bounced"], "denominator": ["sent"], "window_secs": 7200},
        "comparator": "gt",
        "fire_threshold": 0.1,
        "clear_threshold": 0.05,
        "action": action,
    });
    if let (Some(r), Some(e)) = (rule.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            r.insert(k.clone(), v.clone());
        }
    }
    rule
}

pub async fn create_rule(app: &App, rule: Value) -> String {
    let r = app
        .post("/api/evaluations/rules", "operations-token", rule)
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()["id"].as_str().expect("id").to_string()
}

/// Disables the shipped defaults so a test sees only its own rules.
pub async fn disable_defaults(app: &App) {
    let list = app
        .get("/api/evaluations/rules", "operations-token")
        .await
        .json();
    for r in list["items"].as_array().expect("items") {
        if r["builtin"] == json!(true) {
            let id = r["id"].as_str().expect("id");
            let mut body = r.clone();
            let o = body.as_object_mut().expect("object");
            for k in [
                "id",
                "version",
                "builtin",
                "created_by",
                "created_at",
                "updated_at",
            ] {
                o.remove(k);
            }
            o.insert("enabled".into(), json!(false));
            let etag = format!("\"{}\"", r["version"]);
            let put = app
                .send(
                    "PUT",
                    &format!("/api/evaluations/rules/{id}"),
                    Some("operations-token"),
                    Some(body),
                    &[("if-match", etag.as_str())],
                )
                .await;
            assert_eq!(put.status, 200, "{}", put.body);
        }
    }
}

pub fn notify(r: &Receiver) -> Value {
    json!({"kind": "notify", "url": r.url})
}

pub async fn trigger(app: &App, id: &str) -> Value {
    let r = app
        .get(&format!("/api/triggers/{id}"), "viewer-token")
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}
