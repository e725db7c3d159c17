//! The Redis backend: Spin's `type = "redis"` store, one Redis database per label.
//!
//! Each command is the one Spin's `key-value-redis` sends, so data moves between
//! this host and `spin up` unchanged: `GET`, `SET`, `DEL`, `EXISTS`, one `MGET`,
//! `MSET` or `DEL` per batch, and `INCRBY` (a counter is decimal text, not the
//! 8-byte integer SQLite keeps). The `store` argument is not part of the key: as on
//! Spin, a label owns its whole database, so two labels must not share one url.
//!
//! What must stay true:
//! - Compare-and-swap holds its connection alone from `WATCH` to `EXEC`, and every
//!   path that keeps the connection ends the watch (`EXEC` or `UNWATCH`): a watch
//!   left behind would abort a later, unrelated swap on the same pooled connection.
//! - A connection that saw any error is dropped, never pooled: after a failure we
//!   cannot know what state (a half-read reply, a live `WATCH`) it is in.

use super::{Backend, KvError, KvResult};
use redis::{Client, Connection, RedisError};
use std::sync::Mutex;
use std::time::Duration;

/// How long to wait for a TCP connection (and the server's handshake).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one command may wait for its reply; as SQLite's busy timeout, a stuck
/// store fails the request instead of holding a blocking thread forever.
const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// Idle connections kept for reuse; busier moments open more and drop the extra.
const MAX_IDLE: usize = 16;
/// Keys asked for per `SCAN` step.
const SCAN_COUNT: usize = 1000;

/// A Redis url, checked when the runtime config is read (before any connection).
#[derive(Clone)]
pub struct RedisUrl {
    client: Client,
    /// The url with any password replaced, for messages.
    shown: String,
}

impl RedisUrl {
    /// Parses `redis://[user:password@]host[:port][/db]` or `unix:///path.sock`.
    /// `rediss://` (TLS) is refused: this host is built without TLS for Redis.
    pub fn parse(url: &str) -> Result<Self, String> {
        let shown = redact(url);
        if url.starts_with("rediss://") || url.starts_with("valkeys://") {
            return Err(format!(
                "{shown}: TLS (rediss://) is not available on this host; it runs on `spin up`"
            ));
        }
        let client = Client::open(url).map_err(|e| format!("{shown}: invalid redis url: {e}"))?;
        Ok(Self { client, shown })
    }
}

/// Only the redacted form: the client's own `Debug` would print the password.
impl std::fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("RedisUrl").field(&self.shown).finish()
    }
}

impl std::fmt::Display for RedisUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

/// The url as given, with its password (if any) hidden, so errors can name it.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

/// One Redis server (database) with a small pool of blocking connections.
///
/// A `Mutex<Vec<Connection>>` rather than a pool crate: the host already runs each
/// call on its own blocking thread, so all a pool must do is hand out an idle
/// connection or open one, and keep a few for next time.
pub struct RedisBackend {
    url: RedisUrl,
    idle: Mutex<Vec<Connection>>,
}

/// The server did not answer at start-up.
#[derive(Debug, thiserror::Error)]
#[error("cannot reach redis at {url}: {reason}")]
pub struct ConnectError {
    url: String,
    reason: String,
}

/// A connection with the timeouts every command runs under.
fn open_connection(client: &Client) -> Result<Connection, RedisError> {
    let conn = client.get_connection_with_timeout(CONNECT_TIMEOUT)?;
    conn.set_read_timeout(Some(IO_TIMEOUT))?;
    conn.set_write_timeout(Some(IO_TIMEOUT))?;
    Ok(conn)
}

impl RedisBackend {
    /// Connects and checks the server answers `PING`, so a wrong url fails at start-up
    /// rather than on the first request.
    pub fn connect(url: &RedisUrl) -> Result<Self, ConnectError> {
        let unreachable = |e: RedisError| ConnectError {
            url: url.to_string(),
            reason: e.to_string(),
        };
        let mut conn = open_connection(&url.client).map_err(unreachable)?;
        redis::cmd("PING").exec(&mut conn).map_err(unreachable)?;
        Ok(Self {
            url: url.clone(),
            idle: Mutex::new(vec![conn]),
        })
    }

    /// The url this backend talks to (password hidden).
    pub fn url(&self) -> &RedisUrl {
        &self.url
    }

