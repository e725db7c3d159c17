//! Black-box tests: campaigns.

mod support;
