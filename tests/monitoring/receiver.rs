//! A local webhook receiver: records what trigger-dispatch delivers and answers
//! with the statuses a test queues.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use crate::builders::SECRET;
use crate::support::now_secs;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One request the receiver saw: headers and body.
type Seen = (Vec<(String, String)>, Vec<u8>);

/// A local webhook receiver that records requests and answers with queued statuses
/// (200 once the queue is empty).
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    statuses: Arc<Mutex<VecDeque<u16>>>,
}

impl Receiver {
    pub async fn spawn() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let me = Receiver {
            url: format!("http://{addr}/hooks/ops"),
            seen: Arc::default(),
            statuses: Arc::default(),
        };
        let state = me.clone();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let state = state.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    let head_end = loop {
                        let Ok(n) = sock.read(&mut chunk).await else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break p + 4;
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                    let headers: Vec<(String, String)> = head
                        .lines()
                        .skip(1)
                        .filter_map(|l| l.split_once(':'))
                        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                        .collect();
                    let chunked = headers
                        .iter()
                        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
                    let len: usize = headers
                        .iter()
                        .find(|(k, _)| k == "content-length")
                        .and_then(|(_, v)| v.parse().ok())
                        .unwrap_or(0);
                    let complete = |buf: &[u8]| {
                        if chunked {
                            buf[head_end..].windows(5).any(|w| w == b"0\r\n\r\n")
                        } else {
                            buf.len() >= head_end + len
                        }
                    };
                    while !complete(&buf) {
                        let Ok(n) = sock.read(&mut chunk).await else {
                            return;
                        };
                        if n == 0 {
                            break;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                    }
                    let raw = &buf[head_end..];
                    let body = if chunked { dechunk(raw) } else { raw.to_vec() };
                    let status = state
                        .statuses
                        .lock()
                        .expect("lock")
                        .pop_front()
                        .unwrap_or(200);
                    state.seen.lock().expect("lock").push((headers, body));
                    let reply = format!(
                        "HTTP/1.1 {status} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
                    );
                    let _ = sock.write_all(reply.as_bytes()).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        me
    }

    pub fn count(&self) -> usize {
        self.seen.lock().expect("lock").len()
    }

    pub fn fail_next(&self, statuses: &[u16]) {
        self.statuses.lock().expect("lock").extend(statuses);
    }

    /// Every recorded request verifies as a Standard Webhooks message.
    pub fn verify_all(&self) -> Vec<Value> {
        let secrets =
            opsflow_domain::webhooks::generic::Secrets::parse(Some(SECRET)).expect("secret");
        let seen = self.seen.lock().expect("lock");
        seen.iter()
            .map(|(headers, body)| {
                let req = opsflow_domain::webhooks::InboundRequest {
                    method: "POST",
                    url: "/hooks/ops",
                    headers,
                    body,
                };
                opsflow_domain::webhooks::generic::verify(&secrets, &req, now_secs())
                    .expect("signature verifies");
                serde_json::from_slice(body).expect("json body")
            })
            .collect()
    }
}

/// Decodes a `Transfer-Encoding: chunked` body.
fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&raw[..eol])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 || raw.len() < eol + 2 + size {
            break;
        }
        out.extend_from_slice(&raw[eol + 2..eol + 2 + size]);
        raw = &raw[(eol + 4 + size).min(raw.len())..];
    }
    out
}
