//! The SQLite backend: Spin's table layout in one database file.
//!
//! Spin's `key-value-spin` keeps `spin_key_value(store, key, value)` in
//! `.spin/sqlite_key_value.db`; this backend uses the same table, so a state
//! directory can move between this host and `spin up`. It runs in WAL mode, and
//! every acknowledged write is on disk (survives `kill -9` and power loss) while
//! readers on their own connections never wait for a writer.
//!
//! Writes go through one writer thread that commits in groups: every write waiting
//! when a commit starts joins it, each in its own savepoint (a failing write rolls
//! back alone) — one commit, and one fsync, for many writers.
//!
//! The fsync is pipelined: the writer commits with `synchronous = NORMAL` (the
//! WAL frames reach the OS, not yet the disk) and goes on with the next group,
//! while a syncer thread `fdatasync`s the WAL file. SQLite itself syncs the WAL
//! before each checkpoint and the database file after it, so frames a checkpoint
//! moves and then overwrites are on disk in the database first. With
//! `max_group = 1` (Spin's commit per write) each commit syncs inline, FULL.
//!
//! Who waits for the sync: every group gets a number, the syncer publishes the
//! highest one on disk, and a caller of the blocking methods is answered once
//! that has reached its write. A write started by the host for a component's
//! request ([`Backend::start_write`]) is answered as soon as its group has committed (a
//! committed group survives the host process dying; only the OS crashing before
//! the sync could undo it). The host then holds everything the request shows
//! the outside — its response, an outbound request — until the WAL is synced past
//! every commit the request may have read or written ([`Backend::commit_mark`],
//! [`Backend::durable`]; docs/host.md, "Durability"). A request's writes in
//! sequence thus share one fsync instead of waiting for one each, and nothing
//! anyone outside the host sees rests on a write that is not on disk.

use super::{
    Backend, DurableFuture, KvError, KvResult, Write, WriteFuture, Written, add_counter,
    decode_counter,
};
use crate::faults::Faults;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

const READERS: usize = 4;
/// Most writes one commit carries.
pub(crate) const MAX_GROUP: usize = 256;

/// Delivers a write's result once its group has committed (or failed to).
type Completion = Box<dyn FnOnce(KvResult<()>) + Send>;
/// One write: runs inside the group's transaction (or, given `None`, is abandoned
/// unrun), and says whether it succeeded.
type Job = Box<dyn FnOnce(Option<&Connection>) -> (bool, Completion) + Send>;

/// How far the writer has got, in group numbers: the last group to commit, and
/// the last one whose WAL frames are on disk.
struct Progress {
    /// Raised before a group commits, so a reader that sees its rows never reads
    /// a smaller mark.
    committed: AtomicU64,
    synced: tokio::sync::watch::Sender<Synced>,
}

#[derive(Clone, Copy, Default)]
struct Synced {
    upto: u64,
    /// A sync failed: what the OS holds of the WAL may never reach the disk, so
    /// no later mark can be promised either.
    failed: bool,
}

/// A SQLite file with a group-committing writer thread and a few reader connections.
pub struct SqliteBackend {
    writer: mpsc::Sender<Job>,
    readers: Vec<Mutex<Connection>>,
    next_reader: std::sync::atomic::AtomicUsize,
    path: PathBuf,
    /// `None` when every commit syncs itself (nothing is answered before it is durable).
    progress: Option<Arc<Progress>>,
}

fn other(e: impl std::fmt::Display) -> KvError {
    KvError::Other(e.to_string())
}

fn connect(path: &Path, synchronous: &str) -> KvResult<Connection> {
    let conn = Connection::open(path).map_err(other)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(other)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(other)?;
    conn.pragma_update(None, "synchronous", synchronous)
        .map_err(other)?;
    Ok(conn)
}

impl SqliteBackend {
    /// Opens (creating if needed) the database file.
    pub fn open(path: &Path) -> KvResult<Self> {
        Self::open_with_group(path, MAX_GROUP)
    }

    /// Like [`SqliteBackend::open`] with at most `max_group` writes per commit
    /// (1 = a commit per write, as Spin does; benchmarks compare the two).
    pub fn open_with_group(path: &Path, max_group: usize) -> KvResult<Self> {
        Self::open_with_faults(path, max_group, Arc::default())
    }

