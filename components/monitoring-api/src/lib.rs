//! The monitoring-api component: the monitoring rules (CRUD: everyone reads,
//! operations writes; the shipped defaults are installed on first use), the run
//! history and the alert state per (rule, scope), under `/api/evaluations`.
//!
//! Its own job beside threshold-check, which keeps only the evaluation run
//! (`POST /api/evaluations/run`, the scheduler's hot path): they share the store
//! and its stored forms (`opsflow_store::monitoring`), and each `.wasm` stays under
//! 1 MiB (BENCHMARKS.md, "Component sizes").
#![forbid(unsafe_code)]

mod effects;
mod reads;
mod routes;
mod rules;

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
        Op::ListRuns => reads::list_runs(ctx).await,
        Op::GetRun => reads::get_run(ctx).await,
        Op::ListAlerts => reads::list_alerts(ctx).await,
        Op::ActionEffects => effects::list(ctx).await,
    };
    result.unwrap_or_else(ApiResponse::from)
}

/// Unix seconds now (wall clock: rules' created/updated times).
pub(crate) fn now() -> i64 {
    chrono::Utc::now().timestamp()
}
