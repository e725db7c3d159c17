//! Keys of the triggers area (`trg`): the outbox and its indexes.

use super::Key;

/// One trigger (its id is the operation id).
pub fn trigger(id: &str) -> Key {
    Key::new("trg", &["t", id])
}

/// Every trigger id, oldest first.
pub fn trigger_index() -> Key {
    Key::new("trg", &["idx", "all"])
}

/// Ids of the triggers with work left (awaiting approval, pending, dispatching).
pub fn open_index() -> Key {
    Key::new("trg", &["idx", "open"])
}
