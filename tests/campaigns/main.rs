//! Black-box tests: campaigns, stage gates and handoffs, resources, allocations,
//! utilization and rebalancing, over HTTP against the compiled campaign-intake and
//! resource-planning.
//!
//! One test binary (the components are built once), a module per area.

#[path = "../support/mod.rs"]
mod support;

mod builders;

mod access;
mod exports;
mod hostile_input;
mod http;
mod lifecycle;
mod rebalancing;
mod store;
