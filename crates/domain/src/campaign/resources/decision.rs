//! Deciding a rebalance proposal (the author may reject but not approve it) and
//! applying an approved one to the allocations it was computed from.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::allocation::Allocation;
use super::proposal::{Move, ProposalStatus, RebalanceProposal};
use super::resource::{Amount, Resource};
use super::utilization::utilization_map;
use crate::campaign::values::{DateRange, UserId};

/// An approver's answer to a rebalance proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RebalanceDecision {
    /// Approve: the proposal may be applied.
    Approve,
    /// Reject: the proposal is never applied.
    Reject,
}

/// The body of a request deciding a rebalance proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RebalanceDecisionInput {
    /// `approve` or `reject`.
    pub decision: RebalanceDecision,
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
        /// What it was decided to be.
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
        /// The allocation that no longer matches.
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
        /// The resource that would end up more overallocated.
        resource_id: String,
        /// The first such day of that resource.
        date: NaiveDate,
    },
}

/// Records a decision on a pending proposal. The author may reject but not approve.
pub fn decide_rebalance(
    proposal: &RebalanceProposal,
    decision: RebalanceDecision,
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
        RebalanceDecision::Approve if *by == proposal.author => {
            return Err(ProposalRefusal::AuthorCannotApprove);
        }
        RebalanceDecision::Approve => ProposalStatus::Approved,
        RebalanceDecision::Reject => ProposalStatus::Rejected,
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
    let by_id = index_by_id(allocations)?;
    let remaining = remaining_after_moves(&proposal.moves, &by_id)?;
    let mut ids = NewIds {
        prefix: &proposal.id,
        issued: 0,
    };
    let mut out = Vec::with_capacity(allocations.len() + proposal.moves.len());
    for a in allocations {
        match remaining.get(a.id.as_str()) {
            Some(per_day) => out.extend(cut_into_runs(a, per_day, &mut ids)),
            None => out.push(a.clone()),
        }
    }
    out.extend(moved_allocations(&proposal.moves, &by_id, &mut ids));
    refuse_added_overallocation(proposal.range, resources, allocations, &out)?;
    Ok(out)
}

/// The allocations by id; two with the same id are refused.
fn index_by_id(allocations: &[Allocation]) -> Result<BTreeMap<&str, &Allocation>, ApplyError> {
    let mut by_id: BTreeMap<&str, &Allocation> = BTreeMap::new();
    for a in allocations {
        if by_id.insert(a.id.as_str(), a).is_some() {
            return Err(ApplyError::DuplicateId(a.id.clone()));
        }
    }
    Ok(by_id)
}

/// What each donor allocation still holds per day once the moves are taken out
/// of it; [`ApplyError::Stale`] when an allocation no longer holds what a move takes.
fn remaining_after_moves<'a>(
    moves: &[Move],
    by_id: &BTreeMap<&'a str, &'a Allocation>,
) -> Result<BTreeMap<&'a str, BTreeMap<NaiveDate, i64>>, ApplyError> {
    let mut donors: BTreeMap<&str, BTreeMap<NaiveDate, i64>> = BTreeMap::new();
    for m in moves {
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
    Ok(donors)
}

/// Ids for the allocations a proposal creates: `{proposal id}-{n}`, n from 1.
struct NewIds<'a> {
    prefix: &'a str,
    issued: usize,
}

impl NewIds<'_> {
    fn next(&mut self) -> String {
        self.issued += 1;
        format!("{}-{}", self.prefix, self.issued)
    }
}

/// A donor allocation cut into runs of days with equal remaining amounts; the
/// first run keeps its id, days left with nothing are dropped.
fn cut_into_runs(
    donor: &Allocation,
    per_day: &BTreeMap<NaiveDate, i64>,
    ids: &mut NewIds<'_>,
) -> Vec<Allocation> {
    let mut out = Vec::new();
    let mut first = true;
    for (days, amount) in runs(per_day) {
        let Ok(amount_per_day) = Amount::parse(amount) else {
            continue;
        };
        let id = if first { donor.id.clone() } else { ids.next() };
        first = false;
        out.push(Allocation {
            id,
            days,
            amount_per_day,
            ..donor.clone()
        });
    }
    out
}

/// Every move as a new allocation on its target, needing the donor's skill.
fn moved_allocations(
    moves: &[Move],
    by_id: &BTreeMap<&str, &Allocation>,
    ids: &mut NewIds<'_>,
) -> Vec<Allocation> {
    let mut out = Vec::with_capacity(moves.len());
    for m in moves {
        let (Some(source), Ok(amount_per_day)) = (
            by_id.get(m.allocation_id.as_str()),
            Amount::parse(m.amount_per_day),
        ) else {
            continue;
        };
        out.push(Allocation {
            id: ids.next(),
            resource_id: m.to_resource.clone(),
            campaign_id: m.campaign_id.clone(),
            days: m.days,
            amount_per_day,
            skill: source.skill.clone(),
        });
    }
    out
}

/// [`ApplyError::WouldOverallocate`] for the first resource-day of `range` whose
/// excess over capacity is larger `after` than `before`.
fn refuse_added_overallocation(
    range: DateRange,
    resources: &[Resource],
    before: &[Allocation],
    after: &[Allocation],
) -> Result<(), ApplyError> {
    let before = utilization_map(before, range);
    let after = utilization_map(after, range);
    for r in resources {
        let capacity = r.capacity_per_day.value();
        for date in range.days() {
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
    Ok(())
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
mod tests {
    use super::*;
    use crate::campaign::input::tests::{ts, user};
    use crate::campaign::resources::proposal::propose_rebalance;
    use crate::campaign::resources::tests::{
        allocation, base, gen_allocations, gen_priorities, gen_range, gen_resources, range,
        resource, total,
    };
    use crate::campaign::resources::{ResourceKind, overallocations};
    use proptest::prelude::*;

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
            decide_rebalance(
                &p,
                RebalanceDecision::Approve,
                &user("otto"),
                ts("2030-02-01T00:00:00Z")
            ),
            Err(ProposalRefusal::AuthorCannotApprove)
        );
        let rejected = decide_rebalance(
            &p,
            RebalanceDecision::Reject,
            &user("otto"),
            ts("2030-02-01T00:00:00Z"),
        );
        let Ok(rejected) = rejected else {
            panic!("reject refused")
        };
        assert_eq!(rejected.status, ProposalStatus::Rejected);
        assert_eq!(
            decide_rebalance(
                &rejected,
                RebalanceDecision::Approve,
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
        let Ok(p) = decide_rebalance(
            &p,
            RebalanceDecision::Approve,
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

    proptest! {
        #[test]
        fn an_applied_rebalance_conserves_amounts_and_never_adds_overallocation(
            resources in gen_resources(),
            allocations in gen_allocations(),
            priorities in gen_priorities(),
            r in gen_range(),
        ) {
            let p = propose_rebalance(&resources, &allocations, &priorities, r, "p".into(), user("otto"), ts("2030-02-01T00:00:00Z"));
            let approved = decide_rebalance(&p, RebalanceDecision::Approve, &user("ola"), ts("2030-02-01T00:00:00Z"));
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