    /// Like [`SqliteBackend::open_with_group`], its syncer held while `faults` say
    /// so ([`Faults::hold_syncs`]).
    pub fn open_with_faults(path: &Path, max_group: usize, faults: Arc<Faults>) -> KvResult<Self> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(other)?;
        }
        // `OPSFLOW_HOST_SQLITE_INLINE_SYNC` (a measuring switch, docs/host.md): sync
        // inside each commit, for before/after comparisons in one build.
        let pipelined =
            max_group > 1 && std::env::var_os("OPSFLOW_HOST_SQLITE_INLINE_SYNC").is_none();
        let writer = connect(path, if pipelined { "NORMAL" } else { "FULL" })?;
        writer
            .execute_batch(
                "CREATE TABLE IF NOT EXISTS spin_key_value (
                    store TEXT NOT NULL,
                    key   TEXT NOT NULL,
                    value BLOB NOT NULL,
                    PRIMARY KEY (store, key)
                );",
            )
            .map_err(other)?;
        let readers = (0..READERS)
            .map(|_| connect(path, "FULL").map(Mutex::new))
            .collect::<KvResult<Vec<_>>>()?;
        let (syncer, progress) = if pipelined {
            // The WAL exists once the writer has opened the database in WAL mode.
            let wal = std::fs::File::open(wal_path(path)).map_err(other)?;
            // Commits an earlier process made but had not synced (killed between
            // the two) are read as committed from now on: on disk first.
            wal.sync_data()
                .map_err(|e| other(format!("syncing the write-ahead log: {e}")))?;
            let progress = Arc::new(Progress {
                committed: AtomicU64::new(0),
                synced: tokio::sync::watch::Sender::new(Synced::default()),
            });
            let (committed, to_sync) = mpsc::channel::<u64>();
            let synced = progress.clone();
            std::thread::Builder::new()
                .name("kv-syncer".into())
                .spawn(move || sync_groups(wal, to_sync, &synced, &faults))
                .map_err(other)?;
            (Some(committed), Some(progress))
        } else {
            (None, None)
        };
        let (jobs, queue) = mpsc::channel::<Job>();
        let writer_progress = progress.clone();
        std::thread::Builder::new()
            .name("kv-writer".into())
            .spawn(move || commit_groups(writer, queue, max_group.max(1), syncer, writer_progress))
            .map_err(other)?;
        Ok(Self {
            writer: jobs,
            readers,
            next_reader: Default::default(),
            path: path.to_path_buf(),
            progress,
        })
    }

    /// Path of the SQLite file holding the store.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> KvResult<T> {
        let i = self
            .next_reader
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            % self.readers.len();
        let conn = self.readers[i]
            .lock()
            .map_err(|_| other("reader lock poisoned"))?;
        f(&conn).map_err(other)
    }

    /// Queues `f` for the next group commit; `reply` gets its result once that
    /// commit has happened (or failed).
    fn submit<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> KvResult<T> + Send + 'static,
        reply: impl FnOnce(KvResult<T>) + Send + 'static,
    ) -> KvResult<()> {
        let job: Job = Box::new(move |conn| {
            let result = match conn {
                Some(conn) => f(conn),
                None => Err(other("the write transaction could not start")),
            };
            let ok = result.is_ok();
            let completion: Completion = Box::new(move |committed| reply(committed.and(result)));
            (ok, completion)
        });
        self.writer
            .send(job)
            .map_err(|_| other("the writer thread has stopped"))
    }

    /// Carries out `write` in the next group commit, waiting until it is durable.
    fn blocking(&self, store: &str, write: Write) -> KvResult<Written> {
        let store = store.to_string();
        self.write(move |c| apply(c, &store, write))
    }

    /// Runs `f` in the next group commit and waits until that commit is durable.
    fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> KvResult<T> + Send + 'static,
    ) -> KvResult<T> {
        let (reply, answer) = mpsc::sync_channel::<KvResult<T>>(1);
        self.submit(f, move |result| {
            let _ = reply.send(result);
        })?;
        let out = answer
            .recv()
            .map_err(|_| other("the writer thread dropped a write"))??;
        if let Some(mark) = self.commit_mark() {
            // Unconstrained: called from a tokio task (a bench seeding the store, a
            // test), the watch's wait would otherwise draw on that task's
            // cooperative budget, which never refills while we block inside it —
            // after ~128 waits every poll yields at once and this loop spins forever.
            futures::executor::block_on(tokio::task::unconstrained(self.durable(mark)))?;
        }
        Ok(out)
    }
}

