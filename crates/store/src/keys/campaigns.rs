//! Keys of the campaigns area (`cmp`).
//!
//! | key | value |
//! |---|---|
//! | `cmp:c:<id>` | a campaign: `Versioned<opsflow_domain::campaign::Campaign>` |
//! | `cmp:idx:cmp:dir`, `cmp:idx:cmp:s:<n>` | the campaign index ([`crate::campaigns`]): its shard directory and shards, id → stage, version and owner tags |
//! | `cmp:idx:all` | the unsharded campaign index of earlier builds, migrated and deleted on first use |
//! | `cmp:r:<id>` | a resource: `Versioned<opsflow_domain::campaign::Resource>` |
//! | `cmp:idx:resources` | the ids of every resource (an [`crate::IdSet`]) |
//! | `cmp:alloc` | the planning book: every allocation and the rebalance proposals, one versioned record |

use super::Key;

/// A campaign record.
pub fn campaign(id: &str) -> Key {
    Key::new("cmp", &["c", id])
}

/// The base key of the campaign index (see [`crate::campaigns`]): one entry per
/// campaign, so a transition moves an id between stages with one compare-and-swap.
pub fn campaign_index() -> Key {
    Key::new("cmp", &["idx", "cmp"])
}

/// The campaign index of builds before it was sharded: one record.
pub fn legacy_campaign_index() -> Key {
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
