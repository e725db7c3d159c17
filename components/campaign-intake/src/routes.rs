//! This component's operations and routes (pure data: the tests read it too):
//! campaigns, resources, the metrics API, the caller and the OpenAPI document.
//! The platform webhooks that feed the metrics are platform-webhooks' routes.

use opsflow_api::{RouteDef, def, roles};

opsflow_api::operations! {
    /// What campaign-intake does.
    pub enum Op {
        ListCampaigns = "list_campaigns" => Access::Roles(roles::EVERYONE),
        CreateCampaign = "create_campaign" => Access::Roles(roles::MARKETING),
        GetCampaign = "get_campaign" => Access::Roles(roles::EVERYONE),
        UpdateCampaign = "update_campaign" => Access::Roles(roles::PLANNERS),
        TransitionCampaign = "transition_campaign" => Access::Roles(roles::PLANNERS),
        CampaignGate = "campaign_gate" => Access::Roles(roles::EVERYONE),
        ListHandoffs = "list_handoffs" => Access::Roles(roles::EVERYONE),
        CampaignAudit = "campaign_audit" => Access::Roles(roles::EVERYONE),
        CampaignReport = "campaign_report" => Access::Roles(roles::EVERYONE),
        ListResources = "list_resources" => Access::Roles(roles::EVERYONE),
        CreateResource = "create_resource" => Access::Roles(roles::OPERATIONS),
        GetResource = "get_resource" => Access::Roles(roles::EVERYONE),
        UpdateResource = "update_resource" => Access::Roles(roles::OPERATIONS),
        DeleteResource = "delete_resource" => Access::Roles(roles::OPERATIONS),
        ResourceAudit = "resource_audit" => Access::Roles(roles::EVERYONE),
        ListAllocations = "list_allocations" => Access::Roles(roles::EVERYONE),
        CreateAllocation = "create_allocation" => Access::Roles(roles::OPERATIONS),
        DeleteAllocation = "delete_allocation" => Access::Roles(roles::OPERATIONS),
        ResourceUtilization = "resource_utilization" => Access::Roles(roles::EVERYONE),
        ListRebalanceProposals = "list_rebalance_proposals" => Access::Roles(roles::EVERYONE),
        CreateRebalanceProposal = "create_rebalance_proposal" => Access::Roles(roles::OPERATIONS),
        GetRebalanceProposal = "get_rebalance_proposal" => Access::Roles(roles::EVERYONE),
        DecideRebalanceProposal = "decide_rebalance_proposal" => Access::Roles(roles::OPERATIONS),
        ListUnattributedEvents = "list_unattributed_events" => Access::Roles(roles::PLANNERS),
        CleanupMetrics = "cleanup_metrics" => Access::Roles(roles::OPERATIONS),
        GetCampaignMetrics = "get_campaign_metrics" => Access::Roles(roles::METRICS_READERS),
        PostCampaignMetrics = "post_campaign_metrics" => Access::Roles(roles::PLANNERS),
        Me = "me" => Access::Roles(roles::EVERYONE),
        OpenApi = "openapi" => Access::Public,
    }
}

pub const ROUTES: &[RouteDef<Op>] = &[
    def("GET", "/api/campaigns", Op::ListCampaigns),
    def("POST", "/api/campaigns", Op::CreateCampaign),
    def("GET", "/api/campaigns/{id}", Op::GetCampaign),
    def("PATCH", "/api/campaigns/{id}", Op::UpdateCampaign),
    def(
        "POST",
        "/api/campaigns/{id}/transitions",
        Op::TransitionCampaign,
    ),
    def("GET", "/api/campaigns/{id}/gate", Op::CampaignGate),
    def("GET", "/api/campaigns/{id}/handoffs", Op::ListHandoffs),
    def("GET", "/api/campaigns/{id}/audit", Op::CampaignAudit),
    def("GET", "/api/campaigns/{id}/report", Op::CampaignReport),
    def("GET", "/api/campaigns/{id}/metrics", Op::GetCampaignMetrics),
    def(
        "POST",
        "/api/campaigns/{id}/metrics",
        Op::PostCampaignMetrics,
    ),
    def(
        "GET",
        "/api/campaigns/metrics/unattributed",
        Op::ListUnattributedEvents,
    ),
    def("POST", "/api/campaigns/metrics/cleanup", Op::CleanupMetrics),
    def("GET", "/api/resources", Op::ListResources),
    def("POST", "/api/resources", Op::CreateResource),
    def("GET", "/api/resources/{id}", Op::GetResource),
    def("PATCH", "/api/resources/{id}", Op::UpdateResource),
    def("DELETE", "/api/resources/{id}", Op::DeleteResource),
    def("GET", "/api/resources/{id}/audit", Op::ResourceAudit),
    def("GET", "/api/resources/allocations", Op::ListAllocations),
    def("POST", "/api/resources/allocations", Op::CreateAllocation),
    def(
        "DELETE",
        "/api/resources/allocations/{id}",
        Op::DeleteAllocation,
    ),
    def("GET", "/api/resources/utilization", Op::ResourceUtilization),
    def(
        "GET",
        "/api/resources/rebalance-proposals",
        Op::ListRebalanceProposals,
    ),
    def(
        "POST",
        "/api/resources/rebalance-proposals",
        Op::CreateRebalanceProposal,
    ),
    def(
        "GET",
        "/api/resources/rebalance-proposals/{id}",
        Op::GetRebalanceProposal,
    ),
    def(
        "POST",
        "/api/resources/rebalance-proposals/{id}/decision",
        Op::DecideRebalanceProposal,
    ),
    def("GET", "/api/me", Op::Me),
    def("GET", "/api/openapi.json", Op::OpenApi),
];
