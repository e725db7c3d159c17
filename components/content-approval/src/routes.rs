//! This component's operations and routes (pure data: the tests read it too). The
//! brand standard, channel policies, campaign workflow overrides, the audit
//! trail (`/api/content/{id}/audit`, with its CSV export) and the calendar
//! (`/api/content/calendar`, with its iCalendar feed) under `/api/content` are
//! content-config's routes.

use opsflow_api::{RouteDef, def, roles};

opsflow_api::operations! {
    /// What content-approval does.
    pub enum Op {
        ListContent = "list_content" => Access::Roles(roles::EVERYONE),
        CreateContent = "create_content" => Access::Roles(roles::MARKETING),
        GetContent = "get_content" => Access::Roles(roles::EVERYONE),
        UpdateContent = "update_content" => Access::Roles(roles::MARKETING),
        SubmitContent = "submit_content" => Access::Roles(roles::MARKETING),
        DecideContent = "decide_content" => Access::Roles(roles::CONTENT_DECIDERS),
        WithdrawContent = "withdraw_content" => Access::Roles(roles::PLANNERS),
        ScheduleContent = "schedule_content" => Access::Roles(roles::OPERATIONS),
        PublishContent = "publish_content" => Access::Roles(roles::OPERATIONS),
        RefreshContent = "refresh_content" => Access::Roles(roles::OPERATIONS),
        ChangeSendTiming = "change_send_timing" => Access::Roles(roles::OPERATIONS),
        ContentChecks = "content_checks" => Access::Roles(roles::EVERYONE),
    }
}

pub const ROUTES: &[RouteDef<Op>] = &[
    def("GET", "/api/content", Op::ListContent),
    def("POST", "/api/content", Op::CreateContent),
    def(
        "POST",
        "/api/content/campaigns/{campaign_id}/timing-change",
        Op::ChangeSendTiming,
    ),
    def("GET", "/api/content/{id}", Op::GetContent),
    def("PATCH", "/api/content/{id}", Op::UpdateContent),
    def("POST", "/api/content/{id}/submit", Op::SubmitContent),
    def("POST", "/api/content/{id}/decisions", Op::DecideContent),
    def("POST", "/api/content/{id}/withdraw", Op::WithdrawContent),
    def("POST", "/api/content/{id}/schedule", Op::ScheduleContent),
    def("POST", "/api/content/{id}/publish", Op::PublishContent),
    def("POST", "/api/content/{id}/refresh", Op::RefreshContent),
    def("GET", "/api/content/{id}/checks", Op::ContentChecks),
];
