//! Resources, allocations, utilization, and rebalance proposals.
//!
//! Amounts are integers in the resource's unit: whole hours for people and
//! teams, currency minor units for budget pools. Days are UTC calendar days.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::validation::{ParseError, ValidationErrors};
use super::values::{
    DateRange, ExternalId, MAX_MINOR_UNITS, Priority, ResourceName, Skill, UserId, parse_day,
};

/// At most this many skills per resource.
pub const MAX_SKILLS: usize = 30;

/// What a resource is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    /// One person; capacity in hours per day (at most 24).
    Person,
    /// A team; capacity in hours per day (at most 24 000).
    Team,
    /// A budget pool; capacity in currency minor units per day.
    BudgetPool,
}

/// The unit of a resource's capacity and of the allocations on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Whole hours.
    Hours,
    /// Currency minor units (cents).
    MinorUnits,
}

impl Unit {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Hours => "hours",
            Unit::MinorUnits => "minor_units",
        }
    }
}

impl ResourceKind {
    /// The kind's name in documents.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Person => "person",
            ResourceKind::Team => "team",
            ResourceKind::BudgetPool => "budget_pool",
        }
    }

    /// Parses a wire name: `person`, `team` or `budget_pool`.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        match raw {
            "person" => Ok(ResourceKind::Person),
            "team" => Ok(ResourceKind::Team),
            "budget_pool" => Ok(ResourceKind::BudgetPool),
            _ => Err(ParseError::Format(
                "must be one of person, team, budget_pool",
            )),
        }
    }

    /// The unit capacities and allocations of this kind are counted in.
    pub fn unit(self) -> Unit {
        match self {
            ResourceKind::Person | ResourceKind::Team => Unit::Hours,
            ResourceKind::BudgetPool => Unit::MinorUnits,
        }
    }

    /// The largest capacity per day a resource of this kind may have.
    pub fn max_capacity(self) -> i64 {
        match self {
            ResourceKind::Person => 24,
            ResourceKind::Team => 24_000,
            ResourceKind::BudgetPool => MAX_MINOR_UNITS,
        }
    }
}

/// A positive amount per day, 1..=[`MAX_MINOR_UNITS`], in the resource's unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Amount(i64);

impl Amount {
    /// Parses an amount.
    pub fn parse(raw: i64) -> Result<Self, ParseError> {
        if (1..=MAX_MINOR_UNITS).contains(&raw) {
            Ok(Self(raw))
        } else {
            Err(ParseError::OutOfRange {
                min: "1".into(),
                max: MAX_MINOR_UNITS.to_string(),
            })
        }
    }

    /// The amount.
    pub fn value(self) -> i64 {
        self.0
    }
}

impl TryFrom<i64> for Amount {
    type Error = ParseError;
    fn try_from(raw: i64) -> Result<Self, ParseError> {
        Self::parse(raw)
    }
}

impl From<Amount> for i64 {
    fn from(value: Amount) -> i64 {
        value.0
    }
}

/// A person, team or budget pool that campaigns draw on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resource {
    /// Resource id (assigned by the caller).
    pub id: String,
    /// Display name.
    pub name: ResourceName,
    /// What it is; fixes the unit.
    pub kind: ResourceKind,
    /// How much it can give per day, in the kind's unit.
    pub capacity_per_day: Amount,
    /// Skills, sorted, no duplicates; rebalancing moves work only to a resource
    /// with the skill the allocation needs.
    pub skills: Vec<Skill>,
}

/// `POST`/`PUT /api/resources[/{id}]` body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceInput {
    /// Required: display name.
    pub name: Option<String>,
    /// Required: `person`, `team` or `budget_pool`.
    pub kind: Option<String>,
    /// Required: capacity per day in the kind's unit.
    pub capacity_per_day: Option<i64>,
    /// Skills (slugs).
    #[serde(default)]
    pub skills: Vec<String>,
}

impl ResourceInput {
    /// Parses into a resource with the given id.
    pub fn parse(self, id: String) -> Result<Resource, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let name = errs.required("name", self.name, ResourceName::parse);
        let kind = errs.required("kind", self.kind.as_deref(), ResourceKind::parse);
        let capacity = errs.required("capacity_per_day", self.capacity_per_day, |c| {
            let max = kind.map_or(MAX_MINOR_UNITS, ResourceKind::max_capacity);
            if (1..=max).contains(&c) {
                Amount::parse(c)
            } else {
                Err(ParseError::OutOfRange {
                    min: "1".into(),
                    max: max.to_string(),
                })
            }
        });
        let mut skills = BTreeSet::new();
        if self.skills.len() > MAX_SKILLS {
            errs.push(
                "skills",
                ParseError::TooLong {
                    max: MAX_SKILLS,
                    unit: "items",
                }
                .to_string(),
            );
        } else {
            for (i, s) in self.skills.iter().enumerate() {
                if let Some(skill) = errs.check(format!("skills[{i}]"), Skill::parse(s)) {
                    skills.insert(skill);
                }
            }
        }
        match (name, kind, capacity) {
            (Some(name), Some(kind), Some(capacity_per_day)) => errs.into_result(Resource {
                id,
                name,
                kind,
                capacity_per_day,
                skills: skills.into_iter().collect(),
            }),
            _ => Err(errs),
        }
    }
}

/// A change to a resource: fields left out keep their value. The kind (and so the
/// unit of every allocation on it) cannot change; create a new resource instead.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourcePatch {
    /// New display name.
    pub name: Option<String>,
    /// Must equal the current kind if sent.
    pub kind: Option<String>,
    /// New capacity per day.
    pub capacity_per_day: Option<i64>,
    /// New skills (replacing the old ones).
    pub skills: Option<Vec<String>>,
}

