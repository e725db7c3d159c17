//! The dashboard component: serves the web UI's built files, embedded in the
//! `.wasm`, on the catch-all route, and the app's OpenAPI document on
//! `/api/openapi.json` (merged from the fragments at build time, `build.rs`;
//! gzip-compressed, sent as it is to clients that accept gzip, inflated for the
//! others, with a strong `ETag`). Every more specific route (`/api/...`,
//! `/webhooks/...`) keeps its own component; the page calls that JSON API from the
//! browser with the signed-in user's token. No key-value store, no outbound HTTP.
#![forbid(unsafe_code)]

mod routes;

use spin_sdk::http::{FullBody, IntoResponse, Request, Response};
use spin_sdk::http_service;

include!(concat!(env!("OUT_DIR"), "/assets.rs"));
include!(concat!(env!("OUT_DIR"), "/openapi.rs"));

#[http_service]
async fn handle(req: Request) -> impl IntoResponse {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let asset_req = opsflow_assets::Request {
        method: req.method().as_str(),
        path: req.uri().path(),
        accept_encoding: header("accept-encoding"),
        if_none_match: header("if-none-match"),
    };
    if asset_req.path == routes::OPENAPI_PATH {
        return openapi(&asset_req);
    }
    asset_response(opsflow_assets::respond(ASSETS, &asset_req))
}

/// `GET /api/openapi.json`: the document as an API route answers it (no page
/// headers; another method is the API's 405 problem).
fn openapi(req: &opsflow_assets::Request<'_>) -> Response<FullBody<bytes::Bytes>> {
    if let Err(problem) = opsflow_api::route::find(routes::ROUTES, req.method, req.path) {
        let answer = opsflow_api::ApiResponse::from(problem);
        let headers = answer
            .headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()));
        return response(answer.status, headers, bytes::Bytes::from(answer.body));
    }
    asset_response(opsflow_assets::serve(&DOCUMENT, req))
}

fn asset_response(answer: opsflow_assets::Response) -> Response<FullBody<bytes::Bytes>> {
    let body = match answer.body {
        opsflow_assets::Body::Empty => bytes::Bytes::new(),
        opsflow_assets::Body::Static(b) => bytes::Bytes::from_static(b),
        opsflow_assets::Body::Owned(v) => bytes::Bytes::from(v),
    };
    let headers = answer
        .headers
        .iter()
        .map(|(name, value)| (*name, value.as_str()));
    response(answer.status, headers, body)
}

fn response<'a>(
    status: u16,
    headers: impl Iterator<Item = (&'a str, &'a str)>,
    body: bytes::Bytes,
) -> Response<FullBody<bytes::Bytes>> {
    let mut builder = Response::builder().status(status);
    for (name, value) in headers {
        builder = builder.header(name, value);
    }
    match builder.body(FullBody::new(body)) {
        Ok(r) => r,
        Err(_) => {
            let mut r = Response::new(FullBody::new(bytes::Bytes::new()));
            *r.status_mut() = spin_sdk::http::StatusCode::INTERNAL_SERVER_ERROR;
            r
        }
    }
}
