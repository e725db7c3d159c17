//! Keys of the process analytics area (`ana`).
//!
//! | key | value |
//! |---|---|
//! | `ana:w:<iso week>:<shard>` | the samples of one ISO week (e.g. `2026-W48`) whose campaign (or trigger) hashes to the shard: `Versioned<Vec<opsflow_domain::analytics::Sample>>` |
//! | `ana:backfill` | the backfill's cursor: the last campaign it read, and whether it finished |

use super::Key;

/// One shard of one week's samples.
pub fn week_shard(week: &str, shard: u32) -> Key {
    Key::new("ana", &["w", week, &shard.to_string()])
}

/// The backfill's progress.
pub fn backfill() -> Key {
    Key::new("ana", &["backfill"])
}
