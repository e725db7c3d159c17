//! Bounded work per request: a run over more campaigns than one chunk answers 202
//! until it is done, each call evaluating the next chunk in id order; a later tick
//! finishes the unfinished one first; and a store failure at any KV call of a
//! chunked run (every chunk boundary among them), resumed by calling again, neither
//! skips a campaign nor evaluates one twice.

use crate::builders::{SECRET, bounce_rule, campaign, create_rule, disable_defaults, half_bounced};
use crate::support::{self, App, Reply, now_secs};
use serde_json::{Value, json};

/// Campaigns per chunk in these tests (`evaluation_chunk_campaigns`).
const CHUNK: usize = 3;

/// Campaigns in these tests: three chunks, the last one short.
const CAMPAIGNS: usize = 8;

/// The app with three campaigns per chunk and one chunk per request (a zero time
/// budget), and no cron ticks (an empty scheduler token makes the scheduler skip
/// them), so only the test's calls run.
async fn start(name: &str) -> App {
    let chunk = CHUNK.to_string();
    App::start_in(
        &support::state_dir(name),
        &[
            ("notify_signing_secret", SECRET),
            ("evaluation_chunk_campaigns", chunk.as_str()),
            ("evaluation_request_budget_ms", "0"),
            ("scheduler_token", ""),
        ],
    )
    .await
}

/// [`CAMPAIGNS`] campaigns, each breaching its own bounce rule (half bounced, a day's
/// window) from the first tick on, firing at once and notifying again every minute:
/// every tick steps each alert once (its `breaches` counts the ticks) and writes one
/// trigger per campaign (the fire, then a repeat). Sorted by id.
async fn breaching_campaigns(app: &App, t0: i64) -> Vec<String> {
    campaigns_with_own_rule(
        app,
        t0,
        json!({
            "for": 1,
            "repeat_interval_secs": 60,
            "metric": {"kind": "ratio", "numerator": ["bounced"], "denominator": ["sent"], "window_secs": 86_400},
        }),
    )
    .await
}

/// [`CAMPAIGNS`] campaigns, half bounced, each with its own notifying bounce rule
/// (`extra` overriding the rule's fields) and the defaults disabled. Sorted by id.
async fn campaigns_with_own_rule(app: &App, t0: i64, extra: Value) -> Vec<String> {
    disable_defaults(app).await;
    let mut ids = Vec::new();
    for _ in 0..CAMPAIGNS {
        let c = campaign(app).await;
        let rule = bounce_rule(
            &c,
            json!({"kind": "notify", "url": "https://hooks.example.com/x"}),
            extra.clone(),
        );
        create_rule(app, rule).await;
        half_bounced(app, &c, t0).await;
        ids.push(c);
    }
    ids.sort();
    ids
}

async fn call(app: &App, now: i64) -> Reply {
    app.post(
        "/api/evaluations/run",
        "operations-token",
        json!({ "now": now }),
    )
    .await
}

/// Every campaign's alert: `(state, breaches)`.
async fn alerts(app: &App, ids: &[String]) -> Vec<(String, i64)> {
    alert_items(app, ids)
        .await
        .iter()
        .map(|a| {
            (
                a["state"].as_str().unwrap_or_default().to_string(),
                a["breaches"].as_i64().unwrap_or(-1),
            )
        })
        .collect()
}

