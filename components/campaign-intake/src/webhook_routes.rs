//! Webhook and metrics operations (pure data: the tests read it too).
//!
//! Literal paths under `/api/campaigns/metrics/...` cannot collide with the
//! campaign routes' `{id}` paths: no campaign route ends in those segments.

use opsflow_api::{RouteDef, def};

pub const ROUTES: &[RouteDef] = &[
    def("POST", "/webhooks/{platform}", "receive_webhook"),
    def("GET", "/webhooks/{platform}", "check_webhook"),
    def("HEAD", "/webhooks/{platform}", "check_webhook_head"),
    def(
        "GET",
        "/api/campaigns/metrics/unattributed",
        "list_unattributed_events",
    ),
    def("POST", "/api/campaigns/metrics/cleanup", "cleanup_metrics"),
    def("GET", "/api/campaigns/{id}/metrics", "get_campaign_metrics"),
    def(
        "POST",
        "/api/campaigns/{id}/metrics",
        "post_campaign_metrics",
    ),
];
