//! Review: reviewers' decisions on an item and the approval they add up to.
//!
//! Every decision records who, with which role, for which stage, with what comment,
//! when, and the content hash it applies to. A review *round* starts on every
//! submit and every re-opening edit; only decisions of the current round on the
//! current hash count, so an edit voids every earlier decision.
//!
//! [`ContentItem::decide`] runs in named steps: parse the verdict, check the
//! caller may decide now, pick the stage (named, or the one open stage the caller
//! can decide), then record the decision and move the item on.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ContentState;
use super::effects::{Changed, ContentError, conflict, invalid};
use super::input::text;
use super::item::{ContentItem, SYSTEM_ACTOR, state_name};
use super::workflow::{StageDef, StageRole, Workflow};
use crate::validation::{ParseError, ValidationErrors};

/// Longest decision comment, in characters.
pub const MAX_COMMENT: usize = 2000;
/// Decisions kept per item; the oldest voided ones go first.
pub const MAX_DECISIONS: usize = 200;

/// Approve or request changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Approves the stage for this hash.
    Approve,
    /// Sends the item back to its author.
    RequestChanges,
}

impl Outcome {
    /// The outcome as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Approve => "approve",
            Outcome::RequestChanges => "request_changes",
        }
    }
}

/// One reviewer's decision on one stage of a content item's review (not a
/// rebalance proposal's or a trigger's decision).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewDecision {
    /// Review round it belongs to.
    pub round: u32,
    /// The workflow stage decided (its slug).
    pub stage: String,
    /// The reviewer's user id.
    pub approver: String,
    /// The role they decided with.
    pub role: StageRole,
    /// Approve or request changes.
    pub outcome: Outcome,
    /// The reviewer's reason; required when requesting changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// When it was recorded.
    pub at: DateTime<Utc>,
    /// The content hash decided on.
    pub content_hash: String,
}

impl ReviewDecision {
    /// The decision as its audit entry records it: the same fields and spelling as
    /// the API shows it, built directly so recording it cannot fail.
    fn audit_detail(&self) -> serde_json::Value {
        let mut detail = serde_json::json!({
            "round": self.round,
            "stage": self.stage,
            "approver": self.approver,
            "role": self.role.as_str(),
            "outcome": self.outcome.as_str(),
            "at": self.at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            "content_hash": self.content_hash,
        });
        if let (Some(comment), Some(o)) = (&self.comment, detail.as_object_mut()) {
            o.insert("comment".into(), comment.clone().into());
        }
        detail
    }
}

/// Who approved an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovedBy {
    /// Every stage of the workflow.
    Workflow,
    /// The system: clean item on an auto-approvable workflow.
    System,
}

/// The approval in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    /// Workflow or system.
    pub by: ApprovedBy,
    /// The hash approved.
    pub content_hash: String,
    /// The round it completed in.
    pub round: u32,
    /// When the last needed approval came in.
    pub at: DateTime<Utc>,
}

/// `POST /api/content/{id}/decisions` body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewDecisionInput {
    /// Required: `approve` or `request_changes`.
    pub outcome: Option<String>,
    /// Required for `request_changes`.
    pub comment: Option<String>,
    /// The stage decided; may be left out when the caller can decide exactly one open stage.
    pub stage: Option<String>,
    /// The content hash the reviewer saw; refused with 409 when it is no longer current.
    pub content_hash: Option<String>,
}

/// A caller deciding: user id and the stage roles they hold (admins hold all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decider {
    /// The caller's user id (token subject).
    pub sub: String,
    /// Stage roles held.
    pub roles: Vec<StageRole>,
}

impl Decider {
    /// Whether the caller holds the stage's role and is listed (or nobody is).
    fn may_decide(&self, stage: &StageDef) -> bool {
        self.roles.contains(&stage.role) && stage.lists(&self.sub)
    }
}

