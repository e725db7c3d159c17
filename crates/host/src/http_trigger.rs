//! The HTTP trigger: a hyper server that routes requests to components the way
//! Spin's `trigger-http` does, with Spin's request headers and well-known routes.

use crate::routes::{RouteMatch, Router, WELL_KNOWN_PREFIX};
use crate::runtime::{HostBody, Runtime, full, plain};
use anyhow::Result;
use bytes::Bytes;
use http::{HeaderName, HeaderValue, Request, Response, Uri};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;
use wasmtime_wasi_http::p3::bindings::http::types::ErrorCode;

/// What `/.well-known/spin/info` reports.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AppInfo {
    /// `application.name` from the manifest.
    pub name: String,
    /// `application.version` from the manifest (empty when absent).
    pub version: String,
}

/// Serves until `shutdown` changes.
pub async fn serve(
    listener: TcpListener,
    runtime: Arc<Runtime>,
    info: Arc<AppInfo>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<()> {
    loop {
        let (stream, client) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    eprintln!("accept failed: {e}");
                    continue;
                }
            },
            _ = shutdown.changed() => return Ok(()),
        };
        let _ = stream.set_nodelay(true);
        let runtime = runtime.clone();
        let info = info.clone();
        let mut conn_shutdown = shutdown.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let runtime = runtime.clone();
                let info = info.clone();
                async move {
                    let resp = dispatch(&runtime, &info, req, client).await;
                    Ok::<_, std::convert::Infallible>(
                        resp.map(|b| b.map_err(|e| std::io::Error::other(format!("{e:?}")))),
                    )
                }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = conn_shutdown.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        });
    }
}

async fn dispatch(
    runtime: &Arc<Runtime>,
    info: &AppInfo,
    req: Request<Incoming>,
    client: SocketAddr,
) -> Response<HostBody> {
    let path = req.uri().path().to_string();
    if let Some(rest) = path.strip_prefix(WELL_KNOWN_PREFIX) {
        return match rest {
            "health" => plain(200, "OK"),
            "info" => {
                let body = serde_json::to_vec(info).unwrap_or_default();
                let mut resp = Response::new(full(Bytes::from(body)));
                resp.headers_mut().insert(
                    http::header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                resp
            }
            _ => plain(404, "Not Found"),
        };
    }
    let router: &Router = &runtime.router;
    let Some(m) = router.route(&path) else {
        return plain(404, "Not Found");
    };
    let component = m.route.component.clone();
    let req = req.map(|b| b.map_err(|_| ErrorCode::HttpProtocolError).boxed_unsync());
    let host = req
        .headers()
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost")
        .to_string();
    let req = routed_request(req, &m, Some(client), &host);
    runtime.handle_http(&component, req).await
}

/// Prepares a request for the component a route matched: an absolute URI and
/// Spin's `spin-*` headers.
pub(crate) fn routed_request(
    req: Request<HostBody>,
    m: &RouteMatch<'_>,
    client: Option<SocketAddr>,
    host: &str,
) -> Request<HostBody> {
    let route = m.route;
    let mut headers: Vec<(String, String)> = vec![
        ("spin-path-info".into(), m.path_info.clone()),
        ("spin-matched-route".into(), route.based.clone()),
        ("spin-base-path".into(), "/".into()),
        ("spin-raw-component-route".into(), route.raw.clone()),
        (
            "spin-component-route".into(),
            route.raw_prefix().to_string(),
        ),
    ];
    if let Some(client) = client {
        headers.push(("spin-client-addr".into(), client.to_string()));
    }
    for (name, value) in &m.params {
        headers.push((
            format!("spin-path-match-{}", name.to_ascii_lowercase()),
            value.clone(),
        ));
    }
    with_spin_headers(req, host, headers)
}

/// Prepares a request chained to `component` through `http://<component>.spin.internal`:
/// Spin treats it as matching the component's catch-all route.
pub(crate) fn chained_request(req: Request<HostBody>, component: &str) -> Request<HostBody> {
    let path = req.uri().path().to_string();
    let host = format!("{component}.spin.internal");
    let headers = vec![
        ("spin-path-info".into(), path),
        ("spin-matched-route".into(), "/...".into()),
        ("spin-base-path".into(), "/".into()),
        ("spin-raw-component-route".into(), "/...".into()),
        ("spin-component-route".into(), String::new()),
    ];
    with_spin_headers(req, &host, headers)
}

fn with_spin_headers(
    req: Request<HostBody>,
    host: &str,
    spin_headers: Vec<(String, String)>,
) -> Request<HostBody> {
    let (mut parts, body) = req.into_parts();
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".to_string());
    let full_url = format!("http://{host}{path_and_query}");
    if let Ok(uri) = full_url.parse::<Uri>() {
        parts.uri = uri;
    }
    let mut all = spin_headers;
    all.push(("spin-full-url".into(), full_url));
    for (name, value) in all {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            parts.headers.insert(n, v);
        }
    }
    Request::from_parts(parts, body)
}