impl Resource {
    /// The resource with `patch` applied, validated as a new resource would be.
    pub fn apply_patch(&self, patch: ResourcePatch) -> Result<Resource, ValidationErrors> {
        if let Some(kind) = patch.kind.as_deref()
            && ResourceKind::parse(kind) != Ok(self.kind)
        {
            let mut errs = ValidationErrors::default();
            errs.push("kind", "cannot change; create a new resource instead");
            return Err(errs);
        }
        ResourceInput {
            name: Some(patch.name.unwrap_or_else(|| self.name.to_string())),
            kind: Some(self.kind.as_str().to_string()),
            capacity_per_day: Some(
                patch
                    .capacity_per_day
                    .unwrap_or(self.capacity_per_day.value()),
            ),
            skills: patch
                .skills
                .unwrap_or_else(|| self.skills.iter().map(ToString::to_string).collect()),
        }
        .parse(self.id.clone())
    }
}

/// Part of a resource booked for a campaign: `amount_per_day` on every day of `days`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "AllocationFields", into = "AllocationFields")]
pub struct Allocation {
    /// Allocation id.
    pub id: String,
    /// The resource booked.
    pub resource_id: String,
    /// The campaign it is booked for.
    pub campaign_id: String,
    /// The days (inclusive), serialized as `from` and `to`.
    pub days: DateRange,
    /// How much per day, in the resource's unit.
    pub amount_per_day: Amount,
    /// The skill the work needs, if any; limits where rebalancing may move it.
    pub skill: Option<Skill>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AllocationFields {
    id: String,
    resource_id: String,
    campaign_id: String,
    from: NaiveDate,
    to: NaiveDate,
    amount_per_day: Amount,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    skill: Option<Skill>,
}

impl TryFrom<AllocationFields> for Allocation {
    type Error = ParseError;
    fn try_from(f: AllocationFields) -> Result<Self, ParseError> {
        Ok(Allocation {
            id: f.id,
            resource_id: f.resource_id,
            campaign_id: f.campaign_id,
            days: DateRange::parse(f.from, f.to)?,
            amount_per_day: f.amount_per_day,
            skill: f.skill,
        })
    }
}

impl From<Allocation> for AllocationFields {
    fn from(a: Allocation) -> Self {
        AllocationFields {
            id: a.id,
            resource_id: a.resource_id,
            campaign_id: a.campaign_id,
            from: a.days.from(),
            to: a.days.to(),
            amount_per_day: a.amount_per_day,
            skill: a.skill,
        }
    }
}

/// An allocation as sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllocationInput {
    /// Required: the resource.
    pub resource_id: Option<String>,
    /// Required: the campaign (a route may fill it from the path).
    pub campaign_id: Option<String>,
    /// Required: first day, `YYYY-MM-DD`.
    pub from: Option<String>,
    /// Required: last day (inclusive).
    pub to: Option<String>,
    /// Required: amount per day in the resource's unit.
    pub amount_per_day: Option<i64>,
    /// The skill the work needs.
    pub skill: Option<String>,
}

impl AllocationInput {
    /// Parses into an allocation with the given id. Whether the resource and the
    /// campaign exist is for the caller to check.
    pub fn parse(self, id: String) -> Result<Allocation, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let resource_id = errs.required("resource_id", self.resource_id, ExternalId::parse);
        let campaign_id = errs.required("campaign_id", self.campaign_id, ExternalId::parse);
        let from = errs.required("from", self.from.as_deref(), parse_day);
        let to = errs.required("to", self.to.as_deref(), parse_day);
        let days = match (from, to) {
            (Some(from), Some(to)) => errs.check("to", DateRange::parse(from, to)),
            _ => None,
        };
        let amount = errs.required("amount_per_day", self.amount_per_day, Amount::parse);
        let skill = match self.skill.as_deref() {
            Some(s) => errs.check("skill", Skill::parse(s)).map(Some),
            None => Some(None),
        };
        match (resource_id, campaign_id, days, amount, skill) {
            (Some(r), Some(c), Some(days), Some(amount_per_day), Some(skill)) => {
                errs.into_result(Allocation {
                    id,
                    resource_id: r.into(),
                    campaign_id: c.into(),
                    days,
                    amount_per_day,
                    skill,
                })
            }
            _ => Err(errs),
        }
    }
}

/// One resource on one day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DayUtilization {
    /// The day.
    pub date: NaiveDate,
    /// Sum of the allocations on that day.
    pub allocated: i64,
    /// The resource's capacity per day.
    pub capacity: i64,
    /// `allocated / capacity` (1.0 = fully used; above 1.0 = overallocated).
    pub ratio: f64,
}

/// One resource over a day range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceUtilization {
    /// The resource.
    pub resource_id: String,
    /// Its kind.
    pub kind: ResourceKind,
    /// The unit of `allocated` and `capacity`.
    pub unit: Unit,
    /// Every day of the range, in order.
    pub days: Vec<DayUtilization>,
    /// How many of those days are overallocated.
    pub overallocated_days: usize,
}

/// A resource-day where more is allocated than the resource has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Overallocation {
    /// The resource.
    pub resource_id: String,
    /// The day.
    pub date: NaiveDate,
    /// Allocated that day.
    pub allocated: i64,
    /// Capacity that day.
    pub capacity: i64,
    /// `allocated - capacity`, > 0.
    pub excess: i64,
}

