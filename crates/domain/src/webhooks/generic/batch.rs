//! Our extension to Standard Webhooks: a JSON **array** of events of our own
//! schema in one signed request (unknown fields reject the element):
//!
//! | field | type | |
//! |---|---|---|
//! | `id` | string | required; the dedupe id, unique per event at the source (the `webhook-id` is not used) |
//! | `type` | string | required; `sent`, `delivered`, `bounced`, `dropped`, `deferred`, `opened`, `clicked`, `unsubscribed`, `spam_reports`, `conversions`, `spend`; other values are unknown (counted, ignored) |
//! | `occurred_at` | RFC 3339 string or integer unix seconds | required |
//! | `campaign_id`, `channel`, `content_id` | string | optional attribution, ≤ 128 bytes, no control characters |
//! | `amount` | integer | count kinds: ≥ 1, default 1; `spend`: required, minor currency units (negative for credits) |
//!
//! Elements that are not events of this schema are listed as rejected; the rest
//! of the batch is counted.

use chrono::DateTime;
use serde::Deserialize;
use serde_json::Value;

use crate::webhooks::event::{
    BatchBuilder, MAX_UNIX_SECONDS, MetricKind, NormalizedEvent, ParsedBatch, PayloadError,
    Platform, clean_attribution, dedupe_id, json_array,
};
use crate::webhooks::replay::EventTimeBound;

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

/// Parse a body that is a JSON array of events of our schema.
pub fn parse(body: &[u8]) -> Result<ParsedBatch, PayloadError> {
    Ok(parse_elements(&json_array(body)?, None))
}

/// The events of an array body, each event time held to `bound` when given.
pub(super) fn parse_elements(elements: &[Value], bound: Option<EventTimeBound>) -> ParsedBatch {
    let mut batch = BatchBuilder::new(Platform::Generic).bounded(bound);
    for (index, element) in elements.iter().enumerate() {
        match parse_event(element) {
            Ok(Parsed::Event(event)) => match batch.check_time(event.occurred_at) {
                Ok(()) => batch.event(event),
                Err(reason) => batch.reject(index, reason),
            },
            Ok(Parsed::Unknown { dedupe_id, kind }) => batch.unknown(Some(dedupe_id), kind),
            Err(reason) => batch.reject(index, reason),
        }
    }
    batch.finish()
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
        message: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhooks::replay::{REPLAY_WINDOW_SECS, ReplayWindow};
    use serde_json::json;

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

    #[test]
    fn a_bound_rejects_events_outside_it() {
        let now = 1_800_000_000;
        let bound = EventTimeBound {
            now,
            window: ReplayWindow::DEDUPE,
        };
        let elements = [
            json!({"id": "in", "type": "sent", "occurred_at": now - 60}),
            json!({"id": "out", "type": "sent", "occurred_at": now - REPLAY_WINDOW_SECS - 1}),
        ];
        let batch = parse_elements(&elements, Some(bound));
        assert_eq!(batch.events.len(), 1);
        assert_eq!(batch.rejected.len(), 1);
        assert_eq!(batch.rejected[0].index, 1);
    }
}
