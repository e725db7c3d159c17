//! This component's operations and routes (pure data: the tests read it too): the
//! configuration content is judged by, the items' audit trail and the calendar
//! feed. spin.toml routes exactly these paths here (`/api/content/brand-standard`,
//! `/api/content/channels/:channel`, `/api/content/campaigns/:campaign_id/workflow`,
//! `/api/content/:id/audit`, `/api/content/calendar/feed` and
//! `/api/content/calendar/feed/:secret`), each more specific than
//! content-approval's `/api/content/...`. The feed itself is public: its URL's
//! secret is the credential.

use opsflow_api::{RouteDef, def, roles};

opsflow_api::operations! {
    /// What content-config does.
    pub enum Op {
        GetBrandStandard = "get_brand_standard" => Access::Roles(roles::EVERYONE),
        PutBrandStandard = "put_brand_standard" => Access::Roles(roles::BRAND_EDITORS),
        GetChannelPolicy = "get_channel_policy" => Access::Roles(roles::EVERYONE),
        PutChannelPolicy = "put_channel_policy" => Access::Roles(roles::OPERATIONS),
        GetCampaignWorkflow = "get_campaign_workflow" => Access::Roles(roles::EVERYONE),
        PutCampaignWorkflow = "put_campaign_workflow" => Access::Roles(roles::OPERATIONS),
        DeleteCampaignWorkflow = "delete_campaign_workflow" => Access::Roles(roles::OPERATIONS),
        ContentAudit = "content_audit" => Access::Roles(roles::EVERYONE),
        ContentCalendar = "content_calendar" => Access::Roles(roles::EVERYONE),
        GetCalendarFeed = "get_calendar_feed" => Access::Roles(roles::EVERYONE),
        CreateCalendarFeed = "create_calendar_feed" => Access::Roles(roles::EVERYONE),
        RevokeCalendarFeed = "revoke_calendar_feed" => Access::Roles(roles::EVERYONE),
        CalendarFeed = "calendar_feed" => Access::Public,
    }
}

pub const ROUTES: &[RouteDef<Op>] = &[
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
    def("GET", "/api/content/{id}/audit", Op::ContentAudit),
    def("GET", "/api/content/calendar", Op::ContentCalendar),
    def("GET", "/api/content/calendar/feed", Op::GetCalendarFeed),
    def("POST", "/api/content/calendar/feed", Op::CreateCalendarFeed),
    def(
        "DELETE",
        "/api/content/calendar/feed",
        Op::RevokeCalendarFeed,
    ),
    def(
        "GET",
        "/api/content/calendar/feed/{secret}",
        Op::CalendarFeed,
    ),
];
