//! Campaign, resource and allocation operations (pure data: the tests read it too).
//!
//! Literal paths come before `{id}` paths under the same prefix: the first match wins.

use opsflow_api::{RouteDef, def};

pub const ROUTES: &[RouteDef] = &[
    def("GET", "/api/campaigns", "list_campaigns"),
    def("POST", "/api/campaigns", "create_campaign"),
    def("GET", "/api/campaigns/{id}", "get_campaign"),
    def("PATCH", "/api/campaigns/{id}", "update_campaign"),
    def(
        "POST",
        "/api/campaigns/{id}/transitions",
        "transition_campaign",
    ),
    def("GET", "/api/campaigns/{id}/gate", "campaign_gate"),
    def("GET", "/api/campaigns/{id}/handoffs", "list_handoffs"),
    def("GET", "/api/campaigns/{id}/audit", "campaign_audit"),
    def("GET", "/api/campaigns/{id}/report", "campaign_report"),
    def("GET", "/api/resources", "list_resources"),
    def("POST", "/api/resources", "create_resource"),
    def("GET", "/api/resources/allocations", "list_allocations"),
    def("POST", "/api/resources/allocations", "create_allocation"),
    def(
        "DELETE",
        "/api/resources/allocations/{id}",
        "delete_allocation",
    ),
    def("GET", "/api/resources/utilization", "resource_utilization"),
    def(
        "GET",
        "/api/resources/rebalance-proposals",
        "list_rebalance_proposals",
    ),
    def(
        "POST",
        "/api/resources/rebalance-proposals",
        "create_rebalance_proposal",
    ),
    def(
        "GET",
        "/api/resources/rebalance-proposals/{id}",
        "get_rebalance_proposal",
    ),
    def(
        "POST",
        "/api/resources/rebalance-proposals/{id}/decision",
        "decide_rebalance_proposal",
    ),
    def("GET", "/api/resources/{id}", "get_resource"),
    def("PATCH", "/api/resources/{id}", "update_resource"),
    def("DELETE", "/api/resources/{id}", "delete_resource"),
    def("GET", "/api/resources/{id}/audit", "resource_audit"),
];
