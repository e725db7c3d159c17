//! Fault injection for tests: off unless asked for.
//!
//! Set from the `OPSFLOW_HOST_FAULTS` environment variable (comma-separated
//! `kv_fail_after=N`, `kv_fail_count=M`, `kv_fail_after_write=1`, `kv_delay_ms=D`,
//! `kv_swap_reports_failure=1`, `kv_get_many_fails=1`, `outbound_refuse=1`,
//! `kv_hold_syncs=1`) or at run time by an embedding test through [`Faults`].
//!
//! A failing KV call fails before it reaches the store, or — with
//! `kv_fail_after_write` — a failing write call (set, delete, the batches,
//! increment, swap) is carried out and then reported as an error, as a hosted store
//! that times out after applying a write does. `kv_swap_reports_failure` makes every
//! swap that wrote report that it did not, and `kv_get_many_fails` every batch read
//! fail, as Spin 4.1's Redis store does (it sends `UNWATCH <key>` after a swap and
//! `KEYS <k1> <k2>…` for a batch read, both refused by Redis).
//!
//! `kv_hold_syncs` stalls the SQLite store's syncer before its next `fdatasync`
//! (commits go on; nothing becomes durable) until released: what a slow disk does,
//! so a test can see that no response leaves before what it saw is on disk.

use anyhow::{Result, bail};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Live fault settings shared by every instance.
#[derive(Default, Debug)]
pub struct Faults {
    kv_calls: AtomicU64,
    kv_fail_after: AtomicU64,
    kv_fail_count: AtomicU64,
    kv_fail_after_write: AtomicBool,
    kv_delay_ms: AtomicU64,
    kv_swap_reports_failure: AtomicBool,
    kv_get_many_fails: AtomicBool,
    outbound_refuse: AtomicBool,
    kv_hold_syncs: AtomicBool,
}

