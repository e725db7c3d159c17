//! A component's route table as data: the same table drives dispatch and is checked
//! against the OpenAPI document by the tests, so the two cannot drift apart.

use crate::problem::Problem;

/// One operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteDef {
    /// HTTP method, upper case.
    pub method: &'static str,
    /// OpenAPI-style path template, e.g. `/api/campaigns/{id}/transitions`.
    pub path: &'static str,
    /// The OpenAPI `operationId`; handlers dispatch on it.
    pub op: &'static str,
}

/// Shorthand for table entries.
pub const fn def(method: &'static str, path: &'static str, op: &'static str) -> RouteDef {
    RouteDef { method, path, op }
}

/// Finds the operation for a request: `404 no-route` when no path matches, `405` when
/// the path exists with other methods (listing them in `Allow`).
pub fn find<'t>(
    table: &'t [RouteDef],
    method: &str,
    path: &str,
) -> Result<(&'t RouteDef, Vec<String>), Problem> {
    let mut allowed = Vec::new();
    for r in table {
        if let Some(params) = matches(r.path, path) {
            if r.method.eq_ignore_ascii_case(method) {
                return Ok((r, params.into_iter().map(str::to_string).collect()));
            }
            allowed.push(r.method);
        }
    }
    if allowed.is_empty() {
        Err(Problem::new(
            404,
            "no-route",
            "Not found",
            format!("no route for {path}"),
        ))
    } else {
        Err(Problem::method_not_allowed(format!(
            "{method} is not allowed here; use {}",
            allowed.join(", ")
        ))
        .with("allow", serde_json::json!(allowed)))
    }
}

/// Matches `path` against a template like `/api/campaigns/{id}/transitions`,
/// returning the parameter values in order.
pub fn matches<'a>(pattern: &str, path: &'a str) -> Option<Vec<&'a str>> {
    let mut params = Vec::new();
    let mut pat = pattern.trim_matches('/').split('/');
    let mut parts = path
        .trim_end_matches('/')
        .trim_start_matches('/')
        .split('/');
    loop {
        match (pat.next(), parts.next()) {
            (None, None) => return Some(params),
            (Some(p), Some(s)) if p.starts_with('{') && p.ends_with('}') => {
                if s.is_empty() {
                    return None;
                }
                params.push(s);
            }
            (Some(p), Some(s)) if p == s => {}
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_and_param_segments() {
        assert_eq!(matches("/api/c/{id}", "/api/c/42"), Some(vec!["42"]));
        assert_eq!(matches("/api/c/{id}", "/api/c/42/"), Some(vec!["42"]));
        assert_eq!(matches("/api/c", "/api/c"), Some(vec![]));
        assert_eq!(matches("/api/c/{id}", "/api/c"), None);
        assert_eq!(matches("/api/c/{id}", "/api/c//"), None);
        assert_eq!(matches("/api/c/{id}/x", "/api/c/1/y"), None);
        assert_eq!(matches("/api/c/{id}", "/api/c/1/extra"), None);
    }

    #[test]
    fn find_distinguishes_404_and_405() {
        const T: &[RouteDef] = &[
            def("GET", "/a/{id}", "get_a"),
            def("PUT", "/a/{id}", "put_a"),
        ];
        let (r, p) = find(T, "PUT", "/a/7").expect("found");
        assert_eq!((r.op, p), ("put_a", vec!["7".to_string()]));
        assert_eq!(find(T, "DELETE", "/a/7").unwrap_err().status, 405);
        assert_eq!(find(T, "GET", "/b").unwrap_err().status, 404);
    }
}
