//! The stage machine and its gates.
//!
//! ```text
//! planning → production → distribution → monitoring → optimization → completed
//!     └──────────┴────────────┴─────────────┴─────────────┴──→ cancelled
//! ```
//!
//! A transition goes to the next stage only (no skipping, no going back), or to
//! `cancelled` from any non-terminal stage without a gate. Each forward
//! transition is guarded by the gate of the stage being left; the gate lists every
//! unmet item at once. Where DESIGN §3's gates sit, and why:
//!
//! | leaving | gate | why here |
//! |---|---|---|
//! | planning | **resource planning**: allocations cover every schedule day, no resource the campaign uses is overallocated on those days | production is work; it needs people, teams and budget booked first |
//! | production | **content coordination**: content linked on every channel, every item due no later than the schedule start (distribution start); **distribution planning**: at least one channel and a send plan on each; **quality validation**: every linked item approved | nothing leaves the building before it is approved and its timing planned |
//! | distribution | **performance setup**: at least one KPI target, at least one monitoring rule applying to the campaign, and every rule the campaign names exists | monitoring without targets and rules watches nothing |
//! | monitoring | **performance analysis**: at least one metric sample recorded | optimizing needs something measured to optimize against |
//! | optimization | **quality validation** again: every linked item approved | optimization may refresh or swap content (an edit sends an item back to review); the campaign closes only on approved content |
//!
//! Withdrawn content is not "linked" for any gate.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::record::{Campaign, Deliverable, DeliverableKind, Handoff};
use super::resources::{Allocation, Resource, utilization_map};
use super::validation::ParseError;
use super::values::{DateRange, UserId};

/// Where a campaign is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Objectives and resources are being planned.
    Planning,
    /// Content is being produced.
    Production,
    /// Content is going out on the channels.
    Distribution,
    /// Performance is being watched.
    Monitoring,
    /// The campaign is being tuned on what was measured.
    Optimization,
    /// Finished (terminal).
    Completed,
    /// Stopped before completion (terminal).
    Cancelled,
}

impl Stage {
    /// Every stage, in machine order.
    pub const ALL: [Stage; 7] = [
        Stage::Planning,
        Stage::Production,
        Stage::Distribution,
        Stage::Monitoring,
        Stage::Optimization,
        Stage::Completed,
        Stage::Cancelled,
    ];

    /// The wire name (`planning`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Planning => "planning",
            Stage::Production => "production",
            Stage::Distribution => "distribution",
            Stage::Monitoring => "monitoring",
            Stage::Optimization => "optimization",
            Stage::Completed => "completed",
            Stage::Cancelled => "cancelled",
        }
    }

    /// Parses a wire name (e.g. a `?stage=` filter).
    pub fn parse(raw: &str) -> Result<Stage, ParseError> {
        Stage::ALL
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or(ParseError::Format(
                "must be one of planning, production, distribution, monitoring, optimization, completed, cancelled",
            ))
    }

    /// The one stage a forward transition may enter; `None` for terminal stages.
    pub fn next(self) -> Option<Stage> {
        match self {
            Stage::Planning => Some(Stage::Production),
            Stage::Production => Some(Stage::Distribution),
            Stage::Distribution => Some(Stage::Monitoring),
            Stage::Monitoring => Some(Stage::Optimization),
            Stage::Optimization => Some(Stage::Completed),
            Stage::Completed | Stage::Cancelled => None,
        }
    }

    /// True for `completed` and `cancelled`: no transition leaves them.
    pub fn is_terminal(self) -> bool {
        self.next().is_none()
    }

    /// The (marketing, operations) deliverables of this stage in the handoff
    /// table; `None` for terminal stages.
    pub fn deliverables(self) -> Option<(DeliverableKind, DeliverableKind)> {
        use DeliverableKind as D;
        match self {
            Stage::Planning => Some((D::Objectives, D::ResourceAllocation)),
            Stage::Production => Some((D::Content, D::WorkflowCoordination)),
            Stage::Distribution => Some((D::ChannelStrategy, D::TimingOptimization)),
            Stage::Monitoring => Some((D::PerformanceAnalysis, D::SystemMonitoring)),
            Stage::Optimization => Some((D::StrategyAdjustment, D::ProcessImprovement)),
            Stage::Completed | Stage::Cancelled => None,
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A content item's state, as the content-approval component reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum ContentState {
    Draft,
    InReview,
    ChangesRequested,
    Approved,
    Scheduled,
    Published,
    Withdrawn,
}

impl ContentState {
    /// Approved, or further along (scheduled, published).
    pub fn is_approved(self) -> bool {
        match self {
            ContentState::Approved | ContentState::Scheduled | ContentState::Published => true,
            ContentState::Draft
            | ContentState::InReview
            | ContentState::ChangesRequested
            | ContentState::Withdrawn => false,
        }
    }
}

/// What a gate needs to know about one content item of the campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContentFact {
    /// Content item id.
    pub id: String,
    /// The channel it is for.
    pub channel: String,
    /// Its current state.
    pub state: ContentState,
    /// When it is due, if set.
    pub due: Option<DateTime<Utc>>,
}

