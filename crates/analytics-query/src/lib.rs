//! The period and filters of an analytics request (`/api/analytics/...`):
//! parsed once for the components that answer them (process-analytics for the
//! figures, monitoring-api for the effects of actions). Its own crate rather than
//! a module of `opsflow_edge`: there, unused, it still cost threshold-check 6 KB
//! of `.wasm` (different inlining), which has less than that under 1 MiB.
#![forbid(unsafe_code)]

use chrono::{Datelike, Duration, NaiveDate};
use opsflow_api::Problem;
use opsflow_domain::analytics::figures::{Filter, Period};
use opsflow_edge::Ctx;
use opsflow_edge::handlers::invalid_field;
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
pub fn weeks(from: NaiveDate, to: NaiveDate) -> Vec<String> {
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

pub fn query(ctx: &Ctx) -> Result<Query, Problem> {
    let req = &ctx.req;
    let today = ctx.now.date_naive();
    let to = day("to", req.query("to"))?.unwrap_or(today);
    // Dates at chrono's ends have no neighbours: refused, never a panic.
    if to.checked_add_signed(Duration::days(1)).is_none() {
        return Err(invalid_field("to", "is out of range"));
    }
    let from = match day("from", req.query("from"))? {
        Some(from) => from,
        None => to
            .checked_sub_signed(Duration::days(DEFAULT_DAYS - 1))
            .ok_or_else(|| invalid_field("to", "is out of range"))?,
    };
    if from > to {
        return Err(invalid_field("from", "must not be after to"));
    }
    // Eight ISO weeks span at most 56 days; a longer range is refused before
    // its days are walked.
    let weeks = if (to - from).num_days() < 7 * MAX_PERIOD_WEEKS as i64 {
        weeks(from, to)
    } else {
        Vec::new()
    };
    if weeks.is_empty() || weeks.len() > MAX_PERIOD_WEEKS {
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
pub async fn owned(ctx: &Ctx, owner: &str) -> Result<BTreeSet<String>, Problem> {
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

impl Query {
    /// The period as unix seconds: from the first day's start to the day after the last.
    pub fn period(&self) -> Period {
        let start = |d: NaiveDate| {
            d.and_hms_opt(0, 0, 0)
                .map_or(0, |t| t.and_utc().timestamp())
        };
        Period {
            from: start(self.from),
            to: start(
                self.to
                    .checked_add_signed(Duration::days(1))
                    .unwrap_or(self.to),
            ),
        }
    }

    /// Resolves the owner filter (the campaign index: two KV calls) into the set
    /// of campaigns the figures keep.
    pub async fn resolve_owner(&mut self, ctx: &Ctx) -> Result<(), Problem> {
        if let Some(owner) = &self.owner {
            self.filter.campaigns = Some(owned(ctx, owner).await?);
        }
        Ok(())
    }
}
