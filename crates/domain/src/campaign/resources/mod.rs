//! Resources, allocations, utilization, and rebalance proposals.
//!
//! Amounts are integers in the resource's unit: whole hours for people and
//! teams, currency minor units for budget pools. Days are UTC calendar days.
//!
//! - [`resource`]: people, teams and budget pools, and their capacity per day
//! - [`allocation`]: part of a resource booked for a campaign over days
//! - [`utilization`]: allocated vs capacity per resource-day; overallocation
//! - [`proposal`]: a rebalance proposal and how it is computed
//! - [`decision`]: approving or rejecting a proposal, and applying an approved one

mod allocation;
mod decision;
mod proposal;
mod resource;
mod utilization;

pub use allocation::{Allocation, AllocationInput};
pub use decision::{
    ApplyError, ProposalRefusal, RebalanceDecision, RebalanceDecisionInput, apply_proposal,
    decide_rebalance,
};
pub use proposal::{Move, ProposalStatus, RebalanceProposal, propose_rebalance};
pub use resource::{
    Amount, MAX_SKILLS, Resource, ResourceInput, ResourceKind, ResourcePatch, Unit,
};
pub(super) use utilization::utilization_map;
pub use utilization::{
    DayUtilization, Overallocation, ResourceUtilization, overallocations, utilization,
};

#[cfg(test)]
pub(super) mod tests {
    //! Fixtures shared by the resource, allocation, rebalance, stage and book tests.

    use std::collections::BTreeMap;

    use chrono::NaiveDate;
    use proptest::prelude::*;

    use super::*;
    use crate::campaign::values::{DateRange, Priority, Skill, parse_day};

    pub(in crate::campaign) fn day(s: &str) -> NaiveDate {
        parse_day(s).unwrap_or_default()
    }

    pub(in crate::campaign) fn range(from: &str, to: &str) -> DateRange {
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

    pub(in crate::campaign) fn with_skill(mut a: Allocation, skill: &str) -> Allocation {
        a.skill = Skill::parse(skill).ok();
        a
    }

    // --- generators for the property tests -------------------------------------

    const RESOURCE_IDS: [&str; 4] = ["r0", "r1", "r2", "r3"];
    const SKILLS: [&str; 2] = ["copy", "design"];

    pub(in crate::campaign) fn base() -> NaiveDate {
        day("2030-03-01")
    }

    pub(in crate::campaign) fn gen_resources() -> impl Strategy<Value = Vec<Resource>> {
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

    pub(in crate::campaign) fn gen_allocations() -> impl Strategy<Value = Vec<Allocation>> {
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

    pub(in crate::campaign) fn gen_range() -> impl Strategy<Value = DateRange> {
        (0u64..12, 0u64..12).prop_filter_map("range", |(a, len)| {
            let from = base() + chrono::Days::new(a);
            DateRange::parse(from, from + chrono::Days::new(len)).ok()
        })
    }

    pub(in crate::campaign) fn gen_priorities() -> impl Strategy<Value = BTreeMap<String, Priority>>
    {
        proptest::collection::vec(1i64..=5, 3).prop_map(|levels| {
            levels
                .into_iter()
                .enumerate()
                .filter_map(|(c, l)| Some((format!("c{c}"), Priority::parse(l).ok()?)))
                .collect()
        })
    }

    pub(in crate::campaign) fn total(allocations: &[Allocation], r: DateRange) -> i64 {
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
}
