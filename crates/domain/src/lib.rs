//! opsflow's domain: campaigns, webhooks, content and monitoring as pure logic.
//!
//! Nothing here does I/O, reads a clock or draws randomness: `now` and ids are
//! arguments, so everything replays and tests natively. Input is parsed once into
//! domain types; what does not parse is reported per field ([`validation`]).
#![forbid(unsafe_code)]

pub mod analytics;
pub mod campaign;
pub mod content;
pub mod monitoring;
pub mod sort;
pub mod validation;
pub mod webhooks;
