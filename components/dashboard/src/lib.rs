//! The dashboard component: serves the web UI's built files, embedded in the
//! `.wasm`, on the catch-all route. Every more specific route (`/api/...`,
//! `/webhooks/...`) keeps its own component; the page calls that JSON API from the
//! browser with the signed-in user's token. No key-value store, no outbound HTTP.
#![forbid(unsafe_code)]

use spin_sdk::http::{FullBody, IntoResponse, Request, Response};
use spin_sdk::http_service;

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

#[http_service]
async fn handle(req: Request) -> impl IntoResponse {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let answer = opsflow_assets::respond(
        ASSETS,
        &opsflow_assets::Request {
            method: req.method().as_str(),
            path: req.uri().path(),
            accept_encoding: header("accept-encoding"),
            if_none_match: header("if-none-match"),
        },
    );
    let body = match answer.body {
        opsflow_assets::Body::Empty => bytes::Bytes::new(),
        opsflow_assets::Body::Static(b) => bytes::Bytes::from_static(b),
        opsflow_assets::Body::Owned(v) => bytes::Bytes::from(v),
    };
    let mut builder = Response::builder().status(answer.status);
    for (name, value) in &answer.headers {
        builder = builder.header(*name, value.as_str());
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
