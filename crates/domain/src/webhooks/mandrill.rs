//! Mailchimp Transactional (Mandrill) webhooks: signature verification and event parsing.
//!
//! **Signature** (Mandrill, "How to Authenticate Webhook Requests"):
//! `X-Mandrill-Signature` = base64(HMAC-SHA1(webhook key, url + k1 + v1 + k2 + v2 …)),
//! where `url` is the webhook URL exactly as configured in Mandrill (we use
//! `public_base_url` + path + query) and the POST variables are sorted by key
//! and appended, decoded, with no delimiter. Several keys (space separated) may
//! be configured; any match passes. A request without `X-Mandrill-Signature`
//! but with `X-Mailchimp-Signature` is checked against the latter (same scheme,
//! newer name).
//!
//! **Replays**: Mandrill signs no timestamp, so a captured request verifies
//! forever. What bounds a replay is each event's `ts`, which the signature
//! covers with the rest of the body: an event whose `ts` lies outside
//! [`WINDOW`] (the dedupe retention minus a margin, see
//! [`replay`](super::replay)) is listed as rejected and not counted. An event is
//! first received after it happens, so its dedupe record outlives every replay
//! admitted this way; a replayed batch older than the window counts nothing.
//! Mandrill sends events as they happen and retries a failed batch for much less
//! than the window, so genuine deliveries are not affected.
//!
//! **Events**: the body is `application/x-www-form-urlencoded` with a field
//! `mandrill_events` holding a JSON array. `send`→sent, `deferral`→deferred,
//! `hard_bounce`/`soft_bounce`→bounced, `open`→opened, `click`→clicked,
//! `spam`→spam_reports, `unsub`→unsubscribed, `reject`→dropped; anything else
//! (and sync events, which have `type` instead of `event`) is unknown.
//! Dedupe id: `<_id>:<event>:<ts>` (`_id` is the message's id, shared by all its
//! events; the message's `msg._id` when the top-level one is absent).
//! Attribution: `msg.metadata` fields `campaign_id`, `channel`, `content_id`,
//! else `msg.tags` `campaign:<id>`, `channel:<name>`, `content:<id>`.

use std::borrow::Cow;

use serde_json::Value;

use super::event::{
    Attribution, BatchBuilder, MetricKind, ParsedBatch, PayloadError, Platform, dedupe_id, id_text,
    unix_seconds,
};
use super::replay::{EventTimeBound, ReplayWindow};
use super::verify::{
    InboundRequest, VerifyError, any_matches, b64_decode, b64_encode, config_entries, hmac_sha1,
};

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "X-Mandrill-Signature";
/// The same signature under Mailchimp's newer header name.
pub const ALT_SIGNATURE_HEADER: &str = "X-Mailchimp-Signature";
/// The form field holding the JSON array of events.
pub const EVENTS_FIELD: &str = "mandrill_events";
/// The span each event's `ts` must fall in (Mandrill signs no request time).
pub const WINDOW: ReplayWindow = ReplayWindow::DEDUPE;

/// Mandrill webhook authentication key(s), from `mandrill_webhook_key`.
#[derive(Clone)]
pub struct WebhookKeys(Vec<String>);

impl std::fmt::Debug for WebhookKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WebhookKeys({} redacted)", self.0.len())
    }
}

impl WebhookKeys {
    /// Keys from the variable's value, space separated; unset or blank is `Unconfigured`.
    pub fn parse(raw: Option<&str>) -> Result<Self, VerifyError> {
        let keys = config_entries(raw)?;
        Ok(Self(keys.into_iter().map(str::to_owned).collect()))
    }

    /// How many keys are configured.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Never true for parsed keys: an empty variable is `Unconfigured`.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The POST variables of a form body, sorted by key (stable for repeated keys).
fn sorted_params(body: &[u8]) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
    let mut params: Vec<_> = form_urlencoded::parse(body).collect();
    params.sort_by(|(a, _), (b, _)| a.as_bytes().cmp(b.as_bytes()));
    params
}

