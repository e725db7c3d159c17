//! Triggers a run fires: one per fired or repeated episode, its id derived from
//! the run's `now` and an operation id (rule, scope, episode, repeat). No other run
//! has this run's `now`, so a trigger stored under the very same id was written by
//! this run before a crash (its chunk redone): it is not written again — it may
//! have been dispatched since — and still counts as this run's.
//!
//! What a chunk costs does not grow with the history: one `get_many` of the
//! chunk's own trigger ids (which of them are stored), one `set_many` of the new
//! records together with the chunk's audit entries, and one compare-and-swap on
//! the last shard of each trigger index ([`opsflow_store::triggers`]), whose
//! directories were read with the chunk's alert records.

use std::collections::BTreeSet;

use opsflow_api::{Problem, ids};
use opsflow_domain::monitoring::{Observation, Rule, Trigger, operation_id};
use opsflow_store::keys::triggers as tkeys;
use opsflow_store::sharded::Directory;
use opsflow_store::{Kv, Records, encode_record};

use super::evaluate::Tally;

pub(super) fn trigger(
    tally: &Tally<'_>,
    rule: &Rule,
    o: &Observation,
    episode: u64,
    repeat: u32,
) -> Trigger {
    let op = operation_id(&rule.id, &o.scope_key, episode, repeat);
    let millis = u64::try_from(tally.now)
        .unwrap_or_default()
        .saturating_mul(1_000);
    let id = ids::id_from(millis, op);
    Trigger::new(
        id,
        rule,
        o,
        episode,
        repeat,
        tally.requested_by,
        tally.run_id,
        tally.now,
    )
}

/// The directories of the two trigger indexes, as read with a chunk's alert
/// records.
pub(super) struct IndexHeads {
    pub(super) open: Directory,
    pub(super) all: Directory,
}

/// Keys to read with the alert records so [`IndexHeads`] cost no call of their own.
pub(super) fn head_keys(tally: &Tally<'_>) -> Vec<String> {
    let mut keys = opsflow_store::triggers::open(tally.kv).head_keys();
    keys.extend(opsflow_store::triggers::all(tally.kv).head_keys());
    keys
}

/// The heads from the answer of a `get_many` that asked for [`head_keys`].
pub(super) async fn heads(
    tally: &Tally<'_>,
    found: &std::collections::BTreeMap<String, Vec<u8>>,
) -> Result<IndexHeads, Problem> {
    Ok(IndexHeads {
        open: opsflow_store::triggers::open(tally.kv)
            .directory_in(found)
            .await?,
        all: opsflow_store::triggers::all(tally.kv)
            .directory_in(found)
            .await?,
    })
}

/// Writes the triggers not stored yet, with `extra` (the chunk's audit entries)
/// in the same `set_many`, and indexes them; returns the ids that are this run's
/// (every one of `triggers`: written now, or by this run before a crash).
///
/// Write order: the trigger records (never over one already stored), the open
/// index, then the index of all. A crash anywhere in between is redone by the
/// next request whole; an id put in the open index twice is harmless (dispatch
/// drops closed ones from it).
pub(super) async fn write_triggers(
    tally: &Tally<'_>,
    heads: IndexHeads,
    triggers: &[Trigger],
    extra: Vec<(String, Vec<u8>)>,
) -> Result<BTreeSet<String>, Problem> {
    let kv = tally.kv;
    let mut pairs = extra;
    if !triggers.is_empty() {
        let keys: Vec<_> = triggers.iter().map(|t| tkeys::trigger(&t.id)).collect();
        let mut stored: BTreeSet<String> = BTreeSet::new();
        stored.extend(
            Records::new(kv)
                .get_many::<Trigger>(&keys)
                .await?
                .into_iter()
                .map(|v| v.value.id),
        );
        for t in triggers.iter().filter(|t| !stored.contains(&t.id)) {
            pairs.push((
                tkeys::trigger(&t.id).as_str().to_string(),
                encode_record(1, t)?,
            ));
        }
    }
    if !pairs.is_empty() {
        // Sorted keys: one transaction that takes its row locks in one order.
        opsflow_domain::sort::sort_by(&mut pairs, |a, b| a.0.cmp(&b.0));
        kv.set_many(&pairs).await?;
    }
    let mut ours: BTreeSet<String> = BTreeSet::new();
    ours.extend(triggers.iter().map(|t| t.id.clone()));
    opsflow_store::triggers::open(kv)
        .add_many(Some(heads.open), &ours)
        .await?;
    opsflow_store::triggers::all(kv)
        .add_many(Some(heads.all), &ours)
        .await?;
    Ok(ours)
}
