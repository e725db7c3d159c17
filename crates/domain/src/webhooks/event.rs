//! The common shape every platform's events are normalised into, and the
//! parsing helpers the platform modules share.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::replay::EventTimeBound;

/// A marketing platform that posts events to `POST /webhooks/{platform}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    /// Twilio SendGrid Event Webhook (signed).
    Sendgrid,
    /// Mailchimp Transactional (Mandrill) webhooks.
    Mandrill,
    /// HubSpot webhooks, v3 signatures.
    Hubspot,
    /// Any source speaking Standard Webhooks: the specification's messages, or
    /// arrays of our JSON event schema.
    Generic,
}

impl Platform {
    /// Every platform, in route order.
    pub const ALL: [Platform; 4] = [
        Platform::Sendgrid,
        Platform::Mandrill,
        Platform::Hubspot,
        Platform::Generic,
    ];

    /// The platform named by a route segment (`sendgrid`, `mandrill`, `hubspot`, `generic`).
    pub fn parse(segment: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == segment)
    }

    /// The route segment and stable name of the platform.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Sendgrid => "sendgrid",
            Platform::Mandrill => "mandrill",
            Platform::Hubspot => "hubspot",
            Platform::Generic => "generic",
        }
    }

    /// The Spin variable holding the platform's secret(s) or key(s) (docs/design.md §3).
    pub fn secret_variable(self) -> &'static str {
        match self {
            Platform::Sendgrid => "sendgrid_verification_key",
            Platform::Mandrill => "mandrill_webhook_key",
            Platform::Hubspot => "hubspot_client_secret",
            Platform::Generic => "generic_webhook_secret",
        }
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a metric counter counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    /// Messages accepted for sending.
    Sent,
    /// Messages the receiving server accepted.
    Delivered,
    /// Messages bounced (hard or soft).
    Bounced,
    /// Messages the platform refused to send.
    Dropped,
    /// Messages temporarily deferred by the receiving server.
    Deferred,
    /// Messages opened, as the platform reports them.
    Opened,
    /// Tracked link clicks.
    Clicked,
    /// Recipients who unsubscribed.
    Unsubscribed,
    /// Recipients who marked a message as spam.
    SpamReports,
    /// Conversions (e.g. a HubSpot contact created); objectives often count these.
    Conversions,
    /// Spend, in minor currency units.
    Spend,
}

impl MetricKind {
    /// Every kind, in counter order.
    pub const ALL: [MetricKind; 11] = [
        MetricKind::Sent,
        MetricKind::Delivered,
        MetricKind::Bounced,
        MetricKind::Dropped,
        MetricKind::Deferred,
        MetricKind::Opened,
        MetricKind::Clicked,
        MetricKind::Unsubscribed,
        MetricKind::SpamReports,
        MetricKind::Conversions,
        MetricKind::Spend,
    ];

    /// The kind named `name` in our schema (`sent`, …, `spam_reports`, `conversions`, `spend`).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// The stable snake_case name of the kind.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Sent => "sent",
            MetricKind::Delivered => "delivered",
            MetricKind::Bounced => "bounced",
            MetricKind::Dropped => "dropped",
            MetricKind::Deferred => "deferred",
            MetricKind::Opened => "opened",
            MetricKind::Clicked => "clicked",
            MetricKind::Unsubscribed => "unsubscribed",
            MetricKind::SpamReports => "spam_reports",
            MetricKind::Conversions => "conversions",
            MetricKind::Spend => "spend",
        }
    }

    /// Whether the kind counts occurrences (every kind but [`Spend`](Self::Spend)).
    pub fn is_count(self) -> bool {
        self != MetricKind::Spend
    }
}

impl std::fmt::Display for MetricKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One platform event, normalised into a metric increment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NormalizedEvent {
    /// The provider's event identity, used to drop duplicates; printable ASCII,
    /// at most [`MAX_DEDUPE_ID_LEN`] bytes (longer or odd ids are hashed).
    pub dedupe_id: String,
    /// The platform that sent the event.
    pub platform: Platform,
    /// The counter the event increments.
    pub kind: MetricKind,
    /// The campaign the event belongs to; `None` when the event is unattributed.
    pub campaign_id: Option<String>,
    /// The channel (e.g. `email`), when known.
    pub channel: Option<String>,
    /// The content item, when known.
    pub content_id: Option<String>,
    /// When the event happened, in unix seconds.
    pub occurred_at: i64,
    /// The increment: 1 for one occurrence; minor currency units for spend.
    pub amount: i64,
    /// The message the event came in, kept for inspection when the event is
    /// unattributed (Standard Webhooks messages only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<KeptMessage>,
}

