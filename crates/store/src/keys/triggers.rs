//! Keys of the triggers area (`trg`): the outbox and its indexes.

use super::Key;

/// One trigger (its id is the operation id).
pub fn trigger(id: &str) -> Key {
    Key::new("trg", &["t", id])
}

/// Every trigger id, oldest first (an id set in shards: [`crate::triggers`]).
pub fn trigger_index() -> Key {
    Key::new("trg", &["idx", "all"])
}

/// Ids of the triggers with work left (awaiting approval, pending, dispatching),
/// an id set in shards.
pub fn open_index() -> Key {
    Key::new("trg", &["idx", "open"])
}

/// How far the retention pass has pruned the index of all triggers, and the old
/// triggers it kept because they were still open.
pub fn prune_cursor() -> Key {
    Key::new("trg", &["prune"])
}
