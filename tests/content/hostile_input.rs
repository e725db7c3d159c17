//! Hostile bodies get a 4xx and change nothing.

use crate::builders::{campaign, create, email, get};
use crate::support::{ADA, BREE, MIA, OLGA, VIC, start};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread")]
async fn hostile_bodies_get_4xx_and_change_nothing() {
    let app = start("content-hostile").await;
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
}
