//! Monitoring rules: managed by operations, validated, defaults shipped.

use crate::builders::{bounce_rule, start};
use serde_json::json;

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
}
