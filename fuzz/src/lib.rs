//! What the fuzz targets share: how an input is framed (a webhook delivery, a
//! selector line before a JSON body), the fixed world the inputs are applied to
//! (a campaign, a content item, `now`), and the checks every webhook batch must
//! pass whatever bytes it came from.
//!
//! Inputs are text-framed so the seeds in `fuzz/seeds/` read like the requests
//! they stand for:
//!
//! - a webhook delivery is HTTP-like: `name: value` header lines, an empty line,
//!   then the raw body. Pseudo-headers `:method` and `:path` (path and query)
//!   stand for the request line; without them it is `POST /webhooks/<platform>`.
//! - a component input is a selector line naming the handler (`create`,
//!   `patch`, …), then the body as the handler receives it.
#![forbid(unsafe_code)]

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use opsflow_api::ApiRequest;
use opsflow_domain::campaign::{Campaign, CampaignInput, UserId};
use opsflow_domain::webhooks::event::{MAX_ATTRIBUTION_LEN, MAX_DEDUPE_ID_LEN, MAX_UNIX_SECONDS};
use opsflow_domain::webhooks::{
    Credentials, Granularity, InboundRequest, ParsedBatch, Platform, VerifyError, aggregate,
    parse_batch, public_url,
};

/// The fixed `now` of every target: 2026-01-01T00:00:00Z, in unix seconds.
pub const NOW: i64 = 1_767_225_600;

/// The `public_base_url` the webhook targets are configured with.
pub const BASE_URL: &str = "https://ops.example.com";

/// `NOW` as a time.
pub fn now() -> DateTime<Utc> {
    at(NOW)
}

/// Unix seconds as a time (the epoch when out of range).
pub fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

// ---- webhook deliveries -------------------------------------------------------------

/// A webhook request as the fuzzer wrote it: request line, headers, raw body.
#[derive(Debug, Clone)]
pub struct Delivery<'a> {
    /// `:method`, default `POST`.
    pub method: String,
    /// `:path` (path and query, as received), default `/webhooks/<platform>`.
    pub path_and_query: String,
    /// Every other header line, value bytes as written (not necessarily UTF-8).
    pub headers: Vec<(String, Vec<u8>)>,
    /// Everything after the first empty line.
    pub body: &'a [u8],
}

impl<'a> Delivery<'a> {
    /// Reads `data` as header lines, an empty line and a body; without an empty
    /// line the whole input is the body.
    pub fn parse(data: &'a [u8], platform: Platform) -> Self {
        let mut delivery = Self {
            method: "POST".to_owned(),
            path_and_query: format!("/webhooks/{}", platform.as_str()),
            headers: Vec::new(),
            body: data,
        };
        let Some(end) = data.windows(2).position(|w| w == b"\n\n") else {
            return delivery;
        };
        delivery.body = &data[end + 2..];
        for line in data[..end].split(|b| *b == b'\n') {
            let Some(colon) = line.iter().skip(1).position(|b| *b == b':').map(|i| i + 1) else {
                continue;
            };
            let name = String::from_utf8_lossy(&line[..colon]).trim().to_owned();
            let value = trim_ascii(&line[colon + 1..]).to_vec();
            match name.as_str() {
                ":method" => delivery.method = String::from_utf8_lossy(&value).into_owned(),
                ":path" => delivery.path_and_query = String::from_utf8_lossy(&value).into_owned(),
                _ => delivery.headers.push((name, value)),
            }
        }
        delivery
    }

    /// The URL the sender was configured to call, as the component builds it.
    pub fn url(&self) -> String {
        public_url(BASE_URL, &self.path_and_query)
    }

    /// The first header called `name` (any case) as the verifiers read it:
    /// UTF-8, trimmed, non-empty.
    pub fn header_text(&self, name: &str) -> Option<&str> {
        let (_, value) = self
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))?;
        let text = std::str::from_utf8(value).ok()?.trim();
        (!text.is_empty()).then_some(text)
    }

    /// The headers with every header named in `set` replaced by the value given.
    pub fn with_headers(&self, set: &[(&str, String)]) -> Vec<(String, Vec<u8>)> {
        let mut headers: Vec<(String, Vec<u8>)> = self
            .headers
            .iter()
            .filter(|(k, _)| !set.iter().any(|(name, _)| k.eq_ignore_ascii_case(name)))
            .cloned()
            .collect();
        headers.extend(
            set.iter()
                .map(|(name, value)| ((*name).to_owned(), value.clone().into_bytes())),
        );
        headers
    }
}

fn trim_ascii(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != b' ' && *b != b'\t');
    let end = bytes
        .iter()
        .rposition(|b| *b != b' ' && *b != b'\t' && *b != b'\r');
    match (start, end) {
        (Some(s), Some(e)) if s <= e => &bytes[s..=e],
        _ => &[],
    }
}

