//! Evaluation runs: claim → load rules → evaluate due categories in batches of
//! campaigns → step alert states → write triggers, then alerts → finish the claim
//! and record the run.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use opsflow_api::{ApiRequest, ApiResponse, Principal, Problem, ids, paging};
use opsflow_domain::campaign::{Campaign, PlanningBook, Resource};
use opsflow_domain::monitoring::metric::{self, Totals, Window, peak_utilization, watches};
use opsflow_domain::monitoring::{
    Alert, AlertEvent, AlertState, Category, Claim, ClaimRefusal, Metric, Observation, Rule,
    Schedule, Trigger, operation_id, step,
};
use opsflow_store::keys::{campaigns as ckeys, monitoring as keys, triggers as tkeys};
use opsflow_store::metrics::TotalsQuery;
use opsflow_store::spin::SpinKv;
use opsflow_store::{AuditLog, Index, Kv, Records, StoreError, UpdateError, Versioned};
use serde::{Deserialize, Serialize};

/// Campaigns per batch: one `get_many` of campaigns, the metric reads of all of
/// them together, one `get_many` and one `set_many` of alert records.
const BATCH: usize = 250;
/// Runs kept in the history.
const KEEP_RUNS: usize = 1_000;
/// The alert record of the resource pool.
const RESOURCES_OWNER: &str = "_resources";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RunInput {
    now: serde_json::Value,
}

/// One recorded run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunRecord {
    id: String,
    now: i64,
    requested_by: String,
    started_at: String,
    finished_at: String,
    duration_ms: i64,
    categories: Vec<Category>,
    rules: usize,
    campaigns: usize,
    scopes: usize,
    fired: usize,
    repeated: usize,
    resolved: usize,
    no_data: usize,
    pending: usize,
    firing: usize,
    triggers: Vec<String>,
    took_over: Option<String>,
}

/// Every alert of one owner (a campaign, or the resource pool), by `rule|scope`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct AlertDoc {
    alerts: BTreeMap<String, Alert>,
}

pub async fn run(req: &ApiRequest, who: &Principal) -> Result<ApiResponse, Problem> {
    let input: RunInput = req.json()?;
    let now = opsflow_api::time::unix_seconds(&input.now, "now")?;
    let kv = SpinKv::default_store();
    let started = chrono::Utc::now();
    let run_id = ids::new_id();
    let claim = match claim(&kv, &run_id, now).await? {
        Ok(c) => c,
        Err(refusal) => return Err(refused(refusal)),
    };
    match evaluate(&kv, &claim, &who.sub, now).await {
        Ok(mut record) => {
            let records = Records::new(&kv);
            records
                .upsert(&keys::schedule(), |v: Versioned<Schedule>| {
                    Ok::<_, std::convert::Infallible>(v.value.finish(&claim))
                })
                .await
                .map_err(flatten)?;
            let finished = chrono::Utc::now();
            record.started_at = started.to_rfc3339();
            record.finished_at = finished.to_rfc3339();
            record.duration_ms = (finished - started).num_milliseconds();
            save_run(&kv, &record).await?;
            Ok(ApiResponse::json(200, &record))
        }
        Err(e) => {
            let _ = Records::new(&kv)
                .upsert(&keys::schedule(), |v: Versioned<Schedule>| {
                    Ok::<_, std::convert::Infallible>(v.value.release(&claim))
                })
                .await;
            Err(e)
        }
    }
}

fn flatten(e: UpdateError<std::convert::Infallible>) -> Problem {
    match e {
        UpdateError::Store(s) => s.into(),
        UpdateError::NotFound => Problem::from(StoreError::Corrupt("schedule vanished".into())),
        UpdateError::Refused(never) => match never {},
    }
}

