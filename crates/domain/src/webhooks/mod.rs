//! Marketing-platform webhooks (docs/design.md §3 "Webhooks and metrics"): signature
//! verification, payload normalisation and aggregation into counter deltas.
//!
//! A handler for `POST /webhooks/{platform}` does, in order:
//!
//! 1. [`Platform::parse`] the route segment;
//! 2. [`Credentials::from_config`] with the platform's Spin variable
//!    ([`Platform::secret_variable`]) — `Unconfigured`/`InvalidConfig` → 503;
//! 3. [`Credentials::verify`] on the raw body, with `url` =
//!    [`public_url`]`(public_base_url, path_and_query)` and an explicit `now`
//!    — any other [`VerifyError`] → 401 (a signed time outside the platform's
//!    [`ReplayWindow`] among them);
//! 4. [`parse_batch`] on the verified request and the same `now` — a
//!    [`PayloadError`] → 400; events whose own time lies outside the
//!    platform's event window are listed as rejected;
//! 5. drop the events whose [`NormalizedEvent::dedupe_id`] is already stored,
//!    [`aggregate()`] the rest, store the deltas and the new dedupe ids.
//!
//! Each platform module documents its signature scheme (from the vendor's
//! published specification), its event-name mapping, its dedupe id and its
//! attribution rules. In short:
//!
//! | platform | dedupe id | attribution (first found wins) |
//! |---|---|---|
//! | [`sendgrid`] | `sg_event_id` | custom args `campaign_id`/`channel`/`content_id`; categories `campaign:`/`channel:`/`content:` |
//! | [`mandrill`] | `_id:event:ts` | `msg.metadata` fields; `msg.tags` `campaign:`/`channel:`/`content:` |
//! | [`hubspot`] | `portalId:subscriptionId:eventId` | `properties` `opsflow_campaign_id`/`campaign_id`/`utm_campaign` (and channel, content) |
//! | [`generic`] | `webhook-id` (a message); `id` (an element of our array extension) | `data.campaign_id`, `channel`, `content_id` (message); the same fields (array) |
//!
//! Events without a campaign are kept (see [`ParsedBatch::unattributed`]), events
//! of kinds we do not count are listed in [`ParsedBatch::unknown`], and elements
//! that are not readable events in [`ParsedBatch::rejected`]: a batch fails as a
//! whole only when its body is not a JSON array (or, for Mandrill, lacks one;
//! for generic, is not a Standard Webhooks message either).
//!
//! How long a delivery may be replayed is one setting with how long its dedupe
//! record lives: see [`replay`].

pub mod aggregate;
pub mod event;
pub mod generic;
pub mod hubspot;
pub mod mandrill;
pub mod replay;
pub mod sendgrid;
pub mod verify;

pub use aggregate::{Granularity, MetricKey, aggregate};
pub use event::{
    KeptMessage, MetricKind, NormalizedEvent, ParsedBatch, PayloadError, Platform, RejectedElement,
    UnknownEvent,
};
pub use generic::{Secret, sign_standard_webhook, standard_webhook_headers};
pub use replay::{
    DEDUPE_RETENTION_SECS, EventTimeBound, MAX_CLOCK_SKEW_SECS, REPLAY_WINDOW_SECS, ReplayWindow,
};
pub use verify::{Headers, InboundRequest, VerifyError};

/// A platform's configured secrets or keys, parsed once from its Spin variable.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// SendGrid's public verification key(s).
    Sendgrid(sendgrid::VerificationKeys),
    /// Mandrill webhook key(s).
    Mandrill(mandrill::WebhookKeys),
    /// HubSpot app client secret(s).
    Hubspot(hubspot::ClientSecrets),
    /// Standard Webhooks secret(s).
    Generic(generic::Secrets),
}

impl Credentials {
    /// Parse the value of `platform`'s Spin variable ([`Platform::secret_variable`]).
    /// Unset or blank is [`VerifyError::Unconfigured`]; an unreadable entry is
    /// [`VerifyError::InvalidConfig`].
    pub fn from_config(platform: Platform, raw: Option<&str>) -> Result<Self, VerifyError> {
        Ok(match platform {
            Platform::Sendgrid => Self::Sendgrid(sendgrid::VerificationKeys::parse(raw)?),
            Platform::Mandrill => Self::Mandrill(mandrill::WebhookKeys::parse(raw)?),
            Platform::Hubspot => Self::Hubspot(hubspot::ClientSecrets::parse(raw)?),
            Platform::Generic => Self::Generic(generic::Secrets::parse(raw)?),
        })
    }

    /// The platform these credentials belong to.
    pub fn platform(&self) -> Platform {
        match self {
            Self::Sendgrid(_) => Platform::Sendgrid,
            Self::Mandrill(_) => Platform::Mandrill,
            Self::Hubspot(_) => Platform::Hubspot,
            Self::Generic(_) => Platform::Generic,
        }
    }

    /// Verify that `request` comes from the platform (`now` in unix seconds).
    pub fn verify(&self, request: &InboundRequest<'_>, now: i64) -> Result<(), VerifyError> {
        match self {
            Self::Sendgrid(keys) => sendgrid::verify(keys, request, now),
            Self::Mandrill(keys) => mandrill::verify(keys, request),
            Self::Hubspot(secrets) => hubspot::verify(secrets, request, now),
            Self::Generic(secrets) => generic::verify(secrets, request, now),
        }
    }
}

