//! This component's operations and routes (pure data: the tests read it too):
//! resources, allocations, utilization and rebalance proposals.
//!
//! Who may do what: every authenticated role reads; operations owns resources,
//! allocations and rebalance proposals; admin does everything.

use opsflow_api::{RouteDef, def, roles};

opsflow_api::operations! {
    /// What resource-planning does.
    pub enum Op {
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
    }
}

pub const ROUTES: &[RouteDef<Op>] = &[
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
];
