//! Refreshes: the optimization loop (an engagement-drop trigger) or an operations
//! user asks for approved, scheduled or published content to be looked at again.
//!
//! ```text
//! approved | scheduled | published ──request_refresh──▶ in_review (a new round, decided by people)
//!                                                   └──▶ changes_requested (checks fail now, or the
//!                                                         workflow has no stage: the author must edit)
//! the round's approval (by the workflow, or by the system after an edit) resolves the refresh
//! ```
//!
//! A refresh voids the approval in force and gives back a scheduled send's slot
//! (a published send already happened: its slot and calendar entry stay as
//! history). It is never approved by the system on unchanged content: a round
//! opened by a refresh waits for the workflow's people even on an auto-approvable
//! channel. Asking again while a refresh is open, or again for the trigger that
//! asked last, changes nothing ([`ContentItem::refresh_answered`]): redelivered
//! and retried requests are answered with the item as it is.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ContentState;
use super::effects::{Changed, ContentError, conflict};
use super::input::text;
use super::item::{ContentItem, SYSTEM_ACTOR, Standard, state_name};
use super::workflow::Workflow;
use crate::validation::{ParseError, ValidationErrors};

/// Longest refresh reason, in characters.
pub const MAX_REASON: usize = 500;
/// Longest trigger id a refresh records.
pub const MAX_TRIGGER_ID: usize = 64;

/// The refresh asked for most recently, kept on the item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refresh {
    /// When it was asked for.
    pub requested_at: DateTime<Utc>,
    /// Who asked (a user id, or `system:scheduler` when trigger dispatch calls).
    pub requested_by: String,
    /// Why, as the caller put it (shown to the author and the reviewers).
    pub reason: String,
    /// The monitoring trigger that asked, if one did.
    #[serde(default)]
    pub trigger_id: Option<String>,
    /// Whether a variant (an alternative version) is asked for rather than a rework.
    pub variant: bool,
    /// The state the item was in when the refresh opened.
    pub previous_state: ContentState,
    /// The review round the refresh opened.
    pub round: u32,
    /// When an approval of a later round resolved it; `None` while it is open.
    #[serde(default)]
    pub resolved_at: Option<DateTime<Utc>>,
}

impl Refresh {
    /// Whether the refresh still waits for an approval.
    pub fn is_open(&self) -> bool {
        self.resolved_at.is_none()
    }
}

/// `POST /api/content/{id}/refresh` body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshInput {
    /// Required: why, 1..=500 characters, no control characters but newlines.
    pub reason: Option<String>,
    /// The trigger asking, if any: 1..=64 letters, digits, `-` or `_`.
    pub trigger_id: Option<String>,
    /// Ask for a variant instead of a rework (default false).
    pub variant: Option<bool>,
}

/// A parsed refresh request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshRequest {
    /// Why.
    pub reason: String,
    /// The trigger asking, if any.
    pub trigger_id: Option<String>,
    /// A variant rather than a rework.
    pub variant: bool,
}

/// A reason for a refresh or a timing change: 1..=500 characters, trimmed, no
/// control characters but newlines.
pub(super) fn reason(raw: String) -> Result<String, ParseError> {
    let r = text(raw.trim(), MAX_REASON, false)?;
    if r.chars().any(|c| c.is_control() && c != '\n') {
        return Err(ParseError::Format(
            "must not contain control characters other than newlines",
        ));
    }
    Ok(r)
}

/// A trigger id: what the outbox mints (1..=64 ASCII letters, digits, `-`, `_`).
pub fn trigger_id(raw: String) -> Result<String, ParseError> {
    let ok = !raw.is_empty()
        && raw.len() <= MAX_TRIGGER_ID
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(raw)
    } else {
        Err(ParseError::Format(
            "must be a trigger id: 1 to 64 letters, digits, '-' or '_'",
        ))
    }
}

impl RefreshInput {
    /// Parses with per-field errors.
    pub fn parse(self) -> Result<RefreshRequest, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let reason = errs.required("reason", self.reason, reason);
        let trigger_id = match self.trigger_id {
            Some(t) => errs.check("trigger_id", trigger_id(t)),
            None => None,
        };
        let Some(reason) = reason else {
            return Err(errs);
        };
        errs.into_result(RefreshRequest {
            reason,
            trigger_id,
            variant: self.variant.unwrap_or(false),
        })
    }
}

