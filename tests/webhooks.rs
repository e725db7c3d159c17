//! Platform webhooks and metrics, through the compiled platform-webhooks component
//! (and campaign-metrics' metrics API, which reads what it counts):
//! every signature scheme (good, wrong secret, tampered, stale, rotated), status
//! codes senders retry correctly, exact counters under duplicates, concurrency
//! and injected store faults, and the KV cost of a 100-event batch.

#[path = "platforms/sendgrid.rs"]
mod sendgrid;
mod support;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use opsflow_domain::webhooks::{
    DEDUPE_RETENTION_SECS, REPLAY_WINDOW_SECS, Secret, hubspot, mandrill, standard_webhook_headers,
};
use sendgrid::{
    batch as sendgrid_batch, event as sendgrid_event, headers as sendgrid_headers,
    key as sendgrid_key, post as post_sendgrid, post_raw,
};
use serde_json::{Value, json};
use support::{App, Reply};

const BASE_URL: &str = "https://ops.example.com";
const MANDRILL_KEYS: &str = "mandrill-old-key mandrill-new-key";
const HUBSPOT_SECRETS: &str = "hubspot-secret-old hubspot-secret-new";
const OPS: &str = "operations-token";

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

fn generic_secret(n: u8) -> String {
    format!("whsec_{}", B64.encode(format!("generic-secret-number-{n}")))
}

/// Every platform configured, SendGrid and generic with two keys (rotation).
fn configured() -> Vec<(&'static str, String)> {
    vec![
        (
            "sendgrid_verification_key",
            format!("{} {}", sendgrid_key(1).1, sendgrid_key(2).1),
        ),
        ("mandrill_webhook_key", MANDRILL_KEYS.to_string()),
        ("hubspot_client_secret", HUBSPOT_SECRETS.to_string()),
        (
            "generic_webhook_secret",
            format!("{} {}", generic_secret(1), generic_secret(2)),
        ),
        ("public_base_url", BASE_URL.to_string()),
    ]
}

async fn start(name: &str) -> App {
    let vars = configured();
    let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    App::start_in(&support::state_dir(name), &refs).await
}

// ---- Mandrill ----

fn form_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn mandrill_body(campaign: &str, ids: &[&str]) -> Vec<u8> {
    mandrill_body_at(campaign, ids, now())
}

/// Open events of messages `ids` for `campaign`, each with `ts` = `ts`.
fn mandrill_body_at(campaign: &str, ids: &[&str], ts: i64) -> Vec<u8> {
    let events: Vec<Value> = ids
        .iter()
        .map(|id| {
            json!({
                "event": "open",
                "_id": id,
                "ts": ts,
                "msg": { "_id": id, "metadata": { "campaign_id": campaign, "channel": "email" }, "tags": [] }
            })
        })
        .collect();
    format!(
        "mandrill_events={}",
        form_encode(&Value::Array(events).to_string())
    )
    .into_bytes()
}

fn mandrill_headers(key: &str, body: &[u8]) -> Vec<(String, String)> {
    let url = format!("{BASE_URL}/webhooks/mandrill");
    vec![
        (
            "content-type".into(),
            "application/x-www-form-urlencoded".into(),
        ),
        (
            "X-Mandrill-Signature".into(),
            mandrill::signature(key, &url, body),
        ),
    ]
}

// ---- HubSpot ----

fn hubspot_body(campaign: &str, ids: &[u64]) -> Vec<u8> {
    let events: Vec<Value> = ids
        .iter()
        .map(|id| {
            json!({
                "eventId": id, "subscriptionId": 7, "portalId": 99, "occurredAt": now() * 1000,
                "subscriptionType": "contact.propertyChange", "objectId": 1,
                "propertyName": "hs_email_open", "propertyValue": "1",
                "properties": { "campaign_id": campaign, "channel": "email" }
            })
        })
        .collect();
    serde_json::to_vec(&events).expect("json")
}

fn hubspot_headers(secret: &str, body: &[u8], ts_ms: i64) -> Vec<(String, String)> {
    let url = format!("{BASE_URL}/webhooks/hubspot");
    let ts = ts_ms.to_string();
    vec![
        ("content-type".into(), "application/json".into()),
        (
            "X-HubSpot-Signature-v3".into(),
            hubspot::signature(secret, "POST", &url, body, &ts),
        ),
        ("X-HubSpot-Request-Timestamp".into(), ts),
    ]
}

// ---- generic (Standard Webhooks) ----

