//! Fault injection for tests: off unless asked for.
//!
//! Set from the `OPSFLOW_HOST_FAULTS` environment variable (comma-separated
//! `kv_fail_after=N`, `kv_fail_count=M`, `kv_delay_ms=D`, `outbound_refuse=1`) or
//! at run time by an embedding test through [`Faults`].

use anyhow::{Result, bail};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Live fault settings shared by every instance.
#[derive(Default, Debug)]
pub struct Faults {
    kv_calls: AtomicU64,
    kv_fail_after: AtomicU64,
    kv_fail_count: AtomicU64,
    kv_delay_ms: AtomicU64,
    outbound_refuse: AtomicBool,
}

impl Faults {
    /// Parses `OPSFLOW_HOST_FAULTS`.
    pub fn from_spec(spec: &str) -> Result<Self> {
        let faults = Self::default();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let Some((k, v)) = item.split_once('=') else {
                bail!("fault '{item}' is not key=value");
            };
            let n: u64 = v
                .parse()
                .map_err(|_| anyhow::anyhow!("fault '{item}': not a number"))?;
            match k {
                "kv_fail_after" => faults.kv_fail_after.store(n, Ordering::SeqCst),
                "kv_fail_count" => faults.kv_fail_count.store(n, Ordering::SeqCst),
                "kv_delay_ms" => faults.kv_delay_ms.store(n, Ordering::SeqCst),
                "outbound_refuse" => faults.outbound_refuse.store(n != 0, Ordering::SeqCst),
                _ => bail!("unknown fault '{k}'"),
            }
        }
        if faults.kv_fail_count.load(Ordering::SeqCst) == 0
            && faults.kv_fail_after.load(Ordering::SeqCst) > 0
        {
            faults.kv_fail_count.store(u64::MAX, Ordering::SeqCst);
        }
        Ok(faults)
    }

    /// From now on, let `after` KV calls pass, then fail the next `count`.
    pub fn fail_kv(&self, after: u64, count: u64) {
        self.kv_fail_after.store(after, Ordering::SeqCst);
        self.kv_calls.store(0, Ordering::SeqCst);
        self.kv_fail_count.store(count, Ordering::SeqCst);
    }

    /// Delays every KV call by `ms` milliseconds from now on (0: no delay).
    pub fn delay_kv(&self, ms: u64) {
        self.kv_delay_ms.store(ms, Ordering::SeqCst);
    }

    /// Refuses (or allows again) every outbound request.
    pub fn refuse_outbound(&self, refuse: bool) {
        self.outbound_refuse.store(refuse, Ordering::SeqCst);
    }

    /// Clears every fault.
    pub fn clear(&self) {
        self.fail_kv(0, 0);
        self.delay_kv(0);
        self.refuse_outbound(false);
    }

    /// Called before each KV call: the delay to apply and whether the call fails.
    pub(crate) fn on_kv_call(&self) -> (u64, bool) {
        let delay = self.kv_delay_ms.load(Ordering::Relaxed);
        let count = self.kv_fail_count.load(Ordering::SeqCst);
        if count == 0 {
            return (delay, false);
        }
        let n = self.kv_calls.fetch_add(1, Ordering::SeqCst);
        let after = self.kv_fail_after.load(Ordering::SeqCst);
        let fail = n >= after && n - after < count;
        (delay, fail)
    }

    /// Whether outbound requests are refused.
    pub(crate) fn outbound_refused(&self) -> bool {
        self.outbound_refuse.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fails_exactly_the_requested_window() {
        let f = Faults::default();
        assert!(!f.on_kv_call().1);
        f.fail_kv(2, 1);
        let fails: Vec<bool> = (0..5).map(|_| f.on_kv_call().1).collect();
        assert_eq!(fails, [false, false, true, false, false]);
    }

    #[test]
    fn spec_parses_and_rejects_unknown_keys() {
        let f = Faults::from_spec("kv_fail_after=1, outbound_refuse=1").expect("valid");
        assert!(f.outbound_refused());
        assert_eq!(
            [f.on_kv_call().1, f.on_kv_call().1, f.on_kv_call().1],
            [false, true, true]
        );
        assert!(Faults::from_spec("bogus=1").is_err());
        assert!(Faults::from_spec("kv_fail_after").is_err());
    }
}