/// Allocated amount per (resource id, day) within `range`, from every allocation
/// (whether or not its resource is known). Days with nothing allocated are absent.
pub(super) fn utilization_map(
    allocations: &[Allocation],
    range: DateRange,
) -> BTreeMap<(&str, NaiveDate), i64> {
    let mut map: BTreeMap<(&str, NaiveDate), i64> = BTreeMap::new();
    for a in allocations {
        if let Some(overlap) = a.days.intersect(&range) {
            for d in overlap.days() {
                let slot = map.entry((a.resource_id.as_str(), d)).or_default();
                *slot = slot.saturating_add(a.amount_per_day.value());
            }
        }
    }
    map
}

/// Utilization of every resource on every day of `range`: allocated, capacity
/// and their ratio. Allocations on resources not in `resources` are ignored.
pub fn utilization(
    resources: &[Resource],
    allocations: &[Allocation],
    range: DateRange,
) -> Vec<ResourceUtilization> {
    let map = utilization_map(allocations, range);
    resources
        .iter()
        .map(|r| {
            let capacity = r.capacity_per_day.value();
            let days: Vec<DayUtilization> = range
                .days()
                .map(|date| {
                    let allocated = map.get(&(r.id.as_str(), date)).copied().unwrap_or(0);
                    DayUtilization {
                        date,
                        allocated,
                        capacity,
                        ratio: allocated as f64 / capacity as f64,
                    }
                })
                .collect();
            ResourceUtilization {
                resource_id: r.id.clone(),
                kind: r.kind,
                unit: r.kind.unit(),
                overallocated_days: days.iter().filter(|d| d.allocated > d.capacity).count(),
                days,
            }
        })
        .collect()
}

/// Every overallocated resource-day in `range`, by resource then day.
pub fn overallocations(
    resources: &[Resource],
    allocations: &[Allocation],
    range: DateRange,
) -> Vec<Overallocation> {
    utilization(resources, allocations, range)
        .into_iter()
        .flat_map(|u| {
            let id = u.resource_id;
            u.days
                .into_iter()
                .filter(|d| d.allocated > d.capacity)
                .map(move |d| Overallocation {
                    resource_id: id.clone(),
                    date: d.date,
                    allocated: d.allocated,
                    capacity: d.capacity,
                    excess: d.allocated - d.capacity,
                })
        })
        .collect()
}

/// Where a rebalance proposal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProposalStatus {
    /// Waiting for an operations approver.
    Pending,
    /// Approved; may be applied.
    Approved,
    /// Rejected; never applied.
    Rejected,
}

impl fmt::Display for ProposalStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProposalStatus::Pending => "pending",
            ProposalStatus::Approved => "approved",
            ProposalStatus::Rejected => "rejected",
        })
    }
}

/// Move `amount_per_day` of an allocation to another resource on `days`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Move {
    /// The allocation giving up the amount.
    pub allocation_id: String,
    /// Its campaign.
    pub campaign_id: String,
    /// The overallocated resource.
    pub from_resource: String,
    /// The resource taking the amount (same kind, has the needed skill).
    pub to_resource: String,
    /// The days moved.
    pub days: DateRange,
    /// How much per day.
    pub amount_per_day: i64,
}

/// A proposed set of moves that reduces overallocation, awaiting a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RebalanceProposal {
    /// Proposal id; also the prefix of allocation ids it creates.
    pub id: String,
    /// Who asked for it; may not approve it.
    pub author: UserId,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// The days it looked at.
    pub range: DateRange,
    /// The moves, by allocation then day.
    pub moves: Vec<Move>,
    /// Overallocation the moves cannot remove (no free resource with the skill).
    pub unresolved: Vec<Overallocation>,
    /// Pending, approved or rejected.
    pub status: ProposalStatus,
    /// Who decided.
    pub decided_by: Option<UserId>,
    /// When.
    pub decided_at: Option<DateTime<Utc>>,
}

/// A decision on a proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Approve: the proposal may be applied.
    Approve,
    /// Reject.
    Reject,
}

/// The decision request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
    /// `approve` or `reject`.
    pub decision: Decision,
}

/// Why a decision was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum ProposalRefusal {
    /// The author asked to approve their own proposal (they may reject it).
    #[error("the author of a rebalance proposal may not approve it")]
    AuthorCannotApprove,
    /// The proposal was already decided.
    #[error("the proposal is already {status}")]
    AlreadyDecided {
        /// Its status.
        status: ProposalStatus,
    },
}

impl ProposalRefusal {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            ProposalRefusal::AuthorCannotApprove => "author_cannot_approve",
            ProposalRefusal::AlreadyDecided { .. } => "already_decided",
        }
    }
}

/// Why a proposal could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ApplyError {
    /// Only approved proposals apply.
    #[error("only approved proposals can be applied; this one is {0}")]
    NotApproved(ProposalStatus),
    /// The allocations changed since the proposal was made.
    #[error(
        "allocation {allocation_id} no longer holds what the proposal moves on {date}; propose again"
    )]
    Stale {
        /// The allocation.
        allocation_id: String,
        /// The first day that does not match.
        date: NaiveDate,
    },
    /// Two allocations share an id; the caller's data is inconsistent.
    #[error("two allocations share the id {0}")]
    DuplicateId(String),
    /// Applied to today's allocations the moves would add overallocation somewhere.
    #[error(
        "applying the proposal now would increase overallocation on {resource_id} on {date}; propose again"
    )]
    WouldOverallocate {
        /// The resource.
        resource_id: String,
        /// The day.
        date: NaiveDate,
    },
}

