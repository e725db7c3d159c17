//! Value types that can only hold valid values: each has one constructor, `parse`.
//!
//! Serde goes through `parse` too (`try_from`), so a record read back from the
//! store cannot smuggle in a value the API would have refused.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::validation::ParseError;

/// Longest span, in days, of a schedule, an allocation or a utilization query.
/// Bounds every per-day loop, whatever the input.
pub const MAX_SPAN_DAYS: i64 = 731;
/// Largest money amount in minor units (10^15: ten trillion in a 2-decimal currency).
pub const MAX_MINOR_UNITS: i64 = 1_000_000_000_000_000;

macro_rules! string_newtype {
    ($(#[$meta:meta])* $name:ident, $check:path) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Parses the raw input; the only way to make one.
            pub fn parse(raw: impl AsRef<str>) -> Result<Self, ParseError> {
                $check(raw.as_ref()).map(Self)
            }

            /// The value as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = ParseError;
            fn try_from(raw: String) -> Result<Self, ParseError> {
                Self::parse(raw)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

fn check_len(s: &str, max: usize) -> Result<(), ParseError> {
    if s.is_empty() {
        Err(ParseError::Empty)
    } else if s.chars().count() > max {
        Err(ParseError::TooLong {
            max,
            unit: "characters",
        })
    } else {
        Ok(())
    }
}

fn name_text(raw: &str) -> Result<String, ParseError> {
    let s = raw.trim();
    check_len(s, 200)?;
    if s.chars().any(char::is_control) {
        return Err(ParseError::Format("must not contain control characters"));
    }
    Ok(s.to_owned())
}

fn user_id(raw: &str) -> Result<String, ParseError> {
    check_len(raw, 128)?;
    if raw.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(ParseError::Format(
            "must not contain whitespace or control characters",
        ));
    }
    Ok(raw.to_owned())
}

fn slug(raw: &str) -> Result<String, ParseError> {
    check_len(raw, 64)?;
    let mut chars = raw.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    if !first_ok
        || !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
    {
        return Err(ParseError::Format(
            "must start with a-z and contain only a-z, 0-9, '_' and '-'",
        ));
    }
    Ok(raw.to_owned())
}

fn external_id(raw: &str) -> Result<String, ParseError> {
    check_len(raw, 128)?;
    if !raw
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.'))
    {
        return Err(ParseError::Format(
            "must contain only A-Z, a-z, 0-9, '-', '_', ':' and '.'",
        ));
    }
    Ok(raw.to_owned())
}

string_newtype!(
    /// A campaign's display name: trimmed, 1..=200 characters, no control characters.
    CampaignName,
    name_text
);
string_newtype!(
    /// A resource's display name: same rules as [`CampaignName`].
    ResourceName,
    name_text
);
string_newtype!(
    /// A user id as the `sub` of an API token: 1..=128 characters, no whitespace.
    UserId,
    user_id
);
string_newtype!(
    /// A KPI, named like the metric it is measured by (`conversions`, `clicked`):
    /// a lowercase slug of at most 64 characters.
    Kpi,
    slug
);
string_newtype!(
    /// A distribution channel (`email`, `sms`, `paid_social`): a lowercase slug.
    Channel,
    slug
);
string_newtype!(
    /// A skill a resource has or an allocation needs (`copywriting`): a lowercase slug.
    Skill,
    slug
);
string_newtype!(
    /// The id of a record owned elsewhere (a monitoring rule, a resource):
    /// 1..=128 characters of `A-Za-z0-9-_:.`.
    ExternalId,
    external_id
);

/// The number an objective must reach: finite, greater than 0, at most 10^15.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct KpiTarget(f64);

impl KpiTarget {
    /// Parses a target value.
    pub fn parse(raw: f64) -> Result<Self, ParseError> {
        if raw.is_finite() && raw > 0.0 && raw <= 1e15 {
            Ok(Self(raw))
        } else {
            Err(ParseError::Rule(
                "must be a number greater than 0 and at most 1e15".into(),
            ))
        }
    }

    /// The target as a number.
    pub fn value(self) -> f64 {
        self.0
    }
}

impl TryFrom<f64> for KpiTarget {
    type Error = ParseError;
    fn try_from(raw: f64) -> Result<Self, ParseError> {
        Self::parse(raw)
    }
}

impl From<KpiTarget> for f64 {
    fn from(value: KpiTarget) -> f64 {
        value.0
    }
}

/// A channel budget in currency minor units (cents): 0..=[`MAX_MINOR_UNITS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct ChannelBudget(i64);

impl ChannelBudget {
    /// Parses an amount in minor units.
    pub fn parse(minor_units: i64) -> Result<Self, ParseError> {
        if (0..=MAX_MINOR_UNITS).contains(&minor_units) {
            Ok(Self(minor_units))
        } else {
            Err(ParseError::OutOfRange {
                min: "0".into(),
                max: MAX_MINOR_UNITS.to_string(),
            })
        }
    }

    /// The amount in minor units.
    pub fn minor_units(self) -> i64 {
        self.0
    }
}

impl TryFrom<i64> for ChannelBudget {
    type Error = ParseError;
    fn try_from(raw: i64) -> Result<Self, ParseError> {
        Self::parse(raw)
    }
}

impl From<ChannelBudget> for i64 {
    fn from(value: ChannelBudget) -> i64 {
        value.0
    }
}

/// Campaign priority, `1` (critical) to `5` (lowest), as in P1..P5.
///
/// Input accepts the number or a name: `critical` = 1, `high` = 2, `medium` = 3,
/// `low` = 4 (5 has no name). Stored and returned as the number.
/// `Ord` orders by importance: `critical > high > ... > 5`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Priority(u8);

impl Priority {
    /// The priority when the input names none.
    pub const DEFAULT: Priority = Priority(3);
    /// Priority 1: the most important.
    pub const CRITICAL: Priority = Priority(1);
    /// Priority 5: the least important; campaigns without a known priority rank here.
    pub const LOWEST: Priority = Priority(5);

    /// Parses a level, 1..=5.
    pub fn parse(level: i64) -> Result<Self, ParseError> {
        match u8::try_from(level) {
            Ok(l @ 1..=5) => Ok(Self(l)),
            _ => Err(ParseError::OutOfRange {
                min: "1".into(),
                max: "5".into(),
            }),
        }
    }

    /// Parses a name: `critical`, `high`, `medium` or `low`.
    pub fn parse_name(name: &str) -> Result<Self, ParseError> {
        match name {
            "critical" => Ok(Self(1)),
            "high" => Ok(Self(2)),
            "medium" => Ok(Self(3)),
            "low" => Ok(Self(4)),
            _ => Err(ParseError::Format(
                "must be 1..=5 or one of critical, high, medium, low",
            )),
        }
    }

    /// The level, 1 (critical) ..= 5 (lowest).
    pub fn level(self) -> u8 {
        self.0
    }
}

impl Ord for Priority {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // Level 1 is the most important, so it compares greatest.
        other.0.cmp(&self.0)
    }
}

impl PartialOrd for Priority {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl TryFrom<u8> for Priority {
    type Error = ParseError;
    fn try_from(raw: u8) -> Result<Self, ParseError> {
        Self::parse(i64::from(raw))
    }
}

impl From<Priority> for u8 {
    fn from(value: Priority) -> u8 {
        value.0
    }
}

/// When a campaign runs: `start < end`, at most [`MAX_SPAN_DAYS`] apart.
/// `start` is also when distribution starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ScheduleFields")]
pub struct Schedule {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

#[derive(Deserialize)]
struct ScheduleFields {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

impl TryFrom<ScheduleFields> for Schedule {
    type Error = ParseError;
    fn try_from(f: ScheduleFields) -> Result<Self, ParseError> {
        Self::parse(f.start, f.end)
    }
}

impl Schedule {
    /// Parses a schedule from its two instants.
    pub fn parse(start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Self, ParseError> {
        if start >= end {
            return Err(ParseError::Rule("start must be before end".into()));
        }
        if (end - start).num_days() > MAX_SPAN_DAYS {
            return Err(ParseError::Rule(format!(
                "must span at most {MAX_SPAN_DAYS} days"
            )));
        }
        Ok(Self { start, end })
    }

    /// When the campaign (and its distribution) starts.
    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }

    /// When the campaign ends.
    pub fn end(&self) -> DateTime<Utc> {
        self.end
    }

    /// The calendar days (UTC) the schedule touches, inclusive; an end at
    /// exactly midnight does not touch the day it opens.
    pub fn days(&self) -> DateRange {
        let last = self
            .end
            .checked_sub_signed(chrono::TimeDelta::nanoseconds(1))
            .map_or(self.end.date_naive(), |t| t.date_naive());
        DateRange {
            from: self.start.date_naive(),
            to: last.max(self.start.date_naive()),
        }
    }

    /// True when `at` lies within `start..=end`.
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.start <= at && at <= self.end
    }
}

/// An inclusive range of calendar days, `from <= to`, at most [`MAX_SPAN_DAYS`] + 1 days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "DateRangeFields")]
pub struct DateRange {
    from: NaiveDate,
    to: NaiveDate,
}

#[derive(Deserialize)]
struct DateRangeFields {
    from: NaiveDate,
    to: NaiveDate,
}

impl TryFrom<DateRangeFields> for DateRange {
    type Error = ParseError;
    fn try_from(f: DateRangeFields) -> Result<Self, ParseError> {
        Self::parse(f.from, f.to)
    }
}

impl DateRange {
    /// Parses an inclusive day range.
    pub fn parse(from: NaiveDate, to: NaiveDate) -> Result<Self, ParseError> {
        if from > to {
            return Err(ParseError::Rule("from must not be after to".into()));
        }
        if (to - from).num_days() > MAX_SPAN_DAYS {
            return Err(ParseError::Rule(format!(
                "must span at most {} days",
                MAX_SPAN_DAYS + 1
            )));
        }
        Ok(Self { from, to })
    }

    /// The first day.
    pub fn from(&self) -> NaiveDate {
        self.from
    }

    /// The last day (inclusive).
    pub fn to(&self) -> NaiveDate {
        self.to
    }

    /// Number of days in the range (at least 1).
    pub fn len_days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    /// True when `day` is in the range.
    pub fn contains(&self, day: NaiveDate) -> bool {
        self.from <= day && day <= self.to
    }

    /// The days both ranges contain, if any.
    pub fn intersect(&self, other: &DateRange) -> Option<DateRange> {
        let from = self.from.max(other.from);
        let to = self.to.min(other.to);
        (from <= to).then_some(DateRange { from, to })
    }

    /// Every day of the range, in order.
    pub fn days(&self) -> impl Iterator<Item = NaiveDate> + use<> {
        let to = self.to;
        self.from.iter_days().take_while(move |d| *d <= to)
    }
}

impl fmt::Display for DateRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.from == self.to {
            write!(f, "{}", self.from)
        } else {
            write!(f, "{}..{}", self.from, self.to)
        }
    }
}

/// Parses an RFC 3339 timestamp (`2030-01-01T09:00:00Z`) into UTC.
pub fn parse_instant(raw: &str) -> Result<DateTime<Utc>, ParseError> {
    DateTime::parse_from_rfc3339(raw.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| ParseError::Format("must be an RFC 3339 timestamp, e.g. 2030-01-01T09:00:00Z"))
}

/// Parses a calendar day (`2030-01-01`).
pub fn parse_day(raw: &str) -> Result<NaiveDate, ParseError> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .map_err(|_| ParseError::Format("must be a date, e.g. 2030-01-01"))
}

/// Parses `?from=YYYY-MM-DD&to=YYYY-MM-DD` (both required) into a day range,
/// with per-field errors.
pub fn parse_day_range(
    from: Option<&str>,
    to: Option<&str>,
) -> Result<DateRange, crate::validation::ValidationErrors> {
    let mut errs = crate::validation::ValidationErrors::default();
    let from = errs.required("from", from, parse_day);
    let to = errs.required("to", to, parse_day);
    match (from, to) {
        (Some(from), Some(to)) => match errs.check("to", DateRange::parse(from, to)) {
            Some(range) => Ok(range),
            None => Err(errs),
        },
        _ => Err(errs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn campaign_name_is_trimmed_and_bounded() {
        assert_eq!(
            CampaignName::parse("  Spring  ").map(String::from),
            Ok("Spring".into())
        );
        assert_eq!(CampaignName::parse("   "), Err(ParseError::Empty));
        assert!(CampaignName::parse("a".repeat(201)).is_err());
        assert!(CampaignName::parse("a\u{0}b").is_err());
    }

    #[test]
    fn priority_accepts_levels_and_names_and_orders_by_importance() {
        assert_eq!(Priority::parse_name("critical"), Priority::parse(1));
        assert!(Priority::parse(0).is_err());
        assert!(Priority::parse(6).is_err());
        assert!(Priority::parse_name("urgent").is_err());
        assert!(Priority::CRITICAL > Priority::DEFAULT);
        assert!(Priority::LOWEST < Priority::DEFAULT);
        assert_eq!(
            serde_json::to_string(&Priority::CRITICAL).ok(),
            Some("1".into())
        );
        assert!(serde_json::from_str::<Priority>("9").is_err());
    }

    #[test]
    fn budget_is_non_negative_minor_units() {
        assert!(ChannelBudget::parse(0).is_ok());
        assert!(ChannelBudget::parse(-1).is_err());
        assert!(ChannelBudget::parse(MAX_MINOR_UNITS + 1).is_err());
    }

    #[test]
    fn schedule_deserialization_goes_through_parse() {
        let bad = r#"{"start":"2030-01-02T00:00:00Z","end":"2030-01-01T00:00:00Z"}"#;
        assert!(serde_json::from_str::<Schedule>(bad).is_err());
        let ok = r#"{"start":"2030-01-01T00:00:00Z","end":"2030-01-02T00:00:00Z"}"#;
        assert!(serde_json::from_str::<Schedule>(ok).is_ok());
    }

    #[test]
    fn day_range_query_errors_are_per_field() {
        let fields = |f: Option<&str>, t: Option<&str>| -> Vec<String> {
            parse_day_range(f, t)
                .err()
                .map(|e| e.errors.into_iter().map(|x| x.field).collect())
                .unwrap_or_default()
        };
        assert_eq!(fields(None, Some("x")), ["from", "to"]);
        assert_eq!(fields(Some("2030-01-02"), Some("2030-01-01")), ["to"]);
        assert_eq!(fields(Some("2030-01-01"), Some("2035-01-01")), ["to"]);
        assert!(fields(Some("2030-01-01"), Some("2030-01-31")).is_empty());
    }

    #[test]
    fn schedule_days_exclude_a_day_the_end_only_opens() {
        let at = |s: &str| parse_instant(s).unwrap_or_default();
        let s = Schedule::parse(at("2030-03-01T12:00:00Z"), at("2030-03-03T00:00:00Z"));
        assert_eq!(
            s.map(|s| s.days().to_string()),
            Ok("2030-03-01..2030-03-02".into())
        );
        let s = Schedule::parse(at("2030-03-01T12:00:00Z"), at("2030-03-01T13:00:00Z"));
        assert_eq!(s.map(|s| s.days().to_string()), Ok("2030-03-01".into()));
    }

    proptest! {
        #[test]
        fn slugs_round_trip_or_refuse(raw in "\\PC{0,80}") {
            match Kpi::parse(&raw) {
                Ok(kpi) => {
                    prop_assert_eq!(kpi.as_str(), raw.as_str());
                    prop_assert!(raw.len() <= 64);
                }
                Err(_) => prop_assert!(
                    raw.is_empty()
                        || raw.chars().count() > 64
                        || !raw.starts_with(|c: char| c.is_ascii_lowercase())
                        || raw.chars().any(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-'))
                ),
            }
        }

        #[test]
        fn date_range_days_has_len_days_items(a in 0i64..2000, len in 0i64..800) {
            let base = NaiveDate::from_ymd_opt(2030, 1, 1).unwrap_or_default();
            let from = base + chrono::Days::new(a.unsigned_abs());
            let to = from + chrono::Days::new(len.unsigned_abs());
            match DateRange::parse(from, to) {
                Ok(r) => prop_assert_eq!(r.days().count() as i64, r.len_days()),
                Err(_) => prop_assert!(len > MAX_SPAN_DAYS),
            }
        }
    }
}
