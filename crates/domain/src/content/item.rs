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
//! Every decision records who, with which role, for which stage, with what comment,
//! when, and the content hash it applies to. A review *round* starts on every
//! submit and every re-opening edit; only decisions of the current round on the
//! current hash count, so an edit voids every earlier decision.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use sha2::{Digest, Sha256};

use super::checks::{BrandStandard, CheckInput, CheckReport, run_checks};
use super::workflow::{StageDef, StageRole, Workflow};
use crate::campaign::{Channel, ContentState, ParseError, ValidationErrors, parse_instant};

/// Longest title, in characters.
pub const MAX_TITLE: usize = 200;
/// Longest body, in characters.
pub const MAX_BODY: usize = 50_000;
/// Longest subject, in characters.
pub const MAX_SUBJECT: usize = 500;
/// At most this many links.
pub const MAX_LINKS: usize = 50;
/// Longest link.
pub const MAX_LINK: usize = 2048;
/// Longest decision comment.
pub const MAX_COMMENT: usize = 2000;
/// Decisions kept per item; the oldest voided ones go first.
pub const MAX_DECISIONS: usize = 200;
/// The actor of automated changes.
pub const SYSTEM_ACTOR: &str = "system:content-approval";

/// The name of a state as the API spells it.
pub fn state_name(s: ContentState) -> &'static str {
    match s {
        ContentState::Draft => "draft",
        ContentState::InReview => "in_review",
        ContentState::ChangesRequested => "changes_requested",
        ContentState::Approved => "approved",
        ContentState::Scheduled => "scheduled",
        ContentState::Published => "published",
        ContentState::Withdrawn => "withdrawn",
    }
}

/// Parses a state name.
pub fn parse_state(raw: &str) -> Option<ContentState> {
    serde_json::from_value(serde_json::Value::String(raw.to_string())).ok()
}

/// Approve or request changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Approves the stage for this hash.
    Approve,
    /// Sends the item back to its author.
    RequestChanges,
}

/// One reviewer's decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// Review round it belongs to.
    pub round: u32,
    /// Stage name.
    pub stage: String,
    /// Who decided.
    pub approver: String,
    /// The role they decided with.
    pub role: StageRole,
    /// Approve or request changes.
    pub outcome: Outcome,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
    /// The content hash decided on.
    pub content_hash: String,
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
    /// When.
    pub at: DateTime<Utc>,
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
    /// Send time.
    pub at: DateTime<Utc>,
    /// Start of the hour slot it occupies (unix seconds), counted against the cap.
    pub slot_hour: i64,
    /// How it was chosen.
    pub picked: Picked,
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
    /// Title.
    pub title: String,
    /// Body text.
    pub body: String,
    /// Subject line.
    #[serde(default)]
    pub subject: Option<String>,
    /// Links.
    #[serde(default)]
    pub links: Vec<String>,
    /// When it must be ready.
    #[serde(default)]
    pub due: Option<DateTime<Utc>>,
    /// Who created it.
    pub author: String,
    /// Everyone who created or edited it (none of them may decide on it).
    pub editors: Vec<String>,
    /// State.
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
    pub decisions: Vec<Decision>,
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
}

/// `POST /api/content` body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewContent {
    /// Required: campaign id.
    pub campaign_id: Option<String>,
    /// Required: channel slug (one of the campaign's channels when it lists any).
    pub channel: Option<String>,
    /// Required: 1..=200 characters.
    pub title: Option<String>,
    /// Body text (required by the checks on submit).
    pub body: Option<String>,
    /// Subject line.
    pub subject: Option<String>,
    /// Links.
    #[serde(default)]
    pub links: Vec<String>,
    /// RFC 3339 due date.
    pub due: Option<String>,
}

fn double<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// `PATCH /api/content/{id}` body: present fields replace; `null` clears
/// `subject` and `due`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContentPatch {
    /// New title.
    pub title: Option<String>,
    /// New body.
    pub body: Option<String>,
    /// New subject (`null` clears).
    #[serde(default, deserialize_with = "double")]
    pub subject: Option<Option<String>>,
    /// New links (replace all).
    pub links: Option<Vec<String>>,
    /// New due date (`null` clears).
    #[serde(default, deserialize_with = "double")]
    pub due: Option<Option<String>>,
}

/// `POST /api/content/{id}/decisions` body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
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
    /// User id.
    pub sub: String,
    /// Stage roles held.
    pub roles: Vec<StageRole>,
}

/// Why an operation was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ContentError {
    /// Invalid input (422).
    #[error("invalid input: {0}")]
    Invalid(ValidationErrors),
    /// Submit refused: checks failed (422).
    #[error("automated checks failed")]
    ChecksFailed(CheckReport),
    /// Not allowed for this caller (403).
    #[error("{0}")]
    Forbidden(String),
    /// Not allowed in the current state (409).
    #[error("{detail}")]
    Conflict {
        /// Stable problem slug.
        code: &'static str,
        /// What and why.
        detail: String,
    },
}

