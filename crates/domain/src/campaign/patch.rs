//! Updating a campaign: the `PATCH` document and how it is applied to the
//! stored record (every sent field re-validated, objectives and send windows
//! checked against the resulting schedule, version bumped only on a change).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::input::{
    ChannelInput, ObjectiveInput, PriorityInput, ScheduleInput, check_deadline, parse_channels,
    parse_objectives, parse_rule_ids, parse_schedule, within,
};
use super::record::Campaign;
use super::stage::Stage;
use super::values::{CampaignName, UserId};
use crate::validation::ValidationErrors;

/// `PATCH /api/campaigns/{id}` body: every field optional; a present field
/// replaces the stored one whole (lists included); absent or `null` keeps it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignPatch {
    /// New display name.
    pub name: Option<String>,
    /// New marketing owner.
    pub marketing_owner: Option<String>,
    /// New operations owner.
    pub operations_owner: Option<String>,
    /// New objectives (replaces all).
    pub objectives: Option<Vec<ObjectiveInput>>,
    /// New channel strategy (replaces all).
    pub channels: Option<Vec<ChannelInput>>,
    /// New schedule; objectives and send windows must still fit in it.
    pub schedule: Option<ScheduleInput>,
    /// New priority.
    pub priority: Option<PriorityInput>,
    /// New monitoring rule links (replaces all).
    pub monitoring_rule_ids: Option<Vec<String>>,
}

/// Why a patch was not applied to a campaign.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PatchError {
    /// Completed and cancelled campaigns are read-only.
    #[error("the campaign is {0}; completed and cancelled campaigns cannot be changed")]
    Closed(Stage),
    /// Some fields are invalid.
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
}

impl CampaignPatch {
    /// Names of the fields the patch sets, for per-field authorization
    /// (e.g. only marketing may change objectives and channels).
    pub fn fields(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        let mut add = |present: bool, name: &'static str| {
            if present {
                out.push(name);
            }
        };
        add(self.name.is_some(), "name");
        add(self.marketing_owner.is_some(), "marketing_owner");
        add(self.operations_owner.is_some(), "operations_owner");
        add(self.objectives.is_some(), "objectives");
        add(self.channels.is_some(), "channels");
        add(self.schedule.is_some(), "schedule");
        add(self.priority.is_some(), "priority");
        add(self.monitoring_rule_ids.is_some(), "monitoring_rule_ids");
        out
    }
}

impl Campaign {
    /// Applies a patch: the updated campaign with `version + 1`, or the campaign
    /// unchanged (same version) when the patch changes nothing.
    ///
    /// Objectives and send windows are checked against the resulting schedule,
    /// so moving the schedule cannot strand a deadline outside it.
    pub fn apply_patch(
        &self,
        patch: CampaignPatch,
        now: DateTime<Utc>,
    ) -> Result<Self, PatchError> {
        if self.stage.is_terminal() {
            return Err(PatchError::Closed(self.stage));
        }
        let CampaignPatch {
            name,
            marketing_owner,
            operations_owner,
            objectives,
            channels,
            schedule,
            priority,
            monitoring_rule_ids,
        } = patch;
        let mut errs = ValidationErrors::default();
        let mut next = self.clone();
        patch_names(
            &mut next,
            &mut errs,
            name,
            marketing_owner,
            operations_owner,
        );
        let schedule_changed = schedule.is_some();
        if schedule.is_some() {
            match parse_schedule(&mut errs, schedule) {
                Some(s) => next.schedule = s,
                // Without a valid schedule the cross-checks below would be meaningless.
                None => return Err(errs.into()),
            }
        }
        patch_objectives(
            &mut next,
            &mut errs,
            objectives.as_deref(),
            schedule_changed,
        );
        patch_channels(&mut next, &mut errs, channels.as_deref(), schedule_changed);
        if let Some(p) = &priority {
            next.priority = errs.check("priority", p.parse()).unwrap_or(next.priority);
        }
        if let Some(raw) = &monitoring_rule_ids
            && let Some(ids) = parse_rule_ids(&mut errs, raw)
        {
            next.monitoring_rule_ids = ids;
        }
        if !errs.is_empty() {
            return Err(errs.into());
        }
        if next == *self {
            return Ok(next);
        }
        next.version = self.version.saturating_add(1);
        next.updated_at = now;
        Ok(next)
    }
}

