//! The app's foundation: every component starts, answers its routes, and never 5xxs.

mod support;

#[tokio::test(flavor = "multi_thread")]
async fn health_answers_and_every_component_route_answers_without_5xx() {
    // With every webhook platform configured, no route has a reason to answer 5xx.
    let state = support::state_dir("foundation");
    let app = support::App::start_in(
        &state,
        &[
            (
                "generic_webhook_secret",
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            ),
            ("mandrill_webhook_key", "mandrill-key"),
            ("hubspot_client_secret", "hubspot-secret"),
        ],
    )
    .await;
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

#[test]
fn the_shipped_manifest_is_valid_and_declares_every_component() {
    let app = opsflow_host::manifest::load(&support::workspace().join("spin.toml"))
        .expect("spin.toml loads");
    let ids: Vec<&str> = app.components.keys().map(String::as_str).collect();
    assert_eq!(
        ids,
        [
            "campaign-intake",
            "content-approval",
            "scheduler",
            "threshold-check",
            "trigger-dispatch"
        ]
    );
    assert_eq!(app.cron_triggers.len(), 1);
    assert_eq!(app.cron_triggers[0].component, "scheduler");
    for (id, c) in &app.components {
        assert!(c.build.is_some(), "{id} has a build command");
        if id != "scheduler" {
            assert_eq!(c.key_value_stores, ["default"], "{id}");
        }
    }
    assert!(app.variables["api_tokens"].required && app.variables["api_tokens"].secret);
}

#[tokio::test(flavor = "multi_thread")]
async fn selective_deployment_serves_the_four_http_components_without_the_scheduler() {
    let state = support::state_dir("selective");
    let mut opts = support::options(&state, &[]);
    opts.component_ids = [
        "campaign-intake",
        "content-approval",
        "threshold-check",
        "trigger-dispatch",
    ]
    .map(String::from)
    .to_vec();
    let host = opsflow_host::up(opts)
        .await
        .expect("starts without the cron component");
    let r = reqwest::get(format!("{}/api/openapi.json", host.url()))
        .await
        .expect("get");
    assert_eq!(r.status().as_u16(), 200);
    host.stop().await;
}