impl ContentItem {
    /// Whether a refresh request needs no change: a refresh is open already, or
    /// `trigger_id` is the trigger whose refresh this item recorded last (a
    /// retried or redelivered request after that refresh was resolved).
    pub fn refresh_answered(&self, trigger_id: Option<&str>) -> bool {
        self.refresh.as_ref().is_some_and(|r| {
            r.is_open() || (trigger_id.is_some() && r.trigger_id.as_deref() == trigger_id)
        })
    }

    /// Opens a refresh (see the module docs). Returns no events when
    /// [`refresh_answered`](Self::refresh_answered) holds; refuses items that were
    /// never approved or are withdrawn with 409 `not-refreshable`.
    pub fn request_refresh(
        &mut self,
        request: RefreshRequest,
        by: &str,
        now: DateTime<Utc>,
        standard: Standard<'_>,
        workflow: &Workflow,
    ) -> Result<Changed, ContentError> {
        if self.refresh_answered(request.trigger_id.as_deref()) {
            return Ok(Changed::default());
        }
        self.refreshable()?;
        let previous = self.state;
        let mut changed = Changed::default();
        if previous == ContentState::Published {
            // The send happened: its slot and calendar entry stay as history.
            self.scheduled = None;
        } else {
            self.release_slot(&mut changed);
        }
        self.rerun_checks(standard);
        changed.push(
            by,
            "content.refresh_requested",
            serde_json::json!({
                "reason": request.reason,
                "trigger_id": request.trigger_id,
                "variant": request.variant,
                "previous_state": state_name(previous),
                "voided_approval": self.approval.is_some(),
                "released_slot": changed.released_slot,
            }),
        );
        self.enter_refresh_round(workflow, &mut changed);
        self.review_started_at = Some(now);
        self.refresh = Some(Refresh {
            requested_at: now,
            requested_by: by.to_string(),
            reason: request.reason,
            trigger_id: request.trigger_id,
            variant: request.variant,
            previous_state: previous,
            round: self.round,
            resolved_at: None,
        });
        self.touch(now);
        self.prune_decisions();
        Ok(changed)
    }

    /// Refuses items there is nothing to refresh on: not approved yet, back with
    /// their author, or withdrawn.
    fn refreshable(&self) -> Result<(), ContentError> {
        let why = match self.state {
            ContentState::Approved | ContentState::Scheduled | ContentState::Published => {
                return Ok(());
            }
            ContentState::Draft => {
                "it is a draft: it was never approved, so there is nothing to refresh"
            }
            ContentState::InReview => "it is already in review",
            ContentState::ChangesRequested => {
                "its reviewers already sent it back to its author (changes_requested)"
            }
            ContentState::Withdrawn => "it is withdrawn",
        };
        Err(conflict(
            "not-refreshable",
            format!(
                "only approved, scheduled or published content can be refreshed; this item is {}: {why}",
                state_name(self.state)
            ),
        ))
    }

    /// Starts the round a refresh opens: like a submit's, except that unchanged
    /// content is never approved by the system — the workflow's people decide it,
    /// and a workflow without stages hands the item to its author.
    fn enter_refresh_round(&mut self, workflow: &Workflow, changed: &mut Changed) {
        self.round += 1;
        self.approval = None;
        self.workflow = Some(workflow.clone());
        let (state, reason) = if !self.checks.passed {
            (
                ContentState::ChangesRequested,
                "automated checks fail under the current brand standard",
            )
        } else if workflow.stages.is_empty() {
            (
                ContentState::ChangesRequested,
                "the workflow has no review stage: the author's edit is reviewed by the automated checks",
            )
        } else {
            (ContentState::InReview, "refresh")
        };
        self.state = state;
        if state == ContentState::InReview {
            changed.push(
                SYSTEM_ACTOR,
                "content.review_started",
                serde_json::json!({"round": self.round, "content_hash": self.content_hash, "reason": reason,
                    "stages": workflow.stages.iter().map(|s| &s.name).collect::<Vec<_>>()}),
            );
        } else {
            changed.push(
                SYSTEM_ACTOR,
                "content.changes_requested",
                serde_json::json!({"round": self.round, "reason": reason, "failures": self.checks.failures}),
            );
        }
    }