/// The facts outside the campaign record that the gates read. Plain data: the
/// component fills it from the store before calling [`transition`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateContext {
    /// Content items whose campaign is this one (withdrawn ones may be included; they are ignored).
    pub content: Vec<ContentFact>,
    /// The resources this campaign's allocations use.
    pub resources: Vec<Resource>,
    /// Every allocation, of any campaign, on those resources that overlaps the
    /// schedule days (other campaigns' allocations count towards overallocation).
    pub allocations: Vec<Allocation>,
    /// Ids of the monitoring rules that exist and apply to this campaign.
    pub monitoring_rule_ids: Vec<String>,
    /// Whether at least one metric sample has been recorded for the campaign.
    pub metrics_present: bool,
}

/// A stable, machine-readable reason a transition was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnmetCode {
    /// The campaign is completed or cancelled.
    TerminalStage,
    /// The target is not the next stage (skipping, going back, staying).
    NotNextStage,
    /// No allocation for this campaign.
    NoAllocations,
    /// Schedule days without any allocation (subject: the day range).
    ScheduleNotCovered,
    /// An allocation names a resource the context does not have (subject: allocation id).
    AllocationResourceMissing,
    /// A resource the campaign uses is overallocated on a schedule day (subject: resource id).
    ResourceOverallocated,
    /// No content linked.
    NoContent,
    /// A planned channel has no content (subject: channel).
    ChannelWithoutContent,
    /// A content item has no due date (subject: content id).
    ContentDueMissing,
    /// A content item is due after distribution starts (subject: content id).
    ContentDueAfterStart,
    /// A content item is not approved (subject: content id).
    ContentNotApproved,
    /// The campaign has no channel.
    NoChannels,
    /// A channel has no send plan (subject: channel).
    SendPlanMissing,
    /// The campaign has no objective.
    NoKpiTargets,
    /// No monitoring rule applies to the campaign.
    NoMonitoringRules,
    /// A monitoring rule the campaign names does not exist (subject: rule id).
    MonitoringRuleMissing,
    /// No metric sample recorded yet.
    NoMetrics,
}

/// One unmet item of a gate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unmet {
    /// Stable machine code.
    pub code: UnmetCode,
    /// What to do about it, for a person.
    pub message: String,
    /// The item concerned (a channel, a content id, a resource id, a day range).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

impl Unmet {
    fn new(code: UnmetCode, message: impl Into<String>) -> Self {
        Unmet {
            code,
            message: message.into(),
            subject: None,
        }
    }

    fn about(code: UnmetCode, subject: impl fmt::Display, message: impl Into<String>) -> Self {
        Unmet {
            code,
            message: message.into(),
            subject: Some(subject.to_string()),
        }
    }
}

/// A refused transition and every reason for it (a 409 with the list).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Error)]
#[error("cannot move the campaign from {from} to {to}: {}", messages(.unmet))]
#[serde(deny_unknown_fields)]
pub struct Refusal {
    /// The campaign's stage.
    pub from: Stage,
    /// The stage asked for.
    pub to: Stage,
    /// Everything that must change first; never empty.
    pub unmet: Vec<Unmet>,
}

