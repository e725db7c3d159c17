//! The optimization loop closes through content-approval: an engagement drop opens
//! a refresh on the campaign's content, a delivery problem moves its scheduled
//! sends later within the hourly cap; each once, however often it is delivered.

use crate::builders::{
    campaign, create_rule, disable_defaults, dispatch, run, samples, start, trigger,
};
use crate::support::{App, BREE, COLE, MIA, OLGA, SCHEDULER_TOKEN, VIC, day, now_secs, rfc3339};
use serde_json::{Value, json};

const LINK: &str = "https://acme.test/spring?utm_source=news&utm_medium=email&utm_campaign=spring";

/// A new email item of `campaign`, submitted (returns its id and state).
async fn submitted_email(app: &App, campaign: &str) -> (String, Value) {
    let r = app
        .post(
            "/api/content",
            MIA,
            json!({"campaign_id": campaign, "channel": "email", "title": "Spring sale",
                   "subject": "Spring is here", "body": format!("Shop now: {LINK}"), "links": [LINK]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.json()["id"].as_str().expect("id").to_string();
    let r = app
        .post(&format!("/api/content/{id}/submit"), MIA, json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    (id, r.json())
}

async fn content(app: &App, id: &str) -> Value {
    let r = app.get(&format!("/api/content/{id}"), VIC).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

/// How many audit entries of the item are `action`.
async fn audited(app: &App, id: &str, action: &str) -> Vec<String> {
    app.audit(&format!("/api/content/{id}/audit"), VIC)
        .await
        .into_iter()
        .filter(|(a, _)| a == action)
        .map(|(_, actor)| actor)
        .collect()
}

/// The one trigger of `campaign` whose action is `kind`.
async fn trigger_of(app: &App, campaign: &str, kind: &str) -> Value {
    let list = app
        .get(&format!("/api/triggers?campaign_id={campaign}"), VIC)
        .await
        .json();
    let found: Vec<Value> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|t| t["action"]["kind"] == json!(kind))
        .cloned()
        .collect();
    assert_eq!(found.len(), 1, "{list}");
    found[0].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_engagement_drop_opens_one_refresh_on_the_campaigns_approved_content() {
    let app = start("mon-refresh").await;
    disable_defaults(&app).await;
    let now = now_secs();
    let c = campaign(&app).await;
    let (approved, _) = submitted_email(&app, &c).await;
    for token in [BREE, COLE, OLGA] {
        let r = app
            .post(
                &format!("/api/content/{approved}/decisions"),
                token,
                json!({"outcome": "approve"}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let (in_review, _) = submitted_email(&app, &c).await;
    create_rule(
        &app,
        json!({"name": "clicks dropped", "category": "content_engagement",
               "scope": {"kind": "campaign", "campaign_id": c},
               "metric": {"kind": "baseline_change", "numerator": ["clicked"], "denominator": ["delivered"],
                          "window_secs": 7200, "baseline_secs": 86400},
               "comparator": "lt", "fire_threshold": -0.3, "clear_threshold": -0.15,
               "action": {"kind": "content_refresh", "variant": "B"}}),
    )
    .await;
    samples(
        &app,
        &c,
        json!([
            {"id": "d1", "kind": "delivered", "value": 1000, "at": now - 10 * 3_600, "channel": "email"},
            {"id": "c1", "kind": "clicked", "value": 100, "at": now - 10 * 3_600, "channel": "email"},
            {"id": "d2", "kind": "delivered", "value": 100, "at": now - 60, "channel": "email"},
            {"id": "c2", "kind": "clicked", "value": 2, "at": now - 60, "channel": "email"}
        ]),
    )
    .await;
    let r = run(&app, OLGA, now).await;
    assert_eq!(r.json()["fired"], json!(1), "{}", r.body);
    let d = dispatch(&app, now + 1).await;
    assert_eq!(d.json()["attempted"], json!(1), "{}", d.body);

    let t = trigger_of(&app, &c, "content_refresh").await;
    let tid = t["id"].as_str().expect("trigger id").to_string();
    assert_eq!(t["status"], "succeeded", "{t}");
    assert_eq!(t["result"]["refreshed"], json!([approved]), "{t}");
    assert_eq!(
        t["result"]["skipped"],
        json!([{"content_id": in_review, "state": "in_review"}]),
        "{t}"
    );

    // The item is back in review with the trigger's refresh, in the inbox's data.
    let item = content(&app, &approved).await;
    assert_eq!(item["state"], "in_review", "{item}");
    assert_eq!(item["refresh"]["trigger_id"], json!(tid));
    assert_eq!(item["refresh"]["variant"], true);
    assert!(
        item["refresh"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("clicks dropped") && r.contains("variant 'B'")),
        "{item}"
    );
    let inbox = app.get("/api/content?state=in_review", BREE).await.json();
    assert!(
        inbox["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|i| i["id"] == json!(approved) && i["refresh"]["trigger_id"] == json!(tid)),
        "{inbox}"
    );
    assert_eq!(
        audited(&app, &approved, "content.refresh_requested").await,
        ["system:scheduler"]
    );

    // The chained call delivered again (same key, then a retry with a fresh key),
    // and the dispatcher running again: still one refresh, one audit entry.
    let body = json!({"reason": item["refresh"]["reason"], "trigger_id": tid, "variant": true});
    for key in [
        format!("{tid}:{approved}"),
        format!("{tid}:{approved}:retry"),
    ] {
        let r = app
            .send(
                "POST",
                &format!("/api/content/{approved}/refresh"),
                Some(SCHEDULER_TOKEN),
                Some(body.clone()),
                &[("idempotency-key", key.as_str())],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["refresh"]["trigger_id"], json!(tid));
    }
    let d = dispatch(&app, now + 120).await;
    assert_eq!(d.json()["attempted"], json!(0), "{}", d.body);
    let again = content(&app, &approved).await;
    assert_eq!(again["version"], item["version"], "nothing written");
    assert_eq!(
        audited(&app, &approved, "content.refresh_requested")
            .await
            .len(),
        1
    );
    assert_eq!(content(&app, &in_review).await["refresh"], Value::Null);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delivery_problem_moves_scheduled_sends_later_within_the_hourly_cap() {
    let app = start("mon-timing").await;
    disable_defaults(&app).await;
    let now = now_secs();
    // One send per hour on email; clean items are approved by the system.
    let r = app
        .send(
            "PUT",
            "/api/content/channels/email",
            Some(OLGA),
            Some(json!({"workflow": {"stages": [], "auto_approve": true}, "cap_per_hour": 1})),
            &[("if-match", "\"0\"")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let c = campaign(&app).await;
    let hour = now - now.rem_euclid(3_600);
    // Three sends in the next hours, and one two days out (beyond the guardrail).
    let mut items = Vec::new();
    for at in [
        hour + 2 * 3_600,
        hour + 3 * 3_600,
        hour + 4 * 3_600,
        hour + 48 * 3_600,
    ] {
        let (id, v) = submitted_email(&app, &c).await;
        assert_eq!(v["state"], "approved", "{v}");
        let r = app
            .post(
                &format!("/api/content/{id}/schedule"),
                OLGA,
                json!({"at": rfc3339(at + 600)}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        items.push((id, at));
    }
    create_rule(
        &app,
        json!({"name": "bounces: hold sends", "category": "distribution_success",
               "scope": {"kind": "campaign", "campaign_id": c, "each_channel": true},
               "metric": {"kind": "ratio", "numerator": ["bounced"], "denominator": ["sent"], "window_secs": 3600},
               "comparator": "gt", "fire_threshold": 0.1, "clear_threshold": 0.05,
               "action": {"kind": "timing_change", "max_delay_hours": 6}}),
    )
    .await;
    samples(
        &app,
        &c,
        json!([
            {"id": "s1", "kind": "sent", "value": 100, "at": now - 60, "channel": "email"},
            {"id": "b1", "kind": "bounced", "value": 30, "at": now - 60, "channel": "email"}
        ]),
    )
    .await;
    let r = run(&app, OLGA, now).await;
    assert_eq!(r.json()["fired"], json!(1), "{}", r.body);
    let d = dispatch(&app, now + 1).await;
    assert_eq!(d.json()["attempted"], json!(1), "{}", d.body);
    let t = trigger_of(&app, &c, "timing_change").await;
    let tid = t["id"].as_str().expect("trigger id").to_string();
    assert_eq!(t["status"], "succeeded", "{t}");
    assert_eq!(
        t["result"]["moved"].as_array().map(Vec::len),
        Some(3),
        "{t}"
    );
    assert_eq!(t["result"]["unmoved"], json!([]), "{t}");

    let mut new_hours = Vec::new();
    for (id, old) in &items[..3] {
        let v = content(&app, id).await;
        let slot = v["scheduled"]["slot_hour"].as_i64().expect("slot");
        assert!(
            slot > *old && slot <= old + 6 * 3_600 && slot >= now + 3_600,
            "{id}: {old} -> {slot}"
        );
        assert_eq!(v["state"], "scheduled");
        assert_eq!(v["scheduled"]["moved"]["trigger_id"], json!(tid));
        assert_eq!(v["scheduled"]["moved"]["from_slot"], json!(old));
        assert_eq!(
            audited(&app, id, "content.send_moved").await,
            ["system:scheduler"]
        );
        new_hours.push(slot);
    }
    let (far, far_at) = &items[3];
    assert_eq!(
        content(&app, far).await["scheduled"]["slot_hour"],
        json!(far_at),
        "beyond the guardrail: left alone"
    );

    // The calendar shows the sends at their new hours, never over the cap, and
    // the old hours are free again.
    let cal = app
        .get(
            &format!(
                "/api/content/calendar?channel=email&from={}&to={}",
                day(hour),
                day(hour + 3 * 86_400)
            ),
            VIC,
        )
        .await
        .json();
    assert_eq!(cal["items"].as_array().map(Vec::len), Some(4), "{cal}");
    let per_hour = cal["sends_per_hour"].as_object().expect("per hour");
    assert!(per_hour.values().all(|n| *n == json!(1)), "{cal}");
    let mut calendar_hours: Vec<i64> = cal["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| {
            chrono::DateTime::parse_from_rfc3339(i["slot_hour"].as_str()?)
                .ok()
                .map(|t| t.timestamp())
        })
        .collect();
    calendar_hours.sort_unstable();
    let mut expected = new_hours.clone();
    expected.push(*far_at);
    expected.sort_unstable();
    assert_eq!(calendar_hours, expected, "{cal}");
    // Delivered again: the dispatcher's own call replays its first answer; the
    // same trigger under another key finds the sends moved already.
    let path = format!("/api/content/campaigns/{c}/timing-change");
    let first = content(&app, &items[0].0).await;
    let redelivered = json!({"channel": "email", "reason": first["scheduled"]["moved"]["reason"],
        "trigger_id": tid, "max_delay_hours": 6});
    let r = app
        .send(
            "POST",
            &path,
            Some(SCHEDULER_TOKEN),
            Some(redelivered),
            &[("idempotency-key", tid.as_str())],
        )
        .await;
    assert_eq!(r.header("idempotent-replayed"), Some("true"), "{}", r.body);
    assert_eq!(r.json()["moved"].as_array().map(Vec::len), Some(3));
    let body =
        json!({"channel": "email", "reason": "bounces", "trigger_id": tid, "max_delay_hours": 6});
    let r = app
        .send(
            "POST",
            &path,
            Some(SCHEDULER_TOKEN),
            Some(body.clone()),
            &[("idempotency-key", "again-1")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["moved"], json!([]), "{}", r.body);
    let moved_ids: Vec<Value> = items[..3].iter().map(|(id, _)| json!(id)).collect();
    assert!(
        r.json()["already_moved"]
            .as_array()
            .is_some_and(|a| a.iter().all(|id| moved_ids.contains(id))),
        "{}",
        r.body
    );
    for (id, _) in &items[..3] {
        assert_eq!(audited(&app, id, "content.send_moved").await.len(), 1);
    }
    // A freed hour takes a send again (its slot was given back).
    let (extra, _) = submitted_email(&app, &c).await;
    let r = app
        .post(
            &format!("/api/content/{extra}/schedule"),
            OLGA,
            json!({"at": rfc3339(items[0].1 + 600)}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // Checked like every endpoint.
    let bad = app
        .post(
            &path,
            OLGA,
            json!({"channel": "E MAIL", "reason": "", "max_delay_hours": 0}),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert_eq!(bad.header("content-type"), Some("application/problem+json"));
    let problem = bad.json();
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .map(|e| e.iter().filter_map(|f| f["field"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        fields,
        ["channel", "reason", "max_delay_hours"],
        "{}",
        bad.body
    );
    let r = app
        .post(
            "/api/content/campaigns/nope/timing-change",
            OLGA,
            body.clone(),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(app.post(&path, MIA, body).await.status, 403);
    let t = trigger(&app, &tid).await;
    assert_eq!(t["status"], "succeeded");
}
