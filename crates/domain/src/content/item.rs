//! The content item and its state machine.
//!
//! ```text
//! draft ──submit──▶ in_review ──last stage approves──▶ approved ──schedule──▶ scheduled ──publish──▶ published
//!   ▲                 │   ▲                                │  (clean + auto_approve: submit goes straight to approved)
//!   │     request_changes │ edit (hash changes: decisions void, review restarts)
//!   │                 ▼   │                                │
//!   └──────────── changes_requested ◀── edit that fails checks
//! any state but published ──withdraw──▶ withdrawn
//! ```
//!
//! This file holds the record and the transitions that are not review: submit,
//! withdraw, schedule, publish. Creating and editing (with the rules every field
//! must meet) are in `input.rs`; reviewers' decisions, review rounds and the
//! approval they add up to are in `review.rs`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::ContentState;
use super::checks::{BrandStandard, CheckInput, CheckReport, run_checks};
use super::effects::{Changed, ContentError, conflict};
use super::refresh::Refresh;
use super::review::{Approval, ReviewDecision};
use super::workflow::Workflow;

/// The actor of automated changes.
pub const SYSTEM_ACTOR: &str = "system:content-approval";

/// The name of a state as the API spells it ([`ContentState::as_str`]).
pub fn state_name(s: ContentState) -> &'static str {
    s.as_str()
}

/// Parses a state name (`None` for anything [`ContentState::parse`] refuses).
pub fn parse_state(raw: &str) -> Option<ContentState> {
    ContentState::parse(raw).ok()
}

/// How a send time was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Picked {
    /// From engagement history and free capacity.
    Auto,
    /// Requested by the caller.
    Explicit,
}

/// A scheduled send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduledSend {
    /// When it goes out.
    pub at: DateTime<Utc>,
    /// Start of the hour slot it occupies (unix seconds), counted against the cap.
    pub slot_hour: i64,
    /// How it was chosen.
    pub picked: Picked,
    /// Set when a timing change moved the send here from an earlier hour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved: Option<SendMove>,
}

/// Where a send was before a timing change moved it, and why it moved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendMove {
    /// The send time it had.
    pub from: DateTime<Utc>,
    /// The hour slot it held (given back when it moved).
    pub from_slot: i64,
    /// The monitoring trigger that moved it, if one did.
    #[serde(default)]
    pub trigger_id: Option<String>,
    /// Why, as the caller put it.
    pub reason: String,
}

/// A content item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContentItem {
    /// Id (sortable by creation).
    pub id: String,
    /// The campaign it belongs to.
    pub campaign_id: String,
    /// Channel (fixed at creation).
    pub channel: String,
    /// Headline reviewers see (1..=200 characters, no control characters).
    pub title: String,
    /// The message itself; newlines and tabs allowed (at most 50 000 characters).
    pub body: String,
    /// Subject line, for channels that have one (email).
    #[serde(default)]
    pub subject: Option<String>,
    /// Absolute http(s) URLs the item points to; checked against the link rules.
    #[serde(default)]
    pub links: Vec<String>,
    /// When it must be ready.
    #[serde(default)]
    pub due: Option<DateTime<Utc>>,
    /// Who created it.
    pub author: String,
    /// Everyone who created or edited it (none of them may decide on it).
    pub editors: Vec<String>,
    /// Where it is in the state machine drawn at the top of this file.
    pub state: ContentState,
    /// Record version (the ETag).
    pub version: u64,
    /// SHA-256 of channel, title, subject, body and links.
    pub content_hash: String,
    /// Automated check results for the current hash.
    pub checks: CheckReport,
    /// The workflow of the current review (fixed when review starts).
    #[serde(default)]
    pub workflow: Option<Workflow>,
    /// Current review round (0 before the first submit).
    pub round: u32,
    /// Decisions, oldest first (those of earlier rounds are void).
    pub decisions: Vec<ReviewDecision>,
    /// The approval in force, if any.
    #[serde(default)]
    pub approval: Option<Approval>,
    /// The scheduled send, if any.
    #[serde(default)]
    pub scheduled: Option<ScheduledSend>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it was published.
    #[serde(default)]
    pub published_at: Option<DateTime<Utc>>,
    /// The refresh asked for most recently (open until a later round's approval).
    #[serde(default)]
    pub refresh: Option<Refresh>,
    /// When the current review round began (submit, reopen or refresh): review
    /// turnaround is measured from here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_started_at: Option<DateTime<Utc>>,
}

