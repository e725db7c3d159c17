//! The two request headers the dashboard reads: `Accept-Encoding` (RFC 9110
//! §12.5.3) and `If-None-Match` (§13.1.2, shared with the API).

/// Whether `Accept-Encoding` admits gzip: `gzip` (or `x-gzip`, or `*`) with a
/// non-zero quality, unless gzip itself is refused with `q=0`.
pub fn accepts_gzip(accept_encoding: &str) -> bool {
    let mut star = false;
    for item in accept_encoding.split(',') {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q_zero = parts.any(|p| {
            p.trim()
                .strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        match coding.as_str() {
            "gzip" | "x-gzip" => return !q_zero,
            "*" => star = !q_zero,
            _ => {}
        }
    }
    star
}

pub use opsflow_api::conditional::etag_matches;
