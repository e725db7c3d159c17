//! Process analytics (process-analytics, `/api/analytics/...`): the figures come
//! from samples the workflow components record as they work, and the admin
//! backfill rebuilds them from the audit trails and records of a history that
//! happened before. Expected figures are computed here from the seeded
//! timelines, independently of the app's code.

use crate::builders::{LINK, act, approve, campaign, create, email};
use crate::support::{self, ADA, App, BREE, COLE, MIA, OLGA, VIC, now_secs, rfc3339, start};
use opsflow_host::kv::Backend;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

const STORE: &str = "default";
const H: i64 = 3_600;
const D: i64 = 86_400;

async fn figures(app: &App, query: &str) -> Value {
    let r = app
        .get(&format!("/api/analytics/process?{query}"), VIC)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

/// The row of `rows` (an array of objects) whose `field` is `key`.
fn row<'a>(rows: &'a Value, field: &str, key: &str) -> &'a Value {
    rows.as_array()
        .expect("rows")
        .iter()
        .find(|r| r[field] == json!(key))
        .unwrap_or_else(|| panic!("no {field}={key} in {rows}"))
}

/// Nearest-rank percentile `p` of `values`, as the API documents it.
fn rank(values: &[i64], p: usize) -> i64 {
    let mut v = values.to_vec();
    v.sort_unstable();
    let k = (p * v.len()).div_ceil(100).max(1);
    v[k - 1]
}

