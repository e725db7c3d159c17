//! Key-value storage behind Spin's `key-value` and `wasi:keyvalue` interfaces.
//!
//! A [`Backend`] serves one or more store labels. SQLite (and memory) hold every
//! label in one table keyed by `(store, key)`, as Spin's SQLite backend does; Redis
//! serves one label per server, as Spin's Redis backend does. Limits follow Spin's
//! hosted defaults, checked by the caller: keys of at most 256 bytes, values of at
//! most 1 MiB. Counters made by `increment` are readable with a plain `get`, in the
//! backend's own encoding: 8-byte little-endian `i64` on SQLite and memory, decimal
//! text on Redis (the app's store layer decodes both).

mod memory;
mod redis;
mod sqlite;

pub use self::redis::{ConnectError, RedisBackend, RedisUrl};
pub use memory::MemoryBackend;
pub(crate) use sqlite::MAX_GROUP;
pub use sqlite::SqliteBackend;

/// Largest key accepted, in bytes.
pub const MAX_KEY_BYTES: usize = 256;
/// The most keys a `get_many` may read on the async executor
/// ([`Backend::reads_inline`]); larger reads go to a blocking thread.
pub const INLINE_READ_KEYS: usize = 128;
/// Largest value accepted, in bytes.
pub const MAX_VALUE_BYTES: usize = 1024 * 1024;

/// A store operation failure, mapped onto each interface's `error` variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KvError {
    /// The label names no configured store.
    #[error("no such store")]
    NoSuchStore,
    /// The component was not granted the store.
    #[error("access denied")]
    AccessDenied,
    /// Anything else: limits, malformed counters, I/O, injected faults.
    #[error("{0}")]
    Other(String),
}

/// Result of a store operation.
pub type KvResult<T> = Result<T, KvError>;

/// A write, owned, for [`Backend::start_write`] and [`Backend::write_blocking`].
#[derive(Debug, Clone)]
#[allow(missing_docs)] // each variant is the backend method of the same name
pub enum Write {
    Set {
        key: String,
        value: Vec<u8>,
    },
    Delete {
        key: String,
    },
    SetMany(Vec<(String, Vec<u8>)>),
    DeleteMany(Vec<String>),
    Increment {
        key: String,
        delta: i64,
    },
    /// `compare_and_swap`.
    Swap {
        key: String,
        expected: Option<Vec<u8>>,
        value: Vec<u8>,
    },
}

/// What a [`Write`] answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// Set, delete and their batches.
    Done,
    /// The counter after an increment.
    Count(i64),
    /// Whether a compare-and-swap swapped.
    Swapped(bool),
}

impl Write {
    /// Checks the keys and values against the size limits.
    pub fn check(&self) -> KvResult<()> {
        match self {
            Write::Set { key, value } | Write::Swap { key, value, .. } => {
                check_key(key)?;
                check_value(value)
            }
            Write::Delete { key } | Write::Increment { key, .. } => check_key(key),
            Write::SetMany(pairs) => pairs.iter().try_for_each(|(k, v)| {
                check_key(k)?;
                check_value(v)
            }),
            Write::DeleteMany(keys) => keys.iter().try_for_each(|k| check_key(k)),
        }
    }
}

/// A write answered later, without a thread blocked on it.
pub type WriteFuture =
    std::pin::Pin<Box<dyn std::future::Future<Output = KvResult<Written>> + Send>>;

/// Resolves once the commits up to a mark are durable.
pub type DurableFuture = std::pin::Pin<Box<dyn std::future::Future<Output = KvResult<()>> + Send>>;

