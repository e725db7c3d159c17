//! This component's operations and routes (pure data: the tests read it too):
//! the monitoring rules, the run history and the alert states under
//! `/api/evaluations`. spin.toml routes `/api/evaluations/rules/...`,
//! `/api/evaluations/runs/...` and `/api/evaluations/alerts` here, each more
//! specific than threshold-check's `/api/evaluations/...`, which keeps
//! `POST /api/evaluations/run`; and `/api/analytics/effects` (more specific than
//! process-analytics' `/api/analytics/...`): the effects of automated actions,
//! measured by the rules' own evaluation.

use opsflow_api::{RouteDef, def, roles};

opsflow_api::operations! {
    /// What monitoring-api does.
    pub enum Op {
        ListRules = "list_rules" => Access::Roles(roles::EVERYONE),
        CreateRule = "create_rule" => Access::Roles(roles::OPERATIONS),
        GetRule = "get_rule" => Access::Roles(roles::EVERYONE),
        ReplaceRule = "replace_rule" => Access::Roles(roles::OPERATIONS),
        DeleteRule = "delete_rule" => Access::Roles(roles::OPERATIONS),
        ListRuns = "list_runs" => Access::Roles(roles::EVERYONE),
        GetRun = "get_run" => Access::Roles(roles::EVERYONE),
        ListAlerts = "list_alerts" => Access::Roles(roles::EVERYONE),
        ActionEffects = "action_effects" => Access::Roles(roles::EVERYONE),
    }
}

pub const ROUTES: &[RouteDef<Op>] = &[
    def("GET", "/api/evaluations/rules", Op::ListRules),
    def("POST", "/api/evaluations/rules", Op::CreateRule),
    def("GET", "/api/evaluations/rules/{id}", Op::GetRule),
    def("PUT", "/api/evaluations/rules/{id}", Op::ReplaceRule),
    def("DELETE", "/api/evaluations/rules/{id}", Op::DeleteRule),
    def("GET", "/api/evaluations/runs", Op::ListRuns),
    def("GET", "/api/evaluations/runs/{id}", Op::GetRun),
    def("GET", "/api/evaluations/alerts", Op::ListAlerts),
    def("GET", "/api/analytics/effects", Op::ActionEffects),
];