impl NormalizedEvent {
    /// Whether the event maps to a campaign.
    pub fn is_attributed(&self) -> bool {
        self.campaign_id.is_some()
    }
}

/// An event of a kind we do not count: counted and ignored, never failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnknownEvent {
    /// The provider's event identity, when the event carries one.
    pub dedupe_id: Option<String>,
    /// The provider's name for the event kind (e.g. `group_resubscribe`).
    pub kind: String,
    /// The message the event came in, kept for inspection (Standard Webhooks
    /// messages only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<KeptMessage>,
}

/// A Standard Webhooks message as received, kept so an operator can inspect it
/// (and attribute or map it by hand).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptMessage {
    /// The `webhook-id` header as sent (at most [`MAX_KEPT_ID_LEN`] bytes of it).
    pub webhook_id: String,
    /// The JSON object as received when it serialises to at most
    /// [`MAX_KEPT_PAYLOAD_BYTES`]; otherwise its `type` and `timestamp` and
    /// `omitted_bytes`, the size of the whole.
    pub payload: Value,
    /// Why a message of a known type was not counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_counted: Option<String>,
}

/// The largest message payload kept whole for inspection, in bytes.
pub const MAX_KEPT_PAYLOAD_BYTES: usize = 2_048;
/// The longest `webhook-id` kept with a message, in bytes.
pub const MAX_KEPT_ID_LEN: usize = 256;

impl KeptMessage {
    /// `payload` (a message object) received under `webhook_id`, bounded in size.
    pub fn new(webhook_id: &str, payload: &serde_json::Map<String, Value>) -> Self {
        let size = serde_json::to_vec(payload).map_or(usize::MAX, |bytes| bytes.len());
        let payload = if size <= MAX_KEPT_PAYLOAD_BYTES {
            Value::Object(payload.clone())
        } else {
            let short = |name: &str| match payload.get(name) {
                Some(Value::String(s)) => Value::String(truncated(s, 128).to_owned()),
                Some(n @ Value::Number(_)) => n.clone(),
                _ => Value::Null,
            };
            serde_json::json!({
                "type": short("type"),
                "timestamp": short("timestamp"),
                "omitted_bytes": size,
            })
        };
        Self {
            webhook_id: truncated(webhook_id, MAX_KEPT_ID_LEN).to_owned(),
            payload,
            not_counted: None,
        }
    }
}

/// At most `max` bytes of `text`, cut at a character boundary.
pub(crate) fn truncated(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// A batch element that could not be read as an event (missing id, bad timestamp…).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedElement {
    /// Position of the element in the batch, from 0.
    pub index: usize,
    /// Why it was rejected, for operators.
    pub reason: String,
}

/// A webhook body, read element by element.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedBatch {
    /// The platform that sent the batch.
    pub platform: Platform,
    /// Events of counted kinds, first occurrence of each dedupe id only.
    pub events: Vec<NormalizedEvent>,
    /// Events of kinds we do not count.
    pub unknown: Vec<UnknownEvent>,
    /// Elements that are not readable events.
    pub rejected: Vec<RejectedElement>,
    /// Events dropped because an earlier element of the batch had the same dedupe id.
    pub duplicates_in_batch: usize,
}

impl ParsedBatch {
    /// An empty batch from `platform`.
    pub fn new(platform: Platform) -> Self {
        Self {
            platform,
            events: Vec::new(),
            unknown: Vec::new(),
            rejected: Vec::new(),
            duplicates_in_batch: 0,
        }
    }

    /// The events that map to no campaign (kept for inspection, not dropped).
    pub fn unattributed(&self) -> impl Iterator<Item = &NormalizedEvent> {
        self.events.iter().filter(|e| !e.is_attributed())
    }

    /// How many events map to no campaign.
    pub fn unattributed_count(&self) -> usize {
        self.unattributed().count()
    }

    /// How many events are of kinds we do not count.
    pub fn unknown_count(&self) -> usize {
        self.unknown.len()
    }
}

/// Why a webhook body cannot be read at all (each is a 400: senders do not retry).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// The body (or the form field holding the events) is not valid JSON.
    #[error("body is not valid JSON: {0}")]
    InvalidJson(String),
    /// The JSON is valid but not an array of events.
    #[error("body is not a JSON array of events")]
    NotAnArray,
    /// The JSON is valid but neither a Standard Webhooks message (an object)
    /// nor an array of events.
    #[error("body is neither a Standard Webhooks message (a JSON object) nor an array of events")]
    NotAMessage,
    /// A header the payload needs is absent (names the header).
    #[error("header `{0}` is missing")]
    MissingHeader(&'static str),
    /// A form body lacks the field holding the events.
    #[error("form field `{0}` is missing")]
    MissingField(&'static str),
}

/// The largest accepted dedupe id, in bytes; longer ids are replaced by their hash.
pub const MAX_DEDUPE_ID_LEN: usize = 128;
/// The largest accepted attribution value (campaign, channel, content id), in bytes.
pub const MAX_ATTRIBUTION_LEN: usize = 128;
/// The latest accepted event time: 9999-12-31T23:59:59Z.
pub const MAX_UNIX_SECONDS: i64 = 253_402_300_799;

/// Campaign, channel and content item an event maps to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Attribution {
    pub campaign_id: Option<String>,
    pub channel: Option<String>,
    pub content_id: Option<String>,
}

