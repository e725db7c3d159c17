//! Generic signed JSON source: Standard Webhooks signatures and our event schema.
//!
//! **Signature** (Standard Webhooks specification, symmetric `v1`): headers
//! `webhook-id`, `webhook-timestamp` (unix seconds) and `webhook-signature`, a
//! space-separated list of `v1,<base64 HMAC-SHA256>`; the signed content is
//! `{id}.{timestamp}.{body}` and the key is the base64-decoded part of a
//! `whsec_<base64>` secret (the prefix is optional). Timestamps more than 5
//! minutes from `now`, either way, are rejected. Several secrets (space
//! separated) may be configured; any secret matching any listed `v1` signature
//! passes, other versions are ignored. [`sign_standard_webhook`] produces the
//! header for our outbound notifications.
//!
//! **Events**: a JSON array of objects (unknown fields reject the element):
//!
//! | field | type | |
//! |---|---|---|
//! | `id` | string | required; the dedupe id, unique per event at the source |
//! | `type` | string | required; `sent`, `delivered`, `bounced`, `dropped`, `deferred`, `opened`, `clicked`, `unsubscribed`, `spam_reports`, `conversions`, `spend`; other values are unknown (counted, ignored) |
//! | `occurred_at` | RFC 3339 string or integer unix seconds | required |
//! | `campaign_id`, `channel`, `content_id` | string | optional attribution, ≤ 128 bytes, no control characters |
//! | `amount` | integer | count kinds: ≥ 1, default 1; `spend`: required, minor currency units (negative for credits) |

use chrono::DateTime;
use serde::Deserialize;
use serde_json::Value;

use super::event::{
    BatchBuilder, MAX_UNIX_SECONDS, MetricKind, NormalizedEvent, ParsedBatch, PayloadError,
    Platform, clean_attribution, dedupe_id, json_array,
};
use super::verify::{
    InboundRequest, VerifyError, any_matches, b64_decode, b64_encode, config_entries, hmac_sha256,
    parse_unsigned, within,
};

/// The header carrying the message id.
pub const ID_HEADER: &str = "webhook-id";
/// The header carrying the send time, unix seconds.
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
/// The header carrying the signature list.
pub const SIGNATURE_HEADER: &str = "webhook-signature";
/// The accepted distance between the send time and now, in seconds.
pub const TOLERANCE_SECS: i64 = 300;
/// The prefix of a Standard Webhooks secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// A Standard Webhooks signing secret (the decoded HMAC key).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    key: Vec<u8>,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(redacted)")
    }
}

/// A secret that is not `whsec_` followed by non-empty base64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a Standard Webhooks secret (`whsec_` followed by base64)")]
pub struct InvalidSecret;

impl Secret {
    /// A secret from its text form, `whsec_<base64>` (or the bare base64).
    pub fn parse(text: &str) -> Result<Self, InvalidSecret> {
        let text = text.trim();
        let encoded = text.strip_prefix(SECRET_PREFIX).unwrap_or(text);
        match b64_decode(encoded) {
            Some(key) if !key.is_empty() => Ok(Self { key }),
            _ => Err(InvalidSecret),
        }
    }

    /// A secret from raw key bytes.
    pub fn from_bytes(key: Vec<u8>) -> Self {
        Self { key }
    }

    fn mac(&self, id: &str, timestamp: &str, body: &[u8]) -> [u8; 32] {
        hmac_sha256(
            &self.key,
            &[id.as_bytes(), b".", timestamp.as_bytes(), b".", body],
        )
    }
}

/// The secrets of `generic_webhook_secret`.
#[derive(Debug, Clone)]
pub struct Secrets(Vec<Secret>);