fn mac(key: &str, url: &str, params: &[(Cow<'_, str>, Cow<'_, str>)]) -> [u8; 20] {
    let mut parts: Vec<&[u8]> = Vec::with_capacity(1 + 2 * params.len());
    parts.push(url.as_bytes());
    for (k, v) in params {
        parts.push(k.as_bytes());
        parts.push(v.as_bytes());
    }
    hmac_sha1(key.as_bytes(), &parts)
}

/// The `X-Mandrill-Signature` Mandrill sends for a form `body` posted to `url`.
pub fn signature(key: &str, url: &str, body: &[u8]) -> String {
    b64_encode(&mac(key, url, &sorted_params(body)))
}

/// Verify a Mandrill webhook request; `request.url` is the configured webhook URL.
pub fn verify(keys: &WebhookKeys, request: &InboundRequest<'_>) -> Result<(), VerifyError> {
    let header = if request.headers.header(SIGNATURE_HEADER).is_none()
        && request.headers.header(ALT_SIGNATURE_HEADER).is_some()
    {
        ALT_SIGNATURE_HEADER
    } else {
        SIGNATURE_HEADER
    };
    let sent = request.required_header(header)?;
    let sent = b64_decode(sent).ok_or(VerifyError::Malformed(header))?;
    let params = sorted_params(request.body);
    let expected: Vec<[u8; 20]> = keys
        .0
        .iter()
        .map(|k| mac(k, request.url, &params))
        .collect();
    if any_matches(&sent, expected.iter().map(|m| m.as_slice())) {
        Ok(())
    } else {
        Err(VerifyError::BadSignature)
    }
}

/// Parse a Mandrill webhook body (form field `mandrill_events`, a JSON array),
/// every event time admitted.
pub fn parse(body: &[u8]) -> Result<ParsedBatch, PayloadError> {
    parse_within(body, None)
}

