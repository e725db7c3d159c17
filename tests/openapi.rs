//! The OpenAPI document and the components' route tables describe the same API.

mod support;

#[path = "../components/process-analytics/src/routes.rs"]
mod analytics_routes;
#[path = "../components/campaign-intake/src/routes.rs"]
mod campaign_routes;
#[path = "../components/content-config/src/routes.rs"]
mod content_config_routes;
#[path = "../components/content-approval/src/routes.rs"]
mod content_routes;
#[allow(dead_code)]
#[path = "../components/dashboard/src/routes.rs"]
mod dashboard_routes;
#[path = "../components/threshold-check/src/routes.rs"]
mod evaluation_routes;
#[path = "../components/campaign-metrics/src/routes.rs"]
mod metrics_routes;
#[path = "../components/monitoring-api/src/routes.rs"]
mod monitoring_routes;
#[path = "../components/resource-planning/src/routes.rs"]
mod resource_routes;
#[path = "../components/trigger-dispatch/src/routes.rs"]
mod trigger_routes;
#[path = "../components/platform-webhooks/src/routes.rs"]
mod webhook_routes;

use opsflow_api::{Operation, RouteDef, route};
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
        "analytics",
    ]
    .iter()
    .map(|n| fragment(n))
    .collect();
    let refs: Vec<&str> = frags.iter().map(String::as_str).collect();
    opsflow_api::openapi::merge(&fragment("base"), &refs).expect("fragments merge")
}

/// Every component's routes as (method, path template, operationId).
fn tables() -> Vec<(&'static str, &'static str, &'static str)> {
    fn rows<Op: Operation>(t: &[RouteDef<Op>]) -> Vec<(&'static str, &'static str, &'static str)> {
        t.iter().map(|r| (r.method, r.path, r.op.id())).collect()
    }
    [
        rows(campaign_routes::ROUTES),
        rows(webhook_routes::ROUTES),
        rows(resource_routes::ROUTES),
        rows(metrics_routes::ROUTES),
        rows(content_config_routes::ROUTES),
        rows(dashboard_routes::ROUTES),
        rows(content_routes::ROUTES),
        rows(evaluation_routes::ROUTES),
        rows(monitoring_routes::ROUTES),
        rows(analytics_routes::ROUTES),
        rows(trigger_routes::ROUTES),
    ]
    .concat()
}

/// Each table has no duplicate route, and each route wins for a path made from its
/// own template, whatever the table order: no route is shadowed by another.
fn check_reachable<Op: Operation>(table: &[RouteDef<Op>]) {
    route::check_table(table).expect("no duplicate routes");
    let reversed: Vec<RouteDef<Op>> = table.iter().rev().copied().collect();
    for t in [table, reversed.as_slice()] {
        for r in t {
            let path = route::example_path(r.path);
            let found = route::find(t, r.method, &path).map(|(op, _)| op);
            assert_eq!(found, Ok(r.op), "{} {} via {path}", r.method, r.path);
        }
    }
}

#[test]
fn every_route_in_every_table_is_reachable() {
    check_reachable(campaign_routes::ROUTES);
    check_reachable(webhook_routes::ROUTES);
    check_reachable(resource_routes::ROUTES);
    check_reachable(metrics_routes::ROUTES);
    check_reachable(content_config_routes::ROUTES);
    check_reachable(dashboard_routes::ROUTES);
    check_reachable(content_routes::ROUTES);
    check_reachable(evaluation_routes::ROUTES);
    check_reachable(monitoring_routes::ROUTES);
    check_reachable(analytics_routes::ROUTES);
    check_reachable(trigger_routes::ROUTES);
}

#[test]
fn every_declared_operation_has_a_route() {
    fn all_routed<Op: Operation>(all: &[Op], table: &[RouteDef<Op>]) {
        for op in all {
            assert!(
                table.iter().any(|r| r.op == *op),
                "{} has no route",
                op.id()
            );
        }
    }
    all_routed(campaign_routes::Op::ALL, campaign_routes::ROUTES);
    all_routed(webhook_routes::Op::ALL, webhook_routes::ROUTES);
    all_routed(resource_routes::Op::ALL, resource_routes::ROUTES);
    all_routed(metrics_routes::Op::ALL, metrics_routes::ROUTES);
    all_routed(
        content_config_routes::Op::ALL,
        content_config_routes::ROUTES,
    );
    all_routed(dashboard_routes::Op::ALL, dashboard_routes::ROUTES);
    all_routed(content_routes::Op::ALL, content_routes::ROUTES);
    all_routed(evaluation_routes::Op::ALL, evaluation_routes::ROUTES);
    all_routed(monitoring_routes::Op::ALL, monitoring_routes::ROUTES);
    all_routed(trigger_routes::Op::ALL, trigger_routes::ROUTES);
}

