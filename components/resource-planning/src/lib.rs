//! The resource-planning component: routes under `/api/resources` — resources
//! (people, teams, budgets), their allocations to campaigns, utilization and
//! rebalance proposals (trigger-dispatch files these through service chaining).
//!
//! Its own job beside campaign-intake: it shares only the store with the campaign
//! handlers (it reads a campaign to allocate to it), and on its own both `.wasm`
//! files stay under 1 MiB (BENCHMARKS.md, "Component sizes").
#![forbid(unsafe_code)]

mod resources;
mod routes;

use opsflow_api::{ApiRequest, ApiResponse};
use opsflow_edge::handlers::{actor, idempotent};
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
    // Acting needs a subject that is a valid user id; reading does too, as before.
    if let Err(problem) = actor(&ctx) {
        return problem.into();
    }
    let (ctx, id, req) = (&ctx, ctx.id(), &ctx.req);
    let result = match op {
        Op::ListResources => resources::list(ctx, req).await,
        Op::CreateResource => Ok(idempotent(ctx, op, "", req, resources::create).await),
        Op::GetResource => resources::get(ctx, id).await,
        Op::UpdateResource => resources::update(ctx, id, req).await,
        Op::DeleteResource => resources::delete(ctx, id, req).await,
        Op::ResourceAudit => resources::audit_log(ctx, id, req).await,
        Op::ListAllocations => resources::list_allocations(ctx, req).await,
        Op::CreateAllocation => {
            Ok(idempotent(ctx, op, "", req, resources::create_allocation).await)
        }
        Op::DeleteAllocation => resources::delete_allocation(ctx, id).await,
        Op::ResourceUtilization => resources::utilization(ctx, req).await,
        Op::ListRebalanceProposals => resources::list_proposals(ctx, req).await,
        Op::CreateRebalanceProposal => {
            Ok(idempotent(ctx, op, "", req, resources::create_proposal).await)
        }
        Op::GetRebalanceProposal => resources::get_proposal(ctx, id).await,
        Op::DecideRebalanceProposal => {
            Ok(idempotent(ctx, op, id, req, resources::decide_proposal).await)
        }
    };
    result.unwrap_or_else(ApiResponse::from)
}