/// Parses outcome and comment; a comment is required when requesting changes.
fn parse_verdict(
    outcome: Option<String>,
    comment: Option<String>,
) -> Result<(Outcome, Option<String>), ContentError> {
    let mut errs = ValidationErrors::default();
    let outcome = errs.required("outcome", outcome, |o| match o.as_str() {
        "approve" => Ok(Outcome::Approve),
        "request_changes" => Ok(Outcome::RequestChanges),
        _ => Err(ParseError::Format("must be approve or request_changes")),
    });
    let comment = match comment {
        Some(c) if c.trim().is_empty() => None,
        Some(c) => errs.check("comment", text(c.trim(), MAX_COMMENT, false)),
        None => None,
    };
    if outcome == Some(Outcome::RequestChanges) && comment.is_none() && !errs.mentions("comment") {
        errs.push("comment", "is required when requesting changes");
    }
    let Some(outcome) = outcome else {
        return Err(ContentError::Invalid(errs));
    };
    if !errs.is_empty() {
        return Err(ContentError::Invalid(errs));
    }
    Ok((outcome, comment))
}

impl ContentItem {
    /// Records a reviewer's decision.
    pub fn decide(
        &mut self,
        input: ReviewDecisionInput,
        decider: &Decider,
        now: DateTime<Utc>,
    ) -> Result<Changed, ContentError> {
        let (outcome, comment) = parse_verdict(input.outcome, input.comment)?;
        self.check_decidable(decider, input.content_hash.as_deref())?;
        let Some(workflow) = self.workflow.clone() else {
            return Err(conflict("not-in-review", "the item has no workflow"));
        };
        let index = match input.stage {
            Some(name) => self.named_stage(&workflow, &name, decider)?,
            None => self.sole_open_stage(&workflow, decider)?,
        };
        let stage = &workflow.stages[index];
        let decision = ReviewDecision {
            round: self.round,
            stage: stage.name.clone(),
            approver: decider.sub.clone(),
            role: stage.role,
            outcome,
            comment,
            at: now,
            content_hash: self.content_hash.clone(),
        };
        Ok(self.record_decision(decision, &workflow, now))
    }

    /// Refuses editors, items not in review, and a hash the reviewer did not see.
    fn check_decidable(
        &self,
        decider: &Decider,
        seen_hash: Option<&str>,
    ) -> Result<(), ContentError> {
        if self.editors.contains(&decider.sub) {
            return Err(ContentError::Forbidden(if self.author == decider.sub {
                "the author of an item may not decide on it".to_string()
            } else {
                "people who edited an item may not decide on it".to_string()
            }));
        }
        if self.state != ContentState::InReview {
            return Err(conflict(
                "not-in-review",
                format!("the item is {}, not in_review", state_name(self.state)),
            ));
        }
        if let Some(h) = seen_hash
            && h != self.content_hash
        {
            return Err(conflict(
                "stale-content",
                format!(
                    "the item changed since you read it: its content hash is now {}",
                    self.content_hash
                ),
            ));
        }
        Ok(())
    }

    /// Whether `decider` already decided stage `i` this round, on this hash.
    fn has_decided(&self, workflow: &Workflow, decider: &Decider, i: usize) -> bool {
        self.current_decisions()
            .any(|d| d.approver == decider.sub && d.stage == workflow.stages[i].name)
    }

    /// The index of the stage the caller named, if they may decide it now.
    fn named_stage(
        &self,
        workflow: &Workflow,
        name: &str,
        decider: &Decider,
    ) -> Result<usize, ContentError> {
        let Some((i, s)) = workflow.stage(name) else {
            return Err(invalid(
                "stage",
                format!("the workflow has no stage '{name}'"),
            ));
        };
        if !decider.roles.contains(&s.role) {
            return Err(ContentError::Forbidden(format!(
                "stage '{name}' is decided by the {} role",
                s.role.as_str()
            )));
        }
        if !s.lists(&decider.sub) {
            return Err(ContentError::Forbidden(format!(
                "stage '{name}' is decided only by: {}",
                s.approvers.join(", ")
            )));
        }
        if self.has_decided(workflow, decider, i) {
            return Err(conflict(
                "already-decided",
                format!("you already decided stage '{name}' for this version"),
            ));
        }
        if self.stage_complete(i) {
            return Err(conflict(
                "stage-complete",
                format!("stage '{name}' is already complete"),
            ));
        }
        if !self.open_stages().contains(&i) {
            return Err(conflict(
                "stage-not-open",
                format!("stage '{name}' opens after the earlier stages complete"),
            ));
        }
        Ok(i)
    }

