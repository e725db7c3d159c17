//! Standard Webhooks: the `webhook-id`, `webhook-timestamp` and `webhook-signature`
//! headers (a list of versioned signatures) and the body, a single message object
//! or our batch array, through `Credentials::verify` and `parse_batch` as
//! `POST /webhooks/generic` calls them.
//!
//! Each input is received as written, then re-signed with the configured secret
//! (id and timestamp as it carries them), as a Standard Webhooks library would
//! sign it, which must verify unless the timestamp is malformed or outside the
//! five-minute window; the batch it then parses must pass `check_batch`.
#![no_main]

use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use libfuzzer_sys::fuzz_target;
use opsflow_domain::webhooks::generic::{ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use opsflow_domain::webhooks::{Credentials, Platform, Secret, VerifyError, sign_standard_webhook};
use opsflow_fuzz::{Delivery, NOW, receive};

static SECRET: LazyLock<(Secret, Credentials)> = LazyLock::new(|| {
    let text = |n: u8| {
        format!(
            "whsec_{}",
            STANDARD.encode(format!("generic-secret-number-{n}"))
        )
    };
    let secret = Secret::parse(&text(2)).expect("secret");
    let config = format!("{} {}", text(1), text(2));
    let credentials =
        Credentials::from_config(Platform::Generic, Some(&config)).expect("credentials");
    (secret, credentials)
});

fuzz_target!(|data: &[u8]| {
    let (secret, credentials) = &*SECRET;
    let delivery = Delivery::parse(data, Platform::Generic);
    let _ = receive(Platform::Generic, credentials, &delivery, &delivery.headers);

    let id = delivery
        .header_text(ID_HEADER)
        .unwrap_or("msg_fuzz")
        .to_owned();
    // The signer writes the timestamp in canonical decimal; one sent otherwise
    // (leading zeros) is signed as written by its sender and cannot be re-signed here.
    let timestamp = match delivery.header_text(TIMESTAMP_HEADER) {
        None => NOW,
        Some(t) => match t.parse::<i64>() {
            Ok(n) if n.to_string() == t => n,
            _ => return,
        },
    };
    let sent = sign_standard_webhook(secret, &id, timestamp, delivery.body);
    let headers = delivery.with_headers(&[
        (ID_HEADER, id),
        (TIMESTAMP_HEADER, timestamp.to_string()),
        (SIGNATURE_HEADER, sent),
    ]);
    match receive(Platform::Generic, credentials, &delivery, &headers) {
        Ok(()) => {}
        Err(e) if e.is_outside_window() || e == VerifyError::Malformed(TIMESTAMP_HEADER) => {}
        Err(e) => panic!("a request signed by the Standard Webhooks scheme was refused: {e:?}"),
    }
});
