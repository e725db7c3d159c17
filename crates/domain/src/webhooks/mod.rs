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
//!    — any other [`VerifyError`] → 401;
//! 4. [`parse_batch`] — a [`PayloadError`] → 400;
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
//! | [`generic`] | `id` | `campaign_id`, `channel`, `content_id` fields |
//!
//! Events without a campaign are kept (see [`ParsedBatch::unattributed`]), events
//! of kinds we do not count are listed in [`ParsedBatch::unknown`], and elements
//! that are not readable events in [`ParsedBatch::rejected`]: a batch fails as a
//! whole only when its body is not a JSON array (or, for Mandrill, lacks one).

pub mod aggregate;
pub mod event;
pub mod generic;
pub mod hubspot;
pub mod mandrill;
pub mod sendgrid;
pub mod verify;

pub use aggregate::{Granularity, MetricKey, aggregate};
pub use event::{
    MetricKind, NormalizedEvent, ParsedBatch, PayloadError, Platform, RejectedElement, UnknownEvent,
};
pub use generic::{Secret, sign_standard_webhook, standard_webhook_headers};
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

/// Parse a verified body from `platform` into normalised events.
pub fn parse_batch(platform: Platform, body: &[u8]) -> Result<ParsedBatch, PayloadError> {
    match platform {
        Platform::Sendgrid => sendgrid::parse(body),
        Platform::Mandrill => mandrill::parse(body),
        Platform::Hubspot => hubspot::parse(body),
        Platform::Generic => generic::parse(body),
    }
}

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
        let batch = parse_batch(Platform::Generic, body).unwrap();
        assert_eq!((batch.duplicates_in_batch, batch.unknown_count()), (1, 1));
        let deltas = aggregate(&batch.events, Granularity::Hour);
        assert_eq!(deltas.len(), 1);
        assert_eq!(deltas.values().next(), Some(&2));
    }
}
