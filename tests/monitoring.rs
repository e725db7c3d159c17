//! Black-box tests: monitoring.

mod support;
