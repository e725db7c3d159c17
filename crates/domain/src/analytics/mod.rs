//! Process analytics: what happened to campaigns, content reviews and triggers,
//! as [`Sample`]s (one per thing that happened, derived from the same events the
//! audit logs record), and the figures a process-excellence lead reads over a
//! period ([`figures`]).
//!
//! Samples are facts, not aggregates: median and p90 are exact for any filter,
//! and a sample has a stable [`Sample::id`], so writing it twice (a retried
//! request, the backfill meeting a live write) changes nothing.

pub mod derive;
pub mod figures;
mod sample;
mod stats;

pub use sample::{Sample, StageSpec, TriggerOutcome, iso_week, role_team, stage_team};
pub use stats::Duration;
