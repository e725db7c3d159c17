//! The actions that go through the content workflow, by service chaining to
//! content-approval with the scheduler's bearer:
//!
//! - `content_refresh` (an engagement drop): `POST /api/content/{id}/refresh` for
//!   each approved, scheduled or published item of the campaign (of the trigger's
//!   channel, for a channel scope), `Idempotency-Key: <trigger id>:<item id>` (one
//!   trigger refreshes several items; the body names the trigger, and
//!   content-approval answers a refresh already open, or already opened by this
//!   trigger, without a second round or audit entry);
//! - `timing_change` (a delivery problem): one
//!   `POST /api/content/campaigns/{campaign_id}/timing-change` for the trigger's
//!   channel, `Idempotency-Key: <trigger id>` (a send this trigger moved is never
//!   moved again).
//!
//! A retry after a failure sends the same requests with the same keys, so it
//! completes the work without repeating any of it. The trigger's result records
//! what changed.

use opsflow_domain::monitoring::{DispatchOutcome, Trigger};
use opsflow_store::content::{ContentSummary, linked_items};
use opsflow_store::spin::SpinKv;

use crate::actions::{describe, failed, retryable, scheduler_auth, send};

const CONTENT: &str = "http://content-approval.spin.internal";

/// Most items one trigger refreshes (the rest are listed in its result).
const MAX_REFRESHES: usize = 25;
/// Longest reason sent (content-approval takes 500 characters).
const MAX_REASON: usize = 500;

/// States a refresh applies to.
const REFRESHABLE: [&str; 3] = ["approved", "scheduled", "published"];

/// Why the trigger fired, as the author and the reviewers will read it.
fn reason(t: &Trigger, extra: &str) -> String {
    let value = t
        .value
        .map(|v| format!("{v:.4}"))
        .unwrap_or_else(|| "no data".into());
    let text = format!(
        "{} — {}: value {} vs threshold {}{}",
        t.rule_name, t.scope, value, t.fire_threshold, extra
    );
    text.chars().take(MAX_REASON).collect()
}

/// The items a refresh goes to, and those it leaves (with why).
fn pick(t: &Trigger, items: Vec<ContentSummary>) -> (Vec<String>, Vec<serde_json::Value>) {
    let mut chosen = Vec::new();
    let mut skipped = Vec::new();
    for item in items {
        if t.channel.as_deref().is_some_and(|c| c != item.channel) {
            continue;
        }
        if !REFRESHABLE.contains(&item.state.as_str()) {
            skipped.push(serde_json::json!({"content_id": item.id, "state": item.state}));
        } else if chosen.len() == MAX_REFRESHES {
            skipped.push(serde_json::json!({"content_id": item.id,
                "reason": format!("over the limit of {MAX_REFRESHES} refreshes per trigger")}));
        } else {
            chosen.push(item.id);
        }
    }
    (chosen, skipped)
}

/// The stable problem slug of a problem response.
fn problem_kind(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["type"].as_str().map(str::to_string))
        .and_then(|t| t.rsplit('/').next().map(str::to_string))
        .unwrap_or_default()
}

/// What the refresh calls came to.
#[derive(Default)]
struct Tally {
    refreshed: Vec<String>,
    already_open: Vec<serde_json::Value>,
    skipped: Vec<serde_json::Value>,
    /// Failures worth another attempt.
    retry: Vec<String>,
    /// Failures another attempt will not fix.
    fatal: Vec<String>,
}

