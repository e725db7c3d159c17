//! Distribution timing: `POST /api/content/{id}/schedule` and the per-channel calendar.
//!
//! The hourly cap is enforced with one atomic counter per (channel, hour): a claim
//! increments it and keeps the slot when the result is within the cap, otherwise
//! gives the increment back and tries the next candidate. Concurrent claims can
//! therefore never overrun the cap (at worst a claim racing a release is refused
//! and moves on). An explicitly requested time whose hour is full is refused with
//! 409 `slot-full`; automatic picking moves to the next best hour and answers 409
//! `no-slot` when no candidate hour within the schedule has room.

use std::collections::BTreeMap;

use opsflow_api::{ApiResponse, Problem};
use opsflow_domain::campaign::{parse_day_range, parse_instant};
use opsflow_domain::content::{
    ContentItem, HOUR, Picked, ScheduledSend, SendRules, Span, candidates, check_explicit,
    curve_from_history, state_name,
};
use opsflow_domain::validation::ValidationErrors;
use opsflow_store::keys::content as keys;
use opsflow_store::spin::SpinKv;
use opsflow_store::{Kv, Records, UpdateError, Versioned};
use serde::Deserialize;

use crate::support::{
    CalendarEntry, ChannelPolicy, Ctx, Res, content_problem, day_of, finish, load_campaign,
    load_config, load_item, mutate, param_id, validation,
};

/// Days of engagement history read to score hours of the week.
const HISTORY_DAYS: i64 = 21;
/// Candidate hours whose counters are read per round trip.
const SCAN_CHUNK: usize = 48;
/// Candidate hours considered at most.
const MAX_CANDIDATES: usize = 8 * SCAN_CHUNK;
/// Longest calendar range, in days.
const MAX_CALENDAR_DAYS: i64 = 92;

/// `POST /api/content/{id}/schedule` body (may be empty: pick automatically).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScheduleInput {
    /// RFC 3339 send time; absent = pick the best free hour.
    at: Option<String>,
}

fn counter(bytes: &[u8]) -> i64 {
    <[u8; 8]>::try_from(bytes)
        .map(i64::from_le_bytes)
        .unwrap_or(0)
}

/// Takes one send in `hour` on `channel` if the cap allows.
async fn claim(kv: &SpinKv, channel: &str, hour: i64, cap: u32) -> Result<bool, Problem> {
    let key = keys::slot(channel, hour);
    let n = kv.increment(key.as_str(), 1).await?;
    if n <= i64::from(cap) {
        return Ok(true);
    }
    kv.increment(key.as_str(), -1).await?;
    Ok(false)
}

fn hour_text(hour: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp(hour, 0)
        .map(|t| t.to_rfc3339())
        .unwrap_or_default()
}