/// Proposes moves that take overallocated amounts to resources with room.
///
/// For each overallocated resource-day in `range` (by day, then resource id), the
/// allocations on it are drained least important campaign first (`priorities`:
/// campaign id → priority; unknown campaigns rank lowest; ties by allocation id)
/// onto resources of the same kind that have the allocation's skill (if it needs
/// one) and free capacity that day, the one with most room first. A target never
/// goes above its capacity, so the proposal never adds overallocation; what
/// cannot be placed is listed in `unresolved`. Deterministic for equal inputs.
pub fn propose_rebalance(
    resources: &[Resource],
    allocations: &[Allocation],
    priorities: &BTreeMap<String, Priority>,
    range: DateRange,
    id: String,
    author: UserId,
    now: DateTime<Utc>,
) -> RebalanceProposal {
    let mut load: BTreeMap<(&str, NaiveDate), i64> = utilization_map(allocations, range);
    let rank = |a: &Allocation| {
        priorities
            .get(&a.campaign_id)
            .copied()
            .unwrap_or(Priority::LOWEST)
    };
    // Per-day moves, keyed for coalescing: (allocation index, target, day) -> amount.
    let mut day_moves: BTreeMap<(usize, &str, NaiveDate), i64> = BTreeMap::new();
    let mut unresolved = Vec::new();
    for day in range.days() {
        for resource in resources {
            let capacity = resource.capacity_per_day.value();
            let mut excess =
                load.get(&(resource.id.as_str(), day)).copied().unwrap_or(0) - capacity;
            if excess <= 0 {
                continue;
            }
            let mut donors: Vec<(usize, &Allocation)> = allocations
                .iter()
                .enumerate()
                .filter(|(_, a)| a.resource_id == resource.id && a.days.contains(day))
                .collect();
            donors.sort_by(|(_, x), (_, y)| rank(x).cmp(&rank(y)).then_with(|| x.id.cmp(&y.id)));
            for (index, donor) in donors {
                let mut remaining = donor.amount_per_day.value();
                while excess > 0 && remaining > 0 {
                    let target = resources
                        .iter()
                        .filter(|t| {
                            t.id != resource.id
                                && t.kind == resource.kind
                                && donor.skill.as_ref().is_none_or(|s| t.skills.contains(s))
                        })
                        .map(|t| {
                            let used = load.get(&(t.id.as_str(), day)).copied().unwrap_or(0);
                            (t.capacity_per_day.value().saturating_sub(used), t)
                        })
                        .filter(|(free, _)| *free > 0)
                        .max_by(|(fa, ta), (fb, tb)| fa.cmp(fb).then_with(|| tb.id.cmp(&ta.id)));
                    let Some((free, target)) = target else { break };
                    let amount = excess.min(remaining).min(free);
                    excess -= amount;
                    remaining -= amount;
                    *load.entry((resource.id.as_str(), day)).or_default() -= amount;
                    *load.entry((target.id.as_str(), day)).or_default() += amount;
                    *day_moves
                        .entry((index, target.id.as_str(), day))
                        .or_default() += amount;
                }
                if excess <= 0 {
                    break;
                }
            }
            if excess > 0 {
                unresolved.push(Overallocation {
                    resource_id: resource.id.clone(),
                    date: day,
                    allocated: capacity + excess,
                    capacity,
                    excess,
                });
            }
        }
    }
    RebalanceProposal {
        id,
        author,
        created_at: now,
        range,
        moves: coalesce(allocations, &day_moves),
        unresolved,
        status: ProposalStatus::Pending,
        decided_by: None,
        decided_at: None,
    }
}

/// Merges per-day moves of one allocation to one target over consecutive days
/// with equal amounts into single moves.
fn coalesce(
    allocations: &[Allocation],
    day_moves: &BTreeMap<(usize, &str, NaiveDate), i64>,
) -> Vec<Move> {
    let mut out: Vec<Move> = Vec::new();
    let mut last_key: Option<(usize, &str)> = None;
    for (&(index, target, day), &amount) in day_moves {
        let Some(a) = allocations.get(index) else {
            continue;
        };
        if let Some(m) = out.last_mut()
            && last_key == Some((index, target))
            && m.amount_per_day == amount
            && m.days.to().succ_opt() == Some(day)
            && let Ok(days) = DateRange::parse(m.days.from(), day)
        {
            m.days = days;
            continue;
        }
        if let Ok(days) = DateRange::parse(day, day) {
            last_key = Some((index, target));
            out.push(Move {
                allocation_id: a.id.clone(),
                campaign_id: a.campaign_id.clone(),
                from_resource: a.resource_id.clone(),
                to_resource: target.to_owned(),
                days,
                amount_per_day: amount,
            });
        }
    }
    out
}

/// Records a decision on a pending proposal. The author may reject but not approve.
pub fn decide(
    proposal: &RebalanceProposal,
    decision: Decision,
    by: &UserId,
    now: DateTime<Utc>,
) -> Result<RebalanceProposal, ProposalRefusal> {
    match proposal.status {
        ProposalStatus::Pending => {}
        status @ (ProposalStatus::Approved | ProposalStatus::Rejected) => {
            return Err(ProposalRefusal::AlreadyDecided { status });
        }
    }
    let status = match decision {
        Decision::Approve if *by == proposal.author => {
            return Err(ProposalRefusal::AuthorCannotApprove);
        }
        Decision::Approve => ProposalStatus::Approved,
        Decision::Reject => ProposalStatus::Rejected,
    };
    Ok(RebalanceProposal {
        status,
        decided_by: Some(by.clone()),
        decided_at: Some(now),
        ..proposal.clone()
    })
}