/// The statements of `write` on the writer's connection (both the blocking
/// methods and [`Backend::start_write`] run these).
fn apply(c: &Connection, store: &str, write: Write) -> KvResult<Written> {
    Ok(match write {
        Write::Set { key, value } => {
            set_in(c, store, &key, &value).map_err(other)?;
            Written::Done
        }
        Write::Delete { key } => {
            delete_in(c, store, &key).map_err(other)?;
            Written::Done
        }
        Write::SetMany(pairs) => {
            for (key, value) in &pairs {
                set_in(c, store, key, value).map_err(other)?;
            }
            Written::Done
        }
        Write::DeleteMany(keys) => {
            for key in &keys {
                delete_in(c, store, key).map_err(other)?;
            }
            Written::Done
        }
        Write::Increment { key, delta } => {
            let current = get_in(c, store, &key).map_err(other)?;
            let next = add_counter(decode_counter(current.as_deref())?, delta)?;
            set_in(c, store, &key, &next.to_le_bytes()).map_err(other)?;
            Written::Count(next)
        }
        Write::Swap {
            key,
            expected,
            value,
        } => {
            let current = get_in(c, store, &key).map_err(other)?;
            if current != expected {
                return Ok(Written::Swapped(false));
            }
            set_in(c, store, &key, &value).map_err(other)?;
            Written::Swapped(true)
        }
    })
}

/// The WAL file next to the database (`<db>-wal`).
fn wal_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

/// The syncer thread: makes the WAL durable once for every group committed since
/// the last sync and moves the synced mark past them (or marks it failed for
/// good if the sync failed: the writes may or may not survive a power loss,
/// which no caller may be told is durable).
fn sync_groups(
    wal: std::fs::File,
    committed: mpsc::Receiver<u64>,
    progress: &Progress,
    faults: &Faults,
) {
    let _fails = FailIfPanicking(progress);
    while let Ok(first) = committed.recv() {
        while faults.syncs_held() {
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        let upto = committed.try_iter().fold(first, u64::max);
        let synced = wal.sync_data();
        if let Err(e) = &synced {
            eprintln!(
                "kv: syncing the write-ahead log failed, no write is durable from now on: {e}"
            );
        }
        progress.synced.send_modify(|s| match synced {
            Ok(()) => s.upto = s.upto.max(upto),
            Err(_) => s.failed = true,
        });
    }
}

/// Marks the durability progress failed if its thread panics, so waits end in an
/// error instead of waiting for a sync that will never come.
struct FailIfPanicking<'a>(&'a Progress);

impl Drop for FailIfPanicking<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.fail();
        }
    }
}

impl Progress {
    fn fail(&self) {
        self.synced.send_modify(|s| s.failed = true);
    }
}

/// The writer thread: takes every waiting write, runs each in a savepoint of one
/// transaction, commits once, hands the group's number to the syncer (if any)
/// and answers the writers.
fn commit_groups(
    mut conn: Connection,
    queue: mpsc::Receiver<Job>,
    max_group: usize,
    syncer: Option<mpsc::Sender<u64>>,
    progress: Option<Arc<Progress>>,
) {
    let _fails = progress.as_deref().map(FailIfPanicking);
    while let Ok(first) = queue.recv() {
        let mut jobs = vec![first];
        while jobs.len() < max_group {
            match queue.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let group = progress
            .as_ref()
            .map_or(0, |p| p.committed.fetch_add(1, Ordering::SeqCst) + 1);
        let mut completions = Vec::with_capacity(jobs.len());
        let committed = (|| -> KvResult<()> {
            let mut tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(other)?;
            for job in jobs.drain(..) {
                let sp = tx.savepoint().map_err(other)?;
                let (ok, completion) = job(Some(&sp));
                completions.push(completion);
                if ok {
                    sp.commit().map_err(other)?;
                }
                // A failed write's savepoint rolls back when dropped.
            }
            tx.commit().map_err(other)
        })();
        // Writes never started (the transaction failed to open) fail unrun.
        for job in jobs {
            let (_, completion) = job(None);
            completions.push(completion);
        }
        // Sent after a failed commit too: a reader may hold this group's number
        // as its mark, so the synced mark must reach every number handed out.
        if let (Some(syncer), Some(p)) = (&syncer, &progress)
            && syncer.send(group).is_err()
        {
            p.fail();
        }
        for completion in completions {
            completion(committed.clone());
        }
    }
}

fn get_in(conn: &Connection, store: &str, key: &str) -> rusqlite::Result<Option<Vec<u8>>> {
    conn.prepare_cached("SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2")?
        .query_row(params![store, key], |row| row.get(0))
        .optional()
}

fn set_in(conn: &Connection, store: &str, key: &str, value: &[u8]) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)
         ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![store, key, value])?;
    Ok(())
}

fn delete_in(conn: &Connection, store: &str, key: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2")?
        .execute(params![store, key])?;
    Ok(())
}

impl Backend for SqliteBackend {
    fn reads_inline(&self) -> bool {
        true
    }

