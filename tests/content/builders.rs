//! Builders and requests the content tests share: a campaign to produce for, an
//! email item, and the calls that create, act on and read items.

use crate::support::{App, MIA, OLGA, Reply, VIC, now_secs, rfc3339};
use serde_json::{Value, json};

pub const LINK: &str =
    "https://acme.test/spring?utm_source=news&utm_medium=email&utm_campaign=spring";

/// A campaign with `channels`, running from `start` to `end` (unix seconds).
pub async fn campaign_between(app: &App, channels: &[&str], start: i64, end: i64) -> String {
    let chans: Vec<Value> = channels
        .iter()
        .map(|c| json!({"channel": c, "budget_minor": 100_000}))
        .collect();
    let r = app
        .post(
            "/api/campaigns",
            MIA,
            json!({
                "name": "Spring launch",
                "marketing_owner": "mia",
                "operations_owner": "olga",
                "channels": chans,
                "schedule": {"start": rfc3339(start), "end": rfc3339(end)},
            }),
        )
        .await;
    assert_eq!(r.status, 201, "campaign create: {}", r.body);
    r.json()["id"].as_str().expect("campaign id").to_string()
}

pub async fn campaign(app: &App, channels: &[&str]) -> String {
    let now = now_secs();
    campaign_between(app, channels, now + 86_400, now + 15 * 86_400).await
}

pub fn email(campaign: &str) -> Value {
    json!({
        "campaign_id": campaign,
        "channel": "email",
        "title": "Spring sale",
        "subject": "Spring is here",
        "body": format!("Our spring range is in. Shop now: {LINK}"),
        "links": [LINK],
    })
}

pub async fn create(app: &App, token: &str, body: Value) -> (String, Value) {
    let r = app.post("/api/content", token, body).await;
    assert_eq!(r.status, 201, "content create: {}", r.body);
    let v = r.json();
    (v["id"].as_str().expect("id").to_string(), v)
}

pub async fn act(app: &App, token: &str, id: &str, what: &str, body: Value) -> Reply {
    app.post(&format!("/api/content/{id}/{what}"), token, body)
        .await
}

pub async fn approve(app: &App, token: &str, id: &str) -> Reply {
    act(app, token, id, "decisions", json!({"outcome": "approve"})).await
}

pub async fn get(app: &App, id: &str) -> Value {
    let r = app.get(&format!("/api/content/{id}"), VIC).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

/// `(actor, action)` of every audit entry of an item.
pub async fn actions(app: &App, id: &str) -> Vec<(String, String)> {
    app.audit(&format!("/api/content/{id}/audit"), VIC)
        .await
        .into_iter()
        .map(|(action, actor)| (actor, action))
        .collect()
}

pub async fn put_policy(app: &App, channel: &str, body: Value) {
    let r = app
        .send(
            "PUT",
            &format!("/api/content/channels/{channel}"),
            Some(OLGA),
            Some(body),
            &[("if-match", "\"0\"")],
        )
        .await;
    assert_eq!(r.status, 200, "policy: {}", r.body);
}