/// The allocations after an approved proposal's moves.
///
/// A donor allocation is cut into runs of days with equal remaining amounts (the
/// first run keeps its id); every move becomes a new allocation on its target.
/// New ids are `{proposal id}-{n}`, n from 1. Refused if the proposal is not
/// approved, if the allocations no longer match it, or if applying it now would
/// add overallocation on any resource-day (given `resources`).
pub fn apply_proposal(
    proposal: &RebalanceProposal,
    resources: &[Resource],
    allocations: &[Allocation],
) -> Result<Vec<Allocation>, ApplyError> {
    match proposal.status {
        ProposalStatus::Approved => {}
        status @ (ProposalStatus::Pending | ProposalStatus::Rejected) => {
            return Err(ApplyError::NotApproved(status));
        }
    }
    // Remaining per-day amounts of the donor allocations.
    let mut donors: BTreeMap<&str, BTreeMap<NaiveDate, i64>> = BTreeMap::new();
    let mut by_id: BTreeMap<&str, &Allocation> = BTreeMap::new();
    for a in allocations {
        if by_id.insert(a.id.as_str(), a).is_some() {
            return Err(ApplyError::DuplicateId(a.id.clone()));
        }
    }
    for m in &proposal.moves {
        let stale = |date| ApplyError::Stale {
            allocation_id: m.allocation_id.clone(),
            date,
        };
        let Some(a) = by_id.get(m.allocation_id.as_str()) else {
            return Err(stale(m.days.from()));
        };
        if a.resource_id != m.from_resource || a.campaign_id != m.campaign_id {
            return Err(stale(m.days.from()));
        }
        let per_day = donors.entry(a.id.as_str()).or_insert_with(|| {
            a.days
                .days()
                .map(|d| (d, a.amount_per_day.value()))
                .collect()
        });
        for d in m.days.days() {
            match per_day.get_mut(&d) {
                Some(left) if *left >= m.amount_per_day && m.amount_per_day > 0 => {
                    *left -= m.amount_per_day;
                }
                _ => return Err(stale(d)),
            }
        }
    }
    let mut counter = 0usize;
    let mut next_id = || {
        counter += 1;
        format!("{}-{counter}", proposal.id)
    };
    let mut out = Vec::with_capacity(allocations.len() + proposal.moves.len());
    for a in allocations {
        let Some(per_day) = donors.get(a.id.as_str()) else {
            out.push(a.clone());
            continue;
        };
        let mut first = true;
        for (days, amount) in runs(per_day) {
            let Ok(amount_per_day) = Amount::parse(amount) else {
                continue;
            };
            let id = if first { a.id.clone() } else { next_id() };
            first = false;
            out.push(Allocation {
                id,
                days,
                amount_per_day,
                ..a.clone()
            });
        }
    }
    for m in &proposal.moves {
        let (Some(source), Ok(amount_per_day)) = (
            by_id.get(m.allocation_id.as_str()),
            Amount::parse(m.amount_per_day),
        ) else {
            continue;
        };
        out.push(Allocation {
            id: next_id(),
            resource_id: m.to_resource.clone(),
            campaign_id: m.campaign_id.clone(),
            days: m.days,
            amount_per_day,
            skill: source.skill.clone(),
        });
    }
    let before = utilization_map(allocations, proposal.range);
    let after = utilization_map(&out, proposal.range);
    for r in resources {
        let capacity = r.capacity_per_day.value();
        for date in proposal.range.days() {
            let excess = |map: &BTreeMap<(&str, NaiveDate), i64>| {
                (map.get(&(r.id.as_str(), date)).copied().unwrap_or(0) - capacity).max(0)
            };
            if excess(&after) > excess(&before) {
                return Err(ApplyError::WouldOverallocate {
                    resource_id: r.id.clone(),
                    date,
                });
            }
        }
    }
    Ok(out)
}

