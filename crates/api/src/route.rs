//! Path matching for a component's own route table.

/// Matches `path` against a pattern like `/api/campaigns/:id/transitions`,
/// returning the `:param` values in order.
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
            (Some(p), Some(s)) if p.starts_with(':') => {
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
    use super::matches;

    #[test]
    fn literal_and_param_segments() {
        assert_eq!(matches("/api/c/:id", "/api/c/42"), Some(vec!["42"]));
        assert_eq!(matches("/api/c/:id", "/api/c/42/"), Some(vec!["42"]));
        assert_eq!(matches("/api/c", "/api/c"), Some(vec![]));
        assert_eq!(matches("/api/c/:id", "/api/c"), None);
        assert_eq!(matches("/api/c/:id", "/api/c//"), None);
        assert_eq!(matches("/api/c/:id/x", "/api/c/1/y"), None);
        assert_eq!(matches("/api/c/:id", "/api/c/1/extra"), None);
    }
}