fn refused(r: ClaimRefusal) -> Problem {
    let detail = r.to_string();
    let (slug, extra) = match &r {
        ClaimRefusal::AlreadyClaimed { now, last_now } => (
            "run-already-claimed",
            serde_json::json!({"now": now, "last_now": last_now}),
        ),
        ClaimRefusal::InProgress {
            run_id,
            lease_until,
        } => (
            "run-in-progress",
            serde_json::json!({"run_id": run_id, "lease_until": lease_until}),
        ),
    };
    let mut p = Problem::conflict(slug, detail);
    if let serde_json::Value::Object(m) = extra {
        for (k, v) in m {
            p = p.with(&k, v);
        }
    }
    p
}

/// Claims the run with compare-and-swap on the schedule record.
async fn claim(
    kv: &SpinKv,
    run_id: &str,
    now: i64,
) -> Result<Result<Claim, ClaimRefusal>, Problem> {
    let wall = crate::wall_secs();
    let mut granted = None;
    let result = Records::new(kv)
        .upsert(&keys::schedule(), |v: Versioned<Schedule>| {
            let (next, c) = v.value.claim(run_id, now, wall)?;
            granted = Some(c);
            Ok(next)
        })
        .await;
    match result {
        Ok(_) => granted
            .map(Ok)
            .ok_or_else(|| Problem::from(StoreError::Corrupt("claim lost".into()))),
        Err(UpdateError::Refused(r)) => Ok(Err(r)),
        Err(UpdateError::Store(e)) => Err(e.into()),
        Err(UpdateError::NotFound) => Err(StoreError::Corrupt("schedule vanished".into()).into()),
    }
}

/// What one run produced so far.
struct Tally<'a> {
    kv: &'a SpinKv,
    run_id: &'a str,
    requested_by: &'a str,
    now: i64,
    record: RunRecord,
    /// Suffixes (the operation part) of every known trigger id, read once.
    known_ops: Option<BTreeSet<String>>,
    rule_ids: BTreeSet<String>,
}

async fn evaluate(
    kv: &SpinKv,
    claim: &Claim,
    requested_by: &str,
    now: i64,
) -> Result<RunRecord, Problem> {
    let rules: Vec<Rule> = crate::rules::load_rules(kv, now)
        .await?
        .into_iter()
        .map(|v| v.value)
        .collect();
    let due: Vec<&Rule> = rules
        .iter()
        .filter(|r| r.enabled && claim.categories.contains(&r.category))
        .collect();
    let mut tally = Tally {
        kv,
        run_id: &claim.run_id,
        requested_by,
        now,
        record: RunRecord {
            id: claim.run_id.clone(),
            now,
            requested_by: requested_by.to_string(),
            categories: claim.categories.clone(),
            rules: due.len(),
            took_over: claim.took_over.clone(),
            ..RunRecord::default()
        },
        known_ops: None,
        rule_ids: rules.iter().map(|r| r.id.clone()).collect(),
    };
    let campaign_rules: Vec<&Rule> = due
        .iter()
        .copied()
        .filter(|r| r.category != Category::ResourceUtilization)
        .collect();
    let resource_rules: Vec<&Rule> = due
        .iter()
        .copied()
        .filter(|r| r.category == Category::ResourceUtilization)
        .collect();
    if !campaign_rules.is_empty() {
        evaluate_campaigns(&mut tally, &campaign_rules).await?;
    }
    if !resource_rules.is_empty() {
        evaluate_resources(&mut tally, &resource_rules).await?;
    }
    Ok(tally.record)
}