    /// The index of the one open stage the caller may still decide, when no stage
    /// was named.
    fn sole_open_stage(
        &self,
        workflow: &Workflow,
        decider: &Decider,
    ) -> Result<usize, ContentError> {
        let open = self.open_stages();
        let mine: Vec<usize> = open
            .iter()
            .copied()
            .filter(|i| {
                decider.may_decide(&workflow.stages[*i]) && !self.has_decided(workflow, decider, *i)
            })
            .collect();
        match mine.as_slice() {
            [i] => Ok(*i),
            [] => Err(self.no_stage_for(workflow, decider, &open)),
            _ => Err(invalid(
                "stage",
                "you may decide several open stages; name one",
            )),
        }
    }

    /// Why the caller has no open stage to decide: done already, or not theirs.
    fn no_stage_for(&self, workflow: &Workflow, decider: &Decider, open: &[usize]) -> ContentError {
        let decided_one = (0..workflow.stages.len()).any(|i| {
            decider.may_decide(&workflow.stages[i]) && self.has_decided(workflow, decider, i)
        });
        if decided_one {
            return conflict(
                "already-decided",
                "you already decided the open stage for this version",
            );
        }
        let names: Vec<String> = open
            .iter()
            .map(|i| {
                format!(
                    "'{}' ({})",
                    workflow.stages[*i].name,
                    workflow.stages[*i].role.as_str()
                )
            })
            .collect();
        ContentError::Forbidden(format!(
            "you may not decide any open stage; open: {}",
            names.join(", ")
        ))
    }

    /// Appends `decision` and moves the item on: a change request sends it back to
    /// the author; the approval that completes the last stage approves it.
    fn record_decision(
        &mut self,
        decision: ReviewDecision,
        workflow: &Workflow,
        now: DateTime<Utc>,
    ) -> Changed {
        let by = decision.approver.clone();
        let stage = decision.stage.clone();
        let outcome = decision.outcome;
        let mut changed = Changed::default();
        changed.push(&by, "content.decided", decision.audit_detail());
        self.decisions.push(decision);
        match outcome {
            Outcome::RequestChanges => {
                self.state = ContentState::ChangesRequested;
                changed.push(
                    &by,
                    "content.changes_requested",
                    serde_json::json!({"stage": stage}),
                );
            }
            Outcome::Approve => {
                if (0..workflow.stages.len()).all(|i| self.stage_complete(i)) {
                    self.approve_by_workflow(&by, now, &mut changed);
                }
            }
        }
        self.touch(now);
        self.prune_decisions();
        changed
    }

    fn approve_by_workflow(&mut self, by: &str, now: DateTime<Utc>, changed: &mut Changed) {
        self.state = ContentState::Approved;
        self.approval = Some(Approval {
            by: ApprovedBy::Workflow,
            content_hash: self.content_hash.clone(),
            round: self.round,
            at: now,
        });
        changed.push(
            by,
            "content.approved",
            serde_json::json!({"content_hash": self.content_hash, "round": self.round}),
        );
        self.resolve_refresh(now, changed);
    }

    /// Decisions that count: this round, this hash.
    pub fn current_decisions(&self) -> impl Iterator<Item = &ReviewDecision> {
        self.decisions
            .iter()
            .filter(move |d| d.round == self.round && d.content_hash == self.content_hash)
    }

    fn approvals_for(&self, stage: &StageDef) -> usize {
        let mut who: Vec<&str> = self
            .current_decisions()
            .filter(|d| d.stage == stage.name && d.outcome == Outcome::Approve)
            .filter(|d| stage.lists(&d.approver))
            .map(|d| d.approver.as_str())
            .collect();
        crate::sort::sort(&mut who);
        who.dedup();
        who.len()
    }

    /// Whether stage `i` of the current workflow is complete.
    pub fn stage_complete(&self, i: usize) -> bool {
        let Some(w) = &self.workflow else {
            return false;
        };
        w.stages
            .get(i)
            .is_some_and(|s| self.approvals_for(s) >= s.needed())
    }

    /// The stages open for decisions now (the first group with an incomplete stage).
    pub fn open_stages(&self) -> Vec<usize> {
        let Some(w) = &self.workflow else {
            return Vec::new();
        };
        if self.state != ContentState::InReview {
            return Vec::new();
        }
        w.groups()
            .into_iter()
            .find(|g| g.iter().any(|i| !self.stage_complete(*i)))
            .map(|g| g.into_iter().filter(|i| !self.stage_complete(*i)).collect())
            .unwrap_or_default()
    }

