//! Keys of the content area (`cnt`).

use super::Key;

/// A content item record.
pub fn item(id: &str) -> Key {
    Key::new("cnt", &["i", id])
}

/// The ids of every content item (an [`crate::IdSet`]).
pub fn item_index() -> Key {
    Key::new("cnt", &["idx", "all"])
}

/// The ids of the content items of one campaign (an [`crate::IdSet`]).
pub fn campaign_items(campaign_id: &str) -> Key {
    Key::new("cnt", &["idx", "c", campaign_id])
}

/// The brand standard (one versioned record; absent = the built-in default).
pub fn brand_standard() -> Key {
    Key::new("cnt", &["std"])
}

/// A channel's policy: its workflow, auto-approval and hourly send cap.
pub fn channel_policy(channel: &str) -> Key {
    Key::new("cnt", &["ch", channel])
}

/// A campaign's workflow override.
pub fn campaign_workflow(campaign_id: &str) -> Key {
    Key::new("cnt", &["wf", campaign_id])
}

/// Sends scheduled on `channel` in the hour starting at `hour` (unix seconds):
/// an atomic counter checked against the channel's hourly cap.
pub fn slot(channel: &str, hour: i64) -> Key {
    Key::new("cnt", &["slot", channel, &hour.to_string()])
}

/// The retention pass's register of the channels with slot counters ([`crate::Slots`]).
pub fn slot_channels() -> Key {
    Key::new("cnt", &["slot-channels"])
}

/// The scheduled sends of `channel` on one UTC day (`YYYY-MM-DD`).
pub fn calendar_day(channel: &str, day: &str) -> Key {
    Key::new("cnt", &["cal", channel, day])
}

/// A user's calendar feed: the SHA-256 of its URL's secret and the channels it
/// shows (`sub` is the user id of the token that made it).
pub fn calendar_feed_owner(sub: &str) -> Key {
    Key::new("cnt", &["feed", "u", sub])
}

/// A calendar feed found by the SHA-256 (lowercase hex) of its URL's secret: whose
/// it is. Only the digest is stored, as with API tokens.
pub fn calendar_feed_secret(secret_hash: &str) -> Key {
    Key::new("cnt", &["feed", "s", secret_hash])
}
