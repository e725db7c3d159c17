//! Per-field validation errors, collected while parsing input documents into
//! domain types: every parser in the crate reports through these, and the HTTP
//! edge turns [`ValidationErrors`] into one problem document listing the fields.
#![deny(missing_docs)]

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Why one value could not be parsed into its domain type.
///
/// The `Display` text is the human message shown next to the field.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    /// A required field is absent.
    #[error("is required")]
    Missing,
    /// Empty, or only whitespace.
    #[error("must not be empty")]
    Empty,
    /// Longer than the limit (in characters or items).
    #[error("must be at most {max} {unit}")]
    TooLong {
        /// The limit.
        max: usize,
        /// `characters` or `items`.
        unit: &'static str,
    },
    /// Contains characters outside the allowed set.
    #[error("{0}")]
    Format(&'static str),
    /// A number outside its allowed range.
    #[error("must be between {min} and {max}")]
    OutOfRange {
        /// Smallest accepted value.
        min: String,
        /// Largest accepted value.
        max: String,
    },
    /// A rule that involves more than one value (ordering, duplicates, ...).
    #[error("{0}")]
    Rule(String),
}

/// One invalid field: a path into the input document and a human message.
///
/// Paths use dots and indices, e.g. `objectives[0].deadline`; a problem
/// document lists them under `errors`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// Where in the input the value is (`channels[1].budget_minor`).
    pub field: String,
    /// What is wrong with it, for a person.
    pub message: String,
}

/// Every invalid field of one input document, in document order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, Error)]
#[error("{} invalid field(s): {}", .errors.len(), summary(.errors))]
pub struct ValidationErrors {
    /// The invalid fields.
    pub errors: Vec<FieldError>,
}

/// Whether `s` can name a record: 1-64 of `A-Z a-z 0-9 _ -` (every id the app
/// makes, and the shipped `default-…` ones). Input that names a record is held to
/// this before a store key is built from it.
pub fn is_reference(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn summary(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{} {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

impl ValidationErrors {
    /// Records that `field` is invalid.
    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    /// Keeps the value when `result` is `Ok`, records the error under `field` otherwise.
    pub fn check<T>(
        &mut self,
        field: impl Into<String>,
        result: Result<T, ParseError>,
    ) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(e) => {
                self.push(field, e.to_string());
                None
            }
        }
    }

    /// Parses a required field: absent is [`ParseError::Missing`].
    pub fn required<I, T>(
        &mut self,
        field: &str,
        input: Option<I>,
        parse: impl FnOnce(I) -> Result<T, ParseError>,
    ) -> Option<T> {
        match input {
            Some(raw) => self.check(field, parse(raw)),
            None => self.check(field, Err(ParseError::Missing)),
        }
    }

    /// True when no field was recorded.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// `Ok(value)` when nothing was recorded, `Err(self)` otherwise.
    pub fn into_result<T>(self, value: T) -> Result<T, ValidationErrors> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }

    /// True when some recorded field is `field` or lies under it.
    pub fn mentions(&self, field: &str) -> bool {
        self.errors.iter().any(|e| {
            e.field == field
                || e.field
                    .strip_prefix(field)
                    .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
        })
    }
}
