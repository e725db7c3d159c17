//! What the benchmarks that seed the app's store share: the shipped app started
//! on SQLite with an admin token, the store seen through `opsflow_store::Kv`,
//! one-off requests, and the ids and times the app mints.

use anyhow::Result;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use opsflow_host::kv::Backend;
use opsflow_host::{KvMode, UpOptions};
use opsflow_store::{Kv, StoreError};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

/// The benchmarks' bearer token: an admin.
pub const TOKEN: &str = "bench-admin-token";
/// The app's store.
pub const STORE: &str = "default";

/// `opsflow_store::Kv` over the host's backend, called in-process.
pub struct HostKv(pub Arc<dyn Backend>);

fn kv_err(e: opsflow_host::kv::KvError) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

impl Kv for HostKv {
    type Cas = (String, Option<Vec<u8>>);
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.0.get(STORE, key).map_err(kv_err)
    }
    async fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.0.set(STORE, key, value).map_err(kv_err)
    }
    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.0.delete(STORE, key).map_err(kv_err)
    }
    async fn get_many(&self, keys: &[String]) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.0.get_many(STORE, keys).map_err(kv_err)
    }
    async fn set_many(&self, pairs: &[(String, Vec<u8>)]) -> Result<(), StoreError> {
        self.0.set_many(STORE, pairs).map_err(kv_err)
    }
    async fn delete_many(&self, keys: &[String]) -> Result<(), StoreError> {
        self.0.delete_many(STORE, keys).map_err(kv_err)
    }
    async fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        self.0.increment(STORE, key, delta).map_err(kv_err)
    }
    async fn watch(&self, key: &str) -> Result<(Option<Vec<u8>>, Self::Cas), StoreError> {
        let current = self.0.get(STORE, key).map_err(kv_err)?;
        Ok((current.clone(), (key.to_string(), current)))
    }
    async fn swap(&self, cas: Self::Cas, value: &[u8]) -> Result<bool, StoreError> {
        self.0
            .compare_and_swap(STORE, &cas.0, cas.1.as_deref(), value)
            .map_err(kv_err)
    }
}

/// One HTTP/1.1 request with the bench's token; returns the status and the body.
pub async fn call_raw(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &Value,
) -> Result<(u16, Bytes)> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let req = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost")
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(serde_json::to_vec(body)?)))?;
    let resp = sender.send_request(req).await?;
    let status = resp.status().as_u16();
    Ok((status, resp.into_body().collect().await?.to_bytes()))
}

/// [`call_raw`], the body read as JSON (`Null` if it is not).
pub async fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &Value,
) -> Result<(u16, Value)> {
    let (status, bytes) = call_raw(addr, method, path, body).await?;
    Ok((
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    ))
}

/// The environment variable `name` parsed, else `default`.
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// RFC 3339 (UTC, whole seconds) for a Unix time.
pub fn rfc3339(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// `n` distinct campaign ids, minted as if created a millisecond apart from `start`.
pub fn campaign_ids(start: i64, n: usize) -> Result<Vec<String>> {
    let base_millis = u64::try_from(start)? * 1_000;
    Ok((0..n)
        .map(|i| {
            let mut random = [0u8; 10];
            random[..8].copy_from_slice(&(i as u64).to_be_bytes());
            opsflow_api::ids::id_from(base_millis + i as u64, random)
        })
        .collect())
}

/// Starts the shipped app's `components` on SQLite in `state`, with the bench's
/// admin token.
pub async fn start_app(
    root: &Path,
    state: &Path,
    components: &[&str],
) -> Result<opsflow_host::RunningApp> {
    let tokens = json!({
        opsflow_api::auth::token_hash(TOKEN): {"sub": "bench", "roles": ["admin"]}
    });
    let mut opts = UpOptions::new(root.join("spin.toml"));
    opts.listen = "127.0.0.1:0".parse()?;
    opts.state_dir = Some(state.to_path_buf());
    opts.compile_cache = Some(root.join("target"));
    opts.kv = KvMode::Sqlite;
    opts.env_vars = Some(BTreeMap::from([(
        "SPIN_VARIABLE_API_TOKENS".to_string(),
        tokens.to_string(),
    )]));
    opts.component_ids = components.iter().map(|c| c.to_string()).collect();
    opsflow_host::up(opts).await
}
