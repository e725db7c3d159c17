//! Evaluation runs: claim → load rules → evaluate the due categories in batches of
//! campaigns ([`evaluate`]) → step alert states ([`alerts`]) → write triggers
//! ([`triggers`]), then alerts → finish the claim and record the run ([`history`]).

mod alerts;
mod evaluate;
mod history;
mod triggers;

pub use alerts::list as alerts;
pub use history::{get, list};

use opsflow_api::{ApiResponse, Problem, ids};
use opsflow_domain::monitoring::{Claim, ClaimRefusal, Schedule};
use opsflow_edge::Ctx;
use opsflow_store::keys::monitoring as keys;
use opsflow_store::spin::SpinKv;
use opsflow_store::{Records, StoreError, UpdateError, Versioned};
use serde::Deserialize;

/// Campaigns per batch: one `get_many` of campaigns, the metric reads of all of
/// them together, one `get_many` and one `set_many` of alert records.
pub(super) const BATCH: usize = 250;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RunInput {
    now: serde_json::Value,
}

pub async fn run(ctx: &Ctx) -> Result<ApiResponse, Problem> {
    let (req, kv, who) = (&ctx.req, &ctx.kv, &ctx.who);
    let input: RunInput = req.json()?;
    let now = opsflow_api::time::unix_seconds(&input.now, "now")?;
    let started = chrono::Utc::now();
    let run_id = ids::new_id()?;
    let claim = match claim(kv, &run_id, now).await? {
        Ok(c) => c,
        Err(refusal) => return Err(refused(refusal)),
    };
    match evaluate::evaluate(kv, &claim, &who.sub, now).await {
        Ok(mut record) => {
            let records = Records::new(kv);
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
            history::save_run(kv, &record).await?;
            Ok(ApiResponse::json(200, &record))
        }
        Err(e) => {
            let _ = Records::new(kv)
                .upsert(&keys::schedule(), |v: Versioned<Schedule>| {
                    Ok::<_, std::convert::Infallible>(v.value.release(&claim))
                })
                .await;
            Err(e)
        }
    }
}

pub(super) fn flatten(e: UpdateError<std::convert::Infallible>) -> Problem {
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
