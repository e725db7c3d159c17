//! Mandrill: the `X-Mandrill-Signature` header, the form body (`mandrill_events` and
//! any other POST variables, sorted for the signature) and the JSON it holds,
//! through `Credentials::verify` and `parse_batch` as `POST /webhooks/mandrill`
//! calls them, with the URL built from `public_base_url` and the `:path` given.
//!
//! Each input is received as written, then re-signed with the configured key as
//! Mandrill would sign it (which must verify: Mandrill signs no time) and its
//! batch checked by `check_batch`.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use opsflow_domain::webhooks::mandrill::{SIGNATURE_HEADER, signature};
use opsflow_domain::webhooks::{Credentials, Platform};
use opsflow_fuzz::{Delivery, receive};

const KEY: &str = "mandrill-new-key";

static CREDENTIALS: LazyLock<Credentials> = LazyLock::new(|| {
    Credentials::from_config(Platform::Mandrill, Some(&format!("mandrill-old-key {KEY}")))
        .expect("credentials")
});

fuzz_target!(|data: &[u8]| {
    let delivery = Delivery::parse(data, Platform::Mandrill);
    let _ = receive(
        Platform::Mandrill,
        &CREDENTIALS,
        &delivery,
        &delivery.headers,
    );

    let sent = signature(KEY, &delivery.url(), delivery.body);
    let headers = delivery.with_headers(&[(SIGNATURE_HEADER, sent)]);
    if let Err(e) = receive(Platform::Mandrill, &CREDENTIALS, &delivery, &headers) {
        panic!("a request Mandrill signed was refused: {e:?}");
    }
});
