//! The campaign-intake component: campaigns, resources, webhooks and metrics.
#![forbid(unsafe_code)]

use opsflow_api::{ApiRequest, ApiResponse, Problem};
use spin_sdk::http::{IntoResponse, Request};
use spin_sdk::http_service;

#[http_service]
async fn handle(req: Request) -> impl IntoResponse {
    opsflow_edge::serve(req, opsflow_edge::MAX_BODY, route).await
}

async fn route(req: ApiRequest) -> ApiResponse {
    Problem::not_found(format!("no resource at {} {}", req.method, req.path)).into()
}
