//! HubSpot webhooks: v3 request signatures and event parsing.
//!
//! **Signature** (HubSpot, "Validating requests", v3):
//! `X-HubSpot-Signature-v3` = base64(HMAC-SHA256(client secret,
//! method + uri + body + timestamp)), where `timestamp` is the
//! `X-HubSpot-Request-Timestamp` header verbatim (unix **milliseconds**) and `uri`
//! is the full URL HubSpot called (we use `public_base_url` + path + query) with
//! the percent-encodings `%3A : %2F / %3F ? %40 @ %21 ! %24 $ %27 ' %28 ( %29 )
//! %2A * %2C , %3B ;` decoded (HubSpot's table; every other escape stays as sent).
//! Requests whose timestamp is more than 5 minutes (300 000 ms) from `now` are
//! rejected ([`WINDOW`]) — HubSpot says "older than"; we also refuse the same
//! distance into the future. Each event's `occurredAt` must also lie within
//! [`EVENT_WINDOW`] (the dedupe retention minus a margin, see
//! [`replay`](super::replay)), or the event is listed as rejected: a replay of a
//! retry, signed long after the event was first received, cannot outlive the
//! event's dedupe record. Several client secrets (space separated) may be
//! configured.
//! The legacy v1/v2 `X-HubSpot-Signature` headers are ignored.
//!
//! **Events**: a JSON array of `{eventId, subscriptionId, portalId, occurredAt (ms),
//! subscriptionType, objectId, propertyName?, propertyValue?, properties?…}`.
//! HubSpot's webhooks report CRM changes, not per-message email events, so the
//! mapping reads engagement from contact properties HubSpot maintains:
//!
//! | subscriptionType | condition | counter |
//! |---|---|---|
//! | `contact.creation` | — | conversions (a new lead) |
//! | `contact.propertyChange` | `propertyName` = `hs_email_last_send_date` | sent |
//! | | `hs_email_delivered` | delivered |
//! | | `hs_email_open` | opened |
//! | | `hs_email_click` | clicked |
//! | | `hs_email_bounce` | bounced |
//! | | `hs_email_optout` with `propertyValue` `true` | unsubscribed |
//! | `deal.propertyChange` | `dealstage` becomes `closedwon` | conversions |
//!
//! `object.creation`/`object.propertyChange` with `objectTypeId` `0-1` (contacts)
//! and `0-3` (deals) read as the `contact.*`/`deal.*` rows. Anything else is
//! unknown, named `<subscriptionType>` or `<subscriptionType>:<propertyName>`.
//! Dedupe id: `<portalId>:<subscriptionId>:<eventId>` — HubSpot documents that
//! `eventId` alone is not guaranteed unique; a retry keeps all three.
//! Attribution: HubSpot events carry none of their own; when the event has a
//! `properties` object (workflow "send a webhook" actions, or a source that
//! enriches events), its `opsflow_campaign_id`/`campaign_id`/`utm_campaign`,
//! `opsflow_channel`/`channel`/`utm_medium` and
//! `opsflow_content_id`/`content_id`/`utm_content` are used (first present
//! wins; a value may be a string or HubSpot's `{"value": …}` form). Events
//! without them are unattributed, kept for inspection.

use std::borrow::Cow;

use serde_json::Value;

use super::event::{
    Attribution, BatchBuilder, MAX_UNIX_SECONDS, MetricKind, ParsedBatch, PayloadError, Platform,
    attribution_value, dedupe_id, id_text, json_array,
};
use super::replay::{EventTimeBound, ReplayWindow};
use super::verify::{
    InboundRequest, VerifyError, any_matches, b64_decode, b64_encode, config_entries, hmac_sha256,
    parse_unsigned,
};

/// The header carrying the v3 signature.
pub const SIGNATURE_HEADER: &str = "X-HubSpot-Signature-v3";
/// The header carrying the request time, unix milliseconds.
pub const TIMESTAMP_HEADER: &str = "X-HubSpot-Request-Timestamp";
/// The span the signed request time must fall in (HubSpot's five minutes).
pub const WINDOW: ReplayWindow = ReplayWindow::FIVE_MINUTES;
/// The span each event's `occurredAt` must fall in.
pub const EVENT_WINDOW: ReplayWindow = ReplayWindow::DEDUPE;