impl Attribution {
    /// Fill the fields still empty from the `campaign_id`, `channel` and
    /// `content_id` members of `object` (strings, or integers written in decimal).
    pub fn fill_from_fields(&mut self, object: Option<&Value>) {
        let Some(Value::Object(map)) = object else {
            return;
        };
        fill(&mut self.campaign_id, map.get("campaign_id"));
        fill(&mut self.channel, map.get("channel"));
        fill(&mut self.content_id, map.get("content_id"));
    }

    /// Fill the fields still empty from tags `campaign:<id>`, `channel:<name>`
    /// and `content:<id>` (prefix in any case); the first tag of each wins.
    pub fn fill_from_tags<'t>(&mut self, tags: impl IntoIterator<Item = &'t str>) {
        for tag in tags {
            let Some((prefix, value)) = tag.split_once(':') else {
                continue;
            };
            let slot = match prefix.trim().to_ascii_lowercase().as_str() {
                "campaign" => &mut self.campaign_id,
                "channel" => &mut self.channel,
                "content" => &mut self.content_id,
                _ => continue,
            };
            if slot.is_none() {
                *slot = clean_attribution(value);
            }
        }
    }

    /// Attach the attribution to an event.
    pub fn into_event(
        self,
        platform: Platform,
        dedupe_id: String,
        kind: MetricKind,
        occurred_at: i64,
    ) -> NormalizedEvent {
        NormalizedEvent {
            dedupe_id,
            platform,
            kind,
            campaign_id: self.campaign_id,
            channel: self.channel,
            content_id: self.content_id,
            occurred_at,
            amount: 1,
            message: None,
        }
    }
}

fn fill(slot: &mut Option<String>, value: Option<&Value>) {
    if slot.is_none() {
        *slot = value.and_then(attribution_value);
    }
}

