//! Keys of the webhooks and metrics area (`wh`: dedupe markers, batch records and
//! the registries the cleanup pass walks; `met`: counter records and campaign
//! rollups).
//!
//! Days are UTC day numbers (`unix_seconds.div_euclid(86_400)`), hours are bucket
//! starts in unix seconds.

use super::Key;

/// The dedupe marker of one event: present once the event's batch is stored;
/// its value is the key of that batch record. `scope` is the platform (or
/// `manual` plus the campaign for samples posted to the metrics API).
pub fn marker(scope: &str, dedupe_id: &str) -> Key {
    Key::new("wh", &["m", scope, dedupe_id])
}

/// A batch record: the deltas of one accepted batch, received on `day`.
pub fn batch(day: i64, id: &str) -> Key {
    Key::new("wh", &["b", &day.to_string(), id])
}

/// The day a [`batch`] key was made with (`None`: not a batch key).
pub fn batch_day(key: &str) -> Option<i64> {
    key.strip_prefix("wh:b:")?.split(':').next()?.parse().ok()
}

/// The counter records touched by batches received on `day` (an [`crate::IdSet`]).
pub fn day_registry(day: i64) -> Key {
    Key::new("wh", &["reg", &day.to_string()])
}

/// The days that still have a registry (an [`crate::IdSet`] of day numbers).
pub fn registered_days() -> Key {
    Key::new("wh", &["days"])
}

/// The counters of one campaign for one hour bucket (every channel, content item
/// and kind in one record).
pub fn campaign_hour(campaign_id: &str, hour_start: i64) -> Key {
    Key::new("met", &["c", campaign_id, &hour_start.to_string()])
}

/// A campaign's rollup: the counter record a batch's compare-and-swap writes
/// (running day and hour totals by kind and channel, plus the full cells of the
/// hours still open; see `opsflow_store::metrics` module docs).
pub fn campaign_rollup(campaign_id: &str) -> Key {
    Key::new("met", &["r", campaign_id])
}

/// Whether `key` is a [`campaign_rollup`] key (the registries list both kinds).
pub fn is_campaign_rollup(key: &str) -> bool {
    key.starts_with("met:r:")
}

/// A platform's unattributed and unknown-kind counts (and kept samples) for a day.
pub fn platform_day(platform: &str, day: i64) -> Key {
    Key::new("met", &["p", platform, &day.to_string()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_distinct_and_bounded() {
        assert_eq!(marker("sendgrid", "abc").as_str(), "wh:m:sendgrid:abc");
        assert!(
            marker("manual", "c1:x=y")
                .as_str()
                .starts_with("wh:m:manual:h-")
        );
        assert_eq!(batch(19_700, "01J").as_str(), "wh:b:19700:01J");
        assert_eq!(campaign_hour("c1", 3_600).as_str(), "met:c:c1:3600");
        assert_eq!(platform_day("hubspot", -1).as_str(), "met:p:hubspot:-1");
        assert_eq!(campaign_rollup("c1").as_str(), "met:r:c1");
        assert!(is_campaign_rollup(
            campaign_rollup(&"x".repeat(200)).as_str()
        ));
        assert!(marker("sendgrid", &"x".repeat(200)).as_str().len() < 64);
    }
}