/// The display name and the owners: each replaced when sent and valid.
fn patch_names(
    next: &mut Campaign,
    errs: &mut ValidationErrors,
    name: Option<String>,
    marketing_owner: Option<String>,
    operations_owner: Option<String>,
) {
    if let Some(raw) = name
        && let Some(name) = errs.check("name", CampaignName::parse(raw))
    {
        next.name = name;
    }
    if let Some(raw) = marketing_owner
        && let Some(owner) = errs.check("marketing_owner", UserId::parse(raw))
    {
        next.marketing_owner = owner;
    }
    if let Some(raw) = operations_owner
        && let Some(owner) = errs.check("operations_owner", UserId::parse(raw))
    {
        next.operations_owner = owner;
    }
}

/// Objectives: replaced when sent; otherwise, when the schedule moved, the
/// current ones must still have their deadline within it.
fn patch_objectives(
    next: &mut Campaign,
    errs: &mut ValidationErrors,
    objectives: Option<&[ObjectiveInput]>,
    schedule_changed: bool,
) {
    match objectives {
        Some(raw) => {
            if let Some(o) = parse_objectives(errs, raw, Some(&next.schedule)) {
                next.objectives = o;
            }
        }
        None if schedule_changed => {
            for (i, o) in next.objectives.iter().enumerate() {
                if let Err(e) = check_deadline(o.deadline, &next.schedule) {
                    errs.push(
                        "schedule",
                        format!("objectives[{i}] ({}): deadline {e}", o.kpi),
                    );
                }
            }
        }
        None => {}
    }
}

/// Channels: replaced when sent; otherwise, when the schedule moved, the
/// current send windows must still lie within it.
fn patch_channels(
    next: &mut Campaign,
    errs: &mut ValidationErrors,
    channels: Option<&[ChannelInput]>,
    schedule_changed: bool,
) {
    match channels {
        Some(raw) => {
            if let Some(c) = parse_channels(errs, raw, Some(&next.schedule)) {
                next.channels = c;
            }
        }
        None if schedule_changed => {
            for (i, c) in next.channels.iter().enumerate() {
                let windows = c.send_plan.iter().flat_map(|p| p.windows.iter());
                if windows.into_iter().any(|w| !within(w, &next.schedule)) {
                    errs.push(
                        "schedule",
                        format!(
                            "channels[{i}] ({}): a send window falls outside the schedule",
                            c.channel
                        ),
                    );
                }
            }
        }
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaign::Priority;
    use crate::campaign::input::WindowInput;
    use crate::campaign::input::tests::{campaign_from, ts, valid_input};

    #[test]
    fn patch_bumps_version_only_on_change() {
        let c = campaign_from(valid_input());
        let now = ts("2030-01-02T00:00:00Z");
        let same = c.apply_patch(CampaignPatch::default(), now);
        assert_eq!(same.map(|s| s.version()), Ok(1));
        let patch = CampaignPatch {
            name: Some("Spring launch v2".into()),
            priority: Some(PriorityInput::Level(1)),
            ..CampaignPatch::default()
        };
        assert_eq!(patch.fields(), ["name", "priority"]);
        let next = c.apply_patch(patch, now);
        assert!(next.as_ref().is_ok_and(|n| n.version() == 2
            && n.name().as_str() == "Spring launch v2"
            && n.priority() == Priority::CRITICAL
            && n.updated_at() == now));
    }

    #[test]
    fn patch_reports_invalid_fields_and_keeps_the_record() {
        let c = campaign_from(valid_input());
        let patch = CampaignPatch {
            name: Some(String::new()),
            channels: Some(vec![ChannelInput::default()]),
            ..CampaignPatch::default()
        };
        match c.apply_patch(patch, ts("2030-01-02T00:00:00Z")) {
            Err(PatchError::Invalid(e)) => {
                let f: Vec<_> = e.errors.iter().map(|f| f.field.as_str()).collect();
                assert_eq!(
                    f,
                    ["name", "channels[0].channel", "channels[0].budget_minor"]
                );
            }
            other => panic!("expected field errors, got {other:?}"),
        }
    }

    #[test]
    fn moving_the_schedule_cannot_strand_a_deadline() {
        let c = campaign_from(valid_input());
        let patch = CampaignPatch {
            schedule: Some(WindowInput {
                start: Some("2030-03-01T00:00:00Z".into()),
                end: Some("2030-03-15T00:00:00Z".into()),
            }),
            ..CampaignPatch::default()
        };
        match c.apply_patch(patch, ts("2030-01-02T00:00:00Z")) {
            Err(PatchError::Invalid(e)) => assert!(e.mentions("schedule")),
            other => panic!("expected a schedule error, got {other:?}"),
        }
    }
}
