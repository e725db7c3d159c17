//! Responses as components build them before handing them to the runtime.

use crate::problem::Problem;
use serde::Serialize;

/// Status, headers and body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ApiResponse {
    /// HTTP status.
    pub status: u16,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl ApiResponse {
    /// A JSON body.
    pub fn json<T: Serialize>(status: u16, value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(body) => Self {
                status,
                headers: vec![("content-type".into(), "application/json".into())],
                body,
            },
            Err(e) => Self::problem(unserialisable(&e)),
        }
    }

    /// A record as its JSON object plus its `version`, with the version's ETag.
    pub fn versioned<T: Serialize>(status: u16, value: &T, version: u64) -> Self {
        match with_version(value, version) {
            Ok(body) => Self::json(status, &body).with_etag(version),
            Err(p) => Self::problem(p),
        }
    }

    /// A problem document.
    pub fn problem(p: Problem) -> Self {
        let mut headers = vec![("content-type".into(), "application/problem+json".into())];
        if let Some(s) = p.retry_after {
            headers.push(("retry-after".into(), s.to_string()));
        }
        // RFC 9110 §15.5.6: a 405 names the allowed methods in `Allow`, not only in
        // the body, so generic clients and checkers can read them.
        if let (405, Some(methods)) = (p.status, p.extra.get("allow").and_then(|a| a.as_array())) {
            let names: Vec<&str> = methods.iter().filter_map(|m| m.as_str()).collect();
            headers.push(("allow".into(), names.join(", ")));
        }
        Self {
            status: p.status,
            headers,
            body: p.body(),
        }
    }

    /// No body.
    pub fn empty(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }

    /// Adds the ETag of a record version.
    pub fn with_etag(self, version: u64) -> Self {
        self.with_header("etag", etag(version))
    }
}

impl From<Problem> for ApiResponse {
    fn from(p: Problem) -> Self {
        Self::problem(p)
    }
}

/// A value as a JSON tree (to extend a body or record an audit detail). A value
/// that cannot be serialised is a 500, never a silent `null`.
pub fn json_value<T: Serialize + ?Sized>(value: &T) -> Result<serde_json::Value, Problem> {
    serde_json::to_value(value).map_err(|e| unserialisable(&e))
}

/// A record's JSON object with its `version` added, as lists and reads show it.
pub fn with_version<T: Serialize + ?Sized>(
    value: &T,
    version: u64,
) -> Result<serde_json::Value, Problem> {
    let mut body = json_value(value)?;
    if let Some(o) = body.as_object_mut() {
        o.insert("version".into(), version.into());
    }
    Ok(body)
}

fn unserialisable(e: &serde_json::Error) -> Problem {
    Problem::new(
        500,
        "internal",
        "Internal error",
        format!("a response value could not be serialised: {e}"),
    )
}

/// The ETag of a record version.
pub fn etag(version: u64) -> String {
    format!("\"{version}\"")
}

/// Checks a sent `If-Match` version against the stored one.
pub fn check_version(sent: u64, current: u64) -> Result<(), Problem> {
    if sent == current {
        Ok(())
    } else {
        Err(Problem::precondition_failed(format!(
            "the record is at version {current}; you sent If-Match for {sent}"
        )))
    }
}
