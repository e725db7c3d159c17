//! Keys of the monitoring area (`mon`): rules, alert state, the run schedule, runs.

use super::Key;

/// A monitoring rule.
pub fn rule(id: &str) -> Key {
    Key::new("mon", &["r", id])
}

/// The ids of every rule (an [`crate::IdSet`]); its absence means the defaults
/// were never installed.
pub fn rule_index() -> Key {
    Key::new("mon", &["idx", "rules"])
}

/// Alert states of one scope owner (a campaign id, or `_resources`): one record
/// holding every (rule, scope) of it, so a run reads and writes one value per campaign.
pub fn alerts(owner: &str) -> Key {
    Key::new("mon", &["a", owner])
}

/// The run schedule: last evaluation per category and the claim (compare-and-swap).
pub fn schedule() -> Key {
    Key::new("mon", &["sched"])
}

/// One evaluation run.
pub fn run(id: &str) -> Key {
    Key::new("mon", &["run", id])
}

/// The ids of the recent runs (an id set in shards; older runs are pruned by the
/// retention pass).
pub fn run_index() -> Key {
    Key::new("mon", &["idx", "runs"])
}

/// How far the retention pass has pruned the run history.
pub fn run_prune_cursor() -> Key {
    Key::new("mon", &["runs-pruned"])
}
