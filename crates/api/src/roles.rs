//! Role sets named for what they allow, shared by every component so one name means
//! one set everywhere. Admin is in none of them: [`Principal::require`] lets admin
//! through any set.
//!
//! [`Principal::require`]: crate::Principal::require

use crate::auth::Role;

/// Every role: reading campaigns, content, rules, runs, triggers.
pub const EVERYONE: &[Role] = &[
    Role::Marketing,
    Role::Operations,
    Role::BrandReviewer,
    Role::ComplianceReviewer,
    Role::Viewer,
];

/// Campaign managers: create campaigns and content.
pub const MARKETING: &[Role] = &[Role::Marketing];

/// Operations leads: resources, monitoring rules, runs, dispatch, scheduling.
pub const OPERATIONS: &[Role] = &[Role::Operations];

/// Both sides of a campaign's handoffs: edit campaigns, request transitions,
/// post metric samples.
pub const PLANNERS: &[Role] = &[Role::Marketing, Role::Operations];

/// Who reads performance data (metrics, unattributed events): the planners and
/// read-only stakeholders, not the content reviewers.
pub const METRICS_READERS: &[Role] = &[Role::Marketing, Role::Operations, Role::Viewer];

/// Who may record an approval decision on content (the workflow then checks the
/// stage's own role and that the decider is not an author).
pub const CONTENT_DECIDERS: &[Role] = &[
    Role::BrandReviewer,
    Role::ComplianceReviewer,
    Role::Operations,
    Role::Marketing,
];

/// Who maintains the brand standard.
pub const BRAND_EDITORS: &[Role] = &[Role::Operations, Role::BrandReviewer];
