//! The HTTP trigger: a hyper server that routes requests to components the way
//! Spin's `trigger-http` does, with Spin's request headers and well-known routes.

use crate::routes::{RouteMatch, Router, WELL_KNOWN_PREFIX};
use crate::runtime::{HostBody, Runtime, full, plain};
use anyhow::Result;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, Uri};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
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
        // `spin-client-addr`, formatted once per connection rather than per request.
        let client = HeaderValue::try_from(client.to_string()).ok();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let runtime = runtime.clone();
                let info = info.clone();
                let client = client.clone();
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
    client: Option<HeaderValue>,
) -> Response<HostBody> {
    if let Some(rest) = req.uri().path().strip_prefix(WELL_KNOWN_PREFIX) {
        return well_known(rest, info);
    }
    let router: &Router = &runtime.router;
    let Some(m) = router.route(req.uri().path()) else {
        return plain(404, "Not Found");
    };
    let component = m.route.component.as_str();
    let req = req.map(|b| b.map_err(|_| ErrorCode::HttpProtocolError).boxed_unsync());
    let req = routed_request(req, m, client, None);
    runtime.handle_http(component, req).await
}

/// `/.well-known/spin/<rest>`, answered by the host itself.
fn well_known(rest: &str, info: &AppInfo) -> Response<HostBody> {
    match rest {
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
    }
}

const PATH_INFO: HeaderName = HeaderName::from_static("spin-path-info");
const MATCHED_ROUTE: HeaderName = HeaderName::from_static("spin-matched-route");
const BASE_PATH: HeaderName = HeaderName::from_static("spin-base-path");
const RAW_COMPONENT_ROUTE: HeaderName = HeaderName::from_static("spin-raw-component-route");
const COMPONENT_ROUTE: HeaderName = HeaderName::from_static("spin-component-route");
const CLIENT_ADDR: HeaderName = HeaderName::from_static("spin-client-addr");
const FULL_URL: HeaderName = HeaderName::from_static("spin-full-url");
/// How many of the above a routed request gets (besides `spin-path-match-*`).
const SPIN_HEADERS: usize = 7;

/// Prepares a request for the component a route matched: an absolute URI and
/// Spin's `spin-*` headers. `client` is the `spin-client-addr` value (none for
/// `http://self`); `host` overrides the request's `Host` header in the URL (`self`
/// for `http://self`); without either the URL's host is `localhost`.
pub(crate) fn routed_request(
    req: Request<HostBody>,
    m: RouteMatch<'_>,
    client: Option<HeaderValue>,
    host: Option<&str>,
) -> Request<HostBody> {
    let (mut parts, body) = req.into_parts();
    // The spin-* headers at once: growing the map one insert at a time re-hashes it.
    parts.headers.reserve(SPIN_HEADERS + m.params.len());
    set_full_url(&mut parts, host);
    let route = m.route;
    let headers = &mut parts.headers;
    insert(headers, PATH_INFO, HeaderValue::try_from(m.path_info));
    insert(headers, MATCHED_ROUTE, HeaderValue::from_str(&route.based));
    headers.insert(BASE_PATH, HeaderValue::from_static("/"));
    insert(
        headers,
        RAW_COMPONENT_ROUTE,
        HeaderValue::from_str(&route.raw),
    );
    insert(
        headers,
        COMPONENT_ROUTE,
        HeaderValue::from_str(route.raw_prefix()),
    );
    if let Some(client) = client {
        headers.insert(CLIENT_ADDR, client);
    }
    for (name, value) in m.params {
        let name = format!("spin-path-match-{}", name.to_ascii_lowercase());
        if let Ok(name) = HeaderName::try_from(name) {
            insert(headers, name, HeaderValue::try_from(value));
        }
    }
    Request::from_parts(parts, body)
}

/// Prepares a request chained to `component` through `http://<component>.spin.internal`:
/// Spin treats it as matching the component's catch-all route.
pub(crate) fn chained_request(req: Request<HostBody>, component: &str) -> Request<HostBody> {
    let (mut parts, body) = req.into_parts();
    parts.headers.reserve(SPIN_HEADERS);
    let path_info = HeaderValue::from_str(parts.uri.path());
    set_full_url(&mut parts, Some(&format!("{component}.spin.internal")));
    let headers = &mut parts.headers;
    insert(headers, PATH_INFO, path_info);
    headers.insert(MATCHED_ROUTE, HeaderValue::from_static("/..."));
    headers.insert(BASE_PATH, HeaderValue::from_static("/"));
    headers.insert(RAW_COMPONENT_ROUTE, HeaderValue::from_static("/..."));
    headers.insert(COMPONENT_ROUTE, HeaderValue::from_static(""));
    Request::from_parts(parts, body)
}

/// Inserts a header whose value was valid; an invalid one is left out, as before.
fn insert<E>(headers: &mut HeaderMap, name: HeaderName, value: Result<HeaderValue, E>) {
    if let Ok(value) = value {
        headers.insert(name, value);
    }
}

/// Makes the request URI absolute (`http://<host><path and query>`) and sets
/// `spin-full-url` to it, both over the same bytes (the URL is not copied).
fn set_full_url(parts: &mut http::request::Parts, host: Option<&str>) {
    let host = host
        .or_else(|| {
            parts
                .headers
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok())
        })
        .unwrap_or("localhost");
    let path_and_query = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut url = String::with_capacity("http://".len() + host.len() + path_and_query.len());
    url.push_str("http://");
    url.push_str(host);
    url.push_str(path_and_query);
    let url = Bytes::from(url);
    if let Ok(uri) = Uri::from_maybe_shared(url.clone()) {
        parts.uri = uri;
    }
    insert(
        &mut parts.headers,
        FULL_URL,
        HeaderValue::from_maybe_shared(url),
    );
}