/// HubSpot app client secret(s), from `hubspot_client_secret`.
#[derive(Clone)]
pub struct ClientSecrets(Vec<String>);

impl std::fmt::Debug for ClientSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ClientSecrets({} redacted)", self.0.len())
    }
}

impl ClientSecrets {
    /// Secrets from the variable's value, space separated; unset or blank is `Unconfigured`.
    pub fn parse(raw: Option<&str>) -> Result<Self, VerifyError> {
        let secrets = config_entries(raw)?;
        Ok(Self(secrets.into_iter().map(str::to_owned).collect()))
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

/// `url` as HubSpot signs it: the escapes of HubSpot's table decoded, others kept.
pub fn signed_uri(url: &str) -> Cow<'_, str> {
    if !url.contains('%') {
        return Cow::Borrowed(url);
    }
    let bytes = url.as_bytes();
    let mut out = String::with_capacity(url.len());
    let mut rest = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(decoded) = bytes.get(i + 1..i + 3).and_then(decode_listed)
        {
            out.push_str(&url[rest..i]);
            out.push(decoded);
            i += 3;
            rest = i;
            continue;
        }
        i += 1;
    }
    out.push_str(&url[rest..]);
    Cow::Owned(out)
}

/// The character a two-hex-digit escape stands for, when it is in HubSpot's table.
fn decode_listed(hex: &[u8]) -> Option<char> {
    let text = std::str::from_utf8(hex).ok()?;
    let byte = u8::from_str_radix(text, 16).ok()?;
    let c = char::from(byte);
    matches!(
        c,
        ':' | '/' | '?' | '@' | '!' | '$' | '\'' | '(' | ')' | '*' | ',' | ';'
    )
    .then_some(c)
}

fn mac(secret: &str, method: &str, uri: &str, body: &[u8], timestamp: &str) -> [u8; 32] {
    hmac_sha256(
        secret.as_bytes(),
        &[
            method.as_bytes(),
            uri.as_bytes(),
            body,
            timestamp.as_bytes(),
        ],
    )
}

/// The `X-HubSpot-Signature-v3` HubSpot sends for a request (`timestamp` in ms, as sent).
pub fn signature(secret: &str, method: &str, url: &str, body: &[u8], timestamp: &str) -> String {
    b64_encode(&mac(secret, method, &signed_uri(url), body, timestamp))
}

/// Verify a HubSpot v3-signed request (`now` in unix seconds).
pub fn verify(
    secrets: &ClientSecrets,
    request: &InboundRequest<'_>,
    now: i64,
) -> Result<(), VerifyError> {
    let sent = request.required_header(SIGNATURE_HEADER)?;
    let timestamp = request.required_header(TIMESTAMP_HEADER)?;
    let sent = b64_decode(sent).ok_or(VerifyError::Malformed(SIGNATURE_HEADER))?;
    let ts_ms = parse_unsigned(timestamp, TIMESTAMP_HEADER)?;
    WINDOW.check_millis(ts_ms, now)?;
    let uri = signed_uri(request.url);
    let expected: Vec<[u8; 32]> = secrets
        .0
        .iter()
        .map(|s| mac(s, request.method, &uri, request.body, timestamp))
        .collect();
    if any_matches(&sent, expected.iter().map(|m| m.as_slice())) {
        Ok(())
    } else {
        Err(VerifyError::BadSignature)
    }
}

/// Parse a HubSpot webhook body (a JSON array of events), every event time
/// admitted.
pub fn parse(body: &[u8]) -> Result<ParsedBatch, PayloadError> {
    parse_within(body, None)
}

