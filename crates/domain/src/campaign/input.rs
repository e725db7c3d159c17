//! Input documents for creating campaigns, and their parsing into validated
//! records with per-field errors. The field parsers here serve updates too
//! ([`patch`](super::patch)).
//!
//! Scalars a client may get wrong (timestamps, ids, enums given as text) are taken
//! as plain JSON values and parsed here, so a mistake comes back as a field error
//! rather than as one opaque deserialization error. Unknown fields are rejected by
//! serde (`deny_unknown_fields`) before parsing.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::record::{Campaign, ChannelPlan, Objective, SendPlan, SendWindow};
use super::stage::Stage;
use super::values::{
    CampaignName, Channel, ChannelBudget, ExternalId, Kpi, KpiTarget, Priority, Schedule, UserId,
    parse_instant,
};
use crate::validation::{ParseError, ValidationErrors};

/// At most this many objectives per campaign.
pub const MAX_OBJECTIVES: usize = 20;
/// At most this many channels per campaign.
pub const MAX_CHANNELS: usize = 20;
/// At most this many fallback channels per channel.
pub const MAX_FALLBACKS: usize = 5;
/// At most this many send windows per channel.
pub const MAX_WINDOWS: usize = 200;
/// At most this many linked monitoring rules per campaign.
pub const MAX_RULES: usize = 50;
/// Largest `sends_per_day`.
pub const MAX_SENDS_PER_DAY: i64 = 1_000_000;

/// `POST /api/campaigns` body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignInput {
    /// Required: display name.
    pub name: Option<String>,
    /// Required: marketing owner's user id.
    pub marketing_owner: Option<String>,
    /// Required: operations owner's user id.
    pub operations_owner: Option<String>,
    /// Objectives; may be empty while planning (the monitoring gate requires one).
    #[serde(default)]
    pub objectives: Vec<ObjectiveInput>,
    /// Channel strategy; may be empty while planning (the distribution gate requires one).
    #[serde(default)]
    pub channels: Vec<ChannelInput>,
    /// Required: when the campaign runs.
    pub schedule: Option<ScheduleInput>,
    /// Priority; `medium` (3) when absent.
    pub priority: Option<PriorityInput>,
    /// Monitoring rules the campaign names as its own.
    #[serde(default)]
    pub monitoring_rule_ids: Vec<String>,
}

/// One objective as sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectiveInput {
    /// Required: KPI slug (the metric counter's name).
    pub kpi: Option<String>,
    /// Required: the total to reach, > 0.
    pub target: Option<f64>,
    /// Required: RFC 3339; after the schedule start and not after its end.
    pub deadline: Option<String>,
}

/// One channel as sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelInput {
    /// Required: channel slug.
    pub channel: Option<String>,
    /// Required: budget in minor units, >= 0.
    pub budget_minor: Option<i64>,
    /// Fallback channels in order of preference.
    #[serde(default)]
    pub fallback_channels: Vec<String>,
    /// Send pacing; may be left out until distribution.
    pub send_plan: Option<SendPlanInput>,
}

/// A send plan as sent: at least one of the two fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendPlanInput {
    /// Daily cap, 1..=1 000 000.
    pub sends_per_day: Option<i64>,
    /// Send windows within the schedule.
    #[serde(default)]
    pub windows: Vec<WindowInput>,
}

/// A time interval as sent (schedules and send windows).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowInput {
    /// Required: RFC 3339 start.
    pub start: Option<String>,
    /// Required: RFC 3339 end, after `start`.
    pub end: Option<String>,
}

/// The schedule as sent.
pub type ScheduleInput = WindowInput;

/// A priority as sent: `1`..=`5` or `critical` / `high` / `medium` / `low`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PriorityInput {
    /// A level, 1 (critical) ..= 5 (lowest).
    Level(i64),
    /// A name: `critical` (1), `high` (2), `medium` (3) or `low` (4).
    Name(String),
}

impl PriorityInput {
    /// Parses into a [`Priority`].
    pub fn parse(&self) -> Result<Priority, ParseError> {
        match self {
            PriorityInput::Level(level) => Priority::parse(*level),
            PriorityInput::Name(name) => Priority::parse_name(name),
        }
    }
}

