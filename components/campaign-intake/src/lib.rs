//! The campaign-intake component: campaigns, resources, the metrics API (what the
//! platform-webhooks component counts, read back; samples from sources without
//! webhooks), the caller's identity and the app's OpenAPI document.
#![forbid(unsafe_code)]

mod campaigns;
mod me;
mod metrics_api;
mod openapi;
mod resources;
mod routes;
mod support;

use opsflow_api::{ApiRequest, ApiResponse, Operation, Problem};
use routes::Op;
use spin_sdk::http::{IntoResponse, Request};
use spin_sdk::http_service;
use support::{Ctx, idempotent};

/// Unix seconds now.
pub(crate) fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[http_service]
async fn handle(req: Request) -> impl IntoResponse {
    opsflow_edge::serve(req, opsflow_edge::MAX_BODY, dispatch).await
}

async fn dispatch(req: ApiRequest) -> ApiResponse {
    let routed = match opsflow_edge::route_authenticated(routes::ROUTES, &req).await {
        Ok(routed) => routed,
        Err(problem) => return problem.into(),
    };
    let param = routed
        .params
        .first()
        .map(String::as_str)
        .unwrap_or_default();
    let signed_in = || opsflow_edge::caller(routed.who.clone());
    let result: Result<ApiResponse, Problem> = match routed.op {
        Op::OpenApi => Ok(openapi::document(&req)),
        Op::Me => signed_in().map(me::respond),
        Op::PostCampaignMetrics => metrics_api::post_samples(param, &req).await,
        Op::GetCampaignMetrics => metrics_api::get_metrics(param, &req).await,
        Op::ListUnattributedEvents => metrics_api::unattributed(&req).await,
        Op::CleanupMetrics => metrics_api::cleanup(&req).await,
        op @ (Op::ListCampaigns
        | Op::CreateCampaign
        | Op::GetCampaign
        | Op::UpdateCampaign
        | Op::TransitionCampaign
        | Op::CampaignGate
        | Op::ListHandoffs
        | Op::CampaignAudit
        | Op::CampaignReport
        | Op::ListResources
        | Op::CreateResource
        | Op::GetResource
        | Op::UpdateResource
        | Op::DeleteResource
        | Op::ResourceAudit
        | Op::ListAllocations
        | Op::CreateAllocation
        | Op::DeleteAllocation
        | Op::ResourceUtilization
        | Op::ListRebalanceProposals
        | Op::CreateRebalanceProposal
        | Op::GetRebalanceProposal
        | Op::DecideRebalanceProposal) => match signed_in() {
            Ok(who) => plan(op, Ctx::new(req, routed.params, who)).await,
            Err(problem) => Err(problem),
        },
    };
    result.unwrap_or_else(ApiResponse::from)
}

/// Runs one campaign or resource operation (its caller already authorised for it;
/// acting needs a subject that is a valid user id).
async fn plan(op: Op, ctx: Ctx) -> Result<ApiResponse, Problem> {
    support::actor(&ctx)?;
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
        Op::CampaignAudit => campaigns::audit_log(ctx, id, req).await,
        Op::CampaignReport => campaigns::report(ctx, id).await,
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
        Op::PostCampaignMetrics
        | Op::GetCampaignMetrics
        | Op::ListUnattributedEvents
        | Op::CleanupMetrics
        | Op::Me
        | Op::OpenApi => Err(Problem::not_found(format!(
            "operation {} is served by another module",
            op.id()
        ))),
    }
}