    /// Runs `f` on a connection of its own; the connection goes back to the pool
    /// only if `f` succeeded.
    fn with_connection<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, RedisError>,
    ) -> KvResult<T> {
        let pooled = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let mut conn = match pooled {
            Some(conn) => conn,
            None => open_connection(&self.url.client).map_err(|e| self.error(e))?,
        };
        match f(&mut conn) {
            Ok(value) => {
                if let Ok(mut idle) = self.idle.lock()
                    && idle.len() < MAX_IDLE
                {
                    idle.push(conn);
                }
                Ok(value)
            }
            Err(e) => {
                if is_connection_error(&e) {
                    // The server went away or restarted: the other idle connections
                    // are as dead as this one, and each would fail a request.
                    if let Ok(mut idle) = self.idle.lock() {
                        idle.clear();
                    }
                }
                Err(self.error(e))
            }
        }
    }

    fn error(&self, e: RedisError) -> KvError {
        if is_connection_error(&e) {
            KvError::Other(format!("redis at {}: connection failed: {e}", self.url))
        } else {
            KvError::Other(format!("redis: {e}"))
        }
    }

    /// Compare-and-swap with `between` run after the read and before `MULTI`: tests
    /// use it to change the key from another connection and see `EXEC` abort.
    fn compare_and_swap_with(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        value: &[u8],
        between: impl FnOnce(),
    ) -> KvResult<bool> {
        self.with_connection(|c| {
            redis::cmd("WATCH").arg(key).exec(c)?;
            let current: Option<Vec<u8>> = redis::cmd("GET").arg(key).query(c)?;
            if current.as_deref() != expected {
                redis::cmd("UNWATCH").exec(c)?;
                return Ok(false);
            }
            between();
            // EXEC answers nil when the watched key changed since WATCH.
            let committed: Option<()> = redis::pipe()
                .atomic()
                .cmd("SET")
                .arg(key)
                .arg(value)
                .ignore()
                .query(c)?;
            Ok(committed.is_some())
        })
    }
}

fn is_connection_error(e: &RedisError) -> bool {
    e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal() || e.is_timeout()
}

impl Backend for RedisBackend {
    fn get(&self, _store: &str, key: &str) -> KvResult<Option<Vec<u8>>> {
        self.with_connection(|c| redis::cmd("GET").arg(key).query(c))
    }

    fn set(&self, _store: &str, key: &str, value: &[u8]) -> KvResult<()> {
        self.with_connection(|c| redis::cmd("SET").arg(key).arg(value).exec(c))
    }

    fn delete(&self, _store: &str, key: &str) -> KvResult<()> {
        self.with_connection(|c| redis::cmd("DEL").arg(key).exec(c))
    }

    fn exists(&self, _store: &str, key: &str) -> KvResult<bool> {
        self.with_connection(|c| redis::cmd("EXISTS").arg(key).query(c))
    }

    fn keys(&self, _store: &str) -> KvResult<Vec<String>> {
        // SCAN rather than Spin's KEYS: the same keys, without blocking the server
        // for the whole walk of a large database.
        let mut keys = self.with_connection(|c| {
            let mut keys = Vec::new();
            let mut cursor = 0u64;
            loop {
                let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("COUNT")
                    .arg(SCAN_COUNT)
                    .query(c)?;
                keys.extend(batch);
                if next == 0 {
                    return Ok(keys);
                }
                cursor = next;
            }
        })?;
        // SCAN may return a key twice; the other backends list each once, in order.
        keys.sort_unstable();
        keys.dedup();
        Ok(keys)
    }

    fn get_many(&self, _store: &str, keys: &[String]) -> KvResult<Vec<(String, Vec<u8>)>> {
        if keys.is_empty() {
            // Redis refuses an MGET without keys.
            return Ok(Vec::new());
        }
        let values: Vec<Option<Vec<u8>>> =
            self.with_connection(|c| redis::cmd("MGET").arg(keys).query(c))?;
        Ok(keys
            .iter()
            .zip(values)
            .filter_map(|(key, value)| value.map(|v| (key.clone(), v)))
            .collect())
    }

    fn set_many(&self, _store: &str, pairs: &[(String, Vec<u8>)]) -> KvResult<()> {
        if pairs.is_empty() {
            return Ok(());
        }
        self.with_connection(|c| {
            let mut mset = redis::cmd("MSET");
            for (key, value) in pairs {
                mset.arg(key).arg(value);
            }
            mset.exec(c)
        })
    }

