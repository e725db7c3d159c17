//! `GET /api/analytics/process`: the figures of a period, filtered, as JSON or
//! (one table at a time) CSV. At most eight KV calls whatever the history: the
//! weeks' samples (one `get_many`), the campaign index when filtering by owner
//! (its directory and shards), the names of the listed handoffs' campaigns, and
//! the planning book with the resources for utilization.

use chrono::{Datelike, Duration, NaiveDate};
use opsflow_api::csv::Format;
use opsflow_api::{ApiResponse, Problem};
use opsflow_domain::analytics::figures::{Filter, Period, figures, utilization_by_week};
use opsflow_domain::campaign::{DateRange, PlanningBook, Resource};
use opsflow_edge::Ctx;
use opsflow_edge::handlers::invalid_field;
use opsflow_store::keys::campaigns as keys;
use opsflow_store::{IdSet, Records};
use std::collections::BTreeSet;

/// ISO weeks one period may touch; the review queue reads as many more (the
/// weeks up to now), so a request reads at most `opsflow_store::analytics::MAX_WEEKS`.
pub const MAX_PERIOD_WEEKS: usize = 8;

/// How far back the review queue looks for reviews still open: this many ISO
/// weeks up to the current one.
pub const QUEUE_WEEKS: usize = 8;

/// Days in the default period (ending today).
const DEFAULT_DAYS: i64 = 28;

fn week_name(d: NaiveDate) -> String {
    let w = d.iso_week();
    format!("{}-W{:02}", w.year(), w.week())
}

/// The ISO weeks `from..=to` touches, in order.
fn weeks(from: NaiveDate, to: NaiveDate) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for d in from.iter_days().take_while(|d| *d <= to) {
        let w = week_name(d);
        if out.last() != Some(&w) {
            out.push(w);
        }
    }
    out
}

fn day(name: &str, value: Option<&str>) -> Result<Option<NaiveDate>, Problem> {
    value
        .map(|v| {
            NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .map_err(|_| invalid_field(name, "must be a date: YYYY-MM-DD"))
        })
        .transpose()
}

/// The parsed query.
pub struct Query {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub weeks: Vec<String>,
    pub filter: Filter,
    pub owner: Option<String>,
}

fn query(ctx: &Ctx) -> Result<Query, Problem> {
    let req = &ctx.req;
    let today = ctx.now.date_naive();
    let to = day("to", req.query("to"))?.unwrap_or(today);
    let from = day("from", req.query("from"))?.unwrap_or(to - Duration::days(DEFAULT_DAYS - 1));
    if from > to {
        return Err(invalid_field("from", "must not be after to"));
    }
    let weeks = weeks(from, to);
    if weeks.len() > MAX_PERIOD_WEEKS {
        return Err(invalid_field(
            "from",
            format!("a period covers at most {MAX_PERIOD_WEEKS} ISO weeks"),
        ));
    }
    let text = |name: &str| -> Result<Option<String>, Problem> {
        match req.query(name) {
            None => Ok(None),
            Some(v) if v.is_empty() || v.len() > 200 => {
                Err(invalid_field(name, "must be 1 to 200 characters"))
            }
            Some(v) => Ok(Some(v.to_string())),
        }
    };
    let team = text("team")?;
    if team
        .as_deref()
        .is_some_and(|t| t != "marketing" && t != "operations")
    {
        return Err(invalid_field("team", "must be marketing or operations"));
    }
    Ok(Query {
        from,
        to,
        weeks,
        filter: Filter {
            campaign: text("campaign_id")?,
            channel: text("channel")?,
            campaigns: None,
            team,
        },
        owner: text("owner")?,
    })
}

/// The campaigns `owner` is the marketing or operations owner of. Every role
/// may list every campaign (`GET /api/campaigns`), so no filter can reveal a
/// campaign its caller could not list.
async fn owned(ctx: &Ctx, owner: &str) -> Result<BTreeSet<String>, Problem> {
    let tag = opsflow_store::campaigns::owner_tag(owner);
    let index = opsflow_store::campaigns::index(&ctx.kv).await?;
    let mut ids = BTreeSet::new();
    ids.extend(
        index
            .into_iter()
            .filter(|(_, e)| e.owners.as_ref().is_none_or(|o| o.contains(&tag)))
            .map(|(id, _)| id),
    );
    Ok(ids)
}

pub async fn get(ctx: &Ctx) -> Result<ApiResponse, Problem> {
    let format = opsflow_api::csv::format(&ctx.req)?;
    let mut q = query(ctx)?;
    if let Some(owner) = &q.owner {
        q.filter.campaigns = Some(owned(ctx, owner).await?);
    }
    let today = ctx.now.date_naive();
    let queue_from = today - Duration::weeks(QUEUE_WEEKS as i64 - 1);
    let mut read: Vec<String> = weeks(queue_from, today);
    for w in &q.weeks {
        if !read.contains(w) {
            read.push(w.clone());
        }
    }
    let samples = opsflow_store::analytics::read(&ctx.kv, &read).await?;
    let start = |d: NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .map_or(0, |t| t.and_utc().timestamp())
    };
    let period = Period {
        from: start(q.from),
        to: start(q.to + Duration::days(1)),
    };
    let now = ctx.now.timestamp();
    let mut figures = figures(&samples, period, &q.filter, now);

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