/// What `POST /webhooks/<platform>` does with a delivery carrying `headers`:
/// verify, then (when verified) parse the batch and check it as
/// [`check_batch`] does. Returns the verification result.
///
/// `headers` is a `Vec`: the verifiers read a `&dyn Headers`, which an unsized
/// slice cannot be.
#[allow(clippy::ptr_arg)]
pub fn receive(
    platform: Platform,
    credentials: &Credentials,
    delivery: &Delivery<'_>,
    headers: &Vec<(String, Vec<u8>)>,
) -> Result<(), VerifyError> {
    let url = delivery.url();
    let request = InboundRequest {
        method: &delivery.method,
        url: &url,
        headers,
        body: delivery.body,
    };
    credentials.verify(&request, NOW)?;
    if let Ok(batch) = parse_batch(platform, &request, NOW) {
        check_batch(&batch);
    }
    Ok(())
}

/// What every parsed batch must hold, whatever the body: ids fit for storage keys
/// and unique, attribution values clean, event times in range and inside the
/// platform's event window; and the component's handling (aggregation, the
/// samples it stores, the response it writes) must go through.
pub fn check_batch(batch: &ParsedBatch) {
    let mut ids = BTreeSet::new();
    let window = batch.platform.event_window();
    for event in &batch.events {
        let id = &event.dedupe_id;
        assert!(
            !id.is_empty() && id.len() <= MAX_DEDUPE_ID_LEN,
            "dedupe id length: {id:?}"
        );
        assert!(
            id.bytes().all(|b| b.is_ascii_graphic()),
            "dedupe id: {id:?}"
        );
        assert!(ids.insert(id.clone()), "duplicate dedupe id kept: {id:?}");
        for value in [&event.campaign_id, &event.channel, &event.content_id]
            .into_iter()
            .flatten()
        {
            assert!(
                !value.is_empty()
                    && value.len() <= MAX_ATTRIBUTION_LEN
                    && value.trim() == value
                    && !value.chars().any(char::is_control),
                "attribution value: {value:?}"
            );
        }
        assert!(
            (0..=MAX_UNIX_SECONDS).contains(&event.occurred_at),
            "event time out of range: {}",
            event.occurred_at
        );
        if let Some(w) = window {
            assert_eq!(w.check(event.occurred_at, NOW), Ok(()), "{event:?}");
        }
        // The component keeps an unattributed event whole as its sample's detail.
        serde_json::to_value(event).expect("event serialises");
    }
    for unknown in &batch.unknown {
        if let Some(id) = &unknown.dedupe_id {
            assert!(
                id.bytes().all(|b| b.is_ascii_graphic()),
                "dedupe id: {id:?}"
            );
        }
        let _kind: String = unknown.kind.chars().take(64).collect();
        serde_json::to_value(unknown).expect("unknown event serialises");
    }
    for granularity in [Granularity::Hour, Granularity::Day] {
        let deltas = aggregate(&batch.events, granularity);
        assert!(deltas.len() <= batch.events.len());
    }
    serde_json::to_vec(&serde_json::json!({ "rejected": batch.rejected })).expect("response");
}

// ---- component inputs ---------------------------------------------------------------

/// The first line of `data` (the selector) and the rest (the body).
pub fn selector(data: &[u8]) -> (&str, &[u8]) {
    let (line, rest) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    (std::str::from_utf8(line).unwrap_or("").trim(), rest)
}

/// A JSON request with `body`, as a component receives it.
pub fn json_request(body: &[u8]) -> ApiRequest {
    ApiRequest::new(
        "POST",
        "/api/fuzz",
        "",
        vec![("content-type".into(), "application/json".into())],
        body.to_vec(),
    )
}

/// The campaign inputs are applied to: running through January 2026 on email
/// (falling back to sms) and social, one conversions objective.
pub fn campaign() -> Campaign {
    let input: CampaignInput = serde_json::from_value(serde_json::json!({
        "name": "Spring", "marketing_owner": "mia", "operations_owner": "olga",
        "objectives": [{"kpi": "conversions", "target": 1000.0, "deadline": "2026-01-11T00:00:00Z"}],
        "channels": [
            {"channel": "email", "budget_minor": 10000, "fallback_channels": ["sms"]},
            {"channel": "social", "budget_minor": 10000}
        ],
        "schedule": {"start": "2025-12-20T00:00:00Z", "end": "2026-01-31T00:00:00Z"}
    }))
    .expect("campaign input");
    let new = input.parse().expect("valid campaign");
    Campaign::create("c1".into(), new, user("mia"), at(NOW - 86_400 * 20))
}

/// A user id the domain accepts.
pub fn user(name: &str) -> UserId {
    UserId::parse(name).expect("user id")
}
