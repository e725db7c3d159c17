//! What every component does with a request before its handler runs, on the
//! request line, query, headers and body as a client sends them:
//! `ApiRequest::new` (query split and percent-decoded, header names folded),
//! routing against each component's real route table (`route::find`), bearer
//! authentication and the operation's roles, `If-Match`, `Idempotency-Key`,
//! `limit`, `If-None-Match` on the answer, `ApiRequest::json` on the body and
//! the `now` of the scheduler's calls (`time::unix_seconds`).
//!
//! Input: `METHOD /path?query` on the first line, `name: value` header lines,
//! an empty line, the body.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use opsflow_api::auth::token_hash;
use opsflow_api::request::percent_decode;
use opsflow_api::{Access, ApiRequest, ApiResponse, Operation, RouteDef, Tokens, conditional};

#[allow(dead_code)]
#[path = "../../components/campaign-intake/src/routes.rs"]
mod campaign_intake;
#[allow(dead_code)]
#[path = "../../components/content-approval/src/routes.rs"]
mod content_approval;
#[allow(dead_code)]
#[path = "../../components/platform-webhooks/src/routes.rs"]
mod platform_webhooks;
#[allow(dead_code)]
#[path = "../../components/resource-planning/src/routes.rs"]
mod resource_planning;
#[allow(dead_code)]
#[path = "../../components/campaign-metrics/src/routes.rs"]
mod campaign_metrics;
#[allow(dead_code)]
#[path = "../../components/dashboard/src/routes.rs"]
mod dashboard;
#[allow(dead_code)]
#[path = "../../components/content-config/src/routes.rs"]
mod content_config;
#[allow(dead_code)]
#[path = "../../components/threshold-check/src/routes.rs"]
mod threshold_check;
#[allow(dead_code)]
#[path = "../../components/monitoring-api/src/routes.rs"]
mod monitoring_api;
#[path = "../../components/process-analytics/src/routes.rs"]
mod process_analytics;
#[allow(dead_code)]
#[path = "../../components/trigger-dispatch/src/routes.rs"]
mod trigger_dispatch;

static TOKENS: LazyLock<Tokens> = LazyLock::new(|| {
    let table = serde_json::json!({
        token_hash("operations-token"): {"sub": "olga", "roles": ["operations"]},
        token_hash("marketing-token"): {"sub": "mia", "roles": ["marketing"]},
        token_hash("admin-token"): {"sub": "vic", "roles": ["admin"]},
    });
    Tokens::parse(&table.to_string()).expect("token table")
});

/// `%XX` (two hex digits) and `+` decoded, anything else kept as written.
fn reference_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'+' {
            out.push(b' ');
            i += 1;
        } else if b[i] == b'%'
            && i + 2 < b.len()
            && b[i + 1].is_ascii_hexdigit()
            && b[i + 2].is_ascii_hexdigit()
        {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).expect("ascii");
            out.push(u8::from_str_radix(hex, 16).expect("hex"));
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Routing and authentication as `opsflow_edge::route_authenticated` does them.
fn route<Op: Operation>(table: &[RouteDef<Op>], req: &ApiRequest) {
    let Ok((op, params)) = opsflow_api::route::find(table, &req.method, &req.path) else {
        return;
    };
    assert!(params.iter().all(|p| !p.is_empty() && !p.contains('/')));
    if let Access::Roles(roles) = op.access()
        && let Ok(who) = TOKENS.authenticate(req.header("authorization"))
    {
        let _ = who.require(roles);
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
    let mut lines = head.lines();
    let request_line = lines.next().unwrap_or_default();
    let (method, target) = request_line.split_once(' ').unwrap_or((request_line, "/"));
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let req = ApiRequest::new(method, path, query, headers, body.as_bytes().to_vec());

    for (raw, (k, v)) in query.split('&').filter(|p| !p.is_empty()).zip(&req.query) {
        let (rk, rv) = raw.split_once('=').unwrap_or((raw, ""));
        assert_eq!(k, &reference_decode(rk), "query name {rk:?}");
        assert_eq!(v, &reference_decode(rv), "query value {rv:?}");
        assert_eq!(percent_decode(rv), reference_decode(rv));
    }

    route(campaign_intake::ROUTES, &req);
    route(platform_webhooks::ROUTES, &req);
    route(resource_planning::ROUTES, &req);
    route(campaign_metrics::ROUTES, &req);
    route(dashboard::ROUTES, &req);
    route(content_config::ROUTES, &req);
    route(content_approval::ROUTES, &req);
    route(threshold_check::ROUTES, &req);
    route(monitoring_api::ROUTES, &req);
    route(process_analytics::ROUTES, &req);
    route(trigger_dispatch::ROUTES, &req);

    let _ = req.if_match();
    let _ = req.idempotency_key();
    let _ = opsflow_api::paging::limit(req.query("limit"));
    let answer = ApiResponse::json(200, &serde_json::json!({"ok": true}));
    let _ = conditional::conditional(&req.method, req.header("if-none-match"), answer);
    if let Ok(value) = req.json::<serde_json::Value>()
        && let Some(now) = value.get("now")
    {
        let _ = opsflow_api::time::unix_seconds(now, "now");
    }
});
