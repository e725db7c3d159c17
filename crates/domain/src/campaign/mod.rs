//! Campaigns (DESIGN §3): the campaign record and its input documents, the stage
//! machine with its gates and handoffs, resources and allocations with
//! utilization and rebalancing, and the success report.
//!
//! Everything is pure: ids and `now` are arguments; the component loads the
//! facts (content items, allocations, counters) from the store and passes them in.
//!
//! Typical use in a handler:
//! - create: `CampaignInput` → [`CampaignInput::parse`] → [`Campaign::create`]
//! - update: `CampaignPatch` → [`Campaign::apply_patch`] (version + 1)
//! - transition: [`TransitionInput`] + [`GateContext`] → [`transition`] →
//!   [`Transitioned`] or a [`Refusal`] listing the unmet items (409)
//! - resources: [`ResourceInput::parse`], [`AllocationInput::parse`],
//!   [`utilization`], [`overallocations`], [`propose_rebalance`], [`decide`],
//!   [`apply_proposal`]
//! - report: [`success_report`]
#![deny(missing_docs)]

mod book;
mod input;
mod record;
mod report;
mod resources;
mod stage;
mod validation;
mod values;

pub use book::{BookError, KEEP_DECIDED, MAX_PENDING, PlanningBook, Proposed};
pub use input::{
    CampaignInput, CampaignPatch, ChannelInput, MAX_CHANNELS, MAX_FALLBACKS, MAX_OBJECTIVES,
    MAX_RULES, MAX_SENDS_PER_DAY, MAX_WINDOWS, NewCampaign, ObjectiveInput, PriorityInput,
    ScheduleInput, SendPlanInput, UpdateError, WindowInput,
};
pub use record::{
    Campaign, ChannelPlan, Deliverable, DeliverableKind, Handoff, Objective, SendPlan, SendWindow,
};
pub use report::{
    ChannelBreakdown, KpiProgress, PACE_TOLERANCE, Pace, PaceStatus, ReportInputs, SPEND_METRIC,
    SuccessReport, success_report,
};
pub use resources::{
    Allocation, AllocationInput, Amount, ApplyError, DayUtilization, Decision, DecisionInput,
    MAX_SKILLS, Move, Overallocation, ProposalRefusal, ProposalStatus, RebalanceProposal, Resource,
    ResourceInput, ResourceKind, ResourcePatch, ResourceUtilization, Unit, apply_proposal, decide,
    overallocations, propose_rebalance, utilization,
};
pub use stage::{
    ContentFact, ContentState, GateContext, Refusal, Stage, TransitionInput, Transitioned, Unmet,
    UnmetCode, gate, transition,
};
pub use validation::{FieldError, ParseError, ValidationErrors};
pub use values::{
    CampaignName, Channel, ChannelBudget, DateRange, ExternalId, Kpi, KpiTarget, MAX_MINOR_UNITS,
    MAX_SPAN_DAYS, Priority, ResourceName, Schedule, Skill, UserId, parse_day, parse_day_range,
    parse_instant,
};
