//! Cron expressions as the host's cron trigger reads them from `spin.toml`
//! (`cron::parse_expression`, seconds first, 6 or 7 fields), and the next ticks
//! of one that parsed, which must move strictly forward.
#![no_main]

use libfuzzer_sys::fuzz_target;
use opsflow_fuzz::now;
use opsflow_host::cron::parse_expression;

fuzz_target!(|data: &[u8]| {
    let Ok(expr) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(schedule) = parse_expression(expr) else {
        return;
    };
    let mut last = now();
    for _ in 0..3 {
        let Some(next) = schedule.next_after(last) else {
            break;
        };
        assert!(next > last, "{expr:?}: {next} is not after {last}");
        last = next;
    }
});