async fn evaluate_campaigns(tally: &mut Tally<'_>, rules: &[&Rule]) -> Result<(), Problem> {
    let kv = tally.kv;
    let named: BTreeSet<&str> = rules
        .iter()
        .filter_map(|r| match &r.scope {
            opsflow_domain::monitoring::Scope::Campaign { campaign_id, .. } => {
                Some(campaign_id.as_str())
            }
            _ => None,
        })
        .collect();
    let any_live = rules
        .iter()
        .any(|r| !matches!(r.scope, opsflow_domain::monitoring::Scope::Campaign { .. }));
    let index = opsflow_store::campaigns::index(kv).await?;
    let ids: Vec<String> = index
        .into_iter()
        .filter(|(id, e)| {
            let live = matches!(
                e.stage.as_str(),
                "distribution" | "monitoring" | "optimization"
            );
            (any_live && live)
                || (named.contains(id.as_str())
                    && !matches!(e.stage.as_str(), "completed" | "cancelled"))
        })
        .map(|(id, _)| id)
        .collect();
    let records = Records::new(kv);
    for chunk in ids.chunks(BATCH) {
        let keys: Vec<_> = chunk.iter().map(|id| ckeys::campaign(id)).collect();
        let campaigns: Vec<Versioned<Campaign>> = records.get_many(&keys).await?;
        // Every window of every campaign of the batch, read together: one
        // `get_many` per READ_CHUNK hour records, not one per campaign and window.
        let mut wanted: Vec<BTreeSet<Window>> = Vec::with_capacity(campaigns.len());
        for c in &campaigns {
            let campaign = &c.value;
            let mut windows = BTreeSet::new();
            for rule in rules.iter().copied().filter(|r| watches(r, campaign)) {
                windows.extend(metric::required_windows(rule, campaign, tally.now));
            }
            wanted.push(windows);
        }
        let queries: Vec<TotalsQuery<'_>> = campaigns
            .iter()
            .zip(&wanted)
            .flat_map(|(c, windows)| {
                windows.iter().map(|w| TotalsQuery {
                    campaign_id: c.value.id(),
                    from: w.from,
                    to: w.to,
                    bucket_secs: w.bucket_secs,
                    channel: None,
                })
            })
            .collect();
        let mut totals = opsflow_store::metrics::totals_many(kv, &queries)
            .await?
            .into_iter();
        let mut observations: Vec<(&Rule, Observation)> = Vec::new();
        for (c, windows) in campaigns.iter().zip(wanted) {
            let campaign = &c.value;
            let mut read: BTreeMap<Window, Totals> = BTreeMap::new();
            for w in windows {
                if let Some(t) = totals.next() {
                    read.insert(
                        w,
                        Totals {
                            by_kind: t.by_kind,
                            by_channel: t.by_channel,
                        },
                    );
                }
            }
            for rule in rules.iter().copied().filter(|r| watches(r, campaign)) {
                for o in metric::evaluate(rule, campaign, &read, tally.now) {
                    observations.push((rule, o));
                }
            }
        }
        tally.record.campaigns += campaigns.len();
        let owners: Vec<String> = campaigns.iter().map(|c| c.value.id().to_string()).collect();
        apply(tally, &owners, observations).await?;
    }
    Ok(())
}

async fn evaluate_resources(tally: &mut Tally<'_>, rules: &[&Rule]) -> Result<(), Problem> {
    let kv = tally.kv;
    let records = Records::new(kv);
    let ids = Index::new(kv, ckeys::resource_index()).ids().await?;
    let mut resources: Vec<Resource> = Vec::new();
    for chunk in ids.chunks(BATCH) {
        let keys: Vec<_> = chunk.iter().map(|id| ckeys::resource(id)).collect();
        resources.extend(
            records
                .get_many::<Resource>(&keys)
                .await?
                .into_iter()
                .map(|v| v.value),
        );
    }
    let book = records
        .get::<PlanningBook>(&ckeys::allocations())
        .await?
        .map(|v| v.value)
        .unwrap_or_default();
    let today = chrono::DateTime::from_timestamp(tally.now, 0)
        .map(|t| t.date_naive())
        .unwrap_or_default();
    let observations: Vec<(&Rule, Observation)> = rules
        .iter()
        .copied()
        .filter_map(|r| match r.metric {
            Metric::Utilization { horizon_days } => Some((
                r,
                peak_utilization(&resources, &book.allocations, today, horizon_days),
            )),
            _ => None,
        })
        .collect();
    apply(tally, &[RESOURCES_OWNER.to_string()], observations).await
}

fn owner_of(o: &Observation) -> String {
    o.campaign_id
        .clone()
        .unwrap_or_else(|| RESOURCES_OWNER.to_string())
}

