//! Keys of the campaigns area (`cmp`).

use super::Key;

/// A campaign record.
pub fn campaign(id: &str) -> Key {
    Key::new("cmp", &["c", id])
}

/// The ids of every campaign (an [`crate::Index`]).
pub fn campaign_index() -> Key {
    Key::new("cmp", &["idx", "all"])
}

/// The ids of the campaigns in one stage.
pub fn campaigns_in_stage(stage: &str) -> Key {
    Key::new("cmp", &["idx", "stage", stage])
}

/// A resource record.
pub fn resource(id: &str) -> Key {
    Key::new("cmp", &["r", id])
}

/// The ids of every resource.
pub fn resource_index() -> Key {
    Key::new("cmp", &["idx", "resources"])
}

/// Every allocation, in one versioned record (changed atomically by rebalancing).
pub fn allocations() -> Key {
    Key::new("cmp", &["alloc"])
}

/// A rebalance proposal.
pub fn proposal(id: &str) -> Key {
    Key::new("cmp", &["p", id])
}

/// The ids of every rebalance proposal.
pub fn proposal_index() -> Key {
    Key::new("cmp", &["idx", "proposals"])
}
