//! `GET /api/content/calendar?channel=&from=&to=`: one channel's scheduled sends
//! over a day range, with the channel's hourly cap and the sends per hour. Read
//! here beside the calendar's iCalendar feed (`feed`), through the same
//! `opsflow_store::content::scheduled`; content-approval writes the calendar.

use chrono::{DateTime, Utc};
use opsflow_api::{ApiResponse, Problem};
use opsflow_domain::campaign::{Channel, parse_day_range};
use opsflow_domain::content::{ChannelPolicy, DEFAULT_CAP_PER_HOUR};
use opsflow_domain::validation::ValidationErrors;
use opsflow_edge::Ctx;
use opsflow_store::Records;
use opsflow_store::keys::content as keys;
use std::collections::BTreeMap;

/// Longest calendar range, in days.
const MAX_CALENDAR_DAYS: i64 = 92;

fn hour_text(hour: i64) -> String {
    DateTime::<Utc>::from_timestamp(hour, 0)
        .map(|t| t.to_rfc3339())
        .unwrap_or_default()
}

pub async fn calendar(ctx: &Ctx) -> Result<ApiResponse, Problem> {
    let channel = ctx
        .req
        .query("channel")
        .ok_or_else(|| Problem::bad_request("channel is required, e.g. ?channel=email"))?;
    let channel =
        Channel::parse(channel).map_err(|e| Problem::bad_request(format!("channel {e}")))?;
    let range =
        parse_day_range(ctx.req.query("from"), ctx.req.query("to")).map_err(Problem::from)?;
    if range.len_days() > MAX_CALENDAR_DAYS {
        let mut errs = ValidationErrors::default();
        errs.push(
            "to",
            format!("the range may span at most {MAX_CALENDAR_DAYS} days"),
        );
        return Err(Problem::from(errs));
    }
    let day_keys: Vec<_> = range
        .days()
        .map(|d| keys::calendar_day(channel.as_str(), &d.format("%Y-%m-%d").to_string()))
        .collect();
    let sends = opsflow_store::content::scheduled(&ctx.kv, &day_keys).await?;
    let cap = Records::new(&ctx.kv)
        .get::<ChannelPolicy>(&keys::channel_policy(channel.as_str()))
        .await?
        .map(|v| v.value.cap_per_hour)
        .unwrap_or(DEFAULT_CAP_PER_HOUR);
    let mut per_hour: BTreeMap<String, u32> = BTreeMap::new();
    let items: Vec<serde_json::Value> = sends
        .iter()
        .map(|(e, item)| {
            *per_hour.entry(hour_text(e.slot_hour)).or_default() += 1;
            serde_json::json!({
                "content_id": item.id, "campaign_id": e.campaign_id, "at": e.at,
                "slot_hour": hour_text(e.slot_hour), "title": item.title,
                "state": item.state,
            })
        })
        .collect();
    Ok(ApiResponse::json(
        200,
        &serde_json::json!({
            "channel": channel.as_str(),
            "from": range.from().to_string(),
            "to": range.to().to_string(),
            "cap_per_hour": cap,
            "items": items,
            "sends_per_hour": per_hour,
        }),
    ))
}
