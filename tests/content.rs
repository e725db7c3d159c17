//! Black-box tests: content.

mod support;