/// Steps the alerts of `owners` with `observations`; writes new triggers, then
/// the alert records (so a crash in between re-fires the same episode, which the
/// operation id recognises, rather than losing its trigger).
async fn apply(
    tally: &mut Tally<'_>,
    owners: &[String],
    observations: Vec<(&Rule, Observation)>,
) -> Result<(), Problem> {
    let kv = tally.kv;
    let now = tally.now;
    let keys: Vec<String> = owners
        .iter()
        .map(|o| keys::alerts(o).as_str().to_string())
        .collect();
    let mut docs: HashMap<String, AlertDoc> = HashMap::new();
    for chunk in keys.chunks(BATCH) {
        for (k, v) in kv.get_many(chunk).await? {
            let doc: AlertDoc = serde_json::from_slice(&v)
                .map_err(|e| Problem::from(StoreError::Corrupt(format!("{k}: {e}"))))?;
            docs.insert(k, doc);
        }
    }
    let mut new_triggers: Vec<Trigger> = Vec::new();
    let mut audits: Vec<(String, &'static str, serde_json::Value)> = Vec::new();
    for (rule, o) in &observations {
        let owner = owner_of(o);
        let doc = docs
            .entry(keys::alerts(&owner).as_str().to_string())
            .or_default();
        let slot = format!("{}|{}", rule.id, o.scope_key);
        let current = doc.alerts.get(&slot).cloned().unwrap_or_else(|| Alert {
            rule_id: rule.id.clone(),
            scope: o.scope_key.clone(),
            since: now,
            ..Alert::default()
        });
        let (next, event) = step(&current, rule, o.value, now);
        tally.record.scopes += 1;
        match next.state {
            AlertState::NoData => tally.record.no_data += 1,
            AlertState::Pending => tally.record.pending += 1,
            AlertState::Firing => tally.record.firing += 1,
            _ => {}
        }
        match event {
            Some(AlertEvent::Fired { episode }) => {
                tally.record.fired += 1;
                new_triggers.push(trigger(tally, rule, o, episode, 0));
                audits.push((owner.clone(), "alert.fired", alert_detail(rule, o, episode)));
            }
            Some(AlertEvent::Repeated { episode, repeat }) => {
                tally.record.repeated += 1;
                new_triggers.push(trigger(tally, rule, o, episode, repeat));
            }
            Some(AlertEvent::Resolved { episode, no_data }) => {
                tally.record.resolved += 1;
                let mut d = alert_detail(rule, o, episode);
                d["no_data"] = serde_json::json!(no_data);
                audits.push((owner.clone(), "alert.resolved", d));
            }
            None => {}
        }
        doc.alerts.insert(slot, next);
    }
    if !new_triggers.is_empty() {
        write_triggers(tally, new_triggers).await?;
    }
    // Alerts of deleted rules are dropped as their owner is rewritten.
    let rule_ids = &tally.rule_ids;
    let mut pairs: Vec<(String, Vec<u8>)> = Vec::new();
    for (k, mut doc) in docs {
        doc.alerts.retain(|_, a| rule_ids.contains(&a.rule_id));
        let bytes = serde_json::to_vec(&doc).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        pairs.push((k, bytes));
    }
    pairs.sort();
    for chunk in pairs.chunks(BATCH) {
        kv.set_many(chunk).await?;
    }
    let at = rfc3339(now);
    for (owner, action, detail) in audits {
        if owner != RESOURCES_OWNER {
            AuditLog::new(kv, "campaign", &owner)
                .append(
                    &at,
                    &format!("system:threshold-check ({})", tally.requested_by),
                    action,
                    detail,
                )
                .await?;
        }
    }
    Ok(())
}

fn alert_detail(rule: &Rule, o: &Observation, episode: u64) -> serde_json::Value {
    serde_json::json!({
        "rule_id": rule.id, "rule_name": rule.name, "scope": o.scope_key,
        "value": o.value, "fire_threshold": rule.fire_threshold,
        "clear_threshold": rule.clear_threshold, "episode": episode,
    })
}

fn rfc3339(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.to_rfc3339())
        .unwrap_or_default()
}

