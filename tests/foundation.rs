//! The app's foundation: every component starts, answers its routes, and never 5xxs.

mod support;

use support::start;

#[tokio::test(flavor = "multi_thread")]
async fn health_answers_and_every_component_route_answers_without_5xx() {
    let app = start("foundation").await;
    let health = app
        .send("GET", "/.well-known/spin/health", None, None, &[])
        .await;
    assert_eq!(health.status, 200);
    for path in [
        "/api/campaigns",
        "/api/resources",
        "/webhooks/generic",
        "/api/content",
        "/api/evaluations/runs",
        "/api/triggers",
        "/api/openapi.json",
    ] {
        for method in ["GET", "POST", "DELETE"] {
            let r = app.send(method, path, Some("admin-token"), None, &[]).await;
            assert!(
                r.status < 500,
                "{method} {path} answered {}: {}",
                r.status,
                r.body
            );
            if r.status >= 400 {
                assert_eq!(
                    r.header("content-type"),
                    Some("application/problem+json"),
                    "{method} {path}"
                );
            }
        }
    }
    app.stop().await;
}