/// A campaign create request that passed validation; see [`Campaign::create`].
#[derive(Debug, Clone, PartialEq)]
pub struct NewCampaign {
    name: CampaignName,
    marketing_owner: UserId,
    operations_owner: UserId,
    objectives: Vec<Objective>,
    channels: Vec<ChannelPlan>,
    schedule: Schedule,
    priority: Priority,
    monitoring_rule_ids: Vec<ExternalId>,
}

impl CampaignInput {
    /// Parses the whole document, collecting every invalid field.
    pub fn parse(self) -> Result<NewCampaign, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let name = errs.required("name", self.name, CampaignName::parse);
        let marketing_owner = errs.required("marketing_owner", self.marketing_owner, UserId::parse);
        let operations_owner =
            errs.required("operations_owner", self.operations_owner, UserId::parse);
        let schedule = parse_schedule(&mut errs, self.schedule);
        let objectives = parse_objectives(&mut errs, &self.objectives, schedule.as_ref());
        let channels = parse_channels(&mut errs, &self.channels, schedule.as_ref());
        let priority = match &self.priority {
            Some(p) => errs.check("priority", p.parse()),
            None => Some(Priority::DEFAULT),
        };
        let monitoring_rule_ids = parse_rule_ids(&mut errs, &self.monitoring_rule_ids);
        match (
            name,
            marketing_owner,
            operations_owner,
            schedule,
            objectives,
            channels,
            priority,
            monitoring_rule_ids,
        ) {
            (
                Some(name),
                Some(marketing_owner),
                Some(operations_owner),
                Some(schedule),
                Some(objectives),
                Some(channels),
                Some(priority),
                Some(monitoring_rule_ids),
            ) if errs.is_empty() => Ok(NewCampaign {
                name,
                marketing_owner,
                operations_owner,
                objectives,
                channels,
                schedule,
                priority,
                monitoring_rule_ids,
            }),
            _ => Err(errs),
        }
    }
}

impl Campaign {
    /// A new campaign in `planning`, version 1.
    pub fn create(id: String, new: NewCampaign, created_by: UserId, now: DateTime<Utc>) -> Self {
        Campaign {
            id,
            name: new.name,
            marketing_owner: new.marketing_owner,
            operations_owner: new.operations_owner,
            objectives: new.objectives,
            channels: new.channels,
            schedule: new.schedule,
            priority: new.priority,
            monitoring_rule_ids: new.monitoring_rule_ids,
            stage: Stage::Planning,
            version: 1,
            handoffs: Vec::new(),
            created_by,
            created_at: now,
            updated_at: now,
        }
    }
}

pub(super) fn parse_schedule(
    errs: &mut ValidationErrors,
    raw: Option<ScheduleInput>,
) -> Option<Schedule> {
    let Some(raw) = raw else {
        errs.push("schedule", ParseError::Missing.to_string());
        return None;
    };
    let start = errs.required("schedule.start", raw.start, |s| parse_instant(&s));
    let end = errs.required("schedule.end", raw.end, |s| parse_instant(&s));
    errs.check("schedule", Schedule::parse(start?, end?))
}

pub(super) fn check_deadline(
    deadline: DateTime<Utc>,
    schedule: &Schedule,
) -> Result<(), ParseError> {
    if deadline <= schedule.start() {
        Err(ParseError::Rule("must be after the schedule start".into()))
    } else if deadline > schedule.end() {
        Err(ParseError::Rule(
            "must not be after the schedule end".into(),
        ))
    } else {
        Ok(())
    }
}

pub(super) fn within(w: &SendWindow, schedule: &Schedule) -> bool {
    schedule.contains(w.start) && schedule.contains(w.end)
}

fn too_many(errs: &mut ValidationErrors, field: &str, len: usize, max: usize) -> bool {
    if len > max {
        errs.push(
            field,
            ParseError::TooLong { max, unit: "items" }.to_string(),
        );
        true
    } else {
        false
    }
}

