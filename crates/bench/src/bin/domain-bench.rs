//! `cargo run --profile host -p opsflow-bench --bin domain-bench`: the webhook intake's
//! pure logic, natively — the denominator of the wasm-vs-native ratio.
//!
//! Verifies, parses and aggregates the same signed 100-event SendGrid batches that
//! `webhook-bench` posts to the campaign-intake component, with the same domain
//! crate, in one native thread, and prints the time per batch. Compare with
//! `webhook-bench`'s single-connection in-memory p50 (the component doing this plus
//! HTTP, instantiation and its KV calls, in wasm).
#![forbid(unsafe_code)]

use anyhow::{Result, bail};
use opsflow_bench::sendgrid::{EVENTS_PER_BATCH, now, prepare};
use opsflow_domain::webhooks::{
    Credentials, Granularity, InboundRequest, Platform, aggregate, parse_batch, sendgrid,
};
use p256::ecdsa::SigningKey;
use p256::pkcs8::EncodePublicKey;
use std::time::Instant;

fn main() -> Result<()> {
    let batches: usize = std::env::var("BENCH_BATCHES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let key = SigningKey::random(&mut rand_core::OsRng);
    let public = p256::PublicKey::from(key.verifying_key()).to_public_key_der()?;
    let public = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        public.as_bytes(),
    );
    let credentials = Credentials::from_config(Platform::Sendgrid, Some(&public))
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let (prepared, _) = prepare(&key, "native", 3, batches)?;
    let at = now();

    println!("| step | per batch (mean) | events/s |");
    println!("|---|---|---|");
    let mut verify_total = std::time::Duration::ZERO;
    let mut parse_total = std::time::Duration::ZERO;
    let mut counters = 0usize;
    for b in &prepared {
        let headers = vec![
            (sendgrid::SIGNATURE_HEADER, b.signature.as_bytes()),
            (sendgrid::TIMESTAMP_HEADER, b.timestamp.as_bytes()),
        ];
        let request = InboundRequest {
            method: "POST",
            url: "http://127.0.0.1:3000/webhooks/sendgrid",
            headers: &headers,
            body: &b.body,
        };
        let t = Instant::now();
        if let Err(e) = credentials.verify(&request, at) {
            bail!("a prepared batch did not verify: {e:?}");
        }
        verify_total += t.elapsed();
        let t = Instant::now();
        let parsed =
            parse_batch(Platform::Sendgrid, &request, at).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        counters += aggregate(&parsed.events, Granularity::Hour).len();
        parse_total += t.elapsed();
    }
    let n = prepared.len() as f64;
    let row = |name: &str, d: std::time::Duration| {
        let per = d.as_secs_f64() / n;
        println!(
            "| {name} | {:.3} ms | {:.0} |",
            per * 1000.0,
            EVENTS_PER_BATCH as f64 / per
        );
    };
    row("verify (ECDSA P-256 over timestamp + body)", verify_total);
    row("parse + normalise + aggregate", parse_total);
    row("both", verify_total + parse_total);
    println!("\n{batches} batches of {EVENTS_PER_BATCH} events; {counters} counter deltas in all");
    Ok(())
}
