//! The content-approval component: routes under `/api/content` — content items,
//! automated checks, multi-stage approval, distribution timing and the calendar,
//! and the optimization loop's refreshes and timing changes (called by
//! trigger-dispatch through service chaining). The configuration items are judged
//! by (brand standard, channel policies, campaign workflows) is edited by the
//! content-config component, whose routes spin.toml sends there.
//!
//! Every handler is parse → load → decide (opsflow_domain::content) → store → respond.
#![forbid(unsafe_code)]

mod items;
mod refresh;
mod retime;
mod routes;
mod schedule;
mod support;

use opsflow_api::{ApiRequest, ApiResponse, Operation};
use routes::Op;
use spin_sdk::http::{IntoResponse, Request};
use spin_sdk::http_service;
use support::Ctx;

#[http_service]
async fn handle(req: Request) -> impl IntoResponse {
    opsflow_edge::serve(req, opsflow_edge::MAX_BODY, dispatch).await
}

async fn dispatch(req: ApiRequest) -> ApiResponse {
    let (op, ctx) = match opsflow_edge::route_signed_in(routes::ROUTES, req).await {
        Ok(routed) => routed,
        Err(problem) => return problem.into(),
    };
    if ctx.req.method == "POST" {
        opsflow_api::idempotency::run(&ctx.kv, op.id(), &ctx.who.sub, &ctx.req, || run(op, &ctx))
            .await
    } else {
        run(op, &ctx).await
    }
}

async fn run(op: Op, ctx: &Ctx) -> ApiResponse {
    let result = match op {
        Op::ListContent => items::list(ctx).await,
        Op::CreateContent => items::create(ctx).await,
        Op::GetContent => items::get(ctx).await,
        Op::UpdateContent => items::update(ctx).await,
        Op::SubmitContent => items::submit(ctx).await,
        Op::DecideContent => items::decide(ctx).await,
        Op::WithdrawContent => items::withdraw(ctx).await,
        Op::PublishContent => items::publish(ctx).await,
        Op::ContentChecks => items::checks(ctx).await,
        Op::ScheduleContent => schedule::schedule(ctx).await,
        Op::RefreshContent => refresh::refresh(ctx).await,
        Op::ChangeSendTiming => retime::timing_change(ctx).await,
    };
    result.unwrap_or_else(ApiResponse::from)
}
