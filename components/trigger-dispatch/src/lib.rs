//! The trigger-dispatch component: routes under `/api/triggers`.
//!
//! Executes due triggers from the outbox (`POST /api/triggers/dispatch` with an
//! explicit `now`), each attempt claimed with compare-and-swap and carrying the
//! trigger id as its operation id; lists, approves, rejects and replays triggers.
#![forbid(unsafe_code)]

mod actions;
mod outbox;
mod routes;

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
        "list_triggers" => outbox::list(&req, &who).await,
        "get_trigger" => outbox::get(id, &who).await,
        "dispatch_triggers" => outbox::dispatch(&req, &who).await,
        "approve_trigger" => outbox::decide(&req, id, &who, outbox::Decision::Approve).await,
        "reject_trigger" => outbox::decide(&req, id, &who, outbox::Decision::Reject).await,
        "replay_trigger" => outbox::decide(&req, id, &who, outbox::Decision::Replay).await,
        other => Err(Problem::not_found(format!(
            "operation {other} is not built"
        ))),
    };
    result.unwrap_or_else(ApiResponse::from)
}
