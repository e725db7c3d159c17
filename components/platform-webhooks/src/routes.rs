//! This component's operations and routes (pure data: the tests read it too): the
//! platform webhooks, which senders authenticate by signature, not by bearer token.

use opsflow_api::{RouteDef, def};

opsflow_api::operations! {
    /// What platform-webhooks does.
    pub enum Op {
        ReceiveWebhook = "receive_webhook" => Access::Public,
        CheckWebhook = "check_webhook" => Access::Public,
        CheckWebhookHead = "check_webhook_head" => Access::Public,
    }
}

pub const ROUTES: &[RouteDef<Op>] = &[
    def("POST", "/webhooks/{platform}", Op::ReceiveWebhook),
    def("GET", "/webhooks/{platform}", Op::CheckWebhook),
    def("HEAD", "/webhooks/{platform}", Op::CheckWebhookHead),
];