/// A key-value backend. Methods block; the host calls them on a blocking thread,
/// except small reads of a backend that [reads inline](Backend::reads_inline).
pub trait Backend: Send + Sync + 'static {
    /// The value under `key`, or `None` when the key is absent.
    fn get(&self, store: &str, key: &str) -> KvResult<Option<Vec<u8>>>;
    /// Stores `value` under `key`, replacing any previous value.
    fn set(&self, store: &str, key: &str, value: &[u8]) -> KvResult<()>;
    /// Deletes a key; deleting a missing key is not an error.
    fn delete(&self, store: &str, key: &str) -> KvResult<()>;
    /// Whether a key exists.
    fn exists(&self, store: &str, key: &str) -> KvResult<bool>;
    /// Every key of a store.
    fn keys(&self, store: &str) -> KvResult<Vec<String>>;
    /// The pairs that exist among `keys` (missing keys are left out, as on Spin).
    fn get_many(&self, store: &str, keys: &[String]) -> KvResult<Vec<(String, Vec<u8>)>>;
    /// Writes all pairs in one transaction.
    fn set_many(&self, store: &str, pairs: &[(String, Vec<u8>)]) -> KvResult<()>;
    /// Deletes all keys in one transaction.
    fn delete_many(&self, store: &str, keys: &[String]) -> KvResult<()>;
    /// Adds `delta` to a counter (missing = 0) stored as the backend stores it
    /// (SQLite: 8-byte LE; Redis: decimal text), returning the new value.
    fn increment(&self, store: &str, key: &str, delta: i64) -> KvResult<i64>;
    /// Whether a small read (a key, or a `get_many` of up to [`INLINE_READ_KEYS`])
    /// may run on the async executor: a local lookup of bounded cost (memory,
    /// SQLite's own reader connections) rather than network I/O. Running it there
    /// saves the two thread switches of a blocking task per call.
    fn reads_inline(&self) -> bool {
        false
    }
    /// Starts `write` when the backend's own thread carries it out (SQLite's
    /// group-committing writer), so the host awaits the answer instead of
    /// blocking a thread on it; otherwise hands `write` back, for
    /// [`Backend::write_blocking`] on a blocking thread.
    fn start_write(&self, _store: &str, write: Write) -> Result<WriteFuture, Write> {
        Err(write)
    }
    /// For a backend whose [`Backend::start_write`] answers once a write has
    /// committed but before it is durable: the number of the latest commit, which
    /// anything read or written so far may rest on. `None`: every answer is
    /// already durable.
    fn commit_mark(&self) -> Option<u64> {
        None
    }
    /// Resolves once every commit up to `mark` ([`Backend::commit_mark`]) is
    /// durable, or with an error if it never will be.
    fn durable(&self, _mark: u64) -> DurableFuture {
        Box::pin(std::future::ready(Ok(())))
    }
    /// Carries out `write` with the blocking methods.
    fn write_blocking(&self, store: &str, write: Write) -> KvResult<Written> {
        Ok(match write {
            Write::Set { key, value } => {
                self.set(store, &key, &value)?;
                Written::Done
            }
            Write::Delete { key } => {
                self.delete(store, &key)?;
                Written::Done
            }
            Write::SetMany(pairs) => {
                self.set_many(store, &pairs)?;
                Written::Done
            }
            Write::DeleteMany(keys) => {
                self.delete_many(store, &keys)?;
                Written::Done
            }
            Write::Increment { key, delta } => Written::Count(self.increment(store, &key, delta)?),
            Write::Swap {
                key,
                expected,
                value,
            } => {
                Written::Swapped(self.compare_and_swap(store, &key, expected.as_deref(), &value)?)
            }
        })
    }
    /// Writes `value` only if the key still holds `expected` (`None` = absent).
    /// Returns whether the swap happened.
    fn compare_and_swap(
        &self,
        store: &str,
        key: &str,
        expected: Option<&[u8]>,
        value: &[u8],
    ) -> KvResult<bool>;
}

/// Checks a key against the size limit.
pub fn check_key(key: &str) -> KvResult<()> {
    if key.len() > MAX_KEY_BYTES {
        return Err(KvError::Other(format!(
            "key too large: {} bytes (limit {MAX_KEY_BYTES})",
            key.len()
        )));
    }
    Ok(())
}

/// Checks a value against the size limit.
pub fn check_value(value: &[u8]) -> KvResult<()> {
    if value.len() > MAX_VALUE_BYTES {
        return Err(KvError::Other(format!(
            "value too large: {} bytes (limit {MAX_VALUE_BYTES})",
            value.len()
        )));
    }
    Ok(())
}

