//! The runtime config file (`--runtime-config-file`) as the host loads it:
//! `runtime_config::parse`, the `[key_value_store.<label>]` tables with their
//! types, paths and Redis URLs. Nothing is opened.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use opsflow_host::runtime_config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = runtime_config::parse(text, Path::new("/app"));
});
