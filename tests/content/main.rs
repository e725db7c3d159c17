//! Black-box tests: content production through the compiled content-approval
//! component (campaigns are created through the campaign API).
//!
//! One test binary (the components are built once), a module per area.

#[path = "../support/mod.rs"]
mod support;

mod analytics;
mod builders;

mod exports;
mod feed;
mod hostile_input;
mod kv_budget;
mod optimization;
mod review;
mod scheduling;
