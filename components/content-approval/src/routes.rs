//! This component's operations (pure data: the tests read it too).
//! Literal paths come before `{id}` paths of the same shape: the first match wins.

use opsflow_api::{RouteDef, def};

pub const ROUTES: &[RouteDef] = &[
    def("GET", "/api/content", "list_content"),
    def("POST", "/api/content", "create_content"),
    def("GET", "/api/content/calendar", "content_calendar"),
    def("GET", "/api/content/brand-standard", "get_brand_standard"),
    def("PUT", "/api/content/brand-standard", "put_brand_standard"),
    def(
        "GET",
        "/api/content/channels/{channel}",
        "get_channel_policy",
    ),
    def(
        "PUT",
        "/api/content/channels/{channel}",
        "put_channel_policy",
    ),
    def(
        "GET",
        "/api/content/campaigns/{campaign_id}/workflow",
        "get_campaign_workflow",
    ),
    def(
        "PUT",
        "/api/content/campaigns/{campaign_id}/workflow",
        "put_campaign_workflow",
    ),
    def(
        "DELETE",
        "/api/content/campaigns/{campaign_id}/workflow",
        "delete_campaign_workflow",
    ),
    def("GET", "/api/content/{id}", "get_content"),
    def("PATCH", "/api/content/{id}", "update_content"),
    def("POST", "/api/content/{id}/submit", "submit_content"),
    def("POST", "/api/content/{id}/decisions", "decide_content"),
    def("POST", "/api/content/{id}/withdraw", "withdraw_content"),
    def("POST", "/api/content/{id}/schedule", "schedule_content"),
    def("POST", "/api/content/{id}/publish", "publish_content"),
    def("GET", "/api/content/{id}/checks", "content_checks"),
    def("GET", "/api/content/{id}/audit", "content_audit"),
];
