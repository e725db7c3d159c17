//! The threshold-check component: routes under `/api/evaluations`.
//!
//! Rules (CRUD, operations), evaluation runs (`POST /api/evaluations/run` with an
//! explicit `now`, claimed with compare-and-swap), the run history and the alert
//! state per (rule, scope).
#![forbid(unsafe_code)]

mod routes;
mod rules;
mod run;

use opsflow_api::{ApiRequest, ApiResponse, Problem};
use routes::Op;
use spin_sdk::http::{IntoResponse, Request};
use spin_sdk::http_service;

#[http_service]
async fn handle(req: Request) -> impl IntoResponse {
    opsflow_edge::serve(req, opsflow_edge::MAX_BODY, dispatch).await
}

async fn dispatch(req: ApiRequest) -> ApiResponse {
    let (op, params, who) = match opsflow_edge::route_signed_in(routes::ROUTES, &req).await {
        Ok(routed) => routed,
        Err(problem) => return problem.into(),
    };
    let id = params.first().map(String::as_str).unwrap_or_default();
    let result = match op {
        Op::ListRules => rules::list(&req).await,
        Op::CreateRule => rules::create(&req, &who).await,
        Op::GetRule => rules::get(id).await,
        Op::ReplaceRule => rules::replace(&req, id).await,
        Op::DeleteRule => rules::delete(&req, id).await,
        Op::RunEvaluation => run::run(&req, &who).await,
        Op::ListRuns => run::list(&req).await,
        Op::GetRun => run::get(id).await,
        Op::ListAlerts => run::alerts(&req).await,
    };
    result.unwrap_or_else(ApiResponse::from)
}

/// Unix seconds now (wall clock; only for leases and durations).
pub(crate) fn wall_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Field errors from the domain's validation, as a 422 problem.
pub(crate) fn invalid(e: opsflow_domain::validation::ValidationErrors) -> Problem {
    Problem::validation(
        e.errors
            .into_iter()
            .map(|f| opsflow_api::FieldError {
                field: f.field,
                message: f.message,
            })
            .collect(),
    )
}
