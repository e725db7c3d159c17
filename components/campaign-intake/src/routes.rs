//! This component's operations and routes (pure data: the tests read it too):
//! campaigns and the caller. Resources, allocations and
//! rebalancing are resource-planning's routes; the metrics API, the success
//! report and the audit log under `/api/campaigns` are campaign-metrics' (spin.toml
//! routes those paths there).
//!
//! Who may do what: every authenticated role reads; marketing creates campaigns;
//! marketing and operations edit them (field by field, see `campaigns::FIELD_ROLES`)
//! and request stage transitions (the gate decides, the handoff records who);
//! admin does everything.

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
        Me = "me" => Access::Roles(roles::EVERYONE),
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
    def("GET", "/api/me", Op::Me),
];
