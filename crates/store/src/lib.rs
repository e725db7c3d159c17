//! Typed repositories over the key-value store (DESIGN §4).
//!
//! Components never format a key or serialise a record themselves: they go through
//! [`Records`] (versioned JSON records written with compare-and-swap), [`Index`]
//! (sorted id sets kept beside the records), [`AuditLog`] (append-only, one counter
//! increment and one write per entry) and [`idempotency`]. The [`Kv`] trait is the
//! seam: [`spin::SpinKv`] on Spin, [`MemoryKv`] in native tests.
#![forbid(unsafe_code)]

mod audit;
pub mod campaigns;
pub mod content;
pub mod idempotency;
mod index;
pub mod keys;
mod kv;
mod memory;
pub mod metrics;
pub mod monitoring;
mod records;
#[cfg(feature = "spin")]
pub mod spin;

pub use audit::{AuditEntry, AuditLog};
pub use index::Index;
pub use keys::Key;
pub use kv::{Kv, StoreError};
pub use memory::MemoryKv;
pub use records::{Records, UpdateError, Versioned};

impl From<StoreError> for opsflow_api::Problem {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(m) => opsflow_api::Problem::unavailable(format!(
                "the store is unavailable ({m}); retry later"
            )),
            StoreError::Corrupt(m) => {
                opsflow_api::Problem::new(500, "corrupt-record", "Stored record unreadable", m)
            }
            StoreError::Contended => opsflow_api::Problem::unavailable(
                "too many concurrent writers on one record; retry",
            ),
        }
    }
}
