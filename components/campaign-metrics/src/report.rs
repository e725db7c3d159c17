//! `GET /api/campaigns/{id}/report`: the success report — actual against objective
//! per KPI, pace, the channel breakdown, triggers fired and actions taken — from
//! the campaign, its metric totals over its life and its audit log.

use chrono::{DateTime, Utc};
use opsflow_api::response::json_value;
use opsflow_api::{ApiResponse, Problem};
use opsflow_domain::campaign::{Campaign, ReportInputs, success_report};
use opsflow_edge::Ctx;
use opsflow_edge::handlers::{load_record, metric_totals};
use opsflow_store::keys::campaigns as keys;
use std::collections::BTreeMap;

/// Most audit entries a report reads (one `get_many` per 100).
const REPORT_AUDIT_LIMIT: usize = 10_000;

/// Triggers fired for the campaign and automated actions executed on it, counted
/// from its audit log — the record threshold-check and trigger-dispatch both write.
async fn automation_counts(ctx: &Ctx, id: &str) -> Result<(u64, u64), Problem> {
    let entries = opsflow_store::AuditLog::new(&ctx.kv, "campaign", id)
        .list(0, REPORT_AUDIT_LIMIT)
        .await?;
    let count = |action: &str| entries.iter().filter(|e| e.action == action).count() as u64;
    Ok((count("alert.fired"), count("trigger.executed")))
}

pub async fn report(ctx: &Ctx, id: &str) -> Result<ApiResponse, Problem> {
    let c: Campaign = load_record(ctx, "campaign", id, keys::campaign)
        .await?
        .value;
    let (totals, span) = metric_totals(ctx, &c, false).await?;
    let (fired, taken) = automation_counts(ctx, id).await?;
    let as_f64 = |m: &BTreeMap<String, i64>| {
        let mut out = BTreeMap::new();
        out.extend(m.iter().map(|(k, v)| (k.clone(), *v as f64)));
        out
    };
    let inputs = ReportInputs {
        kpi_totals: as_f64(&totals.by_kind),
        channel_totals: totals
            .by_channel
            .iter()
            .map(|(ch, m)| (ch.clone(), as_f64(m)))
            .collect(),
        triggers_fired: fired,
        actions_taken: taken,
    };
    let report = success_report(&c, &inputs, ctx.now);
    let mut body = json_value(&report)?;
    if let (Some(obj), Some((from, to))) = (body.as_object_mut(), span) {
        obj.insert(
            "window".into(),
            serde_json::json!({
                "from": DateTime::<Utc>::from_timestamp(from, 0),
                "to": DateTime::<Utc>::from_timestamp(to, 0),
            }),
        );
    }
    Ok(ApiResponse::json(200, &body))
}
