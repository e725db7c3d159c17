//! `Idempotency-Key` on POST: the first request with a key runs and its response
//! is stored; a repeat with the same body gets the stored response; a repeat with a
//! different body is refused (422); a repeat while the first is still running gets 409.
//!
//! Replaying responses is an HTTP concept, so it lives here; the record is kept in
//! the store under [`opsflow_store::keys::shared::idempotency`] (scope, caller, key),
//! written with compare-and-swap so two concurrent first requests cannot both run.

use crate::{ApiRequest, ApiResponse, Problem};
use opsflow_store::keys::shared::idempotency;
use opsflow_store::{Kv, StoreError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A claim left `Running` this long (a crashed instance) no longer blocks its key.
const STALE_CLAIM_SECS: i64 = 60;

/// The stored state of one key.
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
    let body_hash = fingerprint(req);
    let (current, cas) = kv.watch(&key).await?;
    let now = unix_now();
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

/// What makes a repeat "the same request": method, path, query and body (the
/// caller and the operation are in the key). A key sent to another record's path
/// (`/api/content/B/submit` after `/api/content/A/submit`, both without a body) is
/// another request, refused as a reuse, never answered with A's response. Stored
/// as `body_hash` (its name before the path was part of it).
fn fingerprint(req: &ApiRequest) -> String {
    let mut hash = Sha256::new();
    for part in [
        req.method.as_bytes(),
        req.path.as_bytes(),
        req.raw_query.as_bytes(),
    ] {
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part);
    }
    hash.update(&req.body);
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn unix_now() -> i64 {
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

/// Runs `handler` under the request's idempotency key: [`claim`], run, [`finish`].
pub async fn run<'a, K: Kv, F: std::future::Future<Output = ApiResponse> + 'a>(
    kv: &'a K,
    scope: &'a str,
    caller: &'a str,
    req: &'a ApiRequest,
    handler: impl FnOnce() -> F + 'a,
) -> ApiResponse {
    // The handler as a boxed trait object (not started until claimed): the claim
    // and finish steps are compiled once, not inlined into every handler's future
    // (BENCHMARKS.md, "Component sizes").
    run_boxed(
        kv,
        scope,
        caller,
        req,
        Box::pin(async move { handler().await }),
    )
    .await
}

async fn run_boxed<'a, K: Kv>(
    kv: &'a K,
    scope: &'a str,
    caller: &'a str,
    req: &'a ApiRequest,
    handler: std::pin::Pin<Box<dyn std::future::Future<Output = ApiResponse> + 'a>>,
) -> ApiResponse {
    match claim(kv, scope, caller, req).await {
        Err(p) => p.into(),
        Ok(Claim::Answer(r)) => r,
        Ok(Claim::NoKey) => handler.await,
        Ok(Claim::Run(token)) => {
            let response = handler.await;
            if let Err(e) = finish(kv, token, &response).await {
                return Problem::from(e).into();
            }
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;
    use opsflow_store::MemoryKv;
    use std::cell::Cell;

    fn post(key: Option<&str>, body: &str) -> ApiRequest {
        let headers = key
            .map(|k| vec![("idempotency-key".to_string(), k.to_string())])
            .unwrap_or_default();
        ApiRequest::new("POST", "/api/things", "", headers, body.as_bytes().to_vec())
    }

    /// Runs `req` with a handler answering `status`; returns the answer and whether it ran.
    fn send(kv: &MemoryKv, req: &ApiRequest, status: u16) -> (ApiResponse, bool) {
        let ran = Cell::new(false);
        let response = block_on(run(kv, "things", "alice", req, || async {
            ran.set(true);
            ApiResponse::json(status, &serde_json::json!({"n": 1}))
        }));
        (response, ran.get())
    }

    #[test]
    fn a_repeat_with_the_same_body_replays_the_first_response() {
        let kv = MemoryKv::default();
        let req = post(Some("k1"), r#"{"a":1}"#);
        let (first, ran) = send(&kv, &req, 201);
        assert!(ran);
        let (again, ran_again) = send(&kv, &req, 201);
        assert!(!ran_again, "the handler runs once");
        assert_eq!((again.status, &again.body), (first.status, &first.body));
        assert!(
            again
                .headers
                .contains(&("idempotent-replayed".into(), "true".into()))
        );
    }

    #[test]
    fn a_repeat_with_another_body_is_refused() {
        let kv = MemoryKv::default();
        send(&kv, &post(Some("k1"), r#"{"a":1}"#), 201);
        let (refused, ran) = send(&kv, &post(Some("k1"), r#"{"a":2}"#), 201);
        assert!(!ran);
        assert_eq!(refused.status, 422);
    }

    #[test]
    fn the_same_key_on_another_record_is_another_request_not_a_replay() {
        let kv = MemoryKv::default();
        let submit = |path: &str| {
            ApiRequest::new(
                "POST",
                path,
                "",
                vec![("idempotency-key".into(), "k1".into())],
                Vec::new(),
            )
        };
        send(&kv, &submit("/api/content/A/submit"), 200);
        let (other, ran) = send(&kv, &submit("/api/content/B/submit"), 200);
        assert!(!ran, "B is not submitted under A's key");
        assert_eq!(
            other.status, 422,
            "refused as a reuse, not replayed as A's answer"
        );
    }

    #[test]
    fn a_repeat_while_the_first_runs_is_a_conflict() {
        let kv = MemoryKv::default();
        let req = post(Some("k1"), "{}");
        let Ok(Claim::Run(_token)) = block_on(claim(&kv, "things", "alice", &req)) else {
            panic!("the first request owns the key");
        };
        let (busy, ran) = send(&kv, &req, 201);
        assert!(!ran);
        assert_eq!(busy.status, 409);
    }

    #[test]
    fn a_server_error_releases_the_key_so_a_retry_runs_again() {
        let kv = MemoryKv::default();
        let req = post(Some("k1"), "{}");
        assert_eq!(send(&kv, &req, 503).0.status, 503);
        let (retry, ran) = send(&kv, &req, 201);
        assert!(ran);
        assert_eq!(retry.status, 201);
    }

    #[test]
    fn keys_are_per_caller_and_no_key_just_runs() {
        let kv = MemoryKv::default();
        let req = post(Some("k1"), "{}");
        send(&kv, &req, 201);
        let ran = Cell::new(false);
        block_on(run(&kv, "things", "bob", &req, || async {
            ran.set(true);
            ApiResponse::empty(201)
        }));
        assert!(ran.get(), "another caller's key does not collide");
        let before = kv.calls();
        assert!(send(&kv, &post(None, "{}"), 201).1);
        assert_eq!(kv.calls(), before, "no key, no store call");
    }
}