/// Opens a refresh on the campaign's approved, scheduled and published content.
pub async fn refresh(kv: &SpinKv, t: &Trigger, variant: Option<&str>) -> DispatchOutcome {
    let Some(campaign) = &t.campaign_id else {
        return failed("content_refresh needs a campaign", false);
    };
    let auth = match scheduler_auth().await {
        Ok(a) => a,
        Err(o) => return o,
    };
    let items = match linked_items(kv, campaign).await {
        Ok(items) => items,
        Err(e) => return failed(format!("store: {e}"), true),
    };
    let (chosen, skipped) = pick(t, items);
    let extra = variant
        .map(|v| format!("; switch to variant '{v}'"))
        .unwrap_or_default();
    let body = serde_json::json!({
        "reason": reason(t, &extra),
        "trigger_id": t.id,
        "variant": variant.is_some(),
    })
    .to_string()
    .into_bytes();
    let mut tally = Tally {
        skipped,
        ..Tally::default()
    };
    for id in &chosen {
        let headers = [
            ("authorization", auth.clone()),
            ("content-type", "application/json".to_string()),
            ("idempotency-key", format!("{}:{id}", t.id)),
        ];
        let url = format!("{CONTENT}/api/content/{id}/refresh");
        match send("POST", &url, &headers, body.clone()).await {
            Ok(r) if (200..300).contains(&r.status) => {
                let item: serde_json::Value =
                    serde_json::from_slice(&r.body).unwrap_or(serde_json::Value::Null);
                let by = &item["refresh"]["trigger_id"];
                if by.as_str() == Some(t.id.as_str()) {
                    tally.refreshed.push(id.clone());
                } else {
                    tally
                        .already_open
                        .push(serde_json::json!({"content_id": id, "trigger_id": by}));
                }
            }
            // The item moved on since it was listed (back in review, withdrawn, gone).
            Ok(r) if r.status == 404 || problem_kind(&r.body) == "not-refreshable" => tally
                .skipped
                .push(serde_json::json!({"content_id": id, "reason": describe(&r)})),
            Ok(r) if retryable(r.status) => tally.retry.push(format!("{id}: {}", describe(&r))),
            Ok(r) => tally.fatal.push(format!("{id}: {}", describe(&r))),
            Err(e) => tally
                .retry
                .push(format!("{id}: content workflow unreachable: {e}")),
        }
    }
    if !tally.fatal.is_empty() {
        return failed(tally.fatal.join("; "), false);
    }
    if !tally.retry.is_empty() {
        return failed(tally.retry.join("; "), true);
    }
    DispatchOutcome::Done(serde_json::json!({
        "refreshed": tally.refreshed,
        "already_open": tally.already_open,
        "skipped": tally.skipped,
        "variant": variant,
    }))
}

/// Moves the campaign's scheduled sends on the troubled channel to later hours.
pub async fn timing_change(t: &Trigger, max_delay_hours: u32) -> DispatchOutcome {
    let (Some(campaign), Some(channel)) = (&t.campaign_id, &t.channel) else {
        return failed("timing_change needs a campaign and a channel scope", false);
    };
    let auth = match scheduler_auth().await {
        Ok(a) => a,
        Err(o) => return o,
    };
    let body = serde_json::json!({
        "channel": channel,
        "reason": reason(t, ""),
        "trigger_id": t.id,
        "max_delay_hours": max_delay_hours,
    })
    .to_string()
    .into_bytes();
    let headers = [
        ("authorization", auth),
        ("content-type", "application/json".to_string()),
        ("idempotency-key", t.id.clone()),
    ];
    let url = format!("{CONTENT}/api/content/campaigns/{campaign}/timing-change");
    match send("POST", &url, &headers, body).await {
        Ok(r) if (200..300).contains(&r.status) => {
            let v: serde_json::Value =
                serde_json::from_slice(&r.body).unwrap_or(serde_json::Value::Null);
            DispatchOutcome::Done(serde_json::json!({
                "channel": channel,
                "moved": v["moved"],
                "already_moved": v["already_moved"],
                "unmoved": v["unmoved"],
            }))
        }
        Ok(r) if r.status == 404 => failed(describe(&r), false),
        Ok(r) => failed(describe(&r), retryable(r.status)),
        Err(e) => failed(format!("content workflow unreachable: {e}"), true),
    }
}