    fn get(&self, store: &str, key: &str) -> KvResult<Option<Vec<u8>>> {
        self.read(|c| get_in(c, store, key))
    }

    fn set(&self, store: &str, key: &str, value: &[u8]) -> KvResult<()> {
        self.blocking(
            store,
            Write::Set {
                key: key.to_string(),
                value: value.to_vec(),
            },
        )
        .map(drop)
    }

    fn delete(&self, store: &str, key: &str) -> KvResult<()> {
        self.blocking(
            store,
            Write::Delete {
                key: key.to_string(),
            },
        )
        .map(drop)
    }

    fn exists(&self, store: &str, key: &str) -> KvResult<bool> {
        self.read(|c| {
            c.prepare_cached("SELECT 1 FROM spin_key_value WHERE store = ?1 AND key = ?2")?
                .exists(params![store, key])
        })
    }

    fn keys(&self, store: &str) -> KvResult<Vec<String>> {
        self.read(|c| {
            let mut stmt =
                c.prepare_cached("SELECT key FROM spin_key_value WHERE store = ?1 ORDER BY key")?;
            let rows = stmt.query_map(params![store], |row| row.get(0))?;
            rows.collect()
        })
    }

    fn get_many(&self, store: &str, keys: &[String]) -> KvResult<Vec<(String, Vec<u8>)>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        // One statement for the whole batch, as Spin does; results keep request order.
        self.read(|c| {
            let placeholders = (0..keys.len())
                .map(|i| format!("?{}", i + 2))
                .collect::<Vec<_>>()
                .join(",");
            let sql = format!(
                "SELECT key, value FROM spin_key_value WHERE store = ?1 AND key IN ({placeholders})"
            );
            // Cached: a caller's batches tend to repeat one size (a webhook's
            // 100 markers), and parsing 100 placeholders costs more than the read.
            let mut stmt = c.prepare_cached(&sql)?;
            let mut args: Vec<&dyn rusqlite::ToSql> = vec![&store];
            args.extend(keys.iter().map(|k| k as &dyn rusqlite::ToSql));
            let found: std::collections::HashMap<String, Vec<u8>> = stmt
                .query_map(args.as_slice(), |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(keys
                .iter()
                .filter_map(|k| found.get(k).map(|v| (k.clone(), v.clone())))
                .collect())
        })
    }

    fn set_many(&self, store: &str, pairs: &[(String, Vec<u8>)]) -> KvResult<()> {
        self.blocking(store, Write::SetMany(pairs.to_vec()))
            .map(drop)
    }

    fn delete_many(&self, store: &str, keys: &[String]) -> KvResult<()> {
        self.blocking(store, Write::DeleteMany(keys.to_vec()))
            .map(drop)
    }

    fn increment(&self, store: &str, key: &str, delta: i64) -> KvResult<i64> {
        let write = Write::Increment {
            key: key.to_string(),
            delta,
        };
        match self.blocking(store, write)? {
            Written::Count(n) => Ok(n),
            other_answer => Err(other(format!("increment answered {other_answer:?}"))),
        }
    }

    fn compare_and_swap(
        &self,
        store: &str,
        key: &str,
        expected: Option<&[u8]>,
        value: &[u8],
    ) -> KvResult<bool> {
        let write = Write::Swap {
            key: key.to_string(),
            expected: expected.map(<[u8]>::to_vec),
            value: value.to_vec(),
        };
        match self.blocking(store, write)? {
            Written::Swapped(swapped) => Ok(swapped),
            other_answer => Err(other(format!("compare-and-swap answered {other_answer:?}"))),
        }
    }

    fn start_write(&self, store: &str, write: Write) -> Result<WriteFuture, Write> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let store = store.to_string();
        let queued = self.submit(
            move |c| apply(c, &store, write),
            move |result| {
                let _ = reply.send(result);
            },
        );
        Ok(Box::pin(async move {
            queued?;
            answer
                .await
                .map_err(|_| other("the writer thread dropped a write"))?
        }))
    }

    fn commit_mark(&self) -> Option<u64> {
        self.progress
            .as_ref()
            .map(|p| p.committed.load(Ordering::SeqCst))
    }

    fn durable(&self, mark: u64) -> DurableFuture {
        let Some(progress) = &self.progress else {
            return Box::pin(std::future::ready(Ok(())));
        };
        let mut synced = progress.synced.subscribe();
        Box::pin(async move {
            let failed = synced
                .wait_for(|s| s.failed || s.upto >= mark)
                .await
                .map(|s| s.failed)
                .map_err(|_| other("the syncer thread has stopped"))?;
            if failed {
                return Err(other("the write-ahead log could not be synced"));
            }
            Ok(())
        })
    }
}
