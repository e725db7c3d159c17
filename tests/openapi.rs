//! The OpenAPI document and the components' route tables describe the same API.

mod support;

#[path = "../components/campaign-intake/src/campaign_routes.rs"]
mod campaign_routes;
#[path = "../components/content-approval/src/routes.rs"]
mod content_routes;
#[path = "../components/threshold-check/src/routes.rs"]
mod evaluation_routes;
#[path = "../components/trigger-dispatch/src/routes.rs"]
mod trigger_routes;
#[path = "../components/campaign-intake/src/webhook_routes.rs"]
mod webhook_routes;

use opsflow_api::RouteDef;
use std::collections::BTreeSet;

fn fragment(name: &str) -> String {
    std::fs::read_to_string(support::workspace().join(format!("docs/openapi/{name}.json")))
        .expect("fragment exists")
}

fn document() -> serde_json::Value {
    let frags: Vec<String> = [
        "campaigns",
        "webhooks",
        "content",
        "evaluations",
        "triggers",
    ]
    .iter()
    .map(|n| fragment(n))
    .collect();
    let refs: Vec<&str> = frags.iter().map(String::as_str).collect();
    opsflow_api::openapi::merge(&fragment("base"), &refs).expect("fragments merge")
}

fn tables() -> Vec<&'static [RouteDef]> {
    vec![
        campaign_routes::ROUTES,
        webhook_routes::ROUTES,
        content_routes::ROUTES,
        evaluation_routes::ROUTES,
        trigger_routes::ROUTES,
        &[RouteDef {
            method: "GET",
            path: "/api/openapi.json",
            op: "openapi",
        }],
    ]
}

#[test]
fn every_route_is_documented_and_every_documented_operation_is_routed() {
    let doc = document();
    let documented: BTreeSet<(String, String)> =
        opsflow_api::openapi::operations(&doc).into_iter().collect();
    let routed: BTreeSet<(String, String)> = tables()
        .into_iter()
        .flatten()
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect();
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from the OpenAPI document: {undocumented:?}"
    );
    assert!(
        unrouted.is_empty(),
        "documented operations no component routes: {unrouted:?}"
    );
}

#[test]
fn operation_ids_match_the_route_tables() {
    let doc = document();
    for r in tables().into_iter().flatten() {
        let op = &doc["paths"][r.path][r.method.to_ascii_lowercase()]["operationId"];
        assert_eq!(op, r.op, "{} {}", r.method, r.path);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_served_document_is_the_merged_one() {
    let app = support::start("openapi").await;
    let r = app.send("GET", "/api/openapi.json", None, None, &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), document());
    assert_eq!(r.json()["openapi"], "3.1.0");
    app.stop().await;
}