#[test]
fn every_route_is_documented_and_every_documented_operation_is_routed() {
    let doc = document();
    let documented: BTreeSet<(String, String)> =
        opsflow_api::openapi::operations(&doc).into_iter().collect();
    let routed: BTreeSet<(String, String)> = tables()
        .into_iter()
        .map(|(method, path, _)| (method.to_string(), path.to_string()))
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
    for (method, path, id) in tables() {
        let op = &doc["paths"][path][method.to_ascii_lowercase()]["operationId"];
        assert_eq!(op, id, "{method} {path}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_served_document_is_the_merged_one() {
    let app = support::start("openapi").await;
    let r = app.send("GET", "/api/openapi.json", None, None, &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), document());
    assert_eq!(r.json()["openapi"], "3.1.0");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_document_is_sent_gzipped_to_clients_that_accept_it_and_revalidates_with_304() {
    let app = support::start("openapi-gzip").await;
    let plain = app.send("GET", "/api/openapi.json", None, None, &[]).await;
    assert_eq!(plain.status, 200);
    assert_eq!(plain.header("content-encoding"), None);
    assert_eq!(plain.header("content-type"), Some("application/json"));
    assert_eq!(plain.header("vary"), Some("accept-encoding"));
    let etag = plain.header("etag").expect("a validator").to_string();
    let gzipped = app
        .send(
            "GET",
            "/api/openapi.json",
            None,
            None,
            &[("accept-encoding", "gzip, deflate")],
        )
        .await;
    assert_eq!(gzipped.status, 200);
    assert_eq!(gzipped.header("content-encoding"), Some("gzip"));
    let gz_etag = gzipped.header("etag").expect("a validator").to_string();
    assert_ne!(
        gz_etag, etag,
        "each representation has its own strong validator"
    );
    for (tag, accept) in [(&etag, "identity"), (&gz_etag, "gzip")] {
        let again = app
            .send(
                "GET",
                "/api/openapi.json",
                None,
                None,
                &[("if-none-match", tag), ("accept-encoding", accept)],
            )
            .await;
        assert_eq!(again.status, 304, "{accept}");
        assert!(again.body.is_empty());
    }
}

/// spin.toml sends every operation's path to the component whose table holds it,
/// with Spin's route order (the host's router follows Spin's `routes` crate): the
/// routes split off campaign-intake and content-approval are more specific than
/// their wildcards, and only those paths leave them.
#[test]
fn the_manifest_routes_every_operation_to_the_component_that_serves_it() {
    fn paths<Op: Operation>(t: &[RouteDef<Op>]) -> Vec<String> {
        t.iter().map(|r| route::example_path(r.path)).collect()
    }
    let app = opsflow_host::manifest::load(&support::workspace().join("spin.toml"))
        .expect("spin.toml loads");
    let (router, duplicates) = opsflow_host::routes::Router::build(
        &app.http_base,
        app.http_triggers
            .iter()
            .filter_map(|t| Some((t.component.as_str(), t.route.as_deref()?))),
    )
    .expect("routes parse");
    assert!(duplicates.is_empty(), "{duplicates:?}");
    let served = [
        ("campaign-intake", paths(campaign_routes::ROUTES)),
        ("campaign-metrics", paths(metrics_routes::ROUTES)),
        ("resource-planning", paths(resource_routes::ROUTES)),
        ("platform-webhooks", paths(webhook_routes::ROUTES)),
        ("content-approval", paths(content_routes::ROUTES)),
        ("content-config", paths(content_config_routes::ROUTES)),
        ("threshold-check", paths(evaluation_routes::ROUTES)),
        ("monitoring-api", paths(monitoring_routes::ROUTES)),
        ("process-analytics", paths(analytics_routes::ROUTES)),
        ("trigger-dispatch", paths(trigger_routes::ROUTES)),
        ("dashboard", paths(dashboard_routes::ROUTES)),
    ];
    let component = |path: &str| {
        router
            .route(path)
            .map(|m| m.route.component.clone())
            .unwrap_or_default()
    };
    for (name, paths) in &served {
        for path in paths {
            assert_eq!(component(path), *name, "{path}");
        }
    }
    // Ids that look like the split-off routes' literals stay with the wildcard's
    // component, which answers them as before (404 for an unknown id).
    for (path, name) in [
        ("/api/campaigns/metrics", "campaign-intake"),
        ("/api/campaigns/c1/metrics/extra", "campaign-intake"),
        ("/api/content/channels", "content-approval"),
        (
            "/api/content/campaigns/c1/timing-change",
            "content-approval",
        ),
        ("/api/content/brand-standard/extra", "content-approval"),
        ("/api/evaluations/alerts/extra", "threshold-check"),
        ("/api/evaluations/rulesx", "threshold-check"),
    ] {
        assert_eq!(component(path), name, "{path}");
    }
}
