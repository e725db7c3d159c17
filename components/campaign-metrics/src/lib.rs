//! The campaign-metrics component: the metrics API — what platform-webhooks
//! counts, read back per campaign; samples from sources without webhooks;
//! unattributed events —, the success report (`GET /api/campaigns/{id}/report`:
//! actual against objective from those counts), the campaign's audit log
//! (`GET /api/campaigns/{id}/audit`; both also in CSV) and the daily maintenance pass
//! (`POST /api/campaigns/metrics/cleanup`, which the scheduler calls).
//!
//! Its own job beside campaign-intake: it shares only the store with the campaign
//! handlers, and carries the metrics ingest, read and retention code that the
//! campaign handlers do not need, so both `.wasm` files stay under 1 MiB
//! (BENCHMARKS.md, "Component sizes").
#![forbid(unsafe_code)]

mod metrics_api;
mod report;
mod routes;

use opsflow_api::{ApiRequest, ApiResponse, Problem};
use routes::Op;
use spin_sdk::http::{IntoResponse, Request};
use spin_sdk::http_service;

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
    let result: Result<ApiResponse, Problem> = match routed.op {
        Op::PostCampaignMetrics => metrics_api::post_samples(param, &req).await,
        Op::GetCampaignMetrics => metrics_api::get_metrics(param, &req).await,
        Op::ListUnattributedEvents => metrics_api::unattributed(&req).await,
        Op::CleanupMetrics => metrics_api::cleanup(&req).await,
        Op::CampaignReport => signed_in(req, routed, report::report).await,
        Op::CampaignAudit => signed_in(req, routed, report::audit_log).await,
    };
    result.unwrap_or_else(ApiResponse::from)
}

/// A campaign read (the success report, the audit log) for a signed-in caller
/// whose subject may act (as every campaign operation requires: 403 otherwise).
async fn signed_in<F>(
    req: ApiRequest,
    routed: opsflow_edge::Routed<Op>,
    read: F,
) -> Result<ApiResponse, Problem>
where
    F: AsyncFnOnce(&opsflow_edge::Ctx, &str) -> Result<ApiResponse, Problem>,
{
    let who = opsflow_edge::caller(routed.who)?;
    let ctx = opsflow_edge::Ctx::new(req, routed.params, who);
    opsflow_edge::handlers::actor(&ctx)?;
    read(&ctx, ctx.id()).await
}
