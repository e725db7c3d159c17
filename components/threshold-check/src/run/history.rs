//! The run history: each run's record, listed newest first from the sharded run
//! index ([`opsflow_store::runs`]); the daily maintenance pass deletes runs older
//! than [`opsflow_store::runs::RETENTION_DAYS`].

use std::collections::BTreeSet;

use opsflow_api::{ApiResponse, Problem, paging};
use opsflow_domain::monitoring::{Category, RunCounts};
use opsflow_edge::Ctx;
use opsflow_store::Records;
use opsflow_store::keys::monitoring as keys;
use opsflow_store::spin::SpinKv;
use serde::{Deserialize, Serialize};

/// Most index shards (2,000 runs each) one page reads.
const PAGE_SHARDS: usize = 16;

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

/// Stores a finished run and indexes it (one compare-and-swap on the index's last
/// shard, whatever the history's length). Idempotent: a run redone after a crash
/// between this and the schedule's finish finds its record already there.
pub(super) async fn save_run(kv: &SpinKv, record: &RunRecord) -> Result<(), Problem> {
    Records::new(kv)
        .create(&keys::run(&record.id), record)
        .await?;
    let id = BTreeSet::from([record.id.clone()]);
    opsflow_store::runs::index(kv).add_many(None, &id).await?;
    Ok(())
}

pub async fn list(ctx: &Ctx) -> Result<ApiResponse, Problem> {
    let (req, kv) = (&ctx.req, &ctx.kv);
    let limit = paging::limit(req.query("limit"))?;
    // Newest first: the cursor is the last id returned; ids sort by time.
    let cursor = req.query("cursor").filter(|c| !c.is_empty());
    let (mut page_ids, mut next) = opsflow_store::runs::index(kv)
        .newest_first(cursor, limit + 1, PAGE_SHARDS)
        .await?;
    if page_ids.len() > limit {
        page_ids.truncate(limit);
        next = page_ids.last().cloned();
    }
    let keys: Vec<_> = page_ids.iter().map(|id| keys::run(id)).collect();
    let items: Vec<RunRecord> = Records::new(kv)
        .get_many::<RunRecord>(&keys)
        .await?
        .into_iter()
        .map(|v| v.value)
        .collect();
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
