//! Black-box tests: content production through the compiled content-approval
//! component (campaigns are created through the campaign API).

mod support;

use serde_json::{Value, json};
use support::{App, Reply};

const MIA: &str = "marketing-token";
const OLGA: &str = "operations-token";
const BREE: &str = "brand-token";
const COLE: &str = "compliance-token";
const ADA: &str = "admin-token";
const VIC: &str = "viewer-token";

const LINK: &str = "https://acme.test/spring?utm_source=news&utm_medium=email&utm_campaign=spring";

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// RFC 3339 for a unix time (civil-from-days).
fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn day(secs: i64) -> String {
    rfc3339(secs)[..10].to_string()
}

/// A campaign with `channels`, running from `start` to `end` (unix seconds).
async fn campaign_between(app: &App, channels: &[&str], start: i64, end: i64) -> String {
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

async fn campaign(app: &App, channels: &[&str]) -> String {
    let now = now_secs();
    campaign_between(app, channels, now + 86_400, now + 15 * 86_400).await
}

fn email(campaign: &str) -> Value {
    json!({
        "campaign_id": campaign,
        "channel": "email",
        "title": "Spring sale",
        "subject": "Spring is here",
        "body": format!("Our spring range is in. Shop now: {LINK}"),
        "links": [LINK],
    })
}

async fn create(app: &App, token: &str, body: Value) -> (String, Value) {
    let r = app.post("/api/content", token, body).await;
    assert_eq!(r.status, 201, "content create: {}", r.body);
    let v = r.json();
    (v["id"].as_str().expect("id").to_string(), v)
}

async fn act(app: &App, token: &str, id: &str, what: &str, body: Value) -> Reply {
    app.post(&format!("/api/content/{id}/{what}"), token, body)
        .await
}

async fn approve(app: &App, token: &str, id: &str) -> Reply {
    act(app, token, id, "decisions", json!({"outcome": "approve"})).await
}

async fn get(app: &App, id: &str) -> Value {
    let r = app.get(&format!("/api/content/{id}"), VIC).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

/// `(actor, action)` of every audit entry of an item.
async fn actions(app: &App, id: &str) -> Vec<(String, String)> {
    app.audit(&format!("/api/content/{id}/audit"), VIC)
        .await
        .into_iter()
        .map(|(action, actor)| (actor, action))
        .collect()
}

async fn put_policy(app: &App, channel: &str, body: Value) {
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

#[tokio::test(flavor = "multi_thread")]
async fn draft_to_published_through_three_stages_by_distinct_people() {
    let app = support::start("content-full-path").await;
    let c = campaign(&app, &["email"]).await;
    let (id, item) = create(&app, MIA, email(&c)).await;
    assert_eq!(item["state"], "draft");
    assert_eq!(item["checks"]["passed"], true, "{item}");

    let r = act(&app, MIA, &id, "submit", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["state"], "in_review");
    // Compliance cannot jump ahead of brand review.
    let r = approve(&app, COLE, &id).await;
    assert_eq!(r.status, 403, "{}", r.body);
    for (token, stage) in [(BREE, "brand"), (COLE, "compliance"), (OLGA, "operations")] {
        let r = approve(&app, token, &id).await;
        assert_eq!(r.status, 200, "{stage}: {}", r.body);
    }
    let v = get(&app, &id).await;
    assert_eq!(v["state"], "approved");
    assert_eq!(v["review"]["approved_for_current_hash"], true);
    let approvers: Vec<&str> = v["decisions"]
        .as_array()
        .expect("decisions")
        .iter()
        .map(|d| d["approver"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(approvers, ["bree", "cole", "olga"]);
    assert!(
        v["decisions"]
            .as_array()
            .expect("decisions")
            .iter()
            .all(|d| d["content_hash"] == v["content_hash"])
    );

    // Publishing needs a schedule first.
    assert_eq!(act(&app, OLGA, &id, "publish", json!({})).await.status, 409);
    let r = act(&app, OLGA, &id, "schedule", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let scheduled = r.json();
    assert_eq!(scheduled["state"], "scheduled");
    assert_eq!(scheduled["scheduled"]["picked"], "auto");
    let r = act(&app, OLGA, &id, "publish", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["state"], "published");
    // Published items are final.
    let r = app
        .send(
            "PATCH",
            &format!("/api/content/{id}"),
            Some(MIA),
            Some(json!({"title": "x"})),
            &[("if-match", &format!("\"{}\"", r.json()["version"]))],
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);

    let trail = actions(&app, &id).await;
    let names: Vec<&str> = trail.iter().map(|(_, a)| a.as_str()).collect();
    for expected in [
        "content.created",
        "content.submitted",
        "content.review_started",
        "content.decided",
        "content.approved",
        "content.scheduled",
        "content.published",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    // Filters find it.
    let r = app
        .get(
            &format!("/api/content?campaign={c}&state=published&channel=email"),
            VIC,
        )
        .await;
    assert_eq!(r.json()["items"].as_array().map(Vec::len), Some(1));
    let r = app
        .get(&format!("/api/content?campaign={c}&state=draft"), VIC)
        .await;
    assert_eq!(r.json()["items"].as_array().map(Vec::len), Some(0));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn approving_own_content_is_forbidden_and_one_decision_per_stage_per_approver() {
    let app = support::start("content-self-approval").await;
    let c = campaign(&app, &["email", "web"]).await;
    // The admin holds every role, yet may not approve what they wrote.
    let (id, _) = create(&app, ADA, email(&c)).await;
    assert_eq!(act(&app, ADA, &id, "submit", json!({})).await.status, 200);
    let r = approve(&app, ADA, &id).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("author"), "{}", r.body);
    assert_eq!(get(&app, &id).await["decisions"], json!([]));

    // A brand stage needing two named approvers: the same one twice is refused.
    put_policy(
        &app,
        "web",
        json!({"workflow": {"stages": [
            {"name": "brand", "role": "brand_reviewer", "rule": "all", "approvers": ["bree", "ada"]},
            {"name": "ops", "role": "operations"}
        ]}}),
    )
    .await;
    let (id, _) = create(
        &app,
        MIA,
        json!({"campaign_id": c, "channel": "web", "title": "Landing", "body": "Hello"}),
    )
    .await;
    assert_eq!(act(&app, MIA, &id, "submit", json!({})).await.status, 200);
    assert_eq!(approve(&app, BREE, &id).await.status, 200);
    let again = approve(&app, BREE, &id).await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert_eq!(
        again.json()["type"],
        "https://opsflow.dev/problems/already-decided"
    );
    let v = get(&app, &id).await;
    assert_eq!(v["decisions"].as_array().map(Vec::len), Some(1));
    assert_eq!(v["state"], "in_review");
    // The second listed approver completes the stage; operations signs off.
    assert_eq!(approve(&app, ADA, &id).await.status, 200);
    assert_eq!(approve(&app, OLGA, &id).await.status, 200);
    assert_eq!(get(&app, &id).await["state"], "approved");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_edit_after_approval_reopens_review_and_voids_decisions() {
    let app = support::start("content-edit-reopens").await;
    let c = campaign(&app, &["email"]).await;
    let (id, _) = create(&app, MIA, email(&c)).await;
    act(&app, MIA, &id, "submit", json!({})).await;
    for t in [BREE, COLE, OLGA] {
        assert_eq!(approve(&app, t, &id).await.status, 200);
    }
    let r = act(&app, OLGA, &id, "schedule", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    let old_hash = v["content_hash"].clone();
    let etag = r.header("etag").expect("etag").to_string();
    // A stale ETag is refused and changes nothing.
    let stale = app
        .send(
            "PATCH",
            &format!("/api/content/{id}"),
            Some(MIA),
            Some(json!({"body": "changed"})),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(stale.status, 412, "{}", stale.body);
    let r = app
        .send(
            "PATCH",
            &format!("/api/content/{id}"),
            Some(MIA),
            Some(json!({"body": format!("New copy, same offer: {LINK}")})),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["state"], "in_review");
    assert_ne!(v["content_hash"], old_hash);
    assert_eq!(v["approval"], Value::Null);
    assert_eq!(v["scheduled"], Value::Null);
    assert_eq!(v["round"], 2);
    assert!(
        v["decisions"]
            .as_array()
            .expect("decisions")
            .iter()
            .all(|d| d["void"] == true)
    );
    assert_eq!(v["review"]["stages"][0]["open"], true);
    let trail = actions(&app, &id).await;
    assert!(trail.iter().any(|(_, a)| a == "content.reopened"));
    // A decision on the hash the reviewer saw before is refused.
    let r = act(
        &app,
        BREE,
        &id,
        "decisions",
        json!({"outcome": "approve", "content_hash": old_hash}),
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.body);
    // Request changes needs a comment.
    let r = act(
        &app,
        BREE,
        &id,
        "decisions",
        json!({"outcome": "request_changes"}),
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.body);
    let r = act(
        &app,
        BREE,
        &id,
        "decisions",
        json!({"outcome": "request_changes", "comment": "Tone it down"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["state"], "changes_requested");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clean_item_on_an_auto_approvable_channel_is_approved_automatically() {
    let app = support::start("content-auto-approve").await;
    let c = campaign(&app, &["sms"]).await;
    put_policy(
        &app,
        "sms",
        json!({"workflow": {"stages": [], "auto_approve": true}, "cap_per_hour": 5}),
    )
    .await;
    let (id, _) = create(
        &app,
        MIA,
        json!({"campaign_id": c, "channel": "sms", "title": "Flash", "body": "Sale today only"}),
    )
    .await;
    let r = act(&app, MIA, &id, "submit", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["state"], "approved");
    assert_eq!(v["approval"]["by"], "system");
    let trail = actions(&app, &id).await;
    assert!(
        trail
            .iter()
            .any(|(who, a)| who == "system:content-approval" && a == "content.auto_approved"),
        "{trail:?}"
    );
    // An item that fails a check is not: submit is refused and nothing changes.
    let (bad, _) = create(
        &app,
        MIA,
        json!({"campaign_id": c, "channel": "sms", "title": "Long", "body": "x".repeat(200)}),
    )
    .await;
    let r = act(&app, MIA, &bad, "submit", json!({})).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(get(&app, &bad).await["state"], "draft");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn each_failing_check_has_a_precise_message() {
    let app = support::start("content-checks").await;
    let c = campaign(&app, &["sms", "email", "web"]).await;
    let mut standard = app.get("/api/content/brand-standard", VIC).await.json();
    standard["banned_terms"] = json!(["guaranteed"]);
    standard["required_terms"] = json!(["Acme"]);
    standard["channels"]["sms"]["disclaimers"] = json!(["Reply STOP to opt out"]);
    // Brand reviewers edit the standard (If-Match "0" replaces the default)...
    let r = app
        .send(
            "PUT",
            "/api/content/brand-standard",
            Some(BREE),
            Some(standard.clone()),
            &[("if-match", "\"0\"")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // ... marketing does not.
    let r = app
        .send(
            "PUT",
            "/api/content/brand-standard",
            Some(MIA),
            Some(standard),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(r.status, 403);

    let long_sms = format!("Acme. Reply STOP to opt out. {}", "x".repeat(140));
    let n = long_sms.chars().count();
    let length_message = format!(
        "body is {n} characters; the sms limit is 160 ({} over)",
        n - 160
    );
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"channel": "web", "body": "Acme results GUARANTEED!"}),
            "banned_term",
            "body contains the banned term \"guaranteed\"",
        ),
        (
            json!({"channel": "web", "body": "Great results"}),
            "required_term",
            "the required term \"Acme\" appears in none of title, subject, body",
        ),
        (
            json!({"channel": "sms", "body": "Acme sale"}),
            "disclaimer",
            "the sms disclaimer \"Reply STOP to opt out\" is missing from the body",
        ),
        (
            json!({"channel": "sms", "body": long_sms}),
            "length",
            &length_message,
        ),
        (
            json!({"channel": "web", "body": "Acme", "links": ["http://acme.test/?utm_source=a&utm_medium=b&utm_campaign=c"]}),
            "link_https",
            "link \"http://acme.test/?utm_source=a&utm_medium=b&utm_campaign=c\" must use https",
        ),
        (
            json!({"channel": "web", "body": "Acme at https://acme.test/x?utm_source=a"}),
            "link_utm",
            "link \"https://acme.test/x?utm_source=a\" lacks the UTM parameter(s) utm_medium, utm_campaign",
        ),
        (
            json!({"channel": "email", "body": "Acme news"}),
            "required_field",
            "subject is required on the email channel",
        ),
    ];
    for (fields, check, message) in cases {
        let mut body = fields.clone();
        body["campaign_id"] = json!(c);
        body["title"] = json!("Item");
        let (id, item) = create(&app, MIA, body).await;
        let failures = item["checks"]["failures"].as_array().expect("failures");
        assert_eq!(failures.len(), 1, "{check}: {failures:?}");
        assert_eq!(failures[0]["check"], check);
        assert_eq!(failures[0]["message"], message);
        let r = app.get(&format!("/api/content/{id}/checks"), VIC).await;
        assert_eq!(r.json()["failures"][0]["message"], message);
        let r = act(&app, MIA, &id, "submit", json!({})).await;
        assert_eq!(r.status, 422, "{check}: {}", r.body);
        assert_eq!(
            r.json()["type"],
            "https://opsflow.dev/problems/checks-failed"
        );
        assert!(r.body.contains(&message.replace('"', "\\\"")), "{}", r.body);
        assert_eq!(get(&app, &id).await["state"], "draft");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_scheduling_never_overruns_the_hourly_cap() {
    let app = support::start("content-schedule-cap").await;
    put_policy(
        &app,
        "email",
        json!({"workflow": {"stages": [], "auto_approve": true}, "cap_per_hour": 3}),
    )
    .await;
    let now = now_secs();
    let start = (now / 3600 + 48) * 3600;
    let c = campaign_between(&app, &["email"], start, start + 2 * 3600).await;
    let mut ids = Vec::new();
    for _ in 0..10 {
        let (id, _) = create(&app, MIA, email(&c)).await;
        let r = act(&app, MIA, &id, "submit", json!({})).await;
        assert_eq!(r.json()["state"], "approved", "{}", r.body);
        ids.push(id);
    }
    let app = std::sync::Arc::new(app);

    // Ten explicit requests for the same hour at once: exactly three land.
    let at = rfc3339(start + 1800);
    let tasks: Vec<_> = ids
        .iter()
        .map(|id| {
            let (app, id, at) = (app.clone(), id.clone(), at.clone());
            tokio::spawn(async move { act(&app, OLGA, &id, "schedule", json!({"at": at})).await })
        })
        .collect();
    let mut ok = Vec::new();
    let mut full = 0;
    for (t, id) in tasks.into_iter().zip(&ids) {
        let r = t.await.expect("task");
        match r.status {
            200 => ok.push(id.clone()),
            409 => {
                assert_eq!(r.json()["type"], "https://opsflow.dev/problems/slot-full");
                full += 1;
            }
            s => panic!("unexpected {s}: {}", r.body),
        }
    }
    assert_eq!((ok.len(), full), (3, 7));

    // The other seven pick automatically at once: the campaign has two hours, so
    // three more fit (in the other hour) and four are refused.
    let rest: Vec<String> = ids.iter().filter(|i| !ok.contains(i)).cloned().collect();
    let tasks: Vec<_> = rest
        .iter()
        .map(|id| {
            let (app, id) = (app.clone(), id.clone());
            tokio::spawn(async move { act(&app, OLGA, &id, "schedule", json!({})).await })
        })
        .collect();
    let mut auto_ok = 0;
    for t in tasks {
        let r = t.await.expect("task");
        match r.status {
            200 => auto_ok += 1,
            409 => assert_eq!(r.json()["type"], "https://opsflow.dev/problems/no-slot"),
            s => panic!("unexpected {s}: {}", r.body),
        }
    }
    assert_eq!(auto_ok, 3);

    let r = app
        .get(
            &format!(
                "/api/content/calendar?channel=email&from={}&to={}",
                day(start),
                day(start + 7200)
            ),
            VIC,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let cal = r.json();
    assert_eq!(cal["items"].as_array().map(Vec::len), Some(6), "{cal}");
    let per_hour = cal["sends_per_hour"].as_object().expect("per hour");
    assert_eq!(per_hour.len(), 2, "{cal}");
    assert!(per_hour.values().all(|n| n == 3), "{cal}");

    // Withdrawing a scheduled item frees its slot for someone else.
    let r = act(&app, MIA, &ok[0], "withdraw", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut landed = false;
    for id in &rest {
        let r = act(&app, OLGA, id, "schedule", json!({"at": at})).await;
        if r.status == 200 {
            landed = true;
            break;
        }
    }
    assert!(landed, "a freed slot is reusable");
    // Outside the schedule is refused with the reason.
    let r = act(
        &app,
        OLGA,
        &rest[0],
        "schedule",
        json!({"at": rfc3339(start + 5 * 3600)}),
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.body.contains("outside the campaign schedule"),
        "{}",
        r.body
    );
    if let Ok(app) = std::sync::Arc::try_unwrap(app) {
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_bodies_get_4xx_and_change_nothing() {
    let app = support::start("content-hostile").await;
    let c = campaign(&app, &["email"]).await;
    let (id, before) = create(&app, MIA, email(&c)).await;

    let mut unknown = email(&c);
    unknown["admin"] = json!(true);
    // (method, path, token, body, headers, expected status)
    type Case<'a> = (
        &'a str,
        &'a str,
        Option<&'a str>,
        Option<Value>,
        Vec<(&'a str, String)>,
        u16,
    );
    let cases: Vec<Case> = vec![
        (
            "POST",
            "/api/content",
            Some(MIA),
            Some(unknown),
            vec![],
            400,
        ),
        (
            "POST",
            "/api/content",
            Some(MIA),
            Some(json!([1, 2])),
            vec![],
            400,
        ),
        (
            "POST",
            "/api/content",
            Some(MIA),
            Some(json!({"campaign_id": c, "channel": "email", "title": ""})),
            vec![],
            422,
        ),
        (
            "POST",
            "/api/content",
            Some(MIA),
            Some(json!({"campaign_id": c, "channel": "fax", "title": "x"})),
            vec![],
            422,
        ),
        (
            "POST",
            "/api/content",
            Some(MIA),
            Some(
                json!({"campaign_id": c, "channel": "email", "title": "x", "links": ["javascript:alert(1)"]}),
            ),
            vec![],
            422,
        ),
        (
            "POST",
            "/api/content",
            Some(MIA),
            Some(
                json!({"campaign_id": "01ZZZZZZZZZZZZZZZZZZZZZZZZ", "channel": "email", "title": "x"}),
            ),
            vec![],
            404,
        ),
        (
            "POST",
            "/api/content",
            Some(MIA),
            Some(json!({"campaign_id": c, "channel": "email", "title": "x".repeat(500)})),
            vec![],
            422,
        ),
        (
            "POST",
            "/api/content",
            Some(VIC),
            Some(email(&c)),
            vec![],
            403,
        ),
        ("POST", "/api/content", None, Some(email(&c)), vec![], 401),
        (
            "PATCH",
            "/api/content/{id}",
            Some(MIA),
            Some(json!({"body": "x"})),
            vec![],
            428,
        ),
        (
            "PATCH",
            "/api/content/{id}",
            Some(MIA),
            Some(json!({"body": "x"})),
            vec![("if-match", "\"9\"".into())],
            412,
        ),
        (
            "PATCH",
            "/api/content/{id}",
            Some(MIA),
            Some(json!({"channel": "sms"})),
            vec![("if-match", "\"1\"".into())],
            400,
        ),
        (
            "PATCH",
            "/api/content/{id}",
            Some(MIA),
            Some(json!({"body": "a\u{0}b"})),
            vec![("if-match", "\"1\"".into())],
            422,
        ),
        (
            "PATCH",
            "/api/content/{id}",
            Some(BREE),
            Some(json!({"body": "x"})),
            vec![("if-match", "\"1\"".into())],
            403,
        ),
        (
            "POST",
            "/api/content/{id}/decisions",
            Some(BREE),
            Some(json!({"outcome": "maybe"})),
            vec![],
            422,
        ),
        (
            "POST",
            "/api/content/{id}/decisions",
            Some(BREE),
            Some(json!({"outcome": "approve"})),
            vec![],
            409,
        ),
        (
            "POST",
            "/api/content/{id}/schedule",
            Some(OLGA),
            Some(json!({"at": "tomorrow"})),
            vec![],
            422,
        ),
        (
            "POST",
            "/api/content/{id}/schedule",
            Some(OLGA),
            Some(json!({})),
            vec![],
            409,
        ),
        (
            "POST",
            "/api/content/{id}/publish",
            Some(OLGA),
            Some(json!({})),
            vec![],
            409,
        ),
        (
            "GET",
            "/api/content/..%2F..%2Fetc",
            Some(VIC),
            None,
            vec![],
            404,
        ),
        (
            "GET",
            "/api/content?state=bogus",
            Some(VIC),
            None,
            vec![],
            400,
        ),
        (
            "GET",
            "/api/content?limit=100000",
            Some(VIC),
            None,
            vec![],
            400,
        ),
        (
            "PUT",
            "/api/content/channels/email",
            Some(OLGA),
            Some(json!({"workflow": {"stages": []}})),
            vec![("if-match", "\"0\"".into())],
            422,
        ),
        (
            "PUT",
            "/api/content/channels/email",
            Some(OLGA),
            Some(json!({"cap_per_hour": 0})),
            vec![("if-match", "\"0\"".into())],
            422,
        ),
        (
            "PUT",
            "/api/content/brand-standard",
            Some(OLGA),
            Some(json!({"banned_terms": ["!!"]})),
            vec![("if-match", "\"0\"".into())],
            400,
        ),
        ("DELETE", "/api/content/{id}", Some(ADA), None, vec![], 405),
    ];
    for (method, path, token, body, headers, want) in cases {
        let path = path.replace("{id}", &id);
        let hs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = app.send(method, &path, token, body.clone(), &hs).await;
        assert_eq!(r.status, want, "{method} {path} {body:?}: {}", r.body);
        assert!(
            r.header("content-type")
                .is_some_and(|c| c.contains("problem+json")),
            "{method} {path}: {:?}",
            r.header("content-type")
        );
    }
    // Wrong media type and oversized bodies.
    let r = app
        .client
        .post(app.url("/api/content"))
        .bearer_auth(MIA)
        .header("content-type", "text/plain")
        .body(email(&c).to_string())
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status().as_u16(), 415);
    let r = app
        .client
        .post(app.url("/api/content"))
        .bearer_auth(MIA)
        .header("content-type", "application/json")
        .body(format!(
            "{{\"title\": \"{}\"}}",
            "x".repeat(2 * 1024 * 1024)
        ))
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status().as_u16(), 413);

    // Nothing changed: one item, at version 1, same hash.
    let after = get(&app, &id).await;
    assert_eq!(after["version"], before["version"]);
    assert_eq!(after["content_hash"], before["content_hash"]);
    let list = app
        .get(&format!("/api/content?campaign={c}"), VIC)
        .await
        .json();
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        app.get("/api/content/channels/email", VIC)
            .await
            .header("etag"),
        Some("\"0\"")
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
/// KV round trips per operation, including the one or two store `open`s each
/// request makes (spin:key-value and wasi:keyvalue): create 12, get 2, submit 8,
/// decide 5, automatic schedule 14, publish 5, one list page 4 (measured).
async fn content_operations_stay_within_their_kv_budgets() {
    let app = support::start("content-kv-budget").await;
    let c = campaign(&app, &["email"]).await;
    let calls = |app: &App| app.host.stats().kv_total("content-approval");
    let mut table = Vec::new();
    let mut measure = |name: &'static str, before: u64, after: u64, budget: u64| {
        table.push((name, after - before));
        assert!(
            after - before <= budget,
            "{name}: {} KV calls > {budget}",
            after - before
        );
    };
    let b = calls(&app);
    let (id, _) = create(&app, MIA, email(&c)).await;
    measure("create", b, calls(&app), 12);
    let b = calls(&app);
    get(&app, &id).await;
    measure("get", b, calls(&app), 2);
    let b = calls(&app);
    assert_eq!(act(&app, MIA, &id, "submit", json!({})).await.status, 200);
    measure("submit", b, calls(&app), 8);
    let b = calls(&app);
    assert_eq!(approve(&app, BREE, &id).await.status, 200);
    measure("decide", b, calls(&app), 5);
    approve(&app, COLE, &id).await;
    approve(&app, OLGA, &id).await;
    let b = calls(&app);
    let r = act(&app, OLGA, &id, "schedule", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    measure("schedule (auto)", b, calls(&app), 16);
    let b = calls(&app);
    assert_eq!(act(&app, OLGA, &id, "publish", json!({})).await.status, 200);
    measure("publish", b, calls(&app), 5);
    let b = calls(&app);
    app.get(&format!("/api/content?campaign={c}"), VIC).await;
    measure("list (1 page)", b, calls(&app), 4);
    eprintln!("content-approval KV calls per operation: {table:?}");
    app.stop().await;
}
