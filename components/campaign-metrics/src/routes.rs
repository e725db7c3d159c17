//! This component's operations and routes (pure data: the tests read it too): the
//! metrics API under `/api/campaigns`, the success report, the audit log (both
//! with CSV exports) and the daily maintenance pass. spin.toml routes exactly
//! these paths here (`/api/campaigns/:id/metrics`, `/api/campaigns/:id/report`,
//! `/api/campaigns/:id/audit` and the two
//! `/api/campaigns/metrics/...` routes, each more specific than campaign-intake's
//! `/api/campaigns/...`); the platform webhooks that feed the metrics are
//! platform-webhooks' routes.

use opsflow_api::{RouteDef, def, roles};

opsflow_api::operations! {
    /// What campaign-metrics does.
    pub enum Op {
        ListUnattributedEvents = "list_unattributed_events" => Access::Roles(roles::PLANNERS),
        CleanupMetrics = "cleanup_metrics" => Access::Roles(roles::OPERATIONS),
        GetCampaignMetrics = "get_campaign_metrics" => Access::Roles(roles::METRICS_READERS),
        PostCampaignMetrics = "post_campaign_metrics" => Access::Roles(roles::PLANNERS),
        CampaignReport = "campaign_report" => Access::Roles(roles::EVERYONE),
        CampaignAudit = "campaign_audit" => Access::Roles(roles::EVERYONE),
    }
}

pub const ROUTES: &[RouteDef<Op>] = &[
    def("GET", "/api/campaigns/{id}/metrics", Op::GetCampaignMetrics),
    def(
        "POST",
        "/api/campaigns/{id}/metrics",
        Op::PostCampaignMetrics,
    ),
    def("GET", "/api/campaigns/{id}/report", Op::CampaignReport),
    def("GET", "/api/campaigns/{id}/audit", Op::CampaignAudit),
    def(
        "GET",
        "/api/campaigns/metrics/unattributed",
        Op::ListUnattributedEvents,
    ),
    def("POST", "/api/campaigns/metrics/cleanup", Op::CleanupMetrics),
];
