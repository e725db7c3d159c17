//! opsflow's domain: campaigns, webhooks, content and monitoring as pure logic.
//!
//! Nothing here does I/O, reads a clock or draws randomness: `now` and ids are
//! arguments, so everything replays and tests natively.
#![forbid(unsafe_code)]

pub mod campaign;
pub mod content;
pub mod monitoring;
pub mod webhooks;