/// A usable attribution value from JSON: a clean string, or an integer.
pub(crate) fn attribution_value(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => clean_attribution(s),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

/// `value` trimmed, when it is non-empty, short enough and free of control characters.
pub(crate) fn clean_attribution(value: &str) -> Option<String> {
    let value = value.trim();
    let usable = !value.is_empty()
        && value.len() <= MAX_ATTRIBUTION_LEN
        && !value.chars().any(char::is_control);
    usable.then(|| value.to_owned())
}

/// A dedupe id fit for a storage key: kept when it is printable ASCII without
/// spaces and short enough, otherwise replaced by `sha256:<hex>` of it.
pub(crate) fn dedupe_id(raw: &str) -> String {
    let fits = !raw.is_empty()
        && raw.len() <= MAX_DEDUPE_ID_LEN
        && raw.bytes().all(|b| b.is_ascii_graphic());
    if fits {
        return raw.to_owned();
    }
    let digest = Sha256::digest(raw.as_bytes());
    let mut id = String::with_capacity(7 + 64);
    id.push_str("sha256:");
    for byte in digest {
        id.push(char::from(HEX[usize::from(byte >> 4)]));
        id.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    id
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Unix seconds from a JSON number (integer, or float truncated towards the
/// past), when within 1970..=9999.
pub(crate) fn unix_seconds(value: Option<&Value>) -> Option<i64> {
    let secs = match value? {
        Value::Number(n) => match n.as_i64() {
            Some(i) => i,
            None => {
                let f = n.as_f64()?.floor();
                // Outside this range the cast saturates; the range check rejects it.
                if !f.is_finite() {
                    return None;
                }
                f as i64
            }
        },
        _ => return None,
    };
    (0..=MAX_UNIX_SECONDS).contains(&secs).then_some(secs)
}

/// A provider id as text: a non-empty string, or an integer written in decimal.
pub(crate) fn id_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

/// The elements of a JSON array body.
pub(crate) fn json_array(body: &[u8]) -> Result<Vec<Value>, PayloadError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(items)) => Ok(items),
        Ok(_) => Err(PayloadError::NotAnArray),
        Err(e) => Err(PayloadError::InvalidJson(e.to_string())),
    }
}

/// Builds a [`ParsedBatch`], dropping in-batch duplicates.
pub(crate) struct BatchBuilder {
    batch: ParsedBatch,
    seen: BTreeSet<String>,
    bound: Option<EventTimeBound>,
}

impl BatchBuilder {
    pub fn new(platform: Platform) -> Self {
        Self {
            batch: ParsedBatch::new(platform),
            seen: BTreeSet::new(),
            bound: None,
        }
    }

    /// Hold every event's time to `bound` (see [`check_time`](Self::check_time)).
    pub fn bounded(mut self, bound: Option<EventTimeBound>) -> Self {
        self.bound = bound;
        self
    }

    /// Why an event that happened at `occurred_at` may not be counted: outside
    /// the bound, a replay could outlive its dedupe record.
    pub fn check_time(&self, occurred_at: i64) -> Result<(), String> {
        match self.bound.and_then(|b| b.refusal(occurred_at)) {
            Some(reason) => Err(reason),
            None => Ok(()),
        }
    }

    pub fn event(&mut self, event: NormalizedEvent) {
        if self.seen.insert(event.dedupe_id.clone()) {
            self.batch.events.push(event);
        } else {
            self.batch.duplicates_in_batch += 1;
        }
    }

    pub fn unknown(&mut self, dedupe_id: Option<String>, kind: impl Into<String>) {
        self.batch.unknown.push(UnknownEvent {
            dedupe_id,
            kind: kind.into(),
            message: None,
        });
    }

    /// An event of a kind we do not count, kept with the message it came in.
    pub fn unknown_message(&mut self, dedupe_id: String, kind: String, message: KeptMessage) {
        self.batch.unknown.push(UnknownEvent {
            dedupe_id: Some(dedupe_id),
            kind,
            message: Some(message),
        });
    }

    pub fn reject(&mut self, index: usize, reason: impl Into<String>) {
        self.batch.rejected.push(RejectedElement {
            index,
            reason: reason.into(),
        });
    }

    pub fn finish(self) -> ParsedBatch {
        self.batch
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn platforms_and_kinds_round_trip_their_names() {
        for p in Platform::ALL {
            assert_eq!(Platform::parse(p.as_str()), Some(p));
            assert_eq!(serde_json::to_value(p).unwrap(), json!(p.as_str()));
        }
        for k in MetricKind::ALL {
            assert_eq!(MetricKind::parse(k.as_str()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), json!(k.as_str()));
        }
        assert_eq!(Platform::parse("SendGrid"), None);
        assert_eq!(MetricKind::parse("spam_report"), None);
    }

    #[test]
    fn dedupe_ids_are_kept_or_hashed() {
        assert_eq!(dedupe_id("abc-123:open:1"), "abc-123:open:1");
        let long = "x".repeat(MAX_DEDUPE_ID_LEN + 1);
        let hashed = dedupe_id(&long);
        assert!(hashed.starts_with("sha256:") && hashed.len() == 71);
        assert_ne!(dedupe_id("a b"), "a b");
        assert_ne!(dedupe_id("ünïcode"), "ünïcode");
        assert_eq!(dedupe_id("a b"), dedupe_id("a b"));
    }

    #[test]
    fn attribution_prefers_fields_over_tags() {
        let mut a = Attribution::default();
        a.fill_from_fields(Some(&json!({"campaign_id": " c1 ", "content_id": 42})));
        a.fill_from_tags(["campaign:c2", "Channel:email", "channel:sms", "other"]);
        assert_eq!(a.campaign_id.as_deref(), Some("c1"));
        assert_eq!(a.channel.as_deref(), Some("email"));
        assert_eq!(a.content_id.as_deref(), Some("42"));
    }

    #[test]
    fn unusable_attribution_values_are_absent() {
        assert_eq!(clean_attribution("   "), None);
        assert_eq!(clean_attribution("a\nb"), None);
        assert_eq!(
            clean_attribution(&"c".repeat(MAX_ATTRIBUTION_LEN + 1)),
            None
        );
        assert_eq!(attribution_value(&json!(1.5)), None);
        assert_eq!(attribution_value(&json!(["x"])), None);
    }

    #[test]
    fn unix_seconds_accepts_integers_and_floats_in_range() {
        assert_eq!(
            unix_seconds(Some(&json!(1_600_000_000))),
            Some(1_600_000_000)
        );
        assert_eq!(
            unix_seconds(Some(&json!(1_600_000_000.9))),
            Some(1_600_000_000)
        );
        assert_eq!(unix_seconds(Some(&json!(-1))), None);
        assert_eq!(unix_seconds(Some(&json!(1e300))), None);
        assert_eq!(unix_seconds(Some(&json!("1600000000"))), None);
        assert_eq!(unix_seconds(None), None);
    }
}
