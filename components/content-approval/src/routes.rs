//! This component's operations and routes (pure data: the tests read it too).

use opsflow_api::{RouteDef, def, roles};

opsflow_api::operations! {
    /// What content-approval does.
    pub enum Op {
        ListContent = "list_content" => Access::Roles(roles::EVERYONE),
        CreateContent = "create_content" => Access::Roles(roles::MARKETING),
        ContentCalendar = "content_calendar" => Access::Roles(roles::EVERYONE),
        GetBrandStandard = "get_brand_standard" => Access::Roles(roles::EVERYONE),
        PutBrandStandard = "put_brand_standard" => Access::Roles(roles::BRAND_EDITORS),
        GetChannelPolicy = "get_channel_policy" => Access::Roles(roles::EVERYONE),
        PutChannelPolicy = "put_channel_policy" => Access::Roles(roles::OPERATIONS),
        GetCampaignWorkflow = "get_campaign_workflow" => Access::Roles(roles::EVERYONE),
        PutCampaignWorkflow = "put_campaign_workflow" => Access::Roles(roles::OPERATIONS),
        DeleteCampaignWorkflow = "delete_campaign_workflow" => Access::Roles(roles::OPERATIONS),
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
        ContentAudit = "content_audit" => Access::Roles(roles::EVERYONE),
    }
}

pub const ROUTES: &[RouteDef<Op>] = &[
    def("GET", "/api/content", Op::ListContent),
    def("POST", "/api/content", Op::CreateContent),
    def("GET", "/api/content/calendar", Op::ContentCalendar),
    def("GET", "/api/content/brand-standard", Op::GetBrandStandard),
    def("PUT", "/api/content/brand-standard", Op::PutBrandStandard),
    def(
        "GET",
        "/api/content/channels/{channel}",
        Op::GetChannelPolicy,
    ),
    def(
        "PUT",
        "/api/content/channels/{channel}",
        Op::PutChannelPolicy,
    ),
    def(
        "GET",
        "/api/content/campaigns/{campaign_id}/workflow",
        Op::GetCampaignWorkflow,
    ),
    def(
        "PUT",
        "/api/content/campaigns/{campaign_id}/workflow",
        Op::PutCampaignWorkflow,
    ),
    def(
        "DELETE",
        "/api/content/campaigns/{campaign_id}/workflow",
        Op::DeleteCampaignWorkflow,
    ),
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
    def("GET", "/api/content/{id}/audit", Op::ContentAudit),
];