pub async fn schedule(ctx: &Ctx) -> Res {
    let id = param_id(ctx)?;
    let expect = ctx.req.if_match()?;
    let input: ScheduleInput = if ctx.req.body.iter().all(u8::is_ascii_whitespace) {
        ScheduleInput::default()
    } else {
        ctx.req.json()?
    };
    let requested = match &input.at {
        Some(raw) => match parse_instant(raw) {
            Ok(t) => Some(t),
            Err(e) => {
                let mut errs = ValidationErrors::default();
                errs.push("at", e.to_string());
                return Err(validation(errs));
            }
        },
        None => None,
    };
    let current = load_item(&ctx.kv, id).await?;
    if let Some(v) = expect {
        opsflow_api::response::check_version(v, current.version)?;
    }
    current.value.schedulable().map_err(content_problem)?;
    let item = &current.value;
    let campaign = load_campaign(&ctx.kv, &item.campaign_id).await?.value;
    let config = load_config(&ctx.kv, &item.campaign_id, &item.channel).await?;
    let cap = config.cap_per_hour;
    let windows = campaign
        .channel(&item.channel)
        .and_then(|c| c.send_plan.as_ref())
        .map(|p| {
            p.windows
                .iter()
                .map(|w| Span {
                    start: w.start.timestamp(),
                    end: w.end.timestamp(),
                })
                .collect()
        })
        .unwrap_or_default();
    let rules = SendRules {
        schedule: Span {
            start: campaign.schedule().start().timestamp(),
            end: campaign.schedule().end().timestamp(),
        },
        windows,
    };
    let now = ctx.now.timestamp();
    let old_slot = item.scheduled.as_ref().map(|s| s.slot_hour);

    let (slot, at, picked, claimed) = match requested {
        Some(at) => {
            let slot = check_explicit(&rules, now, at.timestamp()).map_err(|m| {
                let mut errs = ValidationErrors::default();
                errs.push("at", m);
                validation(errs)
            })?;
            let claimed = if old_slot == Some(slot) {
                false
            } else if claim(&ctx.kv, &item.channel, slot, cap).await? {
                true
            } else {
                return Err(Problem::conflict(
                    "slot-full",
                    format!(
                        "the {} channel already has its cap of {cap} sends in the hour starting {}",
                        item.channel,
                        hour_text(slot)
                    ),
                )
                .with("cap_per_hour", serde_json::json!(cap)));
            };
            (slot, at, Picked::Explicit, claimed)
        }
        None => {
            let totals = opsflow_store::metrics::campaign_totals(
                &ctx.kv,
                &item.campaign_id,
                now - HISTORY_DAYS * 24 * HOUR,
                now,
                HOUR,
                None,
            )
            .await?;
            let curve = curve_from_history(&totals.series);
            let cands = candidates(&rules, now, &curve);
            let mut chosen = None;
            'scan: for chunk in cands
                .iter()
                .take(MAX_CANDIDATES)
                .collect::<Vec<_>>()
                .chunks(SCAN_CHUNK)
            {
                let slot_keys: Vec<String> = chunk
                    .iter()
                    .map(|c| keys::slot(&item.channel, c.hour).as_str().to_string())
                    .collect();
                let counts: BTreeMap<String, i64> = ctx
                    .kv
                    .get_many(&slot_keys)
                    .await?
                    .into_iter()
                    .map(|(k, v)| (k, counter(&v)))
                    .collect();
                for (c, key) in chunk.iter().zip(&slot_keys) {
                    if old_slot == Some(c.hour) {
                        chosen = Some((c.hour, false));
                        break 'scan;
                    }
                    if counts.get(key).copied().unwrap_or(0) >= i64::from(cap) {
                        continue;
                    }
                    if claim(&ctx.kv, &item.channel, c.hour, cap).await? {
                        chosen = Some((c.hour, true));
                        break 'scan;
                    }
                }
            }
            let Some((slot, claimed)) = chosen else {
                return Err(Problem::conflict(
                    "no-slot",
                    format!(
                        "no hour within the campaign schedule has room on the {} channel (cap {cap} per hour)",
                        item.channel
                    ),
                ));
            };
            let at = chrono::DateTime::<chrono::Utc>::from_timestamp(slot, 0)
                .ok_or_else(|| Problem::bad_request("send time out of range"))?;
            (slot, at, Picked::Auto, claimed)
        }
    };

    let send = ScheduledSend {
        at,
        slot_hour: slot,
        picked,
    };
    let result = mutate(&ctx.kv, id, Some(current.version), |item| {
        item.schedule(send.clone(), &ctx.who.sub, ctx.now)
    })
    .await;
    let (stored, mut changed) = match result {
        Ok(v) => v,
        Err(p) => {
            if claimed {
                ctx.kv
                    .increment(keys::slot(&current.value.channel, slot).as_str(), -1)
                    .await?;
            }
            return Err(if p.status == 412 {
                Problem::conflict(
                    "concurrent-change",
                    "the item changed while its slot was being picked; retry",
                )
            } else {
                p
            });
        }
    };
    if changed.released_slot == Some(slot) {
        changed.released_slot = None;
    }
    add_to_calendar(&ctx.kv, &stored.value, slot, at).await?;
    finish(ctx, stored, changed, 200).await
}

