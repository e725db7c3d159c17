//! The campaign-intake component: campaigns, resources, platform webhooks, metrics,
//! the caller's identity and the app's OpenAPI document.
#![forbid(unsafe_code)]

mod campaigns;
mod me;
mod metrics_api;
mod openapi;
mod routes;
mod webhooks;

use opsflow_api::{ApiRequest, ApiResponse, Problem};
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
    let param = routed
        .params
        .first()
        .map(String::as_str)
        .unwrap_or_default();
    let signed_in = || opsflow_edge::caller(routed.who.clone());
    let result: Result<ApiResponse, Problem> = match routed.op {
        Op::OpenApi => Ok(openapi::document()),
        Op::Me => signed_in().map(me::respond),
        Op::ReceiveWebhook => Ok(webhooks::receive(param, &req).await),
        Op::CheckWebhook => Ok(webhooks::check(param, false)),
        Op::CheckWebhookHead => Ok(webhooks::check(param, true)),
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
            Ok(who) => campaigns::run(op, param, &req, who).await,
            Err(problem) => Err(problem),
        },
    };
    result.unwrap_or_else(ApiResponse::from)
}
