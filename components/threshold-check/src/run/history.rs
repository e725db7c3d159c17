//! The run history: each run's record, newest first, the last [`KEEP_RUNS`] kept.

use std::collections::BTreeSet;

use opsflow_api::{ApiResponse, Problem, paging};
use opsflow_domain::monitoring::{Category, RunCounts};
use opsflow_edge::Ctx;
use opsflow_store::keys::monitoring as keys;
use opsflow_store::spin::SpinKv;
use opsflow_store::{Kv, Records, Versioned};
use serde::{Deserialize, Serialize};

use super::flatten;

/// Runs kept in the history.
const KEEP_RUNS: usize = 1_000;

/// One recorded run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunRecord {
    pub(crate) id: String,
    pub(crate) now: i64,
    pub(crate) requested_by: String,
    pub(crate) started_at: String,
    pub(crate) finished_at: String,
    pub(crate) duration_ms: i64,
    pub(crate) categories: Vec<Category>,
    pub(crate) rules: usize,
    /// Campaigns, alert outcomes and triggers, summed over the run's chunks.
    #[serde(flatten)]
    pub(crate) counts: RunCounts,
    /// The request whose expired hold on the run another request took over, if any.
    pub(crate) took_over: Option<String>,
    /// Chunks the run took (one per request on a small store).
    #[serde(default)]
    pub(crate) chunks: u32,
}

/// Stores a finished run and indexes it. Idempotent: a run redone after a crash
/// between this and the schedule's finish finds its record already there.
pub(super) async fn save_run(kv: &SpinKv, record: &RunRecord) -> Result<(), Problem> {
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

pub async fn list(ctx: &Ctx) -> Result<ApiResponse, Problem> {
    let (req, kv) = (&ctx.req, &ctx.kv);
    let limit = paging::limit(req.query("limit"))?;
    let records = Records::new(kv);
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

pub async fn get(ctx: &Ctx) -> Result<ApiResponse, Problem> {
    let (id, kv) = (ctx.id(), &ctx.kv);
    match Records::new(kv).get::<RunRecord>(&keys::run(id)).await? {
        Some(v) => Ok(ApiResponse::json(200, &v.value)),
        None => Err(Problem::not_found(format!("no run {id}"))),
    }
}