impl Secrets {
    /// Secrets from the variable's value, space separated; unset or blank is
    /// `Unconfigured`, an unreadable secret `InvalidConfig`.
    pub fn parse(raw: Option<&str>) -> Result<Self, VerifyError> {
        config_entries(raw)?
            .into_iter()
            .map(|entry| {
                Secret::parse(entry)
                    .map_err(|_| VerifyError::InvalidConfig(Platform::Generic.secret_variable()))
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    /// How many secrets are configured.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Never true for parsed secrets: an empty variable is `Unconfigured`.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The `webhook-signature` value for a message: `v1,<base64>`.
pub fn sign_standard_webhook(secret: &Secret, id: &str, timestamp: i64, body: &[u8]) -> String {
    let mac = secret.mac(id, &timestamp.to_string(), body);
    format!("v1,{}", b64_encode(&mac))
}

/// The three Standard Webhooks headers for a message, ready to send.
pub fn standard_webhook_headers(
    secret: &Secret,
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> [(&'static str, String); 3] {
    [
        (ID_HEADER, id.to_owned()),
        (TIMESTAMP_HEADER, timestamp.to_string()),
        (
            SIGNATURE_HEADER,
            sign_standard_webhook(secret, id, timestamp, body),
        ),
    ]
}

/// Verify a Standard Webhooks request (`now` in unix seconds).
pub fn verify(
    secrets: &Secrets,
    request: &InboundRequest<'_>,
    now: i64,
) -> Result<(), VerifyError> {
    let id = request.required_header(ID_HEADER)?;
    let timestamp = request.required_header(TIMESTAMP_HEADER)?;
    let listed = request.required_header(SIGNATURE_HEADER)?;
    let ts = parse_unsigned(timestamp, TIMESTAMP_HEADER)?;
    if !within(ts, now, TOLERANCE_SECS) {
        return Err(VerifyError::StaleTimestamp);
    }
    let entries: Vec<(&str, &str)> = listed
        .split_whitespace()
        .filter_map(|entry| entry.split_once(','))
        .collect();
    if entries.is_empty() {
        return Err(VerifyError::Malformed(SIGNATURE_HEADER));
    }
    let sent: Vec<Vec<u8>> = entries
        .into_iter()
        .filter(|(version, _)| *version == "v1")
        .filter_map(|(_, signature)| b64_decode(signature))
        .collect();
    let mut matched = false;
    for secret in &secrets.0 {
        let expected = secret.mac(id, timestamp, request.body);
        matched |= any_matches(&expected, sent.iter().map(Vec::as_slice));
    }
    if matched {
        Ok(())
    } else {
        Err(VerifyError::BadSignature)
    }
}

/// One event of our generic schema, as sent.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireEvent {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    occurred_at: WireTime,
    #[serde(default)]
    campaign_id: Option<String>,
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    content_id: Option<String>,
    #[serde(default)]
    amount: Option<i64>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum WireTime {
    Unix(i64),
    Rfc3339(String),
}

/// Parse a generic webhook body (a JSON array of events of our schema).
pub fn parse(body: &[u8]) -> Result<ParsedBatch, PayloadError> {
    let mut batch = BatchBuilder::new(Platform::Generic);
    for (index, element) in json_array(body)?.iter().enumerate() {
        match parse_event(element) {
            Ok(Parsed::Event(event)) => batch.event(event),
            Ok(Parsed::Unknown { dedupe_id, kind }) => batch.unknown(Some(dedupe_id), kind),
            Err(reason) => batch.reject(index, reason),
        }
    }
    Ok(batch.finish())
}

/// What one element of our schema is.
enum Parsed {
    Event(NormalizedEvent),
    Unknown { dedupe_id: String, kind: String },
}

fn parse_event(element: &Value) -> Result<Parsed, String> {
    let wire = WireEvent::deserialize(element).map_err(|e| e.to_string())?;
    let id = wire.id.trim();
    if id.is_empty() {
        return Err("`id` is empty".to_owned());
    }
    let dedupe = dedupe_id(id);
    let Some(kind) = MetricKind::parse(&wire.kind) else {
        return Ok(Parsed::Unknown {
            dedupe_id: dedupe,
            kind: wire.kind,
        });
    };
    let occurred_at = match wire.occurred_at {
        WireTime::Unix(secs) => secs,
        WireTime::Rfc3339(text) => DateTime::parse_from_rfc3339(&text)
            .map_err(|e| format!("`occurred_at` is not RFC 3339: {e}"))?
            .timestamp(),
    };
    if !(0..=MAX_UNIX_SECONDS).contains(&occurred_at) {
        return Err("`occurred_at` is out of range".to_owned());
    }
    let amount = match (kind, wire.amount) {
        (MetricKind::Spend, Some(amount)) => amount,
        (MetricKind::Spend, None) => return Err("`amount` is required for `spend`".to_owned()),
        (_, None) => 1,
        (_, Some(amount)) if amount >= 1 => amount,
        (_, Some(_)) => return Err("`amount` of a count must be at least 1".to_owned()),
    };
    let attribution = |value: Option<String>, field: &str| match value {
        None => Ok(None),
        Some(v) => clean_attribution(&v)
            .map(Some)
            .ok_or_else(|| format!("`{field}` must be 1..=128 bytes without control characters")),
    };
    Ok(Parsed::Event(NormalizedEvent {
        dedupe_id: dedupe,
        platform: Platform::Generic,
        kind,
        campaign_id: attribution(wire.campaign_id, "campaign_id")?,
        channel: attribution(wire.channel, "channel")?,
        content_id: attribution(wire.content_id, "content_id")?,
        occurred_at,
        amount,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use hmac::{Hmac, Mac};
    use proptest::prelude::*;
    use serde_json::json;

    const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const SPEC_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const SPEC_TS: i64 = 1_614_265_330;
    const SPEC_BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SPEC_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn check(
        secrets: &str,
        id: &str,
        timestamp: &str,
        signature: &str,
        body: &[u8],
        now: i64,
    ) -> Result<(), VerifyError> {
        let secrets = Secrets::parse(Some(secrets))?;
        let headers = vec![
            (ID_HEADER, id),
            (TIMESTAMP_HEADER, timestamp),
            (SIGNATURE_HEADER, signature),
        ];
        let request = InboundRequest {
            method: "POST",
            url: "https://ops.example.com/webhooks/generic",
            headers: &headers,
            body,
        };
        verify(&secrets, &request, now)
    }

    fn spec_check(signature: &str, body: &[u8], now: i64) -> Result<(), VerifyError> {
        check(
            SPEC_SECRET,
            SPEC_ID,
            &SPEC_TS.to_string(),
            signature,
            body,
            now,
        )
    }

    #[test]
    fn signs_the_specifications_example() {
        let secret = Secret::parse(SPEC_SECRET).unwrap();
        assert_eq!(
            sign_standard_webhook(&secret, SPEC_ID, SPEC_TS, SPEC_BODY),
            SPEC_SIGNATURE
        );
        assert_eq!(spec_check(SPEC_SIGNATURE, SPEC_BODY, SPEC_TS), Ok(()));
    }

    #[test]
    fn signs_the_reference_librarys_example() {
        // standard-webhooks libraries/rust test_sign.
        let secret = Secret::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
        assert_eq!(
            sign_standard_webhook(
                &secret,
                "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
                1_649_367_553,
                br#"{"email":"test@example.com","username":"test_user"}"#
            ),
            "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
        );
    }

    #[test]
    fn matches_an_independently_computed_hmac() {
        let key = b"0123456789abcdef0123456789abcdef";
        let secret_text = format!(
            "whsec_{}",
            base64::engine::general_purpose::STANDARD.encode(key)
        );
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
        mac.update(b"evt_1.1700000000.[]");
        let expected = format!(
            "v1,{}",
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
        );
        let secret = Secret::parse(&secret_text).unwrap();
        assert_eq!(
            sign_standard_webhook(&secret, "evt_1", 1_700_000_000, b"[]"),
            expected
        );
        let headers = standard_webhook_headers(&secret, "evt_1", 1_700_000_000, b"[]");
        assert_eq!(headers[0], (ID_HEADER, "evt_1".to_owned()));
        assert_eq!(headers[1], (TIMESTAMP_HEADER, "1700000000".to_owned()));
        assert_eq!(headers[2], (SIGNATURE_HEADER, expected));
    }

    #[test]
    fn wrong_secret_id_or_body_fails() {
        let other = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
        assert_eq!(
            check(
                other,
                SPEC_ID,
                "1614265330",
                SPEC_SIGNATURE,
                SPEC_BODY,
                SPEC_TS
            ),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            check(
                SPEC_SECRET,
                "msg_other",
                "1614265330",
                SPEC_SIGNATURE,
                SPEC_BODY,
                SPEC_TS
            ),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            spec_check(SPEC_SIGNATURE, br#"{"test":2432232314}"#, SPEC_TS),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn timestamps_beyond_five_minutes_either_way_are_stale() {
        assert_eq!(spec_check(SPEC_SIGNATURE, SPEC_BODY, SPEC_TS + 300), Ok(()));
        assert_eq!(spec_check(SPEC_SIGNATURE, SPEC_BODY, SPEC_TS - 300), Ok(()));
        assert_eq!(
            spec_check(SPEC_SIGNATURE, SPEC_BODY, SPEC_TS + 301),
            Err(VerifyError::StaleTimestamp)
        );
        assert_eq!(
            spec_check(SPEC_SIGNATURE, SPEC_BODY, SPEC_TS - 301),
            Err(VerifyError::StaleTimestamp)
        );
    }

    #[test]
    fn any_listed_signature_and_any_secret_may_match() {
        let listed = format!(
            "v1,tFtCZ5RDCPxzWQRWXWPgrCgE2frDBe9gjpbWQxnVfsQ= v1a,abc {SPEC_SIGNATURE} v1,!!!"
        );
        assert_eq!(spec_check(&listed, SPEC_BODY, SPEC_TS), Ok(()));
        let rotated = format!("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD {SPEC_SECRET}");
        assert_eq!(
            check(
                &rotated,
                SPEC_ID,
                "1614265330",
                SPEC_SIGNATURE,
                SPEC_BODY,
                SPEC_TS
            ),
            Ok(())
        );
        // The right signature under another version tag is not a v1 signature.
        let wrong_version = SPEC_SIGNATURE.replacen("v1,", "v2,", 1);
        assert_eq!(
            spec_check(&wrong_version, SPEC_BODY, SPEC_TS),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn missing_and_malformed_headers_are_named() {
        let secrets = Secrets::parse(Some(SPEC_SECRET)).unwrap();
        let full = [
            (ID_HEADER, SPEC_ID),
            (TIMESTAMP_HEADER, "1614265330"),
            (SIGNATURE_HEADER, SPEC_SIGNATURE),
        ];
        for skip in 0..3 {
            let headers: Vec<(&str, &str)> = full
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != skip)
                .map(|(_, h)| *h)
                .collect();
            let request = InboundRequest {
                method: "POST",
                url: "",
                headers: &headers,
                body: SPEC_BODY,
            };
            assert_eq!(
                verify(&secrets, &request, SPEC_TS),
                Err(VerifyError::MissingHeader(full[skip].0))
            );
        }
        assert_eq!(
            check(
                SPEC_SECRET,
                SPEC_ID,
                "1614265330.0",
                SPEC_SIGNATURE,
                SPEC_BODY,
                SPEC_TS
            ),
            Err(VerifyError::Malformed(TIMESTAMP_HEADER))
        );
        assert_eq!(
            spec_check("g0hM9SsE", SPEC_BODY, SPEC_TS),
            Err(VerifyError::Malformed(SIGNATURE_HEADER))
        );
    }

    #[test]
    fn secrets_parse_or_are_reported() {
        assert!(Secret::parse("whsec_").is_err());
        assert!(Secret::parse("whsec_***").is_err());
        assert_eq!(
            Secret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            Secret::parse(SPEC_SECRET)
        );
        assert_eq!(Secrets::parse(None).unwrap_err(), VerifyError::Unconfigured);
        assert_eq!(
            Secrets::parse(Some("whsec_ok= bad!")).unwrap_err(),
            VerifyError::InvalidConfig("generic_webhook_secret")
        );
        assert_eq!(
            format!("{:?}", Secret::parse(SPEC_SECRET).unwrap()),
            "Secret(redacted)"
        );
    }

    proptest! {
        #[test]
        fn any_body_mutation_fails(index in any::<prop::sample::Index>(), flip in 1u8..=255) {
            let mut body = SPEC_BODY.to_vec();
            let at = index.index(body.len());
            body[at] ^= flip;
            prop_assert_eq!(spec_check(SPEC_SIGNATURE, &body, SPEC_TS), Err(VerifyError::BadSignature));
        }

        #[test]
        fn any_signed_body_verifies(body in prop::collection::vec(any::<u8>(), 0..256), ts in 0i64..=MAX_UNIX_SECONDS) {
            let secret = Secret::parse(SPEC_SECRET).unwrap();
            let signature = sign_standard_webhook(&secret, "id", ts, &body);
            prop_assert_eq!(check(SPEC_SECRET, "id", &ts.to_string(), &signature, &body, ts), Ok(()));
        }
    }

    fn parse_events(events: Value) -> ParsedBatch {
        parse(&serde_json::to_vec(&events).unwrap()).unwrap()
    }

    #[test]
    fn parses_our_schema() {
        let batch = parse_events(json!([
            {"id": "e1", "type": "delivered", "occurred_at": "2026-05-01T10:15:00Z",
             "campaign_id": "c1", "channel": "email", "content_id": "k1"},
            {"id": "e2", "type": "spend", "occurred_at": 1_777_630_500, "campaign_id": "c1", "amount": 12_345},
            {"id": "e3", "type": "clicked", "occurred_at": "2026-05-01T12:15:00+02:00", "amount": 3},
        ]));
        assert!(batch.rejected.is_empty(), "{:?}", batch.rejected);
        let e = &batch.events;
        assert_eq!(e.len(), 3);
        assert_eq!(e[0].occurred_at, 1_777_630_500);
        assert_eq!(
            (
                e[0].campaign_id.as_deref(),
                e[0].channel.as_deref(),
                e[0].content_id.as_deref()
            ),
            (Some("c1"), Some("email"), Some("k1"))
        );
        assert_eq!((e[1].kind, e[1].amount), (MetricKind::Spend, 12_345));
        assert_eq!((e[2].occurred_at, e[2].amount), (1_777_630_500, 3));
        assert_eq!(batch.unattributed_count(), 1);
    }

    #[test]
    fn unknown_types_are_counted_and_bad_elements_rejected() {
        let batch = parse_events(json!([
            {"id": "u", "type": "viewed", "occurred_at": 1},
            {"id": "a", "type": "sent", "occurred_at": 1, "extra": true},
            {"id": "b", "type": "spend", "occurred_at": 1},
            {"id": "c", "type": "sent", "occurred_at": 1, "amount": 0},
            {"id": "d", "type": "sent", "occurred_at": "yesterday"},
            {"id": "e", "type": "sent", "occurred_at": -1},
            {"id": " ", "type": "sent", "occurred_at": 1},
            {"id": "f", "type": "sent", "occurred_at": 1, "campaign_id": ""},
            {"type": "sent", "occurred_at": 1},
            {"id": "ok", "type": "sent", "occurred_at": 1},
            {"id": "ok", "type": "sent", "occurred_at": 2},
        ]));
        assert_eq!(batch.unknown.len(), 1);
        assert_eq!(batch.unknown[0].kind, "viewed");
        assert_eq!(
            batch.rejected.iter().map(|r| r.index).collect::<Vec<_>>(),
            [1, 2, 3, 4, 5, 6, 7, 8]
        );
        assert_eq!(batch.events.len(), 1);
        assert_eq!(batch.duplicates_in_batch, 1);
        assert!(matches!(parse(b"nope"), Err(PayloadError::InvalidJson(_))));
        assert_eq!(parse(b"{\"id\":\"x\"}"), Err(PayloadError::NotAnArray));
    }
}
