//! Distribution timing: `POST /api/content/{id}/schedule` and the per-channel calendar.
//!
//! The hourly cap is enforced by [`Slots`], one atomic counter per (channel, hour):
//! concurrent claims can never overrun the cap. An explicitly requested time whose
//! hour is full is refused with 409 `slot-full`; automatic picking moves to the next
//! best hour and answers 409 `no-slot` when no candidate hour within the schedule
//! has room. A slot claimed for an item that then cannot be stored is given back.

use chrono::{DateTime, Utc};
use opsflow_api::Problem;
use opsflow_domain::campaign::{Campaign, parse_instant};
use opsflow_domain::content::{
    Changed, ContentItem, Curve, HOUR, Picked, ScheduledSend, SendRules, Span, candidates,
    check_explicit, curve_from_history,
};
use opsflow_domain::validation::ValidationErrors;
use opsflow_store::spin::SpinKv;
use opsflow_store::{Slots, Versioned};
use serde::Deserialize;

use crate::support::{
    Ctx, Res, content_problem, finish, load_campaign, load_config, load_item, move_in_calendar,
    mutate, param_id,
};

/// Days of engagement history read to score hours of the week.
const HISTORY_DAYS: i64 = 21;
/// Candidate hours whose counters are read per round trip.
const SCAN_CHUNK: usize = 48;
/// Candidate hours considered at most.
pub(crate) const MAX_CANDIDATES: usize = 8 * SCAN_CHUNK;

/// `POST /api/content/{id}/schedule` body (may be empty: pick automatically).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScheduleInput {
    /// RFC 3339 send time; absent = pick the best free hour.
    at: Option<String>,
}

/// A schedule request, parsed before anything is read.
struct ScheduleRequest<'a> {
    /// The content item to schedule.
    id: &'a str,
    /// The `If-Match` version, when sent.
    expect: Option<u64>,
    /// The requested send time; `None` = pick the best free hour.
    at: Option<DateTime<Utc>>,
}

/// What bounds an item's send: where it may go and how many sends an hour takes.
struct SendLimits {
    /// The campaign schedule and the channel's send windows.
    rules: SendRules,
    /// Sends allowed per hour on the item's channel.
    cap: u32,
}

/// The send a request settled on.
struct TakenSlot {
    /// The send to store on the item.
    send: ScheduledSend,
    /// Whether this request claimed the slot (and must give it back if the item
    /// cannot be stored); `false` when the item already held that hour.
    claimed: bool,
}

pub(crate) fn hour_text(hour: i64) -> String {
    DateTime::<Utc>::from_timestamp(hour, 0)
        .map(|t| t.to_rfc3339())
        .unwrap_or_default()
}

/// `POST /api/content/{id}/schedule`: parse → load → take a slot → store → respond.
pub async fn schedule(ctx: &Ctx) -> Res {
    let request = parse_request(ctx)?;
    let current = load_item(&ctx.kv, request.id).await?;
    if let Some(v) = request.expect {
        opsflow_api::response::check_version(v, current.version)?;
    }
    current.value.schedulable().map_err(content_problem)?;
    let limits = load_limits(ctx, &current.value).await?;
    let taken = match request.at {
        Some(at) => take_requested(ctx, &current.value, &limits, at).await?,
        None => take_best(ctx, &current.value, &limits).await?,
    };
    let (stored, mut changed) = store_send(ctx, request.id, &current, &taken).await?;
    let left = changed.released_slot.take();
    move_in_calendar(&ctx.kv, &stored.value, left, &taken.send).await?;
    finish(ctx, stored, changed, 200).await
}

fn parse_request(ctx: &Ctx) -> Result<ScheduleRequest<'_>, Problem> {
    let id = param_id(ctx)?;
    let expect = ctx.req.if_match()?;
    let input: ScheduleInput = if ctx.req.body.iter().all(u8::is_ascii_whitespace) {
        ScheduleInput::default()
    } else {
        ctx.req.json()?
    };
    let at = match &input.at {
        Some(raw) => Some(parse_instant(raw).map_err(|e| invalid_at(e.to_string()))?),
        None => None,
    };
    Ok(ScheduleRequest { id, expect, at })
}

fn invalid_at(message: String) -> Problem {
    let mut errs = ValidationErrors::default();
    errs.push("at", message);
    Problem::from(errs)
}

async fn load_limits(ctx: &Ctx, item: &ContentItem) -> Result<SendLimits, Problem> {
    let campaign = load_campaign(&ctx.kv, &item.campaign_id).await?.value;
    let config = load_config(&ctx.kv, &item.campaign_id, &item.channel).await?;
    Ok(SendLimits {
        rules: send_rules(&campaign, &item.channel),
        cap: config.cap_per_hour,
    })
}

pub(crate) fn send_rules(campaign: &Campaign, channel: &str) -> SendRules {
    let windows = campaign
        .channel(channel)
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
    SendRules {
        schedule: Span {
            start: campaign.schedule().start().timestamp(),
            end: campaign.schedule().end().timestamp(),
        },
        windows,
    }
}

/// The hour the item holds now, if it is already scheduled.
fn held_hour(item: &ContentItem) -> Option<i64> {
    item.scheduled.as_ref().map(|s| s.slot_hour)
}

