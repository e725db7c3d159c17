//! The outbox: dispatch due triggers exactly once, list, approve, reject, replay.

use opsflow_api::{ApiResponse, Problem, paging};
use opsflow_domain::monitoring::{Trigger, TriggerStatus, TriggerTransitionError};
use opsflow_domain::validation::is_reference;
use opsflow_edge::Ctx;
use opsflow_store::keys::triggers as keys;
use opsflow_store::spin::SpinKv;
use opsflow_store::{AuditLog, Records, StoreError, UpdateError, Versioned};
use serde::Deserialize;

/// Most triggers one dispatch call attempts (the rest wait for the next call).
const MAX_PER_CALL: usize = 50;

/// Ids a list reads per step (one `get_many` of their records).
const SCAN_STEP: usize = 100;

/// Ids a list looks at before answering a short page with a cursor.
const MAX_SCAN: usize = 2_000;

/// Most index shards (2,000 ids each) one step of a list reads.
const PAGE_SHARDS: usize = 16;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DispatchInput {
    now: serde_json::Value,
}

pub(crate) fn rfc3339(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.to_rfc3339())
        .unwrap_or_default()
}

fn transition_problem(e: TriggerTransitionError) -> Problem {
    match e {
        TriggerTransitionError::OwnRequest(_) => Problem::forbidden(e.to_string()),
        TriggerTransitionError::WrongStatus { .. } => {
            Problem::conflict("trigger-state", e.to_string())
        }
        TriggerTransitionError::NotDue(_) => Problem::conflict("trigger-not-due", e.to_string()),
    }
}

/// Appends to the audit log of the trigger's campaign (or of the resource pool),
/// after the alert's `alert.fired` entry when `with_fired` (the first attempt of an
/// automatic trigger, see [`Trigger::fired_entry_pending`]): one increment numbers
/// both, dated when each happened.
pub(crate) async fn audit(
    kv: &SpinKv,
    t: &Trigger,
    at: i64,
    (actor, action): (&str, &str),
    detail: serde_json::Value,
    with_fired: bool,
) -> Result<(), StoreError> {
    let about = |mut detail: serde_json::Value| {
        if let serde_json::Value::Object(m) = &mut detail {
            m.insert("trigger_id".into(), serde_json::json!(t.id));
            m.insert("rule_id".into(), serde_json::json!(t.rule_id));
            m.insert("action_kind".into(), serde_json::json!(t.action.kind()));
        }
        detail
    };
    let log = match &t.campaign_id {
        Some(c) => AuditLog::new(kv, "campaign", c),
        None => AuditLog::new(kv, "resources", "pool"),
    };
    let evaluator = format!("system:threshold-check ({})", t.requested_by);
    let mut entries = Vec::with_capacity(2);
    if with_fired {
        entries.push((
            rfc3339(t.created_at),
            evaluator.as_str(),
            "alert.fired",
            about(t.fired_detail()),
        ));
    }
    entries.push((rfc3339(at), actor, action, about(detail)));
    log.append_timed(&entries).await?;
    // What happened to the trigger now, for process analytics, with its
    // "fired" sample: a run creates triggers by the thousand, and recording them
    // here, beside their first attempt or decision, keeps the run's writes to
    // its own records. Samples already stored are skipped, so this is one
    // compare-and-swap per week touched.
    let samples: Vec<_> = opsflow_domain::analytics::derive::trigger_samples(t)
        .into_iter()
        .filter(|s| s.at() == at || s.at() == t.created_at)
        .collect();
    if !samples.is_empty()
        && let Err(e) = opsflow_store::analytics::record(kv, samples).await
    {
        eprintln!("trigger {}: analytics sample not recorded: {e}", t.id);
    }
    Ok(())
}

/// Adds and removes ids in the open index (one compare-and-swap per shard touched).
async fn set_open(kv: &SpinKv, add: &[String], remove: &[String]) -> Result<(), Problem> {
    let open = opsflow_store::triggers::open(kv);
    if !remove.is_empty() {
        open.remove_many(&remove.iter().cloned().collect()).await?;
    }
    if !add.is_empty() {
        // Replayed ids, made earlier: they never open a shard (see `IdSet::add_back`).
        open.add_back(&add.iter().cloned().collect()).await?;
    }
    Ok(())
}

