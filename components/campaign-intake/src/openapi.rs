//! `GET /api/openapi.json`: the whole app's document, merged from the fragments.

use opsflow_api::{ApiResponse, Problem};

const BASE: &str = include_str!("../../../docs/openapi/base.json");
const FRAGMENTS: [&str; 5] = [
    include_str!("../../../docs/openapi/campaigns.json"),
    include_str!("../../../docs/openapi/webhooks.json"),
    include_str!("../../../docs/openapi/content.json"),
    include_str!("../../../docs/openapi/evaluations.json"),
    include_str!("../../../docs/openapi/triggers.json"),
];

pub fn document() -> ApiResponse {
    match opsflow_api::openapi::merge(BASE, &FRAGMENTS) {
        Ok(doc) => ApiResponse::json(200, &doc),
        Err(e) => Problem::new(500, "openapi", "OpenAPI document invalid", e).into(),
    }
}
