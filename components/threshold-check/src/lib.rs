//! The threshold-check component: routes under `/api/evaluations`.
#![forbid(unsafe_code)]

mod routes;

use opsflow_api::{ApiRequest, ApiResponse, route};
use spin_sdk::http::{IntoResponse, Request};
use spin_sdk::http_service;

#[http_service]
async fn handle(req: Request) -> impl IntoResponse {
    opsflow_edge::serve(req, opsflow_edge::MAX_BODY, dispatch).await
}

async fn dispatch(req: ApiRequest) -> ApiResponse {
    match route::find(routes::ROUTES, &req.method, &req.path) {
        Ok((r, _params)) => {
            opsflow_api::Problem::not_found(format!("operation {} is not built yet", r.op)).into()
        }
        Err(problem) => problem.into(),
    }
}
