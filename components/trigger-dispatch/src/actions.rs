//! The side effects, each carrying the trigger id as its operation id:
//! `Idempotency-Key` on calls into the campaign and content workflows (the
//! content ones are in [`crate::content`]), `webhook-id` on notifications
//! (receivers dedupe on it, as Standard Webhooks prescribes).

use opsflow_domain::campaign::Campaign;
use opsflow_domain::monitoring::{
    Action, BudgetShift, DispatchOutcome, Trigger, failover_plan, shift_budget_plan,
};
use opsflow_domain::webhooks::{Secret, standard_webhook_headers};
use opsflow_store::keys::campaigns as ckeys;
use opsflow_store::spin::SpinKv;
use opsflow_store::{Records, Versioned};
use spin_sdk::http::body::IncomingBodyExt;
use spin_sdk::http::{FullBody, Request};
use std::collections::BTreeMap;

const CAMPAIGNS: &str = "http://campaign-intake.spin.internal";
const RESOURCES: &str = "http://resource-planning.spin.internal";

pub(crate) fn failed(error: impl Into<String>, retryable: bool) -> DispatchOutcome {
    DispatchOutcome::Failed {
        error: error.into(),
        retryable,
    }
}

/// Performs the trigger's action once.
pub async fn perform(kv: &SpinKv, t: &Trigger, now: i64) -> DispatchOutcome {
    match &t.action {
        Action::Notify { url } => notify(t, url).await,
        Action::ShiftBudget { max_shift_percent } => {
            adjust(kv, t, |c| {
                let scores: BTreeMap<String, f64> = t.context["channel_scores"]
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .filter_map(|(k, v)| v.as_f64().map(|f| (k.clone(), f)))
                            .collect()
                    })
                    .unwrap_or_default();
                shift_budget_plan(c.channels(), &scores, *max_shift_percent)
            })
            .await
        }
        Action::ChannelFailover { max_shift_percent } => {
            let Some(channel) = t.channel.clone() else {
                return failed("channel_failover needs a channel scope", false);
            };
            adjust(kv, t, |c| {
                failover_plan(c.channels(), &channel, *max_shift_percent)
            })
            .await
        }
        Action::ContentRefresh { variant } => {
            crate::content::refresh(kv, t, variant.as_deref()).await
        }
        Action::TimingChange { max_delay_hours } => {
            crate::content::timing_change(t, *max_delay_hours).await
        }
        Action::RebalanceResources => rebalance(t, now).await,
    }
}

/// A response, read whole.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
}

