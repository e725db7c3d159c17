//! Generic signed JSON source: Standard Webhooks, as the specification defines it.
//!
//! **Signature** (Standard Webhooks specification, symmetric `v1`): headers
//! `webhook-id`, `webhook-timestamp` (unix seconds) and `webhook-signature`, a
//! space-separated list of `v1,<base64 HMAC-SHA256>`; the signed content is
//! `{id}.{timestamp}.{body}` and the key is the base64-decoded part of a
//! `whsec_<base64>` secret (the prefix is optional). Timestamps more than 5
//! minutes from `now`, either way, are rejected ([`WINDOW`]). Several secrets
//! (space separated) may be configured; any secret matching any listed `v1`
//! signature passes, other versions are ignored. [`sign_standard_webhook`]
//! produces the header for our outbound notifications.
//!
//! **Payloads** ([`parse_request`]): a JSON object is one message of the
//! specification's shape, deduplicated by its `webhook-id` and mapped to a
//! counter by the rules of [`message`]; a JSON array is our extension, a batch
//! of events of our own schema, each deduplicated by its `id` ([`batch`]). Any
//! other body is malformed (400).

pub mod batch;
pub mod message;

use serde_json::Value;

use super::event::{ParsedBatch, PayloadError, Platform};
use super::replay::{EventTimeBound, ReplayWindow};
use super::verify::{
    InboundRequest, VerifyError, any_matches, b64_decode, b64_encode, config_entries, hmac_sha256,
    parse_unsigned,
};

pub use message::kind_of_type;

/// The header carrying the message id.
pub const ID_HEADER: &str = "webhook-id";
/// The header carrying the send time, unix seconds.
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
/// The header carrying the signature list.
pub const SIGNATURE_HEADER: &str = "webhook-signature";
/// The span the signed `webhook-timestamp` must fall in: five minutes either way.
pub const WINDOW: ReplayWindow = ReplayWindow::FIVE_MINUTES;
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
    WINDOW.check(ts, now)?;
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

/// Parse a verified Standard Webhooks request: a message (a JSON object) or our
/// batch extension (a JSON array), each event time held to `bound` when given.
pub fn parse_request(
    request: &InboundRequest<'_>,
    bound: Option<EventTimeBound>,
) -> Result<ParsedBatch, PayloadError> {
    match serde_json::from_slice::<Value>(request.body) {
        Ok(Value::Array(elements)) => Ok(batch::parse_elements(&elements, bound)),
        Ok(Value::Object(object)) => {
            let header = |name| {
                request
                    .required_header(name)
                    .map_err(|_| PayloadError::MissingHeader(name))
            };
            let webhook_id = header(ID_HEADER)?;
            let sent_at = parse_unsigned(header(TIMESTAMP_HEADER)?, TIMESTAMP_HEADER)
                .map_err(|_| PayloadError::MissingHeader(TIMESTAMP_HEADER))?;
            Ok(message::parse_message(&object, webhook_id, sent_at, bound))
        }
        Ok(_) => Err(PayloadError::NotAMessage),
        Err(e) => Err(PayloadError::InvalidJson(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhooks::event::{MAX_UNIX_SECONDS, MetricKind};
    use base64::Engine as _;
    use hmac::{Hmac, Mac};
    use proptest::prelude::*;

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
    fn timestamps_beyond_five_minutes_either_way_are_refused() {
        assert_eq!(spec_check(SPEC_SIGNATURE, SPEC_BODY, SPEC_TS + 300), Ok(()));
        assert_eq!(spec_check(SPEC_SIGNATURE, SPEC_BODY, SPEC_TS - 300), Ok(()));
        assert_eq!(
            spec_check(SPEC_SIGNATURE, SPEC_BODY, SPEC_TS + 301),
            Err(VerifyError::TooOld {
                age_secs: 301,
                max_age_secs: 300
            })
        );
        assert_eq!(
            spec_check(SPEC_SIGNATURE, SPEC_BODY, SPEC_TS - 301),
            Err(VerifyError::FromTheFuture {
                ahead_secs: 301,
                max_ahead_secs: 300
            })
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

    fn request_for<'a>(
        headers: &'a Vec<(&'static str, String)>,
        body: &'a [u8],
    ) -> InboundRequest<'a> {
        InboundRequest {
            method: "POST",
            url: "",
            headers,
            body,
        }
    }

    #[test]
    fn a_signed_specification_message_verifies_and_parses() {
        // The specification's signing example, minified, as a library signs it.
        let body = br#"{"type":"contact.created","timestamp":"2022-11-03T20:26:10.344522Z","data":{"id":"1f81eb52-5198-4599-803e-771906343485"}}"#;
        let secret = Secret::parse(SPEC_SECRET).unwrap();
        let headers = standard_webhook_headers(
            &secret,
            "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
            1_674_087_231,
            body,
        )
        .to_vec();
        let request = request_for(&headers, body);
        let secrets = Secrets::parse(Some(SPEC_SECRET)).unwrap();
        assert_eq!(verify(&secrets, &request, 1_674_087_231), Ok(()));
        let batch = parse_request(&request, None).unwrap();
        assert_eq!(batch.events.len(), 1);
        assert_eq!(batch.events[0].kind, MetricKind::Conversions);
        assert_eq!(batch.events[0].dedupe_id, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W");
    }

    #[test]
    fn arrays_are_batches_and_other_bodies_are_malformed() {
        let secret = Secret::parse(SPEC_SECRET).unwrap();
        let parse = |body: &[u8]| {
            let headers = standard_webhook_headers(&secret, "msg_1", 1_700_000_000, body).to_vec();
            parse_request(&request_for(&headers, body), None)
        };
        let batch =
            parse(br#"[{"id":"e1","type":"opened","occurred_at":1700000000,"campaign_id":"c"}]"#)
                .unwrap();
        assert_eq!(batch.events[0].dedupe_id, "e1");
        assert_eq!(parse(b"42"), Err(PayloadError::NotAMessage));
        assert_eq!(parse(br#""text""#), Err(PayloadError::NotAMessage));
        assert!(matches!(parse(b"[1,"), Err(PayloadError::InvalidJson(_))));
        // Without its headers (never the case after verification) a message is refused, not a panic.
        let no_headers: Vec<(&str, &str)> = vec![];
        let request = InboundRequest {
            method: "POST",
            url: "",
            headers: &no_headers,
            body: b"{}",
        };
        assert_eq!(
            parse_request(&request, None),
            Err(PayloadError::MissingHeader(ID_HEADER))
        );
    }
}
