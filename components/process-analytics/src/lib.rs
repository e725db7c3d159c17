//! The process-analytics component: the figures a process-excellence lead reads
//! (`GET /api/analytics/process`) and the admin backfill of their samples from
//! the audit logs (`POST /api/analytics/backfill`), under `/api/analytics`.
//!
//! Its own component: it reads what campaign-intake, content-approval,
//! threshold-check and trigger-dispatch record as their work happens
//! (`opsflow_store::analytics`, one sample write per transition or decision) and
//! writes nothing they read, so each `.wasm` stays under 1 MiB and the reports
//! scale apart from the workflow (docs/analytics.md).
#![forbid(unsafe_code)]

mod backfill;
mod csv;
mod process;
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
    let (op, ctx) = match opsflow_edge::route_signed_in(routes::ROUTES, req).await {
        Ok(routed) => routed,
        Err(problem) => return problem.into(),
    };
    let result = match op {
        Op::Process => process::get(&ctx).await,
        Op::Backfill => backfill::run(&ctx).await,
    };
    result.unwrap_or_else(ApiResponse::from)
}
