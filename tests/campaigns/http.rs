//! HTTP conventions: If-Match and ETags, idempotency keys, conditional GETs, `/api/me`
//! and paths that are literals, not ids.

use crate::builders::{
    assert_problem, audit_actions, campaign, create_campaign, create_resource, patch, person,
};
use crate::support::{MAX, MIA, OLGA, OMAR, VIC, start};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread")]
async fn a_stale_if_match_is_412_and_a_missing_one_428() {
    let app = start("campaigns-etags").await;
    let c = create_campaign(&app, MIA, campaign("ETags")).await;
    let path = format!("/api/campaigns/{}", c["id"].as_str().expect("id"));
    let r = app
        .send(
            "PATCH",
            &path,
            Some(MIA),
            Some(json!({"name": "No etag"})),
            &[],
        )
        .await;
    assert_problem(&r, 428);
    let r = patch(&app, MIA, &path, "\"1\"", json!({"name": "First"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("etag"), Some("\"2\""));
    let r = patch(&app, MAX, &path, "\"1\"", json!({"name": "Second"})).await;
    assert_problem(&r, 412);
    let now = app.get(&path, VIC).await.json();
    assert_eq!(
        (now["name"].as_str(), now["version"].as_i64()),
        (Some("First"), Some(2))
    );
    // An unchanged patch is not a new version.
    let r = patch(&app, MIA, &path, "\"2\"", json!({"name": "First"})).await;
    assert_eq!(r.header("etag"), Some("\"2\""));
    let r = patch(&app, MIA, &path, "garbage", json!({"name": "x"})).await;
    assert_problem(&r, 400);

    // Resources follow the same rules.
    let rid = create_resource(&app, person("Ann", 8)).await;
    let rpath = format!("/api/resources/{rid}");
    let r = patch(&app, OLGA, &rpath, "\"1\"", json!({"capacity_per_day": 6})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["capacity_per_day"], 6);
    assert_problem(
        &patch(&app, OMAR, &rpath, "\"1\"", json!({"capacity_per_day": 7})).await,
        412,
    );
    assert_problem(
        &patch(&app, OLGA, &rpath, "\"2\"", json!({"kind": "team"})).await,
        422,
    );
    assert_problem(
        &app.send("DELETE", &rpath, Some(OLGA), None, &[]).await,
        428,
    );
    assert_problem(
        &app.send("DELETE", &rpath, Some(OLGA), None, &[("if-match", "\"1\"")])
            .await,
        412,
    );
    let r = app
        .send("DELETE", &rpath, Some(OLGA), None, &[("if-match", "\"2\"")])
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_problem(&app.get(&rpath, VIC).await, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replayed_idempotency_key_returns_the_same_response_and_one_record() {
    let app = start("campaigns-idempotency").await;
    let send = |body: Value, key: &'static str| {
        let app = &app;
        async move {
            app.send(
                "POST",
                "/api/campaigns",
                Some(MIA),
                Some(body),
                &[("idempotency-key", key)],
            )
            .await
        }
    };
    let first = send(campaign("Once"), "key-1").await;
    assert_eq!(first.status, 201, "{}", first.body);
    let again = send(campaign("Once"), "key-1").await;
    assert_eq!(again.status, 201);
    assert_eq!(again.body, first.body);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    let other = send(campaign("Different"), "key-1").await;
    assert_problem(&other, 422);
    let list = app.get("/api/campaigns", VIC).await.json();
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));

    let id = first.json()["id"].as_str().expect("id").to_string();

    // PATCH too: a retried edit (e.g. a dispatch retried after a lost answer) is
    // answered from the first response instead of failing on its stale If-Match.
    let campaign_path = format!("/api/campaigns/{id}");
    let patch = || {
        app.send(
            "PATCH",
            &campaign_path,
            Some(MIA),
            Some(json!({"name": "Once, renamed"})),
            &[("idempotency-key", "rename-1"), ("if-match", "\"1\"")],
        )
    };
    let (p1, p2) = (patch().await, patch().await);
    assert_eq!(
        (p1.status, p2.status),
        (200, 200),
        "{} / {}",
        p1.body,
        p2.body
    );
    assert_eq!(p1.body, p2.body);
    assert_eq!(p2.header("idempotent-replayed"), Some("true"));

    // Transitions too: a retried cancel is answered from the first response.
    let path = format!("/api/campaigns/{id}/transitions");
    let cancel = || {
        app.send(
            "POST",
            &path,
            Some(MIA),
            Some(json!({"target": "cancelled"})),
            &[("idempotency-key", "cancel-1")],
        )
    };
    let a = cancel().await;
    let b = cancel().await;
    assert_eq!((a.status, b.status), (200, 200), "{} / {}", a.body, b.body);
    assert_eq!(a.body, b.body);
    assert_eq!(
        audit_actions(&app, &id).await.len(),
        3,
        "created + one edit + one transition"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn me_tells_the_signed_in_user_and_roles() {
    let app = start("campaigns-me").await;
    let me = app.get("/api/me", "brand-token").await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(
        me.json(),
        json!({"sub": "bree", "roles": ["brand_reviewer"]})
    );
    assert_eq!(me.header("cache-control"), Some("no-store"));
    let anon = app.send("GET", "/api/me", None, None, &[]).await;
    assert_eq!(anon.status, 401);
    assert_eq!(
        anon.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(app.get("/api/me", "not-a-token").await.status, 401);
    assert_eq!(
        app.send("POST", "/api/me", Some(VIC), None, &[])
            .await
            .status,
        405
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_literal_path_is_never_taken_for_an_id() {
    // `/api/resources/allocations` exists with GET and POST only: DELETE there is a
    // 405 naming them, not a delete of a resource called "allocations".
    let app = start("campaigns-specific").await;
    let r = app
        .send(
            "DELETE",
            "/api/resources/allocations",
            Some(OLGA),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 405, "{}", r.body);
    assert_eq!(r.json()["allow"], json!(["GET", "POST"]));
    assert_eq!(
        r.header("allow"),
        Some("GET, POST"),
        "RFC 9110: the Allow header"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn polling_clients_get_304_until_something_changes() {
    let app = start("campaigns-conditional").await;
    let c = create_campaign(&app, MIA, campaign("Polled")).await;
    let id = c["id"].as_str().expect("id").to_string();
    // A list has a weak validator of its body.
    let list = app.get("/api/campaigns", VIC).await;
    let tag = list.header("etag").expect("list etag").to_string();
    assert!(tag.starts_with("W/"), "{tag}");
    let again = app
        .send(
            "GET",
            "/api/campaigns",
            Some(VIC),
            None,
            &[("if-none-match", tag.as_str())],
        )
        .await;
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    // A record matches on its version, the same ETag If-Match uses.
    let path = format!("/api/campaigns/{id}");
    let same = app
        .send("GET", &path, Some(VIC), None, &[("if-none-match", "\"1\"")])
        .await;
    assert_eq!(same.status, 304);
    let r = patch(&app, MIA, &path, "\"1\"", json!({"priority": 1})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let changed = app
        .send("GET", &path, Some(VIC), None, &[("if-none-match", "\"1\"")])
        .await;
    assert_eq!(changed.status, 200);
    assert_eq!(changed.header("etag"), Some("\"2\""));
    let relisted = app
        .send(
            "GET",
            "/api/campaigns",
            Some(VIC),
            None,
            &[("if-none-match", tag.as_str())],
        )
        .await;
    assert_eq!(relisted.status, 200, "the list changed with the campaign");
}
