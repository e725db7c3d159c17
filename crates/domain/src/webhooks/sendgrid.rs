//! Twilio SendGrid Event Webhook: signed-webhook verification and event parsing.
//!
//! **Signature** (SendGrid, "Getting Started with the Event Webhook Security
//! Features"): SendGrid signs with an ECDSA P-256 key pair it holds and shows the
//! public key, base64 DER `SubjectPublicKeyInfo`. Each POST carries
//! `X-Twilio-Email-Event-Webhook-Signature` (base64 of the DER ECDSA signature)
//! and `X-Twilio-Email-Event-Webhook-Timestamp`; the signed content is the
//! timestamp header's bytes followed by the raw body bytes, hashed with SHA-256.
//! Several keys (space separated) may be configured while rotating; any match passes.
//!
//! SendGrid documents no timestamp window (its Event Webhook retries for up to
//! 24 hours after an event). A replay is absorbed by dedupe on `sg_event_id` for
//! as long as the event's dedupe record lives, so both the signed timestamp and
//! each event's `timestamp` must lie within [`WINDOW`] (the dedupe retention
//! minus a margin, see [`replay`](super::replay)): an older request is a 401,
//! an older event is listed as rejected and not counted.
//!
//! **Events** (a JSON array): `processed`→sent, `delivered`, `deferred`,
//! `bounce`→bounced (any bounce `type`, including `blocked`), `dropped`,
//! `open`→opened, `click`→clicked, `spamreport`→spam_reports,
//! `unsubscribe`/`group_unsubscribe`→unsubscribed; anything else is unknown.
//! Dedupe id: `sg_event_id` (or `<sg_message_id>:<event>:<timestamp>` when absent).
//! Attribution: custom args `campaign_id`, `channel`, `content_id` at the top
//! level of the event (where SendGrid puts `custom_args`/unique args), else in a
//! nested `custom_args`/`unique_args` object, else categories `campaign:<id>`,
//! `channel:<name>`, `content:<id>`.

use p256::ecdsa::signature::hazmat::PrehashVerifier;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::pkcs8::DecodePublicKey;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::event::{
    Attribution, BatchBuilder, MetricKind, ParsedBatch, PayloadError, Platform, dedupe_id, id_text,
    json_array, unix_seconds,
};
use super::replay::{EventTimeBound, ReplayWindow};
use super::verify::{InboundRequest, VerifyError, b64_decode, config_entries, parse_unsigned};

/// The header carrying the base64 DER signature.
pub const SIGNATURE_HEADER: &str = "X-Twilio-Email-Event-Webhook-Signature";
/// The header carrying the signed timestamp (unix seconds).
pub const TIMESTAMP_HEADER: &str = "X-Twilio-Email-Event-Webhook-Timestamp";
/// The span the signed timestamp and each event's time must fall in.
pub const WINDOW: ReplayWindow = ReplayWindow::DEDUPE;

/// SendGrid's public verification key(s), parsed from `sendgrid_verification_key`.
#[derive(Clone)]
pub struct VerificationKeys {
    keys: Vec<VerifyingKey>,
    window: ReplayWindow,
}

impl std::fmt::Debug for VerificationKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerificationKeys")
            .field("keys", &self.keys.len())
            .field("window", &self.window)
            .finish()
    }
}

impl VerificationKeys {
    /// Keys from the variable's value: base64 DER public keys, space separated.
    /// Unset or blank is `Unconfigured`; any unreadable key is `InvalidConfig`.
    pub fn parse(raw: Option<&str>) -> Result<Self, VerifyError> {
        let keys = config_entries(raw)?
            .into_iter()
            .map(|entry| {
                b64_decode(entry)
                    .and_then(|der| VerifyingKey::from_public_key_der(&der).ok())
                    .ok_or(VerifyError::InvalidConfig(
                        Platform::Sendgrid.secret_variable(),
                    ))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            keys,
            window: WINDOW,
        })
    }

    /// Admit signed timestamps within `window` instead of [`WINDOW`] (a
    /// narrower one; a wider one would let replays outlive their dedupe records).
    pub fn with_window(mut self, window: ReplayWindow) -> Self {
        self.window = window;
        self
    }

