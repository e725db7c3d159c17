//! The feed's iCalendar text (RFC 5545), written by the `icalendar` crate: CRLF
//! line ends, lines folded at 75 octets, TEXT values escaped (`\,` `\;` `\\` `\n`).
//!
//! One VEVENT per scheduled send: UID `<content id>@opsflow` (stable, so a
//! rescheduled item moves in the client's calendar instead of doubling), DTSTAMP
//! the item's last change, DTSTART the send time in UTC, SUMMARY `[channel] title`,
//! DESCRIPTION its state, campaign and id, URL the campaign's dashboard page,
//! CATEGORIES the channel.

use crate::feed::Send;
use icalendar::{Calendar, Component, Event, EventLike};

/// The calendar of `sends` for a feed of `channels`; `base` is the app's public URL.
pub fn calendar(channels: &[String], sends: &[Send], base: &str) -> String {
    let mut cal = Calendar::empty();
    cal.append_property(("VERSION", "2.0"));
    cal.append_property(("PRODID", "-//opsflow//content calendar//EN"));
    cal.append_property(("CALSCALE", "GREGORIAN"));
    cal.append_property(("METHOD", "PUBLISH"));
    cal.name(&format!("opsflow content ({})", channels.join(", ")));
    for s in sends {
        let event = Event::new()
            .uid(&format!("{}@opsflow", s.id))
            .timestamp(s.updated_at)
            .starts(s.at)
            .summary(&format!("[{}] {}", s.channel, s.title))
            .description(&format!(
                "State: {}\nCampaign: {}\nContent: {}",
                s.state, s.campaign_id, s.id
            ))
            .url(&format!("{base}/campaigns/{}", s.campaign_id))
            .add_property("CATEGORIES", &s.channel)
            .done();
        cal.push(event);
    }
    cal.done().to_string()
}
