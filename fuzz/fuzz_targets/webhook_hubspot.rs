//! HubSpot v3: the signature and millisecond timestamp headers, the method and URL
//! (with HubSpot's partial percent-decoding of the URI) and the body, through
//! `Credentials::verify` and `parse_batch` as `POST /webhooks/hubspot` calls them.
//!
//! Each input is received as written, then re-signed with the configured secret
//! over the timestamp it carries, as HubSpot would sign it, which must verify
//! unless that timestamp is malformed or outside the five-minute window; the
//! batch it then parses must pass `check_batch`.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use opsflow_domain::webhooks::hubspot::{SIGNATURE_HEADER, TIMESTAMP_HEADER, signature};
use opsflow_domain::webhooks::{Credentials, Platform, VerifyError};
use opsflow_fuzz::{Delivery, NOW, receive};

const SECRET: &str = "hubspot-secret-new";

static CREDENTIALS: LazyLock<Credentials> = LazyLock::new(|| {
    Credentials::from_config(
        Platform::Hubspot,
        Some(&format!("hubspot-secret-old {SECRET}")),
    )
    .expect("credentials")
});

fuzz_target!(|data: &[u8]| {
    let delivery = Delivery::parse(data, Platform::Hubspot);
    let _ = receive(
        Platform::Hubspot,
        &CREDENTIALS,
        &delivery,
        &delivery.headers,
    );

    let timestamp = delivery
        .header_text(TIMESTAMP_HEADER)
        .map_or_else(|| (NOW * 1000).to_string(), str::to_owned);
    let sent = signature(
        SECRET,
        &delivery.method,
        &delivery.url(),
        delivery.body,
        &timestamp,
    );
    let headers = delivery.with_headers(&[(SIGNATURE_HEADER, sent), (TIMESTAMP_HEADER, timestamp)]);
    match receive(Platform::Hubspot, &CREDENTIALS, &delivery, &headers) {
        Ok(()) => {}
        Err(e) if e.is_outside_window() || e == VerifyError::Malformed(TIMESTAMP_HEADER) => {}
        Err(e) => panic!("a request HubSpot signed was refused: {e:?}"),
    }
});
