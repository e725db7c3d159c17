//! The planning book: every allocation and the rebalance proposals, kept together
//! so that deciding a proposal and applying its moves is one change of one record
//! (one compare-and-swap in the store). A proposal is always computed from, and
//! applied to, the allocations of the same book.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::resources::{
    Allocation, ApplyError, ProposalRefusal, ProposalStatus, RebalanceDecision, RebalanceProposal,
    Resource, apply_proposal, decide_rebalance, overallocations, propose_rebalance,
};
use super::values::{DateRange, Priority, UserId};

/// Pending proposals a book holds at most; decide some before proposing more.
pub const MAX_PENDING: usize = 20;
/// Decided proposals kept for reading; older ones live on in the campaigns' audit logs.
pub const KEEP_DECIDED: usize = 100;

/// Every allocation and the recent rebalance proposals.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlanningBook {
    /// Every allocation, oldest first.
    #[serde(default)]
    pub allocations: Vec<Allocation>,
    /// Pending proposals and the most recent decided ones, oldest first.
    #[serde(default)]
    pub proposals: Vec<RebalanceProposal>,
}

/// Why the book refused a change.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BookError {
    /// No proposal with that id (or it was decided long ago and dropped).
    #[error("no rebalance proposal {0}")]
    ProposalNotFound(String),
    /// No allocation with that id.
    #[error("no allocation {0}")]
    AllocationNotFound(String),
    /// Nothing is overallocated in the range.
    #[error("no resource is overallocated between {0}; nothing to rebalance")]
    NothingToRebalance(DateRange),
    /// Too many undecided proposals.
    #[error("{MAX_PENDING} proposals are pending; approve or reject some first")]
    TooManyPending,
    /// The decision was refused (author approving, already decided).
    #[error(transparent)]
    Refused(#[from] ProposalRefusal),
    /// The allocations changed since the proposal was made.
    #[error(transparent)]
    Apply(#[from] ApplyError),
}

/// What [`PlanningBook::propose`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proposed {
    /// A new pending proposal.
    New(RebalanceProposal),
    /// An identical proposal was already pending (e.g. a repeated automated trigger).
    Existing(RebalanceProposal),
}

impl PlanningBook {
    /// Adds an allocation.
    pub fn allocate(&mut self, allocation: Allocation) {
        self.allocations.push(allocation);
    }

    /// Removes an allocation, returning it.
    pub fn remove_allocation(&mut self, id: &str) -> Result<Allocation, BookError> {
        let at = self
            .allocations
            .iter()
            .position(|a| a.id == id)
            .ok_or_else(|| BookError::AllocationNotFound(id.to_string()))?;
        Ok(self.allocations.remove(at))
    }

    /// A proposal by id.
    pub fn proposal(&self, id: &str) -> Option<&RebalanceProposal> {
        self.proposals.iter().find(|p| p.id == id)
    }

    /// Proposes moves that relieve the overallocation in `range`, computed from this
    /// book's allocations. An identical pending proposal is returned instead of a copy.
    #[allow(clippy::too_many_arguments)]
    pub fn propose(
        &mut self,
        resources: &[Resource],
        priorities: &BTreeMap<String, Priority>,
        range: DateRange,
        id: String,
        author: UserId,
        now: DateTime<Utc>,
    ) -> Result<Proposed, BookError> {
        if overallocations(resources, &self.allocations, range).is_empty() {
            return Err(BookError::NothingToRebalance(range));
        }
        let proposal = propose_rebalance(
            resources,
            &self.allocations,
            priorities,
            range,
            id,
            author,
            now,
        );
        if let Some(same) = self.proposals.iter().find(|p| {
            p.status == ProposalStatus::Pending
                && p.range == proposal.range
                && p.moves == proposal.moves
                && p.unresolved == proposal.unresolved
        }) {
            return Ok(Proposed::Existing(same.clone()));
        }
        let pending = self
            .proposals
            .iter()
            .filter(|p| p.status == ProposalStatus::Pending)
            .count();
        if pending >= MAX_PENDING {
            return Err(BookError::TooManyPending);
        }
        self.proposals.push(proposal.clone());
        Ok(Proposed::New(proposal))
    }

