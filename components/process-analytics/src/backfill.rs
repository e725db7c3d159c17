//! `POST /api/analytics/backfill` (admin): the samples of everything that
//! happened before the analytics were recorded live, rebuilt from what the
//! workflow kept: each campaign's handoffs, each content item's audit trail, each
//! trigger's record. Resumable: a call handles `limit` campaigns (then triggers,
//! ten times as many) after the stored cursor and stores the new cursor; the
//! samples' ids make a repeated or overlapping run write nothing twice.

use chrono::DateTime;
use opsflow_api::{ApiResponse, Problem};
use opsflow_domain::analytics::Sample;
use opsflow_domain::analytics::derive::{ContentTrack, campaign_samples, trigger_samples};
use opsflow_domain::campaign::Campaign;
use opsflow_domain::content::ContentItem;
use opsflow_domain::monitoring::Trigger;
use opsflow_edge::Ctx;
use opsflow_edge::handlers::invalid_field;
use opsflow_store::keys::{
    analytics as akeys, campaigns as ckeys, content as nkeys, triggers as tkeys,
};
use opsflow_store::spin::SpinKv;
use opsflow_store::{AuditLog, IdSet, Records, UpdateError, Versioned};
use serde::{Deserialize, Serialize};

/// Campaigns a call handles when the caller does not say.
const DEFAULT_LIMIT: usize = 50;

/// Entries read from one content audit trail at most (its whole history in practice).
const MAX_TRAIL: usize = 10_000;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Phase {
    #[default]
    Campaigns,
    Triggers,
    Done,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Progress {
    phase: Phase,
    cursor: Option<String>,
}

fn limit(ctx: &Ctx) -> Result<usize, Problem> {
    match ctx.req.query("limit") {
        None => Ok(DEFAULT_LIMIT),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=200).contains(n))
            .ok_or_else(|| invalid_field("limit", "must be an integer from 1 to 200")),
    }
}

fn restart(ctx: &Ctx) -> Result<bool, Problem> {
    match ctx.req.query("restart") {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(invalid_field("restart", "must be true or false")),
    }
}

pub async fn run(ctx: &Ctx) -> Result<ApiResponse, Problem> {
    let (limit, restart) = (limit(ctx)?, restart(ctx)?);
    let kv = &ctx.kv;
    let records = Records::new(kv);
    let mut progress = if restart {
        Progress::default()
    } else {
        records
            .get::<Progress>(&akeys::backfill())
            .await?
            .map(|v| v.value)
            .unwrap_or_default()
    };
    let (mut campaigns, mut samples) = (0usize, 0usize);
    match progress.phase {
        Phase::Campaigns => {
            let scan = opsflow_store::campaigns::scan(
                kv,
                progress.cursor.as_deref(),
                limit.div_ceil(opsflow_store::campaigns::SHARD_CAPACITY) + 1,
            )
            .await?;
            let more = scan.entries.len() > limit || scan.next.is_some();
            let ids: Vec<String> = scan.entries.into_iter().take(limit).map(|e| e.0).collect();
            for id in &ids {
                samples += opsflow_store::analytics::record(kv, of_campaign(kv, id).await?).await?;
            }
            campaigns = ids.len();
            progress = match ids.last() {
                Some(last) if more => Progress {
                    phase: Phase::Campaigns,
                    cursor: Some(last.clone()),
                },
                None if more => Progress {
                    phase: Phase::Campaigns,
                    cursor: scan.next,
                },
                _ => Progress {
                    phase: Phase::Triggers,
                    cursor: None,
                },
            };
        }
        Phase::Triggers => {
            let (ids, next) = opsflow_store::triggers::all(kv)
                .scan(progress.cursor.as_deref(), 1)
                .await?;
            let batch: Vec<String> = ids.into_iter().take(limit * 10).collect();
            let keys: Vec<_> = batch.iter().map(|id| tkeys::trigger(id)).collect();
            let all: Vec<Sample> = records
                .get_many::<Trigger>(&keys)
                .await?
                .iter()
                .flat_map(|t| trigger_samples(&t.value))
                .collect();
            samples += opsflow_store::analytics::record(kv, all).await?;
            progress = match (batch.last(), next) {
                (Some(last), _) if batch.len() == limit * 10 => Progress {
                    phase: Phase::Triggers,
                    cursor: Some(last.clone()),
                },
                (_, Some(next)) => Progress {
                    phase: Phase::Triggers,
                    cursor: Some(next),
                },
                _ => Progress {
                    phase: Phase::Done,
                    cursor: None,
                },
            };
        }
        Phase::Done => {}
    }
    let saved = progress.clone();
    records
        .upsert(&akeys::backfill(), |_: Versioned<Progress>| {
            Ok::<_, std::convert::Infallible>(saved.clone())
        })
        .await
        .map_err(|e| match e {
            UpdateError::Store(s) => Problem::from(s),
            _ => Problem::unavailable("the backfill cursor could not be stored; call again"),
        })?;
    Ok(ApiResponse::json(
        200,
        &serde_json::json!({
            "done": progress.phase == Phase::Done,
            "phase": progress.phase,
            "campaigns": campaigns,
            "samples": samples,
            "cursor": progress.cursor,
        }),
    ))
}

/// The samples of one campaign: its handoffs and its content items' trails.
async fn of_campaign(kv: &SpinKv, id: &str) -> Result<Vec<Sample>, Problem> {
    let records = Records::new(kv);
    let mut out = match records.get::<Campaign>(&ckeys::campaign(id)).await? {
        Some(c) => campaign_samples(&c.value),
        None => return Ok(Vec::new()),
    };
    let item_ids = IdSet::new(kv, nkeys::campaign_items(id)).ids().await?;
    let keys: Vec<_> = item_ids.iter().map(|i| nkeys::item(i)).collect();
    for item in records.get_many::<ContentItem>(&keys).await? {
        let mut track = ContentTrack::fresh(&item.value);
        for e in AuditLog::new(kv, "content", &item.value.id)
            .list(0, MAX_TRAIL)
            .await?
        {
            let Ok(at) = DateTime::parse_from_rfc3339(&e.at) else {
                continue;
            };
            out.extend(track.observe(at.timestamp(), &e.action, &e.detail));
        }
    }
    Ok(out)
}
