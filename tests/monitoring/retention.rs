//! Indexes that grow with the monitoring history: the trigger outbox's and the run
//! history's indexes, stored as one record each by earlier builds, still list,
//! dispatch and page after the upgrade (they move into shards on first use); and
//! the daily maintenance pass prunes closed triggers past their retention, old
//! runs and stale open-index entries, and nothing else.
//!
//! The earlier builds' records and the old triggers and runs are seeded into the
//! app's store directly (the in-process host's backend), in the stored shapes.

use crate::builders::{
    bounce_rule, campaign, create_rule, disable_defaults, dispatch, half_bounced, notify, run,
    start, trigger,
};
use crate::receiver::Receiver;
use crate::support::{self, App, now_secs};
use opsflow_host::kv::Backend;
use serde_json::{Value, json};
use std::sync::Arc;

const STORE: &str = "default";
const DAY: i64 = 86_400;

fn backend(app: &App) -> Arc<dyn Backend> {
    app.host()
        .in_process("seeding the store")
        .kv_backend(STORE)
        .expect("the default store")
}

fn read(b: &Arc<dyn Backend>, key: &str) -> Option<Value> {
    b.get(STORE, key)
        .expect("get")
        .map(|v| serde_json::from_slice(&v).expect("json"))
}

fn write(b: &Arc<dyn Backend>, key: &str, value: &Value) {
    b.set(STORE, key, value.to_string().as_bytes())
        .expect("set");
}

/// `id` with its time part moved `days` earlier (ids are 48 bits of milliseconds
/// then 80 random bits, Crockford base32, as the app makes them).
fn older(id: &str, days: i64) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let millis = id[..10].bytes().fold(0_i64, |m, c| {
        let digit = ALPHABET.iter().position(|a| *a == c).expect("base32");
        m * 32 + i64::try_from(digit).expect("small")
    });
    let mut m = millis - days * DAY * 1_000;
    let mut prefix = [b'0'; 10];
    for slot in prefix.iter_mut().rev() {
        *slot = ALPHABET[usize::try_from(m & 31).expect("small")];
        m >>= 5;
    }
    format!("{}{}", String::from_utf8_lossy(&prefix), &id[10..])
}

/// Copies the record at `prefix:<id>` to `prefix:<new_id>` with its `id` (and the
/// fields in `set`) changed.
fn copy_record(b: &Arc<dyn Backend>, prefix: &str, id: &str, new_id: &str, set: Value) {
    let mut record = read(b, &format!("{prefix}:{id}")).expect("record");
    record["value"]["id"] = json!(new_id);
    for (k, v) in set.as_object().expect("object") {
        record["value"][k] = v.clone();
    }
    write(b, &format!("{prefix}:{new_id}"), &record);
}