fn messages(unmet: &[Unmet]) -> String {
    unmet
        .iter()
        .map(|u| u.message.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

/// A transition that happened: the updated campaign and the handoff it recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transitioned {
    /// The campaign in its new stage, `version + 1`.
    pub campaign: Campaign,
    /// The handoff appended to it.
    pub handoff: Handoff,
}

/// The transition request body (`POST /api/campaigns/{id}/transitions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransitionInput {
    /// The stage to enter.
    pub target: Stage,
}

/// Moves `campaign` to `target` if the gate of its current stage holds.
///
/// `by` is recorded on the handoff; whether `by` may do this is the caller's
/// decision (roles live at the HTTP edge).
pub fn transition(
    campaign: &Campaign,
    target: Stage,
    ctx: &GateContext,
    by: &UserId,
    now: DateTime<Utc>,
) -> Result<Transitioned, Refusal> {
    let from = campaign.stage;
    let refuse = |unmet: Vec<Unmet>| Refusal {
        from,
        to: target,
        unmet,
    };
    let Some((marketing, operations)) = from.deliverables() else {
        return Err(refuse(vec![Unmet::new(
            UnmetCode::TerminalStage,
            format!("the campaign is {from}; no transition leaves it"),
        )]));
    };
    let (marketing_summary, operations_summary) = if target == Stage::Cancelled {
        // Cancelling needs no gate: stopping a campaign must always be possible.
        let note = format!("not delivered: cancelled during {from}");
        (note.clone(), note)
    } else if from.next() != Some(target) {
        let next = from.next().map_or("none", Stage::as_str);
        return Err(refuse(vec![Unmet::new(
            UnmetCode::NotNextStage,
            format!(
                "stages cannot be skipped or revisited: from {from} the next stage is {next} (or cancelled)"
            ),
        )]));
    } else {
        let unmet = gate(campaign, ctx);
        if !unmet.is_empty() {
            return Err(refuse(unmet));
        }
        summaries(campaign, ctx)
    };
    let handoff = Handoff {
        from,
        to: target,
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
    };
    let mut next = campaign.clone();
    next.stage = target;
    next.version = campaign.version.saturating_add(1);
    next.updated_at = now;
    next.handoffs.push(handoff.clone());
    Ok(Transitioned {
        campaign: next,
        handoff,
    })
}

/// The unmet items of the gate out of the campaign's current stage (empty when
/// the next forward transition would be allowed). Lets a client show what is
/// missing before asking.
pub fn gate(campaign: &Campaign, ctx: &GateContext) -> Vec<Unmet> {
    match campaign.stage {
        Stage::Planning => resource_planning(campaign, ctx),
        Stage::Production => {
            let mut unmet = content_coordination(campaign, ctx);
            unmet.extend(distribution_planning(campaign));
            unmet.extend(quality_validation(ctx));
            unmet
        }
        Stage::Distribution => performance_setup(campaign, ctx),
        Stage::Monitoring => performance_analysis(ctx),
        Stage::Optimization => quality_validation(ctx),
        Stage::Completed | Stage::Cancelled => vec![Unmet::new(
            UnmetCode::TerminalStage,
            format!(
                "the campaign is {}; no transition leaves it",
                campaign.stage
            ),
        )],
    }
}

