//! Triggers a run fires: one per fired or repeated episode, its id derived from
//! the run's `now` and an operation id (rule, scope, episode, repeat), so the same
//! episode seen again by a retried run is recognised and not written twice. A
//! trigger already stored under the very same id was written by this run (no other
//! run has its `now`) before a crash: it is not written again, and still counts as
//! this run's.

use std::collections::BTreeSet;

use opsflow_api::{Problem, ids};
use opsflow_domain::monitoring::{Observation, Rule, Trigger, operation_id};
use opsflow_store::keys::triggers as tkeys;
use opsflow_store::spin::SpinKv;
use opsflow_store::{Kv, Records, Versioned, encode_record};

use super::evaluate::Tally;
use super::flatten;

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

/// The operation part of a trigger id (its last 16 characters).
fn op_suffix(id: &str) -> &str {
    id.get(10..).unwrap_or(id)
}

/// Writes the triggers whose operation is new and indexes them; returns the ids
/// that are this run's (written now, or by this run before a crash).
///
/// Write order: the trigger records (never over one already stored: it may have
/// been dispatched since), the open index, then the index of all triggers, which
/// is what marks them known. A crash anywhere in between is redone by the next
/// request whole; an id put in the open index twice is harmless (dispatch drops
/// closed ones from it).
pub(super) async fn write_triggers(
    tally: &mut Tally<'_>,
    triggers: Vec<Trigger>,
) -> Result<BTreeSet<String>, Problem> {
    let kv = tally.kv;
    let records = Records::new(kv);
    if tally.known.is_none() {
        let all = records
            .get::<BTreeSet<String>>(&tkeys::trigger_index())
            .await?
            .map(|v| v.value)
            .unwrap_or_default();
        let ops = all.iter().map(|id| op_suffix(id).to_string()).collect();
        tally.known = Some((all, ops));
    }
    let (known_ids, known_ops) = tally
        .known
        .get_or_insert_with(|| (BTreeSet::new(), BTreeSet::new()));
    // Indexed under this very id: this run wrote it before a crash.
    let rewritten: Vec<String> = triggers
        .iter()
        .filter(|t| known_ids.contains(&t.id))
        .map(|t| t.id.clone())
        .collect();
    let fresh: Vec<Trigger> = triggers
        .into_iter()
        .filter(|t| !known_ops.contains(op_suffix(&t.id)))
        .collect();
    if fresh.is_empty() && rewritten.is_empty() {
        return Ok(BTreeSet::new());
    }
    if !fresh.is_empty() {
        let keys: Vec<_> = fresh.iter().map(|t| tkeys::trigger(&t.id)).collect();
        let stored: BTreeSet<String> = records
            .get_many::<Trigger>(&keys)
            .await?
            .into_iter()
            .map(|v| v.value.id)
            .collect();
        let pairs: Vec<(String, Vec<u8>)> = fresh
            .iter()
            .filter(|t| !stored.contains(&t.id))
            .map(|t| encode_record(1, t).map(|b| (tkeys::trigger(&t.id).as_str().to_string(), b)))
            .collect::<Result<_, _>>()?;
        if !pairs.is_empty() {
            kv.set_many(&pairs).await?;
        }
    }
    let ids: Vec<String> = fresh.iter().map(|t| t.id.clone()).collect();
    let ours: BTreeSet<String> = ids.iter().chain(&rewritten).cloned().collect();
    add_to_index(&records, tkeys::open_index(), &ours).await?;
    if !ids.is_empty() {
        add_to_index(&records, tkeys::trigger_index(), &ids).await?;
    }
    let (known_ids, known_ops) = tally
        .known
        .get_or_insert_with(|| (BTreeSet::new(), BTreeSet::new()));
    for id in ids {
        known_ops.insert(op_suffix(&id).to_string());
        known_ids.insert(id);
    }
    Ok(ours)
}

async fn add_to_index<'i>(
    records: &Records<'_, SpinKv>,
    key: opsflow_store::keys::Key,
    ids: impl IntoIterator<Item = &'i String> + Clone,
) -> Result<(), Problem> {
    records
        .upsert(&key, |mut v: Versioned<BTreeSet<String>>| {
            v.value.extend(ids.clone().into_iter().cloned());
            Ok::<_, std::convert::Infallible>(v.value)
        })
        .await
        .map(|_| ())
        .map_err(flatten)
}