pub async fn dispatch(ctx: &Ctx) -> Result<ApiResponse, Problem> {
    let (req, kv) = (&ctx.req, &ctx.kv);
    let input: DispatchInput = req.json()?;
    let now = opsflow_api::time::unix_seconds(&input.now, "now")?;
    let records = Records::new(kv);
    // The open index holds only triggers with work left (the outbox's backlog,
    // not its history).
    let open: Vec<String> = opsflow_store::triggers::open(kv).ids().await?;
    let mut due: Vec<Versioned<Trigger>> = Vec::new();
    let mut closed: Vec<String> = Vec::new();
    for chunk in open.chunks(100) {
        let keys: Vec<_> = chunk.iter().map(|id| keys::trigger(id)).collect();
        let found: Vec<Versioned<Trigger>> = records.get_many(&keys).await?;
        for t in found {
            if !t.value.status.is_open() {
                closed.push(t.value.id.clone());
            } else if t.value.is_due(now) && due.len() < MAX_PER_CALL {
                due.push(t);
            }
        }
    }
    let mut results = Vec::new();
    let mut finished: Vec<String> = closed;
    for t in due {
        let Some(outcome) = attempt(kv, &t.value.id, now).await? else {
            continue; // another dispatcher holds it
        };
        if !outcome.status.is_open() {
            finished.push(outcome.id.clone());
        }
        results.push(serde_json::json!({
            "id": outcome.id, "status": outcome.status, "attempts": outcome.attempts,
            "next_attempt_at": outcome.next_attempt_at, "last_error": outcome.last_error,
        }));
    }
    set_open(kv, &[], &finished).await?;
    Ok(ApiResponse::json(
        200,
        &serde_json::json!({ "now": now, "attempted": results.len(), "items": results }),
    ))
}

/// One attempt: claim with compare-and-swap, act, record. `None` when another
/// dispatcher got there first or it is no longer due.
async fn attempt(kv: &SpinKv, id: &str, now: i64) -> Result<Option<Trigger>, Problem> {
    let records = Records::new(kv);
    let key = keys::trigger(id);
    // The claim: only the dispatcher whose compare-and-swap moves the trigger to
    // `dispatching` performs the attempt; a racing one re-reads it as not due.
    let begun = records
        .update(&key, |cur: Versioned<Trigger>| cur.value.begin(now))
        .await;
    let begun = match begun {
        Ok(v) => v.value,
        Err(UpdateError::Refused(_)) | Err(UpdateError::NotFound) => return Ok(None),
        Err(UpdateError::Store(e)) => return Err(e.into()),
    };
    let outcome = crate::actions::perform(kv, &begun, now).await;
    let attempt_no = begun.attempts;
    let done = records
        .update(&key, |cur: Versioned<Trigger>| {
            if cur.value.status == TriggerStatus::Dispatching && cur.value.attempts == attempt_no {
                Ok(cur.value.complete(now, now, outcome.clone()))
            } else {
                Err(())
            }
        })
        .await;
    let t = match done {
        Ok(v) => v.value,
        Err(UpdateError::Refused(())) | Err(UpdateError::NotFound) => return Ok(None),
        Err(UpdateError::Store(e)) => return Err(e.into()),
    };
    let (action, detail) = match t.status {
        TriggerStatus::Succeeded => (
            "trigger.executed",
            serde_json::json!({ "attempt": t.attempts, "result": t.result }),
        ),
        TriggerStatus::DeadLetter => (
            "trigger.dead_lettered",
            serde_json::json!({ "attempts": t.attempts, "error": t.last_error }),
        ),
        _ => (
            "trigger.attempt_failed",
            serde_json::json!({ "attempt": t.attempts, "error": t.last_error, "next_attempt_at": t.next_attempt_at }),
        ),
    };
    audit(
        kv,
        &t,
        now,
        ("system:trigger-dispatch", action),
        detail,
        begun.fired_entry_pending,
    )
    .await?;
    Ok(Some(t))
}