/// Decodes a counter as SQLite and memory store it (8-byte little-endian); Redis
/// counts on the server, in decimal text, and never calls this.
pub fn decode_counter(bytes: Option<&[u8]>) -> KvResult<i64> {
    match bytes {
        None => Ok(0),
        Some(b) => {
            let arr: [u8; 8] = b.try_into().map_err(|_| {
                KvError::Other(format!(
                    "value is not a counter: expected 8 little-endian bytes, found {}",
                    b.len()
                ))
            })?;
            Ok(i64::from_le_bytes(arr))
        }
    }
}

/// Adds with overflow reported as an error rather than a wrap.
pub fn add_counter(current: i64, delta: i64) -> KvResult<i64> {
    current
        .checked_add(delta)
        .ok_or_else(|| KvError::Other("counter overflow".to_string()))
}

#[cfg(test)]
mod contract_tests {
    //! The same behaviour is required of every backend; where Spin's backends
    //! differ (counter encoding, labels per backend), each case says what it gives.
    use super::*;
    use crate::testing::RedisServer;

    /// One backend under test, with what it is expected to differ in.
    struct Case {
        name: &'static str,
        backend: Box<dyn Backend>,
        /// The bytes `get` returns for a counter made by `increment`.
        counter: fn(i64) -> Vec<u8>,
        /// Whether one backend keeps several labels apart (SQLite, memory) or
        /// serves one label (Redis: one server per label, as on Spin).
        separates_labels: bool,
        /// Kept alive for the backend: its directory or its server (dropped last).
        _holds: Option<Box<dyn std::any::Any>>,
    }

    fn little_endian(n: i64) -> Vec<u8> {
        n.to_le_bytes().to_vec()
    }

    fn decimal_text(n: i64) -> Vec<u8> {
        n.to_string().into_bytes()
    }

    /// Memory, SQLite, and Redis on a fresh `redis-server` when one is installed
    /// (required under `CI=true`).
    fn cases() -> Vec<Case> {
        let dir = tempdir::Dir::new();
        let sqlite = SqliteBackend::open(&dir.path().join("kv.db")).expect("open");
        let mut cases = vec![
            Case {
                name: "memory",
                backend: Box::new(MemoryBackend::default()),
                counter: little_endian,
                separates_labels: true,
                _holds: None,
            },
            Case {
                name: "sqlite",
                backend: Box::new(sqlite),
                counter: little_endian,
                separates_labels: true,
                _holds: Some(Box::new(dir)),
            },
        ];
        if let Some(server) = RedisServer::start_or_skip() {
            let url = RedisUrl::parse(&server.url()).expect("url");
            cases.push(Case {
                name: "redis",
                backend: Box::new(RedisBackend::connect(&url).expect("connect")),
                counter: decimal_text,
                separates_labels: false,
                _holds: Some(Box::new(server)),
            });
        }
        cases
    }

