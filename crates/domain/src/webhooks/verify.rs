//! What every signature scheme shares: the request as the verifiers see it, the
//! error they answer with, and the constant-time primitives.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use subtle::{Choice, ConstantTimeEq};

/// Why a webhook request was not accepted as coming from the platform.
///
/// Meant to be converted once, at the HTTP edge: [`Unconfigured`](Self::Unconfigured)
/// and [`InvalidConfig`](Self::InvalidConfig) are ours (503, so the sender keeps
/// retrying until the secret is set right); every other variant is the sender's
/// (401, which senders do not retry forever).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// No secret or key is configured for the platform: the platform is disabled.
    #[error("this platform is not configured")]
    Unconfigured,
    /// The configured secret or key cannot be used (names the Spin variable).
    #[error("the configured `{0}` is invalid")]
    InvalidConfig(&'static str),
    /// A header the scheme needs is absent (names the header).
    #[error("missing header `{0}`")]
    MissingHeader(&'static str),
    /// A header or body part the scheme needs cannot be read (names what).
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// The signed time lies further in the past than the platform admits
    /// (see [`ReplayWindow`](super::ReplayWindow)).
    #[error(
        "the request was signed {age_secs} s ago; requests signed more than {max_age_secs} s ago \
         are refused as possible replays"
    )]
    TooOld {
        /// How long ago the request was signed, in seconds.
        age_secs: i64,
        /// The oldest the platform admits, in seconds.
        max_age_secs: i64,
    },
    /// The signed time lies further in our future than clock skew explains.
    #[error(
        "the request is signed {ahead_secs} s in the future; at most {max_ahead_secs} s of \
         clock skew is accepted"
    )]
    FromTheFuture {
        /// How far ahead of now the signed time is, in seconds.
        ahead_secs: i64,
        /// The most the platform admits, in seconds.
        max_ahead_secs: i64,
    },
    /// No configured secret or key produces the signature sent.
    #[error("signature does not match")]
    BadSignature,
}

impl VerifyError {
    /// Whether the request was refused for its signed time alone (outside the
    /// platform's replay window), not for its signature or configuration.
    pub fn is_outside_window(&self) -> bool {
        matches!(self, Self::TooOld { .. } | Self::FromTheFuture { .. })
    }
}

/// Read access to request headers, by name, ASCII case-insensitively.
///
/// Implemented for slices and vectors of `(name, value)` pairs, which is what
/// HTTP adapters hold; the first header of a name wins.
pub trait Headers {
    /// The raw value of the first header called `name` (any case), if present.
    fn header(&self, name: &str) -> Option<&[u8]>;
}

impl<K: AsRef<str>, V: AsRef<[u8]>> Headers for [(K, V)] {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.iter()
            .find(|(k, _)| k.as_ref().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }
}

impl<K: AsRef<str>, V: AsRef<[u8]>> Headers for Vec<(K, V)> {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.as_slice().header(name)
    }
}

/// An inbound webhook request, as the signature schemes need it.
#[derive(Clone, Copy)]
pub struct InboundRequest<'a> {
    /// The HTTP method, as received (`POST`).
    pub method: &'a str,
    /// The URL the sender was configured to call: `public_base_url` + path + query
    /// (see [`public_url`](super::public_url)), never rebuilt from the `Host` header.
    /// Signed by Mandrill and HubSpot; ignored by the others.
    pub url: &'a str,
    /// The request headers.
    pub headers: &'a dyn Headers,
    /// The raw body bytes, exactly as received.
    pub body: &'a [u8],
}

impl std::fmt::Debug for InboundRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InboundRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