/// Takes the hour of the requested time, or refuses with 409 `slot-full`.
async fn take_requested(
    ctx: &Ctx,
    item: &ContentItem,
    limits: &SendLimits,
    at: DateTime<Utc>,
) -> Result<TakenSlot, Problem> {
    let slot =
        check_explicit(&limits.rules, ctx.now.timestamp(), at.timestamp()).map_err(invalid_at)?;
    let claimed = if held_hour(item) == Some(slot) {
        false
    } else if Slots::new(&ctx.kv, &item.channel)
        .claim(slot, limits.cap)
        .await?
    {
        true
    } else {
        return Err(slot_full(&item.channel, slot, limits.cap));
    };
    Ok(TakenSlot {
        send: ScheduledSend {
            at,
            slot_hour: slot,
            picked: Picked::Explicit,
            moved: None,
        },
        claimed,
    })
}

fn slot_full(channel: &str, hour: i64, cap: u32) -> Problem {
    Problem::conflict(
        "slot-full",
        format!(
            "the {channel} channel already has its cap of {cap} sends in the hour starting {}",
            hour_text(hour)
        ),
    )
    .with("cap_per_hour", serde_json::json!(cap))
}

/// Scores for the hours of the week from the channel's engagement history: the
/// campaign's counters of the last [`HISTORY_DAYS`] days on `channel` only (the
/// counter records keep a cell per channel, written by the ingest path's one
/// compare-and-swap per record; see docs/decisions.md).
pub(crate) async fn channel_curve(
    kv: &SpinKv,
    campaign_id: &str,
    channel: &str,
    now: i64,
) -> Result<Curve, Problem> {
    let history = opsflow_store::metrics::campaign_totals(
        kv,
        campaign_id,
        now - HISTORY_DAYS * 24 * HOUR,
        now,
        HOUR,
        Some(channel),
    )
    .await?;
    Ok(curve_from_history(&history.series))
}

/// Takes the best-scoring hour with room (by the channel's engagement history),
/// or refuses with 409 `no-slot`.
async fn take_best(
    ctx: &Ctx,
    item: &ContentItem,
    limits: &SendLimits,
) -> Result<TakenSlot, Problem> {
    let now = ctx.now.timestamp();
    let curve = channel_curve(&ctx.kv, &item.campaign_id, &item.channel, now).await?;
    let ranked: Vec<i64> = candidates(&limits.rules, now, &curve)
        .iter()
        .take(MAX_CANDIDATES)
        .map(|c| c.hour)
        .collect();
    let Some((slot, claimed)) = first_free_hour(ctx, item, limits.cap, &ranked).await? else {
        return Err(Problem::conflict(
            "no-slot",
            format!(
                "no hour within the campaign schedule has room on the {} channel (cap {} per hour)",
                item.channel, limits.cap
            ),
        ));
    };
    let at = DateTime::<Utc>::from_timestamp(slot, 0)
        .ok_or_else(|| Problem::bad_request("send time out of range"))?;
    Ok(TakenSlot {
        send: ScheduledSend {
            at,
            slot_hour: slot,
            picked: Picked::Auto,
            moved: None,
        },
        claimed,
    })
}

/// The first of `ranked` hours the item may take: the hour it already holds (not
/// claimed again) or one with room that a claim wins. Counters are read
/// [`SCAN_CHUNK`] hours per round trip; full hours are skipped without a claim.
pub(crate) async fn first_free_hour(
    ctx: &Ctx,
    item: &ContentItem,
    cap: u32,
    ranked: &[i64],
) -> Result<Option<(i64, bool)>, Problem> {
    let slots = Slots::new(&ctx.kv, &item.channel);
    let held = held_hour(item);
    for chunk in ranked.chunks(SCAN_CHUNK) {
        let taken = slots.taken(chunk).await?;
        for hour in chunk {
            if held == Some(*hour) {
                return Ok(Some((*hour, false)));
            }
            if taken.get(hour).copied().unwrap_or(0) >= i64::from(cap) {
                continue;
            }
            if slots.claim(*hour, cap).await? {
                return Ok(Some((*hour, true)));
            }
        }
    }
    Ok(None)
}

/// Stores the send on the item (compare-and-swap against the version loaded). On
/// failure a claimed slot is given back, and a lost race answers 409
/// `concurrent-change` rather than 412: the caller's `If-Match` was right.
async fn store_send(
    ctx: &Ctx,
    id: &str,
    current: &Versioned<ContentItem>,
    taken: &TakenSlot,
) -> Result<(Versioned<ContentItem>, Changed), Problem> {
    let slot = taken.send.slot_hour;
    let result = mutate(&ctx.kv, id, Some(current.version), |item| {
        item.schedule(taken.send.clone(), &ctx.who.sub, ctx.now)
    })
    .await;
    match result {
        Ok((stored, mut changed)) => {
            // Rescheduled within the hour it held: nothing to give back.
            if changed.released_slot == Some(slot) {
                changed.released_slot = None;
            }
            Ok((stored, changed))
        }
        Err(p) => {
            if taken.claimed {
                Slots::new(&ctx.kv, &current.value.channel)
                    .release(slot)
                    .await?;
            }
            Err(if p.status == 412 {
                Problem::conflict(
                    "concurrent-change",
                    "the item changed while its slot was being picked; retry",
                )
            } else {
                p
            })
        }
    }
}