pub(crate) async fn send(
    method: &str,
    url: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> Result<Reply, String> {
    let mut b = Request::builder().method(method).uri(url);
    for (k, v) in headers {
        b = b.header(*k, v.as_str());
    }
    let request = b
        .body(FullBody::new(bytes::Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let response = spin_sdk::http::send(request)
        .await
        .map_err(|e| format!("{e:?}"))?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .bytes()
        .await
        .map(|b| b.to_vec())
        .unwrap_or_default();
    Ok(Reply { status, body })
}

/// Whether a failed HTTP status is worth retrying.
pub(crate) fn retryable(status: u16) -> bool {
    status >= 500 || status == 408 || status == 429 || status == 409 || status == 412
}

pub(crate) fn describe(r: &Reply) -> String {
    let text = String::from_utf8_lossy(&r.body);
    let short: String = text.chars().take(300).collect();
    format!("HTTP {}: {short}", r.status)
}

async fn notify(t: &Trigger, url: &str) -> DispatchOutcome {
    let Some(secret) = opsflow_edge::variable("notify_signing_secret").await else {
        return failed(
            "notify_signing_secret is not set: notifications are disabled; set it, then replay",
            false,
        );
    };
    let Ok(secret) = Secret::parse(secret.split_whitespace().next().unwrap_or_default()) else {
        return failed("notify_signing_secret is not a whsec_ secret", false);
    };
    let value = t
        .value
        .map(|v| format!("{v:.4}"))
        .unwrap_or_else(|| "no data".into());
    let what = if t.repeat > 0 {
        format!(" (still firing, reminder {})", t.repeat)
    } else {
        String::new()
    };
    let text = format!(
        "[{:?}] {} — {}: value {} vs threshold {}{}",
        t.severity, t.rule_name, t.scope, value, t.fire_threshold, what
    );
    let body = serde_json::json!({ "text": text }).to_string().into_bytes();
    let timestamp = chrono::Utc::now().timestamp();
    let mut headers: Vec<(&str, String)> = vec![("content-type", "application/json".to_string())];
    for (k, v) in standard_webhook_headers(&secret, &t.id, timestamp, &body) {
        headers.push((k, v));
    }
    match send("POST", url, &headers, body).await {
        Ok(r) if (200..300).contains(&r.status) => {
            DispatchOutcome::Done(serde_json::json!({ "delivered_to": url, "status": r.status }))
        }
        Ok(r) => failed(describe(&r), retryable(r.status)),
        Err(e) => failed(format!("delivery failed: {e}"), true),
    }
}

pub(crate) async fn scheduler_auth() -> Result<String, DispatchOutcome> {
    match opsflow_edge::variable("scheduler_token").await {
        Some(t) => Ok(format!("Bearer {t}")),
        None => Err(failed(
            "scheduler_token is not set: cannot call the campaign workflow",
            false,
        )),
    }
}

/// Changes the campaign's channel plan through `PATCH /api/campaigns/{id}` with
/// `If-Match`, recomputing the plan from the current record on each attempt.
async fn adjust(
    kv: &SpinKv,
    t: &Trigger,
    plan: impl Fn(&Campaign) -> Option<BudgetShift>,
) -> DispatchOutcome {
    let Some(id) = &t.campaign_id else {
        return failed("this action needs a campaign", false);
    };
    let auth = match scheduler_auth().await {
        Ok(a) => a,
        Err(o) => return o,
    };
    let campaign = match Records::new(kv).get::<Campaign>(&ckeys::campaign(id)).await {
        Ok(Some(c)) => c,
        Ok(None) => return failed(format!("campaign {id} no longer exists"), false),
        Err(e) => return failed(format!("store: {e}"), true),
    };
    let Versioned { version, value } = campaign;
    let Some(shift) = plan(&value) else {
        return DispatchOutcome::Done(serde_json::json!({
            "changed": false,
            "note": "nothing to change within the guardrail",
        }));
    };
    let body = serde_json::json!({ "channels": shift.channels })
        .to_string()
        .into_bytes();
    let headers = [
        ("authorization", auth),
        ("content-type", "application/json".to_string()),
        ("if-match", format!("\"{version}\"")),
        ("idempotency-key", t.id.clone()),
    ];
    match send(
        "PATCH",
        &format!("{CAMPAIGNS}/api/campaigns/{id}"),
        &headers,
        body,
    )
    .await
    {
        Ok(r) if (200..300).contains(&r.status) => DispatchOutcome::Done(serde_json::json!({
            "changed": true,
            "from": shift.from, "to": shift.to,
            "amount_minor": shift.amount_minor, "percent": shift.percent,
            "before": shift.before, "after": shift.after,
            "campaign_version": version + 1,
        })),
        Ok(r) => failed(describe(&r), retryable(r.status)),
        Err(e) => failed(format!("campaign workflow unreachable: {e}"), true),
    }
}

/// Asks the campaign workflow for a rebalance proposal over the overallocated days.
async fn rebalance(t: &Trigger, now: i64) -> DispatchOutcome {
    let auth = match scheduler_auth().await {
        Ok(a) => a,
        Err(o) => return o,
    };
    let today = chrono::DateTime::from_timestamp(now, 0)
        .map(|d| d.date_naive().to_string())
        .unwrap_or_default();
    let from = t.context["from"]
        .as_str()
        .map(str::to_string)
        .unwrap_or(today.clone());
    let to = t.context["to"]
        .as_str()
        .map(str::to_string)
        .unwrap_or(today);
    let body = serde_json::json!({ "from": from, "to": to })
        .to_string()
        .into_bytes();
    let headers = [
        ("authorization", auth),
        ("content-type", "application/json".to_string()),
        ("idempotency-key", t.id.clone()),
    ];
    match send(
        "POST",
        &format!("{RESOURCES}/api/resources/rebalance-proposals"),
        &headers,
        body,
    )
    .await
    {
        Ok(r) if (200..300).contains(&r.status) => {
            let proposal: serde_json::Value =
                serde_json::from_slice(&r.body).unwrap_or(serde_json::Value::Null);
            DispatchOutcome::Done(serde_json::json!({
                "proposal_id": proposal["id"], "from": from, "to": to,
            }))
        }
        Ok(r) => failed(describe(&r), retryable(r.status)),
        Err(e) => failed(format!("campaign workflow unreachable: {e}"), true),
    }
}
