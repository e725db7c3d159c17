//! The runtime config file (`--runtime-config-file`): where key-value stores live.
//!
//! As in Spin, the `default` store exists without configuration (SQLite file
//! `sqlite_key_value.db` in the state directory) and other labels must be declared
//! as `[key_value_store.<label>]`, with Spin's fields:
//!
//! | `type` | fields | store |
//! |---|---|---|
//! | `"spin"` | `path` (optional, relative to the config file) | a SQLite file (Spin's table) |
//! | `"redis"` | `url` (required) | a Redis server (database) of its own per label |
//!
//! The file is parsed whole when read ([`load`]): a missing `url` or a type this
//! host does not have (azure_cosmos, aws_dynamo) is refused before anything opens.
//! Stores open at start-up ([`RuntimeConfig::open_stores`]); a Redis server that does
//! not answer stops the host there, with one line naming the label and url, rather
//! than failing the first request. The same file works unchanged on Spin.

use crate::KvMode;
use crate::faults::Faults;
use crate::kv::{Backend, MAX_GROUP, MemoryBackend, RedisBackend, RedisUrl, SqliteBackend};
use anyhow::{Context, Result, anyhow, bail};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The key-value stores a runtime config declares, each checked and resolved.
#[derive(Debug, Clone, Default)]
pub struct RuntimeConfig {
    /// Store label → where it lives.
    stores: BTreeMap<String, StoreSpec>,
}

/// Where one store lives.
#[derive(Debug, Clone)]
enum StoreSpec {
    /// Spin's SQLite store at this path (resolved against the config file's
    /// directory), or `None` for the state directory's `sqlite_key_value.db`.
    Spin { path: Option<PathBuf> },
    /// A Redis server serving this label alone.
    Redis { url: RedisUrl },
}

/// The file as written; [`parse_store`] turns each entry into a [`StoreSpec`].
#[derive(Debug, Deserialize)]
struct RawConfig {
    #[serde(default)]
    key_value_store: BTreeMap<String, RawStore>,
}

/// One `[key_value_store.<label>]` table; fields of Spin's other types are ignored.
#[derive(Debug, Deserialize)]
struct RawStore {
    #[serde(rename = "type")]
    kind: String,
    path: Option<String>,
    url: Option<String>,
}

/// Reads a runtime config file.
pub fn load(path: &Path) -> Result<RuntimeConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("failed to read runtime config {}", path.display()))?;
    let base_dir = path.parent().unwrap_or(Path::new(""));
    parse(&text, base_dir).map_err(|e| match e {
        ParseError::Toml(e) => {
            anyhow::Error::new(e).context(format!("invalid runtime config {}", path.display()))
        }
        ParseError::Store(e) => e,
    })
}

/// Why runtime config text was refused: not TOML of the file's shape, or a store
/// table this host cannot use.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// The text is not TOML, or not of the file's shape.
    #[error(transparent)]
    Toml(#[from] toml::de::Error),
    /// A `[key_value_store.<label>]` table names a type or url this host cannot use.
    #[error(transparent)]
    Store(anyhow::Error),
}

/// Parses runtime config text as [`load`] does (relative store paths resolve
/// against `base_dir`), without reading a file.
pub fn parse(text: &str, base_dir: &Path) -> std::result::Result<RuntimeConfig, ParseError> {
    let raw: RawConfig = toml::from_str(text)?;
    RuntimeConfig::from_raw(raw, base_dir).map_err(ParseError::Store)
}

impl RuntimeConfig {
    fn from_raw(raw: RawConfig, base_dir: &Path) -> Result<Self> {
        let stores = raw
            .key_value_store
            .into_iter()
            .map(|(label, store)| {
                let spec = parse_store(&label, store, base_dir)?;
                Ok((label, spec))
            })
            .collect::<Result<_>>()?;
        Ok(Self { stores })
    }

    /// Opens every configured store (and `default`). `mode` chooses how SQLite
    /// stores are kept (memory for tests); a Redis store is Redis in every mode,
    /// because the config named a server.
    pub fn open_stores(
        &self,
        state_dir: &Path,
        mode: &KvMode,
        faults: &Arc<Faults>,
    ) -> Result<HashMap<String, Arc<dyn Backend>>> {
        let mut stores: HashMap<String, Arc<dyn Backend>> = HashMap::new();
        let default_file = state_dir.join("sqlite_key_value.db");
        // Labels on one file share one backend (the rows are told apart by label,
        // as in Spin's table): one writer thread, and one count of commits for
        // the durability marks (docs/host.md, "Durability").
        let mut files: HashMap<std::path::PathBuf, Arc<dyn Backend>> = HashMap::new();
        let mut sqlite = |path: &Path| -> Result<Arc<dyn Backend>> {
            let key = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
            if let Some(b) = files.get(&key) {
                return Ok(b.clone());
            }
            let b = open_sqlite(path, mode, faults)?;
            files.insert(key, b.clone());
            Ok(b)
        };
        if !self.stores.contains_key("default") {
            stores.insert("default".into(), sqlite(&default_file)?);
        }
        for (label, spec) in &self.stores {
            let backend: Arc<dyn Backend> = match spec {
                StoreSpec::Spin { path } => sqlite(path.as_deref().unwrap_or(&default_file))?,
                StoreSpec::Redis { url } => Arc::new(
                    RedisBackend::connect(url)
                        .map_err(|e| anyhow!("key_value_store.{label}: {e}"))?,
                ),
            };
            stores.insert(label.clone(), backend);
        }
        Ok(stores)
    }
}