fn resource_planning(c: &Campaign, ctx: &GateContext) -> Vec<Unmet> {
    let mut unmet = Vec::new();
    let days = c.schedule.days();
    let known: BTreeMap<&str, &Resource> =
        ctx.resources.iter().map(|r| (r.id.as_str(), r)).collect();
    let mine: Vec<&Allocation> = ctx
        .allocations
        .iter()
        .filter(|a| a.campaign_id == c.id)
        .collect();
    if mine.is_empty() {
        return vec![Unmet::new(
            UnmetCode::NoAllocations,
            "allocate resources to the campaign for its schedule",
        )];
    }
    let mut covered = BTreeSet::new();
    for a in &mine {
        if !known.contains_key(a.resource_id.as_str()) {
            unmet.push(Unmet::about(
                UnmetCode::AllocationResourceMissing,
                &a.id,
                format!(
                    "allocation {} names resource {}, which does not exist",
                    a.id, a.resource_id
                ),
            ));
            continue;
        }
        if let Some(overlap) = a.days.intersect(&days) {
            covered.extend(overlap.days());
        }
    }
    for gap in gaps(days, &covered) {
        unmet.push(Unmet::about(
            UnmetCode::ScheduleNotCovered,
            gap,
            format!("no resource is allocated on {gap}"),
        ));
    }
    // Overallocation on the days this campaign holds the resource, whoever else does too.
    let usage = utilization_map(&ctx.allocations, days);
    let mut held: BTreeMap<&str, BTreeSet<NaiveDate>> = BTreeMap::new();
    for a in &mine {
        if let Some(overlap) = a.days.intersect(&days) {
            held.entry(a.resource_id.as_str())
                .or_default()
                .extend(overlap.days());
        }
    }
    for (resource_id, held_days) in held {
        let Some(resource) = known.get(resource_id) else {
            continue;
        };
        let capacity = resource.capacity_per_day.value();
        let over: Vec<(NaiveDate, i64)> = held_days
            .iter()
            .filter_map(|d| {
                let allocated = usage.get(&(resource_id, *d)).copied().unwrap_or(0);
                (allocated > capacity).then_some((*d, allocated))
            })
            .collect();
        if let Some((first, allocated)) = over.first() {
            unmet.push(Unmet::about(
                UnmetCode::ResourceOverallocated,
                resource_id,
                format!(
                    "resource {resource_id} is overallocated on {} day(s), first {first}: {allocated} of {capacity} {} allocated",
                    over.len(),
                    resource.kind.unit().as_str(),
                ),
            ));
        }
    }
    unmet
}

/// Maximal runs of days in `range` that are not in `covered`.
fn gaps(range: DateRange, covered: &BTreeSet<NaiveDate>) -> Vec<DateRange> {
    let mut out = Vec::new();
    let mut run: Option<(NaiveDate, NaiveDate)> = None;
    for d in range.days() {
        if covered.contains(&d) {
            if let Some((a, b)) = run.take() {
                out.extend(DateRange::parse(a, b).ok());
            }
        } else {
            run = Some(run.map_or((d, d), |(a, _)| (a, d)));
        }
    }
    if let Some((a, b)) = run {
        out.extend(DateRange::parse(a, b).ok());
    }
    out
}

fn linked(ctx: &GateContext) -> impl Iterator<Item = &ContentFact> {
    ctx.content
        .iter()
        .filter(|i| i.state != ContentState::Withdrawn)
}

fn content_coordination(c: &Campaign, ctx: &GateContext) -> Vec<Unmet> {
    let mut unmet = Vec::new();
    if linked(ctx).next().is_none() {
        unmet.push(Unmet::new(
            UnmetCode::NoContent,
            "link at least one content item to the campaign",
        ));
    }
    for plan in &c.channels {
        if !linked(ctx).any(|i| i.channel == plan.channel.as_str()) {
            unmet.push(Unmet::about(
                UnmetCode::ChannelWithoutContent,
                &plan.channel,
                format!("channel {} has no content", plan.channel),
            ));
        }
    }
    let start = c.schedule.start();
    for item in linked(ctx) {
        match item.due {
            None => unmet.push(Unmet::about(
                UnmetCode::ContentDueMissing,
                &item.id,
                format!("content {} has no due date", item.id),
            )),
            Some(due) if due > start => unmet.push(Unmet::about(
                UnmetCode::ContentDueAfterStart,
                &item.id,
                format!(
                    "content {} is due {due}, after distribution starts ({start})",
                    item.id
                ),
            )),
            Some(_) => {}
        }
    }
    unmet
}