/// What an operations user does with a trigger.
pub enum TriggerDecision {
    Approve,
    Reject,
    Replay,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ReasonBody {
    reason: Option<String>,
}

pub async fn decide(ctx: &Ctx, decision: TriggerDecision) -> Result<ApiResponse, Problem> {
    let (req, id, who, kv) = (&ctx.req, ctx.id(), &ctx.who, &ctx.kv);
    let input: ReasonBody = if req.body.is_empty() {
        ReasonBody::default()
    } else {
        req.json()?
    };
    if input
        .reason
        .as_ref()
        .is_some_and(|r| r.chars().count() > 500)
    {
        return Err(Problem::validation(vec![opsflow_api::FieldError {
            field: "reason".into(),
            message: "must be at most 500 characters".into(),
        }]));
    }
    let now = chrono::Utc::now().timestamp();
    let sent = req.if_match()?;
    let result = Records::new(kv)
        .update(&keys::trigger(id), |cur: Versioned<Trigger>| {
            if let Some(v) = sent {
                opsflow_api::response::check_version(v, cur.version)?;
            }
            match decision {
                TriggerDecision::Approve => cur.value.approve(&who.sub, now),
                TriggerDecision::Reject => cur.value.reject(&who.sub, now, input.reason.clone()),
                TriggerDecision::Replay => cur.value.replay(now),
            }
            .map_err(transition_problem)
        })
        .await;
    let v = match result {
        Ok(v) => v,
        Err(UpdateError::NotFound) => return Err(Problem::not_found(format!("no trigger {id}"))),
        Err(UpdateError::Refused(p)) => return Err(p),
        Err(UpdateError::Store(e)) => return Err(e.into()),
    };
    let action = match decision {
        TriggerDecision::Approve => "trigger.approved",
        TriggerDecision::Reject => "trigger.rejected",
        TriggerDecision::Replay => "trigger.replayed",
    };
    match decision {
        TriggerDecision::Replay => set_open(kv, std::slice::from_ref(&v.value.id), &[]).await?,
        TriggerDecision::Reject => set_open(kv, &[], std::slice::from_ref(&v.value.id)).await?,
        TriggerDecision::Approve => {}
    }
    audit(
        kv,
        &v.value,
        now,
        (&who.sub, action),
        serde_json::json!({ "reason": input.reason }),
        false,
    )
    .await?;
    Ok(ApiResponse::json(200, &v.value).with_etag(v.version))
}

pub async fn get(ctx: &Ctx) -> Result<ApiResponse, Problem> {
    let (id, kv) = (ctx.id(), &ctx.kv);
    match Records::new(kv).get::<Trigger>(&keys::trigger(id)).await? {
        Some(v) => Ok(ApiResponse::json(200, &v.value).with_etag(v.version)),
        None => Err(Problem::not_found(format!("no trigger {id}"))),
    }
}

/// `GET /api/triggers?status=&campaign_id=&cursor=&limit=`, newest first.
pub async fn list(ctx: &Ctx) -> Result<ApiResponse, Problem> {
    let (req, kv) = (&ctx.req, &ctx.kv);
    let format = opsflow_api::csv::format(req)?;
    let limit = paging::limit(req.query("limit"))?;
    let status = match req.query("status") {
        None => None,
        Some(s) => Some(
            serde_json::from_value::<TriggerStatus>(serde_json::json!(s)).map_err(|_| {
                Problem::bad_request(
                    "status must be one of awaiting_approval, pending, dispatching, succeeded, dead_letter, rejected",
                )
            })?,
        ),
    };
    let campaign = req.query("campaign_id");
    if campaign.is_some_and(|c| !is_reference(c)) {
        return Err(Problem::bad_request(
            "campaign_id must be 1-64 of A-Z a-z 0-9 _ -",
        ));
    }
    let index = if status.is_some_and(|s| s.is_open()) {
        opsflow_store::triggers::open(kv)
    } else {
        opsflow_store::triggers::all(kv)
    };
    // An empty cursor is the first page, as on every other list.
    let mut before = req
        .query("cursor")
        .filter(|c| !c.is_empty())
        .map(str::to_string);
    let records = Records::new(kv);
    let mut items: Vec<Trigger> = Vec::new();
    let mut scanned = 0;
    // Ids newest first, a read of records per 100; a filter that matches little
    // stops after MAX_SCAN ids with a short page and the cursor to go on from.
    let next = loop {
        let (ids, more) = index
            .newest_first(before.as_deref(), SCAN_STEP, PAGE_SHARDS)
            .await?;
        scanned += ids.len();
        let keys: Vec<_> = ids.iter().map(|id| keys::trigger(id)).collect();
        let mut overflow = false;
        for t in records.get_many::<Trigger>(&keys).await? {
            let t = t.value;
            if status.is_some_and(|s| s != t.status)
                || campaign.is_some_and(|c| t.campaign_id.as_deref() != Some(c))
            {
                continue;
            }
            if items.len() == limit {
                overflow = true;
                break;
            }
            items.push(t);
        }
        if overflow {
            // Another match follows the page: go on after its last item.
            break items.last().map(|t| t.id.clone());
        }
        match more {
            Some(cursor) if scanned < MAX_SCAN => before = Some(cursor),
            other => break other,
        }
    };
    if format == opsflow_api::csv::Format::Csv {
        return crate::export::triggers_csv(req, &items, next.as_deref());
    }
    Ok(opsflow_api::csv::json_varying(ApiResponse::json(
        200,
        &serde_json::json!({ "items": items, "next_cursor": next }),
    )))
}