/// Checks one store's table: its type is one this host has, with the fields it needs.
fn parse_store(label: &str, store: RawStore, base_dir: &Path) -> Result<StoreSpec> {
    match store.kind.as_str() {
        "spin" => Ok(StoreSpec::Spin {
            path: store.path.map(|p| base_dir.join(p)),
        }),
        "redis" => {
            let Some(url) = store.url else {
                bail!(
                    "key_value_store.{label}: type \"redis\" needs a url (url = \"redis://host:6379\")"
                );
            };
            let url = RedisUrl::parse(&url).map_err(|e| anyhow!("key_value_store.{label}: {e}"))?;
            Ok(StoreSpec::Redis { url })
        }
        other => bail!(
            "key_value_store.{label}: type \"{other}\" is not available on this host (only \"spin\" and \"redis\"); it runs on `spin up`"
        ),
    }
}

fn open_sqlite(path: &Path, mode: &KvMode, faults: &Arc<Faults>) -> Result<Arc<dyn Backend>> {
    let opened = match mode {
        KvMode::Memory => return Ok(Arc::new(MemoryBackend::default())),
        KvMode::Sqlite => SqliteBackend::open_with_faults(path, MAX_GROUP, faults.clone()),
        KvMode::SqliteCommitPerWrite => SqliteBackend::open_with_faults(path, 1, faults.clone()),
    };
    let backend =
        opened.with_context(|| format!("failed to open key-value store {}", path.display()))?;
    Ok(Arc::new(backend))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::RedisServer;

    fn parse(text: &str) -> Result<RuntimeConfig> {
        Ok(super::parse(text, Path::new("/config"))?)
    }

    fn state_dir() -> PathBuf {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        std::env::temp_dir().join(format!("opsflow-rc-{}-{n}", std::process::id()))
    }

    #[test]
    fn labels_on_one_sqlite_file_share_one_backend() {
        let config = parse("[key_value_store.default]\ntype = \"spin\"\n[key_value_store.other]\ntype = \"spin\"\n").unwrap();
        let dir = state_dir();
        let stores = config
            .open_stores(&dir, &KvMode::Sqlite, &Arc::default())
            .unwrap();
        assert!(Arc::ptr_eq(&stores["default"], &stores["other"]));
        stores["default"].set("default", "k", b"d").unwrap();
        stores["other"].set("other", "k", b"o").unwrap();
        assert_eq!(
            stores["default"].get("default", "k").unwrap().as_deref(),
            Some(&b"d"[..])
        );
        assert_eq!(
            stores["other"].get("other", "k").unwrap().as_deref(),
            Some(&b"o"[..])
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_redis_store_opens_on_a_running_server() {
        let Some(server) = RedisServer::start_or_skip() else {
            return;
        };
        let config = parse(&format!(
            "[key_value_store.default]\ntype = \"redis\"\nurl = \"{}\"\n",
            server.url()
        ))
        .unwrap();
        let dir = state_dir();
        let stores = config
            .open_stores(&dir, &KvMode::Sqlite, &Arc::default())
            .unwrap();
        let store = &stores["default"];
        store.set("default", "k", b"v").unwrap();
        assert_eq!(
            store.get("default", "k").unwrap().as_deref(),
            Some(&b"v"[..])
        );
        assert!(
            !dir.exists(),
            "no SQLite file is made when default is redis"
        );
    }

    #[test]
    fn a_redis_store_without_url_is_refused_naming_the_label() {
        let err = parse("[key_value_store.cache]\ntype = \"redis\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("key_value_store.cache: type \"redis\" needs a url"),
            "{err}"
        );
        assert!(!err.contains('\n'), "{err}");
    }

    #[test]
    fn an_unreachable_redis_stops_start_up_with_one_clear_line() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("redis://127.0.0.1:{port}");
        let config = parse(&format!(
            "[key_value_store.default]\ntype = \"redis\"\nurl = \"{url}\"\n"
        ))
        .unwrap();
        let err = match config.open_stores(&state_dir(), &KvMode::Memory, &Arc::default()) {
            Ok(_) => panic!("nothing listens on {url}"),
            Err(e) => format!("{e:#}"),
        };
        assert!(
            err.starts_with(&format!(
                "key_value_store.default: cannot reach redis at {url}: "
            )),
            "{err}"
        );
        assert!(!err.contains('\n'), "{err}");
    }

    #[test]
    fn backends_this_host_lacks_are_refused_and_spin_paths_resolve() {
        let err = parse("[key_value_store.default]\ntype = \"azure_cosmos\"\naccount = \"a\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                "type \"azure_cosmos\" is not available on this host (only \"spin\" and \"redis\")"
            ),
            "{err}"
        );
        let config = parse("[key_value_store.other]\ntype = \"spin\"\npath = \"kv.db\"\n").unwrap();
        match &config.stores["other"] {
            StoreSpec::Spin { path } => {
                assert_eq!(path.as_deref(), Some(Path::new("/config/kv.db")))
            }
            StoreSpec::Redis { .. } => panic!("parsed as redis"),
        }
    }
}
