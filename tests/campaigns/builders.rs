//! Builders and requests the campaign tests share: a valid campaign, people and
//! allocations, and the calls that create, move and approve them.

use crate::support::{App, MIA, OLGA, Reply, VIC};
use serde_json::{Value, json};

/// A valid campaign for March 2030: one objective, one `email` channel with a send plan.
pub fn campaign(name: &str) -> Value {
    json!({
        "name": name,
        "marketing_owner": "mia",
        "operations_owner": "olga",
        "objectives": [{"kpi": "conversions", "target": 500, "deadline": "2030-03-31T00:00:00Z"}],
        "channels": [{
            "channel": "email",
            "budget_minor": 100_000,
            "fallback_channels": ["sms"],
            "send_plan": {"sends_per_day": 2000}
        }],
        "schedule": {"start": "2030-03-01T00:00:00Z", "end": "2030-04-01T00:00:00Z"},
        "priority": "high"
    })
}

pub fn person(name: &str, hours: i64) -> Value {
    json!({"name": name, "kind": "person", "capacity_per_day": hours, "skills": ["copywriting"]})
}

pub fn allocation(resource: &str, campaign: &str, from: &str, to: &str, hours: i64) -> Value {
    json!({"resource_id": resource, "campaign_id": campaign, "from": from, "to": to, "amount_per_day": hours})
}

pub async fn create_campaign(app: &App, token: &str, body: Value) -> Value {
    let r = app.post("/api/campaigns", token, body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()
}

pub async fn create_resource(app: &App, body: Value) -> String {
    let r = app.post("/api/resources", OLGA, body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()["id"].as_str().expect("id").to_string()
}

pub async fn allocate(app: &App, body: Value) -> Value {
    let r = app.post("/api/resources/allocations", OLGA, body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()
}

pub async fn transition(app: &App, token: &str, id: &str, target: &str) -> Reply {
    app.post(
        &format!("/api/campaigns/{id}/transitions"),
        token,
        json!({ "target": target }),
    )
    .await
}

pub fn codes(r: &Reply) -> Vec<String> {
    r.json()["unmet"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|u| u["code"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

pub fn assert_problem(r: &Reply, status: u16) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(
        r.header("content-type"),
        Some("application/problem+json"),
        "{}",
        r.body
    );
    let p = r.json();
    assert!(p["type"].is_string() && p["detail"].is_string(), "{p}");
}

pub async fn patch(app: &App, token: &str, path: &str, etag: &str, body: Value) -> Reply {
    app.send(
        "PATCH",
        path,
        Some(token),
        Some(body),
        &[("if-match", etag)],
    )
    .await
}

pub async fn audit_actions(app: &App, id: &str) -> Vec<(String, String)> {
    app.audit(&format!("/api/campaigns/{id}/audit"), VIC).await
}

/// A draft content item on `email` for `campaign`, due before March 2030.
pub async fn draft_content(app: &App, campaign: &str) -> String {
    let link = "https://acme.test/spring?utm_source=news&utm_medium=email&utm_campaign=spring";
    let item = app
        .post(
            "/api/content",
            MIA,
            json!({
                "campaign_id": campaign,
                "channel": "email",
                "title": "Spring sale",
                "subject": "Spring is here",
                "body": format!("Our spring range is in. Shop now: {link}"),
                "links": [link],
                "due": "2030-02-20T00:00:00Z",
            }),
        )
        .await;
    assert_eq!(item.status, 201, "{}", item.body);
    item.json()["id"].as_str().expect("content id").to_string()
}

/// A [`draft_content`] item approved through content-approval's default workflow
/// (brand → compliance → operations).
pub async fn approved_content(app: &App, campaign: &str) -> String {
    let id = draft_content(app, campaign).await;
    approve_content(app, &id).await;
    id
}

/// Submits a draft (when it is one) and approves every review stage.
pub async fn approve_content(app: &App, id: &str) {
    let state = app.get(&format!("/api/content/{id}"), VIC).await.json()["state"].clone();
    if state != "in_review" {
        let submit = app
            .post(&format!("/api/content/{id}/submit"), MIA, json!({}))
            .await;
        assert_eq!(submit.status, 200, "{}", submit.body);
    }
    for token in ["brand-token", "compliance-token", OLGA] {
        let d = app
            .post(
                &format!("/api/content/{id}/decisions"),
                token,
                json!({"outcome": "approve"}),
            )
            .await;
        assert_eq!(d.status, 200, "{token}: {}", d.body);
    }
}
