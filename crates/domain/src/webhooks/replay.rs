//! How long a webhook may be replayed, derived from how long its dedupe record
//! lives: one setting, so the two cannot drift apart.
//!
//! Every counted event leaves a dedupe marker, and the cleanup pass
//! (`opsflow_store::metrics::cleanup`) keeps it at least
//! [`DEDUPE_RETENTION_SECS`] after the event was first received. A replay that
//! arrives after its marker is gone would be counted again, so no platform may
//! admit a delivery that old:
//!
//! | what bounds a replay | platforms | window |
//! |---|---|---|
//! | the signed request time | SendGrid | [`ReplayWindow::DEDUPE`]: [`REPLAY_WINDOW_SECS`] back, [`MAX_CLOCK_SKEW_SECS`] ahead |
//! | the signed request time | HubSpot, Standard Webhooks | [`ReplayWindow::FIVE_MINUTES`] (their specifications'; stricter) |
//! | each event's own time (signed with the body) | SendGrid, HubSpot, Mandrill | [`ReplayWindow::DEDUPE`] |
//!
//! Mandrill signs no time at all, so the events' `ts` (covered by the signature,
//! like the whole body) is what bounds a replayed Mandrill batch. SendGrid and
//! HubSpot are bounded both ways: a request time alone lets a replay of a *retry*
//! (signed long after the event was first received) outlive the first receipt's
//! marker; an event time precedes its first receipt, so bounding it closes that.
//! Standard Webhooks messages are deduplicated by `webhook-id` and their request
//! time is held to five minutes, so a replay is refused long before its marker
//! expires; their events' times are not bounded (the specification's retry
//! schedule spans more than three days).
//!
//! [`REPLAY_MARGIN_SECS`] separates the window from the retention: it absorbs
//! clock differences between the sender and us (a request signed up to
//! [`MAX_CLOCK_SKEW_SECS`] in our future may be received, and its marker
//! written, that much "before" it was signed).

use super::verify::VerifyError;

/// Seconds in a day.
const DAY_SECS: i64 = 86_400;

/// The least time a dedupe marker outlives the first receipt of its event: three
/// full days, the longest documented sender retry span (SendGrid's Inbound Parse;
/// its Event Webhook retries for 24 hours). The cleanup pass derives its
/// retention from this (it must be whole days), and [`REPLAY_WINDOW_SECS`] is
/// derived from it too.
pub const DEDUPE_RETENTION_SECS: i64 = 3 * DAY_SECS;

/// Kept between the replay window and the dedupe retention (clock skew between
/// sender and us, and slack): one hour.
pub const REPLAY_MARGIN_SECS: i64 = 3_600;

/// The oldest signed time (request or event) a platform may admit, in seconds
/// before now: the retention minus the margin (71 hours).
pub const REPLAY_WINDOW_SECS: i64 = DEDUPE_RETENTION_SECS - REPLAY_MARGIN_SECS;

/// How far in our future a signed time may lie (clock skew): five minutes.
pub const MAX_CLOCK_SKEW_SECS: i64 = 300;

const _: () = assert!(DEDUPE_RETENTION_SECS % DAY_SECS == 0, "whole days");
const _: () = assert!(REPLAY_MARGIN_SECS >= MAX_CLOCK_SKEW_SECS);
const _: () = assert!(REPLAY_WINDOW_SECS > 0);

/// The span around `now` a signed time must fall in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayWindow {
    /// The oldest accepted time, in seconds before now.
    pub max_age_secs: i64,
    /// The furthest accepted time, in seconds after now.
    pub max_ahead_secs: i64,
}

impl ReplayWindow {
    /// The widest window any platform may use: whatever it admits is still
    /// deduplicated, because its marker lives longer.
    pub const DEDUPE: Self = Self {
        max_age_secs: REPLAY_WINDOW_SECS,
        max_ahead_secs: MAX_CLOCK_SKEW_SECS,
    };

    /// Five minutes either way (HubSpot's and Standard Webhooks' own rule).
    pub const FIVE_MINUTES: Self = Self {
        max_age_secs: 300,
        max_ahead_secs: 300,
    };

    /// Whether `signed_at` (unix seconds) lies within the window around `now`.
    pub fn check(self, signed_at: i64, now: i64) -> Result<(), VerifyError> {
        self.check_scaled(i128::from(signed_at), i128::from(now), 1)
    }

    /// [`check`](Self::check) for a time in unix milliseconds (`now` in seconds).
    pub fn check_millis(self, signed_at_ms: i64, now: i64) -> Result<(), VerifyError> {
        self.check_scaled(i128::from(signed_at_ms), i128::from(now) * 1000, 1000)
    }

    fn check_scaled(self, signed_at: i128, now: i128, per_sec: i128) -> Result<(), VerifyError> {
        let age = now - signed_at;
        let secs = |units: i128| i64::try_from(units.abs() / per_sec).unwrap_or(i64::MAX);
        if age > i128::from(self.max_age_secs) * per_sec {
            return Err(VerifyError::TooOld {
                age_secs: secs(age),
                max_age_secs: self.max_age_secs,
            });
        }
        if -age > i128::from(self.max_ahead_secs) * per_sec {
            return Err(VerifyError::FromTheFuture {
                ahead_secs: secs(age),
                max_ahead_secs: self.max_ahead_secs,
            });
        }
        Ok(())
    }

