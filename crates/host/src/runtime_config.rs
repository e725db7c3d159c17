//! The runtime config file (`--runtime-config-file`): where key-value stores live.
//!
//! As in Spin, the `default` store exists without configuration (SQLite file
//! `sqlite_key_value.db` in the state directory) and other labels must be declared:
//! `[key_value_store.<label>] type = "spin", path = "file.db"`. Backends this host
//! does not have (redis, azure_cosmos, aws_dynamo) are refused with a clear message;
//! the same file works unchanged on Spin.

use crate::KvMode;
use crate::kv::{Backend, MemoryBackend, SqliteBackend};
use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The parts of a runtime config this host reads.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RuntimeConfig {
    #[serde(default)]
    key_value_store: BTreeMap<String, StoreConfig>,
    #[serde(skip)]
    base_dir: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
struct StoreConfig {
    #[serde(rename = "type")]
    kind: String,
    path: Option<String>,
}

/// Reads a runtime config file.
pub fn load(path: &Path) -> Result<RuntimeConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("failed to read runtime config {}", path.display()))?;
    let mut config: RuntimeConfig = toml::from_str(&text)
        .with_context(|| format!("invalid runtime config {}", path.display()))?;
    config.base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    Ok(config)
}

impl RuntimeConfig {
    /// Opens every configured store (and `default`).
    pub fn open_stores(
        &self,
        state_dir: &Path,
        mode: &KvMode,
    ) -> Result<HashMap<String, Arc<dyn Backend>>> {
        let mut stores: HashMap<String, Arc<dyn Backend>> = HashMap::new();
        let open = |path: PathBuf| -> Result<Arc<dyn Backend>> {
            Ok(match mode {
                KvMode::Memory => Arc::new(MemoryBackend::default()),
                KvMode::Sqlite => Arc::new(SqliteBackend::open(&path).with_context(|| {
                    format!("failed to open key-value store {}", path.display())
                })?),
                KvMode::SqliteCommitPerWrite => {
                    Arc::new(SqliteBackend::open_with_group(&path, 1).with_context(|| {
                        format!("failed to open key-value store {}", path.display())
                    })?)
                }
            })
        };
        if !self.key_value_store.contains_key("default") {
            stores.insert(
                "default".into(),
                open(state_dir.join("sqlite_key_value.db"))?,
            );
        }
        for (label, store) in &self.key_value_store {
            match store.kind.as_str() {
                "spin" => {
                    let path = match &store.path {
                        Some(p) => self.base_dir.join(p),
                        None => state_dir.join("sqlite_key_value.db"),
                    };
                    stores.insert(label.clone(), open(path)?);
                }
                other => bail!(
                    "key_value_store.{label}: type \"{other}\" is not available on this host (only \"spin\"); it runs on `spin up`"
                ),
            }
        }
        Ok(stores)
    }
}