    /// How many keys are configured.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Never true for parsed keys: an empty variable is `Unconfigured`.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// Verify a SendGrid signed event webhook request (`now` in unix seconds).
pub fn verify(
    keys: &VerificationKeys,
    request: &InboundRequest<'_>,
    now: i64,
) -> Result<(), VerifyError> {
    let signature = request.required_header(SIGNATURE_HEADER)?;
    let timestamp = request.required_header(TIMESTAMP_HEADER)?;
    let signature = b64_decode(signature)
        .and_then(|der| Signature::from_der(&der).ok())
        .ok_or(VerifyError::Malformed(SIGNATURE_HEADER))?;
    let ts = parse_unsigned(timestamp, TIMESTAMP_HEADER)?;
    keys.window.check(ts, now)?;
    let digest = Sha256::new()
        .chain_update(timestamp.as_bytes())
        .chain_update(request.body)
        .finalize();
    // Public keys and signatures are not secret: no constant-time concern here.
    let matched = keys
        .keys
        .iter()
        .filter(|key| key.verify_prehash(&digest, &signature).is_ok())
        .count();
    if matched > 0 {
        Ok(())
    } else {
        Err(VerifyError::BadSignature)
    }
}

/// Parse a SendGrid Event Webhook body (a JSON array of events), every event
/// time admitted.
pub fn parse(body: &[u8]) -> Result<ParsedBatch, PayloadError> {
    parse_within(body, None)
}

/// [`parse`], rejecting the events whose `timestamp` lies outside `bound`.
pub fn parse_within(
    body: &[u8],
    bound: Option<EventTimeBound>,
) -> Result<ParsedBatch, PayloadError> {
    let mut batch = BatchBuilder::new(Platform::Sendgrid).bounded(bound);
    for (index, element) in json_array(body)?.iter().enumerate() {
        if let Err(reason) = parse_element(&mut batch, element) {
            batch.reject(index, reason);
        }
    }
    Ok(batch.finish())
}

fn parse_element(batch: &mut BatchBuilder, element: &Value) -> Result<(), String> {
    if !element.is_object() {
        return Err("event is not a JSON object".into());
    }
    let event = element
        .get("event")
        .and_then(Value::as_str)
        .ok_or("`event` is missing or not a string")?;
    let occurred_at =
        unix_seconds(element.get("timestamp")).ok_or("`timestamp` is missing or invalid")?;
    batch.check_time(occurred_at)?;
    let id = match id_text(element.get("sg_event_id")) {
        Some(id) => id,
        None => {
            let message = id_text(element.get("sg_message_id"))
                .ok_or("neither `sg_event_id` nor `sg_message_id` is present")?;
            format!("{message}:{event}:{occurred_at}")
        }
    };
    let id = dedupe_id(&id);
    let Some(kind) = kind_of(event) else {
        batch.unknown(Some(id), event);
        return Ok(());
    };
    let mut attribution = Attribution::default();
    attribution.fill_from_fields(Some(element));
    attribution.fill_from_fields(element.get("custom_args"));
    attribution.fill_from_fields(element.get("unique_args"));
    match element.get("category") {
        Some(Value::String(category)) => attribution.fill_from_tags([category.as_str()]),
        Some(Value::Array(categories)) => {
            attribution.fill_from_tags(categories.iter().filter_map(Value::as_str));
        }
        _ => {}
    }
    batch.event(attribution.into_event(Platform::Sendgrid, id, kind, occurred_at));
    Ok(())
}

/// The counter a SendGrid event name increments, if any.
pub fn kind_of(event: &str) -> Option<MetricKind> {
    Some(match event {
        "processed" => MetricKind::Sent,
        "delivered" => MetricKind::Delivered,
        "deferred" => MetricKind::Deferred,
        "bounce" => MetricKind::Bounced,
        "dropped" => MetricKind::Dropped,
        "open" => MetricKind::Opened,
        "click" => MetricKind::Clicked,
        "spamreport" => MetricKind::SpamReports,
        "unsubscribe" | "group_unsubscribe" => MetricKind::Unsubscribed,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhooks::verify::b64_encode;
    use p256::ecdsa::SigningKey;
    use p256::ecdsa::signature::Signer;
    use p256::pkcs8::EncodePublicKey;
    use proptest::prelude::*;
    use serde_json::json;

    const NOW: i64 = 1_700_000_000;

    /// A signing key from a fixed scalar, and its public key as SendGrid shows it.
    fn key_pair(seed: u8) -> (SigningKey, String) {
        let mut scalar = [0x11u8; 32];
        scalar[31] = seed;
        let signing = SigningKey::from_slice(&scalar).expect("valid scalar");
        let der = p256::PublicKey::from(signing.verifying_key())
            .to_public_key_der()
            .expect("encodable key");
        (signing, b64_encode(der.as_bytes()))
    }

    fn sign(key: &SigningKey, timestamp: &str, body: &[u8]) -> String {
        let mut content = timestamp.as_bytes().to_vec();
        content.extend_from_slice(body);
        let signature: Signature = key.sign(&content);
        b64_encode(signature.to_der().as_bytes())
    }

    fn check(keys: &str, signature: &str, timestamp: &str, body: &[u8]) -> Result<(), VerifyError> {
        check_at(keys, signature, timestamp, body, NOW)
    }

    /// [`check`] at `now`: published fixtures were signed years ago.
    fn check_at(
        keys: &str,
        signature: &str,
        timestamp: &str,
        body: &[u8],
        now: i64,
    ) -> Result<(), VerifyError> {
        let keys = VerificationKeys::parse(Some(keys))?;
        let headers = vec![(SIGNATURE_HEADER, signature), (TIMESTAMP_HEADER, timestamp)];
        let request = InboundRequest {
            method: "POST",
            url: "https://ops.example.com/webhooks/sendgrid",
            headers: &headers,
            body,
        };
        verify(&keys, &request, now)
    }

    const BODY: &[u8] =
        br#"[{"email":"a@example.com","event":"open","sg_event_id":"e1","timestamp":1700000000}]"#;

    #[test]
    fn verifies_a_signature_made_with_the_matching_key() {
        let (signing, public) = key_pair(1);
        let signature = sign(&signing, "1700000000", BODY);
        assert_eq!(check(&public, &signature, "1700000000", BODY), Ok(()));
    }

    #[test]
    fn verifies_sendgrids_published_example() {
        // The fixture of SendGrid's own helper libraries (Node, Java, C#, Ruby, Go).
        let key = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==";
        let signature = "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0=";
        let body =
            br#"{"category":"example_payload","event":"test_event","message_id":"message_id"}"#;
        assert_eq!(
            check_at(key, signature, "1588788367", body, 1_588_788_367),
            Ok(())
        );
        // The same fixtures' negative cases.
        let bad_key = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqTxd43gyp8IOEto2LdIfjRQrIbsd4SXZkLW6jDutdhXSJCWHw8REntlo7aNDthvj+y7GjUuFDb/R1NGe1OPzpA==";
        assert_eq!(
            check_at(bad_key, signature, "1588788367", body, 1_588_788_367),
            Err(VerifyError::BadSignature)
        );
        let bad_signature = "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH3j/0=";
        assert_eq!(
            check_at(key, bad_signature, "1588788367", body, 1_588_788_367),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            check_at(key, signature, "1388788367", body, 1_388_788_367),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            check_at(key, signature, "1588788367", b"payload", 1_588_788_367),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn verifies_sendgrids_published_event_batch_example() {
        // sendgrid-ruby's second fixture: a real event batch, with the trailing CRLF
        // SendGrid sends.
        let key = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g==";
        let signature = "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM=";
        let body = concat!(
            r#"[{"email":"hello@world.com","event":"dropped","reason":"Bounced Address","#,
            r#""sg_event_id":"ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA","#,
            r#""sg_message_id":"LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0","#,
            r#""smtp-id":"<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>","timestamp":1600112492}]"#,
            "\r\n"
        );
        assert_eq!(
            check_at(key, signature, "1600112502", body.as_bytes(), 1_600_112_502),
            Ok(())
        );
        let batch = parse(body.as_bytes()).unwrap();
        assert_eq!(batch.events.len(), 1);
        assert_eq!(batch.events[0].kind, MetricKind::Dropped);
        assert_eq!(batch.unattributed_count(), 1);
    }

    #[test]
    fn wrong_key_fails() {
        let (signing, _) = key_pair(1);
        let (_, other_public) = key_pair(2);
        let signature = sign(&signing, "1700000000", BODY);
        assert_eq!(
            check(&other_public, &signature, "1700000000", BODY),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn tampered_body_or_timestamp_fails() {
        let (signing, public) = key_pair(1);
        let signature = sign(&signing, "1700000000", BODY);
        let mut tampered = BODY.to_vec();
        tampered[10] ^= 1;
        assert_eq!(
            check(&public, &signature, "1700000000", &tampered),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            check(&public, &signature, "1700000001", BODY),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn any_rotated_key_may_match() {
        let (old, old_public) = key_pair(1);
        let (new, new_public) = key_pair(2);
        let keys = format!("{old_public} {new_public}");
        for key in [&old, &new] {
            let signature = sign(key, "1700000000", BODY);
            assert_eq!(check(&keys, &signature, "1700000000", BODY), Ok(()));
        }
    }

    #[test]
    fn missing_headers_are_named() {
        let (signing, public) = key_pair(1);
        let signature = sign(&signing, "1700000000", BODY);
        let keys = VerificationKeys::parse(Some(&public)).unwrap();
        let only_signature = vec![(SIGNATURE_HEADER, signature.as_str())];
        let only_timestamp = vec![(TIMESTAMP_HEADER, "1700000000")];
        for (headers, missing) in [
            (&only_signature, TIMESTAMP_HEADER),
            (&only_timestamp, SIGNATURE_HEADER),
        ] {
            let request = InboundRequest {
                method: "POST",
                url: "",
                headers,
                body: BODY,
            };
            assert_eq!(
                verify(&keys, &request, NOW),
                Err(VerifyError::MissingHeader(missing))
            );
        }
    }

    #[test]
    fn malformed_headers_are_named() {
        let (signing, public) = key_pair(1);
        let signature = sign(&signing, "1700000000", BODY);
        assert_eq!(
            check(&public, "not base64!", "1700000000", BODY),
            Err(VerifyError::Malformed(SIGNATURE_HEADER))
        );
        assert_eq!(
            check(&public, &b64_encode(b"not der"), "1700000000", BODY),
            Err(VerifyError::Malformed(SIGNATURE_HEADER))
        );
        assert_eq!(
            check(&public, &signature, "-1700000000", BODY),
            Err(VerifyError::Malformed(TIMESTAMP_HEADER))
        );
    }

    fn signed_at(offset: i64, keys: &VerificationKeys) -> Result<(), VerifyError> {
        let (signing, _) = key_pair(1);
        let ts = (NOW + offset).to_string();
        let signature = sign(&signing, &ts, BODY);
        let headers = vec![
            (SIGNATURE_HEADER, signature.as_str()),
            (TIMESTAMP_HEADER, &ts),
        ];
        let request = InboundRequest {
            method: "POST",
            url: "",
            headers: &headers,
            body: BODY,
        };
        verify(keys, &request, NOW)
    }

    #[test]
    fn requests_signed_outside_the_replay_window_fail() {
        use crate::webhooks::replay::{
            DEDUPE_RETENTION_SECS, MAX_CLOCK_SKEW_SECS, REPLAY_WINDOW_SECS,
        };
        let (_, public) = key_pair(1);
        let keys = VerificationKeys::parse(Some(&public)).unwrap();
        // SendGrid retries for a day: an hour-old signature is fine.
        assert_eq!(signed_at(-3_600, &keys), Ok(()));
        assert_eq!(signed_at(-REPLAY_WINDOW_SECS, &keys), Ok(()));
        assert_eq!(signed_at(MAX_CLOCK_SKEW_SECS, &keys), Ok(()));
        assert_eq!(
            signed_at(-REPLAY_WINDOW_SECS - 1, &keys),
            Err(VerifyError::TooOld {
                age_secs: REPLAY_WINDOW_SECS + 1,
                max_age_secs: REPLAY_WINDOW_SECS
            })
        );
        // Signed when the dedupe record of its events may already be gone.
        assert!(signed_at(-DEDUPE_RETENTION_SECS, &keys).is_err_and(|e| e.is_outside_window()));
        assert_eq!(
            signed_at(MAX_CLOCK_SKEW_SECS + 1, &keys),
            Err(VerifyError::FromTheFuture {
                ahead_secs: MAX_CLOCK_SKEW_SECS + 1,
                max_ahead_secs: MAX_CLOCK_SKEW_SECS
            })
        );
        let narrow = keys.with_window(ReplayWindow::FIVE_MINUTES);
        assert!(signed_at(-3_600, &narrow).is_err_and(|e| e.is_outside_window()));
    }

    #[test]
    fn events_outside_the_replay_window_are_rejected_not_counted() {
        use crate::webhooks::replay::REPLAY_WINDOW_SECS;
        let bound = EventTimeBound {
            now: NOW,
            window: WINDOW,
        };
        let events = [
            event(json!({"sg_event_id": "fresh", "timestamp": NOW - 60})),
            event(json!({"sg_event_id": "edge", "timestamp": NOW - REPLAY_WINDOW_SECS})),
            event(json!({"sg_event_id": "old", "timestamp": NOW - REPLAY_WINDOW_SECS - 1})),
            event(json!({"sg_event_id": "ahead", "timestamp": NOW + 3_600})),
            event(
                json!({"sg_event_id": "old-unknown", "event": "group_resubscribe", "timestamp": 1}),
            ),
        ];
        let body = serde_json::to_vec(&events).unwrap();
        let batch = parse_within(&body, Some(bound)).unwrap();
        let counted: Vec<&str> = batch.events.iter().map(|e| e.dedupe_id.as_str()).collect();
        assert_eq!(counted, ["fresh", "edge"]);
        assert_eq!(batch.unknown_count(), 0);
        let rejected: Vec<usize> = batch.rejected.iter().map(|r| r.index).collect();
        assert_eq!(rejected, [2, 3, 4]);
        assert!(
            batch.rejected[0].reason.contains("replay window"),
            "{:?}",
            batch.rejected
        );
        // Without a bound (unit parsing), every time is admitted.
        assert_eq!(parse(&body).unwrap().events.len(), 4);
    }

    #[test]
    fn configuration_errors_are_ours() {
        assert_eq!(
            VerificationKeys::parse(None).unwrap_err(),
            VerifyError::Unconfigured
        );
        assert_eq!(
            VerificationKeys::parse(Some(" ")).unwrap_err(),
            VerifyError::Unconfigured
        );
        let (_, public) = key_pair(1);
        assert_eq!(
            VerificationKeys::parse(Some(&format!("{public} bm90IGEga2V5"))).unwrap_err(),
            VerifyError::InvalidConfig("sendgrid_verification_key")
        );
        assert_eq!(VerificationKeys::parse(Some(&public)).unwrap().len(), 1);
    }

    proptest! {
        #[test]
        fn any_body_mutation_fails(
            index in any::<prop::sample::Index>(),
            flip in 1u8..=255,
        ) {
            let (signing, public) = key_pair(1);
            let signature = sign(&signing, "1700000000", BODY);
            let mut body = BODY.to_vec();
            let at = index.index(body.len());
            body[at] ^= flip;
            prop_assert_eq!(
                check(&public, &signature, "1700000000", &body),
                Err(VerifyError::BadSignature)
            );
        }
    }

    fn event(fields: Value) -> Value {
        let mut base = json!({
            "email": "a@example.com",
            "timestamp": 1_700_000_123,
            "event": "delivered",
            "sg_event_id": "ev-1",
            "sg_message_id": "msg-1.filter",
        });
        if let (Value::Object(base), Value::Object(fields)) = (&mut base, fields) {
            base.extend(fields);
        }
        base
    }

    fn parse_events(events: &[Value]) -> ParsedBatch {
        parse(&serde_json::to_vec(events).unwrap()).unwrap()
    }

    #[test]
    fn maps_every_documented_event_name() {
        let cases = [
            ("processed", MetricKind::Sent),
            ("delivered", MetricKind::Delivered),
            ("deferred", MetricKind::Deferred),
            ("bounce", MetricKind::Bounced),
            ("dropped", MetricKind::Dropped),
            ("open", MetricKind::Opened),
            ("click", MetricKind::Clicked),
            ("spamreport", MetricKind::SpamReports),
            ("unsubscribe", MetricKind::Unsubscribed),
            ("group_unsubscribe", MetricKind::Unsubscribed),
        ];
        let events: Vec<Value> = cases
            .iter()
            .enumerate()
            .map(|(i, (name, _))| event(json!({"event": name, "sg_event_id": format!("e{i}")})))
            .collect();
        let batch = parse_events(&events);
        let kinds: Vec<MetricKind> = batch.events.iter().map(|e| e.kind).collect();
        let expected: Vec<MetricKind> = cases.iter().map(|(_, k)| *k).collect();
        assert_eq!(kinds, expected);
        assert!(
            batch
                .events
                .iter()
                .all(|e| e.amount == 1 && e.occurred_at == 1_700_000_123)
        );
    }

    #[test]
    fn attributes_from_custom_args_then_categories() {
        let batch = parse_events(&[
            event(
                json!({"sg_event_id": "a", "campaign_id": "cmp-1", "channel": "email", "content_id": "ct-9"}),
            ),
            event(
                json!({"sg_event_id": "b", "category": ["newsletter", "campaign:cmp-2", "content:ct-2"]}),
            ),
            event(json!({"sg_event_id": "c", "category": "campaign:cmp-3"})),
            event(json!({"sg_event_id": "d", "custom_args": {"campaign_id": "cmp-4"}})),
            event(
                json!({"sg_event_id": "e", "campaign_id": "cmp-5", "category": "campaign:other"}),
            ),
            event(json!({"sg_event_id": "f"})),
        ]);
        let campaigns: Vec<Option<&str>> = batch
            .events
            .iter()
            .map(|e| e.campaign_id.as_deref())
            .collect();
        assert_eq!(
            campaigns,
            [
                Some("cmp-1"),
                Some("cmp-2"),
                Some("cmp-3"),
                Some("cmp-4"),
                Some("cmp-5"),
                None
            ]
        );
        assert_eq!(batch.events[0].channel.as_deref(), Some("email"));
        assert_eq!(batch.events[0].content_id.as_deref(), Some("ct-9"));
        assert_eq!(batch.events[1].content_id.as_deref(), Some("ct-2"));
        assert_eq!(batch.unattributed_count(), 1);
    }

    #[test]
    fn dedupes_within_the_batch_on_sg_event_id() {
        let batch = parse_events(&[
            event(json!({"sg_event_id": "same"})),
            event(json!({"sg_event_id": "same", "event": "open"})),
            event(json!({"sg_event_id": "other"})),
        ]);
        assert_eq!(batch.events.len(), 2);
        assert_eq!(batch.duplicates_in_batch, 1);
        assert_eq!(batch.events[0].dedupe_id, "same");
        assert_eq!(batch.events[0].kind, MetricKind::Delivered);
    }

    #[test]
    fn falls_back_to_message_id_when_the_event_id_is_missing() {
        let mut without_id = event(json!({"event": "open"}));
        without_id.as_object_mut().unwrap().remove("sg_event_id");
        let batch = parse_events(&[without_id]);
        assert_eq!(batch.events[0].dedupe_id, "msg-1.filter:open:1700000123");
    }

    #[test]
    fn unknown_kinds_are_counted_and_bad_elements_rejected() {
        let mut no_ids = event(json!({}));
        no_ids.as_object_mut().unwrap().remove("sg_event_id");
        no_ids.as_object_mut().unwrap().remove("sg_message_id");
        let batch = parse_events(&[
            event(json!({"sg_event_id": "u", "event": "group_resubscribe"})),
            json!("not an object"),
            event(json!({"sg_event_id": "t", "timestamp": "yesterday"})),
            event(json!({"sg_event_id": "n", "event": null})),
            no_ids,
            event(json!({"sg_event_id": "ok"})),
        ]);
        assert_eq!(batch.unknown_count(), 1);
        assert_eq!(batch.unknown[0].kind, "group_resubscribe");
        assert_eq!(batch.unknown[0].dedupe_id.as_deref(), Some("u"));
        let rejected: Vec<usize> = batch.rejected.iter().map(|r| r.index).collect();
        assert_eq!(rejected, [1, 2, 3, 4]);
        assert_eq!(batch.events.len(), 1);
    }

    #[test]
    fn a_body_that_is_not_a_json_array_is_malformed() {
        assert!(matches!(
            parse(b"{\"event\":"),
            Err(PayloadError::InvalidJson(_))
        ));
        assert_eq!(parse(b"{}"), Err(PayloadError::NotAnArray));
        assert_eq!(parse(b"[]").unwrap().events.len(), 0);
    }
}
