//! `POST /api/content/campaigns/{campaign_id}/timing-change`: a delivery problem on
//! a channel moves the campaign's scheduled, unsent sends there that are due
//! within the guardrail (`max_delay_hours`) to later hours — the best by the
//! channel's engagement history, at least an hour from now, each at most
//! `max_delay_hours` after the hour it held, inside the campaign schedule and the
//! channel's send windows.
//!
//! Per send: claim the new hour's slot ([`Slots`](opsflow_store::Slots): never
//! over the cap), store the item with compare-and-swap (on failure the claim is
//! given back), then give back the old hour and move the calendar entry. A send
//! the same trigger moved already is not moved again, so a retried chained call
//! changes nothing twice. At most [`MAX_MOVES`] sends move per request (soonest
//! first); the rest are listed as not moved.

use chrono::{DateTime, Utc};
use opsflow_api::{ApiResponse, Problem};
use opsflow_domain::content::{
    ContentItem, ContentState, Curve, HOUR, Picked, ScheduledSend, SendMove, SendRules,
    TimingChange, TimingChangeInput, delayed_candidates,
};
use opsflow_store::keys::content as keys;
use opsflow_store::{IdSet, Records, Slots, Versioned};

use crate::schedule::{MAX_CANDIDATES, channel_curve, first_free_hour, hour_text, send_rules};
use crate::support::{Ctx, Res, audit, load_campaign, load_config, move_in_calendar, mutate};

/// Most sends one request moves.
pub const MAX_MOVES: usize = 50;
/// Items read per `get_many`.
const READ_CHUNK: usize = 100;

/// What happened to one send.
enum Outcome {
    /// Moved from one hour to another.
    Moved {
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    },
    /// Left where it was, and why.
    Stayed(String),
}

/// The `{campaign_id}` of the route, or 404.
fn campaign_param(ctx: &Ctx) -> Result<&str, Problem> {
    match ctx.params.first() {
        Some(id) if !id.is_empty() && id.len() <= 128 => Ok(id),
        _ => Err(Problem::not_found("no such campaign")),
    }
}

pub async fn timing_change(ctx: &Ctx) -> Res {
    let campaign_id = campaign_param(ctx)?;
    let input: TimingChangeInput = ctx.req.json()?;
    let change = input.parse().map_err(Problem::from)?;
    let campaign = load_campaign(&ctx.kv, campaign_id).await?.value;
    let cap = load_config(&ctx.kv, campaign_id, &change.channel)
        .await?
        .cap_per_hour;
    let rules = send_rules(&campaign, &change.channel);
    let now = ctx.now.timestamp();
    let due = due_sends(ctx, campaign_id, &change, now).await?;
    let (already, due): (Vec<_>, Vec<_>) = due.into_iter().partition(|item| {
        change
            .trigger_id
            .as_deref()
            .is_some_and(|t| item.value.moved_by(t))
    });
    let mut moved = Vec::new();
    let mut unmoved = Vec::new();
    if !due.is_empty() {
        let curve = channel_curve(&ctx.kv, campaign_id, &change.channel, now).await?;
        let plan = Plan {
            change: &change,
            rules: &rules,
            curve: &curve,
            cap,
            now,
        };
        for (i, item) in due.iter().enumerate() {
            let outcome = if i < MAX_MOVES {
                move_one(ctx, &plan, item).await?
            } else {
                Outcome::Stayed(format!("over the limit of {MAX_MOVES} sends per request"))
            };
            let id = &item.value.id;
            match outcome {
                Outcome::Moved { from, to } => {
                    moved.push(serde_json::json!({"content_id": id, "from": from, "to": to}))
                }
                Outcome::Stayed(reason) => unmoved.push(serde_json::json!({
                    "content_id": id,
                    "at": item.value.scheduled.as_ref().map(|s| s.at),
                    "reason": reason,
                })),
            }
        }
    }
    let already: Vec<&str> = already.iter().map(|i| i.value.id.as_str()).collect();
    Ok(ApiResponse::json(
        200,
        &serde_json::json!({
            "campaign_id": campaign_id,
            "channel": change.channel,
            "trigger_id": change.trigger_id,
            "max_delay_hours": change.max_delay_hours,
            "cap_per_hour": cap,
            "moved": moved,
            "already_moved": already,
            "unmoved": unmoved,
        }),
    ))
}

