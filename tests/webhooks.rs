//! Black-box tests: webhooks.

mod support;
