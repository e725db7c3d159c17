//! Black-box tests of the dashboard component: the web UI's files on the catch-all
//! route, with the API untouched on its own routes.

mod support;

use support::App;

async fn start(name: &str) -> App {
    support::start(name).await
}

/// The page's script, as the built index.html references it.
fn script_path(index: &str) -> String {
    let start = index
        .find("src=\"/assets/")
        .expect("index.html loads a script from /assets/")
        + 5;
    let end = index[start..].find('"').expect("closing quote") + start;
    index[start..end].to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_page_and_deep_links_are_served_with_strict_security_headers() {
    let app = start("dash-page").await;
    for path in [
        "/",
        "/campaigns/01JABCDEFGHJKMNPQRSTVWXYZ0",
        "/inbox",
        "/monitoring",
    ] {
        let r = app.send("GET", path, None, None, &[]).await;
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
        assert_eq!(r.header("cache-control"), Some("no-cache"));
        let csp = r.header("content-security-policy").expect("CSP");
        for directive in [
            "script-src 'self'",
            "connect-src 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(directive), "{csp}");
        }
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
        assert!(r.body.contains("<div id=\"app\""), "{path}: {}", r.body);
        assert!(!r.body.contains("<script>"), "no inline script: {}", r.body);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn hashed_assets_are_immutable_revalidate_with_etags_and_compress() {
    let app = start("dash-assets").await;
    let index = app.send("GET", "/", None, None, &[]).await;
    let js = script_path(&index.body);
    let plain = app.send("GET", &js, None, None, &[]).await;
    assert_eq!(plain.status, 200);
    assert_eq!(
        plain.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(
        plain.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(plain.header("content-encoding"), None);
    let etag = plain.header("etag").expect("etag").to_string();
    let again = app
        .send("GET", &js, None, None, &[("if-none-match", etag.as_str())])
        .await;
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    let zipped = app
        .send("GET", &js, None, None, &[("accept-encoding", "gzip")])
        .await;
    assert_eq!(zipped.header("content-encoding"), Some("gzip"));
    assert_eq!(zipped.header("vary"), Some("accept-encoding"));
    let page_tag = index.header("etag").expect("etag").to_string();
    let page = app
        .send(
            "GET",
            "/",
            None,
            None,
            &[("if-none-match", page_tag.as_str())],
        )
        .await;
    assert_eq!(page.status, 304);
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_files_are_404_and_only_get_and_head_are_allowed() {
    let app = start("dash-404").await;
    for path in ["/assets/missing-0000.js", "/favicon-nope.ico"] {
        let r = app.send("GET", path, None, None, &[]).await;
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.header("content-type"), Some("application/problem+json"));
    }
    let r = app
        .send("POST", "/", None, Some(serde_json::json!({})), &[])
        .await;
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, HEAD"));
    let head = app.send("HEAD", "/inbox", None, None, &[]).await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_api_keeps_its_routes_under_the_catch_all() {
    let app = start("dash-api").await;
    let doc = app.send("GET", "/api/openapi.json", None, None, &[]).await;
    assert_eq!(doc.status, 200);
    assert_eq!(doc.json()["openapi"], "3.1.0");
    let campaigns = app.get("/api/campaigns", "viewer-token").await;
    assert_eq!(campaigns.status, 200, "{}", campaigns.body);
    assert!(campaigns.json()["items"].is_array());
    let anon = app.send("GET", "/api/campaigns", None, None, &[]).await;
    assert_eq!(anon.status, 401);
    // A path under /api that no API route matches reaches the dashboard, which
    // answers as the API does, not with the page.
    let stray = app.send("GET", "/api/nothing-here", None, None, &[]).await;
    assert_eq!(stray.status, 404);
    assert_eq!(
        stray.header("content-type"),
        Some("application/problem+json")
    );
    assert!(
        stray.json()["type"]
            .as_str()
            .is_some_and(|t| t.ends_with("/no-route"))
    );
    let health = app
        .send("GET", "/.well-known/spin/health", None, None, &[])
        .await;
    assert_eq!(health.status, 200);
}

#[test]
fn the_dashboard_wasm_stays_under_one_mebibyte() {
    support::build_components();
    let wasm = support::workspace().join("target/wasm32-wasip2/release/dashboard.wasm");
    let size = std::fs::metadata(&wasm)
        .expect("dashboard.wasm built")
        .len();
    eprintln!("dashboard.wasm: {size} bytes");
    assert!(size <= 1024 * 1024, "dashboard.wasm is {size} bytes");
}
