//! This component's operations and routes (pure data: the tests read it too).

use opsflow_api::{RouteDef, def, roles};

/// Nobody but an admin (who passes every role set).
const ADMIN: &[opsflow_api::Role] = &[];

opsflow_api::operations! {
    /// What process-analytics does.
    pub enum Op {
        Process = "process_analytics" => Access::Roles(roles::EVERYONE),
        Backfill = "backfill_analytics" => Access::Roles(ADMIN),
    }
}

pub const ROUTES: &[RouteDef<Op>] = &[
    def("GET", "/api/analytics/process", Op::Process),
    def("POST", "/api/analytics/backfill", Op::Backfill),
];