/// The campaign's scheduled sends on the channel due before the guardrail's
/// horizon, soonest first.
async fn due_sends(
    ctx: &Ctx,
    campaign_id: &str,
    change: &TimingChange,
    now: i64,
) -> Result<Vec<Versioned<ContentItem>>, Problem> {
    let horizon = now.saturating_add(i64::from(change.max_delay_hours) * HOUR);
    let ids = IdSet::new(&ctx.kv, keys::campaign_items(campaign_id))
        .ids()
        .await?;
    let mut due = Vec::new();
    for chunk in ids.chunks(READ_CHUNK) {
        let item_keys: Vec<_> = chunk.iter().map(|id| keys::item(id)).collect();
        for v in Records::new(&ctx.kv)
            .get_many::<ContentItem>(&item_keys)
            .await?
        {
            let item = &v.value;
            let slot = item.scheduled.as_ref().map(|s| s.slot_hour);
            if item.channel == change.channel
                && item.state == ContentState::Scheduled
                && slot.is_some_and(|h| h < horizon)
            {
                due.push(v);
            }
        }
    }
    opsflow_domain::sort::sort_by_key(&mut due, |v| {
        (
            v.value.scheduled.as_ref().map(|s| s.slot_hour),
            v.value.id.clone(),
        )
    });
    Ok(due)
}

/// What every move of one request shares.
struct Plan<'a> {
    change: &'a TimingChange,
    rules: &'a SendRules,
    curve: &'a Curve,
    cap: u32,
    now: i64,
}

/// Moves one send: claim the best later hour with room, store, give back the old one.
async fn move_one(
    ctx: &Ctx,
    plan: &Plan<'_>,
    current: &Versioned<ContentItem>,
) -> Result<Outcome, Problem> {
    let item = &current.value;
    let Some(held) = item.scheduled.clone() else {
        return Ok(Outcome::Stayed("not scheduled".into()));
    };
    let ranked: Vec<i64> = delayed_candidates(
        plan.rules,
        plan.now,
        held.slot_hour,
        plan.change.max_delay_hours,
        plan.curve,
    )
    .iter()
    .take(MAX_CANDIDATES)
    .map(|c| c.hour)
    .collect();
    let Some((hour, claimed)) = first_free_hour(ctx, item, plan.cap, &ranked).await? else {
        return Ok(Outcome::Stayed(format!(
            "no later hour within {} hours of {} has room under the cap of {} per hour inside the campaign schedule",
            plan.change.max_delay_hours,
            hour_text(held.slot_hour),
            plan.cap
        )));
    };
    let Some(at) = DateTime::<Utc>::from_timestamp(hour, 0) else {
        return Ok(Outcome::Stayed("send time out of range".into()));
    };
    let send = ScheduledSend {
        at,
        slot_hour: hour,
        picked: Picked::Auto,
        moved: Some(SendMove {
            from: held.at,
            from_slot: held.slot_hour,
            trigger_id: plan.change.trigger_id.clone(),
            reason: plan.change.reason.clone(),
        }),
    };
    let stored = mutate(&ctx.kv, &item.id, Some(current.version), |i| {
        i.move_send(send.clone(), &ctx.who.sub, ctx.now)
    })
    .await;
    let (stored, mut changed) = match stored {
        Ok(done) => done,
        Err(p) => {
            if claimed {
                Slots::new(&ctx.kv, &item.channel).release(hour).await?;
            }
            return match p.status {
                409 | 412 | 404 => Ok(Outcome::Stayed(format!(
                    "the item changed while its send was being moved: {}",
                    p.detail
                ))),
                _ => Err(p),
            };
        }
    };
    let left = changed.released_slot.take();
    move_in_calendar(&ctx.kv, &stored.value, left, &send).await?;
    audit(ctx, &stored.value, &changed.events).await?;
    Ok(Outcome::Moved {
        from: held.at,
        to: at,
    })
}
