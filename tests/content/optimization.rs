//! The optimization loop's side of content: a refresh reopens approved content for
//! review once, however often it is asked for; send times follow the item's own
//! channel's engagement, never the campaign's other channels.

use crate::builders::{act, actions, approve, campaign, campaign_between, create, email, get};
use crate::support::{BREE, COLE, MIA, OLGA, SCHEDULER_TOKEN, VIC, day, now_secs, start};
use chrono::{Datelike, Timelike};
use serde_json::{Value, json};

/// An email item of `c` through brand, compliance and operations review.
async fn approved_item(app: &crate::support::App, c: &str) -> String {
    let (id, _) = create(app, MIA, email(c)).await;
    assert_eq!(act(app, MIA, &id, "submit", json!({})).await.status, 200);
    for token in [BREE, COLE, OLGA] {
        let r = approve(app, token, &id).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    id
}

/// The email calendar of the day of `hour`.
async fn calendar(app: &crate::support::App, hour: i64) -> Value {
    let path = format!(
        "/api/content/calendar?channel=email&from={}&to={}",
        day(hour),
        day(hour)
    );
    app.get(&path, VIC).await.json()
}

fn refresh_body(trigger: &str) -> Value {
    json!({"reason": "click rate fell 40% against the trailing week", "trigger_id": trigger, "variant": true})
}

async fn refresh(
    app: &crate::support::App,
    token: &str,
    id: &str,
    body: Value,
) -> crate::support::Reply {
    app.post(&format!("/api/content/{id}/refresh"), token, body)
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refresh_reopens_scheduled_content_for_review_once_and_the_inbox_shows_it() {
    let app = start("content-refresh").await;
    let c = campaign(&app, &["email"]).await;
    let id = approved_item(&app, &c).await;
    let r = act(&app, OLGA, &id, "schedule", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let slot = r.json()["scheduled"]["slot_hour"].as_i64().expect("slot");
    let round = r.json()["round"].as_i64().expect("round");
    assert_eq!(
        calendar(&app, slot).await["items"].as_array().map(Vec::len),
        Some(1)
    );

    // The scheduler (trigger dispatch's identity) asks for a refresh.
    let r = refresh(&app, SCHEDULER_TOKEN, &id, refresh_body("TRIGGER-1")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["state"], "in_review");
    assert_eq!(v["round"], json!(round + 1));
    assert_eq!(v["approval"], Value::Null);
    assert_eq!(v["scheduled"], Value::Null);
    assert_eq!(v["refresh"]["trigger_id"], "TRIGGER-1");
    assert_eq!(v["refresh"]["variant"], true);
    assert_eq!(v["refresh"]["previous_state"], "scheduled");
    assert_eq!(v["refresh"]["requested_by"], "system:scheduler");
    assert_eq!(v["refresh"]["resolved_at"], Value::Null);
    assert_eq!(v["review"]["stages"][0]["open"], true);
    let etag = r.header("etag").expect("etag").to_string();
    // Its send is given back: the calendar no longer holds it.
    assert_eq!(calendar(&app, slot).await["items"], json!([]));

    // In the approval inbox's data (what the dashboard's inbox reads).
    let inbox = app.get("/api/content?state=in_review", BREE).await.json();
    let listed = inbox["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["id"] == json!(id))
        .cloned()
        .expect("the refreshed item is in review");
    assert_eq!(listed["refresh"]["trigger_id"], "TRIGGER-1");

    // Asked again — the same call redelivered, the same trigger without a key,
    // another trigger while this refresh is open — nothing changes.
    let again = app
        .send(
            "POST",
            &format!("/api/content/{id}/refresh"),
            Some(SCHEDULER_TOKEN),
            Some(refresh_body("TRIGGER-1")),
            &[("idempotency-key", "TRIGGER-1:x")],
        )
        .await;
    assert_eq!(again.status, 200, "{}", again.body);
    let replay = app
        .send(
            "POST",
            &format!("/api/content/{id}/refresh"),
            Some(SCHEDULER_TOKEN),
            Some(refresh_body("TRIGGER-1")),
            &[("idempotency-key", "TRIGGER-1:x")],
        )
        .await;
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    for (token, trigger) in [(SCHEDULER_TOKEN, "TRIGGER-1"), (OLGA, "TRIGGER-2")] {
        let r = refresh(&app, token, &id, refresh_body(trigger)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.header("etag"), Some(etag.as_str()), "nothing written");
        assert_eq!(r.json()["refresh"]["trigger_id"], "TRIGGER-1");
    }
    let trail = actions(&app, &id).await;
    let asked: Vec<&(String, String)> = trail
        .iter()
        .filter(|(_, a)| a == "content.refresh_requested")
        .collect();
    assert_eq!(asked.len(), 1, "{trail:?}");
    assert_eq!(asked[0].0, "system:scheduler");

    // The new round's approval resolves it; the same trigger never reopens it.
    for token in [BREE, COLE, OLGA] {
        let r = approve(&app, token, &id).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let v = get(&app, &id).await;
    assert_eq!(v["state"], "approved");
    assert!(v["refresh"]["resolved_at"].is_string(), "{v}");
    let r = refresh(&app, SCHEDULER_TOKEN, &id, refresh_body("TRIGGER-1")).await;
    assert_eq!(r.json()["state"], "approved", "{}", r.body);
    let names: Vec<String> = actions(&app, &id)
        .await
        .into_iter()
        .map(|(_, a)| a)
        .collect();
    assert_eq!(
        names
            .iter()
            .filter(|a| *a == "content.refresh_resolved")
            .count(),
        1,
        "{names:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn refresh_requests_are_checked_and_refused_with_problem_documents() {
    let app = start("content-refresh-refusals").await;
    let c = campaign(&app, &["email"]).await;
    let (draft, _) = create(&app, MIA, email(&c)).await;
    let problem = |r: &crate::support::Reply, status: u16| {
        assert_eq!(r.status, status, "{}", r.body);
        assert_eq!(
            r.header("content-type"),
            Some("application/problem+json"),
            "{}",
            r.body
        );
        r.json()
    };
    // Roles: operations (and the scheduler, an operations principal) only.
    for token in [MIA, BREE, VIC] {
        let r = refresh(&app, token, &draft, refresh_body("T1")).await;
        problem(&r, 403);
    }
    // Never approved: nothing to refresh.
    let p = problem(&refresh(&app, OLGA, &draft, refresh_body("T1")).await, 409);
    assert_eq!(p["type"], "https://opsflow.dev/problems/not-refreshable");
    assert!(
        p["detail"].as_str().unwrap_or_default().contains("draft"),
        "{p}"
    );
    // Validation: every field named.
    let p = problem(
        &refresh(
            &app,
            OLGA,
            &draft,
            json!({"reason": " ", "trigger_id": "not a trigger id"}),
        )
        .await,
        422,
    );
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, ["reason", "trigger_id"], "{p}");
    problem(
        &refresh(&app, OLGA, &draft, json!({"reason": "x", "why": 1})).await,
        400,
    );
    problem(
        &refresh(&app, OLGA, &draft, json!({"reason": "x", "variant": "yes"})).await,
        400,
    );
    problem(
        &refresh(&app, OLGA, "01JZZZZZZZZZZZZZZZZZZZZZZZ", refresh_body("T1")).await,
        404,
    );
    problem(
        &refresh(&app, OLGA, "not-an-id", refresh_body("T1")).await,
        404,
    );
    let r = app
        .send(
            "POST",
            &format!("/api/content/{draft}/refresh"),
            Some(OLGA),
            Some(refresh_body("T1")),
            &[("if-match", "\"99\"")],
        )
        .await;
    problem(&r, 412);
    // A refused request changed nothing.
    assert_eq!(get(&app, &draft).await["state"], "draft");
    assert!(
        !actions(&app, &draft)
            .await
            .iter()
            .any(|(_, a)| a == "content.refresh_requested")
    );
}

/// The most recent past hour start (at least a day ago) whose hour of the week
/// is `weekday` (0 = Monday) at `hour` UTC.
fn past_hour_of_week(now: i64, weekday: u32, hour: u32) -> i64 {
    let mut t = (now - 86_400) / 3_600 * 3_600;
    loop {
        let d = chrono::DateTime::from_timestamp(t, 0).expect("time");
        if d.weekday().num_days_from_monday() == weekday && d.hour() == hour {
            return t;
        }
        t -= 3_600;
    }
}

fn hour_of_week(t: i64) -> (u32, u32) {
    let d = chrono::DateTime::from_timestamp(t, 0).expect("time");
    (d.weekday().num_days_from_monday(), d.hour())
}

#[tokio::test(flavor = "multi_thread")]
async fn send_times_follow_the_items_channel_history_not_the_campaigns_other_channels() {
    let app = start("content-channel-history").await;
    let now = now_secs();
    let c = campaign_between(&app, &["email", "social"], now + 3_600, now + 9 * 86_400).await;
    // Email engages best on Saturdays at 03:00, social on Sundays at 04:00 (and
    // better than email's best). The weekday 10:00 peaks of the default curve are
    // measured low on both channels, so history decides.
    let (email_best, social_best) = ((5, 3), (6, 4));
    let mut samples = Vec::new();
    let mut add = |id: String, channel: &str, at: i64, delivered: i64, opened: i64| {
        for (kind, value) in [("delivered", delivered), ("opened", opened)] {
            samples.push(
                json!({"id": format!("{id}-{kind}"), "kind": kind, "value": value,
                "at": at + 60, "channel": channel}),
            );
        }
    };
    for channel in ["email", "social"] {
        for weekday in 0..7 {
            let at = past_hour_of_week(now, weekday, 10);
            add(format!("{channel}-peak-{weekday}"), channel, at, 100, 5);
        }
    }
    add(
        "email-best".into(),
        "email",
        past_hour_of_week(now, email_best.0, email_best.1),
        100,
        90,
    );
    add(
        "social-best".into(),
        "social",
        past_hour_of_week(now, social_best.0, social_best.1),
        100,
        100,
    );
    let r = app
        .post(
            &format!("/api/campaigns/{c}/metrics"),
            OLGA,
            json!({ "samples": samples }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    let email_item = approved_item(&app, &c).await;
    let r = act(&app, OLGA, &email_item, "schedule", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let slot = r.json()["scheduled"]["slot_hour"].as_i64().expect("slot");
    assert_eq!(
        hour_of_week(slot),
        email_best,
        "email's own best hour, not social's better one"
    );

    let mut social = email(&c);
    social["channel"] = json!("social");
    social.as_object_mut().map(|o| o.remove("subject"));
    let (social_item, _) = create(&app, MIA, social).await;
    let r = act(&app, MIA, &social_item, "submit", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    for token in [BREE, COLE, OLGA] {
        let r = approve(&app, token, &social_item).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let r = act(&app, OLGA, &social_item, "schedule", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let slot = r.json()["scheduled"]["slot_hour"].as_i64().expect("slot");
    assert_eq!(hour_of_week(slot), social_best);
}
