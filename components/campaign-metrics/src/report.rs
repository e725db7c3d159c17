//! `GET /api/campaigns/{id}/report`: the success report — actual against objective
//! per KPI, pace, the channel breakdown, triggers fired and actions taken — from
//! the campaign, its metric totals over its life and its audit log.

use chrono::{DateTime, Utc};
use opsflow_api::csv::{Cell, Csv, Format, json_varying};
use opsflow_api::response::json_value;
use opsflow_api::{ApiResponse, Problem};
use opsflow_domain::campaign::{Campaign, PaceStatus, ReportInputs, SuccessReport, success_report};
use opsflow_edge::Ctx;
use opsflow_edge::handlers::{audit_page, load_record, metric_totals};
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

/// `GET /api/campaigns/{id}/audit`: a page of the campaign's audit log (JSON or
/// CSV). Served here, beside the report that reads the same log, so the CSV writer
/// does not weigh on campaign-intake's `.wasm` (docs/decisions.md, "Exports").
pub async fn audit_log(ctx: &Ctx, id: &str) -> Result<ApiResponse, Problem> {
    load_record::<serde::de::IgnoredAny>(ctx, "campaign", id, keys::campaign).await?;
    audit_page(ctx, "campaign", id, &ctx.req).await
}

pub async fn report(ctx: &Ctx, id: &str) -> Result<ApiResponse, Problem> {
    let format = opsflow_api::csv::format(&ctx.req)?;
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
    if format == Format::Csv {
        return Ok(report_csv(&report).into_response(&format!("campaign-{id}-report.csv")));
    }
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
    Ok(json_varying(ApiResponse::json(200, &body)))
}

/// The CSV columns of the report (docs/decisions.md, "Exports"): one row per KPI
/// (`section` kpi), one per channel and counter (`section` channel; a planned
/// channel without counters has one row with an empty `metric`), and the
/// `triggers_fired` / `actions_taken` counts (`section` automation, in `actual`).
pub const REPORT_COLUMNS: &[&str] = &[
    "campaign_id",
    "section",
    "name",
    "metric",
    "target",
    "actual",
    "percent_achieved",
    "deadline",
    "deadline_passed",
    "met",
    "pace_status",
    "expected_fraction",
    "achieved_fraction",
    "planned",
    "budget_minor",
    "budget_used_percent",
];

fn pace_name(s: PaceStatus) -> &'static str {
    match s {
        PaceStatus::Ahead => "ahead",
        PaceStatus::OnTrack => "on_track",
        PaceStatus::Behind => "behind",
        PaceStatus::NoData => "no_data",
    }
}

fn report_csv(r: &SuccessReport) -> Csv {
    let mut csv = Csv::new(REPORT_COLUMNS);
    let id = || Cell::from(r.campaign_id.as_str());
    for k in &r.kpis {
        csv.row(&[
            id(),
            "kpi".into(),
            k.kpi.as_str().into(),
            k.kpi.as_str().into(),
            k.target.into(),
            k.actual.into(),
            k.percent_achieved.into(),
            k.deadline.to_rfc3339().into(),
            k.deadline_passed.into(),
            k.met.into(),
            pace_name(k.pace.status).into(),
            k.pace.expected_fraction.into(),
            k.pace.achieved_fraction.into(),
        ]);
    }
    for ch in &r.channels {
        let metrics: Vec<(Cell, Cell)> = if ch.metrics.is_empty() {
            vec![(Cell::Empty, Cell::Empty)]
        } else {
            ch.metrics
                .iter()
                .map(|(m, v)| (m.as_str().into(), (*v).into()))
                .collect()
        };
        for (metric, value) in metrics {
            csv.row(&[
                id(),
                "channel".into(),
                ch.channel.as_str().into(),
                metric,
                Cell::Empty,
                value,
                Cell::Empty,
                Cell::Empty,
                Cell::Empty,
                Cell::Empty,
                Cell::Empty,
                Cell::Empty,
                Cell::Empty,
                ch.planned.into(),
                ch.budget_minor.into(),
                ch.budget_used_percent.into(),
            ]);
        }
    }
    for (metric, n) in [
        ("triggers_fired", r.triggers_fired),
        ("actions_taken", r.actions_taken),
    ] {
        csv.row(&[
            id(),
            "automation".into(),
            Cell::Empty,
            metric.into(),
            Cell::Empty,
            n.into(),
        ]);
    }
    csv
}