    mod tempdir {
        use std::path::{Path, PathBuf};
        pub struct Dir(PathBuf);
        impl Dir {
            pub fn new() -> Self {
                static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
                let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let p = std::env::temp_dir().join(format!("opsflow-kv-{}-{n}", std::process::id()));
                let _ = std::fs::remove_dir_all(&p);
                std::fs::create_dir_all(&p).expect("tempdir");
                Self(p)
            }
            pub fn path(&self) -> &Path {
                &self.0
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    #[test]
    fn get_set_delete_exists_keys() {
        for Case {
            name,
            backend: b,
            separates_labels,
            ..
        } in cases()
        {
            assert_eq!(b.get("s", "k").unwrap(), None, "{name}");
            b.set("s", "k", b"v").unwrap();
            if separates_labels {
                b.set("other", "k", b"w").unwrap();
            }
            assert_eq!(
                b.get("s", "k").unwrap().as_deref(),
                Some(&b"v"[..]),
                "{name}"
            );
            assert!(b.exists("s", "k").unwrap(), "{name}");
            assert_eq!(
                b.keys("s").unwrap(),
                vec!["k".to_string()],
                "{name}: stores are separate"
            );
            b.delete("s", "k").unwrap();
            b.delete("s", "k").unwrap();
            assert!(!b.exists("s", "k").unwrap(), "{name}");
            if separates_labels {
                assert_eq!(b.get("other", "k").unwrap().as_deref(), Some(&b"w"[..]));
            }
        }
    }

    #[test]
    fn keys_lists_every_key_once_in_order() {
        for Case {
            name, backend: b, ..
        } in cases()
        {
            let pairs: Vec<(String, Vec<u8>)> = (0..2500)
                .map(|i| (format!("key-{i:05}"), vec![1]))
                .collect();
            b.set_many("s", &pairs).unwrap();
            let keys: Vec<String> = pairs.into_iter().map(|(k, _)| k).collect();
            assert_eq!(b.keys("s").unwrap(), keys, "{name}");
        }
    }

    #[test]
    fn batch_operations_leave_out_missing_keys() {
        for Case {
            name, backend: b, ..
        } in cases()
        {
            b.set_many(
                "s",
                &[("a".into(), b"1".to_vec()), ("b".into(), b"2".to_vec())],
            )
            .unwrap();
            let got = b
                .get_many("s", &["a".into(), "zz".into(), "b".into()])
                .unwrap();
            assert_eq!(
                got,
                vec![("a".into(), b"1".to_vec()), ("b".into(), b"2".to_vec())],
                "{name}"
            );
            b.delete_many("s", &["a".into(), "zz".into()]).unwrap();
            assert_eq!(b.keys("s").unwrap(), vec!["b".to_string()], "{name}");
            assert_eq!(b.get_many("s", &[]).unwrap(), vec![], "{name}");
            b.set_many("s", &[]).unwrap();
            b.delete_many("s", &[]).unwrap();
        }
    }

    #[test]
    fn counters_read_back_in_the_backends_encoding() {
        for Case {
            name,
            backend: b,
            counter,
            ..
        } in cases()
        {
            assert_eq!(b.increment("s", "c", 5).unwrap(), 5, "{name}");
            assert_eq!(b.increment("s", "c", -2).unwrap(), 3, "{name}");
            assert_eq!(b.get("s", "c").unwrap(), Some(counter(3)), "{name}");
            b.set("s", "text", b"hello").unwrap();
            assert!(
                b.increment("s", "text", 1).is_err(),
                "{name}: non-counter value"
            );
            b.set("s", "max", &counter(i64::MAX)).unwrap();
            assert!(b.increment("s", "max", 1).is_err(), "{name}: overflow");
            assert_eq!(
                b.get("s", "max").unwrap(),
                Some(counter(i64::MAX)),
                "{name}"
            );
        }
    }

    #[test]
    fn compare_and_swap_succeeds_only_on_unchanged_value() {
        for Case {
            name, backend: b, ..
        } in cases()
        {
            assert!(b.compare_and_swap("s", "k", None, b"1").unwrap(), "{name}");
            assert!(!b.compare_and_swap("s", "k", None, b"2").unwrap(), "{name}");
            assert!(
                b.compare_and_swap("s", "k", Some(b"1"), b"2").unwrap(),
                "{name}"
            );
            assert!(
                !b.compare_and_swap("s", "k", Some(b"1"), b"3").unwrap(),
                "{name}"
            );
            assert_eq!(
                b.get("s", "k").unwrap().as_deref(),
                Some(&b"2"[..]),
                "{name}"
            );
        }
    }

    #[test]
    fn concurrent_swaps_have_one_winner_per_value() {
        for Case {
            name, backend: b, ..
        } in cases()
        {
            // Eight writers each try to move the value from n to n + 1; every step
            // must be won exactly once, so the final value counts the wins.
            b.set("s", "n", b"0").unwrap();
            let b: std::sync::Arc<dyn Backend> = std::sync::Arc::from(b);
            let wins: usize = std::thread::scope(|scope| {
                let workers: Vec<_> = (0..8)
                    .map(|_| {
                        let b = b.clone();
                        scope.spawn(move || {
                            let mut wins = 0;
                            for _ in 0..50 {
                                let current = b.get("s", "n").unwrap().unwrap();
                                let n: u64 =
                                    String::from_utf8(current.clone()).unwrap().parse().unwrap();
                                let next = (n + 1).to_string().into_bytes();
                                if b.compare_and_swap("s", "n", Some(&current), &next).unwrap() {
                                    wins += 1;
                                }
                            }
                            wins
                        })
                    })
                    .collect();
                workers.into_iter().map(|w| w.join().unwrap()).sum()
            });
            let last = b.get("s", "n").unwrap().unwrap();
            assert_eq!(String::from_utf8(last).unwrap(), wins.to_string(), "{name}");
            assert!(wins > 0, "{name}");
        }
    }

    #[test]
    fn limits_are_enforced() {
        assert!(check_key(&"k".repeat(MAX_KEY_BYTES)).is_ok());
        assert!(check_key(&"k".repeat(MAX_KEY_BYTES + 1)).is_err());
        assert!(check_value(&vec![0; MAX_VALUE_BYTES]).is_ok());
        assert!(check_value(&vec![0; MAX_VALUE_BYTES + 1]).is_err());
    }

    #[test]
    fn sqlite_data_survives_reopen() {
        let dir = tempdir::Dir::new();
        let path = dir.path().join("kv.db");
        {
            let b = SqliteBackend::open(&path).unwrap();
            b.set("default", "k", b"v").unwrap();
            b.increment("default", "c", 7).unwrap();
        }
        let b = SqliteBackend::open(&path).unwrap();
        assert_eq!(b.get("default", "k").unwrap().as_deref(), Some(&b"v"[..]));
        assert_eq!(b.increment("default", "c", 0).unwrap(), 7);
    }

    /// The blocking methods called from inside a tokio task, more often than the
    /// task's cooperative budget (128) allows without yielding: each still returns
    /// (eval-bench seeding 100,000 campaigns spun forever on its 129th wait).
    #[test]
    fn blocking_writes_from_a_tokio_task_do_not_spin_once_its_budget_is_spent() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let dir = tempdir::Dir::new();
        let path = dir.path().join("kv.db");
        let (tx, rx) = std::sync::mpsc::channel();
        rt.spawn(async move {
            let b = SqliteBackend::open(&path).unwrap();
            for i in 0..400 {
                b.set("default", &format!("k{i}"), b"v").unwrap();
            }
            let _ = tx.send(b.get("default", "k399").unwrap());
        });
        // Waited for on this thread, not on a tokio timer the spinning task starves.
        let got = rx.recv_timeout(std::time::Duration::from_secs(60));
        rt.shutdown_background();
        assert_eq!(
            got.expect("400 blocking writes finish").as_deref(),
            Some(&b"v"[..])
        );
    }

    #[tokio::test]
    async fn sqlite_answers_a_request_write_at_commit_and_says_when_it_is_durable() {
        let dir = tempdir::Dir::new();
        let b = SqliteBackend::open(&dir.path().join("kv.db")).unwrap();
        let before = b.commit_mark().expect("group commit hands the sync on");
        let write = Write::Set {
            key: "k".into(),
            value: b"v".to_vec(),
        };
        let Ok(answer) = b.start_write("default", write) else {
            panic!("SQLite writes on its own thread");
        };
        assert!(matches!(answer.await.unwrap(), Written::Done));
        let mark = b.commit_mark().unwrap();
        assert!(
            mark > before,
            "the write's group is counted before it answers"
        );
        b.durable(mark).await.unwrap();
        assert_eq!(b.get("default", "k").unwrap().as_deref(), Some(&b"v"[..]));
        // A group of one syncs in its commit: nothing to hold.
        let single = SqliteBackend::open_with_group(&dir.path().join("one.db"), 1).unwrap();
        assert_eq!(single.commit_mark(), None);
    }
}