/// Parse a verified request from `platform` into normalised events; events
/// whose own time lies outside [`Platform::event_window`] around `now` (unix
/// seconds) are listed as rejected.
pub fn parse_batch(
    platform: Platform,
    request: &InboundRequest<'_>,
    now: i64,
) -> Result<ParsedBatch, PayloadError> {
    let bound = platform
        .event_window()
        .map(|window| EventTimeBound { now, window });
    match platform {
        Platform::Sendgrid => sendgrid::parse_within(request.body, bound),
        Platform::Mandrill => mandrill::parse_within(request.body, bound),
        Platform::Hubspot => hubspot::parse_within(request.body, bound),
        Platform::Generic => generic::parse_request(request, bound),
    }
}

impl Platform {
    /// The window the platform's signed request time must fall in; `None` when
    /// the platform signs no time (Mandrill).
    pub const fn request_window(self) -> Option<ReplayWindow> {
        match self {
            Platform::Sendgrid => Some(sendgrid::WINDOW),
            Platform::Mandrill => None,
            Platform::Hubspot => Some(hubspot::WINDOW),
            Platform::Generic => Some(generic::WINDOW),
        }
    }

    /// The window each event's own time must fall in; `None` when the request
    /// window alone bounds replays (Standard Webhooks: five minutes, and the
    /// `webhook-id` dedupe key is kept by every retry).
    pub const fn event_window(self) -> Option<ReplayWindow> {
        match self {
            Platform::Sendgrid => Some(sendgrid::WINDOW),
            Platform::Mandrill => Some(mandrill::WINDOW),
            Platform::Hubspot => Some(hubspot::EVENT_WINDOW),
            Platform::Generic => None,
        }
    }
}

/// No platform admits a delivery its dedupe record may not outlive.
const _: () = {
    let mut i = 0;
    while i < Platform::ALL.len() {
        let p = Platform::ALL[i];
        assert!(p.request_window().is_some() || p.event_window().is_some());
        if let Some(w) = p.request_window() {
            assert!(w.within_dedupe_retention());
        }
        if let Some(w) = p.event_window() {
            assert!(w.within_dedupe_retention());
        }
        i += 1;
    }
};

/// The URL a sender was configured to call: `public_base_url` (trailing `/`
/// ignored) followed by the request's path and query, as received.
pub fn public_url(public_base_url: &str, path_and_query: &str) -> String {
    let base = public_base_url.trim().trim_end_matches('/');
    if path_and_query.starts_with('/') {
        format!("{base}{path_and_query}")
    } else {
        format!("{base}/{path_and_query}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_urls_join_base_and_path() {
        assert_eq!(
            public_url("https://ops.example.com/", "/webhooks/mandrill?a=1"),
            "https://ops.example.com/webhooks/mandrill?a=1"
        );
        assert_eq!(
            public_url("https://ops.example.com", "webhooks/hubspot"),
            "https://ops.example.com/webhooks/hubspot"
        );
    }

    #[test]
    fn unset_variables_disable_every_platform() {
        for platform in Platform::ALL {
            assert_eq!(
                Credentials::from_config(platform, None).unwrap_err(),
                VerifyError::Unconfigured
            );
            assert_eq!(
                Credentials::from_config(platform, Some("  ")).unwrap_err(),
                VerifyError::Unconfigured
            );
        }
    }

    #[test]
    fn end_to_end_generic_batch_becomes_deltas() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let credentials = Credentials::from_config(Platform::Generic, Some(secret)).unwrap();
        assert_eq!(credentials.platform(), Platform::Generic);
        let body = br#"[
            {"id":"1","type":"opened","occurred_at":1700000000,"campaign_id":"c1","channel":"email"},
            {"id":"2","type":"opened","occurred_at":1700000100,"campaign_id":"c1","channel":"email"},
            {"id":"2","type":"opened","occurred_at":1700000100,"campaign_id":"c1","channel":"email"},
            {"id":"3","type":"bogus","occurred_at":1700000100}
        ]"#;
        let headers = standard_webhook_headers(
            &Secret::parse(secret).unwrap(),
            "msg_1",
            1_700_000_200,
            body,
        )
        .to_vec();
        let request = InboundRequest {
            method: "POST",
            url: &public_url("https://ops.example.com", "/webhooks/generic"),
            headers: &headers,
            body,
        };
        assert_eq!(credentials.verify(&request, 1_700_000_210), Ok(()));
        let batch = parse_batch(Platform::Generic, &request, 1_700_000_210).unwrap();
        assert_eq!((batch.duplicates_in_batch, batch.unknown_count()), (1, 1));
        let deltas = aggregate(&batch.events, Granularity::Hour);
        assert_eq!(deltas.len(), 1);
        assert_eq!(deltas.values().next(), Some(&2));
    }

    #[test]
    fn every_platform_bounds_replays_within_the_dedupe_retention() {
        for platform in Platform::ALL {
            let windows = [platform.request_window(), platform.event_window()];
            assert!(windows.iter().any(Option::is_some), "{platform}");
            for w in windows.into_iter().flatten() {
                assert!(w.within_dedupe_retention(), "{platform}: {w:?}");
                assert!(w.max_age_secs <= DEDUPE_RETENTION_SECS - replay::REPLAY_MARGIN_SECS);
            }
        }
        assert_eq!(Platform::Mandrill.request_window(), None);
        assert_eq!(
            Platform::Sendgrid.request_window(),
            Some(ReplayWindow::DEDUPE)
        );
    }
}
