//! Standard Webhooks messages as the specification defines them: one JSON object
//! per request, `{"type": "email.opened", "timestamp": "2022-11-03T20:26:10.344522Z",
//! "data": {…}}`, deduplicated by the `webhook-id` header (the specification's
//! idempotency key, kept by every retry of a message).
//!
//! **Every validly signed message is kept** (answered 2xx, never a retry loop):
//! a known `type` is counted; any other is kept as an unknown event together
//! with the message, listed with the unattributed events of the day.
//!
//! | `type` | counter | channel, unless `data.channel` says |
//! |---|---|---|
//! | `sent`, `delivered`, `bounced`, `dropped`, `deferred`, `opened`, `clicked`, `unsubscribed`, `spam_reports`, `conversions`, `spend` (our names) | that counter | — |
//! | `<medium>.sent`, `.delivered`, `.bounced`, `.opened`, `.clicked`, `.unsubscribed` | that counter | `<medium>` (`email`, `sms`, `push`, `whatsapp`; none for `message`) |
//! | `<medium>.deferred`, `<medium>.delivery_delayed` | deferred | 〃 |
//! | `<medium>.dropped`, `<medium>.failed` | dropped | 〃 |
//! | `<medium>.complained`, `<medium>.spam_reported` | spam_reports | 〃 |
//! | `contact.created`, `lead.created` | conversions (a new lead, as HubSpot's `contact.creation`) | — |
//! | `contact.unsubscribed` | unsubscribed | — |
//! | anything else, or no `type` | kept as unknown (`untyped` when absent) | |
//!
//! Fields of a counted message are read from `data`, else from the top level
//! (the specification lets `data` be "squashed" into it):
//!
//! - `campaign_id`, `channel`, `content_id` (string or integer): attribution;
//!   a value over 128 bytes or with control characters is ignored. Without a
//!   campaign the event is counted as unattributed and kept with its message.
//! - `count` (or `amount`): how many occurrences, an integer ≥ 1, default 1;
//!   for `spend`, `amount` is required: minor currency units, negative for credits.
//! - `timestamp` (top level, when the event occurred): RFC 3339 or unix seconds;
//!   when absent, the signed `webhook-timestamp`.
//!
//! A message of a known type whose fields cannot be counted (unreadable
//! `timestamp`, a count below 1, spend without an integer `amount`) is kept as
//! the unknown event `not_counted:<type>`, with the reason.

use chrono::DateTime;
use serde_json::{Map, Value};

use crate::webhooks::event::{
    BatchBuilder, KeptMessage, MAX_UNIX_SECONDS, MetricKind, NormalizedEvent, ParsedBatch,
    Platform, attribution_value, dedupe_id, unix_seconds,
};
use crate::webhooks::replay::EventTimeBound;

/// The unknown-event name of a message without a `type`.
pub const UNTYPED: &str = "untyped";
/// The prefix of the unknown-event name of a known type that could not be counted.
pub const NOT_COUNTED_PREFIX: &str = "not_counted:";

/// The counter a message `type` increments and the channel it implies, when it
/// is a known type (the table of the module documentation).
pub fn kind_of_type(event_type: &str) -> Option<(MetricKind, Option<&'static str>)> {
    if let Some(kind) = MetricKind::parse(event_type) {
        return Some((kind, None));
    }
    match event_type {
        "contact.created" | "lead.created" => return Some((MetricKind::Conversions, None)),
        "contact.unsubscribed" => return Some((MetricKind::Unsubscribed, None)),
        _ => {}
    }
    let (medium, action) = event_type.split_once('.')?;
    let channel = match medium {
        "email" => Some("email"),
        "sms" => Some("sms"),
        "push" => Some("push"),
        "whatsapp" => Some("whatsapp"),
        "message" => None,
        _ => return None,
    };
    let kind = match action {
        "sent" => MetricKind::Sent,
        "delivered" => MetricKind::Delivered,
        "deferred" | "delivery_delayed" => MetricKind::Deferred,
        "bounced" => MetricKind::Bounced,
        "dropped" | "failed" => MetricKind::Dropped,
        "opened" => MetricKind::Opened,
        "clicked" => MetricKind::Clicked,
        "unsubscribed" => MetricKind::Unsubscribed,
        "complained" | "spam_reported" => MetricKind::SpamReports,
        _ => return None,
    };
    Some((kind, channel))
}

