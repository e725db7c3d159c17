//! The application manifest (`spin.toml`, manifest version 2) as the host loads
//! it: `manifest::parse` with its checks of variables, components, templates,
//! outbound hosts and triggers (cron expressions among them).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use opsflow_host::manifest;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = manifest::parse(text, Path::new("/app"));
});