fn generic_body(campaign: &str, ids: &[&str]) -> Vec<u8> {
    let events: Vec<Value> = ids
        .iter()
        .map(|id| json!({ "id": id, "type": "conversions", "occurred_at": now(), "campaign_id": campaign, "channel": "web" }))
        .collect();
    serde_json::to_vec(&events).expect("json")
}

fn generic_headers(secret: &str, msg_id: &str, ts: i64, body: &[u8]) -> Vec<(String, String)> {
    let secret = Secret::parse(secret).expect("secret");
    let mut h: Vec<(String, String)> = standard_webhook_headers(&secret, msg_id, ts, body)
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    h.push(("content-type".into(), "application/json".into()));
    h
}

// ---- reading counters ----

async fn totals(app: &App, campaign: &str) -> Value {
    let path = format!(
        "/api/campaigns/{campaign}/metrics?from={}&to={}",
        now() - 2 * 86_400,
        now() + 86_400
    );
    let r = app.get(&path, OPS).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["totals"].clone()
}

fn tamper(body: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(body)
        .replacen("open", "click", 1)
        .into_bytes()
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicate_sendgrid_event_is_counted_once() {
    let app = start("wh-sendgrid").await;
    let mut events: Vec<Value> = (0..6)
        .map(|i| sendgrid_event(&format!("sg-{i}"), ["open", "click"][i % 2], Some("c-sg")))
        .collect();
    events.push(sendgrid_event("sg-0", "open", Some("c-sg"))); // repeated in the batch
    events.push(sendgrid_event("sg-x", "group_resubscribe", Some("c-sg"))); // unknown kind
    let body = serde_json::to_vec(&events).unwrap();
    let r = post_sendgrid(&app, body.clone()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["accepted"], 7, "{}", r.body);
    assert_eq!(r.json()["unknown"], 1);
    assert_eq!(r.json()["duplicates"], 1);
    assert_eq!(
        totals(&app, "c-sg").await,
        json!({"opened": 3, "clicked": 3})
    );

    // The same batch again (a sender retry): a 2xx, nothing counted twice.
    let again = post_sendgrid(&app, body).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.json()["accepted"], 0);
    assert_eq!(
        totals(&app, "c-sg").await,
        json!({"opened": 3, "clicked": 3})
    );

    // The second configured key (rotation) verifies too.
    let body = sendgrid_batch("rot", "c-sg", 3);
    let headers = sendgrid_headers(&sendgrid_key(2).0, &now().to_string(), &body);
    let r = post_raw(&app, "/webhooks/sendgrid", &headers, body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        totals(&app, "c-sg").await,
        json!({"opened": 4, "clicked": 4, "delivered": 1})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sendgrid_rejects_bad_signatures_and_malformed_bodies() {
    let app = start("wh-sendgrid-bad").await;
    let body = sendgrid_batch("bad", "c-bad", 3);
    let ts = now().to_string();
    // Signed by a key that is not configured.
    let wrong = sendgrid_headers(&sendgrid_key(9).0, &ts, &body);
    let r = post_raw(&app, "/webhooks/sendgrid", &wrong, body.clone()).await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    // Signed, then tampered with.
    let good = sendgrid_headers(&sendgrid_key(1).0, &ts, &body);
    let r = post_raw(&app, "/webhooks/sendgrid", &good, tamper(&body)).await;
    assert_eq!(r.status, 401, "{}", r.body);
    // The timestamp is signed too.
    let mut moved = good.clone();
    moved[2].1 = (now() - 5).to_string();
    let r = post_raw(&app, "/webhooks/sendgrid", &moved, body.clone()).await;
    assert_eq!(r.status, 401, "{}", r.body);
    // No signature headers at all.
    let r = post_raw(&app, "/webhooks/sendgrid", &[], body.clone()).await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(totals(&app, "c-bad").await, json!({}));
    // Correctly signed but not a batch.
    let junk = br#"{"event":"open"}"#.to_vec();
    let r = post_raw(
        &app,
        "/webhooks/sendgrid",
        &sendgrid_headers(&sendgrid_key(1).0, &ts, &junk),
        junk,
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    let junk = b"not json".to_vec();
    let r = post_raw(
        &app,
        "/webhooks/sendgrid",
        &sendgrid_headers(&sendgrid_key(1).0, &ts, &junk),
        junk,
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    // Unknown platform; oversized body.
    let r = post_raw(&app, "/webhooks/mailgun", &[], b"[]".to_vec()).await;
    assert_eq!(r.status, 404, "{}", r.body);
    let huge = vec![b' '; 1024 * 1024 + 1];
    let r = post_raw(&app, "/webhooks/sendgrid", &good, huge).await;
    assert_eq!(r.status, 413, "{}", r.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn mandrill_webhooks_verify_count_and_answer_the_url_check() {
    let app = start("wh-mandrill").await;
    let head = app
        .send("HEAD", "/webhooks/mandrill", None, None, &[])
        .await;
    assert_eq!(head.status, 200);
    let get = app.send("GET", "/webhooks/mandrill", None, None, &[]).await;
    assert_eq!(get.status, 200, "{}", get.body);

    let body = mandrill_body("c-md", &["m1", "m2", "m3"]);
    let r = post_raw(
        &app,
        "/webhooks/mandrill",
        &mandrill_headers("mandrill-old-key", &body),
        body.clone(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(totals(&app, "c-md").await, json!({"opened": 3}));
    // Redelivered: counted once.
    let r = post_raw(
        &app,
        "/webhooks/mandrill",
        &mandrill_headers("mandrill-old-key", &body),
        body.clone(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(totals(&app, "c-md").await, json!({"opened": 3}));
    // Rotated key.
    let body2 = mandrill_body("c-md", &["m4"]);
    let r = post_raw(
        &app,
        "/webhooks/mandrill",
        &mandrill_headers("mandrill-new-key", &body2),
        body2,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Wrong key, tampered body, missing signature.
    let body3 = mandrill_body("c-md", &["m5"]);
    let r = post_raw(
        &app,
        "/webhooks/mandrill",
        &mandrill_headers("not-the-key", &body3),
        body3.clone(),
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.body);
    let signed = mandrill_headers("mandrill-old-key", &body3);
    let r = post_raw(
        &app,
        "/webhooks/mandrill",
        &signed,
        mandrill_body("c-md", &["m6"]),
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.body);
    let r = post_raw(&app, "/webhooks/mandrill", &signed[..1], body3).await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(totals(&app, "c-md").await, json!({"opened": 4}));
    // Signed, but without the events field.
    let junk = b"something_else=1".to_vec();
    let r = post_raw(
        &app,
        "/webhooks/mandrill",
        &mandrill_headers("mandrill-old-key", &junk),
        junk,
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn hubspot_webhooks_verify_within_five_minutes() {
    let app = start("wh-hubspot").await;
    let body = hubspot_body("c-hs", &[1, 2]);
    let ms = now() * 1000;
    let r = post_raw(
        &app,
        "/webhooks/hubspot",
        &hubspot_headers("hubspot-secret-old", &body, ms),
        body.clone(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = post_raw(
        &app,
        "/webhooks/hubspot",
        &hubspot_headers("hubspot-secret-old", &body, ms),
        body.clone(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(totals(&app, "c-hs").await, json!({"opened": 2}));
    let rotated = hubspot_body("c-hs", &[3]);
    let r = post_raw(
        &app,
        "/webhooks/hubspot",
        &hubspot_headers("hubspot-secret-new", &rotated, ms),
        rotated,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);

    let other = hubspot_body("c-hs", &[4]);
    let stale = now() * 1000 - 6 * 60 * 1000;
    let r = post_raw(
        &app,
        "/webhooks/hubspot",
        &hubspot_headers("hubspot-secret-old", &other, stale),
        other.clone(),
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.body);
    let r = post_raw(
        &app,
        "/webhooks/hubspot",
        &hubspot_headers("wrong-secret", &other, ms),
        other.clone(),
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.body);
    let r = post_raw(
        &app,
        "/webhooks/hubspot",
        &hubspot_headers("hubspot-secret-old", &other, ms),
        hubspot_body("c-hs", &[5]),
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(totals(&app, "c-hs").await, json!({"opened": 3}));
    let junk = b"{}".to_vec();
    let r = post_raw(
        &app,
        "/webhooks/hubspot",
        &hubspot_headers("hubspot-secret-old", &junk, ms),
        junk,
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn generic_standard_webhooks_verify_and_dedupe() {
    let app = start("wh-generic").await;
    let body = generic_body("c-gen", &["g1", "g2"]);
    let r = post_raw(
        &app,
        "/webhooks/generic",
        &generic_headers(&generic_secret(1), "msg_1", now(), &body),
        body.clone(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // A redelivery is signed afresh (new timestamp) but carries the same events.
    let r = post_raw(
        &app,
        "/webhooks/generic",
        &generic_headers(&generic_secret(1), "msg_1", now(), &body),
        body.clone(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let body2 = generic_body("c-gen", &["g3"]);
    let r = post_raw(
        &app,
        "/webhooks/generic",
        &generic_headers(&generic_secret(2), "msg_2", now(), &body2),
        body2,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(totals(&app, "c-gen").await, json!({"conversions": 3}));

    let other = generic_body("c-gen", &["g4"]);
    let stale = generic_headers(&generic_secret(1), "msg_3", now() - 600, &other);
    let r = post_raw(&app, "/webhooks/generic", &stale, other.clone()).await;
    assert_eq!(r.status, 401, "{}", r.body);
    let wrong = generic_headers(&generic_secret(7), "msg_3", now(), &other);
    let r = post_raw(&app, "/webhooks/generic", &wrong, other.clone()).await;
    assert_eq!(r.status, 401, "{}", r.body);
    let good = generic_headers(&generic_secret(1), "msg_3", now(), &other);
    let r = post_raw(
        &app,
        "/webhooks/generic",
        &good,
        generic_body("c-gen", &["g5"]),
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(totals(&app, "c-gen").await, json!({"conversions": 3}));
    let junk = b"[1,".to_vec();
    let r = post_raw(
        &app,
        "/webhooks/generic",
        &generic_headers(&generic_secret(1), "msg_4", now(), &junk),
        junk,
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn unconfigured_platforms_answer_503_with_retry_after() {
    let app = support::start("wh-unconfigured").await;
    for platform in ["sendgrid", "mandrill", "hubspot", "generic"] {
        let r = post_raw(&app, &format!("/webhooks/{platform}"), &[], b"[]".to_vec()).await;
        assert_eq!(r.status, 503, "{platform}: {}", r.body);
        assert!(r.header("retry-after").is_some(), "{platform}");
        assert_eq!(r.header("content-type"), Some("application/problem+json"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn unattributed_and_unknown_events_are_kept_for_inspection() {
    let app = start("wh-unattributed").await;
    let events = vec![
        sendgrid_event("u-1", "open", None),
        sendgrid_event("u-2", "delivered", None),
        sendgrid_event("u-3", "group_resubscribe", None),
    ];
    let r = post_sendgrid(&app, serde_json::to_vec(&events).unwrap()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (
            r.json()["unattributed"].clone(),
            r.json()["unknown"].clone()
        ),
        (json!(2), json!(1))
    );
    let r = app
        .get("/api/campaigns/metrics/unattributed?platform=sendgrid", OPS)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["unattributed"], json!({"opened": 1, "delivered": 1}));
    assert_eq!(v["unknown"], json!({"group_resubscribe": 1}));
    assert_eq!(v["samples"].as_array().map(Vec::len), Some(2));
    let r = app
        .get("/api/campaigns/metrics/unattributed?platform=nope", OPS)
        .await;
    assert_eq!(r.status, 400);
    let r = app
        .get(
            "/api/campaigns/metrics/unattributed?platform=sendgrid",
            "viewer-token",
        )
        .await;
    assert_eq!(r.status, 403);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_store_fault_mid_batch_is_503_and_the_retry_counts_exactly_once() {
    if support::needs_in_process_host("fault injection") {
        return;
    }
    store_fault_at_every_call_of_a_batch("wh-faults", |app, n| app.host().faults().fail_kv(n, 1))
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_write_that_landed_but_reported_failure_mid_batch_is_counted_exactly_once() {
    if support::needs_in_process_host("fault injection") {
        return;
    }
    store_fault_at_every_call_of_a_batch("wh-faults-after-write", |app, n| {
        app.host().faults().fail_kv_after_writing(n, 1)
    })
    .await;
}

/// Fails the `n`th KV call of a batch (as `fail` injects it) for each `n`, then
/// redelivers the batch as a platform does after a 503: the totals are exact.
async fn store_fault_at_every_call_of_a_batch(name: &str, fail: impl Fn(&App, u64)) {
    let app = start(name).await;
    let mut failed = 0;
    for n in 0..10u64 {
        let campaign = format!("c-fault-{n}");
        let body = sendgrid_batch(&format!("f{n}"), &campaign, 30);
        fail(&app, n);
        let first = post_sendgrid(&app, body.clone()).await;
        app.host().faults().clear();
        if first.status != 200 {
            failed += 1;
            assert_eq!(first.status, 503, "fault at {n}: {}", first.body);
            assert!(first.header("retry-after").is_some(), "fault at {n}");
        }
        let retry = post_sendgrid(&app, body).await;
        assert_eq!(
            retry.status, 200,
            "retry after fault at {n}: {}",
            retry.body
        );
        assert_eq!(
            totals(&app, &campaign).await,
            json!({"delivered": 10, "opened": 10, "clicked": 10}),
            "fault at {n}"
        );
    }
    assert!(failed >= 4, "only {failed} injected faults hit the batch");
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_batches_to_one_campaign_hour_lose_nothing() {
    let app = start("wh-concurrent").await;
    let mut tasks = Vec::new();
    for i in 0..12 {
        let body = sendgrid_batch(&format!("cc{i}"), "c-busy", 9);
        tasks.push(body);
    }
    // The same batch delivered four times at once as well.
    let repeated = sendgrid_batch("same", "c-busy", 9);
    for _ in 0..4 {
        tasks.push(repeated.clone());
    }
    let app = std::sync::Arc::new(app);
    let handles: Vec<_> = tasks
        .into_iter()
        .map(|body| {
            let app = app.clone();
            tokio::spawn(async move { post_sendgrid(&app, body).await })
        })
        .collect();
    for h in handles {
        let r = h.await.expect("task");
        assert_eq!(r.status, 200, "{}", r.body);
    }
    assert_eq!(
        totals(&app, "c-busy").await,
        json!({"delivered": 39, "opened": 39, "clicked": 39})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hundred_event_batch_costs_at_most_ten_kv_calls() {
    if support::needs_in_process_host("KV counters") {
        return;
    }
    let app = start("wh-cost").await;
    let mut costs = Vec::new();
    for i in 0..3 {
        let body = sendgrid_batch(&format!("cost{i}"), "c-cost", 100);
        let before = app.host().stats().kv_total("platform-webhooks");
        let r = post_sendgrid(&app, body).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let after = app.host().stats().kv_total("platform-webhooks");
        costs.push(after - before);
    }
    let detail = app.host().stats().kv_calls;
    println!(
        "KV calls per 100-event SendGrid batch (first, second, third): {costs:?}; totals by op: {detail:?}"
    );
    assert!(costs.iter().all(|c| *c <= 10), "{costs:?}");
    assert_eq!(
        totals(&app, "c-cost").await["opened"],
        json!(99),
        "3 × 33 opens"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn manual_samples_are_counted_once_and_read_back_by_day() {
    let app = support::start("wh-manual").await;
    let at = now() - 3_600;
    let body = json!({"samples": [
        {"id": "s1", "kind": "conversions", "value": 4, "at": at, "channel": "web"},
        {"id": "s2", "kind": "spend", "value": 1250, "at": at, "channel": "web", "content_id": "ad-1"},
    ]});
    let r = app
        .post(
            "/api/campaigns/c-manual/metrics",
            "marketing-token",
            body.clone(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["accepted"], 2);
    let r = app
        .post("/api/campaigns/c-manual/metrics", "operations-token", body)
        .await;
    assert_eq!((r.status, r.json()["duplicates"].clone()), (200, json!(2)));
    let r = app
        .get(
            "/api/campaigns/c-manual/metrics?granularity=day",
            "viewer-token",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["totals"], json!({"conversions": 4, "spend": 1250}));
    assert_eq!(v["by_content"]["ad-1"], json!({"spend": 1250}));
    assert_eq!(v["granularity"], "day");
    assert_eq!(
        v["buckets"][0]["start"].as_i64().map(|s| s % 86_400),
        Some(0)
    );
    // One channel's series for a per-channel chart.
    let sms = json!({"samples": [{"id": "s3", "kind": "conversions", "value": 9, "at": at, "channel": "sms"}]});
    let r = app
        .post("/api/campaigns/c-manual/metrics", "marketing-token", sms)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let only_web = app
        .get(
            "/api/campaigns/c-manual/metrics?channel=web",
            "viewer-token",
        )
        .await
        .json();
    assert_eq!(only_web["channel"], "web");
    assert_eq!(only_web["totals"], json!({"conversions": 4, "spend": 1250}));
    assert_eq!(only_web["buckets"][0]["counts"]["conversions"], 4);
    let every = app
        .get("/api/campaigns/c-manual/metrics", "viewer-token")
        .await
        .json();
    assert_eq!(every["totals"]["conversions"], 13);

    let bad = json!({"samples": [{"id": "", "kind": "likes", "value": -1, "at": "yesterday"}]});
    let r = app
        .post("/api/campaigns/c-manual/metrics", "marketing-token", bad)
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.json()["errors"].as_array().map(Vec::len), Some(3));
    let unknown_field = json!({"samples": [], "extra": 1});
    let r = app
        .post(
            "/api/campaigns/c-manual/metrics",
            "marketing-token",
            unknown_field,
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = app
        .post(
            "/api/campaigns/c-manual/metrics",
            "viewer-token",
            json!({"samples": []}),
        )
        .await;
    assert_eq!(r.status, 403);
    let r = app
        .send("GET", "/api/campaigns/c-manual/metrics", None, None, &[])
        .await;
    assert_eq!(r.status, 401);
    let r = app
        .get("/api/campaigns/c-manual/metrics?granularity=week", OPS)
        .await;
    assert_eq!(r.status, 400);
    let r = app
        .get("/api/campaigns/c-manual/metrics?from=7200&to=3600", OPS)
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(
        totals(&app, "c-manual").await,
        json!({"conversions": 13, "spend": 1250})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn cleanup_is_for_operations_and_keeps_recent_dedupe_ids() {
    let app = start("wh-cleanup").await;
    let body = sendgrid_batch("keep", "c-clean", 6);
    assert_eq!(post_sendgrid(&app, body.clone()).await.status, 200);
    let r = app
        .post("/api/campaigns/metrics/cleanup", OPS, json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["days"], json!([]));
    let r = app
        .post(
            "/api/campaigns/metrics/cleanup",
            OPS,
            json!({"now": now() + 10 * 86_400}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    let r = app
        .post(
            "/api/campaigns/metrics/cleanup",
            "marketing-token",
            json!({}),
        )
        .await;
    assert_eq!(r.status, 403);
    // Recent dedupe ids survive the pass.
    assert_eq!(post_sendgrid(&app, body).await.json()["accepted"], 0);
    assert_eq!(
        totals(&app, "c-clean").await,
        json!({"delivered": 2, "opened": 2, "clicked": 2})
    );
}

// ---- Standard Webhooks messages (the specification's single-object payload) ----

/// The specification's "thin payload" example.
fn spec_contact_created() -> Value {
    json!({
        "type": "contact.created",
        "timestamp": "2022-11-03T20:26:10.344522Z",
        "data": { "id": "1f81eb52-5198-4599-803e-771906343485" }
    })
}

/// The specification's first example payload, of a type we do not count.
fn spec_example_event() -> Value {
    json!({
        "type": "example.event",
        "timestamp": "2022-11-03T20:26:10.344522Z",
        "data": { "foo": "bar", "fizzbuzz": 2 }
    })
}

/// Posts `message` (minified, as libraries send it) signed now under `msg_id`.
async fn post_message(app: &App, msg_id: &str, message: &Value) -> Reply {
    let body = serde_json::to_vec(message).expect("json");
    let headers = generic_headers(&generic_secret(1), msg_id, now(), &body);
    post_raw(app, "/webhooks/generic", &headers, body).await
}

/// Totals of `campaign` for buckets in `[from, to)`.
async fn totals_between(app: &App, campaign: &str, from: &str, to: &str) -> Value {
    let path = format!("/api/campaigns/{campaign}/metrics?from={from}&to={to}");
    let r = app.get(&path, OPS).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

#[test]
fn the_test_signer_reproduces_the_specifications_signature() {
    // The specification's own test vector (what its reference libraries produce).
    let headers = generic_headers(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1_614_265_330,
        br#"{"test": 2432232314}"#,
    );
    let signature = headers.iter().find(|(k, _)| k == "webhook-signature");
    assert_eq!(
        signature.map(|(_, v)| v.as_str()),
        Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_standard_webhooks_message_is_counted_once_by_its_webhook_id() {
    let app = start("wh-std-message").await;
    // The specification's example, attributed to a campaign.
    let mut message = spec_contact_created();
    message["data"]["campaign_id"] = json!("c-std");
    let r = post_message(&app, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", &message).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (
            r.json()["accepted"].clone(),
            r.json()["unattributed"].clone()
        ),
        (json!(1), json!(0)),
        "{}",
        r.body
    );
    // A retry: same webhook-id, signed afresh. Acknowledged, not recounted.
    let again = post_message(&app, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", &message).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(
        (
            again.json()["accepted"].clone(),
            again.json()["duplicates"].clone()
        ),
        (json!(0), json!(1))
    );
    // Counted in the hour the event occurred (its `timestamp`), not of receipt.
    let day = totals_between(
        &app,
        "c-std",
        "2022-11-03T00:00:00Z",
        "2022-11-04T00:00:00Z",
    )
    .await;
    assert_eq!(day["totals"], json!({"conversions": 1}), "{day}");
    assert_eq!(day["buckets"][0]["start_at"], "2022-11-03T20:00:00Z");

    // A medium event with a count: the medium is the channel unless data says.
    let opened = json!({"type": "email.opened", "timestamp": support::rfc3339(now()),
                        "data": {"campaign_id": "c-std", "count": 3, "content_id": "k-1"}});
    let r = post_message(&app, "msg_opened_1", &opened).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = totals_between(
        &app,
        "c-std",
        &(now() - 86_400).to_string(),
        &(now() + 86_400).to_string(),
    )
    .await;
    assert_eq!(v["totals"], json!({"opened": 3}), "{v}");
    assert_eq!(v["by_channel"]["email"], json!({"opened": 3}));
    assert_eq!(v["by_content"]["k-1"], json!({"opened": 3}));
}

#[tokio::test(flavor = "multi_thread")]
async fn unattributed_and_unknown_standard_webhooks_messages_are_kept_and_inspectable() {
    let app = start("wh-std-kept").await;
    // The specification's example as is: a known type without a campaign.
    let r = post_message(&app, "msg_thin", &spec_contact_created()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["unattributed"], 1, "{}", r.body);
    // A type we do not count: acknowledged (2xx, no retry loop) and kept.
    let r = post_message(&app, "msg_example", &spec_example_event()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (r.json()["accepted"].clone(), r.json()["unknown"].clone()),
        (json!(1), json!(1))
    );
    let again = post_message(&app, "msg_example", &spec_example_event()).await;
    assert_eq!(again.json()["duplicates"], 1, "{}", again.body);
    // No `type` at all, and a known type that cannot be counted: kept too.
    let r = post_message(&app, "msg_untyped", &json!({"hello": "world"})).await;
    assert_eq!(
        (r.status, r.json()["unknown"].clone()),
        (200, json!(1)),
        "{}",
        r.body
    );
    let bad = json!({"type": "email.opened", "timestamp": "yesterday"});
    let r = post_message(&app, "msg_bad_time", &bad).await;
    assert_eq!(
        (r.status, r.json()["unknown"].clone()),
        (200, json!(1)),
        "{}",
        r.body
    );

    let r = app
        .get("/api/campaigns/metrics/unattributed?platform=generic", OPS)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["unattributed"], json!({"conversions": 1}), "{v}");
    assert_eq!(
        v["unknown"],
        json!({"example.event": 1, "untyped": 1, "not_counted:email.opened": 1}),
        "{v}"
    );
    let samples = v["samples"].as_array().cloned().unwrap_or_default();
    let kept = |id: &str| {
        samples
            .iter()
            .find(|s| s["message"]["webhook_id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("{id} not kept: {v}"))
    };
    assert_eq!(
        kept("msg_thin")["message"]["payload"],
        spec_contact_created()
    );
    assert_eq!(kept("msg_thin")["kind"], "conversions");
    assert_eq!(
        kept("msg_example")["message"]["payload"],
        spec_example_event()
    );
    assert_eq!(kept("msg_example")["kind"], "example.event");
    let reason = kept("msg_bad_time")["message"]["not_counted"].clone();
    assert!(
        reason.as_str().is_some_and(|r| r.contains("RFC 3339")),
        "{reason}"
    );
    assert_eq!(samples.len(), 4, "{v}");
}

fn problem_type(r: &Reply) -> String {
    assert_eq!(
        r.header("content-type"),
        Some("application/problem+json"),
        "{}",
        r.body
    );
    r.json()["type"].as_str().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_signed_outside_the_replay_window_is_401_on_every_platform() {
    let app = start("wh-replay-window").await;
    let key = sendgrid_key(1).0;
    // A SendGrid batch signed when its dedupe records would already be gone.
    let body = sendgrid_batch("old", "c-window", 3);
    let gone = (now() - DEDUPE_RETENTION_SECS).to_string();
    let r = post_raw(
        &app,
        "/webhooks/sendgrid",
        &sendgrid_headers(&key, &gone, &body),
        body.clone(),
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(problem_type(&r).ends_with("replay-window"), "{}", r.body);
    assert_eq!(r.json()["max_age_secs"], REPLAY_WINDOW_SECS, "{}", r.body);
    assert!(
        r.json()["detail"]
            .as_str()
            .is_some_and(|d| d.contains("replay")),
        "{}",
        r.body
    );
    // Just past the window; and in the future beyond clock skew.
    let past = (now() - REPLAY_WINDOW_SECS - 60).to_string();
    let r = post_raw(
        &app,
        "/webhooks/sendgrid",
        &sendgrid_headers(&key, &past, &body),
        body.clone(),
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.body);
    let ahead = (now() + 900).to_string();
    let r = post_raw(
        &app,
        "/webhooks/sendgrid",
        &sendgrid_headers(&key, &ahead, &body),
        body.clone(),
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(problem_type(&r).ends_with("replay-window"));
    assert_eq!(r.json()["max_ahead_secs"], 300, "{}", r.body);
    assert_eq!(totals(&app, "c-window").await, json!({}));
    // Inside the window (SendGrid retries for a day): counted.
    let within = (now() - REPLAY_WINDOW_SECS + 600).to_string();
    let r = post_raw(
        &app,
        "/webhooks/sendgrid",
        &sendgrid_headers(&key, &within, &body),
        body,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        totals(&app, "c-window").await,
        json!({"delivered": 1, "opened": 1, "clicked": 1})
    );
    // An event older than the window in a fresh batch is listed, not counted.
    let mut stale = sendgrid_event("old-event", "open", Some("c-window"));
    stale["timestamp"] = json!(now() - DEDUPE_RETENTION_SECS);
    let r = post_sendgrid(&app, serde_json::to_vec(&[stale]).expect("json")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["accepted"], 0, "{}", r.body);
    let reason = r.json()["rejected"][0]["reason"].clone();
    assert!(
        reason.as_str().is_some_and(|s| s.contains("replay window")),
        "{}",
        r.body
    );

    // HubSpot (v3 signs its timestamp): five minutes either way.
    let hs = hubspot_body("c-window", &[1]);
    for ms in [now() * 1000 - 6 * 60 * 1000, now() * 1000 + 10 * 60 * 1000] {
        let r = post_raw(
            &app,
            "/webhooks/hubspot",
            &hubspot_headers("hubspot-secret-old", &hs, ms),
            hs.clone(),
        )
        .await;
        assert_eq!(r.status, 401, "{}", r.body);
        assert!(problem_type(&r).ends_with("replay-window"), "{}", r.body);
    }
    // Standard Webhooks: five minutes either way.
    let msg = serde_json::to_vec(&spec_contact_created()).expect("json");
    for ts in [now() - 600, now() + 600] {
        let r = post_raw(
            &app,
            "/webhooks/generic",
            &generic_headers(&generic_secret(1), "msg_w", ts, &msg),
            msg.clone(),
        )
        .await;
        assert_eq!(r.status, 401, "{}", r.body);
        assert!(problem_type(&r).ends_with("replay-window"), "{}", r.body);
    }
    // A bad signature stays a bad signature.
    let wrong = generic_headers(&generic_secret(9), "msg_w", now(), &msg);
    let r = post_raw(&app, "/webhooks/generic", &wrong, msg).await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(problem_type(&r).ends_with("bad-signature"), "{}", r.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replayed_mandrill_batch_counts_nothing_once_its_events_are_older_than_the_window() {
    let app = start("wh-mandrill-replay").await;
    // Mandrill signs no time: a captured batch verifies forever. Its events'
    // `ts` (signed with the body) bound the replay instead.
    let old = mandrill_body_at("c-md-replay", &["r1", "r2"], now() - DEDUPE_RETENTION_SECS);
    let r = post_raw(
        &app,
        "/webhooks/mandrill",
        &mandrill_headers("mandrill-old-key", &old),
        old,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["accepted"], 0, "{}", r.body);
    let rejected = r.json()["rejected"].as_array().cloned().unwrap_or_default();
    assert_eq!(rejected.len(), 2, "{}", r.body);
    assert!(
        rejected.iter().all(|e| e["reason"]
            .as_str()
            .is_some_and(|s| s.contains("replay window"))),
        "{}",
        r.body
    );
    let ahead = mandrill_body_at("c-md-replay", &["r3"], now() + 3_600);
    let r = post_raw(
        &app,
        "/webhooks/mandrill",
        &mandrill_headers("mandrill-old-key", &ahead),
        ahead,
    )
    .await;
    assert_eq!(
        (r.status, r.json()["accepted"].clone()),
        (200, json!(0)),
        "{}",
        r.body
    );
    // Inside the window it counts, once, however often it is replayed.
    let at = now() - REPLAY_WINDOW_SECS + 600;
    let late = mandrill_body_at("c-md-replay", &["r4"], at);
    for _ in 0..2 {
        let r = post_raw(
            &app,
            "/webhooks/mandrill",
            &mandrill_headers("mandrill-old-key", &late),
            late.clone(),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let v = totals_between(
        &app,
        "c-md-replay",
        &(at - 3_600).to_string(),
        &(now() + 3_600).to_string(),
    )
    .await;
    assert_eq!(v["totals"], json!({"opened": 1}), "{v}");
}