async fn add_to_calendar(
    kv: &SpinKv,
    item: &ContentItem,
    slot: i64,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), Problem> {
    let entry = CalendarEntry {
        at,
        slot_hour: slot,
        campaign_id: item.campaign_id.clone(),
    };
    Records::new(kv)
        .upsert(
            &keys::calendar_day(&item.channel, &day_of(slot)),
            |mut v: Versioned<BTreeMap<String, CalendarEntry>>| {
                v.value.insert(item.id.clone(), entry.clone());
                Ok::<_, std::convert::Infallible>(v.value)
            },
        )
        .await
        .map_err(|e| match e {
            UpdateError::Store(s) => Problem::from(s),
            _ => Problem::unavailable("calendar update failed"),
        })?;
    Ok(())
}

pub async fn calendar(ctx: &Ctx) -> Res {
    let channel = ctx
        .req
        .query("channel")
        .ok_or_else(|| Problem::bad_request("channel is required, e.g. ?channel=email"))?;
    let channel = opsflow_domain::campaign::Channel::parse(channel)
        .map_err(|e| Problem::bad_request(format!("channel {e}")))?;
    let range = parse_day_range(ctx.req.query("from"), ctx.req.query("to")).map_err(validation)?;
    if range.len_days() > MAX_CALENDAR_DAYS {
        let mut errs = ValidationErrors::default();
        errs.push(
            "to",
            format!("the range may span at most {MAX_CALENDAR_DAYS} days"),
        );
        return Err(validation(errs));
    }
    let mut day_keys: Vec<_> = range
        .days()
        .map(|d| keys::calendar_day(channel.as_str(), &d.format("%Y-%m-%d").to_string()))
        .collect();
    day_keys.push(keys::channel_policy(channel.as_str()));
    let policy_key = day_keys.pop();
    let days = Records::new(&ctx.kv)
        .get_many::<BTreeMap<String, CalendarEntry>>(&day_keys)
        .await?;
    let cap = match policy_key {
        Some(k) => Records::new(&ctx.kv)
            .get::<ChannelPolicy>(&k)
            .await?
            .map(|v| v.value.cap_per_hour)
            .unwrap_or(crate::support::DEFAULT_CAP_PER_HOUR),
        None => crate::support::DEFAULT_CAP_PER_HOUR,
    };
    let mut entries: Vec<(String, CalendarEntry)> =
        days.into_iter().flat_map(|d| d.value.into_iter()).collect();
    entries.sort_by(|a, b| a.1.at.cmp(&b.1.at).then(a.0.cmp(&b.0)));
    let item_keys: Vec<_> = entries.iter().map(|(id, _)| keys::item(id)).collect();
    let items: BTreeMap<String, ContentItem> = Records::new(&ctx.kv)
        .get_many::<ContentItem>(&item_keys)
        .await?
        .into_iter()
        .map(|v| (v.value.id.clone(), v.value))
        .collect();
    let mut per_hour: BTreeMap<String, u32> = BTreeMap::new();
    let out: Vec<serde_json::Value> = entries
        .iter()
        .filter_map(|(id, e)| {
            let item = items.get(id)?;
            *per_hour.entry(hour_text(e.slot_hour)).or_default() += 1;
            Some(serde_json::json!({
                "content_id": id, "campaign_id": e.campaign_id, "at": e.at,
                "slot_hour": hour_text(e.slot_hour), "title": item.title,
                "state": state_name(item.state),
            }))
        })
        .collect();
    Ok(ApiResponse::json(
        200,
        &serde_json::json!({
            "channel": channel.as_str(),
            "from": range.from().to_string(),
            "to": range.to().to_string(),
            "cap_per_hour": cap,
            "items": out,
            "sends_per_hour": per_hour,
        }),
    ))
}