/// How a KV call fails, if it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KvFailure {
    /// It does not.
    None,
    /// Before reaching the store.
    Before,
    /// A write is carried out, then reported as failed; a read fails before.
    AfterWrite,
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
                "kv_fail_after_write" => {
                    faults.kv_fail_after_write.store(n != 0, Ordering::SeqCst);
                }
                "kv_delay_ms" => faults.kv_delay_ms.store(n, Ordering::SeqCst),
                "kv_swap_reports_failure" => {
                    faults
                        .kv_swap_reports_failure
                        .store(n != 0, Ordering::SeqCst);
                }
                "kv_get_many_fails" => faults.kv_get_many_fails.store(n != 0, Ordering::SeqCst),
                "outbound_refuse" => faults.outbound_refuse.store(n != 0, Ordering::SeqCst),
                "kv_hold_syncs" => faults.kv_hold_syncs.store(n != 0, Ordering::SeqCst),
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

    /// From now on, let `after` KV calls pass, then fail the next `count` before
    /// they reach the store.
    pub fn fail_kv(&self, after: u64, count: u64) {
        self.kv_fail_after_write.store(false, Ordering::SeqCst);
        self.fail_window(after, count);
    }

    /// Like [`Faults::fail_kv`], but a failing write is carried out first, then
    /// reported as failed: the caller cannot tell whether it happened.
    pub fn fail_kv_after_writing(&self, after: u64, count: u64) {
        self.kv_fail_after_write.store(true, Ordering::SeqCst);
        self.fail_window(after, count);
    }

    fn fail_window(&self, after: u64, count: u64) {
        self.kv_fail_after.store(after, Ordering::SeqCst);
        self.kv_calls.store(0, Ordering::SeqCst);
        self.kv_fail_count.store(count, Ordering::SeqCst);
    }

    /// Every swap that writes reports that it did not (or, `false`, tells the truth
    /// again): Spin 4.1's Redis store, whose `UNWATCH <key>` fails after each swap.
    pub fn report_swaps_failed(&self, on: bool) {
        self.kv_swap_reports_failure.store(on, Ordering::SeqCst);
    }

    /// Delays every KV call by `ms` milliseconds from now on (0: no delay).
    pub fn delay_kv(&self, ms: u64) {
        self.kv_delay_ms.store(ms, Ordering::SeqCst);
    }

    /// Every batch read fails (or, `false`, works again): Spin 4.1's Redis store,
    /// which sends a batch read as `KEYS <k1> <k2>…`.
    pub fn fail_get_many(&self, on: bool) {
        self.kv_get_many_fails.store(on, Ordering::SeqCst);
    }

    /// Refuses (or allows again) every outbound request.
    pub fn refuse_outbound(&self, refuse: bool) {
        self.outbound_refuse.store(refuse, Ordering::SeqCst);
    }

    /// Holds (or releases) the SQLite store's syncer before its next sync.
    pub fn hold_syncs(&self, hold: bool) {
        self.kv_hold_syncs.store(hold, Ordering::SeqCst);
    }

    /// Clears every fault.
    pub fn clear(&self) {
        self.fail_kv(0, 0);
        self.delay_kv(0);
        self.report_swaps_failed(false);
        self.fail_get_many(false);
        self.refuse_outbound(false);
        self.hold_syncs(false);
    }

    /// Called before each KV call: the delay to apply and how the call fails.
    pub(crate) fn on_kv_call(&self) -> (u64, KvFailure) {
        let delay = self.kv_delay_ms.load(Ordering::Relaxed);
        let count = self.kv_fail_count.load(Ordering::SeqCst);
        if count == 0 {
            return (delay, KvFailure::None);
        }
        let n = self.kv_calls.fetch_add(1, Ordering::SeqCst);
        let after = self.kv_fail_after.load(Ordering::SeqCst);
        if n < after || n - after >= count {
            return (delay, KvFailure::None);
        }
        let failure = if self.kv_fail_after_write.load(Ordering::SeqCst) {
            KvFailure::AfterWrite
        } else {
            KvFailure::Before
        };
        (delay, failure)
    }

    /// Whether batch reads fail.
    pub(crate) fn get_many_fails(&self) -> bool {
        self.kv_get_many_fails.load(Ordering::Relaxed)
    }

    /// Whether a swap that wrote is to say it did not.
    pub(crate) fn swaps_report_failure(&self) -> bool {
        self.kv_swap_reports_failure.load(Ordering::Relaxed)
    }

    /// Whether outbound requests are refused.
    pub(crate) fn outbound_refused(&self) -> bool {
        self.outbound_refuse.load(Ordering::Relaxed)
    }

    /// Whether the SQLite syncer is held.
    pub(crate) fn syncs_held(&self) -> bool {
        self.kv_hold_syncs.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fails_exactly_the_requested_window() {
        let f = Faults::default();
        assert_eq!(f.on_kv_call().1, KvFailure::None);
        f.fail_kv(2, 1);
        let fails: Vec<KvFailure> = (0..5).map(|_| f.on_kv_call().1).collect();
        use KvFailure::{Before, None};
        assert_eq!(fails, [None, None, Before, None, None]);
        f.fail_kv_after_writing(0, 1);
        assert_eq!(f.on_kv_call().1, KvFailure::AfterWrite);
        assert_eq!(f.on_kv_call().1, None);
        f.fail_kv(0, 1);
        assert_eq!(f.on_kv_call().1, Before, "fail_kv fails before again");
    }

    #[test]
    fn spec_parses_and_rejects_unknown_keys() {
        let f = Faults::from_spec("kv_fail_after=1, outbound_refuse=1").expect("valid");
        assert!(f.outbound_refused());
        assert_eq!(
            [f.on_kv_call().1, f.on_kv_call().1, f.on_kv_call().1],
            [KvFailure::None, KvFailure::Before, KvFailure::Before]
        );
        let f = Faults::from_spec(
            "kv_fail_after=0,kv_fail_count=1,kv_fail_after_write=1,kv_swap_reports_failure=1,kv_get_many_fails=1",
        )
        .expect("valid");
        assert!(f.swaps_report_failure() && f.get_many_fails());
        assert!(
            Faults::from_spec("kv_hold_syncs=1")
                .expect("valid")
                .syncs_held()
        );
        assert_eq!(f.on_kv_call().1, KvFailure::AfterWrite);
        assert!(Faults::from_spec("bogus=1").is_err());
        assert!(Faults::from_spec("kv_fail_after").is_err());
    }
}