    fn delete_many(&self, _store: &str, keys: &[String]) -> KvResult<()> {
        if keys.is_empty() {
            return Ok(());
        }
        self.with_connection(|c| redis::cmd("DEL").arg(keys).exec(c))
    }

    fn increment(&self, _store: &str, key: &str, delta: i64) -> KvResult<i64> {
        self.with_connection(|c| redis::cmd("INCRBY").arg(key).arg(delta).query(c))
    }

    fn compare_and_swap(
        &self,
        _store: &str,
        key: &str,
        expected: Option<&[u8]>,
        value: &[u8],
    ) -> KvResult<bool> {
        self.compare_and_swap_with(key, expected, value, || {})
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::RedisServer;

    fn connect(server: &RedisServer) -> RedisBackend {
        RedisBackend::connect(&RedisUrl::parse(&server.url()).expect("url")).expect("connect")
    }

    #[test]
    fn a_swap_is_refused_when_the_key_changes_between_read_and_write() {
        let Some(server) = RedisServer::start_or_skip() else {
            return;
        };
        let b = connect(&server);
        let other = connect(&server);
        b.set("default", "k", b"1").unwrap();
        let swapped = b
            .compare_and_swap_with("k", Some(b"1"), b"2", || {
                other.set("default", "k", b"changed").unwrap();
            })
            .unwrap();
        assert!(!swapped, "EXEC must abort");
        assert_eq!(
            b.get("default", "k").unwrap().as_deref(),
            Some(&b"changed"[..])
        );
    }

    #[test]
    fn a_refused_swap_leaves_no_watch_on_the_pooled_connection() {
        let Some(server) = RedisServer::start_or_skip() else {
            return;
        };
        let b = connect(&server);
        let other = connect(&server);
        b.set("default", "a", b"1").unwrap();
        assert!(
            !b.compare_and_swap("default", "a", Some(b"x"), b"2")
                .unwrap()
        );
        // Had `a` stayed watched, this change would abort the next swap's EXEC.
        other.set("default", "a", b"3").unwrap();
        assert!(b.compare_and_swap("default", "b", None, b"1").unwrap());
        assert_eq!(b.get("default", "b").unwrap().as_deref(), Some(&b"1"[..]));
    }

    #[test]
    fn a_counter_is_decimal_text_as_on_spin() {
        let Some(server) = RedisServer::start_or_skip() else {
            return;
        };
        let b = connect(&server);
        assert_eq!(b.increment("default", "c", 42).unwrap(), 42);
        assert_eq!(b.get("default", "c").unwrap().as_deref(), Some(&b"42"[..]));
        b.set("default", "t", b"-7").unwrap();
        assert_eq!(b.increment("default", "t", 10).unwrap(), 3);
    }

    #[test]
    fn a_lost_server_is_a_clear_error_naming_the_url() {
        let Some(server) = RedisServer::start_or_skip() else {
            return;
        };
        let url = server.url();
        let b = connect(&server);
        b.set("default", "k", b"v").unwrap();
        drop(server);
        let err = b.get("default", "k").unwrap_err().to_string();
        assert!(
            err.contains(&format!("redis at {url}: connection failed")),
            "{err}"
        );
        // The pool was emptied: the next call tries a fresh connection and says why it failed.
        let err = b.get("default", "k").unwrap_err().to_string();
        assert!(err.contains("connection failed"), "{err}");
    }

    #[test]
    fn urls_are_checked_before_connecting_and_passwords_never_shown() {
        assert!(RedisUrl::parse("redis://127.0.0.1:6379").is_ok());
        assert!(RedisUrl::parse("redis://127.0.0.1:6379/2").is_ok());
        let tls = RedisUrl::parse("rediss://h:6380").unwrap_err();
        assert!(tls.contains("TLS"), "{tls}");
        assert!(RedisUrl::parse("http://h").is_err());
        let shown = RedisUrl::parse("redis://user:s3cret@h:6379").unwrap();
        assert_eq!(shown.to_string(), "redis://user:***@h:6379");
        assert!(!format!("{shown:?}").contains("s3cret"));
        let err = RedisUrl::parse("nope://user:s3cret@h").unwrap_err();
        assert!(!err.contains("s3cret"), "{err}");
    }
}
