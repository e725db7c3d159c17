//! The content-approval component: routes under `/api/content` — content items,
//! automated checks, multi-stage approval, distribution timing and the calendar.
//!
//! Every handler is parse → load → decide (opsflow_domain::content) → store → respond.
#![forbid(unsafe_code)]

mod config;
mod items;
mod routes;
mod schedule;
mod support;

use opsflow_api::{ApiRequest, ApiResponse, Problem};
use opsflow_store::spin::SpinKv;
use spin_sdk::http::{IntoResponse, Request};
use spin_sdk::http_service;
use support::Ctx;

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
    let ctx = Ctx {
        kv: SpinKv::default_store(),
        who,
        now: chrono::Utc::now(),
        params,
        req,
    };
    if ctx.req.method == "POST" {
        opsflow_store::idempotency::run(&ctx.kv, op, &ctx.who.sub, &ctx.req, || run(op, &ctx)).await
    } else {
        run(op, &ctx).await
    }
}

async fn run(op: &str, ctx: &Ctx) -> ApiResponse {
    let result = match op {
        "list_content" => items::list(ctx).await,
        "create_content" => items::create(ctx).await,
        "get_content" => items::get(ctx).await,
        "update_content" => items::update(ctx).await,
        "submit_content" => items::submit(ctx).await,
        "decide_content" => items::decide(ctx).await,
        "withdraw_content" => items::withdraw(ctx).await,
        "publish_content" => items::publish(ctx).await,
        "content_checks" => items::checks(ctx).await,
        "content_audit" => items::audit_trail(ctx).await,
        "schedule_content" => schedule::schedule(ctx).await,
        "content_calendar" => schedule::calendar(ctx).await,
        "get_brand_standard" => config::get_standard(ctx).await,
        "put_brand_standard" => config::put_standard(ctx).await,
        "get_channel_policy" => config::get_channel(ctx).await,
        "put_channel_policy" => config::put_channel(ctx).await,
        "get_campaign_workflow" => config::get_campaign_workflow(ctx).await,
        "put_campaign_workflow" => config::put_campaign_workflow(ctx).await,
        "delete_campaign_workflow" => config::delete_campaign_workflow(ctx).await,
        other => Err(Problem::not_found(format!(
            "operation {other} is not built"
        ))),
    };
    result.unwrap_or_else(ApiResponse::from)
}
