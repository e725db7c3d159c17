//! The content calendar's stored form: per channel and day, item id →
//! [`CalendarEntry`] (written by content-approval when it schedules or moves a
//! send), and what a calendar shows of a scheduled item ([`CalendarItem`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One scheduled send in a channel's calendar day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalendarEntry {
    /// Send time.
    pub at: DateTime<Utc>,
    /// Hour slot (unix seconds of its start).
    pub slot_hour: i64,
    /// Campaign.
    pub campaign_id: String,
}

/// The part of a content item a calendar shows.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CalendarItem {
    /// Content id.
    pub id: String,
    /// Its campaign.
    pub campaign_id: String,
    /// Its channel.
    pub channel: String,
    /// Its title.
    pub title: String,
    /// `scheduled`, `published`, ...
    pub state: String,
    /// Its last change.
    pub updated_at: DateTime<Utc>,
}
