//! This component's operations (pure data: the tests read it too).

use opsflow_api::RouteDef;

pub const ROUTES: &[RouteDef] = &[];