/// [`parse`], rejecting the events whose `occurredAt` lies outside `bound`.
pub fn parse_within(
    body: &[u8],
    bound: Option<EventTimeBound>,
) -> Result<ParsedBatch, PayloadError> {
    let mut batch = BatchBuilder::new(Platform::Hubspot).bounded(bound);
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
    let event_id = id_text(element.get("eventId")).ok_or("`eventId` is missing")?;
    let subscription = element
        .get("subscriptionType")
        .or_else(|| element.get("eventType"))
        .and_then(Value::as_str)
        .ok_or("`subscriptionType` is missing or not a string")?;
    let occurred_ms = element
        .get("occurredAt")
        .and_then(Value::as_i64)
        .ok_or("`occurredAt` is missing or not an integer")?;
    let occurred_at = occurred_ms.div_euclid(1000);
    if !(0..=MAX_UNIX_SECONDS).contains(&occurred_at) {
        return Err("`occurredAt` is out of range".into());
    }
    batch.check_time(occurred_at)?;
    let portal = id_text(element.get("portalId")).unwrap_or_else(|| "-".to_owned());
    let subscription_id = id_text(element.get("subscriptionId")).unwrap_or_else(|| "-".to_owned());
    let id = dedupe_id(&format!("{portal}:{subscription_id}:{event_id}"));

    let property = element.get("propertyName").and_then(Value::as_str);
    let value = element.get("propertyValue");
    let Some(kind) = kind_of(subscription, object_type(element), property, value) else {
        let name = match property {
            Some(p) => format!("{subscription}:{p}"),
            None => subscription.to_owned(),
        };
        batch.unknown(Some(id), name);
        return Ok(());
    };
    let mut attribution = Attribution::default();
    if let Some(Value::Object(properties)) = element.get("properties") {
        let pick = |names: [&str; 3]| {
            names
                .iter()
                .filter_map(|n| properties.get(*n))
                .find_map(property_value)
        };
        attribution.campaign_id = pick(["opsflow_campaign_id", "campaign_id", "utm_campaign"]);
        attribution.channel = pick(["opsflow_channel", "channel", "utm_medium"]);
        attribution.content_id = pick(["opsflow_content_id", "content_id", "utm_content"]);
    }
    batch.event(attribution.into_event(Platform::Hubspot, id, kind, occurred_at));
    Ok(())
}

/// A property value: plain, or HubSpot's `{"value": …}` form.
fn property_value(value: &Value) -> Option<String> {
    match value {
        Value::Object(map) => map.get("value").and_then(attribution_value),
        other => attribution_value(other),
    }
}

/// The CRM object an event is about: `contact`, `deal`, … from the subscription
/// type, or from `objectTypeId` for the generic `object.*` subscriptions.
fn object_type(element: &Value) -> Option<&'static str> {
    match element.get("objectTypeId").and_then(Value::as_str)? {
        "0-1" => Some("contact"),
        "0-3" => Some("deal"),
        _ => None,
    }
}