/// [`parse`], rejecting the events whose `ts` lies outside `bound`.
pub fn parse_within(
    body: &[u8],
    bound: Option<EventTimeBound>,
) -> Result<ParsedBatch, PayloadError> {
    let events = form_urlencoded::parse(body)
        .find(|(k, _)| k == EVENTS_FIELD)
        .map(|(_, v)| v)
        .ok_or(PayloadError::MissingField(EVENTS_FIELD))?;
    let elements = match serde_json::from_str::<Value>(&events) {
        Ok(Value::Array(items)) => items,
        Ok(_) => return Err(PayloadError::NotAnArray),
        Err(e) => return Err(PayloadError::InvalidJson(e.to_string())),
    };
    let mut batch = BatchBuilder::new(Platform::Mandrill).bounded(bound);
    for (index, element) in elements.iter().enumerate() {
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
    let Some(event) = element.get("event") else {
        // Sync events (allow/deny list changes) carry `type` and `action` instead.
        let kind = match element.get("type").and_then(Value::as_str) {
            Some(kind) => format!("sync:{kind}"),
            None => return Err("`event` is missing".into()),
        };
        if let Some(ts) = unix_seconds(element.get("ts")) {
            batch.check_time(ts)?;
        }
        batch.unknown(None, kind);
        return Ok(());
    };
    let event = event.as_str().ok_or("`event` is not a string")?;
    let occurred_at = unix_seconds(element.get("ts")).ok_or("`ts` is missing or invalid")?;
    batch.check_time(occurred_at)?;
    let msg = element.get("msg");
    let message_id = id_text(element.get("_id"))
        .or_else(|| id_text(msg.and_then(|m| m.get("_id"))))
        .ok_or("`_id` is missing")?;
    let id = dedupe_id(&format!("{message_id}:{event}:{occurred_at}"));
    let Some(kind) = kind_of(event) else {
        batch.unknown(Some(id), event);
        return Ok(());
    };
    let mut attribution = Attribution::default();
    attribution.fill_from_fields(msg.and_then(|m| m.get("metadata")));
    if let Some(Value::Array(tags)) = msg.and_then(|m| m.get("tags")) {
        attribution.fill_from_tags(tags.iter().filter_map(Value::as_str));
    }
    batch.event(attribution.into_event(Platform::Mandrill, id, kind, occurred_at));
    Ok(())
}

/// The counter a Mandrill event name increments, if any.
pub fn kind_of(event: &str) -> Option<MetricKind> {
    Some(match event {
        "send" => MetricKind::Sent,
        "deferral" => MetricKind::Deferred,
        "hard_bounce" | "soft_bounce" => MetricKind::Bounced,
        "open" => MetricKind::Opened,
        "click" => MetricKind::Clicked,
        "spam" => MetricKind::SpamReports,
        "unsub" => MetricKind::Unsubscribed,
        "reject" => MetricKind::Dropped,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use hmac::{Hmac, Mac};
    use proptest::prelude::*;
    use serde_json::json;

    const URL: &str = "https://ops.example.com/webhooks/mandrill?src=mc";
    const KEY: &str = "mandrill-key-one";

    fn form_body(events: &Value) -> Vec<u8> {
        form_urlencoded::Serializer::new(String::new())
            .append_pair(EVENTS_FIELD, &events.to_string())
            .finish()
            .into_bytes()
    }

    /// The signature computed by hand, straight from Mandrill's description.
    fn independent_signature(key: &str, signed: &str) -> String {
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key.as_bytes()).unwrap();
        mac.update(signed.as_bytes());
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    }

    fn check(keys: &str, url: &str, signature: &str, body: &[u8]) -> Result<(), VerifyError> {
        let keys = WebhookKeys::parse(Some(keys))?;
        let headers = vec![(SIGNATURE_HEADER, signature)];
        let request = InboundRequest {
            method: "POST",
            url,
            headers: &headers,
            body,
        };
        verify(&keys, &request)
    }

    fn sample_events() -> Value {
        json!([{"event": "open", "_id": "abc123", "ts": 1_700_000_000,
                "msg": {"_id": "abc123", "tags": ["campaign:c1"], "metadata": {"channel": "email"}}}])
    }

    #[test]
    fn signs_url_then_sorted_decoded_params() {
        let events = sample_events().to_string();
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("z_extra", "last & one")
            .append_pair(EVENTS_FIELD, &events)
            .append_pair("a_first", "1")
            .finish();
        let signed = format!("{URL}a_first1{EVENTS_FIELD}{events}z_extralast & one");
        let expected = independent_signature(KEY, &signed);
        assert_eq!(signature(KEY, URL, body.as_bytes()), expected);
        assert_eq!(check(KEY, URL, &expected, body.as_bytes()), Ok(()));
    }

    #[test]
    fn verifies_mandrills_empty_test_batch() {
        // What Mandrill posts when a webhook is added or tested: no events.
        let body = b"mandrill_events=%5B%5D";
        let expected = independent_signature(KEY, &format!("{URL}mandrill_events[]"));
        assert_eq!(check(KEY, URL, &expected, body), Ok(()));
        assert_eq!(parse(body).unwrap().events.len(), 0);
    }

    #[test]
    fn wrong_key_wrong_url_or_tampered_body_fails() {
        let body = form_body(&sample_events());
        let good = signature(KEY, URL, &body);
        assert_eq!(
            check("other-key", URL, &good, &body),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            check(
                KEY,
                "https://ops.example.com/webhooks/mandrill",
                &good,
                &body
            ),
            Err(VerifyError::BadSignature)
        );
        let tampered = form_body(&json!([{"event": "open", "_id": "abc124", "ts": 1_700_000_000}]));
        assert_eq!(
            check(KEY, URL, &good, &tampered),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn any_rotated_key_may_match() {
        let body = form_body(&sample_events());
        let keys = format!("{KEY} second-key");
        assert_eq!(
            check(&keys, URL, &signature("second-key", URL, &body), &body),
            Ok(())
        );
        assert_eq!(
            check(&keys, URL, &signature(KEY, URL, &body), &body),
            Ok(())
        );
    }

    #[test]
    fn missing_or_malformed_signature_is_named() {
        let keys = WebhookKeys::parse(Some(KEY)).unwrap();
        let body = form_body(&sample_events());
        let none: Vec<(&str, &str)> = vec![];
        let request = InboundRequest {
            method: "POST",
            url: URL,
            headers: &none,
            body: &body,
        };
        assert_eq!(
            verify(&keys, &request),
            Err(VerifyError::MissingHeader(SIGNATURE_HEADER))
        );
        assert_eq!(
            check(KEY, URL, "%%%", &body),
            Err(VerifyError::Malformed(SIGNATURE_HEADER))
        );
    }

    #[test]
    fn accepts_the_mailchimp_header_name() {
        let keys = WebhookKeys::parse(Some(KEY)).unwrap();
        let body = form_body(&sample_events());
        let sig = signature(KEY, URL, &body);
        let headers = vec![(ALT_SIGNATURE_HEADER, sig.as_str())];
        let request = InboundRequest {
            method: "POST",
            url: URL,
            headers: &headers,
            body: &body,
        };
        assert_eq!(verify(&keys, &request), Ok(()));
    }

    #[test]
    fn blank_configuration_is_unconfigured() {
        assert_eq!(
            WebhookKeys::parse(Some("")).unwrap_err(),
            VerifyError::Unconfigured
        );
        assert_eq!(WebhookKeys::parse(Some("a b")).unwrap().len(), 2);
    }

    proptest! {
        #[test]
        fn any_body_mutation_fails(index in any::<prop::sample::Index>(), flip in 1u8..=255) {
            let body = form_body(&sample_events());
            let good = signature(KEY, URL, &body);
            let mut mutated = body.clone();
            let at = index.index(mutated.len());
            mutated[at] ^= flip;
            // A mutation that decodes to the same form (e.g. `%5b` for `%5B`) signs
            // the same content: that is the scheme, not a forgery.
            prop_assume!(sorted_params(&mutated) != sorted_params(&body));
            prop_assert_eq!(check(KEY, URL, &good, &mutated), Err(VerifyError::BadSignature));
        }
    }

    fn event(name: &str, id: &str, msg: Value) -> Value {
        json!({"event": name, "_id": id, "ts": 1_700_000_000, "msg": msg})
    }

    #[test]
    fn maps_every_documented_event_name() {
        let cases = [
            ("send", MetricKind::Sent),
            ("deferral", MetricKind::Deferred),
            ("hard_bounce", MetricKind::Bounced),
            ("soft_bounce", MetricKind::Bounced),
            ("open", MetricKind::Opened),
            ("click", MetricKind::Clicked),
            ("spam", MetricKind::SpamReports),
            ("unsub", MetricKind::Unsubscribed),
            ("reject", MetricKind::Dropped),
        ];
        let events: Vec<Value> = cases
            .iter()
            .map(|(n, _)| event(n, "m1", json!({})))
            .collect();
        let batch = parse(&form_body(&Value::Array(events))).unwrap();
        let kinds: Vec<MetricKind> = batch.events.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, cases.iter().map(|(_, k)| *k).collect::<Vec<_>>());
        assert_eq!(batch.events[0].dedupe_id, "m1:send:1700000000");
        assert_eq!(batch.duplicates_in_batch, 0);
    }

    #[test]
    fn attributes_from_metadata_then_tags() {
        let batch = parse(&form_body(&json!([
            event("open", "a", json!({"metadata": {"campaign_id": "c1", "channel": "email", "content_id": 7}})),
            event("open", "b", json!({"tags": ["welcome", "campaign:c2", "content:k2"], "metadata": {"channel": "email"}})),
            event("open", "c", json!({"tags": ["welcome"]})),
        ])))
        .unwrap();
        let campaigns: Vec<Option<&str>> = batch
            .events
            .iter()
            .map(|e| e.campaign_id.as_deref())
            .collect();
        assert_eq!(campaigns, [Some("c1"), Some("c2"), None]);
        assert_eq!(batch.events[0].content_id.as_deref(), Some("7"));
        assert_eq!(batch.events[1].content_id.as_deref(), Some("k2"));
        assert_eq!(batch.events[1].channel.as_deref(), Some("email"));
        assert_eq!(batch.unattributed_count(), 1);
    }

    #[test]
    fn same_message_event_and_time_is_one_event() {
        let batch = parse(&form_body(&json!([
            event("open", "a", json!({})),
            event("open", "a", json!({})),
            event("click", "a", json!({})),
            {"event": "open", "ts": 1_700_000_001, "msg": {"_id": "a"}},
        ])))
        .unwrap();
        assert_eq!(batch.events.len(), 3);
        assert_eq!(batch.duplicates_in_batch, 1);
        assert_eq!(batch.events[2].dedupe_id, "a:open:1700000001");
    }

    #[test]
    fn unknown_sync_and_bad_elements() {
        let batch = parse(&form_body(&json!([
            event("inbound", "i", json!({})),
            {"type": "blacklist", "action": "add", "reject": {}},
            {"event": "open", "ts": 1_700_000_000},
            {"event": "open", "_id": "x", "ts": "now"},
            42,
            event("send", "ok", json!({})),
        ])))
        .unwrap();
        let unknown: Vec<&str> = batch.unknown.iter().map(|u| u.kind.as_str()).collect();
        assert_eq!(unknown, ["inbound", "sync:blacklist"]);
        assert_eq!(
            batch.rejected.iter().map(|r| r.index).collect::<Vec<_>>(),
            [2, 3, 4]
        );
        assert_eq!(batch.events.len(), 1);
    }

    #[test]
    fn event_times_bound_a_replay_since_mandrill_signs_no_time() {
        use crate::webhooks::replay::{DEDUPE_RETENTION_SECS, REPLAY_WINDOW_SECS};
        let now = 1_700_000_000 + DEDUPE_RETENTION_SECS;
        let bound = EventTimeBound {
            now,
            window: WINDOW,
        };
        // The sample batch (events at 1_700_000_000) replayed when its dedupe
        // records may be gone: its signature still verifies, nothing is counted.
        let body = form_body(&sample_events());
        assert_eq!(check(KEY, URL, &signature(KEY, URL, &body), &body), Ok(()));
        let replayed = parse_within(&body, Some(bound)).unwrap();
        assert!(replayed.events.is_empty());
        assert_eq!(replayed.rejected.len(), 1);
        assert!(replayed.rejected[0].reason.contains("replay window"));
        // Within the window it counts; so do sync events without a `ts`.
        let fresh = form_body(&json!([
            {"event": "open", "_id": "new", "ts": now - REPLAY_WINDOW_SECS},
            {"event": "open", "_id": "late", "ts": now - REPLAY_WINDOW_SECS - 1},
            {"event": "inbound", "_id": "u", "ts": 1},
            {"type": "whitelist", "action": "add"},
        ]));
        let batch = parse_within(&fresh, Some(bound)).unwrap();
        assert_eq!(batch.events.len(), 1);
        assert_eq!(
            batch.events[0].dedupe_id,
            format!("new:open:{}", now - REPLAY_WINDOW_SECS)
        );
        assert_eq!(
            batch.rejected.iter().map(|r| r.index).collect::<Vec<_>>(),
            [1, 2]
        );
        assert_eq!(batch.unknown.len(), 1);
    }

    #[test]
    fn a_body_without_a_json_array_is_malformed() {
        assert_eq!(
            parse(b"other=1"),
            Err(PayloadError::MissingField(EVENTS_FIELD))
        );
        assert_eq!(
            parse(b"mandrill_events=%7B%7D"),
            Err(PayloadError::NotAnArray)
        );
        assert!(matches!(
            parse(b"mandrill_events=%5B"),
            Err(PayloadError::InvalidJson(_))
        ));
    }
}
