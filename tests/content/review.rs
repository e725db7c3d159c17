//! Review: three stages by distinct people, one decision per stage per approver, an
//! edit that reopens review, automatic approval, and the automated checks' messages.

use crate::builders::{LINK, act, actions, approve, campaign, create, email, get, put_policy};
use crate::support::{ADA, BREE, COLE, MIA, OLGA, VIC, start};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread")]
async fn draft_to_published_through_three_stages_by_distinct_people() {
    let app = start("content-full-path").await;
    let c = campaign(&app, &["email"]).await;
    let (id, item) = create(&app, MIA, email(&c)).await;
    assert_eq!(item["state"], "draft");
    assert_eq!(item["checks"]["passed"], true, "{item}");

    let r = act(&app, MIA, &id, "submit", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["state"], "in_review");
    // Compliance cannot jump ahead of brand review.
    let r = approve(&app, COLE, &id).await;
    assert_eq!(r.status, 403, "{}", r.body);
    for (token, stage) in [(BREE, "brand"), (COLE, "compliance"), (OLGA, "operations")] {
        let r = approve(&app, token, &id).await;
        assert_eq!(r.status, 200, "{stage}: {}", r.body);
    }
    let v = get(&app, &id).await;
    assert_eq!(v["state"], "approved");
    assert_eq!(v["review"]["approved_for_current_hash"], true);
    let approvers: Vec<&str> = v["decisions"]
        .as_array()
        .expect("decisions")
        .iter()
        .map(|d| d["approver"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(approvers, ["bree", "cole", "olga"]);
    assert!(
        v["decisions"]
            .as_array()
            .expect("decisions")
            .iter()
            .all(|d| d["content_hash"] == v["content_hash"])
    );

    // Publishing needs a schedule first.
    assert_eq!(act(&app, OLGA, &id, "publish", json!({})).await.status, 409);
    let r = act(&app, OLGA, &id, "schedule", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let scheduled = r.json();
    assert_eq!(scheduled["state"], "scheduled");
    assert_eq!(scheduled["scheduled"]["picked"], "auto");
    let r = act(&app, OLGA, &id, "publish", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["state"], "published");
    // Published items are final.
    let r = app
        .send(
            "PATCH",
            &format!("/api/content/{id}"),
            Some(MIA),
            Some(json!({"title": "x"})),
            &[("if-match", &format!("\"{}\"", r.json()["version"]))],
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);

    let trail = actions(&app, &id).await;
    let names: Vec<&str> = trail.iter().map(|(_, a)| a.as_str()).collect();
    for expected in [
        "content.created",
        "content.submitted",
        "content.review_started",
        "content.decided",
        "content.approved",
        "content.scheduled",
        "content.published",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    // Filters find it.
    let r = app
        .get(
            &format!("/api/content?campaign={c}&state=published&channel=email"),
            VIC,
        )
        .await;
    assert_eq!(r.json()["items"].as_array().map(Vec::len), Some(1));
    let r = app
        .get(&format!("/api/content?campaign={c}&state=draft"), VIC)
        .await;
    assert_eq!(r.json()["items"].as_array().map(Vec::len), Some(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn approving_own_content_is_forbidden_and_one_decision_per_stage_per_approver() {
    let app = start("content-self-approval").await;
    let c = campaign(&app, &["email", "web"]).await;
    // The admin holds every role, yet may not approve what they wrote.
    let (id, _) = create(&app, ADA, email(&c)).await;
    assert_eq!(act(&app, ADA, &id, "submit", json!({})).await.status, 200);
    let r = approve(&app, ADA, &id).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("author"), "{}", r.body);
    assert_eq!(get(&app, &id).await["decisions"], json!([]));

    // A brand stage needing two named approvers: the same one twice is refused.
    put_policy(
        &app,
        "web",
        json!({"workflow": {"stages": [
            {"name": "brand", "role": "brand_reviewer", "rule": "all", "approvers": ["bree", "ada"]},
            {"name": "ops", "role": "operations"}
        ]}}),
    )
    .await;
    let (id, _) = create(
        &app,
        MIA,
        json!({"campaign_id": c, "channel": "web", "title": "Landing", "body": "Hello"}),
    )
    .await;
    assert_eq!(act(&app, MIA, &id, "submit", json!({})).await.status, 200);
    assert_eq!(approve(&app, BREE, &id).await.status, 200);
    let again = approve(&app, BREE, &id).await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert_eq!(
        again.json()["type"],
        "https://opsflow.dev/problems/already-decided"
    );
    let v = get(&app, &id).await;
    assert_eq!(v["decisions"].as_array().map(Vec::len), Some(1));
    assert_eq!(v["state"], "in_review");
    // The second listed approver completes the stage; operations signs off.
    assert_eq!(approve(&app, ADA, &id).await.status, 200);
    assert_eq!(approve(&app, OLGA, &id).await.status, 200);
    assert_eq!(get(&app, &id).await["state"], "approved");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_edit_after_approval_reopens_review_and_voids_decisions() {
    let app = start("content-edit-reopens").await;
    let c = campaign(&app, &["email"]).await;
    let (id, _) = create(&app, MIA, email(&c)).await;
    act(&app, MIA, &id, "submit", json!({})).await;
    for t in [BREE, COLE, OLGA] {
        assert_eq!(approve(&app, t, &id).await.status, 200);
    }
    let r = act(&app, OLGA, &id, "schedule", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    let old_hash = v["content_hash"].clone();
    let etag = r.header("etag").expect("etag").to_string();
    // A stale ETag is refused and changes nothing.
    let stale = app
        .send(
            "PATCH",
            &format!("/api/content/{id}"),
            Some(MIA),
            Some(json!({"body": "changed"})),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(stale.status, 412, "{}", stale.body);
    let r = app
        .send(
            "PATCH",
            &format!("/api/content/{id}"),
            Some(MIA),
            Some(json!({"body": format!("New copy, same offer: {LINK}")})),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["state"], "in_review");
    assert_ne!(v["content_hash"], old_hash);
    assert_eq!(v["approval"], Value::Null);
    assert_eq!(v["scheduled"], Value::Null);
    assert_eq!(v["round"], 2);
    assert!(
        v["decisions"]
            .as_array()
            .expect("decisions")
            .iter()
            .all(|d| d["void"] == true)
    );
    assert_eq!(v["review"]["stages"][0]["open"], true);
    let trail = actions(&app, &id).await;
    assert!(trail.iter().any(|(_, a)| a == "content.reopened"));
    // A decision on the hash the reviewer saw before is refused.
    let r = act(
        &app,
        BREE,
        &id,
        "decisions",
        json!({"outcome": "approve", "content_hash": old_hash}),
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.body);
    // Request changes needs a comment.
    let r = act(
        &app,
        BREE,
        &id,
        "decisions",
        json!({"outcome": "request_changes"}),
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.body);
    let r = act(
        &app,
        BREE,
        &id,
        "decisions",
        json!({"outcome": "request_changes", "comment": "Tone it down"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["state"], "changes_requested");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clean_item_on_an_auto_approvable_channel_is_approved_automatically() {
    let app = start("content-auto-approve").await;
    let c = campaign(&app, &["sms"]).await;
    put_policy(
        &app,
        "sms",
        json!({"workflow": {"stages": [], "auto_approve": true}, "cap_per_hour": 5}),
    )
    .await;
    let (id, _) = create(
        &app,
        MIA,
        json!({"campaign_id": c, "channel": "sms", "title": "Flash", "body": "Sale today only"}),
    )
    .await;
    let r = act(&app, MIA, &id, "submit", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["state"], "approved");
    assert_eq!(v["approval"]["by"], "system");
    let trail = actions(&app, &id).await;
    assert!(
        trail
            .iter()
            .any(|(who, a)| who == "system:content-approval" && a == "content.auto_approved"),
        "{trail:?}"
    );
    // An item that fails a check is not: submit is refused and nothing changes.
    let (bad, _) = create(
        &app,
        MIA,
        json!({"campaign_id": c, "channel": "sms", "title": "Long", "body": "x".repeat(200)}),
    )
    .await;
    let r = act(&app, MIA, &bad, "submit", json!({})).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(get(&app, &bad).await["state"], "draft");
}

#[tokio::test(flavor = "multi_thread")]
async fn each_failing_check_has_a_precise_message() {
    let app = start("content-checks").await;
    let c = campaign(&app, &["sms", "email", "web"]).await;
    let mut standard = app.get("/api/content/brand-standard", VIC).await.json();
    standard["banned_terms"] = json!(["guaranteed"]);
    standard["required_terms"] = json!(["Acme"]);
    standard["channels"]["sms"]["disclaimers"] = json!(["Reply STOP to opt out"]);
    // Brand reviewers edit the standard (If-Match "0" replaces the default)...
    let r = app
        .send(
            "PUT",
            "/api/content/brand-standard",
            Some(BREE),
            Some(standard.clone()),
            &[("if-match", "\"0\"")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // ... marketing does not.
    let r = app
        .send(
            "PUT",
            "/api/content/brand-standard",
            Some(MIA),
            Some(standard),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(r.status, 403);

    let long_sms = format!("Acme. Reply STOP to opt out. {}", "x".repeat(140));
    let n = long_sms.chars().count();
    let length_message = format!(
        "body is {n} characters; the sms limit is 160 ({} over)",
        n - 160
    );
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"channel": "web", "body": "Acme results GUARANTEED!"}),
            "banned_term",
            "body contains the banned term \"guaranteed\"",
        ),
        (
            json!({"channel": "web", "body": "Great results"}),
            "required_term",
            "the required term \"Acme\" appears in none of title, subject, body",
        ),
        (
            json!({"channel": "sms", "body": "Acme sale"}),
            "disclaimer",
            "the sms disclaimer \"Reply STOP to opt out\" is missing from the body",
        ),
        (
            json!({"channel": "sms", "body": long_sms}),
            "length",
            &length_message,
        ),
        (
            json!({"channel": "web", "body": "Acme", "links": ["http://acme.test/?utm_source=a&utm_medium=b&utm_campaign=c"]}),
            "link_https",
            "link \"http://acme.test/?utm_source=a&utm_medium=b&utm_campaign=c\" must use https",
        ),
        (
            json!({"channel": "web", "body": "Acme at https://acme.test/x?utm_source=a"}),
            "link_utm",
            "link \"https://acme.test/x?utm_source=a\" lacks the UTM parameter(s) utm_medium, utm_campaign",
        ),
        (
            json!({"channel": "email", "body": "Acme news"}),
            "required_field",
            "subject is required on the email channel",
        ),
    ];
    for (fields, check, message) in cases {
        let mut body = fields.clone();
        body["campaign_id"] = json!(c);
        body["title"] = json!("Item");
        let (id, item) = create(&app, MIA, body).await;
        let failures = item["checks"]["failures"].as_array().expect("failures");
        assert_eq!(failures.len(), 1, "{check}: {failures:?}");
        assert_eq!(failures[0]["check"], check);
        assert_eq!(failures[0]["message"], message);
        let r = app.get(&format!("/api/content/{id}/checks"), VIC).await;
        assert_eq!(r.json()["failures"][0]["message"], message);
        let r = act(&app, MIA, &id, "submit", json!({})).await;
        assert_eq!(r.status, 422, "{check}: {}", r.body);
        assert_eq!(
            r.json()["type"],
            "https://opsflow.dev/problems/checks-failed"
        );
        assert!(r.body.contains(&message.replace('"', "\\\"")), "{}", r.body);
        assert_eq!(get(&app, &id).await["state"], "draft");
    }
}