/// Checks a duration summary against the samples it summarises.
fn check_duration(got: &Value, samples: &[i64], what: &str) {
    assert_eq!(got["count"], json!(samples.len()), "{what}: {got}");
    assert_eq!(
        got["median_seconds"],
        json!(rank(samples, 50)),
        "{what}: {got}"
    );
    assert_eq!(
        got["p90_seconds"],
        json!(rank(samples, 90)),
        "{what}: {got}"
    );
    assert_eq!(
        got["max_seconds"],
        json!(samples.iter().max().copied()),
        "{what}: {got}"
    );
    assert_eq!(
        got["total_seconds"],
        json!(samples.iter().sum::<i64>()),
        "{what}: {got}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn workflow_events_feed_the_figures_as_they_happen() {
    let app = start("analytics-live").await;
    let c = campaign(&app, &["email"]).await;
    // Approved through all three stages.
    let (done, _) = create(&app, MIA, email(&c)).await;
    assert_eq!(act(&app, MIA, &done, "submit", json!({})).await.status, 200);
    for token in [BREE, COLE, OLGA] {
        let r = approve(&app, token, &done).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    // Sent back by compliance.
    let (back, _) = create(&app, MIA, email(&c)).await;
    assert_eq!(act(&app, MIA, &back, "submit", json!({})).await.status, 200);
    assert_eq!(approve(&app, BREE, &back).await.status, 200);
    let r = act(
        &app,
        COLE,
        &back,
        "decisions",
        json!({"outcome": "request_changes", "comment": "Add the legal line"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Waiting for brand review.
    let (waiting, _) = create(&app, MIA, email(&c)).await;
    assert_eq!(
        act(&app, MIA, &waiting, "submit", json!({})).await.status,
        200
    );
    // The campaign leaves planning (cancelled: the one transition without a gate).
    let r = app
        .post(
            &format!("/api/campaigns/{c}/transitions"),
            MIA,
            json!({"target": "cancelled"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    let before = (!support::needs_in_process_host("KV counters"))
        .then(|| app.host().stats().kv_total("process-analytics"));
    let f = figures(&app, "").await;
    if let Some(before) = before {
        let calls = app.host().stats().kv_total("process-analytics") - before;
        assert!(calls <= 10, "an analytics request made {calls} KV calls");
    }
    let stages = &f["approvals"]["by_stage"];
    assert_eq!(row(stages, "key", "brand")["count"], json!(2), "{f}");
    assert_eq!(row(stages, "key", "compliance")["count"], json!(2), "{f}");
    assert_eq!(row(stages, "key", "operations")["count"], json!(1), "{f}");
    let reviewers = &f["approvals"]["by_reviewer"];
    assert_eq!(row(reviewers, "key", "bree")["count"], json!(2), "{f}");
    assert_eq!(row(reviewers, "key", "olga")["count"], json!(1), "{f}");
    let queue = &f["approvals"]["queue"];
    assert_eq!(row(queue, "stage", "brand")["waiting"], json!(1), "{f}");
    assert_eq!(f["rework"]["items_reviewed"], json!(2), "{f}");
    assert_eq!(f["rework"]["changes_requested_items"], json!(1), "{f}");
    assert_eq!(f["rework"]["share"], json!(0.5), "{f}");
    assert_eq!(f["automation"]["approved_items"], json!(1), "{f}");
    assert_eq!(f["automation"]["auto_approved_items"], json!(0), "{f}");
    assert_eq!(
        row(&f["stages"], "stage", "planning")["count"],
        json!(1),
        "{f}"
    );
    assert_eq!(f["longest_handoffs"][0]["campaign_id"], json!(c), "{f}");
    assert_eq!(
        f["longest_handoffs"][0]["campaign_name"],
        json!("Spring launch")
    );

    // Filters narrow every figure they apply to.
    let sms = figures(&app, "channel=sms").await;
    assert_eq!(sms["approvals"]["by_stage"], json!([]), "{sms}");
    assert_eq!(sms["approvals"]["queue"], json!([]), "{sms}");
    let ops = figures(&app, "team=operations").await;
    let names: Vec<&str> = ops["approvals"]["by_stage"]
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["key"].as_str())
        .collect();
    assert_eq!(names, ["operations"], "{ops}");
    assert_eq!(ops["stages"], json!([]), "planning is marketing's: {ops}");
    let other = figures(&app, "campaign_id=01ARZ3NDEKTSV4RRFFQ69G5FAV").await;
    assert_eq!(other["approvals"]["by_reviewer"], json!([]), "{other}");
    let nobody = figures(&app, "owner=nobody").await;
    assert_eq!(nobody["stages"], json!([]), "{nobody}");
    let mine = figures(&app, "owner=mia").await;
    assert_eq!(mine["stages"], f["stages"]);

    // One table as CSV, by parameter or by Accept.
    let csv = app
        .get("/api/analytics/process?format=csv&table=reviewers", VIC)
        .await;
    assert_eq!(csv.status, 200, "{}", csv.body);
    let (header, rows) = support::read_csv(&csv);
    assert_eq!(
        header,
        [
            "reviewer",
            "count",
            "median_seconds",
            "p90_seconds",
            "max_seconds",
            "total_seconds"
        ]
    );
    let bree = rows.iter().find(|r| &r[0] == "bree").expect("bree's row");
    assert_eq!(&bree[1], "2");
    let by_accept = app
        .send(
            "GET",
            "/api/analytics/process?table=queue",
            Some(VIC),
            None,
            &[("accept", "text/csv")],
        )
        .await;
    let (header, rows) = support::read_csv(&by_accept);
    assert_eq!(header, ["stage", "waiting", "oldest_seconds"]);
    assert_eq!(&rows[0][0], "brand");

    // Bad input is a problem document, never a guess.
    for (query, status) in [
        ("from=2026-13-01", 422),
        ("team=sales", 422),
        ("from=2025-01-01&to=2025-06-01", 422),
        ("from=2025-02-01&to=2025-01-01", 422),
        ("format=csv", 422),
        ("format=csv&table=nope", 422),
        ("format=yaml", 400),
    ] {
        let r = app
            .get(&format!("/api/analytics/process?{query}"), VIC)
            .await;
        assert_eq!(r.status, status, "{query}: {}", r.body);
        assert_eq!(
            r.header("content-type"),
            Some("application/problem+json"),
            "{query}"
        );
    }
    let anonymous = app
        .send("GET", "/api/analytics/process", None, None, &[])
        .await;
    assert_eq!(anonymous.status, 401);
    let backfill = app.post("/api/analytics/backfill", OLGA, json!({})).await;
    assert_eq!(backfill.status, 403, "admins only: {}", backfill.body);
}

// ---- the backfill, over a seeded history with known timings ----------------------

fn backend(app: &App) -> Arc<dyn Backend> {
    app.host()
        .in_process("seeding the store")
        .kv_backend(STORE)
        .expect("the default store")
}

fn read(b: &Arc<dyn Backend>, key: &str) -> Value {
    let bytes = b.get(STORE, key).expect("get").expect("stored");
    serde_json::from_slice(&bytes).expect("json")
}

fn write(b: &Arc<dyn Backend>, key: &str, value: &Value) {
    b.set(STORE, key, value.to_string().as_bytes())
        .expect("set");
}

/// Rewrites a stored record's fields.
fn edit(b: &Arc<dyn Backend>, key: &str, set: Value) {
    let mut record = read(b, key);
    for (k, v) in set.as_object().expect("object") {
        record["value"][k] = v.clone();
    }
    write(b, key, &record);
}

/// One audit event of a seeded content trail: seconds after the item's start,
/// action, detail.
type Event = (i64, &'static str, Value);

/// Replaces an item's audit trail with `events`, starting at `t0`.
fn seed_trail(b: &Arc<dyn Backend>, id: &str, t0: i64, events: &[Event]) {
    for (i, (offset, action, detail)) in events.iter().enumerate() {
        let seq = i + 1;
        let actor = detail["approver"].as_str().unwrap_or("mia");
        write(
            b,
            &format!("aud:content:{id}:{seq:010}"),
            &json!({"seq": seq, "at": rfc3339(t0 + offset), "actor": actor,
                    "action": action, "detail": detail}),
        );
    }
    b.set(
        STORE,
        &format!("aud:content:{id}:n"),
        events.len().to_string().as_bytes(),
    )
    .expect("count");
}

const STAGES: [(&str, &str); 3] = [
    ("brand", "brand_reviewer"),
    ("compliance", "compliance_reviewer"),
    ("operations", "operations"),
];

fn opened(round: u32) -> Value {
    json!({"round": round, "content_hash": "h", "stages": ["brand", "compliance", "operations"]})
}

fn decided(t0: i64, offset: i64, round: u32, stage: usize, who: &str, outcome: &str) -> Event {
    let (name, role) = STAGES[stage];
    (
        offset,
        "content.decided",
        json!({"round": round, "stage": name, "approver": who, "role": role,
               "outcome": outcome, "at": rfc3339(t0 + offset), "content_hash": "h"}),
    )
}

/// The three seeded trails: on time; sent back, then approved late; approved,
/// edited, and waiting for brand review again.
fn trails(t0: i64) -> [Vec<Event>; 3] {
    [
        vec![
            (0, "content.created", json!({})),
            (H, "content.submitted", json!({"content_hash": "h"})),
            (H, "content.review_started", opened(1)),
            decided(t0, 3 * H, 1, 0, "bree", "approve"),
            decided(t0, 7 * H, 1, 1, "cole", "approve"),
            decided(t0, 8 * H, 1, 2, "olga", "approve"),
            (
                8 * H,
                "content.approved",
                json!({"round": 1, "content_hash": "h"}),
            ),
            (9 * H, "content.scheduled", json!({"at": rfc3339(t0 + D)})),
        ],
        vec![
            (0, "content.created", json!({})),
            (2 * H, "content.review_started", opened(1)),
            decided(t0, 4 * H, 1, 0, "bree", "approve"),
            decided(t0, 10 * H, 1, 1, "cole", "request_changes"),
            (
                10 * H,
                "content.changes_requested",
                json!({"stage": "compliance"}),
            ),
            (
                D,
                "content.updated",
                json!({"previous_hash": "a", "content_hash": "b"}),
            ),
            (D + H, "content.review_started", opened(2)),
            decided(t0, D + 2 * H, 2, 0, "bree", "approve"),
            decided(t0, D + 5 * H, 2, 1, "cole", "approve"),
            decided(t0, D + 6 * H, 2, 2, "omar", "approve"),
            (
                D + 6 * H,
                "content.approved",
                json!({"round": 2, "content_hash": "b"}),
            ),
        ],
        vec![
            (0, "content.created", json!({})),
            (H / 2, "content.review_started", opened(1)),
            decided(t0, 3 * H / 2, 1, 0, "bree", "approve"),
            decided(t0, 5 * H / 2, 1, 1, "cole", "approve"),
            decided(t0, 7 * H / 2, 1, 2, "olga", "approve"),
            (
                7 * H / 2,
                "content.approved",
                json!({"round": 1, "content_hash": "x"}),
            ),
            (
                2 * D,
                "content.updated",
                json!({"previous_hash": "x", "content_hash": "y"}),
            ),
            (2 * D, "content.review_started", opened(2)),
        ],
    ]
}

/// Turnaround (decision − the round's start) and the wait each decision added
/// (from the round's start or the decision before it), per stage and reviewer,
/// computed from the trails directly.
struct Expected {
    by_stage: BTreeMap<String, Vec<i64>>,
    by_reviewer: BTreeMap<String, Vec<i64>>,
    steps: BTreeMap<String, i64>,
}

fn expected(trails: &[Vec<Event>]) -> Expected {
    let mut e = Expected {
        by_stage: BTreeMap::new(),
        by_reviewer: BTreeMap::new(),
        steps: BTreeMap::new(),
    };
    for trail in trails {
        let (mut started, mut last) = (0, 0);
        for (at, action, detail) in trail {
            match *action {
                "content.review_started" => (started, last) = (*at, *at),
                "content.decided" => {
                    let stage = detail["stage"].as_str().expect("stage").to_string();
                    let who = detail["approver"].as_str().expect("who").to_string();
                    e.by_stage
                        .entry(stage.clone())
                        .or_default()
                        .push(at - started);
                    e.by_reviewer.entry(who).or_default().push(at - started);
                    *e.steps.entry(stage).or_default() += at - last;
                    last = *at;
                }
                _ => {}
            }
        }
    }
    e
}

#[tokio::test(flavor = "multi_thread")]
async fn the_backfill_rebuilds_a_seeded_history_with_known_timings() {
    if support::needs_in_process_host("seeding the store") {
        return;
    }
    let app = start("analytics-backfill").await;
    let b = backend(&app);
    // The history starts at midnight 28 days ago.
    let base = (now_secs() / D - 28) * D;
    let c1 = campaign(&app, &["email"]).await;
    let r = app
        .post(
            "/api/campaigns",
            MIA,
            json!({"name": "Autumn", "marketing_owner": "max", "operations_owner": "olga",
                   "channels": [{"channel": "email", "budget_minor": 1000}],
                   "schedule": {"start": rfc3339(now_secs() + D), "end": rfc3339(now_secs() + 9 * D)}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let c2 = r.json()["id"].as_str().expect("id").to_string();
    let c3 = campaign(&app, &["email"]).await;
    let r = app
        .post(
            &format!("/api/campaigns/{c3}/transitions"),
            MIA,
            json!({"target": "cancelled"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let template = read(&b, &format!("cmp:c:{c3}"))["value"]["handoffs"][0].clone();
    let handoff = |from: &str, to: &str, at: i64| {
        let mut h = template.clone();
        h["from"] = json!(from);
        h["to"] = json!(to);
        h["at"] = json!(rfc3339(at));
        h
    };
    // Planning took 2 days, 4 hours and 1 day; production 3 days.
    edit(
        &b,
        &format!("cmp:c:{c1}"),
        json!({"created_at": rfc3339(base), "stage": "distribution", "handoffs": [
            handoff("planning", "production", base + 2 * D),
            handoff("production", "distribution", base + 5 * D)]}),
    );
    edit(
        &b,
        &format!("cmp:c:{c2}"),
        json!({"created_at": rfc3339(base + D), "stage": "production", "handoffs": [
            handoff("planning", "production", base + D + 4 * H)]}),
    );
    edit(
        &b,
        &format!("cmp:c:{c3}"),
        json!({"created_at": rfc3339(base + 2 * D), "handoffs": [
            handoff("planning", "cancelled", base + 3 * D)]}),
    );
    let planning = [2 * D, 4 * H, D];
    let production = [3 * D];

    // Three items of c1, created as drafts (no live samples), their trails seeded.
    let t0 = base + 7 * D;
    let trails = trails(t0);
    let dues = [Some(t0 + 2 * D), Some(t0 + D), None];
    let mut items = Vec::new();
    for (trail, due) in trails.iter().zip(dues) {
        let mut body = email(&c1);
        body["links"] = json!([LINK]);
        let (id, _) = create(&app, MIA, body).await;
        edit(&b, &format!("cnt:i:{id}"), json!({"due": due.map(rfc3339)}));
        seed_trail(&b, &id, t0, trail);
        items.push(id);
    }

    // Resumable: one campaign a call, then the triggers, until done.
    let mut calls = 0;
    let mut written = 0;
    loop {
        let r = app
            .post("/api/analytics/backfill?limit=1", ADA, json!({}))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let v = r.json();
        written += v["samples"].as_i64().expect("samples");
        calls += 1;
        assert!(calls < 20, "the backfill never finished: {v}");
        if v["done"] == json!(true) {
            break;
        }
    }
    assert!(
        calls >= 4,
        "one campaign a call, then triggers: {calls} calls"
    );
    assert!(written > 0);
    let again = app
        .post(
            "/api/analytics/backfill?restart=true&limit=200",
            ADA,
            json!({}),
        )
        .await;
    assert_eq!(
        again.json()["samples"],
        json!(0),
        "nothing is written twice"
    );

    let period = format!(
        "from={}&to={}",
        support::day(base),
        support::day(base + 20 * D)
    );
    let f = figures(&app, &period).await;
    check_duration(
        row(&f["stages"], "stage", "planning"),
        &planning,
        "planning",
    );
    check_duration(
        row(&f["stages"], "stage", "production"),
        &production,
        "production",
    );
    let longest = &f["longest_handoffs"][0];
    assert_eq!(longest["campaign_id"], json!(c1), "{f}");
    assert_eq!(longest["from"], json!("production"));
    assert_eq!(longest["waited_seconds"], json!(3 * D));

    let want = expected(&trails);
    for (stage, samples) in &want.by_stage {
        check_duration(
            row(&f["approvals"]["by_stage"], "key", stage),
            samples,
            stage,
        );
    }
    for (who, samples) in &want.by_reviewer {
        check_duration(
            row(&f["approvals"]["by_reviewer"], "key", who),
            samples,
            who,
        );
    }
    // Waiting now: the third item, in brand review since t0 + 2 days.
    let brand = row(&f["approvals"]["queue"], "stage", "brand");
    assert_eq!(brand["waiting"], json!(1), "{f}");
    let age = now_secs() - (t0 + 2 * D);
    let oldest = brand["oldest_seconds"].as_i64().expect("age");
    assert!((oldest - age).abs() < 120, "{oldest} vs {age}");
    // Rework: the second (changes requested) and third (edited after approval) of three.
    let rework = &f["rework"];
    assert_eq!(rework["items_reviewed"], json!(3), "{rework}");
    assert_eq!(rework["items_reworked"], json!(2));
    assert_eq!(rework["changes_requested_items"], json!(1));
    assert_eq!(rework["edited_after_approval_items"], json!(1));
    assert_eq!(rework["rounds_max"], json!(2));
    let mean = rework["rounds_mean"].as_f64().expect("mean");
    assert!((mean - 5.0 / 3.0).abs() < 1e-9, "{mean}");
    // On time: the first (approved and scheduled before due); the second was late.
    let email_row = row(&f["on_time"]["by_channel"], "key", "email");
    assert_eq!(email_row["items"], json!(2), "{email_row}");
    assert_eq!(email_row["on_time"], json!(1));
    assert_eq!(email_row["late"], json!(1));
    assert_eq!(f["automation"]["approved_items"], json!(3));
    assert_eq!(f["automation"]["auto_share"], json!(0.0));

    // Bottlenecks: every stage's total wait, the largest first.
    let mut ranking: Vec<(String, i64)> = vec![
        ("planning".into(), planning.iter().sum()),
        ("production".into(), production.iter().sum()),
    ];
    ranking.extend(want.steps.iter().map(|(k, v)| (k.clone(), *v)));
    ranking.sort_by_key(|r| std::cmp::Reverse(r.1));
    let got: Vec<(String, i64)> = f["bottlenecks"]
        .as_array()
        .expect("bottlenecks")
        .iter()
        .map(|r| {
            (
                r["name"].as_str().expect("name").to_string(),
                r["waiting_seconds"].as_i64().expect("wait"),
            )
        })
        .collect();
    assert_eq!(got, ranking, "{f}");

    // Owner: max owns only c2 (planning: 4 hours).
    let max = figures(&app, &format!("{period}&owner=max")).await;
    check_duration(
        row(&max["stages"], "stage", "planning"),
        &[4 * H],
        "max's planning",
    );
    assert_eq!(max["approvals"]["by_stage"], json!([]), "{max}");
    assert_eq!(items.len(), 3);
}
