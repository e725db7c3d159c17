//! Keys of the campaigns area (`cmp`).
//!
//! | key | value |
//! |---|---|
//! | `cmp:c:<id>` | a campaign: `Versioned<opsflow_domain::campaign::Campaign>` |
//! | `cmp:idx:all` | the campaign index: `Versioned<`[`crate::campaigns::CampaignIndex`]`>`, id → stage and version |
//! | `cmp:r:<id>` | a resource: `Versioned<opsflow_domain::campaign::Resource>` |
//! | `cmp:idx:resources` | the ids of every resource (an [`crate::Index`]) |
//! | `cmp:alloc` | the planning book: every allocation and the rebalance proposals, one versioned record |

use super::Key;

/// A campaign record.
pub fn campaign(id: &str) -> Key {
    Key::new("cmp", &["c", id])
}

/// The campaign index: every campaign id with its stage (see [`crate::campaigns`]).
/// One record, so a transition moves an id between stages with one compare-and-swap.
pub fn campaign_index() -> Key {
    Key::new("cmp", &["idx", "all"])
}

/// A resource record.
pub fn resource(id: &str) -> Key {
    Key::new("cmp", &["r", id])
}

/// The ids of every resource.
pub fn resource_index() -> Key {
    Key::new("cmp", &["idx", "resources"])
}

/// The planning book: every allocation and the rebalance proposals, in one versioned
/// record, so approving a proposal and applying its moves is one compare-and-swap.
pub fn allocations() -> Key {
    Key::new("cmp", &["alloc"])
}
