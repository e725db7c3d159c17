//! This component's operations and routes (pure data: the tests read it too).
//! spin.toml gives threshold-check `/api/evaluations/...`; the rules, run history
//! and alert reads under it are monitoring-api's more specific routes.

use opsflow_api::{RouteDef, def, roles};

opsflow_api::operations! {
    /// What threshold-check does.
    pub enum Op {
        RunEvaluation = "run_evaluation" => Access::Roles(roles::OPERATIONS),
    }
}

pub const ROUTES: &[RouteDef<Op>] = &[def("POST", "/api/evaluations/run", Op::RunEvaluation)];
