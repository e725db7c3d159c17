//! Black-box tests: monitoring rules, evaluation runs, alert states, and the
//! trigger outbox, over HTTP against the compiled components on the local host.
//!
//! One test binary (the components are built once), a module per area.

#[path = "../support/mod.rs"]
mod support;

mod builders;
mod receiver;

mod actions;
mod chunks;
mod cron;
mod effects;
mod exports;
mod optimization;
mod retention;
mod rules;
mod runs;
mod triggers;