pub(super) fn parse_objectives(
    errs: &mut ValidationErrors,
    raw: &[ObjectiveInput],
    schedule: Option<&Schedule>,
) -> Option<Vec<Objective>> {
    if too_many(errs, "objectives", raw.len(), MAX_OBJECTIVES) {
        return None;
    }
    let before = errs.errors.len();
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(raw.len());
    for (i, o) in raw.iter().enumerate() {
        let kpi = errs.required(
            &format!("objectives[{i}].kpi"),
            o.kpi.as_deref(),
            Kpi::parse,
        );
        if let Some(k) = &kpi
            && !seen.insert(k.clone())
        {
            errs.push(
                format!("objectives[{i}].kpi"),
                "duplicates an earlier objective; one objective per KPI",
            );
        }
        let target = errs.required(
            &format!("objectives[{i}].target"),
            o.target,
            KpiTarget::parse,
        );
        let deadline_field = format!("objectives[{i}].deadline");
        let deadline = errs.required(&deadline_field, o.deadline.as_deref(), parse_instant);
        let deadline = match (deadline, schedule) {
            (Some(d), Some(s)) => errs.check(&deadline_field, check_deadline(d, s).map(|()| d)),
            (d, _) => d,
        };
        if let (Some(kpi), Some(target), Some(deadline)) = (kpi, target, deadline) {
            out.push(Objective {
                kpi,
                target,
                deadline,
            });
        }
    }
    (errs.errors.len() == before).then_some(out)
}

pub(super) fn parse_channels(
    errs: &mut ValidationErrors,
    raw: &[ChannelInput],
    schedule: Option<&Schedule>,
) -> Option<Vec<ChannelPlan>> {
    if too_many(errs, "channels", raw.len(), MAX_CHANNELS) {
        return None;
    }
    let before = errs.errors.len();
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(raw.len());
    for (i, c) in raw.iter().enumerate() {
        let at = |f: &str| format!("channels[{i}].{f}");
        let channel = errs.required(&at("channel"), c.channel.as_deref(), Channel::parse);
        if let Some(ch) = &channel
            && !seen.insert(ch.clone())
        {
            errs.push(at("channel"), "duplicates an earlier channel");
        }
        let budget = errs.required(&at("budget_minor"), c.budget_minor, ChannelBudget::parse);
        let fallbacks = parse_fallbacks(
            errs,
            &at("fallback_channels"),
            &c.fallback_channels,
            channel.as_ref(),
        );
        let send_plan = match &c.send_plan {
            Some(p) => parse_send_plan(errs, &at("send_plan"), p, schedule).map(Some),
            None => Some(None),
        };
        if let (Some(channel), Some(budget_minor), Some(fallback_channels), Some(send_plan)) =
            (channel, budget, fallbacks, send_plan)
        {
            out.push(ChannelPlan {
                channel,
                budget_minor,
                fallback_channels,
                send_plan,
            });
        }
    }
    (errs.errors.len() == before).then_some(out)
}

fn parse_fallbacks(
    errs: &mut ValidationErrors,
    field: &str,
    raw: &[String],
    own: Option<&Channel>,
) -> Option<Vec<Channel>> {
    if too_many(errs, field, raw.len(), MAX_FALLBACKS) {
        return None;
    }
    let before = errs.errors.len();
    let mut out: Vec<Channel> = Vec::with_capacity(raw.len());
    for (j, f) in raw.iter().enumerate() {
        let at = format!("{field}[{j}]");
        if let Some(ch) = errs.check(&at, Channel::parse(f)) {
            if Some(&ch) == own {
                errs.push(at, "must not be the channel itself");
            } else if out.contains(&ch) {
                errs.push(at, "duplicates an earlier fallback");
            } else {
                out.push(ch);
            }
        }
    }
    (errs.errors.len() == before).then_some(out)
}

