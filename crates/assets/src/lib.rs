//! Serving a single-page app's built files from a table embedded in a component.
//!
//! What must stay true (the dashboard's contract, tested here natively):
//! - `/assets/...` are content-hashed by the bundler: cached for a year,
//!   `immutable`; everything else (`index.html`) is `no-cache`, so a deploy is
//!   seen at the next load. Every answer carries a strong `ETag`; a matching
//!   `If-None-Match` is a `304`.
//! - A path that looks like a file (`/assets/...`, or a last segment with a dot)
//!   and is not in the table is a `404`; any other path is a client-side route
//!   (`/campaigns/42`) and gets `index.html`. Paths under `/api` and `/webhooks`
//!   that reach the dashboard matched no API route: a problem+json `404`, never
//!   the HTML page, so API clients are not confused.
//! - Every response has the security headers ([`SECURITY_HEADERS`]).
//! - Compressible files are stored gzip-compressed; they are sent as they are to
//!   clients that accept gzip and inflated for those that do not.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod build;
mod negotiate;

use opsflow_api::Problem;
use std::io::Read;

pub use negotiate::{accepts_gzip, etag_matches};

/// One embedded file.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    /// The URL path it is served at (`/index.html`, `/assets/app-3f2a.js`).
    pub path: &'static str,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// Strong validator of the uncompressed bytes (quoted).
    pub etag: &'static str,
    /// The stored bytes: gzip when `gzipped`, raw otherwise.
    pub body: &'static [u8],
    /// Whether `body` is gzip-compressed.
    pub gzipped: bool,
}

/// The request facts that decide the answer.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// URL path, without the query.
    pub path: &'a str,
    /// `Accept-Encoding`, if sent.
    pub accept_encoding: Option<&'a str>,
    /// `If-None-Match`, if sent.
    pub if_none_match: Option<&'a str>,
}

/// A response body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// Nothing (`304`, `HEAD`).
    Empty,
    /// Embedded bytes, sent as they are.
    Static(&'static [u8]),
    /// Bytes made for this response (inflated files, problem documents).
    Owned(Vec<u8>),
}

/// What to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Header names (lower case) and values.
    pub headers: Vec<(&'static str, String)>,
    /// The body.
    pub body: Body,
}

impl Response {
    /// The value of header `name`, if set.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The page's Content-Security-Policy: scripts, styles and API calls from this
/// origin only, no inline script or style, never framed.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; manifest-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'";

/// Headers on every response of the dashboard.
pub const SECURITY_HEADERS: [(&str, &str); 5] = [
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
    ("cross-origin-opener-policy", "same-origin"),
];

/// Where content-hashed files live.
pub const IMMUTABLE_PREFIX: &str = "/assets/";
/// The page every client-side route is answered with.
pub const INDEX: &str = "/index.html";

/// Answers one request from `assets`.
pub fn respond(assets: &[Asset], req: &Request<'_>) -> Response {
    if req.method != "GET" && req.method != "HEAD" {
        let problem = Problem::method_not_allowed(format!(
            "{} is not allowed here; use GET, HEAD",
            req.method
        ))
        .with("allow", serde_json::json!(["GET", "HEAD"]));
        return with_security(problem_response(&problem).with_allow());
    }
    if is_api_path(req.path) {
        let problem = Problem::new(
            404,
            "no-route",
            "Not found",
            format!("no API route matches {}", req.path),
        );
        return with_security(problem_response(&problem));
    }
    let wanted = if req.path == "/" { INDEX } else { req.path };
    let asset = match assets.iter().find(|a| a.path == wanted) {
        Some(a) => a,
        None if looks_like_file(wanted) => {
            let problem = Problem::not_found(format!("no file at {}", req.path));
            return with_security(problem_response(&problem));
        }
        None => match assets.iter().find(|a| a.path == INDEX) {
            Some(index) => index,
            None => {
                let problem = Problem::not_found("the dashboard was built without index.html");
                return with_security(problem_response(&problem));
            }
        },
    };
    with_security(serve(asset, req))
}

/// Answers a `GET`/`HEAD` for one asset: its validator, a `304` on a match, and
/// the bytes (gzip for clients that accept it, inflated for the others). No
/// security headers: [`respond`] adds them for the page; an API document served
/// by another component (the OpenAPI document) uses this alone.
pub fn serve(asset: &Asset, req: &Request<'_>) -> Response {
    let gzip = asset.gzipped && req.accept_encoding.is_some_and(accepts_gzip);
    // A different representation needs a different strong validator.
    let etag = if gzip {
        format!("{}-gzip\"", asset.etag.trim_end_matches('"'))
    } else {
        asset.etag.to_string()
    };
    let cache = if asset.path.starts_with(IMMUTABLE_PREFIX) {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut headers = vec![("etag", etag.clone()), ("cache-control", cache.to_string())];
    if asset.gzipped {
        headers.push(("vary", "accept-encoding".to_string()));
    }
    if req.if_none_match.is_some_and(|v| etag_matches(v, &etag)) {
        return Response {
            status: 304,
            headers,
            body: Body::Empty,
        };
    }
    headers.push(("content-type", asset.content_type.to_string()));
    let body = match (gzip, asset.gzipped) {
        (true, _) => {
            headers.push(("content-encoding", "gzip".to_string()));
            Body::Static(asset.body)
        }
        (false, true) => match inflate(asset.body) {
            Ok(raw) => Body::Owned(raw),
            Err(detail) => {
                return problem_response(&Problem::new(
                    500,
                    "asset-corrupt",
                    "Embedded file is corrupt",
                    detail,
                ));
            }
        },
        (false, false) => Body::Static(asset.body),
    };
    let body = if req.method == "HEAD" {
        Body::Empty
    } else {
        body
    };
    Response {
        status: 200,
        headers,
        body,
    }
}

fn inflate(gz: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(gz)
        .read_to_end(&mut out)
        .map_err(|e| e.to_string())?;
    Ok(out)
}

fn is_api_path(path: &str) -> bool {
    ["/api", "/webhooks"]
        .iter()
        .any(|p| path == *p || path.strip_prefix(p).is_some_and(|r| r.starts_with('/')))
}

fn looks_like_file(path: &str) -> bool {
    path.starts_with(IMMUTABLE_PREFIX) || path.rsplit('/').next().is_some_and(|s| s.contains('.'))
}

fn problem_response(problem: &Problem) -> Response {
    Response {
        status: problem.status,
        headers: vec![
            ("content-type", "application/problem+json".to_string()),
            ("cache-control", "no-store".to_string()),
        ],
        body: Body::Owned(problem.body()),
    }
}

impl Response {
    fn with_allow(mut self) -> Self {
        self.headers.push(("allow", "GET, HEAD".to_string()));
        self
    }
}

fn with_security(mut r: Response) -> Response {
    r.headers
        .extend(SECURITY_HEADERS.iter().map(|(k, v)| (*k, v.to_string())));
    r
}

#[cfg(test)]
mod tests;
