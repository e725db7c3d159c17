//! Triggers a run fires: one per fired or repeated episode, its id derived from
//! the run's `now` and an operation id (rule, scope, episode, repeat), so the same
//! episode seen again by a retried run is recognised and not written twice.

use std::collections::BTreeSet;

use opsflow_api::{Problem, ids};
use opsflow_domain::monitoring::{Observation, Rule, Trigger, operation_id};
use opsflow_store::keys::triggers as tkeys;
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

pub(super) async fn write_triggers(
    tally: &mut Tally<'_>,
    triggers: Vec<Trigger>,
) -> Result<(), Problem> {
    let kv = tally.kv;
    let records = Records::new(kv);
    if tally.known_ops.is_none() {
        let all = records
            .get::<BTreeSet<String>>(&tkeys::trigger_index())
            .await?
            .map(|v| v.value)
            .unwrap_or_default();
        tally.known_ops = Some(all.iter().map(|id| op_suffix(id).to_string()).collect());
    }
    let known = tally.known_ops.get_or_insert_with(BTreeSet::new);
    let fresh: Vec<Trigger> = triggers
        .into_iter()
        .filter(|t| !known.contains(op_suffix(&t.id)))
        .collect();
    if fresh.is_empty() {
        return Ok(());
    }
    let pairs: Vec<(String, Vec<u8>)> = fresh
        .iter()
        .map(|t| encode_record(1, t).map(|b| (tkeys::trigger(&t.id).as_str().to_string(), b)))
        .collect::<Result<_, _>>()?;
    kv.set_many(&pairs).await?;
    let ids: Vec<String> = fresh.iter().map(|t| t.id.clone()).collect();
    for key in [tkeys::trigger_index(), tkeys::open_index()] {
        records
            .upsert(&key, |mut v: Versioned<BTreeSet<String>>| {
                v.value.extend(ids.iter().cloned());
                Ok::<_, std::convert::Infallible>(v.value)
            })
            .await
            .map_err(flatten)?;
    }
    for id in &ids {
        known.insert(op_suffix(id).to_string());
    }
    tally.record.triggers.extend(ids);
    Ok(())
}
