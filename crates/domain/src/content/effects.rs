//! What a content operation hands back to its handler: on success the audit events
//! to append and any schedule slot to release ([`Changed`]); on refusal the reason,
//! which the HTTP edge maps to a status ([`ContentError`]).

use super::checks::CheckReport;
use crate::validation::ValidationErrors;

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

/// A 409 refusal with the stable problem slug `code`.
pub(super) fn conflict(code: &'static str, detail: impl Into<String>) -> ContentError {
    ContentError::Conflict {
        code,
        detail: detail.into(),
    }
}

/// A 422 refusal naming one field.
pub(super) fn invalid(field: &str, message: impl Into<String>) -> ContentError {
    let mut errs = ValidationErrors::default();
    errs.push(field, message);
    ContentError::Invalid(errs)
}

/// Something to write to the item's audit trail.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Who (a user id or [`SYSTEM_ACTOR`](super::SYSTEM_ACTOR)).
    pub actor: String,
    /// `content.created`, `content.approved`, ...
    pub action: &'static str,
    /// The audit entry's payload: hashes, states, stages, reasons, as the action needs.
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
    /// Appends an audit event.
    pub(super) fn push(&mut self, actor: &str, action: &'static str, detail: serde_json::Value) {
        self.events.push(Event {
            actor: actor.to_string(),
            action,
            detail,
        });
    }
}
