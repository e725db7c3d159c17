//! Signed SendGrid event batches, as the webhook benchmarks post or verify them.

use anyhow::{Context, Result};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Events per batch (the batch size).
pub const EVENTS_PER_BATCH: usize = 100;
/// Campaigns the events are attributed to (round robin within each batch).
pub const CAMPAIGNS: usize = 3;
/// Hours the batches span (the run walks forward through them, like live traffic).
pub const HOURS: i64 = 3;
/// Channels (custom arg `channel`).
pub const CHANNELS: [&str; 2] = ["email", "newsletter"];
/// SendGrid event kinds posted, cycling, with the metric each counts as.
pub const KINDS: [(&str, &str); 10] = [
    ("processed", "sent"),
    ("delivered", "delivered"),
    ("open", "opened"),
    ("click", "clicked"),
    ("delivered", "delivered"),
    ("open", "opened"),
    ("deferred", "deferred"),
    ("bounce", "bounced"),
    ("unsubscribe", "unsubscribed"),
    ("spamreport", "spam_reports"),
];
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// One prepared, signed request.
pub struct Batch {
    /// The JSON array body.
    pub body: Bytes,
    /// `X-Twilio-Email-Event-Webhook-Signature`.
    pub signature: String,
    /// `X-Twilio-Email-Event-Webhook-Timestamp`.
    pub timestamp: String,
}

/// Totals the metrics API should report, per campaign and kind.
pub type Expected = BTreeMap<String, BTreeMap<String, i64>>;

/// `n` batches for `campaigns` (prefix `tag`), signed with `key`, and their totals.
pub fn prepare(
    key: &SigningKey,
    tag: &str,
    campaigns: usize,
    n: usize,
) -> Result<(Vec<Batch>, Expected)> {
    let start = now();
    let mut expected = Expected::new();
    let mut batches = Vec::with_capacity(n);
    for b in 0..n {
        // Batch b carries events of hour (HOURS - 1 - b * HOURS / n) hours ago.
        let hours_ago = HOURS - 1 - (b as i64 * HOURS / n.max(1) as i64);
        let at = start - hours_ago * 3_600;
        let events: Vec<Value> = (0..EVENTS_PER_BATCH)
            .map(|i| {
                let campaign = format!("{tag}-c{}", i % campaigns);
                let (event, metric) = KINDS[(b + i) % KINDS.len()];
                *expected
                    .entry(campaign.clone())
                    .or_default()
                    .entry(metric.to_string())
                    .or_default() += 1;
                json!({
                    "email": format!("user{}@example.com", (b * EVENTS_PER_BATCH + i) % 5_000),
                    "event": event,
                    "sg_event_id": format!("{tag}-b{b}-e{i}"),
                    "sg_message_id": format!("{tag}-msg-{}", (b * EVENTS_PER_BATCH + i) / 4),
                    "timestamp": at - (i as i64 % 600),
                    "campaign_id": campaign,
                    "channel": CHANNELS[i % CHANNELS.len()],
                    "content_id": format!("{tag}-content-{}", i % 4),
                })
            })
            .collect();
        let body = serde_json::to_vec(&events).context("batch JSON")?;
        let timestamp = now().to_string();
        let mut signed = timestamp.as_bytes().to_vec();
        signed.extend_from_slice(&body);
        let signature: Signature = key.sign(&signed);
        batches.push(Batch {
            body: Bytes::from(body),
            signature: B64.encode(signature.to_der().as_bytes()),
            timestamp,
        });
    }
    Ok((batches, expected))
}