impl<'a> InboundRequest<'a> {
    /// The named header as text, trimmed; `MissingHeader` when absent or empty,
    /// `Malformed` when it is not UTF-8.
    pub(crate) fn required_header(&self, name: &'static str) -> Result<&'a str, VerifyError> {
        let raw = self
            .headers
            .header(name)
            .ok_or(VerifyError::MissingHeader(name))?;
        let text = std::str::from_utf8(raw).map_err(|_| VerifyError::Malformed(name))?;
        let text = text.trim();
        if text.is_empty() {
            return Err(VerifyError::MissingHeader(name));
        }
        Ok(text)
    }
}

/// The whitespace-separated entries of a secret variable; `Unconfigured` when
/// there are none (unset, empty or blank all disable the platform).
pub(crate) fn config_entries(raw: Option<&str>) -> Result<Vec<&str>, VerifyError> {
    let entries: Vec<&str> = raw.unwrap_or_default().split_whitespace().collect();
    if entries.is_empty() {
        Err(VerifyError::Unconfigured)
    } else {
        Ok(entries)
    }
}

/// A timestamp header made of ASCII digits only (no sign, no spaces), as an integer.
pub(crate) fn parse_unsigned(text: &str, what: &'static str) -> Result<i64, VerifyError> {
    if text.is_empty() || text.len() > 18 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(VerifyError::Malformed(what));
    }
    text.parse().map_err(|_| VerifyError::Malformed(what))
}

/// Constant-time equality of two byte strings (the length is not secret).
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> Choice {
    if a.len() == b.len() {
        a.ct_eq(b)
    } else {
        Choice::from(0)
    }
}

/// Base64 (standard alphabet, padded) decoding; `None` when malformed.
pub(crate) fn b64_decode(text: &str) -> Option<Vec<u8>> {
    STANDARD.decode(text.trim()).ok()
}

/// Base64 (standard alphabet, padded) encoding.
pub(crate) fn b64_encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// HMAC-SHA256 over the concatenation of `parts`.
pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC takes keys of any length: `new_from_slice` cannot fail for it.
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(key) else {
        return [0; 32];
    };
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// HMAC-SHA1 over the concatenation of `parts`.
pub(crate) fn hmac_sha1(key: &[u8], parts: &[&[u8]]) -> [u8; 20] {
    let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(key) else {
        return [0; 20];
    };
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Does any of `candidates` equal `expected`? Every candidate is compared, in
/// constant time, so the answer's timing says nothing about which one matched.
pub(crate) fn any_matches<'c>(
    expected: &[u8],
    candidates: impl IntoIterator<Item = &'c [u8]>,
) -> bool {
    let mut found = Choice::from(0);
    for candidate in candidates {
        found |= ct_eq(expected, candidate);
    }
    found.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_found_case_insensitively_first_wins() {
        let headers = vec![
            ("Content-Type", "application/json"),
            ("X-Thing", "one"),
            ("x-thing", "two"),
        ];
        assert_eq!(headers.header("x-THING"), Some(&b"one"[..]));
        assert_eq!(headers.header("missing"), None);
    }

    #[test]
    fn blank_config_is_unconfigured() {
        assert_eq!(config_entries(None), Err(VerifyError::Unconfigured));
        assert_eq!(
            config_entries(Some("  \n ")),
            Err(VerifyError::Unconfigured)
        );
        assert_eq!(config_entries(Some(" a  b ")), Ok(vec!["a", "b"]));
    }

    #[test]
    fn unsigned_timestamps_are_digits_only() {
        assert_eq!(parse_unsigned("1614265330", "t"), Ok(1_614_265_330));
        for bad in ["", "-1", "+1", "1.5", "1e9", "abc", "9999999999999999999"] {
            assert_eq!(parse_unsigned(bad, "t"), Err(VerifyError::Malformed("t")));
        }
    }

    #[test]
    fn window_is_inclusive_and_overflow_free() {
        let w = super::super::ReplayWindow::FIVE_MINUTES;
        assert!(w.check(100, 400).is_ok());
        assert!(w.check(700, 400).is_ok());
        assert!(w.check(99, 400).is_err_and(|e| e.is_outside_window()));
        assert!(w.check(701, 400).is_err_and(|e| e.is_outside_window()));
        assert!(w.check(i64::MIN, i64::MAX).is_err());
    }

    #[test]
    fn any_matches_checks_every_candidate() {
        assert!(any_matches(b"abc", [&b"xyz"[..], b"ab", b"abc"]));
        assert!(!any_matches(b"abc", [&b"abd"[..], b""]));
        assert!(!any_matches(b"abc", []));
    }
}
