//! The platform-webhooks component: `POST /webhooks/{platform}` from SendGrid,
//! Mandrill, HubSpot and generic Standard-Webhooks senders, verified and counted
//! exactly once (see `webhooks.rs`), and the `GET`/`HEAD` URL checks senders make.
//!
//! The hot path of the app, on its own: it scales with the platforms' traffic, not
//! with the users', and carries none of the campaign code, so its `.wasm` stays
//! small and its instances start fast. The signature crypto is built for speed
//! (`[profile.release.package.*]` in the root Cargo.toml). The metrics API that
//! reads what this component counts lives in campaign-metrics
//! (`/api/campaigns/:id/metrics`).
#![forbid(unsafe_code)]

mod routes;
mod webhooks;

use opsflow_api::{ApiRequest, ApiResponse};
use routes::Op;
use spin_sdk::http::{IntoResponse, Request};
use spin_sdk::http_service;

#[http_service]
async fn handle(req: Request) -> impl IntoResponse {
    opsflow_edge::serve(req, opsflow_edge::MAX_BODY, dispatch).await
}

async fn dispatch(req: ApiRequest) -> ApiResponse {
    // Every operation here is public (senders sign, they hold no token): routing
    // answers 404/405 and never reads `api_tokens`.
    let routed = match opsflow_edge::route_authenticated(routes::ROUTES, &req).await {
        Ok(routed) => routed,
        Err(problem) => return problem.into(),
    };
    let platform = routed
        .params
        .first()
        .map(String::as_str)
        .unwrap_or_default();
    match routed.op {
        Op::ReceiveWebhook => webhooks::receive(platform, &req).await,
        Op::CheckWebhook => webhooks::check(platform, false),
        Op::CheckWebhookHead => webhooks::check(platform, true),
    }
}
