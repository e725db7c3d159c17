//! Who may call what: every route against every role.

use crate::builders::{campaign, create_campaign, create_resource, person};
use crate::support::{ADA, MAX, MIA, OLGA, SCHEDULER_TOKEN as SCHEDULER, VIC, start};
use serde_json::{Value, json};

/// Every route, with who may call it: `M`arketing, `O`perations, `R`eaders (every role).
#[tokio::test(flavor = "multi_thread")]
async fn every_role_is_allowed_or_refused_on_every_route() {
    let app = start("campaigns-roles").await;
    let c = create_campaign(&app, MIA, campaign("Roles")).await;
    let cid = c["id"].as_str().expect("id").to_string();
    let rid = create_resource(&app, person("Ann", 8)).await;
    let pid = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
    // (method, path, body, who may): bodies are empty objects, so an allowed write
    // stops at validation (422), an If-Match check (428) or a 404 and changes nothing.
    let routes: Vec<(&str, String, Option<Value>, &str)> = vec![
        ("GET", "/api/campaigns".into(), None, "R"),
        ("POST", "/api/campaigns".into(), Some(json!({})), "M"),
        ("GET", format!("/api/campaigns/{cid}"), None, "R"),
        (
            "PATCH",
            format!("/api/campaigns/{cid}"),
            Some(json!({})),
            "MO",
        ),
        (
            "POST",
            format!("/api/campaigns/{cid}/transitions"),
            Some(json!({})),
            "MO",
        ),
        ("GET", format!("/api/campaigns/{cid}/gate"), None, "R"),
        ("GET", format!("/api/campaigns/{cid}/handoffs"), None, "R"),
        ("GET", format!("/api/campaigns/{cid}/audit"), None, "R"),
        ("GET", format!("/api/campaigns/{cid}/report"), None, "R"),
        ("GET", "/api/resources".into(), None, "R"),
        ("POST", "/api/resources".into(), Some(json!({})), "O"),
        ("GET", format!("/api/resources/{rid}"), None, "R"),
        (
            "PATCH",
            format!("/api/resources/{rid}"),
            Some(json!({})),
            "O",
        ),
        ("DELETE", format!("/api/resources/{rid}"), None, "O"),
        ("GET", format!("/api/resources/{rid}/audit"), None, "R"),
        ("GET", "/api/resources/allocations".into(), None, "R"),
        (
            "POST",
            "/api/resources/allocations".into(),
            Some(json!({})),
            "O",
        ),
        (
            "DELETE",
            "/api/resources/allocations/none".into(),
            None,
            "O",
        ),
        (
            "GET",
            "/api/resources/utilization?from=2030-03-01&to=2030-03-02".into(),
            None,
            "R",
        ),
        (
            "GET",
            "/api/resources/rebalance-proposals".into(),
            None,
            "R",
        ),
        (
            "POST",
            "/api/resources/rebalance-proposals".into(),
            Some(json!({})),
            "O",
        ),
        (
            "GET",
            format!("/api/resources/rebalance-proposals/{pid}"),
            None,
            "R",
        ),
        (
            "POST",
            format!("/api/resources/rebalance-proposals/{pid}/decision"),
            Some(json!({})),
            "O",
        ),
    ];
    let roles: [(&str, char); 8] = [
        (MIA, 'M'),
        (OLGA, 'O'),
        ("brand-token", 'r'),
        ("compliance-token", 'r'),
        (VIC, 'r'),
        (ADA, 'A'),
        (SCHEDULER, 'O'),
        (MAX, 'M'),
    ];
    let mut failures = Vec::new();
    for (method, path, body, who) in &routes {
        let anonymous = app.send(method, path, None, body.clone(), &[]).await;
        if anonymous.status != 401 {
            failures.push(format!(
                "{method} {path} without a token: {}",
                anonymous.status
            ));
        }
        let bad = app
            .send(method, path, Some("forged"), body.clone(), &[])
            .await;
        if bad.status != 401 {
            failures.push(format!(
                "{method} {path} with an unknown token: {}",
                bad.status
            ));
        }
        for (token, role) in roles {
            let allowed = role == 'A' || who.contains('R') || who.contains(role);
            let r = app.send(method, path, Some(token), body.clone(), &[]).await;
            let refused = r.status == 403;
            if allowed == refused || r.status == 401 || r.status >= 500 {
                failures.push(format!(
                    "{method} {path} as {token}: {} (expected {})",
                    r.status,
                    if allowed { "allowed" } else { "403" }
                ));
            }
            if r.status >= 400 && r.header("content-type") != Some("application/problem+json") {
                failures.push(format!("{method} {path} as {token}: not problem+json"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Nothing the refused (or empty-bodied) calls did changed state.
    let list = app.get("/api/campaigns", VIC).await.json();
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(list["items"][0]["version"], 1);
    assert_eq!(
        app.get(&format!("/api/resources/{rid}"), VIC).await.status,
        200
    );
}
