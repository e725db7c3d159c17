//! Where a content item is in its life, as the content-approval component
//! reports it and the campaign gates read it.

use serde::{Deserialize, Serialize};

use crate::validation::ParseError;

/// A content item's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContentState {
    /// Being written; not yet submitted for review.
    Draft,
    /// Submitted; the workflow's stages are deciding.
    InReview,
    /// A reviewer sent it back to its author.
    ChangesRequested,
    /// Every stage approved the current content hash.
    Approved,
    /// Approved and given a send time.
    Scheduled,
    /// Sent.
    Published,
    /// Taken out of the campaign; no gate counts it.
    Withdrawn,
}

impl ContentState {
    /// Every state, in the order of the state machine.
    pub const ALL: [ContentState; 7] = [
        ContentState::Draft,
        ContentState::InReview,
        ContentState::ChangesRequested,
        ContentState::Approved,
        ContentState::Scheduled,
        ContentState::Published,
        ContentState::Withdrawn,
    ];

    /// The wire name (`draft`, `in_review`, ...), as serde spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ContentState::Draft => "draft",
            ContentState::InReview => "in_review",
            ContentState::ChangesRequested => "changes_requested",
            ContentState::Approved => "approved",
            ContentState::Scheduled => "scheduled",
            ContentState::Published => "published",
            ContentState::Withdrawn => "withdrawn",
        }
    }

    /// Parses a wire name (e.g. a `?state=` filter).
    pub fn parse(raw: &str) -> Result<ContentState, ParseError> {
        ContentState::ALL
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or(ParseError::Format(
                "must be one of draft, in_review, changes_requested, approved, scheduled, published, withdrawn",
            ))
    }

    /// Approved, or further along (scheduled, published).
    pub fn is_approved(self) -> bool {
        match self {
            ContentState::Approved | ContentState::Scheduled | ContentState::Published => true,
            ContentState::Draft
            | ContentState::InReview
            | ContentState::ChangesRequested
            | ContentState::Withdrawn => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_are_the_serde_names_and_parse_back() {
        for state in ContentState::ALL {
            let json = serde_json::to_value(state).ok();
            assert_eq!(json, Some(serde_json::json!(state.as_str())));
            assert_eq!(ContentState::parse(state.as_str()), Ok(state));
        }
        assert!(ContentState::parse("Approved").is_err());
    }
}
