//! The two request headers the dashboard reads: `Accept-Encoding` and
//! `If-None-Match` (RFC 9110 §12.5.3 and §13.1.2).

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

/// Whether `If-None-Match` matches `etag`: `*`, or any listed tag equal to it
/// under weak comparison (a `W/` prefix is ignored), as the header requires.
pub fn etag_matches(if_none_match: &str, etag: &str) -> bool {
    let plain = |t: &str| t.trim().trim_start_matches("W/").to_string();
    let want = plain(etag);
    if_none_match
        .split(',')
        .any(|t| t.trim() == "*" || plain(t) == want)
}