/// Maximal runs of consecutive days with the same positive amount.
fn runs(per_day: &BTreeMap<NaiveDate, i64>) -> Vec<(DateRange, i64)> {
    let mut out: Vec<(DateRange, i64)> = Vec::new();
    for (&day, &amount) in per_day {
        if amount <= 0 {
            continue;
        }
        if let Some((range, last)) = out.last_mut()
            && *last == amount
            && range.to().succ_opt() == Some(day)
            && let Ok(r) = DateRange::parse(range.from(), day)
        {
            *range = r;
            continue;
        }
        if let Ok(r) = DateRange::parse(day, day) {
            out.push((r, amount));
        }
    }
    out
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::campaign::input::tests::{ts, user};
    use proptest::prelude::*;

    fn day(s: &str) -> NaiveDate {
        parse_day(s).unwrap_or_default()
    }

    fn range(from: &str, to: &str) -> DateRange {
        DateRange::parse(day(from), day(to)).unwrap_or_else(|e| panic!("fixture range: {e}"))
    }

    pub(in crate::campaign) fn resource(
        id: &str,
        kind: ResourceKind,
        capacity: i64,
        skills: &[&str],
    ) -> Resource {
        let input = ResourceInput {
            name: Some(id.to_uppercase()),
            kind: Some(
                match kind {
                    ResourceKind::Person => "person",
                    ResourceKind::Team => "team",
                    ResourceKind::BudgetPool => "budget_pool",
                }
                .into(),
            ),
            capacity_per_day: Some(capacity),
            skills: skills.iter().map(|s| s.to_string()).collect(),
        };
        input
            .parse(id.into())
            .unwrap_or_else(|e| panic!("fixture resource: {e}"))
    }

    pub(in crate::campaign) fn allocation(
        id: &str,
        resource: &str,
        campaign: &str,
        from: &str,
        to: &str,
        amount: i64,
    ) -> Allocation {
        AllocationInput {
            resource_id: Some(resource.into()),
            campaign_id: Some(campaign.into()),
            from: Some(from.into()),
            to: Some(to.into()),
            amount_per_day: Some(amount),
            skill: None,
        }
        .parse(id.into())
        .unwrap_or_else(|e| panic!("fixture allocation: {e}"))
    }

    fn with_skill(mut a: Allocation, skill: &str) -> Allocation {
        a.skill = Skill::parse(skill).ok();
        a
    }

    #[test]
    fn resource_input_errors_are_per_field() {
        let bad = ResourceInput {
            name: None,
            kind: Some("robot".into()),
            capacity_per_day: Some(0),
            skills: vec!["Copy Writing".into()],
        };
        let fields: Vec<_> = bad
            .parse("r".into())
            .err()
            .map(|e| e.errors.into_iter().map(|f| f.field).collect())
            .unwrap_or_default();
        assert_eq!(fields, ["name", "kind", "capacity_per_day", "skills[0]"]);
        let person_over_24 = ResourceInput {
            name: Some("Ann".into()),
            kind: Some("person".into()),
            capacity_per_day: Some(25),
            skills: vec![],
        };
        assert!(person_over_24.parse("ann".into()).is_err());
    }

    #[test]
    fn allocation_input_errors_are_per_field() {
        let bad = AllocationInput {
            resource_id: Some("r 1".into()),
            campaign_id: None,
            from: Some("2030-03-10".into()),
            to: Some("2030-03-01".into()),
            amount_per_day: Some(0),
            skill: Some("".into()),
        };
        let fields: Vec<_> = bad
            .parse("a".into())
            .err()
            .map(|e| e.errors.into_iter().map(|f| f.field).collect())
            .unwrap_or_default();
        assert_eq!(
            fields,
            [
                "resource_id",
                "campaign_id",
                "to",
                "amount_per_day",
                "skill"
            ]
        );
    }

    #[test]
    fn allocation_serializes_flat_and_round_trips() {
        let a = allocation("a1", "ann", "c1", "2030-03-01", "2030-03-02", 4);
        let json = serde_json::to_value(&a).unwrap_or_default();
        assert_eq!(json["from"], "2030-03-01");
        assert_eq!(json["amount_per_day"], 4);
        assert_eq!(serde_json::from_value::<Allocation>(json).ok(), Some(a));
        let backwards = serde_json::json!({"id":"a","resource_id":"r","campaign_id":"c","from":"2030-03-02","to":"2030-03-01","amount_per_day":1});
        assert!(serde_json::from_value::<Allocation>(backwards).is_err());
    }

    #[test]
    fn utilization_sums_overlapping_allocations_and_flags_overallocation() {
        let resources = [resource("ann", ResourceKind::Person, 8, &[])];
        let allocations = [
            allocation("a1", "ann", "c1", "2030-03-01", "2030-03-03", 4),
            allocation("a2", "ann", "c2", "2030-03-03", "2030-03-05", 6),
        ];
        let u = utilization(&resources, &allocations, range("2030-03-02", "2030-03-04"));
        let got: Vec<_> = u[0].days.iter().map(|d| (d.allocated, d.ratio)).collect();
        assert_eq!(got, [(4, 0.5), (10, 1.25), (6, 0.75)]);
        assert_eq!(u[0].overallocated_days, 1);
        assert_eq!(u[0].unit, Unit::Hours);
        let over = overallocations(&resources, &allocations, range("2030-03-01", "2030-03-05"));
        assert_eq!(over.len(), 1);
        assert_eq!((over[0].date, over[0].excess), (day("2030-03-03"), 2));
    }

    #[test]
    fn rebalance_moves_the_lower_priority_campaign_to_a_skilled_colleague() {
        let resources = [
            resource("ann", ResourceKind::Person, 8, &["copywriting"]),
            resource("bob", ResourceKind::Person, 8, &["design"]),
            resource("cat", ResourceKind::Person, 8, &["copywriting"]),
            resource(
                "pool",
                ResourceKind::BudgetPool,
                1_000_000,
                &["copywriting"],
            ),
        ];
        let allocations = [
            with_skill(
                allocation("a1", "ann", "big", "2030-03-01", "2030-03-04", 6),
                "copywriting",
            ),
            with_skill(
                allocation("a2", "ann", "small", "2030-03-01", "2030-03-04", 4),
                "copywriting",
            ),
            allocation("a3", "cat", "other", "2030-03-03", "2030-03-04", 7),
        ];
        let priorities = BTreeMap::from([
            ("big".to_string(), Priority::CRITICAL),
            ("small".to_string(), Priority::LOWEST),
        ]);
        let days = range("2030-03-01", "2030-03-04");
        let p = propose_rebalance(
            &resources,
            &allocations,
            &priorities,
            days,
            "p1".into(),
            user("otto"),
            ts("2030-02-01T00:00:00Z"),
        );
        let moves: Vec<_> = p
            .moves
            .iter()
            .map(|m| {
                (
                    m.allocation_id.as_str(),
                    m.to_resource.as_str(),
                    m.days.to_string(),
                    m.amount_per_day,
                )
            })
            .collect();
        assert_eq!(
            moves,
            [
                ("a2", "cat", "2030-03-01..2030-03-02".to_string(), 2),
                ("a2", "cat", "2030-03-03..2030-03-04".to_string(), 1)
            ]
        );
        let unresolved: Vec<_> = p
            .unresolved
            .iter()
            .map(|o| (o.date.to_string(), o.excess))
            .collect();
        assert_eq!(
            unresolved,
            [("2030-03-03".to_string(), 1), ("2030-03-04".to_string(), 1)]
        );

        assert_eq!(
            apply_proposal(&p, &resources, &allocations),
            Err(ApplyError::NotApproved(ProposalStatus::Pending))
        );
        let approved = decide(
            &p,
            Decision::Approve,
            &user("ola"),
            ts("2030-02-01T01:00:00Z"),
        );
        let Ok(approved) = approved else {
            panic!("approval refused")
        };
        let after = apply_proposal(&approved, &resources, &allocations);
        let Ok(after) = after else {
            panic!("apply refused: {after:?}")
        };
        let over_after = overallocations(&resources, &after, days);
        assert_eq!(over_after.iter().map(|o| o.excess).sum::<i64>(), 2);
        let a2: Vec<_> = after
            .iter()
            .filter(|a| a.campaign_id == "small")
            .map(|a| {
                (
                    a.id.as_str(),
                    a.resource_id.as_str(),
                    a.days.to_string(),
                    a.amount_per_day.value(),
                )
            })
            .collect();
        assert_eq!(
            a2,
            [
                ("a2", "ann", "2030-03-01..2030-03-02".to_string(), 2),
                ("p1-1", "ann", "2030-03-03..2030-03-04".to_string(), 3),
                ("p1-2", "cat", "2030-03-01..2030-03-02".to_string(), 2),
                ("p1-3", "cat", "2030-03-03..2030-03-04".to_string(), 1),
            ]
        );
    }

    #[test]
    fn the_author_may_not_approve_but_may_reject_and_decisions_are_final() {
        let p = propose_rebalance(
            &[],
            &[],
            &BTreeMap::new(),
            range("2030-03-01", "2030-03-01"),
            "p".into(),
            user("otto"),
            ts("2030-02-01T00:00:00Z"),
        );
        assert_eq!(
            decide(
                &p,
                Decision::Approve,
                &user("otto"),
                ts("2030-02-01T00:00:00Z")
            ),
            Err(ProposalRefusal::AuthorCannotApprove)
        );
        let rejected = decide(
            &p,
            Decision::Reject,
            &user("otto"),
            ts("2030-02-01T00:00:00Z"),
        );
        let Ok(rejected) = rejected else {
            panic!("reject refused")
        };
        assert_eq!(rejected.status, ProposalStatus::Rejected);
        assert_eq!(
            decide(
                &rejected,
                Decision::Approve,
                &user("ola"),
                ts("2030-02-01T00:00:00Z")
            ),
            Err(ProposalRefusal::AlreadyDecided {
                status: ProposalStatus::Rejected
            })
        );
        assert_eq!(
            apply_proposal(&rejected, &[], &[]),
            Err(ApplyError::NotApproved(ProposalStatus::Rejected))
        );
    }

    #[test]
    fn a_stale_proposal_is_refused() {
        let resources = [
            resource("ann", ResourceKind::Person, 8, &[]),
            resource("bob", ResourceKind::Person, 8, &[]),
        ];
        let allocations = [allocation("a1", "ann", "c", "2030-03-01", "2030-03-02", 10)];
        let p = propose_rebalance(
            &resources,
            &allocations,
            &BTreeMap::new(),
            range("2030-03-01", "2030-03-02"),
            "p".into(),
            user("otto"),
            ts("2030-02-01T00:00:00Z"),
        );
        let Ok(p) = decide(
            &p,
            Decision::Approve,
            &user("ola"),
            ts("2030-02-01T00:00:00Z"),
        ) else {
            panic!()
        };
        let changed = [allocation("a1", "ann", "c", "2030-03-01", "2030-03-02", 1)];
        assert!(matches!(
            apply_proposal(&p, &resources, &changed),
            Err(ApplyError::Stale { .. })
        ));
        let bob_busy = [
            allocations[0].clone(),
            allocation("b", "bob", "c2", "2030-03-01", "2030-03-02", 8),
        ];
        assert!(matches!(
            apply_proposal(&p, &resources, &bob_busy),
            Err(ApplyError::WouldOverallocate { .. })
        ));
    }

    // --- properties -----------------------------------------------------------

    const RESOURCE_IDS: [&str; 4] = ["r0", "r1", "r2", "r3"];
    const SKILLS: [&str; 2] = ["copy", "design"];

    fn base() -> NaiveDate {
        day("2030-03-01")
    }

    fn gen_resources() -> impl Strategy<Value = Vec<Resource>> {
        proptest::collection::vec((1i64..12, 0usize..4, any::<bool>()), 4).prop_map(|specs| {
            specs
                .into_iter()
                .enumerate()
                .map(|(i, (cap, skill_mask, team))| {
                    let skills: Vec<&str> = SKILLS
                        .iter()
                        .enumerate()
                        .filter(|(k, _)| skill_mask & (1 << k) != 0)
                        .map(|(_, s)| *s)
                        .collect();
                    let kind = if team {
                        ResourceKind::Team
                    } else {
                        ResourceKind::Person
                    };
                    resource(RESOURCE_IDS[i], kind, cap, &skills)
                })
                .collect()
        })
    }

    fn gen_allocations() -> impl Strategy<Value = Vec<Allocation>> {
        proptest::collection::vec(
            (0usize..5, 0usize..3, 0u64..10, 0u64..6, 1i64..10, 0usize..3),
            0..12,
        )
        .prop_map(|specs| {
            specs
                .into_iter()
                .enumerate()
                .filter_map(|(i, (r, c, start, len, amount, skill))| {
                    // r == 4 names a resource that does not exist.
                    let resource = RESOURCE_IDS.get(r).copied().unwrap_or("ghost");
                    let from = base() + chrono::Days::new(start);
                    let to = from + chrono::Days::new(len);
                    Some(Allocation {
                        id: format!("a{i}"),
                        resource_id: resource.into(),
                        campaign_id: format!("c{c}"),
                        days: DateRange::parse(from, to).ok()?,
                        amount_per_day: Amount::parse(amount).ok()?,
                        skill: SKILLS.get(skill).and_then(|s| Skill::parse(s).ok()),
                    })
                })
                .collect()
        })
    }

    fn gen_range() -> impl Strategy<Value = DateRange> {
        (0u64..12, 0u64..12).prop_filter_map("range", |(a, len)| {
            let from = base() + chrono::Days::new(a);
            DateRange::parse(from, from + chrono::Days::new(len)).ok()
        })
    }

    fn gen_priorities() -> impl Strategy<Value = BTreeMap<String, Priority>> {
        proptest::collection::vec(1i64..=5, 3).prop_map(|levels| {
            levels
                .into_iter()
                .enumerate()
                .filter_map(|(c, l)| Some((format!("c{c}"), Priority::parse(l).ok()?)))
                .collect()
        })
    }

    fn total(allocations: &[Allocation], r: DateRange) -> i64 {
        allocations
            .iter()
            .filter_map(|a| a.days.intersect(&r))
            .zip(
                allocations
                    .iter()
                    .filter(|a| a.days.intersect(&r).is_some()),
            )
            .map(|(o, a)| o.len_days() * a.amount_per_day.value())
            .sum()
    }

    proptest! {
        #[test]
        fn utilization_per_resource_day_is_the_sum_of_overlapping_allocations(
            resources in gen_resources(),
            allocations in gen_allocations(),
            r in gen_range(),
        ) {
            let u = utilization(&resources, &allocations, r);
            prop_assert_eq!(u.len(), resources.len());
            for (res, ru) in resources.iter().zip(&u) {
                prop_assert_eq!(ru.days.len() as i64, r.len_days());
                for d in &ru.days {
                    let expected: i64 = allocations
                        .iter()
                        .filter(|a| a.resource_id == res.id && a.days.contains(d.date))
                        .map(|a| a.amount_per_day.value())
                        .sum();
                    prop_assert_eq!(d.allocated, expected);
                    prop_assert_eq!(d.capacity, res.capacity_per_day.value());
                    prop_assert!((d.ratio - expected as f64 / d.capacity as f64).abs() < 1e-12);
                }
            }
        }

        #[test]
        fn an_applied_rebalance_conserves_amounts_and_never_adds_overallocation(
            resources in gen_resources(),
            allocations in gen_allocations(),
            priorities in gen_priorities(),
            r in gen_range(),
        ) {
            let p = propose_rebalance(&resources, &allocations, &priorities, r, "p".into(), user("otto"), ts("2030-02-01T00:00:00Z"));
            let approved = decide(&p, Decision::Approve, &user("ola"), ts("2030-02-01T00:00:00Z"));
            prop_assert!(approved.is_ok());
            let Ok(approved) = approved else { return Ok(()) };
            let after = apply_proposal(&approved, &resources, &allocations);
            prop_assert!(after.is_ok(), "{:?}", after);
            let Ok(after) = after else { return Ok(()) };

            // Every unit still allocated, to the same campaign, on the same day.
            let wide = DateRange::parse(base(), base() + chrono::Days::new(40)).unwrap_or(r);
            prop_assert_eq!(total(&after, wide), total(&allocations, wide));
            for c in ["c0", "c1", "c2"] {
                let of = |set: &[Allocation]| set.iter().filter(|a| a.campaign_id == c).cloned().collect::<Vec<_>>();
                prop_assert_eq!(total(&of(&after), wide), total(&of(&allocations), wide));
            }
            // No resource-day gets worse; the total gets no worse.
            let excess = |set: &[Allocation]| -> BTreeMap<(String, NaiveDate), i64> {
                overallocations(&resources, set, wide).into_iter().map(|o| ((o.resource_id, o.date), o.excess)).collect()
            };
            let (before_x, after_x) = (excess(&allocations), excess(&after));
            for (key, x) in &after_x {
                prop_assert!(*x <= before_x.get(key).copied().unwrap_or(0), "{:?} got worse", key);
            }
            prop_assert!(after_x.values().sum::<i64>() <= before_x.values().sum::<i64>());
            // Moves only go to a resource of the same kind with the needed skill.
            let kind = |id: &str| resources.iter().find(|x| x.id == id).map(|x| x.kind);
            for m in &approved.moves {
                prop_assert_eq!(kind(&m.from_resource), kind(&m.to_resource));
                let src = allocations.iter().find(|a| a.id == m.allocation_id);
                let target = resources.iter().find(|x| x.id == m.to_resource);
                if let (Some(src), Some(target)) = (src, target) {
                    prop_assert!(src.skill.as_ref().is_none_or(|s| target.skills.contains(s)));
                }
            }
            // Unresolved excess is exactly what is left in the range.
            let left: i64 = overallocations(&resources, &after, r).iter().map(|o| o.excess).sum();
            prop_assert_eq!(left, approved.unresolved.iter().map(|o| o.excess).sum::<i64>());
        }
    }
}
