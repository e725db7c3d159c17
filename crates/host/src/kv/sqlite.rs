//! The SQLite backend: Spin's table layout in one database file.
//!
//! Spin's `key-value-spin` keeps `spin_key_value(store, key, value)` in
//! `.spin/sqlite_key_value.db`; this backend uses the same table, so a state
//! directory can move between this host and `spin up`. It runs in WAL mode with
//! `synchronous = FULL`: every acknowledged write is on disk (survives `kill -9`
//! and power loss) while readers on their own connections never wait for a writer.

use super::{Backend, KvError, KvResult, add_counter, decode_counter};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

const READERS: usize = 4;

/// A SQLite file with one writer connection and a few reader connections.
pub struct SqliteBackend {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: std::sync::atomic::AtomicUsize,
    path: PathBuf,
}

fn other(e: impl std::fmt::Display) -> KvError {
    KvError::Other(e.to_string())
}

fn connect(path: &Path) -> KvResult<Connection> {
    let conn = Connection::open(path).map_err(other)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(other)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(other)?;
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(other)?;
    Ok(conn)
}

impl SqliteBackend {
    /// Opens (creating if needed) the database file.
    pub fn open(path: &Path) -> KvResult<Self> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(other)?;
        }
        let writer = connect(path)?;
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
            .map(|_| connect(path).map(Mutex::new))
            .collect::<KvResult<Vec<_>>>()?;
        Ok(Self {
            writer: Mutex::new(writer),
            readers,
            next_reader: Default::default(),
            path: path.to_path_buf(),
        })
    }

    /// The database file.
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

    /// Runs `f` in one immediate (write-locked) transaction and commits.
    fn write<T>(&self, f: impl FnOnce(&rusqlite::Transaction<'_>) -> KvResult<T>) -> KvResult<T> {
        let mut conn = self
            .writer
            .lock()
            .map_err(|_| other("writer lock poisoned"))?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(other)?;
        let out = f(&tx)?;
        tx.commit().map_err(other)?;
        Ok(out)
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
    fn get(&self, store: &str, key: &str) -> KvResult<Option<Vec<u8>>> {
        self.read(|c| get_in(c, store, key))
    }

    fn set(&self, store: &str, key: &str, value: &[u8]) -> KvResult<()> {
        self.write(|tx| set_in(tx, store, key, value).map_err(other))
    }

    fn delete(&self, store: &str, key: &str) -> KvResult<()> {
        self.write(|tx| delete_in(tx, store, key).map_err(other))
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
            let mut stmt = c.prepare(&sql)?;
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
        self.write(|tx| {
            for (key, value) in pairs {
                set_in(tx, store, key, value).map_err(other)?;
            }
            Ok(())
        })
    }

    fn delete_many(&self, store: &str, keys: &[String]) -> KvResult<()> {
        self.write(|tx| {
            for key in keys {
                delete_in(tx, store, key).map_err(other)?;
            }
            Ok(())
        })
    }

    fn increment(&self, store: &str, key: &str, delta: i64) -> KvResult<i64> {
        self.write(|tx| {
            let current = get_in(tx, store, key).map_err(other)?;
            let next = add_counter(decode_counter(current.as_deref())?, delta)?;
            set_in(tx, store, key, &next.to_le_bytes()).map_err(other)?;
            Ok(next)
        })
    }

    fn compare_and_swap(
        &self,
        store: &str,
        key: &str,
        expected: Option<&[u8]>,
        value: &[u8],
    ) -> KvResult<bool> {
        self.write(|tx| {
            let current = get_in(tx, store, key).map_err(other)?;
            if current.as_deref() != expected {
                return Ok(false);
            }
            set_in(tx, store, key, value).map_err(other)?;
            Ok(true)
        })
    }
}