/// The counter a HubSpot event increments, if any (see the module table).
/// `object_type` names the object of a generic `object.*` subscription.
pub fn kind_of(
    subscription: &str,
    object_type: Option<&str>,
    property: Option<&str>,
    value: Option<&Value>,
) -> Option<MetricKind> {
    let (object, change) = subscription.split_once('.')?;
    let object = match object {
        "object" => object_type?,
        other => other,
    };
    let value_is = |expected: &str| {
        value
            .and_then(|v| match v {
                Value::String(s) => Some(s.trim().eq_ignore_ascii_case(expected)),
                Value::Bool(b) => Some(b.to_string() == expected),
                _ => None,
            })
            .unwrap_or(false)
    };
    Some(match (object, change, property) {
        ("contact", "creation", _) => MetricKind::Conversions,
        ("contact", "propertyChange", Some("hs_email_last_send_date")) => MetricKind::Sent,
        ("contact", "propertyChange", Some("hs_email_delivered")) => MetricKind::Delivered,
        ("contact", "propertyChange", Some("hs_email_open")) => MetricKind::Opened,
        ("contact", "propertyChange", Some("hs_email_click")) => MetricKind::Clicked,
        ("contact", "propertyChange", Some("hs_email_bounce")) => MetricKind::Bounced,
        ("contact", "propertyChange", Some("hs_email_optout")) if value_is("true") => {
            MetricKind::Unsubscribed
        }
        ("deal", "propertyChange", Some("dealstage")) if value_is("closedwon") => {
            MetricKind::Conversions
        }
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

    const SECRET: &str = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy";
    const URL: &str = "https://ops.example.com/webhooks/hubspot";
    const NOW: i64 = 1_700_000_000;
    const BODY: &[u8] = br#"[{"eventId":1,"subscriptionId":2,"portalId":3,"occurredAt":1700000000000,"subscriptionType":"contact.creation","objectId":4}]"#;

    /// The signature computed by hand, from HubSpot's description.
    fn independent(secret: &str, source: &[u8]) -> String {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(source);
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    }

    fn check(
        secrets: &str,
        url: &str,
        signature: &str,
        timestamp: &str,
        body: &[u8],
        now: i64,
    ) -> Result<(), VerifyError> {
        let secrets = ClientSecrets::parse(Some(secrets))?;
        let headers = vec![(SIGNATURE_HEADER, signature), (TIMESTAMP_HEADER, timestamp)];
        let request = InboundRequest {
            method: "POST",
            url,
            headers: &headers,
            body,
        };
        verify(&secrets, &request, now)
    }

    fn now_ms() -> String {
        (NOW * 1000).to_string()
    }

    #[test]
    fn verifies_an_independently_computed_signature() {
        let ts = now_ms();
        let mut source = format!("POST{URL}").into_bytes();
        source.extend_from_slice(BODY);
        source.extend_from_slice(ts.as_bytes());
        let expected = independent(SECRET, &source);
        assert_eq!(signature(SECRET, "POST", URL, BODY, &ts), expected);
        assert_eq!(check(SECRET, URL, &expected, &ts, BODY, NOW), Ok(()));
    }

    #[test]
    fn matches_hubspots_published_sdk_vector() {
        // hubspot-api-python tests/spec/utils/test_signature.py, v3 case.
        let body = b"{'example_field':'example_value'}";
        let url = "https://www.example.com/webhook_uri";
        assert_eq!(
            signature(SECRET, "POST", url, body, "15000000"),
            "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw="
        );
        // hubspot-api-ruby spec/helpers/signature_spec.rb, v3 case.
        assert_eq!(
            signature(SECRET, "POST", url, body, "1700000300000"),
            "RnbPH7+UMKVkbV32P8bz450N4M56aPmcru1+D3kSDtw="
        );
        assert_eq!(
            check(
                SECRET,
                url,
                "RnbPH7+UMKVkbV32P8bz450N4M56aPmcru1+D3kSDtw=",
                "1700000300000",
                body,
                1_700_000_301
            ),
            Ok(())
        );
    }

    #[test]
    fn decodes_only_the_listed_escapes() {
        assert_eq!(
            signed_uri("https://h/p%3Aa%2fb?x=%28y%29%20z%26w%3d%40%21%24%27%2A%2C%3B%3F"),
            "https://h/p:a/b?x=(y)%20z%26w%3d@!$'*,;?"
        );
        assert_eq!(signed_uri("https://h/p%"), "https://h/p%");
        assert_eq!(signed_uri("https://h/p%3"), "https://h/p%3");
        assert_eq!(signed_uri("https://h/p%zz%3A"), "https://h/p%zz:");
        assert!(matches!(signed_uri(URL), Cow::Borrowed(_)));
        let ts = now_ms();
        let url = "https://ops.example.com/webhooks/hubspot?src=hs%3Aapp";
        let mut source = b"POSThttps://ops.example.com/webhooks/hubspot?src=hs:app".to_vec();
        source.extend_from_slice(BODY);
        source.extend_from_slice(ts.as_bytes());
        assert_eq!(
            check(SECRET, url, &independent(SECRET, &source), &ts, BODY, NOW),
            Ok(())
        );
    }

    #[test]
    fn wrong_secret_url_method_or_body_fails() {
        let ts = now_ms();
        let good = signature(SECRET, "POST", URL, BODY, &ts);
        assert_eq!(
            check("other", URL, &good, &ts, BODY, NOW),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            check(
                SECRET,
                "http://ops.example.com/webhooks/hubspot",
                &good,
                &ts,
                BODY,
                NOW
            ),
            Err(VerifyError::BadSignature)
        );
        let mut tampered = BODY.to_vec();
        tampered[5] ^= 0x20;
        assert_eq!(
            check(SECRET, URL, &good, &ts, &tampered, NOW),
            Err(VerifyError::BadSignature)
        );
        let secrets = ClientSecrets::parse(Some(SECRET)).unwrap();
        let headers = vec![
            (SIGNATURE_HEADER, good.as_str()),
            (TIMESTAMP_HEADER, ts.as_str()),
        ];
        let get = InboundRequest {
            method: "GET",
            url: URL,
            headers: &headers,
            body: BODY,
        };
        assert_eq!(verify(&secrets, &get, NOW), Err(VerifyError::BadSignature));
    }

    #[test]
    fn timestamps_beyond_five_minutes_are_stale() {
        for (offset_ms, ok) in [
            (-300_000, true),
            (-301_000, false),
            (300_000, true),
            (301_000, false),
        ] {
            let ts = (NOW * 1000 + offset_ms).to_string();
            let sig = signature(SECRET, "POST", URL, BODY, &ts);
            let result = check(SECRET, URL, &sig, &ts, BODY, NOW);
            assert_eq!(result.is_ok(), ok, "offset {offset_ms}: {result:?}");
            if !ok {
                assert!(result.is_err_and(|e| e.is_outside_window()));
            }
        }
        // Seconds where milliseconds are expected read as 1970: stale, not accepted.
        let ts = NOW.to_string();
        let sig = signature(SECRET, "POST", URL, BODY, &ts);
        assert!(matches!(
            check(SECRET, URL, &sig, &ts, BODY, NOW),
            Err(VerifyError::TooOld { .. })
        ));
    }

    #[test]
    fn events_outside_the_dedupe_window_are_rejected() {
        use crate::webhooks::replay::REPLAY_WINDOW_SECS;
        let bound = EventTimeBound {
            now: NOW,
            window: EVENT_WINDOW,
        };
        let event = |id: u64, at_ms: i64| {
            serde_json::json!({"eventId": id, "subscriptionId": 1, "portalId": 2, "occurredAt": at_ms,
                   "subscriptionType": "contact.creation", "objectId": 3})
        };
        let body = serde_json::to_vec(&[
            event(1, NOW * 1000),
            event(2, (NOW - REPLAY_WINDOW_SECS - 1) * 1000),
        ])
        .unwrap();
        let batch = parse_within(&body, Some(bound)).unwrap();
        assert_eq!(batch.events.len(), 1);
        assert_eq!(batch.rejected.len(), 1);
        assert_eq!(batch.rejected[0].index, 1);
        assert_eq!(parse(&body).unwrap().events.len(), 2);
    }

    #[test]
    fn any_rotated_secret_may_match() {
        let ts = now_ms();
        let sig = signature("new-secret", "POST", URL, BODY, &ts);
        assert_eq!(
            check(&format!("{SECRET} new-secret"), URL, &sig, &ts, BODY, NOW),
            Ok(())
        );
    }

    #[test]
    fn missing_and_malformed_headers_are_named() {
        let secrets = ClientSecrets::parse(Some(SECRET)).unwrap();
        let ts = now_ms();
        let only_ts = vec![(TIMESTAMP_HEADER, ts.as_str())];
        let request = InboundRequest {
            method: "POST",
            url: URL,
            headers: &only_ts,
            body: BODY,
        };
        assert_eq!(
            verify(&secrets, &request, NOW),
            Err(VerifyError::MissingHeader(SIGNATURE_HEADER))
        );
        let sig = signature(SECRET, "POST", URL, BODY, &ts);
        let only_sig = vec![(SIGNATURE_HEADER, sig.as_str())];
        let request = InboundRequest {
            method: "POST",
            url: URL,
            headers: &only_sig,
            body: BODY,
        };
        assert_eq!(
            verify(&secrets, &request, NOW),
            Err(VerifyError::MissingHeader(TIMESTAMP_HEADER))
        );
        assert_eq!(
            check(SECRET, URL, &sig, "17e11", BODY, NOW),
            Err(VerifyError::Malformed(TIMESTAMP_HEADER))
        );
        assert_eq!(
            check(SECRET, URL, "***", &ts, BODY, NOW),
            Err(VerifyError::Malformed(SIGNATURE_HEADER))
        );
    }

    proptest! {
        #[test]
        fn any_body_mutation_fails(index in any::<prop::sample::Index>(), flip in 1u8..=255) {
            let ts = now_ms();
            let sig = signature(SECRET, "POST", URL, BODY, &ts);
            let mut body = BODY.to_vec();
            let at = index.index(body.len());
            body[at] ^= flip;
            prop_assert_eq!(check(SECRET, URL, &sig, &ts, &body, NOW), Err(VerifyError::BadSignature));
        }
    }

    fn event(subscription: &str, id: i64, extra: Value) -> Value {
        let mut e = json!({
            "eventId": id, "subscriptionId": 77, "portalId": 62515, "appId": 1,
            "occurredAt": 1_700_000_123_456i64, "subscriptionType": subscription,
            "attemptNumber": 0, "objectId": 123, "changeSource": "CRM",
        });
        if let (Value::Object(e), Value::Object(extra)) = (&mut e, extra) {
            e.extend(extra);
        }
        e
    }

    fn parse_events(events: Vec<Value>) -> ParsedBatch {
        parse(&serde_json::to_vec(&Value::Array(events)).unwrap()).unwrap()
    }

    #[test]
    fn maps_the_documented_subscriptions() {
        let change = |id, name: &str, value: Value| {
            event(
                "contact.propertyChange",
                id,
                json!({"propertyName": name, "propertyValue": value}),
            )
        };
        let batch = parse_events(vec![
            event("contact.creation", 1, json!({})),
            change(2, "hs_email_last_send_date", json!("1700000000000")),
            change(3, "hs_email_delivered", json!("4")),
            change(4, "hs_email_open", json!("2")),
            change(5, "hs_email_click", json!("1")),
            change(6, "hs_email_bounce", json!("1")),
            change(7, "hs_email_optout", json!("true")),
            event(
                "deal.propertyChange",
                8,
                json!({"propertyName": "dealstage", "propertyValue": "closedwon"}),
            ),
            event("object.creation", 9, json!({"objectTypeId": "0-1"})),
            change(10, "hs_email_optout", json!("false")),
            change(11, "firstname", json!("Ada")),
            event(
                "deal.propertyChange",
                12,
                json!({"propertyName": "dealstage", "propertyValue": "appointmentscheduled"}),
            ),
            event("company.creation", 13, json!({})),
            event("object.creation", 14, json!({"objectTypeId": "2-123"})),
        ]);
        let kinds: Vec<MetricKind> = batch.events.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [
                MetricKind::Conversions,
                MetricKind::Sent,
                MetricKind::Delivered,
                MetricKind::Opened,
                MetricKind::Clicked,
                MetricKind::Bounced,
                MetricKind::Unsubscribed,
                MetricKind::Conversions,
                MetricKind::Conversions,
            ]
        );
        let unknown: Vec<&str> = batch.unknown.iter().map(|u| u.kind.as_str()).collect();
        assert_eq!(
            unknown,
            [
                "contact.propertyChange:hs_email_optout",
                "contact.propertyChange:firstname",
                "deal.propertyChange:dealstage",
                "company.creation",
                "object.creation",
            ]
        );
        assert_eq!(batch.events[0].dedupe_id, "62515:77:1");
        assert_eq!(batch.events[0].occurred_at, 1_700_000_123);
    }

    #[test]
    fn attributes_from_properties_when_present() {
        let batch = parse_events(vec![
            event(
                "contact.creation",
                1,
                json!({"properties": {
                "opsflow_campaign_id": {"value": "c1"}, "utm_campaign": "ignored",
                "utm_medium": "email", "content_id": 9}}),
            ),
            event(
                "contact.creation",
                2,
                json!({"properties": {"utm_campaign": "spring"}}),
            ),
            event("contact.creation", 3, json!({})),
        ]);
        let e = &batch.events;
        assert_eq!(e[0].campaign_id.as_deref(), Some("c1"));
        assert_eq!(e[0].channel.as_deref(), Some("email"));
        assert_eq!(e[0].content_id.as_deref(), Some("9"));
        assert_eq!(e[1].campaign_id.as_deref(), Some("spring"));
        assert_eq!(batch.unattributed_count(), 1);
    }

    #[test]
    fn retries_and_bad_elements() {
        let retry = {
            let mut e = event("contact.creation", 1, json!({}));
            e["attemptNumber"] = json!(1);
            e
        };
        let batch = parse_events(vec![
            event("contact.creation", 1, json!({})),
            retry,
            event("contact.creation", 1, json!({"subscriptionId": 78})),
            json!({"subscriptionType": "contact.creation", "occurredAt": 1}),
            json!({"eventId": 5, "occurredAt": 1}),
            json!({"eventId": 6, "subscriptionType": "contact.creation", "occurredAt": "today"}),
            json!({"eventId": 7, "subscriptionType": "contact.creation", "occurredAt": -5}),
            json!(null),
        ]);
        assert_eq!(batch.events.len(), 2);
        assert_eq!(batch.duplicates_in_batch, 1);
        assert_eq!(
            batch.rejected.iter().map(|r| r.index).collect::<Vec<_>>(),
            [3, 4, 5, 6, 7]
        );
        assert!(matches!(parse(b"{}"), Err(PayloadError::NotAnArray)));
    }
}
