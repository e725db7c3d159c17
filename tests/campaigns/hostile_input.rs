//! Malformed and hostile bodies are refused and change nothing.

use crate::builders::{allocation, audit_actions, campaign, create_campaign};
use crate::support::{MIA, OLGA, VIC, start};
use serde_json::{Value, json};

/// (method, path, token, content type, body, expected status).
type Case = (
    &'static str,
    String,
    &'static str,
    &'static str,
    Vec<u8>,
    u16,
);

#[tokio::test(flavor = "multi_thread")]
async fn malformed_and_hostile_bodies_are_refused_and_change_nothing() {
    let app = start("campaigns-hostile").await;
    let c = create_campaign(&app, MIA, campaign("Target")).await;
    let id = c["id"].as_str().expect("id").to_string();
    let raw = |method: &'static str,
               path: String,
               token: &'static str,
               ctype: &'static str,
               body: Vec<u8>| {
        let app = &app;
        async move {
            let resp = app
                .client
                .request(method.parse().expect("method"), app.url(&path))
                .bearer_auth(token)
                .header("content-type", ctype)
                .header("if-match", "\"1\"")
                .body(body)
                .send()
                .await
                .expect("sent");
            let status = resp.status().as_u16();
            let ct = resp
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            (status, ct, resp.text().await.unwrap_or_default())
        }
    };
    let json_ct = "application/json";
    let mut wrong_type = campaign("x");
    wrong_type["objectives"][0]["target"] = json!("lots");
    let mut unknown = campaign("x");
    unknown["admin"] = json!(true);
    let mut huge = campaign("x");
    huge["name"] = json!("n".repeat(10_000));
    let mut bad_budget = campaign("x");
    bad_budget["channels"][0]["budget_minor"] = json!(-5);
    let mut nested = json!([]);
    for _ in 0..200 {
        nested = json!([nested]);
    }
    let cases: Vec<Case> = vec![
        (
            "POST",
            "/api/campaigns".into(),
            MIA,
            json_ct,
            wrong_type.to_string().into_bytes(),
            400,
        ),
        (
            "POST",
            "/api/campaigns".into(),
            MIA,
            json_ct,
            unknown.to_string().into_bytes(),
            400,
        ),
        (
            "POST",
            "/api/campaigns".into(),
            MIA,
            json_ct,
            huge.to_string().into_bytes(),
            422,
        ),
        (
            "POST",
            "/api/campaigns".into(),
            MIA,
            json_ct,
            bad_budget.to_string().into_bytes(),
            422,
        ),
        (
            "POST",
            "/api/campaigns".into(),
            MIA,
            json_ct,
            b"{\"name\": ".to_vec(),
            400,
        ),
        (
            "POST",
            "/api/campaigns".into(),
            MIA,
            json_ct,
            b"\xff\xfe".to_vec(),
            400,
        ),
        (
            "POST",
            "/api/campaigns".into(),
            MIA,
            json_ct,
            nested.to_string().into_bytes(),
            400,
        ),
        (
            "POST",
            "/api/campaigns".into(),
            MIA,
            "text/plain",
            campaign("x").to_string().into_bytes(),
            415,
        ),
        (
            "POST",
            "/api/campaigns".into(),
            MIA,
            json_ct,
            vec![b' '; 300 * 1024],
            413,
        ),
        (
            "POST",
            "/api/campaigns".into(),
            MIA,
            json_ct,
            vec![b' '; 2 * 1024 * 1024],
            413,
        ),
        (
            "PATCH",
            format!("/api/campaigns/{id}"),
            MIA,
            json_ct,
            br#"{"name": 7}"#.to_vec(),
            400,
        ),
        (
            "PATCH",
            format!("/api/campaigns/{id}"),
            MIA,
            json_ct,
            br#"{"stage": "completed"}"#.to_vec(),
            400,
        ),
        (
            "PATCH",
            format!("/api/campaigns/{id}"),
            MIA,
            json_ct,
            br#"{"version": 9}"#.to_vec(),
            400,
        ),
        (
            "PATCH",
            format!("/api/campaigns/{id}"),
            MIA,
            json_ct,
            br#"{"schedule": {"start": "2030-05-01T00:00:00Z", "end": "2030-04-01T00:00:00Z"}}"#
                .to_vec(),
            422,
        ),
        (
            "POST",
            format!("/api/campaigns/{id}/transitions"),
            OLGA,
            json_ct,
            br#"{"target": ["completed"]}"#.to_vec(),
            400,
        ),
        (
            "POST",
            format!("/api/campaigns/{id}/transitions"),
            OLGA,
            json_ct,
            br#"{"target": "cancelled", "force": true}"#.to_vec(),
            400,
        ),
        (
            "POST",
            "/api/resources".into(),
            OLGA,
            json_ct,
            br#"{"name": "Ann", "kind": "robot", "capacity_per_day": 8}"#.to_vec(),
            422,
        ),
        (
            "POST",
            "/api/resources".into(),
            OLGA,
            json_ct,
            br#"{"name": "Ann", "kind": "person", "capacity_per_day": 25}"#.to_vec(),
            422,
        ),
        (
            "POST",
            "/api/resources/allocations".into(),
            OLGA,
            json_ct,
            allocation("../../etc", &id, "2030-03-01", "2030-03-02", 1)
                .to_string()
                .into_bytes(),
            422,
        ),
        (
            "POST",
            "/api/resources/allocations".into(),
            OLGA,
            json_ct,
            allocation(
                "01ARZ3NDEKTSV4RRFFQ69G5FAV",
                &id,
                "2030-03-02",
                "2030-03-01",
                1,
            )
            .to_string()
            .into_bytes(),
            422,
        ),
        (
            "POST",
            "/api/resources/rebalance-proposals".into(),
            OLGA,
            json_ct,
            br#"{"from": "March", "to": "2030-03-01"}"#.to_vec(),
            422,
        ),
    ];
    for (method, path, token, ctype, body, expected) in cases {
        let shown = String::from_utf8_lossy(&body)
            .chars()
            .take(80)
            .collect::<String>();
        let (status, ct, text) = raw(method, path.clone(), token, ctype, body).await;
        assert_eq!(status, expected, "{method} {path} {shown}: {text}");
        assert_eq!(ct, "application/problem+json", "{method} {path} {shown}");
        if status == 422 {
            let p: Value = serde_json::from_str(&text).expect("json");
            assert!(p["errors"][0]["field"].is_string(), "{p}");
        }
    }
    let list = app.get("/api/campaigns", VIC).await.json();
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
    let current = app.get(&format!("/api/campaigns/{id}"), VIC).await.json();
    assert_eq!(current, c, "the campaign is unchanged");
    assert_eq!(audit_actions(&app, &id).await.len(), 1);
    let resources = app.get("/api/resources", VIC).await.json();
    assert_eq!(resources["items"], json!([]));
    let allocations = app.get("/api/resources/allocations", VIC).await.json();
    assert_eq!(allocations["items"], json!([]));
}
