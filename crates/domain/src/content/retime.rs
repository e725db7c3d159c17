//! Timing changes: the optimization loop's answer to a delivery problem on a
//! channel moves the campaign's scheduled, unsent sends on that channel to later
//! hours ([`delayed_candidates`](super::delayed_candidates) ranks them; the
//! component claims the new hour's slot before it gives back the old one, so the
//! hourly cap is never exceeded). This file parses the request; the move itself
//! is [`ContentItem::move_send`](super::ContentItem::move_send).

use serde::{Deserialize, Serialize};

use super::refresh::{reason, trigger_id};
use super::timing::MAX_DELAY_HOURS;
use crate::campaign::Channel;
use crate::validation::{ParseError, ValidationErrors};

/// How far sends move when the request names no guardrail.
pub const DEFAULT_MAX_DELAY_HOURS: u32 = 24;

/// `POST /api/content/campaigns/{campaign_id}/timing-change` body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimingChangeInput {
    /// Required: the channel whose sends move.
    pub channel: Option<String>,
    /// Required: why, 1..=500 characters.
    pub reason: Option<String>,
    /// The trigger asking, if any (a send it moved already is not moved again).
    pub trigger_id: Option<String>,
    /// Sends due within this many hours move, each by at most as many (1..=168, default 24).
    pub max_delay_hours: Option<i64>,
}

/// A parsed timing change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimingChange {
    /// The channel whose sends move.
    pub channel: String,
    /// Why.
    pub reason: String,
    /// The trigger asking, if any.
    pub trigger_id: Option<String>,
    /// The guardrail, in hours.
    pub max_delay_hours: u32,
}

impl TimingChangeInput {
    /// Parses with per-field errors.
    pub fn parse(self) -> Result<TimingChange, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let channel = errs.required("channel", self.channel, |c| {
            Channel::parse(&c).map(String::from)
        });
        let reason = errs.required("reason", self.reason, reason);
        let trigger_id = match self.trigger_id {
            Some(t) => errs.check("trigger_id", trigger_id(t)),
            None => None,
        };
        let max_delay_hours = match self.max_delay_hours {
            None => Some(DEFAULT_MAX_DELAY_HOURS),
            Some(h) => errs.check("max_delay_hours", delay(h)),
        };
        match (channel, reason, max_delay_hours) {
            (Some(channel), Some(reason), Some(max_delay_hours)) => {
                errs.into_result(TimingChange {
                    channel,
                    reason,
                    trigger_id,
                    max_delay_hours,
                })
            }
            _ => Err(errs),
        }
    }
}

fn delay(hours: i64) -> Result<u32, ParseError> {
    u32::try_from(hours)
        .ok()
        .filter(|h| (1..=MAX_DELAY_HOURS).contains(h))
        .ok_or(ParseError::Format("must be between 1 and 168 hours"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_with_a_default_guardrail_and_every_field_error() {
        let ok = TimingChangeInput {
            channel: Some("email".into()),
            reason: Some("bounce rate 30%".into()),
            trigger_id: Some("T1".into()),
            max_delay_hours: None,
        }
        .parse()
        .expect("valid");
        assert_eq!(ok.max_delay_hours, DEFAULT_MAX_DELAY_HOURS);
        let e = TimingChangeInput {
            channel: Some("E MAIL".into()),
            reason: None,
            trigger_id: Some("".into()),
            max_delay_hours: Some(169),
        }
        .parse()
        .unwrap_err();
        let fields: Vec<&str> = e.errors.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            fields,
            ["channel", "reason", "trigger_id", "max_delay_hours"]
        );
        assert!(
            TimingChangeInput {
                max_delay_hours: Some(-1),
                ..ok_input()
            }
            .parse()
            .is_err()
        );
    }

    fn ok_input() -> TimingChangeInput {
        TimingChangeInput {
            channel: Some("sms".into()),
            reason: Some("r".into()),
            trigger_id: None,
            max_delay_hours: Some(2),
        }
    }
}