fn parse_send_plan(
    errs: &mut ValidationErrors,
    field: &str,
    raw: &SendPlanInput,
    schedule: Option<&Schedule>,
) -> Option<SendPlan> {
    let before = errs.errors.len();
    if raw.sends_per_day.is_none() && raw.windows.is_empty() {
        errs.push(field, "needs sends_per_day, windows, or both");
        return None;
    }
    let sends_per_day = match raw.sends_per_day {
        Some(n) if (1..=MAX_SENDS_PER_DAY).contains(&n) => u32::try_from(n).ok(),
        Some(_) => {
            errs.push(
                format!("{field}.sends_per_day"),
                ParseError::OutOfRange {
                    min: "1".into(),
                    max: MAX_SENDS_PER_DAY.to_string(),
                }
                .to_string(),
            );
            None
        }
        None => None,
    };
    if too_many(
        errs,
        &format!("{field}.windows"),
        raw.windows.len(),
        MAX_WINDOWS,
    ) {
        return None;
    }
    let mut windows = Vec::with_capacity(raw.windows.len());
    for (k, w) in raw.windows.iter().enumerate() {
        let at = |f: &str| format!("{field}.windows[{k}]{f}");
        let start = errs.required(&at(".start"), w.start.as_deref(), parse_instant);
        let end = errs.required(&at(".end"), w.end.as_deref(), parse_instant);
        let (Some(start), Some(end)) = (start, end) else {
            continue;
        };
        let window = SendWindow { start, end };
        if start >= end {
            errs.push(at(""), "start must be before end");
        } else if schedule.is_some_and(|s| !within(&window, s)) {
            errs.push(at(""), "must lie within the schedule");
        } else {
            windows.push(window);
        }
    }
    crate::sort::sort_by_key(&mut windows, |w| w.start);
    if windows.windows(2).any(|pair| pair[0].end > pair[1].start) {
        errs.push(format!("{field}.windows"), "windows must not overlap");
    }
    (errs.errors.len() == before).then_some(SendPlan {
        sends_per_day,
        windows,
    })
}

