//! Alert states, one record per owner (a campaign, or the resource pool): read a
//! chunk's records (with the trigger indexes' directories), step each (rule, scope)
//! with its observation, write the new triggers and the audit entries (one
//! `set_many`, after one increment per audited owner for the entries' numbers),
//! index the triggers, then write the alert records.
//!
//! An automatic trigger's `alert.fired` entry is not among them: trigger-dispatch
//! writes it with the trigger's first attempt (numbered by that attempt's
//! increment, dated when the alert fired; `Trigger::fired_entry_pending`), so a
//! run where a thousand campaigns fire takes no audit number per campaign. An
//! entry of a trigger awaiting approval, and `alert.resolved`, are written here.
//!
//! Exactly once per run: each alert record carries the mark of the run that last
//! stepped it ([`RunMark`]: the run id and what stepping it counted), written with
//! the new states in the same value. A record whose alerts only saw (about) the same
//! value again is not rewritten (most of a quiet tick's writes; [`worth_writing`]):
//! stepping it again is idempotent, so it needs no mark. A chunk redone after a crash (its cursor was
//! not committed) finds the owners it already stepped marked: it counts them from
//! the mark and does not step them again, so hysteresis counts never double.
//! A crash after the triggers but before the alert records re-steps the same
//! episode, whose trigger id (the run's `now` and the operation id) is recognised
//! and not written again; a crash after the audit entries but before the alert
//! records may repeat an entry (same episode), never lose one.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use opsflow_api::Problem;
use opsflow_domain::monitoring::{
    Alert, AlertEvent, AlertState, Observation, Rule, RunCounts, Trigger, alert_entry_detail, step,
};
use opsflow_store::keys::monitoring as keys;
use opsflow_store::monitoring::{AlertDoc, RunMark};
use opsflow_store::{AuditLog, Kv, StoreError};

use super::BATCH;
use super::evaluate::Tally;
use super::triggers::{IndexHeads, head_keys, heads, trigger, write_triggers};

pub(super) use opsflow_store::monitoring::RESOURCES_OWNER;

fn owner_of(o: &Observation) -> String {
    o.campaign_id
        .clone()
        .unwrap_or_else(|| RESOURCES_OWNER.to_string())
}