    /// Decides proposal `id`; an approval applies its moves to the allocations in the
    /// same change, or fails as a whole (the proposal stays pending).
    pub fn decide_proposal(
        &mut self,
        id: &str,
        decision: RebalanceDecision,
        by: &UserId,
        now: DateTime<Utc>,
        resources: &[Resource],
    ) -> Result<RebalanceProposal, BookError> {
        let at = self
            .proposals
            .iter()
            .position(|p| p.id == id)
            .ok_or_else(|| BookError::ProposalNotFound(id.to_string()))?;
        let decided = decide_rebalance(&self.proposals[at], decision, by, now)?;
        if decided.status == ProposalStatus::Approved {
            self.allocations = apply_proposal(&decided, resources, &self.allocations)?;
        }
        self.proposals[at] = decided.clone();
        self.prune();
        Ok(decided)
    }

    fn prune(&mut self) {
        let decided = self
            .proposals
            .iter()
            .filter(|p| p.status != ProposalStatus::Pending)
            .count();
        let mut drop = decided.saturating_sub(KEEP_DECIDED);
        self.proposals.retain(|p| {
            if drop > 0 && p.status != ProposalStatus::Pending {
                drop -= 1;
                false
            } else {
                true
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaign::input::tests::{ts, user};
    use crate::campaign::resources::ResourceKind;
    use crate::campaign::resources::tests::{allocation, resource};
    use crate::campaign::utilization;

    fn range(from: &str, to: &str) -> DateRange {
        crate::campaign::parse_day_range(Some(from), Some(to)).expect("range")
    }

    fn overbooked() -> (Vec<Resource>, PlanningBook) {
        let resources = vec![
            resource("ann", ResourceKind::Person, 8, &["copywriting"]),
            resource("bob", ResourceKind::Person, 8, &["copywriting"]),
        ];
        let book = PlanningBook {
            allocations: vec![
                allocation("a1", "ann", "c1", "2030-03-01", "2030-03-05", 6),
                allocation("a2", "ann", "c2", "2030-03-01", "2030-03-05", 6),
            ],
            proposals: Vec::new(),
        };
        (resources, book)
    }

    #[test]
    fn approving_applies_the_moves_and_clears_the_overallocation() {
        let (resources, mut book) = overbooked();
        let r = range("2030-03-01", "2030-03-05");
        let now = ts("2030-02-01T00:00:00Z");
        let Ok(Proposed::New(p)) = book.propose(
            &resources,
            &BTreeMap::new(),
            r,
            "p1".into(),
            user("olga"),
            now,
        ) else {
            panic!("a new proposal");
        };
        assert!(!p.moves.is_empty());
        // Proposing again while it is pending returns the same proposal.
        assert!(matches!(
            book.propose(&resources, &BTreeMap::new(), r, "p2".into(), user("olga"), now),
            Ok(Proposed::Existing(e)) if e.id == "p1"
        ));
        assert_eq!(
            book.decide_proposal(
                "p1",
                RebalanceDecision::Approve,
                &user("olga"),
                now,
                &resources
            ),
            Err(BookError::Refused(ProposalRefusal::AuthorCannotApprove))
        );
        let before: i64 = total(&resources, &book, r);
        let decided = book
            .decide_proposal(
                "p1",
                RebalanceDecision::Approve,
                &user("omar"),
                now,
                &resources,
            )
            .expect("approved");
        assert_eq!(decided.status, ProposalStatus::Approved);
        assert!(overallocations(&resources, &book.allocations, r).is_empty());
        assert_eq!(
            total(&resources, &book, r),
            before,
            "hours are moved, not lost"
        );
        assert!(matches!(
            book.decide_proposal(
                "p1",
                RebalanceDecision::Reject,
                &user("omar"),
                now,
                &resources
            ),
            Err(BookError::Refused(ProposalRefusal::AlreadyDecided { .. }))
        ));
        assert_eq!(
            book.propose(
                &resources,
                &BTreeMap::new(),
                r,
                "p3".into(),
                user("olga"),
                now
            ),
            Err(BookError::NothingToRebalance(r))
        );
    }

    fn total(resources: &[Resource], book: &PlanningBook, r: DateRange) -> i64 {
        utilization(resources, &book.allocations, r)
            .iter()
            .flat_map(|u| u.days.iter().map(|d| d.allocated))
            .sum()
    }

    #[test]
    fn a_stale_approval_changes_nothing() {
        let (resources, mut book) = overbooked();
        let r = range("2030-03-01", "2030-03-05");
        let now = ts("2030-02-01T00:00:00Z");
        book.propose(
            &resources,
            &BTreeMap::new(),
            r,
            "p1".into(),
            user("olga"),
            now,
        )
        .expect("proposed");
        book.remove_allocation("a1").expect("removed");
        book.remove_allocation("a2").expect("removed");
        let snapshot = book.clone();
        assert!(matches!(
            book.decide_proposal(
                "p1",
                RebalanceDecision::Approve,
                &user("omar"),
                now,
                &resources
            ),
            Err(BookError::Apply(ApplyError::Stale { .. }))
        ));
        assert_eq!(book, snapshot);
        assert_eq!(
            book.remove_allocation("a1"),
            Err(BookError::AllocationNotFound("a1".into()))
        );
    }

    #[test]
    fn pending_proposals_are_capped_and_old_decided_ones_dropped() {
        let (resources, mut book) = overbooked();
        let now = ts("2030-02-01T00:00:00Z");
        let day = |d: usize| {
            chrono::NaiveDate::from_ymd_opt(2030, 3, 1).expect("date") + chrono::Days::new(d as u64)
        };
        let span = |d: usize| DateRange::parse(day(0), day(d)).expect("range");
        for i in 0..MAX_PENDING {
            let made = book.propose(
                &resources,
                &BTreeMap::new(),
                span(4 + i),
                format!("p{i}"),
                user("olga"),
                now,
            );
            assert!(matches!(made, Ok(Proposed::New(_))), "{made:?}");
        }
        assert_eq!(
            book.propose(
                &resources,
                &BTreeMap::new(),
                span(4 + MAX_PENDING),
                "px".into(),
                user("olga"),
                now
            ),
            Err(BookError::TooManyPending)
        );
        for i in 0..MAX_PENDING {
            book.decide_proposal(
                &format!("p{i}"),
                RebalanceDecision::Reject,
                &user("omar"),
                now,
                &resources,
            )
            .expect("rejected");
        }
        for i in 0..KEEP_DECIDED {
            book.propose(
                &resources,
                &BTreeMap::new(),
                span(4),
                format!("q{i}"),
                user("olga"),
                now,
            )
            .expect("proposed");
            book.decide_proposal(
                &format!("q{i}"),
                RebalanceDecision::Reject,
                &user("omar"),
                now,
                &resources,
            )
            .expect("rejected");
        }
        assert_eq!(book.proposals.len(), KEEP_DECIDED);
        assert!(
            book.proposal("p0").is_none(),
            "the oldest decided ones go first"
        );
        assert!(book.proposal(&format!("q{}", KEEP_DECIDED - 1)).is_some());
    }

    #[test]
    fn a_resource_patch_keeps_unsent_fields_and_never_changes_the_kind() {
        use crate::campaign::ResourcePatch;
        let ann = resource("ann", ResourceKind::Person, 8, &["copywriting"]);
        let patched = ann
            .apply_patch(ResourcePatch {
                capacity_per_day: Some(6),
                ..ResourcePatch::default()
            })
            .expect("valid");
        assert_eq!(patched.capacity_per_day.value(), 6);
        assert_eq!(
            (patched.name.clone(), patched.skills.clone()),
            (ann.name.clone(), ann.skills.clone())
        );
        let same_kind = ResourcePatch {
            kind: Some("person".into()),
            ..ResourcePatch::default()
        };
        assert!(ann.apply_patch(same_kind).is_ok());
        for bad in [
            ResourcePatch {
                kind: Some("team".into()),
                ..ResourcePatch::default()
            },
            ResourcePatch {
                capacity_per_day: Some(25),
                ..ResourcePatch::default()
            },
            ResourcePatch {
                skills: Some(vec!["Not A Slug".into()]),
                ..ResourcePatch::default()
            },
        ] {
            assert!(ann.apply_patch(bad).is_err());
        }
    }
}