fn trigger(tally: &Tally<'_>, rule: &Rule, o: &Observation, episode: u64, repeat: u32) -> Trigger {
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

async fn write_triggers(tally: &mut Tally<'_>, triggers: Vec<Trigger>) -> Result<(), Problem> {
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
        .map(|t| {
            serde_json::to_vec(&Versioned {
                version: 1,
                value: t,
            })
            .map(|b| (tkeys::trigger(&t.id).as_str().to_string(), b))
            .map_err(|e| StoreError::Corrupt(e.to_string()))
        })
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

async fn save_run(kv: &SpinKv, record: &RunRecord) -> Result<(), Problem> {
    let records = Records::new(kv);
    records.create(&keys::run(&record.id), record).await?;
    let mut dropped: Vec<String> = Vec::new();
    records
        .upsert(&keys::run_index(), |mut v: Versioned<BTreeSet<String>>| {
            v.value.insert(record.id.clone());
            dropped.clear();
            while v.value.len() > KEEP_RUNS {
                if let Some(first) = v.value.pop_first() {
                    dropped.push(first);
                }
            }
            Ok::<_, std::convert::Infallible>(v.value)
        })
        .await
        .map_err(flatten)?;
    if !dropped.is_empty() {
        let keys: Vec<String> = dropped
            .iter()
            .map(|id| keys::run(id).as_str().to_string())
            .collect();
        kv.delete_many(&keys).await?;
    }
    Ok(())
}

pub async fn list(req: &ApiRequest) -> Result<ApiResponse, Problem> {
    let limit = paging::limit(req.query("limit"))?;
    let kv = SpinKv::default_store();
    let records = Records::new(&kv);
    // Newest first: the cursor is the last id returned; ids sort by time.
    let mut ids: Vec<String> = records
        .get::<BTreeSet<String>>(&keys::run_index())
        .await?
        .map(|v| v.value.into_iter().collect())
        .unwrap_or_default();
    ids.reverse();
    let cursor = req.query("cursor");
    let page_ids: Vec<String> = ids
        .into_iter()
        .filter(|id| cursor.is_none_or(|c| id.as_str() < c))
        .take(limit + 1)
        .collect();
    let more = page_ids.len() > limit;
    let page_ids = &page_ids[..page_ids.len().min(limit)];
    let keys: Vec<_> = page_ids.iter().map(|id| keys::run(id)).collect();
    let items: Vec<RunRecord> = records
        .get_many::<RunRecord>(&keys)
        .await?
        .into_iter()
        .map(|v| v.value)
        .collect();
    let next = if more { page_ids.last().cloned() } else { None };
    Ok(ApiResponse::json(
        200,
        &serde_json::json!({ "items": items, "next_cursor": next }),
    ))
}

pub async fn get(id: &str) -> Result<ApiResponse, Problem> {
    let kv = SpinKv::default_store();
    match Records::new(&kv).get::<RunRecord>(&keys::run(id)).await? {
        Some(v) => Ok(ApiResponse::json(200, &v.value)),
        None => Err(Problem::not_found(format!("no run {id}"))),
    }
}

/// `GET /api/evaluations/alerts?campaign_id=…` (or `?scope=resources`).
pub async fn alerts(req: &ApiRequest) -> Result<ApiResponse, Problem> {
    let owner = match (req.query("campaign_id"), req.query("scope")) {
        (Some(c), None) if !c.is_empty() => c.to_string(),
        (None, Some("resources")) => RESOURCES_OWNER.to_string(),
        _ => {
            return Err(Problem::bad_request(
                "pass campaign_id=<id> or scope=resources",
            ));
        }
    };
    let kv = SpinKv::default_store();
    let doc: AlertDoc = match kv.get(keys::alerts(&owner).as_str()).await? {
        Some(b) => serde_json::from_slice(&b)
            .map_err(|e| Problem::from(StoreError::Corrupt(e.to_string())))?,
        None => AlertDoc::default(),
    };
    let items: Vec<&Alert> = doc.alerts.values().collect();
    Ok(ApiResponse::json(
        200,
        &serde_json::json!({ "items": items }),
    ))
}
