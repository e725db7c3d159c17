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
            "campaign-metrics",
            "content-approval",
            "content-config",
            "dashboard",
            "monitoring-api",
            "platform-webhooks",
            "process-analytics",
            "resource-planning",
            "scheduler",
            "threshold-check",
            "trigger-dispatch"
        ]
    );
    assert_eq!(app.cron_triggers.len(), 1);
    assert_eq!(app.cron_triggers[0].component, "scheduler");
    for (id, c) in &app.components {
        assert!(c.build.is_some(), "{id} has a build command");
        if id != "scheduler" && id != "dashboard" {
            assert_eq!(c.key_value_stores, ["default"], "{id}");
        }
    }
    // Senders sign and hold no token: the webhook component gets the platforms'
    // secrets and the URL they sign, and no API token table.
    let webhooks = &app.components["platform-webhooks"];
    assert!(!webhooks.variables.contains_key("api_tokens"));
    assert!(webhooks.variables.contains_key("sendgrid_verification_key"));
    assert!(webhooks.variables.contains_key("public_base_url"));
    assert!(
        !app.components["campaign-intake"]
            .variables
            .contains_key("sendgrid_verification_key")
    );
    let dashboard = &app.components["dashboard"];
    assert!(dashboard.key_value_stores.is_empty() && dashboard.allowed_outbound_hosts.is_empty());
    assert!(dashboard.variables.is_empty());
    assert!(app.variables["api_tokens"].required && app.variables["api_tokens"].secret);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cron_scheduler_that_needs_service_chaining_is_refused_as_spin_refuses_it() {
    if support::needs_in_process_host("it checks opsflow_host::up's start-up refusal") {
        return;
    }
    // The manifest as it shipped before: the scheduler chained to the routes. Spin's
    // cron trigger has no local service chaining, so `spin up` refused it; so must we.
    let state = support::state_dir("cron-chaining");
    let opts = support::options_with_edits(
        &state,
        &[],
        &[(
            r#"allowed_outbound_hosts = ["{{ scheduler_base_url }}"]"#,
            r#"allowed_outbound_hosts = ["http://threshold-check.spin.internal", "http://trigger-dispatch.spin.internal"]"#,
        )],
    );
    let err = match opsflow_host::up(opts).await.map(support::App::from) {
        Ok(_app) => panic!("a chaining cron component must not start"),
        Err(e) => format!("{e:#}"),
    };
    assert_eq!(
        err,
        "This application requires the following features that are not available in this version of the 'cron' trigger: local_service_chaining"
    );
    // Without the cron component (SpinKube, a bare `spin up --component-id ...`) it starts.
    let mut opts = support::options_with_edits(
        &state,
        &[],
        &[(
            r#"allowed_outbound_hosts = ["{{ scheduler_base_url }}"]"#,
            r#"allowed_outbound_hosts = ["http://*.spin.internal"]"#,
        )],
    );
    opts.component_ids = ["campaign-intake", "trigger-dispatch"]
        .map(String::from)
        .to_vec();
    support::App::up(opts).await;
}

#[test]
fn the_shipped_manifest_meets_every_trigger_types_host_requirements() {
    let app = opsflow_host::manifest::load(&support::workspace().join("spin.toml"))
        .expect("spin.toml loads");
    opsflow_host::host_requirements::check(&app, &|_| true)
        .expect("no cron component needs service chaining");
    let scheduler = &app.components["scheduler"];
    assert!(
        opsflow_host::host_requirements::component_requirements(scheduler).is_empty(),
        "{:?}",
        scheduler.allowed_outbound_hosts
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn selective_deployment_serves_the_http_components_without_the_scheduler() {
    let state = support::state_dir("selective");
    let mut opts = support::options(&state, &[]);
    opts.component_ids = [
        "campaign-intake",
        "campaign-metrics",
        "resource-planning",
        "platform-webhooks",
        "content-approval",
        "content-config",
        "threshold-check",
        "monitoring-api",
        "process-analytics",
        "trigger-dispatch",
        "dashboard",
    ]
    .map(String::from)
    .to_vec();
    let app = support::App::up(opts).await;
    let r = app.send("GET", "/api/openapi.json", None, None, &[]).await;
    assert_eq!(r.status, 200);
    let r = app.send("GET", "/webhooks/sendgrid", None, None, &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // One signed-in read per split-off component: each answers on its own routes.
    for path in [
        "/api/resources",
        "/api/campaigns/metrics/unattributed?platform=sendgrid",
        "/api/content/brand-standard",
        "/api/evaluations/rules",
    ] {
        let r = app.send("GET", path, Some(support::OLGA), None, &[]).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
    }
}
