//! The content-config component: configuration as data for content-approval — the
//! brand standard its checks apply, channel policies (workflow, auto-approval,
//! hourly send cap) and per-campaign workflow overrides; the content items' audit
//! trail, read back in JSON or CSV; and the content calendar as an iCalendar feed
//! at a per-user secret URL (`feed`).
//!
//! Its own job beside content-approval, which only reads these records: the
//! editing, validation and audit of configuration are code the content workflow
//! never runs, so both `.wasm` files stay under 1 MiB (BENCHMARKS.md, "Component
//! sizes").
#![forbid(unsafe_code)]

mod audit;
mod calendar;
mod config;
mod feed;
mod ics;
mod routes;

use opsflow_api::{ApiRequest, ApiResponse};
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
    // The only public operation: the feed's URL carries its own secret.
    if routed.op == Op::CalendarFeed {
        let secret = routed
            .params
            .first()
            .map(String::as_str)
            .unwrap_or_default();
        return feed::feed(secret).await.unwrap_or_else(ApiResponse::from);
    }
    let ctx = match opsflow_edge::caller(routed.who) {
        Ok(who) => opsflow_edge::Ctx::new(req, routed.params, who),
        Err(problem) => return problem.into(),
    };
    let ctx = &ctx;
    let result = match routed.op {
        Op::GetBrandStandard => config::get_standard(ctx).await,
        Op::PutBrandStandard => config::put_standard(ctx).await,
        Op::GetChannelPolicy => config::get_channel(ctx).await,
        Op::PutChannelPolicy => config::put_channel(ctx).await,
        Op::GetCampaignWorkflow => config::get_campaign_workflow(ctx).await,
        Op::PutCampaignWorkflow => config::put_campaign_workflow(ctx).await,
        Op::DeleteCampaignWorkflow => config::delete_campaign_workflow(ctx).await,
        Op::ContentAudit => audit::audit_trail(ctx).await,
        Op::ContentCalendar => calendar::calendar(ctx).await,
        Op::GetCalendarFeed => feed::show(ctx).await,
        Op::CreateCalendarFeed => feed::create(ctx).await,
        Op::RevokeCalendarFeed => feed::revoke(ctx).await,
        Op::CalendarFeed => feed::feed(ctx.id()).await,
    };
    result.unwrap_or_else(ApiResponse::from)
}