/// Every campaign's one alert, as the API lists it.
async fn alert_items(app: &App, ids: &[String]) -> Vec<Value> {
    let mut out = Vec::new();
    for c in ids {
        let r = app
            .get(
                &format!("/api/evaluations/alerts?campaign_id={c}"),
                "viewer-token",
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let items = r.json()["items"].as_array().cloned().unwrap_or_default();
        assert_eq!(items.len(), 1, "{c}: {}", r.body);
        out.push(items[0].clone());
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_over_more_campaigns_than_a_chunk_answers_202_until_every_campaign_is_evaluated_once()
{
    let app = start("mon-chunks").await;
    let t0 = now_secs();
    let ids = breaching_campaigns(&app, t0).await;

    // One chunk per call, in id order: 3, 6, then the last 2 and the record.
    for (i, cursor) in [&ids[CHUNK - 1], &ids[2 * CHUNK - 1]]
        .into_iter()
        .enumerate()
    {
        let r = call(&app, t0).await;
        assert_eq!(r.status, 202, "chunk {i}: {}", r.body);
        let body = r.json();
        assert_eq!(body["complete"], json!(false), "{body}");
        assert_eq!(body["next_cursor"], json!(cursor), "{body}");
        assert_eq!(body["now"], json!(t0));
        assert_eq!(body["campaigns"], json!((i + 1) * CHUNK), "{body}");
        assert_eq!(body["chunks"], json!(i + 1), "{body}");
    }
    let done = call(&app, t0).await;
    assert_eq!(done.status, 200, "{}", done.body);
    let record = done.json();
    assert_eq!(record["complete"], json!(true));
    for (field, want) in [
        ("campaigns", CAMPAIGNS),
        ("scopes", CAMPAIGNS),
        ("fired", CAMPAIGNS),
        ("firing", CAMPAIGNS),
        ("chunks", 3),
    ] {
        assert_eq!(record[field], json!(want), "{field}: {record}");
    }
    assert_eq!(
        record["triggers"].as_array().map(Vec::len),
        Some(CAMPAIGNS),
        "{record}"
    );
    assert!(
        alerts(&app, &ids)
            .await
            .iter()
            .all(|a| *a == ("firing".to_string(), 1))
    );

    // The tick is done: calling again is the usual 409, and the history holds the
    // run once, as the answer had it.
    let again = call(&app, t0).await;
    assert_eq!(again.status, 409, "{}", again.body);
    let runs = app
        .get("/api/evaluations/runs", "viewer-token")
        .await
        .json();
    let items = runs["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{runs}");
    assert_eq!(items[0]["id"], record["id"]);
    assert_eq!(items[0]["campaigns"], json!(CAMPAIGNS));
    assert_eq!(items[0]["chunks"], json!(3));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_later_tick_finishes_the_unfinished_one_before_running_its_own() {
    let app = start("mon-chunks-later").await;
    let t0 = now_secs();
    let ids = breaching_campaigns(&app, t0).await;
    let first = call(&app, t0).await;
    assert_eq!(first.status, 202, "{}", first.body);
    let first_id = first.json()["run_id"].clone();

    // The next tick's caller drives the earlier run to its end, then its own.
    let t1 = t0 + 60;
    let mut answers = Vec::new();
    loop {
        let r = call(&app, t1).await;
        assert!(r.status == 202 || r.status == 200, "{}", r.body);
        answers.push(r.json());
        if r.status == 200 || answers.len() > 10 {
            break;
        }
    }
    let last = answers.last().cloned().unwrap_or(Value::Null);
    assert_eq!(last["now"], json!(t1), "{answers:?}");
    assert_eq!(last["campaigns"], json!(CAMPAIGNS));
    assert_eq!(last["repeated"], json!(CAMPAIGNS), "{last}");
    assert!(
        answers
            .iter()
            .any(|a| a["run_id"] == first_id && a["now"] == json!(t0)),
        "the earlier run continued first: {answers:?}"
    );
    // 2 more chunks of the first run, then 3 of the second.
    assert_eq!(answers.len(), 5, "{answers:?}");
    let runs = app
        .get("/api/evaluations/runs", "viewer-token")
        .await
        .json();
    let items = runs["items"].as_array().expect("items");
    assert_eq!(items.len(), 2, "{runs}");
    assert_eq!(items[1]["id"], first_id);
    assert_eq!(items[1]["campaigns"], json!(CAMPAIGNS));
    assert_eq!(items[1]["fired"], json!(CAMPAIGNS));
    assert!(
        alerts(&app, &ids)
            .await
            .iter()
            .all(|a| *a == ("firing".to_string(), 2))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_store_failure_at_any_call_of_a_chunked_run_neither_skips_nor_repeats_a_campaign() {
    if support::needs_in_process_host("fault injection") {
        return;
    }
    fault_at_every_call("mon-chunks-faults", |app, n| {
        app.host().faults().fail_kv(n, 1)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_write_that_landed_but_reported_failure_at_any_call_of_a_chunked_run_counts_once() {
    if support::needs_in_process_host("fault injection") {
        return;
    }
    fault_at_every_call("mon-chunks-faults-after-write", |app, n| {
        app.host().faults().fail_kv_after_writing(n, 1)
    })
    .await;
}

/// Tick `k` (a minute apart) fails the `k`-th KV call from its start, then calls
/// again while answered 202 or 503, as the scheduler does on its next tick: every
/// KV call of a chunked run fails in turn, the commits between chunks among them.
/// After each tick every campaign's alert has been stepped exactly `k + 1` times,
/// the run counts each campaign once, and each campaign has one trigger per tick.
async fn fault_at_every_call(name: &str, fail: impl Fn(&App, u64)) {
    let app = start(name).await;
    let t0 = now_secs();
    let ids = breaching_campaigns(&app, t0).await;
    let mut triggers = 0;
    let mut failed_somewhere = 0;
    for k in 0..200u64 {
        let now = t0 + 60 * k as i64;
        let before = app.host().stats().kv_total("threshold-check");
        fail(&app, k);
        let mut statuses = Vec::new();
        let record = loop {
            let r = call(&app, now).await;
            statuses.push(r.status);
            match r.status {
                200 => break r.json(),
                202 => {}
                503 => assert_eq!(r.header("retry-after"), Some("5"), "{}", r.body),
                _ => panic!("tick {k}: {} {} after {statuses:?}", r.status, r.body),
            }
            assert!(statuses.len() < 20, "tick {k}: no end: {statuses:?}");
        };
        app.host().faults().clear();
        let calls = app.host().stats().kv_total("threshold-check") - before;
        let failed = statuses.contains(&503);
        failed_somewhere += usize::from(failed);
        let want = i64::try_from(k + 1).expect("small");
        let states = alerts(&app, &ids).await;
        assert!(
            states.iter().all(|(s, b)| s == "firing" && *b == want),
            "tick {k} ({statuses:?}): every alert stepped {want} times: {states:?}"
        );
        let (fired, repeated) = if k == 0 {
            (CAMPAIGNS, 0)
        } else {
            (0, CAMPAIGNS)
        };
        for (field, want) in [
            ("campaigns", CAMPAIGNS),
            ("scopes", CAMPAIGNS),
            ("firing", CAMPAIGNS),
            ("fired", fired),
            ("repeated", repeated),
        ] {
            assert_eq!(record[field], json!(want), "tick {k} {field}: {record}");
        }
        let mine = record["triggers"].as_array().map(Vec::len);
        assert_eq!(mine, Some(CAMPAIGNS), "tick {k}: {record}");
        triggers += CAMPAIGNS;
        if k >= calls {
            // The fault came after the run's last call: every call failed once.
            assert!(k > 10, "a chunked run makes more than {k} KV calls");
            break;
        }
    }
    assert!(failed_somewhere > 10, "{failed_somewhere} ticks failed");
    for c in &ids {
        let stored = app
            .get(
                &format!("/api/triggers?campaign_id={c}&limit=200"),
                "viewer-token",
            )
            .await
            .json();
        assert_eq!(
            stored["items"].as_array().map(Vec::len),
            Some(triggers / CAMPAIGNS),
            "one trigger per campaign and tick: {stored}"
        );
    }
    let runs = app
        .get("/api/evaluations/runs?limit=200", "viewer-token")
        .await
        .json();
    assert_eq!(
        runs["items"].as_array().map(Vec::len),
        Some(triggers / CAMPAIGNS),
        "every tick recorded once"
    );
}

/// [`CAMPAIGNS`] campaigns whose own bounce rule never breaches (half bounced
/// against a 90 % threshold): their alerts stay inactive with the same value every
/// tick. Sorted by id.
async fn quiet_campaigns(app: &App, t0: i64) -> Vec<String> {
    campaigns_with_own_rule(
        app,
        t0,
        json!({
            "fire_threshold": 0.9,
            "clear_threshold": 0.8,
            "metric": {"kind": "ratio", "numerator": ["bounced"], "denominator": ["sent"], "window_secs": 86_400},
        }),
    )
    .await
}

/// Every campaign's alert: `(state, value, evaluated_at)`.
async fn quiet_alerts(app: &App, ids: &[String]) -> Vec<(String, f64, i64)> {
    alert_items(app, ids)
        .await
        .iter()
        .map(|a| {
            (
                a["state"].as_str().unwrap_or_default().to_string(),
                a["value"].as_f64().unwrap_or(-1.0),
                a["evaluated_at"].as_i64().unwrap_or(-1),
            )
        })
        .collect()
}

/// A quiet tick rewrites no alert record (the value and state are unchanged), so a
/// redone chunk finds no run mark on them and steps them again: with a store failure
/// at every KV call in turn, each tick still counts every campaign exactly once, and
/// the stored alerts keep the first tick's `evaluated_at` until 15 minutes have
/// passed, when they are written again.
#[tokio::test(flavor = "multi_thread")]
async fn quiet_alerts_are_not_rewritten_and_a_redone_chunk_counts_them_once() {
    if support::needs_in_process_host("fault injection") {
        return;
    }
    let app = start("mon-chunks-quiet").await;
    let t0 = now_secs();
    let ids = quiet_campaigns(&app, t0).await;
    let mut failed_somewhere = 0;
    for k in 0..200u64 {
        let now = t0 + 60 * k as i64;
        let before = app.host().stats().kv_total("threshold-check");
        // Tick 0 runs clean (it writes every record); later ticks fail one call.
        if k > 0 {
            app.host().faults().fail_kv(k - 1, 1);
        }
        let mut statuses = Vec::new();
        let record = loop {
            let r = call(&app, now).await;
            statuses.push(r.status);
            match r.status {
                200 => break r.json(),
                202 | 503 => {}
                _ => panic!("tick {k}: {} {} after {statuses:?}", r.status, r.body),
            }
            assert!(statuses.len() < 20, "tick {k}: no end: {statuses:?}");
        };
        app.host().faults().clear();
        let calls = app.host().stats().kv_total("threshold-check") - before;
        failed_somewhere += usize::from(statuses.contains(&503));
        for (field, want) in [
            ("campaigns", CAMPAIGNS),
            ("scopes", CAMPAIGNS),
            ("firing", 0),
            ("pending", 0),
            ("fired", 0),
        ] {
            assert_eq!(record[field], json!(want), "tick {k} {field}: {record}");
        }
        // Written at tick 0, then again each time 15 minutes have passed.
        let written = t0 + 900 * (now - t0).div_euclid(900);
        let states = quiet_alerts(&app, &ids).await;
        assert!(
            states
                .iter()
                .all(|(s, v, at)| s == "inactive" && (*v - 0.5).abs() < 1e-9 && *at == written),
            "tick {k} ({statuses:?}): {states:?}"
        );
        if k > calls {
            assert!(k > 10, "a chunked run makes more than {k} KV calls");
            break;
        }
    }
    assert!(failed_somewhere > 5, "{failed_somewhere} ticks failed");
}
