//! The threshold-check component: evaluation runs (`POST /api/evaluations/run`
//! with an explicit `now`, claimed with compare-and-swap, in resumable chunks),
//! which step the alert state per (rule, scope) and emit triggers. The rules, the
//! run history and the alert reads are monitoring-api's.
#![forbid(unsafe_code)]

mod routes;
mod run;

use opsflow_api::{ApiRequest, ApiResponse};

use routes::Op;
use spin_sdk::http::{IntoResponse, Request};
use spin_sdk::http_service;

#[http_service]
async fn handle(req: Request) -> impl IntoResponse {
    opsflow_edge::serve(req, opsflow_edge::MAX_BODY, dispatch).await
}

async fn dispatch(req: ApiRequest) -> ApiResponse {
    let (op, ctx) = match opsflow_edge::route_signed_in(routes::ROUTES, req).await {
        Ok(routed) => routed,
        Err(problem) => return problem.into(),
    };
    let result = match op {
        Op::RunEvaluation => run::run(&ctx).await,
    };
    result.unwrap_or_else(ApiResponse::from)
}

/// Unix seconds now (wall clock; only for leases and durations).
pub(crate) fn wall_secs() -> i64 {
    chrono::Utc::now().timestamp()
}
