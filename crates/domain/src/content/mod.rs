//! Content production (docs/design.md §3 "Content"): content items and their state machine,
//! decisions bound to the content hash, approval workflows as data, automated checks
//! against the brand standard (also data) and distribution timing.
//!
//! Everything is pure: ids and `now` are arguments; the component loads the
//! workflow, the brand standard and the campaign and passes them in.
//!
//! Typical use in a handler:
//! - create: [`NewContent`] → [`ContentItem::create`] (checks run)
//! - edit: [`ContentPatch`] → [`ContentItem::apply_patch`] (re-opens review on a new hash)
//! - [`ContentItem::submit`], [`ContentItem::decide`], [`ContentItem::withdraw`],
//!   [`ContentItem::schedule`], [`ContentItem::publish`],
//!   [`ContentItem::request_refresh`], [`ContentItem::move_send`]; each returns the
//!   audit [`Event`]s to append and any schedule slot to release
//! - timing: [`curve_from_history`] → [`candidates`] / [`check_explicit`], and
//!   [`delayed_candidates`] for a timing change
#![deny(missing_docs)]

mod calendar;
mod checks;
mod effects;
mod input;
mod item;
mod refresh;
mod retime;
mod review;
mod state;
mod timing;
mod workflow;

#[cfg(test)]
mod props;

pub use calendar::{CalendarEntry, CalendarItem};
pub use checks::{
    ALL_CHECKS, BrandStandard, ChannelRules, CheckFailure, CheckInput, CheckKind, CheckReport,
    Field, LinkRules, MAX_TERM_CHARS, MAX_TERMS, run_checks, urls_in, words,
};
pub use effects::{Changed, ContentError, Event};
pub use input::{ContentPatch, MAX_BODY, MAX_LINK, MAX_LINKS, MAX_SUBJECT, MAX_TITLE, NewContent};
pub use item::{
    ContentItem, Picked, SYSTEM_ACTOR, ScheduledSend, SendMove, Standard, content_hash,
    parse_state, state_name,
};
pub use refresh::{MAX_REASON, MAX_TRIGGER_ID, Refresh, RefreshInput, RefreshRequest, trigger_id};
pub use retime::{DEFAULT_MAX_DELAY_HOURS, TimingChange, TimingChangeInput};
pub use review::{
    Approval, ApprovedBy, Decider, MAX_COMMENT, MAX_DECISIONS, Outcome, ReviewDecision,
    ReviewDecisionInput,
};
pub use timing::{
    Candidate, Curve, HOUR, HOURS_PER_WEEK, MAX_DELAY_HOURS, MIN_DELIVERED, ScoreSource, SendRules,
    Span, candidates, check_explicit, curve_from_history, default_curve, delayed_candidates,
    hour_of_week, hour_of_week_unix,
};
pub use workflow::{
    ChannelPolicy, CompletionRule, DEFAULT_CAP_PER_HOUR, MAX_APPROVERS, MAX_STAGES, StageDef,
    StageInput, StageRole, Workflow, WorkflowInput,
};

pub use state::ContentState;
