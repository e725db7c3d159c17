//! `GET /api/analytics/process`: the figures of a period, filtered, as JSON or
//! (one table at a time) CSV. At most eight KV calls whatever the history: the
//! weeks' samples (one `get_many`), the campaign index when filtering by owner
//! (its directory and shards), the names of the listed handoffs' campaigns, and
//! the planning book with the resources for utilization.

use chrono::Duration;
use opsflow_analytics_query::{QUEUE_WEEKS, query, weeks};
use opsflow_api::csv::Format;
use opsflow_api::{ApiResponse, Problem};
use opsflow_domain::analytics::figures::{figures, utilization_by_week};
use opsflow_domain::campaign::{DateRange, PlanningBook, Resource};
use opsflow_edge::Ctx;
use opsflow_edge::handlers::invalid_field;
use opsflow_store::keys::campaigns as keys;
use opsflow_store::{IdSet, Records};
use std::collections::BTreeSet;

pub async fn get(ctx: &Ctx) -> Result<ApiResponse, Problem> {
    let format = opsflow_api::csv::format(&ctx.req)?;
    crate::csv::check_table(&ctx.req)?;
    let mut q = query(ctx)?;
    q.resolve_owner(ctx).await?;
    let today = ctx.now.date_naive();
    let queue_from = today - Duration::weeks(QUEUE_WEEKS as i64 - 1);
    let mut read: Vec<String> = weeks(queue_from, today);
    for w in &q.weeks {
        if !read.contains(w) {
            read.push(w.clone());
        }
    }
    let samples = opsflow_store::analytics::read(&ctx.kv, &read).await?;
    let now = ctx.now.timestamp();
    let mut figures = figures(&samples, q.period(), &q.filter, now);

    let ids: Vec<_> = figures
        .longest_handoffs
        .iter()
        .map(|h| keys::campaign(&h.campaign_id))
        .collect();
    // Names for the handoffs listed (at most ten campaigns, one `get_many`).
    let records: Vec<(String, String)> = Records::new(&ctx.kv)
        .get_many::<serde_json::Value>(&ids)
        .await?
        .into_iter()
        .filter_map(|v| {
            Some((
                v.value.get("id")?.as_str()?.to_string(),
                v.value.get("name")?.as_str()?.to_string(),
            ))
        })
        .collect();
    for h in &mut figures.longest_handoffs {
        if let Some((_, name)) = records.iter().find(|(id, _)| *id == h.campaign_id) {
            h.campaign_name = name.clone();
        }
    }

    let days = DateRange::parse(q.from, q.to).map_err(|e| invalid_field("from", e.to_string()))?;
    let book = Records::new(&ctx.kv)
        .get::<PlanningBook>(&keys::allocations())
        .await?
        .map(|v| v.value)
        .unwrap_or_default();
    let resource_ids = IdSet::new(&ctx.kv, keys::resource_index()).ids().await?;
    let resource_keys: Vec<_> = resource_ids.iter().map(|id| keys::resource(id)).collect();
    let resources: Vec<Resource> = Records::new(&ctx.kv)
        .get_many::<Resource>(&resource_keys)
        .await?
        .into_iter()
        .map(|v| v.value)
        .collect();
    let scope = match (&q.filter.campaign, &q.filter.campaigns) {
        (Some(c), Some(set)) => Some(set.iter().filter(|id| *id == c).cloned().collect()),
        (Some(c), None) => Some(BTreeSet::from([c.clone()])),
        (None, set) => set.clone(),
    };
    let utilization = utilization_by_week(&resources, &book.allocations, days, scope.as_ref());

    let body = serde_json::json!({
        "period": { "from": q.from, "to": q.to, "weeks": q.weeks },
        "filters": {
            "campaign_id": q.filter.campaign, "channel": q.filter.channel,
            "owner": q.owner, "team": q.filter.team,
        },
        "stages": figures.stages,
        "longest_handoffs": figures.longest_handoffs,
        "approvals": figures.approvals,
        "rework": figures.rework,
        "on_time": figures.on_time,
        "automation": figures.automation,
        "utilization": utilization,
        "bottlenecks": figures.bottlenecks,
    });
    match format {
        Format::Json => Ok(opsflow_api::csv::json_varying(ApiResponse::json(
            200, &body,
        ))),
        Format::Csv => crate::csv::table(&ctx.req, &body),
    }
}
