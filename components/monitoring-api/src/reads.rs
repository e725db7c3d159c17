//! What monitoring shows: the run history (`/api/evaluations/runs`, newest first
//! from the sharded run index) and the alert states of one owner
//! (`/api/evaluations/alerts`), as threshold-check stores them.

use opsflow_api::{ApiResponse, Problem, paging};
use opsflow_domain::monitoring::Alert;
use opsflow_domain::validation::is_reference;
use opsflow_edge::Ctx;
use opsflow_store::keys::monitoring as keys;
use opsflow_store::monitoring::{AlertDoc, RESOURCES_OWNER, RunRecord};
use opsflow_store::{Kv, Records, StoreError};

/// Most index shards (2,000 runs each) one page reads.
const PAGE_SHARDS: usize = 16;

/// `GET /api/evaluations/runs`.
pub async fn list_runs(ctx: &Ctx) -> Result<ApiResponse, Problem> {
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

/// `GET /api/evaluations/runs/{id}`.
pub async fn get_run(ctx: &Ctx) -> Result<ApiResponse, Problem> {
    let (id, kv) = (ctx.id(), &ctx.kv);
    match Records::new(kv).get::<RunRecord>(&keys::run(id)).await? {
        Some(v) => Ok(ApiResponse::json(200, &v.value)),
        None => Err(Problem::not_found(format!("no run {id}"))),
    }
}

/// `GET /api/evaluations/alerts?campaign_id=…` (or `?scope=resources`).
pub async fn list_alerts(ctx: &Ctx) -> Result<ApiResponse, Problem> {
    let (req, kv) = (&ctx.req, &ctx.kv);
    let owner = match (req.query("campaign_id"), req.query("scope")) {
        (Some(c), None) if is_reference(c) => c.to_string(),
        (None, Some("resources")) => RESOURCES_OWNER.to_string(),
        _ => {
            return Err(Problem::bad_request(
                "pass either campaign_id=<id> (1-64 of A-Z a-z 0-9 _ -) or scope=resources",
            ));
        }
    };
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
