//! Webhook and metrics operations (pure data: the tests read it too).

use opsflow_api::{RouteDef, def};

pub const ROUTES: &[RouteDef] = &[def("POST", "/webhooks/{platform}", "receive_webhook")];
