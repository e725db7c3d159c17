//! Cron expressions as the Spin cron trigger reads them.
//!
//! The trigger plugin schedules with `tokio-cron-scheduler`, whose expressions start
//! with a seconds field: `sec min hour day-of-month month day-of-week [year]`. Five-field
//! (minute-first) expressions are refused rather than silently shifted by a field.

use anyhow::{Result, anyhow, bail};
use chrono::{DateTime, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

/// A seconds-first cron expression that parsed; [`Schedule::next_after`] gives its ticks.
#[derive(Debug, Clone)]
pub struct Schedule(Cron);

/// Parses a 6- or 7-field expression.
pub fn parse_expression(expr: &str) -> Result<Schedule> {
    let fields = expr.split_whitespace().count();
    if !(6..=7).contains(&fields) {
        bail!(
            "'{expr}' has {fields} fields; the cron trigger takes 6 or 7 (sec min hour day month weekday [year])"
        );
    }
    let parser = CronParser::builder()
        .seconds(Seconds::Required)
        .year(Year::Optional)
        .build();
    parser
        .parse(expr)
        .map(Schedule)
        .map_err(|e| anyhow!("'{expr}': {e}"))
}

impl Schedule {
    /// The first firing strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.0.find_next_occurrence(&after, false).ok()
    }
}

/// Fires `component`'s `handle-cron-event` on every tick of `schedule`, forever.
///
/// Ticks are not queued: a handler still running when the next tick comes makes
/// that tick run late, as with the plugin's scheduler, never twice at once.
pub async fn run_schedule(
    schedule: Schedule,
    component: String,
    runtime: std::sync::Arc<crate::runtime::Runtime>,
) {
    let mut last = Utc::now();
    while let Some(next) = schedule.next_after(last) {
        let wait = (next - Utc::now()).to_std().unwrap_or_default();
        tokio::time::sleep(wait).await;
        let timestamp = u64::try_from(next.timestamp()).unwrap_or_default();
        if let Err(e) = runtime.handle_cron(&component, timestamp).await {
            eprintln!("cron trigger for \"{component}\" failed: {e:#}");
        }
        last = next.max(Utc::now() - chrono::Duration::milliseconds(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, h, m, s)
            .single()
            .expect("valid")
    }

    #[test]
    fn every_second_and_every_minute() {
        let every_second = parse_expression("* * * * * *").expect("valid");
        assert_eq!(every_second.next_after(at(10, 0, 0)), Some(at(10, 0, 1)));
        let every_minute = parse_expression("0 * * * * *").expect("valid");
        assert_eq!(every_minute.next_after(at(10, 0, 0)), Some(at(10, 1, 0)));
        assert_eq!(every_minute.next_after(at(10, 0, 30)), Some(at(10, 1, 0)));
    }

    #[test]
    fn steps_and_year_field() {
        let s = parse_expression("*/15 * * * * * *").expect("valid");
        assert_eq!(s.next_after(at(10, 0, 1)), Some(at(10, 0, 15)));
        let hourly_2026 = parse_expression("0 0 * * * * 2026").expect("valid");
        assert_eq!(hourly_2026.next_after(at(10, 0, 1)), Some(at(11, 0, 0)));
        let never = parse_expression("0 0 0 1 1 * 2020").expect("valid");
        assert_eq!(never.next_after(at(10, 0, 0)), None);
    }

    #[test]
    fn five_fields_and_garbage_are_refused() {
        assert!(parse_expression("* * * * *").is_err());
        assert!(parse_expression("61 * * * * *").is_err());
        assert!(parse_expression("every minute").is_err());
    }
}
