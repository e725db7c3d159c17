//! Handoffs: what a transition records about the stage being left — the
//! marketing and operations deliverables of the handoff table
//! ([`DeliverableKind`]), each with a one-line account of what was delivered.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use super::Stage;
use super::gates::{ContentFact, GateContext, linked};
use crate::campaign::record::{Campaign, Deliverable, DeliverableKind, Handoff};
use crate::campaign::resources::Allocation;
use crate::campaign::values::UserId;

/// The handoff of a transition from `from` to `to`: the (marketing, operations)
/// `deliverables` of the stage left, with their (marketing, operations) `summaries`.
pub(super) fn record(
    from: Stage,
    to: Stage,
    (marketing, operations): (DeliverableKind, DeliverableKind),
    (marketing_summary, operations_summary): (String, String),
    by: &UserId,
    now: DateTime<Utc>,
) -> Handoff {
    Handoff {
        from,
        to,
        marketing_deliverable: Deliverable {
            kind: marketing,
            summary: marketing_summary,
        },
        operations_deliverable: Deliverable {
            kind: operations,
            summary: operations_summary,
        },
        by: by.clone(),
        at: now,
    }
}

/// The summaries of a cancelled campaign's last stage: nothing was delivered.
pub(super) fn cancelled_summaries(from: Stage) -> (String, String) {
    let note = format!("not delivered: cancelled during {from}");
    (note.clone(), note)
}

/// One-line accounts of the deliverables of the stage being left, from the
/// facts its gate just checked.
pub(super) fn summaries(c: &Campaign, ctx: &GateContext) -> (String, String) {
    let channels = list(c.channels.iter().map(|p| p.channel.to_string()).collect());
    let content: Vec<&ContentFact> = linked(ctx).collect();
    match c.stage {
        Stage::Planning => planning_summaries(c, ctx),
        Stage::Production => (
            format!(
                "{} approved content item(s) on channels {channels}",
                content.len()
            ),
            format!(
                "all content due by {}; send plans on {channels}",
                c.schedule.start()
            ),
        ),
        Stage::Distribution => {
            let windows: usize = c
                .channels
                .iter()
                .filter_map(|p| p.send_plan.as_ref())
                .map(|p| p.windows.len())
                .sum();
            (
                format!("distributed on {channels}"),
                format!(
                    "{windows} send window(s) across {} channel(s)",
                    c.channels.len()
                ),
            )
        }
        Stage::Monitoring => (
            format!(
                "metrics recorded against {} KPI target(s)",
                c.objectives.len()
            ),
            format!(
                "{} monitoring rule(s) active",
                ctx.monitoring_rule_ids.len()
            ),
        ),
        Stage::Optimization => (
            format!("{} content item(s) approved at close", content.len()),
            "campaign closed through the optimization review".to_string(),
        ),
        Stage::Completed | Stage::Cancelled => (String::new(), String::new()),
    }
}

/// Planning's deliverables: the objectives, and the allocations booked for the schedule.
fn planning_summaries(c: &Campaign, ctx: &GateContext) -> (String, String) {
    let mine: Vec<&Allocation> = ctx
        .allocations
        .iter()
        .filter(|a| a.campaign_id == c.id)
        .collect();
    let mut resources = BTreeSet::new();
    resources.extend(mine.iter().map(|a| a.resource_id.as_str()));
    (
        format!(
            "{} objective(s): {}",
            c.objectives.len(),
            list(
                c.objectives
                    .iter()
                    .map(|o| format!("{} {}", o.kpi, o.target.value()))
                    .collect()
            )
        ),
        format!(
            "{} allocation(s) on {} resource(s) covering {}",
            mine.len(),
            resources.len(),
            c.schedule.days()
        ),
    )
}

/// The items joined with commas, or `none`.
fn list(items: Vec<String>) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use crate::campaign::DeliverableKind;
    use crate::campaign::stage::Stage;
    use crate::campaign::stage::tests::at_stage;

    #[test]
    fn the_whole_workflow_records_one_handoff_per_stage() {
        let c = at_stage(Stage::Completed);
        assert_eq!(c.version(), 6);
        let pairs: Vec<_> = c.handoffs().iter().map(|h| (h.from, h.to)).collect();
        assert_eq!(
            pairs,
            [
                (Stage::Planning, Stage::Production),
                (Stage::Production, Stage::Distribution),
                (Stage::Distribution, Stage::Monitoring),
                (Stage::Monitoring, Stage::Optimization),
                (Stage::Optimization, Stage::Completed),
            ]
        );
        let h = &c.handoffs()[0];
        assert_eq!(h.marketing_deliverable.kind, DeliverableKind::Objectives);
        assert_eq!(
            h.operations_deliverable.kind,
            DeliverableKind::ResourceAllocation
        );
        assert_eq!(h.by.as_str(), "otto");
    }
}
