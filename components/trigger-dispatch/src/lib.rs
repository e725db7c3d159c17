//! The trigger-dispatch component: routes under `/api/triggers`.
//!
//! Executes due triggers from the outbox (`POST /api/triggers/dispatch` with an
//! explicit `now`), each attempt claimed with compare-and-swap and carrying the
//! trigger id as its operation id; lists, approves, rejects and replays triggers.
#![forbid(unsafe_code)]

mod actions;
mod content;
mod export;
mod outbox;
mod routes;

use opsflow_api::{ApiRequest, ApiResponse};
use outbox::TriggerDecision;
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
        Op::ListTriggers => outbox::list(ctx).await,
        Op::GetTrigger => outbox::get(ctx).await,
        Op::DispatchTriggers => outbox::dispatch(ctx).await,
        Op::ApproveTrigger => outbox::decide(ctx, TriggerDecision::Approve).await,
        Op::RejectTrigger => outbox::decide(ctx, TriggerDecision::Reject).await,
        Op::ReplayTrigger => outbox::decide(ctx, TriggerDecision::Replay).await,
    };
    result.unwrap_or_else(ApiResponse::from)
}