fn distribution_planning(c: &Campaign) -> Vec<Unmet> {
    if c.channels.is_empty() {
        return vec![Unmet::new(
            UnmetCode::NoChannels,
            "add at least one channel to the channel strategy",
        )];
    }
    c.channels
        .iter()
        .filter(|p| p.send_plan.is_none())
        .map(|p| {
            Unmet::about(
                UnmetCode::SendPlanMissing,
                &p.channel,
                format!("channel {} has no send plan", p.channel),
            )
        })
        .collect()
}

fn quality_validation(ctx: &GateContext) -> Vec<Unmet> {
    linked(ctx)
        .filter(|i| !i.state.is_approved())
        .map(|i| {
            Unmet::about(
                UnmetCode::ContentNotApproved,
                &i.id,
                format!("content {} is not approved", i.id),
            )
        })
        .collect()
}

fn performance_setup(c: &Campaign, ctx: &GateContext) -> Vec<Unmet> {
    let mut unmet = Vec::new();
    if c.objectives.is_empty() {
        unmet.push(Unmet::new(
            UnmetCode::NoKpiTargets,
            "set at least one objective with a KPI target",
        ));
    }
    if ctx.monitoring_rule_ids.is_empty() {
        unmet.push(Unmet::new(
            UnmetCode::NoMonitoringRules,
            "set up at least one monitoring rule for the campaign",
        ));
    }
    for id in &c.monitoring_rule_ids {
        if !ctx.monitoring_rule_ids.iter().any(|r| r == id.as_str()) {
            unmet.push(Unmet::about(
                UnmetCode::MonitoringRuleMissing,
                id,
                format!("monitoring rule {id} does not exist"),
            ));
        }
    }
    unmet
}

fn performance_analysis(ctx: &GateContext) -> Vec<Unmet> {
    if ctx.metrics_present {
        Vec::new()
    } else {
        vec![Unmet::new(
            UnmetCode::NoMetrics,
            "no metrics recorded yet: performance cannot be analysed",
        )]
    }
}

