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
use spin_sdk::http::{IntoResponse, Request};
use spin_sdk::http_service;

#[http_service]
async fn handle(req: Request) -> impl IntoResponse {
    opsflow_edge::serve(req, opsflow_edge::MAX_BODY, dispatch).await
}

async fn dispatch(req: ApiRequest) -> ApiResponse {
    let opsflow_edge::Routed { op, params, who } =
        match opsflow_edge::route_authenticated(routes::ROUTES, &req).await {
            Ok(routed) => routed,
            Err(problem) => return problem.into(),
        };
    let id = params.first().map(String::as_str).unwrap_or_default();
    let result = match op {
        "list_rules" => rules::list(&req, &who).await,
        "create_rule" => rules::create(&req, &who).await,
        "get_rule" => rules::get(id, &who).await,
        "replace_rule" => rules::replace(&req, id, &who).await,
        "delete_rule" => rules::delete(&req, id, &who).await,
        "run_evaluation" => run::run(&req, &who).await,
        "list_runs" => run::list(&req, &who).await,
        "get_run" => run::get(id, &who).await,
        "list_alerts" => run::alerts(&req, &who).await,
        other => Err(Problem::not_found(format!(
            "operation {other} is not built"
        ))),
    };
    result.unwrap_or_else(ApiResponse::from)
}

/// Unix seconds now (wall clock; only for leases and durations).
pub(crate) fn wall_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Field errors from the domain's validation, as a 422 problem.
pub(crate) fn invalid(e: opsflow_domain::campaign::ValidationErrors) -> Problem {
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
