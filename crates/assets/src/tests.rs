use super::*;

fn gz(bytes: &[u8]) -> &'static [u8] {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).expect("compress");
    Box::leak(enc.finish().expect("finish").into_boxed_slice())
}

fn table() -> Vec<Asset> {
    vec![
        Asset {
            path: "/index.html",
            content_type: "text/html; charset=utf-8",
            etag: "\"idx\"",
            body: gz(b"<!doctype html><title>opsflow</title>"),
            gzipped: true,
        },
        Asset {
            path: "/assets/app-3f2a.js",
            content_type: "text/javascript; charset=utf-8",
            etag: "\"js1\"",
            body: gz(b"console.log(1)"),
            gzipped: true,
        },
        Asset {
            path: "/favicon.png",
            content_type: "image/png",
            etag: "\"png\"",
            body: b"\x89PNG",
            gzipped: false,
        },
    ]
}

fn get<'a>(path: &'a str) -> Request<'a> {
    Request {
        method: "GET",
        path,
        accept_encoding: Some("gzip, deflate, br"),
        if_none_match: None,
    }
}

#[test]
fn hashed_assets_are_immutable_and_the_page_is_revalidated() {
    let assets = table();
    let js = respond(&assets, &get("/assets/app-3f2a.js"));
    assert_eq!(js.status, 200);
    assert_eq!(
        js.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(
        js.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    let page = respond(&assets, &get("/"));
    assert_eq!(page.header("cache-control"), Some("no-cache"));
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
}

#[test]
fn deep_links_get_the_page_and_unknown_files_are_404() {
    let assets = table();
    for path in ["/campaigns/01J9", "/inbox", "/monitoring/"] {
        let r = respond(&assets, &get(path));
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("etag"), Some("\"idx-gzip\""), "{path}");
    }
    for path in ["/assets/gone-1234.js", "/robots.txt", "/assets/"] {
        let r = respond(&assets, &get(path));
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.header("content-type"), Some("application/problem+json"));
    }
}

#[test]
fn unrouted_api_paths_are_problem_documents_not_the_page() {
    let assets = table();
    for path in ["/api", "/api/nothing", "/webhooks", "/webhooks/x/y"] {
        let r = respond(&assets, &get(path));
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.header("content-type"), Some("application/problem+json"));
        let Body::Owned(body) = &r.body else {
            panic!("problem body")
        };
        let v: serde_json::Value = serde_json::from_slice(body).expect("json");
        assert_eq!(v["type"], "https://opsflow.dev/problems/no-route");
    }
    assert_eq!(respond(&assets, &get("/apidocs")).status, 200);
}

#[test]
fn if_none_match_gives_304_with_validators_and_no_body() {
    let assets = table();
    let first = respond(&assets, &get("/assets/app-3f2a.js"));
    let tag = first.header("etag").expect("etag").to_string();
    let mut req = get("/assets/app-3f2a.js");
    let conditional = format!("\"other\", W/{tag}");
    req.if_none_match = Some(&conditional);
    let r = respond(&assets, &req);
    assert_eq!(r.status, 304);
    assert_eq!(r.body, Body::Empty);
    assert_eq!(r.header("etag"), Some(tag.as_str()));
    req.if_none_match = Some("\"stale\"");
    assert_eq!(respond(&assets, &req).status, 200);
}

#[test]
fn gzip_is_sent_to_clients_that_take_it_and_inflated_for_others() {
    let assets = table();
    let zipped = respond(&assets, &get("/assets/app-3f2a.js"));
    assert_eq!(zipped.header("content-encoding"), Some("gzip"));
    assert_eq!(zipped.header("vary"), Some("accept-encoding"));
    let mut plain_req = get("/assets/app-3f2a.js");
    plain_req.accept_encoding = Some("identity, gzip;q=0");
    let plain = respond(&assets, &plain_req);
    assert_eq!(plain.header("content-encoding"), None);
    assert_eq!(plain.body, Body::Owned(b"console.log(1)".to_vec()));
    assert_ne!(plain.header("etag"), zipped.header("etag"));
    plain_req.accept_encoding = None;
    assert_eq!(
        respond(&assets, &plain_req).body,
        Body::Owned(b"console.log(1)".to_vec())
    );
}

#[test]
fn every_answer_carries_the_security_headers() {
    let assets = table();
    let mut post = get("/");
    post.method = "POST";
    for r in [
        respond(&assets, &get("/")),
        respond(&assets, &get("/assets/missing.js")),
        respond(&assets, &get("/api/x")),
        respond(&assets, &post),
    ] {
        for (k, v) in SECURITY_HEADERS {
            assert_eq!(r.header(k), Some(v), "{} {k}", r.status);
        }
    }
    let refused = respond(&assets, &post);
    assert_eq!(refused.status, 405);
    assert_eq!(refused.header("allow"), Some("GET, HEAD"));
    assert!(CONTENT_SECURITY_POLICY.contains("frame-ancestors 'none'"));
    assert!(!CONTENT_SECURITY_POLICY.contains("unsafe-inline"));
}

#[test]
fn head_has_the_headers_of_get_and_no_body() {
    let assets = table();
    let mut head = get("/favicon.png");
    head.method = "HEAD";
    let r = respond(&assets, &head);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, Body::Empty);
    assert_eq!(r.header("content-type"), Some("image/png"));
}

#[test]
fn accept_encoding_parsing() {
    assert!(accepts_gzip("gzip"));
    assert!(accepts_gzip("br;q=1.0, gzip;q=0.8"));
    assert!(accepts_gzip("*"));
    assert!(!accepts_gzip("gzip;q=0"));
    assert!(!accepts_gzip("identity"));
    assert!(!accepts_gzip("*;q=0"));
    assert!(!accepts_gzip(""));
}

#[test]
fn the_build_step_embeds_every_file_but_source_maps() {
    let root = std::env::temp_dir().join(format!("opsflow-assets-{}", std::process::id()));
    let dist = root.join("dist");
    let out = root.join("out");
    std::fs::create_dir_all(dist.join("assets")).expect("dirs");
    std::fs::create_dir_all(&out).expect("out");
    std::fs::write(dist.join("index.html"), "<!doctype html>").expect("write");
    std::fs::write(dist.join("assets/app-1.js"), "x()").expect("write");
    std::fs::write(dist.join("assets/app-1.js.map"), "{}").expect("write");
    std::fs::write(dist.join("logo.png"), [0x89, b'P']).expect("write");
    let served = build::generate(&dist, &out).expect("generates");
    assert_eq!(served, ["/assets/app-1.js", "/index.html", "/logo.png"]);
    let code = std::fs::read_to_string(out.join("assets.rs")).expect("table");
    assert!(code.contains("gzipped: true") && code.contains("gzipped: false"));
    assert_eq!(build::etag(b"x()"), build::etag(b"x()"));
    assert_ne!(build::etag(b"x()"), build::etag(b"y()"));
    let _ = std::fs::remove_dir_all(root);
}
