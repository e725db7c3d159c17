//! `Idempotency-Key` on POST: the first request with a key runs and its response
//! is stored; a repeat with the same body gets the stored response; a repeat with a
//! different body is refused; a repeat while the first is still running gets 409.

use crate::keys::shared::idempotency;
use crate::kv::{Kv, StoreError};
use opsflow_api::{ApiRequest, ApiResponse, Problem};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Serialize, Deserialize)]
enum Slot {
    Running {
        body_hash: String,
        since: i64,
    },
    Done {
        body_hash: String,
        response: ApiResponse,
    },
}

/// What to do with a request.
pub enum Claim<C> {
    /// No key sent: just run.
    NoKey,
    /// First use of the key: run, then [`finish`] with the returned token.
    Run(Token<C>),
    /// Answer with this (a replay or a refusal).
    Answer(ApiResponse),
}

/// Proof that this request owns a key.
pub struct Token<C> {
    key: String,
    body_hash: String,
    _cas: std::marker::PhantomData<C>,
}

/// Claims the request's `Idempotency-Key` (if any) for `caller` within `scope`.
pub async fn claim<K: Kv>(
    kv: &K,
    scope: &str,
    caller: &str,
    req: &ApiRequest,
) -> Result<Claim<K::Cas>, Problem> {
    let Some(key) = req.idempotency_key()? else {
        return Ok(Claim::NoKey);
    };
    let key = idempotency(scope, caller, key).as_str().to_string();
    let body_hash: String = Sha256::digest(&req.body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let (current, cas) = kv.watch(&key).await?;
    let now = chrono_now();
    let take = match current {
        None => true,
        Some(bytes) => match serde_json::from_slice::<Slot>(&bytes) {
            Ok(Slot::Done {
                body_hash: h,
                response,
            }) if h == body_hash => {
                return Ok(Claim::Answer(
                    response.with_header("idempotent-replayed", "true"),
                ));
            }
            // A claim abandoned by a crashed instance expires rather than blocking the key.
            Ok(Slot::Running {
                body_hash: h,
                since,
            }) if h == body_hash => now - since > STALE_CLAIM_SECS,
            Ok(_) => return Ok(Claim::Answer(reused())),
            Err(e) => return Err(StoreError::Corrupt(e.to_string()).into()),
        },
    };
    if !take {
        return Ok(Claim::Answer(in_progress()));
    }
    let running = serde_json::to_vec(&Slot::Running {
        body_hash: body_hash.clone(),
        since: now,
    })
    .map_err(|e| Problem::from(StoreError::Corrupt(e.to_string())))?;
    if kv.swap(cas, &running).await? {
        Ok(Claim::Run(Token {
            key,
            body_hash,
            _cas: std::marker::PhantomData,
        }))
    } else {
        Ok(Claim::Answer(in_progress()))
    }
}

const STALE_CLAIM_SECS: i64 = 60;

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

fn in_progress() -> ApiResponse {
    Problem::conflict(
        "idempotency-in-progress",
        "a request with this Idempotency-Key is still being processed; retry shortly",
    )
    .into()
}

fn reused() -> ApiResponse {
    Problem::new(
        422,
        "idempotency-key-reused",
        "Idempotency-Key reused",
        "this Idempotency-Key was used with a different request body",
    )
    .into()
}

/// Stores the response of a claimed request. Server errors release the key so a
/// retry runs again; everything else is replayed from now on.
pub async fn finish<K: Kv>(
    kv: &K,
    token: Token<K::Cas>,
    response: &ApiResponse,
) -> Result<(), StoreError> {
    if response.status >= 500 {
        return kv.delete(&token.key).await;
    }
    let done = serde_json::to_vec(&Slot::Done {
        body_hash: token.body_hash,
        response: response.clone(),
    })
    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    kv.set(&token.key, &done).await
}

/// Runs `handler` under the request's idempotency key.
pub async fn run<K: Kv, F: std::future::Future<Output = ApiResponse>>(
    kv: &K,
    scope: &str,
    caller: &str,
    req: &ApiRequest,
    handler: impl FnOnce() -> F,
) -> ApiResponse {
    match claim(kv, scope, caller, req).await {
        Err(p) => p.into(),
        Ok(Claim::Answer(r)) => r,
        Ok(Claim::NoKey) => handler().await,
        Ok(Claim::Run(token)) => {
            let response = handler().await;
            if let Err(e) = finish(kv, token, &response).await {
                return Problem::from(e).into();
            }
            response
        }
    }
}
