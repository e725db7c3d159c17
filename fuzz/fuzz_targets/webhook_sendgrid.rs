//! SendGrid Event Webhook: the signature and timestamp headers and the body, through
//! `Credentials::verify` and `parse_batch` as `POST /webhooks/sendgrid` calls them.
//!
//! Each input is received twice: as written (the headers the fuzzer chose, which
//! must never panic the verifier), and re-signed with the configured key over the
//! timestamp it carries, as SendGrid would sign it, which must verify unless that
//! timestamp is malformed or outside the replay window; the batch it then parses
//! must pass `check_batch`.
#![no_main]

use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use libfuzzer_sys::fuzz_target;
use opsflow_domain::webhooks::sendgrid::{SIGNATURE_HEADER, TIMESTAMP_HEADER};
use opsflow_domain::webhooks::{Credentials, Platform, VerifyError};
use opsflow_fuzz::{Delivery, NOW, receive};
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::EncodePublicKey;

static KEY: LazyLock<(SigningKey, Credentials)> = LazyLock::new(|| {
    let mut scalar = [0x42u8; 32];
    scalar[31] = 1;
    let key = SigningKey::from_slice(&scalar).expect("scalar");
    let der = p256::PublicKey::from(key.verifying_key())
        .to_public_key_der()
        .expect("der");
    let config = STANDARD.encode(der.as_bytes());
    let credentials =
        Credentials::from_config(Platform::Sendgrid, Some(&config)).expect("credentials");
    (key, credentials)
});

fuzz_target!(|data: &[u8]| {
    let (key, credentials) = &*KEY;
    let delivery = Delivery::parse(data, Platform::Sendgrid);
    let _ = receive(
        Platform::Sendgrid,
        credentials,
        &delivery,
        &delivery.headers,
    );

    let timestamp = delivery
        .header_text(TIMESTAMP_HEADER)
        .map_or_else(|| NOW.to_string(), str::to_owned);
    let mut signed = timestamp.as_bytes().to_vec();
    signed.extend_from_slice(delivery.body);
    let signature: Signature = key.sign(&signed);
    let headers = delivery.with_headers(&[
        (
            SIGNATURE_HEADER,
            STANDARD.encode(signature.to_der().as_bytes()),
        ),
        (TIMESTAMP_HEADER, timestamp),
    ]);
    match receive(Platform::Sendgrid, credentials, &delivery, &headers) {
        Ok(()) => {}
        Err(e) if e.is_outside_window() || e == VerifyError::Malformed(TIMESTAMP_HEADER) => {}
        Err(e) => panic!("a request SendGrid signed was refused: {e:?}"),
    }
});