/// One-line accounts of the deliverables of the stage being left, from the
/// facts its gate just checked.
fn summaries(c: &Campaign, ctx: &GateContext) -> (String, String) {
    let list = |items: Vec<String>| {
        if items.is_empty() {
            "none".to_string()
        } else {
            items.join(", ")
        }
    };
    let channels = list(c.channels.iter().map(|p| p.channel.to_string()).collect());
    let content: Vec<&ContentFact> = linked(ctx).collect();
    match c.stage {
        Stage::Planning => {
            let mine: Vec<&Allocation> = ctx
                .allocations
                .iter()
                .filter(|a| a.campaign_id == c.id)
                .collect();
            let resources: BTreeSet<&str> = mine.iter().map(|a| a.resource_id.as_str()).collect();
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

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::campaign::input::tests::{campaign_from, ts, user, valid_input};
    use crate::campaign::resources::ResourceKind;
    use crate::campaign::resources::tests::{allocation, resource};
    use proptest::prelude::*;

    /// A context under which every gate of the fixture campaign holds.
    pub(in crate::campaign) fn full_context() -> GateContext {
        GateContext {
            content: vec![ContentFact {
                id: "ct1".into(),
                channel: "email".into(),
                state: ContentState::Approved,
                due: Some(ts("2030-02-20T00:00:00Z")),
            }],
            resources: vec![resource("ann", ResourceKind::Person, 8, &["copywriting"])],
            allocations: vec![allocation("a1", "ann", "c1", "2030-03-01", "2030-03-31", 4)],
            monitoring_rule_ids: vec!["rule-1".into()],
            metrics_present: true,
        }
    }

    fn codes(r: Result<Transitioned, Refusal>) -> Vec<UnmetCode> {
        match r {
            Ok(_) => vec![],
            Err(refusal) => refusal.unmet.into_iter().map(|u| u.code).collect(),
        }
    }

    /// Walks the fixture campaign forward to `stage` under a full context.
    fn at_stage(stage: Stage) -> Campaign {
        let mut c = campaign_from(valid_input());
        let ctx = full_context();
        while c.stage != stage {
            let Some(next) = c.stage.next() else { break };
            match transition(&c, next, &ctx, &user("otto"), ts("2030-03-02T00:00:00Z")) {
                Ok(t) => c = t.campaign,
                Err(e) => panic!("fixture walk refused: {e}"),
            }
        }
        c
    }

    fn step(c: &Campaign, ctx: &GateContext) -> Result<Transitioned, Refusal> {
        let next = c.stage.next().unwrap_or(Stage::Completed);
        transition(c, next, ctx, &user("otto"), ts("2030-03-02T00:00:00Z"))
    }

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

    #[test]
    fn planning_gate_needs_allocations() {
        let c = at_stage(Stage::Planning);
        let ctx = GateContext {
            allocations: vec![],
            ..full_context()
        };
        assert_eq!(codes(step(&c, &ctx)), [UnmetCode::NoAllocations]);
    }

    #[test]
    fn planning_gate_needs_every_schedule_day_covered() {
        let c = at_stage(Stage::Planning);
        let ctx = GateContext {
            allocations: vec![
                allocation("a1", "ann", "c1", "2030-03-01", "2030-03-10", 4),
                allocation("a2", "ann", "c1", "2030-03-20", "2030-03-29", 4),
            ],
            ..full_context()
        };
        match step(&c, &ctx) {
            Err(r) => {
                let subjects: Vec<_> = r.unmet.iter().filter_map(|u| u.subject.clone()).collect();
                assert_eq!(
                    subjects,
                    ["2030-03-11..2030-03-19", "2030-03-30..2030-03-31"]
                );
                assert!(
                    r.unmet
                        .iter()
                        .all(|u| u.code == UnmetCode::ScheduleNotCovered)
                );
            }
            Ok(_) => panic!("gaps must be refused"),
        }
    }

    #[test]
    fn planning_gate_refuses_overallocation_including_other_campaigns_load() {
        let c = at_stage(Stage::Planning);
        let mut ctx = full_context();
        ctx.allocations.push(allocation(
            "b1",
            "ann",
            "other",
            "2030-03-05",
            "2030-03-06",
            6,
        ));
        match step(&c, &ctx) {
            Err(r) => {
                assert_eq!(r.unmet.len(), 1);
                assert_eq!(r.unmet[0].code, UnmetCode::ResourceOverallocated);
                assert_eq!(r.unmet[0].subject.as_deref(), Some("ann"));
                assert!(
                    r.unmet[0]
                        .message
                        .contains("2 day(s), first 2030-03-05: 10 of 8 hours")
                );
            }
            Ok(_) => panic!("overallocation must be refused"),
        }
    }

    #[test]
    fn planning_gate_flags_allocations_on_unknown_resources() {
        let c = at_stage(Stage::Planning);
        let mut ctx = full_context();
        ctx.allocations.push(allocation(
            "a9",
            "ghost",
            "c1",
            "2030-03-01",
            "2030-03-02",
            1,
        ));
        assert_eq!(
            codes(step(&c, &ctx)),
            [UnmetCode::AllocationResourceMissing]
        );
    }

    #[test]
    fn production_gate_lists_every_content_and_plan_problem() {
        let mut input = valid_input();
        let mut social = input.channels[0].clone();
        social.channel = Some("social".into());
        social.fallback_channels.clear();
        social.send_plan = None;
        input.channels.push(social);
        let c = campaign_from(input);
        let c = match step(&c, &full_context()) {
            Ok(t) => t.campaign,
            Err(e) => panic!("{e}"),
        };
        let ctx = GateContext {
            content: vec![
                ContentFact {
                    id: "late".into(),
                    channel: "email".into(),
                    state: ContentState::InReview,
                    due: Some(ts("2030-03-05T00:00:00Z")),
                },
                ContentFact {
                    id: "nodue".into(),
                    channel: "email".into(),
                    state: ContentState::Approved,
                    due: None,
                },
                ContentFact {
                    id: "gone".into(),
                    channel: "social".into(),
                    state: ContentState::Withdrawn,
                    due: None,
                },
            ],
            ..full_context()
        };
        assert_eq!(
            codes(step(&c, &ctx)),
            [
                UnmetCode::ChannelWithoutContent,
                UnmetCode::ContentDueAfterStart,
                UnmetCode::ContentDueMissing,
                UnmetCode::SendPlanMissing,
                UnmetCode::ContentNotApproved,
            ]
        );
    }

    #[test]
    fn production_gate_needs_content_and_channels() {
        let mut input = valid_input();
        input.channels.clear();
        let c = campaign_from(input);
        let c = match step(&c, &full_context()) {
            Ok(t) => t.campaign,
            Err(e) => panic!("{e}"),
        };
        let ctx = GateContext {
            content: vec![],
            ..full_context()
        };
        assert_eq!(
            codes(step(&c, &ctx)),
            [UnmetCode::NoContent, UnmetCode::NoChannels]
        );
    }

    #[test]
    fn distribution_gate_needs_targets_and_rules() {
        let mut input = valid_input();
        input.objectives.clear();
        input.monitoring_rule_ids = vec!["rule-1".into(), "rule-9".into()];
        let mut c = campaign_from(input);
        let ctx = full_context();
        for _ in 0..2 {
            c = match step(&c, &ctx) {
                Ok(t) => t.campaign,
                Err(e) => panic!("{e}"),
            };
        }
        assert_eq!(c.stage(), Stage::Distribution);
        let empty = GateContext {
            monitoring_rule_ids: vec![],
            ..full_context()
        };
        assert_eq!(
            codes(step(&c, &empty)),
            [
                UnmetCode::NoKpiTargets,
                UnmetCode::NoMonitoringRules,
                UnmetCode::MonitoringRuleMissing,
                UnmetCode::MonitoringRuleMissing,
            ]
        );
        assert_eq!(
            codes(step(&c, &ctx)),
            [UnmetCode::NoKpiTargets, UnmetCode::MonitoringRuleMissing]
        );
    }

    #[test]
    fn monitoring_gate_needs_metrics() {
        let c = at_stage(Stage::Monitoring);
        let ctx = GateContext {
            metrics_present: false,
            ..full_context()
        };
        assert_eq!(codes(step(&c, &ctx)), [UnmetCode::NoMetrics]);
        assert!(step(&c, &full_context()).is_ok());
    }

    #[test]
    fn optimization_gate_needs_all_content_approved() {
        let c = at_stage(Stage::Optimization);
        let mut ctx = full_context();
        ctx.content[0].state = ContentState::ChangesRequested;
        assert_eq!(codes(step(&c, &ctx)), [UnmetCode::ContentNotApproved]);
        ctx.content[0].state = ContentState::Published;
        assert!(step(&c, &ctx).is_ok());
    }

    #[test]
    fn skipping_going_back_and_staying_are_refused() {
        let c = at_stage(Stage::Production);
        let ctx = full_context();
        for target in [
            Stage::Planning,
            Stage::Production,
            Stage::Monitoring,
            Stage::Optimization,
            Stage::Completed,
        ] {
            let r = transition(&c, target, &ctx, &user("otto"), ts("2030-03-02T00:00:00Z"));
            assert_eq!(codes(r), [UnmetCode::NotNextStage], "target {target}");
        }
    }

    #[test]
    fn cancel_works_from_every_open_stage_without_a_gate_and_is_final() {
        for stage in [
            Stage::Planning,
            Stage::Production,
            Stage::Distribution,
            Stage::Monitoring,
            Stage::Optimization,
        ] {
            let c = at_stage(stage);
            let t = transition(
                &c,
                Stage::Cancelled,
                &GateContext::default(),
                &user("mia"),
                ts("2030-03-03T00:00:00Z"),
            );
            let Ok(t) = t else {
                panic!("cancel from {stage} refused")
            };
            assert_eq!(t.campaign.stage(), Stage::Cancelled);
            assert_eq!(t.handoff.from, stage);
            assert_eq!(t.campaign.version(), c.version() + 1);
            for target in Stage::ALL {
                let again = transition(
                    &t.campaign,
                    target,
                    &full_context(),
                    &user("mia"),
                    ts("2030-03-04T00:00:00Z"),
                );
                assert_eq!(codes(again), [UnmetCode::TerminalStage]);
            }
        }
        let done = at_stage(Stage::Completed);
        let r = transition(
            &done,
            Stage::Cancelled,
            &full_context(),
            &user("mia"),
            ts("2030-04-02T00:00:00Z"),
        );
        assert_eq!(codes(r), [UnmetCode::TerminalStage]);
    }

    #[test]
    fn refusal_serializes_with_stable_codes() {
        let c = at_stage(Stage::Monitoring);
        let r = step(&c, &GateContext::default());
        let json = r.err().and_then(|r| serde_json::to_value(r).ok());
        assert_eq!(
            json,
            Some(serde_json::json!({
                "from": "monitoring",
                "to": "optimization",
                "unmet": [{"code": "no_metrics", "message": "no metrics recorded yet: performance cannot be analysed"}]
            }))
        );
    }

    /// Which gates a generated context satisfies.
    #[derive(Debug, Clone, Copy)]
    struct Facts {
        allocated: bool,
        content_on_time: bool,
        approved: bool,
        rules: bool,
        metrics: bool,
    }

    fn context_of(f: Facts) -> GateContext {
        let mut ctx = full_context();
        if !f.allocated {
            ctx.allocations.clear();
        }
        if !f.content_on_time {
            ctx.content[0].due = Some(ts("2030-03-10T00:00:00Z"));
        }
        if !f.approved {
            ctx.content[0].state = ContentState::InReview;
        }
        if !f.rules {
            ctx.monitoring_rule_ids.clear();
        }
        ctx.metrics_present = f.metrics;
        ctx
    }

    /// The gates as an independent table: what must hold to leave `from`.
    fn oracle(from: Stage, f: Facts) -> bool {
        match from {
            Stage::Planning => f.allocated,
            Stage::Production => f.content_on_time && f.approved,
            Stage::Distribution => f.rules,
            Stage::Monitoring => f.metrics,
            Stage::Optimization => f.approved,
            Stage::Completed | Stage::Cancelled => false,
        }
    }

    fn facts() -> impl Strategy<Value = Facts> {
        // Mostly-true facts, so that generated walks often get far.
        let b = || proptest::bool::weighted(0.8);
        (b(), b(), b(), b(), b()).prop_map(
            |(allocated, content_on_time, approved, rules, metrics)| Facts {
                allocated,
                content_on_time,
                approved,
                rules,
                metrics,
            },
        )
    }

    proptest! {
        #[test]
        fn no_sequence_reaches_completed_without_passing_every_gate(
            steps in proptest::collection::vec(
                (prop_oneof![4 => Just(None), 1 => (0usize..7).prop_map(Some)], facts()),
                0..40,
            )
        ) {
            let mut c = campaign_from(valid_input());
            for (target, f) in steps {
                // `None`: ask for the next stage (the interesting case), else any stage.
                let from = c.stage;
                let target = target.map_or(from.next().unwrap_or(Stage::Completed), |i| Stage::ALL[i]);
                let result = transition(&c, target, &context_of(f), &user("otto"), ts("2030-03-02T00:00:00Z"));
                let allowed = !from.is_terminal()
                    && (target == Stage::Cancelled || (from.next() == Some(target) && oracle(from, f)));
                prop_assert_eq!(result.is_ok(), allowed, "{} -> {} with {:?}", from, target, f);
                match result {
                    Ok(t) => {
                        prop_assert_eq!(t.campaign.version(), c.version() + 1);
                        c = t.campaign;
                    }
                    Err(r) => prop_assert!(!r.unmet.is_empty()),
                }
            }
            if c.stage() == Stage::Completed {
                let pairs: Vec<_> = c.handoffs().iter().map(|h| (h.from, h.to)).collect();
                let chain: Vec<_> = Stage::ALL[..5].iter().map(|s| (*s, s.next().unwrap_or(*s))).collect();
                prop_assert_eq!(pairs, chain);
            }
        }
    }
}
