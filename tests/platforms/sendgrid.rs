//! SendGrid's Event Webhook as the platform sends it: batches of events signed with
//! ECDSA P-256 over `timestamp ‖ body`, keys made here from fixed scalars.
#![allow(dead_code)]

use crate::support::{App, Reply, now_secs};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::EncodePublicKey;
use serde_json::{Value, json};

/// A key pair from a fixed scalar: (signing key, base64 DER public key, the form
/// SendGrid shows and `sendgrid_verification_key` holds).
pub fn key(seed: u8) -> (SigningKey, String) {
    let mut scalar = [0x42u8; 32];
    scalar[31] = seed;
    let key = SigningKey::from_slice(&scalar).expect("scalar");
    let der = p256::PublicKey::from(key.verifying_key())
        .to_public_key_der()
        .expect("der");
    (key, B64.encode(der.as_bytes()))
}

/// One event; attributed to `campaign` (on email) when given.
pub fn event(id: &str, kind: &str, campaign: Option<&str>) -> Value {
    let mut e = json!({
        "email": "someone@example.com",
        "event": kind,
        "sg_event_id": id,
        "sg_message_id": "msg-1",
        "timestamp": now_secs(),
    });
    if let Some(c) = campaign {
        e["campaign_id"] = json!(c);
        e["channel"] = json!("email");
    }
    e
}

/// `n` events for `campaign`, cycling delivered/open/click, ids `<prefix>-<i>`.
pub fn events(prefix: &str, campaign: &str, n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let kind = ["delivered", "open", "click"][i % 3];
            event(&format!("{prefix}-{i}"), kind, Some(campaign))
        })
        .collect()
}

/// [`events`] as a request body.
pub fn batch(prefix: &str, campaign: &str, n: usize) -> Vec<u8> {
    serde_json::to_vec(&events(prefix, campaign, n)).expect("json")
}

/// The headers SendGrid signs a request with.
pub fn headers(key: &SigningKey, timestamp: &str, body: &[u8]) -> Vec<(String, String)> {
    let mut content = timestamp.as_bytes().to_vec();
    content.extend_from_slice(body);
    let signature: Signature = key.sign(&content);
    vec![
        ("content-type".into(), "application/json".into()),
        (
            "X-Twilio-Email-Event-Webhook-Signature".into(),
            B64.encode(signature.to_der().as_bytes()),
        ),
        (
            "X-Twilio-Email-Event-Webhook-Timestamp".into(),
            timestamp.into(),
        ),
    ]
}

/// Posts `body` signed with key 1, now.
pub async fn post(app: &App, body: Vec<u8>) -> Reply {
    let headers = headers(&key(1).0, &now_secs().to_string(), &body);
    post_raw(app, "/webhooks/sendgrid", &headers, body).await
}

/// Posts raw bytes with exactly `headers`.
pub async fn post_raw(app: &App, path: &str, headers: &[(String, String)], body: Vec<u8>) -> Reply {
    let mut req = app.client.post(app.url(path)).body(body);
    for (k, v) in headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let resp = req.send().await.expect("sent");
    Reply {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        body: resp.text().await.expect("body"),
    }
}