/// One message (a JSON object) received under `webhook_id`, signed at `sent_at`
/// (unix seconds); its event time held to `bound` when given.
pub fn parse_message(
    message: &Map<String, Value>,
    webhook_id: &str,
    sent_at: i64,
    bound: Option<EventTimeBound>,
) -> ParsedBatch {
    let mut batch = BatchBuilder::new(Platform::Generic).bounded(bound);
    let id = dedupe_id(webhook_id.trim());
    let kept = KeptMessage::new(webhook_id, message);
    let event_type = message
        .get("type")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let Some((event_type, (kind, medium))) =
        event_type.and_then(|t| kind_of_type(t).map(|known| (t, known)))
    else {
        let name = event_type.unwrap_or(UNTYPED).to_owned();
        batch.unknown_message(id, name, kept);
        return batch.finish();
    };
    match counted(message, kind, medium, sent_at, &batch) {
        Ok(counted) => {
            let unattributed = counted.campaign_id.is_none();
            batch.event(NormalizedEvent {
                dedupe_id: id,
                platform: Platform::Generic,
                kind,
                campaign_id: counted.campaign_id,
                channel: counted.channel,
                content_id: counted.content_id,
                occurred_at: counted.occurred_at,
                amount: counted.amount,
                message: unattributed.then_some(kept),
            });
        }
        Err(reason) => {
            let kept = KeptMessage {
                not_counted: Some(reason),
                ..kept
            };
            batch.unknown_message(id, format!("{NOT_COUNTED_PREFIX}{event_type}"), kept);
        }
    }
    batch.finish()
}

/// What a message of a known type counts.
struct Counted {
    campaign_id: Option<String>,
    channel: Option<String>,
    content_id: Option<String>,
    occurred_at: i64,
    amount: i64,
}

fn counted(
    message: &Map<String, Value>,
    kind: MetricKind,
    medium: Option<&str>,
    sent_at: i64,
    batch: &BatchBuilder,
) -> Result<Counted, String> {
    let data = match message.get("data") {
        Some(Value::Object(data)) => Some(data),
        _ => None,
    };
    let field = |name: &str| data.and_then(|d| d.get(name)).or_else(|| message.get(name));
    let text = |name: &str| {
        data.and_then(|d| d.get(name))
            .and_then(attribution_value)
            .or_else(|| message.get(name).and_then(attribution_value))
    };
    let occurred_at = occurred_at(message.get("timestamp"), sent_at)?;
    batch.check_time(occurred_at)?;
    let amount = if kind == MetricKind::Spend {
        field("amount")
            .and_then(Value::as_i64)
            .ok_or("`data.amount` (an integer, minor currency units) is required for spend")?
    } else {
        match field("count").or_else(|| field("amount")) {
            None => 1,
            Some(value) => value
                .as_i64()
                .filter(|n| *n >= 1)
                .ok_or("`data.count` must be an integer of at least 1")?,
        }
    };
    Ok(Counted {
        campaign_id: text("campaign_id"),
        channel: text("channel").or_else(|| medium.map(str::to_owned)),
        content_id: text("content_id"),
        occurred_at,
        amount,
    })
}

