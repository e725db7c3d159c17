//! This component's operations and routes (pure data: the tests read it too).

use opsflow_api::{RouteDef, def, roles};

opsflow_api::operations! {
    /// What trigger-dispatch does.
    pub enum Op {
        ListTriggers = "list_triggers" => Access::Roles(roles::EVERYONE),
        DispatchTriggers = "dispatch_triggers" => Access::Roles(roles::OPERATIONS),
        GetTrigger = "get_trigger" => Access::Roles(roles::EVERYONE),
        ApproveTrigger = "approve_trigger" => Access::Roles(roles::OPERATIONS),
        RejectTrigger = "reject_trigger" => Access::Roles(roles::OPERATIONS),
        ReplayTrigger = "replay_trigger" => Access::Roles(roles::OPERATIONS),
    }
}

pub const ROUTES: &[RouteDef<Op>] = &[
    def("GET", "/api/triggers", Op::ListTriggers),
    def("POST", "/api/triggers/dispatch", Op::DispatchTriggers),
    def("GET", "/api/triggers/{id}", Op::GetTrigger),
    def("POST", "/api/triggers/{id}/approve", Op::ApproveTrigger),
    def("POST", "/api/triggers/{id}/reject", Op::RejectTrigger),
    def("POST", "/api/triggers/{id}/replay", Op::ReplayTrigger),
];
