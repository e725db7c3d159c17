//! `GET /api/openapi.json`: the whole app's document, merged from the fragments at
//! build time (`build.rs`) and embedded gzip-compressed: sent as it is to clients
//! that accept gzip, inflated for the others, with a strong `ETag` of the document.

use opsflow_api::{ApiRequest, ApiResponse};

include!(concat!(env!("OUT_DIR"), "/openapi.rs"));

pub fn document(req: &ApiRequest) -> ApiResponse {
    let answer = opsflow_assets::serve(
        &DOCUMENT,
        &opsflow_assets::Request {
            method: &req.method,
            path: &req.path,
            accept_encoding: req.header("accept-encoding"),
            if_none_match: req.header("if-none-match"),
        },
    );
    ApiResponse {
        status: answer.status,
        headers: answer
            .headers
            .into_iter()
            .map(|(name, value)| (name.to_string(), value))
            .collect(),
        body: match answer.body {
            opsflow_assets::Body::Empty => Vec::new(),
            opsflow_assets::Body::Static(bytes) => bytes.to_vec(),
            opsflow_assets::Body::Owned(bytes) => bytes,
        },
    }
}