/// The content hash: SHA-256 over the fields reviewers judge.
pub fn content_hash(
    channel: &str,
    title: &str,
    subject: Option<&str>,
    body: &str,
    links: &[String],
) -> String {
    let canonical = serde_json::json!([channel, title, subject, body, links]).to_string();
    Sha256::digest(canonical.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The brand standard and its version, as the checks need them.
#[derive(Debug, Clone, Copy)]
pub struct Standard<'a> {
    /// The rules the automated checks apply.
    pub standard: &'a BrandStandard,
    /// Its record version (0 = built-in default).
    pub version: u64,
}

impl ContentItem {
    /// Recomputes the content hash and re-runs the checks on it.
    pub(super) fn rehash(&mut self, standard: Standard<'_>) {
        self.content_hash = content_hash(
            &self.channel,
            &self.title,
            self.subject.as_deref(),
            &self.body,
            &self.links,
        );
        self.rerun_checks(standard);
    }

    /// Re-runs the automated checks on the current content.
    pub fn rerun_checks(&mut self, standard: Standard<'_>) {
        self.checks = run_checks(
            standard.standard,
            standard.version,
            CheckInput {
                channel: &self.channel,
                title: &self.title,
                body: &self.body,
                subject: self.subject.as_deref(),
                links: &self.links,
                has_due: self.due.is_some(),
            },
            &self.content_hash,
        );
    }

    pub(super) fn touch(&mut self, now: DateTime<Utc>) {
        self.updated_at = now;
    }

    /// Gives up the scheduled send, recording its slot for the caller to release.
    pub(super) fn release_slot(&mut self, changed: &mut Changed) {
        if let Some(s) = self.scheduled.take() {
            changed.released_slot = Some(s.slot_hour);
        }
    }

    /// Refuses changes to a published or withdrawn item.
    pub(super) fn editable(&self) -> Result<(), ContentError> {
        match self.state {
            ContentState::Published | ContentState::Withdrawn => Err(conflict(
                "content-final",
                format!(
                    "the item is {}; it can no longer change",
                    state_name(self.state)
                ),
            )),
            _ => Ok(()),
        }
    }

    /// Submits a draft (or a changed item) for review. Refused while checks fail.
    pub fn submit(
        &mut self,
        by: &str,
        now: DateTime<Utc>,
        workflow: &Workflow,
    ) -> Result<Changed, ContentError> {
        match self.state {
            ContentState::Draft | ContentState::ChangesRequested => {}
            s => {
                return Err(conflict(
                    "invalid-state",
                    format!(
                        "only draft or changes_requested items can be submitted; this one is {}",
                        state_name(s)
                    ),
                ));
            }
        }
        if !self.checks.passed {
            return Err(ContentError::ChecksFailed(self.checks.clone()));
        }
        let mut changed = Changed::default();
        changed.push(
            by,
            "content.submitted",
            serde_json::json!({"content_hash": self.content_hash}),
        );
        self.enter_review(workflow, now, &mut changed);
        self.touch(now);
        self.prune_decisions();
        Ok(changed)
    }

    /// Withdraws the item (from any state but published).
    pub fn withdraw(&mut self, by: &str, now: DateTime<Utc>) -> Result<Changed, ContentError> {
        self.editable()?;
        let mut changed = Changed::default();
        self.release_slot(&mut changed);
        changed.push(
            by,
            "content.withdrawn",
            serde_json::json!({"previous_state": state_name(self.state)}),
        );
        self.state = ContentState::Withdrawn;
        self.touch(now);
        Ok(changed)
    }

    /// Whether the item may be given a send slot now.
    pub fn schedulable(&self) -> Result<(), ContentError> {
        match self.state {
            ContentState::Approved | ContentState::Scheduled if self.approvals_complete() => Ok(()),
            s => Err(conflict(
                "not-approved",
                format!(
                    "only approved items can be scheduled; this one is {}",
                    state_name(s)
                ),
            )),
        }
    }

    /// Schedules (or re-schedules) the send; the caller has claimed `send.slot_hour`.
    pub fn schedule(
        &mut self,
        send: ScheduledSend,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<Changed, ContentError> {
        self.schedulable()?;
        let mut changed = Changed::default();
        self.release_slot(&mut changed);
        changed.push(
            by,
            "content.scheduled",
            serde_json::json!({"at": send.at, "picked": send.picked, "previous_slot": changed.released_slot}),
        );
        self.scheduled = Some(send);
        self.state = ContentState::Scheduled;
        self.touch(now);
        Ok(changed)
    }

    /// Whether the scheduled send was last moved by the timing change of `trigger_id`.
    pub fn moved_by(&self, trigger_id: &str) -> bool {
        self.state == ContentState::Scheduled
            && self
                .scheduled
                .as_ref()
                .and_then(|s| s.moved.as_ref())
                .is_some_and(|m| m.trigger_id.as_deref() == Some(trigger_id))
    }

    /// Moves a scheduled send to `to` (a timing change; the caller has claimed
    /// `to.slot_hour` and gives back the slot this returns as released).
    pub fn move_send(
        &mut self,
        to: ScheduledSend,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<Changed, ContentError> {
        let Some(from) = self
            .scheduled
            .clone()
            .filter(|_| self.state == ContentState::Scheduled)
        else {
            return Err(conflict(
                "not-scheduled",
                format!(
                    "only scheduled items have a send to move; this one is {}",
                    state_name(self.state)
                ),
            ));
        };
        self.schedulable()?;
        let mut changed = Changed::default();
        if from.slot_hour != to.slot_hour {
            changed.released_slot = Some(from.slot_hour);
        }
        let (trigger_id, reason) = to
            .moved
            .as_ref()
            .map(|m| (m.trigger_id.clone(), m.reason.clone()))
            .unwrap_or_default();
        changed.push(
            by,
            "content.send_moved",
            serde_json::json!({"from": from.at, "to": to.at, "from_slot": from.slot_hour,
                "to_slot": to.slot_hour, "trigger_id": trigger_id, "reason": reason}),
        );
        self.scheduled = Some(to);
        self.touch(now);
        Ok(changed)
    }

    /// Records that the scheduled item went out.
    pub fn publish(&mut self, by: &str, now: DateTime<Utc>) -> Result<Changed, ContentError> {
        if self.state != ContentState::Scheduled {
            return Err(conflict(
                "not-scheduled",
                format!(
                    "only scheduled items can be published; this one is {}",
                    state_name(self.state)
                ),
            ));
        }
        if !self.approvals_complete() {
            return Err(conflict(
                "not-approved",
                "the approval does not cover the current content",
            ));
        }
        let mut changed = Changed::default();
        changed.push(
            by,
            "content.published",
            serde_json::json!({"content_hash": self.content_hash}),
        );
        self.state = ContentState::Published;
        self.published_at = Some(now);
        self.touch(now);
        Ok(changed)
    }
}
