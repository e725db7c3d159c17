//! This component's operations (pure data: the tests read it too).

use opsflow_api::{RouteDef, def};

pub const ROUTES: &[RouteDef] = &[
    def("GET", "/api/evaluations/rules", "list_rules"),
    def("POST", "/api/evaluations/rules", "create_rule"),
    def("GET", "/api/evaluations/rules/{id}", "get_rule"),
    def("PUT", "/api/evaluations/rules/{id}", "replace_rule"),
    def("DELETE", "/api/evaluations/rules/{id}", "delete_rule"),
    def("POST", "/api/evaluations/run", "run_evaluation"),
    def("GET", "/api/evaluations/runs", "list_runs"),
    def("GET", "/api/evaluations/runs/{id}", "get_run"),
    def("GET", "/api/evaluations/alerts", "list_alerts"),
];