fn conflict(code: &'static str, detail: impl Into<String>) -> ContentError {
    ContentError::Conflict {
        code,
        detail: detail.into(),
    }
}

/// Something to write to the item's audit trail.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Who (a user id or [`SYSTEM_ACTOR`]).
    pub actor: String,
    /// `content.created`, `content.approved`, ...
    pub action: &'static str,
    /// Details.
    pub detail: serde_json::Value,
}

/// What an operation did besides changing the item.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Changed {
    /// Audit events, in order.
    pub events: Vec<Event>,
    /// A schedule slot (hour start) the item no longer occupies.
    pub released_slot: Option<i64>,
}

impl Changed {
    fn push(&mut self, actor: &str, action: &'static str, detail: serde_json::Value) {
        self.events.push(Event {
            actor: actor.to_string(),
            action,
            detail,
        });
    }
}

fn text(raw: &str, max: usize, allow_empty: bool) -> Result<String, ParseError> {
    if !allow_empty && raw.trim().is_empty() {
        return Err(ParseError::Empty);
    }
    if raw.chars().count() > max {
        return Err(ParseError::TooLong {
            max,
            unit: "characters",
        });
    }
    Ok(raw.to_string())
}

fn title(raw: &str) -> Result<String, ParseError> {
    let t = text(raw.trim(), MAX_TITLE, false)?;
    if t.chars().any(char::is_control) {
        return Err(ParseError::Format("must not contain control characters"));
    }
    Ok(t)
}

fn body(raw: &str) -> Result<String, ParseError> {
    let b = text(raw, MAX_BODY, true)?;
    if b.chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(ParseError::Format(
            "must not contain control characters other than newlines and tabs",
        ));
    }
    Ok(b)
}

fn subject(raw: &str) -> Result<String, ParseError> {
    let s = text(raw, MAX_SUBJECT, false)?;
    if s.chars().any(char::is_control) {
        return Err(ParseError::Format("must not contain control characters"));
    }
    Ok(s)
}

fn links(errs: &mut ValidationErrors, raw: Vec<String>) -> Vec<String> {
    if raw.len() > MAX_LINKS {
        errs.push("links", format!("must have at most {MAX_LINKS} items"));
        return Vec::new();
    }
    let mut out = Vec::new();
    for (i, l) in raw.into_iter().enumerate() {
        let lower = l.to_ascii_lowercase();
        if l.is_empty() || l.len() > MAX_LINK {
            errs.push(
                format!("links[{i}]"),
                format!("must be 1..={MAX_LINK} bytes"),
            );
        } else if l.chars().any(|c| c.is_whitespace() || c.is_control()) {
            errs.push(format!("links[{i}]"), "must not contain whitespace");
        } else if !(lower.starts_with("http://") || lower.starts_with("https://"))
            || l.len() <= "https://".len()
        {
            errs.push(
                format!("links[{i}]"),
                "must be an absolute http(s) URL, e.g. https://example.com/page",
            );
        } else {
            out.push(l);
        }
    }
    out
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
    /// The standard.
    pub standard: &'a BrandStandard,
    /// Its record version (0 = built-in default).
    pub version: u64,
}

impl ContentItem {
    /// Creates a draft. `campaign_channels` are the campaign's channels (any channel
    /// is accepted when it lists none).
    pub fn create(
        id: &str,
        input: NewContent,
        campaign_channels: &[String],
        author: &str,
        now: DateTime<Utc>,
        standard: Standard<'_>,
    ) -> Result<(Self, Changed), ValidationErrors> {
        let mut errs = ValidationErrors::default();
        if input.campaign_id.is_none() {
            errs.push("campaign_id", "is required");
        }
        let channel = errs.required("channel", input.channel, |c| {
            let c = Channel::parse(&c)?;
            if !campaign_channels.is_empty() && !campaign_channels.iter().any(|x| x == c.as_str()) {
                return Err(ParseError::Rule(format!(
                    "the campaign has no channel '{c}' (it has: {})",
                    campaign_channels.join(", ")
                )));
            }
            Ok(String::from(c))
        });
        let title = errs.required("title", input.title, |t| title(&t));
        let body = input
            .body
            .map_or(Some(String::new()), |b| errs.check("body", body(&b)));
        let subject = match input.subject {
            Some(s) => errs.check("subject", subject(&s)).map(Some),
            None => Some(None),
        };
        let links = links(&mut errs, input.links);
        let due = match input.due {
            Some(d) => errs.check("due", parse_instant(&d)).map(Some),
            None => Some(None),
        };
        let (Some(channel), Some(title), Some(body), Some(subject), Some(due), true) =
            (channel, title, body, subject, due, errs.is_empty())
        else {
            return Err(errs);
        };
        let mut item = Self {
            id: id.to_string(),
            campaign_id: input.campaign_id.unwrap_or_default(),
            channel,
            title,
            body,
            subject,
            links,
            due,
            author: author.to_string(),
            editors: vec![author.to_string()],
            state: ContentState::Draft,
            version: 1,
            content_hash: String::new(),
            checks: CheckReport {
                passed: false,
                content_hash: String::new(),
                standard_version: 0,
                checks: Vec::new(),
                failures: Vec::new(),
            },
            workflow: None,
            round: 0,
            decisions: Vec::new(),
            approval: None,
            scheduled: None,
            created_at: now,
            updated_at: now,
            published_at: None,
        };
        item.rehash(standard);
        let mut changed = Changed::default();
        changed.push(
            author,
            "content.created",
            serde_json::json!({"content_hash": item.content_hash, "checks_passed": item.checks.passed}),
        );
        Ok((item, changed))
    }

