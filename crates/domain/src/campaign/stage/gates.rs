//! The gates: what must hold before a campaign may leave each stage.
//!
//! Where docs/design.md §3's gates sit, and why:
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

use super::Stage;
use crate::campaign::record::Campaign;
use crate::campaign::resources::{Allocation, Resource, utilization_map};
use crate::campaign::values::DateRange;
use crate::content::ContentState;

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
/// component fills it from the store before calling [`transition`](super::transition).
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
    pub(super) fn new(code: UnmetCode, message: impl Into<String>) -> Self {
        Unmet {
            code,
            message: message.into(),
            subject: None,
        }
    }

    pub(super) fn about(
        code: UnmetCode,
        subject: impl fmt::Display,
        message: impl Into<String>,
    ) -> Self {
        Unmet {
            code,
            message: message.into(),
            subject: Some(subject.to_string()),
        }
    }
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
    let days = c.schedule.days();
    let mut known: BTreeMap<&str, &Resource> = BTreeMap::new();
    known.extend(ctx.resources.iter().map(|r| (r.id.as_str(), r)));
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
    let mut unmet = schedule_coverage(days, &mine, &known);
    unmet.extend(overallocated_resources(
        days,
        &mine,
        &known,
        &ctx.allocations,
    ));
    unmet
}

/// Allocations of the campaign (`mine`) on resources that do not exist, then the
/// schedule days no allocation on a known resource covers.
fn schedule_coverage(
    days: DateRange,
    mine: &[&Allocation],
    known: &BTreeMap<&str, &Resource>,
) -> Vec<Unmet> {
    let mut unmet = Vec::new();
    let mut covered = BTreeSet::new();
    for a in mine {
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
    unmet
}

/// Resources overallocated on the schedule days this campaign holds them,
/// counting every allocation on them (`all`), whoever else holds them too.
fn overallocated_resources(
    days: DateRange,
    mine: &[&Allocation],
    known: &BTreeMap<&str, &Resource>,
    all: &[Allocation],
) -> Vec<Unmet> {
    let usage = utilization_map(all, days);
    let mut held: BTreeMap<&str, BTreeSet<NaiveDate>> = BTreeMap::new();
    for a in mine {
        if let Some(overlap) = a.days.intersect(&days) {
            held.entry(a.resource_id.as_str())
                .or_default()
                .extend(overlap.days());
        }
    }
    let mut unmet = Vec::new();
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

pub(super) fn linked(ctx: &GateContext) -> impl Iterator<Item = &ContentFact> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaign::input::tests::{campaign_from, ts, valid_input};
    use crate::campaign::resources::tests::allocation;
    use crate::campaign::stage::tests::{at_stage, codes, full_context, step};

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
}