/// The event time: the message's `timestamp` (RFC 3339 or unix seconds), else
/// the time the message was signed.
fn occurred_at(timestamp: Option<&Value>, sent_at: i64) -> Result<i64, String> {
    let secs = match timestamp {
        None | Some(Value::Null) => sent_at,
        Some(Value::String(text)) => DateTime::parse_from_rfc3339(text.trim())
            .map_err(|e| format!("`timestamp` is not an RFC 3339 time: {e}"))?
            .timestamp(),
        Some(number @ Value::Number(_)) => {
            unix_seconds(Some(number)).ok_or("`timestamp` is out of range")?
        }
        Some(_) => return Err("`timestamp` is not an RFC 3339 time".to_owned()),
    };
    if (0..=MAX_UNIX_SECONDS).contains(&secs) {
        Ok(secs)
    } else {
        Err("`timestamp` is out of range".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhooks::event::MAX_KEPT_PAYLOAD_BYTES;
    use serde_json::json;

    const SENT_AT: i64 = 1_674_087_231;

    fn message(value: Value) -> ParsedBatch {
        let Value::Object(map) = value else {
            panic!("test messages are objects");
        };
        parse_message(&map, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", SENT_AT, None)
    }

    /// The specification's "thin payload" example.
    fn spec_example() -> Value {
        json!({
            "type": "contact.created",
            "timestamp": "2022-11-03T20:26:10.344522Z",
            "data": {"id": "1f81eb52-5198-4599-803e-771906343485"}
        })
    }

    #[test]
    fn the_specifications_example_is_an_unattributed_conversion() {
        let batch = message(spec_example());
        assert_eq!(batch.events.len(), 1);
        let event = &batch.events[0];
        assert_eq!(event.kind, MetricKind::Conversions);
        assert_eq!(event.dedupe_id, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W");
        assert_eq!(event.occurred_at, 1_667_507_170);
        assert_eq!((event.amount, event.campaign_id.as_deref()), (1, None));
        let kept = event.message.as_ref().map(|m| &m.payload);
        assert_eq!(kept, Some(&spec_example()));
    }

    #[test]
    fn attribution_and_counts_come_from_data_then_the_top_level() {
        let batch = message(json!({
            "type": "email.opened",
            "timestamp": 1_700_000_000,
            "data": {"campaign_id": "c1", "content_id": 7, "count": 3},
        }));
        let e = &batch.events[0];
        assert_eq!(
            (e.kind, e.campaign_id.as_deref(), e.channel.as_deref()),
            (MetricKind::Opened, Some("c1"), Some("email"))
        );
        assert_eq!((e.content_id.as_deref(), e.amount), (Some("7"), 3));
        assert_eq!(e.message, None, "attributed events keep no message");
        // Squashed: no `data`, fields at the top level; an explicit channel wins.
        let batch = message(json!({
            "type": "message.clicked", "campaign_id": "c2", "channel": "web",
        }));
        let e = &batch.events[0];
        assert_eq!(
            (e.campaign_id.as_deref(), e.channel.as_deref()),
            (Some("c2"), Some("web"))
        );
        assert_eq!(e.occurred_at, SENT_AT, "no timestamp: the signed time");
        // A campaign id that cannot be used is ignored, not fatal.
        let long = "x".repeat(200);
        let batch = message(json!({"type": "sms.delivered", "data": {"campaign_id": long}}));
        assert_eq!(batch.events[0].campaign_id, None);
        assert_eq!(batch.events[0].channel.as_deref(), Some("sms"));
    }

    #[test]
    fn spend_needs_an_integer_amount() {
        let batch = message(json!({"type": "spend", "data": {"campaign_id": "c", "amount": -250}}));
        assert_eq!(batch.events[0].amount, -250);
        for bad in [
            json!({"type": "spend"}),
            json!({"type": "spend", "data": {"amount": 1.5}}),
        ] {
            let batch = message(bad);
            assert!(batch.events.is_empty());
            assert_eq!(batch.unknown[0].kind, "not_counted:spend");
        }
    }

    #[test]
    fn every_documented_type_maps() {
        let cases = [
            ("sent", MetricKind::Sent, None),
            ("spam_reports", MetricKind::SpamReports, None),
            ("email.sent", MetricKind::Sent, Some("email")),
            ("email.delivered", MetricKind::Delivered, Some("email")),
            ("sms.deferred", MetricKind::Deferred, Some("sms")),
            (
                "email.delivery_delayed",
                MetricKind::Deferred,
                Some("email"),
            ),
            ("push.bounced", MetricKind::Bounced, Some("push")),
            ("email.dropped", MetricKind::Dropped, Some("email")),
            ("email.failed", MetricKind::Dropped, Some("email")),
            ("whatsapp.opened", MetricKind::Opened, Some("whatsapp")),
            ("message.clicked", MetricKind::Clicked, None),
            (
                "email.unsubscribed",
                MetricKind::Unsubscribed,
                Some("email"),
            ),
            ("email.complained", MetricKind::SpamReports, Some("email")),
            (
                "email.spam_reported",
                MetricKind::SpamReports,
                Some("email"),
            ),
            ("contact.created", MetricKind::Conversions, None),
            ("lead.created", MetricKind::Conversions, None),
            ("contact.unsubscribed", MetricKind::Unsubscribed, None),
        ];
        for (name, kind, channel) in cases {
            assert_eq!(kind_of_type(name), Some((kind, channel)), "{name}");
        }
        for other in [
            "example.event",
            "invoice.sent",
            "email.opened.twice",
            "Email.opened",
            "email",
            "",
            "contact.updated",
        ] {
            assert_eq!(kind_of_type(other), None, "{other}");
        }
    }

    #[test]
    fn unknown_and_untyped_messages_are_kept_for_inspection() {
        let example = json!({
            "type": "example.event",
            "timestamp": "2022-11-03T20:26:10.344522Z",
            "data": {"foo": "bar", "fizzbuzz": 2}
        });
        let batch = message(example.clone());
        assert!(batch.events.is_empty() && batch.rejected.is_empty());
        let unknown = &batch.unknown[0];
        assert_eq!(unknown.kind, "example.event");
        assert_eq!(
            unknown.dedupe_id.as_deref(),
            Some("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W")
        );
        assert_eq!(unknown.message.as_ref().map(|m| &m.payload), Some(&example));
        for untyped in [
            json!({"data": {}}),
            json!({"type": 3}),
            json!({"type": "  "}),
        ] {
            assert_eq!(message(untyped).unknown[0].kind, UNTYPED);
        }
    }

    #[test]
    fn a_known_type_that_cannot_be_counted_is_kept_with_the_reason() {
        for (bad, why) in [
            (
                json!({"type": "email.opened", "timestamp": "yesterday"}),
                "RFC 3339",
            ),
            (json!({"type": "email.opened", "timestamp": -5}), "range"),
            (
                json!({"type": "email.opened", "timestamp": true}),
                "RFC 3339",
            ),
            (
                json!({"type": "email.opened", "data": {"count": 0}}),
                "at least 1",
            ),
        ] {
            let batch = message(bad);
            assert!(batch.events.is_empty());
            let unknown = &batch.unknown[0];
            assert_eq!(unknown.kind, "not_counted:email.opened");
            let reason = unknown
                .message
                .as_ref()
                .and_then(|m| m.not_counted.clone())
                .unwrap_or_default();
            assert!(reason.contains(why), "{reason}");
        }
    }

    #[test]
    fn large_payloads_are_kept_in_outline() {
        let big = "y".repeat(MAX_KEPT_PAYLOAD_BYTES);
        let batch =
            message(json!({"type": "example.event", "timestamp": "t", "data": {"blob": big}}));
        let payload = batch.unknown[0]
            .message
            .as_ref()
            .map(|m| m.payload.clone())
            .unwrap_or_default();
        assert_eq!(payload["type"], "example.event");
        assert_eq!(payload["timestamp"], "t");
        assert!(payload["omitted_bytes"].as_u64() > Some(MAX_KEPT_PAYLOAD_BYTES as u64));
        assert!(payload.get("data").is_none());
    }

    #[test]
    fn long_or_odd_webhook_ids_become_hashed_dedupe_ids() {
        let Value::Object(map) = spec_example() else {
            return;
        };
        let long = "m".repeat(300);
        let batch = parse_message(&map, &long, SENT_AT, None);
        let event = &batch.events[0];
        assert!(event.dedupe_id.starts_with("sha256:"));
        let kept = event.message.as_ref().map(|m| m.webhook_id.len());
        assert_eq!(kept, Some(256));
    }
}