    /// Resolves an open refresh once an approval of a later round is in force.
    pub(super) fn resolve_refresh(&mut self, now: DateTime<Utc>, changed: &mut Changed) {
        let round = self.round;
        if let Some(r) = self.refresh.as_mut()
            && r.is_open()
            && round >= r.round
        {
            r.resolved_at = Some(now);
            changed.push(
                SYSTEM_ACTOR,
                "content.refresh_resolved",
                serde_json::json!({"trigger_id": r.trigger_id, "opened_round": r.round, "approved_round": round}),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::{
        BrandStandard, Decider, NewContent, Picked, ReviewDecisionInput, ScheduledSend, StageRole,
    };
    use chrono::TimeZone;

    fn at(minute: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_900_000_000 + minute * 60, 0)
            .single()
            .unwrap_or_default()
    }

    fn std_of(standard: &BrandStandard) -> Standard<'_> {
        Standard {
            standard,
            version: 0,
        }
    }

    fn request(trigger: Option<&str>) -> RefreshRequest {
        RefreshRequest {
            reason: "click rate fell 40% vs the trailing week".into(),
            trigger_id: trigger.map(String::from),
            variant: false,
        }
    }

    /// An item taken through the default workflow to `approved`.
    fn approved(standard: &BrandStandard) -> ContentItem {
        let input = NewContent {
            campaign_id: Some("c1".into()),
            channel: Some("web".into()),
            title: Some("Title".into()),
            body: Some("Hello".into()),
            ..Default::default()
        };
        let Ok((mut item, _)) =
            ContentItem::create("i1", input, &[], "mia", at(0), std_of(standard))
        else {
            panic!("valid item");
        };
        let w = Workflow::default();
        item.submit("mia", at(1), &w).expect("submits");
        for (who, role) in [
            ("bree", StageRole::BrandReviewer),
            ("cole", StageRole::ComplianceReviewer),
            ("olga", StageRole::Operations),
        ] {
            let decider = Decider {
                sub: who.into(),
                roles: vec![role],
            };
            let approve = ReviewDecisionInput {
                outcome: Some("approve".into()),
                ..Default::default()
            };
            item.decide(approve, &decider, at(2)).expect("approves");
        }
        assert_eq!(item.state, ContentState::Approved);
        item
    }

    #[test]
    fn a_refresh_of_a_scheduled_item_opens_a_round_gives_back_the_slot_and_is_audited_once() {
        let standard = BrandStandard::default();
        let mut item = approved(&standard);
        let send = ScheduledSend {
            at: at(600),
            slot_hour: 7_200,
            picked: Picked::Auto,
            moved: None,
        };
        item.schedule(send, "olga", at(3)).expect("schedules");
        let round = item.round;
        let changed = item
            .request_refresh(
                request(Some("T1")),
                "system:scheduler",
                at(4),
                std_of(&standard),
                &Workflow::default(),
            )
            .expect("refreshes");
        assert_eq!(item.state, ContentState::InReview);
        assert_eq!(item.round, round + 1);
        assert!(item.approval.is_none() && item.scheduled.is_none());
        assert_eq!(changed.released_slot, Some(7_200));
        let asked: Vec<_> = changed
            .events
            .iter()
            .filter(|e| e.action == "content.refresh_requested")
            .collect();
        assert_eq!(asked.len(), 1);
        assert_eq!(asked[0].actor, "system:scheduler");
        assert_eq!(asked[0].detail["trigger_id"], "T1");
        let r = item.refresh.clone().expect("recorded");
        assert_eq!(
            (r.previous_state, r.round, r.is_open()),
            (ContentState::Scheduled, round + 1, true)
        );

        // Asked again (a retry, or another trigger while it is open): nothing changes.
        let before = item.clone();
        for t in [Some("T1"), Some("T2"), None] {
            let again = item
                .request_refresh(
                    request(t),
                    "olga",
                    at(5),
                    std_of(&standard),
                    &Workflow::default(),
                )
                .expect("answered");
            assert!(again.events.is_empty() && again.released_slot.is_none());
            assert_eq!(item, before);
        }
    }

    #[test]
    fn the_rounds_approval_resolves_the_refresh_and_the_same_trigger_never_reopens_it() {
        let standard = BrandStandard::default();
        let mut item = approved(&standard);
        let w = Workflow::default();
        item.request_refresh(request(Some("T1")), "olga", at(4), std_of(&standard), &w)
            .expect("refreshes");
        for (who, role) in [
            ("bree", StageRole::BrandReviewer),
            ("cole", StageRole::ComplianceReviewer),
            ("omar", StageRole::Operations),
        ] {
            let decider = Decider {
                sub: who.into(),
                roles: vec![role],
            };
            let approve = ReviewDecisionInput {
                outcome: Some("approve".into()),
                ..Default::default()
            };
            item.decide(approve, &decider, at(5)).expect("approves");
        }
        assert_eq!(item.state, ContentState::Approved);
        let r = item.refresh.clone().expect("kept");
        assert_eq!(r.resolved_at, Some(at(5)));
        // The same trigger again (a late retry): answered, not reopened.
        let before = item.clone();
        let again = item
            .request_refresh(request(Some("T1")), "olga", at(6), std_of(&standard), &w)
            .expect("answered");
        assert!(again.events.is_empty());
        assert_eq!(item, before);
        // Another trigger later opens a new refresh.
        item.request_refresh(request(Some("T2")), "olga", at(7), std_of(&standard), &w)
            .expect("refreshes");
        assert_eq!(
            item.refresh.as_ref().and_then(|r| r.trigger_id.as_deref()),
            Some("T2")
        );
    }

    #[test]
    fn a_published_item_keeps_its_send_as_history_and_auto_approval_does_not_skip_people() {
        let standard = BrandStandard::default();
        let mut item = approved(&standard);
        let send = ScheduledSend {
            at: at(60),
            slot_hour: 3_600,
            picked: Picked::Explicit,
            moved: None,
        };
        item.schedule(send, "olga", at(3)).expect("schedules");
        item.publish("olga", at(61)).expect("publishes");
        let auto = Workflow {
            auto_approve: true,
            ..Workflow::default()
        };
        let changed = item
            .request_refresh(request(None), "olga", at(62), std_of(&standard), &auto)
            .expect("refreshes");
        assert_eq!(changed.released_slot, None, "the send happened");
        assert_eq!(
            item.state,
            ContentState::InReview,
            "people decide a refresh"
        );
        assert_eq!(
            item.published_at,
            Some(at(61)),
            "kept until published again"
        );
        let no_stages = Workflow {
            stages: vec![],
            auto_approve: true,
        };
        let mut other = approved(&standard);
        other
            .request_refresh(request(None), "olga", at(62), std_of(&standard), &no_stages)
            .expect("refreshes");
        assert_eq!(other.state, ContentState::ChangesRequested);
    }

    #[test]
    fn drafts_items_in_review_and_withdrawn_items_are_refused_with_the_reason() {
        let standard = BrandStandard::default();
        let mut item = approved(&standard);
        let w = Workflow::default();
        item.apply_patch(
            crate::content::ContentPatch {
                body: Some("Hello again".into()),
                ..Default::default()
            },
            "mia",
            at(3),
            std_of(&standard),
            &w,
        )
        .expect("edit reopens review");
        let before = item.clone();
        let Err(ContentError::Conflict { code, detail }) =
            item.request_refresh(request(None), "olga", at(4), std_of(&standard), &w)
        else {
            panic!("in review is refused");
        };
        assert_eq!(code, "not-refreshable");
        assert!(detail.contains("in_review"), "{detail}");
        assert_eq!(item, before);
        item.withdraw("mia", at(5)).expect("withdraws");
        assert!(
            item.request_refresh(request(None), "olga", at(6), std_of(&standard), &w)
                .is_err()
        );
    }

    #[test]
    fn the_input_is_parsed_with_every_field_error() {
        let e = RefreshInput {
            reason: Some("  ".into()),
            trigger_id: Some("no spaces allowed".into()),
            variant: None,
        }
        .parse()
        .unwrap_err();
        let fields: Vec<&str> = e.errors.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["reason", "trigger_id"]);
        let ok = RefreshInput {
            reason: Some(" engagement fell \n".into()),
            trigger_id: Some("01JX-ab_9".into()),
            variant: Some(true),
        }
        .parse()
        .expect("valid");
        assert_eq!(ok.reason, "engagement fell");
        assert!(ok.variant);
        assert!(
            RefreshInput {
                reason: Some("x".repeat(MAX_REASON + 1)),
                ..Default::default()
            }
            .parse()
            .is_err()
        );
    }
}
