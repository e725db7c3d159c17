//! KV round trips per content operation, bounded.

use crate::builders::{act, approve, campaign, create, email, get};
use crate::support::{App, BREE, COLE, MIA, OLGA, VIC, start};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
/// KV round trips per operation, including the one or two store `open`s each
/// request makes (spin:key-value and wasi:keyvalue): create 14 (each of its two
/// index adds reads the sharded index's head before its compare-and-swap), get 2, submit 10,
/// decide 7, automatic schedule 16, publish 5, one list page 4 (measured). Submit,
/// decide and schedule include the process analytics sample (one compare-and-swap:
/// a read and a swap; docs/analytics.md).
async fn content_operations_stay_within_their_kv_budgets() {
    if crate::support::needs_in_process_host("KV counters") {
        return;
    }
    let app = start("content-kv-budget").await;
    let c = campaign(&app, &["email"]).await;
    let calls = |app: &App| app.host().stats().kv_total("content-approval");
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
    measure("create", b, calls(&app), 14);
    let b = calls(&app);
    get(&app, &id).await;
    measure("get", b, calls(&app), 2);
    let b = calls(&app);
    assert_eq!(act(&app, MIA, &id, "submit", json!({})).await.status, 200);
    measure("submit", b, calls(&app), 10);
    let b = calls(&app);
    assert_eq!(approve(&app, BREE, &id).await.status, 200);
    measure("decide", b, calls(&app), 7);
    approve(&app, COLE, &id).await;
    approve(&app, OLGA, &id).await;
    let b = calls(&app);
    let r = act(&app, OLGA, &id, "schedule", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    measure("schedule (auto)", b, calls(&app), 18);
    let b = calls(&app);
    assert_eq!(act(&app, OLGA, &id, "publish", json!({})).await.status, 200);
    measure("publish", b, calls(&app), 5);
    let b = calls(&app);
    app.get(&format!("/api/content?campaign={c}"), VIC).await;
    measure("list (1 page)", b, calls(&app), 4);
    eprintln!("content-approval KV calls per operation: {table:?}");
}
