//! The one API operation this component serves (pure data: the tests read it too):
//! the app's OpenAPI document, a static file like the page's. spin.toml routes
//! `/api/openapi.json` here; every other path is the web UI's.

use opsflow_api::{RouteDef, def};

opsflow_api::operations! {
    /// What the dashboard serves under `/api`.
    pub enum Op {
        OpenApi = "openapi" => Access::Public,
    }
}

pub const ROUTES: &[RouteDef<Op>] = &[def("GET", "/api/openapi.json", Op::OpenApi)];

/// The path of the OpenAPI document.
pub const OPENAPI_PATH: &str = "/api/openapi.json";
