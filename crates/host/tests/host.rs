//! The host's features, exercised through a real compiled component over HTTP.
//!
//! The fixture (`tests/fixtures/kv-probe`) is built for wasm32-wasip2 once per test
//! run; each test starts its own host on an ephemeral port.

mod support;

use opsflow_host::{KvMode, RunningApp, UpOptions};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use support::{build_fixture, manifest, workspace};

fn state_dir(name: &str) -> PathBuf {
    let dir = workspace()
        .join("target/test-state")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn options(state: &Path) -> UpOptions {
    build_fixture();
    let mut opts = UpOptions::new(manifest());
    opts.listen = "127.0.0.1:0".parse().expect("addr");
    opts.state_dir = Some(state.to_path_buf());
    // Compiled components are shared by every test process (target/wasmtime-cache).
    opts.compile_cache = Some(workspace().join("target"));
    opts.env_vars = Some(BTreeMap::from([(
        "SPIN_VARIABLE_SECRET_TOKEN".to_string(),
        "from-env".to_string(),
    )]));
    opts
}

async fn start(state: &Path) -> RunningApp {
    opsflow_host::up(options(state)).await.expect("host starts")
}

struct Reply {
    status: u16,
    body: String,
}

async fn call(app: &RunningApp, method: &str, path: &str, body: &str) -> Reply {
    let client = reqwest::Client::new();
    let resp = client
        .request(
            method.parse().expect("method"),
            format!("{}{path}", app.url()),
        )
        .body(body.to_string())
        .send()
        .await
        .expect("request");
    Reply {
        status: resp.status().as_u16(),
        body: resp.text().await.expect("body"),
    }
}

async fn get(app: &RunningApp, path: &str) -> Reply {
    call(app, "GET", path, "").await
}

#[tokio::test(flavor = "multi_thread")]
async fn health_and_info_answer_like_spin() {
    let app = start(&state_dir("health")).await;
    let health = get(&app, "/.well-known/spin/health").await;
    assert_eq!((health.status, health.body.as_str()), (200, "OK"));
    let info = get(&app, "/.well-known/spin/info").await;
    assert_eq!(info.status, 200);
    let info: serde_json::Value = serde_json::from_str(&info.body).expect("json");
    assert_eq!(info["name"], "probe-app");
    assert_eq!(info["version"], "0.3.0");
    assert_eq!(get(&app, "/nothing/here").await.status, 404);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn spin_request_headers_are_set() {
    let app = start(&state_dir("headers")).await;
    let r = get(&app, "/items/42/a/b/headers?q=1&r=2").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let h: serde_json::Value = serde_json::from_str(&r.body).expect("json");
    assert_eq!(h["spin-path-info"], "/a/b/headers");
    assert_eq!(h["spin-matched-route"], "/items/:id/...");
    assert_eq!(h["spin-raw-component-route"], "/items/:id/...");
    assert_eq!(h["spin-component-route"], "/items/:id");
    assert_eq!(h["spin-base-path"], "/");
    assert_eq!(h["spin-path-match-id"], "42");
    let full = format!("http://{}/items/42/a/b/headers?q=1&r=2", app.addr());
    assert_eq!(h["spin-full-url"], full.as_str());
    assert_eq!(h["uri"], full.as_str());
    assert!(
        h["spin-client-addr"]
            .as_str()
            .expect("addr")
            .starts_with("127.0.0.1:")
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn key_value_round_trip_keys_and_delete() {
    let app = start(&state_dir("kv")).await;
    assert_eq!(get(&app, "/probe/kv/greeting").await.status, 404);
    assert_eq!(
        call(&app, "PUT", "/probe/kv/greeting", "hi there")
            .await
            .status,
        200
    );
    assert_eq!(get(&app, "/probe/kv/greeting").await.body, "hi there");
    assert_eq!(call(&app, "PUT", "/probe/kv/other", "x").await.status, 200);
    let keys = get(&app, "/probe/keys").await.body;
    assert!(
        keys.contains("greeting") && keys.contains("other"),
        "{keys}"
    );
    assert_eq!(
        call(&app, "DELETE", "/probe/kv/greeting", "").await.status,
        200
    );
    assert_eq!(get(&app, "/probe/kv/greeting").await.status, 404);
    let stats = app.stats();
    assert!(stats.kv_total("probe") >= 6, "{stats:?}");
    assert!(stats.instantiations >= 7);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn key_and_value_limits_are_enforced() {
    let app = start(&state_dir("limits")).await;
    let long_key = "k".repeat(257);
    let r = call(&app, "PUT", &format!("/probe/kv/{long_key}"), "v").await;
    assert_eq!(r.status, 500);
    assert!(r.body.contains("key too large"), "{}", r.body);
    let big = "v".repeat(1024 * 1024 + 1);
    let r = call(&app, "PUT", "/probe/kv/big", &big).await;
    assert!(r.body.contains("value too large"), "{}", r.body);
    let ok = "v".repeat(1024 * 1024);
    assert_eq!(call(&app, "PUT", "/probe/kv/big", &ok).await.status, 200);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn store_access_follows_key_value_stores() {
    let app = start(&state_dir("access")).await;
    let r = get(&app, "/probe/open/other").await;
    assert!(r.body.contains("AccessDenied"), "{}", r.body);
    let r = get(&app, "/probe/wasi-open/other").await;
    assert!(r.body.contains("AccessDenied"), "{}", r.body);
    // `limited` is granted no store at all.
    let r = get(&app, "/other/probe/open/default").await;
    assert!(r.body.contains("AccessDenied"), "{}", r.body);
    assert_eq!(get(&app, "/probe/open/default").await.body, "opened");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn increments_are_atomic_under_concurrency() {
    let app = start(&state_dir("incr")).await;
    let url = app.url();
    let client = reqwest::Client::new();
    let tasks: Vec<_> = (0..40)
        .map(|_| {
            let (client, url) = (client.clone(), url.clone());
            tokio::spawn(async move {
                client
                    .post(format!("{url}/probe/incr/hits?by=2"))
                    .send()
                    .await
                    .expect("send")
                    .status()
                    .as_u16()
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.expect("join"), 200);
    }
    // Counters are 8-byte little-endian values, readable through spin:key-value.
    assert_eq!(get(&app, "/probe/counter/hits").await.body, "80");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_compare_and_swap_has_exactly_one_winner() {
    let app = start(&state_dir("cas")).await;
    // Slow every KV call down so both swaps read the same value before either writes.
    app.faults().delay_kv(150);
    let url = app.url();
    let client = reqwest::Client::new();
    let tasks: Vec<_> = ["a", "b"]
        .into_iter()
        .map(|v| {
            let (client, url) = (client.clone(), url.clone());
            tokio::spawn(async move {
                let r = client
                    .post(format!("{url}/probe/cas/slot"))
                    .body(v)
                    .send()
                    .await
                    .expect("send");
                r.status().as_u16()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.expect("join"));
    }
    statuses.sort();
    assert_eq!(statuses, [200, 409]);
    app.faults().clear();
    let winner = get(&app, "/probe/kv/slot").await.body;
    assert!(winner == "a" || winner == "b", "{winner}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn batch_operations_round_trip() {
    let app = start(&state_dir("batch")).await;
    let r = call(
        &app,
        "POST",
        "/probe/batch",
        r#"[["a","1"],["b","2"],["c","3"]]"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = get(&app, "/probe/batch?keys=a,missing,c").await;
    assert_eq!(
        r.body, r#"[["a","1"],["c","3"]]"#,
        "missing keys are left out, as on Spin"
    );
    assert_eq!(
        call(&app, "DELETE", "/probe/batch?keys=a,b", "")
            .await
            .status,
        200
    );
    assert_eq!(
        get(&app, "/probe/batch?keys=a,b,c").await.body,
        r#"[["c","3"]]"#
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn data_survives_a_restart() {
    let state = state_dir("restart");
    let app = start(&state).await;
    assert_eq!(
        call(&app, "PUT", "/probe/kv/durable", "yes").await.status,
        200
    );
    assert_eq!(call(&app, "POST", "/probe/incr/n?by=5", "").await.body, "5");
    app.stop().await;
    let app = start(&state).await;
    assert_eq!(get(&app, "/probe/kv/durable").await.body, "yes");
    assert_eq!(call(&app, "POST", "/probe/incr/n?by=1", "").await.body, "6");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn in_memory_store_starts_empty_each_time() {
    let state = state_dir("memory");
    let mut opts = options(&state);
    opts.kv = KvMode::Memory;
    let app = opsflow_host::up(opts.clone()).await.expect("starts");
    assert_eq!(call(&app, "PUT", "/probe/kv/k", "v").await.status, 200);
    app.stop().await;
    let app = opsflow_host::up(opts).await.expect("starts");
    assert_eq!(get(&app, "/probe/kv/k").await.status, 404);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn variables_resolve_from_env_flags_and_defaults() {
    let state = state_dir("vars");
    let app = start(&state).await;
    assert_eq!(get(&app, "/probe/var/secret_token").await.body, "from-env");
    assert_eq!(get(&app, "/probe/var/line").await.body, "hello, world");
    assert!(
        get(&app, "/probe/var/unset")
            .await
            .body
            .contains("Undefined")
    );
    assert!(
        get(&app, "/probe/var/Not-Valid")
            .await
            .body
            .contains("InvalidName")
    );
    app.stop().await;

    let mut opts = options(&state);
    opts.variables = BTreeMap::from([("greeting".to_string(), "howdy".to_string())]);
    let app = opsflow_host::up(opts).await.expect("starts");
    assert_eq!(get(&app, "/probe/var/line").await.body, "howdy, world");
    app.stop().await;

    let mut opts = options(&state);
    opts.env_vars = Some(BTreeMap::new());
    let err = opsflow_host::up(opts)
        .await
        .err()
        .expect("required variable missing");
    assert!(format!("{err:#}").contains("secret_token"), "{err:#}");
}

async fn echo_server() -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let _ = s
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\nconnection: close\r\n\r\npong",
                    )
                    .await;
            });
        }
    });
    (addr, task)
}

#[tokio::test(flavor = "multi_thread")]
async fn outbound_http_follows_the_allow_list() {
    let (addr, server) = echo_server().await;
    let app = start(&state_dir("outbound")).await;
    let allowed = get(
        &app,
        &format!("/probe/fetch?url=http://127.0.0.1:{}/ping", addr.port()),
    )
    .await;
    assert_eq!((allowed.status, allowed.body.as_str()), (200, "200 pong"));
    let denied = get(
        &app,
        &format!("/probe/fetch?url=http://localhost:{}/ping", addr.port()),
    )
    .await;
    assert_eq!(denied.status, 502);
    assert!(denied.body.contains("HttpRequestDenied"), "{}", denied.body);
    // `limited` may call nothing.
    let denied = get(
        &app,
        &format!(
            "/other/probe/fetch?url=http://127.0.0.1:{}/ping",
            addr.port()
        ),
    )
    .await;
    assert!(denied.body.contains("HttpRequestDenied"), "{}", denied.body);
    // Fault injection refuses even allowed hosts.
    app.faults().refuse_outbound(true);
    let refused = get(
        &app,
        &format!("/probe/fetch?url=http://127.0.0.1:{}/ping", addr.port()),
    )
    .await;
    assert_eq!(refused.status, 502);
    app.stop().await;
    server.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn service_chaining_reaches_private_components_in_process() {
    let app = start(&state_dir("chain")).await;
    assert_eq!(
        call(&app, "PUT", "/probe/kv/shared", "from-probe")
            .await
            .status,
        200
    );
    let r = get(
        &app,
        "/probe/fetch?url=http://internal.spin.internal/probe/kv/shared",
    )
    .await;
    assert_eq!((r.status, r.body.as_str()), (200, "200 from-probe"));
    let r = get(
        &app,
        "/probe/fetch?url=http://internal.spin.internal/probe/headers",
    )
    .await;
    assert!(
        r.body.contains(r#""spin-path-info":"/probe/headers""#),
        "{}",
        r.body
    );
    // `http://self` goes through the app's public routes.
    let r = get(&app, "/probe/fetch?url=http://self/probe/kv/shared").await;
    assert_eq!(r.body, "200 from-probe");
    // Not allowed: `limited` has no allowed hosts; `ticker` is not chained to.
    let r = get(
        &app,
        "/probe/fetch?url=http://ticker.spin.internal/probe/kv/shared",
    )
    .await;
    assert!(r.body.contains("HttpRequestDenied"), "{}", r.body);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn private_routes_are_not_reachable_from_outside() {
    let app = start(&state_dir("private")).await;
    // The only public routes are /probe/..., /items/:id/... and /other/...
    for path in ["/", "/internal", "/internal/probe/kv/x"] {
        assert_eq!(get(&app, path).await.status, 404, "{path}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cron_trigger_fires_every_second() {
    let app = start(&state_dir("cron")).await;
    tokio::time::sleep(Duration::from_millis(2600)).await;
    let ticks: i64 = get(&app, "/probe/counter/cron-ticks")
        .await
        .body
        .parse()
        .expect("number");
    assert!((1..=4).contains(&ticks), "ticks = {ticks}");
    let last: u64 = get(&app, "/probe/kv/cron-last")
        .await
        .body
        .parse()
        .expect("timestamp");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    assert!(
        now.abs_diff(last) <= 3,
        "cron timestamp {last} vs now {now}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn selective_deployment_drops_other_components_and_their_triggers() {
    let state = state_dir("select");
    let mut opts = options(&state);
    opts.component_ids = vec!["limited".to_string()];
    let app = opsflow_host::up(opts).await.expect("starts");
    assert_eq!(get(&app, "/probe/kv/x").await.status, 404);
    assert_eq!(get(&app, "/other/probe/headers").await.status, 200);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        app.stats().kv_total("ticker"),
        0,
        "cron of an unselected component never runs"
    );
    app.stop().await;

    let mut opts = options(&state);
    opts.component_ids = vec!["nope".to_string()];
    assert!(opsflow_host::up(opts).await.is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn injected_kv_faults_fail_calls_and_a_trap_is_a_500() {
    let app = start(&state_dir("faults")).await;
    app.faults().fail_kv(0, 1);
    let r = call(&app, "PUT", "/probe/kv/k", "v").await;
    assert_eq!(r.status, 500);
    assert!(r.body.contains("injected fault"), "{}", r.body);
    assert_eq!(call(&app, "PUT", "/probe/kv/k", "v").await.status, 200);
    assert_eq!(get(&app, "/probe/crash").await.status, 500);
    assert_eq!(
        get(&app, "/probe/kv/k").await.body,
        "v",
        "the host keeps serving after a trap"
    );
    app.stop().await;
}

/// No response leaves before the writes it made, or the commits it read, are on
/// disk: with the SQLite syncer held, a write is committed (a reader sees it) but
/// neither the writer's nor the reader's response is sent until the sync.
#[tokio::test(flavor = "multi_thread")]
async fn a_response_waits_until_what_it_wrote_or_read_is_synced() {
    let app = std::sync::Arc::new(start(&state_dir("held-sync")).await);
    assert_eq!(call(&app, "PUT", "/probe/kv/warm", "x").await.status, 200);
    app.faults().hold_syncs(true);
    let writer = tokio::spawn({
        let app = app.clone();
        async move { call(&app, "PUT", "/probe/kv/held", "on disk").await }
    });
    // Committed meanwhile: the store answers a reader from the same file...
    let backend = app.kv_backend("default").expect("default store");
    let mut committed = false;
    for _ in 0..200 {
        if backend.get("default", "held").expect("get").is_some() {
            committed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(committed, "the write commits while its sync is held");
    // ...but a request that read it is held like the one that wrote it.
    let reader = tokio::spawn({
        let app = app.clone();
        async move { get(&app, "/probe/kv/held").await }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !writer.is_finished(),
        "the writer's response waits for the sync"
    );
    assert!(
        !reader.is_finished(),
        "the reader's response waits for the sync"
    );
    app.faults().hold_syncs(false);
    let within = Duration::from_secs(10);
    let wrote = tokio::time::timeout(within, writer)
        .await
        .expect("released")
        .expect("writer");
    let read = tokio::time::timeout(within, reader)
        .await
        .expect("released")
        .expect("reader");
    assert_eq!(wrote.status, 200, "{}", wrote.body);
    assert_eq!((read.status, read.body.as_str()), (200, "on disk"));
    match std::sync::Arc::try_unwrap(app) {
        Ok(app) => app.stop().await,
        Err(_) => panic!("the app is still shared"),
    }
}

#[test]
fn acknowledged_writes_survive_kill_9() {
    build_fixture();
    let state = state_dir("kill9");
    support::share_compile_cache(&state);
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_opsflow-host"))
        .args(["up", "-f"])
        .arg(manifest())
        .args(["--listen", &format!("127.0.0.1:{port}"), "--state-dir"])
        .arg(&state)
        .env("SPIN_VARIABLE_SECRET_TOKEN", "t")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn host");
    let client = reqwest::blocking::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let mut up = false;
    for _ in 0..300 {
        if client
            .get(format!("{base}/.well-known/spin/health"))
            .send()
            .is_ok()
        {
            up = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(up, "host did not come up");
    for i in 0..20 {
        let r = client
            .put(format!("{base}/probe/kv/key{i}"))
            .body(format!("value{i}"))
            .send()
            .expect("put");
        assert_eq!(r.status().as_u16(), 200);
    }
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let app = start(&state).await;
        for i in 0..20 {
            assert_eq!(
                get(&app, &format!("/probe/kv/key{i}")).await.body,
                format!("value{i}")
            );
        }
        app.stop().await;
    });
}