/// Puts the id set under `base` back into the shape earlier builds stored: one
/// record holding every id (plus `extra`), no shards.
fn to_legacy(b: &Arc<dyn Backend>, base: &str, extra: &[&str]) {
    let shard = format!("{base}:s:0");
    let mut ids: Vec<String> = read(b, &shard)
        .map(|r| {
            r["value"]
                .as_object()
                .expect("shard")
                .keys()
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    ids.extend(extra.iter().map(|s| s.to_string()));
    ids.sort();
    assert!(read(b, &format!("{base}:dir")).is_none(), "one shard");
    b.delete(STORE, &shard).expect("delete");
    write(b, base, &json!({"version": 3, "value": ids}));
}

fn ids(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|t| t["id"].as_str().expect("id").to_string())
        .collect()
}

async fn cleanup(app: &App) -> Value {
    let r = app
        .post(
            "/api/campaigns/metrics/cleanup",
            "operations-token",
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

#[tokio::test(flavor = "multi_thread")]
async fn indexes_stored_as_one_record_by_an_earlier_build_still_list_dispatch_and_are_pruned() {
    if support::needs_in_process_host("seeding the store") {
        return;
    }
    let app = start("mon-legacy-indexes").await;
    disable_defaults(&app).await;
    let hook = Receiver::spawn().await;
    let (auto, gated) = (campaign(&app).await, campaign(&app).await);
    create_rule(&app, bounce_rule(&auto, notify(&hook), json!({}))).await;
    create_rule(
        &app,
        bounce_rule(
            &gated,
            notify(&hook),
            json!({"approval": "requires_approval"}),
        ),
    )
    .await;
    let now = now_secs();
    half_bounced(&app, &auto, now).await;
    half_bounced(&app, &gated, now).await;
    let fired = run(&app, "operations-token", now).await;
    assert_eq!(fired.json()["fired"], json!(2), "{}", fired.body);
    let run_id = fired.json()["id"].as_str().expect("run").to_string();
    let mut made: Vec<String> = fired.json()["triggers"]
        .as_array()
        .expect("triggers")
        .iter()
        .map(|t| t.as_str().expect("id").to_string())
        .collect();
    made.sort();
    let by_status = |status: &'static str| {
        let app = &app;
        let made = made.clone();
        async move {
            let mut found = Vec::new();
            for id in &made {
                if trigger(app, id).await["status"] == json!(status) {
                    found.push(id.clone());
                }
            }
            found
        }
    };
    let gated_id = by_status("awaiting_approval").await.remove(0);
    let auto_id = by_status("pending").await.remove(0);
    assert_eq!(dispatch(&app, now + 1).await.json()["attempted"], json!(1));
    assert_eq!(trigger(&app, &auto_id).await["status"], json!("succeeded"));

    // What an earlier build left: a closed trigger and an open one from 100 days
    // ago, a run from 10 days ago, and every index as one record; the open index
    // still names the trigger dispatch just closed.
    let b = backend(&app);
    let old_done = older(&auto_id, 100);
    let old_open = older(&gated_id, 100);
    let old_run = older(&run_id, 10);
    copy_record(
        &b,
        "trg:t",
        &auto_id,
        &old_done,
        json!({"created_at": now - 100 * DAY}),
    );
    copy_record(
        &b,
        "trg:t",
        &gated_id,
        &old_open,
        json!({"created_at": now - 100 * DAY}),
    );
    copy_record(
        &b,
        "mon:run",
        &run_id,
        &old_run,
        json!({"now": now - 10 * DAY}),
    );
    to_legacy(&b, "trg:idx:all", &[&old_done, &old_open]);
    to_legacy(&b, "trg:idx:open", &[&old_open, &auto_id]);
    to_legacy(&b, "mon:idx:runs", &[&old_run]);

    // Listing, newest first, from the old records (migrated as they are read).
    let all = app.get("/api/triggers", "viewer-token").await.json();
    let mut want = vec![
        gated_id.clone(),
        auto_id.clone(),
        old_done.clone(),
        old_open.clone(),
    ];
    want.sort_by(|a, b| b.cmp(a));
    assert_eq!(ids(&all), want, "{all}");
    let paged = app
        .get("/api/triggers?limit=3", "viewer-token")
        .await
        .json();
    assert_eq!(ids(&paged), want[..3], "{paged}");
    let cursor = paged["next_cursor"].as_str().expect("cursor");
    let rest = app
        .get(
            &format!("/api/triggers?limit=3&cursor={cursor}"),
            "viewer-token",
        )
        .await
        .json();
    assert_eq!(ids(&rest), want[3..], "{rest}");
    assert_eq!(rest["next_cursor"], Value::Null);
    let waiting = app
        .get("/api/triggers?status=awaiting_approval", "viewer-token")
        .await
        .json();
    assert_eq!(ids(&waiting), [gated_id.clone(), old_open.clone()]);
    for legacy in ["trg:idx:all", "trg:idx:open"] {
        assert!(read(&b, legacy).is_none(), "{legacy} was migrated");
    }
    let runs = app
        .get("/api/evaluations/runs", "viewer-token")
        .await
        .json();
    assert_eq!(ids(&runs), [run_id.clone(), old_run.clone()]);

    // Dispatch works from the migrated open index: the gated trigger, once approved.
    let approve = format!("/api/triggers/{gated_id}/approve");
    let ok = app.post(&approve, "operations2-token", json!({})).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(
        dispatch(&app, now_secs() + 2).await.json()["attempted"],
        json!(1)
    );
    assert_eq!(trigger(&app, &gated_id).await["status"], json!("succeeded"));
    assert_eq!(hook.count(), 2);

    // The daily pass: the old closed trigger and the old run go; the old open
    // trigger, the recent ones and the recent run stay.
    let report = cleanup(&app).await;
    assert_eq!(report["triggers"]["deleted"], json!(1), "{report}");
    assert_eq!(report["triggers"]["kept_open"], json!(1), "{report}");
    assert_eq!(report["runs"]["deleted"], json!(1), "{report}");
    assert_eq!(
        report["slots"]["hours"],
        json!(0),
        "no content, no slots: {report}"
    );
    let all = app.get("/api/triggers", "viewer-token").await.json();
    want.retain(|id| *id != old_done);
    assert_eq!(ids(&all), want, "{all}");
    let gone = app
        .get(&format!("/api/triggers/{old_done}"), "viewer-token")
        .await;
    assert_eq!(gone.status, 404, "{}", gone.body);
    let open = app
        .get("/api/triggers?status=awaiting_approval", "viewer-token")
        .await
        .json();
    assert_eq!(ids(&open), [old_open]);
    let runs = app
        .get("/api/evaluations/runs", "viewer-token")
        .await
        .json();
    assert_eq!(ids(&runs), [run_id]);
    assert!(read(&b, &format!("mon:run:{old_run}")).is_none());
    assert!(read(&b, &format!("trg:t:{old_done}")).is_none());

    // Again: nothing more to remove.
    let again = cleanup(&app).await;
    assert_eq!(
        (
            again["triggers"]["deleted"].clone(),
            again["runs"]["deleted"].clone()
        ),
        (json!(0), json!(0)),
        "{again}"
    );
}
