//! Rebalance proposals: moves that take overallocated amounts to resources with
//! room, computed from the allocations and awaiting a decision
//! (see [`decision`](super::decision)).

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::allocation::Allocation;
use super::resource::Resource;
use super::utilization::{Overallocation, utilization_map};
use crate::campaign::values::{DateRange, Priority, UserId};

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
pub struct Move {
    /// The allocation giving up the amount.
    pub allocation_id: String,
    /// The allocation's campaign; the moved amount stays booked for it.
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
    /// Who approved or rejected it; `None` while pending.
    pub decided_by: Option<UserId>,
    /// When it was approved or rejected; `None` while pending.
    pub decided_at: Option<DateTime<Utc>>,
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
    let mut planner = Planner {
        resources,
        allocations,
        priorities,
        load: utilization_map(allocations, range),
        day_moves: BTreeMap::new(),
    };
    let mut unresolved = Vec::new();
    for day in range.days() {
        for resource in resources {
            unresolved.extend(planner.relieve(resource, day));
        }
    }
    RebalanceProposal {
        id,
        author,
        created_at: now,
        range,
        moves: coalesce(allocations, &planner.day_moves),
        unresolved,
        status: ProposalStatus::Pending,
        decided_by: None,
        decided_at: None,
    }
}

/// The working state of one proposal while its moves are chosen.
struct Planner<'a> {
    resources: &'a [Resource],
    allocations: &'a [Allocation],
    /// Campaign id → priority; unknown campaigns rank lowest.
    priorities: &'a BTreeMap<String, Priority>,
    /// Allocated amount per (resource id, day), updated as moves are chosen.
    load: BTreeMap<(&'a str, NaiveDate), i64>,
    /// Per-day moves, keyed for coalescing: (allocation index, target, day) -> amount.
    day_moves: BTreeMap<(usize, &'a str, NaiveDate), i64>,
}

impl<'a> Planner<'a> {
    /// Moves as much of `resource`'s excess on `day` to other resources as fits;
    /// the overallocation left, if any.
    fn relieve(&mut self, resource: &'a Resource, day: NaiveDate) -> Option<Overallocation> {
        let capacity = resource.capacity_per_day.value();
        let mut excess = self.load_on(&resource.id, day) - capacity;
        if excess <= 0 {
            return None;
        }
        for (index, donor) in self.donors(resource, day) {
            excess = self.drain(resource, day, index, donor, excess);
            if excess <= 0 {
                break;
            }
        }
        (excess > 0).then(|| Overallocation {
            resource_id: resource.id.clone(),
            date: day,
            allocated: capacity + excess,
            capacity,
            excess,
        })
    }

    fn load_on(&self, resource_id: &str, day: NaiveDate) -> i64 {
        self.load.get(&(resource_id, day)).copied().unwrap_or(0)
    }

    /// The allocations (with their index) on `resource` that day, least important
    /// campaign first, ties by allocation id.
    fn donors(&self, resource: &Resource, day: NaiveDate) -> Vec<(usize, &'a Allocation)> {
        let rank = |a: &Allocation| {
            self.priorities
                .get(&a.campaign_id)
                .copied()
                .unwrap_or(Priority::LOWEST)
        };
        let mut donors: Vec<(usize, &'a Allocation)> = self
            .allocations
            .iter()
            .enumerate()
            .filter(|(_, a)| a.resource_id == resource.id && a.days.contains(day))
            .collect();
        crate::sort::sort_by(&mut donors, |(_, x), (_, y)| {
            rank(x).cmp(&rank(y)).then_with(|| x.id.cmp(&y.id))
        });
        donors
    }

    /// Moves up to `excess` of `donor`'s amount on `day` to targets with room,
    /// roomiest first; the excess left.
    fn drain(
        &mut self,
        resource: &'a Resource,
        day: NaiveDate,
        index: usize,
        donor: &Allocation,
        mut excess: i64,
    ) -> i64 {
        let mut remaining = donor.amount_per_day.value();
        while excess > 0 && remaining > 0 {
            let Some((free, target)) = self.roomiest_target(resource, donor, day) else {
                break;
            };
            let amount = excess.min(remaining).min(free);
            excess -= amount;
            remaining -= amount;
            *self.load.entry((resource.id.as_str(), day)).or_default() -= amount;
            *self.load.entry((target.id.as_str(), day)).or_default() += amount;
            *self
                .day_moves
                .entry((index, target.id.as_str(), day))
                .or_default() += amount;
        }
        excess
    }

    /// The other resource of the same kind, with the skill `donor` needs, that
    /// has the most free capacity on `day` (ties: the smaller id), with that room.
    fn roomiest_target(
        &self,
        resource: &Resource,
        donor: &Allocation,
        day: NaiveDate,
    ) -> Option<(i64, &'a Resource)> {
        self.resources
            .iter()
            .filter(|t| {
                t.id != resource.id
                    && t.kind == resource.kind
                    && donor.skill.as_ref().is_none_or(|s| t.skills.contains(s))
            })
            .map(|t| {
                let used = self.load_on(&t.id, day);
                (t.capacity_per_day.value().saturating_sub(used), t)
            })
            .filter(|(free, _)| *free > 0)
            .max_by(|(fa, ta), (fb, tb)| fa.cmp(fb).then_with(|| tb.id.cmp(&ta.id)))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaign::input::tests::{ts, user};
    use crate::campaign::resources::decision::{
        RebalanceDecision, apply_proposal, decide_rebalance,
    };
    use crate::campaign::resources::tests::{allocation, range, resource, with_skill};
    use crate::campaign::resources::{ApplyError, ResourceKind, overallocations};

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
        let approved = decide_rebalance(
            &p,
            RebalanceDecision::Approve,
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
}
