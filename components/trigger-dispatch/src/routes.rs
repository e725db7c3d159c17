//! This component's operations (pure data: the tests read it too).

use opsflow_api::{RouteDef, def};

pub const ROUTES: &[RouteDef] = &[
    def("GET", "/api/triggers", "list_triggers"),
    def("POST", "/api/triggers/dispatch", "dispatch_triggers"),
    def("GET", "/api/triggers/{id}", "get_trigger"),
    def("POST", "/api/triggers/{id}/approve", "approve_trigger"),
    def("POST", "/api/triggers/{id}/reject", "reject_trigger"),
    def("POST", "/api/triggers/{id}/replay", "replay_trigger"),
];
