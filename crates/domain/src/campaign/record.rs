//! The campaign record and the parts it is made of.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::stage::Stage;
use super::values::{
    CampaignName, Channel, ChannelBudget, ExternalId, Kpi, KpiTarget, Priority, Schedule, UserId,
};

/// A campaign: who owns it, what it must achieve, where it runs, and where it is
/// in the stage machine.
///
/// Fields are read through accessors; the stage, version and handoffs change only
/// through [`transition`](super::transition), the rest through
/// [`Campaign::apply_patch`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Campaign {
    pub(super) id: String,
    pub(super) name: CampaignName,
    pub(super) marketing_owner: UserId,
    pub(super) operations_owner: UserId,
    pub(super) objectives: Vec<Objective>,
    pub(super) channels: Vec<ChannelPlan>,
    pub(super) schedule: Schedule,
    pub(super) priority: Priority,
    pub(super) monitoring_rule_ids: Vec<ExternalId>,
    pub(super) stage: Stage,
    pub(super) version: u64,
    pub(super) handoffs: Vec<Handoff>,
    pub(super) created_by: UserId,
    pub(super) created_at: DateTime<Utc>,
    pub(super) updated_at: DateTime<Utc>,
}

/// What a campaign must achieve: reach `target` on `kpi` by `deadline`.
///
/// Targets are cumulative totals to reach or exceed (e.g. 500 `conversions`),
/// measured by the metric counter of the same name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Objective {
    /// The KPI, named like its metric counter.
    pub kpi: Kpi,
    /// The total to reach.
    pub target: KpiTarget,
    /// When it must be reached; within the campaign schedule.
    pub deadline: DateTime<Utc>,
}

/// One channel of the campaign's channel strategy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelPlan {
    /// The channel.
    pub channel: Channel,
    /// Budget for the whole campaign on this channel, in currency minor units.
    pub budget_minor: ChannelBudget,
    /// Channels to fail over to, in order of preference; never the channel itself.
    pub fallback_channels: Vec<Channel>,
    /// How sends are paced; required before distribution.
    pub send_plan: Option<SendPlan>,
}

/// How a channel's sends are paced: a daily cap, explicit windows, or both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendPlan {
    /// At most this many sends per day (1..=1 000 000), if capped.
    pub sends_per_day: Option<u32>,
    /// Windows in which sends may go out: sorted, non-overlapping, within the schedule.
    pub windows: Vec<SendWindow>,
}

/// An interval in which a channel may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendWindow {
    /// First instant of the window.
    pub start: DateTime<Utc>,
    /// End of the window (exclusive); after `start`.
    pub end: DateTime<Utc>,
}

/// What a stage delivered, recorded when the campaign leaves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handoff {
    /// The stage left.
    pub from: Stage,
    /// The stage entered.
    pub to: Stage,
    /// Marketing's deliverable of the stage left.
    pub marketing_deliverable: Deliverable,
    /// Operations' deliverable of the stage left.
    pub operations_deliverable: Deliverable,
    /// Who made the transition.
    pub by: UserId,
    /// When the transition happened.
    pub at: DateTime<Utc>,
}

/// One side's deliverable: its kind (from the handoff table) and what it held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deliverable {
    /// Which deliverable of the handoff table.
    pub kind: DeliverableKind,
    /// A one-line account of what was delivered, from the facts the gate checked.
    pub summary: String,
}

/// The deliverables of the handoff table (docs/design.md §3), by stage:
///
/// | stage | marketing | operations |
/// |---|---|---|
/// | planning | objectives | resource allocation |
/// | production | content | workflow coordination |
/// | distribution | channel strategy | timing optimization |
/// | monitoring | performance analysis | system monitoring |
/// | optimization | strategy adjustment | process improvement |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum DeliverableKind {
    Objectives,
    Content,
    ChannelStrategy,
    PerformanceAnalysis,
    StrategyAdjustment,
    ResourceAllocation,
    WorkflowCoordination,
    TimingOptimization,
    SystemMonitoring,
    ProcessImprovement,
}

impl Campaign {
    /// The campaign id (assigned by the caller at creation).
    pub fn id(&self) -> &str {
        &self.id
    }
    /// The display name.
    pub fn name(&self) -> &CampaignName {
        &self.name
    }
    /// The marketing owner's user id.
    pub fn marketing_owner(&self) -> &UserId {
        &self.marketing_owner
    }
    /// The operations owner's user id.
    pub fn operations_owner(&self) -> &UserId {
        &self.operations_owner
    }
    /// Objectives, one per KPI.
    pub fn objectives(&self) -> &[Objective] {
        &self.objectives
    }
    /// Channel strategy, one entry per channel.
    pub fn channels(&self) -> &[ChannelPlan] {
        &self.channels
    }
    /// When the campaign runs.
    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }
    /// Priority (1 = critical).
    pub fn priority(&self) -> Priority {
        self.priority
    }
    /// Monitoring rules the campaign names as its own.
    pub fn monitoring_rule_ids(&self) -> &[ExternalId] {
        &self.monitoring_rule_ids
    }
    /// Current stage.
    pub fn stage(&self) -> Stage {
        self.stage
    }
    /// Record version: 1 at creation, +1 on every change (the ETag).
    pub fn version(&self) -> u64 {
        self.version
    }
    /// Handoffs so far, oldest first.
    pub fn handoffs(&self) -> &[Handoff] {
        &self.handoffs
    }
    /// Who created the campaign.
    pub fn created_by(&self) -> &UserId {
        &self.created_by
    }
    /// When it was created.
    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
    /// When it last changed.
    pub fn updated_at(&self) -> DateTime<Utc> {
        self.updated_at
    }
    /// The plan for `channel`, if the campaign uses it.
    pub fn channel(&self, channel: &str) -> Option<&ChannelPlan> {
        self.channels.iter().find(|c| c.channel.as_str() == channel)
    }
}
