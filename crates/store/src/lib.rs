//! Typed repositories over the key-value store (docs/design.md §4).
//!
//! Components never format a key or serialise a record themselves: they go through
//! [`Records`] (versioned JSON records written with compare-and-swap), [`IdSet`]
//! (sorted id sets kept beside the records, sharded like every index that grows
//! with the data: [`sharded`]; changed one id or many at a time, paged oldest or
//! newest first: [`triggers`], [`runs`]), [`AuditLog`] (append-only, one counter
//! increment and one write per entry), [`Slots`] (hourly send-capacity counters)
//! and the area modules below. The [`Kv`] trait is the seam: [`spin::SpinKv`] on
//! Spin, [`MemoryKv`] in native tests.
//!
//! This crate knows nothing of HTTP: a [`StoreError`] becomes a problem document at
//! the edge (`opsflow_api`), and replaying responses by `Idempotency-Key` lives
//! there too (`opsflow_api::idempotency`, over this crate's [`Kv`] and [`keys`]).
#![forbid(unsafe_code)]

pub mod analytics;
mod audit;
pub mod campaigns;
pub mod content;
mod id_set;
pub mod keys;
mod kv;
mod memory;
pub mod metrics;
pub mod monitoring;
mod records;
mod retention;
pub mod runs;
pub mod sharded;
mod slots;
#[cfg(feature = "spin")]
pub mod spin;
pub mod triggers;

pub use audit::{AuditEntry, AuditLog};
pub use id_set::IdSet;
pub use keys::Key;
pub use kv::{Kv, StoreError};
pub use memory::MemoryKv;
pub use records::{Records, SCHEMA, UpdateError, Versioned, encode as encode_record};
pub use slots::{SlotPruneReport, Slots, prune_slots};