    fn rehash(&mut self, standard: Standard<'_>) {
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

    /// Decisions that count: this round, this hash.
    pub fn current_decisions(&self) -> impl Iterator<Item = &Decision> {
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
        who.sort_unstable();
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

    fn touch(&mut self, now: DateTime<Utc>) {
        self.updated_at = now;
    }

    /// Starts a review round on the current content with `workflow`: checks that
    /// fail send it back to the author; a clean item on an auto-approvable
    /// workflow is approved by the system; otherwise the first stage opens.
    fn enter_review(&mut self, workflow: &Workflow, now: DateTime<Utc>, changed: &mut Changed) {
        self.round += 1;
        self.approval = None;
        self.workflow = Some(workflow.clone());
        if !self.checks.passed {
            self.state = ContentState::ChangesRequested;
            changed.push(
                SYSTEM_ACTOR,
                "content.changes_requested",
                serde_json::json!({"reason": "automated checks failed", "failures": self.checks.failures}),
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
                serde_json::json!({"content_hash": self.content_hash, "reason": "every automated check passed on an auto-approvable channel"}),
            );
        } else {
            self.state = ContentState::InReview;
            changed.push(
                SYSTEM_ACTOR,
                "content.review_started",
                serde_json::json!({"round": self.round, "content_hash": self.content_hash, "stages": workflow.stages.iter().map(|s| &s.name).collect::<Vec<_>>()}),
            );
        }
    }

    fn release_slot(&mut self, changed: &mut Changed) {
        if let Some(s) = self.scheduled.take() {
            changed.released_slot = Some(s.slot_hour);
        }
    }

    fn prune_decisions(&mut self) {
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

    /// Applies an edit. A change to the judged content (the hash) re-runs the checks;
    /// if the item was in review, approved or scheduled it re-enters review with
    /// `workflow` and every earlier decision is void.
    pub fn apply_patch(
        &mut self,
        patch: ContentPatch,
        editor: &str,
        now: DateTime<Utc>,
        standard: Standard<'_>,
        workflow: &Workflow,
    ) -> Result<Changed, ContentError> {
        self.editable()?;
        let mut errs = ValidationErrors::default();
        let mut next = self.clone();
        if let Some(t) = patch.title
            && let Some(t) = errs.check("title", title(&t))
        {
            next.title = t;
        }
        if let Some(b) = patch.body
            && let Some(b) = errs.check("body", body(&b))
        {
            next.body = b;
        }
        match patch.subject {
            Some(Some(s)) => {
                if let Some(s) = errs.check("subject", subject(&s)) {
                    next.subject = Some(s);
                }
            }
            Some(None) => next.subject = None,
            None => {}
        }
        if let Some(l) = patch.links {
            next.links = links(&mut errs, l);
        }
        match patch.due {
            Some(Some(d)) => {
                if let Some(d) = errs.check("due", parse_instant(&d)) {
                    next.due = Some(d);
                }
            }
            Some(None) => next.due = None,
            None => {}
        }
        if !errs.is_empty() {
            return Err(ContentError::Invalid(errs));
        }
        let old_hash = self.content_hash.clone();
        next.rehash(standard);
        let mut changed = Changed::default();
        // Only a change to the judged content makes someone an editor (who may then
        // no longer decide on the item).
        if next.content_hash != old_hash && !next.editors.iter().any(|e| e == editor) {
            next.editors.push(editor.to_string());
        }
        changed.push(
            editor,
            "content.updated",
            serde_json::json!({"previous_hash": old_hash, "content_hash": next.content_hash, "checks_passed": next.checks.passed}),
        );
        let reopen = next.content_hash != old_hash
            && matches!(
                next.state,
                ContentState::InReview | ContentState::Approved | ContentState::Scheduled
            );
        if reopen {
            let voided = next.current_decisions().count();
            let previous = next.state;
            next.release_slot(&mut changed);
            changed.push(
                editor,
                "content.reopened",
                serde_json::json!({"previous_state": state_name(previous), "voided_decisions": voided, "voided_approval": next.approval.is_some()}),
            );
            next.enter_review(workflow, now, &mut changed);
        }
        next.touch(now);
        next.prune_decisions();
        *self = next;
        Ok(changed)
    }

    fn editable(&self) -> Result<(), ContentError> {
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

    /// Records a reviewer's decision.
    pub fn decide(
        &mut self,
        input: DecisionInput,
        decider: &Decider,
        now: DateTime<Utc>,
    ) -> Result<Changed, ContentError> {
        let mut errs = ValidationErrors::default();
        let outcome = errs.required("outcome", input.outcome, |o| match o.as_str() {
            "approve" => Ok(Outcome::Approve),
            "request_changes" => Ok(Outcome::RequestChanges),
            _ => Err(ParseError::Format("must be approve or request_changes")),
        });
        let comment = match input.comment {
            Some(c) if c.trim().is_empty() => None,
            Some(c) => errs.check("comment", text(c.trim(), MAX_COMMENT, false)),
            None => None,
        };
        if outcome == Some(Outcome::RequestChanges)
            && comment.is_none()
            && !errs.mentions("comment")
        {
            errs.push("comment", "is required when requesting changes");
        }
        let Some(outcome) = outcome else {
            return Err(ContentError::Invalid(errs));
        };
        if !errs.is_empty() {
            return Err(ContentError::Invalid(errs));
        }
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
        if let Some(h) = &input.content_hash
            && *h != self.content_hash
        {
            return Err(conflict(
                "stale-content",
                format!(
                    "the item changed since you read it: its content hash is now {}",
                    self.content_hash
                ),
            ));
        }
        let Some(workflow) = self.workflow.clone() else {
            return Err(conflict("not-in-review", "the item has no workflow"));
        };
        let open = self.open_stages();
        let decided = |i: usize| {
            self.current_decisions()
                .any(|d| d.approver == decider.sub && d.stage == workflow.stages[i].name)
        };
        let eligible = |i: usize| {
            let s = &workflow.stages[i];
            decider.roles.contains(&s.role) && s.lists(&decider.sub)
        };
        let index = match input.stage {
            Some(name) => {
                let Some((i, s)) = workflow.stage(&name) else {
                    let mut e = ValidationErrors::default();
                    e.push("stage", format!("the workflow has no stage '{name}'"));
                    return Err(ContentError::Invalid(e));
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
                if decided(i) {
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
                if !open.contains(&i) {
                    return Err(conflict(
                        "stage-not-open",
                        format!("stage '{name}' opens after the earlier stages complete"),
                    ));
                }
                i
            }
            None => {
                let mine: Vec<usize> = open
                    .iter()
                    .copied()
                    .filter(|i| eligible(*i) && !decided(*i))
                    .collect();
                match mine.as_slice() {
                    [i] => *i,
                    [] => {
                        if (0..workflow.stages.len()).any(|i| eligible(i) && decided(i)) {
                            return Err(conflict(
                                "already-decided",
                                "you already decided the open stage for this version",
                            ));
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
                        return Err(ContentError::Forbidden(format!(
                            "you may not decide any open stage; open: {}",
                            names.join(", ")
                        )));
                    }
                    _ => {
                        let mut e = ValidationErrors::default();
                        e.push("stage", "you may decide several open stages; name one");
                        return Err(ContentError::Invalid(e));
                    }
                }
            }
        };
        let stage = &workflow.stages[index];
        let decision = Decision {
            round: self.round,
            stage: stage.name.clone(),
            approver: decider.sub.clone(),
            role: stage.role,
            outcome,
            comment,
            at: now,
            content_hash: self.content_hash.clone(),
        };
        let mut changed = Changed::default();
        changed.push(
            &decider.sub,
            "content.decided",
            serde_json::to_value(&decision).unwrap_or_default(),
        );
        self.decisions.push(decision);
        match outcome {
            Outcome::RequestChanges => {
                self.state = ContentState::ChangesRequested;
                changed.push(
                    &decider.sub,
                    "content.changes_requested",
                    serde_json::json!({"stage": stage.name}),
                );
            }
            Outcome::Approve => {
                if (0..workflow.stages.len()).all(|i| self.stage_complete(i)) {
                    self.state = ContentState::Approved;
                    self.approval = Some(Approval {
                        by: ApprovedBy::Workflow,
                        content_hash: self.content_hash.clone(),
                        round: self.round,
                        at: now,
                    });
                    changed.push(
                        &decider.sub,
                        "content.approved",
                        serde_json::json!({"content_hash": self.content_hash, "round": self.round}),
                    );
                }
            }
        }
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
