//! The campaign-intake component: campaigns, resources, platform webhooks, metrics,
//! and the app's OpenAPI document.
#![forbid(unsafe_code)]

mod campaign_routes;
mod campaigns;
mod openapi;
mod webhook_routes;
mod webhooks;

use opsflow_api::{ApiRequest, ApiResponse, RouteDef, route};
use spin_sdk::http::{IntoResponse, Request};
use spin_sdk::http_service;

/// Every operation this component serves.
pub(crate) const TABLES: [&[RouteDef]; 3] = [
    campaign_routes::ROUTES,
    webhook_routes::ROUTES,
    &[opsflow_api::def("GET", "/api/openapi.json", "openapi")],
];

#[http_service]
async fn handle(req: Request) -> impl IntoResponse {
    opsflow_edge::serve(req, opsflow_edge::MAX_BODY, dispatch).await
}

async fn dispatch(req: ApiRequest) -> ApiResponse {
    let table: Vec<RouteDef> = TABLES.iter().flat_map(|t| t.iter().copied()).collect();
    let (op, params) = match route::find(&table, &req.method, &req.path) {
        Ok((r, p)) => (r.op, p),
        Err(problem) => return problem.into(),
    };
    if op == "openapi" {
        return openapi::document();
    }
    if webhook_routes::ROUTES.iter().any(|r| r.op == op) {
        return webhooks::handle(op, &params, req).await;
    }
    campaigns::handle(op, &params, req).await
}