pub(super) fn parse_rule_ids(
    errs: &mut ValidationErrors,
    raw: &[String],
) -> Option<Vec<ExternalId>> {
    if too_many(errs, "monitoring_rule_ids", raw.len(), MAX_RULES) {
        return None;
    }
    let before = errs.errors.len();
    let mut out: Vec<ExternalId> = Vec::with_capacity(raw.len());
    for (i, r) in raw.iter().enumerate() {
        let at = format!("monitoring_rule_ids[{i}]");
        if let Some(id) = errs.check(&at, ExternalId::parse(r)) {
            if out.contains(&id) {
                errs.push(at, "duplicates an earlier id");
            } else {
                out.push(id);
            }
        }
    }
    (errs.errors.len() == before).then_some(out)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::campaign::patch::CampaignPatch;

    pub(in crate::campaign) fn ts(s: &str) -> DateTime<Utc> {
        parse_instant(s).unwrap_or_default()
    }

    /// A valid create body: schedule 2030-03-01..2030-03-31, one objective, one
    /// channel (`email`) with a send plan, one monitoring rule (`rule-1`).
    pub(in crate::campaign) fn valid_input() -> CampaignInput {
        CampaignInput {
            name: Some("Spring launch".into()),
            marketing_owner: Some("mia".into()),
            operations_owner: Some("otto".into()),
            objectives: vec![ObjectiveInput {
                kpi: Some("conversions".into()),
                target: Some(1000.0),
                deadline: Some("2030-03-31T00:00:00Z".into()),
            }],
            channels: vec![ChannelInput {
                channel: Some("email".into()),
                budget_minor: Some(500_000),
                fallback_channels: vec!["sms".into()],
                send_plan: Some(SendPlanInput {
                    sends_per_day: Some(2),
                    windows: vec![],
                }),
            }],
            schedule: Some(WindowInput {
                start: Some("2030-03-01T00:00:00Z".into()),
                end: Some("2030-03-31T23:00:00Z".into()),
            }),
            priority: Some(PriorityInput::Name("high".into())),
            monitoring_rule_ids: vec!["rule-1".into()],
        }
    }

    pub(in crate::campaign) fn campaign_from(input: CampaignInput) -> Campaign {
        match input.parse() {
            Ok(new) => Campaign::create("c1".into(), new, user("mia"), ts("2030-01-01T00:00:00Z")),
            Err(e) => panic!("fixture must be valid: {e}"),
        }
    }

    pub(in crate::campaign) fn user(id: &str) -> UserId {
        UserId::parse(id).unwrap_or_else(|e| panic!("fixture user id: {e}"))
    }

    fn fields_of(input: CampaignInput) -> Vec<String> {
        match input.parse() {
            Ok(_) => vec![],
            Err(e) => e.errors.into_iter().map(|f| f.field).collect(),
        }
    }

    #[test]
    fn valid_input_creates_a_planning_campaign_at_version_1() {
        let c = campaign_from(valid_input());
        assert_eq!(c.stage(), Stage::Planning);
        assert_eq!(c.version(), 1);
        assert_eq!(c.priority().level(), 2);
        assert_eq!(c.channels()[0].fallback_channels.len(), 1);
    }

    #[test]
    fn missing_required_fields_are_each_reported() {
        assert_eq!(
            fields_of(CampaignInput::default()),
            ["name", "marketing_owner", "operations_owner", "schedule"]
        );
    }

    #[test]
    fn each_invalid_field_is_reported_with_its_path() {
        let mut input = valid_input();
        input.name = Some(" ".into());
        input.marketing_owner = Some("has space".into());
        input.objectives[0].kpi = Some("Conversions!".into());
        input.objectives[0].target = Some(0.0);
        input.objectives.push(ObjectiveInput {
            kpi: Some("clicks".into()),
            target: Some(5.0),
            deadline: Some("2031-01-01T00:00:00Z".into()),
        });
        input.channels[0].budget_minor = Some(-1);
        input.channels[0].fallback_channels = vec!["email".into()];
        input.priority = Some(PriorityInput::Level(9));
        input.monitoring_rule_ids = vec!["ok".into(), "bad id".into()];
        assert_eq!(
            fields_of(input),
            [
                "name",
                "marketing_owner",
                "objectives[0].kpi",
                "objectives[0].target",
                "objectives[1].deadline",
                "channels[0].budget_minor",
                "channels[0].fallback_channels[0]",
                "priority",
                "monitoring_rule_ids[1]",
            ]
        );
    }

    #[test]
    fn schedule_errors_are_per_field() {
        let mut input = valid_input();
        input.schedule = Some(WindowInput {
            start: Some("yesterday".into()),
            end: None,
        });
        let fields = fields_of(input);
        assert!(fields.contains(&"schedule.start".to_string()));
        assert!(fields.contains(&"schedule.end".to_string()));

        let mut input = valid_input();
        input.schedule = Some(WindowInput {
            start: Some("2030-03-02T00:00:00Z".into()),
            end: Some("2030-03-01T00:00:00Z".into()),
        });
        assert_eq!(fields_of(input), ["schedule"]);
    }

    #[test]
    fn duplicates_and_send_plan_errors_are_reported() {
        let mut input = valid_input();
        input.objectives.push(input.objectives[0].clone());
        let mut dup = input.channels[0].clone();
        dup.send_plan = Some(SendPlanInput {
            sends_per_day: Some(0),
            windows: vec![
                WindowInput {
                    start: Some("2030-03-02T09:00:00Z".into()),
                    end: Some("2030-03-02T08:00:00Z".into()),
                },
                WindowInput {
                    start: Some("2030-04-02T09:00:00Z".into()),
                    end: Some("2030-04-02T10:00:00Z".into()),
                },
            ],
        });
        input.channels.push(dup);
        input.channels[0].send_plan = Some(SendPlanInput::default());
        assert_eq!(
            fields_of(input),
            [
                "objectives[1].kpi",
                "channels[0].send_plan",
                "channels[1].channel",
                "channels[1].send_plan.sends_per_day",
                "channels[1].send_plan.windows[0]",
                "channels[1].send_plan.windows[1]",
            ]
        );
    }

    #[test]
    fn overlapping_windows_are_refused() {
        let mut input = valid_input();
        let w = |s: &str, e: &str| WindowInput {
            start: Some(s.into()),
            end: Some(e.into()),
        };
        input.channels[0].send_plan = Some(SendPlanInput {
            sends_per_day: None,
            windows: vec![
                w("2030-03-02T09:00:00Z", "2030-03-02T12:00:00Z"),
                w("2030-03-02T11:00:00Z", "2030-03-02T13:00:00Z"),
            ],
        });
        assert_eq!(fields_of(input), ["channels[0].send_plan.windows"]);
    }

    #[test]
    fn unknown_fields_and_wrong_types_are_rejected_by_serde() {
        assert!(
            serde_json::from_str::<CampaignInput>(r#"{"name":"x","stage":"completed"}"#).is_err()
        );
        assert!(serde_json::from_str::<CampaignPatch>(r#"{"version":3}"#).is_err());
        let p: Result<CampaignInput, _> = serde_json::from_str(r#"{"priority":"low"}"#);
        assert!(p.is_ok_and(|p| p.priority == Some(PriorityInput::Name("low".into()))));
    }
}
