//! The threshold-check component: routes under `/api/evaluations`.
//!
//! Rules (CRUD, operations), evaluation runs (`POST /api/evaluations/run` with an
//! explicit `now`, claimed with compare-and-swap), the run history and the alert
//! state per (rule, scope).
#![forbid(unsafe_code)]

mod routes;
mod rules;
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
    let ctx = &ctx;
    let result = match op {
        Op::ListRules => rules::list(ctx).await,
        Op::CreateRule => rules::create(ctx).await,
        Op::GetRule => rules::get(ctx).await,
        Op::ReplaceRule => rules::replace(ctx).await,
        Op::DeleteRule => rules::delete(ctx).await,
        Op::RunEvaluation => run::run(ctx).await,
        Op::ListRuns => run::list(ctx).await,
        Op::GetRun => run::get(ctx).await,
        Op::ListAlerts => run::alerts(ctx).await,
    };
    result.unwrap_or_else(ApiResponse::from)
}

/// Unix seconds now (wall clock; only for leases and durations).
pub(crate) fn wall_secs() -> i64 {
    chrono::Utc::now().timestamp()
}