/// What stepping a chunk's alerts produced: per owner's record key, the counts;
/// triggers to write (with their owner's key) and audit entries (owner, action,
/// detail) to append.
#[derive(Default)]
struct Stepped {
    counts: BTreeMap<String, RunCounts>,
    /// Owners (record keys) with an alert that must be written (see [`worth_writing`]).
    changed: BTreeSet<String>,
    triggers: Vec<(String, Trigger)>,
    audits: Vec<(String, &'static str, serde_json::Value)>,
}

/// Steps the alerts of `owners` with `observations` and stores the outcome; owners
/// this run stepped already are counted from their mark instead.
pub(super) async fn apply(
    tally: &mut Tally<'_>,
    owners: &[String],
    observations: Vec<(&Rule, Observation)>,
) -> Result<(), Problem> {
    let (mut docs, heads) = load_docs(tally, owners).await?;
    let mut counts = RunCounts::default();
    let mut done: BTreeSet<String> = BTreeSet::new();
    for (key, doc) in &docs {
        if let Some(mark) = doc.run.as_ref().filter(|m| m.run_id == tally.run_id) {
            counts.add(&mark.counts);
            done.insert(key.clone());
        }
    }
    docs.retain(|k, _| !done.contains(k));
    let fresh: Vec<(&Rule, Observation)> = observations
        .into_iter()
        .filter(|(_, o)| !done.contains(keys::alerts(&owner_of(o)).as_str()))
        .collect();
    let mut stepped = step_all(tally, &mut docs, &fresh);
    let ours = if stepped.triggers.is_empty() && stepped.audits.is_empty() {
        BTreeSet::new()
    } else {
        let all: Vec<Trigger> = stepped.triggers.iter().map(|(_, t)| t.clone()).collect();
        let audits = audit_entries(tally, std::mem::take(&mut stepped.audits)).await?;
        write_triggers(tally, heads, &all, audits).await?
    };
    for (key, t) in &stepped.triggers {
        if ours.contains(&t.id) {
            stepped
                .counts
                .entry(key.clone())
                .or_default()
                .triggers
                .push(t.id.clone());
        }
    }
    for (key, doc) in docs.iter_mut() {
        let mine = stepped.counts.remove(key).unwrap_or_default();
        counts.add(&mine);
        doc.run = Some(RunMark {
            run_id: tally.run_id.to_string(),
            counts: mine,
        });
    }
    store_docs(tally, docs, &stepped.changed).await?;
    tally.record.counts.add(&counts);
    Ok(())
}

/// The alert records of `owners`, by key (an owner with none yet is absent), and
/// the trigger indexes' directories, read in the first `get_many`.
async fn load_docs(
    tally: &Tally<'_>,
    owners: &[String],
) -> Result<(HashMap<String, AlertDoc>, IndexHeads), Problem> {
    let keys: Vec<String> = owners
        .iter()
        .map(|o| keys::alerts(o).as_str().to_string())
        .collect();
    let heads_keys = head_keys(tally);
    let mut docs = HashMap::new();
    let mut found_heads = BTreeMap::new();
    let mut chunks: Vec<Vec<String>> = keys.chunks(BATCH).map(<[String]>::to_vec).collect();
    match chunks.first_mut() {
        Some(first) => first.extend(heads_keys.iter().cloned()),
        None => chunks.push(heads_keys.clone()),
    }
    for chunk in &chunks {
        for (k, v) in tally.kv.get_many(chunk).await? {
            if heads_keys.contains(&k) {
                found_heads.insert(k, v);
                continue;
            }
            let doc: AlertDoc = serde_json::from_slice(&v)
                .map_err(|e| Problem::from(StoreError::Corrupt(format!("{k}: {e}"))))?;
            docs.insert(k, doc);
        }
    }
    Ok((docs, heads(tally, &found_heads).await?))
}

/// Steps every observed (rule, scope) and counts the outcome per owner.
fn step_all(
    tally: &Tally<'_>,
    docs: &mut HashMap<String, AlertDoc>,
    observations: &[(&Rule, Observation)],
) -> Stepped {
    let now = tally.now;
    let mut out = Stepped::default();
    for (rule, o) in observations {
        let owner = owner_of(o);
        let key = keys::alerts(&owner).as_str().to_string();
        let doc = docs.entry(key.clone()).or_default();
        let slot = format!("{}|{}", rule.id, o.scope_key);
        let current = doc.alerts.get(&slot).cloned().unwrap_or_else(|| Alert {
            rule_id: rule.id.clone(),
            scope: o.scope_key.clone(),
            since: now,
            ..Alert::default()
        });
        let (next, event) = step(&current, rule, o.value, now);
        if !doc.alerts.contains_key(&slot) || worth_writing(&current, &next) {
            out.changed.insert(key.clone());
        }
        let counts = out.counts.entry(key.clone()).or_default();
        count_state(counts, next.state);
        match event {
            Some(AlertEvent::Fired { episode }) => {
                counts.fired += 1;
                let t = trigger(tally, rule, o, episode, 0);
                // An automatic trigger's entry is dispatch's to write, with its
                // first attempt's; one awaiting approval is announced now.
                if !t.fired_entry_pending {
                    out.audits
                        .push((owner, "alert.fired", alert_detail(rule, o, episode)));
                }
                out.triggers.push((key, t));
            }
            Some(AlertEvent::Repeated { episode, repeat }) => {
                counts.repeated += 1;
                out.triggers
                    .push((key, trigger(tally, rule, o, episode, repeat)));
            }
            Some(AlertEvent::Resolved { episode, no_data }) => {
                counts.resolved += 1;
                let mut d = alert_detail(rule, o, episode);
                d["no_data"] = serde_json::json!(no_data);
                out.audits.push((owner, "alert.resolved", d));
            }
            None => {}
        }
        doc.alerts.insert(slot, next);
    }
    out
}

/// How stale a stored alert's `evaluated_at` and `value` may get before its
/// record is written anyway.
const REFRESH_SECS: i64 = 15 * 60;

/// Whether stepping `before` into `after` changed what must be stored: its state
/// machine (state, counters, episode times), or its value by more than shows (a
/// pace moves a little every minute; 3 significant digits are shown), or the
/// time it was evaluated is due a refresh. Otherwise the record is left as it is:
/// the state machine does not read the stored value, so stepping it again at the
/// same `now` gives the same result, and a redone chunk needs no run mark for it.
fn worth_writing(before: &Alert, after: &Alert) -> bool {
    // Exhaustive: a new field must be placed on one side or the other.
    let Alert {
        rule_id,
        scope,
        state,
        since,
        breaches,
        episode,
        fired_at,
        resolved_at,
        last_breach_at,
        last_notified_at,
        repeats,
        evaluated_at,
        value,
    } = after;
    let machine_changed = *rule_id != before.rule_id
        || *scope != before.scope
        || *state != before.state
        || *since != before.since
        || *breaches != before.breaches
        || *episode != before.episode
        || *fired_at != before.fired_at
        || *resolved_at != before.resolved_at
        || *last_breach_at != before.last_breach_at
        || *last_notified_at != before.last_notified_at
        || *repeats != before.repeats;
    let value_moved = match (before.value, *value) {
        (Some(a), Some(b)) => (a - b).abs() > 5e-4 * a.abs().max(b.abs()),
        (a, b) => a.is_some() != b.is_some(),
    };
    machine_changed || value_moved || *evaluated_at - before.evaluated_at >= REFRESH_SECS
}

fn count_state(counts: &mut RunCounts, state: AlertState) {
    counts.scopes += 1;
    match state {
        AlertState::NoData => counts.no_data += 1,
        AlertState::Pending => counts.pending += 1,
        AlertState::Firing => counts.firing += 1,
        _ => {}
    }
}

/// Writes back the alert records with a change (`changed`, or alerts of deleted
/// rules to drop); the others keep their stored value, mark included.
async fn store_docs(
    tally: &Tally<'_>,
    docs: HashMap<String, AlertDoc>,
    changed: &BTreeSet<String>,
) -> Result<(), Problem> {
    let mut pairs: Vec<(String, Vec<u8>)> = Vec::new();
    for (k, mut doc) in docs {
        let before = doc.alerts.len();
        doc.alerts
            .retain(|_, a| tally.rule_ids.contains(&a.rule_id));
        if !changed.contains(&k) && doc.alerts.len() == before {
            continue;
        }
        let bytes = serde_json::to_vec(&doc).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        pairs.push((k, bytes));
    }
    opsflow_domain::sort::sort(&mut pairs);
    for chunk in pairs.chunks(BATCH) {
        tally.kv.set_many(chunk).await?;
    }
    Ok(())
}

/// What fired and resolved, as entries of each campaign's audit log (the resource
/// pool has none): one increment per campaign takes their numbers; the caller
/// stores the returned pairs with the triggers.
async fn audit_entries(
    tally: &Tally<'_>,
    audits: Vec<(String, &'static str, serde_json::Value)>,
) -> Result<Vec<(String, Vec<u8>)>, Problem> {
    let at = rfc3339(tally.now);
    let actor = format!("system:threshold-check ({})", tally.requested_by);
    let mut by_owner: BTreeMap<String, Vec<(String, String, serde_json::Value)>> = BTreeMap::new();
    for (owner, action, detail) in audits {
        if owner != RESOURCES_OWNER {
            by_owner
                .entry(owner)
                .or_default()
                .push((actor.clone(), action.to_string(), detail));
        }
    }
    let mut pairs = Vec::new();
    for (owner, entries) in by_owner {
        let (_, mine) = AuditLog::new(tally.kv, "campaign", &owner)
            .prepare_many(&at, &entries)
            .await?;
        pairs.extend(mine);
    }
    Ok(pairs)
}

fn alert_detail(rule: &Rule, o: &Observation, episode: u64) -> serde_json::Value {
    let mut d = alert_entry_detail(
        (&rule.id, &rule.name),
        &o.scope_key,
        o.value,
        rule.fire_threshold,
        episode,
    );
    d["clear_threshold"] = serde_json::json!(rule.clear_threshold);
    d
}

fn rfc3339(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.to_rfc3339())
        .unwrap_or_default()
}