    /// Whether the approval in force covers the current content: the system
    /// approved this hash, or every stage has its approvals on this hash this round.
    pub fn approvals_complete(&self) -> bool {
        let Some(a) = &self.approval else {
            return false;
        };
        if a.content_hash != self.content_hash || a.round != self.round {
            return false;
        }
        match a.by {
            ApprovedBy::System => {
                self.checks.passed
                    && self.checks.content_hash == self.content_hash
                    && self.workflow.as_ref().is_some_and(|w| w.auto_approve)
            }
            ApprovedBy::Workflow => self.workflow.as_ref().is_some_and(|w| {
                !w.stages.is_empty() && (0..w.stages.len()).all(|i| self.stage_complete(i))
            }),
        }
    }

    /// Starts a review round on the current content with `workflow`: checks that
    /// fail send it back to the author; a clean item on an auto-approvable
    /// workflow is approved by the system; otherwise the first stage opens.
    pub(super) fn enter_review(
        &mut self,
        workflow: &Workflow,
        now: DateTime<Utc>,
        changed: &mut Changed,
    ) {
        self.round += 1;
        self.approval = None;
        self.workflow = Some(workflow.clone());
        self.review_started_at = Some(now);
        if !self.checks.passed {
            self.state = ContentState::ChangesRequested;
            changed.push(
                SYSTEM_ACTOR,
                "content.changes_requested",
                serde_json::json!({"round": self.round, "reason": "automated checks failed", "failures": self.checks.failures}),
            );
        } else if workflow.auto_approve {
            self.state = ContentState::Approved;
            self.approval = Some(Approval {
                by: ApprovedBy::System,
                content_hash: self.content_hash.clone(),
                round: self.round,
                at: now,
            });
            changed.push(
                SYSTEM_ACTOR,
                "content.auto_approved",
                serde_json::json!({"round": self.round, "content_hash": self.content_hash, "reason": "every automated check passed on an auto-approvable channel"}),
            );
            self.resolve_refresh(now, changed);
        } else {
            self.state = ContentState::InReview;
            changed.push(
                SYSTEM_ACTOR,
                "content.review_started",
                serde_json::json!({"round": self.round, "content_hash": self.content_hash, "stages": workflow.stages.iter().map(|s| &s.name).collect::<Vec<_>>()}),
            );
        }
    }

    /// After an edit changed the judged content: an item in review, approved or
    /// scheduled loses its slot, its decisions and its approval, and starts a new
    /// round with `workflow`. Items in other states are left as they are.
    pub(super) fn reopen_review(
        &mut self,
        editor: &str,
        now: DateTime<Utc>,
        workflow: &Workflow,
        changed: &mut Changed,
    ) {
        if !matches!(
            self.state,
            ContentState::InReview | ContentState::Approved | ContentState::Scheduled
        ) {
            return;
        }
        let voided = self.current_decisions().count();
        let previous = self.state;
        self.release_slot(changed);
        changed.push(
            editor,
            "content.reopened",
            serde_json::json!({"previous_state": state_name(previous), "voided_decisions": voided, "voided_approval": self.approval.is_some()}),
        );
        self.enter_review(workflow, now, changed);
    }

    /// Drops the oldest decisions of earlier rounds until at most
    /// [`MAX_DECISIONS`] remain (the current round's are never dropped).
    pub(super) fn prune_decisions(&mut self) {
        while self.decisions.len() > MAX_DECISIONS {
            let round = self.round;
            match self.decisions.iter().position(|d| d.round != round) {
                Some(i) => {
                    self.decisions.remove(i);
                }
                None => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decisions_audit_detail_is_the_decision_as_the_api_serialises_it() {
        let at = DateTime::parse_from_rfc3339("2026-03-01T09:30:00.250Z")
            .map(|t| t.with_timezone(&Utc))
            .expect("time");
        for (outcome, comment) in [
            (Outcome::Approve, None),
            (Outcome::RequestChanges, Some("tone".to_string())),
        ] {
            let decision = ReviewDecision {
                round: 2,
                stage: "brand".into(),
                approver: "bree".into(),
                role: StageRole::BrandReviewer,
                outcome,
                comment,
                at,
                content_hash: "abc".into(),
            };
            assert_eq!(
                Some(decision.audit_detail()),
                serde_json::to_value(&decision).ok()
            );
        }
    }
}
