//! Conditional GETs (RFC 9110 §13.1.2): every successful `GET` answer carries a
//! validator and a matching `If-None-Match` is answered `304 Not Modified` without
//! the body, so a client polling a view (the dashboard refreshes every 10 s)
//! downloads only what changed.
//!
//! A single record's answer already has a strong `ETag` (its version, also used
//! with `If-Match`), and its body is a view of that record alone. Any other `GET`
//! answer (lists, reports) gets a weak `ETag` hashed from its body. This saves
//! bytes, not work: the handler still runs.

use crate::response::ApiResponse;
use sha2::{Digest, Sha256};

/// Whether `If-None-Match` matches `etag`: `*`, or any listed tag equal to it under
/// weak comparison (a `W/` prefix is ignored), as the header requires.
pub fn etag_matches(if_none_match: &str, etag: &str) -> bool {
    let plain = |t: &str| t.trim().trim_start_matches("W/").to_string();
    let want = plain(etag);
    if_none_match
        .split(',')
        .any(|t| t.trim() == "*" || plain(t) == want)
}

/// The first 12 bytes of the SHA-256 of `bytes`, in hex: the opaque part of the
/// validators made here and for the dashboard's embedded files.
pub fn digest_tag(bytes: &[u8]) -> String {
    Sha256::digest(bytes)[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A weak validator of `body`.
pub fn weak_etag(body: &[u8]) -> String {
    format!("W/\"{}\"", digest_tag(body))
}

/// Gives a `GET` 200 answer its validator and turns it into a 304 when the
/// client's `If-None-Match` matches. Other answers pass through unchanged.
pub fn conditional(
    method: &str,
    if_none_match: Option<&str>,
    mut resp: ApiResponse,
) -> ApiResponse {
    if method != "GET" || resp.status != 200 {
        return resp;
    }
    let etag = match resp.headers.iter().find(|(k, _)| k == "etag") {
        Some((_, v)) => v.clone(),
        None => {
            let tag = weak_etag(&resp.body);
            resp.headers.push(("etag".into(), tag.clone()));
            tag
        }
    };
    if if_none_match.is_some_and(|v| etag_matches(v, &etag)) {
        resp.status = 304;
        resp.body.clear();
        resp.headers.retain(|(k, _)| k != "content-type");
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_gets_a_weak_etag_and_a_matching_request_a_bodyless_304() {
        let list = || ApiResponse::json(200, &serde_json::json!({"items": [1, 2]}));
        let first = conditional("GET", None, list());
        let tag = first
            .headers
            .iter()
            .find(|(k, _)| k == "etag")
            .map(|(_, v)| v.clone());
        let tag = tag.expect("etag");
        assert!(tag.starts_with("W/\""), "{tag}");
        let again = conditional("GET", Some(&tag), list());
        assert_eq!(again.status, 304);
        assert!(again.body.is_empty());
        let changed = conditional(
            "GET",
            Some(&tag),
            ApiResponse::json(200, &serde_json::json!({"items": [1]})),
        );
        assert_eq!(changed.status, 200);
    }

    #[test]
    fn a_record_keeps_its_version_etag_and_matches_it_weakly() {
        let record = || ApiResponse::json(200, &serde_json::json!({"id": "x"})).with_etag(3);
        let r = conditional("GET", Some("W/\"3\""), record());
        assert_eq!(r.status, 304);
        assert_eq!(
            conditional("GET", Some("\"2\", \"4\""), record()).status,
            200
        );
        assert_eq!(conditional("GET", Some("*"), record()).status, 304);
    }

    #[test]
    fn only_successful_gets_are_conditional() {
        let post = conditional("POST", Some("*"), ApiResponse::json(200, &1));
        assert_eq!(post.status, 200);
        assert!(post.headers.iter().all(|(k, _)| k != "etag"));
        let missing = ApiResponse::problem(crate::Problem::not_found("x"));
        assert_eq!(conditional("GET", Some("*"), missing).status, 404);
    }
}
