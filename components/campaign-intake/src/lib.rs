//! The campaign-intake component: campaigns (stages, gates, handoffs, audit) and
//! the caller's identity. The app's OpenAPI document is a
//! static file the dashboard serves (`/api/openapi.json`).
//! Resources, allocations and rebalancing are resource-planning's
//! (`/api/resources/...`); the metrics API, the success report and the daily
//! maintenance pass are campaign-metrics' (`/api/campaigns/:id/metrics`,
//! `/api/campaigns/:id/report`, `/api/campaigns/metrics/...`).
#![forbid(unsafe_code)]

mod campaigns;
mod me;
mod routes;

use opsflow_api::{ApiRequest, ApiResponse, Operation, Problem};
use opsflow_edge::Ctx;
use opsflow_edge::handlers::idempotent;
use routes::Op;
use spin_sdk::http::{IntoResponse, Request};
use spin_sdk::http_service;

#[http_service]
async fn handle(req: Request) -> impl IntoResponse {
    opsflow_edge::serve(req, opsflow_edge::MAX_BODY, dispatch).await
}

async fn dispatch(req: ApiRequest) -> ApiResponse {
    let routed = match opsflow_edge::route_authenticated(routes::ROUTES, &req).await {
        Ok(routed) => routed,
        Err(problem) => return problem.into(),
    };
    let signed_in = || opsflow_edge::caller(routed.who.clone());
    let result: Result<ApiResponse, Problem> = match routed.op {
        Op::Me => signed_in().map(me::respond),
        op @ (Op::ListCampaigns
        | Op::CreateCampaign
        | Op::GetCampaign
        | Op::UpdateCampaign
        | Op::TransitionCampaign
        | Op::CampaignGate
        | Op::ListHandoffs) => match signed_in() {
            Ok(who) => plan(op, Ctx::new(req, routed.params, who)).await,
            Err(problem) => Err(problem),
        },
    };
    result.unwrap_or_else(ApiResponse::from)
}

/// Runs one campaign operation (its caller already authorised for it;
/// acting needs a subject that is a valid user id).
async fn plan(op: Op, ctx: Ctx) -> Result<ApiResponse, Problem> {
    opsflow_edge::handlers::actor(&ctx)?;
    let (ctx, id, req) = (&ctx, ctx.id(), &ctx.req);
    match op {
        Op::ListCampaigns => campaigns::list(ctx, req).await,
        Op::CreateCampaign => Ok(idempotent(ctx, op, "", req, campaigns::create).await),
        Op::GetCampaign => campaigns::get(ctx, id).await,
        // PATCH honours Idempotency-Key too: trigger-dispatch sends its trigger id, so
        // a dispatch retried after a lost answer does not shift a budget twice.
        Op::UpdateCampaign => Ok(idempotent(ctx, op, id, req, campaigns::update).await),
        Op::TransitionCampaign => Ok(idempotent(ctx, op, id, req, campaigns::transition).await),
        Op::CampaignGate => campaigns::gate(ctx, id).await,
        Op::ListHandoffs => campaigns::handoffs(ctx, id).await,
        Op::Me => Err(Problem::not_found(format!(
            "operation {} is served by another module",
            op.id()
        ))),
    }
}
