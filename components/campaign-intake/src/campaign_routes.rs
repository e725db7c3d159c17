//! Campaign, resource and allocation operations (pure data: the tests read it too).

use opsflow_api::{RouteDef, def};

pub const ROUTES: &[RouteDef] = &[def("GET", "/api/campaigns", "list_campaigns")];
