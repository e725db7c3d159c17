//! Black-box tests: monitoring rules, evaluation runs, alert states, and the
//! trigger outbox, over HTTP against the compiled components on the local host.

mod support;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use support::{App, Reply};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The Standard Webhooks documentation's example secret.
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn wall() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

async fn start(name: &str) -> App {
    App::start_in(
        &support::state_dir(name),
        &[("notify_signing_secret", SECRET)],
    )
    .await
}

async fn run(app: &App, token: &str, now: i64) -> Reply {
    app.post("/api/evaluations/run", token, json!({ "now": now }))
        .await
}

async fn dispatch(app: &App, now: i64) -> Reply {
    app.post(
        "/api/triggers/dispatch",
        support::SCHEDULER_TOKEN,
        json!({ "now": now }),
    )
    .await
}

fn rfc3339(t: i64) -> String {
    // Days since the epoch → civil date (Howard Hinnant's algorithm), UTC.
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3_600,
        secs % 3_600 / 60,
        secs % 60
    )
}

/// A campaign running from yesterday for a month, on email (falling back to sms) and social.
async fn campaign(app: &App) -> String {
    let now = wall();
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

async fn samples(app: &App, campaign: &str, samples: Value) {
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
async fn email_bounces(app: &App, campaign: &str, now: i64, bounced: i64) {
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

/// A bounce-rate rule on one campaign: (bounced)/(sent) over 2 hours > 0.1, clears < 0.05.
fn bounce_rule(campaign: &str, action: Value, extra: Value) -> Value {
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

async fn create_rule(app: &App, rule: Value) -> String {
    let r = app
        .post("/api/evaluations/rules", "operations-token", rule)
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()["id"].as_str().expect("id").to_string()
}

/// Disables the shipped defaults so a test sees only its own rules.
async fn disable_defaults(app: &App) {
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

/// One request the receiver saw: headers and body.
type Seen = (Vec<(String, String)>, Vec<u8>);

/// A local webhook receiver that records requests and answers with queued statuses
/// (200 once the queue is empty).
#[derive(Clone)]
struct Receiver {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    statuses: Arc<Mutex<VecDeque<u16>>>,
}

impl Receiver {
    async fn spawn() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let me = Receiver {
            url: format!("http://{addr}/hooks/ops"),
            seen: Arc::default(),
            statuses: Arc::default(),
        };
        let state = me.clone();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let state = state.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    let head_end = loop {
                        let Ok(n) = sock.read(&mut chunk).await else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break p + 4;
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                    let headers: Vec<(String, String)> = head
                        .lines()
                        .skip(1)
                        .filter_map(|l| l.split_once(':'))
                        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                        .collect();
                    let chunked = headers
                        .iter()
                        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
                    let len: usize = headers
                        .iter()
                        .find(|(k, _)| k == "content-length")
                        .and_then(|(_, v)| v.parse().ok())
                        .unwrap_or(0);
                    let complete = |buf: &[u8]| {
                        if chunked {
                            buf[head_end..].windows(5).any(|w| w == b"0\r\n\r\n")
                        } else {
                            buf.len() >= head_end + len
                        }
                    };
                    while !complete(&buf) {
                        let Ok(n) = sock.read(&mut chunk).await else {
                            return;
                        };
                        if n == 0 {
                            break;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                    }
                    let raw = &buf[head_end..];
                    let body = if chunked { dechunk(raw) } else { raw.to_vec() };
                    let status = state
                        .statuses
                        .lock()
                        .expect("lock")
                        .pop_front()
                        .unwrap_or(200);
                    state.seen.lock().expect("lock").push((headers, body));
                    let reply = format!(
                        "HTTP/1.1 {status} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
                    );
                    let _ = sock.write_all(reply.as_bytes()).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        me
    }

    fn count(&self) -> usize {
        self.seen.lock().expect("lock").len()
    }

    fn fail_next(&self, statuses: &[u16]) {
        self.statuses.lock().expect("lock").extend(statuses);
    }

    /// Every recorded request verifies as a Standard Webhooks message.
    fn verify_all(&self) -> Vec<Value> {
        let secrets =
            opsflow_domain::webhooks::generic::Secrets::parse(Some(SECRET)).expect("secret");
        let seen = self.seen.lock().expect("lock");
        seen.iter()
            .map(|(headers, body)| {
                let req = opsflow_domain::webhooks::InboundRequest {
                    method: "POST",
                    url: "/hooks/ops",
                    headers,
                    body,
                };
                opsflow_domain::webhooks::generic::verify(&secrets, &req, wall())
                    .expect("signature verifies");
                serde_json::from_slice(body).expect("json body")
            })
            .collect()
    }
}

/// Decodes a `Transfer-Encoding: chunked` body.
fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&raw[..eol])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 || raw.len() < eol + 2 + size {
            break;
        }
        out.extend_from_slice(&raw[eol + 2..eol + 2 + size]);
        raw = &raw[(eol + 4 + size).min(raw.len())..];
    }
    out
}

fn notify(r: &Receiver) -> Value {
    json!({"kind": "notify", "url": r.url})
}

async fn trigger(app: &App, id: &str) -> Value {
    let r = app
        .get(&format!("/api/triggers/{id}"), "viewer-token")
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

#[tokio::test(flavor = "multi_thread")]
async fn rules_are_managed_by_operations_and_validated() {
    let app = start("mon-rules").await;
    let list = app.get("/api/evaluations/rules", "viewer-token").await;
    assert_eq!(list.status, 200, "{}", list.body);
    let cats: Vec<String> = list.json()["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|r| r["category"].as_str().unwrap_or_default().to_string())
        .collect();
    for c in [
        "campaign_performance",
        "content_engagement",
        "distribution_success",
        "resource_utilization",
    ] {
        assert!(cats.iter().any(|x| x == c), "default for {c}: {cats:?}");
    }

    let body = bounce_rule(
        "01JABCDEFGHJKMNPQRSTVWXYZ0",
        json!({"kind": "notify", "url": "https://hooks.example.com/x"}),
        json!({}),
    );
    let refused = app
        .post("/api/evaluations/rules", "marketing-token", body.clone())
        .await;
    assert_eq!(refused.status, 403);
    let anon = app
        .send(
            "POST",
            "/api/evaluations/rules",
            None,
            Some(body.clone()),
            &[],
        )
        .await;
    assert_eq!(anon.status, 401);

    let mut bad = body.clone();
    bad["clear_threshold"] = json!(0.5);
    bad["for"] = json!(0);
    bad["action"] = json!({"kind": "rebalance_resources"});
    let invalid = app
        .post("/api/evaluations/rules", "operations-token", bad)
        .await;
    assert_eq!(invalid.status, 422, "{}", invalid.body);
    assert_eq!(
        invalid.header("content-type"),
        Some("application/problem+json")
    );
    let fields: Vec<String> = invalid.json()["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].as_str().unwrap_or_default().to_string())
        .collect();
    for f in ["clear_threshold", "for", "action"] {
        assert!(fields.iter().any(|x| x == f), "{f} in {fields:?}");
    }
    let mut unknown = body.clone();
    unknown["surprise"] = json!(1);
    let unknown = app
        .post("/api/evaluations/rules", "operations-token", unknown)
        .await;
    assert_eq!(unknown.status, 400);

    let created = app
        .post("/api/evaluations/rules", "operations-token", body.clone())
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["id"].as_str().expect("id").to_string();
    let path = format!("/api/evaluations/rules/{id}");
    assert_eq!(created.header("etag"), Some("\"1\""));

    let mut changed = body.clone();
    changed["fire_threshold"] = json!(0.2);
    let no_match = app
        .send(
            "PUT",
            &path,
            Some("operations-token"),
            Some(changed.clone()),
            &[],
        )
        .await;
    assert_eq!(no_match.status, 428);
    let stale = app
        .send(
            "PUT",
            &path,
            Some("operations-token"),
            Some(changed.clone()),
            &[("if-match", "\"7\"")],
        )
        .await;
    assert_eq!(stale.status, 412);
    let put = app
        .send(
            "PUT",
            &path,
            Some("operations-token"),
            Some(changed),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(put.json()["fire_threshold"], json!(0.2));
    assert_eq!(put.json()["created_by"], json!("olga"));

    let del = app
        .send("DELETE", &path, Some("operations-token"), None, &[])
        .await;
    assert_eq!(del.status, 204);
    assert_eq!(app.get(&path, "viewer-token").await.status, 404);
    app.stop().await;
}

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
    let first = run(&app, support::SCHEDULER_TOKEN, t0).await;
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
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn overlapping_runs_for_the_same_now_evaluate_once() {
    let app = start("mon-overlap").await;
    let now = wall();
    let (a, b) = tokio::join!(
        run(&app, support::SCHEDULER_TOKEN, now),
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
    app.stop().await;
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
    let r = run(&app, "operations-token", wall()).await;
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
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_breach_fires_one_signed_notification_delivered_once_then_resolves() {
    let app = start("mon-episode").await;
    disable_defaults(&app).await;
    let hook = Receiver::spawn().await;
    let c = campaign(&app).await;
    create_rule(&app, bounce_rule(&c, notify(&hook), json!({}))).await;
    let now = wall();
    email_bounces(&app, &c, now, 20).await;
    let fired = run(&app, "operations-token", now).await;
    assert_eq!(fired.status, 200, "{}", fired.body);
    assert_eq!(fired.json()["fired"], json!(1), "{}", fired.body);
    let tid = fired.json()["triggers"][0]
        .as_str()
        .expect("trigger")
        .to_string();

    // Still breaching: the same episode, no second trigger.
    let still = run(&app, "operations-token", now + 60).await;
    assert_eq!(still.json()["fired"], json!(0));
    assert_eq!(still.json()["firing"], json!(1));

    // Two dispatchers at once: the notification goes out exactly once.
    let (d1, d2) = tokio::join!(dispatch(&app, now + 61), dispatch(&app, now + 61));
    assert_eq!(
        (d1.status, d2.status),
        (200, 200),
        "{} / {}",
        d1.body,
        d2.body
    );
    assert_eq!(hook.count(), 1);
    let bodies = hook.verify_all();
    assert!(
        bodies[0]["text"]
            .as_str()
            .unwrap_or_default()
            .contains("bounce watch")
    );
    let t = trigger(&app, &tid).await;
    assert_eq!(t["status"], json!("succeeded"));
    assert_eq!(t["attempts"], json!(1));
    assert_eq!(
        dispatch(&app, now + 600).await.json()["attempted"],
        json!(0)
    );
    assert_eq!(hook.count(), 1);

    // Healthy again (20 / 1100 < 0.05): the episode resolves.
    samples(
        &app,
        &c,
        json!([{"id": "s3", "kind": "sent", "value": 1000, "at": now - 30, "channel": "email"}]),
    )
    .await;
    let resolved = run(&app, "operations-token", now + 120).await;
    assert_eq!(resolved.json()["resolved"], json!(1), "{}", resolved.body);
    let alerts = app
        .get(
            &format!("/api/evaluations/alerts?campaign_id={c}"),
            "viewer-token",
        )
        .await
        .json();
    assert_eq!(alerts["items"][0]["state"], json!("resolved"));
    assert_eq!(alerts["items"][0]["episode"], json!(1));

    // Fired, executed and resolved are in the campaign's audit log.
    let audit = app
        .get(&format!("/api/campaigns/{c}/audit"), "operations-token")
        .await;
    assert_eq!(audit.status, 200, "{}", audit.body);
    for a in ["alert.fired", "trigger.executed", "alert.resolved"] {
        assert!(audit.body.contains(a), "{a} audited: {}", audit.body);
    }
    // The campaign's success report counts them: one episode, one action.
    let report = app
        .get(&format!("/api/campaigns/{c}/report"), "viewer-token")
        .await
        .json();
    assert_eq!(report["triggers_fired"], json!(1), "{report}");
    assert_eq!(report["actions_taken"], json!(1), "{report}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_deliveries_back_off_then_dead_letter_and_replay_delivers_once() {
    let app = start("mon-retry").await;
    disable_defaults(&app).await;
    let hook = Receiver::spawn().await;
    let c = campaign(&app).await;
    create_rule(
        &app,
        bounce_rule(&c, notify(&hook), json!({"max_attempts": 3, "for": 1})),
    )
    .await;
    let now = wall();
    samples(
        &app,
        &c,
        json!([
            {"id": "s1", "kind": "sent", "value": 10, "at": now - 60},
            {"id": "s2", "kind": "bounced", "value": 5, "at": now - 60}
        ]),
    )
    .await;
    let r = run(&app, "operations-token", now).await;
    let tid = r.json()["triggers"][0]
        .as_str()
        .expect("trigger")
        .to_string();

    // Attempt 1: outbound refused by the host.
    app.host.faults().refuse_outbound(true);
    let d = dispatch(&app, now).await;
    assert_eq!(d.json()["attempted"], json!(1), "{}", d.body);
    app.host.faults().refuse_outbound(false);
    let t = trigger(&app, &tid).await;
    assert_eq!(t["status"], json!("pending"));
    let next = t["next_attempt_at"].as_i64().expect("next");
    assert!(
        (now + 15..=now + 30).contains(&next),
        "first backoff {next} - {now}"
    );
    assert_eq!(
        dispatch(&app, next - 1).await.json()["attempted"],
        json!(0),
        "not due yet"
    );

    // Attempts 2 and 3: the endpoint answers 500.
    hook.fail_next(&[500, 500]);
    assert_eq!(dispatch(&app, next).await.json()["attempted"], json!(1));
    let t = trigger(&app, &tid).await;
    let next2 = t["next_attempt_at"].as_i64().expect("next");
    assert!(
        (next + 30..=next + 60).contains(&next2),
        "second backoff grows"
    );
    assert_eq!(dispatch(&app, next2).await.json()["attempted"], json!(1));
    let t = trigger(&app, &tid).await;
    assert_eq!(t["status"], json!("dead_letter"), "{t}");
    assert_eq!(t["attempts"], json!(3));
    assert_eq!(hook.count(), 2);

    let dead = app
        .get("/api/triggers?status=dead_letter", "viewer-token")
        .await;
    assert_eq!(dead.json()["items"][0]["id"], json!(tid));
    assert_eq!(
        dispatch(&app, next2 + 100_000).await.json()["attempted"],
        json!(0)
    );

    // Replay: due at once, delivered once.
    let replay_path = format!("/api/triggers/{tid}/replay");
    assert_eq!(
        app.post(&replay_path, "marketing-token", json!({}))
            .await
            .status,
        403
    );
    let replayed = app.post(&replay_path, "operations-token", json!({})).await;
    assert_eq!(replayed.status, 200, "{}", replayed.body);
    let later = wall().max(next2) + 1;
    assert_eq!(dispatch(&app, later).await.json()["attempted"], json!(1));
    assert_eq!(trigger(&app, &tid).await["status"], json!("succeeded"));
    assert_eq!(hook.count(), 3);
    assert_eq!(hook.verify_all().len(), 3, "every attempt was signed");
    assert_eq!(
        app.post(&replay_path, "operations-token", json!({}))
            .await
            .status,
        409
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn approval_waits_for_an_operations_user_other_than_the_requester() {
    let app = start("mon-approval").await;
    disable_defaults(&app).await;
    let hook = Receiver::spawn().await;
    let c = campaign(&app).await;
    create_rule(
        &app,
        bounce_rule(&c, notify(&hook), json!({"approval": "requires_approval"})),
    )
    .await;
    let now = wall();
    samples(
        &app,
        &c,
        json!([
            {"id": "s1", "kind": "sent", "value": 10, "at": now - 60},
            {"id": "s2", "kind": "bounced", "value": 5, "at": now - 60}
        ]),
    )
    .await;
    let r = run(&app, "operations-token", now).await; // olga requests
    let tid = r.json()["triggers"][0]
        .as_str()
        .expect("trigger")
        .to_string();
    assert_eq!(
        trigger(&app, &tid).await["status"],
        json!("awaiting_approval")
    );
    assert_eq!(dispatch(&app, now + 10).await.json()["attempted"], json!(0));
    assert_eq!(hook.count(), 0);

    let approve = format!("/api/triggers/{tid}/approve");
    let own = app.post(&approve, "operations-token", json!({})).await;
    assert_eq!(
        own.status, 403,
        "the requester may not approve: {}",
        own.body
    );
    assert_eq!(
        app.post(&approve, "viewer-token", json!({})).await.status,
        403
    );
    assert_eq!(
        app.post(&approve, "marketing-token", json!({}))
            .await
            .status,
        403
    );
    let ok = app.post(&approve, "operations2-token", json!({})).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.json()["decided_by"], json!("omar"));
    assert_eq!(
        app.post(&approve, "operations2-token", json!({}))
            .await
            .status,
        409
    );

    assert_eq!(
        dispatch(&app, wall() + 1).await.json()["attempted"],
        json!(1)
    );
    assert_eq!(hook.count(), 1);
    assert_eq!(trigger(&app, &tid).await["status"], json!("succeeded"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn alert_state_survives_a_restart_between_runs() {
    let state = support::state_dir("mon-restart");
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
    let now = wall();
    samples(
        &app,
        &c,
        json!([
            {"id": "s1", "kind": "sent", "value": 10, "at": now - 60},
            {"id": "s2", "kind": "bounced", "value": 5, "at": now - 60}
        ]),
    )
    .await;
    let first = run(&app, "operations-token", now).await;
    assert_eq!(first.json()["pending"], json!(1), "{}", first.body);
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
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cron_scheduler_drives_evaluation_and_dispatch() {
    // The shipped manifest ticks every minute; a copy ticking every second (with
    // absolute sources) runs the same scheduler component through the host's cron.
    let state = support::state_dir("mon-cron");
    std::fs::create_dir_all(&state).expect("state dir");
    let opts = support::options_with_edits(
        &state,
        &[],
        &[(
            "cron_expression = \"0 * * * * *\"",
            "cron_expression = \"* * * * * *\"",
        )],
    );
    let host = opsflow_host::up(opts).await.expect("host starts");
    let client = reqwest::Client::new();
    let mut seen = Value::Null;
    for _ in 0..40 {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        let r = client
            .get(format!("{}/api/evaluations/runs", host.url()))
            .bearer_auth("viewer-token")
            .send()
            .await
            .expect("request");
        seen = r.json().await.expect("json");
        if seen["items"].as_array().is_some_and(|a| a.len() >= 2) {
            break;
        }
    }
    let items = seen["items"].as_array().expect("items");
    assert!(items.len() >= 2, "cron ticks ran evaluations: {seen}");
    assert_eq!(items[0]["requested_by"], json!("system:scheduler"));
    let now = items[0]["now"].as_i64().expect("now");
    assert!(
        (now - wall()).abs() < 30,
        "the tick's timestamp is the run's now"
    );
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_shipped_manifest_under_cron_evaluates_dispatches_and_audits_an_action() {
    // The shipped spin.toml, unedited, with all five components: the scheduler's
    // minute tick reaches the routes by ordinary HTTP at scheduler_base_url (the
    // cron trigger has no service chaining), and trigger-dispatch's action reaches
    // campaign-intake by chaining (the HTTP trigger has it).
    let state = support::state_dir("mon-shipped-cron");
    let host = opsflow_host::up(support::shipped_options(&state))
        .await
        .expect("the shipped manifest starts with every component");
    let app = App {
        host,
        client: reqwest::Client::new(),
        state,
    };
    disable_defaults(&app).await;
    let c = campaign(&app).await;
    let rule = bounce_rule(
        &c,
        json!({"kind": "channel_failover", "max_shift_percent": 50}),
        json!({"scope": {"kind": "campaign", "campaign_id": c, "each_channel": true}}),
    );
    create_rule(&app, rule).await;
    email_bounces(&app, &c, wall(), 40).await;

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
    app.stop().await;
}

fn day(t: i64) -> String {
    rfc3339(t)[..10].to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn each_category_fires_from_posted_metrics_and_its_action_runs_through_the_workflow() {
    let app = start("mon-actions").await;
    disable_defaults(&app).await;
    let now = wall();
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

    let before = app.host.stats();
    let r = run(&app, "operations-token", now).await;
    let after_run = app.host.stats();
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["fired"], json!(4), "{}", r.body);

    let d = dispatch(&app, now + 1).await;
    let after_dispatch = app.host.stats();
    assert_eq!(d.json()["attempted"], json!(4), "{}", d.body);
    let run_calls = after_run.kv_total("threshold-check") - before.kv_total("threshold-check");
    let dispatch_calls =
        after_dispatch.kv_total("trigger-dispatch") - after_run.kv_total("trigger-dispatch");
    eprintln!(
        "KV calls: evaluation run (1 campaign, 4 rules, 4 fired) = {run_calls}; \
         dispatch of 4 triggers = {dispatch_calls} (+ campaign-intake's own for the chained calls)"
    );
    let quiet_before = app.host.stats().kv_total("threshold-check");
    let quiet = run(&app, "operations-token", now + 60).await;
    assert_eq!(quiet.json()["fired"], json!(0));
    let quiet_calls = app.host.stats().kv_total("threshold-check") - quiet_before;
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
    app.stop().await;
}
