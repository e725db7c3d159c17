//! The stored form of a record, `{"version", "schema", "writers", "value"}`, and the
//! carrying over of fields this build does not know (see the parent module).

use super::Versioned;
use super::token::{HISTORY, WriteToken};
use crate::keys::Key;
use crate::kv::StoreError;
use crate::records::SCHEMA;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::Value;

/// The stored form of a record.
#[derive(Serialize)]
struct Envelope<'a, T> {
    version: u64,
    schema: u32,
    /// The tokens of the last [`HISTORY`] writes, newest first.
    #[serde(skip_serializing_if = "<[WriteToken]>::is_empty")]
    writers: &'a [WriteToken],
    value: &'a T,
}

/// The stored form as read; records written before schemas (or write tokens)
/// existed have none.
#[derive(Deserialize)]
struct StoredEnvelope<T> {
    version: u64,
    #[serde(default = "first_schema")]
    #[allow(dead_code)]
    schema: u32,
    #[serde(default)]
    writers: Vec<WriteToken>,
    value: T,
}

/// Only the write history of a stored record, for telling whose write landed.
#[derive(Deserialize)]
pub(super) struct Stamp {
    pub version: u64,
    #[serde(default)]
    pub writers: Vec<WriteToken>,
}

impl Stamp {
    /// Reads the version and write history of stored bytes.
    pub fn of(key: &Key, bytes: &[u8]) -> Result<Self, StoreError> {
        serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(format!("{key}: {e}")))
    }
}

fn first_schema() -> u32 {
    1
}

/// One step of a JSON path.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Step {
    Key(String),
    Index(usize),
}

/// What a rewrite must keep of the record it replaces: its version, the paths of
/// the fields this build did not know, and its write history. The default is the
/// trail of an absent record.
#[derive(Default)]
pub(super) struct Trail {
    pub version: u64,
    pub unknown: Vec<Vec<Step>>,
    pub writers: Vec<WriteToken>,
}

/// A record to rewrite, and its [`Trail`].
pub(super) fn decode_tracking<T: DeserializeOwned>(
    key: &Key,
    bytes: &[u8],
) -> Result<(Versioned<T>, Trail), StoreError> {
    let mut unknown = Vec::new();
    let stored: StoredEnvelope<T> = decode_stored(key, bytes, &mut |path| {
        unknown.push(steps(&path));
    })?;
    let record = Versioned {
        version: stored.version,
        value: stored.value,
    };
    let trail = Trail {
        version: stored.version,
        unknown,
        writers: stored.writers,
    };
    Ok((record, trail))
}

fn steps(path: &serde_ignored::Path<'_>) -> Vec<Step> {
    use serde_ignored::Path;
    let mut out = match path {
        Path::Root => return Vec::new(),
        Path::Seq { parent, .. }
        | Path::Map { parent, .. }
        | Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => steps(parent),
    };
    match path {
        Path::Seq { index, .. } => out.push(Step::Index(*index)),
        Path::Map { key, .. } => out.push(Step::Key(key.clone())),
        _ => {}
    }
    out
}

/// The stored form, each field this build does not know reported to `unknown`.
/// Reads and rewrites both come here, with the callback as a trait object, so each
/// record type's deserializer is compiled once into a component, not once per way
/// of reading it (see BENCHMARKS.md, "Component sizes").
fn decode_stored<T: DeserializeOwned>(
    key: &Key,
    bytes: &[u8],
    unknown: &mut dyn FnMut(serde_ignored::Path<'_>),
) -> Result<StoredEnvelope<T>, StoreError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_ignored::deserialize(&mut de, unknown)
        .and_then(|stored| de.end().map(|()| stored))
        .map_err(|e| StoreError::Corrupt(format!("{key}: {e}")))
}

/// A record for reading only: unknown fields are skipped, not tracked.
pub(super) fn decode<T: DeserializeOwned>(
    key: &Key,
    bytes: &[u8],
) -> Result<Versioned<T>, StoreError> {
    let stored: StoredEnvelope<T> = decode_stored(key, bytes, &mut |_| {})?;
    Ok(Versioned {
        version: stored.version,
        value: stored.value,
    })
}

/// The stored bytes of a record at `version`, written by this build without a
/// write token (a record written whole, e.g. in a batch of new records).
pub fn encode<T: Serialize>(version: u64, value: &T) -> Result<Vec<u8>, StoreError> {
    encode_stamped(version, &[], value)
}

fn encode_stamped<T: Serialize>(
    version: u64,
    writers: &[WriteToken],
    value: &T,
) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(&Envelope {
        version,
        schema: SCHEMA,
        writers,
        value,
    })
    .map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// The version after `trail` holding `value` (`old` the stored bytes, empty when
/// the record was absent), written by `token`: the token joins the front of the
/// write history, and the fields at `trail.unknown` are carried over from `old`,
/// so a field a newer build wrote survives this build's rewrite.
pub(super) fn encode_next<T: Serialize>(
    trail: &Trail,
    value: &T,
    token: &WriteToken,
    old: &[u8],
) -> Result<Vec<u8>, StoreError> {
    let writers: Vec<WriteToken> = std::iter::once(token.clone())
        .chain(trail.writers.iter().cloned())
        .take(HISTORY)
        .collect();
    let version = token.version();
    if trail.unknown.is_empty() {
        return encode_stamped(version, &writers, value);
    }
    let corrupt = |e: serde_json::Error| StoreError::Corrupt(e.to_string());
    let old: Value = serde_json::from_slice(old).map_err(corrupt)?;
    let mut new = serde_json::to_value(Envelope {
        version,
        schema: SCHEMA,
        writers: &writers,
        value,
    })
    .map_err(corrupt)?;
    for path in &trail.unknown {
        carry_over(&old, &mut new, path);
    }
    serde_json::to_vec(&new).map_err(corrupt)
}

/// Copies the value at `path` in `old` into `new`, when the object that held it is
/// still there in `new` and nothing sits at `path` there yet. Objects are followed by
/// key. Array elements are followed by their `id`: the element of `new` with the
/// same `id` as the old one, never whatever now sits at the old index (arrays are
/// trimmed, reordered and replaced); an element without an `id` keeps nothing.
fn carry_over(old: &Value, new: &mut Value, path: &[Step]) {
    let Some((Step::Key(name), parents)) = path.split_last() else {
        return;
    };
    let mut from = old;
    let mut to = new;
    for step in parents {
        let Some((f, t)) = descend(from, to, step) else {
            return;
        };
        from = f;
        to = t;
    }
    let (Some(value), Some(object)) = (from.get(name), to.as_object_mut()) else {
        return;
    };
    object.entry(name.clone()).or_insert_with(|| value.clone());
}

/// One step down both trees: the same key, or the array element with the same `id`.
fn descend<'o, 'n>(
    old: &'o Value,
    new: &'n mut Value,
    step: &Step,
) -> Option<(&'o Value, &'n mut Value)> {
    match step {
        Step::Key(k) => Some((old.get(k)?, new.get_mut(k)?)),
        Step::Index(i) => {
            let element = old.get(i)?;
            let id = element.get("id")?;
            let twin = new
                .as_array_mut()?
                .iter_mut()
                .find(|e| e.get("id") == Some(id))?;
            Some((element, twin))
        }
    }
}
