//! Campaigns (docs/design.md §3): the campaign record and its input documents, the stage
//! machine with its gates and handoffs, resources and allocations with
//! utilization and rebalancing, and the success report.
//!
//! Everything is pure: ids and `now` are arguments; the component loads the
//! facts (content items, allocations, counters) from the store and passes them in.
//!
//! Typical use in a handler:
//! - create: `CampaignInput` → [`CampaignInput::parse`] → [`Campaign::create`]
//! - update: [`CampaignPatch`] → [`Campaign::apply_patch`] (version + 1) or a [`PatchError`]
//! - transition: [`TransitionInput`] + [`GateContext`] → [`transition`] →
//!   [`Transitioned`] or a [`Refusal`] listing the unmet items (409)
//! - resources: [`ResourceInput::parse`], [`AllocationInput::parse`],
//!   [`utilization`], [`overallocations`], [`propose_rebalance`],
//!   [`decide_rebalance`], [`apply_proposal`] (or all three on a [`PlanningBook`])
//! - report: [`success_report`]
#![deny(missing_docs)]

mod book;
mod input;
mod patch;
mod record;
mod report;
mod resources;
mod stage;
mod values;

pub use book::{BookError, KEEP_DECIDED, MAX_PENDING, PlanningBook, Proposed};
pub use input::{
    CampaignInput, ChannelInput, MAX_CHANNELS, MAX_FALLBACKS, MAX_OBJECTIVES, MAX_RULES,
    MAX_SENDS_PER_DAY, MAX_WINDOWS, NewCampaign, ObjectiveInput, PriorityInput, ScheduleInput,
    SendPlanInput, WindowInput,
};
pub use patch::{CampaignPatch, PatchError};
pub use record::{
    Campaign, ChannelPlan, Deliverable, DeliverableKind, Handoff, Objective, SendPlan, SendWindow,
};
pub use report::{
    ChannelBreakdown, KpiProgress, PACE_TOLERANCE, Pace, PaceStatus, ReportInputs, SPEND_METRIC,
    SuccessReport, success_report,
};
pub use resources::{
    Allocation, AllocationInput, Amount, ApplyError, DayUtilization, MAX_SKILLS, Move,
    Overallocation, ProposalRefusal, ProposalStatus, RebalanceDecision, RebalanceDecisionInput,
    RebalanceProposal, Resource, ResourceInput, ResourceKind, ResourcePatch, ResourceUtilization,
    Unit, apply_proposal, decide_rebalance, overallocations, propose_rebalance, utilization,
};
pub use stage::{
    ContentFact, GateContext, Refusal, Stage, TransitionInput, Transitioned, Unmet, UnmetCode,
    gate, transition,
};
pub use values::{
    CampaignName, Channel, ChannelBudget, DateRange, ExternalId, Kpi, KpiTarget, MAX_MINOR_UNITS,
    MAX_SPAN_DAYS, Priority, ResourceName, Schedule, Skill, UserId, parse_day, parse_day_range,
    parse_instant,
};
