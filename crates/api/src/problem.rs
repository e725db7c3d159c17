//! RFC 9457 problem documents: the one error shape every endpoint returns.

use serde::Serialize;

/// One invalid input field: the domain's own type, so validation results pass into a
/// problem document unchanged.
pub use opsflow_domain::validation::FieldError;

/// A problem document (`application/problem+json`), boxed so `Result<T, Problem>`
/// stays small on the happy path.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Problem(Box<ProblemDoc>);

impl std::ops::Deref for Problem {
    type Target = ProblemDoc;
    fn deref(&self) -> &ProblemDoc {
        &self.0
    }
}

impl std::ops::DerefMut for Problem {
    fn deref_mut(&mut self) -> &mut ProblemDoc {
        &mut self.0
    }
}

/// The members of a problem document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProblemDoc {
    /// A stable URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short human summary of the kind.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// What happened this time.
    pub detail: String,
    /// Per-field errors for validation problems.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Extra members (e.g. the unmet items of a refused transition).
    #[serde(flatten, skip_serializing_if = "serde_json::Map::is_empty")]
    pub extra: serde_json::Map<String, serde_json::Value>,
    /// Seconds after which a retry may succeed (sets `Retry-After`).
    #[serde(skip)]
    pub retry_after: Option<u32>,
}

const BASE: &str = "https://opsflow.dev/problems/";

impl Problem {
    /// A problem of kind `slug` (the last segment of its type URI).
    pub fn new(status: u16, slug: &str, title: &str, detail: impl Into<String>) -> Self {
        Self(Box::new(ProblemDoc {
            kind: format!("{BASE}{slug}"),
            title: title.to_string(),
            status,
            detail: detail.into(),
            errors: Vec::new(),
            extra: serde_json::Map::new(),
            retry_after: None,
        }))
    }

    /// 400: a body or query that cannot be read.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(400, "bad-request", "Bad request", detail)
    }

    /// 422: readable input with invalid fields.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let mut p = Self::new(
            422,
            "validation",
            "Invalid input",
            "some fields are invalid",
        );
        p.errors = errors;
        p
    }

    /// 401: no or unknown credentials.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(401, "unauthorized", "Unauthorized", detail)
    }

    /// 403: known caller, not allowed.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(403, "forbidden", "Forbidden", detail)
    }

    /// 404: no such record, or a path that names nothing.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(404, "not-found", "Not found", detail)
    }

    /// 405.
    pub fn method_not_allowed(detail: impl Into<String>) -> Self {
        Self::new(405, "method-not-allowed", "Method not allowed", detail)
    }

    /// 409: the request conflicts with the current state.
    pub fn conflict(slug: &str, detail: impl Into<String>) -> Self {
        Self::new(409, slug, "Conflict", detail)
    }

    /// 412: `If-Match` names an older version.
    pub fn precondition_failed(detail: impl Into<String>) -> Self {
        Self::new(412, "stale-version", "Precondition failed", detail)
    }

    /// 413: body larger than the endpoint accepts.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            413,
            "body-too-large",
            "Payload too large",
            format!("request bodies are limited to {limit} bytes"),
        )
    }

    /// 415.
    pub fn unsupported_media_type(expected: &str) -> Self {
        Self::new(
            415,
            "unsupported-media-type",
            "Unsupported media type",
            format!("send {expected}"),
        )
    }

    /// 428: a mutation that needs `If-Match`.
    pub fn precondition_required() -> Self {
        Self::new(
            428,
            "if-match-required",
            "Precondition required",
            "send If-Match with the record's ETag",
        )
    }

    /// 503 with `Retry-After`: the store is unavailable; retrying is safe.
    pub fn unavailable(detail: impl Into<String>) -> Self {
        let mut p = Self::new(503, "unavailable", "Service unavailable", detail);
        p.retry_after = Some(5);
        p
    }

    /// Adds an extra member.
    pub fn with(mut self, key: &str, value: serde_json::Value) -> Self {
        self.extra.insert(key.to_string(), value);
        self
    }

    /// The JSON body.
    pub fn body(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_else(|_| b"{}".to_vec())
    }
}

/// The domain's per-field validation errors are a 422 listing every field.
impl From<opsflow_domain::validation::ValidationErrors> for Problem {
    fn from(e: opsflow_domain::validation::ValidationErrors) -> Self {
        Self::validation(e.errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_as_rfc9457_with_field_errors_and_extras() {
        let p = Problem::validation(vec![FieldError {
            field: "name".into(),
            message: "must not be empty".into(),
        }])
        .with("hint", serde_json::json!("x"));
        let v: serde_json::Value = serde_json::from_slice(&p.body()).expect("json");
        assert_eq!(v["type"], "https://opsflow.dev/problems/validation");
        assert_eq!(v["status"], 422);
        assert_eq!(v["errors"][0]["field"], "name");
        assert_eq!(v["hint"], "x");
    }
}