    /// Whether a delivery admitted by this window is still deduplicated: it is
    /// no wider than [`ReplayWindow::DEDUPE`].
    pub const fn within_dedupe_retention(self) -> bool {
        self.max_age_secs <= REPLAY_WINDOW_SECS && self.max_ahead_secs <= MAX_CLOCK_SKEW_SECS
    }
}

/// The bound on each event's own time, as a batch parser applies it: events
/// outside it are listed as rejected, never counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventTimeBound {
    /// Now, unix seconds.
    pub now: i64,
    /// The window the event's time must fall in.
    pub window: ReplayWindow,
}

impl EventTimeBound {
    /// Why an event that happened at `occurred_at` (unix seconds) cannot be
    /// counted, if it cannot.
    pub fn refusal(&self, occurred_at: i64) -> Option<String> {
        match self.window.check(occurred_at, self.now) {
            Ok(()) => None,
            Err(VerifyError::TooOld { age_secs, .. }) => Some(format!(
                "the event happened {age_secs} s ago, more than the {} s replay window: \
                 its dedupe record may be gone, so it is not counted",
                self.window.max_age_secs
            )),
            Err(VerifyError::FromTheFuture { ahead_secs, .. }) => Some(format!(
                "the event time is {ahead_secs} s in the future (at most {} s of clock \
                 skew is accepted), so it is not counted",
                self.window.max_ahead_secs
            )),
            Err(other) => Some(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn the_window_is_the_retention_minus_the_margin() {
        assert_eq!(DEDUPE_RETENTION_SECS, 72 * 3_600);
        assert_eq!(REPLAY_WINDOW_SECS, 71 * 3_600);
        assert!(ReplayWindow::DEDUPE.within_dedupe_retention());
        assert!(ReplayWindow::FIVE_MINUTES.within_dedupe_retention());
        let wider = ReplayWindow {
            max_age_secs: REPLAY_WINDOW_SECS + 1,
            ..ReplayWindow::DEDUPE
        };
        assert!(!wider.within_dedupe_retention());
    }

    #[test]
    fn times_at_the_edges_are_admitted_and_beyond_them_refused() {
        let w = ReplayWindow::DEDUPE;
        assert_eq!(w.check(NOW - REPLAY_WINDOW_SECS, NOW), Ok(()));
        assert_eq!(w.check(NOW + MAX_CLOCK_SKEW_SECS, NOW), Ok(()));
        assert_eq!(
            w.check(NOW - REPLAY_WINDOW_SECS - 1, NOW),
            Err(VerifyError::TooOld {
                age_secs: REPLAY_WINDOW_SECS + 1,
                max_age_secs: REPLAY_WINDOW_SECS
            })
        );
        assert_eq!(
            w.check(NOW + MAX_CLOCK_SKEW_SECS + 1, NOW),
            Err(VerifyError::FromTheFuture {
                ahead_secs: MAX_CLOCK_SKEW_SECS + 1,
                max_ahead_secs: MAX_CLOCK_SKEW_SECS
            })
        );
        // A delivery signed when its dedupe record may already be gone.
        assert!(w.check(NOW - DEDUPE_RETENTION_SECS, NOW).is_err());
    }

    #[test]
    fn milliseconds_are_compared_exactly() {
        let w = ReplayWindow::FIVE_MINUTES;
        let ms = NOW * 1000;
        assert_eq!(w.check_millis(ms - 300_000, NOW), Ok(()));
        assert_eq!(w.check_millis(ms + 300_000, NOW), Ok(()));
        assert!(matches!(
            w.check_millis(ms - 300_001, NOW),
            Err(VerifyError::TooOld { age_secs: 300, .. })
        ));
        assert!(matches!(
            w.check_millis(ms + 300_500, NOW),
            Err(VerifyError::FromTheFuture {
                ahead_secs: 300,
                ..
            })
        ));
    }

    #[test]
    fn extreme_times_never_overflow() {
        let w = ReplayWindow::DEDUPE;
        assert!(w.check(i64::MIN, i64::MAX).is_err());
        assert!(w.check(i64::MAX, i64::MIN).is_err());
        assert!(w.check_millis(i64::MAX, i64::MIN).is_err());
        assert!(w.check_millis(0, i64::MAX).is_err());
    }

    #[test]
    fn event_refusals_say_why() {
        let bound = EventTimeBound {
            now: NOW,
            window: ReplayWindow::DEDUPE,
        };
        assert_eq!(bound.refusal(NOW - 60), None);
        let old = bound
            .refusal(NOW - DEDUPE_RETENTION_SECS)
            .unwrap_or_default();
        assert!(old.contains("replay window"), "{old}");
        let ahead = bound.refusal(NOW + 3_600).unwrap_or_default();
        assert!(ahead.contains("future"), "{ahead}");
    }
}
